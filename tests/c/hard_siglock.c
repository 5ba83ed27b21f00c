/*
 * A signal handler that takes locks while the interrupted thread is in the
 * middle of its own lock calls. The target thread does argv[1] (default
 * 200000) lock/unlock pairs on loop_mu; another thread keeps sending it
 * SIGUSR1 until it is done. The handler locks and unlocks handler_mu (a
 * lock the interrupted code never holds, so the program itself cannot
 * deadlock) and posts handler_sem (async-signal-safe). Prints
 * "loops=N handled=H": the handler made 3*H calls.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

pthread_mutex_t loop_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t handler_mu = PTHREAD_MUTEX_INITIALIZER;
sem_t handler_sem;
static volatile sig_atomic_t handled;
static volatile int done;

static void on_usr1(int sig)
{
	(void)sig;
	pthread_mutex_lock(&handler_mu);
	handled++;
	pthread_mutex_unlock(&handler_mu);
	sem_post(&handler_sem);
}

static long loops;

static void *target(void *arg)
{
	(void)arg;
	for (long i = 0; i < loops; i++) {
		pthread_mutex_lock(&loop_mu);
		pthread_mutex_unlock(&loop_mu);
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int main(int argc, char **argv)
{
	loops = argc > 1 ? atol(argv[1]) : 200000;
	sem_init(&handler_sem, 0, 0);
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	/* pthread_kill aims at the target thread alone. */
	pthread_t t;
	pthread_create(&t, NULL, target, NULL);
	struct timespec gap = {0, 20000};
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		pthread_kill(t, SIGUSR1);
		nanosleep(&gap, NULL);
	}
	pthread_join(t, NULL);
	printf("loops=%ld handled=%d\n", loops, (int)handled);
	return 0;
}
