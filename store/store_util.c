/* The helpers of store_util.h that are not inline. */
#include "store/store_util.h"

#include <stdlib.h>

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
