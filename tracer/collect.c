/*
 * The collector's main-thread half: the socket traced processes connect
 * to, their ring chunks, and draining those rings into batches.
 */
#include "tracer/collect.h"
#include "tracer/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#define BATCH_RECS 65536
#define BATCH_WORDS (1u << 20)

uint64_t collect_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t collect_now_rel(struct collect *c)
{
	return (int64_t)(collect_mono_ns() - c->start_mono_ns);
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

static void calibrate(struct collect *c)
{
	uint64_t t = __rdtsc(), m = collect_mono_ns();
	if (m - c->start_mono_ns < 1000000 || t <= c->tsc0)
		return;
	c->ns_per_tick = (double)(m - c->start_mono_ns) / (double)(t - c->tsc0);
	c->cal_tsc = t;
	c->cal_mono = m;
}

int collect_init(struct collect *c, struct store_writer *store, char *listen_name, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->store = store;
	c->self_pid = getpid();
	c->use_tsc = tsc_is_reliable();
	c->start_mono_ns = collect_mono_ns();
	c->tsc0 = __rdtsc();
	/* A first estimate from a short interval; refined as the trace goes on. */
	struct timespec pause = {0, 20 * 1000 * 1000};
	nanosleep(&pause, NULL);
	calibrate(c);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);

	uint64_t rnd = 0;
	int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (rfd >= 0) {
		if (read(rfd, &rnd, sizeof(rnd)) != sizeof(rnd))
			rnd = 0;
		close(rfd);
	}
	rnd ^= c->tsc0;
	snprintf(listen_name, len, "weft-%d-%016llx", (int)c->self_pid, (unsigned long long)rnd);

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t nl = strlen(listen_name);
	memcpy(sa.sun_path + 1, listen_name, nl);
	c->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0 ||
	    bind(c->listen_fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nl)) < 0 ||
	    listen(c->listen_fd, 512) < 0) {
		weft_error("cannot create the collector socket: %s", strerror(errno));
		return -1;
	}
	c->cur = NULL;
	return writer_start(c);
}

/* ---- batches ---------------------------------------------------------------- */

static struct collect_batch *batch_new(void)
{
	struct collect_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->cap_recs = BATCH_RECS;
	b->cap_words = BATCH_WORDS;
	b->recs = malloc(b->cap_recs * sizeof(*b->recs));
	b->words = malloc(b->cap_words * sizeof(*b->words));
	if (!b->recs || !b->words) {
		free(b->recs);
		free(b->words);
		free(b);
		return NULL;
	}
	return b;
}

static void submit_current(struct collect *c)
{
	if (c->cur && c->cur->nrecs) {
		writer_submit(c, c->cur);
		c->cur = NULL;
	}
}

/* Room for one more record with nwords of frames+payload; submits a full batch. */
static struct collect_rec *batch_reserve(struct collect *c, uint32_t nwords)
{
	if (c->cur && (c->cur->nrecs == c->cur->cap_recs ||
		       c->cur->nwords + nwords > c->cur->cap_words))
		submit_current(c);
	if (!c->cur) {
		c->cur = batch_new();
		if (!c->cur) {
			weft_error("out of memory while collecting");
			abort();
		}
	}
	struct collect_rec *r = &c->cur->recs[c->cur->nrecs++];
	memset(r, 0, sizeof(*r));
	return r;
}

static void push_ctl(struct collect *c, struct collect_image *img, int kind, int tid, int64_t ts,
		     int64_t arg, int64_t wait)
{
	struct collect_rec *r = batch_reserve(c, 0);
	r->img = img;
	r->kind = (uint8_t)kind;
	r->tid = tid;
	r->ts = ts;
	r->arg = arg;
	r->wait = wait;
}

/* ---- draining ------------------------------------------------------------------ */

static int64_t to_ns(struct collect *c, const struct weft_chunk *ch, uint64_t ts)
{
	if (ch->clock)
		return (int64_t)((double)(int64_t)(ts - c->tsc0) * c->ns_per_tick);
	return (int64_t)(ts - c->start_mono_ns);
}

static int64_t dur_ns(struct collect *c, const struct weft_chunk *ch, uint64_t d)
{
	if (ch->clock)
		return (int64_t)((double)d * c->ns_per_tick);
	return (int64_t)d;
}

static void drain_slot(struct collect *c, struct collect_image *img, struct weft_chunk *ch,
		       unsigned si)
{
	struct weft_slot *s = &ch->slots[si];
	uint64_t head = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
	uint64_t tail = s->tail;
	uint64_t *ring = weft_slot_ring(ch, si);
	const uint64_t mask = WEFT_RING_WORDS - 1;
	int tid = s->tid;

	while (tail < head) {
		struct weft_rec_header h;
		uint64_t w0 = ring[tail & mask];
		memcpy(&h, &w0, 8);
		uint32_t n = weft_rec_words(h.nframes, h.payload_len);
		if (h.kind == 0 || h.nframes > WEFT_MAX_FRAMES + 8 || h.payload_len > 4096 ||
		    tail + n > head) {
			/* The program scribbled over its ring: say so, skip what is left. */
			weft_warn("pid %d tid %d: corrupt trace buffer, %llu words skipped",
				  img->pid, tid, (unsigned long long)(head - tail));
			tail = head;
			break;
		}
		struct collect_rec *r = batch_reserve(c, n);
		struct collect_batch *b = c->cur;
		r->img = img;
		r->tid = tid;
		r->kind = h.kind;
		r->objkind = h.objkind;
		r->nframes = h.nframes;
		r->ts = to_ns(c, ch, ring[(tail + 1) & mask]);
		r->obj = ring[(tail + 2) & mask];
		r->wait = dur_ns(c, ch, ring[(tail + 3) & mask]);
		r->arg = (int64_t)ring[(tail + 4) & mask];
		r->frames_off = (uint32_t)b->nwords;
		for (unsigned i = 0; i < h.nframes; i++)
			b->words[b->nwords++] = ring[(tail + WEFT_REC_FIXED_WORDS + i) & mask];
		r->payload_off = (uint32_t)b->nwords;
		r->payload_len = h.payload_len;
		uint32_t pw = (h.payload_len + 7) / 8;
		for (unsigned i = 0; i < pw; i++)
			b->words[b->nwords++] =
				ring[(tail + WEFT_REC_FIXED_WORDS + h.nframes + i) & mask];
		tail += n;
	}
	__atomic_store_n(&s->tail, tail, __ATOMIC_RELEASE);

	if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == WEFT_SLOT_RETIRED &&
	    __atomic_load_n(&s->head, __ATOMIC_ACQUIRE) == tail) {
		push_ctl(c, img, COLLECT_CTL_SLOT_STATS, tid, 0, (int64_t)s->unrecorded,
			 (int64_t)s->waits);
		s->unrecorded = 0;
		s->waits = 0;
		__atomic_store_n(&s->state, WEFT_SLOT_FREE, __ATOMIC_RELEASE);
	}
}

static void drain_image(struct collect *c, struct collect_image *img)
{
	for (unsigned k = 0; k < img->nchunks; k++)
		for (unsigned i = 0; i < WEFT_SLOTS_PER_CHUNK; i++)
			drain_slot(c, img, img->chunks[k], i);
}

void collect_drain(struct collect *c)
{
	if (c->use_tsc && collect_mono_ns() - c->cal_mono > 200000000ull)
		calibrate(c);
	if (writer_backlogged(c))
		return; /* producers wait: the lossless mode's back-pressure */
	for (struct collect_image *img = c->images; img; img = img->next)
		if (!img->closed || img->nchunks)
			drain_image(c, img);
	submit_current(c);
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

static struct collect_image *image_new(struct collect *c, int fd, const struct weft_hello *h,
				       const char *argv, size_t argv_len)
{
	struct collect_image *img = calloc(1, sizeof(*img));
	if (!img)
		return NULL;
	img->pid = h->pid;
	img->ppid = h->ppid;
	img->image_id = h->image_id;
	img->conn_fd = fd;
	img->argv = malloc(argv_len + 1);
	if (img->argv) {
		memcpy(img->argv, argv, argv_len);
		img->argv[argv_len] = 0;
		img->argv_len = argv_len;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", h->pid);
	img->maps = read_small_file(path, &img->maps_len);
	img->start_ns = collect_now_rel(c);
	pthread_mutex_lock(&c->lock);
	img->next = c->images;
	c->images = img;
	pthread_mutex_unlock(&c->lock);
	push_ctl(c, img, COLLECT_CTL_IMAGE_START, h->pid, img->start_ns, 0, 0);
	return img;
}

static int map_chunk(struct collect_image *img, int fd, const struct weft_hello *h)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != weft_chunk_bytes() ||
	    h->chunk_index >= WEFT_MAX_CHUNKS || h->chunk_index != img->nchunks)
		return -1;
	struct weft_chunk *ch =
		mmap(NULL, weft_chunk_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ch == MAP_FAILED)
		return -1;
	if (ch->magic != WEFT_CHUNK_MAGIC || ch->version != WEFT_WIRE_VERSION) {
		munmap(ch, weft_chunk_bytes());
		return -1;
	}
	img->chunks[img->nchunks++] = ch;
	return 0;
}

/*
 * Reads one message from a connection: a hello (first message), a chunk
 * with its memfd, or EOF. Returns 1 on EOF, 0 otherwise.
 */
static int read_message(struct collect *c, int fd, struct collect_image **imgp)
{
	char buf[sizeof(struct weft_hello) + 8192 + 16];
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
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
	int passed_fd = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&passed_fd, CMSG_DATA(cm), sizeof(int));
	struct weft_hello h;
	if ((size_t)n < sizeof(h)) {
		if (passed_fd >= 0)
			close(passed_fd);
		return 0;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.magic != WEFT_CHUNK_MAGIC || h.version != WEFT_WIRE_VERSION) {
		if (passed_fd >= 0)
			close(passed_fd);
		return 1;
	}
	if (!*imgp)
		*imgp = image_new(c, fd, &h, buf + sizeof(h), (size_t)n - sizeof(h));
	if (passed_fd >= 0) {
		if (*imgp && map_chunk(*imgp, passed_fd, &h) < 0)
			weft_warn("pid %d: unusable trace buffer ignored", h.pid);
		close(passed_fd);
	}
	return 0;
}

static void image_closed(struct collect *c, struct collect_image *img)
{
	img->closed = 1;
	close(img->conn_fd);
	img->conn_fd = -1;
	/* Everything the process published is in its rings: take it all now. */
	drain_image(c, img);
	push_ctl(c, img, COLLECT_CTL_IMAGE_END, img->pid, collect_now_rel(c), 0, 0);
}

/* Connections accepted but not yet introduced by a hello. */
static int pending_fds[1024];
static int npending;

int collect_poll(struct collect *c, int timeout_ms)
{
	struct pollfd pf[4096];
	struct collect_image *who[4096];
	int n = 0;
	pf[n].fd = c->listen_fd;
	pf[n].events = POLLIN;
	who[n++] = NULL;
	for (int i = 0; i < npending && n < 4096; i++) {
		pf[n].fd = pending_fds[i];
		pf[n].events = POLLIN;
		who[n++] = NULL;
	}
	for (struct collect_image *img = c->images; img && n < 4096; img = img->next) {
		if (img->closed)
			continue;
		pf[n].fd = img->conn_fd;
		pf[n].events = POLLIN;
		who[n++] = img;
	}
	int r = poll(pf, (nfds_t)n, timeout_ms);
	if (r <= 0)
		return 0;
	/* Pending connections first: their hello makes them images. */
	int npend_before = npending;
	for (int i = 1; i <= npend_before; i++) {
		if (!pf[i].revents)
			continue;
		struct collect_image *img = NULL;
		int eof = read_message(c, pf[i].fd, &img);
		if (img || eof) {
			if (!img)
				close(pf[i].fd);
			else if (eof)
				image_closed(c, img);
			pf[i].fd = -1;
		}
	}
	int k = 0;
	for (int i = 0; i < npend_before; i++)
		if (pf[i + 1].fd >= 0)
			pending_fds[k++] = pf[i + 1].fd;
	npending = k;
	for (int i = 1 + npend_before; i < n; i++) {
		if (!pf[i].revents)
			continue;
		struct collect_image *img = who[i];
		/* Read all queued messages (chunks) before looking for EOF. */
		for (;;) {
			if (read_message(c, img->conn_fd, &img)) {
				image_closed(c, img);
				break;
			}
			struct pollfd one = {img->conn_fd, POLLIN, 0};
			if (poll(&one, 1, 0) <= 0)
				break;
		}
	}
	if (pf[0].revents) {
		for (;;) {
			int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0)
				break;
			if (npending < (int)(sizeof(pending_fds) / sizeof(pending_fds[0])))
				pending_fds[npending++] = fd;
			else
				close(fd);
		}
	}
	return r;
}

void collect_reaped(struct collect *c, pid_t pid, int status)
{
	push_ctl(c, NULL, COLLECT_CTL_REAPED, pid, collect_now_rel(c), pid, status);
}

int collect_live_images(struct collect *c)
{
	int n = npending;
	for (struct collect_image *img = c->images; img; img = img->next)
		n += !img->closed;
	return n;
}

int collect_live_pids(struct collect *c, pid_t *out, int max)
{
	int n = 0;
	for (struct collect_image *img = c->images; img && n < max; img = img->next)
		if (!img->closed)
			out[n++] = img->pid;
	return n;
}

int collect_finish(struct collect *c)
{
	/* Late messages (a last chunk, EOFs) first, then every ring one last time. */
	for (int i = 0; i < 3 && collect_poll(c, 0) > 0; i++)
		;
	for (struct collect_image *img = c->images; img; img = img->next) {
		drain_image(c, img);
		if (!img->closed) {
			img->closed = 1;
			push_ctl(c, img, COLLECT_CTL_IMAGE_END, img->pid, collect_now_rel(c), 0, 0);
		}
	}
	submit_current(c);
	int rc = writer_stop_and_join(c);
	close(c->listen_fd);
	for (int i = 0; i < npending; i++)
		close(pending_fds[i]);
	npending = 0;
	return rc;
}
