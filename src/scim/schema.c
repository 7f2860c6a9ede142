#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "scim/schema.h"
#include "scim/scim_const.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Attribute table shorthands. Unset fields take the RFC 7643 defaults:
 * single-valued, optional, caseExact false, readWrite, returned default,
 * uniqueness none. */
#define STR(n, ...) {.name = n, .type = SCIM_TYPE_STRING, __VA_ARGS__}
#define BOOL(n, ...) {.name = n, .type = SCIM_TYPE_BOOLEAN, __VA_ARGS__}
#define REF(n, refs, ...)                                                                          \
    {.name = n, .type = SCIM_TYPE_REFERENCE, .reference_types = refs, __VA_ARGS__}
#define BINARY(n, ...) {.name = n, .type = SCIM_TYPE_BINARY, __VA_ARGS__}
#define DATETIME(n, ...) {.name = n, .type = SCIM_TYPE_DATETIME, __VA_ARGS__}
#define COMPLEX(n, subs, ...)                                                                      \
    {.name = n, .type = SCIM_TYPE_COMPLEX, .sub_attrs = subs, .n_sub_attrs = N_OF(subs),           \
     __VA_ARGS__}

static const char *const refs_external[] = {"external", NULL};
static const char *const refs_uri[] = {"uri", NULL};
static const char *const refs_user[] = {"User", NULL};
static const char *const refs_user_group[] = {"User", "Group", NULL};

static const char *const types_email[] = {"work", "home", "other", NULL};
static const char *const types_phone[] = {"work", "home", "mobile", "fax", "pager", "other", NULL};
static const char *const types_im[] = {"aim",   "gtalk", "icq", "xmpp", "msn",
                                       "skype", "qq",    "yahoo", NULL};
static const char *const types_photo[] = {"photo", "thumbnail", NULL};
static const char *const types_address[] = {"work", "home", "other", NULL};
static const char *const types_membership[] = {"direct", "indirect", NULL};
static const char *const types_member[] = {"User", "Group", NULL};

/* Common attributes of every resource (RFC 7643 section 3.1). They are not
 * published in /Schemas but are found by the lookups. */
static const scim_attr meta_subs[] = {
    STR("resourceType", .case_exact = 1, .mutability = SCIM_MUT_READ_ONLY,
        .description = "Name of the resource type."),
    DATETIME("created", .mutability = SCIM_MUT_READ_ONLY,
             .description = "When the resource was added."),
    DATETIME("lastModified", .mutability = SCIM_MUT_READ_ONLY,
             .description = "When the resource was last changed."),
    REF("location", refs_uri, .case_exact = 1, .mutability = SCIM_MUT_READ_ONLY,
        .description = "URI of the resource."),
    STR("version", .case_exact = 1, .mutability = SCIM_MUT_READ_ONLY,
        .description = "Entity tag of the resource's current version."),
};

static const scim_attr common_attrs[] = {
    STR("id", .case_exact = 1, .mutability = SCIM_MUT_READ_ONLY, .returned = SCIM_RET_ALWAYS,
        .uniqueness = SCIM_UNIQ_SERVER, .description = "Identifier assigned by idgate."),
    STR("externalId", .case_exact = 1, .description = "Identifier assigned by the client."),
    COMPLEX("meta", meta_subs, .mutability = SCIM_MUT_READ_ONLY,
            .description = "Resource metadata."),
    REF("schemas", refs_uri, .multi_valued = 1, .case_exact = 1,
        .mutability = SCIM_MUT_READ_ONLY, .returned = SCIM_RET_ALWAYS,
        .description = "Schema URNs of the resource."),
};

/* Sub-attributes shared by the plain multi-valued attributes of User. */
#define MULTI_SUBS(value_attr, canon)                                                              \
    value_attr, STR("display", .description = "Human-readable name."),                             \
        STR("type", .canonical_values = canon, .description = "Label of the value's function."),   \
        BOOL("primary", .description = "The preferred value of the attribute.")

static const scim_attr name_subs[] = {
    STR("formatted", .description = "Full name for display."),
    STR("familyName", .description = "Family name."),
    STR("givenName", .description = "Given name."),
    STR("middleName", .description = "Middle name."),
    STR("honorificPrefix", .description = "Honorific prefix, such as Ms."),
    STR("honorificSuffix", .description = "Honorific suffix, such as III."),
};

static const scim_attr email_subs[] = {
    MULTI_SUBS(STR("value", .description = "Email address."), types_email)};
static const scim_attr phone_subs[] = {
    MULTI_SUBS(STR("value", .description = "Phone number."), types_phone)};
static const scim_attr im_subs[] = {
    MULTI_SUBS(STR("value", .description = "Instant messaging address."), types_im)};
static const scim_attr photo_subs[] = {MULTI_SUBS(
    REF("value", refs_external, .case_exact = 1, .description = "URL of a photo."), types_photo)};
static const scim_attr entitlement_subs[] = {
    MULTI_SUBS(STR("value", .description = "Entitlement."), NULL)};
static const scim_attr role_subs[] = {MULTI_SUBS(STR("value", .description = "Role."), NULL)};
static const scim_attr cert_subs[] = {
    MULTI_SUBS(BINARY("value", .description = "DER certificate in base64."), NULL)};

static const scim_attr address_subs[] = {
    STR("formatted", .description = "Full address for display."),
    STR("streetAddress", .description = "Street address."),
    STR("locality", .description = "City or locality."),
    STR("region", .description = "State or region."),
    STR("postalCode", .description = "Postal code."),
    STR("country", .description = "Country (ISO 3166-1 alpha-2)."),
    STR("type", .canonical_values = types_address, .description = "Label of the address."),
    BOOL("primary", .description = "The preferred address."),
};

static const scim_attr user_group_subs[] = {
    STR("value", .mutability = SCIM_MUT_READ_ONLY, .description = "Group id."),
    REF("$ref", refs_user_group, .mutability = SCIM_MUT_READ_ONLY,
        .description = "URI of the group."),
    STR("display", .mutability = SCIM_MUT_READ_ONLY, .description = "Group display name."),
    STR("type", .canonical_values = types_membership, .mutability = SCIM_MUT_READ_ONLY,
        .description = "Direct or indirect membership."),
};

static const scim_attr user_attrs[] = {
    STR("userName", .required = 1, .uniqueness = SCIM_UNIQ_SERVER,
        .description = "Unique identifier of the user for sign-in, often an email address."),
    COMPLEX("name", name_subs, .description = "Components of the user's name."),
    STR("displayName", .description = "Name for display."),
    STR("nickName", .description = "Casual name."),
    REF("profileUrl", refs_external, .description = "URL of the user's online profile."),
    STR("title", .description = "Job title."),
    STR("userType", .description = "Relationship to the organization."),
    STR("preferredLanguage", .description = "Preferred written or spoken language."),
    STR("locale", .description = "Locale for localized output."),
    STR("timezone", .description = "Time zone in IANA database format."),
    BOOL("active", .description = "Whether the user may sign in."),
    STR("password", .mutability = SCIM_MUT_WRITE_ONLY, .returned = SCIM_RET_NEVER,
        .description = "Accepted and discarded: users sign in through their identity provider."),
    COMPLEX("emails", email_subs, .multi_valued = 1, .description = "Email addresses."),
    COMPLEX("phoneNumbers", phone_subs, .multi_valued = 1, .description = "Phone numbers."),
    COMPLEX("ims", im_subs, .multi_valued = 1, .description = "Instant messaging addresses."),
    COMPLEX("photos", photo_subs, .multi_valued = 1, .description = "Photo URLs."),
    COMPLEX("addresses", address_subs, .multi_valued = 1, .description = "Physical addresses."),
    COMPLEX("groups", user_group_subs, .multi_valued = 1, .mutability = SCIM_MUT_READ_ONLY,
            .description = "Groups the user belongs to; changed through the Group resource."),
    COMPLEX("entitlements", entitlement_subs, .multi_valued = 1,
            .description = "Entitlements."),
    COMPLEX("roles", role_subs, .multi_valued = 1, .description = "Roles."),
    COMPLEX("x509Certificates", cert_subs, .multi_valued = 1,
            .description = "X.509 certificates."),
};

static const scim_attr manager_subs[] = {
    STR("value", .description = "id of the manager's User resource."),
    REF("$ref", refs_user, .description = "URI of the manager's User resource."),
    STR("displayName", .mutability = SCIM_MUT_READ_ONLY,
        .description = "Display name of the manager."),
};

static const scim_attr enterprise_attrs[] = {
    STR("employeeNumber", .description = "Identifier assigned by the organization."),
    STR("costCenter", .description = "Cost center."),
    STR("organization", .description = "Organization."),
    STR("division", .description = "Division."),
    STR("department", .description = "Department."),
    COMPLEX("manager", manager_subs, .description = "The user's manager."),
};

static const scim_attr member_subs[] = {
    STR("value", .case_exact = 1, .mutability = SCIM_MUT_IMMUTABLE,
        .description = "id of the member resource."),
    REF("$ref", refs_user_group, .mutability = SCIM_MUT_IMMUTABLE,
        .description = "URI of the member resource."),
    STR("display", .mutability = SCIM_MUT_IMMUTABLE, .description = "Display name of the member."),
    STR("type", .canonical_values = types_member, .mutability = SCIM_MUT_IMMUTABLE,
        .description = "Resource type of the member."),
};

static const scim_attr group_attrs[] = {
    STR("displayName", .required = 1, .uniqueness = SCIM_UNIQ_SERVER,
        .description = "Name of the group, unique within the account."),
    COMPLEX("members", member_subs, .multi_valued = 1, .description = "Members of the group."),
};

static const scim_schema user_schema = {SCIM_URN_USER, "User", "User Account",
                                        user_attrs, N_OF(user_attrs)};
static const scim_schema enterprise_schema = {SCIM_URN_ENTERPRISE_USER, "EnterpriseUser",
                                              "Enterprise user", enterprise_attrs,
                                              N_OF(enterprise_attrs)};
static const scim_schema group_schema = {SCIM_URN_GROUP, "Group", "Group", group_attrs,
                                         N_OF(group_attrs)};

static const scim_schema_extension user_extensions[] = {{&enterprise_schema, 0}};

static const scim_schema_resource user_resource = {
    "User", "/Users", "User Account", &user_schema, user_extensions, N_OF(user_extensions)};
static const scim_schema_resource group_resource = {"Group", "/Groups", "Group", &group_schema,
                                                    NULL, 0};

static const scim_schema *const all_schemas[] = {&user_schema, &enterprise_schema,
                                                 &group_schema};
static const scim_schema_resource *const all_resources[] = {&user_resource, &group_resource};

const scim_schema_resource *scim_schema_user(void)
{
    return &user_resource;
}

const scim_schema_resource *scim_schema_group(void)
{
    return &group_resource;
}

const scim_schema_resource *scim_schema_resource_by_name(const char *name)
{
    for (size_t i = 0; name && i < N_OF(all_resources); i++) {
        if (strcasecmp(all_resources[i]->name, name) == 0)
            return all_resources[i];
    }
    return NULL;
}

const scim_schema *scim_schema_by_urn(const char *urn)
{
    for (size_t i = 0; urn && i < N_OF(all_schemas); i++) {
        if (strcasecmp(all_schemas[i]->id, urn) == 0)
            return all_schemas[i];
    }
    return NULL;
}

static int ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static const scim_attr *find_in(const scim_attr *attrs, size_t n, const char *name)
{
    /* Comparing the first letters first skips most strcasecmp calls. */
    int first = ascii_lower(name[0]);

    for (size_t i = 0; i < n; i++) {
        if (ascii_lower(attrs[i].name[0]) == first &&
            strcasecmp(attrs[i].name, name) == 0)
            return &attrs[i];
    }
    return NULL;
}

int scim_schema_resource_has_urn(const scim_schema_resource *res, const char *s)
{
    if (!res || !s)
        return 0;
    if (strcasecmp(res->core->id, s) == 0)
        return 1;
    for (size_t i = 0; i < res->n_extensions; i++) {
        if (strcasecmp(res->extensions[i].schema->id, s) == 0)
            return 1;
    }
    return 0;
}

const scim_attr *scim_schema_find_attr(const scim_schema_resource *res, const char *urn,
                                       const char *name, const scim_schema **schema_out)
{
    const scim_attr *a = NULL;
    const scim_schema *s = NULL;

    if (!res || !name)
        return NULL;
    if (!urn || strcasecmp(urn, res->core->id) == 0) {
        s = res->core;
        a = find_in(s->attrs, s->n_attrs, name);
        if (!a)
            a = find_in(common_attrs, N_OF(common_attrs), name);
    }
    for (size_t i = 0; !a && i < res->n_extensions; i++) {
        const scim_schema *ext = res->extensions[i].schema;
        if (urn && strcasecmp(urn, ext->id) != 0)
            continue;
        s = ext;
        a = find_in(ext->attrs, ext->n_attrs, name);
    }
    if (a && schema_out)
        *schema_out = s;
    return a;
}

const scim_attr *scim_schema_find_sub_attr(const scim_attr *attr, const char *name)
{
    if (!attr || !name || attr->type != SCIM_TYPE_COMPLEX)
        return NULL;
    return find_in(attr->sub_attrs, attr->n_sub_attrs, name);
}

int scim_schema_lookup(const scim_schema_resource *res, const char *fullname,
                       const scim_attr **attr_out, const scim_attr **sub_out,
                       const scim_schema **schema_out)
{
    char buf[512];
    const char *colon, *name;
    char *dot, *urn = NULL;
    const scim_attr *a, *sub = NULL;

    if (!fullname || strlen(fullname) >= sizeof(buf))
        return -1;
    strcpy(buf, fullname);
    colon = strrchr(buf, ':');
    name = buf;
    if (colon) {
        urn = buf;
        buf[colon - buf] = '\0';
        name = colon + 1;
    }
    dot = strchr(name, '.');
    if (dot)
        *dot = '\0';
    a = scim_schema_find_attr(res, urn, name, schema_out);
    if (!a)
        return -1;
    if (dot) {
        sub = scim_schema_find_sub_attr(a, dot + 1);
        if (!sub)
            return -1;
    }
    *attr_out = a;
    if (sub_out)
        *sub_out = sub;
    return 0;
}

/* Errors. */

int scim_error_set(scim_error *err, int status, const char *type, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return -1;
    err->status = status;
    err->scim_type = type;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    return -1;
}

/* Sets obj[key] = value; returns -1 when out of memory (value is freed). */
static int put(json *obj, const char *key, json *value)
{
    return json_object_set(obj, key, value);
}

static json *string_array(const char *const *list)
{
    json *arr = json_array();

    for (size_t i = 0; arr && list && list[i]; i++) {
        if (json_array_append(arr, json_string(list[i])) < 0) {
            json_free(arr);
            return NULL;
        }
    }
    return arr;
}

json *scim_error_json(const scim_error *err)
{
    static const char *const error_schemas[] = {SCIM_URN_ERROR, NULL};
    json *o = json_object();
    char status[16];
    int rc = 0;

    if (!o)
        return NULL;
    snprintf(status, sizeof(status), "%d", err->status);
    rc |= put(o, "schemas", string_array(error_schemas));
    rc |= put(o, "status", json_string(status));
    if (err->scim_type)
        rc |= put(o, "scimType", json_string(err->scim_type));
    rc |= put(o, "detail", json_string(err->detail));
    if (rc < 0) {
        json_free(o);
        return NULL;
    }
    return o;
}

/* Discovery documents. */

static const char *type_name(scim_type t)
{
    static const char *const names[] = {"string",   "boolean", "decimal",   "integer",
                                        "dateTime", "binary",  "reference", "complex"};
    return names[t];
}

static const char *mutability_name(scim_mutability m)
{
    static const char *const names[] = {"readWrite", "readOnly", "immutable", "writeOnly"};
    return names[m];
}

static const char *returned_name(scim_returned r)
{
    static const char *const names[] = {"default", "always", "never", "request"};
    return names[r];
}

static const char *uniqueness_name(scim_uniqueness u)
{
    static const char *const names[] = {"none", "server", "global"};
    return names[u];
}

static json *attrs_json(const scim_attr *attrs, size_t n);

static json *attr_json(const scim_attr *a)
{
    json *o = json_object();
    int rc = 0;

    if (!o)
        return NULL;
    rc |= put(o, "name", json_string(a->name));
    rc |= put(o, "type", json_string(type_name(a->type)));
    rc |= put(o, "multiValued", json_bool(a->multi_valued));
    rc |= put(o, "description", json_string(a->description ? a->description : ""));
    rc |= put(o, "required", json_bool(a->required));
    if (a->type != SCIM_TYPE_COMPLEX && a->type != SCIM_TYPE_BOOLEAN)
        rc |= put(o, "caseExact", json_bool(a->case_exact));
    if (a->canonical_values)
        rc |= put(o, "canonicalValues", string_array(a->canonical_values));
    if (a->reference_types)
        rc |= put(o, "referenceTypes", string_array(a->reference_types));
    if (a->type == SCIM_TYPE_COMPLEX)
        rc |= put(o, "subAttributes", attrs_json(a->sub_attrs, a->n_sub_attrs));
    rc |= put(o, "mutability", json_string(mutability_name(a->mutability)));
    rc |= put(o, "returned", json_string(returned_name(a->returned)));
    rc |= put(o, "uniqueness", json_string(uniqueness_name(a->uniqueness)));
    if (rc < 0) {
        json_free(o);
        return NULL;
    }
    return o;
}

static json *attrs_json(const scim_attr *attrs, size_t n)
{
    json *arr = json_array();

    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append(arr, attr_json(&attrs[i])) < 0) {
            json_free(arr);
            return NULL;
        }
    }
    return arr;
}

static json *meta_json(const char *resource_type, const char *base_url, const char *path,
                       const char *id)
{
    json *m = json_object();
    char location[1024];

    if (!m)
        return NULL;
    snprintf(location, sizeof(location), "%s%s%s%s", base_url ? base_url : "", path,
             id ? "/" : "", id ? id : "");
    if (put(m, "resourceType", json_string(resource_type)) < 0 ||
        put(m, "location", json_string(location)) < 0) {
        json_free(m);
        return NULL;
    }
    return m;
}

static json *single_schema_list(const char *urn)
{
    const char *const list[] = {urn, NULL};
    return string_array(list);
}

json *scim_schema_schema_json(const scim_schema *schema, const char *base_url)
{
    json *o = json_object();
    int rc = 0;

    if (!o)
        return NULL;
    rc |= put(o, "schemas", single_schema_list(SCIM_URN_SCHEMA));
    rc |= put(o, "id", json_string(schema->id));
    rc |= put(o, "name", json_string(schema->name));
    rc |= put(o, "description", json_string(schema->description));
    rc |= put(o, "attributes", attrs_json(schema->attrs, schema->n_attrs));
    rc |= put(o, "meta", meta_json("Schema", base_url, "/Schemas", schema->id));
    if (rc < 0) {
        json_free(o);
        return NULL;
    }
    return o;
}

/* Wraps `resources` (taken) in a ListResponse holding all of them. */
static json *list_response(json *resources)
{
    json *o = resources ? json_object() : NULL;
    int64_t n = (int64_t)json_array_size(resources);
    int rc = 0;

    if (!o) {
        json_free(resources);
        return NULL;
    }
    rc |= put(o, "schemas", single_schema_list(SCIM_URN_LIST_RESPONSE));
    rc |= put(o, "totalResults", json_int(n));
    rc |= put(o, "itemsPerPage", json_int(n));
    rc |= put(o, "startIndex", json_int(1));
    rc |= put(o, "Resources", resources);
    if (rc < 0) {
        json_free(o);
        return NULL;
    }
    return o;
}

json *scim_schema_schemas_json(const char *base_url)
{
    json *arr = json_array();

    for (size_t i = 0; arr && i < N_OF(all_schemas); i++) {
        if (json_array_append(arr, scim_schema_schema_json(all_schemas[i], base_url)) < 0) {
            json_free(arr);
            return NULL;
        }
    }
    return list_response(arr);
}

static json *extensions_json(const scim_schema_resource *res)
{
    json *arr = json_array();

    for (size_t i = 0; arr && i < res->n_extensions; i++) {
        json *e = json_object();
        if (!e || put(e, "schema", json_string(res->extensions[i].schema->id)) < 0 ||
            put(e, "required", json_bool(res->extensions[i].required)) < 0 ||
            json_array_append(arr, e) < 0) {
            json_free(arr);
            return NULL;
        }
    }
    return arr;
}

json *scim_schema_resource_type_json(const scim_schema_resource *res, const char *base_url)
{
    json *o = json_object();
    int rc = 0;

    if (!o)
        return NULL;
    rc |= put(o, "schemas", single_schema_list(SCIM_URN_RESOURCE_TYPE));
    rc |= put(o, "id", json_string(res->name));
    rc |= put(o, "name", json_string(res->name));
    rc |= put(o, "endpoint", json_string(res->endpoint));
    rc |= put(o, "description", json_string(res->description));
    rc |= put(o, "schema", json_string(res->core->id));
    if (res->n_extensions)
        rc |= put(o, "schemaExtensions", extensions_json(res));
    rc |= put(o, "meta", meta_json("ResourceType", base_url, "/ResourceTypes", res->name));
    if (rc < 0) {
        json_free(o);
        return NULL;
    }
    return o;
}

json *scim_schema_resource_types_json(const char *base_url)
{
    json *arr = json_array();

    for (size_t i = 0; arr && i < N_OF(all_resources); i++) {
        if (json_array_append(arr, scim_schema_resource_type_json(all_resources[i], base_url)) <
            0) {
            json_free(arr);
            return NULL;
        }
    }
    return list_response(arr);
}

/* {"supported": <supported>} */
static json *feature(int supported)
{
    json *o = json_object();
    if (o && put(o, "supported", json_bool(supported)) < 0) {
        json_free(o);
        return NULL;
    }
    return o;
}

static json *auth_schemes(void)
{
    json *arr = json_array();
    json *s = json_object();
    int rc = 0;

    if (!arr || !s) {
        json_free(arr);
        json_free(s);
        return NULL;
    }
    rc |= put(s, "type", json_string("oauthbearertoken"));
    rc |= put(s, "name", json_string("OAuth Bearer Token"));
    rc |= put(s, "description",
              json_string("Authentication with a SCIM access key of the account, sent as a "
                          "bearer token in the Authorization header."));
    rc |= put(s, "specUri", json_string("https://www.rfc-editor.org/rfc/rfc6750"));
    rc |= put(s, "primary", json_bool(1));
    rc |= json_array_append(arr, s);
    if (rc < 0) {
        json_free(arr);
        return NULL;
    }
    return arr;
}

json *scim_schema_service_provider_config_json(const char *base_url, int max_results)
{
    json *o = json_object();
    json *bulk = feature(0);
    json *filter = feature(1);
    int rc = 0;

    if (!o || !bulk || !filter) {
        json_free(o);
        json_free(bulk);
        json_free(filter);
        return NULL;
    }
    rc |= put(bulk, "maxOperations", json_int(0));
    rc |= put(bulk, "maxPayloadSize", json_int(0));
    rc |= put(filter, "maxResults", json_int(max_results));
    rc |= put(o, "schemas", single_schema_list(SCIM_URN_SERVICE_PROVIDER_CONFIG));
    rc |= put(o, "patch", feature(1));
    rc |= put(o, "bulk", bulk);
    rc |= put(o, "filter", filter);
    rc |= put(o, "changePassword", feature(0));
    rc |= put(o, "sort", feature(1));
    rc |= put(o, "etag", feature(1));
    rc |= put(o, "authenticationSchemes", auth_schemes());
    rc |= put(o, "meta",
              meta_json("ServiceProviderConfig", base_url, "/ServiceProviderConfig", NULL));
    if (rc < 0) {
        json_free(o);
        return NULL;
    }
    return o;
}
