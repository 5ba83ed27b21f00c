#define _GNU_SOURCE
/*
 * NTHREADS threads, one after another, each started and joined before the
 * next: thread K locks a mutex of its own K % 7 + 1 times, and every 16th
 * thread BIG times more (more than a ring's first stretch of records), so
 * the rings of ended threads are handed on to new ones, some after growing.
 * Every 50th thread, main pauses 20 ms: the collector frees ended threads'
 * rings meanwhile, so later threads really get used ones. Prints the
 * acquisitions it made.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define NTHREADS 400
#define BIG 3000

static long locks_of(long k)
{
	return k % 7 + 1 + (k % 16 == 0 ? BIG : 0);
}

static void *worker(void *arg)
{
	pthread_mutex_t own = PTHREAD_MUTEX_INITIALIZER;
	for (long i = 0; i < locks_of((long)arg); i++) {
		pthread_mutex_lock(&own);
		pthread_mutex_unlock(&own);
	}
	return NULL;
}

int main(void)
{
	long total = 0;
	for (long k = 0; k < NTHREADS; k++) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, (void *)k) != 0)
			return 1;
		pthread_join(t, NULL);
		total += locks_of(k);
		if (k % 50 == 49)
			nanosleep(&(struct timespec){0, 20000000}, NULL);
	}
	printf("threads=%d acquires=%ld\n", NTHREADS, total);
	return 0;
}
