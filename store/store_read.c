/* Opening a trace for reading, with the checks every reader needs. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first 16 bytes of every SQLite database file. */
static int has_sqlite_header(const char *path)
{
	char buf[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == 16 && memcmp(buf, "SQLite format 3", 16) == 0;
}

static int query_text(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(out, outlen, "%s", t ? (const char *)t : "");
		rc = 0;
	} else {
		rc = 1; /* no row */
	}
out:
	sqlite3_finalize(st);
	return rc;
}

int store_is_trace(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return -1;
	if (!S_ISREG(sb.st_mode) || !has_sqlite_header(path))
		return 0;
	sqlite3 *db = NULL;
	char fmt[64] = "";
	int ok = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    query_text(db, "SELECT value FROM meta WHERE key='format'", fmt, sizeof(fmt)) == 0)
		ok = strcmp(fmt, STORE_FORMAT_NAME) == 0;
	sqlite3_close(db);
	return ok;
}

sqlite3 *store_open_read(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	sqlite3 *db = NULL;
	char buf[64];

	if (stat(path, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a weft trace", path);
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file, not a weft trace", path);
		return NULL;
	}
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* SQLite would block on a FIFO planted at PATH-journal, or read another user's WAL. */
	if (store_files_check_read(path, sb.st_uid, err, errlen))
		return NULL;
	if (!has_sqlite_header(path)) {
		snprintf(err, errlen, "%s: not a weft trace (not an SQLite file)", path);
		return NULL;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 2000);
	/* Corrupt and truncated files fail here or in the checks below. */
	int rc = query_text(db, "SELECT value FROM meta WHERE key='format'", buf, sizeof(buf));
	if (rc < 0) {
		const char *m = sqlite3_errmsg(db);
		if (strstr(m, "no such table"))
			snprintf(err, errlen, "%s: not a weft trace (no meta table)", path);
		else
			snprintf(err, errlen, "%s: not a valid weft trace: %s", path, m);
		goto fail;
	}
	if (rc > 0 || strcmp(buf, STORE_FORMAT_NAME) != 0) {
		snprintf(err, errlen, "%s: not a weft trace", path);
		goto fail;
	}
	if (query_text(db, "PRAGMA user_version", buf, sizeof(buf)) != 0) {
		snprintf(err, errlen, "%s: not a valid weft trace: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	int version = atoi(buf);
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s: trace schema version %d is newer than this weft supports (%d); "
			 "upgrade weft",
			 path, version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (version < 1) {
		snprintf(err, errlen, "%s: not a valid weft trace (schema version %d)", path,
			 version);
		goto fail;
	}
	/*
	 * Version 1 named threads by pid and tid in every event, version 2 has
	 * no summary tables (the counts views, weft report): no reader here
	 * knows them.
	 */
	if (version < STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s: trace schema version %d is older than this weft reads (%d): %s; "
			 "record it again, or read it with the weft that wrote it",
			 path, version, STORE_SCHEMA_VERSION,
			 version == 1 ? "threads named in every event"
				      : "no summary tables (kind_counts, contention, ...)");
		goto fail;
	}
	/* Touch every public view so a trace with missing tables is refused up front. */
	static const char *const probes[] = {
	    "SELECT count(*) FROM (SELECT * FROM events LIMIT 1)",
	    "SELECT count(*) FROM (SELECT * FROM objects LIMIT 1)",
	    "SELECT count(*) FROM (SELECT * FROM threads LIMIT 1)",
	    "SELECT count(*) FROM (SELECT * FROM processes LIMIT 1)",
	    "SELECT count(*) FROM (SELECT * FROM stack_frames LIMIT 1)",
	    "SELECT count(*) FROM (SELECT * FROM kind_counts LIMIT 1)",
	    "SELECT count(*) FROM (SELECT * FROM contention LIMIT 1)",
	};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (query_text(db, probes[i], buf, sizeof(buf)) < 0) {
			snprintf(err, errlen, "%s: not a valid weft trace: %s", path,
				 sqlite3_errmsg(db));
			goto fail;
		}
	}
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}

int store_events_time_ordered(sqlite3 *db)
{
	char buf[64];
	if (query_text(db, "PRAGMA main.user_version", buf, sizeof(buf)) != 0 || atoi(buf) < 2)
		return 0;
	return query_text(db, "SELECT value FROM main.meta WHERE key = 'complete'", buf,
			  sizeof(buf)) == 0 &&
	       strcmp(buf, "1") == 0;
}

int64_t store_event_at(sqlite3 *db, int64_t ts)
{
	sqlite3_stmt *st = NULL;
	int64_t lo = 1, hi = 1;
	if (sqlite3_prepare_v2(db, "SELECT max(id) FROM main.ev", -1, &st, NULL) != SQLITE_OK)
		return 1;
	if (sqlite3_step(st) == SQLITE_ROW)
		hi = sqlite3_column_int64(st, 0) + 1;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT id, ts FROM main.ev WHERE id >= ?1 ORDER BY id LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return hi;
	/* Rows below lo have ts < the target; rows at or above hi have ts >= it. */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		sqlite3_bind_int64(st, 1, mid);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) < hi &&
		    sqlite3_column_int64(st, 1) < ts)
			lo = sqlite3_column_int64(st, 0) + 1;
		else
			hi = mid;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return lo;
}

int store_locks_invisible(sqlite3 *db)
{
	/*
	 * The synchronization test first: AND stops there on any trace that
	 * has some, early in the table, where a search for thread events in a
	 * long single-threaded trace would read all of it.
	 */
	/* clang-format off */
	static const char sql[] =
	    "SELECT NOT EXISTS (SELECT 1 FROM main.ev WHERE kind IN"
	    "  (1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 23, 24, 25, 26, 28, 30, 31, 32))"
	    " AND EXISTS (SELECT 1 FROM main.ev WHERE kind IN (8, 9))";
	/* clang-format on */
	char buf[8];
	if (query_text(db, sql, buf, sizeof(buf)) != 0)
		return -1;
	return strcmp(buf, "1") == 0;
}
