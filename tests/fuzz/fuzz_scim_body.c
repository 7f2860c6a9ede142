/* libFuzzer target: SCIM request bodies. The input is parsed as JSON and
 * normalised as a User and as a Group. Its "attributes" and
 * "excludedAttributes" strings are used as a projection. It is also parsed
 * as a PATCH request and applied to a stored User and to a stored Group,
 * with and without member hooks. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "scim/patch.h"
#include "scim/values.h"

static const char user_text[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"u1\","
    "\"userName\":\"bjensen\",\"name\":{\"givenName\":\"B\"},\"active\":true,"
    "\"emails\":[{\"value\":\"b@x\",\"type\":\"work\",\"primary\":true}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"manager\":{\"value\":"
    "\"m\"}}}";
static const char group_text[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"id\":\"g1\","
    "\"displayName\":\"Eng\",\"members\":[{\"value\":\"u1\"}]}";

static int add_members(void *ctx, const json *values, scim_error *err)
{
    return json_array_size(values) > 3 ? scim_error_set(err, 409, NULL, "too many") : 0;
}

static int remove_members(void *ctx, const json *values, const scim_filter *filter,
                          scim_error *err)
{
    const char *id;
    return filter ? (scim_filter_find_eq(filter, "value", &id) ? 0 : -1) : 0;
}

static int replace_members(void *ctx, const json *values, scim_error *err)
{
    return 0;
}

static void try_patch(const json *body, const scim_schema_resource *res, const json *stored,
                      const scim_patch_hooks *hooks)
{
    scim_patch *p = NULL;
    scim_error err;
    json *out = NULL;

    if (scim_patch_parse(body, &p, &err) < 0)
        return;
    if (scim_patch_apply(p, res, stored, hooks, &out, &err) == 0) {
        char *text = json_dump(out, NULL);
        free(text);
        json_free(out);
    }
    scim_patch_free(p);
}

/* Normalises `tree` (taken) and applies the body's projection. Returns the
 * result's serialization (malloc'd, or NULL) and sets `*rc`. */
static char *normalize_dump(json *tree, const json *body, const scim_schema_resource *res, int *rc)
{
    scim_error err;
    char *text = NULL;

    *rc = tree ? scim_resource_normalize(res, tree, SCIM_NORMALIZE_CREATE, &err) : -1;
    if (*rc == 0) {
        scim_projection *p = NULL;
        if (scim_projection_parse(res, json_get_string(body, "attributes"),
                                  json_get_string(body, "excludedAttributes"), &p, &err) == 0) {
            scim_projection_apply(p, tree);
            scim_projection_free(p);
        }
        text = json_dump(tree, NULL);
    }
    json_free(tree);
    return text;
}

/* Normalises the tree the parser returns, as the server does (its
 * children live in the nodes' own allocations and are changed in place),
 * and a copy of it, and requires the same outcome. */
static void try_normalize(const uint8_t *data, size_t size, const json *body,
                          const scim_schema_resource *res)
{
    int rc_parsed, rc_copy;
    char *parsed = normalize_dump(json_parse_input((const char *)data, size, NULL, 0), body, res,
                                  &rc_parsed);
    char *copied = normalize_dump(json_copy(body), body, res, &rc_copy);

    if (rc_parsed != rc_copy || (parsed && copied && strcmp(parsed, copied) != 0))
        abort();
    free(parsed);
    free(copied);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json *user, *group;
    static const scim_patch_hooks hooks = {NULL, add_members, remove_members, replace_members};
    char err[160];
    json *body;

    if (!user) {
        user = json_parse(user_text, strlen(user_text), NULL, 0);
        group = json_parse(group_text, strlen(group_text), NULL, 0);
    }
    body = json_parse_input((const char *)data, size, err, sizeof(err));
    if (!body)
        return 0;
    try_normalize(data, size, body, scim_schema_user());
    try_normalize(data, size, body, scim_schema_group());
    try_patch(body, scim_schema_user(), user, NULL);
    try_patch(body, scim_schema_group(), group, &hooks);
    try_patch(body, scim_schema_group(), group, NULL);
    json_free(body);
    return 0;
}
