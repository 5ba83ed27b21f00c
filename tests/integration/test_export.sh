# weft export: Chrome trace-event JSON and CSV on deterministic fixtures.
source "$TESTS/fixtures/fixture.sh"

if ! make_fixture basic.db basic >/dev/null || ! make_fixture gil.db gil >/dev/null ||
	! make_fixture hoh.db hoh >/dev/null; then
	fail export:fixture "cannot build the fixtures"
	return 0
fi

# Checks a Chrome trace: valid JSON, slices nest per lane, every flow's start
# lies strictly inside a hold on its lane and its end inside the hold that
# begins at the acquire. Prints "ok" and then "phase name count" lines.
cat >check_chrome.py <<'PY'
import collections, json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
errors = []
# Perfetto once read displayTimeUnit as the unit of ts: timestamps must stay plain microseconds.
if "displayTimeUnit" in d:
    errors.append("displayTimeUnit set")
lanes = collections.defaultdict(list)
for e in ev:
    for k in ("ph", "pid", "tid"):
        if k not in e:
            errors.append("missing %s: %r" % (k, e))
    if e["ph"] in "XisfM" and e["ph"] != "M" and not isinstance(e.get("ts"), (int, float)):
        errors.append("ts not a number: %r" % e)
    if e["ph"] == "X":
        # in integer ns, as Perfetto reads them (floats would fake 1e-12 overlaps)
        ts, dur = round(e["ts"] * 1000), round(e["dur"] * 1000)
        lanes[(e["pid"], e["tid"])].append((ts, ts + dur, e["name"]))
for lane, v in lanes.items():
    v.sort(key=lambda s: (s[0], -s[1]))
    stack = []
    for s, t, n in v:
        while stack and stack[-1][1] <= s:
            stack.pop()
        if stack and t > stack[-1][1]:
            errors.append("slices cross on %r: %r %r" % (lane, stack[-1], (s, t, n)))
        stack.append((s, t, n))
flows = collections.defaultdict(dict)
for e in ev:
    if e["ph"] in ("s", "f"):
        flows[e["id"]][e["ph"]] = e
for i, f in flows.items():
    if set(f) != {"s", "f"}:
        errors.append("flow %s incomplete" % i)
        continue
    s, t = f["s"], f["f"]
    if t.get("bp") != "e":
        errors.append("flow end %s not bound to the enclosing slice" % i)
    sts, fts = round(s["ts"] * 1000), round(t["ts"] * 1000)
    a = [x for x in lanes[(s["pid"], s["tid"])] if x[0] < sts < x[1] and x[2].startswith("hold ")]
    b = [x for x in lanes[(t["pid"], t["tid"])] if x[0] <= fts < x[1] and x[2].startswith("hold ")]
    if not a or not b or s["tid"] == t["tid"]:
        errors.append("flow %s not between two threads' holds" % i)
print("ok" if not errors else "\n".join(errors[:5]))
c = collections.Counter((e["ph"], e.get("name")) for e in ev)
for (ph, name), n in sorted(c.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
    print(ph, name, n)
PY

# count PHASE NAME: how many events of that phase and name the last check saw
count() { printf '%s\n' "$checked" | grep -Fx -- "$1 $2 $3" >/dev/null && echo yes || echo "no ($1 $2 $3)"; }

out=$($WEFT export basic.db --format chrome -o basic.json 2>&1); rc=$?
expect_eq export:chrome-exit "$rc:$out" "0:"
checked=$(python3 check_chrome.py basic.json 2>&1)
expect_eq export:chrome-valid "$(printf '%s\n' "$checked" | head -1)" ok
expect_eq export:holds "$(count X "hold shared_mu" 1500)" yes
expect_eq export:holds-q "$(count X "hold q_mu" 3)" yes
expect_eq export:holds-log "$(count X "hold log_mu" 100)" yes
expect_eq export:holds-rw "$(count X "hold table_rw" 11)" yes
expect_eq export:waits "$(count X "wait shared_mu" 300)" yes
expect_eq export:wait-cond "$(count X "wait work_cv" 1)" yes
expect_eq export:wait-barrier "$(count X "wait start_bar" 3)" yes
expect_eq export:wait-failed "$(count X "wait log_mu" 1)" yes
expect_eq export:wait-join "$(count X "join 1010" 1)" yes
expect_eq export:wait-reap "$(count X "reap 2000" 1)" yes
# 300 contended shared_mu acquires + q_mu re-acquired after the signaler's release
expect_eq export:flow-starts "$(count s unblock 301)" yes
expect_eq export:flow-ends "$(count f unblock 301)" yes
expect_eq export:thread-names "$(count M thread_name 7)" yes
expect_eq export:process-names "$(count M process_name 4)" yes
expect_eq export:thread-start "$(count i "thread start" 3)" yes
expect_eq export:thread-exit "$(count i "thread exit" 3)" yes
expect_eq export:fork "$(count i "fork 2000" 1)" yes
expect_eq export:spawn "$(count i "spawn 2001" 1)" yes
expect_eq export:exec "$(count i exec 2)" yes
expect_eq export:exit "$(count i "exit 3" 1)" yes
# 11 names + 1614 holds + 309 waits + 2 * 301 flow ends + 14 instants
expect_eq export:total "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["traceEvents"]))' basic.json)" 2550
# Times are microseconds: the first shared_mu hold is [2000 us, 2020 us] on worker-0.
got=$(python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
h = [e for e in ev if e.get("name") == "hold shared_mu"][0]
w = [e for e in ev if e.get("name") == "wait shared_mu"][0]
print(h["ts"], h["dur"], h["tid"], w["ts"], w["dur"], w["tid"])' basic.json)
expect_eq export:times "$got" "2000.0 20.0 1010 2170.0 30.0 1011"
expect_eq export:name-escaped "$(tr -cd '\033\007' <basic.json | wc -c)" 0

# the GIL hand-overs: holds and two flows
$WEFT export gil.db --format chrome -o gil.json
checked=$(python3 check_chrome.py gil.json 2>&1)
expect_eq export:gil-valid "$(printf '%s\n' "$checked" | head -1)" ok
expect_eq export:gil-holds "$(count X "hold GIL" 3)" yes
expect_eq export:gil-flows "$(count s unblock 2)" yes

# hand-over-hand holds cross, so one goes to a second lane of the thread
$WEFT export hoh.db --format chrome -o hoh.json
checked=$(python3 check_chrome.py hoh.json 2>&1)
expect_eq export:hoh-valid "$(printf '%s\n' "$checked" | head -1)" ok
got=$(python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
print(sorted((e["name"], e["tid"], e["ts"], e["dur"], e.get("args", {}).get("unreleased", False))
             for e in ev if e["ph"] == "X"))
print([e["args"]["name"] for e in ev if e.get("name") == "thread_name"])' hoh.json)
expect_eq export:hoh-lanes "$got" "[('hold node_a', 6000, 1000.0, 2000.0, False), ('hold node_a', 6000, 7000.0, 3000.0, True), ('hold node_b', 10006000, 2000.0, 3000.0, False), ('hold node_c', 6000, 4000.0, 2000.0, False)]
['hoh', 'hoh (holds 1)']"

# findings become instants
if [ "$(make_fixture findings.db basic --findings)" = "findings: created" ]; then
	$WEFT export findings.db --format chrome -o findings.json
	checked=$(python3 check_chrome.py findings.json 2>&1)
	expect_eq export:findings "$(count i "finding: contention" 1) $(count i "finding: lock-order" 1)" "yes yes"
else
	skip export:findings "no test findings table"
fi

# --- CSV ---
$WEFT export basic.db --format csv -o basic.csv
got=$(python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
print(rows[0])
print(len(rows) - 1)
print([r for r in rows if r[0] == "3032"][0])
print(rows[10])' basic.csv)
expect_eq export:csv "$got" "['id', 'ts_ns', 'pid', 'tid', 'kind', 'object_id', 'wait_ns', 'arg', 'stack_id', 'object_name', 'function', 'file', 'line']
3259
['3032', '79000000', '1000', '1010', 'lock.fail', '2', '500000', '110', '0', 'log_mu', '', '', '']
['10', '2000000', '1000', '1010', 'lock.acquire', '1', '0', '0', '2', 'shared_mu', 'worker_loop', 'bank.c', '40']"
expect_eq export:csv-stdout "$($WEFT export basic.db --format csv | wc -l)" 3260
expect_eq export:csv-dash "$($WEFT export basic.db --format=csv -o - | wc -l)" 3260

# --- output handling ---
sum_before=$(md5sum <basic.db)
out=$($WEFT export basic.db --format chrome -o basic.db 2>&1); rc=$?
expect_eq export:refuse-self "$rc:$out" "1:weft: export: basic.db is the trace itself; choose another output"
expect_eq export:self-unchanged "$(md5sum <basic.db)" "$sum_before"
out=$($WEFT export nothere.db --format chrome -o fail.json 2>&1); rc=$?
expect_eq export:missing-input "$rc:$(ls fail.json* 2>/dev/null | wc -l)" "1:0"
if script -qec true /dev/null >/dev/null 2>&1; then
	# stdout a terminal and no -o: refused with the usage
	out=$(script -qec "$WEFT export $WORK/basic.db --format chrome" /dev/null | tr -d '\r')
	expect_match export:tty-needs-o "$out" "stdout is a terminal; give -o OUT"
else
	skip export:tty-needs-o "script(1) cannot allocate a terminal"
fi

# --- usage ---
out=$($WEFT export basic.db --format xml -o x.out 2>&1); rc=$?
expect_eq export:bad-format "$rc:$out" "2:weft: export: unknown format 'xml' (chrome or csv)
usage: weft export FILE --format chrome|csv [-o OUT]"
$WEFT export basic.db -o x.out >/dev/null 2>&1
expect_eq export:no-format $? 2
$WEFT export basic.db --format chrome --bogus >/dev/null 2>&1
expect_eq export:unknown-option $? 2
out=$($WEFT export --help); rc=$?
expect_match export:help "$rc:$out" "^0:usage: weft export FILE --format chrome\|csv"
