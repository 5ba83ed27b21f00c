/*
 * The files beside a trace (TRACE-wal, -shm, -journal, -view), checked
 * before SQLite opens them. In a shared sticky directory such as /tmp
 * another user can create those names first: SQLite would then write the
 * trace's pages into their file, or block forever opening their FIFO
 * (docs/DESIGN.md, "Threat model: files").
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_kind(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

/*
 * Whether sb may stand beside a trace: a regular file with one link, owned
 * by us or by owner. Returns 0, otherwise -1 with the reason in err.
 */
static int sidecar_ok(const char *name, const struct stat *sb, uid_t owner, char *err,
		      size_t errlen)
{
	if (!S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "%s is %s", name, file_kind(sb->st_mode));
		return -1;
	}
	if (sb->st_uid != geteuid() && sb->st_uid != owner) {
		snprintf(err, errlen, "%s belongs to another user (uid %u)", name,
			 (unsigned)sb->st_uid);
		return -1;
	}
	/* A second name is a hard link someone made: writes would reach it too. */
	if (sb->st_nlink != 1) {
		snprintf(err, errlen, "%s has %u hard links", name, (unsigned)sb->st_nlink);
		return -1;
	}
	return 0;
}

/*
 * Looks at the file beside the trace, path + suffix (its name left in p).
 * Returns 0 when there is none, 1 when it may stand there (sidecar_ok);
 * otherwise -1 with one line in err: why, then refusal.
 */
static int sidecar_check(const char *path, const char *suffix, uid_t owner, const char *refusal,
			 char *p, size_t plen, char *err, size_t errlen)
{
	char why[4400];
	struct stat sb;
	snprintf(p, plen, "%s%s", path, suffix);
	if (lstat(p, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot check %s: %s", p, strerror(errno));
		return -1;
	}
	if (sidecar_ok(p, &sb, owner, why, sizeof(why))) {
		snprintf(err, errlen, "%s%s", why, refusal);
		return -1;
	}
	return 1;
}

/*
 * TRACE-view.tmpPID files a killed weft left behind (its follower makes one
 * when the program starts): removed when they are ours, regular, and their
 * weft is gone. Another user's, or a live weft's, stay.
 */
static void remove_dead_view_tmps(const char *path)
{
	char dir[4096], prefix[4200];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
	snprintf(prefix, sizeof(prefix), "%s-view.tmp", slash ? slash + 1 : path);
	size_t plen = strlen(prefix);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, prefix, plen) || !e->d_name[plen])
			continue;
		long pid = strtol(e->d_name + plen, &end, 10);
		struct stat sb;
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) != 0 ? errno != ESRCH : 1) ||
		    fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode) || sb.st_uid != geteuid())
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

int store_files_prepare_write(const char *path, char *err, size_t errlen)
{
	remove_dead_view_tmps(path);
	static const char *const suffix[] = {"-wal", "-shm", "-journal", "-view"};
	char p[4200];
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		int r = sidecar_check(
		    path, suffix[i], geteuid(),
		    " (planted by someone else?); refusing to write the trace beside it", p,
		    sizeof(p), err, errlen);
		if (r < 0)
			return -1;
		if (r && unlink(p) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove the stale %s: %s", p, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int store_files_create(const char *path, const char *suffix, char *err, size_t errlen)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

void store_files_remove_own(const char *path, const char *suffix)
{
	char p[4200];
	struct stat sb;
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid())
		unlink(p);
}

int store_files_check_read(const char *path, uid_t owner, char *err, size_t errlen)
{
	static const char *const suffix[] = {"-journal", "-wal", "-shm"};
	char p[4200];
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
		if (sidecar_check(path, suffix[i], owner, "; refusing to open the trace", p,
				  sizeof(p), err, errlen) < 0)
			return -1;
	return 0;
}

int store_files_check_cache(const char *cpath, uid_t owner, char *err, size_t errlen)
{
	char why[4400];
	struct stat sb;
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
	int fd = open(cpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			snprintf(err, errlen,
				 "%s is a symbolic link, not weft's cache; remove it to view the "
				 "trace",
				 cpath);
		else
			snprintf(err, errlen, "cannot open %s: %s", cpath, strerror(errno));
		return -1;
	}
	int r = fstat(fd, &sb);
	close(fd);
	if (r != 0) {
		snprintf(err, errlen, "cannot check %s: %s", cpath, strerror(errno));
		return -1;
	}
	if (sidecar_ok(cpath, &sb, owner, why, sizeof(why))) {
		snprintf(err, errlen,
			 "%s, not weft's cache of the trace; remove it to view the trace", why);
		return -1;
	}
	if (store_files_check_read(cpath, owner, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 1;
}
