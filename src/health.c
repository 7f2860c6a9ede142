#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "app.h"
#include "conf.h"
#include "http.h"
#include "metrics.h"
#include "routes.h"
#include "store.h"

/* Liveness: the loop is running if this handler runs at all. */
static void handle_healthz(http_req *r, void *arg)
{
    http_set_header(r, "Cache-Control", "no-store");
    http_reply_text(r, 200, "ok\n");
}

/* Readiness: the store takes writes and the service is not shutting down,
 * so a load balancer stops sending traffic as soon as SIGTERM arrives. */
static void handle_readyz(http_req *r, void *arg)
{
    http_set_header(r, "Cache-Control", "no-store");
    if (r->app->stopping) {
        http_reply_text(r, 503, "shutting down\n");
        return;
    }
    if (!r->app->store || !store_writable(r->app->store)) {
        http_reply_text(r, 503, "store not writable\n");
        return;
    }
    http_reply_text(r, 200, "ready\n");
}

/* GET /debug/sleep?ms=N replies "slept" after N milliseconds (at most 60000)
 * from a timer, holding the request the way a handler waiting for the store
 * does; with commit=1 it also declares durable work the way a handler does
 * after store_submit (http_req_set_committing), and with echo=V it sends V
 * as the X-Debug-Echo header. Registered only with
 * [server] debug_routes = true, so that tests can exercise client
 * disconnects, timeouts and shutdown with a request in flight. */
typedef struct sleeper {
    http_req *r;
    struct event *timer;
} sleeper;

static void sleep_done(evutil_socket_t fd, short what, void *arg)
{
    sleeper *s = arg;
    http_reply_text(s->r, 200, "slept\n");
    http_req_release(s->r);
    event_free(s->timer);
    free(s);
}

static void handle_sleep(http_req *r, void *arg)
{
    const char *ms_text = http_query(r, "ms");
    long ms = ms_text ? strtol(ms_text, NULL, 10) : 0;
    sleeper *s = calloc(1, sizeof(*s));
    struct timeval tv;

    if (ms < 0 || ms > 60000) {
        http_reply_error(r, 400, "ms must be from 0 to 60000.");
        free(s);
        return;
    }
    if (!s || !(s->timer = evtimer_new(r->app->base, sleep_done, s))) {
        free(s);
        http_reply_error(r, 500, "Out of memory.");
        return;
    }
    s->r = r;
    http_req_hold(r);
    if (http_query(r, "commit") && strcmp(http_query(r, "commit"), "1") == 0)
        http_req_set_committing(r);
    /* echo=V sends V back as X-Debug-Echo, to test header-value checks. */
    if (http_query(r, "echo"))
        http_set_header(r, "X-Debug-Echo", http_query(r, "echo"));
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(s->timer, &tv);
}

int core_routes(app *a)
{
    int rc = 0;
    if (conf_bool(a->conf, "server", "debug_routes", 0))
        rc |= http_route(a->http, "/debug/sleep", HTTP_GET, handle_sleep, NULL);
    rc |= http_route(a->http, "/healthz", HTTP_GET, handle_healthz, NULL);
    rc |= http_route(a->http, "/readyz", HTTP_GET, handle_readyz, NULL);
    rc |= http_route(a->http, "/metrics", HTTP_GET, metrics_handle, NULL);
    http_set_observer(a->http, metrics_http_observer, a->metrics);
    return rc ? -1 : 0;
}
