/* The trace schema: raw tables tuned for size, public views as the contract. */
#include "store/store_schema.h"
#include "store/store.h"

#include <stddef.h>

const char *store_object_kind_name(int code)
{
	switch (code) {
#define STORE_KIND_CASE(e, c, n)                                                                   \
	case c:                                                                                    \
		return n;
		STORE_OBJECT_KINDS(STORE_KIND_CASE)
#undef STORE_KIND_CASE
	}
	return NULL;
}

/*
 * The summaries the writer keeps while it writes ev (store_write.c), flushed
 * at every commit, so the everyday counts never read the events. sum_thread
 * holds what weft report needs of each thread beyond its counts: where its
 * first event is in (ts, arrival) order (first_seq: the arrival), its GIL
 * hold time and the start of a lock wait still open at its last event (-1:
 * none). sum_p90 is made at finalize. Public through the views below
 * (docs/SCHEMA.md); the kind codes 1 and 3 are lock.acquire and lock.fail.
 */
/* clang-format off */
#define STORE_SUMMARY_SQL \
    "CREATE TABLE sum_thread(th INTEGER PRIMARY KEY, first_ts INTEGER, first_seq INTEGER," \
    " gil_hold INTEGER, wait_open INTEGER);\n" \
    "CREATE TABLE sum_thread_kind(th INTEGER, kind INTEGER, events INTEGER, waited INTEGER," \
    " wait INTEGER, max_wait INTEGER, max_stack INTEGER, first_ts INTEGER, last_ts INTEGER," \
    " PRIMARY KEY(th, kind)) WITHOUT ROWID;\n" \
    "CREATE TABLE sum_object_kind(obj INTEGER, kind INTEGER, events INTEGER, waited INTEGER," \
    " wait INTEGER, max_wait INTEGER, max_stack INTEGER, first_ts INTEGER, last_ts INTEGER," \
    " PRIMARY KEY(obj, kind)) WITHOUT ROWID;\n" \
    "CREATE TABLE sum_p90(obj INTEGER PRIMARY KEY, p90 INTEGER);\n" \
    "CREATE VIEW kind_counts AS SELECT k.name AS kind, sum(s.events) AS events," \
    " sum(s.waited) AS waited, sum(s.wait) AS wait_ns, max(s.max_wait) AS max_wait_ns," \
    " min(s.first_ts) AS first_ns, max(s.last_ts) AS last_ns" \
    " FROM sum_thread_kind s JOIN event_kind k ON k.kind = s.kind GROUP BY s.kind;\n" \
    "CREATE VIEW thread_counts AS SELECT t.pid AS pid, t.tid AS tid, k.name AS kind," \
    " s.events AS events, s.waited AS waited, s.wait AS wait_ns, s.max_wait AS max_wait_ns," \
    " s.max_stack AS max_wait_stack_id, s.first_ts AS first_ns, s.last_ts AS last_ns" \
    " FROM sum_thread_kind s JOIN thread_no t ON t.th = s.th" \
    " JOIN event_kind k ON k.kind = s.kind;\n" \
    "CREATE VIEW object_counts AS SELECT s.obj AS object_id, k.name AS kind," \
    " s.events AS events, s.waited AS waited, s.wait AS wait_ns, s.max_wait AS max_wait_ns," \
    " s.max_stack AS max_wait_stack_id, s.first_ts AS first_ns, s.last_ts AS last_ns" \
    " FROM sum_object_kind s JOIN event_kind k ON k.kind = s.kind;\n" \
    "CREATE VIEW contention AS SELECT s.obj AS object_id, o.name AS name, ok.name AS kind," \
    " o.pid AS pid," \
    " sum(CASE s.kind WHEN 1 THEN s.events ELSE 0 END) AS acquisitions," \
    " sum(CASE s.kind WHEN 1 THEN s.waited ELSE 0 END) AS contended," \
    " sum(CASE s.kind WHEN 3 THEN s.events ELSE 0 END) AS failed," \
    " sum(CASE s.kind WHEN 3 THEN s.wait ELSE 0 END) AS failed_wait_ns," \
    " sum(CASE s.kind WHEN 1 THEN s.wait ELSE 0 END) AS total_wait_ns," \
    " max(CASE s.kind WHEN 1 THEN s.max_wait END) AS max_wait_ns," \
    " (SELECT p.p90 FROM sum_p90 p WHERE p.obj = s.obj) AS p90_wait_ns," \
    " max(CASE s.kind WHEN 1 THEN s.max_stack END) AS max_wait_stack_id" \
    " FROM sum_object_kind s LEFT JOIN obj o ON o.object_id = s.obj" \
    " LEFT JOIN object_kind ok ON ok.kind = o.kind" \
    " WHERE s.kind IN (1, 3) GROUP BY s.obj;\n"
/* clang-format on */

/*
 * Raw tables keep integers small (times relative to the trace start, kinds
 * as codes) so an event row costs about 20-30 bytes; the views give them
 * their public names and units.
 */
const char store_schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;\n"
    "CREATE TABLE event_kind(kind INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);\n"
    "CREATE TABLE object_kind(kind INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);\n"
    "CREATE TABLE ev" STORE_EV_COLUMNS_SQL ";\n"
    "CREATE TABLE thread_no(th INTEGER PRIMARY KEY, pid INTEGER NOT NULL, tid INTEGER NOT NULL,"
    " UNIQUE(pid, tid));\n"
    "CREATE TABLE obj(object_id INTEGER PRIMARY KEY, pid INTEGER, kind INTEGER, name TEXT,"
    " created_ns INTEGER, addr INTEGER, stack_id INTEGER);\n"
    "CREATE TABLE proc(pid INTEGER PRIMARY KEY, ppid INTEGER, argv TEXT, start_ns INTEGER,"
    " end_ns INTEGER, exit_code INTEGER, exit_signal INTEGER, name TEXT);\n"
    "CREATE TABLE thr(pid INTEGER, tid INTEGER, name TEXT, start_ns INTEGER, end_ns INTEGER,"
    " unrecorded INTEGER DEFAULT 0, producer_waits INTEGER DEFAULT 0, py_ident INTEGER,"
    " PRIMARY KEY(pid, tid)) WITHOUT ROWID;\n"
    "CREATE TABLE frame(stack_id INTEGER, depth INTEGER, lang TEXT, function TEXT, file TEXT,"
    " line INTEGER, module TEXT, pc INTEGER, PRIMARY KEY(stack_id, depth)) WITHOUT ROWID;\n"
    "CREATE TABLE race(id INTEGER PRIMARY KEY, pid INTEGER, rule INTEGER, site_a INTEGER,"
    " site_b INTEGER, tid_a INTEGER, ts_a INTEGER, flags_a INTEGER, stack_a INTEGER,"
    " held_a TEXT, tid_b INTEGER, ts_b INTEGER, flags_b INTEGER, stack_b INTEGER,"
    " held_b TEXT, location TEXT);\n" STORE_SUMMARY_SQL STORE_EVENTS_VIEW_SQL
    "CREATE VIEW objects AS SELECT o.object_id AS object_id, o.pid AS pid, k.name AS kind,"
    " o.name AS name, o.created_ns AS created_ns, o.addr AS address, o.stack_id AS stack_id"
    " FROM obj o JOIN object_kind k ON k.kind = o.kind;\n"
    "CREATE VIEW processes AS SELECT pid, ppid, argv, start_ns, end_ns, exit_code, exit_signal,"
    " name FROM proc;\n"
    "CREATE VIEW threads AS SELECT pid, tid, name, start_ns, end_ns, unrecorded,"
    " producer_waits, py_ident FROM thr;\n"
    "CREATE VIEW stack_frames AS SELECT stack_id, depth, lang, function, file, line, module,"
    " pc FROM frame;\n";

const char store_ev_input_sql[] =
    "CREATE TEMP VIEW ev_in AS SELECT e.id AS id, e.ts AS ts, t.pid AS pid, t.tid AS tid,"
    " e.kind AS kind, e.obj AS obj, e.wait AS wait, e.arg AS arg, e.stack AS stack"
    " FROM main.ev e JOIN main.thread_no t ON t.th = e.th;"
    "CREATE TEMP TRIGGER ev_in_insert INSTEAD OF INSERT ON ev_in BEGIN"
    " INSERT OR IGNORE INTO thread_no(pid, tid) VALUES(NEW.pid, NEW.tid);"
    " INSERT INTO ev(id, ts, th, kind, obj, wait, arg, stack) VALUES(NEW.id, NEW.ts,"
    " (SELECT th FROM main.thread_no WHERE pid = NEW.pid AND tid = NEW.tid), NEW.kind,"
    " NEW.obj, NEW.wait, NEW.arg, NEW.stack);"
    " END;";
