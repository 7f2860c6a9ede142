#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "accounts.h"
#include "audit.h"
#include "crypto.h"
#include "log.h"
#include "scim_keys.h"

#define ID STORE_ID_LEN
#define TOKEN_LEN (sizeof(SCIM_KEY_TOKEN_PREFIX) - 1 + (SCIM_KEY_RANDOM_BYTES * 4 + 2) / 3)
#define TOUCH_INTERVAL_SEC 60

const char *scim_keys_strerror(int err)
{
    switch (err) {
    case SCIM_KEYS_NO_ACCOUNT:
        return "account not found";
    case SCIM_KEYS_LIMIT:
        return "the account already has 2 active SCIM keys: revoke one before creating another";
    case SCIM_KEYS_NO_KEY:
        return "SCIM key not found in this account";
    case SCIM_KEYS_REVOKED:
        return "the SCIM key is already revoked";
    default:
        return store_strerror(err);
    }
}

static int put_json(store_txn *t, enum store_table tab, const void *key, size_t klen,
                    const json *j, unsigned flags)
{
    size_t len;
    char *text = json_dump(j, &len);
    int rc;

    if (!text)
        return STORE_NOMEM;
    rc = store_put(t, tab, key, klen, text, len, flags);
    free(text);
    return rc;
}

static void id_key(char out[2 * ID], const char *account, const char *key_id)
{
    memcpy(out, account, ID);
    memcpy(out + ID, key_id, ID);
}

/* Reads the key record for `hash`, a 32-byte SHA-256. */
static int read_key(store_txn *t, const void *hash, json **out)
{
    store_val v;
    int rc = store_get(t, T_SCIM_KEYS, hash, 32, &v);
    *out = NULL;
    if (rc != 0)
        return rc;
    *out = json_parse(v.data, v.len, NULL, 0);
    return *out ? 0 : STORE_IO;
}

/* Walks the account's keys in id order, calling `fn` with each record. */
static int each_key(store_txn *t, const char *account, int (*fn)(json *key, void *arg), void *arg)
{
    store_cursor *c = NULL;
    store_val k, v;
    int rc = store_cursor_open(t, T_SCIM_KEY_IDS, &c);

    if (rc != 0)
        return rc;
    for (rc = store_cursor_seek(c, account, ID, &k, &v); rc == 0;
         rc = store_cursor_next(c, &k, &v)) {
        json *key;
        if (k.len != 2 * ID || memcmp(k.data, account, ID) != 0)
            break;
        if (v.len != 32 || read_key(t, v.data, &key) != 0) {
            rc = STORE_IO;
            break;
        }
        rc = fn(key, arg);
        if (rc != 0)
            break;
    }
    store_cursor_close(c);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

static int count_active(json *key, void *arg)
{
    if (!json_bool_value(json_object_get(key, "revoked")))
        (*(int *)arg)++;
    json_free(key);
    return 0;
}

static int append_key(json *key, void *arg)
{
    return json_array_append(arg, key) == 0 ? 0 : STORE_NOMEM;
}

static json *new_key_record(const char *id, const char *account, const char *token,
                            const char *when)
{
    char prefix[SCIM_KEY_DISPLAY_PREFIX_LEN + 1];
    json *key = json_object();

    if (!key)
        return NULL;
    memcpy(prefix, token + strlen(SCIM_KEY_TOKEN_PREFIX), SCIM_KEY_DISPLAY_PREFIX_LEN);
    prefix[SCIM_KEY_DISPLAY_PREFIX_LEN] = '\0';
    json_object_set(key, "id", json_string(id));
    json_object_set(key, "account", json_string(account));
    json_object_set(key, "prefix", json_string(prefix));
    json_object_set(key, "created", json_string(when));
    json_object_set(key, "last_used", json_null());
    json_object_set(key, "revoked", json_bool(0));
    return key;
}

static int audit_key(store_txn *t, const char *actor, const char *account, const char *kind,
                     const json *key)
{
    json *d = json_object();
    int rc;
    if (!d)
        return STORE_NOMEM;
    json_object_set(d, "key_id", json_copy(json_object_get(key, "id")));
    json_object_set(d, "prefix", json_copy(json_object_get(key, "prefix")));
    rc = audit_record(t, account, kind, actor, d);
    json_free(d);
    return rc;
}

static int store_new_key(store_txn *t, const char *account, const json *key, const char *token)
{
    uint8_t hash[32];
    char ids[2 * ID];
    int rc;

    crypto_sha256(token, strlen(token), hash);
    rc = put_json(t, T_SCIM_KEYS, hash, sizeof(hash), key, STORE_NOOVERWRITE);
    id_key(ids, account, json_get_string(key, "id"));
    if (rc == 0)
        rc = store_put(t, T_SCIM_KEY_IDS, ids, sizeof(ids), hash, sizeof(hash), STORE_NOOVERWRITE);
    return rc;
}

int scim_key_create_txn(store_txn *t, const char *actor, const char *account, json **key,
                        char **token)
{
    char id[37];
    char when[40];
    int active = 0;
    int rc;

    *key = NULL;
    *token = NULL;
    if (!accounts_exists(t, account))
        return SCIM_KEYS_NO_ACCOUNT;
    rc = each_key(t, account, count_active, &active);
    if (rc != 0)
        return rc;
    if (active >= SCIM_KEYS_MAX_ACTIVE)
        return SCIM_KEYS_LIMIT;
    if (crypto_uuid7(id) != 0 || !(*token = crypto_token(SCIM_KEY_TOKEN_PREFIX, SCIM_KEY_RANDOM_BYTES)))
        return STORE_NOMEM;
    audit_format_time(audit_now_usec(), when, sizeof(when));
    *key = new_key_record(id, account, *token, when);
    rc = *key ? store_new_key(t, account, *key, *token) : STORE_NOMEM;
    if (rc == 0)
        rc = audit_key(t, actor, account, AUDIT_KEY_CREATED, *key);
    if (rc != 0) {
        json_free(*key);
        OPENSSL_cleanse(*token, strlen(*token));
        free(*token);
        *key = NULL;
        *token = NULL;
    }
    return rc;
}

typedef struct key_job {
    const char *actor;
    const char *account;
    const char *key_id;
    json *key;
    char *token;
} key_job;

static int run_create(store_txn *t, void *arg)
{
    key_job *j = arg;
    return scim_key_create_txn(t, j->actor, j->account, &j->key, &j->token);
}

int scim_key_create(store *s, const char *actor, const char *account, json **key, char **token)
{
    key_job j = {actor, account, NULL, NULL, NULL};
    int rc = store_run(s, run_create, &j);

    if (rc != 0) {
        json_free(j.key);
        free(j.token);
        j.key = NULL;
        j.token = NULL;
    }
    *key = j.key;
    *token = j.token;
    return rc;
}

int scim_key_list(store_txn *t, const char *account, json **out)
{
    json *list;
    int rc;

    *out = NULL;
    if (!accounts_exists(t, account))
        return SCIM_KEYS_NO_ACCOUNT;
    list = json_array();
    if (!list)
        return STORE_NOMEM;
    rc = each_key(t, account, append_key, list);
    if (rc != 0) {
        json_free(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* Finds the hash and record of `key_id` in `account`. */
static int find_key(store_txn *t, const char *account, const char *key_id, uint8_t hash[32],
                    json **key)
{
    char ids[2 * ID];
    store_val v;
    int rc;

    *key = NULL;
    if (!account || strlen(account) != ID || !key_id || strlen(key_id) != ID)
        return SCIM_KEYS_NO_KEY;
    id_key(ids, account, key_id);
    rc = store_get(t, T_SCIM_KEY_IDS, ids, sizeof(ids), &v);
    if (rc == STORE_NOTFOUND)
        return SCIM_KEYS_NO_KEY;
    if (rc != 0)
        return rc;
    if (v.len != 32)
        return STORE_IO;
    memcpy(hash, v.data, 32);
    return read_key(t, hash, key);
}

int scim_key_revoke_txn(store_txn *t, const char *actor, const char *account, const char *key_id,
                        json **out)
{
    uint8_t hash[32];
    char when[40];
    json *key;
    int rc = find_key(t, account, key_id, hash, &key);

    if (out)
        *out = NULL;
    if (rc != 0)
        return rc;
    if (json_bool_value(json_object_get(key, "revoked"))) {
        json_free(key);
        return SCIM_KEYS_REVOKED;
    }
    audit_format_time(audit_now_usec(), when, sizeof(when));
    json_object_set(key, "revoked", json_bool(1));
    json_object_set(key, "revoked_at", json_string(when));
    rc = put_json(t, T_SCIM_KEYS, hash, sizeof(hash), key, 0);
    if (rc == 0)
        rc = audit_key(t, actor, account, AUDIT_KEY_REVOKED, key);
    if (rc == 0 && out)
        *out = key;
    else
        json_free(key);
    return rc;
}

static int run_revoke(store_txn *t, void *arg)
{
    key_job *j = arg;
    return scim_key_revoke_txn(t, j->actor, j->account, j->key_id, &j->key);
}

int scim_key_revoke(store *s, const char *actor, const char *account, const char *key_id,
                    json **key)
{
    key_job j = {actor, account, key_id, NULL, NULL};
    int rc = store_run(s, run_revoke, &j);

    if (rc != 0) {
        json_free(j.key);
        j.key = NULL;
    }
    if (key)
        *key = j.key;
    else
        json_free(j.key);
    return rc;
}

/* 1 for the characters of base64url. */
static const unsigned char base64url_char[256] = {
    ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1, ['-'] = 1, ['_'] = 1,
};

static int token_shape_ok(const char *bearer)
{
    size_t plen = strlen(SCIM_KEY_TOKEN_PREFIX);
    if (!bearer || strlen(bearer) != TOKEN_LEN || strncmp(bearer, SCIM_KEY_TOKEN_PREFIX, plen) != 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)bearer + plen; *p; p++) {
        if (!base64url_char[*p])
            return 0;
    }
    return 1;
}

static int copy_id(const json *key, const char *field, char out[37])
{
    const char *s = json_get_string(key, field);
    if (!s || strlen(s) != ID)
        return -1;
    memcpy(out, s, ID + 1);
    return 0;
}

/* ---- verified-key cache ---------------------------------------------- */

#define CACHE_SLOTS 64

/* Keys that authenticated, by the tag of their token (see siphash_tag),
 * one table per thread (in the server, the loop thread). The table is valid
 * for one store and one value of its key tables' change counter
 * (STORE_SCIM_KEYS_GENERATION). Every create, revoke, last-used update or
 * delete of a key, in this process or another, increments the counter, and
 * the next check that reads a new value empties the table. Tokens that fail
 * are not cached. */
struct cached_key {
    uint8_t tag[32];
    char account[37];
    char key_id[37];
    int used;
};

static __thread struct {
    uint64_t store_id;
    uint64_t generation;
    struct cached_key slots[CACHE_SLOTS];
} key_cache;

/* Returns the slot for `tag` after making sure the cache belongs to this
 * store and generation, or NULL when the counter cannot be read. */
static struct cached_key *cache_slot(store_txn *t, const uint8_t tag[32])
{
    uint64_t store_id = store_txn_store_id(t);
    uint64_t generation;

    if (store_table_generation(t, T_SCIM_KEYS, &generation) != 0)
        return NULL;
    if (key_cache.store_id != store_id || key_cache.generation != generation) {
        memset(key_cache.slots, 0, sizeof(key_cache.slots));
        key_cache.store_id = store_id;
        key_cache.generation = generation;
    }
    /* The tag is uniformly distributed, so its first byte spreads slots. */
    return &key_cache.slots[tag[0] % CACHE_SLOTS];
}

static int cache_hit(const struct cached_key *slot, const uint8_t tag[32], char account[37],
                     char key_id[37])
{
    if (!slot || !slot->used || !crypto_equal(slot->tag, tag, 32))
        return 0;
    memcpy(account, slot->account, sizeof(slot->account));
    memcpy(key_id, slot->key_id, sizeof(slot->key_id));
    return 1;
}

static void cache_fill(struct cached_key *slot, const uint8_t tag[32], const char account[37],
                       const char key_id[37])
{
    if (!slot)
        return;
    memcpy(slot->tag, tag, 32);
    memcpy(slot->account, account, sizeof(slot->account));
    memcpy(slot->key_id, key_id, sizeof(slot->key_id));
    slot->used = 1;
}

static EVP_MD *sha256_md;
/* Each thread's digest context, kept between checks and freed when the
 * thread exits. OpenSSL 3's SHA-256 final step (HASH_FINAL in
 * crypto/md32_common.h) clears the buffered input, so between checks the
 * context contains no token bytes, only the state that gives the digest,
 * which the store keeps as well. */
static pthread_key_t sha256_ctx_key;
static int sha256_ctx_key_ok;
static pthread_once_t algorithms_once = PTHREAD_ONCE_INIT;

static void free_sha256_ctx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

/* The cache tag of a token is SipHash-2-4 with a 128-bit output, keyed
 * with 16 random bytes drawn once per process. Without the key, which never
 * leaves the process, a token other than a cached one has its tag with a
 * chance of about 2^-128. crypto_siphash128 computes the tag of a token in
 * about 400 instructions, where OpenSSL 3.0's EVP_MAC took 1,100 and the
 * SHA-256 2,900 (callgrind on Debian 12). Only a cache miss still needs the
 * SHA-256. Without the random key, the tag is the SHA-256. */
static uint8_t tag_key[16];
static int tag_key_ok;

static void fetch_algorithms(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha256_ctx_key_ok = pthread_key_create(&sha256_ctx_key, free_sha256_ctx) == 0;
    tag_key_ok = crypto_random(tag_key, sizeof(tag_key)) == 0;
}

/* Returns this thread's digest context, or NULL when out of memory. */
static EVP_MD_CTX *sha256_ctx(void)
{
    EVP_MD_CTX *ctx;

    if (!sha256_ctx_key_ok)
        return NULL;
    ctx = pthread_getspecific(sha256_ctx_key);
    if (ctx)
        return ctx;
    ctx = EVP_MD_CTX_new();
    if (ctx && pthread_setspecific(sha256_ctx_key, ctx) != 0) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* SHA-256 of a bearer token for the per-request check. OpenSSL 3's one-shot
 * SHA256() looks the digest up in its provider tables on every call, which
 * costs more than hashing a token, so the digest is fetched once and kept
 * for the life of the process. A context per thread saves allocating one
 * per check. */
static void token_hash(const char *token, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    EVP_MD_CTX *ctx;

    pthread_once(&algorithms_once, fetch_algorithms);
    ctx = sha256_md ? sha256_ctx() : NULL;
    if (!ctx || !EVP_DigestInit_ex2(ctx, sha256_md, NULL) || !EVP_DigestUpdate(ctx, token, len) ||
        !EVP_DigestFinal_ex(ctx, out, &n) || n != 32)
        crypto_sha256(token, len, out);
}

/* Writes the SipHash tag of a token of TOKEN_LEN bytes into the first 16
 * bytes of `out` and zeroes the rest. Returns 0, or -1 when the process has
 * no tag key. */
static int siphash_tag(const char *token, uint8_t out[32])
{
    pthread_once(&algorithms_once, fetch_algorithms);
    if (!tag_key_ok)
        return -1;
    memset(out, 0, 32);
    crypto_siphash128(tag_key, token, TOKEN_LEN, out);
    return 0;
}

int scim_key_authenticate(store_txn *t, const char *bearer, char account[37], char key_id[37])
{
    uint8_t tag[32];
    uint8_t hash[32];
    char ids[2 * ID];
    store_val v;
    json *key = NULL;
    struct cached_key *slot;
    int tag_is_hash;
    int rc;

    if (!token_shape_ok(bearer))
        return STORE_NOTFOUND;
    tag_is_hash = siphash_tag(bearer, tag) != 0;
    if (tag_is_hash)
        token_hash(bearer, TOKEN_LEN, tag);
    slot = cache_slot(t, tag);
    if (cache_hit(slot, tag, account, key_id))
        return 0;
    if (tag_is_hash)
        memcpy(hash, tag, sizeof(hash));
    else
        token_hash(bearer, TOKEN_LEN, hash);
    rc = read_key(t, hash, &key);
    if (rc != 0)
        return rc;
    rc = STORE_NOTFOUND;
    if (json_bool_value(json_object_get(key, "revoked")))
        goto out;
    if (copy_id(key, "account", account) != 0 || copy_id(key, "id", key_id) != 0)
        goto out;
    /* The id index must point back at this very hash: a record left behind
     * by a partial delete never authenticates. */
    id_key(ids, account, key_id);
    if (store_get(t, T_SCIM_KEY_IDS, ids, sizeof(ids), &v) != 0 || v.len != 32 ||
        !crypto_equal(v.data, hash, 32))
        goto out;
    rc = 0;
    cache_fill(slot, tag, account, key_id);

out:
    json_free(key);
    if (rc != 0) {
        account[0] = '\0';
        key_id[0] = '\0';
    }
    return rc;
}

/* ---- last-used updates ------------------------------------------------ */

#define TOUCH_SLOTS 256

/* Time of the last submitted update per key, in a small table hashed by
 * key id. A collision only costs an extra update. Loop thread only. */
static struct {
    char key_id[37];
    time_t at;
} touched[TOUCH_SLOTS];

typedef struct touch_job {
    char account[37];
    char key_id[37];
    char when[40];
} touch_job;

static int run_touch(store_txn *t, void *arg)
{
    touch_job *j = arg;
    uint8_t hash[32];
    json *key;
    int rc = find_key(t, j->account, j->key_id, hash, &key);

    if (rc != 0)
        return rc;
    json_object_set(key, "last_used", json_string(j->when));
    rc = put_json(t, T_SCIM_KEYS, hash, sizeof(hash), key, 0);
    json_free(key);
    return rc;
}

static void touch_done(int rc, void *arg)
{
    touch_job *j = arg;
    if (rc != 0)
        log_event(LOG_WARN, "scim key last-used update failed", "key_id", j->key_id, "account",
                  j->account, "error", scim_keys_strerror(rc), NULL);
    free(j);
}

void scim_key_touch(store *s, const char *account, const char *key_id)
{
    struct timespec now;
    unsigned h = 2166136261u;
    touch_job *j;

    clock_gettime(CLOCK_MONOTONIC, &now);
    for (const char *p = key_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h %= TOUCH_SLOTS;
    if (strcmp(touched[h].key_id, key_id) == 0 && now.tv_sec - touched[h].at < TOUCH_INTERVAL_SEC)
        return;
    j = calloc(1, sizeof(*j));
    if (!j)
        return;
    snprintf(j->account, sizeof(j->account), "%s", account);
    snprintf(j->key_id, sizeof(j->key_id), "%s", key_id);
    audit_format_time(audit_now_usec(), j->when, sizeof(j->when));
    if (store_submit(s, run_touch, touch_done, j) != 0) {
        free(j);
        return;
    }
    snprintf(touched[h].key_id, sizeof(touched[h].key_id), "%s", key_id);
    touched[h].at = now.tv_sec;
}
