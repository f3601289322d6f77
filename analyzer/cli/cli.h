/* SPDX-License-Identifier: MIT */
/**
 * @file cli.h
 *
 * The command line: the commands, their help and exit statuses (one table,
 * help.c, which `gcscope --help`, `gcscope COMMAND --help`, the usage
 * errors and the gdb commands' help all come from), and what the commands
 * share.
 */
#ifndef GCSCOPE_CLI_H
#define GCSCOPE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

/**
 * The exit statuses of every command. What each means for a command is in
 * its entry of the table (struct command), in the README's list and in
 * `gcscope --help`, which help.c writes from exit_statuses[].
 */
enum exit_status {
	/** done: the snapshot was written, the answer printed */
	EXIT_OK = 0,
	/**
	 * done, with a reservation the output states: the walk was cut
	 * short, the object asked about is not in the snapshot or no root
	 * reaches it, layout --check found an entry that differs
	 */
	EXIT_RESERVATION = 1,
	/** failed: nothing written, no answer (one line says why) */
	EXIT_FAILED = 2,
	/** the command line is wrong */
	EXIT_USAGE = 64,
	/** a sanitizer report: only in SANITIZE=1 builds (sanitize.c) */
	EXIT_SANITIZER = 86,
};

/** The exit statuses in order, for the tables indexed by them. */
enum exit_index {
	STATUS_OK,
	STATUS_RESERVATION,
	STATUS_FAILED,
	STATUS_USAGE,
	STATUS_SANITIZER,
	NSTATUSES,
};

/** An exit status and what it means, for every command at once. */
struct exit_status_doc {
	enum exit_status status;
	const char *name;      /* for gcscope help --gdb: "ok", "failed"... */
	const char *meaning;   /* as gcscope --help and README.md list it */
};

extern const struct exit_status_doc exit_statuses[NSTATUSES];

struct report;

/** What an analysis command takes besides DB (struct command.flags). */
enum command_flags {
	TAKES_ADDR = 1 << 0,    /* a second argument: ADDR */
	TAKES_SQL = 1 << 1,     /* a second argument: the statement */
	TAKES_LIMIT = 1 << 2,   /* --limit */
	TAKES_CYCLES = 1 << 3,  /* --garbage-only, --type, --members */
	TAKES_ALL = 1 << 4,     /* --all */
};

/** A command: how it runs, its help, its exit statuses, its gdb command. */
struct command {
	const char *name;      /* as typed */
	/* runs it: argv[1] is its name */
	int (*main)(const struct command *c, int argc, char **argv);
	/* analysis commands: what prints the answer (report.h) */
	struct err *(*report)(struct report *rp, bool *found_ret);
	unsigned flags;        /* enum command_flags */
	uint64_t limit;        /* default --limit */
	const char *usage;     /* "gcscope NAME ...", lines without "usage: " */
	const char *summary;   /* what it does, for gcscope --help */
	const char *help;      /* what it does and its options, for NAME --help */
	/* what each exit status means for it; NULL: it does not exit so */
	const char *status[NSTATUSES];
	/* its gdb command, or NULL; gdb_help is after "Usage: " gdb_usage */
	const char *gdb_name;
	const char *gdb_summary;  /* the first line of 'help py-NAME' */
	const char *gdb_usage;
	const char *gdb_help;
};

extern const struct command commands[];
extern const unsigned ncommands;

/** The command called @p name, or NULL. */
const struct command *command_find(const char *name);

/** gcscope --help, gcscope help: everything. */
void help_print_all(FILE *f);

/** gcscope COMMAND --help. */
void help_print_command(const struct command *c, FILE *f);

/**
 * gcscope help --gdb: for the gdb commands (gdbext/), a JSON object:
 * "exit_statuses", each status by name ({"ok": 0, ...}), and "commands",
 * an array of objects with "name" (py-NAME), "command" (the gcscope
 * command it runs), "usage" and "doc" (the whole of 'help py-NAME').
 */
void help_print_gdb(FILE *f);

/**
 * A usage error: "error: ", the message, then the usage of @p c (or the
 * synopsis of every command when NULL) and where to read more.
 *
 * @return EXIT_USAGE
 */
int usage_error(const struct command *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Print @p err as "error: MESSAGE[; HINT]" and release it.
 *
 * @return EXIT_FAILED
 */
int fail(struct err *err);

/* The commands' main functions. */
int snapshot_main(const struct command *c, int argc, char **argv);
int layout_main(const struct command *c, int argc, char **argv);
int report_main(const struct command *c, int argc, char **argv);
int help_main(const struct command *c, int argc, char **argv);

/**
 * An analysis command given --core CORE [--exe EXE] or --pid PID in
 * place of DB (argv[2]): snapshot into the cache and answer from there.
 */
int report_on_target(const struct command *c, int argc, char **argv);

#endif /* GCSCOPE_CLI_H */
