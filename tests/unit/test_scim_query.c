/* Unit tests of the SCIM list parameter parsers: integers, paging limits,
 * sortOrder and sortBy. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "scim/query.h"

static const struct {
    const char *text;
    int ok;
    long value;
} longs[] = {
    {"1", 1, 1},          {"0", 1, 0},
    {"-5", 1, -1},        {"2147483648", 1, 2147483647},
    {"99999999999999999999999", 1, 2147483647},
    {"-99999999999999999999999", 1, -1},
    {"", 1, 42},          {"abc", 0, 42},
    {"5x", 0, 42},        {"1.5", 0, 42},
    {"-", 0, 42},
};

START_TEST(query_long_cases)
{
    long v = 42;
    scim_error err = {0};
    int rc = scim_query_long("count", longs[_i].text, &v, &err);
    ck_assert_msg((rc == 0) == longs[_i].ok, "\"%s\"", longs[_i].text);
    ck_assert_int_eq(v, longs[_i].value);
    if (!longs[_i].ok) {
        ck_assert_int_eq(err.status, 400);
        ck_assert_str_eq(err.scim_type, "invalidValue");
        ck_assert_ptr_nonnull(strstr(err.detail, "count"));
    }
}
END_TEST

static const struct {
    long start, count, max;
    long want_start, want_count;
} clamps[] = {
    {0, -1, 10, 1, 0}, {-7, 5, 10, 1, 5}, {3, 11, 10, 3, 10}, {2147483647, 2147483647, 1000,
                                                              2147483647, 1000},
};

START_TEST(query_clamp_cases)
{
    long start = clamps[_i].start, count = clamps[_i].count;
    scim_query_clamp(&start, &count, clamps[_i].max);
    ck_assert_int_eq(start, clamps[_i].want_start);
    ck_assert_int_eq(count, clamps[_i].want_count);
}
END_TEST

static const struct {
    const char *order;
    int ok, descending;
} orders[] = {
    {NULL, 1, 0}, {"", 1, 0}, {"ascending", 1, 0}, {"Descending", 1, 1}, {"desc", 0, 0},
};

START_TEST(query_sort_order_cases)
{
    int descending = 7;
    scim_error err = {0};
    int rc = scim_query_sort_order(orders[_i].order, &descending, &err);
    ck_assert_int_eq(rc == 0, orders[_i].ok);
    if (orders[_i].ok)
        ck_assert_int_eq(descending, orders[_i].descending);
    else
        ck_assert_int_eq(err.status, 400);
}
END_TEST

static const struct {
    int users;
    const char *sort_by;
    int ok;
    const char *attr, *sub;
} sorts[] = {
    {1, "userName", 1, "userName", NULL},
    {1, "name.familyName", 1, "name", "familyName"},
    {1, "emails", 1, "emails", "value"},
    {1, "name", 0, NULL, NULL},
    {1, "nosuch", 0, NULL, NULL},
    {1, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", 1,
     "employeeNumber", NULL},
    {0, "displayName", 1, "displayName", NULL},
    {0, "members", 1, "members", "value"},
    {0, "userName", 0, NULL, NULL},
};

START_TEST(query_sort_by_cases)
{
    const scim_attr *attr = NULL, *sub = NULL;
    const scim_schema *schema = NULL;
    scim_error err = {0};
    const scim_schema_resource *res = sorts[_i].users ? scim_schema_user() : scim_schema_group();
    int rc = scim_query_sort_by(res, sorts[_i].users ? "User" : "Group", sorts[_i].sort_by, &attr,
                                &sub, &schema, &err);

    ck_assert_msg((rc == 0) == sorts[_i].ok, "%s", sorts[_i].sort_by);
    if (!sorts[_i].ok) {
        ck_assert_int_eq(err.status, 400);
        ck_assert_ptr_nonnull(strstr(err.detail, sorts[_i].sort_by));
        return;
    }
    ck_assert_str_eq(attr->name, sorts[_i].attr);
    if (sorts[_i].sub)
        ck_assert_str_eq(sub->name, sorts[_i].sub);
    else
        ck_assert_ptr_null(sub);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scim_query");
    TCase *tc = tcase_create("parsers");

    tcase_add_loop_test(tc, query_long_cases, 0, sizeof longs / sizeof longs[0]);
    tcase_add_loop_test(tc, query_clamp_cases, 0, sizeof clamps / sizeof clamps[0]);
    tcase_add_loop_test(tc, query_sort_order_cases, 0, sizeof orders / sizeof orders[0]);
    tcase_add_loop_test(tc, query_sort_by_cases, 0, sizeof sorts / sizeof sorts[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
