/* Measures the store's group commit: jobs per commit and jobs per second
 * with 1, 16, 64 and 256 jobs in flight, and for one burst of 2000 jobs.
 * Each job writes a 600-byte record and two index entries (a SCIM create
 * writes more tables).
 *
 * Usage: store_bench [directory]   (default: a new directory under /tmp)
 *        store_bench --compare-defer [--job-us N] [--rounds N] [directory]
 *        store_bench --fixed-batches flat|nested [directory]
 * The directory is emptied of data.mdb and lock.mdb before each run.
 *
 * --compare-defer runs 2000 rerunnable jobs with 8 and then 64 in flight,
 * once per deferral threshold (store_options.defer_min_queued 1, 16 and
 * never) in each of `--rounds` rounds (default 5). The thresholds alternate
 * within each round, so that a change in the disk's speed hits them alike.
 * Each job first spins for `--job-us` microseconds of CPU (default 25, about
 * a SCIM create's job time). The summary prints each threshold's median and
 * the geometric mean of the per-round ratios of jobs per second.
 *
 * --fixed-batches flat|nested runs 200 batches of exactly 25 jobs, with keys
 * spread over the tables, as rerunnable (flat) or plain (nested) jobs. Each
 * batch waits behind a gate job, so the work does not depend on timing and
 * `valgrind --tool=callgrind` counts the same instructions on every run. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
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
    unsigned flags; /* store_submit_flags flags of every job */
};

static char record[600];
static struct bench *current;
/* CPU microseconds each job spends before writing (--job-us); -1 until
 * set, which means 0 for the plain runs and 25 for --compare-defer. */
static long job_cpu_usec = -1;

static long thread_cpu_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static int create_user_fn(store_txn *t, void *arg)
{
    char key[64];
    unsigned long n = (unsigned long)(uintptr_t)arg;
    long spin_until = thread_cpu_usec() + job_cpu_usec;
    int rc;

    while (job_cpu_usec > 0 && thread_cpu_usec() < spin_until)
        ;

    snprintf(key, sizeof(key), "acc-0000/user-%08lu", n);
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

    if (store_submit_flags(b->s, create_user_fn, on_done, (void *)n, b->flags) != 0) {
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

/* Figures of one run. */
struct result {
    double jobs_per_sec;
    double jobs_per_commit;
    double commit_usec; /* mean top-level commit time */
};

/* Runs `total` jobs keeping `in_flight` submitted at a time on a fresh
 * store opened with `opt`, prints one result line and returns its figures. */
static struct result run_with(const store_options *opt, const char *label, int total,
                              int in_flight, unsigned flags)
{
    struct bench b = {.total = total, .in_flight = in_flight, .flags = flags};
    struct result r;
    store_stats st;
    double t0, elapsed;

    clear_dir(opt->path);
    current = &b;
    b.base = event_base_new();
    if (!b.base || store_open(opt, b.base, &b.s) != 0) {
        fprintf(stderr, "opening the store in %s failed\n", opt->path);
        exit(1);
    }
    t0 = now_sec();
    for (int i = 0; i < in_flight && b.submitted < total; i++)
        submit_one(&b);
    while (b.completed < total)
        event_base_loop(b.base, EVLOOP_ONCE);
    elapsed = now_sec() - t0;
    store_get_stats(b.s, &st);
    r.jobs_per_sec = total / elapsed;
    r.jobs_per_commit = st.commits ? (double)st.jobs / st.commits : 0.0;
    r.commit_usec = st.commits ? (double)st.commit_usec_sum / st.commits : 0.0;
    printf("%-14s jobs=%d in_flight=%-4d commits=%-5llu jobs/commit=%6.1f "
           "jobs/s=%8.0f commits/s=%6.0f mean_commit_us=%6.0f syncs=%llu failed=%d\n",
           label, total, in_flight, (unsigned long long)st.commits, r.jobs_per_commit,
           r.jobs_per_sec, st.commits / elapsed, r.commit_usec, (unsigned long long)st.syncs,
           b.failed);
    store_close(b.s);
    event_base_free(b.base);
    return r;
}

static void run(const char *dir, const char *label, int total, int in_flight)
{
    store_options opt = {.path = dir};

    run_with(&opt, label, total, in_flight, 0);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(*v), compare_doubles);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Returns "1", "16" or "never" for a threshold, in a static buffer that the
 * next call overwrites. */
static const char *threshold_name(unsigned threshold)
{
    static char names[2][16];
    static int next;
    char *name = names[next++ % 2];

    if (threshold == UINT_MAX)
        snprintf(name, sizeof(names[0]), "never");
    else
        snprintf(name, sizeof(names[0]), "%u", threshold);
    return name;
}

#define MAX_ROUNDS 50
#define COMPARE_JOBS 2000

/* Alternates the deferral thresholds round by round for 8 and 64 jobs in
 * flight and prints the median jobs per second of each. */
static void compare_defer(const char *dir, int rounds)
{
    static const unsigned thresholds[] = {1, 16, UINT_MAX};
    static const int in_flight[] = {8, 64};
    enum { NT = sizeof(thresholds) / sizeof(thresholds[0]) };
    static double rates[NT][MAX_ROUNDS], sizes[NT][MAX_ROUNDS];

    for (size_t f = 0; f < sizeof(in_flight) / sizeof(in_flight[0]); f++) {
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < NT; i++) {
                store_options opt = {.path = dir, .defer_min_queued = thresholds[i]};
                char label[32];
                struct result res;

                snprintf(label, sizeof(label), "defer-from-%s", threshold_name(thresholds[i]));
                res = run_with(&opt, label, COMPARE_JOBS, in_flight[f], STORE_JOB_RERUNNABLE);
                rates[i][r] = res.jobs_per_sec;
                sizes[i][r] = res.jobs_per_commit;
            }
        }
        for (int i = 0; i < NT; i++) {
            for (int k = i + 1; k < NT; k++) {
                double log_sum = 0;
                int ahead = 0;

                for (int r = 0; r < rounds; r++) {
                    log_sum += log(rates[i][r] / rates[k][r]);
                    ahead += rates[i][r] > rates[k][r];
                }
                printf("ratio in_flight=%d defer_from=%s/%s geometric_mean=%.2f ahead=%d/%d\n",
                       in_flight[f], threshold_name(thresholds[i]), threshold_name(thresholds[k]),
                       exp(log_sum / rounds), ahead, rounds);
            }
        }
        for (int i = 0; i < NT; i++)
            printf("summary in_flight=%d defer_from=%s median jobs/s=%.0f "
                   "median jobs/commit=%.1f\n",
                   in_flight[f], threshold_name(thresholds[i]), median(rates[i], rounds),
                   median(sizes[i], rounds));
    }
}

/* A job that blocks the writer until the loop thread opens the gate, so
 * that the jobs queued meanwhile form one batch. */
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

static void gate_done(int rc, void *arg)
{
    current->completed++;
}

#define FIXED_BATCHES 200
#define FIXED_BATCH_JOBS 25

/* Runs FIXED_BATCHES batches of FIXED_BATCH_JOBS jobs with `flags`, each
 * behind a gate job, and prints the commit count. */
static void fixed_batches(const char *dir, unsigned flags)
{
    store_options opt = {.path = dir};
    struct bench b = {.flags = flags};
    store_stats st;
    uint32_t n = 0;

    clear_dir(dir);
    current = &b;
    b.base = event_base_new();
    if (!b.base || store_open(&opt, b.base, &b.s) != 0) {
        fprintf(stderr, "opening the store in %s failed\n", dir);
        exit(1);
    }
    for (int round = 0; round < FIXED_BATCHES; round++) {
        int target = b.completed + FIXED_BATCH_JOBS + 1;

        gate.entered = gate.open = 0;
        if (store_submit(b.s, gate_fn, gate_done, NULL) != 0)
            exit(1);
        pthread_mutex_lock(&gate.mu);
        while (!gate.entered)
            pthread_cond_wait(&gate.cv, &gate.mu);
        pthread_mutex_unlock(&gate.mu);
        for (int i = 0; i < FIXED_BATCH_JOBS; i++) {
            /* Multiplying by an odd constant permutes 32-bit numbers, so
             * the keys stay unique but land all over each table. */
            intptr_t key = (intptr_t)(uint32_t)(n++ * 2654435761u);

            if (store_submit_flags(b.s, create_user_fn, on_done, (void *)key, flags) != 0)
                exit(1);
        }
        pthread_mutex_lock(&gate.mu);
        gate.open = 1;
        pthread_cond_broadcast(&gate.cv);
        pthread_mutex_unlock(&gate.mu);
        while (b.completed < target)
            event_base_loop(b.base, EVLOOP_ONCE);
    }
    store_get_stats(b.s, &st);
    printf("fixed batches=%d jobs_per_batch=%d commits=%llu flat_batches=%llu failed=%d\n",
           FIXED_BATCHES, FIXED_BATCH_JOBS, (unsigned long long)st.commits,
           (unsigned long long)st.flat_batches, b.failed);
    store_close(b.s);
    event_base_free(b.base);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/store_bench.XXXXXX";
    static const int in_flight[] = {1, 16, 64, 256};
    const char *dir = NULL;
    int compare = 0, rounds = 5, made_dir;
    const char *fixed = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--compare-defer") == 0) {
            compare = 1;
        } else if (strcmp(argv[i], "--job-us") == 0 && i + 1 < argc) {
            job_cpu_usec = atol(argv[++i]);
        } else if (strcmp(argv[i], "--fixed-batches") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "flat") == 0 || strcmp(argv[i + 1], "nested") == 0)) {
            fixed = argv[++i];
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: store_bench [--compare-defer [--job-us N] [--rounds N] | "
                            "--fixed-batches flat|nested] [directory]\n");
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "store_bench: --rounds must be 1 to %d\n", MAX_ROUNDS);
        return 2;
    }
    made_dir = dir == NULL;
    if (made_dir)
        dir = mkdtemp(tmp);
    if (!dir) {
        perror("mkdtemp");
        return 1;
    }
    memset(record, 'u', sizeof(record));
    if (fixed) {
        fixed_batches(dir, strcmp(fixed, "flat") == 0 ? STORE_JOB_RERUNNABLE : 0);
    } else if (compare) {
        if (job_cpu_usec < 0)
            job_cpu_usec = 25;
        compare_defer(dir, rounds);
    } else {
        for (size_t i = 0; i < sizeof(in_flight) / sizeof(in_flight[0]); i++)
            run(dir, "steady", JOBS_PER_RUN, in_flight[i]);
        run(dir, "burst", BURST_JOBS, BURST_JOBS);
    }
    clear_dir(dir);
    if (made_dir)
        rmdir(dir);
    return 0;
}
