#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "oidc/oidc_const.h"
#include "oidc/provider.h"

typedef struct waiter {
    oidc_provider_cb cb;
    void *arg;
    struct waiter *next;
} waiter;

struct oidc_provider {
    oidc_state *st;
    char *issuer;
    oidc_discovery disc;            /* issuer NULL until the first success */
    int64_t disc_expires;
    int disc_fetching;
    waiter *disc_waiters;
    oidc_jwks *jwks;
    int64_t jwks_expires;
    int64_t jwks_fetched;           /* time of the last fetch attempt */
    int jwks_fetching;
    waiter *jwks_waiters;
    struct oidc_provider *next;
};

struct oidc_providers {
    oidc_provider *head;
};

void oidc_discovery_clear(oidc_discovery *d)
{
    free(d->issuer);
    free(d->authorization_endpoint);
    free(d->token_endpoint);
    free(d->jwks_uri);
    free(d->end_session_endpoint);
    memset(d, 0, sizeof *d);
}

char *oidc_discovery_url(const char *issuer)
{
    size_t len = strlen(issuer);
    if (len > 0 && issuer[len - 1] == '/')
        len--;
    size_t total = len + sizeof OIDC_DISCOVERY_SUFFIX;
    char *url = malloc(total);
    if (url != NULL)
        snprintf(url, total, "%.*s%s", (int)len, issuer, OIDC_DISCOVERY_SUFFIX);
    return url;
}

static void describe_issuer_mismatch(const char *configured, const char *found, char *err,
                                     size_t errlen)
{
    size_t c = strlen(configured), f = strlen(found);
    if (f == c + 1 && found[f - 1] == '/' && strncmp(found, configured, c) == 0)
        snprintf(err, errlen,
                 "the provider's discovery document names the issuer \"%s\" with a trailing "
                 "slash, but the configured issuer \"%s\" has none; set the issuer to exactly "
                 "\"%s\"",
                 found, configured, found);
    else if (c == f + 1 && configured[c - 1] == '/' && strncmp(found, configured, f) == 0)
        snprintf(err, errlen,
                 "the configured issuer \"%s\" ends with a slash, but the provider's discovery "
                 "document names the issuer \"%s\" without one; set the issuer to exactly \"%s\"",
                 configured, found, found);
    else
        snprintf(err, errlen,
                 "the provider's discovery document names the issuer \"%s\", not the configured "
                 "\"%s\"; set the issuer to exactly the value the provider uses",
                 found, configured);
}

static int https_member(const json *doc, const char *name, int required, char **out, char *err,
                        size_t errlen)
{
    const char *v = json_get_string(doc, name);
    *out = NULL;
    if (v == NULL) {
        if (required)
            snprintf(err, errlen, "the provider's discovery document has no %s", name);
        return required ? -1 : 0;
    }
    if (strncmp(v, "https://", 8) != 0) {
        snprintf(err, errlen, "the provider's %s is not an https URL", name);
        return -1;
    }
    *out = strdup(v);
    return *out ? 0 : -1;
}

/* 1 when the provider supports client_secret_post and not client_secret_basic
 * (an absent list means client_secret_basic, per OpenID Connect Discovery). */
static int post_only(const json *doc)
{
    const json *methods = json_object_get(doc, OIDC_D_AUTH_METHODS);
    int basic = 0, post = 0;
    if (json_typeof(methods) != JSON_ARRAY)
        return 0;
    for (size_t i = 0; i < json_array_size(methods); i++) {
        const char *m = json_string_value(json_array_get(methods, i));
        basic |= m != NULL && strcmp(m, "client_secret_basic") == 0;
        post |= m != NULL && strcmp(m, "client_secret_post") == 0;
    }
    return post && !basic;
}

int oidc_discovery_parse(const char *issuer, const char *text, size_t len, oidc_discovery *out,
                         char *err, size_t errlen)
{
    int rc = -1;
    memset(out, 0, sizeof *out);
    json *doc = json_parse(text, len, NULL, 0);
    if (json_typeof(doc) != JSON_OBJECT) {
        snprintf(err, errlen, "the provider's discovery document is not a JSON object");
        goto out;
    }
    const char *found = json_get_string(doc, OIDC_D_ISSUER);
    if (found == NULL) {
        snprintf(err, errlen, "the provider's discovery document has no issuer");
        goto out;
    }
    if (strcmp(found, issuer) != 0) {
        describe_issuer_mismatch(issuer, found, err, errlen);
        goto out;
    }
    out->issuer = strdup(issuer);
    if (out->issuer == NULL ||
        https_member(doc, OIDC_D_AUTHORIZATION, 1, &out->authorization_endpoint, err, errlen) ||
        https_member(doc, OIDC_D_TOKEN, 1, &out->token_endpoint, err, errlen) ||
        https_member(doc, OIDC_D_JWKS, 1, &out->jwks_uri, err, errlen) ||
        https_member(doc, OIDC_D_END_SESSION, 0, &out->end_session_endpoint, err, errlen))
        goto out;
    out->secret_post_only = post_only(doc);
    out->iss_parameter = json_bool_value(json_object_get(doc, OIDC_D_ISS_PARAMETER));
    rc = 0;
out:
    if (rc != 0)
        oidc_discovery_clear(out);
    json_free(doc);
    return rc;
}

const oidc_discovery *oidc_provider_discovery(const oidc_provider *p)
{
    return &p->disc;
}

const oidc_jwks *oidc_provider_jwks(const oidc_provider *p)
{
    return p->jwks;
}

static oidc_provider *find_or_add(oidc_state *st, const char *issuer)
{
    if (st->providers == NULL && (st->providers = calloc(1, sizeof *st->providers)) == NULL)
        return NULL;
    for (oidc_provider *p = st->providers->head; p; p = p->next)
        if (strcmp(p->issuer, issuer) == 0)
            return p;
    oidc_provider *p = calloc(1, sizeof *p);
    if (p == NULL || (p->issuer = strdup(issuer)) == NULL) {
        free(p);
        return NULL;
    }
    p->st = st;
    p->next = st->providers->head;
    st->providers->head = p;
    return p;
}

static int add_waiter(waiter **list, oidc_provider_cb cb, void *arg)
{
    waiter *w = malloc(sizeof *w);
    if (w == NULL)
        return -1;
    w->cb = cb;
    w->arg = arg;
    w->next = *list;
    *list = w;
    return 0;
}

/* Runs and frees every waiter; waiters added meanwhile wait for the next. */
static void notify(oidc_provider *p, waiter **list, const char *error)
{
    waiter *w = *list;
    *list = NULL;
    while (w != NULL) {
        waiter *next = w->next;
        w->cb(p, error, w->arg);
        free(w);
        w = next;
    }
}

static void on_discovery(const http_client_response *res, void *arg)
{
    oidc_provider *p = arg;
    char err[512] = "";
    oidc_discovery fresh;

    p->disc_fetching = 0;
    if (res->status != 200) {
        if (res->status == 0)
            snprintf(err, sizeof err, "the provider's discovery document could not be fetched: %s",
                     res->error);
        else
            snprintf(err, sizeof err,
                     "the provider's discovery document could not be fetched: HTTP status %d",
                     res->status);
    } else if (oidc_discovery_parse(p->issuer, res->body, res->body_len, &fresh, err,
                                    sizeof err) != 0) {
        if (err[0] == '\0')
            snprintf(err, sizeof err, "the provider's discovery document could not be read");
    } else if (!oidc_endpoints_allowed(&p->st->cfg, &fresh, err, sizeof err)) {
        oidc_discovery_clear(&fresh);
    } else {
        oidc_discovery_clear(&p->disc);
        p->disc = fresh;
        p->disc_expires = oidc_now() + p->st->cfg.discovery_ttl;
        err[0] = '\0';
    }
    if (err[0] != '\0') {
        log_event(LOG_WARN, "discovery failed", "issuer", p->issuer, "error", err, NULL);
        if (p->disc.issuer != NULL) {
            /* Keep serving the last good document, and retry in a minute. */
            p->disc_expires = oidc_now() + 60;
            err[0] = '\0';
        }
    }
    notify(p, &p->disc_waiters, err[0] ? err : NULL);
}

static int start_fetch(oidc_state *st, const char *url, http_client_cb cb, void *arg)
{
    struct http_client *client = st->app->client;
    http_client_request req = {.url = url};
    if (client == NULL)
        return -1;
    return http_client_fetch(client, &req, cb, arg);
}

void oidc_provider_get(oidc_state *st, const char *issuer, oidc_provider_cb cb, void *arg)
{
    oidc_provider *p = find_or_add(st, issuer);
    if (p == NULL) {
        cb(NULL, "out of memory", arg);
        return;
    }
    if (p->disc.issuer != NULL && oidc_now() < p->disc_expires) {
        cb(p, NULL, arg);
        return;
    }
    if (add_waiter(&p->disc_waiters, cb, arg) != 0) {
        cb(NULL, "out of memory", arg);
        return;
    }
    if (p->disc_fetching)
        return;
    char *url = oidc_discovery_url(issuer);
    p->disc_fetching = url != NULL && start_fetch(st, url, on_discovery, p) == 0;
    free(url);
    if (!p->disc_fetching)
        notify(p, &p->disc_waiters, "the provider's discovery document could not be requested");
}

static void on_jwks(const http_client_response *res, void *arg)
{
    oidc_provider *p = arg;
    char err[512] = "";
    oidc_jwks *set = NULL;

    p->jwks_fetching = 0;
    if (res->status == 0)
        snprintf(err, sizeof err, "the provider's JWKS could not be fetched: %s", res->error);
    else if (res->status != 200)
        snprintf(err, sizeof err, "the provider's JWKS could not be fetched: HTTP status %d",
                 res->status);
    else if (oidc_jwks_parse(res->body, res->body_len, &set, err, sizeof err) == 0) {
        oidc_jwks_free(p->jwks);
        p->jwks = set;
        p->jwks_expires = oidc_now() + p->st->cfg.jwks_ttl;
        err[0] = '\0';
        char n[24];
        snprintf(n, sizeof n, "%zu", set->nkeys);
        log_event(LOG_INFO, "provider keys loaded", "issuer", p->issuer, "keys", n, NULL);
    }
    if (err[0] != '\0') {
        log_event(LOG_WARN, "JWKS fetch failed", "issuer", p->issuer, "error", err, NULL);
        if (p->jwks != NULL)
            err[0] = '\0';
    }
    notify(p, &p->jwks_waiters, err[0] ? err : NULL);
}

void oidc_provider_keys(oidc_state *st, oidc_provider *p, int refetch, oidc_provider_cb cb,
                        void *arg)
{
    int64_t now = oidc_now();
    int fresh = p->jwks != NULL && now < p->jwks_expires;
    int may_refetch = now - p->jwks_fetched >= st->cfg.jwks_min_refetch;

    if ((fresh && !refetch) || (p->jwks != NULL && refetch && !may_refetch && !p->jwks_fetching)) {
        cb(p, NULL, arg);
        return;
    }
    if (p->disc.jwks_uri == NULL) {
        cb(p, "the provider's JWKS location is unknown", arg);
        return;
    }
    if (add_waiter(&p->jwks_waiters, cb, arg) != 0) {
        cb(p, "out of memory", arg);
        return;
    }
    if (p->jwks_fetching)
        return;
    p->jwks_fetched = now;
    p->jwks_fetching = start_fetch(st, p->disc.jwks_uri, on_jwks, p) == 0;
    if (!p->jwks_fetching)
        notify(p, &p->jwks_waiters, "the provider's JWKS could not be requested");
}

void oidc_providers_free(oidc_state *st)
{
    if (st->providers == NULL)
        return;
    oidc_provider *p = st->providers->head;
    while (p != NULL) {
        oidc_provider *next = p->next;
        notify(p, &p->disc_waiters, "the service is shutting down");
        notify(p, &p->jwks_waiters, "the service is shutting down");
        oidc_discovery_clear(&p->disc);
        oidc_jwks_free(p->jwks);
        free(p->issuer);
        free(p);
        p = next;
    }
    free(st->providers);
    st->providers = NULL;
}
