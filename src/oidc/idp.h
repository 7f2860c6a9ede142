/* Identity-provider settings of an account: issuer, client id, client
 * secret and redirect URI, for the command line (`idgate idp set|get|delete`)
 * and the admin API.
 *
 * T_IDPS maps ACC -> {account, issuer, client_id, client_secret (a
 * secretbox box bound to the account), secret_hint (last four characters),
 * redirect_uri_mode, updated}. redirect_uri_mode is "account" for the
 * account's own redirect URI <base_url>/auth/okta/callback/<account id>, or
 * "shared" for <base_url>/auth/okta/callback. Records written before the
 * member existed lack it and mean "shared", because their Okta applications
 * registered that URI. T_ISSUERS maps each issuer, exactly as configured, to its one
 * account. The secret is never returned, printed or logged: readers get
 * only its last four characters.
 */
#ifndef IDGATE_OIDC_IDP_H
#define IDGATE_OIDC_IDP_H

#include <stddef.h>

#include "json.h"
#include "store.h"

struct app;

typedef struct oidc_idp_input {
    const char *issuer;
    const char *client_id;
    const char *client_secret;      /* NULL keeps the stored secret */
    const char *actor;              /* actor of the idp.changed audit event; NULL: "system" */
    int take_over_issuer;           /* disconnect another account that has this issuer */
    const char *redirect_uri_mode;  /* "account", "shared", or NULL to keep the stored mode
                                     * ("account" for new settings) */
} oidc_idp_input;

/* Runs once with the outcome: status 200 and the public view of the
 * settings in `result` (owned by the callee, valid during the call), which
 * may carry a "warning" member when discovery could not be reached; or an
 * HTTP-like status (400 invalid input, 404 unknown account, 409 issuer used
 * by another account unless `take_over_issuer`, 500 server problem such as a missing master key) with
 * `message`, a sentence an administrator can act on, and `result` NULL. */
typedef void (*oidc_idp_done)(int status, const char *message, const json *result, void *arg);

/* Anyone who can edit an account's settings can name a public issuer
 * first, so `take_over_issuer` lets an operator give the issuer to its real
 * owner: the other account's settings are deleted, with an idp.changed
 * event in its audit log ("taken_over_by") and in this account's
 * ("taken_over_from"). Only operators should be offered it: callers check
 * that, because this function does not know who calls.
 *
 * Validates and stores an account's settings: the issuer must be an https
 * URL on an allowed host, and unless [oidc] check_discovery is off and when
 * the provider can be reached, its discovery document must name exactly this
 * issuer. The secret is encrypted under the master key. The idp.changed
 * audit event is written in the same store transaction as the settings. Call on the event
 * loop thread of `idgate serve` (the write goes through store_submit);
 * `done` may run before this returns. Strings in `in` are copied. */
void oidc_idp_set(struct app *a, const char *account, const oidc_idp_input *in,
                  oidc_idp_done done, void *arg);

/* Writes the public view of the account's settings ({account, issuer,
 * client_id, client_secret: "****" + last four, redirect_uri_mode,
 * redirect_uri: the URI to register at the provider under `base_url`,
 * updated}) into `*out` (caller frees). Returns 0, STORE_NOTFOUND or a
 * STORE_* error. */
int oidc_idp_get(store_txn *t, const char *base_url, const char *account, json **out);

/* Removes the account's settings and its issuer mapping and ends every
 * session of the account (for account deletion, disconnecting the
 * provider, or an operator moving the issuer to another account). Returns
 * 0, STORE_NOTFOUND when the account has no settings, or another STORE_*
 * error. */
int oidc_idp_delete(store_txn *t, const char *account);

/* Finds the account of an issuer, compared exactly. Returns 0 and copies the
 * id into `account`, or STORE_NOTFOUND. */
int oidc_idp_account_by_issuer(store_txn *t, const char *issuer, char account[40]);

#endif
