/*
 * Race findings: the rows of the raw `race` table (written by the collector
 * from the Python race detector, preload/races.c) grouped into one finding
 * per pair of code locations and rule, with a count. The earliest detailed
 * occurrence describes the group: both accesses with their threads,
 * stacks, events and the locks each side held.
 */
#include "store/store_races.h"

#include "preload/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_name[] = {
    [WEFT_RACE_READ_WRITE] = "read_write",
    [WEFT_RACE_WRITE_WRITE] = "write_write",
    [WEFT_RACE_CHECK_THEN_ACT] = "check_then_act",
    [WEFT_RACE_LOST_UPDATE] = "lost_update",
};

static const char *const rule_title[] = {
    [WEFT_RACE_READ_WRITE] = "data race (read/write)",
    [WEFT_RACE_WRITE_WRITE] = "data race (write/write)",
    [WEFT_RACE_CHECK_THEN_ACT] = "check-then-act race",
    [WEFT_RACE_LOST_UPDATE] = "lost update",
};

static const char *const rule_detail[] = {
    [WEFT_RACE_READ_WRITE] =
	"No lock, queue, Event, Condition or join orders these two accesses, so the read "
	"can see the value from before or after the write depending on when the GIL "
	"switches threads. Guard both with the same lock, or hand the data over through a "
	"queue.",
    [WEFT_RACE_WRITE_WRITE] =
	"Two threads store to the same location with nothing ordering the stores: which "
	"value survives depends on timing. Guard both with the same lock.",
    [WEFT_RACE_CHECK_THEN_ACT] =
	"A thread checked for the key, missed, and stored it, while another thread touched "
	"the same key with nothing ordering the two: both threads can miss and both create "
	"the item, even if this run did not show it. Hold one lock around the check and the "
	"store (or use dict.setdefault).",
    [WEFT_RACE_LOST_UPDATE] =
	"A read-modify-write (x += 1, x = x + 1) is a read then a write: two threads can "
	"read the same old value and one update is lost. Hold a lock around the update.",
};

/* How the finding words an access: from enum weft_race_access. */
static const char *verb(int flags)
{
	if (flags & WEFT_ACC_RMW)
		return "updated";
	if ((flags & WEFT_ACC_WRITE) && (flags & WEFT_ACC_CTA))
		return "stored after missing";
	if ((flags & WEFT_ACC_WRITE) && (flags & WEFT_ACC_ATOMIC))
		return "set (atomically)";
	if (flags & WEFT_ACC_WRITE)
		return "wrote";
	if (flags & WEFT_ACC_MISS)
		return "checked (missed)";
	return "read";
}

struct side {
	int tid, flags;
	int64_t ts, stack, event;
	char thread[128], where[512];
	char held[512]; /* names of the locks held, "" none */
	const char *held_ids;
};

static int table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master WHERE name = ?1", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

static void describe(sqlite3 *db, int pid, struct side *s)
{
	sqlite3_stmt *st = NULL;
	snprintf(s->thread, sizeof(s->thread), "%d", s->tid);
	if (sqlite3_prepare_v2(db, "SELECT name FROM main.thr WHERE pid = ?1 AND tid = ?2", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, pid);
		sqlite3_bind_int(st, 2, s->tid);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(s->thread, sizeof(s->thread), "%d '%s'", s->tid,
				 (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	st = NULL;
	snprintf(s->where, sizeof(s->where), "?");
	if (sqlite3_prepare_v2(db,
			       "SELECT function, file, line FROM main.frame WHERE stack_id = ?1"
			       " AND depth = 0",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, s->stack);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *fn = (const char *)sqlite3_column_text(st, 0);
			const char *file = (const char *)sqlite3_column_text(st, 1);
			const char *base = file ? strrchr(file, '/') : NULL;
			snprintf(s->where, sizeof(s->where), "%s:%d (%s)",
				 base	? base + 1
				 : file ? file
					: "?",
				 sqlite3_column_int(st, 2), fn ? fn : "?");
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	s->event = 0;
	if (sqlite3_prepare_v2(
		db,
		"SELECT e.id FROM main.ev e JOIN main.thread_no t ON t.th = e.th"
		" WHERE t.pid = ?1 AND t.tid = ?2 AND e.ts = ?3 AND e.kind = ?4 LIMIT 1",
		-1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, pid);
		sqlite3_bind_int(st, 2, s->tid);
		sqlite3_bind_int64(st, 3, s->ts);
		sqlite3_bind_int(st, 4, WEFT_EV_RACE_ACCESS);
		if (sqlite3_step(st) == SQLITE_ROW)
			s->event = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	st = NULL;
	s->held[0] = 0;
	if (s->held_ids && *s->held_ids &&
	    sqlite3_prepare_v2(
		db,
		"SELECT group_concat(coalesce(name, 'object ' || object_id), ', ')"
		" FROM main.obj WHERE ',' || ?1 || ',' LIKE '%,' || object_id || ',%'",
		-1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, s->held_ids, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(s->held, sizeof(s->held), "%s",
				 (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

static int add_item(sqlite3 *db, const char *schema, int64_t fid, int seq, const char *role,
		    int pid, int tid, int64_t object, int64_t event, int64_t stack)
{
	char *sql = sqlite3_mprintf("INSERT INTO %s.finding_item(finding_id, seq, role, pid, tid,"
				    " object_id, event_id, stack_id) VALUES(%lld, %d, %Q, %d, %d,"
				    " NULLIF(%lld, 0), NULLIF(%lld, 0), NULLIF(%lld, 0))",
				    schema, (long long)fid, seq, role, pid, tid, (long long)object,
				    (long long)event, (long long)stack);
	int rc = sql && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	sqlite3_free(sql);
	return rc;
}

/* The locks a side held, as `held` participants. */
static int add_held(sqlite3 *db, const char *schema, int64_t fid, int *seq, int pid, int tid,
		    const char *ids)
{
	for (const char *p = ids; p && *p;) {
		char *end;
		long long id = strtoll(p, &end, 10);
		if (end == p)
			break;
		if (add_item(db, schema, fid, (*seq)++, "held", pid, tid, id, 0, 0))
			return -1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static void locks_phrase(const struct side *a, const struct side *b, char *buf, size_t len)
{
	if (!a->held[0] && !b->held[0])
		snprintf(buf, len, "no lock held");
	else if (a->held[0] && b->held[0])
		snprintf(buf, len, "each held a different lock: %s by %s, %s by %s", a->held,
			 a->thread, b->held, b->thread);
	else
		snprintf(buf, len, "locks held: %s by %s, %s by %s", a->held[0] ? a->held : "none",
			 a->thread, b->held[0] ? b->held : "none", b->thread);
}

int store_build_race_findings(sqlite3 *db, const char *schema, char *err, size_t errlen)
{
	if (!table_exists(db, "race"))
		return 0; /* a trace from before the race detector */
	sqlite3_stmt *groups = NULL, *first = NULL, *ins = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(
		db,
		"SELECT pid, rule, min(site_a, site_b) AS s1, max(site_a, site_b) AS s2,"
		" count(*), min(CASE WHEN location IS NOT NULL THEN id END) AS f FROM main.race"
		" GROUP BY pid, rule, s1, s2 HAVING f IS NOT NULL ORDER BY f",
		-1, &groups, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT tid_a, ts_a, flags_a, stack_a, held_a, tid_b, ts_b, flags_b,"
			       " stack_b, held_b, location FROM main.race WHERE id = ?1",
			       -1, &first, NULL) != SQLITE_OK)
		goto out;
	char *sql = sqlite3_mprintf(
	    "INSERT INTO %s.finding(kind, rule, severity, summary, detail, count, event_id,"
	    " ts_ns, pid, tid, group_key) VALUES('race', ?1, ?2, ?3, ?4, ?5, NULLIF(?6, 0),"
	    " ?7, ?8, ?9, ?10)",
	    schema);
	int prc = sql ? sqlite3_prepare_v2(db, sql, -1, &ins, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (prc != SQLITE_OK)
		goto out;
	int step;
	while ((step = sqlite3_step(groups)) == SQLITE_ROW) {
		int pid = sqlite3_column_int(groups, 0);
		int rule = sqlite3_column_int(groups, 1);
		int64_t count = sqlite3_column_int64(groups, 4);
		if (rule < WEFT_RACE_READ_WRITE || rule > WEFT_RACE_LOST_UPDATE)
			continue;
		sqlite3_bind_int64(first, 1, sqlite3_column_int64(groups, 5));
		if (sqlite3_step(first) != SQLITE_ROW) {
			sqlite3_reset(first);
			continue;
		}
		struct side a = {0}, b = {0};
		a.tid = sqlite3_column_int(first, 0);
		a.ts = sqlite3_column_int64(first, 1);
		a.flags = sqlite3_column_int(first, 2);
		a.stack = sqlite3_column_int64(first, 3);
		char *held_a = strdup((const char *)sqlite3_column_text(first, 4) ?: "");
		b.tid = sqlite3_column_int(first, 5);
		b.ts = sqlite3_column_int64(first, 6);
		b.flags = sqlite3_column_int(first, 7);
		b.stack = sqlite3_column_int64(first, 8);
		char *held_b = strdup((const char *)sqlite3_column_text(first, 9) ?: "");
		char *loc = strdup((const char *)sqlite3_column_text(first, 10) ?: "?");
		sqlite3_reset(first);
		if (!held_a || !held_b || !loc) {
			free(held_a);
			free(held_b);
			free(loc);
			goto out;
		}
		a.held_ids = held_a;
		b.held_ids = held_b;
		describe(db, pid, &a);
		describe(db, pid, &b);
		char locks[1600], summary[4096], key[128];
		locks_phrase(&a, &b, locks, sizeof(locks));
		snprintf(summary, sizeof(summary),
			 "%s on %s: thread %s %s it at %s, thread %s %s it at %s; %s",
			 rule_title[rule], loc, a.thread, verb(a.flags), a.where, b.thread,
			 verb(b.flags), b.where, locks);
		snprintf(key, sizeof(key), "race:%d:%lld:%lld:%d", pid,
			 (long long)sqlite3_column_int64(groups, 2),
			 (long long)sqlite3_column_int64(groups, 3), rule);
		sqlite3_bind_text(ins, 1, rule_name[rule], -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, rule == WEFT_RACE_READ_WRITE ? "warning" : "error", -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, summary, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 4, rule_detail[rule], -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, count);
		sqlite3_bind_int64(ins, 6, b.event);
		sqlite3_bind_int64(ins, 7, b.ts);
		sqlite3_bind_int(ins, 8, pid);
		sqlite3_bind_int(ins, 9, b.tid);
		sqlite3_bind_text(ins, 10, key, -1, SQLITE_TRANSIENT);
		int ok = sqlite3_step(ins) == SQLITE_DONE;
		sqlite3_reset(ins);
		int64_t fid = sqlite3_last_insert_rowid(db);
		int seq = 0;
		ok = ok &&
		     !add_item(db, schema, fid, seq++, "access", pid, a.tid, 0, a.event, a.stack) &&
		     !add_item(db, schema, fid, seq++, "access", pid, b.tid, 0, b.event, b.stack) &&
		     !add_held(db, schema, fid, &seq, pid, a.tid, held_a) &&
		     !add_held(db, schema, fid, &seq, pid, b.tid, held_b);
		free(held_a);
		free(held_b);
		free(loc);
		if (!ok)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	if (rc)
		snprintf(err, errlen, "race findings: %s", sqlite3_errmsg(db));
	sqlite3_finalize(groups);
	sqlite3_finalize(first);
	sqlite3_finalize(ins);
	return rc;
}
