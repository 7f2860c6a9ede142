#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "log.h"

/* Runs `fn` with stderr sent to a temporary file and returns what it wrote. */
static char *capture(void (*fn)(void))
{
    static char buf[256 * 1024];
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    size_t n;

    fflush(stderr);
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(buf, 1, sizeof(buf) - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return buf;
}

static void emit_fields(void)
{
    log_event(LOG_INFO, "request done", "request_id", "abc", "path", "/a b", "quote", "say \"hi\"",
              "skipped", NULL, "empty", "", NULL);
}

static void emit_debug(void)
{
    log_event(LOG_DEBUG, "hidden", NULL);
    log_msgf(LOG_WARN, "count %d", 3);
}

START_TEST(logfmt_quotes_when_needed)
{
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
    char *out = capture(emit_fields);
    ck_assert_ptr_nonnull(strstr(out, "level=info msg=\"request done\" request_id=abc"));
    ck_assert_ptr_nonnull(strstr(out, "path=\"/a b\""));
    ck_assert_ptr_nonnull(strstr(out, "quote=\"say \\\"hi\\\"\""));
    ck_assert_ptr_nonnull(strstr(out, "empty=\"\""));
    ck_assert_ptr_null(strstr(out, "skipped"));
    ck_assert_int_eq(out[strlen(out) - 1], '\n');
    ck_assert(strncmp(out, "time=", 5) == 0);
}
END_TEST

START_TEST(json_lines_are_objects)
{
    log_setup(LOG_INFO, LOG_FORMAT_JSON);
    char *out = capture(emit_fields);
    ck_assert(strncmp(out, "{\"time\":\"", 9) == 0);
    ck_assert_ptr_nonnull(strstr(out, "\"level\":\"info\",\"msg\":\"request done\""));
    ck_assert_ptr_nonnull(strstr(out, "\"quote\":\"say \\\"hi\\\"\""));
    ck_assert_ptr_nonnull(strstr(out, "}\n"));
    /* RFC 3339 with milliseconds in UTC: 2026-01-02T03:04:05.678Z */
    ck_assert_int_eq(out[9 + 10], 'T');
    ck_assert_int_eq(out[9 + 19], '.');
    ck_assert_int_eq(out[9 + 23], 'Z');
}
END_TEST

static void emit_bytes(void)
{
    log_event(LOG_INFO, "bytes", "bad", "a\xff\xc0\x80" "b", "good", "caf\xc3\xa9", "ctl", "x\ny",
              NULL);
}

START_TEST(json_replaces_invalid_utf8)
{
    log_setup(LOG_INFO, LOG_FORMAT_JSON);
    char *out = capture(emit_bytes);
    ck_assert_ptr_nonnull(strstr(out, "\"bad\":\"a\\ufffd\\ufffd\\ufffdb\""));
    ck_assert_ptr_nonnull(strstr(out, "\"good\":\"caf\xc3\xa9\""));
    ck_assert_ptr_nonnull(strstr(out, "\"ctl\":\"x\\ny\""));
}
END_TEST

START_TEST(logfmt_quotes_non_ascii)
{
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
    char *out = capture(emit_bytes);
    ck_assert_ptr_nonnull(strstr(out, "bad=\"a\\ufffd\\ufffd\\ufffdb\""));
    ck_assert_ptr_nonnull(strstr(out, "good=\"caf\xc3\xa9\""));
    ck_assert_ptr_nonnull(strstr(out, "ctl=\"x\\ny\""));
}
END_TEST

/* The byte placed at each position of a 17-byte value, which spans two
 * 8-byte words and a tail byte. */
static unsigned char probe_byte;

static void emit_probes(void)
{
    char value[18];

    for (int pos = 0; pos < 17; pos++) {
        memset(value, 'a', 17);
        value[17] = '\0';
        value[pos] = (char)probe_byte;
        log_event(LOG_INFO, "probe", "v", value, NULL);
    }
}

/* Logs every byte value but NUL at every position of a 17-byte value in
 * `format`, and calls `check` with the byte, its position and the line's
 * text after `key`. */
static void each_probe(enum log_format format, const char *key,
                       void (*check)(int c, int pos, const char *v))
{
    log_setup(LOG_INFO, format);
    for (int c = 1; c < 256; c++) {
        probe_byte = (unsigned char)c;
        const char *v = capture(emit_probes);

        for (int pos = 0; pos < 17; pos++) {
            v = strstr(v, key);
            ck_assert_ptr_nonnull(v);
            v += strlen(key);
            check(c, pos, v);
        }
    }
}

/* 1 when logfmt writes byte `c` without quoting the value. */
static int plain_in_logfmt(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '=' && c != '"' && c != '\\';
}

/* A plain value is written as is, and a quoted one starts with a quote that
 * the raw value lacks there. */
static void check_logfmt(int c, int pos, const char *v)
{
    char raw[19];
    int written_raw;

    memset(raw, 'a', 17);
    raw[pos] = (char)c;
    raw[17] = '\n';
    raw[18] = '\0';
    written_raw = strncmp(v, raw, 18) == 0;
    if (plain_in_logfmt((unsigned char)c))
        ck_assert_msg(written_raw, "byte 0x%02x at %d was quoted", c, pos);
    else
        ck_assert_msg(!written_raw && v[0] == '"', "byte 0x%02x at %d was not quoted", c, pos);
}

START_TEST(logfmt_quotes_each_special_byte)
{
    each_probe(LOG_FORMAT_LOGFMT, " v=", check_logfmt);
}
END_TEST

/* Writes into `out` how a JSON line writes byte `c` on its own. */
static void json_form(unsigned char c, char *out)
{
    if (c == '"' || c == '\\')
        sprintf(out, "\\%c", c);
    else if (c == '\n')
        strcpy(out, "\\n");
    else if (c < 0x20 || c == 0x7f)
        sprintf(out, "\\u%04x", c);
    else if (c >= 0x80)
        strcpy(out, "\\ufffd"); /* a lone byte is not UTF-8 */
    else
        sprintf(out, "%c", c);
}

static void check_json(int c, int pos, const char *v)
{
    char expected[48], form[8];

    json_form((unsigned char)c, form);
    snprintf(expected, sizeof expected, "\"%.*s%s%.*s\"}", pos, "aaaaaaaaaaaaaaaaa", form,
             16 - pos, "aaaaaaaaaaaaaaaaa");
    ck_assert_msg(strncmp(v, expected, strlen(expected)) == 0,
                  "byte 0x%02x at %d: wanted %s, got %.40s", c, pos, expected, v);
}

START_TEST(json_escapes_each_byte)
{
    each_probe(LOG_FORMAT_JSON, "\"v\":", check_json);
}
END_TEST

START_TEST(level_filters_events)
{
    log_setup(LOG_WARN, LOG_FORMAT_LOGFMT);
    char *out = capture(emit_debug);
    ck_assert_ptr_null(strstr(out, "hidden"));
    ck_assert_ptr_nonnull(strstr(out, "level=warn msg=\"count 3\""));
    ck_assert_int_eq(log_enabled(LOG_ERROR), 1);
    ck_assert_int_eq(log_enabled(LOG_INFO), 0);
}
END_TEST

START_TEST(level_names_parse)
{
    ck_assert_int_eq(log_level_parse("error"), LOG_ERROR);
    ck_assert_int_eq(log_level_parse("debug"), LOG_DEBUG);
    ck_assert_int_eq(log_level_parse("verbose"), -1);
    ck_assert_int_eq(log_level_parse(NULL), -1);
}
END_TEST

static int deferred_first;
static int deferred_second;

static void emit_deferred(void)
{
    deferred_first = log_event_deferred(LOG_INFO, "request", "request_id", "d-1", NULL);
    deferred_second = log_event_deferred(LOG_INFO, "request", "request_id", "d-2", NULL);
}

static void emit_flush(void)
{
    log_flush();
}

static void emit_warn(void)
{
    log_event(LOG_WARN, "warned", NULL);
}

static void emit_many_deferred(void)
{
    for (int i = 0; i < 1000; i++)
        log_event_deferred(LOG_INFO, "request", "path", "/scim/v2/Users/0123456789abcdef", NULL);
}

START_TEST(deferred_waits_for_flush)
{
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
    char *out = capture(emit_deferred);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(deferred_first, 1);
    ck_assert_int_eq(deferred_second, 0);
    out = capture(emit_flush);
    char *first = strstr(out, "request_id=d-1");
    char *second = strstr(out, "request_id=d-2");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(second);
    ck_assert(first < second);
    out = capture(emit_flush);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(direct_event_writes_deferred_first)
{
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
    capture(emit_deferred);
    char *out = capture(emit_warn);
    char *deferred = strstr(out, "request_id=d-2");
    char *warned = strstr(out, "msg=warned");
    ck_assert_ptr_nonnull(deferred);
    ck_assert_ptr_nonnull(warned);
    ck_assert(deferred < warned);
}
END_TEST

START_TEST(deferred_written_past_64_kib)
{
    log_setup(LOG_INFO, LOG_FORMAT_LOGFMT);
    char *out = capture(emit_many_deferred);
    ck_assert_uint_ge(strlen(out), 64 * 1024);
    ck_assert_int_eq(out[strlen(out) - 1], '\n');
    capture(emit_flush);
}
END_TEST

START_TEST(deferred_below_level_dropped)
{
    log_setup(LOG_WARN, LOG_FORMAT_LOGFMT);
    ck_assert_int_eq(log_event_deferred(LOG_INFO, "request", NULL), 0);
    char *out = capture(emit_flush);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(throttle_allows_once_per_interval)
{
    log_throttle t = {0};
    char left_out[24];

    ck_assert_int_eq(log_throttle_allow(&t, 100, 60, left_out), 1);
    ck_assert_str_eq(left_out, "0");
    ck_assert_int_eq(log_throttle_allow(&t, 100, 60, left_out), 0);
    ck_assert_int_eq(log_throttle_allow(&t, 159, 60, left_out), 0);
    ck_assert_int_eq(log_throttle_allow(&t, 160, 60, left_out), 1);
    ck_assert_str_eq(left_out, "2");
    ck_assert_int_eq(log_throttle_allow(&t, 220, 60, left_out), 1);
    ck_assert_str_eq(left_out, "0");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, logfmt_quotes_when_needed);
    tcase_add_test(tc, json_lines_are_objects);
    tcase_add_test(tc, json_replaces_invalid_utf8);
    tcase_add_test(tc, logfmt_quotes_non_ascii);
    tcase_add_test(tc, logfmt_quotes_each_special_byte);
    tcase_add_test(tc, json_escapes_each_byte);
    tcase_add_test(tc, level_filters_events);
    tcase_add_test(tc, level_names_parse);
    tcase_add_test(tc, deferred_waits_for_flush);
    tcase_add_test(tc, direct_event_writes_deferred_first);
    tcase_add_test(tc, deferred_written_past_64_kib);
    tcase_add_test(tc, deferred_below_level_dropped);
    tcase_add_test(tc, throttle_allows_once_per_interval);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
