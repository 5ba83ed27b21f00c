/* WEFT_DEBUG: the debug lines of weft's own stages (store_debug.h). */
#include "store/store_debug.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* clang-format off */
#define DEBUG_DOMAINS(X)                                                                           \
	X(COLLECT,  "collect",  "the collector's loop: polls, drains, spilled bytes")             \
	X(FINALIZE, "finalize", "the trace's finalize: late rows, sort, index, checkpoint")       \
	X(TAIL,     "tail",     "the time from the program's end to a usable trace, by part")     \
	X(VIEW,     "view",     "why weft run left no TRACE-view")                             \
	X(FINDINGS, "findings", "the findings' stages: event pass, cycles, races, inserts")       \
	X(DERIVE,   "derive",   "the viewer tables' stages: event pass, indexes, object pass")
/* clang-format on */

#define DEBUG_NAME(id, name, what) name,
static const char *const domain_names[] = {DEBUG_DOMAINS(DEBUG_NAME)};
#undef DEBUG_NAME
#define DEBUG_WHAT(id, name, what) what,
static const char *const domain_what[] = {DEBUG_DOMAINS(DEBUG_WHAT)};
#undef DEBUG_WHAT
#define NDOMAINS (sizeof(domain_names) / sizeof(domain_names[0]))

static int parsed;	       /* WEFT_DEBUG read */
static bool enabled[NDOMAINS]; /* by domain_names index */

static void parse(void)
{
	const char *v = getenv("WEFT_DEBUG");
	if (v && !strcmp(v, "help")) {
		fprintf(stderr, "weft: WEFT_DEBUG=domain,... (or 1 for all) with domains:\n");
		for (size_t i = 0; i < NDOMAINS; i++)
			fprintf(stderr, "  %-9s %s\n", domain_names[i], domain_what[i]);
	} else if (v && (!strcmp(v, "1") || !strcmp(v, "all"))) {
		for (size_t i = 0; i < NDOMAINS; i++)
			enabled[i] = true;
	} else if (v) {
		for (size_t i = 0; i < NDOMAINS; i++) {
			size_t n = strlen(domain_names[i]);
			for (const char *p = v; (p = strstr(p, domain_names[i])); p += n)
				if ((p == v || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
					enabled[i] = true;
		}
	}
	__atomic_store_n(&parsed, 1, __ATOMIC_RELEASE);
}

bool store_debug_on(const char *domain)
{
	if (!__atomic_load_n(&parsed, __ATOMIC_ACQUIRE))
		parse();
	for (size_t i = 0; i < NDOMAINS; i++)
		if (!strcmp(domain_names[i], domain))
			return enabled[i];
	return false;
}

void store_debug(const char *domain, const char *fmt, ...)
{
	if (!store_debug_on(domain))
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "weft: %s\n", line);
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t store_debug_cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t store_debug_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}
