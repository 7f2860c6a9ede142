#include "config.h"

#include "admin/ops.h"
#include "app.h"
#include "audit.h"
#include "conf.h"
#include "oidc/idp.h"

/* NOTE: weak until the sign-in module's idp.c is part of every build;
 * without it these operations report 501. */
#pragma weak oidc_idp_get
#pragma weak oidc_idp_set
#pragma weak oidc_idp_delete

/* Incoming keys: the account's identity-provider settings, kept by the
 * sign-in module. Setting them is asynchronous because the issuer's
 * discovery document is fetched to validate it, so the API calls
 * oidc_idp_set from its own handler in api.c. Reading is this operation. */

/* Returns the public base URL that redirect URIs start with, or NULL. */
static const char *base_url(const admin_call *call)
{
    return call->app && call->app->conf ? call->app->conf->base_url : NULL;
}

int admin_idp_get(store_txn *t, admin_call *call)
{
    json *idp = NULL;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    if (!oidc_idp_get)
        return admin_fail(call, 501, "identity-provider settings are not available in this build");
    rc = oidc_idp_get(t, base_url(call), call->account, &idp);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "no identity provider is set up for this account yet");
    if (rc)
        return admin_store_fail(call, rc, "identity-provider settings");
    return admin_ok(call, 200, idp);
}

/* Disconnects the account from its identity provider and records that
 * with the issuer and client id it had. */
int admin_idp_delete(store_txn *t, admin_call *call)
{
    json *idp = NULL, *d;
    int rc;

    if (admin_account_exists(t, call))
        return -1;
    if (!oidc_idp_get || !oidc_idp_delete)
        return admin_fail(call, 501, "identity-provider settings are not available in this build");
    rc = oidc_idp_get(t, base_url(call), call->account, &idp);
    if (rc == STORE_NOTFOUND)
        return admin_fail(call, 404, "no identity provider is set up for this account");
    if (rc)
        return admin_store_fail(call, rc, "identity-provider settings");
    rc = oidc_idp_delete(t, call->account);
    d = json_object();
    if (rc == 0 && (!d || json_object_set(d, "issuer", json_copy(json_object_get(idp, "issuer"))) ||
                    json_object_set(d, "client_id",
                                    json_copy(json_object_get(idp, "client_id")))))
        rc = STORE_NOMEM;
    if (rc == 0)
        rc = audit_record(t, call->account, AUDIT_IDP_DELETED, call->actor, d);
    json_free(d);
    json_free(idp);
    if (rc)
        return admin_store_fail(call, rc, "identity-provider settings");
    return admin_ok(call, 200, json_object());
}
