/* Feeds arbitrary text to the opening of login transaction cookies. The
 * first line is the state and the rest the cookie value. The rest is also
 * sealed as it is, so that the JSON parse behind a valid seal runs on
 * arbitrary text too. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/login_keys.h"
#include "oidc/tx.h"
#include "secretbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oidc_login_keys keys = {.has_previous = 1};
    memset(keys.current.bytes, 1, sizeof keys.current.bytes);
    memset(keys.previous.bytes, 2, sizeof keys.previous.bytes);
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *rest = strchr(text, '\n');
    if (rest != NULL)
        *rest++ = '\0';
    else
        rest = text + strlen(text);

    oidc_tx tx;
    if (oidc_tx_open(&keys, text, rest, &tx) == 0)
        oidc_tx_clear(&tx);

    /* The associated data that tx.c uses for a state. */
    char aad[600], *sealed = NULL;
    if (strlen(text) < 512) {
        snprintf(aad, sizeof aad, "login-tx:%s", text);
        if (secretbox_seal(&keys.previous, aad, rest, strlen(rest), &sealed) == 0 &&
            oidc_tx_open(&keys, text, sealed, &tx) == 0)
            oidc_tx_clear(&tx);
        free(sealed);
    }
    free(text);
    return 0;
}
