#!/bin/bash
# Installs the Debian 12 packages needed to build and run idgate. Run as
# root or as a user with sudo.
set -eu

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive

$SUDO apt-get update -q
# libevhtp-dev and libcjose-dev do not pull in every library their
# pkg-config files name, so those are listed explicitly.
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential autoconf automake libtool pkg-config \
    libevent-dev libevhtp-dev libssl-dev libyajl-dev liblmdb-dev lmdb-utils \
    libcurl4-openssl-dev libcjose-dev libjansson-dev ca-certificates curl openssl
