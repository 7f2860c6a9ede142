#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "app.h"
#include "http.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "oidc/token.h"

typedef struct token_call {
    oidc_token_cb cb;
    void *arg;
} token_call;

static void add_form(struct evbuffer *b, const char *name, const char *value)
{
    if (value == NULL)
        return;
    char *enc = http_urlencode(value);
    evbuffer_add_printf(b, "%s%s=%s", evbuffer_get_length(b) ? "&" : "", name, enc ? enc : "");
    free(enc);
}

/* "Basic " + base64(urlencode(id) ":" urlencode(secret)), RFC 6749 2.3.1. */
static char *basic_auth(const char *id, const char *secret)
{
    char *eid = http_urlencode(id), *esecret = http_urlencode(secret), *out = NULL;
    if (eid == NULL || esecret == NULL)
        goto out;
    size_t plen = strlen(eid) + strlen(esecret) + 2;
    char *plain = malloc(plen);
    out = malloc(6 + 4 * (plen / 3 + 1) + 1);
    if (plain && out) {
        snprintf(plain, plen, "%s:%s", eid, esecret);
        memcpy(out, "Basic ", 6);
        EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)plain, (int)strlen(plain));
    } else {
        free(out);
        out = NULL;
    }
    if (plain) {
        OPENSSL_cleanse(plain, plen);
        free(plain);
    }
out:
    if (esecret) {
        OPENSSL_cleanse(esecret, strlen(esecret));
        free(esecret);
    }
    free(eid);
    return out;
}

static void on_reply(const http_client_response *res, void *arg)
{
    token_call *call = arg;
    oidc_token_response out = {0};
    char reason[256];
    json *doc = res->status ? json_parse(res->body, res->body_len, NULL, 0) : NULL;

    if (res->status == 0) {
        out.error = "transport";
        snprintf(reason, sizeof reason, "token endpoint unreachable: %s", res->error);
    } else if (res->status != 200) {
        const char *e = json_get_string(doc, "error");
        out.error = e ? e : "transport";
        snprintf(reason, sizeof reason, "token endpoint returned HTTP %d%s%s", res->status,
                 e ? " with error " : "", e ? e : "");
    } else if (json_typeof(doc) != JSON_OBJECT) {
        out.error = "transport";
        snprintf(reason, sizeof reason, "token endpoint reply is not a JSON object");
    } else {
        out.id_token = json_get_string(doc, "id_token");
        out.access_token = json_get_string(doc, "access_token");
        out.refresh_token = json_get_string(doc, "refresh_token");
        snprintf(reason, sizeof reason, "%s",
                 out.id_token ? "ok" : "token endpoint reply has no id_token");
    }
    out.log_reason = reason;
    call->cb(&out, call->arg);
    json_free(doc);
    free(call);
}

int oidc_token_fetch(oidc_state *st, const oidc_token_request *req, oidc_token_cb cb, void *arg)
{
    struct evbuffer *b = evbuffer_new();
    token_call *call = calloc(1, sizeof *call);
    char *auth = NULL, *body = NULL;
    int rc = -1;

    if (b == NULL || call == NULL || st->app->client == NULL)
        goto out;
    add_form(b, "grant_type", req->grant_type);
    add_form(b, "code", req->code);
    add_form(b, "redirect_uri", req->redirect_uri);
    add_form(b, "code_verifier", req->code_verifier);
    add_form(b, "refresh_token", req->refresh_token);
    if (req->disc->secret_post_only) {
        add_form(b, "client_id", req->idp->client_id);
        add_form(b, "client_secret", req->idp->client_secret);
    } else if ((auth = basic_auth(req->idp->client_id, req->idp->client_secret)) == NULL) {
        goto out;
    }
    size_t len = evbuffer_get_length(b);
    body = malloc(len + 1);
    if (body == NULL)
        goto out;
    evbuffer_remove(b, body, len);
    body[len] = '\0';
    call->cb = cb;
    call->arg = arg;
    http_client_request hreq = {.url = req->disc->token_endpoint, .body = body, .body_len = len,
                                .authorization = auth, .waiter = req->waiter};
    rc = http_client_fetch(st->app->client, &hreq, on_reply, call);
out:
    if (rc != 0)
        free(call);
    if (b)
        evbuffer_free(b);
    if (body) {
        OPENSSL_cleanse(body, strlen(body));
        free(body);
    }
    if (auth) {
        OPENSSL_cleanse(auth, strlen(auth));
        free(auth);
    }
    return rc;
}
