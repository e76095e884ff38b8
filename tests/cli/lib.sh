# shellcheck shell=bash disable=SC2034 # D, T, rc and ERR_LINES are the sourcing script's
# The harness every command-line test shares, sourced first thing with the script's name for
# its temporary directory and the script's arguments:
#
#   . "$(dirname "$0")/lib.sh" NAME "$@"
#
# Sets ESEAL (the binary, made absolute) and D (tests/data, from ESEAL_TESTDATA), makes the
# temporary directory T (eseal-NAME.XXXXXX, removed on exit) and works in it, with a copy of
# tests/cli/der.py. Each check prints one line; a script ends with `finish`, which prints
# "N passed, M failed" and fails when any check did.
CLI=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 3
ESEAL=${2:?usage: ${0##*/} /path/to/eseal}
case $ESEAL in /*) ;; *) ESEAL=$PWD/$ESEAL ;; esac
D=$(cd "${ESEAL_TESTDATA:?ESEAL_TESTDATA is not set}" && pwd) || exit 3

T=$(mktemp -d "${TMPDIR:-/tmp}/eseal-$1.XXXXXX") || exit 3
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 3
cp "$CLI/der.py" der.py || exit 3

pass=0
fail=0
skipped=0
rc=0
ERR_LINES=5 # lines of stderr a failed check shows

# check DESC COMMAND...: the command's status decides.
check() {
    local desc=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
        echo "ok   $desc"
    else
        fail=$((fail + 1))
        echo "FAIL $desc"
        if [ -s err ]; then sed 's/^/       stderr: /' err | head -n "$ERR_LINES"; fi
    fi
}

# run ARGS...: runs eseal; stdout in ./out, stderr in ./err, status in $rc.
run() {
    "$ESEAL" "$@" >out 2>err
    rc=$?
}

# expect WANT DESC ARGS...: runs eseal ARGS and checks the exit status.
expect() {
    local want=$1 desc=$2
    shift 2
    run "$@"
    check "$desc (exit $rc, want $want)" [ "$rc" -eq "$want" ]
}

der() { python3 der.py "$@"; } # tests/cli/der.py
has() { grep -q -- "$1" "$2"; }
valid_json() { python3 -m json.tool "$1" >/dev/null 2>&1; }
# an example command line: a line "example:" followed by an indented "eseal ..." line
has_example() { grep -q '^example' "$1" && grep -Eq '^  +eseal ' "$1"; }
no_crash() { [ "$rc" -lt 128 ]; }

# skip WHY: a part not run (PostgreSQL absent outside CI); finish then exits 77, which CTest
# reports as skipped (SKIP_RETURN_CODE 77), never as passed.
skip() {
    skipped=$((skipped + 1))
    echo "SKIP $1"
}

# finish: the closing line; the script's exit status is its status (77: passed, parts skipped).
finish() {
    echo "$pass passed, $fail failed, $skipped skipped"
    [ "$fail" -eq 0 ] || return 1
    [ "$skipped" -eq 0 ] || return 77
}
