#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#ifdef HAVE_MIMALLOC
#include <mimalloc.h>
#endif

#include "app.h"
#include "cli.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "store.h"

/* Empty start-up hooks for areas that are not linked in. An area's own
 * definition replaces these because src/idgate links libidgate.a whole. */
__attribute__((weak)) int scim_routes(app *a)
{
    return 0;
}

__attribute__((weak)) int oidc_routes(app *a)
{
    return 0;
}

__attribute__((weak)) int admin_routes(app *a)
{
    return 0;
}

__attribute__((weak)) void scim_stop(app *a)
{
}

__attribute__((weak)) void oidc_stop(app *a)
{
}

__attribute__((weak)) void admin_stop(app *a)
{
}

typedef struct runtime {
    app app;
    struct event *sigterm;
    struct event *sigint;
    struct event *drain_timer;
    uint64_t drain_ticks;
} runtime;

#define DRAIN_TICK_MS 50

/* 1 when every submitted write job has committed and its completion has
 * run (queue_depth alone misses a batch that is committing). */
static int store_idle(store *s)
{
    store_stats st;
    memset(&st, 0, sizeof(st));
    store_get_stats(s, &st);
    return st.in_flight == 0;
}

/* Polls until every request has its reply written and every write job has
 * run its completion, or until shutdown_timeout passes, then leaves the
 * loop. Keep-alive connections that become idle meanwhile are closed. */
static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    runtime *rt = arg;
    app *a = &rt->app;
    unsigned inflight = http_server_inflight(a->http);
    int idle = store_idle(a->store);
    uint64_t limit = (uint64_t)a->conf->shutdown_timeout * 1000 / DRAIN_TICK_MS;

    http_server_close_idle(a->http);
    if ((inflight == 0 && idle) || rt->drain_ticks++ >= limit) {
        if (inflight > 0 || !idle) {
            char n[16];
            snprintf(n, sizeof(n), "%u", inflight);
            log_event(LOG_WARN, "shutdown timeout reached", "requests_in_flight", n, NULL);
        }
        event_base_loopexit(a->base, NULL);
        return;
    }
    struct timeval tv = {0, DRAIN_TICK_MS * 1000};
    evtimer_add(rt->drain_timer, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    runtime *rt = arg;
    app *a = &rt->app;

    if (a->stopping)
        return;
    a->stopping = 1;
    log_event(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    http_server_stop_accepting(a->http);
    scim_stop(a);
    oidc_stop(a);
    admin_stop(a);
    rt->drain_timer = evtimer_new(a->base, on_drain_tick, rt);
    on_drain_tick(-1, 0, rt);
}

static int open_store(app *a)
{
    store_options opt = {0};
    int rc;

    opt.path = a->conf->store_path;
    opt.map_size = a->conf->map_size;
    opt.max_batch = a->conf->store_max_batch;
    opt.defer_min_queued = a->conf->store_defer_min_queued;
    rc = store_open(&opt, a->base, &a->store);
    if (rc != 0) {
        log_event(LOG_ERROR, "cannot open the store", "path", a->conf->store_path, "error",
                  store_strerror(rc), NULL);
        return -1;
    }
    return 0;
}

/* Fills `sa` from an address in libevhtp's form: "ipv6:ADDRESS" or an IPv4
 * address. Returns the address length, or 0 when the text is neither. */
static socklen_t parse_listen_address(const char *text, int port, struct sockaddr_storage *sa)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;

    memset(sa, 0, sizeof(*sa));
    if (strncmp(text, "ipv6:", 5) == 0) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, text + 5, &v6->sin6_addr) == 1 ? sizeof(*v6) : 0;
    }
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, text, &v4->sin_addr) == 1 ? sizeof(*v4) : 0;
}

/* Logs why the server could not listen. The HTTP server reports only that
 * binding failed, so this binds a probe socket to learn the system's error,
 * closes it at once, and names the setting that fixes it. SO_REUSEADDR
 * keeps a port in TIME_WAIT from counting as busy. Logs nothing when the
 * probe binds, because then the cause was something else. */
static void explain_listen_failure(const conf *c)
{
    const char *fix = "set [server] port or IDGATE_SERVER_PORT to a free port";
    struct sockaddr_storage sa;
    socklen_t len;
    char port[16];
    int fd, enable = 1, err = 0;

    if (strncmp(c->listen_address, "unix:", 5) == 0)
        return;
    snprintf(port, sizeof(port), "%d", c->port);
    len = parse_listen_address(c->listen_address, c->port, &sa);
    if (len == 0) {
        log_event(LOG_ERROR, "failed to listen", "address", c->listen_address, "port", port,
                  "error", "invalid address (expected an IPv4 address or ipv6:ADDRESS)", "fix",
                  "set [server] listen_address or IDGATE_SERVER_LISTEN_ADDRESS", NULL);
        return;
    }
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &enable, sizeof(enable));
    if (bind(fd, (struct sockaddr *)&sa, len) != 0)
        err = errno;
    close(fd);
    if (err == 0)
        return;
    if (err == EADDRNOTAVAIL)
        fix = "set [server] listen_address or IDGATE_SERVER_LISTEN_ADDRESS to an address of "
              "this host";
    else if (err == EACCES)
        fix = "set [server] port or IDGATE_SERVER_PORT to 1024 or above, or grant the binary "
              "CAP_NET_BIND_SERVICE";
    log_event(LOG_ERROR, "failed to listen", "address", c->listen_address, "port", port, "error",
              strerror(err), "fix", fix, NULL);
}

static int register_routes(app *a)
{
    const char *errors;
    if (core_routes(a) != 0 || scim_routes(a) != 0 || oidc_routes(a) != 0 ||
        admin_routes(a) != 0)
        return -1;
    /* Areas read their own keys while registering; an invalid one stops here. */
    if (!conf_ok(a->conf, &errors)) {
        cli_print_conf_errors(errors);
        return -1;
    }
    conf_warn_unknown(a->conf);
    return 0;
}

/* Creates the event loop. With epoll's change list, libevent folds the
 * several enable and disable calls a request makes on its connection within
 * one loop iteration into at most one epoll_ctl per socket. libevent's
 * documentation warns that this mis-handles descriptors cloned with dup(),
 * which the loop never watches. Only the loop thread calls into libevent
 * (the store's writer hands completions over through an eventfd), so
 * libevent runs without its locks, which took some twenty mutex lock and
 * unlock pairs per request. */
static struct event_base *new_event_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (!cfg)
        return event_base_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

/* Returns the name of the allocator that malloc reaches: "mimalloc" only
 * when a block from malloc lies in mimalloc's heap, else "system" (glibc's
 * malloc, or whatever LD_PRELOAD put in its place). So the start-up log
 * shows a link order that left another malloc in place. */
static const char *malloc_name(void)
{
#ifdef HAVE_MIMALLOC
    void *block = malloc(16);
    int in_heap = block && mi_is_in_heap_region(block);

    free(block);
    if (in_heap)
        return "mimalloc";
#endif
    return "system";
}

static int start(runtime *rt)
{
    app *a = &rt->app;
    char port[16];

    a->base = new_event_base();
    a->metrics = metrics_new();
    if (!a->base || !a->metrics)
        return -1;
    if (open_store(a) != 0)
        return -1;
    if (http_server_start(a, &a->http) != 0) {
        explain_listen_failure(a->conf);
        return -1;
    }
    if (register_routes(a) != 0)
        return -1;
    rt->sigterm = evsignal_new(a->base, SIGTERM, on_signal, rt);
    rt->sigint = evsignal_new(a->base, SIGINT, on_signal, rt);
    if (!rt->sigterm || !rt->sigint || evsignal_add(rt->sigterm, NULL) != 0 ||
        evsignal_add(rt->sigint, NULL) != 0)
        return -1;
    snprintf(port, sizeof(port), "%d", a->conf->port);
    log_event(LOG_INFO, "listening", "address", a->conf->listen_address, "port", port, "base_url",
              a->conf->base_url, "version", PACKAGE_VERSION, "malloc", malloc_name(), NULL);
    return 0;
}

static void teardown(runtime *rt)
{
    app *a = &rt->app;
    if (rt->sigterm)
        event_free(rt->sigterm);
    if (rt->sigint)
        event_free(rt->sigint);
    if (rt->drain_timer)
        event_free(rt->drain_timer);
    /* Completions that store_close still runs (after a shutdown timeout)
     * reply to and release requests, which need the server. */
    store_close(a->store);
    http_server_free(a->http);
    metrics_free(a->metrics);
    if (a->base)
        event_base_free(a->base);
    conf_free(a->conf);
    log_flush();
}

static int serve(const char *config_path)
{
    runtime rt;
    const char *errors;
    int rc = 1;

    memset(&rt, 0, sizeof(rt));
    rt.app.conf = conf_load(config_path);
    if (!rt.app.conf) {
        fprintf(stderr, "idgate: out of memory\n");
        return 1;
    }
    if (!conf_ok(rt.app.conf, &errors)) {
        cli_print_conf_errors(errors);
        goto out;
    }
    log_setup(rt.app.conf->log_level, rt.app.conf->log_format);
    if (start(&rt) != 0)
        goto out;
    event_base_dispatch(rt.app.base);
    log_event(LOG_INFO, "stopped", NULL);
    rc = 0;

out:
    teardown(&rt);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config;

    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
        config = cli_take_config(&argc, argv);
        if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            printf("usage: idgate serve [--config FILE]\n\n"
                   "  Runs the service in the foreground until SIGTERM or SIGINT.\n");
            return 0;
        }
        if (argc > 2) {
            fprintf(stderr, "usage: idgate serve [--config FILE]\n");
            return 2;
        }
        return serve(config);
    }
    return cli_main(argc, argv);
}
