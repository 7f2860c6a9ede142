/* Login transactions: one per authorization request, stored in T_LOGINS
 * under SHA-256(state) so that several logins (tabs) can run at once. Each
 * contains the nonce, the PKCE verifier, the account, the issuer, the target
 * and the hash of the browser-binding cookie, expires after [oidc]
 * login_timeout seconds and is deleted when a callback uses it. */
#ifndef IDGATE_OIDC_TX_H
#define IDGATE_OIDC_TX_H

#include <stdint.h>

#include "store.h"

typedef struct oidc_tx {
    char account[40];
    char *issuer;
    char *nonce;
    char *verifier;
    char *target;               /* "" for the default */
    char *binding;              /* hex SHA-256 of the binding cookie value */
    int64_t expires;
} oidc_tx;

void oidc_tx_clear(oidc_tx *tx);

/* Store key of a state: its SHA-256. */
void oidc_tx_key(const char *state, uint8_t key[32]);

/* Name (without prefix) of the binding cookie for a state. */
void oidc_tx_cookie_name(const char *state, char out[32]);

/* Writes the transaction (write transactions only). */
int oidc_tx_put(store_txn *t, const char *state, const oidc_tx *tx);

/* Reads the transaction of a state. Returns 0, STORE_NOTFOUND or STORE_IO. */
int oidc_tx_get(store_txn *t, const char *state, oidc_tx *out);

/* Deletes it; STORE_NOTFOUND when another callback already took it. */
int oidc_tx_take(store_txn *t, const char *state);

#endif
