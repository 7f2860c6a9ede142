#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <yajl/yajl_gen.h>

#include "json.h"

/* Inputs that must come back byte for byte from json_dump. */
static const char *const roundtrips[] = {
    "{}",
    "[]",
    "null",
    "true",
    "\"text\"",
    "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
    "[12345678901234567890123]",
    "[0.1000000000000000055511151231257827]",
    "[-0,1e400,1E-7,2.50]",
    "{\"z\":1,\"a\":2,\"m\":3}",
    "[\"caf\xc3\xa9\",\"\xf0\x9f\x98\x80\"]",
    "[\"quote\\\" backslash\\\\ tab\\t newline\\n\"]",
};

START_TEST(json_roundtrip_table)
{
    const char *text = roundtrips[_i];
    char err[128] = "";
    json *j = json_parse(text, strlen(text), err, sizeof(err));
    size_t len = 0;
    char *out;

    ck_assert_msg(j != NULL, "%s: %s", text, err);
    out = json_dump(j, &len);
    ck_assert_str_eq(out, text);
    ck_assert_uint_eq(len, strlen(text));
    free(out);
    json_free(j);
}
END_TEST

/* Offsets are where yajl stopped, just after the offending token. */
struct error_case {
    const char *text;
    size_t len;
    const char *message;
};

static const struct error_case errors[] = {
    {"", 0, "invalid JSON at byte 0"},
    {"{", 1, "invalid JSON at byte 1"},
    {"{\"a\":}", 6, "invalid JSON at byte 6: parse error"},
    {"[1,]", 4, "invalid JSON at byte 4: parse error"},
    {"{} x", 4, "invalid JSON at byte 4: parse error: trailing garbage"},
    {"[\"a\\u0000b\"]", 12, "invalid JSON at byte 11: string contains U+0000"},
    {"{\"a\\u0000\":1}", 13, "invalid JSON at byte 10: object key contains U+0000"},
    {"[\"\xff\"]", 5, "invalid JSON at byte"},
    {"[1] // comment", 14, "invalid JSON at byte"},
    {"{'a':1}", 7, "invalid JSON at byte 2: lexical error"},
};

/* Client text that json_parse_input rejects. The malformed UTF-8 cases are
 * read by json_parse, because older builds stored such strings and stored
 * records must stay readable. */
static const struct {
    const char *text;
    size_t len;
    const char *message;
    int stored; /* json_parse must read it */
} input_errors[] = {
    {"[\"o\xc0\xaf\"]", 7, "invalid JSON at byte 6: string is not valid UTF-8", 1},
    {"[\"\xc0\x80\"]", 6, "invalid JSON at byte 5: string is not valid UTF-8", 1},
    {"[\"\xe0\x80\xaf\"]", 7, "invalid JSON at byte 6: string is not valid UTF-8", 1},
    {"[\"\xed\xa0\x80\"]", 7, "invalid JSON at byte 6: string is not valid UTF-8", 1},
    {"[\"\xf0\x80\x80\xaf\"]", 8, "invalid JSON at byte 7: string is not valid UTF-8", 1},
    {"[\"\xf4\x90\x80\x80\"]", 8, "invalid JSON at byte 7: string is not valid UTF-8", 1},
    {"[\"\xf5\x80\x80\x80\"]", 8, "invalid JSON at byte", 1},
    {"{\"\xed\xbf\xbf\":1}", 9, "invalid JSON at byte 6: object key is not valid UTF-8", 1},
    {"[\"s\\ud800\\u0041\"]", 17, "invalid JSON at byte 3: unpaired surrogate escape", 0},
    {"[\"\\ud800x\"]", 11, "invalid JSON at byte 2: unpaired surrogate escape", 0},
    {"[\"\\udc00\"]", 10, "invalid JSON at byte 2: unpaired surrogate escape", 0},
    {"[\"\\ud800\"]", 10, "invalid JSON at byte 2: unpaired surrogate escape", 0},
};

START_TEST(json_input_error_table)
{
    char err[160] = "";
    json *lenient;

    ck_assert_ptr_null(json_parse_input(input_errors[_i].text, input_errors[_i].len, err,
                                        sizeof(err)));
    ck_assert_msg(strncmp(err, input_errors[_i].message, strlen(input_errors[_i].message)) == 0,
                  "%s: got '%s'", input_errors[_i].text, err);
    if (!input_errors[_i].stored)
        return;
    lenient = json_parse(input_errors[_i].text, input_errors[_i].len, err, sizeof(err));
    ck_assert_msg(lenient != NULL, "%s: json_parse failed: %s", input_errors[_i].text, err);
    json_free(lenient);
}
END_TEST

/* Texts at the edges of the UTF-8 and surrogate checks that must parse,
 * with the string they hold. */
static const struct {
    const char *text;
    const char *value;
} valid_strings[] = {
    {"[\"\xc2\x80\xdf\xbf\"]", "\xc2\x80\xdf\xbf"},
    {"[\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\"]", "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"},
    {"[\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"]", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"},
    {"[\"\\ud83d\\ude00\"]", "\xf0\x9f\x98\x80"},
    {"[\"\\\\ud800\"]", "\\ud800"},
    {"[\"\\u00e9\\uFFFD\"]", "\xc3\xa9\xef\xbf\xbd"},
};

START_TEST(json_strict_utf8_accepts_edges)
{
    const char *text = valid_strings[_i].text;
    char err[160] = "";
    json *v = json_parse_input(text, strlen(text), err, sizeof(err));

    ck_assert_msg(v != NULL, "%s: %s", text, err);
    ck_assert_str_eq(json_string_value(json_array_get(v, 0)), valid_strings[_i].value);
    json_free(v);
}
END_TEST

START_TEST(json_error_table)
{
    const struct error_case *c = &errors[_i];
    char err[160] = "";

    ck_assert_ptr_null(json_parse(c->text, c->len, err, sizeof(err)));
    ck_assert_msg(strncmp(err, c->message, strlen(c->message)) == 0, "%s: got '%s'", c->text,
                  err);
}
END_TEST

START_TEST(json_depth_limit)
{
    char text[2 * (JSON_MAX_DEPTH + 2)];
    char err[160] = "";
    json *j;
    size_t n;

    for (n = JSON_MAX_DEPTH; n <= JSON_MAX_DEPTH + 1; n++) {
        memset(text, '[', n);
        memset(text + n, ']', n);
        j = json_parse(text, 2 * n, err, sizeof(err));
        if (n == JSON_MAX_DEPTH) {
            ck_assert_msg(j != NULL, "%s", err);
            json_free(j);
        } else {
            ck_assert_ptr_null(j);
            ck_assert_msg(strstr(err, "nesting too deep") != NULL, "%s", err);
        }
    }
}
END_TEST

START_TEST(json_numbers)
{
    const char *text = "[42,-7,3.5,9223372036854775807,1e3,12345678901234567890]";
    json *j = json_parse(text, strlen(text), NULL, 0);

    ck_assert_int_eq(json_is_integer(json_array_get(j, 0)), 1);
    ck_assert_int_eq(json_int_value(json_array_get(j, 0)), 42);
    ck_assert_int_eq(json_int_value(json_array_get(j, 1)), -7);
    ck_assert_int_eq(json_is_integer(json_array_get(j, 2)), 0);
    ck_assert_double_eq(json_double_value(json_array_get(j, 2)), 3.5);
    ck_assert_int_eq(json_int_value(json_array_get(j, 3)), INT64_MAX);
    ck_assert_int_eq(json_is_integer(json_array_get(j, 4)), 0);
    ck_assert_int_eq(json_int_value(json_array_get(j, 4)), 1000);
    ck_assert_int_eq(json_is_integer(json_array_get(j, 5)), 0);
    ck_assert(json_equal(json_array_get(j, 4), json_array_get(j, 4)));
    json_free(j);

    j = json_int(INT64_MIN);
    ck_assert_int_eq(json_int_value(j), INT64_MIN);
    json_free(j);
    j = json_double(0.25);
    ck_assert_double_eq(json_double_value(j), 0.25);
    json_free(j);
    j = json_double(1.0 / 0.0);
    ck_assert_int_eq(json_typeof(j), JSON_NULL);
    json_free(j);
}
END_TEST

START_TEST(json_object_operations)
{
    json *o = json_object(), *v;
    char *out;

    ck_assert_int_eq(json_object_set(o, "userName", json_string("a")), 0);
    ck_assert_int_eq(json_object_set(o, "active", json_bool(1)), 0);
    ck_assert_ptr_null(json_object_get(o, "username"));
    ck_assert_str_eq(json_get_string(o, "USERNAME"), "a");
    ck_assert_int_eq(json_object_seti(o, "USERNAME", json_string("b")), 0);
    ck_assert_str_eq(json_object_key_at(o, 0), "userName");
    ck_assert_str_eq(json_get_string(o, "userName"), "b");
    ck_assert_uint_eq(json_object_size(o), 2);
    v = json_object_takei(o, "ACTIVE");
    ck_assert_int_eq(json_bool_value(v), 1);
    json_free(v);
    ck_assert_uint_eq(json_object_size(o), 1);
    json_object_removei(o, "username");
    ck_assert_uint_eq(json_object_size(o), 0);
    ck_assert_int_eq(json_object_set(o, "k", json_null()), 0);
    out = json_dump(o, NULL);
    ck_assert_str_eq(out, "{\"k\":null}");
    free(out);
    ck_assert_int_eq(json_object_set(NULL, "k", json_null()), -1);
    json_free(o);
}
END_TEST

START_TEST(json_array_operations)
{
    json *a = json_array(), *v;

    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(json_array_append(a, json_int(i)), 0);
    ck_assert_uint_eq(json_array_size(a), 10);
    v = json_array_take(a, 3);
    ck_assert_int_eq(json_int_value(v), 3);
    json_free(v);
    ck_assert_int_eq(json_int_value(json_array_get(a, 3)), 4);
    json_array_remove(a, 0);
    ck_assert_int_eq(json_int_value(json_array_get(a, 0)), 1);
    ck_assert_ptr_null(json_array_get(a, 100));
    ck_assert_ptr_null(json_array_take(a, 100));
    json_free(a);
}
END_TEST

START_TEST(json_copy_and_equal)
{
    const char *a_text = "{\"a\":[1,{\"b\":\"c\"}],\"d\":true}";
    const char *b_text = "{\"d\":true,\"a\":[1.0,{\"b\":\"c\"}]}";
    json *a = json_parse(a_text, strlen(a_text), NULL, 0);
    json *b = json_parse(b_text, strlen(b_text), NULL, 0);
    json *c = json_copy(a);

    ck_assert(json_equal(a, c));
    ck_assert(json_equal(a, b));
    json_object_set(c, "d", json_bool(0));
    ck_assert(!json_equal(a, c));
    ck_assert(json_equal(NULL, NULL));
    ck_assert(!json_equal(a, NULL));
    json_free(a);
    json_free(b);
    json_free(c);
}
END_TEST

START_TEST(json_string_with_length)
{
    json *s = json_stringn("abc\0def", 7);
    char *out;

    ck_assert_uint_eq(json_string_length(s), 7);
    out = json_dump(s, NULL);
    ck_assert_str_eq(out, "\"abc\\u0000def\"");
    free(out);
    json_free(s);

    s = json_string("\xff");
    ck_assert_ptr_null(json_dump(s, NULL));
    json_free(s);
}
END_TEST

/* The reference writer: yajl_gen as json.c used it before writing its own
 * output, with UTF-8 validation on and nothing else. Returns a malloc'd
 * string, or NULL when yajl_gen fails. */
static int reference_node(yajl_gen g, const json *j)
{
    yajl_gen_status s = yajl_gen_status_ok;

    switch (json_typeof(j)) {
    case JSON_NULL:
        return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -1;
    case JSON_BOOL:
        return yajl_gen_bool(g, json_bool_value(j)) == yajl_gen_status_ok ? 0 : -1;
    case JSON_NUMBER: {
        char *text = json_dump(j, NULL);
        s = yajl_gen_number(g, text, strlen(text));
        free(text);
        return s == yajl_gen_status_ok ? 0 : -1;
    }
    case JSON_STRING:
        s = yajl_gen_string(g, (const unsigned char *)json_string_value(j), json_string_length(j));
        return s == yajl_gen_status_ok ? 0 : -1;
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

static char *reference_dump(const json *j)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *buf;
    size_t n;
    char *out = NULL;

    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    if (reference_node(g, j) == 0 && yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok)
        out = strndup((const char *)buf, n);
    yajl_gen_free(g);
    return out;
}

/* Checks that json_dump and the reference agree on `j`: the same text, or
 * both failing. */
static void assert_dump_matches_reference(const json *j, const char *label)
{
    char *ours = json_dump(j, NULL);
    char *theirs = reference_dump(j);

    if (!theirs)
        ck_assert_msg(ours == NULL, "%s: json_dump wrote %s where yajl_gen fails", label, ours);
    else
        ck_assert_msg(ours && strcmp(ours, theirs) == 0, "%s: json_dump wrote %s, yajl_gen %s",
                      label, ours ? ours : "(failure)", theirs);
    free(ours);
    free(theirs);
}

START_TEST(json_dump_every_byte_like_yajl)
{
    char label[32];

    for (int c = 0; c < 256; c++) {
        char text[4] = {'a', (char)c, 'z', '\0'};
        json *arr = json_array();
        json *obj = json_object();

        json_array_append(arr, json_stringn(text, 3));
        json_object_set(obj, text[1] ? text : "a", json_stringn(text, 3));
        snprintf(label, sizeof(label), "byte 0x%02x", c);
        assert_dump_matches_reference(arr, label);
        assert_dump_matches_reference(obj, label);
        json_free(arr);
        json_free(obj);
    }
}
END_TEST

/* Every byte value at every offset of a 19-byte string, which the writer
 * reads as two 8-byte words and a tail, in a value and in a key. */
START_TEST(json_dump_every_byte_at_every_offset)
{
    char label[48];

    for (int c = 0; c < 256; c++) {
        for (size_t at = 0; at < 19; at++) {
            char text[20];
            json *arr = json_array();
            json *obj = json_object();

            memcpy(text, "abcdefghijklmnopqrs", 20);
            text[at] = (char)c;
            json_array_append(arr, json_stringn(text, 19));
            json_object_set(obj, c ? text : "a", json_stringn(text, 19));
            snprintf(label, sizeof(label), "byte 0x%02x at %zu", c, at);
            assert_dump_matches_reference(arr, label);
            assert_dump_matches_reference(obj, label);
            json_free(arr);
            json_free(obj);
        }
    }
}
END_TEST

/* Multi-byte sequences, valid and not: yajl_gen checks only their shape. */
static const char *const utf8_cases[] = {
    "caf\xc3\xa9",     "\xc3",          "\xc3\x28",        "\xe2\x82\xac",
    "\xe2\x82",        "\xf0\x9f\x98\x80", "\xf0\x9f\x98",    "\xc0\x80",
    "\xed\xa0\x80",    "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\x80",
    "\xbf\xbf",        "a\xe2\x82\xac" "b\xc3", "\x1f\x7f\xc2\x80",   "\"\\/\b\f\n\r\t",
};

START_TEST(json_dump_utf8_like_yajl)
{
    json *s = json_string(utf8_cases[_i]);
    json *obj = json_object();

    json_object_set(obj, utf8_cases[_i], json_string("v"));
    assert_dump_matches_reference(s, utf8_cases[_i]);
    assert_dump_matches_reference(obj, "key");
    json_free(s);
    json_free(obj);
}
END_TEST

/* Builds `depth` nested arrays or objects around a number. */
static json *nested(int depth, int objects)
{
    json *j = json_int(7);

    for (int i = 0; i < depth; i++) {
        json *outer = objects ? json_object() : json_array();
        if (objects)
            json_object_set(outer, "k", j);
        else
            json_array_append(outer, j);
        j = outer;
    }
    return j;
}

START_TEST(json_dump_depth_like_yajl)
{
    char label[32];

    for (int depth = 120; depth <= 132; depth++) {
        for (int objects = 0; objects <= 1; objects++) {
            json *j = nested(depth, objects);
            snprintf(label, sizeof(label), "%s depth %d", objects ? "objects" : "arrays", depth);
            assert_dump_matches_reference(j, label);
            json_free(j);
        }
    }
}
END_TEST

START_TEST(json_dump_large_like_yajl)
{
    json *arr = json_array();
    char text[64];

    /* Larger than json_dump_evbuffer's stack buffer, to cover its growth. */
    for (int i = 0; i < 2000; i++) {
        snprintf(text, sizeof(text), "element \"%d\"\n", i);
        json_array_append(arr, json_string(text));
    }
    assert_dump_matches_reference(arr, "2000 strings");
    json_free(arr);
}
END_TEST

/* A string swapped out of a tree keeps its text after the tree is freed. */
START_TEST(json_swap_moves_out_of_tree)
{
    const char *text = "{\"s\":\"text\",\"n\":12,\"a\":[\"x\"]}";
    json *obj = json_parse(text, strlen(text), NULL, 0);
    json *s = json_null(), *n = json_null(), *a = json_null();
    char *out;

    ck_assert_ptr_nonnull(obj);
    ck_assert_int_eq(json_swap(json_object_get(obj, "s"), s), 0);
    ck_assert_int_eq(json_swap(json_object_get(obj, "n"), n), 0);
    ck_assert_int_eq(json_swap(json_object_get(obj, "a"), a), 0);
    out = json_dump(obj, NULL);
    ck_assert_str_eq(out, "{\"s\":null,\"n\":null,\"a\":null}");
    free(out);
    json_free(obj);
    ck_assert_str_eq(json_string_value(s), "text");
    ck_assert_uint_eq(json_string_length(s), 4);
    ck_assert_int_eq(json_int_value(n), 12);
    ck_assert_str_eq(json_string_value(json_array_get(a, 0)), "x");
    json_free(s);
    json_free(n);
    json_free(a);

    s = json_string("left");
    n = json_string("right");
    ck_assert_int_eq(json_swap(s, n), 0);
    ck_assert_str_eq(json_string_value(s), "right");
    ck_assert_str_eq(json_string_value(n), "left");
    json_free(s);
    json_free(n);
}
END_TEST

/* 1 when two trees are equal with their object members in the same order. */
static int same_tree(const json *a, const json *b)
{
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_typeof(a) == JSON_ARRAY) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!same_tree(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        }
        return 1;
    }
    if (json_typeof(a) == JSON_OBJECT) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        for (size_t i = 0; i < json_object_size(a); i++) {
            if (strcmp(json_object_key_at(a, i), json_object_key_at(b, i)) != 0 ||
                !same_tree(json_object_value_at(a, i), json_object_value_at(b, i)))
                return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

/* Texts that exercise each case of the fast parser and each reason it
 * leaves a text to yajl. */
static const struct {
    const char *text;
    size_t len; /* 0: strlen(text) */
} both_parsers[] = {
    {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"a@b.example\","
     "\"name\":{\"givenName\":\"G\",\"familyName\":\"F\"},\"emails\":[{\"primary\":true,"
     "\"value\":\"a@b.example\",\"type\":\"work\"}],\"active\":true}", 0},
    {"{\"a\":1,\"a\":2}", 0},
    {"{\"a\":1,\"b\":2,\"a\":[3],\"b\":{}}", 0},
    {"[\"\\/\\b\\f\\n\\r\\t\\\"\\\\\",\"x\\\\u0041\"]", 0},
    {"{\"k\\/\":1,\"k/\":2}", 0},
    {"[\"\\u0041\",\"\\ud83d\\ude00\"]", 0},
    {"[\"\\x\"]", 0},
    {"[\"\\", 0},
    {"[0,-0,1.5,-1.5e10,1E+2,2e-3,123456789012345678901234567890]", 0},
    {"[01]", 0},
    {"[1.]", 0},
    {"[-]", 0},
    {"[1e]", 0},
    {"[1e+]", 0},
    {"[.5]", 0},
    {"[+1]", 0},
    {"[1.5.3]", 0},
    {"[true,false,null]", 0},
    {"[tru]", 0},
    {"[truex]", 0},
    {"[nul]", 0},
    {"[nullnull]", 0},
    {" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } , \"c\" : [ ] } \n", 0},
    {"\v{}", 0},
    {"{}\f", 0},
    {"{\"a\":1\v}", 0},
    {"1", 0},
    {" 12 ", 0},
    {"-3.5e7", 0},
    {"\"s\"", 0},
    {"true", 0},
    {"null ", 0},
    {"{} x", 0},
    {"{}{}", 0},
    {"[1,]", 0},
    {"{\"a\":1,}", 0},
    {"{,}", 0},
    {"[,1]", 0},
    {"{\"a\" 1}", 0},
    {"{\"a\":}", 0},
    {"{1:2}", 0},
    {"[\"abc", 0},
    {"{\"a\"", 0},
    {"{\"a\":", 0},
    {"[1", 0},
    {"[\"a\x01" "b\"]", 0},
    {"[\"a\tb\"]", 0},
    {"[\"\x7f\"]", 0},
    {"[\"caf\xc3\xa9\",\"\xf0\x9f\x98\x80\"]", 0},
    {"{\"caf\xc3\xa9\":\"\xe2\x82\xac\"}", 0},
    {"[\"\xc0\xaf\"]", 0},
    {"[\"\xed\xa0\x80\"]", 0},
    {"[\"\xc3\"]", 0},
    {"{\"\xed\xbf\xbf\":1}", 0},
    {"[\"a\0b\"]", 7},
    {"[1]\0", 4},
    {"", 0},
    {"   ", 0},
    {"\xef\xbb\xbf{}", 0},
    {"[1] // comment", 0},
};

/* The fast parser accepts only what yajl accepts, with the same tree, and
 * a text it declines gets yajl's error message. */
static void assert_parsers_agree(const char *text, size_t len, int strict)
{
    char fast_err[160] = "", yajl_err[160] = "";
    json *fast = strict ? json_parse_input(text, len, fast_err, sizeof(fast_err))
                        : json_parse(text, len, fast_err, sizeof(fast_err));
    json *slow = json_parse_with_yajl(text, len, strict, yajl_err, sizeof(yajl_err));

    ck_assert_msg((fast != NULL) == (slow != NULL), "%.60s (strict %d): fast %s, yajl %s", text,
                  strict, fast ? "accepts" : fast_err, slow ? "accepts" : yajl_err);
    ck_assert_msg(same_tree(fast, slow), "%.60s (strict %d): trees differ", text, strict);
    ck_assert_str_eq(fast_err, yajl_err);
    json_free(fast);
    json_free(slow);
}

START_TEST(json_fast_parser_like_yajl)
{
    const char *text = both_parsers[_i].text;
    size_t len = both_parsers[_i].len ? both_parsers[_i].len : strlen(text);

    assert_parsers_agree(text, len, 0);
    assert_parsers_agree(text, len, 1);
}
END_TEST

/* Nesting at and past the depth limit, and containers with more items
 * than the parser keeps on its stack. */
START_TEST(json_fast_parser_large_like_yajl)
{
    size_t cap = 64 * 1024, n;
    char *text = malloc(cap);

    ck_assert_ptr_nonnull(text);
    for (n = JSON_MAX_DEPTH - 1; n <= JSON_MAX_DEPTH + 1; n++) {
        for (size_t i = 0; i < n; i++)
            memcpy(text + 6 * i, "{\"a\":[", 6);
        for (size_t i = 0; i < n; i++)
            memcpy(text + 6 * n + 2 * i, "]}", 2);
        assert_parsers_agree(text, 8 * n, 0);
    }
    n = (size_t)snprintf(text, cap, "{");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"k%d\":[%d,\"v\",{}]", i ? "," : "", i % 250,
                              i);
    n += (size_t)snprintf(text + n, cap - n, "}");
    assert_parsers_agree(text, n, 1);
    n = (size_t)snprintf(text, cap, "[");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s[%d,{\"x\":%d}]", i ? "," : "", i, i);
    n += (size_t)snprintf(text + n, cap - n, "]");
    assert_parsers_agree(text, n, 1);
    free(text);
}
END_TEST

/* Every byte value at every offset of a 19-byte string, in a value and in
 * a key: the fast parser's table of plain bytes must agree with yajl. */
START_TEST(json_fast_parser_every_byte_like_yajl)
{
    char text[64];

    for (int byte = 0; byte < 256; byte++) {
        for (size_t at = 0; at < 19; at++) {
            memcpy(text, "[\"abcdefghijklmnopqrs\"]", 24);
            text[2 + at] = (char)byte;
            assert_parsers_agree(text, 24, 0);
            assert_parsers_agree(text, 24, 1);
            memcpy(text, "{\"abcdefghijklmnopqrs\":1}", 26);
            text[2 + at] = (char)byte;
            assert_parsers_agree(text, 26, 1);
        }
    }
}
END_TEST

/* Containers from the parser keep their children inside the node's
 * allocation. Every change to such a container must work as on a built
 * one. */
START_TEST(json_parsed_object_changes)
{
    const char *text = "{\"a\":1,\"b\":{\"c\":2},\"d\":\"x\",\"e\":[true]}";
    json *obj = json_parse(text, strlen(text), NULL, 0);
    json *taken, *b;
    char *out;

    ck_assert_ptr_nonnull(obj);
    taken = json_object_take(obj, "a");
    ck_assert_int_eq(json_int_value(taken), 1);
    json_free(taken);
    json_object_removei(obj, "E");
    ck_assert_int_eq(json_object_set(obj, "d", json_string("y")), 0);
    ck_assert_int_eq(json_object_set(obj, "f", json_null()), 0);
    b = json_object_get(obj, "b");
    ck_assert_int_eq(json_object_seti(b, "C", json_int(3)), 0);
    ck_assert_int_eq(json_object_set(b, "g", json_int(4)), 0);
    out = json_dump(obj, NULL);
    ck_assert_str_eq(out, "{\"b\":{\"c\":3,\"g\":4},\"d\":\"y\",\"f\":null}");
    free(out);

    b = json_null();
    ck_assert_int_eq(json_swap(json_object_get(obj, "b"), b), 0);
    json_free(obj);
    ck_assert_int_eq(json_int_value(json_object_get(b, "g")), 4);
    json_free(b);

    obj = json_parse(text, strlen(text), NULL, 0);
    taken = json_copy(obj);
    ck_assert(json_equal(taken, obj));
    json_free(taken);
    for (const char *k = "adeb"; *k; k++) {
        char key[2] = {*k, '\0'};
        json_object_remove(obj, key);
    }
    ck_assert_uint_eq(json_object_size(obj), 0);
    ck_assert_int_eq(json_object_set(obj, "z", json_bool(0)), 0);
    out = json_dump(obj, NULL);
    ck_assert_str_eq(out, "{\"z\":false}");
    free(out);
    json_free(obj);
}
END_TEST

START_TEST(json_parsed_array_changes)
{
    const char *text = "[[1,2,3],{\"k\":[\"x\"]},[]]";
    json *root = json_parse(text, strlen(text), NULL, 0);
    json *first, *taken, *moved, *other;
    char *out;

    ck_assert_ptr_nonnull(root);
    first = json_array_get(root, 0);
    taken = json_array_take(first, 1);
    ck_assert_int_eq(json_int_value(taken), 2);
    json_free(taken);
    ck_assert_int_eq(json_array_append(first, json_int(4)), 0);
    ck_assert_int_eq(json_array_append(first, json_int(5)), 0);
    json_array_remove(root, 2);
    ck_assert_int_eq(json_array_append(root, json_null()), 0);
    out = json_dump(root, NULL);
    ck_assert_str_eq(out, "[[1,3,4,5],{\"k\":[\"x\"]},null]");
    free(out);

    /* Two parsed containers trade places, and one moves out of the tree. */
    other = json_parse("[7,{\"a\":\"b\"}]", 13, NULL, 0);
    ck_assert_ptr_nonnull(other);
    ck_assert_int_eq(json_swap(json_array_get(root, 1), json_array_get(other, 1)), 0);
    moved = json_null();
    ck_assert_int_eq(json_swap(json_array_get(root, 0), moved), 0);
    json_free(other);
    out = json_dump(root, NULL);
    ck_assert_str_eq(out, "[null,{\"a\":\"b\"},null]");
    free(out);
    json_free(root);
    ck_assert_int_eq(json_array_append(moved, json_int(6)), 0);
    out = json_dump(moved, NULL);
    ck_assert_str_eq(out, "[1,3,4,5,6]");
    free(out);
    json_free(moved);
}
END_TEST

/* Replacing a child hands back the old one, and json_move takes over the
 * contents of a parsed or a built node. */
START_TEST(json_replace_and_move)
{
    const char *text = "{\"a\":[1,{\"b\":\"c\"}],\"d\":\"e\"}";
    json *obj = json_parse(text, strlen(text), NULL, 0);
    json *arr, *old, *built;
    char *out;

    ck_assert_ptr_nonnull(obj);
    arr = json_object_get(obj, "a");
    old = json_array_replace(arr, 1, json_null());
    ck_assert_str_eq(json_get_string(old, "b"), "c");
    ck_assert_ptr_null(json_array_replace(arr, 2, json_null()));
    old = json_object_replace_at(obj, 1, old);
    ck_assert_str_eq(json_string_value(old), "e");
    json_free(old);
    ck_assert_ptr_null(json_object_replace_at(obj, 2, json_null()));
    out = json_dump(obj, NULL);
    ck_assert_str_eq(out, "{\"a\":[1,null],\"d\":{\"b\":\"c\"}}");
    free(out);

    /* A parsed node moves into a built one, and a built one into a parsed
     * one. */
    built = json_object();
    ck_assert_int_eq(json_object_set(built, "x", json_int(1)), 0);
    ck_assert_int_eq(json_move(built, obj), 0);
    ck_assert_int_eq(json_object_set(built, "y", json_int(2)), 0);
    out = json_dump(built, NULL);
    ck_assert_str_eq(out, "{\"a\":[1,null],\"d\":{\"b\":\"c\"},\"y\":2}");
    free(out);
    obj = json_parse(text, strlen(text), NULL, 0);
    ck_assert_int_eq(json_move(json_object_get(obj, "a"), built), 0);
    out = json_dump(obj, NULL);
    ck_assert_str_eq(out, "{\"a\":{\"a\":[1,null],\"d\":{\"b\":\"c\"},\"y\":2},\"d\":\"e\"}");
    free(out);
    json_free(obj);
}
END_TEST

/* Builds an object of `n` members "k0".."k<n-1>"; with `escaped`, the last
 * key is written with a \u escape, which only the yajl path parses. */
static char *object_of(size_t n, int escaped)
{
    size_t cap = n * 16 + 16, len = 0;
    char *text = malloc(cap);

    ck_assert_ptr_nonnull(text);
    text[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        int last = i + 1 == n;
        len += (size_t)snprintf(text + len, cap - len, "%s\"%sk%zu\":1", i ? "," : "",
                                last && escaped ? "\\u0041" : "", i);
    }
    text[len++] = '}';
    text[len] = '\0';
    return text;
}

/* An object of JSON_MAX_MEMBERS members parses, one more is rejected by
 * every parser, on the fast path and on the yajl path. */
START_TEST(object_member_limit)
{
    for (int escaped = 0; escaped <= 1; escaped++) {
        char *ok = object_of(JSON_MAX_MEMBERS, escaped);
        char *over = object_of(JSON_MAX_MEMBERS + 1, escaped);
        char err[160];
        json *j;

        j = json_parse(ok, strlen(ok), NULL, 0);
        ck_assert_ptr_nonnull(j);
        ck_assert_uint_eq(json_object_size(j), JSON_MAX_MEMBERS);
        json_free(j);
        ck_assert_ptr_null(json_parse(over, strlen(over), err, sizeof err));
        ck_assert_msg(strstr(err, "more than 1000 members") != NULL, "%s", err);
        ck_assert_ptr_null(json_parse_input(over, strlen(over), err, sizeof err));
        ck_assert_msg(strstr(err, "more than 1000 members") != NULL, "%s", err);
        ck_assert_ptr_null(json_parse_with_yajl(over, strlen(over), 1, err, sizeof err));
        free(ok);
        free(over);
    }
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, json_roundtrip_table, 0,
                        (int)(sizeof(roundtrips) / sizeof(roundtrips[0])));
    tcase_add_loop_test(tc, json_error_table, 0, (int)(sizeof(errors) / sizeof(errors[0])));
    tcase_add_loop_test(tc, json_input_error_table, 0,
                        (int)(sizeof(input_errors) / sizeof(input_errors[0])));
    tcase_add_loop_test(tc, json_strict_utf8_accepts_edges, 0,
                        (int)(sizeof(valid_strings) / sizeof(valid_strings[0])));
    tcase_add_test(tc, object_member_limit);
    tcase_add_test(tc, json_depth_limit);
    tcase_add_test(tc, json_numbers);
    tcase_add_test(tc, json_object_operations);
    tcase_add_test(tc, json_array_operations);
    tcase_add_test(tc, json_copy_and_equal);
    tcase_add_test(tc, json_string_with_length);
    tcase_add_test(tc, json_dump_every_byte_like_yajl);
    tcase_add_test(tc, json_dump_every_byte_at_every_offset);
    tcase_add_loop_test(tc, json_dump_utf8_like_yajl, 0,
                        (int)(sizeof(utf8_cases) / sizeof(utf8_cases[0])));
    tcase_add_test(tc, json_dump_depth_like_yajl);
    tcase_add_test(tc, json_dump_large_like_yajl);
    tcase_add_test(tc, json_swap_moves_out_of_tree);
    tcase_add_loop_test(tc, json_fast_parser_like_yajl, 0,
                        (int)(sizeof(both_parsers) / sizeof(both_parsers[0])));
    tcase_add_test(tc, json_fast_parser_large_like_yajl);
    tcase_add_test(tc, json_fast_parser_every_byte_like_yajl);
    tcase_add_test(tc, json_parsed_object_changes);
    tcase_add_test(tc, json_parsed_array_changes);
    tcase_add_test(tc, json_replace_and_move);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(json_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
