# Build rules for this area; included from the top-level Makefile.am.
# Sign-in: outbound HTTPS, secret encryption and the OpenID Connect relying party.

src_libidgate_a_SOURCES += \
	src/secretbox.c src/secretbox.h \
	src/oidc/redirect.c src/oidc/redirect.h

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_secretbox tests/unit/test_redirect
TESTS += tests/unit/test_secretbox tests/unit/test_redirect
tests_unit_test_secretbox_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_secretbox_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_redirect_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_redirect_LDADD = $(UNIT_TEST_LINK)
endif
