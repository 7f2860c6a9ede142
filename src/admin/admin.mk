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
	src/admin/users.c \
	src/admin/accounts_admin.c \
	src/admin/keys.c \
	src/admin/idp.c \
	src/admin/dns_txt.c src/admin/dns_txt.h \
	src/admin/admin.c src/admin/admin.h \
	src/admin/api.c \
	src/admin/console.c src/admin/console.h \
	src/admin/cli_admin.c

# The console's files are embedded into the binary as byte arrays.
ADMIN_CONSOLE_FILES = \
	$(srcdir)/src/admin/console/index.html \
	$(srcdir)/src/admin/console/console.css \
	$(srcdir)/src/admin/console/console.js
nodist_src_libidgate_a_SOURCES = src/admin/console_assets.c
src/admin/console_assets.c: $(ADMIN_CONSOLE_FILES) $(srcdir)/src/admin/embed.sh
	$(AM_V_GEN)mkdir -p src/admin && \
	$(SHELL) $(srcdir)/src/admin/embed.sh $(ADMIN_CONSOLE_FILES) > $@.tmp && mv $@.tmp $@
CLEANFILES += src/admin/console_assets.c
EXTRA_DIST += $(ADMIN_CONSOLE_FILES) src/admin/embed.sh

EXTRA_DIST += tests/fuzz/fuzz_dns_txt.c tests/fuzz/corpus/dns_txt/two_records.bin

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_license tests/unit/test_audit tests/unit/test_dns_txt
TESTS += tests/unit/test_license tests/unit/test_audit tests/unit/test_dns_txt
tests_unit_test_license_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_license_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_audit_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_audit_LDADD = $(UNIT_TEST_LINK)
tests_unit_test_dns_txt_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_dns_txt_LDADD = $(UNIT_TEST_LINK)
check_PROGRAMS += tests/unit/test_store_reverse
TESTS += tests/unit/test_store_reverse
tests_unit_test_store_reverse_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_store_reverse_LDADD = $(UNIT_TEST_LINK)
endif
