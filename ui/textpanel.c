/*
 * Text panels (state, event details, area summary, help): lines wrapped at
 * the screen's width, drawn under the timeline or full screen, scrolled by
 * the keys every panel shares.
 */
#include "ui/ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ui_tp_clear(struct ui_text_panel *p, const struct ui *ui)
{
	p->n = 0;
	p->width = ui->cols > 20 ? ui->cols : 20;
}

static char *tp_new_line(struct ui_text_panel *p)
{
	if (p->n == p->cap) {
		int ncap = p->cap ? p->cap * 2 : 64;
		void *n = realloc(p->line, (size_t)ncap * sizeof(*p->line));
		if (!n)
			return NULL;
		p->line = n;
		p->cap = ncap;
	}
	return p->line[p->n++];
}

/* Display columns of a UTF-8 string (sanitized text: one column per code point). */
static int text_cols(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Byte offset of column col in s. */
static size_t col_offset(const char *s, int col)
{
	size_t i = 0;
	for (int c = 0; s[i] && c < col; c++)
		do
			i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80);
	return i;
}

void ui_tp_add(struct ui_text_panel *p, const char *fmt, ...)
{
	char buf[UI_LINE_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/*
	 * Continuations hang under the text of a "key   text" line (the help,
	 * the state panel's columns), else two columns in from the line's own
	 * indentation.
	 */
	int lead = (int)strspn(buf, " "), indent = lead + 2;
	const char *gap = strstr(buf + lead, "  ");
	if (gap && gap - buf < 24 && gap[strspn(gap, " ")])
		indent = (int)(gap - buf) + (int)strspn(gap, " ");
	if (indent > p->width / 2)
		indent = 2;
	const char *rest = buf;
	for (int first = 1;; first = 0) {
		char *l = tp_new_line(p);
		if (!l)
			return;
		int pad = first ? 0 : indent, room = p->width - pad;
		if (text_cols(rest) <= room) {
			snprintf(l, UI_LINE_MAX, "%*s%.*s", pad, "", UI_LINE_MAX - 1 - pad, rest);
			return;
		}
		/* cut at the last space that fits, else mid-word */
		size_t cut = col_offset(rest, room);
		size_t sp = cut;
		while (sp > 0 && rest[sp] != ' ')
			sp--;
		if (sp > 0)
			cut = sp;
		snprintf(l, UI_LINE_MAX, "%*s%.*s", pad, "", (int)cut, rest);
		rest += cut;
		while (*rest == ' ')
			rest++;
		if (!*rest)
			return;
	}
}

void ui_tp_draw(struct ui *ui, struct ui_text_panel *p, const char *title)
{
	int y0 = ui->py0, body = ui->rows - y0 - 2;
	if (p->scroll > p->n - body)
		p->scroll = p->n - body;
	if (p->scroll < 0)
		p->scroll = 0;
	ui_line(ui, y0, ui_attr_title(ui), " %s", title);
	for (int r = 0; r < body; r++) {
		int i = p->scroll + r;
		move(y0 + 1 + r, 0);
		clrtoeol();
		if (i < p->n) {
			ui_put(y0 + 1 + r, 0, ui->cols, p->line[i]);
			if (ui->search[0])
				ui_highlight(y0 + 1 + r, 0, ui->cols, p->line[i], ui->search);
		}
	}
	char hint[160];
	snprintf(hint, sizeof(hint),
		 "Esc:close  Up/Down PgUp/PgDn:scroll  Left/Right .,:move  z:%s  %d/%d",
		 ui->py0 ? "full screen" : "split", p->n ? p->scroll + 1 : 0, p->n);
	ui_status(ui, hint);
}

int ui_tp_handle(struct ui *ui, struct ui_text_panel *p, enum ui_req req)
{
	int page = ui->rows - ui->py0 > 4 ? ui->rows - ui->py0 - 3 : 1;
	switch (req) {
	case UI_REQ_UP:
		p->scroll--;
		break;
	case UI_REQ_DOWN:
		p->scroll++;
		break;
	case UI_REQ_PGUP:
		p->scroll -= page;
		break;
	case UI_REQ_PGDN:
		p->scroll += page;
		break;
	case UI_REQ_BACK:
		ui_pop(ui);
		break;
	default:
		return UI_NOT_HANDLED;
	}
	if (p->scroll < 0)
		p->scroll = 0;
	return UI_F_REDRAW;
}

const char *ui_thread_label(struct ui *ui, int pid, int tid, char *buf, size_t len)
{
	const struct ui_thread *t = ui_model_thread(&ui->m, pid, tid);
	if (t)
		snprintf(buf, len, "%s %d %s", t->label, t->tid, t->name);
	else
		snprintf(buf, len, "%d", tid);
	return buf;
}

/* 4969 -> "4,969": counts a user compares at a glance. */
const char *ui_fmt_count(int64_t v, char *buf, size_t len)
{
	char raw[32];
	int n = snprintf(raw, sizeof(raw), "%lld", (long long)(v < 0 ? -v : v));
	size_t o = 0;
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = 0;
	return buf;
}
