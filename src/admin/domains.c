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

/* Reads T_DOMAINS[domain], the verified owner's record. A store written
 * before pending claims moved to T_ACCOUNT_DOMAINS (or by accounts.c) may
 * hold an unverified claim here. */
static int read_owner(store_txn *t, const char *domain, json **out)
{
    store_val v;
    int rc = store_get(t, T_DOMAINS, domain, strlen(domain), &v);

    *out = NULL;
    if (rc)
        return rc;
    *out = json_parse(v.data, v.len, NULL, 0);
    return *out ? 0 : STORE_IO;
}

static size_t claim_key(char *key, const char *account, const char *domain)
{
    size_t n = strlen(domain);

    memcpy(key, account, ID);
    memcpy(key + ID, domain, n);
    return ID + n;
}

/* Reads `account`'s claim on `domain`. An empty T_ACCOUNT_DOMAINS value is
 * the older layout, whose claim record is in T_DOMAINS. */
static int read_claim(store_txn *t, const char *account, const char *domain, json **out)
{
    char key[ID + MAX_DOMAIN + 2];
    const char *owner;
    store_val v;
    int rc = store_get(t, T_ACCOUNT_DOMAINS, key, claim_key(key, account, domain), &v);

    *out = NULL;
    if (rc)
        return rc;
    if (v.len > 0) {
        *out = json_parse(v.data, v.len, NULL, 0);
        return *out ? 0 : STORE_IO;
    }
    rc = read_owner(t, domain, out);
    if (rc)
        return rc;
    owner = json_get_string(*out, "account");
    if (!owner || strcmp(owner, account)) {
        json_free(*out);
        *out = NULL;
        return STORE_NOTFOUND;
    }
    return 0;
}

static int put_json(store_txn *t, enum store_table tab, const char *key, size_t klen,
                    const json *rec)
{
    size_t len;
    char *text = json_dump(rec, &len);
    int rc;

    if (!text)
        return STORE_NOMEM;
    rc = store_put(t, tab, key, klen, text, len, 0);
    free(text);
    return rc;
}

static int write_claim(store_txn *t, const json *rec)
{
    char key[ID + MAX_DOMAIN + 2];
    const char *account = json_get_string(rec, "account");
    const char *domain = json_get_string(rec, "domain");

    if (!account || strlen(account) != ID || !domain || strlen(domain) > MAX_DOMAIN)
        return STORE_INVALID;
    return put_json(t, T_ACCOUNT_DOMAINS, key, claim_key(key, account, domain), rec);
}

/* Returns 1 when another account than `account` has verified `domain`, 0
 * when not, or a STORE_* error. */
static int verified_elsewhere(store_txn *t, const char *account, const char *domain)
{
    json *owner;
    const char *id;
    int rc = read_owner(t, domain, &owner), other;

    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    id = json_get_string(owner, "account");
    other = json_bool_value(json_object_get(owner, "verified")) && id && strcmp(id, account);
    json_free(owner);
    return other;
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

#define VERIFIED_ELSEWHERE "domain %s is verified by another account"

int admin_domain_add(store_txn *t, admin_call *call)
{
    static const char *const members[] = {"domain", NULL};
    const char *in = json_get_string(call->input, "domain");
    char domain[MAX_DOMAIN + 2];
    json *rec = NULL;
    int rc;

    if (admin_account_exists(t, call) || admin_check_members(call, members))
        return -1;
    if (!in)
        return admin_fail(call, 400, "missing \"domain\"");
    if (admin_domain_normalize(in, domain, sizeof domain))
        return admin_fail(call, 400, "invalid domain: %s (expected a DNS name such as example.com)",
                          in);
    rc = read_claim(t, call->account, domain, &rec);
    json_free(rec);
    if (rc == 0)
        return admin_fail(call, 409, "domain %s is already claimed by this account", domain);
    if (rc != STORE_NOTFOUND)
        return admin_store_fail(call, rc, "domain");
    /* Any number of accounts may hold a pending claim; only a verified one
     * keeps the domain from others. */
    rc = verified_elsewhere(t, call->account, domain);
    if (rc == 1)
        return admin_fail(call, 409, VERIFIED_ELSEWHERE, domain);
    if (rc)
        return admin_store_fail(call, rc, "domain");
    rec = new_record(call->account, domain);
    if (!rec)
        return admin_fail(call, 500, "out of memory");
    rc = write_claim(t, rec);
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
        if (read_claim(t, call->account, domain, &rec) == 0) {
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

/* Reads the account's own claim on args[0] into `*rec`, or fails 404. */
static int own_record(store_txn *t, admin_call *call, char *domain, size_t len, json **rec)
{
    int rc;

    *rec = NULL;
    if (admin_account_exists(t, call))
        return -1;
    if (!call->args[0] || admin_domain_normalize(call->args[0], domain, len))
        return admin_fail(call, 404, "domain not found: %s", call->args[0] ? call->args[0] : "");
    rc = read_claim(t, call->account, domain, rec);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "domain not found: %s", domain);
    if (rc)
        return admin_store_fail(call, rc, "domain");
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

int admin_domain_verify_start(store_txn *t, admin_call *call)
{
    char domain[MAX_DOMAIN + 2];
    json *rec;
    int rc;

    if (own_record(t, call, domain, sizeof domain, &rec))
        return -1;
    if (!json_bool_value(json_object_get(rec, "verified"))) {
        rc = verified_elsewhere(t, call->account, domain);
        if (rc) {
            json_free(rec);
            if (rc == 1)
                return admin_fail(call, 409, VERIFIED_ELSEWHERE, domain);
            return admin_store_fail(call, rc, "domain");
        }
    }
    rc = admin_ok(call, 200, domain_view(rec));
    json_free(rec);
    return rc;
}

int admin_domain_remove(store_txn *t, admin_call *call)
{
    char domain[MAX_DOMAIN + 2], key[ID + MAX_DOMAIN + 2];
    json *rec, *owner = NULL;
    const char *owner_id;
    int rc;

    if (own_record(t, call, domain, sizeof domain, &rec))
        return -1;
    json_free(rec);
    /* T_DOMAINS loses its record only when it is this account's. */
    rc = read_owner(t, domain, &owner);
    owner_id = rc == 0 ? json_get_string(owner, "account") : NULL;
    if (owner_id && !strcmp(owner_id, call->account))
        rc = store_del(t, T_DOMAINS, domain, strlen(domain));
    json_free(owner);
    if (rc == 0 || rc == STORE_NOTFOUND)
        rc = store_del(t, T_ACCOUNT_DOMAINS, key, claim_key(key, call->account, domain));
    if (rc == STORE_NOTFOUND)
        rc = 0;
    if (rc == 0)
        rc = audit_domain(t, call, AUDIT_DOMAIN_REMOVED, domain);
    if (rc)
        return admin_store_fail(call, rc, "domain");
    return admin_ok(call, 200, json_object());
}

/* Moves an unverified claim of another account out of T_DOMAINS into that
 * account's T_ACCOUNT_DOMAINS entry (the older layout kept it only in
 * T_DOMAINS), so that the verified owner's record can take its place. */
static int move_pending_owner(store_txn *t, const char *account, const char *domain)
{
    char key[ID + MAX_DOMAIN + 2];
    const char *id;
    json *owner;
    store_val v;
    int rc = read_owner(t, domain, &owner);

    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    id = json_get_string(owner, "account");
    if (id && strlen(id) == ID && strcmp(id, account) &&
        store_get(t, T_ACCOUNT_DOMAINS, key, claim_key(key, id, domain), &v) == 0 && v.len == 0)
        rc = write_claim(t, owner);
    json_free(owner);
    return rc;
}

static int record_verified(store_txn *t, admin_call *call, json *rec, const char *domain)
{
    char when[40];
    int rc;

    audit_format_time(audit_now_usec(), when, sizeof when);
    json_object_set(rec, "verified", json_bool(1));
    json_object_set(rec, "verified_at", json_string(when));
    rc = move_pending_owner(t, call->account, domain);
    if (rc == 0)
        rc = write_claim(t, rec);
    if (rc == 0)
        rc = put_json(t, T_DOMAINS, domain, strlen(domain), rec);
    if (rc == 0)
        rc = audit_domain(t, call, AUDIT_DOMAIN_VERIFIED, domain);
    return rc;
}

int admin_domain_mark(store_txn *t, admin_call *call)
{
    char domain[MAX_DOMAIN + 2];
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
        rc = verified_elsewhere(t, call->account, domain);
        if (rc == 0)
            rc = record_verified(t, call, rec, domain);
        if (rc) {
            json_free(rec);
            if (rc == 1)
                return admin_fail(call, 409, VERIFIED_ELSEWHERE, domain);
            return admin_store_fail(call, rc, "domain");
        }
    }
    rc = admin_ok(call, 200, domain_view(rec));
    json_free(rec);
    return rc;
}
