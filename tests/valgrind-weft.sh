#!/usr/bin/env bash
# Stand-in for $WEFT under `make check-valgrind` (tests/run.sh with
# WEFT_VALGRIND=1): the plain, unsanitized weft under memcheck. Any memcheck
# error, or a definite leak, makes it exit 99, which the tests already treat
# as a sanitizer failure. The traced program is not ours to check:
# --trace-children=no. exec keeps the pid, so tests that signal $WEFT's pid
# reach valgrind (and the tool) directly.
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$(cd "$(dirname "$0")/.." && pwd)/$BUILD ;; esac
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --trace-children=no -q \
	${VALGRIND_EXTRA:-} "$BUILD/bin/weft" "$@"
