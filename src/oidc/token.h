/* Requests to the token endpoint (RFC 6749 sections 4.1.3 and 6): the
 * authorization code grant with PKCE, and the refresh token grant. The
 * client authenticates with client_secret_basic, or client_secret_post when
 * the provider's discovery document offers only that. */
#ifndef IDGATE_OIDC_TOKEN_H
#define IDGATE_OIDC_TOKEN_H

#include "oidc/oidc.h"
#include "oidc/provider.h"

struct http_req;

typedef struct oidc_token_request {
    const oidc_idp *idp;
    const oidc_discovery *disc;
    const char *grant_type;         /* "authorization_code" or "refresh_token" */
    const char *code;
    const char *redirect_uri;
    const char *code_verifier;
    const char *refresh_token;
    struct http_req *waiter;        /* may be NULL */
} oidc_token_request;

/* Borrowed strings, valid during the callback. On failure `error` is the
 * OAuth error code from the provider (such as "invalid_grant") or
 * "transport" when no usable reply arrived, and `log_reason` describes it for the log. */
typedef struct oidc_token_response {
    const char *id_token;
    const char *access_token;
    const char *refresh_token;
    const char *error;
    const char *log_reason;
} oidc_token_response;

typedef void (*oidc_token_cb)(const oidc_token_response *res, void *arg);

/* Starts the request; every string is copied. Returns 0, after which `cb`
 * runs once, or -1 when it cannot start (and `cb` never runs). */
int oidc_token_fetch(oidc_state *st, const oidc_token_request *req, oidc_token_cb cb, void *arg);

#endif
