# The CPython runtime, on every interpreter present: Debian's python3.11
# (static libpython), pyenv's 3.10-3.13 (shared libpython) and Debian sid's
# 3.14 and 3.15 (scripts/pythons.sh; static libpython). Exact counts
# of Python-level events, GIL events, names, stacks, start-up modes, and the
# process tree. Interpreters that are not installed are skipped by name.

PY_TESTS=$TESTS/py
find_interpreters "" 3.10 3.11 3.12 3.13 3.14 3.15

for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	db=$tag.db
	timeout 120 "$WEFT" run -o "$db" -- "$py" "$PY_TESTS/sync_objects.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "$tag: exit" "$?" 0
	expect_eq "$tag: output" "$(cat "$WORK/out")" "counter 1500"
	ev() { sql "$db" "SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE $1"; }
	expect_eq "$tag: queue puts" "$(ev "e.kind='queue.put' AND o.kind='queue' AND o.name LIKE 'Queue sync_objects.py:%'")" 1501
	expect_eq "$tag: queue gets" "$(ev "e.kind='queue.get' AND o.kind='queue'")" 1501
	expect_eq "$tag: queue size after the last get" "$(sql "$db" "SELECT arg FROM events WHERE kind='queue.get' ORDER BY id DESC LIMIT 1")" 0
	expect_eq "$tag: queue never above maxsize" "$(sql "$db" "SELECT max(arg) <= 10 FROM events WHERE kind='queue.put'")" 1
	expect_eq "$tag: Lock acquires" "$(ev "e.kind='lock.acquire' AND o.kind='py.lock' AND o.name='Lock sync_objects.py:3'")" 1500
	expect_eq "$tag: Lock releases" "$(ev "e.kind='lock.release' AND o.kind='py.lock'")" 1500
	expect_eq "$tag: RLock outer acquires" "$(ev "e.kind='lock.acquire' AND o.kind='py.rlock' AND o.name='RLock sync_objects.py:4'")" 1500
	expect_eq "$tag: Condition notify_all" "$(ev "e.kind='cond.broadcast' AND o.kind='py.condition' AND o.name='Condition sync_objects.py:5'")" 1
	expect_eq "$tag: Condition's lock named" "$(ev "e.kind='lock.acquire' AND o.name='RLock of Condition sync_objects.py:5'")" 1
	expect_eq "$tag: Event set" "$(ev "e.kind='event.set' AND o.kind='py.event' AND o.name='Event sync_objects.py:6'")" 1
	expect_eq "$tag: Event wait" "$(ev "e.kind='event.wait' AND o.kind='py.event'")" 1
	expect_eq "$tag: Semaphore" "$(ev "o.kind='py.semaphore' AND o.name='Semaphore sync_objects.py:7'")" 2
	# Exceptions through weft's wrappers: their printed tracebacks as untraced
	(cd "$WORK" && timeout 60 "$py" "$PY_TESTS/tracebacks.py" >"$WORK/tb-plain" 2>&1)
	(cd "$WORK" && timeout 60 "$WEFT" run -o "tb-$tag.db" -- "$py" "$PY_TESTS/tracebacks.py" >"$WORK/tb-traced" 2>&1)
	expect_eq "$tag tracebacks: as untraced, no frame of weft's" \
		"$(diff "$WORK/tb-plain" "$WORK/tb-traced" && grep -c '^--' "$WORK/tb-traced")" \
		"$(grep -c '^--' "$WORK/tb-plain")"
	expect_eq "$tag tracebacks: every case raised" "$(($(grep -c '^--' "$WORK/tb-plain") >= 17))" 1
	# --races wraps Future's methods too (their happens-before edges)
	(cd "$WORK" && timeout 60 "$WEFT" run --races -o "tbr-$tag.db" -- "$py" "$PY_TESTS/tracebacks.py" >"$WORK/tb-races" 2>&1)
	expect_eq "$tag tracebacks under --races: as untraced" \
		"$(diff "$WORK/tb-plain" "$WORK/tb-races" && grep -c '^--' "$WORK/tb-races")" \
		"$(grep -c '^--' "$WORK/tb-plain")"
	timeout 60 "$WEFT" run -o "rl-$tag.db" -- "$py" "$PY_TESTS/rlock_levels.py" >"$WORK/out" 2>&1
	expect_eq "$tag: RLock levels: program output" "$(cat "$WORK/out")" False
	rl() { sql "rl-$tag.db" "SELECT group_concat(arg, ' ') FROM (SELECT e.arg FROM events e JOIN objects o USING(object_id) WHERE o.kind = 'py.rlock' AND e.kind = '$1' ORDER BY e.arg)"; }
	expect_eq "$tag: RLock levels: re-entries reach levels 2, 3, 4 and 2" "$(rl rlock.enter)" "2 2 3 4"
	expect_eq "$tag: RLock levels: inner releases back to 3, 2, 1 and 1" "$(rl rlock.exit)" "1 1 2 3"
	# The Condition's wait lets go of the RLock and takes it back (arg 2), whatever its level.
	expect_eq "$tag: RLock levels: outer acquires and releases once each, and around the wait" "$(rl lock.acquire) / $(rl lock.release)" "0 0 2 / 0 0 2"
	expect_eq "$tag: no interpreter-internal lock noise" "$(ev "o.kind IN ('semaphore','mutex','cond')")" 0
	expect_eq "$tag: no internal objects" "$(sql "$db" "SELECT count(*) FROM objects WHERE name LIKE '%@0x%' OR name GLOB '*@*+0x*'")" 0
	expect_eq "$tag: Python thread names" "$(sql "$db" "SELECT group_concat(name) FROM (SELECT name FROM threads ORDER BY name)")" "MainThread,consumer,producer,waiter"
	expect_eq "$tag: Python idents" "$(sql "$db" "SELECT count(*) FROM threads WHERE py_ident > 0")" 4
	expect_eq "$tag: thread joins" "$(sql "$db" "SELECT count(*) FROM events j JOIN threads t ON t.tid = j.arg WHERE j.kind='thread.join'")" 3
	# Thread.start folds its own handshake with the new thread, not the thread:
	# each start is a thread.create at the caller's line and a thread.start in the new thread.
	expect_eq "$tag: thread.create at Thread.start's call site" "$(sql "$db" "SELECT count(*) || ' ' || group_concat(DISTINCT f.function || ':' || f.line) || ' ' || count(DISTINCT c.arg) FROM events c JOIN threads m ON m.tid = c.tid AND m.name = 'MainThread' JOIN stack_frames f ON f.stack_id = c.stack_id AND f.depth = 0 WHERE c.kind = 'thread.create'")" "3 <module>:33 3"
	expect_eq "$tag: thread.start in each started thread, naming its creator" "$(sql "$db" "SELECT group_concat(t.name) FROM (SELECT t.name FROM events s JOIN threads t ON t.pid = s.pid AND t.tid = s.tid JOIN events c ON c.kind = 'thread.create' AND c.arg = s.tid AND c.tid = s.arg WHERE s.kind = 'thread.start' ORDER BY t.name) t")" "consumer,producer,waiter"
	expect_eq "$tag: GIL object" "$(sql "$db" "SELECT count(*) FROM objects WHERE kind='gil'")" 1
	expect_eq "$tag: GIL acquires and releases pair up" "$(sql "$db" "SELECT abs((SELECT count(*) FROM events WHERE kind='gil.acquire') - (SELECT count(*) FROM events WHERE kind='gil.release')) <= (SELECT count(*) FROM threads)")" 1
	expect_eq "$tag: every thread took the GIL" "$(sql "$db" "SELECT count(DISTINCT tid) FROM events WHERE kind='gil.acquire'")" 4
	expect_eq "$tag: switch interval in meta" "$(sql "$db" "SELECT value FROM meta WHERE key='python.switch_interval_us'")" 5000
	expect_eq "$tag: Python stack at the call site" "$(sql "$db" "SELECT group_concat(site, ',') FROM (SELECT f.function || ' ' || replace(f.file, rtrim(f.file, replace(f.file, '/', '')), '') || ':' || f.line AS site FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind='queue.put' GROUP BY 1 ORDER BY 1)")" "producer sync_objects.py:12,producer sync_objects.py:13"
	expect_eq "$tag: lock site" "$(sql "$db" "SELECT f.lang || ' ' || f.function || ':' || f.line FROM events e JOIN objects o USING(object_id) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE o.name='Lock sync_objects.py:3' AND e.kind='lock.acquire' GROUP BY 1")" "python consumer:20"
	# The bootstrap compiled from source (interpreters without a built-in blob).
	WEFT_TEST_BOOT_COMPILE=1 timeout 120 "$WEFT" run -o "bc-$tag.db" -- "$py" "$PY_TESTS/sync_objects.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "$tag: compiled bootstrap: output" "$(cat "$WORK/out")" "counter 1500"
	expect_eq "$tag: compiled bootstrap: queue puts and Lock acquires" "$(sql "bc-$tag.db" "SELECT (SELECT count(*) FROM events WHERE kind='queue.put') || ' ' || (SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE e.kind='lock.acquire' AND o.kind='py.lock')")" "1501 1500"
	# A queue whose own _qsize is not a length: its size comes from qsize().
	timeout 60 "$WEFT" run -o "qs-$tag.db" -- "$py" -c "
import queue
class Q(queue.Queue):
    def _qsize(self):
        return 10 * len(self.queue)
q = Q(); q.put(1); q.put(2); q.get()
l = queue.LifoQueue(); l.put(1); l.put(2)
" >"$WORK/out" 2>&1
	expect_eq "$tag: custom _qsize: sizes via qsize()" "$(sql "qs-$tag.db" "SELECT group_concat(arg, ' ') FROM (SELECT e.arg FROM events e JOIN objects o USING(object_id) WHERE o.name LIKE 'Q %' AND e.kind LIKE 'queue.%' ORDER BY e.id)")" "10 20 10"
	expect_eq "$tag: LifoQueue sizes" "$(sql "qs-$tag.db" "SELECT group_concat(arg, ' ') FROM (SELECT e.arg FROM events e JOIN objects o USING(object_id) WHERE o.name LIKE 'LifoQueue %' AND e.kind LIKE 'queue.%' ORDER BY e.id)")" "1 2"
	# The C wrappers of Queue and Condition methods behave as the originals.
	timeout 60 "$WEFT" run -o "wm-$tag.db" -- "$py" "$PY_TESTS/wrapped_methods.py" >"$WORK/out" 2>&1
	expect_eq "$tag: wrapped methods: output" "$(cat "$WORK/out" | tr '\n' '|')" "1 2|empty|typeerror|3|False True|put notify|"
	wm() { sql "wm-$tag.db" "SELECT group_concat(x, ' ') FROM (SELECT (o.name LIKE 'Sub %') || '/' || e.kind || '/' || e.arg AS x FROM events e JOIN objects o USING(object_id) WHERE $1 ORDER BY e.id)"; }
	expect_eq "$tag: wrapped methods: queue events (Sub marked 1)" "$(wm "e.kind LIKE 'queue.%'")" "0/queue.put/1 0/queue.put/2 0/queue.get/1 0/queue.get/0 1/queue.put/1 1/queue.get/0"
	expect_eq "$tag: wrapped methods: condition events" "$(wm "o.kind='py.condition'")" "0/cond.wait/110 0/cond.signal/2 0/cond.signal/1 0/cond.broadcast/0"
	expect_eq "$tag: wrapped methods: the Lock afterwards" "$(wm "o.kind='py.lock' AND e.kind LIKE 'lock.%'")" "0/lock.acquire/0 0/lock.release/0"
	# Queues in numbers, a subclass with its own mutex, calls that are not
	# operations, a get that waits: exact events per queue.
	timeout 60 "$py" "$PY_TESTS/queue_counts.py" >"$WORK/plain" 2>&1
	timeout 120 "$WEFT" run -o "qc-$tag.db" -- "$py" "$PY_TESTS/queue_counts.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "$tag: queue events: output as without weft, no warning" "$(cat "$WORK/out")/$(cat "$WORK/err")" "$(cat "$WORK/plain")/"
	expect_eq "$tag: queue events: every queue's operations, exact" \
		"$(sql "qc-$tag.db" "SELECT group_concat(x, ' ') FROM (SELECT o.name || '=' || sum(e.kind = 'queue.put') || '/' || sum(e.kind = 'queue.get') AS x FROM events e JOIN objects o USING(object_id) WHERE e.kind LIKE 'queue.%' GROUP BY o.name ORDER BY o.name)")" \
		"Queue queue_counts.py:21=9000/9000 Queue queue_counts.py:28=20000/20000 Queue queue_counts.py:35=1/2 Queue queue_counts.py:53=1/1 RQueue queue_counts.py:13=1/1"
	expect_eq "$tag: queue events: sizes after, and the get that waited for a put" \
		"$(sql "qc-$tag.db" "SELECT group_concat(x, ' ') FROM (SELECT e.kind || '/' || e.arg || '/' || (e.wait_ns > 40000000) AS x FROM events e JOIN objects o USING(object_id) WHERE o.name IN ('Queue queue_counts.py:35', 'Queue queue_counts.py:53') AND e.kind LIKE 'queue.%' ORDER BY e.id)")" \
		"queue.put/2/0 queue.get/1/0 queue.get/0/0 queue.put/1/0 queue.get/0/1"
	expect_eq "$tag: queue events: each at its caller's line" \
		"$(sql "qc-$tag.db" "SELECT group_concat(DISTINCT e.kind || ':' || f.line) FROM events e JOIN objects o USING(object_id) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE o.name = 'Queue queue_counts.py:28' AND e.kind LIKE 'queue.%'")" \
		"queue.put:29,queue.get:30"
	# A queue made before the program (by a sitecustomize), a reloaded queue
	# module, a subclass's get mocked after its first instance: every put
	# and get that ran is an event.
	mkdir -p "$WORK/qsite"
	printf 'import builtins, queue\nbuiltins.WEFT_TEST_EARLY_QUEUE = queue.Queue()\n' >"$WORK/qsite/sitecustomize.py"
	PYTHONPATH="$WORK/qsite" timeout 60 "$WEFT" run -o "qr-$tag.db" -- "$py" "$PY_TESTS/queue_reached.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "$tag: queues however reached: output, no warning" "$(cat "$WORK/out")/$(cat "$WORK/err")" "mocked True/"
	expect_eq "$tag: queues however reached: events in order" \
		"$(sql "qr-$tag.db" "SELECT group_concat(x, ' ') FROM (SELECT coalesce(o.name, '?') || ':' || e.kind AS x FROM events e LEFT JOIN objects o USING(object_id) WHERE e.kind LIKE 'queue.%' ORDER BY e.id)" | sed -E 's/queue@0x[0-9a-f]+/queue@ADDR/g')" \
		"queue@ADDR:queue.put queue@ADDR:queue.get Queue queue_reached.py:14:queue.put Queue queue_reached.py:14:queue.get Queue queue_reached.py:18:queue.put Queue queue_reached.py:18:queue.put Queue queue_reached.py:18:queue.get Q queue_reached.py:26:queue.put"
	# Caller stacks read from the interpreter's frames directly, checked against the C API.
	expect_eq "$tag: frames read directly" "$(sql "$db" "SELECT value FROM meta WHERE key='python.frames'")" direct
	# The thread state and Py_IsInitialized() read as the interpreter's own code reads them,
	# or called: the same stacks either way.
	expect_eq "$tag: thread state: a load or a call" "$(sql "$db" "SELECT value IN ('tls global', 'global global', 'call global', 'tls call', 'global call', 'call call') FROM meta WHERE key='python.tstate'")" 1
	WEFT_TEST_TSTATE_CALL=1 timeout 120 "$WEFT" run -o "tc-$tag.db" -- "$py" "$PY_TESTS/sync_objects.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "$tag: thread state by calls: said, no warning" "$(sql "tc-$tag.db" "SELECT value FROM meta WHERE key='python.tstate'")/$(cat "$WORK/err")" "call call/"
	expect_eq "$tag: thread state by calls: the same stacks" "$(sql "tc-$tag.db" "SELECT group_concat(site, ',') FROM (SELECT DISTINCT e.kind || ' ' || f.function || ':' || f.line AS site FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind IN ('queue.put', 'lock.acquire', 'lock.release') AND f.lang = 'python' ORDER BY 1)")" \
		"$(sql "$db" "SELECT group_concat(site, ',') FROM (SELECT DISTINCT e.kind || ' ' || f.function || ':' || f.line AS site FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind IN ('queue.put', 'lock.acquire', 'lock.release') AND f.lang = 'python' ORDER BY 1)")"
	WEFT_TEST_FRAME_SKEW=1 timeout 120 "$WEFT" run -o "sk-$tag.db" -- "$py" "$PY_TESTS/sync_objects.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "$tag: a frame layout that disagrees: one warning" "$(grep -c "frames are not laid out as weft expects" "$WORK/err")/$(grep -c . "$WORK/err")" 1/1
	expect_eq "$tag: a frame layout that disagrees: the API's stacks" "$(sql "sk-$tag.db" "SELECT group_concat(site, ',') FROM (SELECT DISTINCT f.function || ':' || f.line AS site FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind IN ('queue.put', 'lock.acquire') AND f.lang = 'python' ORDER BY 1)")" \
		"$(sql "$db" "SELECT group_concat(site, ',') FROM (SELECT DISTINCT f.function || ':' || f.line AS site FROM events e JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind IN ('queue.put', 'lock.acquire') AND f.lang = 'python' ORDER BY 1)")"
	# A Lock found taken. From 3.13.1 a Lock is a PyMutex, recorded through
	# weft's methods on its type; before, through its semaphore, where
	# CPython's first non-blocking try before a blocking or timed wait is
	# held back and dropped: the same events on every version.
	timeout 60 "$py" "$PY_TESTS/lock_contention.py" >"$WORK/plain" 2>&1
	timeout 60 "$WEFT" run -o "lc-$tag.db" -- "$py" "$PY_TESTS/lock_contention.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "$tag: Lock contention: output as without weft" "$(cat "$WORK/out")" "$(cat "$WORK/plain")"
	expect_eq "$tag: Lock contention: no warning" "$(cat "$WORK/err")" ""
	lc() { sql "lc-$tag.db" "SELECT group_concat(x, ' ') FROM (SELECT t.name || '/' || e.kind || '/' || e.arg AS x FROM events e JOIN threads t USING(tid) JOIN objects o USING(object_id) WHERE o.name = '$1' ORDER BY e.id)"; }
	expect_eq "$tag: Lock contention: events in order" "$(lc 'Lock lock_contention.py:8')" \
		"holder/lock.acquire/0 MainThread/lock.fail/11 MainThread/lock.fail/11 MainThread/lock.wait/256 MainThread/lock.fail/110 MainThread/lock.wait/0 holder/lock.release/0 MainThread/lock.acquire/0 MainThread/lock.release/0 MainThread/object.destroy/0"
	expect_eq "$tag: Lock contention: the real failures keep their line" "$(sql "lc-$tag.db" "SELECT group_concat(f.function || ':' || f.line, ' ') FROM events e JOIN objects o USING(object_id) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE o.name = 'Lock lock_contention.py:8' AND e.kind = 'lock.fail'")" \
		"<module>:23 <module>:23 <module>:23"
	# A Lock's methods called with and without arguments, on a free and a held Lock:
	# the same answers and errors as untraced, and the events of each call.
	timeout 60 "$py" "$PY_TESTS/lock_calls.py" >"$WORK/plain" 2>&1
	timeout 60 "$WEFT" run -o "lk-$tag.db" -- "$py" "$PY_TESTS/lock_calls.py" >"$WORK/out" 2>&1
	expect_eq "$tag: Lock calls: answers as without weft" "$(cat "$WORK/out")" "$(cat "$WORK/plain")"
	expect_eq "$tag: Lock calls: events" "$(sql "lk-$tag.db" "SELECT group_concat(x, ' ') FROM (SELECT t.name || '/' || e.kind || '/' || e.arg AS x FROM events e JOIN threads t USING(tid) JOIN objects o USING(object_id) WHERE o.name = 'Lock lock_calls.py:4' ORDER BY e.id)")" \
		"MainThread/lock.acquire/0 MainThread/lock.fail/11 MainThread/lock.wait/256 MainThread/lock.fail/110 MainThread/lock.fail/11 MainThread/lock.release/0 MainThread/lock.acquire/0 MainThread/lock.release/0 MainThread/lock.acquire/0 MainThread/lock.release/0 MainThread/object.destroy/0"
	# join() waits on the queue's all_tasks_done (its own cond.wait); the waits and
	# notifies inside put and get are folded into their events, never conditions' own.
	timeout 60 "$WEFT" run -o "qj-$tag.db" -- "$py" "$PY_TESTS/queue_join.py" >"$WORK/out" 2>&1
	expect_eq "$tag: queue join: output" "$(cat "$WORK/out")" "0 True"
	expect_eq "$tag: queue join: puts, gets, and only join's wait and task_done's broadcast" \
		"$(sql "qj-$tag.db" "SELECT group_concat(x, ' ') FROM (SELECT t.name || ':' || e.kind || ':' || count(*) AS x FROM events e JOIN threads t USING(tid) WHERE e.kind LIKE 'queue.%' OR e.kind LIKE 'cond.%' GROUP BY t.name, e.kind ORDER BY t.name, e.kind)")" \
		"MainThread:cond.wait:1 MainThread:queue.get:200 MainThread:queue.put:500 consumer:cond.broadcast:1 consumer:queue.get:500 producer:queue.put:200"
	# A contended `with` loop: waits, never a failed try.
	timeout 60 "$WEFT" run -o "wc-$tag.db" -- "$py" "$PY_TESTS/with_contention.py" >"$WORK/out" 2>&1
	expect_eq "$tag: contended with: output" "$(cat "$WORK/out")" "200 200 True"
	expect_eq "$tag: contended with: 200 acquires, no lock.fail, one lock.wait per contended acquire, some" \
		"$(sql "wc-$tag.db" "SELECT sum(e.kind = 'lock.acquire') || ' ' || sum(e.kind = 'lock.fail') || ' ' || (sum(e.kind = 'lock.wait') = sum(e.kind = 'lock.acquire' AND e.wait_ns > 0)) || ' ' || (sum(e.kind = 'lock.wait') > 0) FROM events e JOIN objects o USING(object_id) WHERE o.name = 'Lock with_contention.py:9'")" "200 0 1 1"
	expect_eq "$tag: contended with RLock: 201 outer acquires, 200 re-entries at level 2, 201 releases, no lock.fail, one lock.wait per contended acquire, some" \
		"$(sql "wc-$tag.db" "SELECT sum(e.kind = 'lock.acquire') || ' ' || group_concat(DISTINCT CASE WHEN e.kind = 'rlock.enter' THEN e.arg END) || ' ' || sum(e.kind = 'rlock.enter') || ' ' || sum(e.kind = 'lock.release') || ' ' || sum(e.kind = 'lock.fail') || ' ' || (sum(e.kind = 'lock.wait') = sum(e.kind = 'lock.acquire' AND e.wait_ns > 0)) || ' ' || (sum(e.kind = 'lock.wait') > 0) FROM events e JOIN objects o USING(object_id) WHERE o.name = 'RLock with_contention.py:10'")" "201 2 200 201 0 1 1"
	expect_eq "$tag: contended with: the report counts no failure" \
		"$("$WEFT" report --json "wc-$tag.db" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(*("%s %d" % (o["name"], o["failed"]) for o in d["locks"] if o["name"].startswith("Lock with_contention")))')" "Lock with_contention.py:9 0"
	expect_eq "$tag: Lock contention: the timeout and the blocked acquire waited" "$(sql "lc-$tag.db" "SELECT group_concat(w, ' ') FROM (SELECT e.kind || ':' || (e.wait_ns >= 15000000) AS w FROM events e JOIN objects o USING(object_id) WHERE o.name = 'Lock lock_contention.py:8' AND e.wait_ns > 0 ORDER BY e.id)")" "lock.fail:1 lock.acquire:1"
	expect_eq "$tag: Lock contention: _thread.allocate_lock() named, freed" "$(lc 'Lock lock_contention.py:32')" "MainThread/lock.acquire/0 MainThread/lock.release/0 MainThread/object.destroy/0"
	# A deadlock is found (PyMutex Locks: lock.wait precedes blocking); the waits, made
	# without the GIL on 3.10-3.13.0, point at the Python lines that block.
	timeout 60 "$WEFT" run -o "dl-$tag.db" -- "$py" "$PY_TESTS/deadlock.py" >/dev/null 2>&1
	expect_eq "$tag: Lock deadlock: stopped, both Locks named" "$?/$(sql "dl-$tag.db" "SELECT group_concat(object_name) FROM (SELECT DISTINCT i.object_name FROM finding_items i JOIN findings f USING(finding_id) WHERE f.kind='deadlock' ORDER BY 1)")" \
		"143/Lock deadlock.py:5,Lock deadlock.py:6"
	expect_eq "$tag: Lock deadlock: the waiters' Python lines" "$(sql "dl-$tag.db" "SELECT group_concat(function || ':' || line, ' ') FROM (SELECT i.function, i.line FROM finding_items i JOIN findings f USING(finding_id) WHERE f.kind='deadlock' ORDER BY i.line)")" \
		"one:12 two:19"
	expect_eq "$tag: Lock deadlock: every lock event has its Python line" "$(sql "dl-$tag.db" "SELECT group_concat(ev, ' ') FROM (SELECT e.kind || '@' || f.function || ':' || f.line AS ev FROM events e LEFT JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind IN ('lock.wait', 'lock.acquire') ORDER BY e.kind, f.function, e.id)")" \
		"lock.acquire@one:10 lock.acquire@two:17 lock.wait@one:12 lock.wait@two:19"
	# Timed waits that back off are no deadlock; an interrupted wait ends in lock.fail (EINTR).
	timeout 60 "$WEFT" run -o "tb-$tag.db" -- "$py" "$PY_TESTS/timed_backoff.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "$tag: timed back-off: not stopped, no deadlock" "$?/$(tr '\n' ' ' <"$WORK/out")/$(sql "tb-$tag.db" "SELECT count(*) FROM findings WHERE kind='deadlock'")" "0/recovered interrupted /0"
	expect_eq "$tag: timed back-off: both waits marked timed" "$(sql "tb-$tag.db" "SELECT group_concat(e.arg) FROM events e JOIN objects o USING(object_id) WHERE e.kind='lock.wait' AND o.name IN ('Lock timed_backoff.py:9', 'Lock timed_backoff.py:10')")" "256,256"
	expect_eq "$tag: interrupted acquire: wait, then fail EINTR" "$(sql "tb-$tag.db" "SELECT group_concat(e.kind || '/' || e.arg, ' ') FROM events e JOIN objects o USING(object_id) WHERE o.name='Lock timed_backoff.py:40' AND e.kind IN ('lock.wait', 'lock.fail') AND e.arg <> 11")" "lock.wait/0 lock.fail/4"
	expect_eq "$tag: Lock contention: no runtime-internal semaphores" "$(sql "lc-$tag.db" "SELECT count(*) FROM objects WHERE kind LIKE 'py.%' AND name NOT IN ('Lock lock_contention.py:8', 'Lock lock_contention.py:32') AND name NOT LIKE 'Event %' AND name NOT LIKE 'Lock of Condition %'")" 0
	# os.fork(): the child names its Python frames, and shows only the program's lock.
	timeout 60 "$WEFT" run -o "fk-$tag.db" -- "$py" "$PY_TESTS/fork_child_stacks.py" >/dev/null 2>&1
	expect_eq "$tag: fork child: lock events per process, with their function" "$(sql "fk-$tag.db" "SELECT group_concat(x, ' ') FROM (SELECT (e.pid = (SELECT min(pid) FROM processes)) || '/' || e.kind || '/' || o.name || '/' || f.function || ':' || f.line AS x FROM events e JOIN objects o USING(object_id) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind LIKE 'lock.%' ORDER BY e.pid, e.id)")" \
		"1/lock.acquire/Lock fork_child_stacks.py:8/work:12 1/lock.release/Lock fork_child_stacks.py:8/work:12 0/lock.acquire/Lock fork_child_stacks.py:8/work:12 0/lock.release/Lock fork_child_stacks.py:8/work:12"
	# A forked child's thread is named as Python names it, not by the kernel's 15 bytes.
	timeout 60 "$WEFT" run -o "fn-$tag.db" -- "$py" -W ignore "$PY_TESTS/fork_names.py" >/dev/null 2>&1
	expect_eq "$tag: fork child: the forking thread's Python name" "$(sql "fn-$tag.db" "SELECT group_concat(t.name || '/' || (t.py_ident > 0), ' ') FROM (SELECT t.* FROM threads t JOIN processes p USING(pid) WHERE p.ppid IN (SELECT pid FROM processes) ORDER BY t.start_ns) t")" \
		"MainThread/1 forker-with-a-long-name/1"
	timeout 60 "$WEFT" run -o "tr-$tag.db" -- "$py" "$PY_TESTS/thread_rename.py" >"$WORK/out" 2>&1
	expect_eq "$tag: threads renamed: program output" "$(cat "$WORK/out")" "renamed-itself-with-a-long-name renamed-from-outside Main-renamed"
	expect_eq "$tag: threads renamed: a thread's own new name, whole" "$(sql "tr-$tag.db" "SELECT group_concat(name, ' | ') FROM (SELECT name FROM threads ORDER BY start_ns)")" \
		"Main-renamed | renamed-itself-with-a-long-name | kept"
	# A multiprocessing.Queue's feeder waits on the queue's Condition: named
	# after the queue, with each put's notify on it at the put's line.
	timeout 60 "$WEFT" run -o "mf-$tag.db" -- "$py" "$PY_TESTS/mp_feeder.py" >"$WORK/out" 2>&1
	expect_eq "$tag: mp queue feeder: program output" "$(cat "$WORK/out")" 10
	expect_eq "$tag: mp queue feeder: its Condition named after the queue, a signal per put, the feeder's waits" "$(sql "mf-$tag.db" "SELECT (SELECT count(*) FROM events e JOIN objects o USING(object_id) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE o.name = 'Condition of Queue mp_feeder.py:8' AND e.kind = 'cond.signal' AND f.line = 10) || '/' || (SELECT count(*) > 0 FROM events e JOIN objects o USING(object_id) JOIN threads t USING(pid, tid) WHERE o.name = 'Condition of Queue mp_feeder.py:8' AND e.kind = 'cond.wait' AND t.name = 'QueueFeederThread')")" \
		"5/1"
	# Locks in loops: frames read from the remembered last stacks keep each event's own line.
	timeout 60 "$WEFT" run -o "ll-$tag.db" -- "$py" "$PY_TESTS/loop_lines.py" >/dev/null 2>&1
	expect_eq "$tag: locks in a loop: every event's line, parent and fork child" "$(sql "ll-$tag.db" "SELECT group_concat(k || '=' || c, ' ') FROM (SELECT k, count(*) c FROM (SELECT (e.pid = (SELECT min(pid) FROM processes)) || '/' || e.kind || '@' || coalesce(f.function, '?') || ':' || coalesce(f.line, 0) AS k FROM events e JOIN objects o USING(object_id) LEFT JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind LIKE 'lock.%' AND o.name = 'Lock loop_lines.py:10') GROUP BY k ORDER BY k)")" \
		"0/lock.acquire@loop:16=200 0/lock.acquire@loop:19=67 0/lock.acquire@loop:22=67 0/lock.release@loop:16=200 0/lock.release@loop:20=67 0/lock.release@loop:24=67 1/lock.acquire@loop:16=200 1/lock.acquire@loop:19=67 1/lock.acquire@loop:22=67 1/lock.release@loop:16=200 1/lock.release@loop:20=67 1/lock.release@loop:24=67"
	# A Condition's lock through threading.py's frames, remembered with the
	# program's frame one or two (across an entry frame) under them: one
	# `with` alternating between the Condition and a class taking it.
	timeout 60 "$WEFT" run -o "cl-$tag.db" -- "$py" "$PY_TESTS/cond_lines.py" >/dev/null 2>&1
	expect_eq "$tag: a Condition's lock through threading.py: every event's line" "$(sql "cl-$tag.db" "SELECT group_concat(k || '=' || c, ' ') FROM (SELECT k, count(*) c FROM (SELECT e.kind || '@' || replace(coalesce(f.function, '?'), 'Guard.', '') || ':' || coalesce(f.line, 0) AS k FROM events e LEFT JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind IN ('lock.acquire', 'lock.release', 'cond.signal')) GROUP BY k ORDER BY k)")" \
		"cond.signal@loop:28=300 lock.acquire@__enter__:15=150 lock.acquire@loop:27=150 lock.release@__exit__:18=150 lock.release@loop:27=150"
done

# One model of a Python thread's time (docs/DERIVED.md): a thread blocked in
# each kind of wait, in the middle of its longest wait, is in that wait's state
# on its object, for the whole wait; sleeping is "off GIL" (9). A Condition's
# waiter lets go of its lock. The report's split of every thread adds up.
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	db=st-$tag.db
	timeout 120 "$WEFT" run -o "$db" -- "$py" "$PY_TESTS/thread_states.py" >"$WORK/out" 2>&1
	expect_eq "$tag thread states: output" "$(cat "$WORK/out")" done
	"$WEFT" view --bench --frames 1 "$db" >/dev/null 2>&1
	expect_eq "$tag thread states: each thread's longest wait is one span of its state on its object" \
		"$(sqlite3 -readonly "$db" "ATTACH '$db-view' AS v; WITH w AS (SELECT t.name, e.kind, e.object_id, e.ts_ns, e.wait_ns, e.pid, e.tid, row_number() OVER (PARTITION BY e.tid ORDER BY e.wait_ns DESC) AS n FROM events e JOIN threads t USING(pid, tid) WHERE e.kind NOT LIKE 'gil.%' AND t.name NOT IN ('MainThread', 'sleeper')) SELECT group_concat(x, ' ') FROM (SELECT w.name || ':' || w.kind || ':' || (SELECT s.state || '/' || coalesce(s.object_id = w.object_id, '-') || '/' || (s.start_ns = w.ts_ns - w.wait_ns) || (s.end_ns = w.ts_ns) FROM v.thread_spans s WHERE s.pid = w.pid AND s.tid = w.tid AND s.start_ns <= w.ts_ns - w.wait_ns / 2 AND s.end_ns > w.ts_ns - w.wait_ns / 2) AS x FROM w WHERE n = 1 ORDER BY w.name)")" \
		"barrierwait:barrier.wait:4/1/11 condwait:cond.wait:3/1/11 eventwait:event.wait:10/1/11 getter:queue.get:7/1/11 joiner:thread.join:5/-/11 lockwait:lock.acquire:2/1/11 putter:queue.put:7/1/11 rlockwait:lock.acquire:2/1/11 semwait:lock.acquire:2/1/11"
	expect_eq "$tag thread states: a sleep is off the GIL" \
		"$(sqlite3 -readonly "$db" "ATTACH '$db-view' AS v; SELECT s.state FROM v.thread_spans s JOIN threads t USING(pid, tid) WHERE t.name = 'sleeper' ORDER BY s.end_ns - s.start_ns DESC LIMIT 1")" 9
	expect_eq "$tag thread states: the Condition's lock is let go during the wait and taken back" \
		"$(sql "$db" "SELECT group_concat(e.kind || '/' || e.arg, ' ') FROM events e JOIN threads t USING(pid, tid) JOIN objects o USING(object_id) WHERE t.name = 'condwait' AND o.name = 'RLock of Condition thread_states.py:10'")" \
		"lock.acquire/0 lock.release/2 lock.acquire/2 lock.release/0"
	expect_eq "$tag thread states: while MainThread holds the Condition's lock, it alone holds it" \
		"$(derived_sql "$db" "ATTACH '$db-view' AS v; WITH m AS (SELECT h.object_id, (h.start_ns + h.end_ns) / 2 AS t FROM v.object_holds h JOIN threads th USING(pid, tid) JOIN objects o USING(object_id) WHERE o.name = 'RLock of Condition thread_states.py:10' AND th.name = 'MainThread') SELECT group_concat(th.name) FROM m JOIN v.object_holds h ON h.object_id = m.object_id AND h.start_ns <= m.t AND h.end_ns > m.t JOIN threads th USING(pid, tid)")" MainThread
	"$WEFT" report --json "$db" >"$WORK/st.json"
	expect_eq "$tag thread states: the report's split adds up to each thread's lifetime; queue waits whole" \
		"$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
ts = [t for p in d["processes"] for t in p["threads"]]
bad = [t["name"] for t in ts if sum(t[k] for k in ("running_ns", "lock_wait_ns", "cond_wait_ns", "barrier_wait_ns", "join_wait_ns", "other_wait_ns")) != t["lifetime_ns"]]
q = {t["name"]: t.get("queue_wait_ns") for t in ts}
print(len(ts), bad, q["getter"] > 0, q["putter"] > 0)' "$WORK/st.json")" "11 [] True True"
	expect_eq "$tag thread states: a getter's queue wait in the report is its get's" \
		"$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(*(t["queue_wait_ns"] for p in d["processes"] for t in p["threads"] if t["name"] == "getter"))' "$WORK/st.json")" \
		"$(sql "$db" "SELECT e.wait_ns FROM events e JOIN threads t USING(pid, tid) WHERE t.name = 'getter' AND e.kind = 'queue.get'")"
	# Calls that never blocked ran: no wait span, not contended; a blocked acquire stays a wait.
	# A call the switch interval interrupts (the GIL let go and taken back inside it) counts as
	# a wait, which a loaded machine makes now and then: the build before made every call one
	# (200 of 200), so "fewer than 20" tells the two apart.
	db=uw-$tag.db
	timeout 120 "$WEFT" run -o "$db" -- "$py" "$PY_TESTS/uncontended_waits.py" >"$WORK/out" 2>&1
	expect_eq "$tag uncontended waits: output" "$(cat "$WORK/out")" done
	expect_eq "$tag uncontended waits: the producer's 600 puts, Semaphore and Event.waits ran" \
		"$(sqlite3 -readonly "$db" "ATTACH '$db-view' AS v; SELECT count(*) < 20 FROM v.thread_spans s JOIN threads t USING(pid, tid) WHERE t.name = 'producer' AND s.state IN (2, 3, 7, 8, 10)")" 1
	expect_eq "$tag uncontended waits: the main thread's 200 gets of queued items ran" \
		"$(sqlite3 -readonly "$db" "ATTACH '$db-view' AS v; SELECT count(*) < 20 FROM v.thread_spans s JOIN threads t USING(pid, tid) WHERE t.name = 'MainThread' AND s.state = 7")" 1
	expect_eq "$tag uncontended waits: contention: the Semaphore with room did not wait, the taken one once, 40+ ms" \
		"$(sql "$db" "SELECT group_concat(name || ':' || acquisitions || '/' || CASE WHEN contended < 20 AND acquisitions = 200 THEN 'few' ELSE contended END || '/' || (total_wait_ns >= 40000000), ' ') FROM (SELECT * FROM contention WHERE kind = 'py.semaphore' ORDER BY name)")" \
		"Semaphore uncontended_waits.py:11:200/few/0 Semaphore uncontended_waits.py:14:2/1/1"
	expect_eq "$tag uncontended waits: the blocked acquire is one lock-wait span on its Semaphore" \
		"$(sqlite3 -readonly "$db" "ATTACH '$db-view' AS v; SELECT count(*) || '/' || (sum(s.end_ns - s.start_ns) >= 40000000) FROM v.thread_spans s JOIN threads t USING(pid, tid) JOIN objects o USING(object_id) WHERE t.name = 'blocked' AND s.state = 2 AND o.name = 'Semaphore uncontended_waits.py:14'")" 1/1
	expect_eq "$tag uncontended waits: the queue's puts and gets, few contended; each event keeps its call's time" \
		"$(sqlite3 -readonly "$db" "ATTACH '$db-view' AS v; SELECT s.acquires || '/' || (s.contended < 20) || '/' || (SELECT count(*) FROM events e WHERE e.object_id = o.object_id AND e.wait_ns > 0) FROM v.object_stats s JOIN objects o USING(object_id) WHERE o.kind = 'queue'")" 400/1/400
	expect_eq "$tag uncontended waits: Event.wait of a set Event and a join of a finished thread wait 0" \
		"$(sql "$db" "SELECT (SELECT count(*) || '/' || (sum(wait_ns > 0) < 20) FROM events WHERE kind = 'event.wait') || ' ' || (SELECT wait_ns FROM events e JOIN threads t ON t.tid = e.arg WHERE e.kind = 'thread.join' AND t.name = 'producer' ORDER BY e.id DESC LIMIT 1)")" "200/1 0"
done

# GIL events carry the Python line where a thread let go of the GIL or took
# it back: in a CPU loop, the loop's lines, with caller and full stacks.
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	for mode in caller full; do
		timeout 120 "$WEFT" run --stacks "$mode" -o "gl-$tag-$mode.db" -- "$py" "$PY_TESTS/gil_lines.py" >"$WORK/out" 2>&1
		expect_eq "$tag GIL lines ($mode): output" "$(cat "$WORK/out")" spun
		expect_eq "$tag GIL lines ($mode): the spinning threads' named GIL events are at the loop's lines, and some are" \
			"$(sql "gl-$tag-$mode.db" "SELECT sum(f.function || ':' || f.line NOT IN ('spin:5', 'spin:6')) || ' ' || (count(*) > 0) FROM events e JOIN threads t USING(pid, tid) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind IN ('gil.acquire', 'gil.release') AND t.name LIKE 'spin%'")" "0 1"
		expect_eq "$tag GIL lines ($mode): a forced switch's release is named" \
			"$(sql "gl-$tag-$mode.db" "SELECT count(*) > 0 FROM events s JOIN events r ON r.tid = s.tid AND r.ts_ns = s.ts_ns AND r.kind = 'gil.release' JOIN stack_frames f ON f.stack_id = r.stack_id AND f.depth = 0 WHERE s.kind = 'gil.forced_switch' AND f.function = 'spin'")" 1
	done
	# Workers that never take a stack themselves (no lock, no queue) let the
	# GIL go in nap(): named once another thread's stack has defined the code.
	timeout 120 "$WEFT" run -o "gn-$tag.db" -- "$py" "$PY_TESTS/gil_names.py" >"$WORK/out" 2>&1
	expect_eq "$tag GIL names: exit" "$?:$(cat "$WORK/out")" 0:
	expect_eq "$tag GIL names: each worker's GIL releases in nap() named at its line" \
		"$(sql "gn-$tag.db" "SELECT group_concat(name) FROM (SELECT DISTINCT t.name FROM events e JOIN threads t USING(pid, tid) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind = 'gil.release' AND t.name LIKE 'w%' AND f.function = 'nap' AND f.line = 8 ORDER BY t.name)")" w0,w1,w2
	expect_eq "$tag GIL names: the lone main thread's second and third releases in doze(), named at an audit event" \
		"$(sql "gn-$tag.db" "SELECT count(*) FROM events e JOIN threads t USING(pid, tid) JOIN stack_frames f ON f.stack_id = e.stack_id AND f.depth = 0 WHERE e.kind = 'gil.release' AND t.name = 'MainThread' AND f.function = 'doze' AND f.line = 17")" 2
done

# Full stacks: Python frames (innermost first) then native frames.
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	# 3.10 codes have no co_qualname: the method is named "run" there.
	run=$("$py" -c 'import sys; print("Thread.run" if sys.version_info >= (3, 11) else "run")')
	timeout 120 "$WEFT" run --stacks full -o "full-$tag.db" -- "$py" "$PY_TESTS/sync_objects.py" >/dev/null 2>&1
	expect_eq "$tag full stacks: producer then $run" "$(sql "full-$tag.db" "SELECT count(*) > 0 FROM events e JOIN stack_frames f0 ON f0.stack_id=e.stack_id AND f0.depth=0 JOIN stack_frames f1 ON f1.stack_id=e.stack_id AND f1.depth=1 WHERE e.kind='queue.put' AND f0.function='producer' AND f1.function='$run' AND f1.lang='python'")" 1
	expect_eq "$tag full stacks: native frames follow" "$(sql "full-$tag.db" "SELECT count(*) > 0 FROM events e JOIN stack_frames f USING(stack_id) WHERE e.kind='lock.acquire' AND f.lang='native'")" 1
done

# Locks used as Python allows give no misuse (tests/py/lock_signals.py): a
# Lock handed between threads (one foreign_release note), one a thread ends
# holding that nobody wants again, one freed while locked (up to 3.13 CPython
# releases it in the freeing thread first), a signal Lock taken in both
# orders; the RLock a thread ends holding, which main then waits for, stays.
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	timeout 120 "$WEFT" run -o "signals-$tag.db" -- "$py" "$PY_TESTS/lock_signals.py" >"$WORK/signals.out" 2>&1
	expect_eq "$tag Lock signals: exit status and output" "$?:$(head -1 "$WORK/signals.out")" "0:waited: False"
	expect_eq "$tag Lock signals: the findings" \
		"$(sql "signals-$tag.db" "SELECT group_concat(f.rule || '=' || (SELECT group_concat(DISTINCT i.object_name) FROM finding_items i WHERE i.finding_id = f.finding_id), ' ') FROM (SELECT * FROM findings ORDER BY rule) f")" \
		"exit_holding=RLock lock_signals.py:39 foreign_release=Lock lock_signals.py:9"
done

# Correct code gives no finding: a thread pool's SimpleQueue lock is the
# queue's own (its put releases what a worker waits on).
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	timeout 120 "$WEFT" run --fail-on all -o "pool-$tag.db" -- "$py" "$PY_TESTS/pool_correct.py" >"$WORK/pool.out" 2>&1
	expect_eq "$tag thread pool: --fail-on all exits 0 on correct code" "$?:$(head -1 "$WORK/pool.out")" "0:2646700"
	# the findings themselves, not a count: a failure shows which rule fired
	expect_eq "$tag thread pool: no findings" \
		"$(sql "pool-$tag.db" "SELECT group_concat(kind || '/' || rule || ': ' || summary, '; ') FROM findings")" ""
	expect_eq "$tag thread pool: the SimpleQueue's puts recorded as queue events" "$(sql "pool-$tag.db" "SELECT count(*) >= 200 FROM events e JOIN objects o USING(object_id) WHERE e.kind='queue.put' AND o.name LIKE 'SimpleQueue %'")" 1
	# The executor's idle-worker semaphore is its bookkeeping: no events, not in the report.
	expect_eq "$tag thread pool: the idle semaphore records nothing" "$(sql "pool-$tag.db" "SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE o.name LIKE 'Semaphore %futures/thread.py:%'")" 0
	expect_eq "$tag thread pool: no executor lock in the report's locks" "$("$WEFT" report "pool-$tag.db" | sed -n '/^Top contended/,/^$/p' | grep -c 'futures/thread.py')" 0
done

# SimpleQueue's methods wrapped in C: exact counts, and a daemon thread
# blocked in get at exit is found there (its wait recorded on the queue).
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	timeout 60 "$WEFT" run -o "sq-$tag.db" -- "$py" "$PY_TESTS/simplequeue_exit.py" >"$WORK/out" 2>&1
	expect_eq "$tag SimpleQueue: run" "$?:$(cat "$WORK/out")" "0:left 0"
	expect_eq "$tag SimpleQueue: puts and gets" "$(sql "sq-$tag.db" "SELECT group_concat(n, ' ') FROM (SELECT e.kind || '=' || count(*) AS n FROM events e JOIN objects o USING(object_id) WHERE o.name LIKE 'SimpleQueue simplequeue_exit.py:%' AND e.kind LIKE 'queue.%' GROUP BY e.kind ORDER BY e.kind)")" "queue.get=6 queue.put=6"
	expect_eq "$tag SimpleQueue: the consumer's wait at exit" "$(sql "sq-$tag.db" "SELECT t.name FROM events e JOIN objects o USING(object_id) JOIN threads t USING(pid, tid) WHERE e.kind = 'lock.wait' AND o.name LIKE 'SimpleQueue simplequeue_exit.py:%'")" consumer
done

# The convoy effect: an I/O thread next to a CPU-bound one waits about one
# switch interval per GIL take, and the wait follows sys.setswitchinterval.
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	for iv in 0.005 0.001; do
		timeout 120 "$WEFT" run -o "cv-$tag-$iv.db" -- "$py" "$PY_TESTS/convoy.py" "$iv" >/dev/null 2>&1
		# Median GIL wait of the main (I/O) thread over its long waits, in microseconds.
		med=$(sql "cv-$tag-$iv.db" "WITH w AS (SELECT wait_ns FROM events e JOIN threads t USING(pid, tid) WHERE e.kind='gil.acquire' AND t.name='MainThread' AND e.wait_ns > 100000) SELECT wait_ns/1000 FROM w ORDER BY wait_ns LIMIT 1 OFFSET (SELECT count(*)/2 FROM w)")
		want=$(awk -v iv="$iv" 'BEGIN { print iv * 1e6 }')
		# At least about one interval (the convoy); more only when the machine is busy
		# (the GIL's holder waits for a CPU too), which is no fault of the trace.
		expect_eq "$tag convoy $iv: I/O thread waits at least about one interval (${med}us vs ${want}us)" \
			"$(awk -v m="${med:-0}" -v w="$want" 'BEGIN { print (m > 0.5 * w) ? "yes" : "no" }')" yes
		expect_eq "$tag convoy $iv: drop requests recorded" "$(sql "cv-$tag-$iv.db" "SELECT count(*) > 10 FROM events WHERE kind='gil.drop_request'")" 1
		# The CPU thread is the one made to let go; the I/O thread yields by itself.
		expect_eq "$tag convoy $iv: forced switches are the CPU thread's" "$(sql "cv-$tag-$iv.db" "SELECT sum(t.name = 'cpu') > 10 AND sum(t.name = 'cpu') > 5 * sum(t.name = 'MainThread') FROM events e JOIN threads t USING(pid, tid) WHERE e.kind = 'gil.forced_switch'")" 1
		expect_eq "$tag convoy $iv: interval in meta" "$(sql "cv-$tag-$iv.db" "SELECT value FROM meta WHERE key='python.switch_interval_us'")" "$want"
	done
done

# Start-up modes: -c, -m, -I, -E, -S, and pyenv's shim (a bash script that execs python).
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	for mode in "-c" "-I" "-E" "-S" "-m"; do
		case $mode in
		-c) args=(-c "exec(open('$PY_TESTS/modmain.py').read())") ;;
		-m) args=(-m modmain) ;;
		*) args=("$mode" "$PY_TESTS/modmain.py") ;;
		esac
		(cd "$PY_TESTS" && timeout 60 "$WEFT" run -o "$WORK/mode.db" -- "$py" "${args[@]}" >"$WORK/out" 2>&1)
		expect_eq "$tag start-up $mode: output" "$(cat "$WORK/out")" "done"
		expect_eq "$tag start-up $mode: Python layer active" "$(sql mode.db "SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE o.kind='py.lock' AND o.name LIKE 'Lock %:4' AND e.kind='lock.acquire'")" 10
		expect_eq "$tag start-up $mode: thread name" "$(sql mode.db "SELECT count(*) FROM threads WHERE name='modworker'")" 1
	done
done
if [ ${#interpreters[@]} -gt 0 ]; then
	shim=$(command -v python3 2>/dev/null || true)
	if [ -n "$shim" ] && [[ "$shim" == */shims/* ]]; then
		timeout 60 "$WEFT" run -o shim.db -- "$shim" "$PY_TESTS/modmain.py" >"$WORK/out" 2>&1
		expect_eq "pyenv shim: output" "$(cat "$WORK/out")" "done"
		expect_eq "pyenv shim: traced through bash exec" "$(sql shim.db "SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE o.kind='py.lock' AND o.name LIKE 'Lock %:4' AND e.kind='lock.acquire'")" 10
	else
		skip "pyenv shim" "no pyenv shim for python3.12 on PATH"
	fi
fi

# Process trees from Python.
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	for method in fork spawn forkserver; do
		timeout 120 "$WEFT" run -o "tree-$tag-$method.db" -- "$py" "$PY_TESTS/procs.py" "$method" >"$WORK/out" 2>&1
		expect_eq "$tag $method: output" "$(tr '\n' ' ' <"$WORK/out")" "mp child True 0 subprocess 4 fork 6 posix_spawn 0 "
		db=tree-$tag-$method.db
		expect_eq "$tag $method: worker labeled" "$(sql "$db" "SELECT count(*) FROM processes WHERE name='weft-worker' AND exit_code=0")" 1
		expect_eq "$tag $method: subprocess child" "$(sql "$db" "SELECT count(*) FROM processes WHERE exit_code=4 AND argv LIKE '%sys.exit(4)%'")" 1
		expect_eq "$tag $method: os.fork child" "$(sql "$db" "SELECT count(*) FROM processes WHERE exit_code=6")" 1
		expect_eq "$tag $method: multiprocessing.Queue" "$(sql "$db" "SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE o.name LIKE 'Queue procs.py:%' AND e.kind='queue.get'")" 1
	done
done

# An interpreter weft does not support: the pthread-level trace and one warning line.
old=$(ls -d "$pyroot"/versions/3.9.*/bin/python3.9 2>/dev/null | tail -1)
if [ -n "$old" ]; then
	timeout 60 "$WEFT" run -o old.db -- "$old" -c "import threading; t = threading.Thread(target=print); t.start(); t.join()" >/dev/null 2>"$WORK/err"
	expect_eq "python 3.9: one warning line" "$(grep -c 'not supported' "$WORK/err")" 1
	expect_eq "python 3.9: pthread-level trace" "$(sql old.db "SELECT count(*) FROM events WHERE kind='thread.start'")" 1
else
	skip "unsupported interpreter warning" "no CPython 3.9 under pyenv"
fi

# 3.13+ layouts come from the interpreter's _Py_DebugOffsets. Ones that are not
# this version's, and a free-threaded build (none is at hand: the flag is
# simulated), get the pthread-level trace and one warning line, never a crash.
dbg=
for entry in "${interpreters[@]}"; do
	"${entry#*:}" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null && dbg=${entry#*:}
done
if [ -n "$dbg" ]; then
	for mode in cookie free-threaded; do
		WEFT_TEST_DEBUG_OFFSETS=$mode timeout 60 "$WEFT" run -o "do-$mode.db" -- "$dbg" -c "import threading; t = threading.Thread(target=print); t.start(); t.join()" >"$WORK/out" 2>"$WORK/err"
		case $mode in
		cookie) want="runtime layout is not the one weft knows" ;;
		*) want="is a free-threaded build (no GIL), not supported" ;;
		esac
		expect_eq "debug offsets $mode: exit, output" "$?/$(cat "$WORK/out")" "0/"
		expect_eq "debug offsets $mode: one warning line" "$(grep -c "$want" "$WORK/err")/$(grep -c . "$WORK/err")" 1/1
		expect_eq "debug offsets $mode: pthread-level trace only" "$(sql "do-$mode.db" "SELECT (SELECT count(*) FROM events WHERE kind='thread.start') || ' ' || (SELECT count(*) FROM objects WHERE kind = 'gil' OR kind LIKE 'py.%') || ' ' || (SELECT count(*) FROM threads WHERE py_ident > 0)")" "1 0 0"
	done
else
	skip "debug offsets fallback" "no CPython 3.13+ found"
fi

# A thread's ring is 512K words: tests/py/ring_laps.py's worker writes a
# one-word record at each end of a `with lock:` block, so past 256K blocks
# its ring has gone round. Records past that first lap take the same
# inlined path as on it (callgrind: instructions a block for blocks
# 100K-200K against 600K-700K; the head is past the ring's size from the
# second lap on, and a check that compared it with the backed words sent
# every later record the slow way, about 600 instructions more a block on
# 3.14), and going round is no wait for ring space (threads.producer_waits
# counted one a lap). Where the inlined path is: 3.13+, else Debian's 3.11.
lap_py=/usr/bin/python3.11
for entry in "${interpreters[@]}"; do
	"${entry#*:}" -c 'import sys; sys.exit(sys.version_info < (3, 14))' 2>/dev/null && lap_py=${entry#*:} && break
done
if [ ! -x "$lap_py" ]; then
	skip "ring laps" "no python3.11 nor CPython 3.14+"
else
	timeout 120 "$WEFT" run -o laps.db -- "$lap_py" "$PY_TESTS/ring_laps.py" 2000000 >"$WORK/out" 2>&1
	expect_eq "ring laps: exit" "$?" 0
	# Counted one a lap, the waits were 7 or more; a loaded machine (CI's
	# other jobs) can make the collector late for real, once or twice.
	expect_eq "ring laps: 2M blocks, 8 laps: every record, going round is no wait for ring space" \
		"$(sql laps.db "SELECT (SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE o.name='Lock ring_laps.py:8' AND e.kind LIKE 'lock.%') || ' ' || (producer_waits < 7) FROM threads WHERE name='laps'")" "4000000 1"
	if [ -n "${WEFT_VALGRIND:-}" ] || ! command -v callgrind_annotate >/dev/null; then
		skip "ring laps: instructions" "no callgrind here, or under valgrind already"
	else
		laps_instr() {
			rm -f "$WORK"/cg.*
			PYTHONHASHSEED=0 timeout 300 "$WEFT_PLAIN" run -o laps-cg.db -- valgrind --tool=callgrind \
				--callgrind-out-file="$WORK/cg.%p" "$lap_py" "$PY_TESTS/ring_laps.py" "$1" >/dev/null 2>&1
			# The largest output is the interpreter's.
			callgrind_annotate "$(ls -S "$WORK"/cg.* | head -1)" 2>/dev/null |
				awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
		}
		i1=$(laps_instr 100000) i2=$(laps_instr 200000) i6=$(laps_instr 600000) i7=$(laps_instr 700000)
		if [ -n "$i1" ] && [ -n "$i2" ] && [ -n "$i6" ] && [ -n "$i7" ]; then
			first=$(((i2 - i1) / 100000)) past=$(((i7 - i6) / 100000))
			if [ "$first" -gt 0 ] && [ $((past * 100)) -le $((first * 103)) ]; then
				pass "ring laps: instructions a block past the first lap as on it ($past / $first)"
			else
				fail "ring laps: instructions a block past the first lap as on it" "$past past it against $first on it"
			fi
		else
			fail "ring laps: instructions" "callgrind gave no totals ($i1/$i2/$i6/$i7)"
		fi
	fi
	rm -f laps.db laps-cg.db
fi

# Issue #17's OpenSSL burst (bench/py/ssl_burst.py): 8 threads whose
# OpenSSL rwlock events (millions) reach the writer late all the time, as
# the scheduler preempts them. The trace is complete and in time order.
# The plain build: under the sanitizers this run alone takes minutes.
ssl_py=/usr/bin/python3.11
[ -x "$ssl_py" ] || ssl_py=$(command -v python3)
if "$ssl_py" -c 'import ssl' 2>/dev/null; then
	timeout 600 "$WEFT_PLAIN" run -o ssl.db -- "$ssl_py" "$ROOT/bench/py/ssl_burst.py" >"$WORK/out" 2>"$WORK/err"
	expect_eq "ssl burst: exit" "$?" 0
	expect_eq "ssl burst: complete" "$(sql ssl.db "SELECT value FROM meta WHERE key='complete'")" 1
	expect_eq "ssl burst: every event written is in the trace" \
		"$(sql ssl.db "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key='events') = (SELECT count(*) FROM ev)")" 1
	expect_eq "ssl burst: millions of rwlock events" \
		"$(sql ssl.db "SELECT count(*) > 1000000 FROM events e JOIN objects o USING(object_id) WHERE o.kind='rwlock'")" 1
	expect_eq "ssl burst: id order is time order" \
		"$(sql ssl.db "SELECT count(*) FROM ev a JOIN ev b ON b.id = a.id + 1 WHERE b.ts < a.ts")" 0
	expect_eq "ssl burst: ids are 1..n" "$(sql ssl.db "SELECT max(id) = count(*) FROM ev")" 1
	rm -f ssl.db
else
	skip "ssl burst" "$ssl_py has no ssl module"
fi
