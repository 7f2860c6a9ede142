#!/bin/bash
# Installs the Debian 12 packages needed to build and run idgate. Run as
# root or as a user with sudo.
set -eu

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive

# libevhtp-dev and libcjose-dev do not pull in every library their
# pkg-config files name, so those are listed explicitly.
PACKAGES="build-essential autoconf automake libtool pkg-config
  libevent-dev libevhtp-dev libssl-dev libyajl-dev liblmdb-dev lmdb-utils
  libcurl4-openssl-dev libcjose-dev libjansson-dev libunistring-dev libmimalloc-dev ca-certificates
  curl openssl"

# Skip apt when everything is installed already, so that a second run of the
# demo needs neither root nor the network.
# shellcheck disable=SC2086
if dpkg-query -W -f='${Status}\n' $PACKAGES 2>/dev/null | grep -vq 'install ok installed' ||
    [ "$(dpkg-query -W -f='${Status}\n' $PACKAGES 2>/dev/null | wc -l)" -ne "$(echo $PACKAGES | wc -w)" ]; then
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $PACKAGES
fi
