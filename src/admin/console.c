#include "config.h"

#include <string.h>

#include "admin/admin.h"
#include "admin/admin_const.h"
#include "admin/console.h"
#include "app.h"
#include "http.h"

/* The console is one HTML page with its own script and style sheet, so the
 * policy allows nothing from anywhere but this origin, and no inline code. */
#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "               \
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

static const console_asset *find_asset(const char *name)
{
    if (!admin_console_assets)
        return NULL;
    for (const console_asset *a = admin_console_assets; a->name; a++)
        if (!strcmp(a->name, name))
            return a;
    return NULL;
}

static void serve(http_req *r, const char *name)
{
    const console_asset *a = find_asset(name);

    if (!a) {
        http_reply_text(r, 404, "Not found");
        return;
    }
    http_set_header(r, "Content-Security-Policy", CONSOLE_CSP);
    http_set_header(r, "X-Content-Type-Options", "nosniff");
    http_set_header(r, "Referrer-Policy", "no-referrer");
    http_set_header(r, "X-Frame-Options", "DENY");
    http_set_header(r, "Cache-Control", "no-cache");
    http_reply(r, 200, a->content_type, a->data, a->size);
}

static void handle_page(http_req *r, void *arg)
{
    serve(r, "index.html");
}

static void handle_asset(http_req *r, void *arg)
{
    /* index.html is served only at /console itself. */
    if (r->nparams < 1 || !strcmp(r->params[0], "index.html")) {
        http_reply_text(r, 404, "Not found");
        return;
    }
    serve(r, r->params[0]);
}

int admin_console_routes(struct app *a)
{
    if (http_route(a->http, ADMIN_CONSOLE_PATH, HTTP_GET, handle_page, NULL))
        return -1;
    return http_route(a->http, ADMIN_CONSOLE_PATH "/{}", HTTP_GET, handle_asset, NULL);
}
