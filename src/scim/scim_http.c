#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>

#include "app.h"
#include "conf.h"
#include "log.h"
#include "routes.h"
#include "scim/cleanup.h"
#include "scim/scim_const.h"
#include "scim/scim_http.h"
#include "scim_keys.h"

static char *base_url;

const char *scim_base_url(void)
{
    return base_url ? base_url : "";
}

/* The reply when a body cannot be serialized: a SCIM error built without
 * any of the request's data. */
static void reply_internal_error(http_req *r)
{
    static const char body[] = "{\"schemas\":[\"" SCIM_URN_ERROR "\"],\"status\":\"500\","
                               "\"detail\":\"The reply could not be serialized.\"}";
    http_reply(r, 500, SCIM_CONTENT_TYPE, body, sizeof body - 1);
}

void scim_reply_json(http_req *r, int status, const json *body)
{
    struct evbuffer *buf = evbuffer_new();
    if (!buf || json_dump_evbuffer(body, buf) != 0) {
        if (buf)
            evbuffer_free(buf);
        log_event(LOG_ERROR, "scim reply could not be serialized", "request_id", r->id, NULL);
        reply_internal_error(r);
        return;
    }
    http_reply_buffer(r, status, SCIM_CONTENT_TYPE, buf);
    evbuffer_free(buf);
}

void scim_reply_error(http_req *r, const scim_error *e)
{
    /* A detail may echo request bytes that are not UTF-8, or end in a
     * character that a "%.80s" precision cut in half. */
    scim_error copy = *e;
    scim_utf8_repair(copy.detail);
    json *body = scim_error_json(&copy);
    if (!body) {
        reply_internal_error(r);
        return;
    }
    scim_reply_json(r, e->status, body);
    json_free(body);
}

void scim_reply_errorf(http_req *r, int status, const char *type, const char *fmt, ...)
{
    scim_error e = {.status = status, .scim_type = type};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e.detail, sizeof e.detail, fmt, ap);
    va_end(ap);
    scim_reply_error(r, &e);
}

/* The last store error logged and its throttle. A burst of requests that
 * fail the same way, as every write does when the store is full, logs one
 * line a second with the count of lines left out. Another error logs at
 * once. Only the event loop thread uses these. */
static int store_error_rc;
static log_throttle store_error_throttle;

static void log_store_error(http_req *r, int rc, const char *operation)
{
    char left_out[24];

    if (rc != store_error_rc) {
        store_error_rc = rc;
        store_error_throttle = (log_throttle){0};
    }
    if (!log_throttle_allow(&store_error_throttle, (int64_t)time(NULL), 1, left_out))
        return;
    log_event(LOG_ERROR, "scim store operation failed", "request_id", r->id, "operation", operation,
              "account", r->account_id, "error", store_strerror(rc), "not_logged",
              strcmp(left_out, "0") ? left_out : NULL, NULL);
}

void scim_reply_store_error(http_req *r, int rc, const char *operation)
{
    log_store_error(r, rc, operation);
    if (rc == STORE_CLOSED || rc == STORE_FULL)
        scim_reply_errorf(r, 503, NULL, "The store cannot accept writes now (%s).",
                          store_strerror(rc));
    else
        scim_reply_errorf(r, 500, NULL, "The store failed: %s.", store_strerror(rc));
}

void scim_render_http_error(http_req *r, int status, const char *detail)
{
    scim_reply_errorf(r, status, NULL, "%s", detail);
}

/* Replies 401 with the bearer challenge of RFC 6750 section 3. */
static void reply_unauthorized(http_req *r, int token_given, const char *detail)
{
    if (token_given)
        http_set_header(r, "WWW-Authenticate", "Bearer realm=\"idgate\", error=\"invalid_token\"");
    else
        http_set_header(r, "WWW-Authenticate", "Bearer realm=\"idgate\"");
    scim_reply_errorf(r, 401, NULL, "%s", detail);
}

int scim_authenticate(http_req *r, store_txn *t, scim_caller *out)
{
    const char *h = http_header(r, "Authorization");
    const char *token;

    if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        reply_unauthorized(r, 0, "An Authorization header with a SCIM bearer key is required.");
        return -1;
    }
    token = h + 7;
    while (*token == ' ' || *token == '\t')
        token++;
    if (!*token || scim_key_authenticate(t, token, out->account, out->key_id) != 0) {
        log_event(LOG_INFO, "scim key rejected", "request_id", r->id, "peer", http_peer(r), NULL);
        reply_unauthorized(r, 1, "The bearer key is invalid or revoked.");
        return -1;
    }
    _Static_assert(sizeof out->actor >= 5 + sizeof out->key_id, "actor holds scim:<key id>");
    _Static_assert(sizeof r->account_id >= sizeof out->account, "account_id holds an id");
    memcpy(out->actor, "scim:", 5);
    memcpy(out->actor + 5, out->key_id, sizeof out->key_id);
    memcpy(r->account_id, out->account, sizeof out->account);
    scim_key_touch(r->app->store, out->account, out->key_id);
    return 0;
}

int scim_begin(http_req *r, store_txn **t, scim_caller *out)
{
    int rc = store_read_begin(r->app->store, t);
    if (rc) {
        scim_reply_store_error(r, rc, "read");
        return -1;
    }
    if (scim_authenticate(r, *t, out) != 0) {
        store_read_end(*t);
        *t = NULL;
        return -1;
    }
    return 0;
}

/* 1 when the media type (before any ';' parameters) is one SCIM accepts. */
static int media_type_ok(const char *ct)
{
    static const char *const types[] = {SCIM_MEDIA_TYPE, SCIM_MEDIA_TYPE_JSON};
    while (*ct == ' ' || *ct == '\t')
        ct++;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t n = strlen(types[i]);
        if (strncasecmp(ct, types[i], n) != 0)
            continue;
        const char *rest = ct + n;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        if (*rest == '\0' || *rest == ';')
            return 1;
    }
    return 0;
}

int scim_read_body(http_req *r, json **out)
{
    const char *ct = http_header(r, "Content-Type");
    char err[200];

    *out = NULL;
    if (!ct || !media_type_ok(ct)) {
        scim_reply_errorf(r, 415, NULL,
                          "Content-Type \"%.100s\" is not supported; send application/scim+json "
                          "or application/json.",
                          ct ? ct : "");
        return -1;
    }
    if (!r->body || r->body_len == 0) {
        scim_reply_errorf(r, 400, SCIM_ERR_INVALID_SYNTAX, "The request body is empty.");
        return -1;
    }
    err[0] = '\0';
    *out = json_parse_input(r->body, r->body_len, err, sizeof err);
    if (!*out) {
        scim_reply_errorf(r, 400, SCIM_ERR_INVALID_SYNTAX, "The request body is not valid JSON: %s",
                          err);
        return -1;
    }
    if (json_typeof(*out) != JSON_OBJECT) {
        json_free(*out);
        *out = NULL;
        scim_reply_errorf(r, 400, SCIM_ERR_INVALID_SYNTAX,
                          "The request body must be a JSON object.");
        return -1;
    }
    return 0;
}

int scim_query_param(http_req *r, const char *name, const char *error_type, const char **out)
{
    *out = http_query(r, name);
    if (*out || !http_query_invalid(r, name))
        return 0;
    scim_reply_errorf(r, 400, error_type,
                      "The query parameter %s is not valid percent-encoded UTF-8 text.", name);
    return -1;
}

int scim_request_projection(http_req *r, const scim_kind *k, scim_projection **out)
{
    const char *attrs, *excluded;
    scim_error e = {0};

    *out = NULL;
    if (scim_query_param(r, "attributes", SCIM_ERR_INVALID_VALUE, &attrs) != 0 ||
        scim_query_param(r, "excludedAttributes", SCIM_ERR_INVALID_VALUE, &excluded) != 0)
        return -1;
    if ((!attrs || !*attrs) && (!excluded || !*excluded))
        return 0;
    if (scim_projection_parse(k->schema(), attrs, excluded, out, &e) != 0) {
        scim_reply_error(r, &e);
        return -1;
    }
    return 0;
}

int scim_render(store_txn *t, const scim_kind *k, const char *account, json *res,
                const scim_projection *p)
{
    char location[512];
    const char *id = json_get_string(res, "id");
    json *meta = json_object_get(res, "meta");
    int rc;

    snprintf(location, sizeof location, "%s%s/%s", scim_base_url(), k->endpoint, id ? id : "");
    if (meta && json_object_set(meta, "location", json_string(location)) != 0)
        return STORE_NOMEM;
    if (t && (rc = k->decorate(t, account, res, p)) != 0)
        return rc;
    return scim_projection_apply(p, res) == 0 ? 0 : STORE_NOMEM;
}

void scim_set_resource_headers(http_req *r, const scim_kind *k, const json *res, int location)
{
    const char *version = scim_store_version(res);
    const char *id = json_get_string(res, "id");

    if (version)
        http_set_header(r, "ETag", version);
    if (location && id) {
        char url[512];
        snprintf(url, sizeof url, "%s%s/%s", scim_base_url(), k->endpoint, id);
        http_set_header(r, "Location", url);
    }
}

/* Joins the configured base URL and the SCIM prefix once at start-up. */
static int set_base_url(const char *configured)
{
    const char *b = configured ? configured : "";
    size_t n = strlen(b);
    while (n > 0 && b[n - 1] == '/')
        n--;
    free(base_url);
    base_url = malloc(n + sizeof SCIM_PREFIX);
    if (!base_url)
        return -1;
    memcpy(base_url, b, n);
    memcpy(base_url + n, SCIM_PREFIX, sizeof SCIM_PREFIX);
    return 0;
}

/* Routes Users and Groups under their RFC names and in lower case, which
 * some clients send (Microsoft's SCIM reference collection uses "/users"). */
static int kind_routes(struct http_server *s, const scim_kind *k)
{
    const char *endpoints[] = {k->endpoint, k->alias};
    for (size_t i = 0; i < 2; i++) {
        if (scim_resource_routes(s, k, endpoints[i]) != 0 ||
            scim_list_routes(s, k, endpoints[i]) != 0)
            return -1;
    }
    return 0;
}

/* Brings the name and email indexes of a store written by an earlier build
 * to the current case fold, and logs what that changed. */
static int refold_indexes(struct app *a)
{
    scim_refold_report r;
    char moved[24], clashes[24], dropped[24];
    int rc = scim_store_refold(a->store, &r);

    if (rc) {
        log_msgf(LOG_ERROR, "scim: refolding the name and email indexes failed: %s",
                 store_strerror(rc));
        return -1;
    }
    if (!r.ran || (!r.moved && !r.clashes_total && !r.unfoldable))
        return 0;
    snprintf(moved, sizeof moved, "%lu", r.moved);
    snprintf(clashes, sizeof clashes, "%lu", r.clashes_total);
    snprintf(dropped, sizeof dropped, "%lu", r.unfoldable);
    log_event(LOG_INFO, "scim indexes refolded to Unicode case", "moved", moved, "clashes", clashes,
              "too_long", dropped, NULL);
    for (size_t i = 0; i < r.n_clashes; i++) {
        const scim_refold_clash *c = &r.clashes[i];
        if (!c->owner[0])
            log_event(LOG_WARN,
                      "value too long once its case is folded, so it is no longer found; "
                      "change the value",
                      "account", c->account, "attr", c->attr, "not_found_by_value", c->dropped,
                      NULL);
        else
            log_event(LOG_WARN, "two resources' names are the same once folded: rename one of them",
                      "account", c->account, "attr", c->attr, "found_by_name", c->owner,
                      "not_found_by_name", c->dropped, NULL);
    }
    if (r.clashes_total + r.unfoldable > r.n_clashes) {
        char more[24];
        snprintf(more, sizeof more, "%lu", (unsigned long)(r.clashes_total + r.unfoldable - r.n_clashes));
        log_event(LOG_WARN, "more refold clashes than logged", "not_logged", more, NULL);
    }
    return 0;
}

int scim_routes(struct app *a)
{
    conf *c = a->conf;

    if (set_base_url(c->base_url) != 0 ||
        http_set_error_renderer(a->http, SCIM_PREFIX, scim_render_http_error) != 0 ||
        kind_routes(a->http, &scim_kind_user) != 0 || kind_routes(a->http, &scim_kind_group) != 0 ||
        scim_discovery_routes(a->http, base_url, c->max_page_size) != 0) {
        log_msgf(LOG_ERROR, "scim: registering the /scim/v2 routes failed");
        return -1;
    }
    if (refold_indexes(a) != 0)
        return -1;
    scim_cleanup_configure(c);
    int rc = scim_cleanup_resume(a);
    if (rc) {
        log_msgf(LOG_ERROR, "scim: reading the pending group clean-ups failed: %s",
                 store_strerror(rc));
        return -1;
    }
    return 0;
}

void scim_stop(struct app *a)
{
    (void)a;
    scim_cleanup_stop();
}
