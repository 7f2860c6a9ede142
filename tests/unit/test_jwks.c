#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjose/cjose.h>

#include "oidc/jwks.h"

/* Public keys written out once: RSA 2048 and 1024 bits, EC P-256 and P-521. */
static char rsa_pub[2048], ec_pub[512], small_rsa_pub[1024], p521_pub[1024];

static void make_keys(void)
{
    static const uint8_t e[] = {1, 0, 1};
    cjose_err err;
    cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, e, sizeof e, &err);
    char *s = cjose_jwk_to_json(k, false, &err);
    /* Drop the closing brace so tests can append members. */
    snprintf(rsa_pub, sizeof rsa_pub, "%.*s", (int)strlen(s) - 1, s);
    free(s);
    cjose_jwk_release(k);

    k = cjose_jwk_create_RSA_random(1024, e, sizeof e, &err);
    s = cjose_jwk_to_json(k, false, &err);
    snprintf(small_rsa_pub, sizeof small_rsa_pub, "%.*s", (int)strlen(s) - 1, s);
    free(s);
    cjose_jwk_release(k);

    k = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    s = cjose_jwk_to_json(k, false, &err);
    snprintf(ec_pub, sizeof ec_pub, "%.*s", (int)strlen(s) - 1, s);
    free(s);
    cjose_jwk_release(k);

    k = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_521, &err);
    s = cjose_jwk_to_json(k, false, &err);
    snprintf(p521_pub, sizeof p521_pub, "%.*s", (int)strlen(s) - 1, s);
    free(s);
    cjose_jwk_release(k);
}

static oidc_jwks *parse_ok(const char *doc)
{
    oidc_jwks *set = NULL;
    char err[200] = "";
    ck_assert_msg(oidc_jwks_parse(doc, strlen(doc), &set, err, sizeof err) == 0, "%s", err);
    return set;
}

START_TEST(parse_keeps_signing_keys)
{
    char doc[8192];
    snprintf(doc, sizeof doc,
             "{\"keys\":[%s,\"kid\":\"r1\",\"use\":\"sig\",\"alg\":\"RS256\"},"
             "%s,\"kid\":\"e1\"}]}",
             rsa_pub, ec_pub);
    oidc_jwks *set = parse_ok(doc);
    ck_assert_uint_eq(set->nkeys, 2);
    ck_assert_uint_eq(set->skipped, 0);
    ck_assert_ptr_nonnull(oidc_jwks_find(set, "r1", OIDC_ALG_RS256, NULL));
    ck_assert_ptr_null(oidc_jwks_find(set, "r1", OIDC_ALG_PS256, NULL));
    ck_assert_ptr_nonnull(oidc_jwks_find(set, "e1", OIDC_ALG_ES256, NULL));
    ck_assert_ptr_null(oidc_jwks_find(set, "e1", OIDC_ALG_ES384, NULL));
    ck_assert_ptr_null(oidc_jwks_find(set, "e1", OIDC_ALG_RS256, NULL));
    oidc_jwks_free(set);
}
END_TEST

START_TEST(parse_skips_unusable_keys)
{
    char doc[16384];
    snprintf(doc, sizeof doc,
             "{\"keys\":["
             "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"},"
             "%s,\"kid\":\"enc\",\"use\":\"enc\"},"
             "%s,\"kid\":\"hs\",\"alg\":\"HS256\"},"
             "%s,\"kid\":\"small\"},"
             "%s,\"kid\":\"p521\"},"
             "%s,\"kid\":7},"
             "{\"kty\":\"RSA\",\"kid\":\"broken\",\"n\":\"!!\",\"e\":\"AQAB\"},"
             "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"},"
             "\"not an object\","
             "%s,\"kid\":\"good\"}]}",
             rsa_pub, rsa_pub, small_rsa_pub, p521_pub, rsa_pub, rsa_pub);
    oidc_jwks *set = parse_ok(doc);
    ck_assert_uint_eq(set->nkeys, 1);
    ck_assert_uint_eq(set->skipped, 9);
    ck_assert_str_eq(set->keys[0].kid, "good");
    int known = 1;
    ck_assert_ptr_null(oidc_jwks_find(set, "h", OIDC_ALG_RS256, &known));
    ck_assert_int_eq(known, 0);
    oidc_jwks_free(set);
}
END_TEST

START_TEST(parse_skips_invalid_base64url)
{
    const char *doc = "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"e\",\"crv\":\"P-256\","
                      "\"x\":\"f83OJ3D2xF1Bg8vub9=Le1gHMzV76e8Tus9uPHvRVEU\","
                      "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
                      "{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AAAAA\",\"e\":\"AQAB\"}]}";
    oidc_jwks *set = parse_ok(doc);
    ck_assert_uint_eq(set->nkeys, 0);
    ck_assert_uint_eq(set->skipped, 2);
    oidc_jwks_free(set);
}
END_TEST

START_TEST(find_without_kid)
{
    char doc[4096];
    snprintf(doc, sizeof doc, "{\"keys\":[%s}]}", rsa_pub);
    oidc_jwks *set = parse_ok(doc);
    ck_assert_ptr_nonnull(oidc_jwks_find(set, NULL, OIDC_ALG_RS256, NULL));
    int known = 1;
    ck_assert_ptr_null(oidc_jwks_find(set, "x", OIDC_ALG_RS256, &known));
    ck_assert_int_eq(known, 0);
    oidc_jwks_free(set);
}
END_TEST

START_TEST(empty_set_is_valid)
{
    oidc_jwks *set = parse_ok("{\"keys\":[]}");
    ck_assert_uint_eq(set->nkeys, 0);
    ck_assert_ptr_null(oidc_jwks_find(set, "a", OIDC_ALG_RS256, NULL));
    oidc_jwks_free(set);
}
END_TEST

static const char *const bad_docs[] = {
    "", "[]", "{}", "{\"keys\":{}}", "{\"keys\":\"x\"}", "{\"keys\":[] ", "null",
};

START_TEST(parse_rejects_bad_documents)
{
    oidc_jwks *set = (oidc_jwks *)1;
    char err[200] = "";
    const char *doc = bad_docs[_i];
    ck_assert_int_eq(oidc_jwks_parse(doc, strlen(doc), &set, err, sizeof err), -1);
    ck_assert_ptr_null(set);
    ck_assert_str_ne(err, "");
}
END_TEST

struct alg_case {
    const char *name;
    unsigned bit;
};

static const struct alg_case algs[] = {
    {"RS256", OIDC_ALG_RS256}, {"PS512", OIDC_ALG_PS512}, {"ES384", OIDC_ALG_ES384},
    {"none", 0}, {"HS256", 0}, {"ES512", 0}, {"rs256", 0}, {"", 0},
};

START_TEST(alg_names)
{
    ck_assert_uint_eq(oidc_alg_from_name(algs[_i].name), algs[_i].bit);
}
END_TEST

START_TEST(alg_list_parse)
{
    unsigned bits = 0;
    const char *bad = NULL;
    ck_assert_int_eq(oidc_alg_list_parse("RS256, ES256", &bits, &bad), 0);
    ck_assert_uint_eq(bits, OIDC_ALG_RS256 | OIDC_ALG_ES256);
    ck_assert_int_eq(oidc_alg_list_parse("RS256,HS256", &bits, &bad), -1);
    ck_assert_str_eq(bad, "HS256");
}
END_TEST

int main(void)
{
    make_keys();
    Suite *s = suite_create("jwks");
    TCase *tc = tcase_create("jwks");
    tcase_add_test(tc, parse_keeps_signing_keys);
    tcase_add_test(tc, parse_skips_unusable_keys);
    tcase_add_test(tc, parse_skips_invalid_base64url);
    tcase_add_test(tc, find_without_kid);
    tcase_add_test(tc, empty_set_is_valid);
    tcase_add_loop_test(tc, parse_rejects_bad_documents, 0,
                        (int)(sizeof bad_docs / sizeof bad_docs[0]));
    tcase_add_loop_test(tc, alg_names, 0, (int)(sizeof algs / sizeof algs[0]));
    tcase_add_test(tc, alg_list_parse);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
