#include "config.h"

#include "scim/scim_http.h"
#include "scim/scim_store.h"

/* Adds the read-only `groups` attribute from the membership records. */
static int decorate_user(store_txn *t, const char *account, json *res, const scim_projection *p)
{
    json *groups = NULL;
    const char *id = json_get_string(res, "id");
    int rc;

    if (!id || !scim_projection_includes(p, "groups"))
        return 0;
    rc = scim_store_user_groups(t, account, id, scim_base_url(), &groups);
    if (rc)
        return rc;
    return json_object_set(res, "groups", groups) == 0 ? 0 : STORE_NOMEM;
}

const scim_kind scim_kind_user = {
    .users = 1,
    .type = "User",
    .endpoint = "/Users",
    .alias = "/users",
    .schema = scim_schema_user,
    .create = scim_store_user_create,
    .replace = scim_store_user_replace,
    .patch = scim_store_user_patch,
    .remove = scim_store_user_delete,
    .decorate = decorate_user,
};
