#!/usr/bin/env bash
# Counts for the hardening work, derived from one real run of the test suite
# (tests/run.sh with WEFT_COUNT_LOG: every $WEFT call goes through
# tests/count-weft.sh, which logs it and what each `weft run` trace holds)
# and, when FUZZ_LOG names the saved output of `make fuzz`, from the fuzzer.
# Nothing here is estimated: a number this script cannot see is not printed.
#
#   make test-progs build/asan/bin/weft ... (or just `make test` once), then
#   tests/hardening_counts.sh [FILTER]         FILTER as for tests/run.sh
#   FUZZ_LOG=/tmp/fuzz.log tests/hardening_counts.sh
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/weft-counts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
calls=$tmp/calls.log
: >"$calls"

WEFT_COUNT_LOG=$calls tests/run.sh "$@" >"$tmp/suite.log" 2>&1
tail -1 "$tmp/suite.log" | sed 's/^/suite: /'
grep -E '^  (FAIL|skip) ' "$tmp/suite.log"
# let the last watchers finish (they wait for their weft to end)
sleep 1

# results NAME-REGEX FILE-REGEX: "status<TAB>file<TAB>test name" lines of the run
results() {
	awk -v nre="$1" -v fre="$2" '
		/^== / { file = $2; next }
		/^  (ok|FAIL|skip) / {
			st = $1; name = substr($0, 8)
			if (st != "ok") sub(/: .*/, "", name)
			if (file ~ fre && name ~ nre) print st "\t" file "\t" name
		}' "$tmp/suite.log"
}
# scenarios: groups results by the test name up to its first ':' and prints
# one line per scenario (checks, and whether all passed), then the total.
scenarios() {
	awk -F'\t' '{
		s = $3; sub(/:.*/, "", s)
		if (!(s in n)) order[++k] = s
		n[s]++; if ($1 != "ok") bad[s] = bad[s] " " $1
	} END {
		for (i = 1; i <= k; i++)
			printf "    %-45s %3d checks %s\n", order[i], n[order[i]], bad[order[i]] ? "(" substr(bad[order[i]], 2) ")" : "all passed"
		printf "  %d scenarios, %d checks\n", k, NR
	}'
}

echo
echo "== programs run under the tracer"
runs=$(grep -c $'^call\trun$' "$calls")
echo "  weft run invocations: $runs"
awk -F'\t' '$1 == "call" && $2 != "run" { n[$2]++ } END { for (v in n) printf "  weft %s invocations: %d\n", v, n[v] }' "$calls" | sort
awk -F'\t' '$1 == "trace" {
	if ($2 == "missing") { miss++; next }
	t++; p += $2; e += $3; l += $4; u += $5
} END {
	printf "  traces read after their run: %d (%d already deleted or unreadable: weft killed before the file existed, or removed by the test first)\n", t, miss
	printf "  processes in those traces: %d\n  events in them: %d\n  events_lost (meta) summed: %d\n  threads.unrecorded summed: %d\n", p, e, l, u
}' "$calls"

echo
echo "== faults injected (test_faults, and the crash/kill/signal/timeout/deadlock parts of test_trace_core and test_deadlock)"
{
	results '.' 'test_faults' | grep -v $'\tfaults: '
	results '^(crash |kill -9 weft|signals|timeout|static)' 'test_trace_core'
	results '.' 'test_deadlock'
} | scenarios

echo
echo "== malformed and hostile inputs"
bad=$(results '^badinput:[^:]+:.+' 'test_badinput' | grep -v -E $'\tbadinput:(msg-|good:|fixture)')
printf '  bad trace files x reading commands (test_badinput): %d runs over %d inputs\n' \
	"$(printf '%s\n' "$bad" | grep -c .)" "$(printf '%s\n' "$bad" | cut -f3 | cut -d: -f2 | sort -u | grep -c .)"
fr=$(results '^fuzz regression ' 'test_fuzz_regressions')
printf '  fuzzer-found trace files x commands (test_fuzz_regressions): %d runs over %d inputs\n' \
	"$(printf '%s\n' "$fr" | grep -c .)" "$(printf '%s\n' "$fr" | cut -f3 | sed 's/^fuzz regression \([^:]*\):.*/\1/' | sort -u | grep -c .)"
echo "  hostile arguments, names and environments (test_hostile):"
results '.' 'test_hostile' | scenarios | sed 's/^/  /'
if [ -n "${FUZZ_LOG:-}" ] && [ -r "$FUZZ_LOG" ]; then
	# fork mode's progress lines: "#EXECS: cov: ... time: Ns"; the last one is the total
	last=$(grep -E '^#[0-9]+: cov' "$FUZZ_LOG" | tail -1)
	echo "  fuzz executions (make fuzz, $FUZZ_LOG): ${last%%:*}" | sed 's/#//'
	echo "    last progress line: $last"
else
	echo "  fuzz executions: not counted (set FUZZ_LOG to the saved output of make fuzz)"
fi

echo
echo "== events lost"
results 'nothing lost|nothing unrecorded|events meta' '.' | awk -F'\t' '{ printf "  %-4s %s: %s\n", $1, $2, $3 }'
