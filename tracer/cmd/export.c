/* weft export: its options and their parsing (the conversions: tracer/export.c). */
#include "tracer/cmd/cmd.h"
#include "tracer/cli.h"

#include <string.h>
#include <unistd.h>

enum { EXPORT_OPT_FORMAT, EXPORT_OPT_OUTPUT };

/* clang-format off */
static const struct cmd_option export_options[] = {
	{EXPORT_OPT_FORMAT, 'f', "format", "FORMAT", "chrome|csv", CMD_ONE_OF | CMD_REQUIRED, 0,
	 "chrome: Chrome trace-event JSON (Perfetto UI, chrome://tracing); csv: the events "
	 "view with object name and innermost frame", NULL},
	{EXPORT_OPT_OUTPUT, 'o', "output", "OUT", NULL, 0, 0,
	 "output file; - for stdout (the default when stdout is not a terminal)",
	 "The file is written under a temporary name and renamed when complete."},
	{0},
};

const struct cmd_verb cmd_verb_export = {
	"export", weft_cmd_export, "FILE", NULL, 0,
	"convert a trace to Chrome trace-event JSON or CSV",
	"Converts a weft trace. See docs/QUERY.md.",
	"0 on success, 1 when the trace cannot be read or the output cannot be\n"
	"written (no partial OUT is left), 2 for a usage error.",
	export_options,
};
/* clang-format on */

struct export_args {
	const char *format, *out;
};

static int take_export_option(void *args, const struct cmd_verb *verb, int id, const char *value)
{
	struct export_args *a = args;
	(void)verb;
	if (id == EXPORT_OPT_FORMAT)
		a->format = value;
	else if (id == EXPORT_OPT_OUTPUT)
		a->out = value;
	return 0;
}

int weft_cmd_export(int argc, char **argv)
{
	const struct cmd_verb *verb = &cmd_verb_export;
	struct export_args a = {0};
	struct cmd_operands ops = cmd_one_trace;
	int status = cmd_parse(verb, argc, argv, &ops, take_export_option, &a);
	if (status != CMD_RUN)
		return status;
	if (!a.format)
		return cmd_usage_error(verb, "missing --format chrome|csv");
	if (cmd_value_index(cmd_option_of(verb, EXPORT_OPT_FORMAT), a.format) < 0)
		return cmd_usage_error(verb, "unknown format '%s' (chrome or csv)", a.format);
	if (!a.out && isatty(STDOUT_FILENO))
		return cmd_usage_error(
		    verb, "stdout is a terminal; give -o OUT (or -o - to print anyway)");
	return weft_export(ops.value[0], a.format, a.out && strcmp(a.out, "-") ? a.out : NULL);
}
