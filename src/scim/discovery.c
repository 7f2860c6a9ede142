#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "scim/scim_http.h"

/* The discovery documents never change while the process runs, so each is
 * serialized once at start-up and replies copy the text. */
typedef struct doc {
    char *id;   /* "User", a schema URN, or NULL for a whole document */
    char *text;
    size_t len;
} doc;

typedef struct doc_set {
    doc whole;  /* the document or ListResponse itself */
    doc *items; /* the list's resources by id */
    size_t n;
} doc_set;

static doc_set spc, resource_types, schemas;

static int serialize(const json *j, const char *id, doc *out)
{
    out->text = json_dump(j, &out->len);
    out->id = id ? strdup(id) : NULL;
    return out->text && (!id || out->id) ? 0 : -1;
}

/* Serializes a document, and for a ListResponse each of its resources under
 * its "id". Takes ownership of `j`. */
static int doc_set_build(doc_set *set, json *j)
{
    json *res = json_object_get(j, "Resources");
    int rc = j ? serialize(j, NULL, &set->whole) : -1;

    set->n = json_array_size(res);
    set->items = set->n ? calloc(set->n, sizeof *set->items) : NULL;
    if (set->n && !set->items)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < set->n; i++) {
        const json *item = json_array_get(res, i);
        rc = serialize(item, json_get_string(item, "id"), &set->items[i]);
    }
    json_free(j);
    return rc;
}

static void reply_doc(http_req *r, const doc *d)
{
    scim_caller c;
    store_txn *t;

    if (scim_begin(r, &t, &c) != 0)
        return;
    store_read_end(t);
    http_reply(r, 200, SCIM_CONTENT_TYPE, d->text, d->len);
}

static void handle_whole(http_req *r, void *arg)
{
    const doc_set *set = arg;
    reply_doc(r, &set->whole);
}

/* /ResourceTypes/{name} and /Schemas/{urn}; names compare in any case. */
static void handle_item(http_req *r, void *arg)
{
    const doc_set *set = arg;
    const char *id = r->nparams > 0 ? r->params[0] : "";

    for (size_t i = 0; i < set->n; i++) {
        if (set->items[i].id && strcasecmp(set->items[i].id, id) == 0) {
            reply_doc(r, &set->items[i]);
            return;
        }
    }
    scim_caller c;
    store_txn *t;
    if (scim_begin(r, &t, &c) != 0)
        return;
    store_read_end(t);
    scim_reply_errorf(r, 404, NULL, "%.200s not found.", id);
}

int scim_discovery_routes(struct http_server *s, const char *base_url, int max_results)
{
    if (doc_set_build(&spc, scim_schema_service_provider_config_json(base_url, max_results)) ||
        doc_set_build(&resource_types, scim_schema_resource_types_json(base_url)) ||
        doc_set_build(&schemas, scim_schema_schemas_json(base_url))) {
        log_msgf(LOG_ERROR, "scim: building the discovery documents failed");
        return -1;
    }
    if (http_route(s, SCIM_PREFIX "/ServiceProviderConfig", HTTP_GET, handle_whole, &spc) ||
        http_route(s, SCIM_PREFIX "/ResourceTypes", HTTP_GET, handle_whole, &resource_types) ||
        http_route(s, SCIM_PREFIX "/ResourceTypes/{}", HTTP_GET, handle_item, &resource_types) ||
        http_route(s, SCIM_PREFIX "/Schemas", HTTP_GET, handle_whole, &schemas) ||
        http_route(s, SCIM_PREFIX "/Schemas/{}", HTTP_GET, handle_item, &schemas))
        return -1;
    return 0;
}
