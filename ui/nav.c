/*
 * The view's navigation state, shared by every screen: the screen stack,
 * the window and cursor, the focused lane, the selected event, and the
 * history of jumps (b back, B forward). Screens call these; they call no
 * screen back but through its ops (ui_screens[]).
 */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct ui_screen_ops *const ui_screens[UI_SCR__COUNT] = {
    [UI_SCR_TIMELINE] = &ui_timeline_ops, [UI_SCR_STATE] = &ui_state_ops,
    [UI_SCR_EVENT] = &ui_event_ops,	  [UI_SCR_LISTS] = &ui_lists_ops,
    [UI_SCR_AREA] = &ui_area_ops,	  [UI_SCR_HELP] = &ui_help_ops,
};

int ui_timeline_label_width(const struct ui *ui)
{
	return ui->cols >= 120 ? 30 : ui->cols >= 100 ? 26 : 22;
}

/* ---- jumps: where the user was, for b (back) and B (forward) ---- */

static struct ui_place place_now(const struct ui *ui)
{
	const struct ui_thread *t = ui_focused_thread(ui);
	return (struct ui_place){ui->t0,	ui->t1,		ui->cursor,
				 ui->sel_event, t ? t->pid : 0, t ? t->tid : 0};
}

/* Pushes p on a bounded stack, dropping the oldest when full. */
static void place_push(struct ui_place *stack, int *n, struct ui_place p)
{
	if (*n == UI_HISTORY_MAX) {
		memmove(stack, stack + 1, (UI_HISTORY_MAX - 1) * sizeof(*stack));
		(*n)--;
	}
	stack[(*n)++] = p;
}

void ui_remember(struct ui *ui)
{
	place_push(ui->back, &ui->nback, place_now(ui));
	ui->nfwd = 0;
}

static void place_restore(struct ui *ui, const struct ui_place *p)
{
	ui->t0 = p->t0;
	ui->t1 = p->t1;
	ui->cursor = p->cursor;
	if (p->tid)
		ui_focus_thread(ui, p->pid, p->tid);
	if (p->sel_event)
		ui_select_event(ui, p->sel_event);
	else
		ui->sel_event = ui->nhl = 0;
	ui->t0 = p->t0; /* selecting recentres: the saved window wins */
	ui->t1 = p->t1;
	ui->cursor = p->cursor;
}

int ui_history_step(struct ui *ui, int back)
{
	struct ui_place *from = back ? ui->back : ui->fwd, *to = back ? ui->fwd : ui->back;
	int *nfrom = back ? &ui->nback : &ui->nfwd, *nto = back ? &ui->nfwd : &ui->nback;
	if (!*nfrom) {
		snprintf(ui->msg, sizeof(ui->msg), "%s",
			 back ? "no earlier jump to go back to" : "nothing to go forward to");
		return UI_F_REDRAW;
	}
	place_push(to, nto, place_now(ui));
	struct ui_place p = from[--*nfrom];
	place_restore(ui, &p);
	char c[32];
	ui_fmt_at(ui, p.cursor, c, sizeof(c));
	snprintf(ui->msg, sizeof(ui->msg), "%s to cursor %s (%d more)", back ? "back" : "forward",
		 c, *nfrom);
	return UI_F_REDRAW | UI_F_LANES;
}

/* ---- actions ---- */

void ui_push(struct ui *ui, enum ui_screen_id s)
{
	if (ui->depth < (int)(sizeof(ui->scr) / sizeof(ui->scr[0]))) {
		ui->scr[ui->depth++] = s;
		if (ui_screens[s]->enter)
			ui_screens[s]->enter(ui);
	}
}

void ui_pop(struct ui *ui)
{
	if (ui->depth > 1)
		ui->depth--;
}

int64_t ui_min_width(const struct ui *ui)
{
	int w = ui->cols - ui_timeline_label_width(ui);
	return w > 1 ? w : 1;
}

void ui_center(struct ui *ui, int64_t ts, int64_t width)
{
	int64_t end = ui->m.end_ns > 0 ? ui->m.end_ns : 1;
	if (width <= 0)
		width = ui->t1 - ui->t0;
	if (width < ui_min_width(ui))
		width = ui_min_width(ui);
	if (width > end) {
		ui->t0 = 0; /* never wider than the whole trace */
		ui->t1 = end + 1;
		return;
	}
	ui->t0 = ts - width / 2;
	if (ui->t0 < 0)
		ui->t0 = 0;
	if (ui->t0 + width > end)
		ui->t0 = end - width;
	ui->t1 = ui->t0 + width;
}

void ui_set_cursor(struct ui *ui, int64_t ts)
{
	if (ts < 0)
		ts = 0;
	if (ts > ui->m.end_ns)
		ts = ui->m.end_ns;
	ui->cursor = ts;
	if (ts < ui->t0 || ts >= ui->t1)
		ui_center(ui, ts, 0);
}

const struct ui_thread *ui_focused_thread(const struct ui *ui)
{
	if (ui->focus < 0 || ui->focus >= ui->nlanes)
		return NULL;
	const struct ui_lane *l = &ui->lanes[ui->focus];
	return l->type == UI_LANE_THREAD ? &ui->m.threads[l->idx] : NULL;
}

static int name_matches(const char *name, const char *filter)
{
	return !filter[0] || strcasestr(name, filter);
}

void ui_build_lanes(struct ui *ui)
{
	struct ui_lane keep = {UI_LANE_PROCESS, -1};
	if (ui->focus >= 0 && ui->focus < ui->nlanes)
		keep = ui->lanes[ui->focus];
	int cap = ui->m.nprocs + ui->m.nthreads + ui->m.nobjs + 1;
	struct ui_lane *l = realloc(ui->lanes, (size_t)cap * sizeof(*l));
	if (!l)
		return;
	ui->lanes = l;
	int n = 0;
	if (ui->obj_mode) {
		for (int i = 0; i < ui->m.nobjs; i++)
			if (name_matches(ui->m.objs[i].name, ui->filter))
				l[n++] = (struct ui_lane){UI_LANE_OBJECT, i};
	} else {
		for (int p = 0; p < ui->m.nprocs; p++) {
			int head = n, shown = 0;
			l[n++] = (struct ui_lane){UI_LANE_PROCESS, p};
			for (int t = 0; t < ui->m.nthreads; t++) {
				const struct ui_thread *th = &ui->m.threads[t];
				char tid[16];
				snprintf(tid, sizeof(tid), "%d", th->tid);
				if (th->pid != ui->m.procs[p].pid ||
				    !(name_matches(th->name, ui->filter) ||
				      name_matches(tid, ui->filter)))
					continue;
				shown++;
				if (!ui->m.procs[p].collapsed)
					l[n++] = (struct ui_lane){UI_LANE_THREAD, t};
			}
			if (!shown && ui->filter[0])
				n = head; /* a process with no matching thread is left out */
		}
	}
	ui->nlanes = n;
	ui->focus = 0;
	for (int i = 0; i < n; i++)
		if (l[i].type == keep.type && l[i].idx == keep.idx)
			ui->focus = i;
	ui_screens[UI_SCR_TIMELINE]->enter(ui);
}

void ui_focus_thread(struct ui *ui, int pid, int tid)
{
	int ti = ui_model_thread_index(&ui->m, pid, tid);
	if (ti < 0)
		return;
	ui->obj_mode = 0;
	for (int p = 0; p < ui->m.nprocs; p++)
		if (ui->m.procs[p].pid == ui->m.threads[ti].pid)
			ui->m.procs[p].collapsed = 0;
	ui_build_lanes(ui);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < ui->nlanes; i++) {
			if (ui->lanes[i].type == UI_LANE_THREAD && ui->lanes[i].idx == ti) {
				ui->focus = i;
				ui_screens[UI_SCR_TIMELINE]->enter(ui);
				return;
			}
		}
		ui->filter[0] = 0; /* hidden by the filter: show everything */
		ui_build_lanes(ui);
	}
}

void ui_select_event(struct ui *ui, int64_t id)
{
	struct ui_event e;
	if (!ui_model_event(&ui->m, id, &e)) {
		snprintf(ui->msg, sizeof(ui->msg), "no event %lld in this trace", (long long)id);
		return;
	}
	ui->sel_event = id;
	/* its wait (or the instant) is drawn highlighted in its lane */
	ui->nhl = 1;
	ui->hl[0] = (struct ui_mark_span){e.pid, e.tid, e.ts - (e.wait > 0 ? e.wait : 0), e.ts};
	ui_set_cursor(ui, e.ts);
}
