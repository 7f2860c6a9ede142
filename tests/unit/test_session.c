#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "oidc/oidc.h"
#include "oidc/session.h"
#include "oidc/sweep.h"
#include "oidc/tx.h"
#include "store.h"

#define ACC "11111111-1111-4111-8111-111111111111"
#define USER_A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define USER_B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

static store *st;
static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/idgate-test-session-XXXXXX");
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

struct put_args {
    const char *id;
    const char *user;
    int64_t expires;
};

static int put_job(store_txn *t, void *arg)
{
    struct put_args *a = arg;
    oidc_session s = {.account = ACC, .created = 1, .expires = a->expires, .last_seen = 1000,
                      .idle = 0};
    snprintf(s.user, sizeof s.user, "%s", a->user);
    s.issuer = "https://example.okta.com";
    s.sub = "00u1example";
    s.id_token = "header.payload.signature";
    return oidc_session_put(t, a->id, &s);
}

static void put(const char *id, const char *user, int64_t expires)
{
    struct put_args a = {id, user, expires};
    ck_assert_int_eq(store_run(st, put_job, &a), 0);
}

static int get_rc(const char *id)
{
    store_txn *t;
    oidc_session s;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = oidc_session_get(t, id, &s);
    if (rc == 0)
        oidc_session_clear(&s);
    store_read_end(t);
    return rc;
}

static int revoke_user_job(store_txn *t, void *arg)
{
    return oidc_sessions_revoke_user(t, ACC, arg);
}

START_TEST(session_roundtrip)
{
    store_txn *t;
    oidc_session s;
    put("sid-1", USER_A, 5000);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(oidc_session_get(t, "sid-1", &s), 0);
    store_read_end(t);
    ck_assert_str_eq(s.account, ACC);
    ck_assert_str_eq(s.user, USER_A);
    ck_assert_str_eq(s.id_token, "header.payload.signature");
    ck_assert_str_eq(s.sub, "00u1example");
    ck_assert_ptr_null(s.refresh);
    ck_assert_int_eq(s.expires, 5000);
    oidc_session_clear(&s);
    ck_assert_int_eq(get_rc("sid-2"), STORE_NOTFOUND);
}
END_TEST

START_TEST(revoke_user_keeps_others)
{
    put("a-1", USER_A, 5000);
    put("a-2", USER_A, 5000);
    put("b-1", USER_B, 5000);
    ck_assert_int_eq(store_run(st, revoke_user_job, USER_A), 0);
    ck_assert_int_eq(get_rc("a-1"), STORE_NOTFOUND);
    ck_assert_int_eq(get_rc("a-2"), STORE_NOTFOUND);
    ck_assert_int_eq(get_rc("b-1"), 0);

    store_txn *t;
    uint64_t n = 99;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(store_count_prefix(t, T_USER_SESSIONS, ACC USER_A, 72, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(store_count_prefix(t, T_USER_SESSIONS, ACC USER_B, 72, &n), 0);
    ck_assert_uint_eq(n, 1);
    store_read_end(t);
}
END_TEST

START_TEST(revoke_user_without_sessions)
{
    ck_assert_int_eq(store_run(st, revoke_user_job, USER_B), 0);
}
END_TEST

static int revoke_account_job(store_txn *t, void *arg)
{
    return oidc_sessions_revoke_account(t, ACC);
}

START_TEST(revoke_account_removes_all)
{
    put("a-1", USER_A, 5000);
    put("b-1", USER_B, 5000);
    ck_assert_int_eq(store_run(st, revoke_account_job, NULL), 0);
    ck_assert_int_eq(get_rc("a-1"), STORE_NOTFOUND);
    ck_assert_int_eq(get_rc("b-1"), STORE_NOTFOUND);
}
END_TEST

START_TEST(expiry_absolute_and_idle)
{
    oidc_session s = {.expires = 5000, .last_seen = 1000, .idle = 600};
    ck_assert_int_eq(oidc_session_expired(&s, 1500), 0);
    ck_assert_int_eq(oidc_session_expired(&s, 1600), 1);
    s.idle = 0;
    ck_assert_int_eq(oidc_session_expired(&s, 4999), 0);
    ck_assert_int_eq(oidc_session_expired(&s, 5000), 1);
}
END_TEST

static int mark_used_job(store_txn *t, void *arg)
{
    oidc_tx tx = {.account = ACC, .expires = *(int64_t *)arg};
    return oidc_tx_mark_used(t, "state-1", &tx, 0);
}

static int used_rc(const char *state)
{
    store_txn *t;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = oidc_tx_used(t, state);
    store_read_end(t);
    return rc;
}

START_TEST(tx_cookie_name_from_state)
{
    char a[32], again[32], legacy_a[32], legacy_b[32];
    oidc_tx_cookie_name("state-1", a);
    oidc_tx_cookie_name("state-1", again);
    ck_assert_uint_eq(strlen(a), strlen("idgate_tx_") + 1);
    ck_assert_str_eq(a, again);

    /* Earlier builds named the cookie with 8 hex digits of the state's hash. */
    oidc_tx_legacy_cookie_name("state-1", legacy_a);
    oidc_tx_legacy_cookie_name("state-2", legacy_b);
    ck_assert_uint_eq(strlen(legacy_a), strlen("idgate_tx_") + 8);
    ck_assert_str_ne(legacy_a, legacy_b);
}
END_TEST

static int sweep_job(store_txn *t, void *arg)
{
    unsigned removed;
    int rc = oidc_sweep_run(t, 3000, &removed);
    *(unsigned *)arg = removed;
    return rc;
}

START_TEST(sweep_removes_expired)
{
    int64_t expires = 2000;
    unsigned removed = 0;
    put("old", USER_A, 2500);
    put("new", USER_A, 9000);
    ck_assert_int_eq(store_run(st, mark_used_job, &expires), 0);
    ck_assert_int_eq(used_rc("state-1"), 1);
    ck_assert_int_eq(store_run(st, sweep_job, &removed), 0);
    ck_assert_uint_eq(removed, 2);
    ck_assert_int_eq(get_rc("old"), STORE_NOTFOUND);
    ck_assert_int_eq(get_rc("new"), 0);
    ck_assert_int_eq(used_rc("state-1"), 0);
}
END_TEST

START_TEST(header_value_safety)
{
    static const struct {
        const char *value;
        int safe;
    } cases[] = {
        {NULL, 1},
        {"", 1},
        {"pat@acme.test", 1},
        {"J\xc3\xb6rg M\xc3\xbcller", 1},
        {"evil\r\nX-Idgate-Tier: pro", 0},
        {"line\nfeed", 0},
        {"carriage\rreturn", 0},
        {"tab\tinside", 0},
        {"delete\x7f", 0},
        {"escape\x1b[0m", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(oidc_header_value_safe(cases[i].value) == cases[i].safe,
                      "case %zu: expected %d", i, cases[i].safe);
}
END_TEST

START_TEST(id_token_sealed)
{
    oidc_state state;
    memset(&state, 0, sizeof state);
    state.key_state = 1;
    memset(state.key.bytes, 7, sizeof state.key.bytes);
    char *box = oidc_id_token_seal(&state, ACC, "header.payload.signature");
    ck_assert_ptr_nonnull(box);
    ck_assert_ptr_null(strstr(box, "payload"));
    char *plain = oidc_id_token_open(&state, ACC, box);
    ck_assert_ptr_nonnull(plain);
    ck_assert_str_eq(plain, "header.payload.signature");
    free(plain);
    /* A box bound to another account does not open. */
    ck_assert_ptr_null(oidc_id_token_open(&state, USER_A, box));
    /* A token stored in plain text by an older version is returned as is. */
    plain = oidc_id_token_open(&state, ACC, "old.plain.token");
    ck_assert_str_eq(plain, "old.plain.token");
    free(plain);
    ck_assert_ptr_null(oidc_id_token_open(&state, ACC, ""));
    free(box);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("session");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, session_roundtrip);
    tcase_add_test(tc, revoke_user_keeps_others);
    tcase_add_test(tc, revoke_user_without_sessions);
    tcase_add_test(tc, revoke_account_removes_all);
    tcase_add_test(tc, expiry_absolute_and_idle);
    tcase_add_test(tc, tx_cookie_name_from_state);
    tcase_add_test(tc, sweep_removes_expired);
    tcase_add_test(tc, header_value_safety);
    tcase_add_test(tc, id_token_sealed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
