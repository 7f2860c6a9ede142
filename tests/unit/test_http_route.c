#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "http.h"
#include "http_internal.h"

static void h_users(http_req *r, void *arg) {}
static void h_user(http_req *r, void *arg) {}
static void h_search(http_req *r, void *arg) {}
static void h_rest(http_req *r, void *arg) {}
static void h_health(http_req *r, void *arg) {}

static route_table *make_table(void)
{
    route_table *t = route_table_new();
    ck_assert_int_eq(route_table_add(t, "/healthz", HTTP_GET, h_health, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/scim/v2/Users", HTTP_GET | HTTP_POST, h_users, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/scim/v2/Users/{}", HTTP_GET, h_user, NULL), 0);
    ck_assert_int_eq(
        route_table_add(t, "/scim/v2/Users/{}", HTTP_PUT | HTTP_PATCH | HTTP_DELETE, h_user, NULL),
        0);
    ck_assert_int_eq(route_table_add(t, "/scim/v2/Users/.search", HTTP_POST, h_search, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/static/*", HTTP_GET, h_rest, NULL), 0);
    return t;
}

static const struct {
    const char *path;
    unsigned method;
    int rc;
    http_handler fn;
    const char *param0;
    unsigned allowed;
} cases[] = {
    {"/healthz", HTTP_GET, 0, h_health, NULL, 0},
    {"/healthz", HTTP_HEAD, 0, h_health, NULL, 0},
    {"/healthzX", HTTP_GET, 2, NULL, NULL, 0},
    {"/healthz/", HTTP_GET, 2, NULL, NULL, 0},
    {"/healthz", HTTP_POST, 1, NULL, NULL, HTTP_GET | HTTP_HEAD},
    {"/scim/v2/Users", HTTP_POST, 0, h_users, NULL, 0},
    {"/scim/v2/Users/abc", HTTP_GET, 0, h_user, "abc", 0},
    {"/scim/v2/Users/a%20b", HTTP_DELETE, 0, h_user, "a b", 0},
    {"/scim/v2/Users/.search", HTTP_POST, 0, h_search, NULL, 0},
    {"/scim/v2/Users/.search", HTTP_GET, 0, h_user, ".search", 0},
    {"/scim/v2/Users/", HTTP_GET, 2, NULL, NULL, 0},
    {"/scim/v2/Users/a/b", HTTP_GET, 2, NULL, NULL, 0},
    {"/scim/v2/Users/x", HTTP_POST, 1, NULL, NULL,
     HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_PATCH | HTTP_DELETE},
    {"/static/a/b.css", HTTP_GET, 0, h_rest, "a/b.css", 0},
    {"/static", HTTP_GET, 0, h_rest, "", 0},
    {"/scim/v2/Users/%00", HTTP_GET, 2, NULL, NULL, 0},
    {"relative", HTTP_GET, 2, NULL, NULL, 0},
};

START_TEST(route_find_table)
{
    route_table *t = make_table();
    route_match m;
    int rc = route_table_find(t, cases[_i].path, cases[_i].method, &m);

    ck_assert_msg(rc == cases[_i].rc, "%s: rc %d, expected %d", cases[_i].path, rc, cases[_i].rc);
    if (rc == 0) {
        ck_assert(m.fn == cases[_i].fn);
        if (cases[_i].param0) {
            ck_assert_int_ge(m.nparams, 1);
            ck_assert_str_eq(m.params[0], cases[_i].param0);
        }
    }
    if (rc == 1)
        ck_assert_uint_eq(m.allowed, cases[_i].allowed);
    route_match_clear(&m);
    route_table_free(t);
}
END_TEST

START_TEST(put_decimal_writes_digits)
{
    static const struct {
        uint64_t v;
        const char *text;
    } cases[] = {{0, "0"}, {9, "9"}, {10, "10"}, {12345, "12345"},
                 {UINT64_MAX, "18446744073709551615"}};
    char buf[24];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *end = http_put_decimal(buf, cases[i].v);

        *end = '\0';
        ck_assert_str_eq(buf, cases[i].text);
    }
}
END_TEST

/* A 405 keeps the pattern of the route whose path matched, for metrics. */
START_TEST(route_find_method_mismatch_pattern)
{
    route_table *t = make_table();
    route_match m;

    ck_assert_int_eq(route_table_find(t, "/healthz", HTTP_POST, &m), 1);
    ck_assert_str_eq(m.pattern, "/healthz");
    ck_assert_int_eq(route_table_find(t, "/scim/v2/Users/x", HTTP_POST, &m), 1);
    ck_assert_str_eq(m.pattern, "/scim/v2/Users/{}");
    ck_assert_int_eq(route_table_find(t, "/nowhere", HTTP_GET, &m), 2);
    ck_assert_ptr_null(m.pattern);
    route_table_free(t);
}
END_TEST

static void h_exact(http_req *r, void *arg) {}
static void h_below(http_req *r, void *arg) {}
static void h_middle(http_req *r, void *arg) {}
static void h_last(http_req *r, void *arg) {}
static void h_any(http_req *r, void *arg) {}
static void h_root(http_req *r, void *arg) {}
static void h_param(http_req *r, void *arg) {}
static void h_literal(http_req *r, void *arg) {}

/* Overlapping patterns, where the most specific one with a handler for the
 * method wins. Per segment from the left, a literal beats `{}`, which beats
 * `*`. A `*` that matches an empty rest beats the pattern ending there. */
static route_table *make_overlapping_table(void)
{
    route_table *t = route_table_new();
    ck_assert_int_eq(route_table_add(t, "/p/a/b", HTTP_GET, h_exact, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/p/a/b/*", HTTP_GET, h_below, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/p/{}/b", HTTP_GET | HTTP_POST, h_middle, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/p/a/{}", HTTP_PUT, h_last, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/p/*", HTTP_DELETE, h_any, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/", HTTP_GET, h_root, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/q/{}", HTTP_GET, h_param, NULL), 0);
    ck_assert_int_eq(route_table_add(t, "/q/x", HTTP_POST, h_literal, NULL), 0);
    return t;
}

static const struct {
    const char *path;
    unsigned method;
    int rc;
    http_handler fn;
    const char *param0;
    unsigned allowed;
} overlapping[] = {
    {"/p/a/b", HTTP_GET, 0, h_below, "", 0},
    {"/p/a/b", HTTP_HEAD, 0, h_below, "", 0},
    {"/p/a/b", HTTP_POST, 0, h_middle, "a", 0},
    {"/p/a/b", HTTP_PUT, 0, h_last, "b", 0},
    {"/p/a/b", HTTP_DELETE, 0, h_any, "a/b", 0},
    {"/p/a/b", HTTP_PATCH, 1, NULL, NULL,
     HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_DELETE},
    {"/p/a/b/c", HTTP_GET, 0, h_below, "c", 0},
    {"/p/z/b", HTTP_GET, 0, h_middle, "z", 0},
    {"/p/z/c", HTTP_GET, 1, NULL, NULL, HTTP_DELETE},
    {"/p", HTTP_GET, 1, NULL, NULL, HTTP_DELETE},
    {"/", HTTP_GET, 0, h_root, NULL, 0},
    {"//", HTTP_GET, 2, NULL, NULL, 0},
    {"/q/x", HTTP_GET, 0, h_param, "x", 0},
    {"/q/x", HTTP_POST, 0, h_literal, NULL, 0},
    {"/q/y", HTTP_POST, 1, NULL, NULL, HTTP_GET | HTTP_HEAD},
    {"/q/X", HTTP_POST, 1, NULL, NULL, HTTP_GET | HTTP_HEAD},
    {"/q", HTTP_GET, 2, NULL, NULL, 0},
};

START_TEST(route_find_overlapping)
{
    route_table *t = make_overlapping_table();
    route_match m;
    int rc = route_table_find(t, overlapping[_i].path, overlapping[_i].method, &m);

    ck_assert_msg(rc == overlapping[_i].rc, "%s: rc %d, expected %d", overlapping[_i].path, rc,
                  overlapping[_i].rc);
    if (rc == 0) {
        ck_assert_msg(m.fn == overlapping[_i].fn, "%s: another handler", overlapping[_i].path);
        if (overlapping[_i].param0) {
            ck_assert_int_ge(m.nparams, 1);
            ck_assert_str_eq(m.params[0], overlapping[_i].param0);
        }
    }
    if (rc == 1)
        ck_assert_uint_eq(m.allowed, overlapping[_i].allowed);
    route_match_clear(&m);
    route_table_free(t);
}
END_TEST

START_TEST(route_add_rejects_bad_patterns)
{
    route_table *t = route_table_new();
    ck_assert_int_eq(route_table_add(t, "nope", HTTP_GET, h_rest, NULL), -2);
    ck_assert_int_eq(route_table_add(t, "/a/*/b", HTTP_GET, h_rest, NULL), -2);
    ck_assert_int_eq(route_table_add(t, "/{}/{}/{}/{}/{}", HTTP_GET, h_rest, NULL), -2);
    route_table_free(t);
}
END_TEST

START_TEST(allow_header_lists_methods)
{
    char buf[128];
    http_allow_header(HTTP_GET | HTTP_POST, buf, sizeof(buf));
    ck_assert_str_eq(buf, "GET, HEAD, POST");
    http_allow_header(HTTP_DELETE, buf, sizeof(buf));
    ck_assert_str_eq(buf, "DELETE");
}
END_TEST

START_TEST(kv_parse_query_and_cookies)
{
    http_kv *kv;
    size_t n = http_kv_parse("a=1&b=x+y%21&a=2&c&=e&bad=%zz", 29, '&', 1, &kv);
    ck_assert_str_eq(http_kv_find(kv, n, "a"), "1");
    ck_assert_str_eq(http_kv_find(kv, n, "b"), "x y!");
    ck_assert_str_eq(http_kv_find(kv, n, "c"), "");
    ck_assert_ptr_null(http_kv_find(kv, n, "bad"));
    ck_assert_int_eq(http_kv_invalid(kv, n, "bad"), 1);
    ck_assert_int_eq(http_kv_invalid(kv, n, "a"), 0);
    ck_assert_int_eq(http_kv_invalid(kv, n, "absent"), 0);
    http_kv_free(kv, n);

    const char *cookie = "sid=abc; theme = dark ;x=%41";
    n = http_kv_parse(cookie, strlen(cookie), ';', 0, &kv);
    ck_assert_str_eq(http_kv_find(kv, n, "sid"), "abc");
    ck_assert_str_eq(http_kv_find(kv, n, "theme"), "dark");
    ck_assert_str_eq(http_kv_find(kv, n, "x"), "%41");
    http_kv_free(kv, n);
}
END_TEST

/* Values that do not decode: present but invalid, never a value. */
static const char *const undecodable[] = {
    "filter=%zz", "filter=abc%", "filter=a%2", "filter=x%00y", "filter=ok%G1",
};

START_TEST(kv_parse_keeps_undecodable_values)
{
    http_kv *kv;
    const char *q = undecodable[_i];
    size_t n = http_kv_parse(q, strlen(q), '&', 1, &kv);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_null(http_kv_find(kv, n, "filter"));
    ck_assert_int_eq(http_kv_invalid(kv, n, "filter"), 1);
    http_kv_free(kv, n);
}
END_TEST

START_TEST(percent_decode_plain_and_escaped)
{
    char *d;

    d = http_percent_decode("/scim/v2/Users", 14, 0);
    ck_assert_str_eq(d, "/scim/v2/Users");
    free(d);
    d = http_percent_decode("a+b", 3, 0);
    ck_assert_str_eq(d, "a+b");
    free(d);
    d = http_percent_decode("a+b", 3, 1);
    ck_assert_str_eq(d, "a b");
    free(d);
    d = http_percent_decode("a%2Bb%20", 8, 1);
    ck_assert_str_eq(d, "a+b ");
    free(d);
    d = http_percent_decode("", 0, 0);
    ck_assert_str_eq(d, "");
    free(d);
    ck_assert_ptr_null(http_percent_decode("a\0b", 3, 0));
    ck_assert_ptr_null(http_percent_decode("a\0%41", 5, 0));
    ck_assert_ptr_null(http_percent_decode("a%4", 3, 0));
}
END_TEST

START_TEST(request_id_validation)
{
    char longid[HTTP_REQUEST_ID_MAX + 2];
    ck_assert_int_eq(http_request_id_ok("abc-123_x.y:z"), 1);
    ck_assert_int_eq(http_request_id_ok(""), 0);
    ck_assert_int_eq(http_request_id_ok(NULL), 0);
    ck_assert_int_eq(http_request_id_ok("a b"), 0);
    ck_assert_int_eq(http_request_id_ok("a\nb"), 0);
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ck_assert_int_eq(http_request_id_ok(longid), 0);
    longid[HTTP_REQUEST_ID_MAX] = '\0';
    ck_assert_int_eq(http_request_id_ok(longid), 1);
}
END_TEST

START_TEST(urlencode_escapes_reserved)
{
    char *e = http_urlencode("a b&c=d/é~");
    ck_assert_str_eq(e, "a%20b%26c%3Dd%2F%C3%A9~");
    free(e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_route");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, route_find_method_mismatch_pattern);
    tcase_add_test(tc, put_decimal_writes_digits);
    tcase_add_loop_test(tc, route_find_table, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_loop_test(tc, route_find_overlapping, 0,
                        sizeof(overlapping) / sizeof(overlapping[0]));
    tcase_add_test(tc, route_add_rejects_bad_patterns);
    tcase_add_test(tc, allow_header_lists_methods);
    tcase_add_test(tc, kv_parse_query_and_cookies);
    tcase_add_loop_test(tc, kv_parse_keeps_undecodable_values, 0,
                        sizeof(undecodable) / sizeof(undecodable[0]));
    tcase_add_test(tc, percent_decode_plain_and_escaped);
    tcase_add_test(tc, request_id_validation);
    tcase_add_test(tc, urlencode_escapes_reserved);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
