#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <evhtp.h>

#include "client_addr.h"
#include "http.h"

/* Maximum length of an X-Forwarded-For entry that can be an address: a
 * bracketed IPv6 address with a port. */
#define ENTRY_MAX (CLIENT_ADDR_TEXT_MAX + 8)
/* Maximum number of X-Forwarded-For header lines kept from one request.
 * The last ones are kept, because the walk starts at the right. */
#define MAX_HEADERS 16

/* parse_network's result for a block like 10.0.0.1/8. */
#define HOST_BITS_SET (-2)

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

int client_addr_parse(const char *text, client_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = AF_INET;
        out->prefix = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->bytes) != 1)
        return -1;
    if (memcmp(out->bytes, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
        memmove(out->bytes, out->bytes + 12, 4);
        memset(out->bytes + 4, 0, 12);
        out->family = AF_INET;
        out->prefix = 32;
        return 0;
    }
    out->family = AF_INET6;
    out->prefix = 128;
    return 0;
}

/* 1 when the first `bits` bits of `a` and `b` are equal. */
static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t whole = bits / 8;
    if (memcmp(a, b, whole) != 0)
        return 0;
    if (bits % 8 == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
    return (a[whole] & mask) == (b[whole] & mask);
}

static unsigned full_length(int family)
{
    return family == AF_INET ? 32 : 128;
}

/* Parses "address" or "address/prefix" into `net`. Returns 0, -1 when it
 * is not a network, or HOST_BITS_SET for an address with bits set past its
 * prefix (then `net` contains the address and the prefix). */
static int parse_network(const char *item, client_addr *net)
{
    char text[ENTRY_MAX];
    const char *slash = strchr(item, '/');
    size_t len = slash ? (size_t)(slash - item) : strlen(item);
    if (len == 0 || len >= sizeof text)
        return -1;
    memcpy(text, item, len);
    text[len] = '\0';
    if (client_addr_parse(text, net) != 0)
        return -1;
    if (slash == NULL)
        return 0;
    /* A prefix on an IPv4-mapped address would count bits of the mapping. */
    if (strchr(text, ':') != NULL && net->family == AF_INET)
        return -1;
    char *end;
    const char *digits = slash + 1;
    if (*digits < '0' || *digits > '9' || strlen(digits) > 3)
        return -1;
    unsigned long prefix = strtoul(digits, &end, 10);
    if (*end != '\0' || prefix > full_length(net->family))
        return -1;
    net->prefix = (unsigned)prefix;
    for (unsigned bit = net->prefix; bit < full_length(net->family); bit++) {
        if (net->bytes[bit / 8] & (0x80 >> (bit % 8)))
            return HOST_BITS_SET;
    }
    return 0;
}

/* Writes `net` without its host bits ("10.0.0.0/8" for 10.0.0.1/8), for
 * the error message. */
static void format_masked(const client_addr *net, char *out, size_t len)
{
    client_addr masked = *net;
    char text[CLIENT_ADDR_TEXT_MAX];
    for (unsigned bit = net->prefix; bit < full_length(net->family); bit++)
        masked.bytes[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
    client_addr_format(&masked, text);
    snprintf(out, len, "%s/%u", text, net->prefix);
}

void client_addr_proxies_clear(client_addr_proxies *p)
{
    free(p->nets);
    p->nets = NULL;
    p->count = 0;
}

/* Writes the error for an empty entry, the `position`th (from 1), which
 * comes from a comma at the start or end of the list or two commas in a
 * row. `previous` is the entry before it (NULL for the first). */
static void describe_empty(char *err, size_t errlen, size_t position, int last,
                           const char *previous, size_t previous_len)
{
    int shown_len = (int)(previous_len > 64 ? 64 : previous_len);
    if (previous == NULL)
        snprintf(err, errlen, "entry 1 is empty because the list starts with a comma. Remove "
                              "that comma");
    else if (last)
        snprintf(err, errlen, "entry %zu is empty because the list ends with a comma after "
                              "\"%.*s\". Remove that comma", position, shown_len, previous);
    else
        snprintf(err, errlen, "entry %zu is empty because two commas follow \"%.*s\". Remove "
                              "one of them", position, shown_len, previous);
}

int client_addr_proxies_parse(const char *list, client_addr_proxies *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    const char *p = list ? list : "";
    size_t capacity = 1;
    for (const char *c = p; *c; c++)
        capacity += *c == ',';
    while (is_space(*p))
        p++;
    if (*p == '\0')
        return 0;
    out->nets = calloc(capacity, sizeof *out->nets);
    if (out->nets == NULL)
        return -1;
    const char *previous = NULL;
    size_t previous_len = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && is_space(p[len - 1]))
            len--;
        char item[ENTRY_MAX];
        int rc = -1;
        if (len > 0 && len < sizeof item) {
            memcpy(item, p, len);
            item[len] = '\0';
            rc = parse_network(item, &out->nets[out->count]);
        }
        if (len == 0) {
            describe_empty(err, errlen, out->count + 1, end == NULL, previous, previous_len);
            client_addr_proxies_clear(out);
            return -1;
        }
        if (rc != 0) {
            char network[CLIENT_ADDR_KEY_MAX];
            if (rc == HOST_BITS_SET) {
                format_masked(&out->nets[out->count], network, sizeof network);
                snprintf(err, errlen, "\"%s\" has host bits set past its prefix. Write %s instead",
                         item, network);
            } else {
                snprintf(err, errlen, "\"%.*s\" is not an IPv4 or IPv6 address or CIDR block",
                         (int)(len > 64 ? 64 : len), p);
            }
            client_addr_proxies_clear(out);
            return -1;
        }
        out->count++;
        if (end == NULL)
            return 0;
        previous = p;
        previous_len = len;
        p = end + 1;
        while (is_space(*p))
            p++;
    }
}

int client_addr_trusted(const client_addr_proxies *p, const client_addr *addr)
{
    for (size_t i = 0; p != NULL && i < p->count; i++) {
        const client_addr *net = &p->nets[i];
        if (net->family == addr->family && prefix_equal(net->bytes, addr->bytes, net->prefix))
            return 1;
    }
    return 0;
}

/* Parses one X-Forwarded-For entry, `len` bytes at `s` without the
 * surrounding spaces: an address, "a.b.c.d:port", "[v6]" or "[v6]:port".
 * Returns 0 or -1. */
static int parse_entry(const char *s, size_t len, client_addr *out)
{
    char text[ENTRY_MAX];
    if (len == 0 || len >= sizeof text)
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    char *host = text;
    if (text[0] == '[') {
        char *close = strchr(text, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return -1;
        *close = '\0';
        host = text + 1;
    } else {
        char *colon = strchr(text, ':');
        /* One colon is an IPv4 address with a port; more make an IPv6 address. */
        if (colon != NULL && strchr(colon + 1, ':') == NULL)
            *colon = '\0';
    }
    return client_addr_parse(host, out);
}

/* Walks the entries of one header value from the right. Sets `*stop` when
 * the walk must end (an untrusted or malformed entry). */
static void walk_header(const client_addr_proxies *p, const char *value, client_addr *candidate,
                        int *stop)
{
    const char *end = value + strlen(value);
    while (!*stop && end > value) {
        const char *start = end;
        while (start > value && start[-1] != ',')
            start--;
        const char *s = start, *e = end;
        while (s < e && is_space(*s))
            s++;
        while (e > s && is_space(e[-1]))
            e--;
        client_addr entry;
        if (parse_entry(s, (size_t)(e - s), &entry) != 0) {
            *stop = 1;
            return;
        }
        *candidate = entry;
        if (!client_addr_trusted(p, &entry))
            *stop = 1;
        end = start > value ? start - 1 : value;
    }
}

int client_addr_choose(const client_addr_proxies *p, const char *peer, const char *const *headers,
                       size_t nheaders, client_addr *out)
{
    if (peer == NULL || client_addr_parse(peer, out) != 0)
        return -1;
    int stop = !client_addr_trusted(p, out);
    for (size_t i = nheaders; !stop && i > 0; i--) {
        if (headers[i - 1] != NULL)
            walk_header(p, headers[i - 1], out, &stop);
    }
    return 0;
}

typedef struct header_list {
    const char *values[MAX_HEADERS];
    size_t count;
} header_list;

static int collect_forwarded_for(evhtp_kv_t *kv, void *arg)
{
    header_list *list = arg;
    if (kv->key == NULL || kv->val == NULL || strcasecmp(kv->key, "X-Forwarded-For") != 0)
        return 0;
    if (list->count == MAX_HEADERS) {
        memmove(list->values, list->values + 1, (MAX_HEADERS - 1) * sizeof list->values[0]);
        list->count--;
    }
    list->values[list->count++] = kv->val;
    return 0;
}

int client_addr_of_request(struct http_req *r, const client_addr_proxies *p, client_addr *out)
{
    header_list list = {.count = 0};
    if (r->ev != NULL && p != NULL && p->count > 0)
        evhtp_kvs_for_each(r->ev->headers_in, collect_forwarded_for, &list);
    return client_addr_choose(p, http_peer(r), list.values, list.count, out);
}

void client_addr_format(const client_addr *a, char out[CLIENT_ADDR_TEXT_MAX])
{
    if (inet_ntop(a->family, a->bytes, out, CLIENT_ADDR_TEXT_MAX) == NULL)
        out[0] = '\0';
}

void client_addr_limit_key(const client_addr *a, char out[CLIENT_ADDR_KEY_MAX])
{
    if (a->family != AF_INET6) {
        client_addr_format(a, out);
        return;
    }
    client_addr net = *a;
    memset(net.bytes + 8, 0, 8);
    client_addr_format(&net, out);
    strcat(out, "/64");
}
