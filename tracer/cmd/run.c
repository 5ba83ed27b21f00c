/*
 * weft run: its options and their parsing; the run itself (launch,
 * supervision, the trace's tail) is tracer/run.c.
 */
#include "tracer/cmd/cmd.h"
#include "tracer/cli.h"
#include "tracer/findings_cli.h"
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
	RUN_OPT_OUTPUT,
	RUN_OPT_STACKS,
	RUN_OPT_TIMEOUT,
	RUN_OPT_ON_DEADLOCK,
	RUN_OPT_FAIL_ON,
	RUN_OPT_SUPPRESSIONS,
	RUN_OPT_RACES,
	RUN_OPT_RACES_SCOPE,
};

/* clang-format off */
static const struct cmd_option run_options[] = {
	{RUN_OPT_OUTPUT, 'o', "output", "FILE", NULL, 0, 0,
	 "trace file to write (default weft.db)",
	 "A previous weft trace there is replaced; any other file is left alone and weft "
	 "refuses to start."},
	{RUN_OPT_STACKS, 0, "stacks", "MODE", "none|caller|full", CMD_ONE_OF, 0,
	 "none, caller (default: the call site) or full (whole native stack)", NULL},
	{RUN_OPT_TIMEOUT, 0, "timeout", "SECONDS", NULL, CMD_NUMBER, 0,
	 "stop the program (SIGTERM, then SIGKILL) after SECONDS and keep the trace",
	 "SIGKILL follows two seconds after SIGTERM; the trace is complete either way."},
	{RUN_OPT_ON_DEADLOCK, 0, "on-deadlock", "MODE", "stop|wait", CMD_ONE_OF, 0,
	 "stop (default: end the program once a deadlock is found) or wait", NULL},
	{RUN_OPT_FAIL_ON, 0, "fail-on", "KINDS", STORE_FINDING_KINDS_PIPE "all", 0, 0,
	 "exit 3 when findings of these kinds exist (" STORE_FINDING_KINDS_COMMA "or all)",
	 "KINDS is a comma-separated list. The program's own non-zero exit status wins."},
	{RUN_OPT_SUPPRESSIONS, 0, "suppressions", "FILE", NULL, 0, 0,
	 "findings to leave out (docs/FINDINGS.md)",
	 "One finding per line: a kind and a pattern; # starts a comment."},
	{RUN_OPT_RACES, 0, "races", NULL, NULL, 0, 0,
	 "find data races in Python code (the program's own modules)", NULL},
	{RUN_OPT_RACES_SCOPE, 0, "races-scope", "PATH", NULL, 0, 0,
	 "instrument the Python modules under PATH instead (repeatable; implies --races)",
	 NULL},
	{0},
};

const struct cmd_verb cmd_verb_run = {
	"run", weft_cmd_run, NULL, "[--] CMD [ARGS...]", CMD_OPTIONS_FIRST | CMD_ERROR_HINT,
	"trace a program and its whole process tree into a trace file",
	"Runs CMD with the preload library and records every lock, condition,\n"
	"semaphore, barrier, GIL, queue, thread and process event of it and of its\n"
	"whole process tree into an SQLite trace, then finds bugs in it (data races,\n"
	"lock-order inversions, deadlocks, lock misuse). The program runs exactly as\n"
	"from a shell: same terminal, stdin and stdout. See README.md and\n"
	"docs/FINDINGS.md.",
	"The program's exit status, or 128+N when signal N killed it; 127 when CMD\n"
	"is not found, 126 when it cannot be executed; 1 when the trace cannot be\n"
	"written; 2 for a usage error; 3 with --fail-on when such findings exist\n"
	"and the program itself exited 0.",
	run_options,
};

/* clang-format on */

/* Adds PATH's real path to the scope list. On success 0, otherwise -1 with the error reported. */
static int add_races_scope(struct weft_run_options *o, const char *path)
{
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		weft_error("--races-scope %s: %s", path, strerror(errno));
		return -1;
	}
	size_t used = strlen(o->races_scope), rl = strlen(real);
	if (strchr(real, ':') || used + rl + 2 > sizeof(o->races_scope)) {
		weft_error("--races-scope %s: path too long or contains ':'", path);
		return -1;
	}
	if (used)
		o->races_scope[used++] = ':';
	memcpy(o->races_scope + used, real, rl + 1);
	o->races = 1;
	return 0;
}

/* Checks and keeps one option's value. On success 0, otherwise -1 with the error reported. */
static int take_option(struct weft_run_options *o, int id, const char *val)
{
	const struct cmd_option *opt = cmd_option_of(&cmd_verb_run, id);
	char ferr[512], *end;
	switch (id) {
	case RUN_OPT_OUTPUT:
		o->out = val;
		return 0;
	case RUN_OPT_STACKS:
		if (cmd_value_index(opt, val) < 0) {
			weft_error("--stacks takes none, caller or full, not '%s'", val);
			return -1;
		}
		o->stacks = val;
		return 0;
	case RUN_OPT_TIMEOUT:
		o->timeout = strtod(val, &end);
		if (*end || end == val || !(o->timeout > 0) || o->timeout > 1e9) {
			weft_error("--timeout takes a positive number of seconds, not '%s'", val);
			return -1;
		}
		return 0;
	case RUN_OPT_ON_DEADLOCK:
		if (cmd_value_index(opt, val) < 0) {
			weft_error("--on-deadlock takes stop or wait, not '%s'", val);
			return -1;
		}
		o->deadlock_stop = !strcmp(val, "stop");
		return 0;
	case RUN_OPT_FAIL_ON:
		if (findings_parse_kinds(val, ferr, sizeof(ferr)) < 0) {
			weft_error("%s", ferr);
			return -1;
		}
		o->fail_on = val;
		return 0;
	case RUN_OPT_SUPPRESSIONS:
		if (findings_check_suppressions(val, ferr, sizeof(ferr)) < 0) {
			weft_error("%s", ferr);
			return -1;
		}
		o->suppressions = val;
		return 0;
	case RUN_OPT_RACES:
		o->races = 1;
		return 0;
	case RUN_OPT_RACES_SCOPE:
		return add_races_scope(o, val);
	}
	return -1;
}

int weft_cmd_run(int argc, char **argv)
{
	static struct weft_run_options o;
	o = (struct weft_run_options){.out = "weft.db", .stacks = "caller", .deadlock_stop = 1};
	struct cmd_parser p;
	int what;
	cmd_parser_init(&p, &cmd_verb_run, argc, argv);
	while ((what = cmd_next(&p)) >= 0)
		if (take_option(&o, what, p.value) != 0)
			return 2;
	if (what == CMD_HELP)
		return 0;
	if (what == CMD_BAD)
		return 2;
	if (what == CMD_END)
		return cmd_usage_error(&cmd_verb_run, "no command to run");
	/* The first operand is the program; the rest are its own arguments. */
	o.cmd = argv + p.next - 1;
	return weft_run(&o);
}
