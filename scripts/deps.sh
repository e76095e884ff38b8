#!/bin/sh
# Installs the Debian packages eseal needs to build and test, and only those missing.
# Usage: scripts/deps.sh            (run as root, or with sudo available)
set -eu

# Build and test tools, and the libraries of ARCHITECTURE.md that the code uses so far; curl
# sends the business-system requests of tests/cli/api.sh, wrk loads the daemon in bench/;
# ccache speeds up CI's three builds of a clean clone (CMakeLists.txt uses it when present).
# Seal pictures (src/picture/): cairo, pango, libpng, libjpeg and the CJK fonts they draw with.
PKGS="build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev \
libssl-dev openssl python3 \
libzip-dev libxml2-dev zip unzip \
libsqlite3-dev libpq-dev postgresql postgresql-client libjansson-dev \
libargon2-dev \
libmicrohttpd-dev chromium fonts-noto-cjk \
libcairo2-dev libpango1.0-dev libpng-dev libjpeg-dev fonts-wqy-zenhei \
curl wrk ccache"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
# The console's browser test drives Chromium with playwright-core from npm. Node.js may come
# from elsewhere than Debian (NodeSource bundles npm and conflicts with Debian's npm package):
# install Debian's only when no node or npm is on the PATH.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
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
