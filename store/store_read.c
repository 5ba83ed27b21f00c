/* Opening a trace for reading, with the checks every reader needs. */
#include "store/store.h"
#include "store/store_mirror.h"
#include "store/store_holdchunks.h"

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

/*
 * The first column of sql's first row as an integer. On success returns 0
 * with *out set; otherwise (an error, no row, or NULL) -1 and *out as it was.
 */
int store_query_int64(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_int64(st, 0);
		rc = 0;
	}
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
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 2000);
	/* object_holds, in the derived tables this connection attaches or builds */
	store_holdchunks_register(db);
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

int store_thread_events(sqlite3 *db, int pid, int tid, int64_t from, int dir,
			int (*each)(void *ctx, int64_t id, int64_t ts), void *ctx)
{
	const int64_t block_ids = (int64_t)1 << STORE_EVENT_BLOCK_SHIFT;
	sqlite3_stmt *blocks = NULL, *rows = NULL;
	int ret = -1, rc;
	/* clang-format off */
	const char *blocks_sql = dir > 0
	    ? "SELECT block FROM thread_event_blocks WHERE pid = ?1 AND tid = ?2 AND block >= ?3"
	      " ORDER BY block"
	    : "SELECT block FROM thread_event_blocks WHERE pid = ?1 AND tid = ?2 AND block <= ?3"
	      " ORDER BY block DESC";
	const char *rows_sql = dir > 0
	    ? "SELECT id, ts FROM main.ev WHERE id BETWEEN ?1 AND ?2"
	      " AND th = (SELECT th FROM main.thread_no WHERE pid = ?3 AND tid = ?4) ORDER BY id"
	    : "SELECT id, ts FROM main.ev WHERE id BETWEEN ?1 AND ?2"
	      " AND th = (SELECT th FROM main.thread_no WHERE pid = ?3 AND tid = ?4)"
	      " ORDER BY id DESC";
	/* clang-format on */
	if (sqlite3_prepare_v2(db, blocks_sql, -1, &blocks, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, rows_sql, -1, &rows, NULL) != SQLITE_OK)
		goto out;
	int64_t edge = dir > 0 ? from : from - 1; /* the first id the walk may take */
	sqlite3_bind_int(blocks, 1, pid);
	sqlite3_bind_int(blocks, 2, tid);
	sqlite3_bind_int64(blocks, 3, edge < 0 ? -1 : edge >> STORE_EVENT_BLOCK_SHIFT);
	sqlite3_bind_int(rows, 3, pid);
	sqlite3_bind_int(rows, 4, tid);
	ret = 0;
	while (!ret && (rc = sqlite3_step(blocks)) == SQLITE_ROW) {
		int64_t lo = sqlite3_column_int64(blocks, 0) * block_ids, hi = lo + block_ids - 1;
		if (dir > 0 && lo < edge)
			lo = edge;
		if (dir < 0 && hi > edge)
			hi = edge;
		sqlite3_bind_int64(rows, 1, lo);
		sqlite3_bind_int64(rows, 2, hi);
		while (!ret && (rc = sqlite3_step(rows)) == SQLITE_ROW)
			if (each(ctx, sqlite3_column_int64(rows, 0), sqlite3_column_int64(rows, 1)))
				ret = 1;
		sqlite3_reset(rows);
		if (!ret && rc != SQLITE_DONE)
			ret = -1;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = -1;
out:
	sqlite3_finalize(blocks);
	sqlite3_finalize(rows);
	return ret;
}

int store_summaries_exact(sqlite3 *db)
{
	char buf[8];
	/* ev's ids are dense in a complete trace: max(id) is its row count. */
	if (query_text(db,
		       "SELECT (SELECT coalesce(sum(events), 0) FROM main.sum_thread_kind) ="
		       " (SELECT coalesce(max(id), 0) FROM main.ev)",
		       buf, sizeof(buf)) != 0)
		return -1;
	return strcmp(buf, "1") == 0;
}

int store_locks_invisible(sqlite3 *db)
{
	static const int sync_kinds[] = {
	    WEFT_EV_LOCK_ACQUIRE,      WEFT_EV_LOCK_RELEASE, WEFT_EV_LOCK_FAIL,
	    WEFT_EV_COND_WAIT,	       WEFT_EV_COND_SIGNAL,  WEFT_EV_COND_BROADCAST,
	    WEFT_EV_BARRIER_WAIT,      WEFT_EV_GIL_ACQUIRE,  WEFT_EV_GIL_RELEASE,
	    WEFT_EV_GIL_DROP_REQUEST,  WEFT_EV_QUEUE_PUT,    WEFT_EV_QUEUE_GET,
	    WEFT_EV_EVENT_SET,	       WEFT_EV_EVENT_WAIT,   WEFT_EV_LOCK_WAIT,
	    WEFT_EV_GIL_FORCED_SWITCH, WEFT_EV_RLOCK_ENTER,  WEFT_EV_RLOCK_EXIT,
	};
	char sql[512], list[160];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(sync_kinds) / sizeof(sync_kinds[0]); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d", i ? ", " : "",
				      sync_kinds[i]);
	/*
	 * From the per-kind summaries when they count every event (a writer
	 * whose writes failed left them empty): a trace whose threads made
	 * only unlisted events read all of ev, 0.3 s at the end of a
	 * 6.5M-event `weft run`. Otherwise from ev, the synchronization test
	 * first: AND stops there on any trace that has some, early in the table.
	 */
	int exact = store_summaries_exact(db);
	if (exact < 0)
		return -1;
	const char *from = exact ? "main.sum_thread_kind" : "main.ev";
	snprintf(sql, sizeof(sql),
		 "SELECT NOT EXISTS (SELECT 1 FROM %s WHERE kind IN (%s))"
		 " AND EXISTS (SELECT 1 FROM %s WHERE kind IN (%d, %d))",
		 from, list, from, WEFT_EV_THREAD_CREATE, WEFT_EV_THREAD_START);
	char buf[8];
	if (query_text(db, sql, buf, sizeof(buf)) != 0)
		return -1;
	return strcmp(buf, "1") == 0;
}

/*
 * The one ordered event stream: the derived tables, the findings and the
 * export read every event through it. ev is read in rowid order, which a
 * finalized trace keeps in time order (and which an unfinalized one keeps
 * in each thread's program order, all the passes need), without a join:
 * ev.th becomes (pid, tid) through thread_no, which is small and read
 * into memory (again when a growing trace numbers a new thread).
 */
struct store_events {
	sqlite3 *db;
	sqlite3_stmt *st;
	uint64_t kinds;	  /* bit k: kind k wanted (kinds 0-63); 0: all */
	int32_t *pid_tid; /* [2 * th] */
	int64_t nth;
	/*
	 * With a mirror: the next row's id and the last one's; rows come
	 * from the mirror while it has them, otherwise from st, which is
	 * bound to start at next only when it is in use (in_table).
	 */
	const struct store_mirror *mirror;
	int64_t next, last, from_mirror, from_table;
	int in_table;
};

/* Rows per look at whether the mirror has caught up with a pass reading the table. */
#define MIRROR_RECHECK_ROWS 4096

static int events_load_threads(struct store_events *r)
{
	sqlite3_stmt *st = NULL;
	int64_t max = 0;
	if (sqlite3_prepare_v2(r->db, "SELECT coalesce(max(th), 0) FROM main.thread_no", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		max = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	int32_t *n = calloc((size_t)max + 1, 2 * sizeof(*n));
	if (!n)
		return -1;
	if (sqlite3_prepare_v2(r->db, "SELECT th, pid, tid FROM main.thread_no WHERE th <= ?1", -1,
			       &st, NULL) != SQLITE_OK) {
		free(n);
		return -1;
	}
	sqlite3_bind_int64(st, 1, max);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t th = sqlite3_column_int64(st, 0);
		if (th < 0)
			continue;
		n[2 * th] = sqlite3_column_int(st, 1);
		n[2 * th + 1] = sqlite3_column_int(st, 2);
	}
	sqlite3_finalize(st);
	free(r->pid_tid);
	r->pid_tid = n;
	r->nth = max + 1;
	return 0;
}

struct store_events *store_events_open_range(sqlite3 *db, uint64_t kinds, int64_t after_id,
					     int64_t last_id)
{
	struct store_events *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->db = db;
	r->kinds = kinds;
	if (events_load_threads(r) ||
	    sqlite3_prepare_v2(db,
			       "SELECT kind, id, ts, th, obj, wait, arg, stack FROM main.ev"
			       " WHERE id > ?1 AND id <= ?2 ORDER BY id",
			       -1, &r->st, NULL) != SQLITE_OK) {
		store_events_close(r);
		return NULL;
	}
	sqlite3_bind_int64(r->st, 1, after_id);
	sqlite3_bind_int64(r->st, 2, last_id);
	r->next = after_id == INT64_MAX ? INT64_MAX : after_id + 1;
	r->last = last_id;
	r->in_table = 1;
	return r;
}

void store_events_use_mirror(struct store_events *r, const struct store_mirror *m)
{
	r->mirror = m;
	r->in_table = !m || !store_mirror_has(m, r->next);
}

void store_events_counts(const struct store_events *r, int64_t *from_mirror, int64_t *from_table)
{
	*from_mirror = r->from_mirror;
	*from_table = r->from_table;
}

/* The rows from the mirror, until it lacks one: 1 a row, 0 the end, -1 read the table. */
static int events_next_mirrored(struct store_events *r, struct store_event_row *out)
{
	while (r->next <= r->last) {
		int64_t th;
		if (!store_mirror_get(r->mirror, r->next, &out->e, &th) ||
		    (th >= r->nth && (events_load_threads(r) || th >= r->nth))) {
			/* the table from here on: the mirror has moved past, or not reached, it */
			sqlite3_reset(r->st);
			sqlite3_bind_int64(r->st, 1, r->next - 1);
			r->in_table = 1;
			return -1;
		}
		out->id = r->next++;
		out->e.pid = r->pid_tid[2 * th];
		out->e.tid = r->pid_tid[2 * th + 1];
		r->from_mirror++;
		int kind = out->e.kind;
		if (!r->kinds || (kind >= 0 && kind <= 63 && (r->kinds >> kind & 1)))
			return 1;
	}
	return 0;
}

struct store_events *store_events_open(sqlite3 *db, uint64_t kinds)
{
	return store_events_open_range(db, kinds, INT64_MIN, INT64_MAX);
}

int store_events_next(struct store_events *r, struct store_event_row *out)
{
	int rc;
	if (!r->in_table && (rc = events_next_mirrored(r, out)) >= 0)
		return rc;
	while ((rc = sqlite3_step(r->st)) == SQLITE_ROW) {
		int kind = sqlite3_column_int(r->st, 0);
		/* The kind first: the passes that want a few kinds skip the other columns. */
		if (r->kinds && (kind < 0 || kind > 63 || !(r->kinds >> kind & 1)))
			continue;
		int64_t th = sqlite3_column_int64(r->st, 3);
		if (th < 0 || (th >= r->nth && (events_load_threads(r) || th >= r->nth)))
			return -1;
		out->id = sqlite3_column_int64(r->st, 1);
		out->e.ts_ns = sqlite3_column_int64(r->st, 2);
		out->e.pid = r->pid_tid[2 * th];
		out->e.tid = r->pid_tid[2 * th + 1];
		out->e.kind = kind;
		out->e.object_id = sqlite3_column_int64(r->st, 4);
		out->e.wait_ns = sqlite3_column_int64(r->st, 5);
		out->e.arg = sqlite3_column_int64(r->st, 6);
		out->e.stack_id = sqlite3_column_int64(r->st, 7);
		r->next = out->id + 1;
		/* A pass that fell behind the mirror may catch up with it. */
		if (++r->from_table % MIRROR_RECHECK_ROWS == 0 && r->mirror &&
		    store_mirror_has(r->mirror, r->next)) {
			sqlite3_reset(r->st);
			r->in_table = 0;
		}
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

void store_events_close(struct store_events *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->st);
	free(r->pid_tid);
	free(r);
}
