# weft view: the real viewer in a tmux terminal, driven by keys, checked on
# the screen text. The trace is tests/fixtures/view_basic.sql (see its
# header for the timeline), loaded through gen_trace --sql.

GEN=$BUILD/bench/gen_trace
FIX=$TESTS/fixtures/view_basic.sql
if ! command -v tmux >/dev/null; then
	skip view:tmux "tmux is not installed"
	return 0
fi
if [ ! -x "$GEN" ]; then
	fail view:gen_trace "$GEN missing (make builds it)"
	return 0
fi
if ! "$GEN" --sql "$FIX" -o t.db 2>gen.err || ! "$GEN" --sql "$FIX" --no-finalize -o killed.db 2>>gen.err; then
	fail view:fixture "$(head -c 300 gen.err)"
	return 0
fi

TM="tmux -u -L weft-view-$$ -f /dev/null"
# each test file runs in its own subshell: this ends our tmux server whatever happens
trap '$TM kill-server 2>/dev/null; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/weft-view-$$"' EXIT

# screen: the visible text of the viewer's pane
screen() { $TM capture-pane -p -t v 2>/dev/null; }

# wait_for REGEX: polls the screen for up to 10 s (ASan start-up is slow); 0 when it shows
wait_for() {
	local i
	for i in $(seq 1 100); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# expect_screen NAME REGEX: waits for the regex, records pass/fail with the screen on failure
expect_screen() {
	if wait_for "$2"; then
		pass "$1"
	else
		fail "$1" "screen does not match /$2/: $(screen | grep -v '^$' | head -20)"
	fi
}

# lane NAME: the screen line of a thread lane
lane() { screen | grep -E "^  [A-Z] [0-9]+ $1 " | head -1; }

# keys K...: sends keys and gives the viewer a moment to redraw
keys() {
	$TM send-keys -t v "$@"
	sleep 0.3
}

# start CMD: the viewer's session "v", replacing the previous one. A second,
# idle session keeps the server up meanwhile: killing a server's last session
# stops it, racing with the next new-session.
start() {
	$TM has-session -t keep 2>/dev/null || $TM new-session -d -s keep "sleep 600"
	$TM kill-session -t v 2>/dev/null
	$TM new-session -d -s v -x 120 -y 40 "$@"
}

# ---- the timeline, in ASCII glyphs --------------------------------------
start "$WEFT view --ascii --no-color t.db; echo EXIT=\$?; sleep 30"
expect_screen view:header 'weft view +demo --fixture +\| 1\.000ms \| 4 threads \| 23 events'
expect_screen view:process-lane '^- 100 demo --fixture'
for n in main alpha beta gamma; do
	expect_match "view:lane-$n" "$(lane $n)" "^  [A-D] 10[0-3] $n "
done
# 120 columns, 30 for labels: 90 columns of 11111 ns. beta waits for
# shared_mu over [100us, 400us] = columns 9..35; gamma waits on the cond
# over [510us, 700us] = columns 46..62; main joins over [850us, 950us].
# col LANE N: the character in timeline column N (0-based) of a lane, UTF-8 aware
col() {
	lane "$1" | PYTHONIOENCODING=utf-8 python3 -c '
import sys
line = sys.stdin.buffer.read().decode("utf-8", "replace").rstrip("\n")
i = int(sys.argv[1])
print(line[i] if i < len(line) else "")' $((30 + $2))
}
expect_eq view:beta-running-before "$(col beta 5)" "="
expect_eq view:beta-lock-wait "$(lane beta | cut -c$((31 + 10))-$((31 + 34)))" "$(printf 'L%.0s' $(seq 10 34))"
expect_eq view:beta-running-after "$(col beta 40)" "="
# beta exits at 600us (column 54): nothing is drawn after its exit marker
expect_eq view:beta-exit-marker "$(col beta 54)" "x"
expect_eq view:beta-not-alive "$(lane beta | PYTHONIOENCODING=utf-8 python3 -c 'import sys; print(len(sys.stdin.read().rstrip()))')" 85
expect_eq view:gamma-cond-wait "$(col gamma 55)" "c"
expect_eq view:main-join "$(col main 80)" "J"
expect_eq view:alpha-exit-marker "$(col alpha 72)" "x"
expect_screen view:legend 'L lock wait +c cond wait'

# ---- go to a time, the state panel names the holder ----------------------
keys g 200us Enter
expect_screen view:goto-time 'cursor 200\.000us'
keys s
expect_screen view:state-title 'state at the cursor'
expect_screen view:state-waiter 'C 102 +beta +lock wait on shared_mu since 100\.000us'
expect_screen view:state-holder 'held by B 101 alpha since 10\.000us'
expect_screen view:state-holds 'holds shared_mu \(since 10\.000us, others queued\)'
# scrubbing moves the panel's instant with the cursor
keys g 600us Enter
expect_screen view:state-follows 'D 103 +gamma +cond wait on ready_cv since 510\.000us'
expect_screen view:state-not-alive 'C 102 +beta +not alive'
keys Escape
expect_screen view:state-closed 'window 0ns\.\.1\.000ms'

# ---- stepping events and the details panel -------------------------------
keys g 0 Enter
keys j j
expect_screen view:focus-beta 'C beta: not alive'
keys . .
expect_screen view:step-event 'event 11 lock\.acquire at 400\.000us \(tid 102\)'
keys Enter
expect_screen view:details-kind 'kind +lock\.acquire'
expect_screen view:details-object 'object +shared_mu \(mutex, id 1\)'
expect_screen view:details-wait 'wait +300\.000us \(from 100\.000us\)'
expect_screen view:details-holders 'B 101 alpha \(hold from 10\.000us\)'
expect_screen view:details-stack '#0 +update_totals at bank\.c:42 \(demo\)'
keys Escape

# ---- help ------------------------------------------------------------------
keys '?'
expect_screen view:help-quit '^  q +quit'
expect_screen view:help-search '^  / +search thread, object, function or file names'
keys NPage
expect_screen view:help-glyph '^  L  lock wait'
keys Escape

# ---- search: a thread name, then a function name --------------------------
keys / gamma Enter
expect_screen view:search-thread '/gamma: thread 103 gamma \(1 of 1\)'
expect_screen view:search-focus 'D gamma: '
keys / wait_ready Enter
expect_screen view:search-function '/wait_ready: event 13 lock\.acquire at 500\.000us \(tid 103\)'
keys n
expect_screen view:search-next '/wait_ready: event 14 lock\.release at 510\.000us'
keys N
expect_screen view:search-prev '/wait_ready: event 13 lock\.acquire'

# ---- object lanes and the lists -------------------------------------------
keys g 200us Enter o
expect_screen view:object-lane '^shared_mu B q1'
keys t
expect_screen view:lists-contended 'shared_mu +mutex +4 +1 +300\.000us +300\.000us +390\.000us'
keys Enter
expect_screen view:lists-jump 'cursor 400\.000us .*C beta: running'
keys t Tab
expect_screen view:lists-processes '100 +1 +1\.000ms +exit 0 +demo --fixture'
keys Tab
expect_screen view:lists-findings 'no findings table'
keys Escape

# ---- play: the cursor moves by itself at the shown speed, space pauses ----
keys g 0 Enter '}'
expect_screen view:faster 'paused 200\.000us/s'
keys Space
sleep 1
keys Space
expect_screen view:played 'cursor [1-9][0-9.]*us +paused'

# ---- zoom, filter, collapse ------------------------------------------------
keys g 500us Enter + + +
expect_screen view:zoom 'window 437\.500us\.\.562\.500us \(125\.000us\)'
keys 0
expect_screen view:fit 'window 0ns\.\.1\.000ms'
keys f alp Enter
expect_screen view:filter 'filter:alp'
if screen | grep -q ' beta '; then fail view:filter-hides "beta still shown"; else pass view:filter-hides; fi
keys f Enter
expect_screen view:filter-cleared '  C 102 beta '
keys g 0 Enter k k k k c
expect_screen view:collapse '^\+ 100 demo --fixture'
if screen | grep -q ' alpha '; then fail view:collapse-hides "alpha still shown"; else pass view:collapse-hides; fi
keys c

# ---- resize: reflow at 80x24, an in-screen message when too small --------
$TM resize-window -t v -x 80 -y 24
expect_screen view:resize-80 'window 0ns\.\.1\.000ms'
expect_match view:resize-80-lane "$(lane beta)" '^  C 102 beta +>?=+L+'
expect_match view:resize-80-status "$(screen | sed -n 24p)" '^\?:help q:quit'
$TM resize-window -t v -x 40 -y 10
expect_screen view:too-small 'terminal too small \(40x10\)'
$TM resize-window -t v -x 120 -y 40
expect_screen view:resize-back 'weft view +demo'

# ---- quit gives the terminal back -----------------------------------------
keys q
expect_screen view:quit-exit 'EXIT=0'
expect_eq view:quit-restores "$($TM display -p -t v '#{alternate_on}')" 0

# ---- UTF-8 glyphs, a trace whose tracer was killed (derived on the fly) ---
start "LANG=C.UTF-8 LC_ALL=C.UTF-8 $WEFT view killed.db; echo EXIT=\$?; sleep 30"
expect_screen view:killed-header '4 threads \| 23 events \| incomplete trace'
expect_eq view:utf8-lock "$(col beta 20)" $'\u2592'
expect_eq view:utf8-running "$(col beta 5)" $'\u2588'
keys g 200us Enter s
expect_screen view:killed-state 'held by B 101 alpha since 10\.000us'
keys q
expect_screen view:killed-exit 'EXIT=0'

# ---- colors: on by default, off with NO_COLOR; a findings table is listed --
cp t.db findings.db
# the layout of docs/FINDINGS.md's view; the list shows severity, kind, summary
sqlite3 findings.db "CREATE TABLE findings(finding_id, kind, rule, severity, count, summary,
	threads, objects, pid, tid, event_id, ts_ns, detail);
	INSERT INTO findings VALUES(1, 'long-wait', 'r1', 'warning', 2,
	'beta waited 300us for shared_mu', '102 beta', 'shared_mu', 100, 102, 11, 400000,
	'DETAIL-TEXT');"
start "$WEFT view findings.db; echo EXIT=\$?; sleep 30"
# The first screen says findings exist, before the command.
expect_screen view:header-findings '^ weft view  1 finding \(t: lists\) \| demo'
if $TM capture-pane -p -e -t v | grep -q $'\e\[[0-9;]*3[1-7]m'; then pass view:color; else fail view:color "no colored cell"; fi
keys t Tab Tab
expect_screen view:findings-row '^warning +long-wait +beta waited 300us for shared_mu +\(x2\)$'
expect_no_match view:findings-summary-only "$(screen)" 'DETAIL-TEXT'
keys Enter
expect_screen view:findings-jump 'cursor 400\.000us .*C beta: running'
keys q
start "NO_COLOR=1 $WEFT view findings.db; echo EXIT=\$?; sleep 30"
wait_for 'weft view .*demo' >/dev/null
if $TM capture-pane -p -e -t v | grep -q $'\e\[[0-9;]*3[1-7]m'; then
	fail view:no-color "colored cells with NO_COLOR"
else
	pass view:no-color
fi
keys q

# ---- SIGTERM and SIGINT restore the terminal too ---------------------------
for sig in TERM INT; do
	start "$WEFT view --ascii t.db; echo EXIT=\$?; sleep 30"
	wait_for 'weft view +demo' >/dev/null
	# Not anchored on $WEFT: when that is a wrapper that execs the tool
	# (check-valgrind, hardening_counts.sh) the command line is the tool's.
	# -n: the viewer is newer than the tmux shell whose command has the same words.
	pid=$(pgrep -n -f "bin/weft view --ascii t.db")
	if [ "$sig" = INT ]; then keys C-c; else kill -TERM "$pid" 2>/dev/null; fi
	code=$([ $sig = TERM ] && echo 143 || echo 130)
	expect_screen "view:sig$sig-exit" "EXIT=$code"
	expect_eq "view:sig$sig-restores" "$($TM display -p -t v '#{alternate_on}')" 0
done

# ---- an unknown terminal type: one line, not curses' own exit
start "TERM=no-such-terminal $WEFT view t.db; echo EXIT=\$?; sleep 30"
expect_screen view:bad-term-message '^weft: view: cannot use this terminal \(TERM=no-such-terminal\)'
expect_screen view:bad-term-exit 'EXIT=1'

# ---- bad input: one line, non-zero exit ------------------------------------
"$GEN" --sql /dev/null -o empty.db 2>/dev/null
sqlite3 plain.db "CREATE TABLE t(x);"
cp t.db newer.db && sqlite3 newer.db "PRAGMA user_version=99"
cp t.db older.db && sqlite3 older.db "PRAGMA user_version=1"
head -c 3000 t.db >truncated.db
badcase() {
	local name=$1 want=$2
	shift 2
	"$@" >out.txt 2>err.txt </dev/null
	local rc=$?
	if [ $rc -eq 0 ] || [ $rc -ge 99 ]; then
		fail "view:bad-$name" "exit $rc: $(head -c 300 err.txt)"
	elif [ "$(wc -l <err.txt)" -ne 1 ]; then
		fail "view:bad-$name" "not one line: $(head -c 300 err.txt)"
	else
		expect_match "view:bad-$name" "$(cat err.txt)" "$want"
	fi
}
badcase missing '^weft: missing\.db: No such file or directory$' $WEFT view missing.db
badcase plain 'not a weft trace' $WEFT view plain.db
badcase newer 'schema version 99 is newer' $WEFT view newer.db
badcase older 'schema version 1 is older than this weft reads' $WEFT view older.db
badcase truncated '^weft: truncated\.db: ' $WEFT view truncated.db
badcase empty 'trace has no events' $WEFT view empty.db
badcase notty 'needs a terminal' $WEFT view t.db
badcase usage 'no trace file given' $WEFT view
badcase option "unknown option '--bogus'" $WEFT view --bogus t.db

# ---- the off-screen benchmark renders every screen ----------------------------
rm -f t.db-view
out=$($WEFT view --bench --frames 2 t.db 2>&1)
expect_match view:bench "$out" 'redraw objects +avg [0-9.]+ ms'

# ---- the derived tables of a finalized trace: built once, kept in TRACE-view ----
expect_match view:cache-first "$out" 'open \(checks, derive, load'
expect_eq view:cache-file "$(ls t.db-view 2>/dev/null)" t.db-view
expect_eq view:cache-mode "$(stat -c %a t.db-view 2>/dev/null)" 600
out=$($WEFT view --bench --frames 2 t.db 2>&1)
expect_match view:cache-reused "$out" 'open \(checks, load, first frame\)'
# a cache that belongs to another trace is not used (and is replaced)
"$GEN" --sql "$FIX" -o other.db 2>/dev/null && sqlite3 other.db "INSERT OR REPLACE INTO meta VALUES('start_unix_ns', '5')"
cp t.db-view other.db-view
out=$($WEFT view --bench --frames 2 other.db 2>&1)
expect_match view:cache-foreign "$out" 'open \(checks, derive, load'
# the trace itself has no derived tables, and the reader never writes it
expect_eq view:trace-has-no-derived \
	"$(sqlite3 t.db "SELECT count(*) FROM sqlite_master WHERE name IN ('thread_spans', 'derived_info')")" 0
