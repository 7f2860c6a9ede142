#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto.h"

static const struct {
    const char *in;
    const char *b64url;
} b64_cases[] = {
    {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},       {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"},
};

START_TEST(b64url_roundtrip)
{
    const char *in = b64_cases[_i].in;
    char *enc = crypto_b64url(in, strlen(in));
    size_t outlen = 99;
    uint8_t *dec;

    ck_assert_str_eq(enc, b64_cases[_i].b64url);
    dec = crypto_b64url_decode(enc, strlen(enc), &outlen);
    ck_assert_ptr_nonnull(dec);
    ck_assert_uint_eq(outlen, strlen(in));
    ck_assert(memcmp(dec, in, outlen) == 0);
    free(enc);
    free(dec);
}
END_TEST

START_TEST(b64url_decode_rejects_invalid)
{
    static const char *const bad[] = {"Zg==", "Z", "Zh", "Zm9v+", "Zm9v/", "a b", "Zm8="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n;
        ck_assert_msg(crypto_b64url_decode(bad[i], strlen(bad[i]), &n) == NULL, "accepted %s",
                      bad[i]);
    }
}
END_TEST

START_TEST(sha256_known_vector)
{
    uint8_t out[32];
    char *hex;
    crypto_sha256("abc", 3, out);
    hex = crypto_hex(out, sizeof(out));
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(hex);
}
END_TEST

/* Key 00..0f and message 00 01 02 ..., the inputs of SipHash's reference
 * vectors. The expected outputs are those of OpenSSL's SIPHASH with a
 * 16-byte size. */
START_TEST(siphash128_known_vectors)
{
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        {0, "a3817f04ba25a8e66df67214c7550293"},
        {1, "da87c1d86b99af44347659119b22fc45"},
        {15, "5493e99933b0a8117e08ec0f97cfc3d9"},
    };
    uint8_t key[16], msg[16], out[16];

    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t)i;
        msg[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crypto_siphash128(key, msg, cases[i].len, out);
        char *hex = crypto_hex(out, sizeof out);
        ck_assert_str_eq(hex, cases[i].hex);
        free(hex);
    }
}
END_TEST

/* Random keys and messages of every length up to 80 bytes (several whole
 * blocks and each remainder) against OpenSSL's SipHash. */
START_TEST(siphash128_matches_openssl)
{
    size_t size = 16;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    uint8_t key[16], msg[80], ours[16], theirs[16];

    ck_assert_ptr_nonnull(ctx);
    for (size_t len = 0; len <= sizeof msg; len++) {
        size_t n = 0;

        ck_assert_int_eq(crypto_random(key, sizeof key), 0);
        ck_assert_int_eq(crypto_random(msg, sizeof msg), 0);
        crypto_siphash128(key, msg, len, ours);
        ck_assert_int_eq(EVP_MAC_init(ctx, key, sizeof key, params), 1);
        ck_assert_int_eq(EVP_MAC_update(ctx, msg, len), 1);
        ck_assert_int_eq(EVP_MAC_final(ctx, theirs, &n, sizeof theirs), 1);
        ck_assert_uint_eq(n, 16);
        ck_assert_mem_eq(ours, theirs, 16);
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}
END_TEST

START_TEST(equal_compares_bytes)
{
    ck_assert_int_eq(crypto_equal("abcd", "abcd", 4), 1);
    ck_assert_int_eq(crypto_equal("abcd", "abce", 4), 0);
    ck_assert_int_eq(crypto_equal("abcd", "xbcd", 0), 1);
}
END_TEST

static void check_uuid_shape(const char *u, char version)
{
    ck_assert_uint_eq(strlen(u), 36);
    ck_assert_int_eq(u[8], '-');
    ck_assert_int_eq(u[13], '-');
    ck_assert_int_eq(u[18], '-');
    ck_assert_int_eq(u[23], '-');
    ck_assert_int_eq(u[14], version);
    ck_assert(strchr("89ab", u[19]) != NULL);
    for (int i = 0; i < 36; i++)
        ck_assert(u[i] == '-' || strchr("0123456789abcdef", u[i]));
}

START_TEST(uuid4_format)
{
    char a[37];
    char b[37];
    ck_assert_int_eq(crypto_uuid4(a), 0);
    ck_assert_int_eq(crypto_uuid4(b), 0);
    check_uuid_shape(a, '4');
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(uuid7_sorts_in_creation_order)
{
    char prev[37];
    char cur[37];
    ck_assert_int_eq(crypto_uuid7(prev), 0);
    check_uuid_shape(prev, '7');
    /* Many ids within the same millisecond exercise the counter and its
     * overflow into the timestamp. */
    for (int i = 0; i < 20000; i++) {
        ck_assert_int_eq(crypto_uuid7(cur), 0);
        ck_assert_msg(strcmp(prev, cur) < 0, "%s not after %s", cur, prev);
        memcpy(prev, cur, sizeof(cur));
    }
    check_uuid_shape(cur, '7');
}
END_TEST

/* The random part of a UUIDv7: octets 8 to 15 as text, the variant bits
 * included (they are the same in every id). */
static void uuid7_random_part(const char id[37], char out[17])
{
    memcpy(out, id + 19, 4);
    memcpy(out + 4, id + 24, 12);
    out[16] = '\0';
}

START_TEST(uuid7_random_parts_differ)
{
    enum { N = 5000 };
    static char parts[N][17];
    char id[37];

    /* Far more ids than one fill of the random pool. */
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(crypto_uuid7(id), 0);
        uuid7_random_part(id, parts[i]);
    }
    qsort(parts, N, sizeof(parts[0]), (int (*)(const void *, const void *))strcmp);
    for (int i = 1; i < N; i++)
        ck_assert_msg(strcmp(parts[i - 1], parts[i]) != 0, "random part %s repeats", parts[i]);
}
END_TEST

START_TEST(uuid7_fork_gets_other_random_bytes)
{
    char parent[37], child[37], a[17], b[17];
    int fds[2];
    pid_t pid;
    int status;

    /* Fill the pool, so that the child would inherit unused bytes. */
    ck_assert_int_eq(crypto_uuid7(parent), 0);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char id[37] = {0};
        int rc = crypto_uuid7(id);

        _exit(rc == 0 && write(fds[1], id, sizeof(id)) == (ssize_t)sizeof(id) ? 0 : 1);
    }
    ck_assert_int_eq(crypto_uuid7(parent), 0);
    ck_assert_int_eq(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    close(fds[1]);
    check_uuid_shape(child, '7');
    uuid7_random_part(parent, a);
    uuid7_random_part(child, b);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(token_has_prefix_and_length)
{
    char *t = crypto_token("scim_", 32);
    ck_assert_ptr_nonnull(t);
    ck_assert(strncmp(t, "scim_", 5) == 0);
    ck_assert_uint_eq(strlen(t), 5 + 43);
    free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, b64url_roundtrip, 0, sizeof(b64_cases) / sizeof(b64_cases[0]));
    tcase_add_test(tc, b64url_decode_rejects_invalid);
    tcase_add_test(tc, sha256_known_vector);
    tcase_add_test(tc, siphash128_known_vectors);
    tcase_add_test(tc, siphash128_matches_openssl);
    tcase_add_test(tc, equal_compares_bytes);
    tcase_add_test(tc, uuid4_format);
    tcase_add_test(tc, uuid7_sorts_in_creation_order);
    tcase_add_test(tc, uuid7_random_parts_differ);
    tcase_add_test(tc, uuid7_fork_gets_other_random_bytes);
    tcase_add_test(tc, token_has_prefix_and_length);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
