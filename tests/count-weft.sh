#!/usr/bin/env bash
# Stand-in for $WEFT under tests/hardening_counts.sh (tests/run.sh with
# WEFT_COUNT_LOG set): logs each invocation's verb to $WEFT_COUNT_LOG, then
# execs the real tool ($WEFT_COUNTED), so the pid the tests signal is still
# weft's. For `weft run` a detached watcher waits for that pid to end and
# logs what the trace holds (processes, events, events_lost, unrecorded)
# before the test file gets to delete or replace it; a trace already gone
# is logged as "missing", never guessed.
log=$WEFT_COUNT_LOG
verb=${1:-}
printf 'call\t%s\n' "${verb:-none}" >>"$log"
if [ "$verb" = run ]; then
	out=weft.db
	shift_args=("${@:2}")
	for ((i = 0; i < ${#shift_args[@]}; i++)); do
		a=${shift_args[i]}
		case "$a" in
		--) break ;;
		-o | --output) out=${shift_args[i + 1]:-}; i=$((i + 1)) ;;
		-o=* | --output=*) out=${a#*=} ;;
		--stacks | --timeout | --on-deadlock | --fail-on | --suppressions) i=$((i + 1)) ;;
		-*) ;;
		*) break ;;
		esac
	done
	# setsid -f: the watcher must not be weft's child (weft waits for all of
	# its children, and is their subreaper), nor hold the test's pipes open.
	setsid -f bash -c '
		pid=$1 db=$2 log=$3
		# gone or a zombie: weft has finished writing the trace
		while [ -r "/proc/$pid/stat" ] && [ "$(awk "{print \$3}" "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
			sleep 0.02
		done
		r=$(sqlite3 -readonly "$db" "SELECT (SELECT count(*) FROM processes) || char(9) ||
			coalesce((SELECT value FROM meta WHERE key = '"'events'"'), (SELECT count(*) FROM events)) || char(9) ||
			coalesce((SELECT value FROM meta WHERE key = '"'events_lost'"'), 0) || char(9) ||
			(SELECT coalesce(sum(unrecorded), 0) FROM threads)" 2>/dev/null)
		if [ -n "$r" ]; then
			printf "trace\t%s\n" "$r" >>"$log"
		else
			printf "trace\tmissing\n" >>"$log"
		fi
	' watcher $$ "$out" "$log" </dev/null >/dev/null 2>&1
fi
exec "$WEFT_COUNTED" "$@"
