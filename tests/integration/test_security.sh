# The collector listens only to the traced process tree (docs/DESIGN.md,
# "Threat model"): a stranger's connection is refused before a byte is read,
# a traced process that misbehaves loses its own connection and nothing
# else, pids come from the kernel, signals reach only the tree, pid and
# network namespaces are traced exactly, and calls that cannot be recorded
# are counted. Sourced by tests/run.sh.

HP=$PROGS/hostile_peer

# srun OUT ARGS...: weft run with a time limit (hang detection only), sets $rc.
srun() {
	local out=$1
	shift
	timeout 120 "$WEFT" run -o "$out" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
}

# ---- a traced process misusing its own connection -----------------------
srun forge.db -- sh -c '"$0" forge "$WEFT_SOCK"' "$HP"
expect_eq "forge: weft finishes" "$rc" 0
expect_eq "forge: meta format is weft's" "$(sql forge.db "SELECT value FROM meta WHERE key='format'")" "weft-trace"
expect_eq "forge: meta complete is weft's" "$(sql forge.db "SELECT value FROM meta WHERE key='complete'")" 1
expect_match "forge: the forged meta is reported" "$(cat "$WORK/stderr")" "meta key outside python.\* ignored"
# The image that called itself pid 1 is named by the pid the kernel gave it.
expect_eq "forge: no process takes pid 1 from its hello" "$(sql forge.db "SELECT count(*) FROM processes WHERE pid=1")" 0
expect_eq "forge: the self-named image is under its real pid" "$(sql forge.db "SELECT count(*) FROM processes WHERE argv='calls-itself-init' AND pid>1 AND ppid IN (SELECT pid FROM processes)")" 1

# An unsealed chunk shrunk after it was sent: refused, weft does not die of SIGBUS.
srun shrink.db -- sh -c '"$0" shrink "$WEFT_SOCK"; "$1"' "$HP" "$PROGS/sync_counts"
expect_eq "shrink: weft finishes with the program's status" "$rc" 0
expect_match "shrink: the unsealed buffer is refused" "$(cat "$WORK/stderr")" "unusable trace buffer"
expect_eq "shrink: the rest of the tree is recorded exactly" "$(sql shrink.db "SELECT count(*) FROM events WHERE kind='lock.acquire' AND object_id IN (SELECT object_id FROM objects WHERE name='shared_mu')")" 4000

# 300 messages carrying 4 descriptors each: none is kept, and a process
# started afterwards is still traced.
srun fds.db -- sh -c '"$0" fds "$WEFT_SOCK" 300; ls /proc/$PPID/fd | wc -l >"$2"; "$1"' "$HP" "$PROGS/sync_counts" "$WORK/weft_fds"
expect_eq "fd flood: weft finishes" "$rc" 0
nfd=$(cat "$WORK/weft_fds" 2>/dev/null || echo 9999)
if [ "$nfd" -lt 100 ]; then pass "fd flood: weft holds $nfd descriptors afterwards"; else fail "fd flood: weft holds $nfd descriptors afterwards"; fi
expect_eq "fd flood: a later process is traced exactly" "$(sql fds.db "SELECT count(*) FROM events WHERE kind='lock.acquire' AND object_id IN (SELECT object_id FROM objects WHERE name='shared_mu')")" 4000

# 256 MiB of "memory map": weft's memory stays bounded.
/usr/bin/env time -f '%M' -o "$WORK/maps_kb" "$WEFT_PLAIN" run -o maps.db -- sh -c '"$0" maps "$WEFT_SOCK" 256' "$HP" >/dev/null 2>&1
kb=$(tail -1 "$WORK/maps_kb")
if [ "${kb:-999999}" -lt 200000 ]; then pass "maps flood: peak RSS ${kb} KB"; else fail "maps flood: peak RSS ${kb} KB"; fi

# ---- forged pids: --timeout signals only processes of the tree ------------
sleep 300 &
victim=$!
srun fp.db --timeout 1 -- sh -c '"$0" forgepid "$WEFT_SOCK" "$1"' "$HP" "$victim"
expect_eq "forged pid: weft stops its program" "$rc" 143
expect_eq "forged pid: the victim named in the hello is untouched" "$(kill -0 "$victim" 2>/dev/null && echo alive)" "alive"
expect_eq "forged pid: the image is under its real pid" "$(sql fp.db "SELECT count(*) FROM processes WHERE pid=$victim")" 0
kill "$victim" 2>/dev/null
wait "$victim" 2>/dev/null

# ---- strangers: another user, and processes outside the tree ------------
if [ "$(id -u)" != 0 ]; then
	skip "stranger: another user" "needs root to create a second user"
else
	id weftother >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin weftother
	# The test's own directory is private: the stranger's program lives apart.
	odir=$(mktemp -d /tmp/weft-other.XXXXXX)
	chmod 755 "$odir"
	cp "$HP" "$odir/hp" && chmod 755 "$odir/hp"
	as_other() { su -s /bin/sh weftother -c "$*"; }
	rm -f "$WORK/sockname"
	timeout 120 "$WEFT" run -o st.db -- sh -c 'echo "$WEFT_SOCK" >"$0"; while [ ! -e "$0.done" ]; do sleep 0.1; done; "$1"' \
		"$WORK/sockname" "$PROGS/sync_counts" >/dev/null 2>"$WORK/st.err" &
	wpid=$!
	for _ in $(seq 100); do [ -s "$WORK/sockname" ] && break; sleep 0.1; done
	sock=$(cat "$WORK/sockname")
	expect_eq "stranger: another user is refused" "$(as_other "$odir/hp probe $sock")" "refused"
	expect_eq "stranger: another user's 1000 idle connections are all refused" "$(as_other "$odir/hp idle $sock 1000 0" | head -1)" "let in 0 of 1000"
	expect_eq "stranger: the same user outside the tree is refused" "$("$HP" probe "$sock")" "refused"
	expect_eq "stranger: the socket file's directory is closed to others" "$(stat -c %a "$(dirname "$sock")")" 700
	touch "$WORK/sockname.done"
	wait "$wpid"
	expect_eq "stranger: the traced program finishes normally" "$?" 0
	expect_eq "stranger: nothing of theirs in the trace" "$(sql st.db "SELECT count(*) FROM processes WHERE argv IN ('probe','idle')")" 0
	expect_eq "stranger: the tree is recorded exactly" "$(sql st.db "SELECT count(*) FROM events WHERE kind='lock.acquire' AND object_id IN (SELECT object_id FROM objects WHERE name='shared_mu')")" 4000
	expect_match "stranger: refusals are reported" "$(cat "$WORK/st.err")" "refused a connection from pid [0-9]+ \(uid $(id -u weftother)\)"

	# Takeover: weft is killed, another user binds the socket's abstract
	# name; the traced tree's new processes tell it nothing.
	rm -f "$WORK/sockname" "$WORK/sockname.done"
	timeout 120 "$WEFT" run -o to.db -- sh -c 'echo "$WEFT_SOCK" >"$0"; while [ ! -e "$0.done" ]; do sleep 0.1; done; "$1" >/dev/null; echo ran >"$0.ran"' \
		"$WORK/sockname" "$PROGS/sync_counts" >/dev/null 2>&1 &
	wpid=$!
	for _ in $(seq 100); do [ -s "$WORK/sockname" ] && break; sleep 0.1; done
	sock=$(cat "$WORK/sockname")
	kill -9 "$(pgrep -P "$wpid" -x weft)" # weft itself, not timeout(1)
	wait "$wpid" 2>/dev/null
	as_other "$odir/hp listen $sock 3" >"$WORK/listen.out" 2>&1 &
	lpid=$!
	for _ in $(seq 50); do grep -q listening "$WORK/listen.out" && break; sleep 0.1; done
	touch "$WORK/sockname.done"
	for _ in $(seq 100); do [ -e "$WORK/sockname.ran" ] && break; sleep 0.1; done
	wait "$lpid"
	expect_eq "takeover: the program runs on" "$(cat "$WORK/sockname.ran" 2>/dev/null)" "ran"
	expect_match "takeover: the impostor is reached and receives nothing" "$(cat "$WORK/listen.out")" "received 0 bytes on [1-9]"
	rm -rf "$(dirname "$sock")" "$odir"
fi

# ---- pid and network namespaces --------------------------------------------
if ! unshare -Urpf --mount-proc true 2>/dev/null; then
	skip "pid namespace" "unshare -Urpf is not permitted here"
else
	srun ns.db -- unshare -Urpf --mount-proc "$PROGS/sync_counts"
	expect_eq "pid namespace: status" "$rc" 0
	expect_eq "pid namespace: mutex acquires exact" "$(sql ns.db "SELECT count(*) FROM events WHERE kind='lock.acquire' AND object_id IN (SELECT object_id FROM objects WHERE name='shared_mu')")" 4000
	expect_eq "pid namespace: thread starts exact" "$(sql ns.db "SELECT count(*) FROM events WHERE kind='thread.start'")" 6
	expect_eq "pid namespace: threads named by weft's namespace (no tid below 2)" "$(sql ns.db "SELECT count(*) FROM threads WHERE tid<2")" 0
	expect_eq "pid namespace: every pid is a real process" "$(sql ns.db "SELECT count(*) FROM processes WHERE pid<2")" 0
	srun nsb.db -- unshare -Urpf --mount-proc "$BUILD/bench/lockbench" 1000000
	expect_eq "pid namespace: 2M acquires through ring waits, none lost" "$(sql nsb.db "SELECT count(*) FROM events WHERE kind='lock.acquire'"):$(sql nsb.db "SELECT value FROM meta WHERE key='events_lost'")" "2000000:0"
	srun nst.db --timeout 1 -- unshare -Urpf sleep 300
	expect_eq "pid namespace: --timeout stops it" "$rc" 137
	expect_eq "pid namespace: --timeout trace complete" "$(sql nst.db "SELECT value FROM meta WHERE key='complete'")" 1
fi
if ! unshare -Urn true 2>/dev/null; then
	skip "network namespace" "unshare -Urn is not permitted here"
else
	srun nn.db -- unshare -Urn sh -c '"$0"; "$0"' "$PROGS/sync_counts"
	expect_eq "network namespace: both runs recorded exactly" "$(sql nn.db "SELECT count(*) FROM events WHERE kind='lock.acquire' AND object_id IN (SELECT object_id FROM objects WHERE name='shared_mu')")" 8000
fi

# ---- calls that cannot be recorded are counted ---------------------------
srun nofile.db -- "$HP" nofile 1000
expect_eq "EMFILE: the program runs" "$rc" 0
expect_eq "EMFILE: 1000 pairs and the exit counted as lost" "$(sql nofile.db "SELECT value FROM meta WHERE key='events_lost'")" 2001
expect_match "EMFILE: one warning names the pid" "$(cat "$WORK/stderr")" "pid [0-9]+: 2001 calls not recorded: it could not make a trace buffer"
expect_match "EMFILE: weft report shows the loss" "$("$WEFT" report nofile.db 2>&1)" "2001"
