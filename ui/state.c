/*
 * The state panel: every thread at the cursor instant, what it waits for,
 * the blame chain to whoever holds things up, hand-offs and previous
 * owners. Rebuilt from the model when drawn, so it follows the cursor.
 */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One held object at the cursor: who holds it (rwlock readers: several). */
struct occupancy {
	const struct ui_object *obj;
	int32_t tids[16];
	int n, waiters;
};

static struct state_view {
	struct ui_text_panel p;
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

/* Why a wait with no holder lasts (an "other wait": futex, waitpid, has no words). */
static const char *no_holder_why(int st)
{
	switch (st) {
	case UI_ST_QUEUE:
		return "a queue has no holder: it waits for another thread's put or get";
	case UI_ST_COND:
		return "it waits for a signal on the cond";
	case UI_ST_JOIN:
		return "it waits for a thread to end";
	case UI_ST_BARRIER:
		return "it waits for the barrier's other threads";
	case UI_ST_EVENT:
		return "an Event has no holder: it waits for another thread to set it";
	}
	return NULL;
}

/*
 * The thread's event of the given kind at ts: the next one from ts on
 * (dir > 0) or the last one at or before it (dir < 0), among the few
 * events at that instant. 1 when found.
 */
static int thread_event_near(struct ui_model *m, const struct ui_thread *t, int64_t ts, int dir,
			     const char *kind, struct ui_event *ev)
{
	int64_t id = dir > 0 ? -1 : INT64_MAX, at = ts;
	for (int i = 0; i < 4; i++) {
		if (!ui_model_step_event(m, t, at, id, dir, &id, &at) || !ui_model_event(m, id, ev))
			return 0;
		if (!strcmp(ev->kind, kind))
			return 1;
	}
	return 0;
}

/*
 * A join names the thread it waited for (the thread.join event ending the
 * wait says which). 1 when known.
 */
static int joined_thread(struct ui *ui, const struct ui_thread *t, int64_t until,
			 const struct ui_thread **joined)
{
	struct ui_event ev;
	if (!thread_event_near(&ui->m, t, until, 1, "thread.join", &ev) || ev.ts != until)
		return 0;
	*joined = ui_model_thread(&ui->m, t->pid, (int)ev.arg);
	return *joined != NULL;
}

/*
 * Off the GIL: where the thread let go (the gil.release that started the
 * stretch carries its Python line), " at FILE:LINE in FUNCTION", else "".
 */
static void off_gil_where(struct ui *ui, const struct ui_thread *t, int64_t since, char *buf,
			  size_t len)
{
	struct ui_event ev;
	struct ui_frame f;
	buf[0] = 0;
	/* the stretch starts just after its release (a release at since - 1) */
	if (!thread_event_near(&ui->m, t, since, -1, "gil.release", &ev) || ev.ts < since - 1 ||
	    !ev.stack || ui_model_frames(&ui->m, ev.stack, &f, 1) < 1 || !f.line)
		return;
	const char *base = strrchr(f.file, '/');
	snprintf(buf, len, " at %s:%d in %s", base ? base + 1 : f.file, f.line, f.function);
}

/*
 * A wait nobody holds (a queue, a cond, an Event) that ends later: the
 * thread whose put, signal or set ends it, when, and what that thread did
 * meanwhile (store_blame_whole, as weft report tells it).
 */
static void wait_ender(struct ui *ui, struct ui_text_panel *p, const struct ui_thread *t,
		       int indent)
{
	struct ui_model *m = &ui->m;
	struct store_blame w;
	char who[128], at[32], since[32], where[256], oname[128];
	if (ui_model_blame_whole(m, t, ui->cursor, &w) <= 0)
		return;
	if (!w.nlinks && w.end == STORE_BLAME_TIMED_OUT) {
		ui_tp_add(p, "%*s%s", indent, "", store_blame_end_text(w.end));
		return;
	}
	if (!w.nlinks || !w.links[0].wake_kind)
		return;
	const struct store_blame_link *l = &w.links[0];
	const struct ui_thread *e = ui_model_thread(m, w.pid, l->tid);
	const char *kind = store_event_kind_name(l->wake_kind);
	ui_fmt_at(ui, l->held_from, at, sizeof(at));
	ui_tp_add(p, "%*sended by %s's %s at %s", indent, "",
		  ui_thread_label(ui, w.pid, l->tid, who, sizeof(who)), kind ? kind : "event", at);
	if (!e || w.end == STORE_BLAME_ENDED)
		return;
	ui_fmt_at(ui, l->state_from, since, sizeof(since));
	where[0] = oname[0] = 0;
	if (l->state == UI_ST_OFF_GIL)
		off_gil_where(ui, e, l->state_from, where, sizeof(where));
	else if (l->state_obj)
		ui_model_object_name(m, l->state_obj, oname, sizeof(oname));
	ui_tp_add(p, "%*smeanwhile %s is %s%s%s%s since %s", indent + 2, "", e->name,
		  l->state == UI_ST_RUNNING || l->state == UI_ST_OFF_GIL ? "" : "in ",
		  ui_state_name(l->state), oname[0] ? " on " : "", oname[0] ? oname : where, since);
}

/*
 * Why a thread waits, at the cursor (store_blame_at): the object, who holds
 * it and since when, what that holder is doing, and on through the
 * holders' own waits until a running thread, a wait with no holder (a
 * queue, a cond, a join) or a cycle.
 */
static void blame_chain(struct ui *ui, struct ui_text_panel *p, const struct ui_thread *t)
{
	struct ui_model *m = &ui->m;
	struct store_blame b;
	char who[128], oname[128], h1[32], s1[32];
	if (ui_model_blame_at(m, t, ui->cursor, &b) <= 0)
		return;
	int st = b.state;
	int64_t obj = b.obj;
	for (int i = 0; i < b.nlinks; i++) {
		const struct store_blame_link *l = &b.links[i];
		int last = i == b.nlinks - 1;
		int32_t tids[2];
		int readers = ui_model_holders_at(m, l->obj, ui->cursor, tids, 2) > 1;
		ui_model_object_name(m, l->obj, oname, sizeof(oname));
		ui_fmt_at(ui, l->held_from, h1, sizeof(h1));
		ui_tp_add(p, "      %s %s is held by %s since %s%s", i ? "->" : "why:", oname,
			  ui_thread_label(ui, b.pid, l->tid, who, sizeof(who)), h1,
			  readers ? " (and other readers)" : "");
		const struct ui_thread *h = ui_model_thread(m, b.pid, l->tid);
		if (!h)
			return;
		if (last && b.end == STORE_BLAME_CYCLE) {
			ui_tp_add(p, "        a cycle: %s waits for this thread (deadlock)",
				  h->name);
			return;
		}
		if (last && b.end == STORE_BLAME_ENDED) {
			ui_tp_add(p, "        %s is %s", h->name, ui_state_name(UI_ST_NOT_ALIVE));
			return;
		}
		if (last && b.end == STORE_BLAME_FREED) {
			ui_tp_add(p, "        %s %s", h->name, store_blame_end_text(b.end));
			return;
		}
		st = l->state;
		obj = l->state_obj;
		ui_fmt_at(ui, l->state_from, s1, sizeof(s1));
		if (st == UI_ST_RUNNING) {
			ui_tp_add(p, "        %s is %s since %s", h->name, ui_state_name(st), s1);
			return;
		}
		if (obj)
			ui_model_object_name(m, obj, oname, sizeof(oname));
		ui_tp_add(p, "        %s is in %s%s%s since %s", h->name, ui_state_name(st),
			  obj ? " on " : "", obj ? oname : "", s1);
	}
	const char *why = NULL;
	if (b.end == STORE_BLAME_DEEP) {
		why = store_blame_end_text(b.end);
	} else if (st != UI_ST_LOCK && st != UI_ST_GIL) {
		why = no_holder_why(st);
	} else if (obj) {
		/* nobody held it then, or a semaphore: posted by whoever, it has no holder */
		ui_model_object_name(m, obj, oname, sizeof(oname));
		ui_tp_add(p, "      why: %s is held by no recorded thread", oname);
	}
	if (why)
		ui_tp_add(p, b.nlinks ? "        %s" : "      why: %s", why);
	/* the wait the chain ends in, when nobody holds its object: who ends it */
	const struct ui_thread *last =
	    b.nlinks ? ui_model_thread(m, b.pid, b.links[b.nlinks - 1].tid) : t;
	if (obj && last && b.end != STORE_BLAME_DEEP && b.end != STORE_BLAME_CYCLE &&
	    b.end != STORE_BLAME_ENDED)
		wait_ender(ui, p, last, b.nlinks ? 8 : 6);
}

/* Who held obj before the current holder, and who will hand it to t (wait ending at until). */
static void ownership_lines(struct ui *ui, struct ui_text_panel *p, const struct ui_thread *t,
			    int64_t obj, int64_t until)
{
	struct ui_model *m = &ui->m;
	char who[128], at[32];
	int32_t owner;
	int64_t released;
	if (until <= t->end && ui_model_previous_owner(m, obj, until, t->tid, &owner, &released) &&
	    released == until && released > ui->cursor) {
		ui_fmt_at(ui, released, at, sizeof(at));
		ui_tp_add(p, "      hand-off: %s releases it at %s, and this thread takes it",
			  ui_thread_label(ui, t->pid, owner, who, sizeof(who)), at);
	}
	int32_t h;
	int nh, nw;
	if (ui_model_object_at(m, obj, ui->cursor, &h, &nh, &nw) && nh) {
		int64_t hs = ui_model_hold_start(m, obj, h, ui->cursor);
		if (hs >= 0 && ui_model_previous_owner(m, obj, hs, h, &owner, &released)) {
			ui_fmt_at(ui, released, at, sizeof(at));
			ui_tp_add(p, "      previous owner: %s, released it at %s",
				  ui_thread_label(ui, t->pid, owner, who, sizeof(who)), at);
		}
	}
}

static void state_build(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	struct ui_text_panel *p = &sv.p;
	char c[32];
	ui_tp_clear(p, ui);
	ui_fmt_at(ui, ui->cursor, c, sizeof(c));
	ui_tp_add(p, "threads at %s", c);
	ui_tp_add(p, "%s", "");
	occupancy_at(m, ui->cursor);
	for (int i = 0; i < m->nthreads; i++) {
		const struct ui_thread *t = &m->threads[i];
		int st;
		int64_t since, until, obj;
		char s1[32], s2[32];
		if (!ui_model_thread_span_at(m, t, ui->cursor, &st, &since, &until, &obj)) {
			if (ui->cursor >= t->end && ui->cursor < t->silent_to) {
				ui_fmt_at(ui, t->end, s1, sizeof(s1));
				ui_tp_add(
				    p,
				    "%-*s %-7d %-16s alive, no events since %s (no exit recorded:"
				    " blocked or busy where weft does not see, e.g. a join or a"
				    " read that had not returned when the trace ended)",
				    m->label_w, t->label, t->tid, t->name, s1);
				continue;
			}
			/* when: a lane drawn from the first column may start inside it */
			int before = ui->cursor < t->start;
			ui_fmt_at(ui, before ? t->start : t->end, s1, sizeof(s1));
			ui_tp_add(p, "%-*s %-7d %-16s not alive: %s %s", m->label_w, t->label,
				  t->tid, t->name, before ? "starts at" : "ended at", s1);
			continue;
		}
		ui_fmt_at(ui, since, s1, sizeof(s1));
		ui_fmt_ns(ui->cursor - since, s2, sizeof(s2));
		char oname[128];
		if (obj)
			ui_model_object_name(m, obj, oname, sizeof(oname));
		const struct ui_thread *joined = NULL;
		if (st == UI_ST_JOIN && joined_thread(ui, t, until, &joined)) {
			char who[128], s3[32];
			int jst;
			int64_t jsince, juntil, jobj;
			ui_tp_add(p, "%-*s %-7d %-16s join of %s since %s (%s)", m->label_w,
				  t->label, t->tid, t->name,
				  ui_thread_label(ui, joined->pid, joined->tid, who, sizeof(who)),
				  s1, s2);
			ui_tp_add(p, "      why: it waits for %s to end", joined->name);
			if (ui_model_thread_span_at(m, joined, ui->cursor, &jst, &jsince, &juntil,
						    &jobj)) {
				ui_fmt_at(ui, jsince, s3, sizeof(s3));
				if (jobj)
					ui_model_object_name(m, jobj, oname, sizeof(oname));
				ui_tp_add(p, "        %s is %s%s%s%s since %s", joined->name,
					  jst == UI_ST_RUNNING ? "" : "in ", ui_state_name(jst),
					  jobj ? " on " : "", jobj ? oname : "", s3);
			}
		} else if (st == UI_ST_RUNNING || !obj) {
			char where[400] = "";
			if (st == UI_ST_OFF_GIL)
				off_gil_where(ui, t, since, where, sizeof(where));
			ui_tp_add(p, "%-*s %-7d %-16s %s%s since %s (%s)", m->label_w, t->label,
				  t->tid, t->name, ui_state_name(st), where, s1, s2);
			if (st != UI_ST_RUNNING)
				blame_chain(ui, p, t);
		} else {
			ui_tp_add(p, "%-*s %-7d %-16s %s on %s since %s (%s)", m->label_w, t->label,
				  t->tid, t->name, ui_state_name(st), oname, s1, s2);
			blame_chain(ui, p, t);
			if (st == UI_ST_LOCK || st == UI_ST_GIL)
				ownership_lines(ui, p, t, obj, until);
		}
		/* what this thread holds, from the per-object occupancy read once above */
		char held[UI_LINE_MAX] = "";
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
					snprintf(
					    from, sizeof(from), ", previous owner %s",
					    ui_thread_label(ui, t->pid, owner, who, sizeof(who)));
				}
			}
			hl += (size_t)snprintf(held + hl, sizeof(held) - hl, "%s%s (since %s%s%s)",
					       hl ? ", " : "", oc->obj->name, h1, from,
					       oc->waiters ? ", others queued" : "");
		}
		if (hl)
			ui_tp_add(p, "      holds %s", held);
	}
}

static void state_draw(struct ui *ui)
{
	state_build(ui);
	ui_tp_draw(ui, &sv.p, "state at the cursor");
}

static int state_handle(struct ui *ui, enum ui_req req)
{
	return ui_tp_handle(ui, &sv.p, req);
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
