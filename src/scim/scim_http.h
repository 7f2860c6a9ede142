/* Shared plumbing of the SCIM 2.0 endpoints under /scim/v2: bearer-key
 * authentication, request body checks, SCIM error bodies, resource
 * rendering and the asynchronous write path.
 *
 * Every reply carries `Content-Type: application/scim+json; charset=utf-8`
 * and every error the SCIM error body of RFC 7644 section 3.12, with
 * `status` as a string.
 */
#ifndef IDGATE_SCIM_HTTP_H
#define IDGATE_SCIM_HTTP_H

#include <stdarg.h>

#include "http.h"
#include "json.h"
#include "scim/schema.h"
#include "scim/scim_store.h"
#include "scim/values.h"
#include "store.h"

#define SCIM_CONTENT_TYPE "application/scim+json; charset=utf-8"
#define SCIM_PREFIX "/scim/v2"

/* The caller of one request, from its bearer key. */
typedef struct scim_caller {
    char account[STORE_ID_LEN + 1];
    char key_id[STORE_ID_LEN + 1];
    char actor[48]; /* "scim:<key id>" */
} scim_caller;

/* A resource type as the handlers see it: Users or Groups. Static. */
typedef struct scim_kind {
    int users;               /* 1 for Users, 0 for Groups */
    const char *type;        /* "User" or "Group" */
    const char *endpoint;    /* "/Users" or "/Groups" */
    const char *alias;       /* "/users" or "/groups", also routed for lenient clients */
    const scim_schema_resource *(*schema)(void);
    store_job_fn create, replace, patch, remove;
    /* Adds the attributes kept outside the stored json (a user's groups, a
     * group's members) when the projection includes them. */
    int (*decorate)(store_txn *t, const char *account, json *res, const scim_projection *p);
} scim_kind;

extern const scim_kind scim_kind_user;
extern const scim_kind scim_kind_group;

/* The SCIM base URL (conf base_url + "/scim/v2"), set by scim_routes.
 * Static; valid for the life of the process. */
const char *scim_base_url(void);

/* Returns the location of kind `k`'s resources up to the id, as the start
 * of a JSON string: the opening quote and the escaped URL ending in "/",
 * `*len` bytes without a closing quote. NULL when out of memory. The text
 * is kept for later calls and belongs to the event loop's thread. */
const char *scim_location_prefix(const scim_kind *k, size_t *len);

/* Checks the request's bearer key inside read transaction `t` and fills
 * `out`. On failure replies 401 with WWW-Authenticate and returns -1. */
int scim_authenticate(http_req *r, store_txn *t, scim_caller *out);

/* Opens a read transaction and authenticates; replies on failure (401,
 * or 503 when the store cannot be read) and returns -1. On success the
 * caller ends `*t` with store_read_end. */
int scim_begin(http_req *r, store_txn **t, scim_caller *out);

/* Checks the Content-Type (application/scim+json or application/json, any
 * parameters) and parses the body as a JSON object. Replies 415 or 400
 * invalidSyntax and returns -1 on failure; otherwise `*out` is a new tree
 * for the caller to free. */
int scim_read_body(http_req *r, json **out);

/* Error replies. */
void scim_reply_error(http_req *r, const scim_error *e);
void scim_reply_errorf(http_req *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Replies 500 or 503 for a STORE_* error and logs it. */
void scim_reply_store_error(http_req *r, int rc, const char *operation);

/* Serializes `body` and replies with `status`. */
void scim_reply_json(http_req *r, int status, const json *body);

/* The error renderer registered for /scim/v2. */
void scim_render_http_error(http_req *r, int status, const char *detail);

/* Reads query parameter `name` into `*out` (NULL when absent). Replies 400
 * (scimType `error_type`, with a detail naming the parameter) and returns
 * -1 when the query string has the parameter but its value does not
 * percent-decode (such as "%zz" or an encoded NUL byte), which http_query
 * reports as absent. */
int scim_query_param(http_req *r, const char *name, const char *error_type, const char **out);

/* Builds the projection of the request's `attributes` and
 * `excludedAttributes` query parameters; replies 400 and returns -1 when
 * invalid. `*out` may be NULL (the default projection). */
int scim_request_projection(http_req *r, const scim_kind *k, scim_projection **out);

/* Prepares a stored resource for a response in place: meta.location, the
 * decorated attributes the projection includes, then the projection. */
int scim_render(store_txn *t, const scim_kind *k, const char *account, json *res,
                const scim_projection *p);

/* Sets ETag (and Location when `location` is 1) from a rendered or stored
 * resource. */
void scim_set_resource_headers(http_req *r, const scim_kind *k, const json *res, int location);

/* Registers the routes of one area under `endpoint` (k->endpoint or
 * k->alias); called by scim_routes. */
int scim_resource_routes(struct http_server *s, const scim_kind *k, const char *endpoint);
int scim_list_routes(struct http_server *s, const scim_kind *k, const char *endpoint);
int scim_discovery_routes(struct http_server *s, const char *base_url, int max_results);

#endif
