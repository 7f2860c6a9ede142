#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "json.h"
#include "oidc/subjects.h"
#include "oidc/users.h"

#define ID STORE_ID_LEN
#define HASH_LEN 32
#define LINK_KEY_LEN (ID + HASH_LEN)
#define USER_KEY_LEN (2 * ID + HASH_LEN)

/* Writes SHA-256(issuer + \0 + sub). Returns 0, or STORE_NOMEM. */
static int subject_hash(const char *issuer, const char *sub, uint8_t out[HASH_LEN])
{
    size_t ilen = strlen(issuer), slen = strlen(sub);
    char *buf = malloc(ilen + 1 + slen);
    if (buf == NULL)
        return STORE_NOMEM;
    memcpy(buf, issuer, ilen + 1);
    memcpy(buf + ilen + 1, sub, slen);
    crypto_sha256(buf, ilen + 1 + slen, out);
    free(buf);
    return 0;
}

static int valid_ids(const char *account, const char *user_id)
{
    return strlen(account) == ID && (user_id == NULL || strlen(user_id) == ID);
}

static void link_key(const char *account, const uint8_t hash[HASH_LEN], uint8_t key[LINK_KEY_LEN])
{
    memcpy(key, account, ID);
    memcpy(key + ID, hash, HASH_LEN);
}

static void user_key(const char *account, const char *user_id, const uint8_t hash[HASH_LEN],
                     uint8_t key[USER_KEY_LEN])
{
    memcpy(key, account, ID);
    memcpy(key + ID, user_id, ID);
    memcpy(key + 2 * ID, hash, HASH_LEN);
}

static int user_exists(store_txn *t, const char *account, const char *user_id)
{
    char key[2 * ID];
    store_val v;
    memcpy(key, account, ID);
    memcpy(key + ID, user_id, ID);
    int rc = store_get(t, T_USERS, key, sizeof key, &v);
    if (rc == 0)
        return 1;
    if (rc == STORE_NOTFOUND)
        return 0;
    return rc;
}

/* Reads the user id of the link under `key` into `user_id`. Returns 0,
 * STORE_NOTFOUND, or STORE_IO for a damaged record. */
static int read_link(store_txn *t, const uint8_t key[LINK_KEY_LEN], char user_id[40])
{
    store_val v;
    int rc = store_get(t, T_SUBJECTS, key, LINK_KEY_LEN, &v);
    if (rc != 0)
        return rc;
    json *rec = json_parse(v.data, v.len, NULL, 0);
    const char *user = json_get_string(rec, "user");
    rc = user != NULL && strlen(user) == ID ? 0 : STORE_IO;
    if (rc == 0)
        memcpy(user_id, user, ID + 1);
    json_free(rec);
    return rc;
}

int oidc_subject_find(store_txn *t, const char *account, const char *issuer, const char *sub,
                      char user_id[40])
{
    uint8_t hash[HASH_LEN], key[LINK_KEY_LEN];
    if (issuer == NULL || sub == NULL || *sub == '\0' || !valid_ids(account, NULL))
        return STORE_NOTFOUND;
    int rc = subject_hash(issuer, sub, hash);
    if (rc != 0)
        return rc;
    link_key(account, hash, key);
    rc = read_link(t, key, user_id);
    if (rc != 0)
        return rc;
    rc = user_exists(t, account, user_id);
    if (rc == 1)
        return 0;
    if (rc == 0)
        return STORE_NOTFOUND;
    return rc;
}

/* Calls `fn` for each link of the user to `issuer` (every issuer when
 * NULL) whose hash differs from `skip` (none skipped when NULL), until `fn`
 * returns nonzero. Visits at most 16 links per call, so callers that delete
 * walk again until none is left. Returns 0, the nonzero value of `fn`, or a
 * STORE_* error. */
typedef int (*link_fn)(store_txn *t, const uint8_t key[USER_KEY_LEN], void *arg);

static int walk_user_links(store_txn *t, const char *account, const char *user_id,
                           const char *issuer, const uint8_t *skip, link_fn fn, void *arg)
{
    uint8_t prefix[2 * ID], keys[16][USER_KEY_LEN];
    store_cursor *c;
    store_val k, v;
    size_t n = 0;
    memcpy(prefix, account, ID);
    memcpy(prefix + ID, user_id, ID);
    int rc = store_cursor_open(t, T_USER_SUBJECTS, &c);
    if (rc != 0)
        return rc;
    /* The keys are collected first because `fn` may delete entries, which
     * leaves the cursor position backend-defined. */
    for (rc = store_cursor_seek(c, prefix, sizeof prefix, &k, &v); rc == 0 && n < 16;
         rc = store_cursor_next(c, &k, &v)) {
        if (k.len != USER_KEY_LEN || memcmp(k.data, prefix, sizeof prefix) != 0)
            break;
        const uint8_t *hash = (const uint8_t *)k.data + 2 * ID;
        if (skip != NULL && memcmp(hash, skip, HASH_LEN) == 0)
            continue;
        if (issuer != NULL && (v.len != strlen(issuer) || memcmp(v.data, issuer, v.len) != 0))
            continue;
        memcpy(keys[n++], k.data, USER_KEY_LEN);
    }
    store_cursor_close(c);
    if (rc != 0 && rc != STORE_NOTFOUND)
        return rc;
    rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fn(t, keys[i], arg);
    return rc;
}

static int found_link(store_txn *t, const uint8_t key[USER_KEY_LEN], void *arg)
{
    (void)t;
    (void)key;
    *(int *)arg = 1;
    return 1;
}

int oidc_subject_other(store_txn *t, const char *account, const char *user_id, const char *issuer,
                       const char *sub, int *other)
{
    uint8_t hash[HASH_LEN];
    *other = 0;
    if (issuer == NULL || sub == NULL || !valid_ids(account, user_id))
        return STORE_INVALID;
    int rc = subject_hash(issuer, sub, hash);
    if (rc != 0)
        return rc;
    rc = walk_user_links(t, account, user_id, issuer, hash, found_link, other);
    return rc == 1 ? 0 : rc;
}

/* Deletes one link, given its T_USER_SUBJECTS key, in both tables. */
static int delete_link(store_txn *t, const uint8_t key[USER_KEY_LEN], void *arg)
{
    uint8_t forward[LINK_KEY_LEN];
    char linked_user[40];
    (void)arg;
    memcpy(forward, key, ID);
    memcpy(forward + ID, key + 2 * ID, HASH_LEN);
    /* The forward entry may already name another user, after a replace. */
    int rc = read_link(t, forward, linked_user);
    if (rc == 0 && memcmp(linked_user, key + ID, ID) == 0)
        rc = store_del(t, T_SUBJECTS, forward, sizeof forward);
    if (rc != 0 && rc != STORE_NOTFOUND && rc != STORE_IO)
        return rc;
    rc = store_del(t, T_USER_SUBJECTS, key, USER_KEY_LEN);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Deletes the user's links to `issuer` (NULL: to every issuer) except the
 * one with hash `keep` (NULL: none kept). */
static int delete_user_links(store_txn *t, const char *account, const char *user_id,
                             const char *issuer, const uint8_t *keep)
{
    int rc, found;
    do {
        found = 0;
        rc = walk_user_links(t, account, user_id, issuer, keep, found_link, &found);
        if (rc == 1)
            rc = 0;
        if (rc == 0 && found)
            rc = walk_user_links(t, account, user_id, issuer, keep, delete_link, NULL);
    } while (rc == 0 && found);
    return rc;
}

int oidc_subjects_unlink_user(store_txn *t, const char *account, const char *user_id)
{
    if (!valid_ids(account, user_id))
        return STORE_INVALID;
    return delete_user_links(t, account, user_id, NULL, NULL);
}

/* Appends {issuer, sub, created} of the link under `forward` to `links`
 * when the link names `user_id`. A missing or damaged record is skipped. */
static int append_link(store_txn *t, const uint8_t forward[LINK_KEY_LEN], const char *user_id,
                       json *links)
{
    store_val v;
    int rc = store_get(t, T_SUBJECTS, forward, LINK_KEY_LEN, &v);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    json *rec = json_parse(v.data, v.len, NULL, 0);
    const char *user = json_get_string(rec, "user");
    rc = 0;
    if (user != NULL && strcmp(user, user_id) == 0) {
        json *link = json_object();
        const json *created = json_object_get(rec, "created");
        char when[40] = "";

        /* Stored as Unix seconds, shown as RFC 3339 like every other time
         * the admin API and CLI print. */
        if (created && json_typeof(created) == JSON_NUMBER)
            audit_format_time(json_int_value(created) * 1000000, when, sizeof when);
        if (link == NULL || json_object_set(link, "issuer", json_copy(json_object_get(rec, "issuer"))) ||
            json_object_set(link, "sub", json_copy(json_object_get(rec, "sub"))) ||
            json_object_set(link, "created", when[0] ? json_string(when) : json_null()) ||
            json_array_append(links, link))
            rc = STORE_NOMEM;
    }
    json_free(rec);
    return rc;
}

int oidc_subjects_list_user(store_txn *t, const char *account, const char *user_id, json **out)
{
    uint8_t prefix[2 * ID], forward[LINK_KEY_LEN];
    store_cursor *c;
    store_val k, v;
    *out = NULL;
    if (!valid_ids(account, user_id))
        return STORE_INVALID;
    json *links = json_array();
    if (links == NULL)
        return STORE_NOMEM;
    memcpy(prefix, account, ID);
    memcpy(prefix + ID, user_id, ID);
    int rc = store_cursor_open(t, T_USER_SUBJECTS, &c);
    if (rc != 0) {
        json_free(links);
        return rc;
    }
    for (rc = store_cursor_seek(c, prefix, sizeof prefix, &k, &v); rc == 0;
         rc = store_cursor_next(c, &k, &v)) {
        if (k.len != USER_KEY_LEN || memcmp(k.data, prefix, sizeof prefix) != 0)
            break;
        link_key(account, (const uint8_t *)k.data + 2 * ID, forward);
        if ((rc = append_link(t, forward, user_id, links)) != 0)
            break;
    }
    store_cursor_close(c);
    if (rc != 0 && rc != STORE_NOTFOUND) {
        json_free(links);
        return rc;
    }
    *out = links;
    return 0;
}

static int put_link(store_txn *t, const char *account, const char *user_id, const char *issuer,
                    const char *sub, const uint8_t hash[HASH_LEN], int64_t now)
{
    uint8_t forward[LINK_KEY_LEN], reverse[USER_KEY_LEN];
    size_t len;
    json *rec = json_object();
    if (rec == NULL || json_object_set(rec, "user", json_string(user_id)) ||
        json_object_set(rec, "issuer", json_string(issuer)) ||
        json_object_set(rec, "sub", json_string(sub)) ||
        json_object_set(rec, "created", json_int(now))) {
        json_free(rec);
        return STORE_NOMEM;
    }
    char *text = json_dump(rec, &len);
    json_free(rec);
    if (text == NULL)
        return STORE_NOMEM;
    link_key(account, hash, forward);
    int rc = store_put(t, T_SUBJECTS, forward, sizeof forward, text, len, 0);
    free(text);
    if (rc != 0)
        return rc;
    user_key(account, user_id, hash, reverse);
    return store_put(t, T_USER_SUBJECTS, reverse, sizeof reverse, issuer, strlen(issuer), 0);
}

/* Removes the link of the subject with `hash` to `previous`, another user. */
static int unlink_previous(store_txn *t, const char *account, const char *previous,
                           const uint8_t hash[HASH_LEN])
{
    uint8_t forward[LINK_KEY_LEN], reverse[USER_KEY_LEN];
    link_key(account, hash, forward);
    user_key(account, previous, hash, reverse);
    int rc = store_del(t, T_USER_SUBJECTS, reverse, sizeof reverse);
    if (rc == 0 || rc == STORE_NOTFOUND)
        rc = store_del(t, T_SUBJECTS, forward, sizeof forward);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Returns 0 when the user exists and is active, STORE_NOTFOUND when it was
 * deleted or deactivated, or another STORE_* error. */
static int user_active(store_txn *t, const char *account, const char *user_id)
{
    json *user = NULL;
    int rc = oidc_user_read(t, account, user_id, &user);
    if (rc == 0 && !oidc_user_active(user))
        rc = STORE_NOTFOUND;
    json_free(user);
    return rc;
}

int oidc_subject_link(store_txn *t, const char *account, const char *user_id, const char *issuer,
                      const char *sub, int64_t now, int replace, oidc_link_result *result)
{
    uint8_t hash[HASH_LEN], forward[LINK_KEY_LEN];
    char linked[40];
    int other = 0;
    oidc_link_result ignored;
    if (result == NULL)
        result = &ignored;
    memset(result, 0, sizeof *result);
    if (issuer == NULL || sub == NULL || *sub == '\0' || !valid_ids(account, user_id))
        return STORE_INVALID;
    /* The caller read the user in an earlier transaction, and a SCIM delete
     * or deactivation may have run since. */
    int rc = user_active(t, account, user_id);
    if (rc != 0)
        return rc;
    rc = subject_hash(issuer, sub, hash);
    if (rc != 0)
        return rc;
    link_key(account, hash, forward);
    rc = read_link(t, forward, linked);
    if (rc == 0 && strcmp(linked, user_id) == 0)
        return 0;
    if (rc == 0) {
        /* Linked to another user: a deleted one does not count. */
        int exists = user_exists(t, account, linked);
        if (exists < 0)
            return exists;
        if (exists && !replace)
            return STORE_EXISTS;
        if (exists)
            memcpy(result->previous_user, linked, sizeof result->previous_user);
        rc = unlink_previous(t, account, linked, hash);
    } else if (rc == STORE_NOTFOUND || rc == STORE_IO) {
        rc = 0;
    }
    if (rc != 0)
        return rc;
    rc = walk_user_links(t, account, user_id, issuer, hash, found_link, &other);
    if (rc == 1)
        rc = 0;
    if (rc == 0 && other && !replace)
        return STORE_EXISTS;
    if (rc == 0 && other)
        rc = delete_user_links(t, account, user_id, issuer, hash);
    if (rc != 0)
        return rc;
    rc = put_link(t, account, user_id, issuer, sub, hash, now);
    result->created = rc == 0;
    return rc;
}
