#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "admin/admin.h"
#include "admin/admin_const.h"
#include "admin/dns_txt.h"
#include "app.h"
#include "audit.h"
#include "conf.h"
#include "log.h"
#include "routes.h"
#include "store.h"

/* Maximum audit events one prune job deletes. A full batch schedules the
 * next one a second later, so that pruning never keeps the writer busy for
 * long. */
#define PRUNE_BATCH 10000
#define RESOLV_CONF "/etc/resolv.conf"

typedef struct admin_state {
    struct sockaddr_storage resolver;
    int resolver_len;
    int dns_timeout_ms;
    long retention_days;
    long prune_interval;
    struct event *prune_ev;
    int prune_running;
    int stopped;                /* admin_stop ran; a running prune frees the state */
    struct app *app;
} admin_state;

typedef struct verify_ctx {
    char expected[160];
    admin_verify_done done;
    void *arg;
} verify_ctx;

void admin_dns_failure(struct conf *c, const char *domain, int err, char *out, size_t len)
{
    const char *resolver = conf_str(c, "admin", "dns_resolver", "");
    char where[300];

    if (resolver && *resolver)
        snprintf(where, sizeof where, "at %s", resolver);
    else
        snprintf(where, sizeof where, "at the first nameserver of %s", RESOLV_CONF);
    if (err == DNS_TXT_TIMEOUT)
        snprintf(out, len,
                 "DNS lookup of %s%s %s failed: no reply within %ld s; check "
                 "[admin] dns_resolver and [admin] dns_timeout",
                 ADMIN_CHALLENGE_LABEL, domain, where,
                 conf_duration(c, "admin", "dns_timeout", 5, 1, 60));
    else
        snprintf(out, len, "DNS lookup of %s%s %s failed: %s; check [admin] dns_resolver",
                 ADMIN_CHALLENGE_LABEL, domain, where, dns_txt_strerror(err));
}

/* Finds the name server: [admin] dns_resolver ("IP" or "IP:port"), else the
 * first name server evdns reads from /etc/resolv.conf. */
static int pick_resolver(conf *c, struct event_base *base, struct sockaddr_storage *out, int *len)
{
    const char *configured = conf_str(c, "admin", "dns_resolver", "");
    struct evdns_base *dns;
    int n;

    *len = (int)sizeof *out;
    if (configured && *configured) {
        if (evutil_parse_sockaddr_port(configured, (struct sockaddr *)out, len)) {
            conf_error(c, "admin", "dns_resolver", configured, "an IP address with an optional port");
            return -1;
        }
        if (((struct sockaddr_in *)out)->sin_port == 0)
            ((struct sockaddr_in *)out)->sin_port = htons(53);
        return 0;
    }
    dns = evdns_base_new(base, 0);
    if (!dns)
        return -1;
    evdns_base_resolv_conf_parse(dns, DNS_OPTION_NAMESERVERS, RESOLV_CONF);
    n = evdns_base_get_nameserver_addr(dns, 0, (struct sockaddr *)out, (ev_socklen_t)*len);
    evdns_base_free(dns, 0);
    if (n <= 0 || n > (int)sizeof *out)
        return -1;
    *len = n;
    return 0;
}

static void txt_done(int err, char *const *records, size_t n, void *arg)
{
    verify_ctx *v = arg;
    const char *token = v->expected + strlen(ADMIN_CHALLENGE_PREFIX);
    int matched = 0;

    for (size_t i = 0; i < n; i++)
        if (!strcmp(records[i], v->expected))
            matched = 1;
    v->done(err, token, matched, v->arg);
    free(v);
}

static int start_lookup(struct event_base *base, const struct sockaddr_storage *resolver, int len,
                        int timeout_ms, const char *domain, const char *expected,
                        admin_verify_done done, void *arg)
{
    char name[300];
    verify_ctx *v;
    dns_txt_query *q;

    if (!expected || strncmp(expected, ADMIN_CHALLENGE_PREFIX, strlen(ADMIN_CHALLENGE_PREFIX)))
        return -1;
    v = calloc(1, sizeof *v);
    if (!v)
        return -1;
    snprintf(v->expected, sizeof v->expected, "%s", expected);
    v->done = done;
    v->arg = arg;
    snprintf(name, sizeof name, "%s%s", ADMIN_CHALLENGE_LABEL, domain);
    if (dns_txt_lookup(base, (const struct sockaddr *)resolver, (socklen_t)len, name, timeout_ms,
                       txt_done, v, &q)) {
        free(v);
        return -1;
    }
    return 0;
}

int admin_dns_verify(struct app *a, const char *domain, const char *expected,
                     admin_verify_done done, void *arg)
{
    admin_state *st = a->admin;

    if (!st || st->resolver_len <= 0) {
        log_event(LOG_ERROR, "no DNS resolver configured", "domain", domain, NULL);
        return -1;
    }
    return start_lookup(a->base, &st->resolver, st->resolver_len, st->dns_timeout_ms, domain,
                        expected, done, arg);
}

struct blocking_result {
    int done, err, matched;
    char token[128];
};

static void blocking_done(int err, const char *token, int matched, void *arg)
{
    struct blocking_result *res = arg;

    res->done = 1;
    res->err = err;
    res->matched = matched;
    snprintf(res->token, sizeof res->token, "%s", token ? token : "");
}

int admin_dns_verify_blocking(struct conf *c, const char *domain, const char *expected, int *err,
                              char *token, size_t token_len, int *matched)
{
    struct event_base *base = event_base_new();
    struct sockaddr_storage resolver;
    struct blocking_result res = {0};
    int len, rc = -1;
    long timeout;

    if (!base)
        return -1;
    timeout = conf_duration(c, "admin", "dns_timeout", 5, 1, 60);
    if (pick_resolver(c, base, &resolver, &len) == 0 &&
        start_lookup(base, &resolver, len, (int)timeout * 1000, domain, expected, blocking_done,
                     &res) == 0) {
        while (!res.done && event_base_loop(base, EVLOOP_ONCE) == 0)
            ;
        rc = res.done ? 0 : -1;
    }
    event_base_free(base);
    *err = res.err;
    *matched = res.matched;
    snprintf(token, token_len, "%s", res.token);
    return rc;
}

static int prune_job(store_txn *t, void *arg)
{
    int64_t *cutoff_and_count = arg;
    unsigned deleted = 0;
    int rc = audit_prune(t, cutoff_and_count[0], PRUNE_BATCH, &deleted);

    cutoff_and_count[1] = deleted;
    return rc;
}

static void schedule_prune(admin_state *st, long seconds)
{
    struct timeval tv = {seconds, 0};
    evtimer_add(st->prune_ev, &tv);
}

static void prune_done(int rc, void *arg)
{
    int64_t *job = arg;
    admin_state *st = (admin_state *)(intptr_t)job[2];

    if (rc)
        log_event(LOG_ERROR, "audit prune failed", "error", store_strerror(rc), NULL);
    else if (job[1] > 0)
        log_msgf(LOG_INFO, "audit prune deleted %lld events", (long long)job[1]);
    st->prune_running = 0;
    if (st->stopped) {
        free(st);
        goto out;
    }
    if (st->app->stopping)
        goto out;
    schedule_prune(st, rc == 0 && job[1] == PRUNE_BATCH ? 1 : st->prune_interval);
out:
    free(job);
}

static void on_prune(evutil_socket_t fd, short what, void *arg)
{
    admin_state *st = arg;
    int64_t *job;

    if (st->prune_running || st->app->stopping)
        return;
    job = calloc(3, sizeof *job);
    if (!job)
        return;
    job[0] = audit_now_usec() - (int64_t)st->retention_days * 86400 * 1000000;
    job[2] = (int64_t)(intptr_t)st;
    st->prune_running = 1;
    if (store_submit(st->app->store, prune_job, prune_done, job)) {
        st->prune_running = 0;
        free(job);
    }
}

int admin_routes(struct app *a)
{
    admin_state *st = calloc(1, sizeof *st);

    if (!st)
        return -1;
    st->app = a;
    a->admin = st;
    st->dns_timeout_ms = (int)conf_duration(a->conf, "admin", "dns_timeout", 5, 1, 60) * 1000;
    st->retention_days = conf_int(a->conf, "audit", "retention_days", 365, 1, 36500);
    st->prune_interval = conf_duration(a->conf, "audit", "prune_interval", 3600, 1, 86400 * 7);
    if (pick_resolver(a->conf, a->base, &st->resolver, &st->resolver_len)) {
        st->resolver_len = 0;
        log_event(LOG_WARN, "no DNS resolver found; domain verification is unavailable", NULL);
    }
    st->prune_ev = evtimer_new(a->base, on_prune, st);
    if (!st->prune_ev) {
        a->admin = NULL;
        free(st);
        return -1;
    }
    /* The first prune runs soon after start-up, then every prune_interval. */
    schedule_prune(st, 5);
    if (admin_api_routes(a) || admin_console_routes(a)) {
        log_event(LOG_ERROR, "could not register the admin routes", NULL);
        return -1;
    }
    return 0;
}

void admin_stop(struct app *a)
{
    admin_state *st = a->admin;

    if (!st)
        return;
    if (st->prune_ev) {
        event_free(st->prune_ev);
        st->prune_ev = NULL;
    }
    /* A verification that starts after this point finds no resolver and
     * fails. A prune job still queued owns the state until its completion
     * runs, which store_close guarantees. */
    a->admin = NULL;
    st->stopped = 1;
    if (!st->prune_running)
        free(st);
}
