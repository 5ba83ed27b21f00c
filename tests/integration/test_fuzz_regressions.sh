# Replays every input in tests/fuzz/regressions/ (crashers the fuzzer found,
# see tests/fuzz/run.sh) through weft report, weft query and weft export
# (the harness runs all three): no crash, no
# sanitizer report (99), no hang; either a result (exit 0: the input is a
# valid trace with hostile values) or exit 1/2 with exactly one line on
# stderr. Inputs listed in known_bugs.txt that still fail are "KNOWN BUG:"
# skips. Sourced by tests/run.sh.

REG=$TESTS/fuzz/regressions
known() { grep -m1 "^$1: " "$REG/known_bugs.txt" 2>/dev/null | cut -d' ' -f2-; }

n=0
for f in "$REG"/*; do
	[ -f "$f" ] || continue
	case "$f" in *.txt) continue ;; esac # notes and SQL sources, not inputs
	n=$((n + 1))
	base=$(basename "$f")
	for v in "report" "report --json" "query events" "query objects --json" "query threads --csv" "query processes" "query stack_frames" "export chrome"; do
		verb=${v%% *}
		rest=${v#* }
		[ "$rest" = "$v" ] && rest=""
		if [ "$verb" = query ]; then
			view=${rest%% *}
			opt=${rest#"$view"}
			# shellcheck disable=SC2086
			timeout 30 "$WEFT" query "$f" "SELECT * FROM $view" $opt </dev/null >/dev/null 2>"$WORK/err"
		elif [ "$verb" = export ]; then
			rm -f "$WORK/out.json"
			timeout 30 "$WEFT" export "$f" --format "$rest" -o "$WORK/out.json" </dev/null >/dev/null 2>"$WORK/err"
		else
			# shellcheck disable=SC2086
			timeout 30 "$WEFT" report "$f" $rest </dev/null >/dev/null 2>"$WORK/err"
		fi
		rc=$?
		name="fuzz regression $base: ${v// /_}"
		lines=$(wc -l <"$WORK/err")
		why=""
		if [ $rc -eq 99 ] || [ $rc -ge 124 ]; then
			why="exit $rc: $(grep -m1 -E 'runtime error|ERROR: AddressSanitizer|SUMMARY' "$WORK/err" | head -c 300)"
		elif [ $rc -ne 0 ] && { [ $rc -gt 2 ] || [ "$lines" -ne 1 ] || ! grep -q '^weft: ' "$WORK/err"; }; then
			why="exit $rc with $lines lines on stderr: $(head -c 300 "$WORK/err")"
		fi
		if [ -z "$why" ]; then
			pass "$name"
		elif k=$(known "$base") && [ -n "$k" ]; then
			skip "$name" "KNOWN BUG: $k"
		else
			fail "$name" "$why"
		fi
	done
done
[ $n -gt 0 ] || skip "fuzz regressions" "no inputs in tests/fuzz/regressions/"
