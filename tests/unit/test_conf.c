#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "log.h"

static char path[64];

static conf *load_text(const char *text)
{
    int fd;
    FILE *f;
    snprintf(path, sizeof(path), "/tmp/test_conf_XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    conf *c = conf_load(path);
    unlink(path);
    ck_assert_ptr_nonnull(c);
    return c;
}

START_TEST(defaults_without_file)
{
    conf *c = conf_load(NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(conf_ok(c, NULL), 1);
    ck_assert_str_eq(c->listen_address, "127.0.0.1");
    ck_assert_int_eq(c->port, 8080);
    ck_assert_str_eq(c->base_url, "http://127.0.0.1:8080");
    ck_assert_uint_eq(c->max_body, 1 << 20);
    ck_assert_int_eq(c->log_format, LOG_FORMAT_LOGFMT);
    ck_assert_int_eq(c->max_page_size, 1000);
    ck_assert_int_eq(c->default_page_size, 100);
    ck_assert_uint_eq(c->store_max_batch, 256);
    ck_assert_uint_eq(c->store_defer_min_queued, 0);
    conf_free(c);
}
END_TEST

START_TEST(file_values_and_comments)
{
    conf *c = load_text("; comment\n# another\n[server]\nport = 9090\n"
                        "base_url = https://id.example.com/\nmax_body = 64K\n"
                        "request_timeout = 2m\n[log]\nformat = json\nlevel=debug\n"
                        "[store]\npath = \"/tmp/x y\"\nmax_batch = 32\ndefer_min_queued = 8\n");
    const char *errors;
    ck_assert_msg(conf_ok(c, &errors), "%s", errors);
    ck_assert_int_eq(c->port, 9090);
    ck_assert_str_eq(c->base_url, "https://id.example.com");
    ck_assert_uint_eq(c->max_body, 64 * 1024);
    ck_assert_int_eq(c->request_timeout, 120);
    ck_assert_int_eq(c->log_format, LOG_FORMAT_JSON);
    ck_assert_int_eq(c->log_level, LOG_DEBUG);
    ck_assert_str_eq(c->store_path, "/tmp/x y");
    ck_assert_uint_eq(c->store_max_batch, 32);
    ck_assert_uint_eq(c->store_defer_min_queued, 8);
    conf_free(c);
}
END_TEST

static const struct {
    const char *text;
    const char *expect;
} invalid[] = {
    {"[server]\nport = 70000\n", "[server] port"},
    {"[server]\nport = abc\n", "an integer from 1 to 65535"},
    {"[log]\nformat = xml\n", "one of logfmt, json"},
    {"[server]\nmax_body = 5T\n", "[server] max_body"},
    {"[server]\nbase_url = ftp://x\n", "[server] base_url"},
    {"[server]\nrequest_timeout = -1\n", "[server] request_timeout"},
    {"[scim]\nmax_page_size = 10\ndefault_page_size = 50\n", "default_page_size"},
    {"[store]\nmax_batch = 0\n", "[store] max_batch"},
    {"[store]\ndefer_min_queued = -1\n", "[store] defer_min_queued"},
    {"port = 1\n", "before any [section]"},
    {"[server\n", "invalid section header"},
    {"[server]\njunk\n", "expected key = value"},
};

START_TEST(invalid_values_name_the_key)
{
    conf *c = load_text(invalid[_i].text);
    const char *errors;
    ck_assert_int_eq(conf_ok(c, &errors), 0);
    ck_assert_msg(strstr(errors, invalid[_i].expect) != NULL, "errors: %s", errors);
    conf_free(c);
}
END_TEST

START_TEST(environment_overrides_file)
{
    setenv("IDGATE_SERVER_PORT", "7070", 1);
    setenv("IDGATE_LOG_FORMAT", "bogus", 1);
    conf *c = load_text("[server]\nport = 9090\n");
    const char *errors;
    ck_assert_int_eq(c->port, 7070);
    ck_assert_int_eq(conf_ok(c, &errors), 0);
    ck_assert_ptr_nonnull(strstr(errors, "IDGATE_LOG_FORMAT"));
    unsetenv("IDGATE_SERVER_PORT");
    unsetenv("IDGATE_LOG_FORMAT");
    conf_free(c);
}
END_TEST

START_TEST(typed_getters)
{
    static const char *const colours[] = {"red", "green", NULL};
    conf *c = load_text("[x]\nflag = yes\nsize = 2M\nwait = 1h\ncolour = green\nbad = maybe\n");
    ck_assert_int_eq(conf_bool(c, "x", "flag", 0), 1);
    ck_assert_uint_eq(conf_size(c, "x", "size", 0, 0, (size_t)1 << 30), 2 << 20);
    ck_assert_int_eq(conf_duration(c, "x", "wait", 0, 0, 86400), 3600);
    ck_assert_int_eq(conf_enum(c, "x", "colour", 0, colours), 1);
    ck_assert_str_eq(conf_str(c, "x", "missing", "dflt"), "dflt");
    ck_assert_int_eq(conf_ok(c, NULL), 1);
    ck_assert_int_eq(conf_bool(c, "x", "bad", 1), 1);
    ck_assert_int_eq(conf_ok(c, NULL), 0);
    conf_free(c);
}
END_TEST

START_TEST(missing_file_is_an_error)
{
    conf *c = conf_load("/nonexistent/idgate.ini");
    const char *errors;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(conf_ok(c, &errors), 0);
    ck_assert_ptr_nonnull(strstr(errors, "/nonexistent/idgate.ini"));
    conf_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, defaults_without_file);
    tcase_add_test(tc, file_values_and_comments);
    tcase_add_loop_test(tc, invalid_values_name_the_key, 0, sizeof(invalid) / sizeof(invalid[0]));
    tcase_add_test(tc, environment_overrides_file);
    tcase_add_test(tc, typed_getters);
    tcase_add_test(tc, missing_file_is_an_error);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
