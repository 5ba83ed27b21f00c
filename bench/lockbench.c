/*
 * Lock-heavy microbenchmark: NTHREADS threads, each doing PAIRS
 * lock/unlock pairs of its own mutex (spread over SECONDS when given:
 * `lockbench PAIRS [SECONDS]`). Prints the mean ns per pair measured
 * inside the threads, so the tracer's start-up and trace writing are not
 * counted, only what it adds to each call.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NTHREADS 2

static long pairs = 1000000;
static double seconds; /* 0: as fast as it goes */
static double per_pair[NTHREADS];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Pairs per paced step: a step, then a sleep until the step's share of the time is up. */
#define STEP 10000

static void *worker(void *arg)
{
	long id = (long)arg;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	double start = now(), busy = 0;
	for (long done = 0; done < pairs; done += STEP) {
		long n = pairs - done < STEP ? pairs - done : STEP;
		double t0 = now();
		for (long i = 0; i < n; i++) {
			pthread_mutex_lock(&mu);
			__asm__ volatile("" ::: "memory");
			pthread_mutex_unlock(&mu);
		}
		busy += now() - t0;
		/* Paced: the pairs spread over `seconds`, as a program that runs a while. */
		double due = start + seconds * 1e9 * (double)(done + n) / (double)pairs;
		double wait = due - now();
		if (wait > 0) {
			struct timespec ts = {(time_t)(wait / 1e9),
					      (long)((long long)wait % 1000000000)};
			nanosleep(&ts, NULL);
		}
	}
	per_pair[id] = busy / pairs;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		pairs = atol(argv[1]);
	if (argc > 2)
		seconds = atof(argv[2]);
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
