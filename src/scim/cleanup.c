#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "conf.h"
#include "log.h"
#include "scim/cleanup.h"
#include "scim/scim_store.h"
#include "store.h"

/* One running clean-up; owned by the chain of its jobs. */
typedef struct cleanup_run {
    scim_cleanup job;
    struct app *app;
    unsigned long removed; /* memberships removed so far by this run */
} cleanup_run;

static unsigned chunk = SCIM_STORE_CLEANUP_LIMIT;
static int stopping;

void scim_cleanup_configure(struct conf *c)
{
    chunk = (unsigned)conf_int(c, "scim", "group_delete_chunk", SCIM_STORE_CLEANUP_LIMIT, 1,
                               1000000);
}

unsigned scim_cleanup_limit(void)
{
    return chunk;
}

void scim_cleanup_stop(void)
{
    stopping = 1;
}

static void submit_next(cleanup_run *run);

static void chunk_done(int rc, void *arg)
{
    cleanup_run *run = arg;

    run->removed += run->job.removed;
    if (rc) {
        /* The pending entry stays, so the next start retries. */
        log_event(LOG_ERROR, "scim group clean-up failed", "account", run->job.account,
                  "group_id", run->job.group_id, "error", store_strerror(rc), NULL);
        free(run);
        return;
    }
    if (run->job.done) {
        char n[24];
        snprintf(n, sizeof n, "%lu", run->removed);
        log_event(LOG_INFO, "scim group clean-up finished", "account", run->job.account,
                  "group_id", run->job.group_id, "memberships_removed", n, NULL);
        free(run);
        return;
    }
    submit_next(run);
}

/* Queues the next chunk behind whatever other writes are waiting. */
static void submit_next(cleanup_run *run)
{
    int rc = STORE_CLOSED;

    if (!stopping && !run->app->stopping)
        rc = store_submit_flags(run->app->store, scim_store_group_cleanup, chunk_done, run,
                                STORE_JOB_RERUNNABLE);
    if (rc) {
        log_event(LOG_INFO, "scim group clean-up paused until the next start", "account",
                  run->job.account, "group_id", run->job.group_id, NULL);
        free(run);
    }
}

void scim_cleanup_start(struct app *a, const char *account, const char *group_id)
{
    cleanup_run *run = calloc(1, sizeof *run);

    if (!run) {
        log_event(LOG_ERROR, "scim group clean-up not started: out of memory", "account",
                  account, "group_id", group_id, NULL);
        return;
    }
    snprintf(run->job.account, sizeof run->job.account, "%s", account);
    snprintf(run->job.group_id, sizeof run->job.group_id, "%s", group_id);
    run->job.limit = chunk;
    run->app = a;
    submit_next(run);
}

/* Pending entries are collected first, because a job must not start while
 * the read transaction is open on this thread's cursor. */
typedef struct pending_list {
    char (*ids)[2][STORE_ID_LEN + 1];
    size_t n;
    size_t cap;
} pending_list;

static int collect_pending(const char *account, const char *group_id, void *ctx)
{
    pending_list *l = ctx;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        void *p = realloc(l->ids, cap * sizeof *l->ids);
        if (!p)
            return STORE_NOMEM;
        l->ids = p;
        l->cap = cap;
    }
    memcpy(l->ids[l->n][0], account, STORE_ID_LEN + 1);
    memcpy(l->ids[l->n][1], group_id, STORE_ID_LEN + 1);
    l->n++;
    return 0;
}

int scim_cleanup_resume(struct app *a)
{
    pending_list pending = {0};
    store_txn *t;
    int rc = store_read_begin(a->store, &t);

    if (rc)
        return rc;
    rc = scim_store_pending_cleanups(t, collect_pending, &pending);
    store_read_end(t);
    for (size_t i = 0; rc == 0 && i < pending.n; i++) {
        log_event(LOG_INFO, "scim group clean-up resumed", "account", pending.ids[i][0],
                  "group_id", pending.ids[i][1], NULL);
        scim_cleanup_start(a, pending.ids[i][0], pending.ids[i][1]);
    }
    free(pending.ids);
    return rc;
}
