/*
 * cmd: weft's verbs and their option tables. Each verb has one table of
 * its options; from it come the verb's parser (cmd_next), its --help, its
 * lines in `weft --help`, its man page and the bash completion
 * (tracer/cmd/gen_docs.c, run at build time), so none of them can say
 * something the parser does not accept.
 */
#ifndef WEFT_CMD_H
#define WEFT_CMD_H

#include <stddef.h>
#include <stdio.h>

/* cmd_option.flags */
enum {
	CMD_REQUIRED = 1 << 0, /* shown unbracketed in the synopsis (the verb checks it) */
	CMD_ONE_OF = 1 << 1,   /* the value is one of `values` (cmd_value_index) */
	CMD_NUMBER = 1 << 2,   /* the value is a number: nothing to complete */
};

struct cmd_option {
	int id;		       /* what cmd_next returns for it (>= 0) */
	char short_name;       /* 'o' for -o, or 0 */
	const char *long_name; /* "output" for --output, or NULL */
	const char *arg;       /* the value's name ("FILE") when it takes one, else NULL */
	const char *values;    /* "none|caller|full": the words it takes (completion), or NULL */
	unsigned flags;
	int group;	  /* options sharing a nonzero group exclude each other: [--csv|--json] */
	const char *help; /* one line, for --help and the man page */
	const char *more; /* further sentences for the man page only, or NULL */
};

/* cmd_verb.flags */
enum {
	/*
	 * Options end at the first operand: what follows is the program's own
	 * command line (weft run). Otherwise options and operands mix freely.
	 */
	CMD_OPTIONS_FIRST = 1 << 0,
	/*
	 * A usage error is one line ending in "(weft VERB --help)"; otherwise
	 * it is followed by the usage line.
	 */
	CMD_ERROR_HINT = 1 << 1,
};

struct cmd_verb {
	const char *name;
	int (*main)(int argc, char **argv); /* argv[0] is the verb; returns the exit status */
	const char *operands_before;	    /* "FILE SQL": operands the synopsis puts first */
	const char *operands_after;	    /* "[--] CMD [ARGS...]": operands put last */
	unsigned flags;
	const char *summary;	 /* one line: what it does ("weft --help", man NAME) */
	const char *description; /* paragraphs ("\n\n" between) for --help and the man page */
	const char *exit_status; /* paragraphs for the man page's EXIT STATUS */
	const struct cmd_option *options; /* ends with an entry without a name */
};

/* Every verb, in the order `weft --help` lists them; NULL-terminated. */
extern const struct cmd_verb *const cmd_verbs[];
extern const struct cmd_verb cmd_verb_run, cmd_verb_report, cmd_verb_query, cmd_verb_view,
    cmd_verb_export;

/* The verb called name, or NULL. */
const struct cmd_verb *cmd_verb_named(const char *name);

/* What cmd_next returns besides an option's id. */
enum {
	CMD_END = -1,	  /* no more arguments */
	CMD_OPERAND = -2, /* parser.value is an operand */
	CMD_HELP = -3,	  /* --help was given and printed on stdout: exit 0 */
	CMD_BAD = -4,	  /* a usage error was printed on stderr: exit 2 */
};

struct cmd_parser {
	const struct cmd_verb *verb;
	int argc;
	char **argv;
	int next;		      /* index of the next argument to look at */
	int options_done;	      /* after "--" (or the first operand, CMD_OPTIONS_FIRST) */
	const struct cmd_option *opt; /* the option just returned */
	const char *value;	      /* its value, or the operand */
};

/* Starts parsing argv (argv[0] is the verb itself). */
void cmd_parser_init(struct cmd_parser *p, const struct cmd_verb *verb, int argc, char **argv);

/*
 * The next argument: an option's id (p->opt set, p->value its value when it
 * takes one), CMD_OPERAND (p->value), CMD_END, CMD_HELP or CMD_BAD. Long
 * options take their value as --name=VALUE or as the next argument, short
 * ones as the next argument.
 */
int cmd_next(struct cmd_parser *p);

/*
 * A verb's option as cmd_parse hands it over: id is its table's, value its
 * value (NULL when it takes none). Returns 0 to go on, otherwise the verb's
 * exit status (2 after a usage error it reported).
 */
typedef int (*cmd_take_option)(void *args, const struct cmd_verb *verb, int id, const char *value);

/* The operands of a verb that takes a fixed few (FILE, or FILE SQL). */
struct cmd_operands {
	int max;		/* how many the verb takes (at most 2) */
	const char *missing[2]; /* the usage error when one is not given */
	const char *too_many;	/* the usage error for one more: a format, %s the argument */
	const char *value[2];	/* set by cmd_parse in the order given */
};

/* The operands of report and export: one trace FILE. */
extern const struct cmd_operands cmd_one_trace;

/* What cmd_parse returns when the command line is good and the verb should run. */
enum { CMD_RUN = -1 };

/*
 * Parses the command line of a verb whose operands are a fixed few: each
 * option, in order, goes to take(args, ...), each operand into ops->value;
 * one past ops->max, or one missing at the end, is a usage error in the
 * words of ops. Returns CMD_RUN when the verb should run; otherwise its exit
 * status: 0 after --help, 2 after a usage error (printed), or what take
 * returned.
 */
int cmd_parse(const struct cmd_verb *verb, int argc, char **argv, struct cmd_operands *ops,
	      cmd_take_option take, void *args);

/*
 * Reports a usage error of the verb in its style (see CMD_ERROR_HINT):
 * "weft: VERB: <message>" and the usage line or the hint. Returns 2, the
 * exit status of every usage error.
 */
int cmd_usage_error(const struct cmd_verb *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The position of value among the option's `values` ("none|caller|full":
 * "caller" is 1), or -1 when it is not one of them.
 */
int cmd_value_index(const struct cmd_option *opt, const char *value);

/* The verb's option with this id (the table's entry), or NULL. */
const struct cmd_option *cmd_option_of(const struct cmd_verb *verb, int id);

/*
 * Writes the verb's synopsis without "usage: ": "weft export FILE --format
 * chrome|csv [-o OUT]". Lines are broken before an item that would pass
 * column `width` (0: never), continuing with `indent` spaces.
 */
void cmd_write_synopsis(FILE *f, const struct cmd_verb *verb, int width, int indent);

/* Writes the verb's --help: the usage line, its description, its options. */
void cmd_write_help(FILE *f, const struct cmd_verb *verb);

/* Writes `weft --help`: every verb with its synopsis and summary. */
void cmd_write_overview(FILE *f);

#endif
