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
	"docs/SCHEMA.md. The result is an aligned table unless --csv or --json is\n"
	"given.",
	"0 on success, 1 when the trace cannot be read or the statement is refused\n"
	"or fails, 2 for a usage error.",
	query_options,
};
/* clang-format on */

int weft_cmd_query(int argc, char **argv)
{
	const struct cmd_verb *verb = &cmd_verb_query;
	const char *path = NULL, *sql = NULL;
	enum weft_query_format format = WEFT_QUERY_TABLE;
	int nformats = 0, what;
	struct cmd_parser p;
	cmd_parser_init(&p, verb, argc, argv);
	while ((what = cmd_next(&p)) != CMD_END) {
		if (what == CMD_HELP)
			return 0;
		if (what == CMD_BAD)
			return 2;
		if (what == QUERY_OPT_CSV || what == QUERY_OPT_JSON) {
			format = what == QUERY_OPT_CSV ? WEFT_QUERY_CSV : WEFT_QUERY_JSON;
			nformats++;
		} else if (!path) {
			path = p.value;
		} else if (!sql) {
			sql = p.value;
		} else {
			return cmd_usage_error(
			    verb, "unexpected argument '%s' (quote the SQL as one argument)",
			    p.value);
		}
	}
	if (nformats > 1)
		return cmd_usage_error(verb, "choose one of --csv and --json");
	if (!path || !sql)
		return cmd_usage_error(verb, "%s",
				       !path ? "missing trace file" : "missing SQL statement");
	return weft_query(path, sql, format);
}
