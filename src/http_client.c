#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf.h"
#include "http.h"
#include "http_client.h"
#include "log.h"

#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_TOTAL_MS 10000
#define DEFAULT_MAX_RESPONSE (1024 * 1024)

struct http_client {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    char *ca_file;
    char *user_agent;
    long connect_ms;
    long total_ms;
    size_t max_response;
    unsigned inflight;
    struct transfer *transfers;     /* doubly linked, for http_client_free */
};

/* One transfer: the easy handle, its buffers and the caller's callback. */
typedef struct transfer {
    http_client *client;
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    char *req_body;
    char *body;
    size_t body_len;
    size_t body_cap;
    int too_large;
    char *cache_control;
    char errbuf[CURL_ERROR_SIZE];
    http_req *waiter;
    http_client_cb cb;
    void *arg;
    struct transfer *prev, *next;
} transfer;

/* Event-loop watch on one socket that libcurl uses. */
typedef struct sock_watch {
    struct event *ev;
    http_client *client;
} sock_watch;

static void check_done(http_client *c);

static void finish(transfer *t, CURLcode code)
{
    http_client *c = t->client;
    http_client_response res = {0};
    long status = 0;
    char *ctype = NULL;
    double secs = 0;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ctype);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &secs);
    res.cancelled = t->waiter != NULL && !http_req_alive(t->waiter);
    if (code == CURLE_OK) {
        res.status = (int)status;
    } else if (t->too_large) {
        res.error = "response is larger than the configured limit";
    } else if (res.cancelled) {
        res.error = "cancelled because the waiting request ended";
    } else {
        res.error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
    }
    res.body = t->body ? t->body : "";
    res.body_len = t->body_len;
    res.content_type = ctype;
    res.cache_control = t->cache_control;
    res.seconds = secs;

    curl_multi_remove_handle(c->multi, t->easy);
    if (t->prev)
        t->prev->next = t->next;
    else
        c->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    c->inflight--;

    t->cb(&res, t->arg);

    if (t->waiter)
        http_req_release(t->waiter);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    free(t->url);
    free(t->req_body);
    free(t->body);
    free(t->cache_control);
    free(t);
}

static void check_done(http_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        finish(t, msg->data.result);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    sock_watch *w = arg;
    http_client *c = w->client;
    int flags = 0, running;
    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    check_done(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    http_client *c = arg;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

/* CURLMOPT_SOCKETFUNCTION: (re)arms or drops the loop's watch on `fd`. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    http_client *c = userp;
    sock_watch *w = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            event_free(w->ev);
            free(w);
        }
        curl_multi_assign(c->multi, fd, NULL);
        return 0;
    }
    short events = EV_PERSIST;
    if (what & CURL_POLL_IN)
        events |= EV_READ;
    if (what & CURL_POLL_OUT)
        events |= EV_WRITE;
    if (w == NULL) {
        w = calloc(1, sizeof *w);
        if (w == NULL)
            return -1;
        w->client = c;
        curl_multi_assign(c->multi, fd, w);
    } else {
        event_free(w->ev);
    }
    w->ev = event_new(c->base, fd, events, on_socket_event, w);
    if (w->ev == NULL || event_add(w->ev, NULL) != 0)
        return -1;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: one loop timer stands for libcurl's next timeout. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    http_client *c = userp;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer *t = userp;
    size_t n = size * nmemb;
    if (t->body_len + n > t->client->max_response) {
        t->too_large = 1;
        return 0;
    }
    if (t->body_len + n + 1 > t->body_cap) {
        size_t cap = t->body_cap ? t->body_cap : 4096;
        while (cap < t->body_len + n + 1)
            cap *= 2;
        char *grown = realloc(t->body, cap);
        if (grown == NULL)
            return 0;
        t->body = grown;
        t->body_cap = cap;
    }
    memcpy(t->body + t->body_len, data, n);
    t->body_len += n;
    t->body[t->body_len] = '\0';
    return n;
}

/* Keeps the Cache-Control value; other headers come from curl_easy_getinfo. */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer *t = userp;
    size_t n = size * nmemb;
    static const char name[] = "cache-control:";
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t len = n - (sizeof name - 1);
        while (len > 0 && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        free(t->cache_control);
        t->cache_control = strndup(v, len);
    }
    return n;
}

/* Aborts the transfer once the request waiting for its result has ended. */
static int progress_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    transfer *t = userp;
    return t->waiter != NULL && !http_req_alive(t->waiter) ? 1 : 0;
}

static int add_header(transfer *t, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 3;
    char *line = malloc(len);
    if (line == NULL)
        return -1;
    snprintf(line, len, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(t->headers, line);
    free(line);
    if (l == NULL)
        return -1;
    t->headers = l;
    return 0;
}

static int setup_headers(transfer *t, const http_client_request *req)
{
    if (add_header(t, "Accept", req->accept ? req->accept : "application/json") != 0)
        return -1;
    if (req->authorization && add_header(t, "Authorization", req->authorization) != 0)
        return -1;
    if (req->body != NULL &&
        add_header(t, "Content-Type",
                   req->content_type ? req->content_type
                                     : "application/x-www-form-urlencoded") != 0)
        return -1;
    /* Waiting for "100 Continue" only adds a round trip for small bodies. */
    return add_header(t, "Expect", "");
}

static int setup_easy(http_client *c, transfer *t, const http_client_request *req)
{
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->total_ms);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (setup_headers(t, req) != 0)
        return -1;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    if (req->body != NULL) {
        t->req_body = malloc(req->body_len + 1);
        if (t->req_body == NULL)
            return -1;
        memcpy(t->req_body, req->body, req->body_len);
        t->req_body[req->body_len] = '\0';
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req_body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    return 0;
}

static void transfer_free(transfer *t)
{
    if (t == NULL)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    free(t->url);
    free(t->req_body);
    free(t);
}

int http_client_fetch(http_client *c, const http_client_request *req, http_client_cb cb,
                      void *arg)
{
    transfer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -1;
    t->client = c;
    t->cb = cb;
    t->arg = arg;
    t->url = strdup(req->url);
    t->easy = curl_easy_init();
    if (t->url == NULL || t->easy == NULL || setup_easy(c, t, req) != 0) {
        log_event(LOG_ERROR, "outbound request could not be prepared", NULL);
        transfer_free(t);
        return -1;
    }
    CURLMcode mc = curl_multi_add_handle(c->multi, t->easy);
    if (mc != CURLM_OK) {
        log_event(LOG_ERROR, "outbound request could not start", "error",
                  curl_multi_strerror(mc), NULL);
        transfer_free(t);
        return -1;
    }
    t->waiter = req->waiter;
    if (t->waiter)
        http_req_hold(t->waiter);
    t->next = c->transfers;
    if (c->transfers)
        c->transfers->prev = t;
    c->transfers = t;
    c->inflight++;
    return 0;
}

unsigned http_client_inflight(const http_client *c)
{
    return c ? c->inflight : 0;
}

void http_client_options_from_conf(struct conf *c, http_client_options *opt)
{
    memset(opt, 0, sizeof *opt);
    const char *ca = conf_str(c, "oidc", "ca_file", NULL);
    opt->ca_file = ca && *ca ? ca : NULL;
    opt->connect_timeout_ms = 1000 * conf_duration(c, "oidc", "connect_timeout", 5, 1, 300);
    opt->total_timeout_ms = 1000 * conf_duration(c, "oidc", "request_timeout", 10, 1, 600);
    opt->max_response =
        conf_size(c, "oidc", "max_response", DEFAULT_MAX_RESPONSE, 1024, 64 * 1024 * 1024);
}

int http_client_new(struct event_base *base, const http_client_options *opt, http_client **out)
{
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            log_event(LOG_ERROR, "libcurl initialisation failed", NULL);
            return -1;
        }
        curl_ready = 1;
    }
    http_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    c->base = base;
    c->connect_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : DEFAULT_CONNECT_MS;
    c->total_ms = opt->total_timeout_ms > 0 ? opt->total_timeout_ms : DEFAULT_TOTAL_MS;
    c->max_response = opt->max_response > 0 ? opt->max_response : DEFAULT_MAX_RESPONSE;
    c->ca_file = opt->ca_file ? strdup(opt->ca_file) : NULL;
    c->user_agent = strdup(opt->user_agent ? opt->user_agent : PACKAGE_NAME "/" PACKAGE_VERSION);
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, on_timer, c);
    if (c->multi == NULL || c->timer == NULL || c->user_agent == NULL ||
        (opt->ca_file && c->ca_file == NULL)) {
        log_event(LOG_ERROR, "outbound HTTP client could not be created", NULL);
        http_client_free(c);
        return -1;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    *out = c;
    return 0;
}

void http_client_free(http_client *c)
{
    if (c == NULL)
        return;
    while (c->transfers != NULL) {
        transfer *t = c->transfers;
        snprintf(t->errbuf, sizeof t->errbuf, "the service is shutting down");
        finish(t, CURLE_ABORTED_BY_CALLBACK);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->timer)
        event_free(c->timer);
    free(c->ca_file);
    free(c->user_agent);
    free(c);
}
