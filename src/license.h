/* Licence tiers: each user's effective tier and the per-tier counts an
 * account is billed on, kept up to date incrementally.
 *
 * A user's effective tier is pro when any of their groups maps to pro,
 * else basic when any maps to basic, else the account's default tier
 * (settings.default_tier in the account JSON: "basic" unless set, or "pro"
 * or "none"). Mappings live in T_TIER_MAPS (ACC + group id -> {tier,
 * created}), so a mapping follows its group across renames.
 *
 * Only active users count. T_USER_TIERS contains an entry for every active
 * user and none for a deactivated one, and the counters
 * ACC + "tier:basic", ACC + "tier:pro" and ACC + "tier:none" in T_COUNTERS
 * count those entries, so reading the counts costs three lookups whatever
 * the number of users. Deactivated users are not billed. Every function
 * that writes runs inside the write transaction of the change that caused
 * it (see events.h), so tiers and counts change atomically with the data.
 */
#ifndef IDGATE_LICENSE_H
#define IDGATE_LICENSE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum license_tier { LICENSE_NONE = 0, LICENSE_BASIC = 1, LICENSE_PRO = 2 };
#define LICENSE_TIER_COUNT 3

/* "none", "basic" or "pro"; a static string. */
const char *license_tier_name(enum license_tier tier);
/* Parses "none", "basic" or "pro" (exact, lowercase). Returns the tier, or
 * -1 for anything else. */
int license_tier_parse(const char *name);

/* Returns the effective tier of a user as a static string: "pro", "basic",
 * or "none" for a user who is deactivated, unknown, or whose tier is none.
 * A user whose tier is "none" may not sign in. Works on read transactions.
 * For the sign-in flow and GET /session. */
const char *license_user_tier(store_txn *t, const char *account, const char *user_id);

/* Reads the account's default tier into `*out` (LICENSE_BASIC when the
 * account has no setting). Returns 0, STORE_NOTFOUND for an unknown
 * account, or a STORE_* error. */
int license_account_default(store_txn *t, const char *account, enum license_tier *out);

/* Reads the number of active users of each tier into out[LICENSE_NONE],
 * out[LICENSE_BASIC] and out[LICENSE_PRO]. Returns 0 or a STORE_* error. */
int license_counts(store_txn *t, const char *account, uint64_t out[LICENSE_TIER_COUNT]);

/* Sets a user's stored tier from scratch. With `active` 0 the user stops
 * counting. With 1 the tier is computed from their memberships and
 * mappings. With -1 (a membership change) it is recomputed only when the
 * user already counts, because only active users do. Adjusts the counters
 * and records AUDIT_LICENSE_CHANGED (with `actor`) when the tier changed.
 * Returns 0 or a STORE_* error. */
int license_update_user(store_txn *t, const char *actor, const char *account,
                        const char *user_id, int active);

/* Gives a user created in this transaction their first tier: the account's
 * default when `active`, else none, as license_update_user would, but
 * without reading the stored tier and memberships that a new user cannot
 * have yet. Records AUDIT_LICENSE_CHANGED from null. Returns 0 or a STORE_*
 * error. */
int license_user_created(store_txn *t, const char *actor, const char *account,
                         const char *user_id, int active);

/* Recomputes the tier of every active user who is a member of `group_id`,
 * after its mapping was added, changed or removed, and records
 * AUDIT_LICENSE_CHANGED (with `actor`) for each user whose tier changed.
 * Returns 0 or a STORE_* error. */
int license_update_group(store_txn *t, const char *actor, const char *account,
                         const char *group_id);

/* Recomputes every active user of the account whose stored tier is
 * `only_tier`, or every active user when `only_tier` is negative (after a
 * default-tier change), and records
 * AUDIT_LICENSE_CHANGED (with `actor`) for each user whose tier changed.
 * Returns 0 or a STORE_* error. */
int license_update_account(store_txn *t, const char *actor, const char *account, int only_tier);

/* Removes the account's tier entries and counters (for account deletion). */
int license_delete_account(store_txn *t, const char *account);

/* Checks an email address or userName against the account's claimed
 * domains. Returns 1 when the value may be used, that is, when the account
 * has no verified domain or the part after the last '@' is one of its
 * verified domains. Domains compare without regard to ASCII case, and a
 * subdomain does not match its parent. Returns 0 when the account has verified domains and the value
 * lies outside them (including a value without '@'), or a negative STORE_*
 * error. Works on read and write transactions.
 *
 * The SCIM service calls it for userName and the primary email on user
 * create and update, and rejects a 0 with 400 invalidValue naming the
 * domain; the sign-in flow checks the signed-in email the same way. */
int license_domain_allowed(store_txn *t, const char *account, const char *value);

/* Checks `count` values like license_domain_allowed with one walk of the
 * account's domains, for a caller that checks a userName and an email
 * together. Sets allowed[i] to 1 when values[i] may be used, else 0 (a NULL
 * value has no '@'). Returns 0 or a negative STORE_* error, after which
 * `allowed` is undefined. */
int license_domains_allowed(store_txn *t, const char *account, const char *const *values,
                            size_t count, int *allowed);

#endif
