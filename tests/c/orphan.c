/*
 * The parent exits at once; its forked child (no exec) keeps running for a
 * while, then does ORPHAN_LOCKS lock/unlock pairs and exits 3. The tracer
 * must wait for it and record everything.
 */
#include <pthread.h>
#include <unistd.h>

#define ORPHAN_LOCKS 25

pthread_mutex_t orphan_mu = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
	if (fork() == 0) {
		usleep(300 * 1000);
		for (int i = 0; i < ORPHAN_LOCKS; i++) {
			pthread_mutex_lock(&orphan_mu);
			pthread_mutex_unlock(&orphan_mu);
		}
		_exit(3);
	}
	return 0;
}
