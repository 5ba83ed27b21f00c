/*
 * weft report FILE [--json]: a summary of a trace. Findings (when the trace
 * has them), the process tree, how each thread's lifetime splits between
 * running and waiting, the most contended locks, the GIL, event counts and
 * what the recorder could not record.
 *
 * Everything about events comes from the summary tables the writer keeps
 * (sum_*, a few rows per thread, object and kind) when the trace is
 * complete; otherwise from one sequential pass over the raw `ev` table in
 * rowid order (program order within a thread), aggregated in hash tables.
 * The p90 of a lock's waits is selected from the contended waits kept in
 * memory (uncontended acquisitions only count).
 */
#include "tracer/cli.h"
#include "tracer/hashmap.h"
#include "tracer/output.h"
#include "store/store.h"
#include "store/store_blame.h"
#include "store/store_viewcache.h"
#include "store/store_util.h"

#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TOP_LOCKS 10
/* Threads of a process whose names differ only in their numbers, this many or more, share a row. */
#define GROUP_MIN 5

/* ---- the aggregates ---- */

struct rthread {
	int pid, tid;
	char *name;
	int64_t start, end; /* INT64_MIN: unknown */
	int has_row;
	int64_t first_ts, last_ts, nevents;
	int64_t lock_wait, cond_wait, barrier_wait, join_wait, other_wait;
	/* A Python thread's split from the derived spans (from_spans): running = GIL held. */
	int from_spans;
	int64_t span_running, queue_wait, off_gil;
	int64_t unrecorded, producer_waits;
	int64_t gil_hold, gil_wait, gil_acq, gil_drops, gil_forced;
	int64_t gil_open;   /* -1 when not held */
	int64_t wait_open;  /* a lock.wait no acquire or fail has ended yet, else -1 */
	int64_t noteworthy; /* events other than process and thread start/exit bookkeeping */
	/* computed */
	int64_t life_start, life_end;
	long group; /* index into report.groups, -1 when listed alone */
};

/* Threads of one process listed as one row: same name but for its numbers. */
struct rgroup {
	int pid;
	char *pattern;	 /* the name with each run of digits as N */
	size_t *members; /* indexes into report.thr, in thread order */
	size_t n;
	int printed;
};

struct robj {
	int64_t id;
	int native; /* a C-level lock (mutex, rwlock, spinlock, semaphore), not a Python object */
	int64_t acq, contended, fails, fail_wait, wait_sum, wait_max, max_stack;
	int64_t *waits; /* contended acquisition waits, for the p90 */
	size_t nwaits, capwaits;
	int64_t p90;
	int p90_known; /* read from the summaries */
	/*
	 * A named semaphore's objects of other processes merged into this one
	 * (merge_named_semaphores): how many processes (0: not merged), and p90
	 * then only an upper bound (each process's p90 came from the summaries).
	 */
	int nprocs, p90_bound;
};

struct rproc {
	int pid, ppid;
	char *argv;
	int64_t start, end, exit_code, exit_signal; /* INT64_MIN: NULL */
	char *name;				    /* the multiprocessing Process name, or NULL */
	int has_row, visited;
	int depth;
	long parent;	  /* index into report.proc in the tree, -1 for a root */
	int quiet;	  /* none of its threads made a noteworthy event */
	int collapsed;	  /* quiet with its whole subtree, under a shown parent: summarised */
	long anchor;	  /* collapsed: the shown ancestor whose summary line counts it */
	size_t nanchored; /* processes collapsed under this one */
};

/* Waits listed with their blame chains. */
#define REPORT_WAITS 3

struct report {
	const char *path;
	sqlite3 *db;
	int derived; /* the derived tables are attached or built */
	struct store_blame waits[REPORT_WAITS];
	int nwaits;
	char waits_error[256]; /* why they could not be computed */
	/* meta */
	char *command, *host, *weft_version, *stacks, *clock, *exit_status, *events_lost;
	int complete;
	int64_t end_ns; /* trace duration; from meta, else the latest time seen */
	int end_from_meta;
	/* aggregates */
	struct rthread *thr;
	size_t nthr, capthr;
	struct hashmap_u64 thr_map; /* (pid << 32 | tid) -> index in thr */
	struct robj *obj;
	size_t nobj, capobj;
	struct hashmap_u64 obj_map; /* object id -> index in obj */
	struct rproc *proc;
	size_t nproc, capproc;
	int64_t kind_count[256], kind_other, total_events;
	int has_gil;
	/* processes in tree order */
	size_t *order;
	size_t norder;
	/* top locks (indexes into obj) */
	size_t top[TOP_LOCKS];
	size_t ntop;
	struct {
		int64_t n, acq;
	} unwaited[2]; /* locks nobody waited on: [0] Python, [1] native */
	/* repeated threads */
	struct rgroup *groups;
	size_t ngroups;
	int list_all; /* --threads all: no thread groups, no summarised processes */
	int has_findings;
	int findings_rich;	  /* weft's own findings view (severity, count, finding_items) */
	int findings_computed;	  /* built now in the temp schema: the trace had none */
	char findings_error[256]; /* why they could not be computed */
};

/*
 * A process whose threads made only these (a launcher's fork, exec and
 * reaping, like pyenv's shim running readlink) is summarised.
 */
static int noteworthy(int kind)
{
	return kind != WEFT_EV_PROCESS_FORK && kind != WEFT_EV_PROCESS_EXEC &&
	       kind != WEFT_EV_PROCESS_SPAWN && kind != WEFT_EV_PROCESS_EXIT &&
	       kind != WEFT_EV_PROCESS_REAP && kind != WEFT_EV_THREAD_START &&
	       kind != WEFT_EV_THREAD_EXIT;
}

static int64_t col_opt(sqlite3_stmt *st, int c)
{
	return sqlite3_column_type(st, c) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, c);
}

static char *col_dup(sqlite3_stmt *st, int c)
{
	const unsigned char *s = sqlite3_column_text(st, c);
	return s ? strdup((const char *)s) : NULL;
}

static void report_error(struct report *r, const char *what)
{
	weft_error("%s: %s: %s", r->path, what, sqlite3_errmsg(r->db));
}

/* clang-format off */
/* The meta keys the report shows as written, and where it keeps each. */
static const struct {
	const char *key;
	size_t at; /* offset of the char * in struct report */
} meta_texts[] = {
	{"command",      offsetof(struct report, command)},
	{"host",         offsetof(struct report, host)},
	{"weft_version", offsetof(struct report, weft_version)},
	{"stacks",       offsetof(struct report, stacks)},
	{"clock",        offsetof(struct report, clock)},
	{"exit_status",  offsetof(struct report, exit_status)},
	{"events_lost",  offsetof(struct report, events_lost)},
};
/* clang-format on */

static int meta_row(void *ctx, sqlite3_stmt *st)
{
	struct report *r = ctx;
	const char *key = (const char *)sqlite3_column_text(st, 0);
	if (!key)
		return 0;
	for (size_t k = 0; k < sizeof(meta_texts) / sizeof(meta_texts[0]); k++) {
		if (!strcmp(key, meta_texts[k].key)) {
			char **slot = (char **)((char *)r + meta_texts[k].at);
			free(*slot);
			*slot = col_dup(st, 1);
			return 0;
		}
	}
	if (!strcmp(key, "complete")) {
		r->complete = sqlite3_column_int(st, 1) == 1;
	} else if (!strcmp(key, "end_ns") && sqlite3_column_type(st, 1) != SQLITE_NULL) {
		r->end_ns = sqlite3_column_int64(st, 1);
		r->end_from_meta = 1;
	}
	return 0;
}

static int load_meta(struct report *r)
{
	return weft_read_rows(r->db, r->path, "meta", "SELECT key, value FROM meta", meta_row, r);
}

static struct rthread *thread_get(struct report *r, int pid, int tid)
{
	/* Unsigned: a corrupt trace may hold negative pids. */
	uint64_t key = ((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid;
	int added;
	struct rthread *t = hashmap_u64_row(&r->thr_map, (void **)&r->thr, &r->nthr, &r->capthr,
					    sizeof(*t), key, &added);
	if (t && added) {
		t->pid = pid;
		t->tid = tid;
		t->start = t->end = INT64_MIN;
		t->first_ts = INT64_MAX;
		t->last_ts = INT64_MIN;
		t->gil_open = -1;
		t->wait_open = -1;
		t->group = -1;
	}
	return t;
}

static struct robj *obj_get(struct report *r, int64_t id)
{
	int added;
	struct robj *o = hashmap_u64_row(&r->obj_map, (void **)&r->obj, &r->nobj, &r->capobj,
					 sizeof(*o), (uint64_t)id, &added);
	if (o && added)
		o->id = id;
	return o;
}

static int thread_row(void *ctx, sqlite3_stmt *st)
{
	struct report *r = ctx;
	struct rthread *t = thread_get(r, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
	if (!t)
		return -1;
	t->has_row = 1;
	free(t->name);
	t->name = col_dup(st, 2);
	t->start = col_opt(st, 3);
	t->end = col_opt(st, 4);
	t->unrecorded = sqlite3_column_int64(st, 5);
	t->producer_waits = sqlite3_column_int64(st, 6);
	return 0;
}

static int load_threads(struct report *r)
{
	return weft_read_rows(r->db, r->path, "threads",
			      "SELECT pid, tid, name, start_ns, end_ns, unrecorded, producer_waits"
			      " FROM threads ORDER BY pid, tid",
			      thread_row, r);
}

static int process_row(void *ctx, sqlite3_stmt *st)
{
	struct report *r = ctx;
	struct rproc *proc = store_grow(r->proc, &r->capproc, r->nproc, sizeof(*proc));
	if (!proc)
		return -1;
	r->proc = proc;
	struct rproc *p = &r->proc[r->nproc++];
	memset(p, 0, sizeof(*p));
	p->has_row = 1;
	p->pid = sqlite3_column_int(st, 0);
	p->ppid = sqlite3_column_int(st, 1);
	p->argv = col_dup(st, 2);
	p->start = col_opt(st, 3);
	p->end = col_opt(st, 4);
	p->exit_code = col_opt(st, 5);
	p->exit_signal = col_opt(st, 6);
	p->name = col_dup(st, 7);
	return 0;
}

static int load_processes(struct report *r)
{
	return weft_read_rows(
	    r->db, r->path, "processes",
	    "SELECT pid, ppid, argv, start_ns, end_ns, exit_code, exit_signal, name"
	    " FROM processes ORDER BY start_ns, pid",
	    process_row, r);
}

static int push_wait(struct robj *o, int64_t w)
{
	int64_t *waits = store_grow(o->waits, &o->capwaits, o->nwaits, sizeof(*waits));
	if (!waits)
		return -1;
	o->waits = waits;
	o->waits[o->nwaits++] = w;
	return 0;
}

/*
 * Counts n events of one kind of thread t, the first at first and the
 * last at last, that waited wait in all: where each kind's wait goes in the
 * thread's time split. One event of the scan, or one summary row.
 */
static void count_kind(struct report *r, struct rthread *t, int kind, int64_t n, int64_t wait,
		       int64_t first, int64_t last)
{
	t->nevents += n;
	if (noteworthy(kind))
		t->noteworthy += n;
	if (first < t->first_ts)
		t->first_ts = first;
	if (last > t->last_ts)
		t->last_ts = last;
	r->total_events += n;
	if (kind >= 0 && kind < 256)
		r->kind_count[kind] += n;
	else
		r->kind_other += n;
	if (kind == WEFT_EV_LOCK_WAIT) {
		/* no wait of its own: an open one is the thread's wait_open */
	} else if (kind == WEFT_EV_LOCK_ACQUIRE || kind == WEFT_EV_LOCK_FAIL) {
		t->lock_wait += wait;
	} else if (kind == WEFT_EV_COND_WAIT) {
		t->cond_wait += wait;
	} else if (kind == WEFT_EV_BARRIER_WAIT) {
		t->barrier_wait += wait;
	} else if (kind == WEFT_EV_THREAD_JOIN) {
		t->join_wait += wait;
	} else if (kind == WEFT_EV_GIL_ACQUIRE) {
		r->has_gil = 1;
		t->gil_acq += n;
		t->gil_wait += wait;
		t->other_wait += wait;
	} else if (kind == WEFT_EV_GIL_RELEASE) {
		r->has_gil = 1;
	} else if (kind == WEFT_EV_GIL_DROP_REQUEST) {
		r->has_gil = 1;
		t->gil_drops += n;
	} else if (kind == WEFT_EV_GIL_FORCED_SWITCH) {
		r->has_gil = 1;
		t->gil_forced += n;
	} else if (kind != WEFT_EV_THREAD_CREATE) {
		/* Time in pthread_create counts as running; any other wait is "other". */
		t->other_wait += wait;
	}
}

/* The one pass over all events. */
static int scan_events(struct report *r)
{
	sqlite3_stmt *st = NULL;
	struct rthread *t = NULL;
	int ret = -1, rc;

	/* ev drives the loop in rowid order; thread_no is a lookup per row */
	if (sqlite3_prepare_v2(r->db,
			       "SELECT t.pid, t.tid, e.kind, e.obj, e.wait, e.ts, e.stack FROM ev e"
			       " CROSS JOIN thread_no t ON t.th = e.th",
			       -1, &st, NULL) != SQLITE_OK) {
		report_error(r, "cannot read events");
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int pid = sqlite3_column_int(st, 0), tid = sqlite3_column_int(st, 1);
		int kind = sqlite3_column_int(st, 2);
		int64_t objid = sqlite3_column_int64(st, 3);
		int64_t wait = sqlite3_column_int64(st, 4);
		int64_t ts = sqlite3_column_int64(st, 5);
		if (wait < 0)
			wait = 0;
		/* Events come in runs from one thread: skip the lookup while it stays the same. */
		if (!t || t->pid != pid || t->tid != tid) {
			t = thread_get(r, pid, tid);
			if (!t)
				goto oom;
		}
		count_kind(r, t, kind, 1, wait, ts, ts);
		if (kind == WEFT_EV_LOCK_WAIT) {
			t->wait_open =
			    ts - wait; /* one recorded at exit has waited wait_ns already */
		} else if (kind == WEFT_EV_LOCK_ACQUIRE || kind == WEFT_EV_LOCK_FAIL) {
			t->wait_open = -1;
			struct robj *o = objid ? obj_get(r, objid) : NULL;
			if (objid && !o)
				goto oom;
			if (o && kind == WEFT_EV_LOCK_ACQUIRE) {
				o->acq++;
				o->wait_sum += wait;
				if (wait > 0) {
					o->contended++;
					if (push_wait(o, wait))
						goto oom;
				}
				/* The first of the longest waits names the site. */
				if (o->acq == 1 || wait > o->wait_max) {
					o->wait_max = wait;
					o->max_stack = sqlite3_column_int64(st, 6);
				}
			} else if (o) {
				o->fails++;
				o->fail_wait += wait;
			}
		} else if (kind == WEFT_EV_GIL_ACQUIRE) {
			t->gil_open = ts;
		} else if (kind == WEFT_EV_GIL_RELEASE) {
			if (t->gil_open >= 0 && ts >= t->gil_open)
				t->gil_hold += ts - t->gil_open;
			t->gil_open = -1;
		}
	}
	if (rc != SQLITE_DONE) {
		report_error(r, "cannot read events");
		goto out;
	}
	ret = 0;
	goto out;
oom:
	weft_error("out of memory");
out:
	sqlite3_finalize(st);
	return ret;
}

/* One sum_thread row: what the event scan leaves open at the end. */
static int thread_sum_row(void *ctx, sqlite3_stmt *st)
{
	struct report *r = ctx;
	struct rthread *t = thread_get(r, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
	if (!t)
		return -1;
	t->gil_hold = sqlite3_column_int64(st, 2);
	t->wait_open = sqlite3_column_int64(st, 3);
	return 0;
}

/* One sum_thread_kind row: a thread's events of one kind, as the scan counts them. */
static int thread_kind_sum_row(void *ctx, sqlite3_stmt *st)
{
	struct report *r = ctx;
	struct rthread *t = thread_get(r, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
	if (!t)
		return -1;
	int64_t n = sqlite3_column_int64(st, 3), wait = sqlite3_column_int64(st, 4);
	int64_t first = sqlite3_column_int64(st, 5), last = sqlite3_column_int64(st, 6);
	count_kind(r, t, sqlite3_column_int(st, 2), n, wait, first, last);
	return 0;
}

/* One sum_object_kind row: a lock's acquisitions or its failed tries. */
static int object_sum_row(void *ctx, sqlite3_stmt *st)
{
	struct report *r = ctx;
	struct robj *o = obj_get(r, sqlite3_column_int64(st, 0));
	if (!o)
		return -1;
	if (sqlite3_column_int(st, 1) == WEFT_EV_LOCK_ACQUIRE) {
		o->acq = sqlite3_column_int64(st, 2);
		o->contended = sqlite3_column_int64(st, 3);
		o->wait_sum = sqlite3_column_int64(st, 4);
		o->wait_max = sqlite3_column_int64(st, 5);
		o->max_stack = sqlite3_column_int64(st, 6);
		o->p90 = sqlite3_column_int64(st, 7);
		o->p90_known = 1;
	} else {
		o->fails = sqlite3_column_int64(st, 2);
		o->fail_wait = sqlite3_column_int64(st, 4);
	}
	return 0;
}

/*
 * A finalized trace answers from its summary tables instead (docs/SCHEMA.md,
 * kept by the writer as it wrote ev): a few rows per thread and object, the
 * same numbers as the scan above. They are used only when they count
 * exactly the events in ev (a writer whose writes failed leaves them
 * empty) and the trace is complete: a killed tracer's trace has no p90s,
 * and its rows are not yet in their final order, which names the first of
 * equal longest waits. Returns 1 when used, 0 when the scan must run.
 */
static int load_summaries(struct report *r)
{
	if (!r->complete || store_summaries_exact(r->db) != 1)
		return 0;
	/* Threads without a `threads` row come in the order of their first event, as in the scan.
	 */
	if (weft_read_rows(r->db, r->path, "the summaries",
			   "SELECT t.pid, t.tid, s.gil_hold, s.wait_open FROM sum_thread s"
			   " JOIN thread_no t ON t.th = s.th ORDER BY s.first_ts, s.first_seq",
			   thread_sum_row, r) ||
	    weft_read_rows(r->db, r->path, "the summaries",
			   "SELECT t.pid, t.tid, s.kind, s.events, s.wait, s.first_ts, s.last_ts"
			   " FROM sum_thread_kind s JOIN thread_no t ON t.th = s.th",
			   thread_kind_sum_row, r))
		return -1;
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT s.obj, s.kind, s.events, s.waited, s.wait, s.max_wait,"
		 " s.max_stack, p.p90 FROM sum_object_kind s"
		 " LEFT JOIN sum_p90 p ON p.obj = s.obj WHERE s.kind IN (%d, %d)",
		 WEFT_EV_LOCK_ACQUIRE, WEFT_EV_LOCK_FAIL);
	return weft_read_rows(r->db, r->path, "the summaries", sql, object_sum_row, r) ? -1 : 1;
}

static void swap64(int64_t *a, int64_t *b)
{
	int64_t t = *a;
	*a = *b;
	*b = t;
}

/* The k-th smallest of v[0..n) (0-based), reordering v; expected O(n). */
static int64_t select_kth(int64_t *v, size_t n, size_t k)
{
	long lo = 0, hi = (long)n - 1, want = (long)k;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	while (lo < hi) {
		/* xorshift: a cheap pseudo-random pivot against adversarial orders */
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		swap64(&v[lo + (long)(seed % (uint64_t)(hi - lo + 1))], &v[hi]);
		int64_t pivot = v[hi];
		/* Three-way partition: equal waits are common (timer granularity). */
		long lt = lo, i = lo, gt = hi;
		while (i <= gt) {
			if (v[i] < pivot)
				swap64(&v[lt++], &v[i++]);
			else if (v[i] > pivot)
				swap64(&v[i], &v[gt--]);
			else
				i++;
		}
		if (want < lt)
			hi = lt - 1;
		else if (want > gt)
			lo = gt + 1;
		else
			return pivot;
	}
	return v[lo];
}

/*
 * p90 by nearest rank over all acquisitions: the ceil(0.9 n)-th smallest
 * wait. Uncontended ones (wait 0) are the smallest, so only the contended
 * waits need to be ranked.
 */
static void compute_p90(struct robj *o)
{
	if (o->acq <= 0 || o->p90_known)
		return;
	uint64_t n = (uint64_t)o->acq;
	uint64_t rank = (uint64_t)store_p90_rank(o->acq);
	uint64_t zeros = n - o->nwaits;
	if (rank < zeros || !o->nwaits)
		o->p90 = 0;
	else
		o->p90 = select_kth(o->waits, o->nwaits, (size_t)(rank - zeros));
}

static int cmp_lock(const struct robj *a, const struct robj *b)
{
	if (a->wait_sum != b->wait_sum)
		return a->wait_sum > b->wait_sum ? -1 : 1;
	if (a->contended != b->contended)
		return a->contended > b->contended ? -1 : 1;
	if (a->acq != b->acq)
		return a->acq > b->acq ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Object kinds of C-level locks: those nobody waited on are summarised, not listed. */
static const char *const native_lock_kinds[] = {"mutex", "rwlock", "spinlock", "semaphore"};

static int native_lock_row(void *ctx, sqlite3_stmt *st)
{
	struct report *r = ctx;
	uint64_t *i = hashmap_u64_get(&r->obj_map, (uint64_t)sqlite3_column_int64(st, 0));
	const char *kind = (const char *)sqlite3_column_text(st, 1);
	if (!i || !kind)
		return 0;
	for (size_t k = 0; k < sizeof(native_lock_kinds) / sizeof(native_lock_kinds[0]); k++)
		if (!strcmp(kind, native_lock_kinds[k]))
			r->obj[*i].native = 1;
	return 0;
}

static int mark_native_locks(struct report *r)
{
	return weft_read_rows(r->db, r->path, "objects", "SELECT object_id, kind FROM objects",
			      native_lock_row, r);
}

/*
 * A named POSIX semaphore (sem_open: multiprocessing's Lock, Semaphore,
 * Queue) is one lock in the kernel however many processes open it, but an
 * object per process in the trace: a Pool's task lock was listed once per
 * worker. The objects of one name go into the first, listed once with the
 * number of processes; the others are left with no acquisitions.
 */
struct sem_merge {
	struct report *r;
	char name[256];
	struct robj *first;
	int last_pid;
};

/* Merges b's counts into a; the waits' p90 stays exact when both have their waits. */
static int merge_lock(struct robj *a, struct robj *b)
{
	if (b->p90_known || a->p90_known) {
		/*
		 * The p90 of the union lies between the two: exact when they are
		 * equal (0 and 0, most often), else at most the larger.
		 */
		if (!a->acq) {
			a->p90 = b->p90;
		} else if (b->acq && b->p90 != a->p90) {
			a->p90 = a->p90 > b->p90 ? a->p90 : b->p90;
			a->p90_bound = 1;
		}
		a->p90_known = 1;
	} else {
		for (size_t i = 0; i < b->nwaits; i++)
			if (push_wait(a, b->waits[i]))
				return -1;
	}
	if (b->wait_max > a->wait_max) {
		a->wait_max = b->wait_max;
		a->max_stack = b->max_stack;
	}
	a->acq += b->acq;
	a->contended += b->contended;
	a->fails += b->fails;
	a->fail_wait += b->fail_wait;
	a->wait_sum += b->wait_sum;
	/* as compute_p90 ranks: the p90 falls among the acquisitions that never waited */
	if (a->p90_bound && store_p90_rank(a->acq) < a->acq - a->contended) {
		a->p90 = 0;
		a->p90_bound = 0;
	}
	b->acq = b->contended = b->fails = b->fail_wait = b->wait_sum = b->wait_max = 0;
	b->nwaits = 0;
	return 0;
}

static int named_sem_row(void *ctx, sqlite3_stmt *st)
{
	struct sem_merge *m = ctx;
	uint64_t *i = hashmap_u64_get(&m->r->obj_map, (uint64_t)sqlite3_column_int64(st, 0));
	const char *name = (const char *)sqlite3_column_text(st, 1);
	int pid = sqlite3_column_int(st, 2);
	if (!i || !name)
		return 0;
	struct robj *o = &m->r->obj[*i];
	if (!m->first || strcmp(name, m->name)) {
		snprintf(m->name, sizeof(m->name), "%s", name);
		m->first = o;
		m->last_pid = pid;
		o->nprocs = 1;
		return 0;
	}
	if (pid != m->last_pid) {
		m->first->nprocs++;
		m->last_pid = pid;
	}
	return merge_lock(m->first, o);
}

static int merge_named_semaphores(struct report *r)
{
	struct sem_merge m = {.r = r};
	return weft_read_rows(r->db, r->path, "objects",
			      "SELECT object_id, name, pid FROM objects WHERE kind = 'semaphore'"
			      " AND name LIKE 'semaphore /%' ORDER BY name, pid, object_id",
			      named_sem_row, &m);
}

static int pick_top_locks(struct report *r)
{
	r->ntop = 0;
	if (mark_native_locks(r) || merge_named_semaphores(r))
		return -1;
	for (size_t i = 0; i < r->nobj; i++) {
		struct robj *o = &r->obj[i];
		if (!o->acq && !o->fails)
			continue;
		/*
		 * Locks nobody waited on would fill the list: C ones named by address
		 * (OpenSSL's, an allocator's), a Python lock per request or socket.
		 */
		if (!o->wait_sum && !o->contended && !o->fails) {
			r->unwaited[o->native].n++;
			r->unwaited[o->native].acq += o->acq;
			continue;
		}
		/* Insertion into a short sorted list. */
		size_t pos = r->ntop;
		while (pos > 0 && cmp_lock(o, &r->obj[r->top[pos - 1]]) < 0)
			pos--;
		if (pos >= TOP_LOCKS)
			continue;
		size_t last = r->ntop < TOP_LOCKS ? r->ntop : TOP_LOCKS - 1;
		for (size_t j = last; j > pos; j--)
			r->top[j] = r->top[j - 1];
		r->top[pos] = i;
		if (r->ntop < TOP_LOCKS)
			r->ntop++;
	}
	for (size_t i = 0; i < r->ntop; i++)
		compute_p90(&r->obj[r->top[i]]);
	return 0;
}

static struct rproc *proc_find(struct report *r, int pid)
{
	for (size_t i = 0; i < r->nproc; i++)
		if (r->proc[i].pid == pid)
			return &r->proc[i];
	return NULL;
}

static void order_visit(struct report *r, size_t i, int depth, long parent)
{
	struct rproc *p = &r->proc[i];
	if (p->visited)
		return;
	p->visited = 1;
	p->depth = depth;
	p->parent = parent;
	r->order[r->norder++] = i;
	/* proc is sorted by start time, so children come out in start order. */
	for (size_t j = 0; j < r->nproc; j++)
		if (r->proc[j].ppid == p->pid && r->proc[j].pid != p->pid)
			order_visit(r, j, depth + 1, (long)i);
}

/*
 * Processes that made no noteworthy event, with all their descendants, are
 * summarised on one line under their nearest shown ancestor (pyenv's shim
 * runs some 40 bash and readlink processes before the real python) when
 * GROUP_MIN or more share that line. One killed by a signal stays listed.
 */
static void collapse_processes(struct report *r)
{
	for (size_t i = 0; i < r->nproc; i++)
		r->proc[i].quiet = r->proc[i].exit_signal == INT64_MIN;
	for (size_t i = 0; i < r->nthr; i++)
		if (r->thr[i].noteworthy) {
			struct rproc *p = proc_find(r, r->thr[i].pid);
			if (p)
				p->quiet = 0;
		}
	/* Preorder backwards: children before parents, so quiet becomes "quiet subtree". */
	for (size_t k = r->norder; k-- > 0;) {
		struct rproc *p = &r->proc[r->order[k]];
		if (!p->quiet && p->parent >= 0)
			r->proc[p->parent].quiet = 0;
	}
	if (r->list_all)
		return;
	size_t *count = calloc(r->nproc ? r->nproc : 1, sizeof(*count));
	if (!count)
		return; /* everything stays listed */
	for (size_t k = 0; k < r->norder; k++) {
		struct rproc *p = &r->proc[r->order[k]];
		if (!p->quiet || p->parent < 0)
			continue;
		struct rproc *up = &r->proc[p->parent];
		p->collapsed = 1;
		p->anchor = up->collapsed ? up->anchor : p->parent;
		count[p->anchor]++;
	}
	for (size_t i = 0; i < r->nproc; i++) {
		if (count[i] >= GROUP_MIN)
			r->proc[i].nanchored = count[i];
		if (r->proc[i].collapsed && count[r->proc[i].anchor] < GROUP_MIN)
			r->proc[i].collapsed = 0;
	}
	free(count);
}

/* The name with each run of digits as N: "request-17" and "request-3" share "request-N". */
static char *name_pattern(const char *name)
{
	size_t n = strlen(name);
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *c = name; *c;) {
		if (*c >= '0' && *c <= '9') {
			while (*c >= '0' && *c <= '9')
				c++;
			*o++ = 'N';
		} else {
			*o++ = *c++;
		}
	}
	*o = 0;
	return out;
}

struct pattern_ref {
	int pid;
	const char *pattern;
	size_t thr;
};

static int cmp_pattern_ref(const void *a, const void *b)
{
	const struct pattern_ref *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	int c = strcmp(x->pattern, y->pattern);
	if (c)
		return c;
	return x->thr < y->thr ? -1 : x->thr > y->thr;
}

/*
 * Threads of one process whose names differ only in their numbers (the
 * request-0..request-319 of a server, ThreadPoolExecutor-0_0..) make one
 * group when there are GROUP_MIN or more; a process's main thread is always
 * its own row. Returns 0, or -1 when out of memory.
 */
static int group_threads(struct report *r)
{
	if (r->list_all || !r->nthr)
		return 0;
	struct pattern_ref *refs = calloc(r->nthr, sizeof(*refs));
	char **patterns = calloc(r->nthr, sizeof(*patterns));
	size_t nrefs = 0;
	int ret = -1;
	if (!refs || !patterns)
		goto out;
	for (size_t i = 0; i < r->nthr; i++) {
		struct rthread *t = &r->thr[i];
		if (t->tid == t->pid)
			continue;
		patterns[i] = name_pattern(t->name ? t->name : "?");
		if (!patterns[i])
			goto out;
		refs[nrefs++] = (struct pattern_ref){t->pid, patterns[i], i};
	}
	qsort(refs, nrefs, sizeof(*refs), cmp_pattern_ref);
	for (size_t a = 0, b; a < nrefs; a = b) {
		for (b = a + 1; b < nrefs && refs[b].pid == refs[a].pid &&
				!strcmp(refs[b].pattern, refs[a].pattern);
		     b++)
			;
		if (b - a < GROUP_MIN)
			continue;
		struct rgroup *g = realloc(r->groups, (r->ngroups + 1) * sizeof(*g));
		if (!g)
			goto out;
		r->groups = g;
		g = &r->groups[r->ngroups];
		memset(g, 0, sizeof(*g));
		g->pid = refs[a].pid;
		g->pattern = strdup(refs[a].pattern);
		g->members = malloc((b - a) * sizeof(*g->members));
		if (!g->pattern || !g->members) {
			free(g->pattern);
			free(g->members);
			goto out;
		}
		for (size_t m = a; m < b; m++) {
			g->members[g->n++] = refs[m].thr;
			r->thr[refs[m].thr].group = (long)r->ngroups;
		}
		r->ngroups++;
	}
	ret = 0;
out:
	for (size_t i = 0; patterns && i < r->nthr; i++)
		free(patterns[i]);
	free(patterns);
	free(refs);
	if (ret)
		weft_error("out of memory");
	return ret;
}

/* Derived times, processes only known from their threads, and the tree order. */
static int finish_model(struct report *r)
{
	int64_t latest = 0;
	for (size_t i = 0; i < r->nthr; i++) {
		struct rthread *t = &r->thr[i];
		if (t->last_ts != INT64_MIN && t->last_ts > latest)
			latest = t->last_ts;
		if (t->end != INT64_MIN && t->end > latest)
			latest = t->end;
	}
	for (size_t i = 0; i < r->nproc; i++)
		if (r->proc[i].end != INT64_MIN && r->proc[i].end > latest)
			latest = r->proc[i].end;
	if (!r->end_from_meta)
		r->end_ns = latest;

	for (size_t i = 0; i < r->nthr; i++) {
		struct rthread *t = &r->thr[i];
		t->life_start = t->start != INT64_MIN	   ? t->start
				: t->first_ts != INT64_MAX ? t->first_ts
							   : 0;
		t->life_end = t->end != INT64_MIN ? t->end : r->end_ns;
		if (t->life_end < t->life_start)
			t->life_end = t->life_start;
		/* Still waiting for a lock when it ended (a deadlock): blocked to its end. */
		if (t->wait_open >= 0 && t->wait_open < t->life_end)
			t->lock_wait += t->life_end - t->wait_open;
		if (!proc_find(r, t->pid)) {
			struct rproc *proc =
			    store_grow(r->proc, &r->capproc, r->nproc, sizeof(*proc));
			if (!proc)
				goto oom;
			r->proc = proc;
			struct rproc *p = &r->proc[r->nproc++];
			memset(p, 0, sizeof(*p));
			p->pid = t->pid;
			p->ppid = 0;
			p->start = p->end = p->exit_code = p->exit_signal = INT64_MIN;
		}
	}
	r->order = calloc(r->nproc ? r->nproc : 1, sizeof(*r->order));
	if (!r->order)
		goto oom;
	/* Roots: processes whose parent was not traced. */
	for (size_t i = 0; i < r->nproc; i++)
		if (!proc_find(r, r->proc[i].ppid) || r->proc[i].ppid == r->proc[i].pid)
			order_visit(r, i, 0, -1);
	/* Parent cycles (pid reuse) would leave some unvisited. */
	for (size_t i = 0; i < r->nproc; i++)
		order_visit(r, i, 0, -1);
	collapse_processes(r);
	if (group_threads(r))
		return -1;
	return pick_top_locks(r);
oom:
	weft_error("out of memory");
	return -1;
}

/*
 * The derived tables (docs/DERIVED.md): those `weft run` (or the viewer)
 * kept in TRACE-view when they are this trace's, else built in temp.
 * Returns 0, or -1 with one line in err.
 */
static int derived_ready(struct report *r, char *err, size_t errlen)
{
	if (r->derived)
		return 0;
	/* a file planted at TRACE-view: the report does without it (the viewer refuses) */
	if (store_view_derived(r->db, r->path, r->complete, err, errlen))
		return -1;
	r->derived = 1;
	return 0;
}

/*
 * The longest waits on objects and their blame chains (store_blame.h).
 * Never fatal: a trace whose events cannot all be read (a damaged page)
 * still gets the rest of its report, with this section said not computed.
 */
static void load_longest_waits(struct report *r)
{
	char err[256];
	if (derived_ready(r, err, sizeof(err))) {
		snprintf(r->waits_error, sizeof(r->waits_error), "%s", err);
		return;
	}
	r->nwaits = store_blame_longest(r->db, r->waits, REPORT_WAITS);
	if (r->nwaits < 0) {
		snprintf(r->waits_error, sizeof(r->waits_error), "%s", sqlite3_errmsg(r->db));
		r->nwaits = 0;
	}
}

/*
 * A Python thread's waits nest (a Queue's get holds a Condition's wait,
 * which holds GIL releases and takes), so summing the events' waits counts
 * time twice and calls time off the GIL "running". Its split is read from
 * the derived spans instead (docs/DERIVED.md), one state at each instant:
 * the columns add up to its lifetime. C threads keep the sums of waits.
 * Returns 0, or -1 (one line said) when the spans cannot be built.
 */
static int python_split_from_spans(struct report *r)
{
	char err[256];
	if (!r->has_gil)
		return 0;
	if (derived_ready(r, err, sizeof(err))) {
		weft_error("%s", err);
		return -1;
	}
	sqlite3_stmt *st = NULL;
	/*
	 * Python threads: some time off the GIL, or some hold of it. The set
	 * first, in one read of each table: tested span by span it was a read
	 * of the thread's spans per span (100 s on a 400K-event Queue program).
	 */
	char *sql = sqlite3_mprintf(
	    "WITH py(pid, tid) AS (SELECT pid, tid FROM thread_spans WHERE state = %d UNION"
	    " SELECT h.pid, h.tid FROM object_holds h JOIN obj o USING(object_id)"
	    " WHERE o.kind = %d)"
	    " SELECT s.pid, s.tid, s.state, sum(s.end_ns - s.start_ns), l.start_ns, l.end_ns"
	    " FROM py JOIN thread_spans s USING(pid, tid) JOIN thread_life l USING(pid, tid)"
	    " GROUP BY s.pid, s.tid, s.state",
	    STORE_STATE_OFF_GIL, WEFT_OBJ_GIL);
	int prepared = sql && sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) == SQLITE_OK;
	sqlite3_free(sql);
	if (!prepared) {
		report_error(r, "cannot read the derived spans");
		return -1;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t key = ((uint64_t)(uint32_t)sqlite3_column_int(st, 0) << 32) |
			       (uint32_t)sqlite3_column_int(st, 1);
		uint64_t *i = hashmap_u64_get(&r->thr_map, key);
		if (!i)
			continue;
		struct rthread *t = &r->thr[*i];
		int64_t ns = sqlite3_column_int64(st, 3);
		if (!t->from_spans) {
			t->from_spans = 1;
			t->life_start = sqlite3_column_int64(st, 4);
			t->life_end = sqlite3_column_int64(st, 5);
			t->lock_wait = t->cond_wait = t->barrier_wait = t->join_wait = 0;
			t->other_wait = t->span_running = t->queue_wait = t->off_gil = 0;
		}
		switch (sqlite3_column_int(st, 2)) {
		case STORE_STATE_RUNNING:
			t->span_running += ns;
			break;
		case STORE_STATE_LOCK:
			t->lock_wait += ns;
			break;
		case STORE_STATE_COND:
			t->cond_wait += ns;
			break;
		case STORE_STATE_BARRIER:
			t->barrier_wait += ns;
			break;
		case STORE_STATE_JOIN:
			t->join_wait += ns;
			break;
		case STORE_STATE_QUEUE:
			t->queue_wait += ns;
			t->other_wait += ns;
			break;
		case STORE_STATE_OFF_GIL:
			t->off_gil += ns;
			t->other_wait += ns;
			break;
		default: /* GIL wait, other (an Event, child reaping) */
			t->other_wait += ns;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		report_error(r, "cannot read the derived spans");
		return -1;
	}
	return 0;
}

static int schema_has(struct report *r, const char *name)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(
		r->db,
		"SELECT 1 FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'view')"
		" UNION ALL SELECT 1 FROM sqlite_temp_master WHERE name = ?1",
		-1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/*
 * A trace without findings (its tracer was killed, or it predates them)
 * gets them computed into this read-only connection's temp schema: one pass
 * over the events, the trace file stays unchanged.
 */
static int detect_findings(struct report *r)
{
	int has = schema_has(r, "findings");
	if (has < 0) {
		report_error(r, "cannot read the schema");
		return -1;
	}
	if (!has) {
		char err[256] = "";
		if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
		    store_build_findings(r->db, NULL, err, sizeof(err)) == 0 &&
		    sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
			r->findings_computed = 1;
			has = 1;
		} else {
			snprintf(r->findings_error, sizeof(r->findings_error), "%s",
				 err[0] ? err : sqlite3_errmsg(r->db));
			sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		}
	}
	r->has_findings = has;
	if (has) {
		sqlite3_stmt *st = NULL;
		r->findings_rich =
		    schema_has(r, "finding_items") == 1 &&
		    sqlite3_prepare_v2(r->db, "SELECT severity, count, rule FROM findings LIMIT 0",
				       -1, &st, NULL) == SQLITE_OK;
		sqlite3_finalize(st);
	}
	return 0;
}

/* ---- presentation helpers ---- */

static void exit_text(const struct rproc *p, char *buf, size_t len)
{
	if (p->exit_code != INT64_MIN) {
		snprintf(buf, len, "exit %" PRId64, p->exit_code);
	} else if (p->exit_signal != INT64_MIN) {
		const char *abbrev = p->exit_signal > 0 && p->exit_signal < NSIG
					 ? sigabbrev_np((int)p->exit_signal)
					 : NULL;
		if (abbrev)
			snprintf(buf, len, "killed by SIG%s", abbrev);
		else
			snprintf(buf, len, "killed by signal %" PRId64, p->exit_signal);
	} else {
		snprintf(buf, len, "exit status unknown");
	}
}

static int64_t proc_lifetime(const struct report *r, const struct rproc *p)
{
	int64_t s = p->start != INT64_MIN ? p->start : 0;
	int64_t e = p->end != INT64_MIN ? p->end : r->end_ns;
	return e > s ? e - s : 0;
}

static int64_t thread_running(const struct rthread *t)
{
	if (t->from_spans)
		return t->span_running;
	int64_t life = t->life_end - t->life_start;
	int64_t run =
	    life - t->lock_wait - t->cond_wait - t->barrier_wait - t->join_wait - t->other_wait;
	return run > 0 ? run : 0;
}

static double pct(int64_t part, int64_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* "function file:line" of a stack's innermost frame, or "" when unknown. */
static void site_text(struct report *r, int64_t stack_id, char *fn, size_t fnlen, char *file,
		      size_t filelen, int64_t *line)
{
	sqlite3_stmt *st = NULL;
	fn[0] = file[0] = 0;
	*line = INT64_MIN;
	if (!stack_id)
		return;
	if (sqlite3_prepare_v2(r->db,
			       "SELECT function, file, line FROM stack_frames"
			       " WHERE stack_id = ?1 AND depth = 0",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, stack_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *f = sqlite3_column_text(st, 0);
		const unsigned char *fl = sqlite3_column_text(st, 1);
		snprintf(fn, fnlen, "%s", f ? (const char *)f : "");
		snprintf(file, filelen, "%s", fl ? (const char *)fl : "");
		*line = col_opt(st, 2);
	}
	sqlite3_finalize(st);
}

static void object_info(struct report *r, int64_t id, char *name, size_t namelen, char *kind,
			size_t kindlen, int64_t *pid, int64_t *addr)
{
	sqlite3_stmt *st = NULL;
	snprintf(name, namelen, "object %" PRId64, id);
	kind[0] = 0;
	*pid = *addr = INT64_MIN;
	if (sqlite3_prepare_v2(r->db,
			       "SELECT name, kind, pid, address FROM objects WHERE object_id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *n = sqlite3_column_text(st, 0);
		const unsigned char *k = sqlite3_column_text(st, 1);
		if (n)
			snprintf(name, namelen, "%s", (const char *)n);
		snprintf(kind, kindlen, "%s", k ? (const char *)k : "");
		*pid = col_opt(st, 2);
		*addr = col_opt(st, 3);
	}
	sqlite3_finalize(st);
	st = NULL;
	/*
	 * Two objects of a process made at one site (two logging handlers'
	 * RLocks) have one name: the later ones are told apart as #2, #3...
	 */
	if (sqlite3_prepare_v2(r->db,
			       "SELECT count(*) FROM objects o, objects me WHERE me.object_id = ?1"
			       " AND o.name = me.name AND o.pid IS me.pid AND o.object_id < ?1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0) {
			size_t len = strlen(name);
			snprintf(name + len, namelen - len, " #%" PRId64,
				 (int64_t)sqlite3_column_int64(st, 0) + 1);
		}
	}
	sqlite3_finalize(st);
}

static const char *kind_name(struct report *r, int code, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	snprintf(buf, len, "kind %d", code);
	if (sqlite3_prepare_v2(r->db, "SELECT name FROM event_kind WHERE kind = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return buf;
	sqlite3_bind_int(st, 1, code);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static int64_t events_lost(const struct report *r)
{
	return r->events_lost ? strtoll(r->events_lost, NULL, 10) : 0;
}

/* ---- text ---- */

static void put_sanitized(const char *label, const char *value)
{
	printf("  %-10s ", label);
	weft_fputs_sanitized(value ? value : "?", stdout);
	putchar('\n');
}

/* A findings table from elsewhere (no participants): one row per finding. */
static int text_findings_plain(struct report *r)
{
	sqlite3_stmt *st = NULL;
	int rc;
	printf("\nFindings\n");
	if (sqlite3_prepare_v2(r->db,
			       "SELECT finding_id, kind, summary FROM findings"
			       " ORDER BY finding_id",
			       -1, &st, NULL) != SQLITE_OK) {
		report_error(r, "cannot read findings");
		return -1;
	}
	struct out_table *t = out_table_new(stdout, "  ");
	out_table_header(t, "#");
	out_table_header(t, "kind");
	out_table_header(t, "summary");
	int n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		out_table_cell(t, id ? id : "", 1);
		out_table_cell(t, (const char *)sqlite3_column_text(st, 1), 0);
		out_table_cell(t, (const char *)sqlite3_column_text(st, 2), 0);
		out_table_end_row(t);
		n++;
	}
	sqlite3_finalize(st);
	out_table_finish(t, rc == SQLITE_DONE && n > 0);
	if (rc != SQLITE_DONE) {
		report_error(r, "cannot read findings");
		return -1;
	}
	if (!n)
		printf("  none\n");
	return 0;
}

static int64_t query_int(struct report *r, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One participant per line: role, thread, object, and the site as function file:line. */
static void text_finding_items(sqlite3_stmt *it, int64_t id)
{
	struct out_table *t = out_table_new(stdout, "      ");
	int n = 0;
	out_table_header(t, "role");
	out_table_header(t, "thread");
	out_table_header(t, "object");
	out_table_header(t, "site");
	sqlite3_bind_int64(it, 1, id);
	while (sqlite3_step(it) == SQLITE_ROW) {
		const char *role = (const char *)sqlite3_column_text(it, 0);
		const char *tname = (const char *)sqlite3_column_text(it, 2);
		const char *oname = (const char *)sqlite3_column_text(it, 4);
		const char *fn = (const char *)sqlite3_column_text(it, 5);
		const char *file = (const char *)sqlite3_column_text(it, 6);
		out_table_cell(t, role ? role : "", 0);
		if (sqlite3_column_type(it, 1) == SQLITE_NULL)
			out_table_cell(t, "", 0);
		else
			out_table_cellf(t, 0, "tid %d %s", sqlite3_column_int(it, 1),
					tname ? tname : "?");
		if (oname)
			out_table_cell(t, oname, 0);
		else if (sqlite3_column_type(it, 3) != SQLITE_NULL)
			out_table_cellf(t, 0, "object %" PRId64,
					(int64_t)sqlite3_column_int64(it, 3));
		else
			out_table_cell(t, "", 0);
		if (file && sqlite3_column_type(it, 7) != SQLITE_NULL)
			out_table_cellf(t, 0, "%s %s:%d", fn ? fn : "??", file,
					sqlite3_column_int(it, 7));
		else if (fn || file)
			out_table_cellf(t, 0, "%s%s%s", fn ? fn : "??", file ? " " : "",
					file ? file : "");
		else
			out_table_cell(t, "(no stack)", 0);
		out_table_end_row(t);
		n++;
	}
	sqlite3_reset(it);
	out_table_finish(t, n > 0);
}

static int text_findings(struct report *r)
{
	sqlite3_stmt *st = NULL, *it = NULL;
	int rc, n = 0;
	if (!r->findings_rich)
		return text_findings_plain(r);
	int64_t total = query_int(r, "SELECT count(*) FROM findings");
	int64_t suppressed =
	    query_int(r, "SELECT count(*) FROM finding WHERE suppressed IS NOT NULL");
	if (!total) {
		printf("  %-10s none%s", "findings", r->findings_computed ? " (computed now)" : "");
		if (suppressed)
			printf(", %" PRId64 " suppressed", suppressed);
		putchar('\n');
		return 0;
	}
	printf("\nFindings (%" PRId64, total);
	if (suppressed)
		printf(", %" PRId64 " suppressed", suppressed);
	if (r->findings_computed)
		printf("; computed now, the trace had none");
	printf(")\n");
	if (sqlite3_prepare_v2(
		r->db,
		"SELECT finding_id, severity, kind, rule, count, summary FROM findings"
		" ORDER BY finding_id",
		-1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(r->db,
			       "SELECT role, tid, thread_name, object_id, object_name, function,"
			       " file, line FROM finding_items WHERE finding_id = ?1 ORDER BY seq",
			       -1, &it, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		report_error(r, "cannot read findings");
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sev = (const char *)sqlite3_column_text(st, 1);
		const char *kind = (const char *)sqlite3_column_text(st, 2);
		const char *rule = (const char *)sqlite3_column_text(st, 3);
		int64_t count = sqlite3_column_int64(st, 4);
		printf("  %2" PRId64 ". %-7s ", (int64_t)sqlite3_column_int64(st, 0),
		       sev ? sev : "?");
		weft_fputs_sanitized(kind ? kind : "?", stdout);
		if (rule) {
			printf(" (");
			weft_fputs_sanitized(rule, stdout);
			putchar(')');
		}
		if (count > 1)
			printf(", %" PRId64 " times at these sites", count);
		printf("\n      ");
		weft_fputs_sanitized((const char *)sqlite3_column_text(st, 5), stdout);
		putchar('\n');
		text_finding_items(it, sqlite3_column_int64(st, 0));
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(it);
	if (rc != SQLITE_DONE) {
		report_error(r, "cannot read findings");
		return -1;
	}
	return 0;
}

/*
 * A command as the text report shows it: at most REPORT_COMMAND_BYTES bytes
 * of it (never half a UTF-8 character), then "...". multiprocessing's
 * forkserver children run `python -c PROGRAM` with the whole sys.path in
 * it: 400 characters a process. --json and the processes view keep it
 * whole. Returns 1 when it was shortened.
 */
#define REPORT_COMMAND_BYTES 100
static int command_text(const char *argv, char *buf, size_t len)
{
	const char *s = argv ? argv : "(no process record)";
	size_t n = strlen(s);
	if (n <= REPORT_COMMAND_BYTES) {
		snprintf(buf, len, "%s", s);
		return 0;
	}
	n = REPORT_COMMAND_BYTES;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, len, "%.*s...", (int)n, s);
	return 1;
}

/* The program's name: the first word of argv without its directory. */
static void program_name(const char *argv, char *buf, size_t len)
{
	const char *start = argv ? argv : "?", *end = start + strcspn(start, " ");
	for (const char *c = start; c < end; c++)
		if (*c == '/')
			start = c + 1;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

/*
 * The line that stands for the processes collapsed under proc[anchor]:
 * how many, which programs (as many times each), how many exited non-zero.
 */
static void collapsed_row(struct report *r, struct out_table *t, size_t anchor)
{
	enum { NAMES = 8 };
	struct {
		char name[64];
		size_t n;
	} names[NAMES];
	size_t nnames = 0, total = 0, others = 0, failed = 0;
	if (!r->proc[anchor].nanchored)
		return;
	for (size_t k = 0; k < r->norder; k++) {
		struct rproc *p = &r->proc[r->order[k]];
		if (!p->collapsed || p->anchor != (long)anchor)
			continue;
		char prog[64];
		program_name(p->argv, prog, sizeof(prog));
		total++;
		failed += p->exit_code != INT64_MIN && p->exit_code != 0;
		size_t i = 0;
		while (i < nnames && strcmp(names[i].name, prog))
			i++;
		if (i < nnames) {
			names[i].n++;
		} else if (nnames < NAMES) {
			snprintf(names[nnames].name, sizeof(names[nnames].name), "%s", prog);
			names[nnames++].n = 1;
		} else {
			others++;
		}
	}
	if (!total)
		return;
	char list[1024];
	size_t len = 0;
	for (size_t i = 0; i < nnames && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s %zu", i ? ", " : "",
					names[i].name, names[i].n);
	if (others && len < sizeof(list))
		snprintf(list + len, sizeof(list) - len, ", %zu others", others);
	out_table_cellf(t, 0, "%*s(%zu)", (r->proc[anchor].depth + 1) * 2, "", total);
	out_table_cellf(t, 1, "%d", r->proc[anchor].pid);
	out_table_cell(t, "", 1);
	if (failed)
		out_table_cellf(t, 0, "%zu non-zero", failed);
	else
		out_table_cell(t, "exit 0", 0);
	out_table_cellf(t, 0, "made no events of interest: %s", list);
	out_table_end_row(t);
}

static void text_processes(struct report *r)
{
	char life[32], ex[64], cmd[REPORT_COMMAND_BYTES + 8];
	int shortened = 0;
	printf("\nProcesses\n");
	struct out_table *t = out_table_new(stdout, "  ");
	out_table_header(t, "pid");
	out_table_header(t, "ppid");
	out_table_header(t, "lifetime");
	out_table_header(t, "exit");
	out_table_header(t, "command");
	for (size_t i = 0; i < r->norder; i++) {
		struct rproc *p = &r->proc[r->order[i]];
		if (p->collapsed)
			continue;
		out_table_cellf(t, 0, "%*s%d", p->depth * 2, "", p->pid);
		if (p->has_row)
			out_table_cellf(t, 1, "%d", p->ppid);
		else
			out_table_cell(t, "?", 1);
		out_fmt_duration(proc_lifetime(r, p), life, sizeof(life));
		out_table_cellf(t, 1, "%s%s", life, p->end == INT64_MIN ? "+" : "");
		exit_text(p, ex, sizeof(ex));
		out_table_cell(t, ex, 0);
		shortened |= command_text(p->argv, cmd, sizeof(cmd));
		if (p->name)
			out_table_cellf(t, 0, "%s  [%s]", cmd, p->name);
		else
			out_table_cell(t, cmd, 0);
		out_table_end_row(t);
		collapsed_row(r, t, r->order[i]);
	}
	out_table_finish(t, 1);
	if (shortened)
		printf(
		    "  (...: a command longer than %d bytes, shortened; --json and the processes "
		    "view have it whole)\n",
		    REPORT_COMMAND_BYTES);
}

/* ---- per-thread columns, for single rows and group rows alike ---- */

enum col_type { COL_DURATION, COL_PERCENT, COL_COUNT };
enum col_value {
	V_LIFETIME,
	V_RUNNING,
	V_RUNNING_PCT,
	V_LOCKS,
	V_LOCKS_PCT,
	V_CONDS,
	V_CONDS_PCT,
	V_BARRIER,
	V_JOIN,
	V_OTHER,
	V_EVENTS,
	V_GIL_HELD,
	V_GIL_WAIT,
	V_GIL_ACQ,
	V_GIL_DROPS,
	V_GIL_FORCED,
	V_GIL_LOAD,
};

struct thread_col {
	const char *header;
	const char *json; /* the key in a group's JSON stats, NULL: not there */
	enum col_type type;
	enum col_value value;
};

/* clang-format off */
static const struct thread_col time_cols[] = {
	{"lifetime", "lifetime_ns",     COL_DURATION, V_LIFETIME},
	{"running",  "running_ns",      COL_DURATION, V_RUNNING},
	{"%",        NULL,              COL_PERCENT,  V_RUNNING_PCT},
	{"locks",    "lock_wait_ns",    COL_DURATION, V_LOCKS},
	{"%",        NULL,              COL_PERCENT,  V_LOCKS_PCT},
	{"conds",    "cond_wait_ns",    COL_DURATION, V_CONDS},
	{"%",        NULL,              COL_PERCENT,  V_CONDS_PCT},
	{"barrier",  "barrier_wait_ns", COL_DURATION, V_BARRIER},
	{"join",     "join_wait_ns",    COL_DURATION, V_JOIN},
	{"other",    "other_wait_ns",   COL_DURATION, V_OTHER},
	{"events",   "events",          COL_COUNT,    V_EVENTS},
};
static const struct thread_col gil_cols[] = {
	{"held",          "gil_held_ns",       COL_DURATION, V_GIL_HELD},
	{"waiting",       "gil_wait_ns",       COL_DURATION, V_GIL_WAIT},
	{"acquisitions",  "gil_acquisitions",  COL_COUNT,    V_GIL_ACQ},
	{"drop requests", "gil_drop_requests", COL_COUNT,    V_GIL_DROPS},
	{"forced drops",  "gil_forced_drops",  COL_COUNT,    V_GIL_FORCED},
	{"GIL load",      NULL,                COL_PERCENT,  V_GIL_LOAD},
};
/* clang-format on */
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static double thread_value(const struct report *r, const struct rthread *t, enum col_value v)
{
	int64_t life = t->life_end - t->life_start;
	switch (v) {
	case V_LIFETIME:
		return (double)life;
	case V_RUNNING:
		return (double)thread_running(t);
	case V_RUNNING_PCT:
		return pct(thread_running(t), life);
	case V_LOCKS:
		return (double)t->lock_wait;
	case V_LOCKS_PCT:
		return pct(t->lock_wait, life);
	case V_CONDS:
		return (double)t->cond_wait;
	case V_CONDS_PCT:
		return pct(t->cond_wait, life);
	case V_BARRIER:
		return (double)t->barrier_wait;
	case V_JOIN:
		return (double)t->join_wait;
	case V_OTHER:
		return (double)t->other_wait;
	case V_EVENTS:
		return (double)t->nevents;
	case V_GIL_HELD:
		return (double)t->gil_hold;
	case V_GIL_WAIT:
		return (double)t->gil_wait;
	case V_GIL_ACQ:
		return (double)t->gil_acq;
	case V_GIL_DROPS:
		return (double)t->gil_drops;
	case V_GIL_FORCED:
		return (double)t->gil_forced;
	case V_GIL_LOAD:
		return pct(t->gil_hold, r->end_ns);
	}
	return 0;
}

static void value_cell(struct out_table *t, enum col_type type, double v, const char *suffix)
{
	char b[32];
	if (type == COL_DURATION) {
		out_fmt_duration((int64_t)v, b, sizeof(b));
		out_table_cellf(t, 1, "%s%s", b, suffix);
	} else if (type == COL_PERCENT) {
		out_table_cellf(t, 1, "%.1f%%", v);
	} else {
		out_table_cellf(t, 1, "%" PRId64, (int64_t)v);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The statistics of a group row, each column on its own: nearest-rank percentiles. */
static const struct {
	const char *name;
	int tenths; /* the percentile in tenths: 5 is p50 */
} group_stats[] = {{"p50", 5}, {"p90", 9}, {"max", 10}};

/* Fills out[s] with group_stats[s] of column v over the members that keep() accepts. */
static size_t group_values(const struct report *r, const struct rgroup *g,
			   int (*keep)(const struct rthread *), enum col_value v, double *scratch,
			   double out[3])
{
	size_t n = 0;
	for (size_t m = 0; m < g->n; m++) {
		const struct rthread *t = &r->thr[g->members[m]];
		if (!keep || keep(t))
			scratch[n++] = thread_value(r, t, v);
	}
	if (!n)
		return 0;
	qsort(scratch, n, sizeof(*scratch), cmp_double);
	for (size_t s = 0; s < 3; s++)
		out[s] = scratch[(group_stats[s].tenths * n + 9) / 10 - 1];
	return n;
}

/*
 * One table of a process's threads (those keep() accepts, all without it)
 * with the given columns: a row per thread, three rows (p50, p90, max) per
 * group at its first member's place.
 */
static void thread_table(struct report *r, int pid, const struct thread_col *cols, size_t ncols,
			 int (*keep)(const struct rthread *), int64_t *total_held)
{
	int grouped = 0;
	size_t most = 0;
	for (size_t g = 0; g < r->ngroups; g++)
		if (r->groups[g].pid == pid) {
			grouped = 1;
			if (r->groups[g].n > most)
				most = r->groups[g].n;
			r->groups[g].printed = 0;
		}
	double *scratch = most ? malloc(most * sizeof(*scratch)) : NULL;
	if (most && !scratch)
		grouped = 0; /* out of memory: every thread on its own row */
	struct out_table *t = out_table_new(stdout, "    ");
	out_table_header(t, "tid");
	out_table_header(t, "name");
	if (grouped)
		out_table_header(t, "");
	for (size_t c = 0; c < ncols; c++)
		out_table_header(t, cols[c].header);
	for (size_t j = 0; j < r->nthr; j++) {
		struct rthread *th = &r->thr[j];
		if (th->pid != pid || (keep && !keep(th)))
			continue;
		if (total_held)
			*total_held += th->gil_hold;
		if (grouped && th->group >= 0) {
			struct rgroup *g = &r->groups[th->group];
			if (g->printed)
				continue;
			g->printed = 1;
			double v[NCOLS(time_cols)][3];
			size_t n = 0;
			for (size_t c = 0; c < ncols; c++)
				n = group_values(r, g, keep, cols[c].value, scratch, v[c]);
			for (size_t s = 0; s < 3; s++) {
				if (s)
					out_table_cell(t, "", 0);
				else
					out_table_cellf(t, 1, "(%zu)", n);
				out_table_cell(t, s ? "" : g->pattern, 0);
				out_table_cell(t, group_stats[s].name, 0);
				for (size_t c = 0; c < ncols; c++)
					value_cell(t, cols[c].type, v[c][s], "");
				out_table_end_row(t);
			}
			continue;
		}
		out_table_cellf(t, 1, "%d", th->tid);
		out_table_cell(t, th->name ? th->name : "?", 0);
		if (grouped)
			out_table_cell(t, "", 0);
		for (size_t c = 0; c < ncols; c++)
			value_cell(t, cols[c].type, thread_value(r, th, cols[c].value),
				   cols[c].value == V_LIFETIME && th->end == INT64_MIN ? "+" : "");
		out_table_end_row(t);
	}
	if (total_held) {
		out_table_cell(t, "total", 0);
		for (size_t c = 0; c < ncols + (size_t)grouped; c++)
			out_table_cell(t, "", 0);
		out_table_cellf(t, 1, "%.1f%%", pct(*total_held, r->end_ns));
		out_table_end_row(t);
	}
	out_table_finish(t, 1);
	free(scratch);
}

static void text_threads(struct report *r)
{
	size_t hidden = 0;
	printf("\nThreads (time split of each thread's lifetime)\n");
	for (size_t i = 0; i < r->norder; i++) {
		struct rproc *p = &r->proc[r->order[i]];
		int any = 0;
		for (size_t j = 0; j < r->nthr && !any; j++)
			any = r->thr[j].pid == p->pid;
		if (!any)
			continue;
		if (p->collapsed) {
			hidden++;
			continue;
		}
		char cmd[REPORT_COMMAND_BYTES + 8];
		command_text(p->argv ? p->argv : "", cmd, sizeof(cmd));
		printf("  pid %d ", p->pid);
		weft_fputs_sanitized(cmd, stdout);
		if (p->name) {
			printf("  [");
			weft_fputs_sanitized(p->name, stdout);
			putchar(']');
		}
		putchar('\n');
		thread_table(r, p->pid, time_cols, NCOLS(time_cols), NULL, NULL);
	}
	printf("  (+: still running when the trace ended; other: GIL and queue waits, Events, "
	       "Python off the GIL, child reaping)\n");
	if (r->ngroups)
		printf("  (N): threads of a process named alike but for their numbers, with each "
		       "column's p50, p90 and max; --threads all lists each\n");
	if (hidden)
		printf("  %zu processes that made no events of interest are not shown (--threads "
		       "all shows them)\n",
		       hidden);
}

static void text_locks(struct report *r)
{
	char name[256], kind[64], fn[256], file[512], d1[32], d2[32], d3[32], d4[32];
	int64_t pid, addr, line;
	printf("\nTop contended locks (by total wait)\n");
	if (!r->ntop && !r->unwaited[0].n && !r->unwaited[1].n) {
		printf("  no lock acquisitions recorded\n");
		if (store_locks_invisible(r->db) == 1)
			printf("  %s\n", STORE_LOCKS_INVISIBLE_MSG);
		return;
	}
	for (size_t i = 0; i < r->ntop; i++) {
		struct robj *o = &r->obj[r->top[i]];
		object_info(r, o->id, name, sizeof(name), kind, sizeof(kind), &pid, &addr);
		printf("  %zu. ", i + 1);
		weft_fputs_sanitized(name, stdout);
		printf(" (");
		weft_fputs_sanitized(kind[0] ? kind : "?", stdout);
		if (o->nprocs > 1)
			printf(", %d processes", o->nprocs);
		else if (pid != INT64_MIN)
			printf(", pid %" PRId64, pid);
		printf(")\n");
		printf("     acquisitions %" PRId64 "  contended %" PRId64
		       " (%.1f%%)  failed %" PRId64 "\n",
		       o->acq, o->contended, pct(o->contended, o->acq), o->fails);
		out_fmt_duration(o->wait_sum, d1, sizeof(d1));
		out_fmt_duration(o->acq ? (o->wait_sum + o->acq / 2) / o->acq : 0, d2, sizeof(d2));
		out_fmt_duration(o->p90, d3, sizeof(d3));
		out_fmt_duration(o->wait_max, d4, sizeof(d4));
		printf("     wait total %s  avg %s  p90 %s%s  max %s\n", d1, d2,
		       o->p90_bound ? "at most " : "", d3, d4);
		if (o->fail_wait) {
			out_fmt_duration(o->fail_wait, d1, sizeof(d1));
			printf("     failed attempts waited %s in total\n", d1);
		}
		if (o->acq) {
			site_text(r, o->max_stack, fn, sizeof(fn), file, sizeof(file), &line);
			printf("     %s at ", o->wait_max ? "longest wait" : "acquired");
			if (!fn[0] && !file[0]) {
				printf("unknown site\n");
				continue;
			}
			weft_fputs_sanitized(fn[0] ? fn : "??", stdout);
			if (file[0]) {
				putchar(' ');
				weft_fputs_sanitized(file, stdout);
				if (line != INT64_MIN)
					printf(":%" PRId64, line);
			}
			putchar('\n');
		}
	}
	if (r->unwaited[0].n || r->unwaited[1].n) {
		printf("  %s%" PRId64 " lock%s nobody waited on (", r->ntop ? "and " : "",
		       r->unwaited[0].n + r->unwaited[1].n,
		       r->unwaited[0].n + r->unwaited[1].n == 1 ? "" : "s");
		for (int native = 1, sep = 0; native >= 0; native--) {
			if (!r->unwaited[native].n)
				continue;
			printf("%s%" PRId64 " %s: %" PRId64 " acquisitions", sep++ ? "; " : "",
			       r->unwaited[native].n, native ? "native" : "Python",
			       r->unwaited[native].acq);
		}
		printf(")\n");
	}
}

/* before, "function file:line", after: a stack's innermost frame; nothing when unknown. */
static void print_site(struct report *r, int64_t stack_id, const char *before, const char *after)
{
	char fn[256], file[512];
	int64_t line;
	site_text(r, stack_id, fn, sizeof(fn), file, sizeof(file), &line);
	if (!fn[0])
		return;
	fputs(before, stdout);
	weft_fputs_sanitized(fn, stdout);
	if (file[0]) {
		const char *base = strrchr(file, '/');
		putchar(' ');
		weft_fputs_sanitized(base ? base + 1 : file, stdout);
		if (line != INT64_MIN)
			printf(":%" PRId64, line);
	}
	fputs(after, stdout);
}

/* "worker-1 (tid 4320)" for a thread of the trace. */
static void thread_words(struct report *r, int pid, int tid, char *buf, size_t len)
{
	uint64_t key = ((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid;
	uint64_t *i = hashmap_u64_get(&r->thr_map, key);
	const char *name = i && r->thr[*i].name ? r->thr[*i].name : "thread";
	snprintf(buf, len, "%s (tid %d)", name, tid);
}

/*
 * When every listed wait's chain ends at the same thread doing the same
 * thing (a worker stuck in connect() that the main thread and then the
 * pool waited for), one line says so: that is the bug.
 */
static void common_cause(struct report *r)
{
	const struct store_blame_link *end = NULL;
	for (int i = 0; i < r->nwaits; i++) {
		const struct store_blame *b = &r->waits[i];
		if (!b->nlinks || b->end != STORE_BLAME_RUNNING)
			return;
		const struct store_blame_link *l = &b->links[b->nlinks - 1];
		if (end && (l->tid != end->tid || l->state != end->state ||
			    l->state_from != end->state_from))
			return;
		end = l;
	}
	if (!end || r->nwaits < 2)
		return;
	char who[300], at[32];
	thread_words(r, r->waits[0].pid, end->tid, who, sizeof(who));
	out_fmt_duration(end->state_from, at, sizeof(at));
	printf("  Each of these waits ends at ");
	weft_fputs_sanitized(who, stdout);
	printf(", %s since %s", store_thread_state_name(end->state), at);
	print_site(r, end->state_stack, " at ", "");
	putchar('\n');
}

/*
 * The earlier listed wait whose chain link l of wait i continues (1-based),
 * or 0: l's thread was in that very wait meanwhile, or l is a step that
 * wait's chain printed already. A pool's workers wake each other in turn,
 * so the longest waits' chains share their ends: printed in full each time
 * they filled the page with the same lines (a 200-thread server's report
 * listed one put four times).
 */
static int chain_joins(const struct report *r, int i, const struct store_blame_link *l)
{
	for (int j = 0; j < i; j++) {
		const struct store_blame *e = &r->waits[j];
		if (e->pid == r->waits[i].pid && e->tid == l->tid && e->state == l->state &&
		    e->start_ns == l->state_from)
			return j + 1;
		for (int k = 0; k < e->nlinks; k++) {
			const struct store_blame_link *m = &e->links[k];
			if (e->pid == r->waits[i].pid && m->tid == l->tid && m->obj == l->obj &&
			    m->held_from == l->held_from && m->wake_kind == l->wake_kind &&
			    m->state == l->state && m->state_from == l->state_from)
				return j + 1;
		}
	}
	return 0;
}

/*
 * A lock free for less while a thread waited for it is the waiter waking
 * (tens of microseconds), not worth a word.
 */
#define FREE_NOTED_NS 100000

/* Whether a lock free for free_ns of a wait of wait_ns is worth a word: a quarter of it or more. */
static int free_worth_noting(int64_t free_ns, int64_t wait_ns)
{
	return free_ns >= FREE_NOTED_NS && free_ns * 4 >= wait_ns;
}

/*
 * How long the lock of the chain's first link was free before the wait
 * ended, when that was a quarter of the wait or more and FREE_NOTED_NS
 * (the holder let go, and the waiter had not run yet): 0 otherwise, and when the holder never
 * let go. Only the first: its holder is the last to hold the lock in the
 * wait (store_blame.c), so the lock was free after it; a later link's is
 * the holder at the middle of the link before, and another may have
 * taken the lock after it.
 */
static int64_t free_before_end(const struct store_blame *b, int k)
{
	const struct store_blame_link *l = &b->links[k];
	int last = k + 1 == b->nlinks;
	if (k || (last && (b->end == STORE_BLAME_CYCLE || b->end == STORE_BLAME_ENDED)))
		return 0;
	if (l->held_until <= 0 || l->held_until == INT64_MAX || l->held_until >= b->end_ns)
		return 0;
	int64_t free_for = b->end_ns - l->held_until;
	return free_worth_noting(free_for, b->end_ns - b->start_ns) ? free_for : 0;
}

/*
 * The threads that held a lock or the GIL in turn during a wait, in one
 * line: "GIL held in turn by 7 threads, 5.612 ms of the wait; longest
 * worker (tid 7), 2.104 ms; free 5.542 ms, the waiter not yet running"
 * (free when a quarter of the wait or more and FREE_NOTED_NS: woken, or
 * free to take it, the waiter had not run: no CPU for it).
 */
static void print_turns(struct report *r, const struct store_blame *b, const char *name)
{
	char who[256], held[32], top[32], spare[32];
	int64_t wait = b->end_ns - b->start_ns, free_ns = wait - b->turn_held_ns;
	thread_words(r, b->pid, b->turn_top_tid, who, sizeof(who));
	out_fmt_duration(b->turn_held_ns, held, sizeof(held));
	out_fmt_duration(b->turn_top_ns, top, sizeof(top));
	printf("     ");
	weft_fputs_sanitized(name, stdout);
	printf(" held in turn by %d threads, %s of the wait; longest ", b->turn_holders, held);
	weft_fputs_sanitized(who, stdout);
	printf(", %s", top);
	if (free_worth_noting(free_ns, wait)) {
		out_fmt_duration(free_ns, spare, sizeof(spare));
		printf("; free %s, the waiter not yet running", spare);
	}
	putchar('\n');
}

/* " was held by WHO from AT to UNTIL": a hold that ended before the wait did. */
static void print_held_from_to(const char *who, const char *at, int64_t until_ns)
{
	char until[32];
	out_fmt_duration(until_ns, until, sizeof(until));
	printf(" was held by ");
	weft_fputs_sanitized(who, stdout);
	printf(" from %s to %s", at, until);
}

/* Why the longest waits lasted: each holder along the chain (issue #21's blame chain). */
static void text_waits(struct report *r)
{
	char who[300], name[256], kind[64], d[32], at[32];
	int64_t pid, addr;
	if (r->waits_error[0]) {
		printf("\nLongest waits, and who held things up\n  not computed: ");
		weft_fputs_sanitized(r->waits_error, stdout);
		putchar('\n');
		return;
	}
	if (!r->nwaits)
		return;
	printf("\nLongest waits, and who held things up\n");
	for (int i = 0; i < r->nwaits; i++) {
		const struct store_blame *b = &r->waits[i];
		thread_words(r, b->pid, b->tid, who, sizeof(who));
		object_info(r, b->obj, name, sizeof(name), kind, sizeof(kind), &pid, &addr);
		out_fmt_duration(b->end_ns - b->start_ns, d, sizeof(d));
		out_fmt_duration(b->start_ns, at, sizeof(at));
		printf("  %d. ", i + 1);
		weft_fputs_sanitized(who, stdout);
		printf(" waited %s in %s on ", d, store_thread_state_name(b->state));
		weft_fputs_sanitized(name, stdout);
		printf(", from %s\n", at);
		if (b->turn_holders > 1)
			print_turns(r, b, name);
		int joined = 0;
		for (int k = 0; k < b->nlinks && !joined; k++) {
			const struct store_blame_link *l = &b->links[k];
			int last = k + 1 == b->nlinks;
			int64_t free_for = 0;
			/*
			 * The rest of the chain is an earlier wait's: said once, there.
			 * A deadlock's cycle is the bug itself, and short: whole in each.
			 */
			if (!last && b->end != STORE_BLAME_CYCLE)
				joined = chain_joins(r, i, l);
			object_info(r, l->obj, name, sizeof(name), kind, sizeof(kind), &pid, &addr);
			thread_words(r, b->pid, l->tid, who, sizeof(who));
			out_fmt_duration(l->held_from, at, sizeof(at));
			printf("     ");
			weft_fputs_sanitized(name, stdout);
			if (l->wake_kind) {
				/* "Queue app.py:9: waited for main (tid 7)'s queue.put at 1 s" */
				printf(": waited for ");
				weft_fputs_sanitized(who, stdout);
				printf("'s %s at %s", store_event_kind_name(l->wake_kind), at);
				print_site(r, l->wake_stack, " (", ")");
			} else if (last && b->end == STORE_BLAME_FREED) {
				/* "m was held by consumer (tid 7) from 1 ms to 2 ms, let go of it
				 * ..." */
				print_held_from_to(who, at, l->held_until);
				printf(", %s\n", store_blame_end_text(b->end));
				continue;
			} else if ((free_for = free_before_end(b, k)) > 0) {
				/* "m was held by X from 1 ms to 2 ms, running; free for ..." */
				print_held_from_to(who, at, l->held_until);
			} else {
				printf(" is held by ");
				weft_fputs_sanitized(who, stdout);
				printf(" since %s", at);
			}
			if (last && b->end == STORE_BLAME_CYCLE) {
				printf(", a thread of this chain: a deadlock\n");
				continue;
			}
			if (last && b->end == STORE_BLAME_ENDED) {
				printf(", no longer alive\n");
				continue;
			}
			printf("%s%s%s", l->wake_kind ? "; meanwhile it was " : ", ",
			       l->state == STORE_STATE_OFF_GIL || l->state == STORE_STATE_RUNNING
				   ? ""
				   : "in ",
			       store_thread_state_name(l->state));
			if (l->state_obj) {
				object_info(r, l->state_obj, name, sizeof(name), kind, sizeof(kind),
					    &pid, &addr);
				printf(" on ");
				weft_fputs_sanitized(name, stdout);
			}
			if (l->wake_kind || l->state_stack) {
				out_fmt_duration(l->state_from, at, sizeof(at));
				printf(" since %s", at);
			}
			print_site(r, l->state_stack, " at ", "");
			if (free_for > 0 && b->turn_holders <= 1) { /* else print_turns said it */
				out_fmt_duration(free_for, at, sizeof(at));
				printf("; free for the wait's last %s", at);
			}
			putchar('\n');
		}
		if (joined) {
			printf("     -> from here as in wait %d above\n", joined);
			continue;
		}
		if (b->end == STORE_BLAME_NO_OWNER || b->end == STORE_BLAME_NO_HOLDER ||
		    b->end == STORE_BLAME_TIMED_OUT || b->end == STORE_BLAME_DEEP)
			printf("     -> %s\n", store_blame_end_text(b->end));
	}
	common_cause(r);
}

static int gil_active(const struct rthread *t)
{
	return t->gil_acq || t->gil_drops;
}

static void text_gil(struct report *r)
{
	printf("\nGIL (load: share of the trace's wall time the thread held the GIL)\n");
	for (size_t i = 0; i < r->norder; i++) {
		struct rproc *p = &r->proc[r->order[i]];
		int any = 0;
		for (size_t j = 0; j < r->nthr && !any; j++)
			any = r->thr[j].pid == p->pid && gil_active(&r->thr[j]);
		if (!any)
			continue;
		printf("  pid %d\n", p->pid);
		int64_t held = 0;
		thread_table(r, p->pid, gil_cols, NCOLS(gil_cols), gil_active, &held);
	}
}

static void text_events(struct report *r)
{
	char kn[64];
	printf("\nEvents (%" PRId64 ")\n", r->total_events);
	struct out_table *t = out_table_new(stdout, "  ");
	out_table_header(t, "kind");
	out_table_header(t, "count");
	for (int c = 0; c < 256; c++) {
		if (!r->kind_count[c])
			continue;
		out_table_cell(t, kind_name(r, c, kn, sizeof(kn)), 0);
		out_table_cellf(t, 1, "%" PRId64, r->kind_count[c]);
		out_table_end_row(t);
	}
	if (r->kind_other) {
		out_table_cell(t, "other", 0);
		out_table_cellf(t, 1, "%" PRId64, r->kind_other);
		out_table_end_row(t);
	}
	out_table_finish(t, r->total_events > 0);
}

static void text_recording(struct report *r)
{
	int64_t unrec = 0, waits = 0;
	for (size_t i = 0; i < r->nthr; i++) {
		unrec += r->thr[i].unrecorded;
		waits += r->thr[i].producer_waits;
	}
	printf("\nRecording\n");
	printf("  unrecorded calls  %" PRId64, unrec);
	if (unrec) {
		printf("  (");
		int first = 1;
		for (size_t i = 0; i < r->nthr; i++) {
			if (!r->thr[i].unrecorded)
				continue;
			printf("%stid %d: %" PRId64, first ? "" : ", ", r->thr[i].tid,
			       r->thr[i].unrecorded);
			first = 0;
		}
		printf(")");
	}
	printf("\n  producer waits    %" PRId64 "\n", waits);
	printf("  events lost       %" PRId64 "\n", events_lost(r));
}

static int print_text(struct report *r)
{
	char d[32];
	printf("weft report: ");
	weft_fputs_sanitized(r->path, stdout);
	putchar('\n');
	put_sanitized("command", r->command);
	put_sanitized("host", r->host);
	out_fmt_duration(r->end_ns, d, sizeof(d));
	printf("  %-10s %s%s\n", "duration", d, r->end_from_meta ? "" : " (up to the last record)");
	if (r->exit_status)
		put_sanitized("exit", r->exit_status);
	printf("  %-10s weft ", "recorded");
	weft_fputs_sanitized(r->weft_version ? r->weft_version : "?", stdout);
	printf(", stacks ");
	weft_fputs_sanitized(r->stacks ? r->stacks : "?", stdout);
	printf(", clock ");
	weft_fputs_sanitized(r->clock ? r->clock : "?", stdout);
	putchar('\n');
	if (!r->complete)
		printf("  trace incomplete: the tracer did not finish (everything recorded until "
		       "then is shown)\n");
	if (r->findings_error[0]) {
		printf("  %-10s not computed: ", "findings");
		weft_fputs_sanitized(r->findings_error, stdout);
		putchar('\n');
	}
	if (r->has_findings && text_findings(r))
		return -1;
	text_processes(r);
	text_threads(r);
	text_locks(r);
	text_waits(r);
	if (r->has_gil)
		text_gil(r);
	text_events(r);
	text_recording(r);
	return 0;
}

/* ---- JSON ---- */

static void json_opt_int(struct out_json *j, const char *key, int64_t v)
{
	out_json_key(j, key);
	if (v == INT64_MIN)
		out_json_null(j);
	else
		out_json_int(j, v);
}

static void json_str(struct out_json *j, const char *key, const char *v)
{
	out_json_key(j, key);
	out_json_string(j, v);
}

static int json_findings(struct report *r, struct out_json *j)
{
	sqlite3_stmt *st = NULL, *it = NULL;
	int rc;
	/*
	 * The fields are a contract (docs/QUERY.md): named, in this order, not
	 * whatever the view grows. A trace from an older weft has its own table.
	 */
	const char *sql =
	    r->findings_rich ? "SELECT finding_id, kind, rule, severity, count, summary, detail,"
			       " pid, tid, thread_name, event_id, ts_ns, threads, objects,"
			       " event_ids, stack_ids, object_ids FROM findings ORDER BY finding_id"
			     : "SELECT * FROM findings ORDER BY finding_id";
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    (r->findings_rich &&
	     sqlite3_prepare_v2(
		 r->db,
		 "SELECT role, pid, tid, thread_name, object_id, object_name, event_id,"
		 " ts_ns, stack_id, function, file, line FROM finding_items"
		 " WHERE finding_id = ?1 ORDER BY seq",
		 -1, &it, NULL) != SQLITE_OK)) {
		sqlite3_finalize(st);
		report_error(r, "cannot read findings");
		return -1;
	}
	out_json_key(j, "findings");
	out_json_begin_array(j);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out_json_begin_object(j);
		weft_query_json_columns(j, st);
		if (it) {
			out_json_key(j, "participants");
			out_json_begin_array(j);
			sqlite3_bind_int64(it, 1, sqlite3_column_int64(st, 0));
			while (sqlite3_step(it) == SQLITE_ROW) {
				out_json_begin_object(j);
				weft_query_json_columns(j, it);
				out_json_end_object(j);
			}
			sqlite3_reset(it);
			out_json_end_array(j);
		}
		out_json_end_object(j);
	}
	out_json_end_array(j);
	sqlite3_finalize(st);
	sqlite3_finalize(it);
	if (rc != SQLITE_DONE) {
		report_error(r, "cannot read findings");
		return -1;
	}
	return 0;
}

static void json_thread(struct out_json *j, const struct rthread *th, const struct report *r)
{
	out_json_begin_object(j);
	json_opt_int(j, "tid", th->tid);
	json_str(j, "name", th->name);
	json_opt_int(j, "start_ns", th->life_start);
	json_opt_int(j, "end_ns", th->end == INT64_MIN ? INT64_MIN : th->life_end);
	json_opt_int(j, "lifetime_ns", th->life_end - th->life_start);
	json_opt_int(j, "running_ns", thread_running(th));
	json_opt_int(j, "lock_wait_ns", th->lock_wait);
	json_opt_int(j, "cond_wait_ns", th->cond_wait);
	json_opt_int(j, "barrier_wait_ns", th->barrier_wait);
	json_opt_int(j, "join_wait_ns", th->join_wait);
	json_opt_int(j, "other_wait_ns", th->other_wait);
	if (th->from_spans) {
		json_opt_int(j, "queue_wait_ns", th->queue_wait);
		json_opt_int(j, "off_gil_ns", th->off_gil);
	}
	json_opt_int(j, "events", th->nevents);
	json_opt_int(j, "unrecorded", th->unrecorded);
	json_opt_int(j, "producer_waits", th->producer_waits);
	if (r->has_gil && (th->gil_acq || th->gil_drops)) {
		out_json_key(j, "gil");
		out_json_begin_object(j);
		json_opt_int(j, "held_ns", th->gil_hold);
		json_opt_int(j, "wait_ns", th->gil_wait);
		json_opt_int(j, "acquisitions", th->gil_acq);
		json_opt_int(j, "drop_requests", th->gil_drops);
		json_opt_int(j, "forced_drops", th->gil_forced);
		out_json_key(j, "load");
		out_json_double(j, r->end_ns > 0 ? (double)th->gil_hold / (double)r->end_ns : 0);
		out_json_end_object(j);
	}
	out_json_end_object(j);
}

/* A process's thread groups: pattern, count, tids and each column's p50, p90 and max. */
static int json_groups(struct report *r, struct out_json *j, int pid)
{
	out_json_key(j, "thread_groups");
	out_json_begin_array(j);
	for (size_t g = 0; g < r->ngroups; g++) {
		struct rgroup *gr = &r->groups[g];
		if (gr->pid != pid)
			continue;
		double *scratch = malloc(gr->n * sizeof(*scratch)), v[3];
		if (!scratch) {
			weft_error("out of memory");
			return -1;
		}
		out_json_begin_object(j);
		json_str(j, "name_pattern", gr->pattern);
		json_opt_int(j, "count", (int64_t)gr->n);
		out_json_key(j, "tids");
		out_json_begin_array(j);
		for (size_t m = 0; m < gr->n; m++)
			out_json_int(j, r->thr[gr->members[m]].tid);
		out_json_end_array(j);
		for (int part = 0; part < 2; part++) {
			const struct thread_col *cols = part ? gil_cols : time_cols;
			size_t ncols = part ? NCOLS(gil_cols) : NCOLS(time_cols);
			if (part && !r->has_gil)
				break;
			for (size_t c = 0; c < ncols; c++) {
				if (!cols[c].json || !group_values(r, gr, part ? gil_active : NULL,
								   cols[c].value, scratch, v))
					continue;
				out_json_key(j, cols[c].json);
				out_json_begin_object(j);
				for (size_t s = 0; s < 3; s++)
					json_opt_int(j, group_stats[s].name, (int64_t)v[s]);
				out_json_end_object(j);
			}
		}
		out_json_end_object(j);
		free(scratch);
	}
	out_json_end_array(j);
	return 0;
}

static void json_waits(struct report *r, struct out_json *j)
{
	char name[256], kind[64];
	int64_t pid, addr;
	if (r->waits_error[0])
		json_str(j, "longest_waits_error", r->waits_error);
	out_json_key(j, "longest_waits");
	out_json_begin_array(j);
	for (int i = 0; i < r->nwaits; i++) {
		const struct store_blame *b = &r->waits[i];
		out_json_begin_object(j);
		json_opt_int(j, "pid", b->pid);
		json_opt_int(j, "tid", b->tid);
		json_str(j, "state", store_thread_state_name(b->state));
		json_opt_int(j, "object_id", b->obj);
		object_info(r, b->obj, name, sizeof(name), kind, sizeof(kind), &pid, &addr);
		json_str(j, "object", name);
		json_opt_int(j, "start_ns", b->start_ns);
		json_opt_int(j, "wait_ns", b->end_ns - b->start_ns);
		json_opt_int(j, "turn_holders", b->turn_holders);
		json_opt_int(j, "turn_held_ns", b->turn_holders ? b->turn_held_ns : INT64_MIN);
		json_opt_int(j, "turn_longest_tid", b->turn_holders ? b->turn_top_tid : INT64_MIN);
		json_opt_int(j, "turn_longest_ns", b->turn_holders ? b->turn_top_ns : INT64_MIN);
		out_json_key(j, "chain");
		out_json_begin_array(j);
		for (int k = 0; k < b->nlinks; k++) {
			const struct store_blame_link *l = &b->links[k];
			out_json_begin_object(j);
			json_opt_int(j, "object_id", l->obj);
			json_opt_int(j, "holder_tid", l->tid);
			json_opt_int(j, "held_from_ns", l->held_from);
			if (!l->wake_kind)
				json_opt_int(j, "held_until_ns",
					     l->held_until == INT64_MAX ? INT64_MIN
									: l->held_until);
			json_str(j, "link", l->wake_kind ? "woken_by" : "held_by");
			if (l->wake_kind) {
				json_str(j, "wake_event", store_event_kind_name(l->wake_kind));
				json_opt_int(j, "wake_stack_id",
					     l->wake_stack ? l->wake_stack : INT64_MIN);
			}
			json_str(j, "holder_state", store_thread_state_name(l->state));
			json_opt_int(j, "holder_state_from_ns", l->state_from);
			json_opt_int(j, "holder_state_object_id",
				     l->state_obj ? l->state_obj : INT64_MIN);
			json_opt_int(j, "holder_state_stack_id",
				     l->state_stack ? l->state_stack : INT64_MIN);
			out_json_end_object(j);
		}
		out_json_end_array(j);
		json_str(j, "end", store_blame_end_key(b->end));
		out_json_end_object(j);
	}
	out_json_end_array(j);
}

static int print_json(struct report *r)
{
	struct out_json j;
	char buf[64], name[256], kind[64], fn[256], file[512];
	int64_t pid, addr, line;

	out_json_init(&j, stdout, 100);
	out_json_begin_object(&j);
	out_json_key(&j, "trace");
	out_json_begin_object(&j);
	json_str(&j, "file", r->path);
	json_str(&j, "command", r->command);
	json_str(&j, "host", r->host);
	json_str(&j, "weft_version", r->weft_version);
	json_str(&j, "stacks", r->stacks);
	json_str(&j, "clock", r->clock);
	json_str(&j, "exit_status", r->exit_status);
	json_opt_int(&j, "duration_ns", r->end_ns);
	out_json_key(&j, "complete");
	out_json_bool(&j, r->complete);
	if (!r->complete)
		json_str(&j, "warning", "trace incomplete: the tracer did not finish");
	out_json_end_object(&j);

	if (r->has_findings && json_findings(r, &j))
		return -1;

	out_json_key(&j, "processes");
	out_json_begin_array(&j);
	for (size_t i = 0; i < r->norder; i++) {
		struct rproc *p = &r->proc[r->order[i]];
		out_json_begin_object(&j);
		json_opt_int(&j, "pid", p->pid);
		json_opt_int(&j, "ppid", p->has_row ? p->ppid : INT64_MIN);
		json_opt_int(&j, "depth", p->depth);
		json_str(&j, "argv", p->argv);
		json_str(&j, "name", p->name);
		out_json_key(&j, "quiet");
		out_json_bool(&j, p->quiet);
		json_opt_int(&j, "start_ns", p->start);
		json_opt_int(&j, "end_ns", p->end);
		json_opt_int(&j, "lifetime_ns", proc_lifetime(r, p));
		json_opt_int(&j, "exit_code", p->exit_code);
		json_opt_int(&j, "exit_signal", p->exit_signal);
		exit_text(p, buf, sizeof(buf));
		json_str(&j, "exit", buf);
		out_json_key(&j, "threads");
		out_json_begin_array(&j);
		for (size_t t = 0; t < r->nthr; t++)
			if (r->thr[t].pid == p->pid)
				json_thread(&j, &r->thr[t], r);
		out_json_end_array(&j);
		if (json_groups(r, &j, p->pid))
			return -1;
		out_json_end_object(&j);
	}
	out_json_end_array(&j);

	out_json_key(&j, "locks");
	out_json_begin_array(&j);
	for (size_t i = 0; i < r->ntop; i++) {
		struct robj *o = &r->obj[r->top[i]];
		object_info(r, o->id, name, sizeof(name), kind, sizeof(kind), &pid, &addr);
		out_json_begin_object(&j);
		json_opt_int(&j, "object_id", o->id);
		json_str(&j, "name", name);
		json_str(&j, "kind", kind[0] ? kind : NULL);
		json_opt_int(&j, "pid", pid);
		if (o->nprocs > 1)
			json_opt_int(&j, "processes", o->nprocs);
		json_opt_int(&j, "acquisitions", o->acq);
		json_opt_int(&j, "contended", o->contended);
		json_opt_int(&j, "failed", o->fails);
		json_opt_int(&j, "failed_wait_ns", o->fail_wait);
		json_opt_int(&j, "total_wait_ns", o->wait_sum);
		json_opt_int(&j, "avg_wait_ns", o->acq ? (o->wait_sum + o->acq / 2) / o->acq : 0);
		json_opt_int(&j, "p90_wait_ns", o->p90);
		if (o->p90_bound) {
			out_json_key(&j, "p90_is_upper_bound");
			out_json_bool(&j, 1);
		}
		json_opt_int(&j, "max_wait_ns", o->wait_max);
		out_json_key(&j, "site");
		site_text(r, o->max_stack, fn, sizeof(fn), file, sizeof(file), &line);
		if (o->acq && (fn[0] || file[0])) {
			out_json_begin_object(&j);
			json_str(&j, "function", fn[0] ? fn : NULL);
			json_str(&j, "file", file[0] ? file : NULL);
			json_opt_int(&j, "line", line);
			out_json_end_object(&j);
		} else {
			out_json_null(&j);
		}
		out_json_end_object(&j);
	}
	out_json_end_array(&j);
	out_json_key(&j, "unwaited_locks");
	out_json_begin_object(&j);
	for (int native = 1; native >= 0; native--) {
		out_json_key(&j, native ? "native" : "python");
		out_json_begin_object(&j);
		json_opt_int(&j, "count", r->unwaited[native].n);
		json_opt_int(&j, "acquisitions", r->unwaited[native].acq);
		out_json_end_object(&j);
	}
	out_json_end_object(&j);
	json_waits(r, &j);

	if (r->has_gil) {
		int64_t held = 0;
		for (size_t i = 0; i < r->nthr; i++)
			held += r->thr[i].gil_hold;
		out_json_key(&j, "gil");
		out_json_begin_object(&j);
		json_opt_int(&j, "held_ns", held);
		out_json_key(&j, "load");
		out_json_double(&j, r->end_ns > 0 ? (double)held / (double)r->end_ns : 0);
		out_json_end_object(&j);
	}

	out_json_key(&j, "event_counts");
	out_json_begin_object(&j);
	for (int c = 0; c < 256; c++) {
		if (!r->kind_count[c])
			continue;
		out_json_key(&j, kind_name(r, c, buf, sizeof(buf)));
		out_json_int(&j, r->kind_count[c]);
	}
	if (r->kind_other) {
		out_json_key(&j, "other");
		out_json_int(&j, r->kind_other);
	}
	out_json_end_object(&j);
	json_opt_int(&j, "total_events", r->total_events);

	int64_t unrec = 0, waits = 0;
	for (size_t i = 0; i < r->nthr; i++) {
		unrec += r->thr[i].unrecorded;
		waits += r->thr[i].producer_waits;
	}
	out_json_key(&j, "loss");
	out_json_begin_object(&j);
	json_opt_int(&j, "unrecorded", unrec);
	json_opt_int(&j, "producer_waits", waits);
	json_opt_int(&j, "events_lost", events_lost(r));
	out_json_end_object(&j);
	out_json_end_object(&j);
	return 0;
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->nthr; i++)
		free(r->thr[i].name);
	for (size_t i = 0; i < r->nobj; i++)
		free(r->obj[i].waits);
	for (size_t i = 0; i < r->nproc; i++) {
		free(r->proc[i].argv);
		free(r->proc[i].name);
	}
	for (size_t i = 0; i < r->ngroups; i++) {
		free(r->groups[i].pattern);
		free(r->groups[i].members);
	}
	free(r->groups);
	free(r->thr);
	free(r->obj);
	free(r->proc);
	free(r->order);
	hashmap_u64_free(&r->thr_map);
	hashmap_u64_free(&r->obj_map);
	free(r->command);
	free(r->host);
	free(r->weft_version);
	free(r->stacks);
	free(r->clock);
	free(r->exit_status);
	free(r->events_lost);
	sqlite3_close(r->db);
}

int weft_report(const char *path, int json, int list_all)
{
	struct report r;
	int ret = 1;
	char err[1024];

	memset(&r, 0, sizeof(r));
	r.path = path;
	r.list_all = list_all;
	r.db = store_open_read(path, err, sizeof(err));
	if (!r.db) {
		weft_error("%s", err);
		return 1;
	}
	if (load_meta(&r) || load_processes(&r) || load_threads(&r))
		goto out;
	int sums = load_summaries(&r);
	if (sums < 0 || (!sums && scan_events(&r)) || detect_findings(&r) || finish_model(&r) ||
	    python_split_from_spans(&r))
		goto out;
	load_longest_waits(&r);
	if (json ? print_json(&r) : print_text(&r))
		goto out;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		weft_error("report: cannot write the output");
		goto out;
	}
	ret = 0;
out:
	report_free(&r);
	return ret;
}
