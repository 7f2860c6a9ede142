/* The LMDB backend: one environment directory (data.mdb, lock.mdb) with one
 * named database per enum store_table.
 *
 * The environment is opened with MDB_NOTLS so that read transactions are not
 * tied to threads and can be reset and renewed. Commits are durable: the
 * environment uses neither MDB_NOSYNC nor MDB_NOMETASYNC, and not
 * MDB_WRITEMAP either, which LMDB does not allow with nested transactions.
 * Only lmdb_txn_commit_top sets MDB_NOMETASYNC, for the one commit that the
 * front end asks to defer.
 * Several processes may open the same directory at once (the server and a
 * command-line tool); LMDB's lock file serializes their writers.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <lmdb.h>

#include "log.h"
#include "store_backend.h"

static const char *const table_names[T_COUNT] = {
    [T_META] = "meta",
    [T_ACCOUNTS] = "accounts",
    [T_DOMAINS] = "domains",
    [T_ACCOUNT_DOMAINS] = "account_domains",
    [T_SCIM_KEYS] = "scim_keys",
    [T_SCIM_KEY_IDS] = "scim_key_ids",
    [T_ADMIN_TOKENS] = "admin_tokens",
    [T_USERS] = "users",
    [T_USER_NAMES] = "user_names",
    [T_USER_EXTIDS] = "user_extids",
    [T_USER_EMAILS] = "user_emails",
    [T_GROUPS] = "groups",
    [T_GROUP_NAMES] = "group_names",
    [T_GROUP_EXTIDS] = "group_extids",
    [T_MEMBERS] = "members",
    [T_MEMBER_OF] = "member_of",
    [T_COUNTERS] = "counters",
    [T_IDPS] = "idps",
    [T_ISSUERS] = "issuers",
    [T_LOGINS] = "logins",
    [T_SESSIONS] = "sessions",
    [T_USER_SESSIONS] = "user_sessions",
    [T_TOKENS_SEEN] = "tokens_seen",
    [T_TIER_MAPS] = "tier_maps",
    [T_USER_TIERS] = "user_tiers",
    [T_AUDIT] = "audit",
    [T_SUBJECTS] = "subjects",
    [T_USER_SUBJECTS] = "user_subjects",
};

/* Attached to the MDB_env with mdb_env_set_userctx so that operations given
 * only a transaction can find the table handles. */
struct lmdb_env {
    MDB_env *env;
    MDB_dbi dbi[T_COUNT];
};

static int map_error(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return STORE_OK;
    case MDB_NOTFOUND:
        return STORE_NOTFOUND;
    case MDB_KEYEXIST:
        return STORE_EXISTS;
    case MDB_MAP_FULL:
    case ENOSPC:
        return STORE_FULL;
    /* Too many dirty pages in one write transaction: this batch cannot
     * hold the job, which the caller sees as the store being full. */
    case MDB_TXN_FULL:
        return STORE_FULL;
    case ENOMEM:
        return STORE_NOMEM;
    case EINVAL:
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
        return STORE_INVALID;
    case EACCES:
        return STORE_RDONLY;
    default:
        return STORE_IO;
    }
}

static MDB_dbi table_dbi(MDB_txn *txn, enum store_table tab)
{
    struct lmdb_env *le = mdb_env_get_userctx(mdb_txn_env(txn));

    return le->dbi[tab];
}

/* Creates `path` and its missing parents with mode 0700. */
static int make_dirs(const char *path)
{
    char *copy = strdup(path);
    int rc = 0;

    if (!copy)
        return STORE_NOMEM;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            rc = STORE_IO;
            goto out;
        }
        *p = '/';
    }
    if (mkdir(copy, 0700) != 0 && errno != EEXIST)
        rc = STORE_IO;
out:
    if (rc)
        log_event(LOG_ERROR, "creating the store directory failed", "path", copy, "error",
                  strerror(errno), NULL);
    free(copy);
    return rc;
}

static int open_tables(struct lmdb_env *le, int read_only)
{
    MDB_txn *txn;
    unsigned flags = read_only ? 0 : MDB_CREATE;
    int rc = mdb_txn_begin(le->env, NULL, read_only ? MDB_RDONLY : 0, &txn);

    if (rc)
        return rc;
    for (int tab = 0; tab < T_COUNT; tab++) {
        rc = mdb_dbi_open(txn, table_names[tab], flags, &le->dbi[tab]);
        if (rc) {
            log_event(LOG_ERROR, "opening a store table failed", "table", table_names[tab], "error",
                      mdb_strerror(rc), NULL);
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

static int lmdb_env_open(const store_options *opt, void **out)
{
    struct lmdb_env *le = calloc(1, sizeof(*le));
    unsigned flags = MDB_NOTLS | (opt->read_only ? MDB_RDONLY : 0);
    int dead = 0;
    int rc;

    if (!le)
        return STORE_NOMEM;
    if (!opt->read_only && (rc = make_dirs(opt->path)) != 0) {
        free(le);
        return rc;
    }
    rc = mdb_env_create(&le->env);
    if (rc)
        goto out;
    if ((rc = mdb_env_set_maxdbs(le->env, T_COUNT)) != 0 ||
        (rc = mdb_env_set_mapsize(le->env, opt->map_size)) != 0)
        goto out;
    rc = mdb_env_open(le->env, opt->path, flags, 0600);
    if (rc)
        goto out;
    mdb_env_set_userctx(le->env, le);

    /* A process that died inside a read transaction leaves its reader slot
     * behind, which pins old pages until the slot is cleared. */
    rc = mdb_reader_check(le->env, &dead);
    if (rc)
        goto out;
    if (dead > 0)
        log_msgf(LOG_INFO, "store: cleared %d reader slots left by dead processes", dead);

    rc = open_tables(le, opt->read_only);
out:
    if (rc) {
        log_event(LOG_ERROR, "opening the store failed", "path", opt->path, "error",
                  mdb_strerror(rc), NULL);
        if (le->env)
            mdb_env_close(le->env);
        free(le);
        return map_error(rc);
    }
    *out = le;
    return 0;
}

static void lmdb_env_close(void *env)
{
    struct lmdb_env *le = env;

    if (!le)
        return;
    mdb_env_close(le->env);
    free(le);
}

/* NOTE: after another process opens the store with a larger map size, LMDB
 * returns MDB_MAP_RESIZED here. That becomes STORE_IO until this process
 * restarts, so every process should use the same map size. */
static int lmdb_txn_begin(void *env, void *parent, unsigned flags, void **out)
{
    struct lmdb_env *le = env;
    MDB_txn *txn;
    int rc = mdb_txn_begin(le->env, parent, (flags & STORE_TXN_RDONLY) ? MDB_RDONLY : 0, &txn);

    if (rc)
        return map_error(rc);
    *out = txn;
    return 0;
}

static int lmdb_txn_commit(void *txn)
{
    return map_error(mdb_txn_commit(txn));
}

/* Commits a top-level write transaction, with MDB_NOMETASYNC set for this
 * commit alone when `defer` is 1. In LMDB 0.9.24 mdb_txn_commit writes the
 * dirty pages with pwrite, flushes data.mdb with fdatasync (skipped only
 * with MDB_NOSYNC) and then writes the meta page: through a second
 * descriptor opened with O_DSYNC, which waits for the device a second time,
 * or with MDB_NOMETASYNC through the ordinary descriptor without a flush.
 * The meta pages are pages 0 and 1 of data.mdb, so the fdatasync also
 * flushes the meta pages of every earlier commit: after it, all earlier
 * commits are durable, and a deferred commit becomes durable at the next
 * commit's fdatasync or at lmdb_env_sync. A crash before that loses the
 * deferred commit but never leaves a meta page that points to unwritten
 * pages, because the pages were flushed first.
 *
 * A commit with no dirty page returns early in LMDB, with neither a flush
 * nor a meta write. The transaction id tells the cases apart: only a meta
 * write advances the environment's last transaction id to this
 * transaction's id. A larger id means that another process committed after
 * this transaction ended, and its commit flushed the file after our meta
 * pages had been written, which counts as well.
 *
 * NOTE: mdb_env_set_flags rewrites the environment's flags word, which
 * reader threads read for other bits. Only the writer thread changes it and
 * those bits stay the same, so a reader sees the right value on the
 * platforms built for, but in C terms it is a data race. */
static int lmdb_txn_commit_top(void *txn, int defer, int *flushed)
{
    MDB_env *env = mdb_txn_env(txn);
    size_t id = mdb_txn_id(txn);
    MDB_envinfo info;
    int rc;

    *flushed = 0;
    if (defer)
        mdb_env_set_flags(env, MDB_NOMETASYNC, 1);
    rc = mdb_txn_commit(txn);
    if (defer)
        mdb_env_set_flags(env, MDB_NOMETASYNC, 0);
    if (rc)
        return map_error(rc);
    if (mdb_env_info(env, &info) == 0 && info.me_last_txnid >= id)
        *flushed = 1;
    return 0;
}

/* Flushes data.mdb (fdatasync), which makes every commit that has
 * returned durable, meta pages included. */
static int lmdb_env_sync(void *env)
{
    struct lmdb_env *le = env;

    return map_error(mdb_env_sync(le->env, 1));
}

static void lmdb_txn_abort(void *txn)
{
    mdb_txn_abort(txn);
}

/* The meta page with the higher transaction id names the latest commit. A
 * commit writes it before it returns (through the page cache, also when its
 * flush is deferred), so a caller that has seen a commit return reads that
 * commit's id or a later one. */
static uint64_t lmdb_env_last_txn(void *env)
{
    struct lmdb_env *le = env;
    MDB_envinfo info;

    if (mdb_env_info(le->env, &info) != 0)
        return 0;
    return info.me_last_txnid;
}

static uint64_t lmdb_txn_id(void *txn)
{
    return mdb_txn_id(txn);
}

static void lmdb_txn_reset(void *txn)
{
    mdb_txn_reset(txn);
}

static int lmdb_txn_renew(void *txn)
{
    return map_error(mdb_txn_renew(txn));
}

static void to_mdb(const store_val *v, MDB_val *m)
{
    m->mv_data = (void *)v->data;
    m->mv_size = v->len;
}

static void from_mdb(const MDB_val *m, store_val *v)
{
    v->data = m->mv_data;
    v->len = m->mv_size;
}

static int lmdb_get(void *txn, enum store_table tab, const store_val *key, store_val *val)
{
    MDB_val k, v;
    int rc;

    to_mdb(key, &k);
    rc = mdb_get(txn, table_dbi(txn, tab), &k, &v);
    if (rc)
        return map_error(rc);
    from_mdb(&v, val);
    return 0;
}

static int lmdb_put(void *txn, enum store_table tab, const store_val *key, const store_val *val,
                    unsigned flags)
{
    MDB_val k, v;

    to_mdb(key, &k);
    to_mdb(val, &v);
    return map_error(mdb_put(txn, table_dbi(txn, tab), &k, &v,
                             (flags & STORE_NOOVERWRITE) ? MDB_NOOVERWRITE : 0));
}

static int lmdb_del(void *txn, enum store_table tab, const store_val *key)
{
    MDB_val k;

    to_mdb(key, &k);
    return map_error(mdb_del(txn, table_dbi(txn, tab), &k, NULL));
}

static int lmdb_cursor_open(void *txn, enum store_table tab, void **out)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, table_dbi(txn, tab), &c);

    if (rc)
        return map_error(rc);
    *out = c;
    return 0;
}

static int cursor_get(MDB_cursor *c, MDB_val *k, MDB_cursor_op op, store_val *key, store_val *val)
{
    MDB_val v;
    int rc = mdb_cursor_get(c, k, &v, op);

    if (rc)
        return map_error(rc);
    if (key)
        from_mdb(k, key);
    if (val)
        from_mdb(&v, val);
    return 0;
}

static int lmdb_cursor_seek(void *cursor, const store_val *key, store_val *k, store_val *v)
{
    MDB_val mk = {0, NULL};

    if (!key)
        return cursor_get(cursor, &mk, MDB_FIRST, k, v);
    to_mdb(key, &mk);
    return cursor_get(cursor, &mk, MDB_SET_RANGE, k, v);
}

static int lmdb_cursor_next(void *cursor, store_val *k, store_val *v)
{
    MDB_val mk = {0, NULL};

    return cursor_get(cursor, &mk, MDB_NEXT, k, v);
}

static int lmdb_cursor_seek_before(void *cursor, const store_val *key, store_val *k,
                                   store_val *v)
{
    MDB_val mk = {0, NULL};
    int rc;

    if (!key)
        return cursor_get(cursor, &mk, MDB_LAST, k, v);
    /* MDB_SET_RANGE finds the first key >= `key`; the entry before it is
     * the answer. With no such key, every key is smaller and the last one
     * is the answer. */
    to_mdb(key, &mk);
    rc = cursor_get(cursor, &mk, MDB_SET_RANGE, NULL, NULL);
    if (rc == STORE_NOTFOUND)
        return cursor_get(cursor, &mk, MDB_LAST, k, v);
    if (rc)
        return rc;
    return cursor_get(cursor, &mk, MDB_PREV, k, v);
}

static int lmdb_cursor_prev(void *cursor, store_val *k, store_val *v)
{
    MDB_val mk = {0, NULL};

    return cursor_get(cursor, &mk, MDB_PREV, k, v);
}

static int lmdb_cursor_del(void *cursor)
{
    return map_error(mdb_cursor_del(cursor, 0));
}

static void lmdb_cursor_close(void *cursor)
{
    mdb_cursor_close(cursor);
}

/* LMDB lets a read-only cursor outlive its transaction and be renewed in
 * another one. */
static int lmdb_cursor_renew(void *txn, void *cursor)
{
    return map_error(mdb_cursor_renew(txn, cursor));
}

const struct store_backend store_lmdb_backend = {
    .name = "lmdb",
    .env_open = lmdb_env_open,
    .env_close = lmdb_env_close,
    .txn_begin = lmdb_txn_begin,
    .txn_commit = lmdb_txn_commit,
    .txn_commit_top = lmdb_txn_commit_top,
    .env_sync = lmdb_env_sync,
    .txn_abort = lmdb_txn_abort,
    .txn_reset = lmdb_txn_reset,
    .txn_renew = lmdb_txn_renew,
    .txn_id = lmdb_txn_id,
    .env_last_txn = lmdb_env_last_txn,
    .get = lmdb_get,
    .put = lmdb_put,
    .del = lmdb_del,
    .cursor_open = lmdb_cursor_open,
    .cursor_seek = lmdb_cursor_seek,
    .cursor_next = lmdb_cursor_next,
    .cursor_del = lmdb_cursor_del,
    .cursor_close = lmdb_cursor_close,
    .cursor_renew = lmdb_cursor_renew,
    .cursor_seek_before = lmdb_cursor_seek_before,
    .cursor_prev = lmdb_cursor_prev,
};
