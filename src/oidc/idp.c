#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "app.h"
#include "audit.h"
#include "cli.h"
#include "conf.h"
#include "http_client.h"
#include "log.h"
#include "oidc/idp.h"
#include "oidc/oidc.h"
#include "oidc/oidc_const.h"
#include "oidc/provider.h"
#include "oidc/session.h"
#include "secretbox.h"

/* Audit actor of changes made with `idgate idp set`, as other commands name it. */
#define CLI_ACTOR "cli"

/* Maximum lengths of a client id and a client secret. */
#define CLIENT_ID_MAX 256
#define CLIENT_SECRET_MAX 1024

/* One `idp set` in progress. */
typedef struct idp_job {
    struct app *app;
    int cli;                        /* write through store_run, not store_submit */
    char account[40];
    char *issuer;
    char *client_id;
    char *sealed;                   /* NULL keeps the stored secret */
    const char *redirect_mode;      /* a static OIDC_REDIRECT_MODE_*, or NULL to keep */
    char *actor;
    int take_over;                  /* oidc_idp_input.take_over_issuer */
    char previous_owner[40];        /* account the issuer was taken from, or "" */
    char hint[5];
    char *warning;
    int status;
    char message[512];
    json *result;
    oidc_idp_done done;
    void *arg;
} idp_job;

static void job_free(idp_job *j)
{
    free(j->issuer);
    free(j->client_id);
    free(j->sealed);
    free(j->actor);
    free(j->warning);
    json_free(j->result);
    free(j);
}

static void job_finish(idp_job *j)
{
    j->done(j->status, j->status == 200 ? NULL : j->message, j->result, j->arg);
    job_free(j);
}

static int job_fail(idp_job *j, int status, const char *msg)
{
    j->status = status;
    snprintf(j->message, sizeof j->message, "%s", msg);
    return -1;
}

static void format_time(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void oidc_redirect_uri(const char *base_url, const char *account, int shared,
                       char out[OIDC_REDIRECT_URI_MAX])
{
    snprintf(out, OIDC_REDIRECT_URI_MAX, "%s%s%s%s", base_url ? base_url : "",
             OIDC_PATH_CALLBACK, shared ? "" : "/", shared ? "" : account);
}

/* Returns 1 when the record uses the shared redirect URI: records without
 * redirect_uri_mode predate per-account URIs. */
static int record_shared_redirect(const json *rec)
{
    const char *mode = json_get_string(rec, "redirect_uri_mode");
    return mode == NULL || strcmp(mode, OIDC_REDIRECT_MODE_ACCOUNT) != 0;
}

static json *public_view(const json *rec, const char *base_url)
{
    json *out = json_object();
    char masked[16], redirect[OIDC_REDIRECT_URI_MAX];
    const char *hint = json_get_string(rec, "secret_hint");
    const char *account = json_get_string(rec, "account");
    int shared = record_shared_redirect(rec);
    snprintf(masked, sizeof masked, "****%s", hint ? hint : "");
    oidc_redirect_uri(base_url, account ? account : "", shared, redirect);
    if (out == NULL || json_object_set(out, "account", json_copy(json_object_get(rec, "account"))) ||
        json_object_set(out, "issuer", json_copy(json_object_get(rec, "issuer"))) ||
        json_object_set(out, "client_id", json_copy(json_object_get(rec, "client_id"))) ||
        json_object_set(out, "client_secret", json_string(masked)) ||
        json_object_set(out, "redirect_uri_mode",
                        json_string(shared ? OIDC_REDIRECT_MODE_SHARED
                                           : OIDC_REDIRECT_MODE_ACCOUNT)) ||
        json_object_set(out, "redirect_uri", json_string(redirect)) ||
        json_object_set(out, "updated", json_copy(json_object_get(rec, "updated")))) {
        json_free(out);
        return NULL;
    }
    return out;
}

static int read_record(store_txn *t, const char *account, json **out)
{
    store_val v;
    *out = NULL;
    int rc = store_get(t, T_IDPS, account, strlen(account), &v);
    if (rc != 0)
        return rc;
    *out = json_parse(v.data, v.len, NULL, 0);
    return *out ? 0 : STORE_IO;
}

int oidc_idp_get(store_txn *t, const char *base_url, const char *account, json **out)
{
    json *rec;
    *out = NULL;
    int rc = read_record(t, account, &rec);
    if (rc != 0)
        return rc;
    *out = public_view(rec, base_url);
    json_free(rec);
    return *out ? 0 : STORE_NOMEM;
}

int oidc_idp_account_by_issuer(store_txn *t, const char *issuer, char account[40])
{
    store_val v;
    size_t len = strlen(issuer);
    if (len == 0 || len > 511)
        return STORE_NOTFOUND;
    int rc = store_get(t, T_ISSUERS, issuer, len, &v);
    if (rc != 0)
        return rc;
    if (v.len != STORE_ID_LEN)
        return STORE_IO;
    memcpy(account, v.data, STORE_ID_LEN);
    account[STORE_ID_LEN] = '\0';
    return 0;
}

int oidc_idp_delete(store_txn *t, const char *account)
{
    json *rec;
    int rc = read_record(t, account, &rec);
    if (rc != 0)
        return rc;
    const char *issuer = json_get_string(rec, "issuer");
    char owner[40];
    if (issuer && oidc_idp_account_by_issuer(t, issuer, owner) == 0 &&
        strcmp(owner, account) == 0)
        rc = store_del(t, T_ISSUERS, issuer, strlen(issuer));
    json_free(rec);
    if (rc == 0 || rc == STORE_NOTFOUND)
        rc = store_del(t, T_IDPS, account, strlen(account));
    /* Every session of the account came through the provider it no longer
     * has, so none may outlive it. */
    if (rc == 0)
        rc = oidc_sessions_revoke_account(t, account);
    return rc;
}

/* Returns the redirect URI mode of the new record: the requested one, else
 * the old record's, else (new settings) the account's own URI. */
static const char *new_redirect_mode(const idp_job *j, const json *old)
{
    if (j->redirect_mode != NULL)
        return j->redirect_mode;
    if (old != NULL && record_shared_redirect(old))
        return OIDC_REDIRECT_MODE_SHARED;
    return OIDC_REDIRECT_MODE_ACCOUNT;
}

/* Builds the new record from the job and the old record (for a kept secret
 * and redirect URI mode). */
static json *new_record(idp_job *j, const json *old)
{
    char now[32];
    format_time(now);
    const char *sealed = j->sealed ? j->sealed : json_get_string(old, "client_secret");
    const char *hint = j->sealed ? j->hint : json_get_string(old, "secret_hint");
    if (sealed == NULL)
        return NULL;
    json *rec = json_object();
    if (rec == NULL || json_object_set(rec, "account", json_string(j->account)) ||
        json_object_set(rec, "issuer", json_string(j->issuer)) ||
        json_object_set(rec, "client_id", json_string(j->client_id)) ||
        json_object_set(rec, "client_secret", json_string(sealed)) ||
        json_object_set(rec, "secret_hint", json_string(hint ? hint : "")) ||
        json_object_set(rec, "redirect_uri_mode", json_string(new_redirect_mode(j, old))) ||
        json_object_set(rec, "updated", json_string(now))) {
        json_free(rec);
        return NULL;
    }
    return rec;
}

/* Deletes the settings of the account `owner` that has the issuer, and
 * records that in its audit log. */
static int take_issuer(store_txn *t, idp_job *j, const char *owner)
{
    snprintf(j->previous_owner, sizeof j->previous_owner, "%s", owner);
    int rc = oidc_idp_delete(t, owner);
    if (rc != 0 && rc != STORE_NOTFOUND)
        return rc;
    json *d = json_object();
    if (d == NULL || json_object_set(d, "issuer", json_null()) ||
        json_object_set(d, "removed_issuer", json_string(j->issuer)) ||
        json_object_set(d, "taken_over_by", json_string(j->account))) {
        json_free(d);
        return STORE_NOMEM;
    }
    rc = audit_record(t, owner, AUDIT_IDP_CHANGED, j->actor ? j->actor : "system", d);
    json_free(d);
    if (rc == 0)
        log_event(LOG_WARN, "issuer taken over from another account", "account", j->account,
                  "previous_account", owner, "issuer", j->issuer, NULL);
    return rc;
}

static int move_issuer(store_txn *t, idp_job *j, const json *old)
{
    char owner[40];
    int rc = oidc_idp_account_by_issuer(t, j->issuer, owner);
    if (rc == 0 && strcmp(owner, j->account) != 0 && !j->take_over)
        return job_fail(j, 409, "this issuer is already connected to another account; each "
                                "identity provider issuer can belong to one account only. If "
                                "the other account should not have it, an operator can move "
                                "it with `idgate idp set --take-over-issuer` or with "
                                "\"take_over_issuer\": true in the admin API");
    if (rc == 0 && strcmp(owner, j->account) != 0 && take_issuer(t, j, owner) != 0)
        return job_fail(j, 500, "the settings could not be saved");
    const char *prev = json_get_string(old, "issuer");
    if (prev != NULL && strcmp(prev, j->issuer) != 0)
        store_del(t, T_ISSUERS, prev, strlen(prev));
    rc = store_put(t, T_ISSUERS, j->issuer, strlen(j->issuer), j->account, STORE_ID_LEN, 0);
    return rc ? job_fail(j, 500, "the settings could not be saved") : 0;
}

/* Writes the idp.changed audit event, with the account the issuer was taken
 * from if any; never with the secret, only whether it changed. */
static int record_change(store_txn *t, idp_job *j)
{
    json *d = json_object();
    if (d == NULL || json_object_set(d, "issuer", json_string(j->issuer)) ||
        json_object_set(d, "client_id", json_string(j->client_id)) ||
        json_object_set(d, "client_secret_changed", json_bool(j->sealed != NULL)) ||
        (j->previous_owner[0] &&
         json_object_set(d, "taken_over_from", json_string(j->previous_owner)))) {
        json_free(d);
        return STORE_NOMEM;
    }
    int rc = audit_record(t, j->account, AUDIT_IDP_CHANGED, j->actor ? j->actor : "system", d);
    json_free(d);
    return rc;
}

static int store_settings(store_txn *t, void *arg)
{
    idp_job *j = arg;
    json *old = NULL, *rec = NULL;
    store_val v;
    int rc = -1;

    if (store_get(t, T_ACCOUNTS, j->account, strlen(j->account), &v) != 0) {
        job_fail(j, 404, "no account has this id");
        goto out;
    }
    read_record(t, j->account, &old);
    rec = new_record(j, old);
    if (rec == NULL) {
        job_fail(j, 400, "a client secret is required the first time settings are saved");
        goto out;
    }
    if (move_issuer(t, j, old) != 0)
        goto out;
    size_t len;
    char *text = json_dump(rec, &len);
    rc = text ? store_put(t, T_IDPS, j->account, strlen(j->account), text, len, 0) : STORE_NOMEM;
    free(text);
    if (rc != 0) {
        job_fail(j, 500, "the settings could not be saved");
        goto out;
    }
    if ((rc = record_change(t, j)) != 0) {
        job_fail(j, 500, "the settings could not be saved");
        goto out;
    }
    j->result = public_view(rec, j->app->conf ? j->app->conf->base_url : NULL);
    if (j->result && j->warning)
        json_object_set(j->result, "warning", json_string(j->warning));
    j->status = 200;
out:
    json_free(old);
    json_free(rec);
    return rc;
}

static void on_stored(int rc, void *arg)
{
    idp_job *j = arg;
    if (rc != 0 && j->status == 200) {
        json_free(j->result);
        j->result = NULL;
        job_fail(j, 500, "the settings could not be saved");
    }
    if (j->status == 200)
        log_event(LOG_INFO, "identity provider settings saved", "account", j->account, "issuer",
                  j->issuer, NULL);
    job_finish(j);
}

static void write_settings(idp_job *j)
{
    j->status = 0;
    if (j->cli) {
        int rc = store_run(j->app->store, store_settings, j);
        on_stored(rc, j);
        return;
    }
    if (store_submit(j->app->store, store_settings, on_stored, j) != 0) {
        job_fail(j, 503, "the service is shutting down");
        job_finish(j);
    }
}

static void on_discovery(const http_client_response *res, void *arg)
{
    idp_job *j = arg;
    char err[512];
    oidc_discovery d;

    if (res->status == 0) {
        char w[512];
        snprintf(w, sizeof w,
                 "the issuer's discovery document could not be reached (%s), so the issuer "
                 "was saved without being checked",
                 res->error);
        j->warning = strdup(w);
        log_event(LOG_WARN, "issuer not checked", "account", j->account, "error", res->error,
                  NULL);
    } else if (res->status != 200) {
        snprintf(j->message, sizeof j->message,
                 "the issuer's discovery document returned HTTP status %d; check that the "
                 "issuer URL is exactly the one the provider shows (for Okta, for example "
                 "https://example.okta.com/oauth2/default)",
                 res->status);
        j->status = 400;
        job_finish(j);
        return;
    } else if (oidc_discovery_parse(j->issuer, res->body, res->body_len, &d, err, sizeof err) !=
               0) {
        job_fail(j, 400, err);
        job_finish(j);
        return;
    } else if (!oidc_endpoints_allowed(&oidc_get(j->app)->cfg, &d, err, sizeof err)) {
        oidc_discovery_clear(&d);
        job_fail(j, 400, err);
        job_finish(j);
        return;
    } else {
        oidc_discovery_clear(&d);
    }
    write_settings(j);
}

/* Returns the OIDC_REDIRECT_MODE_* constant equal to `mode`, or NULL. */
static const char *redirect_mode_constant(const char *mode)
{
    if (strcmp(mode, OIDC_REDIRECT_MODE_ACCOUNT) == 0)
        return OIDC_REDIRECT_MODE_ACCOUNT;
    if (strcmp(mode, OIDC_REDIRECT_MODE_SHARED) == 0)
        return OIDC_REDIRECT_MODE_SHARED;
    return NULL;
}

static int check_input(const oidc_config *cfg, const oidc_idp_input *in, char *err, size_t len)
{
    if (in->issuer == NULL || *in->issuer == '\0') {
        snprintf(err, len, "the issuer is required");
        return -1;
    }
    if (!oidc_issuer_allowed(cfg, in->issuer, err, len))
        return -1;
    if (strlen(in->issuer) > 500) {
        snprintf(err, len, "the issuer is longer than 500 characters");
        return -1;
    }
    if (in->client_id == NULL || *in->client_id == '\0' || strlen(in->client_id) > CLIENT_ID_MAX) {
        snprintf(err, len, "the client id is required and at most %d characters", CLIENT_ID_MAX);
        return -1;
    }
    if (in->client_secret != NULL &&
        (*in->client_secret == '\0' || strlen(in->client_secret) > CLIENT_SECRET_MAX)) {
        snprintf(err, len, "the client secret must be 1 to %d characters", CLIENT_SECRET_MAX);
        return -1;
    }
    if (in->redirect_uri_mode != NULL && redirect_mode_constant(in->redirect_uri_mode) == NULL) {
        snprintf(err, len, "invalid redirect_uri_mode \"%.40s\" (expected \"%s\" or \"%s\")",
                 in->redirect_uri_mode, OIDC_REDIRECT_MODE_ACCOUNT, OIDC_REDIRECT_MODE_SHARED);
        return -1;
    }
    return 0;
}

static int seal_secret(oidc_state *st, idp_job *j, const char *secret)
{
    const secretbox_key *key = oidc_master_key(st);
    if (key == NULL)
        return job_fail(j, 500, "the service has no master key to encrypt the client secret; "
                                "the operator must set [oidc] master_key_file or "
                                "IDGATE_OIDC_MASTER_KEY");
    char aad[64];
    snprintf(aad, sizeof aad, "%s%s", OIDC_AAD_SECRET, j->account);
    if (secretbox_seal(key, aad, secret, strlen(secret), &j->sealed) != 0)
        return job_fail(j, 500, "the client secret could not be encrypted");
    size_t n = strlen(secret);
    snprintf(j->hint, sizeof j->hint, "%s", n > 4 ? secret + n - 4 : "");
    return 0;
}

static void idp_set(struct app *a, int cli, const char *account, const oidc_idp_input *in,
                    oidc_idp_done done, void *arg)
{
    oidc_state *st = oidc_get(a);
    idp_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        done(500, "out of memory", NULL, arg);
        return;
    }
    j->app = a;
    j->cli = cli;
    j->done = done;
    j->arg = arg;
    snprintf(j->account, sizeof j->account, "%s", account);
    if (strlen(account) != STORE_ID_LEN) {
        job_fail(j, 404, "no account has this id");
        job_finish(j);
        return;
    }
    if (check_input(&st->cfg, in, j->message, sizeof j->message) != 0) {
        j->status = 400;
        job_finish(j);
        return;
    }
    j->issuer = strdup(in->issuer);
    j->client_id = strdup(in->client_id);
    j->actor = strdup(in->actor ? in->actor : "system");
    j->take_over = in->take_over_issuer;
    j->redirect_mode = in->redirect_uri_mode ? redirect_mode_constant(in->redirect_uri_mode) : NULL;
    if (j->issuer == NULL || j->client_id == NULL || j->actor == NULL ||
        (in->client_secret && seal_secret(st, j, in->client_secret) != 0)) {
        if (j->status == 0)
            job_fail(j, 500, "out of memory");
        job_finish(j);
        return;
    }
    char *url = oidc_discovery_url(j->issuer);
    http_client_request req = {.url = url};
    if (!st->cfg.check_discovery || a->client == NULL || url == NULL ||
        http_client_fetch(a->client, &req, on_discovery, j) != 0)
        write_settings(j);
    free(url);
}

void oidc_idp_set(struct app *a, const char *account, const oidc_idp_input *in,
                  oidc_idp_done done, void *arg)
{
    idp_set(a, 0, account, in, done, arg);
}

/* Command line. */

typedef struct cli_result {
    cli_ctx *ctx;
    int code;
    struct event_base *base;
} cli_result;

static void on_cli_done(int status, const char *message, const json *result, void *arg)
{
    cli_result *res = arg;
    if (status == 200)
        res->code = cli_print_json(result);
    else
        res->code = cli_fail(res->ctx, "%s", message);
    if (res->base)
        event_base_loopbreak(res->base);
}

/* Reads a secret from a file: the first line, surrounding whitespace removed. */
static char *read_secret_file(cli_ctx *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_fail(c, "cannot read the client secret file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = calloc(1, CLIENT_SECRET_MAX + 2);
    size_t n = buf ? fread(buf, 1, CLIENT_SECRET_MAX + 1, f) : 0;
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    char *start = buf + strspn(buf, " \t");
    size_t len = strlen(start);
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        start[--len] = '\0';
    if (n > CLIENT_SECRET_MAX || len == 0) {
        cli_fail(c, "the client secret file %s must hold the secret on its first line "
                    "(1 to %d characters)", path, CLIENT_SECRET_MAX);
        secretbox_wipe(buf, CLIENT_SECRET_MAX + 2);
        return NULL;
    }
    memmove(buf, start, len + 1);
    return buf;
}

static int cli_setup(cli_ctx *c, struct app *a, oidc_state *st)
{
    memset(a, 0, sizeof *a);
    memset(st, 0, sizeof *st);
    a->conf = c->conf;
    a->oidc = st;
    st->app = a;
    if (oidc_config_load(c->conf, &st->cfg) != 0)
        return cli_fail(c, "out of memory");
    const char *errors;
    if (!conf_ok(c->conf, &errors))
        return cli_fail(c, "invalid configuration: %s", errors);
    if (cli_store(c, &a->store) != 0)
        return 1;
    return 0;
}

static int cmd_idp_set(cli_ctx *c)
{
    const char *account = cli_flag(c, "account"), *issuer = cli_flag(c, "issuer");
    const char *client_id = cli_flag(c, "client-id");
    const char *secret_file = cli_flag(c, "client-secret-file");
    if (!account || !issuer || !client_id)
        return cli_usage(c);

    struct app a;
    oidc_state st;
    int rc = cli_setup(c, &a, &st);
    if (rc != 0)
        return rc;
    char *secret = secret_file ? read_secret_file(c, secret_file) : NULL;
    if (secret_file && secret == NULL)
        return 1;

    cli_result res = {.ctx = c, .code = 1};
    http_client_options opt;
    http_client_options_from_conf(c->conf, &opt);
    if (!cli_has_flag(c, "no-check")) {
        res.base = event_base_new();
        if (res.base == NULL || http_client_new(res.base, &opt, &a.client) != 0)
            return cli_fail(c, "cannot start the HTTP client");
        a.base = res.base;
    } else {
        st.cfg.check_discovery = 0;
    }
    oidc_idp_input in = {.issuer = issuer, .client_id = client_id, .client_secret = secret,
                         .actor = CLI_ACTOR,
                         .take_over_issuer = cli_has_flag(c, "take-over-issuer"),
                         .redirect_uri_mode = cli_flag(c, "redirect-uri-mode")};
    res.code = -1;
    idp_set(&a, 1, account, &in, on_cli_done, &res);
    if (res.code == -1 && res.base)
        event_base_dispatch(res.base);
    if (secret)
        secretbox_wipe(secret, strlen(secret));
    http_client_free(a.client);
    if (res.base)
        event_base_free(res.base);
    oidc_config_clear(&st.cfg);
    return res.code;
}

CLI_COMMAND(idp_set, "idp", "set",
            "--account ID --issuer URL --client-id ID [--client-secret-file FILE] [--no-check] "
            "[--take-over-issuer] [--redirect-uri-mode account|shared]",
            "Connects an account to its OpenID Connect provider. The secret is read from the "
            "first line of FILE (needed the first time) and stored encrypted; --no-check skips "
            "fetching the issuer's discovery document. --take-over-issuer disconnects another "
            "account that has the same issuer. --redirect-uri-mode account gives the account "
            "its own redirect URI (the default for new settings), and shared keeps "
            "/auth/okta/callback, which settings from before per-account URIs use. Register the "
            "printed redirect_uri in the provider's application.",
            cmd_idp_set)

static int cmd_idp_get(cli_ctx *c)
{
    const char *account = cli_flag(c, "account");
    if (!account)
        return cli_usage(c);
    store *s;
    store_txn *t;
    json *out = NULL;
    if (cli_store(c, &s) != 0)
        return 1;
    int rc = store_read_begin(s, &t);
    if (rc != 0)
        return cli_fail(c, "cannot read the store: %s", store_strerror(rc));
    rc = strlen(account) == STORE_ID_LEN ? oidc_idp_get(t, c->conf->base_url, account, &out)
                                         : STORE_NOTFOUND;
    store_read_end(t);
    if (rc == STORE_NOTFOUND)
        return cli_fail(c, "account %s has no identity provider settings", account);
    if (rc != 0)
        return cli_fail(c, "cannot read the settings: %s", store_strerror(rc));
    rc = cli_print_json(out);
    json_free(out);
    return rc;
}

CLI_COMMAND(idp_get, "idp", "get", "--account ID",
            "Shows an account's identity-provider settings and the redirect URI to register at "
            "the provider; the client secret shows only its last four characters.",
            cmd_idp_get)

static int delete_job(store_txn *t, void *arg)
{
    return oidc_idp_delete(t, arg);
}

static int cmd_idp_delete(cli_ctx *c)
{
    const char *account = cli_flag(c, "account");
    store *s;
    if (!account)
        return cli_usage(c);
    if (cli_store(c, &s) != 0)
        return 1;
    int rc = store_run(s, delete_job, (void *)account);
    if (rc == STORE_NOTFOUND)
        return cli_fail(c, "account %s has no identity provider settings", account);
    if (rc != 0)
        return cli_fail(c, "cannot delete the settings: %s", store_strerror(rc));
    json *out = json_object();
    json_object_set(out, "account", json_string(account));
    json_object_set(out, "deleted", json_bool(1));
    rc = cli_print_json(out);
    json_free(out);
    return rc;
}

CLI_COMMAND(idp_delete, "idp", "delete", "--account ID",
            "Disconnects an account from its identity provider.", cmd_idp_delete)

void oidc_idp_clear(oidc_idp *idp)
{
    free(idp->issuer);
    free(idp->client_id);
    if (idp->client_secret)
        secretbox_wipe(idp->client_secret, strlen(idp->client_secret));
    memset(idp, 0, sizeof *idp);
}

/* Operator's fix for a client secret that does not open. */
#define MASTER_KEY_FIX                                                                         \
    "set [oidc] master_key_file or IDGATE_OIDC_MASTER_KEY to the key the secret was stored "   \
    "with, or store the secret again with idp set"

const char *oidc_idp_load_strerror(int rc)
{
    switch (rc) {
    case STORE_NOTFOUND:
        return "no identity provider settings";
    case OIDC_IDP_NO_MASTER_KEY:
        return "no master key, so the client secret cannot be decrypted; set [oidc] "
               "master_key_file or IDGATE_OIDC_MASTER_KEY";
    case OIDC_IDP_WRONG_MASTER_KEY:
        return "client secret cannot be decrypted with this master key; check [oidc] "
               "master_key_file or IDGATE_OIDC_MASTER_KEY";
    default:
        return "identity provider settings incomplete or unreadable";
    }
}

int oidc_idp_load_master_key_error(int rc)
{
    return rc == OIDC_IDP_NO_MASTER_KEY || rc == OIDC_IDP_WRONG_MASTER_KEY;
}

int oidc_idp_load(oidc_state *st, store_txn *t, const char *account, oidc_idp *out)
{
    json *rec = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (strlen(account) != STORE_ID_LEN)
        return STORE_NOTFOUND;
    rc = read_record(t, account, &rec);
    if (rc != 0)
        return rc;
    snprintf(out->account, sizeof out->account, "%s", account);
    const char *issuer = json_get_string(rec, "issuer");
    const char *client_id = json_get_string(rec, "client_id");
    const char *sealed = json_get_string(rec, "client_secret");
    out->issuer = issuer ? strdup(issuer) : NULL;
    out->client_id = client_id ? strdup(client_id) : NULL;
    out->shared_redirect_uri = record_shared_redirect(rec);
    rc = -1;
    if (out->issuer == NULL || out->client_id == NULL || sealed == NULL) {
        log_event(LOG_ERROR, "identity provider settings incomplete", "account", account, NULL);
        goto out;
    }
    const secretbox_key *key = oidc_master_key(st);
    if (key == NULL) {
        rc = OIDC_IDP_NO_MASTER_KEY;
        goto out;
    }
    char aad[64];
    uint8_t *plain = NULL;
    size_t len = 0;
    snprintf(aad, sizeof aad, "%s%s", OIDC_AAD_SECRET, account);
    int brc = secretbox_open(key, aad, sealed, &plain, &len);
    if (brc != 0) {
        log_event(LOG_ERROR, "client secret cannot be decrypted with the master key", "account",
                  account, "error", secretbox_strerror(brc), "fix", MASTER_KEY_FIX, NULL);
        rc = brc == SECRETBOX_ERR_AUTH ? OIDC_IDP_WRONG_MASTER_KEY : -1;
        goto out;
    }
    out->client_secret = (char *)plain;
    rc = 0;
out:
    json_free(rec);
    if (rc != 0)
        oidc_idp_clear(out);
    return rc;
}
