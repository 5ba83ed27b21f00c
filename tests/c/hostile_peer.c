#define _GNU_SOURCE
/*
 * Attacks on weft's collector, for tests/integration/test_security.sh. Run
 * as a stranger (another user, or a process outside the traced tree) or
 * from inside the tree (a traced process misusing its own connection).
 *
 *   hostile_peer probe NAME             connect as a new image; prints welcomed/refused
 *   hostile_peer forge NAME             (inside) a ring that sets meta "format", plus a
 *                                       second image with a forged pid 1
 *   hostile_peer shrink NAME            (inside) an unsealed chunk, shrunk once sent
 *   hostile_peer fds NAME N             (inside) N messages carrying 4 descriptors each
 *   hostile_peer maps NAME MB           (inside) MB MiB of "memory map" messages
 *   hostile_peer idle NAME N SECONDS    N connections left idle; prints how many were let in
 *   hostile_peer listen NAME SECONDS    binds the abstract NAME; prints bytes received
 *   hostile_peer forgepid NAME PID      (inside) an image calling itself PID, then sleeps
 *   hostile_peer nofile N               exhausts descriptors, then N lock/unlock pairs
 *
 * NAME is the collector's socket (weft passes it as WEFT_SOCK).
 */
#include "preload/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int dial(const char *name, int abstract)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	if (len + 2 > sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path + !!abstract, name, len);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	if (connect(fd, (struct sockaddr *)&sa, sl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int dial_any(const char *name)
{
	int fd = dial(name, 0);
	return fd >= 0 ? fd : dial(name, 1);
}

static void hello(int fd, int32_t pid, uint64_t image_id, uint32_t chunk_index, int chunk_fd,
		  const char *text)
{
	char msg[sizeof(struct weft_hello) + 256];
	struct weft_hello *h = (struct weft_hello *)msg;
	memset(h, 0, sizeof(*h));
	h->magic = WEFT_CHUNK_MAGIC;
	h->version = WEFT_WIRE_VERSION;
	h->pid = pid;
	h->image_id = image_id;
	h->chunk_index = chunk_index;
	size_t tl = text ? strlen(text) + 1 : 0;
	memcpy(msg + sizeof(*h), text ? text : "", tl);
	struct iovec iov = {msg, sizeof(*h) + tl};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (chunk_fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &chunk_fd, sizeof(int));
	}
	sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/* 1 when the collector welcomed the connection within two seconds. */
static int welcomed(int fd)
{
	struct pollfd pf = {fd, POLLIN, 0};
	struct weft_welcome w;
	if (poll(&pf, 1, 2000) <= 0)
		return 0;
	return recv(fd, &w, sizeof(w), MSG_DONTWAIT) == (ssize_t)sizeof(w) &&
	       w.magic == WEFT_CHUNK_MAGIC;
}

/* A new image on its own connection: connected, introduced, welcomed. */
static int new_image(const char *name, int32_t pid, uint64_t id, const char *argv)
{
	int fd = dial_any(name);
	if (fd < 0)
		return -1;
	hello(fd, pid, id, WEFT_HELLO_FIRST, -1, argv);
	if (!welcomed(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int chunk_memfd(int seal, struct weft_chunk **out)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)weft_chunk_bytes()) != 0)
		return -1;
	if (seal)
		fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	struct weft_chunk *c =
	    mmap(NULL, weft_chunk_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return -1;
	c->magic = WEFT_CHUNK_MAGIC;
	c->version = WEFT_WIRE_VERSION;
	*out = c;
	return fd;
}

/* One record in slot 0: a meta key the trace format owns. */
static void ring_meta(struct weft_chunk *c, const char *key, const char *val)
{
	uint64_t *ring = weft_slot_ring(c, 0);
	char payload[128];
	size_t kl = strlen(key), vl = strlen(val);
	memcpy(payload, key, kl + 1);
	memcpy(payload + kl + 1, val, vl + 1);
	uint32_t plen = (uint32_t)(kl + vl + 2);
	struct weft_rec_header h = {WEFT_REC_META, 0, 0, WEFT_RF_TS | WEFT_RF_PAYLOAD, 0};
	uint64_t n = 0;
	memcpy(&ring[n++], &h, sizeof(h));
	ring[n++] = 1; /* ts */
	ring[n++] = plen;
	memset(&ring[n], 0, (plen + 7) / 8 * 8);
	memcpy(&ring[n], payload, plen);
	n += (plen + 7) / 8;
	c->slots[0].tid = gettid();
	c->slots[0].state = WEFT_SLOT_OWNED;
	__atomic_store_n(&c->slots[0].head, n, __ATOMIC_RELEASE);
}

static int cmd_forge(const char *name)
{
	int fd = new_image(name, getpid(), 0x4242, "forged-image");
	struct weft_chunk *c;
	int mfd = chunk_memfd(1, &c);
	if (fd < 0 || mfd < 0)
		return 1;
	ring_meta(c, "format", "forged");
	ring_meta(c, "complete", "0");
	hello(fd, getpid(), 0x4242, 0, mfd, NULL);
	/* A second image that calls itself pid 1: weft must name it by its real pid. */
	int fd2 = new_image(name, 1, 0x4343, "calls-itself-init");
	usleep(300000);
	printf("forged %s\n", fd2 >= 0 ? "welcomed" : "refused");
	return 0;
}

static int cmd_shrink(const char *name)
{
	int fd = new_image(name, getpid(), 0x5151, "shrinker");
	struct weft_chunk *c;
	int mfd = chunk_memfd(0, &c);
	if (fd < 0 || mfd < 0)
		return 1;
	c->slots[0].tid = gettid();
	hello(fd, getpid(), 0x5151, 0, mfd, NULL);
	usleep(200000);
	int r = ftruncate(mfd, 4096); /* would be a SIGBUS in a collector that mapped it */
	usleep(300000);
	printf("shrunk %d\n", r);
	return 0;
}

static int cmd_fds(const char *name, int n)
{
	int fd = new_image(name, getpid(), 0x6161, "fd-flood");
	if (fd < 0)
		return 1;
	int nul = open("/dev/null", O_RDONLY);
	for (int i = 0; i < n; i++) {
		char msg[sizeof(struct weft_hello)];
		struct weft_hello *h = (struct weft_hello *)msg;
		memset(h, 0, sizeof(*h));
		h->magic = WEFT_CHUNK_MAGIC;
		h->version = WEFT_WIRE_VERSION;
		h->chunk_index = (uint32_t)i;
		int fds[4] = {nul, nul, nul, nul};
		struct iovec iov = {msg, sizeof(msg)};
		union {
			char buf[CMSG_SPACE(sizeof(fds))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(c), fds, sizeof(fds));
		if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
			break;
	}
	usleep(500000);
	return 0;
}

static int cmd_maps(const char *name, int mb)
{
	int fd = new_image(name, getpid(), 0x7171, "maps-flood");
	if (fd < 0)
		return 1;
	char msg[sizeof(struct weft_hello) + 16384];
	struct weft_hello *h = (struct weft_hello *)msg;
	memset(msg, 'm', sizeof(msg));
	memset(h, 0, sizeof(*h));
	h->magic = WEFT_CHUNK_MAGIC;
	h->version = WEFT_WIRE_VERSION;
	h->chunk_index = WEFT_HELLO_MAPS;
	for (long i = 0; i < (long)mb * 64; i++)
		if (send(fd, msg, sizeof(msg), MSG_NOSIGNAL) < 0)
			break;
	return 0;
}

static int cmd_idle(const char *name, int n, int seconds)
{
	int in = 0;
	for (int i = 0; i < n; i++) {
		int fd = dial_any(name);
		if (fd < 0)
			continue;
		hello(fd, 1, (uint64_t)i, WEFT_HELLO_FIRST, -1, "idle");
		struct pollfd pf = {fd, POLLIN, 0};
		struct weft_welcome w;
		if (poll(&pf, 1, 200) > 0 && recv(fd, &w, sizeof(w), MSG_DONTWAIT) == sizeof(w))
			in++;
	}
	printf("let in %d of %d\n", in, n);
	fflush(stdout);
	sleep((unsigned)seconds);
	return 0;
}

static int cmd_listen(const char *name, int seconds)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	memcpy(sa.sun_path + 1, name, len);
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (bind(lfd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0 ||
	    listen(lfd, 64) < 0) {
		printf("cannot bind: %s\n", strerror(errno));
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	long total = 0;
	int conns = 0;
	for (int t = 0; t < seconds * 20; t++) {
		int fd;
		while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
			conns++;
			char buf[65536];
			usleep(100000);
			ssize_t r;
			while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
				total += r;
			close(fd);
		}
		usleep(50000);
	}
	printf("received %ld bytes on %d connections\n", total, conns);
	return 0;
}

static __attribute__((noreturn)) void cmd_forgepid(const char *name, int pid)
{
	int fd = new_image(name, pid, 0x8181, "forged-pid");
	printf("forgepid %s\n", fd >= 0 ? "welcomed" : "refused");
	fflush(stdout);
	for (;;)
		pause();
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int cmd_nofile(int n)
{
	int opened = 0;
	while (open("/dev/null", O_RDONLY) >= 0)
		opened++;
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&mu);
		pthread_mutex_unlock(&mu);
	}
	printf("descriptors exhausted after %d, %d pairs\n", opened > 0, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *cmd = argv[1], *name = argc > 2 ? argv[2] : "";
	if (!strcmp(cmd, "probe")) {
		int fd = new_image(name, getpid(), 0x1111, "probe");
		printf("%s\n", fd >= 0 ? "welcomed" : "refused");
		return 0;
	}
	if (!strcmp(cmd, "forge"))
		return cmd_forge(name);
	if (!strcmp(cmd, "shrink"))
		return cmd_shrink(name);
	if (!strcmp(cmd, "fds") && argc > 3)
		return cmd_fds(name, atoi(argv[3]));
	if (!strcmp(cmd, "maps") && argc > 3)
		return cmd_maps(name, atoi(argv[3]));
	if (!strcmp(cmd, "idle") && argc > 4)
		return cmd_idle(name, atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(cmd, "listen") && argc > 3)
		return cmd_listen(name, atoi(argv[3]));
	if (!strcmp(cmd, "forgepid") && argc > 3)
		cmd_forgepid(name, atoi(argv[3]));
	if (!strcmp(cmd, "nofile") && argc > 2)
		return cmd_nofile(atoi(argv[2]));
	return 2;
}
