/* JSON Web Key Sets (RFC 7517) of an identity provider, reduced to the keys
 * that can verify ID token signatures.
 *
 * Parsing keeps RSA keys of at least 2048 bits and EC keys on P-256 or
 * P-384 whose `use` is absent or "sig" and whose `alg`, when present, is one
 * of the signature algorithms this service accepts. Symmetric ("oct") keys
 * and keys of other types are skipped, so an HMAC algorithm can never find a
 * key. A key with no `kid` can only be chosen when it is the only key.
 */
#ifndef IDGATE_OIDC_JWKS_H
#define IDGATE_OIDC_JWKS_H

#include <stddef.h>

#include <cjose/cjose.h>

/* Largest JWKS document accepted, and most keys kept from one. */
#define OIDC_JWKS_MAX_BYTES (256 * 1024)
#define OIDC_JWKS_MAX_KEYS 64

/* Signature algorithms, as bits so a configuration can allow a subset. */
enum oidc_alg {
    OIDC_ALG_RS256 = 1 << 0,
    OIDC_ALG_RS384 = 1 << 1,
    OIDC_ALG_RS512 = 1 << 2,
    OIDC_ALG_PS256 = 1 << 3,
    OIDC_ALG_PS384 = 1 << 4,
    OIDC_ALG_PS512 = 1 << 5,
    OIDC_ALG_ES256 = 1 << 6,
    OIDC_ALG_ES384 = 1 << 7,
};
#define OIDC_ALG_ALL 0xffu

/* Bit for an algorithm name ("RS256"), or 0 when the name is not one of the
 * accepted asymmetric algorithms ("none", "HS256" and unknown names are 0). */
unsigned oidc_alg_from_name(const char *name);
/* Parses a comma- or space-separated list of names into bits. Returns 0 and
 * sets `*out`, or -1 when a name is not accepted (`*bad` points into `list`
 * at it). */
int oidc_alg_list_parse(const char *list, unsigned *out, const char **bad);

/* 1 when `s` is unpadded base64url that decodes cleanly: only the URL
 * alphabet and a length that is not 1 more than a multiple of 4. cjose 0.6
 * aborts on some invalid base64url, so every string handed to it is checked
 * with this first. */
int oidc_b64url_valid(const char *s, size_t len);

typedef struct oidc_jwk {
    cjose_jwk_t *key;
    char *kid;              /* NULL when the key has none */
    unsigned algs;          /* algorithms this key may verify */
} oidc_jwk;

typedef struct oidc_jwks {
    oidc_jwk *keys;
    size_t nkeys;
    size_t skipped;         /* entries ignored as unusable for signatures */
} oidc_jwks;

/* Parses a JWKS document. On success returns 0 and `*out` (free with
 * oidc_jwks_free); a set with no usable key is still a success with nkeys 0.
 * On failure returns -1 and writes a reason into `err`. */
int oidc_jwks_parse(const char *text, size_t len, oidc_jwks **out, char *err, size_t errlen);
void oidc_jwks_free(oidc_jwks *set);

/* Finds the key for a token header: by `kid` when the token has one, or the
 * only key of the set when neither has one. The key must allow `alg` (one
 * bit). Returns the borrowed key (valid while the set lives) or NULL. When
 * `kid_known` is not NULL it is set to 1 if a key with that kid exists at all
 * (so a NULL result with kid_known 0 means the set may be out of date). */
const oidc_jwk *oidc_jwks_find(const oidc_jwks *set, const char *kid, unsigned alg,
                               int *kid_known);

#endif
