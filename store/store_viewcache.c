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
 * The build reads the trace under a read transaction while the trace is
 * still in WAL mode: the writer's connection builds the index and the
 * findings meanwhile without waiting for it, and folds the WAL into the
 * file (store_writer_seal) only after store_view_builder_join(). The file is made under a temporary
 * name, 0600 like the trace, without a journal (no TMP-journal anyone
 * could plant), and renamed into place only once complete and tied to
 * the trace by its key: an interrupted or failed build leaves nothing.
 */
#include "store/store_viewcache.h"
#include "store/store.h"
#include "store/store_debug.h"

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

/* How often a build following the writer reads what was written. */
#define FOLLOW_PERIOD_MS 50
/* Rows the writer may be ahead of the follower before it steps again at once. */
#define FOLLOW_BEHIND_ROWS 65536

/* The most rows one step of the follower reads (see follow_writer). */
#define FOLLOW_STEP_ROWS 131072

struct store_view_builder {
	pthread_t thread;
	sqlite3 *volatile db;
	volatile sig_atomic_t stop;
	int joined;
	struct store_writer *follow; /* the trace's writer while it writes, or NULL */
	pthread_mutex_t lock;	     /* guards complete and moved_from */
	pthread_cond_t wake;
	int complete;
	int64_t moved_from;
	int followed;	   /* the reading ahead is over: findings is the main thread's */
	int program_ended; /* store_view_builder_program_ended(); under lock */
	struct store_findings_pass *findings; /* the findings' pass, read ahead too */
	int rc;
	char *trace_path, *cpath, *tmp;
	char err[512];
};

void store_view_cache_key(sqlite3 *db, const char *trace_path, char *key, size_t n)
{
	struct stat sb;
	int64_t start = 0, last_id = 0, last_ts = 0;
	store_query_int64(db, "SELECT value FROM main.meta WHERE key='start_unix_ns'", &start);
	store_query_int64(db, "SELECT id FROM main.ev ORDER BY id DESC LIMIT 1", &last_id);
	store_query_int64(db, "SELECT ts FROM main.ev ORDER BY id DESC LIMIT 1", &last_ts);
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

int store_view_derived(sqlite3 *db, const char *trace_path, int complete, char *err, size_t errlen)
{
	struct store_view_cache cache;
	store_view_cache_open(db, trace_path, complete, &cache, err, errlen);
	return store_build_derived(db, err, errlen);
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

/* Runs sql (one statement or several, no rows); the stop flag reads as an error. */
static int build_exec(struct store_view_builder *b, const char *sql)
{
	if (b->stop) {
		snprintf(b->err, sizeof(b->err), "stopped");
		return -1;
	}
	if (sqlite3_exec(b->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(b->err, sizeof(b->err), "%s", b->stop ? "stopped" : sqlite3_errmsg(b->db));
		return -1;
	}
	return 0;
}

/*
 * While the program runs: every FOLLOW_PERIOD_MS (after it, at once
 * while FOLLOW_BEHIND_ROWS or more are waiting), the rows the writer
 * says are final (store_writer_follow_limit), one transaction each so
 * that the reader's snapshot never holds the WAL back. Returns when the
 * trace is complete (store_view_builder_complete) or the build stopped.
 */
static int follow_writer(struct store_view_builder *b, struct store_derive *d)
{
	int64_t read_to = 0;
	pthread_mutex_lock(&b->lock);
	while (!b->complete && !b->stop) {
		/*
		 * Behind the writer once the program has ended (its backlog): the
		 * next step at once, not a period later; the wait after each step
		 * idled the thread the tail waits for. While the program runs this
		 * thread shares one CPU with the writer, which only takes idle CPU.
		 */
		if (!b->program_ended ||
		    store_writer_follow_limit(b->follow) - read_to < FOLLOW_BEHIND_ROWS) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += FOLLOW_PERIOD_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&b->wake, &b->lock, &until);
			if (b->complete || b->stop)
				break;
		}
		int unhurried = b->program_ended;
		pthread_mutex_unlock(&b->lock);
		if (unhurried)
			store_derive_unhurried(d);
		/* moved before limit: a row moved after the limit was read is never missed */
		int64_t moved = store_writer_take_moved(b->follow);
		int64_t limit = store_writer_follow_limit(b->follow);
		/*
		 * Short steps: a step's rows are still in the writer's memory at
		 * its end (store_writer_mirror), where a long one's first rows
		 * were overwritten while it read them, and it went on from the
		 * table at half the pace.
		 */
		if (limit - read_to > FOLLOW_STEP_ROWS)
			limit = read_to + FOLLOW_STEP_ROWS;
		int rc = limit > 0 ? build_exec(b, "BEGIN") : 0;
		if (limit > 0 && !rc) {
			/*
			 * The findings' pass takes the rows the derive step reads: one
			 * read of each row for both (a read was a fifth of this
			 * thread's time). A findings pass that fails is read again at
			 * the end: no error here.
			 */
			struct store_event_tap tap;
			int tapped = b->findings &&
				     !store_findings_follow_tap(b->findings, b->db, moved, &tap);
			rc = store_derive_events(d, limit, moved, tapped ? &tap : NULL);
			read_to = limit;
			store_writer_followed(b->follow, read_to);
			if (b->findings)
				store_findings_follow_done(b->findings, limit, !rc);
			rc = build_exec(b, rc ? "ROLLBACK" : "COMMIT") || rc;
		}
		pthread_mutex_lock(&b->lock);
		if (rc)
			break;
	}
	int ok = b->complete && !b->stop;
	b->followed = 1;
	store_writer_followed(b->follow, INT64_MAX);
	pthread_cond_broadcast(&b->wake);
	pthread_mutex_unlock(&b->lock);
	return ok ? 0 : -1;
}

static void *build_main(void *arg)
{
	struct store_view_builder *b = arg;
	sqlite3 *db = NULL;
	struct store_derive *d = NULL;
	b->rc = -1;
	uint64_t cpu0 = store_debug_cpu_ns(), wall0 = 0;
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
	/* A stop that came before the connection existed could not interrupt it. */
	if (b->stop || attach_as(db, b->tmp, "view_cache") ||
	    build_exec(b, "PRAGMA view_cache.journal_mode=OFF; PRAGMA view_cache.synchronous=OFF;"
			  "PRAGMA cache_size=-4096; PRAGMA view_cache.cache_size=-16384; BEGIN") ||
	    !(d = store_derive_begin(db, "view_cache", b->err, sizeof(b->err))) ||
	    build_exec(b, "COMMIT"))
		goto out;
	if (b->follow)
		store_derive_use_mirror(d, store_writer_mirror(b->follow));
	if (b->follow && follow_writer(b, d))
		goto out;
	wall0 = store_debug_mono_ns();
	/* tests/integration/test_tail.sh: a signal lands while the build runs, every time. */
	if (getenv("WEFT_TEST_VIEW_PAUSE")) {
		fprintf(stderr, "weft: viewer tables paused (test)\n");
		while (!b->stop)
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	if (build_exec(b, "BEGIN"))
		goto out;
	if (store_derive_finish(d, b->moved_from) == 0 && !build_exec(b, "COMMIT"))
		b->rc = 0;
	else if (!b->err[0])
		snprintf(b->err, sizeof(b->err), "%s", sqlite3_errmsg(db));
	store_debug("derive",
		    "viewer tables: %.2f s CPU in all, %.2f s after the trace was complete",
		    (store_debug_cpu_ns() - cpu0) / 1e9, (store_debug_mono_ns() - wall0) / 1e9);
out:
	if (b->follow)
		store_writer_followed(b->follow, INT64_MAX); /* never waited for again */
	if (b->rc && db)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	store_derive_free(d);
	pthread_mutex_lock(&b->lock);
	b->followed = 1;
	pthread_cond_broadcast(&b->wake);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static void builder_free(struct store_view_builder *b)
{
	store_findings_pass_free(b->findings);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->wake);
	if (b->db)
		sqlite3_close(b->db);
	if (b->tmp)
		unlink(b->tmp);
	free(b->tmp);
	free(b->cpath);
	free(b->trace_path);
	free(b);
}

struct store_view_builder *store_view_builder_start(const char *trace_path,
						    struct store_writer *follow)
{
	struct store_view_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->follow = follow;
	b->complete = !follow;
	b->findings = follow ? store_findings_pass_new() : NULL;
	if (b->findings)
		store_findings_pass_use_mirror(b->findings, store_writer_mirror(follow));
	b->moved_from = INT64_MAX;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->wake, NULL);
	b->trace_path = strdup(trace_path);
	if (!b->trace_path || asprintf(&b->cpath, "%s-view", trace_path) < 0) {
		b->cpath = NULL;
		builder_free(b);
		return NULL;
	}
	b->tmp = make_tmp(b->cpath);
	if (!b->tmp || pthread_create(&b->thread, NULL, build_main, b) != 0) {
		builder_free(b);
		return NULL;
	}
	return b;
}

struct store_findings_pass *store_view_builder_findings(struct store_view_builder *b)
{
	pthread_mutex_lock(&b->lock);
	while (!b->followed)
		pthread_cond_wait(&b->wake, &b->lock);
	pthread_mutex_unlock(&b->lock);
	return b->findings;
}

pthread_t store_view_builder_thread(struct store_view_builder *b)
{
	return b->thread;
}

void store_view_builder_program_ended(struct store_view_builder *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->program_ended = 1;
	/* the follower reads from the mirror, not the table, while the writer keeps pace */
	if (b->follow && !b->followed)
		store_writer_pace(b->follow, 1);
	pthread_mutex_unlock(&b->lock);
}

void store_view_builder_complete(struct store_view_builder *b, int64_t moved_from)
{
	pthread_mutex_lock(&b->lock);
	b->moved_from = moved_from;
	b->complete = 1;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
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

int store_view_builder_join(struct store_view_builder *b)
{
	if (!b->joined) {
		pthread_join(b->thread, NULL);
		b->joined = 1;
	}
	/* Its connection would keep the trace in WAL mode: closed before the seal. */
	sqlite3 *db = b->db;
	b->db = NULL; /* first: store_view_builder_interrupt() may run in a signal handler */
	if (db)
		sqlite3_close(db);
	return b->stop ? -1 : b->rc;
}

/* Writes the key into the finished build (the file at tmp, no journal). */
static int key_build(const char *tmp, const char *key)
{
	sqlite3 *out = NULL;
	int ok = sqlite3_open_v2(tmp, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
		     SQLITE_OK &&
		 sqlite3_exec(out, "PRAGMA journal_mode=OFF", NULL, NULL, NULL) == SQLITE_OK &&
		 set_key(out, "main", key) == 0;
	sqlite3_close(out);
	return ok ? 0 : -1;
}

int store_view_builder_finish(struct store_view_builder *b, sqlite3 *trace_db, char *err,
			      size_t errlen)
{
	int rc = -1;
	char key[128];
	if (!trace_db)
		store_view_builder_interrupt(b);
	store_view_builder_join(b);
	if (b->stop || !trace_db) {
		snprintf(err, errlen, "stopped");
	} else if (b->rc) {
		snprintf(err, errlen, "%s", b->err);
	} else {
		/* The key names the trace as it is now, findings included. */
		store_view_cache_key(trace_db, b->trace_path, key, sizeof(key));
		if (key_build(b->tmp, key))
			snprintf(err, errlen, "cannot key %s", b->tmp);
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
