/* The key-value store behind every piece of persistent state.
 *
 * The interface is ordered keys and byte values in named tables, with
 * read transactions on the caller's thread and write jobs that run on one
 * writer thread. The writer runs every queued job inside one write
 * transaction, each job in its own nested transaction so that a failing job
 * rolls back alone (or, for jobs that allow it, flat with a rerun on
 * failure: STORE_JOB_RERUNNABLE), and commits once (group commit). Only after that commit
 * has reached disk does it hand each job's completion back to the event loop,
 * so a reply sent from a completion callback describes a durable write.
 *
 * The LMDB backend is the default. Backends sit behind struct store_backend
 * (store_backend.h) so that another engine can be added without touching
 * callers.
 *
 * Threads and shutdown, for `idgate serve`:
 *   - store_open, store_submit and store_close run on the event loop thread
 *     (the thread that runs `base`). Completions run on that thread too.
 *   - Read transactions work on any thread. Each thread keeps one cached
 *     read transaction per store: store_read_end resets it and the thread's
 *     next store_read_begin renews it, so reads allocate nothing after the
 *     first. On the loop thread store_read_end leaves it open until the end
 *     of the loop iteration, and a store_read_begin before then keeps its
 *     snapshot when no commit landed since. A nested store_read_begin on
 *     the same thread gets a separate, uncached transaction. Each cached
 *     transaction keeps one LMDB reader slot until store_close.
 *   - Job functions run on the writer thread; store_run blocks its caller
 *     until the job's batch has committed. store_writable and
 *     store_get_stats are safe on any thread.
 *   - The writer hands completions to the loop through an eventfd watched
 *     by an event on `base`, so the store itself needs no libevent thread
 *     support (evthread_use_pthreads).
 *   - Shutdown: stop accepting requests, run the loop until in-flight
 *     requests have their replies (store_stats.in_flight reaches 0 once
 *     every submitted job's completion has run; queue_depth alone misses a
 *     batch that is committing), then call store_close on the loop thread
 *     before event_base_free and before freeing anything a completion's
 *     `arg` refers to. store_close commits every job still queued
 *     and runs the remaining completions inside store_close, on the calling
 *     thread, in submission order; none runs afterwards. A completion that
 *     calls store_submit during store_close gets STORE_CLOSED. Do not call
 *     store_close from a completion callback, and end every read
 *     transaction (on every thread) before calling it.
 * A command-line tool may open the same store while the server runs: LMDB's
 * lock file serializes the two processes' writers.
 *
 * Key layouts (all ids are 36-character lowercase UUID strings; ACC is the
 * account id, `+` is concatenation, `\0` a zero byte):
 *   T_META            name -> value; the store itself keeps STORE_SCIM_KEYS_GENERATION
 *                     here (see store_table_generation), sign-in keeps its sealed
 *                     cookie keys under "oidc:login_keys" (src/oidc/login_keys.h),
 *                     and "scim:index_fold" records the fold of the name and
 *                     email keys (scim_store_refold)
 *   T_ACCOUNTS        ACC -> account JSON
 *   T_DOMAINS         lowercased domain -> JSON {account, domain, token, verified, ...} of
 *                     the account that verified it. Older stores, and account create
 *                     with a domain, may also keep one unverified claim here.
 *   T_ACCOUNT_DOMAINS ACC + lowercased domain -> the account's claim JSON (same fields;
 *                     any number of accounts may hold an unverified claim), or "" when
 *                     the claim is the record in T_DOMAINS
 *   T_SCIM_KEYS       SHA-256(token), 32 bytes -> key JSON {id, account, prefix, created, last_used, revoked}
 *   T_SCIM_KEY_IDS    ACC + key id -> SHA-256(token)
 *   T_ADMIN_TOKENS    SHA-256(token) -> JSON {id, account or null for an operator, created}
 *   T_USERS           ACC + user id -> user JSON (without "groups")
 *   T_USER_NAMES      ACC + folded userName (casefold.h) -> user id (unique)
 *   T_USER_EXTIDS     ACC + externalId + \0 + user id -> ""
 *   T_USER_EMAILS     ACC + folded email + \0 + user id -> ""
 *   T_GROUPS          ACC + group id -> group JSON (without "members")
 *   T_GROUP_NAMES     ACC + folded displayName -> group id (unique)
 *   T_GROUP_EXTIDS    ACC + externalId + \0 + group id -> ""
 *   T_MEMBERS         ACC + group id + user id -> ""
 *   T_MEMBER_OF       ACC + user id + group id -> ""
 *   T_COUNTERS        name (for example ACC + "members:" + group id) -> uint64_t, host order
 *   T_IDPS            ACC -> identity-provider settings JSON (secret encrypted)
 *   T_ISSUERS         issuer URL, exactly as configured -> ACC
 *   T_LOGINS          SHA-256(state) -> JSON {account, expires} of a state that signed in
 *                     (older versions stored the login transaction JSON here)
 *   T_SESSIONS        SHA-256(session id) -> session JSON
 *   T_USER_SESSIONS   ACC + user id + SHA-256(session id) -> ""
 *   T_TOKENS_SEEN     SHA-256(ID token) -> expiry (int64_t, host order)
 *   T_TIER_MAPS       ACC + group id -> mapping JSON {tier, created}
 *   T_USER_TIERS      ACC + user id -> tier name
 *   T_AUDIT           ACC + 8-byte big-endian microseconds + 4-byte big-endian sequence -> event JSON
 *   T_SUBJECTS        ACC + SHA-256(issuer + \0 + sub) -> JSON {user, issuer, sub, created}:
 *                     the user that an ID token's subject signs in to
 *   T_USER_SUBJECTS   ACC + user id + SHA-256(issuer + \0 + sub) -> issuer
 */
#ifndef IDGATE_STORE_H
#define IDGATE_STORE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

enum store_table {
    T_META,
    T_ACCOUNTS,
    T_DOMAINS,
    T_ACCOUNT_DOMAINS,
    T_SCIM_KEYS,
    T_SCIM_KEY_IDS,
    T_ADMIN_TOKENS,
    T_USERS,
    T_USER_NAMES,
    T_USER_EXTIDS,
    T_USER_EMAILS,
    T_GROUPS,
    T_GROUP_NAMES,
    T_GROUP_EXTIDS,
    T_MEMBERS,
    T_MEMBER_OF,
    T_COUNTERS,
    T_IDPS,
    T_ISSUERS,
    T_LOGINS,
    T_SESSIONS,
    T_USER_SESSIONS,
    T_TOKENS_SEEN,
    T_TIER_MAPS,
    T_USER_TIERS,
    T_AUDIT,
    T_SUBJECTS,
    T_USER_SUBJECTS,
    T_COUNT
};

/* Length of every id used in keys. */
#define STORE_ID_LEN 36

/* Maximum key length in bytes (LMDB's default limit). */
#define STORE_MAX_KEY 511
/* store_options defaults. */
#define STORE_DEFAULT_MAP_SIZE ((size_t)1 << 30)
#define STORE_DEFAULT_MAX_BATCH 256
/* A commit may defer its meta-page flush to the next commit when at least
 * this many jobs (or a full batch, if max_batch is smaller) are queued.
 * Deferring saves the writer one device wait per commit, but the deferred
 * batch's replies wait for the whole next commit. By default no commit
 * defers. Through the whole server, 64 clients creating users got 1.10
 * times the creates a second without deferring (geometric mean of 4
 * alternating rounds, ahead in all), and the 8-connection sync burst took
 * as long. bench/store_bench --compare-defer, whose jobs are resubmitted
 * the moment they complete, still favours deferring from 1 (1.09 times
 * with 64 in flight); docs/store.md has the figures. */
#define STORE_DEFAULT_DEFER_MIN_QUEUED UINT_MAX
/* After a batch of 16 jobs or more, the writer waits up to this long for at
 * least half as many jobs to queue before it takes the next batch. Under
 * load the replies of a large batch bring their clients' next requests a
 * few hundred microseconds later. A batch taken at once would hold only
 * the few jobs already queued, and those requests would wait for its whole
 * commit. 64 clients creating users through the server, with deferring
 * off: 1.10 times the creates a second with 200 us (5 alternating rounds,
 * ahead in all, p99 lower in all); docs/store.md has the figures. */
#define STORE_DEFAULT_GATHER_USEC 200

/* Error codes. Functions return 0 on success or one of these. */
#define STORE_OK 0
#define STORE_NOTFOUND (-1)  /* no such key, or the cursor is past the end */
#define STORE_EXISTS (-2)    /* STORE_NOOVERWRITE and the key exists */
#define STORE_FULL (-3)      /* the map size is exhausted */
#define STORE_IO (-4)        /* disk or backend failure */
#define STORE_NOMEM (-5)
#define STORE_CLOSED (-6)    /* the store is shutting down and accepts no jobs */
#define STORE_INVALID (-7)   /* bad argument, such as an empty or too long key */
#define STORE_RDONLY (-8)    /* a write on a read transaction */

/* Flags for store_put. */
#define STORE_NOOVERWRITE 0x1

typedef struct store store;
typedef struct store_txn store_txn;
typedef struct store_cursor store_cursor;

/* A borrowed byte range. Values returned by the store point into the
 * backend's memory and are valid only until the transaction that returned
 * them ends (or, in a write transaction, until the next write to that
 * key): copy what must outlive it. */
typedef struct store_val {
    const void *data;
    size_t len;
} store_val;

typedef struct store_options {
    const char *path;        /* directory holding the store; created if missing */
    size_t map_size;         /* bytes; the most the store can ever hold; 0 means 1 GiB.
                              * Every process opening the store should use the same. */
    unsigned max_batch;      /* maximum jobs in one commit; 0 means the default (256) */
    unsigned defer_min_queued; /* queued jobs from which a commit defers its meta-page
                                * flush to the next commit; 0 means the default,
                                * UINT_MAX (never) */
    unsigned gather_usec;      /* maximum microseconds the writer waits for a batch to
                                * gather after a large one; 0 means the default (200),
                                * and UINT_MAX means it never waits */
    int read_only;           /* 1 for tools that only read */
} store_options;

/* Commit statistics, for /metrics. Counters only grow (queue_depth aside).
 * `jobs` counts every job the writer ran, `commits` the batches that
 * committed, `failed_commits` those whose begin or commit failed. The commit
 * time is the top-level commit call alone (writing pages and the fsync),
 * recorded for successful commits. */
typedef struct store_stats {
    uint64_t commits;
    uint64_t jobs;
    uint64_t failed_commits;
    uint64_t queue_depth;            /* jobs waiting now */
    uint64_t batch_hist[8];          /* batch sizes: <=1, <=2, <=4, <=8, <=16, <=64, <=256, more */
    uint64_t commit_usec_hist[8];    /* commit times: <=100us, <=500us, <=1ms, <=5ms, <=10ms, <=50ms, <=100ms, more */
    uint64_t commit_usec_sum;
    uint64_t in_flight;              /* jobs submitted whose completion has not run yet, or
                                      * whose store_run has not returned; 0 means idle */
    uint64_t syncs;                  /* flushes made only to make earlier commits durable,
                                      * when no queued batch would flush them */
    uint64_t flat_batches;           /* batches whose jobs ran without nested transactions
                                      * (STORE_JOB_RERUNNABLE) */
    uint64_t reruns;                 /* of those, batches aborted because a job failed after
                                      * writing, and run again with nested transactions */
    uint64_t run_usec_sum;           /* time spent running jobs, reruns included */
} store_stats;

const char *store_strerror(int err);

/* Opens (creating if needed) the store and starts its writer thread.
 * With `base` non-NULL, job completions run on that event loop's thread;
 * with `base` NULL (command-line tools) store_submit is unavailable and
 * writes go through store_run. Returns 0 and sets `*out`, or an error.
 * With opt->read_only the store must exist, no writer starts, and every
 * write returns STORE_RDONLY. LMDB forbids opening one directory twice in
 * one process at a time (nothing here checks it); another process may. */
int store_open(const store_options *opt, struct event_base *base, store **out);

/* Stops accepting jobs, runs and commits every job already queued, delivers
 * their completions if the event loop is still running, joins the writer and
 * closes the backend. NULL is allowed. */
void store_close(store *s);

/* 1 when the store is open, not closing, and a write transaction could be
 * started at the latest check. Never blocks: the result is the outcome of
 * the latest batch or test, and a call more than a second after that makes
 * the writer test again in the background. A full map still counts as
 * writable. */
int store_writable(store *s);

void store_get_stats(store *s, store_stats *out);

/* Read transactions, for the thread that calls them. Each must end with
 * store_read_end on the same thread. A read returns the data as of its
 * begin, including commits of other processes. */
int store_read_begin(store *s, store_txn **out);
void store_read_end(store_txn *t);

/* Point operations, valid on read and write transactions (writes on write
 * transactions only). Keys are 1 to 511 bytes. */
int store_get(store_txn *t, enum store_table tab, const void *key, size_t klen, store_val *out);
int store_put(store_txn *t, enum store_table tab, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned flags);
/* STORE_NOTFOUND when the key was absent. */
int store_del(store_txn *t, enum store_table tab, const void *key, size_t klen);

/* Ordered iteration, bytewise by key. A cursor lives no longer than its
 * transaction: close every cursor before ending the transaction (and before
 * a job returns). */
int store_cursor_open(store_txn *t, enum store_table tab, store_cursor **out);
/* Positions at the first key >= `key` and returns it, or STORE_NOTFOUND.
 * `klen` 0 positions at the first key of the table. `k` and `v` may be
 * NULL. */
int store_cursor_seek(store_cursor *c, const void *key, size_t klen, store_val *k, store_val *v);
int store_cursor_next(store_cursor *c, store_val *k, store_val *v);
/* Reverse iteration. store_cursor_seek_before positions at the last key
 * < `key` and returns it, or STORE_NOTFOUND; `klen` 0 positions at the
 * last key of the table. store_cursor_seek_last_prefix positions at the
 * last key that starts with `prefix` (`plen` 0: the last key of the table)
 * and returns it, or STORE_NOTFOUND when no key has that prefix.
 * store_cursor_prev moves to the previous key, STORE_NOTFOUND before the
 * first. `k` and `v` may be NULL. */
int store_cursor_seek_before(store_cursor *c, const void *key, size_t klen, store_val *k,
                             store_val *v);
int store_cursor_seek_last_prefix(store_cursor *c, const void *prefix, size_t plen, store_val *k,
                                  store_val *v);
int store_cursor_prev(store_cursor *c, store_val *k, store_val *v);
/* Deletes the entry under the cursor (write transactions only); the next
 * store_cursor_next returns the entry that followed it. */
int store_cursor_del(store_cursor *c);
void store_cursor_close(store_cursor *c);

/* The change counter of T_SCIM_KEYS and T_SCIM_KEY_IDS, a uint64_t in host
 * order in T_META. Every write transaction that puts or deletes in either
 * table increments it once, in whichever process writes, so a value
 * derived from those tables stays valid while the counter read in the same
 * read transaction is unchanged. */
#define STORE_SCIM_KEYS_GENERATION "scim_keys_generation"

/* Reads the change counter of `tab` into `*out` (0 when nothing ever
 * changed). Only T_SCIM_KEYS and T_SCIM_KEY_IDS have one (the same one);
 * other tables return STORE_INVALID. */
int store_table_generation(store_txn *t, enum store_table tab, uint64_t *out);

/* A number that identifies the store `t` belongs to, unique in the process
 * and never reused, so that a cache can tell stores apart. */
uint64_t store_txn_store_id(const store_txn *t);

/* Sets `*out` to the id of the committed state that the read transaction
 * `t` reads. Two read transactions of one store with the same id see the
 * same data, in this process or another, so a cache of what one read can
 * serve the other. Returns 0, or STORE_INVALID for a write transaction
 * (whose changes may still roll back) or a backend without ids. */
int store_txn_snapshot(const store_txn *t, uint64_t *out);

/* Counts keys that start with `prefix` (a cursor walk). */
int store_count_prefix(store_txn *t, enum store_table tab, const void *prefix, size_t plen,
                       uint64_t *out);

/* Adds `delta` to the uint64_t counter at `key` in T_COUNTERS (a missing
 * counter is 0; a counter that reaches 0 is deleted) and returns the new
 * value in `*out` when it is not NULL. A result below 0 is stored as 0 and
 * logged as a warning. */
int store_counter_add(store_txn *t, const void *key, size_t klen, int64_t delta, uint64_t *out);
int store_counter_get(store_txn *t, const void *key, size_t klen, uint64_t *out);

/* A write job runs on the writer thread inside a nested write transaction,
 * or directly in the batch's transaction when submitted with
 * STORE_JOB_RERUNNABLE. Returning nonzero rolls back this job's changes
 * only; the value is passed to its completion. It must not touch the event loop or request state:
 * it reads `arg` and writes its results into `arg`, copying any store_val it
 * needs afterwards. */
typedef int (*store_job_fn)(store_txn *t, void *arg);
/* A completion runs on the event loop thread after the batch that held the
 * job has committed durably (rc is the job's own return) or failed to commit
 * (rc is a STORE_* error and none of the job's writes persisted). */
typedef void (*store_done_fn)(int rc, void *arg);

/* Queues a job. Returns 0, or STORE_CLOSED once shutdown has begun, in which
 * case neither callback runs. Callable from the event loop thread only.
 * STORE_INVALID when the store was opened without a base, STORE_RDONLY when
 * read-only. `done` may be NULL. `arg` must stay valid until the completion
 * has run: a request that can end first (a client disconnect) needs its own
 * reference that the completion checks and drops. */
int store_submit(store *s, store_job_fn fn, store_done_fn done, void *arg);

/* Flags for store_submit_flags. */
/* The job may run more than once before its completion, and only the writes
 * of its last run persist. So every run must set all of the job's outputs in
 * `arg`, freeing what an earlier run allocated, and must leave its inputs as
 * they were. Nothing outside the store and `arg` may change in a way that a
 * second run repeats, except log lines and new ids or clock readings. A
 * batch made only of such jobs runs without a nested transaction per job.
 * When one of them fails after writing, the writer aborts the batch and runs
 * it again with a nested transaction per job, so every job's result is the
 * same as without the flag. */
#define STORE_JOB_RERUNNABLE 0x1

/* store_submit with flags (0 or STORE_JOB_RERUNNABLE). */
int store_submit_flags(store *s, store_job_fn fn, store_done_fn done, void *arg, unsigned flags);

/* Runs one job in its own nested write transaction and commits it durably
 * (possibly in one batch with queued jobs) before returning the job's result
 * (or a commit error). Blocks the caller: for command-line tools, start-up
 * and tests, never on the event loop and never from a job (STORE_INVALID).
 * STORE_CLOSED once store_close has begun. */
int store_run(store *s, store_job_fn fn, void *arg);

#endif
