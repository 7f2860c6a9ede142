# Build rules for this area; included from the top-level Makefile.am.
# Accounts administration: provisioning events, licence tiers, the audit log,
# the admin API and the console.
src_libidgate_a_SOURCES += \
	src/events.c \
	src/audit.c src/audit.h \
	src/license.c src/license.h
