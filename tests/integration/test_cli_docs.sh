# The verbs' option tables (tracer/cmd/) against what comes out of them:
# every verb's --help, `weft --help`, the man pages made at build time, the
# bash completion, and the parsers themselves. The option lists below are
# written out here on purpose: a table that loses an option fails, and so
# does a help text, man page or completion that differs from the parser.

MAN_DIR=$BUILD/man
COMPLETION=$BUILD/completion/weft
declare -A want_options=(
	[run]="-o --output --stacks --timeout --on-deadlock --fail-on --suppressions --races --races-scope"
	[report]="--json"
	[query]="--csv --json"
	[view]="--ascii --no-color --bench --frames"
	[export]="-f --format -o --output"
)
verbs=(run report query view export)

# The options a verb's --help lists: "-o, --output FILE  text" gives -o and --output.
help_options() {
	$WEFT "$1" --help | grep -E '^  -' | sed -E 's/^  (-[^ ]*)( --[^ ]*)?.*/\1\2/; s/,//' | tr ' ' '\n'
}

# completes WORD...: what _weft offers for the last word.
completes() {
	bash -c 'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _weft; echo "${COMPREPLY[*]}"' \
		"$COMPLETION" "$@"
}

overview=$($WEFT --help); rc=$?
expect_eq cli:overview-exit "$rc" 0
for verb in "${verbs[@]}"; do
	expect_match "cli:overview-lists-$verb" "$overview" "^  weft $verb( |$)"
done
# the run options the old hand-written summary had lost
for opt in --races --races-scope --fail-on --on-deadlock --suppressions --stacks --timeout; do
	expect_match "cli:overview-run$opt" "$overview" "\\[$opt( |\\])"
done

for verb in "${verbs[@]}"; do
	help=$($WEFT "$verb" --help); rc=$?
	expect_eq "cli:$verb-help-exit" "$rc" 0
	expect_match "cli:$verb-help-usage" "$help" "^usage: weft $verb "
	listed=" $(help_options "$verb" | tr '\n' ' ') "
	for opt in ${want_options[$verb]}; do
		case $listed in *" $opt "*) pass "cli:$verb-help-lists$opt" ;;
		*) fail "cli:$verb-help-lists$opt" "not in: $listed" ;; esac
	done

	# Every option the help lists is one the parser knows, the man page
	# explains and the completion offers.
	page=$MAN_DIR/weft-$verb.1
	if [ ! -f "$page" ]; then
		fail "cli:$verb-man" "no $page (make man)"
		continue
	fi
	warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	expect_eq "cli:$verb-man-no-groff-warnings" "$warnings" ""
	rendered=$(MANWIDTH=200 man -l "$page" 2>/dev/null | col -b)
	expect_match "cli:$verb-man-renders" "$rendered" "^NAME"
	expect_match "cli:$verb-man-synopsis" "$rendered" "^ +weft $verb "
	offered=" $(completes weft "$verb" -) "
	for opt in $listed; do
		err=$($WEFT "$verb" "$opt" </dev/null 2>&1 >/dev/null)
		expect_no_match "cli:$verb-parser-knows$opt" "$err" "unknown option"
		expect_match "cli:$verb-man-mentions$opt" "$rendered" "(^|[ ,])$opt([ ,]|$)"
		case $offered in *" $opt "*) pass "cli:$verb-completes$opt" ;;
		*) fail "cli:$verb-completes$opt" "offered: $offered" ;; esac
	done
done

# weft(1) names every verb and its page.
rendered=$(MANWIDTH=200 man -l "$MAN_DIR/weft.1" 2>/dev/null | col -b)
for verb in "${verbs[@]}"; do
	expect_match "cli:weft.1-lists-$verb" "$rendered" "weft-$verb\\(1\\)"
done
expect_match "cli:weft.1-run-options" "$rendered" "\\[--races\\].*\\[--races-scope PATH\\]"

# Completion: verbs, options, option values, and the traced command's own line.
expect_eq cli:complete-verb "$(completes weft ru)" run
expect_eq cli:complete-verbs "$(completes weft '')" "run report query view export --help --version"
expect_eq cli:complete-run-option "$(completes weft run --on)" --on-deadlock
expect_eq cli:complete-stacks "$(completes weft run --stacks '')" "none caller full"
expect_eq cli:complete-format "$(completes weft export t.db --format '')" "chrome csv"
expect_eq cli:complete-timeout-nothing "$(completes weft run --timeout '')" ""
mkdir -p cdir && touch cdir/trace.db
expect_eq cli:complete-file "$(completes weft report cdir/tr)" cdir/trace.db
expect_match cli:complete-command "$(completes weft run -o x.db bas)" "(^| )bash( |$)"
# after the program's name, its options are its own, not weft's
expect_eq cli:complete-after-command "$(completes weft run -- ls --st)" ""
