/* Internal interface of the sign-in area: configuration, shared state in
 * app->oidc, and the helpers the endpoint files share. Not for other areas;
 * they use idp.h and session.h. */
#ifndef IDGATE_OIDC_OIDC_H
#define IDGATE_OIDC_OIDC_H

#include <stddef.h>
#include <stdint.h>

#include "client_addr.h"
#include "json.h"
#include "log.h"
#include "oidc/redirect.h"
#include "secretbox.h"
#include "store.h"

struct app;
struct conf;
struct http_req;

/* Default [oidc] login_starts_per_address. It is an estimate: sign-in starts
 * of a few hundred people behind one NAT address, spread over the first
 * minutes of a working day, stay below it. */
#define OIDC_DEFAULT_STARTS_PER_ADDRESS 60

/* Settings read from [oidc], [session] and [http] trusted_proxies; see
 * etc/idgate.ini. */
typedef struct oidc_config {
    const char *base_url;           /* no trailing slash */
    char self_origin[OIDC_ORIGIN_MAX];
    char **allowed_hosts;           /* extra issuer hosts ("host" or "host:port") */
    size_t nallowed_hosts;
    char **redirect_origins;        /* extra origins for target_link_uri */
    size_t nredirect_origins;
    long clock_skew;                /* seconds */
    long discovery_ttl;             /* seconds a discovery document is reused */
    long jwks_ttl;                  /* seconds a JWKS is reused */
    long jwks_min_refetch;          /* seconds between refetches on an unknown kid */
    long login_timeout;             /* seconds a login transaction lives */
    long starts_per_address;        /* sign-in starts per minute per client address; 0 off */
    client_addr_proxies trusted_proxies; /* [http] proxies whose X-Forwarded-For is believed */
    int form_post;                  /* default response_mode is form_post */
    unsigned algs;                  /* accepted ID token algorithms */
    int check_discovery;            /* idp set fetches discovery to validate */
    long absolute_lifetime;         /* [session] seconds */
    long idle_timeout;              /* [session] seconds */
    long recheck_interval;          /* [session] seconds between refresh-token checks */
    int cookie_secure;              /* [session] Secure cookies with the __Host- prefix */
} oidc_config;

/* Reads the configuration. Invalid values are recorded in `c` (conf_ok then
 * fails start-up). Returns 0, or -1 when out of memory. Free with
 * oidc_config_clear. */
int oidc_config_load(struct conf *c, oidc_config *out);
void oidc_config_clear(oidc_config *cfg);

/* 1 when `issuer` is an https URL on an allowed host, with no userinfo,
 * query or fragment; otherwise 0 with a sentence for an administrator in
 * `err`. */
int oidc_issuer_allowed(const oidc_config *cfg, const char *issuer, char *err, size_t errlen);

/* 1 when every endpoint of the discovery document `d` (authorization,
 * token, JWKS, end session) is on the issuer's origin or an allowed host,
 * so that a discovery document cannot send the client secret or the
 * browser to any other https host. Otherwise 0 with a sentence for an
 * administrator in `err`. */
struct oidc_discovery;
int oidc_endpoints_allowed(const oidc_config *cfg, const struct oidc_discovery *d, char *err,
                           size_t errlen);

/* Per-account sign-in settings from the account JSON ("settings"). */
typedef struct oidc_account_settings {
    int refresh_tokens;
    int provider_logout;
    int direct_id_token;
    int form_post;
    long absolute_lifetime;
    long idle_timeout;
} oidc_account_settings;

/* Reads the account's settings, with defaults from `cfg` for anything
 * absent or of the wrong type. Returns 0, STORE_NOTFOUND for an unknown
 * account, or a STORE_* error. */
int oidc_account_settings_read(store_txn *t, const oidc_config *cfg, const char *account,
                               oidc_account_settings *out);

/* Identity-provider settings of one account, decrypted for use. */
typedef struct oidc_idp {
    char account[40];
    char *issuer;
    char *client_id;
    char *client_secret;            /* wiped by oidc_idp_clear */
    int shared_redirect_uri;        /* 1 while the account is on OIDC_PATH_CALLBACK */
} oidc_idp;

/* Room for a redirect URI: base_url, the callback path and an account id.
 * NOTE: [server] base_url has no length limit, and a redirect URI longer
 * than this is cut short, so the provider would reject it. */
#define OIDC_REDIRECT_URI_MAX 2048

/* Writes the redirect URI of `account`: base_url OIDC_PATH_CALLBACK, and
 * "/" and the account id unless `shared`. */
void oidc_redirect_uri(const char *base_url, const char *account, int shared,
                       char out[OIDC_REDIRECT_URI_MAX]);

void oidc_idp_clear(oidc_idp *idp);

struct oidc_providers;

/* State in app->oidc. */
typedef struct oidc_state {
    struct app *app;
    oidc_config cfg;
    struct oidc_providers *providers;
    secretbox_key key;
    int key_state;                  /* 0 not loaded, 1 loaded, -1 failed */
    struct event *sweeper;
    struct oidc_recheck *rechecks;  /* session re-checks in flight (session_http.c) */
    struct oidc_login_keys *login_keys; /* cookie keys read from the store (login_keys.c) */
    int64_t login_keys_read_at;     /* when login_keys was read, seconds since the epoch */
    int64_t login_keys_reread_ms;   /* monotonic milliseconds of the last early reread */
    struct oidc_limit *failures;    /* audited sign-in failures per account (signin.c) */
    struct oidc_limit *address_starts; /* sign-in starts per client address (login.c) */
    log_throttle proxy_warnings;    /* warnings about an untrusted X-Forwarded-For sender */
} oidc_state;

oidc_state *oidc_get(struct app *a);

/* Returns the master key, loading it on first use. NULL when it is missing
 * or invalid; the reason is logged once. */
const secretbox_key *oidc_master_key(oidc_state *st);

/* Seals an ID token for storing in a session of `account`. Returns a
 * malloc'd box, or NULL (logged) without a master key or memory. */
char *oidc_id_token_seal(oidc_state *st, const char *account, const char *id_token);

/* Opens a stored ID token: a box from oidc_id_token_seal, or the plain
 * token that sessions stored before ID tokens were sealed. Returns a
 * malloc'd token or NULL. */
char *oidc_id_token_open(oidc_state *st, const char *account, const char *stored);

/* Seconds since the epoch. */
int64_t oidc_now(void);

/* Lower-cases ASCII in place and returns `s`. */
char *oidc_lower(char *s);

/* 1 when `s` may be sent as an HTTP header value: it contains no control
 * character (C0 such as CR and LF, or DEL). NULL counts as safe. */
int oidc_header_value_safe(const char *s);

/* Hex SHA-256 of a string, 64 characters and a NUL. */
void oidc_sha256_hex(const char *s, char out[65]);

/* A request parameter: the query string first, then a form body. */
const char *oidc_param(struct http_req *r, const char *name);

/* Cookie helpers. `name` is without the prefix. A max_age of 0 deletes. */
void oidc_cookie_name(const oidc_config *cfg, const char *name, char *out, size_t outlen);
void oidc_set_cookie(struct http_req *r, const oidc_config *cfg, const char *name,
                     const char *value, long max_age, int cross_site);
const char *oidc_get_cookie(struct http_req *r, const oidc_config *cfg, const char *name);

/* Finds the account whose email domain is claimed and verified. Returns 0
 * and copies the account id, or STORE_NOTFOUND. */
int oidc_account_by_email(store_txn *t, const char *email, char account[40]);

/* 1 when the account exists. */
int oidc_account_exists(store_txn *t, const char *account);

/* Errors of oidc_idp_load beside STORE_* codes: the service has no master
 * key, or the client secret does not open with its master key. */
#define OIDC_IDP_NO_MASTER_KEY (-100)
#define OIDC_IDP_WRONG_MASTER_KEY (-101)

/* Reads and decrypts the account's identity-provider settings. Returns 0,
 * STORE_NOTFOUND, OIDC_IDP_NO_MASTER_KEY, OIDC_IDP_WRONG_MASTER_KEY, or -1
 * for an incomplete record or a store error. Logs an incomplete record and
 * a secret that does not open. */
int oidc_idp_load(oidc_state *st, store_txn *t, const char *account, oidc_idp *out);

/* Returns a static phrase for the log that explains an oidc_idp_load error
 * and, for the master key, names its settings. */
const char *oidc_idp_load_strerror(int rc);

/* Returns 1 when an oidc_idp_load error is the service's master key, which
 * the operator must fix, rather than the account's settings. */
int oidc_idp_load_master_key_error(int rc);

#endif
