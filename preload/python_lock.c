/*
 * threading.Lock on CPython 3.13.1 and later, and threading.RLock on 3.14
 * and later: the lock is a PyMutex, one byte inside the lock object, taken
 * by a compare-and-swap and never by a call into libc (contention goes
 * through CPython's parking lot), so the sem_t hooks that see them on
 * earlier versions see nothing of them. An RLock is a _PyRecursiveMutex:
 * the PyMutex, its owner's thread ident and the re-entry level.
 *
 * Here the lock types themselves are instrumented, once, by the bootstrap:
 * their acquire/release methods (a Lock's acquire, acquire_lock, __enter__,
 * release, release_lock, __exit__; an RLock's acquire, __enter__, release,
 * __exit__, _release_save, _acquire_restore) become method descriptors of
 * weft's that record and call the original C functions directly, with the
 * calling convention each original has (3.15's Argument Clinic gives
 * them FASTCALL forms and one function each), and their tp_new and
 * tp_dealloc slots are wrapped to name each lock made by the program and
 * to forget it when freed. Events are the same as the sem_t path's: a
 * lock's address stands for it, with kind py.lock or py.rlock from its
 * creation; an RLock's inner levels are rlock.enter/rlock.exit.
 *
 * The few layout facts used are checked on the live type before anything
 * is changed: where a method descriptor keeps its PyMethodDef, where a
 * type keeps tp_new and tp_dealloc, and where a lock object keeps its
 * PyMutex (and an RLock its owner and level): a lock made and taken here
 * must show them change as expected. When a check fails nothing of that
 * type is touched and the bootstrap prints its warning instead.
 */
#include "preload/preload.h"
#include "preload/pyapi.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#define py weft_py
#define CALLER __builtin_return_address(0)

#define DESCR_METHOD_OFFSET 40 /* PyMethodDescrObject.d_method, after PyDescr_COMMON */
#define TYPE_DEALLOC_OFFSET 48 /* PyTypeObject.tp_dealloc */
#define TYPE_NEW_OFFSET 312    /* PyTypeObject.tp_new */
#define OBJECT_TYPE_OFFSET 8   /* PyObject.ob_type */
#define TUPLE_SIZE_OFFSET 16   /* PyVarObject.ob_size */
#define LOCK_MUTEX_OFFSET 16   /* lockobject.lock, after PyObject_HEAD */
/* rlockobject.lock, a _PyRecursiveMutex: PyMutex, then the owner's ident and the level - 1. */
#define RLOCK_THREAD_OFFSET 24
#define RLOCK_LEVEL_OFFSET 32

typedef PyObject *(*py_kwfunc)(PyObject *, PyObject *, PyObject *);
typedef PyObject *(*py_cfunc)(PyObject *, PyObject *);
typedef PyObject *(*py_fastcall_kw)(PyObject *, PyObject *const *, py_ssize_t, PyObject *);
typedef void (*py_destructor)(PyObject *);

/* The calling conventions a lock method has been seen with (ml_flags), one trampoline each. */
enum { CONV_VARARGS_KW, CONV_VARARGS, CONV_O, CONV_NOARGS, CONV_FASTCALL, CONV_FASTCALL_KW, CONVS };
static const int conv_flags[CONVS] = {
    [CONV_VARARGS_KW] = PY_METH_VARARGS | PY_METH_KEYWORDS,
    [CONV_VARARGS] = PY_METH_VARARGS,
    [CONV_O] = PY_METH_O,
    [CONV_NOARGS] = PY_METH_NOARGS,
    [CONV_FASTCALL] = PY_METH_FASTCALL,
    [CONV_FASTCALL_KW] = PY_METH_FASTCALL | PY_METH_KEYWORDS,
};

/* One call's arguments, in the form of its convention. */
struct call {
	int conv;
	PyObject *args;	      /* VARARGS: the tuple; O: the argument */
	PyObject *kwds;	      /* VARARGS_KW: the dict or NULL */
	PyObject *const *vec; /* FASTCALL: the arguments, then the keywords' values */
	py_ssize_t nargs;
	PyObject *kwnames; /* FASTCALL_KW: a tuple or NULL */
};

enum { LOCK, RLOCK, KINDS };
enum { ACQUIRE, RELEASE, SAVE, RESTORE };

/* The methods replaced: X(kind, name, role), one row each, in trampoline order. */
#define LOCK_METHODS(X)                                                                            \
	X(LOCK, "acquire", ACQUIRE)                                                                \
	X(LOCK, "acquire_lock", ACQUIRE)                                                           \
	X(LOCK, "__enter__", ACQUIRE)                                                              \
	X(LOCK, "release", RELEASE)                                                                \
	X(LOCK, "release_lock", RELEASE)                                                           \
	X(LOCK, "__exit__", RELEASE)                                                               \
	X(RLOCK, "acquire", ACQUIRE)                                                               \
	X(RLOCK, "__enter__", ACQUIRE)                                                             \
	X(RLOCK, "release", RELEASE)                                                               \
	X(RLOCK, "__exit__", RELEASE)                                                              \
	X(RLOCK, "_release_save", SAVE)                                                            \
	X(RLOCK, "_acquire_restore", RESTORE)

/* The methods replaced, per lock type; orig and conv are read from the live type. */
#define METHOD_ROW(kind, name, role) {kind, name, role, 0, 0, {0}},
static struct lock_method {
	int kind;
	const char *name;
	int role;
	void *orig;
	int conv;
	struct py_method_def def;
} lock_methods[] = {LOCK_METHODS(METHOD_ROW)};
#define NMETHODS (sizeof(lock_methods) / sizeof(lock_methods[0]))

/* The same kinds and roles as constants, which each trampoline's inlined fast path folds. */
#define METHOD_KIND(kind, name, role) kind,
#define METHOD_ROLE(kind, name, role) role,
static const unsigned char method_kind[] = {LOCK_METHODS(METHOD_KIND)};
static const unsigned char method_role[] = {LOCK_METHODS(METHOD_ROLE)};

/* The hooked types and their original slots. */
static struct {
	PyObject *type;
	py_kwfunc orig_new;
	py_destructor orig_dealloc;
} hooked[KINDS];
static PyObject *lock_type; /* hooked[LOCK].type, for allocate_lock */
/*
 * A Lock's uncontended acquire and release are done here (mutex_try_lock,
 * mutex_try_unlock): set once the layout check saw them interoperate with
 * the originals, and True and None are immortal (3.12+), so returning them
 * takes no reference the way the originals' Py_RETURN_TRUE does.
 */
static int fast_path;
/* The same for an RLock's outermost acquire and release (rlock_try_lock, rlock_try_unlock). */
static int rlock_fast_path;

static PyObject *call_orig(const struct lock_method *m, PyObject *self, const struct call *c)
{
	switch (c->conv) {
	case CONV_VARARGS_KW:
		return ((py_kwfunc)m->orig)(self, c->args, c->kwds);
	case CONV_VARARGS:
	case CONV_O:
		return ((py_cfunc)m->orig)(self, c->args);
	case CONV_NOARGS:
		return ((py_cfunc)m->orig)(self, NULL);
	case CONV_FASTCALL:
		return ((py_fastcall)m->orig)(self, c->vec, c->nargs);
	default:
		return ((py_fastcall_kw)m->orig)(self, c->vec, c->nargs, c->kwnames);
	}
}

static int mutex_locked(PyObject *lock)
{
	return __atomic_load_n((unsigned char *)lock + LOCK_MUTEX_OFFSET, __ATOMIC_RELAXED) & 1;
}

/* PyMutex's bits (CPython's pycore_lock.h): held, and a waiter parked in the parking lot. */
#define MUTEX_LOCKED 1
#define MUTEX_HAS_PARKED 2

/*
 * The uncontended acquire, as CPython's own _PyMutex_LockTimed begins: a
 * free mutex is taken by one compare-and-swap that keeps the parked bit.
 * The original would parse its arguments (a tuple and keywords on 3.14)
 * before getting there, the larger part of what a `with lock:` costs; a
 * mutex found held (or lost to another thread meanwhile) goes to the
 * original, which waits. 1: taken.
 */
static int mutex_try_lock(PyObject *lock)
{
	unsigned char *bits = (unsigned char *)lock + LOCK_MUTEX_OFFSET;
	unsigned char v = __atomic_load_n(bits, __ATOMIC_RELAXED);
	return !(v & MUTEX_LOCKED) &&
	       __atomic_compare_exchange_n(bits, &v, (unsigned char)(v | MUTEX_LOCKED), 0,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/*
 * The uncontended release, as _PyMutex_TryUnlock: held with nobody parked,
 * one compare-and-swap lets it go. A parked waiter must be woken through
 * the parking lot, and an unlocked mutex is the original's error: both go
 * to the original. 1: released.
 */
static int mutex_try_unlock(PyObject *lock)
{
	unsigned char *bits = (unsigned char *)lock + LOCK_MUTEX_OFFSET;
	unsigned char v = MUTEX_LOCKED;
	return __atomic_compare_exchange_n(bits, &v, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/*
 * A call the original would accept and answer as the inline path does:
 * acquire() and __enter__() without arguments (a blocking acquire with no
 * deadline), release() and __exit__ as a with statement calls it (3.13
 * and 3.14's METH_VARARGS __exit__ ignores its arguments; 3.15's
 * Argument Clinic form takes exactly three). Anything else, including
 * keywords, is left to the original to parse or refuse.
 */
static inline __attribute__((always_inline)) int plain_call(const struct call *c, int role)
{
	switch (c->conv) {
	case CONV_NOARGS:
		return 1;
	case CONV_VARARGS_KW:
	case CONV_VARARGS: {
		if (!c->args || c->kwds)
			return 0;
		py_ssize_t n = *(py_ssize_t *)((char *)c->args + TUPLE_SIZE_OFFSET);
		return n == 0 || (role == RELEASE && c->conv == CONV_VARARGS && n == 3);
	}
	case CONV_FASTCALL:
	case CONV_FASTCALL_KW:
		return !c->kwnames && (c->nargs == 0 || (role == RELEASE && c->nargs == 3));
	default:
		return 0;
	}
}

/*
 * acquire(False), as Condition._is_owned asks a Lock at every notify and
 * wait: one positional False, no keywords. The original then tries the
 * mutex once and answers True or False without waiting.
 */
static inline __attribute__((always_inline)) int try_call(const struct call *c)
{
	switch (c->conv) {
	case CONV_VARARGS_KW:
	case CONV_VARARGS:
		return c->args && !c->kwds &&
		       *(py_ssize_t *)((char *)c->args + TUPLE_SIZE_OFFSET) == 1 &&
		       py.PyTuple_GetItem(c->args, 0) == py.false_obj;
	case CONV_FASTCALL:
	case CONV_FASTCALL_KW:
		return !c->kwnames && c->nargs == 1 && c->vec[0] == py.false_obj;
	default:
		return 0;
	}
}

static unsigned long long rlock_owner(PyObject *lock)
{
	return __atomic_load_n((unsigned long long *)((char *)lock + RLOCK_THREAD_OFFSET),
			       __ATOMIC_RELAXED);
}

/* How many times this thread holds the RLock (0: another thread, or nobody). */
static size_t rlock_depth(PyObject *lock)
{
	if (!mutex_locked(lock) || rlock_owner(lock) != (unsigned long long)pthread_self())
		return 0;
	return *(size_t *)((char *)lock + RLOCK_LEVEL_OFFSET) + 1;
}

/*
 * An RLock's outermost acquire, as _PyRecursiveMutex_Lock does it for a
 * thread that does not own it: the mutex by mutex_try_lock, then the owner
 * (its level is 0 while nobody owns it). A held mutex, this thread's own
 * included (re-entry), goes to the original. 1: taken.
 */
static int rlock_try_lock(PyObject *lock)
{
	if (!mutex_try_lock(lock))
		return 0;
	__atomic_store_n((unsigned long long *)((char *)lock + RLOCK_THREAD_OFFSET),
			 (unsigned long long)pthread_self(), __ATOMIC_RELAXED);
	return 1;
}

/* Held once by this thread with nobody parked: what rlock_try_unlock lets go. */
static int rlock_held_once(PyObject *lock)
{
	return __atomic_load_n((unsigned char *)lock + LOCK_MUTEX_OFFSET, __ATOMIC_RELAXED) ==
		   MUTEX_LOCKED &&
	       rlock_owner(lock) == (unsigned long long)pthread_self() &&
	       *(size_t *)((char *)lock + RLOCK_LEVEL_OFFSET) == 0;
}

/*
 * The outermost release of an RLock rlock_held_once found (deeper levels,
 * another owner and an unheld lock are the original's), as
 * _PyRecursiveMutex_TryUnlock: the owner cleared, then the mutex let go
 * by one compare-and-swap. A waiter that parked meanwhile gets the owner
 * back and the original wakes it. 1: released.
 */
static int rlock_try_unlock(PyObject *lock)
{
	unsigned long long *owner = (unsigned long long *)((char *)lock + RLOCK_THREAD_OFFSET);
	unsigned long long me = __atomic_load_n(owner, __ATOMIC_RELAXED);
	__atomic_store_n(owner, 0, __ATOMIC_RELAXED);
	if (mutex_try_unlock(lock))
		return 1;
	__atomic_store_n(owner, me, __ATOMIC_RELAXED);
	return 0;
}

/* A number's truth without running user code: -1 for other types (taken as true). */
static int plain_truth(PyObject *o)
{
	PyObject *type = *(PyObject **)((char *)o + OBJECT_TYPE_OFFSET);
	if (type != py.PyBool_Type && type != py.PyLong_Type && type != py.PyFloat_Type)
		return -1;
	return py.PyObject_IsTrue(o);
}

/* Argument pos, or the keyword name, of a call; NULL when not given. */
static PyObject *call_arg(const struct call *c, py_ssize_t pos, const char *name)
{
	if (c->conv == CONV_VARARGS_KW) {
		if (py.PyObject_Size(c->args) > pos)
			return py.PyTuple_GetItem(c->args, pos);
		return c->kwds ? py.PyDict_GetItemString(c->kwds, name) : NULL;
	}
	if (c->conv != CONV_FASTCALL_KW && c->conv != CONV_FASTCALL)
		return NULL;
	if (c->nargs > pos)
		return c->vec[pos];
	py_ssize_t nk = c->kwnames ? py.PyObject_Size(c->kwnames) : 0;
	for (py_ssize_t i = 0; i < nk; i++) {
		const char *k = py.PyUnicode_AsUTF8(py.PyTuple_GetItem(c->kwnames, i));
		if (k && !strcmp(k, name))
			return c->vec[c->nargs + i];
	}
	return NULL;
}

enum { WAIT_BLOCKS, WAIT_NEVER, WAIT_TIMED };

/*
 * How acquire(...) waits for a taken lock: not at all (acquire(False),
 * acquire(blocking=False), timeout=0), until a deadline (a timeout), or
 * for ever. Only asked about a lock that is taken, so the argument parsing
 * stays off the uncontended path; arguments of other types than bool, int
 * and float are left to the original to judge (their __bool__ is not run
 * twice).
 */
static int wait_mode(const struct call *c)
{
	PyObject *blocking = call_arg(c, 0, "blocking"), *timeout = call_arg(c, 1, "timeout");
	int mode = WAIT_BLOCKS;
	if (blocking && plain_truth(blocking) == 0)
		mode = WAIT_NEVER;
	else if (timeout && timeout != py.none) {
		int truth = plain_truth(timeout);
		if (truth == 0)
			mode = WAIT_NEVER;
		else if (truth == 1 &&
			 !(py.PyLong_AsLongLong(timeout) == -1 &&
			   *(PyObject **)((char *)timeout + OBJECT_TYPE_OFFSET) == py.PyLong_Type))
			mode = WAIT_TIMED; /* timeout=-1 is the default: no deadline */
	}
	if (py.PyErr_Occurred())
		py.PyErr_Clear(); /* a bad argument: the original will say so */
	return mode;
}

/*
 * A Lock's acquire, or an RLock's outer acquire (or _acquire_restore). A
 * lock found taken gets lock.wait before blocking (what shows a thread
 * stuck on it, and what the deadlock finder reads), then lock.acquire with
 * the wait, or lock.fail (EAGAIN when told not to block, ETIMEDOUT after a
 * timeout). An exception (a signal handler's, during the wait) passes
 * through.
 */
static PyObject *acquire(const struct lock_method *m, PyObject *self, const struct call *c,
			 void *caller)
{
	int inline_ok = fast_path && m->kind == LOCK && plain_call(c, ACQUIRE);
	if (!weft_should_record()) {
		PyObject *r;
		if (inline_ok && mutex_try_lock(self))
			r = py.true_obj;
		else if (fast_path && m->kind == LOCK && try_call(c)) /* folded: _is_owned */
			r = mutex_try_lock(self) ? py.true_obj : py.false_obj;
		else
			r = call_orig(m, self, c);
		if (r && (r == py.true_obj || m->role == RESTORE))
			WEFT_RACES_SYNC(1, self, 1);
		return r;
	}
	uint64_t t0 = 0;
	int waited = 0;
	if (mutex_locked(self)) {
		int mode = m->role == RESTORE ? WAIT_BLOCKS : wait_mode(c);
		if (mode != WAIT_NEVER) {
			waited = 1;
			t0 = weft_stamp();
			weft_record(
			    &(struct weft_event){.kind = WEFT_EV_LOCK_WAIT,
						 .objkind = WEFT_OBJ_SEMAPHORE,
						 .obj = self,
						 .ts = t0,
						 .arg = mode == WAIT_TIMED ? WEFT_WAIT_TIMED : 0,
						 .caller = caller});
		}
	}
	PyObject *r =
	    !waited && inline_ok && mutex_try_lock(self) ? py.true_obj : call_orig(m, self, c);
	uint64_t ts = weft_stamp();
	uint64_t wait = waited ? ts - t0 : 0;
	if (!r) {
		/* A signal handler raised during the wait (or a bad argument): the wait ended. */
		if (waited)
			weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_FAIL,
							 .objkind = WEFT_OBJ_SEMAPHORE,
							 .obj = self,
							 .ts = ts,
							 .wait = wait,
							 .arg = EINTR,
							 .caller = caller});
		else
			weft_unstamp();
		return r;
	}
	/* _acquire_restore returns None once it holds the lock. */
	if (r == py.true_obj || m->role == RESTORE) {
		WEFT_RACES_SYNC(1, self, 1);
		if (wait || !weft_python_record_repeat(WEFT_EV_LOCK_ACQUIRE, WEFT_OBJ_SEMAPHORE,
						       self, ts, caller))
			weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_ACQUIRE,
							 .objkind = WEFT_OBJ_SEMAPHORE,
							 .obj = self,
							 .ts = ts,
							 .wait = wait,
							 .caller = caller});
	} else {
		weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_FAIL,
						 .objkind = WEFT_OBJ_SEMAPHORE,
						 .obj = self,
						 .ts = ts,
						 .wait = wait,
						 .arg = waited ? ETIMEDOUT : EAGAIN,
						 .caller = caller});
	}
	return r;
}

/* The release of a held lock, recorded before the original lets it go. */
static void release_event(PyObject *self, void *caller)
{
	WEFT_RACES_SYNC(0, self, 1);
	if (!weft_should_record())
		return;
	uint64_t ts = weft_stamp();
	if (!weft_python_record_repeat(WEFT_EV_LOCK_RELEASE, WEFT_OBJ_SEMAPHORE, self, ts, caller))
		weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_RELEASE,
						 .objkind = WEFT_OBJ_SEMAPHORE,
						 .obj = self,
						 .ts = ts,
						 .caller = caller});
}

/*
 * weft_python_record_repeat's frame, read inline: when the caller is the
 * interpreter's (no call-site word), the remembered frame word
 * (weft_py_remembered); 0 otherwise.
 */
static inline __attribute__((always_inline)) uint64_t repeat_frame(const struct weft_py_repeat *R,
								   void *caller)
{
	if ((uintptr_t)caller - weft_pytext_lo >= weft_pytext_len)
		return 0;
	return weft_py_remembered(R);
}

/* A Lock's acquire or release without a wait: as a with block's repeats, or in full. */
static inline __attribute__((always_inline)) void lock_event(uint8_t kind, PyObject *self,
							     uint64_t ts, void *caller)
{
	const struct weft_py_repeat *R = &weft_py_repeat;
	int done =
	    R->tstate_tls
		? weft_record_repeat(kind, WEFT_OBJ_SEMAPHORE, self, ts, repeat_frame(R, caller))
		: weft_python_record_repeat(kind, WEFT_OBJ_SEMAPHORE, self, ts, caller);
	if (!done)
		weft_record(&(struct weft_event){.kind = kind,
						 .objkind = WEFT_OBJ_SEMAPHORE,
						 .obj = self,
						 .ts = ts,
						 .caller = caller});
}

/*
 * A trampoline's call, from its own arguments as its convention has them
 * (x, y, z: the tuple and keywords, or the vector, its length and the
 * keyword names). Rebuilt where it is needed, so a trampoline's fast path
 * keeps them in registers and its checks fold; a call whose address
 * reached a function outside would live in memory, written at each entry.
 */
static inline __attribute__((always_inline)) struct call call_of(int conv, uintptr_t x, uintptr_t y,
								 uintptr_t z)
{
	switch (conv) {
	case CONV_VARARGS_KW:
		return (struct call){conv, (PyObject *)x, (PyObject *)y, NULL, 0, NULL};
	case CONV_VARARGS:
	case CONV_O:
		return (struct call){conv, (PyObject *)x, NULL, NULL, 0, NULL};
	case CONV_NOARGS:
		return (struct call){conv, NULL, NULL, NULL, 0, NULL};
	default:
		return (struct call){.conv = conv,
				     .vec = (PyObject *const *)x,
				     .nargs = (py_ssize_t)y,
				     .kwnames = (PyObject *)z};
	}
}

/* The out-of-line calls of the trampolines: sc is slot * CONVS + conv. */
static __attribute__((noinline)) PyObject *orig_of(int sc, PyObject *self, uintptr_t x, uintptr_t y,
						   uintptr_t z)
{
	struct call c = call_of(sc % CONVS, x, y, z);
	return call_orig(&lock_methods[sc / CONVS], self, &c);
}

static PyObject *traced(int slot, PyObject *self, const struct call *c, void *caller);

static __attribute__((noinline)) PyObject *traced_of(int sc, PyObject *self, uintptr_t x,
						     uintptr_t y, uintptr_t z, void *caller)
{
	struct call c = call_of(sc % CONVS, x, y, z);
	return traced(sc / CONVS, self, &c, caller);
}

/*
 * A `with lock:` block's two calls when nobody waits, what the program
 * runs most, in one function with nothing asked twice: the acquire of a
 * free Lock, the release of a held one nobody is parked on, each by a
 * call plain_call accepted (enter() asked), while recording. NULL: not
 * that case, nothing was done (the general path takes it).
 */
static inline __attribute__((always_inline)) PyObject *uncontended(int sc, int kind, int role,
								   PyObject *self, uintptr_t x,
								   uintptr_t y, uintptr_t z,
								   void *caller)
{
	if (!weft_should_record())
		return NULL;
	if (role == ACQUIRE) {
		if (!(kind == LOCK ? mutex_try_lock(self) : rlock_try_lock(self)))
			return NULL;
		uint64_t ts = weft_stamp();
		WEFT_RACES_SYNC(1, self, 1);
		lock_event(WEFT_EV_LOCK_ACQUIRE, self, ts, caller);
		return py.true_obj;
	}
	unsigned char *bits = (unsigned char *)self + LOCK_MUTEX_OFFSET;
	if (kind == LOCK ? __atomic_load_n(bits, __ATOMIC_RELAXED) != MUTEX_LOCKED
			 : !rlock_held_once(self))
		return NULL;
	WEFT_RACES_SYNC(0, self, 1);
	lock_event(WEFT_EV_LOCK_RELEASE, self, weft_stamp(), caller);
	/* Recorded before it is let go, as release_event; a waiter parked meanwhile: the original.
	 */
	int released = kind == LOCK ? mutex_try_unlock(self) : rlock_try_unlock(self);
	return released ? py.none : orig_of(sc, self, x, y, z);
}

/*
 * Every replaced method: slot says which. A lock weft does not know (made
 * before the hook, or inside a threading/queue class) is only called.
 */
static PyObject *traced(int slot, PyObject *self, const struct call *c, void *caller)
{
	const struct lock_method *m = &lock_methods[slot];
	if (!weft_pysem_has(self))
		return call_orig(m, self, c);
	if (m->kind == LOCK) {
		if (m->role == ACQUIRE)
			return acquire(m, self, c, caller);
		/* A release of an unlocked lock is only its error. */
		if (mutex_locked(self))
			release_event(self, caller);
		if (fast_path && plain_call(c, RELEASE) && mutex_try_unlock(self))
			return py.none;
		return call_orig(m, self, c);
	}
	size_t depth = rlock_depth(self);
	if (m->role == RESTORE || (m->role == ACQUIRE && !depth))
		return acquire(m, self, c, caller);
	if (m->role == ACQUIRE) {
		/* Re-entry by the owner: never waits; the level reached. */
		PyObject *r = call_orig(m, self, c);
		if (r == py.true_obj && weft_should_record())
			weft_record(&(struct weft_event){.kind = WEFT_EV_RLOCK_ENTER,
							 .objkind = WEFT_OBJ_PY_RLOCK,
							 .obj = self,
							 .ts = weft_stamp(),
							 .arg = (int64_t)rlock_depth(self),
							 .caller = caller});
		return r;
	}
	/* release, __exit__, _release_save; not the owner: only the original's error. */
	if (depth == 1 || (depth && m->role == SAVE)) {
		release_event(self, caller);
		return call_orig(m, self, c);
	}
	PyObject *r = call_orig(m, self, c);
	if (r && depth && weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_EV_RLOCK_EXIT,
						 .objkind = WEFT_OBJ_PY_RLOCK,
						 .obj = self,
						 .ts = weft_stamp(),
						 .arg = (int64_t)(depth - 1),
						 .caller = caller});
	return r;
}

/*
 * What every trampoline calls: a Lock's uncontended call, and an RLock's
 * at its outermost level, inlined in each trampoline, with its convention,
 * kind and role known there (the argument checks fold away); everything
 * else in traced(). A Lock that
 * is not the program's (the interpreter's, or one made inside threading's
 * and queue's classes, whose work is folded into their own events) is
 * never recorded: only its own work is done, inline when uncontended.
 */
static inline __attribute__((always_inline)) PyObject *
enter(int slot, int conv, PyObject *self, uintptr_t x, uintptr_t y, uintptr_t z, void *caller)
{
	int sc = slot * CONVS + conv;
	if (method_kind[slot] == LOCK) {
		int role = method_role[slot];
		struct call c = call_of(conv, x, y, z);
		int plain = fast_path && plain_call(&c, role);
		if (!weft_pysem_has_again(self)) {
			if (plain) {
				if (role == ACQUIRE && mutex_try_lock(self))
					return py.true_obj;
				if (role == RELEASE && mutex_try_unlock(self))
					return py.none;
			} else if (fast_path && role == ACQUIRE && try_call(&c)) {
				/* The Condition's own lock, inside threading's and queue's methods.
				 */
				return mutex_try_lock(self) ? py.true_obj : py.false_obj;
			}
			return orig_of(sc, self, x, y, z);
		}
		PyObject *r = plain ? uncontended(sc, LOCK, role, self, x, y, z, caller) : NULL;
		if (r)
			return r;
	} else if (method_role[slot] == ACQUIRE || method_role[slot] == RELEASE) {
		/* An RLock's outermost level, when it is the program's (re-entry: traced()). */
		int role = method_role[slot];
		struct call c = call_of(conv, x, y, z);
		if (rlock_fast_path && plain_call(&c, role) && weft_pysem_has_again(self)) {
			PyObject *r = uncontended(sc, RLOCK, role, self, x, y, z, caller);
			if (r)
				return r;
		}
	}
	return traced_of(sc, self, x, y, z, caller);
}

/* One function per method and convention: a PyMethodDef carries no data of its own. */
#define TRAMPOLINES(i)                                                                             \
	static PyObject *t##i##_vk(PyObject *s, PyObject *a, PyObject *k)                          \
	{                                                                                          \
		return enter(i, CONV_VARARGS_KW, s, (uintptr_t)a, (uintptr_t)k, 0, CALLER);        \
	}                                                                                          \
	static PyObject *t##i##_v(PyObject *s, PyObject *a)                                        \
	{                                                                                          \
		return enter(i, CONV_VARARGS, s, (uintptr_t)a, 0, 0, CALLER);                      \
	}                                                                                          \
	static PyObject *t##i##_o(PyObject *s, PyObject *a)                                        \
	{                                                                                          \
		return enter(i, CONV_O, s, (uintptr_t)a, 0, 0, CALLER);                            \
	}                                                                                          \
	static PyObject *t##i##_n(PyObject *s, PyObject *unused)                                   \
	{                                                                                          \
		(void)unused;                                                                      \
		return enter(i, CONV_NOARGS, s, 0, 0, 0, CALLER);                                  \
	}                                                                                          \
	static PyObject *t##i##_f(PyObject *s, PyObject *const *v, py_ssize_t n)                   \
	{                                                                                          \
		return enter(i, CONV_FASTCALL, s, (uintptr_t)v, (uintptr_t)n, 0, CALLER);          \
	}                                                                                          \
	static PyObject *t##i##_fk(PyObject *s, PyObject *const *v, py_ssize_t n, PyObject *kn)    \
	{                                                                                          \
		return enter(i, CONV_FASTCALL_KW, s, (uintptr_t)v, (uintptr_t)n, (uintptr_t)kn,    \
			     CALLER);                                                              \
	}
#define TRAMPOLINE_ROW(i)                                                                          \
	{                                                                                          \
		[CONV_VARARGS_KW] = (void *)t##i##_vk, [CONV_VARARGS] = (void *)t##i##_v,          \
		[CONV_O] = (void *)t##i##_o, [CONV_NOARGS] = (void *)t##i##_n,                     \
		[CONV_FASTCALL] = (void *)t##i##_f, [CONV_FASTCALL_KW] = (void *)t##i##_fk,        \
	}
TRAMPOLINES(0)
TRAMPOLINES(1)
TRAMPOLINES(2)
TRAMPOLINES(3)
TRAMPOLINES(4)
TRAMPOLINES(5)
TRAMPOLINES(6)
TRAMPOLINES(7)
TRAMPOLINES(8)
TRAMPOLINES(9)
TRAMPOLINES(10)
TRAMPOLINES(11)
static void *const trampolines[][CONVS] = {
    TRAMPOLINE_ROW(0), TRAMPOLINE_ROW(1), TRAMPOLINE_ROW(2),  TRAMPOLINE_ROW(3),
    TRAMPOLINE_ROW(4), TRAMPOLINE_ROW(5), TRAMPOLINE_ROW(6),  TRAMPOLINE_ROW(7),
    TRAMPOLINE_ROW(8), TRAMPOLINE_ROW(9), TRAMPOLINE_ROW(10), TRAMPOLINE_ROW(11),
};
_Static_assert(sizeof(trampolines) / sizeof(trampolines[0]) == NMETHODS,
	       "a row of trampolines per replaced method");

/* tp_new: threading.Lock(), _thread.LockType(), threading.RLock(), _thread.RLock(). */
static PyObject *new_of(int kind, PyObject *type, PyObject *args, PyObject *kwds, void *caller)
{
	PyObject *lock = hooked[kind].orig_new(type, args, kwds);
	if (lock && weft_should_record()) /* not off, nor made inside a folded method */
		weft_python_note_lock(lock, caller);
	return lock;
}

static PyObject *traced_new_lock(PyObject *type, PyObject *args, PyObject *kwds)
{
	return new_of(LOCK, type, args, kwds, CALLER);
}

static PyObject *traced_new_rlock(PyObject *type, PyObject *args, PyObject *kwds)
{
	return new_of(RLOCK, type, args, kwds, CALLER);
}

/* tp_dealloc: the address may hold another lock next. */
static void dealloc_of(int kind, PyObject *lock, void *caller)
{
	if (weft_pysem_has(lock)) {
		if (WEFT_UNLIKELY(weft_races_on))
			weft_races_sync_destroyed(lock);
		if (weft_should_record())
			weft_record(&(struct weft_event){.kind = WEFT_EV_OBJECT_DESTROY,
							 .objkind = WEFT_OBJ_SEMAPHORE,
							 .obj = lock,
							 .ts = weft_stamp(),
							 .caller = caller});
		weft_pysem_del(lock);
	}
	hooked[kind].orig_dealloc(lock);
}

static void traced_dealloc_lock(PyObject *lock)
{
	dealloc_of(LOCK, lock, CALLER);
}

static void traced_dealloc_rlock(PyObject *lock)
{
	dealloc_of(RLOCK, lock, CALLER);
}

static void *const traced_slots[KINDS][2] = {
    [LOCK] = {(void *)traced_new_lock, (void *)traced_dealloc_lock},
    [RLOCK] = {(void *)traced_new_rlock, (void *)traced_dealloc_rlock},
};

/* _thread.allocate_lock() (and threading._allocate_lock): self is the original function. */
static PyObject *traced_allocate(PyObject *orig, PyObject *const *args, py_ssize_t n)
{
	PyObject *lock = py.PyObject_Vectorcall(orig, args, (size_t)n, NULL);
	if (lock && *(PyObject **)((char *)lock + OBJECT_TYPE_OFFSET) == lock_type &&
	    weft_should_record())
		weft_python_note_lock(lock, CALLER);
	return lock;
}

static struct py_method_def allocate_def = {"allocate_lock", (void *)traced_allocate,
					    PY_METH_FASTCALL, NULL};

/*
 * Reads the original C functions behind a type's methods, checking that
 * each is a method descriptor with its own name and a known convention.
 * Fills lock_methods[].def for the replacements. 0 or -1.
 */
static int find_originals(int kind, PyObject *dict)
{
	PyObject *descr_type = dlsym(RTLD_DEFAULT, "PyMethodDescr_Type");
	if (!descr_type)
		return -1;
	for (size_t i = 0; i < NMETHODS; i++) {
		struct lock_method *m = &lock_methods[i];
		if (m->kind != kind)
			continue;
		PyObject *d = py.PyDict_GetItemString(dict, m->name);
		if (!d || *(PyObject **)((char *)d + OBJECT_TYPE_OFFSET) != descr_type)
			return -1;
		const struct py_method_def *def =
		    *(struct py_method_def **)((char *)d + DESCR_METHOD_OFFSET);
		if (!def || !def->ml_name || strcmp(def->ml_name, m->name) || !def->ml_meth)
			return -1;
		int conv = 0;
		while (conv < CONVS && conv_flags[conv] != def->ml_flags)
			conv++;
		if (conv == CONVS)
			return -1;
		m->orig = def->ml_meth;
		m->conv = conv;
		m->def = (struct py_method_def){m->name, trampolines[i][conv], def->ml_flags,
						def->ml_doc};
	}
	return 0;
}

/* The original of kind's method for role (the first one listed). */
static const struct lock_method *method_for(int kind, int role)
{
	for (size_t i = 0; i < NMETHODS; i++)
		if (lock_methods[i].kind == kind && lock_methods[i].role == role)
			return &lock_methods[i];
	return NULL;
}

/* The original acquire or release, called with no arguments. */
static int call_plain(int kind, int role, PyObject *lock)
{
	const struct lock_method *m = method_for(kind, role);
	PyObject *args = py.PyTuple_New(0);
	struct call c = {m->conv, args, NULL, NULL, 0, NULL};
	PyObject *r = args ? call_orig(m, lock, &c) : NULL;
	int ok = r && (role != ACQUIRE || r == py.true_obj);
	if (r)
		py.Py_DecRef(r);
	if (args)
		py.Py_DecRef(args);
	return ok;
}

/* An object whose reference count never changes: 3.12+'s _Py_IsImmortal, the low half's sign. */
static int immortal(PyObject *o)
{
	return (int32_t)(uint32_t) * (uint64_t *)o < 0;
}

/*
 * A lock made and taken through the original functions must flip the byte
 * read here; an RLock taken twice must also name this thread as its owner
 * and count the levels where rlock_depth reads them: then the offsets are
 * this build's.
 */
static int layout_checked(int kind, PyObject *type)
{
	PyObject *lock = py.PyObject_Vectorcall(type, NULL, 0, NULL);
	int ok = 0;
	if (lock && !mutex_locked(lock)) {
		if (kind == LOCK) {
			ok = call_plain(LOCK, ACQUIRE, lock) && mutex_locked(lock);
			ok = call_plain(LOCK, RELEASE, lock) && ok && !mutex_locked(lock);
			/* The inline paths against the originals, both ways round. */
			fast_path = ok && immortal(py.true_obj) && immortal(py.none) &&
				    immortal(py.false_obj) && mutex_try_lock(lock) &&
				    !mutex_try_lock(lock) && call_plain(LOCK, RELEASE, lock) &&
				    !mutex_locked(lock) && call_plain(LOCK, ACQUIRE, lock) &&
				    mutex_try_unlock(lock) && !mutex_locked(lock) &&
				    !mutex_try_unlock(lock);
		} else {
			ok = call_plain(RLOCK, ACQUIRE, lock) && rlock_depth(lock) == 1;
			ok = call_plain(RLOCK, ACQUIRE, lock) && ok && rlock_depth(lock) == 2;
			ok = call_plain(RLOCK, RELEASE, lock) && ok && rlock_depth(lock) == 1;
			ok = call_plain(RLOCK, RELEASE, lock) && ok && !mutex_locked(lock);
			/* The inline outermost level against the originals' inner ones. */
			rlock_fast_path =
			    ok && immortal(py.true_obj) && immortal(py.none) &&
			    rlock_try_lock(lock) && rlock_depth(lock) == 1 &&
			    !rlock_try_lock(lock) && call_plain(RLOCK, ACQUIRE, lock) &&
			    rlock_depth(lock) == 2 && !rlock_held_once(lock) &&
			    call_plain(RLOCK, RELEASE, lock) && rlock_held_once(lock) &&
			    rlock_try_unlock(lock) && !mutex_locked(lock) && !rlock_owner(lock) &&
			    call_plain(RLOCK, ACQUIRE, lock) && rlock_held_once(lock) &&
			    rlock_try_unlock(lock) && !mutex_locked(lock) && !rlock_held_once(lock);
		}
	}
	if (lock)
		py.Py_DecRef(lock);
	if (py.PyErr_Occurred())
		py.PyErr_Clear();
	return ok;
}

/* Instruments one lock type in place (see the top of this file). 0 or -1, nothing changed. */
static int hook_type(int kind, PyObject *type)
{
	if (hooked[kind].type || !py.PyType_GetDict || !py.PyDescr_NewMethod ||
	    !py.PyType_Modified || !py.PyType_GetSlot || !py.PyTuple_New || !py.PyObject_IsTrue ||
	    !py.PyObject_Vectorcall || !py.PyDict_GetItemString || !py.PyTuple_GetItem ||
	    !py.true_obj || !py.PyBool_Type || !py.PyLong_Type || !py.PyFloat_Type)
		return -1;
	void **new_slot = (void **)((char *)type + TYPE_NEW_OFFSET);
	void **dealloc_slot = (void **)((char *)type + TYPE_DEALLOC_OFFSET);
	if (!*new_slot || *new_slot != py.PyType_GetSlot(type, PY_TP_NEW) || !*dealloc_slot ||
	    *dealloc_slot != py.PyType_GetSlot(type, PY_TP_DEALLOC))
		return -1;
	PyObject *dict = py.PyType_GetDict(type);
	int rc = -1;
	if (!dict || find_originals(kind, dict) < 0 || !layout_checked(kind, type))
		goto out;
	for (size_t i = 0; i < NMETHODS; i++) {
		if (lock_methods[i].kind != kind)
			continue;
		PyObject *d = py.PyDescr_NewMethod(type, &lock_methods[i].def);
		if (!d || py.PyDict_SetItemString(dict, lock_methods[i].name, d) < 0) {
			/* Cannot happen short of memory; the originals stay callable. */
			if (d)
				py.Py_DecRef(d);
			goto out;
		}
		py.Py_DecRef(d);
	}
	hooked[kind].type = type;
	hooked[kind].orig_new = (py_kwfunc)*new_slot;
	hooked[kind].orig_dealloc = (py_destructor)*dealloc_slot;
	*new_slot = traced_slots[kind][0];
	*dealloc_slot = traced_slots[kind][1];
	py.PyType_Modified(type);
	rc = 0;
out:
	if (dict)
		py.Py_DecRef(dict);
	if (py.PyErr_Occurred())
		py.PyErr_Clear();
	return rc;
}

/*
 * _weft.hook_locks(LockType, allocate_lock) -> the traced allocate_lock,
 * or None when this interpreter's lock type is not the one described above
 * (then nothing was changed). Called once, from the bootstrap, with the GIL.
 */
static PyObject *hook_locks(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	PyObject *result = py.none;
	if (n == 2 && hook_type(LOCK, args[0]) == 0) {
		lock_type = args[0];
		result = py.PyCFunction_NewEx(&allocate_def, args[1], NULL);
		if (!result) {
			py.PyErr_Clear();
			result = py.none; /* the type is hooked; allocate_lock's locks go unnamed */
		}
	}
	if (result == py.none)
		py.Py_IncRef(result);
	return result;
}

/*
 * _weft.hook_rlocks(RLockType) -> True, or False when this interpreter's
 * RLock type is not the one described above (then nothing was changed).
 */
static PyObject *hook_rlocks(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	PyObject *r = n == 1 && hook_type(RLOCK, args[0]) == 0 ? py.true_obj : py.false_obj;
	py.Py_IncRef(r);
	return r;
}

struct py_method_def weft_python_lock_methods[] = {
    {"hook_locks", (void *)hook_locks, PY_METH_FASTCALL, NULL},
    {"hook_rlocks", (void *)hook_rlocks, PY_METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};
