/* The main screen: header, time ruler, thread or object lanes, legend, status. */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_ROWS 3
#define FOOTER_ROWS 2

/* The timeline screen's own state: scratch buffers sized to the widest screen seen. */
static struct timeline_view {
	unsigned char *state, *mixed, *waiters;
	int32_t *holder;
	char *marks;
	int cap;
} tv;

/* The legend and status lines belong to the timeline only when it has the whole screen. */
static int footer_rows(const struct ui *ui)
{
	return ui->tl_rows >= ui->rows ? FOOTER_ROWS : 0;
}

int ui_timeline_lane_rows(const struct ui *ui)
{
	int n = ui->tl_rows - HEADER_ROWS - footer_rows(ui);
	return n > 0 ? n : 0;
}

static int ensure_cap(int w)
{
	if (tv.cap >= w)
		return 0;
	free(tv.state);
	free(tv.mixed);
	free(tv.waiters);
	free(tv.holder);
	free(tv.marks);
	tv.state = malloc((size_t)w);
	tv.mixed = malloc((size_t)w);
	tv.waiters = malloc((size_t)w);
	tv.holder = malloc((size_t)w * sizeof(*tv.holder));
	tv.marks = malloc((size_t)w);
	tv.cap = tv.state && tv.mixed && tv.waiters && tv.holder && tv.marks ? w : 0;
	return tv.cap ? 0 : -1;
}

static void draw_header(struct ui *ui)
{
	char dur[32], a[32], b[32], w[32], c[32], sp[32];
	ui_fmt_ns(ui->m.end_ns, dur, sizeof(dur));
	/* Findings first, as in weft report: the first screen says they exist. */
	char found[64] = "";
	if (ui->m.nfindings)
		snprintf(found, sizeof(found), "%lld finding%s (t: lists) | ",
			 (long long)ui->m.nfindings, ui->m.nfindings == 1 ? "" : "s");
	ui_line(ui, 0, ui_attr_title(ui), " weft view  %s%s  | %s | %d threads | %lld events%s",
		found, ui->m.command[0] ? ui->m.command : ui->m.path, dur, ui->m.nthreads,
		(long long)ui->m.events, ui->m.complete ? "" : " | incomplete trace");
	ui_fmt_at(ui, ui->t0, a, sizeof(a));
	ui_fmt_at(ui, ui->t1, b, sizeof(b));
	ui_fmt_ns(ui->t1 - ui->t0, w, sizeof(w));
	ui_fmt_at(ui, ui->cursor, c, sizeof(c));
	ui_fmt_ns(ui->speed, sp, sizeof(sp));
	char focus[256] = "";
	const struct ui_thread *t = ui_focused_thread(ui);
	if (t) {
		int st;
		int64_t since, obj;
		ui_model_thread_state_at(&ui->m, t, ui->cursor, &st, &since, &obj);
		char oname[128] = "";
		if (obj)
			ui_model_object_name(&ui->m, obj, oname, sizeof(oname));
		/* Not alive: before or after, and when (the lane's first column may show it alive).
		 */
		char when[48] = "";
		if (st == STORE_STATE_NOT_ALIVE &&
		    (ui->cursor < t->start || ui->cursor >= t->end)) {
			char at[32];
			int before = ui->cursor < t->start;
			ui_fmt_at(ui, before ? t->start : t->end, at, sizeof(at));
			snprintf(when, sizeof(when), " (%s %s)", before ? "starts at" : "ended at",
				 at);
		}
		snprintf(focus, sizeof(focus), "  %s %s: %s%s%s%s", t->label, t->name,
			 ui_state_name(st), obj ? " on " : "", oname, when);
	}
	char area[80] = "";
	if (ui->area_a >= 0) {
		char x[32], y[32];
		ui_fmt_at(ui, ui->area_a, x, sizeof(x));
		ui_fmt_at(ui, ui->area_b, y, sizeof(y));
		if (ui->area_b > ui->area_a)
			snprintf(area, sizeof(area), "  area %s..%s", x, y);
		else
			snprintf(area, sizeof(area), "  area from %s (m: end)", x);
	}
	ui_line(ui, 1, A_NORMAL, "window %s..%s (%s)  cursor %s  %s %s/s%s%s%s%s", a, b, w, c,
		ui->playing ? "playing" : "paused", sp, ui->filter[0] ? "  filter:" : "",
		ui->filter, area, focus);
}

/* A ruler label: the tick's time, or its distance from the cursor ("+2.5ms", "cursor"). */
static void tick_label(const struct ui *ui, int64_t t, int64_t step, char *lab, size_t len)
{
	char v[40];
	if (ui->relative && t == ui->cursor) {
		snprintf(lab, len, "|cursor");
		return;
	}
	ui_fmt_time(ui->relative ? t - ui->cursor : t, step, v, sizeof(v));
	snprintf(lab, len, "|%s%s", ui->relative && t > ui->cursor ? "+" : "", v);
}

/*
 * Ticks on round times (1, 2 or 5 times a power of ten ns) far enough
 * apart for their labels, each label with the digits its step needs: at
 * 10.5 s zoomed to microseconds the ticks read 10.500002s, 10.500004s.
 */
static void draw_ruler(struct ui *ui, int lw, int w, int64_t dt)
{
	static const int64_t mant[] = {1, 2, 5};
	int64_t origin = ui->relative ? ui->cursor : 0, step = 1;
	char lab[48];
	move(2, 0);
	clrtoeol();
	attrset(A_DIM);
	ui_put(2, 0, lw - 1, ui->obj_mode ? "objects" : "threads");
	for (int64_t p = 1; p < INT64_MAX / 10; p *= 10) {
		int fits = 0;
		for (int k = 0; k < 3 && !fits; k++) {
			step = mant[k] * p;
			int64_t far = ui->t1 - origin > origin - ui->t0 ? ui->t1 : ui->t0;
			tick_label(ui, far - far % step, step, lab, sizeof(lab));
			fits = step / dt >= (int64_t)strlen(lab) + 3;
		}
		if (fits)
			break;
	}
	/* the first tick at or after t0 on the grid through origin */
	int64_t off = (ui->t0 - origin) % step;
	int64_t t = ui->t0 - off + (off > 0 ? step : 0);
	for (int next = 0; t < ui->t1; t += step) {
		int x = (int)((t - ui->t0) / dt);
		tick_label(ui, t, step, lab, sizeof(lab));
		int n = (int)strlen(lab);
		if (x < next || x + n > w)
			continue;
		ui_put(2, lw + x, n, lab);
		next = x + n + 1;
	}
	attrset(A_NORMAL);
	/* the marked area, underlined along the ruler */
	if (ui->area_a >= 0 && ui->area_b > ui->area_a && ui->area_b > ui->t0 &&
	    ui->area_a < ui->t1) {
		int64_t a = ui->area_a < ui->t0 ? ui->t0 : ui->area_a;
		int c0 = (int)((a - ui->t0) / dt), c1 = (int)((ui->area_b - 1 - ui->t0) / dt);
		if (c1 >= w)
			c1 = w - 1;
		mvchgat(2, lw + c0, c1 - c0 + 1, A_UNDERLINE | A_BOLD, 0, NULL);
	}
}

/* The highlighted columns of a lane: the selected event's wait, a finding's events. */
static void highlight_spans(struct ui *ui, int y, int lw, int w, int64_t dt, int pid, int tid)
{
	for (int i = 0; i < ui->nhl; i++) {
		const struct ui_mark_span *h = &ui->hl[i];
		if (h->pid != pid || h->tid != tid || h->b < ui->t0 || h->a >= ui->t1)
			continue;
		int64_t a = h->a < ui->t0 ? ui->t0 : h->a;
		int c0 = (int)((a - ui->t0) / dt), c1 = (int)((h->b - ui->t0) / dt);
		if (c1 >= w)
			c1 = w - 1;
		mvchgat(y, lw + c0, c1 - c0 + 1, A_BOLD | A_UNDERLINE | A_STANDOUT, 0, NULL);
	}
}

static void draw_thread_lane(struct ui *ui, int y, int lw, int w, int64_t dt,
			     const struct ui_thread *t, int focused)
{
	char label[128];
	snprintf(label, sizeof(label), "  %-*s %d %s", ui->m.label_w, t->label, t->tid, t->name);
	attrset(focused ? A_REVERSE | A_BOLD : A_NORMAL);
	ui_put(y, 0, lw - 1, label);
	attrset(A_NORMAL);
	if (ui->search[0]) {
		/* the tid and name, not the label letters */
		int off = 3 + ui->m.label_w;
		ui_highlight(y, off, lw - 1 - off, label + off, ui->search);
	}
	ui_model_thread_cells(&ui->m, t, ui->t0, dt, w, tv.state, tv.mixed);
	ui_model_thread_marks(&ui->m, t, ui->t0, ui->t1, dt, w, tv.marks);
	for (int x = 0; x < w; x++) {
		/* a summary bucket may reach past the thread's life: not alive there */
		int64_t cs = ui->t0 + dt * x;
		if (cs + dt <= t->start || cs >= t->end)
			tv.state[x] = UI_ST_NOT_ALIVE;
		if (tv.marks[x]) {
			char m[2] = {tv.marks[x], 0};
			attrset(A_BOLD);
			mvaddstr(y, lw + x, m);
		} else if (tv.state[x] == UI_ST_NOT_ALIVE && cs >= t->end && cs < t->silent_to) {
			/* alive without events after its last one: no exit was recorded */
			attrset(A_DIM);
			mvaddstr(y, lw + x, ":");
		} else {
			attrset(ui_state_attr(ui, tv.state[x], tv.mixed[x]));
			mvaddstr(y, lw + x, ui_state_glyph(ui, tv.state[x]));
		}
	}
	attrset(A_NORMAL);
	highlight_spans(ui, y, lw, w, dt, t->pid, t->tid);
}

static void draw_object_lane(struct ui *ui, int y, int lw, int w, int64_t dt,
			     const struct ui_object *o, int focused)
{
	char label[160];
	int32_t h;
	int nh, nw;
	ui_model_object_at(&ui->m, o->id, ui->cursor, &h, &nh, &nw);
	const struct ui_thread *ht = h ? ui_model_thread(&ui->m, o->pid, h) : NULL;
	char who[16] = "";
	if (nh)
		snprintf(who, sizeof(who), " %s%s q%d", ht ? ht->label : "?", nh > 1 ? "+" : "",
			 nw);
	else if (nw)
		snprintf(who, sizeof(who), " q%d", nw);
	snprintf(label, sizeof(label), "%s%s", o->name, who);
	int ll = (int)strlen(label);
	attrset(focused ? A_REVERSE | A_BOLD : A_NORMAL);
	/* keep the holder and queue length visible when the name is long */
	if (ll > lw - 1 && (int)strlen(who) < lw - 1) {
		ui_put(y, 0, lw - 1 - (int)strlen(who), o->name);
		ui_put(y, lw - 1 - (int)strlen(who), (int)strlen(who), who);
	} else {
		ui_put(y, 0, lw - 1, label);
	}
	attrset(A_NORMAL);
	ui_model_object_cells(&ui->m, o->id, ui->t0, dt, w, tv.holder, tv.mixed, tv.waiters);
	for (int x = 0; x < w; x++) {
		char s[2] = {'.', 0};
		int attr = A_DIM;
		if (tv.holder[x]) {
			const struct ui_thread *t = ui_model_thread(&ui->m, o->pid, tv.holder[x]);
			s[0] = t ? t->letter : '?';
			attr = ui_attr_holder(ui, tv.waiters[x]);
		} else if (tv.waiters[x]) {
			s[0] = tv.waiters[x] > 9 ? '+' : (char)('0' + tv.waiters[x]);
			attr = ui_attr_holder(ui, 1);
		} else {
			s[0] = ' ';
		}
		if (tv.mixed[x])
			attr |= A_UNDERLINE;
		attrset(attr);
		mvaddstr(y, lw + x, s);
	}
	attrset(A_NORMAL);
}

static void draw_process_lane(struct ui *ui, int y, int lw, int w, int64_t dt,
			      const struct ui_process *p, int focused)
{
	char label[300];
	snprintf(label, sizeof(label), "%s %d %s%s%s",
		 p->collapsed ? (ui->utf8 ? "\u25b8" : "+") : (ui->utf8 ? "\u25be" : "-"), p->pid,
		 p->name, p->name[0] ? " " : "", p->argv);
	attrset((focused ? A_REVERSE : 0) | A_BOLD);
	ui_put(y, 0, lw - 1, label);
	attrset(A_DIM);
	for (int x = 0; x < w; x++) {
		int64_t cs = ui->t0 + dt * x, ce = cs + dt;
		if (ce > p->start && cs <= p->end)
			mvaddstr(y, lw + x, ui->utf8 ? "\u2500" : "-");
	}
	attrset(A_NORMAL);
}

static void draw_legend(struct ui *ui)
{
	char buf[512];
	int n = 0;
	if (ui->obj_mode) {
		snprintf(buf, sizeof(buf),
			 "letter = holding thread (see thread lanes; * past 52 threads)"
			 "  inverse/red = threads queued  digit = queued, none holding"
			 "  underline = mixed");
	} else {
		/* one space between states: ten of them and "! finding" fit in 120 columns */
		for (int s = 1; s < UI_ST_COUNT && n < (int)sizeof(buf) - 40; s++)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s %s ",
				      ui_state_glyph(ui, s), ui_state_name(s));
		snprintf(buf + n, sizeof(buf) - (size_t)n,
			 "! finding  _ mixed  : silent  + create > start x exit S spawn E exec"
			 " X pexit D drop R reap");
	}
	move(ui->rows - 2, 0);
	clrtoeol();
	/* glyphs in their colors, the rest plain */
	int x = 0;
	for (const char *p = buf; *p && x < ui->cols;) {
		int len = (unsigned char)*p < 0x80 ? 1 : (unsigned char)*p >= 0xe0 ? 3 : 2;
		char one[5] = {0};
		memcpy(one, p, (size_t)len);
		int st = -1;
		if (!ui->obj_mode)
			for (int s = 1; s < UI_ST_COUNT; s++)
				if (!strcmp(one, ui_state_glyph(ui, s)) &&
				    (p == buf || p[-1] == ' ') && p[len] == ' ')
					st = s;
		attrset(st > 0 ? ui_state_attr(ui, st, 0) : (int)A_DIM);
		mvaddstr(ui->rows - 2, x, one);
		p += len;
		x++;
	}
	attrset(A_NORMAL);
}

void ui_status(struct ui *ui, const char *hint)
{
	static const char *const prompt_names[] = {"", "go to time", "go to event id",
						   "filter lanes", "search"};
	if (ui->prompt != UI_PROMPT_NONE)
		ui_line(ui, ui->rows - 1, A_BOLD, "%s: %s_", prompt_names[ui->prompt], ui->pbuf);
	else if (ui->msg[0])
		ui_line(ui, ui->rows - 1, A_BOLD, "%s", ui->msg);
	else
		ui_line(ui, ui->rows - 1, A_DIM, "%s", hint);
}

static void draw_status(struct ui *ui)
{
	ui_status(ui, "?:help q:quit arrows/hjkl:move +/-:zoom 0:fit space:play .,:step s:state"
		      " t:lists o:objects /:search Enter:details b:back");
}

static void timeline_draw(struct ui *ui)
{
	int lw = ui_timeline_label_width(ui);
	int w = ui->cols - lw;
	if (w < 1 || ensure_cap(w))
		return;
	int64_t dt = (ui->t1 - ui->t0) / w;
	if (dt < 1)
		dt = 1;
	ui->res = dt;
	draw_header(ui);
	draw_ruler(ui, lw, w, dt);
	int rows = ui_timeline_lane_rows(ui);
	for (int r = 0; r < rows; r++) {
		int y = HEADER_ROWS + r, li = ui->top + r;
		move(y, 0);
		clrtoeol();
		if (li >= ui->nlanes) {
			if (!ui->nlanes && r == 0)
				ui_put(y, 2, ui->cols - 2,
				       ui->filter[0] ? "no lane matches the filter (f to change it)"
						     : "no lanes");
			continue;
		}
		const struct ui_lane *l = &ui->lanes[li];
		int focused = li == ui->focus;
		if (l->type == UI_LANE_PROCESS)
			draw_process_lane(ui, y, lw, w, dt, &ui->m.procs[l->idx], focused);
		else if (l->type == UI_LANE_THREAD)
			draw_thread_lane(ui, y, lw, w, dt, &ui->m.threads[l->idx], focused);
		else
			draw_object_lane(ui, y, lw, w, dt, &ui->m.objs[l->idx], focused);
	}
	/* the cursor: one inverted column through the ruler and the lanes */
	if (ui->cursor >= ui->t0 && ui->cursor < ui->t1) {
		int cx = lw + (int)((ui->cursor - ui->t0) / dt);
		if (cx < ui->cols)
			for (int y = 2; y < HEADER_ROWS + rows; y++) {
				/* a highlighted span stays underlined under the cursor */
				attr_t keep = (attr_t)(mvinch(y, cx) & A_UNDERLINE);
				mvchgat(y, cx, 1, A_REVERSE | keep, 0, NULL);
			}
	}
	if (footer_rows(ui)) {
		draw_legend(ui);
		draw_status(ui);
	}
}

static void scroll_to_focus(struct ui *ui)
{
	int rows = ui_timeline_lane_rows(ui);
	if (ui->focus >= ui->nlanes)
		ui->focus = ui->nlanes - 1;
	if (ui->focus < 0)
		ui->focus = 0;
	if (ui->focus < ui->top)
		ui->top = ui->focus;
	if (rows > 0 && ui->focus >= ui->top + rows)
		ui->top = ui->focus - rows + 1;
	if (ui->top < 0)
		ui->top = 0;
}

static int toggle_process(struct ui *ui, int all)
{
	if (all) {
		int any_open = 0;
		for (int i = 0; i < ui->m.nprocs; i++)
			any_open |= !ui->m.procs[i].collapsed;
		for (int i = 0; i < ui->m.nprocs; i++)
			ui->m.procs[i].collapsed = any_open;
		return UI_F_REDRAW | UI_F_LANES;
	}
	if (ui->focus < 0 || ui->focus >= ui->nlanes || ui->obj_mode)
		return UI_F_REDRAW;
	const struct ui_lane *l = &ui->lanes[ui->focus];
	int pid = l->type == UI_LANE_PROCESS ? ui->m.procs[l->idx].pid : ui->m.threads[l->idx].pid;
	for (int i = 0; i < ui->m.nprocs; i++) {
		if (ui->m.procs[i].pid != pid)
			continue;
		ui->m.procs[i].collapsed = !ui->m.procs[i].collapsed;
		/* keep the focus on the process line so c toggles back */
		for (int k = 0; k < ui->nlanes; k++)
			if (ui->lanes[k].type == UI_LANE_PROCESS && ui->lanes[k].idx == i)
				ui->focus = k;
	}
	return UI_F_REDRAW | UI_F_LANES;
}

static int timeline_mouse(struct ui *ui)
{
	int lw = ui_timeline_label_width(ui), w = ui->cols - lw;
	int64_t dt = w > 0 ? (ui->t1 - ui->t0) / w : 1;
	if (dt < 1)
		dt = 1;
	if (ui->mouse_bstate & BUTTON4_PRESSED) {
		ui_center(ui, ui->cursor, (ui->t1 - ui->t0) / 2);
		return UI_F_REDRAW;
	}
#ifdef BUTTON5_PRESSED
	if (ui->mouse_bstate & BUTTON5_PRESSED) {
		ui_center(ui, ui->cursor, (ui->t1 - ui->t0) * 2);
		return UI_F_REDRAW;
	}
#endif
	if (!(ui->mouse_bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED)))
		return UI_HANDLED;
	/* a drag across the lanes marks an area: press at one end, release at the other */
	if (ui->mouse_bstate & BUTTON1_PRESSED)
		ui->drag_x = ui->mouse_x >= lw ? ui->mouse_x : -1;
	if (ui->mouse_bstate & BUTTON1_RELEASED) {
		int from = ui->drag_x;
		ui->drag_x = -1;
		if (from >= lw && ui->mouse_x >= lw && abs(ui->mouse_x - from) >= 2) {
			int a = from < ui->mouse_x ? from : ui->mouse_x;
			int b = from < ui->mouse_x ? ui->mouse_x : from;
			ui->area_a = ui->t0 + dt * (a - lw);
			ui->area_b = ui->t0 + dt * (b - lw + 1);
			ui_push(ui, UI_SCR_AREA);
			return UI_F_REDRAW;
		}
		return UI_HANDLED;
	}
	int li = ui->top + ui->mouse_y - HEADER_ROWS;
	if (ui->mouse_y >= HEADER_ROWS && li < ui->nlanes &&
	    ui->mouse_y < HEADER_ROWS + ui_timeline_lane_rows(ui))
		ui->focus = li;
	if (ui->mouse_x >= lw)
		ui_set_cursor(ui, ui->t0 + dt * (ui->mouse_x - lw) + dt / 2);
	else if (li < ui->nlanes && ui->lanes[li].type == UI_LANE_PROCESS)
		return toggle_process(ui, 0);
	return UI_F_REDRAW;
}

static int timeline_handle(struct ui *ui, enum ui_req req)
{
	int rows = ui_timeline_lane_rows(ui);
	switch (req) {
	case UI_REQ_UP:
		ui->focus--;
		break;
	case UI_REQ_DOWN:
		ui->focus++;
		break;
	case UI_REQ_PGUP:
		ui->focus -= rows > 1 ? rows - 1 : 1;
		ui->top -= rows > 1 ? rows - 1 : 1;
		break;
	case UI_REQ_PGDN:
		ui->focus += rows > 1 ? rows - 1 : 1;
		ui->top += rows > 1 ? rows - 1 : 1;
		if (ui->top > ui->nlanes - rows)
			ui->top = ui->nlanes - rows;
		break;
	case UI_REQ_COLLAPSE:
		return toggle_process(ui, 0);
	case UI_REQ_COLLAPSE_ALL:
		return toggle_process(ui, 1);
	case UI_REQ_MOUSE:
		return timeline_mouse(ui);
	case UI_REQ_ENTER:
		if (ui->focus >= 0 && ui->focus < ui->nlanes &&
		    ui->lanes[ui->focus].type == UI_LANE_PROCESS)
			return toggle_process(ui, 0);
		return UI_NOT_HANDLED; /* the details, handled by the view */
	default:
		return UI_NOT_HANDLED;
	}
	scroll_to_focus(ui);
	return UI_F_REDRAW;
}

static void timeline_enter(struct ui *ui)
{
	scroll_to_focus(ui);
}

const struct ui_screen_ops ui_timeline_ops = {
    .name = "timeline",
    .draw = timeline_draw,
    .handle = timeline_handle,
    .enter = timeline_enter,
};
