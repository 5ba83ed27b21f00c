/*
 * Internal to store/: the schema text. Each store/sql/NAME.sql is embedded
 * at build time as store_NAME_sql (the Makefile's store_sql.c rule).
 */
#ifndef WEFT_STORE_SCHEMA_H
#define WEFT_STORE_SCHEMA_H

/* The trace's tables and public views (store/sql/schema.sql). */
extern const char store_schema_sql[];

/*
 * The findings' tables and views (store/sql/findings.sql), with @schema
 * where the schema they go in (main or temp) is named.
 */
extern const char store_findings_sql[];

/*
 * Full passes over ev with each event's pid and tid: ev drives the loop
 * (CROSS JOIN), thread_no is a lookup by its key.
 */
#define STORE_EV_PID_TID_SQL " main.ev e CROSS JOIN main.thread_no t ON t.th = e.th"

/*
 * For tests and fixtures that write events with SQL: a temp view
 * ev_in(id, ts, pid, tid, kind, obj, wait, arg, stack) whose inserts go to
 * ev, numbering new threads in thread_no (store/sql/ev_input.sql).
 */
extern const char store_ev_input_sql[];

#endif
