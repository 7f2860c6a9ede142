/* A SCIM client for the benchmarks, on libcurl's multi interface: a fixed
 * number of keep-alive connections, each running one request at a time,
 * as a provisioning client such as Okta does.
 *
 *   synclient sync  --url BASE --token T [--users 10000] [--conns 8] [--prefix P]
 *       The sync burst: for each user, look it up by userName and create it;
 *       then push one group with every user as members by one PUT; then push
 *       a second group by PATCH requests of --batch (100) members each.
 *       Prints "name value" lines: seconds per phase and in total.
 *   synclient load  --url BASE --token T --users N [--start I] [--conns 16]
 *                   [--prefix P] --out FILE
 *       Creates users I .. I+N-1 by POST /Users and appends "id<TAB>userName"
 *       lines to FILE. It runs on plain sockets and epoll instead of
 *       libcurl: over 100,000 users libcurl cost the client 45 us of CPU
 *       per user (time(1)), over half of the server's 64, on the same two
 *       cores, and this loader 11 us. For load, BASE must be
 *       http://IPV4:PORT/PATH.
 *   synclient group --url BASE --token T --name NAME --ids FILE --members K
 *                   [--batch 1000] [--conns 4]
 *       Creates a group and adds the first K users of FILE by PATCH
 *       requests of --batch members each. Prints the group id.
 *
 * BASE is the SCIM base URL, for example http://127.0.0.1:8080/scim/v2.
 * Exit status: 0 when every request got the expected status, 1 otherwise,
 * 2 for usage errors.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#define ID_MAX 64
#define MAX_REPORTED_ERRORS 5
/* Largest reply the loader accepts: a created user is under 1 KiB. */
#define LOAD_REPLY_MAX 16384
/* Seconds the loader waits for any reply before it gives up. */
#define LOAD_TIMEOUT_SECONDS 120

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

typedef struct slot {
    CURL *h;
    buf resp;
    char *url;
    char *body;
    long status;
    long item;  /* work item, -1 when the slot is idle */
    int step;   /* request number within the item */
} slot;

struct client;

/* One phase of work: `nitems` items, each a short sequence of requests. */
typedef struct phase {
    const char *name;
    /* Sets up the slot's request for step `s->step` of item `s->item`. */
    void (*prepare)(struct client *c, slot *s);
    /* Checks the reply; returns the next step, or -1 when the item is done. */
    int (*complete)(struct client *c, slot *s);
} phase;

typedef struct client {
    const char *base;
    const char *token;
    const char *prefix;
    const char *group_name;
    struct curl_slist *headers;
    CURLM *multi;
    slot *slots;
    int nslots;
    const phase *ph;
    long nitems, next_item;
    long requests, errors;
    int attached; /* transfers added to the multi handle and not yet removed */
    long start;       /* index of the first user */
    long nusers;
    char (*ids)[ID_MAX];
    char group_id[ID_MAX];
    long batch;
} client;

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("synclient: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void buf_add(buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap < b->len + len + 1)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data)
            die("out of memory");
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void buf_printf(buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        die("formatted text too long");
    buf_add(b, tmp, (size_t)n);
}

/* Returns a malloc'd copy of the buffer's text and empties it. */
static char *buf_take(buf *b)
{
    char *s = b->data ? b->data : strdup("");

    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    buf_add(arg, data, size * n);
    return size * n;
}

static void user_name(const client *c, long index, char *out, size_t len)
{
    snprintf(out, len, "%s%ld@bench.example", c->prefix, index);
}

/* Percent-encodes a filter expression for the query string. */
static char *url_filter(client *c, const char *attr, const char *value)
{
    char expr[512];
    char *enc, *url;
    size_t len;

    snprintf(expr, sizeof(expr), "%s eq \"%s\"", attr, value);
    enc = curl_easy_escape(c->slots[0].h, expr, 0);
    if (!enc)
        die("out of memory");
    len = strlen(c->base) + strlen(enc) + 64;
    url = malloc(len);
    if (!url)
        die("out of memory");
    snprintf(url, len, "%s/%s?filter=%s&startIndex=1&count=100", c->base,
             strcmp(attr, "userName") == 0 ? "Users" : "Groups", enc);
    curl_free(enc);
    return url;
}

static char *url_join(client *c, const char *path, const char *id)
{
    buf b = {0};

    buf_printf(&b, "%s/%s", c->base, path);
    if (id)
        buf_printf(&b, "/%s", id);
    return buf_take(&b);
}

/* Sets the slot's next request; takes ownership of `url` and `body`. */
static void slot_request(client *c, slot *s, const char *method, char *url, char *body)
{
    free(s->url);
    free(s->body);
    s->url = url;
    s->body = body;
    s->resp.len = 0;
    curl_easy_setopt(s->h, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(s->h, CURLOPT_POST, 1L);
        curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(s->h, CURLOPT_CUSTOMREQUEST, method);
    } else {
        curl_easy_setopt(s->h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(s->h, CURLOPT_CUSTOMREQUEST, NULL);
    }
}

/* Records an unexpected reply (printing the first few) and returns -1. */
static int slot_failed(client *c, slot *s, const char *what)
{
    c->errors++;
    if (c->errors <= MAX_REPORTED_ERRORS)
        fprintf(stderr, "synclient: %s: %s %s got %ld: %.300s\n", c->ph->name, what, s->url,
                s->status, s->resp.data ? s->resp.data : "");
    return -1;
}

/* Copies the top-level string `key` of the JSON reply into `out`. */
static int reply_string(slot *s, const char *key, char *out, size_t len)
{
    const char *path[] = {key, NULL};
    yajl_val root, v;
    int rc = -1;

    root = yajl_tree_parse(s->resp.data ? s->resp.data : "", NULL, 0);
    v = root ? yajl_tree_get(root, path, yajl_t_string) : NULL;
    if (v && strlen(v->u.string) < len) {
        strcpy(out, v->u.string);
        rc = 0;
    }
    yajl_tree_free(root);
    return rc;
}

/* Reads totalResults and the first resource's id of a ListResponse. */
static int reply_list(slot *s, long *total, char *first_id, size_t len)
{
    const char *total_path[] = {"totalResults", NULL};
    const char *res_path[] = {"Resources", NULL};
    const char *id_path[] = {"id", NULL};
    yajl_val root, v, res, id;
    int rc = -1;

    first_id[0] = '\0';
    root = yajl_tree_parse(s->resp.data ? s->resp.data : "", NULL, 0);
    v = root ? yajl_tree_get(root, total_path, yajl_t_number) : NULL;
    if (v) {
        *total = YAJL_GET_INTEGER(v);
        res = yajl_tree_get(root, res_path, yajl_t_array);
        if (res && YAJL_GET_ARRAY(res)->len > 0) {
            id = yajl_tree_get(YAJL_GET_ARRAY(res)->values[0], id_path, yajl_t_string);
            if (id && strlen(id->u.string) < len)
                strcpy(first_id, id->u.string);
        }
        rc = 0;
    }
    yajl_tree_free(root);
    return rc;
}

static char *user_body(client *c, long index)
{
    char name[256];
    buf b = {0};

    user_name(c, index, name, sizeof(name));
    buf_printf(&b,
               "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
               "\"userName\":\"%s\",\"externalId\":\"ext-%s%ld\","
               "\"name\":{\"givenName\":\"Given%ld\",\"familyName\":\"Family%ld\"},"
               "\"displayName\":\"Given%ld Family%ld\","
               "\"emails\":[{\"primary\":true,\"value\":\"%s\",\"type\":\"work\"}],"
               "\"active\":true}",
               name, c->prefix, index, index, index, index, index, name);
    return buf_take(&b);
}

/* Members first .. first+count-1 of c->ids as a JSON array. */
static void members_json(client *c, buf *b, long first, long count)
{
    buf_add(b, "[", 1);
    for (long i = first; i < first + count; i++)
        buf_printf(b, "%s{\"value\":\"%s\"}", i > first ? "," : "", c->ids[i]);
    buf_add(b, "]", 1);
}

/* --- users: look up by userName, create when absent --- */

static void users_prepare(client *c, slot *s)
{
    long index = c->start + s->item;
    char name[256];

    user_name(c, index, name, sizeof(name));
    if (s->step == 0)
        slot_request(c, s, "GET", url_filter(c, "userName", name), NULL);
    else
        slot_request(c, s, "POST", url_join(c, "Users", NULL), user_body(c, index));
}

static int users_complete(client *c, slot *s)
{
    char *id = c->ids[s->item];
    long total = -1;

    if (s->step == 0) {
        if (s->status != 200 || reply_list(s, &total, id, ID_MAX) != 0)
            return slot_failed(c, s, "lookup");
        return total == 0 ? 1 : -1;
    }
    if (s->status != 201 || reply_string(s, "id", id, ID_MAX) != 0)
        return slot_failed(c, s, "create");
    return -1;
}

static const phase users_phase = {"users", users_prepare, users_complete};

/* --- group: look up by displayName, create empty, optionally PUT all members --- */

static void group_prepare(client *c, slot *s)
{
    buf b = {0};

    if (s->step == 0) {
        slot_request(c, s, "GET", url_filter(c, "displayName", c->group_name), NULL);
    } else if (s->step == 1) {
        buf_printf(&b,
                   "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                   "\"displayName\":\"%s\",\"members\":[]}",
                   c->group_name);
        slot_request(c, s, "POST", url_join(c, "Groups", NULL), buf_take(&b));
    } else {
        buf_printf(&b,
                   "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                   "\"id\":\"%s\",\"displayName\":\"%s\",\"members\":",
                   c->group_id, c->group_name);
        members_json(c, &b, 0, c->nusers);
        buf_add(&b, "}", 1);
        slot_request(c, s, "PUT", url_join(c, "Groups", c->group_id), buf_take(&b));
    }
}

static int group_complete(client *c, slot *s)
{
    long total = -1;

    if (s->step == 0) {
        if (s->status != 200 || reply_list(s, &total, c->group_id, ID_MAX) != 0)
            return slot_failed(c, s, "group lookup");
        if (total != 0)
            return c->batch == 0 ? 2 : -1;
        return 1;
    }
    if (s->step == 1) {
        if (s->status != 201 || reply_string(s, "id", c->group_id, ID_MAX) != 0)
            return slot_failed(c, s, "group create");
        return c->batch == 0 ? 2 : -1;
    }
    if (s->status != 200 && s->status != 204)
        return slot_failed(c, s, "group replace");
    return -1;
}

static const phase group_phase = {"group", group_prepare, group_complete};

/* --- members: PATCH batches of c->batch members into c->group_id --- */

static void patch_prepare(client *c, slot *s)
{
    long first = s->item * c->batch;
    long count = c->batch;
    buf b = {0};

    if (first + count > c->nusers)
        count = c->nusers - first;
    buf_add(&b,
            "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
            "\"Operations\":[{\"op\":\"add\",\"path\":\"members\",\"value\":",
            strlen("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                   "\"Operations\":[{\"op\":\"add\",\"path\":\"members\",\"value\":"));
    members_json(c, &b, first, count);
    buf_add(&b, "}]}", 3);
    slot_request(c, s, "PATCH", url_join(c, "Groups", c->group_id), buf_take(&b));
}

static int patch_complete(client *c, slot *s)
{
    if (s->status != 200 && s->status != 204)
        return slot_failed(c, s, "group patch");
    return -1;
}

static const phase patch_phase = {"patch", patch_prepare, patch_complete};

/* --- the engine --- */

static void slot_start(client *c, slot *s)
{
    if (s->item < 0) {
        if (c->next_item >= c->nitems)
            return;
        s->item = c->next_item++;
        s->step = 0;
    }
    c->ph->prepare(c, s);
    c->requests++;
    if (curl_multi_add_handle(c->multi, s->h) != CURLM_OK)
        die("curl_multi_add_handle failed");
    c->attached++;
}

static void slot_finish(client *c, slot *s, CURLcode result)
{
    int next;

    curl_multi_remove_handle(c->multi, s->h);
    c->attached--;
    if (result != CURLE_OK) {
        c->errors++;
        if (c->errors <= MAX_REPORTED_ERRORS)
            fprintf(stderr, "synclient: %s: %s failed: %s\n", c->ph->name, s->url,
                    curl_easy_strerror(result));
        next = -1;
    } else {
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
        next = c->ph->complete(c, s);
    }
    if (next < 0)
        s->item = -1;
    else
        s->step = next;
    slot_start(c, s);
}

/* Runs `nitems` items of `ph` over the slots and returns the elapsed seconds.
 * The phase ends when no transfer is attached: waiting in curl_multi_poll
 * with none attached would sleep out its whole timeout. */
static double run_phase(client *c, const phase *ph, long nitems)
{
    double t0 = now_seconds();
    int running;

    c->ph = ph;
    c->nitems = nitems;
    c->next_item = 0;
    for (int i = 0; i < c->nslots; i++) {
        c->slots[i].item = -1;
        slot_start(c, &c->slots[i]);
    }
    while (c->attached > 0) {
        CURLMsg *msg;
        int queued;

        if (curl_multi_perform(c->multi, &running) != CURLM_OK)
            die("curl_multi_perform failed");
        while ((msg = curl_multi_info_read(c->multi, &queued))) {
            slot *s = NULL;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            slot_finish(c, s, msg->data.result);
        }
        if (c->attached > 0 && curl_multi_poll(c->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            die("curl_multi_poll failed");
    }
    return now_seconds() - t0;
}

static void client_init(client *c, int nslots)
{
    buf auth = {0};

    buf_printf(&auth, "Authorization: Bearer %s", c->token);
    c->headers = curl_slist_append(NULL, auth.data);
    c->headers = curl_slist_append(c->headers, "Content-Type: application/scim+json");
    c->headers = curl_slist_append(c->headers, "Accept: application/scim+json");
    c->headers = curl_slist_append(c->headers, "Expect:");
    free(auth.data);
    c->multi = curl_multi_init();
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)nslots);
    c->nslots = nslots;
    c->slots = calloc((size_t)nslots, sizeof(slot));
    if (!c->headers || !c->multi || !c->slots)
        die("out of memory");
    for (int i = 0; i < nslots; i++) {
        CURL *h = curl_easy_init();

        if (!h)
            die("out of memory");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->slots[i].resp);
        curl_easy_setopt(h, CURLOPT_PRIVATE, &c->slots[i]);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        c->slots[i].h = h;
        c->slots[i].item = -1;
    }
}

static void client_free(client *c)
{
    for (int i = 0; i < c->nslots; i++) {
        curl_easy_cleanup(c->slots[i].h);
        free(c->slots[i].resp.data);
        free(c->slots[i].url);
        free(c->slots[i].body);
    }
    free(c->slots);
    curl_multi_cleanup(c->multi);
    curl_slist_free_all(c->headers);
    free(c->ids);
}

static void alloc_ids(client *c, long n)
{
    c->ids = calloc((size_t)(n > 0 ? n : 1), sizeof(*c->ids));
    if (!c->ids)
        die("out of memory");
}

static int run_sync(client *c)
{
    char group[256];
    double t_users, t_put, t_patch, t_create;

    alloc_ids(c, c->nusers);
    t_users = run_phase(c, &users_phase, c->nusers);

    snprintf(group, sizeof(group), "%sgroup-put", c->prefix);
    c->group_name = group;
    c->batch = 0;   /* the group phase ends with the PUT of all members */
    t_put = run_phase(c, &group_phase, 1);

    snprintf(group, sizeof(group), "%sgroup-patch", c->prefix);
    c->batch = 100;
    t_create = run_phase(c, &group_phase, 1);
    t_patch = run_phase(c, &patch_phase, (c->nusers + c->batch - 1) / c->batch);

    printf("users_seconds %.3f\n", t_users);
    printf("group_put_seconds %.3f\n", t_put);
    printf("group_patch_seconds %.3f\n", t_create + t_patch);
    printf("total_seconds %.3f\n", t_users + t_put + t_create + t_patch);
    printf("requests %ld\n", c->requests);
    printf("errors %ld\n", c->errors);
    return c->errors ? 1 : 0;
}

/* --- load: POST /Users over plain sockets --- */

/* One keep-alive connection of the loader, with at most one request in
 * flight. */
typedef struct load_conn {
    int fd;
    long item;      /* user index within the run, -1 when idle */
    size_t have;    /* bytes of the reply read so far */
    size_t need;    /* length of the whole reply, 0 until its headers are read */
    size_t body_at; /* offset of the reply's body */
    char reply[LOAD_REPLY_MAX + 1];
} load_conn;

typedef struct loader {
    client *c;
    struct sockaddr_in addr;
    char host[64];  /* "A.B.C.D:PORT" for the Host header */
    const char *path; /* the SCIM base path, such as "/scim/v2" */
    load_conn *conns;
    int nconns;
    long next_item, done;
} loader;

/* Splits BASE ("http://A.B.C.D:PORT/PATH") into the address and path. */
static void loader_parse_base(loader *l, const char *base)
{
    char ip[32];
    unsigned port;
    int used = 0;

    if (sscanf(base, "http://%31[0-9.]:%u%n", ip, &port, &used) != 2 || port == 0 ||
        port > 65535 || (base[used] != '/' && base[used] != '\0'))
        die("invalid --url %s for load: expected http://IPV4:PORT/PATH", base);
    memset(&l->addr, 0, sizeof(l->addr));
    l->addr.sin_family = AF_INET;
    l->addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &l->addr.sin_addr) != 1)
        die("invalid address in --url %s", base);
    snprintf(l->host, sizeof(l->host), "%s:%u", ip, port);
    l->path = base + used;
}

/* Sends the POST that creates the connection's next user, or marks the
 * connection idle when every user has been sent. */
static void loader_send(loader *l, load_conn *lc)
{
    char *body, *req;
    size_t len, sent = 0;
    int n;

    if (l->next_item >= l->c->nusers) {
        lc->item = -1;
        return;
    }
    lc->item = l->next_item++;
    lc->have = lc->need = 0;
    body = user_body(l->c, l->c->start + lc->item);
    len = strlen(body) + strlen(l->c->token) + strlen(l->path) + 512;
    req = malloc(len);
    if (!req)
        die("out of memory");
    n = snprintf(req, len,
                 "POST %s/Users HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/scim+json\r\nAccept: application/scim+json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 l->path, l->host, l->c->token, strlen(body), body);
    if (n < 0 || (size_t)n >= len)
        die("request for user %ld too long", lc->item);
    /* The socket is blocking for writes: a request is far smaller than its
     * send buffer, so this does not stall the other connections. */
    while (sent < (size_t)n) {
        ssize_t w = write(lc->fd, req + sent, (size_t)n - sent);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("load: writing to %s failed: %s", l->host, w < 0 ? strerror(errno) : "closed");
        sent += (size_t)w;
    }
    free(req);
    free(body);
    l->c->requests++;
}

/* Returns the value of header `name` in the NUL-terminated header block,
 * or NULL. */
static const char *header_value(const char *headers, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = strstr(headers, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, len) == 0 && p[2 + len] == ':')
            return p + 3 + len + strspn(p + 3 + len, " ");
    }
    return NULL;
}

/* Checks a complete reply and records the created user's id, taken from
 * the Location header and required to match the body's "id". */
static void loader_complete(loader *l, load_conn *lc)
{
    client *c = l->c;
    int status = (int)strtol(lc->reply + strlen("HTTP/1.1 "), NULL, 10);
    const char *location = header_value(lc->reply, "Location");
    const char *line_end = location ? location + strcspn(location, "\r\n") : NULL;
    const char *id_start = line_end;
    char *id = c->ids[lc->item];
    char expect[ID_MAX + 16];
    size_t id_len;

    /* The id is the last path segment of the Location header's URL. */
    while (id_start && id_start > location && id_start[-1] != '/')
        id_start--;
    id_len = id_start ? (size_t)(line_end - id_start) : 0;
    if (status == 201 && id_start > location && id_len > 0 && id_len < ID_MAX) {
        memcpy(id, id_start, id_len);
        id[id_len] = '\0';
        snprintf(expect, sizeof(expect), "\"id\":\"%s\"", id);
        if (strstr(lc->reply + lc->body_at, expect))
            return;
        id[0] = '\0';
    }
    c->errors++;
    if (c->errors <= MAX_REPORTED_ERRORS)
        fprintf(stderr, "synclient: load: creating user %ld failed: status %d: %.300s\n",
                c->start + lc->item, status, lc->reply + lc->body_at);
}

/* Reads what the connection has received; completes the reply and sends
 * the next request once the whole reply is in. */
static void loader_read(loader *l, load_conn *lc)
{
    for (;;) {
        ssize_t r = recv(lc->fd, lc->reply + lc->have, LOAD_REPLY_MAX - lc->have, MSG_DONTWAIT);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0)
            die("load: reading from %s failed: %s", l->host,
                r < 0 ? strerror(errno) : "connection closed before the reply ended");
        lc->have += (size_t)r;
        lc->reply[lc->have] = '\0';
        if (lc->item < 0)
            die("load: %s sent bytes with no request in flight", l->host);
        if (lc->need == 0) {
            char *end = strstr(lc->reply, "\r\n\r\n");
            const char *length;

            if (!end) {
                if (lc->have == LOAD_REPLY_MAX)
                    die("load: reply headers from %s exceed %d bytes", l->host, LOAD_REPLY_MAX);
                continue;
            }
            end[2] = '\0'; /* ends the header block for header_value */
            if (header_value(lc->reply, "Transfer-Encoding"))
                die("load: chunked reply from %s is not supported", l->host);
            length = header_value(lc->reply, "Content-Length");
            if (!length)
                die("load: reply from %s has no Content-Length", l->host);
            lc->body_at = (size_t)(end + 4 - lc->reply);
            lc->need = lc->body_at + strtoul(length, NULL, 10);
            if (lc->need > LOAD_REPLY_MAX)
                die("load: reply from %s exceeds %d bytes", l->host, LOAD_REPLY_MAX);
        }
        if (lc->have < lc->need)
            continue;
        if (lc->have > lc->need)
            die("load: %s sent more than one reply to one request", l->host);
        loader_complete(l, lc);
        l->done++;
        loader_send(l, lc);
    }
}

static void loader_connect(loader *l, load_conn *lc, int epfd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = lc};
    int enable = 1;

    lc->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (lc->fd < 0)
        die("socket failed: %s", strerror(errno));
    setsockopt(lc->fd, IPPROTO_TCP, TCP_NODELAY, &enable, sizeof(enable));
    if (connect(lc->fd, (struct sockaddr *)&l->addr, sizeof(l->addr)) != 0)
        die("load: connecting to %s failed: %s", l->host, strerror(errno));
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lc->fd, &ev) != 0)
        die("epoll_ctl failed: %s", strerror(errno));
}

/* Creates c->nusers users over `nconns` connections; returns the elapsed
 * seconds. */
static double load_users(client *c, int nconns)
{
    loader l = {.c = c, .nconns = nconns};
    struct epoll_event events[64];
    double t0;
    int epfd = epoll_create1(0);

    if (epfd < 0)
        die("epoll_create1 failed: %s", strerror(errno));
    loader_parse_base(&l, c->base);
    l.conns = calloc((size_t)nconns, sizeof(load_conn));
    if (!l.conns)
        die("out of memory");
    for (int i = 0; i < nconns; i++)
        loader_connect(&l, &l.conns[i], epfd);
    t0 = now_seconds();
    for (int i = 0; i < nconns; i++)
        loader_send(&l, &l.conns[i]);
    while (l.done < c->nusers) {
        int n = epoll_wait(epfd, events, 64, LOAD_TIMEOUT_SECONDS * 1000);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait failed: %s", strerror(errno));
        if (n == 0)
            die("load: no reply from %s within %d s", l.host, LOAD_TIMEOUT_SECONDS);
        for (int i = 0; i < n; i++)
            loader_read(&l, events[i].data.ptr);
    }
    t0 = now_seconds() - t0;
    for (int i = 0; i < nconns; i++)
        close(l.conns[i].fd);
    free(l.conns);
    close(epfd);
    return t0;
}

static int run_load(client *c, const char *out_path, int nconns)
{
    char name[256];
    double t;
    FILE *f;

    alloc_ids(c, c->nusers);
    t = load_users(c, nconns);
    f = fopen(out_path, "a");
    if (!f)
        die("cannot open %s", out_path);
    for (long i = 0; i < c->nusers; i++) {
        if (!c->ids[i][0])
            continue;
        user_name(c, c->start + i, name, sizeof(name));
        fprintf(f, "%s\t%s\n", c->ids[i], name);
    }
    if (fclose(f) != 0)
        die("cannot write %s", out_path);
    printf("users %ld\nseconds %.3f\nrate %.0f\nerrors %ld\n", c->nusers, t,
           (double)c->nusers / t, c->errors);
    return c->errors ? 1 : 0;
}

/* Reads up to `want` ids from an "id<TAB>userName" file. */
static long read_ids(client *c, const char *path, long want)
{
    char line[512];
    long n = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        die("cannot open %s", path);
    alloc_ids(c, want);
    while (n < want && fgets(line, sizeof(line), f)) {
        char *tab = strchr(line, '\t');

        if (!tab || tab - line >= ID_MAX)
            continue;
        memcpy(c->ids[n], line, (size_t)(tab - line));
        c->ids[n][tab - line] = '\0';
        n++;
    }
    fclose(f);
    return n;
}

static int run_group(client *c, const char *ids_path, long members)
{
    double t;

    c->nusers = read_ids(c, ids_path, members);
    if (c->nusers < members)
        die("%s has %ld ids, %ld requested", ids_path, c->nusers, members);
    run_phase(c, &group_phase, 1);
    if (c->errors)
        return 1;
    t = run_phase(c, &patch_phase, (c->nusers + c->batch - 1) / c->batch);
    fprintf(stderr, "synclient: group %s: %ld members in %.3f s\n", c->group_name, c->nusers, t);
    printf("%s\n", c->group_id);
    return c->errors ? 1 : 0;
}

static void usage(void)
{
    fputs("usage: synclient sync|load|group --url BASE --token T [--users N] [--start I]\n"
          "       [--conns N] [--prefix P] [--out FILE] [--name NAME --ids FILE --members K]\n"
          "       [--batch N]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},     {"token", required_argument, NULL, 't'},
        {"users", required_argument, NULL, 'n'},   {"start", required_argument, NULL, 's'},
        {"conns", required_argument, NULL, 'c'},   {"prefix", required_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},     {"name", required_argument, NULL, 'g'},
        {"ids", required_argument, NULL, 'i'},     {"members", required_argument, NULL, 'm'},
        {"batch", required_argument, NULL, 'b'},   {NULL, 0, NULL, 0},
    };
    client c = {.prefix = "user-", .nusers = 10000, .batch = 1000};
    const char *mode, *out = NULL, *ids = NULL;
    long members = 0;
    int conns = 0, opt, rc;

    if (argc < 2)
        usage();
    mode = argv[1];
    optind = 2;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'u': c.base = optarg; break;
        case 't': c.token = optarg; break;
        case 'n': c.nusers = atol(optarg); break;
        case 's': c.start = atol(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'p': c.prefix = optarg; break;
        case 'o': out = optarg; break;
        case 'g': c.group_name = optarg; break;
        case 'i': ids = optarg; break;
        case 'm': members = atol(optarg); break;
        case 'b': c.batch = atol(optarg); break;
        default: usage();
        }
    }
    if (!c.base || !c.token || c.nusers < 0 || c.batch <= 0)
        usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(mode, "sync") == 0) {
        client_init(&c, conns > 0 ? conns : 8);
        rc = run_sync(&c);
    } else if (strcmp(mode, "load") == 0 && out) {
        rc = run_load(&c, out, conns > 0 ? conns : 16);
    } else if (strcmp(mode, "group") == 0 && c.group_name && ids && members > 0) {
        client_init(&c, conns > 0 ? conns : 4);
        rc = run_group(&c, ids, members);
    } else {
        usage();
    }
    client_free(&c);
    curl_global_cleanup();
    return rc;
}
