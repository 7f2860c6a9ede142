#!/usr/bin/env bash
# Runs a Postman SCIM conformance collection against a freshly started idgate.
# Usage: tests/conformance/run.sh COLLECTION.json [--verbose]
# Needs the npm packages in tests/ (npm install --prefix tests) and a built
# idgate (IDGATE_BIN, or src/idgate in the checkout).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 COLLECTION.json [--verbose]" >&2; exit 2; }
exec node "$here/run.mjs" "$@"
