#!/usr/bin/env bash
# The heavy hardening runs that do not fit the CI budget: lossless recording
# of 4 threads x 5M lock/unlock pairs (40M events) on 2 cores, with the plain
# and the ASan tracer. Prints times and counts side by side; no thresholds.
# Needs ~5 GB free in $BENCH_DIR (default: a temporary directory).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PAIRS=${PAIRS:-5000000}
THREADS=${THREADS:-4}
dir=${BENCH_DIR:-$(mktemp -d /tmp/weft-hbench.XXXXXX)}
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$dir"' EXIT
pin=()
taskset -c 0,1 true 2>/dev/null && pin=(taskset -c 0,1)
want=$((THREADS * PAIRS))

t0=$(date +%s.%N)
"${pin[@]}" "$BUILD/tests/stress" "$THREADS" "$PAIRS" >/dev/null
t1=$(date +%s.%N)
printf '%-10s %8.1f s\n' untraced "$(echo "$t1 - $t0" | bc)"

for w in "$BUILD/bin/weft" "$BUILD/asan/bin/weft"; do
	[ -x "$w" ] || continue
	name=$([ "$w" = "$BUILD/bin/weft" ] && echo plain || echo asan)
	rm -f "$dir/h.db"
	t0=$(date +%s.%N)
	out=$(timeout 3600 "${pin[@]}" "$w" run -o "$dir/h.db" -- "$BUILD/tests/stress" "$THREADS" "$PAIRS" 2>"$dir/err")
	rc=$?
	t1=$(date +%s.%N)
	acq=$(sqlite3 "$dir/h.db" "SELECT count(*) FROM events WHERE kind='lock.acquire'" 2>&1)
	rel=$(sqlite3 "$dir/h.db" "SELECT count(*) FROM events WHERE kind='lock.release'" 2>&1)
	waits=$(sqlite3 "$dir/h.db" "SELECT sum(producer_waits) FROM threads" 2>&1)
	size=$(du -m "$dir/h.db" | cut -f1)
	verdict=$([ "$rc" = 0 ] && [ "$out" = "$want" ] && [ "$acq" = "$want" ] && [ "$rel" = "$want" ] && echo lossless || echo "LOST (rc $rc, want $want)")
	printf '%-10s %8.1f s  acquires %s releases %s  producer waits %s  trace %s MB  %s\n' \
		"$name" "$(echo "$t1 - $t0" | bc)" "$acq" "$rel" "$waits" "$size" "$verdict"
done
