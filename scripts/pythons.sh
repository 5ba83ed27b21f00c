#!/bin/sh
# CPython 3.13, 3.14 and 3.15 for weft's tests, from Debian unstable (sid) binary
# packages unpacked into a private prefix on Debian 12 (bookworm) amd64.
# Debian 12 ships 3.11 only, and weft has to be tested on the versions whose
# internals it reads. Nothing from sid goes into the system: apt only downloads
# (own lists under $PREFIX/.apt), dpkg -x unpacks, and each interpreter is
# pointed at sid's loader and libraries with patchelf (DT_RPATH).
# Idempotent: exits at once when every interpreter is there and runs.
# Result: $PREFIX/bin/pythonX.Y, and CPython's own test suite (Debian's
# libpythonX.Y-testsuite: $PREFIX/usr/lib/pythonX.Y/test) for
# tests/integration/test_cpython_suite.sh.
# Notes: ../shared/notes/pythons-from-sid.md.
# Environment: PREFIX, VERSIONS (default "3.13 3.14 3.15"), MIRROR, APT_OPTS.
# sid's 3.13 (a 3.13.1+, PyMutex Locks) is built as 3.14 and 3.15 are (PGO,
# LTO): the fair 3.13 to set 3.14's overhead against (pyenv's 3.13.0 has
# neither, so the same added time is a smaller share of it).
set -eu
PREFIX=${PREFIX:-/opt/weft-pythons/sid}
VERSIONS=${VERSIONS:-"3.13 3.14 3.15"}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
APT_OPTS=${APT_OPTS:-} # e.g. "-o Acquire::Check-Valid-Until=false" for a snapshot mirror
# sid's libc and every library the interpreters and their stdlib extension
# modules link against; libunwind8 because libweft.so needs it inside them.
LIBS="libc6 libgcc-s1 libssl3t64 libffi8 libexpat1 zlib1g libbz2-1.0 liblzma5
  libsqlite3-0 libncursesw6 libtinfo6 libreadline8t64 libuuid1 libzstd1
  libdb5.3t64 libunwind8"

# The check that an installed interpreter works: the modules the tests use,
# and multiprocessing's spawn and forkserver, which re-run sys.executable.
works() {
	"$PREFIX/bin/python$1" -c '
import sys, ssl, sqlite3, ctypes, threading, queue, multiprocessing as mp
for m in ("spawn", "forkserver"):
    p = mp.get_context(m).Process(target=sys.exit, args=(0,)); p.start(); p.join()
    assert p.exitcode == 0, m
print(sys.executable, sys.version.split()[0], "ok")' "$@"
}

# The test suite must be the interpreter's own release: a later one tests
# fixes the interpreter does not have. Its Debian version is the first line
# of the changelog that dpkg -x unpacked with the interpreter.
has_tests() { [ -f "$PREFIX/usr/lib/python$1/test/test_threading.py" ]; }
deb_version() {
	gzip -dc "$PREFIX/usr/share/doc/python$1/changelog.Debian.gz" 2>/dev/null |
		sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p'
}

missing=""
missing_tests=""
for v in $VERSIONS; do
	if [ -x "$PREFIX/bin/python$v" ] && works "$v" >/dev/null 2>&1; then
		has_tests "$v" || missing_tests="$missing_tests $v"
	else
		missing="$missing $v"
	fi
done
[ -z "$missing$missing_tests" ] && exit 0

[ "$(id -u)" = 0 ] ||
	{ echo "weft pythons.sh: run as root to install$missing${missing_tests:+ (test suite of$missing_tests)}" >&2; exit 1; }
[ "$(dpkg --print-architecture)" = amd64 ] || { echo "weft pythons.sh: amd64 only" >&2; exit 1; }
# patchelf from bookworm, the one change to the system (with fresh lists if
# there are none yet, as on a new CI machine).
if ! command -v patchelf >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends patchelf >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends patchelf >/dev/null; }
fi

A=$PREFIX/.apt
mkdir -p "$A/lists/partial" "$A/archives/partial" "$A/empty" "$A/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR sid main" >"$A/sources.list"
set -- -o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts="$A/empty" \
	-o Dir::Etc::Preferences="$A/empty/none" -o Dir::Etc::PreferencesParts="$A/empty" \
	-o Dir::State::Lists="$A/lists" -o Dir::Cache="$A" -o Dir::Cache::Archives="$A/archives" \
	-o Acquire::Languages=none -o APT::Sandbox::User=root $APT_OPTS
apt-get "$@" -qq update >/dev/null

# The libraries always come with the interpreters, so that sid's libc and
# the interpreters in the prefix are from the same day.
pkgs=$LIBS
for v in $missing; do
	pkgs="$pkgs libpython$v-minimal libpython$v-stdlib python$v-minimal python$v"
	pkgs="$pkgs libpython$v libpython$v-dev python$v-dev libpython$v-testsuite"
done
[ -n "$missing" ] || pkgs=""
for v in $missing_tests; do
	pkgs="$pkgs libpython$v-testsuite=$(deb_version "$v")"
done
rm -f "$A"/debs/*.deb
(cd "$A/debs" && apt-get "$@" -qq download $pkgs >/dev/null 2>"$A/download.err") || {
	echo "weft pythons.sh: download failed ($(head -1 "$A/download.err")); a test suite whose" \
		"release left sid comes back with its interpreter: rm $PREFIX/bin/pythonX.Y and re-run" >&2
	exit 1
}
for d in "$A"/debs/*.deb; do dpkg -x "$d" "$PREFIX"; done

# DT_RPATH (--force-rpath), not DT_RUNPATH: only RPATH also applies to the
# libraries that dlopen()ed extension modules (_ssl, _sqlite3, ...) need.
LIB=$PREFIX/usr/lib/x86_64-linux-gnu
mkdir -p "$PREFIX/bin"
for v in $missing; do
	patchelf --set-interpreter "$LIB/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$LIB" \
		"$PREFIX/usr/bin/python$v"
	ln -sf ../usr/bin/python$v "$PREFIX/bin/python$v"
	works "$v"
done
