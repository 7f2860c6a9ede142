#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "json.h"
#include "scim/schema.h"
#include "scim/scim_const.h"
#include "scim/values.h"

/* Table rows for successful cases leave the error fields out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define CORE "urn:ietf:params:scim:schemas:core:2.0:User"
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

/* Test JSON uses single quotes, turned into double quotes before parsing. */
static json *parse_quoted(const char *text)
{
    char *s = strdup(text), err[160];
    json *j;

    for (char *c = s; *c; c++) {
        if (*c == '\'')
            *c = '"';
    }
    j = json_parse(s, strlen(s), err, sizeof(err));
    ck_assert_msg(j != NULL, "%s: %s", s, err);
    free(s);
    return j;
}

struct lookup_case {
    int group;
    const char *name;
    const char *attr; /* NULL: not found */
    const char *sub;
    const char *schema;
};

static const struct lookup_case lookups[] = {
    {0, "userName", "userName", NULL, CORE},
    {0, "USERNAME", "userName", NULL, CORE},
    {0, "name.familyName", "name", "familyName", CORE},
    {0, CORE ":userName", "userName", NULL, CORE},
    {0, ENT ":employeeNumber", "employeeNumber", NULL, ENT},
    {0, "employeeNumber", "employeeNumber", NULL, ENT},
    {0, ENT ":manager.value", "manager", "value", ENT},
    {0, "emails.primary", "emails", "primary", CORE},
    {0, "id", "id", NULL, CORE},
    {0, "meta.lastModified", "meta", "lastModified", CORE},
    {0, "groups.display", "groups", "display", CORE},
    {0, "displayname", "displayName", NULL, CORE},
    {0, "members", NULL, NULL, NULL},
    {0, "name.nosuch", NULL, NULL, NULL},
    {0, "urn:example:User:userName", NULL, NULL, NULL},
    {1, "members.value", "members", "value", "urn:ietf:params:scim:schemas:core:2.0:Group"},
    {1, "DisplayName", "displayName", NULL, "urn:ietf:params:scim:schemas:core:2.0:Group"},
    {1, "userName", NULL, NULL, NULL},
};

START_TEST(schema_lookup_table)
{
    const struct lookup_case *c = &lookups[_i];
    const scim_schema_resource *res = c->group ? scim_schema_group() : scim_schema_user();
    const scim_attr *attr = NULL, *sub = NULL;
    const scim_schema *schema = NULL;
    int rc = scim_schema_lookup(res, c->name, &attr, &sub, &schema);

    ck_assert_int_eq(rc == 0, c->attr != NULL);
    if (!c->attr)
        return;
    ck_assert_str_eq(attr->name, c->attr);
    if (c->sub)
        ck_assert_str_eq(sub->name, c->sub);
    else
        ck_assert_ptr_null(sub);
    ck_assert_str_eq(schema->id, c->schema);
}
END_TEST

START_TEST(schema_characteristics)
{
    const scim_schema_resource *u = scim_schema_user();
    const scim_attr *a;

    a = scim_schema_find_attr(u, NULL, "userName", NULL);
    ck_assert_int_eq(a->required, 1);
    ck_assert_int_eq(a->case_exact, 0);
    ck_assert_int_eq(a->uniqueness, SCIM_UNIQ_SERVER);
    a = scim_schema_find_attr(u, NULL, "id", NULL);
    ck_assert_int_eq(a->mutability, SCIM_MUT_READ_ONLY);
    ck_assert_int_eq(a->returned, SCIM_RET_ALWAYS);
    ck_assert_int_eq(a->case_exact, 1);
    a = scim_schema_find_attr(u, NULL, "password", NULL);
    ck_assert_int_eq(a->mutability, SCIM_MUT_WRITE_ONLY);
    ck_assert_int_eq(a->returned, SCIM_RET_NEVER);
    a = scim_schema_find_attr(u, NULL, "emails", NULL);
    ck_assert_int_eq(a->multi_valued, 1);
    ck_assert_str_eq(scim_schema_find_sub_attr(a, "type")->canonical_values[0], "work");
    ck_assert_int_eq(scim_schema_find_sub_attr(a, "primary")->type, SCIM_TYPE_BOOLEAN);
    a = scim_schema_find_attr(u, NULL, "groups", NULL);
    ck_assert_int_eq(a->mutability, SCIM_MUT_READ_ONLY);
    a = scim_schema_find_attr(scim_schema_group(), NULL, "members", NULL);
    ck_assert_int_eq(scim_schema_find_sub_attr(a, "value")->mutability, SCIM_MUT_IMMUTABLE);
    ck_assert_ptr_eq(scim_schema_resource_by_name("group"), scim_schema_group());
    ck_assert_ptr_null(scim_schema_resource_by_name("Device"));
    ck_assert_str_eq(scim_schema_by_urn(ENT)->name, "EnterpriseUser");
}
END_TEST

START_TEST(schema_service_provider_config)
{
    json *c = scim_schema_service_provider_config_json("https://h/scim/v2", 200);

    ck_assert_int_eq(json_bool_value(json_object_get(json_object_get(c, "patch"), "supported")),
                     1);
    ck_assert_int_eq(json_bool_value(json_object_get(json_object_get(c, "bulk"), "supported")),
                     0);
    ck_assert_int_eq(json_int_value(json_object_get(json_object_get(c, "filter"), "maxResults")),
                     200);
    ck_assert_int_eq(json_bool_value(json_object_get(json_object_get(c, "sort"), "supported")), 1);
    ck_assert_int_eq(json_bool_value(json_object_get(json_object_get(c, "etag"), "supported")), 1);
    ck_assert_int_eq(
        json_bool_value(json_object_get(json_object_get(c, "changePassword"), "supported")), 0);
    ck_assert_str_eq(
        json_get_string(json_array_get(json_object_get(c, "authenticationSchemes"), 0), "type"),
        "oauthbearertoken");
    ck_assert_str_eq(json_get_string(json_object_get(c, "meta"), "location"),
                     "https://h/scim/v2/ServiceProviderConfig");
    json_free(c);
}
END_TEST

START_TEST(schema_discovery_lists)
{
    json *s = scim_schema_schemas_json("https://h/scim/v2");
    json *r = scim_schema_resource_types_json("https://h/scim/v2");
    json *user_schema, *user_type, *attrs;
    char *text;

    ck_assert_int_eq(json_int_value(json_object_get(s, "totalResults")), 3);
    user_schema = json_array_get(json_object_get(s, "Resources"), 0);
    ck_assert_str_eq(json_get_string(user_schema, "id"), CORE);
    attrs = json_object_get(user_schema, "attributes");
    ck_assert_str_eq(json_get_string(json_array_get(attrs, 0), "name"), "userName");
    ck_assert_str_eq(json_get_string(json_array_get(attrs, 0), "uniqueness"), "server");
    ck_assert_str_eq(json_get_string(json_object_get(user_schema, "meta"), "location"),
                     "https://h/scim/v2/Schemas/" CORE);

    ck_assert_int_eq(json_int_value(json_object_get(r, "totalResults")), 2);
    user_type = json_array_get(json_object_get(r, "Resources"), 0);
    ck_assert_str_eq(json_get_string(user_type, "endpoint"), "/Users");
    ck_assert_str_eq(
        json_get_string(json_array_get(json_object_get(user_type, "schemaExtensions"), 0),
                        "schema"),
        ENT);
    text = json_dump(s, NULL);
    ck_assert_ptr_nonnull(text);
    free(text);
    json_free(s);
    json_free(r);
}
END_TEST

START_TEST(schema_error_body)
{
    scim_error err = {0};
    json *body;

    ck_assert_int_eq(scim_error_set(&err, 409, SCIM_ERR_UNIQUENESS, "userName '%s' is taken",
                                    "a@x"),
                     -1);
    body = scim_error_json(&err);
    ck_assert_str_eq(json_get_string(body, "status"), "409");
    ck_assert_str_eq(json_get_string(body, "scimType"), "uniqueness");
    ck_assert_str_eq(json_get_string(body, "detail"), "userName 'a@x' is taken");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(body, "schemas"), 0)),
                     SCIM_URN_ERROR);
    json_free(body);
}
END_TEST

struct normalize_case {
    const char *name;
    int group;
    const char *input;
    const char *expected; /* NULL: error */
    const char *scim_type;
};

static const struct normalize_case normalize_cases[] = {
    {"okta create", 0,
     "{'schemas':['" CORE "'],'userName':'a@x.com','name':{'givenName':'A','familyName':'B'},"
     "'emails':[{'primary':true,'value':'a@x.com','type':'work'}],'displayName':'A B',"
     "'externalId':'00u1','active':true,'groups':[],'password':'Rand0m!'}",
     "{'schemas':['" CORE "'],'userName':'a@x.com','name':{'givenName':'A','familyName':'B'},"
     "'emails':[{'primary':true,'value':'a@x.com','type':'work'}],'displayName':'A B',"
     "'externalId':'00u1','active':true}"},
    {"entra create", 0,
     "{'schemas':['" CORE "','" ENT "','urn:ietf:params:scim:schemas:extension:custom:2.0:User'],"
     "'externalId':'e1','userName':'u@x.com','active':'True','displayName':'U',"
     "'urn:ietf:params:scim:schemas:extension:custom:2.0:User':{'x':1},"
     "'" ENT "':{'employeeNumber':'7','manager':'m1'},'roles':[],'unknownAttr':5}",
     "{'schemas':['" CORE "','" ENT "'],'externalId':'e1','userName':'u@x.com','active':true,"
     "'displayName':'U','" ENT "':{'employeeNumber':'7','manager':{'value':'m1'}},'roles':[]}"},
    {"urn-prefixed and dotted keys", 0,
     "{'userName':'a','" ENT ":department':'D','name.givenName':'G','" CORE ":title':'T'}",
     "{'schemas':['" CORE "','" ENT "'],'userName':'a','" ENT "':{'department':'D'},"
     "'name':{'givenName':'G'},'title':'T','active':true}"},
    {"read-only dropped", 0,
     "{'id':'x','meta':{'created':'y'},'userName':'a','" ENT
     "':{'manager':{'value':'m','displayName':'Boss'}}}",
     "{'schemas':['" CORE "','" ENT "'],'userName':'a','" ENT "':{'manager':{'value':'m'}},"
     "'active':true}"},
    {"key case normalised", 0, "{'USERNAME':'a','Active':'false','EMAILS':{'VALUE':'e@x'}}",
     "{'schemas':['" CORE "'],'userName':'a','active':false,'emails':[{'value':'e@x'}]}"},
    {"nulls dropped", 0, "{'userName':'a','title':null,'emails':[null,{'value':'e'}]}",
     "{'schemas':['" CORE "'],'userName':'a','emails':[{'value':'e'}],'active':true}"},
    {"empty extension dropped", 0, "{'userName':'a','" ENT "':{'nosuch':1}}",
     "{'schemas':['" CORE "'],'userName':'a','active':true}"},
    /* Licences and sign-in count a user without "active" as active. */
    {"active defaults to true", 0, "{'userName':'a'}",
     "{'schemas':['" CORE "'],'userName':'a','active':true}"},
    {"missing userName", 0, "{'displayName':'x'}", NULL, SCIM_ERR_INVALID_VALUE},
    {"empty userName", 0, "{'userName':''}", NULL, SCIM_ERR_INVALID_VALUE},
    {"bad boolean", 0, "{'userName':'a','active':'yes'}", NULL, SCIM_ERR_INVALID_VALUE},
    {"bad type", 0, "{'userName':{'a':1}}", NULL, SCIM_ERR_INVALID_VALUE},
    {"array for single", 0, "{'userName':'a','title':['x']}", NULL, SCIM_ERR_INVALID_VALUE},
    {"bad email element", 0, "{'userName':'a','emails':[5]}", NULL, SCIM_ERR_INVALID_VALUE},
    {"not an object", 0, "[]", NULL, SCIM_ERR_INVALID_SYNTAX},
    {"group create", 1,
     "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],'displayName':'Eng',"
     "'members':[],'id':'x'}",
     "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],'displayName':'Eng',"
     "'members':[]}"},
    {"group member string", 1, "{'displayName':'Eng','members':['u1']}",
     "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],'displayName':'Eng',"
     "'members':[{'value':'u1'}]}"},
    {"group without name", 1, "{'members':[]}", NULL, SCIM_ERR_INVALID_VALUE},
};

START_TEST(normalize_table)
{
    const struct normalize_case *c = &normalize_cases[_i];
    const scim_schema_resource *res = c->group ? scim_schema_group() : scim_schema_user();
    json *in = parse_quoted(c->input);
    scim_error err = {0};
    int rc = scim_resource_normalize(res, in, SCIM_NORMALIZE_CREATE, &err);

    if (c->expected) {
        json *expected = parse_quoted(c->expected);
        char *got = json_dump(in, NULL);
        ck_assert_msg(rc == 0, "%s: %s", c->name, err.detail);
        ck_assert_msg(json_equal(in, expected), "%s: got %s", c->name, got);
        free(got);
        json_free(expected);
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(err.status, 400);
        ck_assert_str_eq(err.scim_type, c->scim_type);
    }
    json_free(in);
}
END_TEST

START_TEST(normalize_error_names_attribute)
{
    json *in = parse_quoted("{'userName':'a','" ENT "':{'manager':5}}");
    scim_error err = {0};

    ck_assert_int_eq(scim_resource_normalize(scim_schema_user(), in, SCIM_NORMALIZE_REPLACE, &err),
                     -1);
    ck_assert_str_eq(err.detail, "attribute '" ENT ":manager' must be an object, not a number");
    json_free(in);
    in = parse_quoted("{'userName':'a','active':'yes'}");
    ck_assert_int_eq(scim_resource_normalize(scim_schema_user(), in, SCIM_NORMALIZE_CREATE, &err),
                     -1);
    ck_assert_str_eq(err.detail, "attribute 'active' must be true or false, not \"yes\"");
    json_free(in);
}
END_TEST

static const char *const stored_user =
    "{'schemas':['" CORE "','" ENT "'],'id':'u1','externalId':'e1','userName':'a',"
    "'name':{'givenName':'G','familyName':'F'},'emails':[{'value':'e@x','type':'work'}],"
    "'active':true,'password':'leak','meta':{'resourceType':'User','created':'c'},'" ENT
    "':{'department':'D','employeeNumber':'7'}}";

struct projection_case {
    const char *attributes;
    const char *excluded;
    const char *expected;
};

static const struct projection_case projection_cases[] = {
    {NULL, NULL,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','externalId':'e1','userName':'a',"
     "'name':{'givenName':'G','familyName':'F'},'emails':[{'value':'e@x','type':'work'}],"
     "'active':true,'meta':{'resourceType':'User','created':'c'},'" ENT
     "':{'department':'D','employeeNumber':'7'}}"},
    {"userName", NULL, "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'a'}"},
    {"name.givenName, emails.value", NULL,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','name':{'givenName':'G'},"
     "'emails':[{'value':'e@x'}]}"},
    {ENT ":department", NULL,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','" ENT "':{'department':'D'}}"},
    {ENT, NULL,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','" ENT
     "':{'department':'D','employeeNumber':'7'}}"},
    {"password,id,nosuch", NULL, "{'schemas':['" CORE "','" ENT "'],'id':'u1'}"},
    {"emails[type eq \"work\"]", NULL,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','emails':[{'value':'e@x','type':'work'}]}"},
    {"emails[type eq \"home\"]", NULL, "{'schemas':['" CORE "','" ENT "'],'id':'u1'}"},
    {"emails[type eq \"work\"].value", NULL,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','emails':[{'value':'e@x'}]}"},
    {"emails[type eq", NULL, NULL},
    {NULL, "emails,meta,id,schemas",
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','externalId':'e1','userName':'a',"
     "'name':{'givenName':'G','familyName':'F'},'active':true,'" ENT
     "':{'department':'D','employeeNumber':'7'}}"},
    {NULL, "name.familyName," ENT ":employeeNumber",
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','externalId':'e1','userName':'a',"
     "'name':{'givenName':'G'},'emails':[{'value':'e@x','type':'work'}],"
     "'active':true,'meta':{'resourceType':'User','created':'c'},'" ENT
     "':{'department':'D'}}"},
    {NULL, ENT,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','externalId':'e1','userName':'a',"
     "'name':{'givenName':'G','familyName':'F'},'emails':[{'value':'e@x','type':'work'}],"
     "'active':true,'meta':{'resourceType':'User','created':'c'}}"},
};

START_TEST(projection_table)
{
    const struct projection_case *c = &projection_cases[_i];
    json *user = parse_quoted(stored_user);
    json *expected = c->expected ? parse_quoted(c->expected) : NULL;
    scim_projection *p = NULL;
    scim_error err = {0};
    char *got;

    if (!c->expected) {
        ck_assert_int_eq(
            scim_projection_parse(scim_schema_user(), c->attributes, c->excluded, &p, &err), -1);
        ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_VALUE);
        json_free(user);
        return;
    }
    ck_assert_int_eq(
        scim_projection_parse(scim_schema_user(), c->attributes, c->excluded, &p, &err), 0);
    ck_assert_int_eq(scim_projection_apply(p, user), 0);
    got = json_dump(user, NULL);
    ck_assert_msg(json_equal(user, expected), "%s / %s: got %s", c->attributes, c->excluded, got);
    free(got);
    scim_projection_free(p);
    json_free(expected);
    json_free(user);
}
END_TEST

START_TEST(projection_includes_members)
{
    const scim_schema_resource *g = scim_schema_group();
    scim_projection *p = NULL;
    scim_error err = {0};

    ck_assert_int_eq(scim_projection_includes(NULL, "members"), 1);
    ck_assert_int_eq(scim_projection_parse(g, NULL, "members", &p, &err), 0);
    ck_assert_int_eq(scim_projection_includes(p, "members"), 0);
    ck_assert_int_eq(scim_projection_includes(p, "displayName"), 1);
    scim_projection_free(p);
    ck_assert_int_eq(scim_projection_parse(g, "displayName", NULL, &p, &err), 0);
    ck_assert_int_eq(scim_projection_includes(p, "members"), 0);
    ck_assert_int_eq(scim_projection_includes(p, "id"), 1);
    scim_projection_free(p);
    ck_assert_int_eq(scim_projection_parse(g, "members.value", NULL, &p, &err), 0);
    ck_assert_int_eq(scim_projection_includes(p, "members"), 1);
    scim_projection_free(p);
    ck_assert_int_eq(scim_projection_parse(g, "", "", &p, &err), 0);
    ck_assert_int_eq(scim_projection_includes(p, "members"), 1);
    scim_projection_free(p);
}
END_TEST

static Suite *schema_suite(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, schema_lookup_table, 0, (int)(sizeof(lookups) / sizeof(lookups[0])));
    tcase_add_test(tc, schema_characteristics);
    tcase_add_test(tc, schema_service_provider_config);
    tcase_add_test(tc, schema_discovery_lists);
    tcase_add_test(tc, schema_error_body);
    tcase_add_loop_test(tc, normalize_table, 0,
                        (int)(sizeof(normalize_cases) / sizeof(normalize_cases[0])));
    tcase_add_test(tc, normalize_error_names_attribute);
    tcase_add_loop_test(tc, projection_table, 0,
                        (int)(sizeof(projection_cases) / sizeof(projection_cases[0])));
    tcase_add_test(tc, projection_includes_members);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(schema_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
