/* Accounts: one per enterprise customer, stored in T_ACCOUNTS as
 *   {"id", "name", "created"}
 * keyed by the account id (a UUIDv7, so accounts list in creation order).
 *
 * Write functions come in two forms. `*_txn` runs inside a write
 * transaction, so a store job can combine it with other writes. The plain
 * form runs one job through store_run, for command-line tools, and never on
 * the event loop. Results are new json trees the caller frees.
 */
#ifndef IDGATE_ACCOUNTS_H
#define IDGATE_ACCOUNTS_H

#include "json.h"
#include "store.h"

/* Maximum account name length in bytes. */
#define ACCOUNT_NAME_MAX 200

/* Errors beyond the STORE_* codes. */
#define ACCOUNTS_INVALID_NAME (-101)    /* empty, too long or with control characters */
#define ACCOUNTS_INVALID_DOMAIN (-102)  /* not a DNS name with at least two labels */
#define ACCOUNTS_DOMAIN_TAKEN (-103)    /* another account has verified the domain */

/* A sentence describing an ACCOUNTS_* or STORE_* error. */
const char *accounts_strerror(int err);

/* Creates an account named `name`. With `domain` non-NULL the account also
 * claims that email domain, recorded unverified in T_DOMAINS and
 * T_ACCOUNT_DOMAINS (the same records the admin API's domain add writes),
 * so it counts only once its DNS TXT record is verified. Writes an
 * "account.created" audit event naming `actor`. Returns 0 with `*out` set
 * to the account, or an error with `*out` NULL. */
int accounts_create_txn(store_txn *t, const char *actor, const char *name, const char *domain,
                        json **out);
int accounts_create(store *s, const char *actor, const char *name, const char *domain,
                    json **out);

/* Reads one account (any transaction). STORE_NOTFOUND when `id` is not an
 * account. */
int accounts_get(store_txn *t, const char *id, json **out);
/* 1 when `id` is an existing account. */
int accounts_exists(store_txn *t, const char *id);
/* Reads every account, in creation order, as a json array. */
int accounts_list(store_txn *t, json **out);

#endif
