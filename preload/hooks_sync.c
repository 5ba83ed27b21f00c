/*
 * Hooks for pthread mutexes, rwlocks, spin locks, condition variables,
 * barriers and POSIX semaphores.
 *
 * A blocking acquire first tries the non-blocking variant: when it succeeds
 * (the common, uncontended case) one clock read is enough and wait_ns is 0.
 * Acquires are recorded after the lock is held and releases before it is
 * let go, so hold intervals of different threads never overlap in time.
 */
#include "preload/preload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

#define CALLER __builtin_return_address(0)

/* rc is a pthread-style result: 0 (or EOWNERDEAD, which also acquires) or an error. */
static void record_acquire(int rc, uint8_t objkind, const void *obj, uint64_t ts, uint64_t wait,
			   int64_t mode, void *caller)
{
	if (rc == 0 || rc == EOWNERDEAD)
		weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_ACQUIRE,
						 .objkind = objkind,
						 .obj = obj,
						 .ts = ts,
						 .wait = wait,
						 .arg = mode,
						 .caller = caller});
	else
		weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_FAIL,
						 .objkind = objkind,
						 .obj = obj,
						 .ts = ts,
						 .wait = wait,
						 .arg = rc,
						 .caller = caller});
}

static void record_init(uint8_t objkind, const void *obj, void *caller)
{
	if (weft_in_pyrt(obj))
		return;
	if (weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_REC_OBJECT_INIT,
						 .objkind = objkind,
						 .obj = obj,
						 .ts = weft_stamp(),
						 .arg = objkind,
						 .caller = caller});
}

static void record_destroy(uint8_t objkind, const void *obj, void *caller)
{
	if (WEFT_UNLIKELY(weft_races_on))
		weft_races_sync_destroyed(obj);
	if (weft_in_pyrt(obj))
		return;
	if (weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_EV_OBJECT_DESTROY,
						 .objkind = objkind,
						 .obj = obj,
						 .ts = weft_stamp(),
						 .caller = caller});
}

/* Blocking acquire with a non-blocking first try: pthread-style return values. */
#define ACQUIRE_HOOK(fn, trylock_fn, type, obj_kind, mode)                                         \
	WEFT_HOOK int fn(type *o)                                                                  \
	{                                                                                          \
		if (!weft_should_record())                                                         \
			return REAL(fn)(o);                                                        \
		uint64_t wait = 0, ts;                                                             \
		int rc = REAL(trylock_fn)(o);                                                      \
		if (rc == EBUSY) {                                                                 \
			uint64_t t0 = weft_stamp();                                                \
			weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_WAIT,                \
							 .objkind = obj_kind,                      \
							 .obj = (const void *)o,                   \
							 .ts = t0,                                 \
							 .arg = mode,                              \
							 .caller = CALLER});                       \
			rc = REAL(fn)(o);                                                          \
			ts = weft_stamp();                                                         \
			wait = ts - t0;                                                            \
		} else {                                                                           \
			ts = weft_stamp();                                                         \
		}                                                                                  \
		record_acquire(rc, obj_kind, (const void *)o, ts, wait, mode, CALLER);             \
		return rc;                                                                         \
	}

/* Non-blocking try: EBUSY is a lock.fail. */
#define TRY_HOOK(fn, type, obj_kind, mode)                                                         \
	WEFT_HOOK int fn(type *o)                                                                  \
	{                                                                                          \
		if (!weft_should_record())                                                         \
			return REAL(fn)(o);                                                        \
		int rc = REAL(fn)(o);                                                              \
		record_acquire(rc, obj_kind, (const void *)o, weft_stamp(), 0, mode, CALLER);      \
		return rc;                                                                         \
	}

/* Timed acquire: extra arguments passed through, the time spent is the wait. */
#define TIMED_HOOK(fn, type, obj_kind, mode, params, args)                                         \
	WEFT_HOOK int fn params                                                                    \
	{                                                                                          \
		if (!weft_should_record())                                                         \
			return REAL(fn) args;                                                      \
		uint64_t t0 = weft_now();                                                          \
		int rc = REAL(fn) args;                                                            \
		uint64_t ts = weft_stamp();                                                        \
		record_acquire(rc, obj_kind, (const void *)o, ts, ts - t0, mode, CALLER);          \
		return rc;                                                                         \
	}

#define RELEASE_HOOK(fn, type, obj_kind)                                                           \
	WEFT_HOOK int fn(type *o)                                                                  \
	{                                                                                          \
		if (weft_should_record())                                                          \
			weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_RELEASE,             \
							 .objkind = obj_kind,                      \
							 .obj = (const void *)o,                   \
							 .ts = weft_stamp(),                       \
							 .caller = CALLER});                       \
		return REAL(fn)(o);                                                                \
	}

#define DESTROY_HOOK(fn, type, obj_kind)                                                           \
	WEFT_HOOK int fn(type *o)                                                                  \
	{                                                                                          \
		record_destroy(obj_kind, (const void *)o, CALLER);                                 \
		return REAL(fn)(o);                                                                \
	}

/* ---- mutexes ------------------------------------------------------------ */

/* CPython's GIL mutexes live inside _PyRuntime: they are read as GIL events, not locks. */
static int mutex_lock_traced(pthread_mutex_t *o, void *caller)
{
	uint64_t wait = 0, ts;
	int rc = REAL(pthread_mutex_trylock)(o);
	if (rc == EBUSY) {
		uint64_t t0 = weft_stamp();
		/* Said before blocking, so a thread that never gets the lock is known to wait. */
		weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_WAIT,
						 .objkind = WEFT_OBJ_MUTEX,
						 .obj = o,
						 .ts = t0,
						 .caller = caller});
		rc = REAL(pthread_mutex_lock)(o);
		ts = weft_stamp();
		wait = ts - t0;
	} else {
		ts = weft_stamp();
	}
	record_acquire(rc, WEFT_OBJ_MUTEX, o, ts, wait, 0, caller);
	return rc;
}

WEFT_HOOK int pthread_mutex_lock(pthread_mutex_t *o)
{
	if (weft_in_pyrt(o))
		return weft_gil_mutex_lock(o);
	if (!weft_should_record() || weft_in_pydata(o))
		return REAL(pthread_mutex_lock)(o);
	return mutex_lock_traced(o, CALLER);
}

WEFT_HOOK int pthread_mutex_unlock(pthread_mutex_t *o)
{
	if (weft_in_pyrt(o))
		return weft_gil_mutex_unlock(o);
	if (weft_should_record() && !weft_in_pydata(o))
		weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_RELEASE,
						 .objkind = WEFT_OBJ_MUTEX,
						 .obj = o,
						 .ts = weft_stamp(),
						 .caller = CALLER});
	return REAL(pthread_mutex_unlock)(o);
}

WEFT_HOOK int pthread_mutex_trylock(pthread_mutex_t *o)
{
	if (weft_in_pyrt(o) || !weft_should_record() || weft_in_pydata(o))
		return REAL(pthread_mutex_trylock)(o);
	int rc = REAL(pthread_mutex_trylock)(o);
	record_acquire(rc, WEFT_OBJ_MUTEX, o, weft_stamp(), 0, 0, CALLER);
	return rc;
}
TIMED_HOOK(pthread_mutex_timedlock, pthread_mutex_t, WEFT_OBJ_MUTEX, 0,
	   (pthread_mutex_t * o, const struct timespec *t), (o, t))
TIMED_HOOK(pthread_mutex_clocklock, pthread_mutex_t, WEFT_OBJ_MUTEX, 0,
	   (pthread_mutex_t * o, clockid_t c, const struct timespec *t), (o, c, t))
DESTROY_HOOK(pthread_mutex_destroy, pthread_mutex_t, WEFT_OBJ_MUTEX)

WEFT_HOOK int pthread_mutex_init(pthread_mutex_t *o, const pthread_mutexattr_t *a)
{
	int rc = REAL(pthread_mutex_init)(o, a);
	if (rc == 0)
		record_init(WEFT_OBJ_MUTEX, o, CALLER);
	return rc;
}

/* ---- rwlocks ------------------------------------------------------------ */

ACQUIRE_HOOK(pthread_rwlock_rdlock, pthread_rwlock_tryrdlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK, 0)
ACQUIRE_HOOK(pthread_rwlock_wrlock, pthread_rwlock_trywrlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK, 1)
TRY_HOOK(pthread_rwlock_tryrdlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK, 0)
TRY_HOOK(pthread_rwlock_trywrlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK, 1)
TIMED_HOOK(pthread_rwlock_timedrdlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK, 0,
	   (pthread_rwlock_t * o, const struct timespec *t), (o, t))
TIMED_HOOK(pthread_rwlock_timedwrlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK, 1,
	   (pthread_rwlock_t * o, const struct timespec *t), (o, t))
TIMED_HOOK(pthread_rwlock_clockrdlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK, 0,
	   (pthread_rwlock_t * o, clockid_t c, const struct timespec *t), (o, c, t))
TIMED_HOOK(pthread_rwlock_clockwrlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK, 1,
	   (pthread_rwlock_t * o, clockid_t c, const struct timespec *t), (o, c, t))
RELEASE_HOOK(pthread_rwlock_unlock, pthread_rwlock_t, WEFT_OBJ_RWLOCK)
DESTROY_HOOK(pthread_rwlock_destroy, pthread_rwlock_t, WEFT_OBJ_RWLOCK)

WEFT_HOOK int pthread_rwlock_init(pthread_rwlock_t *o, const pthread_rwlockattr_t *a)
{
	int rc = REAL(pthread_rwlock_init)(o, a);
	if (rc == 0)
		record_init(WEFT_OBJ_RWLOCK, o, CALLER);
	return rc;
}

/* ---- spin locks ---------------------------------------------------------- */

ACQUIRE_HOOK(pthread_spin_lock, pthread_spin_trylock, pthread_spinlock_t, WEFT_OBJ_SPINLOCK, 0)
TRY_HOOK(pthread_spin_trylock, pthread_spinlock_t, WEFT_OBJ_SPINLOCK, 0)
RELEASE_HOOK(pthread_spin_unlock, pthread_spinlock_t, WEFT_OBJ_SPINLOCK)
DESTROY_HOOK(pthread_spin_destroy, pthread_spinlock_t, WEFT_OBJ_SPINLOCK)

WEFT_HOOK int pthread_spin_init(pthread_spinlock_t *o, int pshared)
{
	int rc = REAL(pthread_spin_init)(o, pshared);
	if (rc == 0)
		record_init(WEFT_OBJ_SPINLOCK, (const void *)o, CALLER);
	return rc;
}

/* ---- condition variables ------------------------------------------------- */

/*
 * A wait is three records: the mutex let go (arg 2), the wait itself, the
 * mutex held again (arg 2), so lock holding can be derived from events alone.
 */
static int cond_wait_common(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
			    const struct timespec *abs, int kind, void *caller)
{
	uint64_t t0 = weft_stamp();
	weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_RELEASE,
					 .objkind = WEFT_OBJ_MUTEX,
					 .obj = m,
					 .ts = t0,
					 .arg = 2,
					 .caller = caller});
	int rc = weft_real_cond_wait(c, m, clk, abs, kind);
	uint64_t t1 = weft_stamp();
	weft_record(&(struct weft_event){.kind = WEFT_EV_COND_WAIT,
					 .objkind = WEFT_OBJ_COND,
					 .obj = c,
					 .ts = t1,
					 .wait = t1 - t0,
					 .arg = rc,
					 .caller = caller});
	weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_ACQUIRE,
					 .objkind = WEFT_OBJ_MUTEX,
					 .obj = m,
					 .ts = t1,
					 .arg = 2,
					 .caller = caller});
	return rc;
}

WEFT_HOOK int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	if (weft_in_pyrt(c))
		return weft_gil_cond_wait(c, m, 0, NULL, 0);
	if (!weft_should_record())
		return REAL(pthread_cond_wait)(c, m);
	return cond_wait_common(c, m, 0, NULL, 0, CALLER);
}

WEFT_HOOK int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *abs)
{
	if (weft_in_pyrt(c))
		return weft_gil_cond_wait(c, m, 0, abs, 1);
	if (!weft_should_record())
		return REAL(pthread_cond_timedwait)(c, m, abs);
	return cond_wait_common(c, m, 0, abs, 1, CALLER);
}

WEFT_HOOK int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				     const struct timespec *abs)
{
	if (weft_in_pyrt(c))
		return weft_gil_cond_wait(c, m, clk, abs, 2);
	if (!weft_should_record())
		return REAL(pthread_cond_clockwait)(c, m, clk, abs);
	return cond_wait_common(c, m, clk, abs, 2, CALLER);
}

WEFT_HOOK int pthread_cond_signal(pthread_cond_t *c)
{
	if (weft_in_pyrt(c))
		return weft_gil_cond_signal(c, 0);
	if (weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_EV_COND_SIGNAL,
						 .objkind = WEFT_OBJ_COND,
						 .obj = c,
						 .ts = weft_stamp(),
						 .caller = CALLER});
	return REAL(pthread_cond_signal)(c);
}

WEFT_HOOK int pthread_cond_broadcast(pthread_cond_t *c)
{
	if (weft_in_pyrt(c))
		return weft_gil_cond_signal(c, 1);
	if (weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_EV_COND_BROADCAST,
						 .objkind = WEFT_OBJ_COND,
						 .obj = c,
						 .ts = weft_stamp(),
						 .caller = CALLER});
	return REAL(pthread_cond_broadcast)(c);
}

WEFT_HOOK int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
	int rc = REAL(pthread_cond_init)(c, a);
	if (rc == 0)
		record_init(WEFT_OBJ_COND, c, CALLER);
	return rc;
}

DESTROY_HOOK(pthread_cond_destroy, pthread_cond_t, WEFT_OBJ_COND)

/* ---- barriers ------------------------------------------------------------ */

WEFT_HOOK int pthread_barrier_wait(pthread_barrier_t *b)
{
	if (!weft_should_record())
		return REAL(pthread_barrier_wait)(b);
	uint64_t t0 = weft_now();
	int rc = REAL(pthread_barrier_wait)(b);
	uint64_t t1 = weft_stamp();
	weft_record(&(struct weft_event){.kind = WEFT_EV_BARRIER_WAIT,
					 .objkind = WEFT_OBJ_BARRIER,
					 .obj = b,
					 .ts = t1,
					 .wait = t1 - t0,
					 .arg = rc == PTHREAD_BARRIER_SERIAL_THREAD,
					 .caller = CALLER});
	return rc;
}

WEFT_HOOK int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *a,
				   unsigned count)
{
	int rc = REAL(pthread_barrier_init)(b, a, count);
	if (rc == 0)
		record_init(WEFT_OBJ_BARRIER, b, CALLER);
	return rc;
}

DESTROY_HOOK(pthread_barrier_destroy, pthread_barrier_t, WEFT_OBJ_BARRIER)

/* ---- semaphores (return -1 and set errno) -------------------------------- */

/*
 * For the race detector every operation on a traced semaphore counts, the
 * folded ones too: Condition.wait lets go of its lock and takes it back
 * inside a method recorded as one event, and that hand-off orders memory.
 */
static void sem_acquired(sem_t *s)
{
	if (weft_pyrt_len) {
		weft_tls.last_sem = s; /* an RLock's outer acquire: see m_rlock in python.c */
		if (WEFT_UNLIKELY(weft_races_on))
			weft_races_sync(1, s, 1);
	}
}

/* An acquire the hook did not record (folded, or an untraced semaphore). */
static int sem_races(int rc, sem_t *s)
{
	if (rc == 0 && weft_pyrt_len && weft_sem_traced(s))
		sem_acquired(s);
	return rc;
}

/* The recording hooks' semaphores are traced already. */
static void record_sem(int rc, int err, sem_t *s, uint64_t ts, uint64_t wait, void *caller)
{
	if (rc == 0)
		sem_acquired(s);
	record_acquire(rc == 0 ? 0 : err, WEFT_OBJ_SEMAPHORE, s, ts, wait, 0, caller);
}

enum { SEM_WAIT, SEM_TIMEDWAIT, SEM_CLOCKWAIT };

/*
 * sem_wait and its timed forms: a wait that has to block is shown waiting
 * first (lock.wait; a thread stuck in it must show what it waits for), a
 * timed one marked so (WEFT_WAIT_TIMED: Python's acquire(timeout=...) ends
 * here, and it gives up by itself).
 */
static int blocking_sem_wait(sem_t *s, int how, clockid_t clk, const struct timespec *abs,
			     void *caller)
{
	int saved = errno;
	uint64_t wait = 0, ts;
	if (WEFT_UNLIKELY(weft_tls.py_nheld))
		weft_python_blocking_wait(s);
	int rc = REAL(sem_trywait)(s);
	if (rc < 0 && errno == EAGAIN) {
		errno = saved;
		uint64_t t0 = weft_stamp();
		weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_WAIT,
						 .objkind = WEFT_OBJ_SEMAPHORE,
						 .obj = s,
						 .ts = t0,
						 .arg = how == SEM_WAIT ? 0 : WEFT_WAIT_TIMED,
						 .caller = caller});
		rc = how == SEM_WAIT	    ? REAL(sem_wait)(s)
		     : how == SEM_CLOCKWAIT ? REAL(sem_clockwait)(s, clk, abs)
					    : REAL(sem_timedwait)(s, abs);
		ts = weft_stamp();
		wait = ts - t0;
	} else {
		ts = weft_stamp();
	}
	record_sem(rc, errno, s, ts, wait, caller);
	return rc;
}

WEFT_HOOK int sem_wait(sem_t *s)
{
	if (!weft_should_record() || !weft_sem_traced(s))
		return sem_races(REAL(sem_wait)(s), s);
	return blocking_sem_wait(s, SEM_WAIT, 0, NULL, CALLER);
}

WEFT_HOOK int sem_trywait(sem_t *s)
{
	if (!weft_should_record() || !weft_sem_traced(s))
		return sem_races(REAL(sem_trywait)(s), s);
	int rc = REAL(sem_trywait)(s);
	int err = errno;
	if (rc == 0 && weft_pyrt_len) {
		/* A Python Lock's uncontended acquire (3.10-3.12): a with block's repeat if so. */
		uint64_t ts = weft_stamp();
		sem_acquired(s);
		if (!weft_python_record_repeat(WEFT_EV_LOCK_ACQUIRE, WEFT_OBJ_SEMAPHORE, s, ts,
					       CALLER))
			record_acquire(0, WEFT_OBJ_SEMAPHORE, s, ts, 0, 0, CALLER);
		errno = err;
		return rc;
	}
	/*
	 * Not stamped: a failure held back here may wait for the thread's
	 * next record, and an announced time would hold every other thread's
	 * records back as long (weft_stamp()).
	 */
	uint64_t ts = weft_now();
	if (rc < 0 && err == EAGAIN && weft_pyrt_len && weft_python_hold_trywait(s, ts, CALLER)) {
		errno = err;
		return rc;
	}
	record_sem(rc, err, s, ts, 0, CALLER);
	errno = err;
	return rc;
}

WEFT_HOOK int sem_timedwait(sem_t *s, const struct timespec *abs)
{
	if (!weft_should_record() || !weft_sem_traced(s))
		return sem_races(REAL(sem_timedwait)(s, abs), s);
	return blocking_sem_wait(s, SEM_TIMEDWAIT, CLOCK_REALTIME, abs, CALLER);
}

WEFT_HOOK int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abs)
{
	if (!weft_should_record() || !weft_sem_traced(s))
		return sem_races(REAL(sem_clockwait)(s, clk, abs), s);
	return blocking_sem_wait(s, SEM_CLOCKWAIT, clk, abs, CALLER);
}

WEFT_HOOK int sem_post(sem_t *s)
{
	if (WEFT_UNLIKELY(weft_races_on) && weft_sem_traced(s))
		weft_races_sync(0, s, 1);
	if (weft_should_record() && weft_sem_traced(s)) {
		uint64_t ts = weft_stamp();
		/* A Python Lock's release (3.10-3.12): a with block's repeat when it is. */
		if (!weft_pyrt_len || !weft_python_record_repeat(WEFT_EV_LOCK_RELEASE,
								 WEFT_OBJ_SEMAPHORE, s, ts, CALLER))
			weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_RELEASE,
							 .objkind = WEFT_OBJ_SEMAPHORE,
							 .obj = s,
							 .ts = ts,
							 .caller = CALLER});
	}
	return REAL(sem_post)(s);
}

/*
 * Whether p lies in the calling thread's stack, above this frame (in a
 * caller's frame). The bounds are asked once per thread; without them, a
 * few pages above this frame count.
 */
static int on_own_stack(const void *p)
{
	struct weft_tls *t = &weft_tls;
	uintptr_t a = (uintptr_t)p, here = (uintptr_t)__builtin_frame_address(0);
	if (!t->stack_hi) {
		pthread_attr_t attr;
		void *lo = NULL;
		size_t size = 0;
		int was_guarded = weft_enter();
		if (pthread_getattr_np(pthread_self(), &attr) == 0) {
			if (pthread_attr_getstack(&attr, &lo, &size) == 0 && size)
				t->stack_hi = (uintptr_t)lo + size;
			pthread_attr_destroy(&attr);
		}
		weft_leave(was_guarded);
		if (!t->stack_hi)
			t->stack_hi = 1; /* unknown: asked once */
	}
	if (t->stack_hi > 1)
		return a > here && a < t->stack_hi;
	return a - here < 16384;
}

WEFT_HOOK int sem_init(sem_t *s, int pshared, unsigned value)
{
	int rc = REAL(sem_init)(s, pshared, value);
	if (rc == 0)
		weft_tls.py_sem_inits++; /* the Python bootstrap's probe, see m_sem_inits */
	if (rc != 0 || !weft_should_record())
		return rc;
	if (!weft_pyrt_len) {
		record_init(WEFT_OBJ_SEMAPHORE, s, CALLER);
		return rc;
	}
	/*
	 * A semaphore a few frames up this thread's stack is the runtime's:
	 * 3.13's parking lot makes one per wait (on a contended PyMutex, with
	 * the GIL held), while a Lock's or RLock's is on the heap.
	 */
	if (on_own_stack(s))
		return rc;
	/* In Python a sem_t is a threading.Lock or RLock: name it from the Python caller. */
	weft_python_note_lock(s, CALLER);
	return rc;
}

WEFT_HOOK int sem_destroy(sem_t *s)
{
	/* record_destroy forgets it for the race detector; untraced ones never synchronized. */
	if (weft_sem_traced(s)) {
		record_destroy(WEFT_OBJ_SEMAPHORE, s, CALLER);
		if (weft_pyrt_len)
			weft_pysem_del(s);
	}
	return REAL(sem_destroy)(s);
}

/* Named semaphores (multiprocessing's locks): the name labels the object. */
WEFT_HOOK sem_t *sem_open(const char *name, int oflag, ...)
{
	sem_t *s;
	if (oflag & O_CREAT) {
		va_list ap;
		va_start(ap, oflag);
		mode_t mode = va_arg(ap, mode_t);
		unsigned value = va_arg(ap, unsigned);
		va_end(ap);
		s = REAL(sem_open)(name, oflag, mode, value);
	} else {
		s = REAL(sem_open)(name, oflag);
	}
	/* Inside an instrumented Python method (a multiprocessing.Queue's own locks): folded. */
	if (s != SEM_FAILED && weft_pyrt_len && weft_should_record())
		weft_pysem_add(s);
	if (s != SEM_FAILED && weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_REC_OBJECT_INIT,
						 .objkind = WEFT_OBJ_SEMAPHORE,
						 .obj = s,
						 .ts = weft_stamp(),
						 .arg = WEFT_OBJ_SEMAPHORE,
						 .caller = CALLER,
						 .payload = name,
						 .payload_len = (uint32_t)strlen(name) + 1});
	return s;
}

WEFT_HOOK int sem_close(sem_t *s)
{
	if (!weft_sem_traced(s))
		return REAL(sem_close)(s);
	if (weft_pyrt_len)
		weft_pysem_del(s);
	record_destroy(WEFT_OBJ_SEMAPHORE, s, CALLER);
	return REAL(sem_close)(s);
}
