/* Prometheus metrics: a registry of counters, gauges and histograms served
 * as text format 0.0.4 at GET /metrics.
 *
 * Any module can count its own events with one call; a metric is created
 * on first use, and each distinct label set is its own series:
 *
 *   metrics_inc(a->metrics, "idgate_scim_requests_total", "SCIM requests by resource.",
 *               1, "resource", "Users", "op", "create", NULL);
 *
 * Labels are a NULL-terminated list of name, value string pairs (values are
 * escaped here). A NULL registry is allowed and ignored, so command-line
 * tools and unit tests can pass app->metrics unset. All functions are
 * thread-safe. Names must be valid Prometheus names, and one name keeps the
 * type and help text it was created with.
 */
#ifndef IDGATE_METRICS_H
#define IDGATE_METRICS_H

#include <stdint.h>

struct app;
struct evbuffer;

typedef struct metrics metrics;

metrics *metrics_new(void);
void metrics_free(metrics *m);

/* Adds `delta` to a counter. */
void metrics_inc(metrics *m, const char *name, const char *help, uint64_t delta, ...)
    __attribute__((sentinel));
/* Sets a gauge. */
void metrics_set(metrics *m, const char *name, const char *help, double value, ...)
    __attribute__((sentinel));
/* Records one observation in a histogram with the default latency buckets
 * (seconds: 0.001 to 10). */
void metrics_observe(metrics *m, const char *name, const char *help, double value, ...)
    __attribute__((sentinel));

/* A gauge whose value is read when /metrics is scraped, on the loop thread. */
typedef double (*metrics_gauge_fn)(void *arg);
int metrics_gauge_fn_add(metrics *m, const char *name, const char *help, metrics_gauge_fn fn,
                         void *arg);

/* Appends the text exposition of every metric (plus the store's commit
 * statistics and the HTTP in-flight gauge when `a` has them) to `out`. */
int metrics_render(metrics *m, struct app *a, struct evbuffer *out);

/* The HTTP server's observer (see http_set_observer) with the registry as
 * `arg`: counts idgate_http_requests_total{route,method,status} and records
 * idgate_http_request_duration_seconds{route}. */
void metrics_http_observer(const char *route, const char *method, int status, double seconds,
                           void *arg);

struct http_req;
/* GET /metrics handler. */
void metrics_handle(struct http_req *r, void *arg);

#endif
