/* libFuzzer target: SCIM filter parsing, schema checks, evaluation and the
 * index-planning helpers. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "scim/filter.h"
#include "scim/schema.h"

static const char user_text[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"u1\","
    "\"userName\":\"bjensen\",\"name\":{\"givenName\":\"B\"},\"active\":true,\"n\":5,"
    "\"emails\":[{\"value\":\"b@x\",\"type\":\"work\",\"primary\":true},\"odd\",7],"
    "\"meta\":{\"created\":\"2010-01-23T04:56:22Z\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"manager\":{\"value\":"
    "\"m\"}}}";

static int resolver(void *ctx, const scim_filter *node)
{
    (void)ctx;
    return node->kind == SCIM_FILTER_VALUE_PATH;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json *user;
    scim_filter *f = NULL;
    const char *value;
    char err[256];

    if (!user)
        user = json_parse(user_text, strlen(user_text), NULL, 0);
    if (scim_filter_parsen((const char *)data, size, &f, err, sizeof(err)) < 0)
        return 0;
    scim_filter_check(f, scim_schema_user(), err, sizeof(err));
    scim_filter_check(f, scim_schema_group(), err, sizeof(err));
    scim_filter_match(f, user, scim_schema_user());
    scim_filter_match(f, user, NULL);
    scim_filter_match_ex(f, user, scim_schema_group(), resolver, NULL);
    scim_filter_find_eq(f, "userName", &value);
    scim_filter_find_eq(f, "members.value", &value);
    scim_filter_uses_attr(f, "members");
    scim_filter_free(f);
    return 0;
}
