/*
 * The collector's main-thread half: the socket traced processes connect
 * to, their ring chunks, and draining those rings into batches.
 */
#include "tracer/collect.h"
#include "tracer/pidns.h"
#include "tracer/cli.h"
#include "tracer/hashmap.h"
#include "store/store_debug.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define BATCH_SEGS 4096
#define BATCH_WORDS (1u << 20)

static void start_janitor(struct collect *c);
static int max_connections;

/* The spare batches the writer gave back, freed at the end. */
static void free_spare_batches(struct collect *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->spare_batches) {
		struct collect_batch *b = c->spare_batches;
		c->spare_batches = b->next;
		free(b->segs);
		if (b->words)
			munmap(b->words, b->cap_words * 8);
		free(b);
	}
	pthread_mutex_unlock(&c->lock);
}

static int64_t now_rel(const struct collect *c)
{
	return (int64_t)(weft_mono_ns() - c->start_mono_ns);
}

/* A TSC is usable when it ticks at a constant rate through sleep states. */
static int tsc_is_reliable(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	char line[4096];
	int ok = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
		break;
	}
	fclose(f);
	return ok;
}

/*
 * A TSC reading and CLOCK_MONOTONIC taken together: the pair whose two
 * TSC reads around the clock lie closest. Taken once, a preemption between
 * the two reads (milliseconds on a loaded machine) made the first estimate,
 * from 20 ms of history, several percent wrong, and the next one moved
 * records already converted by milliseconds: late rows, out of time order.
 */
static void clock_point(uint64_t *tick, uint64_t *mono)
{
	uint64_t best = UINT64_MAX;
	*tick = __rdtsc();
	*mono = weft_mono_ns();
	for (int i = 0; i < 16; i++) {
		uint64_t a = __rdtsc(), m = weft_mono_ns(), b = __rdtsc();
		if (b - a < best) {
			best = b - a;
			*tick = a + (b - a) / 2;
			*mono = m;
		}
		if (best < 20000) /* about 10 us */
			break;
	}
}

#define RECALIBRATION_NS 200000000ull
#define FIRST_CALIBRATION_NS 20000000ull

/*
 * Refines the tick rate from the whole history. The conversion stays
 * continuous: a batch converted after a new estimate must not land before
 * one converted earlier. So the new line starts where the old one is now,
 * with the rate that meets the fitted line one recalibration ahead.
 */
static void calibrate(struct collect *c)
{
	uint64_t t, m;
	clock_point(&t, &m);
	if (m - c->start_mono_ns < 1000000 || t <= c->tsc_start || t <= c->tsc0)
		return;
	double fit = (double)(m - c->start_mono_ns) / (double)(t - c->tsc_start);
	/* Before FIRST_CALIBRATION_NS no batch was converted: a fresh fit. */
	if (!c->ns_per_tick || c->cal_mono - c->start_mono_ns < FIRST_CALIBRATION_NS) {
		c->tsc0 = c->tsc_start;
		c->ns0 = 0;
		c->ns_per_tick = fit;
	} else {
		int64_t now_ns = c->ns0 + (int64_t)((double)(t - c->tsc0) * c->ns_per_tick);
		double ahead = (double)RECALIBRATION_NS / fit;
		double rate =
		    ((double)(m - c->start_mono_ns) + (double)RECALIBRATION_NS - (double)now_ns) /
		    ahead;
		if (rate < fit * 0.99)
			rate = fit * 0.99;
		if (rate > fit * 1.01)
			rate = fit * 1.01;
		c->tsc0 = t;
		c->ns0 = now_ns;
		c->ns_per_tick = rate;
	}
	c->cal_tsc = t;
	c->cal_mono = m;
}

int collect_init(struct collect *c, struct store_writer *store, char *listen_name, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->spill_fd = -1;
	c->store = store;
	c->self_pid = getpid();
	c->pid_ns = pidns_of(c->self_pid);
	/*
	 * Each traced process holds a connection and a pidfd here: weft takes
	 * every descriptor it may, and the program gets back the limit it had
	 * (collect.nofile, restored before exec).
	 */
	getrlimit(RLIMIT_NOFILE, &c->nofile);
	struct rlimit raised = c->nofile;
	raised.rlim_cur = raised.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &raised) == 0 && raised.rlim_cur < 4096 + 256)
		max_connections = (int)raised.rlim_cur > 512 ? (int)raised.rlim_cur - 256 : 256;
	c->use_tsc = tsc_is_reliable();
	clock_point(&c->tsc_start, &c->start_mono_ns);
	c->tsc0 = c->tsc_start;
	/*
	 * No calibration here: the program starts at once, and the writer
	 * waits for a usable interval before it converts anything
	 * (clock_snapshot); drains refine the estimate as the trace goes on.
	 */
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);

	c->listen_fd = c->listen_abstract_fd = -1;
	/*
	 * The socket file sits in a directory of mode 0700 made for this run:
	 * nobody else can reach it, or take its name after weft is gone.
	 * Processes that cannot see the directory (another mount namespace)
	 * use the abstract socket of the same name. Neither is a defence by
	 * itself: every connection is checked with the kernel (accept_peer).
	 */
	const char *tmp = getenv("TMPDIR");
	if (!tmp || *tmp != '/' || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(c->sock_dir, sizeof(c->sock_dir), "%s/weft-XXXXXX", tmp);
	if (!mkdtemp(c->sock_dir)) {
		snprintf(c->sock_dir, sizeof(c->sock_dir), "/tmp/weft-XXXXXX");
		if (!mkdtemp(c->sock_dir)) {
			weft_error("cannot create the collector's directory in /tmp: %s",
				   strerror(errno));
			c->sock_dir[0] = 0;
			return -1;
		}
	}
	snprintf(listen_name, len, "%s/collector", c->sock_dir);
	start_janitor(c);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t nl = strlen(listen_name);
	memcpy(sa.sun_path, listen_name, nl);
	c->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0 ||
	    bind(c->listen_fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nl + 1)) < 0 ||
	    listen(c->listen_fd, 512) < 0) {
		weft_error("cannot create the collector socket: %s", strerror(errno));
		return -1;
	}
	memset(sa.sun_path, 0, sizeof(sa.sun_path));
	memcpy(sa.sun_path + 1, listen_name, nl);
	c->listen_abstract_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_abstract_fd >= 0 &&
	    (bind(c->listen_abstract_fd, (struct sockaddr *)&sa,
		  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nl)) < 0 ||
	     listen(c->listen_abstract_fd, 512) < 0)) {
		close(c->listen_abstract_fd);
		c->listen_abstract_fd = -1;
	}
	c->cur = NULL;
	return 0;
}

/*
 * The socket's directory must not outlive weft, even a weft killed by
 * SIGKILL: a process outside the tree (a grandchild, adopted by init, not
 * weft's child) waits for the end of a pipe only weft holds, then removes
 * it. It runs nothing but unlink and rmdir, and ignores the terminal's
 * signals, which are meant for the program.
 */
static void start_janitor(struct collect *c)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return;
	/* sh backgrounds the waiter and exits: the waiter is adopted by init. */
	static const char script[] =
	    "{ cat <&3 >/dev/null; rm -f \"$1/collector\"; rmdir \"$1\"; } "
	    "</dev/null >/dev/null 2>&1 &";
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		dup2(p[0], 3);
		execl("/bin/sh", "sh", "-c", script, "weft-janitor", c->sock_dir, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	else
		close(p[1]);
}

void collect_remove_socket(struct collect *c)
{
	if (!c->sock_dir[0])
		return;
	char path[96];
	snprintf(path, sizeof(path), "%s/collector", c->sock_dir);
	unlink(path);
	rmdir(c->sock_dir);
	c->sock_dir[0] = 0;
}

/* ---- batches ---------------------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		weft_error("out of memory while collecting");
		abort();
	}
	return q;
}

/*
 * Word arenas come from mmap with MAP_POPULATE and are kept for reuse:
 * faulting fresh memory in page by page is the collector's largest cost on
 * virtual machines.
 */
static uint64_t *arena_alloc(size_t words)
{
	void *p = mmap(NULL, words * 8, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		weft_error("out of memory while collecting");
		abort();
	}
	return p;
}

static uint64_t *arena_grow(uint64_t *old, size_t old_words, size_t used, size_t words)
{
	uint64_t *n = arena_alloc(words);
	memcpy(n, old, used * 8);
	munmap(old, old_words * 8);
	return n;
}

/* A batch to fill: a spare one the writer gave back (no page faults per drain), else new. */
static struct collect_batch *batch_new(struct collect *c)
{
	pthread_mutex_lock(&c->lock);
	struct collect_batch *b = c->spare_batches;
	if (b)
		c->spare_batches = b->next;
	pthread_mutex_unlock(&c->lock);
	if (b) {
		b->next = NULL;
		b->nsegs = b->nwords = 0;
		b->horizon_ns = INT64_MIN;
		return b;
	}
	b = xrealloc(NULL, sizeof(*b));
	memset(b, 0, sizeof(*b));
	b->horizon_ns = INT64_MIN;
	b->cap_segs = BATCH_SEGS;
	b->cap_words = BATCH_WORDS;
	b->segs = xrealloc(NULL, b->cap_segs * sizeof(*b->segs));
	/* Words come with the first segment that needs them: spilled batches have none. */
	return b;
}

static int clock_snapshot(struct collect *c, struct collect_clock *out, int last);

/* Hands the batch being filled to the writer; last: the run's final one. */
static void submit_current(struct collect *c, int last)
{
	if (!c->cur || !c->cur->nsegs || clock_snapshot(c, &c->cur->clock, last))
		return;
	struct collect_batch *b = c->cur;
	c->cur = NULL;
	pthread_mutex_lock(&c->lock);
	b->next = NULL;
	if (c->queue_tail)
		c->queue_tail->next = b;
	else
		c->queue_head = b;
	c->queue_tail = b;
	c->queued_bytes += b->nwords * 8 + b->nsegs * sizeof(*b->segs);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Back-pressure: 1 when the main thread should stop draining for now. */
static int backlogged(struct collect *c)
{
	pthread_mutex_lock(&c->lock);
	int r = c->queued_bytes > COLLECT_BACKLOG_LIMIT;
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* A new segment with room for nwords raw words in the current batch. */
static struct collect_seg *seg_reserve(struct collect *c, uint64_t nwords)
{
	if (!c->cur)
		c->cur = batch_new(c);
	struct collect_batch *b = c->cur;
	if (b->nsegs == b->cap_segs) {
		b->cap_segs *= 2;
		b->segs = xrealloc(b->segs, b->cap_segs * sizeof(*b->segs));
	}
	if (nwords && !b->words) {
		b->cap_words = BATCH_WORDS;
		while (nwords > b->cap_words)
			b->cap_words *= 2;
		b->words = arena_alloc(b->cap_words);
	}
	if (b->nwords + nwords > b->cap_words) {
		size_t ncap = b->cap_words;
		while (b->nwords + nwords > ncap)
			ncap *= 2;
		b->words = arena_grow(b->words, b->cap_words, b->nwords, ncap);
		b->cap_words = ncap;
	}
	struct collect_seg *sg = &b->segs[b->nsegs++];
	memset(sg, 0, sizeof(*sg));
	sg->off = b->nwords;
	sg->nwords = nwords;
	b->nwords += nwords;
	return sg;
}

/* Beyond this much spilled the producers wait (backlogged), as for memory. */
#define SPILL_ROOM_MAX (4096ull << 20)

void collect_spill_open(struct collect *c, const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* A file system without O_TMPFILE: a named file, unlinked at once. */
		char path[4096];
		snprintf(path, sizeof(path), "%s/.weft-spill.XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	c->spill_fd = fd;
	/*
	 * The trace comes first: the spill may take a quarter of the space
	 * free now, so a nearly full disk still gets the events committed.
	 */
	struct statvfs fs;
	c->spill_room = 0;
	if (fd >= 0 && fstatvfs(fd, &fs) == 0)
		c->spill_room = (uint64_t)fs.f_bavail * fs.f_frsize / 4;
	if (c->spill_room > SPILL_ROOM_MAX)
		c->spill_room = SPILL_ROOM_MAX;
	/* The test suite's way to send every run of words through the file. */
	c->spill_always = getenv("WEFT_TEST_SPILL") != NULL;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * Writes n ring words (in two runs when they wrap) to the spill file and
 * returns their offset there, or -1 when the words should go into the
 * batch: no spill file, the writer keeping up, or a failed write (disk
 * full), after which the backlog stays in memory for the rest of the run.
 *
 * Why a file: the words must wait somewhere while the writer is behind,
 * and fresh memory costs a page fault per 4 KiB (microseconds each on
 * virtual machines) on the CPU the traced program runs on, where the
 * kernel copies into its page cache at memcpy speed.
 */
static int64_t spill_words(struct collect *c, const uint64_t *a, uint64_t na, const uint64_t *b,
			   uint64_t nb)
{
	if (c->spill_fd < 0 || c->spill_broken)
		return -1;
	uint64_t bytes = (na + nb) * 8;
	pthread_mutex_lock(&c->lock);
	/* A queued batch the writer has not taken yet: it is behind. */
	int behind = c->queued_bytes > 0 || c->spill_always;
	uint64_t off = c->spill_end;
	if (off + bytes > c->spill_room)
		behind = 0; /* no room left: this run goes into memory */
	if (behind) {
		c->spill_end += bytes;
		c->spill_pending += bytes;
	}
	pthread_mutex_unlock(&c->lock);
	if (!behind)
		return -1;
	uint64_t t0 = weft_mono_ns();
	if (pwrite_all(c->spill_fd, a, na * 8, off) != 0 ||
	    pwrite_all(c->spill_fd, b, nb * 8, off + na * 8) != 0) {
		weft_warn("cannot spill the backlog beside the trace (%s): it stays in memory",
			  strerror(errno));
		c->spill_broken = 1;
		/* Only this thread reserves, and pending covered this run: end is unchanged. */
		pthread_mutex_lock(&c->lock);
		c->spill_end -= bytes;
		c->spill_pending -= bytes;
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	c->spill_ns += weft_mono_ns() - t0;
	c->spilled_bytes += bytes;
	return (int64_t)off;
}

static void push_ctl(struct collect *c, struct collect_image *img, int kind, int tid, int64_t ts,
		     int64_t arg, int64_t wait)
{
	struct collect_seg *sg = seg_reserve(c, 0);
	sg->img = img;
	sg->ctl = (uint8_t)kind;
	sg->tid = tid;
	sg->ts = ts;
	sg->arg = arg;
	sg->wait = wait;
}

/* ---- draining ------------------------------------------------------------------ */

/* The first estimate of the TSC rate spans at least this much. */
/*
 * The calibration a batch's ring timestamps are converted with, taken when
 * it is handed to the writer (which so never asks the collector). A TSC's
 * first estimate needs FIRST_CALIBRATION_NS of history: batches wait in
 * the collector until then, except the last one, for which weft waits.
 */
static int clock_snapshot(struct collect *c, struct collect_clock *out, int last)
{
	uint64_t since = weft_mono_ns() - c->start_mono_ns;
	if (c->use_tsc && since < FIRST_CALIBRATION_NS) {
		if (!last)
			return -1;
		struct timespec pause = {0, (long)(FIRST_CALIBRATION_NS - since)};
		nanosleep(&pause, NULL);
	}
	pthread_mutex_lock(&c->lock);
	if (c->use_tsc && (!c->cal_mono || c->cal_mono - c->start_mono_ns < FIRST_CALIBRATION_NS))
		calibrate(c);
	out->tsc0 = c->tsc0;
	out->ns0 = c->ns0;
	out->ns_per_tick = c->ns_per_tick;
	out->start_mono_ns = c->start_mono_ns;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* A thread id as img's pid namespace names it, in weft's namespace. */
static int host_id(const struct collect *c, const struct collect_image *img, int ns_id)
{
	return pidns_host_id(c->pid_ns, img->pid_ns, img->pid, img->ns_pid, ns_id);
}

/*
 * Moves everything published in one ring into the batch as raw words: the
 * producer advances head by whole records only, so [tail, head) never cuts
 * a record. Parsing is the writer's job; this stays a memcpy.
 */
static void drain_slot(struct collect *c, struct collect_image *img, unsigned k, unsigned si)
{
	struct weft_chunk *ch = img->chunks[k];
	struct weft_slot *s = &ch->slots[si];
	/*
	 * Before head: a record published and cleared between the two loads
	 * would otherwise be neither drained nor seen open.
	 */
	uint64_t open = __atomic_load_n(&s->open_ts, __ATOMIC_ACQUIRE);
	if (open && !img->closed && (!c->oldest_open || open < c->oldest_open))
		c->oldest_open = open;
	uint64_t head = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
	uint64_t tail = s->tail;
	if (head != tail) {
		const uint64_t mask = WEFT_RING_WORDS - 1;
		uint64_t *ring = weft_slot_ring(ch, si);
		uint64_t n = head - tail;
		/*
		 * Map what the producer has backed in one call: page faults one
		 * by one cost microseconds each on virtual machines.
		 */
		uint64_t pop = __atomic_load_n(&s->populated, __ATOMIC_ACQUIRE);
		uint64_t *seen = &img->mapped[k][si];
		if (pop > *seen && pop <= WEFT_RING_WORDS) {
			madvise(ring + *seen, (pop - *seen) * 8, MADV_POPULATE_READ);
			*seen = pop;
		}
		if (n > WEFT_RING_WORDS) {
			weft_warn("pid %d: corrupt trace buffer ignored", img->pid);
			n = 0;
		}
		uint64_t start = tail & mask;
		uint64_t first = n < WEFT_RING_WORDS - start ? n : WEFT_RING_WORDS - start;
		int64_t spill_off = spill_words(c, ring + start, first, ring, n - first);
		struct collect_seg *sg = seg_reserve(c, spill_off < 0 ? n : 0);
		sg->img = img;
		sg->tid = host_id(c, img, s->tid);
		sg->tsc = (uint8_t)ch->clock;
		sg->chunk = (uint16_t)k;
		sg->slot = (uint8_t)si;
		if (spill_off >= 0) {
			sg->spilled = 1;
			sg->off = (uint64_t)spill_off;
			sg->nwords = n;
		} else {
			uint64_t *dst = &c->cur->words[sg->off];
			memcpy(dst, ring + start, first * 8);
			memcpy(dst + first, ring, (n - first) * 8);
		}
		c->drained_words += n;
		__atomic_store_n(&s->tail, head, __ATOMIC_RELEASE);
		tail = head;
	}
	if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == WEFT_SLOT_RETIRED &&
	    __atomic_load_n(&s->head, __ATOMIC_ACQUIRE) == tail) {
		push_ctl(c, img, COLLECT_CTL_SLOT_STATS, host_id(c, img, s->tid), 0,
			 (int64_t)s->unrecorded, (int64_t)s->waits);
		s->unrecorded = 0;
		s->waits = 0;
		/*
		 * Give the ended thread's pages back but the ring's first stretch,
		 * and hand the ring on from its start (head and tail 0, published
		 * with the state): the next owner writes its first records into
		 * pages still backed (WEFT_RING_FIRST_WORDS). A program starting
		 * and joining 1000 threads one after another (five alternating
		 * runs): 88-96 us a thread under weft when each new owner backed
		 * the stretch again, 30-59 now, 17-54 untraced.
		 */
		if (s->populated > WEFT_RING_FIRST_WORDS) {
			madvise(weft_slot_ring(ch, si) + WEFT_RING_FIRST_WORDS,
				(s->populated - WEFT_RING_FIRST_WORDS) * 8, MADV_REMOVE);
			s->populated = WEFT_RING_FIRST_WORDS;
			if (img->mapped[k][si] > WEFT_RING_FIRST_WORDS)
				img->mapped[k][si] = WEFT_RING_FIRST_WORDS;
		}
		s->tail = 0;
		__atomic_store_n(&s->head, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->state, WEFT_SLOT_FREE, __ATOMIC_RELEASE);
	}
}

static void drain_image(struct collect *c, struct collect_image *img)
{
	for (unsigned k = 0; k < img->nchunks; k++)
		for (unsigned i = 0; i < WEFT_SLOTS_PER_CHUNK; i++)
			drain_slot(c, img, k, i);
}

size_t collect_drain(struct collect *c)
{
	uint64_t before = c->drained_words;
	if (c->use_tsc && weft_mono_ns() - c->cal_mono > RECALIBRATION_NS) {
		pthread_mutex_lock(&c->lock);
		calibrate(c);
		pthread_mutex_unlock(&c->lock);
	}
	if (backlogged(c))
		return 0; /* producers wait: the lossless mode's back-pressure */
	int64_t round = now_rel(c);
	c->oldest_open = 0;
	for (struct collect_image *img = c->images; img; img = img->next)
		if (!img->closed || img->nchunks)
			drain_image(c, img);
	if (c->cur) {
		/* A record being written (preempted, waiting for room) was timed before it is
		 * published. */
		if (c->oldest_open) {
			pthread_mutex_lock(&c->lock);
			struct collect_clock k = {c->tsc0, c->start_mono_ns, c->ns0,
						  c->ns_per_tick};
			int64_t w = c->use_tsc ? collect_tsc_ns(&k, c->oldest_open)
					       : (int64_t)(c->oldest_open - c->start_mono_ns);
			pthread_mutex_unlock(&c->lock);
			if (w < round)
				round = w;
		}
		c->cur->horizon_ns = round - COLLECT_HORIZON_SLACK_NS;
	}
	submit_current(c, 0);
	return (size_t)(c->drained_words - before);
}

/* ---- who may connect -------------------------------------------------------------- */

/*
 * Threat model (docs/DESIGN.md): the processes of the traced tree are
 * trusted with what they record about themselves; nothing else is. A
 * connection is checked with the kernel before a byte of it is read: the
 * peer's uid (SO_PEERCRED) must be weft's, and its pid, as weft's pid
 * namespace sees it, a descendant of weft. Every pid the collector acts
 * on comes from there or from waitpid, never from a message.
 */

/* A connection checked at accept, not yet introduced by its hello. */
struct pending_conn {
	int fd, pid, ppid, pidfd;
	char comm[16]; /* the kernel's name of its first thread, read before the welcome */
};

void collect_read_comm(int pid, int tid, char out[16])
{
	char path[64];
	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, 15);
	close(fd);
	out[n > 0 ? n : 0] = 0;
	out[strcspn(out, "\n")] = 0;
}

#define PENDING_MAX 1024
static struct pending_conn pending[PENDING_MAX];
static int npending;
static int nconnected; /* images whose connection is open */
/* Beyond this many connections at once, new ones are refused (and said so). */
static int max_connections = 4000;

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/*
 * Reads a small /proc file, NUL-terminated, into buf. Returns its length,
 * or -1 when it cannot be read (the process is gone).
 */
static ssize_t read_proc_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* Reads a process's state and parent. Returns 0, or -1 when it does not exist. */
static int proc_stat(int pid, char *state, int *ppid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_proc_text(path, buf, sizeof(buf)) < 0)
		return -1;
	const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	return p && sscanf(p + 1, " %c %d", state, ppid) == 2 ? 0 : -1;
}

/*
 * 1 when pid descends from weft (orphans of the tree are reparented to
 * weft, its subreaper, so the chain of parents always ends at weft);
 * *ppid receives its parent.
 */
static int in_traced_tree(struct collect *c, int pid, int *ppid)
{
	int cur = pid;
	for (int depth = 0; depth < 65536; depth++) {
		char state;
		int parent;
		if (cur <= 1 || cur == c->self_pid || proc_stat(cur, &state, &parent) != 0)
			return 0;
		if (depth == 0)
			*ppid = parent;
		if (parent == c->self_pid)
			return 1;
		cur = parent;
	}
	return 0;
}

/* The pid a pidfd names in weft's namespace (its fdinfo), or -1. */
static int pidfd_pid(int pidfd)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_proc_text(path, buf, sizeof(buf)) < 0)
		return -1;
	const char *p = strstr(buf, "\nPid:");
	return p ? atoi(p + 5) : -1;
}

static void refuse(struct collect *c, int fd, const char *why, int pid, int uid)
{
	close(fd);
	if (c->refused++ < 3)
		weft_warn("refused a connection from pid %d (uid %d): %s", pid, uid, why);
	else if (c->refused == 4)
		weft_warn("refusing further connections from outside the traced program");
}

/*
 * Checks a new connection and lets it in: a pidfd for the peer (the
 * kernel's own, SO_PEERPIDFD, where there is one: it names the process
 * that connected even if it has died since), its place in the tree, then
 * the welcome the peer waits for. The peer waits while we check, alive,
 * so on older kernels a pidfd_open of its pid names it too.
 */
static void accept_peer(struct collect *c, int fd)
{
	struct ucred cr = {0, (uid_t)-1, (gid_t)-1};
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || cr.pid <= 0) {
		refuse(c, fd, "no credentials", cr.pid, (int)cr.uid);
		return;
	}
	/* Root's tree may hold programs that dropped privileges: the tree check decides. */
	if (cr.uid != geteuid() && geteuid() != 0) {
		refuse(c, fd, "another user", cr.pid, (int)cr.uid);
		return;
	}
	int pidfd = -1;
	len = sizeof(pidfd);
	int pid = cr.pid;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) {
		pid = pidfd_pid(pidfd);
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	} else {
		pidfd = (int)syscall(SYS_pidfd_open, cr.pid, 0);
	}
	int ppid = 0;
	if (pid <= 0 || !in_traced_tree(c, pid, &ppid)) {
		/*
		 * One that ended (and was reaped) while it waited for the welcome
		 * recorded nothing: a pool's terminate() kills starting workers
		 * so. Refused all the same, but no outsider to warn about.
		 */
		char state;
		int gone =
		    pidfd >= 0 ? pidfd_pid(pidfd) < 0 : proc_stat(cr.pid, &state, &ppid) != 0;
		if (pidfd >= 0)
			close(pidfd);
		if (gone) {
			close(fd);
			store_debug("collect", "pid %d ended before it could be checked", cr.pid);
			return;
		}
		refuse(c, fd, "not a process of the traced program", cr.pid, (int)cr.uid);
		return;
	}
	if (npending == PENDING_MAX || nconnected + npending >= max_connections) {
		if (pidfd >= 0)
			close(pidfd);
		close(fd);
		c->events_lost++;
		weft_warn("pid %d: not traced: more processes connected at once than weft can "
			  "hold (%d)",
			  pid, max_connections);
		return;
	}
	/*
	 * Read while the process waits for its welcome: alive, and already
	 * the program it exec'd. Not after: a short program (/bin/true) can
	 * run to its end and be reaped between the welcome and the read (CI
	 * under valgrind, 'exec names: forker forker').
	 */
	char comm[16];
	collect_read_comm(pid, pid, comm);
	struct weft_welcome wm = {WEFT_CHUNK_MAGIC, WEFT_WIRE_VERSION};
	if (send(fd, &wm, sizeof(wm), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(wm)) {
		if (pidfd >= 0)
			close(pidfd);
		close(fd);
		return;
	}
	struct pending_conn *p = &pending[npending++];
	*p = (struct pending_conn){fd, pid, ppid, pidfd, ""};
	memcpy(p->comm, comm, sizeof(p->comm));
}

/* ---- connections --------------------------------------------------------------- */

static char *read_small_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (buf) {
		buf[n] = 0;
		*len = n;
	}
	return buf;
}

static struct collect_image *image_new(struct collect *c, const struct pending_conn *who,
				       const struct weft_hello *h, const char *argv,
				       size_t argv_len)
{
	struct collect_image *img = calloc(1, sizeof(*img));
	if (!img)
		return NULL;
	img->pid = who->pid;
	img->ppid = who->ppid;
	img->pidfd = who->pidfd;
	img->ns_pid = h->pid;
	img->pid_ns = pidns_of(who->pid);
	img->image_id = h->image_id;
	img->conn_fd = who->fd;
	img->forked = (h->flags & WEFT_HELLO_FORKED) != 0;
	img->argv = malloc(argv_len + 1);
	if (img->argv) {
		memcpy(img->argv, argv, argv_len);
		img->argv[argv_len] = 0;
		img->argv_len = argv_len;
	}
	char path[64];
	/* After an exec the kernel names the thread after the new program (writer.c). */
	memcpy(img->comm, who->comm, sizeof(img->comm));
	snprintf(path, sizeof(path), "/proc/%d/maps", img->pid);
	img->maps = read_small_file(path, &img->maps_len);
	/* A fork child that already exited has no maps left: it had its parent's. */
	if ((!img->maps || !img->maps_len) && img->forked) {
		pthread_mutex_lock(&c->lock);
		for (struct collect_image *p = c->images; p; p = p->next)
			if (p->pid == img->ppid && p->maps && p->maps_len) {
				free(img->maps);
				img->maps = malloc(p->maps_len + 1);
				if (img->maps) {
					memcpy(img->maps, p->maps, p->maps_len + 1);
					img->maps_len = p->maps_len;
				}
				break;
			}
		pthread_mutex_unlock(&c->lock);
	}
	img->start_ns = now_rel(c);
	pthread_mutex_lock(&c->lock);
	img->next = c->images;
	c->images = img;
	pthread_mutex_unlock(&c->lock);
	nconnected++;
	push_ctl(c, img, COLLECT_CTL_IMAGE_START, img->pid, img->start_ns, 0, 0);
	return img;
}

/*
 * Maps a chunk a process sent. Only a memfd sealed against shrinking is
 * taken: a process that truncated the file under the mapping would make
 * the collector's next read of it a SIGBUS.
 */
static int map_chunk(struct collect_image *img, int fd, const struct weft_hello *h)
{
	struct stat sb;
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size != weft_chunk_bytes() || h->chunk_index >= WEFT_MAX_CHUNKS ||
	    h->chunk_index != img->nchunks)
		return -1;
	struct weft_chunk *ch =
	    mmap(NULL, weft_chunk_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ch == MAP_FAILED)
		return -1;
	if (ch->magic != WEFT_CHUNK_MAGIC || ch->version != WEFT_WIRE_VERSION) {
		munmap(ch, weft_chunk_bytes());
		return -1;
	}
	img->rings[img->nchunks] = calloc(WEFT_SLOTS_PER_CHUNK, sizeof(struct collect_ring_state));
	if (!img->rings[img->nchunks]) {
		munmap(ch, weft_chunk_bytes());
		return -1;
	}
	img->chunks[img->nchunks++] = ch;
	return 0;
}

/* A process's map is a few hundred KiB; beyond this it is not a map. */
#define MAPS_MAX (64u << 20)
/* Descriptors one message may bring; all are closed but a chunk's one. */
#define MESSAGE_FDS_MAX 4

/*
 * Reads one message from a connection: a hello (first message), a chunk
 * with its memfd, a piece of the map, a count of lost calls, or EOF.
 * who is the checked connection of a new image (*imgp NULL). Returns 1
 * when the connection is over (EOF, or a message that is not weft's:
 * that connection alone is dropped), 0 otherwise.
 */
static int read_message(struct collect *c, int fd, struct collect_image **imgp,
			const struct pending_conn *who)
{
	char buf[sizeof(struct weft_hello) + 16384 + 16];
	union {
		char b[CMSG_SPACE(sizeof(int) * MESSAGE_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {0};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : 1;
	if (n == 0)
		return 1;
	int fds[MESSAGE_FDS_MAX], nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds < MESSAGE_FDS_MAX)
				fds[nfds++] = f;
			else
				close(f);
		}
	}
	struct weft_hello h;
	int over = 0;
	if ((size_t)n < sizeof(h) || (mh.msg_flags & MSG_TRUNC)) {
		over = 1;
		goto out;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.magic != WEFT_CHUNK_MAGIC || h.version != WEFT_WIRE_VERSION) {
		over = 1;
		goto out;
	}
	if (!*imgp) {
		/* A process whose connection was closed under it comes back as the same image. */
		for (struct collect_image *old = c->images; old; old = old->next) {
			if (old->image_id == h.image_id && old->pid == who->pid && old->closed &&
			    !old->ended) {
				old->closed = 0;
				old->conn_fd = who->fd;
				if (who->pidfd >= 0)
					close(who->pidfd);
				nconnected++;
				*imgp = old;
				break;
			}
		}
		if (!*imgp)
			*imgp = image_new(c, who, &h, buf + sizeof(h), (size_t)n - sizeof(h));
		if (!*imgp) {
			over = 1;
			goto out;
		}
	}
	struct collect_image *img = *imgp;
	if (h.chunk_index == WEFT_HELLO_FIRST) {
		/* argv was taken by image_new; a re-attach sends it again. */
	} else if (h.chunk_index == WEFT_HELLO_MAPS) {
		/* The process's own copy of its map replaces what /proc gave us, if anything. */
		size_t add = (size_t)n - sizeof(h);
		pthread_mutex_lock(&c->lock);
		if (!img->maps_from_process) {
			img->maps_from_process = 1;
			img->maps_len = 0;
		}
		char *nm = img->maps_len + add <= MAPS_MAX
			       ? realloc(img->maps, img->maps_len + add + 1)
			       : NULL;
		if (nm) {
			memcpy(nm + img->maps_len, buf + sizeof(h), add);
			img->maps_len += add;
			nm[img->maps_len] = 0;
			img->maps = nm;
		}
		pthread_mutex_unlock(&c->lock);
	} else if (h.chunk_index == WEFT_HELLO_LOST) {
		if (h.lost > img->lost_unringed)
			img->lost_unringed = h.lost;
	} else if (nfds != 1 || map_chunk(img, fds[0], &h) < 0) {
		/* Not what the preload sends: this connection is dropped, nothing else. */
		weft_warn("pid %d: unusable trace buffer: its connection is dropped", img->pid);
		over = 1;
	}
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return over;
}

/*
 * Drops an ended image's rings. Each chunk is 2 GB of address space, and the
 * pages a process wrote stay in its memfd for as long as we map them: kept
 * until weft exits, a long run of short-lived processes would pile up memory
 * and eventually fail to map new chunks (at once under valgrind, whose client
 * address space is 128 GB). Nothing reads them after the last drain.
 */
static void image_unmap(struct collect_image *img)
{
	for (unsigned k = 0; k < img->nchunks; k++)
		munmap(img->chunks[k], weft_chunk_bytes());
	img->nchunks = 0;
}

/* The image is over: its process exited or exec'd. */
static void image_end(struct collect *c, struct collect_image *img)
{
	img->ended = 1;
	/* Everything the process published is in its rings: take it all now. */
	drain_image(c, img);
	if (img->nchunks && img->chunks[0]->lost) {
		c->events_lost += img->chunks[0]->lost;
		weft_warn("pid %d: %llu calls not recorded: more threads alive at once than weft "
			  "has rings for",
			  img->pid, (unsigned long long)img->chunks[0]->lost);
	}
	if (img->lost_unringed) {
		c->events_lost += img->lost_unringed;
		weft_warn("pid %d: %llu calls not recorded: it could not make a trace buffer "
			  "(out of descriptors or memory)",
			  img->pid, (unsigned long long)img->lost_unringed);
	}
	push_ctl(c, img, COLLECT_CTL_IMAGE_END, img->pid, now_rel(c), 0, 0);
	image_unmap(img);
	/* Nothing signals an ended image: a long run keeps no descriptor per process. */
	if (img->pidfd >= 0)
		close(img->pidfd);
	img->pidfd = -1;
}

/* 1 when the image's process is gone (dead, a zombie) or runs another image. */
static int image_process_gone(struct collect *c, struct collect_image *img)
{
	if (img->pidfd >= 0 && syscall(SYS_pidfd_send_signal, img->pidfd, 0, NULL, 0) != 0 &&
	    errno == ESRCH)
		return 1;
	char state = 'X';
	int ppid;
	if (proc_stat(img->pid, &state, &ppid) != 0)
		return 1;
	(void)c;
	return state == 'Z' || state == 'X';
}

/*
 * A connection's EOF usually means the image is gone, but a process that
 * closed every descriptor (daemons) is still alive and reconnects: such an
 * image waits (closed, not ended) until its process dies or execs.
 */
static void image_closed(struct collect *c, struct collect_image *img)
{
	img->closed = 1;
	close(img->conn_fd);
	img->conn_fd = -1;
	nconnected--;
	if (image_process_gone(c, img))
		image_end(c, img);
}

/* Images waiting for a reconnect whose process has since died or exec'd. */
static void end_waiting_images(struct collect *c, int force)
{
	for (struct collect_image *img = c->images; img; img = img->next) {
		if (!img->closed || img->ended)
			continue;
		int newer = 0;
		for (struct collect_image *q = c->images; q && q != img; q = q->next)
			newer |= q->pid == img->pid; /* images are prepended: q is newer */
		if (force || newer || image_process_gone(c, img))
			image_end(c, img);
	}
}

static void accept_all(struct collect *c, int listen_fd)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			break;
		accept_peer(c, fd);
	}
}

int collect_poll(struct collect *c, int timeout_ms)
{
	struct pollfd pf[4096];
	struct collect_image *who[4096];
	int n = 0;
	pf[n].fd = c->listen_fd;
	pf[n].events = POLLIN;
	who[n++] = NULL;
	pf[n].fd = c->listen_abstract_fd;
	pf[n].events = POLLIN;
	who[n++] = NULL;
	const int first_pending = n;
	for (int i = 0; i < npending && n < 4096; i++) {
		pf[n].fd = pending[i].fd;
		pf[n].events = POLLIN;
		who[n++] = NULL;
	}
	const int first_image = n;
	for (struct collect_image *img = c->images; img && n < 4096; img = img->next) {
		if (img->closed)
			continue;
		pf[n].fd = img->conn_fd;
		pf[n].events = POLLIN;
		who[n++] = img;
	}
	int r = poll(pf, (nfds_t)n, timeout_ms);
	if (r <= 0) {
		/*
		 * An EOF that came while its process was still exiting left the
		 * image waiting for a reconnect; nothing more arrives to wake us,
		 * so look now whether the process has gone.
		 */
		end_waiting_images(c, 0);
		return 0;
	}
	/*
	 * Connected images first: a daemon that closed our socket and
	 * connected again may have its EOF and its new hello ready in the same
	 * round, and the EOF must come first for the hello to re-attach the
	 * image instead of making a second one for the same process.
	 */
	for (int i = first_image; i < n; i++) {
		if (!pf[i].revents)
			continue;
		struct collect_image *img = who[i];
		/* Read all queued messages (chunks) before looking for EOF. */
		for (;;) {
			if (read_message(c, img->conn_fd, &img, NULL)) {
				image_closed(c, img);
				break;
			}
			struct pollfd one = {img->conn_fd, POLLIN, 0};
			if (poll(&one, 1, 0) <= 0)
				break;
		}
	}
	/* Then the new connections: their hello makes them images. */
	int k = 0;
	for (int i = 0; i < first_image - first_pending; i++) {
		struct pending_conn *pc = &pending[i];
		if (pf[first_pending + i].revents) {
			struct collect_image *img = NULL;
			int eof = read_message(c, pc->fd, &img, pc);
			if (img && eof)
				image_closed(c, img);
			if (img || eof) {
				if (!img) {
					close(pc->fd);
					if (pc->pidfd >= 0)
						close(pc->pidfd);
				}
				continue;
			}
		}
		pending[k++] = *pc;
	}
	for (int i = first_image - first_pending; i < npending; i++)
		pending[k++] = pending[i];
	npending = k;
	end_waiting_images(c, 0);
	if (pf[0].revents)
		accept_all(c, c->listen_fd);
	if (pf[1].fd >= 0 && pf[1].revents)
		accept_all(c, c->listen_abstract_fd);
	return r;
}

void collect_killed(struct collect *c, pid_t pid)
{
	push_ctl(c, NULL, COLLECT_CTL_KILLED, pid, now_rel(c), pid, 0);
}

void collect_reaped(struct collect *c, pid_t pid, int status)
{
	push_ctl(c, NULL, COLLECT_CTL_REAPED, pid, now_rel(c), pid, status);
}

int collect_live_images(struct collect *c)
{
	int n = npending;
	for (struct collect_image *img = c->images; img; img = img->next)
		n += !img->ended;
	return n;
}

void collect_debug_live(struct collect *c)
{
	fprintf(stderr, "weft: live: %d pending connections\n", npending);
	for (struct collect_image *img = c->images; img; img = img->next)
		if (!img->ended)
			fprintf(stderr, "weft: live image pid %d closed %d conn %d\n", img->pid,
				img->closed, img->conn_fd);
}

int collect_signal_tree(struct collect *c, int sig, int note)
{
	int n = 0;
	for (struct collect_image *img = c->images; img; img = img->next) {
		if (img->ended)
			continue;
		/* A process with two images (it exec'd) is signalled once: through its newest. */
		int newer = 0;
		for (struct collect_image *q = c->images; q && q != img; q = q->next)
			newer |= q->pid == img->pid && !q->ended;
		if (newer)
			continue;
		/* No pidfds (before Linux 5.3): the pid, checked to be in the tree again. */
		int ppid;
		int sent = img->pidfd >= 0 &&
			   syscall(SYS_pidfd_send_signal, img->pidfd, sig, NULL, 0) == 0;
		if (!sent && (img->pidfd < 0 || errno == ENOSYS))
			sent = in_traced_tree(c, img->pid, &ppid) && kill(img->pid, sig) == 0;
		if (sent) {
			n++;
			if (note)
				collect_killed(c, img->pid);
		}
	}
	return n;
}

void collect_flush(struct collect *c)
{
	/* Late messages (a last chunk, EOFs) first, then every ring one last time. */
	for (int i = 0; i < 3 && collect_poll(c, 0) > 0; i++)
		;
	end_waiting_images(c, 1);
	for (struct collect_image *img = c->images; img; img = img->next) {
		if (!img->ended) {
			img->closed = 1;
			image_end(c, img);
		}
	}
	submit_current(c, 1);
}

void collect_close(struct collect *c)
{
	free_spare_batches(c);
	if (c->spill_fd >= 0)
		close(c->spill_fd);
	c->spill_fd = -1;
	free(c->spill_buf);
	c->spill_buf = NULL;
	c->spill_buf_cap = 0;
	close(c->listen_fd);
	if (c->listen_abstract_fd >= 0)
		close(c->listen_abstract_fd);
	collect_remove_socket(c);
	for (int i = 0; i < npending; i++) {
		close(pending[i].fd);
		if (pending[i].pidfd >= 0)
			close(pending[i].pidfd);
	}
	npending = 0;
	nconnected = 0;
	pidns_forget();
	if (c->refused)
		weft_warn("%llu connection%s from outside the traced program refused",
			  (unsigned long long)c->refused, c->refused == 1 ? "" : "s");
	/* The writer has joined: nobody refers to the images any more. */
	while (c->images) {
		struct collect_image *img = c->images;
		c->images = img->next;
		image_unmap(img);
		if (img->conn_fd >= 0)
			close(img->conn_fd);
		if (img->pidfd >= 0)
			close(img->pidfd);
		/* Ring decoding states outlive the mappings: the writer used them until now. */
		for (unsigned k = 0; k < WEFT_MAX_CHUNKS; k++)
			free(img->rings[k]);
		free(img->argv);
		free(img->maps);
		free(img);
	}
}
