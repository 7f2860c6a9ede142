/* SCIM attribute definitions (RFC 7643) and the discovery documents built
 * from them.
 *
 * idgate serves two resource types: User (core schema, RFC 7643 section 4.1,
 * with the Enterprise User extension of section 4.3) and Group (section
 * 4.2). The definitions are static tables: every pointer returned here stays
 * valid for the life of the process and must not be freed.
 *
 * Stored resources use the standard JSON form: core attributes at the top
 * level, extension attributes inside an object keyed by the extension's URN,
 * for example {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
 * {"employeeNumber": "42"}}.
 *
 * Attribute names are matched without regard to ASCII case everywhere, as
 * RFC 7643 section 2.1 requires. Schema URNs are matched the same way.
 */
#ifndef IDGATE_SCIM_SCHEMA_H
#define IDGATE_SCIM_SCHEMA_H

#include <stddef.h>

#include "json.h"

/* Attribute data types (RFC 7643 section 2.3). */
typedef enum scim_type {
    SCIM_TYPE_STRING,
    SCIM_TYPE_BOOLEAN,
    SCIM_TYPE_DECIMAL,
    SCIM_TYPE_INTEGER,
    SCIM_TYPE_DATETIME,
    SCIM_TYPE_BINARY,
    SCIM_TYPE_REFERENCE,
    SCIM_TYPE_COMPLEX,
} scim_type;

/* The "mutability" characteristic (RFC 7643 section 7). */
typedef enum scim_mutability {
    SCIM_MUT_READ_WRITE,
    SCIM_MUT_READ_ONLY,
    SCIM_MUT_IMMUTABLE,
    SCIM_MUT_WRITE_ONLY,
} scim_mutability;

/* The "returned" characteristic (RFC 7643 section 7). */
typedef enum scim_returned {
    SCIM_RET_DEFAULT,
    SCIM_RET_ALWAYS,
    SCIM_RET_NEVER,
    SCIM_RET_REQUEST,
} scim_returned;

/* The "uniqueness" characteristic (RFC 7643 section 7). */
typedef enum scim_uniqueness {
    SCIM_UNIQ_NONE,
    SCIM_UNIQ_SERVER,
    SCIM_UNIQ_GLOBAL,
} scim_uniqueness;

/* One attribute definition. Sub-attributes exist only for complex types. */
typedef struct scim_attr {
    const char *name;
    scim_type type;
    int multi_valued;
    int required;
    int case_exact;
    scim_mutability mutability;
    scim_returned returned;
    scim_uniqueness uniqueness;
    const char *description;
    /* NULL-terminated lists, or NULL when the attribute has none. */
    const char *const *canonical_values;
    const char *const *reference_types;
    const struct scim_attr *sub_attrs;
    size_t n_sub_attrs;
} scim_attr;

/* One schema: the core schema of a resource type or an extension. */
typedef struct scim_schema {
    const char *id; /* schema URN */
    const char *name;
    const char *description;
    const scim_attr *attrs;
    size_t n_attrs;
} scim_schema;

/* An extension schema of a resource type (RFC 7643 section 6). */
typedef struct scim_schema_extension {
    const scim_schema *schema;
    int required;
} scim_schema_extension;

/* A resource type: its name, endpoint, core schema and extensions. */
typedef struct scim_schema_resource {
    const char *name;     /* "User" or "Group" */
    const char *endpoint; /* "/Users" or "/Groups" */
    const char *description;
    const scim_schema *core;
    const scim_schema_extension *extensions;
    size_t n_extensions;
} scim_schema_resource;

/* The resource types idgate serves. Static; never NULL. */
const scim_schema_resource *scim_schema_user(void);
const scim_schema_resource *scim_schema_group(void);

/* The resource type with this name ("User", "Group"; any ASCII case), or
 * NULL. */
const scim_schema_resource *scim_schema_resource_by_name(const char *name);

/* The schema (core or extension, of any resource type) with this URN in
 * any ASCII case, or NULL. */
const scim_schema *scim_schema_by_urn(const char *urn);

/* Finds an attribute of `res` by name, in any ASCII case.
 *
 * `urn` selects the schema: the core schema's URN, an extension's URN, or
 * NULL. With NULL the core schema is searched first and then the extensions
 * in order, so "employeeNumber" finds the Enterprise User attribute.
 * `*schema_out`, when `schema_out` is not NULL, receives the schema the
 * attribute belongs to. Returns NULL when there is no such attribute or the
 * URN is not a schema of `res`. */
const scim_attr *scim_schema_find_attr(const scim_schema_resource *res, const char *urn,
                                       const char *name, const scim_schema **schema_out);

/* Finds a sub-attribute of a complex attribute by name in any ASCII case,
 * or NULL. `attr` may be NULL, which returns NULL. */
const scim_attr *scim_schema_find_sub_attr(const scim_attr *attr, const char *name);

/* Finds an attribute from its full textual name: "userName",
 * "name.givenName", "urn:ietf:params:scim:schemas:core:2.0:User:userName"
 * or "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
 * The attribute name begins after the last ':'; a '.' after it separates the
 * sub-attribute. `*attr_out` gets the top-level attribute, `*sub_out` (when
 * not NULL) the sub-attribute or NULL, `*schema_out` (when not NULL) its
 * schema. Returns 0, or -1 when any part is unknown. */
int scim_schema_lookup(const scim_schema_resource *res, const char *fullname,
                       const scim_attr **attr_out, const scim_attr **sub_out,
                       const scim_schema **schema_out);

/* 1 when `s` is one of the schema URNs of `res` (any ASCII case), else 0. */
int scim_schema_resource_has_urn(const scim_schema_resource *res, const char *s);

/* An HTTP error in SCIM terms: status, optional scimType (one of the
 * SCIM_ERR_* strings of scim_const.h, static) and a human-readable detail
 * naming the attribute or position at fault. */
typedef struct scim_error {
    int status;
    const char *scim_type;
    char detail[256];
} scim_error;

/* Fills `err` (when not NULL) and returns -1, so callers can write
 * `return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE, "...", x);`. */
int scim_error_set(scim_error *err, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Builds the SCIM error response body (RFC 7644 section 3.12): schemas,
 * status as a string, scimType when set, detail. The caller frees it with
 * json_free; NULL when out of memory. */
json *scim_error_json(const scim_error *err);

/* Discovery documents (RFC 7644 section 4). Each returns a new tree that the
 * caller frees with json_free, or NULL when out of memory. `base_url` is the
 * SCIM base without a trailing slash (for example
 * "https://idgate.example.com/scim/v2") and is used for meta.location.
 *
 * scim_schema_schema_json: the Schema resource of one schema.
 * scim_schema_schemas_json: a ListResponse of every schema served.
 * scim_schema_resource_type_json: the ResourceType resource of one type.
 * scim_schema_resource_types_json: a ListResponse of both resource types.
 * scim_schema_service_provider_config_json: what idgate implements: patch,
 *   filter (with `max_results` as maxResults), sort and etag supported; bulk
 *   and changePassword not supported; authentication scheme
 *   oauthbearertoken. */
json *scim_schema_schema_json(const scim_schema *schema, const char *base_url);
json *scim_schema_schemas_json(const char *base_url);
json *scim_schema_resource_type_json(const scim_schema_resource *res, const char *base_url);
json *scim_schema_resource_types_json(const char *base_url);
json *scim_schema_service_provider_config_json(const char *base_url, int max_results);

#endif
