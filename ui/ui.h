/*
 * ui: the terminal viewer (`weft view`). One struct ui holds the model (the
 * trace and what was loaded from it) and the view state (window, cursor,
 * focus); each screen is a file with its own view struct and an ops table.
 * Keys become requests through UI_KEYS, which also generates the help.
 * Screen handlers only change state and return UI_F_* flags; the main loop
 * in ui/view.c is the only place that draws.
 */
#ifndef WEFT_UI_H
#define WEFT_UI_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>

#include "store/store.h"
#include "store/store_blame.h"

/* Thread states, numbered as thread_spans.state: store/store.h's one table. */
/* clang-format off */
#define UI_STATE_ENUM(name, code, text, utf8, ascii) UI_ST_##name = code,
enum ui_state {
	STORE_THREAD_STATES(UI_STATE_ENUM)
	UI_ST_COUNT
};
#undef UI_STATE_ENUM
/* clang-format on */

/*
 * Requests: X(request, label shown in the help, key, alternate key,
 * second alternate key, help text). 0 = no key.
 */
#define UI_KEYS(X)                                                                                 \
	X(UI_REQ_QUIT, "q", 'q', 0, 0, "quit")                                                     \
	X(UI_REQ_HELP, "?", '?', 0, 0, "this help")                                                \
	X(UI_REQ_BACK, "Esc", 27, 0, 0,                                                            \
	  "close the panel, cancel a prompt, clear the area or the search")                        \
	X(UI_REQ_LEFT, "Left h", KEY_LEFT, 'h', 0, "cursor one column left (panel: previous tab)") \
	X(UI_REQ_RIGHT, "Right l", KEY_RIGHT, 'l', 0, "cursor one column right (panel: next tab)") \
	X(UI_REQ_UP, "Up k", KEY_UP, 'k', 0, "focus the lane / line above")                        \
	X(UI_REQ_DOWN, "Down j", KEY_DOWN, 'j', 0, "focus the lane / line below")                  \
	X(UI_REQ_PGUP, "PgUp", KEY_PPAGE, 0, 0, "one page of lanes / lines up")                    \
	X(UI_REQ_PGDN, "PgDn", KEY_NPAGE, 0, 0, "one page of lanes / lines down")                  \
	X(UI_REQ_HOME, "Home ^", KEY_HOME, '^', 0, "cursor to the trace start")                    \
	X(UI_REQ_END, "End $", KEY_END, '$', 0, "cursor to the trace end")                         \
	X(UI_REQ_PAN_LEFT, "H [", 'H', '[', 0, "pan the window left by half a screen")             \
	X(UI_REQ_PAN_RIGHT, "L ]", 'L', ']', 0, "pan the window right by half a screen")           \
	X(UI_REQ_ZOOM_IN, "+ =", '+', '=', 0, "zoom in around the cursor")                         \
	X(UI_REQ_ZOOM_OUT, "- _", '-', '_', 0, "zoom out around the cursor")                       \
	X(UI_REQ_FIT, "0 a", '0', 'a', 0, "fit the whole trace")                                   \
	X(UI_REQ_PLAY, "Space p", ' ', 'p', 0, "play / pause: the cursor moves through time")      \
	X(UI_REQ_FASTER, "}", '}', 0, 0, "play twice as fast")                                     \
	X(UI_REQ_SLOWER, "{", '{', 0, 0, "play half as fast")                                      \
	X(UI_REQ_NEXT_EVENT, ".", '.', 0, 0, "step to the focused thread's next event")            \
	X(UI_REQ_PREV_EVENT, ",", ',', 0, 0, "step to the focused thread's previous event")        \
	X(UI_REQ_NEXT_ANY, ">", '>', 0, 0, "step to the next event of any thread")                 \
	X(UI_REQ_PREV_ANY, "<", '<', 0, 0, "step to the previous event of any thread")             \
	X(UI_REQ_GOTO_TIME, "g", 'g', 0, 0, "go to a time (1.5s, 20ms, 300us, 1200ns)")            \
	X(UI_REQ_GOTO_EVENT, "#", '#', 0, 0, "go to an event id")                                  \
	X(UI_REQ_ENTER, "Enter", '\n', '\r', KEY_ENTER,                                            \
	  "details of the selected event; on a process lane: collapse/expand; in lists: jump")     \
	X(UI_REQ_STATE, "s", 's', 0, 0, "state panel: every thread at the cursor instant")         \
	X(UI_REQ_LISTS, "t", 't', 0, 0, "lists: top contended objects, processes, findings")       \
	X(UI_REQ_OBJECTS, "o", 'o', 0, 0, "switch between thread lanes and object lanes")          \
	X(UI_REQ_COLLAPSE, "c", 'c', 0, 0, "collapse / expand the focused process (C: all)")       \
	X(UI_REQ_COLLAPSE_ALL, "C", 'C', 0, 0, "collapse / expand every process")                  \
	X(UI_REQ_FILTER, "f", 'f', 0, 0, "filter lanes by name (empty: show all)")                 \
	X(UI_REQ_SEARCH, "/", '/', 0, 0,                                                           \
	  "search threads, objects, functions, files, FILE:LINE, variables, findings")             \
	X(UI_REQ_SEARCH_NEXT, "n", 'n', 0, 0, "next search match")                                 \
	X(UI_REQ_SEARCH_PREV, "N", 'N', 0, 0, "previous search match")                             \
	X(UI_REQ_TAB, "Tab", '\t', 0, 0, "next tab in the lists panel")                            \
	X(UI_REQ_HISTORY_BACK, "b Bksp", 'b', KEY_BACKSPACE, 127,                                  \
	  "back to where the last jump left")                                                      \
	X(UI_REQ_HISTORY_FWD, "B", 'B', 0, 0, "forward again after b")                             \
	X(UI_REQ_MARK, "m", 'm', 0, 0, "mark the area's start, then its end: area summary")        \
	X(UI_REQ_RELATIVE, "r", 'r', 0, 0, "ruler times relative to the cursor / absolute")        \
	X(UI_REQ_FULL, "z", 'z', 0, 0, "panel full screen / split under the timeline")             \
	X(UI_REQ_SORT, "S", 'S', 0, 0, "lists: sort by the next column")                           \
	X(UI_REQ_PANEL_SMALLER, "(", '(', 0, 0, "the panel under the timeline two rows smaller")   \
	X(UI_REQ_PANEL_BIGGER, ")", ')', 0, 0, "the panel under the timeline two rows bigger")

enum ui_req {
	UI_REQ_NONE = 0,
#define UI_REQ_ENUM(r, label, k1, k2, k3, help) r,
	UI_KEYS(UI_REQ_ENUM)
#undef UI_REQ_ENUM
	    UI_REQ_MOUSE,
	UI_REQ_RESIZE,
};

/*
 * Handler results: flags, or UI_NOT_HANDLED when a screen leaves the
 * request to the requests every screen shares.
 */
#define UI_HANDLED 0  /* taken, nothing to draw */
#define UI_F_REDRAW 1 /* state changed: draw */
#define UI_F_QUIT 2
#define UI_F_LANES 4	   /* the lane list must be rebuilt */
#define UI_NOT_HANDLED 256 /* not this screen's: the shared requests decide */

struct ui_thread {
	int pid, tid;
	char name[64]; /* sanitized */
	int64_t start, end;
	/*
	 * A thread with no recorded exit whose process lived on (blocked in a
	 * join, a read, a sleep weft does not see, when the trace ended): alive
	 * but silent over [end, silent_to). silent_to == end otherwise.
	 */
	int64_t silent_to;
	char label[4]; /* short id: A..Z a..z, then two letters (AA, AB, ...) */
	char letter;   /* its one-column form in object lanes: label, or '*' past 52 */
};

struct ui_process {
	int pid, ppid;
	char argv[160]; /* sanitized */
	char name[64];	/* multiprocessing's Process name, sanitized ("" none) */
	int64_t start, end;
	int has_exit;
	int64_t exit_code, exit_signal;
	int collapsed;
};

struct ui_object {
	int64_t id;
	int pid;
	char kind[16];
	int kind_code; /* WEFT_OBJ_*, 0 when the trace's code is unknown */
	char name[96]; /* sanitized */
	int64_t acquires, contended, wait_ns, max_wait, max_wait_event, max_hold;
	/*
	 * No hold or wait of it lies outside [active_lo, active_hi] (from the
	 * trace's summaries, read at the first ui_model_object_at; INT64_MIN
	 * and INT64_MAX when they cannot say).
	 */
	int64_t active_lo, active_hi;
};

/*
 * A stretch of an object's occupancy: its most recent holder, how many
 * hold, how many queue; mixed: a summary bucket of more than one value.
 */
struct ui_occ_piece {
	int64_t start, end;
	int32_t holder;
	int holders, waiters, mixed;
};

/* A hold as a sweep reads it. */
struct ui_hold {
	int64_t start, end;
	int32_t tid;
};

/* A hold in force during a sweep over holds: when it ends, and whose it is. */
struct ui_hold_end {
	int64_t end;
	int32_t tid;
};

struct ui_model {
	sqlite3 *db;
	char path[256];	   /* sanitized, for messages */
	char command[256]; /* sanitized */
	int64_t end_ns, events;
	int complete, derived_here, has_findings;
	int64_t nfindings;	     /* findings in the trace, named in the header */
	sqlite3_stmt *finding_marks; /* findings' events of a thread in a window, or NULL */
	int time_ordered; /* ev's rowid order is time order (store_events_time_ordered) */
	int level0_shift, level_step_shift, levels;
	/* a hold longer is in object_long_holds too: 2^long_hold_shift (derived_info) */
	int64_t long_hold;
	int long_hold_shift;
	struct ui_process *procs;
	int nprocs;
	struct ui_thread *threads;
	int nthreads;
	int label_w; /* widest thread label */
	struct ui_object *objs;
	int nobjs;
	int *objs_by_id;  /* objs' indexes in id order, for ui_model_object */
	int windows_read; /* the objects' active windows were read (model.c) */
	/* scratch for the column accumulation */
	int64_t *acc;
	int acc_cols;
	struct ui_occ_piece *segs; /* scratch for an object's occupancy segments */
	size_t segs_cap;
	struct ui_hold_end *act; /* scratch: the holds in force at a point of a sweep */
	size_t act_cap;
	struct ui_hold *longs; /* scratch: a window's long holds (object_long_holds) */
	size_t longs_cap;
	sqlite3_stmt *st[16];
	struct store_blame_reader *blame;
};

enum ui_lane_type { UI_LANE_PROCESS, UI_LANE_THREAD, UI_LANE_OBJECT };

struct ui_lane {
	enum ui_lane_type type;
	int idx; /* into procs, threads or objs */
};

enum ui_screen_id {
	UI_SCR_TIMELINE,
	UI_SCR_STATE,
	UI_SCR_EVENT,
	UI_SCR_LISTS,
	UI_SCR_AREA,
	UI_SCR_HELP,
	UI_SCR__COUNT
};

/* Where a jump left the user: what b (back) and B (forward) restore. */
struct ui_place {
	int64_t t0, t1, cursor, sel_event;
	int pid, tid; /* the focused thread (tid 0: none) */
};
#define UI_HISTORY_MAX 64

enum ui_prompt_kind {
	UI_PROMPT_NONE,
	UI_PROMPT_TIME,
	UI_PROMPT_EVENT,
	UI_PROMPT_FILTER,
	UI_PROMPT_SEARCH
};

struct ui {
	struct ui_model m;
	int rows, cols;
	int64_t t0, t1; /* the window */
	int64_t cursor;
	int focus, top; /* lane index; first visible lane */
	int obj_mode;
	struct ui_lane *lanes;
	int nlanes;
	char filter[64];
	/* search */
	char search[64];
	int search_dir;
	/* play */
	int playing;
	int64_t speed; /* trace ns per real second */
	/* selected event (0: none), and a copy of it for the frames that draw it */
	int64_t sel_event;
	/* panels: split under the timeline (default) or the whole screen */
	int panel_full;
	int panel_rows; /* the split panel's height; 0: half the screen */
	int tl_rows;	/* rows the timeline draws in (all when no panel is open) */
	int py0;	/* the first row of the open panel (0: full screen) */
	/* spans drawn highlighted in their lanes: the selected event's wait, a finding's events */
	struct ui_mark_span {
		int pid, tid;
		int64_t a, b; /* [a, b], a == b for an instant */
	} hl[8];
	int nhl;
	/* the finding opened from the lists (0: none) and its summary */
	int64_t finding_id;
	char finding_text[240];
	int64_t res;  /* ns per timeline column: the precision every time is shown with */
	int relative; /* ruler times relative to the cursor */
	/* area: [area_a, area_b) once both ends are marked; area_a >= 0 while marking */
	int64_t area_a, area_b;
	/* jumps */
	struct ui_place back[UI_HISTORY_MAX], fwd[UI_HISTORY_MAX];
	int nback, nfwd;
	int color, utf8;
	enum ui_screen_id scr[8];
	int depth;
	char msg[256];
	enum ui_prompt_kind prompt;
	char pbuf[64];
	int plen;
	/* mouse press position for the timeline */
	int mouse_y, mouse_x, mouse_bstate;
	int drag_x; /* where button 1 went down on the lanes, -1 none */
};

struct ui_screen_ops {
	const char *name;
	void (*draw)(struct ui *ui);
	int (*handle)(struct ui *ui, enum ui_req req);
	void (*enter)(struct ui *ui);
};

extern const struct ui_screen_ops ui_timeline_ops, ui_state_ops, ui_event_ops, ui_lists_ops,
    ui_area_ops, ui_help_ops;

/* ---- model (ui/model.c) ---- */

/*
 * Opens path read-only, checks it, builds the derived tables into the temp
 * schema when the trace lacks them, and loads processes, threads and
 * objects. On failure returns -1 with one line in err.
 */
int ui_model_open(struct ui_model *m, const char *path, char *err, size_t errlen);
void ui_model_close(struct ui_model *m);
/*
 * Fills state[c]/mixed[c] for columns c in [0, w) covering [t0 + c*dt,
 * t0 + (c+1)*dt) from the coarsest summary level finer than dt, or from
 * the raw spans when zoomed in further. Cost: O(w) rows read.
 */
int ui_model_thread_cells(struct ui_model *m, const struct ui_thread *t, int64_t t0, int64_t dt,
			  int w, unsigned char *state, unsigned char *mixed);
/* The same for an object: holder tid (0 free) and the most waiters per column. */
int ui_model_object_cells(struct ui_model *m, int64_t obj, int64_t t0, int64_t dt, int w,
			  int32_t *holder, unsigned char *mixed, unsigned char *waiters);
/*
 * Marker characters for point events of a thread in [t0, t1) ('\0' none);
 * what falls past column w - 1 (dt's rounding) is drawn in it.
 */
int ui_model_thread_marks(struct ui_model *m, const struct ui_thread *t, int64_t t0, int64_t t1,
			  int64_t dt, int w, char *marks);
/* The state of a thread at t: state, since, object waited for (0 none). */
int ui_model_thread_state_at(struct ui_model *m, const struct ui_thread *t, int64_t ts, int *state,
			     int64_t *since, int64_t *obj);
/* The same with the span's end: the state holds over [since, until). */
int ui_model_thread_span_at(struct ui_model *m, const struct ui_thread *t, int64_t ts, int *state,
			    int64_t *since, int64_t *until, int64_t *obj);
/* Object occupancy at t: the last holder's tid, number of holders and waiters. */
int ui_model_object_at(struct ui_model *m, int64_t obj, int64_t ts, int32_t *holder, int *holders,
		       int *waiters);
/* Every thread holding obj at ts (rwlock readers share); returns the count. */
int ui_model_holders_at(struct ui_model *m, int64_t obj, int64_t ts, int32_t *tids, int max);
/* The distinct threads that held obj at some time in [a, b). */
int ui_model_holders_during(struct ui_model *m, int64_t obj, int64_t a, int64_t b, int32_t *tids,
			    int max);
/*
 * Every hold of obj overlapping [a, b), counted per thread (first: the
 * earliest start) in order of first hold; fills at most max rows, returns
 * their number, and the holds of all threads in *total.
 */
struct ui_hold_count {
	int32_t tid;
	int64_t holds, first;
};
int ui_model_hold_counts(struct ui_model *m, int64_t obj, int64_t a, int64_t b,
			 struct ui_hold_count *out, int max, int64_t *total);
/*
 * The last thread other than tid that held obj before ts and when it let
 * go: the previous owner, who handed it over to an acquire at ts. 1 when
 * found.
 */
int ui_model_previous_owner(struct ui_model *m, int64_t obj, int64_t ts, int tid, int32_t *owner,
			    int64_t *released);
/* When tid's hold on obj covering ts started, or -1. */
int64_t ui_model_hold_start(struct ui_model *m, int64_t obj, int tid, int64_t ts);
/* Why t waits at ts: store_blame_at()'s chain (1), 0 when it does not wait, -1 on error. */
int ui_model_blame_at(struct ui_model *m, const struct ui_thread *t, int64_t ts,
		      struct store_blame *out);
/* The whole wait t is in at ts, as weft report tells it: store_blame_whole(). */
int ui_model_blame_whole(struct ui_model *m, const struct ui_thread *t, int64_t ts,
			 struct store_blame *out);
/*
 * The next (dir > 0) or previous event after (ts, id) in (ts, id) order,
 * of one thread (t) or of all (t NULL). Returns 1 and fills id/ts, 0 none.
 */
int ui_model_step_event(struct ui_model *m, const struct ui_thread *t, int64_t ts, int64_t id,
			int dir, int64_t *out_id, int64_t *out_ts);
/* Looks an event up. kind is the event kind's name. Returns 1 when found. */
struct ui_event {
	int64_t id, ts, obj, wait, arg, stack;
	int pid, tid;
	char kind[32];
};
int ui_model_event(struct ui_model *m, int64_t id, struct ui_event *ev);
/* A stack's frames, innermost first (sanitized); returns how many were filled. */
struct ui_frame {
	int depth, line;
	int64_t pc;
	char function[160], file[160], module[160], lang[16];
};
int ui_model_frames(struct ui_model *m, int64_t stack, struct ui_frame *out, int max);

/*
 * A search: the threads whose names match, and the objects, stacks (by
 * function, file, FILE:LINE or a raced variable's label) and findings'
 * events an event may match.
 */
#define UI_SEARCH_MAX 256
#define UI_SEARCH_TEXT 64
struct ui_search {
	char text[UI_SEARCH_TEXT];
	int threads[UI_SEARCH_MAX], nthreads, pos;
	int64_t objs[UI_SEARCH_MAX], stacks[UI_SEARCH_MAX], events[UI_SEARCH_MAX];
	int nobjs, nstacks, nevents, nvars;
};
void ui_model_search_compute(struct ui_model *m, const char *text, struct ui_search *s);
/* The first matching event after (dir > 0) or before (ts, cur_id); 0 when none. */
int64_t ui_model_search_event(struct ui_model *m, const struct ui_search *s, int64_t ts,
			      int64_t cur_id, int dir);

/*
 * Area summaries, in budgeted slices so keys stay answered on any trace:
 * each call reads at most budget rows and returns 1 when the thread (the
 * object) is done, 0 when called again it goes on where it stopped (*from,
 * *c: start them at -1 / all -1). A thread's time per state inside [a, b)
 * adds to ns; an object's holds and waits overlapping [a, b) (times
 * clipped to it) add to out.
 */
int ui_model_area_thread(struct ui_model *m, const struct ui_thread *t, int64_t a, int64_t b,
			 int64_t *from, int budget, int64_t ns[UI_ST_COUNT]);
struct ui_area_object {
	int64_t holds, hold_ns, waits, wait_ns;
};
struct ui_area_cursor {
	int holds_done;
	int64_t hold_key[3], wait_key[3]; /* the last row read: start_ns, end_ns, tid */
};
int ui_model_area_object(struct ui_model *m, const struct ui_object *o, int64_t a, int64_t b,
			 struct ui_area_cursor *c, int budget, struct ui_area_object *out);

/* A finding's participants in order (finding_items); returns how many were filled. */
struct ui_finding_item {
	char role[24], function[96], file[96], object[96];
	int pid, tid, line;
	int64_t event_id, ts;
};
int ui_model_finding_items(struct ui_model *m, int64_t finding, struct ui_finding_item *out,
			   int max);

/*
 * Every row of the trace's findings table (at most 1000), in its order:
 * weft's view gives severity, kind and summary (has_summary); any other
 * table its columns side by side. each returns non-zero to stop. On
 * success returns 0, otherwise -1 with SQLite's message in err.
 */
struct ui_finding_row {
	int64_t finding_id, event_id, ts, count; /* ts -1: none */
	int pid, tid, has_summary;
	char severity[32], kind[48], summary[480], columns[640];
};
int ui_model_findings(struct ui_model *m, int (*each)(void *ctx, const struct ui_finding_row *f),
		      void *ctx, char *err, size_t errlen);

/* Column i of a row as sanitized text ("" for NULL). */
void ui_sanitize_col(sqlite3_stmt *st, int i, char *out, size_t len);
/* The readable name of any object (buf, sanitized), lane or not. */
const char *ui_model_object_name(struct ui_model *m, int64_t id, char *buf, size_t len);
/* The same with its kind's name ("mutex", "py.lock", ...) in kind. */
const char *ui_model_object_name_kind(struct ui_model *m, int64_t id, char *buf, size_t len,
				      char *kind, size_t klen);
const struct ui_object *ui_model_object(const struct ui_model *m, int64_t id);
const struct ui_thread *ui_model_thread(const struct ui_model *m, int pid, int tid);
int ui_model_thread_index(const struct ui_model *m, int pid, int tid);

/* ---- drawing helpers (ui/draw.c) ---- */

/*
 * A time or duration with three decimals of the largest unit under it
 * (10.500s, 1.250ms), and more decimals while one unit of the last digit is
 * coarser than res ns (10.500002s at res 1000): never less precise than res.
 */
void ui_fmt_time(int64_t ns, int64_t res, char *buf, size_t len);
/* Three decimals (durations, speeds). */
void ui_fmt_ns(int64_t ns, char *buf, size_t len);
/* An instant at the timeline's precision (one column): the same in every panel. */
void ui_fmt_at(const struct ui *ui, int64_t ns, char *buf, size_t len);
/* Parses "1.5s", "20ms", "300us", "1200ns" or plain seconds; -1 when invalid. */
int64_t ui_parse_time(const char *s);
void ui_colors_init(struct ui *ui);
/* The glyph (a UTF-8 or ASCII string) and curses attributes for a state cell. */
const char *ui_state_glyph(const struct ui *ui, int state);
int ui_state_attr(const struct ui *ui, int state, int mixed);
const char *ui_state_name(int state);
/* Writes at most n display columns of s (already sanitized) at y, x. */
void ui_put(int y, int x, int n, const char *s);
/* Marks every case-insensitive match of needle in s, drawn at y, x over n columns. */
void ui_highlight(int y, int x, int n, const char *s, const char *needle);
/* A line clipped to the screen width, printf style. */
void ui_line(struct ui *ui, int y, int attr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int ui_attr_title(const struct ui *ui);
int ui_attr_holder(const struct ui *ui, int waiters);

/* ---- text panels (ui/textpanel.c) ---- */

#define UI_LINE_MAX 320

/*
 * A panel's text, wrapped at the width it is drawn with: a line longer
 * than the screen continues on the next, indented, instead of being cut.
 */
struct ui_text_panel {
	char (*line)[UI_LINE_MAX];
	int n, cap, scroll, width;
};
/* Empties p for a rebuild at the screen's width. */
void ui_tp_clear(struct ui_text_panel *p, const struct ui *ui);
/* Adds a line, printf style, wrapped over as many lines as the width needs. */
void ui_tp_add(struct ui_text_panel *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Draws p from row ui->py0 (under the timeline) with its title and the status line. */
void ui_tp_draw(struct ui *ui, struct ui_text_panel *p, const char *title);
/* Scrolling and Esc; UI_NOT_HANDLED for the rest. */
int ui_tp_handle(struct ui *ui, struct ui_text_panel *p, enum ui_req req);
/* "B 101 alpha" for a thread of the trace, else its tid. */
const char *ui_thread_label(struct ui *ui, int pid, int tid, char *buf, size_t len);
/* 4969 -> "4,969". */
const char *ui_fmt_count(int64_t v, char *buf, size_t len);

/* ---- keys (ui/keys.c) ---- */

enum ui_req ui_key_request(int ch);
/* Help lines, one per request; returns the number of lines. */
int ui_help_lines(const char ***labels, const char ***texts);

/* ---- navigation shared by screens (ui/nav.c) ---- */

/* Every screen's ops, by enum ui_screen_id. */
extern const struct ui_screen_ops *const ui_screens[UI_SCR__COUNT];
void ui_push(struct ui *ui, enum ui_screen_id s);
void ui_pop(struct ui *ui);
void ui_set_cursor(struct ui *ui, int64_t ts);
/* Centers the window on ts with the given width (keeps the width when <= 0). */
void ui_center(struct ui *ui, int64_t ts, int64_t width);
void ui_build_lanes(struct ui *ui);
/* Focuses the lane of a thread, expanding its process and leaving object mode. */
void ui_focus_thread(struct ui *ui, int pid, int tid);
void ui_select_event(struct ui *ui, int64_t id);
int ui_timeline_label_width(const struct ui *ui);
/* The bottom line: the open prompt, else the message, else hint. */
void ui_status(struct ui *ui, const char *hint);
int ui_timeline_lane_rows(const struct ui *ui);
const struct ui_thread *ui_focused_thread(const struct ui *ui);
/* The narrowest window: one ns per timeline column. */
int64_t ui_min_width(const struct ui *ui);
/* b (back) and B (forward) across jumps; returns UI_F_* flags. */
int ui_history_step(struct ui *ui, int back);

/* ---- the view's main loop and search (ui/view.c) ---- */

void ui_search_step(struct ui *ui, int dir);
/*
 * Goes on computing the marked area's summary for a slice of time; 1 while
 * more remains (the main loop calls it again between keys), 0 when done.
 */
int ui_area_work(struct ui *ui);
/* Records where the user is before a jump, for b (back); clears forward. */
void ui_remember(struct ui *ui);

#endif
