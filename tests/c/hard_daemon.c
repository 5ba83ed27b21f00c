/*
 * A classic daemon: fork, setsid, fork again, chdir /, close every file
 * descriptor, reopen /dev/null, then do DAEMON_LOCKS lock/unlock pairs and
 * exit 0. argv[1] says how descriptors are closed: close_range (libc
 * wrapper), closefrom, loop (close(0..max) one by one) or sys_close_range
 * (the raw system call, past any wrapper). argv[2] is a file the daemon
 * writes its pid into after its lock work, so the test can check that
 * `weft run` outlived it. The original process exits 0 as soon as the
 * intermediate child is gone.
 */
#define _GNU_SOURCE /* close_range, closefrom */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DAEMON_LOCKS 50

pthread_mutex_t daemon_mu = PTHREAD_MUTEX_INITIALIZER;

static void close_everything(const char *how)
{
	if (!strcmp(how, "close_range")) {
		close_range(0, ~0u, 0);
	} else if (!strcmp(how, "closefrom")) {
		closefrom(0);
	} else if (!strcmp(how, "sys_close_range")) {
		syscall(SYS_close_range, 0u, ~0u, 0u);
	} else {
		struct rlimit rl;
		long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : 1024;
		if (max > 65536)
			max = 65536;
		for (long fd = 0; fd < max; fd++)
			close((int)fd);
	}
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "loop";
	const char *pidfile = argc > 2 ? argv[2] : "/dev/null";
	pid_t p = fork();
	if (p < 0)
		return 1;
	if (p > 0) {
		int st;
		waitpid(p, &st, 0);
		return 0;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	/* The daemon: its parent is gone, so the tracer (a subreaper) adopts it. */
	if (chdir("/") != 0)
		_exit(2);
	close_everything(how);
	int fd = open("/dev/null", O_RDWR);
	if (fd == 0) {
		dup2(0, 1);
		dup2(0, 2);
	}
	usleep(200 * 1000); /* let the parents exit first */
	for (int i = 0; i < DAEMON_LOCKS; i++) {
		pthread_mutex_lock(&daemon_mu);
		pthread_mutex_unlock(&daemon_mu);
	}
	int out = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out >= 0) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
		if (write(out, buf, (size_t)n) != n)
			_exit(3);
		close(out);
	}
	usleep(200 * 1000); /* weft must wait for this too */
	exit(0);
}
