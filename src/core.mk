# Build rules for the service core; included from the top-level Makefile.am.
# The shared interface headers without an owning module elsewhere are listed
# here so that they reach the distribution tarball.
src_libidgate_a_SOURCES += \
	src/app.h src/events.h \
	src/conf.c src/conf.h \
	src/log.c src/log.h \
	src/crypto.c src/crypto.h \
	src/casefold.c src/casefold.h \
	src/http.h \
	src/http.c src/http_route.c src/http_util.c src/http_internal.h \
	src/metrics.c src/metrics.h \
	src/health.c src/routes.h \
	src/cli.c src/cli.h \
	src/accounts.c src/accounts.h \
	src/scim_keys.c src/scim_keys.h \
	src/accounts_cli.c

# Link the library whole into the daemon so that each area's start-up hooks
# (src/routes.h) replace the weak defaults in main.c, and CLI_COMMAND
# registrations (src/cli.h) in files nothing else references are kept.
src_idgate_LDFLAGS = -Wl,--whole-archive,src/libidgate.a,--no-whole-archive

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_conf tests/unit/test_crypto tests/unit/test_http_route \
	tests/unit/test_log tests/unit/test_metrics tests/unit/test_scim_keys \
	tests/unit/test_casefold
TESTS += tests/unit/test_conf tests/unit/test_crypto tests/unit/test_http_route \
	tests/unit/test_log tests/unit/test_metrics tests/unit/test_scim_keys \
	tests/unit/test_casefold
tests_unit_test_conf_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_conf_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_crypto_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_crypto_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_http_route_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_http_route_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_log_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_log_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_metrics_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_metrics_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_scim_keys_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_scim_keys_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_casefold_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_casefold_LDADD = $(UNIT_TEST_LINK)
endif
