/* Provisioning events, raised inside the write transaction that makes the
 * change so that everything derived from users and groups (licence tiers and
 * their counts, sessions, the audit log) changes atomically with it. Each
 * returns 0, or a STORE_* error that rolls the whole change back. `actor`
 * names who made the change for the audit log (for example "scim:<key id>"). */
#ifndef IDGATE_EVENTS_H
#define IDGATE_EVENTS_H

#include "json.h"
#include "store.h"

/* `before` is NULL on create, when the user cannot have memberships yet,
 * and `after` is NULL on delete. A user change keeps the user's licence
 * tier and the tier counts current (deactivated users are not counted) and
 * ends the user's sessions on deactivation or deletion. Deleting a group drops its directory-group mapping and
 * recounts the members it still has. Membership records removed before
 * this call must each have raised events_membership_changed (as the SCIM
 * service does), which recounted those users while the mapping existed. */
int events_user_changed(store_txn *t, const char *actor, const char *account, const char *user_id,
                        const json *before, const json *after);
int events_group_changed(store_txn *t, const char *actor, const char *account,
                         const char *group_id, const json *before, const json *after);
/* One call per member added to or removed from a group, after the
 * membership records changed. The user's tier is recomputed only when the
 * group is mapped to a tier, because other groups do not affect it. */
int events_membership_changed(store_txn *t, const char *actor, const char *account,
                              const char *group_id, const char *user_id, int added);

/* Sets `*mapped` to 1 when the group has a directory-group mapping, else 0.
 * Returns 0 or a STORE_* error. */
int events_group_mapped(store_txn *t, const char *account, const char *group_id, int *mapped);
/* Like events_membership_changed, with the group's mapping state from
 * events_group_mapped (or -1 to look it up), so that a job changing many
 * members of one group reads the mapping once. */
int events_member_changed(store_txn *t, const char *actor, const char *account,
                          const char *group_id, const char *user_id, int added, int mapped);

#endif
