# A debugger under weft: gdb reaps its inferior's threads with
# waitpid(-1, ..., __WALL), and sees ptrace stops (WIFSTOPPED) through the
# same call. Neither makes a process: the processes table holds exactly the
# processes that existed. Sourced by tests/run.sh.

if ! command -v gdb >/dev/null; then
	skip debugger:gdb "gdb is not installed"
	return 0
fi

# 8 threads, 4 at a time; startup-with-shell off: gdb starts the program itself, no shell in between.
gdb_args=(gdb -batch -nx -ex 'set startup-with-shell off' -ex run -ex bt --args "$PROGS/hard_threads" 8 4 0)
"${gdb_args[@]}" >plain.txt 2>&1
plain_rc=$?
timeout 120 "$WEFT" run -o g.db -- "${gdb_args[@]}" >traced.txt 2>"$WORK/stderr"
expect_eq "gdb: same exit status as untraced" "$?" "$plain_rc"
expect_eq "gdb: the program ran under gdb" "$(grep -c 'ran 8' traced.txt)" 1

gdb_pid=$(sql g.db "SELECT pid FROM processes WHERE argv LIKE 'gdb %' AND ppid NOT IN (SELECT pid FROM processes)")
inf=$(sql g.db "SELECT pid FROM processes WHERE argv LIKE '%/hard_threads 8 4 0' AND argv NOT LIKE 'gdb %'")
expect_match "gdb: one gdb at the root" "$gdb_pid" '^[0-9]+$'
expect_match "gdb: one inferior" "$inf" '^[0-9]+$'
expect_eq "gdb: the inferior's threads: main and 8" "$(sql g.db "SELECT count(*) FROM threads WHERE pid = $inf")" 9
expect_eq "gdb: the inferior exited 0" "$(sql g.db "SELECT exit_code FROM processes WHERE pid = $inf")" 0
# Every process but gdb was made by a recorded fork or spawn of its parent; no thread id is a process.
expect_eq "gdb: processes = gdb + the children forks and spawns made" \
	"$(sql g.db "SELECT count(*) FROM processes")" \
	"$(sql g.db "SELECT 1 + count(DISTINCT arg) FROM events WHERE kind IN ('process.fork', 'process.spawn') AND arg > 0")"
expect_eq "gdb: no process without a recorded parent" \
	"$(sql g.db "SELECT count(*) FROM processes p WHERE pid <> $gdb_pid AND NOT EXISTS (SELECT 1 FROM events e WHERE e.kind IN ('process.fork', 'process.spawn') AND e.arg = p.pid AND e.pid = p.ppid)")" 0
expect_eq "gdb: no thread of the inferior is a process" \
	"$(sql g.db "SELECT count(*) FROM processes WHERE pid IN (SELECT tid FROM threads WHERE pid = $inf AND tid <> pid)")" 0
# gdb reaped the threads (their exits reached its waitpid), so the case was exercised.
expect_eq "gdb: reaps of the inferior's threads recorded as events" \
	"$(sql g.db "SELECT count(*) > 0 FROM events WHERE kind = 'process.reap' AND pid = $gdb_pid AND arg IN (SELECT tid FROM threads WHERE pid = $inf AND tid <> pid)")" 1
