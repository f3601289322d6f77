/* SPDX-License-Identifier: MIT */
/**
 * @file report.h
 *
 * The analysis commands: read a snapshot database and print what is in it,
 * as aligned columns (one record per line, addresses as 0x...) or as JSON.
 * Every query goes through the read-only side of the store (reader.h).
 */
#ifndef GCSCOPE_REPORT_H
#define GCSCOPE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

/** The analysis commands. */
enum report_command {
	REPORT_TYPES,
	REPORT_CYCLES,
	REPORT_GARBAGE,
	REPORT_LEAKS,
	REPORT_CENSUS,
	REPORT_PATH,
	REPORT_REFERRERS,
	REPORT_REFERENTS,
	REPORT_SQL,
};

struct report_options {
	enum report_command command;
	const char *name;     /* the command's name, as typed */
	const char *db;       /* the snapshot database */
	uint64_t addr;        /* path, referrers, referents: the object */
	const char *sql;      /* sql: the statement */
	const char *type;     /* cycles --type: a member's type, or NULL */
	uint64_t limit;       /* rows (cycles: cycles) to print; 0: all */
	uint64_t members;     /* cycles: members and references per cycle; 0: all */
	bool garbage_only;    /* cycles --garbage-only */
	bool json;            /* --json */
	bool help;            /* COMMAND --help: print report_help() instead */
};

/** Whether @p name is an analysis command. */
bool report_is_command(const char *name);

/**
 * The usage line of analysis command @p name, "gcscope NAME DB ...",
 * without "usage: " or a newline; NULL if @p name is not one.
 */
const char *report_usage(const char *name);

/**
 * What analysis command @p name does and its exit statuses, as lines
 * ending in a newline; NULL if @p name is not one.
 */
const char *report_help(const char *name);

/**
 * Parse the command line of an analysis command: argv[1] is its name.
 *
 * @return NULL on success; an ERR_USAGE error if the command line is
 * wrong.
 */
struct err *report_parse(int argc, char **argv, struct report_options *ret);

/**
 * Run an analysis command.
 *
 * @param out where the answer goes.
 * @param notes where what is not part of the answer goes when it is JSON:
 * how many rows --limit left out, why path found no chain.
 * @param found_ret set to false when path finds no chain from a root to
 * the object, else true.
 * @return NULL on success; an ERR_NOTFOUND error if the object asked about
 * is not in the snapshot; ERR_OS, ERR_INPUT or ERR_SQLITE if the database
 * cannot be read, is not a gcscope database of a known schema version,
 * lacks what the command needs, or (sql) the statement is refused or fails.
 */
struct err *report_run(const struct report_options *o, FILE *out,
		       FILE *notes, bool *found_ret);

#endif /* GCSCOPE_REPORT_H */
