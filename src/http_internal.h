/* Pieces of the HTTP layer that do not need libevhtp, split out so that unit
 * tests and fuzz targets can drive them directly. */
#ifndef IDGATE_HTTP_INTERNAL_H
#define IDGATE_HTTP_INTERNAL_H

#include <stddef.h>

#include "http.h"

/* Route table: exact patterns with `{}` segments and a final `*`. */
typedef struct route_table route_table;

typedef struct route_match {
    const char *pattern;            /* borrowed from the table: the route matched, or with
                                     * only the path matching, the most specific such route;
                                     * NULL when no route matches the path */
    http_handler fn;
    void *arg;
    unsigned allowed;               /* methods of every pattern matching the path */
    int head_as_get;                /* 1 when HEAD is served by the GET handler */
    char *params[HTTP_MAX_PARAMS];  /* malloc'd, percent-decoded; caller frees */
    int nparams;
} route_match;

route_table *route_table_new(void);
void route_table_free(route_table *t);
/* Returns 0, -1 when out of memory, or -2 for an invalid pattern (not
 * starting with '/', `*` before the end, more than HTTP_MAX_PARAMS captures). */
int route_table_add(route_table *t, const char *pattern, unsigned methods, http_handler fn,
                    void *arg);

/* Finds the most specific pattern that matches `raw_path` (still percent-
 * encoded, without query) and has a handler for `method`. Literal segments
 * beat `{}`, which beats `*`. Returns 0 with `m->fn` set; 1 when a pattern
 * matches the path but no handler takes the method (`m->allowed` lists the
 * methods that would); 2 when no pattern matches the path. */
int route_table_find(const route_table *t, const char *raw_path, unsigned method,
                     route_match *m);
void route_match_clear(route_match *m);

/* Formats `allowed` as an Allow header value ("GET, HEAD, POST") into
 * `out`. HEAD is listed whenever GET is. */
void http_allow_header(unsigned allowed, char *out, size_t outlen);

/* Percent-decodes `len` bytes into a malloc'd NUL-terminated string. With
 * `plus_is_space`, '+' becomes ' ' (form and query encoding). Returns NULL on
 * a malformed escape, an encoded NUL byte or out of memory. */
char *http_percent_decode(const char *in, size_t len, int plus_is_space);
/* Same into `out`, which has room for `len` + 1 bytes. Returns 0, or -1 on a
 * malformed escape or an encoded NUL byte (`out` then holds garbage). */
int http_percent_decode_to(const char *in, size_t len, int plus_is_space, char *out);

/* Parsed name=value pairs of a query string, form body or Cookie header. */
typedef struct http_kv {
    char *name;
    char *value;
} http_kv;

/* Splits `text` at `sep` ('&' for queries and forms, ';' for cookies) into
 * pairs, percent-decoding queries and forms and trimming spaces around
 * cookies. A pair whose name does not decode is skipped; one whose value
 * does not decode is kept with `value` NULL. Returns the number of pairs (0
 * on out of memory) and sets `*out` (free with http_kv_free). */
size_t http_kv_parse(const char *text, size_t len, char sep, int decode, http_kv **out);
void http_kv_free(http_kv *kv, size_t n);
/* Value of the first pair named `name`, or NULL when there is none or its
 * value did not decode. */
const char *http_kv_find(const http_kv *kv, size_t n, const char *name);
/* 1 when the first pair named `name` has a value that did not decode. */
int http_kv_invalid(const http_kv *kv, size_t n, const char *name);

/* 1 when an incoming X-Request-Id can be used as is: 1 to HTTP_REQUEST_ID_MAX
 * characters from [A-Za-z0-9._:-]. */
int http_request_id_ok(const char *id);

/* Parses a method name into its http_method_bit, or 0 when unknown. */
unsigned http_method_parse(const char *name);

#endif
