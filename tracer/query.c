/*
 * weft query FILE SQL [--csv|--json]: runs one read-only SQL statement on a
 * trace and prints the result as an aligned table, CSV or JSON.
 *
 * The trace is opened read-only, and on top of that every statement must
 * pass an allow-list authorizer (reads, functions, a few read-only pragmas)
 * and sqlite3_stmt_readonly(): a read-only connection alone still allows
 * ATTACH of a new file, VACUUM INTO and connection pragmas.
 */
#include "tracer/cli.h"
#include "tracer/output.h"
#include "store/store.h"
#include "store/store_viewcache.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct query_auth {
	int denied;
	char what[128]; /* the first refused action, for the message */
};

/* Pragmas that only report; the ones that can also set are allowed without an argument. */
static const char *const pragma_any_arg[] = {
    "table_info",	"table_xinfo",	     "index_list",	"index_info",	"index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",	"table_list",
    "database_list",	"compile_options",   "function_list",	"pragma_list",	"collation_list",
    "module_list",	"page_count",	     "freelist_count",	"data_version",
};
static const char *const pragma_no_arg[] = {
    "user_version", "schema_version", "application_id", "encoding",
    "page_size",    "journal_mode",   "auto_vacuum",
};

static int name_in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(name, list[i]))
			return 1;
	return 0;
}

static const char *action_name(int code)
{
	switch (code) {
	case SQLITE_INSERT:
		return "INSERT";
	case SQLITE_UPDATE:
		return "UPDATE";
	case SQLITE_DELETE:
		return "DELETE";
	case SQLITE_ATTACH:
		return "ATTACH";
	case SQLITE_DETACH:
		return "DETACH";
	case SQLITE_TRANSACTION:
		return "a transaction statement";
	case SQLITE_SAVEPOINT:
		return "SAVEPOINT";
	case SQLITE_ALTER_TABLE:
		return "ALTER TABLE";
	case SQLITE_REINDEX:
		return "REINDEX";
	case SQLITE_ANALYZE:
		return "ANALYZE";
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_VIEW:
	case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_VTABLE:
		return "DROP";
	default:
		return "CREATE";
	}
}

/*
 * An allow-list rather than a deny-list: whatever SQLite adds later is
 * refused until someone decides it only reads.
 */
static int query_authorizer(void *ud, int action, const char *a1, const char *a2, const char *db,
			    const char *trigger)
{
	struct query_auth *qa = ud;
	(void)db;
	(void)trigger;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_UPDATE:
		/*
		 * Table-valued pragma functions (pragma_table_info(...)) declare
		 * their schema through an UPDATE check on sqlite_master; a real
		 * UPDATE of it is still refused by sqlite3_stmt_readonly().
		 */
		if (a1 && !strcmp(a1, "sqlite_master"))
			return SQLITE_OK;
		break;
	case SQLITE_PRAGMA:
		if (a1 &&
		    name_in(a1, pragma_any_arg, sizeof(pragma_any_arg) / sizeof(*pragma_any_arg)))
			return SQLITE_OK;
		if (a1 && !a2 &&
		    name_in(a1, pragma_no_arg, sizeof(pragma_no_arg) / sizeof(*pragma_no_arg)))
			return SQLITE_OK;
		if (!qa->denied)
			snprintf(qa->what, sizeof(qa->what), "PRAGMA %s%s%s", a1 ? a1 : "",
				 a2 ? "=" : "", a2 ? a2 : "");
		break;
	default:
		break;
	}
	if (action != SQLITE_PRAGMA) {
		if (!qa->denied)
			snprintf(qa->what, sizeof(qa->what), "%s", action_name(action));
	}
	qa->denied = 1;
	return SQLITE_DENY;
}

/* ---- one row in each format ---- */

static void row_table(struct out_table *t, sqlite3_stmt *st, int ncol)
{
	for (int c = 0; c < ncol; c++) {
		switch (sqlite3_column_type(st, c)) {
		case SQLITE_NULL:
			out_table_cell(t, "NULL", 0);
			break;
		case SQLITE_INTEGER:
		case SQLITE_FLOAT:
			out_table_cell(t, (const char *)sqlite3_column_text(st, c), 1);
			break;
		case SQLITE_BLOB: {
			const void *b = sqlite3_column_blob(st, c);
			char *hex = out_hex(b, (size_t)sqlite3_column_bytes(st, c));
			out_table_cellf(t, 0, "x'%s'", hex ? hex : "");
			free(hex);
			break;
		}
		default:
			out_table_cell(t, (const char *)sqlite3_column_text(st, c), 0);
			break;
		}
	}
	out_table_end_row(t);
}

static void row_csv(FILE *f, sqlite3_stmt *st, int ncol, int sanitize)
{
	for (int c = 0; c < ncol; c++) {
		int type = sqlite3_column_type(st, c);
		if (type == SQLITE_NULL) {
			out_csv_field(f, NULL, 0, c == 0, 0);
		} else if (type == SQLITE_BLOB) {
			const void *b = sqlite3_column_blob(st, c);
			char *hex = out_hex(b, (size_t)sqlite3_column_bytes(st, c));
			out_csv_field(f, hex ? hex : "", hex ? strlen(hex) : 0, c == 0, 0);
			free(hex);
		} else {
			const char *s = (const char *)sqlite3_column_text(st, c);
			size_t len = (size_t)sqlite3_column_bytes(st, c);
			out_csv_field(f, s ? s : "", s ? len : 0, c == 0, sanitize);
		}
	}
	out_csv_end_row(f);
}

/*
 * Writes each column of st's current row as a key of the JSON object open
 * in j: integers and reals as numbers, blobs in hex, text as it is.
 */
void weft_query_json_columns(struct out_json *j, sqlite3_stmt *st)
{
	int ncol = sqlite3_column_count(st);
	for (int c = 0; c < ncol; c++) {
		const char *name = sqlite3_column_name(st, c);
		out_json_key(j, name ? name : "");
		switch (sqlite3_column_type(st, c)) {
		case SQLITE_NULL:
			out_json_null(j);
			break;
		case SQLITE_INTEGER:
			out_json_int(j, sqlite3_column_int64(st, c));
			break;
		case SQLITE_FLOAT:
			out_json_double(j, sqlite3_column_double(st, c));
			break;
		case SQLITE_BLOB: {
			const void *b = sqlite3_column_blob(st, c);
			char *hex = out_hex(b, (size_t)sqlite3_column_bytes(st, c));
			out_json_string(j, hex ? hex : "");
			free(hex);
			break;
		}
		default: {
			const char *s = (const char *)sqlite3_column_text(st, c);
			out_json_string_n(j, s ? s : "",
					  s ? (size_t)sqlite3_column_bytes(st, c) : 0);
			break;
		}
		}
	}
}

static void row_json(struct out_json *j, sqlite3_stmt *st)
{
	out_json_begin_object(j);
	weft_query_json_columns(j, st);
	out_json_end_object(j);
}

/*
 * Steps st to the end, writing rows to stdout in fmt. Returns 0, or -1 with
 * the error already reported.
 */
static int print_result(sqlite3 *db, sqlite3_stmt *st, enum weft_query_format fmt)
{
	int ncol = sqlite3_column_count(st);
	int sanitize_csv = isatty(STDOUT_FILENO);
	struct out_table *t = NULL;
	struct out_json j;
	int rc, ret = -1;

	if (fmt == WEFT_QUERY_TABLE) {
		t = out_table_new(stdout, "");
		if (!t) {
			weft_error("out of memory");
			return -1;
		}
		for (int c = 0; c < ncol; c++)
			out_table_header(t, sqlite3_column_name(st, c));
	} else if (fmt == WEFT_QUERY_CSV) {
		for (int c = 0; c < ncol; c++) {
			const char *name = sqlite3_column_name(st, c);
			out_csv_field(stdout, name, name ? strlen(name) : 0, c == 0, sanitize_csv);
		}
		if (ncol)
			out_csv_end_row(stdout);
	} else {
		out_json_init(&j, stdout, 1);
		out_json_begin_array(&j);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fmt == WEFT_QUERY_TABLE)
			row_table(t, st, ncol);
		else if (fmt == WEFT_QUERY_CSV)
			row_csv(stdout, st, ncol, sanitize_csv);
		else
			row_json(&j, st);
	}
	if (rc != SQLITE_DONE) {
		weft_error("query: %s", sqlite3_errmsg(db));
		goto out;
	}
	ret = 0;
out:
	if (fmt == WEFT_QUERY_TABLE) {
		/* A statement without result columns (e.g. a pragma that only checks) prints
		 * nothing. */
		out_table_finish(t, ret == 0 && ncol > 0);
	} else if (fmt == WEFT_QUERY_JSON && ret == 0) {
		out_json_end_array(&j);
	}
	return ret;
}

/* Whether the rest of the SQL text holds another statement (not just blanks and comments). */
static int has_more_statements(sqlite3 *db, const char *tail)
{
	sqlite3_stmt *st = NULL;
	if (!tail || !*tail)
		return 0;
	int rc = sqlite3_prepare_v2(db, tail, -1, &st, NULL);
	sqlite3_finalize(st);
	/* A syntax error after the first statement still means there is more. */
	return rc != SQLITE_OK || st != NULL;
}

/* Attaches no file and lets only reads through: what every statement runs under. */
static void lock_down(sqlite3 *db, struct query_auth *qa)
{
	/* Defense in depth behind the authorizer: no attached files, no schema tricks. */
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_set_authorizer(db, query_authorizer, qa);
}

/*
 * A statement that failed on a missing derived table (object_holds, ...:
 * docs/DERIVED.md): the trace's TRACE-view attached when it is this
 * trace's, else the tables built in temp (never saved: weft query writes
 * nothing), as weft report does. Returns 1 when they are there now, 0 when
 * the statement names no derived table, -1 with the error printed.
 */
static int derived_for(sqlite3 *db, const char *path, struct query_auth *qa)
{
	const char *msg = sqlite3_errmsg(db), *prefix = "no such table: ";
	if (strncmp(msg, prefix, strlen(prefix)))
		return 0;
	const char *name = msg + strlen(prefix), *dot = strrchr(name, '.');
	if (!store_derived_table(dot ? dot + 1 : name))
		return 0;
	int64_t complete = 0;
	char err[512];
	sqlite3_set_authorizer(db, NULL, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 10);
	store_query_int64(db, "SELECT value = '1' FROM meta WHERE key = 'complete'", &complete);
	int rc = 1;
	if (store_view_derived(db, path, complete == 1, err, sizeof(err))) {
		weft_error("query: %s", err);
		rc = -1;
	}
	lock_down(db, qa);
	return rc;
}

int weft_query(const char *path, const char *sql, enum weft_query_format fmt)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct query_auth qa = {0};
	char err[1024];
	int ret = 1;

	db = store_open_read(path, err, sizeof(err));
	if (!db) {
		weft_error("%s", err);
		goto out;
	}
	lock_down(db, &qa);

	const char *tail = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
	if (rc != SQLITE_OK && !qa.denied) {
		int derived = derived_for(db, path, &qa);
		if (derived < 0)
			goto out;
		if (derived)
			rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
	}
	if (qa.denied) {
		weft_error("query: refused: %s would modify the trace or the connection; weft "
			   "query only runs read-only statements",
			   qa.what);
		goto out;
	}
	if (rc != SQLITE_OK) {
		weft_error("query: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (!st) {
		weft_error("query: no SQL statement given");
		goto out;
	}
	if (!sqlite3_stmt_readonly(st)) {
		weft_error("query: refused: the statement would write; weft query only runs "
			   "read-only statements");
		goto out;
	}
	if (has_more_statements(db, tail)) {
		weft_error("query: give one SQL statement per query (found more after the first)");
		goto out;
	}
	if (print_result(db, st, fmt) == 0)
		ret = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		weft_error("query: cannot write the output");
		ret = 1;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}
