# Build rules for this area; included from the top-level Makefile.am.
