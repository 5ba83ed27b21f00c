/*
 * The predictive data-race detector for Python code (`weft run --races`).
 *
 * The Python bootstrap rewrites the user's modules at import time so each
 * read or write of shared state (dict items, object attributes, module
 * globals) goes through one of the m_* functions below, which performs the
 * access and checks it against a shadow cell for that location.
 *
 * Happens-before is kept with vector clocks, FastTrack style: each thread
 * has a clock vector, each synchronization object the join of what its
 * releasers knew. Releases are lock unlocks, queue puts, Event.set,
 * Condition.notify, Semaphore.release and Thread.start/end; acquires the
 * matching operations. The GIL is never a synchronization here: every
 * hand-off would order everything and hide every race. Two accesses to a
 * location race when at least one writes and neither happens before the
 * other, whichever order this run happened to interleave them in: that is
 * what makes the detector predictive.
 *
 * Concurrency: every access check runs with the GIL held (it is called from
 * Python code), so the shadow cells, the object table and the site table
 * need no lock. Synchronization events also arrive from lock hooks without
 * the GIL (a blocking acquire returns before the thread takes the GIL back);
 * they touch only the caller's own clock and the objects' clocks, which one
 * spin lock guards, held for a vector copy and never around a blocking call.
 */
#include "preload/preload.h"
#include "preload/pyapi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define py weft_py

/*
 * The Python layer's frames: it registers them at its start-up, before
 * the bootstrap can turn the detector on (it calls this file, never the
 * reverse).
 */
static struct weft_python_frames python;

void weft_races_frames_from(const struct weft_python_frames *frames)
{
	python = *frames;
}

/*
 * The detector's own work begins on this thread: the lock hooks and the
 * accesses it reaches until races_leave are not the program's. On success
 * returns 1; 0 when this thread is inside already (nothing began then).
 */
static inline int races_enter(void)
{
	if (weft_tls.in_races)
		return 0;
	weft_tls.in_races = 1;
	return 1;
}

static inline void races_leave(void)
{
	weft_tls.in_races = 0;
}

/* ---- sizes ----------------------------------------------------------------------- */

#define RT_MAX 256	     /* thread indices live at once */
#define SYNC_CAP (1u << 16)  /* synchronization objects with a clock */
#define OBJ_CAP (1u << 20)   /* objects with shadow cells, live at once */
#define CELL_SETS (1u << 16) /* 4-way sets of shadow cells */
#define CELL_WAYS 4
#define CELL_READS 3		 /* concurrent readers remembered per location */
#define SITE_CAP (1u << 18)	 /* instrumented access sites */
#define HELD_MAX 4		 /* locks reported per access */
#define HELDSET_CAP (1u << 12)	 /* distinct sets of held locks */
#define PAIR_CAP (1u << 14)	 /* distinct racing site pairs */
#define FULL_REPORTS_PER_PAIR 16 /* later repeats are counted, not detailed */
#define STACK_WORDS 32		 /* Python frames kept per (thread, site) */
#define STACK_CACHE (1u << 14)

/* ---- per-thread state -------------------------------------------------------------- */

struct rthread {
	uint16_t idx;
	uint32_t held_id; /* interned set of the locks held now */
	int nheld;
	const void *held[16];
	uint32_t vc[RT_MAX];
};

static int rlock_word;
static uint32_t idx_used[RT_MAX], idx_last_clock[RT_MAX];
static int idx_tid[RT_MAX];
static unsigned width = 1; /* highest index ever given + 1: the part of vectors in use */
static unsigned next_idx;
static struct rthread pool[RT_MAX]; /* by thread index */

static void rlock(void)
{
	while (__atomic_exchange_n(&rlock_word, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&rlock_word, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void runlock(void)
{
	__atomic_store_n(&rlock_word, 0, __ATOMIC_RELEASE);
}

static void *big_zeroed(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Shadow tables are read at random: huge pages save a page fault and a TLB miss each. */
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

/*
 * The calling thread's detector state, made on first use. A new thread's
 * own clock continues where the last user of its index stopped, so epochs
 * of different threads never repeat. NULL when all indices are taken.
 */
static struct rthread *me(void)
{
	struct weft_tls *t = &weft_tls;
	if (WEFT_LIKELY(t->races != NULL))
		return t->races;
	if (t->races_none)
		return NULL;
	rlock();
	/*
	 * Indices go round: a thread that reused the index of one that just
	 * ended would take that thread's accesses for its own and miss every
	 * race between the two.
	 */
	unsigned i = RT_MAX;
	for (unsigned k = 0; k < RT_MAX; k++) {
		unsigned j = (next_idx + k) % RT_MAX;
		if (!idx_used[j]) {
			i = j;
			next_idx = j + 1;
			break;
		}
	}
	struct rthread *r = NULL;
	if (i < RT_MAX) {
		/* From a static pool, not malloc: this may run in a signal handler's sem_post. */
		r = &pool[i];
		memset(r, 0, sizeof(*r));
		idx_used[i] = 1;
		idx_tid[i] = t->tid;
		if (i + 1 > width)
			width = i + 1;
		r->idx = (uint16_t)i;
		r->vc[i] = idx_last_clock[i] + 1;
	}
	runlock();
	if (!r) {
		t->races_none = 1;
		return NULL;
	}
	t->races = r;
	return r;
}

/* The calling thread ends: its thread index is free again. */
static void thread_end(void)
{
	struct weft_tls *t = &weft_tls;
	struct rthread *r = t->races;
	if (!r)
		return;
	rlock();
	idx_last_clock[r->idx] = r->vc[r->idx];
	idx_used[r->idx] = 0;
	runlock();
	t->races = NULL;
}

/* ---- synchronization clocks ---------------------------------------------------------- */

static uintptr_t *sync_keys;
static uint32_t (*sync_vc)[RT_MAX];
static unsigned sync_count;
static int sync_ready;

#define SYNC_TOMB ((uintptr_t)1) /* a forgotten object: lookups go on, inserts may reuse it */

static size_t sync_hash(uintptr_t key)
{
	return (size_t)((key >> 3) * 0x9e3779b97f4a7c15ull >> 32) & (SYNC_CAP - 1);
}

static uint32_t *sync_find(uintptr_t key, int create)
{
	size_t h = sync_hash(key);
	long reuse = -1;
	for (unsigned n = 0; n < 64; n++, h = (h + 1) & (SYNC_CAP - 1)) {
		if (sync_keys[h] == key)
			return sync_vc[h];
		if (sync_keys[h] == SYNC_TOMB && reuse < 0)
			reuse = (long)h;
		if (!sync_keys[h])
			break;
	}
	if (!create)
		return NULL;
	if (reuse < 0) {
		if (sync_keys[h] || sync_count >= SYNC_CAP * 3 / 4)
			return NULL;
		reuse = (long)h;
		sync_count++;
	}
	sync_keys[reuse] = key;
	return sync_vc[reuse];
}

/*
 * A synchronization object died: a new one at its address must not hand
 * out the old one's history (a per-thread lock made at a reused address
 * would order threads that never synchronized). Cheap when the address
 * never synchronized anything: one unlocked probe.
 */
static void sync_forget(uintptr_t key)
{
	if (!sync_ready || !sync_count)
		return;
	size_t h = sync_hash(key);
	unsigned n = 0;
	while (n < 64 && __atomic_load_n(&sync_keys[h], __ATOMIC_RELAXED) != key) {
		if (!__atomic_load_n(&sync_keys[h], __ATOMIC_RELAXED))
			return;
		h = (h + 1) & (SYNC_CAP - 1);
		n++;
	}
	if (n == 64)
		return;
	rlock();
	if (sync_keys[h] == key) {
		memset(sync_vc[h], 0, sizeof(sync_vc[h]));
		sync_keys[h] = SYNC_TOMB;
	}
	runlock();
}

void weft_races_sync_destroyed(const void *obj)
{
	if (!races_enter())
		return;
	sync_forget((uintptr_t)obj);
	races_leave();
}

/* The caller's clock flows into obj (a release), or obj's into the caller's (an acquire). */
static void hb(struct rthread *r, int acquire, uintptr_t key)
{
	if (!key || !sync_ready)
		return;
	rlock();
	uint32_t *v = sync_find(key, !acquire);
	unsigned w = width;
	if (v) {
		if (acquire) {
			for (unsigned i = 0; i < w; i++)
				if (v[i] > r->vc[i])
					r->vc[i] = v[i];
		} else {
			for (unsigned i = 0; i < w; i++)
				if (r->vc[i] > v[i])
					v[i] = r->vc[i];
		}
	}
	runlock();
	if (!acquire)
		r->vc[r->idx]++;
}

/* ---- the locks a thread holds --------------------------------------------------------- */

struct heldset {
	uint64_t hash;
	uint8_t n;
	uintptr_t lock[HELD_MAX];
};
static struct heldset *heldsets; /* [0] is the empty set */
static unsigned nheldsets = 1;

static uint32_t intern_held(const struct rthread *r)
{
	if (!r->nheld)
		return 0;
	struct heldset s = {0};
	s.n = (uint8_t)(r->nheld < HELD_MAX ? r->nheld : HELD_MAX);
	for (int i = 0; i < s.n; i++) /* the innermost locks are the telling ones */
		s.lock[i] = (uintptr_t)r->held[r->nheld - 1 - i];
	s.hash = 1469598103934665603ull;
	for (int i = 0; i < s.n; i++)
		s.hash = (s.hash ^ s.lock[i]) * 1099511628211ull;
	rlock();
	uint32_t id = 0;
	for (unsigned i = 1; i < nheldsets; i++)
		if (heldsets[i].hash == s.hash && !memcmp(&heldsets[i], &s, sizeof(s))) {
			id = i;
			break;
		}
	if (!id && nheldsets < HELDSET_CAP) {
		heldsets[nheldsets] = s;
		id = nheldsets++;
	}
	runlock();
	return id;
}

static void held_push(struct rthread *r, const void *lock)
{
	if (r->nheld < (int)(sizeof(r->held) / sizeof(r->held[0])))
		r->held[r->nheld++] = lock;
	r->held_id = intern_held(r);
}

static void held_pop(struct rthread *r, const void *lock)
{
	for (int i = r->nheld - 1; i >= 0; i--)
		if (r->held[i] == lock) {
			memmove(&r->held[i], &r->held[i + 1],
				(size_t)(r->nheld - 1 - i) * sizeof(void *));
			r->nheld--;
			r->held_id = intern_held(r);
			return;
		}
}

/* ---- whose synchronization it is ------------------------------------------------------ */

/*
 * Only the program's own synchronization orders threads: the locks its
 * code takes, and the hand-offs it sees (a put before the get of the item,
 * Event, join...). The internal locks of queues, executors and other
 * library code order nothing: two tasks of one pool are not ordered by the
 * pool's bookkeeping, whatever the scheduling did this run. A lock
 * operation is the program's when the innermost Python frame, past the
 * transparent ones (threading.py, which implements Condition, Barrier and
 * join for its caller, and weft's bootstrap), is instrumented code.
 */
enum { CODE_UNKNOWN, CODE_USER, CODE_TRANSPARENT, CODE_LIBRARY };
#define CODESET_CAP (1u << 16)
#define CODE_IDS (1u << 16)
static struct {
	uintptr_t code;
	uint8_t kind;
} * codeset;
static uint8_t *code_kind_by_id; /* CODE_* by the frame words' code id */

static size_t codeset_slot(uintptr_t code)
{
	size_t h = (size_t)((code >> 4) * 0x9e3779b97f4a7c15ull >> 40) & (CODESET_CAP - 1);
	for (unsigned n = 0; n < CODESET_CAP; n++, h = (h + 1) & (CODESET_CAP - 1))
		if (!codeset[h].code || codeset[h].code == code)
			return h;
	return CODESET_CAP;
}

static int code_kind(uint32_t id)
{
	if (id >= CODE_IDS)
		return CODE_USER;
	if (!code_kind_by_id[id]) {
		uintptr_t code = (uintptr_t)python.code_object(id);
		size_t h = code ? codeset_slot(code) : CODESET_CAP;
		/* A code past python.c's table cannot be told: it orders (a missed race, not a
		 * false one). */
		code_kind_by_id[id] = !code				   ? CODE_USER
				      : h < CODESET_CAP && codeset[h].code ? codeset[h].kind
									   : CODE_LIBRARY;
	}
	return code_kind_by_id[id];
}

/* Whether the calling thread's synchronization now is the program's own. */
static int program_sync(void)
{
	void *pcs[12];
	int was_guarded = weft_enter();
	int n = python.stack_full(pcs, 12);
	weft_leave(was_guarded);
	for (int i = 0; i < n; i++) {
		uint64_t w = (uint64_t)(uintptr_t)pcs[i];
		if (!(w & WEFT_PYFRAME_BIT))
			continue;
		int k = code_kind((uint32_t)WEFT_PYFRAME_CODE(w));
		if (k != CODE_TRANSPARENT)
			return k == CODE_USER;
	}
	return 1; /* no Python caller (a thread's start or end): the interpreter's own hand-off */
}

static PyObject *ret_none(void);

/* _weft_uc(code, kind): code (not its nested codes) is the program's (1) or transparent (2). */
static PyObject *m_uc(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 2 || !codeset)
		return ret_none();
	long long kind = py.PyLong_AsLongLong(args[1]);
	size_t h = codeset_slot((uintptr_t)args[0]);
	if (h < CODESET_CAP && (kind == CODE_USER || kind == CODE_TRANSPARENT)) {
		py.Py_IncRef(args[0]); /* kept: its address must not name another code */
		codeset[h].code = (uintptr_t)args[0];
		codeset[h].kind = (uint8_t)kind;
	}
	if (py.PyErr_Occurred())
		py.PyErr_Clear();
	return ret_none();
}

/*
 * A lock operation from the pthread/semaphore hooks (any thread, GIL or
 * not). Signal handlers and the recorder's own calls are left out: they
 * could arrive while this thread holds the detector's spin lock.
 */
void weft_races_sync(int acquire, const void *obj, int lock_like)
{
	struct weft_tls *t = &weft_tls;
	if (t->internal || !sync_ready || !races_enter())
		return;
	struct rthread *r = me();
	if (r) {
		int orders = program_sync();
		if (acquire) {
			if (orders)
				hb(r, 1, (uintptr_t)obj);
			if (lock_like)
				held_push(r, obj);
		} else {
			if (lock_like)
				held_pop(r, obj);
			if (orders)
				hb(r, 0, (uintptr_t)obj);
		}
	}
	races_leave();
}

/* ---- access sites ---------------------------------------------------------------------- */

/* Access flags (enum weft_race_access): they travel to the trace as they are. */
#define ACC_READ WEFT_ACC_READ
#define ACC_WRITE WEFT_ACC_WRITE
#define ACC_ATOMIC WEFT_ACC_ATOMIC /* one interpreter operation (setdefault, pop) */
#define ACC_RMW WEFT_ACC_RMW	   /* read and write of one location in one statement */
#define ACC_MISS WEFT_ACC_MISS	   /* a read that found nothing (get -> default, KeyError) */
#define ACC_CTA WEFT_ACC_CTA	   /* a write after this thread's missed read, same function */
#define ACC_CHECK WEFT_ACC_CHECK   /* len() or membership of a whole container */

enum { SITE_ITEM = 1, SITE_ATTR = 2, SITE_GLOBAL = 3 };

struct site {
	uint32_t func;		  /* function scope id from the instrumenter */
	uint8_t what;		  /* SITE_* */
	uint8_t acc;		  /* ACC_* this site does */
	char *text;		  /* the container expression as written (items) */
	uint8_t seen[RT_MAX / 8]; /* thread indices whose stack here is cached */
};
static struct site *sites;
static uint32_t nsites = 1;

struct stack_entry {
	uint32_t key; /* site << 8 | thread index, + 1 */
	uint8_t n;
	uint64_t words[STACK_WORDS];
};
static struct stack_entry *stacks;

static struct stack_entry *stack_slot(uint32_t site, unsigned idx, int create)
{
	uint32_t key = (site << 8 | idx) + 1;
	size_t h = (size_t)(key * 0x9e3779b1u) & (STACK_CACHE - 1);
	for (unsigned n = 0; n < 32; n++, h = (h + 1) & (STACK_CACHE - 1)) {
		if (stacks[h].key == key)
			return &stacks[h];
		if (!stacks[h].key) {
			if (!create)
				return NULL;
			stacks[h].key = key;
			return &stacks[h];
		}
	}
	return NULL;
}

/* The full Python stack of the calling thread, as ring frame words. */
static int capture(uint64_t *words, int max)
{
	void *pcs[STACK_WORDS];
	int was_guarded = weft_enter();
	int n = python.stack_full(pcs, max < STACK_WORDS ? max : STACK_WORDS);
	weft_leave(was_guarded);
	for (int i = 0; i < n; i++)
		words[i] = (uint64_t)(uintptr_t)pcs[i];
	return n;
}

/* The first time a thread reaches a site, keep its stack: it names the earlier side of a race. */
static void note_stack(uint32_t site, unsigned idx)
{
	struct site *s = &sites[site];
	if (s->seen[idx / 8] & (1u << (idx % 8)))
		return;
	s->seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
	struct stack_entry *e = stack_slot(site, idx, 1);
	if (e)
		e->n = (uint8_t)capture(e->words, STACK_WORDS);
}

/* ---- shadow memory ---------------------------------------------------------------------- */

/*
 * Objects are known by address, and an address is reused once its object
 * dies. Each object gets a serial number the first time it is accessed;
 * the deallocators of dict, list and object drop it, so a new object at
 * the same address starts with fresh cells.
 */
static uintptr_t *obj_keys;
static uint64_t *obj_serial;
static unsigned obj_count;
static uint64_t next_serial = 1;

static size_t obj_hash(uintptr_t k)
{
	return (size_t)((k >> 4) * 0x9e3779b97f4a7c15ull >> 40) & (OBJ_CAP - 1);
}

static uint64_t serial_lookup(uintptr_t k);

/* The objects accessed last, by address: most accesses skip the big table. */
static struct {
	uintptr_t key;
	uint64_t serial;
} recent[512];

static uint64_t serial_of(PyObject *o)
{
	uintptr_t k = (uintptr_t)o;
	size_t r = (k >> 4) & 511;
	if (recent[r].key == k)
		return recent[r].serial;
	uint64_t s = serial_lookup(k);
	if (s) {
		recent[r].key = k;
		recent[r].serial = s;
	}
	return s;
}

static uint64_t serial_lookup(uintptr_t k)
{
	size_t h = obj_hash(k);
	for (;; h = (h + 1) & (OBJ_CAP - 1)) {
		if (obj_keys[h] == k)
			return obj_serial[h];
		if (!obj_keys[h])
			break;
	}
	if (obj_count >= OBJ_CAP * 3 / 4)
		return 0;
	obj_keys[h] = k;
	obj_serial[h] = next_serial++;
	obj_count++;
	return obj_serial[h];
}

/* Linear-probing delete that moves later entries back: no tombstones. */
static void forget(PyObject *o)
{
	uintptr_t k = (uintptr_t)o;
	if (recent[(k >> 4) & 511].key == k)
		recent[(k >> 4) & 511].key = 0;
	if (!obj_count)
		return;
	size_t h = obj_hash(k);
	while (obj_keys[h] != k) {
		if (!obj_keys[h])
			return;
		h = (h + 1) & (OBJ_CAP - 1);
	}
	obj_keys[h] = 0;
	obj_count--;
	for (size_t j = (h + 1) & (OBJ_CAP - 1); obj_keys[j]; j = (j + 1) & (OBJ_CAP - 1)) {
		size_t home = obj_hash(obj_keys[j]);
		/* Move j back into the hole when its home is not inside (h, j]. */
		if (((j - home) & (OBJ_CAP - 1)) >= ((j - h) & (OBJ_CAP - 1))) {
			obj_keys[h] = obj_keys[j];
			obj_serial[h] = obj_serial[j];
			obj_keys[j] = 0;
			h = j;
		}
	}
}

typedef void (*destructor_fn)(PyObject *);
static destructor_fn orig_dict_dealloc, orig_list_dealloc, orig_object_dealloc;
static destructor_fn orig_set_dealloc, orig_deque_dealloc;
static PyObject *set_type, *deque_type, *attribute_error;

static void set_dealloc_hook(PyObject *o)
{
	forget(o);
	orig_set_dealloc(o);
}

static void deque_dealloc_hook(PyObject *o)
{
	forget(o);
	orig_deque_dealloc(o);
}

static void dict_dealloc_hook(PyObject *o)
{
	forget(o);
	orig_dict_dealloc(o);
}

static void list_dealloc_hook(PyObject *o)
{
	forget(o);
	orig_list_dealloc(o);
}

static void object_dealloc_hook(PyObject *o)
{
	forget(o);
	/* Queues, Events, Conditions and Threads synchronize under their id(). */
	sync_forget((uintptr_t)o);
	sync_forget((uintptr_t)o + 1);
	orig_object_dealloc(o);
}

struct access {
	uint32_t clock;
	uint16_t idx;
	uint16_t flags; /* ACC_*; 0: empty */
	uint32_t site;
	uint32_t held;
	uint64_t ts;
	uint32_t told; /* thread indices (mod 32) this access was reported to already */
};

struct cell {
	uint64_t serial, key;
	uint64_t stamp; /* last use, for eviction */
	struct access w;
	struct access r[CELL_READS];
	/*
	 * Another thread's read that missed, which a later store ordered and
	 * dropped: if that thread stores the key next, its check was stale.
	 */
	struct access missed;
};
static struct cell *cells;
static uint64_t cell_clock;

static struct cell *cell_for(uint64_t serial, uint64_t key)
{
	/*
	 * An object's cells stay within a window of 1024 sets: a loop over one
	 * dict touches a few hundred kilobytes, not pages all over the table.
	 */
	size_t base = (size_t)((serial * 0x9e3779b97f4a7c15ull) >> 40);
	size_t off = (size_t)((key * 0xc2b2ae3d27d4eb4full) >> 54);
	struct cell *set = &cells[((base + off) % CELL_SETS) * CELL_WAYS];
	struct cell *victim = &set[0];
	for (int i = 0; i < CELL_WAYS; i++) {
		if (set[i].serial == serial && set[i].key == key) {
			set[i].stamp = ++cell_clock;
			return &set[i];
		}
		if (set[i].stamp < victim->stamp)
			victim = &set[i];
	}
	/* Forgetting the least recently used location can only miss races, never invent them. */
	memset(victim, 0, sizeof(*victim));
	victim->serial = serial;
	victim->key = key;
	victim->stamp = ++cell_clock;
	return victim;
}

/* ---- reporting ---------------------------------------------------------------------- */

struct pair {
	uint64_t key;
	uint32_t count;
};
static struct pair *pairs;

static uint32_t pair_bump(uint32_t a, uint32_t b, int rule)
{
	if (a > b) {
		uint32_t x = a;
		a = b;
		b = x;
	}
	uint64_t key = ((uint64_t)a << 34 | (uint64_t)b << 4 | (uint64_t)rule) + 1;
	size_t h = (size_t)(key * 0x9e3779b97f4a7c15ull >> 40) & (PAIR_CAP - 1);
	for (unsigned n = 0; n < PAIR_CAP; n++, h = (h + 1) & (PAIR_CAP - 1)) {
		if (pairs[h].key == key)
			return ++pairs[h].count;
		if (!pairs[h].key) {
			pairs[h].key = key;
			return pairs[h].count = 1;
		}
	}
	return FULL_REPORTS_PER_PAIR + 1; /* table full: still counted, without detail */
}

static int rule_of(const struct access *a, const struct access *b)
{
	int f = a->flags | b->flags;
	if (f & ACC_RMW)
		return WEFT_RACE_LOST_UPDATE;
	/* The writer itself checked and missed first (getitem): both threads can miss. */
	if (f & ACC_CTA)
		return WEFT_RACE_CHECK_THEN_ACT;
	if ((a->flags & ACC_WRITE) && (b->flags & ACC_WRITE))
		return WEFT_RACE_WRITE_WRITE;
	return WEFT_RACE_READ_WRITE;
}

static void type_name_of(PyObject *o, char *buf, size_t len)
{
	PyObject *tp = weft_py_type(o) == py.PyType_Type ? o : weft_py_type(o);
	PyObject *n = py.PyObject_GetAttrString(tp, "__name__");
	const char *s = n ? py.PyUnicode_AsUTF8(n) : NULL;
	snprintf(buf, len, "%s", s ? s : "?");
	if (!s)
		py.PyErr_Clear();
	if (n)
		py.Py_DecRef(n);
}

/* repr() of builtin keys only: a user's __repr__ must not run inside the detector. */
static void key_repr(PyObject *k, char *buf, size_t len)
{
	PyObject *tp = weft_py_type(k);
	if (tp == py.PyUnicode_Type || tp == py.PyLong_Type || tp == py.PyFloat_Type ||
	    tp == py.PyBytes_Type || tp == py.PyBool_Type || tp == py.PyTuple_Type ||
	    k == py.none) {
		PyObject *r = py.PyObject_Repr(k);
		const char *s = r ? py.PyUnicode_AsUTF8(r) : NULL;
		if (s) {
			size_t l = strlen(s);
			if (l > 40)
				snprintf(buf, len, "%.37s...", s);
			else
				snprintf(buf, len, "%s", s);
		} else {
			py.PyErr_Clear();
			snprintf(buf, len, "?");
		}
		if (r)
			py.Py_DecRef(r);
		return;
	}
	char tn[40];
	type_name_of(k, tn, sizeof(tn));
	snprintf(buf, len, "<%s object>", tn);
}

/*
 * What the finding calls the location, as the user wrote it: cache['k1'],
 * self.free (a whole container), Counter.value, app.hits. An item's key is
 * set apart by LABEL_KEY_SEP: findings group the keys of one variable.
 */
#define LABEL_KEY_SEP "\x1f"
static void label_of(const struct site *s, PyObject *container, PyObject *key, char *buf,
		     size_t len)
{
	char a[128], b[64];
	if (s->what == SITE_ITEM && !key) {
		snprintf(buf, len, "%s", s->text ? s->text : "?");
	} else if (s->what == SITE_ITEM) {
		key_repr(key, b, sizeof(b));
		snprintf(buf, len, "%s" LABEL_KEY_SEP "[%s]", s->text ? s->text : "?", b);
	} else if (s->what == SITE_GLOBAL || weft_py_type(container) == py.PyModule_Type) {
		PyObject *g = s->what == SITE_GLOBAL ? container : py.PyModule_GetDict(container);
		PyObject *mn = g ? py.PyDict_GetItemString(g, "__name__") : NULL; /* borrowed */
		const char *m = mn ? py.PyUnicode_AsUTF8(mn) : NULL;
		if (!m)
			py.PyErr_Clear();
		const char *kn = py.PyUnicode_AsUTF8(key);
		if (!kn)
			py.PyErr_Clear();
		snprintf(buf, len, "%s.%s", m ? m : "?", kn ? kn : "?");
	} else {
		type_name_of(container, a, sizeof(a));
		const char *kn = py.PyUnicode_AsUTF8(key);
		if (!kn)
			py.PyErr_Clear();
		snprintf(buf, len, "%s.%s", a, kn ? kn : "?");
	}
}

/* Writes one race record: the current access with its stack, the earlier one with its. */
static void report_rule(const struct access *other, const struct access *cur, PyObject *container,
			PyObject *key, int rule)
{
	uint32_t n = pair_bump(other->site, cur->site, rule);
	struct {
		struct weft_race_wire h;
		uint64_t words[2 * HELD_MAX + STACK_WORDS + 64];
	} msg;
	memset(&msg.h, 0, sizeof(msg.h));
	msg.h.rule = (uint8_t)rule;
	msg.h.cur_flags = cur->flags;
	msg.h.other_flags = other->flags;
	msg.h.cur_site = cur->site;
	msg.h.other_site = other->site;
	uint64_t now = weft_now();
	uint64_t ago = other->ts < now ? now - other->ts : 0;
	int other_tid = idx_tid[other->idx];
	uint32_t len = sizeof(msg.h);
	if (n > FULL_REPORTS_PER_PAIR) {
		msg.h.light = 1;
		weft_record_frames(&(struct weft_event){.kind = WEFT_REC_PY_RACE,
							.ts = now,
							.wait = ago,
							.arg = other_tid,
							.payload = &msg,
							.payload_len = len},
				   NULL, 0);
		return;
	}
	/* Reporting calls into Python: an exception of the access itself waits meanwhile. */
	PyObject *et = NULL, *ev = NULL, *etb = NULL;
	py.PyErr_Fetch(&et, &ev, &etb);
	unsigned w = 0;
	const struct heldset *hc = &heldsets[cur->held < nheldsets ? cur->held : 0];
	const struct heldset *ho = &heldsets[other->held < nheldsets ? other->held : 0];
	for (int i = 0; i < hc->n; i++)
		msg.words[w++] = hc->lock[i];
	for (int i = 0; i < ho->n; i++)
		msg.words[w++] = ho->lock[i];
	msg.h.cur_nheld = hc->n;
	msg.h.other_nheld = ho->n;
	struct stack_entry *se = stack_slot(other->site, other->idx, 0);
	if (se && se->n) {
		memcpy(&msg.words[w], se->words, se->n * 8);
		python.define_frames(se->words, se->n);
		msg.h.other_nframes = se->n;
		w += se->n;
	}
	char *label = (char *)&msg.words[w];
	/* Both sides' texts may differ (cache, self.cache): one pair of sites always says one. */
	const struct site *ls = &sites[cur->site];
	if (other->site < cur->site && ls->what == SITE_ITEM &&
	    sites[other->site].what == SITE_ITEM && sites[other->site].text)
		ls = &sites[other->site];
	label_of(ls, container, key, label, 64 * 8);
	len += w * 8 + (uint32_t)strlen(label) + 1;
	uint64_t frames[STACK_WORDS];
	int nf = capture(frames, STACK_WORDS);
	void *pcs[STACK_WORDS];
	for (int i = 0; i < nf; i++)
		pcs[i] = (void *)(uintptr_t)frames[i];
	weft_record_frames(&(struct weft_event){.kind = WEFT_REC_PY_RACE,
						.ts = now,
						.wait = ago,
						.arg = other_tid,
						.payload = &msg,
						.payload_len = len},
			   pcs, nf);
	py.PyErr_Restore(et, ev, etb);
}

/* A race of other and cur, the rule from their flags. */
static void report(const struct access *other, const struct access *cur, PyObject *container,
		   PyObject *key)
{
	report_rule(other, cur, container, key, rule_of(other, cur));
}

static int visible(const struct rthread *r, const struct access *a)
{
	return a->idx == r->idx || a->clock <= r->vc[a->idx];
}

/* One report per earlier access and thread: a loop re-reading a racy key says it once. */
static int first_time(const struct rthread *r, struct access *a)
{
	uint32_t bit = 1u << (r->idx % 32);
	if (a->told & bit)
		return 0;
	a->told |= bit;
	return 1;
}

/* The FastTrack check of one access against its location's cell, then the cell's update. */
static void check(struct rthread *r, struct cell *c, uint32_t site, int flags, PyObject *container,
		  PyObject *key)
{
	if (key) /* a whole container's access has its flags from its method, not its site */
		flags |= sites[site].acc;
	struct access a = {r->vc[r->idx], r->idx, (uint16_t)flags, site, r->held_id, weft_now(), 0};
	note_stack(site, r->idx);
	if (!(flags & ACC_WRITE)) {
		/* A read: against the last write. Reads never race with atomic writes. */
		if (c->w.flags && !visible(r, &c->w) && !(c->w.flags & ACC_ATOMIC) &&
		    first_time(r, &c->w))
			report(&c->w, &a, container, key);
		int slot = -1;
		for (int i = 0; i < CELL_READS && slot < 0; i++)
			if (!c->r[i].flags || c->r[i].idx == r->idx || visible(r, &c->r[i]))
				slot = i;
		if (slot < 0) {
			slot = 0;
			for (int i = 1; i < CELL_READS; i++)
				if (c->r[i].ts < c->r[slot].ts)
					slot = i;
		}
		/* another thread's miss this read orders and replaces: kept, as a store's drop
		 * keeps it */
		struct access *old = &c->r[slot];
		if (old->flags && old->idx != r->idx && (old->flags & ACC_MISS) && visible(r, old))
			c->missed = *old;
		c->r[slot] = a;
		return;
	}
	/*
	 * A write after this thread's own read of the location in the same
	 * function: a check that missed (or a length/membership check) makes it
	 * check-then-act; a value read (x = d.get(k, 0) ... d[k] = x + 1) a
	 * read-modify-write spread over statements.
	 */
	for (int i = 0; i < CELL_READS && !(flags & ACC_ATOMIC); i++)
		if (c->r[i].flags && c->r[i].idx == r->idx &&
		    sites[c->r[i].site].func == sites[site].func)
			a.flags |= (c->r[i].flags & (ACC_MISS | ACC_CHECK)) ? ACC_CTA : ACC_RMW;
	/*
	 * This thread missed the key, let the lock go, and stores it now;
	 * meanwhile another thread stored it, ordered with both: each check
	 * was right when made, and both threads created the item.
	 */
	if (c->missed.flags && c->missed.idx == r->idx &&
	    sites[c->missed.site].func == sites[site].func && !(flags & ACC_ATOMIC) && c->w.flags &&
	    c->w.idx != r->idx && c->w.ts > c->missed.ts && visible(r, &c->w) &&
	    first_time(r, &c->w)) {
		a.flags |= ACC_CTA;
		report_rule(&c->w, &a, container, key, WEFT_RACE_STALE_CHECK);
	}
	if (c->missed.idx == r->idx)
		memset(&c->missed, 0, sizeof(c->missed));
	/* Against the last write and the unordered reads since. */
	if (c->w.flags && !visible(r, &c->w) &&
	    !((flags & ACC_ATOMIC) && (c->w.flags & ACC_ATOMIC)) && first_time(r, &c->w))
		report(&c->w, &a, container, key);
	for (int i = 0; i < CELL_READS; i++) {
		struct access *rd = &c->r[i];
		if (rd->flags && rd->idx != r->idx && !visible(r, rd) && !(flags & ACC_ATOMIC) &&
		    first_time(r, rd))
			report(rd, &a, container, key);
	}
	c->w = a;
	/*
	 * The reads this write orders go. Another thread's read that this
	 * write does not order stays (already reported to this thread): when
	 * that thread stores next, its store is still its check-then-act or
	 * read-modify-write, not a plain write.
	 */
	for (int i = 0; i < CELL_READS; i++) {
		struct access *rd = &c->r[i];
		if (rd->flags && rd->idx != r->idx && (rd->flags & ACC_MISS) && visible(r, rd))
			c->missed = *rd;
		if (rd->idx == r->idx || visible(r, rd))
			memset(rd, 0, sizeof(*rd));
	}
}

/* ---- which objects are watched ---------------------------------------------------------- */

enum { C_NONE, C_DICT, C_LIST, C_OBJ, C_MODULE, C_TYPE, C_SET, C_DEQUE };

static void *subtype_dealloc; /* the deallocator of every class defined in Python */
static PyObject *str_get;     /* interned "get", as instrumented code passes it */
static PyObject *str_setdefault, *str_pop;
static PyObject *local_type; /* threading.local: per-thread by design */

/*
 * Methods of list, dict, set and deque that read or write the container as
 * a whole. A deque's appends and pops are documented thread-safe: atomic
 * writes, which race with no other atomic write nor with a read.
 */
/* clang-format off */
static const struct {
	const char *name;
	uint8_t write, deque_atomic;
} container_methods[] = {
	{"append", 1, 1}, {"appendleft", 1, 1}, {"pop", 1, 1}, {"popleft", 1, 1},
	{"popitem", 1, 0}, {"remove", 1, 0}, {"insert", 1, 0}, {"extend", 1, 0},
	{"extendleft", 1, 0}, {"clear", 1, 0}, {"update", 1, 0}, {"add", 1, 0},
	{"discard", 1, 0}, {"sort", 1, 0}, {"reverse", 1, 0}, {"rotate", 1, 0},
	{"copy", 0, 0}, {"count", 0, 0}, {"index", 0, 0},
};
/* clang-format on */
#define CONTAINER_METHODS (sizeof(container_methods) / sizeof(container_methods[0]))
static PyObject *container_names[CONTAINER_METHODS]; /* interned, as code constants are */

struct tcache {
	PyObject *type;
	int cls;
};
static struct tcache tcache[1024];

static int classify_slow(PyObject *tp)
{
	if (tp == py.PyModule_Type)
		return C_MODULE;
	if (py.PyType_IsSubtype(tp, py.PyType_Type))
		return C_TYPE;
	if (local_type && py.PyType_IsSubtype(tp, local_type))
		return C_NONE;
	/*
	 * Only objects whose death we see are watched: classes defined in
	 * Python end in subtype_dealloc, which calls the first builtin base's
	 * deallocator, hooked for object, dict and list.
	 */
	PyObject *b = tp;
	for (int depth = 0;
	     depth < 64 && py.PyType_GetSlot(b, 52 /* Py_tp_dealloc */) == subtype_dealloc;
	     depth++) {
		PyObject *base = py.PyObject_GetAttrString(b, "__base__");
		if (!base || base == py.none) {
			py.PyErr_Clear();
			if (base)
				py.Py_DecRef(base);
			return C_NONE;
		}
		py.Py_DecRef(base); /* types outlive their subclasses */
		b = base;
	}
	if (b == py.PyBaseObject_Type)
		return C_OBJ;
	if (b == py.PyDict_Type)
		return C_DICT;
	if (b == py.PyList_Type)
		return C_LIST;
	if (b == set_type)
		return C_SET;
	if (b == deque_type)
		return C_DEQUE;
	/* Builtin subclasses (defaultdict, OrderedDict) with their own deallocator chain to dict's.
	 */
	void *d = py.PyType_GetSlot(b, 52);
	if (d == (void *)set_dealloc_hook)
		return C_SET;
	if (d == (void *)deque_dealloc_hook)
		return C_DEQUE;
	unsigned long fl = py.PyType_GetFlags(b);
	if ((fl & (1ul << 29)) && d != (void *)orig_dict_dealloc)
		return C_DICT;
	if ((fl & (1ul << 25)) && d != (void *)orig_list_dealloc)
		return C_LIST;
	return C_NONE;
}

static int classify(PyObject *o)
{
	PyObject *tp = weft_py_type(o);
	if (tp == py.PyDict_Type)
		return C_DICT;
	struct tcache *e = &tcache[((uintptr_t)tp >> 4) & 1023];
	if (e->type != tp) {
		e->type = tp;
		e->cls = classify_slow(tp);
	}
	return e->cls;
}

/* The key's hash + 1; 0 when it has none (unhashable: the access itself will fail). */
static uint64_t key_hash(PyObject *k)
{
	py_ssize_t h = py.PyObject_Hash(k);
	if (h == -1 && py.PyErr_Occurred()) {
		py.PyErr_Clear();
		return 0;
	}
	return (uint64_t)h + 1;
}

#define KEY_STRUCT 0x5f5f73747275ull
#define ATTR_SALT 0x9e3779b97f4a7c15ull

/* The thread's state when this access is to be checked, else NULL. */
static struct rthread *checking(void)
{
	struct weft_tls *t = &weft_tls;
	if (!weft_races_on || t->in_races || !weft_on)
		return NULL;
	return me();
}

static void item_access(PyObject *o, PyObject *k, uint32_t site, int flags, uint64_t hash)
{
	struct rthread *r = checking();
	if (!r || site >= nsites)
		return;
	int cls = classify(o);
	if (cls != C_DICT && cls != C_LIST)
		return;
	uint64_t serial = serial_of(o);
	if (!serial)
		return;
	if (!races_enter())
		return;
	check(r, cell_for(serial, hash), site, flags, o, k);
	races_leave();
}

static void attr_access(PyObject *o, PyObject *name, uint32_t site, int flags)
{
	struct rthread *r = checking();
	if (!r || site >= nsites)
		return;
	int cls = classify(o);
	uint64_t salt = ATTR_SALT;
	PyObject *container = o;
	if (cls == C_MODULE) {
		/* mod.x is the global x of mod: the same location as its own code's `x`. */
		container = py.PyModule_GetDict(o);
		salt = 0;
		if (!container)
			return;
	} else if (cls == C_NONE) {
		return;
	}
	uint64_t serial = serial_of(container), h = key_hash(name);
	if (!serial || !h)
		return;
	if (!races_enter())
		return;
	check(r, cell_for(serial, h ^ salt), site, flags, o, name);
	races_leave();
}

static int is_container(int cls)
{
	return cls == C_DICT || cls == C_LIST || cls == C_SET || cls == C_DEQUE;
}

/* An access to a container as a whole (append, len(), iteration...): one location. */
static void container_access(PyObject *o, uint32_t site, int flags)
{
	struct rthread *r = checking();
	if (!r || site >= nsites || !is_container(classify(o)))
		return;
	uint64_t serial = serial_of(o);
	if (!serial)
		return;
	if (!races_enter())
		return;
	check(r, cell_for(serial, KEY_STRUCT), site, flags, o, NULL);
	races_leave();
}

static void global_access(PyObject *name, uint32_t site, int flags)
{
	struct rthread *r = checking();
	if (!r || site >= nsites)
		return;
	PyObject *g = py.PyEval_GetGlobals(); /* borrowed */
	if (!g)
		return;
	uint64_t serial = serial_of(g), h = key_hash(name);
	if (!serial || !h)
		return;
	if (!races_enter())
		return;
	check(r, cell_for(serial, h), site, flags, g, name);
	races_leave();
}

/* ---- the functions instrumented code calls ---------------------------------------------- */

static PyObject *ret_none(void)
{
	py.Py_IncRef(py.none);
	return py.none;
}

static uint32_t site_arg(PyObject *o)
{
	long long v = py.PyLong_AsLongLong(o);
	if (v <= 0 || v >= (long long)nsites) {
		py.PyErr_Clear();
		return 0;
	}
	return (uint32_t)v;
}

/* The hash an item access uses as its location key; 0 (no check) when unhashable. */
static uint64_t item_key(PyObject *o, PyObject *k)
{
	if (!weft_races_on)
		return 0;
	PyObject *tp = weft_py_type(o);
	if (tp != py.PyDict_Type && tp != py.PyList_Type) {
		int cls = classify(o);
		if (cls != C_DICT && cls != C_LIST)
			return 0;
	}
	if (tp == py.PyList_Type && weft_py_type(k) != py.PyLong_Type)
		return KEY_STRUCT; /* slices and the like: the list as a whole */
	return key_hash(k);
}

/* _weft_gi(obj, key, site) -> obj[key] */
static PyObject *m_gi(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	uint64_t h = item_key(args[0], args[1]);
	PyObject *v = py.PyObject_GetItem(args[0], args[1]);
	/* Finding None is a miss too: `if d[k] is None: d[k] = make()` checks then acts. */
	if (h)
		item_access(args[0], args[1], site_arg(args[2]),
			    v && v != py.none ? ACC_READ : ACC_READ | ACC_MISS, h);
	return v;
}

/* _weft_si(value, obj, key, site): obj[key] = value */
static PyObject *m_si(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 4)
		return ret_none();
	uint64_t h = item_key(args[1], args[2]);
	if (py.PyObject_SetItem(args[1], args[2], args[0]) < 0)
		return NULL;
	if (h)
		item_access(args[1], args[2], site_arg(args[3]), ACC_WRITE, h);
	return ret_none();
}

/* _weft_di(obj, key, site): del obj[key] */
static PyObject *m_di(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	uint64_t h = item_key(args[0], args[1]);
	if (py.PyObject_DelItem(args[0], args[1]) < 0)
		return NULL;
	if (h)
		item_access(args[0], args[1], site_arg(args[2]), ACC_WRITE, h);
	return ret_none();
}

/* In-place operators in the instrumenter's order (ast.Add, Sub, Mult, MatMult, ...). */
static PyObject *inplace(int op, PyObject *a, PyObject *b)
{
	switch (op) {
	case 0:
		return py.PyNumber_InPlaceAdd(a, b);
	case 1:
		return py.PyNumber_InPlaceSubtract(a, b);
	case 2:
		return py.PyNumber_InPlaceMultiply(a, b);
	case 3:
		return py.PyNumber_InPlaceMatrixMultiply(a, b);
	case 4:
		return py.PyNumber_InPlaceTrueDivide(a, b);
	case 5:
		return py.PyNumber_InPlaceFloorDivide(a, b);
	case 6:
		return py.PyNumber_InPlaceRemainder(a, b);
	case 7:
		return py.PyNumber_InPlacePower(a, b, py.none);
	case 8:
		return py.PyNumber_InPlaceLshift(a, b);
	case 9:
		return py.PyNumber_InPlaceRshift(a, b);
	case 10:
		return py.PyNumber_InPlaceAnd(a, b);
	case 11:
		return py.PyNumber_InPlaceXor(a, b);
	default:
		return py.PyNumber_InPlaceOr(a, b);
	}
}

/*
 * obj[key] op= value or obj.name op= value: get, in-place operator, set, in
 * the interpreter's order. 0, or -1 with the exception set.
 */
static int augment(PyObject *obj, PyObject *key, PyObject *value, PyObject *op,
		   PyObject *(*get)(PyObject *, PyObject *),
		   int (*set)(PyObject *, PyObject *, PyObject *))
{
	PyObject *cur = get(obj, key);
	if (!cur)
		return -1;
	PyObject *res = inplace((int)py.PyLong_AsLongLong(op), cur, value);
	py.Py_DecRef(cur);
	if (!res)
		return -1;
	int rc = set(obj, key, res);
	py.Py_DecRef(res);
	return rc < 0 ? -1 : 0;
}

/* _weft_ai(obj, key, value, op, site): obj[key] op= value, one read-modify-write */
static PyObject *m_ai(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 5)
		return ret_none();
	uint64_t h = item_key(args[0], args[1]);
	if (augment(args[0], args[1], args[2], args[3], py.PyObject_GetItem, py.PyObject_SetItem))
		return NULL;
	if (h)
		item_access(args[0], args[1], site_arg(args[4]), ACC_READ | ACC_WRITE | ACC_RMW, h);
	return ret_none();
}

/* _weft_ga(obj, name, site[, default]) -> obj.name, or getattr(obj, name, default) */
static PyObject *m_ga(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3 && n != 4)
		return ret_none();
	PyObject *v = py.PyObject_GetAttr(args[0], args[1]);
	int flags = ACC_READ;
	if (!v && n == 4 && py.PyErr_ExceptionMatches(attribute_error)) {
		py.PyErr_Clear();
		v = args[3];
		py.Py_IncRef(v);
	}
	if (v == py.none) /* `if self.conn is None: self.conn = connect()` checks then acts */
		flags |= ACC_MISS;
	if (v && weft_races_on)
		attr_access(args[0], args[1], site_arg(args[2]), flags);
	return v;
}

/* _weft_sa(value, obj, name, site): obj.name = value */
static PyObject *m_sa(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 4)
		return ret_none();
	if (py.PyObject_SetAttr(args[1], args[2], args[0]) < 0)
		return NULL;
	if (weft_races_on)
		attr_access(args[1], args[2], site_arg(args[3]), ACC_WRITE);
	return ret_none();
}

/* _weft_da(obj, name, site): del obj.name */
static PyObject *m_da(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	if (py.PyObject_SetAttr(args[0], args[1], NULL) < 0)
		return NULL;
	if (weft_races_on)
		attr_access(args[0], args[1], site_arg(args[2]), ACC_WRITE);
	return ret_none();
}

/* _weft_aa(obj, name, value, op, site): obj.name op= value */
static PyObject *m_aa(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 5)
		return ret_none();
	if (augment(args[0], args[1], args[2], args[3], py.PyObject_GetAttr, py.PyObject_SetAttr))
		return NULL;
	if (weft_races_on)
		attr_access(args[0], args[1], site_arg(args[4]), ACC_READ | ACC_WRITE | ACC_RMW);
	return ret_none();
}

/*
 * _weft_mc(obj, name, site, *args) -> obj.name(*args). On a dict, get,
 * setdefault and pop with a key are accesses of that key: a read (a miss
 * when get returns None) or an atomic write. On a list, dict, set or deque
 * the methods of container_methods read or write the container as a whole.
 */
static PyObject *m_mc(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n < 3 || n > 8)
		return ret_none();
	PyObject *call[8];
	call[0] = args[0];
	for (py_ssize_t i = 3; i < n; i++)
		call[i - 2] = args[i];
	int cls = weft_races_on ? classify(args[0]) : C_NONE;
	/* dict.get/setdefault/pop(key): that key (the site says which: ACC_ATOMIC writes). */
	int keyed = cls == C_DICT && n > 3 &&
		    (args[1] == str_get || args[1] == str_setdefault || args[1] == str_pop);
	int method = -1;
	for (unsigned i = 0; i < CONTAINER_METHODS && !keyed && is_container(cls); i++)
		if (args[1] == container_names[i])
			method = (int)i;
	uint64_t h = keyed ? item_key(args[0], args[3]) : 0;
	PyObject *v;
	if (args[1] == str_get && (n == 4 || n == 5) && weft_py_type(args[0]) == py.PyDict_Type) {
		/* d.get(k[, default]) on a plain dict, without looking the method up each time. */
		v = py.PyDict_GetItemWithError(args[0], args[3]);
		if (!v) {
			if (py.PyErr_Occurred())
				return NULL;
			v = n == 5 ? args[4] : py.none;
		}
		py.Py_IncRef(v);
	} else {
		v = py.PyObject_VectorcallMethod(args[1], call, (size_t)(n - 2), NULL);
	}
	if (v && h) {
		uint32_t site = site_arg(args[2]);
		int flags = ACC_READ;
		if (site && (sites[site].acc & ACC_ATOMIC))
			flags = ACC_WRITE;
		else if (v == py.none) /* a default that is a value makes get a plain read */
			flags |= ACC_MISS;
		item_access(args[0], args[3], site, flags, h);
	} else if (v && method >= 0) {
		int flags = container_methods[method].write ? ACC_WRITE : ACC_READ;
		if (cls == C_DEQUE && container_methods[method].deque_atomic)
			flags |= ACC_ATOMIC;
		container_access(args[0], site_arg(args[2]), flags);
	}
	return v;
}

/* _weft_ln(obj, site) -> len(obj): a length check of a container */
static PyObject *m_ln(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 2)
		return ret_none();
	py_ssize_t len = py.PyObject_Size(args[0]);
	if (len < 0)
		return NULL;
	if (weft_races_on)
		container_access(args[0], site_arg(args[1]), ACC_READ | ACC_CHECK);
	return py.PyLong_FromUnsignedLongLong((unsigned long long)len);
}

/* _weft_it(obj, site) -> obj: obj is about to be iterated (for, comprehensions) */
static PyObject *m_it(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 2)
		return ret_none();
	if (weft_races_on)
		container_access(args[0], site_arg(args[1]), ACC_READ);
	py.Py_IncRef(args[0]);
	return args[0];
}

/*
 * _weft_ha(obj, name, site) -> hasattr(obj, name): a read of the
 * attribute, a miss when it is absent.
 */
static PyObject *m_ha(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	PyObject *v = py.PyObject_GetAttr(args[0], args[1]);
	if (!v) {
		if (!py.PyErr_ExceptionMatches(attribute_error))
			return NULL;
		py.PyErr_Clear();
	}
	if (weft_races_on)
		attr_access(args[0], args[1], site_arg(args[2]),
			    v ? ACC_READ : ACC_READ | ACC_MISS);
	PyObject *b = v ? py.true_obj : py.false_obj;
	if (v)
		py.Py_DecRef(v);
	py.Py_IncRef(b);
	return b;
}

/* _weft_in(key, obj, site) -> key in obj */
static PyObject *m_in(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	int cls = weft_races_on ? classify(args[1]) : C_NONE;
	uint64_t h = cls == C_DICT ? item_key(args[1], args[0]) : 0;
	int rc = py.PySequence_Contains(args[1], args[0]);
	if (rc < 0)
		return NULL;
	if (h)
		item_access(args[1], args[0], site_arg(args[2]),
			    rc ? ACC_READ : ACC_READ | ACC_MISS, h);
	else if (is_container(cls))
		container_access(args[1], site_arg(args[2]), ACC_READ | ACC_CHECK);
	PyObject *b = rc ? py.true_obj : py.false_obj;
	py.Py_IncRef(b);
	return b;
}

/* _weft_gg(value, name, site) -> value: a read of the global `name`, already evaluated */
static PyObject *m_gg(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	if (weft_races_on)
		global_access(args[1], site_arg(args[2]), ACC_READ);
	py.Py_IncRef(args[0]);
	return args[0];
}

/* _weft_gw(name, site, rmw): the global `name` was (or, rmw, is about to be) assigned */
static PyObject *m_gw(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	if (weft_races_on)
		global_access(args[0], site_arg(args[1]),
			      py.PyLong_AsLongLong(args[2]) ? ACC_READ | ACC_WRITE | ACC_RMW
							    : ACC_WRITE);
	return ret_none();
}

void weft_races_hb(int acquire, uintptr_t key)
{
	if (!weft_races_on || !races_enter())
		return;
	struct rthread *r = me();
	if (r)
		hb(r, acquire, key);
	races_leave();
}

/*
 * _weft_hb(how, key): a Python-level synchronization keyed by an object's
 * id. how: 0 release, 1 acquire (queue put/get, Thread start/end, join,
 * Future); 2 release, 3 acquire only when the program's own code does it
 * (Event, Semaphore: libraries use them for their bookkeeping).
 */
static PyObject *m_hb(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 2 || !weft_races_on)
		return ret_none();
	long long how = py.PyLong_AsLongLong(args[0]);
	unsigned long long key = py.PyLong_AsUnsignedLongLong(args[1]);
	if (py.PyErr_Occurred()) {
		py.PyErr_Clear();
		return ret_none();
	}
	if (how >= 2) {
		if (!races_enter())
			return ret_none();
		int orders = program_sync();
		races_leave();
		if (!orders)
			return ret_none();
	}
	weft_races_hb((int)(how & 1), (uintptr_t)key);
	return ret_none();
}

/*
 * _weft_site(what, acc, func, text) -> id: registers an access site at
 * instrumentation time (SITE_* what, extra ACC_* flags, function scope id,
 * the container expression's text).
 */
static PyObject *m_site(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 4 || nsites >= SITE_CAP)
		return py.PyLong_FromUnsignedLongLong(0);
	struct site *s = &sites[nsites];
	s->what = (uint8_t)py.PyLong_AsLongLong(args[0]);
	s->acc = (uint8_t)py.PyLong_AsLongLong(args[1]);
	s->func = (uint32_t)py.PyLong_AsLongLong(args[2]);
	const char *text = args[3] == py.none ? NULL : py.PyUnicode_AsUTF8(args[3]);
	if (py.PyErr_Occurred())
		py.PyErr_Clear();
	s->text = text ? strndup(text, 200) : NULL;
	return py.PyLong_FromUnsignedLongLong(nsites++);
}

static int patch_dealloc(PyObject *type, destructor_fn *orig, destructor_fn hook)
{
	/* tp_dealloc follows the var-object header, tp_name, tp_basicsize and tp_itemsize. */
	destructor_fn *slot = (destructor_fn *)((char *)type + 48);
	if ((void *)*slot != py.PyType_GetSlot(type, 52))
		return -1;
	*orig = *slot;
	*slot = hook;
	return 0;
}

/*
 * _weft_races_init(python_class, local_type, deque, set, AttributeError)
 * -> bool: turns the detector on. python_class is any class defined in
 * Python (its deallocator is subtype_dealloc); local_type is
 * threading.local.
 */
static PyObject *m_races_init(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	PyObject *res = py.false_obj;
	if (n != 5 || !py.races_api || weft_races_on)
		goto out;
	sync_keys = big_zeroed(SYNC_CAP * sizeof(*sync_keys));
	sync_vc = big_zeroed(SYNC_CAP * sizeof(*sync_vc));
	obj_keys = big_zeroed(OBJ_CAP * sizeof(*obj_keys));
	obj_serial = big_zeroed(OBJ_CAP * sizeof(*obj_serial));
	cells = big_zeroed((size_t)CELL_SETS * CELL_WAYS * sizeof(*cells));
	sites = big_zeroed(SITE_CAP * sizeof(*sites));
	stacks = big_zeroed(STACK_CACHE * sizeof(*stacks));
	heldsets = big_zeroed(HELDSET_CAP * sizeof(*heldsets));
	pairs = big_zeroed(PAIR_CAP * sizeof(*pairs));
	codeset = big_zeroed(CODESET_CAP * sizeof(*codeset));
	code_kind_by_id = big_zeroed(CODE_IDS);
	if (!sync_keys || !sync_vc || !obj_keys || !obj_serial || !cells || !sites || !stacks ||
	    !heldsets || !pairs || !codeset || !code_kind_by_id)
		goto out;
	subtype_dealloc = py.PyType_GetSlot(
	    weft_py_type(args[0]) == py.PyType_Type ? args[0] : weft_py_type(args[0]), 52);
	local_type = args[1];
	py.Py_IncRef(local_type);
	deque_type = args[2];
	set_type = args[3];
	attribute_error = args[4];
	py.Py_IncRef(deque_type);
	py.Py_IncRef(set_type);
	py.Py_IncRef(attribute_error);
	for (unsigned i = 0; i < sizeof(container_methods) / sizeof(container_methods[0]); i++)
		container_names[i] = py.PyUnicode_InternFromString(container_methods[i].name);
	str_get = py.PyUnicode_InternFromString("get");
	str_setdefault = py.PyUnicode_InternFromString("setdefault");
	str_pop = py.PyUnicode_InternFromString("pop");
	if (!subtype_dealloc ||
	    patch_dealloc(py.PyDict_Type, &orig_dict_dealloc, dict_dealloc_hook) ||
	    patch_dealloc(py.PyList_Type, &orig_list_dealloc, list_dealloc_hook) ||
	    patch_dealloc(py.PyBaseObject_Type, &orig_object_dealloc, object_dealloc_hook) ||
	    patch_dealloc(set_type, &orig_set_dealloc, set_dealloc_hook) ||
	    patch_dealloc(deque_type, &orig_deque_dealloc, deque_dealloc_hook))
		goto out;
	sync_ready = 1;
	weft_races_on = 1;
	res = py.true_obj;
out:
	if (py.PyErr_Occurred())
		py.PyErr_Clear();
	py.Py_IncRef(res);
	return res;
}

void weft_races_observe(void)
{
	weft_observe(&(struct weft_observer){.thread_end = thread_end, .sync = weft_races_sync});
}

struct py_method_def weft_races_methods[] = {
    {"_weft_gi", (void *)m_gi, PY_METH_FASTCALL, NULL},
    {"_weft_si", (void *)m_si, PY_METH_FASTCALL, NULL},
    {"_weft_di", (void *)m_di, PY_METH_FASTCALL, NULL},
    {"_weft_ai", (void *)m_ai, PY_METH_FASTCALL, NULL},
    {"_weft_ga", (void *)m_ga, PY_METH_FASTCALL, NULL},
    {"_weft_sa", (void *)m_sa, PY_METH_FASTCALL, NULL},
    {"_weft_da", (void *)m_da, PY_METH_FASTCALL, NULL},
    {"_weft_aa", (void *)m_aa, PY_METH_FASTCALL, NULL},
    {"_weft_mc", (void *)m_mc, PY_METH_FASTCALL, NULL},
    {"_weft_in", (void *)m_in, PY_METH_FASTCALL, NULL},
    {"_weft_ln", (void *)m_ln, PY_METH_FASTCALL, NULL},
    {"_weft_it", (void *)m_it, PY_METH_FASTCALL, NULL},
    {"_weft_ha", (void *)m_ha, PY_METH_FASTCALL, NULL},
    {"_weft_gg", (void *)m_gg, PY_METH_FASTCALL, NULL},
    {"_weft_gw", (void *)m_gw, PY_METH_FASTCALL, NULL},
    {"_weft_hb", (void *)m_hb, PY_METH_FASTCALL, NULL},
    {"_weft_uc", (void *)m_uc, PY_METH_FASTCALL, NULL},
    {"_weft_site", (void *)m_site, PY_METH_FASTCALL, NULL},
    {"_weft_races_init", (void *)m_races_init, PY_METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};
