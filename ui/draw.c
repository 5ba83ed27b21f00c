/* Drawing helpers: time formatting, glyphs, colors, clipped output. */
#include "ui/ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ui_fmt_time(int64_t ns, int64_t res, char *buf, size_t len)
{
	static const struct {
		int64_t ns;
		int digits; /* decimals down to one nanosecond */
		const char *name;
	} units[] = {{1000000000LL, 9, "s"}, {1000000LL, 6, "ms"}, {1000LL, 3, "us"}};
	/* INT64_MIN has no positive twin; a time never comes near it */
	int64_t a = ns < 0 ? (ns == INT64_MIN ? INT64_MAX : -ns) : ns;
	if (res < 1)
		res = 1;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		if (a < units[u].ns)
			continue;
		/* three decimals, more while one unit of the last digit is coarser than res */
		int d = 3;
		int64_t step = units[u].ns / 1000;
		while (d < units[u].digits && step > res) {
			step /= 10;
			d++;
		}
		/* the first d of the unit's decimal digits, truncated: an instant is never rounded
		 * up */
		char frac[16];
		int64_t rest = a % units[u].ns;
		for (int k = units[u].digits - 1; k >= 0; k--, rest /= 10)
			frac[k] = (char)('0' + rest % 10);
		frac[d] = 0;
		snprintf(buf, len, "%s%lld.%s%s", ns < 0 ? "-" : "", (long long)(a / units[u].ns),
			 frac, units[u].name);
		return;
	}
	snprintf(buf, len, "%lldns", (long long)ns);
}

void ui_fmt_ns(int64_t ns, char *buf, size_t len)
{
	ui_fmt_time(ns, INT64_MAX, buf, len);
}

void ui_fmt_at(const struct ui *ui, int64_t ns, char *buf, size_t len)
{
	ui_fmt_time(ns, ui->res, buf, len);
}

int64_t ui_parse_time(const char *s)
{
	char *end;
	while (*s == ' ')
		s++;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	while (*end == ' ')
		end++;
	double mul = 1e9;
	if (!strcmp(end, "ns"))
		mul = 1;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (*end && strcmp(end, "s"))
		return -1;
	return (int64_t)(v * mul + 0.5);
}

/* Color pairs: 1..UI_ST_COUNT-1 for states, then these. */
enum { PAIR_TITLE = 16, PAIR_HOLD, PAIR_CONTENDED, PAIR_MARK };

static const short state_fg[UI_ST_COUNT] = {
    [UI_ST_NOT_ALIVE] = COLOR_BLACK, [UI_ST_RUNNING] = COLOR_GREEN,   [UI_ST_LOCK] = COLOR_RED,
    [UI_ST_COND] = COLOR_YELLOW,     [UI_ST_BARRIER] = COLOR_MAGENTA, [UI_ST_JOIN] = COLOR_CYAN,
    [UI_ST_GIL] = COLOR_BLUE,	     [UI_ST_QUEUE] = COLOR_YELLOW,    [UI_ST_WAIT] = COLOR_CYAN,
    [UI_ST_OFF_GIL] = COLOR_WHITE,   [UI_ST_EVENT] = COLOR_CYAN,
};

void ui_colors_init(struct ui *ui)
{
	if (!ui->color || !has_colors() || start_color() == ERR) {
		ui->color = 0;
		return;
	}
	use_default_colors();
	for (int s = 1; s < UI_ST_COUNT; s++)
		init_pair((short)s, state_fg[s], -1);
	init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_HOLD, COLOR_GREEN, -1);
	init_pair(PAIR_CONTENDED, COLOR_WHITE, COLOR_RED);
	init_pair(PAIR_MARK, COLOR_WHITE, -1);
}

/*
 * Every state has its own shape so the timeline reads without color; the
 * ASCII set uses letters for the waits.
 */
/* clang-format off */
#define STATE_UTF8(name, code, text, utf8, ascii) [code] = utf8,
#define STATE_ASCII(name, code, text, utf8, ascii) [code] = ascii,
#define STATE_NAME(name, code, text, utf8, ascii) [code] = text,
static const char *const glyph_utf8[UI_ST_COUNT] = {STORE_THREAD_STATES(STATE_UTF8)};
static const char *const glyph_ascii[UI_ST_COUNT] = {STORE_THREAD_STATES(STATE_ASCII)};
static const char *const state_names[UI_ST_COUNT] = {STORE_THREAD_STATES(STATE_NAME)};
#undef STATE_UTF8
#undef STATE_ASCII
#undef STATE_NAME
/* clang-format on */

const char *ui_state_glyph(const struct ui *ui, int state)
{
	if (state < 0 || state >= UI_ST_COUNT)
		state = UI_ST_WAIT;
	return ui->utf8 ? glyph_utf8[state] : glyph_ascii[state];
}

const char *ui_state_name(int state)
{
	return state >= 0 && state < UI_ST_COUNT ? state_names[state] : "?";
}

int ui_state_attr(const struct ui *ui, int state, int mixed)
{
	int a = mixed ? A_UNDERLINE : 0;
	if (ui->color && state > 0 && state < UI_ST_COUNT)
		a |= COLOR_PAIR(state);
	else if (state > UI_ST_RUNNING)
		a |= A_BOLD;
	return a;
}

int ui_attr_title(const struct ui *ui)
{
	return ui->color ? COLOR_PAIR(PAIR_TITLE) : A_REVERSE;
}

int ui_attr_holder(const struct ui *ui, int waiters)
{
	if (waiters)
		return ui->color ? COLOR_PAIR(PAIR_CONTENDED) | A_BOLD : A_REVERSE;
	return ui->color ? COLOR_PAIR(PAIR_HOLD) : 0;
}

/* Display columns of one UTF-8 sequence's leading byte: sanitized text has no controls. */
static int seq_len(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
}

void ui_put(int y, int x, int n, const char *s)
{
	int maxx = COLS;
	if (y < 0 || y >= LINES || x >= maxx || n <= 0)
		return;
	if (x + n > maxx)
		n = maxx - x;
	/* Counting code points as one column each is exact for the text we print. */
	const char *p = s;
	int cols = 0;
	while (*p && cols < n) {
		p += seq_len((unsigned char)*p);
		cols++;
	}
	mvaddnstr(y, x, s, (int)(p - s));
}

void ui_highlight(int y, int x, int n, const char *s, const char *needle)
{
	size_t nl = needle ? strlen(needle) : 0;
	if (!nl)
		return;
	for (const char *p = s; (p = strcasestr(p, needle)) != NULL; p += nl) {
		/* columns are code points: count them up to the match */
		int col = 0, w = 0;
		for (const char *q = s; q < p; q += seq_len((unsigned char)*q))
			col++;
		for (const char *q = p; q < p + nl; q += seq_len((unsigned char)*q))
			w++;
		if (col >= n)
			break;
		if (col + w > n)
			w = n - col;
		mvchgat(y, x + col, w, A_BOLD | A_UNDERLINE | A_STANDOUT, 0, NULL);
	}
}

void ui_line(struct ui *ui, int y, int attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	attrset(attr);
	move(y, 0);
	clrtoeol();
	if (attr & (A_REVERSE | A_COLOR))
		mvhline(y, 0, ' ', ui->cols);
	ui_put(y, 0, ui->cols, buf);
	attrset(A_NORMAL);
}
