#include "config.h"

#include <string.h>
#include <strings.h>

#include "audit.h"
#include "events.h"
#include "license.h"
#include "oidc/session.h"
#include "oidc/subjects.h"

#define ID STORE_ID_LEN

/* A user is active unless "active" is false. The SCIM service stores real
 * JSON booleans, but a "false" string is read as false too, so that a
 * deactivated user is never counted. */
static int user_active(const json *user)
{
    const json *a = json_object_get(user, "active");

    if (!a)
        return 1;
    if (json_typeof(a) == JSON_STRING)
        return strcasecmp(json_string_value(a), "false") != 0;
    if (json_typeof(a) == JSON_BOOL)
        return json_bool_value(a);
    return 1;
}

/* Records an event whose details are {"<id_name>": id} and, when `name`
 * is not NULL, "<name_key>": name. */
static int record_named(store_txn *t, const char *account, const char *kind, const char *actor,
                        const char *id_name, const char *id, const char *name_key, const char *name)
{
    const audit_field fields[2] = {{id_name, id}, {name_key, name}};

    return audit_record_fields(t, account, kind, actor, fields, name ? 2 : 1);
}

/* Builds {"<id_name>": id, "<name_key>": name} for audit details that get
 * more members. */
static json *details_for(const char *id_name, const char *id, const char *name_key,
                         const char *name)
{
    json *d = json_object();

    if (!d || json_object_set(d, id_name, json_string(id))) {
        json_free(d);
        return NULL;
    }
    if (name && json_object_set(d, name_key, json_string(name))) {
        json_free(d);
        return NULL;
    }
    return d;
}

static int record(store_txn *t, const char *account, const char *kind, const char *actor, json *d)
{
    int rc;

    if (!d)
        return STORE_NOMEM;
    rc = audit_record(t, account, kind, actor, d);
    json_free(d);
    return rc;
}

/* Names of the top-level attributes that differ between two versions. */
static json *changed_attributes(const json *before, const json *after)
{
    json *names = json_array();

    for (size_t i = 0; names && i < json_object_size(after); i++) {
        const char *key = json_object_key_at(after, i);
        const json *old = json_object_get(before, key);

        if (!strcmp(key, "meta"))
            continue;
        if (!old || !json_equal(old, json_object_value_at(after, i)))
            json_array_append(names, json_string(key));
    }
    for (size_t i = 0; names && i < json_object_size(before); i++) {
        const char *key = json_object_key_at(before, i);
        if (strcmp(key, "meta") && !json_object_get(after, key))
            json_array_append(names, json_string(key));
    }
    return names;
}

static int user_updated(store_txn *t, const char *actor, const char *account, const char *user_id,
                        const json *before, const json *after)
{
    int was = user_active(before), is = user_active(after);
    const char *name = json_get_string(after, "userName");
    json *d, *changed;
    int rc;

    if (was && !is) {
        rc = record_named(t, account, AUDIT_USER_DEACTIVATED, actor, "user_id", user_id, "userName",
                          name);
        if (rc == 0)
            rc = oidc_sessions_revoke_user(t, account, user_id);
        return rc;
    }
    if (!was && is)
        return record_named(t, account, AUDIT_USER_REACTIVATED, actor, "user_id", user_id,
                            "userName", name);

    /* Okta sends a full PUT for every update, often with nothing changed:
     * record only real changes. */
    changed = changed_attributes(before, after);
    if (changed && json_array_size(changed) == 0) {
        json_free(changed);
        return 0;
    }
    d = details_for("user_id", user_id, "userName", name);
    if (d && json_object_set(d, "changed", changed)) {
        json_free(d);
        d = NULL;
    } else if (!d) {
        json_free(changed);
    }
    return record(t, account, AUDIT_USER_UPDATED, actor, d);
}

int events_user_changed(store_txn *t, const char *actor, const char *account, const char *user_id,
                        const json *before, const json *after)
{
    int rc;

    if (!account || !user_id || strlen(account) != ID || strlen(user_id) != ID)
        return STORE_INVALID;
    if (!before && !after)
        return 0;
    if (!before) {
        const char *name = json_get_string(after, "userName");
        rc = record_named(t, account, AUDIT_USER_CREATED, actor, "user_id", user_id, "userName",
                          name);
    } else if (!after) {
        const char *name = json_get_string(before, "userName");
        rc = record_named(t, account, AUDIT_USER_DELETED, actor, "user_id", user_id, "userName",
                          name);
        if (rc == 0)
            rc = oidc_sessions_revoke_user(t, account, user_id);
        if (rc == 0)
            rc = oidc_subjects_unlink_user(t, account, user_id);
    } else {
        rc = user_updated(t, actor, account, user_id, before, after);
    }
    if (rc == 0 && !before)
        rc = license_user_created(t, actor, account, user_id, user_active(after));
    else if (rc == 0)
        rc = license_update_user(t, actor, account, user_id, after ? user_active(after) : 0);
    return rc;
}

/* Removes the mapping of a deleted group, records that, and recomputes the
 * members the group still has. Members removed before this call were
 * recomputed by their own membership events while the mapping still
 * existed, so the whole account need not be scanned. */
static int drop_mapping(store_txn *t, const char *actor, const char *account,
                        const char *group_id, const char *name)
{
    char key[2 * ID];
    store_val v;
    json *map;
    audit_field fields[3] = {{"group_id", group_id}};
    size_t n = 1;
    int tier, rc;

    memcpy(key, account, ID);
    memcpy(key + ID, group_id, ID);
    rc = store_get(t, T_TIER_MAPS, key, sizeof key, &v);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    map = json_parse(v.data, v.len, NULL, 0);
    tier = license_tier_parse(json_get_string(map, "tier"));
    json_free(map);

    rc = store_del(t, T_TIER_MAPS, key, sizeof key);
    if (rc)
        return rc;
    if (name)
        fields[n++] = (audit_field){"displayName", name};
    fields[n++] = (audit_field){"tier", license_tier_name(tier < 0 ? 0 : tier)};
    rc = audit_record_fields(t, account, AUDIT_MAPPING_DROPPED, actor, fields, n);
    if (rc == 0)
        rc = license_update_group(t, actor, account, group_id);
    return rc;
}

/* Records a group update that changed something, with the previous name
 * on a rename. Takes ownership of `d`. */
static int group_updated(store_txn *t, const char *actor, const char *account, const json *before,
                         const json *after, json *d)
{
    const char *old = json_get_string(before, "displayName");
    const char *name = json_get_string(after, "displayName");
    json *changed = changed_attributes(before, after);

    if (changed && json_array_size(changed) == 0) {
        json_free(changed);
        json_free(d);
        return 0;
    }
    if (d && json_object_set(d, "changed", changed)) {
        json_free(d);
        d = NULL;
    }
    if (d && old && name && strcmp(old, name) &&
        json_object_set(d, "previous_displayName", json_string(old))) {
        json_free(d);
        d = NULL;
    }
    return record(t, account, AUDIT_GROUP_UPDATED, actor, d);
}

int events_group_changed(store_txn *t, const char *actor, const char *account,
                         const char *group_id, const json *before, const json *after)
{
    const char *name;
    json *d;
    int rc;

    if (!account || !group_id || strlen(account) != ID || strlen(group_id) != ID)
        return STORE_INVALID;
    if (!before && !after)
        return 0;
    name = json_get_string(after ? after : before, "displayName");
    if (!before)
        return record_named(t, account, AUDIT_GROUP_CREATED, actor, "group_id", group_id,
                            "displayName", name);
    if (!after) {
        rc = record_named(t, account, AUDIT_GROUP_DELETED, actor, "group_id", group_id,
                          "displayName", name);
        if (rc == 0)
            rc = drop_mapping(t, actor, account, group_id, name);
        return rc;
    }
    d = details_for("group_id", group_id, "displayName", name);
    return group_updated(t, actor, account, before, after, d);
}

int events_group_mapped(store_txn *t, const char *account, const char *group_id, int *mapped)
{
    char key[2 * ID];
    store_val v;
    int rc;

    *mapped = 0;
    if (!account || !group_id || strlen(account) != ID || strlen(group_id) != ID)
        return STORE_INVALID;
    memcpy(key, account, ID);
    memcpy(key + ID, group_id, ID);
    rc = store_get(t, T_TIER_MAPS, key, sizeof key, &v);
    *mapped = rc == 0;
    return rc == STORE_NOTFOUND ? 0 : rc;
}

int events_member_changed(store_txn *t, const char *actor, const char *account,
                          const char *group_id, const char *user_id, int added, int mapped)
{
    const audit_field fields[2] = {{"group_id", group_id}, {"user_id", user_id}};
    int rc;

    if (!account || !group_id || !user_id || strlen(account) != ID || strlen(group_id) != ID ||
        strlen(user_id) != ID)
        return STORE_INVALID;
    rc = audit_record_fields(t, account, added ? AUDIT_MEMBER_ADDED : AUDIT_MEMBER_REMOVED, actor,
                             fields, 2);
    /* A tier comes only from mapped groups, so joining or leaving an
     * unmapped one cannot change it. */
    if (rc == 0 && mapped < 0)
        rc = events_group_mapped(t, account, group_id, &mapped);
    if (rc == 0 && mapped)
        rc = license_update_user(t, actor, account, user_id, -1);
    return rc;
}

int events_membership_changed(store_txn *t, const char *actor, const char *account,
                              const char *group_id, const char *user_id, int added)
{
    return events_member_changed(t, actor, account, group_id, user_id, added, -1);
}
