/* Audit log: recording, listing across accounts, pruning by age and
 * deleting an account's events, on a real LMDB store. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "audit.h"
#include "json.h"
#include "store.h"

#define ACC1 "aaaaaaaa-0000-4000-8000-000000000001"
#define ACC2 "aaaaaaaa-0000-4000-8000-000000000002"

static store *st;
static char dir[64];

/* Writes an event with a chosen time, as audit_record would have then. */
struct old_event {
    const char *account;
    int64_t usec;
};

static int put_old(store_txn *t, void *arg)
{
    struct old_event *e = arg;
    uint8_t key[48];
    const char *val = "{\"kind\":\"user.created\"}";

    memcpy(key, e->account, 36);
    for (int i = 0; i < 8; i++)
        key[36 + i] = (uint8_t)((uint64_t)e->usec >> (56 - 8 * i));
    memset(key + 44, 0, 4);
    return store_put(t, T_AUDIT, key, sizeof key, val, strlen(val), 0);
}

static int record_now(store_txn *t, void *arg)
{
    return audit_record(t, arg, AUDIT_GROUP_CREATED, "test", NULL);
}

struct prune {
    int64_t before;
    unsigned max, deleted;
};

static int run_prune(store_txn *t, void *arg)
{
    struct prune *p = arg;
    return audit_prune(t, p->before, p->max, &p->deleted);
}

static int run_delete(store_txn *t, void *arg)
{
    return audit_delete_account(t, arg);
}

static size_t count_events(const char *account)
{
    store_txn *t;
    json *events = NULL;
    char next[AUDIT_ID_LEN + 1];
    audit_query q = {.limit = 1000};
    size_t n;

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, account, &q, &events, next), 0);
    store_read_end(t);
    n = json_array_size(events);
    json_free(events);
    return n;
}

static void setup(void)
{
    store_options opt = {0};

    snprintf(dir, sizeof dir, "/tmp/test_audit.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    opt.path = dir;
    opt.map_size = 64u << 20;
    ck_assert_int_eq(store_open(&opt, NULL, &st), 0);
    for (int day = 1; day <= 3; day++) {
        struct old_event e1 = {ACC1, (int64_t)day * 86400 * 1000000};
        struct old_event e2 = {ACC2, (int64_t)day * 86400 * 1000000};
        ck_assert_int_eq(store_run(st, put_old, &e1), 0);
        ck_assert_int_eq(store_run(st, put_old, &e2), 0);
    }
    ck_assert_int_eq(store_run(st, record_now, ACC1), 0);
    ck_assert_int_eq(store_run(st, record_now, ACC2), 0);
}

static void teardown(void)
{
    char cmd[128];
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(record_fills_fields)
{
    store_txn *t;
    json *events = NULL;
    char next[AUDIT_ID_LEN + 1];
    audit_query q = {.kind = AUDIT_GROUP_CREATED};
    const json *ev;

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC1, &q, &events, next), 0);
    store_read_end(t);
    ck_assert_uint_eq(json_array_size(events), 1);
    ev = json_array_get(events, 0);
    ck_assert_str_eq(json_get_string(ev, "kind"), AUDIT_GROUP_CREATED);
    ck_assert_str_eq(json_get_string(ev, "actor"), "test");
    ck_assert_str_eq(json_get_string(ev, "account"), ACC1);
    ck_assert_uint_eq(strlen(json_get_string(ev, "id")), AUDIT_ID_LEN);
    ck_assert_int_eq(json_typeof(json_object_get(ev, "details")), JSON_OBJECT);
    ck_assert_str_eq(next, "");
    json_free(events);
}
END_TEST

START_TEST(prune_by_age_all_accounts)
{
    struct prune p = {.before = (int64_t)2 * 86400 * 1000000 + 1, .max = 1000};

    ck_assert_int_eq(store_run(st, run_prune, &p), 0);
    ck_assert_uint_eq(p.deleted, 4);
    ck_assert_uint_eq(count_events(ACC1), 2);
    ck_assert_uint_eq(count_events(ACC2), 2);
}
END_TEST

START_TEST(prune_in_batches)
{
    struct prune p = {.before = audit_now_usec() - 60 * 1000000LL, .max = 2};
    unsigned total = 0;

    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(store_run(st, run_prune, &p), 0);
        total += p.deleted;
        if (p.deleted < p.max)
            break;
    }
    ck_assert_uint_eq(total, 6);
    ck_assert_uint_eq(count_events(ACC1), 1);
    ck_assert_uint_eq(count_events(ACC2), 1);
}
END_TEST

START_TEST(delete_account_events)
{
    ck_assert_int_eq(store_run(st, run_delete, ACC1), 0);
    ck_assert_uint_eq(count_events(ACC1), 0);
    ck_assert_uint_eq(count_events(ACC2), 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("log");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, record_fills_fields);
    tcase_add_test(tc, prune_by_age_all_accounts);
    tcase_add_test(tc, prune_in_batches);
    tcase_add_test(tc, delete_account_events);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
