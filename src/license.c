#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "json.h"
#include "license.h"

#define ID STORE_ID_LEN
#define TIER_PREFIX "tier:"

static const char *const tier_names[LICENSE_TIER_COUNT] = {"none", "basic", "pro"};

const char *license_tier_name(enum license_tier tier)
{
    if ((int)tier < 0 || tier >= LICENSE_TIER_COUNT)
        return "none";
    return tier_names[tier];
}

int license_tier_parse(const char *name)
{
    for (int i = 0; name && i < LICENSE_TIER_COUNT; i++)
        if (strcmp(name, tier_names[i]) == 0)
            return i;
    return -1;
}

static int tier_from_val(const store_val *v)
{
    for (int i = 0; i < LICENSE_TIER_COUNT; i++)
        if (v->len == strlen(tier_names[i]) && !memcmp(v->data, tier_names[i], v->len))
            return i;
    return -1;
}

/* Builds ACC + a + b into `key` and returns its length. */
static size_t make_key(char *key, const char *account, const char *a, const char *b)
{
    size_t n = 0;
    memcpy(key, account, ID);
    n = ID;
    if (a) {
        memcpy(key + n, a, strlen(a));
        n += strlen(a);
    }
    if (b) {
        memcpy(key + n, b, strlen(b));
        n += strlen(b);
    }
    return n;
}

int license_account_default(store_txn *t, const char *account, enum license_tier *out)
{
    store_val v;
    json *acc;
    const json *settings;
    int rc, tier = LICENSE_BASIC;

    *out = LICENSE_BASIC;
    rc = store_get(t, T_ACCOUNTS, account, ID, &v);
    if (rc)
        return rc;
    /* Membership and user jobs read the default for every user they touch,
     * and most accounts never set one. A record whose text lacks the key
     * cannot have the setting, so the parse is skipped. */
    if (!memmem(v.data, v.len, "default_tier", strlen("default_tier")))
        return 0;
    acc = json_parse(v.data, v.len, NULL, 0);
    if (!acc)
        return 0;
    settings = json_object_get(acc, "settings");
    if (settings && json_get_string(settings, "default_tier"))
        tier = license_tier_parse(json_get_string(settings, "default_tier"));
    if (tier >= 0)
        *out = (enum license_tier)tier;
    json_free(acc);
    return 0;
}

/* The tier that a user's memberships and the mappings give, without the
 * default: LICENSE_PRO, LICENSE_BASIC, or -1 when no group is mapped. */
static int mapped_tier(store_txn *t, const char *account, const char *user_id, int *out)
{
    char prefix[2 * ID + 1];
    size_t plen = make_key(prefix, account, user_id, NULL);
    store_cursor *c = NULL;
    store_val k, v;
    int rc, best = -1;

    rc = store_cursor_open(t, T_MEMBER_OF, &c);
    if (rc)
        return rc;
    for (rc = store_cursor_seek(c, prefix, plen, &k, &v);
         rc == 0 && k.len == plen + ID && !memcmp(k.data, prefix, plen);
         rc = store_cursor_next(c, &k, &v)) {
        char mkey[2 * ID];
        store_val m;
        json *map;
        int tier;

        memcpy(mkey, account, ID);
        memcpy(mkey + ID, (const char *)k.data + plen, ID);
        if (store_get(t, T_TIER_MAPS, mkey, sizeof mkey, &m))
            continue;
        map = json_parse(m.data, m.len, NULL, 0);
        tier = license_tier_parse(json_get_string(map, "tier"));
        json_free(map);
        if (tier > best)
            best = tier;
        if (best == LICENSE_PRO)
            break;
    }
    store_cursor_close(c);
    if (rc && rc != STORE_NOTFOUND)
        return rc;
    *out = best;
    return 0;
}

static int effective_tier(store_txn *t, const char *account, const char *user_id,
                          enum license_tier def, enum license_tier *out)
{
    int mapped, rc = mapped_tier(t, account, user_id, &mapped);
    if (rc)
        return rc;
    *out = mapped >= 0 ? (enum license_tier)mapped : def;
    return 0;
}

static int stored_tier(store_txn *t, const char *account, const char *user_id, int *out)
{
    char key[2 * ID + 1];
    store_val v;
    int rc = store_get(t, T_USER_TIERS, key, make_key(key, account, user_id, NULL), &v);

    *out = -1;
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    *out = tier_from_val(&v);
    return 0;
}

static int count_add(store_txn *t, const char *account, int tier, int64_t delta)
{
    char key[ID + 16];
    if (tier < 0)
        return 0;
    return store_counter_add(t, key, make_key(key, account, TIER_PREFIX, tier_names[tier]), delta,
                             NULL);
}

/* Moves a user from stored tier `old` to `new` (-1 meaning not counted). */
static int store_tier(store_txn *t, const char *account, const char *user_id, int old, int new)
{
    char key[2 * ID + 1];
    size_t klen = make_key(key, account, user_id, NULL);
    int rc;

    if (old == new)
        return 0;
    if (new < 0)
        rc = store_del(t, T_USER_TIERS, key, klen);
    else
        rc = store_put(t, T_USER_TIERS, key, klen, tier_names[new], strlen(tier_names[new]), 0);
    if (rc && rc != STORE_NOTFOUND)
        return rc;
    rc = count_add(t, account, old, -1);
    if (rc == 0)
        rc = count_add(t, account, new, 1);
    return rc;
}

static int audit_tier_change(store_txn *t, const char *actor, const char *account,
                             const char *user_id, int old, int new)
{
    const audit_field fields[3] = {
        {"user_id", user_id},
        {"from", old < 0 ? NULL : tier_names[old]},
        {"to", new < 0 ? NULL : tier_names[new]},
    };

    return audit_record_fields(t, account, AUDIT_LICENSE_CHANGED, actor, fields, 3);
}

int license_update_user(store_txn *t, const char *actor, const char *account,
                        const char *user_id, int active)
{
    enum license_tier def, tier;
    int old, new = -1, rc;

    rc = stored_tier(t, account, user_id, &old);
    if (active < 0)
        active = old >= 0;
    if (rc == 0 && active) {
        rc = license_account_default(t, account, &def);
        if (rc == 0)
            rc = effective_tier(t, account, user_id, def, &tier);
        if (rc == 0)
            new = (int)tier;
    }
    if (rc || old == new)
        return rc;
    rc = store_tier(t, account, user_id, old, new);
    if (rc == 0)
        rc = audit_tier_change(t, actor, account, user_id, old, new);
    return rc;
}

int license_user_created(store_txn *t, const char *actor, const char *account,
                         const char *user_id, int active)
{
    enum license_tier def;
    int rc;

    if (!active)
        return 0;
    rc = license_account_default(t, account, &def);
    if (rc == 0)
        rc = store_tier(t, account, user_id, -1, (int)def);
    if (rc == 0)
        rc = audit_tier_change(t, actor, account, user_id, -1, (int)def);
    return rc;
}

/* Recomputes each user in `ids` (count of them, ID bytes each) that has a
 * stored tier, that is, each active user, and records each tier change. */
static int update_users(store_txn *t, const char *actor, const char *account, const char *ids,
                        size_t count, enum license_tier def)
{
    for (size_t i = 0; i < count; i++) {
        char uid[ID + 1];
        enum license_tier tier;
        int old, rc;

        memcpy(uid, ids + i * ID, ID);
        uid[ID] = 0;
        rc = stored_tier(t, account, uid, &old);
        if (rc)
            return rc;
        if (old < 0)
            continue;
        rc = effective_tier(t, account, uid, def, &tier);
        if (rc == 0 && old != (int)tier)
            rc = store_tier(t, account, uid, old, (int)tier);
        if (rc == 0 && old != (int)tier)
            rc = audit_tier_change(t, actor, account, uid, old, (int)tier);
        if (rc)
            return rc;
    }
    return 0;
}

/* Collects the ID-byte ids that follow `prefix` in the keys of `tab`; with
 * `tier` >= 0 only those whose value names that tier. */
static int collect_ids(store_txn *t, enum store_table tab, const char *prefix, size_t plen,
                       int tier, char **out, size_t *count)
{
    store_cursor *c = NULL;
    store_val k, v;
    size_t n = 0, cap = 256;
    char *ids = malloc(cap * ID);
    int rc;

    *out = NULL;
    *count = 0;
    if (!ids)
        return STORE_NOMEM;
    rc = store_cursor_open(t, tab, &c);
    if (rc)
        goto out;
    for (rc = store_cursor_seek(c, prefix, plen, &k, &v);
         rc == 0 && k.len == plen + ID && !memcmp(k.data, prefix, plen);
         rc = store_cursor_next(c, &k, &v)) {
        if (tier >= 0 && tier_from_val(&v) != tier)
            continue;
        if (n == cap) {
            char *grown = realloc(ids, 2 * cap * ID);
            if (!grown) {
                rc = STORE_NOMEM;
                goto out;
            }
            ids = grown;
            cap *= 2;
        }
        memcpy(ids + n * ID, (const char *)k.data + plen, ID);
        n++;
    }
    if (rc == STORE_NOTFOUND)
        rc = 0;
out:
    store_cursor_close(c);
    if (rc) {
        free(ids);
        return rc;
    }
    *out = ids;
    *count = n;
    return 0;
}

int license_update_group(store_txn *t, const char *actor, const char *account,
                         const char *group_id)
{
    char prefix[2 * ID + 1], *ids = NULL;
    size_t count;
    enum license_tier def;
    int rc = license_account_default(t, account, &def);

    if (rc == 0)
        rc = collect_ids(t, T_MEMBERS, prefix, make_key(prefix, account, group_id, NULL), -1, &ids,
                         &count);
    if (rc == 0)
        rc = update_users(t, actor, account, ids, count, def);
    free(ids);
    return rc;
}

int license_update_account(store_txn *t, const char *actor, const char *account, int only_tier)
{
    char *ids = NULL;
    size_t count;
    enum license_tier def;
    int rc = license_account_default(t, account, &def);

    if (rc == 0)
        rc = collect_ids(t, T_USER_TIERS, account, ID, only_tier, &ids, &count);
    if (rc == 0)
        rc = update_users(t, actor, account, ids, count, def);
    free(ids);
    return rc;
}

const char *license_user_tier(store_txn *t, const char *account, const char *user_id)
{
    char key[2 * ID + 1];
    store_val v;
    json *user;
    enum license_tier def, tier;
    int stored, active;

    if (!account || !user_id || strlen(account) != ID || strlen(user_id) != ID)
        return "none";
    if (stored_tier(t, account, user_id, &stored) == 0 && stored >= 0)
        return tier_names[stored];

    /* No stored tier: the user is deactivated or unknown, or was written
     * before tiers were tracked, in which case compute it now. */
    if (store_get(t, T_USERS, key, make_key(key, account, user_id, NULL), &v))
        return "none";
    user = json_parse(v.data, v.len, NULL, 0);
    active = user && (!json_object_get(user, "active") ||
                      json_bool_value(json_object_get(user, "active")));
    json_free(user);
    if (!active || license_account_default(t, account, &def) ||
        effective_tier(t, account, user_id, def, &tier))
        return "none";
    return tier_names[tier];
}

int license_counts(store_txn *t, const char *account, uint64_t out[LICENSE_TIER_COUNT])
{
    for (int i = 0; i < LICENSE_TIER_COUNT; i++) {
        char key[ID + 16];
        int rc = store_counter_get(t, key, make_key(key, account, TIER_PREFIX, tier_names[i]),
                                   &out[i]);
        if (rc == STORE_NOTFOUND)
            out[i] = 0;
        else if (rc)
            return rc;
    }
    return 0;
}

int license_delete_account(store_txn *t, const char *account)
{
    char *ids = NULL;
    size_t count;
    int rc = collect_ids(t, T_USER_TIERS, account, ID, -1, &ids, &count);

    for (size_t i = 0; rc == 0 && i < count; i++) {
        char key[2 * ID];
        memcpy(key, account, ID);
        memcpy(key + ID, ids + i * ID, ID);
        rc = store_del(t, T_USER_TIERS, key, sizeof key);
        if (rc == STORE_NOTFOUND)
            rc = 0;
    }
    for (int i = 0; rc == 0 && i < LICENSE_TIER_COUNT; i++) {
        char key[ID + 16];
        rc = store_del(t, T_COUNTERS, key, make_key(key, account, TIER_PREFIX, tier_names[i]));
        if (rc == STORE_NOTFOUND)
            rc = 0;
    }
    free(ids);
    return rc;
}

static int domain_verified_for(store_txn *t, const char *account, const char *domain, size_t len)
{
    store_val v;
    json *d;
    int ok;

    if (store_get(t, T_DOMAINS, domain, len, &v))
        return 0;
    d = json_parse(v.data, v.len, NULL, 0);
    ok = d && json_bool_value(json_object_get(d, "verified")) &&
         json_get_string(d, "account") && strcmp(json_get_string(d, "account"), account) == 0;
    json_free(d);
    return ok;
}

/* Returns 1 when the part of `value` after its last '@' is `domain` (`len`
 * bytes), ignoring ASCII case. */
static int in_domain(const char *value, const char *domain, size_t len)
{
    const char *at = value ? strrchr(value, '@') : NULL;

    return at && strlen(at + 1) == len && strncasecmp(at + 1, domain, len) == 0;
}

int license_domains_allowed(store_txn *t, const char *account, const char *const *values,
                            size_t count, int *allowed)
{
    store_cursor *c = NULL;
    store_val k, v;
    size_t unmatched = count;
    int rc, any = 0;

    for (size_t i = 0; i < count; i++)
        allowed[i] = 0;
    if (count == 0)
        return 0;
    rc = store_cursor_open(t, T_ACCOUNT_DOMAINS, &c);
    if (rc)
        return rc;
    for (rc = store_cursor_seek(c, account, ID, &k, &v);
         rc == 0 && k.len > ID && !memcmp(k.data, account, ID) && unmatched > 0;
         rc = store_cursor_next(c, &k, &v)) {
        const char *domain = (const char *)k.data + ID;
        size_t dlen = k.len - ID;

        if (!domain_verified_for(t, account, domain, dlen))
            continue;
        any = 1;
        for (size_t i = 0; i < count; i++) {
            if (!allowed[i] && in_domain(values[i], domain, dlen)) {
                allowed[i] = 1;
                unmatched--;
            }
        }
    }
    store_cursor_close(c);
    if (rc && rc != STORE_NOTFOUND)
        return rc;
    for (size_t i = 0; !any && i < count; i++)
        allowed[i] = 1;
    return 0;
}

int license_domain_allowed(store_txn *t, const char *account, const char *value)
{
    int allowed, rc = license_domains_allowed(t, account, &value, 1, &allowed);

    return rc ? rc : allowed;
}
