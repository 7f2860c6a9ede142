/* Outbound HTTPS client on libcurl's multi-socket interface, driven by the
 * application's libevent loop, so no request ever blocks the loop.
 *
 * Only https URLs are fetched. Certificates and host names are always
 * verified, against the system CA store or a configured CA file. Redirects
 * are not followed. Each transfer has a connect timeout, a total timeout and
 * a response size limit. Proxies come from the standard environment
 * variables (https_proxy, no_proxy), which libcurl honours.
 *
 * Every call must come from the event loop thread.
 */
#ifndef IDGATE_HTTP_CLIENT_H
#define IDGATE_HTTP_CLIENT_H

#include <stddef.h>

struct event_base;
struct http_req;
struct conf;

typedef struct http_client http_client;

typedef struct http_client_options {
    const char *ca_file;        /* PEM bundle to trust; NULL for the system store */
    long connect_timeout_ms;    /* 0 means 5000 */
    long total_timeout_ms;      /* 0 means 10000 */
    size_t max_response;        /* body bytes; 0 means 1 MiB */
    const char *user_agent;     /* NULL means "idgate/<version>" */
} http_client_options;

/* The outcome of one transfer. Everything is borrowed and valid only during
 * the callback. */
typedef struct http_client_response {
    int status;                 /* HTTP status, or 0 when no response arrived */
    const char *error;          /* English reason when status is 0, else NULL */
    int cancelled;              /* 1 when the waiting request went away first */
    const char *body;           /* NUL-terminated; "" when empty */
    size_t body_len;
    const char *content_type;   /* NULL when absent */
    const char *cache_control;  /* NULL when absent */
    double seconds;             /* total time */
} http_client_response;

/* Runs once per successful http_client_fetch, on the loop thread, including
 * when the transfer failed or was cancelled. */
typedef void (*http_client_cb)(const http_client_response *res, void *arg);

typedef struct http_client_request {
    const char *url;            /* https only */
    const char *body;           /* NULL for GET; otherwise POSTed */
    size_t body_len;
    const char *content_type;   /* for the body; NULL means form-urlencoded */
    const char *authorization;  /* value of an Authorization header, or NULL */
    const char *accept;         /* NULL means application/json */
    /* The inbound request this fetch serves, or NULL. The client holds it for
     * the transfer and aborts the transfer once it is no longer alive; the
     * callback still runs, with `cancelled` set. */
    struct http_req *waiter;
} http_client_request;

/* Creates a client on `base`. Returns 0 and `*out`, or -1 with the reason
 * logged. */
int http_client_new(struct event_base *base, const http_client_options *opt, http_client **out);

/* Reads [oidc] ca_file, connect_timeout, request_timeout and max_response
 * into `opt`. Strings are borrowed from `c`. */
void http_client_options_from_conf(struct conf *c, http_client_options *opt);

/* Aborts every transfer still running (their callbacks run with an error)
 * and frees the client. NULL is allowed. */
void http_client_free(http_client *c);

/* Starts a transfer; every string in `req` is copied. Returns 0, after which
 * `cb` runs exactly once and never before this function returns; or -1 when
 * the transfer cannot start, in which case `cb` never runs. */
int http_client_fetch(http_client *c, const http_client_request *req, http_client_cb cb,
                      void *arg);

/* Transfers in flight, for metrics and tests. */
unsigned http_client_inflight(const http_client *c);

#endif
