/* Hooks for thread creation, start, exit, join, detach and naming. */
#include "preload/preload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALLER __builtin_return_address(0)

/*
 * pthread_t -> tid for threads started here. The kernel zeroes the tid in
 * struct pthread when a thread ends, so a join of a finished thread needs
 * the tid remembered. Lock-free open addressing; deleted entries become
 * tombstones that later insertions reuse.
 */
#define TIDTAB_SIZE 8192
#define TIDTAB_TOMB ((uintptr_t)1)
static struct {
	uintptr_t key;
	int tid;
} tidtab[TIDTAB_SIZE];

static size_t tid_hash(uintptr_t k)
{
	return (size_t)((k >> 6) * 0x9e3779b97f4a7c15ull >> 40) & (TIDTAB_SIZE - 1);
}

static void tid_put(pthread_t th, int tid)
{
	uintptr_t k = (uintptr_t)th;
	size_t h = tid_hash(k);
	for (size_t i = 0; i < TIDTAB_SIZE; i++) {
		size_t j = (h + i) & (TIDTAB_SIZE - 1);
		uintptr_t cur = __atomic_load_n(&tidtab[j].key, __ATOMIC_ACQUIRE);
		if (cur == k || ((cur == 0 || cur == TIDTAB_TOMB) &&
				 __atomic_compare_exchange_n(&tidtab[j].key, &cur, k, 0,
							     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))) {
			__atomic_store_n(&tidtab[j].tid, tid, __ATOMIC_RELEASE);
			return;
		}
	}
}

/* Returns the slot index of th, or -1. */
static long tid_find(pthread_t th)
{
	uintptr_t k = (uintptr_t)th;
	size_t h = tid_hash(k);
	for (size_t i = 0; i < TIDTAB_SIZE; i++) {
		size_t j = (h + i) & (TIDTAB_SIZE - 1);
		uintptr_t cur = __atomic_load_n(&tidtab[j].key, __ATOMIC_ACQUIRE);
		if (cur == k)
			return (long)j;
		if (cur == 0)
			return -1;
	}
	return -1;
}

/* The tid of th: from its descriptor while it runs, else from the table. */
static int tid_of(pthread_t th)
{
	int tid = weft_thread_tid(th);
	if (tid > 0)
		return tid;
	long j = tid_find(th);
	return j >= 0 ? __atomic_load_n(&tidtab[j].tid, __ATOMIC_ACQUIRE) : 0;
}

static void tid_forget(pthread_t th)
{
	long j = tid_find(th);
	if (j >= 0)
		__atomic_store_n(&tidtab[j].key, TIDTAB_TOMB, __ATOMIC_RELEASE);
}

struct trampoline {
	void *(*fn)(void *);
	void *arg;
	int parent_tid;
};

/*
 * The thread is ending (its start routine returned, or it called
 * pthread_exit): its exit is recorded by the key destructor, after the
 * other destructors, at site. A thread without a ring has nothing to end;
 * one whose key is not set (recording was off) ends here.
 */
static void thread_ending(void *site)
{
	struct weft_tls *t = &weft_tls;
	if (t->exit_recorded || t->exit_site || !weft_should_record())
		return;
	if (t->slot) {
		t->exit_site = site;
		return;
	}
	t->exit_recorded = 1;
	weft_record(
	    &(struct weft_event){.kind = WEFT_EV_THREAD_EXIT, .ts = weft_now(), .caller = site});
}

/* Stack sites are return addresses (looked up at pc-1): make the entry point look like one. */
static void *fn_as_site(void *(*fn)(void *))
{
	return (char *)(uintptr_t)fn + 1;
}

static void *thread_start(void *p)
{
	struct trampoline tr = *(struct trampoline *)p;
	free(p);
	if (!weft_tls.tid)
		weft_tls.tid = (int)gettid();
	tid_put(pthread_self(), weft_tls.tid);
	if (weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_EV_THREAD_START,
						 .ts = weft_now(),
						 .arg = tr.parent_tid,
						 .caller = fn_as_site(tr.fn)});
	void *ret;
	/* A cancelled thread ends too: its exit after the destructors as well. */
	pthread_cleanup_push(thread_ending, fn_as_site(tr.fn));
	ret = tr.fn(tr.arg);
	pthread_cleanup_pop(0);
	thread_ending(fn_as_site(tr.fn));
	return ret;
}

WEFT_HOOK int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			     void *arg)
{
	if (!weft_should_record_unfolded())
		return REAL(pthread_create)(th, attr, fn, arg);
	/* Not the hot path: one small allocation per thread is fine here. */
	struct trampoline *tr = malloc(sizeof(*tr));
	if (!tr)
		return REAL(pthread_create)(th, attr, fn, arg);
	tr->fn = fn;
	tr->arg = arg;
	if (!weft_tls.tid)
		weft_tls.tid = (int)gettid();
	tr->parent_tid = weft_tls.tid;
	uint64_t t0 = weft_now();
	int rc = REAL(pthread_create)(th, attr, thread_start, tr);
	uint64_t t1 = weft_now();
	if (rc != 0) {
		free(tr);
		return rc;
	}
	weft_record(&(struct weft_event){.kind = WEFT_EV_THREAD_CREATE,
					 .ts = t1,
					 .wait = t1 - t0,
					 .arg = tid_of(*th),
					 .caller = CALLER});
	return rc;
}

/* A join that returned: recorded when it succeeded, with its wait since t0; returns rc. */
static int joined(int rc, int tid, uint64_t t0, void *caller)
{
	if (rc == 0)
		weft_record_waited(WEFT_EV_THREAD_JOIN, t0, tid, caller);
	return rc;
}

WEFT_HOOK int pthread_join(pthread_t th, void **ret)
{
	if (!weft_should_record())
		return REAL(pthread_join)(th, ret);
	/* Read before joining: the descriptor may be reused afterwards. */
	int tid = tid_of(th);
	uint64_t t0 = weft_now();
	int rc = REAL(pthread_join)(th, ret);
	if (rc == 0)
		tid_forget(th);
	return joined(rc, tid, t0, CALLER);
}

WEFT_HOOK int pthread_tryjoin_np(pthread_t th, void **ret)
{
	if (!weft_should_record())
		return REAL(pthread_tryjoin_np)(th, ret);
	int tid = tid_of(th);
	int rc = REAL(pthread_tryjoin_np)(th, ret);
	if (rc == 0)
		weft_record(&(struct weft_event){
		    .kind = WEFT_EV_THREAD_JOIN, .ts = weft_now(), .arg = tid, .caller = CALLER});
	return rc;
}

WEFT_HOOK int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *abs)
{
	if (!weft_should_record())
		return REAL(pthread_timedjoin_np)(th, ret, abs);
	int tid = tid_of(th);
	uint64_t t0 = weft_now();
	int rc = REAL(pthread_timedjoin_np)(th, ret, abs);
	return joined(rc, tid, t0, CALLER);
}

WEFT_HOOK int pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk,
				   const struct timespec *abs)
{
	if (!weft_should_record())
		return REAL(pthread_clockjoin_np)(th, ret, clk, abs);
	int tid = tid_of(th);
	uint64_t t0 = weft_now();
	int rc = REAL(pthread_clockjoin_np)(th, ret, clk, abs);
	return joined(rc, tid, t0, CALLER);
}

WEFT_HOOK int pthread_detach(pthread_t th)
{
	if (!weft_should_record())
		return REAL(pthread_detach)(th);
	int tid = tid_of(th);
	int rc = REAL(pthread_detach)(th);
	if (rc == 0)
		weft_record(&(struct weft_event){
		    .kind = WEFT_EV_THREAD_DETACH, .ts = weft_now(), .arg = tid, .caller = CALLER});
	return rc;
}

WEFT_HOOK void pthread_exit(void *ret)
{
	thread_ending(CALLER);
	REAL(pthread_exit)(ret);
	__builtin_unreachable();
}

WEFT_HOOK int pthread_setname_np(pthread_t th, const char *name)
{
	int rc = REAL(pthread_setname_np)(th, name);
	if (rc == 0 && weft_should_record())
		weft_record(&(struct weft_event){.kind = WEFT_REC_THREAD_NAME,
						 .ts = weft_now(),
						 .arg = tid_of(th),
						 .caller = CALLER,
						 .payload = name,
						 .payload_len = (uint32_t)strnlen(name, 64) + 1});
	return rc;
}
