/* Unit tests of scim_splice_resource and scim_splice_version. The spliced reply form of a stored
 * resource must be the same bytes as parsing the text, setting
 * meta.location and the extra member on the tree, and dumping it. Texts not
 * in the stored form must be left to the tree path. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "json.h"
#include "scim/splice.h"

#define ID "01a2426a-db09-7686-a3cd-572e11226d56"

/* Attributes of a stored resource (as JSON object text), the member that
 * rendering adds (JSON text, or NULL for none) and the location. */
static const struct {
    const char *type;
    const char *attributes;
    const char *extra_name;
    const char *extra;
    const char *location;
} accepted[] = {
    {"User", "{\"userName\":\"plain@example.com\",\"active\":true}", "groups", "[]",
     "https://idp.example/scim/v2/Users/" ID},
    {"User",
     "{\"userName\":\"zo\xc3\xab@\xe4\xbe\x8b\xe3\x81\x88.jp\",\"displayName\":\"\xf0\x9f\x98\x80\","
     "\"name\":{\"givenName\":\"Zo\xc3\xab\",\"familyName\":\"\xc3\x9cn\xc3\xaf\"}}",
     "groups",
     "[{\"value\":\"g1\",\"display\":\"\xc3\x9cn\xc3\xaf \\\"G\\\"\",\"type\":\"direct\"}]",
     "https://idp.example/scim/v2/Users/" ID},
    {"User",
     "{\"userName\":\"q\\\"b\\\\s\",\"title\":\"Tab\\tNL\\n\\u0001\\u001f\\u007f\\u2028 </x>\","
     "\"nickName\":\"\\\\\\\"}}\",\"x\":\",\\\"meta\\\":{\\\"resourceType\\\":\\\"User\\\",\"}",
     "groups", "[]", "http://127.0.0.1:8080/scim/v2/Users/" ID},
    {"User",
     "{\"userName\":\"ext\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
     "{\"employeeNumber\":\"42\",\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"1\\\"\"}}}",
     "groups", "[]", "http://h/scim/v2/Users/" ID},
    {"User", "{\"userName\":\"no-extra\"}", "groups", NULL, "http://h/scim/v2/Users/" ID},
    {"Group", "{\"displayName\":\"Eng \\\"\xf0\x9f\x98\x80\\\"\"}", "members",
     "[{\"value\":\"u1\",\"display\":\"A\",\"$ref\":\"http://h/scim/v2/Users/u1\","
     "\"type\":\"User\"},{\"value\":\"u2\",\"display\":\"\\u00e9\",\"type\":\"User\"}]",
     "http://h/scim/v2/Groups/" ID},
    {"Group", "{\"displayName\":\"Empty\",\"externalId\":\"e\"}", "members", "[]",
     "http://h/a\"b/scim/v2/Groups/" ID},
};

/* Builds the stored text of a resource as the store writes it: schemas,
 * id, the attributes, then meta with the version last. The caller frees
 * the result. */
static char *stored_text(const char *type, const char *attributes, size_t *len)
{
    json *in = json_parse(attributes, strlen(attributes), NULL, 0);
    json *res = json_object(), *schemas = json_array(), *meta = json_object();
    char *text;

    ck_assert_ptr_nonnull(in);
    json_array_append(schemas, json_string("urn:ietf:params:scim:schemas:core:2.0:User"));
    json_object_set(res, "schemas", schemas);
    json_object_set(res, "id", json_string(ID));
    for (size_t i = 0; i < json_object_size(in); i++)
        json_object_set(res, json_object_key_at(in, i), json_copy(json_object_value_at(in, i)));
    json_object_set(meta, "resourceType", json_string(type));
    json_object_set(meta, "created", json_string("2026-12-04T16:12:31.123Z"));
    json_object_set(meta, "lastModified", json_string("2026-12-04T16:12:31.123Z"));
    json_object_set(meta, "version", json_string("W/\"17\""));
    json_object_set(res, "meta", meta);
    text = json_dump(res, len);
    json_free(in);
    json_free(res);
    ck_assert_ptr_nonnull(text);
    return text;
}

/* Renders `text` the tree way: parse, set meta.location, add the extra
 * member, dump. The caller frees the result. */
static char *tree_form(const char *text, size_t len, const char *location, const char *extra_name,
                       const json *extra)
{
    json *res = json_parse(text, len, NULL, 0);
    char *out;

    ck_assert_ptr_nonnull(res);
    json_object_set(json_object_get(res, "meta"), "location", json_string(location));
    if (extra)
        json_object_set(res, extra_name, json_copy(extra));
    out = json_dump(res, NULL);
    json_free(res);
    return out;
}

static char *quoted(const char *s, size_t *len)
{
    json *j = json_string(s);
    char *out = json_dump(j, len);
    json_free(j);
    return out;
}

START_TEST(splice_matches_tree)
{
    size_t len, loc_len;
    char *text = stored_text(accepted[_i].type, accepted[_i].attributes, &len);
    char *location = quoted(accepted[_i].location, &loc_len);
    /* The prefix ends before the id and its closing quote. */
    size_t prefix_len = loc_len - strlen(ID) - 1;
    json *extra = accepted[_i].extra
                      ? json_parse(accepted[_i].extra, strlen(accepted[_i].extra), NULL, 0)
                      : NULL;
    char *want = tree_form(text, len, accepted[_i].location, accepted[_i].extra_name, extra);
    struct evbuffer *out = evbuffer_new();
    int rc = scim_splice_resource(text, len, accepted[_i].type, location, prefix_len, ID,
                                  extra ? accepted[_i].extra_name : NULL, out);

    /* The caller appends the extra member's value and closes the resource. */
    if (rc == 0 && extra) {
        ck_assert_int_eq(json_dump_evbuffer(extra, out), 0);
        ck_assert_int_eq(evbuffer_add(out, "}", 1), 0);
    }
    size_t n;
    char *got;

    ck_assert_int_eq(rc, 0);
    char version[32];
    ck_assert_int_eq(scim_splice_version(text, len, version), 0);
    ck_assert_str_eq(version, "W/\"17\"");
    n = evbuffer_get_length(out);
    got = (char *)evbuffer_pullup(out, -1);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_msg(memcmp(got, want, n) == 0, "spliced %.*s\nwanted  %s", (int)n, got, want);
    evbuffer_free(out);
    json_free(extra);
    free(want);
    free(location);
    free(text);
}
END_TEST

/* Texts that are not in the stored form, each with the resource type the
 * caller expects. */
static const struct {
    const char *type;
    const char *text;
} rejected[] = {
    {"User", "{\"id\":\"x\"}"},
    {"User", ""},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"1a\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"version\":\"\\\"1\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"Group\",\"version\":\"W/\\\"1\\\"\"}}"},
    {"Group", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"1\\\"\"}}"},
    {"User", "{\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"1\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"location\":\"http://h\","
             "\"version\":\"W/\\\"1\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"created\":\"}\","
             "\"version\":\"W/\\\"1\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"created\":\"{\","
             "\"version\":\"W/\\\"1\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"created\":\"c\",\"resourceType\":\"User\","
             "\"version\":\"W/\\\"1\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"Users\","
             "\"version\":\"W/\\\"1\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"v\":{\"a\":\"b\"},"
             "\"version\":\"W/\\\"1\\\"\"}}"},
    {"User", "{\"id\":\"x\",\"a\":{\"meta\":{\"resourceType\":\"User\","
             "\"version\":\"W/\\\"1\\\"\"}}}"},
    {"User", "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"1\\\"\"},"
             "\"b\":\"W/\\\"1\\\"\"}"},
};

START_TEST(splice_rejects_other_forms)
{
    const char *text = rejected[_i].text;
    struct evbuffer *out = evbuffer_new();
    int rc = scim_splice_resource(text, strlen(text), rejected[_i].type, "\"l/", 3, ID, "groups",
                                  out);

    ck_assert_msg(rc == 1, "accepted %s", text);
    ck_assert_uint_eq(evbuffer_get_length(out), 0);
    evbuffer_free(out);
}
END_TEST

/* Texts whose end is not a version W/"n" have none for the ETag. */
static const char *const no_version[] = {
    "",
    "{\"id\":\"x\"}",
    "{\"meta\":{\"version\":\"W/\\\"\\\"\"}}",
    "{\"meta\":{\"version\":\"W/\\\"1a\\\"\"}}",
    "{\"meta\":{\"version\":\"\\\"1\\\"\"}}",
    "{\"meta\":{\"version\":\"W/\\\"1\\\"\"},\"b\":1}",
};

START_TEST(version_needs_stored_tail)
{
    char version[32] = "unset";
    const char *text = no_version[_i];

    ck_assert_int_eq(scim_splice_version(text, strlen(text), version), 1);
    ck_assert_str_eq(version, "unset");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("splice");
    TCase *tc = tcase_create("resource");

    tcase_add_loop_test(tc, splice_matches_tree, 0, sizeof accepted / sizeof accepted[0]);
    tcase_add_loop_test(tc, splice_rejects_other_forms, 0, sizeof rejected / sizeof rejected[0]);
    tcase_add_loop_test(tc, version_needs_stored_tail, 0, sizeof no_version / sizeof no_version[0]);
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
