/* Licence tiers and counts driven through the provisioning events, as the
 * SCIM service raises them, on a real LMDB store in a temporary directory. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "audit.h"
#include "events.h"
#include "json.h"
#include "license.h"
#include "store.h"

#define ACC "aaaaaaaa-0000-4000-8000-000000000001"
#define OTHER "aaaaaaaa-0000-4000-8000-000000000002"
#define U1 "11111111-0000-4000-8000-000000000001"
#define U2 "11111111-0000-4000-8000-000000000002"
#define U3 "11111111-0000-4000-8000-000000000003"
#define G_BASIC "22222222-0000-4000-8000-00000000000b"
#define G_PRO "22222222-0000-4000-8000-00000000000f"
#define G_PLAIN "22222222-0000-4000-8000-000000000000"

static store *st;
static char dir[64];

/* Each step is a store job; `op` picks what it does. */
struct step {
    const char *op;
    const char *a, *b, *c;
    int n;
};

static void put_str(store_txn *t, enum store_table tab, const char *k1, const char *k2,
                    const char *val)
{
    char key[512];
    size_t n = (size_t)snprintf(key, sizeof key, "%s%s", k1, k2 ? k2 : "");
    ck_assert_int_eq(store_put(t, tab, key, n, val, strlen(val), 0), 0);
}

static json *user_json(const char *name, int active)
{
    char text[256];
    snprintf(text, sizeof text, "{\"userName\":\"%s\",\"active\":%s}", name,
             active ? "true" : "false");
    return json_parse(text, strlen(text), NULL, 0);
}

static json *group_json(const char *name)
{
    char text[256];
    snprintf(text, sizeof text, "{\"displayName\":\"%s\"}", name);
    return json_parse(text, strlen(text), NULL, 0);
}

static int set_user(store_txn *t, const char *uid, const char *name, int active, int existed,
                    int was_active)
{
    json *after = user_json(name, active), *before = existed ? user_json(name, was_active) : NULL;
    char *text = json_dump(after, NULL);
    int rc;

    put_str(t, T_USERS, ACC, uid, text);
    rc = events_user_changed(t, "test", ACC, uid, before, after);
    free(text);
    json_free(after);
    json_free(before);
    return rc;
}

static int membership(store_txn *t, const char *gid, const char *uid, int added)
{
    char k1[128], k2[128];
    char ckey[128];

    snprintf(k1, sizeof k1, "%s%s%s", ACC, gid, uid);
    snprintf(k2, sizeof k2, "%s%s%s", ACC, uid, gid);
    snprintf(ckey, sizeof ckey, "%smembers:%s", ACC, gid);
    if (added) {
        store_put(t, T_MEMBERS, k1, strlen(k1), "", 0, 0);
        store_put(t, T_MEMBER_OF, k2, strlen(k2), "", 0, 0);
    } else {
        store_del(t, T_MEMBERS, k1, strlen(k1));
        store_del(t, T_MEMBER_OF, k2, strlen(k2));
    }
    store_counter_add(t, ckey, strlen(ckey), added ? 1 : -1, NULL);
    return events_membership_changed(t, "test", ACC, gid, uid, added);
}

static int map_group(store_txn *t, const char *gid, const char *tier)
{
    char key[128], val[64];

    snprintf(key, sizeof key, "%s%s", ACC, gid);
    if (tier) {
        snprintf(val, sizeof val, "{\"tier\":\"%s\"}", tier);
        store_put(t, T_TIER_MAPS, key, strlen(key), val, strlen(val), 0);
    } else {
        store_del(t, T_TIER_MAPS, key, strlen(key));
    }
    return license_update_group(t, "test", ACC, gid);
}

static int set_default(store_txn *t, const char *tier)
{
    char val[128];
    snprintf(val, sizeof val, "{\"id\":\"%s\",\"name\":\"Acme\",\"settings\":{\"default_tier\":\"%s\"}}",
             ACC, tier);
    put_str(t, T_ACCOUNTS, ACC, NULL, val);
    return license_update_account(t, "test", ACC, -1);
}

static int run_step(store_txn *t, void *arg)
{
    struct step *s = arg;

    if (!strcmp(s->op, "create"))
        return set_user(t, s->a, s->b, 1, 0, 0);
    if (!strcmp(s->op, "create-inactive"))
        return set_user(t, s->a, s->b, 0, 0, 0);
    if (!strcmp(s->op, "deactivate"))
        return set_user(t, s->a, s->b, 0, 1, 1);
    if (!strcmp(s->op, "reactivate"))
        return set_user(t, s->a, s->b, 1, 1, 0);
    if (!strcmp(s->op, "delete")) {
        json *before = user_json(s->b, 1);
        char key[128];
        int rc;
        snprintf(key, sizeof key, "%s%s", ACC, s->a);
        store_del(t, T_USERS, key, strlen(key));
        rc = events_user_changed(t, "test", ACC, s->a, before, NULL);
        json_free(before);
        return rc;
    }
    if (!strcmp(s->op, "join"))
        return membership(t, s->a, s->b, 1);
    if (!strcmp(s->op, "leave"))
        return membership(t, s->a, s->b, 0);
    if (!strcmp(s->op, "map"))
        return map_group(t, s->a, s->b);
    if (!strcmp(s->op, "default"))
        return set_default(t, s->a);
    if (!strcmp(s->op, "group")) {
        json *after = group_json(s->b), *before = s->c ? group_json(s->c) : NULL;
        int rc = events_group_changed(t, "test", ACC, s->a, before, after);
        char *text = json_dump(after, NULL);
        put_str(t, T_GROUPS, ACC, s->a, text);
        free(text);
        json_free(after);
        json_free(before);
        return rc;
    }
    if (!strcmp(s->op, "delgroup")) {
        json *before = group_json(s->b);
        int rc = events_group_changed(t, "test", ACC, s->a, before, NULL);
        json_free(before);
        return rc;
    }
    if (!strcmp(s->op, "domain")) {
        char val[256];
        snprintf(val, sizeof val, "{\"account\":\"%s\",\"domain\":\"%s\",\"verified\":%s}", s->c,
                 s->a, s->n ? "true" : "false");
        put_str(t, T_DOMAINS, s->a, NULL, val);
        put_str(t, T_ACCOUNT_DOMAINS, s->c, s->a, "");
        return 0;
    }
    if (!strcmp(s->op, "claim")) {
        /* A pending claim: only the account's own T_ACCOUNT_DOMAINS entry. */
        char val[256];
        snprintf(val, sizeof val, "{\"account\":\"%s\",\"domain\":\"%s\",\"verified\":false}",
                 s->c, s->a);
        put_str(t, T_ACCOUNT_DOMAINS, s->c, s->a, val);
        return 0;
    }
    return -100;
}

static void step(const char *op, const char *a, const char *b, const char *c, int n)
{
    struct step s = {op, a, b, c, n};
    ck_assert_msg(store_run(st, run_step, &s) == 0, "step %s %s failed", op, a ? a : "");
}

static const char *tier_of(const char *uid)
{
    store_txn *t;
    const char *tier;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    tier = license_user_tier(t, ACC, uid);
    store_read_end(t);
    return tier;
}

static void assert_counts(uint64_t none, uint64_t basic, uint64_t pro)
{
    store_txn *t;
    uint64_t c[LICENSE_TIER_COUNT];
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(license_counts(t, ACC, c), 0);
    store_read_end(t);
    ck_assert_uint_eq(c[LICENSE_NONE], none);
    ck_assert_uint_eq(c[LICENSE_BASIC], basic);
    ck_assert_uint_eq(c[LICENSE_PRO], pro);
}

static void setup(void)
{
    store_options opt = {0};

    snprintf(dir, sizeof dir, "/tmp/test_license.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    opt.path = dir;
    opt.map_size = 64u << 20;
    ck_assert_int_eq(store_open(&opt, NULL, &st), 0);
    step("default", "basic", NULL, NULL, 0);
    step("group", G_BASIC, "Staff", NULL, 0);
    step("group", G_PRO, "Engineers", NULL, 0);
    step("group", G_PLAIN, "Everyone", NULL, 0);
    step("map", G_BASIC, "basic", NULL, 0);
    step("map", G_PRO, "pro", NULL, 0);
}

static void teardown(void)
{
    char cmd[128];
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(new_user_gets_default)
{
    step("create", U1, "a@example.com", NULL, 0);
    ck_assert_str_eq(tier_of(U1), "basic");
    assert_counts(0, 1, 0);
}
END_TEST

START_TEST(pro_wins_over_basic)
{
    step("create", U1, "a@example.com", NULL, 0);
    step("join", G_BASIC, U1, NULL, 0);
    step("join", G_PRO, U1, NULL, 0);
    ck_assert_str_eq(tier_of(U1), "pro");
    assert_counts(0, 0, 1);
    step("leave", G_PRO, U1, NULL, 0);
    ck_assert_str_eq(tier_of(U1), "basic");
    assert_counts(0, 1, 0);
}
END_TEST

/* Each row: default tier, then the expected tier of a user in no mapped
 * group and of a user in the basic group. */
static const struct {
    const char *def, *unmapped, *in_basic;
} default_cases[] = {
    {"basic", "basic", "basic"},
    {"pro", "pro", "basic"},
    {"none", "none", "basic"},
};

START_TEST(default_tier_applies)
{
    step("create", U1, "a@example.com", NULL, 0);
    step("create", U2, "b@example.com", NULL, 0);
    step("join", G_PLAIN, U1, NULL, 0);
    step("join", G_BASIC, U2, NULL, 0);
    step("default", default_cases[_i].def, NULL, NULL, 0);
    ck_assert_str_eq(tier_of(U1), default_cases[_i].unmapped);
    ck_assert_str_eq(tier_of(U2), default_cases[_i].in_basic);
}
END_TEST

START_TEST(mapping_change_moves_members)
{
    step("create", U1, "a@example.com", NULL, 0);
    step("create", U2, "b@example.com", NULL, 0);
    step("join", G_PLAIN, U1, NULL, 0);
    step("join", G_PLAIN, U2, NULL, 0);
    assert_counts(0, 2, 0);
    step("map", G_PLAIN, "pro", NULL, 0);
    ck_assert_str_eq(tier_of(U1), "pro");
    assert_counts(0, 0, 2);
    step("map", G_PLAIN, "basic", NULL, 0);
    assert_counts(0, 2, 0);
    step("default", "none", NULL, NULL, 0);
    step("map", G_PLAIN, NULL, NULL, 0);
    ck_assert_str_eq(tier_of(U2), "none");
    assert_counts(2, 0, 0);
}
END_TEST

START_TEST(deactivated_users_not_counted)
{
    step("create", U1, "a@example.com", NULL, 0);
    step("create", U2, "b@example.com", NULL, 0);
    step("join", G_PRO, U1, NULL, 0);
    assert_counts(0, 1, 1);
    step("deactivate", U1, "a@example.com", NULL, 0);
    ck_assert_str_eq(tier_of(U1), "none");
    assert_counts(0, 1, 0);
    /* A membership change of a deactivated user does not count them. */
    step("join", G_BASIC, U1, NULL, 0);
    assert_counts(0, 1, 0);
    step("reactivate", U1, "a@example.com", NULL, 0);
    ck_assert_str_eq(tier_of(U1), "pro");
    assert_counts(0, 1, 1);
    step("delete", U2, "b@example.com", NULL, 0);
    ck_assert_str_eq(tier_of(U2), "none");
    assert_counts(0, 0, 1);
}
END_TEST

/* Counts license.changed events of the account. */
static size_t tier_changes(void)
{
    store_txn *t;
    json *events = NULL;
    char next[AUDIT_ID_LEN + 1];
    audit_query q = {.kind = AUDIT_LICENSE_CHANGED, .limit = 1000};
    size_t n;

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC, &q, &events, next), 0);
    store_read_end(t);
    n = json_array_size(events);
    json_free(events);
    return n;
}

/* Each row: the account's default tier, then the tier and counts of a
 * user created after it was set. */
static const struct {
    const char *def, *tier;
    uint64_t none, basic, pro;
} create_cases[] = {
    {"basic", "basic", 0, 1, 0},
    {"pro", "pro", 0, 0, 1},
    {"none", "none", 1, 0, 0},
};

START_TEST(created_user_gets_default)
{
    store_txn *t;
    json *events = NULL;
    char next[AUDIT_ID_LEN + 1];
    audit_query q = {.kind = AUDIT_LICENSE_CHANGED};
    const json *details;

    step("default", create_cases[_i].def, NULL, NULL, 0);
    step("create", U1, "a@example.com", NULL, 0);
    ck_assert_str_eq(tier_of(U1), create_cases[_i].tier);
    assert_counts(create_cases[_i].none, create_cases[_i].basic, create_cases[_i].pro);

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC, &q, &events, next), 0);
    store_read_end(t);
    ck_assert_uint_eq(json_array_size(events), 1);
    details = json_object_get(json_array_get(events, 0), "details");
    ck_assert_str_eq(json_get_string(details, "user_id"), U1);
    ck_assert_int_eq(json_typeof(json_object_get(details, "from")), JSON_NULL);
    ck_assert_str_eq(json_get_string(details, "to"), create_cases[_i].tier);
    json_free(events);
}
END_TEST

START_TEST(created_inactive_user_not_counted)
{
    step("create-inactive", U1, "a@example.com", NULL, 0);
    ck_assert_str_eq(tier_of(U1), "none");
    assert_counts(0, 0, 0);
    ck_assert_uint_eq(tier_changes(), 0);
    step("reactivate", U1, "a@example.com", NULL, 0);
    ck_assert_str_eq(tier_of(U1), "basic");
    assert_counts(0, 1, 0);
    ck_assert_uint_eq(tier_changes(), 1);
}
END_TEST

START_TEST(unmapped_group_keeps_tiers)
{
    size_t changes;

    step("create", U1, "a@example.com", NULL, 0);
    step("join", G_PRO, U1, NULL, 0);
    changes = tier_changes();
    /* Joining and leaving an unmapped group changes no tier. */
    step("join", G_PLAIN, U1, NULL, 0);
    step("leave", G_PRO, U1, NULL, 0);
    ck_assert_str_eq(tier_of(U1), "basic");
    step("leave", G_PLAIN, U1, NULL, 0);
    ck_assert_str_eq(tier_of(U1), "basic");
    ck_assert_uint_eq(tier_changes(), changes + 1);
    assert_counts(0, 1, 0);
    /* Mapping it later still reaches its members. */
    step("join", G_PLAIN, U1, NULL, 0);
    step("map", G_PLAIN, "pro", NULL, 0);
    ck_assert_str_eq(tier_of(U1), "pro");
    assert_counts(0, 0, 1);
}
END_TEST

START_TEST(group_rename_keeps_tiers)
{
    step("create", U1, "a@example.com", NULL, 0);
    step("join", G_PRO, U1, NULL, 0);
    step("group", G_PRO, "Engineering", "Engineers", 0);
    ck_assert_str_eq(tier_of(U1), "pro");
    assert_counts(0, 0, 1);
}
END_TEST

START_TEST(group_delete_drops_mapping)
{
    store_txn *t;
    json *events = NULL;
    char next[AUDIT_ID_LEN + 1];
    audit_query q = {.kind = AUDIT_MAPPING_DROPPED};

    step("create", U1, "a@example.com", NULL, 0);
    step("create", U2, "b@example.com", NULL, 0);
    step("create", U3, "c@example.com", NULL, 0);
    step("join", G_PRO, U1, NULL, 0);
    step("join", G_PRO, U2, NULL, 0);
    step("join", G_BASIC, U2, NULL, 0);
    assert_counts(0, 1, 2);
    /* One membership goes first with its event, the other stays for a
     * later clean-up, as the SCIM service does for small and large groups. */
    step("leave", G_PRO, U1, NULL, 0);
    ck_assert_str_eq(tier_of(U1), "basic");
    step("delgroup", G_PRO, "Engineers", NULL, 0);
    ck_assert_str_eq(tier_of(U2), "basic");
    assert_counts(0, 3, 0);
    /* The clean-up's removal of a dropped group's membership keeps it. */
    step("leave", G_PRO, U2, NULL, 0);
    ck_assert_str_eq(tier_of(U2), "basic");
    assert_counts(0, 3, 0);

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(audit_list(t, ACC, &q, &events, next), 0);
    store_read_end(t);
    ck_assert_uint_eq(json_array_size(events), 1);
    ck_assert_str_eq(json_get_string(json_object_get(json_array_get(events, 0), "details"),
                                     "group_id"),
                     G_PRO);
    json_free(events);
}
END_TEST

START_TEST(audit_pages_and_filters)
{
    store_txn *t;
    json *events = NULL;
    char next[AUDIT_ID_LEN + 1], after[AUDIT_ID_LEN + 1];
    audit_query q = {.kind = "user.", .limit = 2};
    size_t total = 0;

    step("create", U1, "a@example.com", NULL, 0);
    step("create", U2, "b@example.com", NULL, 0);
    step("create", U3, "c@example.com", NULL, 0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    for (int page = 0; page < 5; page++) {
        ck_assert_int_eq(audit_list(t, ACC, &q, &events, next), 0);
        total += json_array_size(events);
        for (size_t i = 0; i < json_array_size(events); i++)
            ck_assert_str_eq(json_get_string(json_array_get(events, i), "kind"), AUDIT_USER_CREATED);
        json_free(events);
        if (!next[0])
            break;
        snprintf(after, sizeof after, "%s", next);
        q.after = after;
    }
    store_read_end(t);
    ck_assert_uint_eq(total, 3);
}
END_TEST

START_TEST(domain_allowed_rules)
{
    store_txn *t;

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@anything.test"), 1);
    store_read_end(t);

    step("domain", "pending.test", NULL, ACC, 0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@anything.test"), 1);
    store_read_end(t);

    step("domain", "example.com", NULL, ACC, 1);
    step("domain", "other.test", NULL, OTHER, 1);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@example.com"), 1);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "A@Example.COM"), 1);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@pending.test"), 0);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@other.test"), 0);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@sub.example.com"), 0);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "no-at-sign"), 0);
    ck_assert_int_eq(license_domain_allowed(t, OTHER, "a@other.test"), 1);
    store_read_end(t);
}
END_TEST

START_TEST(domain_pending_claims_do_not_count)
{
    store_txn *t;

    /* OTHER verified other.test, ACC holds a pending claim on it and on
     * claimed.test, and OTHER a pending claim on ACC's example.com. */
    step("domain", "example.com", NULL, ACC, 1);
    step("domain", "other.test", NULL, OTHER, 1);
    step("claim", "other.test", NULL, ACC, 0);
    step("claim", "claimed.test", NULL, ACC, 0);
    step("claim", "example.com", NULL, OTHER, 0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@example.com"), 1);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@other.test"), 0);
    ck_assert_int_eq(license_domain_allowed(t, ACC, "a@claimed.test"), 0);
    ck_assert_int_eq(license_domain_allowed(t, OTHER, "a@other.test"), 1);
    ck_assert_int_eq(license_domain_allowed(t, OTHER, "a@example.com"), 0);
    store_read_end(t);
}
END_TEST

/* Values checked together, and whether each may be used once ACC has
 * verified example.com and beta.test. */
static const struct {
    const char *values[3];
    size_t count;
    int allowed[3];
} domains_cases[] = {
    {{"a@example.com", "b@beta.test"}, 2, {1, 1}},
    {{"a@other.test", "b@beta.test"}, 2, {0, 1}},
    {{"a@Example.com", "b@other.test", "c@BETA.TEST"}, 3, {1, 0, 1}},
    {{"a@example.com", "a@example.com"}, 2, {1, 1}},
    {{NULL, "no-at-sign"}, 2, {0, 0}},
    {{"a@sub.example.com"}, 1, {0}},
    {{NULL}, 0, {0}},
};

START_TEST(domains_allowed_together)
{
    store_txn *t;
    int allowed[3] = {-1, -1, -1};

    step("domain", "example.com", NULL, ACC, 1);
    step("domain", "beta.test", NULL, ACC, 1);
    step("domain", "pending.test", NULL, ACC, 0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(license_domains_allowed(t, ACC, domains_cases[_i].values,
                                             domains_cases[_i].count, allowed),
                     0);
    for (size_t i = 0; i < domains_cases[_i].count; i++)
        ck_assert_msg(allowed[i] == domains_cases[_i].allowed[i], "value %zu: allowed %d", i,
                      allowed[i]);

    /* An account without a verified domain allows every value. */
    ck_assert_int_eq(license_domains_allowed(t, OTHER, domains_cases[_i].values,
                                             domains_cases[_i].count, allowed),
                     0);
    for (size_t i = 0; i < domains_cases[_i].count; i++)
        ck_assert_int_eq(allowed[i], 1);
    store_read_end(t);
}
END_TEST

START_TEST(audit_time_parsing)
{
    int64_t v;
    char out[40];

    ck_assert_int_eq(audit_parse_time("1970-01-02", &v), 0);
    ck_assert_int_eq(v, 86400LL * 1000000);
    ck_assert_int_eq(audit_parse_time("2026-01-31T12:00:00.5Z", &v), 0);
    audit_format_time(v, out, sizeof out);
    ck_assert_str_eq(out, "2026-01-31T12:00:00.500000Z");
    ck_assert_int_eq(audit_parse_time("2026-01-31T14:00:00+02:00", &v), 0);
    audit_format_time(v, out, sizeof out);
    ck_assert_str_eq(out, "2026-01-31T12:00:00.000000Z");
    ck_assert_int_eq(audit_parse_time("2026-13-01", &v), -1);
    ck_assert_int_eq(audit_parse_time("yesterday", &v), -1);
    ck_assert_int_eq(audit_parse_time("2026-01-31T12:00", &v), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("license");
    TCase *tc = tcase_create("tiers");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, new_user_gets_default);
    tcase_add_test(tc, pro_wins_over_basic);
    tcase_add_loop_test(tc, default_tier_applies, 0,
                        (int)(sizeof default_cases / sizeof default_cases[0]));
    tcase_add_test(tc, mapping_change_moves_members);
    tcase_add_test(tc, deactivated_users_not_counted);
    tcase_add_test(tc, group_rename_keeps_tiers);
    tcase_add_test(tc, group_delete_drops_mapping);
    tcase_add_test(tc, unmapped_group_keeps_tiers);
    tcase_add_loop_test(tc, created_user_gets_default, 0,
                        sizeof create_cases / sizeof create_cases[0]);
    tcase_add_test(tc, created_inactive_user_not_counted);
    tcase_add_test(tc, audit_pages_and_filters);
    tcase_add_test(tc, domain_allowed_rules);
    tcase_add_test(tc, domain_pending_claims_do_not_count);
    tcase_add_loop_test(tc, domains_allowed_together, 0,
                        sizeof domains_cases / sizeof domains_cases[0]);
    tcase_add_test(tc, audit_time_parsing);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
