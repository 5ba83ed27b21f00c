/*
 * Unit tests of the writer's time order: events held back and written in
 * (ts, arrival) order after store_writer_hold(), late events (published
 * after a horizon had passed them) put in place at finalize by sorting
 * only their stretch, a writer that never holds, and the held buffer
 * flushed by finalize. The checks are on a real trace file.
 */
#include "store/store.h"
#include "tests/unit/unit_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

static void expect_int(sqlite3 *db, const char *name, const char *sql, int64_t want)
{
	char detail[256];
	int64_t got = one(db, sql);
	snprintf(detail, sizeof(detail), "got %lld, want %lld", (long long)got, (long long)want);
	unit_check(got == want, name, detail);
}

static struct store_writer *open_trace(const char *path)
{
	char err[256];
	unlink(path);
	struct store_writer *w = store_writer_open(path, err, sizeof(err));
	if (!w) {
		printf("FAIL open %s: %s\n", path, err);
		exit(1);
	}
	return w;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define THREADS 4
#define PER_THREAD 5000

/*
 * Four threads' events drained in rounds as the collector does: each
 * round takes every thread's next run (in its own time order), then
 * promises the horizon (the round's time less a slack). Some records come
 * late: held back past a horizon that has passed their time, as a thread
 * preempted between reading the clock and publishing would be. arg is
 * the thread's program order; equal times within a thread are common.
 */
static void order_case(const char *path, int hold, int late_every)
{
	struct store_writer *w = open_trace(path);
	if (hold)
		store_writer_hold(w);
	int64_t clock[THREADS] = {0};
	int sent[THREADS] = {0};
	struct store_event late[64];
	int nlate = 0, total = 0, nlate_total = 0;
	int64_t round_ts = 0;
	for (int round = 0; total < THREADS * PER_THREAD; round++) {
		round_ts += 1000;
		for (int t = 0; t < THREADS; t++) {
			while (sent[t] < PER_THREAD && clock[t] < round_ts) {
				clock[t] += (int64_t)(next_rand() % 40); /* 0: same time again */
				struct store_event e = {clock[t], 1, 100 + t, 1, 0, 0, sent[t], 0};
				sent[t]++;
				total++;
				/* A late one holds back its thread too: rings keep program order.
				 */
				if (late_every && total % late_every == 0 && nlate < 64) {
					late[nlate++] = e;
					nlate_total++;
					break;
				}
				if (nlate && late[0].tid == 100 + t) {
					late[nlate++] = e;
					break;
				}
				if (store_writer_event(w, &e))
					printf("FAIL event\n");
			}
		}
		/* The late ones arrive two rounds on. */
		if (nlate && round % 3 == 2) {
			for (int i = 0; i < nlate; i++)
				store_writer_event(w, &late[i]);
			nlate = 0;
		}
		if (hold && store_writer_horizon(w, round_ts - 500))
			printf("FAIL horizon\n");
	}
	for (int i = 0; i < nlate; i++)
		store_writer_event(w, &late[i]);
	unit_check(store_writer_commit(w) == 0, "order:commit", store_writer_error(w));
	unit_check(store_writer_finalize(w) == 0, "order:finalize", store_writer_error(w));
	sqlite3 *db = store_writer_db(w);
	char name[128];
	snprintf(name, sizeof(name), "order:%s%s: every event kept", hold ? "held" : "unheld",
		 late_every ? "+late" : "");
	expect_int(db, name, "SELECT count(*) FROM ev", THREADS * PER_THREAD);
	snprintf(name, sizeof(name), "order:%s%s: id order is time order", hold ? "held" : "unheld",
		 late_every ? "+late" : "");
	expect_int(db, name,
		   "SELECT count(*) FROM ev a JOIN ev b ON b.id = a.id + 1 WHERE b.ts < a.ts", 0);
	snprintf(name, sizeof(name), "order:%s%s: ids are 1..n", hold ? "held" : "unheld",
		 late_every ? "+late" : "");
	expect_int(db, name, "SELECT max(id) - min(id) + 1 - count(*) FROM ev", 0);
	snprintf(name, sizeof(name), "order:%s%s: each thread in program order",
		 hold ? "held" : "unheld", late_every ? "+late" : "");
	expect_int(db, name,
		   "SELECT count(*) FROM (SELECT arg, lag(arg) OVER (PARTITION BY th ORDER BY id) p"
		   " FROM ev) WHERE arg <> p + 1",
		   0);
	snprintf(name, sizeof(name), "order:%s%s: per thread 0..n-1", hold ? "held" : "unheld",
		 late_every ? "+late" : "");
	expect_int(db, name,
		   "SELECT count(*) FROM (SELECT th, min(arg) a, max(arg) b, count(*) n"
		   " FROM ev GROUP BY th) WHERE a <> 0 OR b <> n - 1",
		   0);
	if (late_every) {
		snprintf(name, sizeof(name), "order:%s: late events were made",
			 hold ? "held" : "unheld");
		unit_check(nlate_total > 10, name, "too few late events");
	}
	store_writer_close(w);
	unlink(path);
}

/* Events held and never given a horizon: finalize writes them all, in order. */
static void held_until_finalize(const char *path)
{
	struct store_writer *w = open_trace(path);
	store_writer_hold(w);
	for (int i = 0; i < 1000; i++) {
		struct store_event e = {
		    (int64_t)((i * 7919) % 1000), 1, 100 + i % 3, 1, 0, 0, i, 0};
		store_writer_event(w, &e);
	}
	sqlite3 *db = store_writer_db(w);
	unit_check(store_writer_commit(w) == 0, "held:commit", store_writer_error(w));
	expect_int(db, "held:commit writes none of the held", "SELECT count(*) FROM ev", 0);
	unit_check(store_writer_finalize(w) == 0, "held:finalize", store_writer_error(w));
	expect_int(db, "held:finalize writes them all", "SELECT count(*) FROM ev", 1000);
	expect_int(db, "held:in time order",
		   "SELECT count(*) FROM ev a JOIN ev b ON b.id = a.id + 1 WHERE b.ts < a.ts", 0);
	store_writer_close(w);
	unlink(path);
}

/*
 * More events held at once than the writer sorts in one go (NEWCOMERS_MAX
 * in store_write.c, 256 K): they are sorted and merged in as they arrive,
 * each lot overlapping the ones before in time (four threads, each drained
 * in runs that go back before the previous lot's end), equal times common.
 */
static void held_many(const char *path)
{
	struct store_writer *w = open_trace(path);
	store_writer_hold(w);
	enum { N = 700000, RUN = 5000 };
	int64_t clock[THREADS] = {0};
	int sent[THREADS] = {0};
	for (int i = 0; i < N;) {
		int t = (int)(next_rand() % THREADS);
		for (int k = 0; k < RUN && i < N; k++, i++) {
			clock[t] += (int64_t)(next_rand() % 8);
			struct store_event e = {clock[t], 1, 100 + t, 1, 0, 0, sent[t]++, 0};
			store_writer_event(w, &e);
		}
		if (i % (50 * RUN) == 0) /* a horizon well behind every thread */
			store_writer_horizon(w, clock[0] < clock[1] ? clock[0] / 2 : clock[1] / 2);
	}
	sqlite3 *db = store_writer_db(w);
	unit_check(store_writer_finalize(w) == 0, "held many:finalize", store_writer_error(w));
	expect_int(db, "held many:every event kept", "SELECT count(*) FROM ev", N);
	expect_int(db, "held many:in time order",
		   "SELECT count(*) FROM ev a JOIN ev b ON b.id = a.id + 1 WHERE b.ts < a.ts", 0);
	expect_int(db, "held many:each thread in program order",
		   "SELECT count(*) FROM (SELECT arg, lag(arg) OVER (PARTITION BY th ORDER BY id) p"
		   " FROM ev) WHERE arg <> p + 1",
		   0);
	store_writer_close(w);
	unlink(path);
}

/*
 * A process that publishes late: its parent's events go out under
 * horizons that pass the child's times (thousands of rows, many of the
 * writer's 4096-row blocks), then the child's whole run arrives. Each
 * child row lands among the parent's by time; both keep program order.
 */
static void late_process(const char *path, int hold)
{
	struct store_writer *w = open_trace(path);
	if (hold)
		store_writer_hold(w);
	const int n = 30000;
	for (int i = 0; i < n; i++) {
		struct store_event e = {(int64_t)i * 10, 1, 1, 1, 0, 0, i, 0};
		store_writer_event(w, &e);
		if (hold && i % 100 == 99)
			store_writer_horizon(w, (int64_t)i * 10);
	}
	/* The child ran from the parent's 5000th event on, at every 3rd ns step. */
	for (int i = 0; i < 2000; i++) {
		struct store_event e = {50000 + (int64_t)i * 30 + 5, 2, 2, 2, 0, 0, i, 0};
		store_writer_event(w, &e);
	}
	if (hold)
		store_writer_horizon(w, (int64_t)n * 10);
	unit_check(store_writer_finalize(w) == 0, "late process:finalize", store_writer_error(w));
	sqlite3 *db = store_writer_db(w);
	char name[128];
	snprintf(name, sizeof(name), "late process (%s): every event kept",
		 hold ? "held" : "unheld");
	expect_int(db, name, "SELECT count(*) FROM ev", n + 2000);
	snprintf(name, sizeof(name), "late process (%s): id order is time order",
		 hold ? "held" : "unheld");
	expect_int(db, name,
		   "SELECT count(*) FROM ev a JOIN ev b ON b.id = a.id + 1 WHERE b.ts < a.ts", 0);
	snprintf(name, sizeof(name), "late process (%s): ids are 1..n", hold ? "held" : "unheld");
	expect_int(db, name, "SELECT max(id) - min(id) + 1 - count(*) FROM ev", 0);
	snprintf(name, sizeof(name), "late process (%s): the child's first event follows",
		 hold ? "held" : "unheld");
	expect_int(db, name,
		   "SELECT arg FROM ev WHERE id = (SELECT min(id) FROM ev WHERE th = 2) - 1", 5000);
	snprintf(name, sizeof(name), "late process (%s): each process in program order",
		 hold ? "held" : "unheld");
	expect_int(db, name,
		   "SELECT count(*) FROM (SELECT arg, lag(arg) OVER (PARTITION BY th ORDER BY id) p"
		   " FROM ev) WHERE arg <> p + 1",
		   0);
	store_writer_close(w);
	unlink(path);
}

/*
 * A thread keeps the collector's horizon back while another makes more
 * events than the hold keeps: the hold forces the older half out before
 * the horizon passed them. A follower stops short of such rows, so the
 * held-back thread's record, which belongs before all of them, moves no
 * row it could have read (it would start over from the first row).
 */
static void forced_out_follow(const char *path)
{
	setenv("WEFT_TEST_FOLLOW_LAG", "0", 1);
	struct store_writer *w = open_trace(path);
	unsetenv("WEFT_TEST_FOLLOW_LAG");
	store_writer_hold(w);
	int arg1 = 0;
	for (int i = 0; i < 1000; i++) {
		struct store_event e = {10 + (int64_t)i * 10, 1, 1, 1, 0, 0, arg1++, 0};
		store_writer_event(w, &e);
	}
	store_writer_horizon(w, 10005);
	unit_check(store_writer_commit(w) == 0, "forced out:commit", store_writer_error(w));
	char detail[128];
	int64_t limit = store_writer_follow_limit(w);
	snprintf(detail, sizeof(detail), "follow limit %lld", (long long)limit);
	unit_check(limit == 1000, "forced out:the rows the horizon passed are followed", detail);
	const int more = (1 << 21) + 4096; /* thread 2 sits at 10005 meanwhile */
	for (int i = 0; i < more; i++) {
		struct store_event e = {10010 + (int64_t)i * 10, 1, 1, 1, 0, 0, arg1++, 0};
		store_writer_event(w, &e);
	}
	unit_check(store_writer_commit(w) == 0, "forced out:commit", store_writer_error(w));
	limit = store_writer_follow_limit(w);
	snprintf(detail, sizeof(detail), "follow limit %lld", (long long)limit);
	unit_check(limit == 1000, "forced out:rows forced out are not followed", detail);
	struct store_event late = {10005, 2, 2, 1, 0, 0, 0, 0};
	store_writer_event(w, &late);
	store_writer_horizon(w, 10010);
	unit_check(store_writer_commit(w) == 0, "forced out:commit", store_writer_error(w));
	int64_t moved = store_writer_take_moved(w);
	snprintf(detail, sizeof(detail), "moved from %lld", (long long)moved);
	unit_check(moved == INT64_MAX, "forced out:the late record moves no followed row", detail);
	store_writer_horizon(w, 10010 + (int64_t)more * 10 + 10);
	unit_check(store_writer_finalize(w) == 0, "forced out:finalize", store_writer_error(w));
	sqlite3 *db = store_writer_db(w);
	expect_int(db, "forced out:every event kept", "SELECT count(*) FROM ev", 1000 + more + 1);
	expect_int(db, "forced out:the late record in its place", "SELECT id FROM ev WHERE th = 2",
		   1001);
	expect_int(db, "forced out:in time order",
		   "SELECT count(*) FROM ev a JOIN ev b ON b.id = a.id + 1 WHERE b.ts < a.ts", 0);
	store_writer_close(w);
	unlink(path);
}

/*
 * Rows whose arg only the end knows (a process.exit's status) are noted
 * as id ranges for the end's fill-in: two processes ending near the start
 * and the end of a long trace are two short ranges, not one that spans
 * it; more than the ranges kept join the closest ones; a stretch sorted
 * at finalize widens a range it overlaps (the row may move within it).
 */
static void fix_ranges(const char *path)
{
	struct store_writer *w = open_trace(path);
	store_writer_hold(w);
	const int n = 200000;
	int exits = 0;
	for (int i = 0; i < n; i++) {
		/* exits at ids 11 and n - 10, then 100 close together in the middle */
		int exit = i == 10 || i == n - 11 || (i >= 100000 && i < 100500 && i % 5 == 0);
		struct store_event e = {
		    (int64_t)i * 10, 1, 1, exit ? WEFT_EV_PROCESS_EXIT : 1, 0, 0, exit ? -1 : i, 0};
		exits += exit;
		store_writer_event(w, &e);
		if (i % 100 == 99)
			store_writer_horizon(w, (int64_t)i * 10);
	}
	/* late: belongs before the last exit, written after it */
	struct store_event late = {(int64_t)(n - 20) * 10 + 5, 2, 2, 1, 0, 0, 0, 0};
	store_writer_event(w, &late);
	unit_check(store_writer_finalize(w) == 0, "fix ranges:finalize", store_writer_error(w));
	sqlite3 *db = store_writer_db(w);
	int64_t lo, hi, prev_hi = 0, rows = 0;
	size_t k = 0;
	int ordered = 1, covered = 1;
	for (; store_writer_fix_range(w, k, &lo, &hi); k++) {
		ordered &= lo > prev_hi && lo <= hi;
		prev_hi = hi;
		rows += hi - lo + 1;
	}
	char detail[160];
	snprintf(detail, sizeof(detail), "%zu ranges, %lld rows", k, (long long)rows);
	unit_check(ordered && k >= 3 && k <= 64, "fix ranges:disjoint, in order, at most 64",
		   detail);
	unit_check(rows < 1000, "fix ranges:a few rows, not the whole trace", detail);
	sqlite3_stmt *st = NULL;
	int seen = 0;
	if (sqlite3_prepare_v2(db, "SELECT id FROM ev WHERE kind = ? AND arg = -1", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, WEFT_EV_PROCESS_EXIT);
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(st, 0);
			int in = 0;
			for (size_t i = 0; store_writer_fix_range(w, i, &lo, &hi); i++)
				in |= id >= lo && id <= hi;
			covered &= in;
			seen++;
		}
	}
	sqlite3_finalize(st);
	snprintf(detail, sizeof(detail), "%d of %d exits seen", seen, exits);
	unit_check(covered && seen == exits, "fix ranges:every exit row inside one", detail);
	store_writer_close(w);
	unlink(path);
}

int main(void)
{
	char path[] = "/tmp/weft-order-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	order_case(path, 1, 0);
	order_case(path, 1, 997);
	order_case(path, 0, 0);
	order_case(path, 0, 997);
	held_until_finalize(path);
	held_many(path);
	late_process(path, 1);
	late_process(path, 0);
	forced_out_follow(path);
	fix_ranges(path);
	unlink(path);
	return unit_failures ? 1 : 0;
}
