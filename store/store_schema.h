/* Internal to store/: the schema text. */
#ifndef WEFT_STORE_SCHEMA_H
#define WEFT_STORE_SCHEMA_H

extern const char store_schema_sql[];

/*
 * The event table's columns and the view over it, also used by finalize when
 * it rewrites ev in time order. ev.th is a small per-thread number
 * (thread_no maps it to pid and tid): 4 bytes per event smaller than pid and
 * tid, and so is the index on it.
 */
#define STORE_EV_COLUMNS_SQL                                                                       \
	"(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, th INTEGER NOT NULL,"                       \
	" kind INTEGER NOT NULL, obj INTEGER, wait INTEGER, arg INTEGER, stack INTEGER)"
#define STORE_EVENTS_VIEW_SQL                                                                      \
	"CREATE VIEW events AS SELECT e.id AS id, e.ts AS ts_ns, t.pid AS pid, t.tid AS tid,"      \
	" k.name AS kind, e.obj AS object_id, e.wait AS wait_ns, e.arg AS arg,"                    \
	" e.stack AS stack_id FROM ev e JOIN thread_no t ON t.th = e.th"                           \
	" JOIN event_kind k ON k.kind = e.kind;\n"

/*
 * Full passes over ev with each event's pid and tid: ev drives the loop
 * (CROSS JOIN), thread_no is a lookup by its key.
 */
#define STORE_EV_PID_TID_SQL " main.ev e CROSS JOIN main.thread_no t ON t.th = e.th"

/*
 * For tests and fixtures that write events with SQL: a temp view
 * ev_in(id, ts, pid, tid, kind, obj, wait, arg, stack) whose inserts go to
 * ev, numbering new threads in thread_no.
 */
extern const char store_ev_input_sql[];

#endif
