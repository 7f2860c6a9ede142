#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "app.h"
#include "json.h"
#include "log.h"
#include "oidc/session.h"
#include "oidc/sweep.h"

typedef struct sweep_job {
    int64_t now;
    unsigned removed;
} sweep_job;

/* 1 when a stored value has expired. A T_TOKENS_SEEN value is an int64_t;
 * the other tables store JSON with "expires" (and for sessions an idle limit). */
static int expired(enum store_table tab, const store_val *v, int64_t now)
{
    if (tab == T_TOKENS_SEEN) {
        int64_t until;
        if (v->len != sizeof until)
            return 1;
        memcpy(&until, v->data, sizeof until);
        return until < now;
    }
    json *j = json_parse(v->data, v->len, NULL, 0);
    if (j == NULL)
        return 1;
    int64_t expires = json_int_value(json_object_get(j, "expires"));
    int64_t last = json_int_value(json_object_get(j, "last_seen"));
    int64_t idle = json_int_value(json_object_get(j, "idle"));
    json_free(j);
    return expires < now || (tab == T_SESSIONS && idle > 0 && last + idle < now);
}

/* Collects up to OIDC_SWEEP_BATCH expired 32-byte keys of `tab`. */
static int collect(store_txn *t, enum store_table tab, int64_t now, uint8_t (*keys)[32],
                   size_t *n)
{
    store_cursor *c;
    store_val k, v;
    *n = 0;
    int rc = store_cursor_open(t, tab, &c);
    if (rc != 0)
        return rc;
    for (rc = store_cursor_seek(c, "", 0, &k, &v); rc == 0 && *n < OIDC_SWEEP_BATCH;
         rc = store_cursor_next(c, &k, &v)) {
        if (k.len == 32 && expired(tab, &v, now))
            memcpy(keys[(*n)++], k.data, 32);
    }
    store_cursor_close(c);
    return rc == STORE_NOTFOUND ? 0 : rc;
}

int oidc_sweep_run(store_txn *t, int64_t now, unsigned *removed)
{
    static const enum store_table tables[] = {T_LOGINS, T_TOKENS_SEEN, T_SESSIONS};
    uint8_t(*keys)[32] = malloc(OIDC_SWEEP_BATCH * 32);
    int rc = 0;
    *removed = 0;
    if (keys == NULL)
        return STORE_NOMEM;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0] && rc == 0; i++) {
        size_t n;
        rc = collect(t, tables[i], now, keys, &n);
        for (size_t j = 0; j < n && rc == 0; j++) {
            rc = tables[i] == T_SESSIONS ? oidc_session_delete_hash(t, keys[j])
                                         : store_del(t, tables[i], keys[j], 32);
            if (rc == STORE_NOTFOUND)
                rc = 0;
            (*removed)++;
        }
    }
    free(keys);
    return rc;
}

static int sweep_job_fn(store_txn *t, void *arg)
{
    sweep_job *j = arg;
    return oidc_sweep_run(t, j->now, &j->removed);
}

static void sweep_done(int rc, void *arg)
{
    sweep_job *j = arg;
    char n[16];
    snprintf(n, sizeof n, "%u", j->removed);
    if (rc != 0)
        log_event(LOG_WARN, "expired sign-in records not removed", "error", store_strerror(rc),
                  NULL);
    else if (j->removed > 0)
        log_event(LOG_DEBUG, "expired sign-in records removed", "count", n, NULL);
    free(j);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    oidc_state *st = arg;
    sweep_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return;
    j->now = oidc_now();
    if (store_submit(st->app->store, sweep_job_fn, sweep_done, j) != 0)
        free(j);
}

void oidc_sweep_start(oidc_state *st)
{
    struct timeval tv = {OIDC_SWEEP_INTERVAL, 0};
    st->sweeper = event_new(st->app->base, -1, EV_PERSIST, on_tick, st);
    if (st->sweeper == NULL || event_add(st->sweeper, &tv) != 0)
        log_event(LOG_WARN, "expired sign-in records will not be removed", NULL);
}

void oidc_sweep_stop(oidc_state *st)
{
    if (st->sweeper != NULL) {
        event_free(st->sweeper);
        st->sweeper = NULL;
    }
}
