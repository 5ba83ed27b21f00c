/* Internal to store/: the schema text. */
#ifndef WEFT_STORE_SCHEMA_H
#define WEFT_STORE_SCHEMA_H

extern const char store_schema_sql[];

/*
 * The event table's columns and the view over it, also used by finalize when
 * it rewrites ev in time order.
 */
#define STORE_EV_COLUMNS_SQL                                                                       \
	"(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, pid INTEGER NOT NULL,"                      \
	" tid INTEGER NOT NULL, kind INTEGER NOT NULL, obj INTEGER, wait INTEGER, arg INTEGER,"    \
	" stack INTEGER)"
#define STORE_EVENTS_VIEW_SQL                                                                      \
	"CREATE VIEW events AS SELECT e.id AS id, e.ts AS ts_ns, e.pid AS pid, e.tid AS tid,"      \
	" k.name AS kind, e.obj AS object_id, e.wait AS wait_ns, e.arg AS arg,"                    \
	" e.stack AS stack_id FROM ev e JOIN event_kind k ON k.kind = e.kind;\n"

#endif
