#!/usr/bin/env bash
# Python overhead, side by side in one run: untraced, under weft (default
# caller stacks), and under python3 -m cProfile as a familiar reference.
# Ratios are wall-time medians of WEFT_BENCH_REPS runs (default 3).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WEFT=$BUILD/bin/weft
REPS=${WEFT_BENCH_REPS:-3}
# Every supported CPython found, as the tests find them (tests/lib.sh):
# Debian's 3.11, pyenv's 3.10-3.13, Debian sid's 3.14 and 3.15 from
# scripts/pythons.sh; the interpreters themselves, never a pyenv shim (a bash
# script whose start-up, hundreds of ms of processes, would swamp the ratios).
# WEFT_BENCH_PYTHONS (paths separated by spaces) or WEFT_BENCH_PYTHON (one,
# which bench/races_bench.sh uses too): only those interpreters.
SID_PYTHONS=${SID_PYTHONS:-/opt/weft-pythons/sid}
PYROOT=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
PYTHONS=()
if [ -n "${WEFT_BENCH_PYTHONS:-${WEFT_BENCH_PYTHON:-}}" ]; then
	read -r -a PYTHONS <<<"${WEFT_BENCH_PYTHONS:-$WEFT_BENCH_PYTHON}"
else
	for v in 3.10 3.11 3.12 3.13 3.14 3.15; do
		[ -x /usr/bin/python$v ] && PYTHONS+=(/usr/bin/python$v)
		for exe in $(ls -d "$PYROOT"/versions/$v.*/bin/python$v 2>/dev/null | sort -V); do
			PYTHONS+=("$exe")
		done
		[ -x "$SID_PYTHONS/bin/python$v" ] && PYTHONS+=("$SID_PYTHONS/bin/python$v")
	done
fi
# The row's label: version and where the interpreter comes from.
label() {
	local v
	v=$("$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) || v=?
	case "$1" in
	/usr/bin/*) echo "$v debian" ;;
	"$PYROOT"/*) echo "$v pyenv" ;;
	"$SID_PYTHONS"/*) echo "$v sid" ;;
	*) echo "$v" ;;
	esac
}
TMP=$(mktemp -d /tmp/weft-pybench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

wall() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The program's own run, without interpreter start-up: runpy inside a timer,
# with the program's own argv (queue_pc.py reads a count from argv[1]); its
# wall time, then the CPU time of the program's threads, recording included,
# which the scheduling of two threads and the GIL's hand-offs move less.
INNER='import runpy, sys, time
sys.argv = sys.argv[1:]
t, c = time.perf_counter(), time.process_time()
runpy.run_path(sys.argv[0], run_name="__main__")
t, c = time.perf_counter() - t, time.process_time() - c
sys.stderr.write("inner %.3f %.3f\n" % (t * 1000, c * 1000))'
inner() { "$@" -c "$INNER" "$f" 2>&1 >/dev/null | sed -n 's/^inner //p'; }

PAIRS=${WEFT_BENCH_PY_PAIRS:-11}
PROGRAMS=(cpu_threads with_lock with_rlock queue_pc)
# In-program time first, untraced and traced runs alternating so drift hits
# both; and in rounds that take every interpreter in turn, so that drift over
# the minutes one program's rows take hits every interpreter alike: measured
# one interpreter after the other, 3.13's and 3.14's with_lock rows moved
# 0.3-0.5x apart in three runs while their added milliseconds, measured in
# alternation, were 43.6 and 42.0. More pairs than REPS: single pairs of one
# interpreter ranged from 1.03x to 1.92x here.
for prog in "${PROGRAMS[@]}"; do
	f=bench/py/$prog.py
	for i in "${!PYTHONS[@]}"; do : >"$TMP/iu.$prog.$i"; : >"$TMP/it.$prog.$i"; done
	for _ in $(seq "$PAIRS"); do
		for i in "${!PYTHONS[@]}"; do
			inner "${PYTHONS[$i]}" >>"$TMP/iu.$prog.$i"
			inner "$WEFT" run -o "$TMP/i.db" -- "${PYTHONS[$i]}" >>"$TMP/it.$prog.$i"
		done
	done
done

echo "== Python overhead (wall time, median of $REPS; in-program: of $PAIRS pairs, every interpreter in turn; rows of one program are side by side by version)"
printf '%-12s %-14s %12s %12s %8s %14s %8s %12s %8s %8s %8s %8s %12s %8s\n' program python "untraced ms" "weft ms" ratio "recording ms" ratio "in-program" ratio paired "cpu" "added" "cProfile ms" ratio
for prog in "${PROGRAMS[@]}"; do
	f=bench/py/$prog.py
	for i in "${!PYTHONS[@]}"; do
		PY=${PYTHONS[$i]}
		base=$(for _ in $(seq "$REPS"); do wall "$PY" "$f"; done | median)
		traced=$(for _ in $(seq "$REPS"); do wall "$WEFT" run -o "$TMP/t.db" -- "$PY" "$f"; done | median)
		# The program's own lifetime under weft (trace start to last event), without finalizing.
		rec=$(for _ in $(seq "$REPS"); do "$WEFT" run -o "$TMP/r.db" -- "$PY" "$f" >/dev/null 2>&1
			"$WEFT" query "$TMP/r.db" "SELECT value/1000 FROM meta WHERE key='end_ns'" --csv | tail -1; done | median)
		iu=$(cut -d' ' -f1 "$TMP/iu.$prog.$i" | median); it=$(cut -d' ' -f1 "$TMP/it.$prog.$i" | median)
		# Each traced run against the untraced run just before it: on a shared
		# machine the load drifts within a run, and a pair sees the same load.
		pr=$(paste -d' ' "$TMP/iu.$prog.$i" "$TMP/it.$prog.$i" | awk '$1 > 0 { print $3 / $1 }' | median)
		pc=$(paste -d' ' "$TMP/iu.$prog.$i" "$TMP/it.$prog.$i" | awk '$2 > 0 { print $4 / $2 }' | median)
		# The milliseconds weft adds, the mean over all pairs of traced less
		# untraced: what the interpreters can be compared by, since the same
		# added time is a larger ratio on a faster interpreter.
		ad=$(paste -d' ' "$TMP/iu.$prog.$i" "$TMP/it.$prog.$i" | awk '{ u += $1; t += $3 } END { if (NR) printf "%.1f", (t - u) / NR; else print 0 }')
		prof=$(for _ in $(seq "$REPS"); do wall "$PY" -m cProfile -o "$TMP/p.out" "$f"; done | median)
		awk -v p="$prog" -v py="$(label "$PY")" -v b="$base" -v t="$traced" -v r="$rec" -v c="$prof" -v iu="$iu" -v it="$it" -v pr="${pr:-0}" -v pc="${pc:-0}" -v ad="$ad" 'BEGIN {
			printf "%-12s %-14s %12.1f %12.1f %7.2fx %14.1f %7.2fx %5.0f/%-6.0f %7.2fx %7.2fx %7.2fx %5.1fms %12.1f %7.2fx\n", p, py, b/1000, t/1000, t/b, r/1000, r/b, iu, it, it/iu, pr, pc, ad, c/1000, c/b }'
	done
done
echo "(weft ms: the whole weft run, including finalizing the trace; recording ms: the traced"
echo " program's lifetime from the trace's start to its last event, interpreter start-up included;"
echo " in-program: untraced/traced ms of the program's own run (runpy under a timer), no start-up;"
echo " paired: the median of each traced in-program run over the untraced run just before it;"
echo " cpu: the same as paired of the program's CPU time (time.process_time);"
echo " added: the mean in-program milliseconds weft adds, over all pairs;"
echo " ratios compare within one kind of build: pyenv's are built without PGO/LTO, Debian's with,"
echo " and a faster interpreter shows the same added time as a larger ratio)"

# The same work in one thread, counted in instructions by callgrind: what
# weft adds per unit, reproducible where the wall-time rows above move by
# 0.2-0.3x between runs of two threads on a shared machine.
# WEFT_BENCH_PY_INSTR=0 leaves it out (about two minutes per interpreter).
if [ "${WEFT_BENCH_PY_INSTR:-1}" != 0 ] && command -v valgrind >/dev/null; then
	for prog in lock_loop cond_loop queue_loop simplequeue_loop; do
		echo
		PROGRAM=bench/py/$prog.py bash bench/lock_instructions.sh "${PYTHONS[@]}"
	done
	echo "(share: instructions weft adds per unit over the untraced run's; 1 + share is the"
	echo " overhead ratio in instructions: lock_loop is with_lock's work, cond_loop with_rlock's,"
	echo " queue_loop queue_pc's, simplequeue_loop a pool's work queue, each in one thread)"
fi
