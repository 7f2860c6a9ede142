/* Feeds arbitrary bytes to the configuration file parser and the typed
 * getters. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"a", "b", NULL};
    char path[64];
    int fd = memfd_create("fuzz_conf", 0);
    conf *c;

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    c = conf_load(path);
    if (c) {
        conf_str(c, "x", "s", NULL);
        conf_int(c, "x", "i", 0, -5, 5);
        conf_bool(c, "x", "b", 0);
        conf_size(c, "x", "z", 0, 0, 1 << 20);
        conf_duration(c, "x", "d", 0, 0, 100);
        conf_enum(c, "x", "e", 0, allowed);
        conf_ok(c, NULL);
        conf_free(c);
    }
    close(fd);
    return 0;
}
