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

# A command past 100 bytes is shortened in the text (never inside a UTF-8
# character: the 2-byte e-acute at bytes 99-100 goes whole), whole in --json.
cp basic.db long.db
sqlite3 long.db "UPDATE proc SET argv = './helper --once ' || printf('%.83c', 'x') ||
	'é and the rest of a long command' WHERE pid = 3000"
long=$($WEFT report long.db 2>&1)
x83=$(printf '%.83s' "$(printf 'x%.0s' $(seq 83))")
has_line report:long-command "$long" "      3000  2000   500.00 us  exit 0             ./helper --once $x83..."
has_line report:long-command-note "$long" \
	"  (...: a command longer than 100 bytes, shortened; --json and the processes view have it whole)"
expect_match report:long-command-threads "$long" "^  pid 3000 \./helper --once $x83\.\.\.$"
expect_no_match report:short-commands-no-note "$out" "shortened"
expect_match report:long-command-json "$($WEFT report long.db --json)" "xé and the rest of a long command"

# A named semaphore (sem_open: multiprocessing's locks) is one lock in every
# process that opens it: shared_mu (1500 acquisitions, 300 waits of 30..39 us,
# p90 34 us) and q_mu (3, one wait of 10 us) renamed to one such name in two
# processes are listed once. From the summaries the p90 of the union is known
# to lie between the two p90s (at most 34 us); a trace without them (not
# finalized: its waits are read) ranks the 301 waits: 34 us exactly.
sem_sql="UPDATE obj SET kind = (SELECT kind FROM object_kind WHERE name = 'semaphore'),
	name = 'semaphore /mp-test' WHERE object_id IN (1, 7); UPDATE obj SET pid = 2000 WHERE object_id = 7"
for f in basic incomplete; do
	cp $f.db sem-$f.db && sqlite3 sem-$f.db "$sem_sql"
	locks=$($WEFT report sem-$f.db 2>&1 | sed -n '/^Top contended/,/^$/p')
	p90="at most 34.00 us"
	[ $f = incomplete ] && p90="34.00 us"
	has_line "report:named-sem-$f" "$locks" "  1. semaphore /mp-test (semaphore, 2 processes)"
	has_line "report:named-sem-$f-counts" "$locks" "     acquisitions 1503  contended 301 (20.0%)  failed 0"
	has_line "report:named-sem-$f-waits" "$locks" "     wait total 10.360 ms  avg 6.89 us  p90 $p90  max 39.00 us"
	expect_eq "report:named-sem-$f-once" "$(printf '%s\n' "$locks" | grep -c 'mp-test')" 1
done
expect_eq report:named-sem-json "$($WEFT report sem-basic.db --json | python3 -c '
import json, sys
l = json.load(sys.stdin)["locks"][0]
print(l["name"], l["processes"], l["acquisitions"], l["p90_wait_ns"], l.get("p90_is_upper_bound"))')" \
	"semaphore /mp-test 2 1503 34000 True"

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
has_line report:sanitized "$out" '  4. slots\x1b]0;pwned\x07 (semaphore, pid 1000)'
# table_rw (11 acquisitions, none waited, none failed) is counted, not listed
has_line report:unwaited "$out" "  and 1 lock nobody waited on (1 native: 11 acquisitions)"
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
    [x["name"] for x in d["locks"]] == ["shared_mu", "q_mu", "log_mu", "slots\x1b]0;pwned\x07"],
    d["unwaited_locks"] == {"native": {"count": 1, "acquisitions": 11}, "python": {"count": 0, "acquisitions": 0}},
    [p["thread_groups"] for p in d["processes"]] == [[], [], [], []],
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
usage: weft report FILE [--json] [--threads grouped|all]"
$WEFT report >/dev/null 2>&1
expect_eq report:missing-file $? 2
out=$($WEFT report --help); rc=$?
expect_match report:help "$rc:$out" "^0:usage: weft report FILE"

# --- at scale (issue 18): repeated threads grouped, launchers and unwaited locks summarised ---
timeout 60 "$WEFT" run -o many.db -- "$PROGS/many_threads" >"$WORK/out" 2>&1
expect_eq report:many-run "$?:$(cat "$WORK/out")" "0:200 workers"
out=$($WEFT report many.db)
expect_match report:many-group "$out" $'\n +\\(200\\)  worker-N +p50 '
expect_eq report:many-group-stats "$(printf '%s\n' "$out" | grep -cE '^ {20,}(p90|max) ')" 2
expect_eq report:many-no-single-rows "$(printf '%s\n' "$out" | grep -cE '^ +[0-9]+  worker-[0-9]')" 0
expect_eq report:many-one-page "$(printf '%s\n' "$out" | wc -l | awk '{ print ($1 <= 50) }')" 1
expect_match report:many-gate "$out" $'\n  1\\. gate \\(mutex, pid [0-9]+\\)\n     acquisitions 1  contended 0 \\(0\\.0%\\)  failed 200\n'
has_line report:many-unwaited "$out" "  and 200 locks nobody waited on (200 native: 2000 acquisitions)"
expect_eq report:many-only-gate-listed "$(printf '%s\n' "$out" | grep -cE '^  [0-9]+\. ')" 1
all=$($WEFT report many.db --threads all)
expect_eq report:many-threads-all "$(printf '%s\n' "$all" | grep -cE '^ +[0-9]+  worker-[0-9]+ ')" 200
expect_no_match report:many-threads-all-no-group "$all" '\(200\)'
got=$($WEFT report many.db --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["processes"][0]
workers = sorted(t["tid"] for t in p["threads"] if t["name"].startswith("worker-"))
g = p["thread_groups"]
print(len(workers), [(x["name_pattern"], x["count"], sorted(x["tids"]) == workers) for x in g],
      g[0]["lifetime_ns"]["p50"] <= g[0]["lifetime_ns"]["p90"] <= g[0]["lifetime_ns"]["max"],
      d["unwaited_locks"]["native"], [l["name"] for l in d["locks"]])')
expect_eq report:many-json "$got" "200 [('worker-N', 200, True)] True {'count': 200, 'acquisitions': 2000} ['gate']"
out=$($WEFT report many.db --threads some 2>&1); rc=$?
expect_eq report:threads-bad-value "$rc:$out" "2:weft: report: --threads takes 'grouped' or 'all'
usage: weft report FILE [--json] [--threads grouped|all]"

# Python: a ThreadingHTTPServer's 200 request threads, package-relative and
# unique object names, multiprocessing names; on every interpreter present.
find_interpreters "report: " 3.10 3.11 3.12 3.13 3.14 3.15
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	db=http-$tag.db
	timeout 120 "$WEFT" run -o "$db" -- "$py" "$TESTS/py/http_many.py" 200 >"$WORK/out" 2>/dev/null
	expect_eq "report $tag: http: run" "$?:$(cat "$WORK/out" | tr '\n' ' ')" "0:busy False busy False hits 200 total 328350 "
	out=$($WEFT report "$db")
	expect_match "report $tag: http: request threads grouped" "$out" $'\n +\\(200\\)  Thread-N \\(process_request_thread\\) +p50 '
	expect_eq "report $tag: http: no request thread alone" "$(printf '%s\n' "$out" | grep -cE '^ +[0-9]+  Thread-[0-9]+ \(process_request_thread\)')" 0
	# The 200 request threads must not make the report long: the thread and
	# GIL tables stay short, and the whole fits in two pages. The two top-10
	# lists (locks, waits) are left out of the count: how many locks were
	# contended, and how long the waits' chains are, depends on the machine's
	# load (under valgrind, up to 10 locks of 4 lines each).
	expect_eq "report $tag: http: thread and GIL tables short" \
		"$(printf '%s\n' "$out" | awk '/^[A-Z]/ { sec = $1 } sec == "Threads" || sec == "GIL" { n[sec]++ } END { print (n["Threads"] <= 20 && n["GIL"] <= 20) }')" 1
	expect_eq "report $tag: http: fits in two pages" \
		"$(printf '%s\n' "$out" | awk '/^[A-Z]/ { sec = $1 } sec != "Top" && sec != "Longest" { n++ } END { print (n <= 100) }')" 1
	expect_eq "report $tag: http: --threads all lists each" \
		"$($WEFT report "$db" --threads all | grep -cE '^ +[0-9]+  Thread-[0-9]+ \(process_request_thread\) ')" 400
	got=$($WEFT report "$db" --json | python3 -c '
import json, re, sys
d = json.load(sys.stdin)
p = d["processes"][0]
req = sorted(t["tid"] for t in p["threads"] if re.fullmatch(r"Thread-\d+ \(process_request_thread\)", t["name"]))
g = [x for x in p["thread_groups"] if x["name_pattern"] == "Thread-N (process_request_thread)"]
print(len(req), [(x["count"], sorted(x["tids"]) == req) for x in g])')
	expect_eq "report $tag: http: JSON has every request thread, and the group" "$got" "200 [(200, True)]"
	# Two RLocks made at one logging line, each failed once: the report
	# tells apart those it lists ("... #2", "... #3"). It lists the 10 locks
	# waited on longest, and on a loaded machine the request threads' waits
	# can push these out, so the trace says that both are there.
	expect_eq "report $tag: http: two RLocks at one logging line" \
		"$(sql "$db" "SELECT count(*), count(DISTINCT object_id), count(DISTINCT name), min(name GLOB 'RLock logging/__init__.py:[0-9]*') FROM contention WHERE failed = 1 AND name LIKE 'RLock logging/%'")" "2|2|1|1"
	# (The first lock made at a line keeps the bare name: one of them may be
	# listed as "RLock logging/__init__.py:906", the others with "#2", "#3".)
	got=$($WEFT report "$db" --json | python3 -c '
import collections, json, sys
n = [l["name"] for l in json.load(sys.stdin)["locks"] if l["name"].startswith("RLock logging/")]
line = collections.Counter(x.split(" #")[0] for x in n)
print(len(n) == len(set(n)) and all(sum(" #" in x for x in n if x.split(" #")[0] == b) >= c - 1 for b, c in line.items()))')
	expect_eq "report $tag: http: the report tells them apart" "$got" True
	expect_eq "report $tag: http: names relative to their package" \
		"$(sql "$db" "SELECT count(*) FILTER (WHERE name LIKE '% concurrent/futures/thread.py:%') > 0, count(*) FILTER (WHERE name GLOB '* thread.py:*' OR name GLOB '* __init__.py:*'), count(*) FILTER (WHERE name = 'Lock http_many.py:$(grep -n '^hits_lock = ' "$TESTS/py/http_many.py" | cut -d: -f1)') FROM objects")" "1|0|1"
	timeout 120 "$WEFT" run -o "pool-$tag.db" -- "$py" "$TESTS/py/pool_names.py" >"$WORK/out" 2>&1
	expect_eq "report $tag: pool: run" "$?:$(cat "$WORK/out")" "0:sum 2470"
	out=$($WEFT report "pool-$tag.db")
	expect_eq "report $tag: pool: worker names in the text" \
		"$(printf '%s\n' "$out" | grep -oE '\[ForkPoolWorker-[0-9]+\]' | sort | uniq -c | awk '{ print $1, $2 }' | tr '\n' ' ')" \
		"2 [ForkPoolWorker-1] 2 [ForkPoolWorker-2] "
	expect_eq "report $tag: pool: worker names in the JSON" "$($WEFT report "pool-$tag.db" --json | python3 -c '
import json, sys
print(sorted(p["name"] for p in json.load(sys.stdin)["processes"] if p["name"]))')" "['ForkPoolWorker-1', 'ForkPoolWorker-2']"
done

# A launcher chain: a shell that runs six programs for their output, then
# execs python; the six made no events of interest and share one line.
py=${interpreters[0]#*:}
if [ -n "$py" ]; then
	timeout 60 "$WEFT" run -o chain.db -- sh -c 'a=$(readlink -f /bin/sh); b=$(basename "$a"); c=$(dirname "$a"); d=$(uname); e=$(id -u); f=$(cat /dev/null); exec "$0" -c "import threading; t = threading.Thread(target=print, args=(1,)); t.start(); t.join()"' "$py" >"$WORK/out" 2>&1
	expect_eq report:chain-run "$?:$(cat "$WORK/out")" "0:1"
	out=$($WEFT report chain.db)
	# (the rows, not the note on a command shortened: the -c program is long)
	procs=$(printf '%s\n' "$out" | sed -n '/^Processes/,/^$/p' | tail -n +3 | sed '/^$/d; /^  (\.\.\.:/d')
	expect_eq report:chain-two-rows "$(printf '%s\n' "$procs" | wc -l)" 2
	expect_match report:chain-root "$(printf '%s\n' "$procs" | head -1)" \
		"^  $(sql chain.db "SELECT pid FROM processes WHERE ppid NOT IN (SELECT pid FROM processes)") +[0-9]+ +[0-9.]+ [mun]?s +exit 0 +$py -c import threading"
	expect_match report:chain-line "$(printf '%s\n' "$procs" | tail -1)" \
		'^    \(6\) +[0-9]+ +exit 0 +made no events of interest: readlink 1, basename 1, dirname 1, uname 1, id 1, cat 1$'
	has_line report:chain-threads-hidden "$out" "  6 processes that made no events of interest are not shown (--threads all shows them)"
	expect_eq report:chain-threads-all "$($WEFT report chain.db --threads all | grep -cE '^  pid [0-9]+ ')" 7
	expect_eq report:chain-json "$($WEFT report chain.db --json | python3 -c '
import json, sys
print(sorted((p["depth"], p["quiet"]) for p in json.load(sys.stdin)["processes"]))')" \
		"[(0, False), (1, True), (1, True), (1, True), (1, True), (1, True), (1, True)]"
fi
# pyenv's shim (bash, pyenv, readlink... then the real python): the same, when present.
shim=$(pyenv root 2>/dev/null)/shims/python3
if [ -x "$shim" ] && "$shim" -c pass >/dev/null 2>&1; then
	timeout 60 "$WEFT" run -o shim.db -- "$shim" -c 'import threading' >/dev/null 2>&1
	out=$($WEFT report shim.db)
	expect_eq report:shim-one-line "$(printf '%s\n' "$out" | sed -n '/^Processes/,/^$/p' | grep -c 'made no events of interest')" 1
	expect_eq report:shim-lines "$(printf '%s\n' "$out" | sed -n '/^Processes/,/^$/p' | wc -l)" 5
	expect_eq report:shim-no-bash-tables "$(printf '%s\n' "$out" | grep -cE '^  pid [0-9]+ ')" 1
	expect_eq report:shim-json-keeps-all "$($WEFT report shim.db --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["processes"]))')" \
		"$(sql shim.db "SELECT count(*) FROM processes")"
else
	skip report:shim "no pyenv shim for python3"
fi

# --- longest waits and who held things up (issue #21's blame chain) ---
# A lock let go of long before the wait for it ended (the waiter not run
# yet) "was held" then, and was free; one handed over "is held".
if "$BUILD/bench/gen_trace" --sql "$TESTS/fixtures/report_free.sql" -o free.db 2>free.err; then
	out=$($WEFT report free.db | sed -n '/^Longest waits/,/^$/p')
	expect_eq report:waits-free-first "$(printf '%s\n' "$out" | sed -n 2,3p)" \
		"  1. waiter (tid 102) waited 800.00 us in lock wait on mu, from 100.00 us
     mu was held by holder (tid 101) from 10.00 us to 300.00 us, running; free for the wait's last 600.00 us"
	expect_eq report:waits-handed-over "$(printf '%s\n' "$out" | grep -A1 '^  2\. ' | sed -n 2p)" \
		"     mu is held by waiter (tid 102) since 900.00 us, running"
	# a cond wait nobody signalled, ended by its deadline (ETIMEDOUT)
	expect_eq report:waits-timed-out "$(printf '%s\n' "$out" | grep -A1 '^  3\. ')" \
		"  3. napper (tid 104) waited 3.00 us in cond wait on cv, from 500.00 us
     -> timed out: no other thread acted before its deadline"
	expect_eq report:waits-timed-out-json "$($WEFT report free.db --json | python3 -c 'import json, sys; print([w["end"] for w in json.load(sys.stdin)["longest_waits"]])')" \
		"['running', 'running', 'timed_out']"
else
	fail report:free-fixture "$(head -c 300 free.err)"
fi
# A lock or the GIL held by several threads in turn during a wait: one line.
if "$BUILD/bench/gen_trace" --sql "$TESTS/fixtures/report_turns.sql" -o turns.db 2>turns.err; then
	out=$($WEFT report turns.db | sed -n '/^Longest waits/,/^$/p')
	expect_eq report:waits-turns "$(printf '%s\n' "$out" | sed -n 2,8p)" \
		"  1. waiter (tid 103) waited 950.00 us in GIL wait on GIL, from 50.00 us
     GIL held in turn by 3 threads, 950.00 us of the wait; longest main (tid 100), 450.00 us
     GIL is held by main (tid 100) since 600.00 us, running
  2. late (tid 104) waited 800.00 us in lock wait on mu, from 100.00 us
     mu held in turn by 2 threads, 150.00 us of the wait; longest alpha (tid 101), 100.00 us; free 650.00 us, the waiter not yet running
     mu was held by beta (tid 102) from 200.00 us to 250.00 us, running
  3. alpha (tid 101) waited 50.00 us in GIL wait on GIL, from 50.00 us"
	expect_eq report:waits-turns-json "$($WEFT report turns.db --json | python3 -c '
import json, sys
print([(w["tid"], w["turn_holders"], w["turn_held_ns"], w["turn_longest_tid"], w["turn_longest_ns"]) for w in json.load(sys.stdin)["longest_waits"]])')" \
		"[(103, 3, 950000, 100, 450000), (104, 2, 150000, 101, 100000), (101, 1, 50000, 100, 50000)]"
else
	fail report:turns-fixture "$(head -c 300 turns.err)"
fi
# C: the deadlock's two waits, each a cycle through the other thread.
timeout 60 "$WEFT" run -o dlw.db -- "$PROGS/deadlock" >/dev/null 2>&1
out=$($WEFT report dlw.db | sed -n '/^Longest waits/,/^$/p')
expect_eq report:waits-deadlock-entries "$(printf '%s\n' "$out" | grep -cE '^  [12]\. .* in lock wait on lock_[ab], from ')" 2
expect_eq report:waits-deadlock-cycle "$(printf '%s\n' "$out" | grep -c 'a thread of this chain: a deadlock')" 2
expect_eq report:waits-deadlock-json "$($WEFT report dlw.db --json | python3 -c '
import json, sys
w = json.load(sys.stdin)["longest_waits"]
print([(x["state"], x["end"], len(x["chain"]), x["chain"][1]["holder_tid"] == x["tid"]) for x in w[:2]])')" \
	"[('lock wait', 'cycle', 2, True), ('lock wait', 'cycle', 2, True)]"
# C: a cond wait ended by a signal that came late, its maker having waited
# for a lock the main thread kept: the chain goes through the signal.
timeout 60 "$WEFT" run -o cw.db -- "$PROGS/cond_waker" >/dev/null 2>&1
out=$($WEFT report cw.db | sed -n '/^Longest waits/,/^$/p')
expect_match report:waits-cond-waiter "$(printf '%s\n' "$out" | sed -n 2p)" \
	'^  1\. waiter \(tid [0-9]+\) waited [0-9.]+ (us|ms|s) in cond wait on ready_cv, from '
expect_match report:waits-cond-signal "$(printf '%s\n' "$out" | sed -n 3p)" \
	"^     ready_cv: waited for signaler \\(tid [0-9]+\\)'s cond\\.signal at [0-9.]+ (us|ms|s) \\(signaler cond_waker\\.c:34\\); meanwhile it was in lock wait on gate since "
expect_match report:waits-cond-gate-holder "$(printf '%s\n' "$out" | sed -n 4p)" \
	'^     gate is held by cond_waker \(tid [0-9]+\) since [0-9.]+ (us|ms|s), running$'
# C: a chain that goes through a wait listed above it points there instead
# of printing that wait's chain again; --json keeps the whole chain.
timeout 60 "$WEFT" run -o lc.db -- "$PROGS/lock_chain" >/dev/null 2>&1
out=$($WEFT report lc.db | sed -n '/^Longest waits/,/^$/p')
expect_match report:waits-join-first "$(printf '%s\n' "$out" | sed -n 2p)" \
	'^  1\. middle \(tid [0-9]+\) waited [0-9.]+ (us|ms|s) in lock wait on outer, from [0-9.]+ (us|ms|s)$'
expect_match report:waits-join-first-chain "$(printf '%s\n' "$out" | sed -n 3p)" \
	'^     outer is held by lock_chain \(tid [0-9]+\) since [0-9.]+ (us|ms|s), running$'
expect_match report:waits-join-second "$(printf '%s\n' "$out" | sed -n 4p)" \
	'^  2\. last \(tid [0-9]+\) waited [0-9.]+ (us|ms|s) in lock wait on inner, from [0-9.]+ (us|ms|s)$'
expect_match report:waits-join-second-chain "$(printf '%s\n' "$out" | sed -n 5p)" \
	'^     inner is held by middle \(tid [0-9]+\) since [0-9.]+ (us|ms|s), in lock wait on outer$'
expect_eq report:waits-join-points-up "$(printf '%s\n' "$out" | sed -n 6p)" "     -> from here as in wait 1 above"
expect_eq report:waits-join-json "$($WEFT report lc.db --json | python3 -c '
import json, sys
w = json.load(sys.stdin)["longest_waits"]
print([len(x["chain"]) for x in w[:2]])')" "[1, 2]"
# Python, every interpreter: a Lock kept by a thread that waits on a Queue.
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	timeout 60 "$WEFT" run -o "blame-$tag.db" -- "$py" "$TESTS/py/blame_queue.py" >/dev/null 2>&1
	expect_eq "report $tag: blame: run" "$?" 0
	out=$($WEFT report "blame-$tag.db" | sed -n '/^Longest waits/,/^$/p')
	# The waiter's entry and the lines of its chain, as they follow each other.
	block=$(printf '%s\n' "$out" | grep -A3 -E '^  [0-9]\. waiter \(tid [0-9]+\) waited ')
	expect_match "report $tag: blame: the waiter's lock" "$(printf '%s\n' "$block" | sed -n 1p)" \
		'waited [0-9.]+ [mun]?s in lock wait on Lock blame_queue\.py:[0-9]+, from '
	expect_match "report $tag: blame: held by the holder, in a queue wait" "$(printf '%s\n' "$block" | sed -n 2p)" \
		'^     Lock blame_queue\.py:[0-9]+ is held by holder \(tid [0-9]+\) since [^,]+, in queue wait on Queue blame_queue\.py:[0-9]+$'
	# The holder's queue wait (300 ms, the longest) is listed first: the
	# waiter's chain points there rather than printing it again.
	expect_eq "report $tag: blame: the rest as in the holder's wait" "$(printf '%s\n' "$block" | sed -n 3p)" \
		"     -> from here as in wait 1 above"
	# Nobody holds a queue: the put that ended the holder's wait, and what
	# its maker did meanwhile (slept, off the GIL, the line before the put).
	hblock=$(printf '%s\n' "$out" | grep -A2 -E '^  1\. holder \(tid [0-9]+\) waited ')
	expect_match "report $tag: blame: the holder's queue wait" "$(printf '%s\n' "$hblock" | sed -n 1p)" \
		'waited [0-9.]+ (us|ms|s) in queue wait on Queue blame_queue\.py:[0-9]+, from '
	expect_match "report $tag: blame: the queue wait ended by the main thread's put, which slept meanwhile" \
		"$(printf '%s\n' "$hblock" | sed -n 2p)" \
		"^     Queue blame_queue\\.py:[0-9]+: waited for MainThread \\(tid [0-9]+\\)'s queue\\.put at [0-9.]+ (us|ms|s) \\(<module> blame_queue\\.py:28\\); meanwhile it was off GIL since [0-9.]+ (us|ms|s) at <module> blame_queue\\.py:27$"
	expect_no_match "report $tag: blame: the chain ends there" "$(printf '%s\n' "$hblock" | sed -n 3p)" '^     '
	expect_eq "report $tag: blame: json" "$($WEFT report "blame-$tag.db" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = {t["tid"]: t["name"] for p in d["processes"] for t in p["threads"]}
w = [x for x in d["longest_waits"] if names.get(x["tid"]) == "waiter"][0]
print(w["state"], w["end"], [(c["link"], names.get(c["holder_tid"]), c["holder_state"], c.get("wake_event"), c["holder_state_stack_id"] is not None) for c in w["chain"]])')" \
		"lock wait running [('held_by', 'holder', 'queue wait', None, False), ('woken_by', 'MainThread', 'off GIL', 'queue.put', True)]"
	# A pool with one slow job: the main thread's wait for it and the idle
	# workers' waits for the shutdown all end at the worker that ran it,
	# at the job's line (its code named as it was submitted).
	timeout 60 "$WEFT" run -o "stuck-$tag.db" -- "$py" "$TESTS/py/stuck_worker.py" >/dev/null 2>&1
	line=$($WEFT report "stuck-$tag.db" | sed -n '/^Longest waits/,/^$/p' | grep '^  Each of these waits ends at ')
	expect_match "report $tag: blame: the slow job's worker, the one cause" "$line" \
		'^  Each of these waits ends at ThreadPoolExecutor-0_[0-3] \(tid [0-9]+\), off GIL since [0-9.]+ (us|ms|s) at job stuck_worker\.py:10$'
	tid=$(printf '%s' "$line" | sed -n 's/.*(tid \([0-9]*\)).*/\1/p')
	expect_eq "report $tag: blame: that worker slept 0.3 s off the GIL" \
		"$(sql "stuck-$tag.db" "ATTACH 'stuck-$tag.db-view' AS v; SELECT count(*) FROM v.thread_spans WHERE tid = ${tid:-0} AND state = 9 AND end_ns - start_ns > 250000000")" 1
	# Ended by a thread not yet alive in the middle of the wait: running before its put.
	timeout 60 "$WEFT" run -o "late-$tag.db" -- "$py" "$TESTS/py/late_waker.py" >/dev/null 2>&1
	expect_match "report $tag: blame: a put by a thread started late, running before it" \
		"$($WEFT report "late-$tag.db" | sed -n '/^Longest waits/,/^$/p' | grep -A1 -E '^  1\. consumer ' | sed -n 2p)" \
		"^     Queue late_waker\\.py:8: waited for late \\(tid [0-9]+\\)'s queue\\.put at [0-9.]+ (us|ms|s) \\(late late_waker\\.py:16\\); meanwhile it was running since [0-9.]+ (us|ms|s)$"
	# Event waits: one ended by a set made after a sleep, one by its timeout.
	timeout 60 "$WEFT" run -o "events-$tag.db" -- "$py" "$TESTS/py/event_waits.py" >/dev/null 2>&1
	out=$($WEFT report "events-$tag.db" | sed -n '/^Longest waits/,/^$/p')
	expect_match "report $tag: blame: an Event wait ended by its timeout" "$(printf '%s\n' "$out" | sed -n 2,3p | tr '\n' '|')" \
		'^  1\. napper \(tid [0-9]+\) waited [0-9.]+ (ms|s) in event wait on Event event_waits\.py:7, from [0-9.]+ (us|ms|s)\|     -> timed out: no other thread acted before its deadline\|$'
	expect_match "report $tag: blame: an Event wait ended by a set, its maker asleep meanwhile" "$(printf '%s\n' "$out" | sed -n 4,5p | tr '\n' '|')" \
		"^  2\\. waiter \\(tid [0-9]+\\) waited [0-9.]+ (ms|s) in event wait on Event event_waits\\.py:6, from [0-9.]+ (us|ms|s)\\|     Event event_waits\\.py:6: waited for setter \\(tid [0-9]+\\)'s event\\.set at [0-9.]+ (us|ms|s) \\(setter event_waits\\.py:12\\); meanwhile it was off GIL since [0-9.]+ (us|ms|s) at setter event_waits\\.py:11\\|$"
done
