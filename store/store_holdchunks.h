/*
 * store_holdchunks: the derived holds (object_holds) kept a chunk of
 * holds per row, and the virtual table that reads them back as rows.
 *
 * A busy lock is held millions of times (OpenSSL's rwlocks: 3.2M holds in
 * a 0.3 s burst), and a row per hold in a WITHOUT ROWID table was 30-44%
 * of weft run's tail after the program. The builder (store_derive.c)
 * keeps each object's ended holds in memory and writes them a few hundred
 * a row, sorted, once no hold still open on that object can start before
 * them: an object's chunks never overlap, so a range of starts is a range
 * of chunks. A hold that ends after its place was written (held open
 * while the object's pending holds filled up) is a row of its own in
 * object_holds_late. The virtual table object_holds merges the two in
 * (object_id, start_ns, end_ns, tid, pid, mode) order, so every reader's
 * SQL is what it was for the table (docs/DERIVED.md).
 */
#ifndef WEFT_STORE_HOLDCHUNKS_H
#define WEFT_STORE_HOLDCHUNKS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* One hold as object_holds shows it; mode is 0-3 (store_derive.c's mode bits). */
struct store_hold_row {
	int64_t obj, start, end;
	int32_t pid, tid;
	int mode;
};

/* The most holds a chunk takes, unless more start at the same instant. */
#define STORE_HOLDCHUNKS_MAX 512
/* The most bytes one hold takes encoded (five varints of at most 10 bytes). */
#define STORE_HOLDCHUNKS_HOLD_BYTES 50

/*
 * Registers the module weft_holds on db, which object_holds is made with:
 * every connection that reads object_holds needs it. On success returns
 * SQLITE_OK, otherwise SQLite's error code.
 */
int store_holdchunks_register(sqlite3 *db);

/*
 * The SQL that makes the chunk table, the late rows' table and the
 * virtual table in schema, and the SQL that drops them (an older set's
 * object_holds table too). Each a sqlite3_mprintf string to sqlite3_free,
 * or NULL when out of memory.
 */
char *store_holdchunks_create_sql(const char *schema);
char *store_holdchunks_drop_sql(const char *schema);

/* The tables (the virtual one first) that store_holdchunks_create_sql makes. */
#define STORE_HOLDCHUNKS_NTABLES 3
extern const char *const store_holdchunks_tables[STORE_HOLDCHUNKS_NTABLES];

/* Orders holds as object_holds does: start, end, tid, pid, mode (the object is one). */
int store_holdchunks_cmp(const struct store_hold_row *a, const struct store_hold_row *b);

/*
 * Encodes holds[0, n), sorted by store_holdchunks_cmp and each mode 0-3,
 * into out (room for n * STORE_HOLDCHUNKS_HOLD_BYTES). Returns the bytes
 * written. The chunk's first start is its row's first_start column.
 */
size_t store_holdchunks_encode(const struct store_hold_row *holds, int n, uint8_t *out);

/*
 * Decodes a chunk of n holds of object obj whose first start is first from
 * blob[0, len) into out (room for n). Returns 0, or -1 when the blob does
 * not hold n holds (a damaged file): nothing of it is to be used.
 */
int store_holdchunks_decode(const uint8_t *blob, size_t len, int n, int64_t obj, int64_t first,
			    struct store_hold_row *out);

#endif
