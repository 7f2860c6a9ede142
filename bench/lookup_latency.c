/* Paired lookup latency of two idgate servers: a small store and a large
 * one, measured by one client that sends one request at a time and
 * alternates between the two servers request by request. Other load on the
 * machine then delays both servers alike, so the ratio of their latencies
 * stays stable where separate runs of a few seconds each do not.
 *
 *   lookup_latency --kind filter|get --requests N [--rounds R] [--seed S]
 *                  [--order paired|blocks]
 *                  --small-url URL --small-token T --small-ids FILE
 *                  --large-url URL --large-token T --large-ids FILE
 *
 * Each server gets the same number N of users, the first N lines of its
 * "id<TAB>userName" file (the caller shuffles the file). One warm-up pass
 * looks every sampled user up once on each server, so that the store pages
 * the run touches are mapped and cached before any request is timed. Then
 * R rounds look every sampled user up once more on each server, in a new
 * random order per round. With --order paired (the default) the requests
 * alternate between the servers, and the request to the small store goes
 * first for even positions and second for odd ones. With --order blocks a
 * round sends all its requests to one server and then all to the other,
 * the large store first in odd rounds. Then no request of the other server
 * evicts a server's data from the CPU caches between two of its own
 * requests.
 *
 * "filter" is GET /scim/v2/Users?filter=userName eq "NAME" and requires
 * totalResults 1 in the reply; "get" is GET /scim/v2/Users/ID and
 * requires status 200.
 *
 * Prints "name value" lines. For each round they give the median latency
 * of each server in microseconds and the ratio large / small. Over all
 * rounds they give the median, quartiles and extremes of the round ratios,
 * and per server the median and 99th percentile of every timed request.
 * Latency is from writing the request to reading the last byte of the
 * reply.
 * Exit status: 0 when every reply was as expected, 1 otherwise, 2 for
 * usage errors.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUESTS 100000
#define MAX_ROUNDS 1000
#define REPLY_MAX (1 << 20)
#define SOCKET_TIMEOUT_SECONDS 10

enum kind { KIND_FILTER, KIND_GET };

/* One server under test and the requests prepared for it. */
typedef struct server {
    const char *label;
    const char *url;
    const char *token;
    const char *ids_path;
    struct sockaddr_in addr;
    int fd;
    char **requests;  /* N complete HTTP requests, one per sampled user */
    size_t *request_lengths;
    double *latencies_us;  /* every timed request, rounds one after another */
} server;

static char reply[REPLY_MAX + 1];

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("lookup_latency: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        die("out of memory");
    return p;
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Parses "http://A.B.C.D:PORT" with an IPv4 address, the only form the
 * benchmark uses. */
static void parse_url(server *s)
{
    char host[64];
    unsigned port;
    int used = 0;

    if (sscanf(s->url, "http://%63[0-9.]:%u%n", host, &port, &used) != 2 ||
        (s->url[used] != '\0' && strcmp(s->url + used, "/") != 0) || port == 0 || port > 65535)
        die("invalid --%s-url %s: expected http://IPV4:PORT", s->label, s->url);
    memset(&s->addr, 0, sizeof(s->addr));
    s->addr.sin_family = AF_INET;
    s->addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &s->addr.sin_addr) != 1)
        die("invalid address in --%s-url %s", s->label, s->url);
}

static void server_connect(server *s)
{
    struct timeval tv = {.tv_sec = SOCKET_TIMEOUT_SECONDS};
    int enable = 1;

    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0)
        die("socket failed: %s", strerror(errno));
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &enable, sizeof(enable));
    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(s->fd, (struct sockaddr *)&s->addr, sizeof(s->addr)) != 0)
        die("connecting to %s failed: %s", s->url, strerror(errno));
}

/* Appends `s` to `out` with every byte outside RFC 3986's unreserved set
 * percent-encoded. */
static size_t url_encode(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';

        if (n + 4 > cap)
            die("userName too long to encode: %s", s);
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return n;
}

/* Reads the first `count` users of the server's ids file and prepares one
 * request per user. */
static void prepare_requests(server *s, enum kind kind, long count)
{
    char line[1024], path[2048], encoded[1536];
    FILE *f = fopen(s->ids_path, "r");
    long n = 0;

    if (!f)
        die("cannot open --%s-ids %s: %s", s->label, s->ids_path, strerror(errno));
    s->requests = xmalloc(sizeof(char *) * (size_t)count);
    s->request_lengths = xmalloc(sizeof(size_t) * (size_t)count);
    while (n < count && fgets(line, sizeof(line), f)) {
        char *tab = strchr(line, '\t');
        char *name, *end;
        int len;

        if (!tab)
            continue;
        *tab = '\0';
        name = tab + 1;
        end = name + strcspn(name, "\r\n");
        *end = '\0';
        if (kind == KIND_FILTER) {
            char filter[1200];

            snprintf(filter, sizeof(filter), "userName eq \"%s\"", name);
            url_encode(encoded, sizeof(encoded), filter);
            snprintf(path, sizeof(path), "/scim/v2/Users?filter=%s", encoded);
        } else {
            url_encode(encoded, sizeof(encoded), line);
            snprintf(path, sizeof(path), "/scim/v2/Users/%s", encoded);
        }
        s->requests[n] = xmalloc(4096);
        len = snprintf(s->requests[n], 4096,
                       "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                       "Accept: application/scim+json\r\n\r\n",
                       path, s->url + strlen("http://"), s->token);
        if (len < 0 || len >= 4096)
            die("request for %s too long", name);
        s->request_lengths[n] = (size_t)len;
        n++;
    }
    fclose(f);
    if (n < count)
        die("--%s-ids %s has %ld users, fewer than --requests %ld", s->label, s->ids_path, n,
            count);
}

/* Returns the value of header `name` in the header block, or NULL. */
static const char *find_header(const char *headers, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = strstr(headers, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, len) == 0 && p[2 + len] == ':')
            return p + 3 + len;
    }
    return NULL;
}

/* Sends request `i` and reads the whole reply into `reply`. Returns the
 * status and sets `body` to the start of the reply's body. */
static int exchange(server *s, long i, const char **body)
{
    size_t have = 0, need = 0, sent = 0;
    char *end = NULL;

    while (sent < s->request_lengths[i]) {
        ssize_t w = write(s->fd, s->requests[i] + sent, s->request_lengths[i] - sent);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("writing to %s failed: %s", s->url, w < 0 ? strerror(errno) : "closed");
        sent += (size_t)w;
    }
    for (;;) {
        ssize_t r;

        if (end && have >= need)
            break;
        if (have == REPLY_MAX)
            die("reply from %s larger than %d bytes", s->url, REPLY_MAX);
        r = read(s->fd, reply + have, REPLY_MAX - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("reading from %s failed: %s", s->url,
                r < 0 ? strerror(errno) : "connection closed before the reply ended");
        have += (size_t)r;
        reply[have] = '\0';
        if (!end && (end = strstr(reply, "\r\n\r\n"))) {
            const char *length;

            end[2] = '\0';  /* ends the header block for find_header */
            if (find_header(reply, "Transfer-Encoding"))
                die("chunked reply from %s is not supported", s->url);
            length = find_header(reply, "Content-Length");
            if (!length)
                die("reply from %s has no Content-Length", s->url);
            need = (size_t)(end + 4 - reply) + strtoul(length, NULL, 10);
        }
    }
    if (have != need)
        die("reply from %s is longer than its Content-Length", s->url);
    *body = end + 4;
    return (int)strtol(reply + strlen("HTTP/1.1 "), NULL, 10);
}

/* Returns the value of the integer member "totalResults", or -1. */
static long total_results(const char *body)
{
    const char *p = strstr(body, "\"totalResults\"");

    if (!p)
        return -1;
    p += strlen("\"totalResults\"");
    p += strspn(p, " \t\r\n");
    if (*p != ':')
        return -1;
    return strtol(p + 1, NULL, 10);
}

/* Times one lookup; counts it as an error unless the reply is the one
 * expected for `kind`. */
static double lookup(server *s, enum kind kind, long i, long *errors)
{
    const char *body;
    double t0 = now_us();
    int status = exchange(s, i, &body);
    double elapsed = now_us() - t0;
    int ok = status == 200 && (kind == KIND_GET || total_results(body) == 1);

    if (!ok) {
        (*errors)++;
        if (*errors <= 5)
            fprintf(stderr, "lookup_latency: %s: unexpected reply to request %ld: status %d: %.200s\n",
                    s->url, i, status, body);
    }
    return elapsed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Returns the q-quantile (0..1) of `n` values by linear interpolation;
 * sorts `v` in place. */
static double quantile(double *v, long n, double q)
{
    double pos = q * (double)(n - 1);
    long lo = (long)pos;

    qsort(v, (size_t)n, sizeof(double), cmp_double);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (v[lo + 1] - v[lo]) * (pos - (double)lo);
}

/* xorshift64*, seeded, so that a run's request order can be repeated. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

static void shuffle(long *order, long n, uint64_t *state)
{
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(next_random(state) % (uint64_t)(i + 1));
        long t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
}

static void usage(void)
{
    fputs("usage: lookup_latency --kind filter|get --requests N [--rounds R] [--seed S]\n"
          "         [--order paired|blocks]\n"
          "         --small-url URL --small-token T --small-ids FILE\n"
          "         --large-url URL --large-token T --large-ids FILE\n",
          stderr);
    exit(2);
}

static long parse_count(const char *arg, const char *name, long max)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (*end || v < 1 || v > max) {
        fprintf(stderr, "lookup_latency: invalid %s %s: expected 1 to %ld\n", name, arg, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"kind", required_argument, NULL, 'k'},        {"requests", required_argument, NULL, 'n'},
        {"rounds", required_argument, NULL, 'r'},      {"seed", required_argument, NULL, 's'},
        {"small-url", required_argument, NULL, 'a'},   {"small-token", required_argument, NULL, 'b'},
        {"small-ids", required_argument, NULL, 'c'},   {"large-url", required_argument, NULL, 'd'},
        {"large-token", required_argument, NULL, 'e'}, {"large-ids", required_argument, NULL, 'f'},
        {"order", required_argument, NULL, 'o'},       {NULL, 0, NULL, 0},
    };
    server small = {.label = "small"}, large = {.label = "large"};
    server *servers[2] = {&small, &large};
    const char *kind_name = NULL, *order_name = "paired";
    int blocks;
    enum kind kind;
    long count = 0, rounds = 20, errors = 0;
    uint64_t state = 1;
    double *ratios;
    long *order;
    int opt;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'k': kind_name = optarg; break;
        case 'n': count = parse_count(optarg, "--requests", MAX_REQUESTS); break;
        case 'r': rounds = parse_count(optarg, "--rounds", MAX_ROUNDS); break;
        case 's': state = (uint64_t)parse_count(optarg, "--seed", INT32_MAX); break;
        case 'a': small.url = optarg; break;
        case 'b': small.token = optarg; break;
        case 'c': small.ids_path = optarg; break;
        case 'd': large.url = optarg; break;
        case 'e': large.token = optarg; break;
        case 'f': large.ids_path = optarg; break;
        case 'o': order_name = optarg; break;
        default: usage();
        }
    }
    if (!kind_name || !count || !small.url || !small.token || !small.ids_path || !large.url ||
        !large.token || !large.ids_path || optind != argc)
        usage();
    if (strcmp(kind_name, "filter") == 0)
        kind = KIND_FILTER;
    else if (strcmp(kind_name, "get") == 0)
        kind = KIND_GET;
    else
        usage();
    if (strcmp(order_name, "paired") != 0 && strcmp(order_name, "blocks") != 0)
        usage();
    blocks = strcmp(order_name, "blocks") == 0;

    for (int k = 0; k < 2; k++) {
        parse_url(servers[k]);
        prepare_requests(servers[k], kind, count);
        servers[k]->latencies_us = xmalloc(sizeof(double) * (size_t)(count * rounds));
        server_connect(servers[k]);
    }
    /* Warm-up: not timed. */
    for (long i = 0; i < count; i++) {
        lookup(&small, kind, i, &errors);
        lookup(&large, kind, i, &errors);
    }

    order = xmalloc(sizeof(long) * (size_t)count);
    for (long i = 0; i < count; i++)
        order[i] = i;
    ratios = xmalloc(sizeof(double) * (size_t)rounds);
    for (long r = 0; r < rounds; r++) {
        double *a = small.latencies_us + r * count, *b = large.latencies_us + r * count;
        double small_p50, large_p50;

        shuffle(order, count, &state);
        if (blocks) {
            int large_first = (r & 1) == 0;

            for (long i = 0; large_first && i < count; i++)
                b[i] = lookup(&large, kind, order[i], &errors);
            for (long i = 0; i < count; i++)
                a[i] = lookup(&small, kind, order[i], &errors);
            for (long i = 0; !large_first && i < count; i++)
                b[i] = lookup(&large, kind, order[i], &errors);
        } else {
            for (long i = 0; i < count; i++) {
                int large_first = i & 1;

                if (large_first)
                    b[i] = lookup(&large, kind, order[i], &errors);
                a[i] = lookup(&small, kind, order[i], &errors);
                if (!large_first)
                    b[i] = lookup(&large, kind, order[i], &errors);
            }
        }
        /* Sorts copies: the pooled quantiles below need every value. */
        {
            double *copy = xmalloc(sizeof(double) * (size_t)count);

            memcpy(copy, a, sizeof(double) * (size_t)count);
            small_p50 = quantile(copy, count, 0.5);
            memcpy(copy, b, sizeof(double) * (size_t)count);
            large_p50 = quantile(copy, count, 0.5);
            free(copy);
        }
        ratios[r] = large_p50 / small_p50;
        printf("r%ld.small_p50_us %.1f\nr%ld.large_p50_us %.1f\nr%ld.ratio %.3f\n", r + 1,
               small_p50, r + 1, large_p50, r + 1, ratios[r]);
    }

    printf("rounds %ld\nrequests_per_round %ld\n", rounds, count);
    printf("ratio_median %.3f\n", quantile(ratios, rounds, 0.5));
    printf("ratio_q1 %.3f\nratio_q3 %.3f\n", quantile(ratios, rounds, 0.25),
           quantile(ratios, rounds, 0.75));
    printf("ratio_min %.3f\nratio_max %.3f\n", ratios[0], ratios[rounds - 1]);
    for (int k = 0; k < 2; k++) {
        printf("%s_p50_us %.1f\n", servers[k]->label,
               quantile(servers[k]->latencies_us, count * rounds, 0.5));
        printf("%s_p99_us %.1f\n", servers[k]->label,
               quantile(servers[k]->latencies_us, count * rounds, 0.99));
    }
    printf("requests_per_server %ld\nerrors %ld\n", count * (rounds + 1), errors);
    return errors ? 1 : 0;
}
