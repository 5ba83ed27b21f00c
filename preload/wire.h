/*
 * The shared-memory format between the preload library (producer) and the
 * collector in `weft run` (consumer). Both sides include this header; a
 * change here changes WEFT_WIRE_VERSION.
 *
 * Every traced process image owns one or more chunks: a memfd holding a
 * chunk header and WEFT_SLOTS_PER_CHUNK thread slots. Each slot is a
 * single-producer single-consumer ring of 8-byte words owned by one thread
 * at a time. The memfd is passed to the collector over a unix socket
 * (SCM_RIGHTS), so nothing is ever named in /dev/shm and the collector can
 * still read everything a process published after that process dies.
 */
#ifndef WEFT_WIRE_H
#define WEFT_WIRE_H

#include "preload/kinds.h"

#include <stdint.h>

#define WEFT_WIRE_VERSION 6
#define WEFT_CHUNK_MAGIC 0x74666577u /* "weft" */

#define WEFT_SLOTS_PER_CHUNK 32
/*
 * 4 MiB of address space per thread ring. Pages are backed lazily (the
 * producer populates ahead in growing steps, the collector gives them back
 * when the thread ends), so an idle thread costs almost nothing while a
 * busy one can run far ahead of the collector without waiting.
 */
#define WEFT_RING_WORDS (1u << 19)
/*
 * The first stretch of a ring the producer backs (64 KiB, then doubling).
 * The collector keeps it backed when the ring's thread ends and hands the
 * ring on from its start, so a new thread writes its first records
 * without backing a page: on virtual machines a page's first touch costs
 * microseconds, and that made a thread's start and end 2-3 times slower.
 */
#define WEFT_RING_FIRST_WORDS (1u << 13)
#define WEFT_MAX_CHUNKS 512 /* 16384 concurrently live threads per process */
#define WEFT_MAX_FRAMES 64

/* Environment variables the preload library reads (and re-injects on exec). */
#define WEFT_ENV_SOCK "WEFT_SOCK"
#define WEFT_ENV_STACKS "WEFT_STACKS"
#define WEFT_ENV_COLLECTOR "WEFT_COLLECTOR_PID"
#define WEFT_ENV_LIB "WEFT_LIB"

enum weft_slot_state {
	WEFT_SLOT_FREE = 0,    /* collector has drained it; a thread may claim it */
	WEFT_SLOT_OWNED = 1,   /* a live thread writes into it */
	WEFT_SLOT_RETIRED = 2, /* its thread ended; collector drains then frees */
};

enum weft_stack_mode {
	WEFT_STACKS_NONE = 0,
	WEFT_STACKS_CALLER = 1,
	WEFT_STACKS_FULL = 2,
};

/*
 * Record kinds. Values 1..63 are public event kinds (enum weft_kind in
 * preload/kinds.h, stored as-is in the trace); 64 and above are control
 * records the collector consumes.
 */
enum weft_record {
	WEFT_REC_OBJECT_INIT = 64, /* obj created: arg = object kind */
	WEFT_REC_THREAD_NAME = 65, /* payload: the name (for thread tid = arg) */
	/* 66 and 67 were never produced; a collector skips them as any unknown record */
	WEFT_REC_META = 68,	    /* payload: "key\0value" for the trace's meta table */
	WEFT_REC_PY_CODE = 69,	    /* arg = code id; payload "function\0file\0firstline" */
	WEFT_REC_PY_THREAD = 70,    /* arg = Python thread ident; payload: thread name */
	WEFT_REC_PROCESS_NAME = 71, /* payload: a label for the process (multiprocessing name);
				       arg = 0, or the pid of a child it names */
	WEFT_REC_PY_RACE = 72,	    /* a data race: wait = how long ago the other access was,
				       arg = its tid, frames = this access's stack,
				       payload = struct weft_race_wire */
};

/*
 * A process.reap record: arg = the reaped id, obj = its wait status, and
 * in obj: the wait asked for clone children too
 * (__WALL, __WCLONE), as debuggers do, so the id reaped may be a traced
 * program's thread rather than a process.
 */
#define WEFT_REAP_CLONE (1ULL << 32)

/* Why two unordered accesses are a problem (weft_race_wire.rule). */
enum weft_race_rule {
	WEFT_RACE_READ_WRITE = 1,
	WEFT_RACE_WRITE_WRITE = 2,
	WEFT_RACE_CHECK_THEN_ACT = 3, /* a read that missed, then a write of the same key */
	WEFT_RACE_LOST_UPDATE = 4,    /* read-modify-write (x += 1) */
	/*
	 * Ordered, and stale: a read that missed, another thread's store of the
	 * same key, then this thread's store (both created it, in this run).
	 */
	WEFT_RACE_STALE_CHECK = 5,
};

/* Access flags of each side of a race (arg of a race.access event). */
enum weft_race_access {
	WEFT_ACC_READ = 1,
	WEFT_ACC_WRITE = 2,
	WEFT_ACC_ATOMIC = 4,
	WEFT_ACC_RMW = 8,
	WEFT_ACC_MISS = 16,
	WEFT_ACC_CTA = 32,
	WEFT_ACC_CHECK = 64, /* a length or membership check of a container */
};

/*
 * Payload of WEFT_REC_PY_RACE. Unless light, it is followed by uint64
 * words: the current side's held locks (addresses), the other side's, the
 * other side's Python frames, then its label (NUL-terminated text).
 */
struct weft_race_wire {
	uint8_t rule;  /* enum weft_race_rule */
	uint8_t light; /* 1: a repeat of a site pair already detailed: nothing follows */
	uint8_t cur_nheld, other_nheld;
	uint16_t cur_flags, other_flags; /* enum weft_race_access */
	uint32_t cur_site, other_site;	 /* the detector's access site ids */
	uint32_t other_nframes;
	uint32_t reserved;
};

/*
 * A stack word with the top bit set is a Python frame: code id in bits
 * 24..62 (defined earlier in the same ring by WEFT_REC_PY_CODE), line in
 * bits 0..23. Native return addresses never have the top bit set.
 */
#define WEFT_PYFRAME_BIT (1ull << 63)
#define WEFT_PYFRAME(code, line) (WEFT_PYFRAME_BIT | ((uint64_t)(code) << 24) | ((line)&0xffffff))
#define WEFT_PYFRAME_CODE(w) (((w) & ~WEFT_PYFRAME_BIT) >> 24)
#define WEFT_PYFRAME_LINE(w) ((int)((w)&0xffffff))

/*
 * A record in a ring: a header word, then the optional words its flags
 * announce, in this order: ts (WEFT_RF_TS), obj (WEFT_RF_OBJ), wait
 * (WEFT_RF_WAIT), arg (WEFT_RF_ARG); then nframes stack words; then, with
 * WEFT_RF_PAYLOAD, a word holding the payload's length in bytes and the
 * payload. Records may wrap around the ring end (indices are taken modulo
 * the ring size), so there is no padding.
 *
 * Every byte a record takes is written by the producer, copied by the
 * collector and read by the writer, on machines whose memory bandwidth is
 * the recorder's main cost: so the common case is short. Without WEFT_RF_TS
 * the timestamp is the previous record's (of the same ring) plus tsd;
 * without WEFT_RF_OBJ the object is the last nonzero object of the ring
 * with WEFT_RF_SAMEOBJ, else 0; absent wait and arg are 0. With
 * WEFT_RF_SAMEFRAME the stack is one word, the word of the ring's last
 * record whose stack was one word (a lock and its release on one Python
 * line, a loop's repeated call: the record is its header alone); with
 * WEFT_RF_PREVFRAME, the one-word stack the ring had before that one,
 * and the two trade places (a C lock and its unlock at two call sites, in
 * a loop: every record its header alone too). A one-word stack written
 * out that is not the last becomes the last, the last the one before.
 * The first record
 * after a thread claims a ring depends on no earlier one (it carries its ts,
 * its object unless that is 0, and its stack), so a reader keeps this state
 * per slot.
 * An uncontended lock/unlock pair with --stacks caller takes 5 words
 * (header+obj+pc, header+pc) instead of 12 the first time, 2 in a loop.
 */
struct weft_rec_header {
	uint8_t kind;	 /* enum weft_kind */
	uint8_t objkind; /* enum weft_object_kind of obj, or 0 */
	uint8_t nframes; /* stack words */
	uint8_t flags;	 /* WEFT_RF_* */
	uint32_t tsd;	 /* raw clock units since the previous record, without WEFT_RF_TS */
};

#define WEFT_RF_TS 0x01	       /* a full raw timestamp word follows */
#define WEFT_RF_OBJ 0x02       /* an object address word follows */
#define WEFT_RF_SAMEOBJ 0x04   /* the object is the ring's last nonzero object */
#define WEFT_RF_WAIT 0x08      /* a wait word follows (raw clock units spent blocked) */
#define WEFT_RF_ARG 0x10       /* an arg word follows (kind-specific) */
#define WEFT_RF_PAYLOAD 0x20   /* a payload length word and the payload follow the frames */
#define WEFT_RF_SAMEFRAME 0x40 /* one stack word, the ring's last one-word stack (nframes 0) */
#define WEFT_RF_PREVFRAME 0x80 /* one stack word, the one-word stack before that (nframes 0) */
#define WEFT_RF_KNOWN 0xff

/* lock.wait's arg gains this when the wait gives up at a deadline (never a deadlock). */
#define WEFT_WAIT_TIMED 0x100
/*
 * A lock.wait recorded for another thread of the process, whose tid is the
 * arg's high 32 bits: at exit, Python's bootstrap saw it still blocked on
 * that object (a daemon thread in Queue.get), and it never ends that wait.
 */
#define WEFT_WAIT_FOR_THREAD 0x200

/* Words of a record with these flags, frames and payload bytes. */
static inline uint32_t weft_rec_words(uint8_t flags, uint8_t nframes, uint32_t payload_len)
{
	uint32_t n = 1 + nframes + !!(flags & WEFT_RF_TS) + !!(flags & WEFT_RF_OBJ) +
		     !!(flags & WEFT_RF_WAIT) + !!(flags & WEFT_RF_ARG);
	if (flags & WEFT_RF_PAYLOAD)
		n += 1 + (payload_len + 7) / 8;
	return n;
}

struct weft_slot {
	/* Producer side, written only by the owning thread. */
	uint64_t head __attribute__((aligned(64)));
	/*
	 * The raw time of the record being written, 0: none. A producer
	 * preempted between taking its time and publishing the record would
	 * otherwise publish it milliseconds after the collector promised the
	 * writer nothing that old was still to come (collect_batch.horizon_ns);
	 * on two cores and eight busy threads that happened every few ms.
	 * Next to head: the producer writes that line anyway.
	 */
	uint64_t open_ts;
	/* Consumer side, written only by the collector. */
	uint64_t tail __attribute__((aligned(64)));
	/* Bookkeeping: state is a CAS target for claiming. */
	uint32_t state __attribute__((aligned(64)));
	int32_t tid;
	uint64_t generation; /* bumped on every claim so the collector sees reuse */
	uint64_t unrecorded; /* calls not recorded (signal re-entry), counted */
	uint64_t waits;	     /* times the producer waited for ring space */
	uint64_t populated;  /* ring words already backed by pages (producer only) */
};

struct weft_chunk {
	uint32_t magic;
	uint32_t version;
	int32_t pid; /* as the process sees itself (informational) */
	int32_t ppid;
	uint32_t index;	   /* chunk number within its process image */
	uint32_t clock;	   /* 1: ts is TSC, 0: CLOCK_MONOTONIC ns */
	uint64_t image_id; /* random per image, ties chunks together */
	uint64_t detached; /* set by the collector when it gives up */
	uint64_t lost;	   /* calls not recorded: no ring was left for their thread */
	struct weft_slot slots[WEFT_SLOTS_PER_CHUNK];
};

static inline uint64_t *weft_slot_ring(struct weft_chunk *c, unsigned slot)
{
	char *base = (char *)c + ((sizeof(struct weft_chunk) + 4095) & ~(uint64_t)4095);
	return (uint64_t *)(base + (uint64_t)slot * WEFT_RING_WORDS * 8);
}

static inline uint64_t weft_chunk_bytes(void)
{
	return ((sizeof(struct weft_chunk) + 4095) & ~(uint64_t)4095) +
	       (uint64_t)WEFT_SLOTS_PER_CHUNK * WEFT_RING_WORDS * 8;
}

/* chunk_index of a hello that carries a piece of the process's /proc/self/maps. */
#define WEFT_HELLO_MAPS 0xfffffffeu
/*
 * chunk_index of a hello that reports calls the process could not record
 * (no ring: memfd_create or mmap failed): lost = the running total.
 */
#define WEFT_HELLO_LOST 0xfffffffdu
/* The first hello of a connection, which carries argv. */
#define WEFT_HELLO_FIRST 0xffffffffu

/* weft_hello.flags */
#define WEFT_HELLO_FORKED 0x1 /* this image is a fork child (memory copied from its parent) */

/*
 * The hello message that accompanies each chunk fd on the socket. pid is
 * what the process calls itself (inside a pid namespace, not what weft
 * calls it): the collector takes the process's identity from the kernel
 * (SO_PEERCRED) and uses pid only to translate the thread ids its rings
 * carry (preload/README: docs/DESIGN.md, "Threat model").
 */
struct weft_hello {
	uint32_t magic;
	uint32_t version;
	int32_t pid;
	uint32_t flags; /* WEFT_HELLO_* */
	uint64_t image_id;
	uint32_t chunk_index;
	uint32_t reserved;
	uint64_t lost; /* with WEFT_HELLO_LOST */
};

/*
 * The collector's answer to a new connection, sent once it has checked
 * with the kernel that the peer belongs to the traced tree. A process
 * waits for it before it records anything: while it waits it is alive, so
 * its pid cannot have been reused when the collector checks it.
 */
struct weft_welcome {
	uint32_t magic;
	uint32_t version;
};
/* How long a process waits for the welcome before it runs untraced. */
#define WEFT_WELCOME_TIMEOUT_S 30

#endif
