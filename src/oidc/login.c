/* GET|POST /auth/okta: starts a sign-in, either from this service (with
 * `account` or `login_hint`) or from the identity provider's dashboard (with
 * `iss`, as OpenID Connect Core section 4 describes), and sets a cookie with
 * the sealed login transaction before sending the browser to the
 * authorization endpoint. Starting a sign-in stores nothing, so anonymous
 * requests cannot fill the store or use up a limit that real users share. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "app.h"
#include "client_addr.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "oidc/endpoints.h"
#include "oidc/idp.h"
#include "oidc/limit.h"
#include "oidc/login_keys.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"
#include "oidc/provider.h"
#include "oidc/signin.h"
#include "oidc/tx.h"

typedef struct login {
    http_req *r;
    oidc_state *st;
    char account[40];
    char *issuer;
    char *client_id;
    char *login_hint;
    char *target;
    oidc_account_settings settings;
    int shared_redirect_uri;        /* the account is still on OIDC_PATH_CALLBACK */
    char *state;
    char *sealed;                   /* cookie value: the sealed transaction */
    oidc_tx tx;
    oidc_login_keys keys;           /* read or created by a write job when not cached */
    char *location;
    char client[CLIENT_ADDR_KEY_MAX]; /* limit key of the client address, "" until known */
} login;

static void login_free(login *l)
{
    if (l->r)
        http_req_release(l->r);
    free(l->issuer);
    free(l->client_id);
    free(l->login_hint);
    free(l->target);
    free(l->state);
    free(l->sealed);
    free(l->location);
    oidc_tx_clear(&l->tx);
    oidc_login_keys_wipe(&l->keys);
    free(l);
}

static void login_fail(login *l, int status, const char *title, const char *text,
                       const char *why)
{
    log_event(LOG_WARN, "sign-in not started", "request_id", l->r->id, "account",
              l->account[0] ? l->account : NULL, "client", l->client[0] ? l->client : NULL,
              "reason", why, NULL);
    oidc_audit_signin_failed(l->st, l->account, NULL, NULL, why, l->r->id);
    if (http_req_alive(l->r))
        oidc_page_message(l->r, status, title, text);
    login_free(l);
}

static void add_param(struct evbuffer *b, int *first, const char *name, const char *value)
{
    char *enc = http_urlencode(value);
    evbuffer_add_printf(b, "%c%s=%s", *first ? '?' : '&', name, enc ? enc : "");
    *first = 0;
    free(enc);
}

static char *pkce_challenge(const char *verifier)
{
    uint8_t h[32];
    crypto_sha256(verifier, strlen(verifier), h);
    return crypto_b64url(h, sizeof h);
}

/* Builds the authorization request URL (RFC 6749 4.1.1, RFC 7636 4.3). */
static char *authorization_url(login *l, const oidc_discovery *d)
{
    struct evbuffer *b = evbuffer_new();
    char *challenge = pkce_challenge(l->tx.verifier);
    char redirect[OIDC_REDIRECT_URI_MAX];
    int first = strchr(d->authorization_endpoint, '?') == NULL;
    char *out = NULL;

    if (b == NULL || challenge == NULL)
        goto out;
    oidc_redirect_uri(l->st->cfg.base_url, l->account, l->shared_redirect_uri, redirect);
    evbuffer_add_printf(b, "%s", d->authorization_endpoint);
    add_param(b, &first, "response_type", "code");
    add_param(b, &first, "client_id", l->client_id);
    add_param(b, &first, "redirect_uri", redirect);
    add_param(b, &first, "scope",
              l->settings.refresh_tokens ? OIDC_SCOPE " " OIDC_SCOPE_OFFLINE : OIDC_SCOPE);
    add_param(b, &first, "state", l->state);
    add_param(b, &first, "nonce", l->tx.nonce);
    add_param(b, &first, "code_challenge", challenge);
    add_param(b, &first, "code_challenge_method", "S256");
    if (l->settings.form_post)
        add_param(b, &first, "response_mode", "form_post");
    if (l->login_hint && *l->login_hint)
        add_param(b, &first, "login_hint", l->login_hint);
    size_t len = evbuffer_get_length(b);
    out = malloc(len + 1);
    if (out) {
        evbuffer_remove(b, out, len);
        out[len] = '\0';
    }
out:
    if (b)
        evbuffer_free(b);
    free(challenge);
    return out;
}

/* Draws of a state whose cookie slot the browser does not use yet. With one
 * free slot of 6, all draws miss with a probability of (5/6)^64, about 1e-5,
 * and the sign-in then replaces the cookie of an unfinished one. */
#define STATE_DRAWS 64

static void expire_legacy_tx_cookie(login *l, const char *digits)
{
    char name[32];
    snprintf(name, sizeof name, "%s%.8s", OIDC_COOKIE_TX, digits);
    oidc_set_cookie(l->r, &l->st->cfg, name, "", 0, 1);
}

/* Returns a bit mask of the cookie slots that the request's Cookie header
 * uses (bit i for slot i). Expires each transaction cookie that carries 8
 * hex digits, as earlier builds named them, because such cookies only take
 * room in the browser's Cookie header line after an upgrade. */
static unsigned scan_tx_cookies(login *l)
{
    char prefix[64];
    const char *header = http_header(l->r, "Cookie");
    unsigned used = 0;
    oidc_cookie_name(&l->st->cfg, OIDC_COOKIE_TX, prefix, sizeof prefix);
    size_t plen = strlen(prefix);
    for (const char *p = header; p != NULL && *p;) {
        p += strspn(p, " ;");
        size_t len = strcspn(p, ";");
        if (len > plen + 1 && strncmp(p, prefix, plen) == 0) {
            const char *suffix = p + plen;
            if (suffix[0] >= '0' && suffix[0] < '0' + OIDC_TX_SLOTS && suffix[1] == '=')
                used |= 1u << (suffix[0] - '0');
            else if (strspn(suffix, "0123456789abcdef") == 8 && suffix[8] == '=')
                expire_legacy_tx_cookie(l, suffix);
        }
        p += len;
    }
    return used;
}

/* Draws a random state, preferring one whose cookie slot is not in `used`.
 * Returns a malloc'd state, or NULL when out of memory. */
static char *draw_state(login *l, unsigned used)
{
    unsigned all = (1u << OIDC_TX_SLOTS) - 1;
    for (int i = 1;; i++) {
        char *state = crypto_token("", 32);
        if (state == NULL)
            return NULL;
        unsigned slot = 1u << oidc_tx_slot(state);
        if (!(used & slot))
            return state;
        if ((used & all) == all || i == STATE_DRAWS) {
            log_event(LOG_INFO,
                      "browser holds the maximum number of unfinished sign-ins; the new one "
                      "replaces one of them",
                      "request_id", l->r->id, "account", l->account, NULL);
            return state;
        }
        free(state);
    }
}

/* Seals the transaction into its cookie and sends the browser to the
 * provider. */
static void redirect_with_cookie(login *l, const oidc_login_keys *keys)
{
    char cookie[32];
    int rc = oidc_tx_seal(keys, l->state, &l->tx, &l->sealed);
    if (rc != 0) {
        login_fail(l, 500, "Sign-in unavailable", "The sign-in could not be started.",
                   secretbox_strerror(rc));
        return;
    }
    if (strlen(l->sealed) > OIDC_TX_SEALED_MAX) {
        login_fail(l, 400, "Invalid sign-in link",
                   "This sign-in link is too long. Sign in from the start page of the service "
                   "instead.",
                   "sealed login transaction too long for a cookie");
        return;
    }
    oidc_tx_cookie_name(l->state, cookie);
    oidc_set_cookie(l->r, &l->st->cfg, cookie, l->sealed, l->st->cfg.login_timeout, 1);
    oidc_security_headers(l->r);
    log_event(LOG_INFO, "sign-in started", "request_id", l->r->id, "account", l->account, NULL);
    http_redirect(l->r, 302, l->location);
    login_free(l);
}

/* Runs on the store's writer thread. oidc_master_key only reads there,
 * because oidc_routes loaded the key on the loop thread at start-up. */
static int update_keys_job(store_txn *t, void *arg)
{
    login *l = arg;
    return oidc_login_keys_update(t, oidc_master_key(l->st), oidc_now(), &l->keys);
}

static void on_keys_updated(int rc, void *arg)
{
    login *l = arg;
    if (!http_req_alive(l->r)) {
        login_free(l);
        return;
    }
    if (rc == 0 && oidc_login_keys_cache(l->st, &l->keys, oidc_now()) == 0) {
        redirect_with_cookie(l, &l->keys);
        return;
    }
    /* A key that is due still works, so a failed replacement only delays it. */
    if (l->st->login_keys != NULL) {
        log_event(LOG_WARN, "replacing the sign-in cookie key failed, so the current key stays in use",
                  "request_id", l->r->id, "error", rc != 0 ? store_strerror(rc) : "out of memory",
                  NULL);
        redirect_with_cookie(l, l->st->login_keys);
        return;
    }
    login_fail(l, 503, "Sign-in unavailable",
               "The sign-in could not be started. Please try again in a moment.",
               rc != 0 ? store_strerror(rc) : "out of memory");
}

/* Seals with the cached keys, or first creates or replaces the keys in a
 * write job when there are none yet or the current key is due. That job
 * runs for the first start in a new store and then about once a day, so
 * sign-in starts do not write to the store. */
static void seal_and_redirect(login *l)
{
    int64_t now = oidc_now();
    const oidc_login_keys *keys = oidc_login_keys_cached(l->st, now, 0);
    if (keys != NULL && !oidc_login_keys_due(keys, now)) {
        redirect_with_cookie(l, keys);
        return;
    }
    if (store_submit(l->st->app->store, update_keys_job, on_keys_updated, l) != 0)
        login_fail(l, 503, "Sign-in unavailable", "The service is restarting. Please try again.",
                   "store closed");
}

/* Returns the target to keep in the transaction: "" (the start page) when
 * the requested one is longer than OIDC_TX_TARGET_MAX, so that every
 * transaction cookie stays small. */
static const char *kept_target(login *l)
{
    if (l->target == NULL || strlen(l->target) <= OIDC_TX_TARGET_MAX)
        return l->target ? l->target : "";
    char length[24];
    snprintf(length, sizeof length, "%zu", strlen(l->target));
    log_event(LOG_INFO, "sign-in target too long to keep, so the sign-in ends on the start page",
              "request_id", l->r->id, "account", l->account, "length", length, "max",
              OIDC_TX_TARGET_MAX_TEXT, NULL);
    return "";
}

static int make_tx(login *l)
{
    l->state = draw_state(l, scan_tx_cookies(l));
    l->tx.nonce = crypto_token("", 32);
    l->tx.verifier = crypto_token("", 32);
    oidc_tx_set_issuer(&l->tx, l->issuer);
    l->tx.target = strdup(kept_target(l));
    if (!l->state || !l->tx.nonce || !l->tx.verifier || !l->tx.target)
        return -1;
    memcpy(l->tx.account, l->account, sizeof l->account);
    l->tx.expires = oidc_now() + l->st->cfg.login_timeout;
    return 0;
}

/* Applies [oidc] login_starts_per_address, a per-minute limit for each
 * client address. Behind a reverse proxy the client address comes from
 * X-Forwarded-For only when [http] trusted_proxies lists the proxy;
 * otherwise every client counts as the proxy's address. */
static int address_allowed(login *l)
{
    oidc_state *st = l->st;
    client_addr client;
    if (st->cfg.starts_per_address <= 0 ||
        client_addr_of_request(l->r, &st->cfg.trusted_proxies, &client) != 0)
        return 1;
    client_addr_limit_key(&client, l->client);
    if (st->address_starts == NULL) {
        st->address_starts = oidc_limit_new(60, (unsigned)st->cfg.starts_per_address, UINT_MAX);
        if (st->address_starts != NULL)
            oidc_limit_allow_untracked(st->address_starts);
    }
    return st->address_starts == NULL ||
           oidc_limit_take(st->address_starts, l->client, oidc_now());
}

/* Seconds between warnings about a peer that sends X-Forwarded-For without
 * being a trusted proxy. */
#define PROXY_WARNING_INTERVAL 60

/* Logs, at most once per PROXY_WARNING_INTERVAL, that the per-address limit
 * rejected a start from a peer that sent X-Forwarded-For but is not listed
 * in [http] trusted_proxies. Such a peer is often a reverse proxy, and then
 * all of its clients share one limit. */
static void warn_untrusted_proxy(login *l)
{
    oidc_state *st = l->st;
    const char *peer = http_peer(l->r);
    client_addr addr;
    if (http_header(l->r, "X-Forwarded-For") == NULL || peer == NULL ||
        client_addr_parse(peer, &addr) != 0 ||
        client_addr_trusted(&st->cfg.trusted_proxies, &addr))
        return;
    char skipped[24];
    if (!log_throttle_allow(&st->proxy_warnings, oidc_now(), PROXY_WARNING_INTERVAL, skipped))
        return;
    log_event(LOG_WARN,
              "sign-in start limit reached for a peer that sent X-Forwarded-For but is not a "
              "trusted proxy, so all its clients share one limit",
              "request_id", l->r->id, "peer", peer, "fix",
              "add the peer to [http] trusted_proxies if it is a reverse proxy", "not_logged",
              skipped, NULL);
}

static void on_provider(oidc_provider *p, const char *error, void *arg)
{
    login *l = arg;
    if (!http_req_alive(l->r)) {
        login_free(l);
        return;
    }
    if (error != NULL) {
        login_fail(l, 502, "Identity provider unavailable",
                   "Your organization's identity provider could not be reached. Please try "
                   "again in a moment.",
                   error);
        return;
    }
    if (!address_allowed(l)) {
        warn_untrusted_proxy(l);
        login_fail(l, 429, "Too many sign-ins",
                   "Too many sign-ins were started from your network in the last minute. "
                   "Please try again later.",
                   "too many sign-ins started from the client address");
        return;
    }
    if (make_tx(l) != 0 || (l->location = authorization_url(l, oidc_provider_discovery(p))) == NULL) {
        login_fail(l, 500, "Sign-in unavailable", "The sign-in could not be started.",
                   "out of memory");
        return;
    }
    seal_and_redirect(l);
}

/* Finds the account from `iss`, `account` or `login_hint`, in that order.
 * Returns 0, or -1 after replying. */
static int resolve_account(login *l, store_txn *t, const char *iss, const char *account)
{
    if (iss != NULL) {
        if (oidc_idp_account_by_issuer(t, iss, l->account) != 0) {
            login_fail(l, 400, "Unknown identity provider",
                       "This sign-in link names an identity provider that is not connected to "
                       "this service. Ask your administrator to check the application's "
                       "settings.",
                       "iss matches no account");
            return -1;
        }
        return 0;
    }
    if (account != NULL) {
        if (!oidc_account_exists(t, account)) {
            login_fail(l, 400, "Unknown organization",
                       "This sign-in link names an organization that does not exist.",
                       "unknown account");
            return -1;
        }
        snprintf(l->account, sizeof l->account, "%s", account);
        return 0;
    }
    if (oidc_account_by_email(t, l->login_hint, l->account) != 0) {
        login_fail(l, 400, "Unknown organization",
                   "No organization has claimed the domain of this email address. Check the "
                   "address, or ask your administrator.",
                   "login_hint domain is not claimed");
        return -1;
    }
    return 0;
}

/* Reads everything the login needs in one read transaction. Returns 0, or
 * -1 after replying. */
static int load_account(login *l, const char *iss, const char *account)
{
    store_txn *t;
    oidc_idp idp;
    if (store_read_begin(l->st->app->store, &t) != 0) {
        login_fail(l, 503, "Sign-in unavailable", "Please try again in a moment.", "store");
        return -1;
    }
    int rc = resolve_account(l, t, iss, account);
    int idp_rc = rc == 0 ? oidc_idp_load(l->st, t, l->account, &idp) : 0;
    if (oidc_idp_load_master_key_error(idp_rc)) {
        login_fail(l, 503, "Sign-in unavailable",
                   "Sign-in is unavailable right now because of a problem with this service's "
                   "configuration. Please try again later.",
                   oidc_idp_load_strerror(idp_rc));
        rc = -1;
    } else if (idp_rc != 0) {
        login_fail(l, 400, "Sign-in not set up",
                   "Your organization has not finished setting up sign-in. Ask your "
                   "administrator to connect the identity provider.",
                   oidc_idp_load_strerror(idp_rc));
        rc = -1;
    }
    if (rc == 0) {
        l->issuer = idp.issuer;
        l->client_id = idp.client_id;
        l->shared_redirect_uri = idp.shared_redirect_uri;
        idp.issuer = idp.client_id = NULL;
        oidc_idp_clear(&idp);
        oidc_account_settings_read(t, &l->st->cfg, l->account, &l->settings);
    }
    store_read_end(t);
    return rc;
}

static int check_target(login *l, const char *target)
{
    const char *reason;
    const oidc_config *cfg = &l->st->cfg;
    if (oidc_target_check(target, cfg->self_origin, (const char *const *)cfg->redirect_origins,
                          cfg->nredirect_origins, &reason) != 0) {
        login_fail(l, 400, "Invalid sign-in link",
                   "This sign-in link asks to continue at an address outside this service, so "
                   "it was rejected.",
                   reason);
        return -1;
    }
    return 0;
}

void oidc_handle_initiate(http_req *r, void *arg)
{
    oidc_state *st = arg;
    if (r->method == HTTP_POST && http_form(r, OIDC_P_ID_TOKEN) != NULL) {
        oidc_handle_direct_token(r, st);
        return;
    }
    const char *iss = oidc_param(r, OIDC_P_ISS), *account = oidc_param(r, OIDC_P_ACCOUNT);
    const char *hint = oidc_param(r, OIDC_P_LOGIN_HINT), *target = oidc_param(r, OIDC_P_TARGET);
    if (iss == NULL && account == NULL && (hint == NULL || *hint == '\0')) {
        oidc_security_headers(r);
        http_redirect(r, 302, OIDC_PATH_SIGNIN);
        return;
    }
    login *l = calloc(1, sizeof *l);
    if (l == NULL) {
        http_reply_text(r, 500, "out of memory\n");
        return;
    }
    l->r = r;
    l->st = st;
    http_req_hold(r);
    l->login_hint = hint ? strndup(hint, 320) : NULL;
    l->target = target ? strdup(target) : NULL;
    if (check_target(l, target) != 0 || load_account(l, iss, account) != 0)
        return;
    snprintf(r->account_id, sizeof r->account_id, "%s", l->account);
    oidc_provider_get(st, l->issuer, on_provider, l);
}
