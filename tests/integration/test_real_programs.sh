# Hardening: real programs we did not write, under `weft run`, give the same
# results as untraced, and their traces show their threads, locks and
# processes. Multithreaded compressors, CPython's own thread test suites,
# and concurrent.futures pools. Sourced by tests/run.sh.

# wrun OUT ARGS...: weft run with a time limit (hang detection only), sets $rc;
# the program's stdout goes to $WORK/stdout unless redirected by the caller.
wrun() {
	local out=$1
	shift
	timeout 600 "$WEFT" run -o "$out" "$@" 2>"$WORK/stderr"
	rc=$?
}

# trace_ok NAME DB: the trace is complete, lossless, and every started thread was created.
trace_ok() {
	expect_eq "$1: trace complete, nothing lost" "$(sql "$2" "SELECT group_concat(value) FROM (SELECT value FROM meta WHERE key IN ('complete','events_lost') ORDER BY key)")" "1,0"
	expect_eq "$1: nothing unrecorded" "$(sql "$2" "SELECT coalesce(sum(unrecorded),0) FROM threads")" 0
	expect_eq "$1: every thread.start has its thread.create" "$(sql "$2" "SELECT (SELECT count(*) FROM events WHERE kind='thread.start') - (SELECT count(*) FROM events WHERE kind='thread.create')")" 0
}

# ---- (a) multithreaded compressors on a 50 MB file ----
python3 -c '
import base64, random, sys
r = random.Random(6)
out = sys.stdout.buffer
n = 0
while n < 50_000_000:
    # half random (base64: hard to compress), half text (easy): both paths of each codec
    chunk = base64.b64encode(r.randbytes(300_000)) + b"".join(b"line %d of the weft test\n" % i for i in range(n, n + 16_000))
    out.write(chunk[: 50_000_000 - n])
    n += min(len(chunk), 50_000_000 - n)
' >input.dat
expect_eq "input: 50 MB" "$(stat -c %s input.dat)" 50000000

# compressor NAME COMPRESS-ARGS... -- DECOMPRESS-ARGS...: each reads stdin, writes stdout
compressor() {
	local name=$1
	shift
	local cargs=() dargs=()
	while [ "$1" != -- ]; do cargs+=("$1"); shift; done
	shift
	dargs=("$@")
	if ! command -v "${cargs[0]}" >/dev/null; then
		skip "$name" "${cargs[0]} is not installed (apt-get install ${cargs[0]/pigz/pigz})"
		return
	fi
	timeout 300 "${cargs[@]}" <input.dat >ref.z
	wrun "$name-c.db" -- "${cargs[@]}" <input.dat >traced.z
	expect_eq "$name compress: status" "$rc" 0
	expect_eq "$name compress: output identical to untraced" "$(cmp ref.z traced.z >/dev/null 2>&1 && echo same)" same
	wrun "$name-d.db" -- "${dargs[@]}" <traced.z >traced.out
	expect_eq "$name decompress: status" "$rc" 0
	expect_eq "$name decompress: round trip" "$(cmp input.dat traced.out >/dev/null 2>&1 && echo same)" same
	timeout 300 "${dargs[@]}" <ref.z | cmp -s - traced.out
	expect_eq "$name decompress: identical to untraced" "$?" 0
	local db=$name-c.db
	expect_eq "$name compress: worker threads in the trace" "$(sql "$db" "SELECT count(*) > 1 FROM threads")" 1
	expect_eq "$name compress: threads created" "$(sql "$db" "SELECT count(*) > 0 FROM events WHERE kind='thread.create'")" 1
	expect_eq "$name compress: mutex acquires" "$(sql "$db" "SELECT count(*) > 0 FROM events e JOIN objects o USING(object_id) WHERE e.kind='lock.acquire' AND o.kind='mutex'")" 1
	expect_eq "$name compress: cond waits" "$(sql "$db" "SELECT count(*) > 0 FROM events WHERE kind='cond.wait'")" 1
	expect_eq "$name compress: each cond wait releases and re-acquires its mutex" "$(sql "$db" "SELECT (SELECT count(*) FROM events WHERE kind='cond.wait') = (SELECT count(*) FROM events WHERE kind='lock.acquire' AND arg=2)")" 1
	expect_eq "$name compress: one process" "$(sql "$db" "SELECT count(*) FROM processes")" 1
	# Debian's libraries are stripped: a frame without a symbol is its
	# module and the address in that file, never a bare run-time address.
	expect_eq "$name compress: every native frame named (a symbol, or module+0xOFFSET)" "$(sql "$db" "SELECT count(*) FROM stack_frames WHERE lang = 'native' AND (function IS NULL OR function GLOB '0x*')")" 0
	trace_ok "$name compress" "$db"
	trace_ok "$name decompress" "$name-d.db"
	rm -f ref.z traced.z traced.out
}
compressor zstd zstd -T2 -3 -c -- zstd -d -c
compressor xz xz -T2 -1 -c -- xz -T2 -d -c
if [ -f xz-c.db ]; then
	expect_eq "xz compress: liblzma's locks named by the site in liblzma's file" "$(sql xz-c.db "SELECT count(*) > 0 FROM objects WHERE name GLOB 'mutex@liblzma.so.*+0x*'")" 1
fi
compressor pigz pigz -p 2 -c -- pigz -d -c
rm -f input.dat

# ---- (b) CPython's thread test suites ----
# Debian's python3.11 has no `test` package (libpython3.11-testsuite); a pyenv
# 3.11 has it. test_import_from_another_thread is left out: it fails untraced
# too when site-packages import threading at start-up (pyenv's do).
pytest_python=""
for p in /usr/bin/python3.11 "$(pyenv root 2>/dev/null)"/versions/3.11*/bin/python3.11 /root/.pyenv/versions/3.11*/bin/python3.11; do
	if [ -x "$p" ] && "$p" -c 'import test.test_threading, test.test_queue, test.test_thread, test.test_threadsignals' 2>/dev/null; then
		pytest_python=$p
		break
	fi
done
if [ -z "$pytest_python" ]; then
	skip "cpython thread suites" "no python3.11 with the test package (apt-get install libpython3.11-testsuite, or pyenv install 3.11)"
else
	suites=(test_threading test_queue test_thread test_threadsignals)
	pyargs=(-m test -i test_import_from_another_thread "${suites[@]}")
	timeout 900 "$pytest_python" "${pyargs[@]}" >py-plain.txt 2>&1
	plain_rc=$?
	wrun py.db -- "$pytest_python" "${pyargs[@]}" >py-traced.txt
fi
if [ -n "$pytest_python" ]; then
	expect_eq "cpython suites: exit status as untraced" "$rc" "$plain_rc"
	expect_eq "cpython suites: result line as untraced" "$(grep '^Result: ' py-traced.txt)" "$(grep '^Result: ' py-plain.txt)"
	expect_eq "cpython suites: untraced baseline passes" "$(grep '^Result: ' py-plain.txt)" "Result: SUCCESS"
	expect_eq "cpython suites: same test totals" "$(grep '^Total tests: ' py-traced.txt)" "$(grep '^Total tests: ' py-plain.txt)"
	expect_eq "cpython suites: no sanitizer report from weft" "$(grep -c -E 'Sanitizer|runtime error' "$WORK/stderr")" 0
	expect_eq "cpython suites: threads (> 100)" "$(sql py.db "SELECT count(*) > 100 FROM threads")" 1
	expect_eq "cpython suites: python locks acquired (as semaphores or py.* objects)" "$(sql py.db "SELECT count(*) > 1000 FROM events e JOIN objects o USING(object_id) WHERE e.kind='lock.acquire' AND (o.kind='semaphore' OR o.kind LIKE 'py.%')")" 1
	expect_eq "cpython suites: subprocesses (script_helper) traced" "$(sql py.db "SELECT count(*) > 10 FROM processes")" 1
	expect_eq "cpython suites: every process ended" "$(sql py.db "SELECT count(*) FROM processes WHERE end_ns IS NULL")" 0
	trace_ok "cpython suites" py.db
	rm -f py.db
fi

# ---- (c) concurrent.futures under load: thread and process pools ----
cat >futures.py <<'EOF'
import concurrent.futures as cf, hashlib, multiprocessing as mp, os, sys

def work(n):
    h = hashlib.sha256()
    for i in range(3000):
        h.update(b"%d:%d" % (n, i))
    return n, h.hexdigest(), os.getpid()

def expected(n):
    return work(n)[1]

if __name__ == "__main__":
    N = 400
    ctx = mp.get_context(sys.argv[1])
    with cf.ThreadPoolExecutor(max_workers=8) as ex:
        t = list(ex.map(work, range(N)))
    with cf.ProcessPoolExecutor(max_workers=4, mp_context=ctx) as ex:
        p = list(ex.map(work, range(N), chunksize=5))
    print("threads", "ok" if [r[:2] for r in t] == [(n, expected(n)) for n in range(N)] else "BAD")
    print("processes", "ok" if [r[:2] for r in p] == [(n, expected(n)) for n in range(N)] else "BAD")
    print("workers", " ".join(map(str, sorted({r[2] for r in p}))))
EOF
for method in fork spawn; do
	wrun "fu-$method.db" -- /usr/bin/python3 futures.py $method >fu.out
	expect_eq "futures $method: status" "$rc" 0
	expect_eq "futures $method: results" "$(head -2 fu.out | tr '\n' ' ')" "threads ok processes ok "
	workers=$(sed -n 's/^workers //p' fu.out)
	expect_eq "futures $method: pool had workers" "$([ -n "$workers" ] && echo yes)" yes
	missing=0
	for w in $workers; do
		[ "$(sql "fu-$method.db" "SELECT count(*) FROM processes WHERE pid=$w AND exit_code=0")" = 1 ] || missing=$((missing + 1))
	done
	expect_eq "futures $method: every worker process in processes, exited 0" "$missing" 0
	expect_eq "futures $method: workers' locks recorded" "$(sql "fu-$method.db" "SELECT count(DISTINCT pid) FROM events WHERE kind='lock.acquire' AND pid IN (${workers// /,})")" "$(echo $workers | wc -w)"
	# (how many of its 8 threads a pool starts depends on timing: only "more than main")
	expect_eq "futures $method: thread pool threads in the main process" "$(sql "fu-$method.db" "SELECT count(*) > 1 FROM threads WHERE pid=(SELECT pid FROM processes WHERE argv LIKE '%futures.py $method' ORDER BY start_ns LIMIT 1)")" 1
	trace_ok "futures $method" "fu-$method.db"
done
