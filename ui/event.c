/*
 * The event details panel: one event (and the finding it was opened from):
 * its wait, the holds during it, the previous owner, its stack.
 */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct event_view {
	struct ui_text_panel p;
} ev_view;

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
static void wait_holders(struct ui *ui, struct ui_text_panel *p, const struct ui_event *e)
{
	struct ui_hold_count hc[16];
	int64_t total = 0;
	char who[128], h1[32], c1[32], c2[32];
	int64_t a = e->ts - e->wait;
	int n = ui_model_hold_counts(&ui->m, e->obj, a, e->ts, hc, 16, &total);
	ui_tp_add(p, "%s", "");
	if (!n) {
		ui_tp_add(p, "held during the wait by: nobody recorded");
		return;
	}
	int nthreads = n;
	ui_tp_add(p, "held during the wait: %s hold%s by %d thread%s%s",
		  ui_fmt_count(total, c1, sizeof(c1)), total == 1 ? "" : "s", nthreads,
		  nthreads == 1 ? "" : "s", n == 16 ? " (the first 16 shown)" : "");
	for (int i = 0; i < n; i++) {
		ui_fmt_at(ui, hc[i].first, h1, sizeof(h1));
		ui_tp_add(p, "  %s: %s hold%s, %s %s",
			  ui_thread_label(ui, e->pid, hc[i].tid, who, sizeof(who)),
			  ui_fmt_count(hc[i].holds, c2, sizeof(c2)), hc[i].holds == 1 ? "" : "s",
			  hc[i].first < a ? "held it since" : "first took it at", h1);
	}
}

static void frames_lines(struct ui *ui, struct ui_text_panel *p, int64_t stack)
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
			ui_tp_add(p, "  #%-2d %s at %s:%d%s", f->depth, f->function, f->file,
				  f->line, mod);
		else
			ui_tp_add(p, "  #%-2d %s (%s+0x%llx)", f->depth, f->function, f->module,
				  (unsigned long long)f->pc);
	}
}

/* A finding opened from the lists: every side, each with its thread, time and line. */
static void finding_lines(struct ui *ui, struct ui_text_panel *p)
{
	struct ui_finding_item it[16];
	char who[128], at[32];
	int n = ui_model_finding_items(&ui->m, ui->finding_id, it, 16);
	ui_tp_add(p, "finding %lld: %s", (long long)ui->finding_id, ui->finding_text);
	for (int i = 0; i < n; i++) {
		char where[240] = "";
		if (it[i].file[0])
			snprintf(where, sizeof(where), "  %s at %s:%d", it[i].function, it[i].file,
				 it[i].line);
		snprintf(at, sizeof(at), "-");
		if (it[i].ts >= 0)
			ui_fmt_at(ui, it[i].ts, at, sizeof(at));
		ui_tp_add(p, "  %-9s %s  event %lld at %s%s%s%s", it[i].role,
			  ui_thread_label(ui, it[i].pid, it[i].tid, who, sizeof(who)),
			  (long long)it[i].event_id, at, it[i].object[0] ? "  on " : "",
			  it[i].object, where);
	}
	ui_tp_add(p, "  (every side is highlighted in its lane; # ID goes to one)");
	ui_tp_add(p, "%s", "");
}

static void event_build(struct ui *ui)
{
	struct ui_model *m = &ui->m;
	struct ui_text_panel *p = &ev_view.p;
	struct ui_event e;
	char t1[32], t2[32], t3[32], who[128], am[160];
	ui_tp_clear(p, ui);
	if (ui->finding_id)
		finding_lines(ui, p);
	if (!ui->sel_event || !ui_model_event(m, ui->sel_event, &e)) {
		ui_tp_add(p, "no event selected: step to one with . , < > or search for one");
		return;
	}
	ui_fmt_at(ui, e.ts, t1, sizeof(t1));
	ui_fmt_ns(e.wait, t2, sizeof(t2));
	ui_tp_add(p, "event   %lld", (long long)e.id);
	ui_tp_add(p, "kind    %s", e.kind);
	ui_tp_add(p, "time    %s (%lld ns)", t1, (long long)e.ts);
	const char *pname = "";
	for (int i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == e.pid)
			pname = m->procs[i].name;
	ui_tp_add(p, "thread  %s (pid %d%s%s)", ui_thread_label(ui, e.pid, e.tid, who, sizeof(who)),
		  e.pid, pname[0] ? " " : "", pname);
	char name[160] = "", okind[32] = "";
	if (e.obj) {
		ui_model_object_name_kind(m, e.obj, name, sizeof(name), okind, sizeof(okind));
		ui_tp_add(p, "object  %s (%s, id %lld)", name, okind, (long long)e.obj);
	}
	if (e.wait) {
		ui_fmt_at(ui, e.ts - e.wait, t3, sizeof(t3));
		ui_tp_add(p, "wait    %s (from %s to %s)", t2, t3, t1);
	}
	ui_tp_add(p, "arg     %lld %s", (long long)e.arg, arg_meaning(&e, okind, am, sizeof(am)));
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
		ui_tp_add(p, "previous owner: %s, released it at %s%s",
			  ui_thread_label(ui, e.pid, owner, who, sizeof(who)), t3,
			  e.wait > 0 && released == e.ts ? " (the hand-off this acquire waited for)"
							 : "");
	}
	ui_tp_add(p, "%s", "");
	if (!e.stack) {
		ui_tp_add(p, "no stack recorded (weft run --stacks caller|full)");
		return;
	}
	ui_tp_add(p, "stack %lld:", (long long)e.stack);
	frames_lines(ui, p, e.stack);
}

static void event_draw(struct ui *ui)
{
	event_build(ui);
	ui_tp_draw(ui, &ev_view.p, ui->finding_id ? "finding and event details" : "event details");
}

static int event_handle(struct ui *ui, enum ui_req req)
{
	if (req == UI_REQ_ENTER)
		return UI_F_REDRAW;
	if (req == UI_REQ_BACK)
		ui->finding_id = 0;
	return ui_tp_handle(ui, &ev_view.p, req);
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
