/* weft view: its options and their parsing (the viewer: ui/). */
#include "tracer/cmd/cmd.h"
#include "tracer/cli.h"

#include <stdlib.h>

enum { VIEW_OPT_ASCII, VIEW_OPT_NO_COLOR, VIEW_OPT_BENCH, VIEW_OPT_FRAMES };

/* clang-format off */
static const struct cmd_option view_options[] = {
	{VIEW_OPT_ASCII, 0, "ascii", NULL, NULL, 0, 0,
	 "ASCII glyphs only (the default without a UTF-8 locale)", NULL},
	{VIEW_OPT_NO_COLOR, 0, "no-color", NULL, NULL, 0, 0,
	 "monochrome (also when NO_COLOR is set)", NULL},
	{VIEW_OPT_BENCH, 0, "bench", NULL, NULL, 0, 0,
	 "time opening and redrawing off-screen and print the timings", NULL},
	{VIEW_OPT_FRAMES, 0, "frames", "N", NULL, CMD_NUMBER, 0,
	 "redraws per screen for --bench (default 30)", NULL},
	{0},
};

const struct cmd_verb cmd_verb_view = {
	"view", weft_cmd_view, NULL, "FILE", CMD_ERROR_HINT,
	"browse a trace in the terminal",
	"Browse a trace in the terminal; press ? inside for the keys (docs/VIEWER.md).",
	"0 when quit normally, 1 when the trace cannot be opened or there is no\n"
	"terminal, 2 for a usage error.",
	view_options,
};
/* clang-format on */

int weft_cmd_view(int argc, char **argv)
{
	const struct cmd_verb *verb = &cmd_verb_view;
	const char *path = NULL;
	int ascii = 0, nocolor = 0, bench = 0, frames = 30, what;
	struct cmd_parser p;
	cmd_parser_init(&p, verb, argc, argv);
	while ((what = cmd_next(&p)) != CMD_END) {
		if (what == CMD_HELP)
			return 0;
		if (what == CMD_BAD)
			return 2;
		if (what == VIEW_OPT_ASCII) {
			ascii = 1;
		} else if (what == VIEW_OPT_NO_COLOR) {
			nocolor = 1;
		} else if (what == VIEW_OPT_BENCH) {
			bench = 1;
		} else if (what == VIEW_OPT_FRAMES) {
			char *end;
			long n = strtol(p.value, &end, 10);
			if (*end || end == p.value || n < 1 || n > 1000000)
				return cmd_usage_error(
				    verb, "--frames takes a positive number, not '%s'", p.value);
			frames = (int)n;
		} else if (!path) {
			path = p.value;
		} else {
			return cmd_usage_error(verb, "one trace at a time");
		}
	}
	if (!path)
		return cmd_usage_error(verb, "no trace file given");
	if (bench)
		return weft_view_bench(path, frames, ascii);
	return weft_view(path, ascii, nocolor);
}
