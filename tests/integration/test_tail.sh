# Time to a usable trace (issue #17): weft run leaves the viewer's derived
# tables in TRACE-view, built on its second core while it makes the
# findings, so the first weft view only attaches them. They must be
# exactly what the viewer builds itself; a signal during their build
# leaves a complete trace and no half-built file.

trun() {
	local out=$1
	shift
	timeout 300 "$WEFT" run -o "$out" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
}

# dump DB: every derived table, rows sorted (the order rows were inserted in is not part of them)
derived_tables="thread_spans object_holds object_long_holds object_spans thread_summary object_summary point_events object_stats thread_life thread_event_blocks"
dump() {
	local t
	for t in $derived_tables; do
		echo "== $t"
		derived_sql "$1" "SELECT * FROM $t" | sort
	done
	sqlite3 -readonly "$1" "SELECT key, value FROM derived_info WHERE key <> 'trace' ORDER BY key"
}

# first_open DB: weft view's open line (no terminal needed with --bench)
first_open() { timeout 120 "$WEFT" view --bench --frames 1 "$1" 2>&1 | grep '^open'; }

# same_as_viewer NAME LABEL: NAME.db-view, left by weft run, holds exactly
# the rows the viewer's own build from scratch makes.
same_as_viewer() {
	local name=$1 label=$2
	expect_eq "$label: 0600 like the trace" "$(stat -c %a "$name.db-view")" 600
	expect_match "$label: the first weft view attaches them (no derive)" "$(first_open "$name.db")" "^open \(checks, load, first frame\)"
	dump "$name.db-view" >"$WORK/run.dump"
	# The viewer's own build, from scratch, for comparison.
	rm "$name.db-view"
	expect_match "$label: without them weft view derives" "$(first_open "$name.db")" "^open \(checks, derive, load"
	dump "$name.db-view" >"$WORK/view.dump"
	expect_eq "$label: identical to the viewer's own build" \
		"$(diff "$WORK/run.dump" "$WORK/view.dump" >/dev/null && echo same || diff "$WORK/run.dump" "$WORK/view.dump" | head -5)" same
	expect_eq "$label: and not empty" "$(grep -vc '^==' "$WORK/run.dump" | awk '{print ($1 > 10)}')" 1
}

# streamed: how many events the viewer's tables read while the trace was written
streamed() { sed -n 's/.*(\([0-9]*\) of [0-9]* events while the trace was written.*/\1/p' "$WORK/stderr" | tail -1; }
# how many objects' occupancy followed the trace as it was written (WEFT_DEBUG=derive)
followed() { sed -n 's/.*(\([0-9]*\) objects followed while written.*/\1/p' "$WORK/stderr" | tail -1; }

for prog in "sync_counts" "stress 4 20000" "deadlock"; do
	name=${prog%% *}
	rm -f "$name".db*
	# shellcheck disable=SC2086
	trun "$name.db" -- "$PROGS"/$prog
	[ "$name" = deadlock ] || expect_eq "$name: weft run status" "$rc" 0
	expect_eq "$name: weft run left the viewer's tables" "$(ls "$name".db* | tr '\n' ' ')" "$name.db $name.db-view "
	same_as_viewer "$name" "$name"
done

# Following the writer closely (no lag): the tables are read while the
# program runs, and whatever the end changes (late rows sorted, exit
# statuses filled in, threads' rows) gives the same rows, read again if
# need be. WEFT_TEST_FOLLOW_OBJECTS follows every object's occupancy with
# no margin, so that intervals arrive late and objects are read again. WEFT_DEBUG=derive says how many events were read early.
# (stress runs long enough for the writer to commit many times; the other
# two end before the first commits, or make no event after them: all is
# read at the end, which must give the same rows as well.)
for prog in "stress 4 100000" "deadlock" "proc_tree"; do
	name=${prog%% *}-follow
	rm -f "$name".db*
	# shellcheck disable=SC2086
	WEFT_TEST_FOLLOW_LAG=0 WEFT_TEST_FOLLOW_OBJECTS=1 WEFT_DEBUG=derive trun "$name.db" -- "$PROGS"/$prog
	if [ "$name" = stress-follow ]; then
		expect_match "$name: the tables read events while the trace was written" "$(streamed)" "^[1-9][0-9]*$"
		expect_match "$name: objects' occupancy followed while the trace was written" "$(followed)" "^[1-9][0-9]*$"
	fi
	same_as_viewer "$name" "$name"
done

# A burst (the program ends long before the writer): the follower reads the
# rows from the writer's memory (store_mirror.h), not back through SQLite,
# and its tables are the same. 800,009 rows fit in the mirror (1M) and the
# writer waits for the follower once the program has ended, so some rows
# come from memory whatever the timing; every row comes from one or the other.
mirrored() { sed -n "s/.*rows from the writer's memory \([0-9]*\), from the table \([0-9]*\).*/\1 \2/p" "$WORK/stderr" | tail -1; }
if [ -x "$BUILD/bench/lockbench" ]; then
	rm -f burst.db*
	WEFT_DEBUG=derive trun burst.db -- "$BUILD/bench/lockbench" 200000
	expect_eq "burst: weft run status" "$rc" 0
	read -r from_memory from_table <<<"$(mirrored)"
	expect_match "burst: rows read from the writer's memory" "${from_memory:-none}" "^[1-9][0-9]*$"
	expect_eq "burst: every row read from memory or the table" \
		"$([ $((${from_memory:-0} + ${from_table:-0})) -ge 800009 ] && echo yes || echo "no: ${from_memory:-?} + ${from_table:-?}")" yes
	same_as_viewer burst "burst"
	# The same trace's tables without the mirror: the same rows.
	rm -f burst-table.db*
	WEFT_TEST_NO_MIRROR=1 WEFT_DEBUG=derive trun burst-table.db -- "$BUILD/bench/lockbench" 200000
	expect_eq "burst, no mirror: nothing read from memory" "$(mirrored | cut -d' ' -f1)" 0
	same_as_viewer burst-table "burst, no mirror"
else
	skip "burst: rows read from the writer's memory" "no $BUILD/bench/lockbench"
fi

# A Python program on every interpreter's lanes is the same story: one run.
py=/usr/bin/python3.11
if [ -x "$py" ]; then
	rm -f py.db*
	trun py.db -- "$py" "$TESTS/py/sync_objects.py"
	expect_eq "python: weft run status" "$rc" 0
	expect_match "python: the first weft view attaches the tables" "$(first_open py.db)" "^open \(checks, load, first frame\)"
	# Enough events for the writer to commit while it runs (every 32768).
	rm -f py-follow.db*
	WEFT_TEST_FOLLOW_LAG=0 WEFT_TEST_FOLLOW_OBJECTS=1 WEFT_DEBUG=derive trun py-follow.db -- "$py" "$ROOT/bench/py/queue_pc.py" 100000
	expect_match "python, following: the tables read events while the trace was written" "$(streamed)" "^[1-9][0-9]*$"
	expect_match "python, following: objects' occupancy followed" "$(followed)" "^[1-9][0-9]*$"
	same_as_viewer py-follow "python, following"
	# A thread's early wait on a Lock, then 200K holds: the holds are fed while written
	# (a Python thread's spans once stayed pending, the wait with them, until a thousand
	# piled up, and the Lock's occupancy could not be followed past it).
	rm -f py-turns.db*
	WEFT_TEST_FOLLOW_LAG=0 WEFT_DEBUG=derive trun py-turns.db -- "$py" "$TESTS/py/lock_turns.py" 200000
	expect_eq "python, an early wait: status and output" "$rc $(cat "$WORK/stdout" 2>/dev/null)" "0 ok"
	expect_eq "python, an early wait: a tenth or more of the Lock's holds fed while written" \
		"$(sed -n 's/.* objects followed while written, \([0-9]*\) of their \([0-9]*\) intervals then.*/\1 \2/p' "$WORK/stderr" | awk '{print ($1 * 10 > $2)}')" 1
	same_as_viewer py-turns "python, an early wait"
else
	skip "python: the first weft view attaches the tables" "no /usr/bin/python3.11"
fi

# ---- a weft killed while it ran leaves TRACE-view.tmpPID: the next weft run -o TRACE removes it ----
rm -f left.db*
sh -c 'exit 0' &
dead=$!
wait "$dead"
: >"left.db-view.tmp$dead"
: >"left.db-view.tmp$$" # a live weft's (this shell stands for one): kept
trun left.db -- "$PROGS/sync_counts"
expect_eq "a dead weft's TRACE-view.tmpPID: removed by the next run" "$(ls "left.db-view.tmp$dead" 2>/dev/null)" ""
expect_eq "a live weft's TRACE-view.tmpPID: kept" "$(ls "left.db-view.tmp$$" 2>/dev/null)" "left.db-view.tmp$$"
rm -f left.db*

# ---- a signal while the tables are built: the trace is complete, no view file ----
rm -f sig.db* "$WORK/perr"
WEFT_TEST_VIEW_PAUSE=1 "$WEFT" run -o sig.db -- "$PROGS/stress" 2 5000 >/dev/null 2>"$WORK/perr" &
wpid=$!
for _ in $(seq 600); do grep -q 'viewer tables paused' "$WORK/perr" 2>/dev/null && break; sleep 0.1; done
kill -INT $wpid
wait $wpid
rc=$?
expect_eq "SIGINT while the viewer's tables are built: the program's status" "$rc" 0
expect_eq "SIGINT while the viewer's tables are built: the trace is complete" \
	"$(sqlite3 -readonly sig.db "PRAGMA integrity_check; SELECT value FROM meta WHERE key = 'complete'" | tr '\n' ' ')" "ok 1 "
expect_eq "SIGINT while the viewer's tables are built: nothing beside the trace" "$(ls sig.db* | tr '\n' ' ')" "sig.db "
expect_eq "SIGINT while the viewer's tables are built: no sanitizer report" "$(grep -c -E 'Sanitizer|runtime error' "$WORK/perr")" 0
expect_match "SIGINT while the viewer's tables are built: weft view derives them" "$(first_open sig.db)" "^open \(checks, derive, load"
