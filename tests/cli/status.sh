#!/usr/bin/env bash
# `eseal status verify` with no daemon (docs/status.md): answers a status system signed (kept in
# tests/data/status/ by tests/test_status.c with ESEAL_STATUS_SAMPLES, with the root of their
# site) verify as evidence against that root: a lost seal (exit 1), the same seal asked about at
# its restoration (exit 0), an unknown seal (exit 2), Chinese first; another question, another
# root, a flipped byte, a truncated or extended file, an expired answer checked for freshness:
# exit 4; usage errors: exit 3.
#
# usage: tests/cli/status.sh /path/to/eseal   (ESEAL_TESTDATA set, as CTest does)
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" status "$@"
S=$D/status
CODE=$(cat "$S/code")
AT=$(cat "$S/at")

expect 0 "status --help" status --help
check "status --help has an example" has_example out
check "status --help documents the exit statuses" has "4  the answer is not valid" out
expect 0 "status verify --help" status verify --help
expect 3 "status without a subcommand" status
expect 3 "verify without --trust" status verify "$S/lost.der"
expect 3 "verify without a file" status verify --trust "$S/root.crt"
expect 3 "verify: a missing file" status verify nothere.der --trust "$S/root.crt"
expect 3 "verify: an unknown option" status verify "$S/lost.der" --trust "$S/root.crt" --bogus

expect 1 "a lost seal, kept as evidence" status verify "$S/lost.der" --trust "$S/root.crt" \
    --code "$CODE" --evidence
check "the state printed, Chinese first" grep -Eq "当前状态 state now +挂失 lost" out
check "the verdict" has "NOT valid at the time asked" out
expect 0 "the same seal at its restoration" status verify "$S/restored.der" \
    --trust "$S/root.crt" --code "$CODE" --at "$AT" --evidence
check "active then" grep -Eq "当时状态 state then +正常 active" out
check "the history shows the restoration" has "(restore)" out
expect 2 "an unknown seal" status verify "$S/unknown.der" --trust "$S/root.crt" --evidence
check "unknown: 未知" has "未知 unknown" out
expect 1 "--json" status verify "$S/lost.der" --trust "$S/root.crt" --evidence --json
check "--json: JSON with state_now lost" grep -q '"state_now":"lost"' out
check "--json: valid JSON" valid_json out

expect 4 "another seal asked about" status verify "$S/lost.der" --trust "$S/root.crt" \
    --code RS35010200000999 --evidence
check "... named as the question" has "question" out
expect 4 "another time asked about" status verify "$S/restored.der" --trust "$S/root.crt" \
    --at 2020-01-01T00:00:00Z --evidence
expect 4 "a nonce expected that it does not carry" status verify "$S/lost.der" \
    --trust "$S/root.crt" --nonce 00112233445566778899aabbccddeeff --evidence
expect 4 "stale: checked for freshness long after" status verify "$S/lost.der" \
    --trust "$S/root.crt" --now 2099-01-01T00:00:00Z

# Another root: a fresh CA of the same profiles.
export ESEAL_PIN=correct-horse-battery
expect 0 "another root made" ca init --dir other --key soft:keys#root --generate-key \
    --subject '/C=CN/O=Other/CN=Other Root'
expect 4 "another root" status verify "$S/lost.der" --trust other/ca.crt --evidence
check "... named as the chain" has "chain" out

# Every 37th byte flipped, the file cut short, a byte added.
n=$(wc -c <"$S/lost.der")
bad=0
for ((i = 0; i < n; i += 37)); do
    python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[int(sys.argv[2])]^=1; open('t.der','wb').write(b)" "$S/lost.der" "$i"
    "$ESEAL" status verify t.der --trust "$S/root.crt" --evidence >out 2>err
    [ $? -eq 4 ] || bad=$((bad + 1))
done
check "every 37th byte of $n flipped: exit 4 each ($bad not)" [ "$bad" -eq 0 ]
head -c $((n - 1)) "$S/lost.der" >cut.der
expect 4 "truncated" status verify cut.der --trust "$S/root.crt" --evidence
{ cat "$S/lost.der"; printf '\0'; } >long.der
expect 4 "a trailing byte" status verify long.der --trust "$S/root.crt" --evidence
finish
