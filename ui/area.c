/* The area summary panel: per-thread states and per-object holds and waits in a range. */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The area summary is computed once per area, in slices between keys
 * (ui_area_work), never at every redraw: a whole 10 M-event trace is
 * seconds of reading.
 */
static struct area_view {
	struct ui_text_panel p;
	int64_t a, b; /* the area the results are for (b <= a: none yet) */
	int nthreads, nobjs;
	int64_t (*ns)[UI_ST_COUNT];
	struct ui_area_object *obj;
	int next_thread, next_obj; /* the work left: thread index, then object index */
	int64_t from;
	struct ui_area_cursor oc;
} av;
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
	struct ui_text_panel *p = &av.p;
	char x[32], y[32], d[32], c1[32];
	ui_tp_clear(p, ui);
	if (av.a != ui->area_a || av.b != ui->area_b)
		ui_area_work(ui);
	ui_fmt_at(ui, av.a, x, sizeof(x));
	ui_fmt_at(ui, av.b, y, sizeof(y));
	ui_fmt_ns(av.b - av.a, d, sizeof(d));
	ui_tp_add(p, "area %s..%s (%s)", x, y, d);
	if (area_pending())
		ui_tp_add(
		    p, "computing: %d of %d threads, %d of %d objects read (keys work meanwhile)",
		    av.next_thread, av.nthreads, av.next_obj, av.nobjs);
	ui_tp_add(p, "%s", "");
	ui_tp_add(p, "threads: time in each state inside the area");
	for (int i = 0; i < av.nthreads && i < av.next_thread; i++) {
		const struct ui_thread *t = &m->threads[i];
		char line[UI_LINE_MAX];
		size_t n = 0;
		for (int s = 1; s < UI_ST_COUNT && n < sizeof(line) - 48; s++) {
			if (!av.ns[i][s])
				continue;
			ui_fmt_ns(av.ns[i][s], d, sizeof(d));
			n += (size_t)snprintf(line + n, sizeof(line) - n, "  %s %s",
					      ui_state_name(s), d);
		}
		if (n)
			ui_tp_add(p, "  %-*s %-7d %-16s%s", m->label_w, t->label, t->tid, t->name,
				  line);
	}
	ui_tp_add(p, "%s", "");
	ui_tp_add(p, "objects: holds and waits overlapping the area (times inside it)");
	ui_tp_add(p, "  %-24s %9s %12s %9s %12s", "object", "holds", "held", "waits", "waited");
	for (int k = 0; k < av.nobjs && k < av.next_obj; k++) {
		const struct ui_area_object *o = &av.obj[k];
		if (!o->holds && !o->waits)
			continue;
		char hn[32], wn[32], c2[32];
		ui_fmt_ns(o->hold_ns, hn, sizeof(hn));
		ui_fmt_ns(o->wait_ns, wn, sizeof(wn));
		ui_tp_add(p, "  %-24.24s %9s %12s %9s %12s", m->objs[k].name,
			  ui_fmt_count(o->holds, c1, sizeof(c1)), hn,
			  ui_fmt_count(o->waits, c2, sizeof(c2)), wn);
	}
}

static void area_draw(struct ui *ui)
{
	area_build(ui);
	ui_tp_draw(ui, &av.p, "area summary (m m: mark another)");
}

static int area_handle(struct ui *ui, enum ui_req req)
{
	return ui_tp_handle(ui, &av.p, req);
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
