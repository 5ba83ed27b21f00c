#!/usr/bin/env bash
# Viewer benchmark: how long `weft view` takes to open a large trace and to
# redraw, measured off-screen (`weft view --bench`, a 200x50 terminal on
# /dev/null) so the numbers are the viewer's, not the terminal's.
#
#   bench/view_bench.sh [EVENTS]     (default 10000000; BUILD=build)
#
# The traces are generated once by build/bench/gen_trace (seeded, so always
# the same) and kept in $BUILD/bench/. Targets: first screen within 1 s
# once the derived tables are cached (TRACE-view), each redraw within 50 ms,
# on a finalized trace.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
EVENTS=${1:-10000000}
GEN=$BUILD/bench/gen_trace
WEFT=$BUILD/bin/weft
[ -x "$GEN" ] && [ -x "$WEFT" ] || { echo "view_bench: run make first" >&2; exit 1; }

# A trace made by an older gen_trace may carry older derived tables, which
# the viewer would rebuild at open: regenerate it instead.
trace=$BUILD/bench/view_${EVENTS}.db
if [ ! -f "$trace" ] || [ "$trace" -ot "$GEN" ]; then
	rm -f "$trace" "$trace"-view "$trace".tmp*
	echo "== generating $trace ($EVENTS events, 16 threads; takes a while)"
	"$GEN" -n "$EVENTS" -t 16 -s 1 -o "$trace.tmp"
	mv "$trace.tmp" "$trace"
fi
# The derived tables are not in the trace: the first open builds them and
# saves them to TRACE-view, later opens attach that.
rm -f "$trace"-view
echo "== finalized trace, first open: derived tables built and saved to $(basename "$trace")-view"
"$WEFT" view --bench --frames 4 "$trace"
echo "== finalized trace: open (cached derived tables) and redraw"
"$WEFT" view --bench --frames 24 "$trace"

# A trace whose tracer was killed has no derived tables: the viewer builds
# them at open, which costs a pass over the events (reported, not a target).
small=$((EVENTS / 10))
killed=$BUILD/bench/view_${small}_killed.db
if [ ! -f "$killed" ] || [ "$killed" -ot "$GEN" ]; then
	rm -f "$killed" "$killed"-shm "$killed"-wal "$killed".tmp*
	"$GEN" -n "$small" -t 16 -s 1 --no-finalize -o "$killed.tmp" 2>/dev/null
	mv "$killed.tmp" "$killed"
fi
echo "== unfinalized trace ($small events): derived tables built at open"
"$WEFT" view --bench --frames 4 "$killed"
