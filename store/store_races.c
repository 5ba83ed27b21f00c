/*
 * Race findings: the rows of the raw `race` table (written by the collector
 * from the Python race detector, preload/races.c) grouped into one finding
 * per bug: the races of one variable (`cache`, `self.free`, `Stats.hits`) in
 * one source file (or pair of files), whatever the keys, functions, lines and
 * rules: one lock around its accesses is the fix. The finding takes
 * the most specific rule seen (check-then-act, lost update, write/write,
 * read/write); its earliest occurrence with that rule describes it (both
 * accesses with their threads, stacks, events and the locks each side
 * held); it names the keys involved and lists every detailed occurrence.
 */
#include "store/store_races.h"
#include "store/store.h"
#include "store/store_util.h"

#include "preload/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
static const char *const rule_name[] = {
    [WEFT_RACE_READ_WRITE] = "read_write",
    [WEFT_RACE_WRITE_WRITE] = "write_write",
    [WEFT_RACE_CHECK_THEN_ACT] = "check_then_act",
    [WEFT_RACE_LOST_UPDATE] = "lost_update",
    [WEFT_RACE_STALE_CHECK] = "stale_check",
};
/* clang-format on */

static const char *const rule_title[] = {
    [WEFT_RACE_READ_WRITE] = "data race (read/write)",
    [WEFT_RACE_WRITE_WRITE] = "data race (write/write)",
    [WEFT_RACE_CHECK_THEN_ACT] = "check-then-act race",
    [WEFT_RACE_LOST_UPDATE] = "lost update",
    [WEFT_RACE_STALE_CHECK] = "check-then-act across a released lock",
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
	"A thread checked for the key (or a container's length or membership), missed, and "
	"acted on it, while another thread touched the same location with nothing ordering "
	"the two: both threads can miss and both create the item (or both take the last "
	"one), even if this run did not show it. Hold one lock around the check and the "
	"action (or use dict.setdefault).",
    [WEFT_RACE_LOST_UPDATE] =
	"A read-modify-write (x += 1, d[k] = d.get(k, 0) + 1) is a read then a write: two "
	"threads can read the same old value and one update is lost. Hold a lock around the "
	"update.",
    [WEFT_RACE_STALE_CHECK] =
	"A thread checked for the key under a lock, missed, let the lock go and stored the "
	"key later; in between another thread stored the same key. Each access was locked, "
	"yet both threads created the item (this run did: the later store replaced the "
	"earlier one). Hold one lock from the check to the store, or check again under the "
	"lock before storing (dict.setdefault).",
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
	if (flags & WEFT_ACC_CHECK)
		return "checked";
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

/* clang-format off */
#define ACCESS_EVENT_SQL                                                                    \
	"SELECT id FROM main.ev WHERE id >= ?5 AND id < ?6 AND ts = ?3 AND kind = ?4"       \
	" AND th = (SELECT th FROM main.thread_no WHERE pid = ?1 AND tid = ?2) LIMIT 1"
/* clang-format on */

/*
 * The race.access event of one side of an occurrence (0 when none). There
 * is no index over ev but its rowid: in a time-ordered trace the read is
 * bounded to the ids at ts (ev is the statement of ACCESS_EVENT_SQL).
 */
static int64_t access_event(sqlite3 *db, sqlite3_stmt *ev, int pid, int tid, int64_t ts)
{
	int64_t id = 0;
	int ordered = store_events_time_ordered(db);
	sqlite3_bind_int(ev, 1, pid);
	sqlite3_bind_int(ev, 2, tid);
	sqlite3_bind_int64(ev, 3, ts);
	sqlite3_bind_int(ev, 4, WEFT_EV_RACE_ACCESS);
	sqlite3_bind_int64(ev, 5, ordered ? store_event_at(db, ts) : 0);
	sqlite3_bind_int64(ev, 6,
			   ordered && ts < INT64_MAX ? store_event_at(db, ts + 1) : INT64_MAX);
	if (sqlite3_step(ev) == SQLITE_ROW)
		id = sqlite3_column_int64(ev, 0);
	sqlite3_reset(ev);
	return id;
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
	if (sqlite3_prepare_v2(db, ACCESS_EVENT_SQL, -1, &st, NULL) == SQLITE_OK)
		s->event = access_event(db, st, pid, s->tid, s->ts);
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

static void locks_phrase(const struct side *a, const struct side *b, int rule, char *buf,
			 size_t len)
{
	if (rule == WEFT_RACE_STALE_CHECK && b->held[0] && !strcmp(a->held_ids, b->held_ids))
		snprintf(buf, len, "both held %s, which %s let go between its check and its store",
			 b->held, b->thread);
	else if (rule == WEFT_RACE_STALE_CHECK)
		snprintf(
		    buf, len,
		    "ordered (locks held: %s by %s, %s by %s), but %s checked before %s stored",
		    a->held[0] ? a->held : "none", a->thread, b->held[0] ? b->held : "none",
		    b->thread, b->thread, a->thread);
	else if (!a->held[0] && !b->held[0])
		snprintf(buf, len, "no lock held");
	else if (a->held[0] && b->held[0])
		snprintf(buf, len, "each held a different lock: %s by %s, %s by %s", a->held,
			 a->thread, b->held, b->thread);
	else
		snprintf(buf, len, "locks held: %s by %s, %s by %s", a->held[0] ? a->held : "none",
			 a->thread, b->held[0] ? b->held : "none", b->thread);
}

/*
 * The preload writes a location as "variable\x1f[key]" (items) or
 * "variable" (attributes, globals, whole containers): the variable names
 * the finding, the keys are listed.
 */
#define LABEL_KEY_SEP '\x1f'

#define KEYS_KEPT 64	    /* distinct keys remembered per finding (counted up to this) */
#define KEYS_SHOWN 3	    /* keys the summary names */
#define OCCURRENCES_MAX 256 /* detailed occurrences listed per finding */

/* One finding: the races of one variable in one file (or pair of files). */
struct group {
	int pid;
	char *key; /* pid, variable and the files of both sides */
	char *var;
	int rule;
	int64_t rep; /* race.id of the earliest occurrence with the finding's rule */
	int64_t count;
	char *keys[KEYS_KEPT];
	int nkeys;
	int64_t *occ; /* race.id of each detailed occurrence, in order */
	size_t nocc;
};

struct site_pair {
	int pid;
	int64_t s1, s2;
	size_t group;
};

/* Groups and site pairs, each with an open-addressing index (slot + 1; 0 empty). */
struct grouping {
	struct group *g;
	size_t n, cap;
	struct site_pair *p;
	size_t np, capp;
	size_t *gidx, *pidx; /* sized 2 * cap and 2 * capp */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static uint64_t hash_pair(int pid, int64_t s1, int64_t s2)
{
	return ((uint64_t)pid * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)s1 * 0xc2b2ae3d27d4eb4full) ^
	       ((uint64_t)s2 * 0x165667b19e3779f9ull);
}

/* Rebuilds an index of n entries into 2 * cap slots. 0, or -1 out of memory. */
static int reindex(size_t **idx, size_t cap, size_t n,
		   uint64_t (*key)(const struct grouping *, size_t), const struct grouping *gr)
{
	size_t *t = calloc(2 * cap, sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)(key(gr, i) % (2 * cap));
		while (t[h])
			h = (h + 1) % (2 * cap);
		t[h] = i + 1;
	}
	free(*idx);
	*idx = t;
	return 0;
}

static uint64_t group_hash(const struct grouping *gr, size_t i)
{
	return hash_str(gr->g[i].key);
}

static uint64_t pair_hash(const struct grouping *gr, size_t i)
{
	return hash_pair(gr->p[i].pid, gr->p[i].s1, gr->p[i].s2);
}

/* How specific a rule is: a finding carries the most specific one seen. */
static int rule_rank(int rule)
{
	switch (rule) {
	case WEFT_RACE_STALE_CHECK: /* seen happening, not only possible */
		return 5;
	case WEFT_RACE_CHECK_THEN_ACT:
		return 4;
	case WEFT_RACE_LOST_UPDATE:
		return 3;
	case WEFT_RACE_WRITE_WRITE:
		return 2;
	default:
		return 1;
	}
}

/* The file of a stack's innermost frame into buf ("?" when unknown). */
static void code_of(sqlite3_stmt *frame, int64_t stack, char *buf, size_t len)
{
	snprintf(buf, len, "?");
	sqlite3_bind_int64(frame, 1, stack);
	if (sqlite3_step(frame) == SQLITE_ROW)
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(frame, 1) ?: "?");
	sqlite3_reset(frame);
}

static struct site_pair *pair_find(struct grouping *gr, int pid, int64_t s1, int64_t s2)
{
	if (!gr->capp)
		return NULL;
	for (size_t h = (size_t)(hash_pair(pid, s1, s2) % (2 * gr->capp)); gr->pidx[h];
	     h = (h + 1) % (2 * gr->capp)) {
		struct site_pair *p = &gr->p[gr->pidx[h] - 1];
		if (p->pid == pid && p->s1 == s1 && p->s2 == s2)
			return p;
	}
	return NULL;
}

/* The group for key, made when new. NULL when out of memory. */
static struct group *group_for(struct grouping *gr, int pid, const char *key, const char *var)
{
	uint64_t hk = hash_str(key);
	for (size_t h = gr->cap ? (size_t)(hk % (2 * gr->cap)) : 0; gr->cap && gr->gidx[h];
	     h = (h + 1) % (2 * gr->cap))
		if (!strcmp(gr->g[gr->gidx[h] - 1].key, key))
			return &gr->g[gr->gidx[h] - 1];
	if (gr->n == gr->cap) {
		struct group *grown = store_grow(gr->g, &gr->cap, gr->n, sizeof(*grown));
		if (!grown)
			return NULL;
		gr->g = grown;
		if (reindex(&gr->gidx, gr->cap, gr->n, group_hash, gr))
			return NULL;
	}
	struct group *g = &gr->g[gr->n];
	memset(g, 0, sizeof(*g));
	g->pid = pid;
	g->key = strdup(key);
	g->var = strdup(var);
	if (!g->key || !g->var) {
		free(g->key);
		free(g->var);
		return NULL;
	}
	size_t h = (size_t)(hk % (2 * gr->cap));
	while (gr->gidx[h])
		h = (h + 1) % (2 * gr->cap);
	gr->gidx[h] = ++gr->n;
	return g;
}

/* Adds one detailed occurrence. 0, or -1 when out of memory. */
static int group_add(struct grouping *gr, struct group *g, int64_t id, int rule,
		     const char *keypart, int pid, int64_t s1, int64_t s2)
{
	if (!g->rep || rule_rank(rule) > rule_rank(g->rule)) {
		g->rep = id;
		g->rule = rule;
	}
	if (keypart && *keypart && g->nkeys < KEYS_KEPT) {
		int seen = 0;
		for (int i = 0; i < g->nkeys && !seen; i++)
			seen = !strcmp(g->keys[i], keypart);
		if (!seen && !(g->keys[g->nkeys] = strdup(keypart)))
			return -1;
		g->nkeys += !seen;
	}
	if (g->nocc < OCCURRENCES_MAX) {
		if (!(g->nocc & (g->nocc - 1)) || !g->nocc) {
			int64_t *o = realloc(g->occ, (g->nocc ? g->nocc * 2 : 1) * sizeof(*o));
			if (!o)
				return -1;
			g->occ = o;
		}
		g->occ[g->nocc++] = id;
	}
	if (!pair_find(gr, pid, s1, s2)) {
		if (gr->np == gr->capp) {
			size_t cap = gr->capp ? gr->capp * 2 : 64;
			struct site_pair *p = realloc(gr->p, cap * sizeof(*p));
			if (!p)
				return -1;
			gr->p = p;
			gr->capp = cap;
			if (reindex(&gr->pidx, cap, gr->np, pair_hash, gr))
				return -1;
		}
		gr->p[gr->np] = (struct site_pair){pid, s1, s2, (size_t)(g - gr->g)};
		size_t h = (size_t)(hash_pair(pid, s1, s2) % (2 * gr->capp));
		while (gr->pidx[h])
			h = (h + 1) % (2 * gr->capp);
		gr->pidx[h] = ++gr->np;
	}
	return 0;
}

static void grouping_free(struct grouping *gr)
{
	for (size_t i = 0; i < gr->n; i++) {
		free(gr->g[i].key);
		free(gr->g[i].var);
		for (int k = 0; k < gr->g[i].nkeys; k++)
			free(gr->g[i].keys[k]);
		free(gr->g[i].occ);
	}
	free(gr->g);
	free(gr->p);
	free(gr->gidx);
	free(gr->pidx);
}

/*
 * Reads the race table into groups: every detailed occurrence by its
 * variable and files, then every occurrence (light repeats
 * too) counted through its pair of sites. 0, or -1.
 */
static int group_races(sqlite3 *db, struct grouping *gr)
{
	sqlite3_stmt *rows = NULL, *frame = NULL, *pairs = NULL;
	int rc = -1, step;
	if (sqlite3_prepare_v2(db,
			       "SELECT id, pid, rule, min(site_a, site_b), max(site_a, site_b),"
			       " location, stack_a, stack_b FROM main.race"
			       " WHERE location IS NOT NULL ORDER BY id",
			       -1, &rows, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT function, file FROM main.frame WHERE stack_id = ?1"
			       " AND depth = 0",
			       -1, &frame, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT pid, min(site_a, site_b) AS s1, max(site_a, site_b) AS s2,"
			       " count(*) FROM main.race GROUP BY pid, s1, s2",
			       -1, &pairs, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(rows)) == SQLITE_ROW) {
		int rule = sqlite3_column_int(rows, 2);
		if (rule < WEFT_RACE_READ_WRITE || rule > WEFT_RACE_STALE_CHECK)
			continue;
		int pid = sqlite3_column_int(rows, 1);
		char loc[512], fa[600], fb[600], key[2048];
		snprintf(loc, sizeof(loc), "%s", (const char *)sqlite3_column_text(rows, 5) ?: "?");
		char *sep = strchr(loc, LABEL_KEY_SEP);
		const char *keypart = NULL;
		if (sep) {
			*sep = 0;
			keypart = sep + 1;
		}
		code_of(frame, sqlite3_column_int64(rows, 6), fa, sizeof(fa));
		code_of(frame, sqlite3_column_int64(rows, 7), fb, sizeof(fb));
		int ordered = strcmp(fa, fb) <= 0;
		snprintf(key, sizeof(key), "%d\n%s\n%s\n%s", pid, loc, ordered ? fa : fb,
			 ordered ? fb : fa);
		struct group *g = group_for(gr, pid, key, loc);
		if (!g || group_add(gr, g, sqlite3_column_int64(rows, 0), rule, keypart, pid,
				    sqlite3_column_int64(rows, 3), sqlite3_column_int64(rows, 4)))
			goto out;
	}
	if (step != SQLITE_DONE)
		goto out;
	while ((step = sqlite3_step(pairs)) == SQLITE_ROW) {
		struct site_pair *p =
		    pair_find(gr, sqlite3_column_int(pairs, 0), sqlite3_column_int64(pairs, 1),
			      sqlite3_column_int64(pairs, 2));
		if (p) /* else only light repeats of a pair never detailed: a full table */
			gr->g[p->group].count += sqlite3_column_int64(pairs, 3);
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(rows);
	sqlite3_finalize(frame);
	sqlite3_finalize(pairs);
	return rc;
}

/* "cache[0], cache[1], cache[2], ... (10 keys)", or the variable alone. */
static void locations_phrase(const struct group *g, char *buf, size_t len)
{
	if (!g->nkeys) {
		snprintf(buf, len, "%s", g->var);
		return;
	}
	size_t o = 0;
	for (int i = 0; i < g->nkeys && i < KEYS_SHOWN && o < len; i++)
		o +=
		    (size_t)snprintf(buf + o, len - o, "%s%s%s", i ? ", " : "", g->var, g->keys[i]);
	if (g->nkeys > KEYS_SHOWN && o < len)
		o += (size_t)snprintf(buf + o, len - o, ", ...");
	if (g->nkeys > 1 && o < len)
		snprintf(buf + o, len - o, " (%s%d keys)", g->nkeys == KEYS_KEPT ? "at least " : "",
			 g->nkeys);
}

/* Both accesses of every other detailed occurrence, as `occurrence` participants. */
static int add_occurrences(sqlite3 *db, const char *schema, int64_t fid, int *seq,
			   const struct group *g, sqlite3_stmt *occ, sqlite3_stmt *ev)
{
	for (size_t i = 0; i < g->nocc; i++) {
		if (g->occ[i] == g->rep)
			continue;
		sqlite3_bind_int64(occ, 1, g->occ[i]);
		if (sqlite3_step(occ) != SQLITE_ROW) {
			sqlite3_reset(occ);
			continue;
		}
		int tid_a = sqlite3_column_int(occ, 0), tid_b = sqlite3_column_int(occ, 3);
		int64_t ts_a = sqlite3_column_int64(occ, 1), ts_b = sqlite3_column_int64(occ, 4);
		int64_t st_a = sqlite3_column_int64(occ, 2), st_b = sqlite3_column_int64(occ, 5);
		sqlite3_reset(occ);
		if (add_item(db, schema, fid, (*seq)++, "occurrence", g->pid, tid_a, 0,
			     access_event(db, ev, g->pid, tid_a, ts_a), st_a) ||
		    add_item(db, schema, fid, (*seq)++, "occurrence", g->pid, tid_b, 0,
			     access_event(db, ev, g->pid, tid_b, ts_b), st_b))
			return -1;
	}
	return 0;
}

static int insert_group(sqlite3 *db, const char *schema, const struct group *g, sqlite3_stmt *first,
			sqlite3_stmt *ins, sqlite3_stmt *occ, sqlite3_stmt *ev)
{
	sqlite3_bind_int64(first, 1, g->rep);
	if (sqlite3_step(first) != SQLITE_ROW) {
		sqlite3_reset(first);
		return 0;
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
	sqlite3_reset(first);
	int ok = held_a && held_b;
	if (ok) {
		int rule = g->rule;
		a.held_ids = held_a;
		b.held_ids = held_b;
		describe(db, g->pid, &a);
		describe(db, g->pid, &b);
		char locks[1600], where[1200], summary[8192], key[2100];
		locks_phrase(&a, &b, rule, locks, sizeof(locks));
		locations_phrase(g, where, sizeof(where));
		snprintf(summary, sizeof(summary),
			 "%s on %s: thread %s %s it at %s, thread %s %s it at %s; %s",
			 rule_title[rule], where, a.thread, verb(a.flags), a.where, b.thread,
			 verb(b.flags), b.where, locks);
		snprintf(key, sizeof(key), "race:%s", g->key);
		sqlite3_bind_text(ins, 1, rule_name[rule], -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, rule == WEFT_RACE_READ_WRITE ? "warning" : "error", -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, summary, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 4, rule_detail[rule], -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, g->count ? g->count : (int64_t)g->nocc);
		sqlite3_bind_int64(ins, 6, b.event);
		sqlite3_bind_int64(ins, 7, b.ts);
		sqlite3_bind_int(ins, 8, g->pid);
		sqlite3_bind_int(ins, 9, b.tid);
		sqlite3_bind_text(ins, 10, key, -1, SQLITE_TRANSIENT);
		ok = sqlite3_step(ins) == SQLITE_DONE;
		sqlite3_reset(ins);
		int64_t fid = sqlite3_last_insert_rowid(db);
		int seq = 0;
		ok = ok &&
		     !add_item(db, schema, fid, seq++, "access", g->pid, a.tid, 0, a.event,
			       a.stack) &&
		     !add_item(db, schema, fid, seq++, "access", g->pid, b.tid, 0, b.event,
			       b.stack) &&
		     !add_held(db, schema, fid, &seq, g->pid, a.tid, held_a) &&
		     !add_held(db, schema, fid, &seq, g->pid, b.tid, held_b) &&
		     !add_occurrences(db, schema, fid, &seq, g, occ, ev);
	}
	free(held_a);
	free(held_b);
	return ok ? 0 : -1;
}

int store_build_race_findings(sqlite3 *db, const char *schema, char *err, size_t errlen)
{
	if (!table_exists(db, "race"))
		return 0; /* a trace from before the race detector */
	struct grouping gr = {0};
	sqlite3_stmt *first = NULL, *ins = NULL, *occ = NULL, *ev = NULL;
	int rc = -1;
	if (group_races(db, &gr))
		goto out;
	if (sqlite3_prepare_v2(db,
			       "SELECT tid_a, ts_a, flags_a, stack_a, held_a, tid_b, ts_b, flags_b,"
			       " stack_b, held_b FROM main.race WHERE id = ?1",
			       -1, &first, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT tid_a, ts_a, stack_a, tid_b, ts_b, stack_b FROM main.race"
			       " WHERE id = ?1",
			       -1, &occ, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, ACCESS_EVENT_SQL, -1, &ev, NULL) != SQLITE_OK)
		goto out;
	char *sql = sqlite3_mprintf(
	    "INSERT INTO %s.finding(kind, rule, severity, summary, detail, count, event_id,"
	    " ts_ns, pid, tid, group_key) VALUES(%Q, ?1, ?2, ?3, ?4, ?5, NULLIF(?6, 0),"
	    " ?7, ?8, ?9, ?10)",
	    schema, store_finding_kind_name(STORE_FINDING_RACE));
	int prc = sql ? sqlite3_prepare_v2(db, sql, -1, &ins, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (prc != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < gr.n; i++)
		if (insert_group(db, schema, &gr.g[i], first, ins, occ, ev))
			goto out;
	rc = 0;
out:
	if (rc)
		snprintf(err, errlen, "race findings: %s", sqlite3_errmsg(db));
	grouping_free(&gr);
	sqlite3_finalize(first);
	sqlite3_finalize(ins);
	sqlite3_finalize(occ);
	sqlite3_finalize(ev);
	return rc;
}
