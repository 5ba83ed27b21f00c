/* hashmap: small open-addressing maps used by the collector. */
#ifndef WEFT_HASHMAP_H
#define WEFT_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

/* uint64 -> uint64. */
struct hashmap_u64 {
	uint64_t *keys, *vals;
	uint8_t *used;
	size_t cap, len;
};

/* Returns a pointer to the value of key, or NULL when absent. */
uint64_t *hashmap_u64_get(struct hashmap_u64 *m, uint64_t key);
/* Inserts or replaces; returns 0, or -1 when out of memory. */
int hashmap_u64_put(struct hashmap_u64 *m, uint64_t key, uint64_t val);
/* Removes key if present. */
void hashmap_u64_free(struct hashmap_u64 *m);

/*
 * Records kept in an array in the order they were added and found by key
 * through index (key -> position): the record of key, or a new one, zeroed,
 * added at the end (*added 1, else 0). *items holds *n records of `size`
 * bytes in room for *cap. NULL when out of memory.
 */
void *hashmap_u64_row(struct hashmap_u64 *index, void **items, size_t *n, size_t *cap, size_t size,
		      uint64_t key, int *added);

/* byte string -> uint64 (keys are copied). */
struct hashmap_str {
	char **keys;
	size_t *klens;
	uint64_t *vals;
	size_t cap, len;
};

uint64_t *hashmap_str_get(struct hashmap_str *m, const void *key, size_t klen);
int hashmap_str_put(struct hashmap_str *m, const void *key, size_t klen, uint64_t val);
void hashmap_str_free(struct hashmap_str *m);

uint64_t hashmap_hash_bytes(const void *p, size_t n);

#endif
