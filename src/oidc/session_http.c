/* GET /session (who is signed in, for the application or a reverse proxy's
 * auth request) and POST /auth/logout. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "app.h"
#include "crypto.h"
#include "http.h"
#include "json.h"
#include "license.h"
#include "log.h"
#include "oidc/endpoints.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"
#include "oidc/provider.h"
#include "oidc/session.h"
#include "oidc/token.h"
#include "oidc/users.h"

/* last_seen is written at most this often (seconds), so that polling
 * /session does not turn every read into a write. */
#define TOUCH_INTERVAL 60
/* Retry delay after the provider could not be reached for a re-check. */
#define RECHECK_RETRY 60

/* A change to a stored session, run as a store job. */
typedef struct session_update {
    char *sid;
    int remove;
    int64_t last_seen;
    int64_t next_check;             /* -1 keeps the stored value */
    char *refresh_box;              /* NULL keeps the stored value */
    char *id_token;                 /* sealed; NULL keeps the stored value */
    char *seen_token;               /* plain ID token to record in T_TOKENS_SEEN, or NULL */
    int64_t id_token_until;         /* when the seen_token record expires */
    void (*then)(int rc, void *arg); /* runs after the change committed or failed; may be NULL */
    void *then_arg;
} session_update;

static void update_free(session_update *u)
{
    free(u->sid);
    free(u->refresh_box);
    free(u->id_token);
    free(u->seen_token);
    free(u);
}

static int update_job(store_txn *t, void *arg)
{
    session_update *u = arg;
    oidc_session s;
    if (u->remove) {
        int rc = oidc_session_delete(t, u->sid);
        return rc == STORE_NOTFOUND ? 0 : rc;
    }
    int rc = oidc_session_get(t, u->sid, &s);
    if (rc != 0)
        return rc == STORE_NOTFOUND ? 0 : rc;
    s.last_seen = u->last_seen;
    if (u->next_check >= 0)
        s.next_check = u->next_check;
    if (u->refresh_box) {
        free(s.refresh);
        s.refresh = u->refresh_box;
        u->refresh_box = NULL;
    }
    if (u->seen_token) {
        rc = oidc_token_mark_seen(t, u->seen_token, u->id_token_until);
        if (rc != 0 && rc != STORE_EXISTS) {
            oidc_session_clear(&s);
            return rc;
        }
    }
    if (u->id_token) {
        free(s.id_token);
        s.id_token = u->id_token;
        u->id_token = NULL;
    }
    rc = oidc_session_put(t, u->sid, &s);
    oidc_session_clear(&s);
    return rc;
}

static void update_done(int rc, void *arg)
{
    session_update *u = arg;
    if (rc != 0)
        log_event(LOG_WARN, "session update failed", "error", store_strerror(rc), NULL);
    if (u->then)
        u->then(rc, u->then_arg);
    update_free(u);
}

/* Queues a session change. `then`, when not NULL, runs once the change has
 * committed or failed, so that a reply sent from it is never ahead of the
 * store. Takes ownership of `refresh_box`, `id_token` and `seen_token`. */
static void update_session_then(oidc_state *st, const char *sid, int remove, int64_t next_check,
                                char *refresh_box, char *id_token, char *seen_token,
                                int64_t id_token_until, void (*then)(int rc, void *arg),
                                void *then_arg)
{
    session_update *u = calloc(1, sizeof *u);
    if (u == NULL || (u->sid = strdup(sid)) == NULL) {
        free(u);
        free(refresh_box);
        free(id_token);
        free(seen_token);
        if (then)
            then(STORE_NOMEM, then_arg);
        return;
    }
    u->remove = remove;
    u->last_seen = oidc_now();
    u->next_check = next_check;
    u->refresh_box = refresh_box;
    u->id_token = id_token;
    u->seen_token = seen_token;
    u->id_token_until = id_token_until;
    u->then = then;
    u->then_arg = then_arg;
    if (store_submit(st->app->store, update_job, update_done, u) != 0)
        update_done(STORE_CLOSED, u);
}

/* Queues a session change without waiting for it. */
static void update_session(oidc_state *st, const char *sid, int remove, int64_t next_check,
                           char *refresh_box, char *id_token)
{
    update_session_then(st, sid, remove, next_check, refresh_box, id_token, NULL, 0, NULL, NULL);
}

static void reply_unauthenticated(http_req *r, oidc_state *st, int clear_cookie)
{
    static const char body[] = "{\"error\":\"not signed in\"}";
    if (clear_cookie)
        oidc_set_cookie(r, &st->cfg, OIDC_COOKIE_SESSION, "", 0, 0);
    http_set_header(r, "Cache-Control", "no-store");
    http_reply(r, 401, "application/json", body, sizeof body - 1);
}

/* Everything /session reports, gathered inside the read transaction. */
typedef struct session_view {
    oidc_session s;
    json *body;
    char *user_name;
    char *email;
    const char *tier;
} session_view;

static void view_clear(session_view *v)
{
    oidc_session_clear(&v->s);
    json_free(v->body);
    free(v->user_name);
    free(v->email);
    memset(v, 0, sizeof *v);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int build_view(store_txn *t, session_view *v)
{
    json *user = NULL;
    if (oidc_user_read(t, v->s.account, v->s.user, &user) != 0 || !oidc_user_active(user)) {
        json_free(user);
        return -1;
    }
    v->tier = license_user_tier(t, v->s.account, v->s.user);
    if (v->tier == NULL || strcmp(v->tier, "none") == 0) {
        json_free(user);
        return -1;
    }
    const char *name = json_get_string(user, "userName");
    const char *display = json_get_string(user, "displayName");
    const char *email = oidc_user_email(user);
    if (!oidc_header_value_safe(name) || !oidc_header_value_safe(email)) {
        log_event(LOG_WARN, "session rejected: user name or email contains control characters",
                  "account", v->s.account, "user", v->s.user, NULL);
        json_free(user);
        return -1;
    }
    if (oidc_email_foreign(t, v->s.account, name) || oidc_email_foreign(t, v->s.account, email) ||
        !oidc_user_domains_allowed(t, v->s.account, user)) {
        log_event(LOG_WARN, "session rejected: user name or email is outside the account's "
                  "verified domains", "account", v->s.account, "user", v->s.user, NULL);
        json_free(user);
        return -1;
    }
    v->user_name = dup_or_null(name);
    v->email = dup_or_null(email);
    v->body = json_object();
    json_object_set(v->body, "account", json_string(v->s.account));
    json_object_set(v->body, "id", json_string(v->s.user));
    json_object_set(v->body, "userName", name ? json_string(name) : json_null());
    json_object_set(v->body, "displayName", display ? json_string(display) : json_null());
    json_object_set(v->body, "email", email ? json_string(email) : json_null());
    json_object_set(v->body, "tier", json_string(v->tier));
    json_free(user);
    return 0;
}

/* Looks the session of the request up. Returns 1 with `v` filled, 0 when
 * there is no valid session (expired ones are deleted). */
static int find_session(http_req *r, oidc_state *st, session_view *v, const char **sid_out)
{
    const char *sid = oidc_get_cookie(r, &st->cfg, OIDC_COOKIE_SESSION);
    store_txn *t;
    memset(v, 0, sizeof *v);
    *sid_out = sid;
    if (sid == NULL || strlen(sid) > 128 || store_read_begin(st->app->store, &t) != 0)
        return 0;
    int rc = oidc_session_get(t, sid, &v->s);
    int ok = rc == 0 && !oidc_session_expired(&v->s, oidc_now()) && build_view(t, v) == 0;
    store_read_end(t);
    if (rc == 0 && !ok)
        update_session(st, sid, 1, -1, NULL, NULL);
    if (!ok)
        view_clear(v);
    return ok;
}

static void reply_view(http_req *r, const session_view *v)
{
    http_set_header(r, "X-Idgate-User", v->user_name ? v->user_name : "");
    http_set_header(r, "X-Idgate-Account", v->s.account);
    http_set_header(r, "X-Idgate-Email", v->email ? v->email : "");
    http_set_header(r, "X-Idgate-Tier", v->tier);
    http_set_header(r, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    if (b == NULL || json_dump_evbuffer(v->body, b) != 0) {
        http_reply_text(r, 500, "out of memory\n");
    } else {
        http_reply_buffer(r, 200, "application/json", b);
    }
    if (b)
        evbuffer_free(b);
}

/* A re-check of the user with the provider through the refresh token. At
 * most one runs per session, listed in oidc_state.rechecks, because a
 * second one would present a refresh token that the first may have rotated,
 * and the provider would then reject it. */
typedef struct oidc_recheck {
    struct oidc_recheck *next;
    http_req *r;
    oidc_state *st;
    char *sid;
    session_view v;
    oidc_idp idp;
    char *refresh_plain;
    oidc_provider *prov;
    char *refresh_box;              /* the rotated refresh token, sealed; NULL when none */
    char *id_token;                 /* the refreshed ID token, while it is validated */
    int64_t id_token_until;         /* its exp plus the clock skew, once validated */
    int keys_refetched;
} recheck;

static recheck **in_flight_slot(oidc_state *st, const char *sid)
{
    size_t len = strlen(sid);
    for (recheck **p = &st->rechecks; *p != NULL; p = &(*p)->next)
        if (strlen((*p)->sid) == len && crypto_equal((*p)->sid, sid, len))
            return p;
    return NULL;
}

static void recheck_free(recheck *c)
{
    recheck **slot = c->sid ? in_flight_slot(c->st, c->sid) : NULL;
    if (slot != NULL && *slot == c)
        *slot = c->next;
    http_req_release(c->r);
    free(c->sid);
    view_clear(&c->v);
    oidc_idp_clear(&c->idp);
    free(c->refresh_box);
    free(c->id_token);
    if (c->refresh_plain)
        secretbox_wipe(c->refresh_plain, strlen(c->refresh_plain));
    free(c);
}

static void reply_kept(int rc, void *arg)
{
    recheck *c = arg;
    (void)rc;
    if (http_req_alive(c->r))
        reply_view(c->r, &c->v);
    recheck_free(c);
}

static void reply_ended(int rc, void *arg)
{
    recheck *c = arg;
    (void)rc;
    if (http_req_alive(c->r))
        reply_unauthenticated(c->r, c->st, 1);
    recheck_free(c);
}

/* The provider did not reply usefully, so keep the session and retry soon. */
static void recheck_later(recheck *c, const char *why)
{
    log_event(LOG_WARN, "session re-check postponed", "request_id", c->r->id, "account",
              c->v.s.account, "user", c->v.s.user, "reason", why, NULL);
    char *box = c->refresh_box;
    c->refresh_box = NULL;
    update_session_then(c->st, c->sid, 0, oidc_now() + RECHECK_RETRY, box, NULL, NULL, 0,
                        reply_kept, c);
}

/* Deletes the session and tells the client it is signed out. */
static void recheck_end(recheck *c, const char *why)
{
    log_event(LOG_INFO, "session ended by the re-check", "request_id", c->r->id, "account",
              c->v.s.account, "user", c->v.s.user, "reason", why, NULL);
    update_session_then(c->st, c->sid, 1, -1, NULL, NULL, NULL, 0, reply_ended, c);
}

/* Keeps the session with the rotated refresh token and the validated ID token. */
static void recheck_done(recheck *c)
{
    char *box = c->refresh_box, *seen = c->id_token;
    char *sealed = seen ? oidc_id_token_seal(c->st, c->v.s.account, seen) : NULL;
    c->refresh_box = NULL;
    c->id_token = NULL;
    update_session_then(c->st, c->sid, 0, oidc_now() + c->st->cfg.recheck_interval, box, sealed,
                        seen, c->id_token_until, reply_kept, c);
}

static char *seal_refresh(recheck *c, const char *token)
{
    char aad[64], *box = NULL;
    const secretbox_key *key = oidc_master_key(c->st);
    snprintf(aad, sizeof aad, "%s%s", OIDC_AAD_REFRESH, c->v.s.account);
    if (key == NULL || secretbox_seal(key, aad, token, strlen(token), &box) != 0)
        return NULL;
    return box;
}

static void validate_refreshed(recheck *c);

static void on_refresh_keys(oidc_provider *p, const char *error, void *arg)
{
    recheck *c = arg;
    (void)p;
    if (error != NULL) {
        recheck_later(c, error);
        return;
    }
    validate_refreshed(c);
}

/* Validates an ID token from a refresh as OpenID Connect Core 1.0 section
 * 12.2 requires: signature, issuer, audience and times as at sign-in, and
 * the same `sub`. The nonce is not checked because the refresh request sent
 * none. */
static void validate_refreshed(recheck *c)
{
    const char *reason = NULL;
    oidc_claims claims;
    oidc_idtoken_params p = {.issuer = c->idp.issuer, .client_id = c->idp.client_id,
                             .nonce = NULL, .now = oidc_now(), .skew = c->st->cfg.clock_skew,
                             .algs = c->st->cfg.algs};
    int rc = oidc_idtoken_validate(c->id_token, strlen(c->id_token), oidc_provider_jwks(c->prov),
                                   &p, &claims, &reason);
    if (rc == OIDC_IDT_UNKNOWN_KID && !c->keys_refetched) {
        c->keys_refetched = 1;
        oidc_provider_keys(c->st, c->prov, 1, on_refresh_keys, c);
        return;
    }
    if (rc == OIDC_IDT_NOMEM) {
        recheck_later(c, "out of memory");
        return;
    }
    if (rc != OIDC_IDT_OK) {
        recheck_end(c, reason ? reason : "refreshed ID token is invalid");
        return;
    }
    /* A session stored without `sub` cannot be compared, so it ends here. */
    int same_sub = c->v.s.sub != NULL && strcmp(claims.sub, c->v.s.sub) == 0;
    c->id_token_until = claims.exp + c->st->cfg.clock_skew;
    oidc_claims_clear(&claims);
    if (!same_sub) {
        recheck_end(c, "refreshed ID token names another sub");
        return;
    }
    recheck_done(c);
}

/* 1 for token endpoint errors that may pass: no usable reply, or an OAuth
 * error that says the provider is busy or failed. Any other error (such as
 * invalid_grant, or invalid_client after the application was removed)
 * means the provider no longer vouches for the session. */
static int transient_error(const char *error)
{
    static const char *const transient[] = {"transport", "temporarily_unavailable", "slow_down",
                                            "server_error"};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        if (strcmp(error, transient[i]) == 0)
            return 1;
    return 0;
}

static void on_refreshed(const oidc_token_response *res, void *arg)
{
    recheck *c = arg;
    if (res->error != NULL && !transient_error(res->error)) {
        recheck_end(c, res->log_reason ? res->log_reason : res->error);
        return;
    }
    if (res->error != NULL) {
        recheck_later(c, res->log_reason);
        return;
    }
    c->refresh_box = res->refresh_token ? seal_refresh(c, res->refresh_token) : NULL;
    if (res->id_token == NULL) {
        recheck_done(c);
        return;
    }
    c->id_token = strdup(res->id_token);
    if (c->id_token == NULL) {
        recheck_later(c, "out of memory");
        return;
    }
    oidc_provider_keys(c->st, c->prov, 0, on_refresh_keys, c);
}

static void on_recheck_provider(oidc_provider *p, const char *error, void *arg)
{
    recheck *c = arg;
    if (error != NULL) {
        recheck_later(c, error);
        return;
    }
    c->prov = p;
    oidc_token_request req = {.idp = &c->idp, .disc = oidc_provider_discovery(p),
                              .grant_type = "refresh_token",
                              .refresh_token = c->refresh_plain, .waiter = NULL};
    if (oidc_token_fetch(c->st, &req, on_refreshed, c) != 0)
        recheck_later(c, "token request could not start");
}

static void start_recheck(http_req *r, oidc_state *st, const char *sid, session_view *v)
{
    recheck *c = in_flight_slot(st, sid) ? NULL : calloc(1, sizeof *c);
    if (c == NULL || (c->sid = strdup(sid)) == NULL) {
        free(c);
        reply_view(r, v);
        view_clear(v);
        return;
    }
    c->r = r;
    c->st = st;
    c->next = st->rechecks;
    st->rechecks = c;
    c->v = *v;
    memset(v, 0, sizeof *v);
    http_req_hold(r);

    store_txn *t;
    char aad[64];
    size_t len;
    int rc = store_read_begin(st->app->store, &t);
    if (rc == 0) {
        rc = oidc_idp_load(st, t, c->v.s.account, &c->idp);
        store_read_end(t);
    }
    snprintf(aad, sizeof aad, "%s%s", OIDC_AAD_REFRESH, c->v.s.account);
    const secretbox_key *key = oidc_master_key(st);
    if (rc != 0 || key == NULL ||
        secretbox_open(key, aad, c->v.s.refresh, (uint8_t **)&c->refresh_plain, &len) != 0) {
        recheck_later(c, "settings or refresh token unavailable");
        return;
    }
    /* The refresh token belongs to the provider that issued it, so it is not
     * sent to another issuer after the account's settings changed. */
    if (c->v.s.issuer == NULL || strcmp(c->v.s.issuer, c->idp.issuer) != 0) {
        recheck_end(c, "the account's identity provider changed");
        return;
    }
    oidc_provider_get(st, c->idp.issuer, on_recheck_provider, c);
}

void oidc_handle_session(http_req *r, void *arg)
{
    oidc_state *st = arg;
    session_view v;
    const char *sid;
    if (!find_session(r, st, &v, &sid)) {
        reply_unauthenticated(r, st, sid != NULL);
        return;
    }
    snprintf(r->account_id, sizeof r->account_id, "%s", v.s.account);
    int64_t now = oidc_now();
    if (v.s.refresh != NULL && v.s.next_check > 0 && now >= v.s.next_check) {
        start_recheck(r, st, sid, &v);
        return;
    }
    if (now - v.s.last_seen >= TOUCH_INTERVAL)
        update_session(st, sid, 0, -1, NULL, NULL);
    reply_view(r, &v);
    view_clear(&v);
}

/* GET / : the signed-in page, or the email form. */
void oidc_handle_home(http_req *r, void *arg)
{
    oidc_state *st = arg;
    session_view v;
    const char *sid;
    if (!find_session(r, st, &v, &sid)) {
        if (sid != NULL)
            oidc_set_cookie(r, &st->cfg, OIDC_COOKIE_SESSION, "", 0, 0);
        oidc_page_signin(r, 200, NULL, NULL);
        return;
    }
    const char *display = json_get_string(v.body, "displayName");
    if (display == NULL)
        display = v.user_name ? v.user_name : v.s.user;
    oidc_page_signed_in(r, display, v.email, v.tier);
    view_clear(&v);
}
