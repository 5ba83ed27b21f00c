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

struct report_args {
	int json, list_all;
};

static int take_report_option(void *args, const struct cmd_verb *verb, int id, const char *value)
{
	struct report_args *a = args;
	if (id == REPORT_OPT_JSON) {
		a->json = 1;
	} else if (id == REPORT_OPT_THREADS) {
		if (cmd_value_index(cmd_option_of(verb, REPORT_OPT_THREADS), value) < 0)
			return cmd_usage_error(verb, "--threads takes 'grouped' or 'all'");
		a->list_all = !strcmp(value, "all");
	}
	return 0;
}

int weft_cmd_report(int argc, char **argv)
{
	struct report_args a = {0};
	struct cmd_operands ops = cmd_one_trace;
	int status = cmd_parse(&cmd_verb_report, argc, argv, &ops, take_report_option, &a);
	return status != CMD_RUN ? status : weft_report(ops.value[0], a.json, a.list_all);
}
