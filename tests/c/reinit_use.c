/*
 * A mutex destroyed and made again at the same address by one thread,
 * then used by another thread microseconds later, CYCLES times. The user
 * records into its ring first (it takes an earlier ring than the maker),
 * so the collector, draining rings in order, mostly hands the writer the
 * use before the destroy and re-init it follows: the use must still land
 * on the new mutex, never on the destroyed one.
 * PAUSE_US 0: no pause between cycles, so the user gets many remakes ahead
 * of the collector and one destroyed mutex collects that many late uses.
 * Usage: reinit_use [CYCLES [PAUSE_US]]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t first_ring = PTHREAD_MUTEX_INITIALIZER;
static atomic_int phase, user_ready;
static int cycles = 200, pause_us = -1;

static void *user(void *arg)
{
	(void)arg;
	/* A record before the maker exists: this thread's ring comes first. */
	pthread_mutex_lock(&first_ring);
	pthread_mutex_unlock(&first_ring);
	atomic_store(&user_ready, 1);
	for (int i = 0; i < cycles; i++) {
		while (atomic_load(&phase) != 2 * i + 1)
			;
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		atomic_store(&phase, 2 * i + 2);
	}
	return NULL;
}

static void *maker(void *arg)
{
	(void)arg;
	for (int i = 0; i < cycles; i++) {
		while (atomic_load(&phase) != 2 * i)
			;
		/* Apart from the previous cycle, at any point of the collector's rounds. */
		long ns = pause_us < 0 ? 1000000 + (i % 7) * 300000 : pause_us * 1000L;
		struct timespec pause = {0, ns};
		if (ns)
			nanosleep(&pause, NULL);
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		pthread_mutex_destroy(&m);
		pthread_mutex_init(&m, NULL);
		atomic_store(&phase, 2 * i + 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cycles = atoi(argv[1]);
	if (argc > 2)
		pause_us = atoi(argv[2]);
	pthread_t u, k;
	pthread_create(&u, NULL, user, NULL);
	while (!atomic_load(&user_ready))
		;
	pthread_create(&k, NULL, maker, NULL);
	pthread_join(u, NULL);
	pthread_join(k, NULL);
	printf("cycles=%d\n", cycles);
	return 0;
}
