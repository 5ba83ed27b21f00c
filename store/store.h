/*
 * store: the SQLite trace file. The schema and the public views are
 * documented in docs/SCHEMA.md; the views are a stable contract.
 */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include "preload/kinds.h"

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <sys/types.h>

/*
 * 2: ev names threads by a number (thread_no), is rewritten in time order
 * at finalize (rowid order = (ts, id) order) and has one index, on the
 * thread number; the viewer's derived tables are not in the file. Version
 * 1 traces are refused.
 * 3: summary tables (sum_*) written with the events, and the views
 * kind_counts, thread_counts, object_counts and contention over them;
 * version 2 traces have neither and are refused.
 */
#define STORE_SCHEMA_VERSION 3
#define STORE_FORMAT_NAME "weft-trace"
/* The only meta keys a traced process may set start with this. */
#define STORE_META_PROCESS_PREFIX "python."

/*
 * Event and object kinds: X(NAME, code, "public name") from the one table
 * in preload/kinds.h, which also gives the WEFT_EV_* / WEFT_OBJ_* codes.
 */
#define STORE_EVENT_KINDS WEFT_EVENT_KINDS
#define STORE_OBJECT_KINDS WEFT_OBJECT_KINDS

/*
 * Thread states, as thread_spans.state and thread_summary.state store them
 * (docs/DERIVED.md): X(NAME, code, "name", UTF-8 glyph, ASCII glyph). The
 * derived tables, weft report and the viewer's lanes and legend all come
 * from this one table.
 */
/* clang-format off */
#define STORE_THREAD_STATES(X)                                                                     \
	X(NOT_ALIVE, 0, "not alive",  " ",      " ")                                               \
	X(RUNNING,   1, "running",    "\u2588", "=")                                               \
	X(LOCK,      2, "lock wait",  "\u2592", "L")                                               \
	X(COND,      3, "cond wait",  "\u2591", "c")                                               \
	X(BARRIER,   4, "barrier",    "\u256b", "B")                                               \
	X(JOIN,      5, "join",       "\u2504", "J")                                               \
	X(GIL,       6, "GIL wait",   "\u259a", "G")                                               \
	X(QUEUE,     7, "queue wait", "\u2261", "Q")                                               \
	X(WAIT,      8, "other wait", "\u2508", "w")                                               \
	X(OFF_GIL,   9, "off GIL",    "\u2500", "-")                                               \
	X(EVENT,    10, "event wait", "\u254c", "e")

#define STORE_STATE_ENUM(name, code, text, utf8, ascii) STORE_STATE_##name = code,
enum store_thread_state {
	STORE_THREAD_STATES(STORE_STATE_ENUM)
	STORE_STATE__COUNT
};
#undef STORE_STATE_ENUM
/* clang-format on */

/* Name of an object kind code, or NULL when unknown. */
const char *store_object_kind_name(int code);
/* An event kind's public name ("cond.signal"), NULL for an unknown code. */
const char *store_event_kind_name(int code);
/* "lock wait", "running", ...: a thread state's name, "?" when unknown. */
const char *store_thread_state_name(int state);

/* ---- writer (used by the collector in `weft run`) ---- */

struct store_writer;

struct store_event {
	int64_t ts_ns; /* since trace start */
	int32_t pid, tid;
	int32_t kind;
	int64_t object_id; /* 0: none */
	int64_t wait_ns;
	int64_t arg;
	int64_t stack_id; /* 0: none */
};

/*
 * Creates a new trace at path. An existing file is replaced only when it is
 * a weft trace; anything else is refused. On failure returns NULL and puts
 * one line in err.
 */
struct store_writer *store_writer_open(const char *path, char *err, size_t errlen);
int store_writer_meta(struct store_writer *w, const char *key, const char *value);
int store_writer_event(struct store_writer *w, const struct store_event *e);
/*
 * After store_writer_hold(), events are held back and go into ev in time
 * order, so the trace needs no sorting at finalize (a sort of 2M events
 * took SQLite 3 s). store_writer_horizon() says no event before ts_ns is
 * expected anymore and writes those held (INT64_MAX: all of them; commit
 * does not). An event arriving later than promised is kept all the same:
 * the writer notes the stretch of rows it belongs in as it writes it
 * (without reading the table) and store_writer_finalize() sorts only those
 * stretches; it also holds back longer from then on. Returns 0, or -1 on
 * a database error.
 */
void store_writer_hold(struct store_writer *w);
int store_writer_horizon(struct store_writer *w, int64_t ts_ns);
int store_writer_object(struct store_writer *w, int64_t object_id, int pid, int kind,
			const char *name, int64_t created_ns, uint64_t addr, int64_t stack_id);
int store_writer_stack_frame(struct store_writer *w, int64_t stack_id, int depth, const char *lang,
			     const char *function, const char *file, int line, const char *module,
			     uint64_t pc);
int store_writer_process(struct store_writer *w, int pid, int ppid, const char *argv,
			 int64_t start_ns, int64_t end_ns, int64_t exit_code, int64_t exit_signal);
int store_writer_thread(struct store_writer *w, int pid, int tid, const char *name,
			int64_t start_ns, int64_t end_ns, int64_t unrecorded,
			int64_t producer_waits);
/*
 * One data race seen by the Python race detector: side a is the earlier
 * access (another thread's), b the one that found the race. A repeat of an
 * already detailed pair of sites has only pid, rule, sites and b's thread
 * and time (light = 1).
 */
struct store_race {
	int pid, rule, light;
	uint32_t site_a, site_b;
	int tid_a, tid_b;
	int64_t ts_a, ts_b, stack_a, stack_b;
	int flags_a, flags_b;
	const char *held_a, *held_b; /* object ids, comma-separated ("" none) */
	const char *location;
};
int store_writer_race(struct store_writer *w, const struct store_race *r);
/*
 * Recounts an object's summary rows from ev after events were moved to or
 * from it (UPDATE ev SET obj); reads ev through an index on obj (the
 * collector's ev_by_obj). Returns 0, or -1 (the summaries are then dropped).
 */
int store_writer_refresh_object(struct store_writer *w, int64_t object_id);
/* Commits what was written so far (readers and a killed tracer see it) and begins anew. */
int store_writer_commit(struct store_writer *w);
/*
 * For a reader on another thread following the trace as it is written:
 * the last row id it may read now (committed, and far enough behind the
 * newest rows that a late record rarely moves it); and the lowest row id,
 * of those a follower could have read, that was moved or changed since
 * the last call (INT64_MAX none, INT64_MIN any), which the call clears:
 * one follower takes them as they come, and once store_writer_order()
 * returned a last call takes what is left. Both are safe from any thread.
 */
int64_t store_writer_follow_limit(struct store_writer *w);
int64_t store_writer_take_moved(struct store_writer *w);
/*
 * The writer's newest rows in memory for that follower (store_mirror.h),
 * kept from this call on; NULL when there are none. Valid until
 * store_writer_close().
 */
struct store_mirror;
const struct store_mirror *store_writer_mirror(struct store_writer *w);
/*
 * Once the program has ended (on 1): the writer waits at its commits, a
 * little, for a follower that reads from the mirror to keep up; the
 * follower says how far it read (INT64_MAX: it reads no more). Both safe
 * from any thread.
 */
void store_writer_pace(struct store_writer *w, int on);
/*
 * Rows of ev up to last_id were changed through store_writer_db() (an
 * UPDATE): readers that start after this read them from the table, not
 * the mirror.
 */
void store_writer_rows_changed(struct store_writer *w, int64_t last_id);
/* Row id's arg was changed to arg through store_writer_db(): the mirror's too. */
void store_writer_row_arg(struct store_writer *w, int64_t id, int64_t arg);
/*
 * The i-th (from 0) of the id ranges lo..hi that, together, hold every
 * row written with an arg only the end knows (a process.exit's status -1,
 * a process.spawn's pid 0). Returns 1 with the range, 0 past the last.
 */
int store_writer_fix_range(struct store_writer *w, size_t i, int64_t *lo, int64_t *hi);
/*
 * The latest time of any row written (handed to SQLite) so far, INT64_MIN
 * before the first: every event later than it is still held.
 */
int64_t store_writer_written_to(const struct store_writer *w);
/*
 * Gives object to_id the held events of object from_id timed in
 * (after_ns, until_ns] (uses that came before their object's destruction
 * was known belong to the object then alive at the address). Only held
 * events change: when store_writer_written_to() is past after_ns, rows in
 * the table may need it too. Returns how many moved; *latest_ns is raised
 * to the latest of their times.
 */
size_t store_writer_move_held(struct store_writer *w, int64_t from_id, int64_t to_id,
			      int64_t after_ns, int64_t until_ns, int64_t *latest_ns);
void store_writer_followed(struct store_writer *w, int64_t id);
/*
 * The tail after recording can be stopped: store_writer_interrupt() (safe
 * in a signal handler) makes store_writer_interrupted() true and, once
 * store_writer_tail() has committed what was written, interrupts the
 * running statement; its transaction rolls back to that commit.
 * store_writer_finalize() then returns 1 with meta `interrupted` = 1 and
 * no `complete`: a valid, unfinalized trace.
 */
void store_writer_interrupt(struct store_writer *w);
int store_writer_interrupted(struct store_writer *w);
int store_writer_tail(struct store_writer *w);
/*
 * The end of a trace, in three steps (each returns 0, 1 when interrupted
 * as above, -1 on error):
 * - store_writer_order(): writes what is held back and puts ev in its
 *   final order; other connections may read the events from then on.
 * - store_writer_complete(): meta `complete`, still in WAL
 *   mode, so a reader on another connection does not block it.
 * - store_writer_seal(): folds the WAL into the file and switches to a
 *   rollback journal; no other connection may have the trace open.
 * store_writer_finalize() is the three in a row.
 */
int store_writer_order(struct store_writer *w);
int store_writer_complete(struct store_writer *w);
int store_writer_seal(struct store_writer *w);
int store_writer_finalize(struct store_writer *w);
/* The last SQLite error, for messages. */
const char *store_writer_error(struct store_writer *w);
sqlite3 *store_writer_db(struct store_writer *w);
void store_writer_close(struct store_writer *w);

/* ---- reader ---- */

/*
 * Opens a weft trace read-only and checks it is one (format, schema
 * version, readable). On failure returns NULL with one line in err.
 */
sqlite3 *store_open_read(const char *path, char *err, size_t errlen);

/* One integer read by sql (SELECT value FROM meta WHERE ...): 0 with *out, or -1. */
int store_query_int64(sqlite3 *db, const char *sql, int64_t *out);

/*
 * 1 when ev's rowid order is time order ((ts, id) order): a finalized trace
 * of schema version 2 or later. Readers then seek time through the rowid
 * (store_event_at) and order by id; otherwise they order by ts, id.
 */
int store_events_time_ordered(sqlite3 *db);

/*
 * In a time-ordered trace: the smallest event id whose ts is >= ts (one past
 * the last id when there is none), found by a binary search over the rowid.
 */
int64_t store_event_at(sqlite3 *db, int64_t ts);

/*
 * A thread's events are found by id through the derived table
 * thread_event_blocks (docs/DERIVED.md): a row for each block of
 * 2^STORE_EVENT_BLOCK_SHIFT ids that holds some of its events.
 */
#define STORE_EVENT_BLOCK_SHIFT 12

/*
 * Calls each(ctx, id, ts) for the events of thread (pid, tid), from id
 * `from` up (dir > 0: ids >= from, ascending) or down (dir < 0: ids < from,
 * descending), until each returns nonzero. thread_event_blocks must be
 * visible to db (the derived tables attached or built). Returns 1 when each
 * stopped the walk, 0 when the thread's events ran out, -1 on an SQLite
 * error.
 */
int store_thread_events(sqlite3 *db, int pid, int tid, int64_t from, int dir,
			int (*each)(void *ctx, int64_t id, int64_t ts), void *ctx);

/* One event as a pass reads it: its row id and the event. */
struct store_event_row {
	int64_t id;
	struct store_event e;
};

/* A pass over a trace's events in row order (store_read.c). */
struct store_events;
/*
 * Opens a pass over db's events: those whose kind k has bit k set in
 * kinds, or all when kinds is 0. Returns NULL on failure (sqlite3_errmsg).
 */
struct store_events *store_events_open(sqlite3 *db, uint64_t kinds);
/* The same over the rows after after_id up to last_id. */
struct store_events *store_events_open_range(sqlite3 *db, uint64_t kinds, int64_t after_id,
					     int64_t last_id);
/* The next event into out: returns 1, 0 at the end, or -1 on failure (sqlite3_errmsg). */
int store_events_next(struct store_events *r, struct store_event_row *out);
void store_events_close(struct store_events *r);
/*
 * The rows m has (store_mirror.h) from memory, the others from the table:
 * the same rows either way, for a pass that follows a writer.
 */
void store_events_use_mirror(struct store_events *r, const struct store_mirror *m);
/* How many of the rows returned so far came from the mirror and from the table. */
void store_events_counts(const struct store_events *r, int64_t *from_mirror, int64_t *from_table);

/*
 * 1 when the program ran more than one thread (thread.create or .start
 * events) and no synchronization reached weft (no lock, cond, semaphore,
 * barrier, GIL, queue or event events): its locks, if it has any, bypass
 * pthreads, as the futex-based ones of Rust's std and Go do. 0 otherwise,
 * -1 on a database error. `weft run` and `weft report` print
 * STORE_LOCKS_INVISIBLE_MSG then.
 */
int store_locks_invisible(sqlite3 *db);
/*
 * 1 when the per-kind summaries (sum_thread_kind) count every event in ev,
 * as a complete trace's do (a writer whose writes failed leaves them
 * empty), 0 when not, -1 on a database error.
 */
int store_summaries_exact(sqlite3 *db);
#define STORE_LOCKS_INVISIBLE_MSG                                                                  \
	"threads ran but no lock, condition or semaphore call was recorded: the program's locks "  \
	"are not visible to weft (futex-based runtimes such as Rust's std or Go bypass pthreads)"

/* 1 when path is an existing weft trace (any schema version), 0 when not, -1 if missing. */
int store_is_trace(const char *path);

/* ---- the files beside a trace (store_files.c) ---- */

/*
 * Before a trace is written at path: each of PATH-wal, -shm, -journal and
 * -view must be absent or our own regular file with one link, which is
 * then removed. Returns 0, otherwise -1 with one line in err (a file of
 * another user, a link, a FIFO, or a removal that failed). PATH-view.tmpPID
 * files of ours whose weft is gone (killed while it ran) are removed too.
 */
int store_files_prepare_write(const char *path, char *err, size_t errlen);
/* Creates PATH+suffix, mode 0600, never through a link. Returns 0, otherwise -1 with err. */
int store_files_create(const char *path, const char *suffix, char *err, size_t errlen);
/* Removes PATH+suffix when it is our own regular file. */
void store_files_remove_own(const char *path, const char *suffix);
/*
 * Before SQLite opens path: PATH-journal, -wal and -shm (which SQLite would
 * open, block on, or roll back from) must be absent or regular files with
 * one link owned by us or by owner (the trace's owner). Returns 0,
 * otherwise -1 with one line in err.
 */
int store_files_check_read(const char *path, uid_t owner, char *err, size_t errlen);
/*
 * The viewer's cache file, checked without following a link or blocking on
 * a FIFO: returns 1 when it is a regular file of ours or of owner (and its
 * own journal files pass store_files_check_read), 0 when absent, otherwise
 * -1 with one line in err.
 */
int store_files_check_cache(const char *cpath, uid_t owner, char *err, size_t errlen);

/*
 * Builds the derived tables (thread_spans, ..., docs/DERIVED.md) from main's
 * events if they are missing or of another version: in main, or in temp
 * when main is read-only. Returns 0, or -1 with one line in err.
 */
int store_build_derived(sqlite3 *db, char *err, size_t errlen);

/* 1 when name (any case) is one of the derived tables of docs/DERIVED.md, else 0. */
int store_derived_table(const char *name);
/* The same, always rebuilt, into the attached schema (store_viewcache.c's file). */
int store_build_derived_in(sqlite3 *db, const char *schema, char *err, size_t errlen);

/*
 * The same build in steps, so that it can follow a trace being written
 * (store_viewcache.c): store_derive_begin() makes the tables in schema
 * (dropping an older set), store_derive_events() reads the events after
 * the last one read up to row last_id, as often as wanted while the trace
 * grows (starting over at once when rows it read were moved since, from
 * moved_from on), and store_derive_finish() reads the rest of the complete trace and
 * ends the build. Rows read before the trace was complete are kept unless
 * something since contradicts them: rows from id moved_from on were moved
 * or changed (store_writer_take_moved()), or the threads' final rows
 * disagree with what was read; then finish reads everything again. Each
 * returns 0, or -1 with one line in err (which must outlive the build);
 * begin returns NULL on failure. The caller owns the transactions.
 */
struct store_derive;
struct store_derive *store_derive_begin(sqlite3 *db, const char *schema, char *err, size_t errlen);
/*
 * Another pass over the same rows, fed by a derive step instead of reading
 * them itself (the findings' while following, store_findings_follow_tap):
 * row() gets each row the step reads, in id order, after the step used it.
 * A step that starts over passes on the rows from the first again.
 */
struct store_event_tap {
	void (*row)(void *ctx, const struct store_event_row *row);
	void *ctx;
};
/* tap: NULL, or who else gets the rows this step reads. */
int store_derive_events(struct store_derive *d, int64_t last_id, int64_t moved_from,
			const struct store_event_tap *tap);
/*
 * The program has ended: the follower has a CPU of its own, and follows the
 * busiest objects at every step however far behind the writer it is.
 */
void store_derive_unhurried(struct store_derive *d);
/* Its event passes read the rows m has from memory (store_writer_mirror). */
void store_derive_use_mirror(struct store_derive *d, const struct store_mirror *m);
/*
 * For WEFT_DEBUG and the tests: the followed objects' intervals fed while
 * the trace was written (early) and by store_derive_finish (at_end), and
 * how many followed objects were read again for a late interval.
 */
void store_derive_follow_counts(const struct store_derive *d, int64_t *early, int64_t *at_end,
				int *again);
int store_derive_finish(struct store_derive *d, int64_t moved_from);
void store_derive_free(struct store_derive *d);

/*
 * Finding kinds, as finding.kind stores them (docs/FINDINGS.md):
 * X(NAME, "name", built by store_build_findings (1) or while recording (0),
 * what they are). `weft run --fail-on`'s list and help, the suppressions'
 * KIND check and the findings' own rows all come from this one table.
 */
/* clang-format off */
#define STORE_FINDING_KINDS(X)                                                                     \
	X(RACE,       "race",       1, "data races in Python code (weft run --races)")           \
	X(LOCK_ORDER, "lock_order", 1, "locks taken in orders that can deadlock")                \
	X(DEADLOCK,   "deadlock",   0, "threads blocked on locks each other held (found while recording)") \
	X(MISUSE,     "misuse",     1, "lock misuses: unlock not held, destroy held, exit holding")

#define STORE_FINDING_ENUM(name, text, rebuilt, what) STORE_FINDING_##name,
enum store_finding_kind {
	STORE_FINDING_KINDS(STORE_FINDING_ENUM)
	STORE_FINDING__COUNT
};
#undef STORE_FINDING_ENUM
/* "race|lock_order|deadlock|misuse|" and "race, lock_order, deadlock, misuse, ": for help texts. */
#define STORE_FINDING_PIPE(name, text, rebuilt, what) text "|"
#define STORE_FINDING_COMMA(name, text, rebuilt, what) text ", "
#define STORE_FINDING_KINDS_PIPE STORE_FINDING_KINDS(STORE_FINDING_PIPE)
#define STORE_FINDING_KINDS_COMMA STORE_FINDING_KINDS(STORE_FINDING_COMMA)
/* clang-format on */

/* "race", "lock_order", ...: a finding kind's name, NULL when kind is out of range. */
const char *store_finding_kind_name(int kind);
/* The kind named by the len bytes at name, or -1 when no kind has that name. */
int store_finding_kind_code(const char *name, size_t len);

/*
 * Builds the lock-order and misuse findings and the `findings` and
 * `finding_items` views (docs/FINDINGS.md) if missing, inside the caller's
 * transaction; a read-only connection gets them in its temp schema.
 * suppressions_path (NULL: none) names a suppressions file. Returns 0, or
 * -1 with one line in err.
 */
int store_build_findings(sqlite3 *db, const char *suppressions_path, char *err, size_t errlen);

/*
 * The findings' pass over the events, read ahead while the trace is
 * written (store_viewcache.c's follower): store_findings_follow() reads the
 * events after the last one read up to row last_id through db (any
 * connection; starting over when rows it read were moved, from moved_from
 * on; returns 0, or -1 and the pass is read again at the end);
 * store_build_findings_after() is store_build_findings() reading only the
 * rest, unless rows from moved_from on were read (store_writer_take_moved)
 * or an event came before its object's row: then it reads everything.
 * It takes over the pass's state; free p afterwards all the same.
 */
struct store_findings_pass;
struct store_findings_pass *store_findings_pass_new(void);
/* Its reads of events take the rows m has from memory (store_writer_mirror). */
void store_findings_pass_use_mirror(struct store_findings_pass *p, const struct store_mirror *m);
int store_findings_follow(struct store_findings_pass *p, sqlite3 *db, int64_t last_id,
			  int64_t moved_from);
/*
 * store_findings_follow() without a read of its own: the rows come through
 * tap, which store_findings_follow_tap() fills in for a derive step over
 * the same connection (store_derive_events), and store_findings_follow_done()
 * ends the step: with ok, the pass has read up to row last_id (reading any
 * rows the step did not pass on itself); without, the step failed and the
 * pass is read again at the end. Returns 0, or -1 when the pass cannot
 * take rows now (tap is then unset; done() must still be called).
 */
int store_findings_follow_tap(struct store_findings_pass *p, sqlite3 *db, int64_t moved_from,
			      struct store_event_tap *tap);
void store_findings_follow_done(struct store_findings_pass *p, int64_t last_id, int ok);
int store_build_findings_after(sqlite3 *db, struct store_findings_pass *p, int64_t moved_from,
			       const char *suppressions_path, char *err, size_t errlen);
void store_findings_pass_free(struct store_findings_pass *p);

/* Checks a suppressions file's syntax: 0, or -1 with "FILE:LINE: problem" in err. */
int store_findings_check_suppressions(const char *path, char *err, size_t errlen);

#endif
