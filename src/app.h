/* Process-wide state shared by every handler: configuration, the event loop,
 * the store, the HTTP server and the outbound HTTP client. One instance
 * lives for the whole run of `idgate serve`; command-line tools fill in only
 * `conf` and `store`. */
#ifndef IDGATE_APP_H
#define IDGATE_APP_H

struct event_base;
struct conf;
struct store;
struct http_server;
struct http_client;
struct metrics;

typedef struct app {
    struct conf *conf;
    struct event_base *base;
    struct store *store;
    struct http_server *http;
    struct http_client *client;     /* outbound HTTPS for the sign-in flow */
    struct metrics *metrics;
    void *oidc;                     /* sign-in state: discovery and JWKS caches */
    void *admin;                    /* admin state: DNS resolver */
    int stopping;                   /* set once SIGTERM or SIGINT arrives */
} app;

#endif
