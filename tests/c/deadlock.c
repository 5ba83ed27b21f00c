/*
 * A real deadlock: two threads take lock_a and lock_b in opposite orders,
 * each sleeping in between so both hold one lock and wait for the other.
 */
#include <pthread.h>
#include <unistd.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *first(void *x)
{
	pthread_mutex_lock(&lock_a);
	usleep(100000);
	pthread_mutex_lock(&lock_b);
	return x;
}

static void *second(void *x)
{
	pthread_mutex_lock(&lock_b);
	usleep(100000);
	pthread_mutex_lock(&lock_a);
	return x;
}

int main(void)
{
	pthread_t a, b;
	pthread_create(&a, 0, first, 0);
	pthread_create(&b, 0, second, 0);
	pthread_join(a, 0);
	pthread_join(b, 0);
	return 0;
}
