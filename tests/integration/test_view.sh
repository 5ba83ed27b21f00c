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

# hl_text TEXT: 1 when TEXT is drawn underlined on screen
hl_text() {
	$TM capture-pane -p -e -t v | python3 -c '
import re, sys
pat = re.escape(sys.argv[1])
print(1 if re.search(r"\x1b\[[0-9;]*4[0-9;]*m" + pat, sys.stdin.read()) else 0)' "$1"
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
expect_screen view:legend-finding '! finding'
# the process exits at the trace's end (1ms): its X is in the last column
expect_eq view:root-exit-marker "$(col main 89)" "X"
# a thread that started and exited within one column shows its exit there
# (its start was drawn, and read as a thread still alive with a blank lane)
if "$GEN" --sql "$TESTS/fixtures/view_blip.sql" -o blip.db 2>gen.err; then
	start "$WEFT view --ascii --no-color blip.db; echo EXIT=\$?; sleep 30"
	expect_screen view:blip-lane '^  B 101 blip '
	expect_eq view:blip-exit-over-start "$(col blip 45)" "x"
	expect_eq view:blip-create-marker "$(col main 44)" "+"
else
	fail view:blip-fixture "$(head -c 300 gen.err)"
fi
start "$WEFT view --ascii --no-color t.db; echo EXIT=\$?; sleep 30"
expect_screen view:header-again 'weft view +demo --fixture'

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
expect_screen view:state-not-alive 'C 102 +beta +not alive: ended at 600\.000us'
# at 450us beta holds the mutex alpha released at 400us
keys g 450us Enter
expect_screen view:state-previous-owner 'holds shared_mu \(since 400\.000us, previous owner B 101 alpha\)'
keys Escape
expect_screen view:state-closed 'window 0ns\.\.1\.000ms'

# ---- stepping events and the details panel -------------------------------
keys g 0 Enter
keys j j
expect_screen view:focus-beta 'C beta: not alive \(starts at 2\.500us\)'
keys . .
expect_screen view:step-event 'event 11 lock\.acquire at 400\.000us \(tid 102\)'
keys Enter
expect_screen view:details-kind 'kind +lock\.acquire'
expect_screen view:details-object 'object +shared_mu \(mutex, id 1\)'
expect_screen view:details-wait 'wait +300\.000us \(from 100\.000us to 400\.000us\)'
expect_screen view:details-holders 'held during the wait: 1 hold by 1 thread'
expect_screen view:details-holder 'B 101 alpha: 1 hold, held it since 10\.000us'
expect_screen view:details-previous-owner 'previous owner: B 101 alpha, released it at 400\.000us \(the hand-off this acquire waited for\)'
expect_screen view:details-stack '#0 +update_totals at bank\.c:42 \(demo\)'
# a plain mutex has no read or write side
expect_screen view:details-arg '^arg +0 *$'
# split screen: the timeline stays above the details
expect_screen view:split-timeline '^  C 102 beta '
expect_screen view:split-panel '^ event details'
# the selected wait, [100us, 400us] = columns 9..36, is highlighted in beta's lane
# hl_cols LANE: the timeline columns of a lane drawn underlined (SGR 4)
hl_cols() {
	$TM capture-pane -p -e -t v | PYTHONIOENCODING=utf-8 python3 -c '
import re, sys
for line in sys.stdin.read().split("\n"):
    plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
    if not re.match(r"^  [A-Z] [0-9]+ " + sys.argv[1] + " ", plain):
        continue
    col, ul, out = 0, False, []
    for tok in re.findall(r"\x1b\[[0-9;]*m|.", line):
        if tok.startswith("\x1b["):
            codes = tok[2:-1].split(";")
            if codes == [""] or "0" in codes: ul = False
            if "4" in codes: ul = True
            if "24" in codes: ul = False
            continue
        if ul and col >= 30: out.append(col - 30)
        col += 1
    print(f"{out[0]}..{out[-1]}" if out else "none")
    break' "$1"
}
expect_eq view:split-highlight "$(hl_cols beta)" "9..36"
keys z
expect_no_match view:full-screen-panel "$(screen)" '^  C 102 beta '
keys z
expect_screen view:split-again '^  C 102 beta '
# ( and ) resize the split: 40 rows, the panel from 20 rows to 24, its title moves up
title_row() { screen | grep -n '^ event details' | cut -d: -f1; }
expect_eq view:split-title-row "$(title_row)" 21
keys ')' ')'
expect_eq view:split-bigger "$(title_row)" 17
keys '(' '(' '(' '('
expect_eq view:split-smaller "$(title_row)" 25
keys Escape

# ---- help ------------------------------------------------------------------
keys '?'
expect_screen view:help-quit '^  q +quit'
expect_screen view:help-search '^  / +search threads, objects, functions, files, FILE:LINE, variables, findings'
keys NPage
expect_screen view:help-glyph '^  L  lock wait'
keys NPage NPage
# the last line wraps instead of being cut at the edge
expect_screen view:help-last-line 'queued while nobody holds it$'
keys Escape

# ---- search: a thread name, then a function name --------------------------
keys / gamma Enter
expect_screen view:search-thread '/gamma: thread 103 gamma \(1 of 1\)'
expect_screen view:search-focus 'D gamma: '
# the match is highlighted in its lane's name
expect_eq view:search-lane-highlight "$(hl_text gamma)" 1
keys / wait_ready Enter
expect_screen view:search-function '/wait_ready: event 13 lock\.acquire at 500\.000us \(tid 103\)'
keys n
expect_screen view:search-next '/wait_ready: event 14 lock\.release at 510\.000us'
keys N
expect_screen view:search-prev '/wait_ready: event 13 lock\.acquire'
# FILE:LINE: the events whose stacks pass through that line; the match is highlighted
keys g 0 Enter / bank.c:80 Enter
expect_screen view:search-file-line '/bank\.c:80: event 7 lock\.acquire at 10\.000us \(tid 101\)'
keys Enter
expect_screen view:search-file-line-details '#1 +worker_main at bank\.c:80'
expect_eq view:search-highlight "$(hl_text bank.c:80)" 1
keys Escape
keys / bank.c:99 Enter
expect_screen view:search-no-line '/bank\.c:99: no thread, object, function, file:line, variable or finding matches'

# ---- back and forward across jumps ------------------------------------------
keys g 200us Enter g 600us Enter '#' 17 Enter
expect_screen view:jump-event 'cursor 700\.000us'
keys b
expect_screen view:back-1 'back to cursor 600\.000us'
keys b
expect_screen view:back-2 'back to cursor 200\.000us'
keys B
expect_screen view:forward 'forward to cursor 600\.000us'

# ---- area summary: m at 100us, m at 500us ----------------------------------
keys g 100us Enter m g 500us Enter m
expect_screen view:area-title 'area summary'
expect_screen view:area-range 'area 100\.000us\.\.500\.000us \(400\.000us\)'
# the numbers against SQL over the derived tables (saved beside the trace)
area_sql() { derived_sql t.db-view "$1"; }
bw=$(area_sql "SELECT sum(min(end_ns,500000)-max(start_ns,100000)) FROM thread_spans WHERE tid=102 AND state=2 AND start_ns<500000 AND end_ns>100000")
expect_eq view:area-sql-beta-wait "$bw" 300000
expect_screen view:area-beta 'C 102 +beta +running 100\.000us +lock wait 300\.000us'
holds=$(area_sql "SELECT count(*) || ' ' || sum(min(end_ns,500000)-max(start_ns,100000)) FROM object_holds WHERE object_id=1 AND start_ns<500000 AND end_ns>100000")
expect_eq view:area-sql-holds "$holds" "2 400000"
expect_screen view:area-object 'shared_mu +2 +400\.000us +1 +300\.000us'
keys Escape Escape
# a mouse drag across the lanes marks an area too: press at timeline column 9,
# release at column 36 (xterm mouse reports: ESC [ M, button+32, x+33, y+33)
mouse() { $TM send-keys -t v -l $'\e[M'"$(printf "\\x$(printf %x $((32 + $1)))\\x$(printf %x $((33 + $2)))\\x$(printf %x $((33 + $3)))")"; sleep 0.2; }
mouse 0 39 5
mouse 3 66 5
expect_screen view:area-drag 'area 99\.999us\.\.411\.107us \(311\.108us\)'
expect_screen view:area-drag-beta 'C 102 +beta +running 11\.108us +lock wait 300\.000us'
keys Escape Escape

# ---- object lanes and the lists -------------------------------------------
keys g 200us Enter o
expect_screen view:object-lane '^shared_mu B q1'
keys t
expect_screen view:lists-contended 'shared_mu +mutex +4 +1 +300\.000us +300\.000us +390\.000us'
keys Enter
# the worst wait: the cursor where it starts, where beta is already stuck
expect_screen view:lists-jump 'cursor 100\.000us .*C beta: lock wait on shared_mu'
expect_screen view:lists-jump-message 'worst wait on shared_mu: 300\.000us, from 100\.000us to 400\.000us'
expect_eq view:lists-jump-highlight "$(hl_cols beta)" "9..36"
keys t Tab
expect_screen view:lists-processes '100 +1 +1\.000ms +exit 0 +- +demo --fixture'
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
# the prompt starts with the current filter
keys f
expect_screen view:filter-prompt 'filter lanes: alp_'
keys BSpace BSpace BSpace Enter
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
expect_screen view:too-small-whole 'q quits'
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

# ---- a finding: the summary wraps, Enter shows every side --------------------
cp t.db finding2.db
sqlite3 finding2.db "CREATE TABLE findings(finding_id, kind, rule, severity, count, summary,
	threads, objects, pid, tid, event_id, ts_ns, detail);
	INSERT INTO findings VALUES(7, 'race', 'r1', 'error', 1,
	'data race on totals between alpha and beta: alpha writes it in update_totals at bank.c:42 while beta reads it in update_totals at bank.c:42 with no lock in common END-OF-SUMMARY',
	'101 alpha, 102 beta', '', 100, 101, 7, 10000, '');
	INSERT INTO findings VALUES(8, 'misuse', 'foreign_release', 'note', 3,
	'shared_mu released by a thread that did not take it', '103 gamma', 'shared_mu', 100, 103,
	14, 510000, '');
	CREATE TABLE finding_items(finding_id, seq, role, pid, tid, thread_name, object_id,
	object_name, event_id, ts_ns, stack_id, function, file, line);
	INSERT INTO finding_items VALUES(7, 0, 'write', 100, 101, 'alpha', NULL, NULL, 7, 10000, 1, 'update_totals', 'bank.c', 42);
	INSERT INTO finding_items VALUES(7, 1, 'read', 100, 102, 'beta', NULL, NULL, 11, 400000, 1, 'update_totals', 'bank.c', 42);"
start "$WEFT view --ascii finding2.db; echo EXIT=\$?; sleep 30"
wait_for 'weft view .*demo' >/dev/null
# search by a finding's text: its events, in time order
keys / END-OF-SUMMARY Enter
expect_screen view:search-finding '/END-OF-SUMMARY: event 7 lock\.acquire at 10\.000us \(tid 101\)'
keys n
expect_screen view:search-finding-next '/END-OF-SUMMARY: event 11 lock\.acquire at 400\.000us \(tid 102\)'
keys Escape
keys t Tab Tab
expect_screen view:finding-wraps '^    .*END-OF-SUMMARY'
# S sorts: by kind (misuse before race), then by severity (errors first)
keys S
expect_screen view:findings-sort-kind '\[findings\] +sorted by kind'
expect_match view:findings-sort-kind-first "$(screen | grep -E '^(error|note) ' | head -1)" '^note +misuse'
keys S
expect_screen view:findings-sort-severity 'sorted by severity'
expect_match view:findings-sort-severity-first "$(screen | grep -E '^(error|note) ' | head -1)" '^error +race'
keys Enter
expect_screen view:finding-side-a 'write +B 101 alpha +event 7 at 10\.000us +update_totals at bank\.c:42'
expect_screen view:finding-side-b 'read +C 102 beta +event 11 at 400\.000us +update_totals at bank\.c:42'
# both sides highlighted in their lanes, the timeline above the details
expect_match view:finding-hl-alpha "$(hl_cols alpha)" '^[0-9]+\.\.[0-9]+$'
expect_match view:finding-hl-beta "$(hl_cols beta)" '^[0-9]+\.\.[0-9]+$'
keys q

# ---- blame chain, hand-off, race.access, Python frames, names, sorting --------
if ! "$GEN" --sql "$TESTS/fixtures/view_blame.sql" -o blame.db 2>gen.err; then
	fail view:blame-fixture "$(head -c 300 gen.err)"
else
	start "$WEFT view --ascii blame.db; echo EXIT=\$?; sleep 30"
	# a multiprocessing Process names its process lane
	expect_screen view:mp-name '^- 200 Process-1 python3 blame'
	# a thread with no exit whose process lived on: silent, not dead, after its last event
	expect_eq view:silent-lane "$(screen | grep -E '^  D 203 joiner ' | cut -c$((31 + 60)))" ":"
	keys g 600us Enter s
	expect_screen view:silent-state 'D 203 +joiner +alive, no events since 400\.000us \(no exit recorded'
	keys Escape
	keys g 200us Enter s
	expect_screen view:blame-waiter 'B 201 +waiter +lock wait on mu since 100\.000us'
	expect_screen view:blame-holder 'why: mu is held by C 202 holder since 50\.000us'
	expect_screen view:blame-holder-waits 'holder is in queue wait on jobs since 80\.000us'
	expect_screen view:blame-queue 'a queue has no holder: it waits for another thread.s put or get'
	expect_screen view:blame-handoff 'hand-off: C 202 holder releases it at 300\.000us, and this thread takes it'
	keys Escape '#' 7 Enter Enter
	expect_screen view:race-flags '^arg +10 \(write, read-modify-write\)'
	expect_screen view:mp-name-details '^thread +C 202 holder \(pid 200 Process-1\)'
	# a Python frame: file and line, no empty module
	expect_screen view:python-frame '#0 +getitem at app\.py:12$'
	keys Escape g 0 Enter / 'cache[' Enter
	expect_screen view:search-variable '/cache\[: event 7 race\.access at 260\.000us .*1 variables'
	keys t
	expect_screen view:sort-default '^mu +mutex'
	keys S
	expect_screen view:sort-name 'sorted by object'
	expect_match view:sort-name-first "$(screen | grep -E '^(mu|jobs) ' | head -1)" '^jobs '
	keys Tab
	expect_screen view:mp-name-list '200 +1 +1\.000ms +exit 0 +Process-1 +python3 blame\.py'
	keys q
fi

# ---- a cond wait ended by its deadline (tests/fixtures/report_free.sql: napper, ETIMEDOUT)
if ! "$GEN" --sql "$TESTS/fixtures/report_free.sql" -o free.db 2>gen.err; then
	fail view:free-fixture "$(head -c 300 gen.err)"
else
	start "$WEFT view --ascii free.db; echo EXIT=\$?; sleep 30"
	keys g 501us Enter s
	expect_screen view:timed-out-wait 'napper +cond wait on cv since 500\.000us'
	expect_screen view:timed-out 'timed out: no other thread acted before its deadline'
	keys q
fi

# ---- blame chains at the cursor: a deadlock, a lock held by its waiter, a semaphore, a running holder
if ! "$GEN" --sql "$TESTS/fixtures/view_cycle.sql" -o cycle.db 2>gen.err; then
	fail view:cycle-fixture "$(head -c 300 gen.err)"
else
	start "$WEFT view --ascii cycle.db; echo EXIT=\$?; sleep 30"
	keys g 500us Enter s z
	expect_screen view:cycle-holder 'why: b is held by B 11 two since 150\.000us'
	expect_screen view:cycle-holder-waits 'two is in lock wait on a since 400\.000us'
	expect_screen view:cycle-back '-> a is held by A 10 one since 100\.000us'
	expect_screen view:cycle 'a cycle: one waits for this thread \(deadlock\)'
	expect_screen view:cycle-self 'why: c is held by C 12 self since 100\.000us'
	expect_screen view:cycle-self-end 'a cycle: self waits for this thread \(deadlock\)'
	expect_screen view:semaphore 'why: sem is held by no recorded thread'
	keys Escape g 350us Enter s
	expect_screen view:holder-runs 'two is running since 0ns'
	keys q
fi

# ---- a 12 s trace: ruler labels at deep zoom, relative times, 70 lane labels ----
{
	echo "INSERT OR REPLACE INTO meta(key, value) VALUES('end_ns', '12000000000');"
	echo "INSERT INTO proc(pid, ppid, argv, start_ns, end_ns, exit_code, exit_signal) VALUES(300, 1, 'long', 0, 12000000000, 0, NULL);"
	for i in $(seq 0 69); do
		n=main
		[ $i -gt 0 ] && n=worker-$i
		echo "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits) VALUES(300, $((300 + i)), '$n', $((i * 1000)), 12000000000, 0, 0);"
		echo "INSERT INTO ev_in(id, ts, pid, tid, kind, obj, wait, arg, stack) VALUES($((i + 1)), $((i * 1000)), 300, $((300 + i)), 9, 0, 0, 0, 0);"
	done
	echo "INSERT INTO ev_in(id, ts, pid, tid, kind, obj, wait, arg, stack) VALUES(100, 12000000000, 300, 300, 15, 0, 0, 0, 0);"
} >long.sql
if ! "$GEN" --sql long.sql -o long.db 2>gen.err; then
	fail view:long-fixture "$(head -c 300 gen.err)"
else
	start "$WEFT view --ascii long.db; echo EXIT=\$?; sleep 30"
	wait_for 'weft view' >/dev/null
	keys g 10.5s Enter + + + + + + + + + + + + + + + + + + + + + +
	# 2.861us wide: ticks every 500ns, each label with the digits that tell them apart
	expect_screen view:ruler-deep '\|10\.4999995s +\|10\.5000000s +\|10\.5000005s'
	expect_screen view:cursor-deep 'cursor 10\.50000000s'
	keys r
	expect_screen view:ruler-relative '\|-500ns +\|cursor +\|\+500ns'
	keys r s
	# every panel shows times at the timeline's precision
	expect_screen view:state-precision 'threads at 10\.50000000s'
	keys Escape 0
	# labels stay unique past 52 and 62 threads: two letters, never a digit
	labels=$(sqlite3 long.db "SELECT count(*) FROM thr")
	expect_eq view:long-threads "$labels" 70
	keys PgDn PgDn PgDn
	expect_screen view:label-62 '^  AK 362 worker-62 '
	expect_screen view:label-69 '^  AR 369 worker-69 '
	keys q
fi

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
expect_match view:bench-details "$out" 'redraw details +avg [0-9.]+ ms'

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

# ---- a real deadlock's state after its locks' last events ------------------
# Each lock's last event is the other thread's lock.wait at ~100 ms; at 1 s
# both are still held (never released): the state panel, which skips the
# objects whose summaries say nothing of them lies at the cursor, still
# lists both holds (their acquisitions outnumber their releases).
if timeout 60 "$WEFT" run -o dl.db -- "$PROGS/deadlock" >/dev/null 2>&1 || [ -s dl.db ]; then
	start "$WEFT view dl.db; echo EXIT=\$?; sleep 30"
	expect_screen view:deadlock-open 'deadlock'
	keys g 1s Enter s
	expect_screen view:deadlock-state-holds-a 'holds lock_a \(since [0-9.]+ms, others queued\)'
	expect_screen view:deadlock-state-holds-b 'holds lock_b \(since [0-9.]+ms, others queued\)'
	keys Escape q
else
	fail view:deadlock-trace "weft run of $PROGS/deadlock left no trace"
fi
