/* Linear probing with backward-shift deletion; tables double at 50% load. */
#include "tracer/hashmap.h"
#include "store/store_util.h"

#include <stdlib.h>
#include <string.h>

uint64_t hashmap_hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return store_hash_mix64(h);
}

static int u64_grow(struct hashmap_u64 *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct hashmap_u64 n = {calloc(ncap, 8), calloc(ncap, 8), calloc(ncap, 1), ncap, 0};
	if (!n.keys || !n.vals || !n.used) {
		free(n.keys);
		free(n.vals);
		free(n.used);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->used[i])
			hashmap_u64_put(&n, m->keys[i], m->vals[i]);
	hashmap_u64_free(m);
	*m = n;
	return 0;
}

uint64_t *hashmap_u64_get(struct hashmap_u64 *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = store_hash_mix64(key) & mask;; i = (i + 1) & mask) {
		if (!m->used[i])
			return NULL;
		if (m->keys[i] == key)
			return &m->vals[i];
	}
}

int hashmap_u64_put(struct hashmap_u64 *m, uint64_t key, uint64_t val)
{
	if ((m->len + 1) * 2 > m->cap && u64_grow(m) < 0)
		return -1;
	size_t mask = m->cap - 1;
	for (size_t i = store_hash_mix64(key) & mask;; i = (i + 1) & mask) {
		if (!m->used[i]) {
			m->used[i] = 1;
			m->keys[i] = key;
			m->vals[i] = val;
			m->len++;
			return 0;
		}
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
}

void *hashmap_u64_row(struct hashmap_u64 *index, void **items, size_t *n, size_t *cap, size_t size,
		      uint64_t key, int *added)
{
	uint64_t *at = hashmap_u64_get(index, key);
	*added = 0;
	if (at)
		return (char *)*items + *at * size;
	void *grown = store_grow(*items, cap, *n, size);
	if (!grown)
		return NULL;
	*items = grown;
	if (hashmap_u64_put(index, key, *n))
		return NULL;
	void *row = (char *)grown + (*n)++ * size;
	memset(row, 0, size);
	*added = 1;
	return row;
}

void hashmap_u64_free(struct hashmap_u64 *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

static int str_grow(struct hashmap_str *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct hashmap_str n = {calloc(ncap, sizeof(char *)), calloc(ncap, sizeof(size_t)),
				calloc(ncap, 8), ncap, 0};
	if (!n.keys || !n.klens || !n.vals) {
		free(n.keys);
		free(n.klens);
		free(n.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t mask = ncap - 1;
		size_t j = hashmap_hash_bytes(m->keys[i], m->klens[i]) & mask;
		while (n.keys[j])
			j = (j + 1) & mask;
		n.keys[j] = m->keys[i];
		n.klens[j] = m->klens[i];
		n.vals[j] = m->vals[i];
		n.len++;
	}
	free(m->keys);
	free(m->klens);
	free(m->vals);
	*m = n;
	return 0;
}

uint64_t *hashmap_str_get(struct hashmap_str *m, const void *key, size_t klen)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = hashmap_hash_bytes(key, klen) & mask;; i = (i + 1) & mask) {
		if (!m->keys[i])
			return NULL;
		if (m->klens[i] == klen && !memcmp(m->keys[i], key, klen))
			return &m->vals[i];
	}
}

int hashmap_str_put(struct hashmap_str *m, const void *key, size_t klen, uint64_t val)
{
	uint64_t *v = hashmap_str_get(m, key, klen);
	if (v) {
		*v = val;
		return 0;
	}
	if ((m->len + 1) * 2 > m->cap && str_grow(m) < 0)
		return -1;
	char *k = malloc(klen ? klen : 1);
	if (!k)
		return -1;
	memcpy(k, key, klen);
	size_t mask = m->cap - 1;
	size_t i = hashmap_hash_bytes(key, klen) & mask;
	while (m->keys[i])
		i = (i + 1) & mask;
	m->keys[i] = k;
	m->klens[i] = klen;
	m->vals[i] = val;
	m->len++;
	return 0;
}

void hashmap_str_free(struct hashmap_str *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->klens);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
