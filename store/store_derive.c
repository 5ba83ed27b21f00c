/*
 * Derived tables: per-thread state intervals, lock hold intervals, object
 * occupancy intervals and multi-resolution summaries of both, so a viewer
 * can draw any window of any trace with a bounded number of indexed reads.
 * The tables are described in docs/DERIVED.md.
 *
 * Everything is built in one pass over ev in id order (program order within
 * each thread) with per-thread state in memory, plus one sorted pass over
 * the hold/wait boundaries per object. Nothing depends on ev's indexes, so
 * a trace whose tracer was killed (no indexes) can be derived too.
 */
#include "store/store.h"
#include "store/store_schema.h"
#include "store/store_debug.h"
#include "store/store_holds.h"
#include "store/store_holdchunks.h"
#include "store/store_util.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bumped on any change to the derived tables: older sets are rebuilt. */
#define DERIVED_VERSION "13"

/* Thread states: STORE_THREAD_STATES in store/store.h. */

/*
 * Spans of a thread kept in memory before they are written: a Python
 * thread's wait on a named object (a Queue's get, a Condition's wait) is
 * recorded when it ends, after the GIL releases and takes it made inside,
 * and replaces those spans. A wait reaching further back than this many
 * spans is cut at the oldest one kept.
 */
#define PENDING_SPANS 1024

/* object_holds.mode bits: 1 exclusive (else shared), 2 still held when the thread ended. */
#define STORE_HOLD_UNRELEASED 2

/*
 * Summary level L has buckets of 2^(15 + 2L) ns: 32.8 us, 131 us, ... up to
 * about 36 minutes at L 13, so any zoom finds a level with 1-4 buckets per
 * screen column.
 */
#define STORE_SUM_LEVELS 14
#define STORE_SUM_BASE_SHIFT 15
#define STORE_SUM_STEP_SHIFT 2
#define STORE_SUM_LEVEL_SHIFT(l) (STORE_SUM_BASE_SHIFT + STORE_SUM_STEP_SHIFT * (l))
/* Distinct values tracked per bucket; more make the bucket "mixed" anyway. */
#define STORE_SUM_CAND 8

/* A state run as fed to a summarizer: [s, e) with a value and an aux number. */
struct sum_level {
	int64_t bucket; /* open bucket index, -1 when none */
	int64_t t[STORE_SUM_CAND];
	int32_t v[STORE_SUM_CAND];
	int nv, overflow;
	int64_t aux;
	/* pending run-length-encoded output */
	int has_run;
	int64_t run_s, run_e, run_aux;
	int32_t run_v;
	int run_mixed;
};

/*
 * Runs within one level-0 bucket lie within one bucket of every level
 * above, so those levels get them added up per value (in the order the
 * values first came, with the largest aux), once per level-0 bucket,
 * instead of each run walking all fourteen levels: the sums, the order in
 * which values become candidates and which ones overflow are the same.
 */
#define STORE_SUM_CARRY 16

struct derive;
struct rows;
static int64_t *rows_add(struct derive *d, struct rows *r);

struct summarizer {
	int64_t k1, k2;
	/*
	 * Its rows (level, k1, k2, s, e, v, mixed, aux; k2 only with two_keys)
	 * go out many to a statement: one statement a row was most of the
	 * time the object pass took after the trace was complete (2 400 objects
	 * of an OpenSSL burst, 0.07-0.11 s of 0.10-0.14 s).
	 */
	struct derive *d;
	struct rows *out;
	int two_keys;
	struct sum_level lv[STORE_SUM_LEVELS];
	int64_t carry_bucket; /* the level-0 bucket of what the levels above still owe */
	int64_t carry_aux;
	int ncarry;
	int32_t carry_v[STORE_SUM_CARRY];
	int64_t carry_t[STORE_SUM_CARRY];
};

static void sum_init(struct summarizer *s, struct derive *d, struct rows *out, int two_keys,
		     int64_t k1, int64_t k2)
{
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->out = out;
	s->two_keys = two_keys;
	s->k1 = k1;
	s->k2 = k2;
	for (int l = 0; l < STORE_SUM_LEVELS; l++)
		s->lv[l].bucket = -1;
}

/* A failed insert fails the derive (step_done), as every other row's. */
static void sum_emit(struct summarizer *s, int level, struct sum_level *lv)
{
	int64_t *v = rows_add(s->d, s->out);
	int i = 0;
	v[i++] = level;
	v[i++] = s->k1;
	if (s->two_keys)
		v[i++] = s->k2;
	v[i++] = lv->run_s;
	v[i++] = lv->run_e;
	v[i++] = lv->run_v;
	v[i++] = lv->run_mixed;
	v[i++] = lv->run_aux;
}

/* Appends one finished bucket range to the level's run, merging equal neighbours. */
static void sum_push(struct summarizer *s, int level, int64_t a, int64_t b, int32_t v, int mixed,
		     int64_t aux)
{
	struct sum_level *lv = &s->lv[level];
	if (lv->has_run && lv->run_e == a && lv->run_v == v && lv->run_mixed == mixed &&
	    lv->run_aux == aux) {
		lv->run_e = b;
		return;
	}
	if (lv->has_run)
		sum_emit(s, level, lv);
	lv->has_run = 1;
	lv->run_s = a;
	lv->run_e = b;
	lv->run_v = v;
	lv->run_mixed = mixed;
	lv->run_aux = aux;
}

static void sum_close_bucket(struct summarizer *s, int level)
{
	struct sum_level *lv = &s->lv[level];
	if (lv->bucket < 0)
		return;
	/* Value 0 (free object) is background: any other value present wins over it. */
	int best = 0;
	for (int i = 1; i < lv->nv; i++)
		if ((lv->v[best] == 0 && lv->v[i] != 0) ||
		    (lv->t[i] > lv->t[best] && (lv->v[i] != 0 || lv->v[best] == 0)))
			best = i;
	int shift = STORE_SUM_LEVEL_SHIFT(level);
	if (lv->nv)
		sum_push(s, level, lv->bucket << shift, (lv->bucket + 1) << shift, lv->v[best],
			 lv->nv > 1 || lv->overflow, lv->aux);
	lv->bucket = -1;
	lv->nv = 0;
	lv->overflow = 0;
	lv->aux = 0;
}

static void sum_bucket_add(struct sum_level *lv, int64_t bucket, int64_t dt, int32_t v, int64_t aux)
{
	lv->bucket = bucket;
	if (aux > lv->aux)
		lv->aux = aux;
	for (int i = 0; i < lv->nv; i++) {
		if (lv->v[i] == v) {
			lv->t[i] += dt;
			return;
		}
	}
	if (lv->nv < STORE_SUM_CAND) {
		lv->v[lv->nv] = v;
		lv->t[lv->nv++] = dt;
	} else {
		lv->overflow = 1;
	}
}

/* Hands the carried runs to the levels above level 0 (see STORE_SUM_CARRY). */
static void sum_carry_flush(struct summarizer *s)
{
	if (!s->ncarry)
		return;
	for (int l = 1; l < STORE_SUM_LEVELS; l++) {
		struct sum_level *lv = &s->lv[l];
		int64_t bucket = s->carry_bucket >> (STORE_SUM_STEP_SHIFT * l);
		if (lv->bucket >= 0 && lv->bucket != bucket)
			sum_close_bucket(s, l);
		for (int i = 0; i < s->ncarry; i++)
			sum_bucket_add(lv, bucket, s->carry_t[i], s->carry_v[i], s->carry_aux);
	}
	s->ncarry = 0;
	s->carry_aux = 0;
}

/* [a, b) with value v to the levels below end, each on its own. */
static void sum_add_levels(struct summarizer *s, int end, int64_t a, int64_t b, int32_t v,
			   int64_t aux)
{
	for (int l = 0; l < end; l++) {
		struct sum_level *lv = &s->lv[l];
		int shift = STORE_SUM_LEVEL_SHIFT(l);
		int64_t w = (int64_t)1 << shift;
		int64_t b0 = a >> shift, b1 = (b - 1) >> shift;
		if (lv->bucket >= 0 && lv->bucket != b0)
			sum_close_bucket(s, l);
		if (b0 == b1) {
			sum_bucket_add(lv, b0, b - a, v, aux);
			continue;
		}
		sum_bucket_add(lv, b0, (b0 + 1) * w - a, v, aux);
		sum_close_bucket(s, l);
		if (b1 > b0 + 1)
			sum_push(s, l, (b0 + 1) * w, b1 * w, v, 0, aux);
		sum_bucket_add(lv, b1, b - b1 * w, v, aux);
	}
}

/*
 * Feeds [a, b) with value v to every level. Runs must come in time order;
 * gaps are allowed (they count as absent, e.g. a thread not yet alive).
 */
static void sum_add(struct summarizer *s, int64_t a, int64_t b, int32_t v, int64_t aux)
{
	if (b <= a || a < 0)
		return;
	int64_t c0 = a >> STORE_SUM_BASE_SHIFT;
	if (c0 != (b - 1) >> STORE_SUM_BASE_SHIFT || (s->ncarry && c0 != s->carry_bucket)) {
		sum_carry_flush(s);
		sum_add_levels(s, STORE_SUM_LEVELS, a, b, v, aux);
		return;
	}
	sum_add_levels(s, 1, a, b, v, aux);
	int i = 0;
	while (i < s->ncarry && s->carry_v[i] != v)
		i++;
	if (i == s->ncarry) {
		if (i == STORE_SUM_CARRY) {
			sum_carry_flush(s);
			i = 0;
		}
		s->carry_v[i] = v;
		s->carry_t[i] = 0;
		s->ncarry = i + 1;
	}
	s->carry_bucket = c0;
	s->carry_t[i] += b - a;
	if (aux > s->carry_aux)
		s->carry_aux = aux;
}

static void sum_finish(struct summarizer *s)
{
	sum_carry_flush(s);
	for (int l = 0; l < STORE_SUM_LEVELS; l++) {
		sum_close_bucket(s, l);
		if (s->lv[l].has_run)
			sum_emit(s, l, &s->lv[l]);
		s->lv[l].has_run = 0;
	}
}

/* ---- rows inserted ROWS_PER_INSERT at a time ---- */

/*
 * One statement step per row costs more than the row (docs/../shared notes:
 * 1.5M rows/s one by one, over 5M with 64 rows per statement): the tables
 * that get a row per hold or span are filled through multi-row INSERTs.
 * Every column is an integer; ROWS_NULL stands for NULL.
 */
#define ROWS_PER_INSERT 64
#define ROWS_MAX_COLS 8
#define ROWS_NULL INT64_MIN

struct rows {
	sqlite3_stmt *many, *one;
	int ncols, n;
	int64_t v[ROWS_PER_INSERT * ROWS_MAX_COLS];
	/*
	 * What many's parameters hold (a reset keeps them; bound_ok: valid):
	 * only a changed value is bound again. A hold's object, process and
	 * mode seldom change from one row to the next.
	 */
	int64_t bound[ROWS_PER_INSERT * ROWS_MAX_COLS];
	int bound_ok;
};

/* ---- per-thread and per-object state during the event pass ---- */

struct span {
	int64_t a, b, obj;
	int state;
};

struct thr {
	int32_t pid, tid;
	int64_t start, end; /* end < 0: unknown until the pass ends */
	int64_t cursor;	    /* end of the last emitted span */
	int64_t events;
	int started;
	int without_gil;   /* a Python thread between gil.release and its next gil.acquire */
	int python;	   /* has made GIL events: its named waits replace what they cover */
	int64_t gil_since; /* a Python thread's last gil.acquire or gil.release */
	int64_t written;   /* end of the last span written out (spans before it are final) */
	struct span *pend;
	int npend;
	int64_t wait_open, wait_obj; /* a lock.wait nothing has ended yet (-1: none), on what */
	int64_t row_start;	  /* its threads row's start at the end (-1: none), for streaming */
	int64_t block_seen;	  /* 1 + the last id block holding its events (0: none yet) */
	struct store_holds holds; /* every level its own entry: a row each */
	struct summarizer sum;
};

/*
 * The object pass reads an object's holds and its waits in this order:
 * start, holds before waits, end, thread (the indexes' order). An interval
 * is fed once; one that sorts before the last fed is late (see below).
 */
struct occ_key {
	int64_t start, end;
	int32_t tid;
	int wait;
};

struct occ_follow;

struct objinfo {
	int64_t id;
	int kind;
	int64_t acquires, contended, wait_total, max_wait, max_wait_event, max_hold;
	/* of any kind so far but those a lock.wait announced: how far back one unread starts */
	int64_t longest_wait;
	struct occ_follow *follow; /* its occupancy while the trace is written, else NULL */
	/* ended holds not written yet (store_holdchunks.h), and where the next chunk may start */
	struct store_hold_row *kept;
	size_t nkept, capkept, nsorted; /* kept[0, nsorted) in object_holds' order */
	int64_t chunk_from;
	int listed;	   /* in derive.kept_objs */
	int64_t open_from; /* while writing kept holds: the earliest start of one still open */
};

struct derive {
	sqlite3 *db;
	const char *schema;
	const struct store_event_tap *tap; /* during a step: who else gets each row read */
	const struct store_mirror *mirror; /* the writer's newest rows, or NULL */
	int64_t rows_mirrored, rows_read;  /* where the event pass's rows came from */
	char *err;
	size_t errlen;
	struct thr **thr;
	size_t nthr_cap, nthr;
	struct objinfo *obj;
	size_t nobj_cap, nobj;
	sqlite3_stmt *ins_point, *ins_thread;
	struct rows tsums, osums;  /* thread_summary, object_summary */
	struct rows spans, ospans; /* many rows per statement */
	struct rows late_holds;	   /* object_holds_late */
	sqlite3_stmt *ins_chunk;   /* object_hold_chunks */
	int64_t *kept_objs;	   /* the objects with holds kept */
	size_t nkept_objs, capkept_objs;
	size_t nkept, kept_new; /* holds kept in all; kept since kept_write_all */
	uint8_t *chunk_buf;
	size_t chunk_cap;
	int64_t chunks, chunk_holds, late_rows; /* holds written: chunks, their holds, late rows */
	struct rows long_holds;			/* object_long_holds */
	struct rows blocks;			/* thread_event_blocks */
	int64_t end_ns, max_ts, events;
	/* each process's start and end (proc, else its process.exit event); -1 unknown */
	struct pend *pend;
	size_t npend, cappend;
	int failed;
	/*
	 * Streaming (store_derive_events() before the trace is complete): the
	 * last row read, the objects loaded so far, and what the trace's final
	 * state may contradict (store_derive_finish() then starts over).
	 */
	int64_t last_id, last_obj;
	int streamed;	       /* rows were read before the threads' and processes' rows existed */
	int64_t unknown_objs;  /* events read whose object had no row yet */
	int64_t streamed_rows; /* for WEFT_DEBUG=derive */
	int restarts;	       /* times the streamed rows were dropped while following */
	uint64_t cpu_events;   /* CPU time in the event pass, for WEFT_DEBUG=derive */
	struct occ_follow **follow; /* the objects whose occupancy follows the trace */
	size_t nfollow;
	int occ_again;	 /* followed objects read again for a late interval */
	int unhurried;	 /* the program has ended: the follower has a CPU of its own */
	size_t buffered; /* intervals the followed objects' buffers have room for */
	int64_t fed_early, fed_at_end; /* followed objects' intervals fed while written, after */
	/* OCC_FOLLOW_MIN, OCC_FOLLOW_MARGIN_NS, _MIN_NS, OCC_FOLLOW_BUSY_ROWS or the tests' */
	int64_t follow_min, follow_margin, follow_margin_min, follow_busy_rows;
	uint64_t cpu_follow; /* CPU time following objects' occupancy */
};

struct pend {
	int32_t pid;
	int64_t start, end;
};

static struct pend *pend_get(struct derive *d, int32_t pid, int create)
{
	for (size_t i = 0; i < d->npend; i++)
		if (d->pend[i].pid == pid)
			return &d->pend[i];
	if (!create)
		return NULL;
	struct pend *grown = store_grow(d->pend, &d->cappend, d->npend, sizeof(*grown));
	if (!grown)
		return NULL;
	d->pend = grown;
	d->pend[d->npend] = (struct pend){pid, -1, -1};
	return &d->pend[d->npend++];
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static int grow_thr(struct derive *d);

static struct thr *thr_get(struct derive *d, int32_t pid, int32_t tid)
{
	if ((d->nthr + 1) * 2 > d->nthr_cap && grow_thr(d))
		return NULL;
	size_t m = d->nthr_cap - 1;
	size_t i = mix64(((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid) & m;
	for (; d->thr[i]; i = (i + 1) & m)
		if (d->thr[i]->pid == pid && d->thr[i]->tid == tid)
			return d->thr[i];
	struct thr *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = pid;
	t->tid = tid;
	t->start = -1;
	t->end = -1;
	t->row_start = -1;
	t->wait_open = -1;
	store_holds_init(&t->holds, STORE_HOLDS_EACH_LEVEL, STORE_HOLDS_HELD, 0);
	sum_init(&t->sum, d, &d->tsums, 1, pid, tid);
	d->thr[i] = t;
	d->nthr++;
	return t;
}

static int grow_thr(struct derive *d)
{
	size_t ncap = d->nthr_cap ? d->nthr_cap * 2 : 256;
	struct thr **n = calloc(ncap, sizeof(*n));
	if (!n)
		return -1;
	for (size_t i = 0; i < d->nthr_cap; i++) {
		struct thr *t = d->thr[i];
		if (!t)
			continue;
		size_t j =
		    mix64(((uint64_t)(uint32_t)t->pid << 32) | (uint32_t)t->tid) & (ncap - 1);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = t;
	}
	free(d->thr);
	d->thr = n;
	d->nthr_cap = ncap;
	return 0;
}

static struct objinfo *obj_get(struct derive *d, int64_t id, int create)
{
	if (!id)
		return NULL;
	if (create && (d->nobj + 1) * 2 > d->nobj_cap) {
		size_t ncap = d->nobj_cap ? d->nobj_cap * 2 : 256;
		struct objinfo *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; i < d->nobj_cap; i++) {
			if (!d->obj[i].id)
				continue;
			size_t j = mix64((uint64_t)d->obj[i].id) & (ncap - 1);
			while (n[j].id)
				j = (j + 1) & (ncap - 1);
			n[j] = d->obj[i];
		}
		free(d->obj);
		d->obj = n;
		d->nobj_cap = ncap;
	}
	if (!d->nobj_cap)
		return NULL;
	size_t m = d->nobj_cap - 1;
	size_t i = mix64((uint64_t)id) & m;
	for (; d->obj[i].id; i = (i + 1) & m)
		if (d->obj[i].id == id)
			return &d->obj[i];
	if (!create)
		return NULL;
	d->obj[i].id = id;
	d->nobj++;
	return &d->obj[i];
}

static int step_done(struct derive *d, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		d->failed = 1;
		return -1;
	}
	return 0;
}

static sqlite3_stmt *prep(struct derive *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* verb: INSERT, or INSERT OR IGNORE where two rows may be the same in every column */
static int rows_prep(struct derive *d, struct rows *r, const char *verb, const char *table,
		     int ncols)
{
	char one[64] = "(?", many[ROWS_PER_INSERT * (2 * ROWS_MAX_COLS + 3)];
	size_t n = 2;
	for (int c = 1; c < ncols; c++)
		n += (size_t)snprintf(one + n, sizeof(one) - n, ",?");
	snprintf(one + n, sizeof(one) - n, ")");
	n = 0;
	for (int i = 0; i < ROWS_PER_INSERT; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s%s", i ? "," : "", one);
	r->ncols = ncols;
	r->n = 0;
	r->bound_ok = 0;
	r->one = prep(d, "%s INTO %s.%s VALUES%s", verb, d->schema, table, one);
	r->many = prep(d, "%s INTO %s.%s VALUES%s", verb, d->schema, table, many);
	return r->one && r->many ? 0 : -1;
}

static void rows_bind(sqlite3_stmt *st, int first, const int64_t *v, int ncols)
{
	for (int c = 0; c < ncols; c++) {
		if (v[c] == ROWS_NULL)
			sqlite3_bind_null(st, first + c);
		else
			sqlite3_bind_int64(st, first + c, v[c]);
	}
}

/* Writes the rows collected so far: a full set in one statement, the rest one by one. */
static void rows_flush(struct derive *d, struct rows *r)
{
	if (r->n == ROWS_PER_INSERT) {
		store_bind_changed(r->many, r->bound, &r->bound_ok, r->v, r->n * r->ncols, 1);
		step_done(d, r->many);
	} else {
		for (int i = 0; i < r->n; i++) {
			rows_bind(r->one, 1, &r->v[i * r->ncols], r->ncols);
			step_done(d, r->one);
		}
	}
	r->n = 0;
}

/* The next row's ncols values, to fill in. */
static int64_t *rows_add(struct derive *d, struct rows *r)
{
	if (r->n == ROWS_PER_INSERT)
		rows_flush(d, r);
	return &r->v[r->n++ * r->ncols];
}

static void rows_free(struct rows *r)
{
	sqlite3_finalize(r->one);
	sqlite3_finalize(r->many);
}

static void occ_written(struct derive *d, struct objinfo *o, const struct occ_key *k, int32_t pid,
			int mode);

/* A wait that counts in its object's occupancy (the object pass's waits). */
static int is_object_wait(const struct span *sp)
{
	return sp->obj && (sp->state == STORE_STATE_LOCK || sp->state == STORE_STATE_GIL ||
			   sp->state == STORE_STATE_QUEUE);
}

static void write_span(struct derive *d, struct thr *t, const struct span *sp)
{
	int64_t *v = rows_add(d, &d->spans);
	v[0] = t->pid;
	v[1] = t->tid;
	v[2] = sp->state;
	v[3] = sp->a;
	v[4] = sp->b;
	v[5] = sp->obj ? sp->obj : ROWS_NULL;
	sum_add(&t->sum, sp->a, sp->b, sp->state, 0);
	t->written = sp->b;
	if (d->nfollow && is_object_wait(sp)) {
		struct objinfo *o = obj_get(d, sp->obj, 0);
		if (o)
			occ_written(d, o, &(struct occ_key){sp->a, sp->b, t->tid, 1}, t->pid, 0);
	}
}

/* Writes out the oldest n pending spans. */
static void flush_spans(struct derive *d, struct thr *t, int n)
{
	if (!n)
		return;
	for (int i = 0; i < n; i++)
		write_span(d, t, &t->pend[i]);
	memmove(t->pend, t->pend + n, (size_t)(t->npend - n) * sizeof(t->pend[0]));
	t->npend -= n;
}

/*
 * A Python thread's spans stay pending because a named wait, recorded when
 * it ends (queue.get, cond.wait, a Lock's acquire after its lock.wait),
 * takes back the spans it covers. Such a wait starts after the thread's
 * last event of the program's own: while a thread waits in one, only the
 * GIL changes hands (inner locks are folded into the wait). So each such
 * event makes final the pending spans that end by it, but the last (a
 * running stretch that may go on). Otherwise a thread that seldom waits
 * kept its spans pending until a thousand piled up, and an object waited
 * for in one of them could not be followed past that wait (a `with lock:`
 * loop's Lock: from its first contended acquire to the end).
 */
static int own_event(int kind)
{
	return kind != WEFT_EV_GIL_ACQUIRE && kind != WEFT_EV_GIL_RELEASE &&
	       kind != WEFT_EV_GIL_DROP_REQUEST && kind != WEFT_EV_GIL_FORCED_SWITCH &&
	       kind != WEFT_EV_FUTEX_WAIT && kind != WEFT_EV_FUTEX_WAKE &&
	       kind != WEFT_EV_RACE_ACCESS;
}

/* The pending spans before the last that end by ts are written out. */
static void settle_spans(struct derive *d, struct thr *t, int64_t ts)
{
	int n = 0;
	while (n < t->npend - 1 && t->pend[n].b <= ts)
		n++;
	flush_spans(d, t, n);
}

static void emit_span(struct derive *d, struct thr *t, int64_t a, int64_t b, int state, int64_t obj)
{
	if (b <= a)
		return;
	if (!t->pend) {
		t->pend = malloc(PENDING_SPANS * sizeof(*t->pend));
		if (!t->pend) {
			d->failed = 1;
			return;
		}
	}
	struct span *last = t->npend ? &t->pend[t->npend - 1] : NULL;
	/* A running stretch cut by a non-blocking event goes on as one span. */
	if (last && last->b == a && last->state == state && last->obj == obj &&
	    (state == STORE_STATE_RUNNING || state == STORE_STATE_OFF_GIL)) {
		last->b = b;
		return;
	}
	if (t->npend == PENDING_SPANS)
		flush_spans(d, t, PENDING_SPANS / 2);
	t->pend[t->npend++] = (struct span){a, b, obj, state};
}

/*
 * A Python thread's wait on a named object covers [a, ...) whatever the
 * thread did meanwhile (it let go of the GIL, took it back, looped in
 * threading.py): the pending spans from a on are dropped or cut there.
 * Returns where the wait can start (not before what is written already).
 */
static int64_t reclaim_spans(struct thr *t, int64_t a)
{
	if (a < t->written)
		a = t->written;
	while (t->npend && t->pend[t->npend - 1].a >= a)
		t->npend--;
	if (t->npend && t->pend[t->npend - 1].b > a)
		t->pend[t->npend - 1].b = a;
	return a;
}

static int is_named_wait(int state)
{
	return state == STORE_STATE_LOCK || state == STORE_STATE_COND ||
	       state == STORE_STATE_BARRIER || state == STORE_STATE_JOIN ||
	       state == STORE_STATE_QUEUE || state == STORE_STATE_WAIT ||
	       state == STORE_STATE_EVENT;
}

/* Fills running time up to a, then the state span [a, b). */
static void thread_advance(struct derive *d, struct thr *t, int64_t a, int64_t b, int state,
			   int64_t obj)
{
	if (!t->started) {
		t->started = 1;
		if (t->start < 0 || t->start > a)
			t->start = a;
		t->cursor = t->start;
		t->written = t->start;
	}
	if (t->python && is_named_wait(state) && a < t->cursor && b > a) {
		a = reclaim_spans(t, a);
		if (a < t->start)
			a = t->start;
		t->cursor = a;
	}
	if (a < t->cursor)
		a = t->cursor; /* clock skew between threads' timestamps: never overlap */
	if (b < a)
		b = a;
	/* running continues through non-blocking events: one span until the next wait */
	if (state == STORE_STATE_RUNNING && b == a)
		return;
	/*
	 * Between events a thread runs, except a Python thread that let the
	 * GIL go: it sleeps or blocks in a call without the GIL.
	 */
	emit_span(d, t, t->cursor, a, t->without_gil ? STORE_STATE_OFF_GIL : STORE_STATE_RUNNING,
		  0);
	emit_span(d, t, a, b, state, obj);
	if (b > t->cursor)
		t->cursor = b;
}

/*
 * A hold longer than 2^OCC_LONG_HOLD_SHIFT ns is also a row of
 * object_long_holds: readers of a window then read object_holds only as
 * far back as that before it, and the few long holds that reach into it
 * besides (docs/DERIVED.md). A lock held for seconds once (the GIL of a
 * program that ran single-threaded a while) made every zoomed-in frame
 * read all of that lock's holds of those seconds. A long hold is filed
 * under the smallest power of two 2^shift not below its length, in bin
 * start >> shift: one that overlaps time t started in bin
 * (t - 2^shift) >> shift or later, so a window's long holds are a couple
 * of bins per shift, however long the trace.
 */
#define OCC_LONG_HOLD_SHIFT 20
#define OCC_LONG_HOLD_NS (1ll << OCC_LONG_HOLD_SHIFT)

/*
 * Each object's ended holds are kept and written a chunk at a time
 * (store_holdchunks.h) once no hold still open on it starts before them.
 * Every KEEP_SWEEP holds kept, at each step and at the end, every object
 * writes what it can (kept_write_all): one look at the open holds of all
 * threads, not one per object, which a server that made 100K threads
 * would pay per chunk. An object with KEEP_MAX kept (a hold open all the
 * while: an outer level of a recursive lock, a long read hold) writes them
 * all, and so does every object once KEEP_TOTAL are kept in all (40 MB):
 * the open hold becomes a late row when it ends.
 */
#define KEEP_SWEEP 65536
#define KEEP_MAX 16384
#define KEEP_TOTAL (1u << 20)

static int hold_row_order(const void *a, const void *b)
{
	return store_holdchunks_cmp(a, b);
}

static void late_hold(struct derive *d, const struct store_hold_row *r)
{
	int64_t *v = rows_add(d, &d->late_holds);
	v[0] = r->obj;
	v[1] = r->pid;
	v[2] = r->tid;
	v[3] = r->start;
	v[4] = r->end;
	v[5] = r->mode;
	d->late_rows++;
}

static void write_chunk(struct derive *d, const struct store_hold_row *h, size_t n)
{
	size_t need = n * STORE_HOLDCHUNKS_HOLD_BYTES;
	if (need > d->chunk_cap) {
		uint8_t *b = realloc(d->chunk_buf, need);
		if (!b) {
			d->failed = 1;
			return;
		}
		d->chunk_buf = b;
		d->chunk_cap = need;
	}
	size_t len = store_holdchunks_encode(h, (int)n, d->chunk_buf);
	sqlite3_stmt *st = d->ins_chunk;
	sqlite3_bind_int64(st, 1, h[0].obj);
	sqlite3_bind_int64(st, 2, h[n - 1].start);
	sqlite3_bind_int64(st, 3, h[0].start);
	sqlite3_bind_int64(st, 4, (int64_t)n);
	sqlite3_bind_blob(st, 5, d->chunk_buf, (int)len, SQLITE_STATIC);
	step_done(d, st);
	d->chunks++;
	d->chunk_holds += (int64_t)n;
}

/*
 * Writes o's kept holds that start before `before` as chunks, never
 * splitting the holds of one start between two; the rest stay kept. A
 * hold ending later that starts before the last one written is late.
 */
static void kept_write(struct derive *d, struct objinfo *o, int64_t before)
{
	if (!o->nkept)
		return;
	/* the holds kept since the last write, in the order they ended, among the others */
	store_sort_tail(o->kept, o->nsorted, o->nkept, sizeof(*o->kept), hold_row_order);
	/* a recursive mutex taken twice and let go twice within one clock tick: one row */
	size_t n = 1;
	for (size_t i = 1; i < o->nkept; i++)
		if (store_holdchunks_cmp(&o->kept[i], &o->kept[n - 1]))
			o->kept[n++] = o->kept[i];
	size_t k = 0;
	while (k < n && o->kept[k].start < before)
		k++;
	size_t i = 0;
	while (i < k && !d->failed) {
		size_t j = i + STORE_HOLDCHUNKS_MAX;
		if (j >= k)
			j = k;
		while (j < k && o->kept[j].start == o->kept[j - 1].start)
			j++;
		write_chunk(d, &o->kept[i], j - i);
		i = j;
	}
	if (i) {
		o->chunk_from = o->kept[i - 1].start + 1;
		memmove(o->kept, o->kept + i, (n - i) * sizeof(*o->kept));
	}
	d->nkept -= o->nkept - (n - i);
	o->nkept = o->nsorted = n - i;
}

static void kept_write_all(struct derive *d);

/* Keeps an ended hold of o (NULL: an object without a row, whose holds are late rows). */
static void keep_hold(struct derive *d, struct objinfo *o, const struct store_hold_row *r)
{
	if (!o || r->start < o->chunk_from) {
		late_hold(d, r);
		return;
	}
	struct store_hold_row *k = store_grow(o->kept, &o->capkept, o->nkept, sizeof(*k));
	int64_t *l = o->listed
			 ? d->kept_objs
			 : store_grow(d->kept_objs, &d->capkept_objs, d->nkept_objs, sizeof(*l));
	if (!k || !l) {
		d->failed = 1;
		return;
	}
	o->kept = k;
	k[o->nkept++] = *r;
	d->nkept++;
	if (!o->listed) {
		d->kept_objs = l;
		l[d->nkept_objs++] = o->id;
		o->listed = 1;
	}
	if (o->nkept >= KEEP_MAX)
		kept_write(d, o, INT64_MAX);
	if (++d->kept_new >= KEEP_SWEEP)
		kept_write_all(d);
}

/*
 * Writes every object's kept holds that no open hold starts before
 * (all of them when every thread has ended), so that SQL reads of
 * object_holds find every hold up to there; past KEEP_TOTAL kept, all.
 */
static void kept_write_all(struct derive *d)
{
	d->kept_new = 0;
	for (size_t i = 0; i < d->nkept_objs; i++) {
		struct objinfo *o = obj_get(d, d->kept_objs[i], 0);
		if (o)
			o->open_from = INT64_MAX;
	}
	for (size_t i = 0; i < d->nthr_cap; i++) {
		const struct thr *t = d->thr[i];
		for (int h = 0; t && h < t->holds.n; h++) {
			struct objinfo *o = obj_get(d, t->holds.h[h].obj, 0);
			if (o && o->listed && t->holds.h[h].start < o->open_from)
				o->open_from = t->holds.h[h].start;
		}
	}
	size_t n = 0;
	for (size_t i = 0; i < d->nkept_objs; i++) {
		struct objinfo *o = obj_get(d, d->kept_objs[i], 0);
		if (!o)
			continue;
		kept_write(d, o, d->nkept > KEEP_TOTAL ? INT64_MAX : o->open_from);
		if (o->nkept)
			d->kept_objs[n++] = o->id;
		else
			o->listed = 0;
	}
	d->nkept_objs = n;
	rows_flush(d, &d->late_holds);
}

/*
 * An object_holds row for h, ended at end (a hold never ends before it
 * starts), and an object_long_holds row too when it is long.
 */
static void emit_hold(struct derive *d, struct thr *t, const struct store_hold *h, int64_t end,
		      int mode)
{
	if (end < h->start)
		end = h->start;
	struct objinfo *o = obj_get(d, h->obj, 0);
	keep_hold(d, o,
		  &(struct store_hold_row){.obj = h->obj,
					   .pid = t->pid,
					   .tid = t->tid,
					   .start = h->start,
					   .end = end,
					   .mode = mode});
	if (end - h->start > OCC_LONG_HOLD_NS) {
		int shift = OCC_LONG_HOLD_SHIFT + 1;
		while (shift < 62 && ((int64_t)1 << shift) < end - h->start)
			shift++;
		int64_t *l = rows_add(d, &d->long_holds);
		l[0] = h->obj;
		l[1] = end;
		l[2] = h->start;
		l[3] = t->tid;
		l[4] = t->pid;
		l[5] = shift;
		l[6] = h->start >> shift;
	}
	if (o && end - h->start > o->max_hold)
		o->max_hold = end - h->start;
	if (o)
		occ_written(d, o, &(struct occ_key){h->start, end, t->tid, 0}, t->pid, mode);
}

/* A lock or GIL event in t's held set; a hold that ended is a row. */
static void hold_event(struct derive *d, struct thr *t, const struct objinfo *o, int kind,
		       int64_t obj, int64_t ts, int64_t arg)
{
	struct store_holds_event e = {
	    .kind = kind, .obj_kind = o ? o->kind : 0, .obj = obj, .ts = ts, .arg = arg};
	struct store_hold ended;
	switch (store_holds_apply(&t->holds, &e, &ended)) {
	case STORE_HOLDS_RELEASED:
	case STORE_HOLDS_LEVEL_RELEASED:
		emit_hold(d, t, &ended, ts, ended.excl);
		break;
	case STORE_HOLDS_NO_MEMORY:
		d->failed = 1;
		break;
	default:
		break;
	}
}

static int wait_state(int kind, int objkind)
{
	switch (kind) {
	case WEFT_EV_LOCK_ACQUIRE:
		return objkind == WEFT_OBJ_GIL ? STORE_STATE_GIL : STORE_STATE_LOCK;
	case WEFT_EV_LOCK_FAIL:
		return STORE_STATE_LOCK;
	case WEFT_EV_COND_WAIT:
		return STORE_STATE_COND;
	case WEFT_EV_BARRIER_WAIT:
		return STORE_STATE_BARRIER;
	case WEFT_EV_THREAD_JOIN:
		return STORE_STATE_JOIN;
	case WEFT_EV_GIL_ACQUIRE:
		return STORE_STATE_GIL;
	case WEFT_EV_QUEUE_PUT:
	case WEFT_EV_QUEUE_GET:
		return STORE_STATE_QUEUE;
	case WEFT_EV_EVENT_WAIT:
		return STORE_STATE_EVENT; /* a threading.Event's wait: weft's own event kind */
	case WEFT_EV_PROCESS_REAP:
	case WEFT_EV_FUTEX_WAIT: /* a runtime's own lock, condition or parking; weft cannot tell */
		return STORE_STATE_WAIT;
	}
	return -1;
}

static int is_point_kind(int kind)
{
	return kind == WEFT_EV_THREAD_CREATE || kind == WEFT_EV_THREAD_START ||
	       kind == WEFT_EV_THREAD_EXIT || kind == WEFT_EV_PROCESS_FORK ||
	       kind == WEFT_EV_PROCESS_EXEC || kind == WEFT_EV_PROCESS_SPAWN ||
	       kind == WEFT_EV_PROCESS_EXIT || kind == WEFT_EV_GIL_DROP_REQUEST ||
	       kind == WEFT_EV_PROCESS_REAP;
}

static int exec(struct derive *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int exec_sql(struct derive *d, const char *sql)
{
	char *msg = NULL;
	if (!sql || sqlite3_exec(d->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(d->err, d->errlen, "derived tables: %s",
			 msg   ? msg
			 : sql ? "error"
			       : "out of memory");
		sqlite3_free(msg);
		d->failed = 1;
		return -1;
	}
	return 0;
}

static int exec(struct derive *d, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return exec_sql(d, sql);
}

/* Runs and frees one of store_holdchunks' SQL strings (NULL: out of memory). */
static int exec_holdchunks(struct derive *d, char *sql)
{
	int rc = exec_sql(d, sql);
	sqlite3_free(sql);
	return rc;
}

static sqlite3_stmt *prep(struct derive *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static sqlite3_stmt *prep(struct derive *d, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(d->err, d->errlen, "derived tables: %s", sqlite3_errmsg(d->db));
		d->failed = 1;
		return NULL;
	}
	return st;
}

/*
 * Rows of one thread (object) never overlap, so end_ns is unique per key:
 * WITHOUT ROWID tables keyed on (key, end_ns) are their own index, and a
 * window read is one range scan "end_ns > t0" stopping at start_ns >= t1.
 */
static int create_tables(struct derive *d)
{
	const char *s = d->schema;
	if (exec_holdchunks(d, store_holdchunks_create_sql(s)))
		return -1;
	return exec(
	    d,
	    "CREATE TABLE %s.thread_spans(pid INTEGER, tid INTEGER, state INTEGER,"
	    " start_ns INTEGER, end_ns INTEGER, object_id INTEGER,"
	    " PRIMARY KEY(pid, tid, end_ns)) WITHOUT ROWID;"
	    "CREATE TABLE %s.object_long_holds(object_id INTEGER, end_ns INTEGER,"
	    " start_ns INTEGER, tid INTEGER, pid INTEGER, shift INTEGER, bin INTEGER,"
	    " PRIMARY KEY(object_id, end_ns, start_ns, tid, pid)) WITHOUT ROWID;"
	    "CREATE INDEX %s.object_long_holds_bins ON object_long_holds(object_id, shift, bin);"
	    "CREATE TABLE %s.object_spans(object_id INTEGER, start_ns INTEGER,"
	    " end_ns INTEGER, holder_tid INTEGER, holders INTEGER, waiters INTEGER,"
	    " PRIMARY KEY(object_id, end_ns)) WITHOUT ROWID;"
	    "CREATE TABLE %s.thread_summary(level INTEGER, pid INTEGER, tid INTEGER,"
	    " start_ns INTEGER, end_ns INTEGER, state INTEGER, mixed INTEGER, aux INTEGER,"
	    " PRIMARY KEY(level, pid, tid, end_ns)) WITHOUT ROWID;"
	    "CREATE TABLE %s.object_summary(level INTEGER, object_id INTEGER,"
	    " start_ns INTEGER, end_ns INTEGER, holder_tid INTEGER, mixed INTEGER,"
	    " max_waiters INTEGER, PRIMARY KEY(level, object_id, end_ns)) WITHOUT ROWID;"
	    "CREATE TABLE %s.point_events(id INTEGER PRIMARY KEY, ts_ns INTEGER, pid INTEGER,"
	    " tid INTEGER, kind INTEGER, arg INTEGER);"
	    "CREATE TABLE %s.object_stats(object_id INTEGER PRIMARY KEY, acquires INTEGER,"
	    " contended INTEGER, wait_ns INTEGER, max_wait_ns INTEGER,"
	    " max_wait_event INTEGER, max_hold_ns INTEGER);"
	    "CREATE TABLE %s.thread_life(pid INTEGER, tid INTEGER, start_ns INTEGER,"
	    " end_ns INTEGER, events INTEGER, PRIMARY KEY(pid, tid)) WITHOUT ROWID;"
	    "CREATE TABLE %s.thread_event_blocks(pid INTEGER, tid INTEGER, block INTEGER,"
	    " PRIMARY KEY(pid, tid, block)) WITHOUT ROWID;",
	    s, s, s, s, s, s, s, s, s, s);
}

/*
 * The waits feed the occupancy pass in (object, start) order beside
 * object_holds, which is its own index in that order (a separate index
 * doubled its 12.8 bytes per event), and answer "who waited for X at t".
 */
static int create_indexes(struct derive *d)
{
	const char *s = d->schema;
	return exec(d,
		    "CREATE INDEX IF NOT EXISTS %s.thread_spans_waits ON thread_spans(object_id,"
		    " start_ns, end_ns, tid) WHERE object_id IS NOT NULL AND state IN (%d, %d, %d);"
		    "CREATE INDEX IF NOT EXISTS %s.point_events_by_thread ON point_events(pid, tid,"
		    " ts_ns);",
		    s, STORE_STATE_LOCK, STORE_STATE_GIL, STORE_STATE_QUEUE, s);
}

/* The objects written since the last call (object ids grow as objects are written). */
static int load_objects(struct derive *d)
{
	sqlite3_stmt *st = prep(d, "SELECT object_id, kind FROM main.obj WHERE object_id > %lld",
				(long long)d->last_obj);
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		struct objinfo *o = obj_get(d, id, 1);
		if (o)
			o->kind = sqlite3_column_int(st, 1);
		if (id > d->last_obj)
			d->last_obj = id;
	}
	sqlite3_finalize(st);
	return d->failed ? -1 : 0;
}

/*
 * The threads', the processes' and the trace's rows: starts and ends. A
 * thread already begun (streaming) keeps the start its first event gave
 * it; row_start keeps its row's for streamed_threads_hold().
 */
static int load_trace_rows(struct derive *d)
{
	sqlite3_stmt *st = prep(d, "SELECT pid, tid, start_ns, end_ns FROM main.thr");
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct thr *t = thr_get(d, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
		if (!t)
			break;
		int64_t start =
		    sqlite3_column_type(st, 2) != SQLITE_NULL ? sqlite3_column_int64(st, 2) : -1;
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			t->end = sqlite3_column_int64(st, 3);
		if (!t->started)
			t->start = start;
		t->row_start = start;
	}
	sqlite3_finalize(st);
	st = prep(d, "SELECT value FROM main.meta WHERE key='end_ns'");
	if (!st)
		return -1;
	d->end_ns = -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		d->end_ns = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = prep(d, "SELECT pid, start_ns, end_ns FROM main.proc");
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct pend *pe = pend_get(d, sqlite3_column_int(st, 0), 1);
		if (pe && sqlite3_column_type(st, 1) != SQLITE_NULL)
			pe->start = sqlite3_column_int64(st, 1);
		if (pe && sqlite3_column_type(st, 2) != SQLITE_NULL)
			pe->end = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return d->failed ? -1 : 0;
}

static int load_threads_objects(struct derive *d)
{
	return load_trace_rows(d) || load_objects(d) ? -1 : 0;
}

/*
 * A wait weft's Python wrappers record as the whole call: a queue's put or
 * get (always), Event.wait, Condition.wait and a Semaphore's acquire (in
 * traces older than the preload's own check, record_since). A Python
 * thread that held the GIL from the call's start to its end never blocked
 * in it: an unbounded queue's put, a get that found an item, an Event
 * already set. Those ran.
 */
static int ran_through(const struct thr *t, int kind, const struct objinfo *o, int64_t ts,
		       int64_t wait)
{
	int wrapped = kind == WEFT_EV_QUEUE_PUT || kind == WEFT_EV_QUEUE_GET ||
		      (kind == WEFT_EV_EVENT_WAIT && o && o->kind == WEFT_OBJ_PY_EVENT) ||
		      (kind == WEFT_EV_COND_WAIT && o && o->kind == WEFT_OBJ_PY_CONDITION) ||
		      (kind == WEFT_EV_LOCK_ACQUIRE && o && o->kind == WEFT_OBJ_PY_SEMAPHORE);
	return wrapped && t->python && !t->without_gil && t->gil_since <= ts - wait;
}

static void on_event(struct derive *d, int64_t id, int64_t ts, struct thr *t, int kind, int64_t obj,
		     int64_t wait, int64_t arg)
{
	struct objinfo *o = obj ? obj_get(d, obj, 0) : NULL;
	if (wait > 0 && ran_through(t, kind, o, ts, wait))
		wait = 0;
	int st = wait > 0 ? wait_state(kind, o ? o->kind : 0) : -1;
	/*
	 * A wait its lock.wait announced was known to the followed objects'
	 * limits (occ_follow_limits) from its start: no margin needed for it.
	 */
	int announced = t->wait_open >= 0 && t->wait_obj == obj;
	if (o && wait > o->longest_wait && !announced)
		o->longest_wait = wait;
	if (st >= 0)
		thread_advance(d, t, ts - wait, ts, st, obj);
	else
		thread_advance(d, t, ts, ts, STORE_STATE_RUNNING, 0);
	/* queue operations count like acquires so queues get stats and a lane */
	if ((kind == WEFT_EV_LOCK_ACQUIRE || kind == WEFT_EV_GIL_ACQUIRE ||
	     kind == WEFT_EV_QUEUE_PUT || kind == WEFT_EV_QUEUE_GET) &&
	    o) {
		o->acquires++;
		if (wait > 0) {
			o->contended++;
			o->wait_total += wait;
			if (wait > o->max_wait) {
				o->max_wait = wait;
				o->max_wait_event = id;
			}
		}
	}
	switch (kind) {
	case WEFT_EV_LOCK_ACQUIRE:
	case WEFT_EV_LOCK_RELEASE:
		hold_event(d, t, o, kind, obj, ts, arg);
		break;
	case WEFT_EV_GIL_ACQUIRE:
		hold_event(d, t, o, kind, obj, ts, arg);
		t->without_gil = 0;
		t->python = 1;
		t->gil_since = ts;
		break;
	case WEFT_EV_GIL_RELEASE:
		t->python = 1;
		t->gil_since = ts;
		hold_event(d, t, o, kind, obj, ts, arg);
		/* Close the running stretch at the release: what follows is without the GIL. */
		thread_advance(d, t, ts, ts + 1, STORE_STATE_RUNNING, 0);
		t->without_gil = 1;
		break;
	}
	if (t->python && t->npend > 1 && own_event(kind))
		settle_spans(d, t, ts);
	if (is_point_kind(kind)) {
		sqlite3_stmt *p = d->ins_point;
		sqlite3_bind_int64(p, 1, id);
		sqlite3_bind_int64(p, 2, ts);
		sqlite3_bind_int(p, 3, t->pid);
		sqlite3_bind_int(p, 4, t->tid);
		sqlite3_bind_int(p, 5, kind);
		sqlite3_bind_int64(p, 6, arg);
		step_done(d, p);
	}
	if (kind == WEFT_EV_THREAD_EXIT && t->end < 0)
		t->end = ts;
	/*
	 * A lock.wait is ended by the thread's next event (its acquire or
	 * fail), but for a gil.release: a PyMutex Lock (CPython 3.13.1+)
	 * records its wait before the interpreter lets go of the GIL to block.
	 */
	if (kind == WEFT_EV_GIL_RELEASE && t->wait_open >= 0)
		return;
	/* one recorded at exit for a Python thread has waited wait_ns already */
	t->wait_open = kind == WEFT_EV_LOCK_WAIT ? ts - (wait > 0 ? wait : 0) : -1;
	t->wait_obj = obj;
	if (kind == WEFT_EV_PROCESS_EXIT) {
		struct pend *pe = pend_get(d, t->pid, 1);
		if (pe && pe->end < 0)
			pe->end = ts;
	}
}

/* Reads the events after d->last_id up to last_id (INT64_MAX: all). */
static int event_pass(struct derive *d, int64_t last_id)
{
	struct store_events *r = store_events_open_range(d->db, 0, d->last_id, last_id);
	struct store_event_row row;
	int rc = r ? 1 : -1;
	struct thr *last = NULL;
	if (r && d->mirror)
		store_events_use_mirror(r, d->mirror);
	while (rc > 0 && !d->failed && (rc = store_events_next(r, &row)) > 0) {
		const struct store_event *e = &row.e;
		struct thr *t = last && last->pid == e->pid && last->tid == e->tid
				    ? last
				    : thr_get(d, e->pid, e->tid);
		if (!t) {
			d->failed = 1;
			break;
		}
		if (!t->started && t->start < 0 && e->pid == e->tid) {
			/* a main thread with no threads row lives as long as its process */
			struct pend *pe = pend_get(d, e->pid, 0);
			if (pe && pe->start >= 0)
				t->start = pe->start;
		}
		last = t;
		/*
		 * A thread's events by id without an index over ev (which cost the
		 * tail 0.2 s per million events): the blocks of ids it has events
		 * in, a row each time it enters one (store_thread_events reads them).
		 */
		int64_t block = (row.id >> STORE_EVENT_BLOCK_SHIFT) + 1;
		if (t->block_seen != block) {
			t->block_seen = block;
			int64_t *v = rows_add(d, &d->blocks);
			v[0] = t->pid;
			v[1] = t->tid;
			v[2] = block - 1;
		}
		d->events++;
		t->events++;
		if (e->ts_ns > d->max_ts)
			d->max_ts = e->ts_ns;
		if (d->streamed && e->object_id && !obj_get(d, e->object_id, 0))
			d->unknown_objs++;
		on_event(d, row.id, e->ts_ns, t, e->kind, e->object_id, e->wait_ns, e->arg);
		d->last_id = row.id;
		if (d->tap)
			d->tap->row(d->tap->ctx, &row);
	}
	if (rc < 0) {
		snprintf(d->err, d->errlen, "derived tables: reading events: %s",
			 sqlite3_errmsg(d->db));
		d->failed = 1;
	}
	if (r) {
		int64_t mirrored, read;
		store_events_counts(r, &mirrored, &read);
		d->rows_mirrored += mirrored;
		d->rows_read += read;
	}
	store_events_close(r);
	return d->failed ? -1 : 0;
}

/*
 * A lock.wait nothing ended: a lock's, or (recorded at exit for a Python
 * thread) a named object's, which waits as that object's own events do.
 */
static int open_wait_state(struct derive *d, int64_t obj)
{
	struct objinfo *o = obj ? obj_get(d, obj, 0) : NULL;
	switch (o ? o->kind : 0) {
	case WEFT_OBJ_QUEUE:
		return wait_state(WEFT_EV_QUEUE_GET, 0);
	case WEFT_OBJ_PY_CONDITION:
		return wait_state(WEFT_EV_COND_WAIT, 0);
	case WEFT_OBJ_BARRIER:
		return wait_state(WEFT_EV_BARRIER_WAIT, 0);
	case WEFT_OBJ_PY_EVENT:
		return wait_state(WEFT_EV_EVENT_WAIT, 0);
	}
	return STORE_STATE_LOCK;
}

/* Closes every thread: running until its end, holds still open at its end. */
static void finish_threads(struct derive *d)
{
	int64_t trace_end = d->end_ns >= d->max_ts ? d->end_ns : d->max_ts;
	for (size_t i = 0; i < d->nthr_cap; i++) {
		struct thr *t = d->thr[i];
		if (!t)
			continue;
		/* a thread with no recorded end ends with its process, else with the trace */
		struct pend *pe = t->end >= 0 ? NULL : pend_get(d, t->pid, 0);
		int64_t end = t->end >= 0 ? t->end : pe && pe->end >= 0 ? pe->end : trace_end;
		if (!t->started && t->start < 0)
			goto free_it; /* a thread row with no time at all */
		if (t->start < 0)
			t->start = 0;
		if (end < t->cursor)
			end = t->cursor;
		if (!t->started) {
			t->started = 1;
			t->cursor = t->start;
		}
		/*
		 * Still waiting when it ended (a deadlock, a daemon thread in
		 * Queue.get at exit): blocked on that object to its end.
		 */
		if (t->wait_open >= 0 && t->wait_open < end)
			thread_advance(d, t, t->wait_open, end, open_wait_state(d, t->wait_obj),
				       t->wait_obj);
		emit_span(d, t, t->cursor, end,
			  t->without_gil ? STORE_STATE_OFF_GIL : STORE_STATE_RUNNING, 0);
		flush_spans(d, t, t->npend);
		for (int h = 0; h < t->holds.n; h++)
			emit_hold(d, t, &t->holds.h[h], end,
				  t->holds.h[h].excl | STORE_HOLD_UNRELEASED);
		sum_finish(&t->sum);
		sqlite3_bind_int(d->ins_thread, 1, t->pid);
		sqlite3_bind_int(d->ins_thread, 2, t->tid);
		sqlite3_bind_int64(d->ins_thread, 3, t->start);
		sqlite3_bind_int64(d->ins_thread, 4, end > t->start ? end : t->start);
		sqlite3_bind_int64(d->ins_thread, 5, t->events);
		step_done(d, d->ins_thread);
	free_it:
		store_holds_free(&t->holds);
		free(t->pend);
		free(t);
		d->thr[i] = NULL;
	}
}

/*
 * Occupancy of each object over time: a merge of its holds and of the
 * waits on it, both read in start order from their indexes, with the ends
 * of the open ones in two min-heaps. Ends go before starts at the same
 * instant so a hand-over is not an overlap.
 */
#define MAX_HOLDERS 16

struct heap {
	int64_t *t;
	int32_t *tid;
	int n, cap;
};

static int heap_push(struct heap *h, int64_t t, int32_t tid)
{
	if (h->n == h->cap) {
		int ncap = h->cap ? h->cap * 2 : 64;
		int64_t *nt = realloc(h->t, (size_t)ncap * sizeof(*nt));
		if (!nt)
			return -1;
		h->t = nt;
		int32_t *nd = realloc(h->tid, (size_t)ncap * sizeof(*nd));
		if (!nd)
			return -1;
		h->tid = nd;
		h->cap = ncap;
	}
	int i = h->n++;
	while (i && h->t[(i - 1) / 2] > t) {
		h->t[i] = h->t[(i - 1) / 2];
		h->tid[i] = h->tid[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->t[i] = t;
	h->tid[i] = tid;
	return 0;
}

static void heap_pop(struct heap *h)
{
	int64_t t = h->t[--h->n];
	int32_t tid = h->tid[h->n];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->t[c + 1] < h->t[c])
			c++;
		if (h->t[c] >= t)
			break;
		h->t[i] = h->t[c];
		h->tid[i] = h->tid[c];
		i = c;
	}
	h->t[i] = t;
	h->tid[i] = tid;
}

struct occ {
	int64_t obj, last_t;
	int32_t holders[MAX_HOLDERS];
	int64_t hold_end[MAX_HOLDERS]; /* holders[i]'s hold ends then */
	int nholders, extra_holders, waiters;
	struct heap hold_ends, wait_ends;
	struct summarizer sum;
};

/*
 * Only a segment with threads queued is a row: elsewhere the holds in
 * object_holds say all a segment would (who holds, how many, the most
 * recent), and a row per change of holders was as many bytes again as the
 * holds themselves (an uncontended lock: a row per hold; OpenSSL's rwlocks,
 * read-held by several threads at once: 2.7M rows for 3.2M holds).
 * Readers sweep the holds where no segment covers (docs/DERIVED.md).
 * (Derived version 9 also kept the segments under a long hold, to bound
 * what readers read: under OpenSSL's long read holds that was 1.2M rows;
 * object_long_holds does it with a row per long hold.)
 */
static void occ_emit(struct derive *d, struct occ *c, int64_t t)
{
	if (t <= c->last_t)
		return;
	int n = c->nholders + c->extra_holders;
	int32_t holder = c->nholders ? c->holders[c->nholders - 1] : 0;
	if (c->waiters) {
		int64_t *v = rows_add(d, &d->ospans);
		v[0] = c->obj;
		v[1] = c->last_t;
		v[2] = t;
		v[3] = holder;
		v[4] = n;
		v[5] = c->waiters;
	}
	sum_add(&c->sum, c->last_t, t, holder, c->waiters);
	c->last_t = t;
}

/* The hold of tid ending at end is over (a thread's nested holds need both to tell). */
static void occ_release(struct occ *c, int32_t tid, int64_t end)
{
	int i = c->nholders - 1;
	while (i >= 0 && (c->holders[i] != tid || c->hold_end[i] != end))
		i--;
	if (i >= 0) {
		int after = c->nholders - i - 1;
		memmove(&c->holders[i], &c->holders[i + 1], (size_t)after * sizeof(c->holders[0]));
		memmove(&c->hold_end[i], &c->hold_end[i + 1],
			(size_t)after * sizeof(c->hold_end[0]));
		c->nholders--;
	} else if (c->extra_holders) {
		c->extra_holders--;
	}
}

/* Applies every end at or before t (ends first), then emits up to t unless draining. */
static void occ_advance(struct derive *d, struct occ *c, int64_t t, int drain)
{
	while (c->hold_ends.n || c->wait_ends.n) {
		int64_t he = c->hold_ends.n ? c->hold_ends.t[0] : INT64_MAX;
		int64_t we = c->wait_ends.n ? c->wait_ends.t[0] : INT64_MAX;
		int64_t e = he < we ? he : we;
		if (e > t)
			break;
		occ_emit(d, c, e);
		if (he <= we) {
			occ_release(c, c->hold_ends.tid[0], he);
			heap_pop(&c->hold_ends);
		} else {
			if (c->waiters)
				c->waiters--;
			heap_pop(&c->wait_ends);
		}
	}
	if (!drain)
		occ_emit(d, c, t);
}

static int occ_key_cmp(const struct occ_key *a, const struct occ_key *b)
{
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->wait != b->wait)
		return a->wait - b->wait;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static void occ_begin(struct derive *d, struct occ *c, int64_t obj)
{
	c->obj = obj;
	c->nholders = c->extra_holders = c->waiters = 0;
	c->hold_ends.n = c->wait_ends.n = 0;
	c->last_t = INT64_MAX;
	sum_init(&c->sum, d, &d->osums, 0, obj, -1);
}

static void occ_feed(struct derive *d, struct occ *c, const struct occ_key *k)
{
	if (c->last_t == INT64_MAX)
		c->last_t = k->start;
	occ_advance(d, c, k->start, 0);
	if (!k->wait) {
		if (c->nholders < MAX_HOLDERS) {
			c->hold_end[c->nholders] = k->end;
			c->holders[c->nholders++] = k->tid;
		} else {
			c->extra_holders++;
		}
		if (heap_push(&c->hold_ends, k->end, k->tid))
			d->failed = 1;
	} else {
		c->waiters++;
		if (heap_push(&c->wait_ends, k->end, k->tid))
			d->failed = 1;
	}
}

static void occ_end(struct derive *d, struct occ *c)
{
	occ_advance(d, c, INT64_MAX, 1);
	sum_finish(&c->sum);
}

static void occ_free(struct occ *c)
{
	free(c->hold_ends.t);
	free(c->hold_ends.tid);
	free(c->wait_ends.t);
	free(c->wait_ends.tid);
}

/* The two ordered inputs of the pass: holds, and waits on objects. */
struct occ_inputs {
	sqlite3_stmt *holds, *waits;
	int hv, wv;
};

static int occ_inputs_prep(struct derive *d, struct occ_inputs *in, const char *hold_where,
			   const char *wait_where)
{
	const char *s = d->schema;
	in->holds = prep(d,
			 "SELECT object_id, start_ns, end_ns, tid FROM %s.object_holds WHERE %s"
			 " ORDER BY object_id, start_ns, end_ns, tid",
			 s, hold_where);
	in->waits = prep(d,
			 "SELECT object_id, start_ns, end_ns, tid FROM %s.thread_spans"
			 " WHERE object_id IS NOT NULL AND state IN (%d, %d, %d) AND %s"
			 " ORDER BY object_id, start_ns, end_ns, tid",
			 s, STORE_STATE_LOCK, STORE_STATE_GIL, STORE_STATE_QUEUE, wait_where);
	return in->holds && in->waits ? 0 : -1;
}

static void occ_inputs_step(struct occ_inputs *in)
{
	in->hv = sqlite3_step(in->holds) == SQLITE_ROW;
	in->wv = sqlite3_step(in->waits) == SQLITE_ROW;
}

static void occ_inputs_free(struct occ_inputs *in)
{
	sqlite3_finalize(in->holds);
	sqlite3_finalize(in->waits);
}

/*
 * Feeds c the inputs' rows of object obj in the pass's order, up to the
 * first of another object; last (when not NULL) becomes the last fed.
 * Returns how many were fed.
 */
static int64_t occ_feed_rows(struct derive *d, struct occ *c, struct occ_inputs *in, int64_t obj,
			     struct occ_key *last)
{
	int64_t n = 0;
	for (;;) {
		int hin = in->hv && sqlite3_column_int64(in->holds, 0) == obj;
		int win = in->wv && sqlite3_column_int64(in->waits, 0) == obj;
		if (!hin && !win)
			break;
		int64_t ht = hin ? sqlite3_column_int64(in->holds, 1) : INT64_MAX;
		int64_t wt = win ? sqlite3_column_int64(in->waits, 1) : INT64_MAX;
		sqlite3_stmt *cur = ht <= wt ? in->holds : in->waits;
		struct occ_key k = {sqlite3_column_int64(cur, 1), sqlite3_column_int64(cur, 2),
				    sqlite3_column_int(cur, 3), cur == in->waits};
		occ_feed(d, c, &k);
		n++;
		if (last)
			*last = k;
		if (cur == in->holds)
			in->hv = sqlite3_step(in->holds) == SQLITE_ROW;
		else
			in->wv = sqlite3_step(in->waits) == SQLITE_ROW;
	}
	return n;
}

/*
 * Following a trace, the busiest objects' occupancy is computed as their
 * holds and waits are written, so that the pass after the program has only
 * the last moments of them left. A wait is known only when it ends and a
 * hold when it is released, so an interval can arrive after later-starting
 * ones were fed: such an object is marked late and read again from its
 * first interval at the end, which makes the result the same as the pass
 * in one go. To make that rare, each step feeds only intervals that start
 * before the holds still open on the object, before the waits on it still
 * pending in a thread's spans, and a margin before the newest event read:
 * twice the longest wait seen on the object so far, at least
 * OCC_FOLLOW_MARGIN_MIN_NS and at most OCC_FOLLOW_MARGIN_NS. (Rows come in
 * time order, so an unread wait on it that is no longer than those seen
 * starts within the margin; a longer one makes the object late once and
 * widens its margin.) A fixed 250 ms let nothing of a burst shorter than
 * that be fed before the end. Only objects with OCC_FOLLOW_MIN acquires or
 * more are followed, at most OCC_FOLLOW_MAX of them (a few kB each), and,
 * while the program runs, not at a step that read more than
 * OCC_FOLLOW_BUSY_ROWS events (the follower is behind a busy writer it
 * shares a CPU with: the objects catch up later). Once the program has
 * ended (store_derive_unhurried) the follower has a CPU of its own and
 * feeds them at every step, while the writer still writes its backlog,
 * instead of after it.
 */
#define OCC_FOLLOW_MIN 4096
#define OCC_FOLLOW_MAX 1024
#define OCC_FOLLOW_MARGIN_NS 250000000LL
#define OCC_FOLLOW_MARGIN_MIN_NS 2000000LL
#define OCC_FOLLOW_AGAIN 2
#define OCC_FOLLOW_BUSY_ROWS 262144

/*
 * A followed object's intervals are also kept in memory as they are
 * written, so that a step feeds them from there instead of reading back
 * through SQLite what it has just inserted (half of the feed's cost). The
 * buffer serves only once it holds every interval not fed yet: after a
 * read through SQLite up to a limit past the newest time any interval
 * written before the object was followed can start (occ_follow_feed). At
 * most OCC_BUFFERED_MAX intervals are kept over all objects (32 bytes
 * each); an object that would pass it is read through SQLite from then on.
 */
#define OCC_BUFFERED_MAX (1 << 19)

struct occ_written_ent {
	int64_t start, end;
	int32_t tid, pid;
	int32_t wait, mode; /* mode: object_holds.mode (holds), 0 (waits) */
};

struct occ_follow {
	struct occ c;
	struct occ_key last; /* the last interval fed (fed: there is one) */
	int fed, late, fresh, again;
	int64_t limit;		     /* this step's: feed intervals starting before it */
	struct occ_written_ent *buf; /* written and not fed yet, in the order written */
	size_t nbuf, capbuf;
	size_t nsorted;	    /* buf[0 .. nsorted) is in the pass's order */
	int unbuffered;	    /* over the bound once: SQLite only */
	int complete;	    /* buf holds every interval not fed yet */
	int64_t before_buf; /* no interval missing from buf starts after this */
};

/* Drops the buffered intervals that start before limit (a read through SQLite fed them). */
static void occ_buf_drop_before(struct occ_follow *f, int64_t limit)
{
	size_t keep = 0, sorted = 0;
	for (size_t i = 0; i < f->nbuf; i++) {
		if (f->buf[i].start >= limit) {
			f->buf[keep++] = f->buf[i];
			if (i < f->nsorted)
				sorted = keep; /* what stays of a sorted run stays sorted */
		}
	}
	f->nbuf = keep;
	f->nsorted = sorted;
}

static void occ_buf_free(struct derive *d, struct occ_follow *f)
{
	d->buffered -= f->capbuf;
	free(f->buf);
	f->buf = NULL;
	f->nbuf = f->capbuf = f->nsorted = 0;
}

/* The pass's order of intervals (occ_key_cmp), then pid and mode: inline, for the sort's merge. */
static inline int occ_ent_order(const struct occ_written_ent *a, const struct occ_written_ent *b)
{
	int c = occ_key_cmp(&(struct occ_key){a->start, a->end, a->tid, a->wait},
			    &(struct occ_key){b->start, b->end, b->tid, b->wait});
	if (c)
		return c;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->mode - b->mode;
}

/*
 * A hold (wait 0) or wait of object o was just written: a followed
 * object's fed ones must precede it, and its buffer keeps it.
 */
static void occ_written(struct derive *d, struct objinfo *o, const struct occ_key *k, int32_t pid,
			int mode)
{
	struct occ_follow *f = o->follow;
	if (!f)
		return;
	f->fresh = 1;
	if (f->fed && occ_key_cmp(k, &f->last) <= 0)
		f->late = 1;
	if (f->unbuffered)
		return;
	if (f->nbuf == f->capbuf) {
		size_t cap = f->capbuf ? 2 * f->capbuf : 1024;
		struct occ_written_ent *n = d->buffered + (cap - f->capbuf) <= OCC_BUFFERED_MAX
						? realloc(f->buf, cap * sizeof(*n))
						: NULL;
		if (!n) {
			occ_buf_free(d, f);
			f->unbuffered = 1;
			f->complete = 0;
			return;
		}
		d->buffered += cap - f->capbuf; /* the bound counts what is allocated */
		f->buf = n;
		f->capbuf = cap;
	}
	f->buf[f->nbuf] = (struct occ_written_ent){k->start, k->end, k->tid, pid, k->wait, mode};
	/* Mostly written in order (holds end in start order): then no sort is needed. */
	if (f->nsorted == f->nbuf &&
	    (!f->nbuf || occ_ent_order(&f->buf[f->nbuf - 1], &f->buf[f->nbuf]) <= 0))
		f->nsorted++;
	f->nbuf++;
}

static int occ_ent_cmp(const void *pa, const void *pb)
{
	return occ_ent_order(pa, pb);
}

/* buf in the pass's order: the entries written since the last feed among the others. */
static void occ_buf_sort(struct occ_follow *f)
{
	store_sort_tail(f->buf, f->nsorted, f->nbuf, sizeof(*f->buf), occ_ent_cmp);
	f->nsorted = f->nbuf;
}

/*
 * Feeds the buffered intervals that start before limit, in the pass's
 * order, as the read through SQLite would: a hold written twice
 * (object_holds keeps one row: INSERT OR IGNORE) is fed once. Returns
 * how many were fed.
 */
static int64_t occ_buf_feed(struct derive *d, struct occ_follow *f, int64_t limit)
{
	occ_buf_sort(f);
	size_t i = 0;
	int64_t n = 0;
	for (; i < f->nbuf && f->buf[i].start < limit; i++) {
		const struct occ_written_ent *e = &f->buf[i];
		if (i && !e->wait && !occ_ent_cmp(e, e - 1))
			continue;
		struct occ_key k = {e->start, e->end, e->tid, e->wait};
		occ_feed(d, &f->c, &k);
		f->last = k;
		f->fed = 1;
		n++;
	}
	memmove(f->buf, f->buf + i, (f->nbuf - i) * sizeof(*f->buf));
	f->nbuf -= i;
	f->nsorted = f->nbuf;
	return n;
}

static void occ_follow_start(struct derive *d)
{
	for (size_t i = 0; i < d->nobj_cap && d->nfollow < OCC_FOLLOW_MAX; i++) {
		struct objinfo *o = &d->obj[i];
		if (!o->id || o->follow || o->acquires < d->follow_min)
			continue;
		struct occ_follow *f = calloc(1, sizeof(*f));
		struct occ_follow **n = realloc(d->follow, (d->nfollow + 1) * sizeof(*n));
		if (!f || !n) {
			free(f);
			if (n)
				d->follow = n;
			d->failed = 1;
			return;
		}
		d->follow = n;
		occ_begin(d, &f->c, o->id);
		f->fresh = 1;
		/* what was written before this step's rows were read is in SQLite only */
		f->before_buf = d->max_ts;
		o->follow = f;
		d->follow[d->nfollow++] = f;
	}
}

static void occ_limit(struct derive *d, int64_t obj, int64_t start)
{
	struct objinfo *o = obj_get(d, obj, 0);
	if (o && o->follow && start < o->follow->limit)
		o->follow->limit = start;
}

/* Each followed object's limit for this step. */
static void occ_follow_limits(struct derive *d)
{
	for (size_t i = 0; i < d->nfollow; i++) {
		struct occ_follow *f = d->follow[i];
		const struct objinfo *o = obj_get(d, f->c.obj, 0);
		int64_t margin = o ? 2 * o->longest_wait : d->follow_margin;
		if (margin < d->follow_margin_min)
			margin = d->follow_margin_min;
		if (margin > d->follow_margin)
			margin = d->follow_margin;
		f->limit = d->max_ts - margin;
	}
	for (size_t i = 0; i < d->nthr_cap; i++) {
		struct thr *t = d->thr[i];
		if (!t)
			continue;
		/*
		 * Only a Python thread's named wait takes back spans kept pending,
		 * and none from before its first GIL event: another thread's are
		 * final but the last (a running stretch that may go on), so they
		 * are written now rather than hold the limit back until the end.
		 */
		if (!t->python && t->npend > 1)
			flush_spans(d, t, t->npend - 1);
		for (int h = 0; h < t->holds.n; h++)
			occ_limit(d, t->holds.h[h].obj, t->holds.h[h].start);
		if (t->wait_open >= 0 && t->wait_obj)
			occ_limit(d, t->wait_obj, t->wait_open);
		for (int p = 0; p < t->npend; p++) {
			const struct span *sp = &t->pend[p];
			if (is_object_wait(sp))
				occ_limit(d, sp->obj, sp->a);
		}
	}
}

/*
 * The WHERE clause of an object's holds (wait 0) or waits (wait 1) that
 * come after last (NULL: all of them) in the pass's order (start, wait,
 * end, tid) and start before limit. start_ns >= the last start keeps the
 * read to the index's range.
 */
static void occ_after_clause(char *buf, size_t len, int64_t obj, const struct occ_key *last,
			     int wait, int64_t limit)
{
	int n = snprintf(buf, len, "object_id = %lld AND start_ns < %lld", (long long)obj,
			 (long long)limit);
	if (last && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n,
			 " AND start_ns >= %lld AND (start_ns > %lld OR %d > %d OR (%d = %d AND"
			 " (end_ns, tid) > (%lld, %d)))",
			 (long long)last->start, (long long)last->start, wait, last->wait, wait,
			 last->wait, (long long)last->end, last->tid);
}

/*
 * Feeds a followed object its intervals after the last fed, up to limit
 * (INT64_MAX: all of them, then its occupancy ends). A late object is
 * first dropped and read again from its first interval.
 */
static int occ_follow_feed(struct derive *d, struct occ_follow *f, int64_t limit)
{
	int64_t obj = f->c.obj;
	if (f->late) {
		rows_flush(d, &d->ospans);
		rows_flush(d, &d->osums); /* before its rows are deleted */
		for (int l = 0; l < STORE_SUM_LEVELS; l++)
			exec(d,
			     "DELETE FROM %s.object_summary WHERE level = %d AND object_id = %lld",
			     d->schema, l, (long long)obj);
		exec(d, "DELETE FROM %s.object_spans WHERE object_id = %lld", d->schema,
		     (long long)obj);
		occ_begin(d, &f->c, obj);
		f->fed = f->late = 0;
		f->complete = 0;
		d->occ_again++;
	}
	int64_t n;
	if (f->complete) {
		n = occ_buf_feed(d, f, limit);
	} else {
		char hw[320], ww[320];
		occ_after_clause(hw, sizeof(hw), obj, f->fed ? &f->last : NULL, 0, limit);
		occ_after_clause(ww, sizeof(ww), obj, f->fed ? &f->last : NULL, 1, limit);
		struct occ_inputs in;
		n = 0;
		if (occ_inputs_prep(d, &in, hw, ww) == 0) {
			occ_inputs_step(&in);
			n = occ_feed_rows(d, &f->c, &in, obj, &f->last);
			if (n)
				f->fed = 1;
		}
		occ_inputs_free(&in);
		/* fed from SQLite: the buffer keeps what starts later, which is all it must */
		occ_buf_drop_before(f, limit);
		f->complete = !f->unbuffered && limit > f->before_buf;
	}
	*(limit == INT64_MAX ? &d->fed_at_end : &d->fed_early) += n;
	if (limit == INT64_MAX) {
		occ_end(d, &f->c);
		occ_buf_free(d, f);
	}
	return d->failed ? -1 : 0;
}

/* A step of the followed objects (store_derive_events). */
static int occ_follow_step(struct derive *d)
{
	occ_follow_start(d);
	if (!d->nfollow)
		return 0;
	/* the limits write spans out: the feed's reads must find every row written */
	occ_follow_limits(d);
	kept_write_all(d);
	rows_flush(d, &d->spans);
	for (size_t i = 0; i < d->nfollow && !d->failed; i++) {
		struct occ_follow *f = d->follow[i];
		/* one late too often is left for the end, so it is read again once more at most */
		if (f->late && f->again >= OCC_FOLLOW_AGAIN)
			continue;
		if (f->fresh && (f->late || !f->fed || f->limit > f->last.start)) {
			f->fresh = 0;
			f->again += f->late;
			occ_follow_feed(d, f, f->limit);
		}
	}
	return d->failed ? -1 : 0;
}

static void occ_follow_free(struct derive *d)
{
	for (size_t i = 0; i < d->nfollow; i++) {
		occ_free(&d->follow[i]->c);
		occ_buf_free(d, d->follow[i]);
		free(d->follow[i]);
	}
	free(d->follow);
	d->follow = NULL;
	d->nfollow = 0;
}

/*
 * The pass at the end: the followed objects get the rest of their
 * intervals; every other object is read in one go, skipping followed ones.
 */
static int object_pass(struct derive *d)
{
	for (size_t i = 0; i < d->nfollow && !d->failed; i++)
		occ_follow_feed(d, d->follow[i], INT64_MAX);
	struct occ_inputs in;
	struct occ c;
	memset(&c, 0, sizeof(c));
	int64_t from = INT64_MIN;
	while (!d->failed) {
		char where[64];
		snprintf(where, sizeof(where), "object_id >= %lld", (long long)from);
		if (occ_inputs_prep(d, &in, where, where)) {
			occ_inputs_free(&in);
			break;
		}
		occ_inputs_step(&in);
		int64_t skip = 0;
		while ((in.hv || in.wv) && !d->failed) {
			/* the next object: the smaller of the two streams' current objects */
			int64_t ho = in.hv ? sqlite3_column_int64(in.holds, 0) : INT64_MAX;
			int64_t wo = in.wv ? sqlite3_column_int64(in.waits, 0) : INT64_MAX;
			int64_t obj = ho < wo ? ho : wo;
			struct objinfo *o = obj_get(d, obj, 0);
			if (o && o->follow) {
				skip = obj; /* read already: go on past it */
				break;
			}
			occ_begin(d, &c, obj);
			occ_feed_rows(d, &c, &in, obj, NULL);
			occ_end(d, &c);
		}
		occ_inputs_free(&in);
		if (!skip)
			break;
		from = skip + 1;
	}
	occ_free(&c);
	rows_flush(d, &d->ospans);
	rows_flush(d, &d->osums);
	return d->failed ? -1 : 0;
}

static int write_stats(struct derive *d)
{
	sqlite3_stmt *st = prep(d, "INSERT INTO %s.object_stats VALUES(?,?,?,?,?,?,?)", d->schema);
	if (!st)
		return -1;
	for (size_t i = 0; i < d->nobj_cap; i++) {
		struct objinfo *o = &d->obj[i];
		if (!o->id || (!o->acquires && !o->max_hold))
			continue;
		sqlite3_bind_int64(st, 1, o->id);
		sqlite3_bind_int64(st, 2, o->acquires);
		sqlite3_bind_int64(st, 3, o->contended);
		sqlite3_bind_int64(st, 4, o->wait_total);
		sqlite3_bind_int64(st, 5, o->max_wait);
		if (o->max_wait_event)
			sqlite3_bind_int64(st, 6, o->max_wait_event);
		else
			sqlite3_bind_null(st, 6);
		sqlite3_bind_int64(st, 7, o->max_hold);
		step_done(d, st);
	}
	sqlite3_finalize(st);
	int64_t end = d->end_ns >= d->max_ts ? d->end_ns : d->max_ts;
	return exec(d,
		    "INSERT INTO %s.derived_info VALUES('version','" DERIVED_VERSION "'),"
		    "('events',%lld),('end_ns',%lld),('levels',%d),('level0_shift',%d),"
		    "('level_step_shift',%d),('long_hold_shift',%d)",
		    d->schema, (long long)d->events, (long long)end, STORE_SUM_LEVELS,
		    STORE_SUM_BASE_SHIFT, STORE_SUM_STEP_SHIFT, OCC_LONG_HOLD_SHIFT);
}

/* 1 when the derived tables the connection sees (temp first) are this version's. */
static int derived_current(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM derived_info WHERE key='version'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		found = v && !strcmp((const char *)v, DERIVED_VERSION);
	}
	sqlite3_finalize(st);
	return found;
}

/* clang-format off */
/* The derived tables made by CREATE TABLE here; the holds' are store_holdchunks_tables. */
static const char *const derived_plain_tables[] = {
    "thread_spans", "object_long_holds", "object_spans", "thread_summary", "object_summary",
    "point_events", "object_stats", "derived_info", "thread_life", "thread_event_blocks",
};
/* clang-format on */

int store_derived_table(const char *name)
{
	for (size_t i = 0; i < sizeof(derived_plain_tables) / sizeof(*derived_plain_tables); i++)
		if (!strcasecmp(name, derived_plain_tables[i]))
			return 1;
	for (size_t i = 0; i < STORE_HOLDCHUNKS_NTABLES; i++)
		if (!strcasecmp(name, store_holdchunks_tables[i]))
			return 1;
	return 0;
}

int store_build_derived(sqlite3 *db, char *err, size_t errlen)
{
	if (errlen)
		err[0] = 0;
	if (derived_current(db))
		return 0;
	/*
	 * A reader cannot write the trace: derive into the connection's temp
	 * schema, whose tables hide any older set in main.
	 */
	return store_build_derived_in(db, sqlite3_db_readonly(db, "main") == 1 ? "temp" : "main",
				      err, errlen);
}

/* The public handle: the pass's state. */
struct store_derive {
	struct derive d;
};

/* Everything but the connection, the schema and the error buffer. */
static void derive_reset(struct derive *d)
{
	for (size_t i = 0; i < d->nthr_cap; i++) {
		if (d->thr[i]) {
			store_holds_free(&d->thr[i]->holds);
			free(d->thr[i]->pend);
			free(d->thr[i]);
		}
	}
	free(d->thr);
	occ_follow_free(d);
	for (size_t i = 0; i < d->nobj_cap; i++)
		free(d->obj[i].kept);
	free(d->obj);
	free(d->pend);
	rows_free(&d->spans);
	rows_free(&d->late_holds);
	sqlite3_finalize(d->ins_chunk);
	free(d->kept_objs);
	free(d->chunk_buf);
	rows_free(&d->long_holds);
	rows_free(&d->ospans);
	rows_free(&d->blocks);
	rows_free(&d->tsums);
	sqlite3_finalize(d->ins_point);
	rows_free(&d->osums);
	sqlite3_finalize(d->ins_thread);
	sqlite3 *db = d->db;
	const char *schema = d->schema;
	char *err = d->err;
	size_t errlen = d->errlen;
	int failed = d->failed, unhurried = d->unhurried;
	memset(d, 0, sizeof(*d));
	d->unhurried = unhurried;
	d->db = db;
	d->schema = schema;
	d->err = err;
	d->errlen = errlen;
	d->failed = failed;
}

/* Drops any older set and makes the tables and statements. */
static int derive_start(struct derive *d)
{
	/*
	 * WEFT_TEST_FOLLOW_OBJECTS: the tests' way to follow every object with
	 * no margin, which makes late intervals (and reading objects again) common.
	 */
	int closely = getenv("WEFT_TEST_FOLLOW_OBJECTS") != NULL;
	d->follow_min = closely ? 1 : OCC_FOLLOW_MIN;
	d->follow_margin = closely ? 0 : OCC_FOLLOW_MARGIN_NS;
	d->follow_margin_min = closely ? 0 : OCC_FOLLOW_MARGIN_MIN_NS;
	d->follow_busy_rows = closely ? INT64_MAX : OCC_FOLLOW_BUSY_ROWS;
	/* A half-built set from an interrupted build is replaced as a whole. */
	for (size_t i = 0; i < sizeof(derived_plain_tables) / sizeof(*derived_plain_tables); i++)
		if (exec(d, "DROP TABLE IF EXISTS %s.%s;", d->schema, derived_plain_tables[i]))
			return -1;
	if (exec(d, "CREATE TABLE %s.derived_info(key TEXT PRIMARY KEY, value);", d->schema) ||
	    exec_holdchunks(d, store_holdchunks_drop_sql(d->schema)) || create_tables(d))
		return -1;
	rows_prep(d, &d->spans, "INSERT", "thread_spans", 6);
	/* a recursive mutex taken twice and let go twice within one clock tick */
	rows_prep(d, &d->late_holds, "INSERT OR IGNORE", "object_holds_late", 6);
	d->ins_chunk = prep(d, "INSERT INTO %s.object_hold_chunks VALUES(?,?,?,?,?)", d->schema);
	rows_prep(d, &d->long_holds, "INSERT OR IGNORE", "object_long_holds", 7);
	rows_prep(d, &d->ospans, "INSERT", "object_spans", 6);
	rows_prep(d, &d->blocks, "INSERT", "thread_event_blocks", 3);
	rows_prep(d, &d->tsums, "INSERT", "thread_summary", 8);
	d->ins_point = prep(d, "INSERT INTO %s.point_events VALUES(?,?,?,?,?,?)", d->schema);
	rows_prep(d, &d->osums, "INSERT", "object_summary", 7);
	d->ins_thread = prep(d, "INSERT INTO %s.thread_life VALUES(?,?,?,?,?)", d->schema);
	return d->failed ? -1 : 0;
}

struct store_derive *store_derive_begin(sqlite3 *db, const char *schema, char *err, size_t errlen)
{
	struct store_derive *sd = calloc(1, sizeof(*sd));
	if (!sd) {
		snprintf(err, errlen, "derived tables: out of memory");
		return NULL;
	}
	struct derive *d = &sd->d;
	/* the derive reads object_holds itself (the occupancy pass) */
	store_holdchunks_register(db);
	d->db = db;
	d->schema = schema;
	d->err = err;
	d->errlen = errlen;
	if (errlen)
		err[0] = 0;
	if (derive_start(d)) {
		store_derive_free(sd);
		return NULL;
	}
	return sd;
}

void store_derive_follow_counts(const struct store_derive *sd, int64_t *early, int64_t *at_end,
				int *again)
{
	*early = sd->d.fed_early;
	*at_end = sd->d.fed_at_end;
	*again = sd->d.occ_again;
}

void store_derive_unhurried(struct store_derive *sd)
{
	sd->d.unhurried = 1;
}

void store_derive_use_mirror(struct store_derive *sd, const struct store_mirror *m)
{
	sd->d.mirror = m;
}

static int derive_step(struct derive *d, int64_t last_id, int64_t moved_from);

int store_derive_events(struct store_derive *sd, int64_t last_id, int64_t moved_from,
			const struct store_event_tap *tap)
{
	struct derive *d = &sd->d;
	if (d->failed)
		return -1;
	d->tap = tap;
	int rc = derive_step(d, last_id, moved_from);
	d->tap = NULL;
	return rc;
}

static int derive_step(struct derive *d, int64_t last_id, int64_t moved_from)
{
	/* A record so late that it moved rows read already: start over now, not at the end. */
	if (d->streamed && moved_from <= d->last_id) {
		int restarts = d->restarts + 1;
		uint64_t cpu = d->cpu_events;
		const struct store_event_tap *tap = d->tap;
		derive_reset(d);
		d->restarts = restarts;
		d->cpu_events = cpu;
		d->tap = tap;
		if (derive_start(d))
			return -1;
	}
	if (last_id <= d->last_id)
		return 0;
	uint64_t t0 = store_debug_cpu_ns();
	int64_t before = d->events;
	/*
	 * Following a trace, the indexes grow with the rows: a little more per
	 * row while the program runs, instead of a sort of all of them after.
	 */
	if (!d->streamed && create_indexes(d))
		return -1;
	d->streamed = 1;
	/*
	 * While the trace is written, threads' rows hold their start (the writer
	 * writes it as soon as it knows it): what the first span of a thread not
	 * seen yet starts from, as in the full pass.
	 */
	if (load_objects(d) || load_trace_rows(d) || event_pass(d, last_id))
		return -1;
	/* a live view of the trace finds the holds up to about here */
	kept_write_all(d);
	d->streamed_rows += d->events - before;
	uint64_t t1 = store_debug_cpu_ns();
	d->cpu_events += t1 - t0;
	/*
	 * A step that read many rows is behind a busy writer, with which this
	 * thread shares a CPU while the program runs: the objects wait (they
	 * catch up at a quieter step, or at the end) rather than slow it more.
	 */
	if ((d->unhurried || d->events - before <= d->follow_busy_rows) && occ_follow_step(d))
		return -1;
	d->cpu_follow += store_debug_cpu_ns() - t1;
	return 0;
}

/*
 * What the rows read while streaming took for unknown (the threads' and
 * processes' rows are written when the trace ends): a thread started
 * while streaming got its start from its first event, where the full pass
 * would have taken an earlier start from its row. Then the streamed
 * result cannot stand. Otherwise the final ends replace the ones taken
 * from exit events, as the full pass has them.
 */
static int streamed_threads_hold(struct derive *d)
{
	if (load_trace_rows(d))
		return 0;
	/*
	 * The start the full pass gives each thread begun while streaming: its
	 * row's, else a main thread's process's (a process whose only event is
	 * its exit has no thread row).
	 */
	for (size_t i = 0; i < d->nthr_cap; i++) {
		struct thr *t = d->thr[i];
		if (!t || !t->started)
			continue;
		int64_t start = t->row_start;
		if (start < 0 && t->pid == t->tid) {
			struct pend *pe = pend_get(d, t->pid, 0);
			start = pe ? pe->start : -1;
		}
		if (start >= 0 && start < t->start)
			return 0;
	}
	return 1;
}

int store_derive_finish(struct store_derive *sd, int64_t moved_from)
{
	struct derive *d = &sd->d;
	const char *why = NULL;
	if (d->failed)
		return -1;
	uint64_t t0 = store_debug_cpu_ns();
	if (d->streamed) {
		if (moved_from <= d->last_id) {
			why = "rows read were moved or changed since";
			store_debug("derive", "derive: rows from %lld on moved, %lld read",
				    (long long)moved_from, (long long)d->last_id);
		} else if (d->unknown_objs)
			why = "events read before their object's row";
		else if (!streamed_threads_hold(d))
			why = "a thread's row starts before its first event";
		if (why || d->failed) {
			derive_reset(d);
			if (derive_start(d))
				return -1;
		} else {
			/*
			 * The collector fills in exit statuses and spawned pids once the
			 * processes are reaped: the streamed point events take them.
			 */
			exec(d,
			     "UPDATE %s.point_events SET arg = (SELECT arg FROM main.ev"
			     " WHERE ev.id = point_events.id) WHERE kind IN (%d, %d)",
			     d->schema, WEFT_EV_PROCESS_EXIT, WEFT_EV_PROCESS_SPAWN);
		}
	}
	int64_t streamed = why ? 0 : d->streamed_rows;
	if (!d->streamed || why) {
		d->streamed = 0;
		if (load_threads_objects(d))
			return -1;
	} else if (load_objects(d)) {
		return -1;
	}
	if (event_pass(d, INT64_MAX))
		return -1;
	finish_threads(d);
	rows_flush(d, &d->spans);
	rows_flush(d, &d->tsums);
	kept_write_all(d);
	rows_flush(d, &d->long_holds);
	rows_flush(d, &d->blocks);
	if (d->failed)
		return -1;
	uint64_t t1 = store_debug_cpu_ns();
	/* The occupancy pass reads its inputs in (object, start) order from these indexes. */
	if (create_indexes(d))
		return -1;
	uint64_t t2 = store_debug_cpu_ns();
	if (object_pass(d) || write_stats(d))
		return -1;
	store_debug(
	    "derive",
	    "derive (CPU): event pass %.2f s (%lld of %lld events while the trace was"
	    " written, after %d fresh starts%s%s), indexes %.2f s, object pass %.2f s"
	    " (%zu objects followed while written, %lld of their %lld intervals then, in"
	    " %.2f s; %d read again); rows from the writer's memory %lld, from the table %lld;"
	    " holds: %lld in %lld chunks, %lld late rows",
	    (d->cpu_events + t1 - t0) / 1e9, (long long)streamed, (long long)d->events, d->restarts,
	    why ? "; read again: " : "", why ? why : "", (t2 - t1) / 1e9,
	    (store_debug_cpu_ns() - t2) / 1e9, d->nfollow, (long long)d->fed_early,
	    (long long)(d->fed_early + d->fed_at_end), d->cpu_follow / 1e9, d->occ_again,
	    (long long)d->rows_mirrored, (long long)d->rows_read, (long long)d->chunk_holds,
	    (long long)d->chunks, (long long)d->late_rows);
	return 0;
}

void store_derive_free(struct store_derive *sd)
{
	struct derive *d = &sd->d;
	if (!d)
		return;
	derive_reset(d);
	free(d);
}

int store_build_derived_in(sqlite3 *db, const char *schema, char *err, size_t errlen)
{
	/*
	 * One transaction: statement by statement, every 64-row INSERT was a
	 * commit of its own, and in temp a journal truncated each time (on
	 * the OpenSSL burst's trace half of a report's time went to pwrite
	 * and ftruncate).
	 */
	int own =
	    sqlite3_get_autocommit(db) && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	struct store_derive *d = store_derive_begin(db, schema, err, errlen);
	int rc = d ? store_derive_finish(d, INT64_MAX) : -1;
	if (own && sqlite3_exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	if (rc && d && errlen && !err[0])
		snprintf(err, errlen, "derived tables: %s", sqlite3_errmsg(db));
	store_derive_free(d);
	return rc;
}
