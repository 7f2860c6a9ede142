/* The framework ceiling: a minimal libevhtp server on one event loop that
 * answers every request, whatever its method and path, with the same
 * 200 response. idgate's own throughput is compared with this figure,
 * measured in the same run on the same machine.
 *
 * Usage: baseline PORT   (listens on 127.0.0.1 until SIGTERM or SIGINT)
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <evhtp.h>

static const char reply_body[] = "{\"status\":\"ok\"}\n";

static void reply_fixed(evhtp_request_t *req, void *arg)
{
    evhtp_headers_add_header(req->headers_out,
                             evhtp_header_new("Content-Type", "application/json", 0, 0));
    evbuffer_add_reference(req->buffer_out, reply_body, sizeof(reply_body) - 1, NULL, NULL);
    evhtp_send_reply(req, EVHTP_RES_OK);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    struct event_base *base = NULL;
    evhtp_t *htp = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    int port, rc = 1;

    if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    htp = base ? evhtp_new(base, NULL) : NULL;
    if (!htp) {
        fprintf(stderr, "baseline: out of memory\n");
        goto out;
    }
    evhtp_set_gencb(htp, reply_fixed, NULL);
    if (evhtp_bind_socket(htp, "ipv4:127.0.0.1", (uint16_t)port, 1024) != 0) {
        fprintf(stderr, "baseline: cannot listen on 127.0.0.1:%d\n", port);
        goto out;
    }
    sigterm = evsignal_new(base, SIGTERM, stop_loop, base);
    sigint = evsignal_new(base, SIGINT, stop_loop, base);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    event_base_loop(base, 0);
    rc = 0;
out:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (htp) {
        evhtp_unbind_socket(htp);
        evhtp_free(htp);
    }
    if (base)
        event_base_free(base);
    return rc;
}
