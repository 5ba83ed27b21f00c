/*
 * Build-time generator of weft's man pages and bash completion from the
 * verbs' option tables (tracer/cmd/cmd.h), so they cannot say anything the
 * parsers do not accept:
 *
 *   gen_docs man DIR    writes DIR/weft.1 and DIR/weft-VERB.1 for every verb
 *   gen_docs bash FILE  writes the bash completion script
 *
 * Linked with the tool's modules (minus main.c); not part of weft itself.
 */
#include "tracer/cmd/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOR_OPTIONS(o, verb)                                                                       \
	for (const struct cmd_option *o = (verb)->options; o->long_name || o->short_name; o++)

/* Writes text as roff: backslashes and minus signs escaped, no line taken for a request. */
static void roff_text(FILE *f, const char *text)
{
	int line_start = 1;
	for (const char *p = text; *p; p++) {
		if (line_start && (*p == '.' || *p == '\''))
			fputs("\\&", f);
		if (*p == '\\')
			fputs("\\e", f);
		else if (*p == '-')
			fputs("\\-", f);
		else
			fputc(*p, f);
		line_start = *p == '\n';
	}
}

/* Paragraphs ("\n\n" between them) as .PP paragraphs. */
static void roff_paragraphs(FILE *f, const char *text)
{
	while (*text) {
		const char *end = strstr(text, "\n\n");
		size_t n = end ? (size_t)(end - text) : strlen(text);
		char *para = strndup(text, n);
		if (!para)
			exit(1);
		fputs(".PP\n", f);
		roff_text(f, para);
		fputc('\n', f);
		free(para);
		text += n;
		text += strspn(text, "\n");
	}
}

static void roff_synopsis(FILE *f, const struct cmd_verb *verb)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		exit(1);
	cmd_write_synopsis(m, verb, 0, 0);
	fclose(m);
	size_t head = strlen("weft ") + strlen(verb->name);
	fprintf(f, ".ad l\n\\fBweft %s\\fR", verb->name);
	roff_text(f, buf + head);
	fputs("\n.ad\n", f);
	free(buf);
}

static void roff_option(FILE *f, const struct cmd_option *o)
{
	fputs(".TP\n", f);
	if (o->short_name)
		fprintf(f, "\\fB\\-%c\\fR%s", o->short_name, o->long_name ? ", " : "");
	if (o->long_name) {
		fputs("\\fB", f);
		roff_text(f, "--");
		roff_text(f, o->long_name);
		fputs("\\fR", f);
	}
	if (o->arg)
		fprintf(f, " \\fI%s\\fR", o->arg);
	fputc('\n', f);
	roff_text(f, o->help);
	fputs(".\n", f);
	if (o->flags & CMD_ONE_OF) {
		fputs(o->arg ? o->arg : "The value", f);
		fputs(" is one of: ", f);
		roff_text(f, o->values);
		fputs(".\n", f);
	}
	if (o->more) {
		roff_text(f, o->more);
		fputc('\n', f);
	}
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "gen_docs: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return f;
}

static void close_out(FILE *f)
{
	if (fclose(f) != 0) {
		perror("gen_docs");
		exit(1);
	}
}

static void man_verb(const char *dir, const struct cmd_verb *verb)
{
	char name[64], upper[64];
	snprintf(name, sizeof(name), "weft-%s.1", verb->name);
	snprintf(upper, sizeof(upper), "WEFT-%s", verb->name);
	for (char *p = upper; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	FILE *f = open_out(dir, name);
	fprintf(f,
		".\\\" Generated from tracer/cmd/%s.c by tracer/cmd/gen_docs.c; edit the table.\n"
		".TH %s 1 \"\" \"weft %s\" \"weft manual\"\n.nh\n.SH NAME\nweft\\-%s \\- ",
		verb->name, upper, WEFT_VERSION, verb->name);
	roff_text(f, verb->summary);
	fputs("\n.SH SYNOPSIS\n", f);
	roff_synopsis(f, verb);
	fputs(".SH DESCRIPTION\n", f);
	roff_paragraphs(f, verb->description);
	fputs(".SH OPTIONS\n", f);
	FOR_OPTIONS(o, verb)
	roff_option(f, o);
	fputs(".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nPrint the usage and the options, and exit.\n",
	      f);
	fputs(".SH EXIT STATUS\n", f);
	roff_paragraphs(f, verb->exit_status);
	fputs(".SH SEE ALSO\n\\fBweft\\fR(1)", f);
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++)
		if (*v != verb)
			fprintf(f, ", \\fBweft\\-%s\\fR(1)", (*v)->name);
	fputs("\n", f);
	close_out(f);
}

static void man_weft(const char *dir)
{
	FILE *f = open_out(dir, "weft.1");
	fprintf(f,
		".\\\" Generated from tracer/cmd/ by tracer/cmd/gen_docs.c; edit the tables.\n"
		".TH WEFT 1 \"\" \"weft %s\" \"weft manual\"\n.nh\n"
		".SH NAME\nweft \\- a tracing debugger for threaded programs\n"
		".SH SYNOPSIS\n\\fBweft\\fR \\fICOMMAND\\fR [\\fIARGS\\fR]\n.br\n"
		"\\fBweft \\-\\-help\\fR | \\fB\\-\\-version\\fR\n"
		".SH DESCRIPTION\n"
		"weft records what the threads of a program do with locks, conditions,\n"
		"semaphores, barriers, the Python GIL and queues, and how its processes\n"
		"fork, exec and end, into one SQLite file; it finds data races, lock-order\n"
		"inversions, deadlocks and lock misuse in it, and shows, summarizes,\n"
		"queries and exports the trace.\n"
		".SH COMMANDS\n",
		WEFT_VERSION);
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++) {
		fputs(".TP\n", f);
		roff_synopsis(f, *v);
		roff_text(f, (*v)->summary);
		fprintf(f, "; see \\fBweft\\-%s\\fR(1).\n", (*v)->name);
	}
	fputs(".SH OPTIONS\n"
	      ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nList the commands and their options.\n"
	      ".TP\n\\fB\\-\\-version\\fR\nPrint weft's version.\n"
	      ".PP\n\\fBweft\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR shows a command's options.\n"
	      ".SH FILES\nThe trace format is described in docs/SCHEMA.md, the findings in\n"
	      "docs/FINDINGS.md, the viewer in docs/VIEWER.md.\n"
	      ".SH SEE ALSO\n",
	      f);
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++)
		fprintf(f, "%s\\fBweft\\-%s\\fR(1)", v == cmd_verbs ? "" : ", ", (*v)->name);
	fputs("\n", f);
	close_out(f);
}

/* The words an option is written as: "-o --output". */
static void option_words(FILE *f, const struct cmd_option *o)
{
	if (o->short_name)
		fprintf(f, " -%c", o->short_name);
	if (o->long_name)
		fprintf(f, " --%s", o->long_name);
}

/* The case arm that completes the value of the verb's options that take one. */
static void bash_values(FILE *f, const struct cmd_verb *verb)
{
	FOR_OPTIONS(o, verb)
	{
		if (!o->arg)
			continue;
		fprintf(f, "\t\t");
		if (o->short_name)
			fprintf(f, "-%c%s", o->short_name, o->long_name ? "|" : "");
		if (o->long_name)
			fprintf(f, "--%s", o->long_name);
		if (o->values) {
			fputs(") COMPREPLY=($(compgen -W \"", f);
			for (const char *p = o->values; *p; p++)
				fputc(*p == '|' ? ' ' : *p, f);
			fputs("\" -- \"$cur\")) ;;\n", f);
		} else if (o->flags & CMD_NUMBER) {
			fputs(") ;;\n", f);
		} else {
			fputs(") COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n", f);
		}
	}
}

static void bash_completion(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "gen_docs: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fputs("# bash completion for weft. Generated from the verbs' option tables\n"
	      "# (tracer/cmd/) by tracer/cmd/gen_docs.c.\n"
	      "_weft()\n{\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	      "\tlocal verb=${COMP_WORDS[1]} options valued i w\n"
	      "\tCOMPREPLY=()\n"
	      "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"",
	      f);
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++)
		fprintf(f, "%s ", (*v)->name);
	fputs("--help --version\" -- \"$cur\"))\n\t\treturn 0\n\tfi\n\tcase $verb in\n", f);
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++) {
		fprintf(f, "\t%s)\n\t\toptions=\"", (*v)->name);
		FOR_OPTIONS(o, *v)
		option_words(f, o);
		fputs(" -h --help\"\n\t\tvalued=\" ", f);
		FOR_OPTIONS(o, *v)
		if (o->arg) {
			option_words(f, o);
		}
		fputs(" \"\n\t\t;;\n", f);
	}
	fputs("\t*) return 0 ;;\n\tesac\n", f);
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++) {
		if (!((*v)->flags & CMD_OPTIONS_FIRST))
			continue;
		/* After the program's name comes its own command line: a command, then files. */
		fprintf(f,
			"\tif [ \"$verb\" = %s ]; then\n"
			"\t\tfor ((i = 2; i < COMP_CWORD; i++)); do\n"
			"\t\t\tw=${COMP_WORDS[i]}\n"
			"\t\t\tif [ \"$w\" = -- ] && [ $((i + 1)) -eq \"$COMP_CWORD\" ]; then\n"
			"\t\t\t\tCOMPREPLY=($(compgen -c -- \"$cur\"))\n"
			"\t\t\t\treturn 0\n"
			"\t\t\tfi\n"
			"\t\t\tif [ \"$w\" = -- ] || [[ $w != -* ]]; then\n"
			"\t\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
			"\t\t\t\treturn 0\n"
			"\t\t\tfi\n"
			"\t\t\t[[ $valued == *\" $w \"* ]] && i=$((i + 1))\n"
			"\t\tdone\n"
			"\t\tif [[ $cur != -* && $valued != *\" $prev \"* ]]; then\n"
			"\t\t\tCOMPREPLY=($(compgen -c -- \"$cur\"))\n"
			"\t\t\treturn 0\n"
			"\t\tfi\n"
			"\tfi\n",
			(*v)->name);
	}
	fputs("\tif [[ $valued == *\" $prev \"* ]]; then\n\t\tcase $verb in\n", f);
	for (const struct cmd_verb *const *v = cmd_verbs; *v; v++) {
		fprintf(f, "\t\t%s)\n\t\tcase $prev in\n", (*v)->name);
		bash_values(f, *v);
		fputs("\t\tesac ;;\n", f);
	}
	fputs("\t\tesac\n\t\treturn 0\n\tfi\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$options\" -- \"$cur\"))\n"
	      "\telse\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\tfi\n"
	      "\treturn 0\n}\n"
	      "complete -o filenames -o bashdefault -F _weft weft\n",
	      f);
	close_out(f);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "man")) {
		man_weft(argv[2]);
		for (const struct cmd_verb *const *v = cmd_verbs; *v; v++)
			man_verb(argv[2], *v);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "bash")) {
		bash_completion(argv[2]);
		return 0;
	}
	fprintf(stderr, "usage: gen_docs man DIR | gen_docs bash FILE\n");
	return 2;
}
