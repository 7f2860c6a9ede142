#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "scim/path.h"

#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

struct path_case {
    const char *text;
    const char *urn;
    const char *attr;
    const char *sub;
    int has_filter;
};

static const struct path_case cases[] = {
    {"userName", NULL, "userName", NULL, 0},
    {"name.givenName", NULL, "name", "givenName", 0},
    {"urn:ietf:params:scim:schemas:core:2.0:User:userName",
     "urn:ietf:params:scim:schemas:core:2.0:User", "userName", NULL, 0},
    {ENT ":employeeNumber", ENT, "employeeNumber", NULL, 0},
    {ENT ":manager.value", ENT, "manager", "value", 0},
    {"emails[type eq \"work\"]", NULL, "emails", NULL, 1},
    {"emails[type eq \"work\"].value", NULL, "emails", "value", 1},
    {"emails[type eq \"work\" and value co \"@x\"].display", NULL, "emails", "display", 1},
    {"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]", NULL, "members", NULL, 1},
    {"members[value eq \"a]b\"]", NULL, "members", NULL, 1},
    {"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
     "urn:ietf:params:scim:schemas:core:2.0:User", "emails", "value", 1},
    {ENT, ENT, NULL, NULL, 0},
    {"addresses[type eq \"work\"].streetAddress", NULL, "addresses", "streetAddress", 1},
    {"$ref", NULL, "$ref", NULL, 0},
    {"Members", NULL, "Members", NULL, 0},
};

START_TEST(path_parse_table)
{
    const struct path_case *c = &cases[_i];
    scim_path *p = NULL;
    char err[256] = "";

    ck_assert_msg(scim_path_parse(c->text, &p, err, sizeof(err)) == 0, "%s: %s", c->text, err);
    if (c->urn)
        ck_assert_str_eq(p->attr.urn, c->urn);
    else
        ck_assert_ptr_null(p->attr.urn);
    if (c->attr)
        ck_assert_str_eq(p->attr.attr, c->attr);
    else
        ck_assert_ptr_null(p->attr.attr);
    if (c->sub)
        ck_assert_str_eq(p->attr.sub, c->sub);
    else
        ck_assert_ptr_null(p->attr.sub);
    ck_assert_int_eq(p->filter != NULL, c->has_filter);
    scim_path_free(p);
}
END_TEST

struct error_case {
    const char *text;
    const char *message;
};

static const struct error_case errors[] = {
    {"", "invalid path at position 0: empty path"},
    {"emails[type eq \"work\"", "invalid path at position 6: missing ']'"},
    {"emails[type eq]", "invalid path at position 14: expected a value"},
    {"emails[type eq \"work\"]x", "invalid path at position 22: expected '.' or the end"},
    {"emails[type eq \"work\"].", "invalid path at position 23: expected a sub-attribute name"},
    {"emails[type eq \"work\"].a.b", "invalid path at position 23: expected a sub-attribute"},
    {"name.givenName[x eq \"y\"]", "invalid path at position 14: a value filter must follow"},
    {"name.givenName.x", "invalid path at position 5: invalid sub-attribute name"},
    {"user name", "invalid path at position 4: unexpected ' '"},
    {"1abc", "invalid path at position 0: invalid attribute name '1abc'"},
    {"foo:bar", "invalid path at position 0: expected an attribute name or a schema URN"},
    {"emails[value[type eq \"a\"]]", "invalid path at position 12: value filters cannot"},
    {"[type eq \"a\"]", "invalid path at position 0: expected an attribute name"},
};

START_TEST(path_error_table)
{
    const struct error_case *c = &errors[_i];
    scim_path *p = (scim_path *)1;
    char err[256] = "";

    ck_assert_int_eq(scim_path_parse(c->text, &p, err, sizeof(err)), -1);
    ck_assert_ptr_null(p);
    ck_assert_msg(strncmp(err, c->message, strlen(c->message)) == 0, "%s: got '%s'", c->text,
                  err);
}
END_TEST

struct resolve_case {
    int group;
    const char *text;
    int ok;
    const char *attr;
    const char *sub;
};

static const struct resolve_case resolves[] = {
    {0, "USERNAME", 1, "userName", NULL},
    {0, "name.GIVENNAME", 1, "name", "givenName"},
    {0, ENT ":employeeNumber", 1, "employeeNumber", NULL},
    {0, "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User:department", 1, "department",
     NULL},
    {0, "emails[type eq \"work\"].value", 1, "emails", "value"},
    {0, "meta.created", 1, "meta", "created"},
    {0, "id", 1, "id", NULL},
    {0, "name[givenName eq \"x\"]", 0, NULL, NULL},
    {0, "userName.x", 0, NULL, NULL},
    {0, "nosuch", 0, NULL, NULL},
    {0, "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", 0, NULL, NULL},
    {1, "members[value eq \"x\"]", 1, "members", NULL},
    {1, "displayName", 1, "displayName", NULL},
    {1, "userName", 0, NULL, NULL},
};

START_TEST(path_resolve_table)
{
    const struct resolve_case *c = &resolves[_i];
    const scim_schema_resource *res = c->group ? scim_schema_group() : scim_schema_user();
    const scim_attr *attr = NULL, *sub = NULL;
    scim_path *p = NULL;
    char err[256];

    ck_assert_msg(scim_path_parse(c->text, &p, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(scim_path_resolve(p, res, &attr, &sub, NULL) == 0, c->ok);
    if (c->ok) {
        ck_assert_str_eq(attr->name, c->attr);
        if (c->sub)
            ck_assert_str_eq(sub->name, c->sub);
        else
            ck_assert_ptr_null(sub);
    }
    scim_path_free(p);
}
END_TEST

START_TEST(path_bare_extension_resolves)
{
    const scim_attr *attr = (const scim_attr *)1;
    const scim_schema *schema = NULL;
    scim_path *p = NULL;
    char err[256];

    ck_assert_int_eq(scim_path_parse(ENT, &p, err, sizeof(err)), 0);
    ck_assert_int_eq(scim_path_resolve(p, scim_schema_user(), &attr, NULL, &schema), 0);
    ck_assert_ptr_null(attr);
    ck_assert_str_eq(schema->id, ENT);
    ck_assert_int_eq(scim_path_resolve(p, scim_schema_group(), &attr, NULL, &schema), -1);
    scim_path_free(p);
}
END_TEST

static Suite *path_suite(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, path_parse_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_loop_test(tc, path_error_table, 0, (int)(sizeof(errors) / sizeof(errors[0])));
    tcase_add_loop_test(tc, path_resolve_table, 0, (int)(sizeof(resolves) / sizeof(resolves[0])));
    tcase_add_test(tc, path_bare_extension_resolves);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(path_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
