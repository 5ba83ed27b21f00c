/*
 * Findings: analyses of a finished trace that point at bugs rather than
 * costs. This file builds the lock-order (potential deadlock) and misuse
 * findings and the `findings` / `finding_items` views; race and deadlock
 * findings are rows other analyses add to the same tables. The format is
 * described in docs/FINDINGS.md.
 *
 * Everything comes from one pass over ev in rowid order, which is program
 * order within each thread, replaying every thread's held set in memory:
 * the lock-order graph gets an edge "held -> acquired" on every acquisition
 * (first occurrence kept), misuses are checked against the held sets. Only
 * the few representative misuses are looked up again (who held the lock
 * instead), so the cost is linear in events and nothing needs ev's indexes:
 * a trace whose tracer was killed is analyzed the same way.
 */
#include "store/store.h"
#include "store/store_schema.h"
#include "store/store_races.h"
#include "store/store_debug.h"
#include "store/store_holds.h"
#include "store/store_util.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#define FINDINGS_VERSION "1"

/* lock.acquire / lock.release arg 2: the mutex side of a cond wait. */
#define ARG_COND 2

/* Held locks per acquisition that get an edge: lockdep-like bound for runaway hold stacks. */
#define MAX_EDGE_HELD 32
/* Gate locks remembered per edge; losing some only makes reports more likely. */
#define MAX_GUARDS 4
/* Longest lock-order cycle searched, and the search's total step budget. */
#define MAX_CYCLE_LEN 4
#define CYCLE_BUDGET 2000000
/* Misuse releases kept individually until the fork check; more are grouped at once. */
#define MAX_PENDING 100000
/* Representatives whose other holder is looked up again (each a query on ev). */
#define MAX_RESOLVE 64

enum severity { SEV_ERROR, SEV_WARNING, SEV_NOTE };
static const char *const severity_name[] = {"error", "warning", "note"};

/*
 * The rules this analysis finds (docs/FINDINGS.md): X(NAME, finding kind,
 * "rule", severity, why it is a problem and how to fix it). The enum, the
 * rows' kind, rule, severity and detail all come from here.
 */
/* clang-format off */
#define FINDINGS_RULES(X)                                                                          \
	X(UNLOCK_NOT_HELD, MISUSE, "unlock_not_held", SEV_ERROR,                                   \
	  "The thread unlocked a lock it did not hold: undefined behaviour "                      \
	  "for a normal mutex (it may unlock another thread's critical "                          \
	  "section), EPERM for an error-checking one.")                                           \
	X(COND_NOT_HELD, MISUSE, "cond_wait_not_held", SEV_ERROR,                                  \
	  "pthread_cond_wait needs the mutex locked by the caller: "                              \
	  "undefined behaviour, EPERM for an error-checking mutex.")                              \
	X(DESTROY_HELD, MISUSE, "destroy_held", SEV_ERROR,                                         \
	  "Destroying a locked lock is undefined behaviour (EBUSY at best); "                     \
	  "the holder will unlock freed or reused memory.")                                       \
	X(EXIT_HOLDING, MISUSE, "exit_holding", SEV_ERROR,                                         \
	  "The thread ended with the lock held: every later lock() of it "                        \
	  "blocks forever (EOWNERDEAD for a robust mutex).")                                      \
	X(PROCESS_EXIT_HOLDING, MISUSE, "process_exit_holding", SEV_WARNING,                       \
	  "exit() ran with the lock held: atexit handlers and "                                   \
	  "destructors that take it deadlock.")                                                   \
	X(FOREIGN_RELEASE, MISUSE, "foreign_release", SEV_NOTE,                                    \
	  "A lock released by a thread other than the one that acquired "                         \
	  "it: allowed for threading.Lock, but usually a handoff that a "                         \
	  "semaphore or event says better.")                                                      \
	X(LOCK_ORDER, LOCK_ORDER, "cycle", SEV_WARNING,                                            \
	  "Threads took these locks in opposite orders, so they can deadlock "                    \
	  "when they run at the same time (even if this run did not): take "                      \
	  "them in one global order.")

#define FINDINGS_RULE_ENUM(name, kind, rule, sev, detail) MU_##name,
enum misuse { FINDINGS_RULES(FINDINGS_RULE_ENUM) };
#undef FINDINGS_RULE_ENUM

static const struct {
	int kind, sev;
	const char *name, *detail;
} rules[] = {
#define FINDINGS_RULE_ROW(name, kind, rule, sev, detail) {STORE_FINDING_##kind, sev, rule, detail},
    FINDINGS_RULES(FINDINGS_RULE_ROW)
#undef FINDINGS_RULE_ROW
};
/* clang-format on */

/* ---- a small open-addressing map: (a, b) -> index ---- */

struct pent {
	int64_t a, b;
	size_t v;
	int used;
};

struct pmap {
	struct pent *e;
	size_t cap, n;
};

static size_t pmap_slot(const struct pmap *m, int64_t a, int64_t b)
{
	size_t mask = m->cap - 1;
	size_t i = store_hash_mix64((uint64_t)a * 0x9e3779b97f4a7c15ULL ^ (uint64_t)b) & mask;
	while (m->e[i].used && (m->e[i].a != a || m->e[i].b != b))
		i = (i + 1) & mask;
	return i;
}

static size_t *pmap_get(struct pmap *m, int64_t a, int64_t b)
{
	if (!m->cap)
		return NULL;
	size_t i = pmap_slot(m, a, b);
	return m->e[i].used ? &m->e[i].v : NULL;
}

/* Inserts (a, b) -> v; returns -1 when out of memory. */
static int pmap_put(struct pmap *m, int64_t a, int64_t b, size_t v)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pmap n = {.cap = m->cap ? m->cap * 2 : 256};
		n.e = calloc(n.cap, sizeof(*n.e));
		if (!n.e)
			return -1;
		for (size_t i = 0; i < m->cap; i++)
			if (m->e[i].used)
				n.e[pmap_slot(&n, m->e[i].a, m->e[i].b)] = m->e[i];
		n.n = m->n;
		free(m->e);
		*m = n;
	}
	size_t i = pmap_slot(m, a, b);
	if (!m->e[i].used)
		m->n++;
	m->e[i] = (struct pent){a, b, v, 1};
	return 0;
}

/* ---- the model ---- */

struct fthr {
	int32_t pid, tid;
	struct store_holds held; /* re-entries counted; failed cond waits and execs applied */
	int execd;		 /* ran an exec: no longer the fork image */
	int64_t last_ev;	 /* its latest event the pass looks at */
	int64_t rel_obj, rel_ev; /* its latest release: the object, the event */
};

/* One hold for the destroy check: [start, end) with end INT64_MAX while open. */
struct span {
	int64_t start, end, ev, stack;
	int32_t tid;
	int set;
};

struct fobj {
	int64_t id, addr;
	int32_t pid;
	int kind;
	/* the latest-starting and latest-ending holds: what a destroy can overlap */
	struct span last_start, last_end;
	int64_t destroy_ev, destroy_ts, destroy_stack;
	int32_t destroy_tid;
	/* py.lock, py.rlock: the last acquirer, for a release by another thread or a free */
	int32_t owner_tid;
	int64_t last_release_ev;  /* py.lock: its latest release, which hands over an ended hold */
	int64_t last_wait_ev;	  /* py.lock: its latest lock.wait */
	int64_t freed_release_ev; /* py.lock, py.rlock: the release CPython made freeing it */
	int foreign_releases;	  /* py.lock: by another thread than its acquirer (a signal) */
	size_t first_out;	  /* first lock-order edge from this object + 1 (0: none) */
};

struct edge {
	int64_t from, to;
	int32_t pid, tid;
	int64_t from_ev, from_stack, to_ev, to_stack;
	int64_t guards[MAX_GUARDS];
	int nguards;
	int from_excl, to_excl; /* some occurrence held / acquired exclusively */
	size_t next_out;	/* next edge from the same object + 1 */
};

struct item {
	const char *role;
	int32_t pid, tid;
	int64_t obj, ev, stack;
};

/* A finding before grouping and insertion. */
struct cand {
	int sub; /* enum misuse */
	int sev;
	int32_t pid, tid;
	int64_t ev; /* the event that makes the finding (lock order: the cycle's last edge) */
	struct item *items;
	int nitems;
	char *key;
	int64_t count;
	int exec_free; /* the thread had not exec'd: a fork-inherited lock is possible */
};

struct fork_snap {
	int32_t child;
	int64_t *addrs;
	int naddrs;
};

struct findings {
	sqlite3 *db;
	const struct store_mirror *mirror; /* the writer's newest rows, or NULL */
	const char *schema;
	char *err;
	size_t errlen;
	int failed;
	struct fthr **thr;
	struct pmap thr_map; /* (pid, tid) -> index in thr */
	size_t nthr, capthr;
	struct fobj *obj;
	struct pmap obj_map; /* (id, 0) -> index in obj */
	size_t nobj, capobj;
	struct edge *edge;
	struct pmap edge_map; /* (from, to) -> index in edge */
	size_t nedge, capedge;
	struct cand *pending; /* add_pending's, decided by flush_pending */
	size_t npending, cappending;
	struct cand *group;    /* grouped findings */
	struct pmap group_map; /* (key hash, probe) -> index in group */
	size_t ngroup, capgroup;
	struct fork_snap *snap;
	size_t nsnap, capsnap;
	int64_t cycle_steps;
	/* how far the pass has read: events by row id, lock objects by id */
	int64_t last_id, last_obj;
	struct fthr *last_thr; /* the thread of the event before */
	int64_t unknown_objs;  /* events read whose object had no row yet */
};

static void ferr(struct findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ferr(struct findings *f, const char *fmt, ...)
{
	if (!f->failed && f->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(f->err, f->errlen, fmt, ap);
		va_end(ap);
	}
	f->failed = 1;
}

static void oom(struct findings *f)
{
	ferr(f, "findings: out of memory");
}

/* Grows *p (of *cap elements of size sz) to hold n + 1; 0 on success. */
static int grow(void **p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, nc * sz);
	if (!q)
		return -1;
	*p = q;
	*cap = nc;
	return 0;
}

static struct fthr *fnd_thr_find(struct findings *f, int32_t pid, int32_t tid)
{
	size_t *i = pmap_get(&f->thr_map, pid, tid);
	return i ? f->thr[*i] : NULL;
}

static struct fthr *fnd_thr_get(struct findings *f, int32_t pid, int32_t tid)
{
	size_t *i = pmap_get(&f->thr_map, pid, tid);
	if (i)
		return f->thr[*i];
	struct fthr *t = calloc(1, sizeof(*t));
	if (!t || grow((void **)&f->thr, &f->capthr, f->nthr, sizeof(*f->thr)) ||
	    pmap_put(&f->thr_map, pid, tid, f->nthr)) {
		free(t);
		oom(f);
		return NULL;
	}
	t->pid = pid;
	t->tid = tid;
	store_holds_init(&t->held, STORE_HOLDS_COND_FAILURE | STORE_HOLDS_EXEC, STORE_HOLDS_OWNED,
			 0);
	f->thr[f->nthr++] = t;
	return t;
}

static struct fobj *fnd_obj_get(struct findings *f, int64_t id)
{
	size_t *i = id ? pmap_get(&f->obj_map, id, 0) : NULL;
	return i ? &f->obj[*i] : NULL;
}

static int is_lock_kind(int kind)
{
	return (store_holds_kind_rules(kind) & STORE_HOLDS_OWNED) != 0;
}

/* Runs the statements in sql. Returns 0, otherwise -1 with the error in f. */
static int fnd_run(struct findings *f, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(f->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ferr(f, "findings: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int fnd_exec(struct findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fnd_exec(struct findings *f, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return fnd_run(f, sql);
}

static sqlite3_stmt *fnd_prep(struct findings *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static sqlite3_stmt *fnd_prep(struct findings *f, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(f->db, sql, -1, &st, NULL) != SQLITE_OK) {
		ferr(f, "findings: %s", sqlite3_errmsg(f->db));
		return NULL;
	}
	return st;
}

static int load_objects(struct findings *f)
{
	sqlite3_stmt *st =
	    fnd_prep(f, "SELECT object_id, pid, kind, addr FROM main.obj WHERE object_id > %lld",
		     (long long)f->last_obj);
	int rc;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int kind = sqlite3_column_int(st, 2);
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > f->last_obj)
			f->last_obj = id;
		if (!is_lock_kind(kind) || !id || pmap_get(&f->obj_map, id, 0))
			continue;
		if (grow((void **)&f->obj, &f->capobj, f->nobj, sizeof(*f->obj)) ||
		    pmap_put(&f->obj_map, id, 0, f->nobj)) {
			oom(f);
			break;
		}
		struct fobj *o = &f->obj[f->nobj++];
		memset(o, 0, sizeof(*o));
		o->id = id;
		o->pid = sqlite3_column_int(st, 1);
		o->kind = kind;
		o->addr = sqlite3_column_int64(st, 3);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ferr(f, "findings: reading objects: %s", sqlite3_errmsg(f->db));
	sqlite3_finalize(st);
	return f->failed ? -1 : 0;
}

/* ---- findings: grouping ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static void cand_free(struct cand *c)
{
	free(c->items);
	free(c->key);
	c->items = NULL;
	c->key = NULL;
}

/* A stack as a grouping key; without stacks the object (or thread) stands in. */
static int key_site(char *buf, size_t len, int64_t stack, int64_t obj)
{
	return stack ? snprintf(buf, len, "s%" PRId64, stack)
		     : snprintf(buf, len, "o%" PRId64, obj);
}

/* Makes c's key: its kind and the sites of its items (lock order: already set). */
static int cand_key(struct cand *c)
{
	size_t len = 32 + (size_t)c->nitems * 48, n;
	char *k = malloc(len);
	if (!k)
		return -1;
	n = (size_t)snprintf(k, len, "m%d", c->sub);
	for (int i = 0; i < c->nitems && n < len; i++) {
		n += (size_t)snprintf(k + n, len - n, ",%s:", c->items[i].role);
		if (n < len)
			n += (size_t)key_site(k + n, len - n, c->items[i].stack, c->items[i].obj);
	}
	c->key = k;
	return 0;
}

/* Adds c to the groups (taking its memory): same key, one finding with a count. */
static void group_add(struct findings *f, struct cand *c)
{
	if (!c->key && cand_key(c)) {
		cand_free(c);
		oom(f);
		return;
	}
	uint64_t h = hash_str(c->key);
	for (int64_t probe = 0;; probe++) {
		size_t *i = pmap_get(&f->group_map, (int64_t)h, probe);
		if (!i)
			break;
		struct cand *g = &f->group[*i];
		if (strcmp(g->key, c->key))
			continue;
		int64_t n = g->count + c->count;
		/* The earliest occurrence represents the group. */
		if (c->ev < g->ev) {
			cand_free(g);
			*g = *c;
		} else {
			cand_free(c);
		}
		g->count = n;
		return;
	}
	int64_t probe = 0;
	while (pmap_get(&f->group_map, (int64_t)h, probe))
		probe++;
	if (grow((void **)&f->group, &f->capgroup, f->ngroup, sizeof(*f->group)) ||
	    pmap_put(&f->group_map, (int64_t)h, probe, f->ngroup)) {
		cand_free(c);
		oom(f);
		return;
	}
	f->group[f->ngroup++] = *c;
}

static struct cand *cand_new(struct cand *c, int sub, const struct fthr *t, int64_t ev, int nitems)
{
	memset(c, 0, sizeof(*c));
	c->sub = sub;
	c->sev = rules[sub].sev;
	c->pid = t->pid;
	c->tid = t->tid;
	c->ev = ev;
	c->count = 1;
	c->exec_free = !t->execd;
	c->items = calloc((size_t)nitems, sizeof(*c->items));
	return c->items ? c : NULL;
}

static void item_set(struct item *it, const char *role, const struct fthr *t, int64_t obj,
		     int64_t ev, int64_t stack)
{
	*it = (struct item){role, t->pid, t->tid, obj, ev, stack};
}

/*
 * A candidate that the end of the pass decides (flush_pending): a release
 * of a lock the thread does not hold, which a fork may explain or CPython
 * freeing a Python lock may have made; a process exit holding locks, which
 * is none when a signal killed the process (its process.exit is weft's,
 * written when its end was seen, and its status is known only once it is
 * reaped); an exit holding a py.lock, which later events may show handed
 * over or wanted by no one. Past MAX_PENDING it stands as it is.
 */
static void add_pending(struct findings *f, struct cand *c)
{
	if (f->npending >= MAX_PENDING) {
		group_add(f, c);
		return;
	}
	if (grow((void **)&f->pending, &f->cappending, f->npending, sizeof(*f->pending))) {
		cand_free(c);
		oom(f);
		return;
	}
	f->pending[f->npending++] = *c;
}

/* A release of a lock the thread does not hold: kept apart until the fork check. */
static void add_release_misuse(struct findings *f, struct fthr *t, int sub, int64_t obj, int64_t ev,
			       int64_t stack)
{
	struct cand c;
	if (!cand_new(&c, sub, t, ev, 2)) {
		oom(f);
		return;
	}
	item_set(&c.items[0], sub == MU_COND_NOT_HELD ? "cond_wait" : "release", t, obj, ev, stack);
	c.nitems = 1;
	add_pending(f, &c);
}

/* ---- the event pass ---- */

struct evrow {
	int64_t id, ts, obj, arg, stack;
	int32_t pid, tid;
	int kind;
};

/* The innermost of t's first nheld entries that holds obj, or NULL. */
static const struct store_hold *held_find(const struct fthr *t, int nheld, int64_t obj)
{
	for (int i = nheld - 1; i >= 0; i--)
		if (t->held.h[i].obj == obj)
			return &t->held.h[i];
	return NULL;
}

/* Notes the hold h that ended at end (INT64_MAX: never) for the destroy check. */
static void hold_ended(struct findings *f, const struct fthr *t, const struct store_hold *h,
		       int64_t end)
{
	struct fobj *o = fnd_obj_get(f, h->obj);
	if (o) {
		struct span s = {h->start, end, h->ev, h->stack, t->tid, 1};
		if (!o->last_start.set || s.start >= o->last_start.start)
			o->last_start = s;
		if (!o->last_end.set || s.end >= o->last_end.end)
			o->last_end = s;
	}
}

/* Lets go of one level of h, an entry of t's held set. */
static void held_release(struct findings *f, struct fthr *t, struct store_hold *h, int64_t end)
{
	struct store_hold ended;
	if (store_holds_release(&t->held, h, &ended) == STORE_HOLDS_RELEASED)
		hold_ended(f, t, &ended, end);
}

/* Lets go of h entirely, whatever its depth. */
static void held_drop(struct findings *f, struct fthr *t, struct store_hold *h, int64_t end)
{
	struct store_hold ended;
	store_holds_drop(&t->held, h, &ended);
	hold_ended(f, t, &ended, end);
}

/* A Python lock's hold by its last acquirer (*owner), or NULL when that thread holds it no more. */
static struct store_hold *owner_hold(struct findings *f, const struct fobj *o, struct fthr **owner)
{
	*owner = o->owner_tid ? fnd_thr_find(f, o->pid, o->owner_tid) : NULL;
	return *owner ? store_holds_find(&(*owner)->held, o->id) : NULL;
}

static void edge_add(struct findings *f, struct fthr *t, int nheld, const struct store_hold *from,
		     int64_t to, int64_t ev, int64_t stack, int to_excl)
{
	size_t *ip = pmap_get(&f->edge_map, from->obj, to);
	struct edge *e;
	if (!ip) {
		if (grow((void **)&f->edge, &f->capedge, f->nedge, sizeof(*f->edge)) ||
		    pmap_put(&f->edge_map, from->obj, to, f->nedge)) {
			oom(f);
			return;
		}
		e = &f->edge[f->nedge++];
		memset(e, 0, sizeof(*e));
		e->from = from->obj;
		e->to = to;
		e->pid = t->pid;
		e->tid = t->tid;
		e->from_ev = from->ev;
		e->from_stack = from->stack;
		e->to_ev = ev;
		e->to_stack = stack;
		/* Gate locks: the other locks held exclusively around this acquisition. */
		for (int i = 0; i < nheld && e->nguards < MAX_GUARDS; i++)
			if (t->held.h[i].obj != from->obj && t->held.h[i].excl)
				e->guards[e->nguards++] = t->held.h[i].obj;
	} else {
		e = &f->edge[*ip];
		/* One occurrence without the gate lock is enough for the gate not to protect. */
		int n = 0;
		for (int g = 0; g < e->nguards; g++) {
			const struct store_hold *h = held_find(t, nheld, e->guards[g]);
			if (h && h->excl)
				e->guards[n++] = e->guards[g];
		}
		e->nguards = n;
	}
	e->from_excl |= from->excl;
	e->to_excl |= to_excl;
}

/* Edges from the locks held before (the first nheld entries) to o. */
static void edges_to(struct findings *f, struct fthr *t, int nheld, const struct fobj *o,
		     const struct evrow *r)
{
	/* rwlocks: arg 0 read, 1 write; everything else is exclusive. */
	int excl = o->kind != WEFT_OBJ_RWLOCK || r->arg == 1;
	int first = nheld > MAX_EDGE_HELD ? nheld - MAX_EDGE_HELD : 0;
	for (int i = first; i < nheld; i++)
		edge_add(f, t, nheld, &t->held.h[i], o->id, r->id, r->stack, excl);
}

static void on_acquire(struct findings *f, struct fthr *t, struct fobj *o, const struct evrow *r,
		       enum store_holds_what what)
{
	/* A recursive re-acquisition orders nothing, nor does a failed cond wait's. */
	if (what == STORE_HOLDS_NO_MEMORY)
		oom(f);
	if (what != STORE_HOLDS_ACQUIRED)
		return;
	edges_to(f, t, t->held.n - 1, o, r);
	if (o->kind == WEFT_OBJ_PY_LOCK || o->kind == WEFT_OBJ_PY_RLOCK)
		o->owner_tid = t->tid;
}

/*
 * A destroy that failed (EBUSY: the lock was held) still retires the object
 * id, so the holder's unlock names a new object at the same address.
 */
static struct store_hold *held_find_destroyed(struct findings *f, struct fthr *t,
					      const struct fobj *o)
{
	for (int i = t->held.n - 1; i >= 0; i--) {
		struct fobj *h = fnd_obj_get(f, t->held.h[i].obj);
		if (h && h != o && h->destroy_ev && h->addr == o->addr && h->pid == o->pid)
			return &t->held.h[i];
	}
	return NULL;
}

static void on_release(struct findings *f, struct fthr *t, struct fobj *o, const struct evrow *r,
		       enum store_holds_what what, const struct store_hold *ended)
{
	if (o->kind == WEFT_OBJ_PY_LOCK)
		o->last_release_ev = r->id;
	if (what == STORE_HOLDS_RELEASED)
		hold_ended(f, t, ended, r->ts);
	if (what != STORE_HOLDS_NOT_HELD)
		return;
	struct store_hold *h = o->addr ? held_find_destroyed(f, t, o) : NULL;
	if (h) {
		held_release(f, t, h, r->ts);
		return;
	}
	if (o->kind == WEFT_OBJ_PY_LOCK && r->arg != ARG_COND) {
		/* threading.Lock may be released by any thread: a note, and the owner lets go. */
		struct cand c;
		struct fthr *ot;
		struct store_hold *oh = owner_hold(f, o, &ot);
		if (!cand_new(&c, MU_FOREIGN_RELEASE, t, r->id, 2)) {
			oom(f);
			return;
		}
		item_set(&c.items[c.nitems++], "release", t, o->id, r->id, r->stack);
		o->foreign_releases++;
		if (oh) {
			item_set(&c.items[c.nitems++], "acquire", ot, o->id, oh->ev, oh->stack);
			held_drop(f, ot, oh, r->ts);
		}
		add_pending(f, &c);
		return;
	}
	add_release_misuse(f, t, r->arg == ARG_COND ? MU_COND_NOT_HELD : MU_UNLOCK_NOT_HELD, o->id,
			   r->id, r->stack);
}

/*
 * CPython frees a Lock or RLock still locked as any other object (and
 * lets go of it): its holder, its last acquirer, holds it no longer. Up to
 * 3.13 the free releases it first, in the freeing thread (its release and
 * then its destroy, nothing between): that release is no one's misuse.
 */
static void py_lock_freed(struct findings *f, const struct fthr *t, struct fobj *o,
			  const struct evrow *r)
{
	if (t->rel_obj == o->id && t->rel_ev == t->last_ev)
		o->freed_release_ev = t->rel_ev;
	struct fthr *h;
	struct store_hold *held = owner_hold(f, o, &h);
	if (held)
		held_drop(f, h, held, r->ts);
}

static void on_destroy(struct fobj *o, struct fthr *t, const struct evrow *r)
{
	if (o->destroy_ev)
		return;
	o->destroy_ev = r->id;
	o->destroy_ts = r->ts;
	o->destroy_stack = r->stack;
	o->destroy_tid = t->tid;
}

static void on_thread_exit(struct findings *f, struct fthr *t, const struct evrow *r)
{
	if (!t->held.n)
		return;
	int sub = r->kind == WEFT_EV_THREAD_EXIT ? MU_EXIT_HOLDING : MU_PROCESS_EXIT_HOLDING;
	struct cand c;
	if (!cand_new(&c, sub, t, r->id, t->held.n + 1)) {
		oom(f);
		return;
	}
	item_set(&c.items[c.nitems++], "exit", t, 0, r->id, r->stack);
	for (int i = 0; i < t->held.n; i++)
		item_set(&c.items[c.nitems++], "held", t, t->held.h[i].obj, t->held.h[i].ev,
			 t->held.h[i].stack);
	int py_lock = 0;
	for (int i = 0; i < t->held.n && !py_lock; i++) {
		const struct fobj *o = fnd_obj_get(f, t->held.h[i].obj);
		py_lock = o && o->kind == WEFT_OBJ_PY_LOCK;
	}
	if (sub == MU_PROCESS_EXIT_HOLDING || py_lock)
		add_pending(f, &c);
	else
		group_add(f, &c);
}

static void on_fork(struct findings *f, struct fthr *t, int64_t child)
{
	if (!t->held.n || child <= 0)
		return;
	if (grow((void **)&f->snap, &f->capsnap, f->nsnap, sizeof(*f->snap))) {
		oom(f);
		return;
	}
	struct fork_snap *s = &f->snap[f->nsnap];
	s->child = (int32_t)child;
	s->naddrs = 0;
	s->addrs = calloc((size_t)t->held.n, sizeof(*s->addrs));
	if (!s->addrs) {
		oom(f);
		return;
	}
	for (int i = 0; i < t->held.n; i++) {
		struct fobj *o = fnd_obj_get(f, t->held.h[i].obj);
		if (o && o->addr)
			s->addrs[s->naddrs++] = o->addr;
	}
	f->nsnap++;
}

/* The kinds the pass looks at. */
#define FND_KINDS                                                                                  \
	(1ull << WEFT_EV_LOCK_ACQUIRE | 1ull << WEFT_EV_LOCK_RELEASE | 1ull << WEFT_EV_COND_WAIT | \
	 1ull << WEFT_EV_THREAD_EXIT | 1ull << WEFT_EV_PROCESS_FORK |                              \
	 1ull << WEFT_EV_PROCESS_EXEC | 1ull << WEFT_EV_PROCESS_EXIT |                             \
	 1ull << WEFT_EV_OBJECT_DESTROY | 1ull << WEFT_EV_LOCK_WAIT)

/* One event of the pass, in row order. Returns -1 when the pass failed. */
static int fnd_event(struct findings *f, const struct store_event_row *row)
{
	struct evrow r = {
	    .id = row->id,
	    .ts = row->e.ts_ns,
	    .pid = row->e.pid,
	    .tid = row->e.tid,
	    .kind = row->e.kind,
	    .obj = row->e.object_id,
	    .arg = row->e.arg,
	    .stack = row->e.stack_id,
	};
	f->last_id = r.id;
	if (r.obj > f->last_obj)
		f->unknown_objs++;
	/* Events come in runs from one thread: skip the lookup while it stays the same. */
	struct fthr *t = f->last_thr;
	if (!t || t->pid != r.pid || t->tid != r.tid) {
		t = f->last_thr = fnd_thr_get(f, r.pid, r.tid);
		if (!t)
			return -1;
	}
	struct fobj *o = r.obj ? fnd_obj_get(f, r.obj) : NULL;
	struct store_holds_event he = {.kind = r.kind,
				       .obj_kind = o ? o->kind : 0,
				       .obj = r.obj,
				       .ts = r.ts,
				       .ev = r.id,
				       .stack = r.stack,
				       .arg = r.arg};
	struct store_hold ended;
	enum store_holds_what what = store_holds_apply(&t->held, &he, &ended);
	switch (r.kind) {
	case WEFT_EV_LOCK_ACQUIRE:
		if (o)
			on_acquire(f, t, o, &r, what);
		break;
	case WEFT_EV_LOCK_RELEASE:
		if (o)
			on_release(f, t, o, &r, what, &ended);
		break;
	case WEFT_EV_LOCK_WAIT:
		/*
		 * A wait orders the locks held before it as an acquire would:
		 * in a real deadlock the acquire never comes.
		 */
		if (o && !store_holds_find(&t->held, o->id))
			edges_to(f, t, t->held.n, o, &r);
		if (o && o->kind == WEFT_OBJ_PY_LOCK)
			o->last_wait_ev = r.id;
		break;
	case WEFT_EV_OBJECT_DESTROY:
		if (o && (o->kind == WEFT_OBJ_PY_LOCK || o->kind == WEFT_OBJ_PY_RLOCK))
			py_lock_freed(f, t, o, &r);
		else if (o)
			on_destroy(o, t, &r);
		break;
	case WEFT_EV_THREAD_EXIT:
	case WEFT_EV_PROCESS_EXIT:
		on_thread_exit(f, t, &r);
		break;
	case WEFT_EV_PROCESS_FORK:
		on_fork(f, t, r.arg);
		break;
	case WEFT_EV_PROCESS_EXEC:
		if (what == STORE_HOLDS_EXEC_STASHED)
			t->execd = 1;
		break;
	}
	if (r.kind == WEFT_EV_LOCK_RELEASE) {
		t->rel_obj = r.obj;
		t->rel_ev = r.id;
	}
	t->last_ev = r.id;
	return f->failed ? -1 : 0;
}

/* Reads the events after f->last_id up to last_id (INT64_MAX: all). */
static int fnd_event_pass(struct findings *f, int64_t last_id)
{
	struct store_events *reader =
	    store_events_open_range(f->db, FND_KINDS, f->last_id, last_id);
	struct store_event_row row;
	int rc = reader ? 1 : -1;
	if (reader && f->mirror)
		store_events_use_mirror(reader, f->mirror);
	while (rc > 0 && !f->failed && (rc = store_events_next(reader, &row)) > 0)
		if (fnd_event(f, &row))
			break;
	if (!f->failed && rc < 0)
		ferr(f, "findings: reading events: %s", sqlite3_errmsg(f->db));
	store_events_close(reader);
	/* Rows of other kinds up to last_id were read too. */
	if (!f->failed && last_id != INT64_MAX && last_id > f->last_id)
		f->last_id = last_id;
	return f->failed ? -1 : 0;
}

/* Drops the findings of the kinds this build makes again (a deadlock's stays). */
static int drop_rebuilt(struct findings *f)
{
	char kinds[256] = "";
	size_t n = 0;
	int k = 0;
#define FINDINGS_REBUILT(name, text, rebuilt, what)                                                \
	if (rebuilt)                                                                               \
		n += (size_t)snprintf(kinds + n, sizeof(kinds) - n, "%s'%s'", k++ ? ", " : "",     \
				      text);
	STORE_FINDING_KINDS(FINDINGS_REBUILT)
#undef FINDINGS_REBUILT
	return fnd_exec(f,
			"DELETE FROM %s.finding_item WHERE finding_id IN (SELECT finding_id FROM"
			" %s.finding WHERE kind IN (%s));"
			"DELETE FROM %s.finding WHERE kind IN (%s);",
			f->schema, f->schema, kinds, f->schema, kinds);
}

/* ---- after the pass ---- */

/* A lock still held when its thread ended stays locked for good. */
static void close_open_holds(struct findings *f)
{
	for (size_t i = 0; i < f->nthr; i++) {
		struct fthr *t = f->thr[i];
		while (t->held.n)
			held_drop(f, t, &t->held.h[t->held.n - 1], INT64_MAX);
	}
}

static int span_covers(const struct span *s, int64_t ts)
{
	return s->set && s->start <= ts && ts < s->end;
}

/*
 * A destroy inside a hold of any thread. Holds end before a correct destroy,
 * so the latest-starting and the latest-ending hold are the ones to check.
 */
static void check_destroys(struct findings *f)
{
	for (size_t i = 0; i < f->nobj && !f->failed; i++) {
		struct fobj *o = &f->obj[i];
		if (!o->destroy_ev)
			continue;
		const struct span *s = span_covers(&o->last_end, o->destroy_ts)	    ? &o->last_end
				       : span_covers(&o->last_start, o->destroy_ts) ? &o->last_start
										    : NULL;
		struct fthr *t = fnd_thr_find(f, o->pid, o->destroy_tid);
		struct fthr *h = s ? fnd_thr_find(f, o->pid, s->tid) : NULL;
		if (!s || !t || !h)
			continue;
		struct cand c;
		if (!cand_new(&c, MU_DESTROY_HELD, t, o->destroy_ev, 2)) {
			oom(f);
			return;
		}
		item_set(&c.items[c.nitems++], "destroy", t, o->id, o->destroy_ev,
			 o->destroy_stack);
		item_set(&c.items[c.nitems++], "holder", h, o->id, s->ev, s->stack);
		group_add(f, &c);
	}
}

/* A child process starts with the forking thread's locks (pthread_atfork handlers unlock them). */
static int fork_inherited(struct findings *f, const struct cand *c)
{
	struct fobj *o = fnd_obj_get(f, c->items[0].obj);
	if (!o || !o->addr || !c->exec_free)
		return 0;
	for (size_t i = 0; i < f->nsnap; i++) {
		if (f->snap[i].child != c->pid)
			continue;
		for (int j = 0; j < f->snap[i].naddrs; j++)
			if (f->snap[i].addrs[j] == o->addr)
				return 1;
	}
	return 0;
}

/*
 * Drops an exit candidate's py.lock holds that hurt no one: threading.Lock
 * has no owner, so another thread releasing it after the holder ended
 * handed it over (a foreign_release note says so; the first release after
 * the exit can only be of that hold), and one nobody waited for since the
 * holder took it was a signal taken for the last time (CPython's
 * test_thread ends threads so, `allocate_lock()` pairs). One another
 * thread waited for, and nobody released, stays: that thread is stuck.
 * Returns how many holds are left.
 */
static int exit_holds_left(struct findings *f, struct cand *c)
{
	int kept = 0, held = 0;
	for (int i = 0; i < c->nitems; i++) {
		const struct item *it = &c->items[i];
		int is_held = !strcmp(it->role, "held");
		const struct fobj *o = is_held ? fnd_obj_get(f, it->obj) : NULL;
		if (o && o->kind == WEFT_OBJ_PY_LOCK &&
		    (o->last_release_ev > c->ev || o->last_wait_ev < it->ev))
			continue;
		held += is_held;
		c->items[kept++] = *it;
	}
	c->nitems = kept;
	return held;
}

/* Whether a signal ended process pid (proc.exit_signal): it did not exit holding anything. */
static int killed_by_signal(struct findings *f, int32_t pid)
{
	sqlite3_stmt *st = NULL;
	int killed = 0;
	if (sqlite3_prepare_v2(f->db, "SELECT exit_signal IS NOT NULL FROM main.proc WHERE pid = ?",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, pid);
		killed = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return killed;
}

/* Whether a release candidate's release is the one CPython made freeing the lock. */
static int freeing_release(struct findings *f, const struct cand *c)
{
	struct fobj *o = fnd_obj_get(f, c->items[0].obj);
	if (!o || !o->freed_release_ev || o->freed_release_ev != c->items[0].ev)
		return 0;
	if (c->sub == MU_FOREIGN_RELEASE)
		o->foreign_releases--;
	return 1;
}

static void flush_pending(struct findings *f)
{
	for (size_t i = 0; i < f->npending; i++) {
		struct cand *c = &f->pending[i];
		int exit = c->sub == MU_PROCESS_EXIT_HOLDING || c->sub == MU_EXIT_HOLDING;
		int none =
		    exit ? (c->sub == MU_PROCESS_EXIT_HOLDING && killed_by_signal(f, c->pid)) ||
			       !exit_holds_left(f, c)
			 : freeing_release(f, c) ||
			       (c->sub != MU_FOREIGN_RELEASE && fork_inherited(f, c));
		if (f->failed || none)
			cand_free(c);
		else
			group_add(f, c);
	}
	f->npending = 0;
}

/* ---- lock-order cycles ---- */

static int guards_meet(const struct edge *a, const struct edge *b)
{
	for (int i = 0; i < a->nguards; i++)
		for (int j = 0; j < b->nguards; j++)
			if (a->guards[i] == b->guards[j])
				return 1;
	return 0;
}

/* The lock between two consecutive edges: shared with shared never blocks (readers). */
static int link_blocks(const struct edge *in, const struct edge *out)
{
	return in->to_excl || out->from_excl;
}

static void report_cycle(struct findings *f, const size_t *path, int len)
{
	struct cand c;
	const struct edge *last = &f->edge[path[0]];
	for (int i = 1; i < len; i++)
		if (f->edge[path[i]].to_ev > last->to_ev)
			last = &f->edge[path[i]];
	struct fthr *lt = fnd_thr_find(f, last->pid, last->tid);
	if (!lt || !cand_new(&c, MU_LOCK_ORDER, lt, last->to_ev, 2 * len)) {
		if (lt)
			oom(f);
		return;
	}
	/* Group key: the edges' sites, rotated to the smallest, so any start gives the same. */
	char site[MAX_CYCLE_LEN][64];
	for (int i = 0; i < len; i++) {
		const struct edge *e = &f->edge[path[i]];
		char a[30], b[30];
		key_site(a, sizeof(a), e->from_stack, e->from);
		key_site(b, sizeof(b), e->to_stack, e->to);
		snprintf(site[i], sizeof(site[i]), "%s>%s", a, b);
	}
	int best = 0;
	for (int r = 1; r < len; r++) {
		for (int k = 0; k < len; k++) {
			int cmp = strcmp(site[(r + k) % len], site[(best + k) % len]);
			if (cmp < 0)
				best = r;
			if (cmp)
				break;
		}
	}
	size_t klen = 16 + (size_t)len * 65, n;
	c.key = malloc(klen);
	if (!c.key) {
		cand_free(&c);
		oom(f);
		return;
	}
	n = (size_t)snprintf(c.key, klen, "lo%d", len);
	for (int k = 0; k < len; k++)
		n += (size_t)snprintf(c.key + n, klen - n, ",%s", site[(best + k) % len]);
	for (int i = 0; i < len; i++) {
		const struct edge *e = &f->edge[path[i]];
		struct fthr *t = fnd_thr_find(f, e->pid, e->tid);
		if (!t)
			continue;
		item_set(&c.items[c.nitems++], "holds", t, e->from, e->from_ev, e->from_stack);
		item_set(&c.items[c.nitems++], "acquires", t, e->to, e->to_ev, e->to_stack);
	}
	group_add(f, &c);
}

/*
 * Elementary cycles through start whose other locks all have larger ids, so
 * each cycle is found once, from its smallest lock (Johnson's enumeration
 * without the blocking sets: cycles are short and the search is bounded).
 */
static void cycle_dfs(struct findings *f, int64_t start, size_t *path, int depth)
{
	const struct edge *prev = &f->edge[path[depth - 1]];
	struct fobj *node = fnd_obj_get(f, prev->to);
	if (!node)
		return;
	for (size_t ei = node->first_out; ei && !f->failed; ei = f->edge[ei - 1].next_out) {
		const struct edge *e = &f->edge[ei - 1];
		if (++f->cycle_steps > CYCLE_BUDGET)
			return;
		if (e->to < start || !link_blocks(prev, e))
			continue;
		int gated = 0, seen = 0;
		for (int i = 0; i < depth && !gated; i++) {
			gated = guards_meet(&f->edge[path[i]], e);
			seen |= f->edge[path[i]].from == e->to && e->to != start;
		}
		if (gated || seen)
			continue;
		path[depth] = ei - 1;
		if (e->to == start) {
			if (link_blocks(e, &f->edge[path[0]]))
				report_cycle(f, path, depth + 1);
		} else if (depth + 1 < MAX_CYCLE_LEN) {
			cycle_dfs(f, start, path, depth + 1);
		}
	}
}

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

/*
 * Whether an edge takes part in cycles: not one from or to a Lock used as
 * a signal (released by another thread than its acquirer, as a semaphore
 * is posted), which is no one's to hold in an order: CPython's
 * test_threading hands such locks between threads (started, finish) and
 * had each test's pair reported as an inversion.
 */
static int edge_orders(struct findings *f, const struct edge *e)
{
	const struct fobj *from = fnd_obj_get(f, e->from), *to = fnd_obj_get(f, e->to);
	return from && !from->foreign_releases && !(to && to->foreign_releases);
}

static void find_cycles(struct findings *f)
{
	size_t path[MAX_CYCLE_LEN];
	/* Adjacency lists in (from, to) order, so the output does not depend on hashing. */
	if (f->nedge > 1)
		qsort(f->edge, f->nedge, sizeof(*f->edge), cmp_edge);
	for (size_t i = f->nedge; i-- > 0;) {
		struct fobj *o = fnd_obj_get(f, f->edge[i].from);
		if (!edge_orders(f, &f->edge[i]))
			continue;
		f->edge[i].next_out = o->first_out;
		o->first_out = i + 1;
	}
	for (size_t i = 0; i < f->nedge && !f->failed && f->cycle_steps <= CYCLE_BUDGET; i++) {
		const struct edge *e = &f->edge[i];
		/* Start only from the cycle's smallest lock. */
		if (e->to <= e->from || !edge_orders(f, e))
			continue;
		path[0] = i;
		cycle_dfs(f, e->from, path, 1);
	}
}

/* ---- who held the lock instead ---- */

/*
 * Replays one lock's acquisitions and releases in time order up to the
 * misuse event: the thread still holding it then is the one whose lock was
 * let go (or, for a cond wait, whose mutex the waiter used).
 */
/* Who held a lock when a thread released it without holding it: a replay of the lock's events. */
struct holder_replay {
	struct cand *c;
	int done, nh;
	struct {
		int32_t tid;
		int count;
		int64_t ev, stack;
	} h[64];
};

static void replay_event(struct holder_replay *r, int64_t id, int32_t tid, int kind, int64_t stack)
{
	if (id == r->c->ev) {
		r->done = 1;
		return;
	}
	int i = 0;
	while (i < r->nh && r->h[i].tid != tid)
		i++;
	if (kind == WEFT_EV_LOCK_ACQUIRE) {
		if (i == r->nh) {
			if (r->nh == (int)(sizeof(r->h) / sizeof(r->h[0])))
				return;
			r->h[r->nh++].count = 0;
			r->h[i].tid = tid;
		}
		if (r->h[i].count++ == 0) {
			r->h[i].ev = id;
			r->h[i].stack = stack;
		}
	} else if (i < r->nh && r->h[i].count > 0) {
		r->h[i].count--;
	}
}

static void replay_finish(struct holder_replay *r)
{
	struct cand *c = r->c;
	int best = -1;
	for (int i = 0; i < r->nh; i++)
		if (r->h[i].count > 0 && r->h[i].tid != c->tid &&
		    (best < 0 || r->h[i].ev > r->h[best].ev))
			best = i;
	if (best >= 0)
		c->items[c->nitems++] =
		    (struct item){"holder",	   c->pid,	  r->h[best].tid,
				  c->items[0].obj, r->h[best].ev, r->h[best].stack};
}

static int resolve_holders(struct findings *f)
{
	struct holder_replay *rp = calloc(MAX_RESOLVE, sizeof(*rp));
	char objs[MAX_RESOLVE * 24] = "";
	size_t ol = 0;
	int nr = 0, rc = SQLITE_DONE;
	if (!rp) {
		ferr(f, "findings: out of memory");
		return -1;
	}
	for (size_t i = 0; i < f->ngroup && nr < MAX_RESOLVE; i++) {
		struct cand *c = &f->group[i];
		if (c->sub != MU_UNLOCK_NOT_HELD && c->sub != MU_COND_NOT_HELD)
			continue;
		rp[nr++].c = c;
		ol += (size_t)snprintf(objs + ol, sizeof(objs) - ol, "%s%" PRId64, ol ? "," : "",
				       c->items[0].obj);
	}
	/*
	 * One pass over those locks' events for all the findings: ev has no
	 * index on obj, so a read per finding would be a scan each.
	 */
	sqlite3_stmt *st =
	    !nr ? NULL
		: fnd_prep(f,
			   "SELECT e.id, t.tid, e.kind, e.obj, e.stack FROM" STORE_EV_PID_TID_SQL
			   " WHERE e.obj IN (%s) AND e.kind IN (%d, %d) ORDER BY %s",
			   objs, WEFT_EV_LOCK_ACQUIRE, WEFT_EV_LOCK_RELEASE,
			   store_events_time_ordered(f->db) ? "e.id" : "e.ts, e.id");
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), obj = sqlite3_column_int64(st, 3);
		for (int k = 0; k < nr; k++)
			if (!rp[k].done && rp[k].c->items[0].obj == obj)
				replay_event(&rp[k], id, sqlite3_column_int(st, 1),
					     sqlite3_column_int(st, 2),
					     sqlite3_column_int64(st, 4));
	}
	if (st && rc != SQLITE_DONE)
		ferr(f, "findings: reading events: %s", sqlite3_errmsg(f->db));
	else if (st)
		for (int k = 0; k < nr; k++)
			replay_finish(&rp[k]);
	sqlite3_finalize(st);
	free(rp);
	return f->failed ? -1 : 0;
}

/* ---- text ---- */

struct namer {
	sqlite3_stmt *obj, *thr;
};

static void name_obj(struct namer *nm, int64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "object %" PRId64, id);
	sqlite3_bind_int64(nm->obj, 1, id);
	if (sqlite3_step(nm->obj) == SQLITE_ROW && sqlite3_column_text(nm->obj, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(nm->obj, 0));
	sqlite3_reset(nm->obj);
}

static void name_thr(struct namer *nm, int32_t pid, int32_t tid, char *buf, size_t len)
{
	sqlite3_bind_int(nm->thr, 1, pid);
	sqlite3_bind_int(nm->thr, 2, tid);
	if (sqlite3_step(nm->thr) == SQLITE_ROW && sqlite3_column_text(nm->thr, 0))
		snprintf(buf, len, "tid %d (%s)", tid,
			 (const char *)sqlite3_column_text(nm->thr, 0));
	else
		snprintf(buf, len, "tid %d", tid);
	sqlite3_reset(nm->thr);
}

static const struct item *find_role(const struct cand *c, const char *role)
{
	for (int i = 0; i < c->nitems; i++)
		if (!strcmp(c->items[i].role, role))
			return &c->items[i];
	return NULL;
}

static void summarize(struct namer *nm, const struct cand *c, char *s, size_t len)
{
	char o[256], t[256], u[256];
	size_t n = 0;
	const struct item *it0 = &c->items[0], *h;
	name_thr(nm, c->items[0].pid, c->items[0].tid, t, sizeof(t));
	switch (c->sub) {
	case MU_LOCK_ORDER:
		n = (size_t)snprintf(s, len,
				     "lock order %s:", c->nitems == 4 ? "inversion" : "cycle");
		for (int i = 0; i + 1 < c->nitems && n < len; i += 2) {
			char a[256], b[256];
			name_obj(nm, c->items[i].obj, a, sizeof(a));
			name_obj(nm, c->items[i + 1].obj, b, sizeof(b));
			name_thr(nm, c->items[i].pid, c->items[i].tid, t, sizeof(t));
			n += (size_t)snprintf(s + n, len - n, "%s %s -> %s in %s", i ? ";" : "", a,
					      b, t);
		}
		break;
	case MU_UNLOCK_NOT_HELD:
	case MU_COND_NOT_HELD:
		name_obj(nm, it0->obj, o, sizeof(o));
		h = find_role(c, "holder");
		if (h)
			name_thr(nm, h->pid, h->tid, u, sizeof(u));
		if (c->sub == MU_UNLOCK_NOT_HELD && h)
			snprintf(s, len, "unlock of %s by %s while %s holds it", o, t, u);
		else if (c->sub == MU_UNLOCK_NOT_HELD)
			snprintf(s, len, "unlock of %s by %s, which does not hold it", o, t);
		else if (h)
			snprintf(s, len, "cond wait by %s with %s, which %s holds", t, o, u);
		else
			snprintf(s, len, "cond wait by %s with %s not locked by it", t, o);
		break;
	case MU_DESTROY_HELD:
		name_obj(nm, it0->obj, o, sizeof(o));
		h = find_role(c, "holder");
		name_thr(nm, h->pid, h->tid, u, sizeof(u));
		if (h->tid == it0->tid)
			snprintf(s, len, "destroy of %s by %s while holding it", o, t);
		else
			snprintf(s, len, "destroy of %s by %s while %s holds it", o, t, u);
		break;
	case MU_EXIT_HOLDING:
	case MU_PROCESS_EXIT_HOLDING:
		if (c->sub == MU_EXIT_HOLDING)
			n = (size_t)snprintf(s, len, "%s exited holding", t);
		else
			n = (size_t)snprintf(s, len, "process %d exited (in %s) holding", c->pid,
					     t);
		for (int i = 1; i < c->nitems && n < len; i++) {
			name_obj(nm, c->items[i].obj, o, sizeof(o));
			n += (size_t)snprintf(s + n, len - n, "%s %s", i > 1 ? "," : "", o);
		}
		break;
	case MU_FOREIGN_RELEASE:
		name_obj(nm, it0->obj, o, sizeof(o));
		h = find_role(c, "acquire");
		if (h) {
			name_thr(nm, h->pid, h->tid, u, sizeof(u));
			snprintf(s, len, "%s released by %s, acquired by %s", o, t, u);
		} else {
			snprintf(s, len, "%s released by %s, which did not acquire it", o, t);
		}
		break;
	}
}

static int cmp_group(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->sev != y->sev)
		return x->sev - y->sev;
	return x->ev < y->ev ? -1 : x->ev > y->ev;
}

static int insert_findings(struct findings *f)
{
	struct namer nm = {0};
	sqlite3_stmt *ins = NULL, *item = NULL, *ts = NULL;
	char summary[2048];
	if (f->ngroup > 1)
		qsort(f->group, f->ngroup, sizeof(*f->group), cmp_group);
	nm.obj = fnd_prep(f, "SELECT name FROM main.obj WHERE object_id = ?1");
	nm.thr = fnd_prep(f, "SELECT name FROM main.thr WHERE pid = ?1 AND tid = ?2");
	ts = fnd_prep(f, "SELECT ts FROM main.ev WHERE id = ?1");
	ins = fnd_prep(f,
		       "INSERT INTO %s.finding(kind, rule, severity, summary, detail, count,"
		       " event_id, ts_ns, pid, tid, group_key) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
		       f->schema);
	item = fnd_prep(f, "INSERT INTO %s.finding_item VALUES(?,?,?,?,?,?,?,?)", f->schema);
	for (size_t i = 0; i < f->ngroup && !f->failed; i++) {
		struct cand *c = &f->group[i];
		summarize(&nm, c, summary, sizeof(summary));
		sqlite3_bind_text(ins, 1, store_finding_kind_name(rules[c->sub].kind), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, rules[c->sub].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, severity_name[c->sev], -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, summary, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, rules[c->sub].detail, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 6, c->count);
		sqlite3_bind_int64(ins, 7, c->ev);
		sqlite3_bind_int64(ts, 1, c->ev);
		if (sqlite3_step(ts) == SQLITE_ROW)
			sqlite3_bind_int64(ins, 8, sqlite3_column_int64(ts, 0));
		else
			sqlite3_bind_null(ins, 8);
		sqlite3_reset(ts);
		sqlite3_bind_int(ins, 9, c->pid);
		sqlite3_bind_int(ins, 10, c->tid);
		sqlite3_bind_text(ins, 11, c->key, -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			ferr(f, "findings: %s", sqlite3_errmsg(f->db));
			break;
		}
		sqlite3_reset(ins);
		int64_t id = sqlite3_last_insert_rowid(f->db);
		for (int k = 0; k < c->nitems; k++) {
			const struct item *it = &c->items[k];
			sqlite3_bind_int64(item, 1, id);
			sqlite3_bind_int(item, 2, k);
			sqlite3_bind_text(item, 3, it->role, -1, SQLITE_STATIC);
			sqlite3_bind_int(item, 4, it->pid);
			sqlite3_bind_int(item, 5, it->tid);
			if (it->obj)
				sqlite3_bind_int64(item, 6, it->obj);
			else
				sqlite3_bind_null(item, 6);
			sqlite3_bind_int64(item, 7, it->ev);
			if (it->stack)
				sqlite3_bind_int64(item, 8, it->stack);
			else
				sqlite3_bind_null(item, 8);
			if (sqlite3_step(item) != SQLITE_DONE) {
				ferr(f, "findings: %s", sqlite3_errmsg(f->db));
				break;
			}
			sqlite3_reset(item);
		}
	}
	sqlite3_finalize(nm.obj);
	sqlite3_finalize(nm.thr);
	sqlite3_finalize(ts);
	sqlite3_finalize(ins);
	sqlite3_finalize(item);
	return f->failed ? -1 : 0;
}

/* ---- suppressions ---- */

struct supp {
	char *kind, *pat;
	int line;
};

struct supps {
	struct supp *v;
	size_t n, cap;
	const char *path;
};

static void supps_free(struct supps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].kind);
		free(s->v[i].pat);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int known_kind(const char *k, size_t len)
{
	return (len == 1 && *k == '*') || store_finding_kind_code(k, len) >= 0;
}

/* Reads "KIND GLOB" lines (# comments, blank lines); one line in err on failure. */
static int supps_load(struct supps *s, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char buf[4096];
	int line = 0;
	memset(s, 0, sizeof(*s));
	s->path = path;
	if (!fp) {
		snprintf(err, errlen, "cannot read suppressions %s: %m", path);
		return -1;
	}
	while (fgets(buf, sizeof(buf), fp)) {
		char *p = buf, *kind, *pat, *extra;
		line++;
		if (!strchr(buf, '\n') && !feof(fp)) {
			snprintf(err, errlen, "%s:%d: line too long", path, line);
			goto fail;
		}
		char *hash = strchr(p, '#');
		if (hash)
			*hash = 0;
		kind = strtok_r(p, " \t\r\n", &p);
		if (!kind)
			continue;
		pat = strtok_r(NULL, " \t\r\n", &p);
		extra = strtok_r(NULL, " \t\r\n", &p);
		const char *dot = strchr(kind, '.');
		if (!pat || extra || !known_kind(kind, dot ? (size_t)(dot - kind) : strlen(kind))) {
			snprintf(err, errlen,
				 "%s:%d: expected \"KIND PATTERN\" with KIND one "
				 "of " STORE_FINDING_KINDS_COMMA "KIND.RULE or *",
				 path, line);
			goto fail;
		}
		if (grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		s->v[s->n] = (struct supp){strdup(kind), strdup(pat), line};
		if (!s->v[s->n].kind || !s->v[s->n].pat) {
			free(s->v[s->n].kind);
			free(s->v[s->n].pat);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		s->n++;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "cannot read suppressions %s", path);
		goto fail;
	}
	fclose(fp);
	return 0;
fail:
	fclose(fp);
	supps_free(s);
	return -1;
}

int store_findings_check_suppressions(const char *path, char *err, size_t errlen)
{
	struct supps s;
	if (supps_load(&s, path, err, errlen))
		return -1;
	supps_free(&s);
	return 0;
}

/* The rule matches the finding's kind and one of its frames: function, file, file:line. */
static int supp_matches(const struct supp *r, const char *kind, const char *rule, const char *fn,
			const char *file, int line)
{
	char kr[128], fl[4200];
	snprintf(kr, sizeof(kr), "%s.%s", kind, rule ? rule : "");
	if (fnmatch(r->kind, kind, 0) && fnmatch(r->kind, kr, 0))
		return 0;
	if (fn && !fnmatch(r->pat, fn, 0))
		return 1;
	if (!file)
		return 0;
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	if (!fnmatch(r->pat, file, 0) || !fnmatch(r->pat, base, 0))
		return 1;
	if (line > 0) {
		snprintf(fl, sizeof(fl), "%s:%d", file, line);
		if (!fnmatch(r->pat, fl, 0))
			return 1;
		snprintf(fl, sizeof(fl), "%s:%d", base, line);
		if (!fnmatch(r->pat, fl, 0))
			return 1;
	}
	return 0;
}

static int apply_suppressions(struct findings *f, const struct supps *s)
{
	sqlite3_stmt *list = NULL, *frames = NULL, *upd = NULL;
	int rc;
	if (!s->n)
		return 0;
	list = fnd_prep(f, "SELECT finding_id, kind, rule FROM %s.finding WHERE suppressed IS NULL",
			f->schema);
	frames = fnd_prep(f,
			  "SELECT fr.function, fr.file, fr.line FROM %s.finding_item i"
			  " JOIN main.frame fr ON fr.stack_id = i.stack_id AND fr.depth = 0"
			  " WHERE i.finding_id = ?1",
			  f->schema);
	upd = fnd_prep(f, "UPDATE %s.finding SET suppressed = ?2 WHERE finding_id = ?1", f->schema);
	int64_t *hit_id = NULL;
	int *hit_rule = NULL;
	size_t nhit = 0, caphit = 0, caprule = 0;
	while (!f->failed && (rc = sqlite3_step(list)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(list, 0);
		const char *kind = (const char *)sqlite3_column_text(list, 1);
		const char *rule = (const char *)sqlite3_column_text(list, 2);
		int match = -1;
		sqlite3_bind_int64(frames, 1, id);
		while (match < 0 && sqlite3_step(frames) == SQLITE_ROW) {
			const char *fn = (const char *)sqlite3_column_text(frames, 0);
			const char *file = (const char *)sqlite3_column_text(frames, 1);
			int line = sqlite3_column_int(frames, 2);
			for (size_t r = 0; r < s->n && match < 0; r++)
				if (supp_matches(&s->v[r], kind ? kind : "", rule, fn, file, line))
					match = (int)r;
		}
		sqlite3_reset(frames);
		if (match < 0)
			continue;
		if (grow((void **)&hit_id, &caphit, nhit, sizeof(*hit_id)) ||
		    grow((void **)&hit_rule, &caprule, nhit, sizeof(*hit_rule))) {
			oom(f);
			break;
		}
		hit_id[nhit] = id;
		hit_rule[nhit++] = match;
	}
	for (size_t i = 0; i < nhit && !f->failed; i++) {
		char where[4200];
		snprintf(where, sizeof(where), "%s:%d", s->path, s->v[hit_rule[i]].line);
		sqlite3_bind_int64(upd, 1, hit_id[i]);
		sqlite3_bind_text(upd, 2, where, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(upd) != SQLITE_DONE)
			ferr(f, "findings: %s", sqlite3_errmsg(f->db));
		sqlite3_reset(upd);
	}
	free(hit_id);
	free(hit_rule);
	sqlite3_finalize(list);
	sqlite3_finalize(frames);
	sqlite3_finalize(upd);
	return f->failed ? -1 : 0;
}

/* ---- schema ---- */

/*
 * Makes the findings' tables and views (store/sql/findings.sql) in
 * f->schema. On success returns 0, otherwise -1 with the error in f.
 */
static int create_schema(struct findings *f)
{
	static const char token[] = "@schema";
	const size_t tlen = sizeof(token) - 1;
	const char *sql = store_findings_sql;
	size_t n = 0;
	for (const char *p = sql; (p = strstr(p, token)); p += tlen)
		n++;
	char *text = malloc(strlen(sql) + n * strlen(f->schema) + 1);
	if (!text) {
		oom(f);
		return -1;
	}
	char *out = text;
	const char *p = sql;
	for (const char *at; (at = strstr(p, token)); p = at + tlen) {
		memcpy(out, p, (size_t)(at - p));
		out = stpcpy(out + (at - p), f->schema);
	}
	strcpy(out, p);
	int rc = fnd_run(f, text);
	free(text);
	return rc;
}

static int findings_present(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM finding_info WHERE key = 'version'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		found = 1;
	sqlite3_finalize(st);
	return found;
}

static void findings_free(struct findings *f)
{
	for (size_t i = 0; i < f->nthr; i++) {
		store_holds_free(&f->thr[i]->held);
		free(f->thr[i]);
	}
	free(f->thr);
	free(f->thr_map.e);
	free(f->obj);
	free(f->obj_map.e);
	free(f->edge);
	free(f->edge_map.e);
	for (size_t i = 0; i < f->npending; i++)
		cand_free(&f->pending[i]);
	free(f->pending);
	for (size_t i = 0; i < f->ngroup; i++)
		cand_free(&f->group[i]);
	free(f->group);
	free(f->group_map.e);
	for (size_t i = 0; i < f->nsnap; i++)
		free(f->snap[i].addrs);
	free(f->snap);
}

/* The findings' event pass ahead of the end, while the trace is written. */
struct store_findings_pass {
	struct findings f;
	char err[256];
};

/* Rows the pass had read were moved: it reads from the first row again, from the same mirror. */
static void pass_start_over(struct findings *f)
{
	const struct store_mirror *m = f->mirror;
	findings_free(f);
	memset(f, 0, sizeof(*f));
	f->mirror = m;
}

struct store_findings_pass *store_findings_pass_new(void)
{
	return calloc(1, sizeof(struct store_findings_pass));
}

void store_findings_pass_use_mirror(struct store_findings_pass *p, const struct store_mirror *m)
{
	p->f.mirror = m;
}

int store_findings_follow(struct store_findings_pass *p, sqlite3 *db, int64_t last_id,
			  int64_t moved_from)
{
	struct findings *f = &p->f;
	if (!f->failed && moved_from <= f->last_id) {
		pass_start_over(f);
	}
	if (f->failed || last_id <= f->last_id)
		return f->failed ? -1 : 0;
	f->db = db;
	f->err = p->err;
	f->errlen = sizeof(p->err);
	int rc = load_objects(f) || fnd_event_pass(f, last_id) ? -1 : 0;
	f->db = NULL;
	return rc;
}

/*
 * A row from a derive step (store_derive_events): one the pass has not read
 * yet, after reading any rows between it and the pass's last one itself
 * (the step began further on, or started over from the first row).
 */
static void fnd_tap_row(void *ctx, const struct store_event_row *row)
{
	struct findings *f = &((struct store_findings_pass *)ctx)->f;
	if (f->failed || row->id <= f->last_id)
		return;
	if (row->id > f->last_id + 1 && fnd_event_pass(f, row->id - 1))
		return;
	if (row->e.kind >= 0 && row->e.kind < 64 && (FND_KINDS >> row->e.kind & 1))
		fnd_event(f, row);
	else
		f->last_id = row->id;
}

int store_findings_follow_tap(struct store_findings_pass *p, sqlite3 *db, int64_t moved_from,
			      struct store_event_tap *tap)
{
	struct findings *f = &p->f;
	tap->row = NULL;
	tap->ctx = NULL;
	if (!f->failed && moved_from <= f->last_id) {
		pass_start_over(f);
	}
	if (f->failed)
		return -1;
	f->db = db;
	f->err = p->err;
	f->errlen = sizeof(p->err);
	if (load_objects(f))
		return -1;
	tap->row = fnd_tap_row;
	tap->ctx = p;
	return 0;
}

void store_findings_follow_done(struct store_findings_pass *p, int64_t last_id, int ok)
{
	struct findings *f = &p->f;
	if (!ok && !f->failed)
		ferr(f, "findings: the step that read the events failed");
	else if (ok && !f->failed && f->db && last_id > f->last_id)
		fnd_event_pass(f, last_id);
	f->db = NULL;
}

void store_findings_pass_free(struct store_findings_pass *p)
{
	if (!p)
		return;
	findings_free(&p->f);
	free(p);
}

int store_build_findings_after(sqlite3 *db, struct store_findings_pass *p, int64_t moved_from,
			       const char *suppressions_path, char *err, size_t errlen)
{
	struct findings local, *fp = p ? &p->f : &local;
	struct findings f;
	struct supps supps = {0};
	char dummy[1];
	if (!p)
		memset(&local, 0, sizeof(local));
	/*
	 * What a pass ahead read stands unless the end moved or changed those
	 * rows, or it met an object before its row: then everything is read
	 * again here.
	 */
	if (p && (fp->failed || moved_from <= fp->last_id || fp->unknown_objs)) {
		store_debug("findings", "findings: read again (%s)",
			    fp->failed	       ? p->err
			    : fp->unknown_objs ? "events read before their object's row"
					       : "rows read were moved or changed since");
		findings_free(fp);
		memset(fp, 0, sizeof(*fp));
	}
	f = *fp;
	memset(fp, 0, sizeof(*fp)); /* f owns it all now */
	int64_t ahead = f.last_id;
	f.db = db;
	f.err = errlen ? err : dummy;
	f.errlen = errlen ? errlen : sizeof(dummy);
	f.err[0] = 0;
	if (findings_present(db)) {
		findings_free(&f);
		return 0;
	}
	uint64_t t_start = store_debug_cpu_ns();
	if (suppressions_path && supps_load(&supps, suppressions_path, f.err, f.errlen)) {
		findings_free(&f);
		return -1;
	}
	/* A reader cannot write the trace: build into the connection's temp schema. */
	f.schema = sqlite3_db_readonly(db, "main") == 1 ? "temp" : "main";
	if (create_schema(&f) || drop_rebuilt(&f) || load_objects(&f) ||
	    fnd_event_pass(&f, INT64_MAX))
		goto out;
	uint64_t t_pass = store_debug_cpu_ns();
	close_open_holds(&f);
	check_destroys(&f);
	flush_pending(&f);
	find_cycles(&f);
	if (f.failed || resolve_holders(&f) || insert_findings(&f))
		goto out;
	uint64_t t_locks = store_debug_cpu_ns();
	if (store_build_race_findings(db, f.schema, f.err, f.errlen)) {
		f.failed = 1;
		goto out;
	}
	store_debug("findings",
		    "findings (CPU): event pass %.2f s (events up to row %lld read ahead), cycles"
		    " and inserts %.2f s, races %.2f s",
		    (t_pass - t_start) / 1e9, (long long)ahead, (t_locks - t_pass) / 1e9,
		    (store_debug_cpu_ns() - t_locks) / 1e9);
	if (apply_suppressions(&f, &supps))
		goto out;
	fnd_exec(&f,
		 "INSERT OR REPLACE INTO %s.finding_info VALUES('version', '" FINDINGS_VERSION
		 "'), ('cycle_search_steps', %" PRId64 "), ('cycle_search_complete', %d)",
		 f.schema, f.cycle_steps, f.cycle_steps <= CYCLE_BUDGET);
out:
	findings_free(&f);
	supps_free(&supps);
	return f.failed ? -1 : 0;
}

int store_build_findings(sqlite3 *db, const char *suppressions_path, char *err, size_t errlen)
{
	return store_build_findings_after(db, NULL, INT64_MAX, suppressions_path, err, errlen);
}
