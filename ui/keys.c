/* Key to request mapping and the help text, both generated from UI_KEYS. */
#include "ui/ui.h"

static const struct {
	enum ui_req req;
	int keys[3];
} key_table[] = {
#define UI_KEY_ROW(r, label, k1, k2, k3, help) {r, {k1, k2, k3}},
    UI_KEYS(UI_KEY_ROW)
#undef UI_KEY_ROW
};

static const char *const help_labels[] = {
#define UI_KEY_LABEL(r, label, k1, k2, k3, help) label,
    UI_KEYS(UI_KEY_LABEL)
#undef UI_KEY_LABEL
};

static const char *const help_texts[] = {
#define UI_KEY_HELP(r, label, k1, k2, k3, help) help,
    UI_KEYS(UI_KEY_HELP)
#undef UI_KEY_HELP
};

enum ui_req ui_key_request(int ch)
{
	if (ch == KEY_MOUSE)
		return UI_REQ_MOUSE;
	if (ch == KEY_RESIZE)
		return UI_REQ_RESIZE;
	for (size_t i = 0; i < sizeof(key_table) / sizeof(key_table[0]); i++)
		for (int k = 0; k < 3; k++)
			if (key_table[i].keys[k] && key_table[i].keys[k] == ch)
				return key_table[i].req;
	return UI_REQ_NONE;
}

int ui_help_lines(const char ***labels, const char ***texts)
{
	*labels = (const char **)help_labels;
	*texts = (const char **)help_texts;
	return (int)(sizeof(help_labels) / sizeof(help_labels[0]));
}
