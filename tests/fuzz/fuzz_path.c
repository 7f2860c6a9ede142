/* libFuzzer target: SCIM PATCH path parsing and resolution. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scim/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    const scim_attr *attr, *sub;
    const scim_schema *schema;
    scim_path *p = NULL;
    char err[256];

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (scim_path_parse(text, &p, err, sizeof(err)) == 0) {
        scim_path_resolve(p, scim_schema_user(), &attr, &sub, &schema);
        scim_path_resolve(p, scim_schema_group(), &attr, &sub, &schema);
        scim_path_free(p);
    }
    free(text);
    return 0;
}
