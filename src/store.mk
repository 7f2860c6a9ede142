# Build rules for this area; included from the top-level Makefile.am.
src_libidgate_a_SOURCES += src/store.c src/store_writer.c src/store_lmdb.c \
	src/store.h src/store_backend.h src/store_internal.h

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_store
TESTS += tests/unit/test_store
tests_unit_test_store_CFLAGS = $(UNIT_TEST_FLAGS)
tests_unit_test_store_LDADD = $(UNIT_TEST_LINK)
endif

# Group-commit benchmark: built by `make check`, run by hand
# (bench/store_bench [directory]).
check_PROGRAMS += bench/store_bench
bench_store_bench_SOURCES = bench/store_bench.c
bench_store_bench_LDADD = src/libidgate.a $(IDGATE_LIBS) -lm
