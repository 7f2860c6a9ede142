/* Feeds arbitrary bytes to ID token validation against a fixed key set of
 * one RSA and one EC key, so header parsing, key selection, signature
 * checking and claim checks all see hostile input. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/idtoken.h"
#include "oidc/jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks_doc[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"e\":\"AQAB\",\"n\":"
    "\"u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-"
    "qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVk"
    "jRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x"
    "_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw\"},"
    "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

static oidc_jwks *keys;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    /* Both keys must load, or the target would only ever see "unknown kid". They fail to
     * load when the binary exports the project's json_* functions, which share names with
     * jansson's: cjose then calls the wrong ones. Linking the project archive with
     * -Wl,--exclude-libs,ALL keeps them hidden. */
    if (keys == NULL &&
        (oidc_jwks_parse(jwks_doc, strlen(jwks_doc), &keys, err, sizeof err) != 0 ||
         keys->nkeys != 2)) {
        fprintf(stderr, "fuzz_idtoken: the fixed JWKS did not load; link with "
                        "-Wl,--exclude-libs,ALL so that cjose binds to jansson\n");
        abort();
    }

    char *token = malloc(size + 1);
    if (token == NULL)
        return 0;
    memcpy(token, data, size);
    token[size] = '\0';

    oidc_idtoken_params p = {.issuer = "https://example.okta.com", .client_id = "client",
                             .nonce = "n", .now = 1700000000, .skew = 60};
    oidc_claims claims;
    const char *reason;
    if (oidc_idtoken_validate(token, size, keys, &p, &claims, &reason) == OIDC_IDT_OK)
        oidc_claims_clear(&claims);
    free(oidc_idtoken_peek_issuer(token, size));
    free(token);
    return 0;
}
