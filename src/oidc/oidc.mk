# Build rules for this area; included from the top-level Makefile.am.
# Sign-in: outbound HTTPS, secret encryption and the OpenID Connect relying party.

src_libidgate_a_SOURCES += \
	src/http_client.c src/http_client.h \
	src/client_addr.c src/client_addr.h \
	src/secretbox.c src/secretbox.h \
	src/oidc/oidc.h src/oidc/oidc_const.h \
	src/oidc/config.c \
	src/oidc/redirect.c src/oidc/redirect.h \
	src/oidc/jwks.c src/oidc/jwks.h \
	src/oidc/idtoken.c src/oidc/idtoken.h \
	src/oidc/provider.c src/oidc/provider.h \
	src/oidc/idp.c src/oidc/idp.h \
	src/oidc/tx.c src/oidc/tx.h \
	src/oidc/login_keys.c src/oidc/login_keys.h \
	src/oidc/token.c src/oidc/token.h \
	src/oidc/users.c src/oidc/users.h \
	src/oidc/subjects.c src/oidc/subjects.h \
	src/oidc/session_store.c src/oidc/session.h \
	src/oidc/signin.c src/oidc/signin.h \
	src/oidc/pages.c src/oidc/pages.h \
	src/oidc/endpoints.h \
	src/oidc/login.c src/oidc/callback.c src/oidc/direct.c \
	src/oidc/session_http.c src/oidc/logout.c src/oidc/signin_page.c \
	src/oidc/sweep.c src/oidc/sweep.h \
	src/oidc/limit.c src/oidc/limit.h \
	src/oidc/routes.c

# The project's json.h functions share names with jansson's, which cjose
# calls. Hiding the archive's symbols keeps the executable from exporting
# them, so cjose keeps binding to jansson.
src_idgate_LDFLAGS += -Wl,--exclude-libs,ALL
OIDC_HIDE_LIB_SYMBOLS = -Wl,--exclude-libs,ALL

EXTRA_DIST += tests/fuzz/fuzz_idtoken.c tests/fuzz/fuzz_jwks.c \
	tests/fuzz/corpus/idtoken/rs256.txt tests/fuzz/corpus/jwks/ec.json \
	tests/fuzz/fuzz_client_addr.c tests/fuzz/corpus/client_addr/chain.txt \
	tests/fuzz/fuzz_tx_cookie.c tests/fuzz/corpus/tx_cookie/valid.txt

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_secretbox tests/unit/test_redirect \
	tests/unit/test_idtoken tests/unit/test_jwks tests/unit/test_discovery \
	tests/unit/test_session tests/unit/test_http_client tests/unit/test_limit \
	tests/unit/test_subjects tests/unit/test_client_addr tests/unit/test_login_tx
TESTS += tests/unit/test_secretbox tests/unit/test_redirect \
	tests/unit/test_idtoken tests/unit/test_jwks tests/unit/test_discovery \
	tests/unit/test_session tests/unit/test_http_client tests/unit/test_limit \
	tests/unit/test_subjects tests/unit/test_client_addr tests/unit/test_login_tx
tests_unit_test_secretbox_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_secretbox_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_secretbox_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_redirect_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_redirect_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_redirect_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_idtoken_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_idtoken_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_idtoken_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_jwks_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_jwks_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_jwks_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_discovery_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_discovery_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_discovery_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_session_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_session_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_session_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_http_client_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_http_client_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_http_client_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_limit_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_limit_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_limit_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_subjects_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_subjects_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_subjects_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_client_addr_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_client_addr_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_client_addr_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
tests_unit_test_login_tx_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_login_tx_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_login_tx_LDFLAGS = $(OIDC_HIDE_LIB_SYMBOLS)
endif
