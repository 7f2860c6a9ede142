/* libFuzzer target: the SCIM list parameters and the If-Match /
 * If-None-Match parser. The input is a query string as a client sends it
 * (startIndex, count, sortBy, sortOrder, attributes, excludedAttributes,
 * plus `etag` and `version` to drive the entity-tag comparison), decoded
 * the way the HTTP server decodes it. The whole input is also tried as a
 * raw header value and as text echoed in an error detail.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "scim/query.h"
#include "scim/scim_store.h"
#include "scim/values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_paging(const http_kv *kv, size_t n)
{
    long start = 1, count = 100;
    scim_error err = {0};

    if (scim_query_long("startIndex", http_kv_find(kv, n, "startIndex"), &start, &err) != 0 ||
        scim_query_long("count", http_kv_find(kv, n, "count"), &count, &err) != 0) {
        if (err.status != 400 || !err.detail[0])
            abort();
        return;
    }
    scim_query_clamp(&start, &count, 1000);
    if (start < 1 || count < 0 || count > 1000)
        abort();
}

static void check_sorting(const http_kv *kv, size_t n)
{
    static const char *const types[] = {"User", "Group"};
    const scim_schema_resource *res[] = {scim_schema_user(), scim_schema_group()};
    const char *sort_by = http_kv_find(kv, n, "sortBy");
    int descending;
    scim_error err = {0};

    if (scim_query_sort_order(http_kv_find(kv, n, "sortOrder"), &descending, &err) != 0 &&
        err.status != 400)
        abort();
    for (size_t i = 0; sort_by && i < 2; i++) {
        const scim_attr *attr = NULL, *sub = NULL;
        const scim_schema *schema = NULL;
        if (scim_query_sort_by(res[i], types[i], sort_by, &attr, &sub, &schema, &err) == 0 &&
            (!attr || (attr->type == SCIM_TYPE_COMPLEX && !sub)))
            abort();
    }
}

static void check_projection(const http_kv *kv, size_t n)
{
    const scim_schema_resource *res[] = {scim_schema_user(), scim_schema_group()};
    const char *attributes = http_kv_find(kv, n, "attributes");
    const char *excluded = http_kv_find(kv, n, "excludedAttributes");

    for (size_t i = 0; i < 2; i++) {
        scim_projection *p = NULL;
        scim_error err = {0};
        if (scim_projection_parse(res[i], attributes, excluded, &p, &err) == 0) {
            scim_projection_includes(p, "members");
            scim_projection_includes(p, "groups");
            scim_projection_free(p);
        }
    }
}

/* A header that lists a version, or "*", always matches it. */
static void check_etags(const char *header, const char *version)
{
    char listed[512];

    scim_etag_matches(header, version);
    scim_etag_matches(header, "W/\"1\"");
    if (!scim_etag_matches("*", version))
        abort();
    if (strlen(version) < 200 && !strpbrk(version, ", \t") && version[0] &&
        (version[0] == '"' || (version[0] == 'W' && version[1] == '/' && version[2] == '"')) &&
        strchr(version + (version[0] == 'W' ? 3 : 1), '"') ==
            version + strlen(version) - 1) {
        snprintf(listed, sizeof listed, "W/\"0\", %s", version);
        if (!scim_etag_matches(listed, version))
            abort();
    }
}

/* Error details echo parameters: after scim_utf8_repair any text must
 * serialize as JSON, and a second repair must change nothing. */
static void check_detail(const char *text)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%.*s", scim_utf8_prefix(text, 200), text);
    size_t n = scim_utf8_repair(detail);
    if (n != strlen(detail))
        abort();
    json *s = json_string(detail);
    char *dumped = s ? json_dump(s, NULL) : NULL;
    if (s && !dumped)
        abort();
    free(dumped);
    json_free(s);
    char again[256];
    memcpy(again, detail, n + 1);
    if (scim_utf8_repair(again) != n || memcmp(again, detail, n) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    http_kv *kv = NULL;
    size_t n;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    n = http_kv_parse(text, strlen(text), '&', 1, &kv);
    check_paging(kv, n);
    check_sorting(kv, n);
    check_projection(kv, n);
    const char *etag = http_kv_find(kv, n, "etag");
    const char *version = http_kv_find(kv, n, "version");
    check_etags(etag ? etag : text, version ? version : "W/\"3\"");
    check_detail(text);
    http_kv_free(kv, n);
    free(text);
    return 0;
}
