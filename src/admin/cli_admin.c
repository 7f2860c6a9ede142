#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/admin_const.h"
#include "admin/dns_txt.h"
#include "admin/ops.h"
#include "cli.h"
#include "conf.h"
#include "store.h"

/* Command-line forms of the admin API, each calling the same operation as
 * its endpoint: admin-token, account rename|delete|settings, domain,
 * directory-group, user, license and audit commands. The sign-in module
 * provides `idp get|set|delete`, and the core `account create|get|list` and
 * `scim-key create|list|revoke`. */

#define CLI_ACTOR "cli"

/* A flag copied into the operation's input: the flag name, the input key,
 * and whether the value is JSON (true, false, a number) or a string. */
typedef struct flag_map {
    const char *flag;
    const char *key;
    int is_json;
} flag_map;

typedef struct cli_op {
    admin_op_fn fn;
    int write;
    int needs_account;
    const char *arg_flags[2];   /* flags that become args[0], args[1] */
    const flag_map *inputs;     /* NULL-terminated by flag */
} cli_op;

static json *flag_value(const char *text, int is_json)
{
    json *v;

    if (!is_json)
        return json_string(text);
    v = json_parse(text, strlen(text), NULL, 0);
    return v ? v : json_string(text);
}

static int run_read(cli_ctx *c, store *s, const cli_op *op, admin_call *call)
{
    store_txn *t;
    int rc = store_read_begin(s, &t);

    if (rc)
        return cli_fail(c, "cannot read the store: %s", store_strerror(rc));
    op->fn(t, call);
    store_read_end(t);
    return 0;
}

struct job {
    const cli_op *op;
    admin_call *call;
};

static int run_job(store_txn *t, void *arg)
{
    struct job *j = arg;
    return j->op->fn(t, j->call) ? 1 : 0;
}

/* Returns 1 when `word` occurs in `text` with no letter, digit or '_'
 * on either side. */
static int contains_word(const char *text, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        int before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = isalnum((unsigned char)p[n]) || p[n] == '_';
        if (!before && !after)
            return 1;
    }
    return 0;
}

/* Prints the operation's error. The operations name input members as the
 * API spells them (default_tier), so for a rejected input (400) this adds
 * the flags whose member the message names, with the values given. */
static int fail_call(cli_ctx *c, const cli_op *op, const admin_call *call)
{
    char given[512] = "";
    size_t used = 0;

    if (!call->error[0])
        return cli_fail(c, "failed");
    for (const flag_map *f = op->inputs; call->status == 400 && f && f->flag; f++) {
        const char *v = cli_flag(c, f->flag);
        int n;
        if (!v || !contains_word(call->error, f->key) || used >= sizeof given)
            continue;
        n = snprintf(given + used, sizeof given - used, "%s--%s %s", used ? ", " : "", f->flag, v);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used == 0)
        return cli_fail(c, "%s", call->error);
    return cli_fail(c, "%s (given %s)", call->error, given);
}

/* Runs `op` with flags from the command line and prints its outcome. */
static int run_op(cli_ctx *c, const cli_op *op)
{
    admin_call call = {.actor = CLI_ACTOR, .status = 200};
    json *input = json_object();
    store *s;
    int rc = 0, code;

    call.account = cli_flag(c, "account");
    if (op->needs_account && !call.account) {
        json_free(input);
        return cli_usage(c);
    }
    for (int i = 0; i < 2 && op->arg_flags[i]; i++) {
        call.args[i] = cli_flag(c, op->arg_flags[i]);
        if (!call.args[i]) {
            json_free(input);
            return cli_usage(c);
        }
    }
    for (const flag_map *f = op->inputs; f && f->flag; f++) {
        const char *v = cli_flag(c, f->flag);
        if (v)
            json_object_set(input, f->key, flag_value(v, f->is_json));
    }
    call.input = input;
    if (cli_store(c, &s) != 0) {
        json_free(input);
        return 1;
    }
    if (op->write) {
        struct job j = {op, &call};
        rc = store_run(s, run_job, &j);
        if (rc < 0 && call.status < 400)
            admin_fail(&call, 500, "the change could not be saved: %s", store_strerror(rc));
    } else if (run_read(c, s, op, &call)) {
        json_free(input);
        return 1;
    }
    if (call.status >= 400 || !call.result)
        code = fail_call(c, op, &call);
    else
        code = cli_print_json(call.result);
    admin_call_clear(&call);
    json_free(input);
    return code;
}

#define OP(name, ...)                                                                              \
    static const cli_op name##_op = {__VA_ARGS__};                                                 \
    static int cmd_##name(cli_ctx *c)                                                              \
    {                                                                                              \
        return run_op(c, &name##_op);                                                              \
    }

static const flag_map name_input[] = {{"name", "name", 0}, {0}};
static const flag_map domain_input[] = {{"domain", "domain", 0}, {0}};
static const flag_map settings_input[] = {
    {"default-tier", "default_tier", 0},   {"absolute-lifetime", "absolute_lifetime", 1},
    {"idle-timeout", "idle_timeout", 1},   {"refresh-tokens", "refresh_tokens", 1},
    {"provider-logout", "provider_logout", 1}, {"direct-id-token", "direct_id_token", 1},
    {"form-post", "form_post", 1},         {0},
};
static const flag_map group_input[] = {{"name", "displayName", 0}, {"tier", "tier", 0}, {0}};
static const flag_map tier_input[] = {{"tier", "tier", 0}, {0}};
static const flag_map page_input[] = {
    {"tier", "tier", 0}, {"after", "after", 0}, {"limit", "limit", 0}, {0}};
static const flag_map audit_input[] = {{"kind", "kind", 0},   {"since", "since", 0},
                                       {"until", "until", 0}, {"order", "order", 0},
                                       {"after", "after", 0}, {"limit", "limit", 0},
                                       {0}};

OP(token_create, admin_token_create, 1, 0, {0}, NULL)
OP(token_list, admin_token_list, 0, 0, {0}, NULL)
OP(token_revoke, admin_token_revoke, 1, 0, {"id"}, NULL)
OP(account_rename, admin_account_rename, 1, 1, {0}, name_input)
OP(account_delete, admin_account_delete, 1, 1, {0}, NULL)
OP(domain_add, admin_domain_add, 1, 1, {0}, domain_input)
OP(domain_list, admin_domain_list, 0, 1, {0}, NULL)
OP(domain_get, admin_domain_get, 0, 1, {"domain"}, NULL)
OP(domain_remove, admin_domain_remove, 1, 1, {"domain"}, NULL)
OP(group_add, admin_dirgroup_add, 1, 1, {0}, group_input)
OP(group_list, admin_dirgroup_list, 0, 1, {0}, NULL)
OP(group_set, admin_dirgroup_set, 1, 1, {"group"}, tier_input)
OP(group_remove, admin_dirgroup_remove, 1, 1, {"group"}, NULL)
OP(user_list, admin_user_list, 0, 1, {0}, page_input)
OP(user_links, admin_user_links, 0, 1, {"user"}, NULL)
OP(user_unlink, admin_user_unlink, 1, 1, {"user"}, NULL)
OP(license_counts, admin_license_counts, 0, 1, {0}, NULL)
OP(audit_list, admin_audit_list, 0, 1, {0}, audit_input)

/* `account settings` changes the settings given as flags, or without any
 * prints every setting, defaults included, as the API's account read does. */
static int cmd_account_settings(cli_ctx *c)
{
    static const cli_op change = {admin_account_settings, 1, 1, {0}, settings_input};
    static const cli_op read = {admin_account_get, 0, 1, {0}, NULL};
    admin_call call = {.actor = CLI_ACTOR, .status = 200};
    const json *settings;
    store *s;
    int code;

    for (const flag_map *f = settings_input; f->flag; f++) {
        if (cli_flag(c, f->flag))
            return run_op(c, &change);
    }
    call.account = cli_flag(c, "account");
    if (!call.account)
        return cli_usage(c);
    if (cli_store(c, &s) != 0 || run_read(c, s, &read, &call))
        return 1;
    settings = call.result ? json_object_get(call.result, "settings") : NULL;
    if (call.status >= 400 || !settings)
        code = cli_fail(c, "%s", call.error[0] ? call.error : "the account has no settings");
    else
        code = cli_print_json(settings);
    admin_call_clear(&call);
    return code;
}

/* Prints why the TXT lookup for `domain` failed, with the resolver that was
 * asked and the setting to check, and returns 1. */
static int fail_lookup(cli_ctx *c, const char *domain, int err)
{
    char why[700];

    admin_dns_failure(c->conf, domain, err, why, sizeof why);
    return cli_fail(c, "%s", why);
}

/* `domain verify` looks the TXT record up on a private event loop, then
 * marks the domain verified like the API does. */
static int cmd_domain_verify(cli_ctx *c)
{
    static const cli_op get = {admin_domain_verify_start, 0, 1, {"domain"}, NULL};
    static const cli_op mark = {admin_domain_mark, 1, 1, {"domain", "token"}, NULL};
    admin_call call = {.actor = CLI_ACTOR, .status = 200};
    const json *record;
    char token[128], domain[260];
    int err, matched, code;
    store *s;

    call.account = cli_flag(c, "account");
    call.args[0] = cli_flag(c, "domain");
    if (!call.account || !call.args[0])
        return cli_usage(c);
    if (cli_store(c, &s) != 0 || run_read(c, s, &get, &call))
        return 1;
    record = json_object_get(call.result, "record");
    if (!call.result || !record) {
        code = cli_fail(c, "%s", call.error);
        admin_call_clear(&call);
        return code;
    }
    if (json_bool_value(json_object_get(call.result, "verified"))) {
        code = cli_print_json(call.result);
        admin_call_clear(&call);
        return code;
    }
    snprintf(domain, sizeof domain, "%s", json_get_string(call.result, "domain"));
    if (admin_dns_verify_blocking(c->conf, domain, json_get_string(record, "value"), &err, token,
                                  sizeof token, &matched)) {
        admin_call_clear(&call);
        return cli_fail(c, "could not look up %s%s", ADMIN_CHALLENGE_LABEL, domain);
    }
    admin_call_clear(&call);
    if (err && err != DNS_TXT_NXDOMAIN)
        return fail_lookup(c, domain, err);
    if (!matched)
        return cli_fail(c,
                        "verification failed: no TXT record at %s%s contains the expected value; "
                        "publish it, wait for DNS to update and try again",
                        ADMIN_CHALLENGE_LABEL, domain);
    {
        char *argv[] = {"--account", (char *)cli_flag(c, "account"), "--domain", domain,
                        "--token", token};
        cli_ctx sub = *c;
        sub.argc = 6;
        sub.argv = argv;
        return run_op(&sub, &mark);
    }
}

CLI_COMMAND(admin_token_create, "admin-token", "create", "[--account ID]",
            "Creates an admin API token (for one account with --account, else an operator "
            "token) and prints it once.",
            cmd_token_create)
CLI_COMMAND(admin_token_list, "admin-token", "list", "[--account ID]",
            "Lists admin tokens (without the secrets).", cmd_token_list)
CLI_COMMAND(admin_token_revoke, "admin-token", "revoke", "--id TOKENID",
            "Revokes an admin token at once.", cmd_token_revoke)
CLI_COMMAND(admin_account_rename, "account", "rename", "--account ID --name NAME",
            "Renames an account.", cmd_account_rename)
CLI_COMMAND(admin_account_delete, "account", "delete", "--account ID",
            "Deletes an account with all its users, groups, keys, domains and audit log.",
            cmd_account_delete)
CLI_COMMAND(admin_account_settings, "account", "settings",
            "--account ID [--default-tier basic|pro|none] [--absolute-lifetime SECONDS] "
            "[--idle-timeout SECONDS] [--refresh-tokens true|false] [--provider-logout true|false] "
            "[--direct-id-token true|false] [--form-post true|false]",
            "Changes the settings given, or without them prints every setting with its "
            "current value.",
            cmd_account_settings)
CLI_COMMAND(admin_domain_add, "domain", "add", "--account ID --domain NAME",
            "Claims an email domain and prints the DNS TXT record to publish.", cmd_domain_add)
CLI_COMMAND(admin_domain_list, "domain", "list", "--account ID",
            "Lists an account's claimed domains.", cmd_domain_list)
CLI_COMMAND(admin_domain_get, "domain", "get", "--account ID --domain NAME",
            "Shows one claimed domain and its TXT record.", cmd_domain_get)
CLI_COMMAND(admin_domain_verify, "domain", "verify", "--account ID --domain NAME",
            "Looks up the domain's TXT record and marks the domain verified.", cmd_domain_verify)
CLI_COMMAND(admin_domain_remove, "domain", "remove", "--account ID --domain NAME",
            "Removes a claimed domain.", cmd_domain_remove)
CLI_COMMAND(admin_group_add, "directory-group", "add", "--account ID --name NAME --tier basic|pro",
            "Maps a pushed group, by its exact name, to a licence tier.", cmd_group_add)
CLI_COMMAND(admin_group_list, "directory-group", "list", "--account ID",
            "Lists directory groups with their tiers and member counts.", cmd_group_list)
CLI_COMMAND(admin_group_set, "directory-group", "set-tier",
            "--account ID --group GROUPID --tier basic|pro", "Changes a directory group's tier.",
            cmd_group_set)
CLI_COMMAND(admin_group_remove, "directory-group", "remove", "--account ID --group GROUPID",
            "Removes a directory group; its members fall back to other groups or the default.",
            cmd_group_remove)
CLI_COMMAND(admin_user_list, "user", "list",
            "--account ID [--tier none|basic|pro] [--after USERID] [--limit N]",
            "Lists users with their licence tier.", cmd_user_list)
CLI_COMMAND(admin_user_links, "user", "links", "--account ID --user USERID",
            "Lists the identity-provider subjects (issuer and sub) linked to a user.",
            cmd_user_links)
CLI_COMMAND(admin_user_unlink, "user", "unlink", "--account ID --user USERID",
            "Removes a user's links to identity-provider subjects and ends the user's "
            "sessions, so that the next sign-in matches the user again.",
            cmd_user_unlink)
CLI_COMMAND(admin_license_counts, "license", "counts", "--account ID",
            "Prints the number of active users per licence tier.", cmd_license_counts)
CLI_COMMAND(admin_audit_list, "audit", "list",
            "--account ID [--kind KIND] [--since TIME] [--until TIME] [--order asc|desc] "
            "[--after ID] [--limit N]",
            "Lists audit events, newest first unless --order asc.", cmd_audit_list)
