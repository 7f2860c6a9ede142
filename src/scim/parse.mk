# Build rules for this area; included from the top-level Makefile.am.
# The shared JSON tree and the SCIM parsers: schema, filter, path, PATCH,
# value normalisation and projection.
src_libidgate_a_SOURCES += \
	src/json.c src/json.h \
	src/scim/scim_const.h \
	src/scim/schema.c src/scim/schema.h \
	src/scim/filter.c src/scim/filter_match.c src/scim/filter.h src/scim/filter_parse.h \
	src/scim/path.c src/scim/path.h \
	src/scim/patch.c src/scim/patch.h \
	src/scim/values.c src/scim/values.h

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_filter
TESTS += tests/unit/test_filter
tests_unit_test_filter_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_filter_LDADD = $(UNIT_TEST_LINK)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_patch
TESTS += tests/unit/test_patch
tests_unit_test_patch_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_patch_LDADD = $(UNIT_TEST_LINK)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_json
TESTS += tests/unit/test_json
tests_unit_test_json_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_json_LDADD = $(UNIT_TEST_LINK)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_json_text
TESTS += tests/unit/test_json_text
tests_unit_test_json_text_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_json_text_LDADD = $(UNIT_TEST_LINK)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_path
TESTS += tests/unit/test_path
tests_unit_test_path_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_path_LDADD = $(UNIT_TEST_LINK)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_schema
TESTS += tests/unit/test_schema
tests_unit_test_schema_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_schema_LDADD = $(UNIT_TEST_LINK)
endif

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_values
TESTS += tests/unit/test_values
tests_unit_test_values_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_values_LDADD = $(UNIT_TEST_LINK)
endif
