# Live deadlock detection: weft notices a wait-for cycle while the program
# runs, records a deadlock finding with both threads, and stops the program
# unless --on-deadlock=wait.

start=$(date +%s)
timeout 60 "$WEFT" run -o d.db -- "$PROGS/deadlock" >/dev/null 2>"$WORK/err"
rc=$?
took=$(( $(date +%s) - start ))
expect_eq "deadlock: program stopped (SIGTERM status)" "$rc" 143
expect_eq "deadlock: noticed within seconds" "$([ $took -lt 30 ] && echo yes)" yes
expect_match "deadlock: one line names the cycle" "$(cat "$WORK/err")" "deadlock: thread [0-9]+ \(deadlock\) waits for lock_(a|b) held by thread [0-9]+"
expect_eq "deadlock: finding stored" "$(sql d.db "SELECT count(*) FROM findings WHERE kind='deadlock'")" 1
expect_eq "deadlock: both threads in it" "$(sql d.db "SELECT count(DISTINCT i.tid) FROM finding_items i JOIN findings f USING(finding_id) WHERE f.kind='deadlock'")" 2
expect_eq "deadlock: both locks in it" "$(sql d.db "SELECT group_concat(object_name) FROM (SELECT DISTINCT i.object_name FROM finding_items i JOIN findings f USING(finding_id) WHERE f.kind='deadlock' ORDER BY 1)")" "lock_a,lock_b"
expect_eq "deadlock: waits point at the code" "$(sql d.db "SELECT group_concat(function) FROM (SELECT DISTINCT i.function FROM finding_items i JOIN findings f USING(finding_id) WHERE f.kind='deadlock' ORDER BY 1)")" "first,second"
expect_eq "deadlock: the lock order is reported too" "$(sql d.db "SELECT count(*) FROM findings WHERE kind='lock_order'")" 1
expect_eq "deadlock: blocked threads have lock.wait events" "$(sql d.db "SELECT count(*) FROM events e LEFT JOIN events later ON later.tid = e.tid AND later.id > e.id AND later.kind = 'lock.acquire' WHERE e.kind='lock.wait' AND later.id IS NULL")" 2

timeout 60 "$WEFT" run --on-deadlock=wait --timeout 5 -o dw.db -- "$PROGS/deadlock" >/dev/null 2>"$WORK/err"
rc=$?
expect_eq "deadlock wait: runs until --timeout" "$rc" 143
expect_eq "deadlock wait: finding stored anyway" "$(sql dw.db "SELECT count(*) FROM findings WHERE kind='deadlock'")" 1

timeout 60 "$WEFT" run --fail-on deadlock -o df.db -- "$PROGS/deadlock" >/dev/null 2>&1
expect_eq "deadlock --fail-on: non-zero" "$([ $? -ne 0 ] && echo yes)" yes

# Debian's python3.11 (semaphore Locks) and 3.14/3.15 (PyMutex Locks, hooked on their type).
find_interpreters "deadlock: " 3.14 3.15
[ ${#interpreters[@]} -gt 0 ] || interpreters=("python3:$(command -v python3)")
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	timeout 60 "$WEFT" run -o "dp-$tag.db" -- "$py" "$TESTS/py/deadlock.py" >/dev/null 2>"$WORK/err"
	expect_eq "$tag deadlock: stopped" "$?" 143
	expect_eq "$tag deadlock: finding" "$(sql "dp-$tag.db" "SELECT count(*) FROM findings WHERE kind='deadlock'")" 1
	expect_eq "$tag deadlock: threads by name" "$(sql "dp-$tag.db" "SELECT group_concat(thread_name) FROM (SELECT DISTINCT i.thread_name FROM finding_items i JOIN findings f USING(finding_id) WHERE f.kind='deadlock' ORDER BY 1)")" "one,two"
	expect_eq "$tag deadlock: Python locks" "$(sql "dp-$tag.db" "SELECT group_concat(object_name) FROM (SELECT DISTINCT i.object_name FROM finding_items i JOIN findings f USING(finding_id) WHERE f.kind='deadlock' ORDER BY 1)")" "Lock deadlock.py:5,Lock deadlock.py:6"
	# The stopped program's time: it lived until weft stopped it, its two threads blocked to the end.
	expect_eq "$tag deadlock: the process ends when it was stopped" \
		"$(sql "dp-$tag.db" "SELECT count(*) FROM processes p JOIN events e ON e.pid = p.pid AND e.kind = 'process.exit' WHERE p.end_ns <> e.ts_ns")" 0
	expect_eq "$tag deadlock: blocked threads end with their process" \
		"$(sql "dp-$tag.db" "SELECT group_concat(t.name || ':' || (t.end_ns = p.end_ns)) FROM (SELECT * FROM threads WHERE name IN ('one', 'two') ORDER BY name) t JOIN processes p USING(pid)")" "one:1,two:1"
	expect_eq "$tag deadlock: report counts the open waits as lock time" \
		"$("$WEFT" report --json "dp-$tag.db" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(" ".join("%s:%d" % (t["name"], t["lock_wait_ns"] > 10 * t["running_ns"]) for p in d["processes"] for t in p["threads"] if t["name"] in ("one", "two")))')" "one:1 two:1"
	"$WEFT" view --bench --frames 1 "dp-$tag.db" >/dev/null 2>&1
	expect_eq "$tag deadlock: the viewer shows them blocked on their Locks to the end" \
		"$(sqlite3 -readonly "dp-$tag.db" "ATTACH 'dp-$tag.db-view' AS v; SELECT group_concat(x) FROM (SELECT s.state || '/' || (s.end_ns = t.end_ns) AS x FROM v.thread_spans s JOIN thr t USING(pid, tid) WHERE t.name IN ('one', 'two') AND s.end_ns = (SELECT max(end_ns) FROM v.thread_spans z WHERE z.tid = s.tid) ORDER BY t.name)")" "2/1,2/1"
done
