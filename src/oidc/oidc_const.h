/* Protocol strings of the sign-in area: OpenID Connect and OAuth 2.0
 * parameter, claim and error names, paths and cookie names. */
#ifndef IDGATE_OIDC_CONST_H
#define IDGATE_OIDC_CONST_H

#define OIDC_PATH_INITIATE "/auth/okta"
#define OIDC_PATH_CALLBACK "/auth/okta/callback"
/* The redirect URI of one account: OIDC_PATH_CALLBACK "/" and its id. */
#define OIDC_PATH_CALLBACK_ACCOUNT OIDC_PATH_CALLBACK "/{}"
#define OIDC_PATH_LOGOUT "/auth/logout"
#define OIDC_PATH_SESSION "/session"
#define OIDC_PATH_SIGNIN "/signin"

#define OIDC_DISCOVERY_SUFFIX "/.well-known/openid-configuration"
#define OIDC_SCOPE "openid email profile"
#define OIDC_SCOPE_OFFLINE "offline_access"

/* Cookie names before the prefix ("__Host-" unless [session] cookie_secure
 * is off). The login transaction cookie name ends with a digit that the
 * state picks (see tx.h). */
#define OIDC_COOKIE_SESSION "idgate_session"
#define OIDC_COOKIE_TX "idgate_tx_"

/* Values of "redirect_uri_mode" in identity-provider settings: the
 * account's own redirect URI, or the one that all accounts shared before
 * per-account URIs existed. */
#define OIDC_REDIRECT_MODE_ACCOUNT "account"
#define OIDC_REDIRECT_MODE_SHARED "shared"

/* Authorization request and response parameters. */
#define OIDC_P_ISS "iss"
#define OIDC_P_LOGIN_HINT "login_hint"
#define OIDC_P_TARGET "target_link_uri"
#define OIDC_P_ACCOUNT "account"
#define OIDC_P_CODE "code"
#define OIDC_P_STATE "state"
#define OIDC_P_ERROR "error"
#define OIDC_P_ERROR_DESCRIPTION "error_description"
#define OIDC_P_ID_TOKEN "id_token"

/* Discovery members. */
#define OIDC_D_ISSUER "issuer"
#define OIDC_D_AUTHORIZATION "authorization_endpoint"
#define OIDC_D_TOKEN "token_endpoint"
#define OIDC_D_JWKS "jwks_uri"
#define OIDC_D_END_SESSION "end_session_endpoint"
#define OIDC_D_AUTH_METHODS "token_endpoint_auth_methods_supported"
#define OIDC_D_ISS_PARAMETER "authorization_response_iss_parameter_supported"

/* Token endpoint. */
#define OIDC_T_INVALID_GRANT "invalid_grant"

/* Per-account settings in the account JSON under "settings". */
#define OIDC_S_REFRESH "refresh_tokens"
#define OIDC_S_PROVIDER_LOGOUT "provider_logout"
#define OIDC_S_DIRECT_ID_TOKEN "direct_id_token"
#define OIDC_S_FORM_POST "form_post"          /* bool */
#define OIDC_S_RESPONSE_MODE "response_mode"  /* "query" or "form_post", also accepted */
#define OIDC_S_ABSOLUTE "absolute_lifetime"   /* seconds; 0 or absent means [session] */
#define OIDC_S_IDLE "idle_timeout"

/* Associated data for secretbox, followed by the account id. */
#define OIDC_AAD_SECRET "idp-client-secret:"
#define OIDC_AAD_REFRESH "refresh-token:"
#define OIDC_AAD_ID_TOKEN "id-token:"

#endif
