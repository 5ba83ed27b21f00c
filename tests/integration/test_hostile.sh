# Hardening: hostile input through the tracer and its readers. Arguments and
# program names pass through byte for byte; names carrying terminal escapes
# never reach the terminal raw; weft leaves nothing behind; a setuid program
# ignores the tracer's environment. Sourced by tests/run.sh.

ESC=$'\033'

# wrun OUT ARGS...: weft run with a time limit (hang detection only), sets $rc.
wrun() {
	local out=$1
	shift
	timeout 120 "$WEFT" run -o "$out" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
}

# no_esc NAME CMD...: the command's stdout and stderr hold no ESC byte, and it exits 0
no_esc() {
	local name=$1
	shift
	timeout 60 "$@" >"$WORK/out.txt" 2>&1
	local r=$?
	expect_eq "$name: exit" "$r" 0
	expect_eq "$name: no raw ESC" "$(grep -c "$ESC" "$WORK/out.txt")" 0
}

# ---- arguments pass through unchanged ----
long=$(head -c 100000 /dev/zero | tr '\0' 'a')
args=("a b" $'new\nline' $'\xff\xfe not utf-8' "$long" "" "--" "-o" "x.db" "--stacks" $'\033]0;pwn\007' "*" '$HOME' "'\"")
show='printf "%s\0" "$0" "$@" | od -c'
sh -c "$show" argv0 "${args[@]}" >plain.txt
wrun a.db -- sh -c "$show" argv0 "${args[@]}"
expect_eq "argv: status" "$rc" 0
expect_eq "argv: spaces, newlines, non-UTF-8, 100k chars, empty, options after --" "$(md5sum <"$WORK/stdout")" "$(md5sum <plain.txt)"
expect_eq "argv: trace complete" "$(sql a.db "SELECT value FROM meta WHERE key='complete'")" 1
# Options of weft stop at the first non-option; the program's own -o is its own.
wrun b.db sh -c 'printf "%s|" "$@"' sh -o --stacks none --
expect_eq "argv: no -- needed, later options belong to the program" "$rc:$(cat "$WORK/stdout")" "0:-o|--stacks|none|--|"
wrun c.db -- -weird-name-not-found
expect_eq "argv: a program named like an option after --" "$rc" 127

# A program whose file name has spaces, a newline, non-UTF-8 bytes and an escape.
mkdir -p "dir with space"
evil=$'dir with space/prog \n\xff\033]0;pwn\007'
printf '#!/bin/sh\nprintf "%%s\\0" "$0" "$@" | od -c\n' >"$evil"
chmod +x "$evil"
"./$evil" x "y z" >plain.txt
wrun evil.db -- "./$evil" x "y z"
expect_eq "program name: status" "$rc" 0
expect_eq "program name: its own view of argv" "$(md5sum <"$WORK/stdout")" "$(md5sum <plain.txt)"
no_esc "program name: report" "$WEFT" report evil.db
no_esc "program name: report --json" "$WEFT" report evil.db --json
no_esc "program name: query processes" "$WEFT" query evil.db "SELECT * FROM processes"
no_esc "program name: query meta" "$WEFT" query evil.db "SELECT * FROM meta"
no_esc "program name: query --json" "$WEFT" query evil.db "SELECT * FROM processes" --json
wrun missing.db -- "./$evil-missing"
expect_eq "program name: missing evil program is 127" "$rc" 127
expect_eq "program name: the error has no raw ESC" "$(grep -c "$ESC" "$WORK/stderr")" 0

# ---- escape sequences in thread and object names ----
wrun n.db -- "$PROGS/hard_names"
expect_eq "names: status" "$rc" 0
expect_eq "names: stored as given" "$(sql n.db "SELECT count(*) FROM threads WHERE name = char(27) || ']0;pwn' || char(7)")" 1
expect_eq "names: semaphore name stored" "$(sql n.db "SELECT count(*) FROM objects WHERE kind='semaphore' AND instr(name, char(27)) > 0")" 1
no_esc "names: report" "$WEFT" report n.db
no_esc "names: report --json" "$WEFT" report n.db --json
for v in threads objects; do
	no_esc "names: query $v" "$WEFT" query n.db "SELECT * FROM $v"
	no_esc "names: query $v --json" "$WEFT" query n.db "SELECT * FROM $v" --json
done
no_esc "names: query a column alias with an escape" "$WEFT" query n.db "SELECT name AS \"${ESC}[31mred\" FROM threads"
# CSV is data: raw when piped (by design), sanitized on a terminal.
if command -v script >/dev/null; then
	for v in threads objects; do
		script -qec "$WEFT query n.db 'SELECT * FROM $v' --csv" /dev/null >"$WORK/tty.txt" 2>&1
		expect_eq "names: query $v --csv on a terminal: no raw ESC" "$(grep -c "$ESC" "$WORK/tty.txt")" 0
	done
	script -qec "$WEFT report n.db" /dev/null >"$WORK/tty.txt" 2>&1
	expect_eq "names: report on a terminal: no raw ESC" "$(grep -c "$ESC" "$WORK/tty.txt")" 0
else
	skip "names: csv on a terminal" "script(1) is not installed"
fi

# ---- permissions and leftovers ----
(umask 000 && timeout 60 "$WEFT" run -o um.db -- true >/dev/null 2>&1)
expect_eq "permissions: trace mode 0600 even with umask 000" "$(stat -c %a um.db)" 600
(umask 000 && timeout 60 "$WEFT" run -o um.db -- true >/dev/null 2>&1)
expect_eq "permissions: a replaced trace is 0600 too" "$(stat -c %a um.db)" 600

# Private, empty /tmp and /dev/shm (a mount namespace): anything weft leaves there shows.
if unshare -m true 2>/dev/null; then
	unshare -m --propagation private bash -c '
		mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /dev/shm || exit 3
		timeout 60 "$WEFT" run -o ns.db -- "$PROGS/hard_fork_storm" 5 >/dev/null 2>&1
		echo "normal: $(ls -A /tmp /dev/shm | grep -vc -e "^/" -e "^$")"
		"$WEFT" run -o nk.db -- "$PROGS/sigwait" >nk.out 2>/dev/null &
		w=$!
		for _ in $(seq 1200); do grep -q ready nk.out 2>/dev/null && break; sleep 0.05; done
		sleep 1.2
		kill -KILL $w
		wait $w 2>/dev/null
		prog=$(awk "/ready/ {print \$2}" nk.out)
		kill -TERM "$prog" 2>/dev/null
		sleep 0.5
		echo "killed: $(ls -A /tmp /dev/shm | grep -vc -e "^/" -e "^$")"
	' >ns.txt 2>&1
	expect_eq "leftovers: nothing in /tmp or /dev/shm after a normal run" "$(grep '^normal:' ns.txt)" "normal: 0"
	expect_eq "leftovers: nothing in /tmp or /dev/shm after SIGKILL of weft" "$(grep '^killed:' ns.txt)" "killed: 0"
else
	skip "leftovers: /tmp and /dev/shm" "cannot create a mount namespace (unshare -m)"
fi

# ---- a setuid program ignores WEFT_* ----
# The loader ignores LD_PRELOAD for setuid programs, so the copy under test
# links libweft.so directly: the library is there, and must stay quiet
# because AT_SECURE is set.
lib=$(dirname "$WEFT")/../lib/weft
[ -f "$lib/libweft.so" ] || lib=$(dirname "$WEFT_PLAIN")/../lib/weft
sdir=$(mktemp -d /tmp/weft-setuid.XXXXXX)
chmod 755 "$sdir"
if [ "$(id -u)" != 0 ]; then
	skip "setuid: WEFT_* ignored" "needs root (to make a setuid-root program and run it as another user)"
elif ! command -v setpriv >/dev/null; then
	skip "setuid: WEFT_* ignored" "setpriv(1) is not installed"
elif ! gcc -std=gnu11 -O1 "$TESTS/c/hard_setuid.c" -o "$sdir/suid" -L"$lib" -Wl,--no-as-needed -lweft \
	-Wl,-rpath,"$(cd "$lib" && pwd)" -lpthread 2>"$WORK/cc.txt"; then
	skip "setuid: WEFT_* ignored" "cannot link a program with libweft.so: $(head -1 "$WORK/cc.txt")"
else
	cp "$PROGS/hard_setuid" "$sdir/plain"
	chmod 4755 "$sdir/suid"
	chmod 755 "$sdir/plain"
	nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	wrun su.db -- "${nobody[@]}" "$sdir/suid"
	if [ "$(cat "$WORK/stdout")" != "uid 65534 euid 0 weft mapped" ]; then
		skip "setuid: WEFT_* ignored" "the setuid bit has no effect here ($(cat "$WORK/stdout"); nosuid mount?)"
	else
		expect_eq "setuid: status" "$rc" 0
		expect_eq "setuid: no process image announced after the exec" "$(sql su.db "SELECT count(*) FROM processes WHERE argv LIKE '%/suid%' AND argv NOT LIKE 'setpriv%'")" 0
		expect_eq "setuid: none of its locks recorded" "$(sql su.db "SELECT count(*) FROM events WHERE kind LIKE 'lock.%'")" 0
		# The control: the same work without the setuid bit is traced.
		wrun pl.db -- "${nobody[@]}" "$sdir/plain"
		expect_eq "setuid control: unprivileged copy runs as nobody" "$(cat "$WORK/stdout")" "uid 65534 euid 65534 weft mapped"
		expect_eq "setuid control: its locks are recorded" "$(sql pl.db "SELECT count(*) FROM events e JOIN objects o USING(object_id) WHERE e.kind='lock.acquire' AND o.kind='mutex'")" 30
	fi
fi
rm -rf "$sdir"
