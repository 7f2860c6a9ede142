/* Unit tests of the case fold that SCIM uses for the values it compares
 * without regard to case. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "casefold.h"

static const struct {
    const char *in, *folded;
} fold_cases[] = {
    {"", ""},
    {"Bob@Example.COM", "bob@example.com"},
    {"ÄRZTE", "ärzte"},
    {"ärzte", "ärzte"},
    {"Straße", "strasse"},
    {"STRASSE", "strasse"},
    {"ΌΣΟΣ", "όσοσ"},
    {"όσος", "όσοσ"},
    {"\xe2\x84\xaa", "k"},   /* KELVIN SIGN */
    {"\xc7\x85", "\xc7\x86"}, /* Dž to dž */
    {"İ", "i\xcc\x87"},       /* full folding, no Turkish rule */
    {"E\xcc\x81", "é"},       /* E + COMBINING ACUTE ACCENT composes */
    {"\xe2\x84\xab", "å"},   /* ANGSTROM SIGN */
    {"A\xcc\x8a", "å"},
    {"ΐ", "ΐ"},                /* ι + two marks recompose */
    {"և", "եւ"},               /* 2 bytes folding to 4 */
    {"Aa\xcc\x81" "c", "a\xc3\xa1" "c"}, /* the mark composes with the ASCII a */
    {"Ǆ@X.org", "ǆ@x.org"},
    {"日本", "日本"},
};

START_TEST(folds_table)
{
    char out[64];
    size_t n = casefold(fold_cases[_i].in, strlen(fold_cases[_i].in), out, sizeof out);
    char *dup = casefold_dup(fold_cases[_i].in);

    ck_assert_uint_eq(n, strlen(fold_cases[_i].folded));
    ck_assert_mem_eq(out, fold_cases[_i].folded, n);
    ck_assert_ptr_nonnull(dup);
    ck_assert_str_eq(dup, fold_cases[_i].folded);
    free(dup);
}
END_TEST

/* Folding twice gives the same text, so a folded key folds to itself. */
START_TEST(fold_is_idempotent)
{
    char *once = casefold_dup(fold_cases[_i].in);
    char *twice = casefold_dup(once);

    ck_assert_str_eq(once, twice);
    free(once);
    free(twice);
}
END_TEST

START_TEST(fold_that_does_not_fit)
{
    char out[8];

    memset(out, 'x', sizeof out);
    ck_assert_uint_eq(casefold("ABCDEFGHI", 9, out, 8), SIZE_MAX);
    ck_assert_uint_eq(casefold("ABCDEFGH", 8, out, 8), 8);
    ck_assert_mem_eq(out, "abcdefgh", 8);
    /* "ß" is 2 bytes and folds to "ss"; "և" is 2 bytes and folds to 4. */
    ck_assert_uint_eq(casefold("abcdeß", 7, out, 7), 7);
    ck_assert_uint_eq(casefold("abcdև", 6, out, 7), SIZE_MAX);
    ck_assert_uint_eq(casefold("abcdև", 6, out, 8), 8);
    ck_assert_uint_eq(casefold("abcΐ", 5, out, 0), SIZE_MAX);
}
END_TEST

/* Malformed text keeps its bytes other than ASCII letters, as an
 * ASCII-only fold kept them. */
START_TEST(malformed_utf8)
{
    char out[16];
    char *dup;

    ck_assert_uint_eq(casefold("\xc3\x84" "A\xc3", 4, out, sizeof out), 4);
    ck_assert_mem_eq(out, "\xc3\x84" "a\xc3", 4);
    ck_assert_uint_eq(casefold("\xff" "B", 2, out, sizeof out), 2);
    ck_assert_mem_eq(out, "\xff" "b", 2);
    ck_assert_uint_eq(casefold("bad\xc0\xaf", 5, out, 4), SIZE_MAX);
    dup = casefold_dup("AB\xff" "C");
    ck_assert_ptr_nonnull(dup);
    ck_assert_str_eq(dup, "ab\xff" "c");
    free(dup);
}
END_TEST

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static const struct {
    const char *a, *b;
    int cmp;
} cmp_cases[] = {
    {"abc", "ABC", 0},
    {"abc", "abd", -1},
    {"B", "a", 1},
    {"Ärzte", "ÄRZTE", 0},
    {"Straße", "STRASSE", 0},
    {"ärzte", "arzte", 1},
    {"Ä", "z", 1},
    {"z", "Ä", -1},
    {"ΌΣΟΣ", "όσος", 0},
    {"É", "e\xcc\x81", 0},
    {"\xe2\x84\xab", "A\xcc\x8a", 0},
};

START_TEST(compares_folded)
{
    ck_assert_int_eq(sign(casefold_cmp(cmp_cases[_i].a, cmp_cases[_i].b)), cmp_cases[_i].cmp);
    ck_assert_int_eq(sign(casefold_cmp(cmp_cases[_i].b, cmp_cases[_i].a)), -cmp_cases[_i].cmp);
}
END_TEST

static Suite *casefold_suite(void)
{
    Suite *s = suite_create("casefold");
    TCase *tc = tcase_create("fold");

    tcase_add_loop_test(tc, folds_table, 0, sizeof fold_cases / sizeof fold_cases[0]);
    tcase_add_loop_test(tc, fold_is_idempotent, 0, sizeof fold_cases / sizeof fold_cases[0]);
    tcase_add_test(tc, fold_that_does_not_fit);
    tcase_add_test(tc, malformed_utf8);
    tcase_add_loop_test(tc, compares_folded, 0, sizeof cmp_cases / sizeof cmp_cases[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(casefold_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
