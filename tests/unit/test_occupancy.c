/*
 * The viewer's occupancy of an object (ui/model.c occ_pieces) against a
 * reference computed here from the events alone. object_spans keeps only
 * the stretches with threads queued: elsewhere the number of holders and
 * the most recent one come from a sweep over the holds begun at most
 * 2^long_hold_shift ns before the window, and the longer holds that reach
 * into it, from object_long_holds' bins (derived version 10). Shared holds
 * (readers of an rwlock, overlapping every which way), waits and holds of
 * every length class are what this checks, on random traces with a fixed
 * seed.
 */
#include "store/store.h"
#include "store/store_schema.h"
#include "tests/unit/unit_check.h"
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 6
#define HOLDS_PER_THREAD 40
#define OBJ 3		   /* the rwlock of the trace */
#define UNIT_NS 50000	   /* the traces' time step: holds of 50 us to 16 ms */
#define LONG_HOLD_SHIFT 20 /* store_derive.c's OCC_LONG_HOLD_SHIFT, as derived_info says */
#define LONG_HOLD_NS (1 << LONG_HOLD_SHIFT)

struct hold {
	int64_t start, end, wait_from; /* wait_from == start: no wait */
	int tid;
};

static struct hold holds[THREADS * HOLDS_PER_THREAD];
static int nholds;

static void exec_or_die(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		printf("FAIL setup: %s\n", msg ? msg : "?");
		exit(1);
	}
}

/* The events of every hold, as rows of ev_in in time order. */
struct ev {
	int64_t ts, wait;
	int tid, kind;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/*
 * Each thread takes the lock for reading HOLDS_PER_THREAD times, one hold
 * after the other, sometimes after a wait; times are distinct across
 * threads (a multiple of THREADS plus the thread's index).
 */
static void make_holds(unsigned seed)
{
	srand(seed);
	nholds = 0;
	for (int t = 0; t < THREADS; t++) {
		int64_t now = 0;
		for (int i = 0; i < HOLDS_PER_THREAD; i++) {
			int64_t gap = 1 + rand() % 20, wait = rand() % 3 ? 0 : 1 + rand() % 10;
			int64_t len = rand() % 8 ? 1 + rand() % 30 : 30 + rand() % 300;
			struct hold *h = &holds[nholds++];
			h->tid = 10 + t;
			h->wait_from = ((now + gap) * THREADS + t) * UNIT_NS;
			h->start = ((now + gap + wait) * THREADS + t) * UNIT_NS;
			h->end = ((now + gap + wait + len) * THREADS + t) * UNIT_NS;
			now += gap + wait + len;
		}
	}
}

static int write_trace(const char *path)
{
	sqlite3 *db = NULL;
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	exec_or_die(db, store_schema_sql);
	exec_or_die(db, store_ev_input_sql);
	char version[64];
	snprintf(version, sizeof(version), "PRAGMA user_version=%d", STORE_SCHEMA_VERSION);
	exec_or_die(db, version);
	exec_or_die(db, "INSERT INTO meta(key, value) VALUES('format','weft-trace');"
			"INSERT INTO meta(key, value) VALUES('end_ns', 100000000000);"
			"INSERT INTO proc(pid, ppid, argv, start_ns, end_ns, exit_code, "
			"exit_signal) VALUES(1, 0, 'prog', 0, 100000000000, 0, NULL);"
			"INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id) "
			"VALUES(3, 1, 2, 'rw', 0, 0, 0);"
			"BEGIN");
	for (int t = 0; t < THREADS; t++) {
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
			 "producer_waits) VALUES(1, %d, 't', 0, 100000000000, 0, 0)",
			 10 + t);
		exec_or_die(db, sql);
	}
	static struct ev evs[2 * THREADS * HOLDS_PER_THREAD];
	int n = 0;
	for (int i = 0; i < nholds; i++) {
		evs[n++] = (struct ev){holds[i].start, holds[i].start - holds[i].wait_from,
				       holds[i].tid, 1};
		evs[n++] = (struct ev){holds[i].end, 0, holds[i].tid, 2};
	}
	qsort(evs, (size_t)n, sizeof(evs[0]), ev_cmp);
	for (int i = 0; i < n; i++) {
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack)"
			 " VALUES(%lld, 1, %d, %d, %d, %lld, 0, 0)",
			 (long long)evs[i].ts, evs[i].tid, evs[i].kind, OBJ,
			 (long long)evs[i].wait);
		exec_or_die(db, sql);
	}
	exec_or_die(db, "COMMIT");
	return sqlite3_close(db) == SQLITE_OK ? 0 : -1;
}

/*
 * What a lane shows at x: the holds covering it (releases before acquires
 * at one instant), the most recent of them (latest start, then end, then
 * thread, the order the derived pass takes them in) and the waits.
 */
static void reference_at(int64_t x, int32_t *holder, int *nh, int *nw)
{
	const struct hold *last = NULL;
	*nh = *nw = 0;
	for (int i = 0; i < nholds; i++) {
		const struct hold *h = &holds[i];
		if (h->wait_from <= x && x < h->start)
			(*nw)++;
		if (h->start <= x && x < h->end) {
			(*nh)++;
			if (!last || h->start > last->start ||
			    (h->start == last->start &&
			     (h->end > last->end || (h->end == last->end && h->tid > last->tid))))
				last = h;
		}
	}
	*holder = last ? last->tid : 0;
}

/* Occupancy is constant between event times: the instants checked are each one and the one before.
 */
static int check_at(struct ui_model *m, int64_t x, int *shared, int *queued, char *detail,
		    size_t len)
{
	int32_t rh, gh;
	int rn, rw, gn, gw;
	reference_at(x, &rh, &rn, &rw);
	ui_model_object_at(m, OBJ, x, &gh, &gn, &gw);
	/* the state screen's list of holders: as many */
	int32_t tids[64];
	int listed = ui_model_holders_at(m, OBJ, x, tids, 64);
	*shared += rn > 1;
	*queued += rw > 0;
	if (rh == gh && rn == gn && rw == gw && listed == rn)
		return 0;
	snprintf(detail, len,
		 "at %lld: holder %d, %d holding (%d listed), %d queued; want %d, %d, %d",
		 (long long)x, gh, gn, listed, gw, rh, rn, rw);
	return 1;
}

/* The event screen's holds during [a, b) (a wait): how many, by how many threads. */
static int check_counts(struct ui_model *m, int64_t a, int64_t b, char *detail, size_t len)
{
	int64_t want = 0;
	int threads = 0;
	for (int t = 0; t < THREADS; t++) {
		int64_t of_t = 0;
		for (int i = 0; i < nholds; i++)
			of_t += holds[i].tid == 10 + t && holds[i].start < b && holds[i].end > a;
		want += of_t;
		threads += of_t > 0;
	}
	struct ui_hold_count hc[THREADS + 1];
	int64_t total = 0;
	int n = ui_model_hold_counts(m, OBJ, a, b, hc, THREADS + 1, &total);
	if (n == threads && total == want)
		return 0;
	snprintf(detail, len, "holds in [%lld, %lld): %lld by %d threads; want %lld by %d",
		 (long long)a, (long long)b, (long long)total, n, (long long)want, threads);
	return 1;
}

static void check_seed(unsigned seed)
{
	char path[64], err[512], name[64], detail[256];
	snprintf(path, sizeof(path), "/tmp/weft-occ-%d.db", (int)getpid());
	make_holds(seed);
	snprintf(name, sizeof(name), "occupancy:seed-%u-trace", seed);
	if (write_trace(path)) {
		unit_check(0, name, "cannot write the trace");
		return;
	}
	struct ui_model m;
	int ok = ui_model_open(&m, path, err, sizeof(err)) == 0;
	unit_check(ok, name, err);
	if (!ok)
		return;
	int bad = 0, shared = 0, queued = 0, longest = 0, longs = 0;
	detail[0] = 0;
	for (int i = 0; i < nholds && !bad; i++) {
		const int64_t at[] = {holds[i].wait_from, holds[i].start, holds[i].end};
		for (int k = 0; k < 3 && !bad; k++)
			bad = check_at(&m, at[k] - 1, &shared, &queued, detail, sizeof(detail)) ||
			      check_at(&m, at[k], &shared, &queued, detail, sizeof(detail));
		if (!bad && holds[i].wait_from < holds[i].start)
			bad = check_counts(&m, holds[i].wait_from, holds[i].start, detail,
					   sizeof(detail));
		if (holds[i].end - holds[i].start > 4 * LONG_HOLD_NS)
			longest++;
		longs += holds[i].end - holds[i].start > LONG_HOLD_NS;
	}
	snprintf(name, sizeof(name), "occupancy:seed-%u-every-change", seed);
	unit_check(!bad, name, detail);
	/* the trace must exercise what changed: shared, queued and long holds */
	snprintf(name, sizeof(name), "occupancy:seed-%u-covers-shared-queued-long", seed);
	snprintf(detail, sizeof(detail), "%d instants shared, %d queued, %d holds over 4 ms",
		 shared, queued, longest);
	unit_check(shared > 100 && queued > 100 && longest > 10, name, detail);
	/* the rows are the queued stretches only */
	snprintf(name, sizeof(name), "occupancy:seed-%u-rows-queued-only", seed);
	unit_expect_rows(m.db, name, "SELECT count(*) FROM object_spans WHERE waiters = 0", "0");
	/* every long hold filed once, in the bin of its length class */
	char sql[512], want[64];
	snprintf(name, sizeof(name), "occupancy:seed-%u-long-holds", seed);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*), sum(end_ns - start_ns > %d AND end_ns - start_ns <= 1 << shift"
		 " AND end_ns - start_ns > 1 << (shift - 1) AND bin = start_ns >> shift)"
		 " FROM object_long_holds",
		 LONG_HOLD_NS);
	snprintf(want, sizeof(want), "%d|%d", longs, longs);
	unit_expect_rows(m.db, name, sql, want);
	snprintf(name, sizeof(name), "occupancy:seed-%u-long-hold-setting", seed);
	snprintf(want, sizeof(want), "%d", LONG_HOLD_SHIFT);
	unit_expect_rows(m.db, name, "SELECT value FROM derived_info WHERE key = 'long_hold_shift'",
			 want);
	ui_model_close(&m);
	unlink(path);
	char view[80];
	snprintf(view, sizeof(view), "%s-view", path);
	unlink(view);
}

int main(void)
{
	for (unsigned seed = 1; seed <= 3; seed++)
		check_seed(seed);
	return unit_failures ? 1 : 0;
}
