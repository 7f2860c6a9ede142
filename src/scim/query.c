#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "scim/query.h"
#include "scim/scim_const.h"

static int invalid(scim_error *err)
{
    err->status = 400;
    err->scim_type = SCIM_ERR_INVALID_VALUE;
    return -1;
}

static int invalid_sort_by(scim_error *err, const char *sort_by, const char *type)
{
    snprintf(err->detail, sizeof err->detail,
             "sortBy \"%.100s\" is not a sortable attribute of %s.", sort_by, type);
    return invalid(err);
}

int scim_query_long(const char *name, const char *text, long *out, scim_error *err)
{
    char *end;
    long v;

    if (!text || !*text)
        return 0;
    v = strtol(text, &end, 10);
    if (end == text || *end) {
        snprintf(err->detail, sizeof err->detail, "%s \"%.40s\" is not an integer.", name, text);
        return invalid(err);
    }
    /* strtol saturates at LONG_MIN and LONG_MAX on overflow. */
    if (v > 0x7fffffffL)
        v = 0x7fffffffL;
    if (v < -1)
        v = -1;
    *out = v;
    return 0;
}

void scim_query_clamp(long *start, long *count, long max_count)
{
    if (*start < 1)
        *start = 1;
    if (*count < 0)
        *count = 0;
    if (*count > max_count)
        *count = max_count;
}

int scim_query_sort_order(const char *order, int *descending, scim_error *err)
{
    *descending = 0;
    if (!order || !*order || strcasecmp(order, "ascending") == 0)
        return 0;
    if (strcasecmp(order, "descending") == 0) {
        *descending = 1;
        return 0;
    }
    snprintf(err->detail, sizeof err->detail,
             "sortOrder \"%.40s\" is invalid; use ascending or descending.", order);
    return invalid(err);
}

int scim_query_sort_by(const scim_schema_resource *res, const char *type, const char *sort_by,
                       const scim_attr **attr, const scim_attr **sub,
                       const scim_schema **schema, scim_error *err)
{
    if (scim_schema_lookup(res, sort_by, attr, sub, schema) != 0)
        return invalid_sort_by(err, sort_by, type);
    if ((*attr)->type == SCIM_TYPE_COMPLEX && !*sub) {
        *sub = scim_schema_find_sub_attr(*attr, "value");
        if (!*sub)
            return invalid_sort_by(err, sort_by, type);
    }
    return 0;
}
