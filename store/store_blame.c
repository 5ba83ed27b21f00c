/*
 * Blame chains (store_blame.h). Everything is read through the derived
 * tables' indexes: the longest waits from thread_spans, the holders at an
 * instant from object_holds (keyed by object and start) bounded by
 * object_stats.max_hold_ns, a holder's state from thread_spans' key. Whoever held the object last
 * during the wait (the one that handed it over) is who the thread waited
 * for; that holder is then looked at in the middle of that stretch.
 */
#include "store/store_blame.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define END_KEY(name, key, text) [STORE_BLAME_##name] = key,
#define END_TEXT(name, key, text) [STORE_BLAME_##name] = text,
static const char *const end_keys[] = {STORE_BLAME_ENDS(END_KEY)};
static const char *const end_texts[] = {STORE_BLAME_ENDS(END_TEXT)};
#undef END_KEY
#undef END_TEXT

const char *store_blame_end_key(enum store_blame_end end)
{
	return end < STORE_BLAME_END__COUNT ? end_keys[end] : "?";
}

const char *store_blame_end_text(enum store_blame_end end)
{
	return end < STORE_BLAME_END__COUNT ? end_texts[end] : "?";
}

/* States whose object has holders to blame. */
static int held_state(int state)
{
	return state == STORE_STATE_LOCK || state == STORE_STATE_GIL;
}

struct store_blame_reader {
	sqlite3_stmt *holder, *state_at, *kind, *turns;
	sqlite3_stmt *ev_ts, *ev_last, *waker, *event_at; /* the events, for the wakers */
	sqlite3_stmt *ending;				  /* the event that ended a wait */
};

/*
 * Rows a search for the event that ended a wait reads back from the
 * wait's end at most: what ends a wait comes just before it ends, and a
 * wait across millions of other events must not read them all.
 */
#define WAKER_SCAN_ROWS 1000000
/* Rows before a wait's end searched for the event that ended it. */
#define ENDING_SCAN_ROWS 65536

/* A semaphore is posted by whoever: nobody holds it (it has no holds). */
static int ownerless(struct store_blame_reader *q, int64_t obj)
{
	sqlite3_bind_int64(q->kind, 1, obj);
	int kind = sqlite3_step(q->kind) == SQLITE_ROW ? sqlite3_column_int(q->kind, 0) : 0;
	sqlite3_reset(q->kind);
	return kind == WEFT_OBJ_SEMAPHORE || kind == WEFT_OBJ_PY_SEMAPHORE;
}

/*
 * Who kept obj from a thread (waiter, 0: any) waiting over [lo, t]: of the
 * holds by other threads overlapping that stretch, the one that ended last (the
 * holder that handed it over, or holds it still). 1 with *tid, *from and
 * *until, 0 when none, -1 on error.
 */
static int holder_during(struct store_blame_reader *q, int64_t obj, int64_t lo, int64_t t,
			 int32_t waiter, int32_t *tid, int64_t *from, int64_t *until)
{
	sqlite3_stmt *st = q->holder;
	sqlite3_bind_int64(st, 1, obj);
	sqlite3_bind_int64(st, 2, t);
	sqlite3_bind_int64(st, 3, lo);
	sqlite3_bind_int(st, 4, waiter);
	int rc = sqlite3_step(st);
	int found = rc == SQLITE_ROW;
	if (found) {
		*tid = sqlite3_column_int(st, 0);
		*from = sqlite3_column_int64(st, 1);
		*until = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return found ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The id of ev's last row at or before time t, by bisection over ids (a
 * complete trace's rows are in time order, its ids dense); 0 when there
 * is none, or when ev is not readable so (a row missing).
 */
static int64_t row_at(struct store_blame_reader *q, int64_t t)
{
	int64_t lo = 0, hi = 0;
	if (sqlite3_step(q->ev_last) == SQLITE_ROW)
		hi = sqlite3_column_int64(q->ev_last, 0);
	sqlite3_reset(q->ev_last);
	/* invariant: row lo (0: before the first) is at or before t, rows after hi are after it */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo + 1) / 2;
		sqlite3_bind_int64(q->ev_ts, 1, mid);
		int found = sqlite3_step(q->ev_ts) == SQLITE_ROW;
		int64_t ts = found ? sqlite3_column_int64(q->ev_ts, 0) : 0;
		sqlite3_reset(q->ev_ts);
		if (!found)
			return 0;
		if (ts <= t)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* The events that end a wait in state (on an object nobody holds): 1 with both kinds, else 0. */
static int waking_kinds(int state, int *k1, int *k2)
{
	switch (state) {
	case STORE_STATE_COND:
		*k1 = WEFT_EV_COND_SIGNAL;
		*k2 = WEFT_EV_COND_BROADCAST;
		return 1;
	case STORE_STATE_QUEUE: /* mostly a get waiting for a put */
		*k1 = *k2 = WEFT_EV_QUEUE_PUT;
		return 1;
	case STORE_STATE_WAIT:
	case STORE_STATE_EVENT:
		*k1 = WEFT_EV_EVENT_SET;
		*k2 = WEFT_EV_FUTEX_WAKE;
		return 1;
	case STORE_STATE_LOCK: /* a semaphore: its post */
		*k1 = *k2 = WEFT_EV_LOCK_RELEASE;
		return 1;
	}
	return 0;
}

/*
 * The thread that ended waiter's wait in state on obj over [lo, until]:
 * the last waking event (waking_kinds) another thread of the process made
 * on obj in that stretch. 1 with l's obj, tid, held_from (the event's
 * time), wake_kind and wake_stack; 0 when none was found; -1 on error.
 */
static int waker_during(struct store_blame_reader *q, int32_t pid, int64_t obj, int state,
			int64_t lo, int64_t until, int32_t waiter, struct store_blame_link *l)
{
	int k1, k2;
	if (!waking_kinds(state, &k1, &k2))
		return 0;
	int64_t last = row_at(q, until), first = row_at(q, lo - 1) + 1;
	if (!last)
		return 0;
	if (last - first > WAKER_SCAN_ROWS)
		first = last - WAKER_SCAN_ROWS;
	sqlite3_stmt *st = q->waker;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, obj);
	sqlite3_bind_int(st, 4, k1);
	sqlite3_bind_int(st, 5, k2);
	sqlite3_bind_int(st, 6, pid);
	sqlite3_bind_int(st, 7, waiter);
	/* an unfinished trace's rows are in time order only per thread */
	sqlite3_bind_int64(st, 8, lo);
	sqlite3_bind_int64(st, 9, until);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		l->obj = obj;
		l->tid = sqlite3_column_int(st, 0);
		l->held_from = sqlite3_column_int64(st, 1);
		l->wake_kind = sqlite3_column_int(st, 2);
		l->wake_stack = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Whether waiter's wait on obj that ended at until ended at its deadline: a
 * cond wait or a timed lock that returned ETIMEDOUT, an Event.wait that
 * returned False. 1 if so, 0 if not (or no such event), -1 on error.
 */
static int timed_out(struct store_blame_reader *q, int32_t pid, int32_t waiter, int64_t obj,
		     int64_t until)
{
	/*
	 * The rows at the wait's end, and some before them (an unfinished
	 * trace's rows are in time order only per thread): not a million
	 * rows back for a wait whose end no such event marks.
	 */
	int64_t last = row_at(q, until), first = row_at(q, until - 1) + 1 - ENDING_SCAN_ROWS;
	if (!last)
		return 0;
	sqlite3_stmt *st = q->ending;
	sqlite3_bind_int64(st, 1, first > 1 ? first : 1);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int(st, 3, pid);
	sqlite3_bind_int(st, 4, waiter);
	sqlite3_bind_int64(st, 5, obj);
	sqlite3_bind_int64(st, 6, until);
	int rc = sqlite3_step(st), yes = 0;
	if (rc == SQLITE_ROW) {
		int kind = sqlite3_column_int(st, 0);
		int64_t arg = sqlite3_column_int64(st, 1);
		yes = ((kind == WEFT_EV_COND_WAIT || kind == WEFT_EV_LOCK_FAIL) &&
		       arg == ETIMEDOUT) ||
		      (kind == WEFT_EV_EVENT_WAIT && arg == 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? yes : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The stack of the event thread (pid, tid) began a state with at from
 * (a state begins just after its event: a span starts 1 ns after the
 * gil.release that began it). 0: none found.
 */
static int64_t stack_at(struct store_blame_reader *q, int32_t pid, int32_t tid, int64_t from)
{
	int64_t last = row_at(q, from), first = row_at(q, from - 2) + 1, stack = 0;
	if (!last || first > last)
		return 0;
	sqlite3_stmt *st = q->event_at;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int(st, 3, pid);
	sqlite3_bind_int(st, 4, tid);
	if (sqlite3_step(st) == SQLITE_ROW)
		stack = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return stack;
}

/* What thread (pid, tid) was doing at t: 1 and the link's state fields, 0 when not alive. */
static int state_at(struct store_blame_reader *q, int32_t pid, struct store_blame_link *l,
		    int64_t t)
{
	sqlite3_stmt *st = q->state_at;
	sqlite3_bind_int(st, 1, pid);
	sqlite3_bind_int(st, 2, l->tid);
	sqlite3_bind_int64(st, 3, t);
	int rc = sqlite3_step(st);
	int found = rc == SQLITE_ROW;
	if (found) {
		l->state = sqlite3_column_int(st, 0);
		l->state_from = sqlite3_column_int64(st, 1);
		l->state_obj =
		    sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
		l->state_until = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	return found ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Follows who held b's object during the wait, then what that holder was
 * doing while it did, and so on. A finished wait on something nobody holds
 * goes on to the thread that ended it and what that one did meanwhile. A
 * thread off the GIL (in a call that let go of it) ends the chain as a
 * running one does. With at >= 0 everything is looked at at that one
 * instant instead: the holds covering it, the holders' states then (and
 * no wait has ended yet). Returns 0, or -1 on error.
 */
static int follow(struct store_blame_reader *q, struct store_blame *b, int64_t at)
{
	int64_t t = at >= 0 ? at : b->end_ns - 1, lo = at >= 0 ? at : b->start_ns, obj = b->obj;
	int64_t until = b->end_ns; /* the end of the wait being followed */
	/*
	 * At an instant only a thread that deadlocked on itself holds what it
	 * waits for: not ruled out, it shows as a cycle.
	 */
	int32_t waiter = at >= 0 ? 0 : b->tid;
	int state = b->state;
	/* the chain's threads, and when the wait the chain follows each through began */
	int32_t seen[STORE_BLAME_DEPTH + 1];
	int64_t seen_from[STORE_BLAME_DEPTH + 1];
	int nseen = 0;
	seen_from[nseen] = lo;
	seen[nseen++] = b->tid;
	b->nlinks = 0;
	for (;;) {
		int held = held_state(state) && obj && !ownerless(q, obj);
		if (!held && (at >= 0 || !obj || state == STORE_STATE_GIL)) {
			b->end = STORE_BLAME_NO_OWNER;
			return 0;
		}
		if (b->nlinks == STORE_BLAME_DEPTH) {
			b->end = STORE_BLAME_DEEP;
			return 0;
		}
		struct store_blame_link *l = &b->links[b->nlinks];
		memset(l, 0, sizeof(*l));
		l->obj = obj;
		int64_t hold_until = 0;
		int r =
		    held ? holder_during(q, obj, lo, t, waiter, &l->tid, &l->held_from, &hold_until)
			 : waker_during(q, b->pid, obj, state, lo, until, waiter, l);
		if (r == 0 && !held && at < 0 && waiter) {
			/* nobody ended it: its deadline may have */
			int expired = timed_out(q, b->pid, waiter, obj, until);
			if (expired) {
				b->end = STORE_BLAME_TIMED_OUT;
				return expired < 0 ? -1 : 0;
			}
		}
		if (r <= 0) {
			b->end = held ? STORE_BLAME_NO_HOLDER : STORE_BLAME_NO_OWNER;
			return r;
		}
		b->nlinks++;
		l->held_until = held ? hold_until : 0;
		/*
		 * A thread that ended a wait it caused is no deadlock: the depth
		 * bounds those. Nor is one that let go before its own wait began
		 * (a cond wait lets go of its mutex): the lock was free, and the
		 * waiter had not taken it yet.
		 */
		for (int i = 0; held && i < nseen; i++) {
			if (seen[i] == l->tid) {
				b->end = hold_until > seen_from[i] ? STORE_BLAME_CYCLE
								   : STORE_BLAME_FREED;
				return 0;
			}
		}
		seen[nseen++] = l->tid;
		/*
		 * What it did while it kept the waiter waiting: at the middle of
		 * its hold's overlap with the wait (just before it let go it runs,
		 * to let go), or of the wait up to its signal. At an instant that
		 * is the instant.
		 */
		int64_t a = held && l->held_from > lo ? l->held_from : lo,
			z = held ? (hold_until - 1 < t ? hold_until - 1 : t) : l->held_from - 1;
		if (z < a)
			z = a;
		t = a + (z - a) / 2;
		r = state_at(q, b->pid, l, t);
		/* a thread that ended the wait may have started after its middle: just before its
		 * act */
		if (r == 0 && !held && l->held_from > lo)
			r = state_at(q, b->pid, l, t = l->held_from - 1);
		/*
		 * Its act itself (a put that blocked a moment) says nothing of what it
		 * did meanwhile: what it did before, or running when nothing was.
		 */
		if (r > 0 && !held && l->state_obj == obj && l->state_until >= l->held_from) {
			int64_t act = l->state_from;
			r = act > lo ? state_at(q, b->pid, l, t = act - 1) : 0;
			if (r == 0) {
				l->state = STORE_STATE_RUNNING;
				l->state_from = act;
				l->state_obj = 0;
				r = 1;
			}
		}
		if (r <= 0) {
			b->end = STORE_BLAME_ENDED;
			return r;
		}
		if (at < 0 && l->state == STORE_STATE_OFF_GIL)
			l->state_stack = stack_at(q, b->pid, l->tid, l->state_from);
		if (l->state == STORE_STATE_RUNNING || l->state == STORE_STATE_OFF_GIL) {
			b->end = STORE_BLAME_RUNNING;
			return 0;
		}
		state = l->state;
		obj = l->state_obj;
		lo = at >= 0 ? at : l->state_from;
		seen_from[nseen - 1] = lo;
		until = l->state_until;
		waiter = at >= 0 ? 0 : l->tid;
	}
}

void store_blame_reader_close(struct store_blame_reader *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->holder);
	sqlite3_finalize(r->turns);
	sqlite3_finalize(r->state_at);
	sqlite3_finalize(r->kind);
	sqlite3_finalize(r->ev_ts);
	sqlite3_finalize(r->ev_last);
	sqlite3_finalize(r->waker);
	sqlite3_finalize(r->event_at);
	sqlite3_finalize(r->ending);
	free(r);
}

/*
 * On success returns a reader of the derived tables db sees (as
 * store_blame_longest does), to close with store_blame_reader_close();
 * otherwise NULL (sqlite3_errmsg(db), or out of memory).
 */
struct store_blame_reader *store_blame_reader_open(sqlite3 *db)
{
	struct store_blame_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (sqlite3_prepare_v3(db,
			       "SELECT tid, start_ns, end_ns FROM object_holds WHERE object_id = ?1"
			       " AND start_ns <= ?2 AND start_ns >= ?3 - (SELECT coalesce(max("
			       "max_hold_ns), 0) FROM object_stats WHERE object_id = ?1)"
			       " AND end_ns > ?3 AND tid <> ?4 ORDER BY end_ns DESC, start_ns"
			       " LIMIT 1",
			       -1, SQLITE_PREPARE_PERSISTENT, &r->holder, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(
		db,
		"SELECT tid, max(start_ns, ?2), min(end_ns, ?3) FROM object_holds"
		" WHERE object_id = ?1 AND start_ns < ?3 AND start_ns >= ?2 - (SELECT"
		" coalesce(max(max_hold_ns), 0) FROM object_stats WHERE object_id ="
		" ?1) AND end_ns > ?2 AND tid <> ?4 ORDER BY start_ns",
		-1, SQLITE_PREPARE_PERSISTENT, &r->turns, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(
		db,
		"SELECT state, start_ns, object_id, end_ns FROM thread_spans WHERE pid = ?1"
		" AND tid = ?2 AND end_ns > ?3 AND start_ns <= ?3 ORDER BY end_ns"
		" LIMIT 1",
		-1, SQLITE_PREPARE_PERSISTENT, &r->state_at, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "SELECT kind FROM main.obj WHERE object_id = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &r->kind, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "SELECT ts FROM main.ev WHERE id = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &r->ev_ts, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "SELECT max(id) FROM main.ev", -1, SQLITE_PREPARE_PERSISTENT,
			       &r->ev_last, NULL) != SQLITE_OK ||
	    /* backwards from the wait's end: the last such event before it ended */
	    sqlite3_prepare_v3(db,
			       "SELECT t.tid, e.ts, e.kind, coalesce(e.stack, 0) FROM main.ev e"
			       " JOIN main.thread_no t ON t.th = e.th WHERE e.id BETWEEN ?1 AND ?2"
			       " AND e.obj = ?3 AND e.kind IN (?4, ?5) AND t.pid = ?6"
			       " AND t.tid <> ?7 AND e.ts BETWEEN ?8 AND ?9 ORDER BY e.id DESC"
			       " LIMIT 1",
			       -1, SQLITE_PREPARE_PERSISTENT, &r->waker, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db,
			       "SELECT e.kind, e.arg FROM main.ev e JOIN main.thread_no t ON t.th ="
			       " e.th WHERE e.id BETWEEN ?1 AND ?2 AND t.pid = ?3 AND t.tid = ?4"
			       " AND e.obj = ?5 AND e.ts = ?6 ORDER BY e.id DESC LIMIT 1",
			       -1, SQLITE_PREPARE_PERSISTENT, &r->ending, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(
		db,
		"SELECT e.stack FROM main.ev e JOIN main.thread_no t ON t.th = e.th"
		" WHERE e.id BETWEEN ?1 AND ?2 AND t.pid = ?3 AND t.tid = ?4"
		" AND e.stack IS NOT NULL AND e.stack <> 0 ORDER BY e.id DESC LIMIT 1",
		-1, SQLITE_PREPARE_PERSISTENT, &r->event_at, NULL) != SQLITE_OK) {
		store_blame_reader_close(r);
		return NULL;
	}
	return r;
}

/*
 * The chain of the wait thread (pid, tid) is in at instant at, all of it
 * as things stand at that instant: who holds the object then, what that
 * holder is doing then, and on. A thread holding what it waits for ends
 * the chain as a cycle. On success returns 1 with *out filled (start_ns:
 * since when it waits; end_ns: at + 1), or 0 when the thread is running or
 * not alive at that instant; otherwise -1 (sqlite3_errmsg of r's db).
 */
/*
 * out as the wait thread (pid, tid) is in at instant at, from the state
 * it is in then (*self: its span). 1, 0 when it runs or is not alive
 * then, -1 on error.
 */
static int wait_at(struct store_blame_reader *r, int32_t pid, int32_t tid, int64_t at,
		   struct store_blame *out, struct store_blame_link *self)
{
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	*self = (struct store_blame_link){.tid = tid};
	int found = state_at(r, pid, self, at);
	if (found <= 0 || self->state == STORE_STATE_RUNNING)
		return found < 0 ? -1 : 0;
	out->tid = tid;
	out->state = self->state;
	out->obj = self->state_obj;
	out->start_ns = self->state_from;
	return 1;
}

int store_blame_at(struct store_blame_reader *r, int32_t pid, int32_t tid, int64_t at,
		   struct store_blame *out)
{
	struct store_blame_link self;
	int found = wait_at(r, pid, tid, at, out, &self);
	if (found <= 0)
		return found;
	out->end_ns = at + 1;
	return follow(r, out, at) ? -1 : 1;
}

int store_blame_whole(struct store_blame_reader *r, int32_t pid, int32_t tid, int64_t at,
		      struct store_blame *out)
{
	struct store_blame_link self;
	int found = wait_at(r, pid, tid, at, out, &self);
	if (found <= 0 || self.state == STORE_STATE_OFF_GIL)
		return found < 0 ? -1 : 0;
	out->end_ns = self.state_until;
	return follow(r, out, -1) ? -1 : 1;
}

/*
 * b's turns (store_blame.h): the holds of its object by other threads that
 * overlap the wait, by start; the time covered is their union (readers of
 * an rwlock hold it together). Returns 0, or -1 on error.
 */
static int turns(struct store_blame_reader *q, struct store_blame *b)
{
	struct turn {
		int32_t tid;
		int64_t ns;
	} *per = NULL;
	size_t n = 0, cap = 0;
	int64_t covered = 0, reach = b->start_ns;
	sqlite3_stmt *st = q->turns;
	sqlite3_bind_int64(st, 1, b->obj);
	sqlite3_bind_int64(st, 2, b->start_ns);
	sqlite3_bind_int64(st, 3, b->end_ns);
	sqlite3_bind_int(st, 4, b->tid);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int32_t tid = sqlite3_column_int(st, 0);
		int64_t from = sqlite3_column_int64(st, 1), until = sqlite3_column_int64(st, 2);
		if (until > reach) {
			covered += until - (from > reach ? from : reach);
			reach = until;
		}
		size_t i = 0;
		while (i < n && per[i].tid != tid)
			i++;
		if (i == n) {
			if (n == cap) {
				struct turn *grown =
				    realloc(per, (cap = cap ? cap * 2 : 16) * sizeof(*per));
				if (!grown) {
					rc = SQLITE_NOMEM;
					break;
				}
				per = grown;
			}
			per[n++] = (struct turn){tid, 0};
		}
		per[i].ns += until - from;
	}
	sqlite3_reset(st);
	b->turn_holders = (int)n;
	b->turn_held_ns = covered;
	for (size_t i = 0; i < n; i++) {
		if (per[i].ns > b->turn_top_ns) {
			b->turn_top_ns = per[i].ns;
			b->turn_top_tid = per[i].tid;
		}
	}
	free(per);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_blame_longest(sqlite3 *db, struct store_blame *out, int max)
{
	struct store_blame_reader *q = store_blame_reader_open(db);
	sqlite3_stmt *waits = NULL;
	int n = 0, failed = 0;
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT pid, tid, state, start_ns, end_ns, object_id FROM thread_spans"
		 " WHERE object_id IS NOT NULL AND state IN (%d, %d, %d, %d, %d, %d, %d, %d)"
		 " ORDER BY end_ns - start_ns DESC, start_ns, tid LIMIT ?1",
		 STORE_STATE_LOCK, STORE_STATE_GIL, STORE_STATE_QUEUE, STORE_STATE_COND,
		 STORE_STATE_BARRIER, STORE_STATE_JOIN, STORE_STATE_EVENT, STORE_STATE_WAIT);
	if (!q || sqlite3_prepare_v2(db, sql, -1, &waits, NULL) != SQLITE_OK) {
		failed = 1;
		goto out;
	}
	sqlite3_bind_int(waits, 1, max);
	int rc = SQLITE_DONE;
	while (n < max && (rc = sqlite3_step(waits)) == SQLITE_ROW) {
		struct store_blame *b = &out[n];
		memset(b, 0, sizeof(*b));
		b->pid = sqlite3_column_int(waits, 0);
		b->tid = sqlite3_column_int(waits, 1);
		b->state = sqlite3_column_int(waits, 2);
		b->start_ns = sqlite3_column_int64(waits, 3);
		b->end_ns = sqlite3_column_int64(waits, 4);
		b->obj = sqlite3_column_int64(waits, 5);
		if (follow(q, b, -1) ||
		    (held_state(b->state) && b->obj && !ownerless(q, b->obj) && turns(q, b))) {
			failed = 1;
			goto out;
		}
		n++;
	}
	if (n < max && rc != SQLITE_DONE)
		failed = 1;
out:
	sqlite3_finalize(waits);
	store_blame_reader_close(q);
	return failed ? -1 : n;
}
