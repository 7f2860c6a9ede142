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

struct route_table {
    route *routes;
    size_t count;
    size_t cap;
};

route_table *route_table_new(void)
{
    return calloc(1, sizeof(route_table));
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

/* Ranks how well `r` matches: one digit per segment, 2 for a literal, 1 for
 * `{}` and 0 for `*`. Returns 0 when it does not match. */
static int rank_match(const route *r, const path_parts *pp, char rank[MAX_SEGMENTS + 1])
{
    int i;
    for (i = 0; i < r->nsegs; i++) {
        const segment *s = &r->segs[i];
        if (s->kind == SEG_REST) {
            rank[i] = '0';
            rank[i + 1] = '\0';
            return i <= pp->n;
        }
        if (i >= pp->n)
            return 0;
        if (s->kind == SEG_PARAM) {
            if (pp->len[i] == 0)
                return 0;
            rank[i] = '1';
        } else {
            if (strlen(s->text) != pp->len[i] || memcmp(s->text, pp->start[i], pp->len[i]) != 0)
                return 0;
            rank[i] = '2';
        }
    }
    rank[i] = '\0';
    return r->nsegs == pp->n;
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

int route_table_find(const route_table *t, const char *raw_path, unsigned method,
                     route_match *m)
{
    path_parts pp;
    const route *best = NULL;
    const handler_entry *best_handler = NULL;
    char best_rank[MAX_SEGMENTS + 1] = "";
    int best_head = 0;
    int path_found = 0;

    memset(m, 0, sizeof(*m));
    if (split_path(raw_path, &pp) != 0)
        return 2;
    for (size_t i = 0; i < t->count; i++) {
        const route *r = &t->routes[i];
        char rank[MAX_SEGMENTS + 1];
        int head_as_get;
        const handler_entry *h;

        if (!rank_match(r, &pp, rank))
            continue;
        path_found = 1;
        m->allowed |= route_methods(r);
        h = handler_for(r, method, &head_as_get);
        if (!h || (best && strcmp(rank, best_rank) <= 0))
            continue;
        best = r;
        best_handler = h;
        best_head = head_as_get;
        strcpy(best_rank, rank);
    }
    if (!best)
        return path_found ? 1 : 2;
    m->pattern = best->pattern;
    m->fn = best_handler->fn;
    m->arg = best_handler->arg;
    m->head_as_get = best_head;
    if (capture(best, &pp, m) != 0) {
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
