/* GET|POST /auth/okta/callback/<account id> and /auth/okta/callback: the
 * authorization response. Opens the login transaction for the response's
 * state from this browser's cookie and checks that it is live, was not used,
 * and belongs to the account that the path names. Then redeems the code at
 * the token endpoint with the PKCE verifier, records the state as used so
 * that it signs in only once, and hands the ID token to the shared sign-in
 * steps.
 *
 * Each account's Okta application registers the account's own path, so a
 * provider sends its codes only there. A code for one account that arrives
 * with another account's transaction (a mix-up, which a hostile provider of
 * that other account can cause, RFC 9207 section 1) is rejected before any
 * token request, whether or not the response carries `iss`. The shared path
 * serves only accounts whose settings still use it, and among those the
 * mix-up is still possible when the provider sends no `iss`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "app.h"
#include "crypto.h"
#include "http.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "oidc/endpoints.h"
#include "oidc/login_keys.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"
#include "oidc/signin.h"
#include "oidc/token.h"
#include "oidc/tx.h"

typedef struct callback {
    oidc_signin *s;
    char *state;
    char *code;
    int iss_missing;                /* the response carried no `iss` */
    int shared_path;                /* the response came to OIDC_PATH_CALLBACK */
    oidc_tx tx;
} callback;

static void callback_free(callback *cb)
{
    free(cb->state);
    free(cb->code);
    oidc_tx_clear(&cb->tx);
    free(cb);
}

static void callback_fail(callback *cb, int status, const char *title, const char *text,
                          const char *why)
{
    oidc_signin_fail(cb->s, status, title, text, why);
    callback_free(cb);
}

static int mark_used_job(store_txn *t, void *arg)
{
    callback *cb = arg;
    return oidc_tx_mark_used(t, cb->state, &cb->tx, cb->s->st->cfg.clock_skew);
}

static void on_marked_used(int rc, void *arg)
{
    callback *cb = arg;
    oidc_signin *s = cb->s;
    if (rc == STORE_EXISTS) {
        callback_fail(cb, 400, "Sign-in link used",
                      "This sign-in was already completed or has expired. Please sign in again.",
                      "login transaction replayed");
        return;
    }
    if (rc != 0) {
        callback_fail(cb, 503, "Sign-in unavailable", "Please try again in a moment.",
                      store_strerror(rc));
        return;
    }
    callback_free(cb);
    oidc_signin_verify(s);
}

static void on_token(const oidc_token_response *res, void *arg)
{
    callback *cb = arg;
    oidc_signin *s = cb->s;
    if (!http_req_alive(s->r)) {
        oidc_signin_free(s);
        callback_free(cb);
        return;
    }
    if (res->error != NULL || res->id_token == NULL) {
        int expired = res->error && strcmp(res->error, OIDC_T_INVALID_GRANT) == 0;
        callback_fail(cb, expired ? 400 : 502, "Sign-in failed",
                      expired ? "The sign-in code expired or was already used. Please sign in "
                                "again."
                              : "Your organization's identity provider did not complete the "
                                "sign-in. Please try again.",
                      res->log_reason);
        return;
    }
    s->id_token = strdup(res->id_token);
    s->refresh_token = res->refresh_token ? strdup(res->refresh_token) : NULL;
    if (store_submit(s->st->app->store, mark_used_job, on_marked_used, cb) != 0)
        callback_fail(cb, 503, "Sign-in unavailable", "Please try again in a moment.",
                      "store closed");
}

static void on_provider(oidc_provider *p, const char *error, void *arg)
{
    callback *cb = arg;
    oidc_signin *s = cb->s;
    if (!http_req_alive(s->r)) {
        oidc_signin_free(s);
        callback_free(cb);
        return;
    }
    if (error != NULL) {
        callback_fail(cb, 502, "Identity provider unavailable",
                      "Your organization's identity provider could not be reached. Please try "
                      "again.",
                      error);
        return;
    }
    /* RFC 9207 section 2.4: a provider that announces `iss` in its responses
     * must send it, so a response without it may come from another one. */
    if (cb->iss_missing && oidc_provider_discovery(p)->iss_parameter) {
        callback_fail(cb, 400, "Sign-in failed",
                      "The sign-in response could not be matched to your organization's "
                      "identity provider. Please sign in again.",
                      "iss missing from the authorization response of a provider that sends it");
        return;
    }
    s->prov = p;
    /* The token request repeats the redirect URI of the authorization
     * request, which is the one the response came to. */
    char redirect[OIDC_REDIRECT_URI_MAX];
    oidc_redirect_uri(s->st->cfg.base_url, cb->tx.account, cb->shared_path, redirect);
    oidc_token_request req = {.idp = &s->idp, .disc = oidc_provider_discovery(p),
                              .grant_type = "authorization_code", .code = cb->code,
                              .redirect_uri = redirect, .code_verifier = cb->tx.verifier,
                              .waiter = s->r};
    if (oidc_token_fetch(s->st, &req, on_token, cb) != 0)
        callback_fail(cb, 500, "Sign-in failed", "The sign-in could not be completed.",
                      "token request could not start");
}

/* Opens the login transaction of `state` from the request's cookie into
 * `tx`, and sets `cookie` to the cookie's name (the one of its slot, or the
 * name an earlier build gave it). A cookie that does not open
 * with the cached keys is tried again with keys read from the store, which
 * another instance may have created since. Returns 0 or a SECRETBOX_ERR_*
 * code (SECRETBOX_ERR_FORMAT when the cookie or the keys are missing). */
static int open_tx(http_req *r, oidc_state *st, const char *state, char cookie[32], oidc_tx *tx)
{
    int64_t now = oidc_now();
    oidc_tx_cookie_name(state, cookie);
    const char *sealed = oidc_get_cookie(r, &st->cfg, cookie);
    if (sealed == NULL) {
        oidc_tx_legacy_cookie_name(state, cookie);
        sealed = oidc_get_cookie(r, &st->cfg, cookie);
    }
    const oidc_login_keys *keys = oidc_login_keys_cached(st, now, 0);
    memset(tx, 0, sizeof *tx);
    if (sealed == NULL || *sealed == '\0')
        return SECRETBOX_ERR_FORMAT;
    int rc = keys ? oidc_tx_open(keys, state, sealed, tx) : SECRETBOX_ERR_AUTH;
    /* Only a cookie that names a key newer than the cache's current one, or
     * no key as earlier builds sealed them, can open with keys read now. */
    int64_t key_id = oidc_tx_key_id(sealed);
    if (rc == SECRETBOX_ERR_AUTH && (keys == NULL || key_id == 0 || key_id > keys->created)) {
        keys = oidc_login_keys_cached(st, now, 1);
        rc = keys ? oidc_tx_open(keys, state, sealed, tx) : SECRETBOX_ERR_FORMAT;
    }
    return rc;
}

/* Checks that the transaction is live and belongs to the responding issuer.
 * Returns 0, or -1 after replying. */
static int check_tx(callback *cb, const char *iss)
{
    if (cb->tx.expires < oidc_now()) {
        callback_fail(cb, 400, "Sign-in expired",
                      "This sign-in took too long and has expired. Please sign in again.",
                      "login transaction expired");
        return -1;
    }
    /* RFC 9207: an authorization response naming another issuer is a mix-up. */
    if (iss != NULL && !oidc_tx_issuer_is(&cb->tx, iss)) {
        callback_fail(cb, 400, "Sign-in failed",
                      "The response came from a different identity provider than the one the "
                      "sign-in started with.",
                      "iss in the authorization response does not match");
        return -1;
    }
    return 0;
}

/* Checks that the state was not used, and loads the account's current
 * settings. Returns 0, or -1 after replying. */
static int load(callback *cb)
{
    oidc_signin *s = cb->s;
    store_txn *t;
    if (store_read_begin(s->st->app->store, &t) != 0) {
        callback_fail(cb, 503, "Sign-in unavailable", "Please try again in a moment.", "store");
        return -1;
    }
    int used = oidc_tx_used(t, cb->state);
    int idp_rc = used == 0 ? oidc_idp_load(s->st, t, cb->tx.account, &s->idp) : -1;
    if (idp_rc == 0)
        oidc_account_settings_read(t, &s->st->cfg, cb->tx.account, &s->settings);
    store_read_end(t);
    if (used != 0) {
        callback_fail(cb, used == 1 ? 400 : 503,
                      used == 1 ? "Sign-in link used" : "Sign-in unavailable",
                      used == 1 ? "This sign-in was already completed. Please sign in again."
                                : "Please try again in a moment.",
                      used == 1 ? "login transaction replayed" : store_strerror(used));
        return -1;
    }
    if (oidc_idp_load_master_key_error(idp_rc)) {
        callback_fail(cb, 503, "Sign-in unavailable",
                      "Sign-in is unavailable right now because of a problem with this "
                      "service's configuration. Please try again later.",
                      oidc_idp_load_strerror(idp_rc));
        return -1;
    }
    if (idp_rc != 0 || !oidc_tx_issuer_is(&cb->tx, s->idp.issuer)) {
        callback_fail(cb, 400, "Sign-in not set up",
                      "Your organization's sign-in settings changed during the sign-in. Please "
                      "sign in again.",
                      "identity provider settings missing or changed");
        return -1;
    }
    if (cb->shared_path && !s->idp.shared_redirect_uri) {
        callback_fail(cb, 400, "Sign-in failed",
                      "The sign-in response arrived at an address that your organization does "
                      "not use. Please sign in again.",
                      "response at the shared redirect URI for an account with its own");
        return -1;
    }
    return 0;
}

/* Shows a fixed text for an error response: anyone can link to the callback
 * with any `error_description`, so the provider's wording goes to the log
 * only and never onto the page. */
/* Records a provider's error response in the audit log of the account
 * whose sign-in it ends, when this browser carries the login transaction
 * cookie of `state`, and deletes that cookie. Only an error code of
 * lower-case letters and '_' is recorded. */
static void audit_provider_error(http_req *r, oidc_state *st, const char *state,
                                 const char *error)
{
    oidc_tx tx;
    char cookie[32], reason[96];
    if (state == NULL || strlen(state) > 512 || open_tx(r, st, state, cookie, &tx) != 0)
        return;
    oidc_set_cookie(r, &st->cfg, cookie, "", 0, 1);
    int plain = strlen(error) <= 64 && strspn(error, "abcdefghijklmnopqrstuvwxyz_") ==
                                           strlen(error);
    snprintf(reason, sizeof reason, "the provider returned %s",
             plain ? error : "an invalid error code");
    oidc_audit_signin_failed(st, tx.account, NULL, NULL, reason, r->id);
    oidc_tx_clear(&tx);
}

static void provider_error(http_req *r, const char *error, const char *description)
{
    const char *text =
        strcmp(error, "access_denied") == 0
            ? "Your organization's identity provider did not allow this sign-in. If you should "
              "have access, ask your administrator to assign you to this application."
            : "Your organization's identity provider did not complete the sign-in. Please try "
              "again, or ask your administrator.";
    log_event(LOG_WARN, "sign-in failed at the provider", "request_id", r->id, "error", error,
              "description", description, NULL);
    oidc_page_message(r, 400, "Sign-in failed", text);
}

void oidc_handle_callback(http_req *r, void *arg)
{
    oidc_state *st = arg;
    const char *error = oidc_param(r, OIDC_P_ERROR), *state = oidc_param(r, OIDC_P_STATE);
    const char *code = oidc_param(r, OIDC_P_CODE), *iss = oidc_param(r, OIDC_P_ISS);

    if (error != NULL) {
        audit_provider_error(r, st, state, error);
        provider_error(r, error, oidc_param(r, OIDC_P_ERROR_DESCRIPTION));
        return;
    }
    if (state == NULL || code == NULL || strlen(state) > 512 || strlen(code) > 4096) {
        log_event(LOG_WARN, "callback without state or code", "request_id", r->id, NULL);
        oidc_page_message(r, 400, "Invalid sign-in response",
                          "The sign-in response is incomplete. Please sign in again.");
        return;
    }
    callback *cb = calloc(1, sizeof *cb);
    if (cb == NULL || (cb->s = oidc_signin_new(r, st)) == NULL) {
        free(cb);
        http_reply_text(r, 500, "out of memory\n");
        return;
    }
    cb->state = strdup(state);
    cb->code = strdup(code);
    cb->iss_missing = iss == NULL;
    cb->shared_path = r->nparams == 0;
    if (cb->state == NULL || cb->code == NULL) {
        callback_fail(cb, 500, "Sign-in failed", "Please try again.", "out of memory");
        return;
    }
    int rc = open_tx(r, st, state, cb->s->tx_cookie, &cb->tx);
    if (rc == SECRETBOX_ERR_NOMEM) {
        callback_fail(cb, 500, "Sign-in failed", "Please try again.", "out of memory");
        return;
    }
    if (rc != 0) {
        callback_fail(cb, 400, "Sign-in from another browser",
                      "This sign-in did not start in this browser, has expired, or its cookie "
                      "was blocked. Please sign in again from this browser.",
                      "unknown state: no valid login transaction cookie for it");
        return;
    }
    snprintf(r->account_id, sizeof r->account_id, "%s", cb->tx.account);
    snprintf(cb->s->idp.account, sizeof cb->s->idp.account, "%s", cb->tx.account);
    if (!cb->shared_path && strcmp(r->params[0], cb->tx.account) != 0) {
        char path_account[STORE_ID_LEN + 1];
        snprintf(path_account, sizeof path_account, "%s", r->params[0]);
        log_event(LOG_WARN,
                  "authorization response for one account arrived with the sign-in of another, "
                  "which a provider that mixes up accounts causes",
                  "request_id", r->id, "account", cb->tx.account, "path_account", path_account,
                  NULL);
        callback_fail(cb, 400, "Sign-in failed",
                      "The sign-in response was meant for another organization than the one "
                      "this sign-in started with. Please sign in again.",
                      "redirect URI names another account than the login transaction");
        return;
    }
    if (check_tx(cb, iss) != 0 || load(cb) != 0)
        return;
    cb->s->nonce = strdup(cb->tx.nonce);
    cb->s->target = strdup(cb->tx.target);
    if (!cb->s->nonce || !cb->s->target)
        callback_fail(cb, 500, "Sign-in failed", "Please try again.", "out of memory");
    else
        oidc_provider_get(st, cb->s->idp.issuer, on_provider, cb);
}
