#!/usr/bin/env bash
# The console against the real esealsd (tests/e2e/daemon.mjs): a fresh site in a temporary
# --var on 127.0.0.1 with an ephemeral port; the admin's one-time password read from its stdout.
# playwright-core and Chromium as in tests/e2e/run.sh (same node directory under WORKDIR).
# The eseal CLI (keys, certificate requests and signed requests of a business system) is the
# third argument, by default the eseal next to esealsd; openssl makes the test's SM2 keys.
#
# With a fourth argument "factor", tests/e2e/factor.mjs instead, against the daemon's defaults
# (the second factor enforced); with "signing", tests/e2e/signing.mjs (我的签名密钥); with
# "picture", tests/e2e/picture.mjs (the picture workbench).
# "making", tests/e2e/making.mjs (the making system's pages).
#
# usage: tests/e2e/daemon.sh /path/to/esealsd WORKDIR [/path/to/eseal] [factor|signing|picture]
# Exit 0 passed, 1 failed, 77 skipped (Chromium, node or npm missing and CI unset).
set -u

SD=${1:?usage: daemon.sh /path/to/esealsd WORKDIR}
WORK=${2:?usage: daemon.sh /path/to/esealsd WORKDIR}
CLI=${3:-$(dirname "$SD")/eseal}
SCRIPT=daemon.mjs
[ "${4:-}" = factor ] && SCRIPT=factor.mjs
[ "${4:-}" = signing ] && SCRIPT=signing.mjs
[ "${4:-}" = picture ] && SCRIPT=picture.mjs
[ "${4:-}" = making ] && SCRIPT=making.mjs
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
[ -x "$SD" ] || { echo "e2e: FAIL: $SD is not built"; exit 1; }
[ -x "$CLI" ] || { echo "e2e: FAIL: $CLI (the eseal CLI) is not built"; exit 1; }
command -v openssl >/dev/null 2>&1 || { echo "e2e: FAIL: openssl not found"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/eseal-e2e-sd.XXXXXX") || exit 1
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/profile" "$TMP/keys"

# The console's pages; its sign-in with the second factor is tests/e2e/factor.mjs's.
if [ "$SCRIPT" != factor.mjs ]; then
    printf '[factors]\nenforce = false\n' >"$TMP/sd.conf"
else
    : >"$TMP/sd.conf"
fi
# making.mjs renews a seal it just made (valid 1095 days) online: its window is widened.
[ "$SCRIPT" = making.mjs ] && printf '[making]\nrenewal_window_days = 3650\n' >>"$TMP/sd.conf"
env -u ESEAL_PIN "$SD" --config "$TMP/sd.conf" --var "$TMP/var" --listen 127.0.0.1:0 \
    >"$TMP/sd.out" 2>"$WORK/esealsd.log" &
SERVER_PID=$!
PORT=
for _ in $(seq 1 600); do
    PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$TMP/sd.out" 2>/dev/null)
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
OTP=$(sed -n 's/^one-time password for admin: \(.*\)$/\1/p' "$TMP/sd.out")
AOTP=$(sed -n 's/^one-time password for auditor: \(.*\)$/\1/p' "$TMP/sd.out")
if [ -z "$PORT" ] || [ -z "$OTP" ] || [ -z "$AOTP" ]; then
    echo "e2e: FAIL: esealsd did not start"
    cat "$TMP/sd.out" "$WORK/esealsd.log"
    exit 1
fi
echo "e2e: esealsd at http://127.0.0.1:$PORT/"

ESEAL_URL="http://127.0.0.1:$PORT" \
    ESEAL_ADMIN_OTP="$OTP" \
    ESEAL_AUDITOR_OTP="$AOTP" \
    ESEAL_CLI="$CLI" \
    ESEAL_KEYS="$TMP/keys" \
    ESEAL_NODE_DIR="$NODE_DIR" \
    ESEAL_CHROMIUM="$CHROMIUM" \
    ESEAL_PROFILE="$TMP/profile" \
    ESEAL_SHOTS="$WORK" \
    node "$HERE/$SCRIPT"
rc=$?

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
src=$?
SERVER_PID=
if [ "$src" -ne 0 ]; then
    echo "e2e: FAIL: esealsd exited $src on SIGTERM"
    rc=1
fi
[ "$rc" -ne 0 ] && tail -n 30 "$WORK/esealsd.log"
exit "$rc"
