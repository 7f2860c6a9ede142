#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "scim/splice.h"
#include "store.h"

/* Finds the last occurrence of `needle` (`n` bytes) in `text`, or NULL. */
static const char *find_last(const char *text, size_t len, const char *needle, size_t n)
{
    for (size_t i = len >= n ? len - n + 1 : 0; i-- > 0;) {
        if (memcmp(text + i, needle, n) == 0)
            return text + i;
    }
    return NULL;
}

/* Checks that `text` ends with meta in the stored form: the members of
 * meta are strings, the last one is the version W/"n", and none is a
 * location. Returns 1 when it does. */
static int stored_form(const char *text, size_t len, const char *resource_type)
{
    static const char version_key[] = "\"version\":\"W/\\\"";
    static const char tail[] = "\\\"\"}}";
    size_t vkey = sizeof version_key - 1, ntail = sizeof tail - 1;
    char meta_start[96];
    int nmeta;
    size_t end, digits = 0;
    const char *meta;

    if (len < vkey + ntail + 1 || memcmp(text + len - ntail, tail, ntail) != 0)
        return 0;
    end = len - ntail;
    while (digits < end && digits < 20 && isdigit((unsigned char)text[end - digits - 1]))
        digits++;
    if (digits == 0 || end - digits < vkey ||
        memcmp(text + end - digits - vkey, version_key, vkey) != 0)
        return 0;

    /* A quote inside a JSON string is escaped, so these bytes can only be
     * the start of an object member named meta. */
    nmeta = snprintf(meta_start, sizeof meta_start, ",\"meta\":{\"resourceType\":\"%s\",",
                     resource_type);
    if (nmeta < 0 || (size_t)nmeta >= sizeof meta_start)
        return 0;
    meta = find_last(text, end - digits - vkey, meta_start, (size_t)nmeta);
    if (!meta)
        return 0;
    meta += nmeta;
    return !memchr(meta, '{', (size_t)(text + end - meta)) &&
           !memchr(meta, '}', (size_t)(text + end - meta)) &&
           !find_last(meta, (size_t)(text + end - meta), "\"location\"", 10);
}

int scim_splice_resource(const char *text, size_t len, const char *resource_type,
                         const char *location_json, size_t location_len, const char *extra_name,
                         const json *extra, struct evbuffer *out)
{
    if (!stored_form(text, len, resource_type))
        return 1;
    /* Drops the "}}" that close meta and the resource. */
    if (evbuffer_add(out, text, len - 2) != 0 || evbuffer_add(out, ",\"location\":", 12) != 0 ||
        evbuffer_add(out, location_json, location_len) != 0 || evbuffer_add(out, "}", 1) != 0)
        return STORE_NOMEM;
    if (extra && (evbuffer_add_printf(out, ",\"%s\":", extra_name) < 0 ||
                  json_dump_evbuffer(extra, out) != 0))
        return STORE_NOMEM;
    return evbuffer_add(out, "}", 1) == 0 ? 0 : STORE_NOMEM;
}
