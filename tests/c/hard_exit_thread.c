/*
 * A non-main thread calls _exit while the main thread is blocked in
 * pthread_join and two other threads sit in pause(): the whole process
 * ends from a thread that is not main. Every worker first does
 * EXIT_LOCKS lock/unlock pairs (exact counts for the test), then they
 * meet on a barrier so the exit happens after all of them are recorded.
 * Exit status 7.
 */
#include <pthread.h>
#include <unistd.h>

#define EXIT_LOCKS 2000

pthread_mutex_t exit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all_done;

static void *idler(void *arg)
{
	(void)arg;
	for (int i = 0; i < EXIT_LOCKS; i++) {
		pthread_mutex_lock(&exit_mu);
		pthread_mutex_unlock(&exit_mu);
	}
	pthread_barrier_wait(&all_done);
	for (;;)
		pause();
	return NULL;
}

static void *exiter(void *arg)
{
	(void)arg;
	for (int i = 0; i < EXIT_LOCKS; i++) {
		pthread_mutex_lock(&exit_mu);
		pthread_mutex_unlock(&exit_mu);
	}
	pthread_barrier_wait(&all_done);
	/* Holding the lock on purpose: the process ends with it held. */
	pthread_mutex_lock(&exit_mu);
	_exit(7);
}

int main(void)
{
	pthread_t t[3];
	pthread_barrier_init(&all_done, NULL, 3);
	pthread_create(&t[0], NULL, idler, NULL);
	pthread_create(&t[1], NULL, idler, NULL);
	pthread_create(&t[2], NULL, exiter, NULL);
	pthread_join(t[2], NULL); /* never returns: the exiter ends the process */
	return 0;
}
