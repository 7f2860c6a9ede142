/* The store front end: opening and closing, read transactions with a
 * per-thread cache, and the point, cursor and counter operations, each
 * checked here and dispatched to the backend (store_backend.h). The writer
 * thread and job queue live in store_writer.c. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "store_internal.h"

/* Each thread keeps the read transaction it used last, reset, and renews it
 * on its next store_read_begin for the same store instead of allocating a
 * new one. Store ids are never reused, so a cache entry left behind by a
 * closed store can never match a later one; the transaction itself is owned
 * and freed by its store (store->readers). On the loop thread the
 * transaction is parked instead of reset (see store_read_end). */
struct read_cache {
    uint64_t store_id;
    store_txn *txn;
};

static _Thread_local struct read_cache read_cache;
static atomic_uint_fast64_t next_store_id = 1;

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_OK:
        return "success";
    case STORE_NOTFOUND:
        return "not found";
    case STORE_EXISTS:
        return "key already exists";
    case STORE_FULL:
        return "store is full (raise the map size)";
    case STORE_IO:
        return "store input/output error";
    case STORE_NOMEM:
        return "out of memory";
    case STORE_CLOSED:
        return "store is closed";
    case STORE_INVALID:
        return "invalid argument";
    case STORE_RDONLY:
        return "store is read-only";
    default:
        return "unknown store error";
    }
}

static void store_free(store *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->done_cv);
    free(s);
}

/* Resets the loop thread's parked read transaction, at the end of the loop
 * iteration that parked it, so that no snapshot stays pinned while the
 * loop waits. A pinned snapshot would keep the writer from reusing the pages
 * that later commits free. */
static void on_unpark(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    store_txn *t = s->parked;

    (void)fd;
    (void)what;
    s->parked = NULL;
    if (t && t->parked) {
        t->parked = 0;
        s->be->txn_reset(t->handle);
    }
}

int store_open(const store_options *opt, struct event_base *base, store **out)
{
    return store_open_backend(opt, &store_lmdb_backend, base, out);
}

int store_open_backend(const store_options *opt, const struct store_backend *backend,
                       struct event_base *base, store **out)
{
    store_options o;
    store *s;
    int rc;

    if (!opt || !opt->path || !*opt->path || !backend || !out)
        return STORE_INVALID;
    o = *opt;
    if (o.map_size == 0)
        o.map_size = STORE_DEFAULT_MAP_SIZE;
    s = calloc(1, sizeof(*s));
    if (!s)
        return STORE_NOMEM;
    s->id = atomic_fetch_add(&next_store_id, 1);
    s->be = backend;
    s->read_only = o.read_only;
    s->max_batch = o.max_batch ? o.max_batch : STORE_DEFAULT_MAX_BATCH;
    s->defer_min_queued = o.defer_min_queued ? o.defer_min_queued : STORE_DEFAULT_DEFER_MIN_QUEUED;
    s->gather_usec = o.gather_usec ? o.gather_usec : STORE_DEFAULT_GATHER_USEC;
    s->base = base;
    s->wake_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    /* The writer's timed waits for a batch to gather measure time on the
     * monotonic clock, which a change of the wall clock does not move. */
    {
        pthread_condattr_t attr;

        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&s->work_cv, &attr);
        pthread_condattr_destroy(&attr);
    }
    pthread_cond_init(&s->done_cv, NULL);

    rc = s->be->env_open(&o, &s->env);
    if (rc) {
        store_free(s);
        return rc;
    }
    if (base && s->be->env_last_txn && s->be->txn_id && s->be->txn_reset && s->be->txn_renew) {
        /* store_open runs on the loop thread. Without the event the
         * transaction is reset at once, as on other threads. */
        s->loop_thread = pthread_self();
        s->unpark_ev = event_new(base, -1, 0, on_unpark, s);
    }
    s->writable = !s->read_only;
    clock_gettime(CLOCK_MONOTONIC, &s->last_write_check);
    if (!s->read_only) {
        rc = store_writer_start(s);
        if (rc) {
            if (s->unpark_ev)
                event_free(s->unpark_ev);
            s->be->env_close(s->env);
            store_free(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

/* Ends every cached read transaction of `s`. Their threads have finished
 * their reads (store_close's contract), so each one is only reset. */
static void drop_read_cache(store *s)
{
    store_txn *t = s->readers;

    while (t) {
        store_txn *next = t->next;

        if (t->active)
            log_msgf(LOG_WARN, "store: a read transaction was still open at close");
        for (int i = 0; i < T_COUNT; i++) {
            if (t->spare[i]) {
                s->be->cursor_close(t->spare[i]->handle);
                free(t->spare[i]);
            }
        }
        s->be->txn_abort(t->handle);
        free(t);
        t = next;
    }
    s->readers = NULL;
    if (read_cache.store_id == s->id)
        read_cache = (struct read_cache){0, NULL};
}

void store_close(store *s)
{
    if (!s)
        return;
    if (!s->read_only)
        store_writer_stop(s);
    if (s->unpark_ev)
        event_free(s->unpark_ev);
    s->unpark_ev = NULL;
    s->parked = NULL;
    drop_read_cache(s);
    s->be->env_close(s->env);
    store_free(s);
}

/* Makes the calling thread's idle cached transaction `t` read the latest
 * commit. A parked transaction is kept as it is when no commit landed since
 * its snapshot. That saves LMDB's renew and the reload of each table's root
 * on first use, about 2,300 of a userName filter's 41,700 instructions. */
static int txn_resume(store *s, store_txn *t)
{
    if (t->parked) {
        t->parked = 0;
        if (s->be->env_last_txn(s->env) == s->be->txn_id(t->handle))
            return 0;
        s->be->txn_reset(t->handle);
    }
    return s->be->txn_renew(t->handle);
}

/* Finds the calling thread's idle cached transaction in `s`, or creates and
 * registers one. Runs only when the thread-local cache misses. */
static int cached_txn_lookup(store *s, store_txn **out)
{
    pthread_t self = pthread_self();
    store_txn *t;
    int rc;

    pthread_mutex_lock(&s->mu);
    for (t = s->readers; t; t = t->next)
        if (pthread_equal(t->owner, self) && !t->active)
            break;
    pthread_mutex_unlock(&s->mu);
    if (t) {
        rc = txn_resume(s, t);
        if (rc)
            return rc;
        goto out;
    }

    t = calloc(1, sizeof(*t));
    if (!t)
        return STORE_NOMEM;
    rc = s->be->txn_begin(s->env, NULL, STORE_TXN_RDONLY, &t->handle);
    if (rc) {
        free(t);
        return rc;
    }
    t->store = s;
    t->cached = 1;
    t->owner = self;
    pthread_mutex_lock(&s->mu);
    t->next = s->readers;
    s->readers = t;
    pthread_mutex_unlock(&s->mu);
out:
    t->active = 1;
    read_cache = (struct read_cache){s->id, t};
    *out = t;
    return 0;
}

/* A read transaction outside the cache, for a thread that nests reads or
 * for a backend without reset and renew. store_read_end aborts and frees
 * it. */
static int uncached_txn_begin(store *s, store_txn **out)
{
    store_txn *t = calloc(1, sizeof(*t));
    int rc;

    if (!t)
        return STORE_NOMEM;
    rc = s->be->txn_begin(s->env, NULL, STORE_TXN_RDONLY, &t->handle);
    if (rc) {
        free(t);
        return rc;
    }
    t->store = s;
    *out = t;
    return 0;
}

int store_read_begin(store *s, store_txn **out)
{
    store_txn *t = read_cache.txn;
    int rc;

    if (!s || !out)
        return STORE_INVALID;
    if (!s->be->txn_reset || !s->be->txn_renew)
        return uncached_txn_begin(s, out);
    if (read_cache.store_id != s->id)
        return cached_txn_lookup(s, out);
    if (t->active)
        return uncached_txn_begin(s, out);
    rc = txn_resume(s, t);
    if (rc)
        return rc;
    t->active = 1;
    *out = t;
    return 0;
}

void store_read_end(store_txn *t)
{
    if (!t)
        return;
    if (t->cached) {
        store *s = t->store;

        t->active = 0;
        /* On the loop thread the snapshot stays open until the end of the
         * loop iteration, for the next request's read (txn_resume). */
        if (s->unpark_ev && pthread_equal(t->owner, s->loop_thread)) {
            /* At most one transaction stays parked. The loop thread has a
             * second cached one of this store when a read of another store
             * sits between two nested reads of this one. */
            store_txn *old = s->parked;
            if (old && old != t && old->parked) {
                old->parked = 0;
                s->be->txn_reset(old->handle);
            }
            t->parked = 1;
            s->parked = t;
            event_active(s->unpark_ev, EV_TIMEOUT, 1);
            return;
        }
        s->be->txn_reset(t->handle);
        return;
    }
    t->store->be->txn_abort(t->handle);
    free(t);
}

static int check_key(size_t klen)
{
    return (klen == 0 || klen > STORE_MAX_KEY) ? STORE_INVALID : 0;
}

/* Records the first hard failure of a write transaction, so that a job that
 * ignores it still rolls back with that error (store_txn_job_result). */
static int note_write_error(store_txn *t, int rc)
{
    if (rc && rc != STORE_NOTFOUND && rc != STORE_EXISTS && !t->error)
        t->error = rc;
    return rc;
}

/* Counts a successful put or delete, so that the writer can tell whether a
 * failed job changed the transaction it ran in. */
static int note_write(store_txn *t, int rc)
{
    if (rc == 0)
        t->writes++;
    return rc;
}

int store_txn_job_result(const store_txn *t, int rc)
{
    return rc == 0 ? t->error : rc;
}

/* T_META names of the tables' change counters (store_table_generation);
 * NULL for tables without one. */
static const char *const generation_names[T_COUNT] = {
    [T_SCIM_KEYS] = STORE_SCIM_KEYS_GENERATION,
    [T_SCIM_KEY_IDS] = STORE_SCIM_KEYS_GENERATION,
};

static int read_generation(store_txn *t, const char *name, uint64_t *out)
{
    store_val k = {name, strlen(name)};
    store_val v;
    int rc = t->store->be->get(t->handle, T_META, &k, &v);

    *out = 0;
    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.len != sizeof(*out))
        return STORE_IO;
    memcpy(out, v.data, sizeof(*out));
    return 0;
}

/* Increments the change counter of `tab`, once per write transaction.
 * The tables that have one share a single counter, so one increment is
 * enough to show readers that something in them changed. */
static int bump_generation(store_txn *t, enum store_table tab)
{
    const char *name = generation_names[tab];
    uint64_t n;
    store_val k, v = {&n, sizeof(n)};
    int rc;

    if (!name || t->generation_bumped)
        return 0;
    rc = read_generation(t, name, &n);
    if (rc)
        return rc;
    n++;
    k = (store_val){name, strlen(name)};
    rc = t->store->be->put(t->handle, T_META, &k, &v, 0);
    if (rc == 0)
        t->generation_bumped = 1;
    return rc;
}

/* A read transaction keeps the counter it read with the id of its
 * snapshot. The thread's cached read transaction is renewed for each
 * request, and while no commit lands in between, its snapshot id stays the
 * same and the counter needs no lookup (about 1,100 instructions per SCIM
 * request, callgrind). Only the key tables have a counter, so one value is
 * kept. */
int store_table_generation(store_txn *t, enum store_table tab, uint64_t *out)
{
    uint64_t snapshot;
    int rc;

    if (!t || (unsigned)tab >= T_COUNT || !out || !generation_names[tab])
        return STORE_INVALID;
    if (t->write || !t->store->be->txn_id)
        return read_generation(t, generation_names[tab], out);
    snapshot = t->store->be->txn_id(t->handle);
    if (t->gen_valid && t->gen_snapshot == snapshot) {
        *out = t->gen_value;
        return 0;
    }
    rc = read_generation(t, generation_names[tab], out);
    t->gen_valid = rc == 0;
    t->gen_snapshot = snapshot;
    t->gen_value = *out;
    return rc;
}

uint64_t store_txn_store_id(const store_txn *t)
{
    return t ? t->store->id : 0;
}

int store_txn_snapshot(const store_txn *t, uint64_t *out)
{
    if (!t || !out || t->write || !t->store->be->txn_id)
        return STORE_INVALID;
    *out = t->store->be->txn_id(t->handle);
    return 0;
}

int store_get(store_txn *t, enum store_table tab, const void *key, size_t klen, store_val *out)
{
    store_val k = {key, klen};

    if (!t || (unsigned)tab >= T_COUNT || !out || check_key(klen))
        return STORE_INVALID;
    return t->store->be->get(t->handle, tab, &k, out);
}

int store_put(store_txn *t, enum store_table tab, const void *key, size_t klen, const void *val,
              size_t vlen, unsigned flags)
{
    store_val k = {key, klen};
    store_val v = {val, vlen};
    int rc;

    if (!t || (unsigned)tab >= T_COUNT || check_key(klen) || (!val && vlen))
        return STORE_INVALID;
    if (!t->write)
        return STORE_RDONLY;
    rc = note_write(t, t->store->be->put(t->handle, tab, &k, &v, flags));
    if (rc == 0)
        rc = bump_generation(t, tab);
    return note_write_error(t, rc);
}

int store_del(store_txn *t, enum store_table tab, const void *key, size_t klen)
{
    store_val k = {key, klen};
    int rc;

    if (!t || (unsigned)tab >= T_COUNT || check_key(klen))
        return STORE_INVALID;
    if (!t->write)
        return STORE_RDONLY;
    rc = note_write(t, t->store->be->del(t->handle, tab, &k));
    if (rc == 0)
        rc = bump_generation(t, tab);
    return note_write_error(t, rc);
}

/* A cached read transaction keeps the last cursor closed on each table and
 * renews it on the next open, which saves the backend's allocation. With
 * LMDB, a user's groups in a filter reply cost about 200 instructions less
 * this way (callgrind), and a page of 100 users opens 101 cursors. */
int store_cursor_open(store_txn *t, enum store_table tab, store_cursor **out)
{
    store_cursor *c;
    int rc;

    if (!t || (unsigned)tab >= T_COUNT || !out)
        return STORE_INVALID;
    if (t->spare[tab]) {
        c = t->spare[tab];
        t->spare[tab] = NULL;
        if (t->store->be->cursor_renew(t->handle, c->handle) == 0) {
            *out = c;
            return 0;
        }
        t->store->be->cursor_close(c->handle);
        free(c);
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return STORE_NOMEM;
    rc = t->store->be->cursor_open(t->handle, tab, &c->handle);
    if (rc) {
        free(c);
        return rc;
    }
    c->txn = t;
    c->tab = tab;
    *out = c;
    return 0;
}

int store_cursor_seek(store_cursor *c, const void *key, size_t klen, store_val *k, store_val *v)
{
    store_val sk = {key, klen};

    if (!c || klen > STORE_MAX_KEY)
        return STORE_INVALID;
    return c->txn->store->be->cursor_seek(c->handle, klen ? &sk : NULL, k, v);
}

int store_cursor_next(store_cursor *c, store_val *k, store_val *v)
{
    if (!c)
        return STORE_INVALID;
    return c->txn->store->be->cursor_next(c->handle, k, v);
}

int store_cursor_seek_before(store_cursor *c, const void *key, size_t klen, store_val *k,
                             store_val *v)
{
    store_val sk = {key, klen};

    if (!c || klen > STORE_MAX_KEY || !c->txn->store->be->cursor_seek_before)
        return STORE_INVALID;
    return c->txn->store->be->cursor_seek_before(c->handle, klen ? &sk : NULL, k, v);
}

int store_cursor_seek_last_prefix(store_cursor *c, const void *prefix, size_t plen, store_val *k,
                                  store_val *v)
{
    uint8_t bound[STORE_MAX_KEY];
    store_val found;
    size_t n = plen;
    int rc;

    if (!c || plen > STORE_MAX_KEY)
        return STORE_INVALID;
    /* The keys with the prefix end right before the smallest key that is
     * greater than all of them: the prefix with its last byte below 0xff
     * incremented and the bytes after it dropped. A prefix of only 0xff
     * bytes has no such key, so its keys run to the end of the table. */
    memcpy(bound, prefix, plen);
    while (n > 0 && bound[n - 1] == 0xff)
        n--;
    if (n > 0)
        bound[n - 1]++;
    rc = store_cursor_seek_before(c, bound, n, &found, v);
    if (rc)
        return rc;
    if (found.len < plen || memcmp(found.data, prefix, plen))
        return STORE_NOTFOUND;
    if (k)
        *k = found;
    return 0;
}

int store_cursor_prev(store_cursor *c, store_val *k, store_val *v)
{
    if (!c || !c->txn->store->be->cursor_prev)
        return STORE_INVALID;
    return c->txn->store->be->cursor_prev(c->handle, k, v);
}

int store_cursor_del(store_cursor *c)
{
    int rc;

    if (!c)
        return STORE_INVALID;
    if (!c->txn->write)
        return STORE_RDONLY;
    rc = note_write(c->txn, c->txn->store->be->cursor_del(c->handle));
    if (rc == 0)
        rc = bump_generation(c->txn, c->tab);
    return note_write_error(c->txn, rc);
}

void store_cursor_close(store_cursor *c)
{
    store_txn *t;

    if (!c)
        return;
    t = c->txn;
    if (t->cached && t->store->be->cursor_renew && !t->spare[c->tab]) {
        t->spare[c->tab] = c;
        return;
    }
    t->store->be->cursor_close(c->handle);
    free(c);
}

int store_count_prefix(store_txn *t, enum store_table tab, const void *prefix, size_t plen,
                       uint64_t *out)
{
    store_cursor *c;
    store_val k;
    uint64_t n = 0;
    int rc;

    if (!out)
        return STORE_INVALID;
    rc = store_cursor_open(t, tab, &c);
    if (rc)
        return rc;
    for (rc = store_cursor_seek(c, prefix, plen, &k, NULL); rc == 0;
         rc = store_cursor_next(c, &k, NULL)) {
        if (k.len < plen || memcmp(k.data, prefix, plen) != 0)
            break;
        n++;
    }
    store_cursor_close(c);
    if (rc && rc != STORE_NOTFOUND)
        return rc;
    *out = n;
    return 0;
}

int store_counter_get(store_txn *t, const void *key, size_t klen, uint64_t *out)
{
    store_val v;
    int rc;

    if (!out)
        return STORE_INVALID;
    rc = store_get(t, T_COUNTERS, key, klen, &v);
    if (rc == STORE_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (v.len != sizeof(uint64_t)) {
        log_msgf(LOG_ERROR, "store: counter value has %zu bytes, expected 8", v.len);
        return STORE_IO;
    }
    memcpy(out, v.data, sizeof(uint64_t));
    return 0;
}

int store_counter_add(store_txn *t, const void *key, size_t klen, int64_t delta, uint64_t *out)
{
    /* |delta| - 1 for a negative delta, computed so that INT64_MIN does not
     * overflow. */
    uint64_t decrement_minus_one = delta < 0 ? (uint64_t)(-(delta + 1)) : 0;
    uint64_t value;
    int rc = store_counter_get(t, key, klen, &value);

    if (rc)
        return rc;
    if (delta < 0 && decrement_minus_one >= value) {
        /* Only a bug elsewhere takes a counter below 0. Failing the write
         * would block the change that exposed it, so stop at 0. */
        log_msgf(LOG_WARN,
                 "store: counter %.*s would go below 0 (value %llu, delta %lld); set to 0",
                 (int)klen, (const char *)key, (unsigned long long)value, (long long)delta);
        value = 0;
    } else {
        value += (uint64_t)delta;
    }
    if (value == 0) {
        rc = store_del(t, T_COUNTERS, key, klen);
        if (rc == STORE_NOTFOUND)
            rc = 0;
    } else {
        rc = store_put(t, T_COUNTERS, key, klen, &value, sizeof(value), 0);
    }
    if (rc == 0 && out)
        *out = value;
    return rc;
}
