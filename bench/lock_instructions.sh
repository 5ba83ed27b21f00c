#!/usr/bin/env bash
# Instructions a `with lock:` block costs under weft, counted by callgrind
# (reproducible where wall time on a shared machine is not): the program
# totals of bench/py/lock_loop.py at 20k and 100k blocks, traced and
# untraced, give per block the untraced cost and what weft adds.
# Usage: bench/lock_instructions.sh PYTHON...; PROGRAM=bench/py/queue_pc.py
# counts another program that takes its count as argv[1] (per item, then).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WEFT=$BUILD/bin/weft
PROGRAM=${PROGRAM:-bench/py/lock_loop.py}
export PYTHONHASHSEED=0 # the same dict layouts, so the same instructions, every run
TMP=$(mktemp -d /tmp/weft-lockinstr.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; }
# The instructions of one run of n blocks: traced (weft run in front) or not.
run() {
	local n=$1 out=$TMP/cg.$1.$2
	shift 2
	"$@" valgrind --tool=callgrind --callgrind-out-file="$out" "$PY" "$PROGRAM" "$n" >/dev/null 2>&1
	# The largest output is the interpreter's (weft run may leave none of its own).
	total "$(ls -S "$out"* | head -1)"
}
echo "== $PROGRAM: instructions per unit (20k against 100k units)"
printf '%-40s %14s %14s %8s\n' python "untraced/unit" "added/unit" share
for PY in "$@"; do
	u1=$(run 20000 u) u2=$(run 100000 u)
	t1=$(run 20000 t "$WEFT" run -o "$TMP/t.db" --) t2=$(run 100000 t "$WEFT" run -o "$TMP/t.db" --)
	awk -v py="$PY" -v u1="$u1" -v u2="$u2" -v t1="$t1" -v t2="$t2" 'BEGIN {
		u = (u2 - u1) / 80000; a = (t2 - t1) / 80000 - u
		printf "%-40s %14.0f %14.0f %7.2fx\n", py, u, a, a / u }'
done
