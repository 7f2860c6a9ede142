/* Keys that seal login transactions into browser cookies (AES-256-GCM through
 * secretbox). They are kept in the store's T_META under OIDC_LOGIN_KEYS_NAME,
 * so every instance that shares the store opens the cookies the others seal.
 * The current key is replaced once it is OIDC_LOGIN_KEY_LIFETIME seconds old.
 * The replaced key still opens cookies for one more lifetime, far longer than
 * the longest [oidc] login_timeout (one hour), and is then dropped. */
#ifndef IDGATE_OIDC_LOGIN_KEYS_H
#define IDGATE_OIDC_LOGIN_KEYS_H

#include <stdint.h>

#include "secretbox.h"
#include "store.h"

struct oidc_state;

#define OIDC_LOGIN_KEYS_NAME "oidc:login_keys"
#define OIDC_LOGIN_KEY_LIFETIME (24 * 3600)

/* Seconds for which an instance reuses the keys it read. A key that another
 * instance created reaches this one within that time. */
#define OIDC_LOGIN_KEYS_CACHE_SECONDS 60

typedef struct oidc_login_keys {
    secretbox_key current;          /* seals new cookies */
    secretbox_key previous;         /* only opens cookies; valid when has_previous */
    int has_previous;
    int64_t created;                /* when `current` was created, seconds since the epoch */
} oidc_login_keys;

/* Reads the keys. Returns 0, STORE_NOTFOUND when none were created yet,
 * STORE_IO for a damaged record or another STORE_* error. */
int oidc_login_keys_read(store_txn *t, oidc_login_keys *out);

/* Creates the keys when there are none, and replaces the current key when it
 * is due at `now` (see oidc_login_keys_due), in a write transaction. Reads the
 * result into `out`. Several instances may call it at once: the store runs
 * their write transactions one after another, so the second finds the key
 * that the first created and keeps it. */
int oidc_login_keys_update(store_txn *t, int64_t now, oidc_login_keys *out);

/* 1 when the current key was created OIDC_LOGIN_KEY_LIFETIME seconds or
 * more before or after `now`. A key a few seconds in the future is not due,
 * so an instance whose clock is behind another's does not replace the key
 * that the other has just created (which would drop the key before it). */
int oidc_login_keys_due(const oidc_login_keys *keys, int64_t now);

/* Overwrites the key material. */
void oidc_login_keys_wipe(oidc_login_keys *keys);

/* Returns the keys of this instance's cache, reading them from the store
 * when the cache is empty, older than OIDC_LOGIN_KEYS_CACHE_SECONDS, or
 * `reread` is set and the cache is at least one second old. Returns NULL
 * when the store contains no keys yet or cannot be read. The pointer stays
 * valid until the next call or oidc_login_keys_cache_free. */
const oidc_login_keys *oidc_login_keys_cached(struct oidc_state *st, int64_t now, int reread);

/* Replaces the cache with `keys`, read at `now`. Returns 0, or -1 when out
 * of memory. */
int oidc_login_keys_cache(struct oidc_state *st, const oidc_login_keys *keys, int64_t now);

void oidc_login_keys_cache_free(struct oidc_state *st);

#endif
