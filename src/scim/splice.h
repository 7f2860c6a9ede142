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

#include "json.h"

struct evbuffer;

/* Appends to `out` the stored resource `text` of type `resource_type`
 * ("User" or "Group") with meta.location set and, when `extra` is not NULL,
 * the member `extra_name` set to `extra` at the end. The location is
 * `location_prefix` (`prefix_len` bytes: the opening quote and the JSON
 * escaped URL up to the id), then `id`, which must need no escaping, and
 * the closing quote. Returns 0, STORE_NOMEM, or 1 with nothing written
 * when `text` is not in the stored form, and the caller then renders it
 * from a tree. */
int scim_splice_resource(const char *text, size_t len, const char *resource_type,
                         const char *location_prefix, size_t prefix_len, const char *id,
                         const char *extra_name, const json *extra, struct evbuffer *out);

/* Like scim_splice_resource, with the extra member's value given as JSON
 * text in `extra_text`, which is moved into `out` on success and left as
 * it is when 1 is returned. */
int scim_splice_resource_text(const char *text, size_t len, const char *resource_type,
                              const char *location_prefix, size_t prefix_len, const char *id,
                              const char *extra_name, struct evbuffer *extra_text,
                              struct evbuffer *out);

#endif
