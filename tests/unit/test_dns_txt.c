/* DNS TXT query encoding and reply decoding for domain verification. */
#include "config.h"

#include <string.h>

#include <check.h>

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
     "\x12\x34\x85\x85\x00\x01\x00\x00\x00\x00\x00\x00" QUESTION, 12 + 15, DNS_TXT_FAILED, 0,
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
};

START_TEST(decode_replies)
{
    char **records = NULL;
    size_t n = 99;
    int err = dns_txt_decode_reply((const uint8_t *)replies[_i].msg, replies[_i].len, ID,
                                   &records, &n);

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
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
