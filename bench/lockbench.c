/*
 * Lock-heavy microbenchmark: NTHREADS threads, each doing PAIRS
 * lock/unlock pairs of its own mutex. Prints the mean ns per pair measured
 * inside the threads, so the tracer's start-up and trace writing are not
 * counted, only what it adds to each call.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NTHREADS 2

static long pairs = 1000000;
static double per_pair[NTHREADS];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	double t0 = now();
	for (long i = 0; i < pairs; i++) {
		pthread_mutex_lock(&mu);
		__asm__ volatile("" ::: "memory");
		pthread_mutex_unlock(&mu);
	}
	per_pair[id] = (now() - t0) / pairs;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		pairs = atol(argv[1]);
	pthread_t t[NTHREADS];
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	double sum = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		sum += per_pair[i];
	}
	printf("%.1f\n", sum / NTHREADS);
	return 0;
}
