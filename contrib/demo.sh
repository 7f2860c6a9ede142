#!/bin/bash
# Builds idgate from this checkout and runs it in the foreground with a demo
# account, for a first look on a fresh Debian 12 machine (root or sudo):
#
#   contrib/demo.sh            (PORT=8080 by default; DEMO_DIR=./data)
#
# The store lives in ./data. Each run prints the SCIM base URL and a new
# SCIM key for the demo account (a token is shown only once, so the previous
# run's key is revoked). Stop the service with Ctrl-C.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8080}
DATA=${DEMO_DIR:-$ROOT/data}
BUILD=$ROOT/build
CONFIG=$DATA/demo.ini

bash "$ROOT/contrib/deps.sh"

cd "$ROOT"
if [ ! -x "$BUILD/src/idgate" ]; then
    autoreconf -fi
    mkdir -p "$BUILD"
    (cd "$BUILD" && "$ROOT/configure" -q)
fi
make -C "$BUILD" -j"$(nproc)" src/idgate
IDGATE=$BUILD/src/idgate

mkdir -p "$DATA"
# The master key encrypts identity-provider client secrets at rest; the demo
# keeps one next to its store.
if [ ! -s "$DATA/master.key" ]; then
    (umask 077 && openssl rand -hex 32 >"$DATA/master.key")
fi
cat >"$CONFIG" <<INI
[server]
listen_address = 127.0.0.1
port = $PORT
base_url = http://127.0.0.1:$PORT

[store]
path = $DATA/store

[oidc]
master_key_file = $DATA/master.key
INI
export IDGATE_CONFIG=$CONFIG

json_field() {
    sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"
}

ACCOUNT_FILE=$DATA/demo-account
if [ -s "$ACCOUNT_FILE" ]; then
    ACCOUNT=$(cat "$ACCOUNT_FILE")
else
    ACCOUNT=$("$IDGATE" account create --name "Demo Company" --domain demo.example | json_field id)
    echo "$ACCOUNT" >"$ACCOUNT_FILE"
fi

# Revoke the keys of earlier runs: their tokens were printed then and are
# not stored, so a fresh key is the only way to show one now.
"$IDGATE" scim-key list --account "$ACCOUNT" | tr '{' '\n' | grep '"revoked":false' |
    json_field id | while read -r old; do
        "$IDGATE" scim-key revoke --account "$ACCOUNT" --key "$old" >/dev/null
    done
TOKEN=$("$IDGATE" scim-key create --account "$ACCOUNT" | json_field token)

cat <<TEXT

idgate demo
  account:        $ACCOUNT (Demo Company)
  SCIM base URL:  http://127.0.0.1:$PORT/scim/v2
  SCIM key:       $TOKEN
  try:            curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/scim/v2/Users
  health:         http://127.0.0.1:$PORT/healthz   metrics: http://127.0.0.1:$PORT/metrics
  console:        http://127.0.0.1:$PORT/console (sign in with a token from admin-token create)
  command line:   IDGATE_CONFIG=$CONFIG $IDGATE help
                  (commands act on the store named by the configuration; without it they
                  use the default /var/lib/idgate, not this demo's store)

TEXT
exec "$IDGATE" serve --config "$CONFIG"
