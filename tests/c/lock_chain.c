/*
 * Two waits on one chain: "middle" holds inner and waits for outer, which
 * the main thread keeps while it sleeps; "last" waits for inner. weft
 * report lists middle's wait first (it began first and ended first), and
 * last's chain goes through middle's wait: the report prints that part
 * once, under middle, and last's chain points there. The threads start
 * each step once the one before is taken (atomics, which weft does not
 * record), so the order does not depend on the scheduler.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER, inner = PTHREAD_MUTEX_INITIALIZER;
static int middle_holds_inner, last_about_to_wait;

static void *middle(void *x)
{
	pthread_setname_np(pthread_self(), "middle");
	pthread_mutex_lock(&inner);
	__atomic_store_n(&middle_holds_inner, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&outer); /* kept by the main thread */
	pthread_mutex_unlock(&outer);
	pthread_mutex_unlock(&inner);
	return x;
}

static void *last(void *x)
{
	pthread_setname_np(pthread_self(), "last");
	while (!__atomic_load_n(&middle_holds_inner, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(50000); /* middle is in its wait for outer by now, and waits longer */
	__atomic_store_n(&last_about_to_wait, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&inner);
	pthread_mutex_unlock(&inner);
	return x;
}

int main(void)
{
	pthread_t m, l;
	pthread_mutex_lock(&outer);
	pthread_create(&m, 0, middle, 0);
	pthread_create(&l, 0, last, 0);
	while (!__atomic_load_n(&last_about_to_wait, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(100000);
	pthread_mutex_unlock(&outer);
	pthread_join(m, 0);
	pthread_join(l, 0);
	puts("done");
	return 0;
}
