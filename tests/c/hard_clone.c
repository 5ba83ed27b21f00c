/*
 * Creates a child with the raw clone or clone3 system call (argv[1]),
 * past libc's fork(): no atfork handlers run in the child, so a preload
 * library's per-thread state is a stale copy of the parent's. The parent
 * does CLONE_LOCKS pairs before the clone and CLONE_LOCKS after the child
 * is gone; the child does CLONE_LOCKS pairs on child_mu and ends with the
 * raw exit_group call after a pause. Prints the child's pid and exit status.
 */
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLONE_LOCKS 100

pthread_mutex_t parent_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t child_mu = PTHREAD_MUTEX_INITIALIZER;

static void pairs(pthread_mutex_t *m)
{
	for (int i = 0; i < CLONE_LOCKS; i++) {
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
	}
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "clone";
	pairs(&parent_mu);
	fflush(stdout);
	long pid;
	if (!strcmp(how, "clone3")) {
		struct clone_args ca;
		memset(&ca, 0, sizeof(ca));
		ca.exit_signal = SIGCHLD;
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
	} else {
		/* x86-64 argument order: flags, stack, parent_tid, child_tid, tls. */
		pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0ul, NULL, NULL, 0ul);
	}
	if (pid < 0) {
		perror(how);
		return 1;
	}
	if (pid == 0) {
		pairs(&child_mu);
		/* Time for a collector to see whatever the child published. */
		usleep(100 * 1000);
		syscall(SYS_exit_group, 5);
	}
	int st = 0;
	waitpid((pid_t)pid, &st, 0);
	pairs(&parent_mu);
	printf("child %ld status %d\n", pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
