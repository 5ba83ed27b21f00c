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

struct view_args {
	int ascii, nocolor, bench, frames;
};

static int take_view_option(void *args, const struct cmd_verb *verb, int id, const char *value)
{
	struct view_args *a = args;
	char *end;
	long n;
	switch (id) {
	case VIEW_OPT_ASCII:
		a->ascii = 1;
		break;
	case VIEW_OPT_NO_COLOR:
		a->nocolor = 1;
		break;
	case VIEW_OPT_BENCH:
		a->bench = 1;
		break;
	case VIEW_OPT_FRAMES:
		n = strtol(value, &end, 10);
		if (*end || end == value || n < 1 || n > 1000000)
			return cmd_usage_error(verb, "--frames takes a positive number, not '%s'",
					       value);
		a->frames = (int)n;
		break;
	}
	return 0;
}

int weft_cmd_view(int argc, char **argv)
{
	const struct cmd_verb *verb = &cmd_verb_view;
	struct view_args a = {.frames = 30};
	/* The message has no %s: the extra argument is not worth repeating here. */
	struct cmd_operands ops = {1, {"no trace file given"}, "one trace at a time", {0}};
	int status = cmd_parse(verb, argc, argv, &ops, take_view_option, &a);
	if (status != CMD_RUN)
		return status;
	if (a.bench)
		return weft_view_bench(ops.value[0], a.frames, a.ascii);
	return weft_view(ops.value[0], a.ascii, a.nocolor);
}
