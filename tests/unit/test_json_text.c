#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "json.h"

/* Values written through json_text_value come out as json_dump writes
 * them, between raw pieces. */
static const char *const values[] = {
    "{}",
    "[1,true,null,\"x\"]",
    "{\"a\":{\"b\":[\"caf\xc3\xa9\"]},\"c\":-0.5e3}",
    "\"quote\\\" backslash\\\\ control\\u0001\"",
};

START_TEST(text_value_matches_dump)
{
    json *j = json_parse(values[_i], strlen(values[_i]), NULL, 0);
    json_text t = {0};
    char *dumped, *text, *expected;
    size_t len = 0;

    ck_assert_ptr_nonnull(j);
    dumped = json_dump(j, NULL);
    json_text_raw(&t, "[", 1);
    json_text_value(&t, j);
    json_text_raw(&t, ",", 1);
    json_text_string(&t, "k\"\n");
    json_text_raw(&t, "]", 1);
    text = json_text_take(&t, &len);
    expected = malloc(strlen(dumped) + 16);
    strcpy(expected, "[");
    strcat(expected, dumped);
    strcat(expected, ",\"k\\\"\\n\"]");
    ck_assert_str_eq(text, expected);
    ck_assert_uint_eq(len, strlen(expected));
    ck_assert_ptr_null(t.buf);
    free(expected);
    free(text);
    free(dumped);
    json_free(j);
}
END_TEST

/* A text longer than the first buffer grows. */
START_TEST(text_grows)
{
    json_text t = {0};
    char *text;
    size_t len = 0;

    for (int i = 0; i < 1000; i++)
        json_text_string(&t, "0123456789");
    text = json_text_take(&t, &len);
    ck_assert_uint_eq(len, 12000);
    ck_assert_int_eq(strncmp(text, "\"0123456789\"\"0123456789\"", 24), 0);
    free(text);
}
END_TEST

/* A string that is not UTF-8 fails the whole text, and later calls change
 * nothing. */
START_TEST(text_invalid_string_fails)
{
    json_text t = {0};
    size_t len = 7;

    json_text_raw(&t, "[", 1);
    json_text_string(&t, "bad \xff byte");
    json_text_raw(&t, "]", 1);
    ck_assert_int_eq(t.failed, 1);
    ck_assert_ptr_null(json_text_take(&t, &len));
    ck_assert_uint_eq(len, 7);
    ck_assert_ptr_null(t.buf);
    ck_assert_int_eq(t.failed, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("json_text");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, text_value_matches_dump, 0, sizeof values / sizeof values[0]);
    tcase_add_test(tc, text_grows);
    tcase_add_test(tc, text_invalid_string_fails);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
