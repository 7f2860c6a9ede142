#ifndef IDGATE_CASEFOLD_H
#define IDGATE_CASEFOLD_H

#include <stddef.h>

/*
 * Case folding for the values SCIM compares without regard to case:
 * userName, displayName, emails and every attribute whose caseExact is
 * false. The fold is Unicode's canonical caseless form of UTF-8 text: full
 * case folding (CaseFolding.txt, statuses C and F, no language rules) of the
 * text's NFD, then NFC, by libunistring. So "Ä" matches "ä", "STRASSE"
 * matches "straße", and "é" as one code point matches "e" followed by a
 * combining acute accent. ASCII text takes a fast path with the same
 * result. Text that is not well-formed UTF-8 (older builds stored
 * some) has its ASCII letters folded and every other byte kept. Index keys
 * hold folded text, so two values match exactly when their folded forms
 * are equal.
 */

/* Writes the folded form of the `len` bytes at `s` to `out`, a buffer of
 * `cap` bytes, without a terminating NUL, and returns its length, or
 * SIZE_MAX when it does not fit. */
size_t casefold(const char *s, size_t len, char *out, size_t cap);

/* Like casefold, but folds only ASCII letters: the fold of text that is not
 * well-formed UTF-8, and of every index key that earlier builds wrote. */
size_t casefold_ascii(const char *s, size_t len, char *out, size_t cap);

/* Returns the folded form of the string `s` as a new NUL-terminated string,
 * or NULL when memory runs out. */
char *casefold_dup(const char *s);

/* Returns 1 when each of the `len` bytes at `s` is ASCII, so that their
 * fold is their ASCII lowercase. */
int casefold_is_ascii(const char *s, size_t len);

/* Compares the folded forms of the strings `a` and `b` byte by byte and
 * returns a value below, equal to or above 0, as strcmp does. */
int casefold_cmp(const char *a, const char *b);

#endif
