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

struct text_panel {
	char (*line)[LINE_MAX_LEN];
	int n, cap, scroll;
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

static struct help_view {
	struct text_panel p;
} hv;

static void tp_clear(struct text_panel *p)
{
	p->n = 0;
}

static void tp_add(struct text_panel *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tp_add(struct text_panel *p, const char *fmt, ...)
{
	if (p->n == p->cap) {
		int ncap = p->cap ? p->cap * 2 : 64;
		void *n = realloc(p->line, (size_t)ncap * sizeof(*p->line));
		if (!n)
			return;
		p->line = n;
		p->cap = ncap;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->line[p->n++], LINE_MAX_LEN, fmt, ap);
	va_end(ap);
}

static void tp_draw(struct ui *ui, struct text_panel *p, const char *title)
{
	int body = ui->rows - 2;
	if (p->scroll > p->n - body)
		p->scroll = p->n - body;
	if (p->scroll < 0)
		p->scroll = 0;
	ui_line(ui, 0, ui_attr_title(ui), " %s", title);
	for (int r = 0; r < body; r++) {
		int i = p->scroll + r;
		move(1 + r, 0);
		clrtoeol();
		if (i < p->n)
			ui_put(1 + r, 0, ui->cols, p->line[i]);
	}
	if (ui->msg[0])
		ui_line(ui, ui->rows - 1, A_BOLD, "%s", ui->msg);
	else
		ui_line(
		    ui, ui->rows - 1, A_DIM,
		    "Esc:back  Up/Down PgUp/PgDn:scroll  Left/Right:move cursor  .,:step  %d/%d",
		    p->n ? p->scroll + 1 : 0, p->n);
}

static int tp_handle(struct ui *ui, struct text_panel *p, enum ui_req req)
{
	int page = ui->rows > 4 ? ui->rows - 3 : 1;
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
		return -1;
	}
	if (p->scroll < 0)
		p->scroll = 0;
	return UI_F_REDRAW;
}

static const char *thread_label(struct ui *ui, int pid, int tid, char *buf, size_t len)
{
	const struct ui_thread *t = ui_model_thread(&ui->m, pid, tid);
	if (t)
		snprintf(buf, len, "%c %d %s", t->letter, t->tid, t->name);
	else
		snprintf(buf, len, "%d", tid);
	return buf;
}

/* ---- state panel ---- */

static void state_build(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	struct text_panel *p = &sv.p;
	char c[32];
	tp_clear(p);
	ui_fmt_ns(ui->cursor, c, sizeof(c));
	tp_add(p, "threads at %s", c);
	tp_add(p, "%s", "");
	occupancy_at(m, ui->cursor);
	for (int i = 0; i < m->nthreads; i++) {
		const struct ui_thread *t = &m->threads[i];
		int st;
		int64_t since, obj;
		char s1[32], s2[32], who[128];
		if (!ui_model_thread_state_at(m, t, ui->cursor, &st, &since, &obj)) {
			tp_add(p, "%c %-7d %-16s not alive", t->letter, t->tid, t->name);
			continue;
		}
		ui_fmt_ns(since, s1, sizeof(s1));
		ui_fmt_ns(ui->cursor - since, s2, sizeof(s2));
		char oname[128];
		if (obj)
			ui_model_object_name(m, obj, oname, sizeof(oname));
		if (st == UI_ST_RUNNING || !obj) {
			tp_add(p, "%c %-7d %-16s %s since %s (%s)", t->letter, t->tid, t->name,
			       ui_state_name(st), s1, s2);
		} else {
			tp_add(p, "%c %-7d %-16s %s on %s since %s (%s)", t->letter, t->tid,
			       t->name, ui_state_name(st), oname, s1, s2);
			int32_t tids[8];
			int n = ui_model_holders_at(m, obj, ui->cursor, tids, 8);
			for (int k = 0; k < n; k++) {
				int64_t hs = ui_model_hold_start(m, obj, tids[k], ui->cursor);
				char h1[32] = "?";
				if (hs >= 0)
					ui_fmt_ns(hs, h1, sizeof(h1));
				tp_add(p, "      held by %s since %s",
				       thread_label(ui, t->pid, tids[k], who, sizeof(who)), h1);
			}
			if (!n && (st == UI_ST_LOCK || st == UI_ST_GIL))
				tp_add(p, "      no thread holds it");
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
			char h1[32] = "?";
			if (hs >= 0)
				ui_fmt_ns(hs, h1, sizeof(h1));
			hl += (size_t)snprintf(held + hl, sizeof(held) - hl, "%s%s (since %s%s)",
					       hl ? ", " : "", oc->obj->name, h1,
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

static const char *arg_meaning(const struct ui_event *e, char *buf, size_t len)
{
	if (!strcmp(e->kind, "lock.acquire") || !strcmp(e->kind, "lock.release"))
		snprintf(buf, len, "%s",
			 e->arg == 2					   ? "(cond wait hand-over)"
			 : !strcmp(e->kind, "lock.acquire") && e->arg == 0 ? "(read or exclusive)"
			 : e->arg == 1					   ? "(write)"
									   : "");
	else if (!strcmp(e->kind, "lock.fail"))
		snprintf(buf, len, "(%s)",
			 e->arg == 16	 ? "EBUSY"
			 : e->arg == 110 ? "ETIMEDOUT"
			 : e->arg == 11	 ? "EAGAIN"
					 : "error");
	else if (!strncmp(e->kind, "thread.", 7) && e->arg)
		snprintf(buf, len, "(tid)");
	else if (!strcmp(e->kind, "process.fork") || !strcmp(e->kind, "process.spawn") ||
		 !strcmp(e->kind, "process.reap"))
		snprintf(buf, len, "(pid)");
	else if (!strcmp(e->kind, "cond.wait"))
		snprintf(buf, len, "%s", e->arg == 110 ? "(timed out)" : "(woken)");
	else
		buf[0] = 0;
	return buf;
}

static void event_build(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	struct text_panel *p = &ev_view.p;
	struct ui_event e;
	char t1[32], t2[32], who[128], am[64];
	tp_clear(p);
	if (!ui->sel_event || !ui_model_event(m, ui->sel_event, &e)) {
		tp_add(p, "no event selected: step to one with . , < > or search for one");
		return;
	}
	ui_fmt_ns(e.ts, t1, sizeof(t1));
	ui_fmt_ns(e.wait, t2, sizeof(t2));
	tp_add(p, "event   %lld", (long long)e.id);
	tp_add(p, "kind    %s", e.kind);
	tp_add(p, "time    %s (%lld ns)", t1, (long long)e.ts);
	tp_add(p, "thread  %s (pid %d)", thread_label(ui, e.pid, e.tid, who, sizeof(who)), e.pid);
	if (e.obj) {
		const struct ui_object *o = ui_model_object(m, e.obj);
		sqlite3_stmt *st = NULL;
		char name[160] = "?", kind[32] = "?";
		if (o) {
			snprintf(name, sizeof(name), "%s", o->name);
			snprintf(kind, sizeof(kind), "%s", o->kind);
		} else if (sqlite3_prepare_v2(m->db,
					      "SELECT coalesce(name,''), coalesce(kind,'') FROM"
					      " objects WHERE object_id=?1",
					      -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, e.obj);
			if (sqlite3_step(st) == SQLITE_ROW) {
				ui_sanitize_col(st, 0, name, sizeof(name));
				ui_sanitize_col(st, 1, kind, sizeof(kind));
			}
		}
		sqlite3_finalize(st);
		tp_add(p, "object  %s (%s, id %lld)", name, kind, (long long)e.obj);
	}
	if (e.wait) {
		ui_fmt_ns(e.ts - e.wait, t1, sizeof(t1));
		tp_add(p, "wait    %s (from %s)", t2, t1);
	}
	tp_add(p, "arg     %lld %s", (long long)e.arg, arg_meaning(&e, am, sizeof(am)));
	/* holders only mean something for what can be held: not conds, barriers, queues */
	int lockish = !strcmp(e.kind, "lock.acquire") || !strcmp(e.kind, "lock.fail") ||
		      !strcmp(e.kind, "gil.acquire");
	if (e.obj && e.wait > 0 && lockish) {
		int32_t tids[32];
		int n = ui_model_holders_during(m, e.obj, e.ts - e.wait, e.ts, tids, 32);
		tp_add(p, "%s", "");
		tp_add(p, "held during the wait by:%s", n ? "" : " nobody recorded");
		for (int i = 0; i < n; i++) {
			int64_t hs = ui_model_hold_start(m, e.obj, tids[i], e.ts - e.wait);
			char h1[32] = "before the wait";
			if (hs >= 0)
				ui_fmt_ns(hs, h1, sizeof(h1));
			tp_add(p, "  %s (hold from %s)",
			       thread_label(ui, e.pid, tids[i], who, sizeof(who)),
			       hs >= 0 ? h1 : "during the wait");
		}
	}
	tp_add(p, "%s", "");
	if (!e.stack) {
		tp_add(p, "no stack recorded (weft run --stacks caller|full)");
		return;
	}
	tp_add(p, "stack %lld:", (long long)e.stack);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
		m->db,
		"SELECT depth, coalesce(function,'?\?'), coalesce(file,''), coalesce(line,0),"
		" coalesce(module,''), coalesce(pc,0) FROM stack_frames WHERE stack_id=?1"
		" ORDER BY depth",
		-1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, e.stack);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char fn[160], file[160], mod[160];
			ui_sanitize_col(st, 1, fn, sizeof(fn));
			ui_sanitize_col(st, 2, file, sizeof(file));
			ui_sanitize_col(st, 4, mod, sizeof(mod));
			if (file[0])
				tp_add(p, "  #%-2d %s at %s:%d (%s)", sqlite3_column_int(st, 0), fn,
				       file, sqlite3_column_int(st, 3), mod);
			else
				tp_add(p, "  #%-2d %s (%s+0x%llx)", sqlite3_column_int(st, 0), fn,
				       mod, (unsigned long long)sqlite3_column_int64(st, 5));
		}
	}
	sqlite3_finalize(st);
}

static void event_draw(struct ui *ui)
{
	event_build(ui);
	tp_draw(ui, &ev_view.p, "event details");
}

static int event_handle(struct ui *ui, enum ui_req req)
{
	if (req == UI_REQ_ENTER)
		return UI_F_REDRAW;
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

/* ---- help ---- */

static void help_build(struct ui *ui)
{
	struct text_panel *p = &hv.p;
	const char **labels, **texts;
	int n = ui_help_lines(&labels, &texts);
	tp_clear(p);
	tp_add(p, "keys");
	for (int i = 0; i < n; i++)
		tp_add(p, "  %-10s %s", labels[i], texts[i]);
	tp_add(p, "  %-10s %s", "mouse",
	       "click: focus a lane and put the cursor there; wheel: zoom");
	tp_add(p, "%s", "");
	tp_add(p, "thread states (underlined: the column mixes several states)");
	for (int s = 1; s < UI_ST_COUNT; s++)
		tp_add(p, "  %s  %s", ui_state_glyph(ui, s), ui_state_name(s));
	tp_add(p, "%s", "");
	tp_add(p, "markers: + thread.create  > thread.start  x thread.exit  S fork/spawn  E exec"
		  "  ! a finding's event");
	tp_add(p, "         X process.exit  D gil.drop_request  R process.reap");
	tp_add(p, "object lanes: the letter of the holding thread; inverse/red when threads"
		  " queue for it; a digit = threads queued while nobody holds it");
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
