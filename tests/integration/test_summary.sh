# The summary views (kind_counts, thread_counts, object_counts, contention;
# docs/SCHEMA.md) the writer keeps while it writes the events: exact against
# GROUP BY over `events` on real runs, complete and killed, and weft report
# reading them prints what its scan of the events prints.

srun() {
	local out=$1
	shift
	timeout 120 "$WEFT" run -o "$out" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
}

# same NAME DB A B: the two queries give the same rows (and some)
same() {
	local d
	d=$(sql "$2" "SELECT (SELECT count(*) FROM ($3 EXCEPT $4)) || ' ' || (SELECT count(*) FROM ($4 EXCEPT $3)) || ' ' || (SELECT count(*) > 0 FROM ($3))" 2>&1)
	expect_eq "$1" "$d" "0 0 1"
}

# check_views TAG DB COMPLETE: every summary view against the events
check_views() {
	local t=$1 db=$2
	same "$t: kind_counts" "$db" "SELECT * FROM kind_counts" \
		"SELECT kind, count(*), sum(wait_ns > 0), sum(max(wait_ns, 0)), max(max(wait_ns, 0)), min(ts_ns), max(ts_ns) FROM events GROUP BY kind"
	same "$t: thread_counts" "$db" \
		"SELECT pid, tid, kind, events, waited, wait_ns, max_wait_ns, first_ns, last_ns FROM thread_counts" \
		"SELECT pid, tid, kind, count(*), sum(wait_ns > 0), sum(max(wait_ns, 0)), max(max(wait_ns, 0)), min(ts_ns), max(ts_ns) FROM events GROUP BY pid, tid, kind"
	same "$t: object_counts" "$db" \
		"SELECT object_id, kind, events, waited, wait_ns, max_wait_ns, first_ns, last_ns FROM object_counts" \
		"SELECT object_id, kind, count(*), sum(wait_ns > 0), sum(max(wait_ns, 0)), max(max(wait_ns, 0)), min(ts_ns), max(ts_ns) FROM events WHERE object_id <> 0 GROUP BY object_id, kind"
	same "$t: contention" "$db" \
		"SELECT object_id, name, kind, pid, acquisitions, contended, failed, failed_wait_ns, total_wait_ns, coalesce(max_wait_ns, 0) FROM contention" \
		"SELECT e.object_id, o.name, o.kind, o.pid, sum(e.kind = 'lock.acquire'), sum(e.kind = 'lock.acquire' AND e.wait_ns > 0), sum(e.kind = 'lock.fail'), sum(CASE e.kind WHEN 'lock.fail' THEN max(e.wait_ns, 0) ELSE 0 END), sum(CASE e.kind WHEN 'lock.acquire' THEN max(e.wait_ns, 0) ELSE 0 END), coalesce(max(CASE e.kind WHEN 'lock.acquire' THEN max(e.wait_ns, 0) END), 0) FROM events e LEFT JOIN objects o USING(object_id) WHERE e.object_id <> 0 AND e.kind IN ('lock.acquire', 'lock.fail') GROUP BY e.object_id"
	if [ "$3" = complete ]; then
		# the p90 as weft report defines it, and the site of the first longest wait
		same "$t: contention p90 and site" "$db" \
			"SELECT object_id, p90_wait_ns, max_wait_stack_id FROM contention WHERE acquisitions > 0" \
			"SELECT a.object_id, a.w, b.stack_id FROM (SELECT object_id, max(wait_ns, 0) AS w, row_number() OVER (PARTITION BY object_id ORDER BY max(wait_ns, 0)) AS rn, count(*) OVER (PARTITION BY object_id) AS n FROM events WHERE kind = 'lock.acquire' AND object_id <> 0) a JOIN (SELECT object_id, stack_id, row_number() OVER (PARTITION BY object_id ORDER BY max(wait_ns, 0) DESC, id) AS rn FROM events WHERE kind = 'lock.acquire' AND object_id <> 0) b ON b.object_id = a.object_id AND b.rn = 1 WHERE a.rn = (9 * a.n + 9) / 10"
	else
		expect_eq "$t: no p90 before finalize" "$(sql "$db" "SELECT count(*) FROM contention WHERE p90_wait_ns IS NOT NULL")" 0
	fi
}

# report_same TAG DB: weft report from the summaries = from the scan (summaries emptied)
report_same() {
	cp "$2" "$WORK/scan.db"
	sqlite3 "$WORK/scan.db" "DELETE FROM sum_thread_kind"
	expect_eq "$1: report text from the summaries = from the events" \
		"$($WEFT report "$2" | tail -n +2)" "$($WEFT report "$WORK/scan.db" | tail -n +2)"
	expect_eq "$1: report json from the summaries = from the events" \
		"$($WEFT report "$2" --json | sed 's/"file": *"[^"]*"//')" \
		"$($WEFT report "$WORK/scan.db" --json | sed 's/"file": *"[^"]*"//')"
	rm -f "$WORK/scan.db"
}

srun s.db -- "$PROGS/sync_counts"
expect_eq "sync_counts: status" "$rc" 0
check_views sync_counts s.db complete
expect_eq "sync_counts: kind_counts as the test program counts" \
	"$(sql s.db "SELECT events FROM kind_counts WHERE kind = 'lock.acquire'")" \
	"$(sql s.db "SELECT count(*) FROM ev WHERE kind = 1")"
report_same sync_counts s.db

srun p.db -- "$PROGS/proc_tree"
expect_eq "proc_tree: status" "$rc" 0
expect_eq "proc_tree: several processes" "$(sql p.db "SELECT count(DISTINCT pid) > 3 FROM thread_counts")" 1
check_views proc_tree p.db complete
report_same proc_tree p.db

if [ -x /usr/bin/python3.11 ]; then
	srun py.db -- /usr/bin/python3.11 "$TESTS/py/lock_contention.py"
	expect_eq "python: status" "$rc" 0
	expect_eq "python: GIL counted" "$(sql py.db "SELECT events > 0 FROM kind_counts WHERE kind = 'gil.acquire'")" 1
	check_views python py.db complete
	report_same python py.db
else
	skip "python: summaries" "no /usr/bin/python3.11"
fi

# A trace whose weft was killed: the summaries hold what was committed with
# the events, and weft report scans (no p90s before finalize).
if [ -x "$BUILD/bench/lockbench" ]; then
	rm -f k.db*
	# Paced (4M pairs over 60 s): at full speed the program takes both
	# cores and the writer, which only takes idle CPU, commits nothing
	# until the program ends, which on a loaded machine is later than any
	# wait here.
	"$WEFT_PLAIN" run -o k.db -- "$BUILD/bench/lockbench" 2000000 60 >/dev/null 2>"$WORK/k.stderr" &
	wpid=$!
	for _ in $(seq 600); do
		[ "$(sqlite3 -readonly k.db "SELECT count(*) > 100000 FROM ev" 2>/dev/null)" = 1 ] && break
		kill -0 $wpid 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $wpid 2>/dev/null; then
		kill -KILL $wpid
		wait $wpid 2>/dev/null
		pass "kill -9: weft was running"
	else
		wait $wpid
		fail "kill -9: weft was running" "it ended first (status $?): $(head -c 400 "$WORK/k.stderr")"
	fi
	prog=$(sql k.db "SELECT pid FROM thread_no LIMIT 1")
	[ -n "$prog" ] && kill -KILL "$prog" 2>/dev/null
	expect_eq "kill -9: not complete" "$(sql k.db "SELECT count(*) FROM meta WHERE key = 'complete'")" 0
	check_views kill9 k.db killed
	expect_match "kill -9: report reads it" "$($WEFT report k.db 2>&1)" "trace incomplete"
else
	skip "kill -9: summaries" "no lockbench"
fi

# Older traces are refused with a reason.
cp s.db v2.db
sqlite3 v2.db "PRAGMA user_version = 2"
out=$($WEFT report v2.db 2>&1)
expect_eq "schema 2: refused" "$?:$out" "1:weft: v2.db: trace schema version 2 is older than this weft reads (3): no summary tables (kind_counts, contention, ...); record it again, or read it with the weft that wrote it"
