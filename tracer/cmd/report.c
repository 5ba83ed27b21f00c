/* weft report: its options and their parsing (the report itself: tracer/report.c). */
#include "tracer/cmd/cmd.h"
#include "tracer/cli.h"

#include <string.h>

enum { REPORT_OPT_JSON, REPORT_OPT_THREADS };

/* clang-format off */
static const struct cmd_option report_options[] = {
	{REPORT_OPT_JSON, 0, "json", NULL, NULL, 0, 0, "the same content as one JSON object", NULL},
	{REPORT_OPT_THREADS, 0, "threads", "HOW", "grouped|all", CMD_ONE_OF, 0,
	 "grouped (the default): threads named alike but for their numbers share a row, "
	 "launcher processes that made no events of interest share a line; all: each on its own",
	 "The JSON output lists every thread either way, and the groups beside them."},
	{0},
};

const struct cmd_verb cmd_verb_report = {
	"report", weft_cmd_report, "FILE", NULL, 0,
	"summarize a trace: findings, threads, contended locks, losses",
	"Summarizes a weft trace: findings, process tree, thread time split, contended\n"
	"locks, GIL, event counts and recording losses. See docs/QUERY.md.",
	"0 on success, 1 when the trace cannot be read, 2 for a usage error.",
	report_options,
};
/* clang-format on */

int weft_cmd_report(int argc, char **argv)
{
	const struct cmd_verb *verb = &cmd_verb_report;
	const char *path = NULL;
	int json = 0, list_all = 0, what;
	struct cmd_parser p;
	cmd_parser_init(&p, verb, argc, argv);
	while ((what = cmd_next(&p)) != CMD_END) {
		if (what == CMD_HELP)
			return 0;
		if (what == CMD_BAD)
			return 2;
		if (what == REPORT_OPT_JSON)
			json = 1;
		else if (what == REPORT_OPT_THREADS) {
			if (cmd_value_index(cmd_option_of(verb, REPORT_OPT_THREADS), p.value) < 0)
				return cmd_usage_error(verb, "--threads takes 'grouped' or 'all'");
			list_all = !strcmp(p.value, "all");
		} else if (!path)
			path = p.value;
		else
			return cmd_usage_error(verb, "unexpected argument '%s'", p.value);
	}
	if (!path)
		return cmd_usage_error(verb, "missing trace file");
	return weft_report(path, json, list_all);
}
