/* Feeds request paths, query strings, form bodies and cookie headers to the
 * HTTP layer's parsers: routing with captures, percent-decoding and
 * name=value splitting. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void handler(http_req *r, void *arg)
{
}

static route_table *table(void)
{
    static route_table *t;
    if (t)
        return t;
    t = route_table_new();
    route_table_add(t, "/healthz", HTTP_GET, handler, NULL);
    route_table_add(t, "/scim/v2/Users", HTTP_GET | HTTP_POST, handler, NULL);
    route_table_add(t, "/scim/v2/Users/{}", HTTP_GET | HTTP_PUT | HTTP_PATCH, handler, NULL);
    route_table_add(t, "/scim/v2/Users/.search", HTTP_POST, handler, NULL);
    route_table_add(t, "/a/{}/b/{}/c/{}", HTTP_GET, handler, NULL);
    route_table_add(t, "/static/*", HTTP_GET, handler, NULL);
    /* Overlapping patterns, so that the lookup walks several branches. */
    route_table_add(t, "/", HTTP_GET, handler, NULL);
    route_table_add(t, "/static/a/*", HTTP_POST, handler, NULL);
    route_table_add(t, "/{}/{}", HTTP_HEAD, handler, NULL);
    route_table_add(t, "/scim/v2/{}/.search", HTTP_POST, handler, NULL);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    http_kv *kv;
    size_t n;
    route_match m;
    char *decoded;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    if (route_table_find(table(), text, HTTP_GET, &m) == 0)
        route_match_clear(&m);
    if (route_table_find(table(), text, HTTP_HEAD, &m) == 0)
        route_match_clear(&m);
    decoded = http_percent_decode((const char *)data, size, 1);
    free(decoded);
    n = http_kv_parse((const char *)data, size, '&', 1, &kv);
    http_kv_find(kv, n, "filter");
    http_kv_free(kv, n);
    n = http_kv_parse((const char *)data, size, ';', 0, &kv);
    http_kv_free(kv, n);
    http_request_id_ok(text);
    free(text);
    return 0;
}
