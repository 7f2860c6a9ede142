/* GET|POST /signin: the email form. The domain of the address finds the
 * account through its claimed, verified domains, and the browser continues
 * at /auth/okta with the account and the address as login hint. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "oidc/endpoints.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"

/* Maximum length of an email address (RFC 5321 path limit). */
#define EMAIL_MAX 254

void oidc_handle_signin(http_req *r, void *arg)
{
    oidc_state *st = arg;
    const char *email = oidc_param(r, "email");
    char account[40];
    store_txn *t;

    if (email == NULL || *email == '\0') {
        oidc_page_signin(r, r->method == HTTP_POST ? 400 : 200, NULL,
                         r->method == HTTP_POST ? "Enter your work email address." : NULL);
        return;
    }
    const char *at = strrchr(email, '@');
    if (strlen(email) > EMAIL_MAX || at == NULL || at == email || at[1] == '\0') {
        oidc_page_signin(r, 400, email, "Enter a complete email address, such as "
                                        "name@example.com.");
        return;
    }
    if (store_read_begin(st->app->store, &t) != 0) {
        oidc_page_signin(r, 503, email, "Sign-in is unavailable. Please try again in a moment.");
        return;
    }
    int rc = oidc_account_by_email(t, email, account);
    store_read_end(t);
    if (rc != 0) {
        log_event(LOG_INFO, "sign-in domain unknown", "request_id", r->id, NULL);
        oidc_page_signin(r, 404, email,
                         "No organization uses single sign-on for this email domain. Check the "
                         "address, or ask your administrator.");
        return;
    }
    char *hint = http_urlencode(email), location[512];
    snprintf(location, sizeof location, OIDC_PATH_INITIATE "?" OIDC_P_ACCOUNT "=%s&"
             OIDC_P_LOGIN_HINT "=%s", account, hint ? hint : "");
    free(hint);
    oidc_security_headers(r);
    http_redirect(r, r->method == HTTP_POST ? 303 : 302, location);
}
