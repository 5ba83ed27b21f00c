/* The weft CLI: one function per verb, each in its own file. */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Each verb gets argv starting at the verb itself and returns the exit
 * status. They parse their options (tracer/cmd/, from each verb's option
 * table) and call the verb's work below.
 */
int weft_cmd_run(int argc, char **argv);    /* tracer/cmd/run.c */
int weft_cmd_report(int argc, char **argv); /* tracer/cmd/report.c */
int weft_cmd_query(int argc, char **argv);  /* tracer/cmd/query.c */
int weft_cmd_export(int argc, char **argv); /* tracer/cmd/export.c */
int weft_cmd_view(int argc, char **argv);   /* tracer/cmd/view.c */

/* What `weft run` was asked to do, its options checked. */
struct weft_run_options {
	const char *out;	  /* the trace file */
	const char *stacks;	  /* none, caller or full */
	const char *fail_on;	  /* kinds that passed findings_parse_kinds, or NULL */
	const char *suppressions; /* a file that passed findings_check_suppressions, or NULL */
	int deadlock_stop;	  /* end the program once a deadlock is found */
	double timeout;		  /* seconds, or 0 */
	int races;		  /* Python race detection */
	char races_scope[4000];	  /* ':'-separated real paths, or "" for the program's own */
	char **cmd;		  /* NULL-terminated */
};

/* The verbs' work; each returns the exit status. tracer/run.c */
int weft_run(const struct weft_run_options *o);
/* tracer/report.c: the report as text, or JSON. */
/* list_all: every thread and process on its own line (--threads all), not grouped. */
int weft_report(const char *path, int json, int list_all);
enum weft_query_format { WEFT_QUERY_TABLE, WEFT_QUERY_CSV, WEFT_QUERY_JSON };
/* tracer/query.c */
int weft_query(const char *path, const char *sql, enum weft_query_format fmt);
/* A row's columns as the keys of an open JSON object (weft report's findings too). */
struct out_json;
struct sqlite3_stmt;
void weft_query_json_columns(struct out_json *j, struct sqlite3_stmt *st);
/* tracer/export.c: format is chrome or csv; out NULL is stdout. */
int weft_export(const char *path, const char *format, const char *out);
/* ui/view.c: the viewer on the terminal; or frames of every screen timed off-screen. */
int weft_view(const char *path, int ascii, int nocolor);
int weft_view_bench(const char *path, int frames, int ascii);

/* Prints "weft: <message>" on stderr. */
void weft_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void weft_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Runs one SELECT on the trace at path and hands each row to row(ctx, st),
 * in order; row returns 0 to go on, -1 when out of memory. On success 0;
 * otherwise -1 with one line said: "PATH: cannot read WHAT: <SQLite's
 * message>" when the statement fails, "out of memory" when row did.
 */
struct sqlite3;
int weft_read_rows(struct sqlite3 *db, const char *path, const char *what, const char *sql,
		   int (*row)(void *ctx, struct sqlite3_stmt *st), void *ctx);
/* CLOCK_MONOTONIC in ns: what weft times its own stages with. */
uint64_t weft_mono_ns(void);

/*
 * Copies s into out (at most outlen-1 bytes) with every control character,
 * escape sequence introducer and invalid UTF-8 byte replaced by a visible
 * escape (\n, \x1b, ...), so trace data can never drive the user's terminal.
 */
void weft_sanitize(const char *s, char *out, size_t outlen);
/* The same, written straight to a stream. */
void weft_fputs_sanitized(const char *s, FILE *f);

#endif
