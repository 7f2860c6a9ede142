#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "scim/splice.h"
#include "store.h"

static const char version_key[] = "\"version\":\"W/\\\"";
static const char version_tail[] = "\\\"\"}}";

/* Returns the number of digits of the version W/"n" that ends the stored
 * form of a resource, or 0 when `text` does not end that way. */
static size_t version_digits(const char *text, size_t len)
{
    size_t vkey = sizeof version_key - 1, ntail = sizeof version_tail - 1, end, digits = 0;

    if (len < vkey + ntail + 1 || memcmp(text + len - ntail, version_tail, ntail) != 0)
        return 0;
    end = len - ntail;
    while (digits < end && digits < 20 && isdigit((unsigned char)text[end - digits - 1]))
        digits++;
    if (digits == 0 || end - digits < vkey ||
        memcmp(text + end - digits - vkey, version_key, vkey) != 0)
        return 0;
    return digits;
}

/* Checks that `text` ends with meta in the stored form: the members of
 * meta are strings, the last one is the version W/"n", and none is a
 * location. Returns 1 when it does. */
static int stored_form(const char *text, size_t len, const char *resource_type)
{
    static const char meta_key[] = ",\"meta\":";
    static const char type_key[] = "\"resourceType\":\"";
    size_t vkey = sizeof version_key - 1, ntail = sizeof version_tail - 1;
    size_t nmeta = sizeof meta_key - 1, ntype = sizeof type_key - 1;
    size_t ntype_value = strlen(resource_type);
    size_t digits = version_digits(text, len), end = len - ntail, open;

    if (digits == 0)
        return 0;

    /* The nearest brace before the version must open meta, so meta
     * contains no object. A quote inside a JSON string is escaped, so the
     * bytes around that brace can only be the member name and the first
     * member of meta. */
    open = end - digits - vkey;
    while (open > 0 && text[open - 1] != '{' && text[open - 1] != '}')
        open--;
    if (open == 0 || text[--open] != '{' || open < nmeta ||
        memcmp(text + open - nmeta, meta_key, nmeta) != 0 ||
        len - open < 1 + ntype + ntype_value + 2 || memcmp(text + open + 1, type_key, ntype) != 0 ||
        memcmp(text + open + 1 + ntype, resource_type, ntype_value) != 0 ||
        memcmp(text + open + 1 + ntype + ntype_value, "\",", 2) != 0)
        return 0;
    return memmem(text + open, end - open, "\"location\"", 10) == NULL;
}

int scim_splice_version(const char *text, size_t len, char version[32])
{
    size_t digits = version_digits(text, len), end = len - (sizeof version_tail - 1);

    if (digits == 0)
        return 1;
    snprintf(version, 32, "W/\"%.*s\"", (int)digits, text + end - digits);
    return 0;
}

/* Copies `n` bytes to `p` and returns the byte after them. */
static char *put(char *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

int scim_splice_resource(const char *text, size_t len, const char *resource_type,
                         const char *location_prefix, size_t prefix_len, const char *id,
                         const char *extra_name, struct evbuffer *out)
{
    static const char location_key[] = ",\"location\":";
    size_t nid = strlen(id), nname = extra_name ? strlen(extra_name) : 0;
    struct evbuffer_iovec vec;
    size_t total;
    char *p;

    if (!stored_form(text, len, resource_type))
        return 1;
    /* Writes with one copy into reserved space: the text without the "}}"
     * that close meta and the resource, the location, and `,"name":` or
     * else the final "}". */
    total = len - 2 + sizeof location_key - 1 + prefix_len + nid + 2;
    total += extra_name ? 2 + nname + 2 : 1;
    if (evbuffer_reserve_space(out, (ev_ssize_t)total, &vec, 1) != 1 || vec.iov_len < total)
        return STORE_NOMEM;
    p = put(vec.iov_base, text, len - 2);
    p = put(p, location_key, sizeof location_key - 1);
    p = put(p, location_prefix, prefix_len);
    p = put(p, id, nid);
    p = put(p, "\"}", 2);
    if (extra_name) {
        p = put(p, ",\"", 2);
        p = put(p, extra_name, nname);
        p = put(p, "\":", 2);
    } else {
        p = put(p, "}", 1);
    }
    vec.iov_len = (size_t)(p - (char *)vec.iov_base);
    return evbuffer_commit_space(out, &vec, 1) == 0 ? 0 : STORE_NOMEM;
}
