#!/bin/sh
# Installs the Debian packages eseal needs to build and test, and only those missing.
# Usage: scripts/deps.sh            (run as root, or with sudo available)
set -eu

# Build and test tools, and the libraries of ARCHITECTURE.md that the code uses so far.
PKGS="build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev \
libssl-dev openssl python3 \
libzip-dev libxml2-dev zip unzip \
libargon2-dev"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
