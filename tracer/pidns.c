/*
 * Thread ids inside pid namespaces (pidns.h). Ids are learnt lazily from
 * /proc's NSpid lines the first time a record names one: a traced program
 * outside any namespace of its own never pays for it.
 */
#include "tracer/pidns.h"
#include "tracer/hashmap.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t ns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap_u64 ns_ids; /* (namespace, id there) -> id in weft's namespace */

uint64_t pidns_of(int pid)
{
	char path[64];
	struct stat sb;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_ino : 0;
}

static uint64_t ns_key(uint64_t ns, int id)
{
	return (ns << 32) ^ (uint32_t)id;
}

/* The innermost NSpid of /proc/PATH/status: the id its own namespace gives it; -1 if none. */
static int ns_pid_of(const char *status_path)
{
	char buf[4096];
	int fd = open(status_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strstr(buf, "\nNSpid:");
	if (!p)
		return -1;
	p += 7;
	char *eol = strchr(p, '\n');
	if (eol)
		*eol = 0;
	char *last = strrchr(p, '\t');
	return atoi(last ? last + 1 : p);
}

/* Learns the namespace ids of every thread of host pid (or of /proc's processes). */
static void learn_ids(uint64_t ns, const char *dir, int only_ns)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[512];
	while ((e = readdir(d))) {
		int host = atoi(e->d_name);
		if (host <= 0)
			continue;
		if (only_ns && pidns_of(host) != ns)
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		int id = ns_pid_of(path);
		if (id > 0)
			hashmap_u64_put(&ns_ids, ns_key(ns, id), (uint64_t)host);
	}
	closedir(d);
}

int pidns_host_id(uint64_t weft_ns, uint64_t img_ns, int img_pid, int img_ns_pid, int ns_id)
{
	if (!img_ns || img_ns == weft_ns || ns_id <= 0)
		return ns_id;
	if (ns_id == img_ns_pid)
		return img_pid;
	pthread_mutex_lock(&ns_lock);
	uint64_t *v = hashmap_u64_get(&ns_ids, ns_key(img_ns, ns_id));
	if (!v) {
		/* Its own threads first, then any process of its namespace (a child's pid). */
		char dir[64];
		snprintf(dir, sizeof(dir), "/proc/%d/task", img_pid);
		learn_ids(img_ns, dir, 0);
		v = hashmap_u64_get(&ns_ids, ns_key(img_ns, ns_id));
		if (!v) {
			learn_ids(img_ns, "/proc", 1);
			v = hashmap_u64_get(&ns_ids, ns_key(img_ns, ns_id));
		}
	}
	int host = v ? (int)*v : ns_id;
	pthread_mutex_unlock(&ns_lock);
	return host;
}

void pidns_forget(void)
{
	pthread_mutex_lock(&ns_lock);
	hashmap_u64_free(&ns_ids);
	pthread_mutex_unlock(&ns_lock);
}
