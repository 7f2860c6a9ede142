#include "config.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"

#define SUFFIX_LEN 12
#define KEY_LEN (STORE_ID_LEN + SUFFIX_LEN)
#define DEFAULT_LIMIT 100
#define MAX_LIMIT 1000
#define MAX_PRUNE 100000

static atomic_uint sequence;

int64_t audit_now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void audit_format_time(int64_t usec, char *out, size_t len)
{
    /* Floor division, so that a time before 1970 keeps a fraction in
     * [0, 999999] and the date of the second it falls in. */
    int64_t frac = (usec % 1000000 + 1000000) % 1000000;
    time_t secs = (time_t)((usec - frac) / 1000000);
    struct tm tm;
    char date[24];

    gmtime_r(&secs, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%06uZ", date, (unsigned)frac);
}

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

/* Parses "HH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" after the 'T'. */
static int parse_clock(const char *p, struct tm *tm, int64_t *frac_usec, long *offset)
{
    int oh, om, sign;

    if (parse_digits(&p, 2, &tm->tm_hour) || expect(&p, ':') || parse_digits(&p, 2, &tm->tm_min) ||
        expect(&p, ':') || parse_digits(&p, 2, &tm->tm_sec))
        return -1;
    if (*p == '.') {
        int64_t scale = 100000;
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            *frac_usec += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    if (*p == 'Z' || *p == 'z')
        return p[1] ? -1 : 0;
    if (*p != '+' && *p != '-')
        return -1;
    sign = *p++ == '-' ? -1 : 1;
    if (parse_digits(&p, 2, &oh) || expect(&p, ':') || parse_digits(&p, 2, &om) || *p)
        return -1;
    if (oh > 23 || om > 59)
        return -1;
    *offset = sign * (oh * 3600L + om * 60L);
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

int audit_parse_time(const char *s, int64_t *out)
{
    struct tm tm = {0};
    int64_t frac = 0;
    long offset = 0;
    const char *p = s;
    time_t secs;

    if (!s || parse_digits(&p, 4, &tm.tm_year) || expect(&p, '-') ||
        parse_digits(&p, 2, &tm.tm_mon) || expect(&p, '-') || parse_digits(&p, 2, &tm.tm_mday))
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > days_in_month(tm.tm_year, tm.tm_mon))
        return -1;
    if (*p == 'T' || *p == 't') {
        if (parse_clock(p + 1, &tm, &frac, &offset))
            return -1;
        if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
            return -1;
    } else if (*p) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    secs = timegm(&tm);
    *out = ((int64_t)secs - offset) * 1000000 + frac;
    return 0;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int hex_decode(const char *in, uint8_t *out, size_t n)
{
    if (strlen(in) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)in[2 * i]) || !isxdigit((unsigned char)in[2 * i + 1]) ||
            sscanf(in + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* An event's JSON text under construction: a stack buffer that moves to
 * the heap when it fills. After a failed allocation every append is a
 * no-op and `failed` is set. */
typedef struct text_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
    char stack[512];
} text_buf;

/* Offset of the id's hex digits in an event's text, right after {"id":" */
#define ID_OFFSET 7

static void buf_init(text_buf *b)
{
    b->data = b->stack;
    b->len = 0;
    b->cap = sizeof b->stack;
    b->failed = 0;
}

static void buf_free(text_buf *b)
{
    if (b->data != b->stack)
        free(b->data);
}

/* Grows the buffer to hold `n` more bytes. It is kept out of line because
 * appends almost always fit, and their inlined check stays short. */
static __attribute__((noinline)) int buf_grow(text_buf *b, size_t n)
{
    size_t cap = b->cap;
    char *grown;

    if (b->failed)
        return -1;
    while (cap < b->len + n)
        cap *= 2;
    grown = b->data == b->stack ? malloc(cap) : realloc(b->data, cap);
    if (!grown) {
        b->failed = 1;
        return -1;
    }
    if (b->data == b->stack)
        memcpy(grown, b->stack, b->len);
    b->data = grown;
    b->cap = cap;
    return 0;
}

static inline int buf_reserve(text_buf *b, size_t n)
{
    if (b->len + n <= b->cap && !b->failed)
        return 0;
    return buf_grow(b, n);
}

static inline void buf_add(text_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) == 0) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }
}

/* Appends a string literal. */
#define buf_add_literal(b, lit) buf_add((b), (lit), sizeof(lit) - 1)

/* Length of the well-formed UTF-8 sequence that starts `s` (`n` bytes
 * available), or 0 when it is invalid, overlong, a surrogate or past
 * U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned cp, min;
    size_t len;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Bytes copied into a JSON string as they are: printable ASCII other than
 * the quote and the backslash. */
static const unsigned char plain_ascii[256] = {
    [0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1,
};

#define BYTES_01 0x0101010101010101ULL
#define BYTES_80 0x8080808080808080ULL

/* Nonzero when any of the 8 bytes in `x` is not plain_ascii: at or above
 * 0x80, below 0x20, a quote or a backslash. (v - n * BYTES_01) & ~v sets
 * the high bit of the lowest byte of v below n (n <= 0x80) and of no byte
 * when none is below n, so each term is exact. */
static inline uint64_t word_needs_care(uint64_t x)
{
    uint64_t quote = x ^ (BYTES_01 * '"');
    uint64_t backslash = x ^ (BYTES_01 * '\\');
    uint64_t control = (x - BYTES_01 * 0x20) & ~x;

    quote = (quote - BYTES_01) & ~quote;
    backslash = (backslash - BYTES_01) & ~backslash;
    return (x | control | quote | backslash) & BYTES_80;
}

/* Length of the run of plain_ascii bytes that starts `s` (`n` bytes), read
 * 8 bytes at a time. Never reads past `s + n`. */
static size_t plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t x;

        memcpy(&x, s + i, 8);
        if (word_needs_care(x))
            break;
    }
    while (i < n && plain_ascii[s[i]])
        i++;
    return i;
}

/* Appends the escaped form of the byte or UTF-8 sequence that starts `p`
 * (`n` > 0 bytes left, room for 6 bytes reserved) and returns how many
 * input bytes it used. */
static size_t escape_one(text_buf *b, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *out = b->data + b->len;
    size_t len;

    if (*p == '"' || *p == '\\') {
        out[0] = '\\';
        out[1] = (char)*p;
        b->len += 2;
        return 1;
    }
    if (*p < 0x20) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[*p >> 4];
        out[5] = hex[*p & 15];
        b->len += 6;
        return 1;
    }
    len = utf8_sequence(p, n);
    if (len == 0) {
        memcpy(out, "\\ufffd", 6);
        b->len += 6;
        return 1;
    }
    memcpy(out, p, len);
    b->len += len;
    return len;
}

/* Appends `s` as a JSON string: quotes, backslashes and control characters
 * escaped, valid UTF-8 copied, and each invalid byte replaced by U+FFFD so
 * that the stored event always parses. The room reserved first is enough
 * for plain text. An escape takes at most 6 bytes per input byte, so each
 * escape first reserves 6 bytes per input byte left. */
static void buf_add_json_string(text_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    if (buf_reserve(b, n + 2))
        return;
    b->data[b->len++] = '"';
    for (;;) {
        size_t run = plain_run(p, n);

        memcpy(b->data + b->len, p, run);
        b->len += run;
        p += run;
        n -= run;
        if (n == 0)
            break;
        if (buf_reserve(b, 6 * n + 1))
            return;
        run = escape_one(b, p, n);
        p += run;
        n -= run;
    }
    b->data[b->len++] = '"';
}

/* Writes the time as audit_format_time does. The date and time of day are
 * cached per thread, because consecutive events mostly fall in the same
 * second. */
static void format_time_cached(int64_t usec, char out[32])
{
    static __thread int64_t cached_sec = -1;
    static __thread char cached[24];
    int64_t sec = usec / 1000000;
    int frac = (int)(usec % 1000000);

    if (usec < 0) {
        audit_format_time(usec, out, 32);
        return;
    }
    if (sec != cached_sec) {
        time_t secs = (time_t)sec;
        struct tm tm;

        gmtime_r(&secs, &tm);
        strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = sec;
    }
    memcpy(out, cached, 19);
    out[19] = '.';
    for (int i = 25; i > 19; i--) {
        out[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    out[26] = 'Z';
    out[27] = '\0';
}

/* Starts an event's text up to the value of "details". The id is left as
 * zeros for put_event to fill. */
static void event_begin(text_buf *b, int64_t usec, const char *account, const char *kind,
                        const char *actor)
{
    char when[32];

    format_time_cached(usec, when);
    buf_add_literal(b, "{\"id\":\"000000000000000000000000\",\"time\":\"");
    buf_add(b, when, 27);
    buf_add_literal(b, "\",\"kind\":");
    buf_add_json_string(b, kind);
    buf_add_literal(b, ",\"actor\":");
    buf_add_json_string(b, actor ? actor : "system");
    buf_add_literal(b, ",\"account\":");
    buf_add_json_string(b, account);
    buf_add_literal(b, ",\"details\":");
}

/* Stores the finished event text under a new key of `account` at `usec`.
 * Two events in the same microsecond differ by their sequence number. A
 * clash with an existing key (after the sequence wrapped) takes the next
 * number, and the id in the text always matches the key. */
static int put_event(store_txn *t, const char *account, int64_t usec, text_buf *b)
{
    uint8_t key[KEY_LEN];
    char id[AUDIT_ID_LEN + 1];
    int rc = STORE_EXISTS;

    if (b->failed)
        return STORE_NOMEM;
    memcpy(key, account, STORE_ID_LEN);
    put_be(key + STORE_ID_LEN, (uint64_t)usec, 8);
    for (int attempt = 0; attempt < 16 && rc == STORE_EXISTS; attempt++) {
        put_be(key + STORE_ID_LEN + 8, atomic_fetch_add(&sequence, 1), 4);
        hex_encode(key + STORE_ID_LEN, SUFFIX_LEN, id);
        memcpy(b->data + ID_OFFSET, id, AUDIT_ID_LEN);
        rc = store_put(t, T_AUDIT, key, sizeof key, b->data, b->len, STORE_NOOVERWRITE);
    }
    return rc;
}

int audit_record(store_txn *t, const char *account, const char *kind, const char *actor,
                 const json *details)
{
    int64_t now = audit_now_usec();
    char *text = NULL;
    size_t len = 2;
    text_buf b;
    int rc;

    if (!account || strlen(account) != STORE_ID_LEN || !kind)
        return STORE_INVALID;
    if (details && !(text = json_dump(details, &len)))
        return STORE_NOMEM;
    buf_init(&b);
    event_begin(&b, now, account, kind, actor);
    buf_add(&b, text ? text : "{}", len);
    buf_add(&b, "}", 1);
    rc = put_event(t, account, now, &b);
    buf_free(&b);
    free(text);
    return rc;
}

int audit_record_fields(store_txn *t, const char *account, const char *kind, const char *actor,
                        const audit_field *fields, size_t count)
{
    int64_t now = audit_now_usec();
    text_buf b;
    int rc;

    if (!account || strlen(account) != STORE_ID_LEN || !kind)
        return STORE_INVALID;
    buf_init(&b);
    event_begin(&b, now, account, kind, actor);
    buf_add(&b, "{", 1);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            buf_add(&b, ",", 1);
        buf_add_json_string(&b, fields[i].name);
        buf_add(&b, ":", 1);
        if (fields[i].value)
            buf_add_json_string(&b, fields[i].value);
        else
            buf_add_literal(&b, "null");
    }
    buf_add(&b, "}}", 2);
    rc = put_event(t, account, now, &b);
    buf_free(&b);
    return rc;
}

static int kind_matches(const json *ev, const char *kind)
{
    const char *k = json_get_string(ev, "kind");
    size_t n = strlen(kind);

    if (!k)
        return 0;
    if (n && kind[n - 1] == '.')
        return strncmp(k, kind, n) == 0;
    return strcmp(k, kind) == 0;
}

/* Positions `c` at the first event of an oldest-first page. */
static int seek_oldest(store_cursor *c, const char *account, const audit_query *q, store_val *k,
                       store_val *v)
{
    uint8_t key[KEY_LEN];
    int rc;

    memcpy(key, account, STORE_ID_LEN);
    memset(key + STORE_ID_LEN, 0, SUFFIX_LEN);
    if (q->after && *q->after) {
        if (hex_decode(q->after, key + STORE_ID_LEN, SUFFIX_LEN))
            return STORE_INVALID;
    } else if (q->since_usec > 0) {
        put_be(key + STORE_ID_LEN, (uint64_t)q->since_usec, 8);
    }
    rc = store_cursor_seek(c, key, sizeof key, k, v);
    if (rc == 0 && q->after && *q->after && k->len == KEY_LEN && !memcmp(k->data, key, KEY_LEN))
        rc = store_cursor_next(c, k, v);
    return rc;
}

/* Positions `c` at the first event of a newest-first page: the event right
 * before `after`, else the last one before `until`, else the account's
 * newest. */
static int seek_newest(store_cursor *c, const char *account, const audit_query *q, store_val *k,
                       store_val *v)
{
    uint8_t key[KEY_LEN];

    memcpy(key, account, STORE_ID_LEN);
    memset(key + STORE_ID_LEN, 0, SUFFIX_LEN);
    if (q->after && *q->after) {
        if (hex_decode(q->after, key + STORE_ID_LEN, SUFFIX_LEN))
            return STORE_INVALID;
        return store_cursor_seek_before(c, key, sizeof key, k, v);
    }
    if (q->until_usec > 0) {
        put_be(key + STORE_ID_LEN, (uint64_t)q->until_usec, 8);
        return store_cursor_seek_before(c, key, sizeof key, k, v);
    }
    return store_cursor_seek_last_prefix(c, account, STORE_ID_LEN, k, v);
}

static int in_range(const store_val *k, const char *account, const audit_query *q)
{
    uint64_t usec;

    if (k->len != KEY_LEN || memcmp(k->data, account, STORE_ID_LEN))
        return 0;
    usec = get_be((const uint8_t *)k->data + STORE_ID_LEN, 8);
    if (q->until_usec > 0 && usec >= (uint64_t)q->until_usec)
        return 0;
    if (q->since_usec > 0 && usec < (uint64_t)q->since_usec)
        return 0;
    return 1;
}

static int step(store_cursor *c, const audit_query *q, store_val *k, store_val *v)
{
    return q->newest_first ? store_cursor_prev(c, k, v) : store_cursor_next(c, k, v);
}

int audit_list(store_txn *t, const char *account, const audit_query *q, json **out,
               char next[AUDIT_ID_LEN + 1])
{
    unsigned limit = q->limit ? q->limit : DEFAULT_LIMIT;
    store_cursor *c = NULL;
    store_val k, v;
    json *arr = json_array();
    int rc;

    next[0] = 0;
    *out = NULL;
    if (!arr)
        return STORE_NOMEM;
    if (limit > MAX_LIMIT)
        limit = MAX_LIMIT;
    rc = store_cursor_open(t, T_AUDIT, &c);
    if (rc)
        goto out;
    rc = q->newest_first ? seek_newest(c, account, q, &k, &v) : seek_oldest(c, account, q, &k, &v);
    for (; rc == 0 && in_range(&k, account, q); rc = step(c, q, &k, &v)) {
        json *ev;

        if (json_array_size(arr) == limit) {
            const json *last = json_array_get(arr, limit - 1);
            snprintf(next, AUDIT_ID_LEN + 1, "%s", json_get_string(last, "id"));
            break;
        }
        ev = json_parse(v.data, v.len, NULL, 0);
        if (!ev)
            continue;
        if (q->kind && *q->kind && !kind_matches(ev, q->kind)) {
            json_free(ev);
            continue;
        }
        if (json_array_append(arr, ev)) {
            rc = STORE_NOMEM;
            goto out;
        }
    }
    if (rc == STORE_NOTFOUND || rc == 0)
        rc = 0;
out:
    store_cursor_close(c);
    if (rc)
        json_free(arr);
    else
        *out = arr;
    return rc;
}

/* Collects up to `max` keys of expired events, then deletes them, so that
 * no cursor is open while the table changes. */
int audit_prune(store_txn *t, int64_t before_usec, unsigned max, unsigned *deleted)
{
    store_cursor *c = NULL;
    store_val k, v;
    uint8_t *keys = NULL;
    unsigned n = 0;
    int rc;

    *deleted = 0;
    if (max == 0 || max > MAX_PRUNE)
        max = MAX_PRUNE;
    keys = malloc((size_t)max * KEY_LEN);
    if (!keys)
        return STORE_NOMEM;
    rc = store_cursor_open(t, T_AUDIT, &c);
    if (rc)
        goto out;
    rc = store_cursor_seek(c, "", 1, &k, &v);
    while (rc == 0 && n < max) {
        uint8_t skip[KEY_LEN];

        if (k.len == KEY_LEN &&
            get_be((const uint8_t *)k.data + STORE_ID_LEN, 8) < (uint64_t)before_usec) {
            memcpy(keys + (size_t)n * KEY_LEN, k.data, KEY_LEN);
            n++;
            rc = store_cursor_next(c, &k, &v);
            continue;
        }
        /* The rest of this account's events are newer: jump to the next account. */
        if (k.len < STORE_ID_LEN)
            break;
        memcpy(skip, k.data, STORE_ID_LEN);
        memset(skip + STORE_ID_LEN, 0xff, SUFFIX_LEN);
        rc = store_cursor_seek(c, skip, sizeof skip, &k, &v);
        if (rc == 0 && k.len == KEY_LEN && !memcmp(k.data, skip, KEY_LEN))
            rc = store_cursor_next(c, &k, &v);
    }
    store_cursor_close(c);
    c = NULL;
    if (rc == STORE_NOTFOUND)
        rc = 0;
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        rc = store_del(t, T_AUDIT, keys + (size_t)i * KEY_LEN, KEY_LEN);
        if (rc == STORE_NOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        *deleted = n;
out:
    store_cursor_close(c);
    free(keys);
    return rc;
}

int audit_delete_account(store_txn *t, const char *account)
{
    for (;;) {
        store_cursor *c = NULL;
        store_val k, v;
        uint8_t keys[256][KEY_LEN];
        unsigned n = 0;
        int rc = store_cursor_open(t, T_AUDIT, &c);

        if (rc)
            return rc;
        for (rc = store_cursor_seek(c, account, STORE_ID_LEN, &k, &v);
             rc == 0 && n < 256 && k.len == KEY_LEN && !memcmp(k.data, account, STORE_ID_LEN);
             rc = store_cursor_next(c, &k, &v))
            memcpy(keys[n++], k.data, KEY_LEN);
        store_cursor_close(c);
        if (rc && rc != STORE_NOTFOUND)
            return rc;
        for (unsigned i = 0; i < n; i++) {
            rc = store_del(t, T_AUDIT, keys[i], KEY_LEN);
            if (rc && rc != STORE_NOTFOUND)
                return rc;
        }
        if (n < 256)
            return 0;
    }
}
