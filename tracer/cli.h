/* The weft CLI: one function per verb, each in its own file. */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <stddef.h>
#include <stdio.h>

/* Each verb gets argv starting at the verb itself and returns the exit status. */
int weft_cmd_run(int argc, char **argv);    /* tracer/run.c */
int weft_cmd_report(int argc, char **argv); /* tracer/report.c */
int weft_cmd_query(int argc, char **argv);  /* tracer/query.c */
int weft_cmd_export(int argc, char **argv); /* tracer/export.c */
int weft_cmd_view(int argc, char **argv);   /* ui/view.c */

/* Prints "weft: <message>" on stderr. */
void weft_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void weft_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Copies s into out (at most outlen-1 bytes) with every control character,
 * escape sequence introducer and invalid UTF-8 byte replaced by a visible
 * escape (\n, \x1b, ...), so trace data can never drive the user's terminal.
 */
void weft_sanitize(const char *s, char *out, size_t outlen);
/* The same, written straight to a stream. */
void weft_fputs_sanitized(const char *s, FILE *f);

#endif
