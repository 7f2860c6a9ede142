#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "admin/dns_txt.h"
#include "crypto.h"
#include "log.h"

#define TYPE_CNAME 5
#define TYPE_TXT 16
#define CLASS_IN 1
#define MAX_NAME 256    /* a dotted name of at most 253 characters, with room to spare */
#define MAX_CHAIN 8     /* CNAME records followed from the queried name */
#define MAX_MSG 4096
#define MAX_RECORDS 64
#define FLAG_TC 0x02    /* header byte 2: the reply was truncated */

struct dns_txt_query {
    struct event *read_ev;
    struct event *resend_ev;
    struct event *timeout_ev;
    evutil_socket_t fd;
    struct bufferevent *tcp;        /* the retry over TCP after a truncated reply */
    struct sockaddr_storage server;
    socklen_t server_len;
    uint16_t id;
    char name[MAX_NAME];
    uint8_t msg[512];
    size_t msg_len;
    dns_txt_done done;
    void *arg;
};

const char *dns_txt_strerror(int err)
{
    switch (err) {
    case DNS_TXT_OK:
        return "ok";
    case DNS_TXT_NXDOMAIN:
        return "the name does not exist";
    case DNS_TXT_TIMEOUT:
        return "no reply in time";
    case DNS_TXT_SERVFAIL:
        return "the server replied SERVFAIL (it could not resolve the name)";
    case DNS_TXT_REFUSED:
        return "the server replied REFUSED (it does not answer queries from this host)";
    case DNS_TXT_CONNREFUSED:
        return "connection refused (no DNS server listens there)";
    default:
        return "the reply was malformed, another error code, or a network error";
    }
}

int dns_txt_encode_query(const char *name, uint16_t id, uint8_t *buf, size_t cap, size_t *len)
{
    size_t n = 12, nlen = strlen(name);
    const char *p = name;

    if (nlen == 0 || nlen > 253 || cap < 12 + nlen + 2 + 4)
        return -1;
    memset(buf, 0, 12);
    buf[0] = (uint8_t)(id >> 8);
    buf[1] = (uint8_t)id;
    buf[2] = 0x01; /* recursion desired */
    buf[5] = 1;    /* one question */
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t label = dot ? (size_t)(dot - p) : strlen(p);

        if (label == 0 || label > 63)
            return -1;
        buf[n++] = (uint8_t)label;
        memcpy(buf + n, p, label);
        n += label;
        p += label;
        if (*p == '.')
            p++;
    }
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = TYPE_TXT;
    buf[n++] = 0;
    buf[n++] = CLASS_IN;
    *len = n;
    return 0;
}

/* Moves *pos past a (possibly compressed) name. Returns 0 or -1. */
static int skip_name(const uint8_t *msg, size_t len, size_t *pos)
{
    size_t p = *pos;

    for (int labels = 0; labels < 128; labels++) {
        if (p >= len)
            return -1;
        if ((msg[p] & 0xc0) == 0xc0) {
            if (p + 2 > len)
                return -1;
            *pos = p + 2;
            return 0;
        }
        if (msg[p] & 0xc0)
            return -1;
        if (msg[p] == 0) {
            *pos = p + 1;
            return 0;
        }
        p += 1 + msg[p];
    }
    return -1;
}

/* Reads the (possibly compressed) name at `pos` into `out` as dotted text
 * without the final dot ("" for the root). Compression pointers must point
 * backwards, so a reply cannot make it loop. Returns 0 or -1. */
static int read_name(const uint8_t *msg, size_t len, size_t pos, char out[MAX_NAME])
{
    size_t o = 0;

    for (int labels = 0; labels < 128; labels++) {
        if (pos >= len)
            return -1;
        if ((msg[pos] & 0xc0) == 0xc0) {
            size_t target;

            if (pos + 2 > len)
                return -1;
            target = (size_t)(msg[pos] & 0x3f) << 8 | msg[pos + 1];
            if (target >= pos)
                return -1;
            pos = target;
            continue;
        }
        if (msg[pos] & 0xc0)
            return -1;
        if (msg[pos] == 0) {
            out[o] = 0;
            return 0;
        }
        if (pos + 1 + msg[pos] > len || o + msg[pos] + 2 > MAX_NAME)
            return -1;
        if (o)
            out[o++] = '.';
        memcpy(out + o, msg + pos + 1, msg[pos]);
        o += msg[pos];
        pos += 1 + msg[pos];
    }
    return -1;
}

/* Joins the character strings of one TXT record's data. */
static char *read_txt(const uint8_t *rdata, size_t rlen)
{
    char *out = malloc(rlen + 1);
    size_t o = 0, p = 0;

    if (!out)
        return NULL;
    while (p < rlen) {
        size_t l = rdata[p++];
        if (p + l > rlen) {
            free(out);
            return NULL;
        }
        memcpy(out + o, rdata + p, l);
        o += l;
        p += l;
    }
    out[o] = 0;
    return out;
}

void dns_txt_free(char **records, size_t n)
{
    for (size_t i = 0; records && i < n; i++)
        free(records[i]);
    free(records);
}

/* One resource record of the answer section. */
typedef struct answer {
    char owner[MAX_NAME];
    unsigned type, class;
    size_t rdata, rlen;         /* offset and length of its data in the message */
} answer;

/* Checks that the reply has exactly the question that was sent: `name`
 * (compared without regard to ASCII case), type TXT, class IN. Moves *pos
 * past it. */
static int check_question(const uint8_t *msg, size_t len, const char *name, size_t *pos)
{
    char asked[MAX_NAME];
    unsigned qd = (unsigned)(msg[4] << 8 | msg[5]);

    if (qd != 1 || read_name(msg, len, *pos, asked) || skip_name(msg, len, pos) ||
        *pos + 4 > len)
        return -1;
    if (strcasecmp(asked, name) ||
        (unsigned)(msg[*pos] << 8 | msg[*pos + 1]) != TYPE_TXT ||
        (unsigned)(msg[*pos + 2] << 8 | msg[*pos + 3]) != CLASS_IN)
        return -1;
    *pos += 4;
    return 0;
}

/* Reads up to MAX_RECORDS answers into `out`. Returns their count or -1. */
static int read_answers(const uint8_t *msg, size_t len, size_t pos, answer *out)
{
    unsigned an = (unsigned)(msg[6] << 8 | msg[7]);
    int count = 0;

    for (unsigned i = 0; i < an && count < MAX_RECORDS; i++) {
        answer *a = &out[count];

        if (read_name(msg, len, pos, a->owner) || skip_name(msg, len, &pos) || pos + 10 > len)
            return -1;
        a->type = (unsigned)(msg[pos] << 8 | msg[pos + 1]);
        a->class = (unsigned)(msg[pos + 2] << 8 | msg[pos + 3]);
        a->rlen = (unsigned)(msg[pos + 8] << 8 | msg[pos + 9]);
        a->rdata = pos + 10;
        pos = a->rdata + a->rlen;
        if (pos > len)
            return -1;
        count++;
    }
    return count;
}

/* Follows the CNAME records of the answer section from `name`, so that
 * TXT records of the alias's target count too. Writes the names of the
 * chain into `chain` and returns how many there are, or -1. */
static int follow_chain(const uint8_t *msg, size_t len, const answer *answers, int count,
                        const char *name, char chain[MAX_CHAIN + 1][MAX_NAME])
{
    int links = 1;

    snprintf(chain[0], MAX_NAME, "%s", name);
    for (int hop = 0; hop < MAX_CHAIN; hop++) {
        int found = 0;

        for (int i = 0; i < count && !found; i++) {
            if (answers[i].type != TYPE_CNAME || answers[i].class != CLASS_IN ||
                strcasecmp(answers[i].owner, chain[links - 1]))
                continue;
            if (read_name(msg, len, answers[i].rdata, chain[links]))
                return -1;
            links++;
            found = 1;
        }
        if (!found)
            break;
    }
    return links;
}

static int in_chain(const char *owner, char chain[MAX_CHAIN + 1][MAX_NAME], int links)
{
    for (int i = 0; i < links; i++)
        if (!strcasecmp(owner, chain[i]))
            return 1;
    return 0;
}

int dns_txt_decode_reply(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                         char ***records, size_t *n)
{
    char chain[MAX_CHAIN + 1][MAX_NAME];
    answer *answers = NULL;
    size_t pos = 12, count = 0;
    unsigned rcode;
    char **out = NULL;
    int found, links;

    *records = NULL;
    *n = 0;
    if (len < 12 || msg[0] != (uint8_t)(id >> 8) || msg[1] != (uint8_t)id || !(msg[2] & 0x80))
        return DNS_TXT_FAILED;
    /* A reply to another question (a confused or spoofing server) must not
     * verify the domain, whatever its rcode. */
    if (check_question(msg, len, name, &pos))
        return DNS_TXT_FAILED;
    rcode = msg[3] & 0x0f;
    if (rcode == 3)
        return DNS_TXT_NXDOMAIN;
    if (rcode == 2)
        return DNS_TXT_SERVFAIL;
    if (rcode == 5)
        return DNS_TXT_REFUSED;
    if (rcode != 0)
        return DNS_TXT_FAILED;
    answers = malloc(MAX_RECORDS * sizeof *answers);
    out = calloc(MAX_RECORDS, sizeof *out);
    if (!answers || !out)
        goto fail;
    found = read_answers(msg, len, pos, answers);
    links = found < 0 ? -1 : follow_chain(msg, len, answers, found, name, chain);
    if (links < 0)
        goto fail;
    /* Only TXT records owned by the queried name, or by a name that it is
     * an alias of in this reply, count. */
    for (int i = 0; i < found; i++) {
        if (answers[i].type != TYPE_TXT || answers[i].class != CLASS_IN ||
            !in_chain(answers[i].owner, chain, links))
            continue;
        out[count] = read_txt(msg + answers[i].rdata, answers[i].rlen);
        if (!out[count])
            goto fail;
        count++;
    }
    free(answers);
    *records = out;
    *n = count;
    return DNS_TXT_OK;
fail:
    free(answers);
    dns_txt_free(out, count);
    return DNS_TXT_FAILED;
}

/* Writes the server's address as "IP:port", or "[IPv6]:port", into `buf`. */
static void format_server(const dns_txt_query *q, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (q->server.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&q->server;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        snprintf(buf, len, "[%s]:%u", ip, ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&q->server;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        snprintf(buf, len, "%s:%u", ip, ntohs(v4->sin_port));
    }
}

static void finish(dns_txt_query *q, int err, char **records, size_t n)
{
    dns_txt_done done = q->done;
    void *arg = q->arg;

    /* The callers' messages name the lookup, and this line adds the server
     * that was queried. NXDOMAIN is a valid reply, not a failure. */
    if (err != DNS_TXT_OK && err != DNS_TXT_NXDOMAIN) {
        char server[INET6_ADDRSTRLEN + 10];
        format_server(q, server, sizeof server);
        log_event(LOG_INFO, "DNS lookup failed", "name", q->name, "resolver", server, "error",
                  dns_txt_strerror(err), NULL);
    }

    dns_txt_cancel(q);
    done(err, records, n, arg);
}

/* Reads the TCP reply: a 2-byte big-endian length, then the message
 * (RFC 1035 section 4.2.2). */
static void on_tcp_read(struct bufferevent *bev, void *arg)
{
    dns_txt_query *q = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t head[2];
    size_t len;
    const uint8_t *msg;
    char **records;
    size_t n;
    int err;

    if (evbuffer_copyout(in, head, 2) < 2)
        return;
    len = (size_t)head[0] << 8 | head[1];
    if (evbuffer_get_length(in) < 2 + len)
        return;
    msg = evbuffer_pullup(in, (ev_ssize_t)(2 + len));
    if (!msg) {
        finish(q, DNS_TXT_FAILED, NULL, 0);
        return;
    }
    err = dns_txt_decode_reply(msg + 2, len, q->id, q->name, &records, &n);
    finish(q, err, err ? NULL : records, err ? 0 : n);
    if (!err)
        dns_txt_free(records, n);
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
    if ((what & BEV_EVENT_ERROR) && EVUTIL_SOCKET_ERROR() == ECONNREFUSED)
        finish(arg, DNS_TXT_CONNREFUSED, NULL, 0);
    else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        finish(arg, DNS_TXT_FAILED, NULL, 0);
}

/* Sends the query again over TCP to the same server. The overall timeout
 * keeps running; the UDP socket stops listening. */
static int retry_tcp(dns_txt_query *q)
{
    struct event_base *base = event_get_base(q->read_ev);
    uint8_t head[2] = {(uint8_t)(q->msg_len >> 8), (uint8_t)q->msg_len};

    event_del(q->read_ev);
    event_del(q->resend_ev);
    q->tcp = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!q->tcp)
        return -1;
    bufferevent_setcb(q->tcp, on_tcp_read, NULL, on_tcp_event, q);
    if (bufferevent_socket_connect(q->tcp, (struct sockaddr *)&q->server, (int)q->server_len) ||
        bufferevent_write(q->tcp, head, 2) || bufferevent_write(q->tcp, q->msg, q->msg_len) ||
        bufferevent_enable(q->tcp, EV_READ))
        return -1;
    return 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    dns_txt_query *q = arg;
    uint8_t buf[MAX_MSG];
    char **records;
    size_t n;
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    int err;

    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (got < 0) {
        finish(q, errno == ECONNREFUSED ? DNS_TXT_CONNREFUSED : DNS_TXT_FAILED, NULL, 0);
        return;
    }
    /* A reply to another query id is ignored, because it may be a spoofing
     * attempt or a late reply to an earlier lookup. */
    if (got < 2 || buf[0] != (uint8_t)(q->id >> 8) || buf[1] != (uint8_t)q->id)
        return;
    if (got >= 3 && (buf[2] & FLAG_TC)) {
        if (retry_tcp(q))
            finish(q, DNS_TXT_FAILED, NULL, 0);
        return;
    }
    err = dns_txt_decode_reply(buf, (size_t)got, q->id, q->name, &records, &n);
    finish(q, err, err ? NULL : records, err ? 0 : n);
    if (!err)
        dns_txt_free(records, n);
}

static void on_resend(evutil_socket_t fd, short what, void *arg)
{
    dns_txt_query *q = arg;
    (void)send(q->fd, q->msg, q->msg_len, 0);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    finish(arg, DNS_TXT_TIMEOUT, NULL, 0);
}

int dns_txt_lookup(struct event_base *base, const struct sockaddr *server, socklen_t slen,
                   const char *name, int timeout_ms, dns_txt_done done, void *arg,
                   dns_txt_query **out)
{
    dns_txt_query *q = calloc(1, sizeof *q);
    struct timeval half = {timeout_ms / 2000, (timeout_ms / 2 % 1000) * 1000};
    struct timeval full = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    if (!q)
        return -1;
    q->fd = -1;
    q->done = done;
    q->arg = arg;
    if (slen > sizeof q->server)
        goto fail;
    memcpy(&q->server, server, slen);
    q->server_len = slen;
    if (crypto_random(&q->id, sizeof q->id) ||
        dns_txt_encode_query(name, q->id, q->msg, sizeof q->msg, &q->msg_len))
        goto fail;
    /* The reply's question and owner names are compared without the final
     * dot of a fully qualified name. */
    snprintf(q->name, sizeof q->name, "%s", name);
    if (*q->name && q->name[strlen(q->name) - 1] == '.')
        q->name[strlen(q->name) - 1] = 0;
    q->fd = socket(server->sa_family, SOCK_DGRAM, 0);
    if (q->fd < 0 || evutil_make_socket_nonblocking(q->fd) ||
        evutil_make_socket_closeonexec(q->fd) || connect(q->fd, server, slen))
        goto fail;
    q->read_ev = event_new(base, q->fd, EV_READ | EV_PERSIST, on_read, q);
    q->resend_ev = evtimer_new(base, on_resend, q);
    q->timeout_ev = evtimer_new(base, on_timeout, q);
    if (!q->read_ev || !q->resend_ev || !q->timeout_ev || event_add(q->read_ev, NULL) ||
        evtimer_add(q->resend_ev, &half) || evtimer_add(q->timeout_ev, &full))
        goto fail;
    if (send(q->fd, q->msg, q->msg_len, 0) < 0)
        goto fail;
    *out = q;
    return 0;
fail:
    dns_txt_cancel(q);
    return -1;
}

void dns_txt_cancel(dns_txt_query *q)
{
    if (!q)
        return;
    if (q->read_ev)
        event_free(q->read_ev);
    if (q->resend_ev)
        event_free(q->resend_ev);
    if (q->timeout_ev)
        event_free(q->timeout_ev);
    if (q->tcp)
        bufferevent_free(q->tcp);
    if (q->fd >= 0)
        close(q->fd);
    free(q);
}
