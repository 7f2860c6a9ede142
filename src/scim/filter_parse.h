/* Parser internals shared by the filter and PATCH path parsers. Not part of
 * the public interface. */
#ifndef IDGATE_SCIM_FILTER_PARSE_H
#define IDGATE_SCIM_FILTER_PARSE_H

#include <stddef.h>

#include "scim/filter.h"

/* Parser state over text[0..len). Positions in messages are byte offsets
 * from the start of `text`. `what` is "filter" or "path". */
typedef struct filter_parser {
    const char *text;
    size_t len;
    size_t pos;
    int depth;
    const char *what;
    char *err;
    size_t errlen;
    int failed;
} filter_parser;

/* Records "invalid <what> at position <pos>: <message>" unless an error was
 * already recorded. Returns -1. */
int filter_parser_error(filter_parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a whole filter from p->pos up to `end` (exclusive), which must be
 * consumed completely. `in_value_path` forbids nested value paths. */
int filter_parse_range(filter_parser *p, size_t end, int in_value_path, scim_filter **out);

/* Splits the attribute path text[start..end) into urn, attr and sub
 * (malloc'd into `out`). Returns 0 or -1 with an error recorded. */
int filter_split_attr_path(filter_parser *p, size_t start, size_t end, scim_attr_path *out);

/* Frees the strings of an attribute path and clears it. */
void filter_attr_path_clear(scim_attr_path *path);

/* 1 for characters that may appear in an attribute path word. */
int filter_is_path_char(char c);

/* Evaluates a value filter (as found between brackets) against one element
 * of the complex multi-valued attribute `scope`. Returns 1, 0 or -1 like
 * scim_filter_match. */
int filter_match_element(const scim_filter *f, const json *element, const scim_attr *scope);

#endif
