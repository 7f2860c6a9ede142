#include "config.h"

#include "app.h"
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

int core_routes(app *a)
{
    int rc = 0;
    rc |= http_route(a->http, "/healthz", HTTP_GET, handle_healthz, NULL);
    rc |= http_route(a->http, "/readyz", HTTP_GET, handle_readyz, NULL);
    rc |= http_route(a->http, "/metrics", HTTP_GET, metrics_handle, NULL);
    http_set_observer(a->http, metrics_http_observer, a->metrics);
    return rc ? -1 : 0;
}
