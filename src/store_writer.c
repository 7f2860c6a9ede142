/* The writer thread: a queue of write jobs, group commit, and the hand-off
 * of completions to the event loop.
 *
 * The writer takes up to max_batch queued jobs and opens one write
 * transaction. It runs each job in a nested transaction, committed when the
 * job returns 0 and aborted otherwise, so a failing job rolls back alone.
 * Then it commits the parent once, which costs one fsync for the batch. Jobs submitted
 * while a batch commits wait and form the next batch, so batches grow with
 * the load.
 *
 * A batch made only of STORE_JOB_RERUNNABLE jobs runs flat instead: each job
 * directly in the parent, without the nested transaction's begin and commit.
 * A flat job that fails before writing changed nothing, so the batch goes
 * on. One that fails after writing cannot be undone alone, so the writer
 * aborts the parent and runs the whole batch again nested, and runs the
 * following batches nested until one of them has no such failure.
 *
 * With a backend that can defer the flush of a commit's last step (LMDB
 * with MDB_NOMETASYNC: the meta page is written but not flushed), the writer
 * defers the commit of a batch when many jobs are queued. The deferred batch
 * waits in a list until a later flush covers it: the next batch's commit,
 * which flushes the data file after this batch's meta page was written, or
 * an explicit env_sync when no later commit flushed. Only then are its
 * completions handed off. Under load that is one device flush per commit
 * instead of two, and no completion runs before its job is durable. With
 * a short queue the commit is durable by itself, so a few clients do not
 * wait for a second commit.
 *
 * Completions go to the loop through an eventfd watched by an event on the
 * loop's base: the writer appends finished jobs to `completed` under the
 * mutex and writes the eventfd once, and the loop runs them in submission
 * order. This needs no libevent thread support, because the writer never
 * calls into libevent.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "store_internal.h"

/* Seconds between write-transaction tests that store_writable requests
 * while no batch runs. */
#define WRITABLE_CHECK_SEC 1

static const uint64_t batch_bounds[7] = {1, 2, 4, 8, 16, 64, 256};
static const uint64_t commit_usec_bounds[7] = {100, 500, 1000, 5000, 10000, 50000, 100000};

static unsigned hist_bucket(const uint64_t bounds[7], uint64_t v)
{
    unsigned i = 0;

    while (i < 7 && v > bounds[i])
        i++;
    return i;
}

static uint64_t elapsed_usec(const struct timespec *a, const struct timespec *b)
{
    return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000u + (b->tv_nsec - a->tv_nsec) / 1000;
}

/* 1 when the job failed after changing the transaction it ran in: a
 * successful write, or a backend failure that may have left the
 * transaction unusable. A job that failed before either changed nothing. */
static int failed_after_writing(const struct store_job *j, const store_txn *t)
{
    return j->rc && (t->writes || t->error);
}

/* Runs every job of the batch in its own nested transaction of `parent`.
 * Returns 1 when a job failed after writing, which a flat run of the same
 * batch could not have undone alone. */
static int run_jobs_nested(store *s, void *parent, struct store_job *batch)
{
    int failed_writer = 0;

    for (struct store_job *j = batch; j; j = j->next) {
        store_txn t = {.store = s, .write = 1};

        j->rc = s->be->txn_begin(s->env, parent, 0, &t.handle);
        if (j->rc)
            continue;
        j->rc = store_txn_job_result(&t, j->fn(&t, j->arg));
        if (j->rc) {
            failed_writer |= failed_after_writing(j, &t);
            s->be->txn_abort(t.handle);
            continue;
        }
        j->rc = s->be->txn_commit(t.handle);
    }
    return failed_writer;
}

/* Runs every job of the batch directly in `parent`, which saves the nested
 * transaction's begin and commit (in LMDB 0.9.24 each allocates a dirty-page
 * list and the commit merges it into the parent). Stops at the first job
 * that fails after writing and returns 1: only aborting `parent` undoes that
 * job's writes. A job that fails before writing leaves `parent` as it was,
 * so the batch goes on. */
static int run_jobs_flat(store *s, void *parent, struct store_job *batch)
{
    for (struct store_job *j = batch; j; j = j->next) {
        store_txn t = {.store = s, .handle = parent, .write = 1};

        j->rc = store_txn_job_result(&t, j->fn(&t, j->arg));
        if (failed_after_writing(j, &t))
            return 1;
    }
    return 0;
}

/* 1 when every job of the batch may run twice (STORE_JOB_RERUNNABLE). */
static int batch_rerunnable(const struct store_job *batch)
{
    for (const struct store_job *j = batch; j; j = j->next) {
        if (!(j->flags & STORE_JOB_RERUNNABLE))
            return 0;
    }
    return 1;
}

/* Runs the batch's jobs in the write transaction `*parent`: flat when every
 * job is rerunnable and no recent batch needed a rerun, nested otherwise.
 * When a flat job fails after writing, aborts `*parent`, begins a new one
 * and runs the whole batch again nested, so each job's result is what the
 * nested run gives. Returns 0, or the error of that second begin, in which
 * case `*parent` has ended. `*flat` and `*rerun` tell which path ran. */
static int run_jobs(store *s, void **parent, struct store_job *batch, int *flat, int *rerun)
{
    int rc;

    *flat = !s->flat_paused && batch_rerunnable(batch);
    *rerun = 0;
    if (!*flat) {
        /* Flat runs resume once a batch shows no failure that would have
         * forced a rerun. */
        if (!run_jobs_nested(s, *parent, batch))
            s->flat_paused = 0;
        return 0;
    }
    if (!run_jobs_flat(s, *parent, batch))
        return 0;
    *rerun = 1;
    s->flat_paused = 1;
    s->be->txn_abort(*parent);
    rc = s->be->txn_begin(s->env, NULL, 0, parent);
    if (rc)
        return rc;
    run_jobs_nested(s, *parent, batch);
    return 0;
}

/* 1 when the backend can defer durability to a later flush
 * (store_backend.h). */
static int can_defer(const store *s)
{
    return s->be->txn_commit_top && s->be->env_sync;
}

/* Queued jobs from which a commit defers; UINT64_MAX for never. */
static uint64_t defer_min_queued(const store *s)
{
    if (s->defer_min_queued == UINT_MAX)
        return UINT64_MAX;
    return s->max_batch < s->defer_min_queued ? s->max_batch : s->defer_min_queued;
}

/* Commits the batch's parent transaction: deferred when `defer` is 1 (only
 * with can_defer). `*flushed` is set as by txn_commit_top, and to 0 for a
 * backend without it. */
static int commit_parent(store *s, void *parent, int defer, int *flushed)
{
    *flushed = 0;
    if (can_defer(s))
        return s->be->txn_commit_top(parent, defer, flushed);
    return s->be->txn_commit(parent);
}

/* Runs one batch in one write transaction and records the statistics.
 * When the parent cannot begin or commit, every job gets that error. The
 * commit is deferred when the backend allows it and enough jobs are queued
 * (store_options.defer_min_queued), since the next batch's commit will then
 * flush it soon. `*deferred` is set to 1 for a deferred commit, and `*flushed` as by
 * commit_parent. */
static void run_batch(store *s, struct store_job *batch, unsigned n, int *deferred, int *flushed)
{
    struct timespec t0, t1, run_start, run_end;
    int flat = 0, rerun = 0;
    void *parent;
    int rc = s->be->txn_begin(s->env, NULL, 0, &parent);

    *deferred = *flushed = 0;
    clock_gettime(CLOCK_MONOTONIC, &run_start);
    if (rc == 0)
        rc = run_jobs(s, &parent, batch, &flat, &rerun);
    clock_gettime(CLOCK_MONOTONIC, &run_end);
    if (rc == 0) {
        pthread_mutex_lock(&s->mu);
        *deferred = can_defer(s) && s->pending_count >= defer_min_queued(s);
        pthread_mutex_unlock(&s->mu);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = commit_parent(s, parent, *deferred, flushed);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } else {
        t0 = t1 = (struct timespec){0, 0};
    }
    if (rc) {
        char jobs[16];

        snprintf(jobs, sizeof(jobs), "%u", n);
        log_event(LOG_ERROR, "store write transaction failed; every job of the batch fails",
                  "error", store_strerror(rc), "jobs", jobs, NULL);
        for (struct store_job *j = batch; j; j = j->next)
            j->rc = rc;
    }

    pthread_mutex_lock(&s->mu);
    /* A full map still lets a write transaction begin, and deletes can
     * free space, so only other failures make the store unwritable. */
    s->writable = rc == 0 || rc == STORE_FULL;
    s->last_write_check = t1;
    s->probe_requested = 0;
    s->stats.jobs += n;
    s->stats.flat_batches += flat;
    s->stats.reruns += rerun;
    s->stats.run_usec_sum += elapsed_usec(&run_start, &run_end);
    if (rc) {
        s->stats.failed_commits++;
    } else {
        uint64_t usec = elapsed_usec(&t0, &t1);

        s->stats.commits++;
        s->stats.batch_hist[hist_bucket(batch_bounds, n)]++;
        s->stats.commit_usec_hist[hist_bucket(commit_usec_bounds, usec)]++;
        s->stats.commit_usec_sum += usec;
    }
    pthread_mutex_unlock(&s->mu);
}

/* Hands each finished job to its waiter: store_run callers through
 * done_cv, the others to the loop through `completed` and the eventfd.
 * Called with `mu` held. */
static void hand_off(store *s, struct store_job *batch)
{
    int wake = 0;

    while (batch) {
        struct store_job *j = batch;

        batch = j->next;
        j->next = NULL;
        if (j->sync) {
            j->finished = 1;
            continue;
        }
        if (s->completed_tail)
            s->completed_tail->next = j;
        else
            s->completed = j;
        s->completed_tail = j;
        wake = 1;
    }
    pthread_cond_broadcast(&s->done_cv);
    if (wake && !s->wake_sent && s->wake_fd >= 0) {
        uint64_t one = 1;

        s->wake_sent = 1;
        if (write(s->wake_fd, &one, sizeof(one)) != sizeof(one))
            log_msgf(LOG_ERROR, "store: waking the event loop failed: %s", strerror(errno));
    }
}

/* Jobs of committed batches, in submission order, whose commits are not
 * known to be durable yet (deferred mode only). Used by the writer alone. */
struct job_list {
    struct store_job *head, *tail;
};

static void job_list_append(struct job_list *l, struct store_job *batch)
{
    struct store_job *last = batch;

    while (last->next)
        last = last->next;
    if (l->tail)
        l->tail->next = batch;
    else
        l->head = batch;
    l->tail = last;
}

/* Flushes the store so that the waiting jobs' commits are durable. The flush
 * starts after every one of those commits has returned. When it fails,
 * their writes may be lost on a crash, so each job that succeeded reports
 * STORE_IO instead: its caller must treat the write as unconfirmed. */
static void sync_waiting(store *s, struct store_job *waiting)
{
    int rc = s->be->env_sync(s->env);

    pthread_mutex_lock(&s->mu);
    s->stats.syncs++;
    if (rc)
        s->writable = 0;
    pthread_mutex_unlock(&s->mu);
    if (!rc)
        return;
    log_event(LOG_ERROR, "store flush failed; the writes of its batches are reported as failed",
              "error", store_strerror(rc), NULL);
    for (struct store_job *j = waiting; j; j = j->next) {
        if (j->rc == 0)
            j->rc = STORE_IO;
    }
}

/* Takes up to max_batch jobs off the queue. Called with `mu` held. */
static struct store_job *take_batch(store *s, unsigned *n)
{
    struct store_job *head = s->pending, *last = NULL, *j = head;
    unsigned count = 0;

    while (j && count < s->max_batch) {
        last = j;
        j = j->next;
        count++;
    }
    if (last)
        last->next = NULL;
    s->pending = j;
    if (!j)
        s->pending_tail = NULL;
    s->pending_count -= count;
    *n = count;
    return head;
}

/* Tests whether a write transaction can begin, for store_writable. */
static void probe_writable(store *s)
{
    void *txn;
    int rc = s->be->txn_begin(s->env, NULL, 0, &txn);

    if (rc == 0)
        s->be->txn_abort(txn);
    pthread_mutex_lock(&s->mu);
    s->writable = rc == 0;
    clock_gettime(CLOCK_MONOTONIC, &s->last_write_check);
    s->probe_requested = 0;
    pthread_mutex_unlock(&s->mu);
    if (rc)
        log_event(LOG_ERROR, "store write transaction could not begin", "error", store_strerror(rc),
                  NULL);
}

/* Called with `mu` held before a batch is taken, `last` being the size of
 * the batch before. After a batch of 16 jobs or more, while fewer than half
 * as many are queued, waits up to gather_usec for more to arrive
 * (STORE_DEFAULT_GATHER_USEC explains why). A lone client, or a few, never
 * wait: their batches stay small. */
static void gather(store *s, unsigned last)
{
    struct timespec until;

    if (s->gather_usec == UINT_MAX || last < 16 || s->closing || s->pending_count >= last / 2)
        return;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += s->gather_usec / 1000000;
    until.tv_nsec += (long)(s->gather_usec % 1000000) * 1000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    while (!s->closing && s->pending_count < last / 2) {
        if (pthread_cond_timedwait(&s->work_cv, &s->mu, &until) != 0)
            break;
    }
}

static void *writer_main(void *arg)
{
    store *s = arg;
    struct job_list waiting = {NULL, NULL};
    sigset_t all;
    unsigned last = 0;

    /* Signals belong to the event loop thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct store_job *batch;
        unsigned n;
        int deferred, flushed;

        while (!s->pending && !waiting.head && !s->closing && !s->probe_requested)
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (!s->pending && waiting.head) {
            /* Nothing queued would flush the waiting commits soon. */
            pthread_mutex_unlock(&s->mu);
            sync_waiting(s, waiting.head);
            pthread_mutex_lock(&s->mu);
            hand_off(s, waiting.head);
            waiting = (struct job_list){NULL, NULL};
            continue;
        }
        if (!s->pending) {
            if (s->closing)
                break;
            pthread_mutex_unlock(&s->mu);
            probe_writable(s);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        gather(s, last);
        batch = take_batch(s, &n);
        last = n;
        pthread_mutex_unlock(&s->mu);
        run_batch(s, batch, n, &deferred, &flushed);
        pthread_mutex_lock(&s->mu);
        /* This commit's flush started after every waiting commit had
         * returned, so it made them durable. */
        if (flushed && waiting.head) {
            hand_off(s, waiting.head);
            waiting = (struct job_list){NULL, NULL};
        }
        /* A batch that was not deferred is durable, or wrote nothing, or
         * failed. It still waits behind unflushed batches: its jobs may have
         * read their writes, and completions keep submission order. */
        if (!deferred && !waiting.head)
            hand_off(s, batch);
        else
            job_list_append(&waiting, batch);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Runs every completion handed off so far, in submission order, on the
 * calling thread (the loop thread, or store_close's caller). in_flight drops
 * once for the whole list, after the last completion, because taking `mu`
 * per job contends with the writer. */
static void run_completions(store *s)
{
    struct store_job *j;
    uint64_t ran = 0;

    pthread_mutex_lock(&s->mu);
    j = s->completed;
    s->completed = s->completed_tail = NULL;
    s->wake_sent = 0;
    pthread_mutex_unlock(&s->mu);

    while (j) {
        struct store_job *next = j->next;

        if (j->done)
            j->done(j->rc, j->arg);
        free(j);
        j = next;
        ran++;
    }
    if (ran == 0)
        return;
    pthread_mutex_lock(&s->mu);
    s->in_flight -= ran;
    pthread_mutex_unlock(&s->mu);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    uint64_t count;

    /* Drain the counter before taking the list, so that a hand-off after
     * the take writes the eventfd again and is not missed. */
    if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_msgf(LOG_ERROR, "store: reading the wake-up eventfd failed: %s", strerror(errno));
    run_completions(arg);
}

static int wake_setup(store *s)
{
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0) {
        log_msgf(LOG_ERROR, "store: eventfd failed: %s", strerror(errno));
        return STORE_IO;
    }
    s->wake_ev = event_new(s->base, s->wake_fd, EV_READ | EV_PERSIST, on_wake, s);
    if (!s->wake_ev || event_add(s->wake_ev, NULL) != 0) {
        log_msgf(LOG_ERROR, "store: registering the completion event failed");
        return STORE_NOMEM;
    }
    return 0;
}

static void wake_teardown(store *s)
{
    if (s->wake_ev)
        event_free(s->wake_ev);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    s->wake_ev = NULL;
    s->wake_fd = -1;
}

int store_writer_start(store *s)
{
    int rc;

    if (s->base && (rc = wake_setup(s)) != 0) {
        wake_teardown(s);
        return rc;
    }
    rc = pthread_create(&s->writer, NULL, writer_main, s);
    if (rc) {
        log_msgf(LOG_ERROR, "store: starting the writer thread failed: %s", strerror(rc));
        wake_teardown(s);
        return STORE_NOMEM;
    }
    s->writer_started = 1;
    return 0;
}

void store_writer_stop(store *s)
{
    pthread_mutex_lock(&s->mu);
    s->closing = 1;
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->writer_started)
        pthread_join(s->writer, NULL);
    s->writer_started = 0;

    /* The writer has drained the queue; completions it handed off after
     * the loop's last turn run here, before the base can be freed. */
    run_completions(s);
    wake_teardown(s);
}

static int enqueue(store *s, struct store_job *j)
{
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        return STORE_CLOSED;
    }
    if (s->pending_tail)
        s->pending_tail->next = j;
    else
        s->pending = j;
    s->pending_tail = j;
    s->pending_count++;
    s->in_flight++;
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int store_submit(store *s, store_job_fn fn, store_done_fn done, void *arg)
{
    return store_submit_flags(s, fn, done, arg, 0);
}

int store_submit_flags(store *s, store_job_fn fn, store_done_fn done, void *arg, unsigned flags)
{
    struct store_job *j;
    int rc;

    if (!s || !fn || (flags & ~STORE_JOB_RERUNNABLE))
        return STORE_INVALID;
    if (s->read_only)
        return STORE_RDONLY;
    if (!s->base)
        return STORE_INVALID;
    j = calloc(1, sizeof(*j));
    if (!j)
        return STORE_NOMEM;
    *j = (struct store_job){.fn = fn, .done = done, .arg = arg, .flags = flags};
    rc = enqueue(s, j);
    if (rc)
        free(j);
    return rc;
}

int store_run(store *s, store_job_fn fn, void *arg)
{
    struct store_job j = {.fn = fn, .arg = arg, .sync = 1};
    int rc;

    if (!s || !fn)
        return STORE_INVALID;
    if (s->read_only)
        return STORE_RDONLY;
    /* A job that calls store_run would wait for itself. */
    if (s->writer_started && pthread_equal(pthread_self(), s->writer))
        return STORE_INVALID;
    rc = enqueue(s, &j);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->mu);
    while (!j.finished)
        pthread_cond_wait(&s->done_cv, &s->mu);
    s->in_flight--;
    pthread_mutex_unlock(&s->mu);
    return j.rc;
}

int store_writable(store *s)
{
    struct timespec now;
    int writable;

    if (!s || s->read_only)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&s->mu);
    writable = s->writable && !s->closing;
    if (!s->closing && !s->probe_requested &&
        now.tv_sec - s->last_write_check.tv_sec >= WRITABLE_CHECK_SEC) {
        s->probe_requested = 1;
        pthread_cond_signal(&s->work_cv);
    }
    pthread_mutex_unlock(&s->mu);
    return writable;
}

void store_get_stats(store *s, store_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->queue_depth = s->pending_count;
    out->in_flight = s->in_flight;
    pthread_mutex_unlock(&s->mu);
}
