#include "config.h"

#include <string.h>

#include <event2/buffer.h>

#include "scim/members_text.h"
#include "scim/scim_store.h"

/* Returns the index of the quote that closes the string starting at
 * `start`, or `len` when it is not closed, and sets `*escaped` when the
 * string has an escape. */
static size_t string_end(const char *text, size_t len, size_t start, int *escaped)
{
    const char *quote = memchr(text + start, '"', len - start);
    size_t end = quote ? (size_t)(quote - text) : len, i = start;

    *escaped = 0;
    if (!memchr(text + start, '\\', end - start))
        return end;
    /* An escaped quote is not the end: step over each escape. */
    *escaped = 1;
    while (i < len && text[i] != '"')
        i += text[i] == '\\' ? 2 : 1;
    return i < len ? i : len;
}

/* Finds the top-level member `name` of the compact JSON object `text` and
 * returns its string value as stored, without the quotes. Returns 1 with
 * the value, 0 when the member is absent, or -1 when the value is not a
 * string or has an escape, which only a parse decodes. */
static int stored_string(const char *text, size_t len, const char *name, const char **value,
                         size_t *value_len)
{
    size_t name_len = strlen(name), i = 0, start, end;
    int depth = 0, escaped;

    while (i < len) {
        char c = text[i++];

        if (c == '{' || c == '[') {
            depth++;
            continue;
        }
        if (c == '}' || c == ']') {
            depth--;
            continue;
        }
        if (c != '"')
            continue;
        start = i;
        end = string_end(text, len, start, &escaped);
        if (end >= len)
            return -1;
        i = end + 1;
        if (depth != 1 || i >= len || text[i] != ':' || escaped || end - start != name_len ||
            memcmp(text + start, name, name_len) != 0)
            continue;
        /* The member's value starts after the colon. */
        if (++i >= len || text[i] != '"')
            return -1;
        start = ++i;
        end = string_end(text, len, start, &escaped);
        if (end >= len || escaped)
            return -1;
        *value = text + start;
        *value_len = end - start;
        return 1;
    }
    return 0;
}

/* Finds the display of a member as stored: the user's displayName, else
 * its userName. Returns 1 with the value, 0 when the user has neither, or
 * -1 when the text must be parsed. */
static int stored_display(const char *text, size_t len, const char **value, size_t *n)
{
    int rc = stored_string(text, len, "displayName", value, n);
    return rc == 0 ? stored_string(text, len, "userName", value, n) : rc;
}

/* The same display through a parse, for a text with escapes. */
static int append_parsed_display(struct evbuffer *out, const char *text, size_t len)
{
    json *user = json_parse(text, len, NULL, 0), *display = NULL;
    const char *name;
    int rc = 0;

    if (!user)
        return 0; /* as when the user cannot be read: no display */
    name = json_get_string(user, "displayName");
    if (!name)
        name = json_get_string(user, "userName");
    if (name) {
        display = json_string(name);
        rc = display && evbuffer_add(out, ",\"display\":", 11) == 0 &&
                     json_dump_evbuffer(display, out) == 0
                 ? 0
                 : -1;
    }
    json_free(display);
    json_free(user);
    return rc;
}

typedef struct members_walk {
    store_txn *txn;
    const char *account;
    const char *users_prefix;
    size_t prefix_len;
    struct evbuffer *out;
    size_t count;
} members_walk;

static char *put(char *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

/* Appends {value, display, $ref, type} for one member. The display is
 * written here when it is stored without escapes, else appended from a
 * parse between the value and $ref. */
static int append_member(const char *id, void *arg)
{
    members_walk *w = arg;
    const char *display = NULL;
    size_t display_len = 0, total;
    int parse = 0, rc;
    char key[2 * STORE_ID_LEN];
    struct evbuffer_iovec vec;
    store_val v;
    char *p;

    if (strlen(id) != STORE_ID_LEN)
        return 0; /* the walk yields only ids of this length */
    memcpy(key, w->account, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, id, STORE_ID_LEN);
    rc = store_get(w->txn, T_USERS, key, sizeof key, &v);
    if (rc == 0) {
        rc = stored_display(v.data, v.len, &display, &display_len);
        parse = rc < 0;
        if (rc <= 0)
            display = NULL;
    } else if (rc != STORE_NOTFOUND) {
        return rc;
    }

    total = 11 + STORE_ID_LEN + 1 + (display ? 12 + display_len + 1 : 0) + 8 + w->prefix_len +
            STORE_ID_LEN + 16;
    if (evbuffer_reserve_space(w->out, (ev_ssize_t)total, &vec, 1) != 1 || vec.iov_len < total)
        return STORE_NOMEM;
    p = vec.iov_base;
    p = w->count++ ? put(p, ",{\"value\":\"", 11) : put(p, "{\"value\":\"", 10);
    p = put(p, id, STORE_ID_LEN);
    p = put(p, "\"", 1);
    if (display) {
        p = put(p, ",\"display\":\"", 12);
        p = put(p, display, display_len);
        p = put(p, "\"", 1);
    }
    if (parse) {
        vec.iov_len = (size_t)(p - (char *)vec.iov_base);
        if (evbuffer_commit_space(w->out, &vec, 1) != 0 ||
            append_parsed_display(w->out, v.data, v.len) != 0 ||
            evbuffer_reserve_space(w->out, (ev_ssize_t)total, &vec, 1) != 1 ||
            vec.iov_len < total)
            return STORE_NOMEM;
        p = vec.iov_base;
    }
    p = put(p, ",\"$ref\":", 8);
    p = put(p, w->users_prefix, w->prefix_len);
    p = put(p, id, STORE_ID_LEN);
    p = put(p, "\",\"type\":\"User\"}", 16);
    vec.iov_len = (size_t)(p - (char *)vec.iov_base);
    return evbuffer_commit_space(w->out, &vec, 1) == 0 ? 0 : STORE_NOMEM;
}

int scim_members_text(store_txn *t, const char *account, const char *group_id,
                      const char *users_prefix, size_t prefix_len, struct evbuffer *out)
{
    members_walk w = {t, account, users_prefix, prefix_len, out, 0};
    int rc;

    if (evbuffer_add(out, "[", 1) != 0)
        return STORE_NOMEM;
    rc = scim_store_group_member_ids(t, account, group_id, append_member, &w);
    if (rc)
        return rc;
    return evbuffer_add(out, "]", 1) == 0 ? 0 : STORE_NOMEM;
}
