/*
 * Lists: the most contended objects (Enter jumps to the worst wait), the
 * processes (Enter shows one's lifetime), and the findings table that
 * `weft report` may add to a trace (read generically: it may not exist).
 */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { TAB_CONTENDED, TAB_PROCESSES, TAB_FINDINGS, TAB__COUNT };

#define SORT_KEYS 6

struct list_row {
	char text[640];
	int64_t event_id, ts, finding_id;
	int pid, tid;
	/* what S sorts by: the name (key 0) and numbers (keys 1..), largest first */
	char name[96];
	int64_t key[SORT_KEYS];
};

/* Per tab: the sortable columns' names; key 0 sorts by name, ascending. */
static const char *const sort_names[TAB__COUNT][SORT_KEYS] = {
    [TAB_CONTENDED] = {"object", "acquires", "contended", "total wait", "worst wait",
		       "longest hold"},
    [TAB_PROCESSES] = {"name", "pid", "start", "duration", NULL, NULL},
    [TAB_FINDINGS] = {"kind", "severity", "count", "time", NULL, NULL},
};

static struct lists_view {
	int tab, sel, top;
	int sort[TAB__COUNT]; /* the key each tab is sorted by; -1: the table's own order */
	struct list_row *rows;
	int n, cap;
	char note[200];
} lv = {.sort = {-1, -1, -1}};

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
		snprintf(r->name, sizeof(r->name), "%s", o->name);
		r->key[1] = o->acquires;
		r->key[2] = o->contended;
		r->key[3] = o->wait_ns;
		r->key[4] = o->max_wait;
		r->key[5] = o->max_hold;
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
		/* multiprocessing's name (Process-1, a pool worker) when it gave one */
		snprintf(r->text, sizeof(r->text), "%-8d %-8d %-12s %-16s %-16s %s", p->pid,
			 p->ppid, d, ex, p->name[0] ? p->name : "-", p->argv);
		r->ts = p->start;
		r->pid = p->pid;
		snprintf(r->name, sizeof(r->name), "%.*s", (int)sizeof(r->name) - 1,
			 p->name[0] ? p->name : p->argv);
		r->key[1] = -p->pid; /* pids ascending */
		r->key[2] = -p->start;
		r->key[3] = p->end - p->start;
	}
	snprintf(lv.note, sizeof(lv.note), "%-8s %-8s %-12s %-16s %-16s %s", "pid", "ppid",
		 "duration", "exit", "name", "argv");
}

/* One finding as a list row: severity, kind and summary, or the table's columns. */
static int add_finding(void *ctx, const struct ui_finding_row *f)
{
	(void)ctx;
	struct list_row *r = add_row();
	if (!r)
		return -1;
	r->finding_id = f->finding_id;
	r->event_id = f->event_id;
	r->ts = f->ts;
	r->pid = f->pid;
	r->tid = f->tid;
	if (!f->has_summary) {
		snprintf(r->text, sizeof(r->text), "%s", f->columns);
		return 0;
	}
	/* S: by kind, by severity (errors first), by count, by time */
	static const char *const ranks[] = {"note", "info", "warning", "error"};
	snprintf(r->name, sizeof(r->name), "%s", f->kind);
	for (int k = 0; k < (int)(sizeof(ranks) / sizeof(ranks[0])); k++)
		if (!strcmp(f->severity, ranks[k]))
			r->key[1] = k + 1;
	r->key[2] = f->count;
	r->key[3] = f->ts >= 0 ? -f->ts : INT64_MIN; /* earliest first */
	size_t len = (size_t)snprintf(r->text, sizeof(r->text), "%-8s %-22s %s", f->severity,
				      f->kind, f->summary);
	if (f->count > 1 && len < sizeof(r->text))
		snprintf(r->text + len, sizeof(r->text) - len, "  (x%lld)", (long long)f->count);
	return 0;
}

static void build_findings(struct ui *ui)
{
	char err[160];
	if (!ui->m.has_findings) {
		snprintf(lv.note, sizeof(lv.note),
			 "this trace has no findings table (weft report adds it when it finds"
			 " problems)");
		return;
	}
	if (ui_model_findings(&ui->m, add_finding, NULL, err, sizeof(err))) {
		snprintf(lv.note, sizeof(lv.note), "cannot read findings: %.100s", err);
		return;
	}
	snprintf(lv.note, sizeof(lv.note),
		 "findings (Enter: every side of one, highlighted in its lane, details below)");
}

static int sort_key;

/* Names ascending; numbers largest first; ties keep the table's order. */
static int row_cmp(const void *a, const void *b)
{
	const struct list_row *x = a, *y = b;
	int c = 0;
	if (sort_key == 0)
		c = strcasecmp(x->name, y->name);
	else if (x->key[sort_key] != y->key[sort_key])
		c = x->key[sort_key] > y->key[sort_key] ? -1 : 1;
	return c ? c : x < y ? -1 : x > y;
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
	if (lv.sort[lv.tab] >= 0) {
		sort_key = lv.sort[lv.tab];
		qsort(lv.rows, (size_t)lv.n, sizeof(*lv.rows), row_cmp);
	}
	if (lv.sel >= lv.n)
		lv.sel = lv.n - 1;
	if (lv.sel < 0)
		lv.sel = 0;
}

/* Screen lines a row takes: long summaries wrap instead of being cut at the edge. */
static int row_lines(const struct list_row *r, int cols)
{
	int n = (int)strlen(r->text);
	return n <= cols ? 1 : 1 + (n - cols + cols - 5) / (cols - 4);
}

static void lists_draw(struct ui *ui)
{
	static const char *const names[TAB__COUNT] = {"contended objects", "processes", "findings"};
	char tabs[200];
	size_t n = 0;
	int y0 = ui->py0, cols = ui->cols;
	lists_build(ui);
	for (int i = 0; i < TAB__COUNT; i++)
		n += (size_t)snprintf(tabs + n, sizeof(tabs) - n, i == lv.tab ? " [%s] " : "  %s  ",
				      names[i]);
	int sk = lv.sort[lv.tab];
	ui_line(ui, y0, ui_attr_title(ui), " lists:%s%s%s", tabs, sk >= 0 ? "  sorted by " : "",
		sk >= 0 ? sort_names[lv.tab][sk] : "");
	ui_line(ui, y0 + 1, A_BOLD, "%s", lv.note);
	int body = ui->rows - y0 - 3;
	if (lv.sel < lv.top)
		lv.top = lv.sel;
	for (;;) {
		int used = 0;
		for (int i = lv.top; i <= lv.sel && i < lv.n; i++)
			used += row_lines(&lv.rows[i], cols);
		if (used <= body || lv.top >= lv.sel)
			break;
		lv.top++;
	}
	int y = y0 + 2;
	for (int i = lv.top; i < lv.n && y < y0 + 2 + body; i++) {
		const char *t = lv.rows[i].text;
		attrset(i == lv.sel ? A_REVERSE : A_NORMAL);
		for (int first = 1; *t && y < y0 + 2 + body; first = 0) {
			int room = first ? cols : cols - 4;
			int len = (int)strlen(t);
			if (len > room) {
				len = room;
				while (len > room / 2 && t[len] != ' ')
					len--;
				if (t[len] != ' ')
					len = room;
			}
			move(y, 0);
			clrtoeol();
			char part[640];
			snprintf(part, sizeof(part), "%s%.*s", first ? "" : "    ", len, t);
			ui_put(y, 0, cols, part);
			if (ui->search[0])
				ui_highlight(y, 0, cols, part, ui->search);
			y++;
			t += len;
			while (*t == ' ')
				t++;
		}
		attrset(A_NORMAL);
	}
	for (; y < y0 + 2 + body; y++) {
		move(y, 0);
		clrtoeol();
	}
	ui_status(ui, "Tab/Left/Right:tab  Up/Down:select  Enter:jump  S:sort  z:full  Esc:back");
}

/* A finding: every side highlighted in its lane, the first selected, the details below. */
static int open_finding(struct ui *ui, const struct list_row *r)
{
	struct ui_finding_item it[8];
	int n = ui_model_finding_items(&ui->m, r->finding_id, it, 8);
	ui_remember(ui);
	ui_pop(ui);
	ui->finding_id = r->finding_id;
	/* the summary without the severity and kind columns */
	const char *sum = r->text;
	for (int k = 0; k < 2 && strchr(sum, ' '); k++) {
		sum = strchr(sum, ' ');
		while (*sum == ' ')
			sum++;
	}
	snprintf(ui->finding_text, sizeof(ui->finding_text), "%.*s",
		 (int)sizeof(ui->finding_text) - 1, sum);
	int64_t lo = INT64_MAX, hi = -1;
	int64_t first = r->event_id;
	for (int i = 0; i < n; i++) {
		if (it[i].ts < 0)
			continue;
		lo = it[i].ts < lo ? it[i].ts : lo;
		hi = it[i].ts > hi ? it[i].ts : hi;
		if (!first && it[i].event_id)
			first = it[i].event_id;
	}
	struct ui_event e;
	if (first && ui_model_event(&ui->m, first, &e)) {
		ui_focus_thread(ui, e.pid, e.tid);
		ui_select_event(ui, first);
	} else if (r->ts >= 0) {
		ui_set_cursor(ui, r->ts);
	}
	/* ui_select_event highlighted one side: every side is */
	ui->nhl = 0;
	for (int i = 0; i < n && ui->nhl < 8; i++)
		if (it[i].ts >= 0)
			ui->hl[ui->nhl++] =
			    (struct ui_mark_span){it[i].pid, it[i].tid, it[i].ts, it[i].ts};
	if (hi >= 0 && hi > lo)
		ui_center(ui, lo + (hi - lo) / 2, (hi - lo) + (hi - lo) / 2 + 1);
	ui_push(ui, UI_SCR_EVENT);
	return UI_F_REDRAW | UI_F_LANES;
}

static int lists_jump(struct ui *ui)
{
	if (lv.sel < 0 || lv.sel >= lv.n)
		return UI_F_REDRAW;
	const struct list_row *r = &lv.rows[lv.sel];
	if (lv.tab == TAB_FINDINGS && r->finding_id)
		return open_finding(ui, r);
	if (r->event_id) {
		struct ui_event e;
		if (!ui_model_event(&ui->m, r->event_id, &e)) {
			snprintf(ui->msg, sizeof(ui->msg), "event %lld is not in the trace",
				 (long long)r->event_id);
			return UI_F_REDRAW;
		}
		ui_remember(ui);
		ui_pop(ui);
		ui_focus_thread(ui, e.pid, e.tid);
		ui_select_event(ui, e.id);
		/*
		 * A wait: the cursor where it starts, where the thread is already
		 * stuck, the whole wait highlighted with context on both sides.
		 */
		int64_t wait = e.wait > 0 ? e.wait : 0;
		ui_center(ui, e.ts - wait / 2, wait > 0 ? wait * 4 : 0);
		ui->cursor = e.ts - wait;
		if (wait > 0) {
			char a[32], b[32], d[32], on[128] = "";
			ui_fmt_at(ui, e.ts - wait, a, sizeof(a));
			ui_fmt_at(ui, e.ts, b, sizeof(b));
			ui_fmt_ns(wait, d, sizeof(d));
			if (e.obj)
				ui_model_object_name(&ui->m, e.obj, on, sizeof(on));
			snprintf(
			    ui->msg, sizeof(ui->msg),
			    "worst wait on %.60s: %s, from %s to %s (highlighted; Enter: details)",
			    on, d, a, b);
		}
		return UI_F_REDRAW | UI_F_LANES;
	}
	if (r->ts >= 0) {
		ui_remember(ui);
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
	case UI_REQ_SORT: {
		/* the next sortable column, then the table's own order again */
		int k = lv.sort[lv.tab] + 1;
		while (k < SORT_KEYS && !sort_names[lv.tab][k])
			k++;
		lv.sort[lv.tab] = k < SORT_KEYS ? k : -1;
		if (!sort_names[lv.tab][0])
			lv.sort[lv.tab] = -1;
		lv.sel = lv.top = 0;
		break;
	}
	default:
		return UI_NOT_HANDLED;
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
