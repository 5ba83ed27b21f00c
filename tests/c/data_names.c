/*
 * Objects named by where they live: a global, elements of a global array,
 * a member of a global struct (the data symbol and the offset inside it),
 * and heap locks made in one function many times (named by that function,
 * looked up once per call site). tests/integration/test_trace_core.sh.
 */
#include <pthread.h>
#include <stdlib.h>

pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_row[4] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
			       PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
struct registry {
	long entries;
	pthread_mutex_t guard;
} registry = {0, PTHREAD_MUTEX_INITIALIZER};

static void take(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
	pthread_mutex_unlock(m);
}

__attribute__((noinline)) static pthread_mutex_t *make_lock(void)
{
	pthread_mutex_t *m = malloc(sizeof(*m));
	pthread_mutex_init(m, NULL);
	return m;
}

int main(void)
{
	take(&big_lock);
	for (int i = 0; i < 4; i++)
		take(&lock_row[i]);
	take(&registry.guard);
	for (int i = 0; i < 300; i++) {
		pthread_mutex_t *m = make_lock();
		take(m);
		pthread_mutex_destroy(m);
		free(m);
	}
	return 0;
}
