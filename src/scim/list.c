#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "app.h"
#include "casefold.h"
#include "conf.h"
#include "scim/filter.h"
#include "scim/query.h"
#include "scim/related_text.h"
#include "scim/scim_const.h"
#include "scim/scim_http.h"
#include "scim/splice.h"

/* sortBy needs every match in memory before the first page can be cut, so
 * a larger result set gets 400 tooMany with the advice to narrow the
 * filter. NOTE: the bound is an estimate of what one request may keep,
 * because each match is a parsed resource of a few kilobytes at most. */
#define SORT_MAX_MATCHES 20000

/* The parameters of one query, from the query string or a SearchRequest. */
typedef struct list_query {
    const char *filter;
    long start;
    long count;
    const char *sort_by;
    int descending;
    const char *attributes;
    const char *excluded;
} list_query;

/* One list request while it walks its candidates. */
typedef struct list_run {
    http_req *r;
    store_txn *t;
    const scim_kind *k;
    const scim_schema_resource *schema;
    const char *account;
    scim_filter *filter;
    list_query q;
    const char *current_id; /* candidate under evaluation, for the resolver */
    uint64_t total;
    /* Without a projection or sortBy, the page is text spliced from the
     * stored texts into `spliced`. Otherwise it is a tree in `page`, dumped
     * at the end. */
    int splice;
    int index_only;           /* every resource the index lookup finds matches the filter */
    struct evbuffer *spliced; /* page resources, separated by commas */
    size_t n_spliced;
    const char *location; /* a resource's location as a JSON string, up to its id */
    size_t location_len;
    const char *related_location; /* the same for the other kind, for $ref */
    size_t related_location_len;
    json *page;           /* matches inside the page window, in id order */
    json **sorted;        /* every match, when sorting */
    size_t n_sorted, cap_sorted;
    const scim_attr *sort_attr, *sort_sub;
    const scim_schema *sort_schema;
    scim_error err;
    int failed;           /* err contains the reply */
} list_run;

static int fail(list_run *run, int status, const char *type, const char *detail)
{
    run->err.status = status;
    run->err.scim_type = type;
    snprintf(run->err.detail, sizeof run->err.detail, "%s", detail);
    run->failed = 1;
    return -1;
}

/* ---- attributes held outside the resource json ---- */

/* The resolver evaluates filters on a Group's `members` (T_MEMBERS) and a
 * User's `groups` (T_MEMBER_OF). One element at a time is put into a
 * stand-in resource {"<attr>": [{"value": id, "type": ...}]} and the
 * filter node is evaluated on it, so every operator works; an equality
 * test on the value costs a single point lookup. */
typedef struct resolve_walk {
    list_run *run;
    const scim_filter *node;
    int matched;
} resolve_walk;

static int related_attr(const list_run *run, const scim_filter *node)
{
    const char *want = run->k->users ? "groups" : "members";
    return node->path.attr && strcasecmp(node->path.attr, want) == 0;
}

static int is_member(list_run *run, const char *other)
{
    return run->k->users ? scim_store_is_member(run->t, run->account, other, run->current_id)
                         : scim_store_is_member(run->t, run->account, run->current_id, other);
}

/* Evaluates `node` against a stand-in resource that has exactly one
 * related element. Returns 1, 0, or a negative error. */
static int match_element(list_run *run, const scim_filter *node, const char *other)
{
    json *res = json_object(), *arr = json_array(), *elem = json_object();
    int ok = res && arr && elem && json_object_set(elem, "value", json_string(other)) == 0 &&
             json_object_set(elem, "type", json_string(run->k->users ? "direct" : "User")) == 0;
    int rc = -1;

    /* Appending and setting take ownership, also when they fail. */
    if (ok) {
        ok = json_array_append(arr, elem) == 0;
        elem = NULL;
    }
    if (ok) {
        ok = json_object_set(res, node->path.attr, arr) == 0;
        arr = NULL;
    }
    if (ok)
        rc = scim_filter_match(node, res, run->schema);
    json_free(elem);
    json_free(arr);
    json_free(res);
    return rc;
}

static int walk_related(const char *other, void *arg)
{
    resolve_walk *w = arg;
    int rc = match_element(w->run, w->node, other);
    if (rc < 0)
        return rc;
    w->matched = rc;
    return rc; /* 1 stops the walk */
}

/* Calls `fn` with every related id of the current resource. */
static int each_related(list_run *run, scim_store_id_fn fn, void *ctx);

/* The value an equality on the element's `value` names, if the node is one. */
static const char *eq_value(const scim_filter *node)
{
    const char *v = NULL;
    if (node->kind == SCIM_FILTER_VALUE_PATH)
        return scim_filter_find_eq(node->left, "value", &v) == 1 ? v : NULL;
    if (node->kind == SCIM_FILTER_COMPARE && node->op == SCIM_OP_EQ &&
        json_typeof(node->value) == JSON_STRING &&
        (!node->path.sub || strcasecmp(node->path.sub, "value") == 0))
        return json_string_value(node->value);
    return NULL;
}

static int resolve(void *ctx, const scim_filter *node)
{
    list_run *run = ctx;
    resolve_walk w = {run, node, 0};
    const char *v;
    int rc;

    if (!related_attr(run, node))
        return SCIM_FILTER_UNRESOLVED;
    if (node->kind == SCIM_FILTER_COMPARE && node->op == SCIM_OP_NE &&
        json_typeof(node->value) != JSON_NULL) {
        /* As on inline attributes, ne holds when no element equals the
         * value, which includes a group without members. */
        scim_filter eq = *node;
        eq.op = SCIM_OP_EQ;
        rc = resolve(ctx, &eq);
        return rc < 0 ? rc : !rc;
    }
    if ((v = eq_value(node)) != NULL) {
        rc = is_member(run, v);
        return rc == 1 ? match_element(run, node, v) : rc;
    }
    rc = each_related(run, walk_related, &w);
    return rc < 0 ? rc : w.matched;
}

/* ---- collecting matches ---- */

static size_t page_size(const list_run *run)
{
    return run->splice ? run->n_spliced : json_array_size(run->page);
}

/* 1 when the match just counted falls inside the page window. */
static int on_page(const list_run *run)
{
    return run->total >= (uint64_t)run->q.start && page_size(run) < (size_t)run->q.count;
}

static int append_page(list_run *run, json *res)
{
    if (json_array_append(run->page, res) != 0)
        return STORE_NOMEM;
    return 0;
}

/* Appends a stored resource to the spliced page through a tree: parsed,
 * rendered and dumped, for a text that the splice does not recognize. */
static int dump_text(list_run *run, const char *text, size_t len)
{
    json *res = json_parse(text, len, NULL, 0);
    int rc;

    if (!res)
        return STORE_IO;
    rc = scim_render(run->t, run->k, run->account, res, NULL);
    if (rc == 0 && json_dump_evbuffer(res, run->spliced) != 0)
        rc = STORE_NOMEM;
    json_free(res);
    return rc;
}

/* Writes the resource, then its groups or members as text, since a group
 * may have many thousands of members. */
static int splice_related(list_run *run, const char *id, const char *text, size_t len)
{
    int rc = scim_splice_resource(text, len, run->k->type, run->location, run->location_len, id,
                                  run->k->users ? "groups" : "members", run->spliced);

    if (rc == 0)
        rc = run->k->users
                 ? scim_user_groups_text(run->t, run->account, id, run->related_location,
                                         run->related_location_len, run->spliced)
                 : scim_members_text(run->t, run->account, id, run->related_location,
                                     run->related_location_len, run->spliced);
    if (rc == 0 && evbuffer_add(run->spliced, "}", 1) != 0)
        rc = STORE_NOMEM;
    return rc;
}

/* Appends the reply form of the stored resource `text` to the spliced
 * page: the text with its location and its groups or members. */
static int splice_text(list_run *run, const char *id, const char *text, size_t len)
{
    int rc;

    if (run->n_spliced > 0 && evbuffer_add(run->spliced, ",", 1) != 0)
        return STORE_NOMEM;
    run->n_spliced++;
    if (strlen(id) != STORE_ID_LEN)
        return dump_text(run, text, len);
    rc = splice_related(run, id, text, len);
    return rc == 1 ? dump_text(run, text, len) : rc;
}

static int keep_sorted(list_run *run, json *res)
{
    if (run->n_sorted == SORT_MAX_MATCHES) {
        char detail[200];
        json_free(res);
        snprintf(detail, sizeof detail,
                 "sortBy is limited to %d matching resources; narrow the filter or omit sortBy.",
                 SORT_MAX_MATCHES);
        return fail(run, 400, SCIM_ERR_TOO_MANY, detail);
    }
    if (run->n_sorted == run->cap_sorted) {
        size_t cap = run->cap_sorted ? run->cap_sorted * 2 : 64;
        json **p = realloc(run->sorted, cap * sizeof *p);
        if (!p) {
            json_free(res);
            return STORE_NOMEM;
        }
        run->sorted = p;
        run->cap_sorted = cap;
    }
    run->sorted[run->n_sorted++] = res;
    return 0;
}

/* Evaluates the filter on the candidate `id` with stored text `text`,
 * counts it when it matches, and puts it on the page when it falls there
 * (or keeps it when sorting). The text is parsed only when the filter, the
 * sort or a tree page needs it. */
static int consider(list_run *run, const char *id, const char *text, size_t len)
{
    json *res = NULL;
    int rc = 1;

    if (run->q.sort_by || (run->filter && !run->index_only)) {
        if (!(res = json_parse(text, len, NULL, 0)))
            return STORE_IO;
    }
    if (run->filter && res) {
        run->current_id = id;
        rc = scim_filter_match_ex(run->filter, res, run->schema, resolve, run);
        if (rc < 0) {
            json_free(res);
            if (rc == -1)
                return fail(run, 400, SCIM_ERR_INVALID_FILTER,
                            "The filter cannot be evaluated on this resource's values.");
            return rc;
        }
    }
    if (rc == 0) {
        json_free(res);
        return 0;
    }
    run->total++;
    if (run->q.sort_by)
        return keep_sorted(run, res);
    if (!on_page(run)) {
        json_free(res);
        return 0;
    }
    if (run->splice) {
        json_free(res);
        return splice_text(run, id, text, len);
    }
    if (!res && !(res = json_parse(text, len, NULL, 0)))
        return STORE_IO;
    return append_page(run, res);
}

/* Reads the stored text of the user or group `id`, borrowed from the
 * transaction. The key layout of T_GROUPS is the account id, then the
 * group id. */
static int resource_text(list_run *run, const char *id, store_val *out)
{
    char key[2 * STORE_ID_LEN];

    if (run->k->users)
        return scim_store_user_text(run->t, run->account, id, out);
    if (strlen(id) != STORE_ID_LEN)
        return STORE_NOTFOUND;
    memcpy(key, run->account, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, id, STORE_ID_LEN);
    return store_get(run->t, T_GROUPS, key, sizeof key, out);
}

static int visit_id(const char *id, void *arg)
{
    list_run *run = arg;
    store_val v;
    int rc = resource_text(run, id, &v);

    if (rc == STORE_NOTFOUND)
        return 0; /* writes keep indexes exact; skip rather than fail on a stale entry */
    if (rc)
        return rc;
    return consider(run, id, v.data, v.len);
}

static int visit_text(const char *id, const char *text, size_t len, void *arg)
{
    return consider(arg, id, text, len);
}

static int each_related(list_run *run, scim_store_id_fn fn, void *ctx)
{
    if (run->k->users)
        return scim_store_user_group_ids(run->t, run->account, run->current_id, fn, ctx);
    return scim_store_group_member_ids(run->t, run->account, run->current_id, fn, ctx);
}

/* Puts a resource of the page walk of collect_page on the page. */
static int page_text(const char *id, const char *text, size_t len, void *arg)
{
    list_run *run = arg;
    json *res;

    if (run->splice)
        return splice_text(run, id, text, len);
    if (!(res = json_parse(text, len, NULL, 0)))
        return STORE_IO;
    return append_page(run, res);
}

/* Collects an unfiltered, unsorted page: the kept total gives totalResults,
 * so the walk steps over the resources before the page and stops after it.
 * Falls back to a full scan when the total was never kept. */
static int collect_page(list_run *run)
{
    int users = run->k->users;
    uint64_t total;
    int rc = scim_store_total(run->t, users, run->account, &total);

    if (rc == STORE_NOTFOUND)
        return scim_store_scan(run->t, users, run->account, visit_text, run);
    if (rc)
        return rc;
    run->total = total;
    if ((uint64_t)run->q.start > total || run->q.count <= 0)
        return 0;
    return scim_store_scan_page(run->t, users, run->account, (uint64_t)run->q.start - 1,
                                (uint64_t)run->q.count, page_text, run);
}

/* 1 when the whole filter is `attr eq "value"` on a core attribute. The
 * indexes of id and externalId compare exactly, as their caseExact filter
 * does, and those of userName and displayName hold folded values, as the
 * filter compares them (casefold.h), so every resource such a lookup finds
 * matches. */
static int whole_filter_is(const scim_filter *f, const char *attr)
{
    return f->kind == SCIM_FILTER_COMPARE && f->op == SCIM_OP_EQ && !f->path.urn &&
           !f->path.sub && json_typeof(f->value) == JSON_STRING &&
           strcasecmp(f->path.attr, attr) == 0;
}

/* Picks the narrowest candidate set the filter allows, then evaluates the
 * whole filter on each candidate, unless the lookup alone decides it. Falls
 * back to a scan of the account. */
static int collect(list_run *run)
{
    const scim_filter *f = run->filter;
    const char *v;
    char id[STORE_ID_LEN + 1];
    int users = run->k->users;
    int rc;

    if (f && scim_filter_find_eq(f, "id", &v)) {
        run->index_only = whole_filter_is(f, "id");
        return strlen(v) == STORE_ID_LEN ? visit_id(v, run) : 0;
    }
    if (f && scim_filter_find_eq(f, users ? "userName" : "displayName", &v)) {
        run->index_only = whole_filter_is(f, users ? "userName" : "displayName");
        rc = users ? scim_store_user_by_name(run->t, run->account, v, id)
                   : scim_store_group_by_name(run->t, run->account, v, id);
        if (rc == STORE_NOTFOUND)
            return 0;
        return rc ? rc : visit_id(id, run);
    }
    if (f && scim_filter_find_eq(f, "externalId", &v)) {
        run->index_only = whole_filter_is(f, "externalId");
        return scim_store_ids_by_extid(run->t, users, run->account, v, visit_id, run);
    }
    if (f && users &&
        (scim_filter_find_eq(f, "emails.value", &v) || scim_filter_find_eq(f, "emails", &v)))
        return scim_store_ids_by_email(run->t, run->account, v, visit_id, run);
    if (f && !users &&
        (scim_filter_find_eq(f, "members.value", &v) || scim_filter_find_eq(f, "members", &v)))
        return strlen(v) == STORE_ID_LEN
                   ? scim_store_user_group_ids(run->t, run->account, v, visit_id, run)
                   : 0;
    if (f && users &&
        (scim_filter_find_eq(f, "groups.value", &v) || scim_filter_find_eq(f, "groups", &v)))
        return strlen(v) == STORE_ID_LEN
                   ? scim_store_group_member_ids(run->t, run->account, v, visit_id, run)
                   : 0;
    if (!f && !run->q.sort_by)
        return collect_page(run);
    return scim_store_scan(run->t, users, run->account, visit_text, run);
}

/* ---- sorting ---- */

/* The value sortBy names in `res`: the attribute, its sub-attribute, and
 * for a multi-valued attribute the primary element or else the first. */
static const json *sort_value(const list_run *run, const json *res)
{
    const json *v = res;
    if (run->sort_schema && run->sort_schema != run->schema->core)
        v = json_object_geti(v, run->sort_schema->id);
    v = json_object_geti(v, run->sort_attr->name);
    if (v && json_typeof(v) == JSON_ARRAY) {
        const json *pick = json_array_get(v, 0);
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json *p = json_object_geti(json_array_get(v, i), "primary");
            if (p && json_bool_value(p))
                pick = json_array_get(v, i);
        }
        v = pick;
    }
    if (v && run->sort_sub)
        v = json_object_geti(v, run->sort_sub->name);
    else if (v && json_typeof(v) == JSON_OBJECT)
        v = json_object_geti(v, "value");
    return v && json_typeof(v) != JSON_NULL ? v : NULL;
}

static int compare_values(const json *a, const json *b, int case_exact)
{
    if (json_typeof(a) == JSON_NUMBER && json_typeof(b) == JSON_NUMBER) {
        double x = json_double_value(a), y = json_double_value(b);
        return x < y ? -1 : x > y;
    }
    if (json_typeof(a) == JSON_BOOL && json_typeof(b) == JSON_BOOL)
        return json_bool_value(a) - json_bool_value(b);
    if (json_typeof(a) == JSON_STRING && json_typeof(b) == JSON_STRING)
        return case_exact ? strcmp(json_string_value(a), json_string_value(b))
                          : casefold_cmp(json_string_value(a), json_string_value(b));
    return (int)json_typeof(a) - (int)json_typeof(b);
}

static list_run *sorting_run; /* qsort has no context argument; the loop is single-threaded */

/* Resources without a value sort last in either order; ties keep id order. */
static int compare_resources(const void *pa, const void *pb)
{
    const list_run *run = sorting_run;
    const json *a = *(json *const *)pa, *b = *(json *const *)pb;
    const json *va = sort_value(run, a), *vb = sort_value(run, b);
    const scim_attr *attr = run->sort_sub ? run->sort_sub : run->sort_attr;
    int d;

    if (!va || !vb)
        d = va ? -1 : (vb ? 1 : 0);
    else
        d = compare_values(va, vb, attr->case_exact) * (run->q.descending ? -1 : 1);
    if (d == 0)
        d = strcmp(json_get_string(a, "id"), json_get_string(b, "id"));
    return d;
}

static int sort_page(list_run *run)
{
    /* With no match `sorted` is NULL, which qsort must not get. */
    if (run->n_sorted > 1) {
        sorting_run = run;
        qsort(run->sorted, run->n_sorted, sizeof *run->sorted, compare_resources);
        sorting_run = NULL;
    }
    for (size_t i = 0; i < run->n_sorted; i++) {
        json *res = run->sorted[i];
        run->sorted[i] = NULL;
        if (i + 1 >= (size_t)run->q.start && json_array_size(run->page) < (size_t)run->q.count) {
            if (append_page(run, res) != 0)
                return STORE_NOMEM;
        } else {
            json_free(res);
        }
    }
    return 0;
}

/* ---- request handling ---- */

static void run_clear(list_run *run)
{
    scim_filter_free(run->filter);
    json_free(run->page);
    if (run->spliced)
        evbuffer_free(run->spliced);
    for (size_t i = 0; i < run->n_sorted; i++)
        json_free(run->sorted[i]);
    free(run->sorted);
}

/* The location of a kind's resources as a JSON string up to the id. The
 * base URL is fixed for the life of the process, so the escaped form is
 * kept across requests and rebuilt only when the URL differs. The event
 * loop is single-threaded. */
typedef struct location_prefix {
    char *base; /* the base URL it was built from */
    char *json; /* JSON string of the base URL, endpoint and "/", without the closing quote */
    size_t len;
} location_prefix;

static location_prefix prefixes[2]; /* Groups, then Users */

static const location_prefix *location_for(const scim_kind *k)
{
    location_prefix *p = &prefixes[k->users ? 1 : 0];
    const char *base = scim_base_url();
    size_t n = strlen(base) + strlen(k->endpoint) + 2;
    char *url = NULL;
    json *s = NULL;

    if (p->base && strcmp(p->base, base) == 0)
        return p;
    free(p->base);
    free(p->json);
    p->json = NULL;
    p->base = strdup(base);
    url = malloc(n);
    if (p->base && url) {
        snprintf(url, n, "%s%s/", base, k->endpoint);
        s = json_string(url);
        p->json = s ? json_dump(s, &p->len) : NULL;
    }
    free(url);
    json_free(s);
    if (!p->json || p->len < 2) {
        free(p->base);
        free(p->json);
        p->base = p->json = NULL;
        return NULL;
    }
    p->len--; /* without the closing quote */
    return p;
}

const char *scim_location_prefix(const scim_kind *k, size_t *len)
{
    const location_prefix *p = location_for(k);

    if (!p)
        return NULL;
    *len = p->len;
    return p->json;
}

static int prepare_splice(list_run *run)
{
    const location_prefix *p = location_for(run->k);
    const location_prefix *other = location_for(run->k->users ? &scim_kind_group : &scim_kind_user);

    if (!p || !other || !(run->spliced = evbuffer_new()))
        return STORE_NOMEM;
    run->location = p->json;
    run->location_len = p->len;
    run->related_location = other->json;
    run->related_location_len = other->len;
    return 0;
}

static int prepare(list_run *run)
{
    char err[256];

    if (run->q.filter && *run->q.filter) {
        err[0] = '\0';
        if (scim_filter_parse(run->q.filter, &run->filter, err, sizeof err) != 0 ||
            scim_filter_check(run->filter, run->schema, err, sizeof err) != 0)
            return fail(run, 400, SCIM_ERR_INVALID_FILTER, err);
    }
    if (run->q.sort_by && *run->q.sort_by) {
        if (scim_query_sort_by(run->schema, run->k->type, run->q.sort_by, &run->sort_attr,
                               &run->sort_sub, &run->sort_schema, &run->err) != 0) {
            run->failed = 1;
            return -1;
        }
    } else {
        run->q.sort_by = NULL;
    }
    if (run->splice)
        return prepare_splice(run);
    run->page = json_array();
    return run->page ? 0 : STORE_NOMEM;
}

static char *put_text(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* Writes the ListResponse around the spliced page, with the members in the
 * order of list_response. Returns 0 or STORE_NOMEM. */
static int wrap_spliced(list_run *run)
{
    char head[sizeof SCIM_URN_LIST_RESPONSE + 128], *p = head;

    p = put_text(p, "{\"schemas\":[\"" SCIM_URN_LIST_RESPONSE "\"],\"totalResults\":");
    p = http_put_decimal(p, run->total);
    p = put_text(p, ",\"startIndex\":");
    p = http_put_decimal(p, (uint64_t)run->q.start);
    p = put_text(p, ",\"itemsPerPage\":");
    p = http_put_decimal(p, run->n_spliced);
    p = put_text(p, ",\"Resources\":[");
    if (evbuffer_prepend(run->spliced, head, (size_t)(p - head)) != 0 ||
        evbuffer_add(run->spliced, "]}", 2) != 0)
        return STORE_NOMEM;
    return 0;
}

static json *list_response(list_run *run)
{
    json *out = json_object(), *schemas = json_array();
    size_t n = json_array_size(run->page);
    int ok = out && schemas && json_array_append(schemas, json_string(SCIM_URN_LIST_RESPONSE)) == 0;

    if (ok) {
        ok = json_object_set(out, "schemas", schemas) == 0;
        schemas = NULL;
    }
    ok = ok && json_object_set(out, "totalResults", json_int((int64_t)run->total)) == 0 &&
         json_object_set(out, "startIndex", json_int(run->q.start)) == 0 &&
         json_object_set(out, "itemsPerPage", json_int((int64_t)n)) == 0;
    if (ok) {
        ok = json_object_set(out, "Resources", run->page) == 0;
        run->page = NULL;
    }
    json_free(schemas);
    if (!ok) {
        json_free(out);
        return NULL;
    }
    return out;
}

static int render_page(list_run *run, const scim_projection *p)
{
    for (size_t i = 0; i < json_array_size(run->page); i++) {
        int rc = scim_render(run->t, run->k, run->account, json_array_get(run->page, i), p);
        if (rc)
            return rc;
    }
    return 0;
}

static void run_list(http_req *r, store_txn *t, const scim_caller *c, const scim_kind *k,
                     const list_query *q)
{
    list_run run = {.r = r, .t = t, .k = k, .schema = k->schema(), .account = c->account, .q = *q};
    scim_projection *p = NULL;
    scim_error e = {0};
    json *body = NULL;
    int rc;

    if (((q->attributes && *q->attributes) || (q->excluded && *q->excluded)) &&
        scim_projection_parse(run.schema, q->attributes, q->excluded, &p, &e) != 0) {
        scim_reply_error(r, &e);
        return;
    }
    /* A projection or a sort works on trees; without them the page is
     * spliced from the stored texts. */
    run.splice = !p && !(q->sort_by && *q->sort_by);
    rc = prepare(&run);
    if (rc == 0)
        rc = collect(&run);
    if (rc == 0 && run.q.sort_by)
        rc = sort_page(&run);
    if (rc == 0 && !run.splice)
        rc = render_page(&run, p);
    if (rc == 0 && !run.splice && !(body = list_response(&run)))
        rc = STORE_NOMEM;
    if (rc == 0 && run.splice)
        rc = wrap_spliced(&run);
    if (run.failed)
        scim_reply_error(r, &run.err);
    else if (rc)
        scim_reply_store_error(r, rc, "list");
    else if (run.splice)
        http_reply_buffer(r, 200, SCIM_CONTENT_TYPE, run.spliced);
    else
        scim_reply_json(r, 200, body);
    json_free(body);
    run_clear(&run);
    scim_projection_free(p);
}

/* Parses an integer parameter; replies 400 and returns -1 when invalid. */
static int parse_long(http_req *r, const char *name, const char *text, long *out)
{
    scim_error e = {0};
    if (scim_query_long(name, text, out, &e) == 0)
        return 0;
    scim_reply_error(r, &e);
    return -1;
}

static void clamp_paging(http_req *r, list_query *q)
{
    conf *c = r->app->conf;
    scim_query_clamp(&q->start, &q->count, c->max_page_size > 0 ? c->max_page_size : 1000);
}

static int parse_sort_order(http_req *r, const char *order, list_query *q)
{
    scim_error e = {0};
    if (scim_query_sort_order(order, &q->descending, &e) == 0)
        return 0;
    scim_reply_error(r, &e);
    return -1;
}

/* Reads the query parameters of GET /Users and /Groups. Replies 400 and
 * returns -1 when one is invalid: an empty filter or any parameter that
 * does not decode is an error rather than no parameter. */
static int list_params(http_req *r, list_query *q)
{
    const char *start, *count, *order;

    if (scim_query_param(r, "filter", SCIM_ERR_INVALID_FILTER, &q->filter) != 0 ||
        scim_query_param(r, "sortBy", SCIM_ERR_INVALID_VALUE, &q->sort_by) != 0 ||
        scim_query_param(r, "sortOrder", SCIM_ERR_INVALID_VALUE, &order) != 0 ||
        scim_query_param(r, "attributes", SCIM_ERR_INVALID_VALUE, &q->attributes) != 0 ||
        scim_query_param(r, "excludedAttributes", SCIM_ERR_INVALID_VALUE, &q->excluded) != 0 ||
        scim_query_param(r, "startIndex", SCIM_ERR_INVALID_VALUE, &start) != 0 ||
        scim_query_param(r, "count", SCIM_ERR_INVALID_VALUE, &count) != 0)
        return -1;
    if (q->filter && !*q->filter) {
        scim_reply_errorf(r, 400, SCIM_ERR_INVALID_FILTER, "The filter parameter is empty.");
        return -1;
    }
    if (parse_long(r, "startIndex", start, &q->start) != 0 ||
        parse_long(r, "count", count, &q->count) != 0)
        return -1;
    return parse_sort_order(r, order, q);
}

static void handle_list(http_req *r, void *arg)
{
    const scim_kind *k = arg;
    list_query q = {.start = 1, .count = r->app->conf->default_page_size};
    scim_caller c;
    store_txn *t;

    if (scim_begin(r, &t, &c) != 0)
        return;
    if (list_params(r, &q) == 0) {
        clamp_paging(r, &q);
        run_list(r, t, &c, k, &q);
    }
    store_read_end(t);
}

/* Joins a SearchRequest's attribute list (an array of strings or one
 * string) into the comma-separated form of the query parameter. */
static int join_attributes(http_req *r, const json *v, const char *name, char **out)
{
    size_t len = 0;

    *out = NULL;
    if (!v || json_typeof(v) == JSON_NULL)
        return 0;
    if (json_typeof(v) == JSON_STRING) {
        *out = strdup(json_string_value(v));
        return *out ? 0 : -1;
    }
    for (size_t i = 0; json_typeof(v) == JSON_ARRAY && i < json_array_size(v); i++) {
        const json *s = json_array_get(v, i);
        if (json_typeof(s) != JSON_STRING)
            break;
        len += json_string_length(s) + 1;
    }
    if (json_typeof(v) != JSON_ARRAY) {
        scim_reply_errorf(r, 400, SCIM_ERR_INVALID_VALUE, "%s must be an array of strings.", name);
        return -1;
    }
    *out = calloc(1, len + 1);
    for (size_t i = 0; *out && i < json_array_size(v); i++) {
        const json *s = json_array_get(v, i);
        if (json_typeof(s) != JSON_STRING) {
            free(*out);
            *out = NULL;
            scim_reply_errorf(r, 400, SCIM_ERR_INVALID_VALUE, "%s must be an array of strings.",
                              name);
            return -1;
        }
        if (i)
            strcat(*out, ",");
        strcat(*out, json_string_value(s));
    }
    return 0;
}

/* Reads a string member of a SearchRequest; absent or null gives NULL.
 * Replies 400 with `error_type` and returns -1 for any other type, or for
 * an empty filter. */
static int search_string(http_req *r, const json *body, const char *name, const char *error_type,
                         const char **out)
{
    const json *v = json_object_geti(body, name);

    *out = NULL;
    if (!v || json_typeof(v) == JSON_NULL)
        return 0;
    if (json_typeof(v) != JSON_STRING) {
        scim_reply_errorf(r, 400, error_type, "%s must be a string.", name);
        return -1;
    }
    *out = json_string_value(v);
    if (!**out && strcmp(error_type, SCIM_ERR_INVALID_FILTER) == 0) {
        scim_reply_errorf(r, 400, error_type, "The %s is empty.", name);
        return -1;
    }
    return 0;
}

static int search_number(http_req *r, const json *body, const char *name, long *out)
{
    const json *v = json_object_geti(body, name);
    if (!v || json_typeof(v) == JSON_NULL)
        return 0;
    if (json_typeof(v) != JSON_NUMBER || !json_is_integer(v)) {
        scim_reply_errorf(r, 400, SCIM_ERR_INVALID_VALUE, "%s must be an integer.", name);
        return -1;
    }
    int64_t n = json_int_value(v);
    if (n < -1)
        n = -1;
    if (n > 0x7fffffff)
        n = 0x7fffffff;
    *out = (long)n;
    return 0;
}

/* POST /Users/.search and /Groups/.search (RFC 7644 section 3.4.3). */
static void handle_search(http_req *r, void *arg)
{
    const scim_kind *k = arg;
    list_query q = {.start = 1, .count = r->app->conf->default_page_size};
    scim_caller c;
    store_txn *t;
    json *body = NULL;
    const char *order = NULL;
    char *attrs = NULL, *excluded = NULL;

    if (scim_begin(r, &t, &c) != 0)
        return;
    if (scim_read_body(r, &body) != 0)
        goto out;
    if (search_string(r, body, "filter", SCIM_ERR_INVALID_FILTER, &q.filter) != 0 ||
        search_string(r, body, "sortBy", SCIM_ERR_INVALID_VALUE, &q.sort_by) != 0 ||
        search_string(r, body, "sortOrder", SCIM_ERR_INVALID_VALUE, &order) != 0 ||
        search_number(r, body, "startIndex", &q.start) != 0 ||
        search_number(r, body, "count", &q.count) != 0 ||
        parse_sort_order(r, order, &q) != 0 ||
        join_attributes(r, json_object_geti(body, "attributes"), "attributes", &attrs) != 0 ||
        join_attributes(r, json_object_geti(body, "excludedAttributes"), "excludedAttributes",
                        &excluded) != 0)
        goto out;
    q.attributes = attrs;
    q.excluded = excluded;
    clamp_paging(r, &q);
    run_list(r, t, &c, k, &q);
out:
    store_read_end(t);
    json_free(body);
    free(attrs);
    free(excluded);
}

int scim_list_routes(struct http_server *s, const scim_kind *k, const char *endpoint)
{
    char base[64], slash[64], search[64];

    snprintf(base, sizeof base, "%s%s", SCIM_PREFIX, endpoint);
    snprintf(slash, sizeof slash, "%s%s/", SCIM_PREFIX, endpoint);
    snprintf(search, sizeof search, "%s%s/.search", SCIM_PREFIX, endpoint);
    if (http_route(s, base, HTTP_GET, handle_list, (void *)k) != 0 ||
        http_route(s, slash, HTTP_GET, handle_list, (void *)k) != 0 ||
        http_route(s, search, HTTP_POST, handle_search, (void *)k) != 0)
        return -1;
    return 0;
}
