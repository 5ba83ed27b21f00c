/*
 * A bounded fork storm: argv[1] children (default 200) forked back to back
 * without exec, each doing STORM_LOCKS lock/unlock pairs and exiting with
 * its index % 100; the parent reaps them all. Prints the number reaped with
 * the expected status.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define STORM_LOCKS 5

pthread_mutex_t storm_mu = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	if (!pids)
		return 1;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0) {
			perror("fork");
			return 1;
		}
		if (p == 0) {
			for (int k = 0; k < STORM_LOCKS; k++) {
				pthread_mutex_lock(&storm_mu);
				pthread_mutex_unlock(&storm_mu);
			}
			_exit(i % 100);
		}
		pids[i] = p;
	}
	int ok = 0;
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) &&
		    WEXITSTATUS(st) == i % 100)
			ok++;
	}
	printf("reaped %d\n", ok);
	free(pids);
	return ok == n ? 0 : 1;
}
