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
CHROMIUM=${ESEAL_CHROMIUM:-/usr/bin/chromium}
PLAYWRIGHT_VERSION=1.65.1

in_ci() {
    case "${CI:-}" in "" | false | 0) return 1 ;; *) return 0 ;; esac
}

missing() {
    if in_ci; then
        echo "e2e: FAIL: $1 (CI=${CI}: the console test must run; scripts/deps.sh installs it)"
        exit 1
    fi
    echo "e2e: SKIP: $1 (scripts/deps.sh installs it; with CI set this is a failure)"
    exit 77
}

[ -x "$CHROMIUM" ] || missing "Chromium not found at $CHROMIUM"
command -v node >/dev/null 2>&1 || missing "node not found"
command -v npm >/dev/null 2>&1 || missing "npm not found"
[ -x "$SERVE" ] || { echo "e2e: FAIL: $SERVE is not built"; exit 1; }

mkdir -p "$WORK" || exit 1
WORK=$(cd "$WORK" && pwd)
NODE_DIR=$WORK/node
have=$(node -p "try { require('$NODE_DIR/node_modules/playwright-core/package.json').version } catch (e) { '' }" 2>/dev/null)
if [ "$have" != "$PLAYWRIGHT_VERSION" ]; then
    echo "e2e: installing playwright-core@$PLAYWRIGHT_VERSION into $NODE_DIR"
    mkdir -p "$NODE_DIR" || exit 1
    # No browser download: playwright-core never fetches one; Chromium is Debian's.
    if ! (cd "$NODE_DIR" && flock "$NODE_DIR/.install.lock" npm install --no-audit --no-fund --loglevel=error \
        "playwright-core@$PLAYWRIGHT_VERSION" >"$WORK/npm.log" 2>&1); then
        echo "e2e: FAIL: npm install playwright-core@$PLAYWRIGHT_VERSION failed:"
        tail -n 20 "$WORK/npm.log"
        exit 1
    fi
fi

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

rm -f "$WORK/console.png" "$WORK/console-error.png"
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
