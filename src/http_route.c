#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"

#define MAX_SEGMENTS 32
#define MAX_HANDLERS 8

enum seg_kind { SEG_LITERAL, SEG_PARAM, SEG_REST };

typedef struct segment {
    enum seg_kind kind;
    char *text;     /* literal segments only, still percent-encoded as in the URL */
} segment;

typedef struct handler_entry {
    unsigned methods;
    http_handler fn;
    void *arg;
} handler_entry;

typedef struct route {
    char *pattern;
    segment segs[MAX_SEGMENTS];
    int nsegs;
    handler_entry handlers[MAX_HANDLERS];
    int nhandlers;
} route;

/* A segment tree over the patterns, so that a lookup walks the path's
 * segments instead of testing every pattern. Routes are referred to by
 * index because the route array moves when it grows. */
typedef struct route_node {
    char *text;                     /* literal children only: the segment */
    size_t len;
    struct route_node **literals;   /* children for literal segments */
    size_t nliterals;
    struct route_node *param;       /* child for `{}` */
    long rest_route;                /* route ending in `*` here, or -1 */
    long route;                     /* route ending at this node, or -1 */
} route_node;

struct route_table {
    route *routes;
    size_t count;
    size_t cap;
    route_node *root;
};

static route_node *node_new(const char *text, size_t len)
{
    route_node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->rest_route = -1;
    n->route = -1;
    if (text) {
        n->text = strndup(text, len);
        n->len = len;
        if (!n->text) {
            free(n);
            return NULL;
        }
    }
    return n;
}

static void node_free(route_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nliterals; i++)
        node_free(n->literals[i]);
    free(n->literals);
    node_free(n->param);
    free(n->text);
    free(n);
}

static route_node *literal_child(const route_node *n, const char *text, size_t len)
{
    for (size_t i = 0; i < n->nliterals; i++) {
        route_node *c = n->literals[i];
        if (c->len == len && memcmp(c->text, text, len) == 0)
            return c;
    }
    return NULL;
}

route_table *route_table_new(void)
{
    route_table *t = calloc(1, sizeof(route_table));

    if (t && !(t->root = node_new(NULL, 0))) {
        free(t);
        return NULL;
    }
    return t;
}

static void route_clear(route *r)
{
    for (int i = 0; i < r->nsegs; i++)
        free(r->segs[i].text);
    free(r->pattern);
}

void route_table_free(route_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        route_clear(&t->routes[i]);
    free(t->routes);
    node_free(t->root);
    free(t);
}

/* Splits the pattern into segments. "/" alone is one empty literal segment,
 * the same as how paths are split. */
static int compile(route *r, const char *pattern)
{
    const char *p = pattern + 1;
    int params = 0;

    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        segment *s;

        if (r->nsegs == MAX_SEGMENTS)
            return -2;
        s = &r->segs[r->nsegs++];
        if (len == 2 && strncmp(p, "{}", 2) == 0) {
            s->kind = SEG_PARAM;
            params++;
        } else if (len == 1 && *p == '*') {
            if (end)
                return -2;
            s->kind = SEG_REST;
            params++;
        } else {
            s->kind = SEG_LITERAL;
            s->text = strndup(p, len);
            if (!s->text)
                return -1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return params > HTTP_MAX_PARAMS ? -2 : 0;
}

static route *find_pattern(route_table *t, const char *pattern)
{
    for (size_t i = 0; i < t->count; i++) {
        if (strcmp(t->routes[i].pattern, pattern) == 0)
            return &t->routes[i];
    }
    return NULL;
}

/* Adds the compiled route `r`, number `index`, to the segment tree.
 * Returns 0 or -1 when out of memory. Nodes created before a failure stay
 * in the tree without a route, which no lookup can tell apart from absent. */
static int tree_insert(route_table *t, const route *r, long index)
{
    route_node *n = t->root;

    for (int i = 0; i < r->nsegs; i++) {
        const segment *s = &r->segs[i];
        route_node *next;

        if (s->kind == SEG_REST) {
            n->rest_route = index;
            return 0;
        }
        if (s->kind == SEG_PARAM) {
            if (!n->param && !(n->param = node_new(NULL, 0)))
                return -1;
            n = n->param;
            continue;
        }
        next = literal_child(n, s->text, strlen(s->text));
        if (!next) {
            route_node **grown = realloc(n->literals, (n->nliterals + 1) * sizeof(*grown));
            if (!grown)
                return -1;
            n->literals = grown;
            if (!(next = node_new(s->text, strlen(s->text))))
                return -1;
            n->literals[n->nliterals++] = next;
        }
        n = next;
    }
    n->route = index;
    return 0;
}

static route *append_route(route_table *t, const char *pattern, int *err)
{
    route *r;
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        route *grown = realloc(t->routes, cap * sizeof(*grown));
        if (!grown) {
            *err = -1;
            return NULL;
        }
        t->routes = grown;
        t->cap = cap;
    }
    r = &t->routes[t->count];
    memset(r, 0, sizeof(*r));
    r->pattern = strdup(pattern);
    if (!r->pattern) {
        *err = -1;
        return NULL;
    }
    *err = compile(r, pattern);
    if (*err == 0)
        *err = tree_insert(t, r, (long)t->count);
    if (*err != 0) {
        route_clear(r);
        return NULL;
    }
    t->count++;
    return r;
}

int route_table_add(route_table *t, const char *pattern, unsigned methods, http_handler fn,
                    void *arg)
{
    route *r;
    int err = 0;

    if (!pattern || pattern[0] != '/' || !fn || methods == 0)
        return -2;
    r = find_pattern(t, pattern);
    if (!r && !(r = append_route(t, pattern, &err)))
        return err;
    if (r->nhandlers == MAX_HANDLERS)
        return -2;
    r->handlers[r->nhandlers++] = (handler_entry){methods, fn, arg};
    return 0;
}

typedef struct path_parts {
    const char *start[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS];
    int n;
    const char *rest[MAX_SEGMENTS]; /* the path from segment i on, for `*` */
} path_parts;

static int split_path(const char *path, path_parts *pp)
{
    const char *p;
    if (path[0] != '/')
        return -1;
    p = path + 1;
    pp->n = 0;
    for (;;) {
        const char *end = strchr(p, '/');
        if (pp->n == MAX_SEGMENTS)
            return -1;
        pp->start[pp->n] = p;
        pp->rest[pp->n] = p;
        pp->len[pp->n] = end ? (size_t)(end - p) : strlen(p);
        pp->n++;
        if (!end)
            return 0;
        p = end + 1;
    }
}

static const handler_entry *handler_for(const route *r, unsigned method, int *head_as_get)
{
    *head_as_get = 0;
    for (int i = 0; i < r->nhandlers; i++) {
        if (r->handlers[i].methods & method)
            return &r->handlers[i];
    }
    if (method != HTTP_HEAD)
        return NULL;
    for (int i = 0; i < r->nhandlers; i++) {
        if (r->handlers[i].methods & HTTP_GET) {
            *head_as_get = 1;
            return &r->handlers[i];
        }
    }
    return NULL;
}

static unsigned route_methods(const route *r)
{
    unsigned m = 0;
    for (int i = 0; i < r->nhandlers; i++)
        m |= r->handlers[i].methods;
    if (m & HTTP_GET)
        m |= HTTP_HEAD;
    return m;
}

static int capture(const route *r, const path_parts *pp, route_match *m)
{
    for (int i = 0; i < r->nsegs; i++) {
        const char *src;
        size_t len;
        if (r->segs[i].kind == SEG_LITERAL)
            continue;
        if (r->segs[i].kind == SEG_PARAM) {
            src = pp->start[i];
            len = pp->len[i];
        } else {
            src = i < pp->n ? pp->rest[i] : "";
            len = strlen(src);
        }
        m->params[m->nparams] = http_percent_decode(src, len, 0);
        if (!m->params[m->nparams])
            return -1;
        m->nparams++;
    }
    return 0;
}

/* State of one lookup: the first route met that has a handler for the
 * method is the best, because the walk meets routes from the most specific
 * to the least. */
typedef struct lookup {
    const route_table *t;
    const path_parts *pp;
    unsigned method;
    unsigned allowed;       /* methods of every route that matches the path */
    int found;              /* some route matches the path */
    const route *first;     /* the most specific route matching the path */
    const route *best;
    const handler_entry *handler;
    int head_as_get;
} lookup;

static void consider(lookup *l, long index)
{
    const route *r;
    const handler_entry *h;
    int head_as_get;

    if (index < 0)
        return;
    r = &l->t->routes[index];
    if (!l->found)
        l->first = r;
    l->found = 1;
    l->allowed |= route_methods(r);
    if (l->best || !(h = handler_for(r, l->method, &head_as_get)))
        return;
    l->best = r;
    l->handler = h;
    l->head_as_get = head_as_get;
}

/* Visits the routes under `n` that match the path from segment `i` on, most
 * specific first. Per segment that is a literal, then `{}`, then `*`. At
 * the path's end, a `*` matching the empty rest comes before the route
 * ending there. */
static void walk(lookup *l, const route_node *n, int i)
{
    const path_parts *pp = l->pp;
    const route_node *c;

    if (i == pp->n) {
        consider(l, n->rest_route);
        consider(l, n->route);
        return;
    }
    if ((c = literal_child(n, pp->start[i], pp->len[i])))
        walk(l, c, i + 1);
    if (n->param && pp->len[i] > 0)
        walk(l, n->param, i + 1);
    consider(l, n->rest_route);
}

int route_table_find(const route_table *t, const char *raw_path, unsigned method,
                     route_match *m)
{
    path_parts pp;
    lookup l = {.t = t, .pp = &pp, .method = method};

    memset(m, 0, sizeof(*m));
    if (split_path(raw_path, &pp) != 0)
        return 2;
    walk(&l, t->root, 0);
    m->allowed = l.allowed;
    if (!l.best) {
        /* The pattern names the route in metrics of the 405 reply. */
        if (l.found)
            m->pattern = l.first->pattern;
        return l.found ? 1 : 2;
    }
    m->pattern = l.best->pattern;
    m->fn = l.handler->fn;
    m->arg = l.handler->arg;
    m->head_as_get = l.head_as_get;
    if (capture(l.best, &pp, m) != 0) {
        route_match_clear(m);
        return 2;
    }
    return 0;
}

void route_match_clear(route_match *m)
{
    for (int i = 0; i < m->nparams; i++)
        free(m->params[i]);
    m->nparams = 0;
}

static const struct {
    unsigned bit;
    const char *name;
} method_names[] = {
    {HTTP_GET, "GET"},     {HTTP_HEAD, "HEAD"},     {HTTP_POST, "POST"},       {HTTP_PUT, "PUT"},
    {HTTP_PATCH, "PATCH"}, {HTTP_DELETE, "DELETE"}, {HTTP_OPTIONS, "OPTIONS"},
};

void http_allow_header(unsigned allowed, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (allowed & HTTP_GET)
        allowed |= HTTP_HEAD;
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++) {
        if (!(allowed & method_names[i].bit))
            continue;
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", method_names[i].name);
        if (o >= outlen)
            return;
    }
}

unsigned http_method_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(method_names) / sizeof(method_names[0]); i++) {
        if (strcmp(name, method_names[i].name) == 0)
            return method_names[i].bit;
    }
    return 0;
}
