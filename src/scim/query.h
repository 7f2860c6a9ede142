/* Parsers of the SCIM list parameters (RFC 7644 section 3.4.2): startIndex,
 * count, sortBy and sortOrder, from a query string or a SearchRequest.
 * They build nothing and reply nothing, so that the HTTP handlers and the
 * fuzz target share them. The `attributes` and `excludedAttributes`
 * parameters are parsed by scim_projection_parse (values.h).
 */
#ifndef IDGATE_SCIM_QUERY_H
#define IDGATE_SCIM_QUERY_H

#include "scim/schema.h"

/* Parses the decimal integer parameter `name` from `text` into `*out`. A
 * NULL or empty `text` leaves `*out` unchanged. Values below -1 become -1
 * and values above 2147483647 become 2147483647, for scim_query_clamp.
 * Returns 0, or -1 with 400 invalidValue in `err` when `text` is not an
 * integer. */
int scim_query_long(const char *name, const char *text, long *out, scim_error *err);

/* Applies RFC 7644 section 3.4.2.4: startIndex below 1 means 1, count below
 * 0 means 0, and count is capped at `max_count`. */
void scim_query_clamp(long *start, long *count, long max_count);

/* Parses sortOrder: NULL, empty or "ascending" sets `*descending` to 0,
 * "descending" to 1 (any ASCII case). Returns 0, or -1 with 400
 * invalidValue in `err`. */
int scim_query_sort_order(const char *order, int *descending, scim_error *err);

/* Resolves sortBy to the attribute to sort on: a simple attribute, a
 * sub-attribute, or a complex attribute that has a `value` sub-attribute
 * (which is then used). `*sub` is NULL for a top-level simple attribute.
 * Returns 0, or -1 with 400 invalidValue in `err` naming the value and
 * `type` ("User" or "Group"). */
int scim_query_sort_by(const scim_schema_resource *res, const char *type, const char *sort_by,
                       const scim_attr **attr, const scim_attr **sub,
                       const scim_schema **schema, scim_error *err);

#endif
