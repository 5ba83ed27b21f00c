/*
 * A process tree with known shape: fork children that exit 7, die by
 * SIGKILL, and exec this program in "leaf" mode with a scrubbed
 * environment; posix_spawn of a leaf; system() running a leaf, then system()
 * and popen() after clearenv().
 * A leaf does LEAF_LOCKS lock/unlock pairs of leaf_mu and exits 5.
 */
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEAF_LOCKS 10

pthread_mutex_t leaf_mu = PTHREAD_MUTEX_INITIALIZER;

static int leaf(void)
{
	for (int i = 0; i < LEAF_LOCKS; i++) {
		pthread_mutex_lock(&leaf_mu);
		pthread_mutex_unlock(&leaf_mu);
	}
	return 5;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "leaf"))
		return leaf();
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	char *leaf_argv[] = {self, "leaf", NULL};
	char *empty_env[] = {NULL};
	int st;

	pid_t a = fork();
	if (a == 0)
		_exit(7);
	waitpid(a, &st, 0);
	printf("exit7 %d\n", WEXITSTATUS(st));

	pid_t b = fork();
	if (b == 0) {
		raise(SIGKILL);
		_exit(0);
	}
	waitpid(b, &st, 0);
	printf("killed %d\n", WTERMSIG(st));

	pid_t c = fork();
	if (c == 0) {
		execve(self, leaf_argv, empty_env); /* the tracer's variables are gone here */
		_exit(127);
	}
	waitpid(c, &st, 0);
	printf("scrubbed leaf %d\n", WEXITSTATUS(st));

	pid_t d;
	extern char **environ;
	if (posix_spawn(&d, self, NULL, NULL, leaf_argv, environ) == 0) {
		waitpid(d, &st, 0);
		printf("spawned leaf %d\n", WEXITSTATUS(st));
	}

	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "'%s' leaf", self);
	st = system(cmd);
	printf("system leaf %d\n", WEXITSTATUS(st));

	/* The tracer's variables scrubbed from environ itself: the shell must still be traced. */
	clearenv();
	setenv("PATH", "/usr/bin:/bin", 1);
	st = system(cmd);
	printf("scrubbed system leaf %d\n", WEXITSTATUS(st));
	FILE *p = popen(cmd, "r");
	if (p)
		printf("scrubbed popen leaf %d\n", WEXITSTATUS(pclose(p)));
	return 0;
}
