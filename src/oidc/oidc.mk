# Build rules for this area; included from the top-level Makefile.am.
# Sign-in: outbound HTTPS, secret encryption and the OpenID Connect relying party.

src_libidgate_a_SOURCES += \
	src/secretbox.c src/secretbox.h \
	src/oidc/redirect.c src/oidc/redirect.h \
	src/oidc/jwks.c src/oidc/jwks.h \
	src/oidc/idtoken.c src/oidc/idtoken.h

EXTRA_DIST += tests/fuzz/fuzz_idtoken.c tests/fuzz/fuzz_jwks.c \
	tests/fuzz/corpus/idtoken/rs256.txt tests/fuzz/corpus/jwks/ec.json

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_secretbox tests/unit/test_redirect \
	tests/unit/test_idtoken tests/unit/test_jwks
TESTS += tests/unit/test_secretbox tests/unit/test_redirect \
	tests/unit/test_idtoken tests/unit/test_jwks
tests_unit_test_secretbox_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_secretbox_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_redirect_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_redirect_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_idtoken_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_idtoken_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_jwks_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_jwks_LDADD = $(UNIT_TEST_LINK)
endif
