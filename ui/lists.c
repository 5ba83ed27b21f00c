/*
 * Lists: the most contended objects (Enter jumps to the worst wait), the
 * processes (Enter shows one's lifetime), and the findings table that
 * `weft report` may add to a trace (read generically: it may not exist).
 */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAB_CONTENDED, TAB_PROCESSES, TAB_FINDINGS, TAB__COUNT };

struct list_row {
	char text[320];
	int64_t event_id, ts;
	int pid, tid;
};

static struct lists_view {
	int tab, sel, top;
	struct list_row *rows;
	int n, cap;
	char note[160];
} lv;

static struct list_row *add_row(void)
{
	if (lv.n == lv.cap) {
		int ncap = lv.cap ? lv.cap * 2 : 64;
		struct list_row *r = realloc(lv.rows, (size_t)ncap * sizeof(*r));
		if (!r)
			return NULL;
		lv.rows = r;
		lv.cap = ncap;
	}
	struct list_row *r = &lv.rows[lv.n++];
	memset(r, 0, sizeof(*r));
	r->ts = -1;
	return r;
}

static void build_contended(struct ui *ui)
{
	char tw[32], mw[32], mh[32];
	for (int i = 0; i < ui->m.nobjs; i++) {
		const struct ui_object *o = &ui->m.objs[i];
		if (!o->acquires)
			continue;
		struct list_row *r = add_row();
		if (!r)
			return;
		ui_fmt_ns(o->wait_ns, tw, sizeof(tw));
		ui_fmt_ns(o->max_wait, mw, sizeof(mw));
		ui_fmt_ns(o->max_hold, mh, sizeof(mh));
		snprintf(r->text, sizeof(r->text), "%-24.24s %-8.8s %9lld %9lld %12s %12s %12s",
			 o->name, o->kind, (long long)o->acquires, (long long)o->contended, tw, mw,
			 mh);
		r->event_id = o->max_wait_event;
	}
	snprintf(lv.note, sizeof(lv.note), "%-24s %-8s %9s %9s %12s %12s %12s", "object", "kind",
		 "acquires", "contended", "total wait", "worst wait", "longest hold");
}

static void build_processes(struct ui *ui)
{
	char d[32];
	for (int i = 0; i < ui->m.nprocs; i++) {
		const struct ui_process *p = &ui->m.procs[i];
		struct list_row *r = add_row();
		if (!r)
			return;
		char ex[32] = "running/unknown";
		if (p->has_exit && p->exit_signal)
			snprintf(ex, sizeof(ex), "signal %lld", (long long)p->exit_signal);
		else if (p->has_exit)
			snprintf(ex, sizeof(ex), "exit %lld", (long long)p->exit_code);
		ui_fmt_ns(p->end - p->start, d, sizeof(d));
		snprintf(r->text, sizeof(r->text), "%-8d %-8d %-12s %-16s %s", p->pid, p->ppid, d,
			 ex, p->argv);
		r->ts = p->start;
		r->pid = p->pid;
	}
	snprintf(lv.note, sizeof(lv.note), "%-8s %-8s %-12s %-16s %s", "pid", "ppid", "duration",
		 "exit", "argv");
}

static void build_findings(struct ui *ui)
{
	sqlite3_stmt *st = NULL;
	if (!ui->m.has_findings) {
		snprintf(lv.note, sizeof(lv.note),
			 "this trace has no findings table (weft report adds it when it finds"
			 " problems)");
		return;
	}
	if (sqlite3_prepare_v2(ui->m.db, "SELECT * FROM findings LIMIT 1000", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(lv.note, sizeof(lv.note), "cannot read findings: %.100s",
			 sqlite3_errmsg(ui->m.db));
		return;
	}
	int nc = sqlite3_column_count(st);
	/* weft's own findings view has a one-line summary: show that, not every column */
	int c_sev = -1, c_kind = -1, c_sum = -1, c_count = -1;
	for (int c = 0; c < nc; c++) {
		const char *name = sqlite3_column_name(st, c);
		if (!strcmp(name, "severity"))
			c_sev = c;
		else if (!strcmp(name, "kind"))
			c_kind = c;
		else if (!strcmp(name, "summary"))
			c_sum = c;
		else if (!strcmp(name, "count"))
			c_count = c;
	}
	snprintf(lv.note, sizeof(lv.note), "findings (Enter: go to the event or time of one)");
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct list_row *r = add_row();
		if (!r)
			break;
		size_t len = 0;
		for (int c = 0; c < nc; c++) {
			const char *name = sqlite3_column_name(st, c);
			if (!strcmp(name, "event_id") || !strcmp(name, "event"))
				r->event_id = sqlite3_column_int64(st, c);
			else if (!strcmp(name, "ts_ns") || !strcmp(name, "start_ns"))
				r->ts = sqlite3_column_int64(st, c);
			else if (!strcmp(name, "pid"))
				r->pid = sqlite3_column_int(st, c);
			else if (!strcmp(name, "tid"))
				r->tid = sqlite3_column_int(st, c);
		}
		if (c_sum >= 0) {
			char sev[32] = "", kind[48] = "", sum[240];
			if (c_sev >= 0)
				ui_sanitize_col(st, c_sev, sev, sizeof(sev));
			if (c_kind >= 0)
				ui_sanitize_col(st, c_kind, kind, sizeof(kind));
			ui_sanitize_col(st, c_sum, sum, sizeof(sum));
			int64_t count = c_count >= 0 ? sqlite3_column_int64(st, c_count) : 1;
			len = (size_t)snprintf(r->text, sizeof(r->text), "%-8s %-22s %s", sev, kind,
					       sum);
			if (count > 1 && len < sizeof(r->text))
				snprintf(r->text + len, sizeof(r->text) - len, "  (x%lld)",
					 (long long)count);
			continue;
		}
		for (int c = 0; c < nc && len < sizeof(r->text) - 8; c++) {
			char v[160];
			ui_sanitize_col(st, c, v, sizeof(v));
			len += (size_t)snprintf(r->text + len, sizeof(r->text) - len, "%s%s",
						len ? "  " : "", v);
		}
	}
	sqlite3_finalize(st);
}

static void lists_build(struct ui *ui)
{
	lv.n = 0;
	lv.note[0] = 0;
	if (lv.tab == TAB_CONTENDED)
		build_contended(ui);
	else if (lv.tab == TAB_PROCESSES)
		build_processes(ui);
	else
		build_findings(ui);
	if (lv.sel >= lv.n)
		lv.sel = lv.n - 1;
	if (lv.sel < 0)
		lv.sel = 0;
}

static void lists_draw(struct ui *ui)
{
	static const char *const names[TAB__COUNT] = {"contended objects", "processes", "findings"};
	char tabs[200];
	size_t n = 0;
	lists_build(ui);
	for (int i = 0; i < TAB__COUNT; i++)
		n += (size_t)snprintf(tabs + n, sizeof(tabs) - n, i == lv.tab ? " [%s] " : "  %s  ",
				      names[i]);
	ui_line(ui, 0, ui_attr_title(ui), " lists:%s", tabs);
	ui_line(ui, 1, A_BOLD, "%s", lv.note);
	int body = ui->rows - 3;
	if (lv.sel < lv.top)
		lv.top = lv.sel;
	if (body > 0 && lv.sel >= lv.top + body)
		lv.top = lv.sel - body + 1;
	for (int r = 0; r < body; r++) {
		int i = lv.top + r;
		move(2 + r, 0);
		clrtoeol();
		if (i >= lv.n)
			continue;
		attrset(i == lv.sel ? A_REVERSE : A_NORMAL);
		ui_put(2 + r, 0, ui->cols, lv.rows[i].text);
		attrset(A_NORMAL);
	}
	if (ui->msg[0])
		ui_line(ui, ui->rows - 1, A_BOLD, "%s", ui->msg);
	else
		ui_line(ui, ui->rows - 1, A_DIM,
			"Tab/Left/Right:tab  Up/Down:select  Enter:jump  Esc:back");
}

static int lists_jump(struct ui *ui)
{
	if (lv.sel < 0 || lv.sel >= lv.n)
		return UI_F_REDRAW;
	const struct list_row *r = &lv.rows[lv.sel];
	if (r->event_id) {
		struct ui_event e;
		if (!ui_model_event(&ui->m, r->event_id, &e)) {
			snprintf(ui->msg, sizeof(ui->msg), "event %lld is not in the trace",
				 (long long)r->event_id);
			return UI_F_REDRAW;
		}
		ui_pop(ui);
		ui_focus_thread(ui, e.pid, e.tid);
		ui_select_event(ui, e.id);
		/* show the whole wait with some context on both sides */
		ui_center(ui, e.ts - e.wait / 2, e.wait > 0 ? e.wait * 4 : 0);
		return UI_F_REDRAW | UI_F_LANES;
	}
	if (r->ts >= 0) {
		ui_pop(ui);
		if (r->tid)
			ui_focus_thread(ui, r->pid, r->tid);
		if (lv.tab == TAB_PROCESSES) {
			const struct ui_process *p = NULL;
			for (int i = 0; i < ui->m.nprocs; i++)
				if (ui->m.procs[i].pid == r->pid)
					p = &ui->m.procs[i];
			if (p) {
				int64_t w = p->end - p->start;
				ui_center(ui, p->start + w / 2, w + w / 10 + 1);
				ui_set_cursor(ui, p->start);
				for (int k = 0; k < ui->nlanes; k++)
					if (ui->lanes[k].type == UI_LANE_PROCESS &&
					    &ui->m.procs[ui->lanes[k].idx] == p)
						ui->focus = k;
			}
		} else {
			ui_set_cursor(ui, r->ts);
			ui_center(ui, r->ts, 0);
		}
		return UI_F_REDRAW;
	}
	snprintf(ui->msg, sizeof(ui->msg), "nothing to jump to");
	return UI_F_REDRAW;
}

static int lists_handle(struct ui *ui, enum ui_req req)
{
	int body = ui->rows > 4 ? ui->rows - 4 : 1;
	switch (req) {
	case UI_REQ_TAB:
	case UI_REQ_RIGHT:
		lv.tab = (lv.tab + 1) % TAB__COUNT;
		lv.sel = lv.top = 0;
		break;
	case UI_REQ_LEFT:
		lv.tab = (lv.tab + TAB__COUNT - 1) % TAB__COUNT;
		lv.sel = lv.top = 0;
		break;
	case UI_REQ_UP:
		lv.sel--;
		break;
	case UI_REQ_DOWN:
		lv.sel++;
		break;
	case UI_REQ_PGUP:
		lv.sel -= body;
		break;
	case UI_REQ_PGDN:
		lv.sel += body;
		break;
	case UI_REQ_HOME:
		lv.sel = 0;
		break;
	case UI_REQ_END:
		lv.sel = lv.n - 1;
		break;
	case UI_REQ_ENTER:
		return lists_jump(ui);
	case UI_REQ_BACK:
	case UI_REQ_LISTS:
		ui_pop(ui);
		break;
	default:
		return -1;
	}
	if (lv.sel >= lv.n)
		lv.sel = lv.n - 1;
	if (lv.sel < 0)
		lv.sel = 0;
	return UI_F_REDRAW;
}

static void lists_enter(struct ui *ui)
{
	(void)ui;
	lv.sel = lv.top = 0;
}

const struct ui_screen_ops ui_lists_ops = {
    .name = "lists",
    .draw = lists_draw,
    .handle = lists_handle,
    .enter = lists_enter,
};
