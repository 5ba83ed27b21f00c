/*
 * Blocks every signal (the mask is inherited by its threads) and then
 * works: 4 threads doing SIGBLOCK_LOCKS lock/unlock pairs each and handing
 * a token around through a condition variable. With "forever" it keeps
 * locking until killed: SIGTERM cannot stop it, only SIGKILL can.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SIGBLOCK_LOCKS 1000
#define NTHREADS 4

pthread_mutex_t block_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t block_cv = PTHREAD_COND_INITIALIZER;
static int turn;
static int forever;

static void *worker(void *arg)
{
	int me = (int)(long)arg;
	for (int i = 0; forever || i < SIGBLOCK_LOCKS; i++) {
		pthread_mutex_lock(&block_mu);
		/* Every 100th round waits for its turn: cond waits with all signals blocked. */
		if (!forever && i % 100 == 0) {
			while (turn % NTHREADS != me)
				pthread_cond_wait(&block_cv, &block_mu);
			turn++;
			pthread_cond_broadcast(&block_cv);
		}
		pthread_mutex_unlock(&block_mu);
		if (forever)
			usleep(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	forever = argc > 1 && !strcmp(argv[1], "forever");
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	pthread_t t[NTHREADS];
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	if (forever) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	printf("turns %d\n", turn);
	return 0;
}
