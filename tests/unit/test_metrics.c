#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "metrics.h"

static char *render(metrics *m)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;
    char *out;

    metrics_render(m, NULL, b);
    n = evbuffer_get_length(b);
    out = malloc(n + 1);
    evbuffer_remove(b, out, n);
    out[n] = '\0';
    evbuffer_free(b);
    return out;
}

START_TEST(counter_series_per_label_set)
{
    metrics *m = metrics_new();
    metrics_inc(m, "t_total", "Things.", 1, "kind", "a", NULL);
    metrics_inc(m, "t_total", "Things.", 2, "kind", "a", NULL);
    metrics_inc(m, "t_total", "Things.", 5, "kind", "b", NULL);
    metrics_inc(m, "plain_total", "No labels.", 7, NULL);
    char *out = render(m);
    ck_assert_ptr_nonnull(strstr(out, "# HELP t_total Things.\n# TYPE t_total counter\n"));
    ck_assert_ptr_nonnull(strstr(out, "t_total{kind=\"a\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(out, "t_total{kind=\"b\"} 5\n"));
    ck_assert_ptr_nonnull(strstr(out, "plain_total 7\n"));
    free(out);
    metrics_free(m);
}
END_TEST

START_TEST(label_values_are_escaped)
{
    metrics *m = metrics_new();
    metrics_inc(m, "e_total", "Escapes.", 1, "v", "a\"b\\c\nd", NULL);
    char *out = render(m);
    ck_assert_ptr_nonnull(strstr(out, "e_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
    free(out);
    metrics_free(m);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative)
{
    metrics *m = metrics_new();
    metrics_observe(m, "lat_seconds", "Latency.", 0.003, "route", "/x", NULL);
    metrics_observe(m, "lat_seconds", "Latency.", 0.2, "route", "/x", NULL);
    metrics_observe(m, "lat_seconds", "Latency.", 30, "route", "/x", NULL);
    char *out = render(m);
    ck_assert_ptr_nonnull(strstr(out, "# TYPE lat_seconds histogram\n"));
    ck_assert_ptr_nonnull(strstr(out, "lat_seconds_bucket{route=\"/x\",le=\"0.001\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(out, "lat_seconds_bucket{route=\"/x\",le=\"0.005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(out, "lat_seconds_bucket{route=\"/x\",le=\"0.25\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(out, "lat_seconds_bucket{route=\"/x\",le=\"10\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(out, "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(out, "lat_seconds_count{route=\"/x\"} 3\n"));
    free(out);
    metrics_free(m);
}
END_TEST

static double forty_two(void *arg)
{
    return 42;
}

START_TEST(gauges_set_and_callback)
{
    metrics *m = metrics_new();
    metrics_set(m, "g", "Gauge.", 1.5, NULL);
    metrics_set(m, "g", "Gauge.", 2.5, NULL);
    ck_assert_int_eq(metrics_gauge_fn_add(m, "cb", "Callback.", forty_two, NULL), 0);
    char *out = render(m);
    ck_assert_ptr_nonnull(strstr(out, "g 2.5\n"));
    ck_assert_ptr_nonnull(strstr(out, "cb 42\n"));
    free(out);
    metrics_free(m);
}
END_TEST

START_TEST(null_registry_is_ignored)
{
    metrics_inc(NULL, "x_total", "X.", 1, NULL);
    metrics_observe(NULL, "x_seconds", "X.", 1, NULL);
    ck_assert_int_eq(metrics_gauge_fn_add(NULL, "x", "X.", forty_two, NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, counter_series_per_label_set);
    tcase_add_test(tc, label_values_are_escaped);
    tcase_add_test(tc, histogram_buckets_are_cumulative);
    tcase_add_test(tc, gauges_set_and_callback);
    tcase_add_test(tc, null_registry_is_ignored);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
