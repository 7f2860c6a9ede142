/* ID token validation as OpenID Connect Core 1.0 section 3.1.3.7 describes.
 *
 * The signature algorithm is taken from the token header only after it is
 * checked against the accepted list (RS256/384/512, PS256/384/512,
 * ES256/384) and against the type, curve and `alg` of the JWKS key the `kid`
 * names; "none" and HMAC algorithms never validate. The issuer is compared
 * byte for byte with the configured one.
 */
#ifndef IDGATE_OIDC_IDTOKEN_H
#define IDGATE_OIDC_IDTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "oidc/jwks.h"

/* Largest ID token accepted, in bytes. */
#define OIDC_IDTOKEN_MAX 16384

/* Results. Every failure also sets a reason phrase for the log. */
#define OIDC_IDT_OK 0
#define OIDC_IDT_INVALID (-1)      /* the token is malformed or fails a check */
#define OIDC_IDT_UNKNOWN_KID (-2)  /* no key has the token's kid: refetch the JWKS once */
#define OIDC_IDT_NOMEM (-3)

typedef struct oidc_idtoken_params {
    const char *issuer;         /* expected `iss`, exactly */
    const char *client_id;      /* must be in `aud`; `azp` must equal it when present */
    const char *nonce;          /* expected `nonce`; NULL when the flow sent none */
    int64_t now;                /* seconds since the epoch */
    long skew;                  /* seconds of clock skew tolerated on exp, iat and nbf */
    unsigned algs;              /* accepted oidc_alg bits; 0 means OIDC_ALG_ALL */
} oidc_idtoken_params;

/* Claims of a validated token. Strings are malloc'd (NULL when absent) and
 * freed by oidc_claims_clear. */
typedef struct oidc_claims {
    char *iss;
    char *sub;
    char *email;
    char *preferred_username;
    char *name;
    char *sid;
    int64_t exp;
    int64_t iat;
    int has_nonce;              /* 1 when the token carries a `nonce` claim */
    int email_verified;         /* 1 when `email_verified` is true */
    char alg[8];
} oidc_claims;

void oidc_claims_clear(oidc_claims *c);

/* Validates `token` (a JWS in compact form) against `keys` and `p`. Returns
 * OIDC_IDT_OK and fills `out`, or an error with `*reason` set to a static
 * phrase such as "token expired" (never token contents). */
int oidc_idtoken_validate(const char *token, size_t len, const oidc_jwks *keys,
                          const oidc_idtoken_params *p, oidc_claims *out, const char **reason);

/* Reads the `iss` claim without checking anything, to choose which account's
 * settings apply to a token that arrived unsolicited. Returns a malloc'd
 * string or NULL. The token must still pass oidc_idtoken_validate. */
char *oidc_idtoken_peek_issuer(const char *token, size_t len);

#endif
