#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "oidc/session.h"
#include "oidc/subjects.h"
#include "store.h"

#define ACC "11111111-1111-4111-8111-111111111111"
#define ACC2 "22222222-2222-4222-8222-222222222222"
#define USER_A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define USER_B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define ISS "https://example.okta.com"
#define ISS2 "https://login.example.net/tenant/v2.0"

static store *st;
static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/idgate-test-subjects-XXXXXX");
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

/* Arguments of the store jobs below. */
typedef struct job {
    const char *account;
    const char *user;
    const char *issuer;
    const char *sub;
    int replace;
} job;

static void user_key(const char *account, const char *user, char key[2 * STORE_ID_LEN])
{
    memcpy(key, account, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, user, STORE_ID_LEN);
}

static int put_user_job(store_txn *t, void *arg)
{
    job *j = arg;
    char key[2 * STORE_ID_LEN];
    user_key(j->account, j->user, key);
    return store_put(t, T_USERS, key, sizeof key, "{}", 2, 0);
}

static int put_inactive_user_job(store_txn *t, void *arg)
{
    job *j = arg;
    char key[2 * STORE_ID_LEN];
    static const char record[] = "{\"active\":false}";
    user_key(j->account, j->user, key);
    return store_put(t, T_USERS, key, sizeof key, record, sizeof record - 1, 0);
}

static int delete_record_job(store_txn *t, void *arg)
{
    job *j = arg;
    char key[2 * STORE_ID_LEN];
    user_key(j->account, j->user, key);
    return store_del(t, T_USERS, key, sizeof key);
}

/* Deletes the user as the SCIM service does: the record, then the event
 * that ends the user's sessions. */
/* Deletes the user as the SCIM deletion event does: the record, then the
 * sessions, then the subject links. */
static int delete_user_job(store_txn *t, void *arg)
{
    job *j = arg;
    int rc = delete_record_job(t, arg);

    if (rc == 0)
        rc = oidc_sessions_revoke_user(t, j->account, j->user);
    if (rc == 0)
        rc = oidc_subjects_unlink_user(t, j->account, j->user);
    return rc;
}

static int revoke_job(store_txn *t, void *arg)
{
    job *j = arg;
    return oidc_sessions_revoke_user(t, j->account, j->user);
}

static int link_job(store_txn *t, void *arg)
{
    job *j = arg;
    return oidc_subject_link(t, j->account, j->user, j->issuer, j->sub, 1000, j->replace, NULL);
}

/* Arguments and result of link_result_job. */
typedef struct link_call {
    job args;
    oidc_link_result result;
} link_call;

static int link_result_job(store_txn *t, void *arg)
{
    link_call *call = arg;
    job *j = &call->args;
    return oidc_subject_link(t, j->account, j->user, j->issuer, j->sub, 1000, j->replace,
                             &call->result);
}

static void add_user(const char *account, const char *user)
{
    job j = {.account = account, .user = user};
    ck_assert_int_eq(store_run(st, put_user_job, &j), 0);
}

static int link(const char *account, const char *user, const char *issuer, const char *sub,
                int replace)
{
    job j = {account, user, issuer, sub, replace};
    return store_run(st, link_job, &j);
}

/* Returns the result of oidc_subject_find and the user it found ("" when none). */
static int find(const char *account, const char *issuer, const char *sub, char user[40])
{
    store_txn *t;
    user[0] = '\0';
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = oidc_subject_find(t, account, issuer, sub, user);
    store_read_end(t);
    return rc;
}

static int other(const char *account, const char *user, const char *issuer, const char *sub)
{
    store_txn *t;
    int result = -1;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(oidc_subject_other(t, account, user, issuer, sub, &result), 0);
    store_read_end(t);
    return result;
}

static uint64_t count(enum store_table tab, const char *account)
{
    store_txn *t;
    uint64_t n = 0;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(store_count_prefix(t, tab, account, STORE_ID_LEN, &n), 0);
    store_read_end(t);
    return n;
}

START_TEST(link_then_find)
{
    char user[40];
    add_user(ACC, USER_A);
    ck_assert_int_eq(find(ACC, ISS, "00u1", user), STORE_NOTFOUND);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    ck_assert_int_eq(find(ACC, ISS, "00u1", user), 0);
    ck_assert_str_eq(user, USER_A);
    /* Linking again is a no-op. */
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 1);
    ck_assert_int_eq(count(T_USER_SUBJECTS, ACC), 1);
}
END_TEST

START_TEST(find_is_scoped)
{
    char user[40];
    add_user(ACC, USER_A);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    ck_assert_int_eq(find(ACC2, ISS, "00u1", user), STORE_NOTFOUND);
    ck_assert_int_eq(find(ACC, ISS2, "00u1", user), STORE_NOTFOUND);
    ck_assert_int_eq(find(ACC, ISS, "00u2", user), STORE_NOTFOUND);
    /* The issuer and sub are hashed with a separator, so moving a character
     * across the boundary names another subject. */
    ck_assert_int_eq(find(ACC, ISS "0", "0u1", user), STORE_NOTFOUND);
    ck_assert_int_eq(find(ACC, ISS, "", user), STORE_NOTFOUND);
}
END_TEST

START_TEST(other_subject_of_issuer)
{
    add_user(ACC, USER_A);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    ck_assert_int_eq(other(ACC, USER_A, ISS, "00u1"), 0);
    ck_assert_int_eq(other(ACC, USER_A, ISS, "00u-mallory"), 1);
    /* A link to another issuer does not stand in the way. */
    ck_assert_int_eq(other(ACC, USER_A, ISS2, "someone"), 0);
    ck_assert_int_eq(other(ACC, USER_B, ISS, "00u-mallory"), 0);
}
END_TEST

START_TEST(link_refuses_second_subject)
{
    char user[40];
    add_user(ACC, USER_A);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u-mallory", 0), STORE_EXISTS);
    ck_assert_int_eq(find(ACC, ISS, "00u-mallory", user), STORE_NOTFOUND);
    /* Another issuer's subject may be linked as well. */
    ck_assert_int_eq(link(ACC, USER_A, ISS2, "entra-oid", 0), 0);
    ck_assert_int_eq(count(T_USER_SUBJECTS, ACC), 2);
}
END_TEST

START_TEST(link_refuses_subject_of_other_user)
{
    char user[40];
    add_user(ACC, USER_A);
    add_user(ACC, USER_B);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    ck_assert_int_eq(link(ACC, USER_B, ISS, "00u1", 0), STORE_EXISTS);
    ck_assert_int_eq(find(ACC, ISS, "00u1", user), 0);
    ck_assert_str_eq(user, USER_A);
}
END_TEST

START_TEST(replace_moves_links)
{
    char user[40];
    add_user(ACC, USER_A);
    add_user(ACC, USER_B);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    ck_assert_int_eq(link(ACC, USER_B, ISS, "00u2", 0), 0);
    /* USER_B's externalId now names 00u1. */
    ck_assert_int_eq(link(ACC, USER_B, ISS, "00u1", 1), 0);
    ck_assert_int_eq(find(ACC, ISS, "00u1", user), 0);
    ck_assert_str_eq(user, USER_B);
    ck_assert_int_eq(find(ACC, ISS, "00u2", user), STORE_NOTFOUND);
    ck_assert_int_eq(other(ACC, USER_A, ISS, "00u9"), 0);
    ck_assert_int_eq(other(ACC, USER_B, ISS, "00u1"), 0);
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 1);
    ck_assert_int_eq(count(T_USER_SUBJECTS, ACC), 1);
}
END_TEST

START_TEST(deleted_user_link_ignored)
{
    char user[40];
    job del = {.account = ACC, .user = USER_A};
    add_user(ACC, USER_A);
    add_user(ACC, USER_B);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    /* Remove the record alone, as if the links had been left behind. */
    ck_assert_int_eq(store_run(st, delete_record_job, &del), 0);
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 1);
    ck_assert_int_eq(find(ACC, ISS, "00u1", user), STORE_NOTFOUND);
    ck_assert_int_eq(link(ACC, USER_B, ISS, "00u1", 0), 0);
    ck_assert_int_eq(find(ACC, ISS, "00u1", user), 0);
    ck_assert_str_eq(user, USER_B);
}
END_TEST

START_TEST(user_deletion_removes_links)
{
    job a = {.account = ACC, .user = USER_A};
    add_user(ACC, USER_A);
    add_user(ACC, USER_B);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), 0);
    ck_assert_int_eq(link(ACC, USER_A, ISS2, "entra-oid", 0), 0);
    ck_assert_int_eq(link(ACC, USER_B, ISS, "00u2", 0), 0);

    /* Deactivation keeps the user record and its links. */
    ck_assert_int_eq(store_run(st, revoke_job, &a), 0);
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 3);

    ck_assert_int_eq(store_run(st, delete_user_job, &a), 0);
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 1);
    ck_assert_int_eq(count(T_USER_SUBJECTS, ACC), 1);
    ck_assert_int_eq(other(ACC, USER_A, ISS, "anyone"), 0);
}
END_TEST

START_TEST(unlink_many_issuers)
{
    job a = {.account = ACC, .user = USER_A};
    char issuer[64];
    add_user(ACC, USER_A);
    for (int i = 0; i < 40; i++) {
        snprintf(issuer, sizeof issuer, "https://idp%02d.example.com", i);
        ck_assert_int_eq(link(ACC, USER_A, issuer, "sub", 0), 0);
    }
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 40);
    ck_assert_int_eq(store_run(st, delete_user_job, &a), 0);
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 0);
    ck_assert_int_eq(count(T_USER_SUBJECTS, ACC), 0);
}
END_TEST

START_TEST(link_missing_user_rejected)
{
    char user[40];
    job del = {.account = ACC, .user = USER_A};
    /* A user that never existed, and one deleted between the read and the write. */
    ck_assert_int_eq(link(ACC, USER_B, ISS, "00u2", 0), STORE_NOTFOUND);
    add_user(ACC, USER_A);
    ck_assert_int_eq(store_run(st, delete_record_job, &del), 0);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), STORE_NOTFOUND);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 1), STORE_NOTFOUND);
    ck_assert_int_eq(find(ACC, ISS, "00u1", user), STORE_NOTFOUND);
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 0);
    ck_assert_int_eq(count(T_USER_SUBJECTS, ACC), 0);
}
END_TEST

START_TEST(link_inactive_user_rejected)
{
    job a = {.account = ACC, .user = USER_A};
    ck_assert_int_eq(store_run(st, put_inactive_user_job, &a), 0);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 0), STORE_NOTFOUND);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "00u1", 1), STORE_NOTFOUND);
    ck_assert_int_eq(count(T_SUBJECTS, ACC), 0);
    ck_assert_int_eq(count(T_USER_SUBJECTS, ACC), 0);
}
END_TEST

START_TEST(link_result_reports_writes)
{
    link_call first = {.args = {ACC, USER_A, ISS, "00u1", 0}};
    link_call again = {.args = {ACC, USER_A, ISS, "00u1", 0}};
    link_call moved = {.args = {ACC, USER_B, ISS, "00u1", 1}};
    add_user(ACC, USER_A);
    add_user(ACC, USER_B);

    ck_assert_int_eq(store_run(st, link_result_job, &first), 0);
    ck_assert_int_eq(first.result.created, 1);
    ck_assert_str_eq(first.result.previous_user, "");

    ck_assert_int_eq(store_run(st, link_result_job, &again), 0);
    ck_assert_int_eq(again.result.created, 0);

    /* An externalId match moves the subject from USER_A to USER_B. */
    ck_assert_int_eq(store_run(st, link_result_job, &moved), 0);
    ck_assert_int_eq(moved.result.created, 1);
    ck_assert_str_eq(moved.result.previous_user, USER_A);
}
END_TEST

START_TEST(invalid_arguments)
{
    add_user(ACC, USER_A);
    ck_assert_int_eq(link(ACC, USER_A, ISS, "", 0), STORE_INVALID);
    ck_assert_int_eq(link(ACC, "short", ISS, "00u1", 0), STORE_INVALID);
    ck_assert_int_eq(link("short", USER_A, ISS, "00u1", 0), STORE_INVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("subjects");
    TCase *tc = tcase_create("links");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, link_then_find);
    tcase_add_test(tc, find_is_scoped);
    tcase_add_test(tc, other_subject_of_issuer);
    tcase_add_test(tc, link_refuses_second_subject);
    tcase_add_test(tc, link_refuses_subject_of_other_user);
    tcase_add_test(tc, replace_moves_links);
    tcase_add_test(tc, deleted_user_link_ignored);
    tcase_add_test(tc, user_deletion_removes_links);
    tcase_add_test(tc, unlink_many_issuers);
    tcase_add_test(tc, link_missing_user_rejected);
    tcase_add_test(tc, link_inactive_user_rejected);
    tcase_add_test(tc, link_result_reports_writes);
    tcase_add_test(tc, invalid_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
