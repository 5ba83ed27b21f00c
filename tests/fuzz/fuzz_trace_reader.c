/*
 * libFuzzer harness for the trace readers: every input is written to a
 * file and handed, as a trace, to the read-side verbs exactly as the CLI
 * would run them: store_open_read() through weft report (text and JSON),
 * weft query (table, CSV and JSON, over every public view) and weft export
 * (chrome and csv). A crash, a sanitizer report or a hang here is a bug a
 * hostile or damaged trace file can trigger.
 *
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined
 * against the tool's sources minus tracer/main.c.
 */
#include "store/store.h"
#include "tracer/cli.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static unsigned char *base;
static size_t base_len;
static char path[128], wal[140], shm[140], journal[140], out_json[140], out_csv[140];

/* Removes what SQLite or export may leave next to the input between runs. */
static void clean(void)
{
	unlink(wal);
	unlink(shm);
	unlink(journal);
	unlink(out_json);
	unlink(out_csv);
}

static void remove_dir(void)
{
	clean();
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/weft-fuzz.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	snprintf(journal, sizeof(journal), "%s-journal", path);
	snprintf(out_json, sizeof(out_json), "%s/out.json", dir);
	snprintf(out_csv, sizeof(out_csv), "%s/out.csv", dir);
	atexit(remove_dir);
	const char *bp = getenv("FUZZ_BASE_TRACE");
	FILE *bf = bp ? fopen(bp, "rb") : NULL;
	if (bf) {
		fseek(bf, 0, SEEK_END);
		long n = ftell(bf);
		rewind(bf);
		base = malloc(n > 0 ? (size_t)n : 1);
		if (base && n > 0 && fread(base, 1, (size_t)n, bf) == (size_t)n)
			base_len = (size_t)n;
		fclose(bf);
	}
	/* The verbs print their results: keep them (not libFuzzer's reports) off the terminal. */
	int null = open("/dev/null", O_WRONLY);
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	return 0;
}

/* Runs one verb with a NULL-terminated argument list. */
static void run(int (*verb)(int, char **), ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	va_start(ap, verb);
	for (char *a; argc < 15 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	verb(argc, argv);
	fflush(stdout);
	clearerr(stdout);
}

static void write_file(const char *to, const uint8_t *data, size_t size)
{
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	close(fd);
}

/* SQL mode: the base trace, changed by the input's statements. */
static void apply_sql(const uint8_t *data, size_t size)
{
	write_file(path, base, base_len);
	char *sqltext = malloc(size + 1);
	if (!sqltext)
		abort();
	memcpy(sqltext, data, size);
	sqltext[size] = 0;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		/* Statements after a failing one are skipped, as in the sqlite3 shell with bail on.
		 */
		sqlite3_exec(db, sqltext, NULL, NULL, NULL);
	}
	sqlite3_close(db);
	free(sqltext);
	const char *dump = getenv("FUZZ_DUMP_DB");
	if (dump && *dump) {
		FILE *in = fopen(path, "rb"), *out = fopen(dump, "wb");
		char buf[65536];
		size_t n;
		while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
		if (in)
			fclose(in);
		if (out)
			fclose(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	clean();
	if (size >= 16 && !memcmp(data, "SQLite format 3", 16))
		write_file(path, data, size);
	else if (base_len)
		apply_sql(data, size);
	else
		return 0;

	/* The reader's own checks first: most inputs stop here, as in the CLI. */
	char err[1024];
	sqlite3 *db = store_open_read(path, err, sizeof(err));
	if (!db)
		return 0;
	sqlite3_close(db);

	run(weft_cmd_report, "report", path, (char *)NULL);
	run(weft_cmd_report, "report", path, "--json", (char *)NULL);
	static const char *const queries[] = {
	    "SELECT * FROM events",
	    "SELECT * FROM objects",
	    "SELECT * FROM threads",
	    "SELECT * FROM processes",
	    "SELECT * FROM stack_frames",
	    "SELECT * FROM meta",
	    "SELECT kind, count(*), sum(wait_ns), max(wait_ns) FROM events GROUP BY kind",
	};
	/* Every view in the table format; the output formats on the most varied one. */
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		run(weft_cmd_query, "query", path, (char *)queries[i], (char *)NULL);
	run(weft_cmd_query, "query", path,
	    "SELECT * FROM events e LEFT JOIN objects USING(object_id)", "--json", (char *)NULL);
	run(weft_cmd_query, "query", path,
	    "SELECT * FROM events e LEFT JOIN objects USING(object_id)", "--csv", (char *)NULL);
	run(weft_cmd_export, "export", path, "--format", "chrome", "-o", out_json, (char *)NULL);
	run(weft_cmd_export, "export", path, "--format", "csv", "-o", out_csv, (char *)NULL);
	clean();
	return 0;
}
