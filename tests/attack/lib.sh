# shellcheck shell=bash
# What the attack scripts share: a fresh esealsd on 127.0.0.1 with an ephemeral port and the
# embedded defaults (the configuration a site gets when it sets nothing), stopped on exit with
# its exit status checked.
#
#   . "$(dirname "$0")/lib.sh" NAME /path/to/esealsd
#   start_daemon            # sets SD_PID and PORT, or exits 1
#   ... attacks ...
#   stop_daemon             # fails the script when the daemon did not end cleanly
ATTACK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 3
SD=${2:?usage: ${0##*/} /path/to/esealsd}
case $SD in /*) ;; *) SD=$PWD/$SD ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/eseal-attack-$1.XXXXXX") || exit 3
SD_PID=
cleanup() {
    if [ -n "$SD_PID" ]; then kill "$SD_PID" 2>/dev/null; wait "$SD_PID" 2>/dev/null; fi
    rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 3

start_daemon() {
    env -u ESEAL_PIN "$SD" --var "$T/var" --listen 127.0.0.1:0 "$@" >sd.out 2>sd.err &
    SD_PID=$!
    PORT=
    for _ in $(seq 1 1200); do
        PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' sd.out 2>/dev/null)
        [ -n "$PORT" ] && break
        kill -0 "$SD_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$PORT" ]; then
        echo "FAIL esealsd did not start"
        cat sd.out sd.err
        exit 1
    fi
    echo "esealsd pid $SD_PID on port $PORT"
}

stop_daemon() {
    kill -TERM "$SD_PID"
    wait "$SD_PID"
    local st=$?
    SD_PID=
    if [ "$st" -ne 0 ]; then
        echo "FAIL esealsd exited with status $st"
        tail -n 20 sd.err
        return 1
    fi
    echo "ok   esealsd stopped cleanly"
}
