/*
 * What the unit tests share: checks printed as "ok NAME" or "FAIL NAME:
 * detail" (tests/run.sh counts them), and a query's rows as one string
 * for exact comparison. Header-only: each unit test is one file.
 */
#ifndef WEFT_TESTS_UNIT_CHECK_H
#define WEFT_TESTS_UNIT_CHECK_H

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int unit_failures;

static inline void unit_check(int ok, const char *name, const char *detail)
{
	if (ok) {
		printf("ok %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, detail);
		unit_failures++;
	}
}

/* The rows of a query as "a|b|c;a|b|c", cut at len (NULL for a NULL value). */
static inline void unit_rows(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	out[0] = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(out, len, "error: %s", sqlite3_errmsg(db));
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW && n < len) {
		for (int c = 0; c < sqlite3_column_count(st) && n < len; c++) {
			const unsigned char *v = sqlite3_column_text(st, c);
			n += (size_t)snprintf(out + n, len - n, "%s%s", c ? "|" : (n ? ";" : ""),
					      v ? (const char *)v : "NULL");
		}
	}
	sqlite3_finalize(st);
}

static inline void unit_expect_rows(sqlite3 *db, const char *name, const char *sql,
				    const char *want)
{
	char got[8192], detail[16800];
	unit_rows(db, sql, got, sizeof(got));
	snprintf(detail, sizeof(detail), "got [%s], want [%s]", got, want);
	unit_check(!strcmp(got, want), name, detail);
}

#endif
