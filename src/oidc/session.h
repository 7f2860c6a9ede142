/* Sign-in sessions.
 *
 * A session id is 256 random bits sent in the `__Host-idgate_session` cookie
 * and stored only as its SHA-256: T_SESSIONS maps the hash to the session
 * JSON {account, user, issuer, sub, created, expires, last_seen, idle,
 * id_token, refresh (secretbox box or absent), next_check}, and T_USER_SESSIONS holds
 * ACC + user id + hash -> "" so a user's sessions can be found and ended.
 * The ID token stays server-side for the logout hint. It and the refresh
 * token are encrypted under the master key.
 */
#ifndef IDGATE_OIDC_SESSION_H
#define IDGATE_OIDC_SESSION_H

#include <stdint.h>

#include "store.h"

/* Deletes every session of the user inside the caller's write transaction
 * (for deactivation or deletion). When the user record is already gone
 * from T_USERS (a deletion), also removes the user's links to ID token
 * subjects (subjects.h), so that a user created later under the same name
 * starts unlinked. Returns 0 (also when there were none) or a STORE_*
 * error. */
int oidc_sessions_revoke_user(store_txn *t, const char *account, const char *user_id);

/* Deletes every session of every user of the account (for account
 * deletion). Returns 0 or a STORE_* error. */
int oidc_sessions_revoke_account(store_txn *t, const char *account);

typedef struct oidc_session {
    char account[40];
    char user[40];
    char *issuer;
    char *sub;                      /* `sub` of the sign-in's ID token; NULL when unknown */
    char *id_token;
    char *refresh;                  /* sealed box, or NULL */
    int64_t created;
    int64_t expires;                /* absolute end */
    int64_t last_seen;
    int64_t idle;                   /* seconds of inactivity that end it */
    int64_t next_check;             /* when to re-check with the refresh token; 0 never */
} oidc_session;

void oidc_session_clear(oidc_session *s);

/* Writes a new session (write transactions only). */
int oidc_session_put(store_txn *t, const char *id, const oidc_session *s);
/* Reads the session of a cookie value. Returns 0, STORE_NOTFOUND or STORE_IO. */
int oidc_session_get(store_txn *t, const char *id, oidc_session *out);
/* Deletes a session and its index entry; STORE_NOTFOUND when absent. */
int oidc_session_delete(store_txn *t, const char *id);

/* Deletes the session stored under SHA-256 `hash` and its index entry. */
int oidc_session_delete_hash(store_txn *t, const uint8_t hash[32]);

/* Records the SHA-256 of an ID token in T_TOKENS_SEEN until `until` (the
 * token's exp plus the clock skew; the sweep removes it afterwards), so that
 * no ID token signs anyone in twice. Returns 0, STORE_EXISTS when it was
 * already recorded, or a STORE_* error. */
int oidc_token_mark_seen(store_txn *t, const char *id_token, int64_t until);

/* 1 when the session has passed its absolute or idle lifetime at `now`. */
int oidc_session_expired(const oidc_session *s, int64_t now);

#endif
