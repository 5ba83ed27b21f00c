/*
 * Internal API of the preload library (libweft.so). Nothing here is
 * exported from the library: only the hooked libc/pthread symbols are
 * (WEFT_HOOK), everything else has hidden visibility.
 */
#ifndef WEFT_PRELOAD_H
#define WEFT_PRELOAD_H

#include "preload/wire.h"

#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <x86intrin.h>

#define WEFT_HOOK __attribute__((visibility("default")))
#define WEFT_LIKELY(x) __builtin_expect(!!(x), 1)
#define WEFT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Every real function the library calls through, resolved once from one
 * table (preload/real.c): X(name, return type, parameter list). Condition
 * variables are looked up by version: plain dlsym would return the
 * pre-2.3.2 compatibility versions.
 */
#define WEFT_REAL_FUNCS(X)                                                                         \
	X(pthread_mutex_lock, int, (pthread_mutex_t *))                                            \
	X(pthread_mutex_trylock, int, (pthread_mutex_t *))                                         \
	X(pthread_mutex_timedlock, int, (pthread_mutex_t *, const struct timespec *))              \
	X(pthread_mutex_clocklock, int, (pthread_mutex_t *, clockid_t, const struct timespec *))   \
	X(pthread_mutex_unlock, int, (pthread_mutex_t *))                                          \
	X(pthread_mutex_init, int, (pthread_mutex_t *, const pthread_mutexattr_t *))               \
	X(pthread_mutex_destroy, int, (pthread_mutex_t *))                                         \
	X(pthread_rwlock_rdlock, int, (pthread_rwlock_t *))                                        \
	X(pthread_rwlock_wrlock, int, (pthread_rwlock_t *))                                        \
	X(pthread_rwlock_tryrdlock, int, (pthread_rwlock_t *))                                     \
	X(pthread_rwlock_trywrlock, int, (pthread_rwlock_t *))                                     \
	X(pthread_rwlock_timedrdlock, int, (pthread_rwlock_t *, const struct timespec *))          \
	X(pthread_rwlock_timedwrlock, int, (pthread_rwlock_t *, const struct timespec *))          \
	X(pthread_rwlock_clockrdlock, int,                                                         \
	  (pthread_rwlock_t *, clockid_t, const struct timespec *))                                \
	X(pthread_rwlock_clockwrlock, int,                                                         \
	  (pthread_rwlock_t *, clockid_t, const struct timespec *))                                \
	X(pthread_rwlock_unlock, int, (pthread_rwlock_t *))                                        \
	X(pthread_rwlock_init, int, (pthread_rwlock_t *, const pthread_rwlockattr_t *))            \
	X(pthread_rwlock_destroy, int, (pthread_rwlock_t *))                                       \
	X(pthread_spin_lock, int, (pthread_spinlock_t *))                                          \
	X(pthread_spin_trylock, int, (pthread_spinlock_t *))                                       \
	X(pthread_spin_unlock, int, (pthread_spinlock_t *))                                        \
	X(pthread_spin_init, int, (pthread_spinlock_t *, int))                                     \
	X(pthread_spin_destroy, int, (pthread_spinlock_t *))                                       \
	X(pthread_cond_wait, int, (pthread_cond_t *, pthread_mutex_t *))                           \
	X(pthread_cond_timedwait, int,                                                             \
	  (pthread_cond_t *, pthread_mutex_t *, const struct timespec *))                          \
	X(pthread_cond_clockwait, int,                                                             \
	  (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *))               \
	X(pthread_cond_signal, int, (pthread_cond_t *))                                            \
	X(pthread_cond_broadcast, int, (pthread_cond_t *))                                         \
	X(pthread_cond_init, int, (pthread_cond_t *, const pthread_condattr_t *))                  \
	X(pthread_cond_destroy, int, (pthread_cond_t *))                                           \
	X(sem_wait, int, (sem_t *))                                                                \
	X(sem_trywait, int, (sem_t *))                                                             \
	X(sem_timedwait, int, (sem_t *, const struct timespec *))                                  \
	X(sem_clockwait, int, (sem_t *, clockid_t, const struct timespec *))                       \
	X(sem_post, int, (sem_t *))                                                                \
	X(sem_init, int, (sem_t *, int, unsigned))                                                 \
	X(sem_destroy, int, (sem_t *))                                                             \
	X(sem_open, sem_t *, (const char *, int, ...))                                             \
	X(sem_close, int, (sem_t *))                                                               \
	X(pthread_barrier_wait, int, (pthread_barrier_t *))                                        \
	X(pthread_barrier_init, int,                                                               \
	  (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned))                          \
	X(pthread_barrier_destroy, int, (pthread_barrier_t *))                                     \
	X(pthread_create, int, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))   \
	X(pthread_join, int, (pthread_t, void **))                                                 \
	X(pthread_tryjoin_np, int, (pthread_t, void **))                                           \
	X(pthread_timedjoin_np, int, (pthread_t, void **, const struct timespec *))                \
	X(pthread_clockjoin_np, int, (pthread_t, void **, clockid_t, const struct timespec *))     \
	X(pthread_detach, int, (pthread_t))                                                        \
	X(pthread_exit, void, (void *))                                                            \
	X(pthread_setname_np, int, (pthread_t, const char *))                                      \
	X(fork, pid_t, (void))                                                                     \
	X(execve, int, (const char *, char *const[], char *const[]))                               \
	X(execvpe, int, (const char *, char *const[], char *const[]))                              \
	X(fexecve, int, (int, char *const[], char *const[]))                                       \
	X(execveat, int, (int, const char *, char *const[], char *const[], int))                   \
	X(posix_spawn, int,                                                                        \
	  (pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,   \
	   char *const[], char *const[]))                                                          \
	X(posix_spawnp, int,                                                                       \
	  (pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,   \
	   char *const[], char *const[]))                                                          \
	X(system, int, (const char *))                                                             \
	X(popen, FILE *, (const char *, const char *))                                             \
	X(exit, void, (int))                                                                       \
	X(_exit, void, (int))                                                                      \
	X(_Exit, void, (int))                                                                      \
	X(waitpid, pid_t, (pid_t, int *, int))                                                     \
	X(wait4, pid_t, (pid_t, int *, int, struct rusage *))                                      \
	X(close, int, (int))                                                                       \
	X(close_range, int, (unsigned, unsigned, int))                                             \
	X(closefrom, void, (int))                                                                  \
	X(dup2, int, (int, int))                                                                   \
	X(dup3, int, (int, int, int))

struct weft_real_table {
#define WEFT_REAL_FIELD(name, ret, args) ret(*name) args;
	WEFT_REAL_FUNCS(WEFT_REAL_FIELD)
#undef WEFT_REAL_FIELD
};

extern struct weft_real_table weft_real;
extern int weft_real_ready;
/* Resolves the whole table; safe to call from any hook, any number of times. */
void weft_real_resolve(void);

#define REAL(name) (WEFT_LIKELY(weft_real_ready) ? 0 : (weft_real_resolve(), 0), weft_real.name)

/* The real pthread_cond_wait (kind 0), pthread_cond_timedwait (1) or pthread_cond_clockwait (2). */
static inline int weft_real_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				      const struct timespec *abs, int kind)
{
	if (kind == 0)
		return REAL(pthread_cond_wait)(c, m);
	if (kind == 1)
		return REAL(pthread_cond_timedwait)(c, m, abs);
	return REAL(pthread_cond_clockwait)(c, m, clk, abs);
}

/*
 * Innermost frames remembered per thread (weft_tls.py_memo): a `with
 * cond: cond.notify()` block records at three (Condition.__enter__'s,
 * the block's own, Condition.__exit__'s), and two entries replaced in
 * turn never held any of them.
 */
#define WEFT_PY_MEMOS 4

/* Per-thread recorder state. initial-exec TLS: reading it never allocates. */
struct weft_tls {
	int guard;		/* inside the recorder: nested hooks pass through */
	int internal;		/* the recorder is calling out (libunwind, Python API):
				   nested hooks are ours, not the program's */
	int tid;		/* cached gettid() */
	int exit_recorded;	/* thread.exit already written */
	void *exit_site;	/* its start routine, or pthread_exit's caller, once
				   it returned or called it: the exit waits for the
				   destructors (thread_key_destructor) */
	int exit_rearmed;	/* the key destructor put its value back once */
	int dead;		/* this thread's slot was retired */
	struct weft_slot *slot; /* owned ring, or NULL */
	uint64_t *ring;		/* slot's word array */
	uint64_t head;		/* producer position (mirrors slot->head) */
	uint64_t tail_cache;	/* last tail seen; reloaded only when full */
	uint64_t populated;	/* mirrors slot->populated */
	uint64_t last_ts;	/* raw ts of the ring's previous record (WEFT_RF_TS) */
	uint64_t last_obj;	/* the ring's last nonzero object (WEFT_RF_SAMEOBJ) */
	uint64_t last_frame;	/* the ring's last one-word stack, 0: none (WEFT_RF_SAMEFRAME) */
	uint64_t prev_frame;	/* the one before it, 0: none (WEFT_RF_PREVFRAME) */
	int have_ts;		/* last_ts is valid: a record was written since the claim */
	int fold;		/* inside an instrumented Python sync method: its
				   internal lock traffic is folded into one event */
	int gil_phase;		/* where this thread is in take_gil/drop_gil */
	uint64_t gil_t0;	/* when this thread last began a take_gil (or a drop_gil) */
	uint8_t *py_defined;	/* bitmap: code ids already defined in this ring */
	struct weft_py_line *py_lines; /* (code id, instruction offset) -> line cache */
	struct weft_py_memo {	       /* the innermost frames of the last Python stacks: */
		void *code;	       /* code object */
		int lasti;	       /* instruction offset */
		uintptr_t instr;       /* 3.11+: the frame's instruction pointer there */
		uint64_t word;	       /* and their frame word */
		/*
		 * The program's frame under it when the innermost is not the
		 * program's (threading.py's Condition.__enter__, a bootstrap
		 * wrapper): code NULL when the innermost is the answer. hops:
		 * 1 for the frame right under it, 2 across an entry frame
		 * between (3.13's `with` calls __enter__ from C).
		 */
		void *code2;
		int lasti2, hops;
		uintptr_t instr2;
	} py_memo[WEFT_PY_MEMOS];
	int py_memo_next;	      /* the entry the next new one replaces */
	const void *last_sem;	      /* the traced semaphore this thread acquired last */
	void *py_main_ts;	      /* this thread's main-interpreter state, last seen */
	unsigned long py_self;	      /* pthread_self(), kept with py_main_ts */
	uintptr_t stack_hi;	      /* top of this thread's stack, 1: unknown, 0: not asked */
	void *races;		      /* race detector state (preload/races.c), or NULL */
	int races_none;		      /* no thread index was left for this thread */
	int in_races;		      /* inside the race detector: lock hooks pass through */
	unsigned py_sem_inits;	      /* semaphores this thread made (a Python probe reads it) */
	int *errno_p;		      /* &errno, once known: saving it costs no call then */
	struct weft_py_held *py_held; /* records held back (python.c), or NULL */
	int py_nheld;		      /* how many: record() lets them out first */
	const void *pysem_last;	      /* weft_pysem_has answered yes for it, */
	unsigned long pysem_gen;      /* at this weft_pysem_gen */
};

extern __thread struct weft_tls weft_tls __attribute__((tls_model("initial-exec")));

/* Global switches, read on every hook call. */
extern volatile int weft_on;	 /* recording in this process */
extern int weft_stacks;		 /* enum weft_stack_mode */
extern int weft_use_tsc;	 /* ts/wait are TSC ticks */
extern int weft_pthread_tid_off; /* offset of the tid in struct pthread, or -1 */
extern int weft_races_on;	 /* the race detector runs (preload/races.c turns it on) */

static inline uint64_t weft_now(void)
{
	if (WEFT_LIKELY(weft_use_tsc))
		return __rdtsc();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The time of a record this thread writes next, announced to the collector
 * (weft_slot.open_ts; weft_record() clears it once published), so a thread
 * preempted before publishing holds the collector's horizon instead of
 * arriving late. Announced twice: before reading the clock, as the
 * thread's previous record's time (no later record can be older), since
 * preemptions land right after the clock read (on the OpenSSL burst, late
 * records were timed at scheduler ticks); then as the time itself.
 * Only for a time recorded right away: a time taken before blocking would
 * hold every other thread's records back for as long as it blocks.
 */
static inline uint64_t weft_stamp(void)
{
	struct weft_tls *t = &weft_tls;
	struct weft_slot *s = t->slot;
	if (WEFT_LIKELY(s != NULL))
		__atomic_store_n(&s->open_ts, t->last_ts ? t->last_ts : 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the clock is read after that */
	uint64_t ts = weft_now();
	if (WEFT_LIKELY(s != NULL))
		__atomic_store_n(&s->open_ts, ts ? ts : 1, __ATOMIC_RELAXED);
	return ts;
}

/* Takes back a stamp whose record is not written after all. */
static inline void weft_unstamp(void)
{
	struct weft_slot *s = weft_tls.slot;
	if (s)
		__atomic_store_n(&s->open_ts, 0, __ATOMIC_RELEASE);
}

void weft_count_unrecorded(void);

/*
 * True when the calling hook should record. A call arriving while this
 * thread is inside the recorder comes from a signal handler (or from code
 * the recorder calls): the former passes through and is counted.
 */
static inline int weft_should_record(void)
{
	if (WEFT_UNLIKELY(!weft_on) || weft_tls.fold)
		return 0;
	if (WEFT_UNLIKELY(weft_tls.guard)) {
		if (!weft_tls.internal)
			weft_count_unrecorded();
		return 0;
	}
	return 1;
}

/*
 * weft_should_record() inside a folded Python method too: a fold hides
 * the method's own synchronization (Thread.start's handshake with the new
 * thread, a multiprocessing Queue's locks), never a thread it starts.
 */
static inline int weft_should_record_unfolded(void)
{
	int fold = weft_tls.fold;
	weft_tls.fold = 0;
	int record = weft_should_record();
	weft_tls.fold = fold;
	return record;
}

/*
 * The recorder calls out (the Python C API, libunwind, pthread_getattr_np):
 * until weft_leave, hooks this thread reaches are the recorder's own and
 * pass through uncounted, and the race detector ignores them. Nests.
 * Returns what weft_leave must be given back.
 */
static inline int weft_enter(void)
{
	struct weft_tls *t = &weft_tls;
	int was_guarded = t->guard;
	t->guard = 1;
	t->internal++;
	return was_guarded;
}

/* Ends what weft_enter began; was_guarded is its return value. */
static inline void weft_leave(int was_guarded)
{
	struct weft_tls *t = &weft_tls;
	t->internal--;
	t->guard = was_guarded;
}

/* ---- the CPython runtime (preload/python.c) ---- */

/* The bootstrap compiled at build time by one CPython (generated python_boot.c). */
struct weft_boot_blob {
	long magic; /* PyImport_GetMagicNumber() of that CPython */
	unsigned len;
	const unsigned char *data; /* marshal.dumps of the code object */
};
extern const struct weft_boot_blob weft_boot_blobs[]; /* ends with a zero entry */

/* [lo, lo+len) is CPython's _PyRuntime: its mutexes and conds are the GIL's. */
extern uintptr_t weft_pyrt_lo, weft_pyrt_len;

static inline int weft_in_pyrt(const void *p)
{
	return WEFT_UNLIKELY((uintptr_t)p - weft_pyrt_lo < weft_pyrt_len);
}

/*
 * [lo, lo+len) is the interpreter's static data (the writable segment that
 * holds _PyRuntime), 0 when unknown: a mutex there is the interpreter's own
 * (3.14 and 3.15 lock five static pthread mutexes at start and exit, from
 * the interpreter's own code; they link mimalloc, whose locks those look
 * like), never one of the program's.
 */
extern uintptr_t weft_pydata_lo, weft_pydata_len;

static inline int weft_in_pydata(const void *p)
{
	return WEFT_UNLIKELY((uintptr_t)p - weft_pydata_lo < weft_pydata_len);
}

/* [lo, lo+len) is the interpreter's code (the executable or libpython), 0 when unknown. */
extern uintptr_t weft_pytext_lo, weft_pytext_len;

/* GIL machinery: each calls the real function and records GIL events. */
int weft_gil_mutex_lock(pthread_mutex_t *m);
int weft_gil_mutex_unlock(pthread_mutex_t *m);
int weft_gil_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
		       const struct timespec *abs, int kind);
int weft_gil_cond_signal(pthread_cond_t *c, int broadcast);

/*
 * Start-up of the Python layer, from the library's entry (preload/entry.c)
 * once the recorder started: registers its observer with the recorder and
 * its frames with the race detector, then looks for an interpreter.
 */
void weft_python_init(void);

/* ---- the race detector (preload/races.c) ---- */

/* Registers the race detector's observer with the recorder (from preload/entry.c). */
void weft_races_observe(void);
/* A lock, semaphore or condition operation: happens-before and the locks held. */
void weft_races_sync(int acquire, const void *obj, int lock_like);
/* A lock, semaphore or condition is destroyed: its address may be reused. */
void weft_races_sync_destroyed(const void *obj);
/* A Python-level happens-before edge (queue put/get, Event...) keyed by an object's id. */
void weft_races_hb(int acquire, uintptr_t key);
#define WEFT_RACES_SYNC(acquire, obj, lock_like)                                                   \
	do {                                                                                       \
		if (WEFT_UNLIKELY(weft_races_on))                                                  \
			weft_races_sync(acquire, obj, lock_like);                                  \
	} while (0)

/*
 * What the race detector asks of the Python layer, which registers it
 * (weft_races_frames_from): the race detector calls no Python-layer
 * function, the Python layer calls the race detector's.
 */
struct weft_python_frames {
	/* Every Python frame of the calling thread, innermost first; how many. */
	int (*stack_full)(void **pcs, int max);
	/* The code object of a frame word's code id (WEFT_PYFRAME_CODE), NULL when unknown. */
	void *(*code_object)(uint32_t id);
	/* Defines in this thread's ring the code ids of frame words recorded elsewhere. */
	void (*define_frames)(const uint64_t *words, int n);
};
void weft_races_frames_from(const struct weft_python_frames *frames);

/* ---- the sem_t worth recording in a Python process (preload/pysem.c) ---- */

/* Adds sem to the set (idempotent); a full table drops it. */
void weft_pysem_add(const void *sem);
/* 1 when sem is in the set, otherwise 0. */
int weft_pysem_has(const void *sem);
/* Removes sem from the set when it is there. */
void weft_pysem_del(const void *sem);

/* Bumped after every removal from the set: a yes remembered from before may be stale. */
extern unsigned long weft_pysem_gen;

/*
 * weft_pysem_has for a caller asking about the same object again and
 * again (a Python lock taken in a loop): the last yes is remembered per
 * thread until the set loses a member, a compare instead of a probe.
 */
static inline int weft_pysem_has_again(const void *sem)
{
	struct weft_tls *t = &weft_tls;
	unsigned long gen = __atomic_load_n(&weft_pysem_gen, __ATOMIC_ACQUIRE);
	if (sem == t->pysem_last && gen == t->pysem_gen)
		return 1;
	if (!weft_pysem_has(sem))
		return 0;
	/* The generation read before the probe: a removal meanwhile makes this stale. */
	t->pysem_last = sem;
	t->pysem_gen = gen;
	return 1;
}

/* True when a semaphore operation on s should be recorded. */
static inline int weft_sem_traced(const void *s)
{
	return !weft_pyrt_len || weft_pysem_has(s);
}

/* Python lock objects are created through sem_init: name them and pick their kind. */
int weft_python_lock_kind(const void *sem, char *label, size_t len);
/*
 * A Python Lock's first try failed (sem_trywait, EAGAIN). CPython tries
 * once without blocking before every acquire, so this is a failure only
 * when the acquire was non-blocking; python.c holds it back until the
 * thread's next record says which. 1: held (record nothing), 0: record it.
 */
int weft_python_hold_trywait(const void *sem, uint64_t ts, void *caller);
/* The GIL is let go (drop_gil): 1 when held back with a failed first try. */
int weft_python_hold_gil_release(uint64_t ts, int forced);
/* A blocking wait on sem begins: a held first try on it was no failure. */
void weft_python_blocking_wait(const void *sem);

/*
 * A Python lock's event from its instrumented methods (preload/python_lock.c),
 * which hold the GIL, called from caller: weft_record_repeat with the frame
 * this thread's last stacks remembered, when the innermost frame is still
 * at one of them and caller is the interpreter's (no call-site word).
 * 1: written; 0: the caller records it with weft_record.
 */
int weft_python_record_repeat(uint8_t kind, uint8_t objkind, const void *obj, uint64_t ts,
			      void *caller);

/*
 * What weft_python_record_repeat reads of the interpreter, for a caller
 * that does it inline (python_lock.c's Lock fast path): python.c fills it
 * once the frame layout was checked, for 3.13+ shapes (the thread state
 * in a TLS variable, the frame straight under it) with caller stacks;
 * tstate_tls 0: not so, call weft_python_record_repeat.
 */
struct weft_py_repeat {
	intptr_t tstate_tls;	 /* %fs offset of CPython's current thread state */
	const int *initialized;	 /* _PyRuntime's initialized flag (Py_IsInitialized) */
	uintptr_t code_mask;	 /* what of a frame's code word is the pointer */
	int16_t ts_thread_id;	 /* tstate -> thread_id */
	int16_t ts_frame;	 /* tstate -> innermost frame */
	int16_t f_code, f_instr; /* frame -> code word, instruction pointer */
	int16_t f_back;		 /* frame -> the calling frame */
	int16_t f_owner;	 /* frame -> its owner byte */
	int8_t no_code_owner;	 /* owners from it up: an entry frame, no code; -1: none */
};
extern struct weft_py_repeat weft_py_repeat;

/*
 * With weft_py_repeat filled: the word of this thread's remembered frame
 * (weft_tls.py_memo) where the innermost frame is still at one, when this
 * thread holds the GIL with its own main-interpreter state (python.c's
 * own_tstate_fast); 0 otherwise. The frame's code and instruction pointer
 * together say what the memo's code and offset say.
 */
static inline __attribute__((always_inline)) uint64_t
weft_py_remembered(const struct weft_py_repeat *R)
{
	struct weft_tls *t = &weft_tls;
	char *ts;
	__asm__ volatile("movq %%fs:(%1), %0" : "=r"(ts) : "r"(R->tstate_tls));
	if (!ts || ts != t->py_main_ts || *(unsigned long *)(ts + R->ts_thread_id) != t->py_self ||
	    !__atomic_load_n(R->initialized, __ATOMIC_RELAXED))
		return 0;
	char *f = *(char **)(ts + R->ts_frame);
	if (WEFT_UNLIKELY(!f))
		return 0;
	uintptr_t code = *(uintptr_t *)(f + R->f_code) & R->code_mask;
	uintptr_t instr = *(uintptr_t *)(f + R->f_instr);
	const struct weft_py_memo *m = t->py_memo;
	for (int i = 0; i < WEFT_PY_MEMOS; i++, m++) {
		if (instr != m->instr || code != (uintptr_t)m->code || !code)
			continue;
		if (!m->code2)
			return m->word;
		char *b = *(char **)(f + R->f_back);
		if (m->hops == 2 && b) {
			if (R->no_code_owner < 0 ||
			    *(unsigned char *)(b + R->f_owner) < (unsigned char)R->no_code_owner)
				continue;
			b = *(char **)(b + R->f_back);
		}
		if (b && *(uintptr_t *)(b + R->f_instr) == m->instr2 &&
		    (*(uintptr_t *)(b + R->f_code) & R->code_mask) == (uintptr_t)m->code2)
			return m->word;
	}
	return 0;
}

/* Names and records a Lock/RLock just made, when it is the program's (see python.c). */
void weft_python_note_lock(const void *lock, void *caller);

/* ---- the recorder (preload/runtime.c) ---- */

/*
 * One record. Designated initializers name what a record has; every
 * member left out is 0 (no object, no wait, no stack site, no payload).
 */
struct weft_event {
	uint8_t kind;	 /* WEFT_EV_* or WEFT_REC_* */
	uint8_t objkind; /* WEFT_OBJ_*, 0: none */
	const void *obj; /* the object's address, NULL: none */
	uint64_t ts;	 /* weft_now() when it happened */
	uint64_t wait;	 /* how long it blocked, in ts units */
	int64_t arg;	 /* the kind's argument (a mode, an errno, a tid...) */
	void *caller;	 /* the hook's return address (the program's call site), or NULL */
	const void *payload;
	uint32_t payload_len; /* bytes at payload, up to 4096 kept */
};

/*
 * What weft_record calls: the event's members one by one, so a hook's
 * compound literal never reaches memory (its members go in registers, as
 * nine arguments did). Call weft_record, not this.
 */
void weft_record_members(uint8_t kind, uint8_t objkind, const void *obj, uint64_t ts, uint64_t wait,
			 int64_t arg, void *caller, const void *payload, uint32_t payload_len);

/*
 * Writes one record for the calling thread with the stack taken here (the
 * stack mode's). Never fails visibly: when recording is impossible the
 * call is counted (slot->unrecorded) or tracing is switched off for the
 * process (collector gone). Preserves errno.
 */
static inline __attribute__((always_inline)) void weft_record(const struct weft_event *ev)
{
	weft_record_members(ev->kind, ev->objkind, ev->obj, ev->ts, ev->wait, ev->arg, ev->caller,
			    ev->payload, ev->payload_len);
}

/* An event of kind that ends now, having waited since t0. */
static inline void weft_record_waited(uint8_t kind, uint64_t t0, int64_t arg, void *caller)
{
	uint64_t t1 = weft_now();
	weft_record(&(struct weft_event){
	    .kind = kind, .ts = t1, .wait = t1 - t0, .arg = arg, .caller = caller});
}

/* The same with the stack given (pcs, n; n == 0: none) instead of taken here. */
void weft_record_frames(const struct weft_event *ev, void *const *pcs, int n);

/*
 * The header flag for a record whose one-word stack (frame, nonzero) the
 * ring has as its last or the one before it; 0: the word is written out.
 */
static inline __attribute__((always_inline)) uint8_t weft_ring_frame_flag(const struct weft_tls *t,
									  uint64_t frame)
{
	return frame == t->last_frame	? WEFT_RF_SAMEFRAME
	       : frame == t->prev_frame ? WEFT_RF_PREVFRAME
					: 0;
}

/* After a record with the one-word stack frame: it is the ring's last, the last the one before. */
static inline __attribute__((always_inline)) void weft_ring_frame_seen(struct weft_tls *t,
								       uint64_t frame)
{
	if (frame != t->last_frame) {
		t->prev_frame = t->last_frame;
		t->last_frame = frame;
	}
}

/*
 * The steady state of a lock taken in a loop: the object (nonzero) is the
 * ring's last record's, the one-word stack (frame) the ring's last or the
 * one before it (a lock and its unlock at two call sites), and there is no
 * payload, so the record is its header, and its wait and arg words when
 * nonzero (a queue's operation: its size). t's thread is inside the
 * recorder (t->guard). Shared by record() (runtime.c's write_repeat) and
 * weft_record_short, inline in both. 1: written; 0: nothing was, the
 * record goes the ordinary way.
 */
static inline __attribute__((always_inline)) int weft_ring_repeat(struct weft_tls *t, uint8_t kind,
								  uint8_t objkind, uint64_t obj,
								  uint64_t ts, uint64_t wait,
								  int64_t arg, uint64_t frame)
{
	/* A last frame is only set by a record with its time (claim_slot clears both): have_ts. */
	if (!(frame && obj && obj == t->last_obj && ts - t->last_ts <= UINT32_MAX))
		return 0;
	uint8_t flags = weft_ring_frame_flag(t, frame);
	if (!flags)
		return 0;
	flags |= WEFT_RF_SAMEOBJ;
	uint64_t h = t->head, n = 1 + (wait != 0) + (arg != 0);
	/* Past the first lap every word is backed: populated stops at WEFT_RING_WORDS, h does not.
	 */
	if (!WEFT_LIKELY(h + n - t->tail_cache <= WEFT_RING_WORDS &&
			 (h + n <= t->populated || t->populated == WEFT_RING_WORDS)))
		return 0;
	if (wait)
		flags |= WEFT_RF_WAIT;
	if (arg)
		flags |= WEFT_RF_ARG;
	struct weft_rec_header hdr = {kind, objkind, 0, flags, (uint32_t)(ts - t->last_ts)};
	uint64_t w0;
	__builtin_memcpy(&w0, &hdr, 8);
	uint64_t *ring = t->ring;
	const uint64_t mask = WEFT_RING_WORDS - 1;
	/* The ring is far larger than any cache: the lines about to be written are fetched now. */
	__builtin_prefetch(&ring[(h + 64) & mask], 1, 0);
	ring[h & mask] = w0;
	if (wait)
		ring[(h + 1) & mask] = wait;
	if (arg)
		ring[(h + n - 1) & mask] = (uint64_t)arg;
	weft_ring_frame_seen(t, frame);
	t->last_ts = ts;
	t->head = h + n;
	__atomic_store_n(&t->slot->head, h + n, __ATOMIC_RELEASE);
	return 1;
}

/*
 * The same for a caller that knows the record's one-word stack (frame)
 * without taking it, written here without record()'s stack taking and
 * errno bookkeeping (nothing here sets errno); inline, so a Python lock's
 * record costs no call. ts comes from weft_stamp(), whose announcement is
 * cleared once written. A pthread-level object while the race detector
 * runs is left to record(), which tells the race detector first.
 * 1: written; 0: nothing was, the caller records it the ordinary way.
 */
static inline __attribute__((always_inline)) int weft_record_short(uint8_t kind, uint8_t objkind,
								   const void *obj, uint64_t ts,
								   uint64_t wait, int64_t arg,
								   uint64_t frame)
{
	struct weft_tls *t = &weft_tls;
	if (objkind >= WEFT_OBJ_MUTEX && objkind <= WEFT_OBJ_COND &&
	    objkind != WEFT_OBJ_SEMAPHORE && WEFT_UNLIKELY(weft_races_on))
		return 0;
	struct weft_slot *s = t->slot;
	if (WEFT_UNLIKELY(t->guard | t->py_nheld) || WEFT_UNLIKELY(!s))
		return 0;
	/*
	 * A signal handler's record between the checks and the write would
	 * move the head under us: with the guard up it is counted instead, as
	 * record() does. The fences keep the compiler from moving the ring's
	 * accesses outside the guarded stretch.
	 */
	t->guard = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	int done =
	    weft_ring_repeat(t, kind, objkind, (uint64_t)(uintptr_t)obj, ts, wait, arg, frame);
	if (done)
		__atomic_store_n(&s->open_ts, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->guard = 0;
	return done;
}

/* A record of its header word alone: weft_record_short without wait or arg. */
static inline __attribute__((always_inline)) int
weft_record_repeat(uint8_t kind, uint8_t objkind, const void *obj, uint64_t ts, uint64_t frame)
{
	return weft_record_short(kind, objkind, obj, ts, 0, 0, frame);
}

/*
 * The layers above the recorder (the Python layer, the race detector)
 * register what the recorder must tell them or ask of them: runtime.c
 * calls no other file of the library, so no layer is ever called back
 * directly and none forms a cycle with it. Members an observer lacks
 * are NULL.
 */
struct weft_observer {
	/* After fork(), in the parent; in the child, whose rings are new. */
	void (*after_fork_parent)(void);
	void (*after_fork_child)(void);
	/* The calling thread ends (its ring is retired). */
	void (*thread_end)(void);
	/*
	 * The hot ones, one observer each (the last registered), called
	 * without a NULL check, only when the flag that says its observer
	 * is there is set:
	 * sync while weft_races_on (a pthread lock or condition operation
	 * being recorded orders memory), frames in a Python process
	 * (weft_pyrt_len: the calling thread's Python frames, innermost
	 * first, caller or full as the stack mode says; how many), and
	 * let_out_held while weft_tls.py_nheld (the records held back come
	 * before any other).
	 */
	void (*sync)(int acquire, const void *obj, int lock_like);
	int (*frames)(void **pcs, int max);
	void (*let_out_held)(void);
};
/*
 * Registers an observer, before any thread but the first runs (from
 * preload/entry.c, or the Python layer's start-up). On success returns 0;
 * -1 when WEFT_MAX_OBSERVERS are registered already.
 */
int weft_observe(const struct weft_observer *o);
#define WEFT_MAX_OBSERVERS 4

/*
 * Starts the recorder (the library's entry calls it): the environment,
 * the connection to the collector. On success returns 0 and recording is
 * on; otherwise -1 and the process runs untraced.
 */
int weft_start(void);

/* The tid of another thread of this process, or 0 when unknown. */
int weft_thread_tid(pthread_t t);

/* Thread lifecycle, from preload/hooks_thread.c and the TSD destructor. */
void weft_thread_retire(void);
/* Tells the collector the final count of calls lost for want of a ring (at exit). */
void weft_flush_lost(void);

/* Builds envp with the tracer's variables re-injected (into buf, which has room for n entries). */
char **weft_env_fix(char *const envp[], char **buf, size_t n, char *ldbuf, size_t ldlen);
size_t weft_env_count(char *const envp[]);
/* True when envp still has the tracer's socket variable and our library in LD_PRELOAD. */
int weft_env_intact(char *const envp[]);

/* The socket the library talks to the collector on (never closed by the program). */
extern int weft_sock_fd;

/* After fork in the child: fresh buffers and a new connection. */
void weft_after_fork_child(void);

#endif
