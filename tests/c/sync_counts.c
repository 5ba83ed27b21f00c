#define _GNU_SOURCE
/*
 * Exactly known numbers of every synchronization operation, for the trace
 * core's exact-count tests. Per worker thread (NTHREADS of them):
 *   NMUTEX lock/unlock of shared_mu, NREAD rdlock + NWRITE wrlock of table_rw,
 *   NSPIN spin lock/unlock of spin, NTRY failing trylocks of busy_mu (held by main),
 *   NSEM sem_wait on items (main posts NTHREADS*NSEM), NBARRIER barrier waits.
 * Plus one cond ping-pong of NPING rounds between two extra threads named
 * "ping" and "pong" (exactly 2*NPING cond signals; waits depend on timing).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#define NTHREADS 4
#define NMUTEX 1000
#define NREAD 500
#define NWRITE 250
#define NSPIN 100
#define NTRY 200
#define NSEM 300
#define NBARRIER 10
#define NPING 50

pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t busy_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t table_rw = PTHREAD_RWLOCK_INITIALIZER;
pthread_spinlock_t spin;
sem_t items;
pthread_barrier_t step_barrier;
pthread_mutex_t ping_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t ping_cv = PTHREAD_COND_INITIALIZER;
int turn; /* 0: ping's turn, 1: pong's */
long counter, spun, table;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < NMUTEX; i++) {
		pthread_mutex_lock(&shared_mu);
		counter++;
		pthread_mutex_unlock(&shared_mu);
	}
	for (int i = 0; i < NREAD; i++) {
		pthread_rwlock_rdlock(&table_rw);
		long v = table;
		(void)v;
		pthread_rwlock_unlock(&table_rw);
	}
	for (int i = 0; i < NWRITE; i++) {
		pthread_rwlock_wrlock(&table_rw);
		table++;
		pthread_rwlock_unlock(&table_rw);
	}
	for (int i = 0; i < NSPIN; i++) {
		pthread_spin_lock(&spin);
		spun++;
		pthread_spin_unlock(&spin);
	}
	for (int i = 0; i < NTRY; i++)
		if (pthread_mutex_trylock(&busy_mu) == 0)
			pthread_mutex_unlock(&busy_mu);
	for (int i = 0; i < NSEM; i++)
		sem_wait(&items);
	for (int i = 0; i < NBARRIER; i++)
		pthread_barrier_wait(&step_barrier);
	return NULL;
}

static void *pinger(void *arg)
{
	int me = (int)(long)arg;
	pthread_setname_np(pthread_self(), me ? "pong" : "ping");
	for (int i = 0; i < NPING; i++) {
		pthread_mutex_lock(&ping_mu);
		while (turn != me)
			pthread_cond_wait(&ping_cv, &ping_mu);
		turn = !me;
		pthread_cond_signal(&ping_cv);
		pthread_mutex_unlock(&ping_mu);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS], p[2];
	pthread_spin_init(&spin, 0);
	sem_init(&items, 0, 0);
	pthread_barrier_init(&step_barrier, NULL, NTHREADS);
	pthread_mutex_lock(&busy_mu);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 2; i++)
		pthread_create(&p[i], NULL, pinger, (void *)(long)i);
	for (int i = 0; i < NTHREADS * NSEM; i++)
		sem_post(&items);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(p[i], NULL);
	pthread_mutex_unlock(&busy_mu);
	pthread_barrier_destroy(&step_barrier);
	sem_destroy(&items);
	pthread_spin_destroy(&spin);
	printf("counter=%ld spun=%ld table=%ld\n", counter, spun, table);
	return 0;
}
