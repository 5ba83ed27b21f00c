# CPython's own threading tests (test_threading test_queue test_thread
# test_threadsignals) run once without weft and once under `weft run`: the
# traced run must end as the untraced one does (same exit status, same
# "Result:" and test-count lines), and its trace must hold the Python-level
# events (GIL, Lock, Queue) with nothing lost. Interpreters: Debian sid's
# 3.14 and 3.15 with the test suite scripts/pythons.sh unpacks
# (libpythonX.Y-testsuite), and pyenv's 3.13 builds, which include Lib/test.
# An interpreter without its test suite is skipped by name.
#
# About 35 s a run for 3.14, 50 s for 3.15 (mostly the suites' own sleeps),
# twice per interpreter. The four modules run sequentially in one process
# (no -j): regrtest's worker processes would make the comparison depend on
# how the work is split between them.

CPYTHON_TESTS="test_threading test_queue test_thread test_threadsignals"
find_interpreters "CPython suite: " 3.13 3.14 3.15

# suite_summary FILE: the lines of regrtest's summary that must not change
# (the outcome and the counts; durations and load averages do).
suite_summary() {
	grep -E '^(== Tests result: |Tests result: |Result: |Total tests: |Total test files: |All [0-9]+ tests OK|[0-9]+ tests? (failed|skipped|OK))' "$1" |
		tr '\n' ';'
}

for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	[ "$tag" = debian-3.11 ] && continue # find_interpreters always lists it
	version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	if ! "$py" -c 'import test.test_threading, test.libregrtest' 2>/dev/null; then
		skip "$tag: CPython suite" "$py has no test package (Debian: libpython$version-testsuite, which scripts/pythons.sh unpacks)"
		continue
	fi
	# 3.13.0's test_print_exception_gh_102056 recurses until interrupt_main()
	# gets through: once, untraced on a loaded machine, it spun for minutes.
	ignore=()
	[ "$version" = 3.13 ] && ignore=(-i test_print_exception_gh_102056)
	nice timeout 600 "$py" -m test "${ignore[@]}" $CPYTHON_TESTS >"$WORK/plain-$tag.out" 2>&1
	plain_rc=$?
	nice timeout 600 "$WEFT" run -o "suite-$tag.db" -- "$py" -m test "${ignore[@]}" $CPYTHON_TESTS \
		>"$WORK/weft-$tag.out" 2>"$WORK/weft-$tag.err"
	weft_rc=$?
	plain=$(suite_summary "$WORK/plain-$tag.out")
	traced=$(suite_summary "$WORK/weft-$tag.out")
	expect_match "$tag: untraced run has a result line" "$plain" 'Result: '
	expect_eq "$tag: exit status under weft" "$weft_rc" "$plain_rc"
	expect_eq "$tag: result and counts under weft" "$traced" "$plain"
	if [ "$traced" != "$plain" ]; then
		grep -E '^(FAIL|ERROR|test .* failed|Timeout)' "$WORK/weft-$tag.out" | head -5 | sed 's/^/    weft: /'
	fi
	# no warning or error; the line saying how many findings (its tests misuse locks on purpose) is no such
	expect_eq "$tag: weft's own messages" \
		"$(grep '^weft: ' "$WORK/weft-$tag.err" | grep -Ev '^weft: [0-9]+ findings? \([^)]*\): weft report ' | head -3)" ""
	db=suite-$tag.db
	expect_eq "$tag: trace complete, no event lost" \
		"$(sql "$db" "SELECT group_concat(key || '=' || value, ' ') FROM (SELECT key, value FROM meta WHERE key IN ('complete', 'events_lost', 'python.version') ORDER BY key)")" \
		"complete=1 events_lost=0 python.version=$version"
	# regrtest's own process: the first one.
	main_pid=$(sql "$db" "SELECT pid FROM processes ORDER BY start_ns LIMIT 1")
	present() {
		sql "$db" "SELECT count(*) > 0 FROM events e JOIN objects o USING(object_id) WHERE e.pid = $main_pid AND $1"
	}
	expect_eq "$tag: Python-level events in regrtest's process (GIL, Lock, RLock, Condition, Event, Semaphore, Queue)" \
		"$(present "e.kind = 'gil.acquire' AND o.kind = 'gil'") $(present "e.kind = 'gil.release'") $(present "e.kind = 'lock.acquire' AND o.kind = 'py.lock'") $(present "e.kind = 'rlock.enter' AND o.kind = 'py.rlock'") $(present "e.kind = 'cond.wait' AND o.kind = 'py.condition'") $(present "e.kind = 'event.set' AND o.kind = 'py.event'") $(present "e.kind = 'lock.acquire' AND o.kind = 'py.semaphore'") $(present "e.kind = 'queue.put' AND o.kind = 'queue'") $(present "e.kind = 'queue.get' AND o.kind = 'queue'")" \
		"1 1 1 1 1 1 1 1 1"
	expect_eq "$tag: queues named by their creation site in test_queue" \
		"$(sql "$db" "SELECT count(*) > 0 FROM objects WHERE kind = 'queue' AND name LIKE '%test_queue.py:%'")" 1
	expect_eq "$tag: Python thread names" \
		"$(sql "$db" "SELECT count(*) > 0 FROM threads WHERE pid = $main_pid AND name LIKE 'Thread-%' AND py_ident > 0")" 1
done
