/*
 * threading.Lock on CPython 3.13.1 and later: the lock is a PyMutex, one
 * byte inside the lock object, taken by a compare-and-swap and never by a
 * call into libc (contention goes through CPython's parking lot), so the
 * sem_t hooks that see a Lock on 3.10-3.13.0 see nothing of it.
 *
 * Here the lock type itself is instrumented, once, by the bootstrap: its
 * acquire/release methods (acquire, acquire_lock, __enter__, release,
 * release_lock, __exit__) become method descriptors of weft's that record
 * and call the original C functions directly, and its tp_new and
 * tp_dealloc slots are wrapped to name each Lock made by the program and
 * to forget it when freed. Events are the same as the sem_t path's: a
 * Lock's address stands for it, with kind py.lock from its creation.
 *
 * The few layout facts used are the same in every 3.10-3.13 GIL build and
 * each is checked on the live type before anything is changed: where a
 * method descriptor keeps its PyMethodDef, where a type keeps tp_new and
 * tp_dealloc, and where a lock object keeps its PyMutex (a lock made and
 * taken here must show the byte flip). When a check fails nothing is
 * touched and the bootstrap prints its warning instead.
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
#define LOCK_MUTEX_OFFSET 16   /* lockobject.lock, after PyObject_HEAD */
#define PY_TP_DEALLOC 52       /* typeslots.h */
#define PY_TP_NEW 65
#define PY_METH_VARARGS 0x0001
#define PY_METH_NOARGS 0x0004

typedef PyObject *(*py_kwfunc)(PyObject *, PyObject *, PyObject *);
typedef PyObject *(*py_cfunc)(PyObject *, PyObject *);
typedef void (*py_destructor)(PyObject *);

static PyObject *lock_type;
static py_kwfunc orig_acquire; /* lock_PyThread_acquire_lock: acquire, acquire_lock, __enter__ */
static py_cfunc orig_release;  /* lock_PyThread_release_lock: release, release_lock, __exit__ */
static py_kwfunc orig_new;
static py_destructor orig_dealloc;

static int mutex_locked(PyObject *lock)
{
	return __atomic_load_n((unsigned char *)lock + LOCK_MUTEX_OFFSET, __ATOMIC_RELAXED) & 1;
}

/* A number's truth without running user code: -1 for other types (taken as true). */
static int plain_truth(PyObject *o)
{
	PyObject *type = *(PyObject **)((char *)o + OBJECT_TYPE_OFFSET);
	if (type != py.PyBool_Type && type != py.PyLong_Type && type != py.PyFloat_Type)
		return -1;
	return py.PyObject_IsTrue(o);
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
static int wait_mode(PyObject *args, PyObject *kwds)
{
	PyObject *blocking = NULL, *timeout = NULL;
	if (py.PyObject_Size(args) >= 1)
		blocking = py.PyTuple_GetItem(args, 0);
	if (py.PyObject_Size(args) >= 2)
		timeout = py.PyTuple_GetItem(args, 1);
	if (kwds) {
		if (!blocking)
			blocking = py.PyDict_GetItemString(kwds, "blocking");
		if (!timeout)
			timeout = py.PyDict_GetItemString(kwds, "timeout");
	}
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
 * acquire(blocking=True, timeout=-1), acquire_lock and __enter__. A lock
 * found taken gets lock.wait before blocking (what shows a thread stuck on
 * it, and what the deadlock finder reads), then lock.acquire with the wait,
 * or lock.fail (EAGAIN when told not to block, ETIMEDOUT after a timeout).
 * An exception (a signal handler's, during the wait) passes through.
 */
static PyObject *traced_acquire(PyObject *self, PyObject *args, PyObject *kwds)
{
	if (!weft_pysem_has(self))
		return orig_acquire(self, args, kwds);
	if (!weft_should_record()) {
		PyObject *r = orig_acquire(self, args, kwds);
		if (r == py.true_obj)
			WEFT_RACES_SYNC(1, self, 1);
		return r;
	}
	uint64_t t0 = 0;
	int waited = 0;
	if (mutex_locked(self)) {
		int mode = wait_mode(args, kwds);
		if (mode != WAIT_NEVER) {
			waited = 1;
			t0 = weft_now();
			weft_record(WEFT_EV_LOCK_WAIT, WEFT_OBJ_SEMAPHORE, self, t0, 0,
				    mode == WAIT_TIMED ? WEFT_WAIT_TIMED : 0, CALLER, NULL, 0);
		}
	}
	PyObject *r = orig_acquire(self, args, kwds);
	uint64_t ts = weft_now();
	uint64_t wait = waited ? ts - t0 : 0;
	if (!r) {
		/* A signal handler raised during the wait (or a bad argument): the wait ended. */
		if (waited)
			weft_record(WEFT_EV_LOCK_FAIL, WEFT_OBJ_SEMAPHORE, self, ts, wait, EINTR,
				    CALLER, NULL, 0);
		return r;
	}
	if (r == py.true_obj) {
		WEFT_RACES_SYNC(1, self, 1);
		weft_record(WEFT_EV_LOCK_ACQUIRE, WEFT_OBJ_SEMAPHORE, self, ts, wait, 0, CALLER,
			    NULL, 0);
	} else {
		weft_record(WEFT_EV_LOCK_FAIL, WEFT_OBJ_SEMAPHORE, self, ts, wait,
			    waited ? ETIMEDOUT : EAGAIN, CALLER, NULL, 0);
	}
	return r;
}

/* release(), release_lock() and __exit__(*exc_info): a release of an unlocked lock is only its
 * error. */
static PyObject *traced_release(PyObject *self, PyObject *arg)
{
	if (weft_pysem_has(self) && mutex_locked(self)) {
		WEFT_RACES_SYNC(0, self, 1);
		if (weft_should_record())
			weft_record(WEFT_EV_LOCK_RELEASE, WEFT_OBJ_SEMAPHORE, self, weft_now(), 0,
				    0, CALLER, NULL, 0);
	}
	return orig_release(self, arg);
}

/* tp_new: threading.Lock() and _thread.LockType(). */
static PyObject *traced_new(PyObject *type, PyObject *args, PyObject *kwds)
{
	PyObject *lock = orig_new(type, args, kwds);
	if (lock && weft_should_record()) /* not off, nor made inside a folded method */
		weft_python_note_lock(lock, CALLER);
	return lock;
}

/* tp_dealloc: the address may hold another lock next. */
static void traced_dealloc(PyObject *lock)
{
	if (weft_pysem_has(lock)) {
		if (WEFT_UNLIKELY(weft_races_on))
			weft_races_sync_destroyed(lock);
		if (weft_should_record())
			weft_record(WEFT_EV_OBJECT_DESTROY, WEFT_OBJ_SEMAPHORE, lock, weft_now(), 0,
				    0, CALLER, NULL, 0);
		weft_pysem_del(lock);
	}
	orig_dealloc(lock);
}

/* _thread.allocate_lock() (and threading._allocate_lock): self is the original function. */
static PyObject *traced_allocate(PyObject *orig, PyObject *const *args, py_ssize_t n)
{
	PyObject *lock = py.PyObject_Vectorcall(orig, args, (size_t)n, NULL);
	if (lock && *(PyObject **)((char *)lock + OBJECT_TYPE_OFFSET) == lock_type &&
	    weft_should_record())
		weft_python_note_lock(lock, CALLER);
	return lock;
}

static struct {
	const char *name;
	int flags;
	int acquire;
	struct py_method_def def;
} methods[] = {
    {"acquire", PY_METH_VARARGS | PY_METH_KEYWORDS, 1, {0}},
    {"acquire_lock", PY_METH_VARARGS | PY_METH_KEYWORDS, 1, {0}},
    {"__enter__", PY_METH_VARARGS | PY_METH_KEYWORDS, 1, {0}},
    {"release", PY_METH_NOARGS, 0, {0}},
    {"release_lock", PY_METH_NOARGS, 0, {0}},
    {"__exit__", PY_METH_VARARGS, 0, {0}},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static struct py_method_def allocate_def = {"allocate_lock", (void *)traced_allocate,
					    PY_METH_FASTCALL, NULL};

/*
 * Reads the original C functions behind the type's methods, checking that
 * each is the method descriptor 3.13's _thread module makes (name and
 * flags as expected, one function for the three acquires and one for the
 * three releases). Fills methods[].def for the replacements. 0 or -1.
 */
static int find_originals(PyObject *dict)
{
	PyObject *descr_type = dlsym(RTLD_DEFAULT, "PyMethodDescr_Type");
	if (!descr_type)
		return -1;
	for (size_t i = 0; i < NMETHODS; i++) {
		PyObject *d = py.PyDict_GetItemString(dict, methods[i].name);
		if (!d || *(PyObject **)((char *)d + OBJECT_TYPE_OFFSET) != descr_type)
			return -1;
		const struct py_method_def *def =
		    *(struct py_method_def **)((char *)d + DESCR_METHOD_OFFSET);
		if (!def || !def->ml_name || strcmp(def->ml_name, methods[i].name) ||
		    def->ml_flags != methods[i].flags)
			return -1;
		void **orig = methods[i].acquire ? (void **)&orig_acquire : (void **)&orig_release;
		if (*orig && *orig != def->ml_meth)
			return -1;
		*orig = def->ml_meth;
		methods[i].def = (struct py_method_def){methods[i].name,
							methods[i].acquire ? (void *)traced_acquire
									   : (void *)traced_release,
							methods[i].flags, def->ml_doc};
	}
	return 0;
}

/*
 * A lock made and taken through the original functions must flip the
 * byte traced_acquire reads: then LOCK_MUTEX_OFFSET is this build's.
 */
static int mutex_byte_checked(PyObject *type)
{
	PyObject *args = py.PyTuple_New(0);
	PyObject *lock = args ? py.PyObject_Vectorcall(type, NULL, 0, NULL) : NULL;
	int ok = 0;
	if (lock && !mutex_locked(lock)) {
		PyObject *r = orig_acquire(lock, args, NULL);
		ok = r == py.true_obj && mutex_locked(lock);
		if (r)
			py.Py_DecRef(r);
		r = orig_release(lock, NULL);
		ok = ok && r && !mutex_locked(lock);
		if (r)
			py.Py_DecRef(r);
	}
	if (lock)
		py.Py_DecRef(lock);
	if (args)
		py.Py_DecRef(args);
	if (py.PyErr_Occurred())
		py.PyErr_Clear();
	return ok;
}

/*
 * _weft.hook_locks(LockType, allocate_lock) -> the traced allocate_lock,
 * or None when this interpreter's lock type is not the one described above
 * (then nothing was changed). Called once, from the bootstrap, with the GIL.
 */
PyObject *weft_python_hook_locks(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	PyObject *result = py.none, *dict = NULL;
	if (n != 2 || lock_type || !py.PyType_GetDict || !py.PyDescr_NewMethod ||
	    !py.PyType_Modified || !py.PyType_GetSlot || !py.PyTuple_New || !py.PyObject_IsTrue ||
	    !py.PyObject_Vectorcall || !py.PyDict_GetItemString || !py.PyTuple_GetItem ||
	    !py.true_obj || !py.PyBool_Type || !py.PyLong_Type || !py.PyFloat_Type)
		goto out;
	PyObject *type = args[0];
	void **new_slot = (void **)((char *)type + TYPE_NEW_OFFSET);
	void **dealloc_slot = (void **)((char *)type + TYPE_DEALLOC_OFFSET);
	if (!*new_slot || *new_slot != py.PyType_GetSlot(type, PY_TP_NEW) || !*dealloc_slot ||
	    *dealloc_slot != py.PyType_GetSlot(type, PY_TP_DEALLOC))
		goto out;
	dict = py.PyType_GetDict(type);
	if (!dict || find_originals(dict) < 0 || !mutex_byte_checked(type))
		goto out;
	PyObject *allocate = py.PyCFunction_NewEx(&allocate_def, args[1], NULL);
	if (!allocate)
		goto out;
	for (size_t i = 0; i < NMETHODS; i++) {
		PyObject *d = py.PyDescr_NewMethod(type, &methods[i].def);
		if (!d || py.PyDict_SetItemString(dict, methods[i].name, d) < 0) {
			/* Cannot happen short of memory; the originals stay callable. */
			if (d)
				py.Py_DecRef(d);
			py.Py_DecRef(allocate);
			goto out;
		}
		py.Py_DecRef(d);
	}
	lock_type = type;
	orig_new = (py_kwfunc)*new_slot;
	orig_dealloc = (py_destructor)*dealloc_slot;
	*new_slot = (void *)traced_new;
	*dealloc_slot = (void *)traced_dealloc;
	py.PyType_Modified(type);
	result = allocate;
out:
	if (dict)
		py.Py_DecRef(dict);
	if (py.PyErr_Occurred())
		py.PyErr_Clear();
	if (result == py.none)
		py.Py_IncRef(result);
	return result;
}
