# Correct programs through library machinery give no finding on every
# interpreter (issue #18): multiprocessing.Pool.map and asyncio.to_thread.
# ThreadPoolExecutor's own case is in test_python.sh (pool_correct.py).

find_interpreters "pools: " 3.10 3.11 3.12 3.13 3.14 3.15
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	timeout 120 "$WEFT" run --fail-on all -o "pm-$tag.db" -- "$py" "$TESTS/py/pool_map_to_thread.py" >"$WORK/pm.out" 2>&1
	expect_eq "$tag Pool.map and to_thread: --fail-on all exits 0, output untouched" "$?:$(tr '\n' ' ' <"$WORK/pm.out")" "0:328350 40425 "
	# the findings themselves, not a count: a failure shows which rule fired
	expect_eq "$tag Pool.map and to_thread: no findings" \
		"$(sql "pm-$tag.db" "SELECT group_concat(kind || '/' || rule || ': ' || summary, '; ') FROM findings")" ""
	# Every worker is named, even one the pool's terminate() kills before it
	# reached Process._bootstrap (spawn and forkserver children, 3.14's
	# default, import the main module again first): it names itself when it
	# learns its name, in multiprocessing.spawn.prepare.
	case "$tag" in
	*-3.14 | *-3.15) worker=ForkServerPoolWorker ;;
	*) worker=ForkPoolWorker ;;
	esac
	expect_eq "$tag Pool.map and to_thread: every worker named ($worker-N)" \
		"$(sql "pm-$tag.db" "SELECT group_concat(name, ' ') FROM (SELECT name FROM processes WHERE name LIKE 'Fork%PoolWorker-%' ORDER BY name)")" \
		"$worker-1 $worker-2 $worker-3"
done

# A worker killed right after start(), before it ran any Python (or even
# reached weft's welcome) is still named: its parent names it as start()
# returns. Such a peer that is gone before the collector checks it is no
# outsider, and no "refused a connection" warning is printed for it.
for entry in "${interpreters[@]}"; do
	tag=${entry%%:*}
	py=${entry#*:}
	timeout 120 "$WEFT" run -o "pd-$tag.db" -- "$py" "$TESTS/py/pool_doomed.py" >"$WORK/pd.out" 2>"$WORK/pd.err"
	expect_eq "$tag killed at start: output untouched" "$?:$(tr '\n' ' ' <"$WORK/pd.out")" "0:fork -9 spawn -9 forkserver -9 "
	expect_eq "$tag killed at start: each named by its parent, and killed" \
		"$(sql "pd-$tag.db" "SELECT group_concat(name || ':' || coalesce(exit_signal, 'none'), ' ') FROM (SELECT name, exit_signal FROM processes WHERE name LIKE 'Doomed-%' ORDER BY pid)")" \
		"Doomed-fork:9 Doomed-spawn:9 Doomed-forkserver:9"
	expect_eq "$tag killed at start: no refusal" "$(grep -c refused "$WORK/pd.err")" 0
done
