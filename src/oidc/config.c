#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "conf.h"
#include "crypto.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "oidc/jwks.h"
#include "oidc/oidc.h"
#include "oidc/oidc_const.h"
#include "oidc/provider.h"

/* Identity-provider hosts allowed without configuration: Okta's domains. */
static const char *const default_host_suffixes[] = {".okta.com", ".oktapreview.com",
                                                    ".okta-emea.com", ".okta-gov.com"};

static const char *const response_modes[] = {"query", "form_post", NULL};

/* Splits a comma- or space-separated list into malloc'd strings. */
static int split_list(const char *text, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (text == NULL)
        return 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',' || *p == ' ';
    char **items = calloc(cap, sizeof *items);
    if (items == NULL)
        return -1;
    const char *p = text;
    while (*p) {
        p += strspn(p, ", \t");
        size_t len = strcspn(p, ", \t");
        if (len == 0)
            break;
        items[*n] = strndup(p, len);
        if (items[*n] == NULL)
            return -1;
        (*n)++;
        p += len;
    }
    *out = items;
    return 0;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

static int load_lists(struct conf *c, oidc_config *cfg)
{
    if (split_list(conf_str(c, "oidc", "allowed_hosts", ""), &cfg->allowed_hosts,
                   &cfg->nallowed_hosts) != 0 ||
        split_list(conf_str(c, "oidc", "allowed_redirect_origins", ""), &cfg->redirect_origins,
                   &cfg->nredirect_origins) != 0)
        return -1;
    for (size_t i = 0; i < cfg->nredirect_origins; i++) {
        char norm[OIDC_ORIGIN_MAX];
        if (oidc_origin_normalize(cfg->redirect_origins[i], norm) != 0)
            conf_error(c, "oidc", "allowed_redirect_origins", cfg->redirect_origins[i],
                       "origins such as https://app.example.com, separated by commas");
    }
    return 0;
}

/* Reads [http] trusted_proxies. Returns 0, also for an invalid list, which
 * is recorded in `c` and trusts no proxy. Returns -1 when out of memory. */
static int load_trusted_proxies(struct conf *c, oidc_config *cfg)
{
    char err[160];
    const char *list = conf_str(c, "http", "trusted_proxies", "");
    if (client_addr_proxies_parse(list, &cfg->trusted_proxies, err, sizeof err) == 0)
        return 0;
    if (err[0] == '\0')
        return -1;
    char allowed[256];
    snprintf(allowed, sizeof allowed,
             "IPv4 or IPv6 addresses and CIDR blocks separated by commas, such as "
             "\"10.0.0.0/8, 127.0.0.1\". %s",
             err);
    conf_error(c, "http", "trusted_proxies", list, allowed);
    return 0;
}

int oidc_config_load(struct conf *c, oidc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->base_url = c->base_url;
    if (cfg->base_url == NULL || oidc_origin_normalize(cfg->base_url, cfg->self_origin) != 0) {
        /* base_url may carry a path; its origin is what targets compare to. */
        const char *rest = cfg->base_url ? strchr(cfg->base_url + 8, '/') : NULL;
        char origin[OIDC_ORIGIN_MAX] = "";
        if (rest != NULL && (size_t)(rest - cfg->base_url) < sizeof origin)
            snprintf(origin, sizeof origin, "%.*s", (int)(rest - cfg->base_url), cfg->base_url);
        if (oidc_origin_normalize(origin, cfg->self_origin) != 0)
            cfg->self_origin[0] = '\0';
    }
    if (load_lists(c, cfg) != 0)
        return -1;
    cfg->clock_skew = conf_duration(c, "oidc", "clock_skew", 60, 0, 600);
    cfg->discovery_ttl = conf_duration(c, "oidc", "discovery_cache", 3600, 0, 7 * 86400);
    cfg->jwks_ttl = conf_duration(c, "oidc", "jwks_cache", 3600, 0, 7 * 86400);
    cfg->jwks_min_refetch = conf_duration(c, "oidc", "jwks_min_refetch", 10, 0, 3600);
    cfg->login_timeout = conf_duration(c, "oidc", "login_timeout", 600, 30, 3600);
    cfg->starts_per_address = conf_int(c, "oidc", "login_starts_per_address",
                                       OIDC_DEFAULT_STARTS_PER_ADDRESS, 0, 1000000);
    if (load_trusted_proxies(c, cfg) != 0)
        return -1;
    cfg->form_post = conf_enum(c, "oidc", "response_mode", 0, response_modes) == 1;
    cfg->check_discovery = conf_bool(c, "oidc", "check_discovery", 1);

    const char *algs = conf_str(c, "oidc", "id_token_algs", "");
    const char *bad = NULL;
    cfg->algs = OIDC_ALG_ALL;
    if (*algs && (oidc_alg_list_parse(algs, &cfg->algs, &bad) != 0 || cfg->algs == 0))
        conf_error(c, "oidc", "id_token_algs", algs,
                   "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, separated by commas");

    cfg->absolute_lifetime = conf_duration(c, "session", "absolute_lifetime", 12 * 3600, 300,
                                           30 * 86400);
    cfg->idle_timeout = conf_duration(c, "session", "idle_timeout", 3600, 60, 30 * 86400);
    cfg->recheck_interval = conf_duration(c, "session", "recheck_interval", 900, 0, 86400);
    cfg->cookie_secure = conf_bool(c, "session", "cookie_secure", 1);
    return 0;
}

void oidc_config_clear(oidc_config *cfg)
{
    client_addr_proxies_clear(&cfg->trusted_proxies);
    free_list(cfg->allowed_hosts, cfg->nallowed_hosts);
    free_list(cfg->redirect_origins, cfg->nredirect_origins);
    memset(cfg, 0, sizeof *cfg);
}

static int host_matches(const oidc_config *cfg, const char *hostport, const char *host)
{
    size_t hlen = strlen(host);
    for (size_t i = 0; i < sizeof default_host_suffixes / sizeof default_host_suffixes[0]; i++) {
        const char *suffix = default_host_suffixes[i];
        size_t slen = strlen(suffix);
        /* A port on a default host is allowed only when it is the https default. */
        if (hlen > slen && strcmp(host + hlen - slen, suffix) == 0 && strcmp(host, hostport) == 0)
            return 1;
    }
    for (size_t i = 0; i < cfg->nallowed_hosts; i++) {
        const char *allowed = cfg->allowed_hosts[i];
        if (strcasecmp(allowed, hostport) == 0)
            return 1;
        /* "*.example.com" allows every subdomain of example.com on port 443. */
        if (allowed[0] == '*' && allowed[1] == '.' && strcmp(host, hostport) == 0) {
            size_t slen = strlen(allowed + 1);
            if (hlen > slen && strcasecmp(host + hlen - slen, allowed + 1) == 0)
                return 1;
        }
    }
    return 0;
}

int oidc_issuer_allowed(const oidc_config *cfg, const char *issuer, char *err, size_t errlen)
{
    if (strncmp(issuer, "https://", 8) != 0) {
        snprintf(err, errlen, "the issuer must be an https URL (for example "
                              "https://example.okta.com/oauth2/default)");
        return 0;
    }
    const char *auth = issuer + 8;
    size_t alen = strcspn(auth, "/?#");
    if (auth[alen] == '?' || auth[alen] == '#' || strchr(auth, '?') || strchr(auth, '#')) {
        snprintf(err, errlen, "the issuer must not contain a query or fragment");
        return 0;
    }
    char hostport[256];
    if (alen == 0 || alen >= sizeof hostport || memchr(auth, '@', alen) != NULL) {
        snprintf(err, errlen, "the issuer has no valid host name");
        return 0;
    }
    for (size_t i = 0; i < alen; i++)
        hostport[i] = (char)tolower((unsigned char)auth[i]);
    hostport[alen] = '\0';
    for (const char *p = issuer; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\') {
            snprintf(err, errlen, "the issuer contains a space, backslash or control character");
            return 0;
        }
    }
    char host[256];
    snprintf(host, sizeof host, "%s", hostport);
    char *colon = strrchr(host, ':');
    if (colon != NULL && strchr(host, ']') == NULL)
        *colon = '\0';
    if (colon != NULL && strcmp(colon + 1, "443") == 0)
        snprintf(hostport, sizeof hostport, "%s", host);
    if (!host_matches(cfg, hostport, host)) {
        snprintf(err, errlen,
                 "the issuer host %s is not an allowed identity provider; Okta domains "
                 "(*.okta.com, *.oktapreview.com, *.okta-emea.com, *.okta-gov.com) are allowed, "
                 "and the operator can allow more with [oidc] allowed_hosts",
                 hostport);
        return 0;
    }
    return 1;
}

/* 1 when `url` is on the issuer's origin or on an allowed host. */
static int endpoint_allowed(const oidc_config *cfg, const char *issuer, const char *url)
{
    char origin[OIDC_ORIGIN_MAX], issuer_origin[OIDC_ORIGIN_MAX], host[OIDC_ORIGIN_MAX];
    if (oidc_origin_of(url, origin) != 0 || strncmp(origin, "https://", 8) != 0)
        return 0;
    if (oidc_origin_of(issuer, issuer_origin) == 0 && strcmp(origin, issuer_origin) == 0)
        return 1;
    const char *hostport = origin + 8;
    snprintf(host, sizeof host, "%s", hostport);
    char *colon = strrchr(host, ':');
    if (colon != NULL && strchr(colon, ']') == NULL)
        *colon = '\0';
    return host_matches(cfg, hostport, host);
}

int oidc_endpoints_allowed(const oidc_config *cfg, const oidc_discovery *d, char *err,
                           size_t errlen)
{
    const struct {
        const char *name;
        const char *url;
    } endpoints[] = {
        {OIDC_D_AUTHORIZATION, d->authorization_endpoint},
        {OIDC_D_TOKEN, d->token_endpoint},
        {OIDC_D_JWKS, d->jwks_uri},
        {OIDC_D_END_SESSION, d->end_session_endpoint},
    };
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        if (endpoints[i].url == NULL || endpoint_allowed(cfg, d->issuer, endpoints[i].url))
            continue;
        snprintf(err, errlen,
                 "the provider's %s is on a host that is neither the issuer's nor an allowed "
                 "identity provider host; the operator can allow it with [oidc] allowed_hosts",
                 endpoints[i].name);
        return 0;
    }
    return 1;
}

static int setting_bool(const json *settings, const char *key, int def)
{
    const json *v = json_object_get(settings, key);
    return json_typeof(v) == JSON_BOOL ? json_bool_value(v) : def;
}

static long setting_seconds(const json *settings, const char *key, long def)
{
    const json *v = json_object_get(settings, key);
    if (v == NULL || !json_is_integer(v) || json_int_value(v) < 60 ||
        json_int_value(v) > 365L * 86400)
        return def;
    return (long)json_int_value(v);
}

int oidc_account_settings_read(store_txn *t, const oidc_config *cfg, const char *account,
                               oidc_account_settings *out)
{
    store_val v;
    memset(out, 0, sizeof *out);
    out->form_post = cfg->form_post;
    out->absolute_lifetime = cfg->absolute_lifetime;
    out->idle_timeout = cfg->idle_timeout;
    int rc = store_get(t, T_ACCOUNTS, account, strlen(account), &v);
    if (rc != 0)
        return rc;
    json *acc = json_parse(v.data, v.len, NULL, 0);
    if (acc == NULL)
        return STORE_IO;
    const json *s = json_object_get(acc, "settings");
    if (json_typeof(s) == JSON_OBJECT) {
        out->refresh_tokens = setting_bool(s, OIDC_S_REFRESH, 0);
        out->provider_logout = setting_bool(s, OIDC_S_PROVIDER_LOGOUT, 0);
        out->direct_id_token = setting_bool(s, OIDC_S_DIRECT_ID_TOKEN, 0);
        out->form_post = setting_bool(s, OIDC_S_FORM_POST, out->form_post);
        const char *mode = json_get_string(s, OIDC_S_RESPONSE_MODE);
        if (mode != NULL && strcmp(mode, "form_post") == 0)
            out->form_post = 1;
        else if (mode != NULL && strcmp(mode, "query") == 0)
            out->form_post = 0;
        out->absolute_lifetime = setting_seconds(s, OIDC_S_ABSOLUTE, out->absolute_lifetime);
        out->idle_timeout = setting_seconds(s, OIDC_S_IDLE, out->idle_timeout);
    }
    json_free(acc);
    return 0;
}

int oidc_account_exists(store_txn *t, const char *account)
{
    store_val v;
    size_t len = strlen(account);
    return len == STORE_ID_LEN && store_get(t, T_ACCOUNTS, account, len, &v) == 0;
}

int oidc_account_by_email(store_txn *t, const char *email, char account[40])
{
    const char *at = email ? strrchr(email, '@') : NULL;
    if (at == NULL || at[1] == '\0' || strlen(at + 1) > 253)
        return STORE_NOTFOUND;
    char domain[256];
    snprintf(domain, sizeof domain, "%s", at + 1);
    oidc_lower(domain);
    store_val v;
    int rc = store_get(t, T_DOMAINS, domain, strlen(domain), &v);
    if (rc != 0)
        return rc;
    json *d = json_parse(v.data, v.len, NULL, 0);
    const char *acc = json_get_string(d, "account");
    const json *verified = json_object_get(d, "verified");
    rc = STORE_NOTFOUND;
    if (acc != NULL && strlen(acc) == STORE_ID_LEN && json_typeof(verified) == JSON_BOOL &&
        json_bool_value(verified)) {
        memcpy(account, acc, STORE_ID_LEN + 1);
        rc = 0;
    }
    json_free(d);
    return rc;
}

char *oidc_id_token_seal(oidc_state *st, const char *account, const char *id_token)
{
    char aad[64], *box = NULL;
    const secretbox_key *key = oidc_master_key(st);
    snprintf(aad, sizeof aad, "%s%s", OIDC_AAD_ID_TOKEN, account);
    if (key == NULL || secretbox_seal(key, aad, id_token, strlen(id_token), &box) != 0) {
        log_event(LOG_WARN, "ID token not kept for the logout hint", "account", account, NULL);
        return NULL;
    }
    return box;
}

char *oidc_id_token_open(oidc_state *st, const char *account, const char *stored)
{
    char aad[64];
    uint8_t *plain = NULL;
    size_t len;
    if (stored == NULL || *stored == '\0')
        return NULL;
    if (strncmp(stored, SECRETBOX_PREFIX, strlen(SECRETBOX_PREFIX)) != 0)
        return strdup(stored);
    const secretbox_key *key = oidc_master_key(st);
    snprintf(aad, sizeof aad, "%s%s", OIDC_AAD_ID_TOKEN, account);
    if (key == NULL || secretbox_open(key, aad, stored, &plain, &len) != 0)
        return NULL;
    return (char *)plain;
}

oidc_state *oidc_get(struct app *a)
{
    return a->oidc;
}

const secretbox_key *oidc_master_key(oidc_state *st)
{
    if (st->key_state == 0) {
        char err[512];
        if (secretbox_key_load(st->app->conf, &st->key, err, sizeof err) == 0) {
            st->key_state = 1;
        } else {
            st->key_state = -1;
            log_event(LOG_ERROR, "master key unavailable", "error", err, NULL);
        }
    }
    return st->key_state == 1 ? &st->key : NULL;
}

int64_t oidc_now(void)
{
    return (int64_t)time(NULL);
}

char *oidc_lower(char *s)
{
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

int oidc_header_value_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

void oidc_sha256_hex(const char *s, char out[65])
{
    uint8_t h[32];
    crypto_sha256(s, strlen(s), h);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

const char *oidc_param(struct http_req *r, const char *name)
{
    const char *v = http_query(r, name);
    if (v == NULL && r->method == HTTP_POST)
        v = http_form(r, name);
    return v;
}

void oidc_cookie_name(const oidc_config *cfg, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", cfg->cookie_secure ? "__Host-" : "", name);
}

void oidc_set_cookie(struct http_req *r, const oidc_config *cfg, const char *name,
                     const char *value, long max_age, int cross_site)
{
    char full[128];
    oidc_cookie_name(cfg, name, full, sizeof full);
    /* SameSite=None (needed for a cross-site form_post) requires Secure. */
    const char *same_site = cross_site && cfg->cookie_secure ? "None" : "Lax";
    /* A sealed login transaction makes the value up to a few kilobytes long. */
    size_t size = strlen(full) + (max_age > 0 ? strlen(value) : 0) + 128;
    char *line = malloc(size);
    if (line == NULL) {
        log_event(LOG_ERROR, "cookie not set: out of memory", "cookie", full, NULL);
        return;
    }
    snprintf(line, size, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=%s%s", full,
             max_age > 0 ? value : "", max_age > 0 ? max_age : 0, same_site,
             cfg->cookie_secure ? "; Secure" : "");
    http_set_header(r, "Set-Cookie", line);
    free(line);
}

const char *oidc_get_cookie(struct http_req *r, const oidc_config *cfg, const char *name)
{
    char full[128];
    oidc_cookie_name(cfg, name, full, sizeof full);
    return http_cookie(r, full);
}
