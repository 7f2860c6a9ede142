/* Private state of the store front end, shared by store.c (transactions,
 * point operations, cursors) and store_writer.c (job queue, writer thread,
 * completions). Not for use outside these files. */
#ifndef IDGATE_STORE_INTERNAL_H
#define IDGATE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "store.h"
#include "store_backend.h"

struct event;

struct store_txn {
    struct store *store;
    void *handle;           /* backend transaction */
    unsigned char write;    /* 1 for a job's nested write transaction */
    unsigned char cached;   /* 1 when owned by a thread's read cache */
    unsigned char active;   /* cached only: 1 between read_begin and read_end */
    unsigned char parked;   /* cached only: ended but not yet reset (see store_read_end) */
    int error;              /* first backend failure in a write transaction */
    unsigned writes;        /* write: successful puts and deletes of this job */
    unsigned char generation_bumped; /* write: the key tables' change counter was incremented */
    /* Read only: the key tables' change counter as read in the snapshot
     * `gen_snapshot` (a backend txn_id), while gen_valid is 1. */
    unsigned char gen_valid;
    uint64_t gen_snapshot;
    uint64_t gen_value;
    pthread_t owner;        /* cached only: the thread that uses it */
    /* Cached only: a closed cursor per table, kept for the next open in
     * this transaction or a renewal of it (see store_cursor_open). */
    struct store_cursor *spare[T_COUNT];
    struct store_txn *next; /* cached only: next in store->readers */
};

struct store_cursor {
    store_txn *txn;
    enum store_table tab;
    void *handle; /* backend cursor */
};

struct store_job {
    store_job_fn fn;
    store_done_fn done;
    void *arg;
    int rc;
    unsigned flags; /* STORE_JOB_RERUNNABLE or 0 */
    int sync;     /* 1 for store_run: the caller waits on done_cv */
    int finished; /* sync only: set once rc is final */
    struct store_job *next;
};

struct store {
    uint64_t id; /* unique in the process, never reused; keys the read cache */
    const struct store_backend *be;
    void *env;
    int read_only;
    unsigned max_batch;
    unsigned defer_min_queued; /* store_options.defer_min_queued, default applied */
    unsigned gather_usec;      /* store_options.gather_usec, default applied */
    struct event_base *base;

    /* Completion hand-off: the writer writes to wake_fd (an eventfd) and
     * wake_ev, registered on `base`, runs the completions on the loop. */
    int wake_fd;
    struct event *wake_ev;

    /* The loop thread's cached read transaction stays open after
     * store_read_end ("parked"). unpark_ev, activated when it parks, resets
     * it at the end of the loop iteration. Used by the loop thread alone. */
    pthread_t loop_thread;
    struct event *unpark_ev; /* NULL without `base` or backend support */
    store_txn *parked;

    pthread_t writer;
    int writer_started;
    /* Used by the writer thread alone: 1 after a flat batch had to run
     * again, until a batch runs with no job that fails after writing. */
    int flat_paused;

    /* `mu` guards every field below. */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* the writer waits here for jobs or a probe */
    pthread_cond_t done_cv; /* store_run callers wait here for their job */
    struct store_job *pending, *pending_tail;
    uint64_t pending_count;
    uint64_t in_flight; /* see store_stats.in_flight */
    struct store_job *completed, *completed_tail;
    int wake_sent;                    /* wake_fd written and not yet drained by the loop */
    int closing;                      /* store_close has begun: reject new jobs */
    int probe_requested;              /* store_writable wants the writer to test a write begin */
    int writable;                     /* outcome of the latest write begin and commit */
    struct timespec last_write_check; /* CLOCK_MONOTONIC of that outcome */
    store_stats stats;
    store_txn *readers; /* cached read transactions, at most one per thread */
};

/* store_writer.c */
int store_writer_start(store *s);
/* Rejects new jobs, lets the writer drain the queue, joins it and runs every
 * completion still waiting, on the calling thread. */
void store_writer_stop(store *s);

/* store.c: the result a write transaction must report for a job that
 * returned `rc`: the first backend failure recorded on `t` overrides 0. */
int store_txn_job_result(const store_txn *t, int rc);

#endif
