#include "config.h"

#include "admin/ops.h"
#include "oidc/idp.h"

/* NOTE: weak until the sign-in module's idp.c is part of every build;
 * without it both operations report 501. */
#pragma weak oidc_idp_get
#pragma weak oidc_idp_set

/* Incoming keys: the account's identity-provider settings, kept by the
 * sign-in module. Setting them is asynchronous because the issuer's
 * discovery document is fetched to validate it, so the API calls
 * oidc_idp_set from its own handler in api.c. Reading is this operation. */

int admin_idp_get(store_txn *t, admin_call *call)
{
    json *idp = NULL;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    if (!oidc_idp_get)
        return admin_fail(call, 501, "identity-provider settings are not available in this build");
    rc = oidc_idp_get(t, call->account, &idp);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "no identity provider is set up for this account yet");
    if (rc)
        return admin_store_fail(call, rc, "identity-provider settings");
    return admin_ok(call, 200, idp);
}
