/*
 * Output writers shared by query, report and export: aligned tables for the
 * terminal, RFC 4180 CSV, and JSON. Table cells are always sanitized (trace
 * data never reaches the terminal raw); JSON strings are escaped so that no
 * control character survives; CSV keeps bytes unless asked to sanitize.
 */
#ifndef WEFT_OUTPUT_H
#define WEFT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- aligned tables ---- */

struct out_table;

/*
 * Creates a table written to f, every line prefixed with indent. Rows are
 * buffered to compute column widths; once OUT_TABLE_BUFFER rows are held the
 * widths are fixed and later rows are streamed (a longer value then simply
 * pushes the rest of its line right), so huge results need bounded memory.
 * Returns NULL when out of memory.
 */
#define OUT_TABLE_BUFFER 1000
struct out_table *out_table_new(FILE *f, const char *indent);
/* Adds a header cell; call once per column before the first row. */
void out_table_header(struct out_table *t, const char *name);
/* Appends a cell to the current row: s is sanitized; right-aligned when right is set. */
void out_table_cell(struct out_table *t, const char *s, int right);
void out_table_cellf(struct out_table *t, int right, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void out_table_end_row(struct out_table *t);
/*
 * With print set, prints what is still buffered (the header even when there
 * are no rows); then frees t. An error path passes print 0.
 */
void out_table_finish(struct out_table *t, int print);

/* ---- CSV (RFC 4180: CRLF line ends, fields quoted when needed) ---- */

/*
 * Writes one field of len bytes (s may be NULL: an empty field). first is
 * set for a row's first field. With sanitize, the bytes go through
 * weft_sanitize first (for a terminal).
 */
void out_csv_field(FILE *f, const char *s, size_t len, int first, int sanitize);
void out_csv_end_row(FILE *f);

/* ---- JSON ---- */

/*
 * A streaming JSON writer. Containers opened at a depth below pretty_depth
 * put each member on its own indented line; deeper ones stay on one line.
 */
#define OUT_JSON_MAX_DEPTH 32
struct out_json {
	FILE *f;
	int depth;
	int pretty_depth;
	int count[OUT_JSON_MAX_DEPTH]; /* members written so far per open container */
	int after_key;
};

void out_json_init(struct out_json *j, FILE *f, int pretty_depth);
void out_json_begin_object(struct out_json *j);
void out_json_end_object(struct out_json *j);
void out_json_begin_array(struct out_json *j);
void out_json_end_array(struct out_json *j);
/* Object member name; the next value call writes its value. */
void out_json_key(struct out_json *j, const char *key);
/* A string of len bytes: bytes that are not valid UTF-8 become \u00XX (their Latin-1 code point).
 */
void out_json_string_n(struct out_json *j, const char *s, size_t len);
/* NULL s writes null. */
void out_json_string(struct out_json *j, const char *s);
void out_json_int(struct out_json *j, int64_t v);
/* Shortest text that reads back as v; NaN and infinities become null. */
void out_json_double(struct out_json *j, double v);
void out_json_bool(struct out_json *j, int v);
void out_json_null(struct out_json *j);
/* A number written verbatim (e.g. a fixed-point microsecond value). */
void out_json_raw_number(struct out_json *j, const char *text);
/* Writes the escaped, quoted form of s[0..len) to f (no separators). */
void out_json_escape(FILE *f, const char *s, size_t len);

/* ---- small formatting helpers ---- */

/* Human duration: "850 ns", "12.34 us", "3.950 ms", "1.250 s". */
void out_fmt_duration(int64_t ns, char *buf, size_t len);
/* Nanoseconds as an exact decimal number of microseconds ("1234.567"). */
void out_fmt_us(int64_t ns, char *buf, size_t len);
/* Lowercase hex of len bytes into a malloc'd string (NULL when out of memory). */
char *out_hex(const void *p, size_t len);

#endif
