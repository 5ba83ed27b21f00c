/* Holds a lock in a loop until a signal arrives; exits 128+signal like a shell would see. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t got;

static void on_sig(int s)
{
	got = s;
}

int main(void)
{
	signal(SIGTERM, on_sig);
	signal(SIGHUP, on_sig);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (!got) {
		pthread_mutex_lock(&sig_mu);
		pthread_mutex_unlock(&sig_mu);
		usleep(1000);
	}
	printf("got %d\n", (int)got);
	return 100 + got;
}
