/*
 * store_holds: one thread's held locks, replayed from its ordered events.
 * The derived tables (object_holds rows), the findings (lock-order graph,
 * misuses) and weft export (hold slices) each keep one set per thread and
 * give it that thread's events through store_holds_apply(), which says what
 * the event did to the set; what to make of it stays with the caller.
 */
#ifndef WEFT_STORE_HOLDS_H
#define WEFT_STORE_HOLDS_H

#include <stdint.h>

/*
 * What an object kind's acquisitions make (preload/kinds.h codes):
 * X(kind, HELD: one thread's hold from acquire to release,
 *   ANY_RELEASER: another thread than the acquirer may release it,
 *   OWNED: one owner that waiters wait for (lock order, deadlocks),
 *   EXCLUSIVE: one holding thread at a time, so two threads' holds never
 *   overlap; an rwlock's readers share it, a py.condition is left out as
 *   its own lock's kind says).
 * Semaphores are posted by any thread: no holds at all. A py.condition's
 * own lock is a py.lock or py.rlock object, so it records no acquisitions.
 */
/* clang-format off */
#define STORE_HOLDS_KINDS(X)                \
	X(MUTEX,        1, 0, 1, 1)         \
	X(RWLOCK,       1, 0, 1, 0)         \
	X(SPINLOCK,     1, 0, 1, 1)         \
	X(GIL,          1, 0, 0, 1)         \
	X(PY_LOCK,      1, 1, 1, 1)         \
	X(PY_RLOCK,     1, 0, 1, 1)         \
	X(PY_CONDITION, 1, 0, 0, 0)
/* clang-format on */

enum {
	STORE_HOLDS_HELD = 1,
	STORE_HOLDS_ANY_RELEASER = 2,
	STORE_HOLDS_OWNED = 4,
	STORE_HOLDS_EXCLUSIVE = 8,
};

/* The STORE_HOLDS_* bits of an object kind; 0 for a kind that is never held. */
unsigned store_holds_kind_rules(int obj_kind);

/* One held object: its first (or, per level, its own) acquisition. */
struct store_hold {
	int64_t obj;
	int64_t start, ev, stack; /* the acquisition's time, event row id, stack id */
	int excl;		  /* exclusive: not an rwlock's read (shared) hold */
	int depth;		  /* levels held (counted re-entries; 1 per entry per level) */
	int64_t tag;		  /* the caller's own (weft export: the flow ending here) */
};

/* Rules a caller's set applies (store_holds_init). */
enum {
	/* Every acquisition its own entry (a row per level), not a counted re-entry. */
	STORE_HOLDS_EACH_LEVEL = 1,
	/* After a cond wait that failed (not 0, ETIMEDOUT, EOWNERDEAD) its re-acquire record
	   acquired nothing. */
	STORE_HOLDS_COND_FAILURE = 2,
	/* An exec stashes the set (the image's locks are gone), a failed exec brings it back. */
	STORE_HOLDS_EXEC = 4,
};

struct store_holds {
	struct store_hold *h; /* in acquisition order, innermost last */
	int n, cap;
	unsigned rules;	  /* STORE_HOLDS_EACH_LEVEL | ... */
	uint64_t tracked; /* bit k: objects of kind k are tracked (from want and unwanted) */
	int skip_reacquire;
	struct store_hold *saved; /* the set an exec stashed */
	int nsaved, has_saved;
};

/* What an event did to the set (store_holds_apply). */
enum store_holds_what {
	STORE_HOLDS_NOTHING,	    /* not a hold event, or an object this set does not track */
	STORE_HOLDS_ACQUIRED,	    /* a new entry: the object was not held */
	STORE_HOLDS_REENTERED,	    /* already held: one more level */
	STORE_HOLDS_RELEASED,	    /* the last level let go: *ended is the hold that ended */
	STORE_HOLDS_LEVEL_RELEASED, /* one level of several (EACH_LEVEL: *ended is that level's) */
	STORE_HOLDS_NOT_HELD,	    /* a release of a tracked object the thread does not hold */
	STORE_HOLDS_SKIPPED,	    /* the re-acquire record of a failed cond wait */
	STORE_HOLDS_EXEC_STASHED,   /* an exec began: the set is empty until it fails */
	STORE_HOLDS_EXEC_RESTORED,  /* the exec failed: the stashed set is back */
	STORE_HOLDS_NO_MEMORY,
};

/* One event, as the set needs it: obj_kind is 0 when the object is unknown. */
struct store_holds_event {
	int kind; /* WEFT_EV_* */
	int obj_kind;
	int64_t obj, ts, ev, stack, arg;
	int64_t tag; /* copied into a new entry */
};

void store_holds_init(struct store_holds *s, unsigned rules, unsigned want, unsigned unwanted);
enum store_holds_what store_holds_apply(struct store_holds *s, const struct store_holds_event *e,
					struct store_hold *ended);
enum store_holds_what store_holds_release(struct store_holds *s, struct store_hold *h,
					  struct store_hold *ended);
void store_holds_drop(struct store_holds *s, struct store_hold *h, struct store_hold *ended);
struct store_hold *store_holds_find(const struct store_holds *s, int64_t obj);
void store_holds_free(struct store_holds *s);

#endif
