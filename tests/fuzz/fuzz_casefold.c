/* libFuzzer target: the case fold of casefold.h on arbitrary bytes. The
 * input is split at its first NUL into two strings. The buffer and the
 * allocating forms must give the same text, and folding again must change
 * nothing. A short buffer must be rejected rather than overrun, and the
 * comparison must be antisymmetric. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "casefold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size + 1), *b, *fa, *fb, *again;
    char out[256];
    size_t alen, n;

    if (!a)
        return 0;
    memcpy(a, data, size);
    a[size] = '\0';
    alen = strlen(a);
    b = alen < size ? a + alen + 1 : a + size;

    fa = casefold_dup(a);
    fb = casefold_dup(b);
    if (!fa || !fb)
        abort();
    n = casefold(a, alen, out, sizeof out);
    if (n != SIZE_MAX && (n != strlen(fa) || memcmp(out, fa, n) != 0))
        abort();
    if (n == SIZE_MAX && strlen(fa) < sizeof out)
        abort();
    if (strlen(fa) > 0 && strlen(fa) <= sizeof out && casefold(a, alen, out, strlen(fa) - 1) != SIZE_MAX)
        abort();
    again = casefold_dup(fa);
    if (!again || strcmp(again, fa) != 0)
        abort();
    if (sign(casefold_cmp(a, b)) != -sign(casefold_cmp(b, a)))
        abort();
    if ((casefold_cmp(a, b) == 0) != (strcmp(fa, fb) == 0))
        abort();
    free(again);
    free(fa);
    free(fb);
    free(a);
    return 0;
}
