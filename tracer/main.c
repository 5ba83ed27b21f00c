/* weft: verb dispatch and usage. */
#include "tracer/cli.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} verbs[] = {
    {"run", weft_cmd_run,
     "run [-o FILE] [--stacks none|caller|full] [--timeout S] [--] CMD [ARGS...]"},
    {"report", weft_cmd_report, "report FILE [--json]"},
    {"query", weft_cmd_query, "query FILE SQL [--csv|--json]"},
    {"view", weft_cmd_view, "view FILE"},
    {"export", weft_cmd_export, "export FILE --format chrome|csv [-o OUT]"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: weft COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  weft %s\n", verbs[i].summary);
	fprintf(f, "\nweft COMMAND --help shows a command's options. "
		   "The trace format is described in docs/SCHEMA.md.\n");
}

int main(int argc, char **argv)
{
	/*
	 * Memory statistics make every SQLite allocation take a global mutex;
	 * weft never reads them. Must precede any other SQLite call.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("weft %s\n", WEFT_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	weft_error("unknown command '%s' (try weft --help)", argv[1]);
	return 2;
}
