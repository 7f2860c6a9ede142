#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "casefold.h"
#include "json.h"
#include "scim/filter_parse.h"
#include "scim/patch.h"
#include "scim/scim_const.h"
#include "scim/values.h"

/* Parsing. */

void scim_patch_free(scim_patch *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_ops; i++) {
        scim_path_free(p->ops[i].path);
        json_free(p->ops[i].value);
    }
    free(p->ops);
    free(p);
}

static int has_patch_urn(const json *schemas)
{
    for (size_t i = 0; i < json_array_size(schemas); i++) {
        const char *s = json_string_value(json_array_get(schemas, i));
        if (s && strcasecmp(s, SCIM_URN_PATCH_OP) == 0)
            return 1;
    }
    return 0;
}

static int parse_op_name(const json *v, scim_patch_op_kind *kind)
{
    const char *s = json_string_value(v);

    if (!s)
        return -1;
    if (strcasecmp(s, SCIM_PATCH_ADD_NAME) == 0)
        *kind = SCIM_PATCH_ADD;
    else if (strcasecmp(s, SCIM_PATCH_REMOVE_NAME) == 0)
        *kind = SCIM_PATCH_REMOVE;
    else if (strcasecmp(s, SCIM_PATCH_REPLACE_NAME) == 0)
        *kind = SCIM_PATCH_REPLACE;
    else
        return -1;
    return 0;
}

static int parse_operation(const json *o, size_t index, scim_patch_op *op, scim_error *err)
{
    const json *path = json_object_geti(o, "path");
    const json *value = json_object_geti(o, "value");
    char msg[200];

    if (json_typeof(o) != JSON_OBJECT)
        return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
                              "Operations[%zu] must be an object", index);
    if (parse_op_name(json_object_geti(o, "op"), &op->op) < 0)
        return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
                              "Operations[%zu].op must be \"add\", \"remove\" or \"replace\"",
                              index);
    if (path && json_typeof(path) != JSON_NULL) {
        if (json_typeof(path) != JSON_STRING)
            return scim_error_set(err, 400, SCIM_ERR_INVALID_PATH,
                                  "Operations[%zu].path must be a string", index);
        if (scim_path_parse(json_string_value(path), &op->path, msg, sizeof(msg)) < 0)
            return scim_error_set(err, 400, SCIM_ERR_INVALID_PATH, "Operations[%zu]: %s", index,
                                  msg);
    }
    if (op->op == SCIM_PATCH_REMOVE && !op->path)
        return scim_error_set(err, 400, SCIM_ERR_NO_TARGET,
                              "Operations[%zu]: remove needs a path", index);
    if (op->op != SCIM_PATCH_REMOVE && !value)
        return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
                              "Operations[%zu]: %s needs a value", index,
                              op->op == SCIM_PATCH_ADD ? "add" : "replace");
    if (op->op != SCIM_PATCH_REMOVE && !op->path && json_typeof(value) != JSON_OBJECT)
        return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
                              "Operations[%zu]: without a path the value must be an object",
                              index);
    if (value && json_typeof(value) != JSON_NULL) {
        op->value = json_copy(value);
        if (!op->value)
            return scim_error_set(err, 500, NULL, "out of memory");
    }
    return 0;
}

int scim_patch_parse(const json *body, scim_patch **out, scim_error *err)
{
    const json *ops = json_object_geti(body, "Operations");
    scim_patch *p = NULL;
    size_t n = json_array_size(ops);

    *out = NULL;
    if (json_typeof(body) != JSON_OBJECT)
        return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
                              "the request body must be a JSON object");
    if (!has_patch_urn(json_object_geti(body, "schemas")))
        return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
                              "schemas must contain \"%s\"", SCIM_URN_PATCH_OP);
    if (json_typeof(ops) != JSON_ARRAY || n == 0)
        return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
                              "Operations must be a non-empty array");
    if (n > SCIM_PATCH_MAX_OPERATIONS)
        return scim_error_set(err, 400, SCIM_ERR_TOO_MANY,
                              "Operations has %zu entries; the maximum is %d", n,
                              SCIM_PATCH_MAX_OPERATIONS);
    p = calloc(1, sizeof(*p));
    if (p)
        p->ops = calloc(n, sizeof(*p->ops));
    if (!p || !p->ops) {
        scim_patch_free(p);
        return scim_error_set(err, 500, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        p->n_ops = i + 1;
        if (parse_operation(json_array_get(ops, i), i, &p->ops[i], err) < 0) {
            scim_patch_free(p);
            return -1;
        }
    }
    *out = p;
    return 0;
}

/* Application. */

/* A change to a delegated attribute (Group members), replayed through the
 * hooks once every operation has succeeded. */
struct member_action {
    scim_patch_op_kind op;
    json *values;              /* owned; NULL for "remove all" and filters */
    const scim_filter *filter; /* borrowed from the patch */
};

struct apply {
    const scim_schema_resource *res;
    json *root;
    const scim_attr *delegated; /* members attribute, or NULL */
    struct member_action *actions;
    size_t n_actions;
    size_t index; /* operation index, for messages */
    scim_error *err;
};

/* Target of one operation. `attr` NULL with `schema` an extension means
 * the whole extension object. */
struct target {
    const scim_schema *schema;
    const scim_attr *attr;
    const scim_attr *sub;
    const scim_filter *filter;
    char name[256]; /* for messages */
};

static int oom(struct apply *ap)
{
    return scim_error_set(ap->err, 500, NULL, "out of memory");
}

/* The object that contains the target's attribute: the resource, or its
 * extension object (created when `create` is set). NULL when absent. */
static json *container(struct apply *ap, const scim_schema *schema, int create)
{
    json *ext;

    if (!schema || schema == ap->res->core)
        return ap->root;
    ext = json_object_geti(ap->root, schema->id);
    if (json_typeof(ext) == JSON_OBJECT || !create)
        return json_typeof(ext) == JSON_OBJECT ? ext : NULL;
    ext = json_object();
    if (!ext || json_object_set(ap->root, schema->id, ext) < 0)
        return NULL;
    return ext;
}

/* Removes the attribute when it is an empty array or object. */
static void drop_if_empty(json *c, const char *name)
{
    json *v = json_object_geti(c, name);

    if ((json_typeof(v) == JSON_ARRAY && json_array_size(v) == 0) ||
        (json_typeof(v) == JSON_OBJECT && json_object_size(v) == 0))
        json_object_removei(c, name);
}

/* Clears `primary` on every element of `arr` other than `winner`, so at most
 * one element is primary (RFC 7643 section 2.4). */
static int enforce_primary(json *arr, const json *winner)
{
    if (!winner || !json_bool_value(json_object_geti(winner, "primary")))
        return 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json *e = json_array_get(arr, i);
        if (e != winner && json_bool_value(json_object_geti(e, "primary")) &&
            json_object_seti(e, "primary", json_bool(0)) < 0)
            return -1;
    }
    return 0;
}

/* The last element of `arr` among `from..` marked primary, or NULL. */
static const json *last_primary(const json *arr, size_t from)
{
    const json *winner = NULL;

    for (size_t i = from; i < json_array_size(arr); i++) {
        const json *e = json_array_get(arr, i);
        if (json_bool_value(json_object_geti(e, "primary")))
            winner = e;
    }
    return winner;
}

/* Copies every member of `src` into the object `dst`, replacing same-named
 * members (names compared in any case). */
static int merge_object(json *dst, const json *src)
{
    for (size_t i = 0; i < json_object_size(src); i++) {
        if (json_object_seti(dst, json_object_key_at(src, i),
                             json_copy(json_object_value_at(src, i))) < 0)
            return -1;
    }
    return 0;
}

/* Replaces every member of the object `dst` with those of `src`, keeping
 * the element's position in its array. */
static int replace_object(json *dst, const json *src)
{
    while (json_object_size(dst) > 0) {
        char *key = strdup(json_object_key_at(dst, 0));
        if (!key)
            return -1;
        json_object_remove(dst, key);
        free(key);
    }
    return merge_object(dst, src);
}

/* Coerces a copy of `value` for `def`; with `single` a multi-valued
 * definition is treated as one element. Returns NULL with `err` set. */
static json *coerced(struct apply *ap, const scim_attr *def, int single, const json *value,
                     const char *name)
{
    scim_attr one = *def;
    json *v = json_copy(value);

    if (!v) {
        oom(ap);
        return NULL;
    }
    if (single)
        one.multi_valued = 0;
    if (scim_value_coerce(&one, name, &v, ap->err) < 0) {
        json_free(v);
        return NULL;
    }
    return v;
}

/* Adds the `eq` terms of a value filter as members of a new element, so
 * that `emails[type eq "work"].value` creates {"type": "work", ...}. */
static int element_from_filter(const scim_filter *f, json *elem)
{
    if (!f)
        return 0;
    if (f->kind == SCIM_FILTER_AND)
        return element_from_filter(f->left, elem) < 0 ? -1 : element_from_filter(f->right, elem);
    if (f->kind != SCIM_FILTER_COMPARE || f->op != SCIM_OP_EQ || f->path.sub ||
        json_typeof(f->value) == JSON_NULL)
        return 0;
    return json_object_seti(elem, f->path.attr, json_copy(f->value));
}

static int check_writable(struct apply *ap, const struct target *t, const json *current)
{
    const scim_attr *a = t->sub ? t->sub : t->attr;

    if (t->attr->mutability == SCIM_MUT_READ_ONLY || a->mutability == SCIM_MUT_READ_ONLY)
        return scim_error_set(ap->err, 400, SCIM_ERR_MUTABILITY,
                              "attribute '%s' is readOnly and cannot be changed", t->name);
    if (a->mutability == SCIM_MUT_IMMUTABLE && current && json_typeof(current) != JSON_NULL)
        return scim_error_set(ap->err, 400, SCIM_ERR_MUTABILITY,
                              "attribute '%s' is immutable and already has a value", t->name);
    return 0;
}

static int no_target(struct apply *ap, const struct target *t)
{
    return scim_error_set(ap->err, 400, SCIM_ERR_NO_TARGET,
                          "Operations[%zu]: no value of '%s' matches the filter", ap->index,
                          t->name);
}

/* add or replace of a whole attribute (no filter, no sub-attribute). */
static int set_whole(struct apply *ap, json *c, const struct target *t, scim_patch_op_kind op,
                     json *v)
{
    json *cur = json_object_geti(c, t->attr->name);
    size_t before;

    if (json_typeof(v) == JSON_NULL) {
        json_free(v);
        if (op == SCIM_PATCH_REPLACE)
            json_object_removei(c, t->attr->name);
        return 0;
    }
    if (t->attr->multi_valued && op == SCIM_PATCH_ADD && json_typeof(cur) == JSON_ARRAY) {
        /* add appends the values that are not already present. */
        before = json_array_size(cur);
        for (size_t i = 0; i < json_array_size(v); i++) {
            json *e = json_array_get(v, i);
            int present = 0;
            for (size_t k = 0; k < json_array_size(cur) && !present; k++)
                present = json_equal(json_array_get(cur, k), e);
            if (!present && json_array_append(cur, json_copy(e)) < 0)
                goto fail;
        }
        json_free(v);
        return enforce_primary(cur, last_primary(cur, before)) < 0 ? oom(ap) : 0;
    }
    if (!t->attr->multi_valued && t->attr->type == SCIM_TYPE_COMPLEX &&
        json_typeof(cur) == JSON_OBJECT) {
        /* Sub-attributes not given keep their values (RFC 7644 3.5.2.1
         * and 3.5.2.3). */
        int rc = merge_object(cur, v);
        json_free(v);
        return rc < 0 ? oom(ap) : 0;
    }
    if (json_object_seti(c, t->attr->name, v) < 0)
        return oom(ap);
    if (t->attr->multi_valued) {
        cur = json_object_geti(c, t->attr->name);
        if (enforce_primary(cur, last_primary(cur, 0)) < 0)
            return oom(ap);
        drop_if_empty(c, t->attr->name);
    }
    return 0;
fail:
    json_free(v);
    return oom(ap);
}

/* add or replace of attr.sub without a filter. On a multi-valued attribute
 * the sub-attribute is set on every element (or on a new one when there
 * are none). */
static int set_sub(struct apply *ap, json *c, const struct target *t, json *v)
{
    json *cur = json_object_geti(c, t->attr->name), *elem;

    if (!t->attr->multi_valued) {
        if (json_typeof(cur) != JSON_OBJECT) {
            cur = json_object();
            if (!cur || json_object_seti(c, t->attr->name, cur) < 0)
                goto fail;
        }
        if (json_typeof(v) == JSON_NULL) {
            json_free(v);
            json_object_removei(cur, t->sub->name);
            drop_if_empty(c, t->attr->name);
            return 0;
        }
        return json_object_seti(cur, t->sub->name, v) < 0 ? oom(ap) : 0;
    }
    if (json_typeof(cur) != JSON_ARRAY || json_array_size(cur) == 0) {
        cur = json_array();
        elem = json_object();
        if (!cur || json_object_seti(c, t->attr->name, cur) < 0 || json_array_append(cur, elem) < 0)
            goto fail;
    }
    for (size_t i = 0; i < json_array_size(cur); i++) {
        elem = json_array_get(cur, i);
        if (json_typeof(elem) == JSON_OBJECT &&
            json_object_seti(elem, t->sub->name, json_copy(v)) < 0)
            goto fail;
    }
    json_free(v);
    return 0;
fail:
    json_free(v);
    return oom(ap);
}

/* add or replace through a value filter: the matching elements get the
 * value (as a whole element, merged for add, or as the sub-attribute);
 * when nothing matches a new element is built from the filter. */
static int set_filtered(struct apply *ap, json *c, const struct target *t,
                        scim_patch_op_kind op, json *v)
{
    json *cur = json_object_geti(c, t->attr->name), *elem = NULL;
    const json *winner = NULL;
    int matched = 0, rc;

    if (json_typeof(cur) != JSON_ARRAY) {
        cur = json_array();
        if (!cur || json_object_seti(c, t->attr->name, cur) < 0)
            goto fail;
    }
    for (size_t i = 0; i < json_array_size(cur); i++) {
        elem = json_array_get(cur, i);
        rc = filter_match_element(t->filter, elem, t->attr);
        if (rc < 0) {
            json_free(v);
            return scim_error_set(ap->err, 400, SCIM_ERR_INVALID_PATH,
                                  "Operations[%zu]: the filter of '%s' cannot be evaluated",
                                  ap->index, t->name);
        }
        if (rc == 0 || json_typeof(elem) != JSON_OBJECT)
            continue;
        matched++;
        if (t->sub)
            rc = json_object_seti(elem, t->sub->name, json_copy(v));
        else if (op == SCIM_PATCH_ADD)
            rc = merge_object(elem, v);
        else
            rc = replace_object(elem, v);
        if (rc < 0)
            goto fail;
        winner = elem;
    }
    if (!matched) {
        elem = json_object();
        if (!elem || json_array_append(cur, elem) < 0 || element_from_filter(t->filter, elem) < 0)
            goto fail;
        rc = t->sub ? json_object_seti(elem, t->sub->name, json_copy(v)) : merge_object(elem, v);
        if (rc < 0)
            goto fail;
        winner = elem;
    }
    json_free(v);
    return enforce_primary(cur, winner) < 0 ? oom(ap) : 0;
fail:
    json_free(v);
    return oom(ap);
}

/* 1 when element `e` of a multi-valued attribute is one of `listed`, as in
 * Entra ID's remove with a value. Complex elements compare their `value`
 * sub-attribute, honouring its caseExact. Other elements compare as JSON. */
static int element_listed(const scim_attr *attr, const json *e, const json *listed)
{
    const scim_attr *vdef = scim_schema_find_sub_attr(attr, "value");

    for (size_t i = 0; i < json_array_size(listed); i++) {
        const json *l = json_array_get(listed, i);
        const char *a = json_get_string(e, "value"), *b = json_get_string(l, "value");
        if (vdef && a && b) {
            if (vdef->case_exact ? strcmp(a, b) == 0 : casefold_cmp(a, b) == 0)
                return 1;
        } else if (json_equal(e, l)) {
            return 1;
        }
    }
    return 0;
}

static int remove_whole(struct apply *ap, json *c, const struct target *t, const json *value)
{
    json *cur = json_object_geti(c, t->attr->name), *listed;

    if (!cur)
        return 0;
    if (t->attr->required)
        return scim_error_set(ap->err, 400, SCIM_ERR_MUTABILITY,
                              "attribute '%s' is required and cannot be removed", t->name);
    if (!value || !t->attr->multi_valued || json_typeof(cur) != JSON_ARRAY) {
        json_object_removei(c, t->attr->name);
        return 0;
    }
    listed = coerced(ap, t->attr, 0, value, t->name);
    if (!listed)
        return -1;
    for (size_t i = json_array_size(cur); i-- > 0;) {
        if (element_listed(t->attr, json_array_get(cur, i), listed))
            json_array_remove(cur, i);
    }
    json_free(listed);
    drop_if_empty(c, t->attr->name);
    return 0;
}

static int remove_target(struct apply *ap, json *c, const struct target *t, const json *value)
{
    json *cur;
    int matched = 0, rc;

    if (!c)
        return t->filter ? no_target(ap, t) : 0;
    if (!t->filter && !t->sub)
        return remove_whole(ap, c, t, value);
    cur = json_object_geti(c, t->attr->name);
    if (!t->attr->multi_valued) {
        json_object_removei(cur, t->sub->name);
        drop_if_empty(c, t->attr->name);
        return 0;
    }
    for (size_t i = json_array_size(cur); i-- > 0;) {
        json *elem = json_array_get(cur, i);
        rc = t->filter ? filter_match_element(t->filter, elem, t->attr) : 1;
        if (rc < 0)
            return scim_error_set(ap->err, 400, SCIM_ERR_INVALID_PATH,
                                  "Operations[%zu]: the filter of '%s' cannot be evaluated",
                                  ap->index, t->name);
        if (rc == 0)
            continue;
        matched++;
        if (t->sub)
            json_object_removei(elem, t->sub->name);
        else
            json_array_remove(cur, i);
    }
    if (t->filter && !matched)
        return no_target(ap, t);
    drop_if_empty(c, t->attr->name);
    return 0;
}

/* add or replace on a resolved target; `value` is borrowed. */
static int set_target(struct apply *ap, const struct target *t, scim_patch_op_kind op,
                      const json *value)
{
    json *c = container(ap, t->schema, 1), *v;
    const scim_attr *def = t->sub ? t->sub : t->attr;

    if (!c)
        return oom(ap);
    if (json_typeof(value) == JSON_NULL && !t->sub && !t->filter && t->attr->required)
        return scim_error_set(ap->err, 400, SCIM_ERR_MUTABILITY,
                              "attribute '%s' is required and cannot be removed", t->name);
    v = json_typeof(value) == JSON_NULL ? json_null()
                                        : coerced(ap, def, t->filter && !t->sub, value, t->name);
    if (!v)
        return -1;
    if (t->filter)
        return set_filtered(ap, c, t, op, v);
    if (t->sub)
        return set_sub(ap, c, t, v);
    return set_whole(ap, c, t, op, v);
}

/* Group members: checks the operation and records it for the hooks. */
static int record_members(struct apply *ap, const struct target *t, scim_patch_op_kind op,
                          const json *value)
{
    struct member_action a = {op, NULL, t->filter}, *grown;

    if (t->sub || (t->filter && op != SCIM_PATCH_REMOVE))
        return scim_error_set(ap->err, 400, SCIM_ERR_INVALID_PATH,
                              "Operations[%zu]: members can be changed with the path "
                              "\"members\", or removed with \"members[value eq \\\"id\\\"]\"",
                              ap->index);
    if (value && json_typeof(value) != JSON_NULL) {
        a.values = coerced(ap, t->attr, 0, value, "members");
        if (!a.values)
            return -1;
        for (size_t i = 0; i < json_array_size(a.values); i++) {
            if (!json_get_string(json_array_get(a.values, i), "value")) {
                json_free(a.values);
                return scim_error_set(ap->err, 400, SCIM_ERR_INVALID_VALUE,
                                      "Operations[%zu]: members[%zu] needs a string \"value\"",
                                      ap->index, i);
            }
        }
    } else if (op != SCIM_PATCH_REMOVE) {
        a.values = json_array(); /* replace with null: no members */
        if (!a.values)
            return oom(ap);
    }
    if (a.filter)
        a.op = SCIM_PATCH_REMOVE;
    grown = realloc(ap->actions, (ap->n_actions + 1) * sizeof(*grown));
    if (!grown) {
        json_free(a.values);
        return oom(ap);
    }
    ap->actions = grown;
    ap->actions[ap->n_actions++] = a;
    return 0;
}

/* Applies one operation to a resolved target. */
static int apply_target(struct apply *ap, const struct target *t, scim_patch_op_kind op,
                        const json *value, int explicit_path)
{
    json *c;

    if (ap->delegated && t->attr == ap->delegated)
        return record_members(ap, t, op, value);
    c = container(ap, t->schema, 0);
    if (t->attr->mutability == SCIM_MUT_WRITE_ONLY)
        return 0; /* accepted and dropped, like password on create */
    if (explicit_path && check_writable(ap, t, json_object_geti(c, t->attr->name)) < 0)
        return -1;
    if (!explicit_path && (t->attr->mutability == SCIM_MUT_READ_ONLY ||
                           (t->sub && t->sub->mutability == SCIM_MUT_READ_ONLY)))
        return 0; /* ignored inside a path-less value */
    if (op == SCIM_PATCH_REMOVE)
        return remove_target(ap, c, t, value);
    return set_target(ap, t, op, value);
}

/* Applies one member of a path-less add/replace value. `key` may be plain,
 * dotted or URN-prefixed; unknown attributes are ignored. */
static int apply_pathless_member(struct apply *ap, const scim_schema *ext, const char *key,
                                 scim_patch_op_kind op, const json *value)
{
    struct target t = {0};

    if (ext)
        snprintf(t.name, sizeof(t.name), "%s:%s", ext->id, key);
    else
        snprintf(t.name, sizeof(t.name), "%s", key);
    if (scim_schema_lookup(ap->res, t.name, &t.attr, &t.sub, &t.schema) < 0)
        return 0;
    return apply_target(ap, &t, op, value, 0);
}

static const scim_schema *extension_of(const scim_schema_resource *res, const char *urn)
{
    for (size_t i = 0; urn && i < res->n_extensions; i++) {
        if (strcasecmp(res->extensions[i].schema->id, urn) == 0)
            return res->extensions[i].schema;
    }
    return NULL;
}

/* Applies the members of an object to the resource (a path-less value, or
 * the value of a path that names a whole extension when `ext` is set). */
static int apply_object(struct apply *ap, const scim_schema *ext, scim_patch_op_kind op,
                        const json *value)
{
    if (json_typeof(value) != JSON_OBJECT)
        return scim_error_set(ap->err, 400, SCIM_ERR_INVALID_VALUE,
                              "Operations[%zu]: the value must be an object", ap->index);
    for (size_t i = 0; i < json_object_size(value); i++) {
        const char *key = json_object_key_at(value, i);
        const json *v = json_object_value_at(value, i);
        const scim_schema *key_ext = ext ? NULL : extension_of(ap->res, key);
        int rc;

        if (!ext && strcasecmp(key, "schemas") == 0)
            continue;
        if (key_ext)
            rc = json_typeof(v) == JSON_OBJECT ? apply_object(ap, key_ext, op, v) : 0;
        else
            rc = apply_pathless_member(ap, ext, key, op, v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* An operation whose path is a bare extension URN. */
static int apply_extension(struct apply *ap, const scim_schema *ext, scim_patch_op_kind op,
                           const json *value)
{
    json *cur;

    if (op != SCIM_PATCH_REMOVE)
        return apply_object(ap, ext, op, value);
    cur = json_object_geti(ap->root, ext->id);
    for (size_t i = 0; i < ext->n_attrs; i++) {
        if (ext->attrs[i].required && json_object_geti(cur, ext->attrs[i].name))
            return scim_error_set(ap->err, 400, SCIM_ERR_MUTABILITY,
                                  "attribute '%s' is required and cannot be removed",
                                  ext->attrs[i].name);
    }
    json_object_removei(ap->root, ext->id);
    return 0;
}

static void format_path_name(const scim_path *path, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", path->attr.urn ? path->attr.urn : "",
             path->attr.urn ? ":" : "", path->attr.attr ? path->attr.attr : "",
             path->attr.sub ? "." : "", path->attr.sub ? path->attr.sub : "");
}

static int apply_with_path(struct apply *ap, const scim_patch_op *op)
{
    struct target t = {0};

    format_path_name(op->path, t.name, sizeof(t.name));
    if (op->path->attr.urn && !scim_schema_resource_has_urn(ap->res, op->path->attr.urn) &&
        !scim_schema_by_urn(op->path->attr.urn) &&
        strncasecmp(op->path->attr.urn, "urn:ietf:params:scim:schemas:core:", 34) != 0)
        return 0; /* an extension idgate does not store: ignored like on create */
    if (scim_path_resolve(op->path, ap->res, &t.attr, &t.sub, &t.schema) < 0)
        return scim_error_set(ap->err, 400, SCIM_ERR_INVALID_PATH,
                              "Operations[%zu]: '%s' is not an attribute of %s, or a filter or "
                              "sub-attribute does not apply to it",
                              ap->index, t.name, ap->res->name);
    if (!t.attr)
        return apply_extension(ap, t.schema, op->op, op->value);
    t.filter = op->path->filter;
    return apply_target(ap, &t, op->op, op->value, 1);
}

/* Rewrites `schemas` to the core URN plus each extension whose object is
 * present, removing extension objects left empty. */
static int update_schemas(struct apply *ap)
{
    json *schemas = json_array();

    if (!schemas || json_array_append(schemas, json_string(ap->res->core->id)) < 0)
        goto fail;
    for (size_t i = 0; i < ap->res->n_extensions; i++) {
        const char *urn = ap->res->extensions[i].schema->id;
        drop_if_empty(ap->root, urn);
        if (json_object_geti(ap->root, urn) && json_array_append(schemas, json_string(urn)) < 0)
            goto fail;
    }
    if (json_object_seti(ap->root, "schemas", schemas) < 0)
        return oom(ap);
    return 0;
fail:
    json_free(schemas);
    return oom(ap);
}

static int run_hooks(struct apply *ap, const scim_patch_hooks *hooks)
{
    for (size_t i = 0; i < ap->n_actions; i++) {
        const struct member_action *a = &ap->actions[i];
        int rc = -1;

        ap->err->status = 0;
        if (a->op == SCIM_PATCH_ADD && hooks->add_members)
            rc = hooks->add_members(hooks->ctx, a->values, ap->err);
        else if (a->op == SCIM_PATCH_REMOVE && hooks->remove_members)
            rc = hooks->remove_members(hooks->ctx, a->values, a->filter, ap->err);
        else if (a->op == SCIM_PATCH_REPLACE && hooks->replace_members)
            rc = hooks->replace_members(hooks->ctx, a->values, ap->err);
        if (rc < 0) {
            if (ap->err->status == 0)
                scim_error_set(ap->err, 500, NULL, "changing the members failed");
            return -1;
        }
    }
    return 0;
}

int scim_patch_apply(const scim_patch *p, const scim_schema_resource *res, const json *resource,
                     const scim_patch_hooks *hooks, json **out, scim_error *err)
{
    scim_error local;
    struct apply ap = {.res = res, .err = err ? err : &local};
    int rc = -1;

    *out = NULL;
    ap.root = json_copy(resource);
    if (!ap.root || json_typeof(ap.root) != JSON_OBJECT) {
        scim_error_set(ap.err, 500, NULL, "the stored resource is not a JSON object");
        goto out;
    }
    if (hooks && res == scim_schema_group())
        ap.delegated = scim_schema_find_attr(res, NULL, "members", NULL);
    for (size_t i = 0; i < p->n_ops; i++) {
        const scim_patch_op *op = &p->ops[i];
        ap.index = i;
        if (op->path ? apply_with_path(&ap, op) < 0 : apply_object(&ap, NULL, op->op, op->value) < 0)
            goto out;
    }
    if (update_schemas(&ap) < 0)
        goto out;
    if (hooks && run_hooks(&ap, hooks) < 0)
        goto out;
    *out = ap.root;
    ap.root = NULL;
    rc = 0;
out:
    for (size_t i = 0; i < ap.n_actions; i++)
        json_free(ap.actions[i].values);
    free(ap.actions);
    json_free(ap.root);
    return rc;
}
