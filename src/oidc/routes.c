/* Start-up and shutdown of the sign-in area (see routes.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "app.h"
#include "conf.h"
#include "http.h"
#include "http_client.h"
#include "log.h"
#include "oidc/endpoints.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"
#include "oidc/provider.h"
#include "oidc/limit.h"
#include "oidc/login_keys.h"
#include "oidc/sweep.h"
#include "oidc/tx.h"
#include "routes.h"

static void render_error(http_req *r, int status, const char *detail)
{
    oidc_page_message(r, status, http_status_text(status), detail);
}

static int start_client(app *a)
{
    http_client_options opt;
    if (a->client != NULL)
        return 0;
    http_client_options_from_conf(a->conf, &opt);
    return http_client_new(a->base, &opt, &a->client);
}

/* Has every 431 reply for oversized header fields expire the transaction
 * cookies. Each is bounded, but the application's own cookies on the same
 * host share the Cookie line, and a browser past the limit could not reach
 * the sign-in pages that expire them until they time out. */
static int expire_tx_on_oversize(http_server *s, const oidc_config *cfg)
{
    for (int slot = 0; slot < OIDC_TX_SLOTS; slot++) {
        char name[32], full[128], line[256];

        snprintf(name, sizeof name, "%s%d", OIDC_COOKIE_TX, slot);
        oidc_cookie_name(cfg, name, full, sizeof full);
        snprintf(line, sizeof line, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=%s%s", full,
                 cfg->cookie_secure ? "None" : "Lax", cfg->cookie_secure ? "; Secure" : "");
        if (http_expire_on_oversize(s, line) != 0)
            return -1;
    }
    return 0;
}

static int add_routes(app *a, oidc_state *st)
{
    http_server *s = a->http;
    return expire_tx_on_oversize(s, &st->cfg) ||
           http_route(s, "/", HTTP_GET, oidc_handle_home, st) ||
           http_route(s, OIDC_PATH_SIGNIN, HTTP_GET | HTTP_POST, oidc_handle_signin, st) ||
           http_route(s, OIDC_PATH_INITIATE, HTTP_GET | HTTP_POST, oidc_handle_initiate, st) ||
           http_route(s, OIDC_PATH_CALLBACK, HTTP_GET | HTTP_POST, oidc_handle_callback, st) ||
           http_route(s, OIDC_PATH_CALLBACK_ACCOUNT, HTTP_GET | HTTP_POST, oidc_handle_callback,
                      st) ||
           http_route(s, OIDC_PATH_LOGOUT, HTTP_POST, oidc_handle_logout, st) ||
           http_route(s, OIDC_PATH_SESSION, HTTP_GET, oidc_handle_session, st) ||
           http_set_error_renderer(s, "/auth", render_error) ||
           http_set_error_renderer(s, OIDC_PATH_SIGNIN, render_error);
}

/* The area's state lives for the whole process: requests and store
 * completions may still use it after oidc_stop, while shutdown drains. */
static oidc_state state;

static void free_state(void)
{
    oidc_providers_free(&state);
    oidc_login_keys_cache_free(&state);
    oidc_limit_free(state.failures);
    oidc_limit_free(state.address_starts);
    oidc_config_clear(&state.cfg);
}

int oidc_routes(app *a)
{
    oidc_state *st = &state;
    if (st->app != NULL)
        return -1;
    st->app = a;
    atexit(free_state);
    a->oidc = st;
    if (oidc_config_load(a->conf, &st->cfg) != 0)
        return -1;
    if (st->cfg.self_origin[0] == '\0')
        log_event(LOG_WARN, "base_url has no usable origin; sign-out and redirect checks "
                            "will reject every request",
                  "base_url", st->cfg.base_url, NULL);
    if (start_client(a) != 0) {
        log_event(LOG_ERROR, "outbound HTTP client could not start", NULL);
        return -1;
    }
    if (add_routes(a, st) != 0) {
        log_event(LOG_ERROR, "sign-in routes could not be registered", NULL);
        return -1;
    }
    /* Load the master key now so that a missing key shows at start-up. */
    if (oidc_master_key(st) == NULL)
        log_event(LOG_WARN, "sign-in needs a master key before identity providers can be used",
                  NULL);
    oidc_sweep_start(st);
    return 0;
}

void oidc_stop(app *a)
{
    oidc_state *st = a->oidc;
    if (st == NULL)
        return;
    oidc_sweep_stop(st);
    /* Ends outbound transfers; their callbacks reply with an error. */
    struct http_client *client = a->client;
    a->client = NULL;
    http_client_free(client);
    oidc_providers_free(st);
}
