/*
 * object_holds as chunks (store_holdchunks.h has why).
 *
 * A chunk is a row of object_hold_chunks(object_id, last_start,
 * first_start, n, holds): n holds of one object sorted in object_holds'
 * order, encoded as varints, each hold as
 *   start - the previous hold's start (the first: first_start's),
 *   end - start,
 *   zigzag(pid - the previous hold's pid (the first: 0)),
 *   zigzag(tid - pid) << 2 | mode,
 * which is 6-9 bytes a hold against 27 for a row. An object's chunks never
 * overlap and no two share a start, so they are ordered by last_start
 * alone, and the one a start s falls in is the first with last_start >= s.
 *
 * The virtual table reads the chunks of the objects and starts its
 * constraints allow and merges them with the late rows, both streams in
 * the table's order (ascending or descending), so that SQLite sorts
 * nothing when a query orders by object_id, start_ns, end_ns, tid, pid,
 * mode or a prefix of them (start_ns first when object_id is fixed).
 * Every constraint is checked by SQLite again: the table only narrows.
 */
#ifdef WEFT_SQLITE_EXTENSION
/* built on its own as weft_sqlite.so: SQLite's calls go through the loader's table */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#endif
#include "store/store_holdchunks.h"

#include <stdlib.h>
#include <string.h>

/* ---- the encoding ---- */

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* Reads a varint at *pos of blob[0, len); -1 when it runs past the end or past 64 bits. */
static int get_varint(const uint8_t *blob, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*pos >= len)
			return -1;
		uint8_t b = blob[(*pos)++];
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int store_holdchunks_cmp(const struct store_hold_row *a, const struct store_hold_row *b)
{
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return (a->mode > b->mode) - (a->mode < b->mode);
}

size_t store_holdchunks_encode(const struct store_hold_row *holds, int n, uint8_t *out)
{
	size_t len = 0;
	int64_t prev_start = n ? holds[0].start : 0, prev_pid = 0;
	for (int i = 0; i < n; i++) {
		const struct store_hold_row *h = &holds[i];
		len += put_varint(out + len, (uint64_t)(h->start - prev_start));
		len += put_varint(out + len, (uint64_t)(h->end - h->start));
		len += put_varint(out + len, zigzag((int64_t)h->pid - prev_pid));
		len += put_varint(out + len,
				  zigzag((int64_t)h->tid - h->pid) << 2 | (uint64_t)(h->mode & 3));
		prev_start = h->start;
		prev_pid = h->pid;
	}
	return len;
}

int store_holdchunks_decode(const uint8_t *blob, size_t len, int n, int64_t obj, int64_t first,
			    struct store_hold_row *out)
{
	size_t pos = 0;
	uint64_t start = (uint64_t)first;
	int64_t pid = 0;
	for (int i = 0; i < n; i++) {
		uint64_t ds, dur, dp, tm;
		if (get_varint(blob, len, &pos, &ds) || get_varint(blob, len, &pos, &dur) ||
		    get_varint(blob, len, &pos, &dp) || get_varint(blob, len, &pos, &tm))
			return -1;
		start += ds;
		int64_t p = pid + unzigzag(dp);
		int64_t t = p + unzigzag(tm >> 2);
		if (p < INT32_MIN || p > INT32_MAX || t < INT32_MIN || t > INT32_MAX)
			return -1;
		out[i] = (struct store_hold_row){.obj = obj,
						 .pid = (int32_t)p,
						 .tid = (int32_t)t,
						 .start = (int64_t)start,
						 .end = (int64_t)(start + dur),
						 .mode = (int)(tm & 3)};
		pid = p;
	}
	return pos == len ? 0 : -1;
}

/* ---- the tables ---- */

char *store_holdchunks_create_sql(const char *schema)
{
	/* clang-format off */
	return sqlite3_mprintf(
	    "CREATE TABLE \"%w\".object_hold_chunks(object_id INTEGER, last_start INTEGER,"
	    " first_start INTEGER, n INTEGER, holds BLOB);"
	    "CREATE INDEX \"%w\".object_hold_chunks_by_start ON object_hold_chunks(object_id,"
	    " last_start);"
	    "CREATE TABLE \"%w\".object_holds_late(object_id INTEGER, pid INTEGER, tid INTEGER,"
	    " start_ns INTEGER, end_ns INTEGER, mode INTEGER, PRIMARY KEY(object_id, start_ns,"
	    " end_ns, tid, pid, mode)) WITHOUT ROWID;"
	    "CREATE VIRTUAL TABLE \"%w\".object_holds USING weft_holds;",
	    schema, schema, schema, schema);
	/* clang-format on */
}

const char *const store_holdchunks_tables[STORE_HOLDCHUNKS_NTABLES] = {
    "object_holds", "object_hold_chunks", "object_holds_late"};

char *store_holdchunks_drop_sql(const char *schema)
{
	sqlite3_str *sql = sqlite3_str_new(NULL);
	for (int i = 0; i < STORE_HOLDCHUNKS_NTABLES; i++)
		sqlite3_str_appendf(sql, "DROP TABLE IF EXISTS \"%w\".%s;", schema,
				    store_holdchunks_tables[i]);
	return sqlite3_str_finish(sql);
}

/* ---- the virtual table ---- */

enum { COL_OBJECT, COL_PID, COL_TID, COL_START, COL_END, COL_MODE };

/* The statements a cursor reads with (one vocabulary: names and SQL in one table). */
/* clang-format off */
#define HOLDCHUNKS_STATEMENTS(X)                                                             \
	X(CHUNKS_ONE_ASC, "SELECT object_id, first_start, last_start, n, holds FROM"           \
	  " \"%w\".object_hold_chunks WHERE object_id = ?1 AND last_start >= ?2"               \
	  " ORDER BY last_start")                                                              \
	X(CHUNKS_ONE_STRADDLE, "SELECT object_id, first_start, last_start, n, holds FROM"      \
	  " \"%w\".object_hold_chunks WHERE object_id = ?1 AND last_start >= ?2"               \
	  " ORDER BY last_start LIMIT 1")                                                      \
	X(CHUNKS_ONE_DESC, "SELECT object_id, first_start, last_start, n, holds FROM"          \
	  " \"%w\".object_hold_chunks WHERE object_id = ?1 AND last_start < ?2"                \
	  " ORDER BY last_start DESC")                                                         \
	X(CHUNKS_RANGE_ASC, "SELECT object_id, first_start, last_start, n, holds FROM"         \
	  " \"%w\".object_hold_chunks WHERE object_id >= ?1 AND object_id <= ?2"               \
	  " ORDER BY object_id, last_start")                                                   \
	X(CHUNKS_RANGE_DESC, "SELECT object_id, first_start, last_start, n, holds FROM"        \
	  " \"%w\".object_hold_chunks WHERE object_id >= ?1 AND object_id <= ?2"               \
	  " ORDER BY object_id DESC, last_start DESC")                                         \
	X(LATE_ASC, "SELECT object_id, pid, tid, start_ns, end_ns, mode FROM"                  \
	  " \"%w\".object_holds_late WHERE object_id >= ?1 AND object_id <= ?2"                \
	  " AND start_ns >= ?3 AND start_ns <= ?4"                                             \
	  " ORDER BY object_id, start_ns, end_ns, tid, pid, mode")                             \
	X(LATE_DESC, "SELECT object_id, pid, tid, start_ns, end_ns, mode FROM"                 \
	  " \"%w\".object_holds_late WHERE object_id >= ?1 AND object_id <= ?2"                \
	  " AND start_ns >= ?3 AND start_ns <= ?4 ORDER BY object_id DESC, start_ns DESC,"     \
	  " end_ns DESC, tid DESC, pid DESC, mode DESC")
/* clang-format on */

#define HC_ENUM(name, sql) ST_##name,
enum statement { HOLDCHUNKS_STATEMENTS(HC_ENUM) ST_COUNT };
#undef HC_ENUM
#define HC_SQL(name, sql) sql,
static const char *const statement_sql[ST_COUNT] = {HOLDCHUNKS_STATEMENTS(HC_SQL)};
#undef HC_SQL

struct holds_vtab {
	sqlite3_vtab base;
	sqlite3 *db;
	char *schema;
	/* one of each statement shared by the cursors: the first takes it, others prepare theirs */
	sqlite3_stmt *st[ST_COUNT];
	int busy[ST_COUNT];
};

/* A stream of holds in the cursor's order: a chunk statement's chunks, or the late rows. */
struct stream {
	sqlite3_stmt *st;
	enum statement which;
	int own; /* st is the cursor's own, not the table's */
	int valid;
	struct store_hold_row head;
};

struct holds_cursor {
	sqlite3_vtab_cursor base;
	int desc, one_object, eof;
	int64_t obj_lo, obj_hi, start_lo, start_hi;
	sqlite3_int64 rowid;
	struct stream chunks, late;
	int straddle; /* descending over one object: the straddling chunk's statement first */
	struct store_hold_row *rows;
	int nrows, next, cap;
	struct store_hold_row cur;
};

static int take_statement(struct holds_vtab *v, struct stream *s, enum statement which)
{
	s->which = which;
	if (!v->busy[which]) {
		if (!v->st[which]) {
			char *sql = sqlite3_mprintf(statement_sql[which], v->schema);
			int rc = sql ? sqlite3_prepare_v3(v->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
							  &v->st[which], NULL)
				     : SQLITE_NOMEM;
			sqlite3_free(sql);
			if (rc != SQLITE_OK)
				return rc;
		}
		v->busy[which] = 1;
		s->st = v->st[which];
		s->own = 0;
		return SQLITE_OK;
	}
	char *sql = sqlite3_mprintf(statement_sql[which], v->schema);
	int rc = sql ? sqlite3_prepare_v2(v->db, sql, -1, &s->st, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	s->own = 1;
	return rc;
}

static void release_statement(struct holds_vtab *v, struct stream *s)
{
	if (!s->st)
		return;
	if (s->own) {
		sqlite3_finalize(s->st);
	} else {
		sqlite3_reset(s->st);
		v->busy[s->which] = 0;
	}
	s->st = NULL;
	s->valid = 0;
}

static int vtab_open_table(sqlite3 *db, int argc, const char *const *argv, sqlite3_vtab **out,
			   char **err)
{
	if (argc < 3) {
		*err = sqlite3_mprintf("weft_holds: no schema");
		return SQLITE_ERROR;
	}
	int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(object_id INTEGER, pid INTEGER,"
					  " tid INTEGER, start_ns INTEGER, end_ns INTEGER,"
					  " mode INTEGER)");
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
	struct holds_vtab *v = sqlite3_malloc(sizeof(*v));
	if (!v)
		return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	v->db = db;
	v->schema = sqlite3_mprintf("%s", argv[1]);
	if (!v->schema) {
		sqlite3_free(v);
		return SQLITE_NOMEM;
	}
	*out = &v->base;
	return SQLITE_OK;
}

static int vtab_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
			sqlite3_vtab **out, char **err)
{
	(void)aux;
	return vtab_open_table(db, argc, argv, out, err);
}

/* Not xConnect itself: a module whose two are one is also an eponymous table in main. */
static int vtab_create(sqlite3 *db, void *aux, int argc, const char *const *argv,
		       sqlite3_vtab **out, char **err)
{
	(void)aux;
	return vtab_open_table(db, argc, argv, out, err);
}

static int vtab_disconnect(sqlite3_vtab *base)
{
	struct holds_vtab *v = (struct holds_vtab *)base;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(v->st[i]);
	sqlite3_free(v->schema);
	sqlite3_free(v);
	return SQLITE_OK;
}

/*
 * The plan's bits (idxNum): which bounds are passed, in this order as
 * xFilter's arguments, whether a lower or upper one is strict, and the
 * order of the output.
 */
enum {
	BOUND_OBJECT_EQ,
	BOUND_OBJECT_LO,
	BOUND_OBJECT_HI,
	BOUND_START_EQ,
	BOUND_START_LO,
	BOUND_START_HI,
	BOUND_COUNT,
};
#define PLAN_STRICT(bound) (1 << (BOUND_COUNT + (bound)))
#define PLAN_DESC (1 << (2 * BOUND_COUNT))

/* The bound a constraint on col with op gives, or -1; *strict for > and <. */
static int constraint_bound(int col, unsigned char op, int *strict)
{
	*strict = op == SQLITE_INDEX_CONSTRAINT_GT || op == SQLITE_INDEX_CONSTRAINT_LT;
	int base = col == COL_OBJECT ? BOUND_OBJECT_EQ : col == COL_START ? BOUND_START_EQ : -1;
	if (base < 0)
		return -1;
	switch (op) {
	case SQLITE_INDEX_CONSTRAINT_EQ:
		return base;
	case SQLITE_INDEX_CONSTRAINT_GT:
	case SQLITE_INDEX_CONSTRAINT_GE:
		return base + 1;
	case SQLITE_INDEX_CONSTRAINT_LT:
	case SQLITE_INDEX_CONSTRAINT_LE:
		return base + 2;
	default:
		return -1;
	}
}

/*
 * Whether the ORDER BY is the table's order (object_id, start_ns, end_ns,
 * tid, pid, mode), or a prefix of it, all one way; with object_id fixed a
 * term on it may come anywhere. *desc: which way.
 */
static int order_is_ours(const sqlite3_index_info *info, int one_object, int *desc)
{
	static const int key[] = {COL_OBJECT, COL_START, COL_END, COL_TID, COL_PID, COL_MODE};
	int pos = one_object ? 1 : 0;
	for (int i = 0; i < info->nOrderBy; i++) {
		const struct sqlite3_index_orderby *o = &info->aOrderBy[i];
		if (i && o->desc != *desc)
			return 0;
		*desc = o->desc;
		if (one_object && o->iColumn == COL_OBJECT)
			continue;
		if (pos >= (int)(sizeof(key) / sizeof(key[0])) || o->iColumn != key[pos])
			return 0;
		pos++;
	}
	return 1;
}

static int vtab_best_index(sqlite3_vtab *base, sqlite3_index_info *info)
{
	(void)base;
	int which[BOUND_COUNT];
	int plan = 0;
	for (int b = 0; b < BOUND_COUNT; b++)
		which[b] = -1;
	for (int i = 0; i < info->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];
		int strict;
		int b = c->usable ? constraint_bound(c->iColumn, c->op, &strict) : -1;
		if (b < 0 || which[b] >= 0)
			continue;
		which[b] = i;
		plan |= 1 << b | (strict ? PLAN_STRICT(b) : 0);
	}
	int arg = 1;
	for (int b = 0; b < BOUND_COUNT; b++)
		if (which[b] >= 0)
			info->aConstraintUsage[which[b]].argvIndex = arg++;
	int one_object = which[BOUND_OBJECT_EQ] >= 0;
	int desc = 0;
	if (info->nOrderBy > 0 && order_is_ours(info, one_object, &desc)) {
		info->orderByConsumed = 1;
		if (desc)
			plan |= PLAN_DESC;
	}
	int starts =
	    which[BOUND_START_EQ] >= 0 || which[BOUND_START_LO] >= 0 || which[BOUND_START_HI] >= 0;
	double rows = one_object ? (starts ? 100.0 : 10000.0)
		      : which[BOUND_OBJECT_LO] >= 0 || which[BOUND_OBJECT_HI] >= 0 ? 1e6
										   : 1e7;
	info->estimatedRows = (sqlite3_int64)rows;
	info->estimatedCost = rows;
	info->idxNum = plan;
	return SQLITE_OK;
}

static int vtab_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
	(void)base;
	struct holds_cursor *c = sqlite3_malloc(sizeof(*c));
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static void cursor_reset(struct holds_cursor *c)
{
	struct holds_vtab *v = (struct holds_vtab *)c->base.pVtab;
	release_statement(v, &c->chunks);
	release_statement(v, &c->late);
	c->nrows = c->next = 0;
	c->eof = 1;
}

static int vtab_close(sqlite3_vtab_cursor *base)
{
	struct holds_cursor *c = (struct holds_cursor *)base;
	cursor_reset(c);
	sqlite3_free(c->rows);
	sqlite3_free(c);
	return SQLITE_OK;
}

/*
 * Narrows [*lo, *hi] by value v as bound b says: an integer exactly, a
 * real to the integers around it (SQLite checks again), text or a blob
 * not at all. Returns 0, or 1 when nothing can match (NULL, or an
 * integer past either end for a strict bound).
 */
static int narrow(sqlite3_value *v, int kind, int strict, int64_t *lo, int64_t *hi)
{
	int64_t a, b;
	switch (sqlite3_value_type(v)) {
	case SQLITE_NULL:
		return 1;
	case SQLITE_INTEGER:
		a = b = sqlite3_value_int64(v);
		if (strict && kind == 1) {
			if (a == INT64_MAX)
				return 1;
			a++;
		}
		if (strict && kind == 2) {
			if (b == INT64_MIN)
				return 1;
			b--;
		}
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_value_double(v);
		if (d != d)
			return 1; /* NaN */
		if (d <= -9223372036854775808.0 || d >= 9223372036854775808.0) {
			a = d < 0 ? INT64_MIN : INT64_MAX;
			b = a;
			break;
		}
		int64_t t = (int64_t)d; /* toward zero: floor and ceil from it */
		a = t - (d < (double)t);
		b = t + (d > (double)t);
		break;
	}
	default:
		return 0;
	}
	/* kind: 0 equal, 1 lower bound, 2 upper bound */
	if (kind != 2 && a > *lo)
		*lo = a;
	if (kind != 1 && b < *hi)
		*hi = b;
	return 0;
}

static int start_in_range(const struct holds_cursor *c, int64_t start)
{
	return start >= c->start_lo && start <= c->start_hi;
}

/* Reads the late stream's next row into its head. */
static int late_step(struct holds_cursor *c)
{
	struct stream *s = &c->late;
	int rc = sqlite3_step(s->st);
	if (rc == SQLITE_ROW) {
		s->head = (struct store_hold_row){.obj = sqlite3_column_int64(s->st, 0),
						  .pid = (int32_t)sqlite3_column_int64(s->st, 1),
						  .tid = (int32_t)sqlite3_column_int64(s->st, 2),
						  .start = sqlite3_column_int64(s->st, 3),
						  .end = sqlite3_column_int64(s->st, 4),
						  .mode = (int)sqlite3_column_int64(s->st, 5)};
		s->valid = 1;
		return SQLITE_OK;
	}
	s->valid = 0;
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Loads the next chunk that may hold a start in range. Returns SQLITE_OK
 * with c->nrows 0 when there is none, SQLITE_CORRUPT_VTAB for a chunk
 * that does not decode.
 */
static int chunk_load(struct holds_cursor *c)
{
	struct holds_vtab *v = (struct holds_vtab *)c->base.pVtab;
	struct stream *s = &c->chunks;
	c->nrows = c->next = 0;
	while (s->st) {
		int rc = sqlite3_step(s->st);
		if (rc != SQLITE_ROW) {
			release_statement(v, s);
			if (rc != SQLITE_DONE)
				return rc;
			if (!c->straddle)
				return SQLITE_OK;
			/* descending over one object: the straddling chunk, then all before it */
			c->straddle = 0;
			if ((rc = take_statement(v, s, ST_CHUNKS_ONE_DESC)) != SQLITE_OK)
				return rc;
			sqlite3_bind_int64(s->st, 1, c->obj_lo);
			sqlite3_bind_int64(s->st, 2, c->start_hi);
			continue;
		}
		int64_t obj = sqlite3_column_int64(s->st, 0);
		int64_t first = sqlite3_column_int64(s->st, 1);
		int64_t last = sqlite3_column_int64(s->st, 2);
		int64_t n = sqlite3_column_int64(s->st, 3);
		/* past the range: for one object nothing further can be in it */
		if (c->desc ? last < c->start_lo : first > c->start_hi) {
			if (c->one_object)
				release_statement(v, s);
			continue;
		}
		if (c->desc ? first > c->start_hi : last < c->start_lo)
			continue;
		const uint8_t *blob = sqlite3_column_blob(s->st, 4);
		int len = sqlite3_column_bytes(s->st, 4);
		if (n < 1 || n > len / 4 || !blob)
			return SQLITE_CORRUPT_VTAB;
		if (n > c->cap) {
			struct store_hold_row *r =
			    sqlite3_realloc64(c->rows, (sqlite3_uint64)n * sizeof(*r));
			if (!r)
				return SQLITE_NOMEM;
			c->rows = r;
			c->cap = (int)n;
		}
		if (store_holdchunks_decode(blob, (size_t)len, (int)n, obj, first, c->rows))
			return SQLITE_CORRUPT_VTAB;
		c->nrows = (int)n;
		return SQLITE_OK;
	}
	return SQLITE_OK;
}

/* Moves the chunk stream's head to its next hold in range. */
static int chunk_step(struct holds_cursor *c)
{
	struct stream *s = &c->chunks;
	for (;;) {
		if (c->next >= c->nrows) {
			int rc = chunk_load(c);
			if (rc != SQLITE_OK)
				return rc;
			if (!c->nrows) {
				s->valid = 0;
				return SQLITE_OK;
			}
		}
		const struct store_hold_row *h =
		    &c->rows[c->desc ? c->nrows - 1 - c->next : c->next];
		c->next++;
		if (start_in_range(c, h->start)) {
			s->head = *h;
			s->valid = 1;
			return SQLITE_OK;
		}
	}
}

static int row_cmp(const struct store_hold_row *a, const struct store_hold_row *b)
{
	if (a->obj != b->obj)
		return a->obj < b->obj ? -1 : 1;
	return store_holdchunks_cmp(a, b);
}

/* The next row of the merge: the head that comes first in the cursor's order. */
static int cursor_advance(struct holds_cursor *c)
{
	struct stream *from = NULL;
	if (c->chunks.valid && c->late.valid) {
		int cmp = row_cmp(&c->chunks.head, &c->late.head);
		from = (c->desc ? cmp >= 0 : cmp <= 0) ? &c->chunks : &c->late;
	} else if (c->chunks.valid) {
		from = &c->chunks;
	} else if (c->late.valid) {
		from = &c->late;
	}
	if (!from) {
		c->eof = 1;
		return SQLITE_OK;
	}
	c->cur = from->head;
	c->rowid++;
	return from == &c->chunks ? chunk_step(c) : late_step(c);
}

static int vtab_filter(sqlite3_vtab_cursor *base, int plan, const char *idx_str, int argc,
		       sqlite3_value **argv)
{
	(void)idx_str;
	struct holds_cursor *c = (struct holds_cursor *)base;
	struct holds_vtab *v = (struct holds_vtab *)base->pVtab;
	cursor_reset(c);
	c->rowid = 0;
	c->desc = (plan & PLAN_DESC) != 0;
	c->obj_lo = c->start_lo = INT64_MIN;
	c->obj_hi = c->start_hi = INT64_MAX;
	int arg = 0;
	for (int b = 0; b < BOUND_COUNT; b++) {
		if (!(plan & 1 << b))
			continue;
		if (arg >= argc)
			return SQLITE_ERROR;
		int object = b < BOUND_START_EQ;
		int kind = b - (object ? BOUND_OBJECT_EQ : BOUND_START_EQ);
		if (narrow(argv[arg++], kind, (plan & PLAN_STRICT(b)) != 0,
			   object ? &c->obj_lo : &c->start_lo, object ? &c->obj_hi : &c->start_hi))
			return SQLITE_OK; /* eof: nothing matches */
	}
	if (c->obj_lo > c->obj_hi || c->start_lo > c->start_hi)
		return SQLITE_OK;
	c->eof = 0;
	c->one_object = c->obj_lo == c->obj_hi;
	enum statement which = c->one_object
				   ? (c->desc ? ST_CHUNKS_ONE_STRADDLE : ST_CHUNKS_ONE_ASC)
				   : (c->desc ? ST_CHUNKS_RANGE_DESC : ST_CHUNKS_RANGE_ASC);
	int rc = take_statement(v, &c->chunks, which);
	if (rc != SQLITE_OK)
		return rc;
	c->straddle = which == ST_CHUNKS_ONE_STRADDLE;
	sqlite3_bind_int64(c->chunks.st, 1, c->obj_lo);
	if (c->one_object)
		sqlite3_bind_int64(c->chunks.st, 2, c->desc ? c->start_hi : c->start_lo);
	else
		sqlite3_bind_int64(c->chunks.st, 2, c->obj_hi);
	if ((rc = take_statement(v, &c->late, c->desc ? ST_LATE_DESC : ST_LATE_ASC)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(c->late.st, 1, c->obj_lo);
	sqlite3_bind_int64(c->late.st, 2, c->obj_hi);
	sqlite3_bind_int64(c->late.st, 3, c->start_lo);
	sqlite3_bind_int64(c->late.st, 4, c->start_hi);
	if ((rc = chunk_step(c)) != SQLITE_OK || (rc = late_step(c)) != SQLITE_OK)
		return rc;
	return cursor_advance(c);
}

static int vtab_next(sqlite3_vtab_cursor *base)
{
	return cursor_advance((struct holds_cursor *)base);
}

static int vtab_eof(sqlite3_vtab_cursor *base)
{
	return ((struct holds_cursor *)base)->eof;
}

static int vtab_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int col)
{
	const struct store_hold_row *h = &((struct holds_cursor *)base)->cur;
	int64_t v = 0;
	switch (col) {
	case COL_OBJECT:
		v = h->obj;
		break;
	case COL_PID:
		v = h->pid;
		break;
	case COL_TID:
		v = h->tid;
		break;
	case COL_START:
		v = h->start;
		break;
	case COL_END:
		v = h->end;
		break;
	case COL_MODE:
		v = h->mode;
		break;
	}
	sqlite3_result_int64(ctx, v);
	return SQLITE_OK;
}

static int vtab_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid)
{
	*rowid = ((struct holds_cursor *)base)->rowid;
	return SQLITE_OK;
}

static const sqlite3_module holds_module = {
    .iVersion = 0,
    .xCreate = vtab_create,
    .xConnect = vtab_connect,
    .xBestIndex = vtab_best_index,
    .xDisconnect = vtab_disconnect,
    .xDestroy = vtab_disconnect,
    .xOpen = vtab_open,
    .xClose = vtab_close,
    .xFilter = vtab_filter,
    .xNext = vtab_next,
    .xEof = vtab_eof,
    .xColumn = vtab_column,
    .xRowid = vtab_rowid,
};

int store_holdchunks_register(sqlite3 *db)
{
	return sqlite3_create_module(db, "weft_holds", &holds_module, NULL);
}

#ifdef WEFT_SQLITE_EXTENSION
/*
 * The entry point SQLite's loader derives from weft_sqlite.so's name:
 * `.load weft_sqlite` in the sqlite3 shell, sqlite3_load_extension()
 * elsewhere, makes object_holds readable there.
 */
__attribute__((visibility("default"))) int sqlite3_weftsqlite_init(sqlite3 *db, char **err,
								   const sqlite3_api_routines *api)
{
	(void)err;
	SQLITE_EXTENSION_INIT2(api);
	return store_holdchunks_register(db);
}
#endif
