/* Login transactions: one per authorization request, carried by the browser
 * that started it in a cookie whose name the request's `state` picks from
 * OIDC_TX_SLOTS names, so several sign-ins (tabs) can run at once and
 * starting one stores nothing. The cookie value is the transaction sealed
 * with AES-256-GCM under a login key (see login_keys.h) with the state as
 * associated data, so it opens only for its own state and cannot be read or
 * altered. It contains the account, the SHA-256 of the issuer, the nonce,
 * the PKCE verifier, the target and the expiry ([oidc] login_timeout). A
 * callback that redeems the code records the state in T_LOGINS until that
 * expiry plus [oidc] clock_skew, so the same state cannot sign in twice. */
#ifndef IDGATE_OIDC_TX_H
#define IDGATE_OIDC_TX_H

#include <stdint.h>

#include "oidc/login_keys.h"
#include "store.h"

/* Maximum length of a target stored in a transaction. A sign-in started
 * with a longer target ends on the start page "/" instead. */
#define OIDC_TX_TARGET_MAX 256
#define OIDC_TX_TARGET_MAX_TEXT "256"

/* Maximum length of a sealed transaction. A transaction with a target of
 * OIDC_TX_TARGET_MAX plain bytes seals to about 820 bytes, so only a target
 * with many characters that JSON escapes reaches this limit. */
#define OIDC_TX_SEALED_MAX 900

/* Number of transaction cookie names. A browser has at most this many
 * transaction cookies, whatever the number of sign-ins it starts at once,
 * so they take at most about 5,500 bytes of its Cookie header line. That
 * stays below the 8,000 bytes a header line may have here (HTTP_MAX_HEAD_LINE)
 * and the 8 KiB buffer in which nginx reads a header line by default. */
#define OIDC_TX_SLOTS 6

typedef struct oidc_tx {
    char account[40];
    char issuer_sha256[65];     /* hex SHA-256 of the issuer the sign-in started with */
    char *nonce;
    char *verifier;
    char *target;               /* "" for the default */
    int64_t expires;
} oidc_tx;

void oidc_tx_clear(oidc_tx *tx);

/* Store key of a state: its SHA-256. */
void oidc_tx_key(const char *state, uint8_t key[32]);

/* Sets tx->issuer_sha256 from `issuer`. */
void oidc_tx_set_issuer(oidc_tx *tx, const char *issuer);

/* Returns 1 when the transaction started with `issuer`, else 0. */
int oidc_tx_issuer_is(const oidc_tx *tx, const char *issuer);

/* Returns the cookie slot of a state, from 0 to OIDC_TX_SLOTS - 1: the first
 * byte of the state's SHA-256 modulo OIDC_TX_SLOTS. */
int oidc_tx_slot(const char *state);

/* Name (without prefix) of the cookie that carries the transaction of a
 * state: OIDC_COOKIE_TX and the digit of its slot. A new sign-in in the
 * same slot replaces the cookie of an unfinished one. */
void oidc_tx_cookie_name(const char *state, char out[32]);

/* Name (without prefix) that earlier builds gave the cookie of a state:
 * OIDC_COOKIE_TX and 8 hex digits of the state's SHA-256. */
void oidc_tx_legacy_cookie_name(const char *state, char out[32]);

/* Seals `tx` for the cookie of `state` with the current key. Returns 0 with
 * a malloc'd cookie value in `*out`, or a SECRETBOX_ERR_* code. The value
 * is "k", the key's `created` in decimal, "." and the secretbox, so that the
 * callback can tell a key it has not read yet from a forged cookie. */
int oidc_tx_seal(const oidc_login_keys *keys, const char *state, const oidc_tx *tx, char **out);

/* Returns the key id (the key's `created`) that a cookie value names, or 0
 * for a value without one, as earlier builds sealed them. */
int64_t oidc_tx_key_id(const char *sealed);

/* Opens a cookie value sealed for `state` with the current or the previous
 * key. Returns 0, SECRETBOX_ERR_AUTH when no key opens it for this state,
 * or another SECRETBOX_ERR_* code. Free `out` with oidc_tx_clear. */
int oidc_tx_open(const oidc_login_keys *keys, const char *state, const char *sealed,
                 oidc_tx *out);

/* Records that the state of `tx` signed in, until tx->expires plus
 * `clock_skew` seconds (write transactions only). The margin keeps an
 * instance whose clock is ahead by up to `clock_skew` from sweeping the
 * record while an instance that is behind still accepts the cookie. Returns
 * 0, or STORE_EXISTS when it already did. */
int oidc_tx_mark_used(store_txn *t, const char *state, const oidc_tx *tx, long clock_skew);

/* Returns 1 when the state was recorded by oidc_tx_mark_used, 0 when not,
 * or a STORE_* error. */
int oidc_tx_used(store_txn *t, const char *state);

#endif
