#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "admin/ops.h"
#include "scim_keys.h"

/* SCIM access keys through the core scim_keys module. */

static int fail_keys(admin_call *call, int rc)
{
    switch (rc) {
    case SCIM_KEYS_NO_ACCOUNT:
        return admin_fail(call, 404, "account not found: %s", call->account);
    case SCIM_KEYS_LIMIT:
        return admin_fail(call, 409,
                          "this account already has %d active SCIM keys; revoke one first",
                          SCIM_KEYS_MAX_ACTIVE);
    case SCIM_KEYS_NO_KEY:
        return admin_fail(call, 404, "SCIM key not found: %s", call->args[0] ? call->args[0] : "");
    case SCIM_KEYS_REVOKED:
        return admin_fail(call, 409, "SCIM key %s is already revoked", call->args[0]);
    default:
        return admin_fail(call, 500, "%s", scim_keys_strerror(rc));
    }
}

int admin_key_create(store_txn *t, admin_call *call)
{
    json *key = NULL;
    char *token = NULL;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    rc = scim_key_create_txn(t, call->actor, call->account, &key, &token);
    if (rc)
        return fail_keys(call, rc);
    /* The token is returned this once and never stored. */
    json_object_set(key, "token", json_string(token));
    memset(token, 0, strlen(token));
    free(token);
    return admin_ok(call, 201, key);
}

int admin_key_list(store_txn *t, admin_call *call)
{
    json *keys = NULL;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    rc = scim_key_list(t, call->account, &keys);
    if (rc)
        return fail_keys(call, rc);
    return admin_ok(call, 200, keys);
}

int admin_key_revoke(store_txn *t, admin_call *call)
{
    json *key = NULL;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    if (!call->args[0] || !*call->args[0])
        return admin_fail(call, 400, "missing SCIM key id");
    rc = scim_key_revoke_txn(t, call->actor, call->account, call->args[0], &key);
    if (rc)
        return fail_keys(call, rc);
    return admin_ok(call, 200, key);
}
