/* SCIM users, groups and memberships in the store: the write jobs that
 * create, replace, patch and delete them with their indexes, and the reads
 * the HTTP handlers use to render them.
 *
 * Key layouts are those of store.h. Every key starts with the 36-character
 * account id, so nothing here can reach another account's records. Stored
 * resources carry `id`, `schemas`, their attributes and `meta` with
 * resourceType, created, lastModified and version. Rendering adds
 * `meta.location`, a user's `groups` and a group's `members`.
 *
 * Write jobs run on the store's writer thread (store_submit) or through
 * store_run. They read the current record inside the write transaction, so
 * uniqueness checks, If-Match checks and PATCH apply to the latest state.
 * A job that fails for a client-visible reason fills `w->err` and returns
 * SCIM_STORE_REJECTED, which rolls back everything the job wrote.
 */
#ifndef IDGATE_SCIM_STORE_H
#define IDGATE_SCIM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "scim/schema.h"
#include "store.h"

struct scim_patch;

/* A job returned this after filling `err` with the HTTP status to send. */
#define SCIM_STORE_REJECTED (-100)

/* Maximum length of a userName, displayName, externalId or email value, in
 * bytes, so that every index key fits the store's 511-byte key limit. */
#define SCIM_STORE_MAX_KEY_VALUE 400

/* One write: inputs, then outputs. Owned by the caller, who frees it with
 * scim_write_clear after the completion has run. */
typedef struct scim_write {
    char account[STORE_ID_LEN + 1];
    char actor[80];                /* "scim:<key id>" for the audit log */
    char id[STORE_ID_LEN + 1];     /* target id; set by create jobs */
    json *input;                   /* create and replace: normalized resource (owned) */
    char *if_match;                /* If-Match header value, or NULL (owned) */
    char *if_none_match;           /* If-None-Match header value, or NULL (owned) */
    const struct scim_patch *patch; /* patch jobs: parsed request, owned by the caller */
    int replace_members;           /* group replace: 1 to replace the member list */
    unsigned cleanup_limit;        /* group delete: most memberships removed inline; 0 for
                                    * SCIM_STORE_CLEANUP_LIMIT */

    int prepared;                  /* 1 once scim_store_user_prepare has run */

    json *result;   /* the stored resource after the write (owned); NULL after a delete
                     * and after a user create, which keeps only `result_text` */
    char *result_text; /* the stored JSON text of `result` when the job wrote the record
                        * (owned, `result_len` bytes, NUL-terminated), else NULL */
    size_t result_len;
    scim_error err; /* filled when the job returned SCIM_STORE_REJECTED */
    int cleanup_pending; /* group delete: 1 when membership records remain for
                          * scim_store_group_cleanup */
} scim_write;

/* Frees the owned members of `w` and zeroes it. */
void scim_write_clear(scim_write *w);

/* Picks a new user's id and writes its stored text into `w->result_text`
 * from `w->input`, with meta.created and meta.lastModified now and version
 * W/"1". The event loop calls this before submitting scim_store_user_create,
 * because every write waits for the one writer thread, which then only
 * stores the text. The job calls it when the caller did not. Returns 0 or a
 * STORE_* error. */
int scim_store_user_prepare(scim_write *w);

/* Write jobs (store_job_fn); `arg` is a scim_write. Each returns 0,
 * SCIM_STORE_REJECTED with `err` filled (404 unknown id, 409 uniqueness,
 * 412 stale If-Match, 400 invalid members or patch), or a STORE_* error. */
int scim_store_user_create(store_txn *t, void *arg);
int scim_store_user_replace(store_txn *t, void *arg);
int scim_store_user_patch(store_txn *t, void *arg);
int scim_store_user_delete(store_txn *t, void *arg);
int scim_store_group_create(store_txn *t, void *arg);
int scim_store_group_replace(store_txn *t, void *arg);
int scim_store_group_patch(store_txn *t, void *arg);
int scim_store_group_delete(store_txn *t, void *arg);

/* Deleting a group with many members would hold the writer for seconds, so
 * scim_store_group_delete removes the group itself (record, name and
 * externalId index entries, licence mapping) at once and removes its
 * membership records inline only when there are at most `cleanup_limit`.
 * Otherwise it records a pending clean-up in T_META under
 * SCIM_STORE_CLEANUP_PREFIX + ACC + group id (value: the actor) and sets
 * `cleanup_pending`; scim_store_group_cleanup jobs then remove the
 * memberships in chunks, each raising the membership events of its
 * members. Until then the remaining records are invisible: the reads below
 * skip groups that no longer exist. */
#define SCIM_STORE_CLEANUP_LIMIT 2000
#define SCIM_STORE_CLEANUP_PREFIX "scim:group-cleanup:"

/* One clean-up job: inputs, then outputs. */
typedef struct scim_cleanup {
    char account[STORE_ID_LEN + 1];
    char group_id[STORE_ID_LEN + 1];
    unsigned limit;        /* most memberships removed by one job; 0 for the default */
    unsigned long removed; /* memberships this job removed */
    int done;              /* 1 when no record remains and the pending entry is gone */
} scim_cleanup;

/* Write job (store_job_fn); `arg` is a scim_cleanup. Removes up to `limit`
 * memberships of a deleted group; the job that finds fewer also removes
 * the member counter and the pending entry. Sets `done` without writing
 * when nothing is pending, and drops the entry when the account is gone.
 * Returns 0 or a STORE_* error. */
int scim_store_group_cleanup(store_txn *t, void *arg);

/* Calls `fn` with the account and group id of each pending clean-up, in key
 * order, until `fn` returns nonzero (which is then returned). */
typedef int (*scim_store_cleanup_fn)(const char *account, const char *group_id, void *ctx);
int scim_store_pending_cleanups(store_txn *t, scim_store_cleanup_fn fn, void *ctx);

/* Reads, on any transaction. Loaded resources are new trees that the caller
 * frees with json_free; they do not depend on the transaction. */
int scim_store_user_load(store_txn *t, const char *account, const char *id, json **out);
int scim_store_group_load(store_txn *t, const char *account, const char *id, json **out);

/* The stored meta.version (W/"<n>") of a resource, borrowed from it, or
 * NULL. */
const char *scim_store_version(const json *res);

/* Looks up ids through the unique name indexes (case-insensitive). Writes
 * the id into `id` and returns 0, or STORE_NOTFOUND. */
int scim_store_user_by_name(store_txn *t, const char *account, const char *user_name,
                            char id[STORE_ID_LEN + 1]);
int scim_store_group_by_name(store_txn *t, const char *account, const char *display_name,
                             char id[STORE_ID_LEN + 1]);

/* Calls `fn` with each id that the externalId (exact) or email
 * (case-insensitive) index maps `value` to, in id order, until `fn` returns
 * nonzero (which is then returned). `users` selects T_USER_EXTIDS or
 * T_GROUP_EXTIDS for externalIds. */
typedef int (*scim_store_id_fn)(const char *id, void *ctx);
int scim_store_ids_by_extid(store_txn *t, int users, const char *account, const char *value,
                            scim_store_id_fn fn, void *ctx);
int scim_store_ids_by_email(store_txn *t, const char *account, const char *value,
                            scim_store_id_fn fn, void *ctx);

/* Reads the stored JSON text of a user (borrowed from `t`, valid until the
 * transaction ends). STORE_NOTFOUND when there is no such user. */
int scim_store_user_text(store_txn *t, const char *account, const char *id, store_val *out);

/* Walks the account's users or groups in id order, calling `fn` with each
 * id and stored JSON text (borrowed, valid during the call). Stops when
 * `fn` returns nonzero and returns that value. */
typedef int (*scim_store_scan_fn)(const char *id, const char *text, size_t len, void *ctx);
int scim_store_scan(store_txn *t, int users, const char *account, scim_store_scan_fn fn,
                    void *ctx);

/* Walks like scim_store_scan, but first steps over `skip` resources without
 * reading them and calls `fn` for at most `limit` resources. */
int scim_store_scan_page(store_txn *t, int users, const char *account, uint64_t skip,
                         uint64_t limit, scim_store_scan_fn fn, void *ctx);

/* Reads the account's number of users or groups from the total that the
 * create and delete jobs keep. STORE_NOTFOUND when no job has kept it yet
 * (a store written by an older version): count with scim_store_count. */
int scim_store_total(store_txn *t, int users, const char *account, uint64_t *out);

/* Number of users or groups of the account: the kept total, or a count. */
int scim_store_count(store_txn *t, int users, const char *account, uint64_t *out);

/* Builds the user's read-only `groups` attribute: an array of {value,
 * display, $ref, type "direct"} from T_MEMBER_OF. `base_url` is the SCIM
 * base ("https://host/scim/v2"). */
int scim_store_user_groups(store_txn *t, const char *account, const char *user_id,
                           const char *base_url, json **out);
/* Builds a group's `members` attribute: an array of {value, display,
 * $ref, type "User"} from T_MEMBERS, in user id order. */
int scim_store_group_members(store_txn *t, const char *account, const char *group_id,
                             const char *base_url, json **out);
/* Calls `fn` with each member id of the group, in id order. */
int scim_store_group_member_ids(store_txn *t, const char *account, const char *group_id,
                                scim_store_id_fn fn, void *ctx);
/* Calls `fn` with each group id of the user (T_MEMBER_OF), in id order,
 * skipping deleted groups whose clean-up is pending. */
int scim_store_user_group_ids(store_txn *t, const char *account, const char *user_id,
                              scim_store_id_fn fn, void *ctx);
/* 1 when the group exists and the membership record exists, 0 when not,
 * or a STORE_* error. */
int scim_store_is_member(store_txn *t, const char *account, const char *group_id,
                         const char *user_id);
/* The group's member count from T_COUNTERS. */
int scim_store_member_count(store_txn *t, const char *account, const char *group_id,
                            uint64_t *out);

/* Writes the current UTC time as RFC 3339 with milliseconds
 * ("2026-12-04T16:12:31.123Z") into `out`. */
void scim_store_now(char out[32]);

/* 1 when an If-Match or If-None-Match header value (a list of entity tags
 * or "*") matches `version` under weak comparison, else 0. */
int scim_etag_matches(const char *header, const char *version);

/* Maximum number of clashes that a refold report names one by one. */
#define SCIM_REFOLD_CLASHES_MAX 16

/* An index entry that the refold dropped: two resources whose names
 * became the same under the wider fold, or a value too long once folded. */
typedef struct scim_refold_clash {
    char account[STORE_ID_LEN + 1];
    char owner[STORE_ID_LEN + 1];   /* keeps the name index entry; "" for a long value */
    char dropped[STORE_ID_LEN + 1]; /* is no longer found by the value */
    const char *attr;               /* "userName", "displayName" or "emails.value" */
} scim_refold_clash;

typedef struct scim_refold_report {
    int ran;                   /* 0 when the store was refolded before */
    unsigned long moved;       /* entries moved to their new keys */
    unsigned long clashes_total;
    unsigned long unfoldable;  /* entries dropped: the folded value does not fit a key */
    size_t n_clashes;          /* both kinds */
    scim_refold_clash clashes[SCIM_REFOLD_CLASHES_MAX];
} scim_refold_report;

/* Rewrites the userName, displayName and email index keys that a store
 * written by an earlier build folded in ASCII letters only, so that they
 * hold the fold of casefold.h, and records in T_META that it did. Runs
 * once per store, in one write transaction, through store_run. When two
 * resources' names fold to the same key, the one already at that key keeps
 * it and the other is reported. An entry whose folded value does not fit a
 * key is dropped and reported. Returns 0 or a STORE_* error. */
int scim_store_refold(store *s, scim_refold_report *report);

#endif
