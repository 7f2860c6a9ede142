#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scim/filter_parse.h"
#include "scim/path.h"
#include "scim/scim_const.h"

void scim_path_free(scim_path *p)
{
    if (!p)
        return;
    filter_attr_path_clear(&p->attr);
    scim_filter_free(p->filter);
    free(p);
}

/* Length of the attribute path word at `start`. */
static size_t path_word(const char *text, size_t len, size_t start)
{
    size_t i = start;
    while (i < len && filter_is_path_char(text[i]))
        i++;
    return i - start;
}

/* A path that is exactly a known schema URN names a whole extension. */
static int parse_bare_urn(filter_parser *fp, size_t n, scim_path *p)
{
    char buf[128];

    if (n >= sizeof(buf) || n != fp->len)
        return 0;
    memcpy(buf, fp->text, n);
    buf[n] = '\0';
    if (!scim_schema_by_urn(buf))
        return 0;
    p->attr.urn = strdup(buf);
    return p->attr.urn ? 1 : filter_parser_error(fp, 0, "out of memory");
}

/* Parses "[filter]" and an optional ".sub" after it. */
static int parse_filter_suffix(filter_parser *fp, scim_path *p)
{
    size_t close = fp->pos + 1, n;
    int in_string = 0;

    if (p->attr.sub)
        return filter_parser_error(fp, fp->pos, "a value filter must follow the attribute name, "
                                                "not a sub-attribute");
    for (; close < fp->len; close++) {
        char c = fp->text[close];
        if (in_string && c == '\\')
            close++;
        else if (c == '"')
            in_string = !in_string;
        else if (!in_string && c == ']')
            break;
    }
    if (close >= fp->len)
        return filter_parser_error(fp, fp->pos, "missing ']'");
    fp->pos++;
    if (filter_parse_range(fp, close, 1, &p->filter) < 0)
        return -1;
    fp->pos = close + 1;
    if (fp->pos == fp->len)
        return 0;
    if (fp->text[fp->pos] != '.')
        return filter_parser_error(fp, fp->pos, "expected '.' or the end of the path after ']'");
    fp->pos++;
    n = path_word(fp->text, fp->len, fp->pos);
    if (n == 0 || memchr(fp->text + fp->pos, '.', n) || memchr(fp->text + fp->pos, ':', n))
        return filter_parser_error(fp, fp->pos, "expected a sub-attribute name after ']'");
    p->attr.sub = strndup(fp->text + fp->pos, n);
    if (!p->attr.sub)
        return filter_parser_error(fp, fp->pos, "out of memory");
    fp->pos += n;
    if (fp->pos != fp->len)
        return filter_parser_error(fp, fp->pos, "unexpected '%c'", fp->text[fp->pos]);
    return 0;
}

int scim_path_parse(const char *text, scim_path **out, char *err, size_t errlen)
{
    filter_parser fp = {.text = text, .what = "path", .err = err, .errlen = errlen};
    scim_path *p = NULL;
    size_t n;
    int rc;

    *out = NULL;
    fp.len = strnlen(text, SCIM_FILTER_MAX_LENGTH + 1);
    if (fp.len > SCIM_FILTER_MAX_LENGTH)
        return filter_parser_error(&fp, SCIM_FILTER_MAX_LENGTH, "longer than %d bytes",
                                   SCIM_FILTER_MAX_LENGTH);
    p = calloc(1, sizeof(*p));
    if (!p)
        return filter_parser_error(&fp, 0, "out of memory");
    n = path_word(text, fp.len, 0);
    if (n == 0) {
        filter_parser_error(&fp, 0, fp.len ? "expected an attribute name" : "empty path");
        goto fail;
    }
    rc = parse_bare_urn(&fp, n, p);
    if (rc < 0)
        goto fail;
    if (rc == 0) {
        if (filter_split_attr_path(&fp, 0, n, &p->attr) < 0)
            goto fail;
        fp.pos = n;
        if (fp.pos < fp.len && text[fp.pos] == '[') {
            if (parse_filter_suffix(&fp, p) < 0)
                goto fail;
        } else if (fp.pos < fp.len) {
            filter_parser_error(&fp, fp.pos, "unexpected '%c'", text[fp.pos]);
            goto fail;
        }
    }
    *out = p;
    return 0;
fail:
    scim_path_free(p);
    return -1;
}

int scim_path_resolve(const scim_path *p, const scim_schema_resource *res,
                      const scim_attr **attr_out, const scim_attr **sub_out,
                      const scim_schema **schema_out)
{
    const scim_schema *schema = NULL;
    const scim_attr *a, *sub = NULL;

    if (!p->attr.attr) {
        if (!scim_schema_resource_has_urn(res, p->attr.urn))
            return -1;
        *attr_out = NULL;
        if (sub_out)
            *sub_out = NULL;
        if (schema_out)
            *schema_out = scim_schema_by_urn(p->attr.urn);
        return 0;
    }
    a = scim_schema_find_attr(res, p->attr.urn, p->attr.attr, &schema);
    if (!a)
        return -1;
    if (p->attr.sub) {
        sub = scim_schema_find_sub_attr(a, p->attr.sub);
        if (!sub)
            return -1;
    }
    if (p->filter && (!a->multi_valued || a->type != SCIM_TYPE_COMPLEX))
        return -1;
    *attr_out = a;
    if (sub_out)
        *sub_out = sub;
    if (schema_out)
        *schema_out = schema;
    return 0;
}
