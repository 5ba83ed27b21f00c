/*
 * The one debug facility: WEFT_DEBUG=domain,... (or 1 / all for every
 * domain) turns on lines on stderr that say where time went. Domains are
 * listed in store_debug.c's table and in docs/DESIGN.md.
 */
#ifndef WEFT_STORE_DEBUG_H
#define WEFT_STORE_DEBUG_H

#include <stdbool.h>
#include <stdint.h>

/* True when WEFT_DEBUG names domain (read once; thread-safe after the first call). */
bool store_debug_on(const char *domain);

/* Prints "weft: " and the line on stderr when domain is on. */
void store_debug(const char *domain, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Clocks for the debug lines' timings: the calling thread's CPU time (which
 * a busy machine does not inflate) and the monotonic clock, in ns.
 */
uint64_t store_debug_cpu_ns(void);
uint64_t store_debug_mono_ns(void);

#endif
