/* The operations a storage engine provides to the store front end (store.c).
 *
 * The front end owns everything engine-independent: argument checks, the
 * per-thread read transaction cache, the writer thread with its job queue
 * and group commit, the hand-off of completions to the event loop, counters
 * and statistics. A backend only maps the calls below onto its engine.
 *
 * Handles are opaque to the front end: `env` is whatever env_open returned,
 * a transaction handle is whatever txn_begin returned, a cursor handle is
 * whatever cursor_open returned. Every function that can fail returns 0 or a
 * STORE_* code from store.h (never an engine-specific code), so callers can
 * compare results against STORE_NOTFOUND, STORE_EXISTS and STORE_FULL.
 *
 * Threads: the front end calls env_open and env_close on one thread with no
 * transaction active. A write transaction and its nested children are used
 * by the writer thread only. A read transaction is used by one thread at a
 * time. The front end resets and renews it on its thread, but store_close
 * may abort a reset one on any thread. So the engine must not tie
 * transactions to threads (LMDB: MDB_NOTLS).
 *
 * Only one write transaction (with its children) exists per env at a time;
 * the front end guarantees that.
 */
#ifndef IDGATE_STORE_BACKEND_H
#define IDGATE_STORE_BACKEND_H

#include "store.h"

/* Flags for txn_begin. */
#define STORE_TXN_RDONLY 0x1

struct store_backend {
    /* Engine name for logs, for example "lmdb". */
    const char *name;

    /* Opens or creates the store at opt->path with every table of
     * enum store_table, and sets `*env`. With opt->read_only the store
     * must already exist with every table: STORE_NOTFOUND otherwise.
     * opt->map_size is never 0 here (the front end applies the default). */
    int (*env_open)(const store_options *opt, void **env);
    /* Closes the env. Every transaction has been ended before this call. */
    void (*env_close)(void *env);

    /* Begins a transaction and sets `*txn`. `flags` is 0 or
     * STORE_TXN_RDONLY. `parent` is NULL, or (with `flags` 0) a write
     * transaction of the same env. With a parent the result is a nested
     * transaction: its commit merges its changes into the parent and its
     * abort discards them alone. The parent is not used until the child
     * ends. */
    int (*txn_begin)(void *env, void *parent, unsigned flags, void **txn);
    /* Commits and ends the transaction; on error it is ended all the same
     * and nothing of it persists. Committing a top-level write transaction
     * returns only once its changes are durable on disk. */
    int (*txn_commit)(void *txn);
    /* Optional pair; when both are set, the front end commits top-level
     * write transactions with txn_commit_top instead of txn_commit.
     * With `defer` 0 it is txn_commit: the commit is durable when it returns
     * 0. With `defer` 1 the engine may leave the commit's last step
     * unflushed (LMDB writes the meta page without flushing it), so the
     * commit is atomic and visible to readers when it returns 0 but durable
     * only after a later flush of the store. In both modes `*flushed` is set
     * to 1 when the call flushed the store after every earlier commit had
     * been written, which makes all those earlier commits durable (the
     * engine may also count a flush that another process made after this
     * transaction began), and to 0 otherwise (a failed commit, or one that
     * wrote nothing). env_sync flushes the store, which makes every commit
     * that has returned durable. */
    int (*txn_commit_top)(void *txn, int defer, int *flushed);
    int (*env_sync)(void *env);
    /* Discards and ends the transaction. */
    void (*txn_abort)(void *txn);
    /* Optional (NULL when the engine lacks them): txn_reset releases a read
     * transaction's snapshot but keeps the handle, and txn_renew takes a
     * fresh snapshot on it, so that a thread can reuse one read handle
     * without allocating. A reset handle is ended with txn_abort. */
    void (*txn_reset)(void *txn);
    int (*txn_renew)(void *txn);
    /* Optional: the id of the snapshot a read transaction reads. Two read
     * transactions with the same id read the same data. */
    uint64_t (*txn_id)(void *txn);
    /* Optional: the id of the latest committed transaction in the store,
     * in any process, which is the id of the snapshot that a read
     * transaction beginning now would read. */
    uint64_t (*env_last_txn)(void *env);

    /* Point operations. The front end has checked that keys are 1 to
     * STORE_MAX_KEY bytes and that writes use a write transaction. Values
     * returned through `val` stay valid as store.h describes for store_val.
     * put takes STORE_NOOVERWRITE and returns STORE_EXISTS when it applies;
     * get and del return STORE_NOTFOUND for a missing key. */
    int (*get)(void *txn, enum store_table tab, const store_val *key, store_val *val);
    int (*put)(void *txn, enum store_table tab, const store_val *key, const store_val *val,
               unsigned flags);
    int (*del)(void *txn, enum store_table tab, const store_val *key);

    /* Cursors over one table in key order (bytewise, shorter key first on
     * a common prefix). A cursor is closed before its transaction ends. */
    int (*cursor_open)(void *txn, enum store_table tab, void **cursor);
    /* Positions at the first key >= `key`, or at the first key of the
     * table when `key` is NULL, and returns that entry; STORE_NOTFOUND when
     * there is none. */
    int (*cursor_seek)(void *cursor, const store_val *key, store_val *k, store_val *v);
    /* Moves to the next entry (the first one on a cursor never positioned)
     * and returns it; STORE_NOTFOUND past the end. */
    int (*cursor_next)(void *cursor, store_val *k, store_val *v);
    /* Deletes the entry under the cursor; the following cursor_next returns
     * the entry after the deleted one. */
    int (*cursor_del)(void *cursor);
    void (*cursor_close)(void *cursor);
    /* Optional: binds a cursor opened in a read transaction to the read
     * transaction `txn`, unpositioned, so that it serves again without a
     * new open. Such a cursor may stay open after its transaction ends
     * while it waits for this, and is still closed with cursor_close. */
    int (*cursor_renew)(void *txn, void *cursor);

    /* Reverse iteration; optional (NULL when the engine lacks it, and the
     * front end then returns STORE_INVALID). cursor_seek_before positions
     * at the last key < `key`, or at the last key of the table when `key`
     * is NULL, and returns that entry; STORE_NOTFOUND when there is none.
     * cursor_prev moves to the previous entry and returns it;
     * STORE_NOTFOUND before the first. */
    int (*cursor_seek_before)(void *cursor, const store_val *key, store_val *k, store_val *v);
    int (*cursor_prev)(void *cursor, store_val *k, store_val *v);
};

/* The LMDB backend (store_lmdb.c), the default. */
extern const struct store_backend store_lmdb_backend;

/* Opens a store on `backend` (which must outlive the store); otherwise the
 * same as store_open, which calls this with &store_lmdb_backend. */
int store_open_backend(const store_options *opt, const struct store_backend *backend,
                       struct event_base *base, store **out);

#endif
