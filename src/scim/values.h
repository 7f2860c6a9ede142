/* SCIM value normalisation for create and replace (PUT), value coercion
 * shared with PATCH, and response projection for the `attributes` and
 * `excludedAttributes` query parameters (RFC 7644 section 3.4.2.5).
 */
#ifndef IDGATE_SCIM_VALUES_H
#define IDGATE_SCIM_VALUES_H

#include <stddef.h>

#include "json.h"
#include "scim/schema.h"

/* Coerces one attribute value in place to the shape `attr` defines:
 * "true"/"false" strings in any ASCII case become JSON booleans on boolean
 * attributes (any other string is invalid), a bare string given for a
 * complex attribute that has a `value` sub-attribute becomes
 * {"value": "<string>"} (Entra ID sends `manager` that way), and each
 * element of a multi-valued attribute and each sub-attribute of a complex
 * one is coerced the same way. A single value given for a multi-valued
 * attribute is wrapped in an array. Unknown sub-attributes are dropped.
 * `*value` may be replaced by a new node (the old one is freed). `name` is
 * the attribute's name for messages. Returns 0, or -1 with 400
 * invalidValue in `err` when the value has the wrong JSON type. */
int scim_value_coerce(const scim_attr *attr, const char *name, json **value, scim_error *err);

/* Makes `s` valid UTF-8 in place, so that it can go into a JSON reply: a
 * multi-byte sequence cut off at the end of the string (as snprintf's
 * precision cuts) is removed, and every other byte that is not part of a
 * valid sequence becomes '?'. Overlong forms, surrogates and code points
 * above U+10FFFF count as invalid. Returns the new length. */
size_t scim_utf8_repair(char *s);

/* Returns 1 when the `len` bytes at `s` are well-formed UTF-8 (RFC 3629),
 * else 0. */
int scim_utf8_valid(const char *s, size_t len);

/* Returns the length of the longest prefix of `s` of at most `max` bytes
 * that does not end inside a UTF-8 sequence, for "%.*s" in messages. */
int scim_utf8_prefix(const char *s, int max);

/* Parses "true"/"false" in any ASCII case. Returns 0 and sets `*out`, or -1. */
int scim_bool_parse(const char *s, int *out);

/* Why a resource is being normalised. */
typedef enum scim_normalize_mode {
    SCIM_NORMALIZE_CREATE,  /* POST */
    SCIM_NORMALIZE_REPLACE, /* PUT */
} scim_normalize_mode;

/* Normalises a client-supplied resource body in place for create or PUT:
 * - keys are matched to attribute definitions in any ASCII case and
 *   renamed to the schema's spelling; URN-prefixed keys
 *   ("urn:...:enterprise:2.0:User:department") move into their extension
 *   object; unknown attributes and unknown schema URNs are dropped (Entra ID
 *   sends extra ones), not rejected;
 * - readOnly attributes (id, meta, groups) and writeOnly attributes
 *   (password) are dropped;
 * - values are coerced with scim_value_coerce;
 * - `schemas` is rewritten to the core URN plus the URN of each extension
 *   object that remains non-empty;
 * - required attributes must be present and non-empty (userName for User,
 *   displayName for Group).
 * Returns 0, or -1 with `err` set (400 invalidValue or invalidSyntax,
 * detail naming the attribute) and `resource` in an unspecified but valid
 * state. `resource` must be a JSON object. Comparing immutable attributes
 * against the stored resource on PUT is left to the caller. */
int scim_resource_normalize(const scim_schema_resource *res, json *resource,
                            scim_normalize_mode mode, scim_error *err);

/* Projection of a resource for a response. */
typedef struct scim_projection scim_projection;

/* Builds a projection from the query parameters `attributes` and
 * `excludedAttributes` (comma-separated attribute paths such as
 * "userName,name.givenName,urn:...:enterprise:2.0:User:manager"; either
 * may be NULL or empty). In `attributes`, a name with a value filter such as
 * `emails[type eq "work"]` keeps only the matching elements; a filter may not
 * contain a comma. Unknown names are ignored. RFC 7644 says a request
 * gives at most one of the two; when both are given `attributes` wins.
 * Returns 0 and a new projection in `*out` (free with
 * scim_projection_free), or -1 with 400 invalidValue in `err` when a name
 * is malformed. */
int scim_projection_parse(const scim_schema_resource *res, const char *attributes,
                          const char *excluded, scim_projection **out, scim_error *err);

void scim_projection_free(scim_projection *p);

/* Removes from `resource` (in place) what the response must not contain:
 * attributes with returned "never" always; with `attributes`, everything
 * not listed except returned "always" ones (id, schemas, and a listed
 * attribute's "always" sub-attributes); without it, returned "request"
 * attributes not listed and excluded attributes (returned "always" ones
 * cannot be excluded). `p` may be NULL, meaning the default projection.
 * Returns 0, or -1 when out of memory. */
int scim_projection_apply(const scim_projection *p, json *resource);

/* 1 when the response will contain top-level attribute `name` (for example
 * "members", so a handler can skip loading a Group's members under
 * excludedAttributes=members), else 0. A NULL `p` returns 1. */
int scim_projection_includes(const scim_projection *p, const char *name);

#endif
