/* A group's `members` and a user's `groups` written as JSON text straight
 * from the membership records, without building the arrays that
 * scim_store_group_members and scim_store_user_groups return and dumping
 * them: list replies of groups with many members, or of users in many
 * groups, spent most of their time there.
 */
#ifndef IDGATE_SCIM_RELATED_TEXT_H
#define IDGATE_SCIM_RELATED_TEXT_H

#include <stddef.h>

#include "store.h"

struct evbuffer;

/* Appends to `out` the members of group `group_id` as a JSON array of
 * {value, display, $ref, type "User"} in user id order, the same bytes as
 * dumping what scim_store_group_members builds. The display is the user's
 * displayName, else userName, copied from its stored text, and is left out
 * when the user has neither or no longer exists. `users_prefix` is the JSON
 * string of the Users endpoint URL and "/", without the closing quote, of
 * `prefix_len` bytes. Returns 0 or a STORE_* error, after which `out` may
 * hold part of the array. */
int scim_members_text(store_txn *t, const char *account, const char *group_id,
                      const char *users_prefix, size_t prefix_len, struct evbuffer *out);

/* Appends to `out` the groups of user `user_id` as a JSON array of
 * {value, display, $ref, type "direct"} in group id order, the same bytes
 * as dumping what scim_store_user_groups builds. The display is the
 * group's displayName. Groups that no longer exist are left out.
 * `groups_prefix` is the JSON string of the Groups endpoint URL and "/",
 * as for scim_members_text. */
int scim_user_groups_text(store_txn *t, const char *account, const char *user_id,
                          const char *groups_prefix, size_t prefix_len, struct evbuffer *out);

#endif
