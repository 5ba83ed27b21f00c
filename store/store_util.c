/* The helpers of store_util.h that are not inline. */
#include "store/store_util.h"

#include <stdlib.h>

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
