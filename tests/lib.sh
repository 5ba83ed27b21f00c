# Helpers sourced by every integration test file (tests/integration/test_*.sh).
# A test records its outcome with pass/fail/skip; tests/run.sh counts them.

pass() { echo "PASS $1" >>"$RESULTS"; echo "  ok   $1"; }
fail() { echo "FAIL $1" >>"$RESULTS"; echo "  FAIL $1: ${2:-}"; }
skip() { echo "SKIP $1" >>"$RESULTS"; echo "  skip $1: ${2:-}"; }

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "got [$2], want [$3]"; fi
}

# expect_sql NAME DB SQL WANT: the first column of the query's output (rows joined by spaces)
expect_sql() {
	local got
	got=$(sqlite3 -readonly "$2" "$3" 2>&1 | tr '\n' ' ' | sed 's/ $//')
	expect_eq "$1" "$got" "$4"
}

# expect_match NAME TEXT REGEX
expect_match() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1" "[$2] does not match /$3/"; fi
}

# expect_no_match NAME TEXT REGEX
expect_no_match() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then fail "$1" "[$2] matches /$3/"; else pass "$1"; fi
}

# find_interpreters LABEL VERSION...: fills the array `interpreters` with
# "tag:path" entries, Debian's python3.11 first, then every installed pyenv
# release of each VERSION (3.13.0 and 3.13.5 differ: from 3.13.1 a Lock is a
# PyMutex) from $pyroot, which it sets, then the VERSION that
# scripts/pythons.sh put under $SID_PYTHONS (Debian sid's builds: 3.14 and
# 3.15, which neither Debian 12 nor this machine's pyenv has); a VERSION
# found in neither place is skipped by name ("LABELpython V").
SID_PYTHONS=${SID_PYTHONS:-/opt/weft-pythons/sid}
find_interpreters() {
	local label=$1 v exe found exe_version
	shift
	interpreters=()
	[ -x /usr/bin/python3.11 ] && interpreters+=("debian-3.11:/usr/bin/python3.11")
	pyroot=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
	for v in "$@"; do
		found=
		for exe in $(ls -d "$pyroot"/versions/$v.*/bin/python$v 2>/dev/null | sort -V); do
			found=1
			exe_version=${exe#"$pyroot"/versions/}
			interpreters+=("pyenv-${exe_version%%/*}:$exe")
		done
		if [ -x "$SID_PYTHONS/bin/python$v" ]; then
			found=1
			interpreters+=("sid-$v:$SID_PYTHONS/bin/python$v")
		fi
		[ -n "$found" ] || skip "${label}python $v" \
			"no CPython $v under pyenv or $SID_PYTHONS (scripts/pythons.sh installs 3.14 and 3.15)"
	done
}

# sql DB SQL: prints the result (one row per line, | between columns)
sql() { sqlite3 -readonly "$1" "$2"; }
# derived_sql DB SQL: sql with weft's SQLite extension loaded, which object_holds needs
derived_sql() { sqlite3 -readonly -cmd ".load $BUILD/lib/weft/weft_sqlite" "$1" "$2"; }

# Under make check-valgrind weft runs 20-50x slower (a query of a small bad
# trace: 16 ms plain, 1 s memchecked, past 10 s on a busy machine): the tests'
# `timeout N` limits only catch hangs, so they stretch by 5 there.
# A test that puts `timeout` in the background and signals $! must call
# `command timeout "$((N * TIMEOUT_SCALE))"`: $! of a backgrounded function
# is a subshell, not timeout.
TIMEOUT_SCALE=1
if [ -n "${WEFT_VALGRIND:-}" ]; then
	TIMEOUT_SCALE=5
	timeout() {
		local s=$1
		shift
		command timeout "$((s * TIMEOUT_SCALE))" "$@"
	}
fi
