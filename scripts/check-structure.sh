#!/usr/bin/env bash
# The structure rules of docs/ARCHITECTURE.md, checked on the built objects
# and the sources: no two files call each other (a call graph between files
# read from the object files' symbols), and no function over 150 lines.
# Prints each violation; exits 1 when there is any. Usage: scripts/check-structure.sh [BUILD]
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
status=0

# ---- files that call each other ----
# Defined functions per object, then the undefined ones each object uses.
# The preload library is built in one step (LTO): its files are compiled
# here on their own, for their symbols.
mkdir -p "$BUILD/obj/preload"
for f in preload/*.c; do
	o=$BUILD/obj/${f%.c}.o
	[ "$o" -nt "$f" ] || gcc -std=gnu11 -D_GNU_SOURCE -I. -I"$BUILD/gen" -fPIC -O0 -c "$f" -o "$o" || exit 2
done
objs=$(find "$BUILD/obj" -name '*.o' | sort)
if [ -z "$objs" ]; then
	echo "check-structure: no objects under $BUILD/obj (run make first)" >&2
	exit 2
fi
pairs=$(for o in $objs; do
	src=${o#"$BUILD"/obj/}
	src=${src%.o}.c
	nm "$o" | awk -v f="$src" '$2 == "T" { print "def", $3, f } $1 == "U" { print "use", $2, f }'
done | awk '
	$1 == "def" { owner[$2] = $3; next }
	{ uses[NR] = $2 " " $3 }
	END {
		for (i in uses) {
			split(uses[i], u, " ")
			o = owner[u[1]]
			if (o != "" && o != u[2]) edge[u[2] " " o] = 1
		}
		for (e in edge) {
			split(e, p, " ")
			if (p[1] < p[2] && edge[p[2] " " p[1]]) print p[1] " <-> " p[2]
		}
	}' | sort)
if [ -n "$pairs" ]; then
	echo "files that call each other:"
	echo "$pairs" | sed 's/^/  /'
	status=1
fi

# ---- functions over 150 lines (clang-format style: a body from "{" to "}" in column 0) ----
long=$(for f in preload/*.c tracer/*.c tracer/cmd/*.c store/*.c ui/*.c; do
	awk -v f="$f" '
		/^[A-Za-z].*\(/ && !/;$/ { name = $0 }
		/^\{$/ { start = NR }
		/^\}$/ && start { if (NR - start - 1 > 150) printf "%s:%d: %d lines: %s\n", f, start, NR - start - 1, name; start = 0 }
	' "$f"
done)
if [ -n "$long" ]; then
	echo "functions over 150 lines:"
	echo "$long" | sed 's/^/  /'
	status=1
fi
[ $status = 0 ] && echo "check-structure: no files that call each other, no function over 150 lines"
exit $status
