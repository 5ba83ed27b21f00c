/* The trace writer: batched inserts through prepared statements. */
#include "store/store.h"
#include "store/store_mirror.h"
#include "store/store_holdchunks.h"
#include "store/store_schema.h"
#include "store/store_debug.h"
#include "store/store_util.h"

#include <errno.h>
#include <signal.h>
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
	ST_FIRST_AFTER,
	ST_SUM_THREAD,
	ST_SUM_THREAD_KIND,
	ST_SUM_OBJECT_KIND,
	ST_WAITS_MANY,
	ST_WAIT,
	ST_SUM_OBJECT_DEL,
	ST__COUNT
};

/* Events are inserted EVENT_ROWS at a time: one statement step per row costs more than the row. */
#define EVENT_ROWS 64
#define WAL_CHECKPOINT_PAGES "4096" /* 64 MB of 16 KiB pages: see store_writer_open */

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
    [ST_FIRST_AFTER] = "SELECT id FROM ev WHERE id BETWEEN ? AND ? AND ts > ? ORDER BY id LIMIT 1",
    [ST_SUM_THREAD] = "INSERT OR REPLACE INTO sum_thread VALUES(?,?,?,?,?)",
    [ST_SUM_THREAD_KIND] = "INSERT OR REPLACE INTO sum_thread_kind VALUES(?,?,?,?,?,?,?,?,?)",
    [ST_SUM_OBJECT_KIND] = "INSERT OR REPLACE INTO sum_object_kind VALUES(?,?,?,?,?,?,?,?,?)",
    [ST_WAITS_MANY] = NULL, /* built at open: EVENT_ROWS (obj, wait) tuples */
    [ST_WAIT] = "INSERT INTO temp.lock_waits VALUES(?,?)",
    [ST_SUM_OBJECT_DEL] = "DELETE FROM sum_object_kind WHERE obj = ? AND kind = ?",
};

/*
 * The summaries (sum_* tables, docs/SCHEMA.md): one entry per (thread,
 * kind) and (object, kind), updated as each row goes into ev and written
 * at every commit when changed, so they always match the committed events.
 * key is ev.th or the object id; kind 0 marks a free slot. max_ts and
 * max_seq (the row's arrival) break ties between equal longest waits the
 * way ev's final (ts, arrival) order does: the first one names the site.
 */
struct tally_ent {
	int64_t key;
	int32_t kind;
	int32_t dirty;
	int64_t events, waited, wait, max_wait, max_stack, max_ts, max_seq, first_ts, last_ts;
};

struct tally_map {
	struct tally_ent *e;
	size_t cap, used; /* cap: a power of two */
	/*
	 * The entries changed since the last commit, by index: a commit
	 * writes these instead of scanning every entry (the OpenSSL burst's
	 * 14 000 objects made each of its 200 commits read 10 MB).
	 */
	size_t *dirty, ndirty, cap_dirty;
};

/* Per thread (indexed by ev.th, which thread_no numbers densely from 1). */
struct tally_thr {
	int64_t first_ts, first_seq, gil_hold, gil_open, wait_open;
	int dirty, seen;
};

/* (pid, tid) -> ev.th, open addressing; th 0 marks a free slot. */
struct thread_map_slot {
	int32_t pid, tid;
	int64_t th;
};

/*
 * An event held back until earlier ones cannot arrive anymore, in 48
 * bytes instead of a store_event's 56 and an arrival number's 8: an
 * OpenSSL burst holds 2M of them. Arrival order needs no number: every
 * merge of the held events takes the earlier arrival first on equal
 * times.
 */
struct held_event {
	int64_t ts_ns, object_id, wait_ns, arg;
	int32_t pid, tid, kind;
	uint32_t stack_id; /* a store_event's that does not fit is refused (store_writer_event) */
};

/*
 * Events held at most (48 bytes each): past it the older half goes out
 * anyway, and what then comes late is put in place by a sort. A thread
 * preempted in the middle of a record holds every other thread's records
 * back until it runs again: 70 ms seen on two cores with eight busy
 * threads, 1.4 M events of an OpenSSL burst.
 */
#define HELD_MAX (1u << 21)

/*
 * Newcomers sorted and merged in at most this many at a time, which bounds
 * the scratch they need (the merge runs backwards into the held array).
 */
#define NEWCOMERS_MAX (1u << 18)

/* The most lateness that makes the writer hold back longer (store_writer_event). */
#define LAG_MAX_NS 1000000000

/* Rows per block of the running-maximum map that places late rows (late_place). */
#define LATE_BLOCK 4096

/* A stretch of rowids that finalize sorts: late rows and the rows they belong before. */
/* The rows a follower stays behind the last committed one at least (see follow_lag). */
#define FOLLOW_LAG_ROWS 262144

/*
 * The newest rows kept in memory for a follower (store_mirror.h): 40 bytes
 * each, 40 MB. Four times the lag: a follower that keeps pace with the
 * writer in a burst reads all it reads from there (with twice the lag, a
 * follower fell behind it during a 4M-pair burst and read 92% of the rows
 * from the table).
 */
#define MIRROR_ROWS (4 * FOLLOW_LAG_ROWS)

/*
 * Once the program has ended the writer waits at a commit while its
 * follower is more than this many rows behind, so that the rows the
 * follower reads next are still in the mirror: room for its next step
 * (store_viewcache.c FOLLOW_STEP_ROWS, 128K) and the writer's commits
 * (32K rows each) before it looks again; more than the lag, so the
 * follower always has rows to read. A follower that fell out of the
 * mirror reads the table at half the pace, never catches up, and
 * becomes the tail.
 */
#define PACE_GAP_ROWS (MIRROR_ROWS - 2 * 131072)
/* Rows written between two looks at the follower at most, while pacing (pace_due). */
#define PACE_COMMIT_ROWS 65536
/* One look's wait: then the writer goes on and paces no more (the follower is busy elsewhere). */
#define PACE_WAIT_MAX_NS 100000000

/* Id ranges kept apart for the end's fill-in (store_writer_fix_range). */
#define FIX_RANGES 64

struct late_span {
	int64_t lo, hi;
};

struct store_writer {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	int in_txn;
	struct store_event pending[EVENT_ROWS];
	int npending;
	/*
	 * The values ST_EVENTS_MANY's parameters hold (a reset keeps them):
	 * only a changed one is bound again (on the lock microbenchmark one of
	 * a row's seven, its time). many_bound: bound[] is valid.
	 */
	int64_t bound[EVENT_ROWS * 7];
	int many_bound;
	int hold; /* store_writer_hold() was called */
	/*
	 * held[first, nsorted): in time order, equal times in arrival order;
	 * held[nsorted, nheld): come since
	 */
	struct held_event *held, *scratch;
	size_t first, nheld, nsorted, cap_held;
	/*
	 * Late rows, found as they are appended: out_max is the largest ts
	 * written so far, next_id the rowid of pending[0], bmax[k] the
	 * running maximum of ts at the end of rowid block k (LATE_BLOCK rows),
	 * spans the stretches to sort at finalize, disjoint and ascending.
	 */
	int64_t out_max, next_id;
	int64_t *bmax;
	size_t nbmax, cap_bmax;
	struct late_span *spans;
	size_t nspans, cap_spans;
	uint64_t nlate, forced_out;
	int64_t lag_ns;	  /* held this much longer than the horizons say: lateness seen */
	int64_t promised; /* the latest horizon: no event before it was still to come */
	/* store_writer_interrupt() was called; tail: its statements may be interrupted */
	volatile sig_atomic_t stop, tail;
	struct thread_map_slot *thmap;
	size_t thmap_cap, thmap_used; /* cap: a power of two */
	int32_t last_pid, last_tid;
	int64_t last_th;
	/* summaries; broken: a failed write lost rows they counted (cleared: their tables emptied)
	 */
	struct tally_map sum_th, sum_obj;
	struct tally_thr *sum_thr;
	size_t cap_sum_thr;
	int sum_broken, sum_cleared;
	int sum_frozen; /* an interrupted tail: the committed summaries match the committed ev */
	/* contended acquisitions' (object, wait), for the p90 at finalize */
	int64_t waits[EVENT_ROWS][2];
	int nwaits;
	char *path;
	int made_journal;			    /* PATH-journal is ours, made at finalize */
	double fin_start, fin_ordered, fin_index_s; /* when the end steps ran, for WEFT_DEBUG */
	/*
	 * For a reader following the trace as it is written (the viewer's
	 * tables, store_viewcache.c): rows up to follow_limit are committed and
	 * most likely final (atomic); the lowest row id a late stretch or a fix
	 * moved or changed; the distance kept behind the last committed row.
	 */
	int64_t follow_limit, moved_pending, follow_lag;
	/*
	 * The first row written before the collector's horizon passed it (a
	 * full hold forced it out), INT64_MAX: none; and the newest such row's
	 * time. A late record may still belong before such rows, so a follower
	 * stops short of them until the horizon passes them all: a follower
	 * that had read them started over from the first row.
	 */
	int64_t unsettled_from, unsettled_max;
	int64_t rows_sorted; /* for WEFT_DEBUG=finalize */
	/* the newest rows for a follower (store_writer_mirror), kept once one asked */
	struct store_mirror *mirror;
	int mirror_on; /* atomic */
	/*
	 * Pacing the writer to its follower once the program has ended
	 * (store_writer_pace): on (atomic); the last row the follower read
	 * (atomic); next_id at the last look; 1 once a wait ran out.
	 */
	int pace_on, pace_gave_up;
	int64_t followed_to, paced_at;
	/*
	 * The rows whose arg the end may fill in (store_writer_fix_range): id
	 * ranges, disjoint, each widened to the stretches sorted since (a row
	 * moves only within its stretch). A few rows at the start and the end
	 * of a long trace are two short ranges, not one that spans it all.
	 */
	struct fix_range {
		int64_t lo, hi;
	} fix[FIX_RANGES + 1];
	size_t nfix;
	char file_err[4400]; /* why a file beside the trace failed, for store_writer_error */
};

static int exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int seed_kind_tables(sqlite3 *db)
{
	char sql[128];
#define STORE_SEED(e, c, n)                                                                        \
	snprintf(sql, sizeof(sql), "INSERT INTO event_kind VALUES(%d,'%s')", c, n);                \
	if (exec_sql(db, sql))                                                                     \
		return -1;
	STORE_EVENT_KINDS(STORE_SEED)
#undef STORE_SEED
#define STORE_SEED(e, c, n)                                                                        \
	snprintf(sql, sizeof(sql), "INSERT INTO object_kind VALUES(%d,'%s')", c, n);               \
	if (exec_sql(db, sql))                                                                     \
		return -1;
	STORE_OBJECT_KINDS(STORE_SEED)
#undef STORE_SEED
	return 0;
}

struct store_writer *store_writer_open(const char *path, char *err, size_t errlen)
{
	struct store_writer *w = NULL;
	struct stat sb;

	/* First: store_is_trace() below would block on a FIFO at PATH-journal. */
	if (store_files_prepare_write(path, err, errlen))
		return NULL;
	if (stat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode) || store_is_trace(path) != 1) {
			snprintf(err, errlen,
				 "%s exists and is not a weft trace; refusing to overwrite it",
				 path);
			return NULL;
		}
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove the old trace %s: %s", path,
				 strerror(errno));
			return NULL;
		}
	}

	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->out_max = INT64_MIN;
	w->promised = INT64_MIN;
	w->next_id = 1;
	w->moved_pending = INT64_MAX;
	w->unsettled_from = INT64_MAX;
	/*
	 * Far enough behind that a late record's stretch rarely reaches rows a
	 * follower has read (then it reads them again at the end).
	 * WEFT_TEST_FOLLOW_LAG: the tests' way to follow closely.
	 */
	const char *lag = getenv("WEFT_TEST_FOLLOW_LAG");
	w->follow_lag = lag ? atoll(lag) : FOLLOW_LAG_ROWS;
	/* none (no memory, or WEFT_TEST_NO_MIRROR): followers read the table */
	w->mirror = getenv("WEFT_TEST_NO_MIRROR") ? NULL : store_mirror_new(MIRROR_ROWS);
	/* 0600 before SQLite creates it: traces can hold arguments and names. */
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		free(w->path);
		free(w);
		return NULL;
	}
	close(fd);
	/*
	 * SQLite would create -wal and -shm without O_EXCL, so a file planted
	 * after the check above would receive the trace: they are ours first.
	 */
	if (store_files_create(path, "-wal", err, errlen) ||
	    store_files_create(path, "-shm", err, errlen))
		goto fail;
	/* One thread uses this connection: skip SQLite's per-call mutexes. */
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 w->db ? sqlite3_errmsg(w->db) : "out of memory");
		goto fail;
	}
	/* the findings and weft run's blame read object_holds on this connection */
	store_holdchunks_register(w->db);
	/*
	 * WAL while recording: every commit is durable against a killed tracer
	 * and readers can open the trace live. synchronous=OFF because only an
	 * OS crash, not a process kill, can lose unsynced WAL frames. OFF
	 * first: the switch to WAL writes page 1, which in the default mode
	 * would create PATH-journal, a name nobody made safe here; an empty
	 * file has nothing to roll back. A 16 MB cache: rows are appended and
	 * committed every second, and 64 MB only added to weft's peak RSS
	 * (OpenSSL burst 265-313 MB, then 227-239 MB; tails alike).
	 * 16 KiB pages, set before anything is written: a quarter of the page
	 * splits, allocations and WAL frame headers of 4 KiB ones for rows that
	 * are only appended. Writer throughput on lockbench (4M events, three
	 * alternating runs, 16384 pages between checkpoints): 4 KiB
	 * 3.93-4.27M/s, 8 KiB 4.39-4.63M/s, 16 KiB 4.46-4.56M/s, 32 KiB
	 * 4.04-4.18M/s, 64 KiB 3.55-3.72M/s; the file's size the same within
	 * 0.3%. The WAL is still folded into the file every 64 MB (4096 pages
	 * now): 256 MB gave the same throughput.
	 */
	if (exec_sql(w->db, "PRAGMA page_size=16384;"
			    "PRAGMA journal_mode=OFF; PRAGMA journal_mode=WAL;"
			    "PRAGMA synchronous=OFF;"
			    "PRAGMA cache_size=-16384;"
			    "PRAGMA wal_autocheckpoint=" WAL_CHECKPOINT_PAGES ";") ||
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
	/*
	 * OR FAIL: a statement of many rows that SQLite thinks may abort
	 * halfway keeps a statement journal, a copy of each page it first changes: 16
	 * KiB per statement, a ninth of the writer's instructions on the lock
	 * microbenchmark. These rows never break a constraint, and a failed
	 * write fails the trace anyway.
	 */
	size_t ml = (size_t)snprintf(
	    many, sizeof(many), "INSERT OR FAIL INTO ev(ts,th,kind,obj,wait,arg,stack) VALUES");
	for (int i = 0; i < EVENT_ROWS; i++)
		ml += (size_t)snprintf(many + ml, sizeof(many) - ml, "%s(?,?,?,?,?,?,?)",
				       i ? "," : "");
	char waits[EVENT_ROWS * 8 + 64];
	size_t wl = (size_t)snprintf(waits, sizeof(waits), "INSERT INTO temp.lock_waits VALUES");
	for (int i = 0; i < EVENT_ROWS; i++)
		wl += (size_t)snprintf(waits + wl, sizeof(waits) - wl, "%s(?,?)", i ? "," : "");
	/* Not in the trace: only finalize reads them (sum_p90), a killed writer loses them. */
	if (exec_sql(w->db, "CREATE TEMP TABLE lock_waits(obj INTEGER, wait INTEGER)")) {
		snprintf(err, errlen, "cannot create a temp table: %s", sqlite3_errmsg(w->db));
		goto fail;
	}
	for (int i = 0; i < ST__COUNT; i++) {
		const char *sql = i == ST_EVENTS_MANY  ? many
				  : i == ST_WAITS_MANY ? waits
						       : stmt_sql[i];
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
	store_files_remove_own(path, "-wal");
	store_files_remove_own(path, "-shm");
	store_files_remove_own(path, "");
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

static size_t tally_hash(int64_t key, int32_t kind)
{
	uint64_t k = ((uint64_t)key << 8) ^ (uint32_t)kind;
	k *= 0x9e3779b97f4a7c15ull;
	return (size_t)(k >> 29);
}

/* Lists entry x as changed since the last commit (once); -1 when out of memory. */
static inline int tally_touch(struct tally_map *m, struct tally_ent *x)
{
	if (x->dirty)
		return 0;
	if (m->ndirty == m->cap_dirty) {
		size_t cap = m->cap_dirty ? m->cap_dirty * 2 : 256;
		size_t *d = realloc(m->dirty, cap * sizeof(*d));
		if (!d)
			return -1;
		m->dirty = d;
		m->cap_dirty = cap;
	}
	x->dirty = 1;
	m->dirty[m->ndirty++] = (size_t)(x - m->e);
	return 0;
}

/* The (key, kind) entry, made when new; NULL when out of memory. */
static struct tally_ent *tally_get(struct tally_map *m, int64_t key, int32_t kind)
{
	if (m->used * 2 >= m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct tally_ent *n = calloc(cap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->e[i].kind)
				continue;
			size_t j = tally_hash(m->e[i].key, m->e[i].kind) & (cap - 1);
			while (n[j].kind)
				j = (j + 1) & (cap - 1);
			n[j] = m->e[i];
		}
		free(m->e);
		m->e = n;
		m->cap = cap;
		/* the entries moved: the changed ones are listed again where they are now */
		m->ndirty = 0;
		for (size_t i = 0; i < cap; i++) {
			if (n[i].dirty) {
				n[i].dirty = 0;
				if (tally_touch(m, &n[i]))
					return NULL;
			}
		}
	}
	size_t j = tally_hash(key, kind) & (m->cap - 1);
	while (m->e[j].kind && (m->e[j].key != key || m->e[j].kind != kind))
		j = (j + 1) & (m->cap - 1);
	struct tally_ent *x = &m->e[j];
	if (!x->kind) {
		memset(x, 0, sizeof(*x));
		x->key = key;
		x->kind = kind;
		x->first_ts = INT64_MAX;
		x->last_ts = INT64_MIN;
		m->used++;
	}
	return x;
}

/*
 * Counts one row in entry x, listed as changed (tally_touch); wait is at
 * least 0 (weft never writes a negative one).
 */
static void tally_add(struct tally_ent *x, const struct store_event *e, int64_t wait, int64_t seq)
{
	if (!x->events++ || wait > x->max_wait ||
	    (wait == x->max_wait &&
	     (e->ts_ns < x->max_ts || (e->ts_ns == x->max_ts && seq < x->max_seq)))) {
		x->max_wait = wait;
		x->max_stack = e->stack_id;
		x->max_ts = e->ts_ns;
		x->max_seq = seq;
	}
	x->waited += wait > 0;
	x->wait += wait;
	if (e->ts_ns < x->first_ts)
		x->first_ts = e->ts_ns;
	if (e->ts_ns > x->last_ts)
		x->last_ts = e->ts_ns;
}

static struct tally_thr *tally_thread(struct store_writer *w, int64_t th)
{
	if ((size_t)th >= w->cap_sum_thr) {
		size_t cap = w->cap_sum_thr ? w->cap_sum_thr * 2 : 256;
		while (cap <= (size_t)th)
			cap *= 2;
		struct tally_thr *n = realloc(w->sum_thr, cap * sizeof(*n));
		if (!n)
			return NULL;
		memset(n + w->cap_sum_thr, 0, (cap - w->cap_sum_thr) * sizeof(*n));
		w->sum_thr = n;
		w->cap_sum_thr = cap;
	}
	struct tally_thr *t = &w->sum_thr[th];
	if (!t->seen) {
		t->seen = 1;
		t->first_ts = INT64_MAX;
		t->gil_open = t->wait_open = -1;
	}
	return t;
}

static int flush_waits(struct store_writer *w)
{
	int rc = 0;
	if (w->nwaits == EVENT_ROWS) {
		for (int i = 0; i < EVENT_ROWS; i++) {
			sqlite3_bind_int64(w->st[ST_WAITS_MANY], 2 * i + 1, w->waits[i][0]);
			sqlite3_bind_int64(w->st[ST_WAITS_MANY], 2 * i + 2, w->waits[i][1]);
		}
		rc = step_reset(w, w->st[ST_WAITS_MANY]);
	} else {
		for (int i = 0; i < w->nwaits && !rc; i++) {
			sqlite3_bind_int64(w->st[ST_WAIT], 1, w->waits[i][0]);
			sqlite3_bind_int64(w->st[ST_WAIT], 2, w->waits[i][1]);
			rc = step_reset(w, w->st[ST_WAIT]);
		}
	}
	w->nwaits = 0;
	return rc;
}

/*
 * Counts a row just written as rowid seq, in the order rows go into ev:
 * within a thread that is program order, which the GIL holds and the open
 * lock waits follow, as weft report's scan of ev did.
 */
static int tally_event(struct store_writer *w, const struct store_event *e, int64_t th, int64_t seq)
{
	int64_t wait = e->wait_ns > 0 ? e->wait_ns : 0;
	struct tally_thr *t = tally_thread(w, th);
	struct tally_ent *x = tally_get(&w->sum_th, th, e->kind);
	if (!t || !x || tally_touch(&w->sum_th, x))
		return -1;
	tally_add(x, e, wait, seq);
	t->dirty = 1;
	if (e->ts_ns < t->first_ts || (e->ts_ns == t->first_ts && seq < t->first_seq)) {
		t->first_ts = e->ts_ns;
		t->first_seq = seq;
	}
	switch (e->kind) {
	case WEFT_EV_LOCK_WAIT:
		/* one recorded at exit for a Python thread has waited wait_ns already */
		t->wait_open = e->ts_ns - wait;
		break;
	case WEFT_EV_LOCK_ACQUIRE:
	case WEFT_EV_LOCK_FAIL:
		t->wait_open = -1;
		break;
	case WEFT_EV_GIL_ACQUIRE:
		t->gil_open = e->ts_ns;
		break;
	case WEFT_EV_GIL_RELEASE:
		if (t->gil_open >= 0 && e->ts_ns >= t->gil_open)
			t->gil_hold += e->ts_ns - t->gil_open;
		t->gil_open = -1;
		break;
	}
	if (!e->object_id)
		return 0;
	if (!(x = tally_get(&w->sum_obj, e->object_id, e->kind)) || tally_touch(&w->sum_obj, x))
		return -1;
	tally_add(x, e, wait, seq);
	if (e->kind == WEFT_EV_LOCK_ACQUIRE && wait > 0) {
		w->waits[w->nwaits][0] = e->object_id;
		w->waits[w->nwaits][1] = wait;
		if (++w->nwaits == EVENT_ROWS)
			return flush_waits(w);
	}
	return 0;
}

static int tally_write_map(struct store_writer *w, struct tally_map *m, sqlite3_stmt *st)
{
	for (size_t i = 0; i < m->ndirty; i++) {
		struct tally_ent *x = &m->e[m->dirty[i]];
		if (!x->kind || !x->dirty)
			continue;
		if (!x->events) { /* all moved to another object (store_writer_refresh_object) */
			sqlite3_stmt *del = w->st[ST_SUM_OBJECT_DEL];
			sqlite3_bind_int64(del, 1, x->key);
			sqlite3_bind_int(del, 2, x->kind);
			if (step_reset(w, del))
				return -1;
			x->dirty = 0;
			continue;
		}
		sqlite3_bind_int64(st, 1, x->key);
		sqlite3_bind_int(st, 2, x->kind);
		sqlite3_bind_int64(st, 3, x->events);
		sqlite3_bind_int64(st, 4, x->waited);
		sqlite3_bind_int64(st, 5, x->wait);
		sqlite3_bind_int64(st, 6, x->max_wait);
		sqlite3_bind_int64(st, 7, x->max_stack);
		sqlite3_bind_int64(st, 8, x->first_ts);
		sqlite3_bind_int64(st, 9, x->last_ts);
		if (step_reset(w, st))
			return -1;
		x->dirty = 0;
	}
	m->ndirty = 0;
	return 0;
}

/*
 * Writes the changed summary rows into the open transaction, with the
 * events they count.
 */
static int tally_write(struct store_writer *w)
{
	if (w->nwaits && flush_waits(w))
		return -1;
	sqlite3_stmt *st = w->st[ST_SUM_THREAD];
	for (size_t th = 0; th < w->cap_sum_thr; th++) {
		struct tally_thr *t = &w->sum_thr[th];
		if (!t->dirty)
			continue;
		sqlite3_bind_int64(st, 1, (int64_t)th);
		sqlite3_bind_int64(st, 2, t->first_ts);
		sqlite3_bind_int64(st, 3, t->first_seq);
		sqlite3_bind_int64(st, 4, t->gil_hold);
		sqlite3_bind_int64(st, 5, t->wait_open);
		if (step_reset(w, st))
			return -1;
		t->dirty = 0;
	}
	return tally_write_map(w, &w->sum_th, w->st[ST_SUM_THREAD_KIND]) ||
	       tally_write_map(w, &w->sum_obj, w->st[ST_SUM_OBJECT_KIND]);
}

/*
 * After a failed write the in-memory counts include rows that are not in
 * ev: the tables are emptied instead, for good (readers then see that they
 * do not add up to ev, and scan it).
 */
static int tally_clear(struct store_writer *w)
{
	return exec_sql(w->db, "DELETE FROM sum_thread; DELETE FROM sum_thread_kind;"
			       "DELETE FROM sum_object_kind; DELETE FROM sum_p90;");
}

/* A process.exit whose status or a process.spawn whose pid only the end knows. */
static int arg_unknown(const struct store_event *e)
{
	return (e->kind == WEFT_EV_PROCESS_EXIT && e->arg == -1) ||
	       (e->kind == WEFT_EV_PROCESS_SPAWN && e->arg == 0);
}

/*
 * Adds ids lo..hi to the rows to fill in: ranges it overlaps or touches
 * become one. Past FIX_RANGES, the two ranges closest together are
 * joined (the rows between are only read once more).
 */
static void note_fix(struct store_writer *w, int64_t lo, int64_t hi)
{
	size_t n = 0;
	for (size_t i = 0; i < w->nfix; i++) {
		struct fix_range r = w->fix[i];
		if (r.lo <= hi + 1 && lo <= r.hi + 1) {
			lo = r.lo < lo ? r.lo : lo;
			hi = r.hi > hi ? r.hi : hi;
		} else {
			w->fix[n++] = r;
		}
	}
	size_t at = n;
	for (; at > 0 && w->fix[at - 1].lo > lo; at--)
		w->fix[at] = w->fix[at - 1];
	w->fix[at] = (struct fix_range){lo, hi};
	w->nfix = n + 1;
	if (w->nfix > FIX_RANGES) {
		size_t best = 0;
		for (size_t i = 1; i + 1 < w->nfix; i++)
			if (w->fix[i + 1].lo - w->fix[i].hi < w->fix[best + 1].lo - w->fix[best].hi)
				best = i;
		w->fix[best].hi = w->fix[best + 1].hi;
		memmove(&w->fix[best + 1], &w->fix[best + 2],
			(w->nfix - best - 2) * sizeof(*w->fix));
		w->nfix--;
	}
}

int store_writer_fix_range(struct store_writer *w, size_t i, int64_t *lo, int64_t *hi)
{
	if (i >= w->nfix)
		return 0;
	*lo = w->fix[i].lo;
	*hi = w->fix[i].hi;
	return 1;
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
		int64_t v[EVENT_ROWS * 7];
		for (int i = 0; i < EVENT_ROWS; i++) {
			const struct store_event *e = &w->pending[i];
			int64_t *row = &v[i * 7];
			row[0] = e->ts_ns;
			row[1] = th[i];
			row[2] = e->kind;
			row[3] = e->object_id;
			row[4] = e->wait_ns;
			row[5] = e->arg;
			row[6] = e->stack_id;
		}
		store_bind_changed(w->st[ST_EVENTS_MANY], w->bound, &w->many_bound, v,
				   EVENT_ROWS * 7, 0);
		rc = step_reset(w, w->st[ST_EVENTS_MANY]);
	} else {
		for (int i = 0; i < w->npending && !rc; i++) {
			bind_event(w->st[ST_EVENT], 0, &w->pending[i], th[i]);
			rc = step_reset(w, w->st[ST_EVENT]);
		}
	}
	if (!rc && w->npending) {
		int64_t last = sqlite3_last_insert_rowid(w->db), first = last - w->npending + 1;
		w->next_id = last + 1;
		for (int i = 0; i < w->npending; i++)
			if (arg_unknown(&w->pending[i]))
				note_fix(w, first + i, first + i);
		if (w->mirror && __atomic_load_n(&w->mirror_on, __ATOMIC_RELAXED))
			store_mirror_put(w->mirror, first, w->pending, th, w->npending);
		for (int i = 0; i < w->npending && !rc && !w->sum_broken; i++)
			if (tally_event(w, &w->pending[i], th[i], first + i))
				w->sum_broken = 1;
	}
	w->npending = 0;
	if (rc) {
		thread_map_reset(w);
		w->sum_broken = 1;
		if (w->mirror)
			store_mirror_forget(w->mirror, INT64_MAX);
	}
	return rc;
}

/*
 * The rowid of the first row written later than ts, for a row that comes
 * late (ts below the largest written) and will be id: the running maximum
 * first passes ts there. Bisection over the block maxima finds its block,
 * a rowid range read of at most LATE_BLOCK rows (or the pending ones) the
 * row: no scan of ev.
 */
/* Rows from lo on were moved or changed after a follower could read them. */
static void note_moved(struct store_writer *w, int64_t lo)
{
	int64_t cur = __atomic_load_n(&w->moved_pending, __ATOMIC_ACQUIRE);
	while (lo < cur && !__atomic_compare_exchange_n(&w->moved_pending, &cur, lo, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

static int64_t late_first_after(struct store_writer *w, int64_t id, int64_t ts)
{
	size_t l = 0, h = w->nbmax;
	while (l < h) {
		size_t m = l + (h - l) / 2;
		if (w->bmax[m] > ts)
			h = m;
		else
			l = m + 1;
	}
	int64_t lo = (int64_t)l * LATE_BLOCK + 1, hi = lo + LATE_BLOCK - 1;
	if (hi >= id)
		hi = id - 1;
	if (lo < w->next_id) {
		sqlite3_stmt *st = w->st[ST_FIRST_AFTER];
		sqlite3_bind_int64(st, 1, lo);
		sqlite3_bind_int64(st, 2, hi < w->next_id - 1 ? hi : w->next_id - 1);
		sqlite3_bind_int64(st, 3, ts);
		int64_t found = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (found)
			return found;
	}
	for (int64_t i = lo > w->next_id ? lo : w->next_id; i <= hi; i++)
		if (w->pending[i - w->next_id].ts_ns > ts)
			return i;
	/* Not found (rows not written by this writer): the block's start is still sound. */
	return lo;
}

/* Notes row id at ts: its block's running maximum, and its stretch if it came late. */
static int late_note(struct store_writer *w, int64_t id, int64_t ts)
{
	if (ts < w->out_max) {
		int64_t lo = late_first_after(w, id, ts);
		while (w->nspans && lo <= w->spans[w->nspans - 1].hi + 1) {
			if (w->spans[w->nspans - 1].lo < lo)
				lo = w->spans[w->nspans - 1].lo;
			w->nspans--;
		}
		if (w->nspans == w->cap_spans) {
			size_t cap = w->cap_spans ? w->cap_spans * 2 : 64;
			struct late_span *g = realloc(w->spans, cap * sizeof(*g));
			if (!g)
				return -1;
			w->spans = g;
			w->cap_spans = cap;
		}
		w->spans[w->nspans++] = (struct late_span){lo, id};
		w->nlate++;
		/* Rows a follower may have read are moved: it reads them again at the end. */
		if (lo <= w->follow_limit)
			note_moved(w, lo);
		/* A follower stays twice the longest stretch so far behind the last row. */
		if (2 * (id - lo) > w->follow_lag)
			w->follow_lag = 2 * (id - lo);
	} else {
		w->out_max = ts;
	}
	size_t k = (size_t)(id - 1) / LATE_BLOCK;
	if (k >= w->cap_bmax) {
		size_t cap = w->cap_bmax ? w->cap_bmax * 2 : 256;
		while (cap <= k)
			cap *= 2;
		int64_t *g = realloc(w->bmax, cap * sizeof(*g));
		if (!g)
			return -1;
		w->bmax = g;
		w->cap_bmax = cap;
	}
	while (w->nbmax <= k)
		w->bmax[w->nbmax++] = w->out_max;
	w->bmax[k] = w->out_max;
	return 0;
}

static int append_event(struct store_writer *w, const struct store_event *e)
{
	int64_t id = w->next_id + w->npending;
	if (late_note(w, id, e->ts_ns))
		return -1;
	if (w->hold && e->ts_ns > w->promised) {
		if (w->unsettled_from == INT64_MAX)
			w->unsettled_from = id;
		if (e->ts_ns > w->unsettled_max)
			w->unsettled_max = e->ts_ns;
	}
	w->pending[w->npending++] = *e;
	return w->npending == EVENT_ROWS ? flush_events(w) : 0;
}

/* Time order; equal times keep their order (both merges below are stable). */
static int held_cmp(const void *a, const void *b)
{
	const struct held_event *x = a, *y = b;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* The end of the run in time order that starts at a[s]. */
static size_t run_end(const struct held_event *a, size_t s, size_t n)
{
	while (++s < n && a[s].ts_ns >= a[s - 1].ts_ns)
		;
	return s;
}

/*
 * Sorts a[0, n) by (ts, seq), tmp holding n: newcomers are a few runs in
 * time order (one per ring drained), merged pairwise until one is left,
 * n log(runs) instead of a sort's n log(n).
 */
static void sort_runs(struct held_event *a, size_t n, struct held_event *tmp)
{
	while (run_end(a, 0, n) < n) {
		for (size_t s = 0; s < n;) {
			size_t m = run_end(a, s, n);
			if (m == n)
				break;
			size_t e = run_end(a, m, n), i = s, j = m, k = 0;
			while (i < m || j < e)
				tmp[k++] = j == e || (i < m && held_cmp(&a[i], &a[j]) <= 0)
					       ? a[i++]
					       : a[j++];
			memcpy(a + s, tmp, k * sizeof(*a));
			s = e;
		}
	}
}

/* Moves the held events to the front: the ones before first are gone. */
static void held_compact(struct store_writer *w)
{
	memmove(w->held, w->held + w->first, (w->nheld - w->first) * sizeof(*w->held));
	w->nheld -= w->first;
	w->nsorted -= w->first;
	w->first = 0;
}

/* Puts the newcomers among the held events in (ts, seq) order. */
static void held_sort(struct store_writer *w)
{
	struct held_event *h = w->held;
	size_t n = w->nheld - w->nsorted;
	if (!n)
		return;
	sort_runs(h + w->nsorted, n, w->scratch);
	/*
	 * Merged into the sorted ones where they overlap: from the first
	 * held event later than the earliest newcomer (newcomers come
	 * after any held event of the same time).
	 */
	size_t lo = w->first, hi = w->nsorted;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h[mid].ts_ns <= h[w->nsorted].ts_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->nsorted) {
		/* Backwards: only the newcomers need room elsewhere. */
		memcpy(w->scratch, h + w->nsorted, n * sizeof(*h));
		size_t i = w->nsorted, j = n, k = w->nheld;
		while (j > 0)
			h[--k] = i > lo && held_cmp(&h[i - 1], &w->scratch[j - 1]) > 0
				     ? h[--i]
				     : w->scratch[--j];
	}
	w->nsorted = w->nheld;
}

/*
 * A horizon may write a million held rows at once, in one transaction
 * that a follower cannot see until it commits, by when the follower's
 * next rows have left the mirror: while the writer paces its follower
 * (store_writer_pace), it commits every PACE_COMMIT_ROWS, so that it
 * looks at the follower that often.
 */
static int pace_due(const struct store_writer *w)
{
	return w->mirror && __atomic_load_n(&w->pace_on, __ATOMIC_RELAXED) && !w->pace_gave_up &&
	       w->next_id - w->paced_at >= PACE_COMMIT_ROWS;
}

/* Writes at most max of the held events, those before ts_ns, in order. */
static int held_write(struct store_writer *w, int64_t ts_ns, size_t max)
{
	held_sort(w);
	int rc = 0;
	while (!rc && max-- && w->first < w->nheld && w->held[w->first].ts_ns < ts_ns) {
		const struct held_event *h = &w->held[w->first++];
		struct store_event e = {h->ts_ns,     h->pid,	  h->tid, h->kind,
					h->object_id, h->wait_ns, h->arg, h->stack_id};
		rc = append_event(w, &e);
		if (!rc && !(w->first & 4095) && pace_due(w))
			rc = store_writer_commit(w);
	}
	if (w->first == w->nheld) {
		w->first = w->nheld = w->nsorted = 0;
	} else if (w->first > w->cap_held / 2) {
		held_compact(w);
	}
	return rc;
}

int store_writer_horizon(struct store_writer *w, int64_t ts_ns)
{
	if (ts_ns != INT64_MAX) {
		if (ts_ns > w->promised)
			w->promised = ts_ns;
		if (w->promised >= w->unsettled_max)
			w->unsettled_from = INT64_MAX;
		ts_ns -= w->lag_ns;
	}
	return held_write(w, ts_ns, SIZE_MAX);
}

int64_t store_writer_written_to(const struct store_writer *w)
{
	return w->out_max;
}

size_t store_writer_move_held(struct store_writer *w, int64_t from_id, int64_t to_id,
			      int64_t after_ns, int64_t until_ns, int64_t *latest_ns)
{
	size_t moved = 0;
	for (size_t i = w->first; i < w->nheld; i++) {
		struct held_event *h = &w->held[i];
		if (h->object_id == from_id && h->ts_ns > after_ns && h->ts_ns <= until_ns) {
			h->object_id = to_id;
			if (h->ts_ns > *latest_ns)
				*latest_ns = h->ts_ns;
			moved++;
		}
	}
	return moved;
}

void store_writer_hold(struct store_writer *w)
{
	w->hold = 1;
}

int store_writer_event(struct store_writer *w, const struct store_event *e)
{
	if (!w->hold)
		return append_event(w, e);
	if (w->nheld == w->cap_held && w->first)
		held_compact(w);
	if (w->nheld == w->cap_held) {
		size_t cap = w->cap_held ? w->cap_held * 2 : 4096;
		size_t room = cap < NEWCOMERS_MAX ? cap : NEWCOMERS_MAX;
		struct held_event *h = NULL, *x = NULL;
		/*
		 * A hold past half its bound (an OpenSSL burst in 8 threads holds
		 * 2M events, 96 MB) while the follower is out of the mirror's
		 * reach anyway: the mirror's 40 MB make way for it.
		 */
		if (cap > HELD_MAX / 2 && w->mirror &&
		    __atomic_load_n(&w->followed_to, __ATOMIC_ACQUIRE) < w->next_id - MIRROR_ROWS)
			store_mirror_release(w->mirror);
		if (w->nheld < HELD_MAX && (h = realloc(w->held, cap * sizeof(*h))))
			w->held = h;
		if (h && (x = realloc(w->scratch, room * sizeof(*x))))
			w->scratch = x;
		if (!x) {
			/*
			 * Full (or no memory): the older half goes out, as if the horizon
			 * had passed it. The newer half stays held, so only an event
			 * older than the half written comes late, not every event that
			 * arrives while the buffer refills.
			 */
			w->forced_out++;
			if (held_write(w, INT64_MAX, (w->nheld - w->first + 1) / 2))
				return -1;
			held_compact(w);
			if (!w->cap_held)
				return append_event(w, e);
		} else {
			w->cap_held = cap;
		}
	}
	/*
	 * Older than a horizon already passed: the collector's promise was
	 * broken (a time the producer did not announce, weft_stamp()). That
	 * recurs, so hold back longer from now on. A row that comes late only
	 * behind rows a full hold forced out is not such a case: holding
	 * longer would only fill the hold sooner.
	 */
	if (e->ts_ns < w->promised) {
		int64_t lag = w->promised - e->ts_ns;
		if (lag < LAG_MAX_NS && lag + lag / 2 > w->lag_ns)
			w->lag_ns = lag + lag / 2;
	}
	if (e->stack_id < 0 || e->stack_id > UINT32_MAX) {
		snprintf(w->file_err, sizeof(w->file_err), "stack id %lld out of range",
			 (long long)e->stack_id);
		return -1;
	}
	w->held[w->nheld++] =
	    (struct held_event){e->ts_ns, e->object_id, e->wait_ns, e->arg,
				e->pid,	  e->tid,	e->kind,    (uint32_t)e->stack_id};
	if (w->nheld - w->nsorted >= NEWCOMERS_MAX)
		held_sort(w);
	return 0;
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

/*
 * Rows lo..hi in (ts, id) order. Temp tables and sorts on disk (SQLite's
 * default; the page cache holds what fits): a stretch can be as big as ev.
 * A kill during the rewrite rolls back to the unsorted, still valid ev.
 */
static int sort_stretch(struct store_writer *w, long long lo, long long hi)
{
	char *sql = sqlite3_mprintf(
	    "CREATE TEMP TABLE ev_sorted AS SELECT ts, th, kind, obj, wait, arg,"
	    " stack FROM main.ev WHERE id BETWEEN %lld AND %lld ORDER BY ts, id;"
	    "DELETE FROM main.ev WHERE id BETWEEN %lld AND %lld;"
	    "INSERT INTO main.ev(id, ts, th, kind, obj, wait, arg, stack)"
	    " SELECT %lld + rowid, ts, th, kind, obj, wait, arg, stack FROM temp.ev_sorted"
	    " ORDER BY rowid;"
	    "DROP TABLE temp.ev_sorted;",
	    lo, hi, lo, hi, lo - 1);
	/* before the rows change: a follower reads them again from the table */
	if (w->mirror)
		store_mirror_forget(w->mirror, hi);
	for (size_t i = 0; i < w->nfix; i++)
		if (w->fix[i].lo <= hi && lo <= w->fix[i].hi) {
			note_fix(w, lo, hi);
			break;
		}
	int rc = sql ? exec_sql(w->db, sql) : -1;
	sqlite3_free(sql);
	w->rows_sorted += hi - lo + 1;
	return rc;
}

/*
 * While recording: the stretches that lie far enough behind the newest row
 * that no late record is expected to join them any more are sorted now,
 * so that a follower (store_writer_follow_limit) can read past them in
 * their final order. The others wait; the end sorts what is left.
 */
static int sort_settled_stretches(struct store_writer *w)
{
	int64_t settled = w->next_id - 1 - w->follow_lag;
	size_t keep = 0;
	for (size_t i = 0; i < w->nspans; i++) {
		if (w->spans[i].hi <= settled) {
			if (sort_stretch(w, w->spans[i].lo, w->spans[i].hi))
				return -1;
		} else {
			w->spans[keep++] = w->spans[i];
		}
	}
	w->nspans = keep;
	return 0;
}

/* See PACE_GAP_ROWS; never for long, never for a follower that cannot go on. */
static void pace_follower(struct store_writer *w)
{
	if (!__atomic_load_n(&w->pace_on, __ATOMIC_RELAXED) || w->pace_gave_up ||
	    w->paced_at == w->next_id)
		return;
	w->paced_at = w->next_id;
	int64_t waited = 0;
	for (;;) {
		if (w->stop)
			return; /* a signal: the tail ends as soon as it can */
		int64_t read = __atomic_load_n(&w->followed_to, __ATOMIC_ACQUIRE);
		/* close enough; or out of the mirror already, where waiting gains nothing */
		int64_t behind = w->next_id - 1 - read;
		if (behind <= PACE_GAP_ROWS || behind > MIRROR_ROWS || w->follow_limit <= read)
			return;
		if (waited >= PACE_WAIT_MAX_NS) {
			w->pace_gave_up = 1;
			store_debug("tail",
				    "writer: no more pacing, the follower at row %lld of %lld",
				    (long long)read, (long long)(w->next_id - 1));
			return;
		}
		nanosleep(&(struct timespec){0, 100000}, NULL);
		waited += 100000;
	}
}

void store_writer_pace(struct store_writer *w, int on)
{
	__atomic_store_n(&w->pace_on, on, __ATOMIC_RELAXED);
}

void store_writer_followed(struct store_writer *w, int64_t id)
{
	__atomic_store_n(&w->followed_to, id, __ATOMIC_RELEASE);
}

int store_writer_commit(struct store_writer *w)
{
	if (w->npending && flush_events(w))
		return -1;
	if (!w->tail && w->nspans && sort_settled_stretches(w))
		return -1;
	/* Never outside a transaction: an interrupted statement may have ended it. */
	int cleared = 0;
	if (w->in_txn && !sqlite3_get_autocommit(w->db) && !w->sum_frozen) {
		if (!w->sum_broken && tally_write(w))
			w->sum_broken = 1;
		if (w->sum_broken && !w->sum_cleared)
			cleared = tally_clear(w) == 0;
	}
	if (w->in_txn && exec_sql(w->db, "COMMIT")) {
		thread_map_reset(w);
		w->sum_broken = 1;
		return -1;
	}
	if (cleared)
		w->sum_cleared = 1;
	w->in_txn = 0;
	/*
	 * Up to the lag, never into a stretch still to be sorted (spans[] is in
	 * lo order), nor to rows a full hold forced out before their time.
	 */
	int64_t limit = w->next_id - 1 - w->follow_lag;
	if (w->nspans && w->spans[0].lo - 1 < limit)
		limit = w->spans[0].lo - 1;
	if (w->unsettled_from - 1 < limit)
		limit = w->unsettled_from - 1;
	__atomic_store_n(&w->follow_limit, limit, __ATOMIC_RELEASE);
	if (exec_sql(w->db, "BEGIN"))
		return -1;
	w->in_txn = 1;
	if (w->mirror)
		pace_follower(w);
	return 0;
}

const struct store_mirror *store_writer_mirror(struct store_writer *w)
{
	if (w->mirror)
		__atomic_store_n(&w->mirror_on, 1, __ATOMIC_RELAXED);
	return w->mirror;
}

int64_t store_writer_follow_limit(struct store_writer *w)
{
	return __atomic_load_n(&w->follow_limit, __ATOMIC_ACQUIRE);
}

int64_t store_writer_take_moved(struct store_writer *w)
{
	return __atomic_exchange_n(&w->moved_pending, INT64_MAX, __ATOMIC_ACQ_REL);
}

void store_writer_rows_changed(struct store_writer *w, int64_t last_id)
{
	if (w->mirror)
		store_mirror_forget(w->mirror, last_id);
}

void store_writer_row_arg(struct store_writer *w, int64_t id, int64_t arg)
{
	if (w->mirror)
		store_mirror_set_arg(w->mirror, id, arg);
}

int store_writer_refresh_object(struct store_writer *w, int64_t object_id)
{
	note_moved(w, INT64_MIN); /* events anywhere may have changed object */
	store_writer_rows_changed(w, INT64_MAX);
	if (w->sum_broken || !object_id)
		return 0;
	for (size_t i = 0; i < w->sum_obj.cap; i++) {
		struct tally_ent *x = &w->sum_obj.e[i];
		if (!x->kind || x->key != object_id)
			continue;
		int32_t kind = x->kind, listed = x->dirty;
		memset(x, 0, sizeof(*x));
		x->key = object_id;
		x->kind = kind;
		x->first_ts = INT64_MAX;
		x->last_ts = INT64_MIN;
		x->dirty = listed; /* listed already, or listed now */
		if (tally_touch(&w->sum_obj, x))
			goto broken;
	}
	if (w->nwaits && flush_waits(w))
		goto broken;
	char *sql =
	    sqlite3_mprintf("DELETE FROM temp.lock_waits WHERE obj = %lld", (long long)object_id);
	int rc = !sql || exec_sql(w->db, sql);
	sqlite3_free(sql);
	if (rc)
		goto broken;
	/* obj <> 0: the condition of the collector's ev_by_obj index, which this reads */
	sqlite3_stmt *st = NULL;
	sql = sqlite3_mprintf("SELECT kind, wait, stack, ts, id FROM main.ev"
			      " WHERE obj = %lld AND obj <> 0 ORDER BY id",
			      (long long)object_id);
	if (!sql || sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		goto broken;
	}
	sqlite3_free(sql);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event e = {.kind = sqlite3_column_int(st, 0),
					.object_id = object_id,
					.wait_ns = sqlite3_column_int64(st, 1),
					.stack_id = sqlite3_column_int64(st, 2),
					.ts_ns = sqlite3_column_int64(st, 3)};
		int64_t wait = e.wait_ns > 0 ? e.wait_ns : 0;
		struct tally_ent *x = tally_get(&w->sum_obj, object_id, e.kind);
		if (!x || tally_touch(&w->sum_obj, x))
			break;
		tally_add(x, &e, wait, sqlite3_column_int64(st, 4));
		if (e.kind == WEFT_EV_LOCK_ACQUIRE && wait > 0) {
			w->waits[w->nwaits][0] = object_id;
			w->waits[w->nwaits][1] = wait;
			if (++w->nwaits == EVENT_ROWS && flush_waits(w))
				break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto broken;
	return 0;
broken:
	w->sum_broken = 1;
	return -1;
}

/*
 * Each lock's p90 wait, as weft report defines it: the ceil(0.9 n)-th
 * smallest wait of its n acquisitions. The uncontended ones (wait 0) are
 * the smallest, so only the contended waits, kept aside in temp.lock_waits
 * while writing, are sorted; SQLite sorts on disk past its cache, so the
 * memory stays bounded. Locks that never waited get 0.
 */
static int tally_p90(struct store_writer *w)
{
	if (w->sum_broken)
		return 0;
	if (w->nwaits && flush_waits(w))
		return -1;
	sqlite3_stmt *st = NULL, *ins = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(w->db, "SELECT obj, wait FROM temp.lock_waits ORDER BY obj, wait",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO sum_p90 VALUES(?,?)", -1, &ins,
			       NULL) != SQLITE_OK)
		goto out;
	int64_t obj = 0, pos = 0, want = -1;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t o = sqlite3_column_int64(st, 0);
		if (o != obj || !pos) {
			obj = o;
			pos = 0;
			want = -1;
			struct tally_ent *x = tally_get(&w->sum_obj, o, WEFT_EV_LOCK_ACQUIRE);
			if (!x)
				goto out;
			int64_t rank = store_p90_rank(x->events), zeros = x->events - x->waited;
			if (rank >= zeros)
				want = rank - zeros;
		}
		if (pos++ == want) {
			sqlite3_bind_int64(ins, 1, o);
			sqlite3_bind_int64(ins, 2, sqlite3_column_int64(st, 1));
			if (step_reset(w, ins))
				goto out;
		}
	}
	if (step != SQLITE_DONE)
		goto out;
	char sql[128];
	snprintf(sql, sizeof(sql),
		 "INSERT OR IGNORE INTO sum_p90 SELECT obj, 0 FROM sum_object_kind WHERE kind = %d",
		 WEFT_EV_LOCK_ACQUIRE);
	rc = exec_sql(w->db, sql);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	return rc;
}

static double mono_s(void)
{
	return store_debug_mono_ns() / 1e9;
}

/*
 * Puts ev in time order, so that rowid order is (ts, id) order: readers
 * walk time through the primary key and need no index on ts. The writer
 * holds events back to insert them in time order (store_writer_hold); a
 * record published long after its time (its thread was preempted between
 * taking the time and publishing) still comes late, and the stretch of
 * rows it belongs in is sorted here. Within a thread the writer never
 * lets time run backwards, so a thread's program order is kept. Each
 * sorted stretch goes to a temp table and back into the emptied one,
 * whose freed pages it reuses.
 */
static int sort_events(struct store_writer *w)
{
	size_t n = w->nspans;
	if (store_debug_on("finalize")) {
		long long rows = 0;
		for (size_t i = 0; i < n; i++)
			rows += w->spans[i].hi - w->spans[i].lo + 1;
		store_debug("finalize",
			    "finalize: %llu late rows (%llu forced out of a full hold), %zu"
			    " stretches out of time order, %lld rows sorted now, %lld while"
			    " recording; %.1f MB held back at most, %.1f ms past the horizons",
			    (unsigned long long)w->nlate, (unsigned long long)w->forced_out, n,
			    rows, (long long)w->rows_sorted,
			    w->cap_held * sizeof(*w->held) / 1048576.0, w->lag_ns / 1e6);
	}
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = sort_stretch(w, w->spans[i].lo, w->spans[i].hi);
	w->nspans = 0;
	return rc;
}

void store_writer_interrupt(struct store_writer *w)
{
	w->stop = 1;
	/* Safe in a signal handler: it sets a flag the running statement polls. */
	if (w->tail)
		sqlite3_interrupt(w->db);
}

int store_writer_interrupted(struct store_writer *w)
{
	return w->stop;
}

int store_writer_tail(struct store_writer *w)
{
	if (store_writer_commit(w))
		return -1;
	w->tail = 1;
	/* A signal that came before this saw no tail: stop what starts now. */
	if (w->stop)
		sqlite3_interrupt(w->db);
	return 0;
}

/*
 * After an interrupted statement: its transaction is rolled back to the
 * last commit (everything written before the tail began). Notes so in
 * meta, leaving complete unset: readers treat the trace as unfinalized.
 */
static int finalize_interrupted(struct store_writer *w)
{
	/* The interrupt lasts until no statement runs; one is needed no more. */
	sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	w->in_txn = 0;
	w->sum_frozen = 1; /* the counts in memory may include what was rolled back */
	w->npending = 0;
	w->nspans = 0;
	if (exec_sql(w->db, "BEGIN"))
		return -1;
	w->in_txn = 1;
	if (store_writer_meta(w, "interrupted", "1") || store_writer_commit(w))
		return -1;
	return 1;
}

/*
 * The end of a trace is three steps, so that weft run can read the ordered
 * events on a second connection (the viewer's tables) while the first
 * makes the findings: store_writer_order() puts ev in its final order,
 * store_writer_complete() marks it complete (still WAL: a reader is not in
 * the way), store_writer_seal() folds the WAL into the one file once no
 * other connection is open. ev has no index but its rowid: maintaining
 * one while recording would halve the insert rate, and building one at
 * the end cost 0.2 s per million events of the tail and 10 bytes per
 * event. Time is found through the rowid (store_event_at), a thread's
 * events through the blocks of ids the follower lists for it
 * (store_thread_events), per-object reads are rare enough to scan. Each
 * step commits before the next, so that an interruption
 * (store_writer_interrupt) loses only the step it stops.
 */
int store_writer_order(struct store_writer *w)
{
	if (store_writer_horizon(w, INT64_MAX) || store_writer_tail(w))
		return w->stop ? finalize_interrupted(w) : -1;
	w->fin_start = mono_s();
	if (w->stop || sort_events(w) || store_writer_commit(w))
		return w->stop ? finalize_interrupted(w) : -1;
	if (w->stop || tally_p90(w) || store_writer_commit(w))
		return w->stop ? finalize_interrupted(w) : -1;
	w->fin_ordered = mono_s();
	return 0;
}

int store_writer_complete(struct store_writer *w)
{
	double ts = mono_s();
	/*
	 * The findings run beside the follower's last passes: a smaller cache
	 * than recording's keeps the two within weft's memory bound.
	 */
	if (w->stop ||
	    exec_sql(w->db, "PRAGMA cache_size=-24576;"
			    "DROP INDEX IF EXISTS ev_by_obj;")) /* the collector's, for its fixes */
		return w->stop ? finalize_interrupted(w) : -1;
	/*
	 * The viewer's derived tables are not part of the file: they would more
	 * than double it (36 bytes per event on the lock microbenchmark against
	 * 32 for the events and their index). They go to TRACE-view
	 * (docs/DERIVED.md).
	 */
	if (w->stop || store_writer_meta(w, "complete", "1") || store_writer_commit(w))
		return w->stop ? finalize_interrupted(w) : -1;
	/* What follows (the findings) makes its own transactions. */
	if (w->in_txn && exec_sql(w->db, "COMMIT"))
		return -1;
	w->in_txn = 0;
	w->fin_index_s += mono_s() - ts;
	return 0;
}

int store_writer_seal(struct store_writer *w)
{
	double t2 = mono_s();
	if (w->in_txn && exec_sql(w->db, "COMMIT"))
		return -1;
	w->in_txn = 0;
	/*
	 * One self-contained file for the user to copy around. The rollback
	 * journal later transactions need is made here, ours, and TRUNCATE
	 * keeps it (empty) rather than unlinking and re-creating it at every
	 * commit, until store_writer_close() removes it. Not interrupted: a
	 * stopped checkpoint still leaves a valid trace, and closing retries.
	 */
	if (!w->made_journal) {
		if (store_files_create(w->path, "-journal", w->file_err, sizeof(w->file_err)))
			return -1;
		w->made_journal = 1;
	}
	if (exec_sql(w->db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=TRUNCATE;"))
		return w->stop ? 0 : -1;
	/* bench/run.sh reads this line: the finalize cost per part. */
	store_debug("finalize",
		    "finalize: time order %.2f s, indexes %.2f s, checkpoint %.2f s, total %.2f s",
		    w->fin_ordered - w->fin_start, w->fin_index_s, mono_s() - t2,
		    w->fin_ordered - w->fin_start + w->fin_index_s + mono_s() - t2);
	return 0;
}

int store_writer_finalize(struct store_writer *w)
{
	int rc = store_writer_order(w);
	if (rc == 0)
		rc = store_writer_complete(w);
	return rc == 0 ? store_writer_seal(w) : rc;
}

const char *store_writer_error(struct store_writer *w)
{
	if (w && w->file_err[0])
		return w->file_err;
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
	if (w->st[ST_EVENT])
		store_writer_horizon(w, INT64_MAX);
	if (w->npending && w->st[ST_EVENT])
		flush_events(w);
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(w->st[i]);
	if (w->db) {
		if (w->in_txn)
			exec_sql(w->db, "COMMIT");
		sqlite3_close(w->db);
	}
	if (w->made_journal)
		store_files_remove_own(w->path, "-journal");
	store_mirror_free(w->mirror);
	free(w->path);
	free(w->thmap);
	free(w->held);
	free(w->scratch);
	free(w->bmax);
	free(w->spans);
	free(w->sum_th.e);
	free(w->sum_th.dirty);
	free(w->sum_obj.e);
	free(w->sum_obj.dirty);
	free(w->sum_thr);
	free(w);
}
