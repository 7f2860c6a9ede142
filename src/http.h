/* HTTP server, exact-path router and per-request context on libevhtp.
 *
 * libevhtp matches callbacks by path prefix; this layer registers one
 * catch-all callback and routes by exact path pattern and method itself.
 * An unknown path gets 404, a known path with another method 405 with an
 * Allow header. Patterns are literal segments, `{}` for exactly one
 * non-empty segment (captured into http_req.params in order), or a final
 * `*` matching the rest of the path (captured too, possibly empty).
 *
 * Every request gets one http_req, created when its headers are complete
 * and the body has been read (bodies over the configured limit get 413
 * before any handler runs). A handler either replies before returning or
 * keeps the request for asynchronous work with http_req_hold. The client can
 * disconnect at any time: libevhtp then frees its request, http_req.ev
 * becomes NULL and every reply function becomes a no-op, but the http_req
 * itself stays valid until the last http_req_release. Asynchronous work
 * (store completions, outbound HTTP) must therefore hold the request, and
 * may finish its writes whether or not anyone is left to reply to.
 *
 * Time limits. [server] request_timeout bounds, separately, the request
 * head (from its first byte to the end of the headers; 408 and the
 * connection closed) and the time from the end of the headers to the reply
 * (408 while the body is still arriving, else 503). A reply must describe
 * what happened, so the second limit stops once a handler has handed the
 * request's durable work to the store: call http_req_set_committing right
 * after a successful store_submit whose completion replies, and the reply
 * then waits for that completion however long the commit takes. Waits for
 * outbound HTTP (sign-in) are bounded by their own client timeouts and stay
 * under request_timeout until they submit their write.
 * NOTE: only handlers that call http_req_set_committing get this; any other
 * handler still gets 503 at request_timeout while its write may commit. 
 *
 * Requests on one connection are answered in order, pipelined ones too:
 * the next request is read only after the reply to the current one.
 * Request heads are limited to HTTP_MAX_REQUEST_LINE bytes for the request
 * line (414 above) and HTTP_MAX_HEAD_LINE per header line and HTTP_MAX_HEAD
 * in all (431 above); a NUL byte anywhere in the head, or a head libevhtp
 * cannot parse (such as an invalid Content-Length), gets 400. These replies
 * close the connection and are logged like any other.
 *
 * Shutdown: http_server_stop_accepting closes the listener and idle
 * keep-alive connections. A request whose head completes after that gets
 * 503 with `Connection: close`, while requests already started run to
 * their reply, which also closes its connection.
 */
#ifndef IDGATE_HTTP_H
#define IDGATE_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct evbuffer;
struct evhtp_request;

#define HTTP_MAX_PARAMS 4
/* Longest X-Request-Id taken from a client; longer or unusual ones are
 * replaced by a generated id. */
#define HTTP_REQUEST_ID_MAX 64
/* Request head limits, in bytes (line terminators not counted). */
#define HTTP_MAX_REQUEST_LINE 8000
#define HTTP_MAX_HEAD_LINE 8000
#define HTTP_MAX_HEAD (64 * 1024)

enum http_method_bit {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_PATCH = 1 << 4,
    HTTP_DELETE = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
};

typedef struct http_req {
    struct evhtp_request *ev;   /* NULL once the client is gone or a reply was sent */
    struct app *app;
    char id[HTTP_REQUEST_ID_MAX + 1]; /* request id for logs, also sent as X-Request-Id */
    unsigned method;            /* one http_method_bit; HTTP_HEAD is routed as GET */
    const char *method_name;
    const char *path;           /* decoded path without the query string */
    const char *route;          /* pattern that matched, for metrics; NULL before routing */
    char *params[HTTP_MAX_PARAMS];  /* percent-decoded captures, NUL-terminated */
    int nparams;
    char *body;                 /* request body, NUL-terminated; NULL when empty */
    size_t body_len;
    uint64_t start_usec;        /* monotonic clock at arrival */
    char account_id[40];        /* set by handlers so the access log names the account */
    int status;                 /* status sent, 0 until a reply */
    int refs;
} http_req;

typedef void (*http_handler)(http_req *r, void *arg);

typedef struct http_server http_server;

/* Creates the server on the app's event loop and binds the listener from
 * the app's configuration. Returns 0, or -1 with the reason logged. */
int http_server_start(struct app *app, http_server **out);
/* Stops accepting new connections and new requests, and closes idle
 * keep-alive connections; requests in flight continue. */
void http_server_stop_accepting(http_server *s);
/* Closes keep-alive connections that have become idle since; call it while
 * draining. */
void http_server_close_idle(http_server *s);
/* Requests created and not yet finished (replied and released). */
unsigned http_server_inflight(const http_server *s);
void http_server_free(http_server *s);

/* Registers `fn` for `pattern` and the methods in `methods` (a mask of
 * http_method_bit). Registering the same pattern again adds methods. */
int http_route(http_server *s, const char *pattern, unsigned methods, http_handler fn, void *arg);

/* Keeps the request alive across asynchronous work; pair with release. */
void http_req_hold(http_req *r);
void http_req_release(http_req *r);
/* 1 while a reply can still be sent. */
int http_req_alive(const http_req *r);
/* Declares that the request's durable work has been submitted (call it
 * after store_submit succeeded): request_timeout no longer answers for the
 * request, whose reply now waits for the work's completion. */
void http_req_set_committing(http_req *r);

/* Request accessors. Returned strings are owned by the request and valid
 * until it is released. Header names are case-insensitive. */
const char *http_header(http_req *r, const char *name);
/* Value of a query-string parameter, percent-decoded and '+' as space; NULL
 * when absent. The first occurrence wins. */
const char *http_query(http_req *r, const char *name);
/* 1 when the query string has the parameter `name` (its first occurrence)
 * but its value does not percent-decode (a malformed escape such as `%zz`
 * or a trailing `%`, or an encoded NUL byte `%00`); http_query then returns
 * NULL for it. */
int http_query_invalid(http_req *r, const char *name);
/* The raw query string without '?', or "" when none. */
const char *http_query_string(http_req *r);
/* Parses an application/x-www-form-urlencoded body parameter (first wins). */
const char *http_form(http_req *r, const char *name);
/* Value of a request cookie, or NULL. */
const char *http_cookie(http_req *r, const char *name);
/* Peer address as text. */
const char *http_peer(http_req *r);

/* Adds a response header; call before the reply. Both strings are copied. */
void http_set_header(http_req *r, const char *name, const char *value);

/* Sends the reply and logs the access line. A `content_type` of NULL sends
 * no Content-Type. 204 and 304 replies never carry a body, Content-Type or
 * Content-Length, whatever is passed. Exactly one reply per request; later
 * calls do nothing. */
void http_reply(http_req *r, int status, const char *content_type, const void *body, size_t len);
/* Replies with a body taken from `buf` (drained). */
void http_reply_buffer(http_req *r, int status, const char *content_type, struct evbuffer *buf);
/* Replies with a plain-text body. */
void http_reply_text(http_req *r, int status, const char *text);
/* Replies 302/303 to `location`. */
void http_redirect(http_req *r, int status, const char *location);

/* Error pages. A renderer writes the reply for an error the HTTP layer
 * raises itself (404 unknown path, 405 wrong method, 413 body too large,
 * 408/503 request timed out) for paths under the prefix it was registered
 * for; handlers can send the same kind of page with http_reply_error. It
 * must reply (http_reply and friends) before returning. `detail` is a short
 * English sentence without secrets. The 405 reply already carries its Allow
 * header when the renderer runs. */
typedef void (*http_error_renderer)(http_req *r, int status, const char *detail);

/* Uses `fn` for error pages of every path equal to `prefix` or below it
 * (`/scim/v2` covers `/scim/v2` and `/scim/v2/Users`, not `/scim/v2x`). The
 * longest matching prefix wins; paths without one get a text/plain page.
 * `prefix` is copied. Returns 0, or -1 when out of memory. */
int http_set_error_renderer(http_server *s, const char *prefix, http_error_renderer fn);

/* Adds a Set-Cookie header value (copied) to every 431 reply for request
 * header fields that are too large. A browser whose cookies made its Cookie
 * line too long can then drop the ones the value expires. At most
 * HTTP_MAX_OVERSIZE_COOKIES values. Returns 0, or -1 when out of memory or
 * full. */
#define HTTP_MAX_OVERSIZE_COOKIES 8
int http_expire_on_oversize(http_server *s, const char *set_cookie);

/* Replies with the error page that applies to the request's path. */
void http_reply_error(http_req *r, int status, const char *detail);

/* Reason phrase for a status code ("Not Found"), or "Unknown". */
const char *http_status_text(int status);

/* Called after every reply with the route pattern (or NULL when no route
 * matched), the status and the latency; used by the metrics module. */
typedef void (*http_observer)(const char *route, const char *method, int status, double seconds,
                              void *arg);
void http_set_observer(http_server *s, http_observer fn, void *arg);

/* Percent-encodes `in` for a query component into a malloc'd string. */
char *http_urlencode(const char *in);

/* Writes `v` in decimal at `out`, which has room for 20 bytes, without a
 * terminating NUL, and returns the byte after the last digit. */
char *http_put_decimal(char *out, uint64_t v);

#endif
