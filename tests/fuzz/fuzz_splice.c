/* libFuzzer target: scim_splice_resource on arbitrary stored texts. A text
 * it rejects must leave the output empty. A text it accepts must splice to
 * the same bytes as the tree rendering (parse, set meta.location and
 * groups, drop password, dump) when it is a resource as the store writes
 * it: valid JSON in json_dump's compact form, without groups or password. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "json.h"
#include "scim/splice.h"

#define ID "01a2426a-db09-7686-a3cd-572e11226d56"
#define PREFIX "\"http://h/scim/v2/Users/"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The tree rendering of `text`, or NULL when it is not a resource in the
 * stored form. The caller frees the result. */
static char *tree_form(const char *text, size_t len, const json *groups, size_t *out_len)
{
    json *res = json_parse(text, len, NULL, 0);
    json *meta = res ? json_object_get(res, "meta") : NULL;
    char *canonical = NULL, *out = NULL;
    size_t n = 0;

    if (!meta || json_typeof(res) != JSON_OBJECT || json_typeof(meta) != JSON_OBJECT ||
        json_object_geti(res, "groups") || json_object_geti(res, "password"))
        goto done;
    canonical = json_dump(res, &n);
    if (!canonical || n != len || memcmp(canonical, text, len) != 0)
        goto done;
    json_object_set(meta, "location", json_string("http://h/scim/v2/Users/" ID));
    json_object_set(res, "groups", json_copy(groups));
    out = json_dump(res, out_len);
done:
    free(canonical);
    json_free(res);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char groups_text[] = "[{\"value\":\"g\",\"display\":\"\\u00e9 \\\"x\\\"\"}]";
    const char *text = (const char *)data;
    json *groups = json_parse(groups_text, sizeof groups_text - 1, NULL, 0);
    struct evbuffer *out = evbuffer_new();
    size_t want_len = 0;
    char *want;
    int rc;

    if (!groups || !out)
        abort();
    rc = scim_splice_resource(text, size, "User", PREFIX, sizeof PREFIX - 1, ID, "groups", out);
    if (rc == 1 && evbuffer_get_length(out) != 0)
        abort();
    if (rc == 0 && (json_dump_evbuffer(groups, out) != 0 || evbuffer_add(out, "}", 1) != 0))
        abort();
    if (rc == 0 && (want = tree_form(text, size, groups, &want_len)) != NULL) {
        size_t n = evbuffer_get_length(out);
        const unsigned char *got = evbuffer_pullup(out, -1);
        if (n != want_len || memcmp(got, want, n) != 0)
            abort();
        free(want);
    }
    evbuffer_free(out);
    json_free(groups);
    return 0;
}
