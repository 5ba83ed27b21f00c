/*
 * Text panels over the timeline: the state of every thread at the cursor,
 * one event's details, and the help. Each is rebuilt from the model when
 * drawn, so it follows the cursor while the user scrubs or plays.
 */
#include "ui/ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 320

/*
 * A panel's text, wrapped at the width it is drawn with: a line longer
 * than the screen continues on the next, indented, instead of being cut.
 */
struct text_panel {
	char (*line)[LINE_MAX_LEN];
	int n, cap, scroll, width;
};

/* One held object at the cursor: who holds it (rwlock readers: several). */
struct occupancy {
	const struct ui_object *obj;
	int32_t tids[16];
	int n, waiters;
};

static struct state_view {
	struct text_panel p;
	struct occupancy *occ;
	int nocc, capocc;
} sv;

/* Reads every lock's occupancy at ts once, so each thread's line is a lookup. */
static void occupancy_at(struct ui_model *m, int64_t ts)
{
	sv.nocc = 0;
	for (int k = 0; k < m->nobjs; k++) {
		int32_t h;
		int nh, nw;
		if (!ui_model_object_at(m, m->objs[k].id, ts, &h, &nh, &nw) || !nh)
			continue;
		if (sv.nocc == sv.capocc) {
			int ncap = sv.capocc ? sv.capocc * 2 : 16;
			struct occupancy *n = realloc(sv.occ, (size_t)ncap * sizeof(*n));
			if (!n)
				return;
			sv.occ = n;
			sv.capocc = ncap;
		}
		struct occupancy *oc = &sv.occ[sv.nocc++];
		oc->obj = &m->objs[k];
		oc->waiters = nw;
		oc->n = 1;
		oc->tids[0] = h;
		if (nh > 1)
			oc->n = ui_model_holders_at(m, m->objs[k].id, ts, oc->tids, 16);
	}
}

static struct event_view {
	struct text_panel p;
} ev_view;

/*
 * The area summary is computed once per area, in slices between keys
 * (ui_area_work), never at every redraw: a whole 10 M-event trace is
 * seconds of reading.
 */
static struct area_view {
	struct text_panel p;
	int64_t a, b; /* the area the results are for (b <= a: none yet) */
	int nthreads, nobjs;
	int64_t (*ns)[UI_ST_COUNT];
	struct ui_area_object *obj;
	int next_thread, next_obj; /* the work left: thread index, then object index */
	int64_t from;
	struct ui_area_cursor oc;
} av;
static struct help_view {
	struct text_panel p;
} hv;

static void tp_clear(struct text_panel *p, const struct ui *ui)
{
	p->n = 0;
	p->width = ui->cols > 20 ? ui->cols : 20;
}

static char *tp_new_line(struct text_panel *p)
{
	if (p->n == p->cap) {
		int ncap = p->cap ? p->cap * 2 : 64;
		void *n = realloc(p->line, (size_t)ncap * sizeof(*p->line));
		if (!n)
			return NULL;
		p->line = n;
		p->cap = ncap;
	}
	return p->line[p->n++];
}

/* Display columns of a UTF-8 string (sanitized text: one column per code point). */
static int text_cols(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Byte offset of column col in s. */
static size_t col_offset(const char *s, int col)
{
	size_t i = 0;
	for (int c = 0; s[i] && c < col; c++)
		do
			i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80);
	return i;
}

static void tp_add(struct text_panel *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tp_add(struct text_panel *p, const char *fmt, ...)
{
	char buf[LINE_MAX_LEN * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	int indent = (int)strspn(buf, " ") + 2;
	if (indent > p->width / 2)
		indent = 2;
	const char *rest = buf;
	for (int first = 1;; first = 0) {
		char *l = tp_new_line(p);
		if (!l)
			return;
		int pad = first ? 0 : indent, room = p->width - pad;
		if (text_cols(rest) <= room) {
			snprintf(l, LINE_MAX_LEN, "%*s%.*s", pad, "", LINE_MAX_LEN - 1 - pad, rest);
			return;
		}
		/* cut at the last space that fits, else mid-word */
		size_t cut = col_offset(rest, room);
		size_t sp = cut;
		while (sp > 0 && rest[sp] != ' ')
			sp--;
		if (sp > 0)
			cut = sp;
		snprintf(l, LINE_MAX_LEN, "%*s%.*s", pad, "", (int)cut, rest);
		rest += cut;
		while (*rest == ' ')
			rest++;
		if (!*rest)
			return;
	}
}

static void tp_draw(struct ui *ui, struct text_panel *p, const char *title)
{
	int y0 = ui->py0, body = ui->rows - y0 - 2;
	if (p->scroll > p->n - body)
		p->scroll = p->n - body;
	if (p->scroll < 0)
		p->scroll = 0;
	ui_line(ui, y0, ui_attr_title(ui), " %s", title);
	for (int r = 0; r < body; r++) {
		int i = p->scroll + r;
		move(y0 + 1 + r, 0);
		clrtoeol();
		if (i < p->n) {
			ui_put(y0 + 1 + r, 0, ui->cols, p->line[i]);
			if (ui->search[0])
				ui_highlight(y0 + 1 + r, 0, ui->cols, p->line[i], ui->search);
		}
	}
	char hint[160];
	snprintf(hint, sizeof(hint),
		 "Esc:close  Up/Down PgUp/PgDn:scroll  Left/Right .,:move  z:%s  %d/%d",
		 ui->py0 ? "full screen" : "split", p->n ? p->scroll + 1 : 0, p->n);
	ui_status(ui, hint);
}

static int tp_handle(struct ui *ui, struct text_panel *p, enum ui_req req)
{
	int page = ui->rows - ui->py0 > 4 ? ui->rows - ui->py0 - 3 : 1;
	switch (req) {
	case UI_REQ_UP:
		p->scroll--;
		break;
	case UI_REQ_DOWN:
		p->scroll++;
		break;
	case UI_REQ_PGUP:
		p->scroll -= page;
		break;
	case UI_REQ_PGDN:
		p->scroll += page;
		break;
	case UI_REQ_BACK:
		ui_pop(ui);
		break;
	default:
		return UI_NOT_HANDLED;
	}
	if (p->scroll < 0)
		p->scroll = 0;
	return UI_F_REDRAW;
}

static const char *thread_label(struct ui *ui, int pid, int tid, char *buf, size_t len)
{
	const struct ui_thread *t = ui_model_thread(&ui->m, pid, tid);
	if (t)
		snprintf(buf, len, "%s %d %s", t->label, t->tid, t->name);
	else
		snprintf(buf, len, "%d", tid);
	return buf;
}

/* 4969 -> "4,969": counts a user compares at a glance. */
static const char *fmt_count(int64_t v, char *buf, size_t len)
{
	char raw[32];
	int n = snprintf(raw, sizeof(raw), "%lld", (long long)(v < 0 ? -v : v));
	size_t o = 0;
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = 0;
	return buf;
}

/* ---- state panel ---- */

/*
 * Why a thread waits: the object, who holds it and since when, what that
 * holder is doing, and on through the holders' own waits until a running
 * thread, a wait with no holder (a queue, a cond, a join) or a cycle.
 */
static void blame_chain(struct ui *ui, struct text_panel *p, const struct ui_thread *t, int st,
			int64_t obj)
{
	struct ui_model *m = &ui->m;
	int32_t seen[16];
	int nseen = 0;
	char who[128], oname[128], h1[32], s1[32];
	seen[nseen++] = t->tid;
	for (int depth = 0; depth < 12; depth++) {
		if (st != UI_ST_LOCK && st != UI_ST_GIL) {
			/* an "other wait" (event, futex, waitpid) has no owner to name */
			const char *why = st == UI_ST_QUEUE  ? "a queue has no holder: it waits for"
							       " another thread's put or get"
					  : st == UI_ST_COND ? "it waits for a signal on the cond"
					  : st == UI_ST_JOIN ? "it waits for a thread to end"
					  : st == UI_ST_BARRIER
					      ? "it waits for the barrier's other threads"
					      : NULL;
			if (why)
				tp_add(p, depth ? "        %s" : "      why: %s", why);
			return;
		}
		int32_t tids[8];
		int n = ui_model_holders_at(m, obj, ui->cursor, tids, 8);
		ui_model_object_name(m, obj, oname, sizeof(oname));
		if (!n) {
			tp_add(p, "      why: %s is held by no recorded thread", oname);
			return;
		}
		const struct ui_thread *h = ui_model_thread(m, t->pid, tids[0]);
		int64_t hs = ui_model_hold_start(m, obj, tids[0], ui->cursor);
		snprintf(h1, sizeof(h1), "?");
		if (hs >= 0)
			ui_fmt_at(ui, hs, h1, sizeof(h1));
		tp_add(p, "      %s %s is held by %s since %s%s", depth ? "->" : "why:", oname,
		       thread_label(ui, t->pid, tids[0], who, sizeof(who)), h1,
		       n > 1 ? " (and other readers)" : "");
		if (!h)
			return;
		for (int i = 0; i < nseen; i++) {
			if (seen[i] == h->tid) {
				tp_add(p, "        a cycle: %s waits for this thread (deadlock)",
				       h->name);
				return;
			}
		}
		if (nseen < 16)
			seen[nseen++] = h->tid;
		int64_t since, until, obj2;
		ui_model_thread_span_at(m, h, ui->cursor, &st, &since, &until, &obj2);
		ui_fmt_at(ui, since, s1, sizeof(s1));
		if (st == UI_ST_RUNNING || st == UI_ST_NOT_ALIVE) {
			tp_add(p, "        %s is %s%s%s", h->name, ui_state_name(st),
			       st == UI_ST_RUNNING ? " since " : "", st == UI_ST_RUNNING ? s1 : "");
			return;
		}
		if (obj2)
			ui_model_object_name(m, obj2, oname, sizeof(oname));
		tp_add(p, "        %s is in %s%s%s since %s", h->name, ui_state_name(st),
		       obj2 ? " on " : "", obj2 ? oname : "", s1);
		t = h;
		obj = obj2;
		if (!obj && (st == UI_ST_LOCK || st == UI_ST_GIL))
			return;
	}
}

/* Who held obj before the current holder, and who will hand it to t (wait ending at until). */
static void ownership_lines(struct ui *ui, struct text_panel *p, const struct ui_thread *t,
			    int64_t obj, int64_t until)
{
	struct ui_model *m = &ui->m;
	char who[128], at[32];
	int32_t owner;
	int64_t released;
	if (until <= t->end && ui_model_previous_owner(m, obj, until, t->tid, &owner, &released) &&
	    released == until && released > ui->cursor) {
		ui_fmt_at(ui, released, at, sizeof(at));
		tp_add(p, "      hand-off: %s releases it at %s, and this thread takes it",
		       thread_label(ui, t->pid, owner, who, sizeof(who)), at);
	}
	int32_t h;
	int nh, nw;
	if (ui_model_object_at(m, obj, ui->cursor, &h, &nh, &nw) && nh) {
		int64_t hs = ui_model_hold_start(m, obj, h, ui->cursor);
		if (hs >= 0 && ui_model_previous_owner(m, obj, hs, h, &owner, &released)) {
			ui_fmt_at(ui, released, at, sizeof(at));
			tp_add(p, "      previous owner: %s, released it at %s",
			       thread_label(ui, t->pid, owner, who, sizeof(who)), at);
		}
	}
}

static void state_build(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	struct text_panel *p = &sv.p;
	char c[32];
	tp_clear(p, ui);
	ui_fmt_at(ui, ui->cursor, c, sizeof(c));
	tp_add(p, "threads at %s", c);
	tp_add(p, "%s", "");
	occupancy_at(m, ui->cursor);
	for (int i = 0; i < m->nthreads; i++) {
		const struct ui_thread *t = &m->threads[i];
		int st;
		int64_t since, until, obj;
		char s1[32], s2[32];
		if (!ui_model_thread_span_at(m, t, ui->cursor, &st, &since, &until, &obj)) {
			if (ui->cursor >= t->end && ui->cursor < t->silent_to) {
				ui_fmt_at(ui, t->end, s1, sizeof(s1));
				tp_add(
				    p,
				    "%-*s %-7d %-16s alive, no events since %s (no exit recorded:"
				    " blocked or busy where weft does not see, e.g. a join or a"
				    " read that had not returned when the trace ended)",
				    m->label_w, t->label, t->tid, t->name, s1);
				continue;
			}
			tp_add(p, "%-*s %-7d %-16s not alive", m->label_w, t->label, t->tid,
			       t->name);
			continue;
		}
		ui_fmt_at(ui, since, s1, sizeof(s1));
		ui_fmt_ns(ui->cursor - since, s2, sizeof(s2));
		char oname[128];
		if (obj)
			ui_model_object_name(m, obj, oname, sizeof(oname));
		if (st == UI_ST_RUNNING || !obj) {
			tp_add(p, "%-*s %-7d %-16s %s since %s (%s)", m->label_w, t->label, t->tid,
			       t->name, ui_state_name(st), s1, s2);
			if (st != UI_ST_RUNNING)
				blame_chain(ui, p, t, st, obj);
		} else {
			tp_add(p, "%-*s %-7d %-16s %s on %s since %s (%s)", m->label_w, t->label,
			       t->tid, t->name, ui_state_name(st), oname, s1, s2);
			blame_chain(ui, p, t, st, obj);
			if (st == UI_ST_LOCK || st == UI_ST_GIL)
				ownership_lines(ui, p, t, obj, until);
		}
		/* what this thread holds, from the per-object occupancy read once above */
		char held[LINE_MAX_LEN] = "";
		size_t hl = 0;
		for (int k = 0; k < sv.nocc && hl < sizeof(held) - 40; k++) {
			const struct occupancy *oc = &sv.occ[k];
			int mine = 0;
			for (int j = 0; j < oc->n; j++)
				mine |= oc->tids[j] == t->tid;
			if (!mine || oc->obj->pid != t->pid)
				continue;
			int64_t hs = ui_model_hold_start(m, oc->obj->id, t->tid, ui->cursor);
			char h1[32] = "?", from[160] = "";
			int32_t owner;
			int64_t released;
			if (hs >= 0) {
				ui_fmt_at(ui, hs, h1, sizeof(h1));
				/* the previous owner: whose release this hold followed */
				if (ui_model_previous_owner(m, oc->obj->id, hs, t->tid, &owner,
							    &released)) {
					char who[128];
					snprintf(from, sizeof(from), ", previous owner %s",
						 thread_label(ui, t->pid, owner, who, sizeof(who)));
				}
			}
			hl += (size_t)snprintf(held + hl, sizeof(held) - hl, "%s%s (since %s%s%s)",
					       hl ? ", " : "", oc->obj->name, h1, from,
					       oc->waiters ? ", others queued" : "");
		}
		if (hl)
			tp_add(p, "      holds %s", held);
	}
}

static void state_draw(struct ui *ui)
{
	state_build(ui);
	tp_draw(ui, &sv.p, "state at the cursor");
}

static int state_handle(struct ui *ui, enum ui_req req)
{
	return tp_handle(ui, &sv.p, req);
}

static void state_enter(struct ui *ui)
{
	(void)ui;
	sv.p.scroll = 0;
}

const struct ui_screen_ops ui_state_ops = {
    .name = "state",
    .draw = state_draw,
    .handle = state_handle,
    .enter = state_enter,
};

/* ---- event details ---- */

/* race.access flag bits (docs/SCHEMA.md), decoded in the details. */
static const struct {
	int bit;
	const char *name;
} race_flags[] = {
    {1, "read"},
    {2, "write"},
    {4, "atomic"},
    {8, "read-modify-write"},
    {16, "read that missed"},
    {32, "store after a missed read"},
};

static int is_kind(const struct ui_event *e, const char *k)
{
	return !strcmp(e->kind, k);
}

static const char *arg_meaning(const struct ui_event *e, const char *okind, char *buf, size_t len)
{
	int rw = !strcmp(okind, "rwlock");
	buf[0] = 0;
	if (is_kind(e, "lock.acquire") || is_kind(e, "lock.release")) {
		/* read/write only means something on a rwlock; 2 is a cond wait's hand-over */
		snprintf(buf, len, "%s",
			 e->arg == 2	     ? "(a cond wait lets go / takes it back)"
			 : rw && e->arg == 0 ? "(read)"
			 : rw && e->arg == 1 ? "(write)"
					     : "");
	} else if (is_kind(e, "lock.fail")) {
		snprintf(buf, len, "(%s)",
			 e->arg == 16	 ? "EBUSY"
			 : e->arg == 110 ? "ETIMEDOUT"
			 : e->arg == 11	 ? "EAGAIN"
					 : "error");
	} else if (is_kind(e, "race.access")) {
		size_t n = 0;
		for (size_t i = 0; i < sizeof(race_flags) / sizeof(race_flags[0]); i++)
			if (e->arg & race_flags[i].bit && n < len)
				n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "(",
						      race_flags[i].name);
		if (n && n < len)
			snprintf(buf + n, len - n, ")");
	} else if (!strncmp(e->kind, "thread.", 7) && e->arg) {
		snprintf(buf, len, "(tid)");
	} else if (is_kind(e, "process.fork") || is_kind(e, "process.spawn") ||
		   is_kind(e, "process.reap")) {
		snprintf(buf, len, "(pid)");
	} else if (is_kind(e, "cond.wait")) {
		snprintf(buf, len, "%s", e->arg == 110 ? "(timed out)" : "(woken)");
	}
	return buf;
}

/* Who held the lock while e waited: every hold, counted per thread. */
static void wait_holders(struct ui *ui, struct text_panel *p, const struct ui_event *e)
{
	struct ui_hold_count hc[16];
	int64_t total = 0;
	char who[128], h1[32], c1[32], c2[32];
	int64_t a = e->ts - e->wait;
	int n = ui_model_hold_counts(&ui->m, e->obj, a, e->ts, hc, 16, &total);
	tp_add(p, "%s", "");
	if (!n) {
		tp_add(p, "held during the wait by: nobody recorded");
		return;
	}
	int nthreads = n;
	tp_add(p, "held during the wait: %s hold%s by %d thread%s%s",
	       fmt_count(total, c1, sizeof(c1)), total == 1 ? "" : "s", nthreads,
	       nthreads == 1 ? "" : "s", n == 16 ? " (the first 16 shown)" : "");
	for (int i = 0; i < n; i++) {
		ui_fmt_at(ui, hc[i].first, h1, sizeof(h1));
		tp_add(p, "  %s: %s hold%s, %s %s",
		       thread_label(ui, e->pid, hc[i].tid, who, sizeof(who)),
		       fmt_count(hc[i].holds, c2, sizeof(c2)), hc[i].holds == 1 ? "" : "s",
		       hc[i].first < a ? "held it since" : "first took it at", h1);
	}
}

static void frames_lines(struct ui *ui, struct text_panel *p, int64_t stack)
{
	struct ui_frame fr[64];
	int n = ui_model_frames(&ui->m, stack, fr, 64);
	for (int i = 0; i < n; i++) {
		const struct ui_frame *f = &fr[i];
		/* a Python frame has no module: file and line say it all */
		char mod[180] = "";
		if (f->module[0])
			snprintf(mod, sizeof(mod), " (%s)", f->module);
		if (f->file[0])
			tp_add(p, "  #%-2d %s at %s:%d%s", f->depth, f->function, f->file, f->line,
			       mod);
		else
			tp_add(p, "  #%-2d %s (%s+0x%llx)", f->depth, f->function, f->module,
			       (unsigned long long)f->pc);
	}
}

/* A finding opened from the lists: every side, each with its thread, time and line. */
static void finding_lines(struct ui *ui, struct text_panel *p)
{
	struct ui_finding_item it[16];
	char who[128], at[32];
	int n = ui_model_finding_items(&ui->m, ui->finding_id, it, 16);
	tp_add(p, "finding %lld: %s", (long long)ui->finding_id, ui->finding_text);
	for (int i = 0; i < n; i++) {
		char where[240] = "";
		if (it[i].file[0])
			snprintf(where, sizeof(where), "  %s at %s:%d", it[i].function, it[i].file,
				 it[i].line);
		snprintf(at, sizeof(at), "-");
		if (it[i].ts >= 0)
			ui_fmt_at(ui, it[i].ts, at, sizeof(at));
		tp_add(p, "  %-9s %s  event %lld at %s%s%s%s", it[i].role,
		       thread_label(ui, it[i].pid, it[i].tid, who, sizeof(who)),
		       (long long)it[i].event_id, at, it[i].object[0] ? "  on " : "", it[i].object,
		       where);
	}
	tp_add(p, "  (every side is highlighted in its lane; # ID goes to one)");
	tp_add(p, "%s", "");
}

static void event_build(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	struct text_panel *p = &ev_view.p;
	struct ui_event e;
	char t1[32], t2[32], t3[32], who[128], am[160];
	tp_clear(p, ui);
	if (ui->finding_id)
		finding_lines(ui, p);
	if (!ui->sel_event || !ui_model_event(m, ui->sel_event, &e)) {
		tp_add(p, "no event selected: step to one with . , < > or search for one");
		return;
	}
	ui_fmt_at(ui, e.ts, t1, sizeof(t1));
	ui_fmt_ns(e.wait, t2, sizeof(t2));
	tp_add(p, "event   %lld", (long long)e.id);
	tp_add(p, "kind    %s", e.kind);
	tp_add(p, "time    %s (%lld ns)", t1, (long long)e.ts);
	const char *pname = "";
	for (int i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == e.pid)
			pname = m->procs[i].name;
	tp_add(p, "thread  %s (pid %d%s%s)", thread_label(ui, e.pid, e.tid, who, sizeof(who)),
	       e.pid, pname[0] ? " " : "", pname);
	char name[160] = "", okind[32] = "";
	if (e.obj) {
		ui_model_object_name_kind(m, e.obj, name, sizeof(name), okind, sizeof(okind));
		tp_add(p, "object  %s (%s, id %lld)", name, okind, (long long)e.obj);
	}
	if (e.wait) {
		ui_fmt_at(ui, e.ts - e.wait, t3, sizeof(t3));
		tp_add(p, "wait    %s (from %s to %s)", t2, t3, t1);
	}
	tp_add(p, "arg     %lld %s", (long long)e.arg, arg_meaning(&e, okind, am, sizeof(am)));
	/* holders only mean something for what can be held: not conds, barriers, queues */
	int lockish =
	    is_kind(&e, "lock.acquire") || is_kind(&e, "lock.fail") || is_kind(&e, "gil.acquire");
	if (e.obj && e.wait > 0 && lockish)
		wait_holders(ui, p, &e);
	int32_t owner;
	int64_t released;
	if (e.obj && (is_kind(&e, "lock.acquire") || is_kind(&e, "gil.acquire")) &&
	    ui_model_previous_owner(m, e.obj, e.ts, e.tid, &owner, &released)) {
		ui_fmt_at(ui, released, t3, sizeof(t3));
		tp_add(p, "previous owner: %s, released it at %s%s",
		       thread_label(ui, e.pid, owner, who, sizeof(who)), t3,
		       e.wait > 0 && released == e.ts ? " (the hand-off this acquire waited for)"
						      : "");
	}
	tp_add(p, "%s", "");
	if (!e.stack) {
		tp_add(p, "no stack recorded (weft run --stacks caller|full)");
		return;
	}
	tp_add(p, "stack %lld:", (long long)e.stack);
	frames_lines(ui, p, e.stack);
}

static void event_draw(struct ui *ui)
{
	event_build(ui);
	tp_draw(ui, &ev_view.p, ui->finding_id ? "finding and event details" : "event details");
}

static int event_handle(struct ui *ui, enum ui_req req)
{
	if (req == UI_REQ_ENTER)
		return UI_F_REDRAW;
	if (req == UI_REQ_BACK)
		ui->finding_id = 0;
	return tp_handle(ui, &ev_view.p, req);
}

static void event_enter(struct ui *ui)
{
	(void)ui;
	ev_view.p.scroll = 0;
}

const struct ui_screen_ops ui_event_ops = {
    .name = "event",
    .draw = event_draw,
    .handle = event_handle,
    .enter = event_enter,
};

/* ---- area summary ---- */

/* Restarts the computation for the marked area. */
static int area_reset(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	free(av.ns);
	free(av.obj);
	av.ns = calloc((size_t)m->nthreads + 1, sizeof(*av.ns));
	av.obj = calloc((size_t)m->nobjs + 1, sizeof(*av.obj));
	if (!av.ns || !av.obj) {
		av.a = av.b = 0;
		return -1;
	}
	av.a = ui->area_a;
	av.b = ui->area_b;
	av.nthreads = m->nthreads;
	av.nobjs = m->nobjs;
	av.next_thread = av.next_obj = 0;
	av.from = -1;
	memset(&av.oc, 0, sizeof(av.oc));
	av.oc.hold_key[0] = av.oc.wait_key[0] = -1;
	return 0;
}

static int area_pending(void)
{
	return av.b > av.a && (av.next_thread < av.nthreads || av.next_obj < av.nobjs);
}

int ui_area_work(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	/* about 20 ms of rows: a key pressed meanwhile waits no longer than that */
	int budget = 40000;
	if (ui->area_b <= ui->area_a)
		return 0;
	if ((av.a != ui->area_a || av.b != ui->area_b) && area_reset(ui))
		return 0;
	while (budget > 0 && av.next_thread < av.nthreads) {
		if (!ui_model_area_thread(m, &m->threads[av.next_thread], av.a, av.b, &av.from,
					  budget, av.ns[av.next_thread]))
			return 1;
		budget /= 2; /* what a finished thread used is unknown: stay on the safe side */
		av.next_thread++;
		av.from = -1;
	}
	while (budget > 0 && av.next_obj < av.nobjs) {
		if (!ui_model_area_object(m, &m->objs[av.next_obj], av.a, av.b, &av.oc, budget,
					  &av.obj[av.next_obj]))
			return 1;
		budget /= 2;
		av.next_obj++;
		memset(&av.oc, 0, sizeof(av.oc));
		av.oc.hold_key[0] = av.oc.wait_key[0] = -1;
	}
	return area_pending();
}

static void area_build(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	struct text_panel *p = &av.p;
	char x[32], y[32], d[32], c1[32];
	tp_clear(p, ui);
	if (av.a != ui->area_a || av.b != ui->area_b)
		ui_area_work(ui);
	ui_fmt_at(ui, av.a, x, sizeof(x));
	ui_fmt_at(ui, av.b, y, sizeof(y));
	ui_fmt_ns(av.b - av.a, d, sizeof(d));
	tp_add(p, "area %s..%s (%s)", x, y, d);
	if (area_pending())
		tp_add(p,
		       "computing: %d of %d threads, %d of %d objects read (keys work meanwhile)",
		       av.next_thread, av.nthreads, av.next_obj, av.nobjs);
	tp_add(p, "%s", "");
	tp_add(p, "threads: time in each state inside the area");
	for (int i = 0; i < av.nthreads && i < av.next_thread; i++) {
		const struct ui_thread *t = &m->threads[i];
		char line[LINE_MAX_LEN];
		size_t n = 0;
		for (int s = 1; s < UI_ST_COUNT && n < sizeof(line) - 48; s++) {
			if (!av.ns[i][s])
				continue;
			ui_fmt_ns(av.ns[i][s], d, sizeof(d));
			n += (size_t)snprintf(line + n, sizeof(line) - n, "  %s %s",
					      ui_state_name(s), d);
		}
		if (n)
			tp_add(p, "  %-*s %-7d %-16s%s", m->label_w, t->label, t->tid, t->name,
			       line);
	}
	tp_add(p, "%s", "");
	tp_add(p, "objects: holds and waits overlapping the area (times inside it)");
	tp_add(p, "  %-24s %9s %12s %9s %12s", "object", "holds", "held", "waits", "waited");
	for (int k = 0; k < av.nobjs && k < av.next_obj; k++) {
		const struct ui_area_object *o = &av.obj[k];
		if (!o->holds && !o->waits)
			continue;
		char hn[32], wn[32], c2[32];
		ui_fmt_ns(o->hold_ns, hn, sizeof(hn));
		ui_fmt_ns(o->wait_ns, wn, sizeof(wn));
		tp_add(p, "  %-24.24s %9s %12s %9s %12s", m->objs[k].name,
		       fmt_count(o->holds, c1, sizeof(c1)), hn, fmt_count(o->waits, c2, sizeof(c2)),
		       wn);
	}
}

static void area_draw(struct ui *ui)
{
	area_build(ui);
	tp_draw(ui, &av.p, "area summary (m m: mark another)");
}

static int area_handle(struct ui *ui, enum ui_req req)
{
	return tp_handle(ui, &av.p, req);
}

static void area_enter(struct ui *ui)
{
	(void)ui;
	av.p.scroll = 0;
}

const struct ui_screen_ops ui_area_ops = {
    .name = "area",
    .draw = area_draw,
    .handle = area_handle,
    .enter = area_enter,
};

/* ---- help ---- */

static void help_build(struct ui *ui)
{
	struct text_panel *p = &hv.p;
	const char **labels, **texts;
	int n = ui_help_lines(&labels, &texts);
	tp_clear(p, ui);
	tp_add(p, "keys");
	for (int i = 0; i < n; i++)
		tp_add(p, "  %-10s %s", labels[i], texts[i]);
	tp_add(p, "  %-10s %s", "mouse",
	       "click: focus a lane and put the cursor there; drag: area summary; wheel: zoom");
	tp_add(p, "%s", "");
	tp_add(p, "thread states (underlined: the column mixes several states)");
	for (int s = 1; s < UI_ST_COUNT; s++)
		tp_add(p, "  %s  %s", ui_state_glyph(ui, s), ui_state_name(s));
	tp_add(p, "  :  silent: alive after its last event, no exit recorded");
	tp_add(p, "%s", "");
	tp_add(p, "markers: + thread.create  > thread.start  x thread.exit  S fork/spawn  E exec"
		  "  ! a finding's event");
	tp_add(p, "         X process.exit  D gil.drop_request  R process.reap");
	tp_add(p, "object lanes: the letter of the holding thread (* past the 52nd: the lane's"
		  " label names it); inverse/red when threads queue for it; a digit = threads"
		  " queued while nobody holds it");
}

static void help_draw(struct ui *ui)
{
	help_build(ui);
	tp_draw(ui, &hv.p, "help (docs/VIEWER.md has more)");
}

static int help_handle(struct ui *ui, enum ui_req req)
{
	if (req == UI_REQ_HELP) {
		ui_pop(ui);
		return UI_F_REDRAW;
	}
	if (req == UI_REQ_FULL)
		return UI_HANDLED; /* the help always has the whole screen */
	return tp_handle(ui, &hv.p, req);
}

static void help_enter(struct ui *ui)
{
	(void)ui;
	hv.p.scroll = 0;
}

const struct ui_screen_ops ui_help_ops = {
    .name = "help",
    .draw = help_draw,
    .handle = help_handle,
    .enter = help_enter,
};
