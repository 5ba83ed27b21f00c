/* The helpers of store_util.h that are not inline. */
#include "store/store_util.h"

#include <stdlib.h>
#include <string.h>

void store_bind_changed(sqlite3_stmt *st, int64_t *bound, int *valid, const int64_t *v, int n,
			int nulls)
{
	for (int i = 0; i < n; i++) {
		if (*valid && bound[i] == v[i])
			continue;
		if (nulls && v[i] == INT64_MIN)
			sqlite3_bind_null(st, i + 1);
		else
			sqlite3_bind_int64(st, i + 1, v[i]);
		bound[i] = v[i];
	}
	*valid = 1;
}

void store_sort_nearly(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	unsigned char *a = base, v[STORE_SORT_NEARLY_MAX_SIZE];
	size_t budget = 8 * n + 64;
	if (size > sizeof(v)) {
		qsort(base, n, size, cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		size_t j = i;
		while (j > 0 && cmp(a + (j - 1) * size, a + i * size) > 0)
			j--;
		if (j == i)
			continue;
		if (i - j > budget) {
			qsort(base, n, size, cmp);
			return;
		}
		budget -= i - j;
		memcpy(v, a + i * size, size);
		memmove(a + (j + 1) * size, a + j * size, (i - j) * size);
		memcpy(a + j * size, v, size);
	}
}

void store_sort_tail(void *base, size_t sorted, size_t n, size_t size,
		     int (*cmp)(const void *, const void *))
{
	unsigned char *a = base;
	size_t m = n - sorted;
	if (!m)
		return;
	store_sort_nearly(a + sorted * size, m, size, cmp);
	if (!sorted || cmp(a + (sorted - 1) * size, a + sorted * size) <= 0)
		return;
	unsigned char *tail = malloc(m * size);
	if (!tail) {
		qsort(base, n, size, cmp);
		return;
	}
	memcpy(tail, a + sorted * size, m * size);
	size_t i = sorted, j = m, k = n;
	while (j > 0) {
		if (i > 0 && cmp(a + (i - 1) * size, tail + (j - 1) * size) > 0)
			memcpy(a + --k * size, a + --i * size, size);
		else
			memcpy(a + --k * size, tail + --j * size, size);
	}
	free(tail);
}

void *store_grow(void *items, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return items;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *grown = realloc(items, ncap * size);
	if (grown)
		*cap = ncap;
	return grown;
}
