# weft query: output formats, read-only enforcement, errors.
# Traces come from tests/fixtures/mk_fixture.c (see tests/fixtures/README.md).
source "$TESTS/fixtures/fixture.sh"

if ! make_fixture basic.db basic >/dev/null; then
	fail query:fixture "cannot build the basic fixture"
	return 0
fi

# --- the aligned table ---
out=$($WEFT query basic.db "SELECT count(*) AS n FROM events" 2>&1); rc=$?
expect_eq query:count "$rc:$out" "0:   n
3259"
out=$($WEFT query basic.db "SELECT object_id, name, kind FROM objects WHERE object_id IN (1, 2, 7) ORDER BY 1")
expect_eq query:table "$out" "object_id  name       kind
        1  shared_mu  mutex
        2  log_mu     mutex
        7  q_mu       mutex"
out=$($WEFT query basic.db "SELECT NULL AS n, 2.5 AS f, x'00ff' AS b")
expect_eq query:table-types "$out" "n       f  b
NULL  2.5  x'00ff'"
# 3259 rows + header: the table streams past its 1000-row width buffer.
expect_eq query:table-many "$($WEFT query basic.db "SELECT * FROM events" | wc -l)" 3260
out=$($WEFT query basic.db "SELECT sum(wait_ns) AS w FROM events WHERE kind = 'lock.acquire' AND object_id = 1")
expect_eq query:sum "$out" "       w
10350000"

# Terminal escapes in trace data are shown escaped, never raw.
out=$($WEFT query basic.db "SELECT name FROM objects WHERE object_id = 6")
expect_eq query:sanitized "$out" 'name
slots\x1b]0;pwned\x07'
expect_eq query:no-raw-esc "$($WEFT query basic.db "SELECT * FROM objects" | tr -cd '\033\007' | wc -c)" 0

# --- CSV ---
out=$($WEFT query basic.db "SELECT name, kind FROM objects WHERE object_id = 1" --csv |
	python3 -c 'import sys; print(repr(sys.stdin.buffer.read()))')
expect_eq query:csv-crlf "$out" "b'name,kind\r\nshared_mu,mutex\r\n'"
got=$($WEFT query basic.db "SELECT 'a,b' AS x, 'say \"hi\"' AS y, NULL AS z, 'two
lines' AS w, 7 AS n" --csv | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
print(rows == [["x", "y", "z", "w", "n"], ["a,b", "say \"hi\"", "", "two\nlines", "7"]])')
expect_eq query:csv-quoting "$got" True
# Not a terminal: CSV keeps the bytes (the data is data).
expect_eq query:csv-raw-bytes "$($WEFT query basic.db "SELECT name FROM objects WHERE object_id = 6" --csv | tr -cd '\033' | wc -c)" 1
# On a terminal, CSV strings are escaped like the table.
if script -qec true /dev/null >/dev/null 2>&1; then
	out=$(script -qec "$WEFT query $WORK/basic.db 'SELECT name FROM objects WHERE object_id = 6' --csv" /dev/null)
	expect_eq query:csv-tty "$(printf '%s' "$out" | tr -d '\r' | tail -1)" 'slots\x1b]0;pwned\x07'
else
	skip query:csv-tty "script(1) cannot allocate a terminal"
fi
expect_eq query:csv-rows "$($WEFT query basic.db "SELECT * FROM events WHERE kind = 'lock.acquire'" --csv | wc -l)" 1616

# --- JSON ---
got=$($WEFT query basic.db "SELECT 1 AS i, 1.5 AS f, NULL AS n, 'a\"b\\c' AS s, x'00ff' AS b, name FROM objects WHERE object_id = 6" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d == [{"i": 1, "f": 1.5, "n": None, "s": "a\"b\\c", "b": "00ff", "name": "slots\x1b]0;pwned\x07"}])')
expect_eq query:json "$got" True
expect_eq query:json-no-raw-esc "$($WEFT query basic.db "SELECT name FROM objects" --json | tr -cd '\033\007' | wc -c)" 0
expect_eq query:json-empty "$($WEFT query basic.db "SELECT * FROM events WHERE 0" --json | tr -d ' \n')" "[]"
got=$($WEFT query basic.db "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY n DESC, kind LIMIT 2" --json | python3 -c '
import json, sys; print(json.load(sys.stdin))')
expect_eq query:json-rows "$got" "[{'kind': 'lock.acquire', 'n': 1615}, {'kind': 'lock.release', 'n': 1615}]"

# Read-only pragmas and pragma functions are allowed.
expect_eq query:pragma "$($WEFT query basic.db "PRAGMA table_info(events)" --csv | wc -l)" 10
expect_eq query:pragma-fn "$($WEFT query basic.db "SELECT group_concat(name, ' ') AS c FROM pragma_table_info('threads')")" \
	"c
pid tid name start_ns end_ns unrecorded producer_waits py_ident"
expect_eq query:user-version "$($WEFT query basic.db "PRAGMA user_version" --csv | tail -1 | tr -d '\r')" 3

# --- nothing can modify the trace ---
sum_before=$(md5sum <basic.db)
refuse() { # NAME SQL
	local err rc
	err=$($WEFT query basic.db "$2" 2>&1 >/dev/null); rc=$?
	if [ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
		printf '%s' "$err" | grep -q '^weft: query: '; then
		pass "query:refuse-$1"
	else
		fail "query:refuse-$1" "exit $rc: $err"
	fi
}
refuse delete "DELETE FROM ev"
refuse delete-view "DELETE FROM events"
refuse update "UPDATE meta SET value = 'x' WHERE key = 'host'"
refuse insert "INSERT INTO meta VALUES('k', 'v')"
refuse drop "DROP TABLE ev"
refuse create "CREATE TABLE t(x)"
refuse temp-table "CREATE TEMP TABLE t AS SELECT 1"
refuse attach "ATTACH '$WORK/attached.db' AS a"
refuse detach "DETACH main"
refuse writable-schema "PRAGMA writable_schema=1"
refuse pragma-set "PRAGMA user_version=5"
refuse journal "PRAGMA journal_mode=WAL"
refuse vacuum "VACUUM"
refuse vacuum-into "VACUUM INTO '$WORK/copy.db'"
refuse begin "BEGIN"
refuse reindex "REINDEX"
refuse analyze "ANALYZE"
refuse two-statements "SELECT 1; SELECT 2"
refuse write-after-read "SELECT 1; DELETE FROM ev"
refuse sqlite-master "UPDATE sqlite_master SET sql = 'x'"
expect_eq query:trace-unchanged "$(md5sum <basic.db)" "$sum_before"
expect_eq query:no-new-files "$(ls "$WORK"/attached.db "$WORK"/copy.db 2>/dev/null | wc -l)" 0
expect_eq query:refuse-message "$($WEFT query basic.db "DELETE FROM ev" 2>&1)" \
	"weft: query: refused: DELETE would modify the trace or the connection; weft query only runs read-only statements"
# Trailing semicolons and comments are one statement.
expect_eq query:trailing "$($WEFT query basic.db "SELECT 42 AS x; -- done" --csv | tail -1 | tr -d '\r')" 42

# --- errors ---
out=$($WEFT query basic.db "SELEC 1" 2>&1); rc=$?
expect_eq query:bad-sql "$rc:$out" '1:weft: query: near "SELEC": syntax error'
out=$($WEFT query basic.db "SELECT * FROM nope" 2>&1); rc=$?
expect_eq query:no-table "$rc:$out" "1:weft: query: no such table: nope"

# --- the derived tables (docs/DERIVED.md) ---
# Without TRACE-view they are built in temp for the statement, and nothing is written.
rm -f basic.db-view
holds=$($WEFT query basic.db "SELECT count(*) FROM object_holds" --csv 2>&1 | tail -1 | tr -d '\r')
expect_match query:derived-built "$holds" '^[1-9][0-9]*$'
expect_eq query:derived-no-file "$(ls basic.db-view 2>/dev/null | wc -l)" 0
expect_eq query:derived-spans "$($WEFT query basic.db "SELECT count(*) > 0 FROM thread_spans WHERE end_ns >= start_ns" --csv | tail -1 | tr -d '\r')" 1
# With the TRACE-view the viewer saved, the same rows, as sqlite3 with weft's extension reads them.
$WEFT view --bench --frames 1 basic.db >/dev/null 2>&1
expect_eq query:derived-cache-made "$(ls basic.db-view 2>/dev/null | wc -l)" 1
expect_eq query:derived-cached "$($WEFT query basic.db "SELECT count(*) FROM object_holds" --csv | tail -1 | tr -d '\r')" "$holds"
expect_eq query:derived-oracle "$(derived_sql basic.db-view "SELECT count(*) FROM object_holds")" "$holds"
refuse insert-derived "INSERT INTO object_stats(object_id) VALUES(99)"
refuse attach-after-derived "ATTACH '$WORK/attached.db' AS a"
expect_eq query:derived-no-new-files "$(ls "$WORK"/attached.db 2>/dev/null | wc -l)" 0
# A file that is no TRACE-view is not used: the tables are built instead.
mv basic.db-view basic.db-view.saved
printf 'not a database' >basic.db-view
expect_eq query:derived-planted "$($WEFT query basic.db "SELECT count(*) FROM object_holds" --csv 2>&1 | tail -1 | tr -d '\r')" "$holds"
mv basic.db-view.saved basic.db-view
out=$($WEFT query basic.db "SELECT * FROM thread_spanz" 2>&1); rc=$?
expect_eq query:derived-typo "$rc:$out" "1:weft: query: no such table: thread_spanz"

out=$($WEFT query basic.db "   " 2>&1); rc=$?
expect_eq query:empty-sql "$rc:$out" "1:weft: query: no SQL statement given"
out=$($WEFT query basic.db "SELECT 1" --bogus 2>&1); rc=$?
expect_eq query:unknown-option "$rc:$out" "2:weft: query: unknown option '--bogus'
usage: weft query FILE SQL [--csv|--json]"
$WEFT query basic.db "SELECT 1" --csv --json >/dev/null 2>&1
expect_eq query:two-formats $? 2
$WEFT query basic.db >/dev/null 2>&1
expect_eq query:missing-sql $? 2
out=$($WEFT query --help); rc=$?
expect_match query:help "$rc:$out" "^0:usage: weft query FILE SQL"

# A trace whose tracer was killed (no indexes, no `complete`) is queryable.
if make_fixture incomplete.db basic --no-finalize >/dev/null; then
	expect_eq query:incomplete "$($WEFT query incomplete.db "SELECT count(*) FROM events" --csv | tail -1 | tr -d '\r')" 3259
else
	fail query:incomplete "cannot build the fixture"
fi
