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
derived_tables="thread_spans object_holds object_spans thread_summary object_summary point_events object_stats thread_life"
dump() {
	local t
	for t in $derived_tables; do
		echo "== $t"
		sqlite3 -readonly "$1" "SELECT * FROM $t" | sort
	done
	sqlite3 -readonly "$1" "SELECT key, value FROM derived_info WHERE key <> 'trace' ORDER BY key"
}

# first_open DB: weft view's open line (no terminal needed with --bench)
first_open() { timeout 120 "$WEFT" view --bench --frames 1 "$1" 2>&1 | grep '^open'; }

for prog in "sync_counts" "stress 4 20000" "deadlock"; do
	name=${prog%% *}
	rm -f "$name".db*
	# shellcheck disable=SC2086
	trun "$name.db" -- "$PROGS"/$prog
	[ "$name" = deadlock ] || expect_eq "$name: weft run status" "$rc" 0
	expect_eq "$name: weft run left the viewer's tables" "$(ls "$name".db* | tr '\n' ' ')" "$name.db $name.db-view "
	expect_eq "$name: 0600 like the trace" "$(stat -c %a "$name.db-view")" 600
	expect_match "$name: the first weft view attaches them (no derive)" "$(first_open "$name.db")" "^open \(checks, load, first frame\)"
	dump "$name.db-view" >"$WORK/run.dump"
	# The viewer's own build, from scratch, for comparison.
	rm "$name.db-view"
	expect_match "$name: without them weft view derives" "$(first_open "$name.db")" "^open \(checks, derive, load"
	dump "$name.db-view" >"$WORK/view.dump"
	expect_eq "$name: identical to the viewer's own build" \
		"$(diff "$WORK/run.dump" "$WORK/view.dump" >/dev/null && echo same || diff "$WORK/run.dump" "$WORK/view.dump" | head -5)" same
	expect_eq "$name: and not empty" "$(grep -vc '^==' "$WORK/run.dump" | awk '{print ($1 > 10)}')" 1
done

# A Python program on every interpreter's lanes is the same story: one run.
py=/usr/bin/python3.11
if [ -x "$py" ]; then
	rm -f py.db*
	trun py.db -- "$py" "$TESTS/py/sync_objects.py"
	expect_eq "python: weft run status" "$rc" 0
	expect_match "python: the first weft view attaches the tables" "$(first_open py.db)" "^open \(checks, load, first frame\)"
else
	skip "python: the first weft view attaches the tables" "no /usr/bin/python3.11"
fi

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
