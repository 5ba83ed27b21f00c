/*
 * Records NLOCKS lock/unlock pairs in each of two threads, then dies the
 * way argv[1] says (kill, segv, abort, exit-thread) while holding a lock.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NLOCKS 5000

pthread_mutex_t crash_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t done;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < NLOCKS; i++) {
		pthread_mutex_lock(&crash_mu);
		pthread_mutex_unlock(&crash_mu);
	}
	pthread_barrier_wait(&done);
	pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "kill";
	pthread_t t[2];
	pthread_barrier_init(&done, NULL, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	pthread_barrier_wait(&done);
	pthread_mutex_lock(&crash_mu);
	if (!strcmp(how, "kill"))
		raise(SIGKILL);
	if (!strcmp(how, "segv"))
		*(volatile int *)0 = 1;
	if (!strcmp(how, "abort"))
		abort();
	if (!strcmp(how, "exit-thread"))
		_exit(9);
	return 0;
}
