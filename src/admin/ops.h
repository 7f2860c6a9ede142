/* Admin operations shared by the admin API and the command line.
 *
 * Each operation is one function over a store transaction and an
 * admin_call. Read operations work on a read transaction. Write operations
 * run as a store job (API) or through store_run (command line), so a
 * failing operation rolls back all of its writes. An operation returns 0
 * with call->result set (and call->status 200 or 201), or nonzero with
 * call->status (400, 403, 404, 409, 500) and call->error, a sentence fit
 * to show to the administrator.
 */
#ifndef IDGATE_ADMIN_OPS_H
#define IDGATE_ADMIN_OPS_H

#include <stdint.h>

#include "json.h"
#include "store.h"

struct app;

#define ADMIN_MAX_ARGS 4

typedef struct admin_call {
    struct app *app;
    const char *actor;          /* "admin:<token id>" or "cli" */
    const char *account;        /* account id the call acts on, or NULL */
    const char *args[ADMIN_MAX_ARGS]; /* path parameters or flags, per operation */
    const json *input;          /* request body or flags as JSON; borrowed */
    int status;                 /* HTTP status of the outcome */
    char error[256];
    json *result;               /* owned by the call; freed by admin_call_clear */
} admin_call;

typedef int (*admin_op_fn)(store_txn *t, admin_call *call);

/* Records a failure and returns -1, for `return admin_fail(...)`. */
int admin_fail(admin_call *call, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a STORE_* error to a 500 (or 404 for STORE_NOTFOUND) and returns it. */
int admin_store_fail(admin_call *call, int rc, const char *what);
/* Sets the result (taking ownership) and status and returns 0; a NULL
 * result is a 500. */
int admin_ok(admin_call *call, int status, json *result);
void admin_call_clear(admin_call *call);

/* Checks that the account exists. Returns 0 or fails the call with 404. */
int admin_account_exists(store_txn *t, admin_call *call);
/* Checks that every member of the input object is named in `allowed`
 * (NULL-terminated), so that a misspelt member is reported rather than
 * ignored. Returns 0 or fails the call with 400 naming the member. */
int admin_check_members(admin_call *call, const char *const allowed[]);

/* Admin tokens (tokens.c). The secret is shown once by create. */
int admin_token_create(store_txn *t, admin_call *call);   /* account: scope or NULL */
int admin_token_list(store_txn *t, admin_call *call);
int admin_token_revoke(store_txn *t, admin_call *call);   /* args[0]: token id */
/* Looks a bearer token up. Returns 0 and copies its id and account scope
 * ("" for an operator token) into the buffers, or STORE_NOTFOUND. */
int admin_token_check(store_txn *t, const char *token, char id[40], char account[40]);

/* Accounts (accounts_admin.c). */
int admin_account_create(store_txn *t, admin_call *call); /* input: {name} */
int admin_account_get(store_txn *t, admin_call *call);
int admin_account_list(store_txn *t, admin_call *call);
int admin_account_rename(store_txn *t, admin_call *call); /* input: {name} */
int admin_account_delete(store_txn *t, admin_call *call);
int admin_account_settings(store_txn *t, admin_call *call); /* input: settings to change */
/* Adds every setting that the account JSON `acc` lacks, with its default,
 * under "settings", so that each way of showing an account shows all. */
void admin_account_complete_settings(json *acc);

/* Claimed domains (domains.c). */
int admin_domain_add(store_txn *t, admin_call *call);     /* input: {domain} */
int admin_domain_list(store_txn *t, admin_call *call);
int admin_domain_get(store_txn *t, admin_call *call);     /* args[0]: domain */
int admin_domain_remove(store_txn *t, admin_call *call);  /* args[0]: domain */
/* Reads the account's claim on args[0] like admin_domain_get before a DNS
 * lookup, and fails with 409 when another account has verified the domain. */
int admin_domain_verify_start(store_txn *t, admin_call *call);
/* Marks the account's claim on a domain verified after its TXT record
 * matched, and makes the account the domain's owner in T_DOMAINS. args[0]:
 * domain, args[1]: the verification token that matched, which must still be
 * the one on record. Fails with 409 when another account has verified the
 * domain meanwhile; pending claims of other accounts stay as they are. */
int admin_domain_mark(store_txn *t, admin_call *call);
/* Normalizes a domain name into `out` (lowercase, no trailing dot).
 * Returns 0, or -1 when it is not a valid DNS name with at least two
 * labels. */
int admin_domain_normalize(const char *in, char *out, size_t len);

/* Directory groups (dirgroups.c). */
int admin_dirgroup_add(store_txn *t, admin_call *call);   /* input: {displayName, tier} */
int admin_dirgroup_list(store_txn *t, admin_call *call);
int admin_dirgroup_set(store_txn *t, admin_call *call);   /* args[0]: group id; input: {tier} */
int admin_dirgroup_remove(store_txn *t, admin_call *call); /* args[0]: group id */

/* Users and licences (users.c). */
int admin_user_list(store_txn *t, admin_call *call);  /* args: tier filter, after, limit */
int admin_license_counts(store_txn *t, admin_call *call);
/* Lists the user's links to ID token subjects (args[0]: user id). */
int admin_user_links(store_txn *t, admin_call *call);
/* Removes the user's links to ID token subjects and ends the user's
 * sessions, with a user.unlinked audit event (args[0]: user id). The next
 * sign-in finds the user by externalId, verified email or name again. */
int admin_user_unlink(store_txn *t, admin_call *call);
/* input: kind, since, until, order ("asc" or "desc", the default), after, limit */
int admin_audit_list(store_txn *t, admin_call *call);

/* SCIM access keys (keys.c). */
int admin_key_create(store_txn *t, admin_call *call);
int admin_key_list(store_txn *t, admin_call *call);
int admin_key_revoke(store_txn *t, admin_call *call);    /* args[0]: key id */

/* Incoming keys: the identity-provider settings (idp.c). Setting them is
 * asynchronous and handled by the API through oidc_idp_set. */
int admin_idp_get(store_txn *t, admin_call *call);
int admin_idp_delete(store_txn *t, admin_call *call);

#endif
