#!/usr/bin/env bash
# The Python race detector: its overhead on a dict-heavy workload (untraced,
# weft run, weft run --races, side by side in one run) and its precision and
# recall over the corpus of racy and race-free programs in tests/py/races.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
WEFT=$BUILD/bin/weft
REPS=${WEFT_BENCH_REPS:-3}
PY=${WEFT_BENCH_PYTHON:-$(ls /usr/bin/python3.11 2>/dev/null || command -v python3)}
TMP=$(mktemp -d /tmp/weft-racebench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

wall() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
q() { "$WEFT" query "$1" "$2" --csv | tail -1 | tr -d '\r'; }
endns() { q "$1" "SELECT value/1000 FROM meta WHERE key='end_ns'"; }

echo "== race detector overhead ($PY, bench/py/races_dict.py, wall time, median of $REPS)"
f=bench/py/races_dict.py
base=$(for _ in $(seq "$REPS"); do wall "$PY" "$f"; done | median)
printf '%-22s %12s %8s %14s %8s\n' mode "whole ms" ratio "recording ms" ratio
printf '%-22s %12.1f %8s %14s %8s\n' untraced "$(echo "$base / 1000" | bc -l)" - - -
for mode in plain races; do
	opt=""
	[ $mode = races ] && opt=--races
	whole=$(for _ in $(seq "$REPS"); do wall "$WEFT" run $opt -o "$TMP/$mode.db" -- "$PY" "$f"; done | median)
	rec=$(for _ in $(seq "$REPS"); do "$WEFT" run $opt -o "$TMP/$mode-r.db" -- "$PY" "$f" >/dev/null 2>&1
		endns "$TMP/$mode-r.db"; done | median)
	awk -v m="weft run${opt:+ $opt}" -v b="$base" -v w="$whole" -v r="$rec" 'BEGIN {
		printf "%-22s %12.1f %7.2fx %14.1f %7.2fx\n", m, w/1000, w/b, r/1000, r/b }'
done
echo "(whole ms: the whole weft run, including finalizing the trace, which is the same work with"
echo " or without --races; recording ms: from the trace's start to its last event, interpreter"
echo " start-up included)"

echo
echo "== race detector precision and recall (tests/py/races, $PY)"
# A racy program is found when a finding has its rule and location; every
# other finding on it is a wrong one (a bug reported twice counts against
# precision), as is any finding on a clean program.
tp=0 fp=0 found=0 racy=0 clean=0 clean_ok=0 racy_findings=0
for prog in tests/py/races/racy_*.py tests/py/races/clean_*.py; do
	expect=$(sed -n 's/^# expect: //p' "$prog")
	case $expect in skip*) continue ;; esac
	db=$TMP/c.db
	(cd tests/py/races && "$WEFT" run --races -o "$db" -- "$PY" "$(basename "$prog")") >/dev/null 2>&1
	total=$(q "$db" "SELECT count(*) FROM findings WHERE kind='race'")
	if [ "$expect" = none ]; then
		clean=$((clean + 1))
		fp=$((fp + total))
		[ "$total" = 0 ] && clean_ok=$((clean_ok + 1))
		[ "$total" = 0 ] || echo "  wrong: $(basename "$prog"): $total finding(s) on a clean program"
		continue
	fi
	racy=$((racy + 1))
	racy_findings=$((racy_findings + total))
	rule=${expect%% *}
	loc=${expect#* }
	good=$(q "$db" "SELECT count(*) > 0 FROM findings WHERE kind='race' AND rule='$rule' AND instr(summary, ' on $loc') > 0")
	tp=$((tp + good))
	fp=$((fp + total - good))
	if [ "$good" -gt 0 ]; then found=$((found + 1)); else echo "  missed: $(basename "$prog") ($expect)"; fi
	[ "$total" -gt 1 ] && echo "  $(basename "$prog"): $total findings for one bug"
done
awk -v tp="$tp" -v fp="$fp" -v found="$found" -v racy="$racy" -v clean="$clean" -v ok="$clean_ok" -v rf="$racy_findings" 'BEGIN {
	printf "racy programs:  %d, found with the right rule and location: %d (recall %.0f%%)\n", racy, found, racy ? 100 * found / racy : 0
	printf "clean programs: %d, without any race finding: %d\n", clean, ok
	printf "findings:       %d right, %d wrong (precision %.0f%%)\n", tp, fp, tp + fp ? 100 * tp / (tp + fp) : 100
	printf "findings per bug: %.2f (%d findings on %d racy programs, one bug each)\n", racy ? rf / racy : 0, rf, racy }'
