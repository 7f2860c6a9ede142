#include "config.h"

#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

#include "scim/related_text.h"
#include "scim/scim_store.h"
#include "scim/values.h"

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

/* How one kind of reference is written: a group's member or a user's group. */
typedef struct ref_kind {
    enum store_table target; /* T_USERS for members, T_GROUPS for groups */
    const char *type_tail;   /* the type member and the closing brace */
    size_t type_tail_len;
    int user_name; /* the display falls back to the userName */
    int skip_missing; /* a target that no longer exists is left out, else it has no display */
} ref_kind;

static const ref_kind member_ref = {T_USERS, "\",\"type\":\"User\"}", 16, 1, 0};
static const ref_kind group_ref = {T_GROUPS, "\",\"type\":\"direct\"}", 18, 0, 1};

/* Finds the display of a reference as stored: the displayName, else for a
 * member the userName. Returns 1 with the value, 0 when there is none, or
 * -1 when the text must be parsed. A value that is not well-formed UTF-8
 * (earlier builds stored some) counts as none, since the reply copies it
 * into JSON as it is. */
static int stored_display(const ref_kind *kind, const char *text, size_t len, const char **value,
                          size_t *n)
{
    int rc = stored_string(text, len, "displayName", value, n);
    if (rc == 0 && kind->user_name)
        rc = stored_string(text, len, "userName", value, n);
    if (rc == 1 && !scim_utf8_valid(*value, *n))
        rc = 0;
    return rc;
}

/* Appends the display `name` through the JSON generator, for a text with
 * escapes. Returns 0 or -1. */
static int append_display(struct evbuffer *out, const char *name)
{
    json *display = json_string(name);
    int rc = display && evbuffer_add(out, ",\"display\":", 11) == 0 &&
                     json_dump_evbuffer(display, out) == 0
                 ? 0
                 : -1;

    json_free(display);
    return rc;
}

typedef struct ref_walk {
    const ref_kind *kind;
    store_txn *txn;
    const char *account;
    const char *prefix; /* JSON string of the $ref URL up to the id */
    size_t prefix_len;
    struct evbuffer *out;
    size_t count;
} ref_walk;

static char *put(char *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

/* Reads the target's stored text. Returns 1 when the reference is left
 * out, 0 with `*found` set, or a STORE_* error. */
static int read_target(const ref_walk *w, const char *id, store_val *v, int *found)
{
    char key[2 * STORE_ID_LEN];
    int rc;

    memcpy(key, w->account, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, id, STORE_ID_LEN);
    rc = store_get(w->txn, w->kind->target, key, sizeof key, v);
    *found = rc == 0;
    if (rc == STORE_NOTFOUND)
        return w->kind->skip_missing;
    return rc;
}

/* Reads the display from a parse of `text` into `*name`, borrowed from
 * `*parsed`. Returns 0, or 1 when the text does not parse. */
static int parsed_display(const ref_kind *kind, const char *text, size_t len, json **parsed,
                          const char **name)
{
    *parsed = json_parse(text, len, NULL, 0);
    if (!*parsed)
        return 1;
    *name = json_get_string(*parsed, "displayName");
    if (!*name && kind->user_name)
        *name = json_get_string(*parsed, "userName");
    return 0;
}

/* ---- group displays ---- */

/* The displays of the groups this thread looked up last, for one snapshot
 * of one store (see store_txn_snapshot), so that no commit can make them
 * stale. Each user of a page or of a filter reply lists its groups, and the
 * same few groups recur from user to user: a hit saves the group's read
 * and the scan of its text (about 2,500 instructions, callgrind). Only
 * displays stored without escapes and up to DISPLAY_MAX bytes are kept. */
#define DISPLAY_SLOTS 64
#define DISPLAY_MAX 128

typedef struct display_slot {
    uint64_t epoch;             /* the slot is valid while this is display_cache.epoch */
    char key[2 * STORE_ID_LEN]; /* account id, group id */
    unsigned char state;        /* one of the DISPLAY_* values below */
    unsigned char len;          /* of text */
    char text[DISPLAY_MAX];
} display_slot;

enum { DISPLAY_MISSING = 1, DISPLAY_NONE, DISPLAY_TEXT };

static __thread struct {
    uint64_t store_id, snapshot, epoch;
    display_slot slots[DISPLAY_SLOTS];
} display_cache;

/* Returns the slot of group `id` of the walk's account and sets `*hit` when
 * it contains that group. The cache is emptied first when the transaction
 * reads another snapshot or store than the one it was filled from. Returns
 * NULL for a transaction whose reads must not be kept (a write). */
static display_slot *display_slot_of(const ref_walk *w, const char *id, int *hit)
{
    uint64_t snapshot, store_id = store_txn_store_id(w->txn);
    display_slot *slot;
    unsigned hash = 0;

    *hit = 0;
    if (store_txn_snapshot(w->txn, &snapshot) != 0)
        return NULL;
    if (display_cache.epoch == 0 || display_cache.snapshot != snapshot ||
        display_cache.store_id != store_id) {
        display_cache.epoch++;
        display_cache.snapshot = snapshot;
        display_cache.store_id = store_id;
    }
    /* The last 12 characters of a version 7 or 4 UUID are random. */
    for (size_t i = STORE_ID_LEN - 12; i < STORE_ID_LEN; i++)
        hash = hash * 31 + (unsigned char)id[i];
    slot = &display_cache.slots[hash % DISPLAY_SLOTS];
    *hit = slot->epoch == display_cache.epoch &&
           memcmp(slot->key, w->account, STORE_ID_LEN) == 0 &&
           memcmp(slot->key + STORE_ID_LEN, id, STORE_ID_LEN) == 0;
    return slot;
}

/* Keeps what a read of group `id` found in `slot`: `state` and, for
 * DISPLAY_TEXT, the display. A display too long for the slot is not kept. */
static void display_keep(display_slot *slot, const ref_walk *w, const char *id, int state,
                         const char *display, size_t len)
{
    if (state == DISPLAY_TEXT && len > DISPLAY_MAX)
        return;
    slot->epoch = display_cache.epoch;
    memcpy(slot->key, w->account, STORE_ID_LEN);
    memcpy(slot->key + STORE_ID_LEN, id, STORE_ID_LEN);
    slot->state = (unsigned char)state;
    slot->len = state == DISPLAY_TEXT ? (unsigned char)len : 0;
    if (state == DISPLAY_TEXT)
        memcpy(slot->text, display, len);
}

/* Appends {value, display, $ref, type} for one reference. The display is
 * copied here when it is stored without escapes, else written by the JSON
 * generator between the value and $ref. */
static int append_ref(ref_walk *w, const char *id)
{
    const char *display = NULL, *name = NULL;
    size_t display_len = 0, total;
    json *parsed = NULL;
    struct evbuffer_iovec vec;
    display_slot *slot = NULL;
    store_val v;
    int found, rc, hit = 0;
    char *p;

    if (w->kind == &group_ref)
        slot = display_slot_of(w, id, &hit);
    if (hit) {
        if (slot->state == DISPLAY_MISSING)
            return 0;
        if (slot->state == DISPLAY_TEXT) {
            display = slot->text;
            display_len = slot->len;
        }
    } else {
        if ((rc = read_target(w, id, &v, &found)) != 0) {
            if (rc == 1 && slot)
                display_keep(slot, w, id, DISPLAY_MISSING, NULL, 0);
            return rc == 1 ? 0 : rc;
        }
        if (found) {
            rc = stored_display(w->kind, v.data, v.len, &display, &display_len);
            if (rc <= 0)
                display = NULL;
            /* A display with escapes is not kept: it is written through the
             * JSON generator from a parse. */
            if (rc >= 0 && slot)
                display_keep(slot, w, id, rc ? DISPLAY_TEXT : DISPLAY_NONE, display, display_len);
            /* As on the tree path, a group that does not parse is left out
             * and a user that does not parse has no display. */
            if (rc < 0 && parsed_display(w->kind, v.data, v.len, &parsed, &name) != 0 &&
                w->kind->skip_missing)
                return 0;
            if (name && !scim_utf8_valid(name, strlen(name)))
                name = NULL;
        }
    }

    rc = STORE_NOMEM;
    total = 11 + STORE_ID_LEN + 1 + (display ? 12 + display_len + 1 : 0) + 8 + w->prefix_len +
            STORE_ID_LEN + w->kind->type_tail_len;
    if (evbuffer_reserve_space(w->out, (ev_ssize_t)total, &vec, 1) != 1 || vec.iov_len < total)
        goto out;
    p = vec.iov_base;
    p = w->count++ ? put(p, ",{\"value\":\"", 11) : put(p, "{\"value\":\"", 10);
    p = put(p, id, STORE_ID_LEN);
    p = put(p, "\"", 1);
    if (display) {
        p = put(p, ",\"display\":\"", 12);
        p = put(p, display, display_len);
        p = put(p, "\"", 1);
    }
    if (name) {
        vec.iov_len = (size_t)(p - (char *)vec.iov_base);
        if (evbuffer_commit_space(w->out, &vec, 1) != 0 || append_display(w->out, name) != 0 ||
            evbuffer_reserve_space(w->out, (ev_ssize_t)total, &vec, 1) != 1 ||
            vec.iov_len < total)
            goto out;
        p = vec.iov_base;
    }
    p = put(p, ",\"$ref\":", 8);
    p = put(p, w->prefix, w->prefix_len);
    p = put(p, id, STORE_ID_LEN);
    p = put(p, w->kind->type_tail, w->kind->type_tail_len);
    vec.iov_len = (size_t)(p - (char *)vec.iov_base);
    if (evbuffer_commit_space(w->out, &vec, 1) == 0)
        rc = 0;
out:
    json_free(parsed);
    return rc;
}

/* Walks the keys ACC + `first` + id of `table` in key order and appends a
 * reference for each id, as an array. */
static int append_refs(ref_walk *w, enum store_table table, const char *first)
{
    char prefix[2 * STORE_ID_LEN], id[STORE_ID_LEN + 1];
    store_cursor *c;
    store_val k;
    int rc;

    if (strlen(first) != STORE_ID_LEN)
        return evbuffer_add(w->out, "[]", 2) == 0 ? 0 : STORE_NOMEM;
    memcpy(prefix, w->account, STORE_ID_LEN);
    memcpy(prefix + STORE_ID_LEN, first, STORE_ID_LEN);
    if (evbuffer_add(w->out, "[", 1) != 0)
        return STORE_NOMEM;
    if ((rc = store_cursor_open(w->txn, table, &c)) != 0)
        return rc;
    rc = store_cursor_seek(c, prefix, sizeof prefix, &k, NULL);
    while (rc == 0 && k.len == sizeof prefix + STORE_ID_LEN &&
           memcmp(k.data, prefix, sizeof prefix) == 0) {
        memcpy(id, (const char *)k.data + sizeof prefix, STORE_ID_LEN);
        id[STORE_ID_LEN] = '\0';
        if ((rc = append_ref(w, id)) != 0)
            break;
        rc = store_cursor_next(c, &k, NULL);
    }
    store_cursor_close(c);
    if (rc && rc != STORE_NOTFOUND)
        return rc;
    return evbuffer_add(w->out, "]", 1) == 0 ? 0 : STORE_NOMEM;
}

int scim_members_text(store_txn *t, const char *account, const char *group_id,
                      const char *users_prefix, size_t prefix_len, struct evbuffer *out)
{
    ref_walk w = {&member_ref, t, account, users_prefix, prefix_len, out, 0};
    return append_refs(&w, T_MEMBERS, group_id);
}

int scim_user_groups_text(store_txn *t, const char *account, const char *user_id,
                          const char *groups_prefix, size_t prefix_len, struct evbuffer *out)
{
    ref_walk w = {&group_ref, t, account, groups_prefix, prefix_len, out, 0};
    return append_refs(&w, T_MEMBER_OF, user_id);
}
