#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ops.h"
#include "audit.h"
#include "crypto.h"
#include "log.h"

/* Admin tokens are random, shown once, and stored only as SHA-256 in
 * T_ADMIN_TOKENS. The prefix makes a leaked token easy to recognize. */
#define TOKEN_PREFIX "idga_"
#define TOKEN_BYTES 32
#define DISPLAY_LEN 12
/* Active tokens an account may have, so that a leaked account token cannot
 * mint an unbounded number of others. Operator tokens are not capped. */
#define MAX_ACCOUNT_TOKENS 10

static json *token_record(const char *id, const char *account, const char *display)
{
    char when[40];
    json *rec = json_object();

    audit_format_time(audit_now_usec(), when, sizeof when);
    if (!rec || json_object_set(rec, "id", json_string(id)) ||
        json_object_set(rec, "account", account ? json_string(account) : json_null()) ||
        json_object_set(rec, "prefix", json_string(display)) ||
        json_object_set(rec, "created", json_string(when))) {
        json_free(rec);
        return NULL;
    }
    return rec;
}

/* Records a scoped token's creation or revocation in its account's audit
 * log, with the id and display prefix only. Operator tokens belong to no
 * account, so they have no audit log to go to. */
static int audit_token(store_txn *t, admin_call *call, const char *kind, const char *account,
                       const json *rec)
{
    json *d;
    int rc;

    if (!account)
        return 0;
    d = json_object();
    if (!d || json_object_set(d, "token_id", json_copy(json_object_get(rec, "id"))) ||
        json_object_set(d, "prefix", json_copy(json_object_get(rec, "prefix")))) {
        json_free(d);
        return STORE_NOMEM;
    }
    rc = audit_record(t, account, kind, call->actor, d);
    json_free(d);
    return rc;
}

/* Calls `fn` for each stored token record (parsed) with its key. */
static int each_token(store_txn *t, int (*fn)(const store_val *k, json *rec, void *arg), void *arg)
{
    store_cursor *c = NULL;
    store_val k, v;
    uint8_t zero = 0;
    int rc = store_cursor_open(t, T_ADMIN_TOKENS, &c);

    if (rc)
        return rc;
    for (rc = store_cursor_seek(c, &zero, 1, &k, &v); rc == 0; rc = store_cursor_next(c, &k, &v)) {
        json *rec = json_parse(v.data, v.len, NULL, 0);
        int stop;

        if (!rec)
            continue;
        stop = fn(&k, rec, arg);
        json_free(rec);
        if (stop)
            break;
    }
    store_cursor_close(c);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

struct count_ctx {
    const char *account;
    unsigned count;
};

static int count_scoped(const store_val *k, json *rec, void *arg)
{
    struct count_ctx *ctx = arg;
    const char *scope = json_get_string(rec, "account");

    (void)k;
    if (scope && !strcmp(scope, ctx->account))
        ctx->count++;
    return 0;
}

int admin_token_create(store_txn *t, admin_call *call)
{
    static const char *const members[] = {"account", NULL};
    char id[37], display[DISPLAY_LEN + 1];
    uint8_t hash[32];
    char *token = NULL, *text = NULL;
    size_t len;
    json *rec = NULL;
    int rc = -1;

    if (admin_check_members(call, members))
        return -1;
    /* An operator may name the account of a scoped token in the input; a
     * scoped caller's own account always applies. */
    if (!call->account && json_get_string(call->input, "account"))
        call->account = json_get_string(call->input, "account");
    if (call->account && admin_account_exists(t, call))
        return -1;
    if (call->account) {
        struct count_ctx counted = {call->account, 0};

        rc = each_token(t, count_scoped, &counted);
        if (rc)
            return admin_store_fail(call, rc, "admin tokens");
        if (counted.count >= MAX_ACCOUNT_TOKENS)
            return admin_fail(call, 409,
                              "this account already has %d admin tokens; revoke one first",
                              MAX_ACCOUNT_TOKENS);
    }
    token = crypto_token(TOKEN_PREFIX, TOKEN_BYTES);
    if (!token || crypto_uuid4(id)) {
        rc = admin_fail(call, 500, "could not generate a token");
        goto out;
    }
    snprintf(display, sizeof display, "%s", token);
    crypto_sha256(token, strlen(token), hash);
    rec = token_record(id, call->account, display);
    text = rec ? json_dump(rec, &len) : NULL;
    if (!text) {
        rc = admin_fail(call, 500, "out of memory");
        goto out;
    }
    rc = store_put(t, T_ADMIN_TOKENS, hash, sizeof hash, text, len, STORE_NOOVERWRITE);
    if (rc == 0)
        rc = audit_token(t, call, AUDIT_TOKEN_CREATED, call->account, rec);
    if (rc) {
        admin_store_fail(call, rc, "admin token");
        goto out;
    }
    log_event(LOG_INFO, "admin token created", "token_id", id, "account",
              call->account ? call->account : "(operator)", "actor", call->actor, NULL);
    json_object_set(rec, "token", json_string(token));
    rc = admin_ok(call, 201, rec);
    rec = NULL;
out:
    if (token)
        memset(token, 0, strlen(token));
    free(token);
    free(text);
    json_free(rec);
    return rc;
}

struct list_ctx {
    const char *account;
    json *out;
};

static int add_listed(const store_val *k, json *rec, void *arg)
{
    struct list_ctx *ctx = arg;
    const char *scope = json_get_string(rec, "account");

    if (ctx->account && (!scope || strcmp(scope, ctx->account)))
        return 0;
    json_array_append(ctx->out, json_copy(rec));
    return 0;
}

int admin_token_list(store_txn *t, admin_call *call)
{
    struct list_ctx ctx = {call->account, json_array()};
    int rc;

    if (!ctx.out)
        return admin_fail(call, 500, "out of memory");
    rc = each_token(t, add_listed, &ctx);
    if (rc) {
        json_free(ctx.out);
        return admin_store_fail(call, rc, "admin tokens");
    }
    return admin_ok(call, 200, ctx.out);
}

struct find_ctx {
    const char *id;
    const char *account;
    uint8_t hash[32];
    json *rec; /* the matching record, owned by the caller */
};

static int match_id(const store_val *k, json *rec, void *arg)
{
    struct find_ctx *ctx = arg;
    const char *id = json_get_string(rec, "id");
    const char *scope = json_get_string(rec, "account");

    if (!id || strcmp(id, ctx->id) || k->len != 32)
        return 0;
    if (ctx->account && (!scope || strcmp(scope, ctx->account)))
        return 0;
    memcpy(ctx->hash, k->data, 32);
    ctx->rec = json_copy(rec);
    return 1;
}

int admin_token_revoke(store_txn *t, admin_call *call)
{
    struct find_ctx ctx = {.id = call->args[0], .account = call->account};
    int rc;

    if (!ctx.id || !*ctx.id)
        return admin_fail(call, 400, "missing admin token id");
    rc = each_token(t, match_id, &ctx);
    if (rc)
        return admin_store_fail(call, rc, "admin tokens");
    if (!ctx.rec)
        return admin_fail(call, 404, "admin token not found: %s", ctx.id);
    rc = store_del(t, T_ADMIN_TOKENS, ctx.hash, 32);
    if (rc == 0)
        rc = audit_token(t, call, AUDIT_TOKEN_REVOKED, json_get_string(ctx.rec, "account"),
                         ctx.rec);
    if (rc == 0)
        log_event(LOG_INFO, "admin token revoked", "token_id", ctx.id, "account",
                  json_get_string(ctx.rec, "account") ? json_get_string(ctx.rec, "account")
                                                      : "(operator)",
                  "actor", call->actor, NULL);
    json_free(ctx.rec);
    if (rc)
        return admin_store_fail(call, rc, "admin token");
    return admin_ok(call, 200, json_object());
}

int admin_token_check(store_txn *t, const char *token, char id[40], char account[40])
{
    uint8_t hash[32];
    store_cursor *c = NULL;
    store_val k, v;
    json *rec = NULL;
    const char *scope;
    int rc;

    if (!token || strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) || strlen(token) > 200)
        return STORE_NOTFOUND;
    crypto_sha256(token, strlen(token), hash);

    /* The nearest stored hash is compared in constant time, so the check
     * does not depend on how LMDB compares keys. */
    rc = store_cursor_open(t, T_ADMIN_TOKENS, &c);
    if (rc)
        return rc;
    rc = store_cursor_seek(c, hash, sizeof hash, &k, &v);
    if (rc == 0 && (k.len != sizeof hash || !crypto_equal(k.data, hash, sizeof hash)))
        rc = STORE_NOTFOUND;
    if (rc == 0)
        rec = json_parse(v.data, v.len, NULL, 0);
    store_cursor_close(c);
    if (rc)
        return rc;
    if (!rec)
        return STORE_NOTFOUND;
    scope = json_get_string(rec, "account");
    snprintf(id, 40, "%s", json_get_string(rec, "id") ? json_get_string(rec, "id") : "");
    snprintf(account, 40, "%s", scope ? scope : "");
    json_free(rec);
    return 0;
}
