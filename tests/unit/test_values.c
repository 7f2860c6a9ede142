/* Unit tests of the UTF-8 helpers that keep SCIM messages valid JSON text,
 * of string coercion, and of the member order that normalisation writes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "scim/scim_const.h"
#include "scim/values.h"

static const struct {
    const char *in;
    const char *out;
} repairs[] = {
    {"plain", "plain"},
    {"caf\xc3\xa9", "caf\xc3\xa9"},
    {"cut \xc3", "cut "},                  /* two-byte sequence cut at the end */
    {"cut \xe2\x82", "cut "},              /* three-byte sequence cut at the end */
    {"bad \xff here", "bad ? here"},
    {"half \xc3( x", "half ?( x"},
    {"overlong \xc0\xaf", "overlong ??"},
    {"surrogate \xed\xa0\x80", "surrogate ???"},
    {"too big \xf4\x90\x80\x80", "too big ????"},
    {"max \xf4\x8f\xbf\xbf", "max \xf4\x8f\xbf\xbf"},
    {"stray \x80\x80", "stray ??"},
};

START_TEST(utf8_repair_cases)
{
    char buf[64];
    strcpy(buf, repairs[_i].in);
    size_t n = scim_utf8_repair(buf);
    ck_assert_str_eq(buf, repairs[_i].out);
    ck_assert_uint_eq(n, strlen(repairs[_i].out));
}
END_TEST

/* A text is valid exactly when the repair leaves it as it is. */
START_TEST(utf8_valid_cases)
{
    const char *in = repairs[_i].in;

    ck_assert_int_eq(scim_utf8_valid(in, strlen(in)), strcmp(in, repairs[_i].out) == 0);
}
END_TEST

/* A bad byte, and a valid 2-byte sequence, at each position of ASCII text
 * that spans two 8-byte words and a tail. */
START_TEST(utf8_valid_each_position)
{
    char text[20];

    for (int pos = 0; pos < 18; pos++) {
        memset(text, 'a', 19);
        text[pos] = (char)0xff;
        ck_assert_msg(!scim_utf8_valid(text, 19), "0xff at %d passed", pos);
        text[pos] = (char)0xc3;
        text[pos + 1] = (char)0xa9;
        ck_assert_msg(scim_utf8_valid(text, 19), "\\xc3\\xa9 at %d failed", pos);
        ck_assert_msg(!scim_utf8_valid(text, (size_t)pos + 1), "cut \\xc3 at %d passed", pos);
    }
}
END_TEST

static const struct {
    const char *s;
    int max;
    int want;
} prefixes[] = {
    {"abc", 10, 3},
    {"abc", 2, 2},
    {"a\xc3\xa9", 2, 1},   /* the cut falls inside é */
    {"a\xc3\xa9", 3, 3},
    {"\xe2\x82\xac!", 2, 0},
    {"\xe2\x82\xac!", 3, 3},
    {"", 5, 0},
};

START_TEST(utf8_prefix_cases)
{
    ck_assert_int_eq(scim_utf8_prefix(prefixes[_i].s, prefixes[_i].max), prefixes[_i].want);
}
END_TEST

static const struct {
    const char *value;
    int ok;
} strings[] = {
    {"\"text\"", 1}, {"12345", 0}, {"1.5", 0}, {"true", 0}, {"{\"a\":1}", 0},
};

START_TEST(string_coercion_cases)
{
    const scim_attr *attr = NULL, *sub = NULL;
    scim_error err = {0};
    json *v = json_parse(strings[_i].value, strlen(strings[_i].value), NULL, 0);

    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(scim_schema_lookup(scim_schema_user(), "title", &attr, &sub, NULL), 0);
    int rc = scim_value_coerce(attr, "title", &v, &err);
    ck_assert_int_eq(rc == 0, strings[_i].ok);
    if (!strings[_i].ok) {
        ck_assert_int_eq(err.status, 400);
        ck_assert_str_eq(err.scim_type, "invalidValue");
        ck_assert_ptr_nonnull(strstr(err.detail, "title"));
    } else {
        ck_assert_int_eq(json_typeof(v), JSON_STRING);
    }
    json_free(v);
}
END_TEST

#define CORE "urn:ietf:params:scim:schemas:core:2.0:User"
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

/* Create bodies and the exact text of their normalised form, members in
 * order. Values already in canonical form are kept as they are, and the
 * others are rebuilt, so both kinds are listed. */
static const struct {
    const char *input;
    const char *expected;
} normalized[] = {
    {"{\"schemas\":[\"" CORE "\"],\"userName\":\"a@x\",\"externalId\":\"e\","
     "\"name\":{\"givenName\":\"G\",\"familyName\":\"F\"},\"displayName\":\"G F\","
     "\"emails\":[{\"primary\":true,\"value\":\"a@x\",\"type\":\"work\"}],\"active\":true}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a@x\",\"externalId\":\"e\","
     "\"name\":{\"givenName\":\"G\",\"familyName\":\"F\"},\"displayName\":\"G F\","
     "\"emails\":[{\"primary\":true,\"value\":\"a@x\",\"type\":\"work\"}],\"active\":true}"},
    {"{\"userName\":\"a\",\"name\":{\"FamilyName\":\"F\",\"givenName\":\"G\"}}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"name\":{\"familyName\":\"F\","
     "\"givenName\":\"G\"},\"active\":true}"},
    {"{\"userName\":\"a\",\"name\":{\"givenName\":\"G\",\"nickName\":\"n\",\"familyName\":null}}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"name\":{\"givenName\":\"G\"},"
     "\"active\":true}"},
    {"{\"userName\":\"a\",\"emails\":[{\"value\":\"x\",\"primary\":\"True\"},null,"
     "{\"value\":\"y\",\"VALUE\":\"z\"}]}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"emails\":[{\"value\":\"x\","
     "\"primary\":true},{\"value\":\"z\"}],\"active\":true}"},
    {"{\"userName\":\"a\",\"emails\":{\"value\":\"x\"},\"phoneNumbers\":[{}]}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"emails\":[{\"value\":\"x\"}],"
     "\"phoneNumbers\":[{}],\"active\":true}"},
    {"{\"userName\":\"a\",\"" ENT "\":{\"manager\":{\"value\":\"m\",\"displayName\":\"B\"},"
     "\"department\":\"D\"}}",
     "{\"schemas\":[\"" CORE "\",\"" ENT "\"],\"userName\":\"a\",\"" ENT "\":{\"manager\":"
     "{\"value\":\"m\"},\"department\":\"D\"},\"active\":true}"},
    {"{\"userName\":\"a\",\"" ENT "\":{\"manager\":\"m\"}}",
     "{\"schemas\":[\"" CORE "\",\"" ENT "\"],\"userName\":\"a\",\"" ENT "\":{\"manager\":"
     "{\"value\":\"m\"}},\"active\":true}"},
    {"{\"userName\":\"a\",\"name.givenName\":\"G\",\"" ENT ":department\":\"D\","
     "\"" CORE ":title\":\"T\",\"USERNAME\":\"a\"}",
     "{\"schemas\":[\"" CORE "\",\"" ENT "\"],\"userName\":\"a\",\"name\":{\"givenName\":\"G\"},"
     "\"" ENT "\":{\"department\":\"D\"},\"title\":\"T\",\"active\":true}"},
    {"{\"userName\":\"a\",\"" ENT "\":{\"department\":\"D\",\"costCenter\":null},"
     "\"title\":\"T\",\"id\":\"x\",\"" ENT ":division\":\"V\",\"nickName\":\"n\"}",
     "{\"schemas\":[\"" CORE "\",\"" ENT "\"],\"userName\":\"a\",\"" ENT "\":{\"department\":"
     "\"D\",\"division\":\"V\"},\"title\":\"T\",\"nickName\":\"n\",\"active\":true}"},
    {"{\"schemas\":[\"x\"],\"userName\":\"a\",\"id\":\"x\",\"password\":\"p\",\"title\":null,"
     "\"groups\":[],\"nickName\":\"n\",\"unknownAttr\":1}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"nickName\":\"n\",\"active\":true}"},
    {"{\"schemas\":[],\"userName\":\"a\",\"active\":false,\"Title\":\"T\",\"nickName\":\"n\"}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"active\":false,\"title\":\"T\","
     "\"nickName\":\"n\"}"},
    {"{\"schemas\":[],\"userName\":\"a\",\"emails\":[{\"value\":\"x\"},null]}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"emails\":[{\"value\":\"x\"}],"
     "\"active\":true}"},
    {"{\"schemas\":[\"" CORE "\",\"" ENT "\"],\"userName\":\"a\",\"active\":\"True\",\"" ENT
     "\":{\"department\":\"D\",\"manager\":\"m\",\"costCenter\":null},\"title\":\"T\"}",
     "{\"schemas\":[\"" CORE "\",\"" ENT "\"],\"userName\":\"a\",\"active\":true,\"" ENT
     "\":{\"department\":\"D\",\"manager\":{\"value\":\"m\"}},\"title\":\"T\"}"},
    {"{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"" ENT "\":{\"nosuch\":1},\"active\":false}",
     "{\"schemas\":[\"" CORE "\"],\"userName\":\"a\",\"active\":false}"},
};

START_TEST(normalize_member_order)
{
    const char *text = normalized[_i].input;
    json *v = json_parse(text, strlen(text), NULL, 0);
    scim_error err = {0};
    char *out;

    ck_assert_ptr_nonnull(v);
    ck_assert_msg(scim_resource_normalize(scim_schema_user(), v, SCIM_NORMALIZE_CREATE, &err) == 0,
                  "%s: %s", text, err.detail);
    out = json_dump(v, NULL);
    ck_assert_str_eq(out, normalized[_i].expected);
    free(out);
    json_free(v);
}
END_TEST

/* Coercion errors name the attribute, also in an extension object. */
START_TEST(normalize_error_in_extension)
{
    const char *text = "{\"schemas\":[],\"userName\":\"a\",\"" ENT "\":{\"manager\":5}}";
    json *v = json_parse(text, strlen(text), NULL, 0);
    scim_error err = {0};

    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(scim_resource_normalize(scim_schema_user(), v, SCIM_NORMALIZE_CREATE, &err),
                     -1);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.detail, "attribute '" ENT ":manager' must be an object, not a number");
    json_free(v);
}
END_TEST

/* Bodies with "primary": true on more than one value of one attribute,
 * given in canonical and in non-canonical form (through both ways of
 * normalising), and the attribute the error must name. */
static const struct {
    const char *input, *attr;
} two_primaries[] = {
    {"{\"userName\":\"a\",\"emails\":[{\"value\":\"x@e.com\",\"primary\":true},"
     "{\"value\":\"y@e.com\",\"primary\":true}]}",
     "emails"},
    {"{\"USERNAME\":\"a\",\"phoneNumbers\":[{\"value\":\"1\",\"primary\":\"True\"},"
     "{\"value\":\"2\",\"primary\":\"true\"}]}",
     "phoneNumbers"},
};

START_TEST(two_primaries_rejected)
{
    const char *text = two_primaries[_i].input;
    json *v = json_parse(text, strlen(text), NULL, 0);
    scim_error err = {0};

    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(scim_resource_normalize(scim_schema_user(), v, SCIM_NORMALIZE_CREATE, &err),
                     -1);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_VALUE);
    ck_assert_msg(strncmp(err.detail, two_primaries[_i].attr, strlen(two_primaries[_i].attr)) == 0,
                  "%s", err.detail);
    ck_assert_ptr_nonnull(strstr(err.detail, "at most one may be primary"));
    json_free(v);
}
END_TEST

/* One primary value, or several values none of them primary, pass. */
START_TEST(one_primary_accepted)
{
    const char *text = "{\"userName\":\"a\",\"emails\":[{\"value\":\"x@e.com\",\"primary\":true},"
                       "{\"value\":\"y@e.com\",\"primary\":false},{\"value\":\"z@e.com\"}]}";
    json *v = json_parse(text, strlen(text), NULL, 0);
    scim_error err = {0};

    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(scim_resource_normalize(scim_schema_user(), v, SCIM_NORMALIZE_CREATE, &err),
                     0);
    json_free(v);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("values");
    TCase *tc = tcase_create("utf8");

    tcase_add_loop_test(tc, utf8_repair_cases, 0, sizeof repairs / sizeof repairs[0]);
    tcase_add_loop_test(tc, utf8_valid_cases, 0, sizeof repairs / sizeof repairs[0]);
    tcase_add_test(tc, utf8_valid_each_position);
    tcase_add_loop_test(tc, utf8_prefix_cases, 0, sizeof prefixes / sizeof prefixes[0]);
    tcase_add_loop_test(tc, string_coercion_cases, 0, sizeof strings / sizeof strings[0]);
    tcase_add_loop_test(tc, normalize_member_order, 0, sizeof normalized / sizeof normalized[0]);
    tcase_add_test(tc, normalize_error_in_extension);
    tcase_add_loop_test(tc, two_primaries_rejected, 0,
                        sizeof two_primaries / sizeof two_primaries[0]);
    tcase_add_test(tc, one_primary_accepted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
