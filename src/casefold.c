#include "config.h"

#include "casefold.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

static int ascii_fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Folds the ASCII prefix of `s` into `out` and returns its length, stopping
 * at the first byte above 0x7f, at `len` or when `out` is full. */
static size_t fold_ascii_prefix(const char *s, size_t len, char *out, size_t cap)
{
    size_t i = 0;

    while (i < len && i < cap && !((unsigned char)s[i] & 0x80)) {
        out[i] = (char)ascii_fold((unsigned char)s[i]);
        i++;
    }
    return i;
}

size_t casefold_ascii(const char *s, size_t len, char *out, size_t cap)
{
    if (len > cap)
        return SIZE_MAX;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)ascii_fold((unsigned char)s[i]);
    return len;
}

size_t casefold(const char *s, size_t len, char *out, size_t cap)
{
    size_t done = fold_ascii_prefix(s, len, out, cap), n;
    uint8_t *r;

    if (done == len)
        return len;
    if (!((unsigned char)s[done] & 0x80))
        return SIZE_MAX; /* out is full */
    if (u8_check((const uint8_t *)s + done, len - done))
        return casefold_ascii(s, len, out, cap);
    /* The rest starts at the last ASCII character, since the combining
     * marks that may follow compose with it under NFC. An ASCII character
     * composes with nothing before it. */
    if (done > 0)
        done--;
    n = cap - done;
    r = u8_casefold((const uint8_t *)s + done, len - done, NULL, UNINORM_NFC, (uint8_t *)out + done,
                    &n);
    if (!r)
        return SIZE_MAX;
    if (r != (uint8_t *)out + done) {
        free(r);
        return SIZE_MAX;
    }
    return done + n;
}

char *casefold_dup(const char *s)
{
    size_t len = strlen(s), n;
    char *out = malloc(len + 1);
    uint8_t *r;

    if (!out)
        return NULL;
    if (fold_ascii_prefix(s, len, out, len) == len) {
        out[len] = '\0';
        return out;
    }
    if (u8_check((const uint8_t *)s, len)) {
        casefold_ascii(s, len, out, len);
        out[len] = '\0';
        return out;
    }
    free(out);
    if (!(r = u8_casefold((const uint8_t *)s, len, NULL, UNINORM_NFC, NULL, &n)))
        return NULL;
    if (!(out = realloc(r, n + 1))) {
        free(r);
        return NULL;
    }
    out[n] = '\0';
    return out;
}

int casefold_is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] & 0x80)
            return 0;
    }
    return 1;
}

int casefold_cmp(const char *a, const char *b)
{
    char *fa, *fb;
    int cmp;

    if (casefold_is_ascii(a, strlen(a)) && casefold_is_ascii(b, strlen(b)))
        return strcasecmp(a, b);
    fa = casefold_dup(a);
    fb = casefold_dup(b);
    /* Without memory to fold, a comparison of the bytes is the best left. */
    cmp = fa && fb ? strcmp(fa, fb) : strcmp(a, b);
    free(fa);
    free(fb);
    return cmp;
}
