#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "oidc/login_keys.h"
#include "oidc/oidc.h"
#include "oidc/tx.h"
#include "store.h"

#define ACC "11111111-1111-4111-8111-111111111111"
#define DAY OIDC_LOGIN_KEY_LIFETIME

static store *st;
static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/idgate-test-login-tx-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    store_options opt = {.path = dir, .map_size = 16 << 20};
    ck_assert_int_eq(store_open(&opt, NULL, &st), 0);
}

static void teardown(void)
{
    char cmd[128];
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static oidc_login_keys test_keys(uint8_t current, uint8_t previous)
{
    oidc_login_keys keys = {.has_previous = previous != 0, .created = 1000};
    memset(keys.current.bytes, current, sizeof keys.current.bytes);
    memset(keys.previous.bytes, previous, sizeof keys.previous.bytes);
    return keys;
}

static oidc_tx test_tx(void)
{
    oidc_tx tx = {.account = ACC, .issuer = "https://acme.okta.test", .nonce = "nonce-1",
                  .verifier = "verifier-1", .target = "/app?x=1", .expires = 4000};
    return tx;
}

START_TEST(sealed_tx_roundtrip)
{
    oidc_login_keys keys = test_keys(1, 0);
    oidc_tx tx = test_tx(), out;
    char *sealed = NULL;
    ck_assert_int_eq(oidc_tx_seal(&keys, "state-1", &tx, &sealed), 0);
    ck_assert_ptr_null(strstr(sealed, "verifier"));
    ck_assert_ptr_null(strstr(sealed, "okta"));
    ck_assert_int_eq(oidc_tx_open(&keys, "state-1", sealed, &out), 0);
    ck_assert_str_eq(out.account, ACC);
    ck_assert_str_eq(out.issuer, tx.issuer);
    ck_assert_str_eq(out.nonce, tx.nonce);
    ck_assert_str_eq(out.verifier, tx.verifier);
    ck_assert_str_eq(out.target, tx.target);
    ck_assert_int_eq(out.expires, 4000);
    oidc_tx_clear(&out);
    free(sealed);
}
END_TEST

START_TEST(sealed_tx_rejects_misuse)
{
    oidc_login_keys keys = test_keys(1, 0), other = test_keys(2, 3);
    oidc_tx tx = test_tx(), out;
    char *sealed = NULL;
    ck_assert_int_eq(oidc_tx_seal(&keys, "state-1", &tx, &sealed), 0);

    /* Another state, another key and an altered byte each fail. */
    ck_assert_int_eq(oidc_tx_open(&keys, "state-2", sealed, &out), SECRETBOX_ERR_AUTH);
    ck_assert_int_eq(oidc_tx_open(&other, "state-1", sealed, &out), SECRETBOX_ERR_AUTH);
    size_t mid = strlen(sealed) / 2;
    sealed[mid] = sealed[mid] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(oidc_tx_open(&keys, "state-1", sealed, &out), SECRETBOX_ERR_AUTH);

    ck_assert_int_ne(oidc_tx_open(&keys, "state-1", "", &out), 0);
    ck_assert_int_ne(oidc_tx_open(&keys, "state-1", "v1.", &out), 0);
    ck_assert_int_ne(oidc_tx_open(&keys, "state-1", "not a box", &out), 0);
    free(sealed);
}
END_TEST

START_TEST(previous_key_still_opens)
{
    oidc_login_keys old = test_keys(1, 0), rotated = test_keys(2, 1), later = test_keys(3, 2);
    oidc_tx tx = test_tx(), out;
    char *sealed = NULL;
    ck_assert_int_eq(oidc_tx_seal(&old, "state-1", &tx, &sealed), 0);
    ck_assert_int_eq(oidc_tx_open(&rotated, "state-1", sealed, &out), 0);
    oidc_tx_clear(&out);
    ck_assert_int_eq(oidc_tx_open(&later, "state-1", sealed, &out), SECRETBOX_ERR_AUTH);
    free(sealed);
}
END_TEST

START_TEST(long_state_rejected)
{
    oidc_login_keys keys = test_keys(1, 0);
    oidc_tx tx = test_tx(), out;
    char state[600], *sealed = NULL;
    memset(state, 's', sizeof state - 1);
    state[sizeof state - 1] = '\0';
    ck_assert_int_eq(oidc_tx_seal(&keys, state, &tx, &sealed), SECRETBOX_ERR_FORMAT);
    ck_assert_ptr_null(sealed);
    ck_assert_int_eq(oidc_tx_open(&keys, state, "v1.AAAA", &out), SECRETBOX_ERR_FORMAT);
}
END_TEST

static int mark_used_job(store_txn *t, void *arg)
{
    oidc_tx tx = test_tx();
    return oidc_tx_mark_used(t, arg, &tx);
}

static int used(const char *state)
{
    store_txn *t;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = oidc_tx_used(t, state);
    store_read_end(t);
    return rc;
}

START_TEST(state_used_once)
{
    ck_assert_int_eq(used("state-1"), 0);
    ck_assert_int_eq(store_run(st, mark_used_job, "state-1"), 0);
    ck_assert_int_eq(used("state-1"), 1);
    ck_assert_int_eq(store_run(st, mark_used_job, "state-1"), STORE_EXISTS);
    ck_assert_int_eq(used("state-2"), 0);
}
END_TEST

struct update_args {
    int64_t now;
    oidc_login_keys keys;
};

static int update_job(store_txn *t, void *arg)
{
    struct update_args *a = arg;
    return oidc_login_keys_update(t, a->now, &a->keys);
}

static oidc_login_keys update_at(int64_t now)
{
    struct update_args a = {.now = now};
    ck_assert_int_eq(store_run(st, update_job, &a), 0);
    return a.keys;
}

static oidc_login_keys read_keys(int expected_rc)
{
    store_txn *t;
    oidc_login_keys keys;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(oidc_login_keys_read(t, &keys), expected_rc);
    store_read_end(t);
    return keys;
}

START_TEST(keys_created_then_kept)
{
    read_keys(STORE_NOTFOUND);
    oidc_login_keys first = update_at(1000);
    ck_assert_int_eq(first.created, 1000);
    ck_assert_int_eq(first.has_previous, 0);

    /* A second instance within the lifetime finds the same key. */
    oidc_login_keys again = update_at(1000 + DAY - 1);
    ck_assert_mem_eq(again.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_int_eq(again.created, 1000);

    oidc_login_keys stored = read_keys(0);
    ck_assert_mem_eq(stored.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);
}
END_TEST

START_TEST(keys_rotate_after_lifetime)
{
    oidc_login_keys first = update_at(1000);
    ck_assert_int_eq(oidc_login_keys_due(&first, 1000 + DAY - 1), 0);
    ck_assert_int_eq(oidc_login_keys_due(&first, 1000 + DAY), 1);
    /* An instance whose clock is behind keeps a key from the near future. */
    ck_assert_int_eq(oidc_login_keys_due(&first, 990), 0);
    ck_assert_int_eq(oidc_login_keys_due(&first, 1000 - DAY), 1);

    oidc_login_keys second = update_at(1000 + DAY);
    ck_assert_int_eq(second.created, 1000 + DAY);
    ck_assert_int_eq(second.has_previous, 1);
    ck_assert_mem_eq(second.previous.bytes, first.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_ne(second.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);

    /* The next rotation drops the first key. */
    oidc_login_keys third = update_at(1000 + 2 * DAY);
    ck_assert_mem_eq(third.previous.bytes, second.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_ne(third.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);
}
END_TEST

static int damage_job(store_txn *t, void *arg)
{
    return store_put(t, T_META, OIDC_LOGIN_KEYS_NAME, strlen(OIDC_LOGIN_KEYS_NAME), "{}", 2, 0);
}

START_TEST(damaged_keys_replaced)
{
    ck_assert_int_eq(store_run(st, damage_job, NULL), 0);
    read_keys(STORE_IO);
    oidc_login_keys keys = update_at(5000);
    ck_assert_int_eq(keys.created, 5000);
    ck_assert_int_eq(keys.has_previous, 0);
    read_keys(0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("login_tx");
    TCase *tc = tcase_create("login_tx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sealed_tx_roundtrip);
    tcase_add_test(tc, sealed_tx_rejects_misuse);
    tcase_add_test(tc, previous_key_still_opens);
    tcase_add_test(tc, long_state_rejected);
    tcase_add_test(tc, state_used_once);
    tcase_add_test(tc, keys_created_then_kept);
    tcase_add_test(tc, keys_rotate_after_lifetime);
    tcase_add_test(tc, damaged_keys_replaced);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
