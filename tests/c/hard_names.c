/*
 * Hostile names: a thread named with a terminal escape sequence
 * (pthread_setname_np allows 15 bytes), a named semaphore whose name
 * carries one, and a second thread named with invalid UTF-8. The trace
 * stores them as given; the tools must never print them raw.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

pthread_mutex_t name_mu = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	const char *name = arg;
	pthread_setname_np(pthread_self(), name);
	for (int i = 0; i < 10; i++) {
		pthread_mutex_lock(&name_mu);
		pthread_mutex_unlock(&name_mu);
	}
	return NULL;
}

int main(void)
{
	/* OSC 0 sets the terminal title; 7 bytes, well under the 15-byte limit. */
	static char esc_name[] = "\033]0;pwn\007";
	static char bad_utf8[] = "x\xff\xfe\xc3(";
	pthread_t t[2];
	pthread_create(&t[0], NULL, worker, esc_name);
	pthread_create(&t[1], NULL, worker, bad_utf8);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	char semname[64];
	snprintf(semname, sizeof(semname), "/weft-hard-\033[2J-%d", (int)getpid());
	sem_t *s = sem_open(semname, O_CREAT | O_EXCL, 0600, 1);
	if (s != SEM_FAILED) {
		sem_wait(s);
		sem_post(s);
		sem_close(s);
		sem_unlink(semname);
	}
	puts("named");
	return 0;
}
