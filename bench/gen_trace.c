/*
 * gen_trace: writes a synthetic but consistent weft trace through the real
 * writer (schema, finalize), for the viewer benchmark and
 * for test fixtures.
 *
 *   gen_trace [-n EVENTS] [-t THREADS] [-l LOCKS] [-s SEED] [--no-finalize] -o OUT
 *   gen_trace --sql FIXTURE.sql [--no-finalize] -o OUT
 *
 * The simulated program: THREADS workers in one process take LOCKS mutexes
 * (lock 0 is hot), one rwlock, and a mutex+cond pair for a work queue;
 * the lock timings respect mutual exclusion, so the derived tables see
 * what a real trace would show. The same seed gives the same file.
 * With --sql the file gets the schema and then the fixture's statements
 * (raw-table inserts), which is how tests build hand-made traces.
 */
#include "store/store.h"
#include "store/store_schema.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int64_t rnd(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

struct sim_thread {
	int tid;
	int64_t now;
	int64_t end;
};

struct sim {
	struct store_writer *w;
	int64_t n, written;
	int pid;
	int err;
};

static void ev(struct sim *s, int64_t ts, int tid, int kind, int64_t obj, int64_t wait, int64_t arg,
	       int64_t stack)
{
	struct store_event e = {ts, s->pid, tid, kind, obj, wait, arg, stack};
	if (store_writer_event(s->w, &e))
		s->err = 1;
	if (++s->written % 200000 == 0 && store_writer_commit(s->w))
		s->err = 1;
}

enum { OBJ_RW = 100, OBJ_QMU = 101, OBJ_QCOND = 102 };

static int simulate(struct sim *s, int nthreads, int nlocks)
{
	struct sim_thread *t = calloc((size_t)nthreads + 1, sizeof(*t));
	int64_t *free_at = calloc((size_t)nlocks, sizeof(*free_at));
	int64_t rw_write_free = 0, rw_read_until = 0, q_free = 0;
	char name[64];
	if (!t || !free_at)
		return -1;
	s->pid = 4000;
	int main_tid = s->pid;
	store_writer_process(s->w, s->pid, 1, "bench_app --workers", 0, INT64_MIN, INT64_MIN,
			     INT64_MIN);
	for (int l = 0; l < nlocks; l++) {
		snprintf(name, sizeof(name), l ? "mutex@worker_step%d" : "shared_mu", l);
		store_writer_object(s->w, l + 1, s->pid, 1, name, 0, 0x1000 + (uint64_t)l * 64, 1);
	}
	store_writer_object(s->w, OBJ_RW, s->pid, 2, "table_lock", 0, 0x2000, 1);
	store_writer_object(s->w, OBJ_QMU, s->pid, 1, "queue_mu", 0, 0x3000, 2);
	store_writer_object(s->w, OBJ_QCOND, s->pid, 5, "queue_cv", 0, 0x3040, 2);
	store_writer_stack_frame(s->w, 1, 0, "native", "worker_step", "worker.c", 42, "bench_app",
				 0x401000);
	store_writer_stack_frame(s->w, 1, 1, "native", "worker_main", "worker.c", 88, "bench_app",
				 0x401200);
	store_writer_stack_frame(s->w, 2, 0, "native", "queue_pop", "queue.c", 17, "bench_app",
				 0x402000);
	store_writer_stack_frame(s->w, 2, 1, "native", "worker_main", "worker.c", 90, "bench_app",
				 0x401240);
	store_writer_stack_frame(s->w, 3, 0, "native", "main", "main.c", 12, "bench_app", 0x400500);

	ev(s, 1000, main_tid, 14, 0, 0, 0, 3); /* process.spawn marker at start */
	int64_t now = 5000;
	for (int i = 1; i <= nthreads; i++) {
		t[i].tid = s->pid + i;
		now += rnd(2000, 8000);
		ev(s, now, main_tid, 8, 0, 5000, t[i].tid, 3);
		t[i].now = now + 3000;
		ev(s, t[i].now, t[i].tid, 9, 0, 0, main_tid, 0);
	}
	/* Each worker's share of events; a critical section is 2 events, a cond wait 5. */
	int64_t per_thread = (s->n - 4 - 4 * nthreads) / (nthreads ? nthreads : 1);
	int64_t *left = calloc((size_t)nthreads + 1, sizeof(*left));
	if (!left)
		return -1;
	for (int i = 1; i <= nthreads; i++)
		left[i] = per_thread;
	for (;;) {
		int k = 0;
		for (int i = 1; i <= nthreads; i++)
			if (left[i] > 0 && (!k || t[i].now < t[k].now))
				k = i;
		if (!k || s->err)
			break;
		struct sim_thread *th = &t[k];
		th->now += rnd(200, 20000); /* unlocked work */
		uint64_t r = rng() % 100;
		if (r < 70 || left[k] < 5) {
			int l = (rng() % 100) < 60 ? 0 : (int)rnd(0, nlocks - 1);
			int64_t start = th->now, acq = start > free_at[l] ? start : free_at[l];
			int64_t hold = rnd(500, l == 0 ? 15000 : 4000);
			ev(s, acq, th->tid, 1, l + 1, acq - start, 0, 1);
			ev(s, acq + hold, th->tid, 2, l + 1, 0, 0, 1);
			free_at[l] = acq + hold;
			th->now = acq + hold;
			left[k] -= 2;
		} else if (r < 85) {
			/* rwlock: mostly readers, which share */
			int write = rng() % 4 == 0;
			int64_t start = th->now, acq;
			if (write) {
				acq = start;
				if (acq < rw_write_free)
					acq = rw_write_free;
				if (acq < rw_read_until)
					acq = rw_read_until;
			} else {
				acq = start > rw_write_free ? start : rw_write_free;
			}
			int64_t hold = rnd(1000, 6000);
			ev(s, acq, th->tid, 1, OBJ_RW, acq - start, write, 1);
			ev(s, acq + hold, th->tid, 2, OBJ_RW, 0, 0, 1);
			if (write)
				rw_write_free = acq + hold;
			else if (acq + hold > rw_read_until)
				rw_read_until = acq + hold;
			th->now = acq + hold;
			left[k] -= 2;
		} else {
			/* queue pop: lock, wait on the cond, wake up, unlock, plus a signaller */
			int64_t start = th->now, acq = start > q_free ? start : q_free;
			ev(s, acq, th->tid, 1, OBJ_QMU, acq - start, 0, 2);
			int64_t rel = acq + rnd(200, 800);
			ev(s, rel, th->tid, 2, OBJ_QMU, 0, 2, 2);
			int64_t waited = rnd(5000, 60000);
			ev(s, rel + waited, th->tid, 4, OBJ_QCOND, waited, 0, 2);
			ev(s, rel + waited + 300, th->tid, 1, OBJ_QMU, 300, 2, 2);
			ev(s, rel + waited + 1300, th->tid, 2, OBJ_QMU, 0, 0, 2);
			q_free = rel + waited + 1300;
			th->now = q_free;
			left[k] -= 5;
		}
	}
	int64_t end = 0;
	for (int i = 1; i <= nthreads; i++) {
		t[i].now += 1000;
		ev(s, t[i].now, t[i].tid, 10, 0, 0, 0, 0);
		if (t[i].now > end)
			end = t[i].now;
	}
	now = end;
	for (int i = 1; i <= nthreads; i++) {
		int64_t w = t[i].now + 500 > now ? t[i].now + 500 - now : 0;
		now += w + 200;
		ev(s, now, main_tid, 11, 0, w, t[i].tid, 3);
	}
	now += 1000;
	ev(s, now, main_tid, 15, 0, 0, 0, 3);
	store_writer_thread(s->w, s->pid, main_tid, "bench_app", 0, now, 0, 0);
	/* a worker starts at its thread.start event */
	for (int i = 1; i <= nthreads; i++) {
		snprintf(name, sizeof(name), "worker-%d", i);
		int64_t start = 0;
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(store_writer_db(s->w),
				       "SELECT min(ts) FROM ev WHERE th = (SELECT th FROM thread_no"
				       " WHERE pid=? AND tid=?)",
				       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int(st, 1, s->pid);
			sqlite3_bind_int(st, 2, t[i].tid);
			if (sqlite3_step(st) == SQLITE_ROW)
				start = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		store_writer_thread(s->w, s->pid, t[i].tid, name, start, t[i].now, 0, 0);
	}
	store_writer_process(s->w, s->pid, 1, "bench_app --workers", 0, now, 0, INT64_MIN);
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)now);
	store_writer_meta(s->w, "end_ns", buf);
	free(t);
	free(free_at);
	free(left);
	return s->err ? -1 : 0;
}

static int run_sql_file(struct store_writer *w, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "gen_trace: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!buf)
		return -1;
	buf[len] = 0;
	char *msg = NULL;
	/* fixtures write events as ev_in(id, ts, pid, tid, ...) rows */
	int rc = sqlite3_exec(store_writer_db(w), store_ev_input_sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(store_writer_db(w), buf, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "gen_trace: %s: %s\n", path, msg ? msg : "error");
	sqlite3_free(msg);
	free(buf);
	return rc == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	int64_t n = 100000;
	int threads = 8, locks = 4, finalize = 1;
	const char *out = NULL, *sqlfile = NULL;
	static const struct option opts[] = {{"no-finalize", no_argument, NULL, 'F'},
					     {"sql", required_argument, NULL, 'q'},
					     {NULL, 0, NULL, 0}};
	int c;
	rng_state = 88172645463325252ULL;
	while ((c = getopt_long(argc, argv, "n:t:l:s:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtoll(optarg, NULL, 10);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'l':
			locks = atoi(optarg);
			break;
		case 's':
			rng_state ^= strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ULL;
			if (!rng_state)
				rng_state = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'F':
			finalize = 0;
			break;
		case 'q':
			sqlfile = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (!out || n < 0 || threads < 1 || threads > 10000 || locks < 1 || locks > 99)
		goto usage;
	char err[512];
	struct timespec t0, t1, t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct store_writer *w = store_writer_open(out, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "gen_trace: %s\n", err);
		return 1;
	}
	store_writer_meta(w, "command", sqlfile ? sqlfile : "bench_app --workers");
	store_writer_meta(w, "stacks", "caller");
	store_writer_meta(w, "clock", "monotonic");
	int rc = 0;
	if (sqlfile) {
		rc = run_sql_file(w, sqlfile);
	} else {
		struct sim s = {.w = w, .n = n};
		rc = simulate(&s, threads, locks);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!rc && finalize)
		rc = store_writer_finalize(w);
	else if (!rc)
		rc = store_writer_commit(w);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (rc)
		fprintf(stderr, "gen_trace: writing %s failed: %s\n", out, store_writer_error(w));
	store_writer_close(w);
	if (!sqlfile)
		fprintf(stderr, "gen_trace: %s: %lld events, generate %.2f s, finalize %.2f s\n",
			out, (long long)n,
			(double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
			(double)(t2.tv_sec - t1.tv_sec) + (t2.tv_nsec - t1.tv_nsec) / 1e9);
	return rc ? 1 : 0;
usage:
	fprintf(stderr, "usage: gen_trace [-n EVENTS] [-t THREADS] [-l LOCKS] [-s SEED] "
			"[--no-finalize] -o OUT\n       gen_trace --sql FIXTURE.sql "
			"[--no-finalize] -o OUT\n");
	return 2;
}
