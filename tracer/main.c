/* weft: verb dispatch (the verbs and their options: tracer/cmd/). */
#include "tracer/cli.h"
#include "tracer/cmd/cmd.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	/*
	 * Memory statistics make every SQLite allocation take a global mutex;
	 * weft never reads them. Must precede any other SQLite call.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (argc < 2) {
		cmd_write_overview(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		cmd_write_overview(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("weft %s\n", WEFT_VERSION);
		return 0;
	}
	const struct cmd_verb *verb = cmd_verb_named(argv[1]);
	if (verb)
		return verb->main(argc - 1, argv + 1);
	weft_error("unknown command '%s' (try weft --help)", argv[1]);
	return 2;
}
