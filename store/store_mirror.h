/*
 * The writer's newest event rows, kept in memory for a reader on another
 * thread (store_mirror.c): the viewer tables' follower reads the rows the
 * writer has just committed from here instead of back through SQLite,
 * which cost it about a third of its time.
 */
#ifndef WEFT_STORE_MIRROR_H
#define WEFT_STORE_MIRROR_H

#include "store/store.h"

#include <stdint.h>

struct store_mirror;

/* Room for cap_rows rows (rounded up to a power of two). NULL without memory. */
struct store_mirror *store_mirror_new(int64_t cap_rows);
void store_mirror_free(struct store_mirror *m);

/*
 * Writer only: rows first_id .. first_id + n - 1 are ev[0 .. n-1], of the
 * threads th[0 .. n-1] (ev.th; pid and tid are not kept). Ids must follow
 * the last put, or the mirror starts over at first_id.
 */
void store_mirror_put(struct store_mirror *m, int64_t first_id, const struct store_event *ev,
		      const int64_t *th, int n);

/*
 * Writer only: row id's arg is now arg in the table too (an UPDATE of one
 * field, which readers may see before or after it commits alike).
 */
void store_mirror_set_arg(struct store_mirror *m, int64_t id, int64_t arg);

/*
 * Writer only: the mirror holds no row from now on, and its memory goes
 * back to the kernel (for memory needed elsewhere).
 */
void store_mirror_release(struct store_mirror *m);

/* Writer only: rows up to id changed in the table; the mirror no longer has them. */
void store_mirror_forget(struct store_mirror *m, int64_t id);

/*
 * Any thread: row id into out and its ev.th into th (out's pid and tid are
 * left as they were). Returns 1 when the mirror had it, unchanged while
 * copied, otherwise 0 (read it through SQLite). A row is only as final as
 * the table's: callers read ids the writer has committed.
 */
int store_mirror_get(const struct store_mirror *m, int64_t id, struct store_event *out,
		     int64_t *th);

/* Any thread: 1 when row id is in the mirror now. */
int store_mirror_has(const struct store_mirror *m, int64_t id);

#endif
