#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "accounts.h"
#include "crypto.h"
#include "json.h"
#include "scim_keys.h"
#include "store.h"

static char dir[64];
static store *st;

static void setup(void)
{
    store_options opt = {0};
    snprintf(dir, sizeof(dir), "/tmp/test_scim_keys_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    opt.path = dir;
    opt.map_size = 64 << 20;
    ck_assert_int_eq(store_open(&opt, NULL, &st), 0);
}

static void teardown(void)
{
    char cmd[128];
    store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *new_account(const char *name, const char *domain)
{
    json *acc;
    ck_assert_int_eq(accounts_create(st, "test", name, domain, &acc), 0);
    char *id = strdup(json_get_string(acc, "id"));
    json_free(acc);
    return id;
}

static int authenticate(const char *token, char account[37], char key_id[37])
{
    store_txn *t;
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    int rc = scim_key_authenticate(t, token, account, key_id);
    store_read_end(t);
    return rc;
}

START_TEST(account_create_and_list)
{
    json *acc;
    json *list;
    store_txn *t;
    char *id = new_account("Acme", "Acme.Example");

    ck_assert_int_eq(accounts_create(st, "test", "", NULL, &acc), ACCOUNTS_INVALID_NAME);
    ck_assert_int_eq(accounts_create(st, "test", "B", "not a domain", &acc), ACCOUNTS_INVALID_DOMAIN);
    /* An unverified domain is only a pending claim, so a second account
     * may claim it too (ACCOUNTS_DOMAIN_TAKEN needs a verified domain). */
    ck_assert_int_eq(accounts_create(st, "test", "B", "acme.example", &acc), 0);
    json_free(acc);
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(accounts_list(t, &list), 0);
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_int_eq(accounts_get(t, id, &acc), 0);
    ck_assert_str_eq(json_get_string(acc, "name"), "Acme");
    ck_assert_int_eq(accounts_exists(t, "00000000-0000-0000-0000-000000000000"), 0);
    store_read_end(t);
    json_free(acc);
    json_free(list);
    free(id);
}
END_TEST

START_TEST(key_authenticates_until_revoked)
{
    char *acc = new_account("Acme", NULL);
    char account[37];
    char key_id[37];
    json *key;
    char *token;

    ck_assert_int_eq(scim_key_create(st, "test", acc, &key, &token), 0);
    ck_assert_int_eq(strncmp(token, "scim_", 5), 0);
    ck_assert_uint_eq(strlen(token), 48);
    ck_assert_int_eq(strncmp(json_get_string(key, "prefix"), token + 5, 8), 0);
    ck_assert_int_eq(authenticate(token, account, key_id), 0);
    ck_assert_str_eq(account, acc);
    ck_assert_str_eq(key_id, json_get_string(key, "id"));

    ck_assert_int_eq(scim_key_revoke(st, "test", acc, key_id, NULL), 0);
    ck_assert_int_eq(authenticate(token, account, key_id), STORE_NOTFOUND);
    ck_assert_str_eq(account, "");
    ck_assert_int_eq(scim_key_revoke(st, "test", acc, json_get_string(key, "id"), NULL),
                     SCIM_KEYS_REVOKED);
    json_free(key);
    free(token);
    free(acc);
}
END_TEST

/* Revokes `key_id` from a child process with its own store, as
 * `idgate scim-key revoke` does while the server runs. */
static void revoke_in_other_process(const char *acc, const char *key_id)
{
    int status = -1;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        store_options opt = {.path = dir, .map_size = 64 << 20};
        store *other = NULL;
        int ok = store_open(&opt, NULL, &other) == 0 &&
                 scim_key_revoke(other, "test", acc, key_id, NULL) == 0;

        store_close(other);
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}

/* The second check of a key is served from the cache, which a revoke in
 * another process must empty. */
START_TEST(revoke_by_other_process_stops_cached_key)
{
    char *acc = new_account("Acme", NULL);
    char account[37];
    char key_id[37];
    json *key;
    char *token;

    ck_assert_int_eq(scim_key_create(st, "test", acc, &key, &token), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(authenticate(token, account, key_id), 0);
        ck_assert_str_eq(account, acc);
        ck_assert_str_eq(key_id, json_get_string(key, "id"));
    }
    revoke_in_other_process(acc, key_id);
    ck_assert_int_eq(authenticate(token, account, key_id), STORE_NOTFOUND);
    ck_assert_str_eq(account, "");
    ck_assert_str_eq(key_id, "");
    json_free(key);
    free(token);
    free(acc);
}
END_TEST

struct delete_job {
    const char *token;
};

/* Deletes a key's record the way deleting its account does. */
static int delete_key_record(store_txn *t, void *arg)
{
    struct delete_job *j = arg;
    uint8_t hash[32];

    crypto_sha256(j->token, strlen(j->token), hash);
    return store_del(t, T_SCIM_KEYS, hash, sizeof(hash));
}

START_TEST(deleted_key_stops_cached_key)
{
    char *acc = new_account("Acme", NULL);
    char account[37];
    char key_id[37];
    json *key;
    char *token;
    struct delete_job j;

    ck_assert_int_eq(scim_key_create(st, "test", acc, &key, &token), 0);
    ck_assert_int_eq(authenticate(token, account, key_id), 0);
    j.token = token;
    ck_assert_int_eq(store_run(st, delete_key_record, &j), 0);
    ck_assert_int_eq(authenticate(token, account, key_id), STORE_NOTFOUND);
    json_free(key);
    free(token);
    free(acc);
}
END_TEST

/* Two stores whose key tables have the same change counter must not share
 * cached keys. */
START_TEST(cached_key_bound_to_store)
{
    char *acc = new_account("Acme", NULL);
    char other_dir[64];
    char cmd[128];
    store_options opt = {.map_size = 64 << 20};
    store *other;
    store_txn *t;
    char account[37];
    char key_id[37];
    uint64_t gen_a, gen_b;
    json *key;
    char *token;

    ck_assert_int_eq(scim_key_create(st, "test", acc, &key, &token), 0);
    ck_assert_int_eq(authenticate(token, account, key_id), 0);
    snprintf(other_dir, sizeof(other_dir), "/tmp/test_scim_keys_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(other_dir));
    opt.path = other_dir;
    ck_assert_int_eq(store_open(&opt, NULL, &other), 0);
    {
        json *acc_b, *key_b;
        char *token_b;

        ck_assert_int_eq(accounts_create(other, "test", "Other", NULL, &acc_b), 0);
        ck_assert_int_eq(scim_key_create(other, "test", json_get_string(acc_b, "id"), &key_b,
                                         &token_b), 0);
        json_free(acc_b);
        json_free(key_b);
        free(token_b);
    }
    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(store_table_generation(t, T_SCIM_KEYS, &gen_a), 0);
    store_read_end(t);
    ck_assert_int_eq(store_read_begin(other, &t), 0);
    ck_assert_int_eq(store_table_generation(t, T_SCIM_KEYS, &gen_b), 0);
    ck_assert_uint_eq(gen_a, gen_b);
    ck_assert_int_eq(scim_key_authenticate(t, token, account, key_id), STORE_NOTFOUND);
    store_read_end(t);
    store_close(other);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", other_dir);
    ck_assert_int_eq(system(cmd), 0);
    json_free(key);
    free(token);
    free(acc);
}
END_TEST

/* Two keys served from the cache each give their own ids, and a token
 * that differs from a cached one in any single character is rejected. */
START_TEST(cached_keys_stay_apart)
{
    char *acc = new_account("Acme", NULL);
    char account[37];
    char key_id[37];
    json *keys[2];
    char *tokens[2];

    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(scim_key_create(st, "test", acc, &keys[i], &tokens[i]), 0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(authenticate(tokens[i], account, key_id), 0);
            ck_assert_str_eq(account, acc);
            ck_assert_str_eq(key_id, json_get_string(keys[i], "id"));
        }
    }
    for (size_t at = strlen("scim_"); at < strlen(tokens[0]); at++) {
        char *changed = strdup(tokens[0]);

        changed[at] = changed[at] == 'A' ? 'B' : 'A';
        ck_assert_msg(authenticate(changed, account, key_id) == STORE_NOTFOUND,
                      "accepted a token changed at %zu", at);
        free(changed);
    }
    ck_assert_int_eq(authenticate(tokens[0], account, key_id), 0);
    for (int i = 0; i < 2; i++) {
        json_free(keys[i]);
        free(tokens[i]);
    }
    free(acc);
}
END_TEST

START_TEST(bad_tokens_rejected)
{
    static const char *const bad[] = {
        "",
        "scim_",
        "Bearer scim_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scim_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scim_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "scom_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    char account[37];
    char key_id[37];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(authenticate(bad[i], account, key_id) == STORE_NOTFOUND, "accepted %s",
                      bad[i]);
}
END_TEST

START_TEST(at_most_two_active_keys)
{
    char *acc = new_account("Acme", NULL);
    char *other = new_account("Other", NULL);
    json *k[3];
    char *tok[3];
    json *list;
    store_txn *t;

    ck_assert_int_eq(scim_key_create(st, "test", acc, &k[0], &tok[0]), 0);
    ck_assert_int_eq(scim_key_create(st, "test", acc, &k[1], &tok[1]), 0);
    ck_assert_int_eq(scim_key_create(st, "test", acc, &k[2], &tok[2]), SCIM_KEYS_LIMIT);
    ck_assert_ptr_null(tok[2]);
    /* Another account's keys are counted separately. */
    ck_assert_int_eq(scim_key_create(st, "test", other, &k[2], &tok[2]), 0);
    json_free(k[2]);
    free(tok[2]);
    ck_assert_int_eq(
        scim_key_revoke(st, "test", other, json_get_string(k[0], "id"), NULL), SCIM_KEYS_NO_KEY);
    ck_assert_int_eq(scim_key_revoke(st, "test", acc, json_get_string(k[0], "id"), NULL), 0);
    ck_assert_int_eq(scim_key_create(st, "test", acc, &k[2], &tok[2]), 0);

    ck_assert_int_eq(store_read_begin(st, &t), 0);
    ck_assert_int_eq(scim_key_list(t, acc, &list), 0);
    store_read_end(t);
    ck_assert_uint_eq(json_array_size(list), 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_ptr_null(json_object_get(json_array_get(list, i), "token"));
        ck_assert_str_eq(json_get_string(json_array_get(list, i), "id"),
                         json_get_string(k[i], "id"));
    }
    json_free(k[0]);
    free(tok[0]);
    ck_assert_int_eq(scim_key_create(st, "test", "nope", &k[0], &tok[0]), SCIM_KEYS_NO_ACCOUNT);
    json_free(list);
    for (int i = 1; i < 3; i++) {
        json_free(k[i]);
        free(tok[i]);
    }
    free(acc);
    free(other);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scim_keys");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, account_create_and_list);
    tcase_add_test(tc, key_authenticates_until_revoked);
    tcase_add_test(tc, revoke_by_other_process_stops_cached_key);
    tcase_add_test(tc, deleted_key_stops_cached_key);
    tcase_add_test(tc, cached_key_bound_to_store);
    tcase_add_test(tc, cached_keys_stay_apart);
    tcase_add_test(tc, bad_tokens_rejected);
    tcase_add_test(tc, at_most_two_active_keys);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
