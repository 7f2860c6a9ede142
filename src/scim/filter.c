#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "scim/filter.h"
#include "scim/filter_parse.h"
#include "scim/scim_const.h"

static const char *const op_names[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"};

const char *scim_filter_op_name(scim_filter_op op)
{
    return op <= SCIM_OP_PR ? op_names[op] : "?";
}

int filter_parser_error(filter_parser *p, size_t pos, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->failed)
        return -1;
    p->failed = 1;
    if (!p->err || p->errlen == 0)
        return -1;
    n = snprintf(p->err, p->errlen, "invalid %s at position %zu: ", p->what, pos);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int filter_is_path_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == ':' || c == '.' || c == '$';
}

void filter_attr_path_clear(scim_attr_path *path)
{
    free(path->urn);
    free(path->attr);
    free(path->sub);
    path->urn = path->attr = path->sub = NULL;
}

void scim_filter_free(scim_filter *f)
{
    if (!f)
        return;
    filter_attr_path_clear(&f->path);
    json_free(f->value);
    scim_filter_free(f->left);
    scim_filter_free(f->right);
    free(f);
}

static scim_filter *node_new(scim_filter_kind kind, size_t pos)
{
    scim_filter *f = calloc(1, sizeof(*f));
    if (f) {
        f->kind = kind;
        f->pos = pos;
    }
    return f;
}

static void skip_space(filter_parser *p, size_t end)
{
    while (p->pos < end && isspace((unsigned char)p->text[p->pos]))
        p->pos++;
}

/* Length of the word of path characters at p->pos. */
static size_t word_length(const filter_parser *p, size_t end)
{
    size_t n = 0;
    while (p->pos + n < end && filter_is_path_char(p->text[p->pos + n]))
        n++;
    return n;
}

static int word_is(const filter_parser *p, size_t n, const char *kw)
{
    return n == strlen(kw) && strncasecmp(p->text + p->pos, kw, n) == 0;
}

/* Validates an attribute or sub-attribute name: ALPHA or '$' first, then
 * ALPHA, DIGIT, '-' or '_'. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '$'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    }
    return 1;
}

static int dup_range(filter_parser *p, const char *s, size_t n, char **out)
{
    *out = strndup(s, n);
    if (!*out)
        return filter_parser_error(p, 0, "out of memory");
    return 0;
}

int filter_split_attr_path(filter_parser *p, size_t start, size_t end, scim_attr_path *out)
{
    const char *s = p->text;
    size_t name = start, dot = end;

    memset(out, 0, sizeof(*out));
    for (size_t i = start; i < end; i++) {
        if (s[i] == ':')
            name = i + 1;
    }
    for (size_t i = name; i < end; i++) {
        if (s[i] == '.') {
            dot = i;
            break;
        }
    }
    if (name > start && (name - start < 5 || strncasecmp(s + start, "urn:", 4) != 0))
        return filter_parser_error(p, start, "expected an attribute name or a schema URN");
    if (!valid_name(s + name, dot - name))
        return filter_parser_error(p, name, "invalid attribute name '%.*s'", (int)(dot - name),
                                   s + name);
    if (dot < end && !valid_name(s + dot + 1, end - dot - 1))
        return filter_parser_error(p, dot + 1, "invalid sub-attribute name '%.*s'",
                                   (int)(end - dot - 1), s + dot + 1);
    if (name > start && dup_range(p, s + start, name - start - 1, &out->urn) < 0)
        goto fail;
    if (dup_range(p, s + name, dot - name, &out->attr) < 0)
        goto fail;
    if (dot < end && dup_range(p, s + dot + 1, end - dot - 1, &out->sub) < 0)
        goto fail;
    return 0;
fail:
    filter_attr_path_clear(out);
    return -1;
}

static int parse_or(filter_parser *p, size_t end, int in_vp, scim_filter **out);

/* Scans a JSON string literal starting at p->pos ('"') and parses it.
 * Printable ASCII without escapes, as in an Okta or Entra userName look-up,
 * is taken as it is. Any other literal goes through the JSON parser. */
static int parse_string_literal(filter_parser *p, size_t end, json **out)
{
    size_t start = p->pos, i = p->pos + 1;
    int plain = 1;
    char msg[160];

    while (i < end && p->text[i] != '"') {
        unsigned char c = (unsigned char)p->text[i];

        if (c < 0x20 || c > 0x7e || c == '\\')
            plain = 0;
        if (c == '\\')
            i++;
        i++;
    }
    if (i >= end)
        return filter_parser_error(p, start, "unterminated string");
    if (plain) {
        *out = json_stringn(p->text + start + 1, i - start - 1);
        if (!*out)
            return filter_parser_error(p, start, "out of memory");
        p->pos = i + 1;
        return 0;
    }
    *out = json_parse_input(p->text + start, i + 1 - start, msg, sizeof(msg));
    if (!*out)
        return filter_parser_error(p, start, "invalid string: %s", msg);
    p->pos = i + 1;
    return 0;
}

static int parse_number_literal(filter_parser *p, size_t end, json **out)
{
    size_t start = p->pos, i = p->pos;
    char msg[160];

    while (i < end && (isdigit((unsigned char)p->text[i]) || strchr("+-.eE", p->text[i])))
        i++;
    *out = json_parse(p->text + start, i - start, msg, sizeof(msg));
    if (!*out || json_typeof(*out) != JSON_NUMBER) {
        json_free(*out);
        *out = NULL;
        return filter_parser_error(p, start, "invalid number '%.*s'", (int)(i - start),
                                   p->text + start);
    }
    p->pos = i;
    return 0;
}

/* compValue = false / null / true / number / string */
static int parse_value(filter_parser *p, size_t end, json **out)
{
    size_t n;
    char c;

    skip_space(p, end);
    c = p->pos < end ? p->text[p->pos] : '\0';
    if (c == '"')
        return parse_string_literal(p, end, out);
    if (c == '-' || isdigit((unsigned char)c))
        return parse_number_literal(p, end, out);
    n = word_length(p, end);
    if (word_is(p, n, "true") || word_is(p, n, "false"))
        *out = json_bool(tolower((unsigned char)c) == 't');
    else if (word_is(p, n, "null"))
        *out = json_null();
    else
        return filter_parser_error(p, p->pos,
                                   "expected a value (a string in double quotes, a number, "
                                   "true, false or null)");
    if (!*out)
        return filter_parser_error(p, p->pos, "out of memory");
    p->pos += n;
    return 0;
}

/* Reads a comparison operator word; returns its op or -1. */
static int parse_operator(filter_parser *p, size_t end, const scim_attr_path *after)
{
    size_t n;

    skip_space(p, end);
    n = word_length(p, end);
    for (int op = SCIM_OP_EQ; op <= SCIM_OP_PR; op++) {
        if (word_is(p, n, op_names[op])) {
            p->pos += n;
            return op;
        }
    }
    return filter_parser_error(p, p->pos, "expected a comparison operator after '%s%s%s'",
                               after->attr, after->sub ? "." : "", after->sub ? after->sub : "");
}

/* Parses "op value" or "pr" after an attribute path into `node`. */
static int parse_comparison(filter_parser *p, size_t end, scim_filter *node)
{
    int op = parse_operator(p, end, &node->path);

    if (op < 0)
        return -1;
    node->op = (scim_filter_op)op;
    if (op == SCIM_OP_PR) {
        node->kind = SCIM_FILTER_PRESENT;
        return 0;
    }
    node->kind = SCIM_FILTER_COMPARE;
    return parse_value(p, end, &node->value);
}

/* After `attr[...]`: an optional ".sub op value" turns the value path into
 * attr[inner and sub op value]. */
static int parse_value_path_suffix(filter_parser *p, size_t end, scim_filter *vp)
{
    size_t start, n;
    scim_filter *cmp = NULL, *and = NULL;

    if (p->pos >= end || p->text[p->pos] != '.')
        return 0;
    start = ++p->pos;
    n = word_length(p, end);
    if (!valid_name(p->text + start, n))
        return filter_parser_error(p, start, "expected a sub-attribute name after ']'");
    cmp = node_new(SCIM_FILTER_COMPARE, start);
    and = node_new(SCIM_FILTER_AND, vp->left->pos);
    if (!cmp || !and || dup_range(p, p->text + start, n, &cmp->path.attr) < 0)
        goto fail;
    p->pos += n;
    if (parse_comparison(p, end, cmp) < 0)
        goto fail;
    and->left = vp->left;
    and->right = cmp;
    vp->left = and;
    return 0;
fail:
    scim_filter_free(cmp);
    free(and);
    return filter_parser_error(p, p->pos, "out of memory");
}

/* Finds the ']' that closes the '[' at p->pos, skipping string literals. */
static size_t find_close_bracket(const filter_parser *p, size_t end)
{
    for (size_t i = p->pos + 1; i < end; i++) {
        char c = p->text[i];
        if (c == '"') {
            for (i++; i < end && p->text[i] != '"'; i++) {
                if (p->text[i] == '\\')
                    i++;
            }
        } else if (c == ']') {
            return i;
        }
    }
    return end;
}

static int enter(filter_parser *p)
{
    if (++p->depth > SCIM_FILTER_MAX_DEPTH)
        return filter_parser_error(p, p->pos, "nesting deeper than %d levels",
                                   SCIM_FILTER_MAX_DEPTH);
    return 0;
}

static int parse_value_path(filter_parser *p, size_t end, int in_vp, scim_filter *node)
{
    size_t close;

    if (in_vp)
        return filter_parser_error(p, p->pos, "value filters cannot be nested");
    if (node->path.sub)
        return filter_parser_error(p, p->pos, "expected '[' after an attribute name without "
                                              "a sub-attribute");
    close = find_close_bracket(p, end);
    if (close >= end)
        return filter_parser_error(p, p->pos, "missing ']'");
    if (enter(p) < 0)
        return -1;
    node->kind = SCIM_FILTER_VALUE_PATH;
    p->pos++;
    if (filter_parse_range(p, close, 1, &node->left) < 0)
        return -1;
    p->depth--;
    p->pos = close + 1;
    return parse_value_path_suffix(p, end, node);
}

/* attrPath op value | attrPath pr | attrPath[valFilter][.sub op value] */
static int parse_term(filter_parser *p, size_t end, int in_vp, scim_filter **out)
{
    size_t start = p->pos, n = word_length(p, end);
    scim_filter *node;

    if (n == 0)
        return filter_parser_error(p, start, p->pos < end ? "expected an attribute name"
                                                          : "expected an attribute name, "
                                                            "found the end of the text");
    node = node_new(SCIM_FILTER_COMPARE, start);
    if (!node)
        return filter_parser_error(p, start, "out of memory");
    if (filter_split_attr_path(p, start, start + n, &node->path) < 0)
        goto fail;
    p->pos += n;
    if (p->pos < end && p->text[p->pos] == '[') {
        if (parse_value_path(p, end, in_vp, node) < 0)
            goto fail;
    } else if (parse_comparison(p, end, node) < 0) {
        goto fail;
    }
    *out = node;
    return 0;
fail:
    scim_filter_free(node);
    return -1;
}

static int expect_char(filter_parser *p, size_t end, char c)
{
    skip_space(p, end);
    if (p->pos >= end || p->text[p->pos] != c)
        return filter_parser_error(p, p->pos, "expected '%c'", c);
    p->pos++;
    return 0;
}

/* "(" filter ")" */
static int parse_group(filter_parser *p, size_t end, int in_vp, scim_filter **out)
{
    if (expect_char(p, end, '(') < 0 || enter(p) < 0)
        return -1;
    if (parse_or(p, end, in_vp, out) < 0)
        return -1;
    if (expect_char(p, end, ')') < 0) {
        scim_filter_free(*out);
        *out = NULL;
        return -1;
    }
    p->depth--;
    return 0;
}

static int parse_unary(filter_parser *p, size_t end, int in_vp, scim_filter **out)
{
    size_t start, n, save;
    scim_filter *node;

    skip_space(p, end);
    start = p->pos;
    if (p->pos < end && p->text[p->pos] == '(')
        return parse_group(p, end, in_vp, out);
    n = word_length(p, end);
    if (word_is(p, n, "not")) {
        save = p->pos;
        p->pos += n;
        skip_space(p, end);
        if (p->pos < end && p->text[p->pos] == '(') {
            node = node_new(SCIM_FILTER_NOT, start);
            if (!node)
                return filter_parser_error(p, start, "out of memory");
            if (parse_group(p, end, in_vp, &node->left) < 0) {
                free(node);
                return -1;
            }
            *out = node;
            return 0;
        }
        p->pos = save;
    }
    return parse_term(p, end, in_vp, out);
}

/* Parses `sub ("and"|"or" sub)*`, left-associative; `next` parses the
 * operands. */
static int parse_chain(filter_parser *p, size_t end, int in_vp, const char *kw,
                       scim_filter_kind kind,
                       int (*next)(filter_parser *, size_t, int, scim_filter **), scim_filter **out)
{
    scim_filter *left = NULL, *right = NULL, *node;
    size_t n;

    if (next(p, end, in_vp, &left) < 0)
        return -1;
    for (;;) {
        skip_space(p, end);
        n = word_length(p, end);
        if (!word_is(p, n, kw))
            break;
        p->pos += n;
        if (next(p, end, in_vp, &right) < 0)
            goto fail;
        node = node_new(kind, left->pos);
        if (!node) {
            filter_parser_error(p, p->pos, "out of memory");
            goto fail;
        }
        node->left = left;
        node->right = right;
        left = node;
        right = NULL;
    }
    *out = left;
    return 0;
fail:
    scim_filter_free(left);
    scim_filter_free(right);
    return -1;
}

static int parse_and(filter_parser *p, size_t end, int in_vp, scim_filter **out)
{
    return parse_chain(p, end, in_vp, "and", SCIM_FILTER_AND, parse_unary, out);
}

static int parse_or(filter_parser *p, size_t end, int in_vp, scim_filter **out)
{
    return parse_chain(p, end, in_vp, "or", SCIM_FILTER_OR, parse_and, out);
}

int filter_parse_range(filter_parser *p, size_t end, int in_value_path, scim_filter **out)
{
    scim_filter *f = NULL;

    *out = NULL;
    if (parse_or(p, end, in_value_path, &f) < 0)
        return -1;
    skip_space(p, end);
    if (p->pos < end) {
        size_t n = word_length(p, end);
        scim_filter_free(f);
        if (n > 0)
            return filter_parser_error(p, p->pos, "expected 'and' or 'or' before '%.*s'",
                                       (int)n, p->text + p->pos);
        return filter_parser_error(p, p->pos, "unexpected '%c'", p->text[p->pos]);
    }
    *out = f;
    return 0;
}

int scim_filter_parsen(const char *text, size_t len, scim_filter **out, char *err, size_t errlen)
{
    filter_parser p = {.text = text, .len = len, .what = "filter", .err = err, .errlen = errlen};

    *out = NULL;
    if (len > SCIM_FILTER_MAX_LENGTH)
        return filter_parser_error(&p, SCIM_FILTER_MAX_LENGTH, "longer than %d bytes",
                                   SCIM_FILTER_MAX_LENGTH);
    if (memchr(text, '\0', len))
        return filter_parser_error(&p, (size_t)((const char *)memchr(text, '\0', len) - text),
                                   "NUL byte");
    return filter_parse_range(&p, len, 0, out);
}

int scim_filter_parse(const char *text, scim_filter **out, char *err, size_t errlen)
{
    size_t len = strnlen(text, SCIM_FILTER_MAX_LENGTH + 1);
    return scim_filter_parsen(text, len, out, err, errlen);
}

/* Tree queries for the handlers. */

static int is_core_urn(const char *urn)
{
    return !urn || strncasecmp(urn, "urn:ietf:params:scim:schemas:core:", 34) == 0;
}

/* 1 when `path` names `name` and `sub` (sub NULL: no sub-attribute). */
static int path_is(const scim_attr_path *path, const char *name, size_t name_len, const char *sub)
{
    if (!is_core_urn(path->urn) || strlen(path->attr) != name_len ||
        strncasecmp(path->attr, name, name_len) != 0)
        return 0;
    if (!sub)
        return path->sub == NULL;
    return path->sub && strcasecmp(path->sub, sub) == 0;
}

int scim_filter_find_eq(const scim_filter *f, const char *attr, const char **value)
{
    const char *dot = strchr(attr, '.');
    size_t name_len = dot ? (size_t)(dot - attr) : strlen(attr);
    const char *sub = dot ? dot + 1 : NULL;

    if (!f)
        return 0;
    switch (f->kind) {
    case SCIM_FILTER_AND:
        return scim_filter_find_eq(f->left, attr, value) ||
               scim_filter_find_eq(f->right, attr, value);
    case SCIM_FILTER_COMPARE:
        if (f->op != SCIM_OP_EQ || json_typeof(f->value) != JSON_STRING ||
            !path_is(&f->path, attr, name_len, sub))
            return 0;
        *value = json_string_value(f->value);
        return 1;
    case SCIM_FILTER_VALUE_PATH:
        if (!sub || !path_is(&f->path, attr, name_len, NULL))
            return 0;
        return scim_filter_find_eq(f->left, sub, value);
    default:
        return 0;
    }
}

int scim_filter_uses_attr(const scim_filter *f, const char *attr)
{
    if (!f)
        return 0;
    switch (f->kind) {
    case SCIM_FILTER_AND:
    case SCIM_FILTER_OR:
        return scim_filter_uses_attr(f->left, attr) || scim_filter_uses_attr(f->right, attr);
    case SCIM_FILTER_NOT:
        return scim_filter_uses_attr(f->left, attr);
    default:
        return strcasecmp(f->path.attr, attr) == 0;
    }
}
