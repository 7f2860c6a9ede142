#include "config.h"

#include <stdlib.h>

#include <check.h>

#include "oidc/redirect.h"

static const char *const allowed[] = {"https://app.example.com", "http://127.0.0.1:3000/"};
static const char *self = "http://127.0.0.1:8080";

struct target_case {
    const char *target;
    int ok;
};

static const struct target_case cases[] = {
    {"", 1},
    {"/", 1},
    {"/dashboard", 1},
    {"/a/b?x=1&y=%20z#frag", 1},
    {"/%41bc", 1},
    {"http://127.0.0.1:8080/after", 1},
    {"HTTP://127.0.0.1:8080/after", 1},
    {"https://app.example.com", 1},
    {"https://APP.example.com:443/x", 1},
    {"https://app.example.com?x=1", 1},
    {"http://127.0.0.1:3000/home", 1},
    {"//evil.example", 0},
    {"///evil.example", 0},
    {"/\\evil.example", 0},
    {"\\\\evil.example", 0},
    {"/a\\b", 0},
    {"https:evil.example", 0},
    {"https:/evil.example", 0},
    {"http:evil.example", 0},
    {"javascript:alert(1)", 0},
    {"data:text/html,x", 0},
    {"evil.example", 0},
    {"https://evil.example/", 0},
    {"https://app.example.com.evil.example/", 0},
    {"https://app.example.com@evil.example/", 0},
    {"https://user:pw@app.example.com/", 0},
    {"https://evil.example#@app.example.com", 0},
    {"https://app.example.com:8443/", 0},
    {"http://app.example.com/", 0},
    {"https://app.example.com//evil.example", 0},
    {"https://app.example.com\\@evil.example", 0},
    {"/%2F%2Fevil.example", 0},
    {"/%2f%2fevil.example", 0},
    {"/%5Cevil.example", 0},
    {"/%252F%252Fevil.example", 0},
    {"%2F%2Fevil.example", 0},
    {"/%0d%0aSet-Cookie:x=1", 0},
    {"/\r\nLocation: //evil", 0},
    {"/\tx", 0},
    {" /x", 0},
    {"/x y", 0},
    {"/caf\xc3\xa9", 0},
    {"/%", 0},
    {"/%zz", 0},
    {"https://app.example.com%2F@evil.example", 0},
    {"https://app.example.com%40evil.example", 0},
    {"https://[::1]/", 0},
    {"ftp://app.example.com/", 0},
};

START_TEST(target_table)
{
    const struct target_case *c = &cases[_i];
    const char *reason = NULL;
    int rc = oidc_target_check(c->target, self, allowed, 2, &reason);
    ck_assert_msg((rc == 0) == c->ok, "target %s: expected %s, got %s (%s)", c->target,
                  c->ok ? "accepted" : "rejected", rc == 0 ? "accepted" : "rejected",
                  reason ? reason : "");
    if (!c->ok)
        ck_assert_ptr_nonnull(reason);
}
END_TEST

START_TEST(target_too_long)
{
    char buf[OIDC_TARGET_MAX + 10];
    buf[0] = '/';
    for (size_t i = 1; i < sizeof buf - 1; i++)
        buf[i] = 'a';
    buf[sizeof buf - 1] = '\0';
    const char *reason;
    ck_assert_int_eq(oidc_target_check(buf, self, allowed, 2, &reason), -1);
}
END_TEST

START_TEST(origin_normalize_cases)
{
    char out[OIDC_ORIGIN_MAX];
    ck_assert_int_eq(oidc_origin_normalize("HTTPS://Example.COM:443/", out), 0);
    ck_assert_str_eq(out, "https://example.com");
    ck_assert_int_eq(oidc_origin_normalize("http://127.0.0.1:8080", out), 0);
    ck_assert_str_eq(out, "http://127.0.0.1:8080");
    ck_assert_int_eq(oidc_origin_normalize("https://a@example.com", out), -1);
    ck_assert_int_eq(oidc_origin_normalize("https://example.com/path", out), -1);
    ck_assert_int_eq(oidc_origin_normalize("https://example.com:0", out), -1);
    ck_assert_int_eq(oidc_origin_normalize("https://example.com:99999", out), -1);
}
END_TEST

START_TEST(origin_of_cases)
{
    static const struct {
        const char *url;
        const char *origin; /* NULL: rejected */
    } origins[] = {
        {"https://Example.okta.com/oauth2/default", "https://example.okta.com"},
        {"https://example.okta.com:443/app/sso?x=1#y", "https://example.okta.com"},
        {"https://127.0.0.1:8443", "https://127.0.0.1:8443"},
        {"http://example.com/", "http://example.com"},
        {"https://user@example.com/path", NULL},
        {"https://example.com@evil.test/", NULL},
        {"ftp://example.com/", NULL},
        {"null", NULL},
        {"", NULL},
    };
    char out[OIDC_ORIGIN_MAX];
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++) {
        int rc = oidc_origin_of(origins[i].url, out);
        if (origins[i].origin == NULL) {
            ck_assert_msg(rc == -1, "%s accepted as %s", origins[i].url, out);
        } else {
            ck_assert_msg(rc == 0, "%s rejected", origins[i].url);
            ck_assert_str_eq(out, origins[i].origin);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redirect");
    TCase *tc = tcase_create("target");
    tcase_add_loop_test(tc, target_table, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, target_too_long);
    tcase_add_test(tc, origin_normalize_cases);
    tcase_add_test(tc, origin_of_cases);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
