/* Fuzzes the DNS reply parser of domain verification: a reply comes from
 * the network, so any bytes must be rejected or parsed without overruns. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "admin/dns_txt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char **records = NULL;
    size_t n = 0;
    uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
    char name[300];
    uint8_t query[512];
    size_t qlen;

    if (dns_txt_decode_reply(data, size, id, "_c.a.test", &records, &n) == DNS_TXT_OK) {
        for (size_t i = 0; i < n; i++)
            (void)strlen(records[i]);
        dns_txt_free(records, n);
    }

    /* The same bytes as a name to encode. */
    if (size < sizeof name) {
        memcpy(name, data, size);
        name[size] = 0;
        (void)dns_txt_encode_query(name, id, query, sizeof query, &qlen);
    }
    return 0;
}
