/* Unit tests of the SCIM store jobs against a real store in a fresh
 * temporary directory per test: indexes, uniqueness, memberships in both
 * directions, member counters, clean-up on delete and account isolation. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>

#include "scim/patch.h"
#include "scim/related_text.h"
#include "scim/scim_store.h"
#include "scim/splice.h"

#define ACC1 "0191a000-0000-7000-8000-000000000001"
#define ACC2 "0191a000-0000-7000-8000-000000000002"

static char dir[64];
static store *st;

/* Licence events read the account record, so each test account exists. */
static int put_accounts(store_txn *t, void *arg)
{
    static const char *const ids[] = {ACC1, ACC2};
    for (size_t i = 0; i < 2; i++) {
        char text[128];
        int n = snprintf(text, sizeof text, "{\"id\":\"%s\",\"name\":\"Test %zu\"}", ids[i], i);
        int rc = store_put(t, T_ACCOUNTS, ids[i], STORE_ID_LEN, text, (size_t)n, 0);
        if (rc)
            return rc;
    }
    return 0;
}

static void setup(void)
{
    store_options opt = {0};

    snprintf(dir, sizeof dir, "/tmp/idgate-scim-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    opt.path = dir;
    opt.map_size = 64u << 20;
    ck_assert_int_eq(store_open(&opt, NULL, &st), 0);
    ck_assert_int_eq(store_run(st, put_accounts, NULL), 0);
}

static void teardown(void)
{
    char cmd[128];
    store_close(st);
    st = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static json *parse(const char *text)
{
    json *j = json_parse(text, strlen(text), NULL, 0);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* Runs one job on `input` (taken) for `account` and target `id`; copies the
 * resulting id to `id_out` and the error to `err` when not NULL. */
static int run_job(store_job_fn fn, const char *account, const char *id, json *input,
                   const scim_patch *patch, char *id_out, scim_error *err)
{
    scim_write w = {0};
    int rc;

    snprintf(w.account, sizeof w.account, "%s", account);
    snprintf(w.actor, sizeof w.actor, "scim:test");
    if (id)
        snprintf(w.id, sizeof w.id, "%s", id);
    w.input = input;
    w.patch = patch;
    w.replace_members = 1;
    rc = store_run(st, fn, &w);
    if (id_out)
        memcpy(id_out, w.id, STORE_ID_LEN + 1);
    if (err)
        *err = w.err;
    scim_write_clear(&w);
    return rc;
}

static void create_user(const char *account, const char *name, const char *email, char id[37])
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"userName\":\"%s\",\"displayName\":\"D %s\",\"externalId\":\"ext-%s\","
             "\"emails\":[{\"value\":\"%s\",\"type\":\"work\"}],\"active\":true}",
             name, name, name, email);
    ck_assert_int_eq(run_job(scim_store_user_create, account, NULL, parse(text), NULL, id, NULL),
                     0);
}

static int create_group(const char *account, const char *name, const char **members, size_t n,
                        char id[37], scim_error *err)
{
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "{\"displayName\":\"%s\",\"members\":[", name);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s{\"value\":\"%s\"}",
                                i ? "," : "", members[i]);
    snprintf(text + len, sizeof text - len, "]}");
    return run_job(scim_store_group_create, account, NULL, parse(text), NULL, id, err);
}

/* Looks up a raw key built from parts (NUL bytes allowed through lengths). */
static int key_exists(enum store_table tab, const char *a, const char *b, size_t blen,
                      const char *c)
{
    char k[512];
    size_t n = 0;
    store_txn *t;
    store_val v;

    memcpy(k, a, strlen(a));
    n += strlen(a);
    memcpy(k + n, b, blen);
    n += blen;
    if (c) {
        memcpy(k + n, c, strlen(c));
        n += strlen(c);
    }
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = store_get(t, tab, k, n, &v);
    store_read_end(t);
    return rc == 0;
}

static int member_pair(const char *acc, const char *g, const char *u)
{
    int fwd = key_exists(T_MEMBERS, acc, g, 36, u);
    int back = key_exists(T_MEMBER_OF, acc, u, 36, g);
    ck_assert_int_eq(fwd, back);
    return fwd;
}

static uint64_t member_count(const char *acc, const char *g)
{
    store_txn *t;
    uint64_t n = 99;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_member_count(t, acc, g, &n), 0);
    store_read_end(t);
    return n;
}

static int find_user(const char *acc, const char *name, char id[37])
{
    store_txn *t;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = scim_store_user_by_name(t, acc, name, id);
    store_read_end(t);
    return rc;
}

START_TEST(user_create_writes_indexes)
{
    char id[37], found[37];
    create_user(ACC1, "Alice@Example.com", "Alice@Example.COM", id);

    ck_assert_int_eq(strlen(id), 36);
    ck_assert_int_eq(find_user(ACC1, "alice@EXAMPLE.com", found), 0);
    ck_assert_str_eq(found, id);
    ck_assert(key_exists(T_USERS, ACC1, id, 36, NULL));
    ck_assert(key_exists(T_USER_EXTIDS, ACC1, "ext-Alice@Example.com\0", 22, id));
    ck_assert(key_exists(T_USER_EMAILS, ACC1, "alice@example.com\0", 18, id));
}
END_TEST

START_TEST(user_meta_and_version)
{
    char id[37];
    store_txn *t;
    json *u = NULL;

    create_user(ACC1, "meta", "meta@example.com", id);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_user_load(t, ACC1, id, &u), 0);
    store_read_end(t);
    json *meta = json_object_get(u, "meta");
    ck_assert_str_eq(json_get_string(meta, "resourceType"), "User");
    ck_assert_str_eq(json_get_string(meta, "version"), "W/\"1\"");
    ck_assert_int_eq(strlen(json_get_string(meta, "created")), 24);
    ck_assert_str_eq(json_get_string(u, "id"), id);
    json_free(u);
}
END_TEST

/* Older builds stored strings that are not well-formed UTF-8, such as the
 * overlong "\xc0\xaf". Such a user must stay readable, replaceable and
 * deletable. */
START_TEST(stored_malformed_utf8_stays_usable)
{
    char id[37];
    store_txn *t;
    json *u = NULL;

    create_user(ACC1, "bad\xc0\xaf", "bad\xc0\xaf@example.com", id);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_user_load(t, ACC1, id, &u), 0);
    store_read_end(t);
    ck_assert_str_eq(json_get_string(u, "userName"), "bad\xc0\xaf");
    json_free(u);
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id, parse("{\"userName\":\"fixed\"}"),
                             NULL, NULL, NULL),
                     0);
    ck_assert_int_eq(run_job(scim_store_user_delete, ACC1, id, NULL, NULL, NULL, NULL), 0);
}
END_TEST

/* Same userName in any case is one user per account, but free in another. */
static const char *const duplicate_names[] = {"bob@example.com", "BOB@example.com",
                                              "Bob@Example.Com"};

START_TEST(user_name_unique_per_account)
{
    char id[37], other[37];
    scim_error err = {0};
    create_user(ACC1, "bob@example.com", "bob@example.com", id);

    json *dup = parse("{}");
    json_object_set(dup, "userName", json_string(duplicate_names[_i]));
    ck_assert_int_eq(run_job(scim_store_user_create, ACC1, NULL, dup, NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 409);
    ck_assert_str_eq(err.scim_type, "uniqueness");
    ck_assert_ptr_nonnull(strstr(err.detail, "userName"));

    create_user(ACC2, duplicate_names[_i], "bob@example.com", other);
    ck_assert_str_ne(other, id);
}
END_TEST

/* Pairs of userNames that differ only in case beyond ASCII: the second
 * is taken once the first exists, and either finds the user. */
static const char *const unicode_case_pairs[][2] = {
    {"ärzte@example.com", "ÄRZTE@example.com"},
    {"straße@example.com", "STRASSE@example.com"},
    {"όσος@example.com", "ΌΣΟΣ@example.com"},
    {"kelvin@example.com", "\xe2\x84\xaa" "elvin@example.com"}, /* U+212A KELVIN SIGN */
    {"ǆemal@example.com", "ǅemal@example.com"},
};

START_TEST(user_name_unique_ignoring_unicode_case)
{
    char id[37], found[37];
    scim_error err = {0};

    create_user(ACC1, unicode_case_pairs[_i][0], "u@example.com", id);
    json *dup = parse("{}");
    json_object_set(dup, "userName", json_string(unicode_case_pairs[_i][1]));
    ck_assert_int_eq(run_job(scim_store_user_create, ACC1, NULL, dup, NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 409);
    ck_assert_str_eq(err.scim_type, "uniqueness");
    ck_assert_int_eq(find_user(ACC1, unicode_case_pairs[_i][1], found), 0);
    ck_assert_str_eq(found, id);
}
END_TEST

static int count_id(const char *id, void *ctx)
{
    (void)id;
    (*(int *)ctx)++;
    return 0;
}

/* A rename that changes only case keeps the name entry, and emails are
 * found in any case. */
START_TEST(unicode_case_rename_and_email)
{
    char id[37], found[37];
    store_txn *t;
    int n = 0;

    create_user(ACC1, "émile@example.com", "Émile@Example.com", id);
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id,
                             parse("{\"userName\":\"ÉMILE@example.com\"}"), NULL, NULL, NULL),
                     0);
    ck_assert_int_eq(find_user(ACC1, "émile@EXAMPLE.com", found), 0);
    ck_assert_str_eq(found, id);
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id,
                             parse("{\"userName\":\"émile@example.com\","
                                   "\"emails\":[{\"value\":\"ÉMILE@example.com\"}]}"),
                             NULL, NULL, NULL),
                     0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_ids_by_email(t, ACC1, "émile@example.com", count_id, &n), 0);
    store_read_end(t);
    ck_assert_int_eq(n, 1);
}
END_TEST

/* 200 x "և" is 400 bytes and folds to 800: too long for an index key,
 * which gets 400 naming the attribute, never a store error. */
START_TEST(value_too_long_once_folded)
{
    char name[512] = "", text[1400];
    scim_error err = {0};

    for (int i = 0; i < 200; i++)
        strcat(name, "\xd6\x87");
    ck_assert_uint_eq(strlen(name), 400);
    snprintf(text, sizeof text, "{\"userName\":\"%s\"}", name);
    ck_assert_int_eq(run_job(scim_store_user_create, ACC1, NULL, parse(text), NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.scim_type, "invalidValue");
    ck_assert_str_eq(err.detail, "userName is longer than 400 bytes once its case is folded");

    snprintf(text, sizeof text, "{\"userName\":\"ok\",\"emails\":[{\"value\":\"%s\"}]}", name);
    ck_assert_int_eq(run_job(scim_store_user_create, ACC1, NULL, parse(text), NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.detail, "emails.value is longer than 400 bytes once its case is folded");

    ck_assert_int_eq(create_group(ACC1, name, NULL, 0, NULL, &err), SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.detail, "displayName is longer than 400 bytes once its case is folded");
}
END_TEST

START_TEST(group_name_unique_ignoring_unicode_case)
{
    char g[37];
    scim_error err = {0};

    ck_assert_int_eq(create_group(ACC1, "Ärzte", NULL, 0, g, NULL), 0);
    ck_assert_int_eq(create_group(ACC1, "ÄRZTE", NULL, 0, NULL, &err), SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 409);
}
END_TEST

/* Raw store edits that recreate what an earlier build wrote. Each returns
 * 0 or a STORE_* error. */

/* Removes the marker of a refolded store, if it is there. */
static int forget_refold(store_txn *t)
{
    int rc = store_del(t, T_META, "scim:index_fold", 15);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Moves ACC1's name entry of `id` from the key of `from` to that of `to`. */
static int move_name_key(store_txn *t, const char *id, const char *from, const char *to)
{
    char key[512];
    int rc;

    snprintf(key, sizeof key, "%s%s", ACC1, from);
    if ((rc = store_del(t, T_USER_NAMES, key, strlen(key))) != 0)
        return rc;
    snprintf(key, sizeof key, "%s%s", ACC1, to);
    return store_put(t, T_USER_NAMES, key, strlen(key), id, 36, 0);
}

/* Moves ACC1's email entry of `id` from the key of `from` to that of `to`. */
static int move_email_key(store_txn *t, const char *id, const char *from, const char *to)
{
    char key[600];
    size_t n;
    int rc;

    n = (size_t)snprintf(key, sizeof key, "%s%s", ACC1, from);
    memcpy(key + n + 1, id, 36);
    if ((rc = store_del(t, T_USER_EMAILS, key, n + 37)) != 0)
        return rc;
    n = (size_t)snprintf(key, sizeof key, "%s%s", ACC1, to);
    memcpy(key + n + 1, id, 36);
    return store_put(t, T_USER_EMAILS, key, n + 37, "", 0, 0);
}

static void replace_same_length(char *text, const char *from, const char *to);

/* Replaces `from` by `to`, of the same length, in the stored text of ACC1's
 * user `id`. */
static int rewrite_user_text(store_txn *t, const char *id, const char *from, const char *to)
{
    char key[128], text[4096];
    store_val v;
    int rc;

    snprintf(key, sizeof key, "%s%s", ACC1, id);
    if ((rc = store_get(t, T_USERS, key, 72, &v)) != 0)
        return rc;
    ck_assert_uint_lt(v.len, sizeof text);
    memcpy(text, v.data, v.len);
    text[v.len] = '\0';
    replace_same_length(text, from, to);
    return store_put(t, T_USERS, key, 72, text, v.len, 0);
}

/* Writes index entries as a build that folded ASCII letters only wrote
 * them, for the user `arg` named "ÄRZTE@example.com", and removes the
 * refold marker. */
static int make_ascii_folded(store_txn *t, void *arg)
{
    const char *id = arg;
    int rc;

    if ((rc = forget_refold(t)) != 0 ||
        (rc = move_name_key(t, id, "ärzte@example.com", "Ärzte@example.com")) != 0)
        return rc;
    return move_email_key(t, id, "ärzte@example.com", "Ärzte@example.com");
}

START_TEST(refold_moves_ascii_folded_keys)
{
    char id[37], found[37];
    scim_refold_report r;
    store_txn *t;
    int n = 0;

    ck_assert_int_eq(scim_store_refold(st, &r), 0);
    ck_assert_int_eq(r.ran, 1);
    ck_assert_uint_eq(r.moved, 0);
    create_user(ACC1, "ÄRZTE@example.com", "ÄRZTE@example.com", id);
    ck_assert_int_eq(store_run(st, make_ascii_folded, id), 0);
    ck_assert_int_ne(find_user(ACC1, "ärzte@example.com", found), 0);
    ck_assert(key_exists(T_USER_NAMES, ACC1, "Ärzte@example.com", 18, NULL));

    ck_assert_int_eq(scim_store_refold(st, &r), 0);
    ck_assert_int_eq(r.ran, 1);
    ck_assert_uint_eq(r.moved, 2);
    ck_assert_uint_eq(r.clashes_total, 0);
    ck_assert_int_eq(find_user(ACC1, "ärzte@example.com", found), 0);
    ck_assert_str_eq(found, id);
    ck_assert(!key_exists(T_USER_NAMES, ACC1, "Ärzte@example.com", 18, NULL));
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_ids_by_email(t, ACC1, "Ärzte@example.com", count_id, &n), 0);
    store_read_end(t);
    ck_assert_int_eq(n, 1);

    ck_assert_int_eq(scim_store_refold(st, &r), 0);
    ck_assert_int_eq(r.ran, 0);
}
END_TEST

/* Turns the user `arg`, stored as "bbbbbb@example.com", into one named
 * "ÄRZTE@example.com" with the name entry an ASCII-only fold gave it. */
static int rename_raw(store_txn *t, void *arg)
{
    const char *id = arg;
    int rc;

    if ((rc = rewrite_user_text(t, id, "bbbbbb@example.com", "ÄRZTE@example.com")) != 0 ||
        (rc = move_name_key(t, id, "bbbbbb@example.com", "Ärzte@example.com")) != 0)
        return rc;
    return forget_refold(t);
}

/* Two users whose names fold alike: the one at the folded key keeps it,
 * the other is reported, and deleting the other leaves the entry. */
START_TEST(refold_clash_keeps_owner)
{
    char a[37], b[37], found[37];
    scim_refold_report r;

    create_user(ACC1, "ärzte@example.com", "a@example.com", a);
    create_user(ACC1, "bbbbbb@example.com", "b@example.com", b);
    ck_assert_int_eq(store_run(st, rename_raw, b), 0);

    ck_assert_int_eq(scim_store_refold(st, &r), 0);
    ck_assert_uint_eq(r.clashes_total, 1);
    ck_assert_uint_eq(r.n_clashes, 1);
    ck_assert_str_eq(r.clashes[0].account, ACC1);
    ck_assert_str_eq(r.clashes[0].owner, a);
    ck_assert_str_eq(r.clashes[0].dropped, b);
    ck_assert_str_eq(r.clashes[0].attr, "userName");
    ck_assert(!key_exists(T_USER_NAMES, ACC1, "Ärzte@example.com", 18, NULL));

    /* The other keeps its name but cannot take the owner's exact one. */
    scim_error err = {0};
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, b,
                             parse("{\"userName\":\"ärzte@example.com\"}"), NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 409);
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, b,
                             parse("{\"userName\":\"ÄRZTE@example.com\",\"active\":false}"),
                             NULL, NULL, NULL),
                     0);

    ck_assert_int_eq(run_job(scim_store_user_delete, ACC1, b, NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(find_user(ACC1, "ÄRZTE@example.com", found), 0);
    ck_assert_str_eq(found, a);
}
END_TEST

/* 200 x "և": 400 bytes, 800 once folded. */
static void long_folding_value(char out[401])
{
    out[0] = '\0';
    for (int i = 0; i < 200; i++)
        strcat(out, "\xd6\x87");
}

/* Gives the user `arg`, created with an email of 400 "a", an email of 200
 * "և" instead, with the key an ASCII-only fold gave it. */
static int long_email_raw(store_txn *t, void *arg)
{
    const char *id = arg;
    char a400[401], value[401];
    int rc;

    memset(a400, 'a', 400);
    a400[400] = '\0';
    long_folding_value(value);
    if ((rc = rewrite_user_text(t, id, a400, value)) != 0 ||
        (rc = move_email_key(t, id, a400, value)) != 0)
        return rc;
    return forget_refold(t);
}

/* An email whose fold fits no key is dropped and reported, and the user
 * can still be deactivated and deleted. */
START_TEST(refold_drops_value_too_long)
{
    char id[37], a400[401], value[401], text[1024];
    scim_refold_report r;

    memset(a400, 'a', 400);
    a400[400] = '\0';
    snprintf(text, sizeof text, "{\"userName\":\"long@example.com\",\"emails\":[{\"value\":\"%s\"}]}",
             a400);
    ck_assert_int_eq(run_job(scim_store_user_create, ACC1, NULL, parse(text), NULL, id, NULL), 0);
    ck_assert_int_eq(store_run(st, long_email_raw, id), 0);

    ck_assert_int_eq(scim_store_refold(st, &r), 0);
    ck_assert_uint_eq(r.unfoldable, 1);
    ck_assert_uint_eq(r.clashes_total, 0);
    ck_assert_uint_eq(r.n_clashes, 1);
    ck_assert_str_eq(r.clashes[0].owner, "");
    ck_assert_str_eq(r.clashes[0].dropped, id);
    ck_assert_str_eq(r.clashes[0].attr, "emails.value");

    long_folding_value(value);
    snprintf(text, sizeof text,
             "{\"userName\":\"long@example.com\",\"active\":false,"
             "\"emails\":[{\"value\":\"%s\"}]}", value);
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id, parse(text), NULL, NULL, NULL), 0);
    ck_assert_int_eq(run_job(scim_store_user_delete, ACC1, id, NULL, NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(user_replace_moves_indexes)
{
    char id[37], found[37];
    create_user(ACC1, "carol", "carol@example.com", id);

    json *in = parse("{\"userName\":\"caroline\",\"emails\":[{\"value\":\"c2@example.com\"}]}");
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id, in, NULL, NULL, NULL), 0);
    ck_assert_int_eq(find_user(ACC1, "carol", found), STORE_NOTFOUND);
    ck_assert_int_eq(find_user(ACC1, "CAROLINE", found), 0);
    ck_assert_str_eq(found, id);
    ck_assert(!key_exists(T_USER_EMAILS, ACC1, "carol@example.com\0", 18, id));
    ck_assert(key_exists(T_USER_EMAILS, ACC1, "c2@example.com\0", 15, id));
    ck_assert(!key_exists(T_USER_EXTIDS, ACC1, "ext-carol\0", 10, id));
}
END_TEST

static int drop_extid_entry(store_txn *t, void *arg)
{
    char key[128];
    int n = snprintf(key, sizeof key, "%sext-erin", ACC1);

    key[n] = '\0';
    memcpy(key + n + 1, arg, 36);
    return store_del(t, T_USER_EXTIDS, key, (size_t)n + 1 + 36);
}

/* A replace that keeps some index values leaves their entries, restores
 * one that went missing, and moves the others, also past the number of
 * entries compared pairwise. */
START_TEST(user_replace_keeps_indexes)
{
    char id[37], text[1024];
    size_t len;
    json *in;

    create_user(ACC1, "erin", "Erin@Example.com", id);
    ck_assert_int_eq(store_run(st, drop_extid_entry, id), 0);
    ck_assert(!key_exists(T_USER_EXTIDS, ACC1, "ext-erin\0", 9, id));

    in = parse("{\"userName\":\"erin\",\"externalId\":\"ext-erin\",\"emails\":["
               "{\"value\":\"erin@EXAMPLE.com\"},{\"value\":\"e2@example.com\"}]}");
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id, in, NULL, NULL, NULL), 0);
    ck_assert(key_exists(T_USER_EXTIDS, ACC1, "ext-erin\0", 9, id));
    ck_assert(key_exists(T_USER_EMAILS, ACC1, "erin@example.com\0", 17, id));
    ck_assert(key_exists(T_USER_EMAILS, ACC1, "e2@example.com\0", 15, id));

    len = (size_t)snprintf(text, sizeof text, "{\"userName\":\"erin\",\"emails\":[");
    for (int i = 0; i < 10; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s{\"value\":\"m%d@example.com\"}",
                                i ? "," : "", i);
    snprintf(text + len, sizeof text - len, "]}");
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id, parse(text), NULL, NULL, NULL), 0);
    ck_assert(!key_exists(T_USER_EXTIDS, ACC1, "ext-erin\0", 9, id));
    ck_assert(!key_exists(T_USER_EMAILS, ACC1, "erin@example.com\0", 17, id));
    ck_assert(!key_exists(T_USER_EMAILS, ACC1, "e2@example.com\0", 15, id));
    ck_assert(key_exists(T_USER_EMAILS, ACC1, "m0@example.com\0", 15, id));
    ck_assert(key_exists(T_USER_EMAILS, ACC1, "m9@example.com\0", 15, id));

    in = parse("{\"userName\":\"erin\",\"emails\":[{\"value\":\"m9@example.com\"}]}");
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id, in, NULL, NULL, NULL), 0);
    ck_assert(!key_exists(T_USER_EMAILS, ACC1, "m0@example.com\0", 15, id));
    ck_assert(key_exists(T_USER_EMAILS, ACC1, "m9@example.com\0", 15, id));
}
END_TEST

START_TEST(user_replace_to_taken_name)
{
    char a[37], b[37], found[37];
    scim_error err = {0};
    create_user(ACC1, "dave", "dave@example.com", a);
    create_user(ACC1, "erin", "erin@example.com", b);

    json *in = parse("{\"userName\":\"DAVE\"}");
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, b, in, NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 409);
    ck_assert_int_eq(find_user(ACC1, "erin", found), 0);
    ck_assert_str_eq(found, b);
}
END_TEST

START_TEST(user_replace_stale_version)
{
    char id[37];
    scim_write w = {0};
    create_user(ACC1, "frank", "frank@example.com", id);

    memcpy(w.account, ACC1, 37);
    memcpy(w.id, id, 37);
    w.input = parse("{\"userName\":\"frank\"}");
    w.if_match = strdup("W/\"7\"");
    ck_assert_int_eq(store_run(st, scim_store_user_replace, &w), SCIM_STORE_REJECTED);
    ck_assert_int_eq(w.err.status, 412);
    free(w.if_match);
    w.if_match = strdup("W/\"1\"");
    ck_assert_int_eq(store_run(st, scim_store_user_replace, &w), 0);
    ck_assert_str_eq(scim_store_version(w.result), "W/\"2\"");
    scim_write_clear(&w);
}
END_TEST

START_TEST(unknown_id_is_not_found)
{
    scim_error err = {0};
    const char *missing = "0191a000-0000-7000-8000-00000000ffff";
    ck_assert_int_eq(run_job(scim_store_user_delete, ACC1, missing, NULL, NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 404);
    ck_assert_int_eq(run_job(scim_store_group_delete, ACC1, "not-an-id", NULL, NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 404);
}
END_TEST

START_TEST(other_account_cannot_touch)
{
    char id[37];
    scim_error err = {0};
    store_txn *t;
    json *u = NULL;
    create_user(ACC1, "grace", "grace@example.com", id);

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_user_load(t, ACC2, id, &u), STORE_NOTFOUND);
    store_read_end(t);
    ck_assert_int_eq(run_job(scim_store_user_delete, ACC2, id, NULL, NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 404);
    ck_assert(key_exists(T_USERS, ACC1, id, 36, NULL));

    /* A user of ACC1 cannot join a group of ACC2. */
    const char *members[] = {id};
    char g[37];
    ck_assert_int_eq(create_group(ACC2, "Eng", members, 1, g, &err), SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 400);
}
END_TEST

START_TEST(group_create_with_members)
{
    char u1[37], u2[37], g[37];
    create_user(ACC1, "u1", "u1@example.com", u1);
    create_user(ACC1, "u2", "u2@example.com", u2);
    const char *members[] = {u1, u2, u1};

    ck_assert_int_eq(create_group(ACC1, "Engineering", members, 3, g, NULL), 0);
    ck_assert(member_pair(ACC1, g, u1));
    ck_assert(member_pair(ACC1, g, u2));
    ck_assert_int_eq(member_count(ACC1, g), 2);
    ck_assert(key_exists(T_GROUP_NAMES, ACC1, "engineering", 11, NULL));
}
END_TEST

START_TEST(group_unknown_member_changes_nothing)
{
    char u1[37], g[37];
    scim_error err = {0};
    create_user(ACC1, "u1", "u1@example.com", u1);
    const char *members[] = {u1, "0191a000-0000-7000-8000-00000000dead"};

    ck_assert_int_eq(create_group(ACC1, "Sales", members, 2, g, &err), SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.scim_type, "invalidValue");
    ck_assert_ptr_nonnull(strstr(err.detail, "0191a000-0000-7000-8000-00000000dead"));
    ck_assert(!key_exists(T_GROUP_NAMES, ACC1, "sales", 5, NULL));
    ck_assert(!key_exists(T_MEMBER_OF, ACC1, u1, 36, g));
}
END_TEST

START_TEST(group_name_unique)
{
    char g1[37], g2[37];
    scim_error err = {0};
    ck_assert_int_eq(create_group(ACC1, "Ops", NULL, 0, g1, NULL), 0);
    ck_assert_int_eq(create_group(ACC1, "OPS", NULL, 0, g2, &err), SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 409);
    ck_assert_int_eq(create_group(ACC2, "ops", NULL, 0, g2, NULL), 0);
}
END_TEST

START_TEST(group_replace_computes_difference)
{
    char u[3][37], g[37];
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "m%d", i);
        create_user(ACC1, name, "m@example.com", u[i]);
    }
    const char *first[] = {u[0], u[1]};
    ck_assert_int_eq(create_group(ACC1, "Team", first, 2, g, NULL), 0);

    char text[512];
    snprintf(text, sizeof text,
             "{\"displayName\":\"Team Renamed\",\"members\":[{\"value\":\"%s\"},{\"value\":\"%s\"}]}",
             u[1], u[2]);
    ck_assert_int_eq(run_job(scim_store_group_replace, ACC1, g, parse(text), NULL, NULL, NULL), 0);
    ck_assert(!member_pair(ACC1, g, u[0]));
    ck_assert(member_pair(ACC1, g, u[1]));
    ck_assert(member_pair(ACC1, g, u[2]));
    ck_assert_int_eq(member_count(ACC1, g), 2);
    ck_assert(!key_exists(T_GROUP_NAMES, ACC1, "team", 4, NULL));
    ck_assert(key_exists(T_GROUP_NAMES, ACC1, "team renamed", 12, NULL));
}
END_TEST

START_TEST(user_delete_removes_memberships)
{
    char u1[37], u2[37], g1[37], g2[37], found[37];
    create_user(ACC1, "gone", "gone@example.com", u1);
    create_user(ACC1, "stays", "stays@example.com", u2);
    const char *both[] = {u1, u2};
    ck_assert_int_eq(create_group(ACC1, "A", both, 2, g1, NULL), 0);
    ck_assert_int_eq(create_group(ACC1, "B", both, 1, g2, NULL), 0);

    ck_assert_int_eq(run_job(scim_store_user_delete, ACC1, u1, NULL, NULL, NULL, NULL), 0);
    ck_assert(!member_pair(ACC1, g1, u1));
    ck_assert(!member_pair(ACC1, g2, u1));
    ck_assert(member_pair(ACC1, g1, u2));
    ck_assert_int_eq(member_count(ACC1, g1), 1);
    ck_assert_int_eq(member_count(ACC1, g2), 0);
    ck_assert_int_eq(find_user(ACC1, "gone", found), STORE_NOTFOUND);
    ck_assert(!key_exists(T_USERS, ACC1, u1, 36, NULL));
    ck_assert(!key_exists(T_USER_EMAILS, ACC1, "gone@example.com\0", 17, u1));
    ck_assert(!key_exists(T_USER_EXTIDS, ACC1, "ext-gone\0", 9, u1));
}
END_TEST

START_TEST(group_delete_removes_memberships)
{
    char u1[37], g[37];
    create_user(ACC1, "member", "member@example.com", u1);
    const char *members[] = {u1};
    ck_assert_int_eq(create_group(ACC1, "Temp", members, 1, g, NULL), 0);

    ck_assert_int_eq(run_job(scim_store_group_delete, ACC1, g, NULL, NULL, NULL, NULL), 0);
    ck_assert(!member_pair(ACC1, g, u1));
    ck_assert_int_eq(member_count(ACC1, g), 0);
    ck_assert(!key_exists(T_GROUPS, ACC1, g, 36, NULL));
    ck_assert(!key_exists(T_GROUP_NAMES, ACC1, "temp", 4, NULL));
    ck_assert(key_exists(T_USERS, ACC1, u1, 36, NULL));
}
END_TEST

/* PATCH operations on members, in the shapes Okta and Entra ID send. */
typedef struct patch_case {
    const char *name;
    const char *ops; /* %1$s and %2$s are the two user ids */
    int has_first, has_second;
    uint64_t count;
} patch_case;

static const patch_case member_patches[] = {
    {"okta add", "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"%2$s\",\"display\":\"x\"}]}",
     1, 1, 2},
    {"okta remove", "{\"op\":\"remove\",\"path\":\"members[value eq \\\"%1$s\\\"]\"}", 0, 0, 0},
    {"entra remove", "{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"%1$s\"}]}",
     0, 0, 0},
    {"remove all", "{\"op\":\"remove\",\"path\":\"members\"}", 0, 0, 0},
    {"replace", "{\"op\":\"replace\",\"path\":\"members\",\"value\":[{\"value\":\"%2$s\"}]}", 0, 1,
     1},
    {"pathless replace", "{\"op\":\"replace\",\"value\":{\"members\":[{\"value\":\"%2$s\"}]}}",
     0, 1, 1},
    {"add twice", "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"%1$s\"}]}", 1, 0,
     1},
    {"remove absent", "{\"op\":\"remove\",\"path\":\"members[value eq \\\"%2$s\\\"]\"}", 1, 0, 1},
    /* The id narrows the candidates, and the whole filter still decides. */
    {"remove and type",
     "{\"op\":\"remove\",\"path\":\"members[value eq \\\"%1$s\\\" and type eq \\\"User\\\"]\"}", 0,
     0, 0},
    {"remove and other type",
     "{\"op\":\"remove\",\"path\":\"members[value eq \\\"%1$s\\\" and type eq \\\"Group\\\"]\"}",
     1, 0, 1},
    {"rename only", "{\"op\":\"replace\",\"value\":{\"id\":\"x\",\"displayName\":\"Renamed\"}}", 1,
     0, 1},
};

START_TEST(group_patch_members)
{
    const patch_case *pc = &member_patches[_i];
    char u1[37], u2[37], g[37], ops[512], body[1024];
    scim_patch *patch = NULL;
    scim_error err = {0};

    create_user(ACC1, "p1", "p1@example.com", u1);
    create_user(ACC1, "p2", "p2@example.com", u2);
    const char *members[] = {u1};
    ck_assert_int_eq(create_group(ACC1, "Patched", members, 1, g, NULL), 0);

    snprintf(ops, sizeof ops, pc->ops, u1, u2);
    snprintf(body, sizeof body,
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
             "\"Operations\":[%s]}",
             ops);
    json *j = parse(body);
    ck_assert_msg(scim_patch_parse(j, &patch, &err) == 0, "%s: %s", pc->name, err.detail);
    json_free(j);
    ck_assert_msg(run_job(scim_store_group_patch, ACC1, g, NULL, patch, NULL, &err) == 0, "%s: %s",
                  pc->name, err.detail);
    scim_patch_free(patch);
    ck_assert_msg(member_pair(ACC1, g, u1) == pc->has_first, "%s: first member", pc->name);
    ck_assert_msg(member_pair(ACC1, g, u2) == pc->has_second, "%s: second member", pc->name);
    ck_assert_msg(member_count(ACC1, g) == pc->count, "%s: count", pc->name);
}
END_TEST

START_TEST(group_patch_unknown_member_rolls_back)
{
    char u1[37], u2[37], g[37], body[1024];
    scim_patch *patch = NULL;
    scim_error err = {0};

    create_user(ACC1, "r1", "r1@example.com", u1);
    create_user(ACC1, "r2", "r2@example.com", u2);
    ck_assert_int_eq(create_group(ACC1, "Rollback", NULL, 0, g, NULL), 0);
    snprintf(body, sizeof body,
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
             "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]},"
             "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}]}",
             u1, "0191a000-0000-7000-8000-00000000beef");
    json *j = parse(body);
    ck_assert_int_eq(scim_patch_parse(j, &patch, &err), 0);
    json_free(j);
    ck_assert_int_eq(run_job(scim_store_group_patch, ACC1, g, NULL, patch, NULL, &err),
                     SCIM_STORE_REJECTED);
    scim_patch_free(patch);
    ck_assert_int_eq(err.status, 400);
    ck_assert(!member_pair(ACC1, g, u1));
    ck_assert_int_eq(member_count(ACC1, g), 0);
}
END_TEST

START_TEST(user_patch_deactivates)
{
    char id[37];
    scim_patch *patch = NULL;
    scim_error err = {0};
    scim_write w = {0};

    create_user(ACC1, "deact", "deact@example.com", id);
    json *j = parse("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                    "\"Operations\":[{\"op\":\"Replace\",\"value\":{\"active\":\"False\"}}]}");
    ck_assert_int_eq(scim_patch_parse(j, &patch, &err), 0);
    json_free(j);
    memcpy(w.account, ACC1, 37);
    memcpy(w.id, id, 37);
    w.patch = patch;
    ck_assert_int_eq(store_run(st, scim_store_user_patch, &w), 0);
    ck_assert_int_eq(json_typeof(json_object_get(w.result, "active")), JSON_BOOL);
    ck_assert_int_eq(json_bool_value(json_object_get(w.result, "active")), 0);
    ck_assert_str_eq(scim_store_version(w.result), "W/\"2\"");
    scim_write_clear(&w);
    scim_patch_free(patch);
}
END_TEST

/* Member display names come from displayName, else userName, and ignore a
 * nested displayName such as the Enterprise manager's. */
static const struct {
    const char *user;
    const char *display;
} display_cases[] = {
    {"{\"userName\":\"plain\",\"displayName\":\"Plain Name\"}", "Plain Name"},
    {"{\"userName\":\"only.user@example.com\"}", "only.user@example.com"},
    {"{\"userName\":\"quoted\",\"displayName\":\"Say \\\"hi\\\"\"}", "Say \"hi\""},
    {"{\"userName\":\"nested\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
     "{\"manager\":{\"value\":\"m\",\"displayName\":\"Boss\"}},\"displayName\":\"Own\"}",
     "Own"},
    {"{\"userName\":\"unicode\",\"displayName\":\"J\u00f6rg \u00c5berg\"}", "J\u00f6rg \u00c5berg"},
};

START_TEST(group_members_display)
{
    char id[37], g[37];
    store_txn *t;
    json *members = NULL;

    ck_assert_int_eq(run_job(scim_store_user_create, ACC1, NULL, parse(display_cases[_i].user), NULL,
                             id, NULL),
                     0);
    const char *list[] = {id};
    ck_assert_int_eq(create_group(ACC1, "Display", list, 1, g, NULL), 0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_group_members(t, ACC1, g, "https://x/scim/v2", &members), 0);
    store_read_end(t);
    ck_assert_int_eq(json_array_size(members), 1);
    json *m = json_array_get(members, 0);
    ck_assert_str_eq(json_get_string(m, "display"), display_cases[_i].display);
    ck_assert_str_eq(json_get_string(m, "value"), id);
    ck_assert_str_eq(json_get_string(m, "type"), "User");
    json_free(members);
}
END_TEST

/* ---- claimed domains ---- */

/* Claims `domain` for `account`, verified or not, as domain verification
 * stores it. */
typedef struct domain_claim {
    const char *account;
    const char *domain;
    int verified;
} domain_claim;

static int put_domain(store_txn *t, void *arg)
{
    const domain_claim *d = arg;
    char text[256], key[128];
    int n = snprintf(text, sizeof text,
                     "{\"account\":\"%s\",\"domain\":\"%s\",\"token\":\"x\",\"verified\":%s}",
                     d->account, d->domain, d->verified ? "true" : "false");
    int rc = store_put(t, T_DOMAINS, d->domain, strlen(d->domain), text, (size_t)n, 0);
    int klen = snprintf(key, sizeof key, "%s%s", d->account, d->domain);
    if (rc == 0)
        rc = store_put(t, T_ACCOUNT_DOMAINS, key, (size_t)klen, "", 0, 0);
    return rc;
}

static void claim_domain(const char *account, const char *domain, int verified)
{
    domain_claim d = {account, domain, verified};
    ck_assert_int_eq(store_run(st, put_domain, &d), 0);
}

static const struct {
    const char *user;
    int allowed;
    const char *detail; /* part of the error detail when rejected */
} domain_creates[] = {
    {"{\"userName\":\"a@acme.test\",\"emails\":[{\"value\":\"a@acme.test\",\"primary\":true}]}", 1,
     NULL},
    {"{\"userName\":\"b@ACME.test\"}", 1, NULL},
    {"{\"userName\":\"c@other.test\"}", 0, "other.test"},
    {"{\"userName\":\"d@sub.acme.test\"}", 0, "sub.acme.test"},
    {"{\"userName\":\"e@acme.test\",\"emails\":[{\"value\":\"e@other.test\",\"primary\":true}]}", 0,
     "other.test"},
    /* Plain login names, as some Okta setups send, need no domain. */
    {"{\"userName\":\"plainlogin\"}", 1, NULL},
    {"{\"userName\":\"plain2\",\"emails\":[{\"value\":\"p@acme.test\"}]}", 1, NULL},
    {"{\"userName\":\"plain3\",\"emails\":[{\"value\":\"p3@other.test\"}]}", 0, "other.test"},
    /* Without a primary email the first one counts. */
    {"{\"userName\":\"f@acme.test\",\"emails\":[{\"value\":\"f@acme.test\"},"
     "{\"value\":\"f@other.test\"}]}",
     1, NULL},
    {"{\"userName\":\"g@acme.test\",\"emails\":[{\"value\":\"g@other.test\"},"
     "{\"value\":\"g@acme.test\",\"primary\":true}]}",
     1, NULL},
    {"{\"userName\":\"h@acme.test\",\"emails\":[{\"value\":\"no-domain\",\"primary\":true}]}", 0,
     "no-domain"},
    /* Only verified domains count: pending.test is claimed but unverified. */
    {"{\"userName\":\"i@pending.test\"}", 0, "pending.test"},
    /* The userName and the email may lie in different verified domains. */
    {"{\"userName\":\"k@acme.test\",\"emails\":[{\"value\":\"k@beta.test\",\"primary\":true}]}",
     1, NULL},
    {"{\"userName\":\"l@beta.test\",\"emails\":[{\"value\":\"l@acme.test\",\"primary\":true}]}",
     1, NULL},
    /* With both outside, the error names the userName. */
    {"{\"userName\":\"m@first.test\",\"emails\":[{\"value\":\"m@second.test\",\"primary\":true}]}",
     0, "userName \"m@first.test\""},
    {"{\"userName\":\"n@acme.test\",\"emails\":[{\"value\":\"n@second.test\",\"primary\":true}]}",
     0, "emails \"n@second.test\""},
};

START_TEST(domain_rule_on_create)
{
    char id[37] = "";
    scim_error err = {0};

    claim_domain(ACC1, "acme.test", 1);
    claim_domain(ACC1, "beta.test", 1);
    claim_domain(ACC1, "pending.test", 0);
    int rc = run_job(scim_store_user_create, ACC1, NULL, parse(domain_creates[_i].user), NULL, id,
                     &err);
    if (domain_creates[_i].allowed) {
        ck_assert_msg(rc == 0, "case %d: %s", _i, err.detail);
        return;
    }
    ck_assert_int_eq(rc, SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.scim_type, "invalidValue");
    ck_assert_msg(strstr(err.detail, domain_creates[_i].detail) != NULL, "case %d: %s", _i,
                  err.detail);
    store_txn *t;
    uint64_t users = 99;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_count(t, 1, ACC1, &users), 0);
    store_read_end(t);
    ck_assert_int_eq(users, 0);
}
END_TEST

START_TEST(domain_rule_needs_verified_domain)
{
    char id[37];
    claim_domain(ACC1, "pending.test", 0);
    claim_domain(ACC2, "acme.test", 1);
    create_user(ACC1, "x@anything.test", "x@anything.test", id);
}
END_TEST

static int patch_user(const char *id, const char *ops, scim_error *err)
{
    char body[1024];
    scim_patch *patch = NULL;
    snprintf(body, sizeof body,
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
             "\"Operations\":[%s]}",
             ops);
    json *j = parse(body);
    ck_assert_int_eq(scim_patch_parse(j, &patch, err), 0);
    json_free(j);
    int rc = run_job(scim_store_user_patch, ACC1, id, NULL, patch, NULL, err);
    scim_patch_free(patch);
    return rc;
}

static json *load_user(const char *id)
{
    store_txn *t;
    json *u = NULL;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_user_load(t, ACC1, id, &u), 0);
    store_read_end(t);
    return u;
}

START_TEST(domain_rule_on_replace_and_patch)
{
    char id[37], other[37];
    scim_error err = {0};

    create_user(ACC1, "old@legacy.test", "old@legacy.test", other);
    create_user(ACC1, "r@acme.test", "r@acme.test", id);
    claim_domain(ACC1, "acme.test", 1);

    json *u = parse("{\"userName\":\"r@other.test\"}");
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id, u, NULL, NULL, &err),
                     SCIM_STORE_REJECTED);
    ck_assert_int_eq(err.status, 400);
    ck_assert_ptr_nonnull(strstr(err.detail, "other.test"));

    ck_assert_int_eq(patch_user(id, "{\"op\":\"replace\",\"path\":\"userName\","
                                    "\"value\":\"r@other.test\"}",
                                &err),
                     SCIM_STORE_REJECTED);
    ck_assert_str_eq(err.scim_type, "invalidValue");
    ck_assert_int_eq(patch_user(id, "{\"op\":\"replace\",\"path\":\"emails[type eq \\\"work\\\"]."
                                    "value\",\"value\":\"r@other.test\"}",
                                &err),
                     SCIM_STORE_REJECTED);
    json *stored = load_user(id);
    ck_assert_str_eq(json_get_string(stored, "userName"), "r@acme.test");
    ck_assert_str_eq(scim_store_version(stored), "W/\"1\"");
    json_free(stored);
    char found[37];
    ck_assert_int_eq(find_user(ACC1, "r@other.test", found), STORE_NOTFOUND);

    ck_assert_int_eq(patch_user(id, "{\"op\":\"replace\",\"path\":\"userName\","
                                    "\"value\":\"R2@Acme.test\"}",
                                &err),
                     0);
    /* A user stored before the domain was verified keeps working while its
     * values stay, so that it can still be deactivated. */
    ck_assert_int_eq(patch_user(other, "{\"op\":\"replace\",\"value\":{\"active\":false}}", &err), 0);
    ck_assert_int_eq(patch_user(other, "{\"op\":\"replace\",\"path\":\"userName\","
                                       "\"value\":\"new@legacy.test\"}",
                                &err),
                     SCIM_STORE_REJECTED);
}
END_TEST

/* ---- deleting large groups ---- */

static int count_group_ids(const char *id, void *ctx)
{
    (void)id;
    (*(int *)ctx)++;
    return 0;
}

static int count_pending(const char *account, const char *group_id, void *ctx)
{
    (void)account;
    (void)group_id;
    (*(int *)ctx)++;
    return 0;
}

static int pending_cleanups(void)
{
    store_txn *t;
    int n = 0;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_pending_cleanups(t, count_pending, &n), 0);
    store_read_end(t);
    return n;
}

START_TEST(large_group_delete_in_chunks)
{
    enum { N = 5 };
    char users[N][37], g[37], keep[37];
    const char *members[N];
    scim_write w = {0};
    store_txn *t;

    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "chunk%d", i);
        create_user(ACC1, name, "c@example.com", users[i]);
        members[i] = users[i];
    }
    ck_assert_int_eq(create_group(ACC1, "Large", members, N, g, NULL), 0);
    ck_assert_int_eq(create_group(ACC1, "Kept", members, 1, keep, NULL), 0);

    memcpy(w.account, ACC1, 37);
    memcpy(w.id, g, 37);
    snprintf(w.actor, sizeof w.actor, "scim:test");
    w.cleanup_limit = 2;
    ck_assert_int_eq(store_run(st, scim_store_group_delete, &w), 0);
    ck_assert_int_eq(w.cleanup_pending, 1);
    scim_write_clear(&w);

    /* The group is gone from every read while its records remain. */
    ck_assert(!key_exists(T_GROUPS, ACC1, g, 36, NULL));
    ck_assert(!key_exists(T_GROUP_NAMES, ACC1, "large", 5, NULL));
    ck_assert(member_pair(ACC1, g, users[0]));
    ck_assert_int_eq(pending_cleanups(), 1);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_is_member(t, ACC1, g, users[0]), 0);
    ck_assert_int_eq(scim_store_is_member(t, ACC1, keep, users[0]), 1);
    int groups = 0;
    ck_assert_int_eq(scim_store_user_group_ids(t, ACC1, users[0], count_group_ids, &groups), 0);
    ck_assert_int_eq(groups, 1);
    json *refs = NULL;
    ck_assert_int_eq(scim_store_user_groups(t, ACC1, users[0], "https://x/scim/v2", &refs), 0);
    ck_assert_int_eq(json_array_size(refs), 1);
    json_free(refs);
    uint64_t count = 0;
    ck_assert_int_eq(scim_store_count(t, 0, ACC1, &count), 0);
    ck_assert_int_eq(count, 1);
    store_read_end(t);

    /* Chunks of two: 2, 2, then 1 and done. */
    static const struct {
        unsigned long removed;
        int done;
    } steps[] = {{2, 0}, {2, 0}, {1, 1}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        scim_cleanup c = {.limit = 2};
        memcpy(c.account, ACC1, 37);
        memcpy(c.group_id, g, 37);
        ck_assert_int_eq(store_run(st, scim_store_group_cleanup, &c), 0);
        ck_assert_uint_eq(c.removed, steps[i].removed);
        ck_assert_int_eq(c.done, steps[i].done);
    }
    for (int i = 0; i < N; i++)
        ck_assert(!member_pair(ACC1, g, users[i]));
    ck_assert(!key_exists(T_COUNTERS, ACC1, "members:", 8, g));
    ck_assert_int_eq(pending_cleanups(), 0);
    ck_assert(member_pair(ACC1, keep, users[0]));
    ck_assert_int_eq(member_count(ACC1, keep), 1);

    /* Another run finds nothing pending. */
    scim_cleanup again = {.limit = 2};
    memcpy(again.account, ACC1, 37);
    memcpy(again.group_id, g, 37);
    ck_assert_int_eq(store_run(st, scim_store_group_cleanup, &again), 0);
    ck_assert_int_eq(again.done, 1);
    ck_assert_uint_eq(again.removed, 0);
}
END_TEST

START_TEST(large_group_delete_then_user_delete)
{
    char u1[37], u2[37], u3[37], g[37];
    const char *members[] = {NULL, NULL, NULL};
    scim_write w = {0};

    create_user(ACC1, "ud1", "u@example.com", u1);
    create_user(ACC1, "ud2", "u@example.com", u2);
    create_user(ACC1, "ud3", "u@example.com", u3);
    members[0] = u1, members[1] = u2, members[2] = u3;
    ck_assert_int_eq(create_group(ACC1, "Mixed", members, 3, g, NULL), 0);
    memcpy(w.account, ACC1, 37);
    memcpy(w.id, g, 37);
    w.cleanup_limit = 1;
    ck_assert_int_eq(store_run(st, scim_store_group_delete, &w), 0);
    ck_assert_int_eq(w.cleanup_pending, 1);
    scim_write_clear(&w);

    /* Deleting a member while the clean-up is pending removes its records. */
    ck_assert_int_eq(run_job(scim_store_user_delete, ACC1, u2, NULL, NULL, NULL, NULL), 0);
    ck_assert(!member_pair(ACC1, g, u2));
    scim_cleanup c = {.limit = 10};
    memcpy(c.account, ACC1, 37);
    memcpy(c.group_id, g, 37);
    ck_assert_int_eq(store_run(st, scim_store_group_cleanup, &c), 0);
    ck_assert_uint_eq(c.removed, 2);
    ck_assert_int_eq(c.done, 1);
    ck_assert(!member_pair(ACC1, g, u1));
    ck_assert(!member_pair(ACC1, g, u3));
    ck_assert(!key_exists(T_COUNTERS, ACC1, "members:", 8, g));
}
END_TEST

START_TEST(small_group_delete_inline)
{
    char u1[37], g[37];
    scim_write w = {0};

    create_user(ACC1, "inline", "i@example.com", u1);
    const char *members[] = {u1};
    ck_assert_int_eq(create_group(ACC1, "Small", members, 1, g, NULL), 0);
    memcpy(w.account, ACC1, 37);
    memcpy(w.id, g, 37);
    w.cleanup_limit = 1;
    ck_assert_int_eq(store_run(st, scim_store_group_delete, &w), 0);
    ck_assert_int_eq(w.cleanup_pending, 0);
    scim_write_clear(&w);
    ck_assert(!member_pair(ACC1, g, u1));
    ck_assert_int_eq(pending_cleanups(), 0);
}
END_TEST

/* The text a write job keeps is the record it stored, and a PATCH that
 * changes nothing keeps none. */
START_TEST(write_keeps_stored_text)
{
    scim_write w = {0};
    store_txn *t;
    store_val v;
    scim_patch *patch = NULL;
    scim_error err = {0};
    json *body;

    memcpy(w.account, ACC1, 37);
    w.input = parse("{\"userName\":\"kept\",\"active\":true}");
    ck_assert_int_eq(store_run(st, scim_store_user_create, &w), 0);
    ck_assert_ptr_nonnull(w.result_text);
    ck_assert_uint_eq(strlen(w.result_text), w.result_len);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_user_text(t, ACC1, w.id, &v), 0);
    ck_assert_uint_eq(v.len, w.result_len);
    ck_assert_int_eq(memcmp(v.data, w.result_text, v.len), 0);
    store_read_end(t);

    body = parse("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                 "\"Operations\":[{\"op\":\"replace\",\"path\":\"active\",\"value\":true}]}");
    ck_assert_int_eq(scim_patch_parse(body, &patch, &err), 0);
    json_free(body);
    w.patch = patch;
    ck_assert_int_eq(store_run(st, scim_store_user_patch, &w), 0);
    ck_assert_ptr_null(w.result_text);
    ck_assert_ptr_nonnull(w.result);
    scim_patch_free(patch);
    scim_write_clear(&w);
}
END_TEST

/* Bodies whose create text (written from the input without a tree) is
 * checked against the text a replace writes through the tree. */
static const char *const created_inputs[] = {
    "{\"userName\":\"plain\"}",
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
    "\"userName\":\"\\u00fc\\\"q\\\\\\n\\u0001\",\"name\":{\"givenName\":\"G\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"7\"}}",
    "{\"schemas\":[],\"id\":\"x\",\"meta\":{\"version\":\"W/\\\"9\\\"\"},"
    "\"groups\":[{\"value\":\"g\"}],\"PASSWORD\":\"p\",\"userName\":\"skips\",\"active\":false}",
    "{\"schemas\":\"not a list\",\"userName\":\"odd-schemas\"}",
    "{\"userName\":\"values\",\"x\":1.5e3,\"y\":null,\"z\":[1,true,{\"k\":\"v\"},[]],\"e\":{}}",
};

/* Replaces the first `from` in `text` by `to`, which has the same length. */
static void replace_same_length(char *text, const char *from, const char *to)
{
    char *at = strstr(text, from);
    ck_assert_ptr_nonnull(at);
    ck_assert_uint_eq(strlen(from), strlen(to));
    memcpy(at, to, strlen(to));
}

/* The value of `"lastModified":"` in a stored text, 24 characters. */
static void last_modified(const char *text, char out[25])
{
    const char *at = strstr(text, "\"lastModified\":\"");
    ck_assert_ptr_nonnull(at);
    memcpy(out, at + 16, 24);
    out[24] = '\0';
}

/* A create writes the same text as the tree path of a replace with the
 * same body, except for lastModified and the version. */
START_TEST(user_create_text_matches_tree)
{
    scim_write w = {0};
    char id[37], created_mod[25], replaced_mod[25];
    char *created, *replaced;
    store_txn *t;
    store_val v;

    memcpy(w.account, ACC1, 37);
    w.input = parse(created_inputs[_i]);
    ck_assert_int_eq(store_run(st, scim_store_user_create, &w), 0);
    ck_assert_ptr_null(w.result);
    created = strdup(w.result_text);
    memcpy(id, w.id, sizeof id);
    scim_write_clear(&w);
    ck_assert_int_eq(run_job(scim_store_user_replace, ACC1, id, parse(created_inputs[_i]), NULL,
                             NULL, NULL),
                     0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_user_text(t, ACC1, id, &v), 0);
    replaced = strndup(v.data, v.len);
    store_read_end(t);

    last_modified(created, created_mod);
    last_modified(replaced, replaced_mod);
    replace_same_length(replaced, replaced_mod, created_mod);
    replace_same_length(replaced, "\"version\":\"W/\\\"2\\\"\"", "\"version\":\"W/\\\"1\\\"\"");
    ck_assert_str_eq(created, replaced);
    ck_assert_int_eq(strncmp(strstr(created, "\"created\":\"") + 11, created_mod, 24), 0);
    free(created);
    free(replaced);
}
END_TEST

/* Group bodies whose stored text after a PATCH of members alone is
 * checked against the text of a PATCH that goes through the tree. Each
 * displayName is "T<case>". */
static const char *const patched_groups[] = {
    "{\"displayName\":\"T0\"}",
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"T1\","
    "\"externalId\":\"ext-\\u00fc\\\"1\",\"x\":1.50,\"y\":{\"b\":1,\"a\":[true,null]}}",
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"urn:example:other\"],"
    "\"displayName\":\"T2\"}",
    "{\"schemas\":[],\"displayName\":\"T3\",\"externalId\":\"e3\"}",
};

/* Runs a PATCH of group `g` with the operations `ops` and returns the
 * group's stored text, which the caller frees. */
static char *patch_group_text(const char *g, const char *ops)
{
    char body[1024], key[72];
    scim_patch *patch = NULL;
    scim_error err = {0};
    store_txn *t;
    store_val v;
    char *text;
    json *j;

    snprintf(body, sizeof body,
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
             "\"Operations\":[%s]}",
             ops);
    j = parse(body);
    ck_assert_int_eq(scim_patch_parse(j, &patch, &err), 0);
    json_free(j);
    ck_assert_msg(run_job(scim_store_group_patch, ACC1, g, NULL, patch, NULL, &err) == 0, "%s",
                  err.detail);
    scim_patch_free(patch);
    memcpy(key, ACC1, 36);
    memcpy(key + 36, g, 36);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(store_get(t, T_GROUPS, key, sizeof key, &v), 0);
    text = strndup(v.data, v.len);
    store_read_end(t);
    return text;
}

/* A PATCH of members alone stores the same group text as a PATCH that also
 * replaces displayName with its own value, except for lastModified and
 * the version. */
START_TEST(group_members_patch_text_matches_tree)
{
    char u1[37], g[37], ops[512], name[8], first_mod[25], second_mod[25];
    char *first, *second;

    create_user(ACC1, "m1", "m1@example.com", u1);
    ck_assert_int_eq(run_job(scim_store_group_create, ACC1, NULL, parse(patched_groups[_i]), NULL,
                             g, NULL),
                     0);
    snprintf(ops, sizeof ops, "{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}",
             u1);
    first = patch_group_text(g, ops);
    snprintf(name, sizeof name, "T%d", _i);
    snprintf(ops, sizeof ops,
             "{\"op\":\"remove\",\"path\":\"members[value eq \\\"%s\\\"]\"},"
             "{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"%s\"}",
             u1, name);
    second = patch_group_text(g, ops);
    ck_assert_int_eq(member_pair(ACC1, g, u1), 0);

    last_modified(first, first_mod);
    last_modified(second, second_mod);
    replace_same_length(second, second_mod, first_mod);
    replace_same_length(first, "\"version\":\"W/\\\"2\\\"\"", "\"version\":\"W/\\\"3\\\"\"");
    ck_assert_str_eq(first, second);
    free(first);
    free(second);
}
END_TEST

/* A create that fails (here on a taken userName) rolls back, and a
 * prepared text does not leak into the next job on the same write. */
START_TEST(prepared_text_belongs_to_create)
{
    scim_write w = {0};
    char id[37];

    create_user(ACC1, "taken", "taken@example.com", id);
    memcpy(w.account, ACC1, 37);
    w.input = parse("{\"userName\":\"TAKEN\"}");
    ck_assert_int_eq(scim_store_user_prepare(&w), 0);
    ck_assert_int_eq(w.prepared, 1);
    ck_assert_int_eq(store_run(st, scim_store_user_create, &w), SCIM_STORE_REJECTED);
    ck_assert_int_eq(w.err.status, 409);
    json_free(w.input);
    w.input = parse("{\"userName\":\"other\"}");
    memcpy(w.id, id, sizeof id);
    ck_assert_int_eq(store_run(st, scim_store_user_replace, &w), 0);
    ck_assert_int_eq(w.prepared, 0);
    ck_assert_ptr_nonnull(strstr(w.result_text, "\"userName\":\"other\""));
    ck_assert_ptr_nonnull(strstr(w.result_text, id));
    scim_write_clear(&w);
}
END_TEST

START_TEST(now_is_rfc3339_millis)
{
    char a[32], b[32];
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    scim_store_now(a);
    scim_store_now(b);
    ck_assert_uint_eq(strlen(a), strlen(shape));
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd')
            ck_assert_msg(a[i] >= '0' && a[i] <= '9', "%s: byte %zu", a, i);
        else
            ck_assert_msg(a[i] == shape[i], "%s: byte %zu", a, i);
    }
    ck_assert_int_le(strcmp(a, b), 0);
}
END_TEST

/* A job run that the store then rolls back, as the writer does with a
 * batch of rerunnable jobs before it runs the batch again. */
struct rolled_back {
    store_job_fn fn;
    void *arg;
};

static int run_then_fail(store_txn *t, void *arg)
{
    struct rolled_back *r = arg;
    int rc = r->fn(t, r->arg);

    return rc ? rc : STORE_INVALID;
}

START_TEST(group_delete_rerun_resets_outputs)
{
    char u1[37], u2[37], g[37];
    scim_write w = {0};
    struct rolled_back first = {scim_store_group_delete, &w};

    create_user(ACC1, "rerun1", "r1@example.com", u1);
    create_user(ACC1, "rerun2", "r2@example.com", u2);
    const char *members[] = {u1, u2};
    ck_assert_int_eq(create_group(ACC1, "Rerun", members, 2, g, NULL), 0);
    memcpy(w.account, ACC1, 37);
    memcpy(w.id, g, 37);
    snprintf(w.actor, sizeof w.actor, "scim:test");

    /* The first run defers the clean-up and is rolled back. */
    w.cleanup_limit = 1;
    ck_assert_int_eq(store_run(st, run_then_fail, &first), STORE_INVALID);
    ck_assert_int_eq(w.cleanup_pending, 1);
    ck_assert(member_pair(ACC1, g, u1));

    /* The second run removes the members inline and must not report the
     * first run's pending clean-up. */
    w.cleanup_limit = 10;
    ck_assert_int_eq(store_run(st, scim_store_group_delete, &w), 0);
    ck_assert_int_eq(w.cleanup_pending, 0);
    ck_assert(!member_pair(ACC1, g, u1));
    ck_assert(!member_pair(ACC1, g, u2));
    ck_assert_int_eq(pending_cleanups(), 0);
    scim_write_clear(&w);
}
END_TEST

static const struct {
    const char *header;
    int match;
} etags[] = {
    {"W/\"3\"", 1}, {"\"3\"", 1}, {"*", 1}, {"W/\"2\", W/\"3\"", 1}, {"W/\"4\"", 0}, {"", 0},
    {"W/\"33\"", 0}, {"W/\"3\"x", 0}, {"\"3\"x, W/\"4\"", 0}, {"W/\"3\"x, \"3\"", 1},
    {"*x", 0}, {" W/\"3\" , ", 1}, {"W/ \"3\"", 0}, {"\"3\" x", 0}, {"\"3\"\t, W/\"4\"", 1},
    {"\"a,b\", W/\"3\"", 1}, {"\"a,b\"", 0}, {"\"3", 0},
};

START_TEST(etag_matching)
{
    ck_assert_int_eq(scim_etag_matches(etags[_i].header, "W/\"3\""), etags[_i].match);
}
END_TEST

/* Reads the kept total of ACC1's users or groups, or -1 when there is none. */
static int64_t kept_total(int users)
{
    store_txn *t;
    uint64_t n = 0;
    int rc;

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    rc = scim_store_total(t, users, ACC1, &n);
    store_read_end(t);
    if (rc == STORE_NOTFOUND)
        return -1;
    ck_assert_int_eq(rc, 0);
    return (int64_t)n;
}

static int drop_totals(store_txn *t, void *arg)
{
    static const char *const names[] = {"scim:users", "scim:groups"};
    (void)arg;
    for (size_t i = 0; i < 2; i++) {
        char k[64];
        memcpy(k, ACC1, STORE_ID_LEN);
        memcpy(k + STORE_ID_LEN, names[i], strlen(names[i]));
        int rc = store_del(t, T_COUNTERS, k, STORE_ID_LEN + strlen(names[i]));
        if (rc)
            return rc;
    }
    return 0;
}

START_TEST(totals_follow_creates_and_deletes)
{
    char u1[37], u2[37], g1[37];

    ck_assert_int_eq(kept_total(1), -1);
    create_user(ACC1, "one", "one@example.com", u1);
    create_user(ACC1, "two", "two@example.com", u2);
    create_user(ACC2, "other", "other@example.com", u2);
    ck_assert_int_eq(kept_total(1), 2);
    ck_assert_int_eq(create_group(ACC1, "G", NULL, 0, g1, NULL), 0);
    ck_assert_int_eq(kept_total(0), 1);

    ck_assert_int_eq(run_job(scim_store_user_delete, ACC1, u1, NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(kept_total(1), 1);
    ck_assert_int_eq(run_job(scim_store_group_delete, ACC1, g1, NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(kept_total(0), 0);
}
END_TEST

START_TEST(totals_recounted_when_missing)
{
    char id[37], g1[37];

    create_user(ACC1, "a", "a@example.com", id);
    create_user(ACC1, "b", "b@example.com", id);
    ck_assert_int_eq(create_group(ACC1, "G", NULL, 0, g1, NULL), 0);
    ck_assert_int_eq(store_run(st, drop_totals, NULL), 0);
    ck_assert_int_eq(kept_total(1), -1);

    create_user(ACC1, "c", "c@example.com", id);
    ck_assert_int_eq(kept_total(1), 3);
    ck_assert_int_eq(run_job(scim_store_group_delete, ACC1, g1, NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(kept_total(0), 0);
}
END_TEST

static int collect_page_ids(const char *id, const char *text, size_t len, void *ctx)
{
    char (*ids)[37] = ctx;
    size_t i = 0;
    (void)text;
    (void)len;
    while (ids[i][0])
        i++;
    memcpy(ids[i], id, 37);
    return 0;
}

static const struct {
    uint64_t skip, limit;
    size_t first, n;
} pages[] = {{0, 2, 0, 2}, {1, 2, 1, 2}, {3, 10, 3, 2}, {5, 3, 0, 0}, {9, 3, 0, 0}, {0, 0, 0, 0}};

START_TEST(scan_page_skips_and_stops)
{
    char all[5][37], got[6][37] = {{0}};
    store_txn *t;

    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        create_user(ACC1, name, "p@example.com", all[i]);
    }
    create_user(ACC2, "next", "n@example.com", all[0]);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = scim_store_scan_page(t, 1, ACC1, pages[_i].skip, pages[_i].limit, collect_page_ids, got);
    store_read_end(t);
    ck_assert_int_eq(rc, 0);
    for (size_t i = 0; i < pages[_i].n; i++) {
        char expected[16];
        snprintf(expected, sizeof expected, "p%zu", pages[_i].first + i);
        ck_assert_int_eq(find_user(ACC1, expected, all[0]), 0);
        ck_assert_str_eq(got[i], all[0]);
    }
    ck_assert_str_eq(got[pages[_i].n], "");
}
END_TEST

#define WALK_USERS 700

/* Creates WALK_USERS users of ACC1 in one transaction. */
static int create_walk_users(store_txn *t, void *arg)
{
    (void)arg;
    for (int i = 0; i < WALK_USERS; i++) {
        scim_write w = {0};
        char text[64];
        int rc;

        memcpy(w.account, ACC1, 37);
        snprintf(text, sizeof text, "{\"userName\":\"walk%d\"}", i);
        w.input = json_parse(text, strlen(text), NULL, 0);
        rc = scim_store_user_create(t, &w);
        scim_write_clear(&w);
        if (rc)
            return rc;
    }
    return 0;
}

/* Every id of ACC1's users in id order, into `ids` (WALK_USERS + 1 rows). */
static size_t all_user_ids(char (*ids)[37])
{
    store_txn *t;
    size_t n = 0;

    memset(ids, 0, (WALK_USERS + 1) * 37);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_scan(t, 1, ACC1, collect_page_ids, ids), 0);
    store_read_end(t);
    while (n <= WALK_USERS && ids[n][0])
        n++;
    return n;
}

/* Checks that the page of `limit` users at index `skip` is that slice of
 * `ids`. */
static void check_page(char (*ids)[37], size_t n, uint64_t skip, uint64_t limit)
{
    char got[101][37];
    store_txn *t;

    memset(got, 0, sizeof got);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_scan_page(t, 1, ACC1, skip, limit, collect_page_ids, got), 0);
    store_read_end(t);
    for (uint64_t i = 0; i < limit && skip + i < n; i++)
        ck_assert_str_eq(got[i], ids[skip + i]);
}

/* A walk through all pages gives the pages of the id order, also when a
 * page is read again from where the walk remembered it, and after a
 * delete before it moved every later user up by one. */
START_TEST(scan_page_resumes_exactly)
{
    char(*ids)[37] = calloc(WALK_USERS + 1, 37);
    char id[37];
    size_t n;

    ck_assert_int_eq(store_run(st, create_walk_users, NULL), 0);
    create_user(ACC2, "other", "o@example.com", id);
    n = all_user_ids(ids);
    ck_assert_uint_eq(n, WALK_USERS);
    for (uint64_t skip = 0; skip < WALK_USERS; skip += 100)
        check_page(ids, n, skip, 100);
    check_page(ids, n, 300, 100);
    check_page(ids, n, 350, 100);

    memcpy(id, ids[10], 37);
    ck_assert_int_eq(run_job(scim_store_user_delete, ACC1, id, NULL, NULL, NULL, NULL), 0);
    n = all_user_ids(ids);
    ck_assert_uint_eq(n, WALK_USERS - 1);
    check_page(ids, n, 300, 100);
    check_page(ids, n, 600, 100);
    free(ids);
}
END_TEST

static const char *const splice_users[] = {
    "{\"userName\":\"plain@example.com\"}",
    "{\"userName\":\"esc@example.com\",\"displayName\":\"A \\\"quoted\\\" \\\\ name/with\\u00e9 "
    "\\u2713\","
    "\"nickName\":\"}{ ,\\\"meta\\\":{\"}",
    "{\"userName\":\"nested@example.com\",\"name\":{\"givenName\":\"N\",\"familyName\":\"M\"},"
    "\"emails\":[{\"value\":\"n@example.com\",\"primary\":true}],\"active\":false,"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"7\","
    "\"manager\":{\"value\":\"x\"}},\"x-num\":12.5}",
};

/* Renders the user `id` as a GET by id does: the stored text spliced, with
 * its groups written as text, into `buf`. */
static void splice_user(store_txn *t, const char *id, const store_val *v, struct evbuffer *buf)
{
    static const char users[] = "\"http://h.example/scim/v2/Users/";
    static const char groups[] = "\"http://h.example/scim/v2/Groups/";

    ck_assert_int_eq(
        scim_splice_resource(v->data, v->len, "User", users, strlen(users), id, "groups", buf), 0);
    ck_assert_int_eq(scim_user_groups_text(t, ACC1, id, groups, strlen(groups), buf), 0);
    ck_assert_int_eq(evbuffer_add(buf, "}", 1), 0);
}

/* The spliced reply is byte for byte the tree path's render and dump, also
 * a second time in the same snapshot, when the group's display comes from
 * the cache. */
START_TEST(user_splice_matches_tree)
{
    char id[37], g1[37], version[32], location[128];
    json *res, *groups = NULL;
    struct evbuffer *buf = evbuffer_new();
    store_txn *t;
    store_val v;
    size_t len;

    ck_assert_int_eq(
        run_job(scim_store_user_create, ACC1, NULL, parse(splice_users[_i]), NULL, id, NULL), 0);
    const char *members[] = {id};
    ck_assert_int_eq(create_group(ACC1, _i ? "G \\\"one\\\"" : "G one", members, 1, g1, NULL),
                     0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_store_user_text(t, ACC1, id, &v), 0);
    ck_assert_int_eq(scim_store_user_groups(t, ACC1, id, "http://h.example/scim/v2", &groups), 0);
    ck_assert_int_eq(scim_splice_version(v.data, v.len, version), 0);

    res = json_parse(v.data, v.len, NULL, 0);
    ck_assert_ptr_nonnull(res);
    ck_assert_str_eq(version, scim_store_version(res));
    snprintf(location, sizeof location, "http://h.example/scim/v2/Users/%s", id);
    ck_assert_int_eq(
        json_object_set(json_object_get(res, "meta"), "location", json_string(location)), 0);
    ck_assert_int_eq(json_object_set(res, "groups", json_copy(groups)), 0);
    char *expected = json_dump(res, &len);
    for (int round = 0; round < 2; round++) {
        splice_user(t, id, &v, buf);
        ck_assert_uint_eq(evbuffer_get_length(buf), len);
        ck_assert_int_eq(memcmp(evbuffer_pullup(buf, -1), expected, len), 0);
        evbuffer_drain(buf, len);
    }
    store_read_end(t);
    free(expected);
    json_free(res);
    json_free(groups);
    evbuffer_free(buf);
}
END_TEST

/* Renders the groups of user `id` in `t` and checks that the text names
 * the group as `display`. */
static void check_group_display(store_txn *t, const char *id, const char *display)
{
    struct evbuffer *buf = evbuffer_new();
    char expected[64];

    snprintf(expected, sizeof expected, "\"display\":\"%s\"", display);
    ck_assert_int_eq(scim_user_groups_text(t, ACC1, id, "\"g/", 3, buf), 0);
    ck_assert_int_eq(evbuffer_add(buf, "", 1), 0);
    ck_assert_msg(strstr((const char *)evbuffer_pullup(buf, -1), expected), "%s not in %s",
                  expected, (const char *)evbuffer_pullup(buf, -1));
    evbuffer_free(buf);
}

/* The group display cache serves only the snapshot it was filled from: a
 * read that began before a rename keeps the old name, one that began after
 * reads the new one, and the two can alternate. */
START_TEST(group_display_follows_snapshot)
{
    char u[37], g[37], text[256];
    store_txn *before, *after;

    create_user(ACC1, "cached", "cached@example.com", u);
    const char *members[] = {u};
    ck_assert_int_eq(create_group(ACC1, "Before", members, 1, g, NULL), 0);
    ck_assert_int_eq(store_read_begin(st, &before), 0);
    check_group_display(before, u, "Before");

    snprintf(text, sizeof text, "{\"displayName\":\"After\",\"members\":[{\"value\":\"%s\"}]}",
             u);
    ck_assert_int_eq(run_job(scim_store_group_replace, ACC1, g, parse(text), NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_read_begin(st, &after), 0);
    check_group_display(after, u, "After");
    check_group_display(before, u, "Before");
    check_group_display(after, u, "After");
    store_read_end(after);
    store_read_end(before);

    ck_assert_int_eq(run_job(scim_store_group_delete, ACC1, g, NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(store_read_begin(st, &after), 0);
    struct evbuffer *buf = evbuffer_new();
    ck_assert_int_eq(scim_user_groups_text(after, ACC1, u, "\"g/", 3, buf), 0);
    ck_assert_uint_eq(evbuffer_get_length(buf), 2); /* [] */
    evbuffer_free(buf);
    store_read_end(after);
}
END_TEST

/* A group display that is not well-formed UTF-8 (earlier builds stored
 * some) is left out, so that the groups stay valid JSON. */
START_TEST(malformed_group_display_left_out)
{
    char u[37], g[37];
    struct evbuffer *buf = evbuffer_new();
    store_txn *t;

    create_user(ACC1, "member", "member@example.com", u);
    const char *members[] = {u};
    ck_assert_int_eq(create_group(ACC1, "bad\xc0\xaf", members, 1, g, NULL), 0);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(scim_user_groups_text(t, ACC1, u, "\"g/", 3, buf), 0);
        size_t len = evbuffer_get_length(buf);
        const char *text = (const char *)evbuffer_pullup(buf, -1);
        json *groups = json_parse_input(text, len, NULL, 0);

        ck_assert_ptr_nonnull(groups);
        ck_assert_uint_eq(json_array_size(groups), 1);
        ck_assert_str_eq(json_get_string(json_array_get(groups, 0), "value"), g);
        ck_assert_ptr_null(json_object_get(json_array_get(groups, 0), "display"));
        json_free(groups);
        evbuffer_drain(buf, len);
    }
    /* The tree path, for replies with a projection, leaves it out too. */
    json *tree = NULL;
    ck_assert_int_eq(scim_store_user_groups(t, ACC1, u, "http://h.example/scim/v2", &tree), 0);
    ck_assert_uint_eq(json_array_size(tree), 1);
    ck_assert_ptr_null(json_object_get(json_array_get(tree, 0), "display"));
    char *dumped = json_dump(tree, NULL);
    ck_assert_ptr_nonnull(dumped);
    free(dumped);
    json_free(tree);
    store_read_end(t);
    evbuffer_free(buf);
}
END_TEST

static int snapshot_in_job(store_txn *t, void *arg)
{
    uint64_t id;

    *(int *)arg = store_txn_snapshot(t, &id);
    return 0;
}

/* A write transaction has no snapshot to cache under, since its changes
 * may still roll back. */
START_TEST(write_txn_has_no_snapshot)
{
    int rc = 0;
    uint64_t id = 0;
    store_txn *t;

    ck_assert_int_eq(store_run(st, snapshot_in_job, &rc), 0);
    ck_assert_int_eq(rc, STORE_INVALID);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(store_txn_snapshot(t, &id), 0);
    store_read_end(t);
}
END_TEST

static const char *const unspliceable[] = {
    "{\"id\":\"x\"}",
    "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"created\":\"c\",\"version\":\"W/"
    "\\\"\\\"\"}}",
    "{\"a\":{\"version\":\"W/\\\"3\\\"\"}}",
    "{\"id\":\"x\",\"meta\":{\"resourceType\":\"User\",\"created\":\"c\",\"location\":\"l\","
    "\"version\":\"W/\\\"3\\\"\"}}",
};

START_TEST(user_splice_rejects_other_forms)
{
    struct evbuffer *buf = evbuffer_new();
    const char *text = unspliceable[_i];

    ck_assert_int_eq(
        scim_splice_resource(text, strlen(text), "User", "\"l/", 3, "x", "groups", buf), 1);
    ck_assert_uint_eq(evbuffer_get_length(buf), 0);
    evbuffer_free(buf);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scim_store");
    TCase *tc = tcase_create("jobs");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, user_create_writes_indexes);
    tcase_add_test(tc, user_meta_and_version);
    tcase_add_test(tc, stored_malformed_utf8_stays_usable);
    tcase_add_loop_test(tc, user_name_unique_per_account, 0,
                        sizeof duplicate_names / sizeof duplicate_names[0]);
    tcase_add_test(tc, user_replace_moves_indexes);
    tcase_add_test(tc, user_replace_keeps_indexes);
    tcase_add_test(tc, user_replace_to_taken_name);
    tcase_add_test(tc, user_replace_stale_version);
    tcase_add_test(tc, unknown_id_is_not_found);
    tcase_add_test(tc, other_account_cannot_touch);
    tcase_add_test(tc, group_create_with_members);
    tcase_add_test(tc, group_unknown_member_changes_nothing);
    tcase_add_test(tc, group_name_unique);
    tcase_add_test(tc, group_replace_computes_difference);
    tcase_add_test(tc, user_delete_removes_memberships);
    tcase_add_test(tc, group_delete_removes_memberships);
    tcase_add_loop_test(tc, group_patch_members, 0,
                        sizeof member_patches / sizeof member_patches[0]);
    tcase_add_test(tc, group_patch_unknown_member_rolls_back);
    tcase_add_test(tc, user_patch_deactivates);
    tcase_add_loop_test(tc, group_members_display, 0,
                        sizeof display_cases / sizeof display_cases[0]);
    tcase_add_loop_test(tc, etag_matching, 0, sizeof etags / sizeof etags[0]);
    tcase_add_loop_test(tc, domain_rule_on_create, 0,
                        sizeof domain_creates / sizeof domain_creates[0]);
    tcase_add_test(tc, domain_rule_needs_verified_domain);
    tcase_add_test(tc, domain_rule_on_replace_and_patch);
    tcase_add_test(tc, large_group_delete_in_chunks);
    tcase_add_test(tc, large_group_delete_then_user_delete);
    tcase_add_test(tc, small_group_delete_inline);
    tcase_add_test(tc, now_is_rfc3339_millis);
    tcase_add_test(tc, write_keeps_stored_text);
    tcase_add_loop_test(tc, user_create_text_matches_tree, 0,
                        sizeof created_inputs / sizeof created_inputs[0]);
    tcase_add_loop_test(tc, group_members_patch_text_matches_tree, 0,
                        sizeof patched_groups / sizeof patched_groups[0]);
    tcase_add_test(tc, prepared_text_belongs_to_create);
    tcase_add_test(tc, group_delete_rerun_resets_outputs);
    tcase_add_test(tc, totals_follow_creates_and_deletes);
    tcase_add_test(tc, totals_recounted_when_missing);
    tcase_add_loop_test(tc, user_name_unique_ignoring_unicode_case, 0,
                        sizeof unicode_case_pairs / sizeof unicode_case_pairs[0]);
    tcase_add_test(tc, unicode_case_rename_and_email);
    tcase_add_test(tc, group_name_unique_ignoring_unicode_case);
    tcase_add_test(tc, value_too_long_once_folded);
    tcase_add_test(tc, refold_moves_ascii_folded_keys);
    tcase_add_test(tc, refold_clash_keeps_owner);
    tcase_add_test(tc, refold_drops_value_too_long);
    tcase_add_loop_test(tc, scan_page_skips_and_stops, 0, sizeof pages / sizeof pages[0]);
    tcase_add_test(tc, scan_page_resumes_exactly);
    tcase_add_loop_test(tc, user_splice_matches_tree, 0,
                        sizeof splice_users / sizeof splice_users[0]);
    tcase_add_loop_test(tc, user_splice_rejects_other_forms, 0,
                        sizeof unspliceable / sizeof unspliceable[0]);
    tcase_add_test(tc, group_display_follows_snapshot);
    tcase_add_test(tc, malformed_group_display_left_out);
    tcase_add_test(tc, write_txn_has_no_snapshot);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
