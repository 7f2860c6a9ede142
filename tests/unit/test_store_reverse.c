/* Unit tests of the store's reverse iteration (store_cursor_seek_before,
 * store_cursor_seek_last_prefix, store_cursor_prev) against real LMDB files
 * in a fresh temporary directory per test. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "store.h"

static char dir[64];
static store *db;

/* Keys chosen around the prefix boundaries: "b" with children, a key of
 * 0xff bytes and keys right after "b"'s range. */
static const char *const keys[] = {"a", "b", "b\x01", "ba", "bz", "b\xff", "b\xff\xff", "c",
                                   "\xff", "\xff\xff"};
#define NKEYS (sizeof keys / sizeof keys[0])

static int fill_job(store_txn *t, void *arg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        int rc = store_put(t, T_META, keys[i], strlen(keys[i]), "v", 1, 0);
        if (rc)
            return rc;
    }
    return 0;
}

static void setup(void)
{
    store_options opt = {0};

    snprintf(dir, sizeof dir, "/tmp/idgate-store-reverse-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    opt.path = dir;
    opt.map_size = 16 << 20;
    ck_assert_int_eq(store_open(&opt, NULL, &db), 0);
    ck_assert_int_eq(store_run(db, fill_job, NULL), 0);
}

static void teardown(void)
{
    char cmd[128];

    store_close(db);
    db = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void expect_key(int rc, const store_val *k, const char *want)
{
    if (!want) {
        ck_assert_int_eq(rc, STORE_NOTFOUND);
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(k->len, strlen(want));
    ck_assert_int_eq(memcmp(k->data, want, k->len), 0);
}

static const struct {
    const char *key;
    const char *want;  /* last key < key, or NULL */
} before_cases[] = {
    {"a", NULL},  {"a\x01", "a"}, {"b", "a"}, {"ba", "b\x01"}, {"bb", "ba"},
    {"c", "b\xff\xff"}, {"d", "c"}, {"\xff", "c"}, {"\xff\xff\xff", "\xff\xff"},
};

START_TEST(seek_before_table)
{
    store_txn *t;
    store_cursor *c;
    store_val k, v;

    ck_assert_int_eq(store_read_begin(db, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_META, &c), 0);
    expect_key(store_cursor_seek_before(c, before_cases[_i].key, strlen(before_cases[_i].key), &k,
                                        &v),
               &k, before_cases[_i].want);
    if (before_cases[_i].want) {
        ck_assert_uint_eq(v.len, 1);
        ck_assert_int_eq(memcmp(v.data, "v", 1), 0);
    }
    store_cursor_close(c);
    store_read_end(t);
}
END_TEST

static const struct {
    const char *prefix;
    const char *want;  /* last key starting with prefix, or NULL */
} prefix_cases[] = {
    {"", "\xff\xff"}, {"a", "a"}, {"b", "b\xff\xff"}, {"b\xff", "b\xff\xff"},
    {"bz", "bz"}, {"bb", NULL}, {"\xff", "\xff\xff"}, {"\xff\xff\xff", NULL}, {"0", NULL},
};

START_TEST(seek_last_prefix_table)
{
    store_txn *t;
    store_cursor *c;
    store_val k;

    ck_assert_int_eq(store_read_begin(db, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_META, &c), 0);
    expect_key(store_cursor_seek_last_prefix(c, prefix_cases[_i].prefix,
                                             strlen(prefix_cases[_i].prefix), &k, NULL),
               &k, prefix_cases[_i].want);
    store_cursor_close(c);
    store_read_end(t);
}
END_TEST

START_TEST(prev_walks_whole_table)
{
    store_txn *t;
    store_cursor *c;
    store_val k;
    size_t i = NKEYS;
    int rc;

    ck_assert_int_eq(store_read_begin(db, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_META, &c), 0);
    for (rc = store_cursor_seek_before(c, NULL, 0, &k, NULL); rc == 0;
         rc = store_cursor_prev(c, &k, NULL)) {
        ck_assert_uint_gt(i, 0);
        i--;
        expect_key(rc, &k, keys[i]);
    }
    ck_assert_int_eq(rc, STORE_NOTFOUND);
    ck_assert_uint_eq(i, 0);
    store_cursor_close(c);
    store_read_end(t);
}
END_TEST

START_TEST(prev_then_next_returns)
{
    store_txn *t;
    store_cursor *c;
    store_val k;

    ck_assert_int_eq(store_read_begin(db, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_META, &c), 0);
    expect_key(store_cursor_seek_last_prefix(c, "b", 1, &k, NULL), &k, "b\xff\xff");
    expect_key(store_cursor_prev(c, &k, NULL), &k, "b\xff");
    expect_key(store_cursor_next(c, &k, NULL), &k, "b\xff\xff");
    expect_key(store_cursor_next(c, &k, NULL), &k, "c");
    store_cursor_close(c);
    store_read_end(t);
}
END_TEST

static int empty_table_job(store_txn *t, void *arg)
{
    store_cursor *c;
    store_val k;
    int *out = arg;

    if (store_cursor_open(t, T_AUDIT, &c))
        return -1;
    out[0] = store_cursor_seek_before(c, NULL, 0, &k, NULL);
    out[1] = store_cursor_seek_last_prefix(c, "x", 1, &k, NULL);
    out[2] = store_cursor_seek_before(c, "x", 1, &k, NULL);
    store_cursor_close(c);
    return 0;
}

START_TEST(empty_table_in_write_job)
{
    int out[3];

    ck_assert_int_eq(store_run(db, empty_table_job, out), 0);
    ck_assert_int_eq(out[0], STORE_NOTFOUND);
    ck_assert_int_eq(out[1], STORE_NOTFOUND);
    ck_assert_int_eq(out[2], STORE_NOTFOUND);
}
END_TEST

START_TEST(invalid_arguments)
{
    char big[STORE_MAX_KEY + 1];
    store_txn *t;
    store_cursor *c;

    memset(big, 'a', sizeof big);
    ck_assert_int_eq(store_cursor_prev(NULL, NULL, NULL), STORE_INVALID);
    ck_assert_int_eq(store_cursor_seek_before(NULL, "a", 1, NULL, NULL), STORE_INVALID);
    ck_assert_int_eq(store_cursor_seek_last_prefix(NULL, "a", 1, NULL, NULL), STORE_INVALID);
    ck_assert_int_eq(store_read_begin(db, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_META, &c), 0);
    ck_assert_int_eq(store_cursor_seek_before(c, big, sizeof big, NULL, NULL), STORE_INVALID);
    ck_assert_int_eq(store_cursor_seek_last_prefix(c, big, sizeof big, NULL, NULL), STORE_INVALID);
    store_cursor_close(c);
    store_read_end(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_reverse");
    TCase *tc = tcase_create("reverse");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, seek_before_table, 0, sizeof before_cases / sizeof before_cases[0]);
    tcase_add_loop_test(tc, seek_last_prefix_table, 0,
                        sizeof prefix_cases / sizeof prefix_cases[0]);
    tcase_add_test(tc, prev_walks_whole_table);
    tcase_add_test(tc, prev_then_next_returns);
    tcase_add_test(tc, empty_table_in_write_job);
    tcase_add_test(tc, invalid_arguments);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
