# Shared by the browser tests (run.sh, daemon.sh): sourced after WORK is set.
# Checks that Chromium, node and npm are there (skip, exit 77, or with CI set fail), and
# installs playwright-core with npm under WORK/node once (never a browser: Chromium is
# Debian's). Sets CHROMIUM, NODE_DIR and WORK (absolute).
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

mkdir -p "$WORK" || exit 1
WORK=$(cd "$WORK" && pwd)
NODE_DIR=$WORK/node
have=$(node -p "try { require('$NODE_DIR/node_modules/playwright-core/package.json').version } catch (e) { '' }" 2>/dev/null)
if [ "$have" != "$PLAYWRIGHT_VERSION" ]; then
    echo "e2e: installing playwright-core@$PLAYWRIGHT_VERSION into $NODE_DIR"
    mkdir -p "$NODE_DIR" || exit 1
    # The tests that share NODE_DIR run one at a time (CTest RESOURCE_LOCK e2e_node); the
    # lock also keeps two runs by hand from installing over each other.
    if ! (cd "$NODE_DIR" && flock "$NODE_DIR/.install.lock" npm install --no-audit --no-fund \
        --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >"$WORK/npm.log" 2>&1); then
        echo "e2e: FAIL: npm install playwright-core@$PLAYWRIGHT_VERSION failed:"
        tail -n 20 "$WORK/npm.log"
        exit 1
    fi
fi
