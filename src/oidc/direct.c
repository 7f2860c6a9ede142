/* POST /auth/okta with an `id_token`: Okta's "Send ID Token directly to
 * app" option, an ID token without a prior authorization request. It is
 * accepted only for accounts that enable it, and each token only once. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "oidc/endpoints.h"
#include "oidc/idp.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"
#include "oidc/signin.h"

static void on_provider(oidc_provider *p, const char *error, void *arg)
{
    oidc_signin *s = arg;
    if (!http_req_alive(s->r)) {
        oidc_signin_free(s);
        return;
    }
    if (error != NULL) {
        oidc_signin_fail(s, 502, "Identity provider unavailable",
                         "Your organization's identity provider could not be reached.", error);
        return;
    }
    s->prov = p;
    oidc_signin_verify(s);
}

/* Finds the account of the token's issuer and checks that it accepts
 * unsolicited tokens. Returns 0, or -1 after replying. */
static int load(oidc_signin *s, const char *iss)
{
    store_txn *t;
    char account[40];
    if (store_read_begin(s->st->app->store, &t) != 0) {
        oidc_signin_fail(s, 503, "Sign-in unavailable", "Please try again.", "store");
        return -1;
    }
    int rc = iss ? oidc_idp_account_by_issuer(t, iss, account) : STORE_NOTFOUND;
    if (rc == 0)
        rc = oidc_account_settings_read(t, &s->st->cfg, account, &s->settings);
    if (rc == 0 && s->settings.direct_id_token)
        rc = oidc_idp_load(s->st, t, account, &s->idp);
    store_read_end(t);
    if (rc != 0 || !s->settings.direct_id_token) {
        oidc_signin_fail(s, 400, "Sign-in not accepted",
                         "This application does not accept this kind of sign-in. Start the "
                         "sign-in from this application instead.",
                         rc != 0 ? "unsolicited ID token from an unknown issuer"
                                 : "unsolicited ID tokens are disabled for the account");
        return -1;
    }
    snprintf(s->r->account_id, sizeof s->r->account_id, "%s", account);
    return 0;
}

/* 1 when the POST comes from a page of the issuer's origin: the Origin
 * header, or without it the Referer. The provider's own page posts the
 * token, so any other origin is a forged sign-in (login CSRF). */
static int from_issuer(http_req *r, const char *issuer)
{
    char want[OIDC_ORIGIN_MAX], got[OIDC_ORIGIN_MAX];
    const char *origin = http_header(r, "Origin");
    const char *from = origin ? origin : http_header(r, "Referer");
    if (from == NULL || oidc_origin_of(issuer, want) != 0 || oidc_origin_of(from, got) != 0)
        return 0;
    return strcmp(want, got) == 0;
}

void oidc_handle_direct_token(http_req *r, oidc_state *st)
{
    const char *token = http_form(r, OIDC_P_ID_TOKEN);
    const char *target = http_form(r, OIDC_P_TARGET);
    const char *reason = NULL;
    oidc_signin *s = oidc_signin_new(r, st);
    if (s == NULL) {
        http_reply_text(r, 500, "out of memory\n");
        return;
    }
    if (target && oidc_target_check(target, st->cfg.self_origin,
                                    (const char *const *)st->cfg.redirect_origins,
                                    st->cfg.nredirect_origins, &reason) != 0) {
        oidc_signin_fail(s, 400, "Invalid sign-in link",
                         "This sign-in asks to continue at an address outside this service.",
                         reason);
        return;
    }
    char *iss = oidc_idtoken_peek_issuer(token, strlen(token));
    s->account_unverified = 1;
    int rc = load(s, iss);
    free(iss);
    if (rc != 0)
        return;
    if (!from_issuer(r, s->idp.issuer)) {
        oidc_signin_fail(s, 403, "Sign-in not accepted",
                         "This sign-in did not come from your organization's identity provider. "
                         "Start the sign-in from this application instead.",
                         "unsolicited ID token posted from another origin");
        return;
    }
    s->id_token = strdup(token);
    s->target = strdup(target ? target : "");
    oidc_provider_get(st, s->idp.issuer, on_provider, s);
}
