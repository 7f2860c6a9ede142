#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin/ops.h"
#include "scim/values.h"
#include "store.h"

int admin_fail(admin_call *call, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(call->error, sizeof call->error, fmt, ap);
    va_end(ap);
    /* Messages repeat request values, which may be any bytes, and the reply
     * is JSON, which must be UTF-8. */
    scim_utf8_repair(call->error);
    call->status = status;
    json_free(call->result);
    call->result = NULL;
    return -1;
}

int admin_store_fail(admin_call *call, int rc, const char *what)
{
    if (rc == STORE_NOTFOUND)
        admin_fail(call, 404, "%s not found", what);
    else
        admin_fail(call, 500, "store error while reading or writing %s: %s", what,
                   store_strerror(rc));
    return rc ? rc : -1;
}

int admin_ok(admin_call *call, int status, json *result)
{
    if (!result)
        return admin_fail(call, 500, "out of memory");
    json_free(call->result);
    call->result = result;
    call->status = status;
    call->error[0] = 0;
    return 0;
}

void admin_call_clear(admin_call *call)
{
    json_free(call->result);
    call->result = NULL;
}

int admin_account_exists(store_txn *t, admin_call *call)
{
    store_val v;
    int rc;

    if (!call->account || strlen(call->account) != STORE_ID_LEN)
        return admin_fail(call, 404, "account not found: %s", call->account ? call->account : "");
    rc = store_get(t, T_ACCOUNTS, call->account, STORE_ID_LEN, &v);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "account not found: %s", call->account);
    if (rc)
        return admin_store_fail(call, rc, "account");
    return 0;
}

int admin_check_members(admin_call *call, const char *const allowed[])
{
    char expected[128] = "";

    for (size_t i = 0; i < json_object_size(call->input); i++) {
        const char *key = json_object_key_at(call->input, i);
        size_t j = 0;

        while (allowed[j] && strcmp(allowed[j], key))
            j++;
        if (allowed[j])
            continue;
        for (j = 0; allowed[j]; j++) {
            size_t used = strlen(expected);
            snprintf(expected + used, sizeof expected - used, "%s%s", j ? ", " : "", allowed[j]);
        }
        return admin_fail(call, 400, "unknown member \"%.64s\" (expected %s)", key,
                          allowed[0] ? expected : "no members");
    }
    return 0;
}
