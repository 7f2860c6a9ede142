/* Links between ID token subjects and users.
 *
 * OpenID Connect Core 1.0 section 5.7 makes the pair (iss, sub) the only
 * stable identifier of a person at a provider. Email and user name can
 * change, so anyone who can edit them at the provider could present
 * another user's old address. The first sign-in of a user therefore links
 * the token's (issuer, sub) to that user, and a user linked to one subject
 * of an issuer is never signed in by name or email for another subject of
 * the same issuer.
 *
 * Links are scoped by account: T_SUBJECTS maps ACC + SHA-256(issuer + \0 +
 * sub) to {user, issuer, sub, created}, and T_USER_SUBJECTS maps ACC + user
 * id + the same hash to the issuer, so a user's links can be found and
 * removed when the user is deleted. A link whose user no longer exists is
 * treated as absent.
 */
#ifndef IDGATE_OIDC_SUBJECTS_H
#define IDGATE_OIDC_SUBJECTS_H

#include <stdint.h>

#include "json.h"
#include "store.h"

/* Finds the user of `account` linked to (issuer, sub) and copies its id
 * into `user_id`. Returns 0, STORE_NOTFOUND (also when the linked user was
 * deleted), or another STORE_* error. */
int oidc_subject_find(store_txn *t, const char *account, const char *issuer, const char *sub,
                      char user_id[40]);

/* Sets `*other` to 1 when the user is linked to a subject of `issuer` other
 * than `sub`, else to 0. Links of other issuers do not count, so that an
 * account can move to a new provider. Returns 0 or a STORE_* error. */
int oidc_subject_other(store_txn *t, const char *account, const char *user_id, const char *issuer,
                       const char *sub, int *other);

/* What oidc_subject_link wrote. */
typedef struct oidc_link_result {
    int created;            /* 1 when a new link was stored, 0 when it existed */
    char previous_user[40]; /* the existing user the subject was moved from, or "" */
} oidc_link_result;

/* Links (issuer, sub) to the user, at `now` (seconds), in a write
 * transaction. Returns STORE_NOTFOUND without writing when the user no
 * longer exists or is deactivated. Returns 0 when the link exists
 * afterwards (also when it already did). Returns STORE_EXISTS without
 * writing when the subject is linked to another existing user, or the user
 * to another subject of the issuer, unless `replace` is set: then those
 * links are removed first, for a user whose externalId names this subject.
 * Other errors are STORE_*. Fills `*result` when it is not NULL. */
int oidc_subject_link(store_txn *t, const char *account, const char *user_id, const char *issuer,
                      const char *sub, int64_t now, int replace, oidc_link_result *result);

/* Lists the user's links as a JSON array of {issuer, sub, created} (caller
 * frees `*out`), in no particular order. Returns 0 (an empty array when
 * there are none) or a STORE_* error. */
int oidc_subjects_list_user(store_txn *t, const char *account, const char *user_id, json **out);

/* Removes every link of the user (write transactions). Returns 0 (also
 * when there were none) or a STORE_* error. */
int oidc_subjects_unlink_user(store_txn *t, const char *account, const char *user_id);

#endif
