/*
 * Unit tests of store_build_derived on hand-built traces: state intervals,
 * hold pairing (cond waits, recursion, shared readers), occupancy,
 * summary bucketing, idempotence, and the read-only (temp schema) path.
 */
#include "store/store.h"
#include "store/store_schema.h"
#include "tests/unit/unit_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void exec_or_die(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		printf("FAIL setup: %s: %s\n", msg ? msg : "?", sql);
		exit(1);
	}
}

/* A trace with the schema, one process (pid 1) and the given objects/threads/events. */
static sqlite3 *new_trace(const char *extra_sql)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		exit(1);
	exec_or_die(db, store_schema_sql);
	exec_or_die(db, store_ev_input_sql);
	exec_or_die(db, "INSERT INTO meta(key, value) VALUES('format','weft-trace');"
			"INSERT INTO proc(pid, ppid, argv, start_ns, end_ns, exit_code, "
			"exit_signal) VALUES(1, 0, 'prog', 0, NULL, NULL, NULL);"
			"INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id) "
			"VALUES(1, 1, 1, 'mu', 0, 0, 0);" /* mutex */
			"INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id) "
			"VALUES(2, 1, 5, 'cv', 0, 0, 0);" /* cond */
			"INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id) "
			"VALUES(3, 1, 2, 'rw', 0, 0, 0);" /* rwlock */
			"INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id) "
			"VALUES(4, 1, 4, 'sem', 0, 0, 0);" /* semaphore */
			"INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id) "
			"VALUES(5, 1, 13, 'q', 0, 0, 0);"); /* queue */
	exec_or_die(db, extra_sql);
	return db;
}

static int derive(sqlite3 *db)
{
	char err[256];
	int rc = store_build_derived(db, err, sizeof(err));
	if (rc)
		printf("# store_build_derived: %s\n", err);
	return rc;
}

static void test_spans(void)
{
	/* thread 10 lives [0, 1000): blocked on mu [100, 300), then a join [500, 600) */
	sqlite3 *db = new_trace("INSERT INTO meta(key, value) VALUES('end_ns', 1000);"
				"INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
				"producer_waits) VALUES(1, 10, 't', 0, 1000, 0, 0);"
				"INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
				"(50, 1, 10, 9, 0, 0, 0, 0),"	 /* thread.start: no span split */
				"(300, 1, 10, 1, 1, 200, 0, 0)," /* lock.acquire after 200 */
				"(400, 1, 10, 2, 1, 0, 0, 0),"	 /* lock.release */
				"(600, 1, 10, 11, 0, 100, 11, 0);"); /* thread.join */
	unit_check(derive(db) == 0, "spans:build", "failed");
	unit_expect_rows(
	    db, "spans:intervals",
	    "SELECT state, start_ns, end_ns, object_id FROM thread_spans ORDER BY end_ns",
	    "1|0|100|NULL;2|100|300|1;1|300|500|NULL;5|500|600|NULL;1|600|1000|NULL");
	unit_expect_rows(db, "spans:hold",
			 "SELECT object_id, tid, start_ns, end_ns, mode FROM object_holds",
			 "1|10|300|400|1");
	unit_expect_rows(
	    db, "spans:stats",
	    "SELECT acquires, contended, wait_ns, max_wait_ns, max_wait_event, max_hold_ns"
	    " FROM object_stats WHERE object_id=1",
	    "1|1|200|200|2|100");
	unit_expect_rows(db, "spans:point-events", "SELECT id, kind FROM point_events", "1|9");
	unit_expect_rows(db, "spans:thread-life",
			 "SELECT pid, tid, start_ns, end_ns, events FROM thread_life",
			 "1|10|0|1000|4");
	unit_expect_rows(db, "spans:info",
			 "SELECT value FROM derived_info WHERE key IN ('events','end_ns')"
			 " ORDER BY key",
			 "1000;4");
	/* idempotent: a second call adds nothing */
	unit_check(derive(db) == 0, "spans:rebuild", "failed");
	unit_expect_rows(db, "spans:idempotent", "SELECT count(*) FROM thread_spans", "5");
	sqlite3_close(db);
}

/*
 * t10 holds mu [0, 100), waits on cv [100, 400) (release arg 2, cond.wait,
 * acquire arg 2 after 50 more), holds mu again [450, 500). t11 takes mu
 * [100, 420) while t10 sleeps, so t10's re-acquire queues behind it.
 */
/* clang-format off */
#define COND_EVENTS                                                                                \
	"INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"                             \
	"(0, 1, 10, 1, 1, 0, 0, 0),"                                                               \
	"(100, 1, 10, 2, 1, 0, 2, 0),"                                                             \
	"(100, 1, 11, 1, 1, 0, 0, 0),"                                                             \
	"(400, 1, 10, 4, 2, 300, 0, 0),"                                                           \
	"(420, 1, 11, 2, 1, 0, 0, 0),"                                                             \
	"(450, 1, 10, 1, 1, 50, 2, 0),"                                                            \
	"(500, 1, 10, 2, 1, 0, 0, 0);"
/* clang-format on */

static void test_cond_wait_and_occupancy(void)
{
	sqlite3 *db = new_trace("INSERT INTO meta(key, value) VALUES('end_ns', 600);"
				"INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
				"producer_waits) VALUES(1, 10, 'a', 0, 600, 0, 0);"
				"INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
				"producer_waits) VALUES(1, 11, 'b', 0, 600, 0, 0);" COND_EVENTS);
	unit_check(derive(db) == 0, "cond:build", "failed");
	unit_expect_rows(db, "cond:spans",
			 "SELECT state, start_ns, end_ns, object_id FROM thread_spans WHERE tid=10"
			 " ORDER BY end_ns",
			 "1|0|100|NULL;3|100|400|2;2|400|450|1;1|450|600|NULL");
	unit_expect_rows(db, "cond:holds",
			 "SELECT tid, start_ns, end_ns FROM object_holds ORDER BY start_ns",
			 "10|0|100;11|100|420;10|450|500");
	/*
	 * The mutex: held by a, by b (a queued from 400), free, held by a
	 * again. Only the stretches with a thread queued are rows: where one
	 * thread holds it and nobody waits, its hold above says so.
	 */
	unit_expect_rows(db, "cond:occupancy",
			 "SELECT start_ns, end_ns, holder_tid, holders, waiters FROM object_spans"
			 " WHERE object_id=1 ORDER BY end_ns",
			 "400|420|11|1|1;420|450|0|0|1");
	sqlite3_close(db);
}

static void test_recursive_and_readers(void)
{
	sqlite3 *db = new_trace("INSERT INTO meta(key, value) VALUES('end_ns', 100);"
				"INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
				"producer_waits) VALUES(1, 10, 'a', 0, 100, 0, 0);"
				"INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
				"producer_waits) VALUES(1, 11, 'b', 0, 100, 0, 0);"
				"INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
				"(10, 1, 10, 1, 1, 0, 0, 0)," /* recursive: outer */
				"(20, 1, 10, 1, 1, 0, 0, 0)," /* inner */
				"(30, 1, 10, 2, 1, 0, 0, 0)," /* inner released */
				"(40, 1, 10, 2, 1, 0, 0, 0)," /* outer released */
				"(50, 1, 10, 1, 3, 0, 0, 0)," /* rw read [50, 80) */
				"(60, 1, 11, 1, 3, 0, 0, 0)," /* rw read [60, 70) */
				"(70, 1, 11, 2, 3, 0, 0, 0),"
				"(80, 1, 10, 2, 3, 0, 0, 0),"
				"(85, 1, 11, 1, 4, 0, 0, 0),"	/* sem_wait: no hold */
				"(90, 1, 11, 1, 1, 0, 0, 0);"); /* never released */
	unit_check(derive(db) == 0, "nest:build", "failed");
	unit_expect_rows(db, "nest:recursive",
			 "SELECT start_ns, end_ns FROM object_holds WHERE object_id=1 AND tid=10"
			 " ORDER BY start_ns",
			 "10|40;20|30");
	unit_expect_rows(db, "nest:readers",
			 "SELECT tid, start_ns, end_ns, mode FROM object_holds WHERE object_id=3"
			 " ORDER BY start_ns",
			 "10|50|80|0;11|60|70|0");
	/* two readers and nobody queued: the holds say it, no segment (the viewer sweeps them) */
	unit_expect_rows(db, "nest:shared-occupancy",
			 "SELECT count(*) FROM object_spans WHERE object_id=3", "0");
	unit_expect_rows(db, "nest:semaphore-no-hold",
			 "SELECT count(*) FROM object_holds WHERE object_id=4", "0");
	unit_expect_rows(
	    db, "nest:unreleased",
	    "SELECT start_ns, end_ns, mode FROM object_holds WHERE tid=11 AND object_id=1",
	    "90|100|3");
	sqlite3_close(db);
}

static void test_summary_buckets(void)
{
	/*
	 * Level 0 buckets are 32768 ns. The thread waits for mu over
	 * [0, 65536) (buckets 0-1, pure), runs in bucket 2, and in bucket 3
	 * waits 1000 ns of 32768: running dominates, the bucket is mixed. On
	 * the object's lane a bucket shows its holder even when mostly free.
	 */
	sqlite3 *db = new_trace("INSERT INTO meta(key, value) VALUES('end_ns', 131072);"
				"INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
				"producer_waits) VALUES(1, 10, 'a', 0, 131072, 0, 0);"
				"INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
				"(65536, 1, 10, 1, 1, 65536, 0, 0),"
				"(65600, 1, 10, 2, 1, 0, 0, 0),"
				"(100304, 1, 10, 1, 1, 1000, 0, 0),"
				"(100400, 1, 10, 2, 1, 0, 0, 0);");
	unit_check(derive(db) == 0, "summary:build", "failed");
	unit_expect_rows(db, "summary:level0",
			 "SELECT start_ns, end_ns, state, mixed FROM thread_summary WHERE level=0"
			 " ORDER BY end_ns",
			 "0|65536|2|0;65536|98304|1|0;98304|131072|1|1");
	/* level 1 (131072 ns): one bucket, lock (65536) vs running (65536 - 1000): lock wins */
	unit_expect_rows(db, "summary:level1",
			 "SELECT start_ns, end_ns, state, mixed FROM thread_summary WHERE level=1",
			 "0|131072|2|1");
	/* every level covers the thread's whole life exactly once */
	unit_expect_rows(db, "summary:coverage", "SELECT count(DISTINCT level) FROM thread_summary",
			 "14");
	unit_expect_rows(db, "summary:object-level0",
			 "SELECT start_ns, end_ns, holder_tid, max_waiters FROM object_summary"
			 " WHERE level=0 ORDER BY end_ns",
			 "0|65536|0|1;65536|98304|10|0;98304|131072|10|1");
	sqlite3_close(db);
}

/*
 * Runs within one level-0 bucket reach the levels above added up per value
 * (STORE_SUM_CARRY), with the same candidates as one by one: 20 threads
 * hold mu 1000 ns each in turn within level-0 bucket 0 (more values than a
 * bucket tracks, and than the carry holds), then tid 119 holds it 20000 ns
 * in bucket 1. A bucket tracks the first 8 values it sees, so at every
 * level above 0 the bucket holding both keeps 100..107 and shows 100 (the
 * first of the longest): 119, though longest in all, came too late to count.
 */
static void test_summary_carry(void)
{
	sqlite3 *db = new_trace(
	    "INSERT INTO meta(key, value) VALUES('end_ns', 65536);"
	    "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 19)"
	    " INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits)"
	    " SELECT 1, 100 + n, 't', 0, 65536, 0, 0 FROM i;"
	    "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 19)"
	    " INSERT INTO ev_in(ts, pid, tid, kind, obj, wait, arg, stack)"
	    " SELECT n * 1000 + r * 1000, 1, 100 + n, 1 + r, 1, 0, 0, 0"
	    " FROM i, (SELECT 0 AS r UNION ALL SELECT 1) ORDER BY n, r;"
	    "INSERT INTO ev_in(ts, pid, tid, kind, obj, wait, arg, stack) VALUES"
	    "(32768, 1, 119, 1, 1, 0, 0, 0), (52768, 1, 119, 2, 1, 0, 0, 0);");
	unit_check(derive(db) == 0, "summary carry:build", "failed");
	unit_expect_rows(db, "summary carry:level 0",
			 "SELECT start_ns, end_ns, holder_tid, mixed FROM object_summary"
			 " WHERE level = 0 AND object_id = 1 ORDER BY end_ns",
			 "0|32768|100|1;32768|65536|119|0");
	unit_expect_rows(db, "summary carry:levels 1-13",
			 "SELECT count(*), min(start_ns), max(end_ns) > 65536, min(holder_tid),"
			 " max(holder_tid), min(mixed) FROM object_summary"
			 " WHERE level > 0 AND object_id = 1",
			 "13|0|1|100|100|1");
	sqlite3_close(db);
}

static void test_queue(void)
{
	/* t10 blocks in queue.get [100, 400), t11's put is instant */
	sqlite3 *db = new_trace(
	    "INSERT INTO meta(key, value) VALUES('end_ns', 500);"
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits)"
	    " VALUES(1, 10, 'a', 0, 500, 0, 0), (1, 11, 'b', 0, 500, 0, 0);"
	    "INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
	    "(400, 1, 11, 23, 5, 0, 0, 0),"
	    "(400, 1, 10, 24, 5, 300, 0, 0);");
	unit_check(derive(db) == 0, "queue:build", "failed");
	unit_expect_rows(db, "queue:span",
			 "SELECT state, start_ns, end_ns, object_id FROM thread_spans WHERE tid=10"
			 " AND state<>1",
			 "7|100|400|5");
	unit_expect_rows(
	    db, "queue:stats",
	    "SELECT acquires, contended, max_wait_ns FROM object_stats WHERE object_id=5",
	    "2|1|300");
	unit_expect_rows(
	    db, "queue:waiters",
	    "SELECT start_ns, end_ns, holders, waiters FROM object_spans WHERE object_id=5",
	    "100|400|0|1");
	sqlite3_close(db);
}

static void test_queue_python(void)
{
	/*
	 * Python threads: t10's get lets go of the GIL at 110 and takes it
	 * back at 390, so it blocked [100, 400); t11 holds the GIL from 50 on,
	 * so its puts (an unbounded queue's) and an Event.wait of a set Event
	 * ran: weft's wrappers record the whole call as the wait.
	 */
	sqlite3 *db = new_trace(
	    "INSERT INTO meta(key, value) VALUES('end_ns', 500);"
	    "INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id)"
	    " VALUES(6, 1, 7, 'GIL', 0, 0, 0), (7, 1, 12, 'Event', 0, 0, 0);"
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits)"
	    " VALUES(1, 10, 'a', 0, 500, 0, 0), (1, 11, 'b', 0, 500, 0, 0);"
	    "INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
	    "(40, 1, 10, 20, 6, 0, 0, 0),"	/* gil.acquire */
	    "(50, 1, 11, 20, 6, 0, 0, 0),"	/* gil.acquire */
	    "(110, 1, 10, 21, 6, 0, 0, 0),"	/* gil.release: blocks */
	    "(200, 1, 11, 23, 5, 30, 0, 0),"	/* queue.put, GIL held */
	    "(300, 1, 11, 23, 5, 20, 0, 0),"	/* queue.put, GIL held */
	    "(350, 1, 11, 26, 7, 10, 0, 0),"	/* event.wait, GIL held */
	    "(390, 1, 10, 20, 6, 5, 0, 0),"	/* gil.acquire */
	    "(400, 1, 10, 24, 5, 300, 0, 0);"); /* queue.get */
	unit_check(derive(db) == 0, "queue-python:build", "failed");
	unit_expect_rows(db, "queue-python:the get blocked",
			 "SELECT state, start_ns, end_ns, object_id FROM thread_spans WHERE tid=10"
			 " AND state NOT IN (1, 9)",
			 "7|100|400|5");
	unit_expect_rows(db, "queue-python:the puts and the Event.wait ran",
			 "SELECT state, start_ns, end_ns FROM thread_spans WHERE tid=11",
			 "1|0|500");
	unit_expect_rows(db, "queue-python:stats",
			 "SELECT acquires, contended, wait_ns FROM object_stats WHERE object_id=5",
			 "3|1|300");
	sqlite3_close(db);
}

static void test_thread_end(void)
{
	/*
	 * No thread rows: t10 ends with its process's exit event, t20 with
	 * proc.end_ns; pid 2's main thread starts with its process.
	 */
	sqlite3 *db = new_trace(
	    "INSERT INTO meta(key, value) VALUES('end_ns', 1000);"
	    "INSERT INTO proc(pid, ppid, argv, start_ns, end_ns) VALUES(2, 1, 'child', 5, 700);"
	    "INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
	    "(10, 1, 10, 9, 0, 0, 0, 0), (300, 1, 10, 15, 0, 0, 0, 0),"
	    "(20, 2, 20, 9, 0, 0, 0, 0), (30, 1, 11, 9, 0, 0, 0, 0),"
	    "(40, 2, 2, 9, 0, 0, 0, 0);");
	unit_check(derive(db) == 0, "end:build", "failed");
	unit_expect_rows(db, "end:life",
			 "SELECT tid, start_ns, end_ns FROM thread_life ORDER BY tid",
			 "2|5|700;10|10|300;11|30|300;20|20|700");
	sqlite3_close(db);
}

static void test_open_lock_wait(void)
{
	/*
	 * Both threads never get their lock (a deadlock stopped at 1000): t10's
	 * wait on sem is a bare lock.wait; t11's is a PyMutex Lock's, whose
	 * interpreter lets go of the GIL after the lock.wait, to park: a
	 * Python thread's wait covers that release too, from the lock.wait.
	 */
	sqlite3 *db = new_trace("INSERT INTO meta(key, value) VALUES('end_ns', 1000);"
				"INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, "
				"stack_id) VALUES(6, 1, 7, 'GIL', 0, 0, 0);"
				"INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
				"producer_waits) VALUES(1, 10, 'a', 0, 1000, 0, 0),"
				"(1, 11, 'b', 0, 1000, 0, 0);"
				"INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
				"(100, 1, 10, 28, 4, 0, 0, 0),"	  /* lock.wait */
				"(100, 1, 11, 28, 4, 0, 0, 0),"	  /* lock.wait */
				"(150, 1, 11, 21, 6, 0, 0, 0);"); /* gil.release */
	unit_check(derive(db) == 0, "open-wait:build", "failed");
	unit_expect_rows(db, "open-wait:blocked to the end",
			 "SELECT tid, state, start_ns, end_ns, object_id FROM thread_spans"
			 " WHERE end_ns = 1000 ORDER BY tid",
			 "10|2|100|1000|4;11|2|100|1000|4");
	sqlite3_close(db);
}

static void test_readonly_temp(void)
{
	char path[] = "/tmp/weft-derive-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		unit_check(0, "readonly:tmpfile", "mkstemp failed");
		return;
	}
	close(fd);
	sqlite3 *db = NULL;
	sqlite3_open(path, &db);
	exec_or_die(db, store_schema_sql);
	exec_or_die(db, store_ev_input_sql);
	exec_or_die(db, "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
			"producer_waits) VALUES(1, 10, 'a', 0, 100, 0, 0);"
			"INSERT INTO obj(object_id, pid, kind, name, created_ns, addr, stack_id) "
			"VALUES(1, 1, 1, 'mu', 0, 0, 0);"
			"INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
			"(50, 1, 10, 1, 1, 20, 0, 0), (60, 1, 10, 2, 1, 0, 0, 0),"
			"(55, 1, 11, 9, 0, 0, 0, 0), (60, 1, 11, 10, 0, 0, 0, 0);");
	sqlite3_close(db);
	sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	unit_check(derive(db) == 0, "readonly:build", "failed");
	unit_expect_rows(db, "readonly:in-temp",
			 "SELECT count(*) FROM sqlite_temp_master WHERE name='thread_spans'", "1");
	unit_expect_rows(
	    db, "readonly:spans",
	    "SELECT state, start_ns, end_ns FROM thread_spans WHERE tid=10 ORDER BY end_ns",
	    "1|0|30;2|30|50;1|50|100");
	/* no end_ns in meta and no complete key: the last event bounds the trace */
	unit_expect_rows(db, "readonly:end", "SELECT value FROM derived_info WHERE key='end_ns'",
			 "60");
	/* thread 11 has events but no threads row (a killed tracer): it still gets a life */
	unit_expect_rows(db, "readonly:unlisted-thread",
			 "SELECT tid, start_ns, end_ns FROM thread_life ORDER BY tid",
			 "10|0|100;11|55|60");
	unit_expect_rows(db, "readonly:unlisted-spans",
			 "SELECT state, start_ns, end_ns FROM thread_spans WHERE tid=11",
			 "1|55|60");
	sqlite3_close(db);
	unlink(path);
}

/* Every derived table's rows, sorted, in one string (insert order is no part of them). */
static void derived_dump(sqlite3 *db, char *out, size_t len)
{
	static const char *const tables[] = {
	    "thread_spans",	   "object_holds",     "object_spans", "thread_summary",
	    "object_summary",	   "point_events",     "object_stats", "thread_life",
	    "thread_event_blocks", "object_long_holds"};
	size_t n = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[128], rows[4096];
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1, 2, 3%s", tables[i],
			 strcmp(tables[i], "thread_event_blocks") ? ", 4, 5" : "");
		unit_rows(db, sql, rows, sizeof(rows));
		n += (size_t)snprintf(out + n, len > n ? len - n : 0, "%s: %s\n", tables[i], rows);
	}
}

/*
 * The build in steps (store_derive_events as a trace grows, then
 * store_derive_finish) gives the rows of the build in one go; and when
 * what was read early was moved afterwards (moved_from) or a thread's row
 * turns out to start before its first event, finish reads everything
 * again, with the same result.
 */
static void test_in_steps(void)
{
	static const char fixture[] =
	    "INSERT INTO meta(key, value) VALUES('end_ns', 600);"
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, "
	    "producer_waits) VALUES(1, 10, 'a', 0, 600, 0, 0);" COND_EVENTS;
	/* thread 11's row comes at the end, as the writer writes the rest of a row */
	static const char late_row[] =
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded,"
	    " producer_waits) VALUES(1, 11, 'b', %d, 600, 0, 0);";
	char whole[8192], stepped[8192], sql[256], err[256];
	/* moved_from: none, beyond what was read, within it; t11's row at its first event or before
	 */
	static const struct {
		const char *name;
		int64_t moved_from;
		int t11_start;
		const char *change; /* what the end changed in the rows, from moved_from on */
		int seen_early;	    /* the change is seen while following, not only at the end */
	} cases[] = {
	    {"steps:kept", INT64_MAX, 100, "SELECT 1", 0},
	    {"steps:changed after what was read", 6, 100, "UPDATE ev SET wait = 20 WHERE id = 6",
	     0},
	    {"steps:changed within what was read", 3, 100, "UPDATE ev SET wait = 40 WHERE id = 3",
	     0},
	    {"steps:a thread's row starts earlier", INT64_MAX, 50, "SELECT 1", 0},
	    {"steps:changed within, seen while following", 3, 100,
	     "UPDATE ev SET wait = 40 WHERE id = 3", 1},
	};
	/* every case twice: the objects' occupancy computed at the end, then followed closely */
	for (size_t r = 0; r < 2 * sizeof(cases) / sizeof(cases[0]); r++) {
		size_t c = r % (sizeof(cases) / sizeof(cases[0]));
		if (r == sizeof(cases) / sizeof(cases[0]))
			setenv("WEFT_TEST_FOLLOW_OBJECTS", "1", 1);
		char name[96];
		snprintf(name, sizeof(name), "%s%s", cases[c].name,
			 r >= sizeof(cases) / sizeof(cases[0]) ? " (objects followed)" : "");
		snprintf(sql, sizeof(sql), late_row, cases[c].t11_start);
		sqlite3 *db = new_trace(fixture);
		exec_or_die(db, sql);
		exec_or_die(db, cases[c].change);
		unit_check(derive(db) == 0, name, "the whole build failed");
		derived_dump(db, whole, sizeof(whole));
		sqlite3_close(db);
		db = new_trace(fixture);
		struct store_derive *d = store_derive_begin(db, "main", err, sizeof(err));
		unit_check(d != NULL, name, err);
		if (!d)
			continue;
		unit_check(store_derive_events(d, 2, INT64_MAX, NULL) == 0 &&
			       store_derive_events(d, 5, INT64_MAX, NULL) == 0,
			   name, err);
		exec_or_die(db, sql);
		exec_or_die(db, cases[c].change);
		int64_t moved_at_end = cases[c].moved_from;
		if (cases[c].seen_early) {
			unit_check(store_derive_events(d, 6, cases[c].moved_from, NULL) == 0, name,
				   err);
			moved_at_end = INT64_MAX;
		}
		unit_check(store_derive_finish(d, moved_at_end) == 0, name, err);
		store_derive_free(d);
		derived_dump(db, stepped, sizeof(stepped));
		unit_check(strcmp(whole, stepped) == 0, name, stepped);
		sqlite3_close(db);
	}
	unsetenv("WEFT_TEST_FOLLOW_OBJECTS");
}

/*
 * Following an object's occupancy while the trace is written: a wait that
 * began before holds already fed arrives when it ends (C waits on mu from
 * 50 to 400, after A's and B's holds were fed), so the object is read
 * again at the end; the rows are those of the build in one go.
 */
static void test_late_wait_followed(void)
{
	static const char fixture[] =
	    "INSERT INTO meta(key, value) VALUES('end_ns', 600);"
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits)"
	    " VALUES(1, 10, 'a', 0, 600, 0, 0), (1, 11, 'b', 0, 600, 0, 0),"
	    " (1, 12, 'c', 0, 600, 0, 0);"
	    "INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) VALUES"
	    "(0, 1, 10, 1, 1, 0, 0, 0), (40, 1, 12, 1, 3, 0, 0, 0), (45, 1, 12, 2, 3, 0, 0, 0),"
	    "(100, 1, 10, 2, 1, 0, 0, 0), (200, 1, 11, 1, 1, 0, 0, 0),"
	    "(300, 1, 11, 2, 1, 0, 0, 0), (400, 1, 12, 1, 1, 350, 0, 0),"
	    "(450, 1, 12, 2, 1, 0, 0, 0);";
	char whole[8192], stepped[8192], err[256];
	sqlite3 *db = new_trace(fixture);
	unit_check(derive(db) == 0, "follow:late wait", "the whole build failed");
	derived_dump(db, whole, sizeof(whole));
	sqlite3_close(db);
	setenv("WEFT_TEST_FOLLOW_OBJECTS", "1", 1);
	db = new_trace(fixture);
	struct store_derive *d = store_derive_begin(db, "main", err, sizeof(err));
	unit_check(d && store_derive_events(d, 6, INT64_MAX, NULL) == 0 &&
		       store_derive_finish(d, INT64_MAX) == 0,
		   "follow:late wait", err);
	store_derive_free(d);
	derived_dump(db, stepped, sizeof(stepped));
	unit_check(strcmp(whole, stepped) == 0, "follow:late wait", stepped);
	unit_expect_rows(db, "follow:late wait, the wait counted",
			 "SELECT start_ns, end_ns, holders, waiters FROM object_spans"
			 " WHERE object_id = 1 ORDER BY end_ns",
			 "50|100|1|1;100|200|0|1;200|300|1|1;300|400|0|1");
	sqlite3_close(db);
	unsetenv("WEFT_TEST_FOLLOW_OBJECTS");
}

/* Every derived table of schema a has the rows of schema b, and no other. */
static void same_tables(sqlite3 *db, const char *name, const char *a, const char *b)
{
	static const char *const tables[] = {
	    "thread_spans",	   "object_holds",     "object_spans", "thread_summary",
	    "object_summary",	   "point_events",     "object_stats", "thread_life",
	    "thread_event_blocks", "object_long_holds"};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[512], got[256], what[160];
		snprintf(sql, sizeof(sql),
			 "SELECT (SELECT count(*) FROM (SELECT * FROM %s.%s EXCEPT SELECT * FROM "
			 "%s.%s)) || ' ' || (SELECT count(*) FROM (SELECT * FROM %s.%s EXCEPT "
			 "SELECT * FROM %s.%s)) || ' ' || (SELECT count(*) FROM %s.%s)",
			 a, tables[i], b, tables[i], b, tables[i], a, tables[i], a, tables[i]);
		unit_rows(db, sql, got, sizeof(got));
		snprintf(what, sizeof(what), "%s: %s as in one go (only there, only here, rows)",
			 name, tables[i]);
		char want[64];
		snprintf(want, sizeof(want), "0 0 %s",
			 strrchr(got, ' ') ? strrchr(got, ' ') + 1 : "");
		unit_check(!strcmp(got, want), what, got);
	}
}

/*
 * Following a busy object (150,000 holds of 500 ns, one every 1 us, as in a
 * burst of 150 ms): its holds are fed up to OCC_FOLLOW_MARGIN_MIN_NS (2 ms)
 * before the newest row read when nothing ever waited on it (a fixed 250
 * ms fed nothing of a burst before the end); a step that read more than
 * OCC_FOLLOW_BUSY_ROWS rows feeds nothing while the program runs, and
 * everything up to the margin once it has ended (store_derive_unhurried;
 * the object is not followed at all before: the pass at the end reads it);
 * a wait longer than any before it (40 ms, ending after the rows read)
 * makes the object late once, unless a lock.wait announced it when it
 * began (then it holds back what is fed, as an open hold does); a hold
 * written twice (one row) is fed once
 * from the followed object's buffer too. The tables are those of the
 * build in one go.
 */
static void test_follow_margin(void)
{
	static const char fixture[] =
	    "INSERT INTO meta(key, value) VALUES('end_ns', 200000000);"
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits)"
	    " VALUES(1, 10, 'a', 0, 200000000, 0, 0), (1, 11, 'b', 0, 200000000, 0, 0);"
	    "INSERT INTO thread_no(pid, tid) VALUES(1, 10), (1, 11);"
	    "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 149999)"
	    " INSERT INTO ev(ts, th, kind, obj, wait, arg, stack)"
	    " SELECT n * 1000 + r * 500, (SELECT th FROM thread_no WHERE tid = 10), 1 + r, 1,"
	    " 0, 0, 0 FROM i, (SELECT 0 AS r UNION ALL SELECT 1) ORDER BY n, r;";
	static const char long_wait[] =
	    "INSERT INTO ev_in(ts, pid, tid, kind, obj, wait, arg, stack) VALUES"
	    "(149999700, 1, 11, 1, 1, 40000000, 0, 0), (149999900, 1, 11, 2, 1, 0, 0, 0);";
	/* the same wait, announced by its lock.wait (kind 28) when it began */
	static const char announced_wait[] =
	    "INSERT INTO ev_in(ts, pid, tid, kind, obj, wait, arg, stack) VALUES"
	    "(109999700, 1, 11, 28, 1, 0, 0, 0),"
	    "(149999700, 1, 11, 1, 1, 40000000, 0, 0), (149999900, 1, 11, 2, 1, 0, 0, 0);";
	/* taken twice and let go twice within one tick: one row in object_holds */
	static const char twice[] =
	    "INSERT INTO ev_in(ts, pid, tid, kind, obj, wait, arg, stack) VALUES"
	    "(145000100, 1, 11, 1, 1, 0, 0, 0), (145000100, 1, 11, 1, 1, 0, 0, 0),"
	    "(145000200, 1, 11, 2, 1, 0, 0, 0), (145000200, 1, 11, 2, 1, 0, 0, 0);";
	static const struct {
		const char *name;
		int ended, wait;
		int64_t steps[3];
		int64_t early, at_end;
		int again;
	} cases[] = {
	    {"follow:one big step while the program runs", 0, 0, {280000}, 0, 0, 0},
	    {"follow:one big step after the program ended", 1, 0, {280000}, 138000, 12000, 0},
	    {"follow:small steps while the program runs",
	     0,
	     0,
	     {20000, 140000, 280000},
	     138000,
	     12000,
	     0},
	    {"follow:a wait longer than any before", 1, 1, {280000}, 138000, 150002, 1},
	    /*
	     * Its lock.wait (read in the step, the acquire not) bounds what is
	     * fed (occ_follow_limits) from when it began: nothing fed is after
	     * its start, nothing read again.
	     */
	    {"follow:a long wait its lock.wait announced", 1, 3, {300001}, 110000, 40002, 0},
	    /* read from memory after the second step: the twice-written hold is fed once */
	    {"follow:a hold written twice", 0, 2, {20000, 140000, 280000}, 138000, 12001, 0},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *name = cases[c].name;
		char err[256], got[128], want[128];
		sqlite3 *db = new_trace(fixture);
		if (cases[c].wait)
			exec_or_die(db, cases[c].wait == 1   ? long_wait
					: cases[c].wait == 3 ? announced_wait
							     : twice);
		exec_or_die(db, "ATTACH ':memory:' AS whole; ATTACH ':memory:' AS stepped");
		unit_check(store_build_derived_in(db, "whole", err, sizeof(err)) == 0, name, err);
		exec_or_die(db, "BEGIN");
		struct store_derive *d = store_derive_begin(db, "stepped", err, sizeof(err));
		unit_check(d != NULL, name, err);
		if (!d) {
			sqlite3_close(db);
			continue;
		}
		if (cases[c].ended)
			store_derive_unhurried(d);
		for (int k = 0; k < 3 && cases[c].steps[k]; k++)
			unit_check(store_derive_events(d, cases[c].steps[k], INT64_MAX, NULL) == 0,
				   name, err);
		unit_check(store_derive_finish(d, INT64_MAX) == 0, name, err);
		int64_t early, at_end;
		int again;
		store_derive_follow_counts(d, &early, &at_end, &again);
		store_derive_free(d);
		exec_or_die(db, "COMMIT");
		snprintf(got, sizeof(got), "%lld early, %lld at the end, %d read again",
			 (long long)early, (long long)at_end, again);
		snprintf(want, sizeof(want), "%lld early, %lld at the end, %d read again",
			 (long long)cases[c].early, (long long)cases[c].at_end, cases[c].again);
		unit_check(!strcmp(got, want), name, got);
		same_tables(db, name, "stepped", "whole");
		sqlite3_close(db);
	}
}

struct walk {
	char ids[4096];
	size_t n;
	int left; /* ids still wanted */
};

static int walk_take(void *ctx, int64_t id, int64_t ts)
{
	struct walk *w = ctx;
	(void)ts;
	w->n += (size_t)snprintf(w->ids + w->n, sizeof(w->ids) - w->n, "%s%lld", w->n ? ";" : "",
				 (long long)id);
	return --w->left == 0;
}

/*
 * A thread's events through thread_event_blocks (store_thread_events):
 * ev has 10000 rows over three blocks of 4096 ids, thread 11 has events
 * in the first and the last block only, thread 12 one in the middle.
 */
static void test_thread_events(void)
{
	sqlite3 *db = new_trace(
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)"
	    " INSERT INTO ev_in(ts,pid,tid,kind,obj,wait,arg,stack) SELECT i, 1,"
	    " CASE WHEN i IN (100, 101, 9000) THEN 11 WHEN i = 5000 THEN 12 ELSE 10 END,"
	    " 1, 0, 0, 0, 0 FROM n;");
	unit_check(derive(db) == 0, "thread events:build", "failed");
	unit_expect_rows(db, "thread events:blocks",
			 "SELECT tid, block FROM thread_event_blocks ORDER BY tid, block",
			 "10|0;10|1;10|2;11|0;11|2;12|1");
	static const struct {
		const char *name;
		int tid;
		int64_t from;
		int dir, want;
		const char *ids;
	} cases[] = {
	    {"thread events:up from the start", 11, 1, 1, 5, "100;101;9000"},
	    {"thread events:up from within, across an empty block", 11, 101, 1, 5, "101;9000"},
	    {"thread events:up from past the last", 11, 9001, 1, 5, ""},
	    {"thread events:down from the end", 11, 10001, -1, 5, "9000;101;100"},
	    {"thread events:down, ids below from only", 11, 9000, -1, 5, "101;100"},
	    {"thread events:down from block 1", 12, 5000, -1, 5, ""},
	    {"thread events:stops when told", 10, 4090, 1, 3, "4090;4091;4092"},
	    {"thread events:across a block edge", 10, 4095, 1, 3, "4095;4096;4097"},
	    {"thread events:down across a block edge", 10, 4098, -1, 3, "4097;4096;4095"},
	    {"thread events:a thread without events", 99, 1, 1, 5, ""},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct walk w = {.left = cases[c].want};
		int rc = store_thread_events(db, 1, cases[c].tid, cases[c].from, cases[c].dir,
					     walk_take, &w);
		unit_check(rc == (w.left == 0) && !strcmp(w.ids, cases[c].ids), cases[c].name,
			   w.ids);
	}
	sqlite3_close(db);
}

static void test_empty(void)
{
	sqlite3 *db = new_trace("SELECT 1");
	unit_check(derive(db) == 0, "empty:build", "failed");
	unit_expect_rows(db, "empty:info", "SELECT value FROM derived_info WHERE key='events'",
			 "0");
	unit_expect_rows(db, "empty:spans", "SELECT count(*) FROM thread_spans", "0");
	sqlite3_close(db);
}

/*
 * Holds are written a chunk at a time once no open hold starts before
 * them (store_holdchunks.h): a recursive mutex's outer level held across
 * 20000 inner ones keeps them back until 16384 are kept, then they are
 * written and the outer hold, ending last, is a late row. object_holds
 * still reads in start order, the outer hold first.
 */
static void test_late_hold(void)
{
	sqlite3 *db = new_trace(
	    "INSERT INTO meta(key, value) VALUES('end_ns', 400000);"
	    "INSERT INTO thr(pid, tid, name, start_ns, end_ns, unrecorded, producer_waits)"
	    " VALUES(1, 10, 'a', 0, 400000, 0, 0);"
	    "INSERT INTO thread_no(pid, tid) VALUES(1, 10);"
	    "INSERT INTO ev(ts, th, kind, obj, wait, arg, stack) VALUES(0, 1, 1, 1, 0, 0, 0);"
	    "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 19999)"
	    " INSERT INTO ev(ts, th, kind, obj, wait, arg, stack)"
	    " SELECT 10 + n * 10 + r * 5, 1, 1 + r, 1, 0, 0, 0 FROM i,"
	    " (SELECT 0 AS r UNION ALL SELECT 1) ORDER BY n, r;"
	    "INSERT INTO ev(ts, th, kind, obj, wait, arg, stack) VALUES(300000, 1, 2, 1, 0, 0, "
	    "0);");
	unit_check(derive(db) == 0, "late hold:build", "failed");
	unit_expect_rows(db, "late hold:every hold", "SELECT count(*) FROM object_holds", "20001");
	unit_expect_rows(db, "late hold:the outer one is late",
			 "SELECT start_ns, end_ns FROM object_holds_late", "0|300000");
	unit_expect_rows(db, "late hold:in start order",
			 "SELECT start_ns, end_ns FROM object_holds WHERE object_id = 1"
			 " ORDER BY start_ns LIMIT 3",
			 "0|300000;10|15;20|25");
	unit_expect_rows(db, "late hold:descending",
			 "SELECT start_ns FROM object_holds WHERE object_id = 1"
			 " ORDER BY start_ns DESC LIMIT 2",
			 "200000;199990");
	unit_expect_rows(db, "late hold:holders at an instant",
			 "SELECT start_ns FROM object_holds WHERE object_id = 1 AND"
			 " start_ns <= 100002 AND end_ns > 100002 ORDER BY start_ns",
			 "0;100000");
	unit_expect_rows(db, "late hold:chunks",
			 "SELECT count(*) > 30, max(n) <= 512, sum(n) FROM object_hold_chunks",
			 "1|1|20000");
	sqlite3_close(db);
}

int main(void)
{
	test_spans();
	test_cond_wait_and_occupancy();
	test_recursive_and_readers();
	test_summary_buckets();
	test_summary_carry();
	test_queue();
	test_queue_python();
	test_thread_end();
	test_open_lock_wait();
	test_readonly_temp();
	test_in_steps();
	test_late_wait_followed();
	test_follow_margin();
	test_thread_events();
	test_empty();
	test_late_hold();
	return unit_failures ? 1 : 0;
}
