/*
 * A cond wait that another thread's signal ends late, because that thread
 * first waited for a lock the main thread kept while it slept: weft report's
 * blame chain goes from the waiter's cond to the signal that ended its wait,
 * then to the lock the signaler waited for and who held it. The signaler
 * starts once the waiter is in its cond wait, so that wait is the longest.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>

pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER, ready_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static int ready, waiting;

static void *waiter(void *x)
{
	pthread_setname_np(pthread_self(), "waiter");
	pthread_mutex_lock(&ready_mu);
	waiting = 1; /* ready_mu is let go only inside the cond wait */
	while (!ready)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
	return x;
}

static void *signaler(void *x)
{
	pthread_setname_np(pthread_self(), "signaler");
	pthread_mutex_lock(&gate); /* the main thread keeps it for 200 ms */
	pthread_mutex_unlock(&gate);
	pthread_mutex_lock(&ready_mu);
	ready = 1;
	pthread_cond_signal(&ready_cv);
	pthread_mutex_unlock(&ready_mu);
	return x;
}

int main(void)
{
	pthread_t w, s;
	pthread_mutex_lock(&gate);
	pthread_create(&w, 0, waiter, 0);
	int in_wait = 0;
	while (!in_wait) {
		pthread_mutex_lock(&ready_mu);
		in_wait = waiting;
		pthread_mutex_unlock(&ready_mu);
		if (!in_wait)
			usleep(1000);
	}
	pthread_create(&s, 0, signaler, 0);
	usleep(200000);
	pthread_mutex_unlock(&gate);
	pthread_join(w, 0);
	pthread_join(s, 0);
	return 0;
}
