#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_const.h"
#include "admin/ops.h"
#include "audit.h"
#include "crypto.h"

#define ID STORE_ID_LEN
#define MAX_DOMAIN 253

int admin_domain_normalize(const char *in, char *out, size_t len)
{
    size_t n = in ? strlen(in) : 0, label = 0, labels = 1;

    if (n && in[n - 1] == '.')
        n--;
    if (n == 0 || n > MAX_DOMAIN || n + 1 > len)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = (char)tolower((unsigned char)in[i]);

        if (ch == '.') {
            if (label == 0 || out[i - 1] == '-')
                return -1;
            label = 0;
            labels++;
        } else if (isalnum((unsigned char)ch) || ch == '-') {
            if (ch == '-' && label == 0)
                return -1;
            if (++label > 63)
                return -1;
        } else {
            return -1;
        }
        out[i] = ch;
    }
    out[n] = 0;
    if (label == 0 || out[n - 1] == '-' || labels < 2)
        return -1;
    return 0;
}

/* The public view of a stored domain record: the token appears only inside
 * the TXT record to publish. */
static json *domain_view(const json *rec)
{
    const char *domain = json_get_string(rec, "domain");
    const char *token = json_get_string(rec, "token");
    char name[MAX_DOMAIN + 64], value[128];
    json *out = json_object(), *record = json_object();

    snprintf(name, sizeof name, "%s%s", ADMIN_CHALLENGE_LABEL, domain ? domain : "");
    snprintf(value, sizeof value, "%s%s", ADMIN_CHALLENGE_PREFIX, token ? token : "");
    if (!out || !record || json_object_set(record, "type", json_string("TXT")) ||
        json_object_set(record, "name", json_string(name)) ||
        json_object_set(record, "value", json_string(value))) {
        json_free(out);
        json_free(record);
        return NULL;
    }
    json_object_set(out, "domain", json_string(domain ? domain : ""));
    json_object_set(out, "verified", json_bool(json_bool_value(json_object_get(rec, "verified"))));
    json_object_set(out, "record", record);
    json_object_set(out, "created", json_copy(json_object_get(rec, "created")));
    if (json_object_get(rec, "verified_at"))
        json_object_set(out, "verified_at", json_copy(json_object_get(rec, "verified_at")));
    return out;
}

static int read_record(store_txn *t, const char *domain, json **out)
{
    store_val v;
    int rc = store_get(t, T_DOMAINS, domain, strlen(domain), &v);

    *out = NULL;
    if (rc)
        return rc;
    *out = json_parse(v.data, v.len, NULL, 0);
    return *out ? 0 : STORE_IO;
}

static int write_record(store_txn *t, const json *rec)
{
    const char *domain = json_get_string(rec, "domain");
    size_t len;
    char *text = json_dump(rec, &len);
    int rc;

    if (!text)
        return STORE_NOMEM;
    rc = store_put(t, T_DOMAINS, domain, strlen(domain), text, len, 0);
    free(text);
    return rc;
}

static int audit_domain(store_txn *t, admin_call *call, const char *kind, const char *domain)
{
    json *d = json_object();
    int rc;

    if (!d)
        return STORE_NOMEM;
    json_object_set(d, "domain", json_string(domain));
    rc = audit_record(t, call->account, kind, call->actor, d);
    json_free(d);
    return rc;
}

static json *new_record(const char *account, const char *domain)
{
    char when[40];
    char *token = crypto_token("", 24);
    json *rec = json_object();

    audit_format_time(audit_now_usec(), when, sizeof when);
    if (!token || !rec) {
        free(token);
        json_free(rec);
        return NULL;
    }
    json_object_set(rec, "account", json_string(account));
    json_object_set(rec, "domain", json_string(domain));
    json_object_set(rec, "token", json_string(token));
    json_object_set(rec, "verified", json_bool(0));
    json_object_set(rec, "created", json_string(when));
    free(token);
    return rec;
}

int admin_domain_add(store_txn *t, admin_call *call)
{
    const char *in = json_get_string(call->input, "domain");
    char domain[MAX_DOMAIN + 2], key[ID + MAX_DOMAIN + 2];
    json *rec = NULL;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    if (!in)
        return admin_fail(call, 400, "missing \"domain\"");
    if (admin_domain_normalize(in, domain, sizeof domain))
        return admin_fail(call, 400, "invalid domain: %s (expected a DNS name such as example.com)",
                          in);
    rc = read_record(t, domain, &rec);
    if (rc == 0) {
        const char *owner = json_get_string(rec, "account");
        int mine = owner && !strcmp(owner, call->account);
        json_free(rec);
        if (!mine)
            return admin_fail(call, 409, "domain %s is already claimed by another account", domain);
        return admin_fail(call, 409, "domain %s is already claimed by this account", domain);
    }
    if (rc != STORE_NOTFOUND)
        return admin_store_fail(call, rc, "domain");
    rec = new_record(call->account, domain);
    if (!rec)
        return admin_fail(call, 500, "out of memory");
    memcpy(key, call->account, ID);
    memcpy(key + ID, domain, strlen(domain));
    rc = write_record(t, rec);
    if (rc == 0)
        rc = store_put(t, T_ACCOUNT_DOMAINS, key, ID + strlen(domain), "", 0, 0);
    if (rc == 0)
        rc = audit_domain(t, call, AUDIT_DOMAIN_ADDED, domain);
    if (rc) {
        json_free(rec);
        return admin_store_fail(call, rc, "domain");
    }
    rc = admin_ok(call, 201, domain_view(rec));
    json_free(rec);
    return rc;
}

int admin_domain_list(store_txn *t, admin_call *call)
{
    store_cursor *c = NULL;
    store_val k, v;
    json *arr;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    arr = json_array();
    rc = arr ? store_cursor_open(t, T_ACCOUNT_DOMAINS, &c) : STORE_NOMEM;
    for (rc = rc ? rc : store_cursor_seek(c, call->account, ID, &k, &v);
         rc == 0 && k.len > ID && !memcmp(k.data, call->account, ID);
         rc = store_cursor_next(c, &k, &v)) {
        char domain[MAX_DOMAIN + 2];
        json *rec;

        if (k.len - ID > MAX_DOMAIN)
            continue;
        memcpy(domain, (const char *)k.data + ID, k.len - ID);
        domain[k.len - ID] = 0;
        if (read_record(t, domain, &rec) == 0) {
            json_array_append(arr, domain_view(rec));
            json_free(rec);
        }
    }
    store_cursor_close(c);
    if (rc && rc != STORE_NOTFOUND) {
        json_free(arr);
        return admin_store_fail(call, rc, "domains");
    }
    return admin_ok(call, 200, arr);
}

/* Reads the account's own record of args[0] into `*rec`, or fails 404. */
static int own_record(store_txn *t, admin_call *call, char *domain, size_t len, json **rec)
{
    const char *owner;
    int rc;

    *rec = NULL;
    if (admin_account_exists(t, call))
        return -1;
    if (!call->args[0] || admin_domain_normalize(call->args[0], domain, len))
        return admin_fail(call, 404, "domain not found: %s", call->args[0] ? call->args[0] : "");
    rc = read_record(t, domain, rec);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "domain not found: %s", domain);
    if (rc)
        return admin_store_fail(call, rc, "domain");
    owner = json_get_string(*rec, "account");
    if (!owner || strcmp(owner, call->account)) {
        json_free(*rec);
        *rec = NULL;
        return admin_fail(call, 404, "domain not found: %s", domain);
    }
    return 0;
}

int admin_domain_get(store_txn *t, admin_call *call)
{
    char domain[MAX_DOMAIN + 2];
    json *rec;
    int rc;

    if (own_record(t, call, domain, sizeof domain, &rec))
        return -1;
    rc = admin_ok(call, 200, domain_view(rec));
    json_free(rec);
    return rc;
}

int admin_domain_remove(store_txn *t, admin_call *call)
{
    char domain[MAX_DOMAIN + 2], key[ID + MAX_DOMAIN + 2];
    json *rec;
    int rc;

    if (own_record(t, call, domain, sizeof domain, &rec))
        return -1;
    json_free(rec);
    memcpy(key, call->account, ID);
    memcpy(key + ID, domain, strlen(domain));
    rc = store_del(t, T_DOMAINS, domain, strlen(domain));
    if (rc == 0 || rc == STORE_NOTFOUND)
        rc = store_del(t, T_ACCOUNT_DOMAINS, key, ID + strlen(domain));
    if (rc == STORE_NOTFOUND)
        rc = 0;
    if (rc == 0)
        rc = audit_domain(t, call, AUDIT_DOMAIN_REMOVED, domain);
    if (rc)
        return admin_store_fail(call, rc, "domain");
    return admin_ok(call, 200, json_object());
}

int admin_domain_mark(store_txn *t, admin_call *call)
{
    char domain[MAX_DOMAIN + 2], when[40];
    const char *expected = call->args[1];
    json *rec;
    int rc;

    if (own_record(t, call, domain, sizeof domain, &rec))
        return -1;

    /* The lookup ran outside this transaction: check that the token it
     * matched is still the one on record. */
    if (!expected || !json_get_string(rec, "token") ||
        strcmp(expected, json_get_string(rec, "token"))) {
        json_free(rec);
        return admin_fail(call, 409, "domain %s changed during verification; try again", domain);
    }
    if (!json_bool_value(json_object_get(rec, "verified"))) {
        audit_format_time(audit_now_usec(), when, sizeof when);
        json_object_set(rec, "verified", json_bool(1));
        json_object_set(rec, "verified_at", json_string(when));
        rc = write_record(t, rec);
        if (rc == 0)
            rc = audit_domain(t, call, AUDIT_DOMAIN_VERIFIED, domain);
        if (rc) {
            json_free(rec);
            return admin_store_fail(call, rc, "domain");
        }
    }
    rc = admin_ok(call, 200, domain_view(rec));
    json_free(rec);
    return rc;
}
