/* The address of the client behind trusted reverse proxies.
 *
 * The client address is the peer address of the connection, unless the
 * peer is a trusted proxy ([http] trusted_proxies). Then it is the
 * right-most address of X-Forwarded-For that is not a trusted proxy.
 * Each proxy appends the address it received the request from, so the
 * entries right of that one were written by trusted proxies. The entries
 * left of it may be anything the client sent. Walking from the right stops at a
 * malformed entry, and the address right of it (or the peer) is used, so a
 * garbled header never yields an address that no trusted proxy vouched
 * for. Several X-Forwarded-For header lines count as one list, in order.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as IPv4.
 */
#ifndef IDGATE_CLIENT_ADDR_H
#define IDGATE_CLIENT_ADDR_H

#include <stddef.h>
#include <stdint.h>

struct http_req;

/* Maximum length of an address in text, with its NUL (INET6_ADDRSTRLEN). */
#define CLIENT_ADDR_TEXT_MAX 46
/* Maximum length of a limit key: an IPv6 /64 network in text, "/64" and a NUL. */
#define CLIENT_ADDR_KEY_MAX (CLIENT_ADDR_TEXT_MAX + 4)

/* An IPv4 or IPv6 address or network. IPv4 uses the first 4 bytes. */
typedef struct client_addr {
    int family;                     /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
    unsigned prefix;                /* prefix length in bits; the full length for an address */
} client_addr;

/* The trusted proxies: a list of networks. */
typedef struct client_addr_proxies {
    client_addr *nets;
    size_t count;
} client_addr_proxies;

/* Parses a list of IPv4 and IPv6 addresses and CIDR blocks separated by
 * commas, with optional spaces ("10.0.0.0/8, 127.0.0.1, ::1"). An empty
 * list trusts no proxy. A block with bits set past its prefix
 * ("10.0.0.1/8") is invalid, because it is most likely a typing error.
 * Returns 0 and fills `out` (free with client_addr_proxies_clear), or -1
 * with a sentence naming the first invalid item in `err`; -1 with an empty
 * `err` means out of memory. */
int client_addr_proxies_parse(const char *list, client_addr_proxies *out, char *err, size_t errlen);
void client_addr_proxies_clear(client_addr_proxies *p);

/* Parses one address, without prefix. Returns 0 or -1. */
int client_addr_parse(const char *text, client_addr *out);

/* 1 when `addr` lies in one of the trusted networks, else 0. */
int client_addr_trusted(const client_addr_proxies *p, const client_addr *addr);

/* Chooses the client address from the peer address (text) and the values
 * of the request's X-Forwarded-For header lines, `nheaders` of them (0 or
 * more) in the order received. A port on an entry ("1.2.3.4:80",
 * "[2001:db8::1]:443") is ignored. Returns 0 and fills `out`, or -1 when
 * `peer` is not an IP address. */
int client_addr_choose(const client_addr_proxies *p, const char *peer, const char *const *headers,
                       size_t nheaders, client_addr *out);

/* Chooses the client address of a request whose client is still connected
 * (http_req_alive), from its last 16 X-Forwarded-For lines at most.
 * Returns 0 and fills `out`, or -1 when the peer address is unknown. */
int client_addr_of_request(struct http_req *r, const client_addr_proxies *p, client_addr *out);

/* Writes the address in its canonical text form ("2001:db8::1"). */
void client_addr_format(const client_addr *a, char out[CLIENT_ADDR_TEXT_MAX]);

/* Writes the key that per-client limits count under: the IPv4 address, or
 * the /64 network of an IPv6 address ("2001:db8:1:2::/64"). A /64 is the
 * usual smallest IPv6 subnet (RFC 7421), and one host on it can pick any
 * address in it. */
void client_addr_limit_key(const client_addr *a, char out[CLIENT_ADDR_KEY_MAX]);

#endif
