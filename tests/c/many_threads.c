#define _GNU_SOURCE
/*
 * NTHREADS threads named "worker-K" (K = 0..NTHREADS-1), each locking a
 * mutex of its own NLOCK times (nobody else ever waits on it) and trying
 * once to take `gate`, which main holds all along: exactly NTHREADS failed
 * trylocks of gate, NTHREADS * NLOCK uncontended acquisitions of
 * NTHREADS distinct mutexes. For the report's grouping at scale.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS 200
#define NLOCK 10

pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	char name[16];
	snprintf(name, sizeof(name), "worker-%d", (int)(long)arg);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_t *own = malloc(sizeof(*own));
	if (!own)
		abort();
	pthread_mutex_init(own, NULL);
	for (int i = 0; i < NLOCK; i++) {
		pthread_mutex_lock(own);
		pthread_mutex_unlock(own);
	}
	pthread_mutex_destroy(own);
	free(own);
	if (pthread_mutex_trylock(&gate) == 0)
		abort(); /* main holds it */
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];
	pthread_mutex_lock(&gate);
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i))
			return 1;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_unlock(&gate);
	printf("%d workers\n", NTHREADS);
	return 0;
}
