/* `weft run --fail-on` and `--suppressions`: kind lists and the failing count. */
#include "tracer/findings_cli.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

/* Calls fn for each item of csv (trimmed, non-empty); stops at the first nonzero return. */
static int each_item(const char *csv, int (*fn)(const char *item, size_t n, void *arg), void *arg)
{
	const char *p = csv;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		while (n && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		int rc = fn(s, n, arg);
		if (rc)
			return rc;
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* Bit k set for finding kind k (STORE_FINDING_KINDS); "all" sets every bit; -1 for anything else.
 */
static int kind_bits(const char *s, size_t n)
{
	if (n == 3 && !strncmp(s, "all", 3))
		return (1 << STORE_FINDING__COUNT) - 1;
	int k = store_finding_kind_code(s, n);
	return k < 0 ? -1 : 1 << k;
}

struct parse {
	int bits;
	char *err;
	size_t len;
};

static int parse_one(const char *s, size_t n, void *arg)
{
	struct parse *p = arg;
	int b = kind_bits(s, n);
	if (b < 0) {
		snprintf(p->err, p->len,
			 "--fail-on: unknown finding kind '%.*s' (" STORE_FINDING_KINDS_COMMA
			 "all)",
			 (int)(n > 64 ? 64 : n), s);
		return -1;
	}
	p->bits |= b;
	return 0;
}

int findings_parse_kinds(const char *csv, char *err, size_t len)
{
	struct parse p = {0, err, len};
	if (!csv || !*csv) {
		snprintf(err, len, "--fail-on: expected a list of finding kinds");
		return -1;
	}
	return each_item(csv, parse_one, &p) ? -1 : 0;
}

int findings_count(sqlite3 *db, const char *kinds_csv, int *total, char *summary, size_t len)
{
	struct parse p = {0, NULL, 0};
	char dummy[1];
	p.err = dummy;
	p.len = sizeof(dummy);
	if (kinds_csv && each_item(kinds_csv, parse_one, &p))
		return -1;
	if (summary && len)
		summary[0] = 0;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		db, "SELECT kind, count(*) FROM findings GROUP BY kind ORDER BY 2 DESC, 1", -1, &st,
		NULL) != SQLITE_OK)
		return -1;
	int n = 0, all = 0, rc;
	size_t used = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		int count = sqlite3_column_int(st, 1), b = k ? kind_bits(k, strlen(k)) : -1;
		all += count;
		if (b > 0 && (p.bits & b))
			n += count;
		if (summary && used < len)
			used += (size_t)snprintf(summary + used, len - used, "%s%d %s",
						 used ? ", " : "", count, k ? k : "?");
	}
	sqlite3_finalize(st);
	if (total)
		*total = all;
	return rc == SQLITE_DONE ? n : -1;
}

int findings_fail_status(sqlite3 *db, const char *kinds_csv)
{
	return findings_count(db, kinds_csv, NULL, NULL, 0);
}

int findings_check_suppressions(const char *path, char *err, size_t len)
{
	return store_findings_check_suppressions(path, err, len);
}
