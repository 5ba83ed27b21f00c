#!/usr/bin/env bash
# Findings benchmark: precision and recall of the lock-order and misuse
# findings over the C corpus (tests/c/findings_cases.c, one known case per
# mode), and the analysis time on a large trace when one is at hand.
#
#   bench/findings_bench.sh        (BUILD=build; make bench runs it)
#
# A finding counts as kind:rule; each mode's expected set is below. An
# expected finding reported is a true positive, an unexpected one a false
# positive, an expected one missing a false negative.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WEFT=$BUILD/bin/weft
P=$BUILD/tests/findings_cases
[ -x "$WEFT" ] && [ -x "$P" ] || { echo "findings_bench: run make first" >&2; exit 1; }
TMP=$(mktemp -d /tmp/weft-findings-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

declare -A want=(
	[inversion]="lock_order:cycle"
	[cycle3]="lock_order:cycle"
	[nested]=""
	[gate]=""
	[unlock_other]="misuse:unlock_not_held"
	[unlock_unlocked]="misuse:unlock_not_held"
	[destroy_held]="misuse:destroy_held"
	[exit_holding]="misuse:exit_holding"
	[main_exit_holding]="misuse:process_exit_holding"
	[cond_not_held]="misuse:cond_wait_not_held"
	[clean]=""
)
modes="inversion cycle3 nested gate unlock_other unlock_unlocked destroy_held exit_holding
	main_exit_holding cond_not_held clean"

echo "== findings over the C corpus ($P MODE, --stacks caller)"
printf '%-18s %-32s %-32s %3s %3s %3s\n' mode expected found TP FP FN
tp=0 fp=0 fn=0
for m in $modes; do
	"$WEFT" run -o "$TMP/$m.db" -- "$P" "$m" >/dev/null 2>&1
	# `weft report` computes the findings when finalize did not store them.
	found=$("$WEFT" report --json "$TMP/$m.db" | python3 -c '
import json, sys
print(" ".join(sorted(f["kind"] + ":" + (f.get("rule") or "") for f in json.load(sys.stdin).get("findings", []))))')
	read -r t f n < <(python3 -c '
import sys
from collections import Counter
w, g = Counter(sys.argv[1].split()), Counter(sys.argv[2].split())
print(sum((w & g).values()), sum((g - w).values()), sum((w - g).values()))' "${want[$m]}" "$found")
	tp=$((tp + t)) fp=$((fp + f)) fn=$((fn + n))
	printf '%-18s %-32s %-32s %3d %3d %3d\n' "$m" "${want[$m]:--}" "${found:--}" "$t" "$f" "$n"
done
awk -v tp=$tp -v fp=$fp -v fn=$fn 'BEGIN {
	printf "precision %.3f (%d of %d reported)   recall %.3f (%d of %d expected)\n",
		tp + fp ? tp / (tp + fp) : 1, tp, tp + fp, tp + fn ? tp / (tp + fn) : 1, tp, tp + fn }'

# Analysis cost: a report of a trace without findings computes them (one
# pass over the events) before the rest of the report.
for big in "$BUILD"/bench/view_1000000.db "$BUILD"/bench/view_10000000.db; do
	[ -f "$big" ] || continue
	ev=$(sqlite3 -readonly "$big" "SELECT count(*) FROM ev")
	has=$(sqlite3 -readonly "$big" "SELECT count(*) FROM sqlite_master WHERE name = 'findings'")
	start=$(date +%s.%N)
	"$WEFT" report "$big" >/dev/null
	end=$(date +%s.%N)
	awk -v ev="$ev" -v s="$start" -v e="$end" -v b="$(basename "$big")" -v has="$has" 'BEGIN {
		printf "weft report %s (%d events, findings %s): %.2f s\n", b, ev,
			has ? "stored" : "computed by the report", e - s }'
done
