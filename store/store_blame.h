/*
 * Why a thread waited: the blame chain of a wait, read from the derived
 * tables (docs/DERIVED.md). From the object waited on to who held it last
 * during the wait, what that holder was doing meanwhile, and on
 * through the holders' own waits until a running thread, a wait nobody
 * holds (a queue, a cond, a join), or a cycle (a deadlock).
 */
#ifndef WEFT_STORE_BLAME_H
#define WEFT_STORE_BLAME_H

#include <sqlite3.h>
#include <stdint.h>

#define STORE_BLAME_DEPTH 8

/* clang-format off */
/* How a chain ends: X(NAME, "name", text for the report). */
#define STORE_BLAME_ENDS(X)                                                                        \
	X(RUNNING,   "running",   "running")                                                       \
	X(ENDED,     "ended",     "no longer alive")                                               \
	X(NO_HOLDER, "no_holder", "held by no recorded thread")                                    \
	X(NO_OWNER,  "no_owner",  "waiting for another thread to act (a post, a put, a signal)")   \
	X(CYCLE,     "cycle",     "waiting for a thread of this chain: a deadlock")               \
	X(DEEP,      "deep",      "the chain goes on")
/* clang-format on */

#define STORE_BLAME_END_ENUM(name, key, text) STORE_BLAME_##name,
enum store_blame_end { STORE_BLAME_ENDS(STORE_BLAME_END_ENUM) STORE_BLAME_END__COUNT };
#undef STORE_BLAME_END_ENUM

/* One holder along the chain: who, since when, and what it was doing at the wait's end. */
struct store_blame_link {
	int64_t obj;	   /* the object it held */
	int32_t tid;	   /* the holder */
	int64_t held_from; /* start of its hold */
	int state;	   /* its state then (enum store_thread_state) */
	int64_t state_from;
	int64_t state_obj; /* the object of that state (a lock it waits for), or 0 */
};

/* A wait and its chain. */
struct store_blame {
	int32_t pid, tid;
	int state; /* enum store_thread_state */
	int64_t obj, start_ns, end_ns;
	int nlinks;
	struct store_blame_link links[STORE_BLAME_DEPTH];
	enum store_blame_end end;
};

/*
 * The max longest waits on objects in the derived tables (which db sees,
 * in main, temp or an attached TRACE-view), longest first, each with its
 * chain. Returns how many were filled, or -1
 * (sqlite3_errmsg(db)).
 */
int store_blame_longest(sqlite3 *db, struct store_blame *out, int max);

/* Prepared reads of the derived tables, for one chain after another (store_blame.c). */
struct store_blame_reader;
struct store_blame_reader *store_blame_reader_open(sqlite3 *db);
void store_blame_reader_close(struct store_blame_reader *r);
/* The chain of the wait a thread is in at one instant (the viewer's cursor). */
int store_blame_at(struct store_blame_reader *r, int32_t pid, int32_t tid, int64_t at,
		   struct store_blame *out);

/* "running", "cycle", ...: the JSON key of an end. */
const char *store_blame_end_key(enum store_blame_end end);
/* The report's words for an end. */
const char *store_blame_end_text(enum store_blame_end end);

#endif
