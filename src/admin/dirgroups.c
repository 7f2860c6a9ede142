#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "admin/admin_const.h"
#include "admin/ops.h"
#include "audit.h"
#include "license.h"
#include "scim/scim_store.h"

/* Directory groups: a pushed group mapped to a licence tier. Mappings are
 * keyed by group id (T_TIER_MAPS), so they follow their group's renames;
 * events.c drops a mapping when its group is deleted over SCIM. */

#define ID STORE_ID_LEN
#define MAX_NAME 1024

static int parse_mapped_tier(admin_call *call, int *tier)
{
    const char *name = json_get_string(call->input, "tier");

    *tier = license_tier_parse(name);
    if (!name)
        return admin_fail(call, 400, "missing \"tier\" (basic or pro)");
    if (*tier != LICENSE_BASIC && *tier != LICENSE_PRO)
        return admin_fail(call, 400, "invalid tier: %s (expected basic or pro)", name);
    return 0;
}

static int read_json(store_txn *t, enum store_table tab, const char *account, const char *id,
                     json **out)
{
    char key[2 * ID];
    store_val v;
    int rc;

    *out = NULL;
    if (!id || strlen(id) != ID)
        return STORE_NOTFOUND;
    memcpy(key, account, ID);
    memcpy(key + ID, id, ID);
    rc = store_get(t, tab, key, sizeof key, &v);
    if (rc)
        return rc;
    *out = json_parse(v.data, v.len, NULL, 0);
    return *out ? 0 : STORE_IO;
}

static int write_mapping(store_txn *t, const char *account, const char *group_id, const json *map)
{
    char key[2 * ID];
    size_t len;
    char *text = json_dump(map, &len);
    int rc;

    if (!text)
        return STORE_NOMEM;
    memcpy(key, account, ID);
    memcpy(key + ID, group_id, ID);
    rc = store_put(t, T_TIER_MAPS, key, sizeof key, text, len, 0);
    free(text);
    return rc;
}

/* Finds a group by its exact displayName. The name index contains folded
 * names, so the stored group's own displayName is compared exactly
 * afterwards. */
static int find_group(store_txn *t, const char *account, const char *name, char id[ID + 1])
{
    json *group = NULL;
    int rc;

    if (!*name || strlen(name) >= MAX_NAME)
        return STORE_NOTFOUND;
    if ((rc = scim_store_group_by_name(t, account, name, id)) != 0)
        return rc == STORE_IO ? STORE_NOTFOUND : rc;
    rc = read_json(t, T_GROUPS, account, id, &group);
    if (rc == 0 && (!json_get_string(group, "displayName") ||
                    strcmp(json_get_string(group, "displayName"), name)))
        rc = STORE_NOTFOUND;
    json_free(group);
    return rc;
}

static int audit_mapping(store_txn *t, admin_call *call, const char *kind, const char *group_id,
                         const char *name, int from, int to)
{
    json *d = json_object();
    int rc;

    if (!d)
        return STORE_NOMEM;
    json_object_set(d, "group_id", json_string(group_id));
    if (name)
        json_object_set(d, "displayName", json_string(name));
    if (from >= 0)
        json_object_set(d, "from", json_string(license_tier_name(from)));
    if (to >= 0)
        json_object_set(d, "tier", json_string(license_tier_name(to)));
    rc = audit_record(t, call->account, kind, call->actor, d);
    json_free(d);
    return rc;
}

/* The listed view of one mapping: current name and member count. */
static json *mapping_view(store_txn *t, const char *account, const char *group_id, const json *map)
{
    char counter[ID + 8 + ID];
    uint64_t members = 0;
    json *group = NULL, *out = json_object();

    if (!out)
        return NULL;
    memcpy(counter, account, ID);
    memcpy(counter + ID, "members:", 8);
    memcpy(counter + ID + 8, group_id, ID);
    if (store_counter_get(t, counter, sizeof counter, &members))
        members = 0;
    read_json(t, T_GROUPS, account, group_id, &group);
    json_object_set(out, "group_id", json_string(group_id));
    json_object_set(out, "displayName",
                    group && json_get_string(group, "displayName")
                        ? json_string(json_get_string(group, "displayName"))
                        : json_null());
    json_object_set(out, "tier", json_copy(json_object_get(map, "tier")));
    json_object_set(out, "members", json_int((int64_t)members));
    json_object_set(out, "created", json_copy(json_object_get(map, "created")));
    json_free(group);
    return out;
}

int admin_dirgroup_add(store_txn *t, admin_call *call)
{
    static const char *const members[] = {"displayName", "tier", NULL};
    const char *name = json_get_string(call->input, "displayName");
    char gid[ID + 1], when[40];
    json *map = NULL;
    int tier, rc;

    if (admin_account_exists(t, call) || admin_check_members(call, members))
        return -1;
    if (!name || !*name)
        return admin_fail(call, 400, "missing \"displayName\"");
    if (parse_mapped_tier(call, &tier))
        return -1;
    rc = find_group(t, call->account, name, gid);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, ADMIN_GROUP_NOT_FOUND);
    if (rc)
        return admin_store_fail(call, rc, "group");
    if (read_json(t, T_TIER_MAPS, call->account, gid, &map) == 0) {
        json_free(map);
        return admin_fail(call, 409, "group %s is already a directory group; change its tier instead",
                          name);
    }
    audit_format_time(audit_now_usec(), when, sizeof when);
    map = json_object();
    if (!map || json_object_set(map, "tier", json_string(license_tier_name(tier))) ||
        json_object_set(map, "created", json_string(when))) {
        json_free(map);
        return admin_fail(call, 500, "out of memory");
    }
    rc = write_mapping(t, call->account, gid, map);
    if (rc == 0)
        rc = audit_mapping(t, call, AUDIT_MAPPING_ADDED, gid, name, -1, tier);
    if (rc == 0)
        rc = license_update_group(t, call->actor, call->account, gid);
    if (rc) {
        json_free(map);
        return admin_store_fail(call, rc, "directory group");
    }
    rc = admin_ok(call, 201, mapping_view(t, call->account, gid, map));
    json_free(map);
    return rc;
}

int admin_dirgroup_set(store_txn *t, admin_call *call)
{
    static const char *const members[] = {"tier", NULL};
    const char *gid = call->args[0];
    json *map = NULL;
    int tier, old, rc;

    if (admin_account_exists(t, call) || admin_check_members(call, members))
        return -1;
    if (parse_mapped_tier(call, &tier))
        return -1;
    rc = read_json(t, T_TIER_MAPS, call->account, gid, &map);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "directory group not found: %s", gid ? gid : "");
    if (rc)
        return admin_store_fail(call, rc, "directory group");
    old = license_tier_parse(json_get_string(map, "tier"));
    if (old != tier) {
        json_object_set(map, "tier", json_string(license_tier_name(tier)));
        rc = write_mapping(t, call->account, gid, map);
        if (rc == 0)
            rc = audit_mapping(t, call, AUDIT_MAPPING_CHANGED, gid, NULL, old, tier);
        if (rc == 0)
            rc = license_update_group(t, call->actor, call->account, gid);
        if (rc) {
            json_free(map);
            return admin_store_fail(call, rc, "directory group");
        }
    }
    rc = admin_ok(call, 200, mapping_view(t, call->account, gid, map));
    json_free(map);
    return rc;
}

int admin_dirgroup_remove(store_txn *t, admin_call *call)
{
    const char *gid = call->args[0];
    char key[2 * ID];
    json *map = NULL;
    int old, rc;

    if (admin_account_exists(t, call))
        return -1;
    rc = read_json(t, T_TIER_MAPS, call->account, gid, &map);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "directory group not found: %s", gid ? gid : "");
    if (rc)
        return admin_store_fail(call, rc, "directory group");
    old = license_tier_parse(json_get_string(map, "tier"));
    json_free(map);
    memcpy(key, call->account, ID);
    memcpy(key + ID, gid, ID);
    rc = store_del(t, T_TIER_MAPS, key, sizeof key);
    if (rc == 0)
        rc = audit_mapping(t, call, AUDIT_MAPPING_REMOVED, gid, NULL, old, -1);
    if (rc == 0)
        rc = license_update_group(t, call->actor, call->account, gid);
    if (rc)
        return admin_store_fail(call, rc, "directory group");
    return admin_ok(call, 200, json_object());
}

int admin_dirgroup_list(store_txn *t, admin_call *call)
{
    store_cursor *c = NULL;
    store_val k, v;
    json *arr;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    arr = json_array();
    rc = arr ? store_cursor_open(t, T_TIER_MAPS, &c) : STORE_NOMEM;
    for (rc = rc ? rc : store_cursor_seek(c, call->account, ID, &k, &v);
         rc == 0 && k.len == 2 * ID && !memcmp(k.data, call->account, ID);
         rc = store_cursor_next(c, &k, &v)) {
        char gid[ID + 1];
        json *map = json_parse(v.data, v.len, NULL, 0);

        memcpy(gid, (const char *)k.data + ID, ID);
        gid[ID] = 0;
        if (map)
            json_array_append(arr, mapping_view(t, call->account, gid, map));
        json_free(map);
    }
    store_cursor_close(c);
    if (rc && rc != STORE_NOTFOUND) {
        json_free(arr);
        return admin_store_fail(call, rc, "directory groups");
    }
    return admin_ok(call, 200, arr);
}
