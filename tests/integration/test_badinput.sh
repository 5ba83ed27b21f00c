# Every verb that reads a trace, on inputs that are not a (valid) trace:
# exactly one line on stderr, a non-zero exit that is not a crash, a
# sanitizer report (99) or a hang (timeout: 124), and no output file left.
source "$TESTS/fixtures/fixture.sh"

if ! make_fixture good.db basic >/dev/null; then
	fail badinput:fixture "cannot build the basic fixture"
	return 0
fi
page=$(sql good.db "PRAGMA page_size")
# An ev (events) leaf page in the middle of the table: every verb reads it.
ev_page=$(sql good.db "SELECT pageno FROM dbstat WHERE name = 'ev' AND pagetype = 'leaf'
	ORDER BY pageno LIMIT 1 OFFSET (SELECT count(*) / 2 FROM dbstat WHERE name = 'ev' AND pagetype = 'leaf')" 2>/dev/null)
if [ -z "$ev_page" ]; then
	ev_page=$(($(stat -c %s good.db) / page / 4)) # no dbstat: early in the file, where ev starts
fi

python3 -c '
import random
r = random.Random(42)
open("random.bin", "wb").write(bytes(r.randrange(256) for _ in range(8192)))'
: >empty.db
head -c $((ev_page * page - page / 2)) good.db >truncated.db
cp good.db dropped.db && sqlite3 dropped.db "DROP TABLE thr"
cp good.db corrupt.db
head -c "$page" /dev/zero | tr '\0' '\377' | dd of=corrupt.db bs="$page" seek=$((ev_page - 1)) conv=notrunc 2>/dev/null
mkdir -p directory.db
rm -f fifo.db && mkfifo fifo.db
cp good.db newer.db && sqlite3 newer.db "PRAGMA user_version=99"
sqlite3 plain.db "CREATE TABLE t(x); INSERT INTO t VALUES(1);"
cp good.db unreadable.db && chmod 000 unreadable.db

verbs=("query @ SELECT count(*), sum(wait_ns) FROM events" "query @ SELECT * FROM events --json"
	"report @" "report @ --json" "export @ --format chrome -o out.json" "export @ --format csv -o out.csv")
if [ -f "$ROOT/ui/view.c" ]; then
	verbs+=("view @")
fi

for input in random.bin empty.db truncated.db dropped.db corrupt.db directory.db fifo.db missing.db \
	newer.db plain.db unreadable.db; do
	# root reads any file: the unreadable case only means something for others
	if [ "$input" = unreadable.db ] && [ "$(id -u)" -eq 0 ]; then
		continue
	fi
	for v in "${verbs[@]}"; do
		verb=${v%% *}
		rest=${v#* @}
		rm -f out.json out.csv
		# word-split the options, keep the SQL one argument
		if [ "$verb" = query ]; then
			sqltext=${rest% --json}
			opt=""
			[ "$sqltext" != "$rest" ] && opt=--json
			timeout 10 $WEFT query "$input" "$sqltext" $opt </dev/null >stdout.txt 2>stderr.txt
		else
			timeout 10 $WEFT "$verb" "$input" $rest </dev/null >stdout.txt 2>stderr.txt
		fi
		rc=$?
		name="badinput:$input:${v// /_}"
		lines=$(wc -l <stderr.txt)
		# report answers from the summary tables and reads no event page (schema 3)
		if [ "$input" = corrupt.db ] && [ "$verb" = report ]; then
			if [ "$rc" -eq 0 ] && [ "$lines" -eq 0 ]; then pass "$name"; else
				fail "$name" "exit $rc: $(head -c 300 stderr.txt)"; fi
			continue
		fi
		if [ "$rc" -eq 0 ] || [ "$rc" -eq 99 ] || [ "$rc" -eq 124 ] || [ "$rc" -ge 128 ]; then
			fail "$name" "exit $rc: $(head -c 300 stderr.txt)"
		elif [ "$lines" -ne 1 ] || grep -qE 'Sanitizer|runtime error' stderr.txt; then
			fail "$name" "$lines lines on stderr: $(head -c 300 stderr.txt)"
		elif ! grep -q '^weft: ' stderr.txt; then
			fail "$name" "not a weft message: $(head -c 300 stderr.txt)"
		elif [ -e out.json ] || [ -e out.csv ] || ls out.*.tmp* >/dev/null 2>&1; then
			fail "$name" "left an output file"
		else
			pass "$name"
		fi
	done
done
chmod 600 unreadable.db

# the messages say what is wrong
msg() { $WEFT report "$1" 2>&1 >/dev/null; }
expect_eq badinput:msg-random "$(msg random.bin)" "weft: random.bin: not a weft trace (not an SQLite file)"
expect_eq badinput:msg-directory "$(msg directory.db)" "weft: directory.db: is a directory, not a weft trace"
expect_eq badinput:msg-fifo "$(msg fifo.db)" "weft: fifo.db: not a regular file, not a weft trace"
expect_eq badinput:msg-missing "$(msg missing.db)" "weft: missing.db: No such file or directory"
expect_match badinput:msg-newer "$(msg newer.db)" "schema version 99 is newer than this weft supports"
expect_eq badinput:msg-plain "$(msg plain.db)" "weft: plain.db: not a weft trace (no meta table)"
expect_match badinput:msg-corrupt "$($WEFT query corrupt.db "SELECT count(*), sum(wait_ns) FROM events" 2>&1 >/dev/null)" "malformed"
# the good trace itself passes every verb (the failures above are the inputs' doing)
for v in "${verbs[@]}"; do
	verb=${v%% *}
	[ "$verb" = view ] && continue
	rest=${v#* @}
	if [ "$verb" = query ]; then
		$WEFT query good.db "SELECT count(*) FROM events" >/dev/null 2>&1
	else
		$WEFT "$verb" good.db $rest >/dev/null 2>&1
	fi
	expect_eq "badinput:good:${v// /_}" $? 0
done

# Usage errors: one line, exit 2 (those of report, query and export add the
# usage line, which their tests check word for word).
usage_error() { # NAME LINES REGEX ARGS...
	local name=$1 lines=$2 re=$3
	shift 3
	$WEFT "$@" </dev/null >/dev/null 2>err.txt
	local rc=$?
	expect_eq "badinput:option-$name" "$rc:$(wc -l <err.txt)" "2:$lines"
	expect_match "badinput:option-$name-says" "$(head -1 err.txt)" "$re"
}
usage_error no-verb-arg 1 "unknown command 'nope'" nope
usage_error run-unknown 1 "^weft: run: unknown option '--bogus' \\(weft run --help\\)$" run --bogus -- true
usage_error run-no-value 1 "^weft: run: --output needs a value" run --output
usage_error run-bad-number 1 "--timeout takes a positive number of seconds, not 'soon'" run --timeout soon -- true
usage_error run-bad-choice 1 "--stacks takes none, caller or full, not 'all'" run --stacks=all -- true
usage_error run-flag-value 1 "^weft: run: --races takes no value" run --races=yes -- true
usage_error run-no-command 1 "no command to run" run -o x.db
usage_error view-no-value 1 "^weft: view: --frames needs a value" view --frames
usage_error view-bad-number 1 "--frames takes a positive number, not '0'" view --bench --frames 0 t.db
usage_error export-no-value 2 "^weft: export: -o needs a value" export t.db --format csv -o
usage_error query-extra 2 "unexpected argument 'x'" query t.db "SELECT 1" x
