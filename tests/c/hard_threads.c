/*
 * Many threads: argv[1] threads in all, argv[2] alive at the same time
 * (waves that meet on a barrier, so they really overlap), stacks of
 * argv[3] KiB (0: the default). Every thread does one lock/unlock pair.
 * Prints the number of threads that ran.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t many_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t wave;
static long ran;

static void *worker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&wave);
	pthread_mutex_lock(&many_mu);
	ran++;
	pthread_mutex_unlock(&many_mu);
	return NULL;
}

int main(int argc, char **argv)
{
	int total = argc > 1 ? atoi(argv[1]) : 1000;
	int alive = argc > 2 ? atoi(argv[2]) : 100;
	long stack_kb = argc > 3 ? atol(argv[3]) : 0;
	if (alive < 1 || total % alive) {
		fprintf(stderr, "total must be a multiple of alive\n");
		return 2;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (stack_kb) {
		size_t sz = (size_t)stack_kb * 1024;
		if (sz < (size_t)PTHREAD_STACK_MIN)
			sz = (size_t)PTHREAD_STACK_MIN;
		int rc = pthread_attr_setstacksize(&attr, sz);
		if (rc) {
			fprintf(stderr, "setstacksize: %s\n", strerror(rc));
			return 2;
		}
	}
	pthread_t *t = calloc((size_t)alive, sizeof(*t));
	if (!t)
		return 1;
	for (int done = 0; done < total; done += alive) {
		pthread_barrier_init(&wave, NULL, (unsigned)alive);
		for (int i = 0; i < alive; i++) {
			int rc = pthread_create(&t[i], &attr, worker, NULL);
			if (rc) {
				fprintf(stderr, "pthread_create #%d: %s\n", done + i, strerror(rc));
				return 1;
			}
		}
		for (int i = 0; i < alive; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&wave);
	}
	printf("ran %ld\n", ran);
	free(t);
	return 0;
}
