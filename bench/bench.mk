# Build rules for this area; included from the top-level Makefile.am.
#
# The benchmark tools are built on request only (`make bench/baseline
# bench/synclient bench/lookup_latency`, which bench/run does), never by
# `make all`.
EXTRA_PROGRAMS = bench/baseline bench/synclient bench/lookup_latency
CLEANFILES += $(EXTRA_PROGRAMS)

bench_baseline_SOURCES = bench/baseline.c
bench_baseline_LDADD = $(EVHTP_LIBS) $(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS) $(MALLOC_LIBS)

bench_synclient_SOURCES = bench/synclient.c
bench_synclient_LDADD = $(CURL_LIBS) $(YAJL_LIBS)

bench_lookup_latency_SOURCES = bench/lookup_latency.c

EXTRA_DIST += bench/run bench/report.mjs bench/signin.mjs bench/common.lua \
	bench/get_user.lua bench/filter_user.lua bench/page.lua bench/post_user.lua \
	bench/patch_group.lua bench/signin_redirect.lua bench/peer/package.json \
	bench/peer/package-lock.json bench/peer/server.mjs
