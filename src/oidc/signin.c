#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "crypto.h"
#include "http.h"
#include "json.h"
#include "license.h"
#include "log.h"
#include "oidc/limit.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"
#include "oidc/session.h"
#include "oidc/signin.h"
#include "oidc/subjects.h"
#include "oidc/users.h"

oidc_signin *oidc_signin_new(http_req *r, oidc_state *st)
{
    oidc_signin *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->r = r;
    s->st = st;
    http_req_hold(r);
    return s;
}

void oidc_signin_free(oidc_signin *s)
{
    if (s == NULL)
        return;
    http_req_release(s->r);
    oidc_idp_clear(&s->idp);
    oidc_claims_clear(&s->claims);
    free(s->nonce);
    free(s->target);
    free(s->id_token);
    if (s->refresh_token)
        secretbox_wipe(s->refresh_token, strlen(s->refresh_token));
    free(s->session_id);
    free(s->replaced_session);
    free(s->refresh_box);
    free(s->id_token_box);
    free(s);
}

/* Failed sign-ins audited per account, and in all, within a window of
 * seconds. Anyone can cause failures (start a sign-in and send a bogus
 * code), so beyond these only the log records them and the audit log and
 * the store cannot be flooded. */
#define AUDIT_FAILURE_WINDOW 600
#define AUDIT_FAILURES_PER_ACCOUNT 200
#define AUDIT_FAILURES_TOTAL 5000

/* Builds the details of a sign-in audit event; NULL when out of memory. */
static json *audit_details(const char *user_id, const char *sub, const char *reason,
                           const char *request_id)
{
    json *d = json_object();
    if (d == NULL)
        return NULL;
    if ((user_id && *user_id && json_object_set(d, "user", json_string(user_id))) ||
        (sub && *sub && json_object_set(d, "sub", json_string(sub))) ||
        (reason && json_object_set(d, "reason", json_string(reason))) ||
        (request_id && *request_id && json_object_set(d, "request_id", json_string(request_id)))) {
        json_free(d);
        return NULL;
    }
    return d;
}

/* The audit actor of a sign-in: the user when known, else "anonymous". */
static void audit_actor(const char *user_id, char *out, size_t len)
{
    if (user_id && *user_id)
        snprintf(out, len, "user:%s", user_id);
    else
        snprintf(out, len, "anonymous");
}

typedef struct failure_event {
    char account[40];
    char actor[48];
    json *details;
} failure_event;

static int record_failure(store_txn *t, void *arg)
{
    failure_event *e = arg;
    return audit_record(t, e->account, AUDIT_SIGNIN_FAILED, e->actor, e->details);
}

static void failure_recorded(int rc, void *arg)
{
    failure_event *e = arg;
    if (rc != 0)
        log_event(LOG_ERROR, "could not record the failed sign-in", "account", e->account,
                  "error", store_strerror(rc), NULL);
    json_free(e->details);
    free(e);
}

void oidc_audit_signin_failed(oidc_state *st, const char *account, const char *user_id,
                              const char *sub, const char *reason, const char *request_id)
{
    if (account == NULL || strlen(account) != STORE_ID_LEN)
        return;
    if (st->failures == NULL)
        st->failures = oidc_limit_new(AUDIT_FAILURE_WINDOW, AUDIT_FAILURES_PER_ACCOUNT,
                                      AUDIT_FAILURES_TOTAL);
    if (st->failures == NULL || !oidc_limit_take(st->failures, account, oidc_now())) {
        log_event(LOG_DEBUG, "failed sign-in not audited: too many failures recently",
                  "request_id", request_id, "account", account, NULL);
        return;
    }
    failure_event *e = calloc(1, sizeof *e);
    if (e == NULL || (e->details = audit_details(user_id, sub, reason, request_id)) == NULL) {
        free(e);
        log_event(LOG_ERROR, "could not record the failed sign-in", "account", account, "error",
                  "out of memory", NULL);
        return;
    }
    snprintf(e->account, sizeof e->account, "%s", account);
    audit_actor(user_id, e->actor, sizeof e->actor);
    if (store_submit(st->app->store, record_failure, failure_recorded, e) != 0)
        failure_recorded(STORE_CLOSED, e);
}

void oidc_signin_fail(oidc_signin *s, int status, const char *title, const char *text,
                      const char *log_reason)
{
    log_event(status >= 500 ? LOG_ERROR : LOG_WARN, "sign-in failed", "request_id", s->r->id,
              "account", s->idp.account[0] ? s->idp.account : NULL, "user",
              s->user_id[0] ? s->user_id : NULL, "reason", log_reason, NULL);
    /* Anyone can name an account in an unsigned token, so such failures would
     * let strangers fill the account's audit log. */
    if (!s->account_unverified)
        oidc_audit_signin_failed(s->st, s->idp.account, s->user_id, s->claims.sub, log_reason,
                                 s->r->id);
    if (http_req_alive(s->r)) {
        if (s->tx_cookie[0])
            oidc_set_cookie(s->r, &s->st->cfg, s->tx_cookie, "", 0, 1);
        oidc_page_message(s->r, status, title, text);
    }
    oidc_signin_free(s);
}

/* Fails the sign-in with the page for a user linked to another subject of the provider. */
static void fail_other_subject(oidc_signin *s, const char *reason)
{
    oidc_signin_fail(s, 403, "Sign-in refused",
                     "Your organization's identity provider signed you in as a different person "
                     "than the one who uses this account here, so you were not signed in. If your "
                     "email address or user name changed recently, ask your administrator to "
                     "check your account.",
                     reason);
}

/* Fails the sign-in with the page for a user who may not use the application. */
static void fail_no_access(oidc_signin *s, const char *reason)
{
    oidc_signin_fail(s, 403, "No access",
                     "You signed in successfully, but your administrator has not given you "
                     "access to this application. Ask them to assign it to you.",
                     reason);
}

static void on_session_stored(int rc, void *arg)
{
    oidc_signin *s = arg;
    if (s->status == 403 && s->user_gone) {
        fail_no_access(s, s->reason);
        return;
    }
    if (s->status == 403) {
        fail_other_subject(s, s->reason);
        return;
    }
    if (rc != 0 || s->status != 0) {
        oidc_signin_fail(s, s->status ? s->status : 503, "Sign-in failed",
                         s->status == 400 ? "This sign-in token was already used. Please sign "
                                            "in again."
                                          : "The session could not be created. Please try "
                                            "again.",
                         s->reason[0] ? s->reason : store_strerror(rc));
        return;
    }
    log_event(LOG_INFO, "signed in", "request_id", s->r->id, "account", s->idp.account, "user",
              s->user_id, "tier", s->tier, NULL);
    if (http_req_alive(s->r)) {
        const oidc_config *cfg = &s->st->cfg;
        if (s->tx_cookie[0])
            oidc_set_cookie(s->r, cfg, s->tx_cookie, "", 0, 1);
        oidc_set_cookie(s->r, cfg, OIDC_COOKIE_SESSION, s->session_id,
                        s->settings.absolute_lifetime, 0);
        oidc_security_headers(s->r);
        http_redirect(s->r, s->r->method == HTTP_POST ? 303 : 302,
                      s->target && *s->target ? s->target : "/");
    }
    oidc_signin_free(s);
}

/* Records the ID token so that it is accepted only once, whichever way it
 * arrives: a code-flow token that leaks (as the logout hint, for example)
 * must not sign in again through the unsolicited POST. */
static int record_token(store_txn *t, oidc_signin *s)
{
    int rc = oidc_token_mark_seen(t, s->id_token, s->claims.exp + s->st->cfg.clock_skew);
    if (rc == STORE_EXISTS) {
        s->status = 400;
        snprintf(s->reason, sizeof s->reason, "ID token replayed");
    }
    return rc;
}

/* Fails the job with the "No access" page when the user was deleted or
 * deactivated after authorize_user read it. */
static int check_user_active(store_txn *t, oidc_signin *s)
{
    json *user = NULL;
    int rc = oidc_user_read(t, s->idp.account, s->user_id, &user);
    if (rc == 0 && !oidc_user_active(user))
        rc = STORE_NOTFOUND;
    json_free(user);
    if (rc == STORE_NOTFOUND) {
        s->status = 403;
        s->user_gone = 1;
        snprintf(s->reason, sizeof s->reason,
                 "user was deleted or deactivated during the sign-in");
    }
    return rc;
}

/* Records that the sign-in linked the token's subject to the user. */
static int audit_link(store_txn *t, oidc_signin *s, const oidc_link_result *linked)
{
    char actor[48];
    json *details = audit_details(s->user_id, s->claims.sub, NULL, s->r->id);
    if (details == NULL)
        return STORE_NOMEM;
    int failed = json_object_set(details, "issuer", json_string(s->idp.issuer)) ||
                 json_object_set(details, "claim", json_string(s->matched_claim));
    if (!failed && linked->previous_user[0])
        failed = json_object_set(details, "previous_user", json_string(linked->previous_user));
    if (failed) {
        json_free(details);
        return STORE_NOMEM;
    }
    audit_actor(s->user_id, actor, sizeof actor);
    int rc = audit_record(t, s->idp.account, AUDIT_SIGNIN_SUBJECT_LINKED, actor, details);
    json_free(details);
    return rc;
}

/* Links the token's subject to the user in the session's write, checking
 * again what the read before it checked: another sign-in may have linked
 * the user to another subject since. */
static int link_subject(store_txn *t, oidc_signin *s, int64_t now)
{
    oidc_link_result linked;
    if (s->link_action == OIDC_LINK_KEEP || s->link_action == OIDC_LINK_NONE)
        return check_user_active(t, s);
    int rc = oidc_subject_link(t, s->idp.account, s->user_id, s->idp.issuer, s->claims.sub, now,
                               s->link_action == OIDC_LINK_REPLACE, &linked);
    if (rc == STORE_EXISTS) {
        s->status = 403;
        snprintf(s->reason, sizeof s->reason,
                 "user matched by name or email is linked to another sub of the issuer");
    } else if (rc == STORE_NOTFOUND) {
        s->status = 403;
        s->user_gone = 1;
        snprintf(s->reason, sizeof s->reason,
                 "user was deleted or deactivated during the sign-in");
    } else if (rc == 0 && linked.created) {
        rc = audit_link(t, s, &linked);
    }
    return rc;
}

static int store_session(store_txn *t, void *arg)
{
    oidc_signin *s = arg;
    oidc_session sess = {0};
    int64_t now = oidc_now();
    int rc;

    if ((rc = record_token(t, s)) != 0)
        return rc;
    if ((rc = link_subject(t, s, now)) != 0)
        return rc;
    memcpy(sess.account, s->idp.account, sizeof sess.account);
    memcpy(sess.user, s->user_id, sizeof sess.user);
    sess.issuer = s->idp.issuer;
    sess.sub = s->claims.sub;
    sess.id_token = s->id_token_box;
    sess.created = sess.last_seen = now;
    sess.expires = now + s->settings.absolute_lifetime;
    sess.idle = s->settings.idle_timeout;
    if (s->refresh_box != NULL) {
        sess.refresh = s->refresh_box;
        sess.next_check = now + s->st->cfg.recheck_interval;
    }
    rc = oidc_session_put(t, s->session_id, &sess);
    if (rc != 0)
        return rc;
    /* A new sign-in replaces the browser's session, so the old id stops working. */
    if (s->replaced_session != NULL) {
        rc = oidc_session_delete(t, s->replaced_session);
        if (rc != 0 && rc != STORE_NOTFOUND)
            return rc;
    }
    char actor[48];
    json *details = audit_details(s->user_id, s->claims.sub, NULL, s->r->id);
    if (details == NULL)
        return STORE_NOMEM;
    if (s->tier)
        json_object_set(details, "tier", json_string(s->tier));
    audit_actor(s->user_id, actor, sizeof actor);
    rc = audit_record(t, s->idp.account, AUDIT_SIGNIN_SUCCEEDED, actor, details);
    json_free(details);
    return rc;
}

/* Seals the refresh token on the loop thread, where the master key lives. */
static void seal_refresh(oidc_signin *s)
{
    if (s->refresh_token == NULL || !s->settings.refresh_tokens ||
        s->st->cfg.recheck_interval == 0)
        return;
    const secretbox_key *key = oidc_master_key(s->st);
    char aad[64];
    snprintf(aad, sizeof aad, "%s%s", OIDC_AAD_REFRESH, s->idp.account);
    if (key == NULL ||
        secretbox_seal(key, aad, s->refresh_token, strlen(s->refresh_token), &s->refresh_box) != 0)
        log_event(LOG_WARN, "refresh token not kept", "request_id", s->r->id, "account",
                  s->idp.account, NULL);
}

static void create_session(oidc_signin *s)
{
    seal_refresh(s);
    s->id_token_box = oidc_id_token_seal(s->st, s->idp.account, s->id_token);
    const char *old = oidc_get_cookie(s->r, &s->st->cfg, OIDC_COOKIE_SESSION);
    if (old != NULL && *old != '\0' && strlen(old) <= 128)
        s->replaced_session = strdup(old);
    s->session_id = crypto_token("", 32);
    if (s->session_id == NULL) {
        oidc_signin_fail(s, 500, "Sign-in failed", "Please try again.", "out of memory");
        return;
    }
    if (store_submit(s->st->app->store, store_session, on_session_stored, s) != 0)
        oidc_signin_fail(s, 503, "Sign-in unavailable", "Please try again in a moment.",
                         "store closed");
}

static void authorize_user(oidc_signin *s)
{
    store_txn *t;
    const char *reason = NULL;
    if (store_read_begin(s->st->app->store, &t) != 0) {
        oidc_signin_fail(s, 503, "Sign-in unavailable", "Please try again in a moment.", "store");
        return;
    }
    oidc_user_match match = {.link = OIDC_LINK_KEEP, .claim = NULL};
    int rc = oidc_user_authorize(t, s->idp.account, s->idp.issuer, &s->claims, s->user_id,
                                 &s->tier, &match, &reason);
    store_read_end(t);
    s->link_action = match.link;
    s->matched_claim = match.claim;
    if (rc == OIDC_USER_OTHER_SUBJECT) {
        fail_other_subject(s, reason);
        return;
    }
    if (rc != OIDC_USER_OK) {
        fail_no_access(s, reason);
        return;
    }
    create_session(s);
}

static void validate(oidc_signin *s);

static void on_keys(oidc_provider *p, const char *error, void *arg)
{
    oidc_signin *s = arg;
    if (!http_req_alive(s->r)) {
        oidc_signin_free(s);
        return;
    }
    if (error != NULL) {
        oidc_signin_fail(s, 502, "Identity provider unavailable",
                         "The identity provider's signing keys could not be loaded. Please try "
                         "again.",
                         error);
        return;
    }
    validate(s);
}

static void validate(oidc_signin *s)
{
    const char *reason = NULL;
    oidc_idtoken_params p = {.issuer = s->idp.issuer, .client_id = s->idp.client_id,
                             .nonce = s->nonce, .now = oidc_now(),
                             .skew = s->st->cfg.clock_skew, .algs = s->st->cfg.algs};
    const oidc_jwks *keys = oidc_provider_jwks(s->prov);
    int rc = oidc_idtoken_validate(s->id_token, strlen(s->id_token), keys, &p, &s->claims,
                                   &reason);
    if (rc == OIDC_IDT_UNKNOWN_KID && !s->keys_refetched) {
        s->keys_refetched = 1;
        oidc_provider_keys(s->st, s->prov, 1, on_keys, s);
        return;
    }
    /* A token with a nonce was issued for an authorization request, so it is
     * not accepted unsolicited. */
    if (rc == OIDC_IDT_OK && s->nonce == NULL && s->claims.has_nonce) {
        oidc_claims_clear(&s->claims);
        rc = OIDC_IDT_INVALID;
        reason = "unsolicited ID token carries a nonce";
    }
    if (rc != OIDC_IDT_OK) {
        oidc_signin_fail(s, 401, "Sign-in could not be verified",
                         "The identity provider's answer could not be verified, so you were not "
                         "signed in. Please try again, or ask your administrator.",
                         reason);
        return;
    }
    s->account_unverified = 0;
    authorize_user(s);
}

static void on_first_keys(oidc_provider *p, const char *error, void *arg)
{
    oidc_signin *s = arg;
    if (error != NULL || !http_req_alive(s->r)) {
        on_keys(p, error, arg);
        return;
    }
    validate(s);
}

void oidc_signin_verify(oidc_signin *s)
{
    if (s->id_token == NULL) {
        oidc_signin_fail(s, 500, "Sign-in failed", "Please try again.", "out of memory");
        return;
    }
    oidc_provider_keys(s->st, s->prov, 0, on_first_keys, s);
}
