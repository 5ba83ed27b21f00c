/*
 * `weft view FILE`: argument handling, the terminal's life cycle (restored
 * on every exit path, signals included), the main loop, requests shared by
 * all screens, prompts, search, and the off-screen benchmark.
 */
#include "ui/ui.h"
#include "tracer/cli.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <term.h>
#include <time.h>
#include <unistd.h>

#define MIN_COLS 60
#define MIN_ROWS 12

static volatile sig_atomic_t got_signal;
static int curses_on;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Runs at exit: whatever path leaves the process, the terminal is given back. */
static void restore_terminal(void)
{
	if (curses_on) {
		curses_on = 0;
		endwin();
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- search state (the view's, shared by all screens) ---- */

static struct ui_search srch;

static int step_event(struct ui *ui, int dir, int any)
{
	const struct ui_thread *t = any ? NULL : ui_focused_thread(ui);
	struct ui_event cur;
	int64_t id = dir > 0 ? -1 : INT64_MAX, eid, ets;
	if (ui->sel_event && ui_model_event(&ui->m, ui->sel_event, &cur) && cur.ts == ui->cursor)
		id = cur.id;
	if (!any && !t) {
		snprintf(ui->msg, sizeof(ui->msg),
			 "focus a thread lane to step its events (< > step any thread)");
		return UI_F_REDRAW;
	}
	if (!ui_model_step_event(&ui->m, t, ui->cursor, id, dir, &eid, &ets)) {
		snprintf(ui->msg, sizeof(ui->msg), "no %s event%s", dir > 0 ? "later" : "earlier",
			 t ? " on this thread" : "");
		return UI_F_REDRAW;
	}
	ui_select_event(ui, eid);
	if (any) {
		struct ui_event e;
		if (ui_model_event(&ui->m, eid, &e) && !ui->obj_mode) {
			int keep = ui->focus;
			ui_focus_thread(ui, e.pid, e.tid);
			if (ui->focus < 0)
				ui->focus = keep;
		}
	}
	struct ui_event e;
	if (ui_model_event(&ui->m, eid, &e)) {
		char t1[32];
		ui_fmt_ns(e.ts, t1, sizeof(t1));
		snprintf(ui->msg, sizeof(ui->msg), "event %lld %s at %s (tid %d)  Enter: details",
			 (long long)e.id, e.kind, t1, e.tid);
	}
	return UI_F_REDRAW | UI_F_LANES;
}

/* The next/previous event on a matching object, stack, variable or finding. */
static int search_event(struct ui *ui, int dir)
{
	struct ui_event cur;
	int64_t cid = dir > 0 ? -1 : INT64_MAX;
	if (ui->sel_event && ui_model_event(&ui->m, ui->sel_event, &cur) && cur.ts == ui->cursor)
		cid = cur.id;
	int64_t id = ui_model_search_event(&ui->m, &srch, ui->cursor, cid, dir);
	if (!id)
		return 0;
	struct ui_event e;
	ui_select_event(ui, id);
	if (ui_model_event(&ui->m, id, &e)) {
		char t1[32];
		ui_fmt_at(ui, e.ts, t1, sizeof(t1));
		ui_focus_thread(ui, e.pid, e.tid);
		snprintf(ui->msg, sizeof(ui->msg), "/%s: event %lld %s at %s (tid %d)", ui->search,
			 (long long)e.id, e.kind, t1, e.tid);
	}
	return 1;
}

void ui_search_step(struct ui *ui, int dir)
{
	if (!ui->search[0]) {
		snprintf(ui->msg, sizeof(ui->msg), "no search: / starts one");
		return;
	}
	ui_remember(ui);
	if (srch.nobjs || srch.nstacks || srch.nevents) {
		if (!search_event(ui, dir))
			snprintf(ui->msg, sizeof(ui->msg), "/%s: no %s match", ui->search,
				 dir > 0 ? "later" : "earlier");
		return;
	}
	if (!srch.nthreads) {
		snprintf(ui->msg, sizeof(ui->msg),
			 "/%s: no thread, object, function, file:line, variable or finding"
			 " matches",
			 ui->search);
		return;
	}
	srch.pos = (srch.pos + (dir > 0 ? 1 : srch.nthreads - 1) + (srch.pos < 0 && dir < 0)) %
		   srch.nthreads;
	const struct ui_thread *t = &ui->m.threads[srch.threads[srch.pos]];
	ui_focus_thread(ui, t->pid, t->tid);
	snprintf(ui->msg, sizeof(ui->msg), "/%s: thread %d %s (%d of %d)", ui->search, t->tid,
		 t->name, srch.pos + 1, srch.nthreads);
}

/* ---- prompts ---- */

/* Opens a prompt holding text (the current filter or search: edit it, or Backspace it away). */
static void start_prompt(struct ui *ui, enum ui_prompt_kind k, const char *text)
{
	ui->prompt = k;
	snprintf(ui->pbuf, sizeof(ui->pbuf), "%s", text);
	ui->plen = (int)strlen(ui->pbuf);
	ui->msg[0] = 0;
}

static int submit_prompt(struct ui *ui)
{
	enum ui_prompt_kind k = ui->prompt;
	ui->prompt = UI_PROMPT_NONE;
	switch (k) {
	case UI_PROMPT_TIME: {
		int64_t t = ui_parse_time(ui->pbuf);
		if (t < 0 || t > ui->m.end_ns) {
			snprintf(ui->msg, sizeof(ui->msg),
				 "not a time in this trace: '%s' (e.g. 1.5s, 20ms, 300us)",
				 ui->pbuf);
			break;
		}
		ui_remember(ui);
		ui_set_cursor(ui, t);
		ui_center(ui, t, 0);
		break;
	}
	case UI_PROMPT_EVENT: {
		char *end;
		long long id = strtoll(ui->pbuf, &end, 10);
		if (end == ui->pbuf || *end || id <= 0) {
			snprintf(ui->msg, sizeof(ui->msg), "not an event id: '%s'", ui->pbuf);
			break;
		}
		struct ui_event e;
		if (!ui_model_event(&ui->m, id, &e)) {
			snprintf(ui->msg, sizeof(ui->msg), "no event %lld in this trace", id);
			break;
		}
		ui_remember(ui);
		ui_focus_thread(ui, e.pid, e.tid);
		ui_select_event(ui, id);
		return UI_F_REDRAW | UI_F_LANES;
	}
	case UI_PROMPT_FILTER:
		snprintf(ui->filter, sizeof(ui->filter), "%s", ui->pbuf);
		return UI_F_REDRAW | UI_F_LANES;
	case UI_PROMPT_SEARCH:
		snprintf(ui->search, sizeof(ui->search), "%s", ui->pbuf);
		if (!ui->search[0])
			break;
		ui_model_search_compute(&ui->m, ui->search, &srch);
		ui_search_step(ui, 1);
		if (srch.nthreads || srch.nobjs || srch.nstacks || srch.nevents) {
			char first[256];
			snprintf(first, sizeof(first), "%s", ui->msg);
			snprintf(ui->msg, sizeof(ui->msg),
				 "%.150s  [%d threads, %d objects, %d stacks, %d variables, %d"
				 " finding events; n/N]",
				 first, srch.nthreads, srch.nobjs, srch.nstacks - srch.nvars,
				 srch.nvars, srch.nevents);
		}
		return UI_F_REDRAW | UI_F_LANES;
	default:
		break;
	}
	return UI_F_REDRAW;
}

static int prompt_key(struct ui *ui, int ch)
{
	if (ch == 27) {
		ui->prompt = UI_PROMPT_NONE;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		return submit_prompt(ui);
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (ui->plen)
			ui->pbuf[--ui->plen] = 0;
	} else if (ch >= 0x20 && ch < 0x7f && ui->plen < (int)sizeof(ui->pbuf) - 1) {
		ui->pbuf[ui->plen++] = (char)ch;
		ui->pbuf[ui->plen] = 0;
	}
	return UI_F_REDRAW;
}

/* ---- requests every screen shares ---- */

static int64_t col_ns(const struct ui *ui)
{
	int64_t dt = (ui->t1 - ui->t0) / ui_min_width(ui);
	return dt > 0 ? dt : 1;
}

/* m at one end of the area, m at the other: the area summary opens under the timeline. */
static int mark_area(struct ui *ui)
{
	char c[32];
	ui_fmt_at(ui, ui->cursor, c, sizeof(c));
	if (ui->area_a < 0 || ui->area_b > ui->area_a) {
		ui->area_a = ui->cursor;
		ui->area_b = ui->cursor;
		snprintf(ui->msg, sizeof(ui->msg), "area from %s: move the cursor, m marks its end",
			 c);
		return UI_F_REDRAW;
	}
	if (ui->cursor == ui->area_a) {
		snprintf(ui->msg, sizeof(ui->msg), "the area's end must differ from its start");
		return UI_F_REDRAW;
	}
	ui->area_b = ui->cursor;
	if (ui->area_b < ui->area_a) {
		ui->area_b = ui->area_a;
		ui->area_a = ui->cursor;
	}
	if (ui->scr[ui->depth - 1] != UI_SCR_AREA)
		ui_push(ui, UI_SCR_AREA);
	return UI_F_REDRAW;
}

static int global_request(struct ui *ui, enum ui_req req)
{
	int64_t w = ui->t1 - ui->t0;
	switch (req) {
	case UI_REQ_QUIT:
		return UI_F_QUIT;
	case UI_REQ_HELP:
		ui_push(ui, UI_SCR_HELP);
		break;
	case UI_REQ_BACK:
		if (ui->depth > 1)
			ui_pop(ui);
		else if (ui->area_a >= 0)
			ui->area_a = -1;
		else
			ui->search[0] = 0;
		ui->msg[0] = 0;
		break;
	case UI_REQ_LEFT:
		ui_set_cursor(ui, ui->cursor - col_ns(ui));
		break;
	case UI_REQ_RIGHT:
		ui_set_cursor(ui, ui->cursor + col_ns(ui));
		break;
	case UI_REQ_HOME:
		ui_set_cursor(ui, 0);
		break;
	case UI_REQ_END:
		ui_set_cursor(ui, ui->m.end_ns);
		break;
	case UI_REQ_PAN_LEFT:
	case UI_REQ_PAN_RIGHT: {
		int64_t mid = ui->t0 + w / 2 + (req == UI_REQ_PAN_LEFT ? -w / 2 : w / 2);
		ui_center(ui, mid, w);
		if (ui->cursor < ui->t0 || ui->cursor >= ui->t1)
			ui->cursor = ui->t0 + (ui->t1 - ui->t0) / 2;
		break;
	}
	case UI_REQ_ZOOM_IN:
		ui_center(ui, ui->cursor, w / 2);
		break;
	case UI_REQ_ZOOM_OUT:
		ui_center(ui, ui->cursor, w * 2);
		break;
	case UI_REQ_FIT:
		ui_center(ui, 0, ui->m.end_ns + 1);
		break;
	case UI_REQ_PLAY:
		ui->playing = !ui->playing;
		if (ui->playing && ui->cursor >= ui->m.end_ns)
			ui_set_cursor(ui, 0);
		break;
	case UI_REQ_FASTER:
		if (ui->speed < INT64_MAX / 4)
			ui->speed *= 2;
		break;
	case UI_REQ_SLOWER:
		if (ui->speed > 1)
			ui->speed /= 2;
		break;
	case UI_REQ_NEXT_EVENT:
		return step_event(ui, 1, 0);
	case UI_REQ_PREV_EVENT:
		return step_event(ui, -1, 0);
	case UI_REQ_NEXT_ANY:
		return step_event(ui, 1, 1);
	case UI_REQ_PREV_ANY:
		return step_event(ui, -1, 1);
	case UI_REQ_GOTO_TIME:
		start_prompt(ui, UI_PROMPT_TIME, "");
		break;
	case UI_REQ_GOTO_EVENT:
		start_prompt(ui, UI_PROMPT_EVENT, "");
		break;
	case UI_REQ_FILTER:
		start_prompt(ui, UI_PROMPT_FILTER, ui->filter);
		break;
	case UI_REQ_SEARCH:
		start_prompt(ui, UI_PROMPT_SEARCH, "");
		break;
	case UI_REQ_HISTORY_BACK:
		return ui_history_step(ui, 1);
	case UI_REQ_HISTORY_FWD:
		return ui_history_step(ui, 0);
	case UI_REQ_RELATIVE:
		ui->relative = !ui->relative;
		snprintf(ui->msg, sizeof(ui->msg), "ruler: %s",
			 ui->relative ? "times relative to the cursor (r: absolute)"
				      : "absolute times");
		break;
	case UI_REQ_FULL:
		ui->panel_full = !ui->panel_full;
		break;
	case UI_REQ_PANEL_SMALLER:
	case UI_REQ_PANEL_BIGGER: {
		int panel = ui->rows - ui->tl_rows;
		if (ui->tl_rows >= ui->rows) /* no panel open: resize the next one */
			panel = ui->panel_rows ? ui->panel_rows : ui->rows - ui->rows / 2;
		panel += req == UI_REQ_PANEL_BIGGER ? 2 : -2;
		ui->panel_rows = panel < 4 ? 4 : panel > ui->rows - 8 ? ui->rows - 8 : panel;
		break;
	}
	case UI_REQ_MARK:
		return mark_area(ui);
	case UI_REQ_SEARCH_NEXT:
		ui_search_step(ui, 1);
		return UI_F_REDRAW | UI_F_LANES;
	case UI_REQ_SEARCH_PREV:
		ui_search_step(ui, -1);
		return UI_F_REDRAW | UI_F_LANES;
	case UI_REQ_ENTER:
		if (!ui->sel_event) {
			int64_t id, ts;
			const struct ui_thread *t = ui_focused_thread(ui);
			if (ui_model_step_event(&ui->m, t, ui->cursor, -1, 1, &id, &ts))
				ui_select_event(ui, id);
		}
		ui_push(ui, UI_SCR_EVENT);
		break;
	case UI_REQ_STATE:
		ui_push(ui, UI_SCR_STATE);
		break;
	case UI_REQ_LISTS:
		ui_push(ui, UI_SCR_LISTS);
		break;
	case UI_REQ_OBJECTS:
		ui->obj_mode = !ui->obj_mode;
		ui->focus = 0;
		ui->top = 0;
		ui->nlanes = 0;
		return UI_F_REDRAW | UI_F_LANES;
	case UI_REQ_RESIZE:
		break;
	default:
		return UI_HANDLED;
	}
	return UI_F_REDRAW;
}

static int dispatch(struct ui *ui, int ch)
{
	if (ui->prompt != UI_PROMPT_NONE)
		return prompt_key(ui, ch);
	enum ui_req req = ui_key_request(ch);
	if (req == UI_REQ_NONE)
		return UI_HANDLED;
	if (req == UI_REQ_MOUSE) {
		MEVENT me;
		if (getmouse(&me) != OK)
			return UI_HANDLED;
		ui->mouse_x = me.x;
		ui->mouse_y = me.y;
		ui->mouse_bstate = (int)me.bstate;
	}
	if (req != UI_REQ_MOUSE && req != UI_REQ_RESIZE)
		ui->msg[0] = 0;
	int f = ui_screens[ui->scr[ui->depth - 1]]->handle(ui, req);
	if (f == UI_NOT_HANDLED)
		f = global_request(ui, req);
	return f;
}

/* Words of s over as many lines as the width needs: a narrow terminal still reads it all. */
static void draw_wrapped(const char *s, int cols, int rows)
{
	int y = 0;
	while (*s && y < rows && cols > 0) {
		int n = (int)strlen(s);
		if (n > cols) {
			n = cols;
			while (n > 0 && s[n] != ' ')
				n--;
			if (!n)
				n = cols;
		}
		mvaddnstr(y++, 0, s, n);
		s += n;
		while (*s == ' ')
			s++;
	}
}

/*
 * The top screen; a panel (state, details, lists, area) goes under the
 * timeline, which stays visible, unless z made it full screen.
 */
static void draw(struct ui *ui)
{
	getmaxyx(stdscr, ui->rows, ui->cols);
	erase();
	if (ui->rows < MIN_ROWS || ui->cols < MIN_COLS) {
		char m[128];
		snprintf(m, sizeof(m), "terminal too small (%dx%d): need %dx%d; q quits", ui->cols,
			 ui->rows, MIN_COLS, MIN_ROWS);
		draw_wrapped(m, ui->cols, ui->rows);
		refresh();
		return;
	}
	enum ui_screen_id top = ui->scr[ui->depth - 1];
	int split = top != UI_SCR_TIMELINE && top != UI_SCR_HELP && !ui->panel_full;
	ui->tl_rows = ui->rows;
	ui->py0 = 0;
	if (split) {
		/* half each unless ( ) resized it; the timeline keeps its header and a few lanes */
		int panel = ui->panel_rows ? ui->panel_rows : ui->rows - ui->rows / 2;
		if (panel > ui->rows - 8)
			panel = ui->rows - 8;
		if (panel < 4)
			panel = 4;
		ui->tl_rows = ui->rows - panel;
		ui->py0 = ui->tl_rows;
		ui_screens[UI_SCR_TIMELINE]->draw(ui);
	} else if (top != UI_SCR_TIMELINE) {
		/* a full-screen panel still shows times at the timeline's precision */
		int w = ui->cols - ui_timeline_label_width(ui);
		ui->res = w > 0 && (ui->t1 - ui->t0) / w > 0 ? (ui->t1 - ui->t0) / w : 1;
	}
	ui_screens[top]->draw(ui);
	refresh();
}

static void play_tick(struct ui *ui, int64_t *last)
{
	int64_t now = now_ns();
	double real = (double)(now - *last) / 1e9;
	*last = now;
	int64_t adv = (int64_t)((double)ui->speed * real);
	if (adv < 1)
		adv = 1;
	int64_t c = ui->cursor + adv;
	if (c >= ui->m.end_ns) {
		c = ui->m.end_ns;
		ui->playing = 0;
	}
	ui->cursor = c;
	/* keep the cursor on screen: page forward instead of scrolling every frame */
	if (c >= ui->t1)
		ui_center(ui, c + (ui->t1 - ui->t0) / 2 - (ui->t1 - ui->t0) / 10, 0);
}

static void ui_init_state(struct ui *ui, int rows, int cols)
{
	ui->rows = rows;
	ui->cols = cols;
	ui->depth = 0;
	ui->tl_rows = rows;
	ui->area_a = ui->area_b = -1;
	ui->drag_x = -1;
	ui_push(ui, UI_SCR_TIMELINE);
	ui_center(ui, 0, ui->m.end_ns + 1);
	ui->cursor = 0;
	ui->speed = (ui->t1 - ui->t0) / 10 > 0 ? (ui->t1 - ui->t0) / 10 : 1;
	ui_build_lanes(ui);
	/* the first thread lane, not the process line */
	if (ui->nlanes > 1 && ui->lanes[0].type == UI_LANE_PROCESS)
		ui->focus = 1;
}

static double ms_since(int64_t t)
{
	return (double)(now_ns() - t) / 1e6;
}

/* Renders frames into a terminal on /dev/null: what a user's redraw costs, minus the tty. */
int weft_view_bench(const char *path, int frames, int ascii)
{
	struct ui ui;
	char err[512];
	int rc = 1;
	setlocale(LC_ALL, "");
	memset(&ui, 0, sizeof(ui));
	int64_t t0 = now_ns();
	if (ui_model_open(&ui.m, path, err, sizeof(err))) {
		weft_error("%s", err);
		ui_model_close(&ui.m);
		return 1;
	}
	double t_model = ms_since(t0);
	FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
	const char *term = getenv("TERM");
	SCREEN *scr = out && in ? newterm(term && *term ? term : "xterm-256color", out, in) : NULL;
	if (!scr) {
		weft_error("cannot start a terminal for the benchmark (TERM=%s)", term ? term : "");
		goto out;
	}
	curses_on = 1;
	resize_term(50, 200);
	ui.utf8 = !ascii;
	ui.color = 1;
	ui_colors_init(&ui);
	ui_init_state(&ui, 50, 200);
	draw(&ui);
	double t_open = ms_since(t0);
	struct {
		const char *name;
		double sum, max;
		int n;
	} cat[] = {{"fit", 0, 0, 0},	 {"zoomed", 0, 0, 0}, {"pan", 0, 0, 0},
		   {"objects", 0, 0, 0}, {"state", 0, 0, 0},  {"details", 0, 0, 0}};
	const int ncat = (int)(sizeof(cat) / sizeof(cat[0]));
	for (int f = 0; f < frames; f++) {
		for (int c = 0; c < ncat; c++) {
			ui.obj_mode = c == 3;
			ui_build_lanes(&ui);
			ui.depth = 1;
			if (c == 0 || c == 3)
				ui_center(&ui, 0, ui.m.end_ns + 1);
			if (c == 1 || c == 3) /* each frame one more zoom level: fine to coarse */
				ui_center(&ui, ui.m.end_ns / 2, (ui.m.end_ns >> (f % 24)) + 1);
			if (c == 2)
				ui_center(&ui, ui.t0 + (ui.t1 - ui.t0) * 3 / 2, 0);
			if (c == 4) {
				ui.cursor = ui.m.end_ns / (f + 2);
				ui_push(&ui, UI_SCR_STATE);
			}
			/* the worst wait of each object in turn: holders counted, previous owner */
			if (c == 5 && ui.m.nobjs) {
				ui_select_event(&ui, ui.m.objs[f % ui.m.nobjs].max_wait_event);
				ui_push(&ui, UI_SCR_EVENT);
			}
			int64_t s = now_ns();
			draw(&ui);
			double ms = ms_since(s);
			cat[c].sum += ms;
			cat[c].n++;
			if (ms > cat[c].max)
				cat[c].max = ms;
		}
	}
	restore_terminal();
	delscreen(scr);
	printf("trace %s: %lld events, %d threads, %d objects\n", ui.m.path, (long long)ui.m.events,
	       ui.m.nthreads, ui.m.nobjs);
	printf("open (checks, %sload, first frame): %.1f ms (model %.1f ms)\n",
	       ui.m.derived_here ? "derive, " : "", t_open, t_model);
	for (int c = 0; c < ncat; c++)
		printf("redraw %-8s avg %.2f ms  max %.2f ms  (%d frames, 200x50)\n", cat[c].name,
		       cat[c].n ? cat[c].sum / cat[c].n : 0, cat[c].max, cat[c].n);
	rc = 0;
out:
	if (out)
		fclose(out);
	if (in)
		fclose(in);
	free(ui.lanes);
	ui_model_close(&ui.m);
	return rc;
}

int weft_view(const char *path, int ascii, int nocolor)
{
	struct ui ui;
	setlocale(LC_ALL, "");
	char err[512];
	int rc = 1;
	memset(&ui, 0, sizeof(ui));
	/* the file's problems first: they are what the user most needs to hear */
	if (ui_model_open(&ui.m, path, err, sizeof(err))) {
		weft_error("%s", err);
		goto out;
	}
	if (ui.m.events == 0 || ui.m.nthreads == 0) {
		weft_error("%s: the trace has no events", ui.m.path);
		goto out;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		weft_error(
		    "view: needs a terminal on stdin and stdout (use weft report or weft query"
		    " for scripts)");
		goto out;
	}
	ui.utf8 = !ascii && !strcmp(nl_langinfo(CODESET), "UTF-8");
	ui.color = !nocolor && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
	atexit(restore_terminal);
	/* checked first: initscr exits by itself on an unknown TERM, newterm leaks */
	const char *term = getenv("TERM");
	int terr = 0;
	SCREEN *scr = NULL;
	if (setupterm(NULL, STDOUT_FILENO, &terr) == OK) {
		del_curterm(cur_term);
		scr = newterm(NULL, stdout, stdin);
	}
	if (!scr) {
		weft_error("view: cannot use this terminal (TERM=%s)", term ? term : "");
		goto out;
	}
	curses_on = 1;
	/* after newterm, which installs its own handlers for these */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
		      | BUTTON5_PRESSED
#endif
		  ,
		  NULL);
	ui_colors_init(&ui);
	int rows, cols;
	getmaxyx(stdscr, rows, cols);
	ui_init_state(&ui, rows, cols);
	draw(&ui);
	int64_t last = now_ns();
	int was_working = 0;
	for (;;) {
		/* an area summary still being read goes on between keys, a slice at a time */
		int working = ui.area_b > ui.area_a && ui_area_work(&ui);
		if (was_working && !working)
			draw(&ui); /* the last slice's results */
		was_working = working;
		timeout(working ? 0 : ui.playing ? 40 : 200);
		int ch = getch();
		if (got_signal)
			break;
		int f = 0;
		if (ch == ERR) {
			if (working) {
				draw(&ui);
				continue;
			}
			if (!ui.playing)
				continue;
			play_tick(&ui, &last);
			f = UI_F_REDRAW;
		} else {
			int was = ui.playing;
			f = dispatch(&ui, ch);
			if (!was && ui.playing)
				last = now_ns();
		}
		if (f & UI_F_QUIT)
			break;
		if (f & UI_F_LANES)
			ui_build_lanes(&ui);
		if (f)
			draw(&ui);
	}
	restore_terminal();
	delscreen(scr);
	rc = got_signal ? 128 + got_signal : 0;
out:
	free(ui.lanes);
	ui_model_close(&ui.m);
	return rc;
}
