/*
 * weft export FILE --format chrome|csv [-o OUT]: converts a trace for other
 * tools.
 *
 * chrome: Chrome trace-event JSON (Perfetto UI, chrome://tracing). Each
 * thread is a lane; lock holds (acquire to release of one object by one
 * thread) and waits ([sub_sat(ts, wait)_ns, ts] of every blocking call) are
 * complete ("X") slices, a flow arrow ("s" -> "f") goes from a release to
 * the contended acquire it unblocked, and process/thread life events are
 * instants. Slices on one lane must nest; a hold that crosses another
 * (hand-over-hand locking) goes to an extra lane of the same thread, shown
 * as "<name> (holds N)" with tid + N * 10000000 (Linux tids stay below
 * 2^22).
 *
 * csv: the `events` view plus the object name and the innermost frame.
 *
 * OUT: a file (written to a temporary name, renamed when complete), or "-"
 * for stdout. Without -o the output goes to stdout only when stdout is not a
 * terminal.
 */
#include "tracer/cli.h"
#include "tracer/hashmap.h"
#include "tracer/output.h"
#include "store/store.h"
#include "store/store_holds.h"
#include "store/store_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ts - wait that cannot overflow on a corrupt trace's extreme values. */
static int64_t sub_sat(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return b > 0 ? INT64_MIN : INT64_MAX;
	return r;
}

#define LANE_TID_STEP 10000000LL

/* ---- model ---- */

struct interval {
	int64_t start, end;
};

/* The maximal (outermost) slices of one lane, disjoint and in time order. */
struct lane {
	struct interval *top;
	size_t n, cap;
};

struct xthread {
	int pid, tid;
	char *name;
	int64_t end; /* INT64_MIN: unknown */
	int64_t last_ts;
	int named; /* thread_name emitted */
	struct lane *lanes;
	size_t nlanes;
	struct store_holds holds;    /* a hold's tag: the flow id ending at it, 0: none */
	int64_t wait_open, wait_obj; /* a lock.wait nothing has ended yet (-1: none), on what */
};

struct xobj {
	int64_t id;
	char *name;
	char *kind;
	int kind_code; /* preload/kinds.h's code, 0 when unknown */
	int shared;    /* a release can unblock several acquirers (rwlock) */
	/* the latest release, for flow arrows */
	int has_release, consumed;
	int rel_pid;
	int64_t rel_lane_tid, rel_ts, rel_hold_start;
};

struct exporter {
	const char *path;
	sqlite3 *db;
	struct out_json j;
	struct xthread *thr;
	size_t nthr, capthr;
	struct hashmap_u64 thr_map; /* (pid << 32 | tid) -> index in thr */
	struct xobj *obj;
	size_t nobj, capobj;
	struct hashmap_u64 obj_map; /* object id -> index in obj */
	int64_t end_ns;
	int64_t next_flow;
};

static void ex_db_error(struct exporter *x, const char *what)
{
	weft_error("%s: %s: %s", x->path, what, sqlite3_errmsg(x->db));
}

static char *dup_text(sqlite3_stmt *st, int c)
{
	const unsigned char *s = sqlite3_column_text(st, c);
	return s ? strdup((const char *)s) : NULL;
}

static struct xthread *thread_get(struct exporter *x, int pid, int tid)
{
	uint64_t key =
	    ((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid; /* negative pids in corrupt traces */
	int added;
	struct xthread *t = hashmap_u64_row(&x->thr_map, (void **)&x->thr, &x->nthr, &x->capthr,
					    sizeof(*t), key, &added);
	if (t && added) {
		t->pid = pid;
		t->tid = tid;
		t->end = INT64_MIN;
		t->last_ts = INT64_MIN;
		t->wait_open = -1;
		/* A lock another thread may release (py.lock) gets waits but no hold slices. */
		store_holds_init(&t->holds, 0, STORE_HOLDS_HELD, STORE_HOLDS_ANY_RELEASER);
	}
	return t;
}

static struct xobj *obj_find(struct exporter *x, int64_t id)
{
	uint64_t *i = hashmap_u64_get(&x->obj_map, (uint64_t)id);
	return i ? &x->obj[*i] : NULL;
}

static int object_row(void *ctx, sqlite3_stmt *st)
{
	struct exporter *x = ctx;
	int64_t id = sqlite3_column_int64(st, 0);
	int added;
	struct xobj *o = hashmap_u64_row(&x->obj_map, (void **)&x->obj, &x->nobj, &x->capobj,
					 sizeof(*o), (uint64_t)id, &added);
	if (!o)
		return -1;
	/* A corrupt trace may name an object twice: the last row counts, as in a lookup by id. */
	free(o->name);
	free(o->kind);
	o->id = id;
	o->name = dup_text(st, 1);
	o->kind = dup_text(st, 2);
	const char *k = o->kind ? o->kind : "";
	o->kind_code = 0;
	for (int c = 1; c < 64 && !o->kind_code; c++)
		if (store_object_kind_name(c) && !strcmp(k, store_object_kind_name(c)))
			o->kind_code = c;
	o->shared = !strcmp(k, "rwlock");
	return 0;
}

static int load_objects(struct exporter *x)
{
	return weft_read_rows(x->db, x->path, "objects",
			      "SELECT object_id, name, kind FROM objects", object_row, x);
}

/* ---- chrome JSON events ---- */

static void json_ts(struct out_json *j, const char *key, int64_t ns)
{
	char buf[40];
	out_fmt_us(ns, buf, sizeof(buf));
	out_json_key(j, key);
	out_json_raw_number(j, buf);
}

static void ev_head(struct exporter *x, const char *ph, const char *name, const char *cat, int pid,
		    int64_t tid)
{
	out_json_begin_object(&x->j);
	out_json_key(&x->j, "ph");
	out_json_string(&x->j, ph);
	if (name) {
		out_json_key(&x->j, "name");
		out_json_string(&x->j, name);
	}
	if (cat) {
		out_json_key(&x->j, "cat");
		out_json_string(&x->j, cat);
	}
	out_json_key(&x->j, "pid");
	out_json_int(&x->j, pid);
	out_json_key(&x->j, "tid");
	out_json_int(&x->j, tid);
}

static void meta_name(struct exporter *x, const char *what, int pid, int64_t tid, const char *name)
{
	ev_head(x, "M", what, NULL, pid, tid);
	out_json_key(&x->j, "args");
	out_json_begin_object(&x->j);
	out_json_key(&x->j, "name");
	out_json_string(&x->j, name);
	out_json_end_object(&x->j);
	out_json_end_object(&x->j);
}

static void thread_named(struct exporter *x, struct xthread *t)
{
	char buf[64];
	if (t->named)
		return;
	t->named = 1;
	if (t->name) {
		meta_name(x, "thread_name", t->pid, t->tid, t->name);
	} else {
		snprintf(buf, sizeof(buf), "tid %d", t->tid);
		meta_name(x, "thread_name", t->pid, t->tid, buf);
	}
}

/* Whether [s, e] nests with every slice already on the lane. */
static int lane_fits(const struct lane *l, int64_t s, int64_t e)
{
	for (size_t i = l->n; i-- > 0;) {
		const struct interval *v = &l->top[i];
		if (v->end <= s)
			return 1; /* earlier ones end earlier still */
		if (v->start >= s && v->end <= e)
			continue; /* the new slice will contain it */
		if (v->start <= s && v->end >= e)
			return 1; /* inside it */
		return 0;
	}
	return 1;
}

static int lane_add(struct lane *l, int64_t s, int64_t e)
{
	while (l->n && l->top[l->n - 1].end > s && l->top[l->n - 1].start >= s &&
	       l->top[l->n - 1].end <= e)
		l->n--;
	if (l->n && l->top[l->n - 1].start <= s && l->top[l->n - 1].end >= e)
		return 0;
	struct interval *top = store_grow(l->top, &l->cap, l->n, sizeof(*top));
	if (!top)
		return -1;
	l->top = top;
	l->top[l->n++] = (struct interval){s, e};
	return 0;
}

/* Picks the first lane where [s, e] nests, adding one when needed; returns its tid or -1. */
static int64_t lane_for(struct exporter *x, struct xthread *t, int64_t s, int64_t e)
{
	size_t i;
	for (i = 0; i < t->nlanes; i++)
		if (lane_fits(&t->lanes[i], s, e))
			break;
	if (i == t->nlanes) {
		struct lane *n = realloc(t->lanes, (t->nlanes + 1) * sizeof(*n));
		if (!n)
			return -1;
		t->lanes = n;
		memset(&t->lanes[t->nlanes++], 0, sizeof(*n));
		if (i > 0) {
			char buf[300];
			snprintf(buf, sizeof(buf), "%s (holds %zu)", t->name ? t->name : "thread",
				 i);
			meta_name(x, "thread_name", t->pid, t->tid + (int64_t)i * LANE_TID_STEP,
				  buf);
		}
	}
	if (lane_add(&t->lanes[i], s, e))
		return -1;
	return t->tid + (int64_t)i * LANE_TID_STEP;
}

/* A complete slice [s, e]; returns the lane tid it went to, or -1 when out of memory. */
static int64_t slice(struct exporter *x, struct xthread *t, const char *name, const char *cat,
		     int64_t s, int64_t e, int64_t obj, int64_t failed_errno, int unreleased)
{
	/* A wait longer than the time since the trace started (clock skew) starts at 0. */
	if (s < 0)
		s = 0;
	if (e < s)
		e = s;
	int64_t lane = lane_for(x, t, s, e);
	if (lane < 0)
		return -1;
	ev_head(x, "X", name, cat, t->pid, lane);
	json_ts(&x->j, "ts", s);
	json_ts(&x->j, "dur", e - s);
	if (obj || failed_errno || unreleased) {
		out_json_key(&x->j, "args");
		out_json_begin_object(&x->j);
		if (obj) {
			out_json_key(&x->j, "object_id");
			out_json_int(&x->j, obj);
		}
		if (failed_errno) {
			out_json_key(&x->j, "failed_errno");
			out_json_int(&x->j, failed_errno);
		}
		if (unreleased) {
			out_json_key(&x->j, "unreleased");
			out_json_bool(&x->j, 1);
		}
		out_json_end_object(&x->j);
	}
	out_json_end_object(&x->j);
	return lane;
}

static void flow(struct exporter *x, const char *ph, int64_t id, int pid, int64_t tid, int64_t ts)
{
	ev_head(x, ph, "unblock", "lock", pid, tid);
	out_json_key(&x->j, "id");
	out_json_int(&x->j, id);
	json_ts(&x->j, "ts", ts);
	if (ph[0] == 'f') {
		out_json_key(&x->j, "bp");
		out_json_string(&x->j, "e");
	}
	out_json_end_object(&x->j);
}

static void instant(struct exporter *x, int pid, int64_t tid, const char *name, int64_t ts,
		    const char *scope)
{
	ev_head(x, "i", name, "life", pid, tid);
	json_ts(&x->j, "ts", ts);
	out_json_key(&x->j, "s");
	out_json_string(&x->j, scope);
	out_json_end_object(&x->j);
}

/* A point strictly inside [s, e] near the given end, so flows bind to that slice. */
static int64_t inside(int64_t s, int64_t e, int at_end)
{
	if (e - s < 2)
		return at_end ? e : s;
	return at_end ? e - 1 : s + 1;
}

static const char *obj_label(const struct xobj *o, int64_t id, char *buf, size_t len)
{
	if (o && o->name)
		return o->name;
	snprintf(buf, len, "object %" PRId64, id);
	return buf;
}

/* The slice of hold h, ended at end (unreleased: still held when its thread ended). */
static int close_hold(struct exporter *x, struct xthread *t, const struct store_hold *h,
		      int64_t end, int unreleased)
{
	char name[512], lbuf[64];
	struct xobj *o = obj_find(x, h->obj);
	snprintf(name, sizeof(name), "hold %s", obj_label(o, h->obj, lbuf, sizeof(lbuf)));
	int64_t lane = slice(x, t, name, "lock", h->start, end, h->obj, 0, unreleased);
	if (lane < 0)
		return -1;
	if (h->tag)
		flow(x, "f", h->tag, t->pid, lane, inside(h->start, end, 0));
	if (o && !unreleased) {
		o->has_release = 1;
		o->consumed = 0;
		o->rel_pid = t->pid;
		o->rel_lane_tid = lane;
		o->rel_ts = end;
		o->rel_hold_start = h->start;
	}
	return 0;
}

static struct store_holds_event hold_event(const struct xobj *o, int kind, int64_t obj, int64_t ts,
					   int64_t arg)
{
	return (struct store_holds_event){
	    .kind = kind, .obj_kind = o ? o->kind_code : 0, .obj = obj, .ts = ts, .arg = arg};
}

static int on_acquire(struct exporter *x, struct xthread *t, int kind, int64_t obj, int64_t ts,
		      int64_t wait, int64_t arg)
{
	struct xobj *o = obj_find(x, obj);
	char name[512], lbuf[64];
	if (wait > 0) {
		int64_t s = sub_sat(ts, wait);
		/* Clock granularity must not make a wait cross the thread's previous slice. */
		if (t->last_ts != INT64_MIN && s < t->last_ts)
			s = t->last_ts;
		snprintf(name, sizeof(name), "wait %s", obj_label(o, obj, lbuf, sizeof(lbuf)));
		if (slice(x, t, name, "wait", s, ts, obj, 0, 0) < 0)
			return -1;
	}
	struct store_holds_event e = hold_event(o, kind, obj, ts, arg);
	struct store_hold ended;
	enum store_holds_what what = store_holds_apply(&t->holds, &e, &ended);
	if (what == STORE_HOLDS_NO_MEMORY)
		return -1;
	if (what != STORE_HOLDS_ACQUIRED)
		return 0;
	struct store_hold *h = &t->holds.h[t->holds.n - 1];
	/* The release by another thread inside this wait is the one that let it through. */
	if (wait > 0 && o->has_release && !o->consumed &&
	    (o->rel_pid != t->pid || o->rel_lane_tid % LANE_TID_STEP != t->tid) &&
	    o->rel_ts >= sub_sat(ts, wait) && o->rel_ts <= ts) {
		h->tag = ++x->next_flow;
		flow(x, "s", h->tag, o->rel_pid, o->rel_lane_tid,
		     inside(o->rel_hold_start, o->rel_ts, 1));
		if (!o->shared)
			o->consumed = 1;
	}
	return 0;
}

static int on_release(struct exporter *x, struct xthread *t, int kind, int64_t obj, int64_t ts,
		      int64_t arg)
{
	struct xobj *o = obj_find(x, obj);
	struct store_holds_event e = hold_event(o, kind, obj, ts, arg);
	struct store_hold ended;
	switch (store_holds_apply(&t->holds, &e, &ended)) {
	case STORE_HOLDS_RELEASED:
		return close_hold(x, t, &ended, ts, 0);
	case STORE_HOLDS_NOT_HELD:
		/* Released with no acquire recorded (taken before tracing began): still a wake-up.
		 */
		o->has_release = 1;
		o->consumed = 0;
		o->rel_pid = t->pid;
		o->rel_lane_tid = t->tid;
		o->rel_ts = ts;
		o->rel_hold_start = ts;
		return 0;
	default:
		return 0;
	}
}

static int export_events(struct exporter *x)
{
	sqlite3_stmt *st = NULL;
	struct xthread *t = NULL;
	char name[512], lbuf[64];
	int rc, ret = -1;

	/* A finalized trace's ev is in time order already: no sort. */
	if (sqlite3_prepare_v2(
		x->db,
		store_events_time_ordered(x->db)
		    ? "SELECT e.ts, t.pid, t.tid, e.kind, e.obj, e.wait, e.arg FROM ev e"
		      " CROSS JOIN thread_no t ON t.th = e.th ORDER BY e.id"
		    : "SELECT e.ts, t.pid, t.tid, e.kind, e.obj, e.wait, e.arg FROM ev e"
		      " CROSS JOIN thread_no t ON t.th = e.th ORDER BY e.ts, e.id",
		-1, &st, NULL) != SQLITE_OK) {
		ex_db_error(x, "cannot read events");
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(st, 0);
		int pid = sqlite3_column_int(st, 1), tid = sqlite3_column_int(st, 2);
		int kind = sqlite3_column_int(st, 3);
		int64_t obj = sqlite3_column_int64(st, 4);
		int64_t wait = sqlite3_column_int64(st, 5);
		int64_t arg = sqlite3_column_int64(st, 6);
		struct xobj *o;
		if (wait < 0)
			wait = 0;
		if (!t || t->pid != pid || t->tid != tid) {
			t = thread_get(x, pid, tid);
			if (!t)
				goto oom;
			thread_named(x, t);
		}
		if (kind == WEFT_EV_LOCK_ACQUIRE || kind == WEFT_EV_GIL_ACQUIRE) {
			if (on_acquire(x, t, kind, obj, ts, wait, arg))
				goto oom;
		} else if (kind == WEFT_EV_LOCK_RELEASE || kind == WEFT_EV_GIL_RELEASE) {
			if (on_release(x, t, kind, obj, ts, arg))
				goto oom;
		} else if (kind == WEFT_EV_THREAD_JOIN || kind == WEFT_EV_PROCESS_REAP) {
			if (wait > 0) {
				snprintf(name, sizeof(name), "%s %" PRId64,
					 kind == WEFT_EV_THREAD_JOIN ? "join" : "reap", arg);
				if (slice(x, t, name, "wait", sub_sat(ts, wait), ts, 0, 0, 0) < 0)
					goto oom;
			}
		} else if (wait > 0 && kind != WEFT_EV_THREAD_CREATE) {
			/* cond, barrier, failed timed locks, Python events and queues */
			o = obj ? obj_find(x, obj) : NULL;
			if (obj)
				snprintf(name, sizeof(name), "wait %s",
					 obj_label(o, obj, lbuf, sizeof(lbuf)));
			else
				snprintf(name, sizeof(name), "wait");
			if (slice(x, t, name, "wait", sub_sat(ts, wait), ts, obj,
				  kind == WEFT_EV_LOCK_FAIL ? arg : 0, 0) < 0)
				goto oom;
		}
		if (kind == WEFT_EV_THREAD_START) {
			instant(x, pid, tid, "thread start", ts, "t");
		} else if (kind == WEFT_EV_THREAD_EXIT) {
			instant(x, pid, tid, "thread exit", ts, "t");
		} else if (kind == WEFT_EV_PROCESS_FORK || kind == WEFT_EV_PROCESS_SPAWN) {
			snprintf(name, sizeof(name), "%s %" PRId64,
				 kind == WEFT_EV_PROCESS_FORK ? "fork" : "spawn", arg);
			instant(x, pid, tid, name, ts, "t");
		} else if (kind == WEFT_EV_PROCESS_EXEC) {
			if (arg)
				snprintf(name, sizeof(name), "exec failed (errno %" PRId64 ")",
					 arg);
			else
				snprintf(name, sizeof(name), "exec");
			instant(x, pid, tid, name, ts, "t");
		} else if (kind == WEFT_EV_PROCESS_EXIT) {
			snprintf(name, sizeof(name), "exit %" PRId64, arg);
			instant(x, pid, tid, name, ts, "t");
		}
		/*
		 * A lock.wait is ended by the thread's next event, but a
		 * gil.release (a PyMutex Lock lets go of the GIL to park), as in
		 * the derived tables.
		 */
		if (kind == WEFT_EV_LOCK_WAIT) {
			t->wait_open = sub_sat(ts, wait);
			t->wait_obj = obj;
		} else if (kind != WEFT_EV_GIL_RELEASE) {
			t->wait_open = -1;
		}
		if (ts > t->last_ts)
			t->last_ts = ts;
	}
	if (rc != SQLITE_DONE) {
		ex_db_error(x, "cannot read events");
		goto out;
	}
	/*
	 * Waits nothing ended (a deadlock, a Python thread still in Queue.get
	 * at exit): to the thread's end. Then locks still held when the thread
	 * (or the trace) ended.
	 */
	for (size_t i = 0; i < x->nthr; i++) {
		struct xthread *th = &x->thr[i];
		int64_t end = th->end != INT64_MIN ? th->end : x->end_ns;
		if (th->wait_open >= 0 && th->wait_open < end) {
			struct xobj *wo = th->wait_obj ? obj_find(x, th->wait_obj) : NULL;
			snprintf(name, sizeof(name), "wait %s",
				 obj_label(wo, th->wait_obj, lbuf, sizeof(lbuf)));
			if (slice(x, th, name, "wait", th->wait_open, end, th->wait_obj, 0, 0) < 0)
				goto oom;
		}
		while (th->holds.n) {
			struct store_hold h;
			store_holds_drop(&th->holds, &th->holds.h[th->holds.n - 1], &h);
			if (close_hold(x, th, &h, end > h.start ? end : h.start, 1))
				goto oom;
		}
	}
	ret = 0;
	goto out;
oom:
	weft_error("out of memory");
out:
	sqlite3_finalize(st);
	return ret;
}

static int process_row(void *ctx, sqlite3_stmt *st)
{
	struct exporter *x = ctx;
	char buf[64];
	const char *argv = (const char *)sqlite3_column_text(st, 1);
	snprintf(buf, sizeof(buf), "pid %d", sqlite3_column_int(st, 0));
	meta_name(x, "process_name", sqlite3_column_int(st, 0), 0, argv ? argv : buf);
	return 0;
}

static int thread_row(void *ctx, sqlite3_stmt *st)
{
	struct exporter *x = ctx;
	struct xthread *t = thread_get(x, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
	if (!t)
		return -1;
	free(t->name);
	t->name = dup_text(st, 2);
	t->end =
	    sqlite3_column_type(st, 3) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 3);
	if (t->end != INT64_MIN && t->end > x->end_ns)
		x->end_ns = t->end;
	thread_named(x, t);
	return 0;
}

static int load_threads_and_processes(struct exporter *x)
{
	if (weft_read_rows(x->db, x->path, "processes",
			   "SELECT pid, argv FROM processes ORDER BY start_ns, pid", process_row,
			   x))
		return -1;
	return weft_read_rows(x->db, x->path, "threads",
			      "SELECT pid, tid, name, end_ns FROM threads ORDER BY pid, tid",
			      thread_row, x);
}

static int end_row(void *ctx, sqlite3_stmt *st)
{
	struct exporter *x = ctx;
	x->end_ns = sqlite3_column_int64(st, 0);
	return 0;
}

/* The query always answers one row: meta end_ns when the tracer finished, else the latest event. */
static int load_end(struct exporter *x)
{
	return weft_read_rows(x->db, x->path, "the trace end",
			      "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta"
			      " WHERE key = 'end_ns'), (SELECT max(ts) FROM ev), 0)",
			      end_row, x);
}

/* Findings become instants when the trace has them (at ts_ns on pid/tid when those columns exist).
 */
static int export_findings(struct exporter *x)
{
	sqlite3_stmt *st = NULL;
	int rc, has = 0;
	if (sqlite3_prepare_v2(x->db,
			       "SELECT 1 FROM sqlite_master WHERE name = 'findings'"
			       " AND type IN ('table', 'view')",
			       -1, &st, NULL) != SQLITE_OK) {
		ex_db_error(x, "cannot read the schema");
		return -1;
	}
	has = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!has)
		return 0;
	if (sqlite3_prepare_v2(x->db, "SELECT * FROM findings", -1, &st, NULL) != SQLITE_OK) {
		ex_db_error(x, "cannot read findings");
		return -1;
	}
	int c_id = -1, c_kind = -1, c_sum = -1, c_ts = -1, c_pid = -1, c_tid = -1;
	for (int c = 0; c < sqlite3_column_count(st); c++) {
		const char *n = sqlite3_column_name(st, c);
		if (!strcmp(n, "finding_id"))
			c_id = c;
		else if (!strcmp(n, "kind"))
			c_kind = c;
		else if (!strcmp(n, "summary"))
			c_sum = c;
		else if (!strcmp(n, "ts_ns"))
			c_ts = c;
		else if (!strcmp(n, "pid"))
			c_pid = c;
		else if (!strcmp(n, "tid"))
			c_tid = c;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char name[256];
		const unsigned char *kind = c_kind >= 0 ? sqlite3_column_text(st, c_kind) : NULL;
		snprintf(name, sizeof(name), "finding: %s", kind ? (const char *)kind : "?");
		int pid = c_pid >= 0 ? sqlite3_column_int(st, c_pid) : 0;
		int tid = c_tid >= 0 ? sqlite3_column_int(st, c_tid) : 0;
		int thread_scope = c_tid >= 0 && sqlite3_column_type(st, c_tid) != SQLITE_NULL;
		ev_head(x, "i", name, "finding", pid, tid);
		json_ts(&x->j, "ts", c_ts >= 0 ? sqlite3_column_int64(st, c_ts) : 0);
		out_json_key(&x->j, "s");
		out_json_string(&x->j, thread_scope ? "t" : "g");
		out_json_key(&x->j, "args");
		out_json_begin_object(&x->j);
		if (c_id >= 0) {
			out_json_key(&x->j, "finding_id");
			out_json_int(&x->j, sqlite3_column_int64(st, c_id));
		}
		if (c_sum >= 0) {
			out_json_key(&x->j, "summary");
			out_json_string(&x->j, (const char *)sqlite3_column_text(st, c_sum));
		}
		out_json_end_object(&x->j);
		out_json_end_object(&x->j);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ex_db_error(x, "cannot read findings");
		return -1;
	}
	return 0;
}

static int export_chrome(struct exporter *x, FILE *f)
{
	sqlite3_stmt *st = NULL;
	out_json_init(&x->j, f, 2);
	out_json_begin_object(&x->j);
	/*
	 * No displayTimeUnit: some Perfetto versions read it as the unit of
	 * ts, which must stay microseconds for every viewer.
	 */
	out_json_key(&x->j, "otherData");
	out_json_begin_object(&x->j);
	out_json_key(&x->j, "source");
	out_json_string(&x->j, "weft");
	if (sqlite3_prepare_v2(x->db,
			       "SELECT key, value FROM meta WHERE key IN"
			       " ('command', 'host', 'weft_version', 'start_unix_ns', 'complete')"
			       " ORDER BY key",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			out_json_key(&x->j, (const char *)sqlite3_column_text(st, 0));
			out_json_string(&x->j, (const char *)sqlite3_column_text(st, 1));
		}
	}
	sqlite3_finalize(st);
	out_json_end_object(&x->j);
	out_json_key(&x->j, "traceEvents");
	out_json_begin_array(&x->j);
	if (load_end(x) || load_objects(x) || load_threads_and_processes(x) || export_events(x) ||
	    export_findings(x))
		return -1;
	out_json_end_array(&x->j);
	out_json_end_object(&x->j);
	return 0;
}

static int export_csv(struct exporter *x, FILE *f, int sanitize)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (sqlite3_prepare_v2(x->db,
			       "SELECT e.*, o.name AS object_name, fr.function AS function,"
			       " fr.file AS file, fr.line AS line"
			       " FROM events e"
			       " LEFT JOIN objects o ON o.object_id = e.object_id"
			       " LEFT JOIN stack_frames fr ON fr.stack_id = e.stack_id"
			       " AND fr.depth = 0"
			       " ORDER BY e.id",
			       -1, &st, NULL) != SQLITE_OK) {
		ex_db_error(x, "cannot read events");
		return -1;
	}
	int ncol = sqlite3_column_count(st);
	for (int c = 0; c < ncol; c++) {
		const char *n = sqlite3_column_name(st, c);
		out_csv_field(f, n, strlen(n), c == 0, sanitize);
	}
	out_csv_end_row(f);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < ncol; c++) {
			const char *s = (const char *)sqlite3_column_text(st, c);
			out_csv_field(f, s, s ? (size_t)sqlite3_column_bytes(st, c) : 0, c == 0,
				      sanitize);
		}
		out_csv_end_row(f);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ex_db_error(x, "cannot read events");
		return -1;
	}
	return 0;
}

static void exporter_free(struct exporter *x)
{
	for (size_t i = 0; i < x->nthr; i++) {
		free(x->thr[i].name);
		for (size_t l = 0; l < x->thr[i].nlanes; l++)
			free(x->thr[i].lanes[l].top);
		free(x->thr[i].lanes);
		store_holds_free(&x->thr[i].holds);
	}
	for (size_t i = 0; i < x->nobj; i++) {
		free(x->obj[i].name);
		free(x->obj[i].kind);
	}
	free(x->thr);
	free(x->obj);
	hashmap_u64_free(&x->thr_map);
	hashmap_u64_free(&x->obj_map);
	sqlite3_close(x->db);
}

int weft_export(const char *path, const char *format, const char *out)
{
	struct exporter x;
	char err[1024], *tmp = NULL;
	FILE *f = NULL;
	int ret = 1, to_stdout = !out;
	struct stat in_sb, out_sb;

	memset(&x, 0, sizeof(x));
	x.path = path;
	x.db = store_open_read(path, err, sizeof(err));
	if (!x.db) {
		weft_error("%s", err);
		return 1;
	}
	if (to_stdout) {
		f = stdout;
	} else if (stat(out, &out_sb) == 0 && !S_ISREG(out_sb.st_mode)) {
		/* A device or FIFO (e.g. /dev/null) is written in place. */
		f = fopen(out, "w");
		if (!f) {
			weft_error("export: cannot open %s: %s", out, strerror(errno));
			goto out;
		}
	} else {
		if (stat(out, &out_sb) == 0 && stat(path, &in_sb) == 0 &&
		    out_sb.st_dev == in_sb.st_dev && out_sb.st_ino == in_sb.st_ino) {
			weft_error("export: %s is the trace itself; choose another output", out);
			goto out;
		}
		/* A temporary name renamed at the end: no half-written OUT after an error. */
		if (asprintf(&tmp, "%s.tmpXXXXXX", out) < 0) {
			tmp = NULL;
			weft_error("out of memory");
			goto out;
		}
		int fd = mkstemp(tmp);
		if (fd < 0) {
			weft_error("export: cannot create %s: %s", out, strerror(errno));
			free(tmp);
			tmp = NULL;
			goto out;
		}
		/* mkstemp makes 0600; an export is an ordinary file. */
		mode_t mask = umask(0);
		umask(mask);
		fchmod(fd, 0666 & ~mask);
		f = fdopen(fd, "w");
		if (!f) {
			close(fd);
			weft_error("export: cannot write %s: %s", out, strerror(errno));
			goto out;
		}
	}

	int rc = !strcmp(format, "chrome") ? export_chrome(&x, f)
					   : export_csv(&x, f, to_stdout && isatty(STDOUT_FILENO));
	if (rc)
		goto out;
	if (fflush(f) != 0 || ferror(f)) {
		weft_error("export: cannot write %s: %s", to_stdout ? "stdout" : out,
			   strerror(errno));
		goto out;
	}
	if (tmp) {
		int cerr = fclose(f);
		f = NULL;
		if (cerr != 0 || rename(tmp, out) != 0) {
			weft_error("export: cannot write %s: %s", out, strerror(errno));
			goto out;
		}
		free(tmp);
		tmp = NULL;
	}
	ret = 0;
out:
	if (f && f != stdout)
		fclose(f);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	exporter_free(&x);
	return ret;
}
