# Build rules for this area; included from the top-level Makefile.am.
# SCIM resources: users, groups, memberships, listing and discovery.
src_libidgate_a_SOURCES += \
	src/scim/scim_store.c src/scim/scim_store.h \
	src/scim/scim_http.c src/scim/scim_http.h \
	src/scim/resource.c src/scim/users.c src/scim/groups.c \
	src/scim/list.c src/scim/discovery.c \
	src/scim/cleanup.c src/scim/cleanup.h \
	src/scim/query.c src/scim/query.h \
	src/scim/splice.c src/scim/splice.h \
	src/scim/related_text.c src/scim/related_text.h

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_scim_store
TESTS += tests/unit/test_scim_store
tests_unit_test_scim_store_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_scim_store_LDADD = $(UNIT_TEST_LINK)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_scim_query
TESTS += tests/unit/test_scim_query
tests_unit_test_scim_query_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_scim_query_LDADD = $(UNIT_TEST_LINK)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_splice
TESTS += tests/unit/test_splice
tests_unit_test_splice_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_splice_LDADD = $(UNIT_TEST_LINK)
endif
