/*
 * Hooks for the process tree: fork, vfork, the exec family (with the
 * tracer's environment re-injected when the program scrubbed it),
 * posix_spawn, system, popen, exit and wait. Also keeps the program from
 * closing the collector connection (daemons close every descriptor).
 */
#include "preload/preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALLER __builtin_return_address(0)

extern char **environ;

/* Room for the fixed environment: the program's entries plus ours. */
#define ENV_SLOTS(envp) (weft_env_count(envp) + 10)
#define LDBUF 4096

static int exit_recorded;

/* ---- fork ----------------------------------------------------------------- */

WEFT_HOOK pid_t fork(void)
{
	int rec = weft_should_record();
	void *caller = CALLER;
	uint64_t t0 = rec ? weft_now() : 0;
	/* The child's reset happens in the atfork child handler, inside fork. */
	pid_t pid = REAL(fork)();
	if (pid > 0 && rec) {
		weft_record_waited(WEFT_EV_PROCESS_FORK, t0, pid, caller);
	}
	if (pid == 0)
		exit_recorded = 0;
	return pid;
}

/*
 * A wrapper cannot return twice from a real vfork (the child would return
 * through, and destroy, the frame the parent resumes on), so vfork is fork.
 */
WEFT_HOOK pid_t vfork(void)
{
	return fork();
}

/*
 * A raw clone/clone3 through syscall() without CLONE_VM is a fork the C
 * library never hears of: give the child its own rings as fork would.
 */
#include <linux/futex.h>
#include <linux/sched.h>
#include <sys/syscall.h>

/*
 * Runtimes with their own locks (Rust's std, parking lots) block in
 * FUTEX_WAIT through libc's syscall() only when a lock is contended, and
 * call FUTEX_WAKE only when someone may wait: those calls are what weft can
 * see of such locks. glibc's own futexes never come through here.
 */
static long futex_call(long (*real_syscall)(long, ...), long a1, long a2, long a3, long a4, long a5,
		       long a6, void *caller)
{
	int cmd = (int)a2 & FUTEX_CMD_MASK;
	int wait = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
	if (!(wait || cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET) || !weft_should_record())
		return real_syscall(SYS_futex, a1, a2, a3, a4, a5, a6);
	uint64_t t0 = weft_now();
	long rc = real_syscall(SYS_futex, a1, a2, a3, a4, a5, a6);
	int err = errno;
	uint64_t t1 = weft_now();
	if (wait)
		weft_record(&(struct weft_event){.kind = WEFT_EV_FUTEX_WAIT,
						 .objkind = WEFT_OBJ_FUTEX,
						 .obj = (void *)a1,
						 .ts = t1,
						 .wait = t1 - t0,
						 .arg = rc == 0 ? 0 : err,
						 .caller = caller});
	else
		weft_record(&(struct weft_event){.kind = WEFT_EV_FUTEX_WAKE,
						 .objkind = WEFT_OBJ_FUTEX,
						 .obj = (void *)a1,
						 .ts = t1,
						 .arg = rc < 0 ? -err : rc,
						 .caller = caller});
	errno = err;
	return rc;
}

WEFT_HOOK long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	static long (*real_syscall)(long, ...);
	if (!real_syscall)
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (nr == SYS_futex)
		return futex_call(real_syscall, a1, a2, a3, a4, a5, a6, CALLER);
	int forklike = 0;
	if (nr == SYS_clone)
		forklike = !((unsigned long)a1 & CLONE_VM);
	else if (nr == SYS_clone3 && a1)
		forklike = !(((const struct clone_args *)a1)->flags & CLONE_VM);
	if (!forklike)
		return real_syscall(nr, a1, a2, a3, a4, a5, a6);
	int rec = weft_should_record();
	uint64_t t0 = rec ? weft_now() : 0;
	long rc = real_syscall(nr, a1, a2, a3, a4, a5, a6);
	if (rc == 0) {
		weft_after_fork_child();
	} else if (rc > 0 && rec) {
		weft_record_waited(WEFT_EV_PROCESS_FORK, t0, rc, CALLER);
	}
	return rc;
}

/* ---- exec ----------------------------------------------------------------- */

static size_t argv_payload(char *const argv[], char *buf, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; argv && argv[i] && n < len; i++) {
		size_t l = strlen(argv[i]) + 1;
		if (n + l > len)
			l = len - n;
		memcpy(buf + n, argv[i], l);
		n += l;
	}
	return n;
}

static void record_exec(char *const argv[], void *caller)
{
	if (!weft_should_record())
		return;
	char buf[4096];
	size_t n = argv_payload(argv, buf, sizeof(buf));
	weft_record(&(struct weft_event){.kind = WEFT_EV_PROCESS_EXEC,
					 .ts = weft_now(),
					 .caller = caller,
					 .payload = buf,
					 .payload_len = (uint32_t)n});
}

/* The exec calls that take an environment, which weft passes on fixed (weft_env_fix). */
enum { EXEC_VE, EXEC_VPE, EXEC_FD, EXEC_AT };

/*
 * Whether an exec of path fails for want of the file (ENOENT, ENOTDIR, in
 * errno): a miss of a PATH search (subprocess and sh try every directory
 * in turn, an execve each). fexecve and AT_EMPTY_PATH name no file;
 * execvpe searches inside libc, one call; a flag faccessat does not
 * share (AT_EMPTY_PATH, an invalid one) leaves it to the kernel, and so
 * does a process weft does not record.
 */
static int exec_file_missing(int call, int fd, const char *path, int flags)
{
	if (call == EXEC_FD || call == EXEC_VPE || !path || !*path ||
	    (flags & ~AT_SYMLINK_NOFOLLOW) || !weft_should_record())
		return 0;
	int at = call == EXEC_AT ? fd : AT_FDCWD;
	if (faccessat(at, path, F_OK, AT_EACCESS | (flags & AT_SYMLINK_NOFOLLOW)) == 0)
		return 0;
	return errno == ENOENT || errno == ENOTDIR;
}

/*
 * Records the exec and runs it with its environment fixed; when it
 * returns (it failed), records the failure. An exec of a file that is not
 * there is answered as the kernel would, without the call (the same as an
 * exec a moment earlier, should the file be appearing): one row, its
 * failure, where recording the attempt first would leave two per miss of
 * a PATH search and no row for an exec that won a race with the file.
 * Returns the exec's result, errno kept.
 */
static int exec_recorded(int call, int fd, const char *path, char *const argv[], char *const envp[],
			 int flags, void *caller)
{
	if (exec_file_missing(call, fd, path, flags)) {
		int err = errno; /* a recorded process's (exec_file_missing) */
		weft_record(&(struct weft_event){
		    .kind = WEFT_EV_PROCESS_EXEC, .ts = weft_now(), .arg = err, .caller = caller});
		errno = err;
		return -1;
	}
	char *fixed[ENV_SLOTS(envp)];
	char ld[LDBUF];
	record_exec(argv, caller);
	char **env = weft_env_fix(envp, fixed, ENV_SLOTS(envp), ld, LDBUF);
	int rc;
	switch (call) {
	case EXEC_VE:
		rc = REAL(execve)(path, argv, env);
		break;
	case EXEC_VPE:
		rc = REAL(execvpe)(path, argv, env);
		break;
	case EXEC_FD:
		rc = REAL(fexecve)(fd, argv, env);
		break;
	default:
		rc = REAL(execveat)(fd, path, argv, env, flags);
	}
	int err = errno;
	if (weft_should_record())
		weft_record(&(struct weft_event){
		    .kind = WEFT_EV_PROCESS_EXEC, .ts = weft_now(), .arg = err, .caller = caller});
	errno = err;
	return rc;
}

WEFT_HOOK int execve(const char *path, char *const argv[], char *const envp[])
{
	return exec_recorded(EXEC_VE, -1, path, argv, envp, 0, CALLER);
}

WEFT_HOOK int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return exec_recorded(EXEC_VPE, -1, file, argv, envp, 0, CALLER);
}

WEFT_HOOK int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

WEFT_HOOK int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

WEFT_HOOK int fexecve(int fd, char *const argv[], char *const envp[])
{
	return exec_recorded(EXEC_FD, fd, NULL, argv, envp, 0, CALLER);
}

WEFT_HOOK int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags)
{
	return exec_recorded(EXEC_AT, dirfd, path, argv, envp, flags, CALLER);
}

/* Collects execl-style variadic arguments into argv (on the caller's stack). */
#define COLLECT_ARGS(first, argv, envp_out)                                                        \
	size_t argc_ = 1;                                                                          \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, first);                                                               \
		while (va_arg(ap, char *))                                                         \
			argc_++;                                                                   \
		va_end(ap);                                                                        \
	}                                                                                          \
	char *argv[argc_ + 1];                                                                     \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, first);                                                               \
		argv[0] = (char *)first;                                                           \
		for (size_t i = 1; i <= argc_; i++)                                                \
			argv[i] = va_arg(ap, char *);                                              \
		envp_out = va_arg(ap, char **);                                                    \
		va_end(ap);                                                                        \
	}

WEFT_HOOK int execl(const char *path, const char *arg, ...)
{
	char **unused;
	COLLECT_ARGS(arg, argv, unused);
	(void)unused;
	return execve(path, argv, environ);
}

WEFT_HOOK int execlp(const char *file, const char *arg, ...)
{
	char **unused;
	COLLECT_ARGS(arg, argv, unused);
	(void)unused;
	return execvpe(file, argv, environ);
}

WEFT_HOOK int execle(const char *path, const char *arg, ...)
{
	char **envp;
	COLLECT_ARGS(arg, argv, envp);
	return execve(path, argv, envp);
}

/* ---- spawn ------------------------------------------------------------------ */

typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

/* posix_spawn and posix_spawnp: the environment re-injected, the child's pid recorded. */
static int spawn_traced(spawn_fn real, pid_t *pid, const char *file,
			const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
			char *const argv[], char *const envp[], void *caller)
{
	char *fixed[ENV_SLOTS(envp)];
	char ld[LDBUF];
	pid_t child = 0;
	uint64_t t0 = weft_now();
	int rc = real(&child, file, fa, attr, argv,
		      weft_env_fix(envp, fixed, ENV_SLOTS(envp), ld, LDBUF));
	if (pid)
		*pid = child;
	if (rc == 0 && weft_should_record()) {
		weft_record_waited(WEFT_EV_PROCESS_SPAWN, t0, child, caller);
	}
	return rc;
}

WEFT_HOOK int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_traced(REAL(posix_spawn), pid, path, fa, attr, argv, envp, CALLER);
}

WEFT_HOOK int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_traced(REAL(posix_spawnp), pid, file, fa, attr, argv, envp, CALLER);
}

/*
 * system() and popen() start /bin/sh with the process's environ (the
 * shell's pid is not returned to us). A program that scrubbed our variables
 * from it (clearenv, unsetenv("LD_PRELOAD")) would start an untraced shell
 * and lose everything below it, so for the call environ is a repaired copy
 * on our stack. Other threads reading the environment meanwhile see the
 * same entries plus ours; if one replaces environ meanwhile, its array is
 * kept.
 */
#define WITH_FIXED_ENV(call)                                                                       \
	do {                                                                                       \
		char **saved_ = environ;                                                           \
		size_t n_ = ENV_SLOTS(saved_);                                                     \
		char *fixed_[n_];                                                                  \
		char ld_[LDBUF];                                                                   \
		char **env_ = weft_env_fix(saved_, fixed_, n_, ld_, LDBUF);                        \
		environ = env_;                                                                    \
		call;                                                                              \
		if (environ == env_)                                                               \
			environ = saved_;                                                          \
	} while (0)

WEFT_HOOK int system(const char *cmd)
{
	if (cmd && weft_should_record())
		weft_record(&(struct weft_event){
		    .kind = WEFT_EV_PROCESS_SPAWN, .ts = weft_now(), .caller = CALLER});
	if (!cmd || !weft_on || weft_env_intact(environ))
		return REAL(system)(cmd);
	int rc;
	WITH_FIXED_ENV(rc = REAL(system)(cmd));
	return rc;
}

WEFT_HOOK FILE *popen(const char *cmd, const char *mode)
{
	FILE *f;
	if (!weft_on || weft_env_intact(environ))
		f = REAL(popen)(cmd, mode);
	else
		WITH_FIXED_ENV(f = REAL(popen)(cmd, mode));
	if (f && weft_should_record())
		weft_record(&(struct weft_event){
		    .kind = WEFT_EV_PROCESS_SPAWN, .ts = weft_now(), .caller = CALLER});
	return f;
}

/* ---- exit and wait ------------------------------------------------------------ */

static void record_exit(int status, void *caller)
{
	if (exit_recorded || !weft_should_record())
		return;
	exit_recorded = 1;
	weft_record(&(struct weft_event){.kind = WEFT_EV_PROCESS_EXIT,
					 .ts = weft_now(),
					 .arg = status & 0xff,
					 .caller = caller});
	weft_flush_lost();
}

WEFT_HOOK void exit(int status)
{
	record_exit(status, CALLER);
	REAL(exit)(status);
	__builtin_unreachable();
}

WEFT_HOOK void _exit(int status)
{
	record_exit(status, CALLER);
	REAL(_exit)(status);
	__builtin_unreachable();
}

WEFT_HOOK void _Exit(int status)
{
	record_exit(status, CALLER);
	REAL(_Exit)(status);
	__builtin_unreachable();
}

/* Returning from main calls exit() inside libc, past our hook: say so here. */
__attribute__((destructor)) static void weft_fini(void)
{
	if (!exit_recorded && weft_should_record()) {
		exit_recorded = 1;
		weft_record(&(struct weft_event){
		    .kind = WEFT_EV_PROCESS_EXIT, .ts = weft_now(), .arg = -1});
		weft_flush_lost();
	}
}

/*
 * A reaped child's status, for children of children the tracer cannot reap
 * itself. A stop (WIFSTOPPED: job control, a ptrace stop) is not a reap.
 */
static void record_reap(pid_t pid, int status, int options, uint64_t t0, void *caller)
{
	if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status)) || !weft_should_record())
		return;
	uint64_t t1 = weft_now();
	uint64_t word = (unsigned)status;
	if (options & (__WALL | __WCLONE))
		word |= WEFT_REAP_CLONE;
	weft_record(&(struct weft_event){.kind = WEFT_EV_PROCESS_REAP,
					 .obj = (void *)(uintptr_t)word,
					 .ts = t1,
					 .wait = t1 - t0,
					 .arg = pid,
					 .caller = caller});
}

WEFT_HOOK pid_t waitpid(pid_t p, int *status, int options)
{
	int st = 0;
	uint64_t t0 = weft_now();
	pid_t r = REAL(waitpid)(p, &st, options);
	int err = errno;
	if (status)
		*status = st;
	if (r > 0)
		record_reap(r, st, options, t0, CALLER);
	errno = err;
	return r;
}

WEFT_HOOK pid_t wait(int *status)
{
	return waitpid(-1, status, 0);
}

WEFT_HOOK pid_t wait4(pid_t p, int *status, int options, struct rusage *ru)
{
	int st = 0;
	uint64_t t0 = weft_now();
	pid_t r = REAL(wait4)(p, &st, options, ru);
	int err = errno;
	if (status)
		*status = st;
	if (r > 0)
		record_reap(r, st, options, t0, CALLER);
	errno = err;
	return r;
}

WEFT_HOOK pid_t wait3(int *status, int options, struct rusage *ru)
{
	return wait4(-1, status, options, ru);
}

/* ---- the collector connection survives close-everything loops ---------------- */

WEFT_HOOK int close(int fd)
{
	if (WEFT_UNLIKELY(fd == weft_sock_fd && fd >= 0))
		return 0;
	return REAL(close)(fd);
}

WEFT_HOOK int close_range(unsigned first, unsigned last, int flags)
{
	unsigned s = (unsigned)weft_sock_fd;
	if (weft_sock_fd < 0 || s < first || s > last)
		return REAL(close_range)(first, last, flags);
	int rc = 0;
	if (s > first)
		rc = REAL(close_range)(first, s - 1, flags);
	if (rc == 0 && s < last)
		rc = REAL(close_range)(s + 1, last, flags);
	return rc;
}

WEFT_HOOK void closefrom(int lowfd)
{
	if (weft_sock_fd < 0 || weft_sock_fd < lowfd) {
		REAL(closefrom)(lowfd);
		return;
	}
	if (weft_sock_fd > lowfd)
		close_range((unsigned)lowfd, (unsigned)weft_sock_fd - 1, 0);
	REAL(closefrom)(weft_sock_fd + 1);
}
