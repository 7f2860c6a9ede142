/* Matching a signed-in identity to a provisioned user of the account. */
#ifndef IDGATE_OIDC_USERS_H
#define IDGATE_OIDC_USERS_H

#include "json.h"
#include "oidc/idtoken.h"
#include "store.h"

/* Results of oidc_user_authorize. */
#define OIDC_USER_OK 0
#define OIDC_USER_DENIED (-1)           /* no matching user, or the user may not sign in */
#define OIDC_USER_OTHER_SUBJECT (-2)    /* the user is linked to another subject */

/* Writes a sign-in makes to link the token's (issuer, sub) to the user
 * (subjects.h). */
enum oidc_link_action {
    OIDC_LINK_KEEP,     /* the link exists */
    OIDC_LINK_ADD,      /* add it, or reject the sign-in when another link is in the way */
    OIDC_LINK_REPLACE,  /* add it, replacing links in the way (externalId match) */
    OIDC_LINK_NONE,     /* write no link (preferred_username match) */
};

/* Names of the rule that found the user, for the audit log. */
#define OIDC_MATCHED_EXTERNAL_ID "externalId"
#define OIDC_MATCHED_LINK "link"
#define OIDC_MATCHED_EMAIL "email"
#define OIDC_MATCHED_NAME "preferred_username"

/* How oidc_user_authorize found the user. */
typedef struct oidc_user_match {
    enum oidc_link_action link;
    const char *claim;  /* one of the static OIDC_MATCHED_* strings */
} oidc_user_match;

/* Finds the user of `account` for the claims of a token from `issuer`. The
 * rules are tried in this order:
 *   1. `sub` equal to a user's externalId;
 *   2. the user linked to (issuer, sub) by an earlier sign-in;
 *   3. a verified `email` equal to a userName, without regard to ASCII case;
 *   4. `preferred_username` equal to a userName, the same way. The email counts only when
 * `email_verified` is true and the address lies in the account's verified
 * domains (or the account has none), because users can often edit it at
 * the provider.
 *
 * A user found by link, email or name must have no externalId. A user
 * found by email or name must not be linked to another subject of the
 * issuer (OIDC_USER_OTHER_SUBJECT), because a renamed address at the
 * provider would otherwise sign someone else in. Only an externalId or
 * verified email match links (issuer, sub) to the user. A match by
 * `preferred_username` alone, which the provider does not vouch for and
 * which need not be unique, signs in without a link (OIDC_LINK_NONE).
 *
 * The user must be active, have a user name and email without control
 * characters and outside domains that other accounts verified, have a tier
 * other than none, and a signed-in email inside the account's verified
 * domains. Returns OIDC_USER_OK with the user id, the static tier name and
 * `*match`, or another OIDC_USER_* result with `*reason` set to a phrase for
 * the log. */
int oidc_user_authorize(store_txn *t, const char *account, const char *issuer,
                        const oidc_claims *c, char user_id[40], const char **tier,
                        oidc_user_match *match, const char **reason);

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
