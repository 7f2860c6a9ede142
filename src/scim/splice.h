/* Reply forms of stored SCIM resources written without a parse: the stored
 * JSON text is copied, and only the parts that rendering adds are written
 * around it (meta.location, then a user's `groups` or a group's `members`).
 *
 * The store writes every resource as schemas, id, attributes, then `meta`
 * last, with string members only and a version W/"n", and never keeps a
 * password, groups or members inline. For such a text the spliced form is
 * the same bytes as parsing it, rendering it with scim_render and no
 * projection, and dumping it.
 */
#ifndef IDGATE_SCIM_SPLICE_H
#define IDGATE_SCIM_SPLICE_H

#include <stddef.h>

struct evbuffer;

/* Appends to `out` the stored resource `text` of type `resource_type`
 * ("User" or "Group") with meta.location set. The location is
 * `location_prefix` (`prefix_len` bytes: the opening quote and the JSON
 * escaped URL up to the id), then `id`, which must need no escaping, and
 * the closing quote. When `extra_name` is not NULL the resource is left
 * open after the member name `,"extra_name":`, and the caller appends the
 * value and the closing "}". Returns 0, STORE_NOMEM, or 1 with nothing
 * written when `text` is not in the stored form, and the caller then
 * renders it from a tree. */
int scim_splice_resource(const char *text, size_t len, const char *resource_type,
                         const char *location_prefix, size_t prefix_len, const char *id,
                         const char *extra_name, struct evbuffer *out);

/* Sets `version` to the ETag W/"n" of a text that ends with the stored
 * form's version. Returns 0, or 1 when the text does not end that way. */
int scim_splice_version(const char *text, size_t len, char version[32]);

#endif
