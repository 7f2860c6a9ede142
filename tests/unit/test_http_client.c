#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "http_client.h"

typedef struct outcome {
    int calls;
    int status;
    char error[256];
    struct event_base *base;
} outcome;

static void on_done(const http_client_response *res, void *arg)
{
    outcome *o = arg;
    o->calls++;
    o->status = res->status;
    snprintf(o->error, sizeof o->error, "%s", res->error ? res->error : "");
    event_base_loopbreak(o->base);
}

/* Runs one fetch of `url` to completion and returns what the callback saw. */
static outcome fetch(const char *url, long total_ms)
{
    outcome o = {0};
    http_client *c = NULL;
    http_client_options opt = {.connect_timeout_ms = total_ms, .total_timeout_ms = total_ms};
    o.base = event_base_new();
    ck_assert_ptr_nonnull(o.base);
    ck_assert_int_eq(http_client_new(o.base, &opt, &c), 0);
    http_client_request req = {.url = url};
    ck_assert_int_eq(http_client_fetch(c, &req, on_done, &o), 0);
    ck_assert_int_eq(o.calls, 0);
    ck_assert_uint_eq(http_client_inflight(c), 1);
    struct timeval limit = {5, 0};
    event_base_loopexit(o.base, &limit);
    event_base_dispatch(o.base);
    ck_assert_uint_eq(http_client_inflight(c), 0);
    http_client_free(c);
    event_base_free(o.base);
    return o;
}

START_TEST(plain_http_rejected)
{
    outcome o = fetch("http://127.0.0.1:1/", 1000);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_ne(o.error, "");
}
END_TEST

START_TEST(refused_connection_reported)
{
    outcome o = fetch("https://127.0.0.1:1/", 1000);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_ne(o.error, "");
}
END_TEST

/* A listener that accepts connections and never answers, so the TLS
 * handshake stalls until the client's timeout. */
static int silent_listener(int *port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

START_TEST(stalled_server_times_out)
{
    int port;
    int fd = silent_listener(&port);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
    outcome o = fetch(url, 300);
    close(fd);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(o.status, 0);
    ck_assert_msg(strstr(o.error, "imeout") || strstr(o.error, "timed out"), "%s", o.error);
}
END_TEST

START_TEST(free_runs_pending_callbacks)
{
    outcome o = {0};
    http_client *c = NULL;
    http_client_options opt = {0};
    int port;
    int fd = silent_listener(&port);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
    o.base = event_base_new();
    ck_assert_int_eq(http_client_new(o.base, &opt, &c), 0);
    http_client_request req = {.url = url};
    ck_assert_int_eq(http_client_fetch(c, &req, on_done, &o), 0);
    http_client_free(c);
    close(fd);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(o.status, 0);
    event_base_free(o.base);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("http_client");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, plain_http_rejected);
    tcase_add_test(tc, refused_connection_reported);
    tcase_add_test(tc, stalled_server_times_out);
    tcase_add_test(tc, free_runs_pending_callbacks);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
