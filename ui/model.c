/*
 * The viewer's data access. Everything a frame needs goes through the
 * derived tables' (key, end_ns) indexes: per lane one range read whose
 * length is bounded by the number of screen columns, never by the trace.
 */
#include "ui/ui.h"
#include "store/store.h"
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
	Q_OBJ_AT,
	Q_HOLD_START,
	Q_EVENT,
	Q__COUNT
};

static const char *const q_sql[Q__COUNT] = {
    [Q_SPANS] = "SELECT start_ns, end_ns, state, 0 FROM thread_spans"
		" WHERE pid=?1 AND tid=?2 AND end_ns>?3 ORDER BY end_ns",
    [Q_TSUM] = "SELECT start_ns, end_ns, state, mixed FROM thread_summary"
	       " WHERE level=?4 AND pid=?1 AND tid=?2 AND end_ns>?3 ORDER BY end_ns",
    [Q_OSPANS] = "SELECT start_ns, end_ns, holder_tid, 0, waiters FROM object_spans"
		 " WHERE object_id=?1 AND end_ns>?2 ORDER BY end_ns",
    [Q_OSUM] = "SELECT start_ns, end_ns, holder_tid, mixed, max_waiters FROM object_summary"
	       " WHERE level=?3 AND object_id=?1 AND end_ns>?2 ORDER BY end_ns",
    [Q_MARKS] = "SELECT ts_ns, kind FROM point_events WHERE pid=?1 AND tid=?2"
		" AND ts_ns>=?3 AND ts_ns<?4 ORDER BY ts_ns LIMIT 4000",
    [Q_STATE_AT] = "SELECT start_ns, state, object_id FROM thread_spans"
		   " WHERE pid=?1 AND tid=?2 AND end_ns>?3 ORDER BY end_ns LIMIT 1",
    [Q_OBJ_AT] = "SELECT start_ns, holder_tid, holders, waiters FROM object_spans"
		 " WHERE object_id=?1 AND end_ns>?2 ORDER BY end_ns LIMIT 1",
    [Q_HOLD_START] = "SELECT start_ns, end_ns FROM object_holds WHERE object_id=?1 AND tid=?2"
		     " AND start_ns<=?3 ORDER BY start_ns DESC LIMIT 64",
    [Q_EVENT] = "SELECT e.id, e.ts, t.pid, t.tid, k.name, e.obj, e.wait, e.arg, e.stack"
		" FROM ev e JOIN thread_no t ON t.th=e.th LEFT JOIN event_kind k ON k.kind=e.kind"
		" WHERE e.id=?1",
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

static int load_lists(struct ui_model *m, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, n = 0;
	/* Processes, including any that only appear through their threads. */
	if (sqlite3_prepare_v2(
		m->db,
		"SELECT pid, ppid, argv, start_ns, end_ns, exit_code, exit_signal FROM proc"
		" UNION ALL SELECT pid, NULL, NULL, min(start_ns), NULL, NULL, NULL"
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
		static const char letters[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
		t->letter = letters[n % (sizeof(letters) - 1)];
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
		" s.max_hold_ns FROM object_stats s JOIN obj o USING(object_id)"
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
		m->nobjs = ++n;
	}
	rc = 0;
out:
	if (rc)
		snprintf(err, errlen, "%s: cannot load the trace: %s", m->path,
			 sqlite3_errmsg(m->db));
	sqlite3_finalize(st);
	return rc;
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
	    query_int64(m->db, "SELECT value FROM meta WHERE key='complete'", &v) == 0 && v == 1;
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
	char cpath[4096 + 8], key[128];
	snprintf(cpath, sizeof(cpath), "%s-view", path);
	if (m->complete) {
		/* A file planted at TRACE-view is refused, not ignored: someone interferes. */
		struct stat sb;
		int cached = stat(path, &sb) == 0
				 ? store_files_check_cache(cpath, sb.st_uid, e2, sizeof(e2))
				 : 0;
		if (cached < 0) {
			weft_sanitize(e2, err, errlen);
			return -1;
		}
		store_view_cache_key(m->db, path, key, sizeof(key));
		if (cached)
			store_view_cache_attach(m->db, cpath, key);
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
		store_view_cache_save(m->db, cpath, key);
	if (query_int64(m->db, "SELECT value FROM derived_info WHERE key='events'", &m->events) ||
	    query_int64(m->db, "SELECT value FROM derived_info WHERE key='end_ns'", &m->end_ns)) {
		snprintf(err, errlen, "%s: derived tables are incomplete", m->path);
		return -1;
	}
	int64_t l0 = 15, step = 2, levels = 0;
	query_int64(m->db, "SELECT value FROM derived_info WHERE key='level0_shift'", &l0);
	query_int64(m->db, "SELECT value FROM derived_info WHERE key='level_step_shift'", &step);
	query_int64(m->db, "SELECT value FROM derived_info WHERE key='levels'", &levels);
	m->level0_shift = (int)l0;
	m->level_step_shift = (int)step;
	m->levels = (int)levels;
	m->has_findings = table_exists(m->db, "findings") != 0;
	m->nfindings = 0;
	if (m->has_findings)
		query_int64(m->db, "SELECT count(*) FROM findings", &m->nfindings);
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
	for (int i = 0; i < Q__COUNT; i++) {
		if (sqlite3_prepare_v3(m->db, q_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &m->st[i],
				       NULL) != SQLITE_OK) {
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
	if (m->db)
		sqlite3_close(m->db);
	free(m->procs);
	free(m->threads);
	free(m->objs);
	free(m->acc);
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

int ui_model_object_cells(struct ui_model *m, int64_t obj, int64_t t0, int64_t dt, int w,
			  int32_t *holder, unsigned char *mixed, unsigned char *waiters)
{
	if (w <= 0 || dt <= 0)
		return 0;
	int level = pick_level(m, dt);
	sqlite3_stmt *st = m->st[level < 0 ? Q_OSPANS : Q_OSUM];
	/* per column: the holder with the most time so far and its time, plus free time */
	int64_t *acc = acc_get(m, w, 2);
	if (!acc)
		return -1;
	int64_t end = t0 + dt * w;
	memset(mixed, 0, (size_t)w);
	memset(waiters, 0, (size_t)w);
	for (int c = 0; c < w; c++)
		holder[c] = 0;
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, t0);
	if (level >= 0)
		sqlite3_bind_int(st, 3, level);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t a = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);
		if (a >= end)
			break;
		int32_t h = sqlite3_column_int(st, 2);
		int mx = sqlite3_column_int(st, 3), wt = sqlite3_column_int(st, 4);
		int64_t ca = a < t0 ? t0 : a, cb = b > end ? end : b;
		if (cb <= ca)
			continue;
		int c0 = (int)((ca - t0) / dt), c1 = (int)((cb - 1 - t0) / dt);
		for (int c = c0; c <= c1 && c < w; c++) {
			int64_t cs = t0 + dt * c, ce = cs + dt;
			int64_t o = (cb < ce ? cb : ce) - (ca > cs ? ca : cs);
			if (wt > waiters[c])
				waiters[c] = (unsigned char)(wt > 255 ? 255 : wt);
			if (mx)
				mixed[c] = 1;
			if (!h)
				continue;
			if (holder[c] && holder[c] != h)
				mixed[c] = 1;
			/* the longest single holder wins; a column seldom has more than a few */
			if (o > acc[(size_t)c * 2]) {
				acc[(size_t)c * 2] = o;
				holder[c] = h;
			}
		}
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

int ui_model_thread_marks(struct ui_model *m, const struct ui_thread *t, int64_t t0, int64_t dt,
			  int w, char *marks)
{
	sqlite3_stmt *st = m->st[Q_MARKS];
	memset(marks, 0, (size_t)w);
	bind_thread_window(st, t, t0, t0 + dt * w);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int c = (int)((sqlite3_column_int64(st, 0) - t0) / dt);
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
		/* process events outrank thread ones in a crowded column */
		if (c >= 0 && c < w && ch && (!marks[c] || (ch >= 'A' && ch <= 'Z')))
			marks[c] = ch;
	}
	sqlite3_reset(st);
	/* Findings outrank everything: they are why the user is looking. */
	st = m->finding_marks;
	if (st) {
		bind_thread_window(st, t, t0, t0 + dt * w);
		while (sqlite3_step(st) == SQLITE_ROW) {
			int c = (int)((sqlite3_column_int64(st, 0) - t0) / dt);
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
	sqlite3_stmt *st = m->st[Q_STATE_AT];
	int found = 0;
	*state = UI_ST_NOT_ALIVE;
	*since = 0;
	*obj = 0;
	sqlite3_bind_int(st, 1, t->pid);
	sqlite3_bind_int(st, 2, t->tid);
	sqlite3_bind_int64(st, 3, ts);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) <= ts) {
		*since = sqlite3_column_int64(st, 0);
		*state = sqlite3_column_int(st, 1);
		*obj = sqlite3_column_int64(st, 2);
		found = 1;
	}
	sqlite3_reset(st);
	return found;
}

int ui_model_object_at(struct ui_model *m, int64_t obj, int64_t ts, int32_t *holder, int *holders,
		       int *waiters)
{
	sqlite3_stmt *st = m->st[Q_OBJ_AT];
	int found = 0;
	*holder = 0;
	*holders = 0;
	*waiters = 0;
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, ts);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) <= ts) {
		*holder = sqlite3_column_int(st, 1);
		*holders = sqlite3_column_int(st, 2);
		*waiters = sqlite3_column_int(st, 3);
		found = 1;
	}
	sqlite3_reset(st);
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

int ui_model_step_event(struct ui_model *m, const struct ui_thread *t, int64_t ts, int64_t id,
			int dir, int64_t *out_id, int64_t *out_ts)
{
	char sql[320];
	/*
	 * A time-ordered trace walks the rowid from the id where ts starts:
	 * across threads the table itself, within one the index on (th, rowid).
	 * An unfinalized trace (no index) orders by time.
	 */
	const char *thr = t ? "th = (SELECT th FROM thread_no WHERE pid=?1 AND tid=?2) AND" : "";
	int by_id = m->time_ordered;
	if (by_id)
		snprintf(sql, sizeof(sql),
			 "SELECT id, ts FROM ev WHERE %s id %s ?3 ORDER BY id %s LIMIT 64", thr,
			 dir > 0 ? ">=" : "<", dir > 0 ? "" : "DESC");
	else
		snprintf(sql, sizeof(sql),
			 "SELECT id, ts FROM ev WHERE %s ts %s ?3 ORDER BY ts %s, id %s LIMIT 64",
			 thr, dir > 0 ? ">=" : "<=", dir > 0 ? "" : "DESC", dir > 0 ? "" : "DESC");
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (t) {
		sqlite3_bind_int(st, 1, t->pid);
		sqlite3_bind_int(st, 2, t->tid);
	}
	if (by_id)
		sqlite3_bind_int64(st, 3,
				   store_event_at(m->db, dir > 0 || ts == INT64_MAX ? ts : ts + 1));
	else
		sqlite3_bind_int64(st, 3, ts);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t eid = sqlite3_column_int64(st, 0), ets = sqlite3_column_int64(st, 1);
		if (ets == ts && (dir > 0 ? eid <= id : eid >= id))
			continue;
		*out_id = eid;
		*out_ts = ets;
		found = 1;
		break;
	}
	sqlite3_finalize(st);
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
	for (int i = 0; i < m->nobjs; i++)
		if (m->objs[i].id == id)
			return &m->objs[i];
	return NULL;
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
	const struct ui_object *o = ui_model_object(m, obj);
	sqlite3_stmt *st = NULL;
	int n = 0;
	/* a hold covering ts started at most max_hold before it: a bounded index range */
	if (sqlite3_prepare_v2(m->db,
			       "SELECT tid FROM object_holds WHERE object_id=?1 AND start_ns<=?2"
			       " AND start_ns>=?3 AND end_ns>?2 ORDER BY start_ns",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, ts);
	sqlite3_bind_int64(st, 3, o ? ts - o->max_hold : 0);
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		tids[n++] = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int ui_model_holders_during(struct ui_model *m, int64_t obj, int64_t a, int64_t b, int32_t *tids,
			    int max)
{
	sqlite3_stmt *st = NULL;
	int n = 0;
	if (sqlite3_prepare_v2(m->db,
			       "SELECT start_ns, holder_tid, holders FROM object_spans"
			       " WHERE object_id=?1 AND end_ns>?2 ORDER BY end_ns",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, a);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) >= b)
			break;
		int32_t h = sqlite3_column_int(st, 1);
		int dup = !h;
		for (int i = 0; i < n && !dup; i++)
			dup = tids[i] == h;
		if (!dup && n < max)
			tids[n++] = h;
	}
	sqlite3_finalize(st);
	return n;
}

const char *ui_model_object_name(struct ui_model *m, int64_t id, char *buf, size_t len)
{
	const struct ui_object *o = ui_model_object(m, id);
	sqlite3_stmt *st = NULL;
	if (o) {
		snprintf(buf, len, "%s", o->name);
		return buf;
	}
	/* conds, barriers and the like have no lane: look them up */
	snprintf(buf, len, "object#%lld", (long long)id);
	if (sqlite3_prepare_v2(m->db, "SELECT name FROM obj WHERE object_id=?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			ui_sanitize_col(st, 0, buf, len);
	}
	sqlite3_finalize(st);
	return buf;
}
