#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "oidc/session.h"

void oidc_session_clear(oidc_session *s)
{
    free(s->issuer);
    free(s->sub);
    free(s->id_token);
    free(s->refresh);
    memset(s, 0, sizeof *s);
}

static void index_key(const char *account, const char *user, const uint8_t hash[32],
                      uint8_t key[2 * STORE_ID_LEN + 32])
{
    memcpy(key, account, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, user, STORE_ID_LEN);
    memcpy(key + 2 * STORE_ID_LEN, hash, 32);
}

static json *to_json(const oidc_session *s)
{
    json *j = json_object();
    if (j == NULL || json_object_set(j, "account", json_string(s->account)) ||
        json_object_set(j, "user", json_string(s->user)) ||
        json_object_set(j, "issuer", json_string(s->issuer ? s->issuer : "")) ||
        (s->sub && json_object_set(j, "sub", json_string(s->sub))) ||
        json_object_set(j, "created", json_int(s->created)) ||
        json_object_set(j, "expires", json_int(s->expires)) ||
        json_object_set(j, "last_seen", json_int(s->last_seen)) ||
        json_object_set(j, "idle", json_int(s->idle)) ||
        json_object_set(j, "next_check", json_int(s->next_check)) ||
        json_object_set(j, "id_token", json_string(s->id_token ? s->id_token : "")) ||
        (s->refresh && json_object_set(j, "refresh", json_string(s->refresh)))) {
        json_free(j);
        return NULL;
    }
    return j;
}

int oidc_session_put(store_txn *t, const char *id, const oidc_session *s)
{
    uint8_t hash[32], ikey[2 * STORE_ID_LEN + 32];
    size_t len;
    if (strlen(s->account) != STORE_ID_LEN || strlen(s->user) != STORE_ID_LEN)
        return STORE_INVALID;
    json *j = to_json(s);
    char *text = j ? json_dump(j, &len) : NULL;
    json_free(j);
    if (text == NULL)
        return STORE_NOMEM;
    crypto_sha256(id, strlen(id), hash);
    int rc = store_put(t, T_SESSIONS, hash, sizeof hash, text, len, 0);
    free(text);
    if (rc != 0)
        return rc;
    index_key(s->account, s->user, hash, ikey);
    return store_put(t, T_USER_SESSIONS, ikey, sizeof ikey, "", 0, 0);
}

static char *dup_member(const json *j, const char *name)
{
    const char *v = json_get_string(j, name);
    return v && *v ? strdup(v) : NULL;
}

static int parse(const store_val *v, oidc_session *out)
{
    memset(out, 0, sizeof *out);
    json *j = json_parse(v->data, v->len, NULL, 0);
    const char *account = json_get_string(j, "account"), *user = json_get_string(j, "user");
    if (!account || !user || strlen(account) != STORE_ID_LEN || strlen(user) != STORE_ID_LEN) {
        json_free(j);
        return STORE_IO;
    }
    memcpy(out->account, account, STORE_ID_LEN + 1);
    memcpy(out->user, user, STORE_ID_LEN + 1);
    out->issuer = dup_member(j, "issuer");
    out->sub = dup_member(j, "sub");
    out->id_token = dup_member(j, "id_token");
    out->refresh = dup_member(j, "refresh");
    out->created = json_int_value(json_object_get(j, "created"));
    out->expires = json_int_value(json_object_get(j, "expires"));
    out->last_seen = json_int_value(json_object_get(j, "last_seen"));
    out->idle = json_int_value(json_object_get(j, "idle"));
    out->next_check = json_int_value(json_object_get(j, "next_check"));
    json_free(j);
    return 0;
}

static int get_by_hash(store_txn *t, const uint8_t hash[32], oidc_session *out)
{
    store_val v;
    int rc = store_get(t, T_SESSIONS, hash, 32, &v);
    if (rc != 0) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    return parse(&v, out);
}

int oidc_session_get(store_txn *t, const char *id, oidc_session *out)
{
    uint8_t hash[32];
    crypto_sha256(id, strlen(id), hash);
    return get_by_hash(t, hash, out);
}

static int delete_by_hash(store_txn *t, const uint8_t hash[32])
{
    oidc_session s;
    uint8_t ikey[2 * STORE_ID_LEN + 32];
    int rc = get_by_hash(t, hash, &s);
    if (rc == STORE_IO)
        return store_del(t, T_SESSIONS, hash, 32);
    if (rc != 0)
        return rc;
    index_key(s.account, s.user, hash, ikey);
    oidc_session_clear(&s);
    rc = store_del(t, T_USER_SESSIONS, ikey, sizeof ikey);
    if (rc != 0 && rc != STORE_NOTFOUND)
        return rc;
    return store_del(t, T_SESSIONS, hash, 32);
}

int oidc_session_delete_hash(store_txn *t, const uint8_t hash[32])
{
    return delete_by_hash(t, hash);
}

int oidc_session_delete(store_txn *t, const char *id)
{
    uint8_t hash[32];
    crypto_sha256(id, strlen(id), hash);
    return delete_by_hash(t, hash);
}

int oidc_token_mark_seen(store_txn *t, const char *id_token, int64_t until)
{
    uint8_t hash[32];
    crypto_sha256(id_token, strlen(id_token), hash);
    return store_put(t, T_TOKENS_SEEN, hash, sizeof hash, &until, sizeof until,
                     STORE_NOOVERWRITE);
}

int oidc_session_expired(const oidc_session *s, int64_t now)
{
    return now >= s->expires || (s->idle > 0 && now >= s->last_seen + s->idle);
}

/* Deletes every session whose index key starts with `prefix`. */
static int revoke_prefix(store_txn *t, const uint8_t *prefix, size_t plen)
{
    store_cursor *c;
    store_val k, v;
    int rc = store_cursor_open(t, T_USER_SESSIONS, &c);
    if (rc != 0)
        return rc;
    for (rc = store_cursor_seek(c, prefix, plen, &k, &v); rc == 0;) {
        if (k.len != 2 * STORE_ID_LEN + 32 || memcmp(k.data, prefix, plen) != 0)
            break;
        uint8_t hash[32];
        memcpy(hash, (const uint8_t *)k.data + 2 * STORE_ID_LEN, 32);
        rc = store_del(t, T_SESSIONS, hash, 32);
        if (rc != 0 && rc != STORE_NOTFOUND)
            break;
        rc = store_cursor_del(c);
        if (rc != 0)
            break;
        /* Seek again because a delete leaves the cursor position backend-defined. */
        rc = store_cursor_seek(c, prefix, plen, &k, &v);
    }
    store_cursor_close(c);
    return rc == STORE_NOTFOUND || rc == 0 ? 0 : rc;
}

int oidc_sessions_revoke_user(store_txn *t, const char *account, const char *user_id)
{
    uint8_t prefix[2 * STORE_ID_LEN];
    if (strlen(account) != STORE_ID_LEN || strlen(user_id) != STORE_ID_LEN)
        return STORE_INVALID;
    memcpy(prefix, account, STORE_ID_LEN);
    memcpy(prefix + STORE_ID_LEN, user_id, STORE_ID_LEN);
    return revoke_prefix(t, prefix, sizeof prefix);
}

int oidc_sessions_revoke_account(store_txn *t, const char *account)
{
    if (strlen(account) != STORE_ID_LEN)
        return STORE_INVALID;
    return revoke_prefix(t, (const uint8_t *)account, STORE_ID_LEN);
}
