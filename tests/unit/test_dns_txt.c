/* DNS TXT query encoding and reply decoding for domain verification, and
 * lookups on an event loop against a fake server on 127.0.0.1 that
 * truncates its UDP reply. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "admin/dns_txt.h"

#define ID 0x1234

/* Header of a reply to ID with `an` answers and rcode `rc`, then the
 * question for _c.a.test TXT. */
#define QUESTION "\x02_c\x01" "a\x04test\x00\x00\x10\x00\x01"

static const struct {
    const char *name;
    const char *msg;
    size_t len;
    int err;
    size_t n;
    const char *first;
} replies[] = {
    {"one record",
     "\x12\x34\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00" QUESTION
     "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x03" "abc",
     12 + 15 + 16, DNS_TXT_OK, 1, "abc"},
    {"two strings joined",
     "\x12\x34\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00" QUESTION
     "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x06\x02" "ab\x02" "cd",
     12 + 15 + 18, DNS_TXT_OK, 1, "abcd"},
    {"no answer",
     "\x12\x34\x85\x80\x00\x01\x00\x00\x00\x00\x00\x00" QUESTION, 12 + 15, DNS_TXT_OK, 0, NULL},
    {"nxdomain",
     "\x12\x34\x85\x83\x00\x01\x00\x00\x00\x00\x00\x00" QUESTION, 12 + 15, DNS_TXT_NXDOMAIN, 0,
     NULL},
    {"refused",
     "\x12\x34\x85\x85\x00\x01\x00\x00\x00\x00\x00\x00" QUESTION, 12 + 15, DNS_TXT_REFUSED, 0,
     NULL},
    {"servfail",
     "\x12\x34\x85\x82\x00\x01\x00\x00\x00\x00\x00\x00" QUESTION, 12 + 15, DNS_TXT_SERVFAIL,
     0, NULL},
    {"not implemented",
     "\x12\x34\x85\x84\x00\x01\x00\x00\x00\x00\x00\x00" QUESTION, 12 + 15, DNS_TXT_FAILED, 0,
     NULL},
    {"wrong id",
     "\x12\x35\x85\x80\x00\x01\x00\x00\x00\x00\x00\x00" QUESTION, 12 + 15, DNS_TXT_FAILED, 0,
     NULL},
    {"not a reply",
     "\x12\x34\x05\x80\x00\x01\x00\x00\x00\x00\x00\x00" QUESTION, 12 + 15, DNS_TXT_FAILED, 0,
     NULL},
    {"rdata past end",
     "\x12\x34\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00" QUESTION
     "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x40\x03" "abc",
     12 + 15 + 16, DNS_TXT_FAILED, 0, NULL},
    {"string past rdata",
     "\x12\x34\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00" QUESTION
     "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x09" "abc",
     12 + 15 + 16, DNS_TXT_FAILED, 0, NULL},
    {"short header", "\x12\x34\x85", 3, DNS_TXT_FAILED, 0, NULL},
    {"question in other case",
     "\x12\x34\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00"
     "\x02_C\x01" "A\x04TeSt\x00\x00\x10\x00\x01"
     "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x03" "abc",
     12 + 15 + 16, DNS_TXT_OK, 1, "abc"},
    {"other question",
     "\x12\x34\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00"
     "\x02_c\x01" "b\x04test\x00\x00\x10\x00\x01"
     "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x03" "abc",
     12 + 15 + 16, DNS_TXT_FAILED, 0, NULL},
    {"question of type A",
     "\x12\x34\x85\x80\x00\x01\x00\x00\x00\x00\x00\x00"
     "\x02_c\x01" "a\x04test\x00\x00\x01\x00\x01",
     12 + 15, DNS_TXT_FAILED, 0, NULL},
    {"no question",
     "\x12\x34\x85\x80\x00\x00\x00\x00\x00\x00\x00\x00", 12, DNS_TXT_FAILED, 0, NULL},
    {"nxdomain for other name",
     "\x12\x34\x85\x83\x00\x01\x00\x00\x00\x00\x00\x00"
     "\x02_c\x01" "b\x04test\x00\x00\x10\x00\x01",
     12 + 15, DNS_TXT_FAILED, 0, NULL},
    /* The TXT record is owned by "x.test" (a new name at offset 27), not by the queried name. */
    {"record of other owner",
     "\x12\x34\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00" QUESTION
     "\x01x\xc0\x11\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x03" "abc",
     12 + 15 + 18, DNS_TXT_OK, 0, NULL},
    /* _c.a.test is a CNAME for x.test (at offset 0x27), whose TXT record counts. */
    {"record behind alias",
     "\x12\x34\x85\x80\x00\x01\x00\x02\x00\x00\x00\x00" QUESTION
     "\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x04\x01x\xc0\x11"
     "\xc0\x27\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x03" "abc",
     12 + 15 + 16 + 16, DNS_TXT_OK, 1, "abc"},
    {"forward compression pointer",
     "\x12\x34\x85\x80\x00\x01\x00\x01\x00\x00\x00\x00" QUESTION
     "\xc0\x1e\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x03" "abc",
     12 + 15 + 16, DNS_TXT_FAILED, 0, NULL},
};

START_TEST(decode_replies)
{
    char **records = NULL;
    size_t n = 99;
    int err = dns_txt_decode_reply((const uint8_t *)replies[_i].msg, replies[_i].len, ID,
                                   "_c.a.test", &records, &n);

    ck_assert_msg(err == replies[_i].err, "%s: error %d", replies[_i].name, err);
    if (err == DNS_TXT_OK) {
        ck_assert_uint_eq(n, replies[_i].n);
        if (replies[_i].first)
            ck_assert_str_eq(records[0], replies[_i].first);
        dns_txt_free(records, n);
    }
}
END_TEST

START_TEST(encode_query_layout)
{
    uint8_t buf[512];
    size_t len = 0;

    ck_assert_int_eq(dns_txt_encode_query("_c.a.test", ID, buf, sizeof buf, &len), 0);
    ck_assert_uint_eq(len, 12 + 15);
    ck_assert_int_eq(buf[0], 0x12);
    ck_assert_int_eq(buf[1], 0x34);
    ck_assert_int_eq(buf[2], 0x01);
    ck_assert_int_eq(buf[5], 1);
    ck_assert_int_eq(memcmp(buf + 12, QUESTION, 15), 0);
}
END_TEST

START_TEST(encode_rejects_bad_names)
{
    uint8_t buf[512];
    size_t len;
    char long_label[80];

    memset(long_label, 'a', 70);
    strcpy(long_label + 70, ".test");
    ck_assert_int_eq(dns_txt_encode_query("", ID, buf, sizeof buf, &len), -1);
    ck_assert_int_eq(dns_txt_encode_query("a..test", ID, buf, sizeof buf, &len), -1);
    ck_assert_int_eq(dns_txt_encode_query(long_label, ID, buf, sizeof buf, &len), -1);
    ck_assert_int_eq(dns_txt_encode_query("a.test", ID, buf, 20, &len), -1);
}
END_TEST

/* The fake server answers every UDP query with an empty truncated reply
 * and then behaves over TCP as `mode` says. */
enum tcp_mode { TCP_REPLY, TCP_CLOSE, TCP_SILENT };

struct fake {
    struct event_base *base;
    enum tcp_mode mode;
    int udp, listener, conn;
    struct event *udp_ev, *accept_ev, *conn_ev;
    int udp_queries, tcp_queries;
    /* outcome of the lookup */
    int done, err;
    size_t n;
    char first[64];
};

static void fake_udp(evutil_socket_t fd, short what, void *arg)
{
    struct fake *f = arg;
    uint8_t q[512];
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    ssize_t got = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &flen);

    if (got < 12)
        return;
    f->udp_queries++;
    q[2] = 0x87; /* reply, authoritative, truncated, recursion desired */
    q[3] = 0x80;
    ck_assert_int_eq(sendto(fd, q, (size_t)got, 0, (struct sockaddr *)&from, flen), got);
}

/* Reads the length-prefixed query and answers with one TXT record "abc",
 * sending the length prefix on its own first. */
static void fake_conn(evutil_socket_t fd, short what, void *arg)
{
    struct fake *f = arg;
    uint8_t q[514], reply[600];
    ssize_t got = recv(fd, q, sizeof q, 0);
    size_t qlen, len;

    if (got < 14)
        return;
    f->tcp_queries++;
    if (f->mode == TCP_CLOSE) {
        event_del(f->conn_ev);
        close(f->conn);
        f->conn = -1;
        return;
    }
    if (f->mode == TCP_SILENT)
        return;
    qlen = (size_t)got - 2;
    memcpy(reply + 2, q + 2, qlen);
    reply[4] = 0x85;
    reply[5] = 0x80;
    reply[9] = 1; /* one answer */
    memcpy(reply + 2 + qlen, "\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x03" "abc", 16);
    len = qlen + 16;
    reply[0] = (uint8_t)(len >> 8);
    reply[1] = (uint8_t)len;
    ck_assert_int_eq(send(fd, reply, 1, 0), 1);
    ck_assert_int_eq(send(fd, reply + 1, len + 1, 0), (ssize_t)len + 1);
}

static void fake_accept(evutil_socket_t fd, short what, void *arg)
{
    struct fake *f = arg;

    f->conn = accept(fd, NULL, NULL);
    ck_assert_int_ge(f->conn, 0);
    f->conn_ev = event_new(f->base, f->conn, EV_READ | EV_PERSIST, fake_conn, f);
    event_add(f->conn_ev, NULL);
}

static void lookup_done(int err, char *const *records, size_t n, void *arg)
{
    struct fake *f = arg;

    f->done = 1;
    f->err = err;
    f->n = n;
    if (n > 0)
        snprintf(f->first, sizeof f->first, "%s", records[0]);
}

/* Binds UDP and TCP sockets to the same free port on 127.0.0.1. The kernel
 * picks a UDP port that is free for UDP only, so the TCP bind can find it
 * taken by another connection: then try again with a new port. */
static void fake_start(struct fake *f, struct sockaddr_in *addr)
{
    socklen_t alen = sizeof *addr;
    int one = 1;
    int bound = 0;

    for (int attempt = 0; attempt < 20 && !bound; attempt++) {
        memset(addr, 0, sizeof *addr);
        addr->sin_family = AF_INET;
        addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        alen = sizeof *addr;
        f->udp = socket(AF_INET, SOCK_DGRAM, 0);
        ck_assert_int_eq(bind(f->udp, (struct sockaddr *)addr, sizeof *addr), 0);
        ck_assert_int_eq(getsockname(f->udp, (struct sockaddr *)addr, &alen), 0);
        f->listener = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(f->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        bound = bind(f->listener, (struct sockaddr *)addr, sizeof *addr) == 0;
        if (!bound) {
            close(f->listener);
            close(f->udp);
        }
    }
    ck_assert_msg(bound, "no port free for both UDP and TCP on 127.0.0.1");
    ck_assert_int_eq(listen(f->listener, 4), 0);
    f->conn = -1;
    f->udp_ev = event_new(f->base, f->udp, EV_READ | EV_PERSIST, fake_udp, f);
    f->accept_ev = event_new(f->base, f->listener, EV_READ | EV_PERSIST, fake_accept, f);
    event_add(f->udp_ev, NULL);
    event_add(f->accept_ev, NULL);
}

static void fake_stop(struct fake *f)
{
    event_free(f->udp_ev);
    event_free(f->accept_ev);
    if (f->conn_ev)
        event_free(f->conn_ev);
    if (f->conn >= 0)
        close(f->conn);
    close(f->udp);
    close(f->listener);
}

static const struct {
    enum tcp_mode mode;
    int err;
    size_t n;
} tcp_cases[] = {
    {TCP_REPLY, DNS_TXT_OK, 1},
    {TCP_CLOSE, DNS_TXT_FAILED, 0},
    {TCP_SILENT, DNS_TXT_TIMEOUT, 0},
};

START_TEST(truncated_reply_retries_over_tcp)
{
    struct fake f = {.mode = tcp_cases[_i].mode};
    struct sockaddr_in addr;
    dns_txt_query *q;

    f.base = event_base_new();
    ck_assert_ptr_nonnull(f.base);
    fake_start(&f, &addr);
    ck_assert_int_eq(dns_txt_lookup(f.base, (struct sockaddr *)&addr, sizeof addr, "_c.a.test", 400,
                                    lookup_done, &f, &q),
                     0);
    for (int i = 0; i < 1000 && !f.done; i++)
        event_base_loop(f.base, EVLOOP_ONCE);
    ck_assert_int_eq(f.done, 1);
    ck_assert_int_eq(f.err, tcp_cases[_i].err);
    ck_assert_uint_eq(f.n, tcp_cases[_i].n);
    if (tcp_cases[_i].n)
        ck_assert_str_eq(f.first, "abc");
    ck_assert_int_eq(f.udp_queries, 1);
    ck_assert_int_eq(f.tcp_queries, 1);
    fake_stop(&f);
    event_base_free(f.base);
}
END_TEST

/* A lookup sent to a UDP port where nothing listens: the kernel's ICMP
 * port-unreachable reply surfaces as ECONNREFUSED on the next receive. */
START_TEST(closed_port_is_connection_refused)
{
    struct fake f = {0};
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t alen = sizeof addr;
    dns_txt_query *q;
    int probe = socket(AF_INET, SOCK_DGRAM, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(probe, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(getsockname(probe, (struct sockaddr *)&addr, &alen), 0);
    close(probe);
    f.base = event_base_new();
    ck_assert_ptr_nonnull(f.base);
    ck_assert_int_eq(dns_txt_lookup(f.base, (struct sockaddr *)&addr, sizeof addr, "_c.a.test",
                                    2000, lookup_done, &f, &q),
                     0);
    for (int i = 0; i < 1000 && !f.done; i++)
        event_base_loop(f.base, EVLOOP_ONCE);
    ck_assert_int_eq(f.done, 1);
    ck_assert_int_eq(f.err, DNS_TXT_CONNREFUSED);
    event_base_free(f.base);
}
END_TEST

static const struct {
    int err;
    const char *text;
} messages[] = {
    {DNS_TXT_TIMEOUT, "no reply"},
    {DNS_TXT_SERVFAIL, "SERVFAIL"},
    {DNS_TXT_REFUSED, "REFUSED"},
    {DNS_TXT_CONNREFUSED, "connection refused"},
};

START_TEST(strerror_names_cause)
{
    const char *text = dns_txt_strerror(messages[_i].err);

    ck_assert_msg(strstr(text, messages[_i].text), "%d: \"%s\" lacks \"%s\"", messages[_i].err,
                  text, messages[_i].text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dns_txt");
    TCase *tc = tcase_create("codec");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, decode_replies, 0, (int)(sizeof replies / sizeof replies[0]));
    tcase_add_test(tc, encode_query_layout);
    tcase_add_test(tc, encode_rejects_bad_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("lookup");
    tcase_add_loop_test(tc, truncated_reply_retries_over_tcp, 0,
                        (int)(sizeof tcp_cases / sizeof tcp_cases[0]));
    tcase_add_test(tc, closed_port_is_connection_refused);
    tcase_add_loop_test(tc, strerror_names_cause, 0, (int)(sizeof messages / sizeof messages[0]));
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
