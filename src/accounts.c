#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "admin/ops.h"
#include "audit.h"
#include "crypto.h"

#define MAX_DOMAIN 253

const char *accounts_strerror(int err)
{
    switch (err) {
    case ACCOUNTS_INVALID_NAME:
        return "invalid account name: expected 1 to 200 bytes without control characters";
    case ACCOUNTS_INVALID_DOMAIN:
        return "invalid domain: expected a DNS name such as example.com";
    case ACCOUNTS_DOMAIN_TAKEN:
        return "the domain is verified by another account";
    default:
        return store_strerror(err);
    }
}

static int name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > ACCOUNT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return 0;
    }
    return 1;
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

/* Writes the unverified claim in the layout of the admin API's domain
 * records: {account, domain, token, verified, created}. */
/* Records a pending claim on `domain` for `account` in T_ACCOUNT_DOMAINS,
 * the layout the admin area uses. Any number of accounts may hold a pending
 * claim; only a domain another account has already verified is refused. */
static int claim_domain(store_txn *t, const char *account, const char *domain, const char *when)
{
    char key[STORE_ID_LEN + MAX_DOMAIN + 1];
    char *token = crypto_token("", 24);
    json *rec = json_object();
    json *owner = NULL;
    store_val v;
    int rc = STORE_NOMEM;

    if (!token || !rec)
        goto out;
    rc = store_get(t, T_DOMAINS, domain, strlen(domain), &v);
    if (rc == 0) {
        owner = json_parse(v.data, v.len, NULL, 0);
        if (owner && json_bool_value(json_object_get(owner, "verified"))) {
            rc = ACCOUNTS_DOMAIN_TAKEN;
            goto out;
        }
    } else if (rc != STORE_NOTFOUND) {
        goto out;
    }
    json_object_set(rec, "account", json_string(account));
    json_object_set(rec, "domain", json_string(domain));
    json_object_set(rec, "token", json_string(token));
    json_object_set(rec, "verified", json_bool(0));
    json_object_set(rec, "created", json_string(when));
    memcpy(key, account, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, domain, strlen(domain));
    rc = put_json(t, T_ACCOUNT_DOMAINS, key, STORE_ID_LEN + strlen(domain), rec, 0);

out:
    free(token);
    json_free(rec);
    json_free(owner);
    return rc;
}

static json *new_account(const char *id, const char *name, const char *when)
{
    json *acc = json_object();
    if (!acc)
        return NULL;
    if (json_object_set(acc, "id", json_string(id)) || json_object_set(acc, "name", json_string(name)) ||
        json_object_set(acc, "created", json_string(when))) {
        json_free(acc);
        return NULL;
    }
    return acc;
}

static int audit_created(store_txn *t, const char *actor, const json *acc, const char *domain)
{
    json *d = json_object();
    int rc;
    if (!d)
        return STORE_NOMEM;
    json_object_set(d, "name", json_copy(json_object_get(acc, "name")));
    if (domain)
        json_object_set(d, "domain", json_string(domain));
    rc = audit_record(t, json_get_string(acc, "id"), AUDIT_ACCOUNT_CREATED, actor, d);
    json_free(d);
    return rc;
}

int accounts_create_txn(store_txn *t, const char *actor, const char *name, const char *domain,
                        json **out)
{
    char id[37];
    char when[40];
    char normalized[MAX_DOMAIN + 2];
    json *acc = NULL;
    int rc;

    *out = NULL;
    if (!name_ok(name))
        return ACCOUNTS_INVALID_NAME;
    if (domain && admin_domain_normalize(domain, normalized, sizeof(normalized)) != 0)
        return ACCOUNTS_INVALID_DOMAIN;
    if (crypto_uuid7(id) != 0)
        return STORE_IO;
    audit_format_time(audit_now_usec(), when, sizeof(when));
    acc = new_account(id, name, when);
    if (!acc)
        return STORE_NOMEM;
    rc = put_json(t, T_ACCOUNTS, id, STORE_ID_LEN, acc, STORE_NOOVERWRITE);
    if (rc == 0 && domain)
        rc = claim_domain(t, id, normalized, when);
    if (rc == 0)
        rc = audit_created(t, actor, acc, domain ? normalized : NULL);
    if (rc != 0) {
        json_free(acc);
        return rc;
    }
    *out = acc;
    return 0;
}

typedef struct create_job {
    const char *actor;
    const char *name;
    const char *domain;
    json *result;
} create_job;

static int run_create(store_txn *t, void *arg)
{
    create_job *j = arg;
    return accounts_create_txn(t, j->actor, j->name, j->domain, &j->result);
}

int accounts_create(store *s, const char *actor, const char *name, const char *domain,
                    json **out)
{
    create_job j = {actor, name, domain, NULL};
    int rc = store_run(s, run_create, &j);
    if (rc != 0) {
        json_free(j.result);
        j.result = NULL;
    }
    *out = j.result;
    return rc;
}

int accounts_get(store_txn *t, const char *id, json **out)
{
    store_val v;
    int rc;

    *out = NULL;
    if (!id || strlen(id) != STORE_ID_LEN)
        return STORE_NOTFOUND;
    rc = store_get(t, T_ACCOUNTS, id, STORE_ID_LEN, &v);
    if (rc != 0)
        return rc;
    *out = json_parse(v.data, v.len, NULL, 0);
    return *out ? 0 : STORE_IO;
}

int accounts_exists(store_txn *t, const char *id)
{
    store_val v;
    if (!id || strlen(id) != STORE_ID_LEN)
        return 0;
    return store_get(t, T_ACCOUNTS, id, STORE_ID_LEN, &v) == 0;
}

int accounts_list(store_txn *t, json **out)
{
    store_cursor *c = NULL;
    store_val k, v;
    json *list = json_array();
    int rc;

    *out = NULL;
    if (!list)
        return STORE_NOMEM;
    rc = store_cursor_open(t, T_ACCOUNTS, &c);
    if (rc != 0)
        goto out;
    for (rc = store_cursor_seek(c, "", 0, &k, &v); rc == 0; rc = store_cursor_next(c, &k, &v)) {
        json *acc = json_parse(v.data, v.len, NULL, 0);
        if (!acc || json_array_append(list, acc) != 0) {
            rc = acc ? STORE_NOMEM : STORE_IO;
            goto out;
        }
    }
    if (rc == STORE_NOTFOUND)
        rc = 0;

out:
    store_cursor_close(c);
    if (rc != 0) {
        json_free(list);
        return rc;
    }
    *out = list;
    return 0;
}
