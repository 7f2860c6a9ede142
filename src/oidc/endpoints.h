/* HTTP handlers of the sign-in area; `arg` is the oidc_state. */
#ifndef IDGATE_OIDC_ENDPOINTS_H
#define IDGATE_OIDC_ENDPOINTS_H

#include "oidc/oidc.h"

struct http_req;

void oidc_handle_initiate(struct http_req *r, void *arg);
void oidc_handle_callback(struct http_req *r, void *arg);
void oidc_handle_session(struct http_req *r, void *arg);
void oidc_handle_logout(struct http_req *r, void *arg);
void oidc_handle_home(struct http_req *r, void *arg);
void oidc_handle_signin(struct http_req *r, void *arg);

/* The unsolicited ID token POST to /auth/okta. */
void oidc_handle_direct_token(struct http_req *r, oidc_state *st);

#endif
