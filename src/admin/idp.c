#include "config.h"

#include "admin/ops.h"

/* Incoming keys: the account's identity-provider settings.
 * TODO: call oidc_idp_set and its reader (src/oidc/idp.h) once the sign-in
 * module provides them; until then both operations report 501. */

int admin_idp_get(store_txn *t, admin_call *call)
{
    if (admin_account_exists(t, call))
        return -1;
    return admin_fail(call, 501, "identity-provider settings are not available in this build");
}

int admin_idp_set(store_txn *t, admin_call *call)
{
    if (admin_account_exists(t, call))
        return -1;
    return admin_fail(call, 501, "identity-provider settings are not available in this build");
}
