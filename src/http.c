#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <evhtp/evhtp.h>

#include "app.h"
#include "conf.h"
#include "crypto.h"
#include "http.h"
#include "http_internal.h"
#include "log.h"

typedef struct error_page {
    char *prefix;
    size_t len;
    http_error_renderer fn;
} error_page;

typedef struct req_impl req_impl;

/* Request headers that idgate itself looks up. They are found in one pass
 * over libevhtp's header list per request; any other name is searched for
 * when it is looked up. */
enum known_header {
    H_AUTHORIZATION,
    H_CONTENT_TYPE,
    H_COOKIE,
    H_EXPECT,
    H_IF_MATCH,
    H_IF_NONE_MATCH,
    H_ORIGIN,
    H_REFERER,
    H_X_FORWARDED_FOR,
    H_X_REQUEST_ID,
    N_KNOWN_HEADERS
};

#define KNOWN_HEADER(name) {name, sizeof(name) - 1}

static const struct {
    const char *name;
    size_t len;
} known_headers[N_KNOWN_HEADERS] = {
    [H_AUTHORIZATION] = KNOWN_HEADER("Authorization"),
    [H_CONTENT_TYPE] = KNOWN_HEADER("Content-Type"),
    [H_COOKIE] = KNOWN_HEADER("Cookie"),
    [H_EXPECT] = KNOWN_HEADER("Expect"),
    [H_IF_MATCH] = KNOWN_HEADER("If-Match"),
    [H_IF_NONE_MATCH] = KNOWN_HEADER("If-None-Match"),
    [H_ORIGIN] = KNOWN_HEADER("Origin"),
    [H_REFERER] = KNOWN_HEADER("Referer"),
    [H_X_FORWARDED_FOR] = KNOWN_HEADER("X-Forwarded-For"),
    [H_X_REQUEST_ID] = KNOWN_HEADER("X-Request-Id"),
};

/* An open client connection. Its read callback wraps libevhtp's so that the
 * request head can be timed and checked before the parser sees it; shutdown
 * uses the list to close idle keep-alive connections. */
typedef struct conn_node {
    evhtp_connection_t *conn;
    http_server *srv;
    bufferevent_data_cb parse;  /* libevhtp's read callback */
    bufferevent_data_cb written; /* libevhtp's write callback */
    int *gone;                  /* set when the connection is freed inside a callback */
    size_t scanned;             /* input bytes left unparsed that were checked already */
    /* Bounds the request head. It stays armed after a head completes and,
     * when it fires, re-arms itself for the head in progress or lapses
     * (on_head_timeout), so that a request does not add and delete it. */
    struct event *head_timer;
    int head_timing;            /* a head is in progress since head_start_usec */
    struct event *resume;       /* resumes reading after a reply */
    int timeouts_off;           /* pause_timeouts ran and on_resume has not yet */
    req_impl *active;           /* request from its complete head to its end */
    uint64_t head_start_usec;
    size_t line_len;            /* head scan: bytes in the current line */
    size_t head_len;            /* head scan: bytes in the head so far */
    unsigned line_no;           /* head scan: 0 for the request line */
    int head_done;              /* head scan: the blank line was seen */
    struct conn_node *prev;
    struct conn_node *next;
} conn_node;

struct http_server {
    app *app;
    conn_node *conns;
    evhtp_t *htp;
    route_table *routes;
    error_page *pages;
    size_t npages;
    char *oversize_cookies[HTTP_MAX_OVERSIZE_COOKIES]; /* see http_expire_on_oversize */
    size_t n_oversize_cookies;
    unsigned inflight;
    req_impl *pool;
    unsigned npool;
    int bound;
    int draining;
    int freed;                  /* http_server_free ran; the last request frees `s` */
    struct timeval idle;
    http_observer observer;
    void *observer_arg;
    /* Event that writes the access lines buffered during a loop iteration.
     * The first buffered line activates it, so it runs after the callbacks
     * that are already active. */
    struct event *log_flusher;
};

/* The private part of a request. `pub` comes first so that the handlers'
 * http_req pointer converts back. `evreq` stays set after the reply (unlike
 * pub.ev) until libevhtp frees its request. */
struct req_impl {
    http_req pub;
    http_server *srv;
    conn_node *node;            /* NULL once the connection is gone */
    evhtp_request_t *evreq;
    struct event *timer;        /* bounds the time to the reply (on_timeout) */
    char *raw_path;
    char *raw_query;
    http_kv *headers;           /* copies of request headers looked up so far */
    size_t nheaders;
    /* Values of the known_headers, found in one pass over libevhtp's list.
     * They point into libevhtp's request and are valid while `evreq` is set. */
    const char *known[N_KNOWN_HEADERS];
    const char *known_copy[N_KNOWN_HEADERS]; /* their copies in `headers` once looked up */
    unsigned known_found;       /* bit k: known_headers[k] was in the list */
    unsigned known_repeated;    /* bit k: known_headers[k] was in it more than once */
    evhtp_kv_t *known_last;     /* last header of libevhtp's list that the pass read */
    size_t header_text_len;
    http_kv *query;             /* query parameters, in `query_inline` while they fit */
    size_t nquery;
    int query_parsed;
    int query_undecodable;      /* a value did not decode (http_query_invalid) */
    char *query_text;           /* their decoded names and values, inline while they fit */
    http_kv *form;
    size_t nform;
    int form_parsed;
    http_kv *cookies;
    size_t ncookies;
    int cookies_parsed;
    size_t body_seen;
    int too_large;              /* close the connection after the reply */
    int body_done;
    int head;                   /* HEAD: send headers only */
    int rejected;               /* head completed during shutdown: 503 */
    int paused;                 /* libevhtp reads nothing more until the reply */
    int committing;             /* durable work submitted: no timeout reply */
    char *text;                 /* raw path, raw query and decoded path */
    char *out_headers;          /* response header lines set by handlers, "Name: value\r\n" */
    size_t out_len;
    size_t out_cap;
    int out_has_length;         /* a handler set Content-Length */
    int out_has_body_headers;   /* a handler set Content-Type or Content-Length */
    int peer_set;               /* `peer` has been filled */
    req_impl *next_free;        /* link in the server's pool of unused requests */
    /* The buffers from here on are read only through the pointers and
     * lengths above, so a request taken from the pool does not need them
     * zeroed (see REQ_ZEROED). */
    http_kv headers_inline[6];  /* `headers` while they fit */
    char header_text[512];      /* the copies' text while it fits, else malloc'd */
    http_kv query_inline[8];
    char query_text_inline[256];
    char text_inline[256];      /* `text` when they fit, to save a malloc */
    char out_inline[256];       /* `out_headers` while they fit, to save a malloc */
    char peer[64];
    struct sockaddr_storage peer_addr; /* formatted into `peer` on first use */
};

/* Size of the part of a req_impl that req_free zeroes for reuse. */
#define REQ_ZEROED offsetof(req_impl, headers_inline)

/* Unused requests kept for reuse, with their timer, to spare the allocator
 * a few calls per request. */
#define REQ_POOL_MAX 256

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Arms `timer` for what is left of `limit_sec` seconds from `start_usec`
 * and returns 1, or returns 0 when that time is up. The head and request
 * timers stay armed between requests, so they may fire before the limit of
 * the head or request in progress. */
static int rearm_for_rest(struct event *timer, uint64_t start_usec, int limit_sec)
{
    uint64_t limit = (uint64_t)limit_sec * 1000000;
    uint64_t elapsed = now_usec() - start_usec;
    uint64_t left;
    struct timeval tv;

    if (elapsed >= limit)
        return 0;
    left = limit - elapsed;
    tv.tv_sec = (time_t)(left / 1000000);
    tv.tv_usec = (suseconds_t)(left % 1000000);
    evtimer_add(timer, &tv);
    return 1;
}

static req_impl *impl_of(http_req *r)
{
    return (req_impl *)r;
}

static void on_log_flush(evutil_socket_t fd, short what, void *arg)
{
    log_flush();
}

static void server_release(http_server *s)
{
    if (--s->inflight == 0 && s->freed)
        free(s);
}

/* 1 when `p` points into the request's inline header text. */
static int in_header_text(const req_impl *q, const char *p)
{
    return p >= q->header_text && p < q->header_text + sizeof(q->header_text);
}

static void free_headers(req_impl *q)
{
    for (size_t i = 0; i < q->nheaders; i++) {
        if (!in_header_text(q, q->headers[i].name))
            free(q->headers[i].name);
        if (!in_header_text(q, q->headers[i].value))
            free(q->headers[i].value);
    }
    if (q->headers != q->headers_inline)
        free(q->headers);
}

static void req_free(req_impl *q)
{
    http_server *s = q->srv;
    struct event *timer = q->timer;

    for (int i = 0; i < q->pub.nparams; i++)
        free(q->pub.params[i]);
    free_headers(q);
    if (q->query != q->query_inline)
        free(q->query);
    if (q->query_text != q->query_text_inline)
        free(q->query_text);
    http_kv_free(q->form, q->nform);
    http_kv_free(q->cookies, q->ncookies);
    if (q->text != q->text_inline)
        free(q->text);
    if (q->out_headers != q->out_inline)
        free(q->out_headers);
    free(q->pub.body);
    /* A pooled request's timer may stay pending: on_timeout ignores a
     * request that is not alive. */
    if (!s->freed && timer && s->npool < REQ_POOL_MAX) {
        memset(q, 0, REQ_ZEROED);
        q->timer = timer;
        q->next_free = s->pool;
        s->pool = q;
        s->npool++;
    } else {
        if (timer)
            event_free(timer);
        free(q);
    }
    server_release(s);
}

static void pool_free(http_server *s)
{
    while (s->pool) {
        req_impl *q = s->pool;
        s->pool = q->next_free;
        event_free(q->timer);
        free(q);
    }
    s->npool = 0;
}

void http_req_hold(http_req *r)
{
    r->refs++;
}

void http_req_release(http_req *r)
{
    if (--r->refs == 0)
        req_free(impl_of(r));
}

int http_req_alive(const http_req *r)
{
    return r->ev != NULL && r->status == 0;
}

void http_req_set_committing(http_req *r)
{
    req_impl *q = impl_of(r);
    q->committing = 1; /* on_timeout leaves it alone */
}

/* ---- access log and replies ------------------------------------------- */

/* Formats `usec` as milliseconds with three decimals ("12.345"), the same
 * text as printf's "%.3f" of usec / 1000.0, without printf's cost. */
static void format_ms(uint64_t usec, char out[32])
{
    char *p = http_put_decimal(out, usec / 1000);
    unsigned frac = (unsigned)(usec % 1000);

    p[0] = '.';
    p[1] = (char)('0' + frac / 100);
    p[2] = (char)('0' + frac / 10 % 10);
    p[3] = (char)('0' + frac % 10);
    p[4] = '\0';
}

static void log_line(http_server *s, const char *id, const char *method, const char *path,
                     const char *route, int status, const char *account, uint64_t start_usec)
{
    char st[24];
    char latency[32];
    uint64_t usec = now_usec() - start_usec;
    double secs = (double)usec / 1e6;

    *http_put_decimal(st, status > 0 ? (uint64_t)status : 0) = '\0';
    format_ms(usec, latency);
    if (log_event_deferred(LOG_INFO, "request", "request_id", id, "method", method, "path", path,
                           "status", st, "latency_ms", latency, "account", account, NULL) &&
        s->log_flusher)
        event_active(s->log_flusher, EV_TIMEOUT, 1);
    if (s->observer)
        s->observer(route, method, status, secs, s->observer_arg);
}

static void log_access(req_impl *q)
{
    log_line(q->srv, q->pub.id, q->pub.method_name, q->raw_path, q->pub.route, q->pub.status,
             q->pub.account_id[0] ? q->pub.account_id : NULL, q->pub.start_usec);
}

/* Returns 1 when `s` contains a byte that would end or split a header line. */
static int breaks_header_line(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* Appends `n` bytes to the response header lines, or makes room for them
 * at the end when `text` is NULL. Returns 0, or -1 when out of memory. */
static int out_headers_add(req_impl *q, const char *text, size_t n)
{
    if (!q->out_headers) {
        q->out_headers = q->out_inline;
        q->out_cap = sizeof(q->out_inline);
    }
    if (q->out_len + n > q->out_cap) {
        size_t cap = q->out_cap * 2;
        char *grown;

        while (cap < q->out_len + n)
            cap *= 2;
        grown = q->out_headers == q->out_inline ? malloc(cap) : realloc(q->out_headers, cap);
        if (!grown)
            return -1;
        if (q->out_headers == q->out_inline)
            memcpy(grown, q->out_inline, q->out_len);
        q->out_headers = grown;
        q->out_cap = cap;
    }
    if (text)
        memcpy(q->out_headers + q->out_len, text, n);
    q->out_len += n;
    return 0;
}

void http_set_header(http_req *r, const char *name, const char *value)
{
    req_impl *q = impl_of(r);
    size_t nlen, vlen;
    char *line;

    if (!r->ev || !name || !value)
        return;
    /* A value taken from stored data (a user name, an email) must never
     * inject a header of its own, so such a header is dropped. */
    if (breaks_header_line(name) || breaks_header_line(value)) {
        log_event(LOG_WARN, "response header dropped: its name or value contains CR or LF",
                  "request_id", r->id, "header", breaks_header_line(name) ? NULL : name, NULL);
        return;
    }
    nlen = strlen(name);
    vlen = strlen(value);
    /* Room for the whole line comes first, so that a failure adds nothing. */
    if (out_headers_add(q, NULL, nlen + vlen + 4) != 0) {
        log_event(LOG_ERROR, "response header dropped: out of memory", "request_id", r->id,
                  "header", name, NULL);
        return;
    }
    line = q->out_headers + q->out_len - (nlen + vlen + 4);
    memcpy(line, name, nlen);
    memcpy(line + nlen, ": ", 2);
    memcpy(line + nlen + 2, value, vlen);
    memcpy(line + nlen + 2 + vlen, "\r\n", 2);
    if (nlen == 14 && strcasecmp(name, "Content-Length") == 0)
        q->out_has_length = q->out_has_body_headers = 1;
    else if (nlen == 12 && strcasecmp(name, "Content-Type") == 0)
        q->out_has_body_headers = 1;
}

static int status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

/* Small buffer that collects the reply head before one evbuffer_add. */
typedef struct head_buf {
    struct evbuffer *out;
    char data[1024];
    size_t len;
} head_buf;

static void head_put(head_buf *h, const char *s, size_t n)
{
    /* A reply without handler headers passes a NULL `s`, which memcpy must
     * not get even with a zero length. */
    if (n == 0)
        return;
    if (h->len + n > sizeof(h->data)) {
        evbuffer_add(h->out, h->data, h->len);
        h->len = 0;
        if (n > sizeof(h->data)) {
            evbuffer_add(h->out, s, n);
            return;
        }
    }
    memcpy(h->data + h->len, s, n);
    h->len += n;
}

static void head_puts(head_buf *h, const char *s)
{
    head_put(h, s, strlen(s));
}

static void head_put_decimal(head_buf *h, uint64_t v)
{
    char digits[24];
    head_put(h, digits, (size_t)(http_put_decimal(digits, v) - digits));
}

/* Copies the handlers' header lines, leaving out Content-Type and
 * Content-Length when the reply has no body. */
static void head_put_handler_headers(head_buf *h, const req_impl *q, int body)
{
    const char *p = q->out_headers, *end = q->out_headers + q->out_len;

    if (body || !q->out_has_body_headers) {
        head_put(h, p, q->out_len);
        return;
    }
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        size_t nlen = (size_t)((const char *)memchr(p, ':', (size_t)(next - p)) - p);

        if (!((nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0) ||
              (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0)))
            head_put(h, p, (size_t)(next - p));
        p = next;
    }
}

/* Writes the reply of `q` to its connection: the status line, the
 * handlers' headers, X-Request-Id, Content-Type and Content-Length, then
 * the body from `body` or `body_buf` (moved, not copied). The reply is built
 * here because libevhtp's evhtp_send_reply would add `Content-Type:
 * text/plain` and `Content-Length: 0` to every reply without them, 204 and
 * 304 included. The request is then marked finished as libevhtp does, so
 * that libevhtp keeps the connection open or closes it once the reply is
 * written. */
/* Writes as much of a reply as the socket takes at once: the head, then
 * the body from `body` or, up to 16 chunks, from `body_buf`. Returns the
 * bytes written, 0 when the socket took none or failed. */
static size_t write_direct(evutil_socket_t fd, const char *head, size_t head_len,
                           const void *body, size_t len, struct evbuffer *body_buf)
{
    struct iovec iov[17];
    struct evbuffer_iovec chunks[16];
    int count = 1;
    ssize_t written;

    iov[0] = (struct iovec){(void *)head, head_len};
    if (body_buf) {
        int nchunks = evbuffer_peek(body_buf, -1, NULL, chunks, 16);
        for (int i = 0; i < nchunks && i < 16; i++)
            iov[count++] = (struct iovec){chunks[i].iov_base, chunks[i].iov_len};
    } else if (len > 0) {
        iov[count++] = (struct iovec){(void *)body, len};
    }
    written = writev(fd, iov, count);
    return written > 0 ? (size_t)written : 0;
}

/* Queues a reply on the connection's output `out`. When the connection is
 * paused (see pause_reading) and has nothing queued, the reply goes to the
 * socket now and only what the socket does not take is queued. Queuing
 * enables the write event, at the cost of two epoll_ctl calls and a loop
 * turn. When nothing was queued, on_resume runs libevhtp's write-done
 * step. After a failed write everything is queued, so the bufferevent
 * reports the error. */
static void queue_reply(req_impl *q, evhtp_request_t *ev, struct evbuffer *out, const char *head,
                        size_t head_len, const void *body, size_t len,
                        struct evbuffer *body_buf)
{
    evutil_socket_t fd = bufferevent_getfd(ev->conn->bev);
    size_t done = 0;

    if (q->paused && q->node && fd >= 0 && evbuffer_get_length(out) == 0)
        done = write_direct(fd, head, head_len, body, len, body_buf);
    if (done < head_len) {
        evbuffer_add(out, head + done, head_len - done);
        done = 0;
    } else {
        done -= head_len;
    }
    if (body_buf) {
        evbuffer_drain(body_buf, done);
        if (evbuffer_get_length(body_buf) > 0)
            evbuffer_add_buffer(out, body_buf);
    } else if (len > done) {
        evbuffer_add(out, (const char *)body + done, len - done);
    }
}

static void write_reply(req_impl *q, evhtp_request_t *ev, int status, const char *content_type,
                        const void *body, size_t len, struct evbuffer *body_buf)
{
    /* The reply goes straight into the connection's output buffer, which
     * saves a temporary buffer per reply. The head's 1 KiB stays unset, as
     * only its first `len` bytes are read. */
    head_buf h;
    int has_body = status_has_body(status);
    int major = htparser_get_major(ev->conn->parser);
    int minor = htparser_get_minor(ev->conn->parser);
    int keepalive = (ev->flags & EVHTP_REQ_FLAG_KEEPALIVE) != 0;

    h.out = bufferevent_get_output(ev->conn->bev);
    h.len = 0;
    if (major != 1)
        major = 1, minor = 1;
    head_put(&h, "HTTP/1.", 7);
    head_put_decimal(&h, minor > 0 ? (uint64_t)minor : 0);
    head_put(&h, " ", 1);
    head_put_decimal(&h, (uint64_t)status);
    head_put(&h, " ", 1);
    head_puts(&h, http_status_text(status));
    head_put(&h, "\r\n", 2);
    head_put_handler_headers(&h, q, has_body);
    head_put(&h, "X-Request-Id: ", 14);
    head_puts(&h, q->pub.id);
    head_put(&h, "\r\n", 2);
    if (has_body && content_type) {
        head_put(&h, "Content-Type: ", 14);
        head_puts(&h, content_type);
        head_put(&h, "\r\n", 2);
    }
    /* HEAD gets the GET reply's headers with the length of its body. */
    if (!q->head && !body && !body_buf)
        len = 0;
    if (has_body && !q->out_has_length) {
        head_put(&h, "Content-Length: ", 16);
        head_put_decimal(&h, len);
        head_put(&h, "\r\n", 2);
    }
    if (minor >= 1 && !keepalive)
        head_put(&h, "Connection: close\r\n", 19);
    else if (minor == 0 && keepalive)
        head_put(&h, "Connection: keep-alive\r\n", 24);
    head_put(&h, "\r\n", 2);
    if (!has_body || q->head)
        len = 0;
    queue_reply(q, ev, h.out, h.data, h.len, len > 0 ? body : NULL, len,
                len > 0 ? body_buf : NULL);
    ev->flags |= EVHTP_REQ_FLAG_FINISHED;
}

static void send_reply(req_impl *q, int status, const char *content_type, const void *body,
                       size_t len, struct evbuffer *body_buf)
{
    evhtp_request_t *ev = q->pub.ev;

    if (!ev || q->pub.status != 0)
        return;
    q->pub.status = status;
    q->pub.ev = NULL;
    if (q->srv->app->stopping || q->too_large)
        ev->flags &= ~EVHTP_REQ_FLAG_KEEPALIVE;
    write_reply(q, ev, status, content_type, body, len, body_buf);
    log_access(q);
    /* The connection stayed paused while the handler worked; reading the
     * next request resumes once this callback has returned to the loop. */
    if (q->paused && q->node)
        event_active(q->node->resume, EV_TIMEOUT, 1);
}

void http_reply(http_req *r, int status, const char *content_type, const void *body, size_t len)
{
    send_reply(impl_of(r), status, content_type, body, len, NULL);
}

void http_reply_buffer(http_req *r, int status, const char *content_type, struct evbuffer *buf)
{
    send_reply(impl_of(r), status, content_type, NULL, evbuffer_get_length(buf), buf);
    evbuffer_drain(buf, evbuffer_get_length(buf));
}

void http_reply_text(http_req *r, int status, const char *text)
{
    http_reply(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

void http_redirect(http_req *r, int status, const char *location)
{
    http_set_header(r, "Location", location);
    http_reply(r, status, NULL, NULL, 0);
}

/* ---- error pages ------------------------------------------------------ */

int http_expire_on_oversize(http_server *s, const char *set_cookie)
{
    char *copy;

    if (s->n_oversize_cookies >= HTTP_MAX_OVERSIZE_COOKIES || !(copy = strdup(set_cookie)))
        return -1;
    s->oversize_cookies[s->n_oversize_cookies++] = copy;
    return 0;
}

int http_set_error_renderer(http_server *s, const char *prefix, http_error_renderer fn)
{
    error_page *grown = realloc(s->pages, (s->npages + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    s->pages = grown;
    grown[s->npages].prefix = strdup(prefix);
    if (!grown[s->npages].prefix)
        return -1;
    grown[s->npages].len = strlen(prefix);
    while (grown[s->npages].len > 0 && prefix[grown[s->npages].len - 1] == '/')
        grown[s->npages].len--;
    grown[s->npages].fn = fn;
    s->npages++;
    return 0;
}

static http_error_renderer renderer_for(http_server *s, const char *path)
{
    http_error_renderer best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; path && i < s->npages; i++) {
        error_page *p = &s->pages[i];
        if (strncmp(path, p->prefix, p->len) != 0)
            continue;
        if (path[p->len] != '\0' && path[p->len] != '/')
            continue;
        if (!best || p->len >= best_len) {
            best = p->fn;
            best_len = p->len;
        }
    }
    return best;
}

void http_reply_error(http_req *r, int status, const char *detail)
{
    req_impl *q = impl_of(r);
    http_error_renderer fn = renderer_for(q->srv, q->raw_path);
    char text[512];

    if (!http_req_alive(r))
        return;
    if (fn) {
        fn(r, status, detail);
        if (r->status != 0)
            return;
    }
    snprintf(text, sizeof(text), "%s\n", detail ? detail : http_status_text(status));
    http_reply_text(r, status, text);
}

/* ---- request lifecycle ------------------------------------------------ */

static evhtp_res on_request_fini(evhtp_request_t *ev, void *arg)
{
    req_impl *q = arg;

    if (q->pub.status == 0) {
        /* The client went away before any reply: log it as 499, the usual
         * code for a closed client request, and let pending work finish. */
        q->pub.status = 499;
        log_access(q);
    }
    if (q->node && q->node->active == q)
        q->node->active = NULL;
    q->node = NULL;
    q->pub.ev = NULL;
    q->evreq = NULL;
    http_req_release(&q->pub);
    return EVHTP_RES_OK;
}

/* The connection failed or the client closed it. A paused connection would
 * only be freed once resumed; unpausing it here lets libevhtp free it now,
 * so that the request sees the client gone (http_req_alive) at once. */
static void on_request_error(evhtp_request_t *ev, evhtp_error_flags what, void *arg)
{
    if (ev->conn)
        ev->conn->flags &= ~EVHTP_CONN_FLAG_PAUSED;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    req_impl *q = arg;

    if (!http_req_alive(&q->pub) || q->committing)
        return;
    /* The timer may have been armed for an earlier use of this request. */
    if (rearm_for_rest(q->timer, q->pub.start_usec, q->srv->app->conf->request_timeout))
        return;
    log_event(LOG_WARN, "request timed out", "request_id", q->pub.id, "path", q->raw_path, NULL);
    q->too_large = 1; /* close the connection after the reply */
    if (!q->body_done)
        http_reply_error(&q->pub, 408, "The request was not received in time.");
    else
        http_reply_error(&q->pub, 503, "The request timed out.");
}

/* Generated request ids are a random prefix drawn once per process from
 * the CSPRNG followed by a counter, so that ids from different processes and
 * restarts differ with overwhelming probability (64 random bits) while each
 * request costs no random draw. The counter is only touched on the loop
 * thread. */
static char id_prefix[17];
static uint64_t id_counter;

/* Writes "<prefix>-<counter in hex>" by hand, since snprintf costs more. */
static void format_request_id(uint64_t counter, char *out, size_t outlen)
{
    static const char digits[] = "0123456789abcdef";
    char hex[16];
    size_t len = 0;

    do {
        hex[len++] = digits[counter & 15];
        counter >>= 4;
    } while (counter > 0);
    if (outlen < sizeof(id_prefix) + 1 + len) {
        out[0] = '\0';
        return;
    }
    memcpy(out, id_prefix, sizeof(id_prefix) - 1);
    out[sizeof(id_prefix) - 1] = '-';
    for (size_t i = 0; i < len; i++)
        out[sizeof(id_prefix) + i] = hex[len - 1 - i];
    out[sizeof(id_prefix) + len] = '\0';
}

static void new_request_id(char *out, size_t outlen)
{
    if (!id_prefix[0]) {
        uint8_t rnd[8];
        static const char digits[] = "0123456789abcdef";

        if (crypto_random(rnd, sizeof(rnd)) != 0) {
            /* NOTE: without the CSPRNG, ids fall back to the clock, which
             * keeps them unique only within the process. */
            uint64_t t = now_usec();
            memcpy(rnd, &t, sizeof(rnd));
        }
        for (size_t i = 0; i < sizeof(rnd); i++) {
            id_prefix[2 * i] = digits[rnd[i] >> 4];
            id_prefix[2 * i + 1] = digits[rnd[i] & 15];
        }
        id_prefix[16] = '\0';
    }
    format_request_id(++id_counter, out, outlen);
}

/* Index of `name`, of `len` bytes, in known_headers, compared without
 * regard to ASCII case, or -1. Comparing lengths and first letters rules
 * out most names without a strcasecmp call. Every known name starts with a
 * letter, and `| 0x20` turns exactly the ASCII letters into lowercase ones. */
static int known_header_index(const char *name, size_t len)
{
    unsigned char first = (unsigned char)name[0] | 0x20;

    for (int k = 0; k < N_KNOWN_HEADERS; k++) {
        const char *known = known_headers[k].name;

        if (known_headers[k].len == len && ((unsigned char)known[0] | 0x20) == first &&
            strcasecmp(known, name) == 0)
            return k;
    }
    return -1;
}

/* Records the first value of each known header in libevhtp's list, as
 * evhtp_header_find would find it. Each pass reads only the headers added
 * since the last one, because the trailers of a chunked body come after the
 * head. */
static void scan_known_headers(req_impl *q)
{
    evhtp_kv_t *kv;

    if (!q->evreq || !q->evreq->headers_in)
        return;
    kv = q->known_last ? TAILQ_NEXT(q->known_last, next) : TAILQ_FIRST(q->evreq->headers_in);
    for (; kv; kv = TAILQ_NEXT(kv, next)) {
        /* libevhtp sets klen to strlen(key) (evhtp_kv_new in 1.2.18). */
        int k = kv->key ? known_header_index(kv->key, kv->klen) : -1;

        if (k >= 0 && !(q->known_found & (1u << k))) {
            q->known_found |= 1u << k;
            q->known[k] = kv->val;
        } else if (k >= 0) {
            q->known_repeated |= 1u << k;
        }
        q->known_last = kv;
    }
}

static void set_request_id(req_impl *q)
{
    const char *incoming = q->known[H_X_REQUEST_ID];

    if (http_request_id_ok(incoming))
        snprintf(q->pub.id, sizeof(q->pub.id), "%s", incoming);
    else
        new_request_id(q->pub.id, sizeof(q->pub.id));
}

/* Keeps the peer's address; http_peer formats it, since few requests need
 * it as text. */
static void set_peer(req_impl *q, evhtp_request_t *ev)
{
    struct sockaddr *sa = ev->conn ? ev->conn->saddr : NULL;

    q->peer_addr.ss_family = AF_UNSPEC;
    if (sa && sa->sa_family == AF_INET)
        memcpy(&q->peer_addr, sa, sizeof(struct sockaddr_in));
    else if (sa && sa->sa_family == AF_INET6)
        memcpy(&q->peer_addr, sa, sizeof(struct sockaddr_in6));
}

static const char *method_name(htp_method m, unsigned *bit)
{
    static const struct {
        htp_method m;
        unsigned bit;
        const char *name;
    } names[] = {
        {htp_method_GET, HTTP_GET, "GET"},         {htp_method_HEAD, HTTP_HEAD, "HEAD"},
        {htp_method_POST, HTTP_POST, "POST"},      {htp_method_PUT, HTTP_PUT, "PUT"},
        {htp_method_PATCH, HTTP_PATCH, "PATCH"},   {htp_method_DELETE, HTTP_DELETE, "DELETE"},
        {htp_method_OPTIONS, HTTP_OPTIONS, "OPTIONS"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].m == m) {
            *bit = names[i].bit;
            return names[i].name;
        }
    }
    *bit = 0;
    return "OTHER";
}

static void head_scan_reset(conn_node *n)
{
    n->line_len = 0;
    n->head_len = 0;
    n->line_no = 0;
    n->head_done = 0;
}

/* Takes a zeroed request from the pool, or allocates one with its timer. */
static req_impl *req_alloc(http_server *s)
{
    req_impl *q = s->pool;

    if (q) {
        s->pool = q->next_free;
        s->npool--;
        q->next_free = NULL;
        return q;
    }
    q = calloc(1, sizeof(*q));
    if (q)
        q->timer = evtimer_new(s->app->base, on_timeout, q);
    return q;
}

/* Copies the raw path and query and decodes the path into one block, inline
 * when it fits. Returns 0 or -1 when out of memory; an invalid path leaves
 * pub.path NULL. */
static int set_path(req_impl *q, const char *path, const char *query)
{
    size_t plen = strlen(path);
    size_t qlen = strlen(query);
    size_t need = 2 * (plen + 1) + qlen + 1;
    char *decoded;

    q->text = need <= sizeof(q->text_inline) ? q->text_inline : malloc(need);
    if (!q->text)
        return -1;
    q->raw_path = q->text;
    memcpy(q->raw_path, path, plen + 1);
    q->raw_query = q->raw_path + plen + 1;
    memcpy(q->raw_query, query, qlen + 1);
    decoded = q->raw_query + qlen + 1;
    q->pub.path = http_percent_decode_to(path, plen, 0, decoded) == 0 ? decoded : NULL;
    return 0;
}

static req_impl *req_new(http_server *s, evhtp_request_t *ev)
{
    req_impl *q = req_alloc(s);
    const char *path = ev->uri && ev->uri->path && ev->uri->path->full ? ev->uri->path->full : "/";
    const char *query = ev->uri && ev->uri->query_raw ? (const char *)ev->uri->query_raw : "";
    conn_node *n = ev->conn && ev->conn->hooks ? ev->conn->hooks->on_connection_fini_arg : NULL;

    if (!q)
        return NULL;
    q->srv = s;
    if (set_path(q, path, query) != 0) {
        if (q->timer)
            event_free(q->timer);
        free(q);
        return NULL;
    }
    q->evreq = ev;
    q->pub.ev = ev;
    q->pub.app = s->app;
    q->pub.refs = 1; /* dropped by on_request_fini */
    q->pub.start_usec = now_usec();
    q->pub.method_name = method_name(ev->method, &q->pub.method);
    q->rejected = s->draining;
    scan_known_headers(q);
    set_request_id(q);
    set_peer(q, ev);
    s->inflight++;
    evhtp_request_set_hook(ev, evhtp_hook_on_request_fini, (evhtp_hook)on_request_fini, q);
    evhtp_request_set_hook(ev, evhtp_hook_on_error, (evhtp_hook)(void (*)(void))on_request_error,
                           q);
    if (n) {
        n->head_timing = 0;
        head_scan_reset(n);
        n->active = q;
        q->node = n;
    }
    /* A timer still pending from the request's earlier use fires before
     * this request's limit and re-arms itself (on_timeout). */
    if (q->timer && !evtimer_pending(q->timer, NULL)) {
        struct timeval tv = {s->app->conf->request_timeout, 0};
        evtimer_add(q->timer, &tv);
    }
    return q;
}

static req_impl *req_of(evhtp_request_t *ev)
{
    return ev->hooks ? ev->hooks->on_request_fini_arg : NULL;
}

static void reject_too_large(req_impl *q)
{
    char detail[128];
    q->too_large = 1;
    snprintf(detail, sizeof(detail), "The request body is larger than the limit of %zu bytes.",
             q->srv->app->conf->max_body);
    http_reply_error(&q->pub, 413, detail);
}

/* Counts body bytes as they arrive. Once the limit is passed the rest of
 * the body is discarded instead of buffered, and the reply is 413. */
static evhtp_res on_read(evhtp_request_t *ev, struct evbuffer *buf, void *arg)
{
    req_impl *q = arg;
    size_t n = evbuffer_get_length(buf);

    q->body_seen += n;
    if (q->too_large || q->body_seen > q->srv->app->conf->max_body) {
        evbuffer_drain(buf, n);
        if (!q->too_large)
            reject_too_large(q);
    }
    return EVHTP_RES_OK;
}

/* Runs when the request headers are complete, before any body byte: the
 * place to reject an announced body that is over the limit and to reply to
 * `Expect: 100-continue` ourselves (libevhtp's own answer would follow an
 * early 413). */
static evhtp_res on_headers(evhtp_request_t *ev, evhtp_headers_t *hdrs, void *arg)
{
    http_server *s = arg;
    req_impl *q = req_new(s, ev);
    const char *expect;

    if (!q)
        return EVHTP_RES_FATAL;
    evhtp_request_set_hook(ev, evhtp_hook_on_read, (evhtp_hook)on_read, q);
    if (evhtp_request_content_len(ev) > s->app->conf->max_body) {
        reject_too_large(q);
        return EVHTP_RES_OK;
    }
    expect = q->known[H_EXPECT];
    if (expect && strcasecmp(expect, "100-continue") == 0 && !q->rejected)
        evbuffer_add_printf(bufferevent_get_output(ev->conn->bev), "HTTP/1.1 100 Continue\r\n\r\n");
    return EVHTP_RES_OK;
}

/* ---- connections and request heads ------------------------------------ */

/* Replies to a request head that cannot become a request (too large, not
 * valid HTTP, or too slow) and logs it. libevhtp has no request to reply on at
 * that point, or is about to free the connection, so the few bytes go to
 * the socket directly: the socket is idle or nearly so, and the connection
 * closes right after. */
static void reply_early(conn_node *n, int status, const char *detail)
{
    evhtp_connection_t *c = n->conn;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    evhtp_request_t *ev = c->request;
    req_impl *q = n->active && n->active->pub.status == 0 ? n->active : NULL;
    char id[HTTP_REQUEST_ID_MAX + 1];
    char text[4096];
    char cookies[2048] = "";
    char sink[4096];
    size_t cookies_len = 0;
    int len;

    /* Replies already queued go first; unread input is dropped so that
     * closing the socket does not reset it before the client reads. */
    evbuffer_write(bufferevent_get_output(c->bev), fd);
    for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    if (q)
        snprintf(id, sizeof(id), "%s", q->pub.id);
    else
        new_request_id(id, sizeof(id));
    /* A browser whose cookies are too long for any request can only shed
     * them through a reply like this one. */
    for (size_t i = 0; status == 431 && i < n->srv->n_oversize_cookies; i++) {
        int added = snprintf(cookies + cookies_len, sizeof(cookies) - cookies_len,
                             "Set-Cookie: %s\r\n", n->srv->oversize_cookies[i]);
        if (added < 0 || (size_t)added >= sizeof(cookies) - cookies_len) {
            cookies[cookies_len] = '\0';
            break;
        }
        cookies_len += (size_t)added;
    }
    len = snprintf(text, sizeof(text),
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\nX-Request-Id: %s\r\n%s\r\n%s\n",
                   status, http_status_text(status), strlen(detail) + 1, id, cookies, detail);
    if (len > 0 && (size_t)len < sizeof(text))
        send(fd, text, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    if (q) {
        q->pub.status = status;
        q->pub.ev = NULL;
        log_access(q);
        return;
    }
    log_line(n->srv, id, ev && ev->uri ? htparser_get_methodstr(c->parser) : "-",
             ev && ev->uri && ev->uri->path && ev->uri->path->full ? ev->uri->path->full : "-",
             NULL, status, NULL, n->head_start_usec ? n->head_start_usec : now_usec());
}

static void on_head_timeout(evutil_socket_t fd, short what, void *arg)
{
    conn_node *n = arg;

    if (!n->head_timing)
        return;
    /* The timer may have been armed for an earlier head. */
    if (rearm_for_rest(n->head_timer, n->head_start_usec, n->srv->app->conf->request_timeout))
        return;
    log_event(LOG_WARN, "request head timed out", NULL);
    reply_early(n, 408, "The request head was not received in time.");
    evhtp_connection_free(n->conn);
}

/* Number of '\r' bytes in [p, end). */
static size_t count_cr(const unsigned char *p, const unsigned char *end)
{
    size_t n = 0;

    while (p < end && (p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* Adds the `counted` bytes of a piece of the current line to the line and
 * head lengths. Returns 0, or the status to reject the head with. The
 * lengths only grow within a line, so checking them after the piece rejects
 * exactly the heads that a check after every byte would. */
static int count_line_bytes(conn_node *n, size_t counted, const char **detail)
{
    n->line_len += counted;
    n->head_len += counted;
    if (n->line_no == 0 && n->line_len > HTTP_MAX_REQUEST_LINE) {
        *detail = "The request line is longer than 8000 bytes.";
        return 414;
    }
    if (n->line_no > 0 && (n->line_len > HTTP_MAX_HEAD_LINE || n->head_len > HTTP_MAX_HEAD)) {
        *detail = "The request header fields are too large.";
        return 431;
    }
    return 0;
}

/* Checks the head bytes in `data` against the limits. Returns 0, or the
 * status to reject the head with and its reason in `*detail`. Line and head
 * lengths leave out '\r' bytes wherever they are. memchr finds the line
 * ends, NUL bytes and '\r' bytes, in place of a test of every byte. */
static int scan_head(conn_node *n, const unsigned char *data, size_t len, const char **detail)
{
    const unsigned char *p = data, *end = data + len;

    while (p < end && !n->head_done) {
        const unsigned char *eol = memchr(p, '\n', (size_t)(end - p));
        const unsigned char *stop = eol ? eol : end;
        const unsigned char *nul = memchr(p, '\0', (size_t)(stop - p));
        int status;

        /* The bytes before a NUL count first, so that a line already too
         * long at the NUL gets the status for its length. */
        if (nul)
            stop = nul;
        status = count_line_bytes(n, (size_t)(stop - p) - count_cr(p, stop), detail);
        if (status)
            return status;
        if (nul) {
            *detail = "The request head contains a NUL byte.";
            return 400;
        }
        if (!eol)
            break;
        if (n->line_len == 0 && n->head_len > 0)
            n->head_done = 1;
        else if (n->line_len > 0)
            n->line_no++;
        n->line_len = 0;
        p = eol + 1;
    }
    return 0;
}

/* 1 when bytes arriving now belong to the next request's head: no request
 * is under way, or the current one has its body and its reply. */
static int in_head(const conn_node *n)
{
    return !n->active || (n->active->pub.status != 0 && n->active->body_done);
}

static void run_evhtp_cb(conn_node *n, bufferevent_data_cb cb, struct bufferevent *bev,
                         void *arg);

/* Starts timing the request head, unless a head is in progress. The timer
 * is armed only when it is not pending from an earlier head. A pending one
 * fires before this head's limit and re-arms itself. */
static void start_head_timer(conn_node *n)
{
    if (n->head_timing)
        return;
    n->head_timing = 1;
    n->head_start_usec = now_usec();
    if (!evtimer_pending(n->head_timer, NULL)) {
        struct timeval tv = {n->srv->app->conf->request_timeout, 0};
        evtimer_add(n->head_timer, &tv);
    }
}

/* Checks the input bytes from n->scanned on as head bytes, starting the
 * head timer. Returns 0 when libevhtp may parse the input, 1 when it is
 * held until the head is whole, or -1 when the head was rejected and the
 * connection freed. */
static int scan_input(conn_node *n, struct evbuffer *in, size_t len)
{
    struct evbuffer_iovec vec[8];
    struct evbuffer_ptr pos;
    const char *detail = NULL;
    int status = 0;
    int nvec;

    start_head_timer(n);
    evbuffer_ptr_set(in, &pos, n->scanned, EVBUFFER_PTR_SET);
    nvec = evbuffer_peek(in, -1, &pos, vec, 8);
    for (int i = 0; i < nvec && i < 8 && status == 0; i++)
        status = scan_head(n, vec[i].iov_base, vec[i].iov_len, &detail);
    if (status) {
        reply_early(n, status, detail);
        evhtp_connection_free(n->conn);
        return -1;
    }
    /* libevhtp gets a head only once it is whole. Its parser (1.2.18)
     * mangles a request line that arrives in two reads: a stray or lost
     * byte in the path or query, so a valid path got 404 and a userName
     * filter was dropped or misread. The bytes wait in the input buffer,
     * bounded by the head limits above and the head timer. Empty lines
     * before any head byte pass: after a pipelined request libevhtp may
     * hold the start of the next head already, and the empty line that
     * ends it is all that is left to come. */
    if (!n->head_done && n->head_len > 0) {
        n->scanned = len;
        return 1;
    }
    return 0;
}

/* Drops the CR and LF bytes at the start of `in`, of `len` bytes in all,
 * and returns how many bytes are left. RFC 9112 (section 2.2) lets a server
 * ignore empty lines before a request line, and libevhtp (1.2.18) sent no
 * reply after a lone leading CRLF. */
static size_t drop_empty_lines(struct evbuffer *in, size_t len)
{
    struct evbuffer_iovec vec[8];
    int nvec = evbuffer_peek(in, -1, NULL, vec, 1);
    size_t n = 0;

    if (nvec < 1 || vec[0].iov_len == 0 ||
        (((const char *)vec[0].iov_base)[0] != '\r' && ((const char *)vec[0].iov_base)[0] != '\n'))
        return len;
    nvec = evbuffer_peek(in, -1, NULL, vec, 8);

    for (int i = 0; i < nvec && i < 8; i++) {
        const unsigned char *p = vec[i].iov_base;
        size_t j = 0;

        while (j < vec[i].iov_len && (p[j] == '\r' || p[j] == '\n'))
            j++;
        n += j;
        if (j < vec[i].iov_len)
            break;
    }
    if (n)
        evbuffer_drain(in, n);
    return len - n;
}

/* Read callback of every connection. The bytes of a request head start the
 * head timer and are checked against the limits before libevhtp parses
 * them. */
static void on_conn_read(struct bufferevent *bev, void *arg)
{
    evhtp_connection_t *c = arg;
    conn_node *n = c->hooks->on_connection_fini_arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);

    if (n->scanned > len)
        n->scanned = 0;
    if (!n->active && !c->request && n->head_len == 0) {
        size_t left = drop_empty_lines(in, len);
        /* Empty lines count toward the head's time, so that a client
         * sending only those is closed like one that sends a head slowly. */
        if (left < len)
            start_head_timer(n);
        len = left;
        n->scanned = 0;
        if (len == 0)
            return;
    }
    if (in_head(n) && !n->head_done && len > n->scanned && scan_input(n, in, len) != 0)
        return;
    /* Input that libevhtp leaves unparsed after a complete request (a
     * pipelined head) counts as checked here. run_written checks it against
     * the same limits before libevhtp parses it. */
    run_evhtp_cb(n, n->parse, bev, arg);
}

/* Runs one of libevhtp's callbacks. Afterwards, if the connection still
 * exists, the input it left unparsed counts as checked. */
static void run_evhtp_cb(conn_node *n, bufferevent_data_cb cb, struct bufferevent *bev,
                         void *arg)
{
    int gone = 0;

    n->gone = &gone;
    cb(bev, arg);
    if (gone)
        return;
    n->gone = NULL;
    n->scanned = evbuffer_get_length(bufferevent_get_input(bev));
}

/* 1 when `in` contains a whole request head within the head limits: a
 * line that ends the head after at least one byte of head, by the rules of
 * scan_head. A head over a limit gives 0, so that run_written keeps it
 * from libevhtp and scan_input rejects it. */
static int whole_head_buffered(const conn_node *n, struct evbuffer *in)
{
    struct evbuffer_iovec vec[8];
    const char *detail = NULL;
    conn_node probe = *n;
    int nvec = evbuffer_peek(in, -1, NULL, vec, 8);

    head_scan_reset(&probe);
    for (int i = 0; i < nvec && i < 8; i++) {
        if (scan_head(&probe, vec[i].iov_base, vec[i].iov_len, &detail) != 0)
            return 0;
        if (probe.head_done)
            return 1;
    }
    return 0;
}

/* Runs libevhtp's write callback. Once a request's reply is written, that
 * callback finishes the request and parses the input already received: a
 * pipelined request. A pipelined head that has not fully arrived is kept
 * from it, because libevhtp (1.2.18) mangles a request line that it parses
 * in two pieces. The bytes go back into the input buffer afterwards as the
 * start of the next head, which on_conn_read keeps from libevhtp until it
 * is whole. */
static void run_written(conn_node *n, struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer *pending = NULL;
    size_t len;
    int gone = 0;

    if (n->active && in_head(n) && evbuffer_get_length(in) > 0) {
        /* Empty lines after a request (some clients send CRLF after a body)
         * are dropped as before a first request, since libevhtp has parsed
         * none of this input. */
        len = drop_empty_lines(in, evbuffer_get_length(in));
        if (len > 0 && !whole_head_buffered(n, in)) {
            pending = evbuffer_new();
            if (pending && evbuffer_add_buffer(pending, in) != 0) {
                evbuffer_free(pending);
                pending = NULL;
            }
        }
    }
    n->gone = &gone;
    n->written(bev, arg);
    if (gone) {
        if (pending)
            evbuffer_free(pending);
        return;
    }
    n->gone = NULL;
    if (pending) {
        evbuffer_prepend_buffer(in, pending);
        evbuffer_free(pending);
        head_scan_reset(n);
        n->scanned = 0;
        len = evbuffer_get_length(in);
        if (in_head(n) && scan_input(n, in, len) != 0)
            return;
    }
    n->scanned = evbuffer_get_length(in);
}

static void on_conn_write(struct bufferevent *bev, void *arg)
{
    evhtp_connection_t *c = arg;
    conn_node *n = c->hooks->on_connection_fini_arg;
    run_written(n, bev, arg);
}

/* Resumes a connection paused for a request that now has its reply. This
 * does what evhtp_connection_resume would do a loop iteration later: once
 * the reply is written, libevhtp's write callback (with the WAITING flag)
 * parses a pipelined request already received, else keeps the connection
 * for the next request or closes it. */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    conn_node *n = arg;
    evhtp_connection_t *c = n->conn;

    if (!(c->flags & EVHTP_CONN_FLAG_PAUSED))
        return;
    c->flags &= ~EVHTP_CONN_FLAG_PAUSED;
    if (c->flags & EVHTP_CONN_FLAG_FREE_CONN) {
        evhtp_connection_free(c);
        return;
    }
    if (c->request)
        c->request->status = EVHTP_RES_OK;
    if (n->timeouts_off) {
        n->timeouts_off = 0;
        evhtp_connection_set_timeouts(c, &n->srv->idle, &n->srv->idle);
    }
    c->flags |= EVHTP_CONN_FLAG_WAITING;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
        bufferevent_enable(c->bev, EV_WRITE);
        return;
    }
    /* A reply already written while paused made libevhtp's write callback
     * return early, so it runs here instead. */
    run_written(n, c->bev, c);
}

/* A parse error libevhtp found (it frees the connection right after) gets
 * 400 here, since libevhtp itself would close without a word. */
static int parse_failed(evhtp_connection_t *c)
{
    htpparse_error e = c->parser ? htparser_get_error(c->parser) : htparse_error_none;
    return e != htparse_error_none && e != htparse_error_user;
}

static evhtp_res on_connection_fini(evhtp_connection_t *conn, void *arg)
{
    conn_node *n = arg;
    http_server *s = n->srv;

    if (parse_failed(conn))
        reply_early(n, 400, "The request is not valid HTTP/1.1.");
    if (n->active)
        n->active->node = NULL;
    if (n->gone)
        *n->gone = 1;
    if (n->prev)
        n->prev->next = n->next;
    else
        s->conns = n->next;
    if (n->next)
        n->next->prev = n->prev;
    event_free(n->head_timer);
    event_free(n->resume);
    free(n);
    return EVHTP_RES_OK;
}

/* Turns off Nagle's algorithm on a new connection. Otherwise the last,
 * partial segment of a reply larger than one segment waits until the
 * client acknowledges the segments before it. Linux clients delay that
 * acknowledgement by up to 40 ms, so a page of 100 users took 47 ms, 40 of
 * them waiting. Replies are written whole, so the small segments that
 * Nagle's algorithm prevents do not arise. */
static void set_nodelay(evhtp_connection_t *conn)
{
    evutil_socket_t fd = bufferevent_getfd(conn->bev);
    int enable = 1;

    if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &enable, sizeof enable) != 0)
        log_msgf(LOG_DEBUG, "http: TCP_NODELAY failed: %s", strerror(errno));
}

static evhtp_res on_post_accept(evhtp_connection_t *conn, void *arg)
{
    http_server *s = arg;
    conn_node *n = calloc(1, sizeof(*n));
    bufferevent_data_cb readcb, writecb;
    bufferevent_event_cb eventcb;
    void *cbarg;

    if (!n)
        return EVHTP_RES_ERROR;
    set_nodelay(conn);
    n->conn = conn;
    n->srv = s;
    n->head_timer = evtimer_new(s->app->base, on_head_timeout, n);
    n->resume = event_new(s->app->base, -1, 0, on_resume, n);
    if (!n->head_timer || !n->resume) {
        if (n->head_timer)
            event_free(n->head_timer);
        if (n->resume)
            event_free(n->resume);
        free(n);
        return EVHTP_RES_ERROR;
    }
    n->next = s->conns;
    if (s->conns)
        s->conns->prev = n;
    s->conns = n;
    evhtp_connection_set_hook(conn, evhtp_hook_on_connection_fini, (evhtp_hook)on_connection_fini,
                              n);
    evhtp_connection_set_hook(conn, evhtp_hook_on_headers, (evhtp_hook)on_headers, arg);
    bufferevent_getcb(conn->bev, &readcb, &writecb, &eventcb, &cbarg);
    n->parse = readcb;
    n->written = writecb;
    bufferevent_setcb(conn->bev, on_conn_read, on_conn_write, eventcb, cbarg);
    /* Bytes a client sends ahead while its request waits stay unread above
     * this, in the socket. */
    bufferevent_setwatermark(conn->bev, EV_READ, 0, HTTP_MAX_HEAD);
    return EVHTP_RES_OK;
}

static int take_body(req_impl *q, evhtp_request_t *ev)
{
    size_t len = evbuffer_get_length(ev->buffer_in);
    if (len == 0)
        return 0;
    q->pub.body = malloc(len + 1);
    if (!q->pub.body)
        return -1;
    evbuffer_remove(ev->buffer_in, q->pub.body, len);
    q->pub.body[len] = '\0';
    q->pub.body_len = len;
    return 0;
}

static void reply_options(req_impl *q, unsigned allowed)
{
    char allow[128];
    http_allow_header(allowed | HTTP_OPTIONS, allow, sizeof(allow));
    http_set_header(&q->pub, "Allow", allow);
    http_reply(&q->pub, 204, NULL, NULL, 0);
}

static void dispatch(req_impl *q)
{
    route_match m;
    char allow[128];
    int rc;

    if (q->rejected) {
        http_reply_error(&q->pub, 503, "The service is shutting down.");
        return;
    }
    if (!q->pub.path) {
        http_reply_error(&q->pub, 400, "The request path is not valid percent-encoding.");
        return;
    }
    rc = route_table_find(q->srv->routes, q->raw_path, q->pub.method, &m);
    if (rc == 2) {
        http_reply_error(&q->pub, 404, "No resource exists at this path.");
        return;
    }
    if (rc == 1) {
        q->pub.route = m.pattern;
        if (q->pub.method == HTTP_OPTIONS) {
            reply_options(q, m.allowed);
            return;
        }
        /* Every route accepts OPTIONS, so Allow lists it, as the OPTIONS
         * reply does. */
        http_allow_header(m.allowed | HTTP_OPTIONS, allow, sizeof(allow));
        http_set_header(&q->pub, "Allow", allow);
        http_reply_error(&q->pub, 405, "The method is not allowed for this resource.");
        return;
    }
    q->head = m.head_as_get || q->pub.method == HTTP_HEAD;
    q->pub.route = m.pattern;
    memcpy(q->pub.params, m.params, sizeof(m.params));
    q->pub.nparams = m.nparams;
    m.fn(&q->pub, m.arg);
}

/* Stops libevhtp from parsing further input (a pipelined request) until
 * this request has its reply: libevhtp 1.2.18 parses one message per read
 * and would leave the next one unread, or fail on it while this one waits.
 * This is evhtp_request_pause of libevhtp 1.2.18 (read from its
 * disassembly) without its bufferevent_disable of reads, so that reading
 * stays on to notice a client that disconnects, and without its timeout
 * change, which pause_timeouts makes for a handler that replies later. */
static void pause_reading(req_impl *q, evhtp_request_t *ev)
{
    if (!q->node)
        return;
    ev->status = EVHTP_RES_PAUSE;
    ev->conn->flags |= EVHTP_CONN_FLAG_PAUSED;
    q->paused = 1;
}

/* Turns the read timeout off for a handler that returned without a reply,
 * since request_timeout bounds it. A handler that replied at once leaves
 * the idle timeouts as they are: they cannot expire while it runs, and
 * turning them off and on costs about 800 instructions (callgrind), 2% of a
 * GET. The enable keeps reading on, as pause_reading does. */
static void pause_timeouts(req_impl *q, evhtp_request_t *ev)
{
    if (!q->paused || !q->node || q->pub.status != 0)
        return;
    q->node->timeouts_off = 1;
    evhtp_connection_set_timeouts(ev->conn, NULL, NULL);
    bufferevent_enable(ev->conn->bev, EV_READ);
}

/* The single libevhtp callback: every request lands here once its body is
 * complete. */
static void on_request(evhtp_request_t *ev, void *arg)
{
    req_impl *q = req_of(ev);

    (void)arg;
    if (!q)
        return; /* out of memory in on_headers; libevhtp closes the connection */
    q->body_done = 1;
    if (q->pub.status != 0)
        return; /* 413 or a timeout already replied */
    pause_reading(q, ev);
    if (take_body(q, ev) != 0) {
        http_reply_error(&q->pub, 500, "Out of memory.");
        return;
    }
    http_req_hold(&q->pub);
    dispatch(q);
    pause_timeouts(q, ev);
    http_req_release(&q->pub);
}

/* ---- accessors -------------------------------------------------------- */

/* Copies `text` into the request's inline header text, or to the heap once
 * that is full. */
static char *copy_header_text(req_impl *q, const char *text)
{
    size_t n = strlen(text) + 1;
    char *p;

    if (n > sizeof(q->header_text) - q->header_text_len)
        return strdup(text);
    p = q->header_text + q->header_text_len;
    memcpy(p, text, n);
    q->header_text_len += n;
    return p;
}

/* Keeps a copy of a header looked up, since libevhtp may free its request
 * before ours. The copies live inside the request while they fit. */
static const char *remember(req_impl *q, const char *name, const char *value)
{
    size_t n = q->nheaders;
    http_kv *entry;

    if (n < sizeof(q->headers_inline) / sizeof(q->headers_inline[0])) {
        q->headers = q->headers_inline;
    } else {
        http_kv *grown = malloc((n + 1) * sizeof(*grown));
        if (!grown)
            return NULL;
        memcpy(grown, q->headers, n * sizeof(*grown));
        if (q->headers != q->headers_inline)
            free(q->headers);
        q->headers = grown;
    }
    entry = &q->headers[n];
    entry->name = copy_header_text(q, name);
    entry->value = copy_header_text(q, value);
    if (!entry->name || !entry->value) {
        if (entry->name && !in_header_text(q, entry->name))
            free(entry->name);
        if (entry->value && !in_header_text(q, entry->value))
            free(entry->value);
        return NULL;
    }
    q->nheaders++;
    return entry->value;
}

/* Remembers the values of every line of the list header `name`, joined
 * with ", " as RFC 9110 (section 5.3) combines repeated field lines. */
static const char *remember_joined(req_impl *q, const char *name)
{
    evhtp_kv_t *kv;
    size_t len = 0;
    char *joined, *p;
    const char *copy;

    TAILQ_FOREACH(kv, q->evreq->headers_in, next) {
        if (kv->key && kv->val && strcasecmp(kv->key, name) == 0)
            len += strlen(kv->val) + 2;
    }
    if (!(joined = malloc(len + 1)))
        return NULL;
    p = joined;
    TAILQ_FOREACH(kv, q->evreq->headers_in, next) {
        if (kv->key && kv->val && strcasecmp(kv->key, name) == 0) {
            size_t n = strlen(kv->val);
            if (p != joined) {
                memcpy(p, ", ", 2);
                p += 2;
            }
            memcpy(p, kv->val, n);
            p += n;
        }
    }
    *p = '\0';
    copy = remember(q, name, joined);
    free(joined);
    return copy;
}

const char *http_header(http_req *r, const char *name)
{
    req_impl *q = impl_of(r);
    int k = known_header_index(name, strlen(name));
    const char *v;

    if (k >= 0) {
        if (q->known_copy[k] || !q->evreq)
            return q->known_copy[k];
        scan_known_headers(q);
        if (!q->known[k])
            return NULL;
        if ((q->known_repeated & (1u << k)) && (k == H_IF_MATCH || k == H_IF_NONE_MATCH))
            q->known_copy[k] = remember_joined(q, name);
        else
            q->known_copy[k] = remember(q, name, q->known[k]);
        return q->known_copy[k];
    }
    for (size_t i = 0; i < q->nheaders; i++) {
        if (strcasecmp(q->headers[i].name, name) == 0)
            return q->headers[i].value;
    }
    if (!q->evreq)
        return NULL;
    v = evhtp_header_find(q->evreq->headers_in, name);
    return v ? remember(q, name, v) : NULL;
}

const char *http_query_string(http_req *r)
{
    return impl_of(r)->raw_query;
}

/* Splits the query string into parameters as http_kv_parse does. Pairs are
 * separated by '&', and empty pairs and pairs whose name does not decode are
 * skipped. A value that does not decode is NULL, and a pair without '=' has
 * the value "". The pairs and their decoded text go into the request while
 * they fit, since most queries have a few short parameters. */
static void parse_query(req_impl *q)
{
    const char *text = q->raw_query;
    size_t len = strlen(text), pairs = 1, used = 0, i = 0;
    size_t text_size;

    if (q->query_parsed)
        return;
    q->query_parsed = 1;
    if (len == 0)
        return;
    for (const char *amp = text; (amp = strchr(amp, '&')) != NULL; amp++)
        pairs++;
    /* Decoding never lengthens text, and each pair adds at most two NULs. */
    text_size = len + 2 * pairs;
    q->query = pairs <= sizeof(q->query_inline) / sizeof(q->query_inline[0])
                   ? q->query_inline
                   : malloc(pairs * sizeof(*q->query));
    q->query_text = text_size <= sizeof(q->query_text_inline) ? q->query_text_inline
                                                              : malloc(text_size);
    if (!q->query || !q->query_text)
        return; /* out of memory: the request has no parameters */
    while (i < len) {
        const char *part = text + i;
        const char *end = memchr(part, '&', len - i);
        size_t plen = end ? (size_t)(end - part) : len - i;
        const char *eq = memchr(part, '=', plen);
        size_t nlen = eq ? (size_t)(eq - part) : plen;
        char *name = q->query_text + used;
        char *value;

        i += plen + 1;
        if (plen == 0 || http_percent_decode_to(part, nlen, 1, name) != 0)
            continue; /* a name that does not decode cannot be requested */
        used += strlen(name) + 1;
        value = q->query_text + used;
        if (!eq)
            *value = '\0';
        else if (http_percent_decode_to(eq + 1, plen - nlen - 1, 1, value) != 0) {
            value = NULL;
            q->query_undecodable = 1;
        }
        if (value)
            used += strlen(value) + 1;
        q->query[q->nquery].name = name;
        q->query[q->nquery].value = value;
        q->nquery++;
    }
}

const char *http_query(http_req *r, const char *name)
{
    req_impl *q = impl_of(r);
    parse_query(q);
    return http_kv_find(q->query, q->nquery, name);
}

int http_query_invalid(http_req *r, const char *name)
{
    req_impl *q = impl_of(r);
    parse_query(q);
    /* Handlers ask for every parameter they know of, most of them absent,
     * so the usual query is not scanned again. */
    if (!q->query_undecodable)
        return 0;
    return http_kv_invalid(q->query, q->nquery, name);
}

const char *http_form(http_req *r, const char *name)
{
    req_impl *q = impl_of(r);
    if (!q->form_parsed && r->body) {
        q->nform = http_kv_parse(r->body, r->body_len, '&', 1, &q->form);
        q->form_parsed = 1;
    }
    return http_kv_find(q->form, q->nform, name);
}

const char *http_cookie(http_req *r, const char *name)
{
    req_impl *q = impl_of(r);
    if (!q->cookies_parsed) {
        const char *h = http_header(r, "Cookie");
        if (h)
            q->ncookies = http_kv_parse(h, strlen(h), ';', 0, &q->cookies);
        q->cookies_parsed = 1;
    }
    return http_kv_find(q->cookies, q->ncookies, name);
}

const char *http_peer(http_req *r)
{
    req_impl *q = impl_of(r);
    struct sockaddr *sa = (struct sockaddr *)&q->peer_addr;

    if (q->peer_set)
        return q->peer;
    q->peer_set = 1;
    q->peer[0] = '\0';
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, q->peer, sizeof(q->peer));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, q->peer, sizeof(q->peer));
    return q->peer;
}

/* ---- server ----------------------------------------------------------- */

int http_route(http_server *s, const char *pattern, unsigned methods, http_handler fn, void *arg)
{
    int rc = route_table_add(s->routes, pattern, methods, fn, arg);
    if (rc != 0)
        log_event(LOG_ERROR, "invalid route", "pattern", pattern, NULL);
    return rc;
}

void http_set_observer(http_server *s, http_observer fn, void *arg)
{
    s->observer = fn;
    s->observer_arg = arg;
}

int http_server_start(app *a, http_server **out)
{
    http_server *s = calloc(1, sizeof(*s));
    /* libevhtp's read timeout also runs while a body arrives. It counts
     * from the last read and the request timer from the end of the head, so
     * with equal values the read timeout could close the connection before
     * the timer replies 408. So when idle_timeout is not longer, the read
     * timeout ends a second after request_timeout. */
    int idle_sec = a->conf->idle_timeout > a->conf->request_timeout ? a->conf->idle_timeout
                                                                     : a->conf->request_timeout + 1;
    struct timeval idle = {idle_sec, 0};
    char port[16];

    if (!s)
        return -1;
    s->app = a;
    s->idle = idle;
    s->routes = route_table_new();
    s->htp = evhtp_new(a->base, s);
    s->log_flusher = event_new(a->base, -1, 0, on_log_flush, s);
    if (!s->routes || !s->htp || !s->log_flusher)
        goto fail;
    /* on_headers sends 100 Continue itself, after the size check. */
    s->htp->flags &= ~EVHTP_FLAG_ENABLE_100_CONT;
    evhtp_set_gencb(s->htp, on_request, s);
    evhtp_set_post_accept_cb(s->htp, on_post_accept, s);
    /* The read timeout closes idle keep-alive connections and stalled
     * clients; request_timeout bounds the time to a reply. */
    evhtp_set_timeouts(s->htp, &idle, &idle);
    if (evhtp_bind_socket(s->htp, a->conf->listen_address, (uint16_t)a->conf->port, 1024) != 0) {
        snprintf(port, sizeof(port), "%d", a->conf->port);
        log_event(LOG_ERROR, "cannot listen", "address", a->conf->listen_address, "port", port,
                  NULL);
        goto fail;
    }
    s->bound = 1;
    *out = s;
    return 0;

fail:
    http_server_free(s);
    return -1;
}

void http_server_stop_accepting(http_server *s)
{
    if (!s)
        return;
    if (s->bound) {
        evhtp_unbind_socket(s->htp);
        s->bound = 0;
    }
    s->draining = 1;
    http_server_close_idle(s);
}

void http_server_close_idle(http_server *s)
{
    conn_node *n = s ? s->conns : NULL;
    while (n) {
        conn_node *next = n->next;
        if (!n->active && !n->conn->request && !n->head_timing)
            evhtp_connection_free(n->conn); /* unlinks n */
        n = next;
    }
}

unsigned http_server_inflight(const http_server *s)
{
    return s ? s->inflight : 0;
}

void http_server_free(http_server *s)
{
    if (!s)
        return;
    if (s->bound) {
        evhtp_unbind_socket(s->htp);
        s->bound = 0;
    }
    /* Each free runs on_connection_fini, which unlinks the head. */
    while (s->conns)
        evhtp_connection_free(s->conns->conn);
    if (s->htp)
        evhtp_free(s->htp);
    route_table_free(s->routes);
    for (size_t i = 0; i < s->npages; i++)
        free(s->pages[i].prefix);
    free(s->pages);
    for (size_t i = 0; i < s->n_oversize_cookies; i++)
        free(s->oversize_cookies[i]);
    s->n_oversize_cookies = 0;
    pool_free(s);
    if (s->log_flusher)
        event_free(s->log_flusher);
    s->log_flusher = NULL;
    log_flush();
    s->routes = NULL;
    s->pages = NULL;
    s->npages = 0;
    s->observer = NULL;
    /* A request still held by asynchronous work frees the server with its
     * own release. */
    if (s->inflight > 0)
        s->freed = 1;
    else
        free(s);
}
