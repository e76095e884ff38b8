#!/bin/sh
# Builds the libFuzzer targets (fuzz/fuzz_<name>.c) with clang into build-fuzz and runs each
# for a bounded time on a temporary copy of its seed corpus.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Seeds: the real corpus ($ESEAL_CORPUS, default ../shared/corpus/real: esl/ and signature/;
# ofd/ for fuzz_ofd; none for fuzz_client_auth, fuzz_http, fuzz_national, fuzz_upstream, fuzz_status,
# which read text headers, raw HTTP requests, configuration files and JSON, nor for
# fuzz_picture, which reads JPEG and PNG scans) and
# tests/data/fuzz-regress/. The seeds are copied, never written to: libFuzzer adds what it
# finds to the temporary copy, which is removed at the end (KEEP_CORPUS=1 keeps it).
# Crash, leak and timeout inputs go to build-fuzz/artifacts/<target>/.
#
# Exit status: 0 when every target ran its time without a crash, leak or sanitizer report.
# The last line is "N passed, M failed" (one per target).
set -eu

secs=${1:-60}
case $secs in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
	exit 2
	;;
esac
[ $# -gt 0 ] && shift

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$root/build-fuzz
corpus=${ESEAL_CORPUS:-$root/../shared/corpus/real}
regress=$root/tests/data/fuzz-regress

if [ $# -gt 0 ]; then
	targets=$*
else
	targets=$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)
fi

# Only the fuzz targets (and the library they link) are built with the fuzzer flags.
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DESEAL_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
buildable=""
for t in $targets; do
	[ -f "fuzz/$t.c" ] && buildable="$buildable $t"
done
# shellcheck disable=SC2086
[ -z "$buildable" ] || cmake --build "$build" --target $buildable

if [ ! -d "$corpus" ]; then
	# CI fuzzes from the real corpus or fails: a missing corpus is not a smaller run.
	if [ -n "${CI:-}" ]; then
		echo "fuzz.sh: no seed corpus at $corpus (ESEAL_CORPUS); CI needs it" >&2
		exit 1
	fi
	echo "warning: no seed corpus at $corpus; fuzzing from the regression inputs only" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/eseal-fuzz.XXXXXX")
cleanup() {
	if [ "${KEEP_CORPUS:-0}" = 1 ]; then echo "working corpora kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Seeds per target: directories of the real corpus plus this target's regression inputs
# (tests/data/fuzz-regress/<target>-*; files without a target prefix go to every target).
seed_dirs() {
	case $1 in
	fuzz_seal) echo esl ;;
	fuzz_signature | fuzz_cms) echo signature esl ;;
	fuzz_ofd) echo ofd ;;
	fuzz_client_auth | fuzz_http | fuzz_national | fuzz_upstream | fuzz_status) ;; # their regression inputs only
	fuzz_picture) ;; # JPEG and PNG scans: its regression inputs only
	*) echo esl signature ;;
	esac
}

# Sanitizer reports must end the run: UBSan does not stop on its own.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

passed=0
failed=0
summary=""
for t in $targets; do
	bin=$build/$t
	if [ ! -x "$bin" ]; then
		echo "$t: no such target" >&2
		failed=$((failed + 1))
		summary="$summary$t: FAILED (not built)
"
		continue
	fi
	dir=$work/$t
	mkdir -p "$dir"
	for d in $(seed_dirs "$t"); do
		[ -d "$corpus/$d" ] && find "$corpus/$d" -maxdepth 1 -type f -exec cp {} "$dir/" \;
	done
	if [ -d "$regress" ]; then
		for f in "$regress"/*; do
			[ -f "$f" ] || continue
			n=$(basename "$f")
			case $n in
			fuzz_*-*) case $n in "$t"-*) cp "$f" "$dir/" ;; esac ;;
			*) cp "$f" "$dir/" ;;
			esac
		done
	fi
	art=$build/artifacts/$t
	mkdir -p "$art"
	log=$work/$t.log
	# -max_len: 1 MiB, or the largest seed when larger (libFuzzer would cut it short and
	# never run the whole of a big OFD package).
	maxlen=$(find "$dir" -type f -printf '%s\n' | sort -n | tail -n 1)
	[ "${maxlen:-0}" -gt 1048576 ] || maxlen=1048576
	echo "== $t: $(find "$dir" -type f | wc -l) seeds, ${secs}s, max_len $maxlen"
	rc=0
	"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -max_len="$maxlen" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$art/" "$dir" >"$log" 2>&1 || rc=$?
	# Runs and the final coverage line ("#N DONE cov: ... ft: ... corp: ...").
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -n 1 || true)
	echo "$t: runs ${runs:-?}"
	echo "$t: ${cov:-no coverage line}"
	bad=$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log" |
		head -n 5 || true)
	if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
		failed=$((failed + 1))
		summary="$summary$t: FAILED (exit $rc)
"
		echo "$t: FAILED (exit $rc); log follows" >&2
		grep -vE '^(#[0-9]+|INFO:)' "$log" | tail -n 60 >&2
		cp "$log" "$art/last.log"
		echo "$t: artifacts and log in $art" >&2
	else
		passed=$((passed + 1))
		summary="$summary$t: ok
"
	fi
done

printf '%s' "$summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
