#!/bin/bash
# Builds idgate from this checkout and runs it in the foreground with a demo
# account, for a first look on a fresh Debian 12 machine (root or sudo):
#
#   contrib/demo.sh            (PORT=8080 by default; DEMO_DIR=./data)
#
# The store lives in ./data. Each run prints the SCIM base URL and a new
# SCIM key for the demo account. A token is shown only once, so a re-run
# revokes the key that the previous run made, whose id is kept in
# ./data/demo-scim-key. Keys made with `idgate scim-key create`, the admin API
# or the console keep working. Stop the service with Ctrl-C.
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

# Tokens are printed once and not stored, so showing one again needs a new key.
# Revoke only the key whose id the previous run recorded, so that an identity
# provider connected with another key of this account keeps working.
KEY_FILE=$DATA/demo-scim-key
if [ -s "$KEY_FILE" ]; then
    OLD_KEY=$(cat "$KEY_FILE")
    if "$IDGATE" scim-key list --account "$ACCOUNT" | tr '{' '\n' |
        grep -F "\"id\":\"$OLD_KEY\"" | grep -q '"revoked":false'; then
        "$IDGATE" scim-key revoke --account "$ACCOUNT" --key "$OLD_KEY" >/dev/null
    fi
    rm -f "$KEY_FILE"
fi
if ! KEY_JSON=$("$IDGATE" scim-key create --account "$ACCOUNT"); then
    cat >&2 <<TEXT
demo: creating the demo's SCIM key failed (the error is above). An account has
at most two active SCIM keys, and the demo revokes only the key it made itself.
List the keys and revoke one that nothing uses:
  IDGATE_CONFIG=$CONFIG $IDGATE scim-key list --account $ACCOUNT
  IDGATE_CONFIG=$CONFIG $IDGATE scim-key revoke --account $ACCOUNT --key KEYID
TEXT
    exit 1
fi
echo "$KEY_JSON" | json_field id >"$KEY_FILE"
TOKEN=$(echo "$KEY_JSON" | json_field token)

cat <<TEXT

idgate demo
  account:        $ACCOUNT (Demo Company)
  SCIM base URL:  http://127.0.0.1:$PORT/scim/v2
  SCIM key:       $TOKEN
                  (a re-run revokes this key and prints a new one; other keys of
                  the account stay active)
  try:            curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/scim/v2/Users
  health:         http://127.0.0.1:$PORT/healthz   metrics: http://127.0.0.1:$PORT/metrics
  console:        http://127.0.0.1:$PORT/console, signed in with the token that
                  IDGATE_CONFIG=$CONFIG $IDGATE admin-token create
                  prints
  command line:   IDGATE_CONFIG=$CONFIG $IDGATE help
                  (commands act on the store named by the configuration; without it they
                  use the default /var/lib/idgate, not this demo's store)

TEXT
exec "$IDGATE" serve --config "$CONFIG"
