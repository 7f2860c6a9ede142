/* Measures the store's group commit: jobs per commit and jobs per second
 * with 1, 16, 64 and 256 jobs in flight, and for one burst of 2000 jobs.
 * Each job writes what creating a SCIM user writes: a 600-byte record and
 * two index entries.
 *
 * Usage: store_bench [directory]   (default: a new directory under /tmp)
 * The directory is emptied of data.mdb and lock.mdb before each run. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "store.h"

#define JOBS_PER_RUN 4000
#define BURST_JOBS 2000

struct bench {
    store *s;
    struct event_base *base;
    int submitted;
    int completed;
    int failed;
    int total;
    int in_flight;
};

static char record[600];
static struct bench *current;

static int create_user_fn(store_txn *t, void *arg)
{
    char key[64];
    int n = (int)(intptr_t)arg;
    int rc;

    snprintf(key, sizeof(key), "acc-0000/user-%08d", n);
    rc = store_put(t, T_USERS, key, strlen(key), record, sizeof(record), STORE_NOOVERWRITE);
    if (rc == 0)
        rc = store_put(t, T_USER_NAMES, key, strlen(key), "id", 2, STORE_NOOVERWRITE);
    if (rc == 0)
        rc = store_put(t, T_USER_EMAILS, key, strlen(key), "", 0, 0);
    return rc;
}

static void submit_one(struct bench *b);

/* `arg` is the job's number; the run's state is in `current`. */
static void on_done(int rc, void *arg)
{
    struct bench *b = current;

    b->completed++;
    if (rc)
        b->failed++;
    if (b->submitted < b->total)
        submit_one(b);
}

static void submit_one(struct bench *b)
{
    intptr_t n = b->submitted++;

    if (store_submit(b->s, create_user_fn, on_done, (void *)n) != 0) {
        fprintf(stderr, "store_submit failed\n");
        exit(1);
    }
}

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void clear_dir(const char *dir)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    unlink(path);
}

/* Runs `total` jobs keeping `in_flight` submitted at a time, and prints one
 * result line. */
static void run(const char *dir, const char *label, int total, int in_flight)
{
    store_options opt = {.path = dir};
    struct bench b = {.total = total, .in_flight = in_flight};
    store_stats st;
    double t0, elapsed;

    clear_dir(dir);
    current = &b;
    b.base = event_base_new();
    if (!b.base || store_open(&opt, b.base, &b.s) != 0) {
        fprintf(stderr, "opening the store in %s failed\n", dir);
        exit(1);
    }
    t0 = now_sec();
    for (int i = 0; i < in_flight && b.submitted < total; i++)
        submit_one(&b);
    while (b.completed < total)
        event_base_loop(b.base, EVLOOP_ONCE);
    elapsed = now_sec() - t0;
    store_get_stats(b.s, &st);
    printf("%-14s jobs=%d in_flight=%-4d commits=%-5llu jobs/commit=%6.1f "
           "jobs/s=%8.0f commits/s=%6.0f mean_commit_us=%6.0f failed=%d\n",
           label, total, in_flight, (unsigned long long)st.commits,
           st.commits ? (double)st.jobs / st.commits : 0.0, total / elapsed, st.commits / elapsed,
           st.commits ? (double)st.commit_usec_sum / st.commits : 0.0, b.failed);
    store_close(b.s);
    event_base_free(b.base);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/store_bench.XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
    static const int in_flight[] = {1, 16, 64, 256};

    if (!dir) {
        perror("mkdtemp");
        return 1;
    }
    memset(record, 'u', sizeof(record));
    for (size_t i = 0; i < sizeof(in_flight) / sizeof(in_flight[0]); i++)
        run(dir, "steady", JOBS_PER_RUN, in_flight[i]);
    run(dir, "burst", BURST_JOBS, BURST_JOBS);
    clear_dir(dir);
    if (argc <= 1)
        rmdir(dir);
    return 0;
}
