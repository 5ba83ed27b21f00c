/*
 * pidns: thread and process ids across pid namespaces. A traced program
 * inside a container names its threads and children by its namespace's
 * ids; the trace keeps the ids weft's namespace gives them (the ones the
 * collector verified at accept). The collector learns each image's
 * namespace; the writer translates the ids records carry.
 */
#ifndef WEFT_TRACER_PIDNS_H
#define WEFT_TRACER_PIDNS_H

#include <stdint.h>

/* The inode of a process's pid namespace (/proc/PID/ns/pid), 0 when unknown. */
uint64_t pidns_of(int pid);

/*
 * The id weft's namespace (weft_ns) gives to ns_id, an id as a process of
 * namespace img_ns calls it; img_pid/img_ns_pid are that process's own ids
 * here and there. ids of weft's own namespace pass through unchanged.
 * Returns ns_id itself when nothing of that name is alive any more.
 * Thread-safe.
 */
int pidns_host_id(uint64_t weft_ns, uint64_t img_ns, int img_pid, int img_ns_pid, int ns_id);

/* Forgets every id learnt (the end of a run). */
void pidns_forget(void);

#endif
