#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "app.h"
#include "log.h"
#include "scim/cleanup.h"
#include "scim/patch.h"
#include "scim/scim_const.h"
#include "scim/related_text.h"
#include "scim/scim_http.h"
#include "scim/splice.h"

/* One write request in flight: the request is held until the store job's
 * completion has replied. The job and its completion get the same pointer,
 * so the scim_write the job reads must be the first member. */
typedef struct write_op {
    scim_write w;
    http_req *r;
    const scim_kind *kind;
    scim_patch *patch;
    scim_projection *proj;
    int status;   /* reply status on success: 200, 201 or 204 */
    int location; /* 1 to send a Location header */
} write_op;

/* Appends `text` at `*at` in a buffer that ends at `end` and writes the
 * terminating NUL. Text that does not fit is truncated, as snprintf does. */
static void append_text(char **at, char *end, const char *text)
{
    size_t room = (size_t)(end - *at) - 1;
    size_t n = strlen(text);

    if (n > room)
        n = room;
    memcpy(*at, text, n);
    *at += n;
    **at = '\0';
}

/* Writes the resource's URL, "<base URL><endpoint>/<id>", into `out` of
 * `size` bytes, truncated as snprintf would truncate it. */
static void format_location(char *out, size_t size, const char *endpoint, const char *id)
{
    char *at = out;

    *at = '\0';
    append_text(&at, out + size, scim_base_url());
    append_text(&at, out + size, endpoint);
    append_text(&at, out + size, "/");
    append_text(&at, out + size, id);
}

/* Returns the calling thread's buffer for a spliced reply body, or NULL
 * when out of memory. A reply drains it, and every user of it drains it
 * before returning, so it is empty between uses. Keeping one saves an
 * evbuffer_new and evbuffer_free per reply. */
static struct evbuffer *splice_buffer(void)
{
    static __thread struct evbuffer *buf;

    if (!buf)
        buf = evbuffer_new();
    return buf;
}

static void write_op_free(write_op *op)
{
    scim_write_clear(&op->w);
    scim_patch_free(op->patch);
    scim_projection_free(op->proj);
    free(op);
}

/* Replies with a written user without a projection by splicing its location
 * and groups into the text the job stored, which skips rendering and
 * dumping the tree again. Sets the ETag and Location headers from that
 * text. Without a transaction `t` (a user just created, which no group can
 * name yet) the groups are empty. Returns 0 after replying, a STORE_*
 * error, or 1 when the text needs the general path, having replied
 * nothing. */
static int reply_user_spliced(write_op *op, store_txn *t)
{
    http_req *r = op->r;
    char location[512], version[32];
    const char *users, *groups;
    size_t users_len = 0, groups_len = 0;
    struct evbuffer *buf = NULL;
    const char *stored_version = op->w.result ? scim_store_version(op->w.result) : NULL;
    int rc;

    if (!op->kind->users || op->proj || !op->w.result_text || (op->w.result && !stored_version))
        return 1;
    /* The text must be that of the tree, when there is one. */
    if (scim_splice_version(op->w.result_text, op->w.result_len, version) != 0 ||
        (stored_version && strcmp(version, stored_version) != 0))
        return 1;
    users = scim_location_prefix(&scim_kind_user, &users_len);
    groups = scim_location_prefix(&scim_kind_group, &groups_len);
    rc = users && groups && (buf = splice_buffer()) ? 0 : STORE_NOMEM;
    if (rc == 0)
        rc = scim_splice_resource(op->w.result_text, op->w.result_len, "User", users, users_len,
                                  op->w.id, "groups", buf);
    if (rc == 0)
        rc = t ? scim_user_groups_text(t, op->w.account, op->w.id, groups, groups_len, buf)
               : (evbuffer_add(buf, "[]", 2) == 0 ? 0 : STORE_NOMEM);
    if (rc == 0 && evbuffer_add(buf, "}", 1) != 0)
        rc = STORE_NOMEM;
    if (rc == 0) {
        http_set_header(r, "ETag", version);
        if (op->location) {
            format_location(location, sizeof location, op->kind->endpoint, op->w.id);
            http_set_header(r, "Location", location);
        }
        http_reply_buffer(r, op->status, SCIM_CONTENT_TYPE, buf);
    }
    if (buf)
        evbuffer_drain(buf, evbuffer_get_length(buf));
    return rc;
}

/* A user create keeps only the stored text; replies that render a tree
 * parse it from that text. A delete has neither. */
static int result_tree(write_op *op)
{
    if (op->w.result || !op->w.result_text)
        return 0;
    op->w.result = json_parse(op->w.result_text, op->w.result_len, NULL, 0);
    return op->w.result ? 0 : STORE_NOMEM;
}

static void reply_result(write_op *op)
{
    http_req *r = op->r;
    store_txn *t = NULL;
    int rc;

    if (op->status != 204) {
        /* A create's id was unknown until now, so no group names the user
         * and the splice needs no read. */
        rc = op->status == 201 ? 0 : store_read_begin(r->app->store, &t);
        if (rc == 0 && (rc = reply_user_spliced(op, t)) == 0)
            goto out;
        if (rc == 1)
            rc = t ? 0 : store_read_begin(r->app->store, &t);
        if (rc == 0)
            rc = result_tree(op);
    } else {
        rc = result_tree(op);
    }
    if (rc == 0)
        scim_set_resource_headers(r, op->kind, op->w.result, op->location);
    if (rc == 0 && op->status == 204) {
        http_reply(r, 204, NULL, NULL, 0);
        goto out;
    }
    if (rc == 0)
        rc = scim_render(t, op->kind, op->w.account, op->w.result, op->proj);
    if (rc)
        scim_reply_store_error(r, rc, "render");
    else
        scim_reply_json(r, op->status, op->w.result);
out:
    if (t)
        store_read_end(t);
}

static void write_done(int rc, void *arg)
{
    write_op *op = arg;
    http_req *r = op->r;

    if (!http_req_alive(r))
        ; /* the client left, and the write persisted or failed regardless */
    else if (rc == SCIM_STORE_REJECTED)
        scim_reply_error(r, &op->w.err);
    else if (rc)
        scim_reply_store_error(r, rc, op->kind->type);
    else
        reply_result(op);
    if (rc == 0 && op->w.cleanup_pending)
        scim_cleanup_start(r->app, op->w.account, op->w.id);
    http_req_release(r);
    write_op_free(op);
}

static void submit(write_op *op, store_job_fn job)
{
    http_req *r = op->r;
    http_req_hold(r);
    /* Every SCIM write job resets its outputs first, so the writer may run
     * it twice (see STORE_JOB_RERUNNABLE). */
    int rc = store_submit_flags(r->app->store, job, write_done, op, STORE_JOB_RERUNNABLE);
    if (rc) {
        scim_reply_store_error(r, rc, op->kind->type);
        http_req_release(r);
        write_op_free(op);
        return;
    }
    /* The reply must describe the write's outcome, so it waits for the
     * commit rather than timing out while the write still lands. */
    http_req_set_committing(r);
}

static char *dup_header(http_req *r, const char *name)
{
    const char *v = http_header(r, name);
    return v ? strdup(v) : NULL;
}

/* Builds the write for a request on one resource, after authentication.
 * Replies and returns NULL on failure. */
static write_op *write_op_new(http_req *r, const scim_kind *k, const scim_caller *c,
                              const char *id)
{
    write_op *op = calloc(1, sizeof *op);
    size_t actor_len;

    if (!op) {
        scim_reply_errorf(r, 500, NULL, "Out of memory.");
        return NULL;
    }
    op->r = r;
    op->kind = k;
    op->status = 200;
    memcpy(op->w.account, c->account, sizeof op->w.account);
    _Static_assert(sizeof op->w.actor >= sizeof c->actor, "the write's actor holds the caller's");
    actor_len = strnlen(c->actor, sizeof c->actor - 1);
    memcpy(op->w.actor, c->actor, actor_len);
    op->w.actor[actor_len] = '\0';
    if (id)
        memcpy(op->w.id, id, STORE_ID_LEN + 1);
    op->w.if_match = dup_header(r, "If-Match");
    op->w.if_none_match = dup_header(r, "If-None-Match");
    if (scim_request_projection(r, k, &op->proj) != 0) {
        write_op_free(op);
        return NULL;
    }
    return op;
}

/* Authenticates outside any long-lived transaction: writes only need the
 * account. */
static int authenticate(http_req *r, scim_caller *c)
{
    store_txn *t;
    if (scim_begin(r, &t, c) != 0)
        return -1;
    store_read_end(t);
    return 0;
}

/* The id path parameter, or NULL after a 404 when it cannot be an id. */
static const char *id_param(http_req *r, const scim_kind *k)
{
    const char *id = r->nparams > 0 ? r->params[0] : NULL;
    if (id && strlen(id) == STORE_ID_LEN)
        return id;
    scim_reply_errorf(r, 404, NULL, "%s %.100s not found.", k->type, id ? id : "");
    return NULL;
}

static int normalize(http_req *r, const scim_kind *k, json *body, scim_normalize_mode mode)
{
    scim_error e = {0};
    if (scim_resource_normalize(k->schema(), body, mode, &e) == 0)
        return 0;
    scim_reply_error(r, &e);
    return -1;
}

static void handle_create(http_req *r, void *arg)
{
    const scim_kind *k = arg;
    scim_caller c;
    json *body = NULL;
    write_op *op;

    if (authenticate(r, &c) != 0 || scim_read_body(r, &body) != 0)
        return;
    if (normalize(r, k, body, SCIM_NORMALIZE_CREATE) != 0 || !(op = write_op_new(r, k, &c, NULL))) {
        json_free(body);
        return;
    }
    op->w.input = body;
    op->status = 201;
    op->location = 1;
    /* Every write of the store waits for the one writer thread, so the
     * user's id and stored text are made here, before the job is queued. */
    int rc = k->users ? scim_store_user_prepare(&op->w) : 0;
    if (rc) {
        scim_reply_store_error(r, rc, k->type);
        write_op_free(op);
        return;
    }
    submit(op, k->create);
}

static void handle_replace(http_req *r, void *arg)
{
    const scim_kind *k = arg;
    scim_caller c;
    json *body = NULL;
    const char *id;
    write_op *op;

    if (authenticate(r, &c) != 0 || !(id = id_param(r, k)) || scim_read_body(r, &body) != 0)
        return;
    if (normalize(r, k, body, SCIM_NORMALIZE_REPLACE) != 0 || !(op = write_op_new(r, k, &c, id))) {
        json_free(body);
        return;
    }
    op->w.input = body;
    op->w.replace_members = 1;
    submit(op, k->replace);
}

/* A Group PATCH replies 204 unless the request names attributes to return,
 * so that editing a large group never reads its member list back. A User
 * PATCH replies 200 with the user. Either replies 204 to an empty
 * `attributes=` parameter, which requests no attributes. */
static int patch_status(http_req *r, const scim_kind *k)
{
    const char *a = http_query(r, "attributes");
    const char *x = http_query(r, "excludedAttributes");
    if (a && !*a)
        return 204;
    if (k->users || (a && *a) || (x && *x))
        return 200;
    return 204;
}

static void handle_patch(http_req *r, void *arg)
{
    const scim_kind *k = arg;
    scim_caller c;
    scim_error e = {0};
    json *body = NULL;
    scim_patch *patch = NULL;
    const char *id;
    write_op *op;

    if (authenticate(r, &c) != 0 || !(id = id_param(r, k)) || scim_read_body(r, &body) != 0)
        return;
    if (scim_patch_parse(body, &patch, &e) != 0) {
        scim_reply_error(r, &e);
        json_free(body);
        return;
    }
    json_free(body);
    if (!(op = write_op_new(r, k, &c, id))) {
        scim_patch_free(patch);
        return;
    }
    op->patch = patch;
    op->w.patch = patch;
    op->status = patch_status(r, k);
    submit(op, k->patch);
}

static void handle_delete(http_req *r, void *arg)
{
    const scim_kind *k = arg;
    scim_caller c;
    const char *id;
    write_op *op;

    if (authenticate(r, &c) != 0 || !(id = id_param(r, k)) || !(op = write_op_new(r, k, &c, id)))
        return;
    op->status = 204;
    op->w.cleanup_limit = scim_cleanup_limit();
    submit(op, k->remove);
}

/* Replies 304 or 412 when the request's preconditions fail on a read of
 * `version` (NULL when unknown). */
static int read_preconditions(http_req *r, const char *version)
{
    const char *im = http_header(r, "If-Match");
    const char *inm = http_header(r, "If-None-Match");

    if (!version)
        version = "";
    if (im && !scim_etag_matches(im, version)) {
        scim_reply_errorf(r, 412, NULL, "If-Match does not match the current version %s",
                          version);
        return -1;
    }
    if (inm && scim_etag_matches(inm, version)) {
        http_set_header(r, "ETag", version);
        http_reply(r, 304, NULL, NULL, 0);
        return -1;
    }
    return 0;
}

/* Replies to a GET of a user without a projection by splicing the derived
 * parts into the stored text, which skips the parse and the dump: the
 * location, and the groups written as text as on a list page. Returns 1
 * when the stored text needs the general path, having replied nothing. */
static int get_user_spliced(http_req *r, store_txn *t, const scim_caller *c, const char *id)
{
    const char *users, *groups;
    size_t users_len = 0, groups_len = 0;
    char version[32];
    struct evbuffer *buf = NULL;
    store_val v;
    int rc = scim_store_user_text(t, c->account, id, &v);

    if (rc == 0 && scim_splice_version(v.data, v.len, version) != 0)
        return 1;
    users = scim_location_prefix(&scim_kind_user, &users_len);
    groups = scim_location_prefix(&scim_kind_group, &groups_len);
    if (rc == 0 && (!users || !groups || !(buf = splice_buffer())))
        rc = STORE_NOMEM;
    if (rc == 0)
        rc = scim_splice_resource(v.data, v.len, "User", users, users_len, id, "groups", buf);
    if (rc == 0)
        rc = scim_user_groups_text(t, c->account, id, groups, groups_len, buf);
    if (rc == 0 && evbuffer_add(buf, "}", 1) != 0)
        rc = STORE_NOMEM;
    if (rc == 0 && read_preconditions(r, version) == 0) {
        http_set_header(r, "ETag", version);
        http_reply_buffer(r, 200, SCIM_CONTENT_TYPE, buf);
    }
    if (rc == STORE_NOTFOUND)
        scim_reply_errorf(r, 404, NULL, "User %s not found.", id);
    else if (rc < 0)
        scim_reply_store_error(r, rc, "read");
    if (buf)
        evbuffer_drain(buf, evbuffer_get_length(buf));
    return rc == 1;
}

static void handle_get(http_req *r, void *arg)
{
    const scim_kind *k = arg;
    scim_caller c;
    store_txn *t;
    scim_projection *p = NULL;
    json *res = NULL;
    const char *id;
    int rc;

    if (scim_begin(r, &t, &c) != 0)
        return;
    if (!(id = id_param(r, k)) || scim_request_projection(r, k, &p) != 0)
        goto out;
    if (k->users && !p && !get_user_spliced(r, t, &c, id))
        goto out;
    rc = k->users ? scim_store_user_load(t, c.account, id, &res)
                  : scim_store_group_load(t, c.account, id, &res);
    if (rc == STORE_NOTFOUND) {
        scim_reply_errorf(r, 404, NULL, "%s %s not found.", k->type, id);
        goto out;
    }
    if (rc) {
        scim_reply_store_error(r, rc, "read");
        goto out;
    }
    if (read_preconditions(r, scim_store_version(res)) != 0)
        goto out;
    scim_set_resource_headers(r, k, res, 0);
    if ((rc = scim_render(t, k, c.account, res, p)) != 0)
        scim_reply_store_error(r, rc, "render");
    else
        scim_reply_json(r, 200, res);
out:
    store_read_end(t);
    json_free(res);
    scim_projection_free(p);
}

int scim_resource_routes(struct http_server *s, const scim_kind *k, const char *endpoint)
{
    char base[64], item[64];

    snprintf(base, sizeof base, "%s%s", SCIM_PREFIX, endpoint);
    snprintf(item, sizeof item, "%s%s/{}", SCIM_PREFIX, endpoint);
    if (http_route(s, base, HTTP_POST, handle_create, (void *)k) != 0 ||
        http_route(s, item, HTTP_GET, handle_get, (void *)k) != 0 ||
        http_route(s, item, HTTP_PUT, handle_replace, (void *)k) != 0 ||
        http_route(s, item, HTTP_PATCH, handle_patch, (void *)k) != 0 ||
        http_route(s, item, HTTP_DELETE, handle_delete, (void *)k) != 0)
        return -1;
    return 0;
}
