#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "client_addr.h"

#define PROXIES "10.0.0.0/8, 127.0.0.1, ::1, fd00::/8"

typedef struct choose_case {
    const char *name;
    const char *peer;
    const char *headers[3];         /* X-Forwarded-For lines, NULL-terminated */
    const char *expected;           /* canonical text, or NULL for no address */
} choose_case;

static const choose_case choose_cases[] = {
    {"untrusted peer, no header", "203.0.113.9", {NULL}, "203.0.113.9"},
    {"untrusted peer ignores spoofed header", "203.0.113.9", {"198.51.100.1"}, "203.0.113.9"},
    {"trusted peer, no header", "127.0.0.1", {NULL}, "127.0.0.1"},
    {"trusted peer, one entry", "127.0.0.1", {"198.51.100.7"}, "198.51.100.7"},
    {"client-supplied entries left of the real one", "127.0.0.1",
     {"1.1.1.1, 2.2.2.2, 198.51.100.7"}, "198.51.100.7"},
    {"trusted hops skipped", "10.1.2.3", {"198.51.100.7, 10.9.9.9, 10.0.0.4"}, "198.51.100.7"},
    {"all entries trusted", "10.1.2.3", {"10.5.5.5, 10.6.6.6"}, "10.5.5.5"},
    {"malformed right-most entry", "127.0.0.1", {"198.51.100.7, garbage"}, "127.0.0.1"},
    {"malformed behind trusted hop", "127.0.0.1", {"garbage, 10.0.0.4"}, "10.0.0.4"},
    {"malformed left of client", "127.0.0.1", {"garbage, 198.51.100.7"}, "198.51.100.7"},
    {"empty entry", "127.0.0.1", {"198.51.100.7,"}, "127.0.0.1"},
    {"only separators", "127.0.0.1", {" , , "}, "127.0.0.1"},
    {"empty header", "127.0.0.1", {""}, "127.0.0.1"},
    {"spaces and tabs", "127.0.0.1", {" \t198.51.100.7 \t"}, "198.51.100.7"},
    {"unknown token", "127.0.0.1", {"unknown"}, "127.0.0.1"},
    {"IPv4 with port", "127.0.0.1", {"198.51.100.7:5123"}, "198.51.100.7"},
    {"IPv4 with empty port", "127.0.0.1", {"198.51.100.7:"}, "198.51.100.7"},
    {"IPv4 with five parts", "127.0.0.1", {"1.2.3.4.5"}, "127.0.0.1"},
    {"IPv4 with octet over 255", "127.0.0.1", {"1.2.3.256"}, "127.0.0.1"},
    {"IPv6 entry", "::1", {"2001:DB8:0:0::1"}, "2001:db8::1"},
    {"IPv6 in brackets", "::1", {"[2001:db8::1]"}, "2001:db8::1"},
    {"IPv6 in brackets with port", "::1", {"[2001:db8::1]:443"}, "2001:db8::1"},
    {"IPv6 bracket not closed", "::1", {"[2001:db8::1"}, "::1"},
    {"IPv6 junk after bracket", "::1", {"[2001:db8::1]x"}, "::1"},
    {"IPv6 zone id", "::1", {"fe80::1%eth0"}, "::1"},
    {"IPv6 trusted network skipped", "::1", {"2001:db8::7, fd12::1"}, "2001:db8::7"},
    {"IPv6 untrusted peer", "2001:db8::5", {"198.51.100.7"}, "2001:db8::5"},
    {"IPv4-mapped peer trusted", "::ffff:127.0.0.1", {"198.51.100.7"}, "198.51.100.7"},
    {"IPv4-mapped entry", "127.0.0.1", {"::ffff:198.51.100.7"}, "198.51.100.7"},
    {"two header lines", "127.0.0.1", {"198.51.100.1", "198.51.100.2"}, "198.51.100.2"},
    {"two lines, trusted last", "127.0.0.1", {"198.51.100.1", "10.0.0.8"}, "198.51.100.1"},
    {"entry too long", "127.0.0.1",
     {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc"}, "127.0.0.1"},
    {"peer not an address", "unix:/run/idgate.sock", {"198.51.100.7"}, NULL},
    {"peer missing", NULL, {"198.51.100.7"}, NULL},
};

START_TEST(choose_table)
{
    const choose_case *c = &choose_cases[_i];
    client_addr_proxies proxies;
    client_addr out;
    char err[160], text[CLIENT_ADDR_TEXT_MAX];
    size_t nheaders = 0;
    ck_assert_int_eq(client_addr_proxies_parse(PROXIES, &proxies, err, sizeof err), 0);
    while (nheaders < 3 && c->headers[nheaders] != NULL)
        nheaders++;
    int rc = client_addr_choose(&proxies, c->peer, c->headers, nheaders, &out);
    if (c->expected == NULL) {
        ck_assert_msg(rc == -1, "%s: expected no address", c->name);
    } else {
        ck_assert_msg(rc == 0, "%s: no address chosen", c->name);
        client_addr_format(&out, text);
        ck_assert_msg(strcmp(text, c->expected) == 0, "%s: chose %s, expected %s", c->name, text,
                      c->expected);
    }
    client_addr_proxies_clear(&proxies);
}
END_TEST

START_TEST(no_proxies_trusts_nobody)
{
    client_addr_proxies proxies;
    client_addr out;
    char err[160], text[CLIENT_ADDR_TEXT_MAX];
    const char *headers[] = {"198.51.100.7"};
    ck_assert_int_eq(client_addr_proxies_parse("", &proxies, err, sizeof err), 0);
    ck_assert_uint_eq(proxies.count, 0);
    ck_assert_int_eq(client_addr_choose(&proxies, "127.0.0.1", headers, 1, &out), 0);
    client_addr_format(&out, text);
    ck_assert_str_eq(text, "127.0.0.1");
    ck_assert_int_eq(client_addr_choose(NULL, "127.0.0.1", headers, 1, &out), 0);
    client_addr_format(&out, text);
    ck_assert_str_eq(text, "127.0.0.1");
}
END_TEST

typedef struct parse_case {
    const char *list;
    size_t count;                   /* networks parsed */
    const char *error;              /* part of the error message, or NULL when valid */
} parse_case;

#define NOT_NETWORK "is not an IPv4 or IPv6 address or CIDR block"

static const parse_case parse_cases[] = {
    {"10.0.0.0/8, 127.0.0.1", 2, NULL},
    {"  10.0.0.0/8 ,127.0.0.1  ", 2, NULL},
    {"::1, fd00::/8, 0.0.0.0/0, ::/0", 4, NULL},
    {"192.168.1.0/24,172.16.0.0/12", 2, NULL},
    {"10.0.0.1/32", 1, NULL},
    {"", 0, NULL},
    {"   ", 0, NULL},
    {"10.0.0.1/8", 0, "\"10.0.0.1/8\" has host bits set past its prefix. Write 10.0.0.0/8"},
    {"fd00::1/8", 0, "Write fd00::/8 instead"},
    {"10.0.0.0/33", 0, "\"10.0.0.0/33\" " NOT_NETWORK},
    {"::/129", 0, NOT_NETWORK},
    {"10.0.0.0/", 0, NOT_NETWORK},
    {"10.0.0.0/-1", 0, NOT_NETWORK},
    {"10.0.0.0/+8", 0, NOT_NETWORK},
    {"10.0.0.0/08x", 0, NOT_NETWORK},
    {"proxy.example.com", 0, "\"proxy.example.com\" " NOT_NETWORK},
    {"10.0.0.0/8,", 0, "entry 2 is empty because the list ends with a comma after \"10.0.0.0/8\""},
    {"10.0.0.0/8, ", 0, "entry 2 is empty because the list ends with a comma"},
    {"10.0.0.0/8,,127.0.0.1", 0, "entry 2 is empty because two commas follow \"10.0.0.0/8\""},
    {"::1, 10.0.0.0/8 , ,127.0.0.1", 0, "entry 3 is empty because two commas follow \"10.0.0.0/8\""},
    {" , 10.0.0.0/8", 0, "entry 1 is empty because the list starts with a comma"},
    {",", 0, "entry 1 is empty because the list starts with a comma"},
    {"10.0.0.0 127.0.0.1", 0, NOT_NETWORK},
    {"::ffff:10.0.0.0/104", 0, NOT_NETWORK},
};

START_TEST(parse_table)
{
    const parse_case *c = &parse_cases[_i];
    client_addr_proxies proxies;
    char err[160];
    int rc = client_addr_proxies_parse(c->list, &proxies, err, sizeof err);
    if (c->error == NULL) {
        ck_assert_msg(rc == 0, "\"%s\" rejected: %s", c->list, err);
        ck_assert_msg(proxies.count == c->count, "\"%s\": %zu networks, expected %zu", c->list,
                      proxies.count, c->count);
    } else {
        ck_assert_msg(rc == -1, "\"%s\" accepted", c->list);
        ck_assert_msg(strstr(err, c->error) != NULL, "\"%s\": error \"%s\" lacks \"%s\"",
                      c->list, err, c->error);
        ck_assert_uint_eq(proxies.count, 0);
    }
    client_addr_proxies_clear(&proxies);
}
END_TEST

START_TEST(network_boundaries)
{
    client_addr_proxies proxies;
    client_addr a;
    char err[160];
    ck_assert_int_eq(client_addr_proxies_parse("172.16.0.0/12, 2001:db8:8000::/33", &proxies, err,
                                               sizeof err),
                     0);
    ck_assert_int_eq(client_addr_parse("172.31.255.255", &a), 0);
    ck_assert_int_eq(client_addr_trusted(&proxies, &a), 1);
    ck_assert_int_eq(client_addr_parse("172.32.0.0", &a), 0);
    ck_assert_int_eq(client_addr_trusted(&proxies, &a), 0);
    ck_assert_int_eq(client_addr_parse("172.15.255.255", &a), 0);
    ck_assert_int_eq(client_addr_trusted(&proxies, &a), 0);
    ck_assert_int_eq(client_addr_parse("2001:db8:ffff::1", &a), 0);
    ck_assert_int_eq(client_addr_trusted(&proxies, &a), 1);
    ck_assert_int_eq(client_addr_parse("2001:db8:7fff::1", &a), 0);
    ck_assert_int_eq(client_addr_trusted(&proxies, &a), 0);
    /* An IPv4 network never matches an IPv6 address with the same bytes. */
    ck_assert_int_eq(client_addr_parse("ac10::1", &a), 0);
    ck_assert_int_eq(client_addr_trusted(&proxies, &a), 0);
    client_addr_proxies_clear(&proxies);
}
END_TEST

START_TEST(limit_key_groups_ipv6)
{
    client_addr a;
    char key[CLIENT_ADDR_KEY_MAX];
    ck_assert_int_eq(client_addr_parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd", &a), 0);
    client_addr_limit_key(&a, key);
    ck_assert_str_eq(key, "2001:db8:1:2::/64");
    ck_assert_int_eq(client_addr_parse("2001:db8:1:2::9", &a), 0);
    client_addr_limit_key(&a, key);
    ck_assert_str_eq(key, "2001:db8:1:2::/64");
    ck_assert_int_eq(client_addr_parse("198.51.100.7", &a), 0);
    client_addr_limit_key(&a, key);
    ck_assert_str_eq(key, "198.51.100.7");
    ck_assert_int_eq(client_addr_parse("::ffff:198.51.100.7", &a), 0);
    client_addr_limit_key(&a, key);
    ck_assert_str_eq(key, "198.51.100.7");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_addr");
    TCase *tc = tcase_create("client_addr");
    tcase_add_loop_test(tc, choose_table, 0, sizeof choose_cases / sizeof choose_cases[0]);
    tcase_add_test(tc, no_proxies_trusts_nobody);
    tcase_add_loop_test(tc, parse_table, 0, sizeof parse_cases / sizeof parse_cases[0]);
    tcase_add_test(tc, network_boundaries);
    tcase_add_test(tc, limit_key_groups_ipv6);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
