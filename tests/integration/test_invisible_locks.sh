# Locks that bypass pthreads (raw futexes: Rust's std::sync::Mutex, Go):
# weft cannot see them, and says so once in `weft run` and `weft report`
# when threads ran and no synchronization was recorded. Sourced by tests/run.sh.

msg="the program's locks are not visible to weft"

# wrun OUT ARGS...: weft run with a time limit (hang detection only), sets $rc.
wrun() {
	local out=$1
	shift
	timeout 120 "$WEFT" run -o "$out" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	rc=$?
}

wrun fx.db -- "$PROGS/futex_only" 4
expect_eq "futex: the program's result" "$rc:$(cat "$WORK/stdout")" "0:40000"
expect_eq "futex: weft run warns in one line" "$(wc -l <"$WORK/stderr"):$(grep -c "^weft: warning: .*$msg" "$WORK/stderr")" "1:1"
expect_sql "futex: threads recorded, no lock events" fx.db \
	"SELECT (SELECT count(*) FROM events WHERE kind = 'thread.start') || ':' || (SELECT count(*) FROM events WHERE kind LIKE 'lock.%' OR kind LIKE 'cond.%')" "4:0"
"$WEFT" report fx.db >"$WORK/report.txt" 2>&1
expect_eq "futex: weft report says it once" "$?:$(grep -c "$msg" "$WORK/report.txt")" "0:1"

# No warning when locks were seen, or when the program had a single thread.
wrun s.db -- "$PROGS/sync_counts"
expect_eq "pthread locks: no warning" "$rc:$(grep -c "$msg" "$WORK/stderr")" "0:0"
expect_eq "pthread locks: report has no such line" "$("$WEFT" report s.db 2>&1 | grep -c "$msg")" 0
wrun one.db -- true
expect_eq "one thread: no warning" "$rc:$(cat "$WORK/stderr")" "0:"
expect_eq "one thread: report has no such line" "$("$WEFT" report one.db 2>&1 | grep -c "$msg")" 0

# The real case: Rust's std::sync::Mutex (a futex through libc's syscall()).
rustc=$(command -v rustc || ls "$HOME"/.cargo/bin/rustc 2>/dev/null)
if [ -z "$rustc" ]; then
	skip "rust: std::sync::Mutex" "rustc is not installed"
else
	cat >rs.rs <<'RS'
use std::sync::{Arc, Mutex};
use std::thread;
fn main() {
    let c = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                for _ in 0..10000 {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    println!("{}", *c.lock().unwrap());
}
RS
	if ! "$rustc" -O rs.rs -o rs 2>"$WORK/rustc.err"; then
		fail "rust: compile" "$(head -3 "$WORK/rustc.err")"
	else
		wrun rs.db -- ./rs
		expect_eq "rust: the program's result" "$rc:$(cat "$WORK/stdout")" "0:40000"
		expect_eq "rust: weft run warns in one line" "$(wc -l <"$WORK/stderr"):$(grep -c "$msg" "$WORK/stderr")" "1:1"
		expect_eq "rust: weft report says it" "$("$WEFT" report rs.db 2>&1 | grep -c "$msg")" 1
	fi
fi
