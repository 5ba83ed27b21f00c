/*
 * Lossless under load: argv[1] threads each doing argv[2] lock/unlock
 * pairs on one shared mutex (heavy contention on purpose).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

pthread_mutex_t stress_mu = PTHREAD_MUTEX_INITIALIZER;
static long per_thread;
static long total;

static int go; /* set once every worker exists: they start together, so they contend */

static void *worker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		sched_yield();
	for (long i = 0; i < per_thread; i++) {
		pthread_mutex_lock(&stress_mu);
		total++;
		/*
		 * Now and then the holder gives way inside: another worker then
		 * finds the mutex taken even where threads run one at a time
		 * (valgrind), so some acquires always wait.
		 */
		if (i % 1000 == 999)
			sched_yield();
		pthread_mutex_unlock(&stress_mu);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	per_thread = argc > 2 ? atol(argv[2]) : 100000;
	pthread_t t[256];
	if (n > 256)
		n = 256;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("%ld\n", total);
	return 0;
}
