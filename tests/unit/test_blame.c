/*
 * Unit tests of store_blame_at, the blame chain at one instant (the
 * viewer's state panel): a holder that runs, a deadlock between two
 * threads, a thread waiting for a lock it holds itself, and a thread that
 * does not wait; and store_blame_whole over a cond wait whose mutex its
 * waiter let go of (no deadlock).
 */
#include "store/store.h"
#include "store/store_blame.h"
#include "store/store_schema.h"
#include "tests/unit/unit_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void exec_or_die(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		printf("FAIL setup: %s: %s\n", msg ? msg : "?", sql);
		exit(1);
	}
}

/*
 * 1 ms, three threads of pid 1 and three mutexes. 10 takes a at 100 and
 * waits for b from 300 to the end; 11 takes b at 150 and waits for a from
 * 400 to the end; 12 takes c at 100 and waits for c again from 200.
 */
/* An in-memory trace: the schema, the rows sql inserts, the derived tables. */
static sqlite3 *trace_from(const char *sql)
{
	sqlite3 *db = NULL;
	char err[256];
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		exit(1);
	exec_or_die(db, store_schema_sql);
	exec_or_die(db, store_ev_input_sql);
	exec_or_die(db, sql);
	if (store_build_derived(db, err, sizeof(err))) {
		printf("FAIL setup: store_build_derived: %s\n", err);
		exit(1);
	}
	return db;
}

static sqlite3 *deadlocked_trace(void)
{
	return trace_from(
	    "INSERT INTO meta(key, value) VALUES('format', 'weft-trace'), ('end_ns', 1000);"
	    "INSERT INTO proc(pid, ppid, argv, start_ns, end_ns, exit_code, exit_signal)"
	    " VALUES(1, 0, 'prog', 0, NULL, NULL, NULL);"
	    "INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id)"
	    " VALUES(1, 1, 1, 'a', 0, 0, 0), (2, 1, 1, 'b', 0, 0, 0),"
	    " (3, 1, 1, 'c', 0, 0, 0);"
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits)"
	    " VALUES(1, 10, 'one', 0, 1000, 0, 0), (1, 11, 'two', 0, 1000, 0, 0),"
	    " (1, 12, 'self', 0, 1000, 0, 0);"
	    "INSERT INTO ev_in(ts, pid, tid, kind, obj, wait, arg, stack) VALUES"
	    "(10, 1, 10, 9, 0, 0, 0, 0), (10, 1, 11, 9, 0, 0, 0, 0),"
	    "(10, 1, 12, 9, 0, 0, 0, 0),"
	    "(100, 1, 10, 1, 1, 0, 0, 0), (150, 1, 11, 1, 2, 0, 0, 0),"
	    "(300, 1, 10, 28, 2, 0, 0, 0), (400, 1, 11, 28, 1, 0, 0, 0),"
	    "(100, 1, 12, 1, 3, 0, 0, 0), (200, 1, 12, 28, 3, 0, 0, 0);");
}

/*
 * A cond wait lets go of its mutex: 20 takes m at 100 and waits on cv
 * from 200 (its lock.release of m, arg 2) to 900; 21 waits for m from 150
 * but gets it only at 800 (not run for a while), signals cv at 850 and
 * lets m go at 860. 20's own hold of m ended before its wait began: no
 * deadlock, m was free.
 */
static sqlite3 *cond_trace(void)
{
	return trace_from(
	    "INSERT INTO meta(key, value) VALUES('format', 'weft-trace'), ('end_ns', 1000);"
	    "INSERT INTO proc(pid, ppid, argv, start_ns, end_ns, exit_code, exit_signal)"
	    " VALUES(1, 0, 'prog', 0, 1000, 0, NULL);"
	    "INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id)"
	    " VALUES(4, 1, 1, 'm', 0, 0, 0), (5, 1, 5, 'cv', 0, 0, 0);"
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits)"
	    " VALUES(1, 20, 'consumer', 0, 1000, 0, 0), (1, 21, 'producer', 0, 1000, 0, 0);"
	    "INSERT INTO ev_in(ts, pid, tid, kind, obj, wait, arg, stack) VALUES"
	    "(10, 1, 20, 9, 0, 0, 0, 0), (10, 1, 21, 9, 0, 0, 0, 0),"
	    "(100, 1, 20, 1, 4, 0, 0, 0), (200, 1, 20, 2, 4, 0, 2, 0),"
	    "(900, 1, 20, 4, 5, 700, 0, 0), (900, 1, 20, 1, 4, 0, 2, 0),"
	    "(950, 1, 20, 2, 4, 0, 0, 0),"
	    "(150, 1, 21, 28, 4, 0, 0, 0), (800, 1, 21, 1, 4, 650, 0, 0),"
	    "(850, 1, 21, 5, 5, 0, 0, 0), (860, 1, 21, 2, 4, 0, 0, 0);");
}

/* The chain as "end: tid on obj since held_from, state ... | ...". */
static void chain_text(const struct store_blame *b, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len,
				    "%s, waits %d on %lld since %lld:", store_blame_end_key(b->end),
				    b->state, (long long)b->obj, (long long)b->start_ns);
	for (int i = 0; i < b->nlinks && n < len; i++) {
		const struct store_blame_link *l = &b->links[i];
		n += (size_t)snprintf(out + n, len - n, " %lld held by %d since %lld",
				      (long long)l->obj, l->tid, (long long)l->held_from);
		if (n < len && !(i == b->nlinks - 1 && b->end == STORE_BLAME_CYCLE))
			n +=
			    (size_t)snprintf(out + n, len - n, " (%d on %lld since %lld)", l->state,
					     (long long)l->state_obj, (long long)l->state_from);
	}
}

static void expect_chain(struct store_blame_reader *r, const char *name, int tid, int64_t at,
			 const char *want)
{
	struct store_blame b;
	char got[512], detail[1200];
	int rc = store_blame_at(r, 1, tid, at, &b);
	if (rc != 1)
		snprintf(got, sizeof(got), "returned %d", rc);
	else
		chain_text(&b, got, sizeof(got));
	snprintf(detail, sizeof(detail), "got [%s], want [%s]", got, want);
	unit_check(!strcmp(got, want), name, detail);
}

int main(void)
{
	sqlite3 *db = deadlocked_trace();
	struct store_blame_reader *r = store_blame_reader_open(db);
	unit_check(r != NULL, "blame:reader", sqlite3_errmsg(db));
	if (!r)
		return 1;
	/* before 11 waits for a, the holder of b runs (since its start: taking b did not wait) */
	expect_chain(r, "blame:holder-runs", 10, 350,
		     "running, waits 2 on 2 since 300: 2 held by 11 since 150 (1 on 0 since 0)");
	/* from 400 each waits for what the other holds */
	expect_chain(r, "blame:deadlock", 10, 500,
		     "cycle, waits 2 on 2 since 300: 2 held by 11 since 150 (2 on 1 since 400) 1 "
		     "held by 10 since 100");
	expect_chain(r, "blame:deadlock-other-side", 11, 500,
		     "cycle, waits 2 on 1 since 400: 1 held by 10 since 100 (2 on 2 since 300) 2 "
		     "held by 11 since 150");
	/* a thread waiting for a lock it holds: held by itself, a cycle of one */
	expect_chain(r, "blame:self", 12, 500,
		     "cycle, waits 2 on 3 since 200: 3 held by 12 since 100");
	struct store_blame b;
	unit_check(store_blame_at(r, 1, 10, 200, &b) == 0, "blame:running-thread",
		   "a running thread has no chain");
	unit_check(store_blame_at(r, 1, 99, 200, &b) == 0, "blame:unknown-thread",
		   "a thread with no spans has no chain");
	store_blame_reader_close(r);
	sqlite3_close(db);

	db = cond_trace();
	r = store_blame_reader_open(db);
	unit_check(r != NULL, "blame:cond-reader", sqlite3_errmsg(db));
	if (!r)
		return 1;
	int rc = store_blame_whole(r, 1, 20, 500, &b);
	char got[512], detail[1200];
	chain_text(&b, got, sizeof(got));
	const char *want =
	    "freed, waits 3 on 5 since 200: 5 held by 21 since 850 (2 on 4 since 150) 4 "
	    "held by 20 since 100 (0 on 0 since 0)";
	snprintf(detail, sizeof(detail), "rc %d, got [%s], want [%s]", rc, got, want);
	unit_check(rc == 1 && !strcmp(got, want), "blame:cond-wait-let-go-no-deadlock", detail);
	unit_check(rc == 1 && b.nlinks == 2 && b.links[1].held_until == 200,
		   "blame:cond-held-until", "the consumer's hold ends at its cond wait's release");
	store_blame_reader_close(r);
	sqlite3_close(db);
	return unit_failures ? 1 : 0;
}
