#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_internal.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int http_percent_decode_to(const char *in, size_t len, int plus_is_space, char *out)
{
    size_t o = 0;

    /* Most paths have nothing to decode, so they are copied at once. */
    if (!memchr(in, '%', len) && !(plus_is_space && memchr(in, '+', len))) {
        if (memchr(in, '\0', len))
            return -1;
        memcpy(out, in, len);
        out[len] = '\0';
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\0')
            return -1;
        if (in[i] != '%') {
            out[o++] = plus_is_space && in[i] == '+' ? ' ' : in[i];
            continue;
        }
        if (i + 2 >= len)
            return -1;
        int hi = hex_value(in[i + 1]);
        int lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        out[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[o] = '\0';
    return 0;
}

char *http_percent_decode(const char *in, size_t len, int plus_is_space)
{
    char *out = malloc(len + 1);

    if (!out)
        return NULL;
    if (http_percent_decode_to(in, len, plus_is_space, out) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int append_kv(http_kv **kv, size_t *n, size_t *cap, char *name, char *value)
{
    if (*n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 8;
        http_kv *grown = realloc(*kv, grown_cap * sizeof(*grown));
        if (!grown)
            return -1;
        *kv = grown;
        *cap = grown_cap;
    }
    (*kv)[*n].name = name;
    (*kv)[*n].value = value;
    (*n)++;
    return 0;
}

static void trim_span(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

static char *copy_part(const char *s, size_t len, int decode)
{
    if (decode)
        return http_percent_decode(s, len, 1);
    trim_span(&s, &len);
    return strndup(s, len);
}

size_t http_kv_parse(const char *text, size_t len, char sep, int decode, http_kv **out)
{
    http_kv *kv = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t i = 0;

    while (i < len) {
        const char *part = text + i;
        const char *end = memchr(part, sep, len - i);
        size_t plen = end ? (size_t)(end - part) : len - i;
        const char *eq = memchr(part, '=', plen);
        size_t nlen = eq ? (size_t)(eq - part) : plen;

        i += plen + 1;
        if (plen == 0)
            continue;
        char *name = copy_part(part, nlen, decode);
        if (!name)
            continue; /* a name that does not decode cannot be asked for */
        /* A value that does not decode is kept as NULL, so that callers can
         * tell an invalid parameter from an absent one. */
        char *value = eq ? copy_part(eq + 1, plen - nlen - 1, decode) : strdup("");
        if (append_kv(&kv, &n, &cap, name, value) != 0) {
            free(name);
            free(value);
        }
    }
    *out = kv;
    return n;
}

void http_kv_free(http_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

const char *http_kv_find(const http_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    }
    return NULL;
}

int http_kv_invalid(const http_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].name, name) == 0)
            return kv[i].value == NULL;
    }
    return 0;
}

int http_request_id_ok(const char *id)
{
    size_t n = 0;
    if (!id)
        return 0;
    for (; id[n]; n++) {
        char c = id[n];
        if (n >= HTTP_REQUEST_ID_MAX)
            return 0;
        if (!isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-' && c != ':')
            return 0;
    }
    return n > 0;
}

char *http_urlencode(const char *in)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t len = strlen(in);
    char *out = malloc(len * 3 + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = digits[*p >> 4];
            out[o++] = digits[*p & 15];
        }
    }
    out[o] = '\0';
    return out;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

char *http_put_decimal(char *out, uint64_t v)
{
    char digits[20];
    int n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        *out++ = digits[--n];
    return out;
}
