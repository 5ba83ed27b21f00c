/*
 * One thread's held set, replayed from that thread's events in program
 * order (docs/ARCHITECTURE.md). Held sets are small (a few locks), so a
 * plain array searched from the innermost end beats any map; the callers'
 * passes read millions of events and call store_holds_apply() for each.
 *
 * The rules every replay shares live here: re-entries count (or, with
 * STORE_HOLDS_EACH_LEVEL, each level is its own entry), an rwlock's read is
 * a shared hold, a release finds the innermost entry of its object, a
 * failed cond wait's re-acquire record acquires nothing, an exec empties
 * the set unless it fails. What is only one caller's stays with it: who
 * else may have released a py.lock (findings), destroyed-and-reused
 * addresses (findings), rows and slices for the holds that ended.
 */
#include "store/store_holds.h"
#include "preload/kinds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* lock.acquire / lock.release arg 2: the mutex side of a cond wait. */
#define ARG_COND 2

/* The STORE_HOLDS_* bits of an object kind (STORE_HOLDS_KINDS); 0 for a kind never held. */
unsigned store_holds_kind_rules(int obj_kind)
{
	switch (obj_kind) {
#define STORE_HOLDS_CASE(kind, held, any_releaser, owned, exclusive)                               \
	case WEFT_OBJ_##kind:                                                                      \
		return (held ? STORE_HOLDS_HELD : 0) |                                             \
		       (any_releaser ? STORE_HOLDS_ANY_RELEASER : 0) |                             \
		       (owned ? STORE_HOLDS_OWNED : 0) | (exclusive ? STORE_HOLDS_EXCLUSIVE : 0);
		STORE_HOLDS_KINDS(STORE_HOLDS_CASE)
#undef STORE_HOLDS_CASE
	}
	return 0;
}

/*
 * Makes s an empty set with rules (STORE_HOLDS_EACH_LEVEL, ...) that tracks
 * objects whose kind has all the want bits and none of the unwanted ones.
 */
void store_holds_init(struct store_holds *s, unsigned rules, unsigned want, unsigned unwanted)
{
	memset(s, 0, sizeof(*s));
	s->rules = rules;
	/* Decided once per kind: the passes ask for every lock event. */
	for (int k = 1; k < 64; k++) {
		unsigned r = store_holds_kind_rules(k);
		if ((r & want) == want && !(r & unwanted) && r)
			s->tracked |= 1ull << k;
	}
}

/* The innermost entry of obj, or NULL when the set does not hold it. */
struct store_hold *store_holds_find(const struct store_holds *s, int64_t obj)
{
	for (int i = s->n - 1; i >= 0; i--)
		if (s->h[i].obj == obj)
			return &s->h[i];
	return NULL;
}

static int tracked(const struct store_holds *s, int obj_kind)
{
	return obj_kind > 0 && obj_kind < 64 && (s->tracked >> obj_kind & 1);
}

static enum store_holds_what acquire(struct store_holds *s, const struct store_holds_event *e)
{
	if (e->arg == ARG_COND && s->skip_reacquire) {
		s->skip_reacquire = 0;
		return STORE_HOLDS_SKIPPED;
	}
	s->skip_reacquire = 0;
	struct store_hold *held = store_holds_find(s, e->obj);
	if (held && !(s->rules & STORE_HOLDS_EACH_LEVEL)) {
		held->depth++;
		return STORE_HOLDS_REENTERED;
	}
	if (s->n == s->cap) {
		int ncap = s->cap ? s->cap * 2 : 8;
		struct store_hold *n = realloc(s->h, (size_t)ncap * sizeof(*n));
		if (!n)
			return STORE_HOLDS_NO_MEMORY;
		s->h = n;
		s->cap = ncap;
	}
	/* rwlock arg 0 = read (shared); everything else holds exclusively. */
	int excl = !(e->obj_kind == WEFT_OBJ_RWLOCK && e->arg == 0);
	s->h[s->n++] = (struct store_hold){e->obj, e->ts, e->ev, e->stack, excl, 1, e->tag};
	return held ? STORE_HOLDS_REENTERED : STORE_HOLDS_ACQUIRED;
}

/* Removes h (an entry of s) whatever its depth, copied to *ended first. */
void store_holds_drop(struct store_holds *s, struct store_hold *h, struct store_hold *ended)
{
	*ended = *h;
	int i = (int)(h - s->h);
	memmove(&s->h[i], &s->h[i + 1], (size_t)(s->n - i - 1) * sizeof(*h));
	s->n--;
}

/*
 * Lets go of one level of h (an entry of s). Returns STORE_HOLDS_RELEASED
 * with the entry copied to *ended and removed when that was its last level,
 * otherwise STORE_HOLDS_LEVEL_RELEASED (with EACH_LEVEL, h itself is that
 * level: copied to *ended and removed too).
 */
enum store_holds_what store_holds_release(struct store_holds *s, struct store_hold *h,
					  struct store_hold *ended)
{
	if (--h->depth > 0)
		return STORE_HOLDS_LEVEL_RELEASED;
	store_holds_drop(s, h, ended);
	if ((s->rules & STORE_HOLDS_EACH_LEVEL) && store_holds_find(s, ended->obj))
		return STORE_HOLDS_LEVEL_RELEASED;
	return STORE_HOLDS_RELEASED;
}

static enum store_holds_what on_exec(struct store_holds *s, int64_t failed)
{
	if (!failed) {
		/* The image is replaced: its locks are gone, unless the exec fails. */
		free(s->saved);
		s->saved = s->h;
		s->nsaved = s->n;
		s->has_saved = 1;
		s->h = NULL;
		s->n = s->cap = 0;
		return STORE_HOLDS_EXEC_STASHED;
	}
	if (!s->has_saved)
		return STORE_HOLDS_NOTHING;
	free(s->h);
	s->h = s->saved;
	s->n = s->cap = s->nsaved;
	s->saved = NULL;
	s->has_saved = 0;
	return STORE_HOLDS_EXEC_RESTORED;
}

/*
 * Applies one event of the set's thread (events in that thread's order).
 * Returns what it did; for STORE_HOLDS_RELEASED (and LEVEL_RELEASED under
 * EACH_LEVEL) *ended is the hold that ended, no longer in the set.
 * STORE_HOLDS_NO_MEMORY leaves the set as it was.
 */
enum store_holds_what store_holds_apply(struct store_holds *s, const struct store_holds_event *e,
					struct store_hold *ended)
{
	if (s->has_saved && e->kind != WEFT_EV_PROCESS_EXEC) {
		/* Anything after an exec but its failure: the new image runs. */
		free(s->saved);
		s->saved = NULL;
		s->has_saved = 0;
	}
	switch (e->kind) {
	case WEFT_EV_LOCK_ACQUIRE:
	case WEFT_EV_GIL_ACQUIRE:
		return tracked(s, e->obj_kind) ? acquire(s, e) : STORE_HOLDS_NOTHING;
	case WEFT_EV_LOCK_RELEASE:
	case WEFT_EV_GIL_RELEASE: {
		if (!tracked(s, e->obj_kind))
			return STORE_HOLDS_NOTHING;
		struct store_hold *h = store_holds_find(s, e->obj);
		return h ? store_holds_release(s, h, ended) : STORE_HOLDS_NOT_HELD;
	}
	case WEFT_EV_COND_WAIT:
		/* 0 woken, ETIMEDOUT, EOWNERDEAD: the mutex is held again; else it never was let
		 * go. */
		if (s->rules & STORE_HOLDS_COND_FAILURE)
			s->skip_reacquire =
			    e->arg != 0 && e->arg != ETIMEDOUT && e->arg != EOWNERDEAD;
		return STORE_HOLDS_NOTHING;
	case WEFT_EV_PROCESS_EXEC:
		return s->rules & STORE_HOLDS_EXEC ? on_exec(s, e->arg) : STORE_HOLDS_NOTHING;
	}
	return STORE_HOLDS_NOTHING;
}

/* Frees the set's entries (and a stashed set); s is empty afterwards. */
void store_holds_free(struct store_holds *s)
{
	free(s->h);
	free(s->saved);
	s->h = s->saved = NULL;
	s->n = s->cap = s->nsaved = s->has_saved = 0;
}
