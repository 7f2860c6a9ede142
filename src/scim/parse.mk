# Build rules for this area; included from the top-level Makefile.am.
# The shared JSON tree and the SCIM parsers: schema, filter, path, PATCH,
# value normalisation and projection.
src_libidgate_a_SOURCES += \
	src/json.c src/json.h \
	src/scim/scim_const.h \
	src/scim/schema.c src/scim/schema.h
