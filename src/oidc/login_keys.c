#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "json.h"
#include "app.h"
#include "log.h"
#include "oidc/login_keys.h"
#include "oidc/oidc.h"

/* Room for OIDC_LOGIN_KEYS_AAD and a decimal int64_t with its sign. */
#define AAD_MAX 48

/* Seconds between warnings about a stored record that cannot be read. */
#define DAMAGED_WARNING_INTERVAL 60

/* Seconds by which a key may have been created ahead of this instance's
 * clock before it logs a clock warning, and seconds between such warnings. */
#define FUTURE_KEY_MARGIN 300
#define FUTURE_KEY_WARNING_INTERVAL 600

/* Writes the associated data that binds a sealed record to its purpose and
 * to its `created` time, so a box moved to another record or given another
 * time fails to open. */
static void keys_aad(int64_t created, char aad[AAD_MAX])
{
    snprintf(aad, AAD_MAX, "%s%" PRId64, OIDC_LOGIN_KEYS_AAD, created);
}

/* Maps a secretbox error of opening the record to a STORE_* code. Only a box
 * that is malformed or fails authentication counts as damaged (STORE_IO),
 * because oidc_login_keys_update replaces a damaged record. */
static int open_error(int err)
{
    return err == SECRETBOX_ERR_FORMAT || err == SECRETBOX_ERR_AUTH ? STORE_IO : STORE_NOMEM;
}

/* Opens the sealed keys of a record whose `created` is already in `out`. */
static int open_keys(const secretbox_key *master, const char *box, oidc_login_keys *out)
{
    char aad[AAD_MAX];
    uint8_t *plain = NULL;
    size_t len = 0;
    keys_aad(out->created, aad);
    int err = secretbox_open(master, aad, box, &plain, &len);
    if (err != 0)
        return open_error(err);
    int rc = len == SECRETBOX_KEY_LEN || len == 2 * SECRETBOX_KEY_LEN ? 0 : STORE_IO;
    if (rc == 0) {
        memcpy(out->current.bytes, plain, SECRETBOX_KEY_LEN);
        out->has_previous = len == 2 * SECRETBOX_KEY_LEN;
    }
    if (rc == 0 && out->has_previous)
        memcpy(out->previous.bytes, plain + SECRETBOX_KEY_LEN, SECRETBOX_KEY_LEN);
    secretbox_wipe(plain, len);
    return rc;
}

static int decode_key(const char *text, secretbox_key *out)
{
    size_t len;
    uint8_t *bytes = text ? crypto_b64url_decode(text, strlen(text), &len) : NULL;
    int rc = bytes != NULL && len == SECRETBOX_KEY_LEN ? 0 : STORE_IO;
    if (rc == 0)
        memcpy(out->bytes, bytes, SECRETBOX_KEY_LEN);
    if (bytes != NULL)
        secretbox_wipe(bytes, len);
    return rc;
}

/* Reads the unsealed keys that earlier builds wrote. */
static int read_plain_keys(const json *j, oidc_login_keys *out)
{
    int rc = decode_key(json_get_string(j, "current"), &out->current);
    const char *previous = json_get_string(j, "previous");
    if (rc == 0 && previous != NULL) {
        rc = decode_key(previous, &out->previous);
        out->has_previous = rc == 0;
    }
    out->stored_plain = rc == 0;
    return rc;
}

int oidc_login_keys_read(store_txn *t, const secretbox_key *master, oidc_login_keys *out)
{
    store_val v;
    memset(out, 0, sizeof *out);
    if (master == NULL)
        return STORE_INVALID;
    int rc = store_get(t, T_META, OIDC_LOGIN_KEYS_NAME, strlen(OIDC_LOGIN_KEYS_NAME), &v);
    if (rc != 0)
        return rc;
    json *j = json_parse(v.data, v.len, NULL, 0);
    if (j == NULL)
        return STORE_IO;
    out->created = json_int_value(json_object_get(j, "created"));
    const char *box = json_get_string(j, "keys");
    rc = box != NULL ? open_keys(master, box, out) : read_plain_keys(j, out);
    json_free(j);
    if (rc != 0)
        oidc_login_keys_wipe(out);
    return rc;
}

/* Seals `keys` with the master key into a new "keys" member of `j`. */
static int add_sealed_keys(json *j, const secretbox_key *master, const oidc_login_keys *keys)
{
    uint8_t plain[2 * SECRETBOX_KEY_LEN];
    size_t len = SECRETBOX_KEY_LEN;
    char aad[AAD_MAX], *box = NULL;
    memcpy(plain, keys->current.bytes, SECRETBOX_KEY_LEN);
    if (keys->has_previous) {
        memcpy(plain + SECRETBOX_KEY_LEN, keys->previous.bytes, SECRETBOX_KEY_LEN);
        len += SECRETBOX_KEY_LEN;
    }
    keys_aad(keys->created, aad);
    int err = secretbox_seal(master, aad, plain, len, &box);
    OPENSSL_cleanse(plain, sizeof plain);
    if (err != 0)
        return err == SECRETBOX_ERR_NOMEM ? STORE_NOMEM : STORE_IO;
    int rc = json_object_set(j, "keys", json_string(box)) == 0 ? 0 : STORE_NOMEM;
    free(box);
    return rc;
}

static int write_keys(store_txn *t, const secretbox_key *master, const oidc_login_keys *keys)
{
    json *j = json_object();
    char *text = NULL;
    size_t len;
    int rc = j != NULL ? add_sealed_keys(j, master, keys) : STORE_NOMEM;
    if (rc == 0 && json_object_set(j, "created", json_int(keys->created)) != 0)
        rc = STORE_NOMEM;
    if (rc == 0 && (text = json_dump(j, &len)) == NULL)
        rc = STORE_NOMEM;
    if (rc == 0)
        rc = store_put(t, T_META, OIDC_LOGIN_KEYS_NAME, strlen(OIDC_LOGIN_KEYS_NAME), text, len,
                       0);
    json_free(j);
    free(text);
    return rc;
}

/* 1 when the current key was created a lifetime or more before `now`. A key
 * from the future is not expired: it comes from an instance whose clock is
 * ahead, and replacing it would make that instance replace the new key in
 * turn, so a cookie would outlive only two replacements. */
static int key_expired(const oidc_login_keys *keys, int64_t now)
{
    return now - keys->created >= OIDC_LOGIN_KEY_LIFETIME;
}

/* Turns the stored keys, as oidc_login_keys_read returned them with
 * `read_rc`, into the keys to write at `now`. */
static int next_keys(oidc_login_keys *keys, int read_rc, int64_t now)
{
    /* Plain keys that are not due yet are sealed as they are, so cookies
     * sealed with them keep opening. */
    if (read_rc == 0 && !key_expired(keys, now))
        return 0;
    if (read_rc == 0) {
        keys->previous = keys->current;
        keys->has_previous = 1;
    } else {
        memset(keys, 0, sizeof *keys);
    }
    keys->created = now;
    return crypto_random(keys->current.bytes, sizeof keys->current.bytes) == 0 ? 0 : STORE_IO;
}

int oidc_login_keys_update(store_txn *t, const secretbox_key *master, int64_t now,
                           oidc_login_keys *out)
{
    oidc_login_keys keys;
    int rc = oidc_login_keys_read(t, master, &keys);
    if (rc == 0 && !oidc_login_keys_due(&keys, now)) {
        *out = keys;
        oidc_login_keys_wipe(&keys);
        return 0;
    }
    if (rc != 0 && rc != STORE_NOTFOUND && rc != STORE_IO)
        return rc;
    rc = next_keys(&keys, rc, now);
    keys.stored_plain = 0;
    if (rc == 0)
        rc = write_keys(t, master, &keys);
    if (rc == 0)
        *out = keys;
    oidc_login_keys_wipe(&keys);
    return rc;
}

int oidc_login_keys_due(const oidc_login_keys *keys, int64_t now)
{
    return keys->stored_plain || key_expired(keys, now);
}

void oidc_login_keys_wipe(oidc_login_keys *keys)
{
    OPENSSL_cleanse(keys, sizeof *keys);
}

int oidc_login_keys_cache(oidc_state *st, const oidc_login_keys *keys, int64_t now)
{
    if (st->login_keys == NULL && (st->login_keys = malloc(sizeof *st->login_keys)) == NULL)
        return -1;
    *st->login_keys = *keys;
    st->login_keys_read_at = now;
    return 0;
}

/* Logs a record that oidc_login_keys_read reported as damaged. An instance
 * that still has cached keys rereads the record on every later lookup, so
 * the warning is limited to one per DAMAGED_WARNING_INTERVAL. This runs
 * only on the event loop thread, which the throttle requires. */
static void warn_damaged(int64_t now)
{
    static log_throttle throttle;
    char left_out[24];
    if (!log_throttle_allow(&throttle, now, DAMAGED_WARNING_INTERVAL, left_out))
        return;
    log_event(LOG_WARN,
              "the stored sign-in cookie keys are damaged or sealed with another master key; "
              "the next sign-in start that needs new keys replaces them",
              "fix", "give every instance that shares the store the same master key",
              "not_logged", left_out, NULL);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns 1, and records the time, when a requested reread may run now. */
static int reread_allowed(oidc_state *st)
{
    int64_t ms = monotonic_ms();
    if (st->login_keys_reread_ms != 0 && ms - st->login_keys_reread_ms < OIDC_LOGIN_KEYS_REREAD_MS)
        return 0;
    st->login_keys_reread_ms = ms;
    return 1;
}

/* Logs that the stored key was created more than FUTURE_KEY_MARGIN seconds
 * ahead of this instance's clock, so one of the clocks is wrong. Runs only
 * on the event loop thread, which the throttle requires. */
static void warn_future_key(int64_t created, int64_t now)
{
    static log_throttle throttle;
    char left_out[24], created_text[24], now_text[24];
    if (created - now <= FUTURE_KEY_MARGIN ||
        !log_throttle_allow(&throttle, now, FUTURE_KEY_WARNING_INTERVAL, left_out))
        return;
    snprintf(created_text, sizeof created_text, "%" PRId64, created);
    snprintf(now_text, sizeof now_text, "%" PRId64, now);
    log_event(LOG_WARN,
              "the sign-in cookie key was created ahead of this instance's clock; it is kept, "
              "but the clocks of the instances that share the store differ",
              "key_created", created_text, "now", now_text, "fix",
              "synchronize the clocks of every instance, for example with NTP", "not_logged",
              left_out, NULL);
}

const oidc_login_keys *oidc_login_keys_cached(oidc_state *st, int64_t now, int reread)
{
    int64_t age = now - st->login_keys_read_at;
    if (st->login_keys != NULL && age >= 0 && age < OIDC_LOGIN_KEYS_CACHE_SECONDS &&
        !(reread && reread_allowed(st)))
        return st->login_keys;
    store_txn *t;
    oidc_login_keys keys;
    if (store_read_begin(st->app->store, &t) != 0)
        return st->login_keys;
    int rc = oidc_login_keys_read(t, oidc_master_key(st), &keys);
    store_read_end(t);
    if (rc == STORE_IO)
        warn_damaged(now);
    if (rc == 0) {
        warn_future_key(keys.created, now);
        oidc_login_keys_cache(st, &keys, now);
    }
    oidc_login_keys_wipe(&keys);
    return st->login_keys;
}

void oidc_login_keys_cache_free(oidc_state *st)
{
    if (st->login_keys != NULL)
        oidc_login_keys_wipe(st->login_keys);
    free(st->login_keys);
    st->login_keys = NULL;
}
