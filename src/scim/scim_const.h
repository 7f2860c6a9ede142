/* SCIM 2.0 protocol strings: schema and message URNs (RFC 7643, RFC 7644),
 * error scimType values (RFC 7644 section 3.12), media types and limits
 * shared by the parsers and the HTTP handlers. */
#ifndef IDGATE_SCIM_CONST_H
#define IDGATE_SCIM_CONST_H

/* Resource schemas (RFC 7643 sections 4 and 8.7). */
#define SCIM_URN_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_URN_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_URN_ENTERPRISE_USER "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

/* Discovery schemas (RFC 7643 sections 5, 6 and 7). */
#define SCIM_URN_SERVICE_PROVIDER_CONFIG                                                           \
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCIM_URN_RESOURCE_TYPE "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define SCIM_URN_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Schema"

/* Message schemas (RFC 7644 section 3.1 and following). */
#define SCIM_URN_LIST_RESPONSE "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_URN_SEARCH_REQUEST "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
#define SCIM_URN_PATCH_OP "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_URN_BULK_REQUEST "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
#define SCIM_URN_BULK_RESPONSE "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
#define SCIM_URN_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"

/* Prefix shared by every schema URN defined by RFC 7643. */
#define SCIM_URN_PREFIX "urn:ietf:params:scim:"

/* Error scimType values (RFC 7644 section 3.12, table 9). */
#define SCIM_ERR_INVALID_FILTER "invalidFilter"
#define SCIM_ERR_TOO_MANY "tooMany"
#define SCIM_ERR_UNIQUENESS "uniqueness"
#define SCIM_ERR_MUTABILITY "mutability"
#define SCIM_ERR_INVALID_SYNTAX "invalidSyntax"
#define SCIM_ERR_INVALID_PATH "invalidPath"
#define SCIM_ERR_NO_TARGET "noTarget"
#define SCIM_ERR_INVALID_VALUE "invalidValue"
#define SCIM_ERR_INVALID_VERS "invalidVers"
#define SCIM_ERR_SENSITIVE "sensitive"

/* Media types; requests may use either, responses use the first. */
#define SCIM_MEDIA_TYPE "application/scim+json"
#define SCIM_MEDIA_TYPE_JSON "application/json"

/* PATCH operation names (RFC 7644 section 3.5.2), matched without regard
 * to ASCII case because Entra ID sends "Add", "Replace" and "Remove". */
#define SCIM_PATCH_ADD_NAME "add"
#define SCIM_PATCH_REMOVE_NAME "remove"
#define SCIM_PATCH_REPLACE_NAME "replace"

/* Limits on client input. A filter or PATCH path longer than this is
 * rejected with invalidFilter or invalidPath. */
#define SCIM_FILTER_MAX_LENGTH 4096
/* Maximum nesting of parentheses, `not` and value filters in one filter. */
#define SCIM_FILTER_MAX_DEPTH 32
/* Maximum number of operations in one PATCH request. */
#define SCIM_PATCH_MAX_OPERATIONS 1000

#endif
