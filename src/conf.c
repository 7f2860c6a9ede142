#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

/* One `key = value` line of the file. `used` is set when a getter reads it,
 * so that conf_warn_unknown can name the keys no module reads. */
typedef struct entry {
    char *section;
    char *key;
    char *value;
    int line;
    int used;
} entry;

typedef struct ini {
    entry *entries;
    size_t count;
    size_t cap;
    char *path;
    /* The IDGATE_<SECTION>_<KEY> names that getters looked up, so that
     * conf_warn_unknown can name variables that no getter reads. */
    char **env_names;
    size_t env_count;
    size_t env_cap;
} ini;

static char *trim(char *s)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static void add_error(conf *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_error(conf *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    size_t old = c->errors ? strlen(c->errors) : 0;
    char *grown;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    grown = realloc(c->errors, old + strlen(msg) + 2);
    if (!grown)
        return;
    c->errors = grown;
    memcpy(c->errors + old, msg, strlen(msg));
    c->errors[old + strlen(msg)] = '\n';
    c->errors[old + strlen(msg) + 1] = '\0';
}

static int add_entry(ini *f, const char *section, const char *key, const char *value, int line)
{
    entry *e;
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 32;
        entry *grown = realloc(f->entries, cap * sizeof(*grown));
        if (!grown)
            return -1;
        f->entries = grown;
        f->cap = cap;
    }
    e = &f->entries[f->count];
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    e->used = 0;
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        return -1;
    }
    f->count++;
    return 0;
}

/* Removes one pair of double quotes around a value, so that a value can
 * keep leading or trailing spaces. */
static char *unquote(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

static int parse_line(conf *c, ini *f, char *raw, int lineno, char *section, size_t seclen)
{
    char *s = trim(raw);
    char *eq;

    if (*s == '\0' || *s == ';' || *s == '#')
        return 0;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close || close[1] != '\0' || close == s + 1) {
            add_error(c, "%s:%d: invalid section header \"%s\": expected [name]", f->path, lineno,
                      s);
            return 0;
        }
        *close = '\0';
        snprintf(section, seclen, "%s", trim(s + 1));
        return 0;
    }
    eq = strchr(s, '=');
    if (!eq) {
        add_error(c, "%s:%d: invalid line \"%s\": expected key = value", f->path, lineno, s);
        return 0;
    }
    *eq = '\0';
    char *key = trim(s);
    char *value = unquote(trim(eq + 1));
    if (*key == '\0') {
        add_error(c, "%s:%d: missing key before '='", f->path, lineno);
        return 0;
    }
    if (*section == '\0') {
        add_error(c, "%s:%d: key \"%s\" appears before any [section]", f->path, lineno, key);
        return 0;
    }
    return add_entry(f, section, key, value, lineno);
}

static int read_file(conf *c, ini *f, const char *path)
{
    FILE *fp = fopen(path, "r");
    char buf[4096];
    char section[128] = "";
    int lineno = 0;

    if (!fp) {
        add_error(c, "cannot open configuration file %s: %s", path, strerror(errno));
        return 0;
    }
    while (fgets(buf, sizeof(buf), fp)) {
        lineno++;
        if (parse_line(c, f, buf, lineno, section, sizeof(section)) != 0) {
            fclose(fp);
            return -1;
        }
    }
    fclose(fp);
    return 0;
}

static entry *find_entry(ini *f, const char *section, const char *key)
{
    entry *found = NULL;
    /* A key given twice takes the last value, like most INI readers. */
    for (size_t i = 0; i < f->count; i++) {
        if (strcmp(f->entries[i].section, section) == 0 && strcmp(f->entries[i].key, key) == 0) {
            f->entries[i].used = 1;
            found = &f->entries[i];
        }
    }
    return found;
}

static void env_name(const char *section, const char *key, char *out, size_t outlen)
{
    size_t o = 0;
    const char *parts[] = {"IDGATE_", section, "_", key};
    for (size_t p = 0; p < 4; p++) {
        for (const char *s = parts[p]; *s && o + 1 < outlen; s++) {
            char ch = (char)toupper((unsigned char)*s);
            out[o++] = isalnum((unsigned char)ch) ? ch : '_';
        }
    }
    out[o] = '\0';
}

/* Records that a getter looked up the environment variable `name`. A
 * failed allocation only costs a false warning later. */
static void note_env_name(ini *f, const char *name)
{
    for (size_t i = 0; i < f->env_count; i++) {
        if (strcmp(f->env_names[i], name) == 0)
            return;
    }
    if (f->env_count == f->env_cap) {
        size_t cap = f->env_cap ? f->env_cap * 2 : 64;
        char **grown = realloc(f->env_names, cap * sizeof(*grown));
        if (!grown)
            return;
        f->env_names = grown;
        f->env_cap = cap;
    }
    f->env_names[f->env_count] = strdup(name);
    if (f->env_names[f->env_count])
        f->env_count++;
}

/* Finds the raw value and describes where it came from for error messages. */
static const char *lookup(conf *c, const char *section, const char *key, char *origin,
                          size_t originlen)
{
    ini *f = c->ini;
    char name[256];
    const char *v;
    entry *e;

    env_name(section, key, name, sizeof(name));
    note_env_name(f, name);
    e = find_entry(f, section, key);
    v = getenv(name);
    if (v) {
        snprintf(origin, originlen, "environment variable %s", name);
        return v;
    }
    if (e) {
        snprintf(origin, originlen, "%s line %d", f->path, e->line);
        return e->value;
    }
    return NULL;
}

static void value_error(conf *c, const char *section, const char *key, const char *value,
                        const char *allowed, const char *origin)
{
    add_error(c, "invalid value \"%s\" for [%s] %s (%s): expected %s", value, section, key, origin,
              allowed);
}

const char *conf_str(conf *c, const char *section, const char *key, const char *def)
{
    char origin[300];
    const char *v = lookup(c, section, key, origin, sizeof(origin));
    return v ? v : def;
}

long conf_int(conf *c, const char *section, const char *key, long def, long min, long max)
{
    char origin[300];
    char allowed[96];
    const char *v = lookup(c, section, key, origin, sizeof(origin));
    char *end;
    long n;

    if (!v)
        return def;
    errno = 0;
    n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
        snprintf(allowed, sizeof(allowed), "an integer from %ld to %ld", min, max);
        value_error(c, section, key, v, allowed, origin);
        return def;
    }
    return n;
}

int conf_bool(conf *c, const char *section, const char *key, int def)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    char origin[300];
    const char *v = lookup(c, section, key, origin, sizeof(origin));

    if (!v)
        return def;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    value_error(c, section, key, v, "true or false (also yes/no, on/off, 1/0)", origin);
    return def;
}

/* Parses a number followed by an optional unit from `units`, each unit
 * with its multiplier. Returns 0, or -1 on syntax error or overflow. */
static int parse_scaled(const char *v, const char *units, const unsigned long long *mult,
                        unsigned long long *out)
{
    char *end;
    unsigned long long n;
    const char *u;

    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0)
        return -1;
    if (*end == '\0') {
        *out = n;
        return 0;
    }
    if (end[1] != '\0' || !(u = strchr(units, toupper((unsigned char)*end))))
        return -1;
    unsigned long long m = mult[u - units];
    if (n > ~0ULL / m)
        return -1;
    *out = n * m;
    return 0;
}

size_t conf_size(conf *c, const char *section, const char *key, size_t def, size_t min,
                 size_t max)
{
    static const unsigned long long mult[] = {1ULL << 10, 1ULL << 20, 1ULL << 30};
    char origin[300];
    char allowed[160];
    const char *v = lookup(c, section, key, origin, sizeof(origin));
    unsigned long long n;

    if (!v)
        return def;
    if (parse_scaled(v, "KMG", mult, &n) != 0 || n < min || n > max) {
        snprintf(allowed, sizeof(allowed),
                 "a size in bytes from %zu to %zu, optionally with a K, M or G suffix", min, max);
        value_error(c, section, key, v, allowed, origin);
        return def;
    }
    return (size_t)n;
}

long conf_duration(conf *c, const char *section, const char *key, long def, long min, long max)
{
    static const unsigned long long mult[] = {1, 60, 3600, 86400};
    char origin[300];
    char allowed[160];
    const char *v = lookup(c, section, key, origin, sizeof(origin));
    char lower[64];
    unsigned long long n;

    if (!v)
        return def;
    snprintf(lower, sizeof(lower), "%s", v);
    if (parse_scaled(lower, "SMHD", mult, &n) != 0 || n < (unsigned long long)min ||
        n > (unsigned long long)max) {
        snprintf(allowed, sizeof(allowed),
                 "a duration from %ld to %ld seconds, as seconds or with an s, m, h or d suffix",
                 min, max);
        value_error(c, section, key, v, allowed, origin);
        return def;
    }
    return (long)n;
}

int conf_enum(conf *c, const char *section, const char *key, int def_index,
              const char *const *allowed)
{
    char origin[300];
    char list[256] = "one of";
    const char *v = lookup(c, section, key, origin, sizeof(origin));

    if (!v)
        return def_index;
    for (int i = 0; allowed[i]; i++) {
        if (strcmp(v, allowed[i]) == 0)
            return i;
    }
    for (int i = 0; allowed[i]; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof(list) - n, "%s %s", i ? "," : "", allowed[i]);
    }
    value_error(c, section, key, v, list, origin);
    return def_index;
}

void conf_error(conf *c, const char *section, const char *key, const char *value,
                const char *allowed)
{
    char origin[300];
    if (!lookup(c, section, key, origin, sizeof(origin)))
        snprintf(origin, sizeof(origin), "default");
    value_error(c, section, key, value ? value : "", allowed, origin);
}

int conf_ok(const conf *c, const char **errors)
{
    if (errors)
        *errors = c->errors ? c->errors : "";
    return c->errors == NULL;
}

/* Environment variables that a module reads with getenv itself rather
 * than through a getter: the configuration file (cli.c) and the master key
 * (secretbox.c). */
static const char *const direct_env_names[] = {"IDGATE_CONFIG", "IDGATE_OIDC_MASTER_KEY", NULL};

/* Returns the edit distance between `a` and `b`, counting insertions,
 * deletions, substitutions and swaps of adjacent characters, or 99 when a
 * name is too long to compare. */
static int edit_distance(const char *a, const char *b)
{
    enum { MAX = 64 };
    int d[MAX + 1][MAX + 1];
    size_t n = strlen(a), m = strlen(b);

    if (n > MAX || m > MAX)
        return 99;
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = 0; j <= m; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = (int)(i + j);
                continue;
            }
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

/* Returns 1 when `name` (without "=value") is one that the service reads. */
static int env_name_known(const ini *f, const char *name, size_t len)
{
    for (size_t i = 0; i < f->env_count; i++) {
        if (strlen(f->env_names[i]) == len && strncmp(f->env_names[i], name, len) == 0)
            return 1;
    }
    for (const char *const *d = direct_env_names; *d; d++) {
        if (strlen(*d) == len && strncmp(*d, name, len) == 0)
            return 1;
    }
    return 0;
}

/* Warns about each IDGATE_<SECTION>_<KEY> variable in the environment that
 * no getter reads, when <SECTION> is one that getters read. Other IDGATE_
 * variables (of scripts and tests) are left alone. */
static void warn_unknown_env(const ini *f)
{
    extern char **environ;
    const size_t prefix = strlen("IDGATE_");

    for (char **v = environ; v && *v; v++) {
        const char *eq = strchr(*v, '=');
        size_t len = eq ? (size_t)(eq - *v) : strlen(*v);
        const char *section_end;
        const char *closest = NULL;
        char name[128];
        int section_known = 0, best = 3;

        if (strncmp(*v, "IDGATE_", prefix) != 0 || len >= sizeof(name))
            continue;
        section_end = memchr(*v + prefix, '_', len - prefix);
        if (!section_end || env_name_known(f, *v, len))
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)len, *v);
        /* IDGATE_<SECTION>_ with its trailing underscore. */
        size_t section_len = (size_t)(section_end - *v) + 1;
        for (size_t i = 0; i < f->env_count; i++) {
            if (strncmp(f->env_names[i], name, section_len) != 0)
                continue;
            section_known = 1;
            int distance = edit_distance(name, f->env_names[i]);
            if (distance < best) {
                best = distance;
                closest = f->env_names[i];
            }
        }
        if (!section_known)
            continue;
        if (closest)
            log_event(LOG_WARN, "unknown environment variable ignored", "variable", name,
                      "did_you_mean", closest, NULL);
        else
            log_event(LOG_WARN, "unknown environment variable ignored", "variable", name, NULL);
    }
}

void conf_warn_unknown(conf *c)
{
    ini *f = c->ini;
    warn_unknown_env(f);
    for (size_t i = 0; i < f->count; i++) {
        entry *e = &f->entries[i];
        char where[32];
        if (e->used)
            continue;
        snprintf(where, sizeof(where), "%d", e->line);
        log_event(LOG_WARN, "unknown configuration key ignored", "section", e->section, "key",
                  e->key, "file", f->path, "line", where, NULL);
    }
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void load_server(conf *c)
{
    char def_url[300];
    const char *url;
    size_t n;

    c->listen_address = dup_or_null(conf_str(c, "server", "listen_address", "127.0.0.1"));
    c->port = (int)conf_int(c, "server", "port", 8080, 1, 65535);
    snprintf(def_url, sizeof(def_url), "http://%s:%d", c->listen_address, c->port);
    url = conf_str(c, "server", "base_url", def_url);
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        conf_error(c, "server", "base_url", url, "an absolute http:// or https:// URL");
        url = def_url;
    }
    c->base_url = strdup(url);
    n = c->base_url ? strlen(c->base_url) : 0;
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    c->max_body = conf_size(c, "server", "max_body", 1 << 20, 1024, (size_t)1 << 30);
    c->request_timeout = (int)conf_duration(c, "server", "request_timeout", 30, 1, 3600);
    c->idle_timeout = (int)conf_duration(c, "server", "idle_timeout", 60, 1, 86400);
    c->shutdown_timeout = (int)conf_duration(c, "server", "shutdown_timeout", 30, 0, 3600);
}

static void load_core(conf *c)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    static const char *const formats[] = {"logfmt", "json", NULL};

    load_server(c);
    c->store_path = dup_or_null(conf_str(c, "store", "path", "/var/lib/idgate"));
    c->map_size = conf_size(c, "store", "map_size", (size_t)1 << 30, (size_t)1 << 20,
                            (size_t)1 << 40);
    c->store_max_batch = (unsigned)conf_int(c, "store", "max_batch", 256, 1, 65536);
    c->store_defer_min_queued =
        (unsigned)conf_int(c, "store", "defer_min_queued", 0, 0, 65536);
    c->log_level = conf_enum(c, "log", "level", LOG_INFO, levels);
    c->log_format = conf_enum(c, "log", "format", LOG_FORMAT_LOGFMT, formats);
    c->max_page_size = (int)conf_int(c, "scim", "max_page_size", 1000, 1, 100000);
    c->default_page_size = (int)conf_int(c, "scim", "default_page_size", 100, 1, 100000);
    if (c->default_page_size > c->max_page_size) {
        char v[32];
        snprintf(v, sizeof(v), "%d", c->default_page_size);
        conf_error(c, "scim", "default_page_size", v, "a value no larger than max_page_size");
        c->default_page_size = c->max_page_size;
    }
}

conf *conf_load(const char *path)
{
    conf *c = calloc(1, sizeof(*c));
    ini *f = calloc(1, sizeof(*f));

    if (!c || !f)
        goto fail;
    c->ini = f;
    f->path = strdup(path ? path : "(no file)");
    if (!f->path)
        goto fail;
    if (path && read_file(c, f, path) != 0)
        goto fail;
    load_core(c);
    if (!c->listen_address || !c->base_url || !c->store_path)
        goto fail;
    return c;

fail:
    if (c)
        conf_free(c);
    else
        free(f);
    return NULL;
}

void conf_free(conf *c)
{
    ini *f;
    if (!c)
        return;
    f = c->ini;
    if (f) {
        for (size_t i = 0; i < f->count; i++) {
            free(f->entries[i].section);
            free(f->entries[i].key);
            free(f->entries[i].value);
        }
        free(f->entries);
        for (size_t i = 0; i < f->env_count; i++)
            free(f->env_names[i]);
        free(f->env_names);
        free(f->path);
        free(f);
    }
    free(c->listen_address);
    free(c->base_url);
    free(c->store_path);
    free(c->errors);
    free(c);
}
