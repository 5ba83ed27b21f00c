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
