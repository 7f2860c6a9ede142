#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "app.h"
#include "crypto.h"
#include "json.h"
#include "oidc/login_keys.h"
#include "oidc/oidc.h"
#include "oidc/oidc_const.h"
#include "oidc/tx.h"
#include "store.h"

#define ACC "11111111-1111-4111-8111-111111111111"
#define DAY OIDC_LOGIN_KEY_LIFETIME

static store *st;
static char dir[64];
static secretbox_key master;        /* the master key of every instance in these tests */

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/idgate-test-login-tx-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    store_options opt = {.path = dir, .map_size = 16 << 20};
    ck_assert_int_eq(store_open(&opt, NULL, &st), 0);
    memset(master.bytes, 0x5a, sizeof master.bytes);
}

static void teardown(void)
{
    char cmd[128];
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static oidc_login_keys test_keys(uint8_t current, uint8_t previous)
{
    oidc_login_keys keys = {.has_previous = previous != 0, .created = 1000};
    memset(keys.current.bytes, current, sizeof keys.current.bytes);
    memset(keys.previous.bytes, previous, sizeof keys.previous.bytes);
    return keys;
}

#define ISSUER "https://acme.okta.test"

static oidc_tx test_tx(void)
{
    oidc_tx tx = {.account = ACC, .nonce = "nonce-1", .verifier = "verifier-1",
                  .target = "/app?x=1", .expires = 4000};
    oidc_tx_set_issuer(&tx, ISSUER);
    return tx;
}

START_TEST(sealed_tx_roundtrip)
{
    oidc_login_keys keys = test_keys(1, 0);
    oidc_tx tx = test_tx(), out;
    char *sealed = NULL;
    ck_assert_int_eq(oidc_tx_seal(&keys, "state-1", &tx, &sealed), 0);
    ck_assert_ptr_null(strstr(sealed, "verifier"));
    ck_assert_ptr_null(strstr(sealed, "okta"));
    ck_assert_int_eq(oidc_tx_open(&keys, "state-1", sealed, &out), 0);
    ck_assert_str_eq(out.account, ACC);
    ck_assert_str_eq(out.issuer_sha256, tx.issuer_sha256);
    ck_assert_int_eq(oidc_tx_issuer_is(&out, ISSUER), 1);
    ck_assert_int_eq(oidc_tx_issuer_is(&out, ISSUER "/"), 0);
    ck_assert_str_eq(out.nonce, tx.nonce);
    ck_assert_str_eq(out.verifier, tx.verifier);
    ck_assert_str_eq(out.target, tx.target);
    ck_assert_int_eq(out.expires, 4000);
    oidc_tx_clear(&out);
    free(sealed);
}
END_TEST

START_TEST(sealed_tx_rejects_misuse)
{
    oidc_login_keys keys = test_keys(1, 0), other = test_keys(2, 3);
    oidc_tx tx = test_tx(), out;
    char *sealed = NULL;
    ck_assert_int_eq(oidc_tx_seal(&keys, "state-1", &tx, &sealed), 0);

    /* Another state, another key and an altered byte each fail. */
    ck_assert_int_eq(oidc_tx_open(&keys, "state-2", sealed, &out), SECRETBOX_ERR_AUTH);
    ck_assert_int_eq(oidc_tx_open(&other, "state-1", sealed, &out), SECRETBOX_ERR_AUTH);
    size_t mid = strlen(sealed) / 2;
    sealed[mid] = sealed[mid] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(oidc_tx_open(&keys, "state-1", sealed, &out), SECRETBOX_ERR_AUTH);

    ck_assert_int_ne(oidc_tx_open(&keys, "state-1", "", &out), 0);
    ck_assert_int_ne(oidc_tx_open(&keys, "state-1", "v1.", &out), 0);
    ck_assert_int_ne(oidc_tx_open(&keys, "state-1", "not a box", &out), 0);
    free(sealed);
}
END_TEST

START_TEST(previous_key_still_opens)
{
    oidc_login_keys old = test_keys(1, 0), rotated = test_keys(2, 1), later = test_keys(3, 2);
    oidc_tx tx = test_tx(), out;
    char *sealed = NULL;
    ck_assert_int_eq(oidc_tx_seal(&old, "state-1", &tx, &sealed), 0);
    ck_assert_int_eq(oidc_tx_open(&rotated, "state-1", sealed, &out), 0);
    oidc_tx_clear(&out);
    ck_assert_int_eq(oidc_tx_open(&later, "state-1", sealed, &out), SECRETBOX_ERR_AUTH);
    free(sealed);
}
END_TEST

START_TEST(long_state_rejected)
{
    oidc_login_keys keys = test_keys(1, 0);
    oidc_tx tx = test_tx(), out;
    char state[600], *sealed = NULL;
    memset(state, 's', sizeof state - 1);
    state[sizeof state - 1] = '\0';
    ck_assert_int_eq(oidc_tx_seal(&keys, state, &tx, &sealed), SECRETBOX_ERR_FORMAT);
    ck_assert_ptr_null(sealed);
    ck_assert_int_eq(oidc_tx_open(&keys, state, "v1.AAAA", &out), SECRETBOX_ERR_FORMAT);
}
END_TEST

/* Bytes of the name=value pair "__Host-idgate_tx_N=<sealed>" in a Cookie line. */
static size_t cookie_pair_bytes(const char *state, const char *sealed)
{
    char name[32];
    oidc_tx_cookie_name(state, name);
    return strlen("__Host-") + strlen(name) + 1 + strlen(sealed);
}

START_TEST(longest_tx_cookie_is_small)
{
    oidc_login_keys keys = test_keys(1, 0);
    oidc_tx tx = test_tx(), out;
    char target[OIDC_TX_TARGET_MAX + 1], *sealed = NULL;
    char *state = crypto_token("", 32);
    target[0] = '/';
    memset(target + 1, 'a', OIDC_TX_TARGET_MAX - 1);
    target[OIDC_TX_TARGET_MAX] = '\0';
    tx.target = target;
    tx.expires = INT64_MAX;
    ck_assert_int_eq(oidc_tx_seal(&keys, state, &tx, &sealed), 0);
    ck_assert_uint_le(strlen(sealed), OIDC_TX_SEALED_MAX);

    /* Every slot filled with such a cookie leaves room in an 8000-byte line. */
    size_t pair = cookie_pair_bytes(state, sealed);
    ck_assert_uint_lt(pair, 1000);
    ck_assert_uint_lt(OIDC_TX_SLOTS * (pair + 2), 6000);
    ck_assert_int_eq(oidc_tx_open(&keys, state, sealed, &out), 0);
    ck_assert_str_eq(out.target, target);
    oidc_tx_clear(&out);
    free(sealed);
    free(state);
}
END_TEST

START_TEST(cookie_names_are_bounded)
{
    char name[32], legacy[32];
    int seen[OIDC_TX_SLOTS] = {0};
    for (int i = 0; i < 200; i++) {
        char *state = crypto_token("", 32);
        int slot = oidc_tx_slot(state);
        ck_assert_int_ge(slot, 0);
        ck_assert_int_lt(slot, OIDC_TX_SLOTS);
        seen[slot] = 1;
        oidc_tx_cookie_name(state, name);
        ck_assert_int_eq(name[strlen(OIDC_COOKIE_TX)], '0' + slot);
        ck_assert_uint_eq(strlen(name), strlen(OIDC_COOKIE_TX) + 1);
        oidc_tx_legacy_cookie_name(state, legacy);
        ck_assert_uint_eq(strlen(legacy), strlen(OIDC_COOKIE_TX) + 8);
        free(state);
    }
    for (int i = 0; i < OIDC_TX_SLOTS; i++)
        ck_assert_int_eq(seen[i], 1);
}
END_TEST

/* Earlier builds sealed the issuer itself, and their cookies still open. */
START_TEST(tx_with_plain_issuer_opens)
{
    oidc_login_keys keys = test_keys(1, 0);
    const char *text = "{\"account\":\"" ACC "\",\"issuer\":\"" ISSUER "\",\"nonce\":\"n\","
                       "\"verifier\":\"v\",\"target\":\"/\",\"expires\":4000}";
    char *sealed = NULL;
    oidc_tx out;
    ck_assert_int_eq(secretbox_seal(&keys.current, "login-tx:state-1", text, strlen(text),
                                    &sealed), 0);
    ck_assert_int_eq(oidc_tx_open(&keys, "state-1", sealed, &out), 0);
    ck_assert_int_eq(oidc_tx_issuer_is(&out, ISSUER), 1);
    ck_assert_str_eq(out.nonce, "n");
    oidc_tx_clear(&out);
    free(sealed);
}
END_TEST

static int mark_used_job(store_txn *t, void *arg)
{
    oidc_tx tx = test_tx();
    return oidc_tx_mark_used(t, arg, &tx, 60);
}

/* Returns the "expires" of the used-state record of `state`. */
static int64_t used_until(const char *state)
{
    store_txn *t;
    store_val v;
    uint8_t key[32];
    oidc_tx_key(state, key);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(store_get(t, T_LOGINS, key, sizeof key, &v), 0);
    json *j = json_parse(v.data, v.len, NULL, 0);
    store_read_end(t);
    ck_assert_ptr_nonnull(j);
    int64_t expires = json_int_value(json_object_get(j, "expires"));
    json_free(j);
    return expires;
}

static int used(const char *state)
{
    store_txn *t;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = oidc_tx_used(t, state);
    store_read_end(t);
    return rc;
}

START_TEST(state_used_once)
{
    ck_assert_int_eq(used("state-1"), 0);
    ck_assert_int_eq(store_run(st, mark_used_job, "state-1"), 0);
    ck_assert_int_eq(used("state-1"), 1);
    /* The record outlives the transaction by the clock skew of 60 s. */
    ck_assert_int_eq(used_until("state-1"), 4000 + 60);
    ck_assert_int_eq(store_run(st, mark_used_job, "state-1"), STORE_EXISTS);
    ck_assert_int_eq(used("state-2"), 0);
}
END_TEST

struct update_args {
    const secretbox_key *master;
    int64_t now;
    oidc_login_keys keys;
};

static int update_job(store_txn *t, void *arg)
{
    struct update_args *a = arg;
    return oidc_login_keys_update(t, a->master, a->now, &a->keys);
}

static oidc_login_keys update_with(const secretbox_key *key, int64_t now, int expected_rc)
{
    struct update_args a = {.master = key, .now = now};
    ck_assert_int_eq(store_run(st, update_job, &a), expected_rc);
    return a.keys;
}

static oidc_login_keys update_at(int64_t now)
{
    return update_with(&master, now, 0);
}

static oidc_login_keys read_with(const secretbox_key *key, int expected_rc)
{
    store_txn *t;
    oidc_login_keys keys;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(oidc_login_keys_read(t, key, &keys), expected_rc);
    store_read_end(t);
    return keys;
}

static oidc_login_keys read_keys(int expected_rc)
{
    return read_with(&master, expected_rc);
}

static int put_record_job(store_txn *t, void *arg)
{
    const char *text = arg;
    return store_put(t, T_META, OIDC_LOGIN_KEYS_NAME, strlen(OIDC_LOGIN_KEYS_NAME), text,
                     strlen(text), 0);
}

static void put_record(const char *text)
{
    ck_assert_int_eq(store_run(st, put_record_job, (void *)text), 0);
}

/* Returns the stored record as a malloc'd string. */
static char *stored_record(void)
{
    store_txn *t;
    store_val v;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(store_get(t, T_META, OIDC_LOGIN_KEYS_NAME, strlen(OIDC_LOGIN_KEYS_NAME), &v),
                     0);
    char *text = strndup(v.data, v.len);
    store_read_end(t);
    ck_assert_ptr_nonnull(text);
    return text;
}

/* Checks that the stored record contains `key` neither as raw bytes nor as
 * base64url. */
static void assert_not_stored(const secretbox_key *key)
{
    char *record = stored_record();
    char *encoded = crypto_b64url(key->bytes, sizeof key->bytes);
    ck_assert_ptr_nonnull(encoded);
    ck_assert_ptr_null(memmem(record, strlen(record), key->bytes, sizeof key->bytes));
    ck_assert_ptr_null(strstr(record, encoded));
    free(encoded);
    free(record);
}

/* Writes a record in the unsealed form of earlier builds, with
 * keys filled with the bytes `current` and `previous` (none when 0). */
static void put_plain_record(uint8_t current, uint8_t previous, int64_t created)
{
    oidc_login_keys keys = test_keys(current, previous);
    char *cur = crypto_b64url(keys.current.bytes, SECRETBOX_KEY_LEN);
    char *prev = crypto_b64url(keys.previous.bytes, SECRETBOX_KEY_LEN);
    char text[256];
    ck_assert_ptr_nonnull(cur);
    ck_assert_ptr_nonnull(prev);
    if (previous != 0)
        snprintf(text, sizeof text, "{\"current\":\"%s\",\"created\":%lld,\"previous\":\"%s\"}",
                 cur, (long long)created, prev);
    else
        snprintf(text, sizeof text, "{\"current\":\"%s\",\"created\":%lld}", cur,
                 (long long)created);
    put_record(text);
    free(cur);
    free(prev);
}

/* Writes a record whose box contains `len` bytes of 0x11, sealed with `key`
 * and the associated data `aad`, and whose "created" is `created`. */
static void put_sealed_record(const secretbox_key *key, const char *aad, size_t len,
                              int64_t created)
{
    uint8_t plain[2 * SECRETBOX_KEY_LEN + 1];
    char *box = NULL, text[512];
    ck_assert_uint_le(len, sizeof plain);
    memset(plain, 0x11, sizeof plain);
    ck_assert_int_eq(secretbox_seal(key, aad, plain, len, &box), 0);
    snprintf(text, sizeof text, "{\"keys\":\"%s\",\"created\":%lld}", box, (long long)created);
    put_record(text);
    free(box);
}

START_TEST(keys_created_then_kept)
{
    read_keys(STORE_NOTFOUND);
    oidc_login_keys first = update_at(1000);
    ck_assert_int_eq(first.created, 1000);
    ck_assert_int_eq(first.has_previous, 0);

    /* A second instance within the lifetime finds the same key. */
    oidc_login_keys again = update_at(1000 + DAY - 1);
    ck_assert_mem_eq(again.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_int_eq(again.created, 1000);

    oidc_login_keys stored = read_keys(0);
    ck_assert_mem_eq(stored.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);
}
END_TEST

START_TEST(keys_rotate_after_lifetime)
{
    oidc_login_keys first = update_at(1000);
    ck_assert_int_eq(oidc_login_keys_due(&first, 1000 + DAY - 1), 0);
    ck_assert_int_eq(oidc_login_keys_due(&first, 1000 + DAY), 1);
    /* An instance whose clock is behind keeps a key from the future, however
     * far ahead it is. */
    ck_assert_int_eq(oidc_login_keys_due(&first, 990), 0);
    ck_assert_int_eq(oidc_login_keys_due(&first, 1000 - DAY), 0);
    ck_assert_int_eq(oidc_login_keys_due(&first, 1000 - 30 * DAY), 0);
    oidc_login_keys behind = update_at(1000 - 2 * DAY);
    ck_assert_int_eq(behind.created, 1000);
    ck_assert_int_eq(behind.has_previous, 0);
    ck_assert_mem_eq(behind.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);

    oidc_login_keys second = update_at(1000 + DAY);
    ck_assert_int_eq(second.created, 1000 + DAY);
    ck_assert_int_eq(second.has_previous, 1);
    ck_assert_mem_eq(second.previous.bytes, first.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_ne(second.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);

    /* The next rotation drops the first key. */
    oidc_login_keys third = update_at(1000 + 2 * DAY);
    ck_assert_mem_eq(third.previous.bytes, second.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_ne(third.current.bytes, first.current.bytes, SECRETBOX_KEY_LEN);
}
END_TEST

START_TEST(damaged_keys_replaced)
{
    put_record("{}");
    read_keys(STORE_IO);
    oidc_login_keys keys = update_at(5000);
    ck_assert_int_eq(keys.created, 5000);
    ck_assert_int_eq(keys.has_previous, 0);
    read_keys(0);
}
END_TEST

START_TEST(stored_keys_are_sealed)
{
    oidc_login_keys first = update_at(1000);
    assert_not_stored(&first.current);
    oidc_login_keys second = update_at(1000 + DAY);
    assert_not_stored(&second.current);
    assert_not_stored(&second.previous);

    char *record = stored_record();
    json *j = json_parse(record, strlen(record), NULL, 0);
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_null(json_object_get(j, "current"));
    ck_assert_ptr_null(json_object_get(j, "previous"));
    ck_assert_ptr_nonnull(json_get_string(j, "keys"));
    ck_assert_int_eq(strncmp(json_get_string(j, "keys"), SECRETBOX_PREFIX,
                             strlen(SECRETBOX_PREFIX)), 0);
    ck_assert_int_eq(json_int_value(json_object_get(j, "created")), 1000 + DAY);
    json_free(j);
    free(record);

    /* Another instance with the same master key opens them. */
    secretbox_key same = master;
    oidc_login_keys other = read_with(&same, 0);
    ck_assert_mem_eq(other.current.bytes, second.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_eq(other.previous.bytes, second.previous.bytes, SECRETBOX_KEY_LEN);
    ck_assert_int_eq(other.has_previous, 1);
    ck_assert_int_eq(other.stored_plain, 0);
}
END_TEST

/* Records that must not open with the master key. */
static const struct {
    const char *name;
    uint8_t key_byte;               /* 0 for the master key, else a key of this byte */
    const char *aad;                /* NULL for the right associated data */
    size_t len;
    int64_t sealed_created;         /* `created` inside the associated data */
} unopenable[] = {
    {"another purpose", 0, "idp-client-secret:" ACC, 2 * SECRETBOX_KEY_LEN, 1000},
    {"no created in aad", 0, OIDC_LOGIN_KEYS_AAD, SECRETBOX_KEY_LEN, 1000},
    {"another master key", 0x77, NULL, 2 * SECRETBOX_KEY_LEN, 1000},
    {"another created", 0, NULL, SECRETBOX_KEY_LEN, 999},
    {"short plaintext", 0, NULL, SECRETBOX_KEY_LEN - 1, 1000},
    {"long plaintext", 0, NULL, 2 * SECRETBOX_KEY_LEN + 1, 1000},
};

START_TEST(unopenable_record_rejected)
{
    secretbox_key key = master;
    char aad[64];
    if (unopenable[_i].key_byte != 0)
        memset(key.bytes, unopenable[_i].key_byte, sizeof key.bytes);
    snprintf(aad, sizeof aad, "%s%lld", OIDC_LOGIN_KEYS_AAD,
             (long long)unopenable[_i].sealed_created);
    put_sealed_record(&key, unopenable[_i].aad ? unopenable[_i].aad : aad, unopenable[_i].len,
                      1000);
    read_keys(STORE_IO);

    /* The update replaces the record, which ends only sign-ins in progress. */
    oidc_login_keys replaced = update_at(1500);
    ck_assert_int_eq(replaced.created, 1500);
    ck_assert_int_eq(replaced.has_previous, 0);
    oidc_login_keys stored = read_keys(0);
    ck_assert_mem_eq(stored.current.bytes, replaced.current.bytes, SECRETBOX_KEY_LEN);
}
END_TEST

START_TEST(changed_created_rejected)
{
    update_at(1000);
    char *record = stored_record();
    json *j = json_parse(record, strlen(record), NULL, 0);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_object_set(j, "created", json_int(1000 + 10 * DAY)), 0);
    size_t len;
    char *changed = json_dump(j, &len);
    ck_assert_ptr_nonnull(changed);
    put_record(changed);
    read_keys(STORE_IO);
    free(changed);
    json_free(j);
    free(record);
}
END_TEST

START_TEST(sealed_record_of_two_keys_opens)
{
    char aad[64];
    snprintf(aad, sizeof aad, "%s1000", OIDC_LOGIN_KEYS_AAD);
    put_sealed_record(&master, aad, 2 * SECRETBOX_KEY_LEN, 1000);
    oidc_login_keys keys = read_keys(0);
    oidc_login_keys expected = test_keys(0x11, 0x11);
    ck_assert_mem_eq(keys.current.bytes, expected.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_eq(keys.previous.bytes, expected.previous.bytes, SECRETBOX_KEY_LEN);
    ck_assert_int_eq(keys.has_previous, 1);
    ck_assert_int_eq(keys.created, 1000);
}
END_TEST

START_TEST(plain_keys_read_then_sealed)
{
    oidc_login_keys legacy = test_keys(0x21, 0x22);
    oidc_tx tx = test_tx(), out;
    char *sealed = NULL;
    ck_assert_int_eq(oidc_tx_seal(&legacy, "state-1", &tx, &sealed), 0);
    put_plain_record(0x21, 0x22, 1000);

    oidc_login_keys plain = read_keys(0);
    ck_assert_mem_eq(plain.current.bytes, legacy.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_eq(plain.previous.bytes, legacy.previous.bytes, SECRETBOX_KEY_LEN);
    ck_assert_int_eq(plain.has_previous, 1);
    ck_assert_int_eq(plain.created, 1000);
    ck_assert_int_eq(plain.stored_plain, 1);
    ck_assert_int_eq(oidc_login_keys_due(&plain, 1001), 1);

    /* The next update seals the same keys without rotating them. */
    oidc_login_keys resealed = update_at(1001);
    ck_assert_mem_eq(resealed.current.bytes, legacy.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_eq(resealed.previous.bytes, legacy.previous.bytes, SECRETBOX_KEY_LEN);
    ck_assert_int_eq(resealed.created, 1000);
    ck_assert_int_eq(resealed.stored_plain, 0);
    ck_assert_int_eq(oidc_login_keys_due(&resealed, 1001), 0);
    assert_not_stored(&legacy.current);
    assert_not_stored(&legacy.previous);

    oidc_login_keys stored = read_keys(0);
    ck_assert_int_eq(stored.stored_plain, 0);
    ck_assert_int_eq(oidc_tx_open(&stored, "state-1", sealed, &out), 0);
    oidc_tx_clear(&out);
    free(sealed);
}
END_TEST

START_TEST(plain_keys_rotate_when_due)
{
    put_plain_record(0x31, 0, 1000);
    oidc_login_keys plain = read_keys(0);
    ck_assert_int_eq(plain.has_previous, 0);

    oidc_login_keys rotated = update_at(1000 + DAY);
    ck_assert_int_eq(rotated.created, 1000 + DAY);
    ck_assert_int_eq(rotated.has_previous, 1);
    ck_assert_mem_eq(rotated.previous.bytes, plain.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_mem_ne(rotated.current.bytes, plain.current.bytes, SECRETBOX_KEY_LEN);
    assert_not_stored(&plain.current);
    assert_not_stored(&rotated.current);
}
END_TEST

START_TEST(no_master_key_no_keys)
{
    update_with(NULL, 1000, STORE_INVALID);
    read_keys(STORE_NOTFOUND);
    read_with(NULL, STORE_INVALID);

    /* A plain record is not read without the master key either. */
    put_plain_record(0x41, 0, 1000);
    read_with(NULL, STORE_INVALID);
    update_with(NULL, 1000, STORE_INVALID);
    ck_assert_int_eq(read_keys(0).stored_plain, 1);
}
END_TEST

/* An instance's sign-in state, enough for the key cache. */
static oidc_state *cache_state(app *a, int with_master)
{
    static oidc_state state;
    memset(&state, 0, sizeof state);
    memset(a, 0, sizeof *a);
    a->store = st;
    state.app = a;
    state.key = master;
    state.key_state = with_master ? 1 : -1;
    return &state;
}

START_TEST(cache_reads_with_master_key)
{
    app a;
    oidc_state *state = cache_state(&a, 1);
    ck_assert_ptr_null(oidc_login_keys_cached(state, 1000, 0));
    oidc_login_keys created = update_at(1000);
    const oidc_login_keys *cached = oidc_login_keys_cached(state, 1000, 0);
    ck_assert_ptr_nonnull(cached);
    ck_assert_mem_eq(cached->current.bytes, created.current.bytes, SECRETBOX_KEY_LEN);
    ck_assert_int_eq(oidc_login_keys_due(cached, 1000), 0);
    oidc_login_keys_cache_free(state);

    /* A plain record is cached as due, so the next sign-in start seals it. */
    put_plain_record(0x51, 0, 1000);
    cached = oidc_login_keys_cached(state, 1000, 0);
    ck_assert_ptr_nonnull(cached);
    ck_assert_int_eq(oidc_login_keys_due(cached, 1000), 1);
    oidc_login_keys_cache_free(state);

    state = cache_state(&a, 0);
    ck_assert_ptr_null(oidc_login_keys_cached(state, 1000, 0));
    oidc_login_keys_cache_free(state);
}
END_TEST

START_TEST(cache_rereads_for_newer_key)
{
    app a;
    oidc_state *state = cache_state(&a, 1);
    oidc_login_keys first = update_at(1000);
    const oidc_login_keys *cached = oidc_login_keys_cached(state, 1000, 0);
    ck_assert_ptr_nonnull(cached);
    ck_assert_int_eq(cached->created, first.created);

    /* Another instance replaces the key within the same second. A reread
     * requested then reads it at once. */
    oidc_login_keys second = update_at(1000 + DAY);
    ck_assert_int_eq(oidc_login_keys_cached(state, 1000, 0)->created, 1000);
    cached = oidc_login_keys_cached(state, 1000, 1);
    ck_assert_int_eq(cached->created, second.created);
    ck_assert_mem_eq(cached->current.bytes, second.current.bytes, SECRETBOX_KEY_LEN);

    /* A second reread within OIDC_LOGIN_KEYS_REREAD_MS keeps the cache. */
    update_at(1000 + 2 * DAY);
    ck_assert_int_eq(oidc_login_keys_cached(state, 1000, 1)->created, second.created);
    oidc_login_keys_cache_free(state);
}
END_TEST

START_TEST(sealed_tx_names_its_key)
{
    oidc_login_keys keys = test_keys(1, 0);
    oidc_tx tx = test_tx(), out;
    char *sealed = NULL;
    ck_assert_int_eq(oidc_tx_seal(&keys, "state-1", &tx, &sealed), 0);
    ck_assert_int_eq(strncmp(sealed, "k1000.v1.", 9), 0);
    ck_assert_int_eq(oidc_tx_key_id(sealed), 1000);
    ck_assert_int_eq(oidc_tx_open(&keys, "state-1", sealed, &out), 0);
    oidc_tx_clear(&out);

    /* Without the key id, as earlier builds sealed them, the value opens too. */
    ck_assert_int_eq(oidc_tx_key_id(sealed + 6), 0);
    ck_assert_int_eq(oidc_tx_open(&keys, "state-1", sealed + 6, &out), 0);
    oidc_tx_clear(&out);
    free(sealed);

    ck_assert_int_eq(oidc_tx_key_id("k.v1.AAAA"), 0);
    ck_assert_int_eq(oidc_tx_key_id("k12v1.AAAA"), 0);
    ck_assert_int_eq(oidc_tx_key_id("k1234567890123456789.v1.AAAA"), 0);
    ck_assert_int_eq(oidc_tx_key_id(""), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("login_tx");
    TCase *tc = tcase_create("login_tx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sealed_tx_roundtrip);
    tcase_add_test(tc, sealed_tx_rejects_misuse);
    tcase_add_test(tc, previous_key_still_opens);
    tcase_add_test(tc, long_state_rejected);
    tcase_add_test(tc, longest_tx_cookie_is_small);
    tcase_add_test(tc, cookie_names_are_bounded);
    tcase_add_test(tc, tx_with_plain_issuer_opens);
    tcase_add_test(tc, state_used_once);
    tcase_add_test(tc, keys_created_then_kept);
    tcase_add_test(tc, keys_rotate_after_lifetime);
    tcase_add_test(tc, damaged_keys_replaced);
    tcase_add_test(tc, stored_keys_are_sealed);
    tcase_add_loop_test(tc, unopenable_record_rejected, 0,
                        sizeof unopenable / sizeof unopenable[0]);
    tcase_add_test(tc, changed_created_rejected);
    tcase_add_test(tc, sealed_record_of_two_keys_opens);
    tcase_add_test(tc, plain_keys_read_then_sealed);
    tcase_add_test(tc, plain_keys_rotate_when_due);
    tcase_add_test(tc, no_master_key_no_keys);
    tcase_add_test(tc, cache_reads_with_master_key);
    tcase_add_test(tc, cache_rereads_for_newer_key);
    tcase_add_test(tc, sealed_tx_names_its_key);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
