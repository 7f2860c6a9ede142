/* Unit tests of the store against real LMDB files in a fresh temporary
 * directory per test. Tests that need completions run a real event_base. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "store.h"
#include "store_backend.h"

static char dir[64];

/* A job that holds the writer until released, so that the jobs submitted
 * after it queue up and form one batch. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
    int open;
};

static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static int gate_fn(store_txn *t, void *arg)
{
    pthread_mutex_lock(&gate.mu);
    gate.entered = 1;
    pthread_cond_broadcast(&gate.cv);
    while (!gate.open)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
    return 0;
}

static void gate_wait_entered(void)
{
    pthread_mutex_lock(&gate.mu);
    while (!gate.entered)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
}

static void gate_release(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.open = 1;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

static void dir_setup(void)
{
    strcpy(dir, "/tmp/test_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    gate.entered = 0;
    gate.open = 0;
}

static void dir_teardown(void)
{
    char path[sizeof(dir) + 256 + 2];
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static store *open_store(struct event_base *base, size_t map_size)
{
    store_options opt = {.path = dir, .map_size = map_size};
    store *s = NULL;

    ck_assert_int_eq(store_open(&opt, base, &s), 0);
    return s;
}

/* ---- jobs used by the tests ---- */

struct put_job {
    enum store_table tab;
    const char *key;
    const char *val;
    unsigned flags;
    int fail_after; /* nonzero: write, then return this to roll back */
};

static int put_fn(store_txn *t, void *arg)
{
    struct put_job *p = arg;
    int rc = store_put(t, p->tab, p->key, strlen(p->key), p->val, strlen(p->val), p->flags);

    if (rc)
        return rc;
    return p->fail_after;
}

static void put_sync(store *s, enum store_table tab, const char *key, const char *val)
{
    struct put_job p = {.tab = tab, .key = key, .val = val};

    ck_assert_int_eq(store_run(s, put_fn, &p), 0);
}

/* Returns 1 and copies the value when `key` exists, 0 when it does not. */
static int read_value(store *s, enum store_table tab, const char *key, char *buf, size_t size)
{
    store_txn *t;
    store_val v;
    int rc;

    ck_assert_int_eq(store_read_begin(s, &t), 0);
    rc = store_get(t, tab, key, strlen(key), &v);
    if (rc == 0) {
        ck_assert_uint_lt(v.len, size);
        memcpy(buf, v.data, v.len);
        buf[v.len] = '\0';
    } else {
        ck_assert_int_eq(rc, STORE_NOTFOUND);
    }
    store_read_end(t);
    return rc == 0;
}

/* Completion log: the order in which completions ran, with their rc. */
#define MAX_DONE 2048
static int done_order[MAX_DONE];
static int done_rc[MAX_DONE];
static int done_count;

struct tagged_job {
    struct put_job put;
    int tag;
    char key[32];
};

static void record_done(int rc, void *arg)
{
    struct tagged_job *j = arg;

    ck_assert_int_lt(done_count, MAX_DONE);
    done_order[done_count] = j ? j->tag : -1;
    done_rc[done_count] = rc;
    done_count++;
}

static int tagged_fn(store_txn *t, void *arg)
{
    struct tagged_job *j = arg;

    return put_fn(t, &j->put);
}

static void run_loop_until(struct event_base *base, int count)
{
    for (int i = 0; i < 100000 && done_count < count; i++)
        event_base_loop(base, EVLOOP_ONCE);
    ck_assert_int_eq(done_count, count);
}

static struct tagged_job *make_jobs(int n, const char *prefix)
{
    struct tagged_job *jobs = calloc(n, sizeof(*jobs));

    ck_assert_ptr_nonnull(jobs);
    for (int i = 0; i < n; i++) {
        jobs[i].tag = i;
        snprintf(jobs[i].key, sizeof(jobs[i].key), "%s%05d", prefix, i);
        jobs[i].put = (struct put_job){.tab = T_USERS, .key = jobs[i].key, .val = "v"};
    }
    return jobs;
}

/* ---- point operations ---- */

struct kv_case {
    enum store_table tab;
    const char *key;
    const char *val;
};

static const struct kv_case kv_cases[] = {
    {T_META, "schema", "1"},
    {T_USERS, "acc-1/user-1", "{\"userName\":\"a\"}"},
    {T_USER_NAMES, "acc-1/alice", ""},
    {T_AUDIT, "acc-1\x00\x01", "{}"},
};

START_TEST(put_get_del_roundtrip)
{
    store *s = open_store(NULL, 0);
    const struct kv_case *c = &kv_cases[_i];
    char buf[256];

    put_sync(s, c->tab, c->key, c->val);
    ck_assert_int_eq(read_value(s, c->tab, c->key, buf, sizeof(buf)), 1);
    ck_assert_str_eq(buf, c->val);
    /* Same key, other table: absent. */
    ck_assert_int_eq(read_value(s, T_GROUPS, c->key, buf, sizeof(buf)), 0);
    store_close(s);
}
END_TEST

static int del_fn(store_txn *t, void *arg)
{
    return store_del(t, T_USERS, arg, strlen(arg));
}

START_TEST(del_removes_and_reports_missing)
{
    store *s = open_store(NULL, 0);
    char buf[16];

    put_sync(s, T_USERS, "k1", "v1");
    ck_assert_int_eq(store_run(s, del_fn, "k1"), 0);
    ck_assert_int_eq(read_value(s, T_USERS, "k1", buf, sizeof(buf)), 0);
    ck_assert_int_eq(store_run(s, del_fn, "k1"), STORE_NOTFOUND);
    store_close(s);
}
END_TEST

START_TEST(nooverwrite_reports_exists)
{
    store *s = open_store(NULL, 0);
    struct put_job p = {
        .tab = T_USER_NAMES, .key = "acc/bob", .val = "id-2", .flags = STORE_NOOVERWRITE};
    char buf[16];

    put_sync(s, T_USER_NAMES, "acc/bob", "id-1");
    ck_assert_int_eq(store_run(s, put_fn, &p), STORE_EXISTS);
    ck_assert_int_eq(read_value(s, T_USER_NAMES, "acc/bob", buf, sizeof(buf)), 1);
    ck_assert_str_eq(buf, "id-1");
    store_close(s);
}
END_TEST

static int invalid_ops_fn(store_txn *t, void *arg)
{
    char big[STORE_MAX_KEY + 1];

    memset(big, 'k', sizeof(big));
    ck_assert_int_eq(store_put(t, T_USERS, "", 0, "v", 1, 0), STORE_INVALID);
    ck_assert_int_eq(store_put(t, T_USERS, big, sizeof(big), "v", 1, 0), STORE_INVALID);
    ck_assert_int_eq(store_put(t, T_USERS, big, STORE_MAX_KEY, "v", 1, 0), 0);
    ck_assert_int_eq(store_put(t, T_COUNT, "k", 1, "v", 1, 0), STORE_INVALID);
    return 0;
}

START_TEST(invalid_keys_rejected)
{
    store *s = open_store(NULL, 0);
    store_txn *t;
    store_val v;

    ck_assert_int_eq(store_run(s, invalid_ops_fn, NULL), 0);
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_get(t, T_USERS, "", 0, &v), STORE_INVALID);
    ck_assert_int_eq(store_put(t, T_USERS, "k", 1, "v", 1, 0), STORE_RDONLY);
    ck_assert_int_eq(store_del(t, T_USERS, "k", 1), STORE_RDONLY);
    store_read_end(t);
    store_close(s);
}
END_TEST

/* ---- cursors ---- */

static int fill_prefix_fn(store_txn *t, void *arg)
{
    /* Inserted out of order; iteration must return them sorted. */
    static const char *const keys[] = {"b/3", "a/1", "b/1", "c/1", "b/2", "b", "b/10"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int rc = store_put(t, T_MEMBERS, keys[i], strlen(keys[i]), "", 0, 0);

        if (rc)
            return rc;
    }
    return 0;
}

START_TEST(prefix_iteration_in_order)
{
    static const char *const expected[] = {"b/1", "b/10", "b/2", "b/3"};
    store *s = open_store(NULL, 0);
    store_txn *t;
    store_cursor *c;
    store_val k, v;
    uint64_t n = 0;
    size_t i = 0;
    int rc;

    ck_assert_int_eq(store_run(s, fill_prefix_fn, NULL), 0);
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_MEMBERS, &c), 0);
    for (rc = store_cursor_seek(c, "b/", 2, &k, &v); rc == 0; rc = store_cursor_next(c, &k, &v)) {
        if (k.len < 2 || memcmp(k.data, "b/", 2) != 0)
            break;
        ck_assert_uint_lt(i, 4);
        ck_assert_uint_eq(k.len, strlen(expected[i]));
        ck_assert_int_eq(memcmp(k.data, expected[i], k.len), 0);
        ck_assert_uint_eq(v.len, 0);
        i++;
    }
    ck_assert_uint_eq(i, 4);
    store_cursor_close(c);

    ck_assert_int_eq(store_count_prefix(t, T_MEMBERS, "b/", 2, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(store_count_prefix(t, T_MEMBERS, "b", 1, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(store_count_prefix(t, T_MEMBERS, "z", 1, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(store_count_prefix(t, T_GROUPS, "b", 1, &n), 0);
    ck_assert_uint_eq(n, 0);
    store_read_end(t);
    store_close(s);
}
END_TEST

START_TEST(cursor_seek_past_end)
{
    store *s = open_store(NULL, 0);
    store_txn *t;
    store_cursor *c;
    store_val k;

    ck_assert_int_eq(store_run(s, fill_prefix_fn, NULL), 0);
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_MEMBERS, &c), 0);
    ck_assert_int_eq(store_cursor_seek(c, "d", 1, &k, NULL), STORE_NOTFOUND);
    ck_assert_int_eq(store_cursor_seek(c, "c/1", 3, &k, NULL), 0);
    ck_assert_int_eq(store_cursor_next(c, &k, NULL), STORE_NOTFOUND);
    ck_assert_int_eq(store_cursor_seek(c, NULL, 0, &k, NULL), 0);
    ck_assert_uint_eq(k.len, 3);
    ck_assert_int_eq(memcmp(k.data, "a/1", 3), 0);
    ck_assert_int_eq(store_cursor_del(c), STORE_RDONLY);
    store_cursor_close(c);
    store_read_end(t);
    store_close(s);
}
END_TEST

/* Deletes every key under "b/" with a cursor, checking what follows. */
static int cursor_del_fn(store_txn *t, void *arg)
{
    store_cursor *c;
    store_val k;
    int deleted = 0;
    int rc = store_cursor_open(t, T_MEMBERS, &c);

    ck_assert_int_eq(rc, 0);
    for (rc = store_cursor_seek(c, "b/", 2, &k, NULL); rc == 0;) {
        if (k.len < 2 || memcmp(k.data, "b/", 2) != 0)
            break;
        ck_assert_int_eq(store_cursor_del(c), 0);
        deleted++;
        rc = store_cursor_next(c, &k, NULL);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(k.len, 3);
    ck_assert_int_eq(memcmp(k.data, "c/1", 3), 0);
    store_cursor_close(c);
    *(int *)arg = deleted;
    return 0;
}

START_TEST(cursor_del_moves_to_next)
{
    store *s = open_store(NULL, 0);
    store_txn *t;
    uint64_t n;
    int deleted = 0;

    ck_assert_int_eq(store_run(s, fill_prefix_fn, NULL), 0);
    ck_assert_int_eq(store_run(s, cursor_del_fn, &deleted), 0);
    ck_assert_int_eq(deleted, 4);
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_count_prefix(t, T_MEMBERS, "", 0, &n), 0);
    ck_assert_uint_eq(n, 3);
    store_read_end(t);
    store_close(s);
}
END_TEST

/* ---- counters ---- */

struct counter_case {
    int64_t delta;
    uint64_t expected;
};

static const struct counter_case counter_steps[] = {
    {5, 5}, {-2, 3}, {0, 3}, {-3, 0}, {1, 1}, {-7, 0}, {INT64_MAX, INT64_MAX}, {INT64_MIN, 0},
};

static int counter_fn(store_txn *t, void *arg)
{
    const size_t n = sizeof(counter_steps) / sizeof(counter_steps[0]);

    for (size_t i = 0; i < n; i++) {
        uint64_t out = 99, got = 99;
        store_val v;

        ck_assert_int_eq(store_counter_add(t, "c", 1, counter_steps[i].delta, &out), 0);
        ck_assert_uint_eq(out, counter_steps[i].expected);
        ck_assert_int_eq(store_counter_get(t, "c", 1, &got), 0);
        ck_assert_uint_eq(got, counter_steps[i].expected);
        /* A counter at 0 has no record. */
        ck_assert_int_eq(store_get(t, T_COUNTERS, "c", 1, &v) == STORE_NOTFOUND,
                         counter_steps[i].expected == 0);
    }
    return store_counter_add(t, "c", 1, 42, NULL);
}

START_TEST(counter_add_and_get)
{
    store *s = open_store(NULL, 0);
    store_txn *t;
    uint64_t v = 0;

    ck_assert_int_eq(store_run(s, counter_fn, NULL), 0);
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_counter_get(t, "c", 1, &v), 0);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(store_counter_get(t, "missing", 7, &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(store_counter_add(t, "c", 1, 1, NULL), STORE_RDONLY);
    store_read_end(t);
    store_close(s);
}
END_TEST

/* ---- read transactions ---- */

START_TEST(read_txn_reused)
{
    store *s = open_store(NULL, 0);
    store_txn *first, *t, *inner;
    char key[16], buf[16];

    ck_assert_int_eq(store_read_begin(s, &first), 0);
    store_read_end(first);
    for (int i = 0; i < 20000; i++) {
        ck_assert_int_eq(store_read_begin(s, &t), 0);
        ck_assert_ptr_eq(t, first);
        store_read_end(t);
    }

    /* A renewed transaction sees commits made after the previous one. */
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        put_sync(s, T_META, key, "x");
        ck_assert_int_eq(read_value(s, T_META, key, buf, sizeof(buf)), 1);
    }

    /* A nested read gets its own transaction. */
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_read_begin(s, &inner), 0);
    ck_assert_ptr_ne(inner, t);
    store_read_end(inner);
    store_read_end(t);
    store_close(s);
}
END_TEST

/* Seeks `c` to the first key with prefix "a/" and returns how many such
 * keys follow. */
static int count_a_keys(store_cursor *c)
{
    store_val k, v;
    int n = 0;

    for (int rc = store_cursor_seek(c, "a/", 2, &k, &v); rc == 0 && k.len > 2 &&
                                                          memcmp(k.data, "a/", 2) == 0;
         rc = store_cursor_next(c, &k, &v))
        n++;
    return n;
}

/* A closed cursor of the thread's cached read transaction serves the next
 * open on its table, unpositioned, and after a renewal it reads the new
 * snapshot. */
START_TEST(cursor_reused_across_reads)
{
    store *s = open_store(NULL, 0);
    store_txn *t, *inner;
    store_cursor *first, *c, *other;
    store_val k, v;

    put_sync(s, T_MEMBERS, "a/1", "");
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_MEMBERS, &first), 0);
    ck_assert_int_eq(count_a_keys(first), 1);
    store_cursor_close(first);
    ck_assert_int_eq(store_cursor_open(t, T_MEMBERS, &c), 0);
    ck_assert_ptr_eq(c, first);
    ck_assert_int_eq(store_cursor_next(c, &k, &v), 0);
    ck_assert_uint_eq(k.len, 3);
    ck_assert_int_eq(memcmp(k.data, "a/1", 3), 0);
    /* A second cursor open at the same time is another one. */
    ck_assert_int_eq(store_cursor_open(t, T_MEMBERS, &other), 0);
    ck_assert_ptr_ne(other, c);
    store_cursor_close(other);
    store_cursor_close(c);
    store_read_end(t);

    put_sync(s, T_MEMBERS, "a/2", "");
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_cursor_open(t, T_MEMBERS, &c), 0);
    ck_assert_int_eq(count_a_keys(c), 2);
    /* A nested read's cursor is its own and is not kept. */
    ck_assert_int_eq(store_read_begin(s, &inner), 0);
    ck_assert_int_eq(store_cursor_open(inner, T_MEMBERS, &other), 0);
    ck_assert_int_eq(count_a_keys(other), 2);
    store_cursor_close(other);
    store_read_end(inner);
    store_cursor_close(c);
    store_read_end(t);
    store_close(s);
}
END_TEST

static void *reader_thread(void *arg)
{
    store *s = arg;
    store_txn *t, *first = NULL;
    store_val v;

    for (int i = 0; i < 1000; i++) {
        if (store_read_begin(s, &t) != 0)
            return (void *)1;
        if (!first)
            first = t;
        if (t != first || store_get(t, T_META, "shared", 6, &v) != 0) {
            store_read_end(t);
            return (void *)1;
        }
        store_read_end(t);
    }
    return NULL;
}

START_TEST(read_txn_per_thread)
{
    store *s = open_store(NULL, 0);
    pthread_t th[4];
    void *ret;

    put_sync(s, T_META, "shared", "1");
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, reader_thread, s), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(th[i], &ret), 0);
        ck_assert_ptr_null(ret);
    }
    store_close(s);
}
END_TEST

START_TEST(read_cache_across_stores)
{
    store *s = open_store(NULL, 0);
    store_txn *t1, *t2;
    char buf[16];

    put_sync(s, T_META, "k", "first");
    store_close(s);
    /* The closed store's cached transaction must not be reused. */
    s = open_store(NULL, 0);
    ck_assert_int_eq(store_read_begin(s, &t1), 0);
    store_read_end(t1);
    ck_assert_int_eq(store_read_begin(s, &t2), 0);
    ck_assert_ptr_eq(t1, t2);
    store_read_end(t2);
    ck_assert_int_eq(read_value(s, T_META, "k", buf, sizeof(buf)), 1);
    ck_assert_str_eq(buf, "first");
    store_close(s);
}
END_TEST

/* ---- writer, batches and completions ---- */

START_TEST(failing_job_rolls_back_alone)
{
    struct event_base *base = event_base_new();
    store *s = open_store(base, 0);
    struct tagged_job *jobs = make_jobs(5, "fail");
    struct tagged_job gate_job = {.tag = 100};
    store_stats st;
    char buf[16];

    done_count = 0;
    jobs[1].put.fail_after = STORE_INVALID;
    jobs[3].put.fail_after = 7;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(store_submit(s, tagged_fn, record_done, &jobs[i]), 0);
    gate_release();
    run_loop_until(base, 6);

    ck_assert_int_eq(done_rc[0], 0);
    ck_assert_int_eq(done_rc[1], 0);
    ck_assert_int_eq(done_rc[2], STORE_INVALID);
    ck_assert_int_eq(done_rc[3], 0);
    ck_assert_int_eq(done_rc[4], 7);
    ck_assert_int_eq(done_rc[5], 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(read_value(s, T_USERS, jobs[i].key, buf, sizeof(buf)),
                         jobs[i].put.fail_after == 0);

    /* The five jobs after the gate committed as one batch. */
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.commits, 2);
    ck_assert_uint_eq(st.jobs, 6);
    ck_assert_uint_eq(st.batch_hist[0], 1);
    ck_assert_uint_eq(st.batch_hist[3], 1);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

START_TEST(completions_in_submission_order)
{
    struct event_base *base = event_base_new();
    store *s = open_store(base, 0);
    struct tagged_job *jobs = make_jobs(300, "order");

    done_count = 0;
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(store_submit(s, tagged_fn, record_done, &jobs[i]), 0);
    run_loop_until(base, 300);
    for (int i = 0; i < 300; i++) {
        ck_assert_int_eq(done_order[i], i);
        ck_assert_int_eq(done_rc[i], 0);
    }
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

START_TEST(group_commit_batches)
{
    struct event_base *base = event_base_new();
    store *s = open_store(base, 0);
    struct tagged_job *jobs = make_jobs(1000, "batch");
    struct tagged_job gate_job = {.tag = -1};
    store_stats st;
    uint64_t hist_total = 0;

    done_count = 0;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(store_submit(s, tagged_fn, record_done, &jobs[i]), 0);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.queue_depth, 1000);
    ck_assert_uint_eq(st.in_flight, 1001);
    gate_release();
    run_loop_until(base, 1001);

    store_get_stats(s, &st);
    ck_assert_uint_eq(st.jobs, 1001);
    ck_assert_uint_lt(st.commits, st.jobs);
    /* The gate alone, then 1000 jobs in batches of at most 256. */
    ck_assert_uint_eq(st.commits, 1 + 4);
    ck_assert_uint_eq(st.batch_hist[6], 4);
    ck_assert_uint_eq(st.batch_hist[7], 0);
    for (int i = 0; i < 8; i++)
        hist_total += st.commit_usec_hist[i];
    ck_assert_uint_eq(hist_total, st.commits);
    ck_assert_uint_eq(st.failed_commits, 0);
    ck_assert_uint_eq(st.queue_depth, 0);
    ck_assert_uint_eq(st.in_flight, 0);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

START_TEST(max_batch_option_limits_batch)
{
    struct event_base *base = event_base_new();
    store_options opt = {.path = dir, .max_batch = 10};
    struct tagged_job *jobs = make_jobs(100, "small");
    struct tagged_job gate_job = {.tag = -1};
    store_stats st;
    store *s;

    done_count = 0;
    ck_assert_int_eq(store_open(&opt, base, &s), 0);
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(store_submit(s, tagged_fn, record_done, &jobs[i]), 0);
    gate_release();
    run_loop_until(base, 101);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.commits, 11);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

static store *resubmit_store;
static int resubmit_rc = 1;

static void resubmit_done(int rc, void *arg)
{
    record_done(rc, arg);
    if (done_count == 1)
        resubmit_rc = store_submit(resubmit_store, tagged_fn, record_done, arg);
}

START_TEST(close_drains_queued_jobs)
{
    struct event_base *base = event_base_new();
    store *s = open_store(base, 0);
    struct tagged_job *jobs = make_jobs(200, "drain");
    struct tagged_job gate_job = {.tag = -1};
    char buf[16];

    done_count = 0;
    resubmit_store = s;
    ck_assert_int_eq(store_submit(s, gate_fn, resubmit_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(store_submit(s, tagged_fn, record_done, &jobs[i]), 0);
    gate_release();
    /* The loop never runs: every completion runs inside store_close. */
    store_close(s);
    ck_assert_int_eq(done_count, 201);
    ck_assert_int_eq(resubmit_rc, STORE_CLOSED);
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(done_order[i + 1], i);
        ck_assert_int_eq(done_rc[i + 1], 0);
    }
    event_base_free(base);

    /* Reopened, the store has every write. */
    s = open_store(NULL, 0);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(read_value(s, T_USERS, jobs[i].key, buf, sizeof(buf)), 1);
    store_close(s);
    free(jobs);
}
END_TEST

START_TEST(reopen_sees_all_data)
{
    store *s = open_store(NULL, 0);
    char key[32], buf[32];

    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "user-%d", i);
        put_sync(s, (enum store_table)(i % T_COUNT), key, key);
    }
    store_close(s);
    s = open_store(NULL, 0);
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "user-%d", i);
        ck_assert_int_eq(read_value(s, (enum store_table)(i % T_COUNT), key, buf, sizeof(buf)), 1);
        ck_assert_str_eq(buf, key);
    }
    store_close(s);
}
END_TEST

static int nested_run_fn(store_txn *t, void *arg)
{
    return store_run(arg, put_fn, NULL);
}

START_TEST(run_inside_job_rejected)
{
    store *s = open_store(NULL, 0);

    ck_assert_int_eq(store_run(s, nested_run_fn, s), STORE_INVALID);
    ck_assert_int_eq(store_submit(s, put_fn, NULL, NULL), STORE_INVALID);
    store_close(s);
}
END_TEST

START_TEST(writable_and_read_only)
{
    store_options ro = {.path = dir, .read_only = 1};
    store *s = open_store(NULL, 0);
    store *r = NULL;
    store_txn *t;
    store_val v;

    ck_assert_int_eq(store_writable(s), 1);
    put_sync(s, T_META, "k", "v");
    store_close(s);

    ck_assert_int_eq(store_open(&ro, NULL, &r), 0);
    ck_assert_int_eq(store_writable(r), 0);
    ck_assert_int_eq(store_run(r, put_fn, NULL), STORE_RDONLY);
    ck_assert_int_eq(store_read_begin(r, &t), 0);
    ck_assert_int_eq(store_get(t, T_META, "k", 1, &v), 0);
    store_read_end(t);
    store_close(r);
}
END_TEST

START_TEST(read_only_missing_store_fails)
{
    char path[96];
    store_options ro = {.path = path, .read_only = 1};
    store *r = NULL;

    snprintf(path, sizeof(path), "%s/absent", dir);
    ck_assert_int_ne(store_open(&ro, NULL, &r), 0);
    ck_assert_ptr_null(r);
}
END_TEST

/* ---- a full map ---- */

static char big_value[64 * 1024];

static int fill_fn(store_txn *t, void *arg)
{
    char key[32];

    snprintf(key, sizeof(key), "big-%d", *(int *)arg);
    return store_put(t, T_AUDIT, key, strlen(key), big_value, sizeof(big_value), 0);
}

/* Ignores the put error and returns 0: the store still reports it. */
static int fill_ignoring_fn(store_txn *t, void *arg)
{
    fill_fn(t, arg);
    return 0;
}

START_TEST(full_map_reported)
{
    store *s = open_store(NULL, 1 << 20);
    int i, rc = 0;
    char buf[16];

    memset(big_value, 'x', sizeof(big_value));
    for (i = 0; i < 64 && rc == 0; i++)
        rc = store_run(s, fill_fn, &i);
    ck_assert_int_eq(rc, STORE_FULL);
    ck_assert_int_lt(i, 64);
    ck_assert_int_eq(store_run(s, fill_ignoring_fn, &i), STORE_FULL);
    /* Small writes and reads still work where space remains. */
    put_sync(s, T_META, "after", "ok");
    ck_assert_int_eq(read_value(s, T_META, "after", buf, sizeof(buf)), 1);
    ck_assert_int_eq(store_writable(s), 1);
    store_close(s);
}
END_TEST

/* ---- two processes ---- */

START_TEST(second_process_reads_and_writes)
{
    struct event_base *base = event_base_new();
    store *s = open_store(base, 0);
    char buf[32];
    int status = -1;
    pid_t pid;

    put_sync(s, T_ACCOUNTS, "from-parent", "p");
    /* The loop thread's read transaction stays open with this snapshot
     * until the loop runs, and the read after the child's commit must still
     * see that commit. */
    ck_assert_int_eq(read_value(s, T_ACCOUNTS, "from-child", buf, sizeof(buf)), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The child opens its own store and never touches the parent's. */
        store_options opt = {.path = dir};
        struct put_job p = {.tab = T_ACCOUNTS, .key = "from-child", .val = "c"};
        store *c = NULL;
        store_txn *t = NULL;
        store_val v;
        int ok = store_open(&opt, NULL, &c) == 0 && store_read_begin(c, &t) == 0 &&
                 store_get(t, T_ACCOUNTS, "from-parent", 11, &v) == 0 && v.len == 1;

        store_read_end(t);
        ok = ok && store_run(c, put_fn, &p) == 0;
        store_close(c);
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_int_eq(read_value(s, T_ACCOUNTS, "from-child", buf, sizeof(buf)), 1);
    ck_assert_str_eq(buf, "c");
    /* The parent's writer still works after the child's commit. */
    put_sync(s, T_ACCOUNTS, "after-child", "p");
    store_close(s);
    event_base_free(base);
}
END_TEST

/* ---- failing commits, through a backend that wraps LMDB ---- */

/* Top-level commits fail with STORE_IO while this is set. */
static int fail_top_commits;

struct wrapped_txn {
    void *inner;
    int top; /* 1 for a top-level write transaction */
};

static void *inner_txn(void *txn)
{
    return ((struct wrapped_txn *)txn)->inner;
}

static int wrap_txn_begin(void *env, void *parent, unsigned flags, void **out)
{
    struct wrapped_txn *w = calloc(1, sizeof(*w));
    int rc;

    ck_assert_ptr_nonnull(w);
    rc = store_lmdb_backend.txn_begin(env, parent ? inner_txn(parent) : NULL, flags, &w->inner);
    if (rc) {
        free(w);
        return rc;
    }
    w->top = !parent && !(flags & STORE_TXN_RDONLY);
    *out = w;
    return 0;
}

static int wrap_txn_commit(void *txn)
{
    struct wrapped_txn *w = txn;
    int rc;

    if (w->top && fail_top_commits) {
        store_lmdb_backend.txn_abort(w->inner);
        rc = STORE_IO;
    } else {
        rc = store_lmdb_backend.txn_commit(w->inner);
    }
    free(w);
    return rc;
}

static void wrap_txn_abort(void *txn)
{
    store_lmdb_backend.txn_abort(inner_txn(txn));
    free(txn);
}

static void wrap_txn_reset(void *txn)
{
    store_lmdb_backend.txn_reset(inner_txn(txn));
}

static int wrap_txn_renew(void *txn)
{
    return store_lmdb_backend.txn_renew(inner_txn(txn));
}

static int wrap_get(void *txn, enum store_table tab, const store_val *key, store_val *val)
{
    return store_lmdb_backend.get(inner_txn(txn), tab, key, val);
}

static int wrap_put(void *txn, enum store_table tab, const store_val *key, const store_val *val,
                    unsigned flags)
{
    return store_lmdb_backend.put(inner_txn(txn), tab, key, val, flags);
}

static int wrap_del(void *txn, enum store_table tab, const store_val *key)
{
    return store_lmdb_backend.del(inner_txn(txn), tab, key);
}

static int wrap_cursor_open(void *txn, enum store_table tab, void **cursor)
{
    return store_lmdb_backend.cursor_open(inner_txn(txn), tab, cursor);
}

static const struct store_backend failing_backend = {
    .name = "failing",
    .env_open = NULL, /* filled in from LMDB in the test */
    .txn_begin = wrap_txn_begin,
    .txn_commit = wrap_txn_commit,
    .txn_abort = wrap_txn_abort,
    .txn_reset = wrap_txn_reset,
    .txn_renew = wrap_txn_renew,
    .get = wrap_get,
    .put = wrap_put,
    .del = wrap_del,
    .cursor_open = wrap_cursor_open,
};

/* Returns `b` with the operations it does not wrap taken from LMDB. */
static struct store_backend with_lmdb_rest(struct store_backend b)
{
    b.env_open = store_lmdb_backend.env_open;
    b.env_close = store_lmdb_backend.env_close;
    b.cursor_seek = store_lmdb_backend.cursor_seek;
    b.cursor_next = store_lmdb_backend.cursor_next;
    b.cursor_del = store_lmdb_backend.cursor_del;
    b.cursor_close = store_lmdb_backend.cursor_close;
    return b;
}

/* ---- the loop thread's parked read transaction ---- */

static int txn_resets, txn_renews;

static void counting_txn_reset(void *txn)
{
    txn_resets++;
    wrap_txn_reset(txn);
}

static int counting_txn_renew(void *txn)
{
    txn_renews++;
    return wrap_txn_renew(txn);
}

static uint64_t wrap_txn_id(void *txn)
{
    return store_lmdb_backend.txn_id(inner_txn(txn));
}

static struct store_backend counting_backend(void)
{
    struct store_backend b = with_lmdb_rest(failing_backend);

    b.name = "counting";
    b.txn_reset = counting_txn_reset;
    b.txn_renew = counting_txn_renew;
    b.txn_id = wrap_txn_id;
    b.env_last_txn = store_lmdb_backend.env_last_txn;
    return b;
}

static void *one_read_thread(void *arg)
{
    store *s = arg;
    store_txn *t;

    if (store_read_begin(s, &t) != 0)
        return (void *)1;
    store_read_end(t);
    return NULL;
}

START_TEST(loop_read_parked_until_loop_runs)
{
    struct store_backend backend = counting_backend();
    struct event_base *base = event_base_new();
    store_options opt = {.path = dir};
    store_txn *t1, *t2;
    pthread_t th;
    void *ret;
    store *s;

    ck_assert_int_eq(store_open_backend(&opt, &backend, base, &s), 0);
    put_sync(s, T_META, "k", "1");
    txn_resets = txn_renews = 0;
    ck_assert_int_eq(store_read_begin(s, &t1), 0);
    store_read_end(t1);
    /* Ended on the loop thread, the transaction keeps its snapshot, and the
     * next read takes it over without a renew. */
    ck_assert_int_eq(txn_resets, 0);
    ck_assert_int_eq(store_read_begin(s, &t2), 0);
    ck_assert_ptr_eq(t2, t1);
    ck_assert_int_eq(txn_renews, 0);
    store_read_end(t2);
    /* The loop's next iteration resets it, and the read after renews it. */
    event_base_loop(base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(txn_resets, 1);
    ck_assert_int_eq(store_read_begin(s, &t2), 0);
    ck_assert_int_eq(txn_renews, 1);
    store_read_end(t2);
    event_base_loop(base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(txn_resets, 2);
    /* After a commit the parked transaction is renewed. */
    ck_assert_int_eq(store_read_begin(s, &t2), 0);
    store_read_end(t2);
    put_sync(s, T_META, "k", "2");
    ck_assert_int_eq(store_read_begin(s, &t2), 0);
    ck_assert_int_eq(txn_resets, 3);
    ck_assert_int_eq(txn_renews, 3);
    store_read_end(t2);
    /* Another thread's transaction is reset at once. */
    ck_assert_int_eq(pthread_create(&th, NULL, one_read_thread, s), 0);
    ck_assert_int_eq(pthread_join(th, &ret), 0);
    ck_assert_ptr_null(ret);
    ck_assert_int_eq(txn_resets, 4);
    store_close(s);
    event_base_free(base);
}
END_TEST

START_TEST(nested_reads_of_two_stores_unpark)
{
    struct store_backend backend = counting_backend();
    struct event_base *base = event_base_new();
    char other_dir[] = "/tmp/test_store_b.XXXXXX";
    char path[sizeof(other_dir) + 16];
    store_options opt = {.path = dir};
    store_options other_opt = {.path = other_dir};
    store_txn *ta, *tb, *ta2;
    store *a, *b;

    ck_assert_ptr_nonnull(mkdtemp(other_dir));
    ck_assert_int_eq(store_open_backend(&opt, &backend, base, &a), 0);
    ck_assert_int_eq(store_open(&other_opt, base, &b), 0);
    ck_assert_int_eq(store_read_begin(a, &ta), 0);
    ck_assert_int_eq(store_read_begin(b, &tb), 0);
    /* The thread's cache now names b and a's transaction is active, so
     * this read gets a second cached transaction of a. */
    ck_assert_int_eq(store_read_begin(a, &ta2), 0);
    ck_assert_ptr_ne(ta2, ta);
    txn_resets = 0;
    store_read_end(ta2);
    store_read_end(tb);
    store_read_end(ta);
    event_base_loop(base, EVLOOP_NONBLOCK);
    /* Both of a's transactions were reset, so neither pins a snapshot. */
    ck_assert_int_eq(txn_resets, 2);
    store_close(b);
    store_close(a);
    event_base_free(base);
    snprintf(path, sizeof(path), "%s/data.mdb", other_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", other_dir);
    unlink(path);
    ck_assert_int_eq(rmdir(other_dir), 0);
}
END_TEST

START_TEST(parked_read_sees_new_commit)
{
    struct event_base *base = event_base_new();
    store *s = open_store(base, 0);
    uint64_t before, after;
    store_txn *t;
    char buf[16];

    put_sync(s, T_META, "k", "old");
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_txn_snapshot(t, &before), 0);
    store_read_end(t);
    ck_assert_int_eq(read_value(s, T_META, "k", buf, sizeof(buf)), 1);
    ck_assert_str_eq(buf, "old");
    /* No loop iteration runs in between, so the transaction is still
     * parked when the commit lands. */
    put_sync(s, T_META, "k", "new");
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_txn_snapshot(t, &after), 0);
    store_read_end(t);
    ck_assert_uint_gt(after, before);
    ck_assert_int_eq(read_value(s, T_META, "k", buf, sizeof(buf)), 1);
    ck_assert_str_eq(buf, "new");
    store_close(s);
    event_base_free(base);
}
END_TEST

START_TEST(failed_commit_fails_whole_batch)
{
    struct store_backend backend = with_lmdb_rest(failing_backend);
    struct event_base *base = event_base_new();
    store_options opt = {.path = dir};
    struct tagged_job *jobs = make_jobs(4, "io");
    struct tagged_job gate_job = {.tag = -1};
    store_stats st;
    char buf[16];
    store *s;

    ck_assert_int_eq(store_open_backend(&opt, &backend, base, &s), 0);

    done_count = 0;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(store_submit(s, tagged_fn, record_done, &jobs[i]), 0);
    fail_top_commits = 1;
    gate_release();
    run_loop_until(base, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(done_rc[i], STORE_IO);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(read_value(s, T_USERS, jobs[i].key, buf, sizeof(buf)), 0);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.failed_commits, 2);
    ck_assert_uint_eq(st.commits, 0);
    ck_assert_int_eq(store_writable(s), 0);

    /* The next batch commits again and the store is writable once more. */
    fail_top_commits = 0;
    ck_assert_int_eq(store_submit(s, tagged_fn, record_done, &jobs[3]), 0);
    run_loop_until(base, 5);
    ck_assert_int_eq(done_rc[4], 0);
    ck_assert_int_eq(read_value(s, T_USERS, jobs[3].key, buf, sizeof(buf)), 1);
    ck_assert_int_eq(store_writable(s), 1);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* ---- change counter of the key tables ---- */

static uint64_t key_generation(store *s)
{
    store_txn *t;
    uint64_t n = 99;

    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_table_generation(t, T_SCIM_KEY_IDS, &n), 0);
    store_read_end(t);
    return n;
}

static int key_del_fn(store_txn *t, void *arg)
{
    return store_del(t, T_SCIM_KEYS, arg, strlen(arg));
}

static int cursor_del_first_fn(store_txn *t, void *arg)
{
    store_cursor *c;
    int rc = store_cursor_open(t, T_SCIM_KEYS, &c);

    if (rc)
        return rc;
    rc = store_cursor_seek(c, NULL, 0, NULL, NULL);
    if (rc == 0)
        rc = store_cursor_del(c);
    store_cursor_close(c);
    return rc;
}

START_TEST(key_tables_count_changes)
{
    store *s = open_store(NULL, 0);
    struct put_job two = {.tab = T_SCIM_KEYS, .key = "k1", .val = "v"};
    struct put_job failing = {.tab = T_SCIM_KEYS, .key = "k2", .val = "v", .fail_after = 5};
    struct put_job other = {.tab = T_USERS, .key = "u1", .val = "v"};
    store_txn *t;
    uint64_t n;

    ck_assert_int_eq(key_generation(s), 0);
    ck_assert_int_eq(store_read_begin(s, &t), 0);
    ck_assert_int_eq(store_table_generation(t, T_USERS, &n), STORE_INVALID);
    store_read_end(t);

    put_sync(s, T_SCIM_KEYS, "k0", "v");
    ck_assert_int_eq(key_generation(s), 1);
    put_sync(s, T_SCIM_KEY_IDS, "i0", "v");
    ck_assert_int_eq(key_generation(s), 2);
    ck_assert_int_eq(store_run(s, put_fn, &other), 0);
    ck_assert_int_eq(key_generation(s), 2);
    /* A job that rolls back leaves the counter as it was. */
    ck_assert_int_eq(store_run(s, put_fn, &failing), 5);
    ck_assert_int_eq(key_generation(s), 2);
    ck_assert_int_eq(store_run(s, put_fn, &two), 0);
    ck_assert_int_eq(key_generation(s), 3);
    ck_assert_int_eq(store_run(s, key_del_fn, (void *)"k1"), 0);
    ck_assert_int_eq(key_generation(s), 4);
    ck_assert_int_eq(store_run(s, cursor_del_first_fn, NULL), 0);
    ck_assert_int_eq(key_generation(s), 5);
    store_close(s);
}
END_TEST

/* ---- durability order, through a backend that records every flush ---- */

/* The recording backend counts top-level commits that have returned and
 * keeps `durable_through`: the number of commits that had returned before
 * the latest flush that finished began. A flush is an env_sync call or a
 * commit that reports `flushed`; a commit that was not deferred also makes
 * itself durable. A job whose batch is commit number k is durable once
 * durable_through >= k. */
static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t commits_returned;
static uint64_t durable_through;
static uint64_t env_syncs;
#define MAX_COMMITS 64
static int commit_deferred[MAX_COMMITS];
static int commit_flushed[MAX_COMMITS];

static uint64_t commits_so_far(void)
{
    uint64_t n;

    pthread_mutex_lock(&order_mu);
    n = commits_returned;
    pthread_mutex_unlock(&order_mu);
    return n;
}

static void flush_finished(uint64_t covered)
{
    if (covered > durable_through)
        durable_through = covered;
}

static int record_txn_commit_top(void *txn, int defer, int *flushed)
{
    struct wrapped_txn *w = txn;
    uint64_t before = commits_so_far();
    int rc = store_lmdb_backend.txn_commit_top(w->inner, defer, flushed);

    free(w);
    pthread_mutex_lock(&order_mu);
    if (rc == 0) {
        if (*flushed)
            flush_finished(before);
        if (!defer)
            flush_finished(before + 1);
        if (commits_returned < MAX_COMMITS) {
            commit_deferred[commits_returned] = defer;
            commit_flushed[commits_returned] = *flushed;
        }
        commits_returned++;
    }
    pthread_mutex_unlock(&order_mu);
    return rc;
}

static int record_env_sync(void *env)
{
    uint64_t before = commits_so_far();
    int rc = store_lmdb_backend.env_sync(env);

    pthread_mutex_lock(&order_mu);
    env_syncs++;
    if (rc == 0)
        flush_finished(before);
    pthread_mutex_unlock(&order_mu);
    return rc;
}

/* A job that notes the number of the commit that will hold it: jobs run
 * inside their batch's transaction, before its commit returns. */
struct ordered_job {
    struct put_job put;
    char key[32];
    uint64_t commit;
    int done;
    int rc;
};

static int ordered_fn(store_txn *t, void *arg)
{
    struct ordered_job *j = arg;

    j->commit = commits_so_far() + 1;
    return put_fn(t, &j->put);
}

static int ordered_done_count;
static int ordered_violations;

/* Counts completions that ran before a flush that began after their
 * batch's commit had returned. */
static void ordered_done(int rc, void *arg)
{
    struct ordered_job *j = arg;

    pthread_mutex_lock(&order_mu);
    if (j->commit > durable_through)
        ordered_violations++;
    pthread_mutex_unlock(&order_mu);
    j->done = 1;
    j->rc = rc;
    ordered_done_count++;
}

static struct ordered_job *make_ordered_jobs(int n, const char *prefix)
{
    struct ordered_job *jobs = calloc(n, sizeof(*jobs));

    ck_assert_ptr_nonnull(jobs);
    for (int i = 0; i < n; i++) {
        snprintf(jobs[i].key, sizeof(jobs[i].key), "%s%05d", prefix, i);
        jobs[i].put = (struct put_job){.tab = T_USERS, .key = jobs[i].key, .val = "v"};
    }
    return jobs;
}

/* store_options.gather_usec for the next open_recording_store. */
static unsigned recording_gather_usec;

static store *open_recording_store(struct event_base *base, unsigned max_batch,
                                   unsigned defer_min_queued, struct store_backend *backend)
{
    store_options opt = {.path = dir,
                         .max_batch = max_batch,
                         .defer_min_queued = defer_min_queued,
                         .gather_usec = recording_gather_usec};
    store *s;

    *backend = with_lmdb_rest(failing_backend);
    backend->name = "recording";
    backend->txn_commit_top = record_txn_commit_top;
    backend->env_sync = record_env_sync;
    pthread_mutex_lock(&order_mu);
    commits_returned = durable_through = env_syncs = 0;
    memset(commit_deferred, 0, sizeof(commit_deferred));
    memset(commit_flushed, 0, sizeof(commit_flushed));
    pthread_mutex_unlock(&order_mu);
    ordered_done_count = ordered_violations = 0;
    ck_assert_int_eq(store_open_backend(&opt, backend, base, &s), 0);
    return s;
}

static void run_loop_until_ordered(struct event_base *base, int count)
{
    for (int i = 0; i < 100000 && ordered_done_count < count; i++)
        event_base_loop(base, EVLOOP_ONCE);
    ck_assert_int_eq(ordered_done_count, count);
}

/* Queues `n` ordered jobs behind a gate job on a store with max_batch 8,
 * so that they form batches of 8 committed after the gate's, and runs the
 * loop until all have completed in order. */
static void run_gated_batches(store *s, struct event_base *base, struct ordered_job *jobs, int n)
{
    static struct tagged_job gate_job = {.tag = -1};

    done_count = 0;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[i]), 0);
    gate_release();
    run_loop_until_ordered(base, n);
    ck_assert_int_eq(done_count, 1);
    ck_assert_int_eq(ordered_violations, 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(jobs[i].rc, 0);
        ck_assert_uint_eq(jobs[i].commit, (uint64_t)(i / 8 + 2));
    }
}

/* With a threshold of 1, under load every commit but the last is
 * deferred, and each commit's flush makes the batch before it durable, so
 * 26 commits need no extra flush. */
START_TEST(deferred_flush_orders_completions)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_recording_store(base, 8, 1, &backend);
    struct ordered_job *jobs = make_ordered_jobs(200, "load");
    store_stats st;
    char buf[16];

    run_gated_batches(s, base, jobs, 200);
    pthread_mutex_lock(&order_mu);
    ck_assert_uint_eq(commits_returned, 26);
    /* The gate job writes nothing, so its commit does not flush. */
    ck_assert_int_eq(commit_deferred[0], 1);
    ck_assert_int_eq(commit_flushed[0], 0);
    for (int i = 1; i < 25; i++) {
        ck_assert_int_eq(commit_deferred[i], 1);
        ck_assert_int_eq(commit_flushed[i], 1);
    }
    ck_assert_int_eq(commit_deferred[25], 0);
    ck_assert_uint_eq(env_syncs, 0);
    pthread_mutex_unlock(&order_mu);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.commits, 26);
    ck_assert_uint_eq(st.syncs, 0);
    ck_assert_int_eq(read_value(s, T_USERS, jobs[199].key, buf, sizeof(buf)), 1);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* By default no commit defers, however many jobs are queued: each commit
 * is durable when it returns, and its completions need no later flush. */
START_TEST(default_never_defers)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_recording_store(base, 8, 0, &backend);
    struct ordered_job *jobs = make_ordered_jobs(200, "never");
    store_stats st;

    run_gated_batches(s, base, jobs, 200);
    pthread_mutex_lock(&order_mu);
    ck_assert_uint_eq(commits_returned, 26);
    for (int i = 0; i < 26; i++)
        ck_assert_int_eq(commit_deferred[i], 0);
    for (int i = 1; i < 26; i++)
        ck_assert_int_eq(commit_flushed[i], 1);
    ck_assert_uint_eq(env_syncs, 0);
    pthread_mutex_unlock(&order_mu);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.commits, 26);
    ck_assert_uint_eq(st.syncs, 0);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* Runs a batch of 32 jobs, then submits 16 more one by one, 1 ms apart,
 * and returns how many commits those 16 took. */
static int commits_after_large_batch(unsigned gather_usec)
{
    struct store_backend backend;
    struct event_base *base;
    struct ordered_job *jobs = make_ordered_jobs(48, "gather");
    uint64_t first;
    int commits = 1;
    store *s;

    recording_gather_usec = gather_usec;
    base = event_base_new();
    s = open_recording_store(base, 32, 0, &backend);
    recording_gather_usec = 0;
    gate.entered = gate.open = 0;
    ck_assert_int_eq(store_submit(s, gate_fn, NULL, NULL), 0);
    gate_wait_entered();
    for (int i = 0; i < 32; i++)
        ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[i]), 0);
    gate_release();
    run_loop_until_ordered(base, 32);
    ck_assert_uint_eq(jobs[31].commit, jobs[0].commit);
    for (int i = 32; i < 48; i++) {
        ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[i]), 0);
        usleep(1000);
    }
    run_loop_until_ordered(base, 48);
    ck_assert_int_eq(ordered_violations, 0);
    first = jobs[32].commit;
    for (int i = 33; i < 48; i++) {
        ck_assert_int_eq(jobs[i].rc, 0);
        if (jobs[i].commit != jobs[i - 1].commit)
            commits++;
    }
    ck_assert_uint_gt(first, jobs[31].commit);
    store_close(s);
    event_base_free(base);
    free(jobs);
    return commits;
}

/* After a batch of 16 jobs or more, the writer waits for half as many to
 * queue before it takes the next batch, so the 16 jobs that trickle in
 * share one commit. The window here is 1 s, so that only a stall of the
 * test thread could end it early. */
START_TEST(batch_gathers_after_large_one)
{
    ck_assert_int_eq(commits_after_large_batch(1000000), 1);
}
END_TEST

/* Without the wait the writer takes the first job that trickles in alone. */
START_TEST(no_gather_takes_jobs_at_once)
{
    ck_assert_int_gt(commits_after_large_batch(UINT_MAX), 1);
}
END_TEST

/* One job at a time: nothing is queued at commit time, so even with a
 * threshold of 1 no commit is deferred and no completion waits for a
 * second commit. */
START_TEST(lone_job_commits_durably)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_recording_store(base, 0, 1, &backend);
    struct ordered_job *jobs = make_ordered_jobs(4, "idle");

    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[i]), 0);
        run_loop_until_ordered(base, i + 1);
        ck_assert_int_eq(jobs[i].rc, 0);
    }
    ck_assert_int_eq(ordered_violations, 0);
    ck_assert_int_eq(store_run(s, ordered_fn, &jobs[3]), 0);
    pthread_mutex_lock(&order_mu);
    ck_assert_uint_ge(durable_through, jobs[3].commit);
    ck_assert_uint_eq(commits_returned, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(commit_deferred[i], 0);
    ck_assert_uint_eq(env_syncs, 0);
    pthread_mutex_unlock(&order_mu);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* A second gate, to hold the writer inside a batch that already ran a job. */
static struct gate hold = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static int hold_fn(store_txn *t, void *arg)
{
    pthread_mutex_lock(&hold.mu);
    hold.entered = 1;
    pthread_cond_broadcast(&hold.cv);
    while (!hold.open)
        pthread_cond_wait(&hold.cv, &hold.mu);
    pthread_mutex_unlock(&hold.mu);
    return 0;
}

/* With a threshold of 1, one queued job is enough to defer a commit. Batch 2 contains
 * job 0 and the hold job, and job 1 is queued while it runs. So batch 2's
 * commit defers, and job 1's commit, with nothing queued, is durable and
 * flushes both. */
START_TEST(one_queued_job_defers)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_recording_store(base, 0, 1, &backend);
    struct ordered_job *jobs = make_ordered_jobs(2, "one");
    struct tagged_job gate_job = {.tag = -1}, hold_job = {.tag = -2};

    done_count = 0;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[0]), 0);
    ck_assert_int_eq(store_submit(s, hold_fn, record_done, &hold_job), 0);
    gate_release();

    pthread_mutex_lock(&hold.mu);
    while (!hold.entered)
        pthread_cond_wait(&hold.cv, &hold.mu);
    pthread_mutex_unlock(&hold.mu);
    ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[1]), 0);
    pthread_mutex_lock(&hold.mu);
    hold.open = 1;
    pthread_cond_broadcast(&hold.cv);
    pthread_mutex_unlock(&hold.mu);

    run_loop_until_ordered(base, 2);
    ck_assert_int_eq(ordered_violations, 0);
    ck_assert_int_eq(jobs[0].rc, 0);
    ck_assert_int_eq(jobs[1].rc, 0);
    pthread_mutex_lock(&order_mu);
    ck_assert_uint_eq(commits_returned, 3);
    ck_assert_int_eq(commit_deferred[1], 1); /* job 0 and the hold job, 1 queued */
    ck_assert_int_eq(commit_deferred[2], 0); /* job 1, none queued */
    ck_assert_int_eq(commit_flushed[2], 1);
    ck_assert_uint_eq(env_syncs, 0);
    pthread_mutex_unlock(&order_mu);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* With defer_min_queued 16 a commit is deferred only when 16 or more jobs
 * are queued behind it. */
START_TEST(short_queue_not_deferred)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_recording_store(base, 0, 16, &backend);
    struct ordered_job *jobs = make_ordered_jobs(31, "short");
    struct tagged_job gate_job = {.tag = -1};

    done_count = 0;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 0; i < 15; i++)
        ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[i]), 0);
    gate_release();
    run_loop_until_ordered(base, 15);
    gate.entered = gate.open = 0;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 15; i < 31; i++)
        ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[i]), 0);
    gate_release();
    run_loop_until_ordered(base, 31);
    ck_assert_int_eq(ordered_violations, 0);
    pthread_mutex_lock(&order_mu);
    ck_assert_uint_eq(commits_returned, 4);
    ck_assert_int_eq(commit_deferred[0], 0); /* gate, 15 queued */
    ck_assert_int_eq(commit_deferred[1], 0);
    ck_assert_int_eq(commit_deferred[2], 1); /* gate, 16 queued */
    ck_assert_int_eq(commit_deferred[3], 0);
    pthread_mutex_unlock(&order_mu);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* A batch whose jobs all fail writes nothing, so LMDB's commit neither
 * flushes nor writes a meta page. It must not count as a flush of the
 * deferred batch before it: when it is the last, an explicit flush covers
 * both, and when a batch that writes follows, that batch's commit does. */
START_TEST(empty_commit_not_a_flush)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_recording_store(base, 1, 1, &backend);
    struct ordered_job *jobs = make_ordered_jobs(5, "empty");
    struct tagged_job gate_job = {.tag = -1};
    store_stats st;

    /* Commits: gate, job 0 (deferred), job 1 (fails, last). */
    done_count = 0;
    jobs[1].put.fail_after = 9;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[i]), 0);
    gate_release();
    run_loop_until_ordered(base, 2);
    ck_assert_int_eq(ordered_violations, 0);
    ck_assert_int_eq(jobs[0].rc, 0);
    ck_assert_int_eq(jobs[1].rc, 9);
    pthread_mutex_lock(&order_mu);
    ck_assert_uint_eq(commits_returned, 3);
    ck_assert_int_eq(commit_deferred[1], 1);
    ck_assert_int_eq(commit_flushed[1], 1);
    ck_assert_int_eq(commit_deferred[2], 0);
    ck_assert_int_eq(commit_flushed[2], 0);
    ck_assert_uint_eq(env_syncs, 1);
    pthread_mutex_unlock(&order_mu);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.syncs, 1);

    /* Commits: gate, job 2 (deferred), job 3 (fails, deferred), job 4. */
    gate.entered = gate.open = 0;
    jobs[3].put.fail_after = 9;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    for (int i = 2; i < 5; i++)
        ck_assert_int_eq(store_submit(s, ordered_fn, ordered_done, &jobs[i]), 0);
    gate_release();
    run_loop_until_ordered(base, 5);
    ck_assert_int_eq(ordered_violations, 0);
    pthread_mutex_lock(&order_mu);
    ck_assert_uint_eq(commits_returned, 7);
    ck_assert_int_eq(commit_flushed[4], 1);
    ck_assert_int_eq(commit_deferred[5], 1);
    ck_assert_int_eq(commit_flushed[5], 0);
    ck_assert_int_eq(commit_deferred[6], 0);
    ck_assert_int_eq(commit_flushed[6], 1);
    ck_assert_uint_eq(env_syncs, 1);
    pthread_mutex_unlock(&order_mu);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* ---- crash ---- */

static int confirm_fd = -1;

static void confirm_done(int rc, void *arg)
{
    int tag = ((struct tagged_job *)arg)->tag;

    if (rc == 0 && write(confirm_fd, &tag, sizeof(tag)) != sizeof(tag))
        _exit(3);
}

/* Submits `n` jobs and reports each confirmed tag on `fd` until killed. */
static void run_writer_child(int fd, int n)
{
    struct event_base *base = event_base_new();
    store_options opt = {.path = dir};
    struct tagged_job *jobs = make_jobs(n, "crash");
    store *s = NULL;

    confirm_fd = fd;
    if (!base || store_open(&opt, base, &s) != 0)
        _exit(2);
    for (int i = 0; i < n; i++)
        if (store_submit(s, tagged_fn, confirm_done, &jobs[i]) != 0)
            _exit(2);
    event_base_dispatch(base);
    _exit(0);
}

START_TEST(sigkill_keeps_confirmed_writes)
{
    enum { JOBS = 20000, KILL_AFTER = 2000 };
    static unsigned char confirmed[JOBS];
    int fds[2], tag, seen = 0, status;
    struct tagged_job *jobs = make_jobs(JOBS, "crash");
    char buf[16];
    store *s;
    pid_t pid;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        run_writer_child(fds[1], JOBS);
    }
    close(fds[1]);
    while (seen < KILL_AFTER && read(fds[0], &tag, sizeof(tag)) == sizeof(tag)) {
        confirmed[tag] = 1;
        seen++;
    }
    ck_assert_int_eq(seen, KILL_AFTER);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    /* Confirmations written before the kill count too. */
    while (read(fds[0], &tag, sizeof(tag)) == sizeof(tag)) {
        confirmed[tag] = 1;
        seen++;
    }
    close(fds[0]);
    ck_assert_int_lt(seen, JOBS);

    s = open_store(NULL, 0);
    for (int i = 0; i < JOBS; i++)
        if (confirmed[i])
            ck_assert_int_eq(read_value(s, T_USERS, jobs[i].key, buf, sizeof(buf)), 1);
    store_close(s);
    free(jobs);
}
END_TEST

/* ---- rerunnable jobs without nested transactions ---- */

/* Counts nested transactions begun, through a backend that is LMDB with a
 * counting txn_begin. */
static int nested_begins;

static int counting_txn_begin(void *env, void *parent, unsigned flags, void **out)
{
    if (parent)
        __atomic_fetch_add(&nested_begins, 1, __ATOMIC_SEQ_CST);
    return store_lmdb_backend.txn_begin(env, parent, flags, out);
}

static store *open_counting_store(struct event_base *base, size_t map_size, unsigned max_batch,
                                  struct store_backend *backend)
{
    store_options opt = {.path = dir, .map_size = map_size, .max_batch = max_batch};
    store *s = NULL;

    *backend = store_lmdb_backend;
    backend->name = "counting";
    backend->txn_begin = counting_txn_begin;
    nested_begins = 0;
    ck_assert_int_eq(store_open_backend(&opt, backend, base, &s), 0);
    return s;
}

static int nested_begins_so_far(void)
{
    return __atomic_load_n(&nested_begins, __ATOMIC_SEQ_CST);
}

/* A job that counts its runs. It writes its key unless `fail_before_write`
 * is set, and then returns its put's fail_after (or fail_before_write). */
struct counted_job {
    struct tagged_job tagged;
    int fail_before_write;
    int big;  /* 1: write a value larger than the map instead */
    int runs; /* written by the writer thread, read after the completions */
};

static char huge_value[2 << 20];

static int counted_fn(store_txn *t, void *arg)
{
    struct counted_job *j = arg;
    struct put_job *p = &j->tagged.put;

    j->runs++;
    if (j->fail_before_write)
        return j->fail_before_write;
    if (j->big)
        return store_put(t, p->tab, p->key, strlen(p->key), huge_value, sizeof(huge_value), 0);
    return put_fn(t, p);
}

static struct counted_job *make_counted_jobs(int n, const char *prefix)
{
    struct counted_job *jobs = calloc(n, sizeof(*jobs));

    ck_assert_ptr_nonnull(jobs);
    for (int i = 0; i < n; i++) {
        struct tagged_job *tj = &jobs[i].tagged;

        tj->tag = i;
        snprintf(tj->key, sizeof(tj->key), "%s%05d", prefix, i);
        tj->put = (struct put_job){.tab = T_USERS, .key = tj->key, .val = "v"};
    }
    return jobs;
}

/* Holds the writer in a gate job and queues `n` jobs with `flags` (job
 * `plain`, when >= 0, without any flag), so that they form one batch, or
 * several of max_batch jobs. Then releases the gate, waits for every
 * completion and returns the number of nested transactions begun. */
static int run_behind_gate(store *s, struct event_base *base, struct counted_job *jobs, int n,
                         unsigned flags, int plain)
{
    struct tagged_job gate_job = {.tag = -1};
    int before;

    gate.entered = gate.open = 0;
    done_count = 0;
    ck_assert_int_eq(store_submit(s, gate_fn, record_done, &gate_job), 0);
    gate_wait_entered();
    before = nested_begins_so_far();
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(store_submit_flags(s, counted_fn, record_done, &jobs[i],
                                            i == plain ? 0 : flags),
                         0);
    gate_release();
    run_loop_until(base, n + 1);
    return nested_begins_so_far() - before;
}

static void check_committed(store *s, struct counted_job *jobs, int n, int absent)
{
    char buf[16];

    for (int i = 0; i < n; i++)
        ck_assert_int_eq(read_value(s, T_USERS, jobs[i].tagged.key, buf, sizeof(buf)),
                         i != absent);
}

START_TEST(rerunnable_batch_runs_flat)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_counting_store(base, 0, 0, &backend);
    struct counted_job *jobs = make_counted_jobs(5, "flat");
    store_stats st;

    ck_assert_int_eq(run_behind_gate(s, base, jobs, 5, STORE_JOB_RERUNNABLE, -1), 0);
    for (int i = 0; i <= 5; i++)
        ck_assert_int_eq(done_rc[i], 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(jobs[i].runs, 1);
    check_committed(s, jobs, 5, -1);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.flat_batches, 1);
    ck_assert_uint_eq(st.reruns, 0);
    ck_assert_uint_eq(st.commits, 2);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* Job 2 writes and then fails: the flat run stops there, and the batch
 * runs again nested, so jobs 0 to 2 run twice and 3 and 4 once. */
START_TEST(failed_flat_job_reruns_batch)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_counting_store(base, 0, 0, &backend);
    struct counted_job *jobs = make_counted_jobs(5, "rerun");
    static const int expected_runs[5] = {2, 2, 2, 1, 1};
    store_stats st;

    jobs[2].tagged.put.fail_after = 7;
    ck_assert_int_eq(run_behind_gate(s, base, jobs, 5, STORE_JOB_RERUNNABLE, -1), 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(done_order[i + 1], i);
        ck_assert_int_eq(done_rc[i + 1], i == 2 ? 7 : 0);
        ck_assert_int_eq(jobs[i].runs, expected_runs[i]);
    }
    check_committed(s, jobs, 5, 2);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.flat_batches, 1);
    ck_assert_uint_eq(st.reruns, 1);
    ck_assert_uint_eq(st.jobs, 6);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* A job that fails before writing anything changed nothing, so the flat
 * run goes on without a rerun. */
START_TEST(failure_before_write_stays_flat)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_counting_store(base, 0, 0, &backend);
    struct counted_job *jobs = make_counted_jobs(5, "nowrite");
    store_stats st;

    jobs[1].fail_before_write = STORE_NOTFOUND;
    ck_assert_int_eq(run_behind_gate(s, base, jobs, 5, STORE_JOB_RERUNNABLE, -1), 0);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(done_rc[i + 1], i == 1 ? STORE_NOTFOUND : 0);
        ck_assert_int_eq(jobs[i].runs, 1);
    }
    check_committed(s, jobs, 5, 1);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.flat_batches, 1);
    ck_assert_uint_eq(st.reruns, 0);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* One job without STORE_JOB_RERUNNABLE makes the whole batch nested, and
 * no job runs twice even when one fails after writing. */
START_TEST(plain_job_keeps_batch_nested)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_counting_store(base, 0, 0, &backend);
    struct counted_job *jobs = make_counted_jobs(5, "mixed");
    store_stats st;

    jobs[3].tagged.put.fail_after = 9;
    ck_assert_int_eq(run_behind_gate(s, base, jobs, 5, STORE_JOB_RERUNNABLE, 1), 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(done_rc[i + 1], i == 3 ? 9 : 0);
        ck_assert_int_eq(jobs[i].runs, 1);
    }
    check_committed(s, jobs, 5, 3);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.flat_batches, 0);
    ck_assert_uint_eq(st.reruns, 0);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* A put larger than the map fails the LMDB transaction without a
 * successful write: the flat run must still be undone and run nested, so
 * that the other jobs commit. */
START_TEST(full_map_in_flat_batch_reruns)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_counting_store(base, 1 << 20, 0, &backend);
    struct counted_job *jobs = make_counted_jobs(3, "full");
    store_stats st;

    jobs[1].big = 1;
    ck_assert_int_eq(run_behind_gate(s, base, jobs, 3, STORE_JOB_RERUNNABLE, -1), 3);
    ck_assert_int_eq(done_rc[1], 0);
    ck_assert_int_eq(done_rc[2], STORE_FULL);
    ck_assert_int_eq(done_rc[3], 0);
    check_committed(s, jobs, 3, 1);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.reruns, 1);
    ck_assert_int_eq(store_writable(s), 1);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

/* After a rerun the next batch runs nested. A nested batch without a
 * failure after writing lets the one after it run flat again. With
 * max_batch 3, the nine jobs queued behind the gate form three batches. */
START_TEST(rerun_pauses_flat_batches)
{
    struct store_backend backend;
    struct event_base *base = event_base_new();
    store *s = open_counting_store(base, 0, 3, &backend);
    struct counted_job *jobs = make_counted_jobs(9, "pause");
    static const int expected_runs[9] = {2, 1, 1, 1, 1, 1, 1, 1, 1};
    store_stats st;

    jobs[0].tagged.put.fail_after = 5;
    /* Three nested begins for the rerun of the first batch, three for the
     * paused second batch, none for the third. */
    ck_assert_int_eq(run_behind_gate(s, base, jobs, 9, STORE_JOB_RERUNNABLE, -1), 6);
    for (int i = 0; i < 9; i++) {
        ck_assert_int_eq(done_rc[i + 1], i == 0 ? 5 : 0);
        ck_assert_int_eq(jobs[i].runs, expected_runs[i]);
    }
    check_committed(s, jobs, 9, 0);
    store_get_stats(s, &st);
    ck_assert_uint_eq(st.commits, 4);
    ck_assert_uint_eq(st.flat_batches, 2);
    ck_assert_uint_eq(st.reruns, 1);
    store_close(s);
    event_base_free(base);
    free(jobs);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *suite = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, put_get_del_roundtrip, 0, sizeof(kv_cases) / sizeof(kv_cases[0]));
    tcase_add_test(tc, del_removes_and_reports_missing);
    tcase_add_test(tc, nooverwrite_reports_exists);
    tcase_add_test(tc, invalid_keys_rejected);
    tcase_add_test(tc, prefix_iteration_in_order);
    tcase_add_test(tc, cursor_seek_past_end);
    tcase_add_test(tc, cursor_del_moves_to_next);
    tcase_add_test(tc, counter_add_and_get);
    tcase_add_test(tc, read_txn_reused);
    tcase_add_test(tc, cursor_reused_across_reads);
    tcase_add_test(tc, read_txn_per_thread);
    tcase_add_test(tc, read_cache_across_stores);
    tcase_add_test(tc, failing_job_rolls_back_alone);
    tcase_add_test(tc, completions_in_submission_order);
    tcase_add_test(tc, group_commit_batches);
    tcase_add_test(tc, max_batch_option_limits_batch);
    tcase_add_test(tc, close_drains_queued_jobs);
    tcase_add_test(tc, reopen_sees_all_data);
    tcase_add_test(tc, run_inside_job_rejected);
    tcase_add_test(tc, writable_and_read_only);
    tcase_add_test(tc, read_only_missing_store_fails);
    tcase_add_test(tc, full_map_reported);
    tcase_add_test(tc, second_process_reads_and_writes);
    tcase_add_test(tc, sigkill_keeps_confirmed_writes);
    tcase_add_test(tc, failed_commit_fails_whole_batch);
    tcase_add_test(tc, loop_read_parked_until_loop_runs);
    tcase_add_test(tc, parked_read_sees_new_commit);
    tcase_add_test(tc, nested_reads_of_two_stores_unpark);
    tcase_add_test(tc, key_tables_count_changes);
    tcase_add_test(tc, deferred_flush_orders_completions);
    tcase_add_test(tc, default_never_defers);
    tcase_add_test(tc, batch_gathers_after_large_one);
    tcase_add_test(tc, no_gather_takes_jobs_at_once);
    tcase_add_test(tc, lone_job_commits_durably);
    tcase_add_test(tc, short_queue_not_deferred);
    tcase_add_test(tc, one_queued_job_defers);
    tcase_add_test(tc, empty_commit_not_a_flush);
    tcase_add_test(tc, rerunnable_batch_runs_flat);
    tcase_add_test(tc, failed_flat_job_reruns_batch);
    tcase_add_test(tc, failure_before_write_stays_flat);
    tcase_add_test(tc, plain_job_keeps_batch_nested);
    tcase_add_test(tc, full_map_in_flat_batch_reruns);
    tcase_add_test(tc, rerun_pauses_flat_batches);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(store_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
