#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <yajl/yajl_parse.h>

#include "json.h"

/* Numbers keep their source text so that output reproduces input exactly
 * (no float rounding of large integers or long fractions). */
struct json {
    json_type type;
    /* For strings and numbers: the text is stored right after the node, in
     * the same allocation, and is not freed on its own. */
    unsigned char text_inline;
    /* For arrays and objects built by the parser: the item pointers, or the
     * keys, values and key texts, are stored right after the node, in the
     * same allocation, and are not freed on their own. Adding an item first
     * moves them to separate allocations (make_children_separate). */
    unsigned char children_inline;
    union {
        int boolean;
        struct {
            char *text;
            size_t len;
        } str; /* JSON_STRING and JSON_NUMBER */
        struct {
            json **items;
            size_t len, cap;
        } arr;
        struct {
            char **keys;
            json **values;
            size_t len, cap;
        } obj;
    } u;
};

static json *node_new(json_type type)
{
    json *j = calloc(1, sizeof(*j));
    if (j)
        j->type = type;
    return j;
}

/* Frees what `j` owns: its children, and its text or child arrays when they
 * are separate allocations. The node itself stays. */
static void free_contents(json *j)
{
    switch (j->type) {
    case JSON_STRING:
    case JSON_NUMBER:
        if (!j->text_inline)
            free(j->u.str.text);
        break;
    case JSON_ARRAY:
        for (size_t i = 0; i < j->u.arr.len; i++)
            json_free(j->u.arr.items[i]);
        if (!j->children_inline)
            free(j->u.arr.items);
        break;
    case JSON_OBJECT:
        for (size_t i = 0; i < j->u.obj.len; i++) {
            if (!j->children_inline)
                free(j->u.obj.keys[i]);
            json_free(j->u.obj.values[i]);
        }
        if (!j->children_inline) {
            free(j->u.obj.keys);
            free(j->u.obj.values);
        }
        break;
    default:
        break;
    }
}

void json_free(json *j)
{
    if (!j)
        return;
    free_contents(j);
    free(j);
}

json *json_null(void)
{
    return node_new(JSON_NULL);
}

json *json_bool(int value)
{
    json *j = node_new(JSON_BOOL);
    if (j)
        j->u.boolean = value != 0;
    return j;
}

/* Allocates a string or number node with its text in the same block, which
 * halves the allocations of a parsed document. */
static json *text_node(json_type type, const char *s, size_t len)
{
    json *j;

    if (len > SIZE_MAX - sizeof(*j) - 1)
        return NULL;
    j = malloc(sizeof(*j) + len + 1);
    if (!j)
        return NULL;
    memset(j, 0, sizeof(*j));
    j->type = type;
    j->text_inline = 1;
    j->u.str.text = (char *)(j + 1);
    memcpy(j->u.str.text, s, len);
    j->u.str.text[len] = '\0';
    j->u.str.len = len;
    return j;
}

json *json_int(int64_t value)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, value);
    return text_node(JSON_NUMBER, buf, (size_t)n);
}

json *json_double(double value)
{
    char buf[40];
    int n;

    /* JSON has no representation for these. */
    if (!isfinite(value))
        return json_null();
    n = snprintf(buf, sizeof(buf), "%.17g", value);
    return text_node(JSON_NUMBER, buf, (size_t)n);
}

json *json_string(const char *s)
{
    return text_node(JSON_STRING, s, strlen(s));
}

json *json_stringn(const char *s, size_t len)
{
    return text_node(JSON_STRING, s, len);
}

json *json_array(void)
{
    return node_new(JSON_ARRAY);
}

json *json_object(void)
{
    return node_new(JSON_OBJECT);
}

json *json_copy(const json *j)
{
    json *c = NULL;

    if (!j)
        return NULL;
    switch (j->type) {
    case JSON_NULL:
        return json_null();
    case JSON_BOOL:
        return json_bool(j->u.boolean);
    case JSON_NUMBER:
    case JSON_STRING:
        return text_node(j->type, j->u.str.text, j->u.str.len);
    case JSON_ARRAY:
        c = json_array();
        for (size_t i = 0; c && i < j->u.arr.len; i++) {
            if (json_array_append(c, json_copy(j->u.arr.items[i])) < 0)
                goto fail;
        }
        return c;
    case JSON_OBJECT:
        c = json_object();
        for (size_t i = 0; c && i < j->u.obj.len; i++) {
            if (json_object_set(c, j->u.obj.keys[i], json_copy(j->u.obj.values[i])) < 0)
                goto fail;
        }
        return c;
    }
fail:
    json_free(c);
    return NULL;
}

/* 1 when `j` keeps its text inside its own allocation. */
static int has_inline_text(const json *j)
{
    return (j->type == JSON_STRING || j->type == JSON_NUMBER) && j->text_inline;
}

/* Returns a malloc'd copy of the inline text of `j` for the node that takes
 * over its contents, or NULL when `j` has none to copy. Sets `*failed` when
 * out of memory. */
static char *detached_text(const json *j, int *failed)
{
    char *copy;

    if (!has_inline_text(j))
        return NULL;
    copy = malloc(j->u.str.len + 1);
    if (!copy) {
        *failed = 1;
        return NULL;
    }
    memcpy(copy, j->u.str.text, j->u.str.len + 1);
    return copy;
}

/* Copies the children of a container whose children are inline into
 * separate allocations with room for `cap` items: the item pointers of an
 * array, or the key and value pointers of an object with a malloc'd copy of
 * each key. `copy` receives the container's union member with the new
 * pointers. Returns 0, or -1 when out of memory with nothing allocated. */
static int separate_children(const json *j, size_t cap, json *copy)
{
    size_t n, copied = 0;
    char **keys;
    json **values;

    if (j->type == JSON_ARRAY) {
        copy->u.arr.items = malloc(cap * sizeof(json *));
        if (!copy->u.arr.items)
            return -1;
        memcpy(copy->u.arr.items, j->u.arr.items, j->u.arr.len * sizeof(json *));
        copy->u.arr.len = j->u.arr.len;
        copy->u.arr.cap = cap;
        return 0;
    }
    n = j->u.obj.len;
    keys = malloc(cap * sizeof(*keys));
    values = malloc(cap * sizeof(*values));
    if (!keys || !values)
        goto fail;
    for (; copied < n; copied++) {
        keys[copied] = strdup(j->u.obj.keys[copied]);
        if (!keys[copied])
            goto fail;
    }
    memcpy(values, j->u.obj.values, n * sizeof(*values));
    copy->u.obj.keys = keys;
    copy->u.obj.values = values;
    copy->u.obj.len = n;
    copy->u.obj.cap = cap;
    return 0;
fail:
    for (size_t i = 0; i < copied; i++)
        free(keys[i]);
    free(keys);
    free(values);
    return -1;
}

/* Gives a container whose children are inline separate ones with room to
 * grow. The inline ones stay unused in the node's allocation. Returns 0, or
 * -1 when out of memory with the container unchanged. */
static int make_children_separate(json *j)
{
    size_t n = j->type == JSON_ARRAY ? j->u.arr.len : j->u.obj.len;
    json copy;

    if (separate_children(j, n ? n * 2 : 4, &copy) != 0)
        return -1;
    j->u = copy.u;
    j->children_inline = 0;
    return 0;
}

/* Copies `j` into `out` for the node that takes over its contents in
 * json_swap. Inline text or children stay in the allocation of `j`, so
 * `out` gets its own copies of them. Returns 0, or -1 when out of memory. */
static int movable_contents(const json *j, json *out)
{
    int failed = 0;

    *out = *j;
    if (has_inline_text(j)) {
        out->u.str.text = detached_text(j, &failed);
        out->text_inline = 0;
        return failed ? -1 : 0;
    }
    if ((j->type == JSON_ARRAY || j->type == JSON_OBJECT) && j->children_inline) {
        size_t n = j->type == JSON_ARRAY ? j->u.arr.len : j->u.obj.len;

        out->children_inline = 0;
        return separate_children(j, n ? n : 4, out);
    }
    return 0;
}

/* Frees what movable_contents allocated for `c`, without its children. */
static void free_movable_contents(const json *orig, json *c)
{
    if (has_inline_text(orig)) {
        free(c->u.str.text);
    } else if (orig->type == JSON_ARRAY && orig->children_inline) {
        free(c->u.arr.items);
    } else if (orig->type == JSON_OBJECT && orig->children_inline) {
        for (size_t i = 0; i < c->u.obj.len; i++)
            free(c->u.obj.keys[i]);
        free(c->u.obj.keys);
        free(c->u.obj.values);
    }
}

int json_move(json *dst, json *src)
{
    json contents;

    if (movable_contents(src, &contents) != 0)
        return -1;
    free_contents(dst);
    *dst = contents;
    free(src);
    return 0;
}

int json_swap(json *a, json *b)
{
    json for_b, for_a;

    if (movable_contents(a, &for_b) != 0)
        return -1;
    if (movable_contents(b, &for_a) != 0) {
        free_movable_contents(a, &for_b);
        return -1;
    }
    *a = for_a;
    *b = for_b;
    return 0;
}

static int numbers_equal(const json *a, const json *b)
{
    if (a->u.str.len == b->u.str.len && memcmp(a->u.str.text, b->u.str.text, a->u.str.len) == 0)
        return 1;
    if (json_is_integer(a) && json_is_integer(b))
        return json_int_value(a) == json_int_value(b);
    return json_double_value(a) == json_double_value(b);
}

int json_equal(const json *a, const json *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case JSON_NULL:
        return 1;
    case JSON_BOOL:
        return a->u.boolean == b->u.boolean;
    case JSON_NUMBER:
        return numbers_equal(a, b);
    case JSON_STRING:
        return a->u.str.len == b->u.str.len &&
               memcmp(a->u.str.text, b->u.str.text, a->u.str.len) == 0;
    case JSON_ARRAY:
        if (a->u.arr.len != b->u.arr.len)
            return 0;
        for (size_t i = 0; i < a->u.arr.len; i++) {
            if (!json_equal(a->u.arr.items[i], b->u.arr.items[i]))
                return 0;
        }
        return 1;
    case JSON_OBJECT:
        if (a->u.obj.len != b->u.obj.len)
            return 0;
        for (size_t i = 0; i < a->u.obj.len; i++) {
            const json *other = json_object_get(b, a->u.obj.keys[i]);
            if (!other || !json_equal(a->u.obj.values[i], other))
                return 0;
        }
        return 1;
    }
    return 0;
}

json_type json_typeof(const json *j)
{
    return j ? j->type : JSON_NULL;
}

int json_bool_value(const json *j)
{
    return j && j->type == JSON_BOOL ? j->u.boolean : 0;
}

int json_is_integer(const json *j)
{
    const char *s;
    char *end;

    if (!j || j->type != JSON_NUMBER)
        return 0;
    s = j->u.str.text;
    if (strpbrk(s, ".eE"))
        return 0;
    errno = 0;
    (void)strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

int64_t json_int_value(const json *j)
{
    if (!j || j->type != JSON_NUMBER)
        return 0;
    if (json_is_integer(j))
        return strtoll(j->u.str.text, NULL, 10);
    double d = strtod(j->u.str.text, NULL);
    if (d >= 9.2e18)
        return INT64_MAX;
    if (d <= -9.2e18)
        return INT64_MIN;
    return (int64_t)d;
}

double json_double_value(const json *j)
{
    if (!j || j->type != JSON_NUMBER)
        return 0.0;
    return strtod(j->u.str.text, NULL);
}

const char *json_string_value(const json *j)
{
    return j && j->type == JSON_STRING ? j->u.str.text : NULL;
}

size_t json_string_length(const json *j)
{
    return j && j->type == JSON_STRING ? j->u.str.len : 0;
}

size_t json_array_size(const json *j)
{
    return j && j->type == JSON_ARRAY ? j->u.arr.len : 0;
}

json *json_array_get(const json *j, size_t i)
{
    if (!j || j->type != JSON_ARRAY || i >= j->u.arr.len)
        return NULL;
    return j->u.arr.items[i];
}

int json_array_append(json *arr, json *item)
{
    if (!arr || !item || arr->type != JSON_ARRAY)
        goto fail;
    if (arr->children_inline && make_children_separate(arr) != 0)
        goto fail;
    if (arr->u.arr.len == arr->u.arr.cap) {
        size_t cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
        json **items = realloc(arr->u.arr.items, cap * sizeof(*items));
        if (!items)
            goto fail;
        arr->u.arr.items = items;
        arr->u.arr.cap = cap;
    }
    arr->u.arr.items[arr->u.arr.len++] = item;
    return 0;
fail:
    json_free(item);
    return -1;
}

json *json_array_replace(json *arr, size_t i, json *item)
{
    json *old;

    if (!arr || !item || arr->type != JSON_ARRAY || i >= arr->u.arr.len) {
        json_free(item);
        return NULL;
    }
    old = arr->u.arr.items[i];
    arr->u.arr.items[i] = item;
    return old;
}

json *json_array_take(json *arr, size_t i)
{
    json *item;

    if (!arr || arr->type != JSON_ARRAY || i >= arr->u.arr.len)
        return NULL;
    item = arr->u.arr.items[i];
    memmove(&arr->u.arr.items[i], &arr->u.arr.items[i + 1],
            (arr->u.arr.len - i - 1) * sizeof(*arr->u.arr.items));
    arr->u.arr.len--;
    return item;
}

void json_array_remove(json *arr, size_t i)
{
    json_free(json_array_take(arr, i));
}

size_t json_object_size(const json *j)
{
    return j && j->type == JSON_OBJECT ? j->u.obj.len : 0;
}

const char *json_object_key_at(const json *j, size_t i)
{
    if (!j || j->type != JSON_OBJECT || i >= j->u.obj.len)
        return NULL;
    return j->u.obj.keys[i];
}

json *json_object_value_at(const json *j, size_t i)
{
    if (!j || j->type != JSON_OBJECT || i >= j->u.obj.len)
        return NULL;
    return j->u.obj.values[i];
}

json *json_object_replace_at(json *obj, size_t i, json *value)
{
    json *old;

    if (!obj || !value || obj->type != JSON_OBJECT || i >= obj->u.obj.len) {
        json_free(value);
        return NULL;
    }
    old = obj->u.obj.values[i];
    obj->u.obj.values[i] = value;
    return old;
}

/* Index of the member named `key`, or -1. */
static ssize_t find_key(const json *obj, const char *key, int ignore_case)
{
    if (!obj || obj->type != JSON_OBJECT || !key)
        return -1;
    for (size_t i = 0; i < obj->u.obj.len; i++) {
        const char *k = obj->u.obj.keys[i];
        if (ignore_case ? strcasecmp(k, key) == 0 : strcmp(k, key) == 0)
            return (ssize_t)i;
    }
    return -1;
}

json *json_object_get(const json *obj, const char *key)
{
    ssize_t i = find_key(obj, key, 0);
    return i < 0 ? NULL : obj->u.obj.values[i];
}

json *json_object_geti(const json *obj, const char *key)
{
    ssize_t i = find_key(obj, key, 1);
    return i < 0 ? NULL : obj->u.obj.values[i];
}

/* Appends a member, taking ownership of the malloc'd `key` and of `value`
 * (both freed on failure). Returns 0 or -1. */
static int append_member(json *obj, char *key, json *value)
{
    if (obj->children_inline && make_children_separate(obj) != 0)
        goto fail;
    if (obj->u.obj.len == obj->u.obj.cap) {
        size_t cap = obj->u.obj.cap ? obj->u.obj.cap * 2 : 4;
        char **keys = realloc(obj->u.obj.keys, cap * sizeof(*keys));
        if (!keys)
            goto fail;
        obj->u.obj.keys = keys;
        json **values = realloc(obj->u.obj.values, cap * sizeof(*values));
        if (!values)
            goto fail;
        obj->u.obj.values = values;
        obj->u.obj.cap = cap;
    }
    obj->u.obj.keys[obj->u.obj.len] = key;
    obj->u.obj.values[obj->u.obj.len] = value;
    obj->u.obj.len++;
    return 0;
fail:
    free(key);
    json_free(value);
    return -1;
}

static int object_set(json *obj, const char *key, json *value, int ignore_case)
{
    ssize_t i;
    char *k;

    if (!obj || obj->type != JSON_OBJECT || !key || !value)
        goto fail;
    i = find_key(obj, key, ignore_case);
    if (i >= 0) {
        json_free(obj->u.obj.values[i]);
        obj->u.obj.values[i] = value;
        return 0;
    }
    k = strdup(key);
    if (!k)
        goto fail;
    return append_member(obj, k, value);
fail:
    json_free(value);
    return -1;
}

/* Like json_object_set, but takes ownership of the malloc'd `key` too (freed
 * when an existing member keeps its own key, and on failure). */
static int object_set_owned_key(json *obj, char *key, json *value)
{
    ssize_t i = find_key(obj, key, 0);

    if (i < 0)
        return append_member(obj, key, value);
    json_free(obj->u.obj.values[i]);
    obj->u.obj.values[i] = value;
    free(key);
    return 0;
}

int json_object_set(json *obj, const char *key, json *value)
{
    return object_set(obj, key, value, 0);
}

int json_object_seti(json *obj, const char *key, json *value)
{
    return object_set(obj, key, value, 1);
}

static json *object_take(json *obj, const char *key, int ignore_case)
{
    ssize_t i = find_key(obj, key, ignore_case);
    json *value;
    size_t tail;

    if (i < 0)
        return NULL;
    value = obj->u.obj.values[i];
    /* An inline key stays in the node's allocation until it is freed. */
    if (!obj->children_inline)
        free(obj->u.obj.keys[i]);
    tail = obj->u.obj.len - (size_t)i - 1;
    memmove(&obj->u.obj.keys[i], &obj->u.obj.keys[i + 1], tail * sizeof(char *));
    memmove(&obj->u.obj.values[i], &obj->u.obj.values[i + 1], tail * sizeof(json *));
    obj->u.obj.len--;
    return value;
}

json *json_object_take(json *obj, const char *key)
{
    return object_take(obj, key, 0);
}

json *json_object_takei(json *obj, const char *key)
{
    return object_take(obj, key, 1);
}

void json_object_remove(json *obj, const char *key)
{
    json_free(object_take(obj, key, 0));
}

void json_object_removei(json *obj, const char *key)
{
    json_free(object_take(obj, key, 1));
}

const char *json_get_string(const json *obj, const char *key)
{
    return json_string_value(json_object_geti(obj, key));
}

/* Parsing: yajl's event callbacks build the tree on an explicit stack. */

#define STRINGIFY(x) #x
#define TEXT_OF(x) STRINGIFY(x)
#define JSON_MAX_MEMBERS_TEXT TEXT_OF(JSON_MAX_MEMBERS)

struct parse_state {
    json *stack[JSON_MAX_DEPTH + 1];
    size_t depth;
    json *root;
    char *key; /* pending object key */
    const char *error;
    int strict; /* reject malformed UTF-8 (json_parse_input) */
};

static int attach(struct parse_state *st, json *node)
{
    json *parent;
    int rc;

    if (!node) {
        st->error = "out of memory";
        return 0;
    }
    if (st->depth == 0) {
        st->root = node;
        return 1;
    }
    parent = st->stack[st->depth - 1];
    if (parent->type == JSON_ARRAY) {
        rc = json_array_append(parent, node);
    } else if (!st->key) {
        json_free(node);
        rc = -1;
    } else if (parent->u.obj.len >= JSON_MAX_MEMBERS) {
        json_free(node);
        st->error = "an object has more than " JSON_MAX_MEMBERS_TEXT " members";
        return 0;
    } else {
        rc = object_set_owned_key(parent, st->key, node);
        st->key = NULL;
    }
    if (rc < 0) {
        st->error = "out of memory";
        return 0;
    }
    return 1;
}

static int on_null(void *ctx)
{
    return attach(ctx, json_null());
}

static int on_boolean(void *ctx, int value)
{
    return attach(ctx, json_bool(value));
}

static int on_number(void *ctx, const char *s, size_t len)
{
    return attach(ctx, text_node(JSON_NUMBER, s, len));
}

/* Returns 1 when `s` is well-formed UTF-8 by RFC 3629: no overlong forms,
 * no encoded surrogates, nothing above U+10FFFF. yajl 2.1 checks only the
 * shape of a sequence, which lets such bytes into stored records and out
 * in replies that strict decoders reject. */
static int utf8_well_formed(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        unsigned char lo = 0x80, hi = 0xbf;
        size_t n;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong below U+0800 */
            else if (c == 0xed)
                hi = 0x9f; /* U+D800 to U+DFFF */
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong below U+10000 */
            else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        } else {
            return 0;
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return 0;
        }
        i += n + 1;
    }
    return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    struct parse_state *st = ctx;

    if (memchr(s, '\0', len)) {
        st->error = "string contains U+0000";
        return 0;
    }
    if (st->strict && !utf8_well_formed(s, len)) {
        st->error = "string is not valid UTF-8";
        return 0;
    }
    return attach(st, json_stringn((const char *)s, len));
}

static int open_container(struct parse_state *st, json *node)
{
    if (st->depth >= JSON_MAX_DEPTH) {
        json_free(node);
        st->error = "nesting too deep";
        return 0;
    }
    if (!attach(st, node))
        return 0;
    st->stack[st->depth++] = node;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, json_object());
}

static int on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    struct parse_state *st = ctx;

    if (memchr(s, '\0', len)) {
        st->error = "object key contains U+0000";
        return 0;
    }
    if (st->strict && !utf8_well_formed(s, len)) {
        st->error = "object key is not valid UTF-8";
        return 0;
    }
    free(st->key);
    st->key = strndup((const char *)s, len);
    if (!st->key) {
        st->error = "out of memory";
        return 0;
    }
    return 1;
}

static int on_end_container(void *ctx)
{
    struct parse_state *st = ctx;
    st->depth--;
    return 1;
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, json_array());
}

static const yajl_callbacks parse_callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_container,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_container,
};

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Copies yajl's message without its trailing newline and context lines. */
static void yajl_reason(yajl_handle h, const char *text, size_t len, char *buf, size_t buflen)
{
    unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
    size_t n;

    snprintf(buf, buflen, "%s", msg ? (const char *)msg : "parse error");
    n = strcspn(buf, "\n");
    buf[n] = '\0';
    if (msg)
        yajl_free_error(h, msg);
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Finds a \u escape of a surrogate that is not part of a pair, and returns
 * its offset, or `len` when there is none. yajl 2.1 decodes such an escape
 * into another character instead of failing ("\ud800\u0041" becomes
 * U+10041), so the text is checked before it is parsed. Backslashes occur
 * only inside strings in valid JSON, and yajl rejects them elsewhere. */
static size_t lone_surrogate(const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        unsigned v, w;

        if (end - p < 2)
            break;
        if (p[1] != 'u' || end - p < 6 || hex4(p + 2, &v) != 0) {
            p += 2;
            continue;
        }
        if (v >= 0xdc00 && v <= 0xdfff)
            return (size_t)(p - text);
        if (v >= 0xd800 && v <= 0xdbff) {
            if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &w) != 0 ||
                w < 0xdc00 || w > 0xdfff)
                return (size_t)(p - text);
            p += 12;
            continue;
        }
        p += 6;
    }
    return len;
}

/* Fast path. Most documents, request bodies and stored records alike, use
 * only plain strings, simple escapes, numbers and literals. A hand-written
 * recursive parser builds their trees without yajl's per-token callbacks
 * and sizes each container's arrays once. It accepts only text that the
 * yajl path accepts and builds the same tree. Everything else goes to the
 * yajl path, which also writes every error message. That covers \u
 * escapes, keys with escapes, control characters, bytes that are not
 * well-formed UTF-8 by RFC 3629, whitespace other than space, tab, CR and
 * LF, and syntax errors. tests/fuzz/fuzz_json.c compares the two paths. */

/* A parsed member or element of a container that is still open. `key` is
 * NULL for array elements and points into the text for object members. */
struct scan_item {
    const char *key;
    size_t key_len;
    json *value;
};

#define SCAN_STACK_ITEMS 64

struct scanner {
    const unsigned char *p, *end;
    /* Pending items of all open containers, innermost last. */
    struct scan_item *items;
    size_t n_items, cap_items;
    struct scan_item stack_items[SCAN_STACK_ITEMS];
};

static json *scan_value(struct scanner *s, int depth);

static void skip_space(struct scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Returns the character that the escape `\c` stands for, or 0 when `c`
 * starts a \u escape or no escape. */
static char simple_escape(unsigned char c)
{
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
    }
}

/* 1 for the bytes that a string contains as they are on the fast path:
 * printable ASCII other than the quote (0x22) and the backslash (0x5c). */
static const unsigned char plain_byte[256] = {
    [0x20 ... 0x21] = 1,
    [0x23 ... 0x5b] = 1,
    [0x5d ... 0x7f] = 1,
};

/* 1 when all 8 bytes at `p` are plain_byte bytes. The terms test all bytes
 * at once: they set the high bit of at least one byte when some byte is
 * below 0x20, above 0x7f, a quote or a backslash, and of none otherwise.
 * Carries and borrows between bytes arise only above a byte that is flagged
 * already, so the result is exact. */
static int plain_word(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u;
    const uint64_t high = 0x8080808080808080u;
    uint64_t w, below, quote, backslash;

    memcpy(&w, p, sizeof(w));
    below = (w - ones * 0x20) & ~w;
    quote = w ^ (ones * '"');
    backslash = w ^ (ones * '\\');
    return ((below | w | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash)) & high) ==
           0;
}

/* Scans a string whose opening quote is just before s->p and moves s->p
 * past the closing quote. `*raw_len` receives the length of the text
 * between the quotes and `*len` the length once escapes are decoded.
 * Returns 0, or -1 when the string is left to the yajl path. */
static int scan_string(struct scanner *s, const unsigned char **raw, size_t *raw_len, size_t *len)
{
    const unsigned char *p = s->p;
    size_t escapes = 0;
    int high = 0;

    for (;;) {
        while (p < s->end && plain_byte[*p])
            p++;
        if (p >= s->end || *p < 0x20)
            return -1;
        if (*p == '"')
            break;
        if (*p == '\\') {
            if (s->end - p < 2 || !simple_escape(p[1]))
                return -1;
            escapes++;
            p += 2;
            continue;
        }
        high = 1; /* a byte of a multi-byte sequence */
        p++;
    }
    /* Escapes decode to ASCII, so checking the raw bytes is enough. */
    if (high && !utf8_well_formed(s->p, (size_t)(p - s->p)))
        return -1;
    *raw = s->p;
    *raw_len = (size_t)(p - s->p);
    *len = *raw_len - escapes;
    s->p = p + 1;
    return 0;
}

static json *string_node(const unsigned char *raw, size_t raw_len, size_t len)
{
    json *j = text_node(JSON_STRING, (const char *)raw, len);
    char *out;

    if (!j || raw_len == len)
        return j;
    out = j->u.str.text;
    for (size_t i = 0; i < raw_len; i++) {
        if (raw[i] == '\\')
            *out++ = simple_escape(raw[++i]);
        else
            *out++ = (char)raw[i];
    }
    return j;
}

static json *scan_number(struct scanner *s)
{
    const unsigned char *p = s->p, *end = s->end, *digits;

    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
    } else {
        digits = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return NULL;
    }
    if (p < end && *p == '.') {
        digits = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        digits = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return NULL;
    }
    /* What follows is checked by the caller, which accepts only a
     * delimiter: "01" and "1x" go to the yajl path. */
    json *j = text_node(JSON_NUMBER, (const char *)s->p, (size_t)(p - s->p));
    s->p = p;
    return j;
}

static json *scan_literal(struct scanner *s, const char *word, size_t n, json *node)
{
    if (!node)
        return NULL;
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) {
        json_free(node);
        return NULL;
    }
    s->p += n;
    return node;
}

/* Appends an item to the pending ones, taking ownership of `value`. */
static int push_item(struct scanner *s, const unsigned char *key, size_t key_len, json *value)
{
    if (s->n_items == s->cap_items) {
        size_t cap = s->cap_items * 2;
        struct scan_item *grown;

        if (s->items == s->stack_items) {
            grown = malloc(cap * sizeof(*grown));
            if (grown)
                memcpy(grown, s->items, s->n_items * sizeof(*grown));
        } else {
            grown = realloc(s->items, cap * sizeof(*grown));
        }
        if (!grown) {
            json_free(value);
            return -1;
        }
        s->items = grown;
        s->cap_items = cap;
    }
    s->items[s->n_items++] = (struct scan_item){(const char *)key, key_len, value};
    return 0;
}

/* Adds a member to the object whose items start at `base`. A repeated key
 * replaces the earlier member's value in its place, as the yajl path's
 * object_set_owned_key does. */
static int put_member(struct scanner *s, size_t base, const unsigned char *key, size_t key_len,
                      json *value)
{
    /* The yajl path reports the error for an object over the limit. */
    if (s->n_items - base >= JSON_MAX_MEMBERS) {
        json_free(value);
        return -1;
    }
    for (size_t i = base; i < s->n_items; i++) {
        struct scan_item *m = &s->items[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0) {
            json_free(m->value);
            m->value = value;
            return 0;
        }
    }
    return push_item(s, key, key_len, value);
}

/* Frees the pending items from `base` on. */
static void drop_items(struct scanner *s, size_t base)
{
    for (size_t i = base; i < s->n_items; i++)
        json_free(s->items[i].value);
    s->n_items = base;
}

/* Allocates a container node of `type` with `size` more bytes after it for
 * its inline children. */
static json *container_node(json_type type, size_t size)
{
    json *j = malloc(sizeof(*j) + size);

    if (!j)
        return NULL;
    memset(j, 0, sizeof(*j));
    j->type = type;
    j->children_inline = 1;
    return j;
}

/* Moves the items from `base` on into a new array that keeps them inline. */
static json *build_array(struct scanner *s, size_t base)
{
    size_t n = s->n_items - base;
    json *arr = container_node(JSON_ARRAY, n * sizeof(json *));

    if (!arr)
        return NULL;
    arr->u.arr.items = (json **)(arr + 1);
    for (size_t i = 0; i < n; i++)
        arr->u.arr.items[i] = s->items[base + i].value;
    arr->u.arr.len = arr->u.arr.cap = n;
    s->n_items = base;
    return arr;
}

/* Moves the items from `base` on into a new object that keeps its keys,
 * values and key texts inline. */
static json *build_object(struct scanner *s, size_t base)
{
    size_t n = s->n_items - base, size = n * (sizeof(char *) + sizeof(json *));
    json *obj;
    char *text;

    /* A member takes at least 4 bytes of text ("":0) and adds its key, a
     * NUL and two pointers here (17 bytes more than the key on 64-bit
     * systems), so the size stays below five times the text's length. */
    for (size_t i = base; i < s->n_items; i++)
        size += s->items[i].key_len + 1;
    obj = container_node(JSON_OBJECT, size);
    if (!obj)
        return NULL;
    obj->u.obj.keys = (char **)(obj + 1);
    obj->u.obj.values = (json **)(obj->u.obj.keys + n);
    text = (char *)(obj->u.obj.values + n);
    for (size_t i = 0; i < n; i++) {
        const struct scan_item *m = &s->items[base + i];
        memcpy(text, m->key, m->key_len);
        text[m->key_len] = '\0';
        obj->u.obj.keys[i] = text;
        text += m->key_len + 1;
        obj->u.obj.values[i] = m->value;
    }
    obj->u.obj.len = obj->u.obj.cap = n;
    s->n_items = base;
    return obj;
}

/* Consumes the ',' or the closing character `close` that follows an item
 * and sets `*closed` on the latter. Returns 0, or -1 on anything else. */
static int scan_separator(struct scanner *s, unsigned char close, int *closed)
{
    skip_space(s);
    if (s->p >= s->end)
        return -1;
    if (*s->p == ',') {
        s->p++;
        skip_space(s);
        return 0;
    }
    if (*s->p != close)
        return -1;
    s->p++;
    *closed = 1;
    return 0;
}

/* Scans an array whose '[' is at s->p, `depth` containers deep. */
static json *scan_array(struct scanner *s, int depth)
{
    size_t base = s->n_items;
    int closed = 0;

    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return json_array();
    }
    while (!closed) {
        json *v = scan_value(s, depth + 1);
        if (!v || push_item(s, NULL, 0, v) != 0 || scan_separator(s, ']', &closed) != 0)
            goto fail;
    }
    json *arr = build_array(s, base);
    if (arr)
        return arr;
fail:
    drop_items(s, base);
    return NULL;
}

/* Scans an object whose '{' is at s->p, `depth` containers deep. */
static json *scan_object(struct scanner *s, int depth)
{
    size_t base = s->n_items;
    int closed = 0;

    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return json_object();
    }
    while (!closed) {
        const unsigned char *key;
        size_t raw_len, key_len;
        json *v;

        if (s->p >= s->end || *s->p != '"')
            goto fail;
        s->p++;
        if (scan_string(s, &key, &raw_len, &key_len) != 0 || raw_len != key_len)
            goto fail;
        skip_space(s);
        if (s->p >= s->end || *s->p != ':')
            goto fail;
        s->p++;
        skip_space(s);
        v = scan_value(s, depth + 1);
        if (!v || put_member(s, base, key, key_len, v) != 0 ||
            scan_separator(s, '}', &closed) != 0)
            goto fail;
    }
    json *obj = build_object(s, base);
    if (obj)
        return obj;
fail:
    drop_items(s, base);
    return NULL;
}

/* Scans the value at s->p, inside `depth` open containers. Returns NULL
 * when the value is left to the yajl path or memory runs out. */
static json *scan_value(struct scanner *s, int depth)
{
    const unsigned char *raw;
    size_t raw_len, len;

    if (s->p >= s->end)
        return NULL;
    switch (*s->p) {
    case '{':
        return depth < JSON_MAX_DEPTH ? scan_object(s, depth) : NULL;
    case '[':
        return depth < JSON_MAX_DEPTH ? scan_array(s, depth) : NULL;
    case '"':
        s->p++;
        if (scan_string(s, &raw, &raw_len, &len) != 0)
            return NULL;
        return string_node(raw, raw_len, len);
    case 't':
        return scan_literal(s, "true", 4, json_bool(1));
    case 'f':
        return scan_literal(s, "false", 5, json_bool(0));
    case 'n':
        return scan_literal(s, "null", 4, json_null());
    default:
        return scan_number(s);
    }
}

/* Parses `text` on the fast path. Returns the tree, or NULL when the text
 * is left to the yajl path. */
static json *parse_fast(const char *text, size_t len)
{
    /* The stack of items stays unset, as only its first n_items are read. */
    struct scanner s;
    json *root;

    s.p = (const unsigned char *)text;
    s.end = (const unsigned char *)text + len;
    s.items = s.stack_items;
    s.n_items = 0;
    s.cap_items = SCAN_STACK_ITEMS;
    skip_space(&s);
    root = scan_value(&s, 0);
    skip_space(&s);
    if (root && s.p != s.end) {
        json_free(root);
        root = NULL;
    }
    if (s.items != s.stack_items)
        free(s.items);
    return root;
}

static json *parse_yajl(const char *text, size_t len, int strict, char *err, size_t errlen)
{
    struct parse_state st = {.strict = strict};
    yajl_handle h;
    yajl_status status;
    size_t offset;
    char reason[128];

    offset = strict ? lone_surrogate(text, len) : len;
    if (offset < len) {
        set_error(err, errlen, "invalid JSON at byte %zu: unpaired surrogate escape", offset);
        return NULL;
    }
    h = yajl_alloc(&parse_callbacks, NULL, &st);
    if (!h) {
        set_error(err, errlen, "invalid JSON: out of memory");
        return NULL;
    }
    status = yajl_parse(h, (const unsigned char *)text, len);
    offset = yajl_get_bytes_consumed(h);
    if (status == yajl_status_ok) {
        status = yajl_complete_parse(h);
        offset = len;
    }
    if (status != yajl_status_ok) {
        if (st.error)
            snprintf(reason, sizeof(reason), "%s", st.error);
        else
            yajl_reason(h, text, len, reason, sizeof(reason));
        set_error(err, errlen, "invalid JSON at byte %zu: %s", offset, reason);
        json_free(st.root);
        st.root = NULL;
    }
    free(st.key);
    yajl_free(h);
    return st.root;
}

/* A text that the fast path accepts has no \u escape, so the strict
 * parse's check for unpaired surrogates would find nothing in it. */
static json *parse(const char *text, size_t len, int strict, char *err, size_t errlen)
{
    json *root = parse_fast(text, len);

    return root ? root : parse_yajl(text, len, strict, err, errlen);
}

json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    return parse(text, len, 0, err, errlen);
}

json *json_parse_input(const char *text, size_t len, char *err, size_t errlen)
{
    return parse(text, len, 1, err, errlen);
}

json *json_parse_with_yajl(const char *text, size_t len, int strict, char *err, size_t errlen)
{
    return parse_yajl(text, len, strict, err, errlen);
}

/* Writing. The output is byte for byte what yajl_gen 2.1 writes for the
 * same tree without beautify or solidus escaping. It uses the same escapes
 * and the same check that every string and key is structurally valid UTF-8,
 * and fails like yajl_gen when containers nest YAJL_GEN_MAX_DEPTH deep. It
 * is written here because yajl_gen's per-call state checks and buffer
 * callbacks cost several times the text itself. */

/* yajl_gen fails when it opens a container at this depth (YAJL_MAX_DEPTH
 * in yajl 2.1's yajl_gen.c). */
#define YAJL_GEN_MAX_DEPTH 128

typedef struct writer {
    char *buf;
    size_t len, cap;
    int heap;           /* buf is malloc'd; else it is the caller's stack buffer */
    int failed;
} writer;

static int writer_grow(writer *w, size_t more)
{
    size_t cap = w->cap * 2;
    char *grown;

    while (cap < w->len + more)
        cap *= 2;
    if (w->heap) {
        grown = realloc(w->buf, cap);
    } else {
        grown = malloc(cap);
        if (grown)
            memcpy(grown, w->buf, w->len);
    }
    if (!grown) {
        w->failed = 1;
        return -1;
    }
    w->buf = grown;
    w->cap = cap;
    w->heap = 1;
    return 0;
}

static void put(writer *w, const char *s, size_t n)
{
    if (w->len + n > w->cap && writer_grow(w, n) != 0)
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void putch(writer *w, char c)
{
    if (w->len + 1 > w->cap && writer_grow(w, 1) != 0)
        return;
    w->buf[w->len++] = c;
}

/* Length of the UTF-8 sequence at `s` (at most `avail` bytes) by yajl_gen's
 * check, which accepts a lead byte followed by the right number of
 * continuation bytes. Returns 0 when the bytes are not one. Like yajl, it does not
 * reject overlong forms, surrogates or code points above U+10FFFF. */
static size_t utf8_structure(const unsigned char *s, size_t avail)
{
    size_t n;

    if ((s[0] >> 5) == 0x6)
        n = 2;
    else if ((s[0] >> 4) == 0xe)
        n = 3;
    else if ((s[0] >> 3) == 0x1e)
        n = 4;
    else
        return 0;
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] >> 6) != 0x2)
            return 0;
    }
    return n;
}

/* Returns the escape for byte `c`, or NULL when it is written as is. `hex`
 * receives the \u00XX form. */
static const char *escape_of(unsigned char c, char hex[7])
{
    static const char digits[] = "0123456789ABCDEF";

    switch (c) {
    case '\r': return "\\r";
    case '\n': return "\\n";
    case '\\': return "\\\\";
    case '"': return "\\\"";
    case '\f': return "\\f";
    case '\b': return "\\b";
    case '\t': return "\\t";
    default:
        if (c >= 0x20)
            return NULL;
        memcpy(hex, "\\u00", 4);
        hex[4] = digits[c >> 4];
        hex[5] = digits[c & 15];
        hex[6] = '\0';
        return hex;
    }
}

/* Writes a JSON string, or marks the writer failed when `text` is not
 * UTF-8 by yajl_gen's check. Runs of plain bytes are copied at once. */
static void put_string(writer *w, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t start = 0, i = 0;
    size_t words_from = 0;
    char hex[7];

    putch(w, '"');
    while (i < len) {
        const char *esc;
        size_t n;

        /* Runs of plain bytes are passed 8 at a time. After a word with
         * other bytes, its bytes go one at a time, so that text with many
         * such bytes is not tested twice. */
        if (i >= words_from) {
            while (len - i >= 8 && plain_word(s + i))
                i += 8;
            words_from = i + 8;
            if (i == len)
                break;
        }
        if (plain_byte[s[i]]) {
            i++;
            continue;
        }
        if (s[i] >= 0x80) {
            if ((n = utf8_structure(s + i, len - i)) == 0) {
                w->failed = 1;
                return;
            }
            i += n;
            continue;
        }
        esc = escape_of(s[i], hex);
        put(w, text + start, i - start);
        put(w, esc, strlen(esc));
        start = ++i;
    }
    put(w, text + start, len - start);
    putch(w, '"');
}

static void write_node(writer *w, const json *j, int depth)
{
    if (w->failed)
        return;
    switch (j->type) {
    case JSON_NULL:
        put(w, "null", 4);
        break;
    case JSON_BOOL:
        if (j->u.boolean)
            put(w, "true", 4);
        else
            put(w, "false", 5);
        break;
    case JSON_NUMBER:
        put(w, j->u.str.text, j->u.str.len);
        break;
    case JSON_STRING:
        put_string(w, j->u.str.text, j->u.str.len);
        break;
    case JSON_ARRAY:
        if (depth + 1 >= YAJL_GEN_MAX_DEPTH) {
            w->failed = 1;
            return;
        }
        putch(w, '[');
        for (size_t i = 0; i < j->u.arr.len && !w->failed; i++) {
            if (i > 0)
                putch(w, ',');
            write_node(w, j->u.arr.items[i], depth + 1);
        }
        putch(w, ']');
        break;
    case JSON_OBJECT:
        if (depth + 1 >= YAJL_GEN_MAX_DEPTH) {
            w->failed = 1;
            return;
        }
        putch(w, '{');
        for (size_t i = 0; i < j->u.obj.len && !w->failed; i++) {
            const char *k = j->u.obj.keys[i];
            if (i > 0)
                putch(w, ',');
            put_string(w, k, strlen(k));
            putch(w, ':');
            write_node(w, j->u.obj.values[i], depth + 1);
        }
        putch(w, '}');
        break;
    }
}

char *json_dump(const json *j, size_t *len)
{
    writer w = {.cap = 256};

    if (!j)
        return NULL;
    w.buf = malloc(w.cap);
    if (!w.buf)
        return NULL;
    w.heap = 1;
    write_node(&w, j, 0);
    putch(&w, '\0');
    if (w.failed) {
        free(w.buf);
        return NULL;
    }
    if (len)
        *len = w.len - 1;
    return w.buf;
}

/* Lends `t`'s buffer to a writer; text_end gives it back. */
static int text_begin(json_text *t, writer *w)
{
    if (t->failed)
        return -1;
    if (!t->buf) {
        t->buf = malloc(512);
        t->cap = 512;
        t->len = 0;
        if (!t->buf) {
            t->failed = 1;
            return -1;
        }
    }
    *w = (writer){.buf = t->buf, .len = t->len, .cap = t->cap, .heap = 1};
    return 0;
}

static void text_end(json_text *t, const writer *w)
{
    t->buf = w->buf;
    t->len = w->len;
    t->cap = w->cap;
    t->failed = w->failed;
}

void json_text_raw(json_text *t, const char *s, size_t n)
{
    writer w;

    /* Most pieces fit in the buffer already allocated. */
    if (t->buf && !t->failed && n <= t->cap - t->len) {
        memcpy(t->buf + t->len, s, n);
        t->len += n;
        return;
    }
    if (text_begin(t, &w) == 0) {
        put(&w, s, n);
        text_end(t, &w);
    }
}

void json_text_string(json_text *t, const char *s)
{
    writer w;
    if (text_begin(t, &w) == 0) {
        put_string(&w, s, strlen(s));
        text_end(t, &w);
    }
}

void json_text_value(json_text *t, const json *j)
{
    writer w;
    if (text_begin(t, &w) == 0) {
        if (j)
            write_node(&w, j, 0);
        else
            w.failed = 1;
        text_end(t, &w);
    }
}

char *json_text_take(json_text *t, size_t *len)
{
    char *text = NULL;

    json_text_raw(t, "", 1);
    if (!t->failed) {
        text = t->buf;
        if (len)
            *len = t->len - 1;
    } else {
        free(t->buf);
    }
    memset(t, 0, sizeof *t);
    return text;
}

int json_dump_evbuffer(const json *j, struct evbuffer *out)
{
    char stack[4096];
    writer w = {.buf = stack, .cap = sizeof(stack)};
    int rc = -1;

    if (!j)
        return -1;
    write_node(&w, j, 0);
    if (!w.failed)
        rc = evbuffer_add(out, w.buf, w.len);
    if (w.heap)
        free(w.buf);
    return rc;
}
