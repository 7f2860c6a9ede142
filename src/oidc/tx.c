#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "oidc/oidc.h"
#include "oidc/tx.h"

void oidc_tx_clear(oidc_tx *tx)
{
    free(tx->issuer);
    free(tx->nonce);
    free(tx->verifier);
    free(tx->target);
    free(tx->binding);
    memset(tx, 0, sizeof *tx);
}

void oidc_tx_key(const char *state, uint8_t key[32])
{
    crypto_sha256(state, strlen(state), key);
}

void oidc_tx_cookie_name(const char *state, char out[32])
{
    char hex[65];
    oidc_sha256_hex(state, hex);
    snprintf(out, 32, "idgate_tx_%.8s", hex);
}

int oidc_tx_put(store_txn *t, const char *state, const oidc_tx *tx)
{
    uint8_t key[32];
    json *j = json_object();
    if (j == NULL || json_object_set(j, "account", json_string(tx->account)) ||
        json_object_set(j, "issuer", json_string(tx->issuer)) ||
        json_object_set(j, "nonce", json_string(tx->nonce)) ||
        json_object_set(j, "verifier", json_string(tx->verifier)) ||
        json_object_set(j, "target", json_string(tx->target ? tx->target : "")) ||
        json_object_set(j, "binding", json_string(tx->binding)) ||
        json_object_set(j, "expires", json_int(tx->expires))) {
        json_free(j);
        return STORE_NOMEM;
    }
    size_t len;
    char *text = json_dump(j, &len);
    json_free(j);
    if (text == NULL)
        return STORE_NOMEM;
    oidc_tx_key(state, key);
    int rc = store_put(t, T_LOGINS, key, sizeof key, text, len, STORE_NOOVERWRITE);
    free(text);
    return rc;
}

static char *dup_member(const json *j, const char *name)
{
    const char *v = json_get_string(j, name);
    return v ? strdup(v) : NULL;
}

int oidc_tx_get(store_txn *t, const char *state, oidc_tx *out)
{
    uint8_t key[32];
    store_val v;
    memset(out, 0, sizeof *out);
    oidc_tx_key(state, key);
    int rc = store_get(t, T_LOGINS, key, sizeof key, &v);
    if (rc != 0)
        return rc;
    json *j = json_parse(v.data, v.len, NULL, 0);
    const char *account = json_get_string(j, "account");
    if (account == NULL || strlen(account) != STORE_ID_LEN) {
        json_free(j);
        return STORE_IO;
    }
    memcpy(out->account, account, STORE_ID_LEN + 1);
    out->issuer = dup_member(j, "issuer");
    out->nonce = dup_member(j, "nonce");
    out->verifier = dup_member(j, "verifier");
    out->target = dup_member(j, "target");
    out->binding = dup_member(j, "binding");
    out->expires = json_int_value(json_object_get(j, "expires"));
    json_free(j);
    if (!out->issuer || !out->nonce || !out->verifier || !out->target || !out->binding) {
        oidc_tx_clear(out);
        return STORE_IO;
    }
    return 0;
}

int oidc_tx_take(store_txn *t, const char *state)
{
    uint8_t key[32];
    oidc_tx_key(state, key);
    return store_del(t, T_LOGINS, key, sizeof key);
}
