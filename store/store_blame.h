/*
 * Why a thread waited: the blame chain of a wait, read from the derived
 * tables (docs/DERIVED.md). From the object waited on to who held it last
 * during the wait, what that holder was doing meanwhile, and on
 * through the holders' own waits until a running thread, a wait nobody
 * holds (a queue, a cond, a join), or a cycle (a deadlock). A finished
 * wait on something nobody holds goes on to the thread whose signal, put,
 * set or post ended it (read from the events, in time order), and what
 * that one was doing meanwhile.
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
	X(TIMED_OUT, "timed_out", "timed out: no other thread acted before its deadline")         \
	X(CYCLE,     "cycle",     "waiting for a thread of this chain: a deadlock")               \
	X(FREED,     "freed",     "let go of it before its own wait began: free from then on")    \
	X(DEEP,      "deep",      "the chain goes on")
/* clang-format on */

#define STORE_BLAME_END_ENUM(name, key, text) STORE_BLAME_##name,
enum store_blame_end { STORE_BLAME_ENDS(STORE_BLAME_END_ENUM) STORE_BLAME_END__COUNT };
#undef STORE_BLAME_END_ENUM

/*
 * One link of the chain: the holder of the object waited for, or (a
 * finished wait on something nobody holds: a cond, a queue, an Event, a
 * semaphore) the thread whose signal, put, set or post ended it; and what
 * that thread was doing meanwhile.
 */
struct store_blame_link {
	int64_t obj;	    /* the object it held, or acted on */
	int32_t tid;	    /* the holder, or the thread that ended the wait */
	int64_t held_from;  /* start of its hold, or when it ended the wait */
	int64_t held_until; /* a holder's: the end of its hold (INT64_MAX: never let go) */
	int wake_kind;	    /* 0: a holder; else the event that ended the wait (cond.signal, ...) */
	int64_t wake_stack; /* that event's stack (0: none) */
	int state;	    /* its state meanwhile (enum store_thread_state) */
	int64_t state_from, state_until;
	int64_t state_obj;   /* the object of that state (a lock it waits for), or 0 */
	int64_t state_stack; /* off GIL: the stack where it let go of the GIL (0: none) */
};

/* A wait and its chain. */
struct store_blame {
	int32_t pid, tid;
	int state; /* enum store_thread_state */
	int64_t obj, start_ns, end_ns;
	int nlinks;
	struct store_blame_link links[STORE_BLAME_DEPTH];
	enum store_blame_end end;
	/*
	 * A finished wait on a lock or the GIL, in store_blame_longest: the
	 * threads other than the waiter that held the object during the wait
	 * (in turn: a lock convoy, the GIL's switches), how long any of them
	 * held it, and the one that held it longest, how long. 0 otherwise.
	 */
	int turn_holders;
	int64_t turn_held_ns;
	int32_t turn_top_tid;
	int64_t turn_top_ns;
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

/*
 * The chain of the whole wait the thread is in at instant at, as weft
 * report tells a finished one: who held the object last during it, or
 * which thread's signal, put, set or post ended it, and on. Returns 1
 * with *out filled, 0 when the thread is running (or off the GIL) or not
 * alive then, -1 on error.
 */
int store_blame_whole(struct store_blame_reader *r, int32_t pid, int32_t tid, int64_t at,
		      struct store_blame *out);

/* "running", "cycle", ...: the JSON key of an end. */
const char *store_blame_end_key(enum store_blame_end end);
/* The report's words for an end. */
const char *store_blame_end_text(enum store_blame_end end);

#endif
