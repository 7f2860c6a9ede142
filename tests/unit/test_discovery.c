#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conf.h"
#include "oidc/oidc.h"
#include "oidc/provider.h"

#define ISSUER "https://example.okta.com/oauth2/default"

static const char good_doc[] =
    "{\"issuer\":\"" ISSUER "\","
    "\"authorization_endpoint\":\"" ISSUER "/v1/authorize\","
    "\"token_endpoint\":\"" ISSUER "/v1/token\","
    "\"jwks_uri\":\"" ISSUER "/v1/keys\","
    "\"end_session_endpoint\":\"" ISSUER "/v1/logout\","
    "\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\",\"client_secret_post\"]}";

START_TEST(discovery_parses_endpoints)
{
    oidc_discovery d;
    char err[512] = "";
    ck_assert_int_eq(oidc_discovery_parse(ISSUER, good_doc, strlen(good_doc), &d, err, sizeof err),
                     0);
    ck_assert_str_eq(d.token_endpoint, ISSUER "/v1/token");
    ck_assert_str_eq(d.jwks_uri, ISSUER "/v1/keys");
    ck_assert_str_eq(d.end_session_endpoint, ISSUER "/v1/logout");
    ck_assert_int_eq(d.secret_post_only, 0);
    oidc_discovery_clear(&d);
}
END_TEST

START_TEST(discovery_post_only)
{
    const char *doc = "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"https://a/\","
                      "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/k\","
                      "\"token_endpoint_auth_methods_supported\":[\"client_secret_post\"]}";
    oidc_discovery d;
    char err[512];
    ck_assert_int_eq(oidc_discovery_parse(ISSUER, doc, strlen(doc), &d, err, sizeof err), 0);
    ck_assert_int_eq(d.secret_post_only, 1);
    ck_assert_ptr_null(d.end_session_endpoint);
    oidc_discovery_clear(&d);
}
END_TEST

START_TEST(discovery_trailing_slash_named)
{
    oidc_discovery d;
    char err[512] = "";
    ck_assert_int_eq(
        oidc_discovery_parse(ISSUER "/", good_doc, strlen(good_doc), &d, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "slash") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "\"" ISSUER "\"") != NULL, "%s", err);

    const char *doc = "{\"issuer\":\"" ISSUER "/\",\"authorization_endpoint\":\"https://a/\","
                      "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/k\"}";
    ck_assert_int_eq(oidc_discovery_parse(ISSUER, doc, strlen(doc), &d, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "trailing slash") != NULL, "%s", err);
}
END_TEST

struct bad_doc {
    const char *doc;
    const char *phrase;
};

static const struct bad_doc bad_docs[] = {
    {"[]", "not a JSON object"},
    {"{}", "no issuer"},
    {"{\"issuer\":\"https://other.okta.com\"}", "not the configured"},
    {"{\"issuer\":\"" ISSUER "\"}", "authorization_endpoint"},
    {"{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"http://a/\","
     "\"token_endpoint\":\"https://a/t\",\"jwks_uri\":\"https://a/k\"}",
     "not an https URL"},
    {"{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"https://a/\","
     "\"token_endpoint\":\"https://a/t\"}",
     "jwks_uri"},
};

START_TEST(discovery_rejects_bad)
{
    oidc_discovery d;
    char err[512] = "";
    const struct bad_doc *c = &bad_docs[_i];
    ck_assert_int_eq(oidc_discovery_parse(ISSUER, c->doc, strlen(c->doc), &d, err, sizeof err),
                     -1);
    ck_assert_msg(strstr(err, c->phrase) != NULL, "\"%s\" lacks \"%s\"", err, c->phrase);
}
END_TEST

START_TEST(discovery_url_strips_slash)
{
    char *a = oidc_discovery_url(ISSUER);
    char *b = oidc_discovery_url(ISSUER "/");
    ck_assert_str_eq(a, ISSUER "/.well-known/openid-configuration");
    ck_assert_str_eq(b, a);
    free(a);
    free(b);
}
END_TEST

struct issuer_case {
    const char *issuer;
    int ok;
};

static const struct issuer_case issuers[] = {
    {"https://acme.okta.com", 1},
    {"https://acme.okta.com/oauth2/default", 1},
    {"https://acme.oktapreview.com", 1},
    {"https://acme.okta-emea.com", 1},
    {"https://acme.okta-gov.com/", 1},
    {"https://acme.okta.com:443/oauth2/x", 1},
    {"https://login.acme.example", 1},
    {"https://127.0.0.1:8443", 1},
    {"https://sub.corp.example/oauth2", 1},
    {"http://acme.okta.com", 0},
    {"https://okta.com", 0},
    {"https://acme.okta.com.evil.example", 0},
    {"https://evilokta.com", 0},
    {"https://acme.okta.com:8443", 0},
    {"https://user@acme.okta.com", 0},
    {"https://acme.okta.com/?x=1", 0},
    {"https://acme.okta.com/#x", 0},
    {"https://acme.okta.com/a b", 0},
    {"https://127.0.0.1:9443", 0},
    {"https://corp.example", 0},
    {"", 0},
};

static oidc_config cfg;
static conf *cfg_conf; /* cfg points into it */

static void setup(void)
{
    setenv("IDGATE_OIDC_ALLOWED_HOSTS", "login.acme.example, 127.0.0.1:8443,*.corp.example", 1);
    cfg_conf = conf_load(NULL);
    ck_assert_int_eq(oidc_config_load(cfg_conf, &cfg), 0);
}

static void teardown(void)
{
    oidc_config_clear(&cfg);
    conf_free(cfg_conf);
    cfg_conf = NULL;
}

START_TEST(issuer_allowed_table)
{
    char err[512] = "";
    const struct issuer_case *c = &issuers[_i];
    int ok = oidc_issuer_allowed(&cfg, c->issuer, err, sizeof err);
    ck_assert_msg(ok == c->ok, "%s: expected %d, got %d (%s)", c->issuer, c->ok, ok, err);
}
END_TEST

/* Token endpoints for the issuer https://acme.okta.com/oauth2/default. */
static const struct issuer_case endpoints[] = {
    {"https://acme.okta.com/oauth2/default/v1/token", 1},
    {"https://other.okta.com/token", 1},
    {"https://login.acme.example/token", 1},
    {"https://x.corp.example/token", 1},
    {"https://127.0.0.1:8443/token", 1},
    {"https://127.0.0.1:9443/token", 0},
    {"https://169.254.169.254/latest", 0},
    {"https://internal.example/token", 0},
    {"https://user@acme.okta.com/token", 0},
    {"http://acme.okta.com/token", 0},
};

START_TEST(endpoint_allowed_table)
{
    char err[512] = "";
    const struct issuer_case *c = &endpoints[_i];
    oidc_discovery d = {.issuer = "https://acme.okta.com/oauth2/default",
                        .authorization_endpoint = "https://acme.okta.com/oauth2/default/v1/auth",
                        .token_endpoint = (char *)c->issuer,
                        .jwks_uri = "https://acme.okta.com/oauth2/default/v1/keys"};
    int ok = oidc_endpoints_allowed(&cfg, &d, err, sizeof err);
    ck_assert_msg(ok == c->ok, "%s: expected %d, got %d (%s)", c->issuer, c->ok, ok, err);
    if (!ok)
        ck_assert_msg(strstr(err, "token_endpoint") != NULL, "error names no endpoint: %s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("discovery");
    TCase *tc = tcase_create("discovery");
    tcase_add_test(tc, discovery_parses_endpoints);
    tcase_add_test(tc, discovery_post_only);
    tcase_add_test(tc, discovery_trailing_slash_named);
    tcase_add_loop_test(tc, discovery_rejects_bad, 0, (int)(sizeof bad_docs / sizeof bad_docs[0]));
    tcase_add_test(tc, discovery_url_strips_slash);
    suite_add_tcase(s, tc);
    TCase *hosts = tcase_create("issuer hosts");
    tcase_add_unchecked_fixture(hosts, setup, teardown);
    tcase_add_loop_test(hosts, issuer_allowed_table, 0, (int)(sizeof issuers / sizeof issuers[0]));
    tcase_add_loop_test(hosts, endpoint_allowed_table, 0,
                        (int)(sizeof endpoints / sizeof endpoints[0]));
    suite_add_tcase(s, hosts);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
