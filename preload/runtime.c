/*
 * The recorder: start-up, the connection to the collector, per-process
 * chunks of per-thread rings, and weft_record() itself.
 *
 * Hot path (weft_record): no locks, no malloc, no stdio. Claiming a ring is
 * a CAS over the slots; writing a record is a copy into the ring and one
 * release store of the head.
 */
#include "preload/preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

__thread struct weft_tls weft_tls __attribute__((tls_model("initial-exec")));

volatile int weft_on;
int weft_stacks = WEFT_STACKS_CALLER;
int weft_use_tsc;
int weft_pthread_tid_off = -1;
int weft_races_on;
int weft_sock_fd = -1;

/*
 * The registered observers, and the one that gives each hot member: those
 * are called straight from these copies, without a loop or a NULL check.
 */
static struct weft_observer observers[WEFT_MAX_OBSERVERS];
static int nobservers;
static struct weft_observer hot;

static struct weft_chunk *chunks[WEFT_MAX_CHUNKS];
static unsigned nchunks;
static int chunk_lock; /* our own spin lock: never a pthread call inside the recorder */
static int my_pid;
static uint64_t image_id;
static pid_t collector_pid;
static pthread_key_t thread_key;
static uintptr_t self_lo, self_hi; /* our own text, skipped in stacks */

/* Saved at start-up: the program may unset them, exec re-injects them. */
static char env_sock[160], env_stacks[48], env_collector[48], env_lib[1024], env_clock[32];
static char env_races[4096]; /* WEFT_RACES=scope: the Python race detector is on */
static char env_preload[1100];
static char sock_name[160]; /* abstract address, without the leading NUL */
static const char *lib_path;

static void diag(const char *msg)
{
	/* Async-signal-safe: no stdio. */
	char buf[256];
	size_t n = 0;
	const char *pre = "weft: ";
	while (*pre && n < sizeof(buf) - 2)
		buf[n++] = *pre++;
	while (*msg && n < sizeof(buf) - 2)
		buf[n++] = *msg++;
	buf[n++] = '\n';
	ssize_t r = write(2, buf, n);
	(void)r;
}

/* Not syscall(): hooks_process.c hooks it, and runtime.c calls no other file of the library. */
static int sys_gettid(void)
{
	return (int)gettid();
}

static void spin_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void switch_off(void)
{
	weft_on = 0;
}

/* ---- talking to the collector ---------------------------------------- */

/* The program's argv from /proc: at start-up the process is ours to read. */
static size_t read_cmdline(char *buf, size_t len)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t n = 0;
	while (n < len) {
		ssize_t r = read(fd, buf + n, len - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	REAL(close)(fd);
	return n;
}

static int image_forked;

/* The header of every message this image sends; the collector reads flags from the first. */
static struct weft_hello hello_of(uint32_t chunk_index)
{
	return (struct weft_hello){.magic = WEFT_CHUNK_MAGIC,
				   .version = WEFT_WIRE_VERSION,
				   .pid = my_pid,
				   .flags = image_forked ? WEFT_HELLO_FORKED : 0,
				   .image_id = image_id,
				   .chunk_index = chunk_index};
}

static int send_hello(int chunk_fd, uint32_t chunk_index, int with_argv)
{
	char msg[sizeof(struct weft_hello) + 8192];
	struct weft_hello *h = (struct weft_hello *)msg;
	*h = hello_of(chunk_index);
	size_t argv_len = with_argv ? read_cmdline(msg + sizeof(*h), 8192) : 0;

	struct iovec iov = {msg, sizeof(*h) + argv_len};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {0};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (chunk_fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &chunk_fd, sizeof(int));
	}
	ssize_t r;
	do
		r = sendmsg(weft_sock_fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

/*
 * Only weft's collector may receive our argv, map and rings: a listener
 * of another user (one that took the socket's name after weft died) is
 * refused. The kernel gives the listener's credentials; its pid is 0 when
 * the collector lives outside our pid namespace.
 */
static int collector_is_genuine(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return 0;
	/* Root may trace a program that dropped its privileges (and could read us anyway). */
	if (cr.uid != geteuid() && cr.uid != 0)
		return 0;
	return cr.pid == 0 || !collector_pid || cr.pid == collector_pid;
}

static int connect_to(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, len) < 0 || !collector_is_genuine(fd)) {
		REAL(close)(fd);
		return -1;
	}
	return fd;
}

/*
 * Waits for the collector's welcome (struct weft_welcome): it comes once
 * the collector has checked who we are. Returns 0, or -1 when it refused
 * us, went away or took longer than WEFT_WELCOME_TIMEOUT_S.
 */
static int await_welcome(void)
{
	struct timeval tv = {WEFT_WELCOME_TIMEOUT_S, 0};
	setsockopt(weft_sock_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct weft_welcome wm;
	ssize_t r;
	do
		r = recv(weft_sock_fd, &wm, sizeof(wm), 0);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)sizeof(wm) && wm.magic == WEFT_CHUNK_MAGIC &&
		       wm.version == WEFT_WIRE_VERSION
		   ? 0
		   : -1;
}

/*
 * Connects to the collector, introduces this image (argv) and waits to be
 * let in; the fd is moved high, out of the program's way. The socket is a
 * file in a directory only weft's user can enter, which processes in
 * other network namespaces still reach; the abstract name is the fallback
 * for a process that cannot see that directory (another mount namespace).
 * Returns 0, or -1 (the process runs untraced).
 */
static int connect_collector(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(sock_name);
	if (!len || len + 1 >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, sock_name, len);
	int fd = connect_to(&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1));
	if (fd < 0) {
		memset(sa.sun_path, 0, sizeof(sa.sun_path));
		memcpy(sa.sun_path + 1, sock_name, len);
		fd = connect_to(&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len));
	}
	if (fd < 0)
		return -1;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 700);
	if (high >= 0) {
		REAL(close)(fd);
		fd = high;
	}
	weft_sock_fd = fd;
	if (send_hello(-1, WEFT_HELLO_FIRST, 1) < 0 || await_welcome() < 0) {
		REAL(close)(fd);
		weft_sock_fd = -1;
		return -1;
	}
	return 0;
}

static uint64_t random_id(void)
{
	uint64_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, &v, sizeof(v));
		(void)r;
		REAL(close)(fd);
	}
	return v ^ __rdtsc() ^ ((uint64_t)my_pid << 32);
}

/* Allocates chunk number nchunks and hands it to the collector. Caller holds chunk_lock. */
static struct weft_chunk *new_chunk(void)
{
	if (nchunks >= WEFT_MAX_CHUNKS)
		return NULL;
	int fd = memfd_create("weft", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return NULL;
	struct weft_chunk *c = MAP_FAILED;
	/* Sealed at its size: the collector maps only chunks that can never shrink under it. */
	if (ftruncate(fd, (off_t)weft_chunk_bytes()) == 0 &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
		c = mmap(NULL, weft_chunk_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED) {
		REAL(close)(fd);
		return NULL;
	}
	c->magic = WEFT_CHUNK_MAGIC;
	c->version = WEFT_WIRE_VERSION;
	c->pid = my_pid;
	c->ppid = getppid();
	c->index = nchunks;
	c->clock = (uint32_t)weft_use_tsc;
	c->image_id = image_id;
	int sent = send_hello(fd, nchunks, 0);
	if (sent < 0 && (errno == EBADF || errno == ENOTCONN || errno == EPIPE ||
			 errno == ECONNRESET || errno == ENOTSOCK)) {
		/*
		 * The program closed our connection behind our back (a raw
		 * close_range(2) in a daemon): connect again as the same image,
		 * which the collector re-attaches, and resend.
		 */
		weft_sock_fd = -1;
		if (connect_collector() == 0)
			sent = send_hello(fd, nchunks, 0);
	}
	if (sent < 0) {
		munmap(c, weft_chunk_bytes());
		REAL(close)(fd);
		return NULL;
	}
	REAL(close)(fd); /* the collector holds its own copy */
	__atomic_store_n(&chunks[nchunks], c, __ATOMIC_RELEASE);
	__atomic_store_n(&nchunks, nchunks + 1, __ATOMIC_RELEASE);
	return c;
}

/*
 * Calls lost because this process has no ring at all (memfd_create or mmap
 * failed: descriptors exhausted, a sandbox). With no shared memory to
 * count them in, the running total goes to the collector over the socket
 * at each power of two and at exit, so the trace never loses them silently.
 */
static uint64_t unringed;

static void send_lost(uint64_t total)
{
	struct weft_hello h = hello_of(WEFT_HELLO_LOST);
	h.lost = total;
	if (weft_sock_fd >= 0)
		send(weft_sock_fd, &h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void count_unringed(void)
{
	uint64_t n = __atomic_add_fetch(&unringed, 1, __ATOMIC_RELAXED);
	if (!(n & (n - 1)))
		send_lost(n);
}

void weft_flush_lost(void)
{
	uint64_t n = __atomic_load_n(&unringed, __ATOMIC_RELAXED);
	if (n && (n & (n - 1)))
		send_lost(n);
}

static int try_claim(struct weft_chunk *c, struct weft_tls *t)
{
	for (unsigned i = 0; i < WEFT_SLOTS_PER_CHUNK; i++) {
		struct weft_slot *s = &c->slots[i];
		uint32_t expect = WEFT_SLOT_FREE;
		if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != WEFT_SLOT_FREE)
			continue;
		if (!__atomic_compare_exchange_n(&s->state, &expect, WEFT_SLOT_OWNED, 0,
						 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		s->tid = t->tid;
		s->generation++;
		t->slot = s;
		t->ring = weft_slot_ring(c, i);
		t->head = __atomic_load_n(&s->head, __ATOMIC_RELAXED);
		t->tail_cache = __atomic_load_n(&s->tail, __ATOMIC_ACQUIRE);
		t->populated = s->populated;
		/* A fresh ring's first record carries its ts and object in full. */
		t->have_ts = 0;
		t->last_obj = 0;
		t->last_frame = t->prev_frame = 0;
		return 1;
	}
	return 0;
}

/* Gives the calling thread a ring. Returns 0, or -1 when tracing must stop. */
static int claim_slot(struct weft_tls *t)
{
	if (!t->tid)
		t->tid = sys_gettid();
	for (;;) {
		unsigned n = __atomic_load_n(&nchunks, __ATOMIC_ACQUIRE);
		for (unsigned i = 0; i < n; i++)
			if (try_claim(chunks[i], t))
				goto claimed;
		spin_lock(&chunk_lock);
		int grew = nchunks > n;
		struct weft_chunk *c = grew ? chunks[nchunks - 1] : new_chunk();
		spin_unlock(&chunk_lock);
		if (!c)
			return -1;
		if (!grew && try_claim(c, t))
			goto claimed;
	}
claimed:
	/* Re-arming the key makes its destructor retire the ring at thread exit. */
	pthread_setspecific(thread_key, t->slot);
	return 0;
}

int weft_observe(const struct weft_observer *o)
{
	if (nobservers >= WEFT_MAX_OBSERVERS)
		return -1;
	observers[nobservers++] = *o;
	if (o->sync)
		hot.sync = o->sync;
	if (o->frames)
		hot.frames = o->frames;
	if (o->let_out_held)
		hot.let_out_held = o->let_out_held;
	return 0;
}

/* Tells every observer that has it: lifecycle events, rare, so a loop. */
#define EACH_OBSERVER(member)                                                                      \
	do {                                                                                       \
		for (int i_ = 0; i_ < nobservers; i_++)                                            \
			if (observers[i_].member)                                                  \
				observers[i_].member();                                            \
	} while (0)

void weft_thread_retire(void)
{
	struct weft_tls *t = &weft_tls;
	EACH_OBSERVER(thread_end);
	if (!t->slot)
		return;
	__atomic_store_n(&t->slot->state, WEFT_SLOT_RETIRED, __ATOMIC_RELEASE);
	t->slot = NULL;
	t->ring = NULL;
	t->dead = 1;
}

/*
 * A thread's exit is its last act: after its start routine returned, the
 * C++ thread_local destructors and every thread-specific data destructor
 * (OpenSSL's and libunwind's per-thread cleanups take locks there) run
 * before it is gone. The first call, in the first round, puts the value
 * back so that glibc calls again in its next round, once the other keys'
 * destructors of the first have run with the ring still the thread's; the
 * second records thread.exit and retires the ring. Only a thread that
 * reached its end with a ring waits so: it was set before the first round,
 * so a next round is sure to come (one set in a late round might not get
 * one). Destructors of a later round still record into a ring of their
 * own, after the exit (the writer keeps those in order).
 */
static void thread_key_destructor(void *v)
{
	struct weft_tls *t = &weft_tls;
	if (t->exit_site && !t->exit_rearmed && t->slot == v && v) {
		t->exit_rearmed = 1;
		pthread_setspecific(thread_key, v);
		return;
	}
	if (t->slot && !t->exit_recorded && weft_on) {
		t->exit_recorded = 1;
		weft_record(&(struct weft_event){
		    .kind = WEFT_EV_THREAD_EXIT, .ts = weft_now(), .caller = t->exit_site});
	}
	weft_thread_retire();
}

/*
 * The collector is alive while our connection is: a pid would not do
 * (from inside a pid namespace weft's pid names nobody, or somebody else).
 */
static int collector_alive(void)
{
	if (__atomic_load_n(&chunks[0]->detached, __ATOMIC_RELAXED))
		return 0;
	struct pollfd pf = {weft_sock_fd, POLLRDHUP, 0};
	if (weft_sock_fd < 0 || poll(&pf, 1, 0) < 0)
		return !(kill(collector_pid, 0) < 0 && errno == ESRCH);
	return !(pf.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
}

/*
 * Waits until n words fit. The record's time stays announced meanwhile
 * (weft_slot.open_ts, set by record()). Returns 0, or -1 when the
 * collector is gone.
 */
static int wait_for_space(struct weft_tls *t, uint32_t n)
{
	struct timespec pause = {0, 50000};
	unsigned spins = 0;
	for (;;) {
		t->tail_cache = __atomic_load_n(&t->slot->tail, __ATOMIC_ACQUIRE);
		if (t->head + n - t->tail_cache <= WEFT_RING_WORDS)
			return 0;
		/* A wait once the ring is full at a fresh look, not for a stale cached tail. */
		if (!spins)
			t->slot->waits++;
		if ((++spins & 127) == 0 && !collector_alive())
			return -1;
		nanosleep(&pause, NULL);
	}
}

/* Drops our own frames (hooks, the thread trampoline): they mean nothing to the user. */
static int drop_own_frames(void **pcs, int n)
{
	int o = 0;
	for (int i = 0; i < n; i++)
		if (!((uintptr_t)pcs[i] >= self_lo && (uintptr_t)pcs[i] < self_hi))
			pcs[o++] = pcs[i];
	return o;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define POPULATE_MIN WEFT_RING_FIRST_WORDS /* 64 KiB first, doubling to 2 MiB */
#define POPULATE_MAX (1u << 18)

/*
 * Backs the next stretch of a fresh ring with pages in one call. Taking
 * the page faults one by one on shared memory costs microseconds each, and
 * would land on the traced program's calls.
 */
static void populate_ahead(struct weft_tls *t, uint64_t upto)
{
	while (t->populated < WEFT_RING_WORDS && t->populated < upto) {
		uint64_t step = t->populated < POPULATE_MIN ? POPULATE_MIN : t->populated;
		if (step > POPULATE_MAX)
			step = POPULATE_MAX;
		if (t->populated + step > WEFT_RING_WORDS)
			step = WEFT_RING_WORDS - t->populated;
		uint64_t *p = t->ring + t->populated;
		if (madvise(p, step * 8, MADV_POPULATE_WRITE) != 0) {
			for (size_t i = 0; i < step; i += 512)
				__atomic_store_n(&p[i], 0, __ATOMIC_RELAXED);
		}
		t->populated += step;
		__atomic_store_n(&t->slot->populated, t->populated, __ATOMIC_RELEASE);
	}
}

void weft_count_unrecorded(void)
{
	if (weft_tls.slot)
		__atomic_fetch_add(&weft_tls.slot->unrecorded, 1, __ATOMIC_RELAXED);
}

/*
 * The calling thread's stack for a record, into pcs (room for
 * WEFT_MAX_FRAMES + 8): in Python the Python frames first, they are what
 * the user wrote, then the call site or the native stack as the stack
 * mode says. Returns how many frames, at most WEFT_MAX_FRAMES.
 */
static inline __attribute__((always_inline)) int take_stack(uint8_t kind, void *caller, void **pcs)
{
	int nframes = 0, npy = 0;
	int gil_kind = (kind >= WEFT_EV_GIL_ACQUIRE && kind <= WEFT_EV_GIL_DROP_REQUEST) ||
		       kind == WEFT_EV_GIL_FORCED_SWITCH;
	if (weft_pyrt_len && weft_stacks != WEFT_STACKS_NONE && !gil_kind && kind < WEFT_REC_META) {
		int was_guarded = weft_enter();
		npy = hot.frames(pcs, WEFT_MAX_FRAMES / 2);
		weft_leave(was_guarded);
	}
	/*
	 * Below a Python frame, a call site inside the interpreter itself is
	 * always one of a few CPython functions (PyThread_acquire_lock_timed):
	 * the Python line is the call site, and the word is saved. A C
	 * extension's call site stays.
	 */
	if (npy && caller && (uintptr_t)caller - weft_pytext_lo < weft_pytext_len)
		caller = NULL;
	/*
	 * A thread that is ending (its start routine returned: exit_site) or
	 * whose ring was retired is running the keys' destructors, libunwind's
	 * among them, which takes a lock while it frees its per-thread cache:
	 * no unwinding inside libunwind's own teardown. Its call site is all
	 * those records get.
	 */
	int stacks = weft_stacks;
	if (stacks == WEFT_STACKS_FULL && WEFT_UNLIKELY(weft_tls.dead || weft_tls.exit_site))
		stacks = WEFT_STACKS_CALLER;
	if (stacks == WEFT_STACKS_CALLER && caller) {
		pcs[npy] = caller;
		nframes = npy + 1;
	} else if (stacks == WEFT_STACKS_CALLER) {
		nframes = npy;
	} else if (stacks == WEFT_STACKS_FULL) {
		int was_guarded = weft_enter();
		nframes = npy + unw_backtrace(pcs + npy, WEFT_MAX_FRAMES + 8 - npy);
		weft_leave(was_guarded);
		if (nframes < 0)
			nframes = 0;
		nframes = npy + drop_own_frames(pcs + npy, nframes - npy);
		if (nframes > WEFT_MAX_FRAMES)
			nframes = WEFT_MAX_FRAMES;
		if (nframes == 0 && caller) {
			pcs[0] = caller;
			nframes = 1;
		}
	}
	return nframes;
}

/* A record whose stack and object repeat the ring's: header, wait, arg (weft_ring_repeat). */
static inline __attribute__((always_inline)) int
write_repeat(struct weft_tls *t, const struct weft_event *ev, void *const *pcs, int nframes)
{
	return nframes == 1 && !ev->payload_len &&
	       weft_ring_repeat(t, ev->kind, ev->objkind, (uint64_t)(uintptr_t)ev->obj, ev->ts,
				ev->wait, ev->arg, (uint64_t)(uintptr_t)pcs[0]);
}

/*
 * Writes ev with its nframes frames at pcs into the thread's ring, waiting
 * for room while the collector drains it; switches tracing off when the
 * collector is gone.
 */
static inline __attribute__((always_inline)) void
write_record(struct weft_tls *t, const struct weft_event *ev, void *const *pcs, int nframes)
{
	uint32_t payload_len = ev->payload_len > 4096 ? 4096 : ev->payload_len;
	uint64_t ts = ev->ts;
	uint8_t flags = payload_len ? WEFT_RF_PAYLOAD : 0;
	uint64_t tsd = ts - t->last_ts; /* huge when ts went backwards: then in full */
	if (WEFT_UNLIKELY(!t->have_ts) || tsd > UINT32_MAX) {
		flags |= WEFT_RF_TS;
		tsd = 0;
	}
	uint64_t o = (uint64_t)(uintptr_t)ev->obj;
	if (o)
		flags |= o == t->last_obj ? WEFT_RF_SAMEOBJ : WEFT_RF_OBJ;
	if (ev->wait)
		flags |= WEFT_RF_WAIT;
	if (ev->arg)
		flags |= WEFT_RF_ARG;
	/* The same one-word stack as the ring's last: the header says so. */
	uint64_t frame = nframes == 1 ? (uint64_t)(uintptr_t)pcs[0] : 0;
	int written_frames = nframes;
	uint8_t frame_flag = frame ? weft_ring_frame_flag(t, frame) : 0;
	if (frame_flag) {
		flags |= frame_flag;
		written_frames = 0;
	}
	uint32_t n = weft_rec_words(flags, (uint8_t)written_frames, payload_len);
	if (WEFT_UNLIKELY(t->head + n - t->tail_cache > WEFT_RING_WORDS) &&
	    wait_for_space(t, n) < 0) {
		switch_off();
		return;
	}

	uint64_t *ring = t->ring;
	const uint64_t mask = WEFT_RING_WORDS - 1;
	uint64_t h = t->head;
	if (WEFT_UNLIKELY(h + n > t->populated) && t->populated < WEFT_RING_WORDS)
		populate_ahead(t, h + n);
	/*
	 * The ring is far larger than any cache: announce the lines we are
	 * about to write so the store does not stall on fetching them.
	 */
	__builtin_prefetch(&ring[(h + 64) & mask], 1, 0);
	struct weft_rec_header hdr = {ev->kind, ev->objkind, (uint8_t)written_frames, flags,
				      (uint32_t)tsd};
	uint64_t w0;
	memcpy(&w0, &hdr, 8);
	ring[h++ & mask] = w0;
	if (flags & WEFT_RF_TS)
		ring[h++ & mask] = ts;
	if (flags & WEFT_RF_OBJ)
		ring[h++ & mask] = o;
	if (ev->wait)
		ring[h++ & mask] = ev->wait;
	if (ev->arg)
		ring[h++ & mask] = (uint64_t)ev->arg;
	for (int i = 0; i < written_frames; i++)
		ring[h++ & mask] = (uint64_t)(uintptr_t)pcs[i];
	if (payload_len) {
		ring[h++ & mask] = payload_len;
		for (uint32_t off = 0; off < payload_len; off += 8) {
			uint64_t w = 0;
			memcpy(&w, (const char *)ev->payload + off,
			       payload_len - off < 8 ? payload_len - off : 8);
			ring[h++ & mask] = w;
		}
	}
	t->last_ts = ts;
	t->have_ts = 1;
	if (o)
		t->last_obj = o;
	if (frame)
		weft_ring_frame_seen(t, frame);
	t->head = h;
	__atomic_store_n(&t->slot->head, h, __ATOMIC_RELEASE);
}

/* pthread-level synchronization orders memory for the race detector (semaphores: hooks). */
static inline __attribute__((always_inline)) void observe_sync(const struct weft_event *ev)
{
	uint8_t kind = ev->kind, objkind = ev->objkind;
	if (objkind < WEFT_OBJ_MUTEX || objkind > WEFT_OBJ_COND || objkind == WEFT_OBJ_SEMAPHORE)
		return;
	if (kind == WEFT_EV_LOCK_ACQUIRE || kind == WEFT_EV_COND_WAIT)
		hot.sync(1, ev->obj, objkind != WEFT_OBJ_COND);
	else if (kind == WEFT_EV_LOCK_RELEASE || kind == WEFT_EV_COND_SIGNAL ||
		 kind == WEFT_EV_COND_BROADCAST)
		hot.sync(0, ev->obj, objkind != WEFT_OBJ_COND);
}

/* given: a stack the caller took itself (a race's, whatever the stack mode), or NULL. */
static inline __attribute__((always_inline)) void record(const struct weft_event *ev,
							 void *const *given, int ngiven)
{
	struct weft_tls *t = &weft_tls;
	if (t->guard) {
		if (!t->internal)
			weft_count_unrecorded();
		return;
	}
	if (WEFT_UNLIKELY(t->py_nheld))
		hot.let_out_held(); /* they come before this one */
	/* errno's address is fixed per thread: two memory accesses instead of two calls. */
	int *errno_p = t->errno_p;
	if (WEFT_UNLIKELY(!errno_p))
		errno_p = t->errno_p = &errno;
	int saved_errno = *errno_p;
	if (WEFT_UNLIKELY(weft_races_on))
		observe_sync(ev);
	t->guard = 1;
	if (WEFT_UNLIKELY(!t->slot) && claim_slot(t) < 0) {
		/* No ring for this thread (thousands live, or no memfd): count, keep going. */
		if (nchunks)
			__atomic_fetch_add(&chunks[0]->lost, 1, __ATOMIC_RELAXED);
		else
			count_unringed();
		goto out;
	}
	/* Cleared at out: once published (see weft_slot.open_ts). */
	__atomic_store_n(&t->slot->open_ts, ev->ts ? ev->ts : 1, __ATOMIC_RELAXED);
	void *pcs[WEFT_MAX_FRAMES + 8];
	int nframes;
	if (given) {
		nframes = ngiven < WEFT_MAX_FRAMES ? ngiven : WEFT_MAX_FRAMES;
		memcpy(pcs, given, (size_t)nframes * sizeof(void *));
	} else {
		nframes = take_stack(ev->kind, ev->caller, pcs);
		if (write_repeat(t, ev, pcs, nframes))
			goto out;
	}
	write_record(t, ev, pcs, nframes);
out:
	if (t->slot)
		__atomic_store_n(&t->slot->open_ts, 0, __ATOMIC_RELEASE);
	t->guard = 0;
	*errno_p = saved_errno;
}

void weft_record_members(uint8_t kind, uint8_t objkind, const void *obj, uint64_t ts, uint64_t wait,
			 int64_t arg, void *caller, const void *payload, uint32_t payload_len)
{
	struct weft_event ev = {.kind = kind,
				.objkind = objkind,
				.obj = obj,
				.ts = ts,
				.wait = wait,
				.arg = arg,
				.caller = caller,
				.payload = payload,
				.payload_len = payload_len};
	record(&ev, NULL, 0);
}

void weft_record_frames(const struct weft_event *ev, void *const *pcs, int n)
{
	static void *const none[1];
	record(ev, n > 0 ? pcs : none, n > 0 ? n : 0);
}

/* ---- struct pthread's tid --------------------------------------------- */

/*
 * glibc fills struct pthread's tid field before pthread_create returns
 * (CLONE_PARENT_SETTID), so reading it gives the new thread's tid without
 * making the creator wait. Its offset is found once by looking for our own
 * tid in our own descriptor, and checked again in every new thread.
 */
static void find_tid_offset(void)
{
	const int *p = (const int *)pthread_self();
	int tid = sys_gettid();
	for (int i = 0; i < 512; i++) {
		if (p[i] == tid) {
			weft_pthread_tid_off = i * (int)sizeof(int);
			return;
		}
	}
}

int weft_thread_tid(pthread_t t)
{
	if (weft_pthread_tid_off < 0 || !t)
		return 0;
	return *(const volatile int *)((const char *)t + weft_pthread_tid_off);
}

/* ---- environment re-injection ----------------------------------------- */

size_t weft_env_count(char *const envp[])
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	return n;
}

int weft_env_intact(char *const envp[])
{
	int sock = 0, lib = 0;
	for (size_t i = 0; envp && envp[i]; i++) {
		if (!strcmp(envp[i], env_sock))
			sock = 1;
		else if (!strncmp(envp[i], "LD_PRELOAD=", 11) && strstr(envp[i] + 11, lib_path))
			lib = 1;
	}
	return sock && lib;
}

static int is_ours(const char *e)
{
	return !strncmp(e, "WEFT_", 5) || !strncmp(e, "LD_PRELOAD=", 11);
}

/*
 * Copies envp into buf (room for n entries, n >= count + 8) with the
 * tracer's variables put back and our library first in LD_PRELOAD; other
 * LD_PRELOAD entries the program set are kept. ldbuf holds the new
 * LD_PRELOAD string.
 */
char **weft_env_fix(char *const envp[], char **buf, size_t n, char *ldbuf, size_t ldlen)
{
	size_t o = 0;
	const char *other_preload = NULL;
	for (size_t i = 0; envp && envp[i] && o + 8 < n; i++) {
		if (!strncmp(envp[i], "LD_PRELOAD=", 11))
			other_preload = envp[i] + 11;
		if (!is_ours(envp[i]))
			buf[o++] = envp[i];
	}
	if (!env_sock[0]) {
		/* Not tracing: keep the program's environment as it was. */
		if (other_preload && o + 1 < n) {
			snprintf(ldbuf, ldlen, "LD_PRELOAD=%s", other_preload);
			buf[o++] = ldbuf;
		}
		buf[o] = NULL;
		return buf;
	}
	size_t l = (size_t)snprintf(ldbuf, ldlen, "%s", env_preload);
	/* Keep the program's own preloads, minus ours. */
	if (other_preload) {
		const char *p = other_preload;
		while (*p && l + 2 < ldlen) {
			size_t seg = strcspn(p, ": ");
			if (seg && !(seg == strlen(lib_path) && !strncmp(p, lib_path, seg)) &&
			    l + seg + 2 < ldlen) {
				ldbuf[l++] = ':';
				memcpy(ldbuf + l, p, seg);
				l += seg;
				ldbuf[l] = 0;
			}
			p += seg;
			while (*p == ':' || *p == ' ')
				p++;
		}
	}
	buf[o++] = ldbuf;
	buf[o++] = env_sock;
	buf[o++] = env_stacks;
	buf[o++] = env_collector;
	buf[o++] = env_lib;
	if (env_clock[0])
		buf[o++] = env_clock;
	if (env_races[0])
		buf[o++] = env_races;
	buf[o] = NULL;
	return buf;
}

static int save_env(const char *name, char *dst, size_t len)
{
	const char *v = getenv(name);
	if (!v)
		return -1;
	if ((size_t)snprintf(dst, len, "%s=%s", name, v) >= len)
		return -1;
	return 0;
}

/* ---- start-up and fork ------------------------------------------------- */

static int find_self_range(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t probe = (uintptr_t)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (probe >= lo && probe < hi && (ph->p_flags & PF_X)) {
			self_lo = lo;
			self_hi = hi;
			return 1;
		}
	}
	return 0;
}

/*
 * Sends our memory map in pieces: a short-lived process is gone before the
 * collector could read /proc/PID/maps, and its stacks need it.
 */
static void send_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char msg[sizeof(struct weft_hello) + 16384];
	struct weft_hello *h = (struct weft_hello *)msg;
	*h = hello_of(WEFT_HELLO_MAPS);
	size_t fill = 0;
	for (;;) {
		ssize_t r = read(fd, msg + sizeof(*h) + fill, sizeof(msg) - sizeof(*h) - fill);
		if (r > 0)
			fill += (size_t)r;
		/* Whole lines per message; the last piece goes when the file ends. */
		if (r <= 0 || fill == sizeof(msg) - sizeof(*h)) {
			size_t cut = fill;
			if (r > 0)
				while (cut && msg[sizeof(*h) + cut - 1] != '\n')
					cut--;
			if (!cut)
				cut = fill;
			if (cut && send(weft_sock_fd, msg, sizeof(*h) + cut, MSG_NOSIGNAL) < 0)
				break;
			memmove(msg + sizeof(*h), msg + sizeof(*h) + cut, fill - cut);
			fill -= cut;
			if (r <= 0 && !fill)
				break;
		}
	}
	REAL(close)(fd);
}

/* Opens the process's connection: a hello with argv and the map, buffers come lazily. */
static int start_process(void)
{
	my_pid = getpid();
	image_id = random_id();
	if (connect_collector() < 0)
		return -1;
	send_maps();
	return 0;
}

void weft_after_fork_child(void)
{
	/* The parent's chunks are shared memory: never write into them again. */
	for (unsigned i = 0; i < nchunks; i++)
		munmap(chunks[i], weft_chunk_bytes());
	memset(chunks, 0, sizeof(chunks));
	nchunks = 0;
	chunk_lock = 0;
	unringed = 0;
	struct weft_tls *t = &weft_tls;
	t->slot = NULL;
	t->ring = NULL;
	t->head = t->tail_cache = 0;
	t->tid = sys_gettid();
	t->exit_recorded = 0;
	t->exit_site = NULL;
	t->exit_rearmed = 0;
	t->dead = 0;
	t->guard = 0;
	EACH_OBSERVER(after_fork_child);
	if (weft_sock_fd >= 0) {
		REAL(close)(weft_sock_fd);
		weft_sock_fd = -1;
	}
	if (!weft_on)
		return;
	weft_on = 0;
	image_forked = 1;
	if (start_process() == 0)
		weft_on = 1;
}

static void after_fork_parent(void)
{
	EACH_OBSERVER(after_fork_parent);
}

int weft_start(void)
{
	weft_real_resolve();
	/* A setuid/setgid program must not trust its environment, ours included. */
	if (getauxval(AT_SECURE))
		return -1;
	if (save_env(WEFT_ENV_SOCK, env_sock, sizeof(env_sock)) < 0 ||
	    save_env(WEFT_ENV_LIB, env_lib, sizeof(env_lib)) < 0)
		return -1;
	save_env(WEFT_ENV_STACKS, env_stacks, sizeof(env_stacks));
	save_env(WEFT_ENV_COLLECTOR, env_collector, sizeof(env_collector));
	save_env("WEFT_CLOCK", env_clock, sizeof(env_clock));
	save_env("WEFT_RACES", env_races, sizeof(env_races));
	lib_path = env_lib + strlen(WEFT_ENV_LIB) + 1;
	snprintf(env_preload, sizeof(env_preload), "LD_PRELOAD=%s", lib_path);
	snprintf(sock_name, sizeof(sock_name), "%s", env_sock + strlen(WEFT_ENV_SOCK) + 1);

	const char *v = getenv(WEFT_ENV_STACKS);
	if (v && !strcmp(v, "none"))
		weft_stacks = WEFT_STACKS_NONE;
	else if (v && !strcmp(v, "full"))
		weft_stacks = WEFT_STACKS_FULL;
	v = getenv(WEFT_ENV_COLLECTOR);
	collector_pid = v ? (pid_t)atoi(v) : 0;
	v = getenv("WEFT_CLOCK");
	weft_use_tsc = v && !strcmp(v, "tsc");

	dl_iterate_phdr(find_self_range, (void *)(uintptr_t)&weft_start);
	find_tid_offset();
	if (pthread_key_create(&thread_key, thread_key_destructor) != 0)
		return -1;
	pthread_atfork(NULL, after_fork_parent, weft_after_fork_child);

	int rc = start_process();
	if (rc < 0) {
		diag("cannot reach the collector; this process is not traced");
		return -1;
	}
	if (weft_stacks == WEFT_STACKS_FULL)
		unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	weft_on = 1;
	return 0;
}
