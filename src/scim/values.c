#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "scim/schema.h"
#include "scim/filter_parse.h"
#include "scim/scim_const.h"
#include "scim/values.h"

/* Length of the valid UTF-8 sequence at `p` (at most `avail` bytes), 0 when
 * it is invalid, or -1 when it is a valid start cut off by the end. */
static int utf8_sequence(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    int n;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    /* The second byte's range rules out overlong forms, surrogates and code
     * points above U+10FFFF (RFC 3629 section 4). */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    for (int i = 1; i < n; i++) {
        if ((size_t)i >= avail)
            return -1;
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
            return 0;
    }
    return n;
}

size_t scim_utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t len = strlen(s);
    size_t i = 0;

    while (i < len) {
        int n = utf8_sequence(p + i, len - i);
        if (n < 0) {
            p[i] = '\0';
            return i;
        }
        if (n == 0) {
            p[i++] = '?';
            continue;
        }
        i += (size_t)n;
    }
    return len;
}

int scim_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        uint64_t word;
        int n;

        /* ASCII, the common case, is checked 8 bytes at a time. */
        if (len - i >= 8) {
            memcpy(&word, p + i, sizeof word);
            if ((word & 0x8080808080808080u) == 0) {
                i += 8;
                continue;
            }
        }
        n = utf8_sequence(p + i, len - i);
        if (n <= 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}

int scim_utf8_prefix(const char *s, int max)
{
    int n = 0;

    while (n < max && s[n])
        n++;
    if (s[n] == '\0' || n == 0)
        return n;
    /* Back up over continuation bytes to the lead byte of the sequence that
     * the cut falls into, and drop it when it does not end at the cut. */
    int lead = n;
    while (lead > 0 && ((unsigned char)s[lead] & 0xc0) == 0x80)
        lead--;
    return lead;
}

int scim_bool_parse(const char *s, int *out)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "true") == 0)
        *out = 1;
    else if (strcasecmp(s, "false") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

static int ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static const char *type_word(json_type t)
{
    static const char *const words[] = {"null", "a boolean", "a number",
                                        "a string", "an array", "an object"};
    return words[t];
}

/* Moves member `i` of object `obj`, or element `i` of array `arr`, out of
 * it without a copy and returns it for the caller to own, leaving a null
 * node in its place. Returns NULL when out of memory. */
static json *steal_member(json *obj, size_t i)
{
    json *placeholder = json_null();

    return placeholder ? json_object_replace_at(obj, i, placeholder) : NULL;
}

static json *steal_element(json *arr, size_t i)
{
    json *placeholder = json_null();

    return placeholder ? json_array_replace(arr, i, placeholder) : NULL;
}

static int already_coerced(const scim_attr *attr, const json *v);

/* 1 when `v` is an object whose members all name a sub-attribute of `attr`
 * in the schema's spelling and hold a coerced value that is not null.
 * coerce_complex would build an equal object with the members in the same
 * order, so the object is kept as it is. */
static int complex_is_canonical(const scim_attr *attr, const json *v)
{
    if (json_typeof(v) != JSON_OBJECT)
        return 0;
    for (size_t i = 0; i < json_object_size(v); i++) {
        const char *key = json_object_key_at(v, i);
        const scim_attr *sub = scim_schema_find_sub_attr(attr, key);
        const json *sv = json_object_value_at(v, i);

        if (!sub || strcmp(sub->name, key) != 0 || json_typeof(sv) == JSON_NULL ||
            !already_coerced(sub, sv))
            return 0;
    }
    return 1;
}

/* 1 when coerce_single would keep `v` as it is: it has the JSON type that
 * `attr` stores, and a complex value is canonical. */
static int already_coerced(const scim_attr *attr, const json *v)
{
    switch (attr->type) {
    case SCIM_TYPE_BOOLEAN:
        return json_typeof(v) == JSON_BOOL;
    case SCIM_TYPE_COMPLEX:
        return complex_is_canonical(attr, v);
    case SCIM_TYPE_INTEGER:
    case SCIM_TYPE_DECIMAL:
        return json_typeof(v) == JSON_NUMBER;
    default:
        return json_typeof(v) == JSON_STRING;
    }
}

static int wrong_type(const char *name, const char *expected, const json *v, scim_error *err)
{
    return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE, "attribute '%s' must be %s, not %s",
                          name, expected, type_word(json_typeof(v)));
}

static int coerce_boolean(const char *name, json **value, scim_error *err)
{
    json *v = *value;
    int b;

    if (json_typeof(v) == JSON_BOOL)
        return 0;
    if (json_typeof(v) != JSON_STRING)
        return wrong_type(name, "true or false", v, err);
    if (scim_bool_parse(json_string_value(v), &b) < 0)
        return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
                              "attribute '%s' must be true or false, not \"%.64s\"", name,
                              json_string_value(v));
    *value = json_bool(b);
    if (!*value) {
        *value = v;
        return scim_error_set(err, 500, NULL, "out of memory");
    }
    json_free(v);
    return 0;
}

/* Strings, references, dateTimes and binary values are JSON strings. A
 * number is rejected too: Okta and Entra ID send strings for every such
 * attribute, and turning 12345 into "12345" would hide a client's mistake. */
static int coerce_string(const char *name, json **value, scim_error *err)
{
    if (json_typeof(*value) == JSON_STRING)
        return 0;
    return wrong_type(name, "a string", *value, err);
}

static int coerce_single(const scim_attr *attr, const char *name, json **value, scim_error *err);

/* A complex value: a bare string becomes {"value": s} when the attribute
 * has a `value` sub-attribute; object members are matched to the
 * sub-attributes (renamed to the schema's spelling, unknown and null ones
 * dropped) and coerced. */
static int coerce_complex(const scim_attr *attr, const char *name, json **value, scim_error *err)
{
    json *v = *value, *out;
    char sub_name[160];

    if (json_typeof(v) == JSON_STRING && scim_schema_find_sub_attr(attr, "value")) {
        out = json_object();
        if (!out || json_object_set(out, "value", v) < 0) {
            json_free(out);
            *value = NULL;
            return scim_error_set(err, 500, NULL, "out of memory");
        }
        *value = out;
        return 0;
    }
    if (json_typeof(v) != JSON_OBJECT)
        return wrong_type(name, "an object", v, err);
    if (complex_is_canonical(attr, v))
        return 0;
    out = json_object();
    if (!out)
        return scim_error_set(err, 500, NULL, "out of memory");
    for (size_t i = 0; i < json_object_size(v); i++) {
        const scim_attr *sub = scim_schema_find_sub_attr(attr, json_object_key_at(v, i));
        json *sv = json_object_value_at(v, i);
        if (!sub || json_typeof(sv) == JSON_NULL)
            continue;
        sv = steal_member(v, i);
        if (!sv) {
            json_free(out);
            return scim_error_set(err, 500, NULL, "out of memory");
        }
        /* The name is only needed for an error message. */
        if (!already_coerced(sub, sv))
            snprintf(sub_name, sizeof(sub_name), "%s.%s", name, sub->name);
        if (!already_coerced(sub, sv) && coerce_single(sub, sub_name, &sv, err) < 0) {
            json_free(sv);
            json_free(out);
            return -1;
        }
        if (json_object_set(out, sub->name, sv) < 0) {
            json_free(out);
            return scim_error_set(err, 500, NULL, "out of memory");
        }
    }
    json_free(v);
    *value = out;
    return 0;
}

static int coerce_single(const scim_attr *attr, const char *name, json **value, scim_error *err)
{
    switch (attr->type) {
    case SCIM_TYPE_BOOLEAN:
        return coerce_boolean(name, value, err);
    case SCIM_TYPE_COMPLEX:
        return coerce_complex(attr, name, value, err);
    case SCIM_TYPE_INTEGER:
    case SCIM_TYPE_DECIMAL:
        if (json_typeof(*value) != JSON_NUMBER)
            return wrong_type(name, "a number", *value, err);
        return 0;
    default:
        return coerce_string(name, value, err);
    }
}

/* 1 when `arr` is an array of coerced values none of which is null, which
 * scim_value_coerce keeps as it is. */
static int elements_coerced(const scim_attr *attr, const json *arr)
{
    if (json_typeof(arr) != JSON_ARRAY)
        return 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json *elem = json_array_get(arr, i);
        if (json_typeof(elem) == JSON_NULL || !already_coerced(attr, elem))
            return 0;
    }
    return 1;
}

int scim_value_coerce(const scim_attr *attr, const char *name, json **value, scim_error *err)
{
    json *arr;

    if (json_typeof(*value) == JSON_NULL)
        return 0;
    if (!attr->multi_valued) {
        if (json_typeof(*value) == JSON_ARRAY)
            return wrong_type(name, "a single value", *value, err);
        return coerce_single(attr, name, value, err);
    }
    if (elements_coerced(attr, *value))
        return 0;
    if (json_typeof(*value) != JSON_ARRAY) {
        arr = json_array();
        if (!arr || json_array_append(arr, *value) < 0) {
            json_free(arr);
            *value = NULL;
            return scim_error_set(err, 500, NULL, "out of memory");
        }
        *value = arr;
    }
    arr = json_array();
    if (!arr)
        return scim_error_set(err, 500, NULL, "out of memory");
    for (size_t i = 0; i < json_array_size(*value); i++) {
        json *elem = json_array_get(*value, i);
        if (json_typeof(elem) == JSON_NULL)
            continue;
        elem = steal_element(*value, i);
        if (!elem) {
            json_free(arr);
            return scim_error_set(err, 500, NULL, "out of memory");
        }
        if (coerce_single(attr, name, &elem, err) < 0) {
            json_free(elem);
            json_free(arr);
            return -1;
        }
        if (json_array_append(arr, elem) < 0) {
            json_free(arr);
            return scim_error_set(err, 500, NULL, "out of memory");
        }
    }
    json_free(*value);
    *value = arr;
    return 0;
}

/* Normalisation of create and replace bodies. */

/* Stores `value` (taken) for attribute `a` (sub-attribute `sub` when not
 * NULL) of schema `schema` in `out`, inside the extension object for
 * extension attributes. */
static int place(json *out, const scim_schema_resource *res, const scim_schema *schema,
                 const scim_attr *a, const scim_attr *sub, json *value, scim_error *err)
{
    json *container = out, *parent;
    const json *earlier;

    /* Every key in `out` is a name or URN in the schema's spelling, so an
     * exact lookup finds what one that ignores case would. */
    if (schema && schema != res->core) {
        container = json_object_get(out, schema->id);
        if (json_typeof(container) != JSON_OBJECT) {
            container = json_object();
            if (!container || json_object_set(out, schema->id, container) < 0)
                goto oom;
        }
    }
    if (!sub) {
        earlier = json_object_get(container, a->name);
        if (earlier && !json_equal(earlier, value))
            goto twice;
        if (json_object_set(container, a->name, value) < 0) {
            value = NULL;
            goto oom;
        }
        return 0;
    }
    parent = json_object_get(container, a->name);
    if (json_typeof(parent) != JSON_OBJECT) {
        parent = json_object();
        if (!parent || json_object_set(container, a->name, parent) < 0)
            goto oom;
    }
    earlier = json_object_get(parent, sub->name);
    if (earlier && !json_equal(earlier, value))
        goto twice;
    if (json_object_set(parent, sub->name, value) < 0) {
        value = NULL;
        goto oom;
    }
    return 0;
twice:
    /* Attribute names are case-insensitive (RFC 7643 section 2.1), so
     * "userName" and "USERNAME", or "name" and "name.givenName", set the same
     * attribute. With different values the body is ambiguous. */
    json_free(value);
    return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
                          "The attribute %s is given more than once with different values.",
                          sub ? sub->name : a->name);
oom:
    json_free(value);
    return scim_error_set(err, 500, NULL, "out of memory");
}

static int client_settable(const scim_attr *a)
{
    return a->mutability != SCIM_MUT_READ_ONLY && a->mutability != SCIM_MUT_WRITE_ONLY;
}

/* Removes readOnly sub-attributes (for example manager.displayName) from a
 * coerced complex value or from each element of a multi-valued one. */
static void drop_read_only_subs(const scim_attr *a, json *value)
{
    if (a->type != SCIM_TYPE_COMPLEX)
        return;
    if (json_typeof(value) == JSON_ARRAY) {
        for (size_t i = 0; i < json_array_size(value); i++)
            drop_read_only_subs(a, json_array_get(value, i));
        return;
    }
    for (size_t i = 0; i < a->n_sub_attrs; i++) {
        if (!client_settable(&a->sub_attrs[i]))
            json_object_removei(value, a->sub_attrs[i].name);
    }
}

/* Coerces and places member `i` of `in`, the client's body or its
 * extension object `ext`. The value moves out of `in` without a copy, so
 * that the next member takes index `i`. Returns 1 when it moved. Returns 0
 * when the member is skipped because its key names no attribute or a
 * readOnly or writeOnly one, or its value is null. Returns -1 with `err`
 * set on failure. */
static int normalize_member(const scim_schema_resource *res, json *out, json *in, size_t i,
                            const scim_schema *ext, scim_error *err)
{
    const scim_schema *schema = ext;
    const scim_attr *a = NULL, *sub = NULL;
    const char *key = json_object_key_at(in, i);
    size_t klen = strlen(key), ulen = ext ? strlen(ext->id) + 1 : 0;
    /* The full name ("urn:...:User:manager" for an extension member), which
     * also outlives the key when the member leaves `in`. */
    char name[512];
    json *v;

    if (ulen + klen >= sizeof(name))
        return 0; /* longer than any attribute name scim_schema_lookup accepts */
    if (ext) {
        memcpy(name, ext->id, ulen - 1);
        name[ulen - 1] = ':';
    }
    memcpy(name + ulen, key, klen + 1);
    /* A plain key is looked up as scim_schema_lookup would, without
     * splitting a copy of the name. */
    if (!strpbrk(key, ":."))
        a = scim_schema_find_attr(res, ext ? ext->id : NULL, key, &schema);
    else if (scim_schema_lookup(res, name, &a, &sub, &schema) < 0)
        a = NULL;
    if (!a)
        return 0;
    if (!client_settable(a) || (sub && !client_settable(sub)) ||
        json_typeof(json_object_value_at(in, i)) == JSON_NULL)
        return 0;
    /* Keys are unique, so this takes member `i`. */
    v = json_object_take(in, name + ulen);
    if (scim_value_coerce(sub ? sub : a, name, &v, err) < 0) {
        json_free(v);
        return -1;
    }
    drop_read_only_subs(sub ? sub : a, v);
    return place(out, res, schema, a, sub, v, err) < 0 ? -1 : 1;
}

/* Normalises the members of extension object `in`, whose schema is `ext`. */
static int normalize_extension(const scim_schema_resource *res, json *in, const scim_schema *ext,
                               json *out, scim_error *err)
{
    size_t i = 0;

    while (i < json_object_size(in)) {
        int rc = normalize_member(res, out, in, i, ext, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            i++;
    }
    return 0;
}

/* 1 when `a` and `b` are equal without regard to ASCII case. Comparing
 * the first letters first skips most calls to strcasecmp. */
static int equal_ignoring_case(const char *a, const char *b)
{
    return ascii_lower(a[0]) == ascii_lower(b[0]) && strcasecmp(a, b) == 0;
}

static const scim_schema *extension_by_urn(const scim_schema_resource *res, const char *urn)
{
    for (size_t i = 0; i < res->n_extensions; i++) {
        if (equal_ignoring_case(res->extensions[i].schema->id, urn))
            return res->extensions[i].schema;
    }
    return NULL;
}

static int normalize_members(const scim_schema_resource *res, json *in, json *out,
                             scim_error *err)
{
    size_t i = 0;

    while (i < json_object_size(in)) {
        const char *key = json_object_key_at(in, i);
        json *value = json_object_value_at(in, i);
        const scim_schema *ext = extension_by_urn(res, key);
        int rc = 0;

        if (ext) {
            if (json_typeof(value) != JSON_OBJECT)
                return wrong_type(ext->id, "an object", value, err);
            rc = normalize_extension(res, value, ext, out, err);
        } else if (!equal_ignoring_case(key, "schemas")) {
            rc = normalize_member(res, out, in, i, NULL, err);
        }
        if (rc < 0)
            return -1;
        /* A member that moved out of `in` leaves the next one at `i`. */
        if (rc == 0)
            i++;
    }
    return 0;
}

static int is_empty(const json *v)
{
    return !v || json_typeof(v) == JSON_NULL ||
           (json_typeof(v) == JSON_STRING && json_string_length(v) == 0);
}

/* Builds `schemas`: the core URN, then each extension with a non-empty
 * object; empty extension objects are removed. */
static json *build_schemas(const scim_schema_resource *res, json *out)
{
    json *schemas = json_array();

    if (!schemas || json_array_append(schemas, json_string(res->core->id)) < 0)
        goto fail;
    for (size_t i = 0; i < res->n_extensions; i++) {
        const char *urn = res->extensions[i].schema->id;
        json *ext = json_object_get(out, urn);
        if (!ext)
            continue;
        if (json_object_size(ext) == 0) {
            json_object_remove(out, urn);
            continue;
        }
        if (json_array_append(schemas, json_string(urn)) < 0)
            goto fail;
    }
    return schemas;
fail:
    json_free(schemas);
    return NULL;
}

static int check_required(const scim_schema_resource *res, const json *out, scim_error *err)
{
    for (size_t i = 0; i < res->core->n_attrs; i++) {
        const scim_attr *a = &res->core->attrs[i];
        if (a->required && is_empty(json_object_get(out, a->name)))
            return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
                                  "required attribute '%s' is missing", a->name);
    }
    return 0;
}


/* Sets "active" to true in a created or replaced resource whose core schema
 * has that attribute (Users) and that leaves it out. Licences and sign-in
 * count a user without "active" as active, so storing it keeps filters such
 * as `active eq true` in step with them. Returns 0, or -1 when out of
 * memory. */
static int default_active(const scim_schema_resource *res, json *out)
{
    const scim_attr *a = NULL;
    const scim_schema *schema = NULL;

    /* The keys in `out` are in the schema's spelling. */
    a = scim_schema_find_attr(res, NULL, "active", &schema);
    if (!a || schema != res->core || a->type != SCIM_TYPE_BOOLEAN || json_object_get(out, "active"))
        return 0;
    return json_object_set(out, "active", json_bool(1)) < 0 ? -1 : 0;
}

/* Bodies with more members go to normalize_members, so that the list of
 * kept attributes fits on the stack. A User has 31 attributes, counting
 * the common ones and the Enterprise User extension's. */
#define IN_PLACE_MAX_MEMBERS 64

/* The action normalize_in_place takes on one member of a body or of one
 * of its extension objects. */
enum in_place {
    /* Remove it: normalize_members would skip it, because its key names no
     * attribute or a readOnly or writeOnly one, or its value is null. */
    IN_PLACE_DROP,
    /* Keep it as it is: it stays under its key with a coerced value. */
    IN_PLACE_KEEP,
    /* Coerce its value where it is: it stays under its key. */
    IN_PLACE_COERCE,
    /* Handle its members: it is an extension object under its exact URN. */
    IN_PLACE_EXTENSION,
    /* Leave the body to normalize_members, which would move or rename the
     * member: a key in another spelling, a URN-prefixed or dotted key, an
     * extension attribute outside its object, "schemas" after the first
     * member, or an extension URN whose value is not an object. */
    IN_PLACE_REBUILD,
};

/* The extension of `res` whose URN is exactly `key`, or NULL. */
static const scim_schema *exact_extension(const scim_schema_resource *res, const char *key)
{
    for (size_t i = 0; i < res->n_extensions; i++) {
        if (strcmp(res->extensions[i].schema->id, key) == 0)
            return res->extensions[i].schema;
    }
    return NULL;
}

/* 1 when scim_value_coerce would keep `v` as it is for `a`. */
static int value_coerced(const scim_attr *a, const json *v)
{
    if (a->multi_valued)
        return elements_coerced(a, v);
    return json_typeof(v) != JSON_ARRAY && already_coerced(a, v);
}

/* Plans member `i` of `obj`, which is the body when `ext` is NULL and else
 * its extension object for `ext`. Sets `*attr` for IN_PLACE_KEEP and
 * IN_PLACE_COERCE. */
static enum in_place plan_member(const scim_schema_resource *res, const json *obj, size_t i,
                                 const scim_schema *ext, const scim_attr **attr)
{
    const char *key = json_object_key_at(obj, i);
    const json *value = json_object_value_at(obj, i);
    const scim_schema *schema = NULL;
    const scim_attr *a;

    if (!ext && equal_ignoring_case(key, "schemas"))
        return IN_PLACE_REBUILD;
    if (strpbrk(key, ":.")) {
        if (!ext && exact_extension(res, key) && json_typeof(value) == JSON_OBJECT)
            return IN_PLACE_EXTENSION;
        return IN_PLACE_REBUILD;
    }
    a = scim_schema_find_attr(res, ext ? ext->id : NULL, key, &schema);
    if (!a || !client_settable(a) || json_typeof(value) == JSON_NULL)
        return IN_PLACE_DROP;
    if (schema != (ext ? ext : res->core) || strcmp(a->name, key) != 0)
        return IN_PLACE_REBUILD;
    *attr = a;
    return value_coerced(a, value) ? IN_PLACE_KEEP : IN_PLACE_COERCE;
}

/* 1 when no member of extension object `obj` needs IN_PLACE_REBUILD. */
static int extension_fits_in_place(const scim_schema_resource *res, const json *obj,
                                   const scim_schema *ext)
{
    for (size_t i = 0; i < json_object_size(obj); i++) {
        const scim_attr *a;
        if (plan_member(res, obj, i, ext, &a) == IN_PLACE_REBUILD)
            return 0;
    }
    return 1;
}

/* Coerces the value of member `i` of `obj` for `a` where it is, as
 * normalize_member does, and drops its readOnly sub-attributes. `ext` is
 * the extension of `obj`, or NULL for the body, and gives the attribute's
 * name for messages. Returns 0, or -1 with `err` set. */
static int coerce_in_place(json *obj, size_t i, const scim_attr *a, const scim_schema *ext,
                           scim_error *err)
{
    char fullname[512];
    const char *name = a->name;
    size_t ulen = ext ? strlen(ext->id) : 0, alen = strlen(a->name);
    json *v;

    if (ext && ulen + 1 + alen < sizeof(fullname)) {
        memcpy(fullname, ext->id, ulen);
        fullname[ulen] = ':';
        memcpy(fullname + ulen + 1, a->name, alen + 1);
        name = fullname;
    }
    /* Coercion may replace the node, so it works on the value out of the
     * object. */
    v = steal_member(obj, i);
    if (!v)
        return scim_error_set(err, 500, NULL, "out of memory");
    if (scim_value_coerce(a, name, &v, err) < 0) {
        json_free(v);
        return -1;
    }
    json_free(json_object_replace_at(obj, i, v));
    drop_read_only_subs(a, v);
    return 0;
}

/* Normalises the members of extension object `obj` in place. */
static int extension_in_place(const scim_schema_resource *res, json *obj, const scim_schema *ext,
                              scim_error *err)
{
    size_t i = 0;

    while (i < json_object_size(obj)) {
        const scim_attr *a = NULL;
        enum in_place plan = plan_member(res, obj, i, ext, &a);

        if (plan == IN_PLACE_DROP) {
            json_object_remove(obj, json_object_key_at(obj, i));
            continue;
        }
        if (plan == IN_PLACE_KEEP)
            drop_read_only_subs(a, json_object_value_at(obj, i));
        else if (coerce_in_place(obj, i, a, ext, err) < 0)
            return -1;
        i++;
    }
    return 0;
}

/* Bodies with more members go to normalize_members, so that the plan fits
 * on the stack. A User has 31 attributes, counting the common ones and the
 * Enterprise User extension's. */
#define IN_PLACE_MAX_MEMBERS 64

/* 1 when `schemas` is what build_schemas writes for a resource without
 * extension objects: an array of the core schema's URN alone. */
static int schemas_core_only(const scim_schema_resource *res, const json *schemas)
{
    const json *urn = json_array_get(schemas, 0);

    return json_array_size(schemas) == 1 && json_string_length(urn) == strlen(res->core->id) &&
           memcmp(json_string_value(urn), res->core->id, json_string_length(urn)) == 0;
}

/* Normalises a body without building a new object when every member
 * stays under its key, as they do when a client spells each attribute as
 * the schema does. Values are coerced where they are, members that
 * normalize_members would skip are removed, and extension objects keep
 * their place. The body must start with "schemas", as the result does.
 * Returns 1 when done, 0 when the body needs normalize_members (it is then
 * unchanged), or -1 with `err` set. */
static int normalize_in_place(const scim_schema_resource *res, json *body, scim_error *err)
{
    unsigned char plan[IN_PLACE_MAX_MEMBERS];
    const scim_attr *attrs[IN_PLACE_MAX_MEMBERS];
    size_t n = json_object_size(body), removed = 0;
    int extensions = 0;
    json *schemas;

    if (n == 0 || n > IN_PLACE_MAX_MEMBERS || strcmp(json_object_key_at(body, 0), "schemas") != 0)
        return 0;
    for (size_t i = 1; i < n; i++) {
        plan[i] = plan_member(res, body, i, NULL, &attrs[i]);
        if (plan[i] == IN_PLACE_REBUILD)
            return 0;
        if (plan[i] == IN_PLACE_EXTENSION) {
            const char *urn = json_object_key_at(body, i);
            if (!extension_fits_in_place(res, json_object_value_at(body, i),
                                         exact_extension(res, urn)))
                return 0;
            extensions = 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        size_t at = i - removed;
        const char *key = json_object_key_at(body, at);
        int rc = 0;

        if (plan[i] == IN_PLACE_DROP) {
            json_object_remove(body, key);
            removed++;
            continue;
        }
        if (plan[i] == IN_PLACE_KEEP)
            drop_read_only_subs(attrs[i], json_object_value_at(body, at));
        else if (plan[i] == IN_PLACE_EXTENSION)
            rc = extension_in_place(res, json_object_value_at(body, at),
                                    exact_extension(res, key), err);
        else
            rc = coerce_in_place(body, at, attrs[i], NULL, err);
        if (rc < 0)
            return -1;
    }
    if (check_required(res, body, err) < 0)
        return -1;
    if (default_active(res, body) < 0)
        return scim_error_set(err, 500, NULL, "out of memory");
    /* Without extension objects, a "schemas" of the core URN alone is
     * already right. */
    if (!extensions && schemas_core_only(res, json_object_value_at(body, 0)))
        return 1;
    /* build_schemas also removes extension objects that were left empty,
     * which normalize_members would not have created. */
    schemas = build_schemas(res, body);
    if (!schemas || json_object_set(body, "schemas", schemas) < 0)
        return scim_error_set(err, 500, NULL, "out of memory");
    return 1;
}

/* Rejects a normalised resource in which one multi-valued core attribute
 * has more than one value with "primary": true. RFC 7643 section 2.4 allows
 * it at most once, and which value the client meant is unknown. Only the
 * resource's arrays are looked at, since this runs on every create. */
static int check_primary(const json *resource, scim_error *err)
{
    for (size_t i = 0; i < json_object_size(resource); i++) {
        const json *values = json_object_value_at(resource, i);
        size_t primaries = 0;

        if (json_typeof(values) != JSON_ARRAY)
            continue;
        for (size_t k = 0; k < json_array_size(values); k++) {
            const json *primary = json_object_get(json_array_get(values, k), "primary");
            if (json_typeof(primary) == JSON_BOOL && json_bool_value(primary))
                primaries++;
        }
        if (primaries > 1)
            return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
                                  "%s has %zu values with \"primary\": true; at most one may "
                                  "be primary",
                                  json_object_key_at(resource, i), primaries);
    }
    return 0;
}

static int normalize_resource(const scim_schema_resource *res, json *resource,
                              scim_error *err);

int scim_resource_normalize(const scim_schema_resource *res, json *resource,
                            scim_normalize_mode mode, scim_error *err)
{
    (void)mode;
    if (normalize_resource(res, resource, err) != 0)
        return -1;
    return check_primary(resource, err) == 0 ? 0 : -1;
}

static int normalize_resource(const scim_schema_resource *res, json *resource,
                              scim_error *err)
{
    json *out = NULL, *schemas;
    int rc = -1;

    if (json_typeof(resource) != JSON_OBJECT)
        return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
                              "the request body must be a JSON object");
    rc = normalize_in_place(res, resource, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    rc = -1;
    out = json_object();
    if (!out || json_object_set(out, "schemas", json_array()) < 0) {
        scim_error_set(err, 500, NULL, "out of memory");
        goto out;
    }
    if (normalize_members(res, resource, out, err) < 0 || check_required(res, out, err) < 0)
        goto out;
    if (default_active(res, out) < 0) {
        scim_error_set(err, 500, NULL, "out of memory");
        goto out;
    }
    schemas = build_schemas(res, out);
    if (!schemas || json_object_set(out, "schemas", schemas) < 0) {
        scim_error_set(err, 500, NULL, "out of memory");
        goto out;
    }
    /* `resource` takes the normalised members, and the remains of the
     * client's are freed. */
    if (json_move(resource, out) != 0) {
        scim_error_set(err, 500, NULL, "out of memory");
        goto out;
    }
    out = NULL;
    rc = 0;
out:
    json_free(out);
    return rc;
}

/* Projection. */

/* One listed name: attribute `attr` (NULL for a whole extension) of
 * `schema`, optionally one sub-attribute. */
struct projection_entry {
    const scim_schema *schema;
    const scim_attr *attr;
    const scim_attr *sub;
    scim_filter *filter; /* from `emails[type eq "work"]`, or NULL; owned */
};

enum projection_mode { PROJECT_DEFAULT, PROJECT_ONLY, PROJECT_EXCLUDE };

struct scim_projection {
    const scim_schema_resource *res;
    enum projection_mode mode;
    struct projection_entry *entries;
    size_t n_entries;
};

void scim_projection_free(scim_projection *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_entries; i++)
        scim_filter_free(p->entries[i].filter);
    free(p->entries);
    free(p);
}

/* Adds the entry for one trimmed name; unknown names are ignored. */
static int add_entry(scim_projection *p, char *name, scim_error *err)
{
    struct projection_entry e = {0}, *grown;
    char *bracket = strchr(name, '['), msg[200];

    /* A value filter (`emails[type eq "work"]`) keeps only the matching
     * elements of the attribute. */
    if (bracket) {
        char *close = strrchr(bracket, ']');
        if (!close)
            return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
                                  "invalid attribute name '%.100s': missing ']'", name);
        if (scim_filter_parsen(bracket + 1, (size_t)(close - bracket - 1), &e.filter, msg,
                               sizeof(msg)) < 0)
            return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
                                  "invalid attribute name '%.60s': %s", name, msg);
        memmove(bracket, close + 1, strlen(close + 1) + 1);
    }
    e.schema = scim_schema_by_urn(name);
    if (e.schema) {
        if (!scim_schema_resource_has_urn(p->res, name))
            goto ignore;
    } else if (scim_schema_lookup(p->res, name, &e.attr, &e.sub, &e.schema) < 0) {
        goto ignore;
    }
    if (e.filter && (!e.attr || !e.attr->multi_valued || e.attr->type != SCIM_TYPE_COMPLEX))
        goto ignore;
    grown = realloc(p->entries, (p->n_entries + 1) * sizeof(*grown));
    if (!grown) {
        scim_filter_free(e.filter);
        return scim_error_set(err, 500, NULL, "out of memory");
    }
    p->entries = grown;
    p->entries[p->n_entries++] = e;
    return 0;
ignore:
    scim_filter_free(e.filter);
    return 0;
}

static int parse_list(scim_projection *p, const char *list, scim_error *err)
{
    char *copy = strdup(list), *save = NULL, *tok;
    int rc = 0;

    if (!copy)
        return scim_error_set(err, 500, NULL, "out of memory");
    for (tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        while (*tok == ' ' || *tok == '\t')
            tok++;
        end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*tok)
            rc = add_entry(p, tok, err);
    }
    free(copy);
    return rc;
}

int scim_projection_parse(const scim_schema_resource *res, const char *attributes,
                          const char *excluded, scim_projection **out, scim_error *err)
{
    scim_projection *p = calloc(1, sizeof(*p));
    const char *list = NULL;

    *out = NULL;
    if (!p)
        return scim_error_set(err, 500, NULL, "out of memory");
    p->res = res;
    if (attributes && *attributes) {
        p->mode = PROJECT_ONLY;
        list = attributes;
    } else if (excluded && *excluded) {
        p->mode = PROJECT_EXCLUDE;
        list = excluded;
    }
    if (list && parse_list(p, list, err) < 0) {
        scim_projection_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* Coverage of attribute `a` of `schema` by the listed names: 2 when the
 * whole attribute is listed, 1 when only some sub-attributes are, 0 when
 * it is not listed. */
static int listed(const scim_projection *p, const scim_schema *schema, const scim_attr *a)
{
    int found = 0;

    for (size_t i = 0; p && i < p->n_entries; i++) {
        const struct projection_entry *e = &p->entries[i];
        if (e->schema != schema && !(e->schema == p->res->core && schema == NULL))
            continue;
        if (!e->attr || (e->attr == a && !e->sub))
            return 2;
        if (e->attr == a)
            found = 1;
    }
    return found;
}

static int sub_listed(const scim_projection *p, const scim_attr *a, const scim_attr *sub)
{
    for (size_t i = 0; i < p->n_entries; i++) {
        if (p->entries[i].attr == a && p->entries[i].sub == sub)
            return 1;
    }
    return 0;
}

/* Keeps (only = 1) or removes (only = 0) the listed sub-attributes of each
 * object in `value`; returned "always" sub-attributes stay. */
static void filter_subs(const scim_projection *p, const scim_attr *a, json *value, int only)
{
    if (json_typeof(value) == JSON_ARRAY) {
        for (size_t i = 0; i < json_array_size(value); i++)
            filter_subs(p, a, json_array_get(value, i), only);
        return;
    }
    for (size_t i = 0; i < json_object_size(value);) {
        const scim_attr *sub = scim_schema_find_sub_attr(a, json_object_key_at(value, i));
        int keep = sub && (sub->returned == SCIM_RET_ALWAYS || sub_listed(p, a, sub) == only);
        if (sub && sub->returned == SCIM_RET_NEVER)
            keep = 0;
        if (keep) {
            i++;
            continue;
        }
        json_free(json_object_take(value, json_object_key_at(value, i)));
    }
}

/* With `attributes=emails[type eq "work"]`, removes the elements of
 * `value` that no listed filter selects. Nothing is removed when the
 * attribute is also listed without a filter. */
static void keep_selected_elements(const scim_projection *p, const scim_attr *a, json *value)
{
    for (size_t i = 0; i < p->n_entries; i++) {
        if (p->entries[i].attr == a && !p->entries[i].filter)
            return;
    }
    for (size_t k = json_array_size(value); k-- > 0;) {
        int selected = 0;
        for (size_t i = 0; i < p->n_entries && !selected; i++) {
            const struct projection_entry *e = &p->entries[i];
            selected = e->attr == a && e->filter &&
                       filter_match_element(e->filter, json_array_get(value, k), a) == 1;
        }
        if (!selected)
            json_array_remove(value, k);
    }
}

/* Decides for one attribute: returns 1 to keep `value` (possibly trimmed
 * in place), 0 to drop it. `a` NULL means an unknown member. */
static int project_attr(const scim_projection *p, const scim_schema *schema, const scim_attr *a,
                        json *value)
{
    int how;

    if (!a)
        return !p || p->mode != PROJECT_ONLY;
    if (a->returned == SCIM_RET_NEVER)
        return 0;
    if (a->returned == SCIM_RET_ALWAYS)
        return 1;
    how = listed(p, schema, a);
    if (!p || p->mode == PROJECT_DEFAULT)
        return a->returned != SCIM_RET_REQUEST;
    if (p->mode == PROJECT_ONLY) {
        /* Elements are selected before sub-attributes are trimmed, because
         * the filter may test a sub-attribute that is not returned. */
        if (how != 0)
            keep_selected_elements(p, a, value);
        if (how == 1)
            filter_subs(p, a, value, 1);
        return how != 0 && !(json_typeof(value) == JSON_ARRAY && json_array_size(value) == 0);
    }
    if (how == 2 || a->returned == SCIM_RET_REQUEST)
        return 0;
    if (how == 1)
        filter_subs(p, a, value, 0);
    return 1;
}

/* Applies the projection to the members of `obj` that belong to `schema`. */
static void project_members(const scim_projection *p, const scim_schema *schema, json *obj)
{
    const scim_schema_resource *res = p ? p->res : NULL;

    for (size_t i = 0; i < json_object_size(obj);) {
        const char *key = json_object_key_at(obj, i);
        json *value = json_object_value_at(obj, i);
        const scim_attr *a = NULL;
        const scim_schema *ext = NULL;
        int keep;

        if (res && schema == res->core && (ext = scim_schema_by_urn(key)) &&
            scim_schema_resource_has_urn(res, key) && json_typeof(value) == JSON_OBJECT) {
            int whole = listed(p, ext, NULL) == 2 && p->mode == PROJECT_ONLY;
            if (!whole)
                project_members(p, ext, value);
            keep = json_object_size(value) > 0;
        } else {
            if (res)
                a = scim_schema_find_attr(res, schema->id, key, NULL);
            keep = project_attr(p, schema, a, value);
        }
        if (keep)
            i++;
        else
            json_free(json_object_take(obj, key));
    }
}

int scim_projection_apply(const scim_projection *p, json *resource)
{
    if (!p) {
        /* Only returned "never" attributes go; with no resource type known,
         * that is the password of a User. */
        json_object_removei(resource, "password");
        return 0;
    }
    project_members(p, p->res->core, resource);
    return 0;
}

int scim_projection_includes(const scim_projection *p, const char *name)
{
    const scim_schema *schema = NULL;
    const scim_attr *a;

    if (!p)
        return 1;
    a = scim_schema_find_attr(p->res, NULL, name, &schema);
    if (!a)
        return p->mode != PROJECT_ONLY;
    if (a->returned == SCIM_RET_NEVER)
        return 0;
    if (a->returned == SCIM_RET_ALWAYS)
        return 1;
    switch (p->mode) {
    case PROJECT_ONLY:
        return listed(p, schema, a) != 0;
    case PROJECT_EXCLUDE:
        return listed(p, schema, a) != 2 && a->returned != SCIM_RET_REQUEST;
    default:
        return a->returned != SCIM_RET_REQUEST;
    }
}
