/* SCIM filters (RFC 7644 section 3.4.2.2): parsing, evaluation against a
 * resource, and access to the syntax tree for query planning.
 *
 * Grammar accepted (keywords and attribute names in any ASCII case):
 *
 *   filter    = or
 *   or        = and *("or" and)
 *   and       = unary *("and" unary)
 *   unary     = "not" "(" filter ")" | "(" filter ")" | term
 *   term      = attrPath "pr"
 *             | attrPath compareOp compValue
 *             | attrPath "[" valFilter "]" ["." subAttr [compareOp compValue | "pr"]]
 *   attrPath  = [URN ":"] attrName ["." subAttr]
 *   compValue = JSON string | JSON number | true | false | null
 *
 * "and" binds tighter than "or". In a URN such as
 * urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber
 * the attribute name starts after the last ':' (the dots in "2.0" belong
 * to the URN). The form `emails[type eq "work"].value co "@x"` is an
 * extension of the RFC grammar; it is parsed into a value path whose inner
 * filter is `type eq "work" and value co "@x"`.
 *
 * Evaluation follows RFC 7644. String comparison honours the attribute's
 * caseExact. gt/ge/lt/le compare strings lexicographically, numbers
 * numerically and dateTime values as instants. A multi-valued attribute
 * matches when any of its values matches. A complex attribute without a
 * sub-attribute compares its "value" sub-attribute. An attribute
 * that is absent or unknown matches no operator except `ne`, which holds
 * when no value equals the literal (so it holds for an absent attribute).
 */
#ifndef IDGATE_SCIM_FILTER_H
#define IDGATE_SCIM_FILTER_H

#include <stddef.h>

#include "json.h"
#include "scim/schema.h"

/* An attribute path as written in a filter or PATCH path. All strings are
 * owned by the enclosing filter or path and live as long as it. */
typedef struct scim_attr_path {
    char *urn;  /* schema URN without the final ':', or NULL */
    char *attr; /* attribute name as written, never NULL */
    char *sub;  /* sub-attribute name, or NULL */
} scim_attr_path;

typedef enum scim_filter_kind {
    SCIM_FILTER_COMPARE,    /* path op value */
    SCIM_FILTER_PRESENT,    /* path pr */
    SCIM_FILTER_AND,        /* left and right */
    SCIM_FILTER_OR,         /* left or right */
    SCIM_FILTER_NOT,        /* not (left) */
    SCIM_FILTER_VALUE_PATH, /* path[left]; path.sub is NULL */
} scim_filter_kind;

typedef enum scim_filter_op {
    SCIM_OP_EQ,
    SCIM_OP_NE,
    SCIM_OP_CO,
    SCIM_OP_SW,
    SCIM_OP_EW,
    SCIM_OP_GT,
    SCIM_OP_GE,
    SCIM_OP_LT,
    SCIM_OP_LE,
    SCIM_OP_PR,
} scim_filter_op;

/* One node of the syntax tree. Read-only for callers.
 *
 * COMPARE: `path`, `op` (not PR) and `value` (a JSON string, number,
 *   boolean or null).
 * PRESENT: `path`, op is SCIM_OP_PR.
 * AND, OR: `left` and `right`. NOT: `left`.
 * VALUE_PATH: `path` names the multi-valued attribute (sub is NULL) and
 *   `left` is the filter applied to each of its elements, whose attribute
 *   paths name sub-attributes (path.attr is the sub-attribute name).
 * `pos` is the byte offset in the filter text where the node starts. */
typedef struct scim_filter {
    scim_filter_kind kind;
    scim_filter_op op;
    scim_attr_path path;
    json *value;
    struct scim_filter *left;
    struct scim_filter *right;
    size_t pos;
} scim_filter;

/* Parses a filter. On success returns 0 and stores a new tree in `*out`
 * that the caller frees with scim_filter_free. On invalid input returns -1,
 * leaves `*out` NULL and writes a message with the position to `err`, for
 * example "invalid filter at position 9: expected a comparison operator
 * after 'userName'" (positions count bytes from 0). Texts longer than
 * SCIM_FILTER_MAX_LENGTH or nested deeper than SCIM_FILTER_MAX_DEPTH are
 * rejected. The caller reports a failure as 400 with scimType
 * invalidFilter. */
int scim_filter_parse(const char *text, scim_filter **out, char *err, size_t errlen);

/* Parses a filter from `len` bytes that need not be NUL-terminated (a NUL
 * byte inside is invalid). Used by the PATCH path parser for `attr[...]`. */
int scim_filter_parsen(const char *text, size_t len, scim_filter **out, char *err, size_t errlen);

void scim_filter_free(scim_filter *f);

/* Checks a parsed filter against a resource type before evaluation:
 * ordering operators (gt, ge, lt, le) on boolean or binary attributes and
 * on complex attributes without a sub-attribute, and value paths on
 * attributes that are not complex, are errors. Unknown attributes are not
 * errors (they match nothing). Returns 0, or -1 with a message in `err`
 * (400 invalidFilter). */
int scim_filter_check(const scim_filter *f, const scim_schema_resource *schema, char *err,
                      size_t errlen);

/* Asked about an attribute the resource json does not carry inline, such as
 * a Group's `members`, which the store keeps one record per member.
 * `node` is the filter node being evaluated: a VALUE_PATH node (for
 * example `members[value eq "u1"]`, with the element filter in
 * node->left), or a COMPARE or PRESENT node whose path names the attribute
 * (`members.value eq "u1"`, `members pr`). Returns 1 when the attribute
 * matches, 0 when it does not, SCIM_FILTER_UNRESOLVED when the attribute is
 * not one the resolver provides (the attribute then counts as absent), or a
 * negative value to abort evaluation. */
typedef int (*scim_filter_resolver)(void *ctx, const scim_filter *node);
#define SCIM_FILTER_UNRESOLVED 2

/* Evaluates `f` against `resource` using the attribute definitions of
 * `schema` (NULL treats every attribute as a case-insensitive string).
 * Returns 1 on a match, 0 on no match, or -1 when the filter is invalid for
 * the data, such as gt on a boolean value (400 invalidFilter). Run
 * scim_filter_check first to catch these before any data is read. */
int scim_filter_match(const scim_filter *f, const json *resource,
                      const scim_schema_resource *schema);

/* Like scim_filter_match; `resolver`, when not NULL, is called for every
 * attribute absent from `resource`, with `ctx`. A negative result of the
 * resolver is returned as is. */
int scim_filter_match_ex(const scim_filter *f, const json *resource,
                         const scim_schema_resource *schema, scim_filter_resolver resolver,
                         void *ctx);

/* Finds an equality conjunct usable for an index lookup. `attr` is
 * "name" or "name.sub" (for example "userName", "externalId",
 * "emails.value", "members.value"), compared in any ASCII case; a core
 * schema URN prefix in the filter is ignored. Returns 1 and sets `*value`
 * (borrowed from `f`, valid until scim_filter_free) when `f` is
 * `attr eq "v"`, or an AND tree one of whose conjuncts is. For a "name.sub"
 * attribute the value-path form `name[sub eq "v"]` also counts, so
 * `id eq "g" and members[value eq "u"]` yields "u" for "members.value".
 * Only JSON string values are returned. Returns 0 otherwise. When this
 * returns 1, the caller may narrow candidates to resources with that value
 * and must still evaluate the whole filter on each of them. */
int scim_filter_find_eq(const scim_filter *f, const char *attr, const char **value);

/* 1 when any node of `f` refers to attribute `attr` (any ASCII case,
 * top-level name only, any schema URN prefix ignored), else 0. Lets a handler
 * know whether it must load an attribute such as `members` to evaluate the
 * filter. */
int scim_filter_uses_attr(const scim_filter *f, const char *attr);

/* Name of an operator ("eq", ...). Static. */
const char *scim_filter_op_name(scim_filter_op op);

#endif
