# weft report: exact numbers on deterministic fixtures (tests/fixtures/README.md
# derives every expected value below from the fixture's timeline).
source "$TESTS/fixtures/fixture.sh"

if ! make_fixture basic.db basic >/dev/null || ! make_fixture gil.db gil >/dev/null ||
	! make_fixture incomplete.db basic --no-finalize >/dev/null; then
	fail report:fixture "cannot build the fixtures"
	return 0
fi

# has_line NAME TEXT LINE: TEXT has exactly LINE as one of its lines
has_line() {
	if printf '%s\n' "$2" | grep -Fxq -- "$3"; then pass "$1"; else fail "$1" "no line [$3] in:
$2"; fi
}

out=$($WEFT report basic.db 2>&1); rc=$?
expect_eq report:exit "$rc" 0
has_line report:command "$out" "  command    ./bank --workers 3"
has_line report:duration "$out" "  duration   100.000 ms"
expect_no_match report:complete "$out" "trace incomplete"
expect_no_match report:no-findings "$out" "^Findings"

# the process tree, indented by parent, with exit statuses
has_line report:proc-root "$out" "  1000         1  100.000 ms  exit 0             ./bank --workers 3"
has_line report:proc-child "$out" "    2000    1000    3.000 ms  exit 3             ./helper --once"
has_line report:proc-grandchild "$out" "      3000  2000   500.00 us  exit 0             ./helper --once"
has_line report:proc-killed "$out" "    2001    1000    3.500 ms  killed by SIGKILL  /bin/sleep 10"

# thread time split: running = lifetime - locks - conds - barrier - join - other
expect_match report:thread-main "$out" \
	"1000  bank +100\.000 ms +92\.000 ms +92\.0% +0 ns +0\.0% +0 ns +0\.0% +0 ns +4\.000 ms +4\.000 ms +234"
expect_match report:thread-w0 "$out" \
	"1010  worker-0 +88\.000 ms +83\.150 ms +94\.5% +3\.950 ms +4\.5% +0 ns +0\.0% +900\.00 us +0 ns +0 ns +1004"
expect_match report:thread-w1 "$out" \
	"1011  worker-1 +88\.000 ms +81\.940 ms +93\.1% +3\.460 ms +3\.9% +2\.000 ms +2\.3% +600\.00 us +0 ns +0 ns +1008"
expect_match report:thread-w2 "$out" \
	"1012  worker-2 +88\.000 ms +84\.250 ms +95\.7% +3\.450 ms +3\.9% +0 ns +0\.0% +300\.00 us +0 ns +0 ns +1008"

# the most contended lock: 1500 acquisitions, 300 waited 30..39 us
has_line report:lock-top "$out" "  1. shared_mu (mutex, pid 1000)"
has_line report:lock-counts "$out" "     acquisitions 1500  contended 300 (20.0%)  failed 0"
has_line report:lock-waits "$out" "     wait total 10.350 ms  avg 6.90 us  p90 34.00 us  max 39.00 us"
has_line report:lock-site "$out" "     longest wait at worker_loop bank.c:42"
has_line report:lock-2 "$out" "  2. q_mu (mutex, pid 1000)"
has_line report:lock-2-waits "$out" "     wait total 10.00 us  avg 3.33 us  p90 10.00 us  max 10.00 us"
has_line report:lock-3 "$out" "  3. log_mu (mutex, pid 1000)"
has_line report:lock-3-counts "$out" "     acquisitions 100  contended 0 (0.0%)  failed 1"
has_line report:lock-3-fail "$out" "     failed attempts waited 500.00 us in total"
has_line report:lock-3-site "$out" "     acquired at main bank.c:90"

# counts and losses
has_line report:events "$out" "Events (3259)"
has_line report:events-acq "$out" "  lock.acquire    1615"
has_line report:events-exit "$out" "  process.exit       3"
has_line report:unrecorded "$out" "  unrecorded calls  2  (tid 1012: 2)"
has_line report:producer-waits "$out" "  producer waits    5"
has_line report:events-lost "$out" "  events lost       0"

# a hostile object name is escaped, never sent raw
has_line report:sanitized "$out" '  5. slots\x1b]0;pwned\x07 (semaphore, pid 1000)'
expect_eq report:no-raw-esc "$(printf '%s' "$out" | tr -cd '\033\007' | wc -c)" 0
expect_no_match report:no-gil "$out" "^GIL"

# --- JSON: the same content ---
got=$($WEFT report basic.db --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
t = {th["tid"]: th for p in d["processes"] for th in p["threads"]}
l = d["locks"][0]
checks = [
    d["trace"]["complete"] is True,
    d["trace"]["duration_ns"] == 100000000,
    [(p["pid"], p["depth"], p["exit"]) for p in d["processes"]] ==
        [(1000, 0, "exit 0"), (2000, 1, "exit 3"), (3000, 2, "exit 0"), (2001, 1, "killed by SIGKILL")],
    d["processes"][3]["exit_signal"] == 9,
    (l["name"], l["acquisitions"], l["contended"], l["total_wait_ns"], l["avg_wait_ns"],
     l["p90_wait_ns"], l["max_wait_ns"]) == ("shared_mu", 1500, 300, 10350000, 6900, 34000, 39000),
    l["site"] == {"function": "worker_loop", "file": "bank.c", "line": 42},
    [x["name"] for x in d["locks"]] == ["shared_mu", "q_mu", "log_mu", "table_rw", "slots\x1b]0;pwned\x07"],
    (t[1010]["lifetime_ns"], t[1010]["running_ns"], t[1010]["lock_wait_ns"], t[1010]["barrier_wait_ns"]) ==
        (88000000, 83150000, 3950000, 900000),
    (t[1011]["cond_wait_ns"], t[1011]["lock_wait_ns"]) == (2000000, 3460000),
    (t[1000]["join_wait_ns"], t[1000]["other_wait_ns"], t[1000]["running_ns"]) == (4000000, 4000000, 92000000),
    d["event_counts"]["lock.acquire"] == 1615 and d["event_counts"]["process.reap"] == 2,
    d["total_events"] == 3259,
    d["loss"] == {"unrecorded": 2, "producer_waits": 5, "events_lost": 0},
    "gil" not in d,
]
print([i for i, c in enumerate(checks) if not c] or "ok")')
expect_eq report:json "$got" ok

# --- the GIL section ---
out=$($WEFT report gil.db)
expect_match report:gil-4000 "$out" "4000  python3 +5\.800 ms +3\.200 ms +2 +0 +1 +29\.0%"
expect_match report:gil-4001 "$out" "4001  worker +3\.000 ms +4\.100 ms +1 +1 +0 +15\.0%"
expect_match report:gil-total "$out" "total +44\.0%"
got=$($WEFT report gil.db --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
g = {t["tid"]: t["gil"] for p in d["processes"] for t in p["threads"]}
print(g[4000] == {"held_ns": 5800000, "wait_ns": 3200000, "acquisitions": 2, "drop_requests": 0, "forced_drops": 1, "load": 0.29}
      and g[4001] == {"held_ns": 3000000, "wait_ns": 4100000, "acquisitions": 1, "drop_requests": 1, "forced_drops": 0, "load": 0.15}
      and d["gil"] == {"held_ns": 8800000, "load": 0.44})')
expect_eq report:gil-json "$got" True

# --- a killed tracer: no `complete`, no end_ns, no indexes ---
out=$($WEFT report incomplete.db 2>&1); rc=$?
expect_eq report:incomplete-exit "$rc" 0
expect_match report:incomplete-says "$out" "trace incomplete: the tracer did not finish"
has_line report:incomplete-counts "$out" "     acquisitions 1500  contended 300 (20.0%)  failed 0"
has_line report:incomplete-duration "$out" "  duration   100.000 ms (up to the last record)"
got=$($WEFT report incomplete.db --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["trace"]["complete"], d["trace"]["warning"], d["locks"][0]["p90_wait_ns"])')
expect_eq report:incomplete-json "$got" "False trace incomplete: the tracer did not finish 34000"

# --- findings come first when the trace has them ---
if fnd=$(make_fixture findings.db basic --findings); then
	if [ "$fnd" = "findings: created" ]; then
		out=$($WEFT report findings.db)
		expect_eq report:findings-first "$(printf '%s\n' "$out" | grep -E '^(Findings|Processes)$' | head -1)" Findings
		has_line report:findings-row "$out" "  1  contention  shared_mu: 300 of 1500 acquisitions waited"
		has_line report:findings-sanitized "$out" '  2  lock-order  q_mu then log_mu\x1b[2J in worker-1'
		got=$($WEFT report findings.db --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([(f["finding_id"], f["kind"]) for f in d["findings"]])')
		expect_eq report:findings-json "$got" "[(1, 'contention'), (2, 'lock-order')]"
	else
		skip report:findings "the trace writer now makes its own findings table"
	fi
else
	fail report:findings "cannot build the fixture"
fi

# --- p90 and totals on a larger synthetic trace, against SQL ---
if make_fixture big.db big:200000 >/dev/null; then
	got=$($WEFT report big.db --json | python3 -c '
import json, sys
for l in json.load(sys.stdin)["locks"][:3]:
    print(l["object_id"], l["acquisitions"], l["contended"], l["total_wait_ns"], l["p90_wait_ns"], l["max_wait_ns"])')
	want=""
	for o in $(printf '%s\n' "$got" | cut -d' ' -f1); do
		want+=$(sql big.db "SELECT $o, count(*), sum(e.wait > 0), sum(e.wait),
			(SELECT wait FROM ev WHERE obj = $o AND kind = 1 ORDER BY wait
			 LIMIT 1 OFFSET (SELECT (9 * count(*) + 9) / 10 - 1 FROM ev WHERE obj = $o AND kind = 1)),
			max(e.wait) FROM ev e WHERE e.obj = $o AND e.kind = 1" | tr '|' ' ')$'\n'
	done
	expect_eq report:big-vs-sql "$got" "${want%$'\n'}"
	expect_eq report:big-lines "$(printf '%s\n' "$got" | wc -l)" 3
else
	fail report:big "cannot build the fixture"
fi

# --- usage ---
out=$($WEFT report basic.db --bogus 2>&1); rc=$?
expect_eq report:unknown-option "$rc:$out" "2:weft: report: unknown option '--bogus'
usage: weft report FILE [--json]"
$WEFT report >/dev/null 2>&1
expect_eq report:missing-file $? 2
out=$($WEFT report --help); rc=$?
expect_match report:help "$rc:$out" "^0:usage: weft report FILE"
