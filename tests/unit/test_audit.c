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

/* A details value written by audit_record_fields and the string that
 * parsing the stored event gives back (NULL for JSON null). */
static const struct {
    const char *value;
    const char *parsed;
} field_cases[] = {
    {"plain@acme.example", "plain@acme.example"},
    {"quote \" and backslash \\", "quote \" and backslash \\"},
    {"line\nbreak\ttab\x01\x1f", "line\nbreak\ttab\x01\x1f"},
    {"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
     "Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"},
    {"bad \xff byte", "bad \xef\xbf\xbd byte"},
    {"cut \xe6\x97", "cut \xef\xbf\xbd\xef\xbf\xbd"},
    {"overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd"},
    {"surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"", ""},
    {NULL, NULL},
};

struct fields_job {
    const char *kind;
    const char *actor;
    const audit_field *fields;
    size_t count;
    const json *details; /* for audit_record when fields is NULL */
};

static int record_fields(store_txn *t, void *arg)
{
    struct fields_job *j = arg;

    if (!j->fields)
        return audit_record(t, ACC1, j->kind, j->actor, j->details);
    return audit_record_fields(t, ACC1, j->kind, j->actor, j->fields, j->count);
}

/* Returns the newest event of ACC1 (a new tree the caller frees). */
static json *newest_event(void)
{
    store_txn *t;
    json *events = NULL, *ev;
    char next[AUDIT_ID_LEN + 1];
    audit_query q = {.limit = 1, .newest_first = 1};

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC1, &q, &events, next), 0);
    store_read_end(t);
    ck_assert_uint_eq(json_array_size(events), 1);
    ev = json_array_take(events, 0);
    json_free(events);
    return ev;
}

START_TEST(fields_escape_values)
{
    audit_field fields[2] = {{"user_id", "u-1"}, {"value", field_cases[_i].value}};
    struct fields_job job = {AUDIT_USER_CREATED, "scim:k\"ey", fields, 2, NULL};
    const json *details, *value;
    json *ev;

    ck_assert_int_eq(store_run(st, record_fields, &job), 0);
    ev = newest_event();
    ck_assert_str_eq(json_get_string(ev, "actor"), "scim:k\"ey");
    details = json_object_get(ev, "details");
    ck_assert_uint_eq(json_object_size(details), 2);
    ck_assert_str_eq(json_get_string(details, "user_id"), "u-1");
    value = json_object_get(details, "value");
    ck_assert_ptr_nonnull(value);
    if (field_cases[_i].parsed)
        ck_assert_str_eq(json_string_value(value), field_cases[_i].parsed);
    else
        ck_assert_int_eq(json_typeof(value), JSON_NULL);
    json_free(ev);
}
END_TEST

/* An event written from fields reads back like one written from a tree. */
START_TEST(fields_match_tree_event)
{
    const audit_field fields[3] = {{"user_id", "u-2"}, {"from", NULL}, {"to", "basic"}};
    struct fields_job job = {AUDIT_LICENSE_CHANGED, "scim:1", fields, 3, NULL};
    json *d = json_object(), *direct, *tree;
    const char *time;

    json_object_set(d, "user_id", json_string("u-2"));
    json_object_set(d, "from", json_null());
    json_object_set(d, "to", json_string("basic"));
    ck_assert_int_eq(store_run(st, record_fields, &job), 0);
    direct = newest_event();
    job.fields = NULL;
    job.details = d;
    ck_assert_int_eq(store_run(st, record_fields, &job), 0);
    tree = newest_event();

    ck_assert_str_ne(json_get_string(direct, "id"), json_get_string(tree, "id"));
    time = json_get_string(direct, "time");
    ck_assert_uint_eq(strlen(time), 27);
    ck_assert_int_eq(time[10], 'T');
    ck_assert_int_eq(time[19], '.');
    ck_assert_int_eq(time[26], 'Z');
    json_object_remove(direct, "id");
    json_object_remove(tree, "id");
    json_object_remove(direct, "time");
    json_object_remove(tree, "time");
    ck_assert_msg(json_equal(direct, tree), "events differ");
    ck_assert_str_eq(json_object_key_at(direct, 0), "kind");
    json_free(direct);
    json_free(tree);
    json_free(d);
}
END_TEST

/* A value longer than the stack buffer moves the text to the heap. */
START_TEST(fields_long_value)
{
    char value[3000];
    audit_field fields[1] = {{"displayName", value}};
    struct fields_job job = {AUDIT_GROUP_CREATED, NULL, fields, 1, NULL};
    json *ev;

    memset(value, 'g', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    ck_assert_int_eq(store_run(st, record_fields, &job), 0);
    ev = newest_event();
    ck_assert_str_eq(json_get_string(ev, "actor"), "system");
    ck_assert_str_eq(json_get_string(json_object_get(ev, "details"), "displayName"), value);
    json_free(ev);
}
END_TEST

/* Arbitrary bytes in a value, valid UTF-8 or not, still give an event that
 * parses, because every stored event must be listed. */
START_TEST(fields_random_bytes_parse)
{
    enum { EVENTS = 64 };
    uint32_t seed = 12345;
    store_txn *t;
    json *events = NULL;
    char next[AUDIT_ID_LEN + 1];
    audit_query q = {.kind = AUDIT_USER_UPDATED, .limit = 1000};

    for (int i = 0; i < EVENTS; i++) {
        char value[41];
        size_t len = 1 + i % 40;
        audit_field fields[1] = {{"value", value}};
        struct fields_job job = {AUDIT_USER_UPDATED, "scim:random", fields, 1, NULL};

        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            value[k] = (char)(1 + (seed >> 16) % 255);
        }
        value[len] = '\0';
        ck_assert_int_eq(store_run(st, record_fields, &job), 0);
    }
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC1, &q, &events, next), 0);
    store_read_end(t);
    ck_assert_uint_eq(json_array_size(events), EVENTS);
    for (size_t i = 0; i < EVENTS; i++) {
        const json *details = json_object_get(json_array_get(events, i), "details");
        ck_assert_int_eq(json_typeof(json_object_get(details, "value")), JSON_STRING);
    }
    json_free(events);
}
END_TEST

/* Appends `s` to `out` as a JSON string the way audit.h promises, one
 * byte at a time: quote and backslash escaped, control characters as
 * \u00XX, well-formed UTF-8 copied and every other byte as \ufffd. */
static size_t reference_string(char *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    out[n++] = '"';
    while (*p) {
        size_t len = 0;
        unsigned cp = 0;

        if (*p == '"' || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p++;
            continue;
        }
        if (*p < 0x20) {
            n += (size_t)sprintf(out + n, "\\u%04x", *p++);
            continue;
        }
        if (*p < 0x80) {
            out[n++] = (char)*p++;
            continue;
        }
        if (*p >= 0xc2 && *p <= 0xdf)
            len = 2;
        else if (*p >= 0xe0 && *p <= 0xef)
            len = 3;
        else if (*p >= 0xf0 && *p <= 0xf4)
            len = 4;
        if (len == 2)
            cp = *p & 0x1f;
        else if (len == 3)
            cp = *p & 0x0f;
        else
            cp = *p & 0x07;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                len = 0;
                break;
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
            len = 0;
        if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
            len = 0;
        if (len == 0) {
            memcpy(out + n, "\\ufffd", 6);
            n += 6;
            p++;
            continue;
        }
        memcpy(out + n, p, len);
        n += len;
        p += len;
    }
    out[n++] = '"';
    out[n] = '\0';
    return n;
}

/* Reads the stored text of ACC1's newest event into `out`. */
static void newest_text(char *out, size_t size)
{
    store_txn *t;
    store_cursor *c;
    store_val k, v;

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_AUDIT, &c), 0);
    ck_assert_int_eq(store_cursor_seek_last_prefix(c, ACC1, 36, &k, &v), 0);
    ck_assert_uint_lt(v.len, size);
    memcpy(out, v.data, v.len);
    out[v.len] = '\0';
    store_cursor_close(c);
    store_read_end(t);
}

/* Fills `value` (at least 64 bytes) with case `i` of the byte-exact test.
 * Cases 0 to 319 put each of 8 bytes that need escaping or checking at each
 * offset from 0 to 39 of a plain string, followed by 0 to 10 plain bytes.
 * Later cases are random bytes. */
static void exact_case(int i, char *value, uint32_t *seed)
{
    static const char special[] = {'"', '\\', '\n', '\x1f', '\x7f', '\xc3', '\xff', '\xe6'};

    if (i < 320) {
        size_t at = (size_t)i / 8, len = at + 1 + (size_t)i % 11;

        memset(value, 'a' + i % 26, len);
        value[len] = '\0';
        value[at] = special[i % 8];
        if (at + 1 < len && value[at] == '\xc3')
            value[at + 1] = '\xa9';
        return;
    }
    size_t len = 1 + (size_t)i % 60;
    for (size_t k = 0; k < len; k++) {
        *seed = *seed * 1103515245u + 12345u;
        value[k] = (char)(1 + (*seed >> 16) % 255);
    }
    value[len] = '\0';
}

/* The stored text of an event written from fields is the exact bytes the
 * escaping rules give, for every byte at every offset. */
START_TEST(fields_text_exact)
{
    uint32_t seed = 777;

    for (int i = 0; i < 448; i++) {
        char value[64], actor[80], stored[1024], expected[1024];
        audit_field fields[2] = {{"user_id", "u-1"}, {"value", value}};
        struct fields_job job = {AUDIT_USER_UPDATED, actor, fields, 2, NULL};
        size_t n, slen;

        exact_case(i, value, &seed);
        snprintf(actor, sizeof actor, "scim:%s", value);
        ck_assert_int_eq(store_run(st, record_fields, &job), 0);
        newest_text(stored, sizeof stored);

        n = (size_t)sprintf(expected, "\",\"kind\":\"user.updated\",\"actor\":");
        n += reference_string(expected + n, actor);
        n += (size_t)sprintf(expected + n, ",\"account\":\"%s\",\"details\":{\"user_id\":\"u-1\","
                                           "\"value\":", ACC1);
        n += reference_string(expected + n, value);
        n += (size_t)sprintf(expected + n, "}}");
        slen = strlen(stored);
        ck_assert_msg(slen > n && memcmp(stored + slen - n, expected, n) == 0,
                      "case %d: stored %s, expected it to end with %s", i, stored, expected);
    }
}
END_TEST

static const struct {
    int64_t usec;
    const char *text;
} format_cases[] = {
    {0, "1970-01-01T00:00:00.000000Z"},
    {1767323045000006, "2026-01-02T03:04:05.000006Z"},
    {-1, "1969-12-31T23:59:59.999999Z"},
    {-1000000, "1969-12-31T23:59:59.000000Z"},
};

START_TEST(format_time_cases)
{
    char out[32];

    audit_format_time(format_cases[_i].usec, out, sizeof out);
    ck_assert_str_eq(out, format_cases[_i].text);
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

#define ACC3 "aaaaaaaa-0000-4000-8000-000000000003"

/* Writes an ACC3 event at second `sec` with a real id, as audit_record
 * would have then. */
static int put_numbered(store_txn *t, void *arg)
{
    int sec = *(int *)arg;
    uint64_t usec = (uint64_t)sec * 1000000;
    uint8_t key[48];
    char id[AUDIT_ID_LEN + 1], val[128];

    memcpy(key, ACC3, 36);
    for (int i = 0; i < 8; i++)
        key[36 + i] = (uint8_t)(usec >> (56 - 8 * i));
    memset(key + 44, 0, 4);
    for (int i = 0; i < 12; i++)
        snprintf(id + 2 * i, 3, "%02x", key[36 + i]);
    snprintf(val, sizeof val, "{\"id\":\"%s\",\"kind\":\"user.created\",\"sec\":%d}", id, sec);
    return store_put(t, T_AUDIT, key, sizeof key, val, strlen(val), 0);
}

static void add_numbered(int sec)
{
    ck_assert_int_eq(store_run(st, put_numbered, &sec), 0);
}

/* Lists one ACC3 page and writes the events' seconds into `secs`. */
static size_t list_secs(const audit_query *q, int *secs, char next[AUDIT_ID_LEN + 1])
{
    store_txn *t;
    json *events = NULL;
    size_t n;

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC3, q, &events, next), 0);
    store_read_end(t);
    n = json_array_size(events);
    for (size_t i = 0; i < n; i++)
        secs[i] = (int)json_int_value(json_object_get(json_array_get(events, i), "sec"));
    json_free(events);
    return n;
}

static const struct {
    int newest_first;
    int64_t since, until;      /* seconds, 0 for none */
    size_t n;
    int secs[5];
} order_cases[] = {
    {1, 0, 0, 5, {50, 40, 30, 20, 10}},
    {0, 0, 0, 5, {10, 20, 30, 40, 50}},
    {1, 20, 0, 4, {50, 40, 30, 20}},
    {1, 0, 40, 3, {30, 20, 10}},
    {1, 20, 40, 2, {30, 20}},
    {0, 20, 40, 2, {20, 30}},
    {1, 60, 0, 0, {0}},
};

START_TEST(list_order_and_range)
{
    audit_query q = {.limit = 10, .newest_first = order_cases[_i].newest_first};
    char next[AUDIT_ID_LEN + 1];
    int secs[10];
    size_t n;

    q.since_usec = order_cases[_i].since * 1000000;
    q.until_usec = order_cases[_i].until * 1000000;
    for (int sec = 10; sec <= 50; sec += 10)
        add_numbered(sec);
    n = list_secs(&q, secs, next);
    ck_assert_uint_eq(n, order_cases[_i].n);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(secs[i], order_cases[_i].secs[i]);
    ck_assert_str_eq(next, "");
}
END_TEST

START_TEST(newest_first_paging_is_stable)
{
    audit_query q = {.limit = 2, .newest_first = 1};
    char next[AUDIT_ID_LEN + 1], after[AUDIT_ID_LEN + 1];
    int secs[10];

    for (int sec = 10; sec <= 50; sec += 10)
        add_numbered(sec);
    ck_assert_uint_eq(list_secs(&q, secs, next), 2);
    ck_assert_int_eq(secs[0], 50);
    ck_assert_int_eq(secs[1], 40);
    ck_assert_str_ne(next, "");

    /* A newer event written between pages does not shift the next page. */
    add_numbered(60);
    snprintf(after, sizeof after, "%s", next);
    q.after = after;
    ck_assert_uint_eq(list_secs(&q, secs, next), 2);
    ck_assert_int_eq(secs[0], 30);
    ck_assert_int_eq(secs[1], 20);

    snprintf(after, sizeof after, "%s", next);
    ck_assert_uint_eq(list_secs(&q, secs, next), 1);
    ck_assert_int_eq(secs[0], 10);
    ck_assert_str_eq(next, "");
}
END_TEST

START_TEST(newest_first_skips_other_accounts)
{
    audit_query q = {.limit = 10, .newest_first = 1};
    char next[AUDIT_ID_LEN + 1];
    store_txn *t;
    json *events = NULL;

    /* ACC1 sorts before ACC2, so its newest event sits right before ACC2's
     * first one. */
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC1, &q, &events, next), 0);
    store_read_end(t);
    ck_assert_uint_eq(json_array_size(events), 4);
    ck_assert_str_eq(json_get_string(json_array_get(events, 0), "kind"), AUDIT_GROUP_CREATED);
    ck_assert_str_eq(json_get_string(json_array_get(events, 0), "account"), ACC1);
    json_free(events);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC3, &q, &events, next), 0);
    store_read_end(t);
    ck_assert_uint_eq(json_array_size(events), 0);
    json_free(events);
}
END_TEST

START_TEST(newest_first_rejects_bad_after)
{
    audit_query q = {.newest_first = 1, .after = "not-hex"};
    char next[AUDIT_ID_LEN + 1];
    store_txn *t;
    json *events = NULL;

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC1, &q, &events, next), STORE_INVALID);
    store_read_end(t);
    ck_assert_ptr_null(events);
}
END_TEST

static const struct {
    const char *text;
    int rc;
} time_cases[] = {
    {"2026-02-28", 0},
    {"2026-02-29", -1},
    {"2024-02-29", 0},
    {"2100-02-29", -1},
    {"2000-02-29", 0},
    {"2026-02-30", -1},
    {"2026-04-31", -1},
    {"2026-12-31T23:59:59Z", 0},
    {"2026-12-04T00:00:00+23:59", 0},
    {"2026-12-04T00:00:00-23:59", 0},
    {"2026-12-04T00:00:00+24:00", -1},
    {"2026-12-04T00:00:00+99:99", -1},
    {"2026-12-04T00:00:00+01:60", -1},
    {"2026-12-04T25:00:00Z", -1},
};

START_TEST(parse_time_checks_ranges)
{
    int64_t v;

    ck_assert_msg(audit_parse_time(time_cases[_i].text, &v) == time_cases[_i].rc, "%s",
                  time_cases[_i].text);
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
    tcase_add_loop_test(tc, fields_escape_values, 0, sizeof field_cases / sizeof field_cases[0]);
    tcase_add_test(tc, fields_match_tree_event);
    tcase_add_test(tc, fields_long_value);
    tcase_add_test(tc, fields_random_bytes_parse);
    tcase_add_test(tc, fields_text_exact);
    tcase_add_loop_test(tc, format_time_cases, 0, sizeof format_cases / sizeof format_cases[0]);
    tcase_add_test(tc, prune_by_age_all_accounts);
    tcase_add_test(tc, prune_in_batches);
    tcase_add_test(tc, delete_account_events);
    tcase_add_loop_test(tc, list_order_and_range, 0, sizeof order_cases / sizeof order_cases[0]);
    tcase_add_test(tc, newest_first_paging_is_stable);
    tcase_add_test(tc, newest_first_skips_other_accounts);
    tcase_add_test(tc, newest_first_rejects_bad_after);
    tcase_add_loop_test(tc, parse_time_checks_ranges, 0,
                        sizeof time_cases / sizeof time_cases[0]);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
