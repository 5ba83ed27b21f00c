# Hardening: programs that misbehave under the tracer (exits from odd
# threads, orphans, daemons, storms of processes and threads, blocked and
# ignored signals, raw clone, signal handlers that lock), losslessness under
# load, and faults of the tracer itself (SIGKILL, disk full, read-only
# output). Sourced by tests/run.sh with $WEFT, $PROGS, $WORK set.

# wrun OUT ARGS...: weft run with a time limit (hang detection only), sets $rc.
wrun() {
	local out=$1
	shift
	timeout 300 "$WEFT" run -o "$out" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
}



# n DB WHERE: number of events (joined with their objects as o) matching WHERE
n() { sql "$1" "SELECT count(*) FROM events e LEFT JOIN objects o USING(object_id) WHERE $2"; }

# running PID: true while PID exists and is not a zombie (whoever adopted it may reap late)
running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# gone PID...: waits up to 10 s for the processes to disappear; prints "gone" or "alive"
gone() {
	for _ in $(seq 100); do
		local any=0
		for p in "$@"; do running "$p" && any=1; done
		[ $any = 0 ] && { echo gone; return; }
		sleep 0.1
	done
	echo alive
}

# ---- _exit from a thread that is not main ----
wrun et.db -- "$PROGS/hard_exit_thread"
expect_eq "exit-thread: status of _exit(7)" "$rc" 7
expect_eq "exit-thread: every acquire (3 threads x 2000 + the held one)" "$(n et.db "e.kind='lock.acquire' AND o.name='exit_mu'")" 6001
expect_eq "exit-thread: every release" "$(n et.db "e.kind='lock.release' AND o.name='exit_mu'")" 6000
expect_eq "exit-thread: exit event from the exiting thread" "$(sql et.db "SELECT count(*) FROM events WHERE kind='process.exit' AND arg=7 AND tid<>pid")" 1
expect_eq "exit-thread: exit code" "$(sql et.db "SELECT exit_code FROM processes")" 7
expect_eq "exit-thread: trace complete" "$(sql et.db "SELECT value FROM meta WHERE key='complete'")" 1

cat >pyexit.py <<'EOF'
import os, threading
lock = threading.Lock()
def worker():
    for _ in range(1000):
        with lock:
            pass
    os._exit(11)
t = threading.Thread(target=worker)
t.start()
t.join()
print("not reached")
EOF
wrun pe.db -- /usr/bin/python3 pyexit.py
expect_eq "os._exit in a thread: status" "$rc" 11
expect_eq "os._exit in a thread: nothing after it" "$(cat "$WORK/stdout")" ""
expect_eq "os._exit in a thread: exit event from the worker" "$(sql pe.db "SELECT count(*) FROM events WHERE kind='process.exit' AND arg=11 AND tid<>pid")" 1
expect_eq "os._exit in a thread: worker thread recorded" "$(sql pe.db "SELECT count(*) FROM threads")" 2

# ---- a forked child (no exec) outliving its parent, with threads ----
wrun orph.db -- "$PROGS/orphan"
expect_eq "orphan: parent's status" "$rc" 0
expect_eq "orphan: child's locks" "$(n orph.db "e.kind='lock.acquire' AND o.name='orphan_mu'")" 25
expect_eq "orphan: both processes ended" "$(sql orph.db "SELECT count(*) FROM processes WHERE end_ns IS NOT NULL AND exit_code IS NOT NULL")" 2

# ---- daemons: double fork, setsid, close every descriptor ----
for how in close_range closefrom loop sys_close_range; do
	rm -f "$WORK/daemon.pid"
	wrun "d-$how.db" -- "$PROGS/hard_daemon" "$how" "$WORK/daemon.pid"
	dpid=$(cat "$WORK/daemon.pid" 2>/dev/null)
	expect_eq "daemon $how: weft returns the parent's status" "$rc" 0
	expect_eq "daemon $how: weft ended after the daemon" "$([ -n "$dpid" ] && ! running "$dpid" && echo yes)" yes
	expect_eq "daemon $how: three processes" "$(sql "d-$how.db" "SELECT count(*) FROM processes")" 3
	got=$(n "d-$how.db" "e.kind='lock.acquire' AND o.name='daemon_mu'")
	# With the raw system call the collector socket really is closed: the
	# preload reconnects as the same image when it next needs the collector.
	expect_eq "daemon $how: the daemon's locks" "$got" 50
	expect_eq "daemon $how: daemon's exit recorded" "$(sql "d-$how.db" "SELECT count(*) FROM processes WHERE pid=${dpid:-0} AND exit_code=0")" 1
done

# ---- --timeout on programs that ignore or block SIGTERM ----
wrun sb.db --timeout 1 -- "$PROGS/hard_sigblock" forever
expect_eq "blocked TERM + timeout: SIGKILL status" "$rc" 137
expect_eq "blocked TERM + timeout: trace complete" "$(sql sb.db "SELECT value FROM meta WHERE key='complete'")" 1
expect_eq "blocked TERM + timeout: killed by signal 9" "$(sql sb.db "SELECT exit_signal FROM processes")" 9
expect_eq "blocked TERM + timeout: at most one unreleased acquire per thread" "$(sql sb.db "SELECT (SELECT count(*) FROM events WHERE kind='lock.acquire') - (SELECT count(*) FROM events WHERE kind='lock.release') BETWEEN 0 AND 4")" 1
wrun sbt.db --timeout 1 -- sh -c "trap '' TERM; \"$PROGS/hard_sigblock\" forever & \"$PROGS/hard_sigblock\" forever; wait"
expect_eq "ignored TERM tree + timeout: SIGKILL status" "$rc" 137
expect_eq "ignored TERM tree + timeout: trace complete" "$(sql sbt.db "SELECT value FROM meta WHERE key='complete'")" 1
expect_eq "ignored TERM tree + timeout: every process killed" "$(sql sbt.db "SELECT group_concat(exit_signal) FROM processes")" "9,9,9"
pids=$(sql sbt.db "SELECT pid FROM processes")
expect_eq "ignored TERM tree + timeout: nothing left running" "$(gone $pids)" gone

# ---- a program that blocks every signal ----
wrun sbn.db -- "$PROGS/hard_sigblock"
expect_eq "blocked signals: status" "$rc" 0
expect_eq "blocked signals: output" "$(cat "$WORK/stdout")" "turns 40"
expect_eq "blocked signals: explicit acquires" "$(n sbn.db "e.kind='lock.acquire' AND o.name='block_mu' AND e.arg=0")" 4000
expect_eq "blocked signals: cond waits re-acquire" "$(n sbn.db "e.kind='lock.acquire' AND o.name='block_mu' AND e.arg=2")" "$(n sbn.db "e.kind='cond.wait'")"
expect_eq "blocked signals: broadcasts" "$(n sbn.db "e.kind='cond.broadcast' AND o.name='block_cv'")" 40
expect_eq "blocked signals: threads" "$(sql sbn.db "SELECT count(*) FROM threads")" 5

# ---- a bounded fork storm ----
wrun fs.db -- "$PROGS/hard_fork_storm" 200
expect_eq "fork storm: status" "$rc" 0
expect_eq "fork storm: all reaped" "$(cat "$WORK/stdout")" "reaped 200"
expect_eq "fork storm: processes" "$(sql fs.db "SELECT count(*) FROM processes")" 201
expect_eq "fork storm: fork events" "$(sql fs.db "SELECT count(*) FROM events WHERE kind='process.fork'")" 200
expect_eq "fork storm: children's acquires" "$(n fs.db "e.kind='lock.acquire' AND o.kind='mutex' AND e.pid<>(SELECT pid FROM processes WHERE ppid NOT IN (SELECT pid FROM processes))")" 1000
expect_eq "fork storm: children's releases" "$(n fs.db "e.kind='lock.release'")" 1000
expect_eq "fork storm: one mutex object per child" "$(sql fs.db "SELECT count(DISTINCT pid) FROM objects WHERE kind='mutex'")" 200
expect_eq "fork storm: exit codes" "$(sql fs.db "SELECT count(*), sum(exit_code) FROM processes")" "201|9900"
expect_eq "fork storm: exit events" "$(sql fs.db "SELECT count(*) FROM events WHERE kind='process.exit'")" 201
# Children that end before the collector reads their /proc/PID/maps get no
# symbols at all (tracer/collect.c image_new snapshots maps of a zombie: empty;
# a fork child's maps are its parent's, but there is no fallback).
expect_eq "fork storm: short-lived children's mutex named storm_mu" "$(sql fs.db "SELECT count(*) FROM objects WHERE name='storm_mu'")" 200

# ---- 1000 threads: 100 alive at a time, then 1000 at once on small stacks ----
for spec in "1000 100 0" "1000 1000 16"; do
	read -r total alive kb <<<"$spec"
	wrun th.db -- "$PROGS/hard_threads" $total $alive $kb
	name="threads $total/$alive alive/${kb}K"
	expect_eq "$name: status" "$rc" 0
	expect_eq "$name: program ran them" "$(cat "$WORK/stdout")" "ran $total"
	for k in thread.create thread.start thread.exit thread.join barrier.wait; do
		expect_eq "$name: $k" "$(sql th.db "SELECT count(*) FROM events WHERE kind='$k'")" $total
	done
	expect_eq "$name: acquires" "$(n th.db "e.kind='lock.acquire' AND o.name='many_mu'")" $total
	expect_eq "$name: threads table" "$(sql th.db "SELECT count(*) FROM threads")" $((total + 1))
done
# Past 4096 live threads (WEFT_MAX_CHUNKS x WEFT_SLOTS_PER_CHUNK) no ring is
# left: preload/runtime.c claim_slot fails and weft_record calls switch_off(),
# so the whole process silently stops recording (events_lost stays 0).
# Not under valgrind: weft maps each chunk of 32 rings as 2 GB, and valgrind
# gives its client about 128 GB of address space: a memchecked weft mapped 62
# chunks (1983 of the 4160 threads) and ignored the rest of the rings.
if [ -n "${WEFT_VALGRIND:-}" ]; then
	skip "threads 4160 alive" "under valgrind: 130 chunks x 2 GB exceed valgrind's ~128 GB client address space"
else
	wrun th5.db -- "$PROGS/hard_threads" 4160 4160 16
	expect_eq "threads 4160 alive: status" "$rc" 0
	expect_eq "threads 4160 alive: every thread.start" "$(sql th5.db "SELECT count(*) FROM events WHERE kind='thread.start'")" 4160
	expect_eq "threads 4160 alive: every acquire" "$(n th5.db "e.kind='lock.acquire' AND o.name='many_mu'")" 4160
	rm -f th5.db
fi

# ---- clone/clone3 called directly (no atfork handlers run in the child) ----
# What happens: the child inherits the parent's thread-local ring position and
# the MAP_SHARED ring itself, so it writes its records into the parent's ring
# as if it were the parent. Its events appear under the parent's pid/tid, and
# the parent's own later records overwrite them from the stale head: events
# are lost or misparsed without any warning.
for how in clone clone3; do
	wrun "cl-$how.db" -- "$PROGS/hard_clone" "$how"
	expect_eq "$how: status" "$rc" 0
	expect_match "$how: child ran" "$(cat "$WORK/stdout")" "^child [0-9]+ status 5$"
	ppid=$(sql "cl-$how.db" "SELECT pid FROM processes WHERE argv LIKE '%hard_clone%' AND ppid NOT IN (SELECT pid FROM processes)")
	expect_eq "$how: parent's own acquires intact" "$(n "cl-$how.db" "e.pid=${ppid:-0} AND e.kind='lock.acquire' AND o.name='parent_mu'")" 200
	expect_eq "$how: parent's own releases intact" "$(n "cl-$how.db" "e.pid=${ppid:-0} AND e.kind='lock.release' AND o.name='parent_mu'")" 200
	expect_eq "$how: child's events not attributed to the parent" "$(n "cl-$how.db" "e.pid=${ppid:-0} AND o.name='child_mu'")" 0
	expect_eq "$how: reap recorded" "$(sql "cl-$how.db" "SELECT count(*) FROM events WHERE kind='process.reap'")" 1
	# (the corruption is silent: no "corrupt trace buffer" warning either)
	expect_eq "$how: no sanitizer report" "$(grep -c -E 'Sanitizer|runtime error' "$WORK/stderr")" 0
done

# ---- a signal handler that locks while the thread is inside a lock call ----
wrun sl.db -- "$PROGS/hard_siglock" 200000
expect_eq "signal handler locks: no deadlock, status" "$rc" 0
out=$(cat "$WORK/stdout")
handled=${out##*handled=}
expect_match "signal handler locks: output" "$out" "^loops=200000 handled=[0-9]+$"
expect_eq "signal handler locks: interrupted thread's acquires" "$(n sl.db "e.kind='lock.acquire' AND o.name='loop_mu'")" 200000
expect_eq "signal handler locks: interrupted thread's releases" "$(n sl.db "e.kind='lock.release' AND o.name='loop_mu'")" 200000
rec=$(n sl.db "o.name IN ('handler_mu','handler_sem')")
unrec=$(sql sl.db "SELECT coalesce(sum(unrecorded),0) FROM threads")
# Every handler call is either recorded or counted in threads.unrecorded.
expect_eq "signal handler locks: recorded + unrecorded = 3 calls per signal" "$((rec + unrec))" "$((3 * ${handled:-0}))"

# ---- lossless under load: 4 threads x 1M lock/unlock pairs on 2 cores ----
# (5M each is in bench/hardening_bench.sh.)
# Not under valgrind: memcheck slows weft's writer ~50x, and recording plus
# finalizing these 8M events did not end within the 900 s hang limit (15 min
# of the whole run). The same drain/back-pressure/writer code is memchecked
# on 4 x 50000 pairs by "stress" in test_trace_core.
if [ -n "${WEFT_VALGRIND:-}" ]; then
	skip "lossless 4x1M" "under valgrind: 8M events take longer than the 900 s hang limit (test_trace_core's stress 4x50000 covers the code)"
else
	pin=()
	if taskset -c 0,1 true 2>/dev/null; then pin=(taskset -c 0,1); fi
	timeout 900 "${pin[@]}" "$WEFT" run -o big.db -- "$PROGS/stress" 4 1000000 >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
	expect_eq "lossless 4x1M: status" "$rc" 0
	expect_eq "lossless 4x1M: program total" "$(cat "$WORK/stdout")" 4000000
	expect_eq "lossless 4x1M: acquires" "$(sql big.db "SELECT count(*) FROM events WHERE kind='lock.acquire'")" 4000000
	expect_eq "lossless 4x1M: releases" "$(sql big.db "SELECT count(*) FROM events WHERE kind='lock.release'")" 4000000
	expect_eq "lossless 4x1M: events meta" "$(sql big.db "SELECT value FROM meta WHERE key='events'")" "$(sql big.db "SELECT count(*) FROM events")"
	expect_eq "lossless 4x1M: nothing lost or unrecorded" "$(sql big.db "SELECT (SELECT value FROM meta WHERE key='events_lost') || ',' || (SELECT sum(unrecorded) FROM threads)")" "0,0"
	# Seen in about half of the runs: one or two events per trace whose ts_ns is
	# earlier (by 36 ns .. 6.3 us) than the previous event of the same thread.
	expect_eq "lossless 4x1M: time never goes back within a thread" "$(sql big.db "SELECT count(*) FROM (SELECT tid, ts_ns, lag(ts_ns) OVER (PARTITION BY tid ORDER BY id) AS prev FROM events) WHERE ts_ns < prev")" 0
	rm -f big.db
fi

# ---- the tracer killed with SIGKILL while a process tree runs ----
# (no timeout wrapper: $! must be weft itself)
"$WEFT" run -o kt.db -- "$PROGS/hard_kill_tree" >"$WORK/kout" 2>/dev/null &
wpid=$!
for _ in $(seq 1200); do grep -q ready "$WORK/kout" 2>/dev/null && break; sleep 0.05; done
read -r _ p0 p1 p2 p3 < <(grep ready "$WORK/kout")
sleep 1.5 # one commit (every second) has happened
kill -KILL $wpid
wait $wpid 2>/dev/null
alive=0
for p in $p0 $p1 $p2 $p3; do running "$p" && alive=$((alive + 1)); done
expect_eq "kill -9 weft, tree: all four processes keep running" "$alive" 4
expect_eq "kill -9 weft, tree: committed events of every process readable" "$(sqlite3 kt.db "SELECT count(DISTINCT pid) FROM events WHERE kind='lock.acquire'" 2>&1)" 4
expect_eq "kill -9 weft, tree: integrity" "$(sqlite3 kt.db "PRAGMA integrity_check" 2>&1)" ok
expect_eq "kill -9 weft, tree: report reads it" "$(timeout 60 "$WEFT" report kt.db >/dev/null 2>&1; echo $?)" 0
sleep 1 # the processes go on after losing their collector
kill -TERM "$p0" 2>/dev/null
expect_eq "kill -9 weft, tree: everything ends normally" "$(gone $p0 $p1 $p2 $p3)" gone
expect_eq "kill -9 weft, tree: children exited 0" "$(tail -1 "$WORK/kout")" "children ok 3"

# SIGKILL while producers are being throttled: they must notice and go on.
"$WEFT" run -o ks.db -- "$PROGS/stress" 2 3000000 >"$WORK/kout" 2>/dev/null &
wpid=$!
sleep 1.5
prog=$(pgrep -P $wpid -x stress | head -1)
kill -KILL $wpid
wait $wpid 2>/dev/null
if [ -n "$prog" ]; then
	for _ in $(seq 1200); do running "$prog" || break; sleep 0.1; done
	expect_eq "kill -9 weft under load: program finishes" "$(running "$prog" && echo hung || echo finished)" finished
	expect_eq "kill -9 weft under load: program's result" "$(cat "$WORK/kout")" 6000000
	# Only "readable": how much was committed depends on how much CPU the
	# idle-priority writer got (on a saturated machine: nothing at all).
	expect_eq "kill -9 weft under load: trace readable" "$(sqlite3 ks.db "PRAGMA integrity_check; SELECT value FROM meta WHERE key='format'" 2>&1 | tr '\n' ' ')" "ok weft-trace "
else
	skip "kill -9 weft under load: program finishes" "the program ended before weft was killed"
fi
rm -f ks.db ks.db-wal ks.db-shm

# ---- disk full: the trace on a 2 MB tmpfs ----
mkdir -p small
if mount -t tmpfs -o size=2m tmpfs small 2>/dev/null; then
	timeout 300 "$WEFT" run -o small/t.db -- "$PROGS/stress" 4 100000 >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
	expect_eq "disk full: non-zero exit" "$([ $rc -ne 0 ] && [ $rc -ne 99 ] && [ $rc -lt 124 ] && echo yes)" yes
	expect_match "disk full: clear error" "$(cat "$WORK/stderr")" "disk is full"
	expect_match "disk full: says the trace is incomplete" "$(cat "$WORK/stderr")" "small/t.db is incomplete"
	expect_eq "disk full: no sanitizer report" "$(grep -c -E 'Sanitizer|runtime error' "$WORK/stderr")" 0
	expect_eq "disk full: partial trace readable" "$(sqlite3 small/t.db "PRAGMA integrity_check; SELECT count(*) > 0 FROM events" 2>&1 | tr '\n' ' ')" "ok 1 "
	expect_eq "disk full: marked incomplete" "$(sqlite3 small/t.db "SELECT count(*) FROM meta WHERE key='complete'" 2>&1)" 0
	timeout 60 "$WEFT" report small/t.db >/dev/null 2>"$WORK/stderr"
	expect_eq "disk full: report reads the partial trace" "$?" 0
	umount small
else
	skip "disk full" "cannot mount a tmpfs (not root?)"
fi

# ---- a read-only output directory fails before the program starts ----
mkdir -p rofs
if mount -t tmpfs -o ro,size=1m tmpfs rofs 2>/dev/null; then
	wrun rofs/t.db -- touch ran-anyway
	expect_eq "read-only fs: exit 1" "$rc" 1
	expect_eq "read-only fs: program not started" "$(ls ran-anyway 2>/dev/null | wc -l)" 0
	expect_match "read-only fs: message" "$(cat "$WORK/stderr")" "Read-only file system"
	umount rofs
else
	skip "read-only fs" "cannot mount a tmpfs (not root?)"
fi
mkdir -p rosrc robind
if mount --bind rosrc robind 2>/dev/null && mount -o remount,bind,ro robind 2>/dev/null; then
	wrun robind/t.db -- touch ran-anyway2
	expect_eq "read-only bind mount: fails before the program" "$rc:$(ls ran-anyway2 2>/dev/null | wc -l)" "1:0"
	umount robind
else
	mountpoint -q robind && umount robind
	skip "read-only bind mount" "cannot bind-mount (not root?)"
fi

# ---- SIGINT during the final flush: stops it, the trace keeps what was written ----
# WEFT_TEST_FINALIZE_PAUSE holds weft at the start of its tail after the
# program ended (1: until a signal stops it; 2: ignoring the first, as a
# step that cannot be stopped), so the signal lands there every time.
# paused_weft OUT MODE: starts weft in the background, sets $wpid once paused.
paused_weft() {
	rm -f "$1" "$1-wal" "$1-shm" "$WORK/perr"
	WEFT_TEST_FINALIZE_PAUSE=$2 "$WEFT" run -o "$1" -- "$PROGS/stress" 4 200000 >/dev/null 2>"$WORK/perr" &
	wpid=$!
	for _ in $(seq 600); do grep -q 'final flush paused' "$WORK/perr" 2>/dev/null && break; sleep 0.1; done
}
paused_weft int.db 1
kill -INT $wpid
wait $wpid
rc=$?
expect_eq "SIGINT in the final flush: exit 130" "$rc" 130
expect_match "SIGINT in the final flush: says so" "$(cat "$WORK/perr")" "interrupted: int.db keeps what was written"
expect_eq "SIGINT in the final flush: no sanitizer report" "$(grep -c -E 'Sanitizer|runtime error' "$WORK/perr")" 0
expect_eq "SIGINT in the final flush: valid, marked interrupted, not complete" \
	"$(sqlite3 -readonly int.db "PRAGMA integrity_check; SELECT group_concat(key) FROM meta WHERE key IN ('interrupted', 'complete')" 2>&1 | tr '\n' ' ')" "ok interrupted "
expect_eq "SIGINT in the final flush: meta events = rows" \
	"$(sqlite3 -readonly int.db "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'events') = (SELECT count(*) FROM ev)" 2>&1)" 1
expect_eq "SIGINT in the final flush: query reads it" "$("$WEFT" query int.db "SELECT count(*) > 0 FROM events" --csv 2>&1 | tr -d '\r' | tail -1)" 1
timeout 120 "$WEFT" report int.db >/dev/null 2>"$WORK/stderr"
expect_eq "SIGINT in the final flush: report reads it" "$?" 0
paused_weft int2.db 2
kill -INT $wpid
sleep 0.5
kill -INT $wpid
wait $wpid
rc=$?
expect_eq "second SIGINT in the final flush: ends weft at once (130)" "$rc" 130
expect_match "second SIGINT in the final flush: says so" "$(cat "$WORK/perr")" "weft: stopped"
expect_eq "second SIGINT in the final flush: valid trace" \
	"$(sqlite3 int2.db "PRAGMA integrity_check; SELECT value FROM meta WHERE key='format'" 2>&1 | tr '\n' ' ')" "ok weft-trace "
timeout 120 "$WEFT" report int2.db >/dev/null 2>"$WORK/stderr"
expect_eq "second SIGINT in the final flush: report reads it" "$?" 0
rm -f int.db* int2.db*
expect_no_match "final flush: no progress line when stderr is not a terminal" "$(cat "$WORK/perr")" "(writing|finalizing) the trace"
# On a terminal (script(1)'s pty) a tail of more than a second shows one
# progress line; the pause makes the tail last until the SIGINT.
if command -v script >/dev/null; then
	rm -f prog.db prog.db-wal prog.db-shm "$WORK/tty.log"
	script -qfec "exec env WEFT_TEST_FINALIZE_PAUSE=1 $WEFT run -o prog.db -- $PROGS/stress 2 1000" \
		"$WORK/tty.log" </dev/null >/dev/null 2>&1 &
	spid=$!
	for _ in $(seq 600); do grep -Eq '(writing|finalizing) the trace' "$WORK/tty.log" 2>/dev/null && break; sleep 0.1; done
	tpid=$(pgrep -P $spid -x weft | head -1)
	[ -n "$tpid" ] && kill -INT "$tpid"
	wait $spid
	expect_match "final flush on a terminal: progress line" "$(cat "$WORK/tty.log")" "weft: (writing|finalizing) the trace"
	expect_match "final flush on a terminal: SIGINT still stops it" "$(cat "$WORK/tty.log")" "interrupted: prog.db keeps what was written"
	rm -f prog.db prog.db-wal prog.db-shm
else
	skip "final flush on a terminal: progress line" "no script(1)"
fi

# ---- memory independent of the trace's length: 20M events under 300 MB ----
# The plain build (the sanitizers' shadow memory is not weft's); peak RSS
# is the kernel's VmHWM as /usr/bin/time reports it.
if [ -x /usr/bin/time ] && [ -x "$BUILD/bench/lockbench" ]; then
	rm -f mem.db*
	/usr/bin/time -o "$WORK/mem.time" -f %M "$WEFT_PLAIN" run -o mem.db -- "$BUILD/bench/lockbench" 5000000 >/dev/null 2>"$WORK/stderr"
	expect_eq "20M events: status" "$?" 0
	expect_eq "20M events: every acquire and release" \
		"$(sqlite3 -readonly mem.db "SELECT count(*) FROM ev WHERE kind IN (1, 2)" 2>&1)" 20000000
	hwm=$(tail -1 "$WORK/mem.time")
	expect_eq "20M events: peak RSS under 300 MB" "$([ "$hwm" -lt 307200 ] && echo yes || echo "no, VmHWM $hwm KB")" yes
	rm -f mem.db*
else
	skip "20M events: peak RSS" "no /usr/bin/time or lockbench"
fi

expect_eq "faults: no weft names left in /dev/shm" "$(ls /dev/shm | grep -c weft)" 0
