/*
 * findings_cases MODE: small programs with known lock-order and misuse
 * findings (or none), for tests/integration/test_findings.sh and
 * bench/findings_bench.sh. Threads run one after the other where the point
 * is that a finding needs no overlap in time.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu_c = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu_gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu_check; /* error-checking, set up in main */
static pthread_mutex_t mu_rec;	 /* recursive */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t sem;
static int queue_len, done;

static void lock2(pthread_mutex_t *x, pthread_mutex_t *y)
{
	pthread_mutex_lock(x);
	pthread_mutex_lock(y);
	pthread_mutex_unlock(y);
	pthread_mutex_unlock(x);
}

static void *ab(void *p)
{
	(void)p;
	lock2(&mu_a, &mu_b);
	return NULL;
}

static void *ba(void *p)
{
	(void)p;
	lock2(&mu_b, &mu_a);
	return NULL;
}

static void *bc(void *p)
{
	(void)p;
	lock2(&mu_b, &mu_c);
	return NULL;
}

static void *ca(void *p)
{
	(void)p;
	lock2(&mu_c, &mu_a);
	return NULL;
}

static void *abc(void *p)
{
	(void)p;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&mu_a);
		pthread_mutex_lock(&mu_b);
		pthread_mutex_lock(&mu_c);
		pthread_mutex_unlock(&mu_c);
		pthread_mutex_unlock(&mu_b);
		pthread_mutex_unlock(&mu_a);
	}
	return NULL;
}

static void *gated_ab(void *p)
{
	(void)p;
	pthread_mutex_lock(&mu_gate);
	lock2(&mu_a, &mu_b);
	pthread_mutex_unlock(&mu_gate);
	return NULL;
}

static void *gated_ba(void *p)
{
	(void)p;
	pthread_mutex_lock(&mu_gate);
	lock2(&mu_b, &mu_a);
	pthread_mutex_unlock(&mu_gate);
	return NULL;
}

static void *unlock_check(void *p)
{
	(void)p;
	int rc = pthread_mutex_unlock(&mu_check);
	printf("unlock by non-owner: %s\n", rc ? strerror(rc) : "ok");
	return NULL;
}

static void *exit_holding(void *p)
{
	(void)p;
	pthread_mutex_lock(&mu_c);
	return NULL;
}

static void *consumer(void *p)
{
	(void)p;
	for (;;) {
		pthread_mutex_lock(&mu_a);
		while (!queue_len && !done)
			pthread_cond_wait(&cv, &mu_a);
		if (!queue_len && done) {
			pthread_mutex_unlock(&mu_a);
			return NULL;
		}
		queue_len--;
		pthread_mutex_unlock(&mu_a);
		sem_post(&sem);
	}
}

static void *reader(void *p)
{
	(void)p;
	for (int i = 0; i < 200; i++) {
		pthread_rwlock_rdlock(&rw);
		pthread_mutex_lock(&mu_b); /* rw(read) -> b ... */
		pthread_mutex_unlock(&mu_b);
		pthread_rwlock_unlock(&rw);
	}
	return NULL;
}

static void *reader_rev(void *p)
{
	(void)p;
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&mu_b); /* ... and b -> rw(read): readers never block readers */
		pthread_rwlock_rdlock(&rw);
		pthread_rwlock_unlock(&rw);
		pthread_mutex_unlock(&mu_b);
	}
	return NULL;
}

/* Runs fns one after the other (each joined before the next starts) or all at once. */
static void run(int sequential, void *(*const *fns)(void *), int n)
{
	pthread_t th[8];
	for (int i = 0; i < n; i++) {
		pthread_create(&th[i], NULL, fns[i], NULL);
		if (sequential)
			pthread_join(th[i], NULL);
	}
	if (!sequential)
		for (int i = 0; i < n; i++)
			pthread_join(th[i], NULL);
}

static void clean(void)
{
	/* condition variable queue with a semaphore for back-pressure */
	pthread_t c;
	sem_init(&sem, 0, 4);
	pthread_create(&c, NULL, consumer, NULL);
	for (int i = 0; i < 500; i++) {
		sem_wait(&sem);
		pthread_mutex_lock(&mu_a);
		queue_len++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu_a);
	}
	pthread_mutex_lock(&mu_a);
	done = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu_a);
	pthread_join(c, NULL);
	sem_destroy(&sem);
	/* readers in both orders against a mutex */
	void *(*const rd[])(void *) = {reader, reader_rev, reader, reader_rev};
	run(0, rd, 4);
	/* recursion, and hand-over-hand in one direction */
	pthread_mutex_lock(&mu_rec);
	pthread_mutex_lock(&mu_rec);
	pthread_mutex_lock(&mu_a);
	pthread_mutex_unlock(&mu_rec);
	pthread_mutex_unlock(&mu_a);
	pthread_mutex_unlock(&mu_rec);
	for (int i = 0; i < 10; i++) {
		pthread_mutex_lock(&mu_a);
		pthread_mutex_lock(&mu_b);
		pthread_mutex_unlock(&mu_a);
		pthread_mutex_lock(&mu_c);
		pthread_mutex_unlock(&mu_b);
		pthread_mutex_unlock(&mu_c);
	}
	/* a mutex made, used and destroyed */
	pthread_mutex_t *m = malloc(sizeof(*m));
	pthread_mutex_init(m, NULL);
	pthread_mutex_lock(m);
	pthread_mutex_unlock(m);
	pthread_mutex_destroy(m);
	free(m);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&mu_check, &a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&mu_rec, &a);
	pthread_mutexattr_destroy(&a);

	if (!strcmp(mode, "inversion")) {
		void *(*const f[])(void *) = {ab, ba};
		run(1, f, 2);
	} else if (!strcmp(mode, "cycle3")) {
		void *(*const f[])(void *) = {ab, bc, ca};
		run(1, f, 3);
	} else if (!strcmp(mode, "nested")) {
		void *(*const f[])(void *) = {abc, abc, abc};
		run(0, f, 3);
	} else if (!strcmp(mode, "gate")) {
		void *(*const f[])(void *) = {gated_ab, gated_ba, gated_ab, gated_ba};
		run(0, f, 4);
	} else if (!strcmp(mode, "unlock_other")) {
		void *(*const f[])(void *) = {unlock_check};
		pthread_mutex_lock(&mu_check);
		run(1, f, 1);
		pthread_mutex_unlock(&mu_check);
	} else if (!strcmp(mode, "unlock_unlocked")) {
		int rc = pthread_mutex_unlock(&mu_check);
		printf("unlock of an unlocked mutex: %s\n", rc ? strerror(rc) : "ok");
	} else if (!strcmp(mode, "destroy_held")) {
		pthread_mutex_lock(&mu_b);
		int rc = pthread_mutex_destroy(&mu_b);
		printf("destroy of a held mutex: %s\n", rc ? strerror(rc) : "ok");
		pthread_mutex_unlock(&mu_b);
		pthread_mutex_destroy(&mu_b);
	} else if (!strcmp(mode, "exit_holding")) {
		void *(*const f[])(void *) = {exit_holding};
		run(1, f, 1);
	} else if (!strcmp(mode, "main_exit_holding")) {
		pthread_mutex_lock(&mu_a);
	} else if (!strcmp(mode, "killed_holding")) {
		/* A child a signal kills while it holds a lock ran no exit(): no finding. */
		pid_t child = fork();
		if (child == 0) {
			pthread_mutex_lock(&mu_a);
			raise(SIGTERM);
			_exit(1);
		}
		waitpid(child, NULL, 0);
	} else if (!strcmp(mode, "cond_not_held")) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		int rc = pthread_cond_timedwait(&cv, &mu_check, &ts);
		printf("cond wait without the mutex: %s\n", rc ? strerror(rc) : "ok");
	} else if (!strcmp(mode, "clean")) {
		clean();
	} else {
		fprintf(
		    stderr,
		    "usage: findings_cases inversion|cycle3|nested|gate|unlock_other|"
		    "unlock_unlocked|destroy_held|exit_holding|main_exit_holding|killed_holding|"
		    "cond_not_held|clean\n");
		return 2;
	}
	return 0;
}
