/* Small HTML pages of the sign-in flow: the email form, error pages and the
 * signed-in page. Each sends a complete reply with a strict
 * Content-Security-Policy, X-Frame-Options: DENY and no caching. Every text
 * argument is plain text and is HTML-escaped here. */
#ifndef IDGATE_OIDC_PAGES_H
#define IDGATE_OIDC_PAGES_H

struct http_req;

/* A page with a heading and one paragraph. */
void oidc_page_message(struct http_req *r, int status, const char *title, const char *text);

/* The email form. `email` prefills the field and `error` (may be NULL) is
 * shown above it. */
void oidc_page_signin(struct http_req *r, int status, const char *email, const char *error);

/* The page for a signed-in browser, with a sign-out button. */
void oidc_page_signed_in(struct http_req *r, const char *display, const char *email,
                         const char *tier);

/* Sets the security headers every sign-in reply carries, redirects included. */
void oidc_security_headers(struct http_req *r);

#endif
