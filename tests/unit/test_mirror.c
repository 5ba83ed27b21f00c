/*
 * Unit tests of store_mirror, the writer's newest rows in memory for its
 * follower: rows come back as put; rows overwritten by newer ones, rows
 * forgotten, and rows the compact form cannot hold are not returned; ids
 * that do not follow start it over; and a reader racing a writer that
 * laps the ring never gets a torn or stale row.
 */
#include "store/store_mirror.h"
#include "tests/unit/unit_check.h"

#include <pthread.h>
#include <stdio.h>

/* Row id's values: every field derived from the id, so a torn copy shows. */
static struct store_event row_of(int64_t id)
{
	return (struct store_event){.ts_ns = id * 3,
				    .kind = (int32_t)(id % 50),
				    .object_id = id ^ 0x5555,
				    .wait_ns = id * 7,
				    .arg = -id,
				    .stack_id = id % 100000};
}

static int64_t th_of(int64_t id)
{
	return id % 1000;
}

static int same_row(int64_t id, const struct store_event *e, int64_t th)
{
	struct store_event w = row_of(id);
	return e->ts_ns == w.ts_ns && e->kind == w.kind && e->object_id == w.object_id &&
	       e->wait_ns == w.wait_ns && e->arg == w.arg && e->stack_id == w.stack_id &&
	       th == th_of(id);
}

static void put_rows(struct store_mirror *m, int64_t first, int n)
{
	struct store_event ev[64];
	int64_t th[64];
	for (int done = 0; done < n;) {
		int k = n - done < 64 ? n - done : 64;
		for (int i = 0; i < k; i++) {
			ev[i] = row_of(first + done + i);
			th[i] = th_of(first + done + i);
		}
		store_mirror_put(m, first + done, ev, th, k);
		done += k;
	}
}

/* 1 when get(id) answers want (1: the right row; 0: no row). */
static int gets(struct store_mirror *m, int64_t id, int want)
{
	struct store_event e;
	int64_t th = -1;
	int got = store_mirror_get(m, id, &e, &th);
	return got == want && (!got || same_row(id, &e, th));
}

static void test_basics(void)
{
	struct store_mirror *m = store_mirror_new(1000); /* 1024 slots */
	unit_check(m != NULL, "basics:made", "no memory");
	if (!m)
		return;
	unit_check(gets(m, 1, 0), "basics:empty", "a row before any put");
	put_rows(m, 1, 100);
	unit_check(gets(m, 1, 1) && gets(m, 50, 1) && gets(m, 100, 1), "basics:put", "rows 1-100");
	unit_check(gets(m, 101, 0) && gets(m, 0, 0), "basics:outside", "rows never put");
	put_rows(m, 101, 2000); /* laps the ring: rows up to 1076 are gone */
	unit_check(gets(m, 1076, 0) && gets(m, 1077, 1) && gets(m, 2100, 1), "basics:lapped",
		   "the oldest 1024 rows kept");
	store_mirror_forget(m, 1500);
	unit_check(gets(m, 1500, 0) && gets(m, 1501, 1), "basics:forget", "rows up to 1500 gone");
	/* ids that do not follow the last put: the old rows go */
	put_rows(m, 1400, 10);
	unit_check(gets(m, 1400, 1) && gets(m, 1409, 1) && gets(m, 1501, 0) && gets(m, 2100, 0),
		   "basics:start over", "only rows 1400-1409");
	store_mirror_forget(m, INT64_MAX);
	unit_check(gets(m, 1405, 0), "basics:forget all", "a row after forgetting all");
	put_rows(m, 1410, 5);
	unit_check(gets(m, 1410, 1) && gets(m, 1405, 0), "basics:after forget all",
		   "only the new rows");
	/* a row the compact form cannot hold: the mirror holds nothing until the next put */
	struct store_event big = row_of(1415);
	int64_t th = 1 << 24;
	store_mirror_put(m, 1415, &big, &th, 1);
	unit_check(gets(m, 1415, 0) && gets(m, 1410, 0), "basics:too big", "no rows");
	put_rows(m, 1416, 3);
	unit_check(gets(m, 1416, 1) && gets(m, 1418, 1), "basics:after too big", "rows 1416-1418");
	/* an arg filled in later (an exit status): the mirror's copy changes, other fields not */
	store_mirror_set_arg(m, 1417, 42);
	store_mirror_set_arg(m, 5, 42); /* not in the mirror: nothing */
	struct store_event e;
	int64_t eth;
	int ok = store_mirror_get(m, 1417, &e, &eth) && e.arg == 42 && e.ts_ns == 1417 * 3 &&
		 gets(m, 1416, 1) && gets(m, 5, 0);
	unit_check(ok, "basics:set arg", "row 1417's arg 42, the rest as put");
	/* released (its memory needed elsewhere): no row now or after */
	store_mirror_release(m);
	put_rows(m, 1419, 10);
	unit_check(gets(m, 1417, 0) && gets(m, 1419, 0) && gets(m, 1428, 0), "basics:released",
		   "no rows");
	store_mirror_free(m);
}

/* The race: a writer lapping a small ring while a reader reads just behind it. */
#define RACE_ROWS 3000000
static struct store_mirror *race_m;
static volatile int64_t race_written; /* rows put so far (the writer's "commit") */

static void *race_writer(void *arg)
{
	(void)arg;
	for (int64_t id = 1; id <= RACE_ROWS; id += 64) {
		put_rows(race_m, id, 64);
		__atomic_store_n(&race_written, id + 63, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_race(void)
{
	race_m = store_mirror_new(4096);
	if (!race_m)
		return;
	pthread_t t;
	pthread_create(&t, NULL, race_writer, NULL);
	int64_t got = 0, missed = 0, wrong = 0, id = 1;
	while (id <= RACE_ROWS) {
		int64_t written = __atomic_load_n(&race_written, __ATOMIC_ACQUIRE);
		if (id > written)
			continue;
		/* sometimes far behind (overwritten), mostly close */
		int64_t probe = (id % 7 == 0 && id > 8192) ? id - 8192 : id;
		struct store_event e;
		int64_t th;
		if (store_mirror_get(race_m, probe, &e, &th)) {
			got++;
			if (!same_row(probe, &e, th))
				wrong++;
		} else {
			missed++;
		}
		id++;
	}
	pthread_join(t, NULL);
	char detail[128];
	snprintf(detail, sizeof(detail), "%lld torn or stale of %lld returned (%lld missed)",
		 (long long)wrong, (long long)got, (long long)missed);
	unit_check(wrong == 0 && got > 0, "race:never torn", detail);
	store_mirror_free(race_m);
}

int main(void)
{
	test_basics();
	test_race();
	return unit_failures ? 1 : 0;
}
