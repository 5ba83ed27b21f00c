/*
 * A small process tree that keeps locking until SIGTERM: the parent forks
 * 3 children (no exec); all four lock and unlock tree_mu every millisecond.
 * The parent prints "ready PARENT C1 C2 C3", forwards SIGTERM to its
 * children, reaps them and exits 0; each child exits 0 on SIGTERM.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

pthread_mutex_t tree_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stop;

static void on_term(int s)
{
	(void)s;
	stop = 1;
}

static void work(void)
{
	while (!stop) {
		pthread_mutex_lock(&tree_mu);
		pthread_mutex_unlock(&tree_mu);
		usleep(1000);
	}
}

int main(void)
{
	signal(SIGTERM, on_term);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			work();
			_exit(0);
		}
	}
	printf("ready %d %d %d %d\n", (int)getpid(), (int)kids[0], (int)kids[1], (int)kids[2]);
	fflush(stdout);
	work();
	int bad = 0;
	for (int i = 0; i < 3; i++) {
		int st;
		kill(kids[i], SIGTERM);
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	printf("children ok %d\n", 3 - bad);
	return bad;
}
