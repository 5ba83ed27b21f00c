/*
 * The CPython layer of the preload library.
 *
 * GIL: on Linux, CPython's GIL is a pthread mutex + condition variable pair
 * (plus a "switch" pair) inside the exported _PyRuntime symbol, for the main
 * interpreter in 3.10-3.15 GIL builds. Every mutex/cond call on an address inside
 * _PyRuntime is GIL machinery: it is never recorded as lock noise, and the
 * take_gil/drop_gil protocol is read from the call sequence instead:
 *   take: lock(mutex) [timedwait(cond, mutex)]* lock(switch_mutex) ... unlock(mutex)
 *   drop: lock(mutex) signal(cond) unlock(mutex) [lock(switch_mutex) wait(switch_cond)]
 * gil.acquire is the lock(switch_mutex) of a take, gil.release the
 * signal(cond) of a drop, gil.drop_request a timedwait that timed out
 * while the GIL stayed held by the same holder (CPython's own test).
 *
 * Python objects: the interpreter's C API is called through dlsym (it is in
 * the executable for Debian's static python3.11, in libpython for shared
 * builds), using only functions whose signatures are the same in 3.10-3.15,
 * so one library serves every version without CPython headers. At the
 * first "cpython.run_*" audit event (an audit hook works even in -I/-E/-S
 * modes, where sitecustomize and PYTHON* variables are ignored) a small
 * Python bootstrap (preload/python_boot.py, embedded) wraps threading and
 * queue classes around calls into the _weft module defined here.
 */
#include "preload/preload.h"
#include "preload/pyapi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

uintptr_t weft_pyrt_lo, weft_pyrt_len;
uintptr_t weft_pytext_lo, weft_pytext_len;
uintptr_t weft_pydata_lo, weft_pydata_len;

/* ---- the C API, looked up at run time ------------------------------------ */

struct weft_pyapi weft_py;
#define py weft_py

static int py_ok;	     /* the API was found and the version is supported */
static int py_booted;	     /* the bootstrap ran in this process */
static char *races_config;   /* WEFT_RACES: the race detector's scope ("" = the program's
				directory), NULL when off */
static PyObject *races_main; /* the bootstrap's _races_main */
static uintptr_t gil_base;   /* struct _gil_runtime_state, once learned */
static int gil_learn_failed;
/* 3.13+: where the main interpreter's pointer to its GIL is, from _Py_DebugOffsets; 0: unknown */
static uintptr_t gil_ptr_at;
static uint64_t debug_ceval_gil; /* PyInterpreterState.ceval.gil (a pointer to the GIL) */
static unsigned long gil_interval_seen;
/* A waiter's switch interval expired (gil.drop_request) and nobody took the GIL since. */
static volatile int gil_drop_pending;

/*
 * Offsets inside struct _gil_runtime_state, identical in 3.10-3.15 GIL builds
 * (free-threaded builds put an int before them and are not supported).
 * _Py_DebugOffsets gives only locked and last_holder: checked against these.
 */
#define GIL_INTERVAL 0
#define GIL_LAST_HOLDER 8
#define GIL_LOCKED 16
#define GIL_SWITCH_NUMBER 24
#define GIL_COND 32
#define GIL_MUTEX 80
#define GIL_SWITCH_COND 120
#define GIL_SWITCH_MUTEX 168

enum { GIL_IDLE, GIL_TAKE, GIL_HELD_IN_TAKE, GIL_DROP };

extern const char weft_python_boot[]; /* preload/python_boot.c */

/* ---- records -------------------------------------------------------------- */

static void warn_line(const char *msg);

static void meta(const char *key, const char *value)
{
	char buf[256];
	size_t kl = strlen(key), vl = strlen(value);
	if (kl + vl + 2 > sizeof(buf))
		return;
	memcpy(buf, key, kl + 1);
	memcpy(buf + kl + 1, value, vl + 1);
	weft_record(&(struct weft_event){.kind = WEFT_REC_META,
					 .ts = weft_stamp(),
					 .payload = buf,
					 .payload_len = (uint32_t)(kl + vl + 2)});
}

/*
 * Threads check the interval as they pass the GIL: one may record a value
 * it read just before another thread's setswitchinterval, after that
 * thread recorded the new one. Reading the field again after each record
 * makes every thread's last record of it the value it has since.
 */
static void note_interval(void)
{
	for (;;) {
		unsigned long iv = *(volatile unsigned long *)(gil_base + GIL_INTERVAL);
		if (iv == __atomic_load_n(&gil_interval_seen, __ATOMIC_RELAXED))
			return;
		__atomic_store_n(&gil_interval_seen, iv, __ATOMIC_RELAXED);
		char v[32];
		snprintf(v, sizeof(v), "%lu", iv);
		meta("python.switch_interval_us", v);
	}
}

/*
 * The first runtime mutex a process locks is the GIL's mutex (take_gil in
 * Py_Initialize). Its struct is accepted only when the interval field holds
 * a plausible switch interval.
 */
static void learn_gil(pthread_mutex_t *m)
{
	uintptr_t base = (uintptr_t)m - GIL_MUTEX;
	if (gil_ptr_at) {
		/*
		 * 3.13+: the GIL is the one the main interpreter points at; any other
		 * runtime mutex locked first is not it (and the main interpreter
		 * exists before its GIL is first taken). A GIL outside _PyRuntime
		 * (not the main interpreter's own) is not known.
		 */
		uintptr_t interp = *(volatile uintptr_t *)gil_ptr_at;
		if (!interp)
			return;
		if (base != *(volatile uintptr_t *)(interp + debug_ceval_gil))
			return;
	}
	if (base < weft_pyrt_lo || base + GIL_SWITCH_MUTEX + 40 > weft_pyrt_lo + weft_pyrt_len) {
		gil_learn_failed = 1;
		return;
	}
	unsigned long iv = *(volatile unsigned long *)(base + GIL_INTERVAL);
	if (iv == 0 || iv > 100000000ul) {
		gil_learn_failed = 1;
		return;
	}
	gil_base = base;
	if (weft_on && !weft_tls.guard) {
		weft_record(&(struct weft_event){.kind = WEFT_REC_OBJECT_INIT,
						 .objkind = WEFT_OBJ_GIL,
						 .obj = (void *)gil_base,
						 .ts = weft_stamp(),
						 .arg = WEFT_OBJ_GIL,
						 .payload = "GIL",
						 .payload_len = 4});
		note_interval();
	}
}

/* GIL events carry the Python frames where the thread stands (see gil_frames). */
static void record_gil(uint8_t kind, uint64_t ts, uint64_t wait);
/*
 * The codes GIL events could not name, with a reference each (see
 * want_code). Only read and written with the main interpreter's GIL.
 */
#define GIL_WANTED_MAX 64
static PyObject *gil_wanted[GIL_WANTED_MAX];
static int gil_nwanted;
static void define_wanted(void);

static int gil_recording(void)
{
	return weft_on && !weft_tls.guard && gil_base;
}

int weft_gil_mutex_lock(pthread_mutex_t *m)
{
	struct weft_tls *t = &weft_tls;
	if (!gil_base && !gil_learn_failed)
		learn_gil(m);
	uintptr_t a = (uintptr_t)m;
	if (gil_base && a == gil_base + GIL_MUTEX && t->gil_phase == GIL_IDLE) {
		t->gil_phase = GIL_TAKE; /* or the start of a drop: the next call tells */
		t->gil_t0 = weft_now();
	}
	int rc = REAL(pthread_mutex_lock)(m);
	if (gil_base && a == gil_base + GIL_SWITCH_MUTEX && t->gil_phase == GIL_TAKE) {
		t->gil_phase = GIL_HELD_IN_TAKE;
		gil_drop_pending = 0; /* take_gil resets the drop request too */
		if (gil_recording()) {
			uint64_t now = weft_stamp();
			record_gil(WEFT_EV_GIL_ACQUIRE, now, now - t->gil_t0);
			note_interval();
		}
	}
	return rc;
}

int weft_gil_mutex_unlock(pthread_mutex_t *m)
{
	if (gil_base && (uintptr_t)m == gil_base + GIL_MUTEX)
		weft_tls.gil_phase = GIL_IDLE;
	return REAL(pthread_mutex_unlock)(m);
}

int weft_gil_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
		       const struct timespec *abs, int kind)
{
	uintptr_t a = (uintptr_t)c;
	unsigned long switch_before = 0;
	int is_gil_cond = gil_base && a == gil_base + GIL_COND;
	if (is_gil_cond)
		switch_before = *(volatile unsigned long *)(gil_base + GIL_SWITCH_NUMBER);
	int rc = weft_real_cond_wait(c, m, clk, abs, kind);
	/* CPython's own condition for setting the drop request (take_gil). */
	if (is_gil_cond && rc == ETIMEDOUT && gil_recording() &&
	    *(volatile int *)(gil_base + GIL_LOCKED) &&
	    *(volatile unsigned long *)(gil_base + GIL_SWITCH_NUMBER) == switch_before) {
		gil_drop_pending = 1;
		weft_record(&(struct weft_event){.kind = WEFT_EV_GIL_DROP_REQUEST,
						 .objkind = WEFT_OBJ_GIL,
						 .obj = (void *)gil_base,
						 .ts = weft_stamp()});
	}
	return rc;
}

int weft_gil_cond_signal(pthread_cond_t *c, int broadcast)
{
	struct weft_tls *t = &weft_tls;
	if (gil_base && (uintptr_t)c == gil_base + GIL_COND && t->gil_phase == GIL_TAKE) {
		/* lock(mutex) then signal(cond): this is drop_gil letting go. */
		t->gil_phase = GIL_DROP;
		if (gil_recording()) {
			uint64_t now = weft_now(); /* may be held back: not stamped (sem_trywait) */
			if (WEFT_UNLIKELY(t->py_nheld) &&
			    weft_python_hold_gil_release(now, gil_drop_pending)) {
				gil_drop_pending = 0;
				goto signal;
			}
			record_gil(WEFT_EV_GIL_RELEASE, now, 0);
			/* A waiter asked and nobody has taken the GIL since: this drop was forced.
			 */
			if (gil_drop_pending)
				weft_record(&(struct weft_event){.kind = WEFT_EV_GIL_FORCED_SWITCH,
								 .objkind = WEFT_OBJ_GIL,
								 .obj = (void *)gil_base,
								 .ts = now});
		}
		gil_drop_pending = 0;
	}
signal:
	return broadcast ? REAL(pthread_cond_broadcast)(c) : REAL(pthread_cond_signal)(c);
}

/* ---- Python stacks ---------------------------------------------------------- */

/*
 * code object -> id. Only touched with the GIL held, which serializes
 * every caller. Code objects are kept alive (one reference each) so an id
 * never comes to mean another function.
 */
#define CODES 65536
static PyObject *code_keys[CODES];
static uint32_t code_ids[CODES];
static uint8_t code_ours[CODES + 1]; /* 1: weft's bootstrap, 2: threading.py/queue.py */
static PyObject *code_by_id[CODES + 1];
static uint32_t next_code = 1;

static const char *attr_utf8(PyObject *o, const char *name, PyObject **hold)
{
	PyObject *v = py.PyObject_GetAttrString(o, name);
	if (!v) {
		py.PyErr_Clear();
		return NULL;
	}
	const char *s = py.PyUnicode_AsUTF8(v);
	if (!s)
		py.PyErr_Clear();
	*hold = v;
	return s;
}

/*
 * Every code's definition as a ring first got it, kept for the process:
 * where no C API may be called (a GIL event, a lock taken off the GIL), a
 * code another thread defined is named by writing the same definition
 * into this thread's ring (defined_here). Written once per code, with the
 * GIL; read without it.
 */
struct code_definition {
	uint32_t len;
	char text[];
};
static struct code_definition *code_definitions[CODES + 1];

/*
 * A WEFT_REC_PY_CODE record of id into this thread's ring, from inside
 * the recorder (guard set or not): the record being written keeps its
 * announcement, which this one's end clears (weft_stamp()).
 */
static void write_definition_record(uint32_t id, const char *text, uint32_t len)
{
	struct weft_tls *t = &weft_tls;
	uint64_t outer = t->slot ? __atomic_load_n(&t->slot->open_ts, __ATOMIC_RELAXED) : 0;
	int guard = t->guard;
	t->guard = 0;
	weft_record(&(struct weft_event){.kind = WEFT_REC_PY_CODE,
					 .ts = weft_now(),
					 .arg = id,
					 .payload = text,
					 .payload_len = len});
	t->guard = guard;
	if (t->slot)
		__atomic_store_n(&t->slot->open_ts, outer, __ATOMIC_RELAXED);
}

/* This thread's set of defined codes, made on first use; NULL without memory. */
static uint8_t *defined_set(void)
{
	struct weft_tls *t = &weft_tls;
	if (!t->py_defined)
		t->py_defined = calloc(CODES / 8 + 1, 1);
	return t->py_defined;
}

/*
 * Without the C API: 1 when this thread's ring defines code id, now or
 * from the definition another ring got (code_definitions); 0 when no
 * thread has defined it yet, when this thread has no set (allocating one
 * is left to callers that may: defined_set()), or while it holds records
 * back (any record written lets them out: weft_python_hold_gil_release).
 */
static int defined_here(uint32_t id)
{
	uint8_t *d = weft_tls.py_defined;
	if (!d)
		return 0;
	if (d[id / 8] & (1u << (id % 8)))
		return 1;
	if (weft_tls.py_nheld)
		return 0;
	const struct code_definition *def =
	    __atomic_load_n(&code_definitions[id], __ATOMIC_ACQUIRE);
	if (!def)
		return 0;
	d[id / 8] |= (uint8_t)(1u << (id % 8));
	write_definition_record(id, def->text, def->len);
	return 1;
}

/* Writes the code's definition into this thread's ring (define_code has tested its bit). */
static void write_code_definition(uint32_t id, PyObject *code)
{
	struct weft_tls *t = &weft_tls;
	if (!defined_set())
		return;
	t->py_defined[id / 8] |= (uint8_t)(1u << (id % 8));
	/* An exception on its way (a with-block's lock let go while unwinding) waits meanwhile. */
	PyObject *et = NULL, *ev = NULL, *etb = NULL;
	py.PyErr_Fetch(&et, &ev, &etb);
	PyObject *h1 = NULL, *h2 = NULL, *h3 = NULL;
	const char *fn = attr_utf8(code, "co_qualname", &h1);
	if (!fn)
		fn = attr_utf8(code, "co_name", &h3);
	const char *file = attr_utf8(code, "co_filename", &h2);
	PyObject *fl = py.PyObject_GetAttrString(code, "co_firstlineno");
	long long first = fl ? py.PyLong_AsLongLong(fl) : 0;
	if (!fl)
		py.PyErr_Clear();
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s%c%s%c%lld", fn ? fn : "?", 0, file ? file : "?", 0,
			 first);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	buf[n] = 0;
	write_definition_record(id, buf, (uint32_t)n + 1);
	if (!code_definitions[id]) { /* with the GIL: no other thread writes it */
		struct code_definition *def = malloc(sizeof(*def) + (size_t)n + 1);
		if (def) {
			def->len = (uint32_t)n + 1;
			memcpy(def->text, buf, (size_t)n + 1);
			__atomic_store_n(&code_definitions[id], def, __ATOMIC_RELEASE);
		}
	}
	if (h1)
		py.Py_DecRef(h1);
	if (h2)
		py.Py_DecRef(h2);
	if (h3)
		py.Py_DecRef(h3);
	if (fl)
		py.Py_DecRef(fl);
	py.PyErr_Restore(et, ev, etb);
}

/* The first time this ring needs the code: a bit test on every stack after that. */
static inline void define_code(uint32_t id, PyObject *code)
{
	const uint8_t *d = weft_tls.py_defined;
	if (WEFT_UNLIKELY(!d || !(d[id / 8] & (1u << (id % 8)))))
		write_code_definition(id, code);
}

/*
 * Where the forking Python code stands in a fork child: the interpreter
 * re-makes its own locks there (PyOS_AfterFork_Child) before any Python
 * code runs, and they must not look like locks the program made on the
 * line that called os.fork(). Noted at the "os.fork" audit event, in the
 * parent, where the C API may be called; the fork handlers only move it.
 */
static PyObject *fork_site_frame, *fork_next_frame;
static int fork_site_pos, fork_next_pos;

static int frame_pos(PyObject *f)
{
	return py.PyFrame_GetLasti ? py.PyFrame_GetLasti(f) : py.PyFrame_GetLineNumber(f);
}

static void note_fork_site(void)
{
	PyObject *f = py.PyEval_GetFrame();
	fork_next_frame = f;
	fork_next_pos = f ? frame_pos(f) : 0;
}

/*
 * In a fork child (only the forking thread exists). Its new ring must
 * define the codes its frames name again; and the fork site noted by
 * os.fork(), if this fork is that one, becomes the child's.
 */
static void after_fork_child(void)
{
	if (weft_tls.py_defined)
		memset(weft_tls.py_defined, 0, CODES / 8 + 1);
	/* Their codes are not defined in the new ring. */
	memset(weft_tls.py_memo, 0, sizeof(weft_tls.py_memo));
	fork_site_frame = fork_next_frame;
	fork_site_pos = fork_next_pos;
	fork_next_frame = NULL;
}

static void after_fork_parent(void)
{
	fork_next_frame = NULL;
}

static uint32_t code_id(PyObject *code)
{
	uintptr_t h = ((uintptr_t)code >> 4) * 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < CODES; i++) {
		uint32_t j = (uint32_t)((h >> 40) + i) & (CODES - 1);
		if (code_keys[j] == code)
			return code_ids[j];
		if (!code_keys[j]) {
			if (next_code >= CODES)
				return 0;
			code_keys[j] = code;
			code_ids[j] = next_code++;
			code_by_id[code_ids[j]] = code;
			py.Py_IncRef(code);
			PyObject *hold = NULL;
			const char *file = attr_utf8(code, "co_filename", &hold);
			code_ours[code_ids[j]] =
			    !file							   ? 0
			    : !strcmp(file, "<weft>")					   ? 1
			    : (strstr(file, "/threading.py") || strstr(file, "/queue.py")) ? 2
											   : 0;
			if (hold)
				py.Py_DecRef(hold);
			return code_ids[j];
		}
	}
	return 0;
}

/* The id code_id gave code, or 0: never inserts, so it may run without the C API. */
static uint32_t code_id_known(PyObject *code)
{
	uintptr_t h = ((uintptr_t)code >> 4) * 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < CODES; i++) {
		uint32_t j = (uint32_t)((h >> 40) + i) & (CODES - 1);
		if (code_keys[j] == code)
			return code_ids[j];
		if (!code_keys[j])
			return 0;
	}
	return 0;
}

/*
 * The current thread state (PyThreadState_GetUnchecked, 3.10-3.12's
 * _PyThreadState_UncheckedGet) and Py_IsInitialized(), asked on every
 * event, are each one load in the interpreter's own code: a thread-local
 * (3.12+ built into the executable: `mov %fs:off,%rax`) or a global
 * (`mov sym(%rip),%rax`, or through the GOT in a shared libpython). The
 * functions' first instructions are decoded once at start-up, accepted
 * only when they are exactly such a load and its `ret`, and then read
 * here without the call; anything else (a thread-local of a shared
 * libpython, through __tls_get_addr) is called. meta python.tstate says
 * which ("tls global", "global global", "call global", ...).
 */
enum { LOAD_CALL, LOAD_TLS, LOAD_GLOBAL };
struct decoded_load {
	int how;     /* LOAD_* */
	int wide;    /* 8 bytes (a pointer), else 4 (an int) */
	intptr_t at; /* LOAD_TLS: the offset from %fs; LOAD_GLOBAL: the address */
};
static struct decoded_load tstate_load, init_load;

/* A 32-bit displacement at p (unaligned). */
static int32_t disp32(const unsigned char *p)
{
	int32_t d;
	memcpy(&d, p, 4);
	return d;
}

/*
 * What function f does when it is one load and a return, else LOAD_CALL.
 * Bytes are compared one instruction at a time, so nothing past a
 * mismatch (or past the ret) is read.
 */
static struct decoded_load decode_load(const unsigned char *p)
{
	struct decoded_load d = {LOAD_CALL, 0, 0};
	if (!p)
		return d;
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		p += 4; /* endbr64 */
	/* mov %fs:disp32,%rax; ret */
	if (p[0] == 0x64 && p[1] == 0x48 && p[2] == 0x8b && p[3] == 0x04 && p[4] == 0x25 &&
	    p[9] == 0xc3)
		return (struct decoded_load){LOAD_TLS, 1, disp32(p + 5)};
	/* mov disp32(%rip),%rax or %eax */
	int wide = p[0] == 0x48;
	const unsigned char *q = p + wide;
	if (q[0] != 0x8b || q[1] != 0x05)
		return d;
	uintptr_t addr = (uintptr_t)(q + 6) + (intptr_t)disp32(q + 2);
	const unsigned char *n = q + 6;
	if (n[0] == 0xc3)
		return (struct decoded_load){LOAD_GLOBAL, wide, (intptr_t)addr};
	/* A GOT entry (relocated before any constructor ran), then mov disp(%rax),%rax or %eax. */
	if (!wide)
		return d;
	int wide2 = n[0] == 0x48;
	const unsigned char *m = n + wide2;
	intptr_t off;
	if (m[0] == 0x8b && m[1] == 0x40 && m[3] == 0xc3)
		off = (int8_t)m[2];
	else if (m[0] == 0x8b && m[1] == 0x80 && m[6] == 0xc3)
		off = disp32(m + 2);
	else
		return d;
	return (struct decoded_load){LOAD_GLOBAL, wide2, (intptr_t)(*(uintptr_t *)addr + off)};
}

static const char *load_name(const struct decoded_load *d)
{
	return d->how == LOAD_TLS ? "tls" : d->how == LOAD_GLOBAL ? "global" : "call";
}

/* Decides how both are read (weft_python_init); WEFT_TEST_TSTATE_CALL=1: by calls. */
static void choose_tstate_loads(void)
{
	tstate_load = decode_load((const unsigned char *)py.current_tstate);
	init_load = decode_load((const unsigned char *)py.Py_IsInitialized);
	/* A thread state is a pointer, Py_IsInitialized an int. */
	if (!tstate_load.wide || getenv("WEFT_TEST_TSTATE_CALL"))
		tstate_load.how = LOAD_CALL;
	if (init_load.wide || getenv("WEFT_TEST_TSTATE_CALL"))
		init_load.how = LOAD_CALL;
	char v[32];
	snprintf(v, sizeof(v), "%s %s", load_name(&tstate_load), load_name(&init_load));
	meta("python.tstate", v);
}

static inline void *current_tstate(void)
{
	if (WEFT_LIKELY(tstate_load.how == LOAD_TLS)) {
		void *ts;
		__asm__ volatile("movq %%fs:(%1), %0" : "=r"(ts) : "r"(tstate_load.at));
		return ts;
	}
	if (tstate_load.how == LOAD_GLOBAL)
		return __atomic_load_n((void *const *)tstate_load.at, __ATOMIC_RELAXED);
	return py.current_tstate();
}

static inline int py_initialized(void)
{
	if (WEFT_LIKELY(init_load.how == LOAD_GLOBAL))
		return __atomic_load_n((const int *)init_load.at, __ATOMIC_RELAXED);
	return py.Py_IsInitialized();
}

/*
 * Only the main interpreter is instrumented: subinterpreters have their own
 * objects, modules and (3.12+) GIL, which the bootstrap never saw.
 */
static void *main_tstate(void)
{
	/*
	 * PyGILState_Check() answers "yes" to everyone once a subinterpreter
	 * exists, so do its test here: the current thread state (in 3.10 and
	 * 3.11 a process-wide pointer to the GIL holder's, in 3.12+ this
	 * thread's) must be this thread's own main-interpreter state. A
	 * state's interpreter never changes, so each thread remembers the
	 * main-interpreter state it last saw and asks only about new ones.
	 */
	if (!py_initialized())
		return NULL;
	void *ts = current_tstate();
	if (!ts || ts != py.PyGILState_GetThisThreadState())
		return NULL;
	struct weft_tls *t = &weft_tls;
	if (ts == t->py_main_ts)
		return ts;
	if (py.PyThreadState_GetInterpreter(ts) != py.PyInterpreterState_Main())
		return NULL;
	t->py_main_ts = ts;
	t->py_self = (unsigned long)pthread_self();
	return ts;
}

static int in_main_interpreter(void)
{
	return main_tstate() != NULL;
}

/*
 * One remembered frame position: (code object, instruction offset) give
 * the code's id and the line. Code objects with an id are never freed
 * (code_id holds them), so the pointer keeps meaning the same code.
 */
struct weft_py_line {
	PyObject *code;
	int32_t lasti;
	uint32_t id;
	int32_t line;
};
#define LINE_CACHE 512 /* per thread; a power of two */

/*
 * The frame's code id and current line. Working the line out walks the
 * code's line table (PyCode_Addr2Line was the largest cost of recording a
 * Python stack), and finding the id probes the shared code table, so each
 * thread remembers both per code and instruction offset: a lock taken in a
 * loop costs one probe of a small per-thread table. Returns the id, 0 for
 * a code that could not get one.
 */
static uint32_t frame_position(PyObject *code, int lasti, PyObject *f, int *line, int nogil)
{
	struct weft_tls *t = &weft_tls;
	struct weft_py_line *e = NULL;
	if (lasti >= 0) {
		if (WEFT_UNLIKELY(!t->py_lines))
			t->py_lines = calloc(LINE_CACHE, sizeof(*t->py_lines));
		if (t->py_lines) {
			uintptr_t k = (uintptr_t)code >> 4;
			e = &t->py_lines[((uint32_t)k * 0x9e3779b1u ^
					  (uint32_t)lasti * 0x85ebca6bu) >>
					     23 &
					 (LINE_CACHE - 1)];
			if (e->code == code && e->lasti == lasti) {
				*line = e->line;
				return e->id;
			}
		}
	}
	/* Without the GIL the shared code table may be changing: this thread's cache only. */
	if (nogil)
		return 0;
	uint32_t id = code_id(code);
	if (!id)
		return 0;
	/* A 3.10 frame not started yet has lasti -2: Addr2Line gives co_firstlineno, as the API. */
	*line = f ? py.PyFrame_GetLineNumber(f) : py.PyCode_Addr2Line(code, lasti);
	if (e) {
		e->code = code;
		e->lasti = lasti;
		e->id = id;
		e->line = *line;
	}
	return id;
}

/*
 * Reading the innermost frames straight from the interpreter's structures
 * (caller stacks, the common case): the frame API costs five calls and a
 * reference count per event, a third of what a Python lock event costs.
 * Offsets per minor version, from that version's headers (3.10.13,
 * 3.11.2, 3.11.7, 3.12.1, 3.13.0, 3.13.5, 3.14.10, 3.15.2 checked; CPython
 * keeps these structs within a minor series); from 3.13 the interpreter's
 * own _Py_DebugOffsets replace the table's values where they cover them
 * (see read_debug_offsets). 3.10 links frame objects, 3.11+ interpreter
 * frames. The first DIRECT_CHECKS reads in a process are also made through
 * the API and compared: one difference and the API is used from then on.
 * Not used in debug builds (other object layouts).
 */
struct frame_layout {
	int16_t ts_thread_id;	   /* tstate -> unsigned long thread_id (pthread_self) */
	int16_t ts_frame;	   /* tstate -> frame (3.10, 3.13+) or cframe (3.11, 3.12) */
	int16_t cframe_current;	   /* cframe -> current_frame; -1: no cframe */
	int16_t f_code, f_back;	   /* frame -> code object, calling frame */
	int16_t f_instr;	   /* 3.10: int f_lasti (code units); 3.11+: instruction pointer */
	int16_t f_owner;	   /* char owner; -1: none (3.10) */
	int16_t co_code, co_first; /* code -> first code unit, int _co_firsttraceable */
	/*
	 * Owners from this one up are frames with no Python code of their own
	 * (3.12, 3.13: the C-stack shim, 3; 3.14+: the interpreter's entry
	 * frames, 3, and 3.14's C-stack frames, 4); -1: none.
	 */
	int8_t no_code_owner;
	uint8_t code_tag_bits; /* 3.14+: f_executable is a _PyStackRef, tagged in its low bits */
};
static const struct frame_layout frame_layouts[] = {
    {176, 24, -1, 32, 24, 96, -1, 0, 0, -1, 0},	   /* 3.10 */
    {152, 56, 8, 32, 48, 56, 69, 184, 168, -1, 0}, /* 3.11 */
    {136, 56, 0, 0, 8, 56, 70, 192, 176, 3, 0},	   /* 3.12 */
    {152, 72, -1, 0, 8, 56, 70, 200, 184, 3, 0},   /* 3.13 */
    {152, 72, -1, 0, 8, 56, 74, 208, 192, 3, 3},   /* 3.14 */
    {176, 72, -1, 0, 8, 56, 74, 208, 192, 3, 3},   /* 3.15 */
};
#define PY_MINOR_FIRST 10
#define PY_MINOR_LAST (PY_MINOR_FIRST + (int)(sizeof(frame_layouts) / sizeof(frame_layouts[0])) - 1)
#define OWNED_BY_GENERATOR 1
#define DIRECT_CHECKS 64
static struct frame_layout version_layout; /* this interpreter's, once read */
static const struct frame_layout *layout;  /* NULL: the API only */
static struct frame_layout skewed;	   /* WEFT_TEST_FRAME_SKEW: a wrong one, for the tests */
static PyObject *code_type;
static int direct_checks_left = DIRECT_CHECKS;

#define AT(p, off, type) (*(type *)((char *)(p) + (off)))

/*
 * _Py_DebugOffsets (3.13+) sits at the start of _PyRuntime: a cookie, the
 * version, a free-threaded flag, then offsets of the runtime's structures,
 * written by the interpreter's own compiler for debuggers and profilers.
 * The struct grows in each minor version, so where each offset weft needs
 * is kept is a table per version (from 3.13.0, 3.14.10, 3.15.2 headers);
 * each value read is checked against the size of its struct.
 */
enum {
	DO_TS_SIZE,
	DO_TS_CURRENT_FRAME,
	DO_TS_THREAD_ID,
	DO_FR_SIZE,
	DO_FR_PREVIOUS,
	DO_FR_EXECUTABLE,
	DO_FR_INSTR_PTR,
	DO_FR_OWNER,
	DO_CO_SIZE,
	DO_CO_CODE_ADAPTIVE,
	DO_RT_INTERPRETERS_HEAD,
	DO_IS_SIZE,
	DO_IS_CEVAL_GIL,
	DO_IS_GIL,
	DO_IS_GIL_LOCKED,
	DO_IS_GIL_HOLDER,
	DO_FIELDS
};
#define DEBUG_COOKIE "xdebugpy"
#define DEBUG_VERSION 8	       /* uint64_t PY_VERSION_HEX */
#define DEBUG_FREE_THREADED 16 /* uint64_t */
#define DEBUG_MINOR_FIRST 13
static const uint16_t debug_fields[][DO_FIELDS] = {
    {152, 184, 192, 224, 232, 240, 248, 264, 272, 344, 40, 48, 112, 120, 136, 144}, /* 3.13 */
    {176, 208, 216, 248, 256, 264, 272, 288, 312, 384, 40, 48, 120, 128, 144, 152}, /* 3.14 */
    {176, 208, 240, 312, 320, 328, 336, 352, 376, 448, 40, 48, 120, 128, 144, 152}, /* 3.15 */
};
_Static_assert(sizeof(debug_fields) / sizeof(debug_fields[0]) ==
		   sizeof(frame_layouts) / sizeof(frame_layouts[0]) -
		       (DEBUG_MINOR_FIRST - PY_MINOR_FIRST),
	       "one row of debug_fields per version from 3.13");

enum { DEBUG_ABSENT, DEBUG_READ, DEBUG_BAD, DEBUG_FREE_THREADED_BUILD };

/* An offset the interpreter gave, when it lies inside its struct; -1 otherwise. */
static int64_t debug_offset(const char *rt, const uint16_t *f, int field, int size_field, int width)
{
	uint64_t off = AT(rt, f[field], uint64_t), size = AT(rt, f[size_field], uint64_t);
	return size < (1u << 20) && off + (uint64_t)width <= size ? (int64_t)off : -1;
}

/*
 * Fills version_layout from the table for this minor version and, from
 * 3.13, the interpreter's _Py_DebugOffsets; also where the main
 * interpreter's GIL pointer is (gil_ptr_at). DEBUG_BAD: the debug offsets
 * are not what this version's should be (no cookie, another version, an
 * offset outside its struct): nothing of the interpreter's layout is
 * trusted then.
 */
static int read_debug_offsets(const char *rt, size_t rt_len, int major, int minor)
{
	version_layout = frame_layouts[minor - PY_MINOR_FIRST];
	if (minor < DEBUG_MINOR_FIRST)
		return DEBUG_ABSENT;
	const uint16_t *f = debug_fields[minor - DEBUG_MINOR_FIRST];
	if (rt_len < (size_t)f[DO_CO_CODE_ADAPTIVE] + 8)
		return DEBUG_BAD;
	/*
	 * WEFT_TEST_DEBUG_OFFSETS=cookie|free-threaded: the tests' way to see
	 * what a foreign layout and a free-threaded build get (none is at hand).
	 */
	const char *test = getenv("WEFT_TEST_DEBUG_OFFSETS");
	uint64_t hex = AT(rt, DEBUG_VERSION, uint64_t);
	if (memcmp(rt, DEBUG_COOKIE, 8) || (hex >> 24) != (uint64_t)major ||
	    ((hex >> 16) & 0xff) != (uint64_t)minor || (test && !strcmp(test, "cookie")))
		return DEBUG_BAD;
	if (AT(rt, DEBUG_FREE_THREADED, uint64_t) || (test && !strcmp(test, "free-threaded")))
		return DEBUG_FREE_THREADED_BUILD;
	int64_t thread_id = debug_offset(rt, f, DO_TS_THREAD_ID, DO_TS_SIZE, 8);
	int64_t current = debug_offset(rt, f, DO_TS_CURRENT_FRAME, DO_TS_SIZE, 8);
	int64_t previous = debug_offset(rt, f, DO_FR_PREVIOUS, DO_FR_SIZE, 8);
	int64_t exec = debug_offset(rt, f, DO_FR_EXECUTABLE, DO_FR_SIZE, 8);
	int64_t instr = debug_offset(rt, f, DO_FR_INSTR_PTR, DO_FR_SIZE, 8);
	int64_t owner = debug_offset(rt, f, DO_FR_OWNER, DO_FR_SIZE, 1);
	int64_t code = debug_offset(rt, f, DO_CO_CODE_ADAPTIVE, DO_CO_SIZE, 2);
	int64_t ceval_gil = debug_offset(rt, f, DO_IS_CEVAL_GIL, DO_IS_SIZE, 8);
	int64_t gil = debug_offset(rt, f, DO_IS_GIL, DO_IS_SIZE, GIL_SWITCH_MUTEX + 40);
	int64_t locked = debug_offset(rt, f, DO_IS_GIL_LOCKED, DO_IS_SIZE, 4);
	int64_t holder = debug_offset(rt, f, DO_IS_GIL_HOLDER, DO_IS_SIZE, 8);
	uint64_t head = AT(rt, f[DO_RT_INTERPRETERS_HEAD], uint64_t);
	if (thread_id < 0 || current < 0 || previous < 0 || exec < 0 || instr < 0 || owner < 0 ||
	    code < 0 || ceval_gil < 0 || gil < 0 || locked != gil + GIL_LOCKED ||
	    holder != gil + GIL_LAST_HOLDER || head + 8 > rt_len)
		return DEBUG_BAD;
	struct frame_layout *L = &version_layout;
	L->ts_thread_id = (int16_t)thread_id;
	L->ts_frame = (int16_t)current;
	L->f_back = (int16_t)previous;
	L->f_code = (int16_t)exec;
	L->f_instr = (int16_t)instr;
	L->f_owner = (int16_t)owner;
	/* _co_firsttraceable is not among them: it stays where it is, just before the code. */
	L->co_first = (int16_t)(code - (L->co_code - L->co_first));
	L->co_code = (int16_t)code;
	debug_ceval_gil = (uint64_t)ceval_gil;
	gil_ptr_at = (uintptr_t)rt + head;
	return DEBUG_READ;
}

static void choose_frame_layout(void)
{
	code_type = dlsym(RTLD_DEFAULT, "PyCode_Type");
	if (!code_type || !py.PyCode_Addr2Line || dlsym(RTLD_DEFAULT, "_Py_NegativeRefcount") ||
	    getenv("WEFT_TEST_FRAME_API"))
		return;
	layout = &version_layout;
	if (getenv("WEFT_TEST_FRAME_SKEW")) {
		skewed = *layout;
		skewed.f_code += 8; /* still a pointer field: the checks must catch it */
		layout = &skewed;
	}
}

/* A frame's code object (3.14+: a tagged stack reference; None is not code either). */
static inline PyObject *frame_code(const struct frame_layout *L, void *f)
{
	return (PyObject *)(AT(f, L->f_code, uintptr_t) & ~(uintptr_t)L->code_tag_bits);
}

/* The innermost frame of a thread state (3.11, 3.12: through its cframe). */
static inline void *first_frame(const struct frame_layout *L, void *ts)
{
	void *f = AT(ts, L->ts_frame, void *);
	if (L->cframe_current >= 0 && f)
		f = AT(f, L->cframe_current, void *);
	return f;
}

/* An entry frame (the interpreter's own, between a C call and Python): no code. */
static inline int entry_frame(const struct frame_layout *L, void *f)
{
	return L->no_code_owner >= 0 && L->f_owner >= 0 &&
	       AT(f, L->f_owner, unsigned char) >= L->no_code_owner;
}

/* Frame f's instruction offset in code, its code object. */
static inline int frame_lasti(const struct frame_layout *L, void *f, PyObject *code)
{
	return L->f_owner < 0
		   ? AT(f, L->f_instr, int) * 2
		   : (int)(AT(f, L->f_instr, const char *) - ((const char *)code + L->co_code));
}

/*
 * A lock taken in a loop: the innermost frame is at one of the two places
 * this thread's last stacks were (a with block's acquire and release), and
 * (code, offset) alone decide the answer: a code with an id is never
 * freed, so its address keeps naming it. 1 with pcs[0] set, or 0.
 */
static inline int remembered_frame(const struct frame_layout *L, void *ts, void **pcs)
{
	void *f = first_frame(L, ts);
	if (WEFT_UNLIKELY(!f))
		return 0;
	PyObject *code = frame_code(L, f);
	int lasti = frame_lasti(L, f, code);
	const struct weft_py_memo *m = weft_tls.py_memo;
	for (int i = 0; i < WEFT_PY_MEMOS; i++, m++) {
		if (code != m->code || lasti != m->lasti || !code)
			continue;
		void *b = m->code2 ? AT(f, L->f_back, void *) : NULL;
		if (m->hops == 2 && b) {
			if (!entry_frame(L, b))
				continue;
			b = AT(b, L->f_back, void *);
		}
		if (m->code2 && (!b || frame_code(L, b) != m->code2 ||
				 frame_lasti(L, b, m->code2) != m->lasti2))
			continue;
		pcs[0] = (void *)(uintptr_t)m->word;
		return 1;
	}
	return 0;
}

/*
 * Frame f's code object and instruction offset, read from the structures.
 * On success returns 1 with *code and *lasti set; 0 for a frame a stack
 * skips: one without a code object (the interpreter's own entry frames)
 * or one not started yet (PyEval_GetFrame skips those too).
 */
static inline int frame_code_lasti(const struct frame_layout *L, void *f, PyObject **code,
				   int *lasti)
{
	int owner = L->f_owner >= 0 ? AT(f, L->f_owner, unsigned char) : 0;
	if (L->no_code_owner >= 0 && owner >= L->no_code_owner)
		return 0;
	PyObject *c = frame_code(L, f);
	if (!c || AT(c, sizeof(void *), PyObject *) != code_type)
		return 0;
	if (L->f_owner < 0) {
		*lasti = AT(f, L->f_instr, int) * 2;
	} else {
		const char *start = (const char *)c + L->co_code;
		const char *instr = AT(f, L->f_instr, const char *);
		if (owner != OWNED_BY_GENERATOR && instr < start + 2 * AT(c, L->co_first, int))
			return 0;
		*lasti = (int)(instr - start);
	}
	*code = c;
	return 1;
}

/* A frame's instruction pointer at lasti (3.11+), as weft_py_remembered compares it. */
static uintptr_t frame_instr(const struct frame_layout *L, PyObject *code, int lasti)
{
	return L->f_owner < 0 ? 0 : (uintptr_t)code + (uintptr_t)L->co_code + (uintptr_t)lasti;
}

/*
 * Remembers word as the stack of the innermost frame at (code, lasti),
 * with the program's frame at (code2, lasti2) hops frames under it when
 * code2 (2: an entry frame between): the
 * entries are replaced in turn (a with block's acquire and release are at
 * two offsets, a Condition's at three frames).
 */
static void remember(const struct frame_layout *L, PyObject *code, int lasti, PyObject *code2,
		     int lasti2, int hops, void *word)
{
	struct weft_tls *t = &weft_tls;
	struct weft_py_memo *m = &t->py_memo[t->py_memo_next];
	t->py_memo_next = (t->py_memo_next + 1) % WEFT_PY_MEMOS;
	m->code = code;
	m->lasti = lasti;
	m->instr = frame_instr(L, code, lasti);
	m->code2 = code2;
	m->lasti2 = code2 ? lasti2 : 0;
	m->instr2 = code2 ? frame_instr(L, code2, lasti2) : 0;
	m->hops = code2 ? hops : 0;
	m->word = (uint64_t)(uintptr_t)word;
}

/*
 * The innermost frame of the program's own code (not weft's bootstrap,
 * not threading.py or queue.py) as a Python frame word, read from the
 * structures; ts is this thread's state and it holds the GIL. 1 or 0.
 */
static int innermost_frame_direct(void *ts, void **pcs, PyObject **code_out, int *lasti_out,
				  int nogil)
{
	const struct frame_layout *L = layout;
	void *f = first_frame(L, ts);
	/* the innermost frame when it is not the answer, and if an entry frame is under it */
	PyObject *code0 = NULL;
	int lasti0 = -1, entry1 = 0;
	for (int depth = 0; f && depth < 256; depth++, f = AT(f, L->f_back, void *)) {
		PyObject *code;
		int lasti;
		if (!frame_code_lasti(L, f, &code, &lasti)) {
			if (depth == 1)
				entry1 = entry_frame(L, f);
			continue;
		}
		int line = 0;
		uint32_t id = frame_position(code, lasti, NULL, &line, nogil);
		/* with an id: a code that is never freed, whose address keeps naming it */
		if (depth == 0 && id) {
			code0 = code;
			lasti0 = lasti;
		}
		if (nogil && (!id || !defined_here(id)))
			return 0; /* never seen with the GIL: naming it needs the C API */
		if (id && code_ours[id] == 0) {
			define_code(id, code);
			pcs[0] = (void *)(uintptr_t)WEFT_PYFRAME(id, line < 0 ? 0 : line);
			*code_out = code;
			*lasti_out = lasti;
			/*
			 * The innermost frame, or the one under it, or the one under
			 * an entry frame under it: a deeper answer depends on more
			 * frames than a memo compares.
			 */
			int hops = depth == 2 && !entry1 ? 0 : depth;
			if ((depth == 0 || (hops && hops <= 2 && code0 && lasti0 >= 0)) &&
			    lasti >= 0 && weft_tls.py_defined &&
			    (weft_tls.py_defined[id / 8] & (1u << (id % 8))))
				remember(L, depth ? code0 : code, depth ? lasti0 : lasti,
					 depth ? code : NULL, lasti, hops, pcs[0]);
			return 1;
		}
	}
	return 0;
}

/*
 * The check of a direct read: the same frame found through the API, with
 * its line worked out by the API (not from the cache the direct read
 * filled).
 */
static int direct_read_agrees(int n, PyObject *code, int lasti)
{
	PyObject *f = py.PyEval_GetFrame();
	if (f)
		py.Py_IncRef(f);
	int agrees = 0;
	while (f) {
		PyObject *c = py.PyFrame_GetCode(f);
		uint32_t id = c ? code_id(c) : 0;
		if (id && code_ours[id] == 0) {
			agrees = n == 1 && c == code &&
				 py.PyFrame_GetLineNumber(f) == py.PyCode_Addr2Line(code, lasti);
			py.Py_DecRef(c);
			break;
		}
		if (c)
			py.Py_DecRef(c);
		PyObject *back = py.PyFrame_GetBack(f);
		py.Py_DecRef(f);
		f = back;
	}
	if (f)
		py.Py_DecRef(f);
	else
		agrees = n == 0;
	return agrees;
}

static int python_stack_api(void **pcs, int max, int full);

/*
 * The innermost frame of a thread that let go of the GIL to block (a
 * Lock's acquire on 3.10-3.13.0 waits in sem_wait, without the GIL): its
 * frames stay as they were, and only this thread could change them, so
 * reading them is safe; the C API is not (reference counts, the shared
 * code table). So: only once a direct read has agreed with the API (the
 * layout is this interpreter's; the check itself needs the GIL), the thread
 * state is this thread's (PyGILState_GetThisThreadState may be called
 * without the GIL), and the frame's code and position were seen with the
 * GIL (this thread's caches), as the try before the wait does. Else none.
 */
static int without_gil(void **pcs, int max, int full)
{
	if (full || !layout || direct_checks_left == DIRECT_CHECKS || max < 1 ||
	    !weft_tls.py_main_ts || !py_initialized())
		return 0;
	void *ts = py.PyGILState_GetThisThreadState();
	if (ts != weft_tls.py_main_ts)
		return 0;
	PyObject *code = NULL;
	int lasti = 0;
	return innermost_frame_direct(ts, pcs, &code, &lasti, 1);
}

/*
 * The current state when it is the one this thread was last seen to own
 * and it names this thread: this thread holds the GIL with it (in 3.10
 * and 3.11 the current state is the GIL holder's). Two loads instead of
 * three calls; NULL: ask main_tstate.
 */
static inline void *own_tstate_fast(const struct frame_layout *L)
{
	void *ts = current_tstate();
	if (!ts || ts != weft_tls.py_main_ts ||
	    AT(ts, L->ts_thread_id, unsigned long) != weft_tls.py_self || !py_initialized())
		return NULL;
	return ts;
}

struct weft_py_repeat weft_py_repeat;

/*
 * Fills weft_py_repeat when what weft_python_record_repeat checks first
 * holds for good (a checked layout, caller stacks, the bootstrap ran) and
 * this interpreter has the shape the inline reading assumes; clears it
 * otherwise. Called where any of those changes, with the GIL.
 */
static void repeat_update(void)
{
	const struct frame_layout *L = layout;
	if (!L || direct_checks_left || weft_stacks != WEFT_STACKS_CALLER || !py_booted ||
	    tstate_load.how != LOAD_TLS || init_load.how != LOAD_GLOBAL || L->cframe_current >= 0 ||
	    L->f_owner < 0 || !tstate_load.at) {
		weft_py_repeat.tstate_tls = 0;
		return;
	}
	weft_py_repeat = (struct weft_py_repeat){
	    .tstate_tls = tstate_load.at,
	    .initialized = (const int *)init_load.at,
	    .code_mask = ~(uintptr_t)L->code_tag_bits,
	    .ts_thread_id = L->ts_thread_id,
	    .ts_frame = L->ts_frame,
	    .f_code = L->f_code,
	    .f_instr = L->f_instr,
	    .f_back = L->f_back,
	    .f_owner = L->f_owner,
	    .no_code_owner = L->no_code_owner,
	};
}

static int python_stack(void **pcs, int max, int full)
{
	if (!py_booted)
		return 0;
	void *ts = layout ? own_tstate_fast(layout) : NULL;
	if (!ts)
		ts = main_tstate();
	if (!ts)
		return without_gil(pcs, max, full);
	if (WEFT_UNLIKELY(gil_nwanted))
		define_wanted();
	if (!full && layout && max > 0) {
		PyObject *code = NULL;
		int lasti = 0;
		int n = innermost_frame_direct(ts, pcs, &code, &lasti, 0);
		if (WEFT_LIKELY(!direct_checks_left))
			return n;
		/* Still being checked (with the GIL: no other thread counts). */
		if (direct_read_agrees(n, code, lasti)) {
			if (!--direct_checks_left)
				repeat_update();
			return n;
		}
		layout = NULL;
		repeat_update();
		warn_line(
		    "weft: warning: this interpreter's frames are not laid out as weft expects;"
		    " Python stacks are read through the C API (slower)\n");
	}
	return python_stack_api(pcs, max, full);
}

static int python_stack_api(void **pcs, int max, int full)
{
	/*
	 * The current frame is borrowed: it lives while it runs. Walking
	 * further (full stacks) takes references, as PyFrame_GetBack gives.
	 */
	PyObject *f = py.PyEval_GetFrame();
	if (!f)
		return 0;
	int n = 0, borrowed = 1;
	while (f && n < max) {
		PyObject *code = py.PyFrame_GetCode(f);
		if (code) {
			int line = 0;
			int lasti = py.PyFrame_GetLasti ? py.PyFrame_GetLasti(f) : -1;
			uint32_t id = frame_position(code, lasti, f, &line, 0);
			/*
			 * The bootstrap's wrappers never show; threading.py and
			 * queue.py frames only in full stacks, so a caller stack
			 * points at the user's line.
			 */
			if (id && code_ours[id] != 1 && (code_ours[id] != 2 || full)) {
				define_code(id, code);
				pcs[n++] = (void *)(uintptr_t)WEFT_PYFRAME(id, line < 0 ? 0 : line);
				if (!full) {
					py.Py_DecRef(code);
					break;
				}
			}
			py.Py_DecRef(code);
		}
		PyObject *back = py.PyFrame_GetBack(f);
		if (!borrowed)
			py.Py_DecRef(f);
		borrowed = 0;
		f = back;
	}
	if (f && !borrowed)
		py.Py_DecRef(f);
	return n;
}

/* ---- where a thread waits for or lets go of the GIL ----------------------------- */

/*
 * A code a GIL event could not name (no thread has defined it), with a
 * reference: defined at any thread's next stack taken with the GIL, and
 * kept for the process (code_definitions), so that every thread's later
 * GIL events name it. Every code wanted since is defined then, not only
 * the first, and by whichever thread comes first: a thread pool's worker
 * lets the GIL go in a dozen functions (socket, ssl, http.client) between
 * two lock events, a server's request thread may never take a stack;
 * one code defined at the same thread's next stack left 78% of an HTTP
 * client's GIL events unnamed.
 */
static void want_code(PyObject *code)
{
	for (int i = 0; i < gil_nwanted; i++)
		if (gil_wanted[i] == code)
			return;
	if (gil_nwanted == GIL_WANTED_MAX)
		return;
	py.Py_IncRef(code); /* a plain count: this thread is the only one running Python */
	gil_wanted[gil_nwanted++] = code;
}

/* With the GIL and the C API: the codes GIL events wanted, defined in this ring. */
static void define_wanted(void)
{
	int n = gil_nwanted;
	gil_nwanted = 0;
	for (int i = 0; i < n; i++) {
		uint32_t id = code_id(gil_wanted[i]);
		if (id)
			define_code(id, gil_wanted[i]);
		py.Py_DecRef(gil_wanted[i]);
	}
}

/*
 * The Python frames of this thread at a GIL event (take_gil has the GIL,
 * drop_gil still holds its mutex: no other thread runs Python, but this
 * one has no thread state attached, so no C API). Read from the
 * structures as without_gil() does: a frame is named when its code has an
 * id and this ring defines it; its line comes from this thread's cache or
 * PyCode_Addr2Line, which only reads the code's line table. Caller stacks:
 * the innermost frame of the program's code; full stacks: every frame.
 * Returns how many frames (0: none could be named).
 */
static int gil_frames(void **pcs, int max)
{
	const struct frame_layout *L = layout;
	struct weft_tls *t = &weft_tls;
	void *ts = t->py_main_ts;
	if (!L || direct_checks_left == DIRECT_CHECKS || !ts || weft_stacks == WEFT_STACKS_NONE ||
	    !py_booted || py.PyGILState_GetThisThreadState() != ts || !defined_set())
		return 0;
	int full = weft_stacks == WEFT_STACKS_FULL, n = 0;
	void *f = first_frame(L, ts);
	for (int depth = 0; f && depth < 256 && n < max; depth++, f = AT(f, L->f_back, void *)) {
		PyObject *code;
		int lasti;
		if (!frame_code_lasti(L, f, &code, &lasti))
			continue;
		uint32_t id = code_id_known(code);
		if (id && (code_ours[id] == 1 || (code_ours[id] == 2 && !full)))
			continue;
		if (!id || !defined_here(id)) {
			want_code(code);
			break;
		}
		int line = 0;
		if (!frame_position(code, lasti, NULL, &line, 1)) {
			line = py.PyCode_Addr2Line(code, lasti);
			if (t->py_lines) {
				uintptr_t k = (uintptr_t)code >> 4;
				struct weft_py_line *e =
				    &t->py_lines[((uint32_t)k * 0x9e3779b1u ^
						  (uint32_t)lasti * 0x85ebca6bu) >>
						     23 &
						 (LINE_CACHE - 1)];
				*e = (struct weft_py_line){code, lasti, id, line};
			}
		}
		pcs[n++] = (void *)(uintptr_t)WEFT_PYFRAME(id, line < 0 ? 0 : line);
		if (!full)
			break;
	}
	return n;
}

/* A GIL event with the Python frames where this thread stands. */
static void record_gil(uint8_t kind, uint64_t ts, uint64_t wait)
{
	void *pcs[WEFT_MAX_FRAMES];
	struct weft_tls *t = &weft_tls;
	t->internal++;
	int n = gil_frames(pcs, WEFT_MAX_FRAMES);
	t->internal--;
	weft_record_frames(&(struct weft_event){.kind = kind,
						.objkind = WEFT_OBJ_GIL,
						.obj = (void *)gil_base,
						.ts = ts,
						.wait = wait},
			   pcs, n);
}

/* ---- a Lock's first try, held back -------------------------------------------- */

/*
 * CPython (3.10-3.13.0, and every RLock up to 3.13) acquires a Lock by
 * one sem_trywait with the GIL held, then, when that fails and the caller
 * may wait, lets go of the GIL and blocks in sem_wait or a timed wait. A
 * failed first try is therefore only a failure for a non-blocking
 * acquire. It is held back: the GIL let go at the same Python instruction
 * is held with it, and a blocking wait on the same semaphore that follows
 * drops it (the wait is lock.wait then lock.acquire or a timeout's
 * lock.fail). Any other record of the thread lets the held ones out first,
 * with their own times, so a real failure stays where it happened.
 */
struct weft_py_held {
	uint8_t kind;
	const void *obj;
	uint64_t ts;
	int64_t arg;
	int n;
	void *pcs[WEFT_MAX_FRAMES];
};
#define HELD_MAX 3 /* the try, the GIL's release, a forced switch */

/* The thread's current Python instruction as (frame, instruction word); 0 when unknown. */
static int current_instruction(uintptr_t *frame, uintptr_t *instr)
{
	const struct frame_layout *L = layout;
	void *ts = weft_tls.py_main_ts;
	/* As without_gil(): once a direct read agreed with the API, the layout is this one. */
	if (!L || direct_checks_left == DIRECT_CHECKS || !ts)
		return 0;
	void *f = first_frame(L, ts);
	if (!f)
		return 0;
	*frame = (uintptr_t)f;
	*instr = L->f_owner < 0 ? (uintptr_t)AT(f, L->f_instr, int) : AT(f, L->f_instr, uintptr_t);
	return 1;
}

static __thread uintptr_t held_frame, held_instr;
static void let_out_held(void);
static int record_frames(void **pcs, int max);

int weft_python_hold_trywait(const void *sem, uint64_t ts, void *caller)
{
	struct weft_tls *t = &weft_tls;
	(void)caller; /* inside the interpreter: the Python line names the site */
	if (t->guard)
		return 0;
	if (t->py_nheld)
		let_out_held(); /* an earlier try was a real failure */
	if (!weft_pysem_has(sem) || !py_booted || !layout || !own_tstate_fast(layout) ||
	    !current_instruction(&held_frame, &held_instr))
		return 0;
	if (!t->py_held && !(t->py_held = calloc(HELD_MAX, sizeof(*t->py_held))))
		return 0;
	struct weft_py_held *h = &t->py_held[0];
	int was_guarded = weft_enter();
	h->n = weft_stacks == WEFT_STACKS_NONE ? 0 : record_frames(h->pcs, WEFT_MAX_FRAMES);
	weft_leave(was_guarded);
	h->kind = WEFT_EV_LOCK_FAIL;
	h->obj = sem;
	h->ts = ts;
	h->arg = EAGAIN;
	t->py_nheld = 1;
	return 1;
}

int weft_python_hold_gil_release(uint64_t ts, int forced)
{
	struct weft_tls *t = &weft_tls;
	uintptr_t f, i;
	if (!current_instruction(&f, &i) || f != held_frame || i != held_instr ||
	    t->py_nheld != 1) {
		let_out_held();
		return 0;
	}
	t->py_held[1] = (struct weft_py_held){WEFT_EV_GIL_RELEASE, (void *)gil_base, ts, 0, 0, {0}};
	t->internal++;
	t->py_held[1].n = gil_frames(t->py_held[1].pcs, WEFT_MAX_FRAMES);
	t->internal--;
	t->py_nheld = 2;
	if (forced) {
		t->py_held[2] = (struct weft_py_held){
		    WEFT_EV_GIL_FORCED_SWITCH, (void *)gil_base, ts, 0, 0, {0}};
		t->py_nheld = 3;
	}
	return 1;
}

static void let_out(int from)
{
	struct weft_tls *t = &weft_tls;
	int n = t->py_nheld;
	t->py_nheld = 0;
	for (int k = from; k < n; k++) {
		const struct weft_py_held *h = &t->py_held[k];
		uint8_t objkind = h->kind == WEFT_EV_LOCK_FAIL ? WEFT_OBJ_SEMAPHORE : WEFT_OBJ_GIL;
		weft_record_frames(&(struct weft_event){.kind = h->kind,
							.objkind = objkind,
							.obj = h->obj,
							.ts = h->ts,
							.arg = h->arg},
				   h->pcs, h->n);
	}
}

void weft_python_blocking_wait(const void *sem)
{
	struct weft_tls *t = &weft_tls;
	/* The first try of this very wait: no failure, the GIL's release stays. */
	let_out(t->py_nheld && t->py_held[0].obj == sem ? 1 : 0);
}

static void let_out_held(void)
{
	let_out(0);
}

/* The frames of a record (weft_observer.frames): caller or full as the stack mode says. */
static int record_frames(void **pcs, int max)
{
	/* Checked layouts, caller stacks: first the frames this thread saw last. */
	const struct weft_py_repeat *R = &weft_py_repeat;
	if (R->tstate_tls && max > 0) {
		uint64_t word = weft_py_remembered(R);
		if (word) {
			pcs[0] = (void *)(uintptr_t)word;
			return 1;
		}
		return python_stack(pcs, max, 0);
	}
	const struct frame_layout *L = layout;
	if (WEFT_LIKELY(L && !direct_checks_left && weft_stacks != WEFT_STACKS_FULL && max > 0 &&
			py_booted)) {
		void *ts = own_tstate_fast(L);
		if (ts && remembered_frame(L, ts, pcs))
			return 1;
	}
	return python_stack(pcs, max, weft_stacks == WEFT_STACKS_FULL);
}

int weft_python_record_repeat(uint8_t kind, uint8_t objkind, const void *obj, uint64_t ts,
			      void *caller)
{
	/*
	 * What record_frames' first try needs, and a caller stack of one word:
	 * a call site inside the interpreter is left out of it (take_stack),
	 * a C extension's is not.
	 */
	const struct frame_layout *L = layout;
	if (!WEFT_LIKELY(L && !direct_checks_left && weft_stacks == WEFT_STACKS_CALLER &&
			 py_booted && (uintptr_t)caller - weft_pytext_lo < weft_pytext_len))
		return 0;
	void *tstate = own_tstate_fast(L), *pc;
	if (!tstate || !remembered_frame(L, tstate, &pc))
		return 0;
	return weft_record_repeat(kind, objkind, obj, ts, (uint64_t)(uintptr_t)pc);
}

static int stack_full(void **pcs, int max)
{
	return python_stack(pcs, max, 1);
}

static void *code_object(uint32_t id)
{
	return id && id < next_code ? code_by_id[id] : NULL;
}

static void define_frames(const uint64_t *words, int n)
{
	int was_guarded = weft_enter();
	for (int i = 0; i < n; i++) {
		uint64_t id = WEFT_PYFRAME_CODE(words[i]);
		if ((words[i] & WEFT_PYFRAME_BIT) && id < CODES && code_by_id[id])
			define_code((uint32_t)id, code_by_id[id]);
	}
	weft_leave(was_guarded);
}

/*
 * The frame's file relative to its package root, as its module's name
 * spells it ("logging/__init__.py", "concurrent/futures/thread.py"), as
 * python_boot.py's _module_path does: a bare basename is ambiguous. A
 * script, or a file whose directories do not match its module name, keeps
 * its basename. Returns a pointer into file.
 */
static const char *module_path(PyObject *frame, const char *file)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	PyObject *globals =
	    py.PyDict_GetItemString ? py.PyObject_GetAttrString(frame, "f_globals") : NULL;
	if (!globals) {
		py.PyErr_Clear();
		return base;
	}
	PyObject *mod = py.PyDict_GetItemString(globals, "__name__"); /* borrowed */
	const char *name = mod ? py.PyUnicode_AsUTF8(mod) : NULL;
	const char *cur = base;
	if (!name) {
		py.PyErr_Clear();
	} else if (strcmp(name, "__main__")) {
		/* The package names, last first, each the directory before cur. */
		const char *end = name + strlen(name);
		if (strcmp(base, "__init__.py")) {
			const char *dot = strrchr(name, '.');
			end = dot ? dot : name;
		}
		while (end > name) {
			const char *part = end;
			while (part > name && part[-1] != '.')
				part--;
			long n = end - part;
			const char *dir = cur - 1 - n;
			if (cur - file < n + 1 || strncmp(dir, part, (size_t)n) ||
			    (dir > file && dir[-1] != '/')) {
				cur = base;
				break;
			}
			cur = dir;
			end = part > name ? part - 1 : name;
		}
	}
	py.Py_DecRef(globals);
	return cur;
}

/*
 * Called from the sem_init hook: a threading.Lock or RLock being made.
 * Returns the object kind and a label "Lock app.py:12" from the first
 * frame outside threading.py, or 0 when the lock is internal to a
 * threading/queue class (whose own events cover it).
 */
int weft_python_lock_kind(const void *sem, char *label, size_t len)
{
	(void)sem;
	/* Locks made while the interpreter starts up are its own. */
	if (!py_booted)
		return 0;
	/*
	 * Without the GIL this is the runtime's own machinery (3.13's parking
	 * lot makes a semaphore per wait), not a lock of the program's.
	 */
	if (!in_main_interpreter())
		return 0;
	PyObject *f = py.PyEval_GetFrame();
	if (!f)
		return 0;
	if (fork_site_frame) {
		if (f == fork_site_frame && frame_pos(f) == fork_site_pos)
			return 0;
		fork_site_frame = NULL; /* Python code has moved on */
	}
	py.Py_IncRef(f);
	int kind = WEFT_OBJ_PY_LOCK, depth = 0, of_condition = 0;
	label[0] = 0;
	while (f) {
		PyObject *code = py.PyFrame_GetCode(f);
		PyObject *h1 = NULL, *h2 = NULL;
		const char *file = code ? attr_utf8(code, "co_filename", &h1) : NULL;
		const char *name = code ? attr_utf8(code, "co_name", &h2) : NULL;
		int lib = file && (strstr(file, "/threading.py") || strstr(file, "/queue.py") ||
				   !strcmp(file, "<weft>") || !strncmp(file, "<frozen ", 8));
		int done = 0;
		if (lib) {
			if (depth == 0 && name && !strcmp(name, "RLock"))
				kind = WEFT_OBJ_PY_RLOCK;
			else if (name && !strcmp(name, "__init__") && file &&
				 (strstr(file, "/threading.py") || !strcmp(file, "<weft>")))
				of_condition = 1; /* Condition() making its lock */
			else
				kind = 0; /* internal to Event/Semaphore/Queue/Condition.wait */
		} else if (file) {
			snprintf(label, len, "%s%s %s:%d",
				 kind == WEFT_OBJ_PY_RLOCK ? "RLock" : "Lock",
				 of_condition ? " of Condition" : "", module_path(f, file),
				 py.PyFrame_GetLineNumber(f));
			done = 1;
		}
		if (h1)
			py.Py_DecRef(h1);
		if (h2)
			py.Py_DecRef(h2);
		if (code)
			py.Py_DecRef(code);
		if (done || !kind)
			break;
		PyObject *back = py.PyFrame_GetBack(f);
		py.Py_DecRef(f);
		f = back;
		depth++;
	}
	if (f)
		py.Py_DecRef(f);
	return kind;
}

/*
 * A threading.Lock or RLock just made (its sem_t on 3.10-3.13.0, the lock
 * object on 3.13.1+): named from its Python caller and recorded when it is
 * the program's, not one made inside threading and queue classes. Called
 * by a hook that may record (weft_should_record).
 */
void weft_python_note_lock(const void *lock, void *caller)
{
	char label[256];
	int was_guarded = weft_enter();
	int kind = weft_python_lock_kind(lock, label, sizeof(label));
	weft_leave(was_guarded);
	if (!kind)
		return;
	weft_pysem_add(lock);
	weft_record(&(struct weft_event){.kind = WEFT_REC_OBJECT_INIT,
					 .objkind = (uint8_t)kind,
					 .obj = lock,
					 .ts = weft_stamp(),
					 .arg = kind,
					 .caller = caller,
					 .payload = label,
					 .payload_len = (uint32_t)strlen(label) + 1});
}

/* ---- the _weft module ------------------------------------------------------------ */

static PyObject *ret_none(void)
{
	py.Py_IncRef(py.none);
	return py.none;
}

/* _weft.now() -> the recorder's clock, for measuring waits in the bootstrap. */
static PyObject *m_now(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	(void)args;
	(void)n;
	return py.PyLong_FromUnsignedLongLong(weft_now());
}

/*
 * Records an event of the calling Python code that began at t0 (0: did not
 * wait): wait = now - t0. Inside another instrumented method (Event.wait
 * uses Condition.wait) the event is folded into that one's.
 */
static void record_since(int kind, int objkind, const void *obj, uint64_t t0, int64_t arg)
{
	if (!weft_should_record())
		return;
	/*
	 * A Python call blocks only by letting go of the GIL (a Condition's
	 * wait, a lock found taken): a Semaphore's acquire, Event.wait,
	 * Condition.wait, Barrier.wait or Thread.join during which this thread
	 * began no take or drop of the GIL (gil_t0) never blocked, and its
	 * wait is 0, as an uncontended sem_wait's. (The whole call's time made
	 * every acquire of a Semaphore with room a contended one in weft report
	 * and `contention`.) A queue's put and get keep their call's time
	 * (SCHEMA.md), and a lock.wait at exit is another thread's.
	 */
	if (t0 && gil_base && weft_tls.gil_t0 < t0 && kind != WEFT_EV_QUEUE_PUT &&
	    kind != WEFT_EV_QUEUE_GET && kind != WEFT_EV_LOCK_WAIT)
		t0 = 0;
	uint64_t now = weft_stamp(), wait = t0 ? now - t0 : 0;
	/* A put or get in a loop: the caller's remembered frame, written without record(). */
	const struct weft_py_repeat *R = &weft_py_repeat;
	uint64_t frame = R->tstate_tls ? weft_py_remembered(R) : 0;
	if (frame && weft_record_short((uint8_t)kind, (uint8_t)objkind, obj, now, wait, arg, frame))
		return;
	weft_record(&(struct weft_event){.kind = (uint8_t)kind,
					 .objkind = (uint8_t)objkind,
					 .obj = obj,
					 .ts = now,
					 .wait = wait,
					 .arg = arg});
}

/* _weft.ev(kind, objkind, obj, t0, arg): one event; wait = now - t0 when t0. */
static PyObject *m_ev(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 5)
		return ret_none();
	long long kind = py.PyLong_AsLongLong(args[0]);
	long long objkind = py.PyLong_AsLongLong(args[1]);
	unsigned long long obj = py.PyLong_AsUnsignedLongLong(args[2]);
	unsigned long long t0 = py.PyLong_AsUnsignedLongLong(args[3]);
	long long arg = py.PyLong_AsLongLong(args[4]);
	if (py.PyErr_Occurred()) {
		py.PyErr_Clear();
		return ret_none();
	}
	record_since((int)kind, (int)objkind, (const void *)(uintptr_t)obj, t0, arg);
	return ret_none();
}

/*
 * A queue's size after an operation. For the standard library's classes
 * (their _qsize is a length, which queue_std named) it is len(q.queue),
 * read without taking the queue's mutex again; any other _qsize is called
 * through q.qsize(), as the queue would. An error counts as size 0 and is
 * dropped: it must not reach the program from weft's wrapper.
 */
static PyObject *std_qsize[3];
static long long queue_size_after(PyObject *q)
{
	static PyObject *s_qsize_attr, *s_queue, *s_qsize;
	if (!s_qsize && py.PyUnicode_InternFromString) {
		s_qsize_attr = py.PyUnicode_InternFromString("_qsize");
		s_queue = py.PyUnicode_InternFromString("queue");
		s_qsize = py.PyUnicode_InternFromString("qsize");
	}
	if (!s_qsize || !py.PyObject_GetAttr || !py.PyObject_VectorcallMethod)
		return 0;
	long long size = 0;
	int plain = 0;
	/* The class's own lookup, through its cache: under half the instructions of getattr. */
	PyObject *f = py._PyType_Lookup ? py._PyType_Lookup(weft_py_type(q), s_qsize_attr)
					: py.PyObject_GetAttr(weft_py_type(q), s_qsize_attr);
	if (f) {
		plain = f == std_qsize[0] || f == std_qsize[1] || f == std_qsize[2];
		if (!py._PyType_Lookup)
			py.Py_DecRef(f);
	} else if (!py._PyType_Lookup) {
		py.PyErr_Clear(); /* no _qsize (the pure-Python SimpleQueue): qsize() */
	}
	PyObject *r = plain ? py.PyObject_GetAttr(q, s_queue)
			    : py.PyObject_VectorcallMethod(s_qsize, &q, 1, NULL);
	if (r) {
		size = plain ? (long long)py.PyObject_Size(r) : py.PyLong_AsLongLong(r);
		py.Py_DecRef(r);
	}
	if (py.PyErr_Occurred()) {
		py.PyErr_Clear();
		size = 0;
	}
	return size;
}

/* _weft.queue_std(Queue._qsize, LifoQueue._qsize, PriorityQueue._qsize) */
static PyObject *m_queue_std(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	for (py_ssize_t i = 0; i < n && i < 3; i++) {
		py.Py_IncRef(args[i]);
		std_qsize[i] = args[i];
	}
	return ret_none();
}

/*
 * orig(*args, **kwargs) for the queue wrappers, in the vectorcall form the
 * wrapper was called with. 3.10 exports only the dict form of vectorcall.
 */
static PyObject *call_through(PyObject *fn, PyObject *const *args, py_ssize_t nargs,
			      PyObject *kwnames)
{
	if (py.PyObject_Vectorcall)
		return py.PyObject_Vectorcall(fn, args, (size_t)nargs, kwnames);
	PyObject *kw = NULL;
	if (kwnames) {
		py_ssize_t nk = py.PyObject_Size(kwnames);
		kw = nk < 0 ? NULL : py.PyDict_New();
		if (!kw)
			return NULL;
		for (py_ssize_t i = 0; i < nk; i++)
			if (py.PyObject_SetItem(kw, py.PyTuple_GetItem(kwnames, i),
						args[nargs + i]) < 0) {
				py.Py_DecRef(kw);
				return NULL;
			}
	}
	PyObject *r = py.PyObject_VectorcallDict(fn, args, (size_t)nargs, kw);
	if (kw)
		py.Py_DecRef(kw);
	return r;
}

/* notify(n=1)'s n, from the call's arguments (self first). */
static long long notify_count(PyObject *const *args, py_ssize_t nargs, PyObject *kwnames)
{
	PyObject *v = nargs > 1 ? args[1] : NULL;
	py_ssize_t nk = kwnames ? py.PyObject_Size(kwnames) : 0;
	for (py_ssize_t i = 0; !v && i < nk && py.PyTuple_GetItem; i++) {
		const char *k = py.PyUnicode_AsUTF8(py.PyTuple_GetItem(kwnames, i));
		if (k && !strcmp(k, "n"))
			v = args[nargs + i];
	}
	long long n = v ? py.PyLong_AsLongLong(v) : 1;
	if (py.PyErr_Occurred()) {
		py.PyErr_Clear(); /* not an int: the original will say so */
		n = 1;
	}
	return n;
}

/*
 * The recorded identity of a Condition's lock: a PyMutex Lock or RLock
 * (3.13.1+, 3.14+) is recorded under its own address, a semaphore-based
 * one (3.10-3.13) under its sem_t's, the pointer right after the object
 * header (lockobject.lock_lock, rlockobject.rlock_lock), read only when
 * the object is that large. NULL: a lock weft does not record.
 */
static const void *condition_lock(PyObject *cond)
{
	PyObject *lk = py.PyObject_GetAttrString(cond, "_lock");
	if (!lk) {
		py.PyErr_Clear();
		return NULL;
	}
	const void *id = NULL;
	if (weft_pysem_has(lk)) {
		id = lk;
	} else if (*(py_ssize_t *)((char *)weft_py_type(lk) + 32) >= 24) { /* tp_basicsize */
		void *sem = *(void **)((char *)lk + 16);
		if (weft_pysem_has(sem))
			id = sem;
	}
	py.Py_DecRef(lk);
	return id;
}

/* After the wait: the lock held again (arg 2, as after a pthread_cond_wait). */
static void relock_condition(const void *lock)
{
	if (lock && weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_ACQUIRE,
						 .objkind = WEFT_OBJ_SEMAPHORE,
						 .obj = lock,
						 .ts = weft_stamp(),
						 .arg = 2});
}

/*
 * RLock levels. A re-entrant acquire by the owner never reaches libc, so
 * the bootstrap's RLock subclass reports each level change here (its
 * methods wrapped in C, rlock_call); the outer
 * acquire and release are the semaphore's own events. id(RLock) -> its
 * semaphore (learned at the outer acquire) and level; touched with the GIL.
 */
#define RLOCKS 4096
static struct {
	uintptr_t id;
	const void *sem;
	long level;
} rlocks[RLOCKS];

static int rlock_slot(uintptr_t id)
{
	size_t h = (size_t)((id >> 4) * 0x9e3779b97f4a7c15ull >> 40) & (RLOCKS - 1);
	for (int n = 0; n < 16; n++, h = (h + 1) & (RLOCKS - 1))
		if (rlocks[h].id == id || !rlocks[h].id || !rlocks[h].level) {
			rlocks[h].id = id;
			return (int)h;
		}
	return -1;
}

enum { RL_BIND, RL_ENTER, RL_EXIT, RL_SAVE, RL_RESTORE };

/*
 * wrap_method's kinds for an RLock's methods, and WRAP_AROUND, a method with
 * weft's Python before and after it (the others are event kinds, all below
 * them).
 */
enum {
	WRAP_RLOCK_ACQUIRE = 1 << 16,
	WRAP_RLOCK_RELEASE,
	WRAP_RLOCK_SAVE,
	WRAP_RLOCK_RESTORE,
	WRAP_AROUND
};

/* An RLock level change (RL_*) of the RLock at id; count: the level restored. */
static void rlock_op(int op, uintptr_t id, long long count)
{
	int h = rlock_slot(id);
	if (h < 0)
		return;
	switch (op) {
	case RL_BIND:
	case RL_RESTORE:
		rlocks[h].sem = weft_tls.last_sem;
		rlocks[h].level = op == RL_BIND ? 1 : count;
		return;
	case RL_SAVE:
		rlocks[h].level = 0;
		return;
	case RL_ENTER:
		rlocks[h].level++;
		break;
	case RL_EXIT:
		if (rlocks[h].level <= 1) {
			rlocks[h].level = 0; /* the outer release: the semaphore's own event */
			return;
		}
		rlocks[h].level--;
		break;
	default:
		return;
	}
	if (rlocks[h].sem && weft_should_record())
		weft_record(&(struct weft_event){.kind = op == RL_ENTER ? WEFT_EV_RLOCK_ENTER
									: WEFT_EV_RLOCK_EXIT,
						 .objkind = WEFT_OBJ_PY_RLOCK,
						 .obj = rlocks[h].sem,
						 .ts = weft_stamp(),
						 .arg = rlocks[h].level});
}

/* _weft.rlock(op, id, n): an RLock level change (RL_*); n is the count restored. */
static PyObject *m_rlock(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	long long op = py.PyLong_AsLongLong(args[0]);
	uintptr_t id = (uintptr_t)py.PyLong_AsUnsignedLongLong(args[1]);
	long long count = py.PyLong_AsLongLong(args[2]);
	if (py.PyErr_Occurred()) {
		py.PyErr_Clear();
		return ret_none();
	}
	rlock_op((int)op, id, count);
	return ret_none();
}

/*
 * A wrapped method of Queue (put, get) or Condition (wait, notify,
 * notify_all) under weft: the original runs with its internal lock and
 * condition traffic folded, and the call is one event. The kind of that
 * event says which method this is. An exception from put, get or wait
 * passes through unrecorded, as the operation did not happen; notify is
 * recorded before the call, as the Python wrappers did.
 */
static PyObject *wrapped_call(int kind, PyObject *orig, PyObject *const *args, py_ssize_t nargs,
			      PyObject *kwnames)
{
	struct weft_tls *t = &weft_tls;
	PyObject *self = nargs > 0 ? args[0] : NULL;
	if (!self)
		return call_through(orig, args, nargs, kwnames); /* unbound, no self: its error */
	int notify = kind == WEFT_EV_COND_SIGNAL || kind == WEFT_EV_COND_BROADCAST;
	if ((notify || kind == WEFT_EV_QUEUE_PUT) && WEFT_UNLIKELY(weft_races_on))
		weft_races_hb(0, (uintptr_t)self);
	/* Checked here too: folded (inside Queue.put) notify skips reading its n. */
	if (notify && weft_should_record())
		record_since(kind, WEFT_OBJ_PY_CONDITION, self, 0,
			     kind == WEFT_EV_COND_SIGNAL ? notify_count(args, nargs, kwnames) : 0);
	/*
	 * A Condition's wait lets go of its lock and takes it back, as
	 * pthread_cond_wait does (lock.release and lock.acquire with arg 2
	 * around the cond.wait): the holders at every instant are right. The
	 * lock's own traffic inside is folded.
	 */
	const void *cond_lock = NULL;
	if (kind == WEFT_EV_COND_WAIT && weft_should_record()) {
		cond_lock = condition_lock(self);
		if (cond_lock)
			weft_record(&(struct weft_event){.kind = WEFT_EV_LOCK_RELEASE,
							 .objkind = WEFT_OBJ_SEMAPHORE,
							 .obj = cond_lock,
							 .ts = weft_stamp(),
							 .arg = 2});
	}
	t->fold++;
	uint64_t t0 = notify ? 0 : weft_now(); /* notify's event is already recorded */
	PyObject *r = call_through(orig, args, nargs, kwnames);
	if (t->fold > 0)
		t->fold--;
	if (!r || notify) {
		relock_condition(cond_lock); /* Condition.wait's finally takes it back */
		return r;
	}
	int ok =
	    kind != WEFT_EV_COND_WAIT || r == py.true_obj || (r != py.false_obj && r != py.none);
	if (ok && kind != WEFT_EV_QUEUE_PUT && WEFT_UNLIKELY(weft_races_on))
		weft_races_hb(1, (uintptr_t)self);
	if (kind == WEFT_EV_COND_WAIT) {
		record_since(kind, WEFT_OBJ_PY_CONDITION, self, t0, ok ? 0 : ETIMEDOUT);
		relock_condition(cond_lock);
	} else
		record_since(kind, WEFT_OBJ_QUEUE, self, t0, queue_size_after(self));
	return r;
}

/*
 * A wrapped method is an object of weft's own type that behaves as a
 * function does in a class: a method descriptor (Py_TPFLAGS_METHOD_DESCRIPTOR)
 * with vectorcall. The interpreter then loads q.put as it loads a Python
 * method, without making a bound method per call, and calls the wrapper with
 * self first; q.put as a value is bound by tp_descr_get as a function's is.
 * Attributes and repr are the original function's.
 */
struct wrapped_method {
	char head[16]; /* PyObject_HEAD: the refcount, then ob_type */
	PyObject *(*vectorcall)(PyObject *, PyObject *const *, size_t, PyObject *);
	PyObject *orig;
	PyObject *aux; /* an RLock's _is_owned (WRAP_RLOCK_ACQUIRE), (before, after, fold[,
			  waiting[, finally]]) (WRAP_AROUND); else NULL */
	int kind;
	/* WRAP_AROUND, taken from aux once: after's queue event kind, or 0; waiting, finally, or
	 * NULL */
	int queue_kind;
	PyObject *waiting, *finally;
};

/*
 * A semaphore RLock's (3.10-3.13) method, its level change reported in C
 * around the original: in Python (the subclass's methods before) a `with
 * rlock:` cost two frames and four calls into weft, 300-500 ns where the
 * block itself takes 100-180 ns. As the Python methods did: release and
 * __exit__ call the original release with self alone.
 */
static PyObject *rlock_call(struct wrapped_method *w, PyObject *const *args, py_ssize_t nargs,
			    PyObject *kwnames)
{
	PyObject *self = nargs > 0 ? args[0] : NULL;
	/* unbound, no self: its error */
	if (!self)
		return call_through(w->orig, args, nargs, kwnames);
	uintptr_t id = (uintptr_t)self;
	PyObject *r;
	switch (w->kind) {
	case WRAP_RLOCK_ACQUIRE: {
		PyObject *owned = call_through(w->aux, args, 1, NULL);
		if (!owned)
			return NULL;
		int again = owned == py.true_obj;
		py.Py_DecRef(owned);
		r = call_through(w->orig, args, nargs, kwnames);
		if (r && (again || r == py.true_obj))
			rlock_op(again ? RL_ENTER : RL_BIND, id, 0);
		return r;
	}
	case WRAP_RLOCK_RELEASE:
		rlock_op(RL_EXIT, id, 0);
		return call_through(w->orig, args, 1, NULL);
	case WRAP_RLOCK_SAVE:
		rlock_op(RL_SAVE, id, 0);
		return call_through(w->orig, args, 1, NULL);
	default: /* WRAP_RLOCK_RESTORE: _acquire_restore(state), state = (count, owner) */
		r = call_through(w->orig, args, nargs, kwnames);
		if (r && nargs == 2 && py.PyTuple_GetItem) {
			PyObject *count = py.PyTuple_GetItem(args[1], 0);
			long long n = count ? py.PyLong_AsLongLong(count) : -1;
			if (py.PyErr_Occurred())
				py.PyErr_Clear();
			else
				rlock_op(RL_RESTORE, id, n);
		}
		return r;
	}
}

/*
 * WRAP_AROUND: pre = before(*args, **kwargs) (None: no call; True: the
 * time now, as _weft.now() says it, for a wait's start; a tuple (exception
 * type, message, message): the original takes no arguments, and a call
 * with positional or keyword ones raises that, as a constructor that
 * checks its own would, with no frame of weft's), the original
 * (its inside folded when fold is true), then after(self, result, pre),
 * whose value is returned, when the original returned. weft's Python around
 * a method is called from here and returns before the original runs or
 * after it returned: an exception the original raises reaches the caller
 * with no frame of weft's in its traceback, as it would untraced. With a
 * fourth item, a dict, the calling thread's id maps to self in it while
 * the original runs: a wait in a C method (SimpleQueue.get) has no frame
 * the bootstrap's exit waits could find it by. A fifth, finally(self), is
 * called once the original returned or raised, its exception set aside
 * meanwhile (--races: Future.result's edge, also when it re-raises).
 * An after that is the event kind queue.put or queue.get (SimpleQueue's C
 * methods) records that event here, with the queue's size after it and
 * the --races edges Queue's wrappers take, and calls no Python: Python
 * before and after cost a third more per put and get than the Python
 * methods they replaced.
 */
static PyObject *around_call(struct wrapped_method *w, PyObject *const *args, py_ssize_t nargs,
			     PyObject *kwnames)
{
	PyObject *before = py.PyTuple_GetItem(w->aux, 0), *after = py.PyTuple_GetItem(w->aux, 1);
	PyObject *fold = py.PyTuple_GetItem(w->aux, 2);
	if (!before || !after || !fold || nargs < 1)
		return call_through(w->orig, args, nargs, kwnames);
	if (weft_py_type(before) == weft_py_type(w->aux)) {
		/* (exception, positional, keyword message): the original takes no arguments */
		PyObject *type = py.PyTuple_GetItem(before, 0), *msg = NULL;
		if (nargs > 1)
			msg = py.PyTuple_GetItem(before, 1);
		else if (kwnames && py.PyObject_Size(kwnames) > 0)
			msg = py.PyTuple_GetItem(before, 2);
		if (type && msg && py.PyErr_Restore) {
			PyObject *e = call_through(type, &msg, 1, NULL);
			if (e) {
				py.Py_IncRef(type);
				py.PyErr_Restore(type, e, NULL);
			}
			return NULL;
		}
		before = py.none;
	}
	PyObject *pre = NULL;
	uint64_t t0 = 0;
	if (w->queue_kind == WEFT_EV_QUEUE_PUT && WEFT_UNLIKELY(weft_races_on))
		weft_races_hb(0, (uintptr_t)args[0]);
	if (before == py.true_obj && w->queue_kind)
		t0 = weft_now();
	else if (before == py.true_obj)
		pre = py.PyLong_FromUnsignedLongLong(weft_now());
	else if (before != py.none)
		pre = call_through(before, args, nargs, kwnames);
	if (before != py.none && !pre && !(before == py.true_obj && w->queue_kind))
		return NULL;
	int folds = fold == py.true_obj;
	PyObject *waiting = w->waiting, *finally = w->finally, *tid = NULL;
	if (waiting) {
		if (!weft_tls.tid)
			weft_tls.tid = (int)syscall(SYS_gettid);
		tid = py.PyLong_FromUnsignedLongLong((unsigned long long)weft_tls.tid);
		if (!tid || py.PyObject_SetItem(waiting, tid, args[0]) < 0) {
			py.PyErr_Clear(); /* only the exit waits lose this one */
			if (tid)
				py.Py_DecRef(tid);
			tid = NULL;
		}
	}
	weft_tls.fold += folds;
	PyObject *r = call_through(w->orig, args, nargs, kwnames);
	weft_tls.fold -= folds;
	if (weft_tls.fold < 0)
		weft_tls.fold = 0;
	if (tid || finally) {
		/* the original's exception, if any, is set aside and put back as it was */
		PyObject *type, *value, *tb;
		py.PyErr_Fetch(&type, &value, &tb);
		if (tid && py.PyObject_DelItem(waiting, tid) < 0)
			py.PyErr_Clear();
		if (finally) {
			PyObject *done = call_through(finally, args, 1, NULL);
			if (done)
				py.Py_DecRef(done);
			else
				py.PyErr_Clear(); /* weft's error is not the program's */
		}
		py.PyErr_Restore(type, value, tb);
		if (tid)
			py.Py_DecRef(tid);
	}
	if (r && w->queue_kind) {
		if (w->queue_kind == WEFT_EV_QUEUE_GET && WEFT_UNLIKELY(weft_races_on))
			weft_races_hb(1, (uintptr_t)args[0]);
		record_since(w->queue_kind, WEFT_OBJ_QUEUE, args[0], t0, queue_size_after(args[0]));
	} else if (r && after != py.none) {
		PyObject *a[3] = {args[0], r, pre ? pre : py.none};
		PyObject *value = call_through(after, a, 3, NULL);
		py.Py_DecRef(r);
		r = value;
	}
	if (pre)
		py.Py_DecRef(pre);
	return r;
}

static PyObject *wrapped_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
				    PyObject *kwnames)
{
	struct wrapped_method *w = (struct wrapped_method *)self;
	py_ssize_t nargs = (py_ssize_t)(nargsf & ~PY_VECTORCALL_ARGUMENTS_OFFSET);
	if (w->kind == WRAP_AROUND)
		return around_call(w, args, nargs, kwnames);
	if (w->kind >= WRAP_RLOCK_ACQUIRE)
		return rlock_call(w, args, nargs, kwnames);
	return wrapped_call(w->kind, w->orig, args, nargs, kwnames);
}

static PyObject *wrapped_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
	(void)type;
	if (!obj || obj == py.none) {
		py.Py_IncRef(self);
		return self;
	}
	return py.PyMethod_New(self, obj);
}

static PyObject *wrapped_getattro(PyObject *self, PyObject *name)
{
	return py.PyObject_GetAttr(((struct wrapped_method *)self)->orig, name);
}

static PyObject *wrapped_repr(PyObject *self)
{
	return py.PyObject_Repr(((struct wrapped_method *)self)->orig);
}

static int wrapped_traverse(PyObject *self, int (*visit)(PyObject *, void *), void *arg)
{
	struct wrapped_method *w = (struct wrapped_method *)self;
	int r = w->orig ? visit(w->orig, arg) : 0;
	if (!r && w->aux)
		r = visit(w->aux, arg);
	return r ? r : visit(weft_py_type(self), arg); /* a heap type's instances visit it */
}

static int wrapped_clear(PyObject *self)
{
	struct wrapped_method *w = (struct wrapped_method *)self;
	PyObject *orig = w->orig, *aux = w->aux;
	w->orig = w->aux = w->waiting = w->finally = NULL; /* the last two were aux's */
	if (orig)
		py.Py_DecRef(orig);
	if (aux)
		py.Py_DecRef(aux);
	return 0;
}

static void wrapped_dealloc(PyObject *self)
{
	PyObject *type = weft_py_type(self);
	py.PyObject_GC_UnTrack(self);
	wrapped_clear(self);
	py.PyObject_GC_Del(self);
	py.Py_DecRef(type);
}

/* PyMemberDef: the vectorcall pointer's offset, which a heap type names as a member. */
static struct {
	const char *name;
	int type;
	py_ssize_t offset;
	int flags;
	const char *doc;
} wrapped_members[] = {
    {"__vectorcalloffset__", PY_T_PYSSIZET, offsetof(struct wrapped_method, vectorcall),
     PY_READONLY, NULL},
    {0},
};

/* PyType_Spec and its slots, as the stable ABI lays them out. */
static struct {
	int slot;
	void *pfunc;
} wrapped_slots[] = {
    {PY_TP_CALL, NULL}, /* PyVectorcall_Call, found at run time */
    {PY_TP_DEALLOC, (void *)wrapped_dealloc},
    {PY_TP_DESCR_GET, (void *)wrapped_descr_get},
    {PY_TP_GETATTRO, (void *)wrapped_getattro},
    {PY_TP_REPR, (void *)wrapped_repr},
    {PY_TP_TRAVERSE, (void *)wrapped_traverse},
    {PY_TP_CLEAR, (void *)wrapped_clear},
    {PY_TP_MEMBERS, (void *)wrapped_members},
    {0, NULL},
};
static struct {
	const char *name;
	int basicsize, itemsize;
	unsigned int flags;
	void *slots;
} wrapped_spec = {"_weft.method", sizeof(struct wrapped_method), 0,
		  PY_TPFLAGS_DISALLOW_INSTANTIATION | PY_TPFLAGS_IMMUTABLETYPE |
		      PY_TPFLAGS_HAVE_VECTORCALL | PY_TPFLAGS_HAVE_GC |
		      PY_TPFLAGS_METHOD_DESCRIPTOR,
		  wrapped_slots};
static PyObject *wrapped_type;

/*
 * _weft.wrap_method(orig, kind[, is_owned]) -> a method for the class, or
 * None when this interpreter lacks the functions (every 3.10-3.15 has
 * them; the bootstrap then leaves the class as it is). kind is the event
 * kind of a Queue or Condition method, or a WRAP_RLOCK_* for a semaphore
 * RLock's (is_owned: the RLock's _is_owned, for WRAP_RLOCK_ACQUIRE only). A wrapper written in
 * Python cost a frame and two or three calls into weft per operation, as much again as recording
 * the event, and a folded one (Condition.notify inside Queue.put) cost that for nothing; a builtin
 * function bound through an instancemethod made a bound method object per call (on 3.14 a third of
 * the instructions weft added to a queue operation). An error other than a
 * missing function is the caller's.
 */
static PyObject *m_wrap_method(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	int dict_form = py.PyObject_VectorcallDict && py.PyDict_New && py.PyObject_SetItem &&
			py.PyTuple_GetItem;
	if (n < 2 || n > 3 || !py.PyType_FromSpec || !py.PyType_GenericAlloc ||
	    !py.PyVectorcall_Call || !py.PyMethod_New || !py.PyObject_GC_UnTrack ||
	    !py.PyObject_GC_Del || !py.PyObject_GetAttr || !py.PyObject_Repr ||
	    (!py.PyObject_Vectorcall && !dict_form))
		return ret_none();
	long long kind = py.PyLong_AsLongLong(args[1]);
	if (py.PyErr_Occurred())
		py.PyErr_Clear();
	int rlock = kind >= WRAP_RLOCK_ACQUIRE && kind <= WRAP_RLOCK_RESTORE;
	int around = kind == WRAP_AROUND;
	if (kind != WEFT_EV_QUEUE_PUT && kind != WEFT_EV_QUEUE_GET && kind != WEFT_EV_COND_WAIT &&
	    kind != WEFT_EV_COND_SIGNAL && kind != WEFT_EV_COND_BROADCAST && !rlock && !around)
		return ret_none();
	/* the acquire's _is_owned, around's (before, after, fold), and nothing else */
	if ((kind == WRAP_RLOCK_ACQUIRE || around) != (n == 3) ||
	    ((rlock || around) && !py.PyTuple_GetItem))
		return ret_none();
	py_ssize_t naux = around ? py.PyObject_Size(args[2]) : 0;
	if (around && (naux < 3 || naux > 5 || py.PyErr_Occurred() || !py.PyObject_DelItem ||
		       !py.PyErr_Fetch || !py.PyErr_Restore)) {
		py.PyErr_Clear();
		return ret_none();
	}
	if (!wrapped_type) {
		wrapped_slots[0].pfunc = (void *)py.PyVectorcall_Call;
		wrapped_type = py.PyType_FromSpec(&wrapped_spec);
		if (!wrapped_type)
			return NULL;
	}
	struct wrapped_method *w = (struct wrapped_method *)py.PyType_GenericAlloc(wrapped_type, 0);
	if (!w)
		return NULL;
	w->vectorcall = wrapped_vectorcall;
	py.Py_IncRef(args[0]);
	w->orig = args[0];
	w->aux = NULL;
	if (n == 3) {
		py.Py_IncRef(args[2]);
		w->aux = args[2];
	}
	w->kind = (int)kind;
	w->queue_kind = 0;
	w->waiting = w->finally = NULL; /* borrowed from aux, which w keeps */
	if (around) {
		w->waiting = naux >= 4 ? py.PyTuple_GetItem(args[2], 3) : NULL;
		w->finally = naux >= 5 ? py.PyTuple_GetItem(args[2], 4) : NULL;
		if (w->waiting == py.none)
			w->waiting = NULL;
		if (w->finally == py.none)
			w->finally = NULL;
		PyObject *after = py.PyTuple_GetItem(args[2], 1);
		if (after && py.PyLong_Type && weft_py_type(after) == py.PyLong_Type) {
			long long k = py.PyLong_AsLongLong(after);
			if (k == WEFT_EV_QUEUE_PUT || k == WEFT_EV_QUEUE_GET)
				w->queue_kind = (int)k;
			else
				py.PyErr_Clear();
		}
	}
	return (PyObject *)w;
}

/* _weft.init(objkind, obj, label): a Python sync object was created here. */
static PyObject *m_init(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 3)
		return ret_none();
	long long objkind = py.PyLong_AsLongLong(args[0]);
	unsigned long long obj = py.PyLong_AsUnsignedLongLong(args[1]);
	const char *label = py.PyUnicode_AsUTF8(args[2]);
	if (py.PyErr_Occurred() || !label) {
		py.PyErr_Clear();
		return ret_none();
	}
	if (weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_REC_OBJECT_INIT,
						 .objkind = (uint8_t)objkind,
						 .obj = (void *)(uintptr_t)obj,
						 .ts = weft_stamp(),
						 .arg = objkind,
						 .payload = label,
						 .payload_len = (uint32_t)strlen(label) + 1});
	return ret_none();
}

/* _weft.fold(delta): entering (+1) or leaving (-1) an instrumented method. */
static PyObject *m_fold(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n == 1)
		weft_tls.fold += (int)py.PyLong_AsLongLong(args[0]);
	if (weft_tls.fold < 0)
		weft_tls.fold = 0;
	return ret_none();
}

/* _weft.thread(name, ident): the calling thread's Python name and ident. */
/*
 * A new thread's target, defined in its ring before it runs: a loop that
 * records nothing itself (CPU work) is then named by its GIL events.
 */
static void know_target(PyObject *fn)
{
	struct weft_tls *t = &weft_tls;
	if (!weft_on || t->guard || !main_tstate())
		return;
	PyObject *code = py.PyObject_GetAttrString(fn, "__code__");
	if (!code) {
		py.PyErr_Clear();
		return;
	}
	if (AT(code, sizeof(void *), PyObject *) == code_type) {
		uint32_t id = code_id(code);
		int was_guarded = weft_enter();
		if (id)
			define_code(id, code);
		/* GIL events read frames directly once a read has been checked: check one. */
		void *pcs[1];
		if (direct_checks_left == DIRECT_CHECKS)
			python_stack(pcs, 1, 0);
		weft_leave(was_guarded);
	}
	py.Py_DecRef(code);
}

/*
 * _weft.know(fn): fn's code named in this thread's ring and kept for the
 * process before fn runs, so that the GIL events of whichever thread runs
 * it name it from the first (a task submitted to a thread pool).
 */
static PyObject *m_know(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n == 1)
		know_target(args[0]);
	return ret_none();
}

static PyObject *m_thread(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	if (n != 2 && n != 3)
		return ret_none();
	if (n == 3)
		know_target(args[2]);
	const char *name = py.PyUnicode_AsUTF8(args[0]);
	unsigned long long ident = py.PyLong_AsUnsignedLongLong(args[1]);
	if (py.PyErr_Occurred() || !name) {
		py.PyErr_Clear();
		return ret_none();
	}
	if (weft_on && !weft_tls.guard)
		weft_record(&(struct weft_event){.kind = WEFT_REC_PY_THREAD,
						 .ts = weft_stamp(),
						 .arg = (int64_t)ident,
						 .payload = name,
						 .payload_len = (uint32_t)strnlen(name, 1000) + 1});
	return ret_none();
}

/*
 * _weft.sem_inits(): how many semaphores this thread has made. The
 * bootstrap makes a Lock between two calls: from 3.13.1 a Lock is a
 * PyMutex, made and taken without libc, and the hooks see none of it.
 */
static PyObject *m_sem_inits(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	(void)args;
	(void)n;
	return py.PyLong_FromUnsignedLongLong(weft_tls.py_sem_inits);
}

/*
 * _weft.process(name[, pid]): this process's multiprocessing name, or with
 * pid, the name of a child this process has just started (the writer only
 * takes it for a child of the trace that has no name of its own yet).
 */
static PyObject *m_process(PyObject *self, PyObject *const *args, py_ssize_t n)
{
	(void)self;
	const char *name = n == 1 || n == 2 ? py.PyUnicode_AsUTF8(args[0]) : NULL;
	long long pid = n == 2 ? py.PyLong_AsLongLong(args[1]) : 0;
	if (!name || pid < 0 || pid > INT32_MAX) {
		py.PyErr_Clear();
		return ret_none();
	}
	if (weft_on && !weft_tls.guard)
		weft_record(&(struct weft_event){.kind = WEFT_REC_PROCESS_NAME,
						 .ts = weft_stamp(),
						 .arg = pid,
						 .payload = name,
						 .payload_len = (uint32_t)strnlen(name, 1000) + 1});
	return ret_none();
}

static struct py_method_def methods[] = {
    {"now", (void *)m_now, PY_METH_FASTCALL, NULL},
    {"ev", (void *)m_ev, PY_METH_FASTCALL, NULL},
    {"init", (void *)m_init, PY_METH_FASTCALL, NULL},
    {"fold", (void *)m_fold, PY_METH_FASTCALL, NULL},
    {"queue_std", (void *)m_queue_std, PY_METH_FASTCALL, NULL},
    {"wrap_method", (void *)m_wrap_method, PY_METH_FASTCALL, NULL},
    {"rlock", (void *)m_rlock, PY_METH_FASTCALL, NULL},
    {"thread", (void *)m_thread, PY_METH_FASTCALL, NULL},
    {"know", (void *)m_know, PY_METH_FASTCALL, NULL},
    {"process", (void *)m_process, PY_METH_FASTCALL, NULL},
    {"sem_inits", (void *)m_sem_inits, PY_METH_FASTCALL, NULL},
};

static int set_int(PyObject *d, const char *name, long long v)
{
	PyObject *o = py.PyLong_FromUnsignedLongLong((unsigned long long)v);
	if (!o)
		return -1;
	int rc = py.PyDict_SetItemString(d, name, o);
	py.Py_DecRef(o);
	return rc;
}

static void warn_line(const char *msg)
{
	ssize_t w = write(2, msg, strlen(msg));
	(void)w;
}

/*
 * The bootstrap's code object: the one compiled at build time by a CPython
 * with this interpreter's magic number when there is one (unmarshalling
 * takes 0.2 ms), else compiled from the embedded source (15 ms, on every
 * start of every Python process). NULL with a Python error on failure.
 */
static PyObject *boot_code(void)
{
	/* WEFT_TEST_BOOT_COMPILE: the test suite's way to take the fallback path. */
	if (py.PyImport_GetMagicNumber && py.PyMarshal_ReadObjectFromString &&
	    !getenv("WEFT_TEST_BOOT_COMPILE")) {
		long magic = py.PyImport_GetMagicNumber();
		if (magic == -1 && py.PyErr_Occurred())
			py.PyErr_Clear();
		for (const struct weft_boot_blob *b = weft_boot_blobs; b->data; b++) {
			if (b->magic != magic)
				continue;
			PyObject *code = py.PyMarshal_ReadObjectFromString((const char *)b->data,
									   (py_ssize_t)b->len);
			if (code)
				return code;
			py.PyErr_Clear(); /* a bad blob: compile instead */
			break;
		}
	}
	return py.Py_CompileString(weft_python_boot, "<weft>", PY_FILE_INPUT);
}

/* Runs the bootstrap in its own namespace; a failure is reported, never raised. */
static void boot(void)
{
	py_booted = 1;
	PyObject *g = py.PyDict_New();
	if (!g)
		goto fail;
	py.PyDict_SetItemString(g, "__builtins__", py.PyEval_GetBuiltins());
	PyObject *name = py.PyUnicode_FromString("_weft_boot");
	if (name) {
		py.PyDict_SetItemString(g, "__name__", name);
		py.Py_DecRef(name);
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		PyObject *fn = py.PyCFunction_NewEx(&methods[i], NULL, NULL);
		if (!fn || py.PyDict_SetItemString(g, methods[i].ml_name, fn) < 0)
			goto fail;
		py.Py_DecRef(fn);
	}
	for (struct py_method_def *m = weft_python_lock_methods; m->ml_name; m++) {
		PyObject *fn = py.PyCFunction_NewEx(m, NULL, NULL);
		if (!fn || py.PyDict_SetItemString(g, m->ml_name, fn) < 0)
			goto fail;
		py.Py_DecRef(fn);
	}
#define PY_CONST(n, v) set_int(g, n, v);
	PY_CONST("EV_LOCK_ACQUIRE", WEFT_EV_LOCK_ACQUIRE)
	PY_CONST("EV_LOCK_RELEASE", WEFT_EV_LOCK_RELEASE)
	PY_CONST("EV_LOCK_FAIL", WEFT_EV_LOCK_FAIL)
	PY_CONST("EV_COND_WAIT", WEFT_EV_COND_WAIT)
	PY_CONST("EV_COND_SIGNAL", WEFT_EV_COND_SIGNAL)
	PY_CONST("EV_COND_BROADCAST", WEFT_EV_COND_BROADCAST)
	PY_CONST("EV_QUEUE_PUT", WEFT_EV_QUEUE_PUT)
	PY_CONST("WRAP_RLOCK_ACQUIRE", WRAP_RLOCK_ACQUIRE)
	PY_CONST("WRAP_RLOCK_RELEASE", WRAP_RLOCK_RELEASE)
	PY_CONST("WRAP_RLOCK_SAVE", WRAP_RLOCK_SAVE)
	PY_CONST("WRAP_RLOCK_RESTORE", WRAP_RLOCK_RESTORE)
	PY_CONST("WRAP_AROUND", WRAP_AROUND)
	PY_CONST("EV_QUEUE_GET", WEFT_EV_QUEUE_GET)
	PY_CONST("EV_EVENT_SET", WEFT_EV_EVENT_SET)
	PY_CONST("EV_EVENT_WAIT", WEFT_EV_EVENT_WAIT)
	PY_CONST("EV_BARRIER_WAIT", WEFT_EV_BARRIER_WAIT)
	PY_CONST("EV_THREAD_JOIN", WEFT_EV_THREAD_JOIN)
	PY_CONST("EV_LOCK_WAIT", WEFT_EV_LOCK_WAIT)
	PY_CONST("WAIT_FOR_THREAD", WEFT_WAIT_FOR_THREAD)
	PY_CONST("OBJ_CONDITION", WEFT_OBJ_PY_CONDITION)
	PY_CONST("OBJ_SEMAPHORE", WEFT_OBJ_PY_SEMAPHORE)
	PY_CONST("OBJ_EVENT", WEFT_OBJ_PY_EVENT)
	PY_CONST("OBJ_QUEUE", WEFT_OBJ_QUEUE)
	PY_CONST("OBJ_BARRIER", WEFT_OBJ_BARRIER)
#undef PY_CONST
	if (races_config && py.races_api) {
		for (struct py_method_def *m = weft_races_methods; m->ml_name; m++) {
			PyObject *fn = py.PyCFunction_NewEx(m, NULL, NULL);
			if (!fn || py.PyDict_SetItemString(g, m->ml_name, fn) < 0)
				goto fail;
			py.Py_DecRef(fn);
		}
		PyObject *scope = py.PyUnicode_FromString(races_config);
		if (!scope || py.PyDict_SetItemString(g, "RACES", scope) < 0)
			goto fail;
		py.Py_DecRef(scope);
	} else {
		if (races_config)
			warn_line(
			    "weft: warning: this interpreter lacks what the race detector needs;"
			    " --races is off\n");
		py.PyDict_SetItemString(g, "RACES", py.none);
	}
	PyObject *code = boot_code();
	if (!code)
		goto fail;
	PyObject *r = py.PyEval_EvalCode(code, g, g);
	py.Py_DecRef(code);
	if (!r)
		goto fail;
	py.Py_DecRef(r);
	meta("python.frames", layout ? "direct" : "api");
	if (races_config) {
		races_main = py.PyDict_GetItemString(g, "_races_main");
		if (races_main)
			py.Py_IncRef(races_main);
	}
	py.Py_DecRef(g);
	return;
fail:
	if (py.PyErr_Occurred()) {
		static const char msg[] = "weft: the Python layer failed to start; only native "
					  "events are recorded:\n";
		ssize_t w = write(2, msg, sizeof(msg) - 1);
		(void)w;
		py.PyErr_Print();
	}
	if (g)
		py.Py_DecRef(g);
}

/*
 * With --races the script (or -c command) is compiled instrumented and run
 * here, in __main__'s namespace; then a SystemExit ends the interpreter's
 * own run_file, which exits the way it would have after the script, and an
 * exception from the script propagates to be printed as usual.
 */
static int run_main_instrumented(const char *event, PyObject *args)
{
	PyObject *ev = py.PyUnicode_FromString(event);
	PyObject *arg = ev ? py.PyTuple_GetItem(args, 0) : NULL; /* borrowed */
	PyObject *code = arg ? py.PyObject_CallFunctionObjArgs(races_main, ev, arg, NULL) : NULL;
	if (ev)
		py.Py_DecRef(ev);
	if (!code || code == py.none) {
		py.PyErr_Clear();
		if (code)
			py.Py_DecRef(code);
		return 0;
	}
	PyObject *mainmod = py.PyImport_AddModule("__main__"); /* borrowed */
	PyObject *d = mainmod ? py.PyModule_GetDict(mainmod) : NULL;
	if (!d) {
		py.Py_DecRef(code);
		py.PyErr_Clear();
		return 0;
	}
	PyObject *r = py.PyEval_EvalCode(code, d, d);
	py.Py_DecRef(code);
	if (!r)
		return -1;
	py.Py_DecRef(r);
	py.PyErr_SetNone(*py.exc_system_exit);
	return -1;
}

static int audit_hook(const char *event, PyObject *args, void *data)
{
	(void)data;
	if (!py_booted && !strncmp(event, "cpython.run_", 12) && weft_on) {
		int saved = weft_tls.guard;
		boot();
		weft_tls.guard = saved;
		if (races_main && weft_races_on &&
		    (!strcmp(event, "cpython.run_file") || !strcmp(event, "cpython.run_command")))
			return run_main_instrumented(event, args);
	} else if (event[0] == 'o' && !strcmp(event, "os.fork") && py_booted &&
		   in_main_interpreter()) {
		note_fork_site();
	}
	/*
	 * With the GIL and the C API, as at a stack: the codes GIL events could
	 * not name, defined now. A start-up that imports for a while records no
	 * other event, but raises audit events (import, open, compile) all along.
	 */
	if (WEFT_UNLIKELY(gil_nwanted) && py_booted && weft_on && in_main_interpreter()) {
		int was_guarded = weft_enter();
		define_wanted();
		weft_leave(was_guarded);
	}
	return 0;
}

/* ---- start-up ---------------------------------------------------------------------- */

static int text_of(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t fn = (uintptr_t)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && fn - lo < ph->p_memsz) {
			weft_pytext_lo = lo;
			weft_pytext_len = ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/* The executable segment holding fn: the interpreter's code (see weft_pytext_lo). */
static void find_interpreter_text(void *fn)
{
	dl_iterate_phdr(text_of, fn);
}

static int data_of(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t rt = (uintptr_t)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && rt - lo < ph->p_memsz) {
			weft_pydata_lo = lo;
			weft_pydata_len = ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

void weft_python_init(void)
{
	weft_observe(&(struct weft_observer){.after_fork_parent = after_fork_parent,
					     .after_fork_child = after_fork_child,
					     .frames = record_frames,
					     .let_out_held = let_out_held});
	weft_races_frames_from(&(struct weft_python_frames){
	    .stack_full = stack_full, .code_object = code_object, .define_frames = define_frames});
	void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
	if (!rt)
		return; /* not a Python process */
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (!dladdr1(rt, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
		return;
#define PY_LOOKUP(ret, name, args) py.name = (ret(*) args)dlsym(RTLD_DEFAULT, #name);
	PY_FUNCS(PY_LOOKUP)
	PY_OPT_FUNCS(PY_LOOKUP)
#undef PY_LOOKUP
	py.none = dlsym(RTLD_DEFAULT, "_Py_NoneStruct");
	py.races_api = 1;
#define PY_LOOKUP_OPT(ret, name, args)                                                             \
	if (!(py.name = (ret(*) args)dlsym(RTLD_DEFAULT, #name)))                                  \
		py.races_api = 0;
	PY_RACES_FUNCS(PY_LOOKUP_OPT)
#undef PY_LOOKUP_OPT
#define PY_LOOKUP_DATA(name)                                                                       \
	if (!(py.name = dlsym(RTLD_DEFAULT, #name)))                                               \
		py.races_api = 0;
	PY_RACES_DATA(PY_LOOKUP_DATA)
#undef PY_LOOKUP_DATA
	py.true_obj = dlsym(RTLD_DEFAULT, "_Py_TrueStruct");
	py.false_obj = dlsym(RTLD_DEFAULT, "_Py_FalseStruct");
	if (!py.true_obj || !py.false_obj)
		py.races_api = 0;
	py.exc_key_error = dlsym(RTLD_DEFAULT, "PyExc_KeyError");
	py.exc_index_error = dlsym(RTLD_DEFAULT, "PyExc_IndexError");
	py.exc_system_exit = dlsym(RTLD_DEFAULT, "PyExc_SystemExit");
	if (!py.exc_key_error || !py.exc_index_error || !py.exc_system_exit)
		py.races_api = 0;
	py.current_tstate = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyThreadState_GetUnchecked");
	if (!py.current_tstate)
		py.current_tstate =
		    (void *(*)(void))dlsym(RTLD_DEFAULT, "_PyThreadState_UncheckedGet");
	const char *ver = py.Py_GetVersion ? py.Py_GetVersion() : "";
	int major = 0, minor = 0;
	sscanf(ver, "%d.%d", &major, &minor);
	/* Treat the runtime's mutexes as GIL machinery only for layouts we know. */
	char m[200];
	if (major != 3 || minor < PY_MINOR_FIRST || minor > PY_MINOR_LAST) {
		snprintf(m, sizeof(m),
			 "weft: warning: Python %d.%d is not supported (3.%d-3.%d are): only "
			 "pthread-level events are recorded\n",
			 major, minor, PY_MINOR_FIRST, PY_MINOR_LAST);
		warn_line(m);
		return;
	}
	int debug = read_debug_offsets(rt, sym->st_size, major, minor);
	if (debug == DEBUG_FREE_THREADED_BUILD || debug == DEBUG_BAD) {
		/*
		 * A free-threaded build has no GIL, and other object and GIL struct
		 * layouts (a bigger object header, an int before the GIL's fields);
		 * bad debug offsets mean an interpreter built unlike the one the
		 * tables describe. Either way nothing of its layout is used.
		 */
		snprintf(m, sizeof(m),
			 debug == DEBUG_BAD
			     ? "weft: warning: Python %d.%d's runtime layout is not the one weft "
			       "knows: only pthread-level events are recorded\n"
			     : "weft: warning: Python %d.%d is a free-threaded build (no GIL), not "
			       "supported: only pthread-level events are recorded\n",
			 major, minor);
		warn_line(m);
		return;
	}
#define PY_CHECK(ret, name, args)                                                                  \
	if (!py.name)                                                                              \
		return;
	PY_FUNCS(PY_CHECK)
#undef PY_CHECK
	if (!py.none || !py.current_tstate)
		return;
	weft_pyrt_lo = (uintptr_t)rt;
	weft_pyrt_len = sym->st_size;
	choose_tstate_loads();
	choose_frame_layout();
	find_interpreter_text((void *)py.PyEval_GetFrame);
	dl_iterate_phdr(data_of, rt);
	py_ok = 1;
	const char *rc = getenv("WEFT_RACES");
	if (rc)
		races_config = strdup(rc);
	char v[32];
	snprintf(v, sizeof(v), "%d.%d", major, minor);
	meta("python.version", v);
	py.PySys_AddAuditHook(audit_hook, NULL);
}
