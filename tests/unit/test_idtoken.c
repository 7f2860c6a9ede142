#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <cjose/cjose.h>

#include "oidc/idtoken.h"
#include "oidc/jwks.h"

#define ISSUER "https://example.okta.com/oauth2/default"
#define CLIENT "client-123"
#define NONCE "n-0S6_WzA2Mj"

static cjose_jwk_t *rsa_key, *ec_key, *other_rsa_key;
static oidc_jwks *keys;
static int64_t now;

static cjose_jwk_t *new_rsa(const char *kid)
{
    static const uint8_t e[] = {1, 0, 1};
    cjose_err err;
    cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, e, sizeof e, &err);
    ck_assert_ptr_nonnull(k);
    ck_assert(cjose_jwk_set_kid(k, kid, strlen(kid), &err));
    return k;
}

static void setup(void)
{
    cjose_err err;
    now = (int64_t)time(NULL);
    rsa_key = new_rsa("rsa1");
    other_rsa_key = new_rsa("rsa1");
    ec_key = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    ck_assert_ptr_nonnull(ec_key);
    ck_assert(cjose_jwk_set_kid(ec_key, "ec1", 3, &err));

    char *rsa_pub = cjose_jwk_to_json(rsa_key, false, &err);
    char *ec_pub = cjose_jwk_to_json(ec_key, false, &err);
    char doc[8192];
    snprintf(doc, sizeof doc, "{\"keys\":[%s,%s]}", rsa_pub, ec_pub);
    free(rsa_pub);
    free(ec_pub);
    char reason[200];
    ck_assert_int_eq(oidc_jwks_parse(doc, strlen(doc), &keys, reason, sizeof reason), 0);
    ck_assert_uint_eq(keys->nkeys, 2);
}

static void teardown(void)
{
    oidc_jwks_free(keys);
    cjose_jwk_release(rsa_key);
    cjose_jwk_release(other_rsa_key);
    cjose_jwk_release(ec_key);
}

/* Signs `claims` (JSON text) with `key` under `alg`, `kid` in the header. */
static char *sign(cjose_jwk_t *key, const char *alg, const char *kid, const char *claims)
{
    cjose_err err;
    cjose_header_t *hdr = cjose_header_new(&err);
    ck_assert(cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &err));
    if (kid != NULL)
        ck_assert(cjose_header_set(hdr, CJOSE_HDR_KID, kid, &err));
    cjose_jws_t *jws =
        cjose_jws_sign(key, hdr, (const uint8_t *)claims, strlen(claims), &err);
    ck_assert_msg(jws != NULL, "signing failed: %s", err.message);
    const char *ser = NULL;
    ck_assert(cjose_jws_export(jws, &ser, &err));
    char *copy = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    return copy;
}

/* Standard claims with `extra` members appended (a JSON fragment or ""). */
static char *claims_with(const char *iss, const char *aud, const char *nonce, int64_t exp,
                         int64_t iat, const char *extra)
{
    char *out = malloc(2048);
    snprintf(out, 2048,
             "{\"iss\":\"%s\",\"sub\":\"00u1\",\"aud\":%s,\"nonce\":\"%s\",\"exp\":%lld,"
             "\"iat\":%lld,\"email\":\"ada@example.com\",\"preferred_username\":"
             "\"ada@example.com\"%s}",
             iss, aud, nonce, (long long)exp, (long long)iat, extra);
    return out;
}

static char *good_claims(const char *extra)
{
    return claims_with(ISSUER, "\"" CLIENT "\"", NONCE, now + 300, now, extra);
}

static int validate(const char *token, const char **reason)
{
    oidc_idtoken_params p = {.issuer = ISSUER, .client_id = CLIENT, .nonce = NONCE,
                             .now = now, .skew = 60, .algs = 0};
    oidc_claims c;
    int rc = oidc_idtoken_validate(token, strlen(token), keys, &p, &c, reason);
    oidc_claims_clear(&c);
    return rc;
}

static void expect(const char *token, int want, const char *reason_part)
{
    const char *reason = NULL;
    int rc = validate(token, &reason);
    ck_assert_msg(rc == want, "expected %d, got %d (%s)", want, rc, reason ? reason : "");
    if (reason_part != NULL)
        ck_assert_msg(reason != NULL && strstr(reason, reason_part) != NULL,
                      "reason \"%s\" lacks \"%s\"", reason ? reason : "", reason_part);
}

START_TEST(rs256_valid)
{
    char *claims = good_claims("");
    char *tok = sign(rsa_key, "RS256", "rsa1", claims);
    oidc_idtoken_params p = {.issuer = ISSUER, .client_id = CLIENT, .nonce = NONCE,
                             .now = now, .skew = 60};
    oidc_claims c;
    const char *reason;
    ck_assert_int_eq(oidc_idtoken_validate(tok, strlen(tok), keys, &p, &c, &reason), 0);
    ck_assert_str_eq(c.sub, "00u1");
    ck_assert_str_eq(c.email, "ada@example.com");
    ck_assert_str_eq(c.iss, ISSUER);
    ck_assert_str_eq(c.alg, "RS256");
    oidc_claims_clear(&c);
    free(tok);
    free(claims);
}
END_TEST

START_TEST(ps256_valid)
{
    char *claims = good_claims("");
    char *tok = sign(rsa_key, "PS256", "rsa1", claims);
    expect(tok, OIDC_IDT_OK, NULL);
    free(tok);
    free(claims);
}
END_TEST

START_TEST(es256_valid)
{
    char *claims = good_claims("");
    char *tok = sign(ec_key, "ES256", "ec1", claims);
    expect(tok, OIDC_IDT_OK, NULL);
    free(tok);
    free(claims);
}
END_TEST

START_TEST(es256_with_rsa_kid_rejected)
{
    char *claims = good_claims("");
    char *tok = sign(ec_key, "ES256", "rsa1", claims);
    expect(tok, OIDC_IDT_INVALID, "key type");
    free(tok);
    free(claims);
}
END_TEST

struct claims_case {
    const char *name;
    const char *iss;
    const char *aud;
    const char *nonce;
    int64_t exp_offset;
    int64_t iat_offset;
    const char *extra;
    const char *reason;
};

static const struct claims_case claim_cases[] = {
    {"expired", ISSUER, "\"" CLIENT "\"", NONCE, -61, -400, "", "expired"},
    {"expired within skew", ISSUER, "\"" CLIENT "\"", NONCE, -30, -400, "", NULL},
    {"iat future", ISSUER, "\"" CLIENT "\"", NONCE, 600, 120, "", "future"},
    {"nbf future", ISSUER, "\"" CLIENT "\"", NONCE, 600, 0, ",\"nbf\":%NBF%", "nbf"},
    {"wrong iss", "https://evil.okta.com/oauth2/default", "\"" CLIENT "\"", NONCE, 300, 0, "",
     "iss"},
    {"iss trailing slash", ISSUER "/", "\"" CLIENT "\"", NONCE, 300, 0, "", "iss"},
    {"wrong aud", ISSUER, "\"other\"", NONCE, 300, 0, "", "aud"},
    {"aud array ok with azp", ISSUER, "[\"" CLIENT "\",\"x\"]", NONCE, 300, 0,
     ",\"azp\":\"" CLIENT "\"", NULL},
    {"aud array without azp", ISSUER, "[\"" CLIENT "\",\"x\"]", NONCE, 300, 0, "", "azp"},
    {"aud array wrong azp", ISSUER, "[\"" CLIENT "\",\"x\"]", NONCE, 300, 0, ",\"azp\":\"x\"",
     "azp"},
    {"single aud wrong azp", ISSUER, "\"" CLIENT "\"", NONCE, 300, 0, ",\"azp\":\"x\"", "azp"},
    {"aud array single", ISSUER, "[\"" CLIENT "\"]", NONCE, 300, 0, "", NULL},
    {"aud number", ISSUER, "123", NONCE, 300, 0, "", "aud"},
    {"wrong nonce", ISSUER, "\"" CLIENT "\"", "other-nonce", 300, 0, "", "nonce"},
};

START_TEST(claims_table)
{
    const struct claims_case *c = &claim_cases[_i];
    char extra[128];
    if (strstr(c->extra, "%NBF%") != NULL)
        snprintf(extra, sizeof extra, ",\"nbf\":%lld", (long long)(now + 120));
    else
        snprintf(extra, sizeof extra, "%s", c->extra);
    char *claims =
        claims_with(c->iss, c->aud, c->nonce, now + c->exp_offset, now + c->iat_offset, extra);
    char *tok = sign(rsa_key, "RS256", "rsa1", claims);
    const char *reason = NULL;
    int rc = validate(tok, &reason);
    if (c->reason == NULL) {
        ck_assert_msg(rc == OIDC_IDT_OK, "%s: rejected (%s)", c->name, reason);
    } else {
        ck_assert_msg(rc == OIDC_IDT_INVALID, "%s: accepted", c->name);
        ck_assert_msg(strstr(reason, c->reason) != NULL, "%s: reason \"%s\"", c->name, reason);
    }
    free(tok);
    free(claims);
}
END_TEST

START_TEST(missing_nonce_rejected)
{
    char claims[512];
    snprintf(claims, sizeof claims,
             "{\"iss\":\"" ISSUER "\",\"sub\":\"s\",\"aud\":\"" CLIENT "\",\"exp\":%lld,"
             "\"iat\":%lld}",
             (long long)now + 300, (long long)now);
    char *tok = sign(rsa_key, "RS256", "rsa1", claims);
    expect(tok, OIDC_IDT_INVALID, "nonce");
    free(tok);
}
END_TEST

START_TEST(missing_exp_rejected)
{
    char claims[512];
    snprintf(claims, sizeof claims,
             "{\"iss\":\"" ISSUER "\",\"sub\":\"s\",\"aud\":\"" CLIENT "\",\"nonce\":\"" NONCE
             "\",\"iat\":%lld}",
             (long long)now);
    char *tok = sign(rsa_key, "RS256", "rsa1", claims);
    expect(tok, OIDC_IDT_INVALID, "exp");
    free(tok);
}
END_TEST

START_TEST(bad_signature_rejected)
{
    char *claims = good_claims("");
    char *tok = sign(other_rsa_key, "RS256", "rsa1", claims);
    expect(tok, OIDC_IDT_INVALID, "signature");
    free(tok);

    tok = sign(rsa_key, "RS256", "rsa1", claims);
    char *sig = strrchr(tok, '.') + 5;
    *sig = *sig == 'A' ? 'B' : 'A';
    expect(tok, OIDC_IDT_INVALID, "signature");
    free(tok);
    free(claims);
}
END_TEST

START_TEST(payload_swap_rejected)
{
    char *claims = good_claims("");
    char *tok = sign(rsa_key, "RS256", "rsa1", claims);
    char *evil = good_claims(",\"email\":\"mallory@example.com\"");
    char *tok2 = sign(rsa_key, "RS256", "rsa1", evil);
    /* Header and signature of the first token around the payload of the second. */
    char *p1 = strchr(tok, '.'), *s1 = strrchr(tok, '.');
    char *p2 = strchr(tok2, '.'), *s2 = strrchr(tok2, '.');
    char mixed[8192];
    snprintf(mixed, sizeof mixed, "%.*s%.*s%s", (int)(p1 - tok), tok, (int)(s2 - p2), p2, s1);
    expect(mixed, OIDC_IDT_INVALID, "signature");
    free(tok);
    free(tok2);
    free(claims);
    free(evil);
}
END_TEST

START_TEST(unknown_kid_reported)
{
    char *claims = good_claims("");
    char *tok = sign(rsa_key, "RS256", "rotated-key", claims);
    expect(tok, OIDC_IDT_UNKNOWN_KID, "kid");
    free(tok);
    free(claims);
}
END_TEST

START_TEST(no_kid_with_two_keys_rejected)
{
    char *claims = good_claims("");
    char *tok = sign(rsa_key, "RS256", NULL, claims);
    expect(tok, OIDC_IDT_UNKNOWN_KID, NULL);
    free(tok);
    free(claims);
}
END_TEST

static char *b64url(const char *s)
{
    char *out = NULL;
    size_t len = 0;
    cjose_err err;
    ck_assert(cjose_base64url_encode((const uint8_t *)s, strlen(s), &out, &len, &err));
    return out;
}

START_TEST(alg_none_rejected)
{
    char *claims = good_claims("");
    char *h = b64url("{\"alg\":\"none\",\"kid\":\"rsa1\"}");
    char *p = b64url(claims);
    char tok[4096];
    snprintf(tok, sizeof tok, "%s.%s.", h, p);
    expect(tok, OIDC_IDT_INVALID, NULL);
    snprintf(tok, sizeof tok, "%s.%s.AAAA", h, p);
    expect(tok, OIDC_IDT_INVALID, "algorithm");
    free(h);
    free(p);
    h = b64url("{\"alg\":\"None\"}");
    p = b64url(claims);
    snprintf(tok, sizeof tok, "%s.%s.AAAA", h, p);
    expect(tok, OIDC_IDT_INVALID, "algorithm");
    free(h);
    free(p);
    free(claims);
}
END_TEST

START_TEST(hs256_with_public_key_rejected)
{
    cjose_err err;
    char *pub = cjose_jwk_to_json(rsa_key, false, &err);
    cjose_jwk_t *hmac = cjose_jwk_create_oct_spec((const uint8_t *)pub, strlen(pub), &err);
    ck_assert_ptr_nonnull(hmac);
    char *claims = good_claims("");
    char *tok = sign(hmac, "HS256", "rsa1", claims);
    expect(tok, OIDC_IDT_INVALID, "algorithm");
    free(tok);
    free(claims);
    free(pub);
    cjose_jwk_release(hmac);
}
END_TEST

START_TEST(disallowed_alg_rejected)
{
    char *claims = good_claims("");
    char *tok = sign(rsa_key, "PS256", "rsa1", claims);
    oidc_idtoken_params p = {.issuer = ISSUER, .client_id = CLIENT, .nonce = NONCE,
                             .now = now, .skew = 60, .algs = OIDC_ALG_RS256};
    oidc_claims c;
    const char *reason;
    ck_assert_int_eq(oidc_idtoken_validate(tok, strlen(tok), keys, &p, &c, &reason),
                     OIDC_IDT_INVALID);
    free(tok);
    free(claims);
}
END_TEST

struct malformed_case {
    const char *token;
};

static const struct malformed_case malformed[] = {
    {""}, {"abc"}, {"a.b"}, {"a.b.c.d"}, {"a.b.c.d.e"}, {"..."}, {"e30.e30.e30"},
    {"!!!.e30.AAAA"}, {"W10.e30.AAAA"}, {"e30.e30.A"}, {"e30.e=0.AAAA"}, {"e30=.e30.AAAA"},
    {"eyJhbGciOiJSUzI1NiJ9.e30.AA+/"},
};

START_TEST(malformed_rejected)
{
    const char *reason = NULL;
    ck_assert_int_eq(validate(malformed[_i].token, &reason), OIDC_IDT_INVALID);
    ck_assert_ptr_nonnull(reason);
}
END_TEST

START_TEST(peek_issuer_reads_iss)
{
    char *claims = good_claims("");
    char *tok = sign(rsa_key, "RS256", "rsa1", claims);
    char *iss = oidc_idtoken_peek_issuer(tok, strlen(tok));
    ck_assert_str_eq(iss, ISSUER);
    free(iss);
    ck_assert_ptr_null(oidc_idtoken_peek_issuer("x.y.z", 5));
    free(tok);
    free(claims);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("idtoken");
    TCase *tc = tcase_create("validate");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rs256_valid);
    tcase_add_test(tc, ps256_valid);
    tcase_add_test(tc, es256_valid);
    tcase_add_test(tc, es256_with_rsa_kid_rejected);
    tcase_add_loop_test(tc, claims_table, 0, (int)(sizeof claim_cases / sizeof claim_cases[0]));
    tcase_add_test(tc, missing_nonce_rejected);
    tcase_add_test(tc, missing_exp_rejected);
    tcase_add_test(tc, bad_signature_rejected);
    tcase_add_test(tc, payload_swap_rejected);
    tcase_add_test(tc, unknown_kid_reported);
    tcase_add_test(tc, no_kid_with_two_keys_rejected);
    tcase_add_test(tc, alg_none_rejected);
    tcase_add_test(tc, hs256_with_public_key_rejected);
    tcase_add_test(tc, disallowed_alg_rejected);
    tcase_add_loop_test(tc, malformed_rejected, 0, (int)(sizeof malformed / sizeof malformed[0]));
    tcase_add_test(tc, peek_issuer_reads_iss);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
