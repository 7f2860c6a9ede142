#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "admin/ops.h"
#include "audit.h"
#include "license.h"
#include "oidc/session.h"

/* Account operations of the admin API. Create, get and list use the core
 * accounts module; rename, settings and delete live here. Settings are kept
 * in the account JSON under "settings". */

#define ID STORE_ID_LEN
#define BATCH 1024
#define MAX_KEY 512

static int fail_accounts(admin_call *call, int rc)
{
    switch (rc) {
    case ACCOUNTS_INVALID_NAME:
    case ACCOUNTS_INVALID_DOMAIN:
        return admin_fail(call, 400, "%s", accounts_strerror(rc));
    case ACCOUNTS_DOMAIN_TAKEN:
        return admin_fail(call, 409, "%s", accounts_strerror(rc));
    case STORE_NOTFOUND:
        return admin_fail(call, 404, "account not found: %s", call->account ? call->account : "");
    default:
        return admin_store_fail(call, rc, "account");
    }
}

/* Settings, their types and defaults. Lifetimes are in seconds; 0 means the
 * server's [session] default. */
enum setting_type { S_TIER, S_BOOL, S_SECONDS };

static const struct setting {
    const char *name;
    enum setting_type type;
    long long def;
} settings[] = {
    {"default_tier", S_TIER, LICENSE_BASIC},
    {"absolute_lifetime", S_SECONDS, 0},
    {"idle_timeout", S_SECONDS, 0},
    {"refresh_tokens", S_BOOL, 0},
    {"provider_logout", S_BOOL, 0},
    {"direct_id_token", S_BOOL, 0},
    {"form_post", S_BOOL, 0},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])
#define MAX_LIFETIME (366LL * 86400)

static json *default_value(const struct setting *s)
{
    switch (s->type) {
    case S_TIER:
        return json_string(license_tier_name((enum license_tier)s->def));
    case S_BOOL:
        return json_bool((int)s->def);
    default:
        return json_int(s->def);
    }
}

void admin_account_complete_settings(json *acc)
{
    json *s = json_object_get(acc, "settings");

    if (!s || json_typeof(s) != JSON_OBJECT) {
        s = json_object();
        json_object_set(acc, "settings", s);
    }
    for (size_t i = 0; s && i < NSETTINGS; i++)
        if (!json_object_get(s, settings[i].name))
            json_object_set(s, settings[i].name, default_value(&settings[i]));
}

int admin_account_create(store_txn *t, admin_call *call)
{
    static const char *const members[] = {"name", "domain", NULL};
    const char *name = json_get_string(call->input, "name");
    const char *domain = json_get_string(call->input, "domain");
    json *acc = NULL;
    int rc;

    if (admin_check_members(call, members))
        return -1;
    if (!name)
        return admin_fail(call, 400, "missing \"name\"");
    rc = accounts_create_txn(t, call->actor, name, domain, &acc);
    if (rc)
        return fail_accounts(call, rc);
    admin_account_complete_settings(acc);
    return admin_ok(call, 201, acc);
}

int admin_account_get(store_txn *t, admin_call *call)
{
    json *acc = NULL;
    int rc;

    if (!call->account || strlen(call->account) != ID)
        return admin_fail(call, 404, "account not found: %s", call->account ? call->account : "");
    rc = accounts_get(t, call->account, &acc);
    if (rc)
        return fail_accounts(call, rc);
    admin_account_complete_settings(acc);
    return admin_ok(call, 200, acc);
}

int admin_account_list(store_txn *t, admin_call *call)
{
    json *all = NULL, *out;
    int rc = accounts_list(t, &all);

    if (rc)
        return fail_accounts(call, rc);
    for (size_t i = 0; i < json_array_size(all); i++)
        admin_account_complete_settings(json_array_get(all, i));
    if (!call->account)
        return admin_ok(call, 200, all);

    /* An account-scoped token lists its own account only. */
    out = json_array();
    for (size_t i = 0; out && i < json_array_size(all); i++) {
        json *acc = json_array_get(all, i);
        const char *id = json_get_string(acc, "id");
        if (id && !strcmp(id, call->account))
            json_array_append(out, json_copy(acc));
    }
    json_free(all);
    return admin_ok(call, 200, out);
}

static int write_account(store_txn *t, const char *account, const json *acc)
{
    size_t len;
    char *text = json_dump(acc, &len);
    int rc;

    if (!text)
        return STORE_NOMEM;
    rc = store_put(t, T_ACCOUNTS, account, ID, text, len, 0);
    free(text);
    return rc;
}

static int valid_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > ACCOUNT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return 0;
    return 1;
}

int admin_account_rename(store_txn *t, admin_call *call)
{
    static const char *const members[] = {"name", NULL};
    const char *name = json_get_string(call->input, "name");
    json *acc = NULL, *d;
    int rc;

    if (admin_check_members(call, members))
        return -1;
    if (!name)
        return admin_fail(call, 400, "missing \"name\"");
    if (!valid_name(name))
        return admin_fail(call, 400, "invalid name: use 1 to %d characters without control "
                                     "characters",
                          ACCOUNT_NAME_MAX);
    rc = accounts_get(t, call->account, &acc);
    if (rc)
        return fail_accounts(call, rc);
    d = json_object();
    json_object_set(d, "from", json_copy(json_object_get(acc, "name")));
    json_object_set(d, "to", json_string(name));
    json_object_set(acc, "name", json_string(name));
    rc = write_account(t, call->account, acc);
    if (rc == 0)
        rc = audit_record(t, call->account, AUDIT_ACCOUNT_RENAMED, call->actor, d);
    json_free(d);
    if (rc) {
        json_free(acc);
        return admin_store_fail(call, rc, "account");
    }
    admin_account_complete_settings(acc);
    return admin_ok(call, 200, acc);
}

/* Validates one setting's new value into `*out`. Returns 0 or fails. */
static int parse_setting(admin_call *call, const struct setting *s, const json *v, json **out)
{
    *out = NULL;
    switch (s->type) {
    case S_TIER:
        if (license_tier_parse(json_string_value(v)) < 0)
            return admin_fail(call, 400, "invalid %s (expected basic, pro or none)", s->name);
        *out = json_copy(v);
        return 0;
    case S_BOOL:
        if (json_typeof(v) != JSON_BOOL)
            return admin_fail(call, 400, "invalid %s (expected true or false)", s->name);
        *out = json_copy(v);
        return 0;
    default:
        if (!json_is_integer(v) || json_int_value(v) < 0 || json_int_value(v) > MAX_LIFETIME ||
            (json_int_value(v) > 0 && json_int_value(v) < 60))
            return admin_fail(call, 400,
                              "invalid %s (expected seconds from 60 to %lld, or 0 for the "
                              "server default)",
                              s->name, MAX_LIFETIME);
        *out = json_copy(v);
        return 0;
    }
}

static const struct setting *find_setting(const char *name)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (!strcmp(settings[i].name, name))
            return &settings[i];
    return NULL;
}

/* Applies the input's settings to `current`, recording each change in
 * `changed`. Returns 0 or fails the call. */
static int apply_settings(admin_call *call, json *current, json *changed)
{
    size_t n = json_object_size(call->input);

    if (n == 0)
        return admin_fail(call, 400, "no settings given");
    for (size_t i = 0; i < n; i++) {
        const char *key = json_object_key_at(call->input, i);
        const struct setting *s = find_setting(key);
        json *value;

        if (!s)
            return admin_fail(call, 400, "unknown setting: %s", key);
        if (parse_setting(call, s, json_object_value_at(call->input, i), &value))
            return -1;
        if (!json_object_get(current, key) || !json_equal(json_object_get(current, key), value))
            json_object_set(changed, key, json_copy(value));
        json_object_set(current, key, value);
    }
    return 0;
}

int admin_account_settings(store_txn *t, admin_call *call)
{
    json *acc = NULL, *current, *changed = json_object(), *d = json_object();
    int rc = accounts_get(t, call->account, &acc);

    if (rc) {
        json_free(changed);
        json_free(d);
        return fail_accounts(call, rc);
    }
    current = json_object_get(acc, "settings");
    if (!current || json_typeof(current) != JSON_OBJECT) {
        current = json_object();
        json_object_set(acc, "settings", current);
    }
    if (apply_settings(call, current, changed)) {
        rc = -1;
        goto out;
    }
    if (json_object_size(changed) == 0)
        goto done;
    json_object_set(d, "changed", changed);
    changed = NULL;
    rc = write_account(t, call->account, acc);
    if (rc == 0)
        rc = audit_record(t, call->account, AUDIT_SETTINGS_CHANGED, call->actor, d);
    /* A new default tier changes every user outside the mapped groups. */
    if (rc == 0 && json_object_get(json_object_get(d, "changed"), "default_tier"))
        rc = license_update_account(t, call->actor, call->account, -1);
    if (rc) {
        admin_store_fail(call, rc, "account settings");
        goto out;
    }
done:
    admin_account_complete_settings(acc);
    rc = admin_ok(call, 200, acc);
    acc = NULL;
out:
    json_free(acc);
    json_free(changed);
    json_free(d);
    return rc;
}

/* Deletes every key of `tab` that starts with `prefix`. With `each`, calls
 * it for every key first (to delete records that key points to). */
static int delete_prefix(store_txn *t, enum store_table tab, const void *prefix, size_t plen,
                         int (*each)(store_txn *t, const store_val *k, const store_val *v))
{
    for (;;) {
        store_cursor *c = NULL;
        store_val k, v;
        static char keys[BATCH][MAX_KEY];
        size_t lens[BATCH], n = 0;
        int rc = store_cursor_open(t, tab, &c);

        if (rc)
            return rc;
        for (rc = store_cursor_seek(c, prefix, plen, &k, &v);
             rc == 0 && n < BATCH && k.len >= plen && !memcmp(k.data, prefix, plen);
             rc = store_cursor_next(c, &k, &v)) {
            if (k.len > MAX_KEY)
                continue;
            if (each && (rc = each(t, &k, &v)) != 0)
                break;
            memcpy(keys[n], k.data, k.len);
            lens[n++] = k.len;
        }
        store_cursor_close(c);
        if (rc && rc != STORE_NOTFOUND)
            return rc;
        for (size_t i = 0; i < n; i++) {
            rc = store_del(t, tab, keys[i], lens[i]);
            if (rc && rc != STORE_NOTFOUND)
                return rc;
        }
        if (n < BATCH)
            return 0;
    }
}

/* T_SCIM_KEY_IDS values are the hashes that key T_SCIM_KEYS. */
static int drop_scim_key(store_txn *t, const store_val *k, const store_val *v)
{
    int rc = store_del(t, T_SCIM_KEYS, v->data, v->len);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* T_ACCOUNT_DOMAINS keys end with the domain that keys T_DOMAINS, whose
 * record is deleted only when it names this account: another account may
 * have verified the domain this one claimed. */
static int drop_domain(store_txn *t, const store_val *k, const store_val *v)
{
    const char *domain = (const char *)k->data + ID;
    size_t len = k->len - ID;
    store_val owner;
    json *rec;
    const char *id;
    int rc = store_get(t, T_DOMAINS, domain, len, &owner), mine;

    if (rc)
        return rc == STORE_NOTFOUND ? 0 : rc;
    rec = json_parse(owner.data, owner.len, NULL, 0);
    id = json_get_string(rec, "account");
    mine = id && strlen(id) == ID && !memcmp(id, k->data, ID);
    json_free(rec);
    if (!mine)
        return 0;
    rc = store_del(t, T_DOMAINS, domain, len);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Deletes the records of tables not keyed by account whose JSON value
 * names the account, or (T_ISSUERS) whose value is the account id. */
static int delete_by_value(store_txn *t, enum store_table tab, const char *account)
{
    for (;;) {
        store_cursor *c = NULL;
        store_val k, v;
        static char keys[BATCH][MAX_KEY];
        size_t lens[BATCH], n = 0;
        uint8_t zero = 0;
        int rc = store_cursor_open(t, tab, &c);

        if (rc)
            return rc;
        for (rc = store_cursor_seek(c, &zero, 1, &k, &v); rc == 0 && n < BATCH;
             rc = store_cursor_next(c, &k, &v)) {
            int match = 0;

            if (tab == T_ISSUERS) {
                match = v.len == ID && !memcmp(v.data, account, ID);
            } else {
                json *rec = json_parse(v.data, v.len, NULL, 0);
                const char *owner = json_get_string(rec, "account");
                match = owner && !strcmp(owner, account);
                json_free(rec);
            }
            if (match && k.len <= MAX_KEY) {
                memcpy(keys[n], k.data, k.len);
                lens[n++] = k.len;
            }
        }
        store_cursor_close(c);
        if (rc && rc != STORE_NOTFOUND)
            return rc;
        for (size_t i = 0; i < n; i++) {
            rc = store_del(t, tab, keys[i], lens[i]);
            if (rc && rc != STORE_NOTFOUND)
                return rc;
        }
        if (n < BATCH)
            return 0;
    }
}

int admin_account_delete(store_txn *t, admin_call *call)
{
    static const enum store_table by_prefix[] = {
        T_USERS,   T_USER_NAMES, T_USER_EXTIDS, T_USER_EMAILS, T_GROUPS, T_GROUP_NAMES,
        T_GROUP_EXTIDS, T_MEMBERS, T_MEMBER_OF, T_COUNTERS, T_TIER_MAPS, T_USER_TIERS,
        T_IDPS,    T_SUBJECTS,   T_USER_SUBJECTS,
    };
    static const enum store_table by_value[] = {T_ISSUERS, T_LOGINS, T_ADMIN_TOKENS};
    const char *acc = call->account;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    rc = delete_prefix(t, T_SCIM_KEY_IDS, acc, ID, drop_scim_key);
    if (rc == 0)
        rc = delete_prefix(t, T_ACCOUNT_DOMAINS, acc, ID, drop_domain);
    if (rc == 0)
        rc = oidc_sessions_revoke_account(t, acc);
    for (size_t i = 0; rc == 0 && i < sizeof by_prefix / sizeof by_prefix[0]; i++)
        rc = delete_prefix(t, by_prefix[i], acc, ID, NULL);
    for (size_t i = 0; rc == 0 && i < sizeof by_value / sizeof by_value[0]; i++)
        rc = delete_by_value(t, by_value[i], acc);
    if (rc == 0)
        rc = audit_delete_account(t, acc);
    if (rc == 0)
        rc = store_del(t, T_ACCOUNTS, acc, ID);
    if (rc)
        return admin_store_fail(call, rc, "account");
    return admin_ok(call, 200, json_object());
}
