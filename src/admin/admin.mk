# Build rules for this area; included from the top-level Makefile.am.
# Accounts administration: provisioning events, licence tiers, the audit log,
# the admin API and the console.
src_libidgate_a_SOURCES += \
	src/events.c \
	src/audit.c src/audit.h \
	src/license.c src/license.h \
	src/admin/admin_const.h src/admin/ops.h \
	src/admin/common.c \
	src/admin/tokens.c \
	src/admin/domains.c \
	src/admin/dirgroups.c \
	src/admin/users.c

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_license
TESTS += tests/unit/test_license
tests_unit_test_license_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_license_LDADD = $(UNIT_TEST_LINK)
endif
