/*
 * The viewer's data access. Everything a frame needs goes through the
 * derived tables' (key, end_ns) indexes: per lane one range read whose
 * length is bounded by the number of screen columns, never by the trace.
 */
#include "ui/ui.h"
#include "store/store.h"
#include "store/store_holds.h"
#include "store/store_util.h"
#include "store/store_viewcache.h"
#include "tracer/cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	Q_SPANS,
	Q_TSUM,
	Q_OSPANS,
	Q_OSUM,
	Q_MARKS,
	Q_STATE_AT,
	Q_OHOLDS,
	Q_OSPANS_BEFORE,
	Q_HOLDS_BEFORE,
	Q_HOLD_START,
	Q_OLONG,
	Q_OLONG_BEFORE,
	Q_EVENT,
	Q__COUNT
};

static const char *const q_sql[Q__COUNT] = {
    [Q_SPANS] = "SELECT start_ns, end_ns, state, 0 FROM thread_spans"
		" WHERE pid=?1 AND tid=?2 AND end_ns>?3 ORDER BY end_ns",
    [Q_TSUM] = "SELECT start_ns, end_ns, state, mixed FROM thread_summary"
	       " WHERE level=?4 AND pid=?1 AND tid=?2 AND end_ns>?3 ORDER BY end_ns",
    [Q_OSPANS] = "SELECT start_ns, end_ns, holder_tid, holders, waiters FROM object_spans"
		 " WHERE object_id=?1 AND end_ns>?2 ORDER BY end_ns",
    [Q_OSUM] = "SELECT start_ns, end_ns, holder_tid, mixed, max_waiters FROM object_summary"
	       " WHERE level=?3 AND object_id=?1 AND end_ns>?2 ORDER BY end_ns",
    [Q_MARKS] = "SELECT ts_ns, kind FROM point_events WHERE pid=?1 AND tid=?2"
		" AND ts_ns>=?3 AND ts_ns<?4 ORDER BY ts_ns LIMIT 4000",
    [Q_STATE_AT] = "SELECT start_ns, state, object_id, end_ns FROM thread_spans"
		   " WHERE pid=?1 AND tid=?2 AND end_ns>?3 ORDER BY end_ns LIMIT 1",
    /* the holds overlapping [?4, ?3), each started at most hold_reach() before ?4 (?2) */
    [Q_OHOLDS] = "SELECT start_ns, end_ns, tid FROM object_holds WHERE object_id=?1"
		 " AND start_ns>=?2 AND start_ns<?3 AND end_ns>?4 AND end_ns>start_ns"
		 " ORDER BY start_ns, end_ns, tid",
    [Q_OSPANS_BEFORE] = "SELECT holder_tid, end_ns FROM object_spans WHERE object_id=?1"
			" AND end_ns<=?2 AND holder_tid<>0 AND holder_tid<>?3"
			" ORDER BY end_ns DESC LIMIT 1",
    /* ?3, the asking thread, is skipped by the reader (ui_model_previous_owner) */
    [Q_HOLDS_BEFORE] = "SELECT tid, end_ns, start_ns FROM object_holds WHERE object_id=?1"
		       " AND start_ns<=?2 AND end_ns<=?2 AND ?3 IS NOT NULL ORDER BY start_ns DESC",
    /* the long holds of one shift (store_derive.c OCC_LONG_HOLD_SHIFT) in bins ?3..?4 over [?5, ?6)
     */
    [Q_OLONG] = "SELECT start_ns, end_ns, tid FROM object_long_holds WHERE object_id=?1"
		" AND shift=?2 AND bin>=?3 AND bin<=?4 AND end_ns>?5 AND start_ns<?6",
    [Q_OLONG_BEFORE] = "SELECT tid, end_ns FROM object_long_holds WHERE object_id=?1"
		       " AND end_ns<=?2 AND tid<>?3 ORDER BY end_ns DESC LIMIT 1",
    [Q_HOLD_START] = "SELECT start_ns, end_ns FROM object_holds WHERE object_id=?1 AND tid=?2"
		     " AND start_ns<=?3 ORDER BY start_ns DESC LIMIT 64",
    [Q_EVENT] = "SELECT e.id, e.ts, t.pid, t.tid, k.name, e.obj, e.wait, e.arg, e.stack"
		" FROM ev e JOIN thread_no t ON t.th=e.th LEFT JOIN event_kind k ON k.kind=e.kind"
		" WHERE e.id=?1",
};

void ui_sanitize_col(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	weft_sanitize(t ? (const char *)t : "", out, len);
}

/* 0 when no table or view has that name, 1 when main has it, 2 when temp has it. */
static int table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(
		db,
		"SELECT 2 FROM sqlite_temp_master WHERE name=?1 UNION ALL"
		" SELECT 1 FROM sqlite_master WHERE name=?1 AND type IN ('table','view')",
		-1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			found = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return found;
}

/* "/usr/local/bin/prog -x" -> "prog -x": lanes are narrow, the program name matters. */
static void short_argv0(char *argv)
{
	char *end = strchr(argv, ' ');
	if (!end)
		end = argv + strlen(argv);
	char *slash = NULL;
	for (char *p = argv; p < end; p++)
		if (*p == '/')
			slash = p;
	if (slash && slash + 1 < end)
		memmove(argv, slash + 1, strlen(slash + 1) + 1);
}

/*
 * Thread n's label: one letter for the first 52 (A..Z, a..z), then two
 * (AA..zz), then three: unique for 143,364 threads and never a digit,
 * which object lanes use for queue lengths.
 */
static void thread_label(int n, struct ui_thread *t)
{
	static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const int nl = (int)sizeof(letters) - 1;
	if (n < nl)
		snprintf(t->label, sizeof(t->label), "%c", letters[n]);
	else if (n < nl + nl * nl)
		snprintf(t->label, sizeof(t->label), "%c%c", letters[(n - nl) / nl],
			 letters[(n - nl) % nl]);
	else {
		int k = (n - nl - nl * nl) % (nl * nl * nl);
		snprintf(t->label, sizeof(t->label), "%c%c%c", letters[k / (nl * nl)],
			 letters[k / nl % nl], letters[k % nl]);
	}
	/* an object lane has one column per instant: '*' says "see the lane's label" */
	t->letter = t->label[1] ? '*' : t->label[0];
}

static int by_object_id(const void *a, const void *b, void *ctx)
{
	const struct ui_model *m = ctx;
	int64_t x = m->objs[*(const int *)a].id, y = m->objs[*(const int *)b].id;
	return x < y ? -1 : x > y;
}

/* The index in objs of the object with this id, or -1. */
static int object_index(const struct ui_model *m, int64_t id)
{
	int lo = 0, hi = m->nobjs;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (m->objs[m->objs_by_id[mid]].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nobjs && m->objs[m->objs_by_id[lo]].id == id ? m->objs_by_id[lo] : -1;
}

/* objs_by_id: ui_model_object was a scan of objs, once per object per redraw. */
static int index_objects(struct ui_model *m)
{
	free(m->objs_by_id);
	if (!(m->objs_by_id = malloc((size_t)(m->nobjs ? m->nobjs : 1) * sizeof(int))))
		return -1;
	for (int i = 0; i < m->nobjs; i++)
		m->objs_by_id[i] = i;
	qsort_r(m->objs_by_id, (size_t)m->nobjs, sizeof(int), by_object_id, m);
	return 0;
}

/*
 * Each object's active window, from the writer's per-object summaries
 * (sum_object_kind, exact in a complete trace): every hold ends at a
 * release and every wait at its object's event, so both lie between the
 * object's first event less its longest wait and its last event, unless a
 * hold was never released (more acquisitions than releases, of a lock or
 * the GIL) or a wait never ended (a lock.wait, which a wait still blocked
 * at the end leaves last): then it lasts to the end. ui_model_object_at
 * answers "nothing" outside it without reading: the state panel asked it
 * for every object at every redraw (50 ms for the OpenSSL burst's 2 376
 * locks). Read at the first such question, not at open: 10 ms of the
 * burst's first frame.
 */
static void read_active_windows(struct ui_model *m)
{
	if (m->windows_read)
		return;
	m->windows_read = 1;
	if (store_summaries_exact(m->db) != 1)
		return;
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT obj, min(first_ts - max_wait), max(last_ts),"
		 " sum(CASE WHEN kind IN (%d, %d) THEN events WHEN kind IN (%d, %d) THEN -events"
		 " ELSE 0 END), sum(kind = %d) FROM sum_object_kind GROUP BY obj",
		 WEFT_EV_LOCK_ACQUIRE, WEFT_EV_GIL_ACQUIRE, WEFT_EV_LOCK_RELEASE,
		 WEFT_EV_GIL_RELEASE, WEFT_EV_LOCK_WAIT);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return; /* an older trace: no windows, every object read */
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		int k = object_index(m, sqlite3_column_int64(st, 0));
		if (k < 0)
			continue;
		struct ui_object *o = &m->objs[k];
		o->active_lo = sqlite3_column_int64(st, 1);
		o->active_hi = sqlite3_column_int64(st, 3) > 0 || sqlite3_column_int(st, 4)
				   ? INT64_MAX
				   : sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
}

static int load_lists(struct ui_model *m, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, n = 0;
	/* Processes, including any that only appear through their threads. */
	if (sqlite3_prepare_v2(
		m->db,
		"SELECT pid, ppid, argv, start_ns, end_ns, exit_code, exit_signal, name FROM proc"
		" UNION ALL SELECT pid, NULL, NULL, min(start_ns), NULL, NULL, NULL, NULL"
		" FROM thread_life WHERE pid NOT IN (SELECT pid FROM proc) GROUP BY pid"
		" ORDER BY 4, 1",
		-1, &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ui_process *p = realloc(m->procs, (size_t)(n + 1) * sizeof(*p));
		if (!p)
			goto out;
		m->procs = p;
		p = &m->procs[n++];
		memset(p, 0, sizeof(*p));
		p->pid = sqlite3_column_int(st, 0);
		p->ppid = sqlite3_column_int(st, 1);
		ui_sanitize_col(st, 2, p->argv, sizeof(p->argv));
		short_argv0(p->argv);
		p->start = sqlite3_column_int64(st, 3);
		p->end = sqlite3_column_type(st, 4) == SQLITE_NULL ? m->end_ns
								   : sqlite3_column_int64(st, 4);
		p->has_exit = sqlite3_column_type(st, 5) != SQLITE_NULL ||
			      sqlite3_column_type(st, 6) != SQLITE_NULL;
		p->exit_code = sqlite3_column_int64(st, 5);
		p->exit_signal = sqlite3_column_int64(st, 6);
		ui_sanitize_col(st, 7, p->name, sizeof(p->name));
		m->nprocs = n;
	}
	sqlite3_finalize(st);
	st = NULL;
	n = 0;
	/*
	 * Threads as the derived tables saw them: a killed tracer may have
	 * recorded events of threads it never wrote a threads row for.
	 */
	if (sqlite3_prepare_v2(m->db,
			       "SELECT l.pid, l.tid, coalesce(t.name, ''), l.start_ns, l.end_ns"
			       " FROM thread_life l LEFT JOIN thr t ON t.pid=l.pid AND t.tid=l.tid"
			       " ORDER BY l.pid, l.start_ns, l.tid",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ui_thread *t = realloc(m->threads, (size_t)(n + 1) * sizeof(*t));
		if (!t)
			goto out;
		m->threads = t;
		t = &m->threads[n];
		memset(t, 0, sizeof(*t));
		t->pid = sqlite3_column_int(st, 0);
		t->tid = sqlite3_column_int(st, 1);
		ui_sanitize_col(st, 2, t->name, sizeof(t->name));
		if (!t->name[0])
			snprintf(t->name, sizeof(t->name), "thread-%d", t->tid);
		t->start = sqlite3_column_int64(st, 3);
		t->end = sqlite3_column_int64(st, 4);
		thread_label(n, t);
		if ((int)strlen(t->label) > m->label_w)
			m->label_w = (int)strlen(t->label);
		m->nthreads = ++n;
	}
	sqlite3_finalize(st);
	st = NULL;
	n = 0;
	/* Objects worth a lane: anything held or waited for, most waited-for first. */
	if (sqlite3_prepare_v2(
		m->db,
		"SELECT o.object_id, o.pid, coalesce(k.name, '?'), o.name, s.acquires,"
		" s.contended, s.wait_ns, s.max_wait_ns, s.max_wait_event,"
		" s.max_hold_ns, o.kind FROM object_stats s JOIN obj o USING(object_id)"
		" LEFT JOIN object_kind k ON k.kind=o.kind"
		" ORDER BY s.wait_ns DESC, o.object_id",
		-1, &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ui_object *o = realloc(m->objs, (size_t)(n + 1) * sizeof(*o));
		if (!o)
			goto out;
		m->objs = o;
		o = &m->objs[n];
		memset(o, 0, sizeof(*o));
		o->id = sqlite3_column_int64(st, 0);
		o->pid = sqlite3_column_int(st, 1);
		ui_sanitize_col(st, 2, o->kind, sizeof(o->kind));
		ui_sanitize_col(st, 3, o->name, sizeof(o->name));
		if (!o->name[0])
			snprintf(o->name, sizeof(o->name), "%s#%lld", o->kind, (long long)o->id);
		o->acquires = sqlite3_column_int64(st, 4);
		o->contended = sqlite3_column_int64(st, 5);
		o->wait_ns = sqlite3_column_int64(st, 6);
		o->max_wait = sqlite3_column_int64(st, 7);
		o->max_wait_event = sqlite3_column_int64(st, 8);
		o->max_hold = sqlite3_column_int64(st, 9);
		o->kind_code = sqlite3_column_int(st, 10);
		o->active_lo = INT64_MIN;
		o->active_hi = INT64_MAX;
		m->nobjs = ++n;
	}
	rc = index_objects(m);
out:
	if (rc)
		snprintf(err, errlen, "%s: cannot load the trace: %s", m->path,
			 sqlite3_errmsg(m->db));
	sqlite3_finalize(st);
	return rc;
}

/*
 * A thread's recorded end is its exit, or else its last event: one blocked
 * where weft sees nothing (a join that never returned, a read) would look
 * dead from there. Such a thread lives, silent, until its process ends.
 */
static void load_silent_ends(struct ui_model *m)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db,
			       "SELECT 1 FROM point_events WHERE pid=?1 AND tid=?2 AND kind=?3"
			       " LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_bind_int(st, 3, WEFT_EV_THREAD_EXIT);
	for (int i = 0; i < m->nthreads; i++) {
		struct ui_thread *t = &m->threads[i];
		t->silent_to = t->end;
		sqlite3_bind_int(st, 1, t->pid);
		sqlite3_bind_int(st, 2, t->tid);
		int exited = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
		for (int p = 0; p < m->nprocs && !exited; p++)
			if (m->procs[p].pid == t->pid && m->procs[p].end > t->end)
				t->silent_to = m->procs[p].end;
	}
	sqlite3_finalize(st);
}

int ui_model_open(struct ui_model *m, const char *path, char *err, size_t errlen)
{
	char e2[512];
	memset(m, 0, sizeof(*m));
	weft_sanitize(path, m->path, sizeof(m->path));
	m->db = store_open_read(path, e2, sizeof(e2));
	if (!m->db) {
		weft_sanitize(e2, err, errlen);
		return -1;
	}
	int64_t v = 0;
	m->complete =
	    store_query_int64(m->db, "SELECT value FROM meta WHERE key='complete'", &v) == 0 &&
	    v == 1;
	m->time_ordered = store_events_time_ordered(m->db);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db, "SELECT value FROM meta WHERE key='command'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ui_sanitize_col(st, 0, m->command, sizeof(m->command));
	sqlite3_finalize(st);
	/* Derived tables in temp live in memory up to the page cache, then a temp file. */
	sqlite3_exec(m->db, "PRAGMA cache_size=-65536; PRAGMA temp.cache_size=-262144", NULL, NULL,
		     NULL);
	/*
	 * A finalized trace's derived tables come from its cache (else they are
	 * built now and saved there); a killed tracer's trace, which may still
	 * be growing, gets them in temp each time.
	 */
	struct store_view_cache cache;
	if (store_view_cache_open(m->db, path, m->complete, &cache, e2, sizeof(e2)) < 0) {
		/* A file planted at TRACE-view is refused, not ignored: someone interferes. */
		weft_sanitize(e2, err, errlen);
		return -1;
	}
	if (sqlite3_exec(m->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    store_build_derived(m->db, e2, sizeof(e2)) != 0) {
		snprintf(err, errlen, "%s: cannot analyse the trace: %s", m->path, e2);
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);
	m->derived_here = table_exists(m->db, "derived_info") == 2;
	if (m->derived_here && m->complete)
		store_view_cache_save(m->db, cache.path, cache.key);
	if (store_query_int64(m->db, "SELECT value FROM derived_info WHERE key='events'",
			      &m->events) ||
	    store_query_int64(m->db, "SELECT value FROM derived_info WHERE key='end_ns'",
			      &m->end_ns)) {
		snprintf(err, errlen, "%s: derived tables are incomplete", m->path);
		return -1;
	}
	int64_t l0 = 15, step = 2, levels = 0;
	store_query_int64(m->db, "SELECT value FROM derived_info WHERE key='level0_shift'", &l0);
	store_query_int64(m->db, "SELECT value FROM derived_info WHERE key='level_step_shift'",
			  &step);
	store_query_int64(m->db, "SELECT value FROM derived_info WHERE key='levels'", &levels);
	int64_t lh = 62;
	store_query_int64(m->db, "SELECT value FROM derived_info WHERE key='long_hold_shift'", &lh);
	m->long_hold_shift = (int)lh;
	m->long_hold = lh < 62 ? (int64_t)1 << lh : INT64_MAX / 4;
	m->level0_shift = (int)l0;
	m->level_step_shift = (int)step;
	m->levels = (int)levels;
	m->has_findings = table_exists(m->db, "findings") != 0;
	m->nfindings = 0;
	if (m->has_findings)
		store_query_int64(m->db, "SELECT count(*) FROM findings", &m->nfindings);
	/* A trace written by another version may lack what this needs: then no marks, no error. */
	if (m->has_findings &&
	    sqlite3_prepare_v3(
		m->db,
		"SELECT ts_ns FROM finding_items WHERE pid=?1 AND tid=?2 AND ts_ns>=?3"
		" AND ts_ns<?4 AND event_id IS NOT NULL LIMIT 4000",
		-1, SQLITE_PREPARE_PERSISTENT, &m->finding_marks, NULL) != SQLITE_OK)
		m->finding_marks = NULL;
	if (load_lists(m, err, errlen))
		return -1;
	load_silent_ends(m);
	m->blame = store_blame_reader_open(m->db);
	for (int i = 0; i < Q__COUNT; i++) {
		if (!m->blame || sqlite3_prepare_v3(m->db, q_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
						    &m->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: unexpected trace layout: %s", m->path,
				 sqlite3_errmsg(m->db));
			return -1;
		}
	}
	return 0;
}

void ui_model_close(struct ui_model *m)
{
	for (size_t i = 0; i < sizeof(m->st) / sizeof(m->st[0]); i++)
		sqlite3_finalize(m->st[i]);
	sqlite3_finalize(m->finding_marks);
	store_blame_reader_close(m->blame);
	if (m->db)
		sqlite3_close(m->db);
	free(m->procs);
	free(m->threads);
	free(m->objs);
	free(m->objs_by_id);
	free(m->acc);
	free(m->segs);
	free(m->act);
	free(m->longs);
	memset(m, 0, sizeof(*m));
}

/* The coarsest summary level whose buckets are no wider than dt, or -1 for raw rows. */
static int pick_level(const struct ui_model *m, int64_t dt)
{
	int best = -1;
	for (int l = 0; l < m->levels; l++)
		if (((int64_t)1 << (m->level0_shift + m->level_step_shift * l)) <= dt)
			best = l;
	return best;
}

static int64_t *acc_get(struct ui_model *m, int w, int nv)
{
	if (m->acc_cols < w * nv) {
		free(m->acc);
		m->acc = malloc((size_t)w * (size_t)nv * sizeof(*m->acc));
		m->acc_cols = m->acc ? w * nv : 0;
	}
	if (m->acc)
		memset(m->acc, 0, (size_t)w * (size_t)nv * sizeof(*m->acc));
	return m->acc;
}

/* Adds [a, b) to the per-column accumulators of value slot v. */
static void acc_add(int64_t *acc, int nv, int64_t t0, int64_t dt, int w, int64_t a, int64_t b,
		    int v)
{
	int64_t end = t0 + dt * w;
	if (a < t0)
		a = t0;
	if (b > end)
		b = end;
	if (b <= a)
		return;
	int c0 = (int)((a - t0) / dt), c1 = (int)((b - 1 - t0) / dt);
	for (int c = c0; c <= c1 && c < w; c++) {
		int64_t cs = t0 + dt * c, ce = cs + dt;
		int64_t o = (b < ce ? b : ce) - (a > cs ? a : cs);
		if (o > 0)
			acc[(size_t)c * nv + v] += o;
	}
}

int ui_model_thread_cells(struct ui_model *m, const struct ui_thread *t, int64_t t0, int64_t dt,
			  int w, unsigned char *state, unsigned char *mixed)
{
	if (w <= 0 || dt <= 0)
		return 0;
	int level = pick_level(m, dt);
	sqlite3_stmt *st = m->st[level < 0 ? Q_SPANS : Q_TSUM];
	int64_t *acc = acc_get(m, w, UI_ST_COUNT);
	if (!acc)
		return -1;
	memset(mixed, 0, (size_t)w);
	int64_t end = t0 + dt * w;
	sqlite3_bind_int(st, 1, t->pid);
	sqlite3_bind_int(st, 2, t->tid);
	sqlite3_bind_int64(st, 3, t0);
	if (level >= 0)
		sqlite3_bind_int(st, 4, level);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t a = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);
		if (a >= end)
			break; /* rows are disjoint, so end order is start order */
		int s = sqlite3_column_int(st, 2);
		if (s < 0 || s >= UI_ST_COUNT)
			s = UI_ST_WAIT;
		acc_add(acc, UI_ST_COUNT, t0, dt, w, a, b, s);
		if (sqlite3_column_int(st, 3)) {
			int c0 = a < t0 ? 0 : (int)((a - t0) / dt);
			int c1 = (int)(((b < end ? b : end) - 1 - t0) / dt);
			for (int c = c0; c <= c1 && c < w; c++)
				mixed[c] = 1;
		}
	}
	sqlite3_reset(st);
	for (int c = 0; c < w; c++) {
		int64_t *a = &acc[(size_t)c * UI_ST_COUNT];
		int best = UI_ST_NOT_ALIVE, n = 0;
		for (int s = 1; s < UI_ST_COUNT; s++) {
			if (!a[s])
				continue;
			n++;
			if (best == UI_ST_NOT_ALIVE || a[s] > a[best])
				best = s;
		}
		state[c] = (unsigned char)best;
		if (n > 1)
			mixed[c] = 1;
	}
	return 0;
}

/*
 * How far before a time the holds covering it began, as far as a reader
 * of object_holds must look: the object's longest hold, but no further
 * than long_hold; a longer one is in object_long_holds too
 * (store_derive.c OCC_LONG_HOLD_SHIFT).
 */
static int64_t hold_reach(const struct ui_model *m, const struct ui_object *o)
{
	int64_t reach = o ? o->max_hold : INT64_MAX / 4;
	return reach < m->long_hold ? reach : m->long_hold;
}

/* Where occ_pieces' merge of hold pieces with the segments stands. */
struct occ_merge {
	int n;	  /* segments read */
	int next; /* segs[next]: the first not passed on yet */
	int k;	  /* segs[k]: the first ending after the current piece's start */
	int64_t t0;
	int (*each)(void *ctx, const struct ui_occ_piece *p);
	void *ctx;
};

/* Passes on the segments before p, then p's stretches between the segments that cover some of it.
 */
static int occ_merge_piece(struct ui_model *m, struct occ_merge *g, struct ui_occ_piece p)
{
	int rc = 0;
	int64_t a = p.start, b = p.end;
	while (g->k < g->n && m->segs[g->k].end <= a)
		g->k++;
	for (int j = g->k; !rc && a < b; j++) {
		int64_t cut = j < g->n && m->segs[j].start < b ? m->segs[j].start : b;
		/* before t0 the segments were not read: only the part from t0 is sure */
		int64_t from = a < g->t0 ? g->t0 : a;
		if (from < cut) {
			while (!rc && g->next < g->n && m->segs[g->next].start < from)
				rc = g->each(g->ctx, &m->segs[g->next++]);
			p.start = from;
			p.end = cut;
			if (!rc)
				rc = g->each(g->ctx, &p);
		}
		if (cut == b)
			break;
		a = m->segs[j].end;
	}
	return rc;
}

static int long_cmp(const void *a, const void *b)
{
	const struct ui_hold *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/*
 * Into m->longs, in (start, end, thread) order: obj's holds overlapping
 * [t0, t1) that began before `before` (those object_holds' read of the
 * window leaves out), from object_long_holds' bins. Returns their number,
 * or -1 without memory.
 */
static int long_holds(struct ui_model *m, int64_t obj, int64_t t0, int64_t t1, int64_t before)
{
	sqlite3_stmt *st = m->st[Q_OLONG];
	int n = 0;
	const struct ui_object *o = ui_model_object(m, obj);
	int64_t longest = o ? o->max_hold : INT64_MAX / 4, until = t1 < before ? t1 : before;
	for (int shift = m->long_hold_shift + 1;
	     shift < 62 && ((int64_t)1 << (shift - 1)) < longest; shift++) {
		sqlite3_bind_int64(st, 1, obj);
		sqlite3_bind_int(st, 2, shift);
		sqlite3_bind_int64(st, 3, (t0 - ((int64_t)1 << shift)) >> shift);
		sqlite3_bind_int64(st, 4, until >> shift);
		sqlite3_bind_int64(st, 5, t0);
		sqlite3_bind_int64(st, 6, until);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct ui_hold *g =
			    store_grow(m->longs, &m->longs_cap, (size_t)n, sizeof(*g));
			if (!g) {
				sqlite3_reset(st);
				return -1;
			}
			m->longs = g;
			m->longs[n++] = (struct ui_hold){sqlite3_column_int64(st, 0),
							 sqlite3_column_int64(st, 1),
							 sqlite3_column_int(st, 2)};
		}
		sqlite3_reset(st);
	}
	if (n > 1)
		qsort(m->longs, (size_t)n, sizeof(*m->longs), long_cmp);
	return n;
}

/* The holds of a sweep in start order: the window's long holds, then object_holds' rows. */
struct hold_source {
	const struct ui_hold *longs;
	int nlong, li;
	sqlite3_stmt *st;
	int row; /* st is on a row */
	struct ui_hold cur;
};

/* The next hold into src->cur, not taken yet: 0 when none is left. */
static int hold_peek(struct hold_source *src)
{
	if (src->li < src->nlong) {
		src->cur = src->longs[src->li];
		return 1;
	}
	if (!src->row)
		return 0;
	src->cur =
	    (struct ui_hold){sqlite3_column_int64(src->st, 0), sqlite3_column_int64(src->st, 1),
			     sqlite3_column_int(src->st, 2)};
	return 1;
}

static void hold_take(struct hold_source *src)
{
	if (src->li < src->nlong)
		src->li++;
	else
		src->row = sqlite3_step(src->st) == SQLITE_ROW;
}

/*
 * Calls each(ctx, piece) for obj's occupancy over [t0, t1), in time order,
 * until it returns nonzero (a piece's stretch before t0 is cut off).
 * object_spans keeps only the stretches with threads queued (store_derive.c's
 * occ_emit); everywhere else the holds in object_holds say it all: a sweep
 * over those of the window gives the number of holders and the most recent
 * one, releases before acquires at one instant, as the derived pass counts.
 * Returns 1 when each stopped, 0 at the end, -1 without memory.
 */
static int occ_pieces(struct ui_model *m, int64_t obj, int64_t t0, int64_t t1,
		      int (*each)(void *ctx, const struct ui_occ_piece *p), void *ctx)
{
	sqlite3_stmt *st = m->st[Q_OSPANS];
	struct occ_merge g = {.t0 = t0, .each = each, .ctx = ctx};
	int rc = 0;
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, t0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t a = sqlite3_column_int64(st, 0);
		if (a >= t1)
			break; /* disjoint: end order is start order */
		struct ui_occ_piece *s = store_grow(m->segs, &m->segs_cap, (size_t)g.n, sizeof(*s));
		if (!s) {
			sqlite3_reset(st);
			return -1;
		}
		m->segs = s;
		m->segs[g.n++] = (struct ui_occ_piece){a,
						       sqlite3_column_int64(st, 1),
						       sqlite3_column_int(st, 2),
						       sqlite3_column_int(st, 3),
						       sqlite3_column_int(st, 4),
						       0};
	}
	sqlite3_reset(st);
	const struct ui_object *o = ui_model_object(m, obj);
	int64_t from = t0 - hold_reach(m, o);
	/* the holds in start order: the long ones begun before from, then object_holds' */
	int nlong = long_holds(m, obj, t0, t1, from);
	if (nlong < 0)
		return -1;
	st = m->st[Q_OHOLDS];
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, t1);
	sqlite3_bind_int64(st, 4, t0);
	struct hold_source src = {m->longs, nlong, 0, st, sqlite3_step(st) == SQLITE_ROW, {0}};
	/* m->act: the holds in force, in the order they were taken */
	int na = 0;
	int64_t cur = INT64_MIN;
	while (!rc && cur < t1) {
		int64_t next_start = hold_peek(&src) ? src.cur.start : INT64_MAX;
		int64_t next_end = INT64_MAX;
		for (int i = 0; i < na; i++)
			if (m->act[i].end < next_end)
				next_end = m->act[i].end;
		int64_t x = next_start < next_end ? next_start : next_end;
		if (x == INT64_MAX)
			break;
		if (na && cur < x)
			rc = occ_merge_piece(m, &g,
					     (struct ui_occ_piece){cur, x < t1 ? x : t1,
								   m->act[na - 1].tid, na, 0, 0});
		cur = x;
		int kept = 0;
		for (int i = 0; i < na; i++)
			if (m->act[i].end > x)
				m->act[kept++] = m->act[i];
		na = kept;
		while (!rc && hold_peek(&src) && src.cur.start <= x) {
			struct ui_hold_end *a =
			    store_grow(m->act, &m->act_cap, (size_t)na, sizeof(*a));
			if (!a) {
				rc = -1;
				break;
			}
			m->act = a;
			m->act[na++] = (struct ui_hold_end){src.cur.end, src.cur.tid};
			hold_take(&src);
		}
	}
	sqlite3_reset(st);
	while (!rc && g.next < g.n)
		rc = each(ctx, &m->segs[g.next++]);
	return rc;
}

/* The columns an object lane is drawn into, and what each piece adds to them. */
struct object_cells {
	int64_t t0, dt, end, *acc;
	int w;
	int32_t *holder;
	unsigned char *mixed, *waiters;
};

static int object_cells_add(void *ctx, const struct ui_occ_piece *p)
{
	struct object_cells *x = ctx;
	int64_t ca = p->start < x->t0 ? x->t0 : p->start, cb = p->end > x->end ? x->end : p->end;
	if (cb <= ca)
		return 0;
	int c0 = (int)((ca - x->t0) / x->dt), c1 = (int)((cb - 1 - x->t0) / x->dt);
	for (int c = c0; c <= c1 && c < x->w; c++) {
		int64_t cs = x->t0 + x->dt * c, ce = cs + x->dt;
		int64_t o = (cb < ce ? cb : ce) - (ca > cs ? ca : cs);
		if (p->waiters > x->waiters[c])
			x->waiters[c] = (unsigned char)(p->waiters > 255 ? 255 : p->waiters);
		if (p->mixed)
			x->mixed[c] = 1;
		if (!p->holder)
			continue;
		if (x->holder[c] && x->holder[c] != p->holder)
			x->mixed[c] = 1;
		/* the longest single holder wins; a column seldom has more than a few */
		if (o > x->acc[(size_t)c * 2]) {
			x->acc[(size_t)c * 2] = o;
			x->holder[c] = p->holder;
		}
	}
	return 0;
}

int ui_model_object_cells(struct ui_model *m, int64_t obj, int64_t t0, int64_t dt, int w,
			  int32_t *holder, unsigned char *mixed, unsigned char *waiters)
{
	if (w <= 0 || dt <= 0)
		return 0;
	int level = pick_level(m, dt);
	/* per column: the holder with the most time so far and its time, plus free time */
	int64_t *acc = acc_get(m, w, 2);
	if (!acc)
		return -1;
	struct object_cells x = {t0, dt, t0 + dt * w, acc, w, holder, mixed, waiters};
	memset(mixed, 0, (size_t)w);
	memset(waiters, 0, (size_t)w);
	for (int c = 0; c < w; c++)
		holder[c] = 0;
	if (level < 0)
		return occ_pieces(m, obj, t0, x.end, object_cells_add, &x) < 0 ? -1 : 0;
	sqlite3_stmt *st = m->st[Q_OSUM];
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, t0);
	sqlite3_bind_int(st, 3, level);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ui_occ_piece p = {.start = sqlite3_column_int64(st, 0),
					 .end = sqlite3_column_int64(st, 1),
					 .holder = sqlite3_column_int(st, 2),
					 .mixed = sqlite3_column_int(st, 3),
					 .waiters = sqlite3_column_int(st, 4)};
		if (p.start >= x.end)
			break;
		object_cells_add(&x, &p);
	}
	sqlite3_reset(st);
	return 0;
}

/* Binds ?1 pid, ?2 tid and the window [?3, ?4) of a thread query. */
static void bind_thread_window(sqlite3_stmt *st, const struct ui_thread *t, int64_t t0, int64_t t1)
{
	sqlite3_bind_int(st, 1, t->pid);
	sqlite3_bind_int(st, 2, t->tid);
	sqlite3_bind_int64(st, 3, t0);
	sqlite3_bind_int64(st, 4, t1);
}

/* The column of ts; what the rounding of dt leaves past the last column is in the last. */
static int mark_column(int64_t ts, int64_t t0, int64_t dt, int w)
{
	int64_t c = (ts - t0) / dt;
	return c >= w ? w - 1 : (int)c;
}

int ui_model_thread_marks(struct ui_model *m, const struct ui_thread *t, int64_t t0, int64_t t1,
			  int64_t dt, int w, char *marks)
{
	sqlite3_stmt *st = m->st[Q_MARKS];
	memset(marks, 0, (size_t)w);
	if (t1 < t0 + dt * w)
		t1 = t0 + dt * w;
	bind_thread_window(st, t, t0, t1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int c = mark_column(sqlite3_column_int64(st, 0), t0, dt, w);
		char ch = 0;
		switch (sqlite3_column_int(st, 1)) {
		case 8:
			ch = '+'; /* thread.create */
			break;
		case 9:
			ch = '>'; /* thread.start */
			break;
		case 10:
			ch = 'x'; /* thread.exit */
			break;
		case 12:
		case 14:
			ch = 'S'; /* fork, spawn */
			break;
		case 13:
			ch = 'E';
			break;
		case 15:
			ch = 'X';
			break;
		case 22:
			ch = 'D';
			break;
		case 27:
			ch = 'R';
			break;
		}
		/*
		 * Process events outrank thread ones in a crowded column, and a
		 * thread's exit its start and creation: its lane is blank after
		 * the column, and a `>` there read as a thread still alive.
		 */
		if (c >= 0 && c < w && ch &&
		    (!marks[c] || (ch >= 'A' && ch <= 'Z') ||
		     (ch == 'x' && (marks[c] == '>' || marks[c] == '+'))))
			marks[c] = ch;
	}
	sqlite3_reset(st);
	/* Findings outrank everything: they are why the user is looking. */
	st = m->finding_marks;
	if (st) {
		bind_thread_window(st, t, t0, t1);
		while (sqlite3_step(st) == SQLITE_ROW) {
			int c = mark_column(sqlite3_column_int64(st, 0), t0, dt, w);
			if (c >= 0 && c < w)
				marks[c] = '!';
		}
		sqlite3_reset(st);
	}
	return 0;
}

int ui_model_thread_state_at(struct ui_model *m, const struct ui_thread *t, int64_t ts, int *state,
			     int64_t *since, int64_t *obj)
{
	int64_t until;
	return ui_model_thread_span_at(m, t, ts, state, since, &until, obj);
}

int ui_model_thread_span_at(struct ui_model *m, const struct ui_thread *t, int64_t ts, int *state,
			    int64_t *since, int64_t *until, int64_t *obj)
{
	sqlite3_stmt *st = m->st[Q_STATE_AT];
	int found = 0;
	*state = UI_ST_NOT_ALIVE;
	*since = 0;
	*until = 0;
	*obj = 0;
	sqlite3_bind_int(st, 1, t->pid);
	sqlite3_bind_int(st, 2, t->tid);
	sqlite3_bind_int64(st, 3, ts);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) <= ts) {
		*since = sqlite3_column_int64(st, 0);
		*state = sqlite3_column_int(st, 1);
		*obj = sqlite3_column_int64(st, 2);
		*until = sqlite3_column_int64(st, 3);
		found = 1;
	}
	sqlite3_reset(st);
	return found;
}

static int first_piece(void *ctx, const struct ui_occ_piece *p)
{
	*(struct ui_occ_piece *)ctx = *p;
	return 1;
}

int ui_model_object_at(struct ui_model *m, int64_t obj, int64_t ts, int32_t *holder, int *holders,
		       int *waiters)
{
	read_active_windows(m);
	const struct ui_object *o = ui_model_object(m, obj);
	struct ui_occ_piece p;
	int found = (!o || (ts >= o->active_lo && ts <= o->active_hi)) &&
		    occ_pieces(m, obj, ts, ts + 1, first_piece, &p) == 1 && p.start <= ts;
	*holder = found ? p.holder : 0;
	*holders = found ? p.holders : 0;
	*waiters = found ? p.waiters : 0;
	return found;
}

int64_t ui_model_hold_start(struct ui_model *m, int64_t obj, int tid, int64_t ts)
{
	sqlite3_stmt *st = m->st[Q_HOLD_START];
	int64_t r = -1;
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int(st, 2, tid);
	sqlite3_bind_int64(st, 3, ts);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 1) > ts) {
			r = sqlite3_column_int64(st, 0);
			break;
		}
	}
	sqlite3_reset(st);
	return r;
}

int ui_model_blame_at(struct ui_model *m, const struct ui_thread *t, int64_t ts,
		      struct store_blame *out)
{
	return store_blame_at(m->blame, t->pid, t->tid, ts, out);
}

int ui_model_blame_whole(struct ui_model *m, const struct ui_thread *t, int64_t ts,
			 struct store_blame *out)
{
	return store_blame_whole(m->blame, t->pid, t->tid, ts, out);
}

/* The walk's state: the first event past (ts, id) in the walk's direction. */
struct step_walk {
	int64_t ts, id;
	int dir;
	int64_t out_id, out_ts;
};

static int step_take(void *ctx, int64_t eid, int64_t ets)
{
	struct step_walk *w = ctx;
	if (ets == w->ts && (w->dir > 0 ? eid <= w->id : eid >= w->id))
		return 0;
	w->out_id = eid;
	w->out_ts = ets;
	return 1;
}

int ui_model_step_event(struct ui_model *m, const struct ui_thread *t, int64_t ts, int64_t id,
			int dir, int64_t *out_id, int64_t *out_ts)
{
	char sql[320];
	struct step_walk w = {.ts = ts, .id = id, .dir = dir};
	int by_id = m->time_ordered;
	int64_t from = by_id ? store_event_at(m->db, dir > 0 || ts == INT64_MAX ? ts : ts + 1) : 0;
	int found = 0;
	/*
	 * A time-ordered trace walks the rowid from the id where ts starts:
	 * across threads the table itself, within one the blocks of ids the
	 * thread has events in. An unfinalized trace (not time-ordered) orders
	 * by time.
	 */
	if (t && by_id) {
		found = store_thread_events(m->db, t->pid, t->tid, from, dir, step_take, &w) == 1;
	} else {
		const char *thr =
		    t ? "th = (SELECT th FROM thread_no WHERE pid=?1 AND tid=?2) AND" : "";
		if (by_id)
			snprintf(sql, sizeof(sql),
				 "SELECT id, ts FROM ev WHERE %s id %s ?3 ORDER BY id %s LIMIT 64",
				 thr, dir > 0 ? ">=" : "<", dir > 0 ? "" : "DESC");
		else
			snprintf(sql, sizeof(sql),
				 "SELECT id, ts FROM ev WHERE %s ts %s ?3 ORDER BY ts %s, id %s"
				 " LIMIT 64",
				 thr, dir > 0 ? ">=" : "<=", dir > 0 ? "" : "DESC",
				 dir > 0 ? "" : "DESC");
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK)
			return 0;
		if (t) {
			sqlite3_bind_int(st, 1, t->pid);
			sqlite3_bind_int(st, 2, t->tid);
		}
		sqlite3_bind_int64(st, 3, by_id ? from : ts);
		while (!found && sqlite3_step(st) == SQLITE_ROW)
			found =
			    step_take(&w, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
		sqlite3_finalize(st);
	}
	if (found) {
		*out_id = w.out_id;
		*out_ts = w.out_ts;
	}
	return found;
}

int ui_model_event(struct ui_model *m, int64_t id, struct ui_event *ev)
{
	sqlite3_stmt *st = m->st[Q_EVENT];
	int found = 0;
	memset(ev, 0, sizeof(*ev));
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ev->id = sqlite3_column_int64(st, 0);
		ev->ts = sqlite3_column_int64(st, 1);
		ev->pid = sqlite3_column_int(st, 2);
		ev->tid = sqlite3_column_int(st, 3);
		ui_sanitize_col(st, 4, ev->kind, sizeof(ev->kind));
		ev->obj = sqlite3_column_int64(st, 5);
		ev->wait = sqlite3_column_int64(st, 6);
		ev->arg = sqlite3_column_int64(st, 7);
		ev->stack = sqlite3_column_int64(st, 8);
		found = 1;
	}
	sqlite3_reset(st);
	return found;
}

const struct ui_object *ui_model_object(const struct ui_model *m, int64_t id)
{
	int k = object_index(m, id);
	return k < 0 ? NULL : &m->objs[k];
}

int ui_model_thread_index(const struct ui_model *m, int pid, int tid)
{
	for (int i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == tid && (pid <= 0 || m->threads[i].pid == pid))
			return i;
	return -1;
}

const struct ui_thread *ui_model_thread(const struct ui_model *m, int pid, int tid)
{
	int i = ui_model_thread_index(m, pid, tid);
	return i < 0 ? NULL : &m->threads[i];
}

int ui_model_holders_at(struct ui_model *m, int64_t obj, int64_t ts, int32_t *tids, int max)
{
	int64_t from = ts - hold_reach(m, ui_model_object(m, obj));
	/* the long holds begun before from (in start order), then the others covering ts */
	int n = 0, nlong = long_holds(m, obj, ts, ts + 1, from);
	for (int i = 0; i < nlong && n < max; i++)
		tids[n++] = m->longs[i].tid;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db,
			       "SELECT tid FROM object_holds WHERE object_id=?1 AND start_ns<=?2"
			       " AND start_ns>=?3 AND end_ns>?2 ORDER BY start_ns",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return n;
	}
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, ts);
	sqlite3_bind_int64(st, 3, from);
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		tids[n++] = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The distinct holders seen, up to max. */
struct holder_set {
	int32_t *tids;
	int n, max;
};

static int holder_add(void *ctx, const struct ui_occ_piece *p)
{
	struct holder_set *x = ctx;
	int dup = !p->holder;
	for (int i = 0; i < x->n && !dup; i++)
		dup = x->tids[i] == p->holder;
	if (!dup && x->n < x->max)
		x->tids[x->n++] = p->holder;
	return 0;
}

int ui_model_holders_during(struct ui_model *m, int64_t obj, int64_t a, int64_t b, int32_t *tids,
			    int max)
{
	struct holder_set x = {tids, 0, max};
	occ_pieces(m, obj, a, b, holder_add, &x);
	return x.n;
}

const char *ui_model_object_name(struct ui_model *m, int64_t id, char *buf, size_t len)
{
	char kind[32];
	return ui_model_object_name_kind(m, id, buf, len, kind, sizeof(kind));
}

const char *ui_model_object_name_kind(struct ui_model *m, int64_t id, char *buf, size_t len,
				      char *kind, size_t klen)
{
	const struct ui_object *o = ui_model_object(m, id);
	sqlite3_stmt *st = NULL;
	if (o) {
		snprintf(buf, len, "%s", o->name);
		snprintf(kind, klen, "%s", o->kind);
		return buf;
	}
	/* conds, barriers and the like have no lane: look them up */
	snprintf(buf, len, "object#%lld", (long long)id);
	snprintf(kind, klen, "?");
	if (sqlite3_prepare_v2(m->db,
			       "SELECT o.name, k.name FROM obj o LEFT JOIN object_kind k"
			       " ON k.kind=o.kind WHERE o.object_id=?1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			if (sqlite3_column_type(st, 0) != SQLITE_NULL)
				ui_sanitize_col(st, 0, buf, len);
			if (sqlite3_column_type(st, 1) != SQLITE_NULL)
				ui_sanitize_col(st, 1, kind, klen);
		}
	}
	sqlite3_finalize(st);
	return buf;
}

/* A prepared statement for a one-off query; NULL (and nothing to do) when it fails. */
static sqlite3_stmt *prep(struct ui_model *m, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static int hold_count_cmp(const void *x, const void *y)
{
	const struct ui_hold_count *p = x, *q = y;
	if (p->first != q->first)
		return p->first < q->first ? -1 : 1;
	return (p->tid > q->tid) - (p->tid < q->tid);
}

/* Adds holds of tid, the first at first, to counts[0, *n) (cap *cap); -1 without memory. */
static int hold_count_add(struct ui_hold_count **counts, int *n, size_t *cap, int32_t tid,
			  int64_t holds, int64_t first)
{
	for (int i = 0; i < *n; i++) {
		if ((*counts)[i].tid == tid) {
			(*counts)[i].holds += holds;
			if (first < (*counts)[i].first)
				(*counts)[i].first = first;
			return 0;
		}
	}
	struct ui_hold_count *g = store_grow(*counts, cap, (size_t)*n, sizeof(*g));
	if (!g)
		return -1;
	*counts = g;
	(*counts)[(*n)++] = (struct ui_hold_count){tid, holds, first};
	return 0;
}

int ui_model_hold_counts(struct ui_model *m, int64_t obj, int64_t a, int64_t b,
			 struct ui_hold_count *out, int max, int64_t *total)
{
	/* every hold overlapping [a, b): the long ones begun before from, then object_holds' */
	int64_t from = a - hold_reach(m, ui_model_object(m, obj));
	struct ui_hold_count *counts = NULL;
	size_t cap = 0;
	int n = 0, nlong = long_holds(m, obj, a, b, from);
	for (int i = 0; i < nlong; i++)
		if (hold_count_add(&counts, &n, &cap, m->longs[i].tid, 1, m->longs[i].start))
			break;
	sqlite3_stmt *st = prep(m, "SELECT tid, count(*), min(start_ns) FROM object_holds"
				   " WHERE object_id=?1 AND start_ns<?3 AND start_ns>=?4"
				   " AND end_ns>?2 GROUP BY tid");
	if (st) {
		sqlite3_bind_int64(st, 1, obj);
		sqlite3_bind_int64(st, 2, a);
		sqlite3_bind_int64(st, 3, b);
		sqlite3_bind_int64(st, 4, from);
		while (sqlite3_step(st) == SQLITE_ROW)
			if (hold_count_add(&counts, &n, &cap, sqlite3_column_int(st, 0),
					   sqlite3_column_int64(st, 1),
					   sqlite3_column_int64(st, 2)))
				break;
		sqlite3_finalize(st);
	}
	if (n > 1)
		qsort(counts, (size_t)n, sizeof(*counts), hold_count_cmp);
	*total = 0;
	for (int i = 0; i < n; i++)
		*total += counts[i].holds;
	int shown = n < max ? n : max;
	if (shown > 0)
		memcpy(out, counts, (size_t)shown * sizeof(*out));
	free(counts);
	return shown;
}

/*
 * Holds read back at most for a previous owner: a thread that took a lock
 * a million times in a row, nobody else in between, made the state panel
 * read all of them at every redraw (50 ms on the lock microbenchmark, each
 * thread with a mutex of its own), and more the longer the trace.
 */
#define PREVIOUS_OWNER_HOLDS 65536

int ui_model_previous_owner(struct ui_model *m, int64_t obj, int64_t ts, int tid, int32_t *owner,
			    int64_t *released)
{
	/*
	 * The last stretch before ts held by another: a long hold, a segment
	 * with waiters, or a hold, whichever ended later. Holds are read
	 * latest start first: one that started over hold_reach() before the
	 * best end so far cannot have ended after it, or it is a long hold.
	 */
	const struct ui_object *o = ui_model_object(m, obj);
	int64_t reach = hold_reach(m, o);
	/*
	 * On an exclusive lock a hold by another thread than the first one
	 * found (the latest to start) ended before that one started: only the
	 * first one's own enclosing holds (a recursive lock's) can end later.
	 */
	int exclusive = o && (store_holds_kind_rules(o->kind_code) & STORE_HOLDS_EXCLUSIVE);
	int found = 0;
	static const int queries[] = {Q_OLONG_BEFORE, Q_OSPANS_BEFORE, Q_HOLDS_BEFORE};
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		int q = queries[i];
		sqlite3_stmt *st = m->st[q];
		sqlite3_bind_int64(st, 1, obj);
		sqlite3_bind_int64(st, 2, ts);
		sqlite3_bind_int(st, 3, tid);
		int32_t first = -1;
		long budget = PREVIOUS_OWNER_HOLDS;
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t end = sqlite3_column_int64(st, 1);
			if (q == Q_HOLDS_BEFORE) {
				int32_t holder = sqlite3_column_int(st, 0);
				if (!budget--)
					break;
				if (found && sqlite3_column_int64(st, 2) + reach < *released)
					break;
				if (holder == tid)
					continue;
				if (exclusive && first >= 0 && holder != first)
					break;
				first = holder;
			}
			if (!found || end > *released) {
				*owner = sqlite3_column_int(st, 0);
				*released = end;
				found = 1;
			}
		}
		sqlite3_reset(st);
	}
	return found;
}

int ui_model_frames(struct ui_model *m, int64_t stack, struct ui_frame *out, int max)
{
	sqlite3_stmt *st =
	    prep(m, "SELECT depth, coalesce(function,'?\?'), coalesce(file,''), coalesce(line,0),"
		    " coalesce(module,''), coalesce(pc,0), coalesce(lang,'') FROM stack_frames"
		    " WHERE stack_id=?1 ORDER BY depth");
	int n = 0;
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, stack);
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct ui_frame *f = &out[n++];
		f->depth = sqlite3_column_int(st, 0);
		ui_sanitize_col(st, 1, f->function, sizeof(f->function));
		ui_sanitize_col(st, 2, f->file, sizeof(f->file));
		f->line = sqlite3_column_int(st, 3);
		ui_sanitize_col(st, 4, f->module, sizeof(f->module));
		f->pc = sqlite3_column_int64(st, 5);
		ui_sanitize_col(st, 6, f->lang, sizeof(f->lang));
	}
	sqlite3_finalize(st);
	return n;
}

/* Runs a query of ids with ?1 bound to text; appends them to ids (at most UI_SEARCH_MAX). */
static void collect_ids(struct ui_model *m, const char *sql, const char *text, int line,
			int64_t *ids, int *n)
{
	sqlite3_stmt *st = prep(m, sql);
	if (!st)
		return; /* a trace without that table (no races, no findings) matches nothing there
			 */
	sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, line);
	while (*n < UI_SEARCH_MAX && sqlite3_step(st) == SQLITE_ROW)
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			ids[(*n)++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
}

void ui_model_search_compute(struct ui_model *m, const char *text, struct ui_search *s)
{
	char like[UI_SEARCH_TEXT + 8], file[UI_SEARCH_TEXT];
	memset(s, 0, sizeof(*s));
	snprintf(s->text, sizeof(s->text), "%s", text);
	s->pos = -1;
	for (int i = 0; i < m->nthreads && s->nthreads < UI_SEARCH_MAX; i++)
		if (strcasestr(m->threads[i].name, text))
			s->threads[s->nthreads++] = i;
	snprintf(like, sizeof(like), "%%%s%%", text);
	collect_ids(m, "SELECT object_id FROM obj WHERE name LIKE ?1 LIMIT 256", like, 0, s->objs,
		    &s->nobjs);
	/* FILE:LINE is a source line: frames whose file ends in FILE at that line */
	const char *colon = strrchr(text, ':');
	char *end = NULL;
	long line = colon ? strtol(colon + 1, &end, 10) : 0;
	if (colon && colon > text && end && end > colon + 1 && !*end && line > 0) {
		snprintf(file, sizeof(file), "%%%.*s", (int)(colon - text), text);
		collect_ids(m,
			    "SELECT DISTINCT stack_id FROM frame WHERE file LIKE ?1 AND line=?2"
			    " LIMIT 256",
			    file, (int)line, s->stacks, &s->nstacks);
	} else {
		collect_ids(m,
			    "SELECT DISTINCT stack_id FROM frame WHERE function LIKE ?1"
			    " OR file LIKE ?1 LIMIT 256",
			    like, 0, s->stacks, &s->nstacks);
	}
	/* variables a race touched: its accesses are the events with those stacks */
	int before = s->nstacks;
	collect_ids(m,
		    "SELECT stack_a FROM race WHERE location LIKE ?1 UNION"
		    " SELECT stack_b FROM race WHERE location LIKE ?1 LIMIT 256",
		    like, 0, s->stacks, &s->nstacks);
	s->nvars = s->nstacks - before;
	/* findings by their text: the events each one names */
	collect_ids(m,
		    "SELECT i.event_id FROM findings f JOIN finding_items i USING(finding_id)"
		    " WHERE (f.summary LIKE ?1 OR f.kind LIKE ?1 OR f.objects LIKE ?1)"
		    " AND i.event_id IS NOT NULL LIMIT 256",
		    like, 0, s->events, &s->nevents);
	if (!s->nevents)
		collect_ids(m,
			    "SELECT event_id FROM findings WHERE summary LIKE ?1 AND event_id"
			    " IS NOT NULL LIMIT 256",
			    like, 0, s->events, &s->nevents);
}

/* Appends " OR col IN (ids)" to sql. */
static size_t append_in(char *sql, size_t n, size_t cap, const char *col, const int64_t *ids, int k)
{
	if (!k)
		return n;
	n += (size_t)snprintf(sql + n, cap - n, " OR %s IN (", col);
	for (int i = 0; i < k && n < cap; i++)
		n += (size_t)snprintf(sql + n, cap - n, "%s%lld", i ? "," : "", (long long)ids[i]);
	n += (size_t)snprintf(sql + n, cap - n, ")");
	return n < cap ? n : cap - 1;
}

int64_t ui_model_search_event(struct ui_model *m, const struct ui_search *s, int64_t ts,
			      int64_t cur_id, int dir)
{
	char sql[24576];
	size_t n = 0;
	/* a time-ordered trace walks the rowid from where the cursor's time starts */
	const char *from = !m->time_ordered ? "1" : dir > 0 ? "id >= ?3" : "id < ?3";
	n += (size_t)snprintf(
	    sql + n, sizeof(sql) - n,
	    "SELECT id FROM ev WHERE (ts %s ?1 OR (ts = ?1 AND id %s ?2)) AND %s AND (0",
	    dir > 0 ? ">" : "<", dir > 0 ? ">" : "<", from);
	n = append_in(sql, n, sizeof(sql), "obj", s->objs, s->nobjs);
	n = append_in(sql, n, sizeof(sql), "stack", s->stacks, s->nstacks);
	n = append_in(sql, n, sizeof(sql), "id", s->events, s->nevents);
	if (m->time_ordered)
		snprintf(sql + n, sizeof(sql) - n, ") ORDER BY id %s LIMIT 1",
			 dir > 0 ? "" : "DESC");
	else
		snprintf(sql + n, sizeof(sql) - n, ") ORDER BY ts %s, id %s LIMIT 1",
			 dir > 0 ? "" : "DESC", dir > 0 ? "" : "DESC");
	sqlite3_stmt *st = prep(m, sql);
	int64_t id = 0;
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, ts);
	sqlite3_bind_int64(st, 2, cur_id);
	int64_t t = dir > 0 || ts == INT64_MAX ? ts : ts + 1;
	if (m->time_ordered)
		sqlite3_bind_int64(st, 3, store_event_at(m->db, t));
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* Adds the part of [s, e) inside [a, b) to *sum; 1 when they overlap. */
static int clip_add(int64_t s, int64_t e, int64_t a, int64_t b, int64_t *sum)
{
	int64_t lo = s > a ? s : a, hi = e < b ? e : b;
	if (hi <= lo)
		return 0;
	*sum += hi - lo;
	return 1;
}

int ui_model_area_thread(struct ui_model *m, const struct ui_thread *t, int64_t a, int64_t b,
			 int64_t *from, int budget, int64_t ns[UI_ST_COUNT])
{
	sqlite3_stmt *st = m->st[Q_SPANS];
	int done = 1;
	sqlite3_bind_int(st, 1, t->pid);
	sqlite3_bind_int(st, 2, t->tid);
	sqlite3_bind_int64(st, 3, *from > a ? *from : a);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t s = sqlite3_column_int64(st, 0), e = sqlite3_column_int64(st, 1);
		if (s >= b)
			break;
		if (budget-- <= 0) {
			done = 0;
			break;
		}
		int k = sqlite3_column_int(st, 2);
		clip_add(s, e, a, b, &ns[k >= 0 && k < UI_ST_COUNT ? k : UI_ST_WAIT]);
		*from = e; /* a thread's spans are disjoint: end_ns is unique and increasing */
	}
	sqlite3_reset(st);
	return done;
}

/*
 * Rows (start_ns, end_ns, tid) of sql overlapping [a, b) after the key
 * *after (start_ns, end_ns, tid; start -1: from the beginning), budgeted.
 */
static int area_rows(struct ui_model *m, const char *sql, int64_t obj, int64_t a, int64_t b,
		     int64_t lower, int64_t after[3], int budget, int64_t *count, int64_t *ns)
{
	sqlite3_stmt *st = prep(m, sql);
	int done = 1;
	if (!st)
		return 1;
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	sqlite3_bind_int64(st, 4, after[0] >= 0 ? after[0] : lower);
	sqlite3_bind_int64(st, 5, after[0] >= 0 ? after[1] : INT64_MIN);
	sqlite3_bind_int64(st, 6, after[0] >= 0 ? after[2] : INT64_MIN);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (budget-- <= 0) {
			done = 0;
			break;
		}
		int64_t s = sqlite3_column_int64(st, 0), e = sqlite3_column_int64(st, 1);
		*count += clip_add(s, e, a, b, ns);
		after[0] = s;
		after[1] = e;
		after[2] = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return done;
}

int ui_model_area_object(struct ui_model *m, const struct ui_object *o, int64_t a, int64_t b,
			 struct ui_area_cursor *c, int budget, struct ui_area_object *out)
{
	/* holds first, then the lock, GIL and queue waits (thread_spans_waits covers them) */
	if (!c->holds_done)
		c->holds_done = area_rows(
		    m,
		    "SELECT start_ns, end_ns, tid FROM object_holds WHERE object_id=?1"
		    " AND start_ns<?3 AND start_ns>=?4 AND (start_ns, end_ns, tid)>(?4, ?5, ?6)"
		    " AND end_ns>?2"
		    " ORDER BY start_ns, end_ns, tid",
		    o->id, a, b, a - o->max_hold, c->hold_key, budget, &out->holds, &out->hold_ns);
	if (!c->holds_done)
		return 0;
	/* The states of thread_spans_waits' predicate, spelled as it spells them (its index). */
	char waits_sql[320];
	snprintf(waits_sql, sizeof(waits_sql),
		 "SELECT start_ns, end_ns, tid FROM thread_spans WHERE object_id=?1"
		 " AND state IN (%d, %d, %d) AND start_ns<?3"
		 " AND (start_ns, end_ns, tid)>(?4, ?5, ?6) AND end_ns>?2"
		 " ORDER BY start_ns, end_ns, tid",
		 STORE_STATE_LOCK, STORE_STATE_GIL, STORE_STATE_QUEUE);
	return area_rows(m, waits_sql, o->id, a, b, a - o->max_wait, c->wait_key, budget,
			 &out->waits, &out->wait_ns);
}

int ui_model_finding_items(struct ui_model *m, int64_t finding, struct ui_finding_item *out,
			   int max)
{
	sqlite3_stmt *st =
	    m->has_findings ? prep(m, "SELECT coalesce(role,''), pid, tid, event_id, ts_ns,"
				      " coalesce(function,''), coalesce(file,''), coalesce(line,0),"
				      " coalesce(object_name,'') FROM finding_items"
				      " WHERE finding_id=?1 ORDER BY seq")
			    : NULL;
	int n = 0;
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, finding);
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct ui_finding_item *f = &out[n++];
		ui_sanitize_col(st, 0, f->role, sizeof(f->role));
		f->pid = sqlite3_column_int(st, 1);
		f->tid = sqlite3_column_int(st, 2);
		f->event_id = sqlite3_column_int64(st, 3);
		f->ts =
		    sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
		ui_sanitize_col(st, 5, f->function, sizeof(f->function));
		ui_sanitize_col(st, 6, f->file, sizeof(f->file));
		f->line = sqlite3_column_int(st, 7);
		ui_sanitize_col(st, 8, f->object, sizeof(f->object));
	}
	sqlite3_finalize(st);
	return n;
}

int ui_model_findings(struct ui_model *m, int (*each)(void *ctx, const struct ui_finding_row *f),
		      void *ctx, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db, "SELECT * FROM findings LIMIT 1000", -1, &st, NULL) !=
	    SQLITE_OK) {
		weft_sanitize(sqlite3_errmsg(m->db), err, errlen);
		sqlite3_finalize(st);
		return -1;
	}
	int nc = sqlite3_column_count(st);
	/* weft's own findings view has a one-line summary: that, not every column */
	int c_sev = -1, c_kind = -1, c_sum = -1, c_count = -1, c_id = -1;
	for (int c = 0; c < nc; c++) {
		const char *name = sqlite3_column_name(st, c);
		if (!strcmp(name, "severity"))
			c_sev = c;
		else if (!strcmp(name, "kind"))
			c_kind = c;
		else if (!strcmp(name, "summary"))
			c_sum = c;
		else if (!strcmp(name, "count"))
			c_count = c;
		else if (!strcmp(name, "finding_id"))
			c_id = c;
	}
	struct ui_finding_row f;
	while (sqlite3_step(st) == SQLITE_ROW) {
		memset(&f, 0, sizeof(f));
		f.ts = -1;
		for (int c = 0; c < nc; c++) {
			const char *name = sqlite3_column_name(st, c);
			if (!strcmp(name, "event_id") || !strcmp(name, "event"))
				f.event_id = sqlite3_column_int64(st, c);
			else if (!strcmp(name, "ts_ns") || !strcmp(name, "start_ns"))
				f.ts = sqlite3_column_int64(st, c);
			else if (!strcmp(name, "pid"))
				f.pid = sqlite3_column_int(st, c);
			else if (!strcmp(name, "tid"))
				f.tid = sqlite3_column_int(st, c);
		}
		if (c_id >= 0)
			f.finding_id = sqlite3_column_int64(st, c_id);
		f.has_summary = c_sum >= 0;
		if (f.has_summary) {
			if (c_sev >= 0)
				ui_sanitize_col(st, c_sev, f.severity, sizeof(f.severity));
			if (c_kind >= 0)
				ui_sanitize_col(st, c_kind, f.kind, sizeof(f.kind));
			ui_sanitize_col(st, c_sum, f.summary, sizeof(f.summary));
			f.count = c_count >= 0 ? sqlite3_column_int64(st, c_count) : 1;
		} else {
			size_t len = 0;
			for (int c = 0; c < nc && len < sizeof(f.columns) - 8; c++) {
				char v[160];
				ui_sanitize_col(st, c, v, sizeof(v));
				len += (size_t)snprintf(f.columns + len, sizeof(f.columns) - len,
							"%s%s", len ? "  " : "", v);
			}
		}
		if (each(ctx, &f))
			break;
	}
	sqlite3_finalize(st);
	return 0;
}
