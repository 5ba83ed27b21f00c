/*
 * collect: the collector inside `weft run`. The main thread accepts
 * connections from traced processes, maps their ring chunks and drains
 * them into batches; a writer thread turns batches into trace rows
 * (object ids, symbolized stacks, timestamps in ns) and commits them.
 */
#ifndef WEFT_COLLECT_H
#define WEFT_COLLECT_H

#include "preload/wire.h"
#include "store/store.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct collect_image;

/* One decoded record (built by the writer), timestamps in ns since the trace start. */
struct collect_rec {
	struct collect_image *img;
	int32_t tid;
	uint8_t kind, objkind, nframes, pad;
	int64_t ts, wait, arg;
	uint64_t obj;
	const uint64_t *frames;
	const char *payload;
	uint32_t payload_len;
	int64_t *ring_last_ns; /* the latest time its ring gave (collect_ring_state.last_ns) */
};

/* Control records the main thread sends the writer alongside ring data. */
enum {
	COLLECT_CTL_NONE = 0,	       /* a run of raw ring words */
	COLLECT_CTL_IMAGE_END = 200,   /* img's connection closed and its rings are drained */
	COLLECT_CTL_REAPED = 201,      /* arg = pid, wait = wait status, ts = when */
	COLLECT_CTL_SLOT_STATS = 202,  /* tid's unrecorded (arg) and producer waits (wait) */
	COLLECT_CTL_IMAGE_START = 203, /* img connected (its hello arrived) */
	COLLECT_CTL_KILLED = 204,      /* arg = pid weft sent SIGKILL to (--timeout, deadlock) */
};

/*
 * A run of whole records copied out of one ring as raw words (the main
 * thread only copies; the writer parses), or a control record.
 */
/* A ring's last timestamp and object, which the next records are relative to. */
struct collect_ring_state {
	uint64_t ts, obj, frame, prev_frame; /* what later records leave out (preload/wire.h) */
	int64_t last_ns; /* its latest record's time: a ring's records never go back in time */
};

struct collect_seg {
	struct collect_image *img;
	int32_t tid;
	uint8_t ctl;
	uint8_t tsc;	 /* ring timestamps are TSC ticks */
	uint8_t slot;	 /* the ring the words came from: img->rings[chunk][slot] */
	uint8_t spilled; /* the words are in the spill file at off, not in the batch */
	uint16_t chunk;
	uint64_t off, nwords;
	int64_t ts, arg, wait; /* control records */
};

/*
 * How long a producer may take between reading its clock and publishing
 * the record, and calibrations may move a converted time, before the
 * trace's time order needs a sort at finalize (see store_writer_hold).
 */
#define COLLECT_HORIZON_SLACK_NS 2000000

/*
 * More than this many bytes of drained records waiting for the writer: the
 * collector stops draining, so producers wait for ring space (the lossless
 * mode's back-pressure) instead of weft's memory growing.
 */
#define COLLECT_BACKLOG_LIMIT (1024ull << 20)

/* A consistent copy of the clock calibration, for converting ring timestamps. */
struct collect_clock {
	uint64_t tsc0, start_mono_ns;
	int64_t ns0; /* the time of tick tsc0 */
	double ns_per_tick;
};

/* A ring's TSC reading as ns since the trace's start: one line per calibration, joined. */
static inline int64_t collect_tsc_ns(const struct collect_clock *k, uint64_t tick)
{
	return k->ns0 + (int64_t)((double)(int64_t)(tick - k->tsc0) * k->ns_per_tick);
}

struct collect_batch {
	struct collect_batch *next;
	/*
	 * Every event recorded before this time (trace ns) has been drained
	 * into this batch or an earlier one, but for a producer held up for
	 * longer than COLLECT_HORIZON_SLACK_NS between taking its time and
	 * publishing the record; INT64_MIN: unknown.
	 */
	int64_t horizon_ns;
	struct collect_clock clock; /* converts this batch's ring timestamps */
	size_t nsegs, cap_segs;
	size_t nwords, cap_words;
	struct collect_seg *segs;
	uint64_t *words;
};

struct collect_image {
	struct collect_image *next;
	int pid, ppid;	 /* from the kernel, in weft's pid namespace */
	int ns_pid;	 /* what the process calls itself: differs inside a pid namespace */
	uint64_t pid_ns; /* inode of its pid namespace (/proc/PID/ns/pid) */
	uint64_t image_id;
	int conn_fd;
	int pidfd; /* the process, for signals that can never reach a reused pid; -1: none */
	uint64_t lost_unringed; /* calls it reported lost for want of a ring (WEFT_HELLO_LOST) */
	int closed;		/* connection hit EOF */
	int ended;		/* the image is over (exit or exec); IMAGE_END was sent */
	int forked;		/* a fork child's copy of its parent, not a fresh exec */
	char *argv;		/* NUL-separated, from the hello */
	char comm[16];		/* the kernel's name of its first thread at accept; "" unknown */
	size_t argv_len;
	char *maps;	       /* /proc/pid/maps snapshot, for symbols after death */
	int maps_from_process; /* the process sent its own map (preferred) */
	size_t maps_len;
	int64_t start_ns;
	struct weft_chunk *chunks[WEFT_MAX_CHUNKS];
	/* Per ring, what its records leave out (wire.h): the writer's alone. */
	struct collect_ring_state *rings[WEFT_MAX_CHUNKS];
	unsigned nchunks;
	uint64_t mapped[WEFT_MAX_CHUNKS][WEFT_SLOTS_PER_CHUNK]; /* ring words populated here */
	void *writer_state;					/* owned by the writer thread */
};

struct collect {
	struct store_writer *store;
	int listen_fd, listen_abstract_fd;
	char sock_dir[64]; /* private directory holding the socket file, removed at the end */
	pid_t self_pid;
	uint64_t pid_ns;      /* weft's own pid namespace (inode) */
	struct rlimit nofile; /* the descriptor limit the program gets (weft raises its own) */
	uint64_t refused;     /* connections refused: not from the traced tree */
	uint64_t start_mono_ns;
	/* TSC calibration: ns = ns0 + (tsc - tsc0) * ns_per_tick (collect_tsc_ns) */
	uint64_t tsc0;
	int64_t ns0;
	double ns_per_tick;
	uint64_t tsc_start;	    /* the tick read with start_mono_ns */
	uint64_t cal_tsc, cal_mono; /* latest calibration point */
	int use_tsc;

	struct collect_image *images;
	pthread_mutex_t lock; /* guards the queue and images' maps */
	pthread_cond_t cond;
	struct collect_batch *queue_head, *queue_tail;
	struct collect_batch *spare_batches; /* the writer gives spent ones back here, for reuse */
	size_t queued_bytes;		     /* in memory: words and segments of queued batches */
	/*
	 * Spill file (unlinked, beside the trace): when the writer falls behind,
	 * ring words go there instead of into fresh memory (see drain_slot).
	 */
	int spill_fd;
	int spill_broken;	   /* a write failed: the backlog stays in memory */
	int spill_always;	   /* WEFT_TEST_SPILL: spill whether behind or not */
	uint64_t spill_end;	   /* next free offset; back to 0 when nothing is pending */
	uint64_t spill_room;	   /* the most the file may hold (a share of the free space) */
	uint64_t spill_pending;	   /* bytes spilled and not yet read back by the writer */
	uint64_t spilled_bytes;	   /* all spilled, for the run's statistics */
	uint64_t spill_ns;	   /* time the main thread spent writing them */
	uint64_t *spill_buf;	   /* the writer's read-back buffer, reused */
	size_t spill_buf_cap;	   /* its size in bytes */
	struct collect_batch *cur; /* being filled by the main thread */
	int writer_stop;
	int writer_failed;
	char writer_error[256];
	pthread_t writer;
	uint64_t events_written;
	uint64_t events_lost; /* corrupt ring runs skipped (counted in meta) */
	uint64_t oldest_open; /* raw time of the oldest record being written (waiting for ring
				 space, or preempted) seen this round, 0: none */
	uint64_t drained_words;
	uint64_t writer_busy_ns; /* time the writer spent turning records into rows */
	int deadlock_found;	 /* set by the writer when a wait-for cycle appears */
	char deadlock_summary[1024];
	int stacks;
};

/*
 * Sets up the collector: a socket file in a new private directory, and an
 * abstract socket of the same name; listen_name receives the name (the
 * socket file's path). Returns 0, otherwise -1 after printing why.
 */
int collect_init(struct collect *c, struct store_writer *store, char *listen_name, size_t len);
/* Removes the socket file and its directory (collect_finish does it too). */
void collect_remove_socket(struct collect *c);
/*
 * Opens the spill file in dir (the trace's directory). Without one the
 * backlog stays in memory, as it does when dir has no room: never an error.
 */
void collect_spill_open(struct collect *c, const char *dir);
/* Accepts connections and reads hellos; returns after at most timeout_ms. */
int collect_poll(struct collect *c, int timeout_ms);
/* Copies whatever is in the rings into the current batch and hands it to the writer. */
size_t collect_drain(struct collect *c);
/* Notes that weft itself sent SIGKILL to pid. */
void collect_killed(struct collect *c, pid_t pid);
/* Records a reaped child's status. */
void collect_reaped(struct collect *c, pid_t pid, int status);
/* The kernel's name of thread tid of pid (/proc) into out; "" when it is gone or unreadable. */
void collect_read_comm(int pid, int tid, char out[16]);
/* Number of open connections (traced process images still alive). */
int collect_live_images(struct collect *c);
void collect_debug_live(struct collect *c);
/*
 * Sends sig to every live process of the traced tree the collector knows,
 * through pidfds taken while each was verified to be a descendant, so a
 * pid since reused by a stranger is never signalled. With note, each
 * process signalled is recorded as killed by weft. Returns how many were.
 */
int collect_signal_tree(struct collect *c, int sig, int note);
/*
 * The end of a run: drains every ring one last time and hands the last
 * batch to the writer, whose writer_stop_and_join() comes next.
 */
void collect_flush(struct collect *c);
/* Frees what collect_init() and the run made, once the writer has joined. */
void collect_close(struct collect *c);

/* The writer thread (tracer/writer.c). */
int writer_start(struct collect *c);
/*
 * Waits for the queue to empty, then flushes process/thread tables and
 * stops. Once store_writer_interrupt(c->store) was called it stops early:
 * what is still queued is dropped, the updates over all of ev are skipped.
 */
int writer_stop_and_join(struct collect *c);
/* Writes the deadlocks found while recording into the findings tables. */
int writer_store_deadlocks(struct collect *c, sqlite3 *db);
/*
 * For a progress display from any thread: ring words the writer has
 * turned into rows, words drained in all, events written so far.
 */
void writer_progress(struct collect *c, uint64_t *done, uint64_t *total, uint64_t *events);
/* Normal priority for the writer (1) while the program is quiet, idle priority (0) otherwise. */
void writer_set_urgent(struct collect *c, int urgent);

/* Symbols (tracer/symbols.c): per-image symbolizer over a maps snapshot. */
struct sym_frame {
	const char *function; /* NULL when unknown */
	const char *file;
	int line;
	const char *module;
};
struct sym_ctx;
struct sym_ctx *sym_open(int pid, const char *maps, size_t maps_len);
/* Resolves pc; is_return means pc is a return address (look up pc-1). */
int sym_lookup(struct sym_ctx *s, uint64_t pc, int is_return, struct sym_frame *out);
/* Name of the data symbol containing addr ("table+64" inside it) into buf, or NULL. */
const char *sym_data_name(struct sym_ctx *s, uint64_t addr, char *buf, size_t len);
void sym_close(struct sym_ctx *s);

#endif
