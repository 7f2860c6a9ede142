/* Feeds arbitrary bytes to the JWKS parser and looks keys up in the result. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "oidc/jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oidc_jwks *set = NULL;
    char err[200];
    if (oidc_jwks_parse((const char *)data, size, &set, err, sizeof err) != 0)
        return 0;
    int known;
    oidc_jwks_find(set, NULL, OIDC_ALG_RS256, &known);
    oidc_jwks_find(set, "1", OIDC_ALG_ES256, &known);
    oidc_jwks_free(set);
    return 0;
}
