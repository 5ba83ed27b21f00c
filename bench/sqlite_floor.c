/*
 * What SQLite alone takes for the rows a trace is made of, on this machine,
 * beside weft's own figures in bench/run.sh (issue #17): the events' rows
 * (ev's 7 integer columns, 64 rows a statement, as the writer inserts
 * them) and the viewer's hold rows (object_holds' WITHOUT ROWID key, spread
 * over a few objects, as the builder inserts them). No weft code runs; the
 * rows are synthetic, with the writer's pragmas, into a scratch file.
 *
 * Usage: sqlite_floor DIR [EVENTS [HOLDS [OBJECTS]]]
 * Prints "ev ns/row", "holds ns/row" and the seconds both would take for
 * EVENTS and HOLDS rows on one core each.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define ROWS_PER_INSERT 64

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int exec_or_die(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "sqlite_floor: %s\n", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* A statement inserting ROWS_PER_INSERT rows of ncols parameters each. */
static sqlite3_stmt *many_rows(sqlite3 *db, const char *head, int ncols)
{
	size_t cap = 256 + (size_t)ROWS_PER_INSERT * ((size_t)ncols * 2 + 3);
	char *sql = malloc(cap);
	if (!sql)
		return NULL;
	size_t n = (size_t)snprintf(sql, cap, "%s VALUES", head);
	for (int r = 0; r < ROWS_PER_INSERT; r++) {
		n += (size_t)snprintf(sql + n, cap - n, "%s(?", r ? "," : "");
		for (int c = 1; c < ncols; c++)
			n += (size_t)snprintf(sql + n, cap - n, ",?");
		n += (size_t)snprintf(sql + n, cap - n, ")");
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fprintf(stderr, "sqlite_floor: %s\n", sqlite3_errmsg(db));
	free(sql);
	return st;
}

/* Seconds to insert rows rows through st, fill(i, v) giving row i's ncols values. */
static double insert_rows(sqlite3 *db, sqlite3_stmt *st, int ncols, long rows,
			  void (*fill)(long i, int64_t *v, long objects), long objects)
{
	int64_t v[16];
	double t0 = now_s();
	exec_or_die(db, "BEGIN");
	for (long i = 0; i + ROWS_PER_INSERT <= rows; i += ROWS_PER_INSERT) {
		for (int r = 0; r < ROWS_PER_INSERT; r++) {
			fill(i + r, v, objects);
			for (int c = 0; c < ncols; c++)
				sqlite3_bind_int64(st, r * ncols + c + 1, v[c]);
		}
		sqlite3_step(st);
		sqlite3_reset(st);
		if ((i / ROWS_PER_INSERT) % 4096 == 4095)
			exec_or_die(db, "COMMIT; BEGIN");
	}
	exec_or_die(db, "COMMIT");
	return now_s() - t0;
}

/* An event: time, thread, kind (acquire/release), lock, no wait, no arg, a call site. */
static void event_row(long i, int64_t *v, long objects)
{
	v[0] = 1000 + i * 37;
	v[1] = 1 + (i / 3) % 8;
	v[2] = 1 + (i & 1);
	v[3] = 1 + (i / 2) % objects;
	v[4] = 0;
	v[5] = 0;
	v[6] = 1 + (i / 2) % 50;
}

/* A hold of one of a few locks, the busiest taking half: (object, pid, tid, start, end, mode). */
static void hold_row(long i, int64_t *v, long objects)
{
	long h = (long)((uint64_t)i * 0x9e3779b97f4a7c15ull >> 40);
	v[0] = h % 2 ? 1 : 2 + h % objects;
	v[1] = 4242;
	v[2] = 4243 + h % 8;
	v[3] = 1000 + i * 74;
	v[4] = v[3] + 50;
	v[5] = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sqlite_floor DIR [EVENTS [HOLDS [OBJECTS]]]\n");
		return 2;
	}
	long events = argc > 2 ? atol(argv[2]) : 4000000;
	long holds = argc > 3 ? atol(argv[3]) : events / 2;
	long objects = argc > 4 ? atol(argv[4]) : 12;
	if (events < ROWS_PER_INSERT || holds < ROWS_PER_INSERT || objects < 2) {
		fprintf(stderr, "sqlite_floor: EVENTS and HOLDS at least %d, OBJECTS at least 2\n",
			ROWS_PER_INSERT);
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/sqlite_floor.db", argv[1]);
	unlink(path);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    exec_or_die(db,
			"PRAGMA page_size=16384; PRAGMA journal_mode=WAL;"
			" PRAGMA synchronous=OFF; PRAGMA cache_size=-16384;"
			"CREATE TABLE ev(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
			" th INTEGER NOT NULL, kind INTEGER NOT NULL, obj INTEGER, wait INTEGER,"
			" arg INTEGER, stack INTEGER);"
			"CREATE TABLE object_holds(object_id INTEGER, pid INTEGER, tid INTEGER,"
			" start_ns INTEGER, end_ns INTEGER, mode INTEGER, PRIMARY KEY(object_id,"
			" start_ns, end_ns, tid, pid, mode)) WITHOUT ROWID;"))
		return 1;
	sqlite3_stmt *ev =
	    many_rows(db, "INSERT OR FAIL INTO ev(ts,th,kind,obj,wait,arg,stack)", 7);
	sqlite3_stmt *ho = many_rows(db, "INSERT OR IGNORE INTO object_holds", 6);
	if (!ev || !ho)
		return 1;
	double t_ev = insert_rows(db, ev, 7, events, event_row, objects);
	double t_ho = insert_rows(db, ho, 6, holds, hold_row, objects);
	sqlite3_finalize(ev);
	sqlite3_finalize(ho);
	sqlite3_close(db);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sqlite_floor.db-wal", argv[1]);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sqlite_floor.db-shm", argv[1]);
	unlink(path);
	printf("ev rows:    %6.0f ns/row (%ld rows, 7 columns, %d a statement)\n",
	       t_ev / (double)events * 1e9, events, ROWS_PER_INSERT);
	printf("hold rows:  %6.0f ns/row (%ld rows over %ld objects, WITHOUT ROWID key)\n",
	       t_ho / (double)holds * 1e9, holds, objects);
	printf("SQLite alone, one core each: %.2f s for the events, %.2f s for the holds\n", t_ev,
	       t_ho);
	return 0;
}
