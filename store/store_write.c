/* The trace writer: batched inserts through prepared statements. */
#include "store/store.h"
#include "store/store_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
	ST_EVENT,
	ST_OBJECT,
	ST_FRAME,
	ST_PROCESS,
	ST_THREAD,
	ST_META,
	ST_RACE,
	ST_EVENTS_MANY,
	ST_THREAD_NO_ADD,
	ST_THREAD_NO_GET,
	ST__COUNT
};

/* Events are inserted EVENT_ROWS at a time: one statement step per row costs more than the row. */
#define EVENT_ROWS 64

static const char *const stmt_sql[ST__COUNT] = {
    [ST_EVENT] = "INSERT INTO ev(ts,th,kind,obj,wait,arg,stack) VALUES(?,?,?,?,?,?,?)",
    [ST_OBJECT] = "INSERT OR REPLACE INTO obj VALUES(?,?,?,?,?,?,?)",
    [ST_FRAME] = "INSERT OR REPLACE INTO frame VALUES(?,?,?,?,?,?,?,?)",
    [ST_PROCESS] = "INSERT OR REPLACE INTO proc(pid,ppid,argv,start_ns,end_ns,exit_code,"
		   "exit_signal) VALUES(?,?,?,?,?,?,?)",
    [ST_THREAD] = "INSERT OR REPLACE INTO thr(pid,tid,name,start_ns,end_ns,unrecorded,"
		  "producer_waits) VALUES(?,?,?,?,?,?,?)",
    [ST_META] = "INSERT OR REPLACE INTO meta VALUES(?,?)",
    [ST_RACE] = "INSERT INTO race(pid,rule,site_a,site_b,tid_a,ts_a,flags_a,stack_a,held_a,"
		"tid_b,ts_b,flags_b,stack_b,held_b,location)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_EVENTS_MANY] = NULL, /* built at open: EVENT_ROWS value tuples */
    [ST_THREAD_NO_ADD] = "INSERT OR IGNORE INTO thread_no(pid, tid) VALUES(?,?)",
    [ST_THREAD_NO_GET] = "SELECT th FROM thread_no WHERE pid = ? AND tid = ?",
};

/* (pid, tid) -> ev.th, open addressing; th 0 marks a free slot. */
struct thread_map_slot {
	int32_t pid, tid;
	int64_t th;
};

struct store_writer {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	int in_txn;
	struct store_event pending[EVENT_ROWS];
	int npending;
	struct thread_map_slot *thmap;
	size_t thmap_cap, thmap_used; /* cap: a power of two */
	int32_t last_pid, last_tid;
	int64_t last_th;
};

static int exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int seed_kind_tables(sqlite3 *db)
{
	char sql[128];
#define STORE_SEED(c, n)                                                                           \
	snprintf(sql, sizeof(sql), "INSERT INTO event_kind VALUES(%d,'%s')", c, n);                \
	if (exec_sql(db, sql))                                                                     \
		return -1;
	STORE_EVENT_KINDS(STORE_SEED)
#undef STORE_SEED
#define STORE_SEED(c, n)                                                                           \
	snprintf(sql, sizeof(sql), "INSERT INTO object_kind VALUES(%d,'%s')", c, n);               \
	if (exec_sql(db, sql))                                                                     \
		return -1;
	STORE_OBJECT_KINDS(STORE_SEED)
#undef STORE_SEED
	return 0;
}

static void remove_trace_files(const char *path)
{
	/* -view: the viewer's cache of its derived tables (ui/model.c) */
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal", "-view"};
	char p[4096];
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
}

struct store_writer *store_writer_open(const char *path, char *err, size_t errlen)
{
	struct store_writer *w = NULL;
	struct stat sb;

	if (stat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode) || store_is_trace(path) != 1) {
			snprintf(err, errlen,
				 "%s exists and is not a weft trace; refusing to overwrite it",
				 path);
			return NULL;
		}
	}
	remove_trace_files(path);

	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* 0600 before SQLite creates it: traces can hold arguments and names. */
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	/* One thread uses this connection: skip SQLite's per-call mutexes. */
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 w->db ? sqlite3_errmsg(w->db) : "out of memory");
		goto fail;
	}
	/*
	 * WAL while recording: every commit is durable against a killed tracer
	 * and readers can open the trace live. synchronous=OFF because only an
	 * OS crash, not a process kill, can lose unsynced WAL frames.
	 */
	if (exec_sql(w->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
			    "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
			    "PRAGMA wal_autocheckpoint=16384;") ||
	    exec_sql(w->db, "BEGIN") || exec_sql(w->db, store_schema_sql) ||
	    seed_kind_tables(w->db)) {
		snprintf(err, errlen, "cannot create the schema in %s: %s", path,
			 sqlite3_errmsg(w->db));
		goto fail;
	}
	char pragma[64];
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", STORE_SCHEMA_VERSION);
	exec_sql(w->db, pragma);
	char many[EVENT_ROWS * 20 + 128];
	size_t ml = (size_t)snprintf(many, sizeof(many),
				     "INSERT INTO ev(ts,th,kind,obj,wait,arg,stack) VALUES");
	for (int i = 0; i < EVENT_ROWS; i++)
		ml += (size_t)snprintf(many + ml, sizeof(many) - ml, "%s(?,?,?,?,?,?,?)",
				       i ? "," : "");
	for (int i = 0; i < ST__COUNT; i++) {
		const char *sql = i == ST_EVENTS_MANY ? many : stmt_sql[i];
		if (sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &w->st[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot prepare statements: %s",
				 sqlite3_errmsg(w->db));
			goto fail;
		}
	}
	w->in_txn = 1;
	store_writer_meta(w, "format", STORE_FORMAT_NAME);
	snprintf(pragma, sizeof(pragma), "%d", STORE_SCHEMA_VERSION);
	store_writer_meta(w, "schema_version", pragma);
	if (store_writer_commit(w)) {
		snprintf(err, errlen, "cannot write %s: %s", path, sqlite3_errmsg(w->db));
		goto fail;
	}
	return w;
fail:
	store_writer_close(w);
	remove_trace_files(path);
	return NULL;
}

static int step_reset(struct store_writer *w, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	(void)w;
	return rc == SQLITE_DONE ? 0 : -1;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_event(sqlite3_stmt *st, int base, const struct store_event *e, int64_t th)
{
	/* Zero is an integer 0, which SQLite encodes in the record header alone. */
	sqlite3_bind_int64(st, base + 1, e->ts_ns);
	sqlite3_bind_int64(st, base + 2, th);
	sqlite3_bind_int(st, base + 3, e->kind);
	sqlite3_bind_int64(st, base + 4, e->object_id);
	sqlite3_bind_int64(st, base + 5, e->wait_ns);
	sqlite3_bind_int64(st, base + 6, e->arg);
	sqlite3_bind_int64(st, base + 7, e->stack_id);
}

static size_t thread_map_hash(int32_t pid, int32_t tid)
{
	uint64_t k = ((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid;
	k *= 0x9e3779b97f4a7c15ull;
	return (size_t)(k >> 32);
}

/*
 * Forgets the numbers: after a failed statement or commit the transaction
 * that made some of them may be gone, and events must not name a thread_no
 * row that does not exist (a full disk does that).
 */
static void thread_map_reset(struct store_writer *w)
{
	if (w->thmap)
		memset(w->thmap, 0, w->thmap_cap * sizeof(*w->thmap));
	w->thmap_used = 0;
	w->last_th = 0;
}

static int thread_map_grow(struct store_writer *w)
{
	size_t cap = w->thmap_cap ? w->thmap_cap * 2 : 1024;
	struct thread_map_slot *m = calloc(cap, sizeof(*m));
	if (!m)
		return -1;
	for (size_t i = 0; i < w->thmap_cap; i++) {
		struct thread_map_slot *o = &w->thmap[i];
		if (!o->th)
			continue;
		size_t j = thread_map_hash(o->pid, o->tid) & (cap - 1);
		while (m[j].th)
			j = (j + 1) & (cap - 1);
		m[j] = *o;
	}
	free(w->thmap);
	w->thmap = m;
	w->thmap_cap = cap;
	return 0;
}

/* The thread's ev.th, numbering a thread seen for the first time; 0 on error. */
static int64_t thread_number(struct store_writer *w, int32_t pid, int32_t tid)
{
	if (w->last_th && w->last_pid == pid && w->last_tid == tid)
		return w->last_th;
	if (w->thmap_used * 2 >= w->thmap_cap && thread_map_grow(w))
		return 0;
	size_t j = thread_map_hash(pid, tid) & (w->thmap_cap - 1);
	while (w->thmap[j].th && (w->thmap[j].pid != pid || w->thmap[j].tid != tid))
		j = (j + 1) & (w->thmap_cap - 1);
	if (!w->thmap[j].th) {
		/* A row made by SQL (fixtures) already has a number: reuse it. */
		sqlite3_stmt *add = w->st[ST_THREAD_NO_ADD], *get = w->st[ST_THREAD_NO_GET];
		sqlite3_bind_int(add, 1, pid);
		sqlite3_bind_int(add, 2, tid);
		if (step_reset(w, add))
			return 0;
		sqlite3_bind_int(get, 1, pid);
		sqlite3_bind_int(get, 2, tid);
		int64_t th = sqlite3_step(get) == SQLITE_ROW ? sqlite3_column_int64(get, 0) : 0;
		sqlite3_reset(get);
		if (!th)
			return 0;
		w->thmap[j] = (struct thread_map_slot){pid, tid, th};
		w->thmap_used++;
	}
	w->last_pid = pid;
	w->last_tid = tid;
	w->last_th = w->thmap[j].th;
	return w->last_th;
}

/*
 * Writes the buffered events, in order. Thread numbers are looked up here,
 * in the transaction that writes the events.
 */
static int flush_events(struct store_writer *w)
{
	int rc = 0;
	int64_t th[EVENT_ROWS];
	for (int i = 0; i < w->npending && !rc; i++)
		if (!(th[i] = thread_number(w, w->pending[i].pid, w->pending[i].tid)))
			rc = -1;
	if (!rc && w->npending == EVENT_ROWS) {
		for (int i = 0; i < EVENT_ROWS; i++)
			bind_event(w->st[ST_EVENTS_MANY], i * 7, &w->pending[i], th[i]);
		rc = step_reset(w, w->st[ST_EVENTS_MANY]);
	} else {
		for (int i = 0; i < w->npending && !rc; i++) {
			bind_event(w->st[ST_EVENT], 0, &w->pending[i], th[i]);
			rc = step_reset(w, w->st[ST_EVENT]);
		}
	}
	w->npending = 0;
	if (rc)
		thread_map_reset(w);
	return rc;
}

int store_writer_event(struct store_writer *w, const struct store_event *e)
{
	w->pending[w->npending++] = *e;
	return w->npending == EVENT_ROWS ? flush_events(w) : 0;
}

int store_writer_object(struct store_writer *w, int64_t object_id, int pid, int kind,
			const char *name, int64_t created_ns, uint64_t addr, int64_t stack_id)
{
	sqlite3_stmt *st = w->st[ST_OBJECT];
	sqlite3_bind_int64(st, 1, object_id);
	sqlite3_bind_int(st, 2, pid);
	sqlite3_bind_int(st, 3, kind);
	bind_text_or_null(st, 4, name);
	sqlite3_bind_int64(st, 5, created_ns);
	sqlite3_bind_int64(st, 6, (int64_t)addr);
	sqlite3_bind_int64(st, 7, stack_id);
	return step_reset(w, st);
}

int store_writer_stack_frame(struct store_writer *w, int64_t stack_id, int depth, const char *lang,
			     const char *function, const char *file, int line, const char *module,
			     uint64_t pc)
{
	sqlite3_stmt *st = w->st[ST_FRAME];
	sqlite3_bind_int64(st, 1, stack_id);
	sqlite3_bind_int(st, 2, depth);
	bind_text_or_null(st, 3, lang);
	bind_text_or_null(st, 4, function);
	bind_text_or_null(st, 5, file);
	if (line > 0)
		sqlite3_bind_int(st, 6, line);
	else
		sqlite3_bind_null(st, 6);
	bind_text_or_null(st, 7, module);
	sqlite3_bind_int64(st, 8, (int64_t)pc);
	return step_reset(w, st);
}

static void bind_opt_int64(sqlite3_stmt *st, int i, int64_t v)
{
	if (v == INT64_MIN)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

/* INT64_MIN in any time or status argument stores NULL (unknown). */
int store_writer_process(struct store_writer *w, int pid, int ppid, const char *argv,
			 int64_t start_ns, int64_t end_ns, int64_t exit_code, int64_t exit_signal)
{
	sqlite3_stmt *st = w->st[ST_PROCESS];
	sqlite3_bind_int(st, 1, pid);
	sqlite3_bind_int(st, 2, ppid);
	bind_text_or_null(st, 3, argv);
	bind_opt_int64(st, 4, start_ns);
	bind_opt_int64(st, 5, end_ns);
	bind_opt_int64(st, 6, exit_code);
	bind_opt_int64(st, 7, exit_signal);
	return step_reset(w, st);
}

int store_writer_thread(struct store_writer *w, int pid, int tid, const char *name,
			int64_t start_ns, int64_t end_ns, int64_t unrecorded,
			int64_t producer_waits)
{
	sqlite3_stmt *st = w->st[ST_THREAD];
	sqlite3_bind_int(st, 1, pid);
	sqlite3_bind_int(st, 2, tid);
	bind_text_or_null(st, 3, name);
	bind_opt_int64(st, 4, start_ns);
	bind_opt_int64(st, 5, end_ns);
	sqlite3_bind_int64(st, 6, unrecorded);
	sqlite3_bind_int64(st, 7, producer_waits);
	return step_reset(w, st);
}

int store_writer_meta(struct store_writer *w, const char *key, const char *value)
{
	sqlite3_stmt *st = w->st[ST_META];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	bind_text_or_null(st, 2, value);
	return step_reset(w, st);
}

int store_writer_race(struct store_writer *w, const struct store_race *r)
{
	sqlite3_stmt *st = w->st[ST_RACE];
	sqlite3_bind_int(st, 1, r->pid);
	sqlite3_bind_int(st, 2, r->rule);
	sqlite3_bind_int64(st, 3, r->site_a);
	sqlite3_bind_int64(st, 4, r->site_b);
	sqlite3_bind_int(st, 10, r->tid_b);
	sqlite3_bind_int64(st, 11, r->ts_b);
	if (r->light) {
		for (int i = 5; i <= 9; i++)
			sqlite3_bind_null(st, i);
		for (int i = 12; i <= 15; i++)
			sqlite3_bind_null(st, i);
	} else {
		sqlite3_bind_int(st, 5, r->tid_a);
		sqlite3_bind_int64(st, 6, r->ts_a);
		sqlite3_bind_int(st, 7, r->flags_a);
		sqlite3_bind_int64(st, 8, r->stack_a);
		bind_text_or_null(st, 9, r->held_a);
		sqlite3_bind_int(st, 12, r->flags_b);
		sqlite3_bind_int64(st, 13, r->stack_b);
		bind_text_or_null(st, 14, r->held_b);
		bind_text_or_null(st, 15, r->location);
	}
	return step_reset(w, st);
}

int store_writer_commit(struct store_writer *w)
{
	if (w->npending && flush_events(w))
		return -1;
	if (w->in_txn && exec_sql(w->db, "COMMIT")) {
		thread_map_reset(w);
		return -1;
	}
	w->in_txn = 0;
	if (exec_sql(w->db, "BEGIN"))
		return -1;
	w->in_txn = 1;
	return 0;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 1 when ev's rowid order is already (ts, id) order, 0 when not, -1 on error. */
static int events_in_time_order(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT ts FROM ev", -1, &st, NULL) != SQLITE_OK)
		return -1;
	int64_t prev = INT64_MIN;
	int rc, ordered = 1;
	while (ordered && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(st, 0);
		ordered = ts >= prev;
		prev = ts;
	}
	sqlite3_finalize(st);
	return ordered ? (rc == SQLITE_DONE ? 1 : -1) : 0;
}

/*
 * Rewrites ev in time order, so that rowid order is (ts, id) order: readers
 * walk time through the primary key and need no index on ts. Within a
 * thread the writer never lets time run backwards, so the order of a
 * thread's events (program order) is kept. Rings drain independently, so
 * the recorded order is only roughly by time. The sorted copy goes to a
 * temp table and back into the emptied ev, whose freed pages it reuses: a
 * new table next to the old one would leave the old one's pages free in
 * the file.
 */
static int sort_events(struct store_writer *w)
{
	int ordered = events_in_time_order(w->db);
	if (ordered)
		return ordered < 0 ? -1 : 0;
	/*
	 * Temp on disk (the page cache holds what fits): the copy is as big as
	 * ev. The setting can only change between transactions; a kill during
	 * the rewrite rolls back to the unsorted, still valid ev.
	 */
	if (store_writer_commit(w) || exec_sql(w->db, "COMMIT"))
		return -1;
	w->in_txn = 0;
	if (exec_sql(w->db, "PRAGMA temp_store=FILE; BEGIN"))
		return -1;
	w->in_txn = 1;
	return exec_sql(w->db,
			"CREATE TEMP TABLE ev_sorted AS SELECT ts, th, kind, obj, wait, arg,"
			" stack FROM main.ev ORDER BY ts, id;"
			"DELETE FROM main.ev;"
			"INSERT INTO main.ev(id, ts, th, kind, obj, wait, arg, stack)"
			" SELECT rowid, ts, th, kind, obj, wait, arg, stack FROM temp.ev_sorted"
			" ORDER BY rowid;"
			"DROP TABLE temp.ev_sorted;");
}

/*
 * Indexes are built once at the end: maintaining them during recording
 * would halve the insert rate.
 */
int store_writer_finalize(struct store_writer *w)
{
	if (w->npending && flush_events(w))
		return -1;
	int debug = getenv("WEFT_DEBUG") != NULL;
	double t0 = mono_s();
	if (sort_events(w))
		return -1;
	double ts = mono_s();
	/*
	 * The one index: (th, rowid), which in a time-ordered ev is a thread's
	 * events in time order. Time itself is found through the rowid
	 * (store_event_at); per-object reads are rare enough to scan.
	 */
	if (exec_sql(w->db, "DROP INDEX IF EXISTS ev_by_obj;" /* the collector's, for its fixes */
			    "CREATE INDEX IF NOT EXISTS ev_by_thread ON ev(th);"))
		return -1;
	/*
	 * The viewer's derived tables are not part of the file: they would more
	 * than double it (36 bytes per event on the lock microbenchmark against
	 * 32 for the events and their index). `weft view` builds them at its
	 * first open and keeps them in TRACE-view (docs/DERIVED.md).
	 */
	double t2 = mono_s();
	if (store_writer_meta(w, "complete", "1") || store_writer_commit(w))
		return -1;
	if (w->in_txn && exec_sql(w->db, "COMMIT"))
		return -1;
	w->in_txn = 0;
	/* One self-contained file for the user to copy around. */
	if (exec_sql(w->db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;"))
		return -1;
	/* bench/run.sh reads this line: the finalize cost per part. */
	if (debug)
		fprintf(stderr,
			"weft: finalize: time order %.2f s, indexes %.2f s, checkpoint %.2f s,"
			" total %.2f s\n",
			ts - t0, t2 - ts, mono_s() - t2, mono_s() - t0);
	return 0;
}

const char *store_writer_error(struct store_writer *w)
{
	return w && w->db ? sqlite3_errmsg(w->db) : "out of memory";
}

sqlite3 *store_writer_db(struct store_writer *w)
{
	return w->db;
}

void store_writer_close(struct store_writer *w)
{
	if (!w)
		return;
	if (w->npending && w->st[ST_EVENT])
		flush_events(w);
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(w->st[i]);
	if (w->db) {
		if (w->in_txn)
			exec_sql(w->db, "COMMIT");
		sqlite3_close(w->db);
	}
	free(w->thmap);
	free(w);
}
