#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "app.h"
#include "http.h"
#include "metrics.h"
#include "store.h"

enum metric_type { M_COUNTER, M_GAUGE, M_HISTOGRAM, M_GAUGE_FN };

static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,   0.25,   0.5,   1,    2.5,   5,    10};
#define NBUCKETS (sizeof(latency_buckets) / sizeof(latency_buckets[0]))

typedef struct series {
    char *labels;               /* rendered `a="x",b="y"`, or "" */
    double value;               /* counter or gauge */
    uint64_t buckets[NBUCKETS];
    uint64_t count;
    double sum;
    struct series *next;
} series;

typedef struct metric {
    char *name;
    char *help;
    enum metric_type type;
    metrics_gauge_fn fn;
    void *fn_arg;
    series *series;
    series *last;
    struct metric *next;
} metric;

/* Cache of the series that one HTTP route, method and status count into, so
 * that the observer neither renders labels nor scans series per request. A
 * slot is chosen by the route pattern's address and checked by content, so
 * a pattern at a reused address still finds its own series. */
#define HTTP_CACHE_SLOTS 128
#define HTTP_CACHE_ROUTE_MAX 128

typedef struct http_cache_entry {
    char route[HTTP_CACHE_ROUTE_MAX];
    char method[16];
    int status;
    series *requests;           /* idgate_http_requests_total */
    series *duration;           /* idgate_http_request_duration_seconds */
} http_cache_entry;

struct metrics {
    pthread_mutex_t lock;
    metric *first;
    metric *last;
    http_cache_entry http_cache[HTTP_CACHE_SLOTS];
};

metrics *metrics_new(void)
{
    metrics *m = calloc(1, sizeof(*m));
    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

void metrics_free(metrics *m)
{
    metric *next;
    if (!m)
        return;
    for (metric *x = m->first; x; x = next) {
        series *snext;
        next = x->next;
        for (series *s = x->series; s; s = snext) {
            snext = s->next;
            free(s->labels);
            free(s);
        }
        free(x->name);
        free(x->help);
        free(x);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Renders the label pairs as `name="value",...` with Prometheus escaping
 * into `buf`, truncated to fit. */
static void render_labels(char *buf, size_t size, va_list ap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (;;) {
        const char *name = va_arg(ap, const char *);
        const char *value;
        int n;

        if (!name)
            break;
        value = va_arg(ap, const char *);
        if (!value)
            value = "";
        n = snprintf(buf + o, size - o, "%s%s=\"", o ? "," : "", name);
        if (n < 0 || (size_t)n >= size - o)
            break;
        o += (size_t)n;
        for (const char *p = value; *p && o + 4 < size; p++) {
            if (*p == '\\' || *p == '"') {
                buf[o++] = '\\';
                buf[o++] = *p;
            } else if (*p == '\n') {
                buf[o++] = '\\';
                buf[o++] = 'n';
            } else {
                buf[o++] = *p;
            }
        }
        if (o + 2 >= size)
            break;
        buf[o++] = '"';
        buf[o] = '\0';
    }
    buf[o] = '\0';
}

static metric *find_metric(metrics *m, const char *name, const char *help, enum metric_type type)
{
    metric *x;
    for (x = m->first; x; x = x->next) {
        if (strcmp(x->name, name) == 0)
            return x->type == type ? x : NULL;
    }
    x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->name = strdup(name);
    x->help = strdup(help ? help : "");
    x->type = type;
    if (!x->name || !x->help) {
        free(x->name);
        free(x->help);
        free(x);
        return NULL;
    }
    if (m->last)
        m->last->next = x;
    else
        m->first = x;
    m->last = x;
    return x;
}

/* Finds or creates the series with the rendered `labels` (copied when a
 * series is created). Returns NULL when out of memory. */
static series *find_series(metric *x, const char *labels)
{
    series *s;

    for (s = x->series; s; s = s->next) {
        if (strcmp(s->labels, labels) == 0)
            return s;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->labels = strdup(labels);
    if (!s->labels) {
        free(s);
        return NULL;
    }
    if (x->last)
        x->last->next = s;
    else
        x->series = s;
    x->last = s;
    return s;
}

static void observe_locked(series *s, double value)
{
    for (size_t i = 0; i < NBUCKETS; i++) {
        if (value <= latency_buckets[i])
            s->buckets[i]++;
    }
    s->count++;
    s->sum += value;
}

static void update(metrics *m, const char *name, const char *help, enum metric_type type,
                   double value, va_list ap)
{
    metric *x;
    series *s;
    char labels[1024];

    if (!m)
        return;
    render_labels(labels, sizeof(labels), ap);
    pthread_mutex_lock(&m->lock);
    x = find_metric(m, name, help, type);
    s = x ? find_series(x, labels) : NULL;
    if (s && type == M_COUNTER) {
        s->value += value;
    } else if (s && type == M_GAUGE) {
        s->value = value;
    } else if (s) {
        observe_locked(s, value);
    }
    pthread_mutex_unlock(&m->lock);
}

void metrics_inc(metrics *m, const char *name, const char *help, uint64_t delta, ...)
{
    va_list ap;
    va_start(ap, delta);
    update(m, name, help, M_COUNTER, (double)delta, ap);
    va_end(ap);
}

void metrics_set(metrics *m, const char *name, const char *help, double value, ...)
{
    va_list ap;
    va_start(ap, value);
    update(m, name, help, M_GAUGE, value, ap);
    va_end(ap);
}

void metrics_observe(metrics *m, const char *name, const char *help, double value, ...)
{
    va_list ap;
    va_start(ap, value);
    update(m, name, help, M_HISTOGRAM, value, ap);
    va_end(ap);
}

int metrics_gauge_fn_add(metrics *m, const char *name, const char *help, metrics_gauge_fn fn,
                         void *arg)
{
    metric *x;
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    x = find_metric(m, name, help, M_GAUGE_FN);
    if (x) {
        x->fn = fn;
        x->fn_arg = arg;
    }
    pthread_mutex_unlock(&m->lock);
    return x ? 0 : -1;
}

static const char *type_name(enum metric_type t)
{
    switch (t) {
    case M_COUNTER: return "counter";
    case M_HISTOGRAM: return "histogram";
    default: return "gauge";
    }
}

static void render_histogram(struct evbuffer *out, const metric *x, const series *s)
{
    const char *sep = s->labels[0] ? "," : "";
    for (size_t i = 0; i < NBUCKETS; i++)
        evbuffer_add_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", x->name, s->labels, sep,
                            latency_buckets[i], (unsigned long long)s->buckets[i]);
    evbuffer_add_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", x->name, s->labels, sep,
                        (unsigned long long)s->count);
    evbuffer_add_printf(out, "%s_sum%s%s%s %.6f\n", x->name, s->labels[0] ? "{" : "", s->labels,
                        s->labels[0] ? "}" : "", s->sum);
    evbuffer_add_printf(out, "%s_count%s%s%s %llu\n", x->name, s->labels[0] ? "{" : "",
                        s->labels, s->labels[0] ? "}" : "", (unsigned long long)s->count);
}

static void render_metric(struct evbuffer *out, const metric *x)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help, x->name,
                        type_name(x->type));
    if (x->type == M_GAUGE_FN) {
        evbuffer_add_printf(out, "%s %.17g\n", x->name, x->fn(x->fn_arg));
        return;
    }
    for (const series *s = x->series; s; s = s->next) {
        if (x->type == M_HISTOGRAM) {
            render_histogram(out, x, s);
            continue;
        }
        evbuffer_add_printf(out, "%s%s%s%s %.17g\n", x->name, s->labels[0] ? "{" : "", s->labels,
                            s->labels[0] ? "}" : "", s->value);
    }
}

/* Store histograms have fixed upper bounds; the last bucket is unbounded. */
static void render_store_hist(struct evbuffer *out, const char *name, const char *help,
                              const uint64_t *hist, const char *const *bounds, double sum)
{
    uint64_t cumulative = 0;
    uint64_t count = 0;
    for (int i = 0; i < 8; i++)
        count += hist[i];
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (int i = 0; i < 7; i++) {
        cumulative += hist[i];
        evbuffer_add_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name, bounds[i],
                            (unsigned long long)cumulative);
    }
    evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)count);
    evbuffer_add_printf(out, "%s_sum %.6f\n%s_count %llu\n", name, sum, name,
                        (unsigned long long)count);
}

static void render_store(struct evbuffer *out, store *s)
{
    static const char *const batch_bounds[] = {"1", "2", "4", "8", "16", "64", "256"};
    static const char *const time_bounds[] = {"0.0001", "0.0005", "0.001", "0.005",
                                              "0.01",   "0.05",   "0.1"};
    store_stats st;

    memset(&st, 0, sizeof(st));
    store_get_stats(s, &st);
    evbuffer_add_printf(out,
                        "# HELP idgate_store_commits_total Write transactions committed.\n"
                        "# TYPE idgate_store_commits_total counter\n"
                        "idgate_store_commits_total %llu\n"
                        "# HELP idgate_store_jobs_total Write jobs run.\n"
                        "# TYPE idgate_store_jobs_total counter\n"
                        "idgate_store_jobs_total %llu\n"
                        "# HELP idgate_store_failed_commits_total Commits that failed.\n"
                        "# TYPE idgate_store_failed_commits_total counter\n"
                        "idgate_store_failed_commits_total %llu\n"
                        "# HELP idgate_store_queue_depth Write jobs waiting for the writer.\n"
                        "# TYPE idgate_store_queue_depth gauge\n"
                        "idgate_store_queue_depth %llu\n"
                        "# HELP idgate_store_syncs_total Device flushes made only to make "
                        "earlier commits durable.\n"
                        "# TYPE idgate_store_syncs_total counter\n"
                        "idgate_store_syncs_total %llu\n"
                        "# HELP idgate_store_flat_batches_total Batches whose jobs ran without "
                        "nested transactions.\n"
                        "# TYPE idgate_store_flat_batches_total counter\n"
                        "idgate_store_flat_batches_total %llu\n"
                        "# HELP idgate_store_reruns_total Batches run again with nested "
                        "transactions after a job failed.\n"
                        "# TYPE idgate_store_reruns_total counter\n"
                        "idgate_store_reruns_total %llu\n"
                        "# HELP idgate_store_job_seconds_total Time the writer spent running "
                        "jobs, reruns included.\n"
                        "# TYPE idgate_store_job_seconds_total counter\n"
                        "idgate_store_job_seconds_total %.6f\n",
                        (unsigned long long)st.commits, (unsigned long long)st.jobs,
                        (unsigned long long)st.failed_commits,
                        (unsigned long long)st.queue_depth, (unsigned long long)st.syncs,
                        (unsigned long long)st.flat_batches, (unsigned long long)st.reruns,
                        (double)st.run_usec_sum / 1e6);
    /* The store keeps no sum of batch sizes; the jobs counter is that sum. */
    render_store_hist(out, "idgate_store_batch_size", "Jobs per write transaction.",
                      st.batch_hist, batch_bounds, (double)st.jobs);
    render_store_hist(out, "idgate_store_commit_seconds", "Time to commit a write transaction.",
                      st.commit_usec_hist, time_bounds, (double)st.commit_usec_sum / 1e6);
}

int metrics_render(metrics *m, app *a, struct evbuffer *out)
{
    if (a && a->http)
        evbuffer_add_printf(out,
                            "# HELP idgate_http_requests_in_flight Requests being served.\n"
                            "# TYPE idgate_http_requests_in_flight gauge\n"
                            "idgate_http_requests_in_flight %u\n",
                            http_server_inflight(a->http));
    if (a && a->store)
        render_store(out, a->store);
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    for (const metric *x = m->first; x; x = x->next)
        render_metric(out, x);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

#define HTTP_REQUESTS_NAME "idgate_http_requests_total"
#define HTTP_REQUESTS_HELP "HTTP requests by route, method and status."
#define HTTP_DURATION_NAME "idgate_http_request_duration_seconds"
#define HTTP_DURATION_HELP "Time from request headers to reply, by route."

static void render_labels_list(char *buf, size_t size, ...)
{
    va_list ap;
    va_start(ap, size);
    render_labels(buf, size, ap);
    va_end(ap);
}

/* Finds the series of one route, method and status in the cache, or
 * creates them and fills the cache. Caller holds m->lock. Returns 0, or -1
 * when out of memory. */
static int http_series_locked(metrics *m, const char *route, const char *method, int status,
                              series **requests, series **duration)
{
    uintptr_t h = ((uintptr_t)route >> 3) * 31u + (unsigned)status * 7u + (unsigned char)method[0];
    http_cache_entry *e = &m->http_cache[h % HTTP_CACHE_SLOTS];
    char labels[1024], code[16];
    metric *x;

    if (e->requests && e->status == status && strcmp(e->route, route) == 0 &&
        strcmp(e->method, method) == 0) {
        *requests = e->requests;
        *duration = e->duration;
        return 0;
    }
    snprintf(code, sizeof(code), "%d", status);
    render_labels_list(labels, sizeof(labels), "route", route, "method", method, "status", code,
                       NULL);
    x = find_metric(m, HTTP_REQUESTS_NAME, HTTP_REQUESTS_HELP, M_COUNTER);
    *requests = x ? find_series(x, labels) : NULL;
    render_labels_list(labels, sizeof(labels), "route", route, NULL);
    x = find_metric(m, HTTP_DURATION_NAME, HTTP_DURATION_HELP, M_HISTOGRAM);
    *duration = x ? find_series(x, labels) : NULL;
    if (!*requests || !*duration)
        return -1;
    /* A route or method too long for a slot is counted without caching. */
    if (strlen(route) < sizeof(e->route) && strlen(method) < sizeof(e->method)) {
        strcpy(e->route, route);
        strcpy(e->method, method);
        e->status = status;
        e->requests = *requests;
        e->duration = *duration;
    }
    return 0;
}

void metrics_http_observer(const char *route, const char *method, int status, double seconds,
                           void *arg)
{
    metrics *m = arg;
    series *requests, *duration;

    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    if (http_series_locked(m, route ? route : "unmatched", method ? method : "", status, &requests,
                           &duration) == 0) {
        requests->value += 1;
        observe_locked(duration, seconds);
    }
    pthread_mutex_unlock(&m->lock);
}

void metrics_handle(http_req *r, void *arg)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        http_reply_error(r, 500, "Out of memory.");
        return;
    }
    metrics_render(r->app->metrics, r->app, out);
    http_reply_buffer(r, 200, "text/plain; version=0.0.4; charset=utf-8", out);
    evbuffer_free(out);
}
