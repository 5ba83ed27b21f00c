/*
 * Threads that take a lock in a thread-specific data destructor, as
 * OpenSSL's and libunwind's per-thread cleanups do. Each of THREADS
 * threads first makes PAIRS lock pairs of its own (its ring is still being
 * drained when it exits), then exits; its destructor takes and releases
 * cleanup_mu once in glibc's first round of destructors (the thread's exit
 * is recorded after that round), and puts its value back so that it runs
 * again in the second round, after weft's destructor recorded the exit and
 * retired the ring: it takes late_mu then, recorded in another ring. One
 * more thread is cancelled while it sleeps, and its destructors run so too.
 * Usage: exit_destructors [PAIRS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define THREADS 8

static pthread_mutex_t work_mu[THREADS];
static pthread_mutex_t cleanup_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t late_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t cleanup_key;
static long pairs = 200000;
static int second_round;

static void cleanup(void *v)
{
	pthread_mutex_t *mu = v == &second_round ? &late_mu : &cleanup_mu;
	pthread_mutex_lock(mu);
	pthread_mutex_unlock(mu);
	if (mu == &cleanup_mu)
		pthread_setspecific(cleanup_key, &second_round);
}

static void *worker(void *arg)
{
	pthread_mutex_t *mu = arg;
	pthread_setspecific(cleanup_key, mu);
	for (long i = 0; i < pairs; i++) {
		pthread_mutex_lock(mu);
		pthread_mutex_unlock(mu);
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	pthread_setspecific(cleanup_key, arg);
	for (;;)
		pause(); /* a cancellation point */
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		pairs = atol(argv[1]);
	pthread_key_create(&cleanup_key, cleanup);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		pthread_mutex_init(&work_mu[i], NULL);
		pthread_create(&t[i], NULL, worker, &work_mu[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_t cancelled;
	void *status = NULL;
	pthread_create(&cancelled, NULL, sleeper, &cleanup_mu);
	usleep(20 * 1000);
	pthread_cancel(cancelled);
	pthread_join(cancelled, &status);
	printf("%d threads, %s\n", THREADS,
	       status == PTHREAD_CANCELED ? "1 cancelled" : "the sleeper not cancelled");
	return 0;
}
