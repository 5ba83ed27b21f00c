/*
 * FUTEX_WAIT and FUTEX_WAKE through libc's syscall(), as Rust's std makes
 * them, in a fixed number: 3 waits that find the word changed (EAGAIN),
 * 2 that time out after 1 ms (ETIMEDOUT), 1 wake with nobody waiting (0
 * woken), then a second thread blocks in a wait that the main thread ends
 * with a wake (1 woken, the wait returns 0). The main thread knows the
 * other is blocked from /proc (its current system call is futex), so the
 * outcome does not depend on timing. No pthread lock is used.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int word, started;
static atomic_int waiter_tid;

static long futex(atomic_int *w, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

static void *waiter(void *arg)
{
	(void)arg;
	waiter_tid = (int)syscall(SYS_gettid);
	atomic_store(&started, 1);
	/* One call: the main thread wakes it only once it is blocked in it. */
	long rc = futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL);
	return (void *)(long)(rc == 0 && atomic_load(&word) == 1);
}

/* 1 when thread tid is inside the futex system call (/proc/self/task/TID/syscall). */
static int in_futex(int tid)
{
	char path[64], buf[64] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return atoi(buf) == SYS_futex;
}

int main(void)
{
	struct timespec ms = {0, 1000000}, nap = {0, 1000000};
	for (int i = 0; i < 3; i++)
		if (futex(&word, FUTEX_WAIT_PRIVATE, 1, NULL) != -1) /* word is 0: EAGAIN */
			return 1;
	for (int i = 0; i < 2; i++)
		if (futex(&word, FUTEX_WAIT_PRIVATE, 0, &ms) != -1) /* ETIMEDOUT */
			return 1;
	if (futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL) != 0)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	while (!atomic_load(&started) || !in_futex(waiter_tid))
		nanosleep(&nap, NULL);
	atomic_store(&word, 1);
	long woken = futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL);
	void *ok = NULL;
	pthread_join(t, &ok);
	printf("woken %ld, waiter %s\n", woken, ok ? "ok" : "failed");
	return woken == 1 && ok ? 0 : 1;
}
