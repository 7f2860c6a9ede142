#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "casefold.h"
#include "json.h"
#include "scim/filter.h"
#include "scim/filter_parse.h"
#include "scim/schema.h"

/* Evaluation context. `scope` is the complex attribute whose elements are
 * being tested inside a value path, or NULL at the top level. */
struct eval {
    const scim_schema_resource *schema;
    const scim_attr *scope;
    scim_filter_resolver resolver;
    void *ctx;
};

/* A dateTime (RFC 3339 / xsd:dateTime) as seconds since the epoch plus
 * nanoseconds. */
struct instant {
    int64_t sec;
    long nsec;
};

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parses "YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)". */
static int parse_instant(const char *s, struct instant *out)
{
    int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
    long nsec = 0;
    char sign;

    if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n != 19)
        return -1;
    s += n;
    if (*s == '.') {
        long scale = 100000000;
        for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
            nsec += scale * (*s - '0');
    }
    sign = *s;
    if (sign == 'Z' || sign == 'z') {
        s++;
    } else if (sign == '+' || sign == '-') {
        if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
            return -1;
        s += 6;
    } else {
        return -1;
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    out->sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    /* Local time = UTC + offset, so subtract a positive offset. */
    if (sign == '+')
        out->sec -= oh * 3600 + om * 60;
    else if (sign == '-')
        out->sec += oh * 3600 + om * 60;
    out->nsec = nsec;
    return 0;
}

static int instant_cmp(const struct instant *a, const struct instant *b)
{
    if (a->sec != b->sec)
        return a->sec < b->sec ? -1 : 1;
    return (a->nsec > b->nsec) - (a->nsec < b->nsec);
}


static int ordering(scim_filter_op op, int cmp)
{
    switch (op) {
    case SCIM_OP_EQ:
        return cmp == 0;
    case SCIM_OP_NE:
        return cmp != 0;
    case SCIM_OP_GT:
        return cmp > 0;
    case SCIM_OP_GE:
        return cmp >= 0;
    case SCIM_OP_LT:
        return cmp < 0;
    case SCIM_OP_LE:
        return cmp <= 0;
    default:
        return 0;
    }
}

/* Case-insensitive substring search for ASCII. */
static const char *strcasestr_ascii(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    }
    return n == 0 ? hay : NULL;
}

/* Compares `a` and `b` with `op`, exactly or, with `ascii_nocase`, without
 * regard to the case of ASCII letters. */
static int compare_text(const char *a, const char *b, scim_filter_op op, int ascii_nocase)
{
    size_t la = strlen(a), lb = strlen(b);

    switch (op) {
    case SCIM_OP_CO:
        return (ascii_nocase ? strcasestr_ascii(a, b) : strstr(a, b)) != NULL;
    case SCIM_OP_SW:
        return la >= lb && (ascii_nocase ? strncasecmp(a, b, lb) : strncmp(a, b, lb)) == 0;
    case SCIM_OP_EW:
        return la >= lb && (ascii_nocase ? strcasecmp(a + la - lb, b) : strcmp(a + la - lb, b)) == 0;
    default:
        return ordering(op, ascii_nocase ? strcasecmp(a, b) : strcmp(a, b));
    }
}

/* Compares without regard to case unless `case_exact`: the folded forms
 * (casefold.h) compare exactly, and ASCII text needs no folded copy. */
static int compare_strings(const char *a, const char *b, scim_filter_op op, int case_exact)
{
    char *fa, *fb;
    int r;

    if (case_exact)
        return compare_text(a, b, op, 0);
    if (casefold_is_ascii(a, strlen(a)) && casefold_is_ascii(b, strlen(b)))
        return compare_text(a, b, op, 1);
    fa = casefold_dup(a);
    fb = casefold_dup(b);
    r = fa && fb ? compare_text(fa, fb, op, 0) : 0;
    free(fa);
    free(fb);
    return r;
}

static int is_ordering(scim_filter_op op)
{
    return op == SCIM_OP_GT || op == SCIM_OP_GE || op == SCIM_OP_LT || op == SCIM_OP_LE;
}

static int compare_numbers(const json *v, const json *lit, scim_filter_op op)
{
    int cmp;

    if (json_is_integer(v) && json_is_integer(lit)) {
        int64_t a = json_int_value(v), b = json_int_value(lit);
        cmp = (a > b) - (a < b);
    } else {
        double a = json_double_value(v), b = json_double_value(lit);
        cmp = (a > b) - (a < b);
    }
    if (op == SCIM_OP_CO || op == SCIM_OP_SW || op == SCIM_OP_EW)
        return 0;
    return ordering(op, cmp);
}

/* Compares one leaf value with the literal. Returns 1, 0, or -1 when the
 * comparison is invalid (ordering or substring operators on booleans). */
static int compare_leaf(const json *v, const scim_filter *f, const scim_attr *def)
{
    const json *lit = f->value;
    scim_filter_op op = f->op;
    struct instant a, b;

    if (json_typeof(v) == JSON_BOOL || (def && def->type == SCIM_TYPE_BOOLEAN)) {
        if (op != SCIM_OP_EQ && op != SCIM_OP_NE)
            return -1;
        if (json_typeof(v) != JSON_BOOL || json_typeof(lit) != JSON_BOOL)
            return op == SCIM_OP_NE;
        return (json_bool_value(v) == json_bool_value(lit)) == (op == SCIM_OP_EQ);
    }
    if (def && def->type == SCIM_TYPE_BINARY && is_ordering(op))
        return -1;
    if (json_typeof(lit) == JSON_NULL)
        return ordering(op, json_typeof(v) == JSON_NULL ? 0 : 1) && !is_ordering(op);
    if (json_typeof(v) == JSON_NUMBER && json_typeof(lit) == JSON_NUMBER)
        return compare_numbers(v, lit, op);
    if (json_typeof(v) != JSON_STRING || json_typeof(lit) != JSON_STRING)
        return op == SCIM_OP_NE;
    if ((!def || def->type == SCIM_TYPE_DATETIME) && op != SCIM_OP_CO && op != SCIM_OP_SW &&
        op != SCIM_OP_EW && parse_instant(json_string_value(v), &a) == 0 &&
        parse_instant(json_string_value(lit), &b) == 0)
        return ordering(op, instant_cmp(&a, &b));
    return compare_strings(json_string_value(v), json_string_value(lit), op,
                           def ? def->case_exact : 0);
}

static int leaf_present(const json *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    default:
        return 1;
    }
}

/* Looks up the attribute named by `path` in `container`, returning its
 * definition in `*def` (NULL when unknown) and its json value or NULL. */
static const json *lookup(const struct eval *ev, const scim_attr_path *path, const json *container,
                          const scim_attr **def)
{
    const scim_schema *schema = NULL;

    *def = NULL;
    if (ev->scope) {
        *def = scim_schema_find_sub_attr(ev->scope, path->attr);
        if (json_typeof(container) != JSON_OBJECT)
            return strcasecmp(path->attr, "value") == 0 ? container : NULL;
        return json_object_geti(container, path->attr);
    }
    if (ev->schema)
        *def = scim_schema_find_attr(ev->schema, path->urn, path->attr, &schema);
    if (*def && schema != ev->schema->core)
        container = json_object_geti(container, schema->id);
    else if (!*def && path->urn && strncasecmp(path->urn, "urn:ietf:params:scim:schemas:core:", 34))
        container = json_object_geti(container, path->urn);
    return json_object_geti(container, path->attr);
}

/* Calls fn(leaf, leaf_def) for each leaf value selected by the node's
 * path: the element values of multi-valued attributes, the sub-attribute
 * when given, and the "value" sub-attribute of complex attributes without
 * one. Stops at the first non-zero result and returns it. */
typedef int (*leaf_fn)(const json *leaf, const scim_filter *f, const scim_attr *def);

static int each_leaf(const json *v, const scim_filter *f, const scim_attr *def, leaf_fn fn)
{
    const char *sub = f->path.sub;
    const scim_attr *leaf_def = def;
    int rc;

    if (json_typeof(v) == JSON_ARRAY) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            rc = each_leaf(json_array_get(v, i), f, def, fn);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    if (json_typeof(v) == JSON_OBJECT) {
        if (!sub && (!def || def->type == SCIM_TYPE_COMPLEX))
            sub = "value";
        if (!sub)
            return 0;
        leaf_def = def ? scim_schema_find_sub_attr(def, sub) : NULL;
        v = json_object_geti(v, sub);
        if (!v)
            return 0;
        if (json_typeof(v) == JSON_ARRAY || json_typeof(v) == JSON_OBJECT) {
            scim_filter plain = *f;
            plain.path.sub = NULL;
            return each_leaf(v, &plain, leaf_def, fn);
        }
    } else if (sub) {
        return 0;
    }
    return fn(v, f, leaf_def);
}

static int leaf_present_fn(const json *leaf, const scim_filter *f, const scim_attr *def)
{
    return leaf_present(leaf);
}

static int leaf_compare_fn(const json *leaf, const scim_filter *f, const scim_attr *def)
{
    return compare_leaf(leaf, f, def);
}

static int match_node(const struct eval *ev, const scim_filter *f, const json *res);

static int match_value_path(const struct eval *ev, const scim_filter *f, const json *v,
                            const scim_attr *def)
{
    struct eval inner = *ev;
    int rc;

    inner.scope = def;
    if (json_typeof(v) != JSON_ARRAY)
        return match_node(&inner, f->left, v);
    for (size_t i = 0; i < json_array_size(v); i++) {
        rc = match_node(&inner, f->left, json_array_get(v, i));
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int match_attr(const struct eval *ev, const scim_filter *f, const json *res)
{
    const scim_attr *def;
    const json *v = lookup(ev, &f->path, res, &def);
    int rc;

    if (!v && ev->resolver && !ev->scope) {
        rc = ev->resolver(ev->ctx, f);
        if (rc != SCIM_FILTER_UNRESOLVED)
            return rc;
    }
    if (!v || json_typeof(v) == JSON_NULL)
        return f->kind == SCIM_FILTER_COMPARE && f->op == SCIM_OP_NE &&
               json_typeof(f->value) != JSON_NULL;
    if (f->kind == SCIM_FILTER_VALUE_PATH)
        return match_value_path(ev, f, v, def);
    if (f->kind == SCIM_FILTER_PRESENT && !f->path.sub)
        return leaf_present(v);
    if (f->kind == SCIM_FILTER_PRESENT)
        return each_leaf(v, f, def, leaf_present_fn);
    if (f->op == SCIM_OP_NE) {
        /* ne holds when no value equals the literal. */
        scim_filter eq = *f;
        eq.op = SCIM_OP_EQ;
        rc = each_leaf(v, &eq, def, leaf_compare_fn);
        return rc < 0 ? rc : !rc;
    }
    return each_leaf(v, f, def, leaf_compare_fn);
}

static int match_node(const struct eval *ev, const scim_filter *f, const json *res)
{
    int rc;

    switch (f->kind) {
    case SCIM_FILTER_AND:
        rc = match_node(ev, f->left, res);
        return rc <= 0 ? rc : match_node(ev, f->right, res);
    case SCIM_FILTER_OR:
        rc = match_node(ev, f->left, res);
        return rc != 0 ? rc : match_node(ev, f->right, res);
    case SCIM_FILTER_NOT:
        rc = match_node(ev, f->left, res);
        return rc < 0 ? rc : !rc;
    default:
        return match_attr(ev, f, res);
    }
}

int scim_filter_match_ex(const scim_filter *f, const json *resource,
                         const scim_schema_resource *schema, scim_filter_resolver resolver,
                         void *ctx)
{
    struct eval ev = {schema, NULL, resolver, ctx};
    int rc;

    if (!f || !resource)
        return 0;
    rc = match_node(&ev, f, resource);
    return rc < 0 ? rc : rc > 0;
}

int scim_filter_match(const scim_filter *f, const json *resource,
                      const scim_schema_resource *schema)
{
    return scim_filter_match_ex(f, resource, schema, NULL, NULL);
}

/* Static checks against the schema. */

static int check_error(char *err, size_t errlen, const scim_filter *f, const char *fmt,
                       const char *name)
{
    char msg[200];

    snprintf(msg, sizeof(msg), fmt, scim_filter_op_name(f->op), name);
    if (err && errlen)
        snprintf(err, errlen, "invalid filter at position %zu: %s", f->pos, msg);
    return -1;
}

static int check_node(const scim_filter *f, const scim_schema_resource *schema,
                      const scim_attr *scope, char *err, size_t errlen)
{
    const scim_attr *def, *leaf;

    switch (f->kind) {
    case SCIM_FILTER_AND:
    case SCIM_FILTER_OR:
        if (check_node(f->left, schema, scope, err, errlen) < 0)
            return -1;
        return check_node(f->right, schema, scope, err, errlen);
    case SCIM_FILTER_NOT:
        return check_node(f->left, schema, scope, err, errlen);
    default:
        break;
    }
    def = scope ? scim_schema_find_sub_attr(scope, f->path.attr)
                : scim_schema_find_attr(schema, f->path.urn, f->path.attr, NULL);
    if (!def)
        return 0;
    if (f->kind == SCIM_FILTER_VALUE_PATH) {
        if (def->type != SCIM_TYPE_COMPLEX)
            return check_error(err, errlen, f, "%.0sattribute '%s' has no sub-attributes to "
                                               "filter on", f->path.attr);
        return check_node(f->left, schema, def, err, errlen);
    }
    if (f->kind != SCIM_FILTER_COMPARE)
        return 0;
    leaf = def;
    if (def->type == SCIM_TYPE_COMPLEX)
        leaf = scim_schema_find_sub_attr(def, f->path.sub ? f->path.sub : "value");
    if (!leaf)
        return f->path.sub ? 0
                           : check_error(err, errlen, f,
                                         "operator '%s' needs a sub-attribute of complex "
                                         "attribute '%s'",
                                         f->path.attr);
    if (leaf->type == SCIM_TYPE_BOOLEAN && f->op != SCIM_OP_EQ && f->op != SCIM_OP_NE)
        return check_error(err, errlen, f, "operator '%s' cannot compare boolean attribute '%s'",
                           f->path.attr);
    if (leaf->type == SCIM_TYPE_BINARY && is_ordering(f->op))
        return check_error(err, errlen, f, "operator '%s' cannot compare binary attribute '%s'",
                           f->path.attr);
    return 0;
}

int scim_filter_check(const scim_filter *f, const scim_schema_resource *schema, char *err,
                      size_t errlen)
{
    if (!f || !schema)
        return 0;
    return check_node(f, schema, NULL, err, errlen);
}

int filter_match_element(const scim_filter *f, const json *element, const scim_attr *scope)
{
    struct eval ev = {NULL, scope, NULL, NULL};
    int rc = match_node(&ev, f, element);
    return rc < 0 ? -1 : rc > 0;
}
