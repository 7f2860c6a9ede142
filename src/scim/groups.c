#include "config.h"

#include "scim/scim_http.h"
#include "scim/scim_store.h"

/* Adds `members` from the membership records, only when the response
 * includes them: under excludedAttributes=members no record is read. */
static int decorate_group(store_txn *t, const char *account, json *res, const scim_projection *p)
{
    json *members = NULL;
    const char *id = json_get_string(res, "id");
    int rc;

    if (!id || !scim_projection_includes(p, "members"))
        return 0;
    rc = scim_store_group_members(t, account, id, scim_base_url(), &members);
    if (rc)
        return rc;
    return json_object_set(res, "members", members) == 0 ? 0 : STORE_NOMEM;
}

const scim_kind scim_kind_group = {
    .users = 0,
    .type = "Group",
    .endpoint = "/Groups",
    .alias = "/groups",
    .schema = scim_schema_group,
    .create = scim_store_group_create,
    .replace = scim_store_group_replace,
    .patch = scim_store_group_patch,
    .remove = scim_store_group_delete,
    .decorate = decorate_group,
};
