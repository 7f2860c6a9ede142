/* Configuration: an INI file whose every key can be overridden by an
 * environment variable IDGATE_<SECTION>_<KEY> (upper case), for containers.
 *
 * The core settings are parsed into struct conf at start-up. Other modules
 * read their own keys with the typed getters below, which apply the
 * environment override, validate, and on an invalid value record an error
 * naming the key, the value and what is allowed; conf_ok() then fails
 * start-up. Every key a module reads must be documented in etc/idgate.ini.
 */
#ifndef IDGATE_CONF_H
#define IDGATE_CONF_H

#include <stddef.h>
#include <stdint.h>

typedef struct conf conf;

struct conf {
    /* [server] */
    char *listen_address;       /* default 127.0.0.1 */
    int port;                   /* default 8080 */
    char *base_url;             /* public base URL, no trailing slash */
    size_t max_body;            /* bytes, default 1 MiB */
    int request_timeout;        /* seconds */
    int idle_timeout;           /* seconds */
    int shutdown_timeout;       /* seconds to wait for requests and writes on SIGTERM */
    /* [store] */
    char *store_path;
    size_t map_size;            /* bytes */
    unsigned store_max_batch;   /* most write jobs in one commit, default 256 */
    unsigned store_defer_min_queued; /* queued jobs from which a commit defers its
                                      * meta-page flush; 0 (the default) never */
    /* [log] */
    int log_level;              /* enum log_level */
    int log_format;             /* enum log_format */
    /* [scim] */
    int max_page_size;          /* default 1000 */
    int default_page_size;      /* default 100 */
    /* internal */
    void *ini;                  /* parsed file, for the getters */
    char *errors;               /* accumulated validation errors, one per line */
};

/* Loads `path` (NULL for defaults and environment only) and the core keys.
 * Returns NULL only when out of memory; check conf_ok for invalid values.
 * A missing file named explicitly is an error recorded in the conf. */
conf *conf_load(const char *path);
void conf_free(conf *c);
/* 1 when no invalid value was seen; otherwise `*errors` (borrowed) lists
 * them, one per line. */
int conf_ok(const conf *c, const char **errors);

/* Typed getters. Each returns the value from the environment, else the
 * file, else `def`. An invalid value records an error and returns `def`.
 * Strings are borrowed from the conf and live as long as it does. */
const char *conf_str(conf *c, const char *section, const char *key, const char *def);
long conf_int(conf *c, const char *section, const char *key, long def, long min, long max);
int conf_bool(conf *c, const char *section, const char *key, int def);
/* Sizes accept a plain byte count or a K, M, G suffix (powers of 1024). */
size_t conf_size(conf *c, const char *section, const char *key, size_t def, size_t min,
                 size_t max);
/* Durations accept seconds or an s, m, h, d suffix; result in seconds. */
long conf_duration(conf *c, const char *section, const char *key, long def, long min, long max);
/* One of `allowed` (NULL-terminated); returns its index, or `def_index`. */
int conf_enum(conf *c, const char *section, const char *key, int def_index,
              const char *const *allowed);
/* Logs a warning for each key of the file that no getter has read, and for
 * each IDGATE_<SECTION>_<KEY> environment variable of a section that
 * getters read but whose name no getter looked up. Call it after every
 * module has read its keys. */
void conf_warn_unknown(conf *c);
/* Records an error for a value a module validated itself. */
void conf_error(conf *c, const char *section, const char *key, const char *value,
                const char *allowed);

#endif
