/*
 * Threads that synchronize only through raw futex system calls, as Rust's
 * std::sync::Mutex and Go's runtime do: no pthread lock, condition or
 * semaphore call reaches libc. argv[1] threads (default 4) each take the
 * futex lock FUTEX_ITERS times around a shared counter, then the main
 * thread joins them. Prints the counter.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUTEX_ITERS 10000

/* 0 free, 1 taken, 2 taken with waiters (Drepper's "Futexes are tricky", mutex 2). */
static atomic_int word;
static long counter;

static void futex_lock(void)
{
	int c = 0;
	if (atomic_compare_exchange_strong(&word, &c, 1))
		return;
	if (c != 2)
		c = atomic_exchange(&word, 2);
	while (c != 0) {
		syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
		c = atomic_exchange(&word, 2);
	}
}

static void futex_unlock(void)
{
	if (atomic_fetch_sub(&word, 1) != 1) {
		atomic_store(&word, 0);
		syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < FUTEX_ITERS; i++) {
		futex_lock();
		counter++;
		futex_unlock();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	if (n < 1 || n > 64) {
		fprintf(stderr, "futex_only: threads must be 1..64\n");
		return 2;
	}
	pthread_t t[64];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("%ld\n", counter);
	return 0;
}
