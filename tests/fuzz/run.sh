#!/usr/bin/env bash
# make fuzz: builds the libFuzzer harness for the trace readers
# (tests/fuzz/fuzz_trace_reader.c), seeds a corpus from small real traces
# (weft run on tests/c programs) and the deterministic fixtures, fuzzes for
# FUZZ_SECONDS (default 180) and copies every crash, leak or timeout input
# into tests/fuzz/regressions/ (replayed by tests/integration/test_fuzz_regressions.sh).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
FUZZ_SECONDS=${FUZZ_SECONDS:-180}
FUZZ_JOBS=${FUZZ_JOBS:-1}
OUT=$BUILD/fuzz
REG=$ROOT/tests/fuzz/regressions
mkdir -p "$OUT/corpus" "$OUT/seeds" "$OUT/artifacts" "$REG"

CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi

# ---- build: the tool's sources minus main, under ASan + UBSan + libFuzzer ----
srcs=()
for f in tracer/*.c tracer/cmd/*.c store/*.c ui/*.c; do
	[ "$f" = tracer/main.c ] || [ "$f" = tracer/cmd/gen_docs.c ] || srcs+=("$f")
done
srcs+=("$BUILD/gen/store_sql.c") # store/sql/*.sql, made by make
bin=$OUT/fuzz_trace_reader
if [ ! -x "$bin" ] || [ -n "$(find tracer store ui tests/fuzz/fuzz_trace_reader.c -newer "$bin" -name '*.[ch]' -o -newer "$bin" -name '*.sql' | head -1)" ]; then
	echo "fuzz: building $bin"
	"$CLANG" -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -DWEFT_VERSION='"fuzz"' \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -w \
		tests/fuzz/fuzz_trace_reader.c "${srcs[@]}" -o "$bin.tmp" \
		-lsqlite3 -lncursesw -ldw -lelf -lpthread -lm || exit 1
	mv "$bin.tmp" "$bin"
fi

# ---- seeds: small real traces, shrunk to 512-byte pages ----
shrink() { # SRC NAME
	[ -f "$1" ] || return 0
	cp "$1" "$OUT/seeds/$2"
	sqlite3 "$OUT/seeds/$2" "PRAGMA journal_mode=DELETE; PRAGMA page_size=512; VACUUM;" >/dev/null 2>&1 ||
		rm -f "$OUT/seeds/$2"
}
if [ -z "$(ls -A "$OUT/seeds" 2>/dev/null)" ]; then
	echo "fuzz: making seed traces"
	tmp=$(mktemp -d /tmp/weft-fuzz-seeds.XXXXXX)
	W=$BUILD/bin/weft
	P=$BUILD/tests
	for spec in "true:true" "orphan:$P/orphan" "setuid:$P/hard_setuid" "names:$P/hard_names" \
		"tree:$P/proc_tree" "clone:$P/hard_clone clone" "storm:$P/hard_fork_storm 3"; do
		name=${spec%%:*}
		# shellcheck disable=SC2086
		timeout 60 "$W" run -o "$tmp/$name.db" -- ${spec#*:} >/dev/null 2>&1
		shrink "$tmp/$name.db" "run-$name.db"
	done
	timeout 60 "$W" run --stacks full -o "$tmp/full.db" -- "$P/hard_names" >/dev/null 2>&1
	shrink "$tmp/full.db" run-full.db
	# (a killed tracer's trace: the fixture's --no-finalize below)
	source tests/fixtures/fixture.sh 2>/dev/null
	TMPROOT=$tmp
	for sc in basic gil hoh "basic --no-finalize" "basic --findings" "big:200"; do
		# shellcheck disable=SC2086
		make_fixture "$tmp/fx.db" $sc >/dev/null 2>&1 && shrink "$tmp/fx.db" "fixture-${sc// /_}.db"
		rm -f "$tmp/fx.db"*
	done
	rm -rf "$tmp"
fi

# ---- fuzz ----
# SQL-mode inputs (see the harness) change a copy of this good trace.
export FUZZ_BASE_TRACE=$OUT/seeds/fixture-basic.db
echo "fuzz: ${FUZZ_SECONDS}s on $(ls "$OUT/seeds" | wc -l) trace seeds, $(ls tests/fuzz/sql_seeds | wc -l) SQL seeds, $(ls "$REG" | wc -l) regressions"
# Fork mode keeps going after a crash (known bugs must not stop the search);
# the crashing inputs still land in artifacts/.
cd "$OUT" # libFuzzer may write fuzz-N.log files into the current directory
"$bin" -fork="$FUZZ_JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
	-max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 -max_len=262144 \
	-close_fd_mask=2 -print_final_stats=1 -dict="$ROOT/tests/fuzz/weft.dict" \
	-artifact_prefix="$OUT/artifacts/" "$OUT/corpus" "$OUT/seeds" "$ROOT/tests/fuzz/sql_seeds" "$REG" 2>&1 |
	grep -E 'ERROR|SUMMARY|runtime error|^INFO: (fuzzed|exiting)|^#[0-9]+: cov|crash-|timeout-|oom-|leak-' | tail -60
rc=${PIPESTATUS[0]}
cd "$ROOT"

# ---- keep what it found ----
found=0
for a in "$OUT"/artifacts/*; do
	[ -f "$a" ] || continue
	h=$(sha1sum "$a" | cut -c1-16)
	kind=$(basename "$a" | cut -d- -f1)
	dest=$REG/$kind-$h.db
	if [ ! -e "$dest" ]; then
		if [ "$(head -c 15 "$a")" = "SQLite format 3" ]; then
			cp "$a" "$dest"
		else
			# SQL mode: keep the statements, and the trace file they make (what the CLI reads).
			cp "$a" "$REG/$kind-$h.sql.txt"
			FUZZ_DUMP_DB=$dest "$bin" -runs=1 "$a" >/dev/null 2>&1
			[ -s "$dest" ] || echo "fuzz: could not rebuild the trace for $a"
		fi
		found=$((found + 1))
		echo "fuzz: new regression input $dest"
	fi
done
# Processed: the next run reports only what it finds itself (a duplicate of a
# known bug deleted from regressions/ must not come back from here).
rm -f "$OUT"/artifacts/*
echo "fuzz: exit $rc, $found new regression input(s) in tests/fuzz/regressions/"
[ "$found" -eq 0 ]
