/* SCIM PATCH (RFC 7644 section 3.5.2): request parsing and all-or-nothing
 * application to a resource.
 *
 * Behaviour where providers or the RFC leave room:
 * - `op` is matched in any ASCII case (Entra ID sends "Add", "Replace",
 *   "Remove").
 * - readOnly attributes (id, meta, User groups): an operation whose `path`
 *   names one fails with 400 mutability; inside a path-less value they are
 *   ignored, because Okta sends {"id", "displayName"} in a path-less replace
 *   of a Group. writeOnly attributes (password) are accepted and dropped.
 * - immutable attributes: may be set when they have no value yet; changing
 *   or removing an existing value fails with 400 mutability.
 * - remove without a path fails with 400 noTarget. Removing a required
 *   attribute (userName, displayName of Group) fails with 400 mutability.
 * - add or replace on a filtered path that matches nothing creates the
 *   element: `emails[type eq "work"].value` with "a@x" appends
 *   {"type": "work", "value": "a@x"} (the filter's `eq` terms give the new
 *   element's attributes). A filtered path on remove that matches nothing
 *   fails with 400 noTarget, as RFC 7644 requires.
 * - replace of a multi-valued attribute without a filter replaces the whole
 *   list; add appends values that are not already present (json_equal).
 * - Boolean attributes accept "true"/"false" strings in any case and store
 *   JSON booleans; any other string is 400 invalidValue. `manager` given as
 *   a string becomes {"value": "<id>"}.
 * - When an element with `"primary": true` is added or set, `primary` is
 *   cleared on the attribute's other elements (RFC 7643 section 2.4).
 * - Path-less add/replace values may use plain keys, dotted keys
 *   ("name.givenName"), URN-prefixed keys ("urn:...:enterprise:2.0:User:
 *   department") and a whole extension object keyed by its URN. Unknown
 *   attributes in a path-less value are ignored; an explicit path to an
 *   unknown attribute fails with 400 invalidPath.
 */
#ifndef IDGATE_SCIM_PATCH_H
#define IDGATE_SCIM_PATCH_H

#include <stddef.h>

#include "json.h"
#include "scim/path.h"
#include "scim/schema.h"

typedef enum scim_patch_op_kind {
    SCIM_PATCH_ADD,
    SCIM_PATCH_REMOVE,
    SCIM_PATCH_REPLACE,
} scim_patch_op_kind;

/* One operation. `path` and `value` are NULL when absent. */
typedef struct scim_patch_op {
    scim_patch_op_kind op;
    scim_path *path;
    json *value;
} scim_patch_op;

/* A parsed PATCH request; owns its operations. */
typedef struct scim_patch {
    scim_patch_op *ops;
    size_t n_ops;
} scim_patch;

/* Parses a PATCH request body: `schemas` must contain the PatchOp URN,
 * `Operations` must be a non-empty array (at most SCIM_PATCH_MAX_OPERATIONS)
 * of objects with `op`, optional `path` and `value` (member names in any
 * case). add and replace need a `value`. Returns 0 and a new patch in
 * `*out`, which the caller frees with scim_patch_free and which does not
 * borrow from `body`. On failure returns -1 with `*out` NULL and `err` set
 * to 400 invalidSyntax (malformed body), invalidPath (bad path), noTarget
 * (remove without a path), invalidValue (missing value) or tooMany. */
int scim_patch_parse(const json *body, scim_patch **out, scim_error *err);

void scim_patch_free(scim_patch *p);

/* Callbacks for an attribute the caller stores outside the resource json.
 * idgate uses them for Group `members`, stored one record per member.
 * Each callback returns 0, or a negative value to fail the request; it may
 * fill `err` (otherwise apply reports 500).
 *
 * `values` are arrays of member objects as sent ({"value", "display",
 * "type", "$ref"}); every element has been checked to be an object with a
 * string `value`.
 *
 * add_members: add these members (already present ones are no error).
 * remove_members: exactly one of `values` and `filter` is non-NULL, or both
 *   are NULL. With `values`, remove only the members listed (Entra ID's
 *   {"op":"Remove","path":"members","value":[{"value":"<id>"}]}). With
 *   `filter`, remove the members matching it (Okta's path
 *   `members[value eq "<id>"]`; the filter is relative to one member, and
 *   scim_filter_find_eq(filter, "value", &id) finds the id). With both NULL
 *   remove every member.
 * replace_members: set the membership to exactly `values` (possibly empty).
 *
 * The hooks are called in operation order, and only after every operation
 * of the request has been validated and applied to the copy of the
 * resource. A caller that runs them inside one store transaction, and
 * aborts it on failure, therefore gets all-or-nothing behaviour. */
typedef struct scim_patch_hooks {
    void *ctx;
    int (*add_members)(void *ctx, const json *values, scim_error *err);
    int (*remove_members)(void *ctx, const json *values, const scim_filter *filter,
                          scim_error *err);
    int (*replace_members)(void *ctx, const json *values, scim_error *err);
} scim_patch_hooks;

/* Applies `p` to a copy of `resource` according to the attribute
 * definitions of `res`. On success returns 0 and the new resource in
 * `*out` (caller frees with json_free); `resource` is never modified. On
 * failure returns -1, `*out` is NULL and `err` contains the SCIM error (status
 * 400 with scimType invalidPath, noTarget, mutability, invalidValue or
 * invalidSyntax; 500 when out of memory).
 *
 * With `hooks` not NULL and `res` the Group type, `members` is delegated.
 * Every operation on it becomes a hook call: a path of "members" or
 * "members[...]", or a `members` key in a path-less value. `members` is
 * then never read from or written to the json. With `hooks` NULL, members are
 * edited in the json like any other attribute. */
int scim_patch_apply(const scim_patch *p, const scim_schema_resource *res, const json *resource,
                     const scim_patch_hooks *hooks, json **out, scim_error *err);

#endif
