#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "license.h"
#include "oidc/oidc.h"
#include "oidc/subjects.h"
#include "oidc/users.h"

int oidc_user_read(store_txn *t, const char *account, const char *user_id, json **out)
{
    char key[2 * STORE_ID_LEN];
    store_val v;
    *out = NULL;
    memcpy(key, account, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, user_id, STORE_ID_LEN);
    int rc = store_get(t, T_USERS, key, sizeof key, &v);
    if (rc != 0)
        return rc;
    *out = json_parse(v.data, v.len, NULL, 0);
    return *out ? 0 : STORE_IO;
}

int oidc_user_active(const json *user)
{
    const json *a = json_object_geti(user, "active");
    if (json_typeof(a) == JSON_BOOL)
        return json_bool_value(a);
    if (json_typeof(a) == JSON_STRING)
        return strcasecmp(json_string_value(a), "false") != 0;
    return 1;
}

const char *oidc_user_email(const json *user)
{
    const json *emails = json_object_geti(user, "emails");
    const char *first = NULL;
    for (size_t i = 0; i < json_array_size(emails); i++) {
        const json *e = json_array_get(emails, i);
        const char *value = json_get_string(e, "value");
        if (value == NULL)
            continue;
        if (first == NULL)
            first = value;
        if (json_bool_value(json_object_geti(e, "primary")))
            return value;
    }
    return first;
}

/* T_USER_EXTIDS: ACC + externalId + \0 + user id. */
static int by_external_id(store_txn *t, const char *account, const char *sub, char user_id[40])
{
    size_t slen = strlen(sub), plen = STORE_ID_LEN + slen + 1;
    if (slen == 0 || plen + STORE_ID_LEN > 511)
        return STORE_NOTFOUND;
    char *prefix = malloc(plen);
    if (prefix == NULL)
        return STORE_NOMEM;
    memcpy(prefix, account, STORE_ID_LEN);
    memcpy(prefix + STORE_ID_LEN, sub, slen + 1);
    store_cursor *c;
    store_val k, v;
    int rc = store_cursor_open(t, T_USER_EXTIDS, &c);
    if (rc == 0) {
        rc = store_cursor_seek(c, prefix, plen, &k, &v);
        if (rc == 0 && (k.len != plen + STORE_ID_LEN || memcmp(k.data, prefix, plen) != 0))
            rc = STORE_NOTFOUND;
        if (rc == 0) {
            memcpy(user_id, (const char *)k.data + plen, STORE_ID_LEN);
            user_id[STORE_ID_LEN] = '\0';
        }
        store_cursor_close(c);
    }
    free(prefix);
    return rc;
}

/* T_USER_NAMES: ACC + lowercased userName -> user id. */
static int by_user_name(store_txn *t, const char *account, const char *name, char user_id[40])
{
    char key[512];
    size_t nlen = name ? strlen(name) : 0;
    store_val v;
    if (nlen == 0 || STORE_ID_LEN + nlen >= sizeof key)
        return STORE_NOTFOUND;
    memcpy(key, account, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, name, nlen + 1);
    oidc_lower(key + STORE_ID_LEN);
    int rc = store_get(t, T_USER_NAMES, key, STORE_ID_LEN + nlen, &v);
    if (rc != 0)
        return rc;
    if (v.len != STORE_ID_LEN)
        return STORE_IO;
    memcpy(user_id, v.data, STORE_ID_LEN);
    user_id[STORE_ID_LEN] = '\0';
    return 0;
}

int oidc_email_foreign(store_txn *t, const char *account, const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    if (at == NULL)
        return 0;
    /* Check the domain and each parent with at least two labels. */
    for (const char *d = at + 1; d != NULL && strchr(d, '.') != NULL; d = strchr(d, '.') + 1) {
        char probe[300], owner[40];
        snprintf(probe, sizeof probe, "x@%s", d);
        if (oidc_account_by_email(t, probe, owner) == 0 && strcmp(owner, account) != 0)
            return 1;
    }
    return 0;
}

int oidc_user_domains_allowed(store_txn *t, const char *account, const json *user)
{
    const char *name = json_get_string(user, "userName");
    const char *email = oidc_user_email(user);
    if (name != NULL && strchr(name, '@') != NULL && license_domain_allowed(t, account, name) != 1)
        return 0;
    return email == NULL || license_domain_allowed(t, account, email) == 1;
}

/* Rules that can find the user of a sign-in, in the order they are tried. */
enum match_kind { MATCH_NONE, MATCH_EXTERNAL_ID, MATCH_LINK, MATCH_EMAIL, MATCH_NAME };

/* 1 when the provider vouches for the token's email: `email_verified` is
 * true and the address lies in the account's verified domains (or the
 * account has none, as license_domain_allowed defines). */
static int email_vouched(store_txn *t, const char *account, const oidc_claims *c)
{
    return c->email_verified && c->email != NULL &&
           license_domain_allowed(t, account, c->email) == 1;
}

static enum match_kind find_user(store_txn *t, const char *account, const char *issuer,
                                 const oidc_claims *c, char user_id[40])
{
    if (by_external_id(t, account, c->sub, user_id) == 0)
        return MATCH_EXTERNAL_ID;
    if (oidc_subject_find(t, account, issuer, c->sub, user_id) == 0)
        return MATCH_LINK;
    /* The verified email comes before preferred_username. Users can often
     * edit that name at the provider, and OpenID Connect Core 1.0 section
     * 5.1 does not require it to be unique. */
    if (email_vouched(t, account, c) && by_user_name(t, account, c->email, user_id) == 0)
        return MATCH_EMAIL;
    if (by_user_name(t, account, c->preferred_username, user_id) == 0)
        return MATCH_NAME;
    user_id[0] = '\0';
    return MATCH_NONE;
}

/* Applies the rules that depend on how the user was found and sets the link
 * action and claim of `match`. Returns OIDC_USER_OK or another OIDC_USER_*
 * result with `*reason`. */
static int check_match(store_txn *t, const char *account, const char *issuer,
                       const oidc_claims *c, enum match_kind kind, const char *user_id,
                       const json *user, oidc_user_match *match, const char **reason)
{
    char linked[40];
    int other = 0;
    const char *external_id = json_get_string(user, "externalId");
    int has_external_id = external_id != NULL && *external_id != '\0';
    if (kind == MATCH_EXTERNAL_ID) {
        int linked_here = oidc_subject_find(t, account, issuer, c->sub, linked) == 0 &&
                          strcmp(linked, user_id) == 0;
        match->link = linked_here ? OIDC_LINK_KEEP : OIDC_LINK_REPLACE;
        match->claim = OIDC_MATCHED_EXTERNAL_ID;
        return OIDC_USER_OK;
    }
    /* A link or name match is trusted only for a user without externalId.
     * A user with one is that directory identity, and another `sub` with
     * the same name or email is someone else (or a renamed account). */
    if (has_external_id) {
        *reason = kind == MATCH_LINK
                   ? "user linked to the token's sub now has an externalId other than the sub"
                   : "user matched by name or email has an externalId other than the token's sub";
        return OIDC_USER_DENIED;
    }
    if (kind == MATCH_LINK) {
        match->link = OIDC_LINK_KEEP;
        match->claim = OIDC_MATCHED_LINK;
        return OIDC_USER_OK;
    }
    if (oidc_subject_other(t, account, user_id, issuer, c->sub, &other) != 0) {
        *reason = "links of the user matched by name or email could not be read";
        return OIDC_USER_DENIED;
    }
    if (other) {
        *reason = "user matched by name or email is linked to another sub of the issuer";
        return OIDC_USER_OTHER_SUBJECT;
    }
    /* Only a match the provider vouches for makes a lasting link. A match by
     * preferred_username alone signs in this once. */
    if (kind == MATCH_EMAIL) {
        match->link = OIDC_LINK_ADD;
        match->claim = OIDC_MATCHED_EMAIL;
    } else {
        match->link = OIDC_LINK_NONE;
        match->claim = OIDC_MATCHED_NAME;
    }
    return OIDC_USER_OK;
}

int oidc_user_authorize(store_txn *t, const char *account, const char *issuer,
                        const oidc_claims *c, char user_id[40], const char **tier,
                        oidc_user_match *match, const char **reason)
{
    json *user = NULL;
    int rc = OIDC_USER_DENIED;

    enum match_kind kind = find_user(t, account, issuer, c, user_id);
    if (kind == MATCH_NONE) {
        *reason = "no provisioned user matches sub, verified email or preferred_username";
        return OIDC_USER_DENIED;
    }
    if (oidc_user_read(t, account, user_id, &user) != 0) {
        *reason = "user record missing";
        goto out;
    }
    int match_rc = check_match(t, account, issuer, c, kind, user_id, user, match, reason);
    if (match_rc != OIDC_USER_OK) {
        rc = match_rc;
        goto out;
    }
    if (!oidc_user_active(user)) {
        *reason = "user is deactivated";
        goto out;
    }
    /* GET /session sends these in X-Idgate-* headers, where a CR or LF would
     * inject headers for the application behind the proxy. */
    if (!oidc_header_value_safe(json_get_string(user, "userName")) ||
        !oidc_header_value_safe(oidc_user_email(user))) {
        *reason = "user name or email contains control characters";
        goto out;
    }
    if (oidc_email_foreign(t, account, c->email) ||
        oidc_email_foreign(t, account, json_get_string(user, "userName")) ||
        oidc_email_foreign(t, account, oidc_user_email(user))) {
        *reason = "email or user name is in a domain another account verified";
        goto out;
    }
    if (!oidc_user_domains_allowed(t, account, user)) {
        *reason = "user name or email is outside the account's verified domains";
        goto out;
    }
    *tier = license_user_tier(t, account, user_id);
    if (*tier == NULL || strcmp(*tier, "none") == 0) {
        *reason = "user has no licence tier (none)";
        goto out;
    }
    if (c->email != NULL && license_domain_allowed(t, account, c->email) != 1) {
        *reason = "signed-in email is outside the account's verified domains";
        goto out;
    }
    rc = OIDC_USER_OK;
out:
    json_free(user);
    return rc;
}
