#!/bin/bash
# Installs everything the test suite needs on a fresh Debian 12 machine,
# builds idgate and runs every test (tests/run-all.sh). Run as root, or as a
# user with sudo. The last line of output is "N passed, N failed".
#
#   tests/ci.sh                 (BUILD_DIR defaults to ./build, FUZZ_SECONDS to 15)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi

BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
  libevent-dev libevhtp-dev libssl-dev libyajl-dev liblmdb-dev
  libcurl4-openssl-dev libcjose-dev libjansson-dev libunistring-dev libmimalloc-dev"
TEST_PACKAGES="check clang libclang-rt-14-dev lmdb-utils curl ca-certificates openssl
  chromium dnsmasq nginx-light wrk hyperfine"

install_packages() {
    local had_policy=0
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' services (dnsmasq, nginx) from starting on install:
    # tests start their own instances on loopback.
    if [ -e /usr/sbin/policy-rc.d ]; then had_policy=1; fi
    if [ "$had_policy" = 0 ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
    fi
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $BUILD_PACKAGES $TEST_PACKAGES
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        $SUDO apt-get install -y -q --no-install-recommends nodejs npm
    fi
    if [ "$had_policy" = 0 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
}

install_npm_packages() {
    cd "$ROOT/tests"
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund || npm install --no-audit --no-fund
    else
        npm install --no-audit --no-fund
    fi
    cd "$ROOT"
}

build() {
    cd "$ROOT"
    autoreconf -fi
    mkdir -p "$BUILD"
    (cd "$BUILD" && "$ROOT/configure" -q)
    make -C "$BUILD" -j"$(nproc)"
}

install_packages
install_npm_packages
build
exec bash "$ROOT/tests/run-all.sh" "$BUILD"
