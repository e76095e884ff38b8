#!/usr/bin/env bash
# Checks docs/requirements.md (the living trace, ID -> code -> test) against the numbered
# requirements of the design (REQUIREMENTS.md):
#   - every ID of REQUIREMENTS.md has exactly one row in the trace, and the trace has no other IDs;
#   - every status is DONE, PARTIAL, MISSING or N/A;
#   - every `path` and `path:fn1,fn2` in the code and tests columns exists, and each named
#     function (identifier) occurs in that file as a word;
#   - every `ctest:NAME` is a CTest test (tests/test_NAME.c or an add_test(NAME ...) of cmake);
#   - a DONE row cites at least one code path and at least one tests/ path;
#   - the summary table between <!-- counts begin --> and <!-- counts end --> is what the rows
#     say (print it with --counts).
#
# usage: scripts/reqtrace.sh [--counts] [REQUIREMENTS.md]
#   REQUIREMENTS.md defaults to $ESEAL_REQUIREMENTS, else ../shared/design/REQUIREMENTS.md or
#   ../../shared/design/REQUIREMENTS.md next to the checkout.
# Exit 0 when all is well; 1 with one line per problem on stderr; 2 on usage errors.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
trace=$root/docs/requirements.md
mode=check
if [ "${1:-}" = "--counts" ]; then
    mode=counts
    shift
fi
req=${1:-${ESEAL_REQUIREMENTS:-}}
if [ -z "$req" ]; then
    for c in "$root/../shared/design/REQUIREMENTS.md" "$root/../../shared/design/REQUIREMENTS.md"; do
        if [ -f "$c" ]; then
            req=$c
            break
        fi
    done
fi
[ -f "$trace" ] || { echo "reqtrace: no $trace" >&2; exit 2; }

idre='^\| *(G|CA|MK|ST|AP|SM|TD|SEC|F)[0-9]+ *\|'

# The summary table, per "## " section of the trace, from the rows' status column.
counts() {
    awk -F'|' -v idre="$idre" '
        /^## / { sec = substr($0, 4); if (!(sec in seen)) { seen[sec] = 1; order[++n] = sec } next }
        $0 ~ idre {
            st = $5; gsub(/^ +| +$/, "", st)
            c[sec, st]++; tot[st]++; all[sec]++; total++
        }
        END {
            print "| section | DONE | PARTIAL | MISSING | N/A | IDs |"
            print "|---|---:|---:|---:|---:|---:|"
            for (i = 1; i <= n; i++) {
                s = order[i]
                if (!all[s]) continue
                printf "| %s | %d | %d | %d | %d | %d |\n", s, c[s, "DONE"], c[s, "PARTIAL"],
                    c[s, "MISSING"], c[s, "N/A"], all[s]
            }
            printf "| **all** | **%d** | **%d** | **%d** | **%d** | **%d** |\n", tot["DONE"],
                tot["PARTIAL"], tot["MISSING"], tot["N/A"], total
        }' "$trace"
}

if [ "$mode" = counts ]; then
    counts
    exit 0
fi
if [ -z "$req" ] || [ ! -f "$req" ]; then
    echo "reqtrace: REQUIREMENTS.md not found (pass its path)" >&2
    exit 2
fi

problems=0
bad() {
    echo "$*" >&2
    problems=$((problems + 1))
}

ids_of() { grep -E "$idre" "$1" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'; }

# 1. Every ID exactly once, no strangers.
while read -r n id; do
    [ "$n" -eq 1 ] || bad "$id: $n rows in docs/requirements.md"
done < <(ids_of "$trace" | sort | uniq -c)
for id in $(comm -23 <(ids_of "$req" | sort -u) <(ids_of "$trace" | sort -u)); do
    bad "$id: no row in docs/requirements.md"
done
for id in $(comm -13 <(ids_of "$req" | sort -u) <(ids_of "$trace" | sort -u)); do
    bad "$id: in docs/requirements.md but not in REQUIREMENTS.md"
done

# CTest names: one per tests/test_*.c, and every add_test(NAME ...).
ctests=$(
    for f in "$root"/tests/test_*.c; do
        b=$(basename "$f" .c)
        echo "${b#test_}"
    done
    grep -rhoE 'add_test\(NAME [A-Za-z0-9_]+' "$root/CMakeLists.txt" "$root/cmake" | awk '{ print $2 }'
)

# 2. Rows: status, paths, functions, CTest names.
while IFS= read -r line; do
    id=$(awk -F'|' '{ gsub(/ /, "", $2); print $2 }' <<<"$line")
    st=$(awk -F'|' '{ s = $5; gsub(/^ +| +$/, "", s); print s }' <<<"$line")
    case "$st" in DONE | PARTIAL | MISSING | N/A) ;; *) bad "$id: status '$st'" ;; esac
    ncode=0
    ntest=0
    for col in 6 7; do
        cell=$(awk -F'|' -v c="$col" '{ print $c }' <<<"$line")
        # shellcheck disable=SC2016 # the backquotes are Markdown's, not the shell's
        while IFS= read -r tok; do
            [ -n "$tok" ] || continue
            if [[ $tok == ctest:* ]]; then
                grep -qx "${tok#ctest:}" <<<"$ctests" || bad "$id: no CTest test '${tok#ctest:}'"
                continue
            fi
            path=${tok%%:*}
            [[ $path =~ ^(src|tools|tests|devices|web|include|docs|etc|cmake|scripts|bench|fuzz)/ ]] ||
                [ "$path" = CMakeLists.txt ] || continue
            if [ ! -e "$root/$path" ]; then
                bad "$id: no such path $path"
                continue
            fi
            if [ "$col" = 6 ]; then ncode=$((ncode + 1)); else [[ $path == tests/* ]] && ntest=$((ntest + 1)); fi
            [[ $tok == *:* ]] || continue
            IFS=, read -ra fns <<<"${tok#*:}"
            for fn in "${fns[@]}"; do
                fn=${fn// /}
                [ -n "$fn" ] || continue
                grep -qw -- "$fn" "$root/$path" || bad "$id: '$fn' not in $path"
            done
        done < <(grep -oE '`[^`]+`' <<<"$cell" | tr -d '`')
    done
    if [ "$st" = DONE ]; then
        [ "$ncode" -gt 0 ] || bad "$id: DONE without a code path"
        [ "$ntest" -gt 0 ] || bad "$id: DONE without a test path"
    fi
done < <(grep -E "$idre" "$trace")

# 3. The summary table is what the rows say.
want=$(counts)
have=$(sed -n '/<!-- counts begin -->/,/<!-- counts end -->/p' "$trace" | grep '^|' || true)
if [ "$want" != "$have" ]; then
    bad "the summary table is stale; scripts/reqtrace.sh --counts prints it:"
    echo "$want" >&2
fi

if [ "$problems" -gt 0 ]; then
    echo "reqtrace: $problems problem(s)" >&2
    exit 1
fi
echo "reqtrace: $(ids_of "$trace" | wc -l) IDs, one row each; every path, function and CTest name found"
