/*
 * Unit tests of store_build_findings on hand-made traces written through the
 * trace writer: lock-order cycles (2, 3 and 4 locks, gate locks, readers,
 * recursion, grouping), every misuse check, fork/exec, suppressions,
 * idempotence, the read-only (temp schema) path, and the --fail-on helpers.
 */
#include "store/store.h"
#include "tracer/findings_cli.h"
#include "tests/unit/unit_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	ACQ = 1,
	REL = 2,
	FAIL = 3,
	CWAIT = 4,
	TEXIT = 10,
	FORK = 12,
	EXEC = 13,
	PEXIT = 15,
	DESTROY = 17,
	LWAIT = 28
};
enum { MUTEX = 1, RWLOCK = 2, SPIN = 3, SEM = 4, COND = 5, PYLOCK = 8 };

static char dir[64];
static int ntrace;

/* A trace being written: events get increasing timestamps 10 ns apart. */
struct tb {
	struct store_writer *w;
	char path[128];
	int64_t ts;
};

static void die(const char *what, struct tb *t)
{
	printf("FAIL setup: %s: %s\n", what, t && t->w ? store_writer_error(t->w) : "?");
	exit(1);
}

/*
 * Objects 1..n named by names[i-1] with kinds[i-1] in pid 1 at address
 * 0x1000 * id; threads 1 (main) and 11..19 named t11..; stacks 1..40 with one
 * frame fn_N at file_N.c:N.
 */
static void tb_open(struct tb *t, const char *names, const int *kinds)
{
	char err[256], name[64];
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s/t%d.db", dir, ntrace++);
	t->w = store_writer_open(t->path, err, sizeof(err));
	if (!t->w) {
		printf("FAIL setup: %s\n", err);
		exit(1);
	}
	if (store_writer_process(t->w, 1, 0, "prog", 0, INT64_MIN, INT64_MIN, INT64_MIN))
		die("process", t);
	if (store_writer_thread(t->w, 1, 1, "main", 0, INT64_MIN, 0, 0))
		die("thread", t);
	for (int i = 11; i < 20; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		if (store_writer_thread(t->w, 1, i, name, 0, INT64_MIN, 0, 0))
			die("thread", t);
	}
	for (int s = 1; s <= 40; s++) {
		char fn[32], file[32];
		snprintf(fn, sizeof(fn), "fn_%d", s);
		snprintf(file, sizeof(file), "/src/file_%d.c", s);
		if (store_writer_stack_frame(t->w, s, 0, "native", fn, file, s, "prog",
					     0x400000 + (uint64_t)s))
			die("frame", t);
	}
	/* names: space-separated */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", names);
	int id = 1;
	for (char *sp, *n = strtok_r(buf, " ", &sp); n; n = strtok_r(NULL, " ", &sp), id++)
		if (store_writer_object(t->w, id, 1, kinds[id - 1], n, 0, 0x1000 * (uint64_t)id, 0))
			die("object", t);
}

static void ev_full(struct tb *t, int pid, int tid, int kind, int64_t obj, int64_t arg,
		    int64_t stack)
{
	t->ts += 10;
	struct store_event e = {.ts_ns = t->ts,
				.pid = pid,
				.tid = tid,
				.kind = kind,
				.object_id = obj,
				.arg = arg,
				.stack_id = stack};
	if (store_writer_event(t->w, &e))
		die("event", t);
}

static void ev(struct tb *t, int tid, int kind, int64_t obj, int64_t arg, int64_t stack)
{
	ev_full(t, 1, tid, kind, obj, arg, stack);
}

/* tid takes a then b (sites sa, sb) and lets both go. */
static void nest(struct tb *t, int tid, int a, int b, int sa, int sb)
{
	ev(t, tid, ACQ, a, 0, sa);
	ev(t, tid, ACQ, b, 0, sb);
	ev(t, tid, REL, b, 0, sb);
	ev(t, tid, REL, a, 0, sa);
}

static sqlite3 *build(struct tb *t, const char *supp, int expect_ok)
{
	char err[512] = "";
	if (store_writer_commit(t->w))
		die("commit", t);
	sqlite3 *db = store_writer_db(t->w);
	int rc = store_build_findings(db, supp, err, sizeof(err));
	if ((rc == 0) != expect_ok)
		printf("# store_build_findings returned %d: %s\n", rc, err);
	return db;
}

static void tb_close(struct tb *t)
{
	store_writer_close(t->w);
	unlink(t->path);
}

#define FIND "SELECT kind, rule, severity, count, summary FROM findings ORDER BY finding_id"

static const int mutexes[] = {MUTEX, MUTEX, MUTEX, MUTEX, MUTEX, MUTEX, MUTEX, MUTEX};

static void test_inversion(void)
{
	struct tb t;
	tb_open(&t, "a_mu b_mu", mutexes);
	nest(&t, 11, 1, 2, 1, 2); /* t11: a -> b, then exits; t12 later: b -> a */
	nest(&t, 11, 1, 2, 1, 2);
	nest(&t, 12, 2, 1, 3, 4);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(
	    db, "inversion:finding", FIND,
	    "lock_order|cycle|warning|1|lock order inversion: a_mu -> b_mu in tid 11 (t11);"
	    " b_mu -> a_mu in tid 12 (t12)");
	/* first occurrences: events 1, 2 (t11) and 9, 10 (t12) */
	unit_expect_rows(
	    db, "inversion:items",
	    "SELECT role, tid, object_name, event_id, function, file, line"
	    " FROM finding_items ORDER BY seq",
	    "holds|11|a_mu|1|fn_1|/src/file_1.c|1;acquires|11|b_mu|2|fn_2|/src/file_2.c|2;"
	    "holds|12|b_mu|9|fn_3|/src/file_3.c|3;acquires|12|a_mu|10|fn_4|/src/file_4.c|4");
	unit_expect_rows(db, "inversion:view-columns",
			 "SELECT threads, objects, pid, tid, thread_name, object_ids, stack_ids,"
			 " event_ids, event_id, ts_ns FROM findings",
			 "11 t11, 12 t12|a_mu, b_mu|1|12|t12|1, 2|1, 2, 3, 4|1, 2, 9, 10|10|100");
	tb_close(&t);
}

static void test_consistent_and_recursive(void)
{
	struct tb t;
	tb_open(&t, "a b c", mutexes);
	nest(&t, 11, 1, 2, 1, 2);
	nest(&t, 12, 1, 2, 1, 2);
	nest(&t, 13, 2, 3, 1, 2);
	/* recursion: a, a, b (edges a->b only), released in any order */
	ev(&t, 14, ACQ, 1, 0, 1);
	ev(&t, 14, ACQ, 1, 0, 1);
	ev(&t, 14, ACQ, 2, 0, 1);
	ev(&t, 14, REL, 1, 0, 1);
	ev(&t, 14, REL, 2, 0, 1);
	ev(&t, 14, REL, 1, 0, 1);
	/* a lock.fail (trylock EBUSY) is no acquisition and no edge */
	ev(&t, 15, ACQ, 3, 0, 1);
	ev(&t, 15, FAIL, 1, 16, 1);
	ev(&t, 15, REL, 3, 0, 1);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(db, "consistent:none", FIND, "");
	tb_close(&t);
}

static void test_cycles(void)
{
	struct tb t;
	tb_open(&t, "a b c d", mutexes);
	nest(&t, 11, 1, 2, 1, 2);
	nest(&t, 12, 2, 3, 3, 4);
	nest(&t, 13, 3, 1, 5, 6);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(db, "cycle3:finding", FIND,
			 "lock_order|cycle|warning|1|lock order cycle: a -> b in tid 11 (t11);"
			 " b -> c in tid 12 (t12); c -> a in tid 13 (t13)");
	unit_expect_rows(db, "cycle3:items", "SELECT count(*) FROM finding_items", "6");
	tb_close(&t);

	tb_open(&t, "a b c d", mutexes);
	nest(&t, 11, 1, 2, 1, 2);
	nest(&t, 12, 2, 3, 3, 4);
	nest(&t, 13, 3, 4, 5, 6);
	nest(&t, 14, 4, 1, 7, 8);
	db = build(&t, NULL, 1);
	unit_expect_rows(db, "cycle4:finding", "SELECT summary FROM findings",
			 "lock order cycle: a -> b in tid 11 (t11); b -> c in tid 12 (t12);"
			 " c -> d in tid 13 (t13); d -> a in tid 14 (t14)");
	tb_close(&t);

	/* two 2-cycles sharing a lock are two findings; the 3-lock chain has no cycle */
	tb_open(&t, "a b c d", mutexes);
	nest(&t, 11, 1, 2, 1, 2);
	nest(&t, 12, 2, 1, 3, 4);
	nest(&t, 11, 1, 3, 5, 6);
	nest(&t, 13, 3, 1, 7, 8);
	db = build(&t, NULL, 1);
	unit_expect_rows(db, "cycles:two", "SELECT objects FROM findings", "a, b;a, c");
	tb_close(&t);
}

static void test_gate(void)
{
	struct tb t;
	tb_open(&t, "g a b", mutexes);
	/* g held around both orders: no deadlock is possible */
	ev(&t, 11, ACQ, 1, 0, 1);
	nest(&t, 11, 2, 3, 2, 3);
	ev(&t, 11, REL, 1, 0, 1);
	ev(&t, 12, ACQ, 1, 0, 1);
	nest(&t, 12, 3, 2, 4, 5);
	ev(&t, 12, REL, 1, 0, 1);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(db, "gate:suppresses", FIND, "");
	tb_close(&t);

	/* ... unless one occurrence of an order happens without it */
	tb_open(&t, "g a b", mutexes);
	ev(&t, 11, ACQ, 1, 0, 1);
	nest(&t, 11, 2, 3, 2, 3);
	ev(&t, 11, REL, 1, 0, 1);
	ev(&t, 12, ACQ, 1, 0, 1);
	nest(&t, 12, 3, 2, 4, 5);
	ev(&t, 12, REL, 1, 0, 1);
	nest(&t, 13, 3, 2, 6, 7);
	db = build(&t, NULL, 1);
	unit_expect_rows(db, "gate:ungated-occurrence", "SELECT objects FROM findings", "a, b");
	tb_close(&t);

	/* a read-held rwlock is no gate: readers do not exclude each other */
	static const int kinds[] = {RWLOCK, MUTEX, MUTEX};
	tb_open(&t, "rw a b", kinds);
	ev(&t, 11, ACQ, 1, 0, 1);
	nest(&t, 11, 2, 3, 2, 3);
	ev(&t, 11, REL, 1, 0, 1);
	ev(&t, 12, ACQ, 1, 0, 1);
	nest(&t, 12, 3, 2, 4, 5);
	ev(&t, 12, REL, 1, 0, 1);
	db = build(&t, NULL, 1);
	unit_expect_rows(db, "gate:read-lock-no-gate", "SELECT objects FROM findings", "a, b");
	tb_close(&t);
}

static void test_rwlock(void)
{
	static const int kinds[] = {RWLOCK, MUTEX};
	struct tb t;
	/* read-read across the cycle: readers never block each other */
	tb_open(&t, "rw m", kinds);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 11, ACQ, 2, 0, 2);
	ev(&t, 11, REL, 2, 0, 2);
	ev(&t, 11, REL, 1, 0, 1);
	ev(&t, 12, ACQ, 2, 0, 3);
	ev(&t, 12, ACQ, 1, 0, 4);
	ev(&t, 12, REL, 1, 0, 4);
	ev(&t, 12, REL, 2, 0, 3);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(db, "rwlock:read-read", FIND, "");
	tb_close(&t);

	tb_open(&t, "rw m", kinds);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 11, ACQ, 2, 0, 2);
	ev(&t, 11, REL, 2, 0, 2);
	ev(&t, 11, REL, 1, 0, 1);
	ev(&t, 12, ACQ, 2, 0, 3);
	ev(&t, 12, ACQ, 1, 1, 4); /* write */
	ev(&t, 12, REL, 1, 0, 4);
	ev(&t, 12, REL, 2, 0, 3);
	db = build(&t, NULL, 1);
	unit_expect_rows(db, "rwlock:read-write", "SELECT objects FROM findings", "rw, m");
	tb_close(&t);
}

static void test_grouping(void)
{
	struct tb t;
	/* the same code inverts two pairs of per-object locks: one finding, count 2 */
	tb_open(&t, "a1 b1 a2 b2 c d", mutexes);
	nest(&t, 11, 1, 2, 1, 2);
	nest(&t, 12, 2, 1, 3, 4);
	nest(&t, 11, 3, 4, 1, 2);
	nest(&t, 12, 4, 3, 3, 4);
	/* different sites: a finding of its own */
	nest(&t, 11, 5, 6, 5, 6);
	nest(&t, 12, 6, 5, 7, 8);
	/* the same misuse site three times: one finding, count 3 */
	ev(&t, 13, REL, 5, 0, 9);
	ev(&t, 13, REL, 5, 0, 9);
	ev(&t, 14, REL, 6, 0, 9);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(db, "grouping:counts", "SELECT kind, count, objects FROM findings",
			 "misuse|3|c;lock_order|2|a1, b1;lock_order|1|c, d");
	tb_close(&t);
}

static void test_unlock_misuse(void)
{
	struct tb t;
	tb_open(&t, "mu free_mu", mutexes);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 12, REL, 1, 0, 2); /* t11 holds it */
	ev(&t, 11, REL, 1, 0, 3);
	ev(&t, 13, REL, 2, 0, 4); /* nobody holds it */
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(
	    db, "unlock:findings", FIND,
	    "misuse|unlock_not_held|error|1|unlock of mu by tid 12 (t12) while tid 11 (t11)"
	    " holds it;"
	    "misuse|unlock_not_held|error|1|unlock of free_mu by tid 13 (t13), which does"
	    " not hold it");
	unit_expect_rows(db, "unlock:items",
			 "SELECT finding_id, role, tid, event_id, function FROM finding_items"
			 " ORDER BY finding_id, seq",
			 "1|release|12|2|fn_2;1|holder|11|1|fn_1;2|release|13|4|fn_4");
	tb_close(&t);

	/* recursive: one release too many */
	tb_open(&t, "mu", mutexes);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 11, REL, 1, 0, 1);
	ev(&t, 11, REL, 1, 0, 1);
	ev(&t, 11, REL, 1, 0, 5);
	db = build(&t, NULL, 1);
	unit_expect_rows(db, "unlock:recursive-extra", "SELECT rule, event_ids FROM findings",
			 "unlock_not_held|5");
	tb_close(&t);
}

static void test_cond_misuse(void)
{
	static const int kinds[] = {MUTEX, COND};
	struct tb t;
	tb_open(&t, "mu cv", kinds);
	/* a correct wait */
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 11, REL, 1, 2, 2);
	ev(&t, 11, CWAIT, 2, 0, 2);
	ev(&t, 11, ACQ, 1, 2, 2);
	ev(&t, 11, REL, 1, 0, 3);
	/* errorcheck mutex not held: EPERM, and the re-acquire record acquired nothing */
	ev(&t, 12, REL, 1, 2, 4);
	ev(&t, 12, CWAIT, 2, 1, 4);
	ev(&t, 12, ACQ, 1, 2, 4);
	ev(&t, 12, REL, 1, 0, 5);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(
	    db, "cond:findings", FIND,
	    "misuse|cond_wait_not_held|error|1|cond wait by tid 12 (t12) with mu not locked"
	    " by it;"
	    "misuse|unlock_not_held|error|1|unlock of mu by tid 12 (t12), which does not"
	    " hold it");
	tb_close(&t);

	/* a normal mutex not held: the wait returns 0 holding it, the unlock is fine */
	tb_open(&t, "mu cv", kinds);
	ev(&t, 12, REL, 1, 2, 4);
	ev(&t, 12, CWAIT, 2, 0, 4);
	ev(&t, 12, ACQ, 1, 2, 4);
	ev(&t, 12, REL, 1, 0, 5);
	db = build(&t, NULL, 1);
	unit_expect_rows(db, "cond:normal-mutex", "SELECT rule FROM findings",
			 "cond_wait_not_held");
	tb_close(&t);
}

static void test_destroy_exit(void)
{
	struct tb t;
	tb_open(&t, "mu ok_mu own_mu", mutexes);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 12, DESTROY, 1, 0, 2); /* while t11 holds it */
	ev(&t, 11, REL, 1, 0, 3);
	ev(&t, 11, ACQ, 2, 0, 4);
	ev(&t, 11, REL, 2, 0, 4);
	ev(&t, 12, DESTROY, 2, 0, 5); /* after the release: fine */
	ev(&t, 13, ACQ, 3, 0, 6);
	ev(&t, 13, DESTROY, 3, 0, 7); /* its own */
	ev(&t, 13, REL, 3, 0, 8);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(
	    db, "destroy:findings", "SELECT rule, summary, event_ids FROM findings",
	    "destroy_held|destroy of mu by tid 12 (t12) while tid 11 (t11) holds it|2, 1;"
	    "destroy_held|destroy of own_mu by tid 13 (t13) while holding it|8, 7");
	tb_close(&t);

	tb_open(&t, "a b c", mutexes);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 11, ACQ, 2, 0, 2);
	ev(&t, 11, TEXIT, 0, 0, 3);
	ev(&t, 12, ACQ, 3, 0, 4);
	ev(&t, 12, REL, 3, 0, 4);
	ev(&t, 12, TEXIT, 0, 0, 5); /* nothing held */
	ev(&t, 1, ACQ, 3, 0, 6);
	ev(&t, 1, PEXIT, 0, 0, 7);
	/*
	 * Process 2 was killed by SIGTERM holding a: its process.exit is
	 * weft's (arg -15 once reaped), no exit() ran; process 3 called exit(1).
	 */
	if (store_writer_process(t.w, 2, 1, "killed", 0, INT64_MIN, INT64_MIN, 15) ||
	    store_writer_process(t.w, 3, 1, "exits", 0, INT64_MIN, 1, INT64_MIN) ||
	    store_writer_thread(t.w, 2, 2, "k", 0, INT64_MIN, 0, 0) ||
	    store_writer_thread(t.w, 3, 3, "x", 0, INT64_MIN, 0, 0))
		die("process", &t);
	ev_full(&t, 2, 2, ACQ, 1, 0, 8);
	ev_full(&t, 2, 2, PEXIT, 0, -15, 0);
	ev_full(&t, 3, 3, ACQ, 2, 0, 9);
	ev_full(&t, 3, 3, PEXIT, 0, 1, 10);
	db = build(&t, NULL, 1);
	unit_expect_rows(
	    db, "exit:findings", "SELECT rule, severity, summary FROM findings",
	    "exit_holding|error|tid 11 (t11) exited holding a, b;"
	    "process_exit_holding|warning|process 1 exited (in tid 1 (main)) holding c;"
	    "process_exit_holding|warning|process 3 exited (in tid 3 (x)) holding b");
	unit_expect_rows(db, "exit:items",
			 "SELECT role, object_name FROM finding_items"
			 " WHERE finding_id = 1 ORDER BY seq",
			 "exit|NULL;held|a;held|b");
	tb_close(&t);
}

static void test_semaphores(void)
{
	static const int kinds[] = {SEM, MUTEX};
	struct tb t;
	tb_open(&t, "sem mu", kinds);
	ev(&t, 11, REL, 1, 0, 1); /* post by a thread that never waited */
	ev(&t, 12, ACQ, 1, 0, 2);
	ev(&t, 12, ACQ, 2, 0, 3); /* sem "held" while locking mu, and the reverse */
	ev(&t, 12, REL, 2, 0, 3);
	ev(&t, 13, ACQ, 2, 0, 4);
	ev(&t, 13, ACQ, 1, 0, 5);
	ev(&t, 13, REL, 2, 0, 4);
	ev(&t, 13, DESTROY, 1, 0, 6);
	ev(&t, 13, TEXIT, 0, 0, 7);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(db, "semaphore:never", FIND, "");
	tb_close(&t);
}

static void test_pylock(void)
{
	static const int kinds[] = {PYLOCK, MUTEX};
	struct tb t;
	tb_open(&t, "plock mu", kinds);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 12, REL, 1, 0, 2); /* released by another thread: a note */
	ev(&t, 11, ACQ, 2, 0, 3); /* t11 no longer holds plock: no edge plock -> mu */
	ev(&t, 11, REL, 2, 0, 3);
	ev(&t, 11, TEXIT, 0, 0, 4);
	ev(&t, 13, ACQ, 2, 0, 5);
	ev(&t, 13, ACQ, 1, 0, 6);
	ev(&t, 13, REL, 1, 0, 6);
	ev(&t, 13, REL, 2, 0, 5);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(
	    db, "pylock:note", "SELECT rule, severity, summary FROM findings",
	    "foreign_release|note|plock released by tid 12 (t12), acquired by tid 11 (t11)");
	tb_close(&t);

	/*
	 * A Lock handed over: t11 ends holding it and t12 releases it later
	 * (only the note). CPython frees a Lock or RLock still locked (p2, p3),
	 * letting go of it: no destroy_held, and t12 ends holding neither.
	 * t14 ends holding kept, which t16 then waits for and nobody releases:
	 * that stays; t16 ends holding quiet, which nobody wants afterwards (a
	 * signal taken for the last time): no finding; t18 ends holding stuck,
	 * which t17 waits for since before: that stays. The
	 * one stays. The mutex kept past t15's end still counts as before.
	 */
	static const int kinds2[] = {PYLOCK, PYLOCK, 9 /* py.rlock */, PYLOCK, MUTEX,
				     PYLOCK, PYLOCK};
	tb_open(&t, "handed p2 p3 kept mu quiet stuck", kinds2);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 11, TEXIT, 0, 0, 2);
	ev(&t, 12, REL, 1, 0, 3);
	ev(&t, 12, ACQ, 2, 0, 4);
	ev(&t, 12, ACQ, 3, 0, 5);
	ev(&t, 12, DESTROY, 2, 0, 6);
	ev(&t, 13, DESTROY, 3, 0, 7);
	ev(&t, 14, ACQ, 4, 0, 8);
	ev(&t, 14, TEXIT, 0, 0, 9);
	ev(&t, 15, ACQ, 5, 0, 10);
	ev(&t, 15, ACQ, 1, 0, 11);
	ev(&t, 15, TEXIT, 0, 0, 12);
	ev(&t, 12, REL, 1, 0, 13);
	ev(&t, 12, TEXIT, 0, 0, 14); /* p2 and p3 were let go as they were freed */
	ev(&t, 16, ACQ, 6, 0, 15);
	ev(&t, 16, LWAIT, 4, 0, 16);
	ev(&t, 16, TEXIT, 0, 0, 17);
	ev(&t, 18, ACQ, 7, 0, 18); /* t17 waits for stuck before its holder t18 ends */
	ev(&t, 17, LWAIT, 7, 0, 19);
	ev(&t, 18, TEXIT, 0, 0, 20);
	db = build(&t, NULL, 1);
	unit_expect_rows(
	    db, "pylock:handed", "SELECT rule, severity, summary FROM findings",
	    "exit_holding|error|tid 14 (t14) exited holding kept;"
	    "exit_holding|error|tid 15 (t15) exited holding mu;"
	    "exit_holding|error|tid 18 (t18) exited holding stuck;"
	    "foreign_release|note|handed released by tid 12 (t12), acquired by tid 11 (t11);"
	    "foreign_release|note|handed released by tid 12 (t12), acquired by tid 15 (t15)");
	tb_close(&t);

	/*
	 * CPython up to 3.13 frees a locked Lock or RLock by releasing it and
	 * then destroying it, in the freeing thread: no misuse, no signal (fr
	 * and fl, taken by t11 and t12 before, are freed by main). A release of
	 * an RLock another thread holds that no destroy follows stays (r2).
	 */
	static const int freed[] = {9, PYLOCK, 9, MUTEX};
	tb_open(&t, "fr fl r2 mu", freed);
	ev(&t, 11, ACQ, 1, 0, 1);
	ev(&t, 12, ACQ, 2, 0, 2);
	ev(&t, 12, ACQ, 4, 0, 3); /* fl, then mu; mu, then fl below: a cycle, fl being no signal */
	ev(&t, 12, REL, 4, 0, 3);
	ev(&t, 13, ACQ, 4, 0, 4);
	ev(&t, 13, ACQ, 2, 0, 5);
	ev(&t, 11, ACQ, 3, 0, 6);
	ev(&t, 1, REL, 1, 0, 7);
	ev(&t, 1, DESTROY, 1, 0, 8);
	ev(&t, 1, REL, 2, 0, 9);
	ev(&t, 1, DESTROY, 2, 0, 10);
	ev(&t, 1, REL, 3, 0, 11);
	db = build(&t, NULL, 1);
	unit_expect_rows(
	    db, "pylock:freed", "SELECT rule, summary FROM findings",
	    "unlock_not_held|unlock of r2 by tid 1 (main) while tid 11 (t11) holds it;"
	    "cycle|lock order inversion: fl -> mu in tid 12 (t12); mu -> fl in tid 13 (t13)");
	tb_close(&t);

	/*
	 * Two Locks taken in both orders are a cycle, unless one of them is a
	 * signal (released somewhere by another thread than its acquirer).
	 */
	for (int signal = 0; signal <= 1; signal++) {
		static const int two[] = {PYLOCK, PYLOCK};
		tb_open(&t, "sa sb", two);
		nest(&t, 11, 1, 2, 1, 2);
		nest(&t, 12, 2, 1, 3, 4);
		if (signal) {
			ev(&t, 13, ACQ, 1, 0, 5);
			ev(&t, 14, REL, 1, 0, 6);
		}
		db = build(&t, NULL, 1);
		unit_expect_rows(db, signal ? "pylock:signal-no-cycle" : "pylock:cycle",
				 "SELECT rule FROM findings", signal ? "foreign_release" : "cycle");
		tb_close(&t);
	}
}

static void test_fork_exec(void)
{
	struct tb t;
	tb_open(&t, "mu other", mutexes);
	/* child pid 2 inherits mu (same address) held by the forking thread */
	if (store_writer_process(t.w, 2, 1, "prog", 0, INT64_MIN, INT64_MIN, INT64_MIN) ||
	    store_writer_object(t.w, 3, 2, MUTEX, "mu", 0, 0x1000, 0) ||
	    store_writer_object(t.w, 4, 2, MUTEX, "other", 0, 0x2000, 0))
		die("objects", &t);
	ev_full(&t, 2, 2, REL, 3, 0, 1); /* the child's record may come first */
	ev_full(&t, 2, 2, REL, 4, 0, 2); /* not held at the fork */
	ev(&t, 1, ACQ, 1, 0, 3);
	ev(&t, 1, FORK, 0, 2, 4);
	ev(&t, 1, REL, 1, 0, 5);
	/* exec drops the image's locks: no exit finding */
	ev(&t, 11, ACQ, 2, 0, 6);
	ev(&t, 11, EXEC, 0, 0, 7);
	ev(&t, 11, PEXIT, 0, 0, 8);
	/* a failed exec keeps them */
	ev(&t, 12, ACQ, 2, 0, 9);
	ev(&t, 12, EXEC, 0, 0, 10);
	ev(&t, 12, EXEC, 0, 2, 10);
	ev(&t, 12, REL, 2, 0, 11);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(db, "fork:inherited", "SELECT rule, pid, objects FROM findings",
			 "unlock_not_held|2|other");
	tb_close(&t);
}

static void test_suppressions(void)
{
	char supp[128], bad[128];
	snprintf(supp, sizeof(supp), "%s/supp", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	FILE *fp = fopen(supp, "w");
	fputs("# comment\n\nlock_order fn_3   # b then a\nmisuse.exit_holding file_9.c:9\n", fp);
	fclose(fp);
	fp = fopen(bad, "w");
	fputs("lock_order fn_3\nraces x\n", fp);
	fclose(fp);

	struct tb t;
	tb_open(&t, "a b c d", mutexes);
	nest(&t, 11, 1, 2, 1, 2);
	nest(&t, 12, 2, 1, 3, 4); /* suppressed through fn_3 */
	nest(&t, 11, 3, 4, 5, 6);
	nest(&t, 12, 4, 3, 7, 8); /* kept */
	ev(&t, 13, ACQ, 1, 0, 9);
	ev(&t, 13, TEXIT, 0, 0, 10); /* suppressed by file:line of the held lock */
	ev(&t, 14, REL, 1, 0, 9);    /* misuse.exit_holding does not cover unlock_not_held */
	sqlite3 *db = build(&t, supp, 1);
	unit_expect_rows(db, "suppress:view", "SELECT rule, objects FROM findings",
			 "unlock_not_held|a;cycle|c, d");
	char want[512];
	snprintf(want, sizeof(want), "exit_holding|%s:4;cycle|%s:3", supp, supp);
	unit_expect_rows(db, "suppress:recorded",
			 "SELECT rule, suppressed FROM finding WHERE suppressed IS NOT NULL"
			 " ORDER BY finding_id",
			 want);
	char got[64] = "";
	snprintf(got, sizeof(got), "%d", findings_fail_status(db, "lock_order"));
	unit_check(!strcmp(got, "1"), "fail-status:lock_order", got);
	snprintf(got, sizeof(got), "%d", findings_fail_status(db, "race, deadlock"));
	unit_check(!strcmp(got, "0"), "fail-status:none", got);
	snprintf(got, sizeof(got), "%d", findings_fail_status(db, "all"));
	unit_check(!strcmp(got, "2"), "fail-status:all", got);
	tb_close(&t);

	char err[256] = "";
	int rc = findings_check_suppressions(bad, err, sizeof(err));
	char want_err[256];
	snprintf(want_err, sizeof(want_err), "%s:2: expected", bad);
	unit_check(rc == -1 && !strncmp(err, want_err, strlen(want_err)), "suppress:bad-line", err);
	rc = findings_check_suppressions("/nonexistent/supp", err, sizeof(err));
	unit_check(rc == -1 && strstr(err, "cannot read suppressions"), "suppress:missing", err);
	unit_check(findings_check_suppressions(supp, err, sizeof(err)) == 0, "suppress:good", err);

	tb_open(&t, "a", mutexes);
	if (store_writer_commit(t.w))
		die("commit", &t);
	rc = store_build_findings(store_writer_db(t.w), bad, err, sizeof(err));
	unit_check(rc == -1 && strstr(err, ":2: expected"), "suppress:build-refuses-bad", err);
	tb_close(&t);
	unlink(supp);
	unlink(bad);
}

static void test_kinds_parse(void)
{
	char err[256];
	unit_check(findings_parse_kinds("lock_order,misuse", err, sizeof(err)) == 0, "kinds:ok",
		   err);
	unit_check(findings_parse_kinds(" race , deadlock ", err, sizeof(err)) == 0, "kinds:spaces",
		   err);
	unit_check(findings_parse_kinds("all", err, sizeof(err)) == 0, "kinds:all", err);
	unit_check(findings_parse_kinds("lock_order,races", err, sizeof(err)) == -1 &&
		       strstr(err, "'races'"),
		   "kinds:unknown", err);
	unit_check(findings_parse_kinds("", err, sizeof(err)) == -1, "kinds:empty", err);
	unit_check(findings_parse_kinds("misuse,", err, sizeof(err)) == -1, "kinds:trailing-comma",
		   err);
}

static void test_idempotent_and_readonly(void)
{
	struct tb t;
	char err[256];
	tb_open(&t, "a b", mutexes);
	nest(&t, 11, 1, 2, 1, 2);
	nest(&t, 12, 2, 1, 3, 4);
	sqlite3 *db = build(&t, NULL, 1);
	unit_check(store_build_findings(db, NULL, err, sizeof(err)) == 0, "idempotent:rebuild",
		   err);
	unit_expect_rows(db, "idempotent:same", "SELECT count(*) FROM finding", "1");
	/* a trace without findings, opened read-only (a killed tracer): temp schema */
	store_writer_close(t.w);
	t.w = NULL;
	sqlite3 *rw = NULL;
	sqlite3_open(t.path, &rw);
	sqlite3_exec(rw,
		     "DROP VIEW findings; DROP VIEW finding_items; DROP TABLE finding;"
		     "DROP TABLE finding_item; DROP TABLE finding_info;",
		     NULL, NULL, NULL);
	sqlite3_close(rw);
	sqlite3 *ro = store_open_read(t.path, err, sizeof(err));
	unit_check(ro != NULL, "readonly:open", err);
	if (ro) {
		unit_check(store_build_findings(ro, NULL, err, sizeof(err)) == 0, "readonly:build",
			   err);
		unit_expect_rows(ro, "readonly:temp",
				 "SELECT count(*) FROM temp.sqlite_master WHERE name = 'findings'",
				 "1");
		unit_expect_rows(ro, "readonly:finding", "SELECT kind, objects FROM findings",
				 "lock_order|a, b");
		sqlite3_close(ro);
	}
	unlink(t.path);
}

/*
 * The event pass read ahead in steps (store_findings_follow, as weft run's
 * follower does while the program runs) and finished by
 * store_build_findings_after gives the findings of the pass in one go;
 * and when rows it read were changed afterwards (moved_from), it reads
 * everything again.
 */
static void steps_events(struct tb *t)
{
	nest(t, 11, 1, 2, 1, 2);
	nest(t, 12, 2, 1, 3, 4);
	ev(t, 13, REL, 1, 0, 5); /* nobody holds it */
	nest(t, 11, 1, 2, 1, 2);
}

static void test_in_steps(void)
{
	static const struct {
		const char *name;
		int64_t moved_from;
		const char *change; /* what the end changed, from moved_from on */
	} cases[] = {
	    {"steps:kept", INT64_MAX, "SELECT 1"},
	    {"steps:changed after what was read", 10, "UPDATE ev SET obj = 2 WHERE id = 11"},
	    {"steps:changed within what was read", 9, "UPDATE ev SET obj = 2 WHERE id = 9"},
	};
	char whole[2048], stepped[2048], err[256];
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct tb t;
		tb_open(&t, "a_mu b_mu", mutexes);
		steps_events(&t);
		if (store_writer_commit(t.w))
			die("commit", &t);
		sqlite3 *db = store_writer_db(t.w);
		sqlite3_exec(db, cases[c].change, NULL, NULL, NULL);
		db = build(&t, NULL, 1);
		unit_rows(db, FIND, whole, sizeof(whole));
		tb_close(&t);

		tb_open(&t, "a_mu b_mu", mutexes);
		steps_events(&t);
		if (store_writer_commit(t.w))
			die("commit", &t);
		db = store_writer_db(t.w);
		struct store_findings_pass *p = store_findings_pass_new();
		unit_check(p && store_findings_follow(p, db, 4, INT64_MAX) == 0 &&
			       store_findings_follow(p, db, 9, INT64_MAX) == 0,
			   cases[c].name, "read ahead");
		sqlite3_exec(db, cases[c].change, NULL, NULL, NULL);
		unit_check(store_build_findings_after(db, p, cases[c].moved_from, NULL, err,
						      sizeof(err)) == 0,
			   cases[c].name, err);
		store_findings_pass_free(p);
		unit_rows(db, FIND, stepped, sizeof(stepped));
		unit_check(strcmp(whole, stepped) == 0, cases[c].name, stepped);
		unit_check(strstr(whole, "lock_order") && strstr(whole, "unlock_not_held"),
			   cases[c].name, whole);
		tb_close(&t);
	}
}

/*
 * The same read ahead fed by derive steps (store_findings_follow_tap, as
 * weft run's follower does: one read of each row for both passes), with
 * the derive ahead of the findings (rows the step does not pass on are
 * read by the findings themselves) and with both starting over.
 */
static void test_tapped_steps(void)
{
	static const struct {
		const char *name;
		int64_t untapped_to; /* a derive step alone up to this row first (0: none) */
		int64_t moved_from;  /* the second tapped step's */
	} cases[] = {
	    {"tapped:every step", 0, INT64_MAX},
	    {"tapped:derive ahead", 6, INT64_MAX},
	    {"tapped:both start over", 0, 2},
	};
	char whole[2048], tapped[2048], err[256];
	struct tb t;
	tb_open(&t, "a_mu b_mu", mutexes);
	steps_events(&t);
	if (store_writer_commit(t.w))
		die("commit", &t);
	unit_rows(build(&t, NULL, 1), FIND, whole, sizeof(whole));
	tb_close(&t);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		tb_open(&t, "a_mu b_mu", mutexes);
		steps_events(&t);
		if (store_writer_commit(t.w))
			die("commit", &t);
		sqlite3 *db = store_writer_db(t.w);
		struct store_findings_pass *p = store_findings_pass_new();
		struct store_derive *d = store_derive_begin(db, "temp", err, sizeof(err));
		struct store_event_tap tap;
		int ok = p && d && store_findings_follow_tap(p, db, INT64_MAX, &tap) == 0;
		ok = ok && store_derive_events(d, 4, INT64_MAX, &tap) == 0;
		store_findings_follow_done(p, 4, ok);
		if (ok && cases[c].untapped_to)
			ok = store_derive_events(d, cases[c].untapped_to, INT64_MAX, NULL) == 0;
		ok = ok && store_findings_follow_tap(p, db, cases[c].moved_from, &tap) == 0;
		ok = ok && store_derive_events(d, 9, cases[c].moved_from, &tap) == 0;
		store_findings_follow_done(p, 9, ok);
		unit_check(ok, cases[c].name, err);
		unit_check(store_build_findings_after(db, p, INT64_MAX, NULL, err, sizeof(err)) ==
			       0,
			   cases[c].name, err);
		store_derive_free(d);
		store_findings_pass_free(p);
		unit_rows(db, FIND, tapped, sizeof(tapped));
		unit_check(strcmp(whole, tapped) == 0, cases[c].name, tapped);
		tb_close(&t);
	}
}

static void test_empty(void)
{
	struct tb t;
	tb_open(&t, "a", mutexes);
	sqlite3 *db = build(&t, NULL, 1);
	unit_expect_rows(db, "empty:none", "SELECT count(*) FROM findings", "0");
	unit_expect_rows(db, "empty:info", "SELECT value FROM finding_info WHERE key = 'version'",
			 "1");
	tb_close(&t);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/weft-unit-findings.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("FAIL setup: mkdtemp\n");
		return 1;
	}
	test_inversion();
	test_consistent_and_recursive();
	test_cycles();
	test_gate();
	test_rwlock();
	test_grouping();
	test_unlock_misuse();
	test_cond_misuse();
	test_destroy_exit();
	test_semaphores();
	test_pylock();
	test_fork_exec();
	test_suppressions();
	test_kinds_parse();
	test_idempotent_and_readonly();
	test_in_steps();
	test_tapped_steps();
	test_empty();
	rmdir(dir);
	return unit_failures ? 1 : 0;
}
