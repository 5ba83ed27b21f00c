/*
 * The writer's newest rows in memory (store_mirror.h).
 *
 * A ring of rows indexed by id: row id lives in slot id & mask while the
 * mirror holds it. One writer, any number of readers, no lock. The writer
 * only ever adds rows with the next ids; before it overwrites the slots
 * of older rows it raises valid_from past them, and when it has to start
 * over (ids that do not follow, rows changed in the table) it changes the
 * generation. A reader copies a slot and then looks again: if valid_from
 * passed the row or the generation changed meanwhile, its copy may be
 * torn and it reads the row through SQLite instead. The release fence
 * between the writer's raise and its slot writes, and the acquire fence
 * between the reader's copy and its second look, make that second look
 * see the raise whenever the copy saw any of the writes that followed it.
 * Every slot field is a relaxed atomic, so nothing here is a data race.
 */
#include "store/store_mirror.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* 40 bytes: the thread as ev.th (thread_no) and the kind in one word. */
struct mirror_row {
	int64_t ts_ns, object_id, wait_ns, arg;
	int32_t stack_id;
	uint32_t th_kind; /* th << 8 | kind */
};

struct store_mirror {
	struct mirror_row *rows;
	int64_t mask;
	int released; /* writer only: store_mirror_release() was called */
	/* rows valid_from .. valid_to are in the ring; empty when from > to */
	int64_t valid_from, valid_to;
	uint64_t generation;
};

#define LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)

struct store_mirror *store_mirror_new(int64_t cap_rows)
{
	int64_t cap = 1024;
	while (cap < cap_rows)
		cap *= 2;
	struct store_mirror *m = calloc(1, sizeof(*m));
	/* calloc: pages the writer never reaches are never touched */
	if (m && !(m->rows = calloc((size_t)cap, sizeof(*m->rows)))) {
		free(m);
		return NULL;
	}
	if (!m)
		return NULL;
	m->mask = cap - 1;
	m->valid_from = 1;
	m->valid_to = 0;
	return m;
}

void store_mirror_free(struct store_mirror *m)
{
	if (!m)
		return;
	free(m->rows);
	free(m);
}

void store_mirror_put(struct store_mirror *m, int64_t first_id, const struct store_event *ev,
		      const int64_t *th, int n)
{
	if (n <= 0 || m->released)
		return;
	for (int i = 0; i < n; i++) {
		if (ev[i].stack_id < 0 || ev[i].stack_id > INT32_MAX || th[i] < 0 ||
		    th[i] >= 1 << 24 || ev[i].kind < 0 || ev[i].kind > 255) {
			/* a row the compact form cannot hold: these come from the table */
			store_mirror_forget(m, INT64_MAX);
			return;
		}
	}
	int64_t last = first_id + n - 1;
	if (m->valid_from > m->valid_to || first_id != m->valid_to + 1) {
		/*
		 * Start over. The generation first: a reader that sees the new
		 * bounds then sees it change between its two looks.
		 */
		STORE(&m->generation, m->generation + 1);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		STORE(&m->valid_to, first_id - 1);
		STORE(&m->valid_from, first_id);
	}
	if (last - m->mask > m->valid_from)
		STORE(&m->valid_from, last - m->mask);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (int i = 0; i < n; i++) {
		struct mirror_row *s = &m->rows[(first_id + i) & m->mask];
		const struct store_event *e = &ev[i];
		STORE(&s->ts_ns, e->ts_ns);
		STORE(&s->object_id, e->object_id);
		STORE(&s->wait_ns, e->wait_ns);
		STORE(&s->arg, e->arg);
		STORE(&s->stack_id, (int32_t)e->stack_id);
		STORE(&s->th_kind, (uint32_t)th[i] << 8 | (uint32_t)e->kind);
	}
	__atomic_store_n(&m->valid_to, last, __ATOMIC_RELEASE);
}

void store_mirror_forget(struct store_mirror *m, int64_t id)
{
	if (id >= m->valid_to) {
		/* everything: the next put starts over */
		__atomic_store_n(&m->valid_from, INT64_MAX, __ATOMIC_RELEASE);
		return;
	}
	if (id + 1 > m->valid_from)
		__atomic_store_n(&m->valid_from, id + 1, __ATOMIC_RELEASE);
}

void store_mirror_set_arg(struct store_mirror *m, int64_t id, int64_t arg)
{
	/* one field, atomic: a reader gets the old value or the new, never a mix */
	if (m->valid_from <= id && id <= m->valid_to)
		__atomic_store_n(&m->rows[id & m->mask].arg, arg, __ATOMIC_RELEASE);
}

void store_mirror_release(struct store_mirror *m)
{
	if (m->released)
		return;
	store_mirror_forget(m, INT64_MAX);
	m->released = 1;
	/*
	 * The pages back to the kernel. A reader still copying a row reads
	 * zeros, which its second look (valid_from) discards.
	 */
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)m->rows + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	uintptr_t b = ((uintptr_t)(m->rows + m->mask + 1)) & ~((uintptr_t)page - 1);
	if (page > 0 && b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

int store_mirror_has(const struct store_mirror *m, int64_t id)
{
	return __atomic_load_n(&m->valid_from, __ATOMIC_ACQUIRE) <= id &&
	       id <= __atomic_load_n(&m->valid_to, __ATOMIC_ACQUIRE);
}

int store_mirror_get(const struct store_mirror *m, int64_t id, struct store_event *out, int64_t *th)
{
	uint64_t gen = __atomic_load_n(&m->generation, __ATOMIC_ACQUIRE);
	if (!store_mirror_has(m, id))
		return 0;
	const struct mirror_row *s = &m->rows[id & m->mask];
	out->ts_ns = LOAD(&s->ts_ns);
	out->object_id = LOAD(&s->object_id);
	out->wait_ns = LOAD(&s->wait_ns);
	out->arg = LOAD(&s->arg);
	out->stack_id = LOAD(&s->stack_id);
	uint32_t th_kind = LOAD(&s->th_kind);
	out->kind = (int32_t)(th_kind & 0xff);
	*th = th_kind >> 8;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return LOAD(&m->generation) == gen && LOAD(&m->valid_from) <= id;
}
