/*
 * The sem_t worth recording in a Python process: a leaf of the library
 * (the hooks, the Python layer and its lock types all ask it, it asks
 * nobody).
 *
 * In a Python process most sem_t are the interpreter's own (import locks,
 * thread start/join handshakes, the internals of Condition and Queue).
 * Only the ones the user's code made (threading.Lock/RLock), named
 * semaphores and semaphores created outside Python are recorded. Inserts
 * happen under the GIL or in sem_init; lookups come from any thread, so
 * the table is lock-free with tombstones.
 */
#include "preload/preload.h"

#include <stdint.h>

#define PYSEM_SIZE 65536
#define PYSEM_TOMB ((uintptr_t)1)
static uintptr_t pysem[PYSEM_SIZE];

static size_t pysem_hash(uintptr_t k)
{
	return (size_t)((k >> 4) * 0x9e3779b97f4a7c15ull >> 40) & (PYSEM_SIZE - 1);
}

/*
 * The slot holding sem, or NULL. The probe ends at the first never-used
 * slot; insert takes the first free one (never used or a tombstone) instead.
 */
static uintptr_t *pysem_slot(const void *sem, int insert)
{
	uintptr_t k = (uintptr_t)sem;
	size_t h = pysem_hash(k);
	for (size_t i = 0; i < PYSEM_SIZE; i++) {
		uintptr_t *slot = &pysem[(h + i) & (PYSEM_SIZE - 1)];
		uintptr_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		if (cur == k)
			return slot;
		if (insert && (cur == 0 || cur == PYSEM_TOMB) &&
		    __atomic_compare_exchange_n(slot, &cur, k, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return slot;
		if (!insert && cur == 0)
			return NULL;
	}
	return NULL;
}

/* A full table drops sem: it goes unrecorded. */
void weft_pysem_add(const void *sem)
{
	pysem_slot(sem, 1);
}

int weft_pysem_has(const void *sem)
{
	return pysem_slot(sem, 0) != NULL;
}

unsigned long weft_pysem_gen;

void weft_pysem_del(const void *sem)
{
	uintptr_t *slot = pysem_slot(sem, 0);
	if (slot) {
		__atomic_store_n(slot, PYSEM_TOMB, __ATOMIC_RELEASE);
		/* After the tombstone: whoever reads the new generation probes without sem. */
		__atomic_fetch_add(&weft_pysem_gen, 1, __ATOMIC_RELEASE);
	}
}
