#!/usr/bin/env bash
# The test runner: unit tests (build/unit/*), then integration tests
# (tests/integration/test_*.sh). Its last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
export ROOT=$PWD
export BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export WEFT_PLAIN=$BUILD/bin/weft
export WEFT=$BUILD/asan/bin/weft
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp}
if [ -n "${WEFT_VALGRIND:-}" ]; then
	# Memcheck the plain (unsanitized) tracer; any error fails the run.
	export WEFT="$ROOT/tests/valgrind-weft.sh"
fi
if [ -n "${WEFT_COUNT_LOG:-}" ]; then
	# tests/hardening_counts.sh: log every call of whichever $WEFT is chosen above.
	export WEFT_COUNTED=$WEFT
	export WEFT="$ROOT/tests/count-weft.sh"
fi
export TESTS=$ROOT/tests
export PROGS=$BUILD/tests
export TMPROOT=$(mktemp -d /tmp/weft-tests.XXXXXX)
export RESULTS=$TMPROOT/results
: >"$RESULTS"
if [ -n "${WEFT_VALGRIND:-}" ]; then
	export WEFT_VALGRIND_LOGS=$TMPROOT/memcheck
	mkdir -p "$WEFT_VALGRIND_LOGS"
fi
trap 'rm -rf "$TMPROOT"' EXIT

# Arguments are filters: only unit and integration tests whose path contains
# one of them run (none: all of them).
only=("$@")
selected() {
	[ ${#only[@]} -eq 0 ] && return 0
	local o
	for o in "${only[@]}"; do
		[[ "$1" == *"$o"* ]] && return 0
	done
	return 1
}
for u in "$BUILD"/unit/*; do
	[ -x "$u" ] || continue
	selected "$u" || continue
	echo "== unit $(basename "$u")"
	out=$("$u" 2>&1); rc=$?
	printf '%s\n' "$out" | sed 's/^/    /' | grep -v '^    ok' | head -40
	printf '%s\n' "$out" | grep -E '^(ok|FAIL) ' | sed 's/^ok /PASS /' >>"$RESULTS"
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
		echo "FAIL unit:$(basename "$u") exited $rc" >>"$RESULTS"
	fi
done

for t in "$ROOT"/tests/integration/test_*.sh; do
	selected "$t" || continue
	name=$(basename "$t" .sh)
	echo "== $name"
	export WORK=$TMPROOT/$name
	mkdir -p "$WORK"
	( cd "$WORK" && source "$ROOT/tests/lib.sh" && source "$t" ) || echo "FAIL $name: aborted (exit $?)" >>"$RESULTS"
done

# Every memcheck report, whether or not its test looked at weft's stderr.
if [ -n "${WEFT_VALGRIND:-}" ]; then
	for f in "$WEFT_VALGRIND_LOGS"/*.log; do
		# Lines of valgrind's own ("--PID--": e.g. an unhandled pidfd system
		# call, where weft falls back to kill) are not memcheck findings.
		grep -q '^==[0-9]*==' "$f" || continue
		echo "== memcheck report $(basename "$f")"
		head -30 "$f" | sed 's/^/    /'
		echo "FAIL memcheck: $(grep -m1 -E '^==[0-9]+== [A-Z]' "$f" | cut -c1-200)" >>"$RESULTS"
	done
	echo "memcheck: $(ls "$WEFT_VALGRIND_LOGS" | wc -l) weft processes checked"
fi
passed=$(grep -c '^PASS ' "$RESULTS")
failed=$(grep -c '^FAIL ' "$RESULTS")
skipped=$(grep -c '^SKIP ' "$RESULTS")
if [ "$failed" -gt 0 ]; then
	echo
	echo "failures:"
	grep '^FAIL ' "$RESULTS" | sed 's/^/  /'
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
