#include "config.h"

#include <string.h>

#include <event2/buffer.h>

#include "http.h"
#include "oidc/oidc_const.h"
#include "oidc/pages.h"

static const char style[] =
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;"
    "color:#1a1a1a;line-height:1.5}"
    "label{display:block;margin:1rem 0 .25rem;font-weight:600}"
    "input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}"
    "button{margin-top:1rem;padding:.5rem 1.25rem;font-size:1rem}"
    ".error{color:#a00000;border-left:4px solid #a00000;padding-left:.75rem}";

static void append_escaped(struct evbuffer *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            evbuffer_add(b, "&amp;", 5);
            break;
        case '<':
            evbuffer_add(b, "&lt;", 4);
            break;
        case '>':
            evbuffer_add(b, "&gt;", 4);
            break;
        case '"':
            evbuffer_add(b, "&quot;", 6);
            break;
        case '\'':
            evbuffer_add(b, "&#39;", 5);
            break;
        default:
            evbuffer_add(b, s, 1);
        }
    }
}

void oidc_security_headers(http_req *r)
{
    /* form-action also covers the redirects after a submission (Chromium
     * enforces it there), and the sign-in and sign-out forms end at the
     * identity provider, so https origins are allowed besides this one. */
    http_set_header(r, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https:; "
                    "frame-ancestors 'none'; base-uri 'none'");
    http_set_header(r, "X-Frame-Options", "DENY");
    http_set_header(r, "X-Content-Type-Options", "nosniff");
    /* same-origin, not no-referrer: with no-referrer a browser sends "Origin: null"
     * on the sign-out POST, which the CSRF check must then reject. */
    http_set_header(r, "Referrer-Policy", "same-origin");
    http_set_header(r, "Cache-Control", "no-store");
}

static struct evbuffer *page_start(const char *title)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL)
        return NULL;
    evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                           "<meta name=\"viewport\" content=\"width=device-width, "
                           "initial-scale=1\"><title>");
    append_escaped(b, title);
    evbuffer_add_printf(b, "</title><style>%s</style></head><body><main><h1>", style);
    append_escaped(b, title);
    evbuffer_add_printf(b, "</h1>\n");
    return b;
}

static void page_send(http_req *r, int status, struct evbuffer *b)
{
    if (b == NULL) {
        http_reply_text(r, 500, "out of memory\n");
        return;
    }
    evbuffer_add_printf(b, "</main></body></html>\n");
    oidc_security_headers(r);
    http_reply_buffer(r, status, "text/html; charset=utf-8", b);
    evbuffer_free(b);
}

void oidc_page_message(http_req *r, int status, const char *title, const char *text)
{
    struct evbuffer *b = page_start(title);
    if (b != NULL) {
        evbuffer_add_printf(b, "<p id=\"message\">");
        append_escaped(b, text);
        evbuffer_add_printf(b, "</p>\n<p><a href=\"" OIDC_PATH_SIGNIN "\">Sign in again</a></p>\n");
    }
    page_send(r, status, b);
}

void oidc_page_signin(http_req *r, int status, const char *email, const char *error)
{
    struct evbuffer *b = page_start("Sign in");
    if (b != NULL) {
        if (error != NULL) {
            evbuffer_add_printf(b, "<p class=\"error\" id=\"error\" role=\"alert\">");
            append_escaped(b, error);
            evbuffer_add_printf(b, "</p>\n");
        }
        evbuffer_add_printf(b, "<form method=\"post\" action=\"" OIDC_PATH_SIGNIN "\">"
                               "<label for=\"email\">Work email</label>"
                               "<input id=\"email\" name=\"email\" type=\"email\" "
                               "autocomplete=\"email\" required value=\"");
        append_escaped(b, email ? email : "");
        evbuffer_add_printf(b, "\"><button type=\"submit\" id=\"submit\">Continue</button>"
                               "</form>\n<p>You will continue at your organization's sign-in "
                               "page.</p>\n");
    }
    page_send(r, status, b);
}

void oidc_page_signed_in(http_req *r, const char *display, const char *email, const char *tier)
{
    struct evbuffer *b = page_start("Signed in");
    if (b != NULL) {
        evbuffer_add_printf(b, "<p id=\"user\">Signed in as <strong>");
        append_escaped(b, display);
        evbuffer_add_printf(b, "</strong>");
        if (email != NULL && *email) {
            evbuffer_add_printf(b, " (");
            append_escaped(b, email);
            evbuffer_add_printf(b, ")");
        }
        evbuffer_add_printf(b, ".</p>\n<p id=\"tier\">Licence: ");
        append_escaped(b, tier);
        evbuffer_add_printf(b, "</p>\n<form method=\"post\" action=\"" OIDC_PATH_LOGOUT "\">"
                               "<button type=\"submit\" id=\"logout\">Sign out</button></form>\n");
    }
    page_send(r, 200, b);
}
