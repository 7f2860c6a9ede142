/* The console's static files, embedded into the binary at build time by
 * src/admin/embed.sh from src/admin/console/. */
#ifndef IDGATE_ADMIN_CONSOLE_H
#define IDGATE_ADMIN_CONSOLE_H

#include <stddef.h>

typedef struct console_asset {
    const char *name;           /* base name, such as "console.js" */
    const char *content_type;
    const unsigned char *data;  /* NUL-terminated after `size` bytes */
    size_t size;
} console_asset;

/* Terminated by an entry whose name is NULL. Declared weak so that tools
 * that link the library without the generated file still link, and the
 * console then replies 404. */
extern const console_asset admin_console_assets[] __attribute__((weak));

#endif
