/* Feeds arbitrary text to the trusted-proxy list parser and the client
 * address choice. The input is lines: the trusted proxies, the peer
 * address, then X-Forwarded-For header values. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    const char *lines[MAX_LINES];
    size_t nlines = 0;
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *line = text; line != NULL && nlines < MAX_LINES;) {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lines[nlines++] = line;
        line = next;
    }

    client_addr_proxies proxies;
    client_addr out;
    char err[160], key[CLIENT_ADDR_KEY_MAX];
    if (client_addr_proxies_parse(lines[0], &proxies, err, sizeof err) == 0) {
        const char *peer = nlines > 1 ? lines[1] : "127.0.0.1";
        size_t nheaders = nlines > 2 ? nlines - 2 : 0;
        if (client_addr_choose(&proxies, peer, lines + 2, nheaders, &out) == 0)
            client_addr_limit_key(&out, key);
        client_addr_proxies_clear(&proxies);
    }
    free(text);
    return 0;
}
