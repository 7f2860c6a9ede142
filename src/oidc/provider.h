/* Discovery documents and JWKS of identity providers, fetched with the
 * outbound HTTP client and cached per issuer.
 *
 * A discovery document is reused for [oidc] discovery_cache seconds and a
 * JWKS for [oidc] jwks_cache seconds. A token with an unknown `kid` may
 * trigger a refetch of the JWKS, at most once per [oidc] jwks_min_refetch
 * seconds per issuer, so random kids cannot cause a fetch storm. A refetched
 * set replaces the old one entirely: keys that left it stop being trusted.
 * When a refresh of an expired entry fails, the old entry keeps serving and
 * the failure is logged.
 */
#ifndef IDGATE_OIDC_PROVIDER_H
#define IDGATE_OIDC_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "oidc/jwks.h"
#include "oidc/oidc.h"

typedef struct oidc_discovery {
    char *issuer;
    char *authorization_endpoint;
    char *token_endpoint;
    char *jwks_uri;
    char *end_session_endpoint;     /* NULL when the provider has none */
    int secret_post_only;           /* supports client_secret_post but not client_secret_basic */
    int iss_parameter;              /* sends `iss` in authorization responses (RFC 9207) */
} oidc_discovery;

void oidc_discovery_clear(oidc_discovery *d);

/* The discovery URL of an issuer: the issuer without a trailing "/" plus
 * "/.well-known/openid-configuration". Malloc'd, or NULL. */
char *oidc_discovery_url(const char *issuer);

/* Parses a discovery document and checks it against `issuer`: `issuer` must
 * match exactly, and the authorization, token and JWKS endpoints must be
 * https URLs. On failure returns -1 with a sentence an administrator can act
 * on in `err` (a trailing-slash difference is named as such). */
int oidc_discovery_parse(const char *issuer, const char *text, size_t len, oidc_discovery *out,
                         char *err, size_t errlen);

typedef struct oidc_provider oidc_provider;

/* Cached metadata; borrowed, valid until oidc_providers_free (entries are
 * never removed while the service runs, but their contents change when
 * refreshed, so copy what must survive a callback). */
const oidc_discovery *oidc_provider_discovery(const oidc_provider *p);
const oidc_jwks *oidc_provider_jwks(const oidc_provider *p);

/* Runs with the provider, or with `error` set (a sentence for logs and
 * pages, without secrets) when nothing usable is cached. */
typedef void (*oidc_provider_cb)(oidc_provider *p, const char *error, void *arg);

/* Gets the provider of `issuer` with fresh discovery metadata. `cb` runs
 * exactly once: immediately when the cache is fresh, else after the fetch.
 * The caller must check that any request it serves is still alive. */
void oidc_provider_get(oidc_state *st, const char *issuer, oidc_provider_cb cb, void *arg);

/* Ensures the JWKS is loaded and fresh; with `refetch` 1 (the token had an
 * unknown kid) also refetches unless the last fetch is more recent than
 * [oidc] jwks_min_refetch. `cb` runs exactly once, immediately when nothing
 * needs fetching. */
void oidc_provider_keys(oidc_state *st, oidc_provider *p, int refetch, oidc_provider_cb cb,
                        void *arg);

void oidc_providers_free(oidc_state *st);

#endif
