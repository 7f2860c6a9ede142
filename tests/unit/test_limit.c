#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <check.h>

#include "oidc/limit.h"

#define ACC_A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define ACC_B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

START_TEST(per_key_limit)
{
    oidc_limit *l = oidc_limit_new(600, 3, 100);
    ck_assert_ptr_nonnull(l);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(oidc_limit_take(l, ACC_A, 1000), 1);
    ck_assert_int_eq(oidc_limit_take(l, ACC_A, 1000), 0);
    ck_assert_int_eq(oidc_limit_take(l, ACC_B, 1000), 1);
    oidc_limit_free(l);
}
END_TEST

START_TEST(total_limit)
{
    oidc_limit *l = oidc_limit_new(600, 10, 4);
    char key[40];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        ck_assert_int_eq(oidc_limit_take(l, key, 1000), 1);
    }
    ck_assert_int_eq(oidc_limit_take(l, "key-9", 1000), 0);
    oidc_limit_free(l);
}
END_TEST

START_TEST(windows_expire)
{
    /* Windows are [600, 1200), [1200, 1800), ... An event counts in its own
     * window and the next one. */
    oidc_limit *l = oidc_limit_new(600, 2, 100);
    ck_assert_int_eq(oidc_limit_take(l, ACC_A, 700), 1);
    ck_assert_int_eq(oidc_limit_take(l, ACC_A, 800), 1);
    ck_assert_int_eq(oidc_limit_take(l, ACC_A, 1300), 0);
    ck_assert_int_eq(oidc_limit_take(l, ACC_A, 1900), 1);
    ck_assert_int_eq(oidc_limit_take(l, ACC_A, 3000), 1);
    ck_assert_int_eq(oidc_limit_take(l, ACC_A, 3001), 1);
    ck_assert_int_eq(oidc_limit_take(l, ACC_A, 3002), 0);
    oidc_limit_free(l);
}
END_TEST

START_TEST(many_keys_reuse_stale_slots)
{
    oidc_limit *l = oidc_limit_new(10, 1, 1000000);
    char key[40];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        ck_assert_int_eq(oidc_limit_take(l, key, i), 1);
    }
    /* A key seen in the current window is still counted. */
    ck_assert_int_eq(oidc_limit_take(l, "key-4999", 4999), 0);
    oidc_limit_free(l);
}
END_TEST

START_TEST(untracked_keys_allowed)
{
    oidc_limit *strict = oidc_limit_new(600, 5, 1000000);
    oidc_limit *open = oidc_limit_new(600, 5, 1000000);
    oidc_limit_allow_untracked(open);
    char key[40];
    int strict_denied = 0, open_denied = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
        strict_denied += !oidc_limit_take(strict, key, 1000);
        open_denied += !oidc_limit_take(open, key, 1000);
    }
    ck_assert_int_gt(strict_denied, 0);
    ck_assert_int_eq(open_denied, 0);
    oidc_limit_free(strict);
    oidc_limit_free(open);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limit");
    TCase *tc = tcase_create("limit");
    tcase_add_test(tc, per_key_limit);
    tcase_add_test(tc, total_limit);
    tcase_add_test(tc, windows_expire);
    tcase_add_test(tc, many_keys_reuse_stale_slots);
    tcase_add_test(tc, untracked_keys_allowed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
