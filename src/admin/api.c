#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "admin/admin.h"
#include "admin/admin_const.h"
#include "admin/dns_txt.h"
#include "admin/ops.h"
#include "app.h"
#include "audit.h"
#include "http.h"
#include "log.h"
#include "oidc/idp.h"
#include "store.h"

/* NOTE: weak until the sign-in module's idp.c is part of every build;
 * without it PUT .../idp reports 501. */
#pragma weak oidc_idp_set

/* The admin API: JSON under /admin/v1, authenticated with an admin token
 * in `Authorization: Bearer`. Operator tokens act on every account; an
 * account-scoped token acts only on its own account (403 otherwise) and
 * cannot create or delete accounts. */

enum route_flags {
    WRITE = 1,          /* runs as a store job */
    OPERATOR = 2,       /* operator tokens only */
    ACCOUNT = 4,        /* the first path parameter is the account id */
};

typedef struct api_route {
    const char *pattern;
    unsigned method;
    admin_op_fn fn;
    unsigned flags;
} api_route;

/* Query parameters copied into the call's input for GET requests. */
static const char *const query_names[] = {"tier",  "after", "limit", "kind",
                                          "since", "until", "order", NULL};

/* GET /admin/v1/whoami describes the caller's token, so that the console
 * can offer operator-only actions to operators only. */
static int whoami(store_txn *t, admin_call *call)
{
    json *out = json_object();

    if (!out)
        return admin_fail(call, 500, "out of memory");
    json_object_set(out, "token_id", json_string(call->actor + strlen("admin:")));
    json_object_set(out, "operator", json_bool(call->account == NULL));
    json_object_set(out, "account", call->account ? json_string(call->account) : json_null());
    return admin_ok(call, 200, out);
}

static const api_route routes[] = {
    {"/admin/v1/whoami", HTTP_GET, whoami, 0},
    {"/admin/v1/accounts", HTTP_GET, admin_account_list, 0},
    {"/admin/v1/accounts", HTTP_POST, admin_account_create, WRITE | OPERATOR},
    {"/admin/v1/accounts/{}", HTTP_GET, admin_account_get, ACCOUNT},
    {"/admin/v1/accounts/{}", HTTP_PATCH, admin_account_rename, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}", HTTP_DELETE, admin_account_delete, WRITE | ACCOUNT | OPERATOR},
    {"/admin/v1/accounts/{}/settings", HTTP_GET, admin_account_get, ACCOUNT},
    {"/admin/v1/accounts/{}/settings", HTTP_PATCH, admin_account_settings, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/domains", HTTP_GET, admin_domain_list, ACCOUNT},
    {"/admin/v1/accounts/{}/domains", HTTP_POST, admin_domain_add, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/domains/{}", HTTP_GET, admin_domain_get, ACCOUNT},
    {"/admin/v1/accounts/{}/domains/{}", HTTP_DELETE, admin_domain_remove, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/idp", HTTP_GET, admin_idp_get, ACCOUNT},
    {"/admin/v1/accounts/{}/idp", HTTP_DELETE, admin_idp_delete, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/scim-keys", HTTP_GET, admin_key_list, ACCOUNT},
    {"/admin/v1/accounts/{}/scim-keys", HTTP_POST, admin_key_create, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/scim-keys/{}", HTTP_DELETE, admin_key_revoke, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/groups", HTTP_GET, admin_dirgroup_list, ACCOUNT},
    {"/admin/v1/accounts/{}/groups", HTTP_POST, admin_dirgroup_add, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/groups/{}", HTTP_PATCH, admin_dirgroup_set, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/groups/{}", HTTP_DELETE, admin_dirgroup_remove, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/users", HTTP_GET, admin_user_list, ACCOUNT},
    {"/admin/v1/accounts/{}/users/{}/links", HTTP_GET, admin_user_links, ACCOUNT},
    {"/admin/v1/accounts/{}/users/{}/links", HTTP_DELETE, admin_user_unlink, WRITE | ACCOUNT},
    {"/admin/v1/accounts/{}/licenses", HTTP_GET, admin_license_counts, ACCOUNT},
    {"/admin/v1/accounts/{}/audit", HTTP_GET, admin_audit_list, ACCOUNT},
    {"/admin/v1/tokens", HTTP_GET, admin_token_list, 0},
    {"/admin/v1/tokens", HTTP_POST, admin_token_create, WRITE},
    {"/admin/v1/tokens/{}", HTTP_DELETE, admin_token_revoke, WRITE},
};

typedef struct api_ctx {
    http_req *req;
    admin_call call;
    json *input;
    char actor[48];
    char scope[40];         /* account of a scoped token, "" for an operator */
    char account[40];
    const api_route *route;
    admin_op_fn fn;         /* the operation to run, normally route->fn */
    char domain[260];
    char expected[128];
} api_ctx;

static void admin_ctx_finish(api_ctx *ctx);

void admin_reply_json(http_req *r, int status, const json *body)
{
    struct evbuffer *buf = evbuffer_new();

    if (!buf || json_dump_evbuffer(body, buf)) {
        if (buf)
            evbuffer_free(buf);
        http_reply_text(r, 500, "out of memory");
        return;
    }
    http_set_header(r, "Cache-Control", "no-store");
    /* Error bodies may echo a request value, so never let a browser sniff
     * them as HTML. */
    http_set_header(r, "X-Content-Type-Options", "nosniff");
    http_reply_buffer(r, status, ADMIN_JSON, buf);
    evbuffer_free(buf);
}

void admin_reply_error(http_req *r, int status, const char *message)
{
    json *body = json_object();

    json_object_set(body, "status", json_int(status));
    json_object_set(body, "error", json_string(message));
    if (status == 401)
        http_set_header(r, "WWW-Authenticate", "Bearer realm=\"idgate admin\"");
    admin_reply_json(r, status, body);
    json_free(body);
}

static void render_error(http_req *r, int status, const char *detail)
{
    admin_reply_error(r, status, detail);
}

static void reply_call(api_ctx *ctx)
{
    admin_call *call = &ctx->call;

    if (call->status >= 400 || !call->result) {
        if (call->status >= 500)
            log_event(LOG_ERROR, "admin request failed", "request_id", ctx->req->id, "account",
                      ctx->account, "error", call->error, NULL);
        admin_reply_error(ctx->req, call->status >= 400 ? call->status : 500,
                          call->error[0] ? call->error : "internal error");
        return;
    }
    admin_reply_json(ctx->req, call->status ? call->status : 200, call->result);
}

static void ctx_free(api_ctx *ctx)
{
    admin_call_clear(&ctx->call);
    json_free(ctx->input);
    free(ctx);
}

/* Authenticates the bearer token. Returns 0, or replies 401 and returns -1. */
static int authenticate(http_req *r, api_ctx *ctx)
{
    const char *auth = http_header(r, "Authorization");
    char id[40];
    store_txn *t;
    int rc;

    if (!auth || strncasecmp(auth, "Bearer ", 7)) {
        admin_reply_error(r, 401, "missing admin token: send Authorization: Bearer <token>");
        return -1;
    }
    rc = store_read_begin(r->app->store, &t);
    if (rc) {
        admin_reply_error(r, 503, "store unavailable");
        return -1;
    }
    rc = admin_token_check(t, auth + 7, id, ctx->scope);
    store_read_end(t);
    if (rc) {
        log_event(LOG_INFO, "admin token rejected", "request_id", r->id, NULL);
        admin_reply_error(r, 401, "invalid admin token");
        return -1;
    }
    snprintf(ctx->actor, sizeof ctx->actor, "admin:%s", id);
    return 0;
}

/* Checks the token's scope against the route. Returns 0, or replies 403. */
static int authorize(http_req *r, api_ctx *ctx)
{
    int operator = ctx->scope[0] == 0;

    if ((ctx->route->flags & OPERATOR) && !operator) {
        admin_reply_error(r, 403, "this action needs an operator token");
        return -1;
    }
    if ((ctx->route->flags & ACCOUNT) && !operator && strcmp(ctx->scope, ctx->account)) {
        admin_reply_error(r, 403, "this admin token may not act on that account");
        return -1;
    }
    return 0;
}

/* Parses the body (writes) or the query (reads) into ctx->input. */
static int read_input(http_req *r, api_ctx *ctx)
{
    char err[160];

    if (ctx->route->method == HTTP_GET || !r->body || r->body_len == 0) {
        ctx->input = json_object();
        for (int i = 0; ctx->input && query_names[i]; i++) {
            const char *v = http_query(r, query_names[i]);
            if (v) {
                json_object_set(ctx->input, query_names[i], json_string(v));
            } else if (http_query_invalid(r, query_names[i])) {
                char msg[120];
                snprintf(msg, sizeof msg,
                         "invalid %s: not valid percent-encoding (a %% must be followed by two "
                         "hex digits, and %%00 is not allowed)",
                         query_names[i]);
                admin_reply_error(r, 400, msg);
                return -1;
            }
        }
        return ctx->input ? 0 : -1;
    }
    ctx->input = json_parse_input(r->body, r->body_len, err, sizeof err);
    if (!ctx->input || json_typeof(ctx->input) != JSON_OBJECT) {
        char msg[220];
        snprintf(msg, sizeof msg, "invalid JSON body: %s", ctx->input ? "expected an object" : err);
        admin_reply_error(r, 400, msg);
        return -1;
    }
    return 0;
}

static int run_job(store_txn *t, void *arg)
{
    api_ctx *ctx = arg;
    return ctx->fn(t, &ctx->call) ? 1 : 0;
}

static void job_done(int rc, void *arg)
{
    api_ctx *ctx = arg;

    /* A commit failure undoes a job that had succeeded. */
    if (rc < 0 && ctx->call.status < 400)
        admin_fail(&ctx->call, 500, "the change could not be saved: %s", store_strerror(rc));
    reply_call(ctx);
    http_req_release(ctx->req);
    ctx_free(ctx);
}

/* Runs ctx->fn for the request: on a read transaction now, or as a store
 * job when `write` is set. Takes ownership of `ctx`. */
static void admin_run(api_ctx *ctx, int write)
{
    http_req *r = ctx->req;
    store_txn *t;
    int rc;

    if (write) {
        http_req_hold(r);
        rc = store_submit(r->app->store, run_job, job_done, ctx);
        if (rc) {
            admin_reply_error(r, 503, "the store is shutting down; try again");
            http_req_release(r);
            ctx_free(ctx);
            return;
        }
        /* job_done replies once the write has committed, so request_timeout
         * must not answer 503 for a change that is about to succeed. */
        http_req_set_committing(r);
        return;
    }
    rc = store_read_begin(r->app->store, &t);
    if (rc) {
        admin_reply_error(r, 503, "store unavailable");
        ctx_free(ctx);
        return;
    }
    ctx->fn(t, &ctx->call);
    store_read_end(t);
    reply_call(ctx);
    ctx_free(ctx);
}

/* Authenticates and prepares a call for `route`; replies and returns NULL
 * on failure. */
static api_ctx *begin(http_req *r, const api_route *route)
{
    api_ctx *ctx = calloc(1, sizeof *ctx);
    int first = 0;

    if (!ctx) {
        admin_reply_error(r, 500, "out of memory");
        return NULL;
    }
    ctx->req = r;
    ctx->route = route;
    ctx->fn = route->fn;
    if (route->flags & ACCOUNT) {
        snprintf(ctx->account, sizeof ctx->account, "%s", r->nparams > 0 ? r->params[0] : "");
        snprintf(r->account_id, sizeof r->account_id, "%s", ctx->account);
        first = 1;
    }
    if (authenticate(r, ctx) || authorize(r, ctx) || read_input(r, ctx)) {
        ctx_free(ctx);
        return NULL;
    }
    ctx->call.app = r->app;
    ctx->call.actor = ctx->actor;
    ctx->call.input = ctx->input;
    ctx->call.status = 200;
    /* A scoped token's own account applies where the path names none. */
    if (route->flags & ACCOUNT)
        ctx->call.account = ctx->account;
    else if (ctx->scope[0])
        ctx->call.account = ctx->scope;
    for (int i = first; i < r->nparams && i - first < ADMIN_MAX_ARGS; i++)
        ctx->call.args[i - first] = r->params[i];
    return ctx;
}

static void handle(http_req *r, void *arg)
{
    const api_route *match = NULL;
    api_ctx *ctx;

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(routes[i].pattern, r->route) && routes[i].method == r->method)
            match = &routes[i];
    if (!match) {
        admin_reply_error(r, 405, "method not allowed");
        return;
    }
    ctx = begin(r, match);
    if (ctx)
        admin_run(ctx, match->flags & WRITE);
}

/* Replies with the outcome of a call run on the loop and frees it. */
static void admin_ctx_finish(api_ctx *ctx)
{
    reply_call(ctx);
    ctx_free(ctx);
}

/* POST /admin/v1/accounts/{}/domains/{}/verify reads the domain, looks its
 * TXT record up without blocking, then marks it verified in a store job. */
static void verify_looked_up(int err, const char *expected, int matched, void *arg)
{
    api_ctx *ctx = arg;
    char name[300];

    snprintf(name, sizeof name, "%s%s", ADMIN_CHALLENGE_LABEL, ctx->call.args[0]);
    if (err && err != DNS_TXT_NXDOMAIN) {
        char why[700];
        admin_dns_failure(ctx->req->app->conf, ctx->call.args[0], err, why, sizeof why);
        admin_fail(&ctx->call, err == DNS_TXT_TIMEOUT ? 504 : 502, "%s", why);
    } else if (!matched) {
        admin_fail(&ctx->call, 400,
                   "verification failed: no TXT record at %s contains the expected value; "
                   "publish it, wait for DNS to update and try again",
                   name);
    } else {
        http_req *r = ctx->req;

        snprintf(ctx->expected, sizeof ctx->expected, "%s", expected);
        ctx->call.args[1] = ctx->expected;
        ctx->fn = admin_domain_mark;
        /* The store job keeps the request alive itself, so release the
         * reference taken for the lookup. */
        admin_run(ctx, 1);
        http_req_release(r);
        return;
    }
    log_event(LOG_INFO, "domain verification failed", "request_id", ctx->req->id, "account",
              ctx->account, "domain", ctx->call.args[0], "error", ctx->call.error, NULL);
    reply_call(ctx);
    http_req_release(ctx->req);
    ctx_free(ctx);
}

static void handle_verify(http_req *r, void *arg)
{
    static const api_route verify = {"/admin/v1/accounts/{}/domains/{}/verify", HTTP_POST,
                                     admin_domain_verify_start, ACCOUNT};
    api_ctx *ctx = begin(r, &verify);
    const json *record;
    store_txn *t;

    if (!ctx)
        return;
    if (store_read_begin(r->app->store, &t)) {
        admin_reply_error(r, 503, "store unavailable");
        ctx_free(ctx);
        return;
    }
    admin_domain_verify_start(t, &ctx->call);
    store_read_end(t);
    record = json_object_get(ctx->call.result, "record");
    if (!ctx->call.result || json_bool_value(json_object_get(ctx->call.result, "verified")) ||
        !record) {
        admin_ctx_finish(ctx);
        return;
    }
    /* The domain may have been given in another case: use the stored one. */
    snprintf(ctx->domain, sizeof ctx->domain, "%s", json_get_string(ctx->call.result, "domain"));
    ctx->call.args[0] = ctx->domain;
    http_req_hold(r);
    if (admin_dns_verify(r->app, ctx->domain, json_get_string(record, "value"), verify_looked_up,
                         ctx)) {
        admin_fail(&ctx->call, 500, "could not start the DNS lookup");
        reply_call(ctx);
        http_req_release(r);
        ctx_free(ctx);
    }
}

/* PUT /admin/v1/accounts/{}/idp hands the settings to the sign-in module,
 * which validates the issuer (fetching its discovery document) and stores
 * them together with their idp.changed audit event. */
static void idp_set_done(int status, const char *message, const json *result, void *arg)
{
    api_ctx *ctx = arg;

    if (status != 200 || !result) {
        admin_fail(&ctx->call, status >= 400 ? status : 500, "%s",
                   message ? message : "could not save the identity-provider settings");
    } else {
        admin_ok(&ctx->call, 200, json_copy(result));
    }
    reply_call(ctx);
    http_req_release(ctx->req);
    ctx_free(ctx);
}

/* Reads the optional "take_over_issuer" flag of PUT .../idp into
 * `*take_over`. Only an operator token may set it, because it deletes
 * another account's settings. Returns 0, or fails the call and returns -1. */
static int read_take_over(api_ctx *ctx, int *take_over)
{
    const json *flag = json_object_get(ctx->input, "take_over_issuer");

    *take_over = 0;
    if (!flag)
        return 0;
    if (json_typeof(flag) != JSON_BOOL)
        return admin_fail(&ctx->call, 400, "take_over_issuer must be true or false");
    *take_over = json_bool_value(flag);
    if (*take_over && ctx->scope[0])
        return admin_fail(&ctx->call, 403,
                          "take_over_issuer needs an operator token, because it disconnects "
                          "the account that has the issuer now");
    return 0;
}

static void handle_idp_set(http_req *r, void *arg)
{
    static const char *const idp_members[] = {"issuer", "client_id", "client_secret",
                                              "take_over_issuer", "redirect_uri_mode", NULL};
    static const api_route set = {"/admin/v1/accounts/{}/idp", HTTP_PUT, admin_idp_get,
                                  ACCOUNT};
    api_ctx *ctx = begin(r, &set);
    oidc_idp_input in = {0};

    if (!ctx)
        return;
    if (admin_check_members(&ctx->call, idp_members) ||
        read_take_over(ctx, &in.take_over_issuer)) {
        admin_ctx_finish(ctx);
        return;
    }
    in.issuer = json_get_string(ctx->input, "issuer");
    in.client_id = json_get_string(ctx->input, "client_id");
    in.client_secret = json_get_string(ctx->input, "client_secret");
    in.redirect_uri_mode = json_get_string(ctx->input, "redirect_uri_mode");
    in.actor = ctx->actor;
    if (json_object_get(ctx->input, "redirect_uri_mode") && !in.redirect_uri_mode) {
        admin_fail(&ctx->call, 400, "redirect_uri_mode must be the string \"account\" or "
                                    "\"shared\"");
        admin_ctx_finish(ctx);
        return;
    }
    if (in.client_secret && !*in.client_secret)
        in.client_secret = NULL;
    if (!in.issuer || !*in.issuer || !in.client_id || !*in.client_id) {
        admin_fail(&ctx->call, 400, "issuer and client_id are required%s",
                   in.client_secret ? "" : ", and client_secret when none is stored yet");
        admin_ctx_finish(ctx);
        return;
    }
    if (!oidc_idp_set) {
        admin_fail(&ctx->call, 501, "identity-provider settings are not available in this build");
        admin_ctx_finish(ctx);
        return;
    }
    http_req_hold(r);
    oidc_idp_set(r->app, ctx->account, &in, idp_set_done, ctx);
}

int admin_api_routes(struct app *a)
{
    unsigned methods[sizeof routes / sizeof routes[0]] = {0};

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        for (size_t j = 0; j <= i; j++)
            if (!strcmp(routes[j].pattern, routes[i].pattern)) {
                methods[j] |= routes[i].method;
                break;
            }
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (methods[i] && http_route(a->http, routes[i].pattern, methods[i], handle, NULL))
            return -1;
    if (http_route(a->http, "/admin/v1/accounts/{}/domains/{}/verify", HTTP_POST, handle_verify,
                   NULL))
        return -1;
    if (http_route(a->http, "/admin/v1/accounts/{}/idp", HTTP_PUT, handle_idp_set, NULL))
        return -1;
    return http_set_error_renderer(a->http, ADMIN_API_PREFIX, render_error);
}
