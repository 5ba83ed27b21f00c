# The Python race detector (weft run --races) on the corpus in tests/py/races:
# every racy_*.py must give exactly one race finding, with its expected rule
# on the expected location, every clean_*.py none, on every interpreter
# present. The expectation is each file's "# expect:" line; "# keys: N" is
# how many keys the finding names; "# runs: N" runs it N times (found each).

RACES=$TESTS/py/races
# (pyenv's 3.11 is the version Debian's interpreter already covers)
find_interpreters "races: " 3.10 3.12 3.13 3.14 3.15

for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	for f in "$RACES"/racy_*.py "$RACES"/clean_*.py; do
		name=$(basename "$f" .py)
		expect=$(sed -n 's/^# expect: //p' "$f")
		case $expect in skip*) continue ;; esac
		keys=$(sed -n 's/^# keys: //p' "$f")
		runs=$(sed -n 's/^# runs: //p' "$f")
		db=$WORK/races-$tag-$name.db
		untraced=$(cd "$RACES" && timeout 60 "$py" "$f" 2>&1)
		found=0
		for run in $(seq "${runs:-1}"); do
			(cd "$RACES" && timeout 120 "$WEFT" run --races -o "$db" -- "$py" "$f") \
				>"$WORK/out" 2>"$WORK/err"
			rc=$?
			[ "$run" = 1 ] && expect_eq "$tag $name: exit status and output as untraced" \
				"$rc $(cat "$WORK/out")" "0 $untraced"
			got=$(sql "$db" "SELECT group_concat(rule, ' ') FROM findings WHERE kind = 'race'")
			if [ "$expect" = none ]; then
				expect_eq "$tag $name: no race finding" "$got" ""
				continue
			fi
			rule=${expect%% *}
			loc=${expect#* }
			[ "$got" = "$rule" ] && [ "$(sql "$db" "SELECT count(*) FROM findings WHERE kind = 'race' AND instr(summary, ' on $loc') > 0${keys:+ AND instr(summary, '($keys keys)') > 0}")" = 1 ] &&
				found=$((found + 1))
			[ "$run" = 1 ] && expect_eq "$tag $name: one finding, its rule" "$got" "$rule"
		done
		[ "$expect" != none ] && expect_eq "$tag $name: found on $loc${keys:+ ($keys keys)} in every run" \
			"$found" "${runs:-1}"
	done
done

# One trace looked at closely (Debian's interpreter, else the first one present).
py=${interpreters[0]#*:}
db=$WORK/races-getitem.db
(cd "$RACES" && "$WEFT" run --races -o "$db" -- "$py" racy_getitem.py) >/dev/null 2>&1
# However the threads interleave (a read before or after the other's store,
# both stores, which keys), the bug is one finding covering every occurrence.
expect_eq "getitem: one finding covering every occurrence" \
	"$(sql "$db" "SELECT count(*), sum(count) = (SELECT count(*) FROM race), rule FROM findings WHERE kind = 'race'")" "1|1|check_then_act"
fid=$(sql "$db" "SELECT finding_id FROM findings WHERE kind = 'race'")
expect_eq "getitem: every detailed occurrence's two events are participants" \
	"$(sql "$db" "SELECT count(*) FROM finding_items WHERE finding_id = $fid AND role IN ('access', 'occurrence') AND event_id IS NOT NULL")" \
	"$(sql "$db" "SELECT 2 * count(*) FROM race WHERE location IS NOT NULL")"
expect_eq "getitem: its keys are named, with their count" \
	"$(sql "$db" "SELECT instr(summary, ' keys): ') > 0 FROM findings WHERE finding_id = $fid")" 1
expect_eq "getitem: both accesses name their thread, site and event" \
	"$(sql "$db" "SELECT group_concat(role || ' ' || (thread_name LIKE 'worker-%') || ' ' || function || ' ' || (file LIKE '%racy_getitem.py') || ' ' || (event_id IS NOT NULL), ',') FROM finding_items WHERE finding_id = $fid AND role = 'access'")" \
	"access 1 getitem 1 1,access 1 getitem 1 1"
expect_eq "getitem: the two threads differ" \
	"$(sql "$db" "SELECT count(DISTINCT tid) FROM finding_items WHERE finding_id = $fid AND role = 'access'")" 2
expect_eq "getitem: events are race.access in those threads" \
	"$(sql "$db" "SELECT count(*) FROM finding_items i JOIN events e ON e.id = i.event_id AND e.tid = i.tid WHERE e.kind = 'race.access' AND i.finding_id = $fid AND i.role = 'access'")" 2
expect_eq "getitem: the earlier access came first" \
	"$(sql "$db" "SELECT a.ts_ns <= b.ts_ns FROM finding_items a, finding_items b WHERE a.seq = 0 AND b.seq = 1 AND a.finding_id = $fid AND b.finding_id = $fid")" 1
expect_eq "getitem: full Python stacks (worker frame under getitem)" \
	"$(sql "$db" "SELECT group_concat(f.function, '<') FROM finding_items i JOIN stack_frames f USING(stack_id) WHERE i.seq = 1 AND f.depth <= 1 AND i.finding_id = $fid")" \
	"getitem<worker"
expect_match "getitem: the summary says what happened" \
	"$(sql "$db" "SELECT summary FROM findings WHERE finding_id = $fid")" \
	"^check-then-act race on cache\[[0-9]+\](, cache\[[0-9]+\])*(, \.\.\.)?( \([0-9]+ keys\))?: thread [0-9]+ 'worker-[01]' [a-z() ]+ it at racy_getitem.py:1[36] \(getitem\), thread [0-9]+ 'worker-[01]' [a-z() ]+ it at racy_getitem.py:1[36] \(getitem\); no lock held$"
expect_match "getitem: weft report lists it first" \
	"$("$WEFT" report "$db" | sed -n '/^Findings/,+2p')" "race \(check_then_act\)"
expect_eq "getitem: weft report --json: the findings array with its documented fields" \
	"$("$WEFT" report "$db" --json | "$py" -c '
import json, sys
f = json.load(sys.stdin)["findings"]
print(len(f), ",".join(k for k in f[0] if k != "participants"), f[0]["kind"], f[0]["rule"],
      sorted({p["role"] for p in f[0]["participants"]}),
      all(set(p) == {"role", "pid", "tid", "thread_name", "object_id", "object_name", "event_id",
                     "ts_ns", "stack_id", "function", "file", "line"} for p in f[0]["participants"]))')" \
	"1 finding_id,kind,rule,severity,count,summary,detail,pid,tid,thread_name,event_id,ts_ns,threads,objects,event_ids,stack_ids,object_ids race check_then_act ['access', 'occurrence'] True"
expect_eq "getitem: --races is in meta" "$(sql "$db" "SELECT value FROM meta WHERE key = 'races'")" program

# --fail-on race makes CI fail; a suppression silences it.
(cd "$RACES" && "$WEFT" run --races --fail-on race -o "$WORK/f.db" -- "$py" racy_getitem.py) >/dev/null 2>&1
expect_eq "races: --fail-on race exits 3" "$?" 3
printf 'race getitem\n' >"$WORK/races.supp"
(cd "$RACES" && "$WEFT" run --races --fail-on race --suppressions "$WORK/races.supp" -o "$WORK/f.db" -- "$py" racy_getitem.py) >/dev/null 2>&1
expect_eq "races: suppressed by function, exit 0" "$?" 0

# Scope: by default only the program's directory is instrumented.
mkdir -p "$WORK/scope/app" "$WORK/scope/lib"
cp "$RACES/racy_global_counter.py" "$WORK/scope/lib/counterlib.py"
printf 'import sys\nsys.path.insert(0, %s)\nimport counterlib\n' "'$WORK/scope/lib'" >"$WORK/scope/app/main.py"
"$WEFT" run --races -o "$WORK/s1.db" -- "$py" "$WORK/scope/app/main.py" >/dev/null 2>&1
expect_eq "races scope: a module outside the program's directory is not instrumented" \
	"$(sql "$WORK/s1.db" "SELECT count(*) FROM findings WHERE kind = 'race'")" 0
"$WEFT" run --races-scope "$WORK/scope/lib" -o "$WORK/s2.db" -- "$py" "$WORK/scope/app/main.py" >/dev/null 2>&1
expect_eq "races scope: --races-scope widens it" \
	"$(sql "$WORK/s2.db" "SELECT rule FROM findings WHERE kind = 'race'")" lost_update
"$WEFT" run --races-scope "$WORK/nope" -- "$py" -c 1 >/dev/null 2>"$WORK/err"
expect_eq "races scope: a missing path is a usage error" "$? $(wc -l <"$WORK/err")" "2 1"

# python -m and -c are instrumented too; without --races nothing is.
(cd "$RACES" && "$WEFT" run --races -o "$WORK/m.db" -- "$py" -m racy_getitem) >/dev/null 2>&1
# (as above, the interleaving decides whether one or more site pairs meet)
expect_eq "races: python -m" "$(sql "$WORK/m.db" "SELECT group_concat(DISTINCT rule) FROM findings WHERE kind = 'race'")" check_then_act
"$WEFT" run --races -o "$WORK/c.db" -- "$py" -c "
import threading
d = {}
def w():
    d['k'] = 1
ts = [threading.Thread(target=w) for _ in range(2)]
[t.start() for t in ts]; [t.join() for t in ts]" >/dev/null 2>&1
expect_eq "races: python -c" "$(sql "$WORK/c.db" "SELECT rule FROM findings WHERE kind = 'race'")" write_write
(cd "$RACES" && "$WEFT" run -o "$WORK/off.db" -- "$py" racy_getitem.py) >/dev/null 2>&1
expect_eq "races: off by default" \
	"$(sql "$WORK/off.db" "SELECT count(*) FROM events WHERE kind = 'race.access'") $(sql "$WORK/off.db" "SELECT value FROM meta WHERE key = 'races'")" "0 off"

# The program behaves as without the tracer: exceptions, exit codes, tracebacks.
printf 'd = {}\nd["x"] += 1\n' >"$WORK/boom.py"
"$py" "$WORK/boom.py" >"$WORK/plain.out" 2>&1
prc=$?
"$WEFT" run --races -o "$WORK/b.db" -- "$py" "$WORK/boom.py" >"$WORK/traced.out" 2>&1
expect_eq "races: an uncaught exception exits as untraced" "$?" "$prc"
# (3.11+ underlines the failing expression with ~^ from code positions, which
# instrumented code words differently: those marker lines are left out.)
expect_eq "races: the same traceback" "$(grep -Ev '^weft|^ *[~^]+ *$' "$WORK/traced.out")" \
	"$(grep -Ev '^ *[~^]+ *$' "$WORK/plain.out")"
printf 'import sys\nsys.exit(7)\n' >"$WORK/exit7.py"
"$WEFT" run --races -o "$WORK/e.db" -- "$py" "$WORK/exit7.py" >/dev/null 2>&1
expect_eq "races: sys.exit status kept" "$?" 7
printf 'x = [1]\n' >"$WORK/pyc_guard.py"
"$WEFT" run --races -o "$WORK/p.db" -- "$py" -c "import sys; sys.path.insert(0, '$WORK'); import pyc_guard" >/dev/null 2>&1
expect_eq "races: instrumented code never lands in __pycache__" \
	"$(ls "$WORK/__pycache__" 2>/dev/null | grep -c pyc_guard)" 0

# The viewer lists the race and jumps to the access that found it.
if command -v tmux >/dev/null; then
	TM="tmux -u -L weft-races-$$ -f /dev/null"
	trap '$TM kill-server 2>/dev/null' EXIT
	$TM new-session -d -s v -x 200 -y 40 "$WEFT view $db; sleep 30"
	shows() {
		local i
		for i in $(seq 1 100); do
			$TM capture-pane -p -t v 2>/dev/null | grep -Eq -- "$1" && return 0
			sleep 0.1
		done
		return 1
	}
	shows "weft view" || true
	shows "^  [BC] [0-9]+ worker-[01] .*!" && r=yes || r=no
	expect_eq "races view: the racing accesses are marked in the worker lanes" "$r" yes
	$TM send-keys -t v t && sleep 0.3 && $TM send-keys -t v Tab Tab
	shows "^error +race +check-then-act race on cache\[" && r=yes || r=no
	expect_eq "races view: the findings list shows the race" "$r" yes
	$TM send-keys -t v Enter
	shows "cursor [0-9.]+[mun]?s .* [BC] worker-[01]: " && r=yes || r=no
	expect_eq "races view: Enter goes to the racing access's thread" "$r" yes
	$TM send-keys -t v q
	$TM kill-server 2>/dev/null
else
	skip "races view" "tmux is not installed"
fi
