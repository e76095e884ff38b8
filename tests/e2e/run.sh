#!/usr/bin/env bash
# The console end to end: e2e_serve (the HTTP layer with the embedded console and a stub
# sign-in) on 127.0.0.1 with an ephemeral port, driven in headless Chromium by playwright-core
# (tests/e2e/console.mjs). playwright-core is installed with npm under WORKDIR the first time;
# the browser is Debian's /usr/bin/chromium (never a downloaded one).
#
# usage: tests/e2e/run.sh /path/to/e2e_serve WORKDIR
# Exit 0 passed, 1 failed, 77 skipped: Chromium, node or npm missing and CI unset. With CI set
# (CI=true, as CI systems do), anything missing is a failure.
set -u

SERVE=${1:?usage: run.sh /path/to/e2e_serve WORKDIR}
WORK=${2:?usage: run.sh /path/to/e2e_serve WORKDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
[ -x "$SERVE" ] || { echo "e2e: FAIL: $SERVE is not built"; exit 1; }

PROFILE=$(mktemp -d "${TMPDIR:-/tmp}/eseal-e2e-profile.XXXXXX") || exit 1
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$PROFILE"
}
trap cleanup EXIT

# Emptied here, not only by the redirection below: that happens in the child, which may open
# the file after the loop has read the previous run's port from it.
: >"$WORK/serve.out"
"$SERVE" >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVER_PID=$!
PORT=
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$WORK/serve.out" 2>/dev/null)
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$PORT" ]; then
    echo "e2e: FAIL: the test server did not start"
    cat "$WORK/serve.log"
    exit 1
fi
echo "e2e: console at http://127.0.0.1:$PORT/"

rm -f "$WORK"/console*.png
ESEAL_URL="http://127.0.0.1:$PORT" \
    ESEAL_NODE_DIR="$NODE_DIR" \
    ESEAL_CHROMIUM="$CHROMIUM" \
    ESEAL_PROFILE="$PROFILE" \
    ESEAL_SHOTS="$WORK" \
    node "$HERE/console.mjs"
rc=$?

# A graceful stop: SIGTERM, and the server exits 0.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
src=$?
SERVER_PID=
if [ "$src" -ne 0 ]; then
    echo "e2e: FAIL: the test server exited $src on SIGTERM"
    rc=1
fi
if [ "$rc" -ne 0 ]; then
    echo "e2e: server log:"
    tail -n 30 "$WORK/serve.log"
fi
exit "$rc"
