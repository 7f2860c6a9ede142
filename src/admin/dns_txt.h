/* Non-blocking DNS TXT lookups on the event loop, for domain verification.
 *
 * libevent's evdns (2.1) resolves only A, AAAA and PTR records. This module
 * therefore sends its own TXT query over UDP to one name server, taken from
 * the configuration or from evdns's reading of /etc/resolv.conf, and reads
 * the reply with an event on the same loop. The query is resent once at
 * half the timeout. A truncated (TC) reply makes it ask the same server
 * again over TCP, within the same overall timeout.
 */
#ifndef IDGATE_DNS_TXT_H
#define IDGATE_DNS_TXT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;

#define DNS_TXT_OK 0
#define DNS_TXT_NXDOMAIN (-1)   /* the name does not exist */
#define DNS_TXT_TIMEOUT (-2)    /* no reply in time */
#define DNS_TXT_FAILED (-3)     /* a malformed reply, another error code, or a network error */
#define DNS_TXT_SERVFAIL (-4)   /* the server replied SERVFAIL */
#define DNS_TXT_REFUSED (-5)    /* the server replied REFUSED */
#define DNS_TXT_CONNREFUSED (-6) /* nothing listens at the server's address and port */

/* Returns a static description of a DNS_TXT_* code that names the cause. */
const char *dns_txt_strerror(int err);

/* Called once on the loop thread with the TXT strings found (each record's
 * character strings joined), valid only during the call. With DNS_TXT_OK
 * and n == 0 the name exists but has no TXT record. */
typedef void (*dns_txt_done)(int err, char *const *records, size_t n, void *arg);

typedef struct dns_txt_query dns_txt_query;

/* Starts a lookup of `name` at `server`. Returns 0 and the query in `*out`
 * (which stays valid until `done` has run or dns_txt_cancel is called), or
 * -1 when it could not be sent. */
int dns_txt_lookup(struct event_base *base, const struct sockaddr *server, socklen_t slen,
                   const char *name, int timeout_ms, dns_txt_done done, void *arg,
                   dns_txt_query **out);
/* Stops a pending lookup; `done` is not called. */
void dns_txt_cancel(dns_txt_query *q);

/* Writes a TXT query for `name` into `buf`. Returns 0 and its length in
 * `*len`, or -1 when the name is invalid or does not fit. */
int dns_txt_encode_query(const char *name, uint16_t id, uint8_t *buf, size_t cap, size_t *len);

/* Reads the reply `msg` to the TXT query `id` for `name` (without a final
 * dot). The reply must repeat exactly that question, and only TXT records
 * owned by `name`, or by the target of a CNAME chain from it in the same
 * reply, count. Returns DNS_TXT_OK with a malloc'd array of malloc'd
 * strings in `*records` (free with dns_txt_free), or a DNS_TXT_* error. */
int dns_txt_decode_reply(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                         char ***records, size_t *n);
void dns_txt_free(char **records, size_t n);

#endif
