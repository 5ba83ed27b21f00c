/*
 * store_util: the small helpers of weft's in-memory tables, the store's and
 * the CLI's (tracer/ links the store), so that each exists once.
 */
#ifndef WEFT_STORE_UTIL_H
#define WEFT_STORE_UTIL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The integer mixer of the open-addressing tables, so that keys differing
 * only in their low or high bits still spread over a power-of-two table:
 * MurmurHash3's 64-bit finalizer (every input bit flips about half the
 * output bits).
 */
static inline uint64_t store_hash_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * The 0-based rank of the p90 among n (n > 0) values in ascending order,
 * by nearest rank: the ceil(0.9 n)-th smallest. The lock p90 of weft
 * report and of the summaries (sum_p90) both rank this way.
 */
static inline int64_t store_p90_rank(int64_t n)
{
	return (9 * n + 9) / 10 - 1;
}

/*
 * Room for one more of n elements of `size` bytes in items: items itself
 * while n < *cap, otherwise items reallocated to twice the room (16 at
 * first) with *cap updated. On failure (out of memory) returns NULL and
 * items and *cap stay as they were.
 */
void *store_grow(void *items, size_t *cap, size_t n, size_t size);

/* The largest element store_sort_nearly takes. */
#define STORE_SORT_NEARLY_MAX_SIZE 64

/*
 * Sorts base[0, n), elements of size bytes (at most
 * STORE_SORT_NEARLY_MAX_SIZE), by cmp as qsort does, in time
 * proportional to n when they are nearly in order already: intervals kept
 * in the order they ended, sorted by start, move only past the few that
 * ended while they were open. An insertion sort that hands over to qsort
 * once it has moved 8 elements per element (a long interval among
 * thousands of short ones); qsort's merge sort was a tenth of the viewer
 * builder's time on the OpenSSL burst.
 */
void store_sort_nearly(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/*
 * Sorts base[0, n), whose first `sorted` elements are in cmp's order
 * already: the others (a step's worth beside a long sorted run) by
 * store_sort_nearly, then merged in from the back, only they copied
 * aside. Sorting the whole buffer at each step was a tenth of the
 * occupancy follower's time, and a third of the OpenSSL burst's builder
 * for the holds one long hold keeps back. Without memory for the copy, a
 * qsort of it all: the same order.
 */
void store_sort_tail(void *base, size_t sorted, size_t n, size_t size,
		     int (*cmp)(const void *, const void *));

/*
 * Binds v[0, n) to st's parameters 1..n, each only when it differs from
 * bound[i], what that parameter holds since the last call (a reset keeps
 * bindings), or every one when *valid is 0; then bound holds v and *valid
 * is 1. With nulls, INT64_MIN binds NULL. A many-row insert's rows often
 * repeat most of their values: one bind per row instead of seven on the
 * lock microbenchmark's events.
 */
void store_bind_changed(sqlite3_stmt *st, int64_t *bound, int *valid, const int64_t *v, int n,
			int nulls);

#endif
