#!/usr/bin/env bash
# Stand-in for $WEFT under `make check-valgrind` (tests/run.sh with
# WEFT_VALGRIND=1): the plain, unsanitized weft under memcheck. Any memcheck
# error, or a definite leak, makes it exit 99, which the tests already treat
# as a sanitizer failure. The traced program is not ours to check:
# --trace-children=no. exec keeps the pid, so tests that signal $WEFT's pid
# reach valgrind (and the tool) directly.
# Many tests throw weft's stderr (and some its status) away, so with
# WEFT_VALGRIND_LOGS set (tests/run.sh sets it) each process also writes its
# memcheck report to a file there; run.sh fails the run on any non-empty one.
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$(cd "$(dirname "$0")/.." && pwd)/$BUILD ;; esac
logs=()
if [ -n "${WEFT_VALGRIND_LOGS:-}" ]; then
	logs=(--log-file="$WEFT_VALGRIND_LOGS/memcheck.%p.log")
fi
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --trace-children=no -q "${logs[@]}" \
	${VALGRIND_EXTRA:-} "$BUILD/bin/weft" "$@"
