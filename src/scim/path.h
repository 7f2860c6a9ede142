/* PATCH attribute paths (RFC 7644 section 3.5.2, "PATH" rule of figure 1):
 *
 *   path = attrPath | valuePath ["." subAttr]
 *   attrPath = [URN ":"] attrName ["." subAttr]
 *   valuePath = attrPath "[" valFilter "]"
 *
 * Accepted forms: `attr`, `attr.sub`, `urn:...:attr`, `urn:...:attr.sub`,
 * `attr[filter]`, `attr[filter].sub` and `urn:...:attr[filter].sub`. The
 * attribute name starts after the last ':' that is outside the brackets,
 * so the dots in an extension URN's "2.0" are part of the URN. A path that
 * is only a schema URN (for example the Enterprise User URN) is valid: it
 * names the whole extension object, and `attr` is then NULL.
 */
#ifndef IDGATE_SCIM_PATH_H
#define IDGATE_SCIM_PATH_H

#include <stddef.h>

#include "scim/filter.h"

/* A parsed path. Owned by the caller; free with scim_path_free. */
typedef struct scim_path {
    /* urn: schema URN or NULL. attr: top-level attribute name, or NULL when
     * the path is a bare schema URN. sub: the sub-attribute after '.' or
     * after "]." , or NULL. */
    scim_attr_path attr;
    /* Value filter between the brackets, or NULL. Its attribute paths name
     * sub-attributes of `attr.attr`. */
    scim_filter *filter;
} scim_path;

/* Parses `text`. Returns 0 and a new path in `*out`, or -1 with `*out`
 * NULL and a message with the byte position in `err`, for example
 * "invalid path at position 6: expected ']'". Paths longer than
 * SCIM_FILTER_MAX_LENGTH are rejected. The caller reports failures as 400
 * with scimType invalidPath. */
int scim_path_parse(const char *text, scim_path **out, char *err, size_t errlen);

void scim_path_free(scim_path *p);

/* Resolves `p` against a resource type. Sets `*attr_out` to the top-level
 * attribute (NULL for a bare extension URN), `*sub_out` (when not NULL) to
 * the sub-attribute or NULL, and `*schema_out` (when not NULL) to the
 * schema. Returns 0, or -1 when an attribute or URN is unknown, a
 * sub-attribute is given on a non-complex attribute, or a filter is given on
 * an attribute that is not multi-valued. */
int scim_path_resolve(const scim_path *p, const scim_schema_resource *res,
                      const scim_attr **attr_out, const scim_attr **sub_out,
                      const scim_schema **schema_out);

#endif
