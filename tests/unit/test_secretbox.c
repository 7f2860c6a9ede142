#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "secretbox.h"

static const char *hex_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static secretbox_key test_key(void)
{
    secretbox_key k;
    ck_assert_int_eq(secretbox_key_parse(hex_key, &k), 0);
    return k;
}

START_TEST(seal_open_roundtrip)
{
    secretbox_key k = test_key();
    char *box = NULL;
    uint8_t *plain = NULL;
    size_t len = 0;
    ck_assert_int_eq(secretbox_seal(&k, "idp-secret:acc", "s3cr3t-value", 12, &box), 0);
    ck_assert_ptr_nonnull(strstr(box, SECRETBOX_PREFIX));
    ck_assert_ptr_null(strstr(box, "s3cr3t"));
    ck_assert_int_eq(secretbox_open(&k, "idp-secret:acc", box, &plain, &len), 0);
    ck_assert_uint_eq(len, 12);
    ck_assert_str_eq((char *)plain, "s3cr3t-value");
    secretbox_wipe(plain, len);
    free(box);
}
END_TEST

START_TEST(seal_empty_plaintext)
{
    secretbox_key k = test_key();
    char *box = NULL;
    uint8_t *plain = NULL;
    size_t len = 1;
    ck_assert_int_eq(secretbox_seal(&k, "", "", 0, &box), 0);
    ck_assert_int_eq(secretbox_open(&k, "", box, &plain, &len), 0);
    ck_assert_uint_eq(len, 0);
    secretbox_wipe(plain, len);
    free(box);
}
END_TEST

START_TEST(nonce_differs_per_seal)
{
    secretbox_key k = test_key();
    char *a = NULL, *b = NULL;
    ck_assert_int_eq(secretbox_seal(&k, "x", "same", 4, &a), 0);
    ck_assert_int_eq(secretbox_seal(&k, "x", "same", 4, &b), 0);
    ck_assert_str_ne(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(open_rejects_wrong_aad)
{
    secretbox_key k = test_key();
    char *box = NULL;
    uint8_t *plain = NULL;
    size_t len;
    ck_assert_int_eq(secretbox_seal(&k, "idp-secret:a", "v", 1, &box), 0);
    ck_assert_int_eq(secretbox_open(&k, "idp-secret:b", box, &plain, &len), SECRETBOX_ERR_AUTH);
    ck_assert_ptr_null(plain);
    free(box);
}
END_TEST

START_TEST(open_rejects_wrong_key)
{
    secretbox_key k = test_key(), other = test_key();
    other.bytes[0] ^= 1;
    char *box = NULL;
    uint8_t *plain = NULL;
    size_t len;
    ck_assert_int_eq(secretbox_seal(&k, "", "v", 1, &box), 0);
    ck_assert_int_eq(secretbox_open(&other, "", box, &plain, &len), SECRETBOX_ERR_AUTH);
    free(box);
}
END_TEST

START_TEST(open_rejects_tampering)
{
    secretbox_key k = test_key();
    char *box = NULL;
    uint8_t *plain = NULL;
    size_t len;
    ck_assert_int_eq(secretbox_seal(&k, "", "value-to-protect", 16, &box), 0);
    size_t n = strlen(box);
    for (size_t i = strlen(SECRETBOX_PREFIX); i < n; i++) {
        char saved = box[i];
        box[i] = saved == 'A' ? 'B' : 'A';
        int rc = secretbox_open(&k, "", box, &plain, &len);
        ck_assert_msg(rc == SECRETBOX_ERR_AUTH || rc == SECRETBOX_ERR_FORMAT,
                      "changed byte %zu opened with %d", i, rc);
        box[i] = saved;
    }
    free(box);
}
END_TEST

struct format_case {
    const char *box;
};

static const struct format_case bad_boxes[] = {
    {""}, {"v1."}, {"v2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, {"v1.AAAA"},
    {"v1.!!!!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, {"plain-secret"},
};

START_TEST(open_rejects_malformed)
{
    secretbox_key k = test_key();
    uint8_t *plain = NULL;
    size_t len;
    ck_assert_int_eq(secretbox_open(&k, "", bad_boxes[_i].box, &plain, &len),
                     SECRETBOX_ERR_FORMAT);
}
END_TEST

struct key_case {
    const char *text;
    int rc;
};

static const struct key_case keys[] = {
    {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0},
    {"  000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n", 0},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 0},
    {"_-_-AwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 0},
    {"", SECRETBOX_ERR_BADKEY},
    {"00010203", SECRETBOX_ERR_BADKEY},
    {"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", SECRETBOX_ERR_BADKEY},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=====", SECRETBOX_ERR_BADKEY},
    {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd!h8=", SECRETBOX_ERR_BADKEY},
};

START_TEST(key_parse_table)
{
    secretbox_key k;
    ck_assert_int_eq(secretbox_key_parse(keys[_i].text, &k), keys[_i].rc);
}
END_TEST

START_TEST(key_parse_hex_and_base64_agree)
{
    secretbox_key a, b;
    ck_assert_int_eq(secretbox_key_parse(keys[0].text, &a), 0);
    ck_assert_int_eq(secretbox_key_parse(keys[2].text, &b), 0);
    ck_assert_mem_eq(a.bytes, b.bytes, SECRETBOX_KEY_LEN);
}
END_TEST

START_TEST(key_load_missing_is_clear)
{
    char err[512] = "";
    secretbox_key k;
    unsetenv(SECRETBOX_ENV);
    ck_assert_int_eq(secretbox_key_load(NULL, &k, err, sizeof err), SECRETBOX_ERR_NOKEY);
    ck_assert_ptr_nonnull(strstr(err, "master_key_file"));
    ck_assert_ptr_nonnull(strstr(err, SECRETBOX_ENV));
}
END_TEST

START_TEST(key_load_from_environment)
{
    char err[512] = "";
    secretbox_key k;
    setenv(SECRETBOX_ENV, hex_key, 1);
    ck_assert_int_eq(secretbox_key_load(NULL, &k, err, sizeof err), 0);
    setenv(SECRETBOX_ENV, "short", 1);
    ck_assert_int_eq(secretbox_key_load(NULL, &k, err, sizeof err), SECRETBOX_ERR_BADKEY);
    ck_assert_ptr_null(strstr(err, "short"));
    unsetenv(SECRETBOX_ENV);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("secretbox");
    TCase *tc = tcase_create("secretbox");
    tcase_add_test(tc, seal_open_roundtrip);
    tcase_add_test(tc, seal_empty_plaintext);
    tcase_add_test(tc, nonce_differs_per_seal);
    tcase_add_test(tc, open_rejects_wrong_aad);
    tcase_add_test(tc, open_rejects_wrong_key);
    tcase_add_test(tc, open_rejects_tampering);
    tcase_add_loop_test(tc, open_rejects_malformed, 0,
                        (int)(sizeof bad_boxes / sizeof bad_boxes[0]));
    tcase_add_loop_test(tc, key_parse_table, 0, (int)(sizeof keys / sizeof keys[0]));
    tcase_add_test(tc, key_parse_hex_and_base64_agree);
    tcase_add_test(tc, key_load_missing_is_clear);
    tcase_add_test(tc, key_load_from_environment);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
