/* The help panel: the keys (from UI_KEYS), the glyphs and the markers. */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct help_view {
	struct ui_text_panel p;
} hv;

static void help_build(struct ui *ui)
{
	struct ui_text_panel *p = &hv.p;
	const char **labels, **texts;
	int n = ui_help_lines(&labels, &texts);
	ui_tp_clear(p, ui);
	ui_tp_add(p, "keys");
	for (int i = 0; i < n; i++)
		ui_tp_add(p, "  %-10s %s", labels[i], texts[i]);
	ui_tp_add(p, "  %-10s %s", "mouse",
		  "click: focus a lane and put the cursor there; drag: area summary; wheel: zoom");
	ui_tp_add(p, "%s", "");
	ui_tp_add(p, "thread states (underlined: the column mixes several states)");
	for (int s = 1; s < UI_ST_COUNT; s++)
		ui_tp_add(p, "  %s  %s", ui_state_glyph(ui, s), ui_state_name(s));
	ui_tp_add(p, "  :  silent: alive after its last event, no exit recorded");
	ui_tp_add(p, "%s", "");
	ui_tp_add(p, "markers: + thread.create  > thread.start  x thread.exit  S fork/spawn  E exec"
		     "  ! a finding's event");
	ui_tp_add(p, "         X process.exit  D gil.drop_request  R process.reap");
	ui_tp_add(p, "object lanes: the letter of the holding thread (* past the 52nd: the lane's"
		     " label names it); inverse/red when threads queue for it; a digit = threads"
		     " queued while nobody holds it");
}

static void help_draw(struct ui *ui)
{
	help_build(ui);
	ui_tp_draw(ui, &hv.p, "help (docs/VIEWER.md has more)");
}

static int help_handle(struct ui *ui, enum ui_req req)
{
	if (req == UI_REQ_HELP) {
		ui_pop(ui);
		return UI_F_REDRAW;
	}
	if (req == UI_REQ_FULL)
		return UI_HANDLED; /* the help always has the whole screen */
	return ui_tp_handle(ui, &hv.p, req);
}

static void help_enter(struct ui *ui)
{
	(void)ui;
	hv.p.scroll = 0;
}

const struct ui_screen_ops ui_help_ops = {
    .name = "help",
    .draw = help_draw,
    .handle = help_handle,
    .enter = help_enter,
};
