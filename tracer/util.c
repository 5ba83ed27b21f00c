/* Messages, terminal-safe output and the trace row reader shared by the verbs. */
#include "tracer/cli.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

/* "weft: " and prefix before the message, sanitized: it may quote the trace. */
static void say(const char *prefix, const char *fmt, va_list ap)
{
	char msg[1024], safe[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	weft_sanitize(msg, safe, sizeof(safe));
	fprintf(stderr, "weft: %s%s\n", prefix, safe);
}

void weft_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
}

void weft_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("warning: ", fmt, ap);
	va_end(ap);
}

int weft_read_rows(sqlite3 *db, const char *path, const char *what, const char *sql,
		   int (*row)(void *ctx, sqlite3_stmt *st), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		weft_error("%s: cannot read %s: %s", path, what, sqlite3_errmsg(db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row(ctx, st)) {
			sqlite3_finalize(st);
			weft_error("out of memory");
			return -1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		weft_error("%s: cannot read %s: %s", path, what, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* C1 controls (U+0080..U+009F) act as escape introducers on some terminals. */
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return n;
}

void weft_sanitize(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	if (!outlen)
		return;
	if (!s)
		s = "";
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < outlen;) {
		int n = utf8_len(p);
		if (n == 1 && *p >= 0x20 && *p != 0x7f) {
			out[o++] = (char)*p++;
		} else if (n > 1) {
			memcpy(out + o, p, (size_t)n);
			o += (size_t)n;
			p += n;
		} else {
			const char *esc = *p == '\n'   ? "\\n"
					  : *p == '\t' ? "\\t"
					  : *p == '\r' ? "\\r"
						       : NULL;
			if (esc) {
				memcpy(out + o, esc, 2);
				o += 2;
			} else {
				o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", *p);
			}
			p++;
		}
	}
	out[o] = 0;
}

void weft_fputs_sanitized(const char *s, FILE *f)
{
	char buf[4096];
	/* Long strings go through in pieces cut at byte boundaries the sanitizer escapes anyway. */
	size_t len = s ? strlen(s) : 0;
	for (size_t off = 0; off < len;) {
		char piece[1024];
		size_t take = len - off < sizeof(piece) - 1 ? len - off : sizeof(piece) - 1;
		/* Do not split a UTF-8 sequence. */
		while (take < len - off && take > 0 &&
		       ((unsigned char)s[off + take] & 0xc0) == 0x80)
			take--;
		if (take == 0)
			take = 1;
		memcpy(piece, s + off, take);
		piece[take] = 0;
		weft_sanitize(piece, buf, sizeof(buf));
		fputs(buf, f);
		off += take;
	}
}

uint64_t weft_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
