/* libFuzzer target: the JSON parser and writer. json_parse and
 * json_parse_input must accept exactly what yajl alone accepts
 * (json_parse_with_yajl), with the same tree and the same error message,
 * which checks their hand-written fast path. A tree that parses is
 * written with json_dump and json_dump_evbuffer, compared with what
 * yajl_gen writes for it, and parsed again to compare with the first tree.
 * The raw input is also written as one string, which must give yajl_gen's
 * text or fail where yajl_gen fails. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <yajl/yajl_gen.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int reference_node(yajl_gen g, const json *j)
{
    switch (json_typeof(j)) {
    case JSON_NULL:
        return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -1;
    case JSON_BOOL:
        return yajl_gen_bool(g, json_bool_value(j)) == yajl_gen_status_ok ? 0 : -1;
    case JSON_NUMBER: {
        char *text = json_dump(j, NULL);
        int rc = text && yajl_gen_number(g, text, strlen(text)) == yajl_gen_status_ok ? 0 : -1;
        free(text);
        return rc;
    }
    case JSON_STRING:
        return yajl_gen_string(g, (const unsigned char *)json_string_value(j),
                               json_string_length(j)) == yajl_gen_status_ok
                   ? 0
                   : -1;
    case JSON_ARRAY:
        if (yajl_gen_array_open(g) != yajl_gen_status_ok)
            return -1;
        for (size_t i = 0; i < json_array_size(j); i++)
            if (reference_node(g, json_array_get(j, i)) != 0)
                return -1;
        return yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -1;
    case JSON_OBJECT:
        if (yajl_gen_map_open(g) != yajl_gen_status_ok)
            return -1;
        for (size_t i = 0; i < json_object_size(j); i++) {
            const char *k = json_object_key_at(j, i);
            if (yajl_gen_string(g, (const unsigned char *)k, strlen(k)) != yajl_gen_status_ok ||
                reference_node(g, json_object_value_at(j, i)) != 0)
                return -1;
        }
        return yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -1;
    }
    return -1;
}

/* Returns yajl_gen's text for `j` (malloc'd), or NULL when it fails. */
static char *reference_dump(const json *j, size_t *len)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *buf;
    char *out = NULL;

    if (!g)
        return NULL;
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    if (reference_node(g, j) == 0 && yajl_gen_get_buf(g, &buf, len) == yajl_gen_status_ok) {
        out = malloc(*len + 1);
        if (out) {
            memcpy(out, buf, *len);
            out[*len] = '\0';
        }
    }
    yajl_gen_free(g);
    return out;
}

/* Compares the writers on `j`. With `reparse`, the text must parse back to
 * an equal tree (json_parse rejects U+0000, which a raw string may hold). */
static void compare_with_reference(const json *j, int reparse)
{
    size_t ours_len = 0, theirs_len = 0;
    char *ours = json_dump(j, &ours_len);
    char *theirs = reference_dump(j, &theirs_len);
    struct evbuffer *buf = evbuffer_new();

    if (!ours != !theirs)
        abort();
    if (ours && (ours_len != theirs_len || memcmp(ours, theirs, ours_len) != 0))
        abort();
    if (buf) {
        int rc = json_dump_evbuffer(j, buf);
        if ((rc == 0) != (ours != NULL))
            abort();
        if (rc != 0 && evbuffer_get_length(buf) != 0)
            abort();
        if (rc == 0 && (evbuffer_get_length(buf) != ours_len ||
                        memcmp(evbuffer_pullup(buf, -1), ours, ours_len) != 0))
            abort();
        evbuffer_free(buf);
    }
    if (ours && reparse) {
        json *again = json_parse(ours, ours_len, NULL, 0);
        if (!again || !json_equal(again, j))
            abort();
        json_free(again);
    }
    free(ours);
    free(theirs);
}

/* 1 when two trees are equal with their object members in the same order. */
static int same_tree(const json *a, const json *b)
{
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_typeof(a) == JSON_ARRAY) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_tree(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_typeof(a) == JSON_OBJECT) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        for (size_t i = 0; i < json_object_size(a); i++)
            if (strcmp(json_object_key_at(a, i), json_object_key_at(b, i)) != 0 ||
                !same_tree(json_object_value_at(a, i), json_object_value_at(b, i)))
                return 0;
        return 1;
    }
    return json_equal(a, b);
}

/* Aborts unless the parse of `data` (json_parse_input when `strict`, else
 * json_parse) gives the same result as yajl alone. */
static void compare_with_yajl(const uint8_t *data, size_t size, int strict)
{
    char ours_err[160] = "", yajl_err[160] = "";
    const char *text = (const char *)data;
    json *ours = strict ? json_parse_input(text, size, ours_err, sizeof(ours_err))
                        : json_parse(text, size, ours_err, sizeof(ours_err));
    json *theirs = json_parse_with_yajl(text, size, strict, yajl_err, sizeof(yajl_err));

    if (!ours != !theirs || !same_tree(ours, theirs) || strcmp(ours_err, yajl_err) != 0)
        abort();
    json_free(ours);
    json_free(theirs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json *j = json_parse((const char *)data, size, NULL, 0);
    json *strict = json_parse_input((const char *)data, size, NULL, 0);
    json *s;

    compare_with_yajl(data, size, 0);
    compare_with_yajl(data, size, 1);
    /* The strict parse accepts a subset of what json_parse accepts, with
     * the same tree. */
    if (strict && (!j || !json_equal(strict, j)))
        abort();
    json_free(strict);
    if (j) {
        compare_with_reference(j, 1);
        json *copy = json_copy(j);
        if (!copy || !json_equal(copy, j))
            abort();
        json_free(copy);
        json_free(j);
    }
    s = json_stringn((const char *)data, size);
    if (s) {
        compare_with_reference(s, 0);
        json_free(s);
    }
    return 0;
}
