#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "json.h"
#include "scim/filter.h"
#include "scim/schema.h"

/* The example user of RFC 7643 section 8.2, trimmed, plus an unknown
 * numeric attribute for number comparisons. */
static const char *const bjensen_text =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
    "\"id\":\"2819c223-7f76-453a-919d-413861904646\",\"externalId\":\"bjensen\","
    "\"userName\":\"bjensen\",\"name\":{\"familyName\":\"Jensen\",\"givenName\":\"Barbara\","
    "\"formatted\":\"Ms. Barbara J Jensen III\"},\"title\":\"Tour Guide\","
    "\"userType\":\"Employee\",\"active\":true,"
    "\"emails\":[{\"value\":\"bjensen@example.com\",\"type\":\"work\",\"primary\":true},"
    "{\"value\":\"babs@jensen.org\",\"type\":\"home\"}],"
    "\"ims\":[{\"value\":\"someaimhandle\",\"type\":\"aim\"}],"
    "\"meta\":{\"resourceType\":\"User\",\"created\":\"2010-01-23T04:56:22Z\","
    "\"lastModified\":\"2011-05-13T04:42:34Z\"},\"xcount\":5,"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":"
    "\"701984\",\"department\":\"Tour Operations\",\"manager\":{\"value\":"
    "\"26118915-6090-4610-87e4-49d8ca9f808d\"}}}";

struct match_case {
    const char *filter;
    int expected;
};

static const struct match_case match_cases[] = {
    /* RFC 7644 section 3.4.2.2 examples. */
    {"userName eq \"bjensen\"", 1},
    {"name.familyName co \"O'Malley\"", 0},
    {"userName sw \"J\"", 0},
    {"urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"", 0},
    {"title pr", 1},
    {"meta.lastModified gt \"2011-05-13T04:42:34Z\"", 0},
    {"meta.lastModified ge \"2011-05-13T04:42:34Z\"", 1},
    {"meta.lastModified lt \"2011-05-13T04:42:34Z\"", 0},
    {"meta.lastModified le \"2011-05-13T04:42:34Z\"", 1},
    {"title pr and userType eq \"Employee\"", 1},
    {"title pr or userType eq \"Intern\"", 1},
    {"schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"", 1},
    {"userType eq \"Employee\" and (emails co \"example.com\" or emails.value co "
     "\"example.org\")",
     1},
    {"userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co "
     "\"example.org\")",
     0},
    {"userType eq \"Employee\" and (emails.type eq \"work\")", 1},
    {"userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]", 1},
    {"emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value "
     "co \"@foo.com\"]",
     1},
    /* Case rules: names and keywords in any case, caseExact per attribute. */
    {"USERNAME EQ \"BJENSEN\"", 1},
    {"userName Eq \"bJensen\" AnD title PR", 1},
    {"userName sw \"B\"", 1},
    {"urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"bj\"", 1},
    {"id eq \"2819c223-7f76-453a-919d-413861904646\"", 1},
    {"id eq \"2819C223-7F76-453A-919D-413861904646\"", 0},
    {"externalId eq \"BJENSEN\"", 0},
    {"externalId eq \"bjensen\"", 1},
    {"name.familyName co \"ens\"", 1},
    {"name.familyName ew \"SEN\"", 1},
    {"name.familyName ew \"xsen\"", 0},
    /* Precedence: and binds tighter than or. */
    {"title pr or userName eq \"x\" and nickName pr", 1},
    {"(title pr or userName eq \"x\") and nickName pr", 0},
    {"userName eq \"x\" and title pr or userType eq \"Employee\"", 1},
    {"userName eq \"x\" and (title pr or userType eq \"Employee\")", 0},
    {"not (userName eq \"bjensen\")", 0},
    {"not(userName eq \"other\")", 1},
    {"((((userName eq \"bjensen\"))))", 1},
    /* Multi-valued and complex attributes. */
    {"emails eq \"babs@jensen.org\"", 1},
    {"emails.value eq \"BABS@jensen.org\"", 1},
    {"emails[type eq \"home\" and value co \"@example.com\"]", 0},
    {"emails[type eq \"work\"].value co \"@example.com\"", 1},
    {"emails[type eq \"home\"].value co \"@example.com\"", 0},
    {"emails[not (type eq \"work\")]", 1},
    {"emails[primary eq true].value eq \"bjensen@example.com\"", 1},
    {"emails.primary eq true", 1},
    {"emails.value ne \"bjensen@example.com\"", 0},
    {"ims[type eq \"xmpp\"]", 0},
    {"nickName pr", 0},
    {"emails pr", 1},
    {"name pr", 1},
    /* Booleans, numbers, dateTimes, strings ordering. */
    {"active eq true", 1},
    {"active eq false", 0},
    {"active ne false", 1},
    {"active eq TRUE", 1},
    {"xcount gt 4", 1},
    {"xcount ge 5.0", 1},
    {"xcount lt 1e1", 1},
    {"xcount eq 5", 1},
    {"xcount gt -1", 1},
    {"meta.lastModified gt \"2011-05-13T04:42:33Z\"", 1},
    {"meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", 1},
    {"meta.lastModified gt \"2011-05-13T04:42:34.5Z\"", 0},
    {"meta.created lt \"2011-01-01T00:00:00Z\"", 1},
    {"meta.created ge \"2010-01-23T04:56:22.000Z\"", 1},
    {"userName gt \"a\"", 1},
    {"userName lt \"a\"", 0},
    {"userName ge \"BJENSEN\"", 1},
    /* Extension attributes, with and without the URN. */
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"",
     1},
    {"employeeNumber eq \"701984\"", 1},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "
     "\"26118915-6090-4610-87e4-49d8ca9f808d\"",
     1},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw \"tour\"", 1},
    /* String escapes. */
    {"name.givenName eq \"Barb\\u0061ra\"", 1},
    {"title eq \"Tour \\\"Guide\\\"\"", 0},
    /* Unknown attributes match nothing, except ne and not. */
    {"foo eq \"x\"", 0},
    {"foo ne \"x\"", 1},
    {"not (foo pr)", 1},
    /* Okta and Entra ID lookups. */
    {"userName eq \"BJensen\"", 1},
    {"externalId eq \"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\"", 0},
    {"userName eq \"bjensen\" and externalId eq \"bjensen\"", 1},
};

static json *load(const char *text)
{
    char err[128];
    json *j = json_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(j != NULL, "fixture: %s", err);
    return j;
}

START_TEST(filter_match_table)
{
    const struct match_case *c = &match_cases[_i];
    json *user = load(bjensen_text);
    scim_filter *f = NULL;
    char err[256] = "";

    ck_assert_msg(scim_filter_parse(c->filter, &f, err, sizeof(err)) == 0, "%s: %s", c->filter,
                  err);
    ck_assert_msg(scim_filter_check(f, scim_schema_user(), err, sizeof(err)) == 0, "%s: %s",
                  c->filter, err);
    ck_assert_msg(scim_filter_match(f, user, scim_schema_user()) == c->expected,
                  "%s: expected %d", c->filter, c->expected);
    scim_filter_free(f);
    json_free(user);
}
END_TEST

/* A user with letters beyond ASCII: attributes whose caseExact is false
 * compare by Unicode case folding, the others exactly. */
static const char *const unicode_text =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
    "\"userName\":\"Émile@example.com\",\"externalId\":\"Äx\","
    "\"title\":\"Ärztin in der Straße\",\"displayName\":\"ΌΣΟΣ\"}";

static const struct match_case unicode_cases[] = {
    {"userName eq \"émile@EXAMPLE.com\"", 1},
    {"userName eq \"emile@example.com\"", 0},
    {"title co \"ÄRZTIN\"", 1},
    {"title sw \"ärztin in\"", 1},
    {"title ew \"STRASSE\"", 1},
    {"title eq \"ärztin in der strasse\"", 1},
    {"title ne \"ÄRZTIN IN DER STRASSE\"", 0},
    {"title gt \"ärztin\"", 1},
    {"title lt \"ärztin\"", 0},
    {"displayName eq \"όσος\"", 1},
    {"displayName co \"ς\"", 1},
    {"externalId eq \"äx\"", 0},
    {"externalId eq \"Äx\"", 1},
};

START_TEST(filter_unicode_case)
{
    const struct match_case *c = &unicode_cases[_i];
    json *user = load(unicode_text);
    scim_filter *f = NULL;
    char err[256] = "";

    ck_assert_msg(scim_filter_parse(c->filter, &f, err, sizeof(err)) == 0, "%s: %s", c->filter,
                  err);
    ck_assert_msg(scim_filter_match(f, user, scim_schema_user()) == c->expected,
                  "%s: expected %d", c->filter, c->expected);
    scim_filter_free(f);
    json_free(user);
}
END_TEST

struct error_case {
    const char *filter;
    const char *message;
};

static const struct error_case error_cases[] = {
    {"userName", "invalid filter at position 8: expected a comparison operator after 'userName'"},
    {"userName xx \"a\"",
     "invalid filter at position 9: expected a comparison operator after 'userName'"},
    {"name.givenName \"a\"",
     "invalid filter at position 15: expected a comparison operator after 'name.givenName'"},
    {"userName eq", "invalid filter at position 11: expected a value"},
    {"userName eq bjensen", "invalid filter at position 12: expected a value"},
    {"(userName eq \"a\"", "invalid filter at position 16: expected ')'"},
    {"userName eq \"a\" or", "invalid filter at position 18: expected an attribute name"},
    {"userName eq \"abc", "invalid filter at position 12: unterminated string"},
    {"emails[type eq \"work\"", "invalid filter at position 6: missing ']'"},
    {"emails[type[value eq \"x\"]]", "invalid filter at position 11: value filters cannot"},
    {"userName eq \"a\" foo", "invalid filter at position 16: expected 'and' or 'or' before"},
    {"", "invalid filter at position 0: expected an attribute name"},
    {"1abc eq \"x\"", "invalid filter at position 0: invalid attribute name '1abc'"},
    {"userName eq \"a\" and )", "invalid filter at position 20: expected an attribute name"},
    {"name.givenName.x eq \"a\"", "invalid filter at position 5: invalid sub-attribute name"},
    {"foo:bar eq \"a\"", "invalid filter at position 0: expected an attribute name or a schema"},
    {"userName eq 1.2.3", "invalid filter at position 12: invalid number"},
    {"userName eq \"a\\u0000\"", "invalid filter at position 12: invalid string"},
    {"userName eq \"a\\x\"", "invalid filter at position 12: invalid string"},
    {"not (userName eq \"a\"", "invalid filter at position 20: expected ')'"},
    {"emails[type eq \"work\"].", "invalid filter at position 23: expected a sub-attribute"},
    {"emails[type eq \"work\"].value", "invalid filter at position 28: expected a comparison"},
    {"userName eq \"a\" ]", "invalid filter at position 16: unexpected ']'"},
};

START_TEST(filter_error_table)
{
    const struct error_case *c = &error_cases[_i];
    scim_filter *f = (scim_filter *)1;
    char err[256] = "";

    ck_assert_int_eq(scim_filter_parse(c->filter, &f, err, sizeof(err)), -1);
    ck_assert_ptr_null(f);
    ck_assert_msg(strncmp(err, c->message, strlen(c->message)) == 0, "%s: got '%s'", c->filter,
                  err);
}
END_TEST

START_TEST(filter_depth_limit)
{
    char text[512] = "";
    scim_filter *f = NULL;
    char err[256];

    for (int i = 0; i < 40; i++)
        strcat(text, "(");
    strcat(text, "userName pr");
    for (int i = 0; i < 40; i++)
        strcat(text, ")");
    ck_assert_int_eq(scim_filter_parse(text, &f, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "nesting deeper than") != NULL, "%s", err);
}
END_TEST

START_TEST(filter_length_limit)
{
    size_t n = 5000;
    char *text = malloc(n + 1);
    scim_filter *f = NULL;
    char err[256];

    memset(text, ' ', n);
    memcpy(text, "userName pr", 11);
    text[n] = '\0';
    ck_assert_int_eq(scim_filter_parse(text, &f, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "longer than 4096 bytes") != NULL, "%s", err);
    free(text);
}
END_TEST

START_TEST(filter_ast_shape)
{
    scim_filter *f = NULL;
    char err[256];

    ck_assert_int_eq(scim_filter_parse("a eq \"1\" or b eq \"2\" and c pr", &f, err, sizeof(err)),
                     0);
    ck_assert_int_eq(f->kind, SCIM_FILTER_OR);
    ck_assert_int_eq(f->left->kind, SCIM_FILTER_COMPARE);
    ck_assert_int_eq(f->right->kind, SCIM_FILTER_AND);
    ck_assert_int_eq(f->right->right->kind, SCIM_FILTER_PRESENT);
    ck_assert_str_eq(f->right->right->path.attr, "c");
    scim_filter_free(f);

    ck_assert_int_eq(scim_filter_parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
                                       "User:manager.value eq \"m\"",
                                       &f, err, sizeof(err)),
                     0);
    ck_assert_str_eq(f->path.urn, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    ck_assert_str_eq(f->path.attr, "manager");
    ck_assert_str_eq(f->path.sub, "value");
    ck_assert_int_eq(f->op, SCIM_OP_EQ);
    ck_assert_str_eq(json_string_value(f->value), "m");
    scim_filter_free(f);
}
END_TEST

/* String literals: plain ASCII skips the JSON parser, the rest goes
 * through it. Either way the value must be what JSON makes of the literal. */
static const char *const literal_cases[] = {
    "\"x@example.com\"", "\"\"",         "\"a b ~!#$%&'()*+,-./:;<=>?@[]^_`{|}\"",
    "\"q\\\"uote\"",  "\"back\\\\slash\"", "\"\\u00e9t\\u00e9\"",
    "\"\xc3\xa9t\xc3\xa9\"", "\"tab\\tnl\\n\"", "\"\\ud83d\\ude00\"",
};

START_TEST(filter_string_literal_values)
{
    const char *literal = literal_cases[_i];
    char text[128], err[256];
    scim_filter *f = NULL;
    json *expected = json_parse(literal, strlen(literal), NULL, 0);

    ck_assert_ptr_nonnull(expected);
    snprintf(text, sizeof text, "userName eq %s", literal);
    ck_assert_msg(scim_filter_parse(text, &f, err, sizeof(err)) == 0, "%s: %s", text, err);
    ck_assert_int_eq(json_typeof(f->value), JSON_STRING);
    ck_assert_msg(json_equal(f->value, expected), "%s parsed to %s", literal,
                  json_string_value(f->value));
    scim_filter_free(f);
    json_free(expected);
}
END_TEST

START_TEST(filter_string_literal_invalid)
{
    static const char *const texts[] = {
        "userName eq \"bad\\xescape\"", "userName eq \"\xff\xfe\"", "userName eq \"ctl\x01\"",
        "userName eq \"open",
    };
    char err[256];

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        scim_filter *f = NULL;

        ck_assert_msg(scim_filter_parse(texts[i], &f, err, sizeof(err)) != 0, "%s parsed",
                      texts[i]);
        ck_assert_ptr_null(f);
    }
}
END_TEST

struct find_case {
    const char *filter;
    const char *attr;
    const char *value; /* NULL: not found */
};

static const struct find_case find_cases[] = {
    {"userName eq \"x@example.com\"", "userName", "x@example.com"},
    {"USERNAME eq \"x@example.com\"", "userName", "x@example.com"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"a\"", "userName", "a"},
    {"userName eq \"a\" and active eq true", "userName", "a"},
    {"active eq true and (title pr and externalId eq \"e\")", "externalId", "e"},
    {"userName eq \"a\" or userName eq \"b\"", "userName", NULL},
    {"not (userName eq \"a\")", "userName", NULL},
    {"userName ne \"a\"", "userName", NULL},
    {"userName eq 5", "userName", NULL},
    {"displayName eq \"Sales\"", "displayName", "Sales"},
    {"id eq \"g1\" and members[value eq \"u1\"]", "members.value", "u1"},
    {"id eq \"g1\" and members[value eq \"u1\"]", "id", "g1"},
    {"members.value eq \"u2\"", "members.value", "u2"},
    {"members[type eq \"User\" and value eq \"u3\"]", "members.value", "u3"},
    {"members[value eq \"u1\" or value eq \"u2\"]", "members.value", NULL},
    {"emails[type eq \"work\"].value eq \"w@x\"", "emails.value", "w@x"},
    {"emails.value eq \"w@x\"", "emails", NULL},
};

START_TEST(filter_find_eq_table)
{
    const struct find_case *c = &find_cases[_i];
    scim_filter *f = NULL;
    const char *value = NULL;
    char err[256];

    ck_assert_msg(scim_filter_parse(c->filter, &f, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(scim_filter_find_eq(f, c->attr, &value), c->value != NULL);
    if (c->value)
        ck_assert_str_eq(value, c->value);
    scim_filter_free(f);
}
END_TEST

START_TEST(filter_boolean_ordering_rejected)
{
    json *user = load(bjensen_text);
    scim_filter *f = NULL;
    char err[256];

    ck_assert_int_eq(scim_filter_parse("active gt true", &f, err, sizeof(err)), 0);
    ck_assert_int_eq(scim_filter_check(f, scim_schema_user(), err, sizeof(err)), -1);
    ck_assert_str_eq(err, "invalid filter at position 0: operator 'gt' cannot compare boolean "
                          "attribute 'active'");
    ck_assert_int_eq(scim_filter_match(f, user, scim_schema_user()), -1);
    scim_filter_free(f);

    ck_assert_int_eq(scim_filter_parse("emails[primary lt false]", &f, err, sizeof(err)), 0);
    ck_assert_int_eq(scim_filter_check(f, scim_schema_user(), err, sizeof(err)), -1);
    scim_filter_free(f);

    ck_assert_int_eq(scim_filter_parse("userName[value eq \"x\"]", &f, err, sizeof(err)), 0);
    ck_assert_int_eq(scim_filter_check(f, scim_schema_user(), err, sizeof(err)), -1);
    scim_filter_free(f);
    json_free(user);
}
END_TEST

struct resolver_state {
    int calls;
    char member[64];
};

/* Resolves "members[value eq X]" against a single known member id. */
static int members_resolver(void *ctx, const scim_filter *node)
{
    struct resolver_state *st = ctx;
    const char *value = NULL;

    st->calls++;
    if (strcasecmp(node->path.attr, "members") != 0)
        return 0;
    if (node->kind == SCIM_FILTER_VALUE_PATH && scim_filter_find_eq(node->left, "value", &value))
        return strcmp(value, st->member) == 0;
    return 0;
}

START_TEST(filter_resolver_members)
{
    json *group = load("{\"id\":\"g1\",\"displayName\":\"Sales\"}");
    struct resolver_state st = {0, "u1"};
    scim_filter *f = NULL;
    char err[256];

    ck_assert_int_eq(
        scim_filter_parse("id eq \"g1\" and members[value eq \"u1\"]", &f, err, sizeof(err)), 0);
    ck_assert_int_eq(scim_filter_match_ex(f, group, scim_schema_group(), members_resolver, &st), 1);
    ck_assert_int_eq(st.calls, 1);
    strcpy(st.member, "u2");
    ck_assert_int_eq(scim_filter_match_ex(f, group, scim_schema_group(), members_resolver, &st), 0);
    ck_assert_int_eq(scim_filter_match(f, group, scim_schema_group()), 0);
    ck_assert_int_eq(scim_filter_uses_attr(f, "members"), 1);
    ck_assert_int_eq(scim_filter_uses_attr(f, "externalId"), 0);
    scim_filter_free(f);
    json_free(group);
}
END_TEST

START_TEST(filter_group_inline_members)
{
    json *group = load("{\"id\":\"g1\",\"displayName\":\"Sales\",\"members\":[{\"value\":\"u1\"},"
                       "{\"value\":\"u2\",\"display\":\"Bob\"}]}");
    scim_filter *f = NULL;
    char err[256];

    ck_assert_int_eq(scim_filter_parse("members[value eq \"u2\"]", &f, err, sizeof(err)), 0);
    ck_assert_int_eq(scim_filter_match(f, group, scim_schema_group()), 1);
    scim_filter_free(f);
    ck_assert_int_eq(scim_filter_parse("members[value eq \"U2\"]", &f, err, sizeof(err)), 0);
    ck_assert_int_eq(scim_filter_match(f, group, scim_schema_group()), 0);
    scim_filter_free(f);
    ck_assert_int_eq(scim_filter_parse("displayName eq \"sales\"", &f, err, sizeof(err)), 0);
    ck_assert_int_eq(scim_filter_match(f, group, scim_schema_group()), 1);
    scim_filter_free(f);
    json_free(group);
}
END_TEST

static int failing_resolver(void *ctx, const scim_filter *node)
{
    return -5;
}

START_TEST(filter_resolver_error_passed_through)
{
    json *group = load("{\"id\":\"g1\"}");
    scim_filter *f = NULL;
    char err[256];

    ck_assert_int_eq(scim_filter_parse("members[value eq \"u1\"] or id eq \"g1\"", &f, err,
                                       sizeof(err)),
                     0);
    ck_assert_int_eq(scim_filter_match_ex(f, group, scim_schema_group(), failing_resolver, NULL),
                     -5);
    scim_filter_free(f);
    json_free(group);
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, filter_match_table, 0,
                        (int)(sizeof(match_cases) / sizeof(match_cases[0])));
    tcase_add_loop_test(tc, filter_unicode_case, 0,
                        sizeof(unicode_cases) / sizeof(unicode_cases[0]));
    tcase_add_loop_test(tc, filter_error_table, 0,
                        (int)(sizeof(error_cases) / sizeof(error_cases[0])));
    tcase_add_test(tc, filter_depth_limit);
    tcase_add_test(tc, filter_length_limit);
    tcase_add_test(tc, filter_ast_shape);
    tcase_add_loop_test(tc, filter_string_literal_values, 0,
                        sizeof(literal_cases) / sizeof(literal_cases[0]));
    tcase_add_test(tc, filter_string_literal_invalid);
    tcase_add_loop_test(tc, filter_find_eq_table, 0,
                        (int)(sizeof(find_cases) / sizeof(find_cases[0])));
    tcase_add_test(tc, filter_boolean_ordering_rejected);
    tcase_add_test(tc, filter_resolver_members);
    tcase_add_test(tc, filter_group_inline_members);
    tcase_add_test(tc, filter_resolver_error_passed_through);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(filter_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
