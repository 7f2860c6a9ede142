#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ops.h"
#include "audit.h"
#include "license.h"
#include "oidc/session.h"
#include "oidc/subjects.h"

#define ID STORE_ID_LEN
#define DEFAULT_PAGE 100
#define MAX_PAGE 1000

/* Reads "limit" from the input: a number or a decimal string, 1 to MAX_PAGE. */
static int page_limit(admin_call *call, unsigned *out)
{
    const json *l = json_object_get(call->input, "limit");
    long v = DEFAULT_PAGE;
    char *end;

    if (l && json_typeof(l) == JSON_NUMBER) {
        v = (long)json_int_value(l);
    } else if (l && json_typeof(l) == JSON_STRING) {
        v = strtol(json_string_value(l), &end, 10);
        if (*end || end == json_string_value(l))
            v = -1;
    }
    if (v < 1 || v > MAX_PAGE)
        return admin_fail(call, 400, "invalid limit (expected 1 to %d)", MAX_PAGE);
    *out = (unsigned)v;
    return 0;
}

static json *user_view(store_txn *t, const char *account, const char *user_id, const store_val *v)
{
    json *user = json_parse(v->data, v->len, NULL, 0), *out = json_object();
    const json *active;

    if (!user || !out) {
        json_free(user);
        json_free(out);
        return NULL;
    }
    active = json_object_get(user, "active");
    json_object_set(out, "id", json_string(user_id));
    json_object_set(out, "userName", json_copy(json_object_get(user, "userName")));
    if (json_object_get(user, "displayName"))
        json_object_set(out, "displayName", json_copy(json_object_get(user, "displayName")));
    json_object_set(out, "active", json_bool(!active || json_bool_value(active)));
    /* A deactivated user has no tier and is not counted, so the listed tier
     * matches both the tier filter and the counts. */
    json_object_set(out, "tier", !active || json_bool_value(active)
                                     ? json_string(license_user_tier(t, account, user_id))
                                     : json_null());
    json_free(user);
    return out;
}

/* Seeks `c` to the first key after ACC + `after` (or to ACC). */
static int seek_after(store_cursor *c, const char *account, const char *after, store_val *k,
                      store_val *v)
{
    char key[2 * ID];
    int rc;

    memcpy(key, account, ID);
    if (!after || strlen(after) != ID)
        return store_cursor_seek(c, key, ID, k, v);
    memcpy(key + ID, after, ID);
    rc = store_cursor_seek(c, key, sizeof key, k, v);
    if (rc == 0 && k->len == sizeof key && !memcmp(k->data, key, sizeof key))
        rc = store_cursor_next(c, k, v);
    return rc;
}

int admin_user_list(store_txn *t, admin_call *call)
{
    const char *filter = json_get_string(call->input, "tier");
    const char *after = json_get_string(call->input, "after");
    int tier = filter && *filter ? license_tier_parse(filter) : -1;
    enum store_table tab = tier >= 0 ? T_USER_TIERS : T_USERS;
    store_cursor *c = NULL;
    store_val k, v;
    unsigned limit;
    json *users, *out;
    char last[ID + 1] = "";
    int rc, more = 0;

    if (admin_account_exists(t, call) || page_limit(call, &limit))
        return -1;
    if (filter && *filter && tier < 0)
        return admin_fail(call, 400, "invalid tier filter: %s (expected none, basic or pro)", filter);
    users = json_array();
    rc = users ? store_cursor_open(t, tab, &c) : STORE_NOMEM;
    for (rc = rc ? rc : seek_after(c, call->account, after, &k, &v);
         rc == 0 && k.len == 2 * ID && !memcmp(k.data, call->account, ID);
         rc = store_cursor_next(c, &k, &v)) {
        char uid[ID + 1];
        store_val uv;

        /* T_USER_TIERS values are tier names; T_USERS values are users. */
        if (tier >= 0 && (v.len != strlen(license_tier_name(tier)) ||
                          memcmp(v.data, license_tier_name(tier), v.len)))
            continue;
        if (json_array_size(users) == limit) {
            more = 1;
            break;
        }
        memcpy(uid, (const char *)k.data + ID, ID);
        uid[ID] = 0;
        if (tier >= 0) {
            char ukey[2 * ID];
            memcpy(ukey, k.data, 2 * ID);
            if (store_get(t, T_USERS, ukey, sizeof ukey, &uv))
                continue;
        } else {
            uv = v;
        }
        json_array_append(users, user_view(t, call->account, uid, &uv));
        memcpy(last, uid, ID + 1);
    }
    store_cursor_close(c);
    if (rc && rc != STORE_NOTFOUND) {
        json_free(users);
        return admin_store_fail(call, rc, "users");
    }
    out = json_object();
    json_object_set(out, "users", users);
    json_object_set(out, "next", more ? json_string(last) : json_null());
    return admin_ok(call, 200, out);
}

int admin_license_counts(store_txn *t, admin_call *call)
{
    uint64_t counts[LICENSE_TIER_COUNT];
    enum license_tier def;
    json *out;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    rc = license_counts(t, call->account, counts);
    if (rc == 0)
        rc = license_account_default(t, call->account, &def);
    if (rc)
        return admin_store_fail(call, rc, "licence counts");
    out = json_object();
    if (!out)
        return admin_fail(call, 500, "out of memory");
    json_object_set(out, "basic", json_int((int64_t)counts[LICENSE_BASIC]));
    json_object_set(out, "pro", json_int((int64_t)counts[LICENSE_PRO]));
    json_object_set(out, "none", json_int((int64_t)counts[LICENSE_NONE]));
    json_object_set(out, "billable",
                    json_int((int64_t)(counts[LICENSE_BASIC] + counts[LICENSE_PRO])));
    json_object_set(out, "default_tier", json_string(license_tier_name(def)));
    return admin_ok(call, 200, out);
}

static int parse_time_arg(admin_call *call, const char *name, int64_t *out)
{
    const char *s = json_get_string(call->input, name);

    *out = 0;
    if (!s || !*s)
        return 0;
    if (audit_parse_time(s, out))
        return admin_fail(call, 400, "invalid %s: %s (expected a date such as 2026-01-31 or an "
                                     "RFC 3339 time such as 2026-01-31T12:00:00Z)",
                          name, s);
    return 0;
}

int admin_audit_list(store_txn *t, admin_call *call)
{
    audit_query q = {0};
    const char *order;
    char next[AUDIT_ID_LEN + 1];
    json *events = NULL, *out;
    int rc;

    if (admin_account_exists(t, call) || page_limit(call, &q.limit) ||
        parse_time_arg(call, "since", &q.since_usec) || parse_time_arg(call, "until", &q.until_usec))
        return -1;
    q.kind = json_get_string(call->input, "kind");
    q.after = json_get_string(call->input, "after");
    order = json_get_string(call->input, "order");
    if (order && strcmp(order, "asc") && strcmp(order, "desc"))
        return admin_fail(call, 400, "invalid order: %s (expected asc or desc)", order);
    q.newest_first = !order || !strcmp(order, "desc");
    rc = audit_list(t, call->account, &q, &events, next);
    if (rc == STORE_INVALID)
        return admin_fail(call, 400, "invalid after: %s (use the \"next\" value of a previous page)",
                          q.after);
    if (rc)
        return admin_store_fail(call, rc, "audit log");
    out = json_object();
    json_object_set(out, "events", events);
    json_object_set(out, "next", next[0] ? json_string(next) : json_null());
    return admin_ok(call, 200, out);
}

/* Checks that args[0] names a user of the account. Returns 0 or fails the
 * call with 404. */
static int user_exists(store_txn *t, admin_call *call)
{
    const char *user_id = call->args[0];
    char key[2 * ID];
    store_val v;

    if (admin_account_exists(t, call))
        return -1;
    if (!user_id || strlen(user_id) != ID)
        return admin_fail(call, 404, "user not found: %s", user_id ? user_id : "");
    memcpy(key, call->account, ID);
    memcpy(key + ID, user_id, ID);
    int rc = store_get(t, T_USERS, key, sizeof key, &v);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "user not found: %s", user_id);
    if (rc)
        return admin_store_fail(call, rc, "user");
    return 0;
}

int admin_user_links(store_txn *t, admin_call *call)
{
    json *links = NULL, *out;

    if (user_exists(t, call))
        return -1;
    int rc = oidc_subjects_list_user(t, call->account, call->args[0], &links);
    if (rc)
        return admin_store_fail(call, rc, "subject links");
    out = json_object();
    if (!out || json_object_set(out, "user", json_string(call->args[0])) ||
        json_object_set(out, "links", links)) {
        json_free(out);
        return admin_fail(call, 500, "out of memory");
    }
    return admin_ok(call, 200, out);
}

int admin_user_unlink(store_txn *t, admin_call *call)
{
    json *links = NULL, *d = NULL, *out = NULL;
    const char *user_id = call->args[0];
    int rc;

    if (user_exists(t, call))
        return -1;
    rc = oidc_subjects_list_user(t, call->account, user_id, &links);
    if (rc == 0)
        rc = oidc_subjects_unlink_user(t, call->account, user_id);
    /* A session signed in through a removed link may belong to someone else. */
    if (rc == 0)
        rc = oidc_sessions_revoke_user(t, call->account, user_id);
    if (rc) {
        json_free(links);
        return admin_store_fail(call, rc, "subject links");
    }
    out = json_object();
    if (!out || json_object_set(out, "user", json_string(user_id)) ||
        json_object_set(out, "removed", links)) {
        json_free(out);
        return admin_fail(call, 500, "out of memory");
    }
    /* Nothing was linked, so nothing changed that the audit log should show. */
    if (json_array_size(links) == 0)
        return admin_ok(call, 200, out);
    d = json_object();
    if (!d || json_object_set(d, "user", json_string(user_id)) ||
        json_object_set(d, "links", json_copy(links))) {
        json_free(d);
        json_free(out);
        return admin_fail(call, 500, "out of memory");
    }
    rc = audit_record(t, call->account, AUDIT_USER_UNLINKED, call->actor, d);
    json_free(d);
    if (rc) {
        json_free(out);
        return admin_store_fail(call, rc, "audit log");
    }
    return admin_ok(call, 200, out);
}
