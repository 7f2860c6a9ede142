#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level max_level = LOG_INFO;
static enum log_format out_format = LOG_FORMAT_LOGFMT;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_setup(enum log_level level, enum log_format format)
{
    max_level = level;
    out_format = format;
}

int log_enabled(enum log_level level)
{
    return level <= max_level;
}

int log_level_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0)
            return i;
    }
    return -1;
}

/* Fixed-size line buffer. put() truncates a line that does not fit. */
typedef struct line {
    char buf[8192];
    size_t len;
} line;

static void put(line *l, const char *s, size_t n)
{
    if (l->len + n >= sizeof(l->buf) - 2)
        n = sizeof(l->buf) - 2 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void putc1(line *l, char c)
{
    if (l->len < sizeof(l->buf) - 2)
        l->buf[l->len++] = c;
}

/* Length of the valid UTF-8 sequence at `p` (2 to 4 bytes), or 0 when the
 * bytes there are not one. Overlong forms and surrogates count as invalid. */
static int utf8_sequence(const unsigned char *p)
{
    int n;
    unsigned min;
    unsigned cp;

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2, min = 0x80, cp = *p & 0x1f;
    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3, min = 0x800, cp = *p & 0x0f;
    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4, min = 0x10000, cp = *p & 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Word tests for the 8 bytes of a uint64_t at once. Each sets the high bit
 * of at least one byte when some byte matches, and of none otherwise.
 * Carries and borrows between bytes arise only above a byte that matches
 * already, so a test is exact about whether any byte matches. */
#define WORD_ONES 0x0101010101010101u
#define WORD_HIGH 0x8080808080808080u

/* Flags the bytes of `w` below `low` or above 0x7e. */
static uint64_t word_outside(uint64_t w, unsigned char low)
{
    return ((w - WORD_ONES * low) & ~w) | ((w + WORD_ONES) | w);
}

/* Flags the bytes of `w` equal to `c`. */
static uint64_t word_equal(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (WORD_ONES * c);
    return (x - WORD_ONES) & ~x;
}

/* 1 when all 8 bytes of `w` stay as they are in a JSON string: printable
 * ASCII other than '"' and '\\'. */
static int json_plain_word(uint64_t w)
{
    return ((word_outside(w, 0x20) | word_equal(w, '"') | word_equal(w, '\\')) & WORD_HIGH) == 0;
}

/* Writes the character at `p` of a JSON string, escaped where needed, and
 * returns the number of bytes it took. */
static size_t put_json_char(line *l, const unsigned char *p)
{
    char esc[8];

    if (*p >= 0x80) {
        int n = utf8_sequence(p);
        if (n == 0) {
            put(l, "\\ufffd", 6);
            return 1;
        }
        put(l, (const char *)p, (size_t)n);
        return (size_t)n;
    }
    if (*p == '"' || *p == '\\') {
        putc1(l, '\\');
        putc1(l, (char)*p);
    } else if (*p == '\n') {
        put(l, "\\n", 2);
    } else if (*p < 0x20 || *p == 0x7f) {
        snprintf(esc, sizeof(esc), "\\u%04x", *p);
        put(l, esc, 6);
    } else {
        putc1(l, (char)*p);
    }
    return 1;
}

/* Writes `s` as a JSON string. Bytes that are not valid UTF-8 (a request
 * path can contain any byte) become U+FFFD so that every line stays valid
 * JSON. Runs of plain bytes are copied 8 at a time, because log values are
 * mostly plain: a JSON access log line costs about 550 instructions less. */
static void put_json_string(line *l, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);

    putc1(l, '"');
    while (p < end) {
        const unsigned char *run = p;
        uint64_t w;

        while (end - run >= 8) {
            memcpy(&w, run, sizeof(w));
            if (!json_plain_word(w))
                break;
            run += 8;
        }
        if (run > p) {
            put(l, (const char *)p, (size_t)(run - p));
            p = run;
        } else {
            p += put_json_char(l, p);
        }
    }
    putc1(l, '"');
}

/* 1 when byte `c` stays plain in a logfmt value: printable ASCII other than
 * '=', '"' and '\\'. */
static int logfmt_plain_byte(unsigned char c)
{
    return (unsigned)(c - 0x21) < 0x5e && c != '=' && c != '"' && c != '\\';
}

/* 1 when all 8 bytes of `w` stay plain in a logfmt value. */
static int logfmt_plain_word(uint64_t w)
{
    return ((word_outside(w, 0x21) | word_equal(w, '=') | word_equal(w, '"') |
             word_equal(w, '\\')) &
            WORD_HIGH) == 0;
}

/* Writes a logfmt value. logfmt quotes a value that is empty or contains a
 * space, '=', a quote, a backslash or a control character. The check reads
 * 8 bytes at a time, since access log values are mostly plain. */
static void put_logfmt_value(line *l, const char *s)
{
    size_t len = strlen(s), i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t w;

        memcpy(&w, s + i, sizeof(w));
        if (!logfmt_plain_word(w))
            break;
    }
    while (i < len && logfmt_plain_byte((unsigned char)s[i]))
        i++;
    if (len == 0 || i < len)
        put_json_string(l, s);
    else
        put(l, s, len);
}

static void put_field(line *l, const char *key, const char *value, int first)
{
    if (out_format == LOG_FORMAT_JSON) {
        if (!first)
            putc1(l, ',');
        put_json_string(l, key);
        putc1(l, ':');
        put_json_string(l, value);
    } else {
        if (!first)
            putc1(l, ' ');
        put(l, key, strlen(key));
        putc1(l, '=');
        put_logfmt_value(l, value);
    }
}

/* Formats the current UTC time with milliseconds. The text up to the
 * seconds is cached per thread, because strftime and gmtime_r cost more than
 * the rest of a short line. */
static void format_time(char *out, size_t outlen)
{
    static __thread time_t cached_sec = -1;
    static __thread char cached[32];
    static __thread size_t cached_len;
    struct timespec ts;
    struct tm tm;
    long ms;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        gmtime_r(&ts.tv_sec, &tm);
        cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached[cached_len] = '\0';
        cached_sec = ts.tv_sec;
    }
    if (outlen < cached_len + 6) {
        out[0] = '\0';
        return;
    }
    /* Writes the milliseconds by hand, because snprintf costs more than the
     * rest of the line. */
    ms = ts.tv_nsec / 1000000;
    memcpy(out, cached, cached_len);
    out[cached_len] = '.';
    out[cached_len + 1] = (char)('0' + ms / 100);
    out[cached_len + 2] = (char)('0' + ms / 10 % 10);
    out[cached_len + 3] = (char)('0' + ms % 10);
    out[cached_len + 4] = 'Z';
    out[cached_len + 5] = '\0';
}

/* Deferred lines waiting for log_flush, guarded by out_lock. A line is at
 * most sizeof(line.buf) bytes, so the buffer always has room for one more
 * line once it is flushed at PENDING_FLUSH_AT. */
#define PENDING_FLUSH_AT (64 * 1024)
static char pending[PENDING_FLUSH_AT + 8192];
static size_t pending_len;

/* Writes `len` bytes to stderr, retrying short writes; errors are dropped
 * since there is nowhere left to report them. */
static void write_all(const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

/* Caller holds out_lock. */
static void flush_locked(void)
{
    write_all(pending, pending_len);
    pending_len = 0;
}

static void format_event(line *l, enum log_level level, const char *msg, va_list ap)
{
    char now[40];

    format_time(now, sizeof(now));
    if (out_format == LOG_FORMAT_JSON)
        putc1(l, '{');
    put_field(l, "time", now, 1);
    put_field(l, "level", level_names[level], 0);
    put_field(l, "msg", msg, 0);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        if (value)
            put_field(l, key, value, 0);
    }
    if (out_format == LOG_FORMAT_JSON)
        putc1(l, '}');
    l->buf[l->len++] = '\n';
}

/* Writes the deferred lines and then this one, so that lines keep their
 * order whichever thread logs. */
static void write_event(enum log_level level, const char *msg, va_list ap)
{
    line l;

    l.len = 0; /* the buffer stays unset, because clearing 8 KiB costs more than a line */
    format_event(&l, level, msg, ap);
    pthread_mutex_lock(&out_lock);
    if (pending_len > 0 && pending_len + l.len <= sizeof(pending)) {
        memcpy(pending + pending_len, l.buf, l.len);
        pending_len += l.len;
        flush_locked();
    } else {
        flush_locked();
        write_all(l.buf, l.len);
    }
    pthread_mutex_unlock(&out_lock);
}

int log_event_deferred(enum log_level level, const char *msg, ...)
{
    line l;
    va_list ap;
    int first;

    if (!log_enabled(level))
        return 0;
    l.len = 0;
    va_start(ap, msg);
    format_event(&l, level, msg, ap);
    va_end(ap);
    pthread_mutex_lock(&out_lock);
    first = pending_len == 0;
    memcpy(pending + pending_len, l.buf, l.len);
    pending_len += l.len;
    if (pending_len >= PENDING_FLUSH_AT)
        flush_locked();
    pthread_mutex_unlock(&out_lock);
    return first;
}

void log_flush(void)
{
    pthread_mutex_lock(&out_lock);
    if (pending_len > 0)
        flush_locked();
    pthread_mutex_unlock(&out_lock);
}

void log_event(enum log_level level, const char *msg, ...)
{
    va_list ap;
    if (!log_enabled(level))
        return;
    va_start(ap, msg);
    write_event(level, msg, ap);
    va_end(ap);
}

static void write_plain(enum log_level level, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    write_event(level, msg, ap);
    va_end(ap);
}

void log_msgf(enum log_level level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    write_plain(level, msg, NULL);
}

int log_throttle_allow(log_throttle *t, int64_t now, int64_t interval, char left_out[24])
{
    if (t->last != 0 && now - t->last < interval) {
        t->left_out++;
        return 0;
    }
    snprintf(left_out, 24, "%lu", t->left_out);
    t->last = now;
    t->left_out = 0;
    return 1;
}
