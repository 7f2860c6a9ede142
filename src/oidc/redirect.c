#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oidc/redirect.h"

static int is_host_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '-' || ch == '.' || ch == '_';
}

/* Parses "scheme://authority" at the start of `url`; sets `*rest` to what
 * follows the authority. Userinfo, an empty host and unexpected characters
 * fail. */
static int parse_origin(const char *url, char out[OIDC_ORIGIN_MAX], const char **rest)
{
    const char *p;
    int https;

    if (strncasecmp(url, "https://", 8) == 0) {
        https = 1;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        https = 0;
        p = url + 7;
    } else {
        return -1;
    }

    size_t hlen = 0;
    char host[256];
    if (*p == '[') {
        /* An IPv6 literal: hex digits, colons and dots up to ']'. */
        const char *end = strchr(p, ']');
        if (end == NULL || (size_t)(end - p + 1) >= sizeof host)
            return -1;
        for (const char *q = p + 1; q < end; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return -1;
        hlen = (size_t)(end - p + 1);
        memcpy(host, p, hlen);
    } else {
        while (is_host_char(p[hlen]) && hlen < sizeof host - 1) {
            host[hlen] = (char)tolower((unsigned char)p[hlen]);
            hlen++;
        }
    }
    if (hlen == 0 || hlen >= sizeof host - 1)
        return -1;
    host[hlen] = '\0';
    p += hlen;

    long port = https ? 443 : 80;
    if (*p == ':') {
        char *end;
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        port = strtol(p, &end, 10);
        if (port < 1 || port > 65535 || end - p > 5)
            return -1;
        p = end;
    }
    /* The authority must end here: '@' (userinfo) or anything else fails. */
    if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
        return -1;

    const char *scheme = https ? "https" : "http";
    if (port == (https ? 443 : 80))
        snprintf(out, OIDC_ORIGIN_MAX, "%s://%s", scheme, host);
    else
        snprintf(out, OIDC_ORIGIN_MAX, "%s://%s:%ld", scheme, host, port);
    *rest = p;
    return 0;
}

int oidc_origin_normalize(const char *url, char out[OIDC_ORIGIN_MAX])
{
    const char *rest;
    if (parse_origin(url, out, &rest) != 0)
        return -1;
    if (*rest != '\0' && strcmp(rest, "/") != 0)
        return -1;
    return 0;
}

int oidc_origin_of(const char *url, char out[OIDC_ORIGIN_MAX])
{
    const char *rest;
    return parse_origin(url, out, &rest);
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Checks every byte of the target: printable ASCII without space or
 * backslash, and percent escapes only for harmless characters. */
static int check_chars(const char *s, const char **reason)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *reason = "control character";
            return -1;
        }
        if (*p >= 0x80) {
            *reason = "non-ASCII character";
            return -1;
        }
        if (*p == ' ') {
            *reason = "space";
            return -1;
        }
        if (*p == '\\') {
            *reason = "backslash";
            return -1;
        }
        if (*p != '%')
            continue;
        int hi = hex_value((char)p[1]), lo = hi < 0 ? -1 : hex_value((char)p[2]);
        if (hi < 0 || lo < 0) {
            *reason = "invalid percent escape";
            return -1;
        }
        int ch = hi << 4 | lo;
        if (ch < 0x20 || ch >= 0x7f || ch == '/' || ch == '\\' || ch == '%' || ch == '@' ||
            ch == ':' || ch == '.') {
            *reason = "percent-encoded slash, backslash, dot, colon, at sign, percent or control "
                      "character";
            return -1;
        }
    }
    return 0;
}

static int check_path(const char *path, const char **reason)
{
    if (path[0] != '/') {
        *reason = "not a path starting with /";
        return -1;
    }
    if (path[1] == '/' || path[1] == '\\') {
        *reason = "path starting with // or /\\ names another host";
        return -1;
    }
    return 0;
}

static int origin_allowed(const char *origin, const char *self_origin,
                          const char *const *allowed, size_t nallowed)
{
    char norm[OIDC_ORIGIN_MAX];
    if (self_origin != NULL && oidc_origin_normalize(self_origin, norm) == 0 &&
        strcmp(norm, origin) == 0)
        return 1;
    for (size_t i = 0; i < nallowed; i++)
        if (oidc_origin_normalize(allowed[i], norm) == 0 && strcmp(norm, origin) == 0)
            return 1;
    return 0;
}

int oidc_target_check(const char *target, const char *self_origin, const char *const *allowed,
                      size_t nallowed, const char **reason)
{
    *reason = NULL;
    if (target == NULL || *target == '\0')
        return 0;
    if (strlen(target) > OIDC_TARGET_MAX) {
        *reason = "too long";
        return -1;
    }
    if (check_chars(target, reason) != 0)
        return -1;
    if (target[0] == '/')
        return check_path(target, reason);

    char origin[OIDC_ORIGIN_MAX];
    const char *rest;
    if (parse_origin(target, origin, &rest) != 0) {
        *reason = "neither a path nor an absolute http(s) URL with a plain host";
        return -1;
    }
    if (!origin_allowed(origin, self_origin, allowed, nallowed)) {
        *reason = "origin is not allowed";
        return -1;
    }
    if (*rest == '\0')
        return 0;
    if (*rest == '?' || *rest == '#')
        return 0;
    return check_path(rest, reason);
}
