# Findings (docs/FINDINGS.md) on real programs: tests/c/findings_cases.c
# runs one known lock-order or misuse case per mode, or a clean workload.
# `weft report` computes findings when a trace has none, so the findings
# themselves are checked whether or not finalize builds them; the findings
# stored in the trace and `weft run --fail-on/--suppressions` are skipped
# until then.

P=$PROGS/findings_cases
declare -A want=(
	[inversion]="lock_order:cycle"
	[cycle3]="lock_order:cycle"
	[nested]=""
	[gate]=""
	[unlock_other]="misuse:unlock_not_held"
	[unlock_unlocked]="misuse:unlock_not_held"
	[destroy_held]="misuse:destroy_held"
	[exit_holding]="misuse:exit_holding"
	[main_exit_holding]="misuse:process_exit_holding"
	[killed_holding]=""
	[cond_not_held]="misuse:cond_wait_not_held"
	[clean]=""
)
modes="inversion cycle3 nested gate unlock_other unlock_unlocked destroy_held exit_holding
	main_exit_holding killed_holding cond_not_held clean"

# The writer sometimes names a global lock kind@address rather than by its
# symbol (not what is tested here): map such names back through nm.
SYMS=$(nm "$P" | awk '$3 ~ /^mu_/ { print $1, $3 }')
export SYMS

# findings_json DB PYTHON-EXPR: evaluates EXPR with d = the report's JSON
# and F = its findings, lock names as symbols
findings_json() {
	$WEFT report --json "$1" | python3 -c "
import json, os, re, sys
syms = {int(a, 16): n for a, n in (l.split() for l in os.environ['SYMS'].splitlines())}
def fix(v):
    if isinstance(v, str):
        return re.sub(r'\b[a-z]+@0x([0-9a-f]+)', lambda m: syms.get(int(m.group(1), 16), m.group(0)), v)
    if isinstance(v, list):
        return [fix(x) for x in v]
    if isinstance(v, dict):
        return {k: fix(x) for k, x in v.items()}
    return v
d = fix(json.load(sys.stdin))
F = d.get('findings', [])
print($2)"
}

for m in $modes; do
	$WEFT run -o "$m.db" -- "$P" "$m" >"$m.out" 2>"$m.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "findings:$m:run" "weft run exited $rc: $(head -5 "$m.err")"
		continue
	fi
	expect_eq "findings:$m" \
		"$(findings_json "$m.db" '" ".join(sorted(f["kind"] + ":" + f["rule"] for f in F))')" \
		"${want[$m]}"
done

# symbolized NAME DB: the trace's frames have names; otherwise NAME fails saying
# so, since site checks then test the symbolizer rather than the findings
symbolized() {
	local raw
	raw=$(sqlite3 -readonly "$2" "SELECT group_concat(function, ' ') FROM (SELECT function FROM stack_frames WHERE function LIKE '0x%' OR function GLOB '*+0x*' LIMIT 3)")
	[ -z "$raw" ] && return 0
	fail "$1" "the trace's stack frames are not symbolized (writer, not findings): $raw"
	return 1
}

# --- what the findings say and point at ---
if symbolized findings:inversion-sites inversion.db; then
	got=$(findings_json inversion.db '[(p["role"], p["object_name"], p["function"], (p["file"] or "").endswith("findings_cases.c"), p["line"]) for p in F[0]["participants"]]')
	expect_eq findings:inversion-sites "$got" \
		"[('holds', 'mu_a', 'lock2', True, 31), ('acquires', 'mu_b', 'lock2', True, 32), ('holds', 'mu_b', 'lock2', True, 31), ('acquires', 'mu_a', 'lock2', True, 32)]"
fi
# the two orders come from two threads that never overlapped
got=$(findings_json inversion.db 'len(set(p["tid"] for p in F[0]["participants"]))')
expect_eq findings:inversion-two-threads "$got" 2
expect_match findings:inversion-summary "$(findings_json inversion.db 'F[0]["summary"]')" \
	'^lock order inversion: mu_a -> mu_b in tid [0-9]+ \(findings_cases\); mu_b -> mu_a in tid [0-9]+ \(findings_cases\)$'
expect_eq findings:cycle3-objects "$(findings_json cycle3.db 'F[0]["objects"]')" "mu_a, mu_b, mu_c"

# the releases glibc refused (EPERM) are still in the trace, and found
expect_sql findings:unlock-other-recorded unlock_other.db \
	"SELECT count(*) FROM events e JOIN objects o USING(object_id)
	 WHERE o.address = $((16#$(nm "$P" | awk '$3 == "mu_check" { print $1 }'))) AND e.kind = 'lock.release'
	 AND e.tid NOT IN (SELECT tid FROM events WHERE kind = 'lock.acquire' AND object_id = o.object_id)" 1
expect_match findings:unlock-other-holder "$(findings_json unlock_other.db 'F[0]["summary"]')" \
	'^unlock of mu_check by tid [0-9]+ \(findings_cases\) while tid [0-9]+ \(findings_cases\) holds it$'
expect_match findings:unlock-unlocked-summary "$(findings_json unlock_unlocked.db 'F[0]["summary"]')" \
	'^unlock of mu_check by tid [0-9]+ \(findings_cases\), which does not hold it$'
expect_sql findings:cond-eperm-recorded cond_not_held.db \
	"SELECT group_concat(k, ' ') FROM (SELECT kind || '/' || arg AS k FROM events
	 WHERE kind IN ('lock.release', 'cond.wait', 'lock.acquire') ORDER BY id)" \
	"lock.release/2 cond.wait/1 lock.acquire/2"
expect_match findings:destroy-summary "$(findings_json destroy_held.db 'F[0]["summary"]')" \
	'^destroy of mu_b by tid [0-9]+ \(findings_cases\) while holding it$'
expect_match findings:exit-summary "$(findings_json exit_holding.db 'F[0]["summary"] + " " + F[0]["severity"]')" \
	'^tid [0-9]+ \(findings_cases\) exited holding mu_c error$'

# --- the text report: Findings first, one line per participant with its site ---
out=$($WEFT report inversion.db)
expect_eq findings:report-first "$(printf '%s\n' "$out" | grep -E '^(Findings|Processes)' | head -1 | cut -c1-8)" Findings
symbolized findings:report-site inversion.db &&
	expect_match findings:report-site "$out" 'holds +tid [0-9]+ findings_cases +(mu_a|mutex@0x[0-9a-f]+) +lock2 [^ ]*findings_cases\.c:31'
expect_match findings:report-clean "$($WEFT report clean.db)" '^  findings   none'

# --- a trace without findings (a killed tracer): computed by the reader, file unchanged ---
cp cycle3.db bare.db
sqlite3 bare.db "DROP VIEW IF EXISTS findings; DROP VIEW IF EXISTS finding_items;
	DROP TABLE IF EXISTS finding; DROP TABLE IF EXISTS finding_item; DROP TABLE IF EXISTS finding_info;"
sum=$(md5sum <bare.db)
out=$($WEFT report bare.db)
expect_match findings:report-computed "$out" 'Findings \(1; computed now, the trace had none\)'
expect_eq findings:report-readonly "$(md5sum <bare.db)" "$sum"

# --- findings stored in the trace at finalize ---
if ! sqlite3 -readonly inversion.db "SELECT 1 FROM findings LIMIT 1" >/dev/null 2>&1; then
	skip findings:in-trace "the trace has no findings view: store_build_findings is not called by finalize yet"
else
	for m in $modes; do
		expect_sql "findings:in-trace:$m" "$m.db" \
			"SELECT coalesce(group_concat(k, ' '), '') FROM (SELECT kind || ':' || rule AS k FROM findings ORDER BY k)" \
			"${want[$m]}"
	done
	symbolized findings:in-trace-items inversion.db &&
		expect_sql findings:in-trace-items inversion.db \
		"SELECT count(*) FROM finding_items i JOIN findings f USING(finding_id) WHERE i.line IN (31, 32)" 4
fi

# --- weft run --suppressions / --fail-on ---
printf '# the inversion in lock2 is known\nlock_order lock2\n' >supp.txt
$WEFT run --suppressions supp.txt -o supp.db -- "$P" inversion >/dev/null 2>supp.err
rc=$?
if grep -q "unknown option" supp.err; then
	skip findings:suppressions "weft run has no --suppressions yet"
else
	expect_eq findings:suppressions-run "$rc" 0
	symbolized findings:suppressions supp.db &&
		expect_sql findings:suppressions supp.db \
		"SELECT (SELECT count(*) FROM findings) || ' ' || (SELECT count(*) FROM finding WHERE suppressed LIKE '%supp.txt:2')" "0 1"
fi
$WEFT run --fail-on lock_order -o fail.db -- "$P" inversion >/dev/null 2>fail.err
rc=$?
if grep -q "unknown option" fail.err; then
	skip findings:fail-on "weft run has no --fail-on yet"
else
	if [ $rc -ne 0 ]; then pass findings:fail-on-fails; else fail findings:fail-on-fails "exit 0 with a lock_order finding"; fi
	$WEFT run --fail-on lock_order -o ok.db -- "$P" nested >/dev/null 2>&1
	expect_eq findings:fail-on-clean "$?" 0
	$WEFT run --fail-on misuse -o other.db -- "$P" inversion >/dev/null 2>&1
	expect_eq findings:fail-on-other-kind "$?" 0
	$WEFT run --fail-on lock_order,races -o bad.db -- "$P" inversion >/dev/null 2>bad.err
	rc=$?
	expect_eq findings:fail-on-bad-kind "$rc $(grep -c "unknown finding kind 'races'" bad.err)" "2 1"
fi

# --- weft run says when the trace has findings: one line, the kinds, what to run next ---
$WEFT run -o said.db -- "$P" inversion >/dev/null 2>said.err
expect_eq findings:run-says "$?:$(cat said.err)" "0:weft: 1 finding (1 lock_order): weft report said.db"
$WEFT run -o quiet.db -- "$P" clean >/dev/null 2>quiet.err
expect_eq findings:run-quiet-when-none "$?:$(cat quiet.err)" "0:"
# suppressed ones are not findings; --fail-on's own line replaces it
$WEFT run --suppressions supp.txt -o said.db -- "$P" inversion >/dev/null 2>said.err
expect_eq findings:run-quiet-when-suppressed "$(cat said.err)" ""
$WEFT run --fail-on lock_order -o said.db -- "$P" inversion >/dev/null 2>said.err
expect_eq findings:run-fail-on-one-line "$(wc -l <said.err):$(grep -c 'see weft report' said.err)" "1:1"
