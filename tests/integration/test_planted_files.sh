# Files planted beside a trace by another local user (docs/DESIGN.md,
# "Threat model: files"): in a sticky directory weft cannot remove them, so
# `weft run` must refuse before the program starts instead of writing the
# trace into them; readers must not block on a FIFO. Sourced by tests/run.sh.

# wrun OUT ARGS...: weft run with a time limit (hang detection only), sets $rc.
wrun() {
	local out=$1
	shift
	timeout 120 "$WEFT" run -o "$out" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
}

# reader VERB TRACE: runs weft VERB on TRACE (no terminal), sets $rc; stdout in $WORK/out, stderr in $WORK/err
reader() {
	local extra=()
	[ "$1" = query ] && extra=("SELECT 1")
	timeout 10 "$WEFT" "$1" "$2" "${extra[@]}" >"$WORK/out" 2>"$WORK/err" </dev/null
	rc=$?
}

# refused NAME: the last weft run exited non-zero with one line on stderr and never ran the program
refused() {
	expect_match "$1: exit non-zero" "$rc" '^[1-9][0-9]*$'
	expect_eq "$1: one line on stderr" "$(wc -l <"$WORK/stderr")" 1
	expect_eq "$1: the program did not start" "$(cat "$WORK/stdout")" ""
}

# ---- own files: a re-run over an old trace and its stale files works ----
wrun own.db -- true
expect_eq "own: first run" "$rc" 0
# The trace and the viewer's tables weft run built for it (docs/DERIVED.md), nothing else.
expect_eq "own: nothing left beside the trace" "$(ls own.db* | tr '\n' ' ')" "own.db own.db-view "
: >own.db-wal
: >own.db-shm
: >own.db-journal
wrun own.db -- true
expect_eq "own: stale own -wal/-shm/-journal are replaced" "$rc:$(cat "$WORK/stderr")" "0:"
expect_eq "own: the re-run is complete" "$(sql own.db "SELECT value FROM meta WHERE key='complete'")" 1
# While recording, -wal and -shm are the 0600 files weft made, and SQLite uses them in WAL mode.
wrun live.db -- sh -c 'stat -c "%a" live.db-wal live.db-shm | tr "\n" " "; sqlite3 -readonly live.db "PRAGMA journal_mode"'
expect_eq "own: -wal and -shm made 0600 before SQLite, WAL mode" "$rc:$(cat "$WORK/stdout")" "0:600 600 wal"
: >own.db-view
ln own.db-view own.db-view2
wrun own.db -- true
refused "own: a hard-linked -view"
rm -f own.db-view own.db-view2

# ---- another user's files in a sticky directory ----
if [ "$(id -u)" != 0 ]; then
	skip planted:other-user "not root: cannot create a second user"
elif ! id weftother >/dev/null 2>&1 && ! useradd -M -s /usr/sbin/nologin weftother 2>"$WORK/useradd.err"; then
	skip planted:other-user "useradd failed: $(head -1 "$WORK/useradd.err")"
else
	# weftother must reach the sticky directory: the test root is 0700.
	chmod o+x "$TMPROOT" "$WORK"
	S=$WORK/sticky
	mkdir -m 1777 "$S"
	as_other() { runuser -u weftother -- "$@"; }

	# plant KIND SUFFIX: weftother makes $S/t.db+SUFFIX (file: 0666, empty)
	plant() {
		rm -f "$S"/t.db*
		case $1 in
		file) as_other sh -c "umask 0; : >'$S/t.db$2'" ;;
		fifo) as_other mkfifo -m 0666 "$S/t.db$2" ;;
		link) as_other ln -s "$3" "$S/t.db$2" ;;
		esac
	}

	plant file -wal
	as_other sh -c "umask 0; : >'$S/t.db-shm'"
	wrun "$S/t.db" -- echo ran
	refused "planted -wal and -shm (0666)"
	expect_match "planted -wal: the line names the file" "$(cat "$WORK/stderr")" "t\.db-wal belongs to another user"
	expect_eq "planted -wal and -shm: still empty" "$(stat -c %s "$S/t.db-wal" "$S/t.db-shm" | tr '\n' ' ')" "0 0 "
	expect_eq "planted -wal and -shm: no trace made" "$(ls "$S/t.db" 2>/dev/null)" ""

	for s in -shm -journal -view; do
		plant file $s
		wrun "$S/t.db" -- echo ran
		refused "planted $s (0666)"
		expect_eq "planted $s: still empty" "$(stat -c %s "$S/t.db$s")" 0
	done

	# A symlink at -wal to a file of the victim: refused, the file untouched.
	echo secret >"$WORK/victim"
	plant link -wal "$WORK/victim"
	wrun "$S/t.db" -- echo ran
	refused "planted -wal symlink"
	expect_eq "planted -wal symlink: the victim's file is untouched" "$(cat "$WORK/victim")" secret
	plant fifo -wal
	wrun "$S/t.db" -- echo ran
	refused "planted -wal FIFO"

	# Readers: a good trace, then a FIFO beside it where the viewer's tables
	# were (weft run made them; the user removed them, someone planted this).
	rm -f "$S"/t.db*
	wrun "$S/t.db" -- "$PROGS/sync_counts"
	expect_eq "readers: a trace in the sticky directory" "$rc" 0
	expect_eq "readers: weft run made the viewer's tables" "$(stat -c %F "$S/t.db-view")" \
		"regular file"
	expect_eq "readers: no temporary file left" "$(ls "$S" | grep -c tmp)" 0
	rm "$S/t.db-view"
	as_other mkfifo -m 0666 "$S/t.db-view"
	# On a terminal, as a user runs it (script(1) gives it one).
	if command -v script >/dev/null; then
		script -qec "timeout 10 $WEFT view '$S/t.db'" /dev/null >"$WORK/view.out" 2>&1
		rc=$?
	else
		timeout 10 "$WEFT" view "$S/t.db" >"$WORK/view.out" 2>&1 </dev/null
		rc=$?
	fi
	expect_match "FIFO at -view: weft view exits non-zero" "$rc" '^[1-9][0-9]*$'
	expect_eq "FIFO at -view: weft view says it in one line" "$(tr -d '\r' <"$WORK/view.out" | grep -c .)" 1
	expect_match "FIFO at -view: the line" "$(cat "$WORK/view.out")" "t\.db-view is a FIFO"
	# report does not use the viewer's cache: it must simply not hang.
	timeout 10 "$WEFT" report "$S/t.db" >/dev/null 2>&1
	expect_eq "FIFO at -view: weft report is unaffected" "$?" 0
	rm -f "$S/t.db-view"
	for s in -journal -wal; do
		as_other mkfifo -m 0666 "$S/t.db$s"
		for v in report query view; do
			reader $v "$S/t.db"
			expect_eq "FIFO at $s: weft $v exits 1 with one line, no hang" "$rc:$(wc -l <"$WORK/err"):$(cat "$WORK/out")" "1:1:"
		done
		rm -f "$S/t.db$s"
	done
	# Another user's cache file: not the trace's owner's, so not trusted.
	as_other sh -c "umask 0; : >'$S/t.db-view'"
	reader view "$S/t.db"
	expect_eq "another user's -view: weft view refuses in one line" "$rc:$(wc -l <"$WORK/err")" "1:1"
	rm -f "$S/t.db-view"

	# A trace that is a FIFO: one line, no hang.
	as_other mkfifo -m 0666 "$S/fifo.db"
	for v in report query view; do
		reader $v "$S/fifo.db"
		expect_eq "FIFO trace: weft $v exits 1 with one line, no hang" "$rc:$(wc -l <"$WORK/err")" "1:1"
	done
	wrun "$S/fifo.db" -- echo ran
	refused "FIFO as the output"
	rm -rf "$S"
fi
