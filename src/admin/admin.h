/* The admin area: the /admin/v1 JSON API, the /console page, domain
 * verification over DNS and the periodic audit-log prune. admin_routes and
 * admin_stop (routes.h) are its start-up and shutdown hooks. */
#ifndef IDGATE_ADMIN_H
#define IDGATE_ADMIN_H

#include <stddef.h>

#include "json.h"

struct app;
struct conf;
struct http_req;

/* Sends `body` as JSON with `status`; `body` stays owned by the caller. */
void admin_reply_json(struct http_req *r, int status, const json *body);
/* Sends {"status": status, "error": message}; a 401 carries a
 * WWW-Authenticate challenge. */
void admin_reply_error(struct http_req *r, int status, const char *message);

/* Registers the /admin/v1 routes (api.c) and the /console routes
 * (console.c). Return 0 or -1. */
int admin_api_routes(struct app *a);
int admin_console_routes(struct app *a);

/* Called once with the outcome of admin_dns_verify: `err` is a DNS_TXT_*
 * code, `matched` 1 when a TXT record equals the expected value, and
 * `token` the verification token that matched (without its prefix). */
typedef void (*admin_verify_done)(int err, const char *token, int matched, void *arg);

/* Looks up the TXT records of _idgate-challenge.<domain> on the
 * configured resolver and compares each with `expected` (the full
 * "idgate-verification=..." value). Returns 0 when the lookup started (then
 * `done` runs once on the loop), or -1. */
int admin_dns_verify(struct app *a, const char *domain, const char *expected,
                     admin_verify_done done, void *arg);

/* Looks up the TXT record on a private event loop, blocking the caller:
 * for the command line only. Same outcome as admin_dns_verify. */
int admin_dns_verify_blocking(struct conf *c, const char *domain, const char *expected,
                              int *err, char *token, size_t token_len, int *matched);

/* Writes into `out` why the TXT lookup for `domain` failed with `err` (a
 * DNS_TXT_* code other than OK and NXDOMAIN): the name asked for, the
 * resolver, the cause and the settings to check. */
void admin_dns_failure(struct conf *c, const char *domain, int err, char *out, size_t len);

#endif
