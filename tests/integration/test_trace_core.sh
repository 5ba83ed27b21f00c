# Trace core: exact counts of every recorded operation, the process tree,
# crashes, exit statuses, signals, timeouts and output safety.
# Sourced by tests/run.sh with $WEFT, $PROGS, $WORK set.

# wrun OUT ARGS...: runs weft run with a time limit, sets $rc.
wrun() {
	local out=$1
	shift
	timeout 120 "$WEFT" run -o "$out" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
}

# ---- exact counts of every synchronization operation ----
wrun s.db -- "$PROGS/sync_counts"
expect_eq "sync: exit status" "$rc" 0
expect_eq "sync: program output untouched" "$(cat "$WORK/stdout")" "counter=4000 spun=400 table=1000"
q() { sql s.db "$1"; }
# The vocabulary (preload/kinds.h, seeded into every trace) and docs/SCHEMA.md agree.
undocumented=$(q "SELECT name FROM event_kind UNION ALL SELECT name FROM object_kind" |
	while read -r name; do grep -qF "\`$name\`" "$ROOT/docs/SCHEMA.md" || echo "$name"; done | tr '\n' ' ')
expect_eq "vocabulary: every event and object kind is in docs/SCHEMA.md" "$undocumented" ""
# The finding kinds (STORE_FINDING_KINDS, which --fail-on's completion lists) each have rows
# in docs/FINDINGS.md's table of kinds and rules.
fkinds=$(bash -c 'source "$0"; COMP_WORDS=(weft run --fail-on ""); COMP_CWORD=3; _weft; echo "${COMPREPLY[*]}"' \
	"$BUILD/completion/weft")
expect_eq "vocabulary: the finding kinds --fail-on offers" "$fkinds" "race lock_order deadlock misuse all"
undocumented=$(for k in $fkinds; do
	[ "$k" = all ] || grep -qE "^\| \`$k\` \| \`" "$ROOT/docs/FINDINGS.md" || echo "$k"; done | tr '\n' ' ')
expect_eq "vocabulary: every finding kind has rules in docs/FINDINGS.md" "$undocumented" ""
expect_eq "vocabulary: the trace names 32 event kinds and 14 object kinds" \
	"$(q "SELECT (SELECT count(*) FROM event_kind) || ' ' || (SELECT count(*) FROM object_kind)")" "32 14"
count() { q "SELECT count(*) FROM events e LEFT JOIN objects o USING(object_id) WHERE $1"; }
expect_eq "sync: mutex acquires" "$(count "e.kind='lock.acquire' AND o.name='shared_mu'")" 4000
expect_eq "sync: mutex releases" "$(count "e.kind='lock.release' AND o.name='shared_mu'")" 4000
expect_eq "sync: rwlock read acquires" "$(count "e.kind='lock.acquire' AND o.name='table_rw' AND e.arg=0")" 2000
expect_eq "sync: rwlock write acquires" "$(count "e.kind='lock.acquire' AND o.name='table_rw' AND e.arg=1")" 1000
expect_eq "sync: rwlock releases" "$(count "e.kind='lock.release' AND o.name='table_rw'")" 3000
expect_eq "sync: rwlock kind" "$(q "SELECT kind FROM objects WHERE name='table_rw'")" rwlock
expect_eq "sync: spin acquires" "$(count "e.kind='lock.acquire' AND o.name='spin' AND o.kind='spinlock'")" 400
expect_eq "sync: spin releases" "$(count "e.kind='lock.release' AND o.name='spin'")" 400
expect_eq "sync: failed trylocks (EBUSY)" "$(count "e.kind='lock.fail' AND o.name='busy_mu' AND e.arg=16")" 800
expect_eq "sync: semaphore waits" "$(count "e.kind='lock.acquire' AND o.name='items' AND o.kind='semaphore'")" 1200
expect_eq "sync: semaphore posts" "$(count "e.kind='lock.release' AND o.name='items'")" 1200
expect_eq "sync: barrier waits" "$(count "e.kind='barrier.wait' AND o.name='step_barrier'")" 40
expect_eq "sync: barrier serial threads" "$(count "e.kind='barrier.wait' AND e.arg=1")" 10
expect_eq "sync: cond signals" "$(count "e.kind='cond.signal' AND o.name='ping_cv' AND o.kind='cond'")" 100
waits=$(count "e.kind='cond.wait' AND o.name='ping_cv'")
expect_eq "sync: cond wait releases its mutex" "$(count "e.kind='lock.release' AND o.name='ping_mu' AND e.arg=2")" "$waits"
expect_eq "sync: cond wait re-acquires its mutex" "$(count "e.kind='lock.acquire' AND o.name='ping_mu' AND e.arg=2")" "$waits"
expect_eq "sync: explicit ping_mu acquires" "$(count "e.kind='lock.acquire' AND o.name='ping_mu' AND e.arg=0")" 100
expect_eq "sync: thread creates" "$(count "e.kind='thread.create' AND e.arg > 0")" 6
expect_eq "sync: thread starts" "$(count "e.kind='thread.start'")" 6
expect_eq "sync: thread exits" "$(count "e.kind='thread.exit'")" 6
expect_eq "sync: joins name the joined tid" "$(q "SELECT count(*) FROM events j JOIN events c ON c.kind='thread.create' AND c.arg=j.arg WHERE j.kind='thread.join'")" 6
expect_eq "sync: threads table" "$(q "SELECT count(*) FROM threads")" 7
expect_eq "sync: thread names" "$(q "SELECT group_concat(name) FROM (SELECT name FROM threads WHERE name IN ('ping','pong') ORDER BY name)")" "ping,pong"
expect_eq "sync: destroys" "$(count "e.kind='object.destroy'")" 3
expect_eq "sync: process exit recorded" "$(count "e.kind='process.exit' AND e.arg=0")" 1
expect_eq "sync: every event has a caller stack" "$(count "e.stack_id = 0 AND e.kind LIKE 'lock.%'")" 0
expect_eq "sync: call site symbolized" "$(q "SELECT f.function || ':' || replace(f.file, rtrim(f.file, replace(f.file, '/', '')), '') FROM events e JOIN objects o USING(object_id) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE o.name='shared_mu' GROUP BY 1")" "worker:sync_counts.c"
expect_eq "sync: holds never overlap" "$(q "SELECT count(*) FROM events a JOIN events b ON a.object_id=b.object_id AND a.id<>b.id AND a.kind='lock.acquire' AND b.kind='lock.acquire' JOIN objects o ON o.object_id=a.object_id WHERE o.name='shared_mu' AND a.ts_ns=b.ts_ns AND a.tid=b.tid")" 0
expect_eq "sync: wait_ns never negative" "$(q "SELECT count(*) FROM events WHERE wait_ns < 0")" 0
expect_eq "sync: meta complete" "$(q "SELECT value FROM meta WHERE key='complete'")" 1
expect_eq "sync: schema version" "$(q "PRAGMA user_version")" 3
# finalize rewrote the events in time order, each thread's in program order
expect_eq "sync: id order is time order" \
	"$(q "SELECT count(*) FROM ev a JOIN ev b ON b.id = a.id + 1 WHERE b.ts < a.ts")" 0
expect_eq "sync: no derived tables in the trace" \
	"$(q "SELECT count(*) FROM sqlite_master WHERE name IN ('thread_spans', 'derived_info')")" 0
expect_eq "sync: trace mode 0600" "$(stat -c %a s.db)" 600
expect_eq "sync: no WAL left behind" "$(ls s.db-wal s.db-shm 2>/dev/null | wc -l)" 0

# ---- a lock remade at its address: late uses belong to the new one ----
# tests/c/reinit_use: thread A destroys and re-inits a mutex, thread B (its
# ring drained first) uses it microseconds later, 200 times. B's use mostly
# reaches the writer before A's destroy: it still belongs to the new mutex.
# Moved while the store holds it, or, with WEFT_TEST_LATE_AT_END, in ev at
# the end: the same trace either way. "burst": no pause between the remakes,
# so one destroyed mutex gets a hundred late uses (more successors than the
# writer looks at in one go; what a collector slowed by valgrind saw).
for mode in held end "held burst" "end burst"; do
	pause=()
	case $mode in *burst) pause=(0) ;; esac
	case $mode in
	held*) WEFT_DEBUG=finalize wrun r.db -- "$PROGS/reinit_use" 200 "${pause[@]}" ;;
	*) WEFT_TEST_LATE_AT_END=1 WEFT_DEBUG=finalize wrun r.db -- "$PROGS/reinit_use" 200 "${pause[@]}" ;;
	esac
	expect_eq "reinit ($mode): exit status" "$rc" 0
	expect_sql "reinit ($mode): no lock event after its object's destruction" r.db \
		"SELECT count(*) FROM ev e JOIN event_kind k ON k.kind = e.kind WHERE k.name IN
		 ('lock.acquire', 'lock.release') AND EXISTS (SELECT 1 FROM ev d JOIN event_kind dk
		 ON dk.kind = d.kind WHERE dk.name = 'object.destroy' AND d.obj = e.obj AND d.ts < e.ts)" 0
	# the first mutex: A's lock; each remade one: B's use, then A's next lock; the last: B's
	expect_sql "reinit ($mode): each mutex has its own acquires" r.db \
		"SELECT group_concat(n || 'x' || c, ' ') FROM (SELECT n, count(*) c FROM (SELECT count(*) n
		 FROM events e JOIN objects o USING(object_id) WHERE o.name = 'm' AND
		 e.kind = 'lock.acquire' GROUP BY object_id) GROUP BY n ORDER BY n)" "1x2 2x199"
	expect_sql "reinit ($mode): per-object summaries match the events" r.db \
		"SELECT count(*) FROM (SELECT obj, kind, count(*) n, min(ts) f, max(ts) l FROM ev
		 WHERE obj <> 0 GROUP BY obj, kind) e FULL JOIN sum_object_kind s USING(obj, kind)
		 WHERE e.n IS NOT s.events OR e.f IS NOT s.first_ts OR e.l IS NOT s.last_ts" 0
	case $mode in
	held*) expect_match "reinit ($mode): late uses moved while held" "$(cat "$WORK/stderr")" \
		'used after their destruction: [1-9][0-9]* moves while held' ;;
	*) expect_match "reinit ($mode): late uses moved at the end" "$(cat "$WORK/stderr")" \
		'0 moves while held, [1-9][0-9]* objects. events left to move now' ;;
	esac
done

# ---- stack modes ----
wrun none.db --stacks none -- "$PROGS/sync_counts"
expect_eq "stacks none: no stacks" "$(sql none.db "SELECT count(*) FROM events WHERE stack_id <> 0")" 0
expect_eq "stacks none: same counts" "$(sql none.db "SELECT count(*) FROM events WHERE kind='lock.acquire' AND arg < 2")" "$(sql s.db "SELECT count(*) FROM events WHERE kind='lock.acquire' AND arg < 2")"
wrun full.db --stacks full -- "$PROGS/sync_counts"
expect_eq "stacks full: exit" "$rc" 0
expect_eq "stacks full: worker stacks exist" "$(sql full.db "SELECT count(*) > 0 FROM stack_frames WHERE depth=0 AND function='worker'")" 1
expect_eq "stacks full: worker is called by start_thread (no weft frames)" "$(sql full.db "SELECT count(*) FROM stack_frames f0 JOIN stack_frames f1 ON f1.stack_id=f0.stack_id AND f1.depth=1 WHERE f0.depth=0 AND f0.function='worker' AND f1.function<>'start_thread'")" 0
expect_eq "stacks full: no frames inside weft" "$(sql full.db "SELECT count(*) FROM stack_frames WHERE module LIKE '%libweft.so'")" 0
expect_eq "stacks full: main's stack reaches __libc_start_call_main" "$(sql full.db "SELECT count(DISTINCT f.stack_id) > 0 FROM stack_frames f WHERE f.function='__libc_start_call_main'")" 1
expect_eq "stacks full: meta" "$(sql full.db "SELECT value FROM meta WHERE key='stacks'")" full

# ---- the process tree ----
wrun p.db -- "$PROGS/proc_tree"
expect_eq "tree: exit status" "$rc" 0
expect_eq "tree: 11 processes" "$(sql p.db "SELECT count(*) FROM processes")" 11
root=$(sql p.db "SELECT pid FROM processes WHERE ppid NOT IN (SELECT pid FROM processes)")
expect_eq "tree: fork children" "$(sql p.db "SELECT count(*) FROM events WHERE kind='process.fork' AND pid=$root")" 3
expect_eq "tree: child exit 7" "$(sql p.db "SELECT count(*) FROM processes WHERE ppid=$root AND exit_code=7")" 1
expect_eq "tree: child killed by SIGKILL" "$(sql p.db "SELECT count(*) FROM processes WHERE ppid=$root AND exit_signal=9")" 1
expect_eq "tree: leaves (scrubbed env, posix_spawn, system, system and popen after clearenv) traced" "$(sql p.db "SELECT count(*) FROM processes WHERE argv LIKE '%proc_tree leaf' AND exit_code=5")" 5
expect_eq "tree: each leaf's locks" "$(sql p.db "SELECT group_concat(n) FROM (SELECT count(*) n FROM events e JOIN processes p USING(pid) WHERE p.argv LIKE '%proc_tree leaf' AND e.kind='lock.acquire' GROUP BY pid)")" "10,10,10,10,10"
expect_eq "tree: exec recorded" "$(sql p.db "SELECT count(*) FROM events WHERE kind='process.exec' AND arg=0")" 4
expect_eq "tree: posix_spawn, system and popen child pids" "$(sql p.db "SELECT count(*) FROM events e JOIN processes c ON c.pid=e.arg WHERE e.kind='process.spawn' AND e.pid=$root")" 4
expect_eq "tree: system() and popen() shells" "$(sql p.db "SELECT count(*) FROM processes WHERE argv LIKE 'sh -c %' AND ppid=$root")" 3
expect_eq "tree: every process ends after it starts" "$(sql p.db "SELECT count(*) FROM processes WHERE end_ns < start_ns")" 0
# A PATH search (dash's, as subprocess's) tries each directory with an
# execve: a miss is one row, its errno (ENOENT, ENOTDIR), then the exec that
# replaced the image; an exec that failed otherwise has both its rows.
printf 'echo\n' >"$WORK/notexec"
chmod -x "$WORK/notexec"
PATH=/nonexistent/a:/etc/passwd:/usr/bin:/bin wrun x.db -- /bin/sh -c 'exec sleep 0'
expect_eq "exec: a PATH search's misses, then the exec" "$(sql x.db "SELECT group_concat(arg) FROM (SELECT arg FROM events WHERE kind='process.exec' ORDER BY id)")" "2,20,0"
expect_eq "exec: the program that ran" "$(sql x.db "SELECT argv FROM processes")" "sleep 0"
wrun x2.db -- /bin/sh -c "exec $WORK/notexec"
expect_eq "exec: not executable, sh's status" "$rc" 126
expect_eq "exec: not executable, the call and its failure" "$(sql x2.db "SELECT group_concat(arg) FROM (SELECT arg FROM events WHERE kind='process.exec' ORDER BY id)")" "0,13"
# A thread's exit comes after its destructors' first round (its records in
# the thread's own ring); a destructor of the second round runs after weft's
# recorded the exit: its records (in another ring) come after the exit, and
# the thread's own before it. Held to the thread's latest time, 2-7 of the 8
# threads had their order turned round (the first ring's tail drained after
# the second ring).
# Under valgrind the writer is 20-50 times slower: fewer pairs, within wrun's timeout.
xd_pairs=200000
[ -n "${WEFT_VALGRIND:-}" ] && xd_pairs=20000
wrun xd.db -- "$PROGS/exit_destructors" "$xd_pairs"
expect_eq "exit destructors: status" "$rc:$(cat "$WORK/stdout")" "0:8 threads, 1 cancelled"
expect_eq "exit destructors: the first round before each thread's exit, the second after it (a cancelled thread's too)" "$(sql xd.db "SELECT count(*) FILTER (WHERE before = 'cleanup_mu cleanup_mu' AND after = 'late_mu late_mu' AND own_before IN (0, 2 * $xd_pairs)) || '/' || count(*) || '/' || count(*) FILTER (WHERE own_before = 0) FROM (SELECT t.tid,
	(SELECT group_concat(name, ' ') FROM (SELECT o.name FROM events e JOIN objects o USING(object_id) WHERE e.tid = t.tid AND e.id < x.id AND o.name NOT GLOB 'work_mu*' AND e.kind IN ('lock.acquire', 'lock.release') ORDER BY e.id)) AS before,
	(SELECT group_concat(coalesce(name, kind), ' ') FROM (SELECT o.name, e.kind FROM events e LEFT JOIN objects o USING(object_id) WHERE e.tid = t.tid AND e.id > x.id AND e.kind <> 'lock.wait' ORDER BY e.id)) AS after,
	(SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE e.tid = t.tid AND e.id < x.id AND o.name GLOB 'work_mu*') AS own_before
	FROM threads t JOIN events x ON x.tid = t.tid AND x.kind = 'thread.exit' WHERE t.tid <> t.pid)")" "9/9/1"
# C++: names demangled, and a lock taken in code inlined from the C++
# library's headers (std::lock_guard, std::shared_lock) is placed at the
# program's line, in the function whose code it is (a method, a lambda).
wrun cxx.db -- "$PROGS/cxx_names"
expect_eq "c++ names: output" "$rc:$(cat "$WORK/stdout")" "0:19800"
expect_eq "c++ names: objects demangled" "$(sql cxx.db "SELECT group_concat(name, ' ') FROM (SELECT name FROM objects WHERE kind IN ('mutex', 'rwlock') ORDER BY name)")" "app::Cache::table_lock app::counter_lock"
expect_eq "c++ names: the program's line and function, not the header's" "$(sql cxx.db "SELECT group_concat(x, ' ') FROM (SELECT DISTINCT e.kind || '@' || f.function || ':' || f.line AS x FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind LIKE 'lock.%' ORDER BY x)")" \
	"lock.acquire@app::Cache::get(int):$(grep -n 'std::shared_lock' "$ROOT/tests/c/cxx_names.cpp" | cut -d: -f1) lock.acquire@main::{lambda}::operator():$(grep -n 'std::lock_guard' "$ROOT/tests/c/cxx_names.cpp" | cut -d: -f1) lock.release@app::Cache::get(int):$(($(grep -n 'std::shared_lock' "$ROOT/tests/c/cxx_names.cpp" | cut -d: -f1) + 2)) lock.release@main::{lambda}::operator():$(($(grep -n 'std::lock_guard' "$ROOT/tests/c/cxx_names.cpp" | cut -d: -f1) + 2))"
# After an exec the thread is the new program's, whatever the forking thread was called.
wrun xn.db -- "$PROGS/exec_names"
expect_eq "exec names: status" "$rc:$(tr -d "\n" <"$WORK/stdout")" "0:child 0"
expect_eq "exec names: the forking thread, the exec'd child" "$(sql xn.db "SELECT group_concat(t.name, ' ') FROM (SELECT t.name FROM threads t JOIN processes p USING(pid) WHERE t.tid <> p.pid OR p.ppid IN (SELECT pid FROM processes) ORDER BY t.start_ns) t")" "forker true"
expect_eq "tree: exit events carry statuses" "$(sql p.db "SELECT group_concat(arg) FROM (SELECT arg FROM events WHERE kind='process.exit' ORDER BY arg)")" "-9,0,5,5,5,5,5,5,5,5,7"

# ---- an orphan outliving its parent is waited for ----
wrun o.db -- "$PROGS/orphan"
expect_eq "orphan: weft returns the parent's status" "$rc" 0
expect_eq "orphan: its locks recorded" "$(sql o.db "SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE e.kind='lock.acquire' AND o.name='orphan_mu'")" 25
expect_eq "orphan: its exit recorded" "$(sql o.db "SELECT count(*) FROM processes WHERE exit_code=3")" 1

# ---- crashes lose nothing recorded before them ----
for how in kill:137:9 segv:139:11 abort:134:6; do
	IFS=: read -r mode status sig <<<"$how"
	wrun "c-$mode.db" -- "$PROGS/crash" "$mode"
	expect_eq "crash $mode: weft exit status" "$rc" "$status"
	expect_eq "crash $mode: acquires" "$(sql "c-$mode.db" "SELECT count(*) FROM events WHERE kind='lock.acquire'")" 10001
	expect_eq "crash $mode: releases" "$(sql "c-$mode.db" "SELECT count(*) FROM events WHERE kind='lock.release'")" 10000
	expect_eq "crash $mode: signal recorded" "$(sql "c-$mode.db" "SELECT exit_signal FROM processes")" "$sig"
done
wrun c-exit.db -- "$PROGS/crash" exit-thread
expect_eq "crash _exit: status" "$rc" 9
expect_eq "crash _exit: exit event" "$(sql c-exit.db "SELECT arg FROM events WHERE kind='process.exit'")" 9

# ---- lossless under contention ----
wrun st.db -- "$PROGS/stress" 4 50000
expect_eq "stress: output" "$(cat "$WORK/stdout")" 200000
expect_eq "stress: every acquire" "$(sql st.db "SELECT count(*) FROM events WHERE kind='lock.acquire'")" 200000
expect_eq "stress: every release" "$(sql st.db "SELECT count(*) FROM events WHERE kind='lock.release'")" 200000
expect_eq "stress: contended waits measured" "$(sql st.db "SELECT count(*) > 0 FROM events WHERE kind='lock.acquire' AND wait_ns > 0")" 1
expect_eq "stress: nothing unrecorded" "$(sql st.db "SELECT sum(unrecorded) FROM threads")" 0

# ---- a loop's records are their header word alone (preload/wire.h) ----
# One thread, 100000 lock/unlock pairs at two call sites: past the first
# pair each record's object is the ring's last and its stack the ring's
# last one-word stack or the one before it (WEFT_RF_SAMEFRAME,
# WEFT_RF_PREVFRAME): a word an event (two before the second).
# loop_words NAME DB: the run just made (WEFT_DEBUG=collect) drained about a word an event.
loop_words() {
	local words events
	words=$(grep -o '[0-9]* words' "$WORK/stderr" | cut -d' ' -f1)
	events=$(sql "$2" "SELECT value FROM meta WHERE key='events'")
	if [ -n "$words" ] && [ -n "$events" ] && [ "$events" -ge 200000 ] && [ $((words - events)) -lt 100 ]; then
		pass "$1: a ring word an event ($words for $events)"
	else
		fail "$1: a ring word an event" "$words ring words for $events events"
	fi
}
WEFT_DEBUG=collect wrun lp.db -- "$PROGS/stress" 1 100000
loop_words loop lp.db
expect_eq "loop: each event at its own call site" "$(sql lp.db "SELECT group_concat(site, ', ') FROM (SELECT e.kind || ' ' || f.function || ':' || f.line || ' ' || count(*) AS site FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind LIKE 'lock.%' GROUP BY e.kind, f.line ORDER BY 1)")" \
	"lock.acquire worker:22 100000, lock.release worker:31 100000"

# The same without stacks: every record past the first its header word
# alone (the ring's last object, a time delta), and no event a stack.
WEFT_DEBUG=collect wrun lpn.db --stacks none -- "$PROGS/stress" 1 100000
loop_words "loop, --stacks none" lpn.db
expect_eq "loop, --stacks none: every pair, no stack" "$(sql lpn.db "SELECT group_concat(k, ', ') FROM (SELECT kind || ' ' || count(*) || ' ' || sum(stack_id <> 0) AS k FROM events WHERE kind LIKE 'lock.%' GROUP BY kind ORDER BY kind)")" \
	"lock.acquire 100000 0, lock.release 100000 0"

# ---- the spill file: every run of ring words through it (WEFT_TEST_SPILL) ----
# 2 x 400000 contended pairs are about 7 MB of ring words per thread (most
# records a word: the loop above): each 4 MB ring wraps, so runs split at
# the wrap are written in two pieces.
sp_pairs=400000
[ -n "${WEFT_VALGRIND:-}" ] && sp_pairs=20000
WEFT_TEST_SPILL=1 wrun sp.db -- "$PROGS/stress" 2 "$sp_pairs"
expect_eq "spill: output" "$(cat "$WORK/stdout")" $((2 * sp_pairs))
expect_eq "spill: every acquire" "$(sql sp.db "SELECT count(*) FROM events WHERE kind='lock.acquire'")" $((2 * sp_pairs))
expect_eq "spill: every release" "$(sql sp.db "SELECT count(*) FROM events WHERE kind='lock.release'")" $((2 * sp_pairs))
expect_eq "spill: each event at its own call site, through wrapped rings" "$(sql sp.db "SELECT group_concat(site, ', ') FROM (SELECT e.kind || ' ' || f.function || ':' || f.line || ' ' || count(*) AS site FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind IN ('lock.acquire', 'lock.release') GROUP BY e.kind, f.line ORDER BY 1)")" \
	"lock.acquire worker:22 $((2 * sp_pairs)), lock.release worker:31 $((2 * sp_pairs))"
expect_eq "spill: every wait at the lock's call site" "$(sql sp.db "SELECT count(*) = coalesce(sum(f.line = 22), 0) FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind = 'lock.wait'")" 1
expect_eq "spill: the words went through the file" "$(sql sp.db "SELECT value > 0 FROM meta WHERE key='spilled_bytes'")" 1
expect_eq "spill: time order kept" "$(sql sp.db "SELECT count(*) FROM events a JOIN events b ON b.id = a.id + 1 WHERE b.ts_ns < a.ts_ns")" 0
expect_eq "spill: nothing lost" "$(sql sp.db "SELECT value FROM meta WHERE key='events_lost'")" 0
expect_eq "spill: no file left beside the trace" "$(ls -A "$WORK" | grep -c spill)" 0

# ---- exit statuses, like a shell ----
wrun x.db -- sh -c 'exit 42'
expect_eq "status: exit code passed through" "$rc" 42
wrun x.db -- false
expect_eq "status: false" "$rc" 1
wrun x.db -- no-such-command-weft
expect_eq "status: missing command is 127" "$rc" 127
expect_eq "status: missing command one line" "$(wc -l <"$WORK/stderr")" 1
expect_match "status: missing command message" "$(cat "$WORK/stderr")" "no-such-command-weft: command not found"
printf 'x' >notexec.sh
wrun x.db -- ./notexec.sh
expect_eq "status: not executable is 126" "$rc" 126

# ---- terminal I/O passes through ----
out=$(echo "hello through weft" | timeout 60 "$WEFT" run -o io.db -- cat 2>/dev/null)
expect_eq "io: stdin to stdout" "$out" "hello through weft"

# ---- options ----
timeout 10 "$WEFT" run --bogus -- true >/dev/null 2>"$WORK/err"
expect_eq "options: unknown option exits 2" "$?" 2
timeout 10 "$WEFT" run --stacks weird -- true >/dev/null 2>&1
expect_eq "options: bad --stacks exits 2" "$?" 2
timeout 10 "$WEFT" run >/dev/null 2>&1
expect_eq "options: no command exits 2" "$?" 2

# ---- output safety ----
echo "precious" >notatrace.db
wrun notatrace.db -- true
expect_eq "output: refuses to overwrite a non-trace" "$rc" 1
expect_eq "output: non-trace untouched" "$(cat notatrace.db)" "precious"
wrun s2.db -- true
wrun s2.db -- sh -c 'exit 3'
expect_eq "output: a previous trace is replaced" "$(sql s2.db "SELECT value FROM meta WHERE key='exit_status'")" 3
mkdir -p ro && chmod 555 ro
if [ "$(id -u)" = 0 ] && touch ro/probe 2>/dev/null; then
	rm -f ro/probe
	skip "output: read-only directory" "running as root, directory permissions are not enforced"
else
	wrun ro/t.db -- touch ran-anyway
	expect_eq "output: read-only dir fails" "$rc" 1
	expect_eq "output: program not started" "$(ls ran-anyway 2>/dev/null | wc -l)" 0
fi
wrun /proc/weft-cannot-write/t.db -- touch ran-anyway2
expect_eq "output: unwritable dir fails before the program starts" "$rc:$(ls ran-anyway2 2>/dev/null | wc -l)" "1:0"

# ---- signals ----
command timeout "$((60 * TIMEOUT_SCALE))" "$WEFT" run -o sig.db -- "$PROGS/sigwait" >"$WORK/sigout" 2>/dev/null &
wpid=$!
# (up to a minute: under valgrind weft itself takes seconds to start)
for _ in $(seq 1200); do grep -q ready "$WORK/sigout" 2>/dev/null && break; sleep 0.05; done
# The signal goes to weft itself (timeout's child: the wrappers exec), not
# to timeout, which would send it to the whole process group: the program
# would get it directly too, end, and weft would see its own copy, delivered
# late under valgrind, as a stop during its tail.
tpid=$(pgrep -P $wpid | head -1)
kill -TERM "${tpid:-$wpid}"
wait $wpid
rc=$?
expect_eq "signals: SIGTERM forwarded, program's status returned" "$rc" 115
expect_eq "signals: trace written" "$(sql sig.db "SELECT value FROM meta WHERE key='complete'")" 1

# ---- --timeout ----
start=$(date +%s)
wrun to.db --timeout 1 -- sh -c 'trap "" TERM; while :; do sleep 0.1; done'
elapsed=$(( $(date +%s) - start ))
expect_eq "timeout: SIGKILL after SIGTERM is ignored" "$rc" 137
expect_eq "timeout: returns within seconds" "$([ $elapsed -lt 20 ] && echo yes)" yes
expect_eq "timeout: trace complete" "$(sql to.db "SELECT value FROM meta WHERE key='complete'")" 1

# ---- killing weft itself ----
"$WEFT_PLAIN" run -o k.db -- "$PROGS/sigwait" >"$WORK/kout" 2>/dev/null &
wpid=$!
for _ in $(seq 1200); do grep -q ready "$WORK/kout" 2>/dev/null && break; sleep 0.05; done
prog=$(awk '/ready/ {print $2}' "$WORK/kout")
sleep 1.5
kill -KILL $wpid
wait $wpid 2>/dev/null
sleep 0.2
expect_eq "kill -9 weft: program keeps running" "$(kill -0 "$prog" 2>/dev/null && echo alive)" alive
expect_eq "kill -9 weft: committed events readable" "$(sqlite3 k.db "SELECT count(*) > 0 FROM events WHERE kind='lock.acquire'" 2>&1)" 1
kill -TERM "$prog" 2>/dev/null
for _ in $(seq 50); do kill -0 "$prog" 2>/dev/null || break; sleep 0.1; done
expect_eq "kill -9 weft: program ends normally afterwards" "$(kill -0 "$prog" 2>/dev/null && echo alive || echo gone)" gone

# ---- static programs get a warning ----
if printf 'int main(void){return 0;}' | gcc -static -x c - -o static_prog 2>/dev/null; then
	wrun st2.db -- ./static_prog
	expect_match "static: warning" "$(cat "$WORK/stderr")" "statically linked"
	expect_eq "static: still exits normally" "$rc" 0
else
	skip "static: warning" "no static libc to build a static program"
fi

# ---- nothing left behind in /dev/shm ----
expect_eq "shm: no names left" "$(ls /dev/shm | grep -c weft)" 0

# weft keeps its collector and writer to one CPU; the program keeps every CPU it had.
want_cpus=$(grep Cpus_allowed_list /proc/self/status)
wrun aff.db -- grep Cpus_allowed_list /proc/self/status
expect_eq "affinity: the program keeps its CPUs" "$(cat "$WORK/stdout")" "$want_cpus"
if [ "$(nproc)" -gt 1 ]; then
	# The collector and the writer share the last allowed CPU (the parent pins them
	# just after the fork); the viewer's table builder has every CPU, at idle priority
	# (policy 5, SCHED_IDLE: /proc's stat field 41). Each weft thread as "CPUS POLICY",
	# once the builder has moved off the last CPU.
	cat >threads.sh <<'PROBE'
last=$1
for i in $(seq 100); do
	n=$(for t in /proc/$PPID/task/*; do
		printf '%s %s\n' "$(grep Cpus_allowed_list "$t/status" | tr -d ' \t' | sed 's/.*://')" \
			"$(sed 's/.*) //' "$t/stat" | cut -d' ' -f39)"
	done | sort)
	[ "$(printf '%s\n' "$n" | grep -vc "^$last ")" = 1 ] && [ "$(printf '%s\n' "$n" | grep -c "^$last ")" -ge 2 ] && break
	sleep 0.05
done
printf '%s\n' "$n" | sed "s/^$last /last /" | sort | uniq -c | sed 's/^ *//' | tr '\n' ';'
PROBE
	last=$(taskset -pc $$ | sed 's/.*: //; s/.*[,-]//')
	wrun aff.db -- sh threads.sh "$last"
	all=$(grep Cpus_allowed_list /proc/self/status | tr -d ' \t' | sed 's/.*://')
	got=$(cat "$WORK/stdout")
	expect_eq "affinity: the collector and the writer share the last CPU" \
		"$(printf '%s' "$got" | tr ';' '\n' | awk '$2 == "last" { n += $1 } END { print n + 0 }')" 2
	expect_match "affinity: the viewer's tables are built on every CPU at idle priority" "$got" "(^|;)1 $all 5;"
	expect_eq "affinity: no other weft thread" "$(printf '%s' "$got" | tr ';' '\n' | grep -vc "^[0-9]* last \|^1 $all 5$")" 0
fi

# ---- rings of ended threads handed on to new ones ----
# 400 threads one after another, some writing past a ring's first stretch;
# the collector frees ended threads' rings while it runs (tests/c/thread_churn.c).
wrun churn.db -- "$PROGS/thread_churn"
expect_eq "thread churn: program output" "$(cat "$WORK/stdout")" "threads=400 acquires=76597"
expect_eq "thread churn: every thread's own lock acquisitions, exact" "$(sql churn.db "
	WITH t AS (SELECT tid, row_number() OVER (ORDER BY ts_ns) - 1 AS k FROM events
		WHERE kind = 'thread.start'),
	c AS (SELECT tid, count(*) AS n FROM events WHERE kind = 'lock.acquire' GROUP BY tid)
	SELECT count(*) || ' ' || sum(coalesce(n, 0) = k % 7 + 1 + (CASE WHEN k % 16 = 0 THEN 3000 ELSE 0 END))
	FROM t LEFT JOIN c USING (tid)")" "400 400"
expect_eq "thread churn: each lock event inside its thread's life" "$(sql churn.db "
	SELECT count(*) FROM events e
	JOIN (SELECT tid, min(ts_ns) AS a FROM events WHERE kind = 'thread.start' GROUP BY tid) s USING (tid)
	JOIN (SELECT tid, max(ts_ns) AS b FROM events WHERE kind = 'thread.exit' GROUP BY tid) x USING (tid)
	WHERE e.kind LIKE 'lock.%' AND (e.ts_ns < s.a OR e.ts_ns > x.b)")" 0
expect_eq "thread churn: nothing lost or unrecorded" "$(sql churn.db "SELECT (SELECT count(*) FROM events WHERE kind = 'lock.release') || ' ' || (SELECT coalesce(sum(unrecorded), 0) FROM threads)")" "76597 0"

# ---- objects named by their data symbol, or by the function that made them ----
wrun dn.db -- "$PROGS/data_names"
expect_eq "data names: exit status" "$rc" 0
expect_eq "data names: a global, array elements, a struct member" \
	"$(sql dn.db "SELECT group_concat(name, ' ') FROM (SELECT name FROM objects WHERE name NOT LIKE 'mutex@%' ORDER BY object_id)")" \
	"big_lock lock_row lock_row+40 lock_row+80 lock_row+120 registry+8"
expect_eq "data names: 300 heap locks named by the function that made them" \
	"$(sql dn.db "SELECT count(*) FROM objects WHERE name = 'mutex@make_lock'")" 300
