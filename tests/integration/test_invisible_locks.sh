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

# What weft sees of such locks: FUTEX_WAIT/FUTEX_WAKE made through libc's syscall().
wrun fc.db -- "$PROGS/futex_calls"
expect_eq "futex calls: the program's result" "$rc:$(cat "$WORK/stdout")" "0:woken 1, waiter ok"
# kind|arg|in the main thread|count: 3 EAGAIN, 2 ETIMEDOUT, the other thread's woken wait; a wake of nobody, a wake of one
expect_eq "futex calls: exact events" \
	"$(sql fc.db "SELECT kind || '|' || arg || '|' || (tid = pid) || '|' || count(*) FROM events WHERE kind LIKE 'futex.%' GROUP BY kind, arg, tid = pid ORDER BY 1" | tr '\n' ' ')" \
	"futex.wait|0|0|1 futex.wait|110|1|2 futex.wait|11|1|3 futex.wake|0|1|1 futex.wake|1|1|1 "
expect_sql "futex calls: one futex object, named by its symbol" fc.db \
	"SELECT kind || ' ' || name FROM objects" "futex word"
expect_sql "futex calls: the woken wait is an 'other wait' span" fc.db \
	"SELECT count(*) FROM events WHERE kind = 'futex.wait' AND wait_ns > 0 AND tid <> pid" 1
"$WEFT" report fc.db >"$WORK/report.txt" 2>&1
expect_eq "futex calls: report lists them" "$?:$(grep -cE '^  futex\.(wait|wake) +(6|2)$' "$WORK/report.txt")" "0:2"

# No warning when locks were seen, or when the program had a single thread.
wrun s.db -- "$PROGS/sync_counts"
expect_eq "pthread locks: no warning" "$rc:$(grep -c "$msg" "$WORK/stderr")" "0:0"
expect_eq "pthread locks: report has no such line" "$("$WEFT" report s.db 2>&1 | grep -c "$msg")" 0
# Summaries that do not count every event (a writer whose writes failed empties
# them): the answer comes from the events themselves, the same both ways.
for t in fx s; do
	cp "$t.db" "$t-nosum.db" && sqlite3 "$t-nosum.db" "DELETE FROM sum_thread_kind"
done
expect_eq "futex, summaries emptied: weft report still says it once" "$("$WEFT" report fx-nosum.db 2>&1 | grep -c "$msg")" 1
expect_eq "pthread locks, summaries emptied: report still has no such line" "$("$WEFT" report s-nosum.db 2>&1 | grep -c "$msg")" 0
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
	# A contended std Mutex: released only once the other thread sleeps in
	# the kernel (its current system call, from /proc), so it always waited.
	cat >rs3.rs <<'RS'
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

static TID: AtomicUsize = AtomicUsize::new(0);

fn in_futex(tid: usize) -> bool {
    let s = std::fs::read_to_string(format!("/proc/self/task/{}/syscall", tid)).unwrap_or_default();
    let nr = s.split(' ').next().unwrap_or("");
    nr == if cfg!(target_arch = "aarch64") { "98" } else { "202" }
}

fn main() {
    let m = Arc::new(Mutex::new(0u64));
    let g = m.lock().unwrap();
    let m2 = Arc::clone(&m);
    let h = thread::spawn(move || {
        let link = std::fs::read_link("/proc/thread-self").unwrap();
        let tid: usize = link.file_name().unwrap().to_str().unwrap().parse().unwrap();
        TID.store(tid, Ordering::SeqCst);
        *m2.lock().unwrap() += 1;
    });
    while TID.load(Ordering::SeqCst) == 0 || !in_futex(TID.load(Ordering::SeqCst)) {
        thread::sleep(Duration::from_millis(1));
    }
    drop(g);
    h.join().unwrap();
    println!("{}", *m.lock().unwrap());
}
RS
	if ! "$rustc" -O rs3.rs -o rs3 2>"$WORK/rustc.err"; then
		fail "rust contended: compile" "$(head -3 "$WORK/rustc.err")"
	else
		wrun rs3.db -- ./rs3
		expect_eq "rust contended: the program's result" "$rc:$(cat "$WORK/stdout")" "0:1"
		# The waiter's wait (woken), main's wake of it, the waiter's unlock of a lock it took as contended.
		expect_eq "rust contended: futex events" \
			"$(sql rs3.db "SELECT kind || '|' || arg || '|' || (tid = pid) || '|' || count(*) FROM events WHERE kind LIKE 'futex.%' GROUP BY kind, arg, tid = pid ORDER BY 1" | tr '\n' ' ')" \
			"futex.wait|0|0|1 futex.wake|0|0|1 futex.wake|1|1|1 "
	fi
fi
