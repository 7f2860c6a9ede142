/* SCIM access keys: the bearer tokens an identity provider uses to
 * provision users and groups into one account.
 *
 * A token is "scim_" followed by 32 random bytes in base64url (48
 * characters). Only its SHA-256 is stored:
 *   T_SCIM_KEYS     SHA-256(token) -> {"id", "account", "prefix", "created",
 *                                       "last_used", "revoked", "revoked_at"}
 *   T_SCIM_KEY_IDS  ACC + key id   -> SHA-256(token)
 * "prefix" is the first 8 characters after "scim_", enough for an
 * administrator to tell keys apart. At most SCIM_KEYS_MAX_ACTIVE keys per
 * account are unrevoked at a time, so a key can be rotated without downtime.
 *
 * As in accounts.h, `*_txn` functions run inside a write transaction and the
 * plain forms run one job through store_run (never on the event loop).
 */
#ifndef IDGATE_SCIM_KEYS_H
#define IDGATE_SCIM_KEYS_H

#include "json.h"
#include "store.h"

#define SCIM_KEY_TOKEN_PREFIX "scim_"
#define SCIM_KEY_RANDOM_BYTES 32
#define SCIM_KEY_DISPLAY_PREFIX_LEN 8
#define SCIM_KEYS_MAX_ACTIVE 2

/* Errors beyond the STORE_* codes. */
#define SCIM_KEYS_NO_ACCOUNT (-111)     /* the account does not exist */
#define SCIM_KEYS_LIMIT (-112)          /* the account has SCIM_KEYS_MAX_ACTIVE active keys */
#define SCIM_KEYS_NO_KEY (-113)         /* no such key in this account */
#define SCIM_KEYS_REVOKED (-114)        /* revoking a key that is revoked already */

const char *scim_keys_strerror(int err);

/* Creates a key. Returns 0 with `*key` (the stored record, without the
 * token) and `*token` (malloc'd; show it once, then free it) or an error
 * with both NULL. Writes a "key.created" audit event naming `actor`. */
int scim_key_create_txn(store_txn *t, const char *actor, const char *account, json **key,
                        char **token);
int scim_key_create(store *s, const char *actor, const char *account, json **key, char **token);

/* Lists the account's keys, revoked ones included, ordered by id (creation
 * order), as a json array of records. Tokens are never stored, so never
 * listed. SCIM_KEYS_NO_ACCOUNT when the account does not exist. */
int scim_key_list(store_txn *t, const char *account, json **out);

/* Marks a key revoked; it stops authenticating at once. Writes a
 * "key.revoked" audit event. Returns 0 with `*key` set to the updated
 * record when `key` is not NULL. */
int scim_key_revoke_txn(store_txn *t, const char *actor, const char *account, const char *key_id,
                        json **key);
int scim_key_revoke(store *s, const char *actor, const char *account, const char *key_id,
                    json **key);

/* Checks a bearer token (the value after "Bearer "). Returns 0 and fills
 * `account` and `key_id` (NUL-terminated) for an active key, STORE_NOTFOUND
 * for an unknown, malformed or revoked token, or another STORE_* error.
 * Keys that pass are cached per thread by a keyed SipHash tag of the token
 * until the key tables' change counter (store_table_generation) moves,
 * which every create, revoke or delete of a key does in any process. A hit
 * costs the SipHash, one store_get of the counter and a constant-time tag
 * comparison. A miss also computes the SHA-256 that the store is keyed by. */
int scim_key_authenticate(store_txn *t, const char *bearer, char account[37], char key_id[37]);

/* Records that a key was used now, at most once a minute per key. The
 * update is a store job submitted from the event loop thread. Calls within
 * a minute of the last update for the same key do nothing. */
void scim_key_touch(store *s, const char *account, const char *key_id);

#endif
