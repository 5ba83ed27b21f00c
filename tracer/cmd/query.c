/* weft query: its options and their parsing (the query itself: tracer/query.c). */
#include "tracer/cmd/cmd.h"
#include "tracer/cli.h"

enum { QUERY_OPT_CSV, QUERY_OPT_JSON };

/* clang-format off */
static const struct cmd_option query_options[] = {
	{QUERY_OPT_CSV, 0, "csv", NULL, NULL, 0, 1, "RFC 4180 CSV with a header line", NULL},
	{QUERY_OPT_JSON, 0, "json", NULL, NULL, 0, 1, "an array of objects, one per row", NULL},
	{0},
};

const struct cmd_verb cmd_verb_query = {
	"query", weft_cmd_query, "FILE SQL", NULL, 0,
	"run one read-only SQL statement on a trace",
	"Runs one read-only SQL statement on a weft trace; see docs/QUERY.md and\n"
	"docs/SCHEMA.md. The statement may also read the viewer's derived tables\n"
	"(docs/DERIVED.md: thread_spans, object_holds, ...). The result is an\n"
	"aligned table unless --csv or --json is given.",
	"0 on success, 1 when the trace cannot be read or the statement is refused\n"
	"or fails, 2 for a usage error.",
	query_options,
};
/* clang-format on */

struct query_args {
	enum weft_query_format format;
	int nformats;
};

static int take_query_option(void *args, const struct cmd_verb *verb, int id, const char *value)
{
	struct query_args *a = args;
	(void)verb, (void)value;
	a->format = id == QUERY_OPT_CSV ? WEFT_QUERY_CSV : WEFT_QUERY_JSON;
	a->nformats++;
	return 0;
}

int weft_cmd_query(int argc, char **argv)
{
	const struct cmd_verb *verb = &cmd_verb_query;
	struct query_args a = {WEFT_QUERY_TABLE, 0};
	struct cmd_operands ops = {2,
				   {"missing trace file", "missing SQL statement"},
				   "unexpected argument '%s' (quote the SQL as one argument)",
				   {0}};
	int status = cmd_parse(verb, argc, argv, &ops, take_query_option, &a);
	if (status != CMD_RUN)
		return status;
	if (a.nformats > 1)
		return cmd_usage_error(verb, "choose one of --csv and --json");
	return weft_query(ops.value[0], ops.value[1], a.format);
}
