/* The trace schema: raw tables tuned for size, public views as the contract. */
#include "store/store_schema.h"
#include "store/store.h"

#include <stddef.h>

const char *store_event_kind_name(int code)
{
	switch (code) {
#define STORE_KIND_CASE(c, n)                                                                      \
	case c:                                                                                    \
		return n;
		STORE_EVENT_KINDS(STORE_KIND_CASE)
	}
	return NULL;
}

const char *store_object_kind_name(int code)
{
	switch (code) {
		STORE_OBJECT_KINDS(STORE_KIND_CASE)
#undef STORE_KIND_CASE
	}
	return NULL;
}

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
    " held_b TEXT, location TEXT);\n" STORE_EVENTS_VIEW_SQL
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
