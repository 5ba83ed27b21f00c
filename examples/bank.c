#define _GNU_SOURCE
/*
 * The bundled example: a small bank. Teller threads move money between
 * accounts, each guarded by its own mutex (always locked in account order,
 * so there is no deadlock); an auditor takes a global read lock to sum the
 * balances; transfers are logged through a queue protected by a mutex and
 * a condition variable. Run it under weft to see who waits for whom:
 *   make example   (weft run -o example.db build/examples/bank; weft report example.db)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ACCOUNTS 8
#define TELLERS 4
#define TRANSFERS 2000

struct account {
	pthread_mutex_t mu;
	long balance;
};

static struct account accounts[ACCOUNTS];
pthread_rwlock_t ledger_lock = PTHREAD_RWLOCK_INITIALIZER;

/* The transfer log: a bounded queue drained by the logger thread. */
#define LOG_CAP 64
pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t log_not_empty = PTHREAD_COND_INITIALIZER;
pthread_cond_t log_not_full = PTHREAD_COND_INITIALIZER;
static long log_buf[LOG_CAP];
static int log_head, log_len, log_closed;

static void log_put(long amount)
{
	pthread_mutex_lock(&log_mu);
	while (log_len == LOG_CAP)
		pthread_cond_wait(&log_not_full, &log_mu);
	log_buf[(log_head + log_len++) % LOG_CAP] = amount;
	pthread_cond_signal(&log_not_empty);
	pthread_mutex_unlock(&log_mu);
}

static void *logger(void *arg)
{
	long total = 0, n = 0;
	(void)arg;
	pthread_mutex_lock(&log_mu);
	for (;;) {
		while (log_len == 0 && !log_closed)
			pthread_cond_wait(&log_not_empty, &log_mu);
		if (log_len == 0)
			break;
		total += log_buf[log_head];
		log_head = (log_head + 1) % LOG_CAP;
		log_len--;
		n++;
		pthread_cond_signal(&log_not_full);
	}
	pthread_mutex_unlock(&log_mu);
	printf("logger: %ld transfers, %ld moved\n", n, total);
	return NULL;
}

static void transfer(int from, int to, long amount)
{
	struct account *first = &accounts[from < to ? from : to];
	struct account *second = &accounts[from < to ? to : from];
	pthread_rwlock_rdlock(&ledger_lock);
	pthread_mutex_lock(&first->mu);
	pthread_mutex_lock(&second->mu);
	accounts[from].balance -= amount;
	accounts[to].balance += amount;
	usleep(1); /* the slow part, done while holding both locks */
	pthread_mutex_unlock(&second->mu);
	pthread_mutex_unlock(&first->mu);
	pthread_rwlock_unlock(&ledger_lock);
	log_put(amount);
}

static void *teller(void *arg)
{
	unsigned seed = (unsigned)(long)arg;
	for (int i = 0; i < TRANSFERS; i++) {
		int from = rand_r(&seed) % ACCOUNTS, to = rand_r(&seed) % ACCOUNTS;
		if (from != to)
			transfer(from, to, 1 + rand_r(&seed) % 100);
	}
	return NULL;
}

static void *auditor(void *arg)
{
	(void)arg;
	for (int round = 0; round < 20; round++) {
		pthread_rwlock_wrlock(&ledger_lock);
		long sum = 0;
		for (int i = 0; i < ACCOUNTS; i++)
			sum += accounts[i].balance;
		pthread_rwlock_unlock(&ledger_lock);
		if (sum != ACCOUNTS * 1000)
			printf("auditor: books do not balance: %ld\n", sum);
		usleep(2000);
	}
	return NULL;
}

int main(void)
{
	pthread_t tellers[TELLERS], audit, log_thread;
	for (int i = 0; i < ACCOUNTS; i++) {
		pthread_mutex_init(&accounts[i].mu, NULL);
		accounts[i].balance = 1000;
	}
	pthread_create(&log_thread, NULL, logger, NULL);
	pthread_setname_np(log_thread, "logger");
	pthread_create(&audit, NULL, auditor, NULL);
	pthread_setname_np(audit, "auditor");
	for (long i = 0; i < TELLERS; i++) {
		char name[16];
		pthread_create(&tellers[i], NULL, teller, (void *)(i + 1));
		snprintf(name, sizeof(name), "teller-%ld", i + 1);
		pthread_setname_np(tellers[i], name);
	}
	for (int i = 0; i < TELLERS; i++)
		pthread_join(tellers[i], NULL);
	pthread_join(audit, NULL);
	pthread_mutex_lock(&log_mu);
	log_closed = 1;
	pthread_cond_broadcast(&log_not_empty);
	pthread_mutex_unlock(&log_mu);
	pthread_join(log_thread, NULL);
	long sum = 0;
	for (int i = 0; i < ACCOUNTS; i++)
		sum += accounts[i].balance;
	printf("bank: total %ld (expected %d)\n", sum, ACCOUNTS * 1000);
	return sum == ACCOUNTS * 1000 ? 0 : 1;
}
