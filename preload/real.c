/* The one place where real libc/pthread functions are looked up. */
#include "preload/preload.h"

#include <dlfcn.h>
#include <string.h>

struct weft_real_table weft_real;
int weft_real_ready;

/* Condition variables changed ABI in glibc 2.3.2; dlsym alone finds the old one. */
static void *lookup(const char *name)
{
	void *p = NULL;
	if (!strncmp(name, "pthread_cond_", 13))
		p = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	return p;
}

void weft_real_resolve(void)
{
	if (__atomic_load_n(&weft_real_ready, __ATOMIC_ACQUIRE))
		return;
		/* Racing threads compute the same values; the stores are idempotent. */
#define WEFT_REAL_LOOKUP(name, ret, args)                                                          \
	__atomic_store_n((void **)&weft_real.name, lookup(#name), __ATOMIC_RELAXED);
	WEFT_REAL_FUNCS(WEFT_REAL_LOOKUP)
#undef WEFT_REAL_LOOKUP
	__atomic_store_n(&weft_real_ready, 1, __ATOMIC_RELEASE);
}
