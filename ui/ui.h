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

/* Thread states, numbered as thread_spans.state (docs/DERIVED.md). */
enum ui_state {
	UI_ST_NOT_ALIVE = 0,
	UI_ST_RUNNING = 1,
	UI_ST_LOCK = 2,
	UI_ST_COND = 3,
	UI_ST_BARRIER = 4,
	UI_ST_JOIN = 5,
	UI_ST_GIL = 6,
	UI_ST_QUEUE = 7,
	UI_ST_WAIT = 8,
	UI_ST_OFF_GIL = 9,
	UI_ST_COUNT
};

/*
 * Requests: X(request, label shown in the help, key, alternate key,
 * second alternate key, help text). 0 = no key.
 */
#define UI_KEYS(X)                                                                                 \
	X(UI_REQ_QUIT, "q", 'q', 0, 0, "quit")                                                     \
	X(UI_REQ_HELP, "?", '?', 0, 0, "this help")                                                \
	X(UI_REQ_BACK, "Esc", 27, 0, 0, "close the panel, cancel a prompt, clear the search")      \
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
	X(UI_REQ_SEARCH, "/", '/', 0, 0, "search thread, object, function or file names")          \
	X(UI_REQ_SEARCH_NEXT, "n", 'n', 0, 0, "next search match")                                 \
	X(UI_REQ_SEARCH_PREV, "N", 'N', 0, 0, "previous search match")                             \
	X(UI_REQ_TAB, "Tab", '\t', 0, 0, "next tab in the lists panel")

enum ui_req {
	UI_REQ_NONE = 0,
#define UI_REQ_ENUM(r, label, k1, k2, k3, help) r,
	UI_KEYS(UI_REQ_ENUM)
#undef UI_REQ_ENUM
	    UI_REQ_MOUSE,
	UI_REQ_RESIZE,
};

/* Handler result flags. */
#define UI_F_REDRAW 1 /* state changed: draw */
#define UI_F_QUIT 2
#define UI_F_LANES 4 /* the lane list must be rebuilt */

struct ui_thread {
	int pid, tid;
	char name[64]; /* sanitized */
	int64_t start, end;
	char letter; /* short id used in object lanes */
};

struct ui_process {
	int pid, ppid;
	char argv[160]; /* sanitized */
	int64_t start, end;
	int has_exit;
	int64_t exit_code, exit_signal;
	int collapsed;
};

struct ui_object {
	int64_t id;
	int pid;
	char kind[16];
	char name[96]; /* sanitized */
	int64_t acquires, contended, wait_ns, max_wait, max_wait_event, max_hold;
};

struct ui_model {
	sqlite3 *db;
	char path[256];	   /* sanitized, for messages */
	char command[256]; /* sanitized */
	int64_t end_ns, events;
	int complete, derived_here, has_findings;
	int64_t nfindings; /* findings in the trace, named in the header */
	sqlite3_stmt *finding_marks; /* findings' events of a thread in a window, or NULL */
	int time_ordered; /* ev's rowid order is time order (store_events_time_ordered) */
	int level0_shift, level_step_shift, levels;
	struct ui_process *procs;
	int nprocs;
	struct ui_thread *threads;
	int nthreads;
	struct ui_object *objs;
	int nobjs;
	/* scratch for the column accumulation */
	int64_t *acc;
	int acc_cols;
	sqlite3_stmt *st[16];
};

enum ui_lane_type { UI_LANE_PROCESS, UI_LANE_THREAD, UI_LANE_OBJECT };

struct ui_lane {
	enum ui_lane_type type;
	int idx; /* into procs, threads or objs */
};

enum ui_screen_id { UI_SCR_TIMELINE, UI_SCR_STATE, UI_SCR_EVENT, UI_SCR_LISTS, UI_SCR_HELP };

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
	/* selected event (0: none) */
	int64_t sel_event;
	int color, utf8;
	enum ui_screen_id scr[8];
	int depth;
	char msg[256];
	enum ui_prompt_kind prompt;
	char pbuf[64];
	int plen;
	/* mouse press position for the timeline */
	int mouse_y, mouse_x, mouse_bstate;
};

struct ui_screen_ops {
	const char *name;
	void (*draw)(struct ui *ui);
	int (*handle)(struct ui *ui, enum ui_req req);
	void (*enter)(struct ui *ui);
};

extern const struct ui_screen_ops ui_timeline_ops, ui_state_ops, ui_event_ops, ui_lists_ops,
    ui_help_ops;

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
/* Marker characters for point events of a thread in the window ('\0' none). */
int ui_model_thread_marks(struct ui_model *m, const struct ui_thread *t, int64_t t0, int64_t dt,
			  int w, char *marks);
/* The state of a thread at t: state, since, object waited for (0 none). */
int ui_model_thread_state_at(struct ui_model *m, const struct ui_thread *t, int64_t ts, int *state,
			     int64_t *since, int64_t *obj);
/* Object occupancy at t: the last holder's tid, number of holders and waiters. */
int ui_model_object_at(struct ui_model *m, int64_t obj, int64_t ts, int32_t *holder, int *holders,
		       int *waiters);
/* Every thread holding obj at ts (rwlock readers share); returns the count. */
int ui_model_holders_at(struct ui_model *m, int64_t obj, int64_t ts, int32_t *tids, int max);
/* The distinct threads that held obj at some time in [a, b). */
int ui_model_holders_during(struct ui_model *m, int64_t obj, int64_t a, int64_t b, int32_t *tids,
			    int max);
/* When tid's hold on obj covering ts started, or -1. */
int64_t ui_model_hold_start(struct ui_model *m, int64_t obj, int tid, int64_t ts);
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
/* Column i of a row as sanitized text ("" for NULL). */
void ui_sanitize_col(sqlite3_stmt *st, int i, char *out, size_t len);
/* The readable name of any object (buf, sanitized), lane or not. */
const char *ui_model_object_name(struct ui_model *m, int64_t id, char *buf, size_t len);
const struct ui_object *ui_model_object(const struct ui_model *m, int64_t id);
const struct ui_thread *ui_model_thread(const struct ui_model *m, int pid, int tid);
int ui_model_thread_index(const struct ui_model *m, int pid, int tid);

/* ---- drawing helpers (ui/draw.c) ---- */

void ui_fmt_ns(int64_t ns, char *buf, size_t len);
/* Parses "1.5s", "20ms", "300us", "1200ns" or plain seconds; -1 when invalid. */
int64_t ui_parse_time(const char *s);
void ui_colors_init(struct ui *ui);
/* The glyph (a UTF-8 or ASCII string) and curses attributes for a state cell. */
const char *ui_state_glyph(const struct ui *ui, int state);
int ui_state_attr(const struct ui *ui, int state, int mixed);
const char *ui_state_name(int state);
/* Writes at most n display columns of s (already sanitized) at y, x. */
void ui_put(int y, int x, int n, const char *s);
/* A line clipped to the screen width, printf style. */
void ui_line(struct ui *ui, int y, int attr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int ui_attr_title(const struct ui *ui);
int ui_attr_holder(const struct ui *ui, int waiters);

/* ---- keys (ui/keys.c) ---- */

enum ui_req ui_key_request(int ch);
/* Help lines, one per request; returns the number of lines. */
int ui_help_lines(const char ***labels, const char ***texts);

/* ---- view actions shared by screens (ui/view.c) ---- */

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
int ui_timeline_lane_rows(const struct ui *ui);
const struct ui_thread *ui_focused_thread(const struct ui *ui);
void ui_search_step(struct ui *ui, int dir);

#endif
