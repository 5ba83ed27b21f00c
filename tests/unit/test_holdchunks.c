/*
 * Unit tests of store_holdchunks: object_holds read through the virtual
 * table gives, for every shape of query the readers use (one object or a
 * range, bounds strict or not, ascending or descending, LIMIT, GROUP BY,
 * a self-join, odd bound values), exactly the rows a plain table of the
 * same holds gives; the plans that order by the table's key sort nothing;
 * damaged chunks are an error, not a crash; the encoding round-trips.
 */
#include "store/store_holdchunks.h"
#include "store/store_util.h"
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

static uint64_t rng = 88172645463325252ull;

static int64_t rnd(int64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (int64_t)(rng % (uint64_t)n);
}

static int by_key(const void *a, const void *b)
{
	return store_holdchunks_cmp(a, b);
}

static void insert_chunk(sqlite3 *db, const struct store_hold_row *h, int n)
{
	static uint8_t buf[STORE_HOLDCHUNKS_HOLD_BYTES * 4096];
	size_t len = store_holdchunks_encode(h, n, buf);
	sqlite3_stmt *st = NULL;
	sqlite3_prepare_v2(db, "INSERT INTO object_hold_chunks VALUES(?,?,?,?,?)", -1, &st, NULL);
	sqlite3_bind_int64(st, 1, h[0].obj);
	sqlite3_bind_int64(st, 2, h[n - 1].start);
	sqlite3_bind_int64(st, 3, h[0].start);
	sqlite3_bind_int(st, 4, n);
	sqlite3_bind_blob(st, 5, buf, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		printf("FAIL setup: chunk: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

static void insert_row(sqlite3 *db, const char *table, const struct store_hold_row *h)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO %s VALUES(%lld,%d,%d,%lld,%lld,%d)",
		 table, (long long)h->obj, h->pid, h->tid, (long long)h->start, (long long)h->end,
		 h->mode);
	exec_or_die(db, sql);
}

/*
 * Objects 1-5 with holds in chunks of 1 to STORE_HOLDCHUNKS_MAX (a start's
 * holds never split, as the builder writes them), a few late rows among
 * them, and every hold in ref, a plain table. Object 3 has no holds.
 */
static sqlite3 *make_db(void)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    store_holdchunks_register(db) != SQLITE_OK)
		exit(1);
	char *sql = store_holdchunks_create_sql("main");
	exec_or_die(db, sql);
	sqlite3_free(sql);
	exec_or_die(db, "CREATE TABLE ref(object_id INTEGER, pid INTEGER, tid INTEGER,"
			" start_ns INTEGER, end_ns INTEGER, mode INTEGER, PRIMARY KEY(object_id,"
			" start_ns, end_ns, tid, pid, mode)) WITHOUT ROWID; BEGIN");
	static const int counts[] = {0, 3000, 1, 0, 700, 2500};
	for (int obj = 1; obj <= 5; obj++) {
		int n = counts[obj];
		struct store_hold_row *h = calloc((size_t)n + 1, sizeof(*h));
		int64_t t = obj == 5 ? -5000 : 0; /* negative starts too */
		for (int i = 0; i < n; i++) {
			t += rnd(4) ? rnd(50) : 0; /* a quarter share their start */
			int pid = rnd(5) ? 100 : 7000000;
			h[i] = (struct store_hold_row){.obj = obj,
						       .pid = pid,
						       .tid = pid + (int32_t)rnd(9) - 2,
						       .start = t,
						       .end = t + rnd(3) * rnd(400),
						       .mode = (int)rnd(4)};
		}
		qsort(h, (size_t)n, sizeof(*h), by_key);
		int kept = 0;
		for (int i = 0; i < n; i++) {
			insert_row(db, "ref", &h[i]);
			if (rnd(30) == 0)
				insert_row(db, "object_holds_late", &h[i]);
			else if (!kept || store_holdchunks_cmp(&h[i], &h[kept - 1]))
				h[kept++] = h[i];
		}
		for (int i = 0; i < kept;) {
			int j = i + 1 + (int)rnd(rnd(2) ? 8 : STORE_HOLDCHUNKS_MAX);
			if (j > kept)
				j = kept;
			while (j < kept && h[j].start == h[j - 1].start)
				j++;
			insert_chunk(db, &h[i], j - i);
			i = j;
		}
		free(h);
	}
	exec_or_die(db, "COMMIT");
	return db;
}

/* The rows of sql with T replaced by table (each %s of it). */
static void rows_of(sqlite3 *db, const char *sql, const char *table, char *out, size_t len)
{
	char q[1024];
	snprintf(q, sizeof(q), sql, table, table, table);
	unit_rows(db, q, out, len);
}

static void same_rows(sqlite3 *db, const char *name, const char *sql)
{
	static char got[1 << 20], want[1 << 20];
	rows_of(db, sql, "object_holds", got, sizeof(got));
	rows_of(db, sql, "ref", want, sizeof(want));
	char detail[600];
	snprintf(detail, sizeof(detail), "%s: got [%.200s] (%zu bytes), want [%.200s] (%zu bytes)",
		 sql, got, strlen(got), want, strlen(want));
	unit_check(!strcmp(got, want) && strncmp(got, "error", 5), name, detail);
}

#define KEY_ASC "ORDER BY object_id, start_ns, end_ns, tid, pid, mode"
#define KEY_DESC                                                                                   \
	"ORDER BY object_id DESC, start_ns DESC, end_ns DESC, tid DESC, pid DESC, mode DESC"
#define ONE_ASC "ORDER BY start_ns, end_ns, tid, pid, mode"
#define ONE_DESC "ORDER BY start_ns DESC, end_ns DESC, tid DESC, pid DESC, mode DESC"

static void test_same_as_table(void)
{
	sqlite3 *db = make_db();
	char got[64];
	unit_rows(db, "SELECT count(*) FROM object_holds_late", got, sizeof(got));
	unit_check(atoi(got) > 50, "holdchunks:late rows among the chunks", got);
	unit_rows(db, "SELECT count(*) FROM object_hold_chunks WHERE n = 1", got, sizeof(got));
	unit_check(atoi(got) > 0, "holdchunks:chunks of one hold among them", got);
	/* clang-format off */
	static const struct { const char *name, *sql; } cases[] = {
	    {"all", "SELECT * FROM %s " KEY_ASC},
	    {"all, descending", "SELECT * FROM %s " KEY_DESC},
	    {"no order", "SELECT count(*), sum(start_ns), sum(end_ns * tid), sum(mode) FROM %s"},
	    {"one object", "SELECT * FROM %s WHERE object_id = 1 " ONE_ASC},
	    {"one object, a window", "SELECT * FROM %s WHERE object_id = 1 AND start_ns >= 9000"
	     " AND start_ns < 21000 AND end_ns > 10000 " ONE_ASC},
	    {"one object, strict bounds", "SELECT * FROM %s WHERE object_id = 5 AND start_ns > -3000"
	     " AND start_ns < 4000 " ONE_ASC},
	    {"one object, descending with a limit", "SELECT * FROM %s WHERE object_id = 1 AND"
	     " start_ns <= 30000 " ONE_DESC " LIMIT 64"},
	    {"one object, descending inclusive bound", "SELECT * FROM %s WHERE object_id = 5 AND"
	     " start_ns <= 12000 AND start_ns >= 11000 " ONE_DESC},
	    {"one object, descending from past its end", "SELECT * FROM %s WHERE object_id = 4"
	     " AND start_ns < 100000000 " ONE_DESC},
	    {"one object, descending before its start", "SELECT * FROM %s WHERE object_id = 4"
	     " AND start_ns < -1 " ONE_DESC},
	    {"one object, a start", "SELECT * FROM %s WHERE object_id = 1 AND start_ns = (SELECT"
	     " start_ns FROM ref WHERE object_id = 1 LIMIT 1 OFFSET 1500) " ONE_ASC},
	    {"one hold", "SELECT * FROM %s WHERE object_id = 2"},
	    {"no holds", "SELECT count(*) FROM %s WHERE object_id = 3"},
	    {"no such object", "SELECT count(*) FROM %s WHERE object_id = 99"},
	    {"holders at an instant", "SELECT tid FROM %s WHERE object_id = 1 AND start_ns <= 20000"
	     " AND start_ns >= 19000 AND end_ns > 20000 " ONE_ASC},
	    {"objects from 2", "SELECT * FROM %s WHERE object_id >= 2 " KEY_ASC},
	    {"objects between, descending", "SELECT * FROM %s WHERE object_id > 1 AND"
	     " object_id < 5 " KEY_DESC},
	    {"objects and starts", "SELECT * FROM %s WHERE object_id <= 4 AND start_ns > 20000 "
	     KEY_ASC},
	    {"one thread's holds, descending", "SELECT start_ns, end_ns FROM %s WHERE"
	     " object_id = 1 AND tid = 101 AND start_ns <= 50000 " ONE_DESC " LIMIT 64"},
	    {"counts per thread", "SELECT tid, count(*), min(start_ns) FROM %s WHERE object_id = 1"
	     " AND start_ns < 40000 AND start_ns >= 0 AND end_ns > 20000 GROUP BY tid"},
	    {"the area scan's row value", "SELECT start_ns, end_ns, tid FROM %s WHERE object_id = 1"
	     " AND start_ns < 60000 AND start_ns >= 2000 AND (start_ns, end_ns, tid) > (2100, 2150,"
	     " 101) AND end_ns > 2200 ORDER BY start_ns, end_ns, tid LIMIT 300"},
	    {"ordered otherwise", "SELECT * FROM %s WHERE object_id = 5 ORDER BY end_ns DESC,"
	     " start_ns, tid, pid, mode LIMIT 40"},
	    {"a real bound", "SELECT * FROM %s WHERE object_id = 1 AND start_ns > 2000.5 AND"
	     " start_ns <= 7000.5 " ONE_ASC},
	    {"a real object", "SELECT count(*) FROM %s WHERE object_id = 1.0"},
	    {"a NULL bound", "SELECT count(*) FROM %s WHERE object_id = 1 AND start_ns > NULL"},
	    {"a text bound", "SELECT count(*) FROM %s WHERE object_id = 1 AND start_ns > '5000'"},
	    {"huge bounds", "SELECT count(*) FROM %s WHERE start_ns > -9223372036854775808 AND"
	     " start_ns < 9223372036854775807 AND object_id < 1e300"},
	    {"past the ends", "SELECT count(*) FROM %s WHERE start_ns > 9223372036854775807"},
	    {"a self-join", "SELECT count(*), sum(a.tid * b.start_ns) FROM %s a JOIN %s b ON"
	     " b.object_id = a.object_id AND b.start_ns <= a.start_ns AND b.start_ns >= a.start_ns"
	     " - 30 AND b.end_ns > a.start_ns WHERE a.object_id = 4"},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[128];
		snprintf(name, sizeof(name), "holdchunks:%s", cases[i].name);
		same_rows(db, name, cases[i].sql);
	}
	/* the readers' orders are the table's own: SQLite sorts nothing */
	static const char *const plans[] = {
	    "SELECT * FROM object_holds WHERE object_id = 1 AND start_ns >= 5 " ONE_ASC,
	    "SELECT * FROM object_holds WHERE object_id = 1 AND start_ns <= 5 " ONE_DESC,
	    "SELECT start_ns FROM object_holds WHERE object_id = 1 ORDER BY start_ns DESC LIMIT 64",
	    "SELECT * FROM object_holds WHERE object_id >= 1 " KEY_ASC,
	};
	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		char q[512], plan[2048];
		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", plans[i]);
		unit_rows(db, q, plan, sizeof(plan));
		char name[64];
		snprintf(name, sizeof(name), "holdchunks:no sort in plan %zu", i);
		unit_check(!strstr(plan, "TEMP B-TREE") && !strstr(plan, "error"), name, plan);
	}
	sqlite3_close(db);
}

static void test_damaged(void)
{
	sqlite3 *db = make_db();
	/* a chunk cut short, one claiming more holds than it has, one not a blob */
	static const char *const damage[] = {
	    "UPDATE object_hold_chunks SET holds = substr(holds, 1, length(holds) - 1)"
	    " WHERE object_id = 4 AND rowid = (SELECT min(rowid) FROM object_hold_chunks"
	    " WHERE object_id = 4)",
	    "UPDATE object_hold_chunks SET n = n + 1 WHERE object_id = 4",
	    "UPDATE object_hold_chunks SET holds = 'x', n = 1 WHERE object_id = 4",
	    "UPDATE object_hold_chunks SET n = 1000000000 WHERE object_id = 4",
	};
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		exec_or_die(db, "SAVEPOINT s");
		exec_or_die(db, damage[i]);
		sqlite3_stmt *st = NULL;
		sqlite3_prepare_v2(db, "SELECT count(*) FROM object_holds WHERE object_id = 4", -1,
				   &st, NULL);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		char name[64], detail[64];
		snprintf(name, sizeof(name), "holdchunks:damaged chunk %zu is an error", i);
		snprintf(detail, sizeof(detail), "step gave %d", rc);
		unit_check(rc == SQLITE_CORRUPT, name, detail);
		exec_or_die(db, "ROLLBACK TO s; RELEASE s");
	}
	sqlite3_close(db);
}

static void test_round_trip(void)
{
	struct store_hold_row in[4] = {
	    {.obj = 9, .pid = INT32_MAX, .tid = INT32_MIN, .start = -7, .end = -7, .mode = 3},
	    {.obj = 9, .pid = 1, .tid = INT32_MAX, .start = -7, .end = INT64_MAX / 2, .mode = 0},
	    {.obj = 9, .pid = INT32_MIN, .tid = 5, .start = 1ll << 40, .end = 1ll << 41, .mode = 2},
	    {.obj = 9, .pid = 0, .tid = 0, .start = INT64_MAX / 2, .end = INT64_MAX / 2, .mode = 1},
	};
	uint8_t buf[4 * STORE_HOLDCHUNKS_HOLD_BYTES];
	struct store_hold_row out[4];
	size_t len = store_holdchunks_encode(in, 4, buf);
	int ok = store_holdchunks_decode(buf, len, 4, 9, -7, out) == 0;
	for (int i = 0; ok && i < 4; i++)
		ok = !store_holdchunks_cmp(&in[i], &out[i]) && out[i].obj == 9;
	unit_check(ok, "holdchunks:extreme values round-trip", "decoded otherwise");
	unit_check(store_holdchunks_decode(buf, len, 3, 9, -7, out) != 0,
		   "holdchunks:a chunk with bytes left over is damaged", "decoded");
	unit_check(store_holdchunks_decode(buf, len - 1, 4, 9, -7, out) != 0,
		   "holdchunks:a chunk cut short is damaged", "decoded");
	/* the typical hold: close starts, short holds, one process */
	struct store_hold_row typical[2] = {
	    {.obj = 1, .pid = 4242, .tid = 4250, .start = 1000000, .end = 1000150, .mode = 1},
	    {.obj = 1, .pid = 4242, .tid = 4243, .start = 1000300, .end = 1000420, .mode = 0},
	};
	len = store_holdchunks_encode(typical, 2, buf);
	char detail[32];
	snprintf(detail, sizeof(detail), "%zu bytes", len);
	unit_check(len <= 14, "holdchunks:a typical hold takes under 8 bytes", detail);
}

static int int64_order(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* store_sort_nearly sorts as qsort does: nearly in order, far out of it, reversed. */
static void test_sort_nearly(void)
{
	enum { N = 5000 };
	static int64_t a[N], b[N];
	static const char *const shapes[] = {"nearly in order", "one far out of place",
					     "reversed (hands over to qsort)", "random", "empty"};
	for (int shape = 0; shape < 5; shape++) {
		size_t n = shape == 4 ? 0 : N;
		for (size_t i = 0; i < n; i++)
			a[i] = shape == 0   ? (int64_t)i * 10 + rnd(25)
			       : shape == 1 ? (i == N - 7 ? -5 : (int64_t)i)
			       : shape == 2 ? (int64_t)(N - i)
					    : rnd(1000);
		memcpy(b, a, sizeof(a));
		store_sort_nearly(a, n, sizeof(a[0]), int64_order);
		qsort(b, n, sizeof(b[0]), int64_order);
		char name[96];
		snprintf(name, sizeof(name), "holdchunks:sort_nearly %s", shapes[shape]);
		unit_check(!memcmp(a, b, sizeof(a)), name, "differs from qsort");
	}
	/* store_sort_tail: a sorted run, then newcomers reaching back into it, or after it */
	for (int reach = 0; reach < 2; reach++) {
		for (size_t i = 0; i < N; i++)
			a[i] =
			    i < N - 300 ? (int64_t)i * 3 : (reach ? rnd(3 * N) : 3 * N + rnd(50));
		memcpy(b, a, sizeof(a));
		store_sort_tail(a, N - 300, N, sizeof(a[0]), int64_order);
		qsort(b, N, sizeof(b[0]), int64_order);
		unit_check(!memcmp(a, b, sizeof(a)),
			   reach ? "holdchunks:sort_tail newcomers among the sorted"
				 : "holdchunks:sort_tail newcomers after the sorted",
			   "differs from qsort");
	}
}

int main(void)
{
	test_sort_nearly();
	test_same_as_table();
	test_damaged();
	test_round_trip();
	return unit_failures ? 1 : 0;
}
