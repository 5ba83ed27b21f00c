/* Table, CSV and JSON writers shared by the read-side verbs. */
#include "tracer/output.h"
#include "tracer/cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- aligned tables ---- */

struct out_cell {
	char *text; /* sanitized */
	int right;
};

struct out_table {
	FILE *f;
	char *indent;
	char **header;
	size_t ncols, cap_cols;
	struct out_cell *cells; /* buffered rows, ncols cells each */
	size_t nrows, cap_rows;
	size_t cur; /* cells in the row being built */
	size_t *width;
	int streaming; /* widths fixed, header printed */
	int oom;
};

/* Display width of sanitized text: one column per UTF-8 code point. */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			w++;
	return w;
}

struct out_table *out_table_new(FILE *f, const char *indent)
{
	struct out_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->f = f;
	t->indent = strdup(indent ? indent : "");
	if (!t->indent) {
		free(t);
		return NULL;
	}
	return t;
}

static char *sanitized_copy(const char *s)
{
	/* Every byte can grow to a 4-byte escape; weft_sanitize wants 5 bytes of slack. */
	size_t len = s ? strlen(s) : 0;
	char *out = malloc(len * 4 + 8);
	if (out)
		weft_sanitize(s ? s : "", out, len * 4 + 8);
	return out;
}

void out_table_header(struct out_table *t, const char *name)
{
	if (!t || t->oom)
		return;
	if (t->ncols == t->cap_cols) {
		size_t cap = t->cap_cols ? t->cap_cols * 2 : 8;
		char **h = realloc(t->header, cap * sizeof(*h));
		if (!h) {
			t->oom = 1;
			return;
		}
		t->header = h;
		t->cap_cols = cap;
	}
	t->header[t->ncols] = sanitized_copy(name);
	if (!t->header[t->ncols]) {
		t->oom = 1;
		return;
	}
	t->ncols++;
}

static void print_padded(FILE *f, const char *s, size_t width, int right, int last)
{
	size_t w = text_width(s);
	size_t pad = w < width ? width - w : 0;
	if (right)
		for (size_t i = 0; i < pad; i++)
			fputc(' ', f);
	fputs(s, f);
	if (!right && !last)
		for (size_t i = 0; i < pad; i++)
			fputc(' ', f);
}

static void print_row(struct out_table *t, const struct out_cell *row)
{
	fputs(t->indent, t->f);
	for (size_t c = 0; c < t->ncols; c++) {
		if (c)
			fputs("  ", t->f);
		print_padded(t->f, row[c].text ? row[c].text : "", t->width[c], row[c].right,
			     c + 1 == t->ncols);
	}
	fputc('\n', t->f);
}

/* Fixes the column widths from the buffered rows and prints everything held so far. */
static void flush_buffer(struct out_table *t)
{
	if (!t->streaming) {
		t->width = calloc(t->ncols ? t->ncols : 1, sizeof(*t->width));
		if (!t->width) {
			t->oom = 1;
			return;
		}
		for (size_t c = 0; c < t->ncols; c++)
			t->width[c] = text_width(t->header[c]);
		for (size_t r = 0; r < t->nrows; r++)
			for (size_t c = 0; c < t->ncols; c++) {
				size_t w = text_width(t->cells[r * t->ncols + c].text);
				if (w > t->width[c])
					t->width[c] = w;
			}
		/* A column is right-aligned when its first value is (numbers). */
		fputs(t->indent, t->f);
		for (size_t c = 0; c < t->ncols; c++) {
			if (c)
				fputs("  ", t->f);
			int right = t->nrows ? t->cells[c].right : 0;
			print_padded(t->f, t->header[c], t->width[c], right, c + 1 == t->ncols);
		}
		fputc('\n', t->f);
		t->streaming = 1;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		print_row(t, &t->cells[r * t->ncols]);
		for (size_t c = 0; c < t->ncols; c++)
			free(t->cells[r * t->ncols + c].text);
	}
	t->nrows = 0;
}

void out_table_cell(struct out_table *t, const char *s, int right)
{
	if (!t || t->oom || t->cur >= t->ncols)
		return;
	if (t->nrows == t->cap_rows && t->cur == 0) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
		struct out_cell *n = realloc(t->cells, cap * t->ncols * sizeof(*n));
		if (!n) {
			t->oom = 1;
			return;
		}
		t->cells = n;
		t->cap_rows = cap;
	}
	struct out_cell *cell = &t->cells[t->nrows * t->ncols + t->cur];
	cell->text = sanitized_copy(s);
	cell->right = right;
	if (!cell->text) {
		t->oom = 1;
		return;
	}
	t->cur++;
}

void out_table_cellf(struct out_table *t, int right, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_table_cell(t, buf, right);
}

void out_table_end_row(struct out_table *t)
{
	if (!t || t->oom)
		return;
	/* Short rows get empty cells so every row has ncols of them. */
	while (t->cur < t->ncols)
		out_table_cell(t, "", 0);
	if (t->oom)
		return;
	t->cur = 0;
	t->nrows++;
	if (t->streaming || t->nrows >= OUT_TABLE_BUFFER)
		flush_buffer(t);
}

void out_table_finish(struct out_table *t, int print)
{
	if (!t)
		return;
	/* A half-built row is dropped. */
	for (size_t c = 0; c < t->cur; c++)
		free(t->cells[t->nrows * t->ncols + c].text);
	t->cur = 0;
	if (t->oom)
		weft_error("out of memory while formatting a table");
	else if (print)
		flush_buffer(t);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			free(t->cells[r * t->ncols + c].text);
	for (size_t c = 0; c < t->ncols; c++)
		free(t->header[c]);
	free(t->header);
	free(t->cells);
	free(t->width);
	free(t->indent);
	free(t);
}

/* ---- CSV ---- */

void out_csv_field(FILE *f, const char *s, size_t len, int first, int sanitize)
{
	char *safe = NULL;
	if (!first)
		fputc(',', f);
	if (!s)
		return;
	if (sanitize) {
		/* weft_sanitize stops at NUL; the bytes after one are dropped, as on screen. */
		safe = malloc(len * 4 + 8);
		if (!safe)
			return;
		char *tmp = malloc(len + 1);
		if (!tmp) {
			free(safe);
			return;
		}
		memcpy(tmp, s, len);
		tmp[len] = 0;
		weft_sanitize(tmp, safe, len * 4 + 8);
		free(tmp);
		s = safe;
		len = strlen(safe);
	}
	int quote = 0;
	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	/* Leading/trailing spaces are kept by readers only when quoted. */
	if (len && (s[0] == ' ' || s[len - 1] == ' '))
		quote = 1;
	if (!quote) {
		fwrite(s, 1, len, f);
	} else {
		fputc('"', f);
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '"')
				fputc('"', f);
			fputc(s[i], f);
		}
		fputc('"', f);
	}
	free(safe);
}

void out_csv_end_row(FILE *f)
{
	fputs("\r\n", f);
}

/* ---- JSON ---- */

void out_json_init(struct out_json *j, FILE *f, int pretty_depth)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty_depth = pretty_depth;
}

static void newline_indent(struct out_json *j, int depth)
{
	fputc('\n', j->f);
	for (int i = 0; i < depth; i++)
		fputs("  ", j->f);
}

/* Separator and indentation before a value (or a key) in the current container. */
static void before_value(struct out_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth == 0)
		return;
	int d = j->depth - 1;
	if (d < OUT_JSON_MAX_DEPTH) {
		if (j->count[d]++)
			fputc(',', j->f);
	}
	if (j->depth <= j->pretty_depth)
		newline_indent(j, j->depth);
}

static void open_container(struct out_json *j, char c)
{
	before_value(j);
	fputc(c, j->f);
	if (j->depth < OUT_JSON_MAX_DEPTH)
		j->count[j->depth] = 0;
	j->depth++;
}

static void close_container(struct out_json *j, char c)
{
	j->depth--;
	if (j->depth < j->pretty_depth && j->depth < OUT_JSON_MAX_DEPTH && j->count[j->depth])
		newline_indent(j, j->depth);
	fputc(c, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void out_json_begin_object(struct out_json *j)
{
	open_container(j, '{');
}

void out_json_end_object(struct out_json *j)
{
	close_container(j, '}');
}

void out_json_begin_array(struct out_json *j)
{
	open_container(j, '[');
}

void out_json_end_array(struct out_json *j)
{
	close_container(j, ']');
}

void out_json_key(struct out_json *j, const char *key)
{
	before_value(j);
	out_json_escape(j->f, key, strlen(key));
	fputc(':', j->f);
	if (j->depth <= j->pretty_depth)
		fputc(' ', j->f);
	j->after_key = 1;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes available), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

void out_json_escape(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (n == 0) {
			fprintf(f, "\\u%04x", p[i]);
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\') {
			fputc('\\', f);
			fputc((int)cp, f);
		} else if (cp == '\n') {
			fputs("\\n", f);
		} else if (cp == '\t') {
			fputs("\\t", f);
		} else if (cp == '\r') {
			fputs("\\r", f);
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
			   cp == 0x2029) {
			/* C1 controls drive some terminals; U+2028/9 break JavaScript parsers. */
			fprintf(f, "\\u%04x", (unsigned)cp);
		} else {
			fwrite(p + i, 1, n, f);
		}
		i += n;
	}
	fputc('"', f);
}

void out_json_string_n(struct out_json *j, const char *s, size_t len)
{
	before_value(j);
	if (!s)
		fputs("null", j->f);
	else
		out_json_escape(j->f, s, len);
}

void out_json_string(struct out_json *j, const char *s)
{
	out_json_string_n(j, s, s ? strlen(s) : 0);
}

void out_json_int(struct out_json *j, int64_t v)
{
	before_value(j);
	fprintf(j->f, "%" PRId64, v);
}

void out_json_double(struct out_json *j, double v)
{
	char buf[40];
	before_value(j);
	if (!isfinite(v)) {
		fputs("null", j->f);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, j->f);
}

void out_json_bool(struct out_json *j, int v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->f);
}

void out_json_null(struct out_json *j)
{
	before_value(j);
	fputs("null", j->f);
}

void out_json_raw_number(struct out_json *j, const char *text)
{
	before_value(j);
	fputs(text, j->f);
}

/* ---- formatting helpers ---- */

void out_fmt_duration(int64_t ns, char *buf, size_t len)
{
	const char *sign = ns < 0 ? "-" : "";
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	if (a < 1000)
		snprintf(buf, len, "%s%" PRIu64 " ns", sign, a);
	else if (a < 1000000)
		snprintf(buf, len, "%s%.2f us", sign, (double)a / 1e3);
	else if (a < 1000000000)
		snprintf(buf, len, "%s%.3f ms", sign, (double)a / 1e6);
	else
		snprintf(buf, len, "%s%.3f s", sign, (double)a / 1e9);
}

void out_fmt_us(int64_t ns, char *buf, size_t len)
{
	const char *sign = ns < 0 ? "-" : "";
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	snprintf(buf, len, "%s%" PRIu64 ".%03" PRIu64, sign, a / 1000, a % 1000);
}

char *out_hex(const void *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	char *s = malloc(len * 2 + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[len * 2] = 0;
	return s;
}
