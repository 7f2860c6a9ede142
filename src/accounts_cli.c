#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "accounts.h"
#include "admin/ops.h"
#include "cli.h"
#include "conf.h"
#include "scim_keys.h"

/* Commands: account create|list|get, scim-key create|list|revoke. */

#define CLI_ACTOR "cli"

static int with_read(cli_ctx *c, store_txn **t)
{
    store *s;
    int rc;
    if (cli_store(c, &s) != 0)
        return -1;
    rc = store_read_begin(s, t);
    if (rc != 0) {
        cli_fail(c, "cannot read the store: %s", store_strerror(rc));
        return -1;
    }
    return 0;
}

static int print_and_free(json *j)
{
    int rc = cli_print_json(j);
    json_free(j);
    return rc;
}

static int cmd_account_create(cli_ctx *c)
{
    const char *name = cli_flag(c, "name");
    const char *domain = cli_flag(c, "domain");
    store *s;
    json *acc;
    int rc;

    if (!name)
        return cli_usage(c);
    if (cli_store(c, &s) != 0)
        return 1;
    rc = accounts_create(s, CLI_ACTOR, name, domain, &acc);
    if (rc != 0)
        return cli_fail(c, "%s", accounts_strerror(rc));
    admin_account_complete_settings(acc);
    return print_and_free(acc);
}

static int cmd_account_list(cli_ctx *c)
{
    store_txn *t;
    json *list;
    int rc;

    if (with_read(c, &t) != 0)
        return 1;
    rc = accounts_list(t, &list);
    store_read_end(t);
    if (rc != 0)
        return cli_fail(c, "%s", accounts_strerror(rc));
    for (size_t i = 0; i < json_array_size(list); i++)
        admin_account_complete_settings(json_array_get(list, i));
    return print_and_free(list);
}

static int cmd_account_get(cli_ctx *c)
{
    const char *id = cli_flag(c, "account");
    store_txn *t;
    json *acc;
    int rc;

    if (!id)
        return cli_usage(c);
    if (with_read(c, &t) != 0)
        return 1;
    rc = accounts_get(t, id, &acc);
    store_read_end(t);
    if (rc == STORE_NOTFOUND)
        return cli_fail(c, "account %s not found", id);
    if (rc != 0)
        return cli_fail(c, "%s", accounts_strerror(rc));
    admin_account_complete_settings(acc);
    return print_and_free(acc);
}

static int cmd_key_create(cli_ctx *c)
{
    const char *account = cli_flag(c, "account");
    store *s;
    json *key;
    char *token;
    int rc;

    if (!account)
        return cli_usage(c);
    if (cli_store(c, &s) != 0)
        return 1;
    rc = scim_key_create(s, CLI_ACTOR, account, &key, &token);
    if (rc != 0)
        return cli_fail(c, "account %s: %s", account, scim_keys_strerror(rc));
    /* The token is printed this once and never stored. */
    json_object_set(key, "token", json_string(token));
    OPENSSL_cleanse(token, strlen(token));
    free(token);
    return print_and_free(key);
}

static int cmd_key_list(cli_ctx *c)
{
    const char *account = cli_flag(c, "account");
    store_txn *t;
    json *list;
    int rc;

    if (!account)
        return cli_usage(c);
    if (with_read(c, &t) != 0)
        return 1;
    rc = scim_key_list(t, account, &list);
    store_read_end(t);
    if (rc != 0)
        return cli_fail(c, "account %s: %s", account, scim_keys_strerror(rc));
    return print_and_free(list);
}

static int cmd_key_revoke(cli_ctx *c)
{
    const char *account = cli_flag(c, "account");
    const char *key_id = cli_flag(c, "key");
    store *s;
    json *key;
    int rc;

    if (!account || !key_id)
        return cli_usage(c);
    if (cli_store(c, &s) != 0)
        return 1;
    rc = scim_key_revoke(s, CLI_ACTOR, account, key_id, &key);
    if (rc != 0)
        return cli_fail(c, "key %s: %s", key_id, scim_keys_strerror(rc));
    return print_and_free(key);
}

CLI_COMMAND(account_create, "account", "create", "--name NAME [--domain DOMAIN]",
            "Creates an account; --domain records an unverified email domain claim.",
            cmd_account_create)
CLI_COMMAND(account_list, "account", "list", "", "Lists every account.", cmd_account_list)
CLI_COMMAND(account_get, "account", "get", "--account ID", "Shows one account.", cmd_account_get)
CLI_COMMAND(scim_key_create, "scim-key", "create", "--account ID",
            "Creates a SCIM access key and prints its token once.", cmd_key_create)
CLI_COMMAND(scim_key_list, "scim-key", "list", "--account ID",
            "Lists an account's SCIM keys without their tokens.", cmd_key_list)
CLI_COMMAND(scim_key_revoke, "scim-key", "revoke", "--account ID --key KEYID",
            "Revokes a SCIM key; it stops working at once.", cmd_key_revoke)
