# Build rules for this area; included from the top-level Makefile.am.
# The shared JSON tree and the SCIM parsers: schema, filter, path, PATCH,
# value normalisation and projection.
src_libidgate_a_SOURCES += \
	src/json.c src/json.h \
	src/scim/scim_const.h \
	src/scim/schema.c src/scim/schema.h \
	src/scim/filter.c src/scim/filter_match.c src/scim/filter.h src/scim/filter_parse.h \
	src/scim/path.c src/scim/path.h
