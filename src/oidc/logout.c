/* POST /auth/logout ends the session and, where the account enables
 * provider logout, sends the browser to the provider's end_session_endpoint
 * with the ID token as hint (OpenID Connect RP-Initiated Logout 1.0). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "oidc/endpoints.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"
#include "oidc/provider.h"
#include "oidc/session.h"

typedef struct logout {
    http_req *r;
    oidc_state *st;
    char *sid;
    oidc_session s;
    int provider_logout;
    char *client_id;
} logout;

static void logout_free(logout *l)
{
    http_req_release(l->r);
    free(l->sid);
    free(l->client_id);
    oidc_session_clear(&l->s);
    free(l);
}

/* 1 when the request comes from a page of this service: the Origin header,
 * or without it the Referer, must name this service's origin. */
static int same_origin(http_req *r, const oidc_config *cfg)
{
    const char *origin = http_header(r, "Origin");
    char norm[OIDC_ORIGIN_MAX];
    if (cfg->self_origin[0] == '\0')
        return 0;
    if (origin != NULL)
        return oidc_origin_normalize(origin, norm) == 0 && strcmp(norm, cfg->self_origin) == 0;
    const char *referer = http_header(r, "Referer");
    size_t n = strlen(cfg->self_origin);
    return referer != NULL && strncmp(referer, cfg->self_origin, n) == 0 && referer[n] == '/';
}

static void finish(logout *l, const char *location)
{
    if (http_req_alive(l->r)) {
        oidc_set_cookie(l->r, &l->st->cfg, OIDC_COOKIE_SESSION, "", 0, 0);
        oidc_security_headers(l->r);
        http_redirect(l->r, 303, location);
    }
    logout_free(l);
}

static char *end_session_url(logout *l, const oidc_discovery *d)
{
    struct evbuffer *b = evbuffer_new();
    char back[1024];
    char *token = oidc_id_token_open(l->st, l->s.account, l->s.id_token);
    char *hint = token ? http_urlencode(token) : NULL, *after = NULL, *client = NULL, *out = NULL;
    if (token)
        secretbox_wipe(token, strlen(token));
    snprintf(back, sizeof back, "%s%s", l->st->cfg.base_url, OIDC_PATH_SIGNIN);
    after = http_urlencode(back);
    client = l->client_id ? http_urlencode(l->client_id) : NULL;
    if (b && hint && after) {
        evbuffer_add_printf(b, "%s%cid_token_hint=%s&post_logout_redirect_uri=%s",
                            d->end_session_endpoint,
                            strchr(d->end_session_endpoint, '?') ? '&' : '?', hint, after);
        if (client)
            evbuffer_add_printf(b, "&client_id=%s", client);
        size_t len = evbuffer_get_length(b);
        if ((out = malloc(len + 1)) != NULL) {
            evbuffer_remove(b, out, len);
            out[len] = '\0';
        }
    }
    if (b)
        evbuffer_free(b);
    free(hint);
    free(after);
    free(client);
    return out;
}

static void on_provider(oidc_provider *p, const char *error, void *arg)
{
    logout *l = arg;
    const oidc_discovery *d = p && !error ? oidc_provider_discovery(p) : NULL;
    char *url = d && d->end_session_endpoint ? end_session_url(l, d) : NULL;
    if (url == NULL)
        log_event(LOG_WARN, "provider logout unavailable", "request_id", l->r->id, "account",
                  l->s.account, "reason", error ? error : "no end_session_endpoint", NULL);
    finish(l, url ? url : OIDC_PATH_SIGNIN);
    free(url);
}

static int delete_job(store_txn *t, void *arg)
{
    logout *l = arg;
    int rc = oidc_session_delete(t, l->sid);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

static void on_deleted(int rc, void *arg)
{
    logout *l = arg;
    if (rc != 0) {
        log_event(LOG_ERROR, "session could not be ended", "request_id", l->r->id, "error",
                  store_strerror(rc), NULL);
        if (http_req_alive(l->r))
            oidc_page_message(l->r, 503, "Sign-out failed", "Please try again in a moment.");
        logout_free(l);
        return;
    }
    log_event(LOG_INFO, "signed out", "request_id", l->r->id, "account", l->s.account, "user",
              l->s.user, NULL);
    if (l->provider_logout && l->s.id_token && l->s.issuer && http_req_alive(l->r)) {
        oidc_provider_get(l->st, l->s.issuer, on_provider, l);
        return;
    }
    finish(l, OIDC_PATH_SIGNIN);
}

/* Reads the session and the account's logout setting. */
static void load(logout *l)
{
    store_txn *t;
    if (store_read_begin(l->st->app->store, &t) != 0)
        return;
    if (oidc_session_get(t, l->sid, &l->s) == 0) {
        oidc_account_settings as;
        oidc_idp idp;
        if (oidc_account_settings_read(t, &l->st->cfg, l->s.account, &as) == 0)
            l->provider_logout = as.provider_logout;
        if (l->provider_logout && oidc_idp_load(l->st, t, l->s.account, &idp) == 0) {
            l->client_id = idp.client_id;
            idp.client_id = NULL;
            oidc_idp_clear(&idp);
        }
    }
    store_read_end(t);
}

void oidc_handle_logout(http_req *r, void *arg)
{
    oidc_state *st = arg;
    if (!same_origin(r, &st->cfg)) {
        log_event(LOG_WARN, "logout rejected", "request_id", r->id, "reason",
                  "cross-site request (Origin or Referer is not this service)", NULL);
        oidc_page_message(r, 403, "Sign-out rejected",
                          "Sign out from a page of this service.");
        return;
    }
    const char *sid = oidc_get_cookie(r, &st->cfg, OIDC_COOKIE_SESSION);
    logout *l = calloc(1, sizeof *l);
    if (l == NULL) {
        http_reply_text(r, 500, "out of memory\n");
        return;
    }
    l->r = r;
    l->st = st;
    http_req_hold(r);
    if (sid == NULL || strlen(sid) > 128 || (l->sid = strdup(sid)) == NULL) {
        finish(l, OIDC_PATH_SIGNIN);
        return;
    }
    load(l);
    if (store_submit(st->app->store, delete_job, on_deleted, l) != 0)
        on_deleted(STORE_CLOSED, l);
}
