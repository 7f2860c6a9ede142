#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "oidc/jwks.h"

static const struct {
    const char *name;
    unsigned bit;
} alg_names[] = {
    {"RS256", OIDC_ALG_RS256}, {"RS384", OIDC_ALG_RS384}, {"RS512", OIDC_ALG_RS512},
    {"PS256", OIDC_ALG_PS256}, {"PS384", OIDC_ALG_PS384}, {"PS512", OIDC_ALG_PS512},
    {"ES256", OIDC_ALG_ES256}, {"ES384", OIDC_ALG_ES384},
};

#define RSA_ALGS                                                                                   \
    (OIDC_ALG_RS256 | OIDC_ALG_RS384 | OIDC_ALG_RS512 | OIDC_ALG_PS256 | OIDC_ALG_PS384 |          \
     OIDC_ALG_PS512)

/* Smallest RSA modulus accepted, in bits (RFC 7518 section 3.3). */
#define RSA_MIN_BITS 2048

unsigned oidc_alg_from_name(const char *name)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
        if (strcmp(alg_names[i].name, name) == 0)
            return alg_names[i].bit;
    return 0;
}

int oidc_alg_list_parse(const char *list, unsigned *out, const char **bad)
{
    unsigned bits = 0;
    const char *p = list;
    *bad = NULL;
    while (*p) {
        size_t n = strcspn(p, ", ");
        if (n > 0) {
            char name[16];
            unsigned bit = 0;
            if (n < sizeof name) {
                memcpy(name, p, n);
                name[n] = '\0';
                bit = oidc_alg_from_name(name);
            }
            if (bit == 0) {
                *bad = p;
                return -1;
            }
            bits |= bit;
        }
        p += n;
        p += strspn(p, ", ");
    }
    *out = bits;
    return 0;
}

int oidc_b64url_valid(const char *s, size_t len)
{
    if (len % 4 == 1)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return 0;
    }
    return 1;
}

/* 1 when every key parameter cjose decodes is a valid base64url string. */
static int key_members_valid(const json *entry)
{
    static const char *const members[] = {"n", "e", "x", "y", "d", "p", "q", "dp", "dq", "qi", "k"};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        const json *v = json_object_get(entry, members[i]);
        if (v == NULL)
            continue;
        if (json_typeof(v) != JSON_STRING ||
            !oidc_b64url_valid(json_string_value(v), json_string_length(v)))
            return 0;
    }
    return 1;
}

/* Algorithms a key can verify, from its type, curve and optional "alg". */
static unsigned key_algs(const json *entry, cjose_jwk_t *key)
{
    unsigned algs = 0;
    cjose_err cerr;
    switch (cjose_jwk_get_kty(key, &cerr)) {
    case CJOSE_JWK_KTY_RSA:
        if (cjose_jwk_get_keysize(key, &cerr) >= RSA_MIN_BITS)
            algs = RSA_ALGS;
        break;
    case CJOSE_JWK_KTY_EC: {
        cjose_jwk_ec_curve crv = cjose_jwk_EC_get_curve(key, &cerr);
        if (crv == CJOSE_JWK_EC_P_256)
            algs = OIDC_ALG_ES256;
        else if (crv == CJOSE_JWK_EC_P_384)
            algs = OIDC_ALG_ES384;
        break;
    }
    default:
        break;
    }

    const json *alg = json_object_get(entry, "alg");
    if (alg != NULL)
        algs &= oidc_alg_from_name(json_string_value(alg));
    const char *use = json_string_value(json_object_get(entry, "use"));
    if (json_object_get(entry, "use") != NULL && (use == NULL || strcmp(use, "sig") != 0))
        algs = 0;
    return algs;
}

/* Imports one entry of "keys". Returns 1 when a usable key was added, 0 when
 * the entry was skipped, -1 when out of memory. */
static int add_key(oidc_jwks *set, const json *entry)
{
    const char *t = json_typeof(entry) == JSON_OBJECT ? json_get_string(entry, "kty") : NULL;
    if (t == NULL)
        return 0;
    if (strcmp(t, "RSA") != 0 && strcmp(t, "EC") != 0)
        return 0;

    const json *kid = json_object_get(entry, "kid");
    if ((kid != NULL && json_typeof(kid) != JSON_STRING) || !key_members_valid(entry))
        return 0;
    char *text = json_dump(entry, NULL);
    if (text == NULL)
        return -1;
    cjose_err cerr;
    cjose_jwk_t *key = cjose_jwk_import(text, strlen(text), &cerr);
    free(text);
    if (key == NULL)
        return 0;

    unsigned algs = key_algs(entry, key);
    char *kid_copy = kid != NULL ? strdup(json_string_value(kid)) : NULL;
    if (algs == 0 || (kid != NULL && kid_copy == NULL)) {
        cjose_jwk_release(key);
        free(kid_copy);
        return algs == 0 ? 0 : -1;
    }
    oidc_jwk *k = &set->keys[set->nkeys++];
    k->key = key;
    k->kid = kid_copy;
    k->algs = algs;
    return 1;
}

int oidc_jwks_parse(const char *text, size_t len, oidc_jwks **out, char *err, size_t errlen)
{
    oidc_jwks *set = NULL;
    json *doc = NULL;
    int rc = -1;

    *out = NULL;
    if (len > OIDC_JWKS_MAX_BYTES) {
        snprintf(err, errlen, "JWKS document is larger than %d bytes", OIDC_JWKS_MAX_BYTES);
        goto out;
    }
    doc = json_parse(text, len, NULL, 0);
    const json *keys = json_typeof(doc) == JSON_OBJECT ? json_object_get(doc, "keys") : NULL;
    if (json_typeof(keys) != JSON_ARRAY) {
        snprintf(err, errlen, "JWKS document is not a JSON object with a \"keys\" array");
        goto out;
    }
    size_t n = json_array_size(keys);
    set = calloc(1, sizeof *set);
    if (set == NULL || (set->keys = calloc(n < OIDC_JWKS_MAX_KEYS ? n + 1 : OIDC_JWKS_MAX_KEYS,
                                           sizeof *set->keys)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (set->nkeys == OIDC_JWKS_MAX_KEYS) {
            set->skipped += n - i;
            break;
        }
        int added = add_key(set, json_array_get(keys, i));
        if (added < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        if (added == 0)
            set->skipped++;
    }
    *out = set;
    set = NULL;
    rc = 0;
out:
    oidc_jwks_free(set);
    json_free(doc);
    return rc;
}

void oidc_jwks_free(oidc_jwks *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->nkeys; i++) {
        cjose_jwk_release(set->keys[i].key);
        free(set->keys[i].kid);
    }
    free(set->keys);
    free(set);
}

const oidc_jwk *oidc_jwks_find(const oidc_jwks *set, const char *kid, unsigned alg,
                               int *kid_known)
{
    if (kid_known != NULL)
        *kid_known = 0;
    if (set == NULL)
        return NULL;
    if (kid == NULL) {
        if (set->nkeys != 1 || set->keys[0].kid != NULL)
            return NULL;
        if (kid_known != NULL)
            *kid_known = 1;
        return (set->keys[0].algs & alg) ? &set->keys[0] : NULL;
    }
    for (size_t i = 0; i < set->nkeys; i++) {
        const oidc_jwk *k = &set->keys[i];
        if (k->kid == NULL || strcmp(k->kid, kid) != 0)
            continue;
        if (kid_known != NULL)
            *kid_known = 1;
        if (k->algs & alg)
            return k;
    }
    return NULL;
}
