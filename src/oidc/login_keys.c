#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "json.h"
#include "app.h"
#include "log.h"
#include "oidc/login_keys.h"
#include "oidc/oidc.h"

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

int oidc_login_keys_read(store_txn *t, oidc_login_keys *out)
{
    store_val v;
    memset(out, 0, sizeof *out);
    int rc = store_get(t, T_META, OIDC_LOGIN_KEYS_NAME, strlen(OIDC_LOGIN_KEYS_NAME), &v);
    if (rc != 0)
        return rc;
    json *j = json_parse(v.data, v.len, NULL, 0);
    if (j == NULL)
        return STORE_IO;
    rc = decode_key(json_get_string(j, "current"), &out->current);
    out->created = json_int_value(json_object_get(j, "created"));
    const char *previous = json_get_string(j, "previous");
    if (rc == 0 && previous != NULL) {
        rc = decode_key(previous, &out->previous);
        out->has_previous = rc == 0;
    }
    json_free(j);
    if (rc != 0)
        oidc_login_keys_wipe(out);
    return rc;
}

/* Adds `key` to `j` as unpadded base64url under `name`. Returns 0 or -1. */
static int set_key(json *j, const char *name, const secretbox_key *key)
{
    char *text = crypto_b64url(key->bytes, sizeof key->bytes);
    int rc = text != NULL && json_object_set(j, name, json_string(text)) == 0 ? 0 : -1;
    if (text != NULL)
        secretbox_wipe(text, strlen(text));
    return rc;
}

static int write_keys(store_txn *t, const oidc_login_keys *keys)
{
    json *j = json_object();
    if (j == NULL || set_key(j, "current", &keys->current) != 0 ||
        json_object_set(j, "created", json_int(keys->created)) != 0 ||
        (keys->has_previous && set_key(j, "previous", &keys->previous) != 0)) {
        json_free(j);
        return STORE_NOMEM;
    }
    size_t len;
    char *text = json_dump(j, &len);
    json_free(j);
    if (text == NULL)
        return STORE_NOMEM;
    int rc = store_put(t, T_META, OIDC_LOGIN_KEYS_NAME, strlen(OIDC_LOGIN_KEYS_NAME), text, len,
                       0);
    secretbox_wipe(text, len);
    return rc;
}

int oidc_login_keys_update(store_txn *t, int64_t now, oidc_login_keys *out)
{
    oidc_login_keys keys;
    int rc = oidc_login_keys_read(t, &keys);
    if (rc == 0 && !oidc_login_keys_due(&keys, now)) {
        *out = keys;
        oidc_login_keys_wipe(&keys);
        return 0;
    }
    if (rc != 0 && rc != STORE_NOTFOUND && rc != STORE_IO)
        return rc;
    /* A damaged record (STORE_IO) is replaced, which only ends the sign-ins
     * in progress. */
    if (rc == 0) {
        keys.previous = keys.current;
        keys.has_previous = 1;
    } else {
        memset(&keys, 0, sizeof keys);
    }
    keys.created = now;
    if (crypto_random(keys.current.bytes, sizeof keys.current.bytes) != 0) {
        oidc_login_keys_wipe(&keys);
        return STORE_IO;
    }
    rc = write_keys(t, &keys);
    if (rc == 0)
        *out = keys;
    oidc_login_keys_wipe(&keys);
    return rc;
}

int oidc_login_keys_due(const oidc_login_keys *keys, int64_t now)
{
    return now - keys->created >= OIDC_LOGIN_KEY_LIFETIME ||
           keys->created - now >= OIDC_LOGIN_KEY_LIFETIME;
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

const oidc_login_keys *oidc_login_keys_cached(oidc_state *st, int64_t now, int reread)
{
    int64_t age = now - st->login_keys_read_at;
    if (st->login_keys != NULL && age >= 0 && age < OIDC_LOGIN_KEYS_CACHE_SECONDS &&
        !(reread && age >= 1))
        return st->login_keys;
    store_txn *t;
    oidc_login_keys keys;
    if (store_read_begin(st->app->store, &t) != 0)
        return st->login_keys;
    int rc = oidc_login_keys_read(t, &keys);
    store_read_end(t);
    if (rc == STORE_IO)
        log_event(LOG_WARN, "the stored sign-in cookie keys are damaged; the next sign-in "
                            "replaces them",
                  NULL);
    if (rc != 0 || oidc_login_keys_cache(st, &keys, now) != 0) {
        oidc_login_keys_wipe(&keys);
        return st->login_keys;
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
