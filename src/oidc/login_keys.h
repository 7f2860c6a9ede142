/* Keys that seal login transactions into browser cookies (AES-256-GCM through
 * secretbox). They are kept in the store's T_META under OIDC_LOGIN_KEYS_NAME,
 * so every instance that shares the store opens the cookies the others seal.
 * The current key is replaced once it is OIDC_LOGIN_KEY_LIFETIME seconds old.
 * The replaced key still opens cookies for one more lifetime, far longer than
 * the longest [oidc] login_timeout (one hour), and is then dropped.
 *
 * The record is the JSON object {"keys": box, "created": seconds}. The box is
 * sealed with the master key (secretbox.h) and the associated data
 * OIDC_LOGIN_KEYS_AAD followed by `created` in decimal, and contains the
 * current key followed by the previous key when there is one. So the store
 * contains no key bytes in plain, and instances that share the store need
 * the same master key, as they already do to open client secrets. Earlier
 * builds wrote {"current", "previous", "created"} with the keys as unpadded
 * base64url. Such a record is still read, and the next sign-in start seals
 * it without changing the keys.
 *
 * Without a master key no keys are read, created or written, so the store
 * never receives new plain keys. Sign-in needs the master key anyway,
 * because the identity provider's client secret is sealed with it. */
#ifndef IDGATE_OIDC_LOGIN_KEYS_H
#define IDGATE_OIDC_LOGIN_KEYS_H

#include <stdint.h>

#include "secretbox.h"
#include "store.h"

struct oidc_state;

#define OIDC_LOGIN_KEYS_NAME "oidc:login_keys"
#define OIDC_LOGIN_KEYS_AAD "oidc-login-keys:"
#define OIDC_LOGIN_KEY_LIFETIME (24 * 3600)

/* Seconds for which an instance reuses the keys it read. A key that another
 * instance created reaches this one within that time. */
#define OIDC_LOGIN_KEYS_CACHE_SECONDS 60

typedef struct oidc_login_keys {
    secretbox_key current;          /* seals new cookies */
    secretbox_key previous;         /* only opens cookies; valid when has_previous */
    int has_previous;
    int64_t created;                /* when `current` was created, seconds since the epoch */
    int stored_plain;               /* the record contains these keys unsealed */
} oidc_login_keys;

/* Reads the keys and opens them with the master key `master`. Returns 0,
 * STORE_NOTFOUND when none were created yet, or STORE_INVALID when `master`
 * is NULL. Returns STORE_IO for a record that is damaged or does not open
 * with `master`, because it was sealed under another master key, for
 * another purpose or with another `created`. Returns STORE_NOMEM when memory
 * or the cryptographic library failed, or another STORE_* error. */
int oidc_login_keys_read(store_txn *t, const secretbox_key *master, oidc_login_keys *out);

/* Creates the keys when there are none, replaces the current key when it is
 * due at `now` (see oidc_login_keys_due), and seals a plain record without
 * changing its keys, in a write transaction. Reads the result into `out`.
 * Several instances may call it at once: the store runs their write
 * transactions one after another, so the second finds the key that the
 * first created and keeps it. A record that oidc_login_keys_read reports as
 * STORE_IO is replaced, which ends only the sign-ins in progress. Returns
 * STORE_INVALID and writes nothing when `master` is NULL. */
int oidc_login_keys_update(store_txn *t, const secretbox_key *master, int64_t now,
                           oidc_login_keys *out);

/* 1 when the keys need oidc_login_keys_update at `now`: the current key was
 * created OIDC_LOGIN_KEY_LIFETIME seconds or more before `now`, or the
 * record contains the keys unsealed. A key from the future is never due, so
 * an instance whose clock is behind another's does not replace the key that
 * the other created (which would drop the key before it). The instance that
 * is ahead replaces the key on its own clock, once a lifetime. */
int oidc_login_keys_due(const oidc_login_keys *keys, int64_t now);

/* Overwrites the key material. */
void oidc_login_keys_wipe(oidc_login_keys *keys);

/* Milliseconds between two rereads that the callback requests before the
 * cache expires. A cookie can name a key newer than the cache, which another
 * instance created, or a forged one, and the interval bounds the store reads
 * that forged cookies cause.
 * NOTE: forged cookies can take every reread, and then a cookie sealed with a
 * key that another instance created in the last minute fails here. */
#define OIDC_LOGIN_KEYS_REREAD_MS 100

/* Returns the keys of this instance's cache. Reads them with the master key
 * from the store when the cache is empty or older than
 * OIDC_LOGIN_KEYS_CACHE_SECONDS. Also reads them when `reread` is set and
 * the last such reread was OIDC_LOGIN_KEYS_REREAD_MS or more ago on the
 * monotonic clock. Returns NULL when the store contains no keys yet, there
 * is no master key, or the store cannot be read. When a read fails,
 * returns the keys cached before, if any. The pointer stays valid until the
 * next call or oidc_login_keys_cache_free. */
const oidc_login_keys *oidc_login_keys_cached(struct oidc_state *st, int64_t now, int reread);

/* Replaces the cache with `keys`, read at `now`. Returns 0, or -1 when out
 * of memory. */
int oidc_login_keys_cache(struct oidc_state *st, const oidc_login_keys *keys, int64_t now);

void oidc_login_keys_cache_free(struct oidc_state *st);

#endif
