#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "json.h"
#include "scim/patch.h"
#include "scim/scim_const.h"

/* Table rows for successful cases leave the error fields out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Test JSON is written with single quotes, turned into double quotes before
 * parsing, so the tables stay readable. */
#define CORE "urn:ietf:params:scim:schemas:core:2.0:User"
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define GROUP_URN "urn:ietf:params:scim:schemas:core:2.0:Group"

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

static json *patch_body(const char *ops)
{
    char buf[8192];
    snprintf(buf, sizeof(buf),
             "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':%s}", ops);
    return parse_quoted(buf);
}

static const char *const user0 =
    "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
    "'familyName':'Jensen'},'active':true,'emails':[{'value':'b@example.com','type':'work',"
    "'primary':true}],'meta':{'resourceType':'User'}}";
static const char *const user_plain =
    "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':true}";
static const char *const group0 =
    "{'schemas':['" GROUP_URN "'],'id':'g1','displayName':'Eng','members':[{'value':'u1'},"
    "{'value':'u2','display':'Bob'}]}";

struct patch_case {
    const char *name;
    int group;
    const char *resource;
    const char *ops;
    const char *expected; /* NULL when an error is expected */
    int status;
    const char *scim_type;
};

static const struct patch_case cases[] = {
    {"okta deactivate", 0, user_plain, "[{'op':'replace','value':{'active':false}}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':false}"},
    {"entra string boolean", 0, user_plain,
     "[{'op':'Replace','path':'active','value':'False'}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':false}"},
    {"string boolean any case", 0, user_plain, "[{'op':'replace','value':{'active':'TRUE'}}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':true}"},
    {"invalid string boolean", 0, user_plain, "[{'op':'replace','path':'active','value':'yes'}]",
     NULL, 400, SCIM_ERR_INVALID_VALUE},
    {"number for boolean", 0, user_plain, "[{'op':'replace','path':'active','value':1}]", NULL,
     400, SCIM_ERR_INVALID_VALUE},
    {"entra filtered add creates", 0, user_plain,
     "[{'op':'Add','path':'emails[type eq \\'work\\'].value','value':'new@x.com'}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':true,"
     "'emails':[{'type':'work','value':'new@x.com'}]}"},
    {"entra filtered replace creates", 0, user_plain,
     "[{'op':'Replace','path':'phoneNumbers[type eq \\'mobile\\'].value','value':'+1 555'}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':true,"
     "'phoneNumbers':[{'type':'mobile','value':'+1 555'}]}"},
    {"filtered replace updates match", 0, user0,
     "[{'op':'replace','path':'emails[type eq \\'work\\'].value','value':'c@example.com'}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
     "'familyName':'Jensen'},'active':true,'emails':[{'value':'c@example.com','type':'work',"
     "'primary':true}],'meta':{'resourceType':'User'}}"},
    {"sub-attribute replace", 0, user0,
     "[{'op':'Replace','path':'name.givenName','value':'Babs'}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Babs',"
     "'familyName':'Jensen'},'active':true,'emails':[{'value':'b@example.com','type':'work',"
     "'primary':true}],'meta':{'resourceType':'User'}}"},
    {"enterprise urn path", 0, user_plain,
     "[{'op':'Add','path':'" ENT ":employeeNumber','value':'42'}]",
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'bjensen','active':true,'" ENT
     "':{'employeeNumber':'42'}}"},
    {"pathless dotted and urn keys", 0, user0,
     "[{'op':'Replace','value':{'name.familyName':'J2','" ENT
     ":department':'Sales','displayName':'BJ'}}]",
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'bjensen','name':{'givenName':"
     "'Barbara','familyName':'J2'},'active':true,'emails':[{'value':'b@example.com','type':"
     "'work','primary':true}],'meta':{'resourceType':'User'},'" ENT
     "':{'department':'Sales'},'displayName':'BJ'}"},
    {"pathless extension object", 0, user_plain,
     "[{'op':'add','value':{'" ENT "':{'department':'X','manager':'m1'}}}]",
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'bjensen','active':true,'" ENT
     "':{'department':'X','manager':{'value':'m1'}}}"},
    {"manager bare string", 0, user_plain,
     "[{'op':'Add','path':'" ENT ":manager','value':'m2'}]",
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'bjensen','active':true,'" ENT
     "':{'manager':{'value':'m2'}}}"},
    {"manager object", 0, user_plain,
     "[{'op':'Replace','path':'" ENT ":manager','value':{'value':'m3'}}]",
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'bjensen','active':true,'" ENT
     "':{'manager':{'value':'m3'}}}"},
    {"manager value sub path", 0, user_plain,
     "[{'op':'replace','path':'" ENT ":manager.value','value':'m4'}]",
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'bjensen','active':true,'" ENT
     "':{'manager':{'value':'m4'}}}"},
    {"remove extension attribute", 0,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'b','" ENT
     "':{'department':'X'}}",
     "[{'op':'remove','path':'" ENT ":department'}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'b'}"},
    {"remove whole extension", 0,
     "{'schemas':['" CORE "','" ENT "'],'id':'u1','userName':'b','" ENT
     "':{'department':'X'}}",
     "[{'op':'remove','path':'" ENT "'}]", "{'schemas':['" CORE "'],'id':'u1','userName':'b'}"},
    {"remove with value filter", 0, user0, "[{'op':'remove','path':'emails[type eq \\'work\\']'}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
     "'familyName':'Jensen'},'active':true,'meta':{'resourceType':'User'}}"},
    {"remove filter no match", 0, user0, "[{'op':'remove','path':'emails[type eq \\'home\\']'}]",
     NULL, 400, SCIM_ERR_NO_TARGET},
    {"remove required attribute", 0, user0, "[{'op':'remove','path':'userName'}]", NULL, 400,
     SCIM_ERR_MUTABILITY},
    {"replace required with null", 0, user0, "[{'op':'replace','path':'userName','value':null}]",
     NULL, 400, SCIM_ERR_MUTABILITY},
    {"remove without path", 0, user0, "[{'op':'remove'}]", NULL, 400, SCIM_ERR_NO_TARGET},
    {"replace id path", 0, user0, "[{'op':'replace','path':'id','value':'x'}]", NULL, 400,
     SCIM_ERR_MUTABILITY},
    {"replace meta sub path", 0, user0,
     "[{'op':'replace','path':'meta.created','value':'2020-01-01T00:00:00Z'}]", NULL, 400,
     SCIM_ERR_MUTABILITY},
    {"add groups on user", 0, user0, "[{'op':'add','path':'groups','value':[{'value':'g1'}]}]",
     NULL, 400, SCIM_ERR_MUTABILITY},
    {"pathless readonly ignored", 0, user_plain,
     "[{'op':'replace','value':{'id':'x','meta':{'created':'y'},'groups':[],'title':'T'}}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':true,'title':'T'}"},
    {"password accepted and dropped", 0, user_plain,
     "[{'op':'replace','path':'password','value':'s3cret'},{'op':'replace','value':{'password':"
     "'x'}}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':true}"},
    {"unknown attribute path", 0, user0, "[{'op':'add','path':'foo','value':'x'}]", NULL, 400,
     SCIM_ERR_INVALID_PATH},
    {"unknown sub-attribute path", 0, user0, "[{'op':'add','path':'name.foo','value':'x'}]",
     NULL, 400, SCIM_ERR_INVALID_PATH},
    {"unknown extension ignored", 0, user_plain,
     "[{'op':'add','path':'urn:ietf:params:scim:schemas:extension:Custom:2.0:User:foo','value':"
     "'x'},{'op':'add','value':{'urn:example:ext:1.0:User':{'a':1},'nosuch':2}}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':true}"},
    {"invalid path syntax", 0, user0, "[{'op':'add','path':'emails[type eq','value':'x'}]", NULL,
     400, SCIM_ERR_INVALID_PATH},
    {"filter on single-valued", 0, user0,
     "[{'op':'add','path':'name[givenName eq \\'x\\']','value':{}}]", NULL, 400,
     SCIM_ERR_INVALID_PATH},
    {"replace multi-valued list", 0, user0,
     "[{'op':'replace','path':'emails','value':[{'value':'c@x','type':'home'}]}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
     "'familyName':'Jensen'},'active':true,'emails':[{'value':'c@x','type':'home'}],"
     "'meta':{'resourceType':'User'}}"},
    {"add primary clears others", 0, user0,
     "[{'op':'add','path':'emails','value':[{'value':'h@x','type':'home','primary':true}]}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
     "'familyName':'Jensen'},'active':true,'emails':[{'value':'b@example.com','type':'work',"
     "'primary':false},{'value':'h@x','type':'home','primary':true}],"
     "'meta':{'resourceType':'User'}}"},
    {"filtered primary clears others", 0,
     "{'userName':'a','emails':[{'value':'1','type':'work','primary':true},{'value':'2',"
     "'type':'home'}]}",
     "[{'op':'replace','path':'emails[type eq \\'home\\'].primary','value':'True'}]",
     "{'schemas':['" CORE "'],'userName':'a','emails':[{'value':'1','type':'work','primary':"
     "false},{'value':'2','type':'home','primary':true}]}"},
    {"add existing value not duplicated", 0, user0,
     "[{'op':'add','path':'emails','value':[{'value':'b@example.com','type':'work',"
     "'primary':true}]}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
     "'familyName':'Jensen'},'active':true,'emails':[{'value':'b@example.com','type':'work',"
     "'primary':true}],'meta':{'resourceType':'User'}}"},
    {"add complex merges", 0, user0, "[{'op':'add','path':'name','value':{'middleName':'J'}}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
     "'familyName':'Jensen','middleName':'J'},'active':true,'emails':[{'value':'b@example.com',"
     "'type':'work','primary':true}],'meta':{'resourceType':'User'}}"},
    /* RFC 7644 section 3.5.2.1: path-less add with a multi-valued and a
     * single attribute; the key case differs from the schema. */
    {"rfc add without path", 0, user0,
     "[{'op':'add','value':{'emails':[{'value':'babs@jensen.org','type':'home'}],"
     "'nickname':'Babs'}}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
     "'familyName':'Jensen'},'active':true,'emails':[{'value':'b@example.com','type':'work',"
     "'primary':true},{'value':'babs@jensen.org','type':'home'}],'meta':{'resourceType':"
     "'User'},'nickName':'Babs'}"},
    /* RFC 7644 section 3.5.2.2: remove with a compound value filter. */
    {"rfc remove compound filter", 0, user0,
     "[{'op':'remove','path':'emails[type eq \\'work\\' and value ew \\'example.com\\']'}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','name':{'givenName':'Barbara',"
     "'familyName':'Jensen'},'active':true,'meta':{'resourceType':'User'}}"},
    /* RFC 7644 section 3.5.2.3: replace through filters. */
    {"rfc replace filtered element", 0,
     "{'userName':'a','addresses':[{'type':'work','streetAddress':'1 Main','primary':true},"
     "{'type':'home','streetAddress':'2 Elm'}]}",
     "[{'op':'replace','path':'addresses[type eq \\'work\\']','value':{'type':'work',"
     "'streetAddress':'911 Universal City Plaza','locality':'Hollywood','primary':true}}]",
     "{'schemas':['" CORE "'],'userName':'a','addresses':[{'type':'work','streetAddress':'911 "
     "Universal City Plaza','locality':'Hollywood','primary':true},{'type':'home',"
     "'streetAddress':'2 Elm'}]}"},
    {"rfc replace filtered sub", 0,
     "{'userName':'a','addresses':[{'type':'work','streetAddress':'1 Main'}]}",
     "[{'op':'replace','path':'addresses[type eq \\'work\\'].streetAddress','value':'1010 "
     "Broadway Ave'}]",
     "{'schemas':['" CORE "'],'userName':'a','addresses':[{'type':'work','streetAddress':'1010 "
     "Broadway Ave'}]}"},
    {"rfc replace without path", 0, user_plain,
     "[{'op':'replace','value':{'emails':[{'value':'bjensen@example.com','type':'work',"
     "'primary':true}],'nickname':'Babs'}}]",
     "{'schemas':['" CORE "'],'id':'u1','userName':'bjensen','active':true,'emails':[{'value':"
     "'bjensen@example.com','type':'work','primary':true}],'nickName':'Babs'}"},
    /* Groups without hooks: members edited inline (RFC 7644 3.5.2 examples). */
    {"rfc add member inline", 1, group0,
     "[{'op':'add','path':'members','value':[{'display':'Babs Jensen','$ref':"
     "'https://example.com/v2/Users/2819c223','value':'2819c223'}]}]",
     "{'schemas':['" GROUP_URN "'],'id':'g1','displayName':'Eng','members':[{'value':'u1'},"
     "{'value':'u2','display':'Bob'},{'display':'Babs Jensen','$ref':"
     "'https://example.com/v2/Users/2819c223','value':'2819c223'}]}"},
    {"rfc remove one member inline", 1, group0,
     "[{'op':'remove','path':'members[value eq \\'u1\\']'}]",
     "{'schemas':['" GROUP_URN "'],'id':'g1','displayName':'Eng','members':[{'value':'u2',"
     "'display':'Bob'}]}"},
    {"rfc remove all members inline", 1, group0, "[{'op':'remove','path':'members'}]",
     "{'schemas':['" GROUP_URN "'],'id':'g1','displayName':'Eng'}"},
    {"entra remove listed inline", 1, group0,
     "[{'op':'Remove','path':'members','value':[{'value':'u2'}]}]",
     "{'schemas':['" GROUP_URN "'],'id':'g1','displayName':'Eng','members':[{'value':'u1'}]}"},
    {"rfc remove then add members inline", 1, group0,
     "[{'op':'remove','path':'members[value eq \\'u1\\']'},{'op':'remove','path':"
     "'members[value eq \\'u2\\']'},{'op':'add','path':'members','value':[{'value':'u9'}]}]",
     "{'schemas':['" GROUP_URN "'],'id':'g1','displayName':'Eng','members':[{'value':'u9'}]}"},
    {"rfc replace members inline", 1, group0,
     "[{'op':'replace','path':'members','value':[{'display':'James Smith','value':'08e1d05d'}]}]",
     "{'schemas':['" GROUP_URN "'],'id':'g1','displayName':'Eng','members':[{'display':'James "
     "Smith','value':'08e1d05d'}]}"},
    {"rfc remove certificate", 0,
     "{'userName':'a','x509Certificates':[{'value':'MIIDQzCCAqygAwIBAgICEAAw'},{'value':'MIIB'}]}",
     "[{'op':'remove','path':'x509Certificates[value eq \\'MIIDQzCCAqygAwIBAgICEAAw\\']'}]",
     "{'schemas':['" CORE "'],'userName':'a','x509Certificates':[{'value':'MIIB'}]}"},
    {"member value case exact", 1, group0,
     "[{'op':'remove','path':'members[value eq \\'U1\\']'}]", NULL, 400, SCIM_ERR_NO_TARGET},
    {"group displayName remove", 1, group0, "[{'op':'remove','path':'displayName'}]", NULL, 400,
     SCIM_ERR_MUTABILITY},
    /* All-or-nothing: a later failure discards earlier changes. */
    {"later failure discards all", 0, user0,
     "[{'op':'replace','path':'displayName','value':'ok'},{'op':'remove','path':'userName'}]",
     NULL, 400, SCIM_ERR_MUTABILITY},
};

START_TEST(patch_table)
{
    const struct patch_case *c = &cases[_i];
    const scim_schema_resource *res = c->group ? scim_schema_group() : scim_schema_user();
    json *resource = parse_quoted(c->resource), *before = json_copy(resource);
    json *body = patch_body(c->ops), *out = NULL;
    scim_patch *p = NULL;
    scim_error err = {0};
    int rc;

    rc = scim_patch_parse(body, &p, &err);
    if (rc == 0)
        rc = scim_patch_apply(p, res, resource, NULL, &out, &err);
    ck_assert_msg(json_equal(resource, before), "%s: the input resource changed", c->name);
    if (c->expected) {
        json *expected = parse_quoted(c->expected);
        char *got = out ? json_dump(out, NULL) : NULL;
        ck_assert_msg(rc == 0, "%s: failed with %d %s: %s", c->name, err.status,
                      err.scim_type ? err.scim_type : "-", err.detail);
        ck_assert_msg(json_equal(out, expected), "%s: got %s", c->name, got);
        free(got);
        json_free(expected);
    } else {
        ck_assert_msg(rc == -1, "%s: expected an error", c->name);
        ck_assert_ptr_null(out);
        ck_assert_int_eq(err.status, c->status);
        ck_assert_msg(err.scim_type && strcmp(err.scim_type, c->scim_type) == 0,
                      "%s: scimType %s, detail %s", c->name, err.scim_type, err.detail);
        ck_assert_msg(err.detail[0] != '\0', "%s: empty detail", c->name);
    }
    json_free(out);
    scim_patch_free(p);
    json_free(body);
    json_free(before);
    json_free(resource);
}
END_TEST

struct parse_error_case {
    const char *body;
    const char *scim_type;
    const char *detail;
};

static const struct parse_error_case parse_errors[] = {
    {"{'schemas':['urn:x'],'Operations':[{'op':'add','value':{}}]}", SCIM_ERR_INVALID_SYNTAX,
     "schemas must contain"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp']}", SCIM_ERR_INVALID_SYNTAX,
     "Operations must be a non-empty array"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[]}",
     SCIM_ERR_INVALID_SYNTAX, "Operations must be a non-empty array"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'op':'move',"
     "'path':'a'}]}",
     SCIM_ERR_INVALID_SYNTAX, "Operations[0].op must be"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'op':'add',"
     "'path':'name'}]}",
     SCIM_ERR_INVALID_VALUE, "Operations[0]: add needs a value"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'op':'add',"
     "'value':'x'}]}",
     SCIM_ERR_INVALID_VALUE, "Operations[0]: without a path the value must be an object"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'op':'add',"
     "'path':'emails[type eq \\'work\\'','value':'x'}]}",
     SCIM_ERR_INVALID_PATH, "Operations[0]: invalid path at position 6: missing ']'"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'op':'add',"
     "'path':'a b','value':'x'}]}",
     SCIM_ERR_INVALID_PATH, "Operations[0]: invalid path at position 1: unexpected ' '"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[{'op':'add',"
     "'path':5,'value':'x'}]}",
     SCIM_ERR_INVALID_PATH, "Operations[0].path must be a string"},
    {"{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':['x']}",
     SCIM_ERR_INVALID_SYNTAX, "Operations[0] must be an object"},
    {"[]", SCIM_ERR_INVALID_SYNTAX, "the request body must be a JSON object"},
};

START_TEST(patch_parse_errors)
{
    const struct parse_error_case *c = &parse_errors[_i];
    json *body = parse_quoted(c->body);
    scim_patch *p = (scim_patch *)1;
    scim_error err = {0};

    ck_assert_int_eq(scim_patch_parse(body, &p, &err), -1);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.scim_type, c->scim_type);
    ck_assert_msg(strncmp(err.detail, c->detail, strlen(c->detail)) == 0, "got '%s'",
                  err.detail);
    json_free(body);
}
END_TEST

START_TEST(patch_op_names_any_case)
{
    const char *names[] = {"add", "Add", "ADD", "Replace", "rEpLaCe", "Remove"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char ops[200];
        scim_patch *p = NULL;
        scim_error err = {0};
        json *body;

        snprintf(ops, sizeof(ops), "[{'op':'%s','path':'title','value':'x'}]", names[i]);
        body = patch_body(ops);
        ck_assert_msg(scim_patch_parse(body, &p, &err) == 0, "%s: %s", names[i], err.detail);
        scim_patch_free(p);
        json_free(body);
    }
}
END_TEST

/* Records hook calls as text, e.g. "add[u2] remove{u1} remove* replace[]". */
struct recorder {
    char log[512];
    int fail_on; /* 1-based call number that fails, 0 for none */
    int calls;
};

static void log_values(struct recorder *r, const char *what, const json *values)
{
    strcat(r->log, what);
    strcat(r->log, "[");
    for (size_t i = 0; i < json_array_size(values); i++) {
        if (i)
            strcat(r->log, ",");
        strcat(r->log, json_get_string(json_array_get(values, i), "value"));
    }
    strcat(r->log, "] ");
}

static int hook_fail(struct recorder *r, scim_error *err)
{
    if (++r->calls != r->fail_on)
        return 0;
    scim_error_set(err, 409, NULL, "store failed");
    return -1;
}

static int rec_add(void *ctx, const json *values, scim_error *err)
{
    log_values(ctx, "add", values);
    return hook_fail(ctx, err);
}

static int rec_remove(void *ctx, const json *values, const scim_filter *filter, scim_error *err)
{
    struct recorder *r = ctx;
    const char *id = NULL;

    if (values) {
        log_values(r, "remove", values);
    } else if (filter) {
        ck_assert_int_eq(scim_filter_find_eq(filter, "value", &id), 1);
        strcat(r->log, "remove{");
        strcat(r->log, id);
        strcat(r->log, "} ");
    } else {
        strcat(r->log, "remove* ");
    }
    return hook_fail(r, err);
}

static int rec_replace(void *ctx, const json *values, scim_error *err)
{
    log_values(ctx, "replace", values);
    return hook_fail(ctx, err);
}

struct hook_case {
    const char *name;
    const char *ops;
    const char *log;          /* expected hook calls */
    const char *display_name; /* expected displayName after apply; NULL on error */
    int fail_on;
};

static const struct hook_case hook_cases[] = {
    {"okta group push",
     "[{'op':'replace','value':{'id':'g1','displayName':'Eng2'}},{'op':'remove','path':"
     "'members[value eq \\'u1\\']'},{'op':'add','path':'members','value':[{'value':'u3',"
     "'display':'Carol'}]}]",
     "remove{u1} add[u3] ", "Eng2"},
    {"okta pathless replace members",
     "[{'op':'replace','value':{'id':'g1','displayName':'Eng','members':[{'value':'u7'}]}}]",
     "replace[u7] ", "Eng"},
    {"entra remove listed only",
     "[{'op':'Remove','path':'members','value':[{'value':'u2'},{'value':'u9'}]}]",
     "remove[u2,u9] ", "Eng"},
    {"remove all members", "[{'op':'remove','path':'members'}]", "remove* ", "Eng"},
    {"replace members", "[{'op':'replace','path':'members','value':[{'value':'a'},{'value':'b'}]}]",
     "replace[a,b] ", "Eng"},
    {"replace members empty", "[{'op':'replace','path':'members','value':[]}]", "replace[] ",
     "Eng"},
    {"entra add single member",
     "[{'op':'Add','path':'members','value':[{'value':'u4'}]},{'op':'Replace','path':"
     "'displayName','value':'X'}]",
     "add[u4] ", "X"},
    {"member string value", "[{'op':'add','path':'members','value':'u5'}]", "add[u5] ", "Eng"},
    {"later error calls no hook",
     "[{'op':'add','path':'members','value':[{'value':'u4'}]},{'op':'remove','path':"
     "'displayName'}]",
     "", NULL},
    {"member without value",
     "[{'op':'add','path':'members','value':[{'display':'x'}]}]", "", NULL},
    {"member sub-attribute path", "[{'op':'replace','path':'members.display','value':'x'}]", "",
     NULL},
    {"hook failure fails apply",
     "[{'op':'add','path':'members','value':[{'value':'u4'}]},{'op':'remove','path':'members'}]",
     "add[u4] remove* ", NULL, 2},
};

START_TEST(patch_member_hooks)
{
    const struct hook_case *c = &hook_cases[_i];
    struct recorder r = {"", c->fail_on, 0};
    scim_patch_hooks hooks = {&r, rec_add, rec_remove, rec_replace};
    json *group = parse_quoted("{'schemas':['" GROUP_URN "'],'id':'g1','displayName':'Eng'}");
    json *body = patch_body(c->ops), *out = NULL;
    scim_patch *p = NULL;
    scim_error err = {0};
    int rc;

    ck_assert_msg(scim_patch_parse(body, &p, &err) == 0, "%s: %s", c->name, err.detail);
    rc = scim_patch_apply(p, scim_schema_group(), group, &hooks, &out, &err);
    ck_assert_str_eq(r.log, c->log);
    if (c->display_name) {
        ck_assert_msg(rc == 0, "%s: %s", c->name, err.detail);
        ck_assert_str_eq(json_get_string(out, "displayName"), c->display_name);
        ck_assert_ptr_null(json_object_get(out, "members"));
        ck_assert_str_eq(json_get_string(out, "id"), "g1");
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_ptr_null(out);
        ck_assert_int_ne(err.status, 0);
    }
    json_free(out);
    scim_patch_free(p);
    json_free(body);
    json_free(group);
}
END_TEST

static Suite *patch_suite(void)
{
    Suite *s = suite_create("patch");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, patch_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_loop_test(tc, patch_parse_errors, 0,
                        (int)(sizeof(parse_errors) / sizeof(parse_errors[0])));
    tcase_add_test(tc, patch_op_names_any_case);
    tcase_add_loop_test(tc, patch_member_hooks, 0,
                        (int)(sizeof(hook_cases) / sizeof(hook_cases[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(patch_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
