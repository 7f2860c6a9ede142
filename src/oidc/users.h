/* Matching a signed-in identity to a provisioned user of the account. */
#ifndef IDGATE_OIDC_USERS_H
#define IDGATE_OIDC_USERS_H

#include "json.h"
#include "oidc/idtoken.h"
#include "store.h"

/* Finds the user of `account` for the claims: `sub` equal to a user's
 * externalId first, else `preferred_username` or `email` equal to a
 * userName without regard to case, for a user without externalId only. The
 * email counts only with `email_verified` true, because users can often
 * edit it at the provider. The user must be active, have a user
 * name and email without control characters and outside domains that other
 * accounts verified, have a tier
 * other than none, and a signed-in email inside the account's verified
 * domains. Returns 0 with the user id and the static tier name, or -1 with
 * `*why` set to a phrase for the log. */
int oidc_user_authorize(store_txn *t, const char *account, const oidc_claims *c,
                        char user_id[40], const char **tier, const char **why);

/* 1 when the domain of `email`, or a parent domain of it, is verified by an
 * account other than `account`: such an address belongs to that other
 * customer and never identifies a user of this one. 0 otherwise, also for
 * NULL or a value without '@'. */
int oidc_email_foreign(store_txn *t, const char *account, const char *email);

/* 1 when the user's userName (if it is an address) and email lie in the
 * account's verified domains, or the account has none; 0 otherwise. These
 * are the values GET /session publishes. */
int oidc_user_domains_allowed(store_txn *t, const char *account, const json *user);

/* Reads the user JSON (caller frees). Returns 0, STORE_NOTFOUND or STORE_IO. */
int oidc_user_read(store_txn *t, const char *account, const char *user_id, json **out);

/* 1 unless the user JSON sets active to false (the string "false" included). */
int oidc_user_active(const json *user);

/* The primary email of a user JSON, else its first email, else NULL. */
const char *oidc_user_email(const json *user);

#endif
