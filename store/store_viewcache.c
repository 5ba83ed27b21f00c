/*
 * TRACE-view, the viewer's derived tables beside a finished trace.
 *
 * The derived tables are a pass over every event plus a sorted pass over
 * the holds: on the lock microbenchmark they cost more than writing the
 * events did. Built at the first `weft view`, they made the user wait
 * after the program's end twice, the second time for seconds per million
 * events. `weft run` therefore builds them itself, on a thread of its own
 * with its own connection, while its main thread makes the findings: the
 * two passes share the two cores, and the first `weft view` only attaches
 * the file.
 *
 * The build reads the trace under a read transaction. The findings'
 * commit needs the trace to itself, so the writer's connection waits
 * (store_view_builder_busy) until the build has read what it needs; both
 * end at about the same time anyway. The file is made under a temporary
 * name, 0600 like the trace, without a journal (no TMP-journal anyone
 * could plant), and renamed into place only once complete and tied to
 * the trace by its key: an interrupted or failed build leaves nothing.
 */
#include "store/store_viewcache.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct store_view_builder {
	pthread_t thread;
	sqlite3 *volatile db;
	volatile sig_atomic_t stop;
	int running; /* atomic: the thread has not ended yet */
	int rc;
	char *trace_path, *cpath, *tmp;
	char err[512];
};

static int query_int64(sqlite3 *db, const char *sql, int64_t *out)
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

void store_view_cache_key(sqlite3 *db, const char *trace_path, char *key, size_t n)
{
	struct stat sb;
	int64_t start = 0, last_id = 0, last_ts = 0;
	query_int64(db, "SELECT value FROM main.meta WHERE key='start_unix_ns'", &start);
	query_int64(db, "SELECT id FROM main.ev ORDER BY id DESC LIMIT 1", &last_id);
	query_int64(db, "SELECT ts FROM main.ev ORDER BY id DESC LIMIT 1", &last_ts);
	snprintf(key, n, "%lld:%lld:%lld:%lld",
		 stat(trace_path, &sb) == 0 ? (long long)sb.st_size : -1LL, (long long)start,
		 (long long)last_id, (long long)last_ts);
}

static int attach_as(sqlite3 *db, const char *path, const char *name)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_mprintf("ATTACH ?1 AS %s", name);
	int ok = sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
	sqlite3_free(sql);
	if (ok) {
		sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

static int set_key(sqlite3 *db, const char *schema, const char *key)
{
	sqlite3_stmt *st = NULL;
	char *sql =
	    sqlite3_mprintf("INSERT OR REPLACE INTO %s.derived_info VALUES('trace', ?1)", schema);
	int ok = sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
	sqlite3_free(sql);
	if (ok) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

int store_view_cache_attach(sqlite3 *db, const char *cpath, const char *key)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;
	if (access(cpath, R_OK) != 0 || attach_as(db, cpath, "view_cache"))
		return 0;
	if (sqlite3_prepare_v2(
		db, "SELECT 1 FROM view_cache.derived_info WHERE key='trace' AND value=?1", -1, &st,
		NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	if (!ok)
		sqlite3_exec(db, "DETACH view_cache", NULL, NULL, NULL);
	return ok;
}

/*
 * For the trace db reads, at trace_path: fills *c (the key only for a
 * complete trace: only a finished trace has a cache) and attaches its
 * TRACE-view when that is this trace's. Returns 1 when attached, 0 when
 * not; -1 with one line in err when the file there is not weft's cache,
 * the user's own (store_files_check_cache): the caller decides whether
 * to refuse the trace or to do without.
 */
int store_view_cache_open(sqlite3 *db, const char *trace_path, int complete,
			  struct store_view_cache *c, char *err, size_t errlen)
{
	struct stat sb;
	snprintf(c->path, sizeof(c->path), "%s-view", trace_path);
	c->key[0] = 0;
	if (!complete)
		return 0;
	int cached = stat(trace_path, &sb) == 0
			 ? store_files_check_cache(c->path, sb.st_uid, err, errlen)
			 : 0;
	if (cached < 0)
		return -1;
	store_view_cache_key(db, trace_path, c->key, sizeof(c->key));
	return cached ? store_view_cache_attach(db, c->path, c->key) : 0;
}

/* cpath.tmpPID, made empty and 0600 here (O_EXCL: never someone else's); NULL when it cannot. */
static char *make_tmp(const char *cpath)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp%d", cpath, (int)getpid()) < 0)
		return NULL;
	int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(tmp);
		return NULL;
	}
	close(fd);
	return tmp;
}

void store_view_cache_save(sqlite3 *db, const char *cpath, const char *key)
{
	sqlite3 *out = NULL;
	if (set_key(db, "temp", key))
		return;
	char *tmp = make_tmp(cpath);
	if (!tmp)
		return;
	int ok = 0;
	if (sqlite3_open_v2(tmp, &out, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_exec(out, "PRAGMA journal_mode=OFF", NULL, NULL, NULL) == SQLITE_OK) {
		sqlite3_backup *b = sqlite3_backup_init(out, "main", db, "temp");
		if (b) {
			ok = sqlite3_backup_step(b, -1) == SQLITE_DONE;
			ok = sqlite3_backup_finish(b) == SQLITE_OK && ok;
		}
	}
	sqlite3_close(out);
	if (!ok || rename(tmp, cpath) != 0)
		unlink(tmp);
	free(tmp);
}

static void *build_main(void *arg)
{
	struct store_view_builder *b = arg;
	sqlite3 *db = NULL;
	b->rc = -1;
	/*
	 * Read-write only because a read-only connection cannot write its
	 * attached files either: nothing here writes the trace (main).
	 */
	if (sqlite3_open_v2(b->trace_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(b->err, sizeof(b->err), "cannot open %s: %s", b->trace_path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	b->db = db;
	sqlite3_busy_timeout(db, 10000);
	/* tests/integration/test_tail.sh: a signal lands while the build runs, every time. */
	if (getenv("WEFT_TEST_VIEW_PAUSE")) {
		fprintf(stderr, "weft: viewer tables paused (test)\n");
		while (!b->stop)
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	/* A stop that came before the connection existed could not interrupt it. */
	if (b->stop || attach_as(db, b->tmp, "view_cache") ||
	    sqlite3_exec(db,
			 "PRAGMA view_cache.journal_mode=OFF; PRAGMA view_cache.synchronous=OFF;"
			 "PRAGMA cache_size=-8192; PRAGMA view_cache.cache_size=-32768; BEGIN",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(b->err, sizeof(b->err), "%s", b->stop ? "stopped" : sqlite3_errmsg(db));
		goto out;
	}
	if (store_build_derived_in(db, "view_cache", b->err, sizeof(b->err)) == 0 &&
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		b->rc = 0;
	else if (!b->err[0])
		snprintf(b->err, sizeof(b->err), "%s", sqlite3_errmsg(db));
out:
	if (b->rc)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	__atomic_store_n(&b->running, 0, __ATOMIC_RELEASE);
	return NULL;
}

static void builder_free(struct store_view_builder *b)
{
	if (b->db)
		sqlite3_close(b->db);
	if (b->tmp)
		unlink(b->tmp);
	free(b->tmp);
	free(b->cpath);
	free(b->trace_path);
	free(b);
}

struct store_view_builder *store_view_builder_start(const char *trace_path)
{
	struct store_view_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->trace_path = strdup(trace_path);
	if (!b->trace_path || asprintf(&b->cpath, "%s-view", trace_path) < 0) {
		b->cpath = NULL;
		builder_free(b);
		return NULL;
	}
	b->tmp = make_tmp(b->cpath);
	b->running = 1;
	if (!b->tmp || pthread_create(&b->thread, NULL, build_main, b) != 0) {
		builder_free(b);
		return NULL;
	}
	return b;
}

void store_view_builder_interrupt(struct store_view_builder *b)
{
	if (!b)
		return;
	b->stop = 1;
	sqlite3 *db = b->db;
	if (db)
		sqlite3_interrupt(db);
}

int store_view_builder_busy(void *builder, int attempts)
{
	struct store_view_builder *b = builder;
	(void)attempts;
	if (!b || b->stop || !__atomic_load_n(&b->running, __ATOMIC_ACQUIRE))
		return 0;
	struct timespec ts = {0, 2 * 1000 * 1000};
	nanosleep(&ts, NULL);
	return 1;
}

int store_view_builder_finish(struct store_view_builder *b, char *err, size_t errlen)
{
	pthread_join(b->thread, NULL);
	int rc = -1;
	char key[128];
	if (b->stop) {
		snprintf(err, errlen, "stopped");
	} else if (b->rc) {
		snprintf(err, errlen, "%s", b->err);
	} else {
		/* The key names the trace as it is now, findings included. */
		store_view_cache_key(b->db, b->trace_path, key, sizeof(key));
		if (set_key(b->db, "view_cache", key) ||
		    sqlite3_exec(b->db, "DETACH view_cache", NULL, NULL, NULL) != SQLITE_OK)
			snprintf(err, errlen, "%s", sqlite3_errmsg(b->db));
		else if (rename(b->tmp, b->cpath) != 0)
			snprintf(err, errlen, "cannot rename %s: %s", b->tmp, strerror(errno));
		else {
			free(b->tmp);
			b->tmp = NULL; /* renamed: no longer ours to remove */
			rc = 0;
		}
	}
	builder_free(b);
	return rc;
}
