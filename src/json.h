/* Mutable JSON document tree, parsed with yajl and written with yajl_gen.
 *
 * SCIM resources, PATCH bodies, OIDC documents and admin API bodies are all
 * handled as json trees. A tree owns all of its children: freeing the root
 * frees everything below it. Functions that take a `json *item` argument
 * documented as "takes ownership" free it on failure too. Object members keep
 * their insertion order; keys are compared exactly by json_object_get and
 * without regard to ASCII case by json_object_geti (SCIM attribute names are
 * case-insensitive). Not thread-safe per tree; distinct trees are independent.
 */
#ifndef IDGATE_JSON_H
#define IDGATE_JSON_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Every function below has hidden visibility. Their names are the same as
 * jansson's, which cjose links against; a default-visibility definition in
 * the executable would be exported and would take the place of jansson's
 * inside cjose, whatever the link flags. */
#pragma GCC visibility push(hidden)

typedef enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

typedef struct json json;

/* Maximum nesting depth json_parse accepts; deeper input is rejected. */
#define JSON_MAX_DEPTH 64

/* Maximum members of one object json_parse accepts. Each new key is
 * compared with the object's earlier keys, so a bound keeps one request
 * from holding the event loop: 94,000 keys took 11 to 26 s of CPU. */
#define JSON_MAX_MEMBERS 1000

/* Parses `len` bytes of UTF-8 JSON text. Returns a new tree the caller frees
 * with json_free, or NULL on invalid input, with a one-line reason (including
 * the byte offset) written to `err` when it is not NULL. Strings containing
 * U+0000, nesting deeper than JSON_MAX_DEPTH and objects of more than
 * JSON_MAX_MEMBERS members are rejected. */
json *json_parse(const char *text, size_t len, char *err, size_t errlen);

/* Parses like json_parse, for text from a client: it also rejects strings
 * and keys that are not well-formed UTF-8 (overlong forms, encoded
 * surrogates, code points above U+10FFFF) and \u escapes of unpaired
 * surrogates. Records already in the store are read with json_parse, since
 * older builds stored such strings. */
json *json_parse_input(const char *text, size_t len, char *err, size_t errlen);

/* Parses like json_parse_input when `strict` is 1 and like json_parse when
 * it is 0, with yajl alone. Those two first try a faster hand-written parser
 * and give the text to yajl when it declines, so this exists for tests that
 * compare the two parsers. */
json *json_parse_with_yajl(const char *text, size_t len, int strict, char *err, size_t errlen);

/* Frees a tree and all its children. NULL is allowed. */
void json_free(json *j);

/* Constructors. Each returns a new node or NULL when out of memory. */
json *json_null(void);
json *json_bool(int value);
json *json_int(int64_t value);
json *json_double(double value);
json *json_string(const char *s);
json *json_stringn(const char *s, size_t len);
json *json_array(void);
json *json_object(void);

/* Deep copy; NULL when out of memory. */
json *json_copy(const json *j);

/* Exchanges the contents (type, value, children) of two nodes, so that a
 * subtree can move out of a tree without a copy: swap it with a new null
 * node. Neither node may be inside the other. Returns 0, or -1 when out of
 * memory (a string or number may need a copy of its text), with both nodes
 * unchanged. */
int json_swap(json *a, json *b);

/* Frees the contents of `dst` (its value and children) and moves those of
 * `src` into it, then frees the node `src`: afterwards `dst` is what `src`
 * was. Neither node may be inside the other. Returns 0, or -1 when out of
 * memory (text or children that the parser stored inside `src`'s
 * allocation need a copy), with both nodes unchanged. */
int json_move(json *dst, json *src);

/* Deep equality: same type, same numbers, strings, elements in order, and
 * the same object members in any order (keys compared exactly). */
int json_equal(const json *a, const json *b);

json_type json_typeof(const json *j);
/* Accessors return 0, 0.0 or NULL when the node has another type. */
int json_bool_value(const json *j);
int64_t json_int_value(const json *j);
double json_double_value(const json *j);
/* 1 when the number has no fraction or exponent and fits in int64_t. */
int json_is_integer(const json *j);
/* Valid as long as the node is neither freed nor changed. */
const char *json_string_value(const json *j);
size_t json_string_length(const json *j);

size_t json_array_size(const json *j);
/* Borrowed pointer, valid until the array changes. NULL when out of range. */
json *json_array_get(const json *j, size_t i);
/* Appends `item`, taking ownership. Returns 0, or -1 when out of memory. */
int json_array_append(json *arr, json *item);
/* Removes element `i` and returns it; the caller frees it. NULL when out of range. */
json *json_array_take(json *arr, size_t i);
/* Puts `item` in place of element `i`, taking ownership, and returns the
 * element it replaces for the caller to free. NULL, with `item` freed,
 * when `i` is out of range. */
json *json_array_replace(json *arr, size_t i, json *item);
/* Removes and frees element `i`. */
void json_array_remove(json *arr, size_t i);

size_t json_object_size(const json *j);
/* Member `i` in insertion order; borrowed. NULL when out of range. */
const char *json_object_key_at(const json *j, size_t i);
json *json_object_value_at(const json *j, size_t i);
/* Puts `value` in place of the value of member `i`, taking ownership, and
 * returns the value it replaces for the caller to free. NULL, with `value`
 * freed, when `i` is out of range. */
json *json_object_replace_at(json *obj, size_t i, json *value);
/* Borrowed member value, or NULL. `geti` ignores ASCII case. */
json *json_object_get(const json *obj, const char *key);
json *json_object_geti(const json *obj, const char *key);
/* Sets `key` to `value`, taking ownership of `value`; an existing member
 * with exactly that key is replaced in place. Returns 0 or -1. */
int json_object_set(json *obj, const char *key, json *value);
/* Like json_object_set, but an existing member whose key matches without
 * regard to ASCII case is replaced, keeping the existing key's spelling. */
int json_object_seti(json *obj, const char *key, json *value);
/* Removes the member and returns its value for the caller to free, or NULL. */
json *json_object_take(json *obj, const char *key);
json *json_object_takei(json *obj, const char *key);
/* Removes and frees the member if present. */
void json_object_remove(json *obj, const char *key);
void json_object_removei(json *obj, const char *key);

/* Convenience: the string value of a member (case-insensitive key), or NULL
 * when missing or not a string. Borrowed. */
const char *json_get_string(const json *obj, const char *key);

/* Serializes compactly. Returns a NUL-terminated malloc'd string the caller
 * frees, with its length in `*len` when `len` is not NULL; NULL on failure. */
char *json_dump(const json *j, size_t *len);
/* Appends the compact serialization to `out`. Returns 0 or -1. */
int json_dump_evbuffer(const json *j, struct evbuffer *out);

/* A JSON text written piece by piece: raw text, strings and serialized
 * values, for records whose layout the caller fixes. Start from a zeroed
 * struct; json_text_take hands over the text. A failure (out of memory, a
 * string that is not UTF-8) makes every later call a no-op. */
typedef struct json_text {
    char *buf;
    size_t len, cap;
    int failed;
} json_text;

void json_text_raw(json_text *t, const char *s, size_t n);
/* Appends `s` as a JSON string, with quotes and escapes. */
void json_text_string(json_text *t, const char *s);
/* Appends the compact serialization of `j`, as json_dump writes it. */
void json_text_value(json_text *t, const json *j);
/* Returns the NUL-terminated text (malloc'd, the caller frees it) with its
 * length in `*len`, or NULL when any call failed. Leaves `t` zeroed. */
char *json_text_take(json_text *t, size_t *len);

#pragma GCC visibility pop

#endif
