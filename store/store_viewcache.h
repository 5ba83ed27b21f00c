/*
 * TRACE-view: the viewer's derived tables (docs/DERIVED.md) kept beside a
 * finished trace. `weft run` builds it on its second core while the
 * findings are made, so the first `weft view` draws at once; the viewer
 * builds it itself for a trace that has none (an older weft, a deleted
 * file) and attaches it afterwards.
 */
#ifndef WEFT_STORE_VIEWCACHE_H
#define WEFT_STORE_VIEWCACHE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct store_writer;

/*
 * The key that ties a cache to its trace by what a copy keeps: the file's
 * size, its start time and its last event. db is a connection to the trace.
 */
void store_view_cache_key(sqlite3 *db, const char *trace_path, char *key, size_t n);

/*
 * Attaches cpath as schema view_cache when its key is key. Returns 1 when
 * attached, 0 otherwise (nothing stays attached).
 */
int store_view_cache_attach(sqlite3 *db, const char *cpath, const char *key);

/* Where a trace's TRACE-view is, and the key that ties it to the trace. */
struct store_view_cache {
	char path[4096 + 8];
	char key[128];
};

/* Attaches a finished trace's TRACE-view when it is this trace's (store_viewcache.c). */
int store_view_cache_open(sqlite3 *db, const char *trace_path, int complete,
			  struct store_view_cache *c, char *err, size_t errlen);

/*
 * The derived tables for a reader that only reads them (weft report, weft
 * query): the trace's TRACE-view attached when it is this trace's (a file
 * planted there is passed over), else built in db's temp schema, never
 * saved. Returns 0, or -1 with one line in err.
 */
int store_view_derived(sqlite3 *db, const char *trace_path, int complete, char *err, size_t errlen);

/*
 * Saves the derived tables just built in db's temp schema to cpath (0600,
 * written under a temporary name and renamed into place once complete).
 * Nothing is saved when the directory is read-only: the viewer works
 * without a cache.
 */
void store_view_cache_save(sqlite3 *db, const char *cpath, const char *key);

/* A build of TRACE-view running on its own thread and connection. */
struct store_view_builder;

/*
 * Starts building the derived tables of the trace at trace_path into a
 * temporary file beside it. With follow (the trace's writer, still
 * writing) the build reads the events as they become final, while the
 * program runs, and ends once store_view_builder_complete() says the trace
 * is complete; without, the trace is complete already. Returns the
 * builder, or NULL when no cache can be made (a read-only directory, no
 * memory, no thread): the viewer then builds it at its first open.
 */
struct store_view_builder *store_view_builder_start(const char *trace_path,
						    struct store_writer *follow);

/*
 * The traced program has ended (its CPUs are weft's): from its next step on
 * the build also follows the busiest objects while the writer writes its
 * backlog (store_derive_unhurried). Safe to call from any thread.
 */
void store_view_builder_program_ended(struct store_view_builder *b);

/*
 * The trace is complete and in its final order (store_writer_order()):
 * the build reads the rest, reading again what was moved or changed from
 * row moved_from on (what store_writer_take_moved() had left), and ends.
 */
void store_view_builder_complete(struct store_view_builder *b, int64_t moved_from);

/*
 * The findings' pass the build read ahead beside its own (for
 * store_build_findings_after()), once the build is done reading ahead
 * (after store_view_builder_complete() or a stop); NULL when it kept none.
 * The builder keeps it: valid until store_view_builder_finish().
 */
struct store_findings_pass *store_view_builder_findings(struct store_view_builder *b);

/* The build's thread, for its CPU affinity. */
pthread_t store_view_builder_thread(struct store_view_builder *b);

/*
 * Stops a running build: safe in a signal handler. store_view_builder_finish()
 * then discards it.
 */
void store_view_builder_interrupt(struct store_view_builder *b);

/*
 * Waits for the build to end and closes its connection to the trace (which
 * kept the trace in WAL mode). Returns 0 when the build succeeded, -1 when
 * it failed or was stopped. Safe to call more than once.
 */
int store_view_builder_join(struct store_view_builder *b);

/*
 * Joins the build, then ties it to the trace as it is now, read through
 * trace_db (call it once the trace is complete and sealed), and moves it
 * to TRACE-view. Returns 0 when TRACE-view is in place, otherwise -1 with
 * one line in err (nothing is left behind; trace_db NULL discards the
 * build). Frees b.
 */
int store_view_builder_finish(struct store_view_builder *b, sqlite3 *trace_db, char *err,
			      size_t errlen);

#endif
