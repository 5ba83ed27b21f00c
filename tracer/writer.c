/*
 * The collector's writer thread: gives objects ids and names, symbolizes
 * and deduplicates stacks, keeps the process and thread tables, and writes
 * everything to the store in large transactions.
 */
#include "tracer/collect.h"
#include "tracer/cli.h"
#include "tracer/hashmap.h"
#include "tracer/pidns.h"
#include "store/store_debug.h"
#include "store/store_holds.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define COMMIT_EVERY_NS 1000000000ll

/* Makes room for one more element in a growing array; out of memory is fatal for the writer. */
#define GROW(arr, len, cap, first)                                                                 \
	do {                                                                                       \
		if ((len) == (cap)) {                                                              \
			size_t grow_cap_ = (cap) ? (cap)*2 : (first);                              \
			void *grow_new_ = realloc((arr), grow_cap_ * sizeof(*(arr)));              \
			if (!grow_new_)                                                            \
				abort();                                                           \
			(arr) = grow_new_;                                                         \
			(cap) = grow_cap_;                                                         \
		}                                                                                  \
	} while (0)
#define COMMIT_EVERY_EVENTS 32768u

struct proc {
	int pid, ppid;
	char *argv;
	char *name; /* multiprocessing's Process name */
	int64_t start_ns, end_ns, exit_code, exit_signal;
	int have_exit_event;
	int killed; /* weft sent it SIGKILL */
};

/* A name a parent gave a child before the child's fork record came in. */
struct parent_name {
	int pid;
	char *name;
};

/* A process.reap by a wait for clone children: maybe a thread's. */
struct clone_reap {
	int pid, status;
};

struct thr {
	int pid, tid;
	char *name;
	int64_t py_ident; /* 0: not a Python thread */
	int64_t last_ts;  /* the thread's latest timestamp: time never runs backwards in a thread */
	uint32_t wait_obj; /* obj_rec index + 1 this thread is blocked on, or 0 */
	int wait_timed;	   /* that wait gives up at a deadline: never a deadlock */
	int64_t wait_ts, wait_stack;
	int64_t start_ns, end_ns, unrecorded, waits;
	int started, ended;
	int blocked_at_exit;   /* still in a named wait when its process exited */
	int64_t start_written; /* the start its row in thr has so far (INT64_MIN: no row) */
};

/* A Python code object seen in this image: what its frames print as. */
struct py_code {
	char *function, *file;
};

#define FEW_FRAME_SLOTS 256
#define FEW_FRAMES 4

struct image_state {
	struct py_code *codes; /* by code id */
	size_t ncodes;
	struct sym_ctx *sym;
	size_t maps_len_used; /* img->maps_len when sym was built */
	int sym_refreshed;
	struct hashmap_u64 objs;	   /* address -> newest struct obj_rec index + 1 */
	struct collect_image *fork_parent; /* the image this one was forked from */
	struct hashmap_str stacks;	   /* raw pcs -> stack_id */
	/*
	 * Caller stacks are a word or two (the caller, and in Python the
	 * frame running): the last ones looked up, direct-mapped by their
	 * words, spare hashing them as a string for nearly every event (87%
	 * of the OpenSSL burst's events have two).
	 */
	struct {
		unsigned n; /* 0: empty */
		uint64_t pc[FEW_FRAMES];
		int64_t id;
	} few_frames[FEW_FRAME_SLOTS];
	int exec_done, exit_recorded;
	int64_t last_ts;
};

/*
 * One synchronization object's lifetime at an address. Rings of different
 * threads are drained independently, so an object's first use can reach
 * the writer before its creation (or after its destruction) recorded by
 * another thread: objects are matched by time, not by arrival order.
 */
struct obj_rec {
	int64_t id, created_ts, destroyed_ts, stack_id;
	int64_t max_ts;		/* latest event attributed to it so far */
	int kind, provisional;	/* provisional: seen in use before any init */
	int holder, hold_count; /* owning thread for owned lock kinds (deadlock detection) */
	uint32_t prev;		/* older object at the same address, index + 1 */
	uint64_t addr;
	int pid;
	char *name;
};

/* Events given to an object after its destruction, to move to its successor. */
struct obj_fixup {
	uint32_t obj; /* index + 1 */
	int64_t after_ts;
	struct image_state *st; /* the image whose objects hold the address */
	int settled;		/* moved while held, or left to fix_late_objects */
};

static struct {
	struct obj_rec *objs;
	size_t nobjs, cap_objs;
	struct obj_fixup *fixups;
	size_t nfixups, cap_fixups;
	size_t fixup_from;	  /* fixups before it are settled */
	uint64_t late_held_moved; /* late uses moved while held (move_late_held) */
	struct deadlock {
		int first_tid, n;
		int pid[64], tid[64];
		int64_t obj[64], stack[64], ts[64];
		char summary[1024];
	} deadlocks[16];
	size_t ndeadlocks;
	struct hashmap_str stacks; /* symbolized frames -> stack_id */
	int64_t next_stack, next_object;
	struct proc *procs;
	size_t nprocs, cap_procs;
	struct hashmap_u64 proc_by_pid;
	struct thr *thrs;
	size_t nthrs, cap_thrs;
	struct parent_name *parent_names; /* applied at the end to a process still unnamed */
	size_t nparent_names, cap_parent_names;
	struct clone_reap *clone_reaps; /* reaps by a wait for clone children, in arrival order */
	size_t nclone_reaps, cap_clone_reaps;
	struct hashmap_u64 thr_by_key;
	/*
	 * The last process and thread looked up (index + 1, 0: none): a ring's
	 * records are one thread's, so nearly every lookup is the last one.
	 * A key's index never changes once added.
	 */
	int last_pid;
	size_t last_proc;
	uint64_t last_thr_key;
	size_t last_thr;
	struct hashmap_str meta_times; /* python.* meta key -> its value's time: the newest wins */
	int64_t last_commit_ns, max_ts;
	uint64_t last_commit_events;
	uint64_t commit_step; /* events per commit, growing to COMMIT_EVERY_EVENTS */
} W;

static void fail(struct collect *c, const char *what)
{
	if (!c->writer_failed) {
		c->writer_failed = 1;
		snprintf(c->writer_error, sizeof(c->writer_error), "%s: %s", what,
			 store_writer_error(c->store));
	}
}

/* ---- processes and threads -------------------------------------------------- */

static struct proc *proc_get(int pid)
{
	if (W.last_proc && W.last_pid == pid)
		return &W.procs[W.last_proc - 1];
	uint64_t *i = hashmap_u64_get(&W.proc_by_pid, (uint64_t)pid);
	if (i) {
		W.last_pid = pid;
		W.last_proc = *i + 1;
		return &W.procs[*i];
	}
	GROW(W.procs, W.nprocs, W.cap_procs, 64);
	struct proc *p = &W.procs[W.nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->start_ns = p->end_ns = p->exit_code = p->exit_signal = INT64_MIN;
	hashmap_u64_put(&W.proc_by_pid, (uint64_t)pid, W.nprocs++);
	return p;
}

static char *thread_comm(int pid, int tid)
{
	char comm[16];
	collect_read_comm(pid, tid, comm);
	return comm[0] ? strdup(comm) : NULL;
}

static struct thr *thr_get(int pid, int tid, int64_t ts)
{
	uint64_t key = ((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid;
	size_t at = W.last_thr && W.last_thr_key == key ? W.last_thr - 1 : SIZE_MAX;
	if (at == SIZE_MAX) {
		uint64_t *i = hashmap_u64_get(&W.thr_by_key, key);
		if (i) {
			at = *i;
			W.last_thr_key = key;
			W.last_thr = at + 1;
		}
	}
	if (at != SIZE_MAX) {
		struct thr *t = &W.thrs[at];
		if (ts > t->end_ns && !t->ended)
			t->end_ns = ts;
		return t;
	}
	GROW(W.thrs, W.nthrs, W.cap_thrs, 256);
	struct thr *t = &W.thrs[W.nthrs];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	t->start_ns = t->end_ns = ts;
	t->start_written = INT64_MIN;
	t->name = thread_comm(pid, tid);
	hashmap_u64_put(&W.thr_by_key, key, W.nthrs++);
	return t;
}

/* argv as one line: arguments separated by spaces. */
static char *join_argv(const char *a, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	memcpy(s, a, len);
	s[len] = 0;
	while (len && s[len - 1] == 0)
		len--;
	for (size_t i = 0; i < len; i++)
		if (s[i] == 0)
			s[i] = ' ';
	s[len] = 0;
	return s;
}

/* ---- stacks -------------------------------------------------------------------- */

static struct image_state *img_state(struct collect_image *img)
{
	if (!img->writer_state)
		img->writer_state = calloc(1, sizeof(struct image_state));
	return img->writer_state;
}

static struct collect *the_collector; /* for its lock around images' maps */
/* Ring words the writer has turned into rows, for writer_progress(). */
static uint64_t progress_words;

/*
 * The image's symbolizer, rebuilt when its map grew (the process's own copy
 * of its map can arrive after the first lookups).
 */
static struct sym_ctx *img_sym(struct collect_image *img)
{
	struct image_state *st = img_state(img);
	pthread_mutex_lock(&the_collector->lock);
	if (!st->sym || st->maps_len_used != img->maps_len) {
		sym_close(st->sym);
		st->sym = sym_open(img->pid, img->maps, img->maps_len);
		st->maps_len_used = img->maps_len;
	}
	pthread_mutex_unlock(&the_collector->lock);
	return st->sym;
}

/*
 * A pc outside every module we know may be in a library dlopen()ed after
 * the process started: re-read its maps once, while it is still alive.
 */
static void refresh_maps(struct collect *c, struct collect_image *img)
{
	struct image_state *st = img_state(img);
	if (st->sym_refreshed || img->closed)
		return;
	st->sym_refreshed = 1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", img->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	FILE *mem = open_memstream(&buf, &cap);
	char line[4096];
	while (mem && fgets(line, sizeof(line), f))
		fputs(line, mem);
	fclose(f);
	if (mem)
		fclose(mem);
	len = buf ? strlen(buf) : 0;
	if (!len) {
		free(buf);
		return;
	}
	pthread_mutex_lock(&c->lock);
	free(img->maps);
	img->maps = buf;
	img->maps_len = len;
	pthread_mutex_unlock(&c->lock);
	st->maps_len_used = (size_t)-1; /* rebuilt at the next lookup */
	img_sym(img);
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t l = strlen(s);
	if (*len + l + 2 > *cap) {
		size_t nc = (*cap + l + 2) * 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			abort();
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, l);
	*len += l;
	(*buf)[(*len)++] = '\x1f';
}

static int64_t stack_id_for(struct collect *c, struct collect_image *img, const uint64_t *pcs,
			    unsigned n)
{
	if (!n)
		return 0;
	struct image_state *st = img_state(img);
	int few = n <= FEW_FRAMES;
	uint64_t mix = 0;
	for (unsigned i = 0; few && i < n; i++)
		mix = (mix ^ pcs[i]) * 0x9e3779b97f4a7c15ull;
	size_t slot = (size_t)(mix >> 56) % FEW_FRAME_SLOTS;
	if (few && st->few_frames[slot].n == n &&
	    !memcmp(st->few_frames[slot].pc, pcs, n * sizeof(*pcs)))
		return st->few_frames[slot].id;
	uint64_t *hit = hashmap_str_get(&st->stacks, pcs, n * 8);
	if (hit) {
		if (few) {
			st->few_frames[slot].n = n;
			memcpy(st->few_frames[slot].pc, pcs, n * sizeof(*pcs));
			st->few_frames[slot].id = (int64_t)*hit;
		}
		return (int64_t)*hit;
	}

	struct sym_frame fr[WEFT_MAX_FRAMES + 8];
	struct sym_ctx *sym = img_sym(img);
	for (unsigned i = 0; i < n; i++) {
		if (pcs[i] & WEFT_PYFRAME_BIT) {
			uint64_t code = WEFT_PYFRAME_CODE(pcs[i]);
			memset(&fr[i], 0, sizeof(fr[i]));
			fr[i].module = "python";
			if (code < st->ncodes && st->codes[code].function) {
				fr[i].function = st->codes[code].function;
				fr[i].file = st->codes[code].file;
			}
			fr[i].line = WEFT_PYFRAME_LINE(pcs[i]);
			continue;
		}
		/* Frame 0 of a caller stack and every unwound frame is a return address. */
		if (sym_lookup(sym, pcs[i], 1, &fr[i]) < 0 && !st->sym_refreshed) {
			refresh_maps(c, img);
			sym = st->sym;
			sym_lookup(sym, pcs[i], 1, &fr[i]);
		}
	}
	/* The same code in two processes (fork children) shares one stack id. */
	char *key = NULL;
	size_t klen = 0, kcap = 0;
	char num[32];
	for (unsigned i = 0; i < n; i++) {
		if (fr[i].function) {
			append(&key, &klen, &kcap, fr[i].function);
		} else {
			snprintf(num, sizeof(num), "0x%llx", (unsigned long long)pcs[i]);
			append(&key, &klen, &kcap, num);
		}
		append(&key, &klen, &kcap, fr[i].file ? fr[i].file : "");
		snprintf(num, sizeof(num), "%d", fr[i].line);
		append(&key, &klen, &kcap, num);
		append(&key, &klen, &kcap, fr[i].module ? fr[i].module : "");
	}
	uint64_t *g = hashmap_str_get(&W.stacks, key, klen);
	int64_t id;
	if (g) {
		id = (int64_t)*g;
	} else {
		id = ++W.next_stack;
		hashmap_str_put(&W.stacks, key, klen, (uint64_t)id);
		for (unsigned i = 0; i < n; i++) {
			char pcname[32];
			const char *fn = fr[i].function;
			if (!fn) {
				snprintf(pcname, sizeof(pcname), "0x%llx",
					 (unsigned long long)pcs[i]);
				fn = pcname;
			}
			int is_py = (pcs[i] & WEFT_PYFRAME_BIT) != 0;
			if (store_writer_stack_frame(
				c->store, id, (int)i, is_py ? "python" : "native", fn, fr[i].file,
				fr[i].line, is_py ? NULL : fr[i].module, is_py ? 0 : pcs[i]))
				fail(c, "cannot write a stack");
		}
	}
	free(key);
	hashmap_str_put(&st->stacks, pcs, n * 8, (uint64_t)id);
	return id;
}

/* ---- objects ------------------------------------------------------------------- */

static const char *site_function(int64_t stack_id, struct collect *c, struct collect_image *img,
				 const uint64_t *pcs, unsigned n)
{
	(void)stack_id;
	(void)c;
	static char buf[256];
	if (!n)
		return NULL;
	struct sym_frame fr;
	if (sym_lookup(img_sym(img), pcs[0], 1, &fr) < 0 || !fr.function)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", fr.function);
	return buf;
}

static void object_name(struct collect *c, struct collect_image *img, uint64_t addr, int kind,
			int64_t stack_id, const uint64_t *pcs, unsigned n, const char *label,
			char *name, size_t len)
{
	const char *kname = store_object_kind_name(kind);
	char gbuf[300];
	const char *global = sym_data_name(img_sym(img), addr, gbuf, sizeof(gbuf));
	const char *fn;
	if (label && *label && kind == WEFT_OBJ_SEMAPHORE)
		snprintf(name, len, "semaphore %s", label); /* sem_open's name */
	else if (label && *label)
		snprintf(name, len, "%s", label);
	else if (global)
		snprintf(name, len, "%s", global);
	else if ((fn = site_function(stack_id, c, img, pcs, n)))
		snprintf(name, len, "%s@%s", kname ? kname : "object", fn);
	else
		snprintf(name, len, "%s@0x%llx", kname ? kname : "object",
			 (unsigned long long)addr);
}

static void write_object(struct collect *c, const struct obj_rec *o)
{
	if (store_writer_object(c->store, o->id, o->pid, o->kind, o->name, o->created_ts, o->addr,
				o->stack_id))
		fail(c, "cannot write an object");
}

static struct obj_rec *obj_push(struct image_state *st, struct collect_image *img, uint64_t addr)
{
	GROW(W.objs, W.nobjs, W.cap_objs, 1024);
	struct obj_rec *o = &W.objs[W.nobjs++];
	memset(o, 0, sizeof(*o));
	uint64_t *head = hashmap_u64_get(&st->objs, addr);
	o->prev = head ? (uint32_t)*head : 0;
	hashmap_u64_put(&st->objs, addr, W.nobjs);
	o->id = ++W.next_object;
	o->addr = addr;
	o->pid = img->pid;
	o->destroyed_ts = INT64_MAX;
	return o;
}

/* The object at addr alive at ts in this image, or NULL. */
static struct obj_rec *obj_find(struct image_state *st, uint64_t addr, int64_t ts)
{
	uint64_t *head = hashmap_u64_get(&st->objs, addr);
	for (uint32_t i = head ? (uint32_t)*head : 0; i; i = W.objs[i - 1].prev) {
		struct obj_rec *o = &W.objs[i - 1];
		if (ts <= o->destroyed_ts && (o->provisional || o->created_ts <= ts))
			return o;
	}
	return NULL;
}

/* An init record: upgrades the object first seen in use, or starts a new one. */
static int64_t object_init(struct collect *c, struct collect_image *img, uint64_t addr, int kind,
			   int64_t ts, int64_t stack_id, const uint64_t *pcs, unsigned n,
			   const char *label)
{
	struct image_state *st = img_state(img);
	uint64_t *head = hashmap_u64_get(&st->objs, addr);
	struct obj_rec *o = head ? &W.objs[*head - 1] : NULL;
	if (!(o && o->provisional && o->created_ts >= ts && o->destroyed_ts >= ts))
		o = obj_push(st, img, addr);
	char name[512];
	object_name(c, img, addr, kind, stack_id, pcs, n, label, name, sizeof(name));
	free(o->name);
	o->name = strdup(name);
	o->kind = kind;
	o->created_ts = ts;
	o->stack_id = stack_id;
	o->provisional = 0;
	write_object(c, o);
	return o->id;
}

static struct obj_rec *last_obj; /* the record object_for() resolved, for lock state */

static int64_t object_for(struct collect *c, struct collect_image *img, const struct collect_rec *r,
			  int64_t stack_id, const uint64_t *pcs)
{
	last_obj = NULL;
	if (!r->obj || !r->objkind)
		return 0;
	struct image_state *st = img_state(img);
	struct obj_rec *o = obj_find(st, r->obj, r->ts);
	if (o) {
		last_obj = o;
		if (o->provisional && r->ts < o->created_ts) {
			o->created_ts = r->ts;
			write_object(c, o);
		}
		if (r->ts > o->max_ts)
			o->max_ts = r->ts;
		return o->id;
	}
	o = obj_push(st, img, r->obj);
	o->provisional = 1;
	o->created_ts = r->ts;
	o->max_ts = r->ts;
	o->kind = r->objkind;
	o->stack_id = stack_id;
	/* A forked child's objects were made by its parent: keep their names. */
	struct obj_rec *parent = NULL;
	if (st->fork_parent) {
		uint64_t *ph = hashmap_u64_get(&img_state(st->fork_parent)->objs, r->obj);
		if (ph)
			parent = &W.objs[*ph - 1];
	}
	char name[512];
	if (parent && parent->name) {
		snprintf(name, sizeof(name), "%s", parent->name);
		o->kind = parent->kind;
	} else {
		object_name(c, img, r->obj, r->objkind, stack_id, pcs, r->nframes, NULL, name,
			    sizeof(name));
	}
	o->name = strdup(name);
	write_object(c, o);
	last_obj = o;
	return o->id;
}

/* ---- deadlocks --------------------------------------------------------------------- */

/* Lock kinds with one owner, whose waits can form a wait-for cycle. */
static int owned_kind(int kind)
{
	return (store_holds_kind_rules(kind) & STORE_HOLDS_OWNED) != 0;
}

/*
 * Whether o's holder and waiters are kept. An object still provisional
 * (seen in use before its init record, which another thread's ring may
 * deliver later) is kept too: its init may make it a Lock, and by then its
 * holder is long known. deadlock_check looks only at owned kinds.
 */
static int lock_state_kept(const struct obj_rec *o)
{
	return o && (owned_kind(o->kind) || o->provisional);
}

/* Keeps who holds and who waits for what, from each thread's own ordered events. */
static void track_lock_state(struct thr *t, int kind, int64_t arg, int64_t ts, int64_t stack)
{
	struct obj_rec *o = last_obj;
	switch (kind) {
	case WEFT_EV_LOCK_WAIT:
		if (lock_state_kept(o)) {
			t->wait_obj = (uint32_t)(o - W.objs) + 1;
			t->wait_timed = (arg & WEFT_WAIT_TIMED) != 0;
			t->wait_ts = ts;
			t->wait_stack = stack;
		}
		break;
	case WEFT_EV_LOCK_ACQUIRE:
		t->wait_obj = 0;
		/* A read hold of an rwlock has no single owner. */
		if (lock_state_kept(o) && !(o->kind == WEFT_OBJ_RWLOCK && arg == 0)) {
			if (o->hold_count && o->holder == t->tid)
				o->hold_count++;
			else {
				o->holder = t->tid;
				o->hold_count = 1;
			}
		}
		break;
	case WEFT_EV_LOCK_RELEASE:
		if (o && o->holder == t->tid && o->hold_count > 0 && --o->hold_count == 0)
			o->holder = 0;
		/* A Python Lock may be released by any thread: it is free now, whoever held it. */
		else if (o &&
			 ((store_holds_kind_rules(o->kind) & STORE_HOLDS_ANY_RELEASER) ||
			  (o->provisional && o->kind == WEFT_OBJ_SEMAPHORE)) &&
			 o->holder != t->tid) {
			o->holder = 0;
			o->hold_count = 0;
		}
		break;
	case WEFT_EV_LOCK_FAIL:
	case WEFT_EV_THREAD_EXIT:
		t->wait_obj = 0;
		break;
	}
}

/* True when the kernel says the thread is asleep (blocked), not running. */
static int thread_blocked(int pid, int tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strrchr(buf, ')'); /* the name may contain spaces and parentheses */
	return p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D');
}

static struct thr *thr_lookup(int pid, int tid)
{
	uint64_t key = ((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid;
	uint64_t *i = hashmap_u64_get(&W.thr_by_key, key);
	return i ? &W.thrs[*i] : NULL;
}

/*
 * Looks for a cycle of threads each blocked on a lock the next one holds.
 * Called when the program has made no event for a while, so every ring is
 * drained and the state is the program's real state. New cycles are kept
 * in W.deadlocks and announced through c->deadlock_found.
 */
static void deadlock_check(struct collect *c)
{
	for (size_t i = 0; i < W.nthrs; i++) {
		struct thr *start = &W.thrs[i];
		if (!start->wait_obj)
			continue;
		struct thr *cyc[64];
		int n = 0;
		struct thr *t = start;
		while (t && t->wait_obj && !t->wait_timed &&
		       owned_kind(W.objs[t->wait_obj - 1].kind) && n < 64) {
			int seen = 0;
			for (int k = 0; k < n; k++)
				seen |= cyc[k] == t;
			if (seen)
				break;
			cyc[n++] = t;
			struct obj_rec *o = &W.objs[t->wait_obj - 1];
			t = o->hold_count ? thr_lookup(o->pid, o->holder) : NULL;
		}
		/*
		 * A thread waiting for a lock it holds itself is a real deadlock
		 * only for a pthread mutex; for anything else it is more likely a
		 * release weft did not see. Every thread of the cycle must also be
		 * asleep right now.
		 */
		if (!t || t != start || n < 1)
			continue;
		if (n == 1 && W.objs[start->wait_obj - 1].kind != WEFT_OBJ_MUTEX)
			continue;
		int asleep = 1;
		for (int k = 0; k < n; k++)
			asleep &= thread_blocked(cyc[k]->pid, cyc[k]->tid);
		if (!asleep)
			continue;
		/* Report each cycle once: only from its lowest tid. */
		int lowest = 1;
		for (int k = 1; k < n; k++)
			lowest &= cyc[k]->tid > start->tid;
		int known = 0;
		for (size_t d = 0; d < W.ndeadlocks; d++)
			known |= W.deadlocks[d].first_tid == start->tid && W.deadlocks[d].n == n;
		if (!lowest || known || W.ndeadlocks >= 16)
			continue;
		struct deadlock *dl = &W.deadlocks[W.ndeadlocks++];
		dl->first_tid = start->tid;
		dl->n = n;
		size_t len = 0;
		len += (size_t)snprintf(dl->summary + len, sizeof(dl->summary) - len, "deadlock:");
		for (int k = 0; k < n && len < sizeof(dl->summary); k++) {
			struct obj_rec *o = &W.objs[cyc[k]->wait_obj - 1];
			struct thr *h = thr_lookup(o->pid, o->holder);
			dl->pid[k] = cyc[k]->pid;
			dl->tid[k] = cyc[k]->tid;
			dl->obj[k] = o->id;
			dl->stack[k] = cyc[k]->wait_stack;
			dl->ts[k] = cyc[k]->wait_ts;
			len += (size_t)snprintf(
			    dl->summary + len, sizeof(dl->summary) - len,
			    "%s thread %d (%s) waits for %s held by thread %d (%s)", k ? ";" : "",
			    cyc[k]->tid, cyc[k]->name ? cyc[k]->name : "?", o->name ? o->name : "?",
			    o->holder, h && h->name ? h->name : "?");
		}
		__atomic_store_n(&c->deadlock_found, 1, __ATOMIC_RELEASE);
		pthread_mutex_lock(&c->lock);
		snprintf(c->deadlock_summary, sizeof(c->deadlock_summary), "%s", dl->summary);
		pthread_mutex_unlock(&c->lock);
	}
}

/* ---- records ------------------------------------------------------------------- */

static void set_exit_status(struct proc *p, int status)
{
	if (WIFEXITED(status)) {
		p->exit_code = WEXITSTATUS(status);
		p->exit_signal = INT64_MIN;
	} else if (WIFSIGNALED(status)) {
		p->exit_signal = WTERMSIG(status);
		p->exit_code = INT64_MIN;
	}
}

static void write_event(struct collect *c, int pid, int tid, int kind, int64_t ts, int64_t obj,
			int64_t wait, int64_t arg, int64_t stack)
{
	struct store_event e = {ts, pid, tid, kind, obj, wait, arg, stack};
	if (store_writer_event(c->store, &e))
		fail(c, "cannot write an event");
	c->events_written++;
	if (ts > W.max_ts)
		W.max_ts = ts;
}

static void handle_ctl(struct collect *c, const struct collect_seg *r)
{
	struct collect_image *img = r->img;
	switch (r->ctl) {
	case COLLECT_CTL_IMAGE_START: {
		struct proc *p = proc_get(img->pid);
		if (img->forked) {
			/* Its parent's latest image: the one whose memory was copied. */
			for (struct collect_image *q = c->images; q; q = q->next)
				if (q != img && q->pid == img->ppid) {
					img_state(img)->fork_parent = q;
					break;
				}
		}
		p->ppid = img->ppid;
		free(p->argv);
		p->argv = join_argv(img->argv ? img->argv : "", img->argv_len);
		/*
		 * An exec: its one thread is the new program now, whatever the
		 * image before named it (the forking thread's name in a
		 * subprocess child, read whenever the writer first saw it).
		 */
		struct thr *t =
		    img->forked || !img->comm[0] ? NULL : thr_lookup(img->pid, img->pid);
		if (t) {
			free(t->name);
			t->name = strdup(img->comm);
			t->py_ident = 0;
		}
		if (p->start_ns == INT64_MIN)
			p->start_ns = r->ts;
		break;
	}
	case COLLECT_CTL_IMAGE_END: {
		struct image_state *st = img_state(img);
		struct proc *p = proc_get(img->pid);
		/* A process that died without exit() (a signal, SIGKILL) still ends. */
		int64_t ts = st->last_ts > r->ts ? st->last_ts : r->ts;
		int died = !st->exec_done && !st->exit_recorded && !p->have_exit_event;
		if (died) {
			write_event(c, img->pid, img->pid, WEFT_EV_PROCESS_EXIT, ts, 0, 0, -1, 0);
			p->have_exit_event = 1;
		}
		/* One that died lived until its end was seen, as its process.exit says. */
		if (!st->exec_done && (p->end_ns == INT64_MIN || p->end_ns < st->last_ts || died))
			p->end_ns = died ? ts : st->last_ts > 0 ? st->last_ts : r->ts;
		break;
	}
	case COLLECT_CTL_KILLED:
		proc_get((int)r->arg)->killed = 1;
		break;
	case COLLECT_CTL_REAPED: {
		struct proc *p = proc_get((int)r->arg);
		set_exit_status(p, (int)r->wait);
		break;
	}
	case COLLECT_CTL_SLOT_STATS: {
		struct thr *t = thr_get(img->pid, r->tid, 0);
		t->unrecorded += r->arg;
		t->waits += r->wait;
		break;
	}
	}
}

/* The object ids of lock addresses a race record lists, comma-separated. */
static void held_ids(struct image_state *st, const uint64_t *addrs, unsigned n, int64_t ts,
		     char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < n && o < len; i++) {
		struct obj_rec *ob = obj_find(st, addrs[i], ts);
		if (ob && ob->id)
			o += (size_t)snprintf(buf + o, len - o, "%s%lld", o ? "," : "",
					      (long long)ob->id);
	}
}

/*
 * A data race from the Python race detector: both accesses become
 * race.access events (the earlier one in the other thread, back in time)
 * and a row of the race table ties them together.
 */
static void race_record(struct collect *c, struct collect_image *img, const struct collect_rec *r,
			int64_t stack)
{
	struct weft_race_wire h;
	if (r->payload_len < sizeof(h))
		return;
	memcpy(&h, r->payload, sizeof(h));
	struct store_race sr = {0};
	sr.pid = img->pid;
	sr.rule = h.rule;
	sr.light = h.light;
	sr.site_a = h.other_site;
	sr.site_b = h.cur_site;
	sr.tid_b = r->tid;
	sr.ts_b = r->ts;
	char held_a[256], held_b[256];
	char *label = NULL;
	if (!h.light) {
		const uint64_t *w = (const uint64_t *)(const void *)(r->payload + sizeof(h));
		size_t words = (r->payload_len - sizeof(h)) / 8;
		size_t need = (size_t)h.cur_nheld + h.other_nheld + h.other_nframes;
		if (need > words || h.other_nframes > WEFT_MAX_FRAMES + 8) {
			c->events_lost++;
			weft_warn("pid %d tid %d: malformed race record skipped", img->pid, r->tid);
			return;
		}
		struct image_state *st = img_state(img);
		sr.tid_a = (int)r->arg;
		sr.ts_a = r->ts - r->wait;
		sr.flags_a = h.other_flags;
		sr.flags_b = h.cur_flags;
		held_ids(st, w, h.cur_nheld, sr.ts_b, held_b, sizeof(held_b));
		held_ids(st, w + h.cur_nheld, h.other_nheld, sr.ts_a, held_a, sizeof(held_a));
		sr.held_a = held_a;
		sr.held_b = held_b;
		const uint64_t *other = w + h.cur_nheld + h.other_nheld;
		/* Race stacks are kept whatever --stacks says: they are the finding. */
		sr.stack_b = stack ? stack : stack_id_for(c, img, r->frames, r->nframes);
		sr.stack_a = stack_id_for(c, img, other, h.other_nframes);
		size_t rest = r->payload_len - sizeof(h) - need * 8;
		label = strndup((const char *)(other + h.other_nframes), rest);
		sr.location = label;
		thr_get(img->pid, sr.tid_a, sr.ts_a);
		write_event(c, img->pid, sr.tid_a, WEFT_EV_RACE_ACCESS, sr.ts_a, 0, 0, sr.flags_a,
			    sr.stack_a);
		write_event(c, img->pid, sr.tid_b, WEFT_EV_RACE_ACCESS, sr.ts_b, 0, 0, sr.flags_b,
			    sr.stack_b);
	}
	if (store_writer_race(c->store, &sr))
		fail(c, "cannot write a race");
	free(label);
}

/*
 * Whether a process's meta value for key is older than the one written:
 * rings are drained in no particular order, so a value recorded first
 * (the switch interval at start-up, in the main thread's ring) can arrive
 * after the one that replaced it (another thread's). Notes ts otherwise.
 */
static int meta_is_older(const char *key, int64_t ts)
{
	const uint64_t *seen = hashmap_str_get(&W.meta_times, key, strlen(key));
	if (seen && ts < (int64_t)*seen)
		return 1;
	hashmap_str_put(&W.meta_times, key, strlen(key), (uint64_t)ts);
	return 0;
}

/*
 * A private record (kind > WEFT_EV_MAX_PUBLIC): what the collector learns
 * beside the events: objects, names, Python code, meta, races.
 */
static void handle_private(struct collect *c, struct collect_rec *r, struct thr *t, int64_t stack)
{
	struct collect_image *img = r->img;
	struct image_state *st = img_state(img);
	const uint64_t *pcs = r->frames;
	const char *payload = r->payload;
	int pid = img->pid;
	switch (r->kind) {
	case WEFT_REC_OBJECT_INIT: {
		char label[256] = "";
		if (r->payload_len) {
			size_t l =
			    r->payload_len < sizeof(label) ? r->payload_len : sizeof(label) - 1;
			memcpy(label, payload, l);
			label[l] = 0;
		}
		object_init(c, img, r->obj, (int)r->arg, r->ts, stack, pcs, r->nframes, label);
		return;
	}
	case WEFT_REC_THREAD_NAME: {
		struct thr *named = thr_get(pid, (int)r->arg ? (int)r->arg : r->tid, r->ts);
		/*
		 * Python 3.14+ gives the OS its threads' names cut to 15 bytes: the
		 * threading name it already sent stays ("Thread-12 (process_request_thread)").
		 */
		size_t len = strnlen(payload, r->payload_len);
		if (named->py_ident && named->name && len && !strncmp(named->name, payload, len))
			return;
		free(named->name);
		named->name = strndup(payload, r->payload_len);
		return;
	}
	case WEFT_REC_META: {
		/*
		 * A traced process may add what it knows of itself (python.*),
		 * never a key the trace format owns (format, complete, command...).
		 */
		size_t kl = strnlen(payload, r->payload_len);
		if (kl < 8 || strncmp(payload, STORE_META_PROCESS_PREFIX, 7)) {
			weft_warn("pid %d: meta key outside python.* ignored", pid);
			return;
		}
		if (kl + 1 < r->payload_len) {
			char key[128];
			snprintf(key, sizeof(key), "%.*s", (int)kl, payload);
			if (meta_is_older(key, r->ts))
				return;
			char *val = strndup(payload + kl + 1, r->payload_len - kl - 1);
			if (val && store_writer_meta(c->store, key, val))
				fail(c, "cannot write meta");
			free(val);
		}
		return;
	}
	case WEFT_REC_PY_CODE: {
		uint64_t id = (uint64_t)r->arg;
		if (id > 1000000)
			return;
		if (id >= st->ncodes) {
			size_t n = st->ncodes ? st->ncodes : 256;
			while (n <= id)
				n *= 2;
			struct py_code *nc = realloc(st->codes, n * sizeof(*nc));
			if (!nc)
				return;
			memset(nc + st->ncodes, 0, (n - st->ncodes) * sizeof(*nc));
			st->codes = nc;
			st->ncodes = n;
		}
		size_t fl = strnlen(payload, r->payload_len);
		free(st->codes[id].function);
		free(st->codes[id].file);
		st->codes[id].function = strndup(payload, fl);
		st->codes[id].file = fl + 1 < r->payload_len
					 ? strndup(payload + fl + 1, r->payload_len - fl - 1)
					 : NULL;
		return;
	}
	case WEFT_REC_PY_THREAD:
		free(t->name);
		t->name = strndup(payload, r->payload_len);
		t->py_ident = r->arg;
		return;
	case WEFT_REC_PROCESS_NAME: {
		/*
		 * A parent names a child it started (multiprocessing's start()):
		 * only a process without a name yet; the child's own name, if it
		 * lives to say it, is the same. The child's fork record may come
		 * later (a forkserver forked it, and published late): the name
		 * waits for the end, and names only a process the trace has.
		 */
		if (r->arg > 0 && r->arg != pid) {
			uint64_t *known = hashmap_u64_get(&W.proc_by_pid, (uint64_t)r->arg);
			if (known && W.procs[*known].name)
				return;
			char *name = strndup(payload, r->payload_len);
			if (known) {
				W.procs[*known].name = name;
			} else if (name) {
				GROW(W.parent_names, W.nparent_names, W.cap_parent_names, 16);
				W.parent_names[W.nparent_names++] =
				    (struct parent_name){(int)r->arg, name};
			}
			return;
		}
		struct proc *p = proc_get(pid);
		free(p->name);
		p->name = strndup(payload, r->payload_len);
		return;
	}
	case WEFT_REC_PY_RACE:
		race_record(c, img, r, stack);
		return;
	}
}

/*
 * A lock.wait Python's bootstrap recorded at exit for another thread still
 * blocked on a named object (WEFT_WAIT_FOR_THREAD): that thread's row, at
 * the record's time (a row back at the wait's start would come late, and
 * move every row after it), waiting since wait_ns ago (the recorded wait,
 * else since its last event); it lives until its process ends.
 */
static void wait_for_thread(struct collect *c, struct collect_rec *r, int64_t stack)
{
	int pid = r->img->pid;
	int tid = (int)((uint64_t)r->arg >> 32);
	/* Python's native_id, in the process's pid namespace: weft's name for it. */
	if (r->img->pid_ns != c->pid_ns && tid > 0)
		tid = pidns_host_id(c->pid_ns, r->img->pid_ns, r->img->pid, r->img->ns_pid, tid);
	struct thr *t = thr_lookup(pid, tid);
	if (!t || t->ended)
		return;
	int64_t obj = object_for(c, r->img, r, stack, r->frames);
	int64_t start = r->wait > 0 ? r->ts - r->wait : t->last_ts;
	if (start < t->last_ts)
		start = t->last_ts;
	int64_t ts = r->ts > start ? r->ts : start;
	write_event(c, pid, tid, WEFT_EV_LOCK_WAIT, ts, obj, ts - start, 0, 0);
	t->last_ts = ts;
	t->blocked_at_exit = 1;
}

/* An event: bookkeeping of processes and threads, its object, then its row. */
static void handle_event(struct collect *c, struct collect_rec *r, struct thr *t, int64_t stack)
{
	struct collect_image *img = r->img;
	struct image_state *st = img_state(img);
	const uint64_t *pcs = r->frames;
	int pid = img->pid;
	int64_t obj = 0, arg = r->arg;
	if (r->kind == WEFT_EV_LOCK_WAIT && (arg & WEFT_WAIT_FOR_THREAD)) {
		wait_for_thread(c, r, stack);
		return;
	}
	switch (r->kind) {
	case WEFT_EV_THREAD_START:
		t->start_ns = r->ts - r->wait;
		t->started = 1;
		break;
	case WEFT_EV_THREAD_EXIT:
		t->end_ns = r->ts;
		t->ended = 1;
		break;
	case WEFT_EV_PROCESS_EXIT: {
		struct proc *p = proc_get(pid);
		if (r->arg >= 0) {
			p->exit_code = r->arg;
			p->exit_signal = INT64_MIN;
		}
		p->end_ns = r->ts;
		p->have_exit_event = 1;
		st->exit_recorded = 1;
		break;
	}
	case WEFT_EV_PROCESS_EXEC:
		if (r->arg == 0)
			st->exec_done = 1;
		else
			st->exec_done = 0; /* the exec failed: the image goes on */
		break;
	case WEFT_EV_PROCESS_FORK:
	case WEFT_EV_PROCESS_SPAWN:
		if (r->arg > 0) {
			/* The child exists from the moment fork/spawn returned in the parent. */
			struct proc *child = proc_get((int)r->arg);
			if (child->start_ns == INT64_MIN || r->ts < child->start_ns)
				child->start_ns = r->ts;
			if (!child->ppid)
				child->ppid = pid;
		}
		break;
	case WEFT_EV_PROCESS_REAP:
		/* Maybe a thread: decided once every record is in (writer_stop_and_join). */
		if ((uint64_t)r->obj & WEFT_REAP_CLONE) {
			GROW(W.clone_reaps, W.nclone_reaps, W.cap_clone_reaps, 16);
			W.clone_reaps[W.nclone_reaps++] =
			    (struct clone_reap){(int)r->arg, (int)r->obj};
		} else {
			set_exit_status(proc_get((int)r->arg), (int)r->obj);
		}
		break;
	default:
		obj = object_for(c, img, r, stack, pcs);
	}
	if (!obj)
		last_obj = NULL;
	write_event(c, pid, r->tid, r->kind, r->ts, obj, r->wait, arg, stack);
	track_lock_state(t, r->kind, arg, r->ts, stack);
	if (r->kind == WEFT_EV_OBJECT_DESTROY && r->obj) {
		struct obj_rec *o = obj_find(st, r->obj, r->ts);
		if (o) {
			o->destroyed_ts = r->ts;
			/*
			 * Another thread's later use reached us first: moved while
			 * still held (move_late_held), else at the end.
			 */
			if (o->max_ts > r->ts) {
				GROW(W.fixups, W.nfixups, W.cap_fixups, 64);
				W.fixups[W.nfixups++] =
				    (struct obj_fixup){(uint32_t)(o - W.objs) + 1, r->ts, st, 0};
			}
		}
	}
}

static void handle_rec(struct collect *c, struct collect_rec *r)
{
	struct collect_image *img = r->img;
	struct image_state *st = img_state(img);
	const uint64_t *pcs = r->frames;
	int pid = img->pid;
	if (r->ts > st->last_ts)
		st->last_ts = r->ts;
	int64_t stack = c->stacks == WEFT_STACKS_NONE ? 0 : stack_id_for(c, img, pcs, r->nframes);
	struct thr *t = thr_get(pid, r->tid, r->ts);
	/*
	 * TSC readings on different CPUs, or across a recalibration, can put
	 * a record a few microseconds before its ring's previous one. Per
	 * ring, not per thread: a thread whose ring was retired at its exit
	 * records the destructors of glibc's later rounds (its exit waits for
	 * the first, where OpenSSL's and libunwind's run) in another, which
	 * may be drained first. Held to its thread's latest
	 * time, the first ring's last records (thread.exit among them) came
	 * after the second's, and the findings saw a lock taken in a
	 * destructor as held at the exit.
	 */
	if (r->ts < *r->ring_last_ns)
		r->ts = *r->ring_last_ns;
	*r->ring_last_ns = r->ts;
	if (r->ts > t->last_ts)
		t->last_ts = r->ts;
	struct proc *self = proc_get(pid);
	if (self->start_ns == INT64_MIN || r->ts - r->wait < self->start_ns)
		self->start_ns = r->ts - r->wait;
	if (r->kind > WEFT_EV_MAX_PUBLIC)
		handle_private(c, r, t, stack);
	else
		handle_event(c, r, t, stack);
}

/*
 * Splits a run of raw ring words into records and handles each. Records
 * leave out what the ring's previous ones said (preload/wire.h): the ring's
 * state carries it from one segment to the next.
 */
static void parse_segment(struct collect *c, const struct collect_clock *clk,
			  const struct collect_seg *sg, const uint64_t *w)
{
	struct collect_ring_state *rs = &sg->img->rings[sg->chunk][sg->slot];
	uint64_t pos = 0;
	while (pos < sg->nwords) {
		struct weft_rec_header h;
		memcpy(&h, &w[pos], 8);
		uint64_t q = pos + 1;
		uint64_t fixed = weft_rec_words(h.flags & ~WEFT_RF_PAYLOAD, 0, 0);
		uint64_t plen = 0;
		if ((h.flags & WEFT_RF_PAYLOAD) && pos + fixed + h.nframes < sg->nwords)
			plen = w[pos + fixed + h.nframes];
		uint64_t n = weft_rec_words(h.flags, h.nframes, (uint32_t)plen);
		if (h.kind == 0 || h.nframes > WEFT_MAX_FRAMES + 8 || (h.flags & ~WEFT_RF_KNOWN) ||
		    ((h.flags & WEFT_RF_SAMEFRAME) && (h.nframes || !rs->frame)) ||
		    ((h.flags & WEFT_RF_PREVFRAME) &&
		     (h.nframes || !rs->prev_frame || (h.flags & WEFT_RF_SAMEFRAME))) ||
		    plen > 4096 || pos + n > sg->nwords) {
			/* The program scribbled over its own ring: say so, drop the rest. */
			weft_warn("pid %d tid %d: corrupt trace buffer, %llu words skipped",
				  sg->img->pid, sg->tid, (unsigned long long)(sg->nwords - pos));
			c->events_lost++;
			return;
		}
		uint64_t ts = h.flags & WEFT_RF_TS ? w[q++] : rs->ts + h.tsd;
		uint64_t obj = h.flags & WEFT_RF_OBJ	   ? w[q++]
			       : h.flags & WEFT_RF_SAMEOBJ ? rs->obj
							   : 0;
		uint64_t wait = h.flags & WEFT_RF_WAIT ? w[q++] : 0;
		int64_t arg = h.flags & WEFT_RF_ARG ? (int64_t)w[q++] : 0;
		rs->ts = ts;
		if (obj)
			rs->obj = obj;
		struct collect_rec r;
		r.img = sg->img;
		r.tid = sg->tid;
		r.kind = h.kind;
		r.objkind = h.objkind;
		r.nframes = h.nframes;
		if (sg->tsc) {
			r.ts = collect_tsc_ns(clk, ts);
			r.wait = (int64_t)((double)wait * clk->ns_per_tick);
		} else {
			r.ts = (int64_t)(ts - clk->start_mono_ns);
			r.wait = (int64_t)wait;
		}
		r.obj = obj;
		r.arg = arg;
		/* Ids a process in a pid namespace names: as weft's namespace calls them. */
		if (sg->img->pid_ns != c->pid_ns && arg > 0 &&
		    (h.kind == WEFT_EV_THREAD_CREATE || h.kind == WEFT_EV_THREAD_JOIN ||
		     h.kind == WEFT_EV_PROCESS_FORK || h.kind == WEFT_EV_PROCESS_SPAWN ||
		     h.kind == WEFT_EV_PROCESS_REAP || h.kind == WEFT_REC_THREAD_NAME ||
		     h.kind == WEFT_REC_PROCESS_NAME))
			r.arg = pidns_host_id(c->pid_ns, sg->img->pid_ns, sg->img->pid,
					      sg->img->ns_pid, (int)arg);
		r.frames = &w[q];
		if (h.flags & (WEFT_RF_SAMEFRAME | WEFT_RF_PREVFRAME)) {
			if (h.flags & WEFT_RF_PREVFRAME) {
				uint64_t last = rs->frame;
				rs->frame = rs->prev_frame;
				rs->prev_frame = last;
			}
			r.frames = &rs->frame;
			r.nframes = 1;
		} else if (h.nframes == 1 && w[q] && w[q] != rs->frame) {
			/* as the producer's last_frame and prev_frame: nonzero words only */
			rs->prev_frame = rs->frame;
			rs->frame = w[q];
		}
		r.payload = (const char *)&w[q + h.nframes + 1];
		r.payload_len = (uint32_t)plen;
		r.ring_last_ns = &rs->last_ns;
		handle_rec(c, &r);
		pos += n;
	}
}

/* Successors looked at per destroyed object (each owns its own lifetime's late uses). */
#define SUCCESSORS_MAX 64

/*
 * The objects made at dead's address after its destruction at after_ts,
 * by creation time, into out (at most SUCCESSORS_MAX): the first, and any
 * other made before dead's latest use, since only those can own one.
 */
static size_t successors(struct image_state *st, const struct obj_rec *dead, int64_t after_ts,
			 struct obj_rec **out)
{
	size_t n = 0;
	uint64_t *head = hashmap_u64_get(&st->objs, dead->addr);
	for (uint32_t i = head ? (uint32_t)*head : 0; i; i = W.objs[i - 1].prev) {
		struct obj_rec *o = &W.objs[i - 1];
		if (o == dead || o->created_ts < after_ts)
			continue;
		size_t at = n < SUCCESSORS_MAX ? n++ : n;
		while (at > 0 && out[at - 1]->created_ts > o->created_ts) {
			if (at < SUCCESSORS_MAX)
				out[at] = out[at - 1];
			at--;
		}
		if (at < SUCCESSORS_MAX)
			out[at] = o;
	}
	while (n > 1 && out[n - 1]->created_ts > dead->max_ts &&
	       out[n - 2]->created_ts > dead->max_ts)
		n--;
	return n;
}

/*
 * Gives the late uses of f's object from f->after_ts to the successors in
 * next[0..n): each owns those up to its own destruction. Returns where the
 * owned stretch ends (f->after_ts when n is 0); see settle_fixup.
 */
static int64_t settle_window(struct collect *c, struct obj_fixup *f, sqlite3_stmt *update,
			     struct obj_rec **next, size_t n)
{
	struct obj_rec *dead = &W.objs[f->obj - 1];
	int64_t lo = f->after_ts;
	for (size_t i = 0; i < n && lo < dead->max_ts; i++) {
		int64_t hi = next[i]->destroyed_ts, latest = INT64_MIN;
		if (update) {
			sqlite3_bind_int64(update, 1, next[i]->id);
			sqlite3_bind_int64(update, 2, dead->id);
			sqlite3_bind_int64(update, 3, lo);
			sqlite3_bind_int64(update, 4, hi);
			int rc = sqlite3_step(update);
			sqlite3_reset(update);
			if (rc != SQLITE_DONE) {
				if (!store_writer_interrupted(c->store))
					fail(c, "cannot move late events");
				return INT64_MAX;
			}
			/* The per-object counts follow the events (per-kind and per-thread ones
			 * stay). */
			if (sqlite3_changes(store_writer_db(c->store)) &&
			    store_writer_refresh_object(c->store, next[i]->id) &&
			    store_writer_interrupted(c->store))
				return INT64_MAX;
		} else if (store_writer_move_held(c->store, dead->id, next[i]->id, lo, hi,
						  &latest)) {
			W.late_held_moved++;
			/* its own destruction, parsed later, finds them as it would its own uses */
			if (latest > next[i]->max_ts)
				next[i]->max_ts = latest;
		}
		lo = hi;
	}
	return lo;
}

/*
 * Gives each of f's late uses (attributed to the destroyed object, later
 * than its destruction) to the object alive at its time: the successor
 * made first owns the uses up to its own destruction, the next one those
 * after, and so on, SUCCESSORS_MAX successors a window (a collector far
 * behind one thread, as under valgrind, sees a hundred remakes). update:
 * the rows in ev change through it (a statement on obj and ts); NULL: the
 * events the store still holds. Returns 1 when every late use has an
 * owner, or the trace is failing; 0 when the successors known end before
 * the last late use (while recording, f then waits for the next
 * successors to be parsed, from where they ended).
 */
static int settle_fixup(struct collect *c, struct obj_fixup *f, sqlite3_stmt *update)
{
	struct obj_rec *dead = &W.objs[f->obj - 1], *next[SUCCESSORS_MAX];
	int64_t start = f->after_ts, lo;
	for (;;) {
		size_t n = successors(f->st, dead, f->after_ts, next);
		lo = settle_window(c, f, update, next, n);
		if (lo == f->after_ts || lo >= dead->max_ts)
			break;
		f->after_ts = lo;
	}
	/* Its per-object counts lost what moved. */
	if (update && lo != start && !store_writer_interrupted(c->store))
		store_writer_refresh_object(c->store, dead->id);
	return lo >= dead->max_ts;
}

/*
 * Late uses still held by the store get their owner before the horizon
 * writes them, so they cost nothing at the end: there, moving them meant
 * an index over all of ev and every viewer table read again from the
 * first row (1.9 s and more on an OpenSSL burst). Called before each
 * horizon: a successor, made before the uses it owns, was parsed by
 * then. A fixup whose destruction the written rows have passed is left
 * to the end (fix_late_objects).
 */
static void move_late_held(struct collect *c)
{
	/* WEFT_TEST_LATE_AT_END: the tests' way to send every fixup to the end's path. */
	static int at_end = -1;
	if (at_end < 0)
		at_end = getenv("WEFT_TEST_LATE_AT_END") != NULL;
	int64_t written = at_end ? INT64_MAX : store_writer_written_to(c->store);
	for (size_t i = W.fixup_from; i < W.nfixups; i++) {
		struct obj_fixup *f = &W.fixups[i];
		if (!f->settled && written > f->after_ts)
			f->settled = 2;
		else if (!f->settled && settle_fixup(c, f, NULL))
			f->settled = 1;
	}
	while (W.fixup_from < W.nfixups && W.fixups[W.fixup_from].settled)
		W.fixup_from++;
}

/*
 * Events attributed to an object after its destruction belong to the next
 * object made at that address (rings drain independently, so a thread's
 * use can arrive before the other thread's destroy and re-init): those
 * the writer could not move while they were held.
 */
static void fix_late_objects(struct collect *c, sqlite3 *db)
{
	/* only those with a successor: a use after destruction with none stays (misuse) */
	size_t left = 0;
	struct obj_rec *next[SUCCESSORS_MAX];
	for (size_t i = 0; i < W.nfixups; i++) {
		struct obj_fixup *f = &W.fixups[i];
		left +=
		    f->settled != 1 && successors(f->st, &W.objs[f->obj - 1], f->after_ts, next);
	}
	if (W.nfixups)
		store_debug("finalize",
			    "%zu objects used after their destruction: %llu moves while held,"
			    " %zu objects' events left to move now",
			    W.nfixups, (unsigned long long)W.late_held_moved, left);
	if (!left)
		return;
	uint64_t t0 = weft_mono_ns();
	sqlite3_exec(db, "CREATE INDEX IF NOT EXISTS ev_by_obj ON ev(obj, ts) WHERE obj <> 0", NULL,
		     NULL, NULL);
	sqlite3_stmt *up = NULL;
	if (sqlite3_prepare_v2(db, "UPDATE ev SET obj = ? WHERE obj = ? AND ts > ? AND ts <= ?", -1,
			       &up, NULL) != SQLITE_OK)
		return;
	for (size_t i = 0; i < W.nfixups && !store_writer_interrupted(c->store); i++)
		if (W.fixups[i].settled != 1)
			settle_fixup(c, &W.fixups[i], up);
	sqlite3_finalize(up);
	store_debug("finalize", "late objects: %.2f s", (weft_mono_ns() - t0) / 1e9);
}

/*
 * Deadlocks found while recording become findings once the findings tables
 * exist (after store_build_findings).
 */
int writer_store_deadlocks(struct collect *c, sqlite3 *db)
{
	(void)c;
	int rc = 0;
	for (size_t d = 0; d < W.ndeadlocks && !rc; d++) {
		struct deadlock *dl = &W.deadlocks[d];
		char *sql = sqlite3_mprintf(
		    "INSERT INTO finding(kind, rule, severity, summary, count, ts_ns, pid, tid)"
		    " VALUES(%Q, 'wait-for cycle', 'error', %Q, 1, %lld, %d, %d)",
		    store_finding_kind_name(STORE_FINDING_DEADLOCK), dl->summary,
		    (long long)dl->ts[0], dl->pid[0], dl->tid[0]);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
		sqlite3_free(sql);
		sqlite3_int64 fid = sqlite3_last_insert_rowid(db);
		for (int k = 0; k < dl->n && !rc; k++) {
			sql = sqlite3_mprintf(
			    "INSERT INTO finding_item(finding_id, seq, role, pid, tid,"
			    " object_id, event_id, stack_id) VALUES(%lld, %d,"
			    " 'waiter', %d, %d, %lld, (SELECT id FROM ev WHERE"
			    " th = (SELECT th FROM thread_no WHERE pid = %d AND"
			    " tid = %d) AND kind = %d ORDER BY id DESC LIMIT 1), %lld)",
			    (long long)fid, k, dl->pid[k], dl->tid[k], (long long)dl->obj[k],
			    dl->pid[k], dl->tid[k], WEFT_EV_LOCK_WAIT, (long long)dl->stack[k]);
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
			sqlite3_free(sql);
		}
	}
	return rc;
}

/* ---- the thread ------------------------------------------------------------------ */

/*
 * Reads a spilled segment's words back into the writer's own buffer, which
 * is reused batch after batch. NULL, and the writer fails, when the read
 * does: its records are then known lost, never silently.
 */
static const uint64_t *read_spilled(struct collect *c, const struct collect_seg *sg)
{
	size_t bytes = sg->nwords * 8;
	if (bytes > c->spill_buf_cap) {
		size_t ncap = c->spill_buf_cap ? c->spill_buf_cap : (size_t)8 << 20;
		while (ncap < bytes)
			ncap *= 2;
		uint64_t *n = realloc(c->spill_buf, ncap);
		if (!n)
			goto fail;
		c->spill_buf = n;
		c->spill_buf_cap = ncap;
	}
	uint64_t *buf = c->spill_buf;
	for (size_t got = 0; got < bytes;) {
		ssize_t n =
		    pread(c->spill_fd, (char *)buf + got, bytes - got, (off_t)(sg->off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	return buf;
fail:
	if (!c->writer_failed) {
		c->writer_failed = 1;
		snprintf(c->writer_error, sizeof(c->writer_error),
			 "cannot read back %zu bytes of records from the spill file: %s", bytes,
			 strerror(errno ? errno : EIO));
	}
	return NULL;
}

/*
 * Each thread's row, with its start, as soon as it is known (the rest of
 * the row comes at the end): a reader following the trace (the viewer's
 * tables) starts a thread's first span where the finished trace will.
 */
static void write_thread_starts(struct collect *c)
{
	for (size_t i = 0; i < W.nthrs; i++) {
		struct thr *t = &W.thrs[i];
		if (t->start_ns == t->start_written)
			continue;
		if (store_writer_thread(c->store, t->pid, t->tid, t->name, t->start_ns, INT64_MIN,
					0, 0))
			fail(c, "cannot write a thread");
		t->start_written = t->start_ns;
	}
}

/*
 * Commits every second or every COMMIT_EVERY_EVENTS events, in smaller
 * steps early on (1024, 2048, ...) so that a disk which fills up early
 * still keeps the first events. Called between segments too: when the
 * writer is behind (valgrind, a loaded machine) one batch holds far more
 * events than one transaction should, and the whole transaction is lost
 * when its commit fails.
 */
static void maybe_commit(struct collect *c)
{
	int64_t now = (int64_t)(weft_mono_ns() - c->start_mono_ns);
	uint64_t step = W.commit_step ? W.commit_step : 1024;
	if (now - W.last_commit_ns <= COMMIT_EVERY_NS &&
	    c->events_written - W.last_commit_events <= step)
		return;
	W.last_commit_ns = now;
	W.last_commit_events = c->events_written;
	if (step < COMMIT_EVERY_EVENTS)
		W.commit_step = step * 2;
	write_thread_starts(c);
	if (store_writer_commit(c->store))
		fail(c, "cannot commit");
}

/* A batch the writer is done with goes back to the collector's spares (collect.h). */
static void batch_done(struct collect *c, struct collect_batch *b)
{
	pthread_mutex_lock(&c->lock);
	b->next = c->spare_batches;
	c->spare_batches = b;
	pthread_mutex_unlock(&c->lock);
}

static void *writer_main(void *arg)
{
	struct collect *c = arg;
	/*
	 * The traced program comes first: on a busy machine the writer only
	 * takes idle CPU, and catches up from the in-memory backlog later.
	 */
	struct sched_param sp = {0};
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	uint64_t last_work = weft_mono_ns(), last_check = 0;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (!c->queue_head && !c->writer_stop) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 500 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&c->cond, &c->lock, &until);
			/*
			 * Quiet for two seconds with threads blocked on locks: look for a
			 * cycle, and again every second while it stays quiet (a thread of
			 * the cycle may not have been asleep yet at the first look).
			 */
			uint64_t now = weft_mono_ns();
			if (!c->queue_head && now - last_work > 2000000000ull &&
			    now - last_check > 1000000000ull) {
				last_check = now;
				pthread_mutex_unlock(&c->lock);
				deadlock_check(c);
				pthread_mutex_lock(&c->lock);
			}
		}
		struct collect_batch *b = c->queue_head;
		if (b) {
			c->queue_head = b->next;
			if (!c->queue_head)
				c->queue_tail = NULL;
		}
		pthread_mutex_unlock(&c->lock);
		if (!b)
			break; /* stop requested and nothing left */
		if (store_writer_interrupted(c->store)) {
			/* The user stopped the final flush: what is queued is dropped. */
			batch_done(c, b);
			continue;
		}
		uint64_t t0 = weft_mono_ns();
		const struct collect_clock clk = b->clock;
		uint64_t spilled = 0;
		for (size_t i = 0; i < b->nsegs && !store_writer_interrupted(c->store); i++) {
			const struct collect_seg *sg = &b->segs[i];
			if (sg->ctl) {
				handle_ctl(c, sg);
			} else if (sg->spilled) {
				const uint64_t *w = read_spilled(c, sg);
				if (w)
					parse_segment(c, &clk, sg, w);
				spilled += sg->nwords * 8;
			} else {
				parse_segment(c, &clk, sg, &b->words[sg->off]);
			}
			if (!sg->ctl)
				__atomic_add_fetch(&progress_words, sg->nwords, __ATOMIC_RELAXED);
			maybe_commit(c);
		}
		if (b->horizon_ns != INT64_MIN) {
			move_late_held(c);
			if (store_writer_horizon(c->store, b->horizon_ns))
				fail(c, "cannot write events");
		}
		last_work = weft_mono_ns();
		c->writer_busy_ns += last_work - t0;
		pthread_mutex_lock(&c->lock);
		c->queued_bytes -= b->nwords * 8 + b->nsegs * sizeof(*b->segs);
		if (spilled) {
			c->spill_pending -= spilled;
			if (!c->spill_pending)
				c->spill_end = 0; /* the file's pages are used again */
		}
		pthread_mutex_unlock(&c->lock);
		batch_done(c, b);
		maybe_commit(c);
	}
	return NULL;
}

int writer_start(struct collect *c)
{
	memset(&W, 0, sizeof(W));
	the_collector = c;
	store_writer_hold(c->store);
	if (pthread_create(&c->writer, NULL, writer_main, c) != 0) {
		weft_error("cannot start the writer thread");
		return -1;
	}
	return 0;
}

/*
 * The writer runs at idle priority so it never takes CPU from the traced
 * program. When the program has gone quiet (blocked, perhaps deadlocked)
 * on a machine that is busy anyway, an idle-priority writer may get no CPU
 * at all and never notice the deadlock: while nothing arrives, it runs at
 * normal priority.
 */
void writer_set_urgent(struct collect *c, int urgent)
{
	struct sched_param sp = {0};
	pthread_setschedparam(c->writer, urgent ? SCHED_OTHER : SCHED_IDLE, &sp);
}

void writer_progress(struct collect *c, uint64_t *done, uint64_t *total, uint64_t *events)
{
	*done = __atomic_load_n(&progress_words, __ATOMIC_RELAXED);
	*total = __atomic_load_n(&c->drained_words, __ATOMIC_RELAXED);
	*events = __atomic_load_n(&c->events_written, __ATOMIC_RELAXED);
}

static const char *basename_of(const char *argv)
{
	const char *end = argv + strcspn(argv, " ");
	const char *s = argv;
	for (const char *p = argv; p < end; p++)
		if (*p == '/')
			s = p + 1;
	return s;
}

/*
 * process.exit events written with an unknown status get the reaped one
 * (-N for a signal); spawns through system()/popen() get the shell's pid.
 */
/* clang-format off */
static const char fix_args_sql[] =
    "UPDATE ev SET arg = (SELECT coalesce(exit_code, -exit_signal) FROM proc"
    " WHERE proc.pid = (SELECT pid FROM thread_no n WHERE n.th = ev.th))"
    " WHERE id BETWEEN %lld AND %lld AND kind = %d AND arg = -1 AND"
    " (SELECT coalesce(exit_code, -exit_signal) FROM proc"
    " WHERE proc.pid = (SELECT pid FROM thread_no n WHERE n.th = ev.th)) IS NOT NULL"
    " RETURNING id, arg;"
    "UPDATE ev SET arg = coalesce((SELECT p.pid FROM proc p WHERE"
    " p.ppid = (SELECT pid FROM thread_no n WHERE n.th = ev.th)"
    " AND p.start_ns >= ev.ts - 1000000 AND p.pid NOT IN (SELECT e2.arg FROM ev e2"
    " JOIN thread_no n2 ON n2.th = e2.th WHERE"
    " n2.pid = (SELECT pid FROM thread_no n WHERE n.th = ev.th)"
    " AND e2.kind IN (%d, %d) AND e2.arg > 0)"
    " ORDER BY p.start_ns LIMIT 1), 0) WHERE id BETWEEN %lld AND %lld AND kind = %d AND arg = 0"
    " RETURNING id, arg;";
/* clang-format on */

/* A row fix_args_sql changed (its RETURNING row): the follower's copy in memory changes too. */
static int changed_arg(void *store, int n, char **v, char **names)
{
	(void)names;
	if (n == 2 && v[0] && v[1])
		store_writer_row_arg(store, strtoll(v[0], NULL, 10), strtoll(v[1], NULL, 10));
	return 0;
}

static void fix_args(struct collect *c, sqlite3 *db)
{
	/* Only the ids that can hold such rows: two scans of ev were 0.3 s on 8M events. */
	int64_t lo, hi, rows = 0;
	size_t n = 0;
	uint64_t t0 = weft_mono_ns();
	for (; store_writer_fix_range(c->store, n, &lo, &hi); n++) {
		char *sql = sqlite3_mprintf(fix_args_sql, (long long)lo, (long long)hi,
					    WEFT_EV_PROCESS_EXIT, WEFT_EV_PROCESS_FORK,
					    WEFT_EV_PROCESS_SPAWN, (long long)lo, (long long)hi,
					    WEFT_EV_PROCESS_SPAWN);
		if (sql)
			sqlite3_exec(db, sql, changed_arg, c->store, NULL);
		sqlite3_free(sql);
		rows += hi - lo + 1;
	}
	if (n)
		store_debug("finalize",
			    "exit statuses and spawned pids: %lld rows in %zu ranges, %.3f s",
			    (long long)rows, n, (weft_mono_ns() - t0) / 1e9);
}

/*
 * WEFT_TEST_FINALIZE_PAUSE: the tests' way to signal weft during its final
 * flush deterministically. It says so on stderr and waits; "1" until
 * interrupted, "2" for good (a step that does not look at the flag, so
 * only a second signal ends weft).
 */
static void test_pause(struct collect *c)
{
	const char *p = getenv("WEFT_TEST_FINALIZE_PAUSE");
	if (!p || !*p)
		return;
	fprintf(stderr, "weft: test: final flush paused\n");
	while (*p == '2' || !store_writer_interrupted(c->store)) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

int writer_stop_and_join(struct collect *c)
{
	test_pause(c);
	pthread_mutex_lock(&c->lock);
	c->writer_stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->writer, NULL);
	/* Buffered rows first: the updates below read the table. */
	move_late_held(c);
	if (store_writer_horizon(c->store, INT64_MAX) || store_writer_commit(c->store))
		fail(c, "cannot commit");

	/*
	 * A wait with __WALL (gdb's) also reaps the threads of the processes it
	 * traces: only an id known as a process otherwise (it connected, or a
	 * fork, spawn or plain reap named it) is a process.
	 */
	for (size_t i = 0; i < W.nclone_reaps; i++) {
		uint64_t *pi = hashmap_u64_get(&W.proc_by_pid, (uint64_t)W.clone_reaps[i].pid);
		if (pi)
			set_exit_status(&W.procs[*pi], W.clone_reaps[i].status);
	}
	for (size_t i = 0; i < W.nparent_names; i++) {
		uint64_t *pi = hashmap_u64_get(&W.proc_by_pid, (uint64_t)W.parent_names[i].pid);
		if (pi && !W.procs[*pi].name) {
			W.procs[*pi].name = W.parent_names[i].name;
			W.parent_names[i].name = NULL;
		}
	}
	for (size_t i = 0; i < W.nprocs; i++) {
		struct proc *p = &W.procs[i];
		/*
		 * Killed by weft, and its parent reaped it but died before saying
		 * so: SIGKILL is the only way such a process can have ended.
		 */
		if (p->killed && p->exit_code == INT64_MIN && p->exit_signal == INT64_MIN)
			p->exit_signal = SIGKILL;
		if (p->end_ns == INT64_MIN && p->start_ns != INT64_MIN)
			p->end_ns = W.max_ts;
		if (store_writer_process(c->store, p->pid, p->ppid, p->argv, p->start_ns, p->end_ns,
					 p->exit_code, p->exit_signal))
			fail(c, "cannot write a process");
	}
	for (size_t i = 0; i < W.nthrs; i++) {
		struct thr *t = &W.thrs[i];
		char name[256];
		const char *nm = t->name;
		/* Blocked on a lock to the end (a deadlock stopped), or in a Python
		 * named wait at exit: it lived as long as its process. */
		uint64_t *pe = hashmap_u64_get(&W.proc_by_pid, (uint64_t)t->pid);
		if (!t->ended && (t->wait_obj || t->blocked_at_exit) && pe &&
		    W.procs[*pe].end_ns > t->end_ns)
			t->end_ns = W.procs[*pe].end_ns;
		/* A thread nobody named carries its process's name, as in the kernel. */
		if (!nm) {
			uint64_t *pi = hashmap_u64_get(&W.proc_by_pid, (uint64_t)t->pid);
			if (pi && W.procs[*pi].argv) {
				const char *b = basename_of(W.procs[*pi].argv);
				snprintf(name, sizeof(name), "%.*s", (int)strcspn(b, " "), b);
				nm = name;
			}
		}
		if (store_writer_thread(c->store, t->pid, t->tid, nm, t->start_ns, t->end_ns,
					t->unrecorded, t->waits))
			fail(c, "cannot write a thread");
	}
	sqlite3 *db = store_writer_db(c->store);
	sqlite3_stmt *up = NULL;
	/* From here on statements read all of ev: interruptible, after a commit. */
	if (store_writer_tail(c->store) && !store_writer_interrupted(c->store))
		fail(c, "cannot commit");
	if (!store_writer_interrupted(c->store))
		fix_late_objects(c, db);
	if (sqlite3_prepare_v2(db, "UPDATE thr SET py_ident = ? WHERE pid = ? AND tid = ?", -1, &up,
			       NULL) == SQLITE_OK) {
		for (size_t i = 0; i < W.nthrs; i++) {
			if (!W.thrs[i].py_ident)
				continue;
			sqlite3_bind_int64(up, 1, W.thrs[i].py_ident);
			sqlite3_bind_int(up, 2, W.thrs[i].pid);
			sqlite3_bind_int(up, 3, W.thrs[i].tid);
			sqlite3_step(up);
			sqlite3_reset(up);
		}
	}
	sqlite3_finalize(up);
	up = NULL;
	if (sqlite3_prepare_v2(db, "UPDATE proc SET name = ? WHERE pid = ?", -1, &up, NULL) ==
	    SQLITE_OK) {
		for (size_t i = 0; i < W.nprocs; i++) {
			if (!W.procs[i].name)
				continue;
			sqlite3_bind_text(up, 1, W.procs[i].name, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(up, 2, W.procs[i].pid);
			sqlite3_step(up);
			sqlite3_reset(up);
		}
	}
	sqlite3_finalize(up);
	if (!store_writer_interrupted(c->store))
		fix_args(c, db);
	char num[32];
	snprintf(num, sizeof(num), "%lld", (long long)W.max_ts);
	store_writer_meta(c->store, "end_ns", num);

	for (struct collect_image *img = c->images; img; img = img->next) {
		struct image_state *st = img->writer_state;
		if (st) {
			for (size_t k = 0; k < st->ncodes; k++) {
				free(st->codes[k].function);
				free(st->codes[k].file);
			}
			free(st->codes);
			sym_close(st->sym);
			hashmap_u64_free(&st->objs);
			hashmap_str_free(&st->stacks);
			free(st);
			img->writer_state = NULL;
		}
	}
	for (size_t i = 0; i < W.nprocs; i++) {
		free(W.procs[i].argv);
		free(W.procs[i].name);
	}
	for (size_t i = 0; i < W.nthrs; i++)
		free(W.thrs[i].name);
	free(W.procs);
	free(W.thrs);
	free(W.clone_reaps);
	for (size_t i = 0; i < W.nparent_names; i++)
		free(W.parent_names[i].name);
	free(W.parent_names);
	for (size_t i = 0; i < W.nobjs; i++)
		free(W.objs[i].name);
	free(W.objs);
	free(W.fixups);
	hashmap_u64_free(&W.proc_by_pid);
	hashmap_u64_free(&W.thr_by_key);
	hashmap_str_free(&W.stacks);
	hashmap_str_free(&W.meta_times);
	if (c->writer_failed) {
		weft_error("%s", c->writer_error);
		return -1;
	}
	return 0;
}
