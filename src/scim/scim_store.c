#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>

#include "casefold.h"
#include "crypto.h"
#include "log.h"
#include "events.h"
#include "license.h"
#include "scim/patch.h"
#include "scim/path.h"
#include "scim/scim_const.h"
#include "scim/scim_store.h"
#include "scim/values.h"

/* A key under construction. Every key built here starts with the account
 * id; a value that would push it past the store's limit is rejected before
 * any write. */
typedef struct key {
    char buf[512];
    size_t len;
    int overflow;
} key;

/* Membership changes of one group inside a write job. */
typedef struct member_ops {
    store_txn *txn;
    const char *account;
    const char *group_id;
    const char *actor;
    unsigned long changed;
    int store_rc;
    int mapped_known;    /* 1 once `mapped` was read for this job */
    int mapped;          /* 1 when the group has a directory-group mapping */
    int64_t count_delta; /* change of the member counter not yet written */
} member_ops;

/* A growable list of 36-character ids, each NUL-terminated. */
typedef struct id_list {
    char (*ids)[STORE_ID_LEN + 1];
    size_t n;
    size_t cap;
} id_list;

static void key_init(key *k, const char *account)
{
    memcpy(k->buf, account, STORE_ID_LEN);
    k->len = STORE_ID_LEN;
    k->overflow = 0;
}

static void key_add(key *k, const void *p, size_t n)
{
    if (k->len + n >= sizeof k->buf) {
        k->overflow = 1;
        return;
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
}

/* Adds `s` folded by `fold` (casefold or casefold_ascii). */
static void key_add_fold(key *k, const char *s, size_t (*fold)(const char *, size_t, char *, size_t))
{
    size_t n = fold(s, strlen(s), k->buf + k->len, sizeof k->buf - k->len);

    if (n == SIZE_MAX || k->len + n >= sizeof k->buf) {
        k->overflow = 1;
        return;
    }
    k->len += n;
}

/* SCIM compares userName, displayName and email values without regard to
 * case, so their index keys hold the folded value (casefold.h). */
static void key_add_folded(key *k, const char *s)
{
    key_add_fold(k, s, casefold);
}

/* Adds `s` in the fold of the index keys that earlier builds wrote. */
static void key_add_ascii_folded(key *k, const char *s)
{
    key_add_fold(k, s, casefold_ascii);
}

static void key_add_byte(key *k, char c)
{
    key_add(k, &c, 1);
}

static void key_add_str(key *k, const char *s)
{
    key_add(k, s, strlen(s));
}

static int id_valid(const char *id)
{
    if (!id || strlen(id) != STORE_ID_LEN)
        return 0;
    for (size_t i = 0; i < STORE_ID_LEN; i++) {
        char c = id[i];
        int dash = (i == 8 || i == 13 || i == 18 || i == 23);
        int lower_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if (dash ? c != '-' : !lower_hex)
            return 0;
    }
    return 1;
}

static int id_list_add(id_list *l, const char *id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *p = realloc(l->ids, cap * sizeof *l->ids);
        if (!p)
            return STORE_NOMEM;
        l->ids = p;
        l->cap = cap;
    }
    memcpy(l->ids[l->n], id, STORE_ID_LEN);
    l->ids[l->n][STORE_ID_LEN] = '\0';
    l->n++;
    return 0;
}

static void id_list_free(id_list *l)
{
    free(l->ids);
    memset(l, 0, sizeof *l);
}

static int cmp_ids(const void *a, const void *b)
{
    return memcmp(a, b, STORE_ID_LEN);
}

/* Sorts and removes duplicates. */
static void id_list_sort_unique(id_list *l)
{
    if (l->n < 2)
        return;
    qsort(l->ids, l->n, sizeof *l->ids, cmp_ids);
    size_t out = 1;
    for (size_t i = 1; i < l->n; i++) {
        if (memcmp(l->ids[i], l->ids[out - 1], STORE_ID_LEN) != 0)
            memcpy(l->ids[out++], l->ids[i], sizeof *l->ids);
    }
    l->n = out;
}

static int reject(scim_write *w, int status, const char *type, const char *fmt, const char *arg)
{
    w->err.status = status;
    w->err.scim_type = type;
    snprintf(w->err.detail, sizeof w->err.detail, fmt, arg ? arg : "");
    return SCIM_STORE_REJECTED;
}

void scim_write_clear(scim_write *w)
{
    json_free(w->input);
    json_free(w->result);
    free(w->result_text);
    free(w->if_match);
    free(w->if_none_match);
    memset(w, 0, sizeof *w);
}

/* The date and time of day are cached per thread, because the writer
 * stamps many resources within the same second. */
void scim_store_now(char out[32])
{
    static __thread time_t cached_sec = -1;
    static __thread char cached[24];
    struct timespec ts;
    int ms;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;

        gmtime_r(&ts.tv_sec, &tm);
        strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = ts.tv_sec;
    }
    ms = (int)(ts.tv_nsec / 1000000);
    memcpy(out, cached, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

/* Returns the next element of an entity-tag list and its length through
 * `len`, or NULL at the end. Elements are separated by commas outside
 * quotes, with optional whitespace around them, so an element with junk
 * inside or after its tag (W/ "1", "1" x, W/"1"x) is not a valid tag and
 * matches nothing. */
static const char *next_etag(const char *p, size_t *len)
{
    const char *start, *end;
    int quoted = 0;

    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (!*p)
        return NULL;
    start = p;
    for (; *p && (quoted || *p != ','); p++) {
        if (*p == '"')
            quoted = !quoted;
    }
    end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *len = (size_t)(end - start);
    return start;
}

/* Entity tags compare weakly: W/"3" and "3" are the same version. */
static void strip_weak(const char **p, size_t *n)
{
    if (*n >= 2 && (*p)[0] == 'W' && (*p)[1] == '/') {
        *p += 2;
        *n -= 2;
    }
}

int scim_etag_matches(const char *header, const char *version)
{
    const char *v = version;
    size_t vlen = strlen(version);
    const char *tag;
    size_t len;

    strip_weak(&v, &vlen);
    while ((tag = next_etag(header, &len)) != NULL) {
        header = tag + len;
        if (len == 1 && tag[0] == '*')
            return 1;
        strip_weak(&tag, &len);
        if (len == vlen && memcmp(tag, v, len) == 0)
            return 1;
    }
    return 0;
}

static int load_json(store_txn *t, enum store_table tab, const key *k, json **out)
{
    store_val v;
    int rc = store_get(t, tab, k->buf, k->len, &v);
    if (rc)
        return rc;
    *out = json_parse(v.data, v.len, NULL, 0);
    return *out ? 0 : STORE_IO;
}

static int load_resource(store_txn *t, enum store_table tab, const char *account, const char *id,
                         json **out)
{
    key k;

    *out = NULL;
    if (!id_valid(id))
        return STORE_NOTFOUND;
    key_init(&k, account);
    key_add(&k, id, STORE_ID_LEN);
    return load_json(t, tab, &k, out);
}

int scim_store_user_load(store_txn *t, const char *account, const char *id, json **out)
{
    return load_resource(t, T_USERS, account, id, out);
}

int scim_store_user_text(store_txn *t, const char *account, const char *id, store_val *out)
{
    key k;

    if (!id_valid(id))
        return STORE_NOTFOUND;
    key_init(&k, account);
    key_add(&k, id, STORE_ID_LEN);
    return store_get(t, T_USERS, k.buf, k.len, out);
}

int scim_store_group_load(store_txn *t, const char *account, const char *id, json **out)
{
    return load_resource(t, T_GROUPS, account, id, out);
}

/* Stores `res` as the record of `w->id` and keeps its text in
 * `w->result_text` for the completion; a prepared create stores the text
 * it already has. */
static int put_resource(store_txn *t, enum store_table tab, scim_write *w, const json *res)
{
    key k;

    if (!w->prepared) {
        free(w->result_text);
        w->result_text = json_dump(res, &w->result_len);
        if (!w->result_text)
            return STORE_NOMEM;
    }
    key_init(&k, w->account);
    key_add(&k, w->id, STORE_ID_LEN);
    return store_put(t, tab, k.buf, k.len, w->result_text, w->result_len, 0);
}

static int del_resource(store_txn *t, enum store_table tab, const char *account, const char *id)
{
    key k;
    key_init(&k, account);
    key_add(&k, id, STORE_ID_LEN);
    return store_del(t, tab, k.buf, k.len);
}

/* Version numbers count modifications; meta.version carries W/"<n>". */
static long version_number(const json *res)
{
    json *meta = json_object_get(res, "meta");
    const char *v = json_get_string(meta, "version");
    if (!v)
        return 0;
    while (*v && !isdigit((unsigned char)*v))
        v++;
    return strtol(v, NULL, 10);
}

const char *scim_store_version(const json *res)
{
    return json_get_string(json_object_get(res, "meta"), "version");
}

/* Attributes the store never keeps inline: computed, read-only or held in
 * their own records. */
static int skipped_attr(const char *name)
{
    static const char *const names[] = {"schemas", "id", "meta", "groups", "members", "password"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    }
    return 0;
}

/* Builds the stored form of `input`: schemas, id, the attributes, then meta
 * with created kept from `before` (NULL on create) and the version one past
 * it. */
static json *build_stored(const json *input, const char *id, const char *core_urn,
                          const char *resource_type, const json *before)
{
    char now[32], version[32];
    json *out = json_object();
    json *meta = json_object();
    json *schemas = json_object_geti(input, "schemas");
    const char *created = before ? json_get_string(json_object_get(before, "meta"), "created") : NULL;
    int ok = out && meta;

    scim_store_now(now);
    snprintf(version, sizeof version, "W/\"%ld\"", before ? version_number(before) + 1 : 1);
    if (ok && schemas && json_typeof(schemas) == JSON_ARRAY && json_array_size(schemas) > 0) {
        ok = json_object_set(out, "schemas", json_copy(schemas)) == 0;
    } else if (ok) {
        json *arr = json_array();
        ok = arr && json_array_append(arr, json_string(core_urn)) == 0 &&
             json_object_set(out, "schemas", arr) == 0;
    }
    ok = ok && json_object_set(out, "id", json_string(id)) == 0;
    for (size_t i = 0; ok && i < json_object_size(input); i++) {
        const char *name = json_object_key_at(input, i);
        if (!skipped_attr(name))
            ok = json_object_set(out, name, json_copy(json_object_value_at(input, i))) == 0;
    }
    ok = ok && json_object_set(meta, "resourceType", json_string(resource_type)) == 0 &&
         json_object_set(meta, "created", json_string(created ? created : now)) == 0 &&
         json_object_set(meta, "lastModified", json_string(now)) == 0 &&
         json_object_set(meta, "version", json_string(version)) == 0;
    if (ok) {
        ok = json_object_set(out, "meta", meta) == 0; /* takes meta, also on failure */
        meta = NULL;
    }
    json_free(meta);
    if (!ok) {
        json_free(out);
        return NULL;
    }
    return out;
}

/* Appends a string literal to a json_text. */
#define text_literal(t, lit) json_text_raw((t), (lit), sizeof(lit) - 1)

/* Writes the stored text of a new resource into `out`: the same text as
 * json_dump of build_stored(input, id, core_urn, resource_type, NULL) at
 * time `now`, written from `input` without copying it into a tree. */
static void write_created(json_text *out, const json *input, const char *id,
                          const char *core_urn, const char *resource_type, const char *now)
{
    json *schemas = json_object_geti(input, "schemas");

    text_literal(out, "{\"schemas\":");
    if (json_typeof(schemas) == JSON_ARRAY && json_array_size(schemas) > 0) {
        json_text_value(out, schemas);
    } else {
        text_literal(out, "[");
        json_text_string(out, core_urn);
        text_literal(out, "]");
    }
    text_literal(out, ",\"id\":");
    json_text_string(out, id);
    for (size_t i = 0; i < json_object_size(input); i++) {
        const char *name = json_object_key_at(input, i);
        if (skipped_attr(name))
            continue;
        text_literal(out, ",");
        json_text_string(out, name);
        text_literal(out, ":");
        json_text_value(out, json_object_value_at(input, i));
    }
    text_literal(out, ",\"meta\":{\"resourceType\":");
    json_text_string(out, resource_type);
    text_literal(out, ",\"created\":");
    json_text_string(out, now);
    text_literal(out, ",\"lastModified\":");
    json_text_string(out, now);
    text_literal(out, ",\"version\":\"W/\\\"1\\\"\"}}");
}

int scim_store_user_prepare(scim_write *w)
{
    json_text out = {0};
    char now[32];

    if (w->prepared)
        return 0;
    if (crypto_uuid7(w->id) != 0)
        return STORE_IO;
    scim_store_now(now);
    write_created(&out, w->input, w->id, SCIM_URN_USER, "User", now);
    w->result_text = json_text_take(&out, &w->result_len);
    if (!w->result_text)
        return STORE_NOMEM;
    w->prepared = 1;
    return 0;
}

/* Counts an object's members other than meta. */
static size_t attrs_count(const json *res)
{
    size_t n = json_object_size(res);
    return json_object_get(res, "meta") ? n - 1 : n;
}

/* True when the resources differ in anything but meta. */
static int attrs_changed(const json *a, const json *b)
{
    if (attrs_count(a) != attrs_count(b))
        return 1;
    for (size_t i = 0; i < json_object_size(a); i++) {
        const char *name = json_object_key_at(a, i);
        const json *other = json_object_get(b, name);
        if (strcmp(name, "meta") == 0)
            continue;
        if (!other || !json_equal(json_object_value_at(a, i), other))
            return 1;
    }
    return 0;
}

/* Rejects a value whose index key would be too long. The key of a
 * `folded` value contains its case fold, which can be longer than the value. */
static int check_length(scim_write *w, const char *attr, const char *value, int folded)
{
    char buf[SCIM_STORE_MAX_KEY_VALUE], detail[96];
    size_t len;

    if (!value)
        return 0;
    len = strlen(value);
    if (len <= SCIM_STORE_MAX_KEY_VALUE &&
        (!folded || casefold_is_ascii(value, len) ||
         casefold(value, len, buf, sizeof buf) != SIZE_MAX))
        return 0;
    snprintf(detail, sizeof detail, "%s is longer than %d bytes%s", attr, SCIM_STORE_MAX_KEY_VALUE,
             len <= SCIM_STORE_MAX_KEY_VALUE ? " once its case is folded" : "");
    return reject(w, 400, SCIM_ERR_INVALID_VALUE, "%s", detail);
}

/* Checks If-Match and If-None-Match against the stored version inside the
 * job, so that the check and the write see the same state. */
static int check_preconditions(scim_write *w, const json *before)
{
    const char *version = scim_store_version(before);
    if (!version)
        version = "";
    if (w->if_match && !scim_etag_matches(w->if_match, version))
        return reject(w, 412, NULL, "If-Match does not match the current version %s", version);
    if (w->if_none_match && scim_etag_matches(w->if_none_match, version))
        return reject(w, 412, NULL, "If-None-Match matches the current version %s", version);
    return 0;
}

/* Claims `name` in a unique name index for `id`. Returns 0, STORE_EXISTS
 * when another resource has it, or a STORE_* error. */
static int name_claim(store_txn *t, enum store_table tab, const char *account, const char *name,
                      const char *id)
{
    key k;
    key_init(&k, account);
    key_add_folded(&k, name);
    if (k.overflow)
        return STORE_INVALID;
    return store_put(t, tab, k.buf, k.len, id, STORE_ID_LEN, STORE_NOOVERWRITE);
}

/* 1 when the entry of `name` in a unique name index is `id`'s. */
static int name_owned(store_txn *t, enum store_table tab, const char *account, const char *name,
                      const char *id)
{
    store_val v;
    key k;

    key_init(&k, account);
    key_add_folded(&k, name);
    return !k.overflow && store_get(t, tab, k.buf, k.len, &v) == 0 && v.len == STORE_ID_LEN &&
           memcmp(v.data, id, STORE_ID_LEN) == 0;
}

/* Releases `name` in a unique name index when `id` holds it. Another
 * resource may hold the same folded name: the index was built with a
 * narrower fold, and the entry went to the other resource when the store
 * was refolded (scim_store_refold). */
static int name_release(store_txn *t, enum store_table tab, const char *account, const char *name,
                        const char *id)
{
    store_val v;
    key k;
    int rc;

    key_init(&k, account);
    key_add_folded(&k, name);
    if (k.overflow)
        return 0;
    rc = store_get(t, tab, k.buf, k.len, &v);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.len != STORE_ID_LEN || memcmp(v.data, id, STORE_ID_LEN) != 0)
        return 0;
    rc = store_del(t, tab, k.buf, k.len);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Moves the unique name index entry from the name in `before` to the one in
 * `after` when they differ other than in case. */
static int name_update(store_txn *t, scim_write *w, enum store_table tab, const char *attr,
                       const json *before, const json *after)
{
    const char *old = before ? json_get_string(before, attr) : NULL;
    const char *new = json_get_string(after, attr);
    int same_key, rc;

    if (!new || !*new)
        return reject(w, 400, SCIM_ERR_INVALID_VALUE, "%s is required", attr);
    if (old && strcmp(old, new) == 0)
        return 0;
    if ((rc = check_length(w, attr, new, 1)) != 0)
        return rc;
    same_key = old && casefold_cmp(old, new) == 0;
    rc = name_claim(t, tab, w->account, new, w->id);
    /* A change of case only keeps the entry, when it is this resource's.
     * After a refold clash it may be another's, which keeps the name. */
    if (rc == STORE_EXISTS && same_key && name_owned(t, tab, w->account, new, w->id))
        return 0;
    if (rc == STORE_EXISTS) {
        w->err.status = 409;
        w->err.scim_type = SCIM_ERR_UNIQUENESS;
        snprintf(w->err.detail, sizeof w->err.detail, "%s \"%.*s\" is already taken", attr,
                 scim_utf8_prefix(new, 200), new);
        return SCIM_STORE_REJECTED;
    }
    if (rc)
        return rc;
    return old && !same_key ? name_release(t, tab, w->account, old, w->id) : 0;
}

/* Operations of index_entry on one index entry. */
enum index_op {
    INDEX_DELETE,
    INDEX_PUT,
    INDEX_KEEP, /* put only when the entry is missing or has a value other than "" */
};

/* Writes, deletes or keeps the key ACC + value + \0 + id. */
static int index_entry(store_txn *t, enum store_table tab, const char *account, const char *value,
                       int lower, const char *id, enum index_op op)
{
    store_val v;
    key k;
    int rc;

    key_init(&k, account);
    if (lower)
        key_add_folded(&k, value);
    else
        key_add_str(&k, value);
    key_add_byte(&k, '\0');
    key_add(&k, id, STORE_ID_LEN);
    /* No entry can have a key that does not fit, so there is none to
     * delete or keep. check_length rejects new values that would need one. */
    if (k.overflow)
        return op == INDEX_PUT ? STORE_INVALID : 0;
    if (op == INDEX_KEEP) {
        /* A read leaves the entry's page clean, whereas a delete and a put
         * would dirty it, and the commit would write it again. */
        rc = store_get(t, tab, k.buf, k.len, &v);
        if (rc == 0 && v.len == 0)
            return 0;
        if (rc && rc != STORE_NOTFOUND)
            return rc;
        op = INDEX_PUT;
    }
    if (op == INDEX_PUT)
        return store_put(t, tab, k.buf, k.len, "", 0, 0);
    rc = store_del(t, tab, k.buf, k.len);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Adds (put = 1) or removes the externalId and email index entries of one
 * stored resource. */
static int index_resource(store_txn *t, int users, const char *account, const char *id,
                          const json *res, int put)
{
    enum index_op op = put ? INDEX_PUT : INDEX_DELETE;
    const char *ext = json_get_string(res, "externalId");
    int rc = 0;

    if (ext && *ext)
        rc = index_entry(t, users ? T_USER_EXTIDS : T_GROUP_EXTIDS, account, ext, 0, id, op);
    json *emails = users ? json_object_geti(res, "emails") : NULL;
    for (size_t i = 0; rc == 0 && i < json_array_size(emails); i++) {
        const char *v = json_get_string(json_array_get(emails, i), "value");
        if (v && *v)
            rc = index_entry(t, T_USER_EMAILS, account, v, 1, id, op);
    }
    return rc;
}

/* One externalId or email index entry of a resource. */
typedef struct index_value {
    enum store_table tab;
    const char *value; /* borrowed from the resource */
    int lower;         /* 1 for emails, whose keys are folded to lower case */
} index_value;

/* Most index entries per resource that index_update compares pairwise. */
#define INDEX_COMPARED_MAX 8

/* Lists the index entries of `res` into `out` (INDEX_COMPARED_MAX
 * elements). Returns how many, or SIZE_MAX when there are more. */
static size_t index_values(int users, const json *res, index_value *out)
{
    const char *ext = json_get_string(res, "externalId");
    json *emails = users ? json_object_geti(res, "emails") : NULL;
    size_t n = 0;

    if (ext && *ext)
        out[n++] = (index_value){users ? T_USER_EXTIDS : T_GROUP_EXTIDS, ext, 0};
    for (size_t i = 0; i < json_array_size(emails); i++) {
        const char *v = json_get_string(json_array_get(emails, i), "value");

        if (!v || !*v)
            continue;
        if (n == INDEX_COMPARED_MAX)
            return SIZE_MAX;
        out[n++] = (index_value){T_USER_EMAILS, v, 1};
    }
    return n;
}

/* Returns 1 when one of the `n` entries in `list` has the same key as `e`.
 * Email keys are folded as key_add_folded folds them. */
static int index_listed(const index_value *list, size_t n, const index_value *e)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i].tab != e->tab)
            continue;
        if (e->lower ? !casefold_cmp(list[i].value, e->value) : !strcmp(list[i].value, e->value))
            return 1;
    }
    return 0;
}

/* Moves the index entries of a resource from `before` (NULL on create) to
 * `after`, with the result of removing every entry of `before` and then
 * adding every entry of `after`. An entry that both have is only read, so
 * a replace that keeps its externalId and emails writes no index entry. */
static int index_update(store_txn *t, int users, const char *account, const char *id,
                        const json *before, const json *after)
{
    index_value old[INDEX_COMPARED_MAX], new[INDEX_COMPARED_MAX];
    size_t n_old, n_new;
    int rc = 0;

    if (!before)
        return index_resource(t, users, account, id, after, 1);
    n_old = index_values(users, before, old);
    n_new = index_values(users, after, new);
    if (n_old == SIZE_MAX || n_new == SIZE_MAX) {
        rc = index_resource(t, users, account, id, before, 0);
        return rc ? rc : index_resource(t, users, account, id, after, 1);
    }
    for (size_t i = 0; rc == 0 && i < n_old; i++) {
        if (!index_listed(new, n_new, &old[i]))
            rc = index_entry(t, old[i].tab, account, old[i].value, old[i].lower, id, INDEX_DELETE);
    }
    for (size_t i = 0; rc == 0 && i < n_new; i++) {
        enum index_op op = index_listed(old, n_old, &new[i]) ? INDEX_KEEP : INDEX_PUT;
        rc = index_entry(t, new[i].tab, account, new[i].value, new[i].lower, id, op);
    }
    return rc;
}

/* 1 when `value` is one of the email values of `res`. */
static int has_email(const json *res, const char *value)
{
    json *emails = res ? json_object_geti(res, "emails") : NULL;

    for (size_t i = 0; value && i < json_array_size(emails); i++) {
        const char *v = json_get_string(json_array_get(emails, i), "value");
        if (v && strcmp(v, value) == 0)
            return 1;
    }
    return 0;
}

/* Checks the lengths of the index values of `res` that `before` does not
 * have already, so that a resource stored with a value that is too long
 * now can still be updated, deactivated in particular. */
static int check_index_lengths(scim_write *w, int users, const json *before, const json *res)
{
    const char *ext = json_get_string(res, "externalId");
    const char *old_ext = before ? json_get_string(before, "externalId") : NULL;
    json *emails = users ? json_object_geti(res, "emails") : NULL;
    int rc = 0;

    if (!(ext && old_ext && strcmp(ext, old_ext) == 0))
        rc = check_length(w, "externalId", ext, 0);
    for (size_t i = 0; rc == 0 && i < json_array_size(emails); i++) {
        const char *v = json_get_string(json_array_get(emails, i), "value");
        if (!has_email(before, v))
            rc = check_length(w, "emails.value", v, 1);
    }
    return rc;
}

/* The email address the claimed-domain rule applies to: the primary one,
 * else the first. Borrowed from `user`; NULL when the user has none. */
static const char *main_email(const json *user)
{
    json *emails = json_object_geti(user, "emails");
    const char *first = NULL;

    for (size_t i = 0; i < json_array_size(emails); i++) {
        const json *e = json_array_get(emails, i);
        const char *v = json_get_string(e, "value");
        const json *primary = json_object_geti(e, "primary");
        if (!v)
            continue;
        if (!first)
            first = v;
        if (primary && json_typeof(primary) == JSON_BOOL && json_bool_value(primary))
            return v;
    }
    return first;
}

/* Fills `w->err` with 400 invalidValue for a `value` of `attr` that lies
 * outside the account's verified domains, and returns SCIM_STORE_REJECTED. */
static int reject_domain(scim_write *w, const char *attr, const char *value)
{
    const char *at = strrchr(value, '@');

    w->err.status = 400;
    w->err.scim_type = SCIM_ERR_INVALID_VALUE;
    if (at)
        snprintf(w->err.detail, sizeof w->err.detail,
                 "%s \"%.*s\": the domain \"%.*s\" is not a verified domain of this account",
                 attr, scim_utf8_prefix(value, 80), value, scim_utf8_prefix(at + 1, 64), at + 1);
    else
        snprintf(w->err.detail, sizeof w->err.detail,
                 "%s \"%.*s\" has no domain, and this account accepts only addresses in its "
                 "verified domains",
                 attr, scim_utf8_prefix(value, 80), value);
    return SCIM_STORE_REJECTED;
}

/* Returns 1 when the claimed-domain rule applies to `value`. A value equal
 * to `old` (ignoring case) is exempt, so that users stored before a
 * domain was verified can still be updated and deactivated while the value
 * stays. */
static int domain_check_needed(const char *value, const char *old)
{
    return value && !(old && casefold_cmp(old, value) == 0);
}

/* Applies the claimed-domain rule to a user about to be stored: once the
 * account has a verified domain, a userName that contains '@' and the main
 * email must lie in one of them. A userName without '@' is allowed, because
 * some Okta setups use plain login names. Both values are checked in one
 * walk of the account's domains, and a userName outside them is reported
 * first. */
static int user_domains_check(store_txn *t, scim_write *w, const json *before, const json *after)
{
    const char *name = json_get_string(after, "userName");
    const char *email = main_email(after);
    const char *old_name = before ? json_get_string(before, "userName") : NULL;
    const char *old_email = before ? main_email(before) : NULL;
    const char *values[2], *attrs[2];
    int allowed[2];
    size_t n = 0;
    int rc;

    if (name && strchr(name, '@') && domain_check_needed(name, old_name)) {
        values[n] = name;
        attrs[n++] = "userName";
    }
    if (domain_check_needed(email, old_email)) {
        values[n] = email;
        attrs[n++] = "emails";
    }
    if (n == 0)
        return 0;
    rc = license_domains_allowed(t, w->account, values, n, allowed);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!allowed[i])
            return reject_domain(w, attrs[i], values[i]);
    }
    return 0;
}

/* Stores `after` in place of `before` (NULL on create) with every index
 * and the change event, all in the job's transaction. */
static int write_resource(store_txn *t, scim_write *w, int users, const json *before,
                          const json *after)
{
    enum store_table tab = users ? T_USERS : T_GROUPS;
    enum store_table names = users ? T_USER_NAMES : T_GROUP_NAMES;
    const char *name_attr = users ? "userName" : "displayName";
    int rc;

    if ((rc = name_update(t, w, names, name_attr, before, after)) != 0)
        return rc;
    if ((rc = check_index_lengths(w, users, before, after)) != 0)
        return rc;
    if ((rc = index_update(t, users, w->account, w->id, before, after)) != 0)
        return rc;
    if ((rc = put_resource(t, tab, w, after)) != 0)
        return rc;
    /* Only the version moved, for a membership change. A members-only
     * PATCH passes the same tree twice. */
    if (before && (before == after || !attrs_changed(before, after)))
        return 0;
    if (users)
        return events_user_changed(t, w->actor, w->account, w->id, before, after);
    return events_group_changed(t, w->actor, w->account, w->id, before, after);
}

/* Removes a stored resource, its name and index entries. */
static int erase_resource(store_txn *t, scim_write *w, int users, const json *before)
{
    const char *name = json_get_string(before, users ? "userName" : "displayName");
    int rc = 0;

    if (name)
        rc = name_release(t, users ? T_USER_NAMES : T_GROUP_NAMES, w->account, name, w->id);
    if (rc == 0)
        rc = index_resource(t, users, w->account, w->id, before, 0);
    if (rc == 0)
        rc = del_resource(t, users ? T_USERS : T_GROUPS, w->account, w->id);
    return rc;
}

static int load_for_write(store_txn *t, scim_write *w, int users, json **before)
{
    int rc = load_resource(t, users ? T_USERS : T_GROUPS, w->account, w->id, before);
    if (rc == STORE_NOTFOUND)
        return reject(w, 404, NULL, users ? "User %s not found" : "Group %s not found", w->id);
    if (rc)
        return rc;
    rc = check_preconditions(w, *before);
    if (rc) {
        json_free(*before);
        *before = NULL;
    }
    return rc;
}

/* ---- resource totals ---- */

/* Builds the T_COUNTERS key of an account's number of users or groups. The
 * stored value is that number plus 1, so a missing counter means a store
 * written before the totals existed rather than an empty account. */
static void total_key(key *k, const char *account, int users)
{
    key_init(k, account);
    key_add_str(k, users ? "scim:users" : "scim:groups");
}

/* Builds the T_COUNTERS key of the number of creates and deletes of an
 * account's users or groups. Only those move resources to other positions
 * in id order, so scim_store_scan_page trusts a position it remembered
 * while this count is unchanged. */
static void moves_key(key *k, const char *account, int users)
{
    key_init(k, account);
    key_add_str(k, users ? "scim:users:moves" : "scim:groups:moves");
}

/* Adds `delta` to the account's total after the job created or removed a
 * resource, and counts the move. A missing total is recounted from the
 * table, which already includes the job's change. */
static int total_adjust(store_txn *t, int users, const char *account, int64_t delta)
{
    uint64_t n = 0;
    key k;
    int rc;

    moves_key(&k, account, users);
    if ((rc = store_counter_add(t, k.buf, k.len, 1, NULL)) != 0)
        return rc;
    total_key(&k, account, users);
    if ((rc = store_counter_get(t, k.buf, k.len, &n)) != 0)
        return rc;
    /* The common case writes the new value at once instead of letting
     * store_counter_add read the counter a second time. */
    if (n > 0 && (delta >= 0 || 0 - (uint64_t)delta < n)) {
        n += (uint64_t)delta;
        return store_put(t, T_COUNTERS, k.buf, k.len, &n, sizeof n, 0);
    }
    if (n > 0)
        return store_counter_add(t, k.buf, k.len, delta, NULL);
    rc = store_count_prefix(t, users ? T_USERS : T_GROUPS, account, STORE_ID_LEN, &n);
    if (rc)
        return rc;
    n++;
    return store_put(t, T_COUNTERS, k.buf, k.len, &n, sizeof n, 0);
}

/* ---- memberships ---- */

static void member_key(key *k, const char *account, const char *a, const char *b)
{
    key_init(k, account);
    key_add(k, a, STORE_ID_LEN);
    key_add(k, b, STORE_ID_LEN);
}

static void counter_key(key *k, const char *account, const char *group_id)
{
    key_init(k, account);
    key_add_str(k, "members:");
    key_add(k, group_id, STORE_ID_LEN);
}

static int user_exists(store_txn *t, const char *account, const char *id)
{
    key k;
    store_val v;
    if (!id_valid(id))
        return STORE_NOTFOUND;
    key_init(&k, account);
    key_add(&k, id, STORE_ID_LEN);
    return store_get(t, T_USERS, k.buf, k.len, &v);
}

/* Raises the membership event of one member, reading the group's mapping
 * once per job rather than once per member. */
static int member_event(member_ops *ops, const char *user_id, int added)
{
    int rc;

    if (!ops->mapped_known) {
        rc = events_group_mapped(ops->txn, ops->account, ops->group_id, &ops->mapped);
        if (rc)
            return rc;
        ops->mapped_known = 1;
    }
    return events_member_changed(ops->txn, ops->actor, ops->account, ops->group_id, user_id, added,
                                 ops->mapped);
}

/* Writes the member counter change of the job's memberships so far. Every
 * job that changes memberships calls it before it returns 0, so that the
 * counter costs one update per job instead of one per member. */
static int members_flush(member_ops *ops)
{
    key c;
    int rc;

    if (ops->count_delta == 0)
        return 0;
    counter_key(&c, ops->account, ops->group_id);
    rc = store_counter_add(ops->txn, c.buf, c.len, ops->count_delta, NULL);
    if (rc == 0)
        ops->count_delta = 0;
    return rc;
}

static int member_add(member_ops *ops, const char *user_id, scim_error *err)
{
    key k;
    int rc = user_exists(ops->txn, ops->account, user_id);

    if (rc == STORE_NOTFOUND) {
        err->status = 400;
        err->scim_type = SCIM_ERR_INVALID_VALUE;
        snprintf(err->detail, sizeof err->detail,
                 "members: \"%.*s\" is not the id of a user of this account",
                 scim_utf8_prefix(user_id, 80), user_id);
        return SCIM_STORE_REJECTED;
    }
    if (rc)
        return ops->store_rc = rc;
    member_key(&k, ops->account, ops->group_id, user_id);
    rc = store_put(ops->txn, T_MEMBERS, k.buf, k.len, "", 0, STORE_NOOVERWRITE);
    if (rc == STORE_EXISTS)
        return 0;
    if (rc)
        return ops->store_rc = rc;
    member_key(&k, ops->account, user_id, ops->group_id);
    if ((rc = store_put(ops->txn, T_MEMBER_OF, k.buf, k.len, "", 0, 0)) != 0 ||
        (rc = member_event(ops, user_id, 1)) != 0)
        return ops->store_rc = rc;
    ops->changed++;
    ops->count_delta++;
    return 0;
}

static int member_remove(member_ops *ops, const char *user_id)
{
    key k;
    int rc;

    if (!id_valid(user_id))
        return 0;
    member_key(&k, ops->account, ops->group_id, user_id);
    rc = store_del(ops->txn, T_MEMBERS, k.buf, k.len);
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc)
        return ops->store_rc = rc;
    member_key(&k, ops->account, user_id, ops->group_id);
    rc = store_del(ops->txn, T_MEMBER_OF, k.buf, k.len);
    if (rc && rc != STORE_NOTFOUND)
        return ops->store_rc = rc;
    if ((rc = member_event(ops, user_id, 0)) != 0)
        return ops->store_rc = rc;
    ops->changed++;
    ops->count_delta--;
    return 0;
}

static int walk_second_ids(store_txn *t, enum store_table tab, const char *account,
                           const char *first, scim_store_id_fn fn, void *ctx);

static int collect_one(const char *id, void *ctx)
{
    return id_list_add(ctx, id);
}

/* Collects the second id of every key ACC + `first` + id in `tab`, so that
 * the records can be changed after the cursor is closed. */
static int collect_ids(store_txn *t, enum store_table tab, const char *account, const char *first,
                       id_list *out)
{
    return walk_second_ids(t, tab, account, first, collect_one, out);
}

static int members_remove_all(member_ops *ops)
{
    id_list ids = {0};
    int rc = collect_ids(ops->txn, T_MEMBERS, ops->account, ops->group_id, &ids);
    for (size_t i = 0; rc == 0 && i < ids.n; i++)
        rc = member_remove(ops, ids.ids[i]);
    id_list_free(&ids);
    return rc;
}

/* Reads the member ids of a members value: each element an object with a
 * string `value` and, when given, type "User". */
static int member_values(const json *values, id_list *out, scim_error *err)
{
    for (size_t i = 0; i < json_array_size(values); i++) {
        const json *m = json_array_get(values, i);
        const char *id = json_get_string(m, "value");
        const char *type = json_get_string(m, "type");
        int rc;

        err->status = 400;
        err->scim_type = SCIM_ERR_INVALID_VALUE;
        if (!id) {
            snprintf(err->detail, sizeof err->detail, "members[%zu] has no string \"value\"", i);
            return SCIM_STORE_REJECTED;
        }
        if (type && strcasecmp(type, "User") != 0) {
            snprintf(err->detail, sizeof err->detail,
                     "members: \"%.*s\" has type \"%.*s\", but only users can be members",
                     scim_utf8_prefix(id, 80), id, scim_utf8_prefix(type, 40), type);
            return SCIM_STORE_REJECTED;
        }
        if (!id_valid(id)) {
            snprintf(err->detail, sizeof err->detail,
                     "members: \"%.*s\" is not the id of a user of this account",
                     scim_utf8_prefix(id, 80), id);
            return SCIM_STORE_REJECTED;
        }
        if ((rc = id_list_add(out, id)) != 0)
            return rc;
    }
    return 0;
}

static int members_add_values(member_ops *ops, const json *values, scim_error *err)
{
    id_list ids = {0};
    int rc = member_values(values, &ids, err);
    for (size_t i = 0; rc == 0 && i < ids.n; i++)
        rc = member_add(ops, ids.ids[i], err);
    id_list_free(&ids);
    return rc;
}

/* Sets the membership to exactly `values`, touching only the memberships
 * that change: both lists are sorted and walked together. */
static int members_replace(member_ops *ops, const json *values, scim_error *err)
{
    id_list want = {0}, have = {0};
    size_t i = 0, j = 0;
    int rc = member_values(values, &want, err);

    if (rc == 0)
        rc = collect_ids(ops->txn, T_MEMBERS, ops->account, ops->group_id, &have);
    id_list_sort_unique(&want);
    while (rc == 0 && (i < want.n || j < have.n)) {
        int d;
        if (i == want.n)
            d = 1;
        else if (j == have.n)
            d = -1;
        else
            d = memcmp(want.ids[i], have.ids[j], STORE_ID_LEN);
        if (d < 0)
            rc = member_add(ops, want.ids[i++], err);
        else if (d > 0)
            rc = member_remove(ops, have.ids[j++]);
        else
            i++, j++;
    }
    id_list_free(&want);
    id_list_free(&have);
    return rc;
}

/* PATCH hooks: the applier hands over every operation on `members`. */
static int hook_add(void *ctx, const json *values, scim_error *err)
{
    return members_add_values(ctx, values, err);
}

/* Returns 1 when `filter` is the single comparison `value eq "<string>"`,
 * which every member whose id is that string matches. */
static int filter_is_value_eq(const scim_filter *filter)
{
    return filter->kind == SCIM_FILTER_COMPARE && filter->op == SCIM_OP_EQ &&
           !filter->path.urn && !filter->path.sub && !strcasecmp(filter->path.attr, "value") &&
           json_typeof(filter->value) == JSON_STRING;
}

static int remove_if_match(member_ops *ops, const scim_filter *filter, const char *id)
{
    json *elem = json_object();
    int rc = STORE_NOMEM;

    if (elem && json_object_set(elem, "value", json_string(id)) == 0 &&
        json_object_set(elem, "type", json_string("User")) == 0) {
        rc = scim_filter_match(filter, elem, NULL);
        rc = rc == 1 ? member_remove(ops, id) : rc == 0 ? 0 : STORE_INVALID;
    }
    json_free(elem);
    return rc;
}

/* Removes the members a `members[...]` filter selects. The usual
 * `value eq "<id>"` costs one point lookup and succeeds when the user is
 * not a member, because Okta sends such removes for members already gone
 * during re-syncs and marks the push failed on a 400. Any other filter is
 * evaluated on every member and, as RFC 7644 section 3.5.2.2 requires,
 * gets 400 noTarget when it selects none. */
static int members_remove_filter(member_ops *ops, const scim_filter *filter, scim_error *err)
{
    const char *id;
    id_list ids = {0};
    unsigned long before = ops->changed;
    int rc;

    if (scim_filter_find_eq(filter, "value", &id) == 1) {
        if (!id_valid(id))
            return 0;
        /* Okta's members[value eq "<id>"] needs no evaluation on a member
         * object, because the id it finds is the compared string itself. */
        if (filter_is_value_eq(filter))
            return member_remove(ops, id);
        return remove_if_match(ops, filter, id);
    }
    rc = collect_ids(ops->txn, T_MEMBERS, ops->account, ops->group_id, &ids);
    for (size_t i = 0; rc == 0 && i < ids.n; i++)
        rc = remove_if_match(ops, filter, ids.ids[i]);
    id_list_free(&ids);
    if (rc == 0 && ops->changed == before) {
        err->status = 400;
        err->scim_type = SCIM_ERR_NO_TARGET;
        snprintf(err->detail, sizeof err->detail, "%s",
                 "The members filter of the remove operation matches no member.");
        return SCIM_STORE_REJECTED;
    }
    return rc;
}

static int hook_remove(void *ctx, const json *values, const scim_filter *filter, scim_error *err)
{
    member_ops *ops = ctx;
    if (filter)
        return members_remove_filter(ops, filter, err);
    if (!values)
        return members_remove_all(ops);

    id_list ids = {0};
    int rc = member_values(values, &ids, err);
    for (size_t i = 0; rc == 0 && i < ids.n; i++)
        rc = member_remove(ops, ids.ids[i]);
    id_list_free(&ids);
    return rc;
}

static int hook_replace(void *ctx, const json *values, scim_error *err)
{
    return members_replace(ctx, values, err);
}

/* Clears the outputs of `w` at the start of a job. The writer may run a
 * job submitted with STORE_JOB_RERUNNABLE twice, and only the last run's
 * results may reach the completion. With `keep_prepared` a text that
 * scim_store_user_prepare wrote stays. */
static void write_reset(scim_write *w, int keep_prepared)
{
    json_free(w->result);
    w->result = NULL;
    if (!keep_prepared || !w->prepared) {
        free(w->result_text);
        w->result_text = NULL;
        w->result_len = 0;
        w->prepared = 0;
    }
    w->cleanup_pending = 0;
    memset(&w->err, 0, sizeof w->err);
}

/* ---- user jobs ---- */

/* Stores the text scim_store_user_prepare wrote. The indexes and events
 * read the attributes from the input, which has the same values. */
int scim_store_user_create(store_txn *t, void *arg)
{
    scim_write *w = arg;
    int rc;

    write_reset(w, 1);
    if ((rc = scim_store_user_prepare(w)) != 0)
        return rc;
    rc = user_domains_check(t, w, NULL, w->input);
    if (rc == 0)
        rc = write_resource(t, w, 1, NULL, w->input);
    if (rc == 0)
        rc = total_adjust(t, 1, w->account, 1);
    return rc;
}

int scim_store_user_replace(store_txn *t, void *arg)
{
    scim_write *w = arg;
    json *before = NULL;
    int rc;

    write_reset(w, 0);
    rc = load_for_write(t, w, 1, &before);
    if (rc)
        return rc;
    w->result = build_stored(w->input, w->id, SCIM_URN_USER, "User", before);
    rc = w->result ? user_domains_check(t, w, before, w->result) : STORE_NOMEM;
    if (rc == 0)
        rc = write_resource(t, w, 1, before, w->result);
    json_free(before);
    return rc;
}

/* Returns 1 when every operation of `patch` has the path "members" (any
 * case, no schema URN), with or without a filter. The hooks take over such
 * operations, so the patched group is an unchanged copy of the stored one. */
static int patch_members_only(const scim_patch *patch)
{
    for (size_t i = 0; i < patch->n_ops; i++) {
        const scim_path *path = patch->ops[i].path;

        if (!path || path->attr.urn || path->attr.sub || strcasecmp(path->attr.attr, "members"))
            return 0;
    }
    return 1;
}

/* Returns 1 when the stored resource `res` has the layout that build_stored
 * writes, so that moving its time and version in place stores the same
 * text as building it anew from a patched copy. That layout is "schemas"
 * equal to [`core_urn`] (a PATCH of a type without extensions rewrites it
 * to that), "id" equal to `id`, attributes that skipped_attr keeps, and
 * last "meta". The meta object has exactly "resourceType" equal to
 * `resource_type`, a string "created", "lastModified" and "version", in
 * that order. */
static int stored_layout(const json *res, const char *id, const char *core_urn,
                         const char *resource_type)
{
    static const char *const meta_keys[] = {"resourceType", "created", "lastModified", "version"};
    size_t n = json_object_size(res);
    const json *schemas, *meta;
    const char *value;

    if (n < 3 || strcmp(json_object_key_at(res, 0), "schemas") ||
        strcmp(json_object_key_at(res, 1), "id") || strcmp(json_object_key_at(res, n - 1), "meta"))
        return 0;
    schemas = json_object_value_at(res, 0);
    value = json_string_value(json_array_get(schemas, 0));
    if (json_typeof(schemas) != JSON_ARRAY || json_array_size(schemas) != 1 || !value ||
        strcmp(value, core_urn))
        return 0;
    value = json_string_value(json_object_value_at(res, 1));
    if (!value || strcmp(value, id))
        return 0;
    for (size_t i = 2; i < n - 1; i++) {
        if (skipped_attr(json_object_key_at(res, i)))
            return 0;
    }
    meta = json_object_value_at(res, n - 1);
    if (json_typeof(meta) != JSON_OBJECT || json_object_size(meta) != 4)
        return 0;
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(json_object_key_at(meta, i), meta_keys[i]))
            return 0;
    }
    value = json_string_value(json_object_value_at(meta, 0));
    if (!value || strcmp(value, resource_type))
        return 0;
    return json_typeof(json_object_value_at(meta, 1)) == JSON_STRING;
}

/* Sets meta.lastModified of `res` (laid out as stored_layout requires) to
 * now and its version one past the current one, as build_stored would. */
static int touch_stored(json *res)
{
    char now[32], version[32];
    json *meta = json_object_value_at(res, json_object_size(res) - 1);
    json *modified, *versioned;

    scim_store_now(now);
    snprintf(version, sizeof version, "W/\"%ld\"", version_number(res) + 1);
    modified = json_string(now);
    versioned = json_string(version);
    if (!modified || !versioned) {
        json_free(modified);
        json_free(versioned);
        return STORE_NOMEM;
    }
    json_free(json_object_replace_at(meta, 2, modified));
    json_free(json_object_replace_at(meta, 3, versioned));
    return 0;
}

/* Stores a group whose PATCH changed only its members. The stored group
 * `before` gets a new time and version and moves into `w->result`. */
static int write_members_patch(store_txn *t, scim_write *w, member_ops *ops, json **before)
{
    int rc = members_flush(ops);

    if (rc == 0)
        rc = touch_stored(*before);
    if (rc)
        return rc;
    w->result = *before;
    *before = NULL;
    return write_resource(t, w, 0, w->result, w->result);
}

/* Applies the PATCH to the latest stored state. A PATCH that changes
 * nothing writes nothing and keeps the version. */
static int patch_job(store_txn *t, scim_write *w, int users)
{
    const scim_schema_resource *schema = users ? scim_schema_user() : scim_schema_group();
    member_ops ops = {.txn = t, .account = w->account, .group_id = w->id, .actor = w->actor};
    scim_patch_hooks hooks = {&ops, hook_add, hook_remove, hook_replace};
    json *before = NULL, *patched = NULL;
    int rc, members_only;

    write_reset(w, 0);
    rc = load_for_write(t, w, users, &before);
    if (rc)
        return rc;
    /* A PATCH of a group's members alone, the usual provisioning update,
     * leaves the group's attributes as they are, so the stored tree is
     * updated in place instead of being built again from the copy. */
    members_only = !users && schema->n_extensions == 0 && patch_members_only(w->patch) &&
                   stored_layout(before, w->id, SCIM_URN_GROUP, "Group");
    if (scim_patch_apply(w->patch, schema, before, users ? NULL : &hooks, &patched, &w->err)) {
        rc = ops.store_rc ? ops.store_rc : SCIM_STORE_REJECTED;
    } else if (members_only && ops.changed == 0) {
        w->result = before;
        before = NULL;
    } else if (members_only) {
        rc = write_members_patch(t, w, &ops, &before);
    } else if (!attrs_changed(before, patched) && ops.changed == 0) {
        w->result = before;
        before = NULL;
    } else {
        const char *urn = users ? SCIM_URN_USER : SCIM_URN_GROUP;
        rc = members_flush(&ops);
        if (rc == 0) {
            w->result = build_stored(patched, w->id, urn, users ? "User" : "Group", before);
            rc = w->result ? 0 : STORE_NOMEM;
        }
        if (rc == 0 && users)
            rc = user_domains_check(t, w, before, w->result);
        if (rc == 0)
            rc = write_resource(t, w, users, before, w->result);
    }
    json_free(before);
    json_free(patched);
    return rc;
}

int scim_store_user_patch(store_txn *t, void *arg)
{
    return patch_job(t, arg, 1);
}

/* Removes the user's memberships in both directions, then the user. */
int scim_store_user_delete(store_txn *t, void *arg)
{
    scim_write *w = arg;
    json *before = NULL;
    id_list groups = {0};
    int rc;

    write_reset(w, 0);
    rc = load_for_write(t, w, 1, &before);
    if (rc)
        return rc;
    rc = collect_ids(t, T_MEMBER_OF, w->account, w->id, &groups);
    for (size_t i = 0; rc == 0 && i < groups.n; i++) {
        member_ops ops = {
            .txn = t, .account = w->account, .group_id = groups.ids[i], .actor = w->actor};
        rc = member_remove(&ops, w->id);
        if (rc == 0)
            rc = members_flush(&ops);
    }
    if (rc == 0)
        rc = erase_resource(t, w, 1, before);
    if (rc == 0)
        rc = total_adjust(t, 1, w->account, -1);
    if (rc == 0)
        rc = events_user_changed(t, w->actor, w->account, w->id, before, NULL);
    id_list_free(&groups);
    json_free(before);
    return rc;
}

/* ---- group jobs ---- */

int scim_store_group_create(store_txn *t, void *arg)
{
    scim_write *w = arg;
    member_ops ops = {.txn = t, .account = w->account, .group_id = w->id, .actor = w->actor};
    const json *members = json_object_geti(w->input, "members");
    int rc;

    write_reset(w, 0);
    if (crypto_uuid7(w->id) != 0)
        return STORE_IO;
    w->result = build_stored(w->input, w->id, SCIM_URN_GROUP, "Group", NULL);
    if (!w->result)
        return STORE_NOMEM;
    rc = write_resource(t, w, 0, NULL, w->result);
    if (rc == 0)
        rc = total_adjust(t, 0, w->account, 1);
    if (rc == 0 && members)
        rc = members_add_values(&ops, members, &w->err);
    if (rc == 0)
        rc = members_flush(&ops);
    if (rc) {
        json_free(w->result);
        w->result = NULL;
    }
    return rc;
}

int scim_store_group_replace(store_txn *t, void *arg)
{
    scim_write *w = arg;
    member_ops ops = {.txn = t, .account = w->account, .group_id = w->id, .actor = w->actor};
    json *before = NULL;
    json *members = json_object_geti(w->input, "members");
    int rc;

    write_reset(w, 0);
    rc = load_for_write(t, w, 0, &before);
    if (rc)
        return rc;
    w->result = build_stored(w->input, w->id, SCIM_URN_GROUP, "Group", before);
    rc = w->result ? write_resource(t, w, 0, before, w->result) : STORE_NOMEM;
    if (rc == 0 && w->replace_members) {
        json *empty = members ? NULL : json_array();
        rc = members_replace(&ops, members ? members : empty, &w->err);
        json_free(empty);
    }
    if (rc == 0)
        rc = members_flush(&ops);
    json_free(before);
    return rc;
}

int scim_store_group_patch(store_txn *t, void *arg)
{
    return patch_job(t, arg, 0);
}

/* Builds the T_META key of a deleted group's pending clean-up. */
static void cleanup_key(key *k, const char *account, const char *group_id)
{
    k->len = 0;
    k->overflow = 0;
    key_add_str(k, SCIM_STORE_CLEANUP_PREFIX);
    key_add(k, account, STORE_ID_LEN);
    key_add(k, group_id, STORE_ID_LEN);
}

int scim_store_group_delete(store_txn *t, void *arg)
{
    scim_write *w = arg;
    member_ops ops = {.txn = t, .account = w->account, .group_id = w->id, .actor = w->actor};
    unsigned limit = w->cleanup_limit ? w->cleanup_limit : SCIM_STORE_CLEANUP_LIMIT;
    json *before = NULL;
    uint64_t members = 0;
    key k;
    int rc;

    write_reset(w, 0);
    rc = load_for_write(t, w, 0, &before);
    if (rc)
        return rc;
    rc = scim_store_member_count(t, w->account, w->id, &members);
    if (rc == 0 && members <= limit) {
        rc = members_remove_all(&ops);
        if (rc == 0)
            rc = members_flush(&ops);
    } else if (rc == 0) {
        cleanup_key(&k, w->account, w->id);
        rc = store_put(t, T_META, k.buf, k.len, w->actor, strlen(w->actor), 0);
        w->cleanup_pending = rc == 0;
    }
    if (rc == 0)
        rc = erase_resource(t, w, 0, before);
    if (rc == 0)
        rc = total_adjust(t, 0, w->account, -1);
    if (rc == 0)
        rc = events_group_changed(t, w->actor, w->account, w->id, before, NULL);
    if (rc)
        w->cleanup_pending = 0;
    json_free(before);
    return rc;
}

typedef struct limited_ids {
    id_list *list;
    size_t limit;
} limited_ids;

static int collect_limited(const char *id, void *ctx)
{
    limited_ids *l = ctx;
    int rc = id_list_add(l->list, id);
    if (rc)
        return rc;
    return l->list->n >= l->limit ? 1 : 0;
}

/* Removes the member counter and the pending entry of a finished clean-up. */
static int cleanup_finish(store_txn *t, scim_cleanup *c, const key *pending)
{
    key counter;
    int rc;

    counter_key(&counter, c->account, c->group_id);
    rc = store_del(t, T_COUNTERS, counter.buf, counter.len);
    if (rc == 0 || rc == STORE_NOTFOUND)
        rc = store_del(t, T_META, pending->buf, pending->len);
    if (rc == 0)
        c->done = 1;
    return rc;
}

int scim_store_group_cleanup(store_txn *t, void *arg)
{
    scim_cleanup *c = arg;
    size_t limit = c->limit ? c->limit : SCIM_STORE_CLEANUP_LIMIT;
    char actor[80];
    id_list ids = {0};
    limited_ids collect = {&ids, limit};
    store_val v;
    key pending;
    int rc;

    c->removed = 0;
    c->done = 0;
    if (!id_valid(c->account) || !id_valid(c->group_id))
        return STORE_INVALID;
    cleanup_key(&pending, c->account, c->group_id);
    rc = store_get(t, T_META, pending.buf, pending.len, &v);
    if (rc == STORE_NOTFOUND) {
        c->done = 1;
        return 0;
    }
    if (rc)
        return rc;
    snprintf(actor, sizeof actor, "%.*s", (int)(v.len < sizeof actor ? v.len : sizeof actor - 1),
             (const char *)v.data);
    rc = store_get(t, T_ACCOUNTS, c->account, STORE_ID_LEN, &v);
    if (rc == STORE_NOTFOUND) /* the account's deletion removed its records */
        return cleanup_finish(t, c, &pending);
    if (rc)
        return rc;

    member_ops ops = {.txn = t, .account = c->account, .group_id = c->group_id, .actor = actor};
    rc = walk_second_ids(t, T_MEMBERS, c->account, c->group_id, collect_limited, &collect);
    if (rc == 1)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < ids.n; i++)
        rc = member_remove(&ops, ids.ids[i]);
    if (rc == 0)
        rc = members_flush(&ops);
    if (rc == 0)
        c->removed = ops.changed;
    if (rc == 0 && ids.n < limit)
        rc = cleanup_finish(t, c, &pending);
    id_list_free(&ids);
    return rc;
}

int scim_store_pending_cleanups(store_txn *t, scim_store_cleanup_fn fn, void *ctx)
{
    const size_t plen = strlen(SCIM_STORE_CLEANUP_PREFIX);
    store_cursor *cur;
    store_val k, v;
    int rc;

    if ((rc = store_cursor_open(t, T_META, &cur)) != 0)
        return rc;
    rc = store_cursor_seek(cur, SCIM_STORE_CLEANUP_PREFIX, plen, &k, &v);
    while (rc == 0 && k.len >= plen && memcmp(k.data, SCIM_STORE_CLEANUP_PREFIX, plen) == 0) {
        char account[STORE_ID_LEN + 1], group_id[STORE_ID_LEN + 1];
        if (k.len == plen + 2 * STORE_ID_LEN) {
            memcpy(account, (const char *)k.data + plen, STORE_ID_LEN);
            account[STORE_ID_LEN] = '\0';
            memcpy(group_id, (const char *)k.data + plen + STORE_ID_LEN, STORE_ID_LEN);
            group_id[STORE_ID_LEN] = '\0';
            if ((rc = fn(account, group_id, ctx)) != 0)
                break;
        }
        rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* ---- reads ---- */

/* T_META name whose value names the fold of the name and email index keys.
 * Stores written before it existed folded ASCII letters only. */
#define REFOLD_META "scim:index_fold"
#define REFOLD_DONE "unicode-casefold-nfc"

/* Returns 1 when the store's name and email index keys hold the current
 * fold (scim_store_refold marked it), 0 when they may not, or a negative
 * STORE_* error. */
static int fold_is_current(store_txn *t)
{
    store_val v;
    int rc = store_get(t, T_META, REFOLD_META, strlen(REFOLD_META), &v);

    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    return v.len == strlen(REFOLD_DONE) && memcmp(v.data, REFOLD_DONE, v.len) == 0;
}

static int by_name(store_txn *t, enum store_table tab, const char *account, const char *name,
                   char id[STORE_ID_LEN + 1])
{
    key k;
    store_val v;
    key_init(&k, account);
    key_add_folded(&k, name);
    if (k.overflow)
        return STORE_NOTFOUND;
    int rc = store_get(t, tab, k.buf, k.len, &v);
    /* A CLI command may open a store of an earlier build that no server of
     * this build has refolded yet, while the earlier server may still serve
     * it. The command must not rewrite its keys, so it looks a non-ASCII
     * name up in the earlier fold too (ASCII names fold alike in both). */
    if (rc == STORE_NOTFOUND && !casefold_is_ascii(name, strlen(name))) {
        int current = fold_is_current(t);

        if (current < 0)
            return current;
        if (!current) {
            key_init(&k, account);
            key_add_ascii_folded(&k, name);
            if (k.overflow)
                return STORE_NOTFOUND;
            rc = store_get(t, tab, k.buf, k.len, &v);
        }
    }
    if (rc)
        return rc;
    if (v.len != STORE_ID_LEN)
        return STORE_IO;
    memcpy(id, v.data, STORE_ID_LEN);
    id[STORE_ID_LEN] = '\0';
    return 0;
}

int scim_store_user_by_name(store_txn *t, const char *account, const char *user_name,
                            char id[STORE_ID_LEN + 1])
{
    return by_name(t, T_USER_NAMES, account, user_name, id);
}

int scim_store_group_by_name(store_txn *t, const char *account, const char *display_name,
                             char id[STORE_ID_LEN + 1])
{
    return by_name(t, T_GROUP_NAMES, account, display_name, id);
}

/* Calls `fn` with the id that ends each key of `tab` made of `prefix` and
 * one id, in key order, and stops at the first nonzero return. */
static int walk_id_suffixes(store_txn *t, enum store_table tab, const void *prefix, size_t plen,
                            scim_store_id_fn fn, void *ctx)
{
    store_cursor *c;
    store_val k, v;
    int rc;

    if ((rc = store_cursor_open(t, tab, &c)) != 0)
        return rc;
    rc = store_cursor_seek(c, prefix, plen, &k, &v);
    while (rc == 0 && k.len == plen + STORE_ID_LEN && memcmp(k.data, prefix, plen) == 0) {
        char id[STORE_ID_LEN + 1];
        memcpy(id, (const char *)k.data + plen, STORE_ID_LEN);
        id[STORE_ID_LEN] = '\0';
        if ((rc = fn(id, ctx)) != 0)
            break;
        rc = store_cursor_next(c, &k, &v);
    }
    store_cursor_close(c);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Calls `fn` with the id at the end of each key ACC + value + \0 + id. */
static int ids_by_index(store_txn *t, enum store_table tab, const char *account, const char *value,
                        int lower, scim_store_id_fn fn, void *ctx)
{
    key prefix;

    key_init(&prefix, account);
    if (lower)
        key_add_folded(&prefix, value);
    else
        key_add_str(&prefix, value);
    key_add_byte(&prefix, '\0');
    if (prefix.overflow)
        return 0;
    return walk_id_suffixes(t, tab, prefix.buf, prefix.len, fn, ctx);
}

int scim_store_ids_by_extid(store_txn *t, int users, const char *account, const char *value,
                            scim_store_id_fn fn, void *ctx)
{
    return ids_by_index(t, users ? T_USER_EXTIDS : T_GROUP_EXTIDS, account, value, 0, fn, ctx);
}

int scim_store_ids_by_email(store_txn *t, const char *account, const char *value,
                            scim_store_id_fn fn, void *ctx)
{
    return ids_by_index(t, T_USER_EMAILS, account, value, 1, fn, ctx);
}

int scim_store_scan(store_txn *t, int users, const char *account, scim_store_scan_fn fn, void *ctx)
{
    store_cursor *c;
    store_val k, v;
    int rc;

    if ((rc = store_cursor_open(t, users ? T_USERS : T_GROUPS, &c)) != 0)
        return rc;
    rc = store_cursor_seek(c, account, STORE_ID_LEN, &k, &v);
    while (rc == 0 && k.len == 2 * STORE_ID_LEN && memcmp(k.data, account, STORE_ID_LEN) == 0) {
        char id[STORE_ID_LEN + 1];
        memcpy(id, (const char *)k.data + STORE_ID_LEN, STORE_ID_LEN);
        id[STORE_ID_LEN] = '\0';
        if ((rc = fn(id, v.data, v.len, ctx)) != 0)
            break;
        rc = store_cursor_next(c, &k, &v);
    }
    store_cursor_close(c);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Where recent pages of large accounts ended, so that the next page of a
 * client walking through all users (as an Okta import does) seeks to its
 * first resource instead of stepping over every resource before it. A
 * point is used only while the account's count of creates and deletes
 * (moves_key) is what it was, so its position is exact. Per thread, since
 * each read transaction belongs to one.
 * NOTE: an older build writing the same store does not count moves, so its
 * creates and deletes can shift later pages. The pages still list real
 * resources, as SCIM allows under concurrent changes (RFC 7644, section
 * 3.4.2.4). */
#define RESUME_POINTS 32
#define RESUME_MIN_SKIP 256

typedef struct resume_point {
    char account[STORE_ID_LEN];
    char id[STORE_ID_LEN]; /* the resource at index `pos` */
    int users;
    uint64_t moves;
    uint64_t pos;
    uint64_t used; /* last use, for replacing the least recently used point */
} resume_point;

static __thread resume_point resume_points[RESUME_POINTS];
static __thread uint64_t resume_clock;

/* The point of the account nearest before index `skip`, or NULL. */
static resume_point *resume_find(int users, const char *account, uint64_t moves, uint64_t skip)
{
    resume_point *best = NULL;

    for (int i = 0; i < RESUME_POINTS; i++) {
        resume_point *p = &resume_points[i];
        if (p->used && p->users == users && p->moves == moves && p->pos <= skip &&
            memcmp(p->account, account, STORE_ID_LEN) == 0 && (!best || p->pos > best->pos))
            best = p;
    }
    return best;
}

static void resume_remember(int users, const char *account, uint64_t moves, uint64_t pos,
                            const char *id)
{
    resume_point *slot = &resume_points[0];

    for (int i = 0; i < RESUME_POINTS; i++) {
        resume_point *p = &resume_points[i];
        if (p->used && p->users == users && p->pos == pos &&
            memcmp(p->account, account, STORE_ID_LEN) == 0) {
            slot = p;
            break;
        }
        if (p->used < slot->used)
            slot = p;
    }
    memcpy(slot->account, account, STORE_ID_LEN);
    memcpy(slot->id, id, STORE_ID_LEN);
    slot->users = users;
    slot->moves = moves;
    slot->pos = pos;
    slot->used = ++resume_clock;
}

/* Places the cursor on the resource at index `skip` of the account, from a
 * remembered point when one lies before it. `moves` is the account's
 * current count of creates and deletes. */
static int seek_index(store_cursor *c, int users, const char *account, uint64_t skip,
                      uint64_t moves, store_val *k, store_val *v)
{
    resume_point *p = skip >= RESUME_MIN_SKIP ? resume_find(users, account, moves, skip) : NULL;
    uint64_t pos = 0;
    int rc = 0;

    if (p) {
        char start[2 * STORE_ID_LEN];
        memcpy(start, account, STORE_ID_LEN);
        memcpy(start + STORE_ID_LEN, p->id, STORE_ID_LEN);
        rc = store_cursor_seek(c, start, sizeof start, k, skip == p->pos ? v : NULL);
        if (rc == 0 && k->len == sizeof start && memcmp(k->data, start, sizeof start) == 0) {
            p->used = ++resume_clock;
            pos = p->pos;
        } else {
            p->used = 0; /* the resource is gone: forget the point */
            p = NULL;
        }
    }
    if (!p)
        rc = store_cursor_seek(c, account, STORE_ID_LEN, k, skip == 0 ? v : NULL);
    while (rc == 0 && pos < skip) {
        pos++;
        rc = store_cursor_next(c, k, pos == skip ? v : NULL);
    }
    return rc;
}

int scim_store_scan_page(store_txn *t, int users, const char *account, uint64_t skip,
                         uint64_t limit, scim_store_scan_fn fn, void *ctx)
{
    store_cursor *c;
    store_val k, v;
    uint64_t moves = 0, pos = skip;
    int remember = skip + limit >= RESUME_MIN_SKIP;
    key mk;
    int rc;

    if (remember) {
        moves_key(&mk, account, users);
        if ((rc = store_counter_get(t, mk.buf, mk.len, &moves)) != 0)
            return rc;
    }
    if ((rc = store_cursor_open(t, users ? T_USERS : T_GROUPS, &c)) != 0)
        return rc;
    rc = seek_index(c, users, account, skip, moves, &k, &v);
    while (rc == 0 && limit > 0 && k.len == 2 * STORE_ID_LEN &&
           memcmp(k.data, account, STORE_ID_LEN) == 0) {
        char id[STORE_ID_LEN + 1];
        memcpy(id, (const char *)k.data + STORE_ID_LEN, STORE_ID_LEN);
        id[STORE_ID_LEN] = '\0';
        if ((rc = fn(id, v.data, v.len, ctx)) != 0)
            break;
        limit--;
        pos++;
        rc = store_cursor_next(c, &k, limit > 0 ? &v : NULL);
    }
    /* The next page of the walk starts at the resource after this one. */
    if (rc == 0 && remember && limit == 0 && k.len == 2 * STORE_ID_LEN &&
        memcmp(k.data, account, STORE_ID_LEN) == 0)
        resume_remember(users, account, moves, pos, (const char *)k.data + STORE_ID_LEN);
    store_cursor_close(c);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

int scim_store_total(store_txn *t, int users, const char *account, uint64_t *out)
{
    key k;
    int rc;

    total_key(&k, account, users);
    if ((rc = store_counter_get(t, k.buf, k.len, out)) != 0)
        return rc;
    if (*out == 0)
        return STORE_NOTFOUND;
    (*out)--;
    return 0;
}

int scim_store_count(store_txn *t, int users, const char *account, uint64_t *out)
{
    if (scim_store_total(t, users, account, out) == 0)
        return 0;
    return store_count_prefix(t, users ? T_USERS : T_GROUPS, account, STORE_ID_LEN, out);
}

/* Appends {value, display, $ref, type} for one related resource; `display`
 * has `dlen` bytes and may be NULL. A display that is not well-formed UTF-8
 * (earlier builds stored some) is left out, as on the text path, since the
 * reply could not be dumped with it. */
static int append_ref(json *arr, const char *id, const char *display, size_t dlen,
                      const char *base_url, const char *endpoint, const char *type)
{
    char ref[512];
    json *o = json_object();
    int ok = o != NULL;

    snprintf(ref, sizeof ref, "%s%s/%s", base_url, endpoint, id);
    ok = ok && json_object_set(o, "value", json_string(id)) == 0;
    if (ok && display && scim_utf8_valid(display, dlen))
        ok = json_object_set(o, "display", json_stringn(display, dlen)) == 0;
    ok = ok && json_object_set(o, "$ref", json_string(ref)) == 0 &&
         json_object_set(o, "type", json_string(type)) == 0;
    if (ok)
        return json_array_append(arr, o) == 0 ? 0 : STORE_NOMEM;
    json_free(o);
    return STORE_NOMEM;
}

static int top_level_string(const char *text, size_t len, const char *name, const char **value,
                            size_t *vlen);

/* Appends the group `id` of a user's `groups`, with the displayName read
 * from the stored text without a parse unless it has escapes. A group that
 * cannot be read is left out. */
static int append_group(store_txn *t, json *arr, const char *account, const char *id,
                        const char *base_url)
{
    const char *name = NULL;
    size_t len = 0;
    json *g = NULL;
    store_val v;
    key k;
    int rc;

    key_init(&k, account);
    key_add(&k, id, STORE_ID_LEN);
    if (store_get(t, T_GROUPS, k.buf, k.len, &v) != 0)
        return 0;
    if (top_level_string(v.data, v.len, "displayName", &name, &len) < 0) {
        if (!(g = json_parse(v.data, v.len, NULL, 0)))
            return 0;
        name = json_get_string(g, "displayName");
        len = name ? strlen(name) : 0;
    }
    rc = append_ref(arr, id, name, len, base_url, "/Groups", "direct");
    json_free(g);
    return rc;
}

int scim_store_user_groups(store_txn *t, const char *account, const char *user_id,
                           const char *base_url, json **out)
{
    id_list ids = {0};
    json *arr = json_array();
    int rc = arr ? collect_ids(t, T_MEMBER_OF, account, user_id, &ids) : STORE_NOMEM;

    for (size_t i = 0; rc == 0 && i < ids.n; i++)
        rc = append_group(t, arr, account, ids.ids[i], base_url);
    id_list_free(&ids);
    if (rc) {
        json_free(arr);
        arr = NULL;
    }
    *out = arr;
    return rc;
}

/* Calls `fn` with the second id of each key ACC + `first` + id in `tab`. */
static int walk_second_ids(store_txn *t, enum store_table tab, const char *account,
                           const char *first, scim_store_id_fn fn, void *ctx)
{
    key prefix;

    key_init(&prefix, account);
    key_add(&prefix, first, STORE_ID_LEN);
    return walk_id_suffixes(t, tab, prefix.buf, prefix.len, fn, ctx);
}

int scim_store_group_member_ids(store_txn *t, const char *account, const char *group_id,
                                scim_store_id_fn fn, void *ctx)
{
    return walk_second_ids(t, T_MEMBERS, account, group_id, fn, ctx);
}

typedef struct live_groups {
    store_txn *txn;
    const char *account;
    scim_store_id_fn fn;
    void *ctx;
} live_groups;

static int group_exists(store_txn *t, const char *account, const char *id)
{
    key k;
    store_val v;
    key_init(&k, account);
    key_add(&k, id, STORE_ID_LEN);
    return store_get(t, T_GROUPS, k.buf, k.len, &v);
}

/* Passes on the ids of groups that still exist: a deleted group's
 * memberships stay until its clean-up has run. */
static int pass_live_group(const char *id, void *arg)
{
    live_groups *l = arg;
    int rc = group_exists(l->txn, l->account, id);
    if (rc == STORE_NOTFOUND)
        return 0;
    return rc ? rc : l->fn(id, l->ctx);
}

int scim_store_user_group_ids(store_txn *t, const char *account, const char *user_id,
                              scim_store_id_fn fn, void *ctx)
{
    live_groups l = {t, account, fn, ctx};
    return walk_second_ids(t, T_MEMBER_OF, account, user_id, pass_live_group, &l);
}

typedef struct members_ctx {
    store_txn *txn;
    const char *account;
    const char *base_url;
    json *arr;
} members_ctx;

/* Finds the string value of top-level member `name` in compact JSON object
 * text as json_dump writes it, without building a tree: a group of 100,000
 * members needs that many display names. Returns 1 with the raw bytes in
 * `*value` and `*len`, 0 when the member is absent, or -1 when the value
 * has escapes or is not a string, so that the caller parses the text. */
static int top_level_string(const char *text, size_t len, const char *name, const char **value,
                            size_t *vlen)
{
    size_t nlen = strlen(name);
    int depth = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == '"') {
            size_t start = i + 1;
            int escaped = 0;
            for (i = start; i < len && text[i] != '"'; i++) {
                if (text[i] == '\\') {
                    escaped = 1;
                    i++;
                }
            }
            if (i >= len)
                return -1;
            int is_key = depth == 1 && i + 1 < len && text[i + 1] == ':';
            if (!is_key || escaped || i - start != nlen || memcmp(text + start, name, nlen) != 0)
                continue;
            if (i + 2 >= len || text[i + 2] != '"')
                return -1;
            start = i + 3;
            for (i = start; i < len && text[i] != '"'; i++) {
                if (text[i] == '\\')
                    return -1;
            }
            if (i >= len)
                return -1;
            *value = text + start;
            *vlen = i - start;
            return 1;
        }
    }
    return 0;
}

/* Copies a user's displayName, else userName, from the stored text into
 * `out`. Returns 1 when found, 0 when neither is set, -1 when the text must
 * be parsed. */
static int quick_display(const store_val *v, char *out, size_t size)
{
    static const char *const names[] = {"displayName", "userName"};
    for (size_t i = 0; i < 2; i++) {
        const char *value;
        size_t n;
        int rc = top_level_string(v->data, v->len, names[i], &value, &n);
        if (rc < 0 || (rc == 1 && n >= size))
            return -1;
        if (rc == 1) {
            memcpy(out, value, n);
            out[n] = '\0';
            return 1;
        }
    }
    return 0;
}

static int append_member(const char *id, void *arg)
{
    members_ctx *m = arg;
    char buf[256];
    const char *display = NULL;
    json *u = NULL;
    store_val v;
    key k;

    key_init(&k, m->account);
    key_add(&k, id, STORE_ID_LEN);
    if (store_get(m->txn, T_USERS, k.buf, k.len, &v) == 0) {
        int rc = quick_display(&v, buf, sizeof buf);
        if (rc == 1)
            display = buf;
        else if (rc < 0 && (u = json_parse(v.data, v.len, NULL, 0)) != NULL)
            display = json_get_string(u, "displayName") ? json_get_string(u, "displayName")
                                                          : json_get_string(u, "userName");
    }
    int rc = append_ref(m->arr, id, display, display ? strlen(display) : 0, m->base_url, "/Users",
                        "User");
    json_free(u);
    return rc;
}

int scim_store_group_members(store_txn *t, const char *account, const char *group_id,
                             const char *base_url, json **out)
{
    members_ctx m = {t, account, base_url, json_array()};
    int rc = m.arr ? scim_store_group_member_ids(t, account, group_id, append_member, &m)
                   : STORE_NOMEM;
    if (rc) {
        json_free(m.arr);
        m.arr = NULL;
    }
    *out = m.arr;
    return rc;
}

int scim_store_is_member(store_txn *t, const char *account, const char *group_id,
                         const char *user_id)
{
    key k;
    store_val v;
    if (!id_valid(group_id) || !id_valid(user_id))
        return 0;
    member_key(&k, account, group_id, user_id);
    int rc = store_get(t, T_MEMBERS, k.buf, k.len, &v);
    if (rc == 0)
        rc = group_exists(t, account, group_id);
    if (rc == STORE_NOTFOUND)
        return 0;
    return rc == 0 ? 1 : rc;
}

int scim_store_member_count(store_txn *t, const char *account, const char *group_id,
                            uint64_t *out)
{
    key k;
    counter_key(&k, account, group_id);
    int rc = store_counter_get(t, k.buf, k.len, out);
    if (rc == STORE_NOTFOUND) {
        *out = 0;
        rc = 0;
    }
    return rc;
}

/* ---- refolding the name and email indexes ---- */

/* One index entry whose key changes, or a name entry dropped because
 * another resource has the folded name. */
typedef struct refold_entry {
    enum store_table tab;
    size_t old_len, new_len;
    char old_key[512];
    char new_key[512];
    char val[STORE_ID_LEN];
    size_t val_len;
} refold_entry;

typedef struct refold_run {
    refold_entry *list;
    size_t n, cap;
    scim_refold_report *report;
} refold_run;

/* Lists the entries of `tab` whose keys contain a byte above 0x7f in their
 * value part, with the key that the fold of casefold.h gives them. Keys
 * of the email index end in \0 and the user id; the others hold only the
 * account id and the value. */
static int refold_collect(store_txn *t, enum store_table tab, refold_run *run)
{
    size_t tail = tab == T_USER_EMAILS ? 1 + STORE_ID_LEN : 0;
    store_cursor *c;
    store_val k, v;
    int rc;

    if ((rc = store_cursor_open(t, tab, &c)) != 0)
        return rc;
    rc = store_cursor_seek(c, "", 0, &k, &v);
    for (; rc == 0; rc = store_cursor_next(c, &k, &v)) {
        const char *kp = k.data;
        size_t part, n;
        refold_entry *e;

        if (k.len <= STORE_ID_LEN + tail || k.len > sizeof e->old_key || v.len > STORE_ID_LEN)
            continue;
        part = k.len - STORE_ID_LEN - tail;
        if (casefold_is_ascii(kp + STORE_ID_LEN, part))
            continue;
        if (run->n == run->cap) {
            size_t cap = run->cap ? run->cap * 2 : 16;
            void *p = realloc(run->list, cap * sizeof *run->list);
            if (!p) {
                rc = STORE_NOMEM;
                break;
            }
            run->list = p;
            run->cap = cap;
        }
        e = &run->list[run->n];
        memcpy(e->new_key, kp, STORE_ID_LEN);
        n = casefold(kp + STORE_ID_LEN, part, e->new_key + STORE_ID_LEN,
                     sizeof e->new_key - STORE_ID_LEN - tail);
        if (n == SIZE_MAX) {
            e->new_len = 0; /* dropped: no key fits */
        } else {
            memcpy(e->new_key + STORE_ID_LEN + n, kp + k.len - tail, tail);
            e->new_len = STORE_ID_LEN + n + tail;
            if (e->new_len == k.len && memcmp(e->new_key, kp, k.len) == 0)
                continue;
        }
        e->tab = tab;
        memcpy(e->old_key, kp, k.len);
        e->old_len = k.len;
        memcpy(e->val, v.data, v.len);
        e->val_len = v.len;
        run->n++;
    }
    store_cursor_close(c);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* Records that the entry `e` was dropped, because the resource in `owner`
 * has its new key or, with `owner` NULL, because no key fits. */
static void refold_clash(scim_refold_report *report, const refold_entry *e, const store_val *owner)
{
    scim_refold_clash *c;

    if (owner)
        report->clashes_total++;
    else
        report->unfoldable++;
    if (report->n_clashes == SCIM_REFOLD_CLASHES_MAX)
        return;
    c = &report->clashes[report->n_clashes++];
    memcpy(c->account, e->old_key, STORE_ID_LEN);
    c->account[STORE_ID_LEN] = '\0';
    /* An email entry's key ends in the user id; a name entry's value is it. */
    if (e->tab == T_USER_EMAILS)
        memcpy(c->dropped, e->old_key + e->old_len - STORE_ID_LEN, STORE_ID_LEN);
    else
        memcpy(c->dropped, e->val, STORE_ID_LEN);
    c->dropped[STORE_ID_LEN] = '\0';
    c->owner[0] = '\0';
    if (owner && owner->len == STORE_ID_LEN) {
        memcpy(c->owner, owner->data, STORE_ID_LEN);
        c->owner[STORE_ID_LEN] = '\0';
    }
    c->attr = e->tab == T_USER_NAMES ? "userName"
              : e->tab == T_GROUP_NAMES ? "displayName"
                                        : "emails.value";
}

/* Moves one entry to its new key. When another resource already has the
 * new key of a unique name, it keeps it, and the entry is dropped, as is an
 * entry for which no key fits. */
static int refold_apply(store_txn *t, refold_entry *e, scim_refold_report *report)
{
    int rc;

    if (e->new_len == 0) {
        refold_clash(report, e, NULL);
        rc = store_del(t, e->tab, e->old_key, e->old_len);
        return rc == STORE_NOTFOUND ? 0 : rc;
    }
    rc = store_put(t, e->tab, e->new_key, e->new_len, e->val, e->val_len,
                   e->tab == T_USER_EMAILS ? 0 : STORE_NOOVERWRITE);
    if (rc == STORE_EXISTS) {
        store_val owner;
        if ((rc = store_get(t, e->tab, e->new_key, e->new_len, &owner)) != 0)
            return rc;
        if (owner.len == e->val_len && memcmp(owner.data, e->val, e->val_len) == 0)
            report->moved++;
        else
            refold_clash(report, e, &owner);
    } else if (rc) {
        return rc;
    } else {
        report->moved++;
    }
    rc = store_del(t, e->tab, e->old_key, e->old_len);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

static int refold_job(store_txn *t, void *arg)
{
    static const enum store_table tables[] = {T_USER_NAMES, T_GROUP_NAMES, T_USER_EMAILS};
    refold_run *run = arg;
    int rc = fold_is_current(t);

    run->n = 0;
    memset(run->report, 0, sizeof *run->report);
    if (rc)
        return rc < 0 ? rc : 0;
    run->report->ran = 1;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if ((rc = refold_collect(t, tables[i], run)) != 0)
            return rc;
    }
    for (size_t i = 0; i < run->n; i++) {
        if ((rc = refold_apply(t, &run->list[i], run->report)) != 0)
            return rc;
    }
    return store_put(t, T_META, REFOLD_META, strlen(REFOLD_META), REFOLD_DONE,
                     strlen(REFOLD_DONE), 0);
}

int scim_store_refold(store *s, scim_refold_report *report)
{
    refold_run run = {.report = report};
    int rc = store_run(s, refold_job, &run);

    free(run.list);
    return rc;
}
