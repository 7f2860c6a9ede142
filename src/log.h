/* Structured logging to stderr: one line per event, as JSON or logfmt
 * depending on configuration. Every line has time, level and message; the
 * caller adds fields. Values are escaped for the chosen format. Never pass a
 * secret, token, code, password or key as a field. Thread-safe. */
#ifndef IDGATE_LOG_H
#define IDGATE_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

void log_setup(enum log_level level, enum log_format format);
int log_enabled(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; -1 otherwise. */
int log_level_parse(const char *s);

/* Writes one event. `fields` is a NULL-terminated list of key, value string
 * pairs; NULL values are skipped. Example:
 *   log_event(LOG_WARN, "scim key rejected", "request_id", r->id, "account", acc, NULL);
 */
void log_event(enum log_level level, const char *msg, ...);

/* Formats one event like log_event but keeps it in a buffer (64 KiB, then
 * written at once) until log_flush or the next log_event, which writes the
 * buffered lines first, so lines keep their order across threads. Meant for
 * the access log on the event loop: the caller flushes once per loop
 * iteration and on shutdown, so a crash loses at most the lines of the
 * current iteration. Returns 1 when the line went into an empty buffer, which
 * tells the caller to schedule a flush, and 0 otherwise. */
int log_event_deferred(enum log_level level, const char *msg, ...);
/* Writes the buffered lines now. Thread-safe. */
void log_flush(void);

/* printf-style message without fields, for start-up and tools. */
void log_msgf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* State for logging one kind of event at most once per interval, so that a
 * burst of the same failure writes one line with a count. Zero-initialise
 * it. Not thread-safe: each user keeps it on one thread. */
typedef struct log_throttle {
    int64_t last;            /* second of the last line logged, 0 before the first */
    unsigned long left_out;  /* lines left out since that one */
} log_throttle;

/* Returns 1 when a line may be logged at `now` (seconds), which is at most
 * once per `interval` seconds, and writes the count of lines left out
 * before it to `left_out` as decimal text. Otherwise counts this line as
 * left out and returns 0. */
int log_throttle_allow(log_throttle *t, int64_t now, int64_t interval, char left_out[24]);

#endif
