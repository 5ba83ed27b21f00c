/*
 * A thread named "forker" forks; the child takes a lock (so that the trace
 * knows its thread before the exec), waits, and execs /bin/true. The
 * child's one thread is "true" after that, as the kernel names it, not
 * the forking thread's name it had before.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t child_mu = PTHREAD_MUTEX_INITIALIZER;

static void *forker(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "forker");
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(&child_mu);
		pthread_mutex_unlock(&child_mu);
		usleep(200 * 1000);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("child %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, forker, NULL);
	pthread_join(t, NULL);
	return 0;
}
