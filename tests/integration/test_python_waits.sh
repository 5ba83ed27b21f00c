# Python's named waits in Python's terms (issue #18), on every interpreter:
# tests/py/python_waits.py blocks one thread in each of Queue.get,
# Condition.wait, Event.wait, a Lock acquire, Thread.join of a named thread
# and time.sleep, and leaves a daemon thread ("stuck") in Queue.get when it
# exits. The trace's derived spans, weft report's split and the real viewer
# in tmux (its state panel at an instant where they all wait) name each.

if ! command -v tmux >/dev/null; then
	skip waits:tmux "tmux is not installed"
	return 0
fi
TM="tmux -u -L weft-waits-$$ -f /dev/null"
trap '$TM kill-server 2>/dev/null; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/weft-waits-$$"' EXIT

screen() { $TM capture-pane -p -t v 2>/dev/null; }

# expect_screen NAME REGEX: polls the screen for up to 10 s (ASan start-up is slow)
expect_screen() {
	local i
	for i in $(seq 1 100); do
		if screen | grep -Eq -- "$2"; then
			pass "$1"
			return
		fi
		sleep 0.1
	done
	fail "$1" "screen does not match /$2/: $(screen | grep -v '^$' | head -40)"
}

keys() {
	$TM send-keys -t v "$@"
	sleep 0.3
}

find_interpreters "waits: " 3.10 3.11 3.12 3.13 3.14 3.15
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	db=w-$tag.db
	timeout 120 "$WEFT" run -o "$db" -- "$py" "$TESTS/py/python_waits.py" >out 2>&1
	expect_eq "$tag waits: runs, output untouched" "$?:$(cat out)" "0:done"
	# the viewer tables weft run built beside the trace
	q() { sqlite3 -readonly "$db" "ATTACH '$db-view' AS v; $1"; }
	span="SELECT s.state || ' ' || coalesce(o.name, '-') FROM v.thread_spans s
		JOIN threads t USING(pid, tid) LEFT JOIN objects o ON o.object_id = s.object_id"

	# ---- a daemon thread still in Queue.get at exit waits on the queue to the end
	expect_eq "$tag waits: stuck's last span is a queue wait on leftover" \
		"$(q "$span WHERE t.name = 'stuck' ORDER BY s.end_ns DESC LIMIT 1")" "7 Queue python_waits.py:10"
	expect_eq "$tag waits: stuck lives to its process's end" \
		"$(q "SELECT t.end_ns = p.end_ns FROM threads t JOIN processes p USING(pid) WHERE t.name = 'stuck'")" 1
	expect_eq "$tag waits: stuck is never off GIL" \
		"$(q "SELECT count(*) FROM v.thread_spans s JOIN threads t USING(pid, tid) WHERE t.name = 'stuck' AND s.state = 9")" 0
	expect_eq "$tag waits: stuck's lock.wait on the queue, in its own name" \
		"$(q "SELECT count(*) FROM events e JOIN threads t USING(pid, tid) JOIN objects o ON o.object_id = e.object_id WHERE t.name = 'stuck' AND e.kind = 'lock.wait' AND o.name = 'Queue python_waits.py:10'")" 1
	expect_eq "$tag waits: the main thread keeps no queue wait of the others" \
		"$(q "SELECT count(*) FROM events e JOIN threads t USING(pid, tid) JOIN objects o ON o.object_id = e.object_id WHERE t.name = 'MainThread' AND e.kind = 'lock.wait' AND o.name LIKE 'Queue %'")" 0
	"$WEFT" report --json "$db" >report.json 2>report.err
	expect_eq "$tag waits: report: stuck's split is its lifetime, its wait a queue wait" \
		"$(python3 -c '
import json, sys
d = json.load(open("report.json"))
t = [t for p in d["processes"] for t in p["threads"] if t["name"] == "stuck"][0]
split = sum(t[k] for k in ("running_ns", "lock_wait_ns", "cond_wait_ns", "barrier_wait_ns",
                           "join_wait_ns", "other_wait_ns"))
print(split == t["lifetime_ns"], t["off_gil_ns"], t["queue_wait_ns"] > t["lifetime_ns"] // 2)')" \
		"True 0 True"

	"$WEFT" export "$db" --format chrome -o w.json 2>export.err
	expect_eq "$tag waits: export: stuck's last slice waits on leftover to its end" \
		"$(python3 -c '
import json, sqlite3, sys
ev = json.load(open("w.json"))
ev = ev["traceEvents"] if isinstance(ev, dict) else ev
tid = [e["tid"] for e in ev if e.get("ph") == "M" and e.get("name") == "thread_name"
       and e["args"]["name"] == "stuck"][0]
last = max((e for e in ev if e.get("tid") == tid and e.get("ph") == "X"),
           key=lambda e: e["ts"] + e["dur"])
end = sqlite3.connect(sys.argv[1]).execute(
    "SELECT end_ns FROM threads WHERE name = ?", ("stuck",)).fetchone()[0]
print(last["name"], round((last["ts"] + last["dur"]) * 1000) == end)' "$db")" \
		"wait Queue python_waits.py:10 True"

	# ---- the viewer's state panel at an instant where every one waits
	# The latest start and the earliest end of the eight waits: the cursor
	# between them (the program lets them go only after they all started).
	waits="SELECT s.start_ns AS a, s.end_ns AS b FROM v.thread_spans s JOIN threads t USING(pid, tid)
		WHERE (t.name, s.state) IN (VALUES ('take_job', 7), ('wait_cond', 3), ('wait_flag', 10),
		('take_mutex', 2), ('join_target', 5), ('nap', 9), ('stuck', 7), ('target', 10))
		AND s.end_ns - s.start_ns > 100000000"
	expect_eq "$tag waits: eight waits overlap" "$(q "SELECT count(*), max(a) < min(b) FROM ($waits)")" "8|1"
	at=$(q "SELECT (max(a) + min(b)) / 2 FROM ($waits)")
	$TM has-session -t keep 2>/dev/null || $TM new-session -d -s keep "sleep 600"
	$TM kill-session -t v 2>/dev/null
	$TM new-session -d -s v -x 150 -y 50 "$WEFT view --ascii --no-color $db; sleep 30"
	expect_screen "$tag view: opens" 'window 0ns'
	keys g "${at}ns" Enter
	keys s
	keys z
	expect_screen "$tag view: Queue.get" ' take_job +queue wait on Queue python_waits\.py:9 since'
	expect_screen "$tag view: Condition.wait" ' wait_cond +cond wait on Condition python_waits\.py:11 since'
	expect_screen "$tag view: Event.wait" ' wait_flag +event wait on Event python_waits\.py:12 since'
	expect_screen "$tag view: Lock acquire" ' take_mutex +lock wait on Lock python_waits\.py:13 since'
	expect_screen "$tag view: Lock's holder" 'why: Lock python_waits\.py:13 is held by [A-Z] [0-9]+ MainThread since'
	expect_screen "$tag view: join of a named thread" ' join_target +join of [A-Z] [0-9]+ target since'
	expect_screen "$tag view: what the joined thread does" '^ +target is in event wait on Event python_waits\.py:12 since'
	expect_screen "$tag view: time.sleep off GIL at its line" ' nap +off GIL at python_waits\.py:45 in nap since'
	expect_screen "$tag view: the main thread's sleep" ' MainThread +off GIL at python_waits\.py:60 in <module> since'
	expect_screen "$tag view: the daemon stuck at exit" ' stuck +queue wait on Queue python_waits\.py:10 since'
	# Waits nobody holds, which the main thread ends after its sleep: by what, and what it does meanwhile.
	expect_screen "$tag view: the put that ends Queue.get" '^ +ended by [A-Z] [0-9]+ MainThread.s queue\.put at '
	expect_screen "$tag view: the notify_all that ends Condition.wait" '^ +ended by [A-Z] [0-9]+ MainThread.s cond\.broadcast at '
	expect_screen "$tag view: the set that ends Event.wait" '^ +ended by [A-Z] [0-9]+ MainThread.s event\.set at '
	expect_screen "$tag view: what the main thread does meanwhile" '^ +meanwhile MainThread is off GIL at python_waits\.py:60 in <module> since'
	keys q
done
