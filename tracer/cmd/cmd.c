/*
 * The option parser and the help texts of every verb, both read from the
 * verb's table (tracer/cmd/cmd.h).
 */
#include "tracer/cmd/cmd.h"
#include "tracer/cli.h"

#include <stdarg.h>
#include <string.h>

const struct cmd_verb *const cmd_verbs[] = {
    &cmd_verb_run, &cmd_verb_report, &cmd_verb_query, &cmd_verb_view, &cmd_verb_export, NULL,
};

const struct cmd_verb *cmd_verb_named(const char *name)
{
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++)
		if (!strcmp((*v)->name, name))
			return *v;
	return NULL;
}

const struct cmd_option *cmd_option_of(const struct cmd_verb *verb, int id)
{
	for (const struct cmd_option *o = verb->options; o->long_name || o->short_name; o++)
		if (o->id == id)
			return o;
	return NULL;
}

int cmd_value_index(const struct cmd_option *opt, const char *value)
{
	const char *p = opt->values;
	size_t n = strlen(value);
	for (int i = 0; p && *p; i++) {
		size_t len = strcspn(p, "|");
		if (len == n && !strncmp(p, value, n))
			return i;
		p += len + (p[len] == '|');
	}
	return -1;
}

/* "--output" or "-o": how an option is written, into buf. */
static const char *option_spelling(const struct cmd_option *opt, int prefer_short, char *buf,
				   size_t len)
{
	if (opt->short_name && (prefer_short || !opt->long_name))
		snprintf(buf, len, "-%c", opt->short_name);
	else
		snprintf(buf, len, "--%s", opt->long_name);
	return buf;
}

int cmd_usage_error(const struct cmd_verb *verb, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (verb->flags & CMD_ERROR_HINT) {
		weft_error("%s: %s (weft %s --help)", verb->name, msg, verb->name);
	} else {
		weft_error("%s: %s", verb->name, msg);
		fputs("usage: ", stderr);
		cmd_write_synopsis(stderr, verb, 0, 0);
		fputc('\n', stderr);
	}
	return 2;
}

void cmd_parser_init(struct cmd_parser *p, const struct cmd_verb *verb, int argc, char **argv)
{
	memset(p, 0, sizeof(*p));
	p->verb = verb;
	p->argc = argc;
	p->argv = argv;
	p->next = 1;
}

/* The table's entry for "-o" or "--output" (name_len: the part before any '='). */
static const struct cmd_option *find_option(const struct cmd_verb *verb, const char *a,
					    size_t name_len)
{
	for (const struct cmd_option *o = verb->options; o->long_name || o->short_name; o++) {
		if (a[1] == '-' && o->long_name && strlen(o->long_name) == name_len - 2 &&
		    !strncmp(a + 2, o->long_name, name_len - 2))
			return o;
		if (a[1] != '-' && name_len == 2 && a[1] == o->short_name)
			return o;
	}
	return NULL;
}

int cmd_next(struct cmd_parser *p)
{
	if (p->next >= p->argc)
		return CMD_END;
	const char *a = p->argv[p->next++];
	p->opt = NULL;
	p->value = NULL;
	if (p->options_done || a[0] != '-' || !a[1]) {
		if (p->verb->flags & CMD_OPTIONS_FIRST)
			p->options_done = 1;
		p->value = a;
		return CMD_OPERAND;
	}
	if (!strcmp(a, "--")) {
		p->options_done = 1;
		return cmd_next(p);
	}
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		cmd_write_help(stdout, p->verb);
		return CMD_HELP;
	}
	const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
	size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
	const struct cmd_option *o = find_option(p->verb, a, name_len);
	if (!o) {
		cmd_usage_error(p->verb, "unknown option '%s'", a);
		return CMD_BAD;
	}
	p->opt = o;
	if (!o->arg && eq) {
		cmd_usage_error(p->verb, "%.*s takes no value", (int)name_len, a);
		return CMD_BAD;
	}
	if (!o->arg)
		return o->id;
	if (eq) {
		p->value = eq + 1;
	} else if (p->next < p->argc) {
		p->value = p->argv[p->next++];
	} else {
		cmd_usage_error(p->verb, "%s needs a value", a);
		return CMD_BAD;
	}
	return o->id;
}

const struct cmd_operands cmd_one_trace = {
    1, {"missing trace file"}, "unexpected argument '%s'", {0}};

int cmd_parse(const struct cmd_verb *verb, int argc, char **argv, struct cmd_operands *ops,
	      cmd_take_option take, void *args)
{
	struct cmd_parser p;
	int what, given = 0;
	cmd_parser_init(&p, verb, argc, argv);
	while ((what = cmd_next(&p)) != CMD_END) {
		if (what == CMD_HELP)
			return 0;
		if (what == CMD_BAD)
			return 2;
		if (what != CMD_OPERAND) {
			int status = take(args, verb, what, p.value);
			if (status)
				return status;
		} else if (given < ops->max) {
			ops->value[given++] = p.value;
		} else {
			return cmd_usage_error(verb, ops->too_many, p.value);
		}
	}
	if (given < ops->max)
		return cmd_usage_error(verb, "%s", ops->missing[given]);
	return CMD_RUN;
}

/* ---- help texts ---- */

/* One option as the synopsis shows it: "[-o OUT]", "--format chrome|csv". */
static void synopsis_option(const struct cmd_option *o, char *buf, size_t len)
{
	char name[64];
	/* A required option is spelled out: it is the part of the line everyone writes. */
	option_spelling(o, !(o->flags & CMD_REQUIRED), name, sizeof(name));
	const char *arg = (o->flags & CMD_ONE_OF) ? o->values : o->arg;
	snprintf(buf, len, "%s%s%s", name, arg ? " " : "", arg ? arg : "");
}

struct layout {
	FILE *f;
	int width, indent, column, started;
};

static void put_item(struct layout *l, const char *item)
{
	int n = (int)strlen(item);
	if (l->started && l->width && l->column + 1 + n > l->width) {
		fprintf(l->f, "\n%*s", l->indent, "");
		l->column = l->indent;
	} else if (l->started) {
		fputc(' ', l->f);
		l->column++;
	}
	fputs(item, l->f);
	l->column += n;
	l->started = 1;
}

void cmd_write_synopsis(FILE *f, const struct cmd_verb *verb, int width, int indent)
{
	char head[64], item[512];
	struct layout l = {f, width, indent, 0, 0};
	snprintf(head, sizeof(head), "weft %s", verb->name);
	put_item(&l, head);
	if (verb->operands_before)
		put_item(&l, verb->operands_before);
	for (const struct cmd_option *o = verb->options; o->long_name || o->short_name; o++) {
		size_t used = 0;
		int required = o->flags & CMD_REQUIRED;
		if (!required)
			item[used++] = '[';
		/* Consecutive options of one group share a bracket: [--csv|--json]. */
		for (;;) {
			synopsis_option(o, item + used, sizeof(item) - used - 2);
			used += strlen(item + used);
			if (!o->group || o[1].group != o->group)
				break;
			item[used++] = '|';
			o++;
		}
		if (!required)
			item[used++] = ']';
		item[used] = 0;
		put_item(&l, item);
	}
	if (verb->operands_after)
		put_item(&l, verb->operands_after);
}

/* "-o, --output FILE" or "--stacks MODE": an option's name column in --help. */
static void help_names(const struct cmd_option *o, char *buf, size_t len)
{
	int n = 0;
	if (o->short_name)
		n = snprintf(buf, len, "-%c%s", o->short_name, o->long_name ? ", " : "");
	if (o->long_name)
		n += snprintf(buf + n, len - (size_t)n, "--%s", o->long_name);
	if (o->arg)
		snprintf(buf + n, len - (size_t)n, " %s", o->arg);
}

/* Writes text from column `column` on, broken between words before column `width`. */
static void write_wrapped(FILE *f, const char *text, int column, int width)
{
	int at = column;
	while (*text) {
		int n = (int)strcspn(text, " ");
		if (at > column && at + 1 + n > width) {
			fprintf(f, "\n%*s", column, "");
			at = column;
		} else if (at > column) {
			fputc(' ', f);
			at++;
		}
		fprintf(f, "%.*s", n, text);
		at += n;
		text += n;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

void cmd_write_help(FILE *f, const struct cmd_verb *verb)
{
	char names[128];
	int column = (int)strlen("-h, --help");
	for (const struct cmd_option *o = verb->options; o->long_name || o->short_name; o++) {
		help_names(o, names, sizeof(names));
		if ((int)strlen(names) > column)
			column = (int)strlen(names);
	}
	fputs("usage: ", f);
	cmd_write_synopsis(f, verb, 79, 8);
	fprintf(f, "\n\n%s\n\n", verb->description);
	for (const struct cmd_option *o = verb->options; o->long_name || o->short_name; o++) {
		help_names(o, names, sizeof(names));
		fprintf(f, "  %-*s  ", column, names);
		write_wrapped(f, o->help, column + 4, 79);
	}
	fprintf(f, "  %-*s  %s\n", column, "-h, --help", "this help");
}

void cmd_write_overview(FILE *f)
{
	fputs("usage: weft COMMAND [ARGS]\n\ncommands:\n", f);
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++) {
		fputs("  ", f);
		cmd_write_synopsis(f, *v, 79, 6 + (int)strlen((*v)->name) + 2);
		fprintf(f, "\n      %s\n", (*v)->summary);
	}
	fputs("\n  weft --help | --version\n"
	      "\nweft COMMAND --help shows a command's options; man weft-COMMAND tells more. "
	      "The trace\nformat is described in docs/SCHEMA.md.\n",
	      f);
}
