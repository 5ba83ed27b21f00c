/*
 * The vocabulary of a trace: what events and objects are called. One table
 * each, X(NAME, code, "public name"); everything else is generated from
 * them: the preload's enums (WEFT_EV_NAME, WEFT_OBJ_NAME, used from the
 * hooks to the analyses), the trace's event_kind and object_kind tables
 * and name lookups (store/store_schema.c, store/store_write.c), and the
 * check that docs/SCHEMA.md lists every name (tests/integration/
 * test_trace_core.sh). Events are born in the preload, so the table lives
 * here and the stages downstream include it.
 *
 * Codes are stored in traces: never renumber, only add.
 */
#ifndef WEFT_PRELOAD_KINDS_H
#define WEFT_PRELOAD_KINDS_H

/* clang-format off */
#define WEFT_EVENT_KINDS(X)                                                                        \
	X(LOCK_ACQUIRE,      1,  "lock.acquire")                                                   \
	X(LOCK_RELEASE,      2,  "lock.release")                                                   \
	X(LOCK_FAIL,         3,  "lock.fail")                                                      \
	X(COND_WAIT,         4,  "cond.wait")                                                      \
	X(COND_SIGNAL,       5,  "cond.signal")                                                    \
	X(COND_BROADCAST,    6,  "cond.broadcast")                                                 \
	X(BARRIER_WAIT,      7,  "barrier.wait")                                                   \
	X(THREAD_CREATE,     8,  "thread.create")                                                  \
	X(THREAD_START,      9,  "thread.start")                                                   \
	X(THREAD_EXIT,       10, "thread.exit")                                                    \
	X(THREAD_JOIN,       11, "thread.join")                                                    \
	X(PROCESS_FORK,      12, "process.fork")                                                   \
	X(PROCESS_EXEC,      13, "process.exec")                                                   \
	X(PROCESS_SPAWN,     14, "process.spawn")                                                  \
	X(PROCESS_EXIT,      15, "process.exit")                                                   \
	X(THREAD_DETACH,     16, "thread.detach")                                                  \
	X(OBJECT_DESTROY,    17, "object.destroy")                                                 \
	X(GIL_ACQUIRE,       20, "gil.acquire")                                                    \
	X(GIL_RELEASE,       21, "gil.release")                                                    \
	X(GIL_DROP_REQUEST,  22, "gil.drop_request")                                               \
	X(QUEUE_PUT,         23, "queue.put")                                                      \
	X(QUEUE_GET,         24, "queue.get")                                                      \
	X(EVENT_SET,         25, "event.set")                                                      \
	X(EVENT_WAIT,        26, "event.wait")                                                     \
	X(PROCESS_REAP,      27, "process.reap")                                                   \
	/* a blocking acquire found the lock taken and starts to wait */                           \
	X(LOCK_WAIT,         28, "lock.wait")                                                      \
	/* one side of a data race (made by the collector from WEFT_REC_PY_RACE) */                \
	X(RACE_ACCESS,       29, "race.access")                                                    \
	/* the GIL holder let go because a waiter asked */                                         \
	X(GIL_FORCED_SWITCH, 30, "gil.forced_switch")                                              \
	/* an RLock's owner took it again: arg = the level reached */                              \
	X(RLOCK_ENTER,       31, "rlock.enter")                                                    \
	/* its owner let go of an inner level: arg = the level left */                             \
	X(RLOCK_EXIT,        32, "rlock.exit")                                                     \
	/* FUTEX_WAIT through syscall(): arg = 0 woken, else errno */                              \
	X(FUTEX_WAIT,        33, "futex.wait")                                                     \
	/* FUTEX_WAKE through syscall(): arg = waiters woken, or -errno */                         \
	X(FUTEX_WAKE,        34, "futex.wake")

#define WEFT_OBJECT_KINDS(X)                                                                       \
	X(MUTEX,         1,  "mutex")                                                              \
	X(RWLOCK,        2,  "rwlock")                                                             \
	X(SPINLOCK,      3,  "spinlock")                                                           \
	X(SEMAPHORE,     4,  "semaphore")                                                          \
	X(COND,          5,  "cond")                                                               \
	X(BARRIER,       6,  "barrier")                                                            \
	X(GIL,           7,  "gil")                                                                \
	X(PY_LOCK,       8,  "py.lock")                                                            \
	X(PY_RLOCK,      9,  "py.rlock")                                                           \
	X(PY_CONDITION,  10, "py.condition")                                                       \
	X(PY_SEMAPHORE,  11, "py.semaphore")                                                       \
	X(PY_EVENT,      12, "py.event")                                                           \
	X(QUEUE,         13, "queue")                                                              \
	/* a futex word a program waits on through syscall() */                                    \
	X(FUTEX,         16, "futex")
/* clang-format on */

#define WEFT_KIND_ENUM_EV(name, code, text) WEFT_EV_##name = code,
#define WEFT_KIND_ENUM_OBJ(name, code, text) WEFT_OBJ_##name = code,

/* Public event kinds (0-63); the ring's private records follow in wire.h. */
/* clang-format off */
enum weft_kind {
	WEFT_EVENT_KINDS(WEFT_KIND_ENUM_EV)
	WEFT_EV_MAX_PUBLIC = 63,
};

enum weft_object_kind {
	WEFT_OBJ_NONE = 0,
	WEFT_OBJECT_KINDS(WEFT_KIND_ENUM_OBJ)
};
/* clang-format on */

#endif
