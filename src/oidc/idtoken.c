#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>

#include "json.h"
#include "oidc/idtoken.h"

void oidc_claims_clear(oidc_claims *c)
{
    free(c->iss);
    free(c->sub);
    free(c->email);
    free(c->preferred_username);
    free(c->name);
    free(c->sid);
    memset(c, 0, sizeof *c);
}

/* Decodes one base64url segment of a compact JWS into a JSON object. */
static json *decode_segment(const char *seg, size_t len)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    cjose_err cerr;
    if (len == 0 || !cjose_base64url_decode(seg, len, &raw, &rawlen, &cerr))
        return NULL;
    json *j = json_parse((const char *)raw, rawlen, NULL, 0);
    cjose_get_dealloc()(raw);
    if (j != NULL && json_typeof(j) != JSON_OBJECT) {
        json_free(j);
        return NULL;
    }
    return j;
}

/* Splits a compact JWS: exactly three segments, the last may not be empty. */
static int split_token(const char *token, size_t len, size_t *hlen, size_t *plen)
{
    const char *dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return -1;
    const char *dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
        return -1;
    if (dot2 + 1 == token + len)
        return -1;
    /* cjose decodes all three segments and aborts on some invalid input. */
    if (!oidc_b64url_valid(token, (size_t)(dot1 - token)) ||
        !oidc_b64url_valid(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
        !oidc_b64url_valid(dot2 + 1, (size_t)(token + len - dot2 - 1)))
        return -1;
    *hlen = (size_t)(dot1 - token);
    *plen = (size_t)(dot2 - dot1 - 1);
    return 0;
}

static char *dup_claim(const json *claims, const char *name)
{
    const char *v = json_string_value(json_object_get(claims, name));
    return v ? strdup(v) : NULL;
}

/* Chooses the key from the header. Sets `*key` or returns an error. */
static int check_header(const json *hdr, const oidc_jwks *keys, unsigned allowed,
                        const oidc_jwk **key, char alg_out[8], const char **reason)
{
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    if (alg == NULL) {
        *reason = "token header has no alg";
        return OIDC_IDT_INVALID;
    }
    unsigned bit = oidc_alg_from_name(alg);
    if (bit == 0 || !(bit & allowed)) {
        *reason = "token signature algorithm is not accepted (none, HMAC or not allowed)";
        return OIDC_IDT_INVALID;
    }
    if (json_object_get(hdr, "crit") != NULL) {
        *reason = "token header has critical extensions";
        return OIDC_IDT_INVALID;
    }
    const json *kidv = json_object_get(hdr, "kid");
    if (kidv != NULL && json_typeof(kidv) != JSON_STRING) {
        *reason = "token header kid is not a string";
        return OIDC_IDT_INVALID;
    }
    int known = 0;
    *key = oidc_jwks_find(keys, json_string_value(kidv), bit, &known);
    if (*key == NULL) {
        *reason = known ? "token algorithm does not match the key type of its kid"
                        : "no key in the provider's JWKS has the token's kid";
        return known ? OIDC_IDT_INVALID : OIDC_IDT_UNKNOWN_KID;
    }
    strncpy(alg_out, alg, 7);
    alg_out[7] = '\0';
    return OIDC_IDT_OK;
}

static int verify_signature(const char *token, size_t len, const oidc_jwk *key,
                            const char **reason)
{
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, len, &cerr);
    if (jws == NULL) {
        *reason = "token is not a valid JWS";
        return OIDC_IDT_INVALID;
    }
    int ok = cjose_jws_verify(jws, key->key, &cerr);
    cjose_jws_release(jws);
    if (!ok) {
        *reason = "token signature is invalid";
        return OIDC_IDT_INVALID;
    }
    return OIDC_IDT_OK;
}

/* Checks `aud` (string or array of strings) and `azp`. */
static int check_audience(const json *claims, const char *client_id, const char **reason)
{
    const json *aud = json_object_get(claims, "aud");
    const json *azp = json_object_get(claims, "azp");
    int found = 0;
    size_t count = 0;

    if (json_typeof(aud) == JSON_STRING) {
        count = 1;
        found = strcmp(json_string_value(aud), client_id) == 0;
    } else if (json_typeof(aud) == JSON_ARRAY) {
        for (size_t i = 0; i < json_array_size(aud); i++) {
            const json *v = json_array_get(aud, i);
            if (json_typeof(v) != JSON_STRING) {
                *reason = "token aud contains a value that is not a string";
                return OIDC_IDT_INVALID;
            }
            count++;
            found |= strcmp(json_string_value(v), client_id) == 0;
        }
    }
    if (!found) {
        *reason = "token aud does not contain the client id";
        return OIDC_IDT_INVALID;
    }
    if (count > 1 && azp == NULL) {
        *reason = "token has several audiences and no azp";
        return OIDC_IDT_INVALID;
    }
    if (azp != NULL && !(json_typeof(azp) == JSON_STRING &&
                         strcmp(json_string_value(azp), client_id) == 0)) {
        *reason = "token azp is not the client id";
        return OIDC_IDT_INVALID;
    }
    return OIDC_IDT_OK;
}

/* Reads an integer NumericDate claim; fractional seconds are truncated. */
static int get_time(const json *claims, const char *name, int required, int64_t *out)
{
    const json *v = json_object_get(claims, name);
    if (v == NULL)
        return required ? -1 : 1;
    if (json_typeof(v) != JSON_NUMBER)
        return -1;
    if (json_is_integer(v)) {
        *out = json_int_value(v);
    } else {
        double d = json_double_value(v);
        if (!(d > -9e15 && d < 9e15))
            return -1;
        *out = (int64_t)d;
    }
    /* Keep later arithmetic with the skew far from overflow. */
    if (*out < -((int64_t)1 << 53) || *out > ((int64_t)1 << 53))
        return -1;
    return 0;
}

static int check_times(const json *claims, const oidc_idtoken_params *p, oidc_claims *out,
                       const char **reason)
{
    int64_t nbf = 0;
    if (get_time(claims, "exp", 1, &out->exp) != 0) {
        *reason = "token has no valid exp";
        return OIDC_IDT_INVALID;
    }
    if (get_time(claims, "iat", 1, &out->iat) != 0) {
        *reason = "token has no valid iat";
        return OIDC_IDT_INVALID;
    }
    int has_nbf = get_time(claims, "nbf", 0, &nbf);
    if (has_nbf < 0) {
        *reason = "token nbf is not a number";
        return OIDC_IDT_INVALID;
    }
    if (out->exp + p->skew <= p->now) {
        *reason = "token expired";
        return OIDC_IDT_INVALID;
    }
    if (out->iat - p->skew > p->now) {
        *reason = "token issued in the future (iat)";
        return OIDC_IDT_INVALID;
    }
    if (has_nbf == 0 && nbf - p->skew > p->now) {
        *reason = "token not valid yet (nbf)";
        return OIDC_IDT_INVALID;
    }
    return OIDC_IDT_OK;
}

static int check_claims(const json *claims, const oidc_idtoken_params *p, oidc_claims *out,
                        const char **reason)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (iss == NULL || strcmp(iss, p->issuer) != 0) {
        *reason = "token iss is not the configured issuer";
        return OIDC_IDT_INVALID;
    }
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (sub == NULL || *sub == '\0') {
        *reason = "token has no sub";
        return OIDC_IDT_INVALID;
    }
    int rc = check_audience(claims, p->client_id, reason);
    if (rc == OIDC_IDT_OK)
        rc = check_times(claims, p, out, reason);
    if (rc != OIDC_IDT_OK)
        return rc;
    if (p->nonce != NULL) {
        const char *nonce = json_string_value(json_object_get(claims, "nonce"));
        if (nonce == NULL || strcmp(nonce, p->nonce) != 0) {
            *reason = "token nonce does not match the login";
            return OIDC_IDT_INVALID;
        }
    }
    return OIDC_IDT_OK;
}

static int copy_claims(const json *claims, oidc_claims *out)
{
    out->iss = dup_claim(claims, "iss");
    out->sub = dup_claim(claims, "sub");
    out->email = dup_claim(claims, "email");
    out->preferred_username = dup_claim(claims, "preferred_username");
    out->name = dup_claim(claims, "name");
    out->sid = dup_claim(claims, "sid");
    out->has_nonce = json_object_get(claims, "nonce") != NULL;
    const json *verified = json_object_get(claims, "email_verified");
    out->email_verified = json_typeof(verified) == JSON_BOOL ? json_bool_value(verified)
                          : json_typeof(verified) == JSON_STRING
                              ? strcmp(json_string_value(verified), "true") == 0
                              : 0;
    return out->iss == NULL || out->sub == NULL ? OIDC_IDT_NOMEM : OIDC_IDT_OK;
}

int oidc_idtoken_validate(const char *token, size_t len, const oidc_jwks *keys,
                          const oidc_idtoken_params *p, oidc_claims *out, const char **reason)
{
    size_t hlen, plen;
    json *hdr = NULL, *claims = NULL;
    const oidc_jwk *key = NULL;
    int rc = OIDC_IDT_INVALID;

    memset(out, 0, sizeof *out);
    *reason = NULL;
    if (len > OIDC_IDTOKEN_MAX || split_token(token, len, &hlen, &plen) != 0) {
        *reason = "token is not a compact JWS of acceptable size";
        goto out;
    }
    hdr = decode_segment(token, hlen);
    if (hdr == NULL) {
        *reason = "token header is not valid base64url JSON";
        goto out;
    }
    rc = check_header(hdr, keys, p->algs ? p->algs : OIDC_ALG_ALL, &key, out->alg, reason);
    if (rc == OIDC_IDT_OK)
        rc = verify_signature(token, len, key, reason);
    if (rc != OIDC_IDT_OK)
        goto out;
    claims = decode_segment(token + hlen + 1, plen);
    if (claims == NULL) {
        *reason = "token payload is not a JSON object";
        rc = OIDC_IDT_INVALID;
        goto out;
    }
    rc = check_claims(claims, p, out, reason);
    if (rc == OIDC_IDT_OK && (rc = copy_claims(claims, out)) != OIDC_IDT_OK)
        *reason = "out of memory";
out:
    if (rc != OIDC_IDT_OK)
        oidc_claims_clear(out);
    json_free(hdr);
    json_free(claims);
    return rc;
}

char *oidc_idtoken_peek_issuer(const char *token, size_t len)
{
    size_t hlen, plen;
    if (len > OIDC_IDTOKEN_MAX || split_token(token, len, &hlen, &plen) != 0)
        return NULL;
    json *claims = decode_segment(token + hlen + 1, plen);
    char *iss = dup_claim(claims, "iss");
    json_free(claims);
    return iss;
}
