#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "oidc/oidc.h"
#include "oidc/oidc_const.h"
#include "oidc/tx.h"

/* Maximum length of a state in the associated data. The callback rejects
 * longer states before opening a cookie. */
#define STATE_MAX 512

/* First character of a cookie value that names its key. A secretbox starts
 * with "v", so values of earlier builds never start with it. */
#define KEY_ID_MARK 'k'

void oidc_tx_clear(oidc_tx *tx)
{
    free(tx->nonce);
    free(tx->verifier);
    free(tx->target);
    memset(tx, 0, sizeof *tx);
}

void oidc_tx_key(const char *state, uint8_t key[32])
{
    crypto_sha256(state, strlen(state), key);
}

void oidc_tx_set_issuer(oidc_tx *tx, const char *issuer)
{
    oidc_sha256_hex(issuer, tx->issuer_sha256);
}

int oidc_tx_issuer_is(const oidc_tx *tx, const char *issuer)
{
    char hex[65];
    oidc_sha256_hex(issuer, hex);
    return strcmp(hex, tx->issuer_sha256) == 0;
}

int oidc_tx_slot(const char *state)
{
    uint8_t hash[32];
    crypto_sha256(state, strlen(state), hash);
    return hash[0] % OIDC_TX_SLOTS;
}

void oidc_tx_cookie_name(const char *state, char out[32])
{
    snprintf(out, 32, "%s%d", OIDC_COOKIE_TX, oidc_tx_slot(state));
}

void oidc_tx_legacy_cookie_name(const char *state, char out[32])
{
    char hex[65];
    oidc_sha256_hex(state, hex);
    snprintf(out, 32, "%s%.8s", OIDC_COOKIE_TX, hex);
}

/* Associated data of a sealed transaction: the purpose and the state. */
static int associated_data(const char *state, char out[STATE_MAX + 16])
{
    if (strlen(state) > STATE_MAX)
        return SECRETBOX_ERR_FORMAT;
    snprintf(out, STATE_MAX + 16, "login-tx:%s", state);
    return 0;
}

int oidc_tx_seal(const oidc_login_keys *keys, const char *state, const oidc_tx *tx, char **out)
{
    char aad[STATE_MAX + 16];
    int rc = associated_data(state, aad);
    if (rc != 0)
        return rc;
    json *j = json_object();
    if (j == NULL || json_object_set(j, "account", json_string(tx->account)) ||
        json_object_set(j, "issuer_sha256", json_string(tx->issuer_sha256)) ||
        json_object_set(j, "nonce", json_string(tx->nonce)) ||
        json_object_set(j, "verifier", json_string(tx->verifier)) ||
        json_object_set(j, "target", json_string(tx->target ? tx->target : "")) ||
        json_object_set(j, "expires", json_int(tx->expires))) {
        json_free(j);
        return SECRETBOX_ERR_NOMEM;
    }
    size_t len;
    char *text = json_dump(j, &len);
    json_free(j);
    if (text == NULL)
        return SECRETBOX_ERR_NOMEM;
    char *box = NULL;
    rc = secretbox_seal(&keys->current, aad, text, len, &box);
    secretbox_wipe(text, len);
    if (rc != 0)
        return rc;
    size_t size = strlen(box) + 32;
    if ((*out = malloc(size)) == NULL) {
        free(box);
        return SECRETBOX_ERR_NOMEM;
    }
    snprintf(*out, size, "%c%lld.%s", KEY_ID_MARK, (long long)keys->created, box);
    free(box);
    return 0;
}

/* Returns the secretbox part of a cookie value, after its key id if any. */
static const char *box_of(const char *sealed)
{
    if (sealed[0] != KEY_ID_MARK)
        return sealed;
    const char *dot = strchr(sealed, '.');
    return dot ? dot + 1 : sealed;
}

int64_t oidc_tx_key_id(const char *sealed)
{
    if (sealed[0] != KEY_ID_MARK)
        return 0;
    size_t digits = strspn(sealed + 1, "0123456789");
    if (digits == 0 || digits > 18 || sealed[1 + digits] != '.')
        return 0;
    return strtoll(sealed + 1, NULL, 10);
}

static char *dup_member(const json *j, const char *name)
{
    const char *v = json_get_string(j, name);
    return v ? strdup(v) : NULL;
}

/* Fills `out` from the opened JSON. Returns 0 or SECRETBOX_ERR_FORMAT. */
static int parse_tx(const uint8_t *text, size_t len, oidc_tx *out)
{
    json *j = json_parse((const char *)text, len, NULL, 0);
    const char *account = json_get_string(j, "account");
    if (account == NULL || strlen(account) != STORE_ID_LEN) {
        json_free(j);
        return SECRETBOX_ERR_FORMAT;
    }
    memcpy(out->account, account, STORE_ID_LEN + 1);
    /* Earlier builds sealed the issuer itself. */
    const char *issuer = json_get_string(j, "issuer");
    const char *issuer_sha256 = json_get_string(j, "issuer_sha256");
    if (issuer != NULL)
        oidc_tx_set_issuer(out, issuer);
    else if (issuer_sha256 != NULL && strlen(issuer_sha256) == 64)
        memcpy(out->issuer_sha256, issuer_sha256, 65);
    out->nonce = dup_member(j, "nonce");
    out->verifier = dup_member(j, "verifier");
    out->target = dup_member(j, "target");
    out->expires = json_int_value(json_object_get(j, "expires"));
    json_free(j);
    if (!out->issuer_sha256[0] || !out->nonce || !out->verifier || !out->target) {
        oidc_tx_clear(out);
        return SECRETBOX_ERR_FORMAT;
    }
    return 0;
}

int oidc_tx_open(const oidc_login_keys *keys, const char *state, const char *sealed,
                 oidc_tx *out)
{
    char aad[STATE_MAX + 16];
    uint8_t *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = associated_data(state, aad);
    if (rc != 0)
        return rc;
    const char *box = box_of(sealed);
    rc = secretbox_open(&keys->current, aad, box, &text, &len);
    if (rc == SECRETBOX_ERR_AUTH && keys->has_previous)
        rc = secretbox_open(&keys->previous, aad, box, &text, &len);
    if (rc != 0)
        return rc;
    rc = parse_tx(text, len, out);
    secretbox_wipe(text, len);
    return rc;
}

int oidc_tx_mark_used(store_txn *t, const char *state, const oidc_tx *tx, long clock_skew)
{
    uint8_t key[32];
    char value[128];
    /* "account" lets account deletion find the record, and "expires" lets
     * the sweep remove it. */
    int len = snprintf(value, sizeof value, "{\"account\":\"%s\",\"expires\":%lld}", tx->account,
                       (long long)(tx->expires + clock_skew));
    oidc_tx_key(state, key);
    return store_put(t, T_LOGINS, key, sizeof key, value, (size_t)len, STORE_NOOVERWRITE);
}

int oidc_tx_used(store_txn *t, const char *state)
{
    uint8_t key[32];
    store_val v;
    oidc_tx_key(state, key);
    int rc = store_get(t, T_LOGINS, key, sizeof key, &v);
    if (rc == STORE_NOTFOUND)
        return 0;
    return rc == 0 ? 1 : rc;
}
