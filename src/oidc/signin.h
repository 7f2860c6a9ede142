/* The part of a sign-in shared by the callback (authorization code) and the
 * unsolicited ID token POST: validating the ID token, finding the user,
 * creating the session and sending the browser on. */
#ifndef IDGATE_OIDC_SIGNIN_H
#define IDGATE_OIDC_SIGNIN_H

#include <stdint.h>

#include "oidc/idtoken.h"
#include "oidc/oidc.h"
#include "oidc/provider.h"

struct http_req;

typedef struct oidc_signin {
    struct http_req *r;             /* held until oidc_signin_free */
    oidc_state *st;
    oidc_idp idp;
    oidc_account_settings settings;
    char *nonce;                    /* NULL for an unsolicited ID token */
    char *target;                   /* where to go afterwards; "" for "/" */
    char *id_token;
    char *refresh_token;            /* NULL when the provider sent none */
    char *refresh_box;              /* refresh_token sealed for the session, or NULL */
    char *id_token_box;             /* id_token sealed for the session, or NULL */
    char tx_cookie[32];             /* login transaction cookie to delete, "" when none */
    int account_unverified;         /* account named only by an unverified token: log, not audit */
    oidc_provider *prov;
    int keys_refetched;
    oidc_claims claims;
    char user_id[40];
    const char *tier;               /* static string from license_user_tier */
    int link_action;                /* enum oidc_link_action of the matched user */
    const char *matched_claim;      /* static OIDC_MATCHED_* name of the rule that matched */
    int user_gone;                  /* the user was deleted or deactivated before the write */
    char *session_id;
    char *replaced_session;         /* the browser's previous session id, or NULL */
    int status;                     /* job outcome */
    char reason[160];
} oidc_signin;

/* Allocates a sign-in for `r` and keeps the request alive with http_req_hold. NULL when out of memory. */
oidc_signin *oidc_signin_new(struct http_req *r, oidc_state *st);
/* Releases the request and frees everything. */
void oidc_signin_free(oidc_signin *s);

/* Replies with an error page (when the browser is still there), logs
 * `log_reason` with the account, and frees the sign-in. */
void oidc_signin_fail(oidc_signin *s, int status, const char *title, const char *text,
                      const char *log_reason);

/* Records a failed sign-in of `account` in the audit log through a store
 * job of its own, without waiting for it. `user_id`, `sub` and `request_id`
 * may be NULL or "". Callers only log a failure that has no account. */
void oidc_audit_signin_failed(oidc_state *st, const char *account, const char *user_id,
                              const char *sub, const char *reason, const char *request_id);

/* Validates s->id_token with s->prov's keys and finishes the sign-in;
 * always ends by replying and freeing `s`. */
void oidc_signin_verify(oidc_signin *s);

#endif
