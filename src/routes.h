/* Start-up hooks of each area, called by `idgate serve` in this order once
 * the event loop, the store and the HTTP server exist (app->base,
 * app->store, app->http and app->metrics are set):
 *
 *   core_routes   /healthz, /readyz, /metrics (src/health.c, src/metrics.c)
 *   scim_routes   /scim/v2/...
 *   oidc_routes   /, /signin, /auth/..., /session
 *   admin_routes  /admin/v1/..., /console
 *
 * Each registers its routes with http_route, may set an error renderer for
 * its prefix with http_set_error_renderer, reads its own configuration keys
 * with the conf_* getters (an invalid value recorded there stops start-up)
 * and sets up its state in `app`. Each returns 0, or -1 after logging why,
 * which stops start-up with exit code 1.
 *
 * src/main.c carries weak empty versions of scim_routes, oidc_routes and
 * admin_routes so that the daemon links before an area exists; the area's
 * own definition replaces them (src/idgate links libidgate.a whole).
 *
 * The matching *_stop hooks run on the loop thread once shutdown begins,
 * after the listener closed and before in-flight requests are waited for
 * (for example to cancel outbound requests); they have weak empty versions
 * as well.
 */
#ifndef IDGATE_ROUTES_H
#define IDGATE_ROUTES_H

struct app;

int core_routes(struct app *a);
int scim_routes(struct app *a);
int oidc_routes(struct app *a);
int admin_routes(struct app *a);

void scim_stop(struct app *a);
void oidc_stop(struct app *a);
void admin_stop(struct app *a);

#endif
