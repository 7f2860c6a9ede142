/* Audit log: one JSON event per change to an account's users, groups,
 * memberships, licence tiers, directory groups, keys, domains and settings,
 * and per sign-in attempt. Events live in T_AUDIT under
 * ACC + 8-byte big-endian microseconds + 4-byte big-endian sequence, so an
 * account's events iterate in time order. Each event is
 *   {"id", "time", "kind", "actor", "account", "details"}
 * where "id" is the key suffix in hex (an opaque, ordered paging cursor),
 * "time" is RFC 3339 UTC with microseconds and "details" an object. */
#ifndef IDGATE_AUDIT_H
#define IDGATE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "store.h"

/* Event kinds. Families share a prefix so that a filter of "user." matches
 * every user event. */
#define AUDIT_USER_CREATED "user.created"
#define AUDIT_USER_UPDATED "user.updated"
#define AUDIT_USER_DEACTIVATED "user.deactivated"
#define AUDIT_USER_REACTIVATED "user.reactivated"
#define AUDIT_USER_DELETED "user.deleted"
/* An administrator removed a user's links to ID token subjects. */
#define AUDIT_USER_UNLINKED "user.unlinked"
#define AUDIT_GROUP_CREATED "group.created"
#define AUDIT_GROUP_UPDATED "group.updated"
#define AUDIT_GROUP_DELETED "group.deleted"
#define AUDIT_MEMBER_ADDED "membership.added"
#define AUDIT_MEMBER_REMOVED "membership.removed"
#define AUDIT_LICENSE_CHANGED "license.changed"
#define AUDIT_MAPPING_ADDED "mapping.added"
#define AUDIT_MAPPING_CHANGED "mapping.changed"
#define AUDIT_MAPPING_REMOVED "mapping.removed"
#define AUDIT_MAPPING_DROPPED "mapping.dropped"   /* its group was deleted over SCIM */
#define AUDIT_KEY_CREATED "key.created"
#define AUDIT_KEY_REVOKED "key.revoked"
#define AUDIT_TOKEN_CREATED "token.created" /* account-scoped admin tokens only */
#define AUDIT_TOKEN_REVOKED "token.revoked"
#define AUDIT_DOMAIN_ADDED "domain.added"
#define AUDIT_DOMAIN_VERIFIED "domain.verified"
#define AUDIT_DOMAIN_REMOVED "domain.removed"
#define AUDIT_IDP_CHANGED "idp.changed"
#define AUDIT_IDP_DELETED "idp.deleted"
#define AUDIT_ACCOUNT_CREATED "account.created"
#define AUDIT_ACCOUNT_RENAMED "account.renamed"
#define AUDIT_SETTINGS_CHANGED "settings.changed"
#define AUDIT_SIGNIN_SUCCEEDED "signin.succeeded"
#define AUDIT_SIGNIN_FAILED "signin.failed"
/* A sign-in linked the token's (issuer, sub) to a user for good. */
#define AUDIT_SIGNIN_SUBJECT_LINKED "signin.subject_linked"

/* Length of an event id: 12 key bytes in hex. */
#define AUDIT_ID_LEN 24

/* Appends one event for `account` inside the write transaction `t`.
 * `kind` is one of the AUDIT_* names. `actor` names who acted, for example
 * "scim:<key id>", "admin:<token id>", "user:<user id>" or "system".
 * `details` is an object with the ids involved (for a sign-in failure, its
 * "reason"). It is copied, stays owned by the caller and may be NULL.
 * Returns 0 or a STORE_* error. Never pass a secret or token in `details`. */
int audit_record(store_txn *t, const char *account, const char *kind, const char *actor,
                 const json *details);

/* One member of an event's details whose value is a string: `value` NULL
 * writes JSON null. */
typedef struct audit_field {
    const char *name;
    const char *value;
} audit_field;

/* Appends one event like audit_record, with details {name: value, ...} in
 * the order given, written as JSON text directly instead of through a tree,
 * for the events the provisioning jobs record per user or member. Invalid
 * UTF-8 in a name or value is stored as U+FFFD. Returns 0 or a STORE_*
 * error. Never pass a secret or token. */
int audit_record_fields(store_txn *t, const char *account, const char *kind, const char *actor,
                        const audit_field *fields, size_t count);

/* Query for audit_list. Zero or NULL members do not filter. */
typedef struct audit_query {
    int64_t since_usec;        /* events at or after this time (Unix microseconds) */
    int64_t until_usec;        /* events before this time */
    const char *kind;          /* exact kind, or a family prefix ending in '.' */
    const char *after;         /* id of the last event of the previous page */
    unsigned limit;            /* page size; 0 means 100, capped at 1000 */
    int newest_first;          /* 1: newest event first; 0: oldest first */
} audit_query;

/* Lists an account's events, oldest or newest first, into a new JSON array
 * `*out` the caller frees. `next` (AUDIT_ID_LEN + 1 bytes) receives the
 * cursor for the next page, or "" when this page is the last. Paging is
 * stable: the next page starts right after `after` in the chosen order, so
 * newer events written meanwhile do not shift a newest-first listing.
 * Returns 0, STORE_INVALID for a malformed `after`, or a STORE_* error. */
int audit_list(store_txn *t, const char *account, const audit_query *q, json **out,
               char next[AUDIT_ID_LEN + 1]);

/* Deletes events older than `before_usec` from every account, at most
 * `max` of them, and stores how many it deleted in `*deleted`. Called in
 * bounded batches from a store job so that one prune never keeps the
 * writer busy for long. Returns 0 or a STORE_* error. */
int audit_prune(store_txn *t, int64_t before_usec, unsigned max, unsigned *deleted);

/* Deletes every event of `account`. Returns 0 or a STORE_* error. */
int audit_delete_account(store_txn *t, const char *account);

/* Current time in Unix microseconds. */
int64_t audit_now_usec(void);

/* Formats Unix microseconds as RFC 3339 UTC ("2026-01-02T03:04:05.000006Z")
 * into `out` (at least 32 bytes). */
void audit_format_time(int64_t usec, char *out, size_t len);

/* Parses RFC 3339 ("2026-01-02T03:04:05Z", optional fraction, "Z" or an
 * offset) or a plain date ("2026-01-02") into Unix microseconds. Returns 0,
 * or -1 when `s` is invalid. */
int audit_parse_time(const char *s, int64_t *out);

#endif
