/* SPDX-License-Identifier: MIT */
/**
 * @file report.h
 *
 * The analysis commands: read a snapshot database and print what is in it,
 * as aligned columns (one record per line, addresses as 0x...) or as JSON.
 * Every query goes through the read-only side of the store (reader.h).
 * report.c parses their command lines, opens the database and runs the
 * command's report function; the report functions are in one file per
 * command (lists.c has the one-table ones).
 */
#ifndef GCSCOPE_REPORT_H
#define GCSCOPE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "store/reader.h"
#include "util/err.h"

struct report_options {
	const struct command *command;
	const char *db;       /* the snapshot database */
	uint64_t addr;        /* path, referrers, referents: the object */
	const char *sql;      /* sql: the statement */
	const char *type;     /* cycles --type: a member's type, or NULL */
	uint64_t limit;       /* rows (cycles: cycles) to print; 0: all */
	uint64_t members;     /* cycles: members and references per cycle; 0: all */
	bool garbage_only;    /* cycles --garbage-only */
	bool all;             /* leaks --all: explained anomalies too */
	bool json;            /* --json */
	bool help;            /* COMMAND --help: print its help instead */
};

/** What a command prints, and where. */
struct report {
	const struct report_options *o;
	struct db_reader *db;
	FILE *out;      /* the answer */
	FILE *notes;    /* with --json: what is not part of it */
};

/**
 * The report functions of struct command: print the answer of the command
 * o names on rp->out.
 *
 * @param found_ret set to false when path finds no chain from a root to
 * the object; left true by the others.
 * @return NULL on success; an ERR_NOTFOUND error if the object asked about
 * is not in the snapshot; ERR_OS, ERR_INPUT or ERR_SQLITE if the database
 * cannot be read, lacks what the command needs, or (sql) the statement is
 * refused or fails.
 */
struct err *report_types(struct report *rp, bool *found_ret);
struct err *report_cycles(struct report *rp, bool *found_ret);
struct err *report_garbage(struct report *rp, bool *found_ret);
/** leaks: the anomalies table. */
struct err *report_anomalies(struct report *rp, bool *found_ret);
struct err *report_census(struct report *rp, bool *found_ret);
struct err *report_path(struct report *rp, bool *found_ret);
struct err *report_referrers(struct report *rp, bool *found_ret);
struct err *report_referents(struct report *rp, bool *found_ret);
struct err *report_sql(struct report *rp, bool *found_ret);

/*
 * What the report functions share (report.c).
 */

/** Aligned columns under a header, NULL as '-'. */
extern const struct text_style list_style;

/** The line saying how many rows --limit left out (to notes in JSON). */
void print_more(struct report *rp, uint64_t more, const char *what,
		const char *option);

/** A list: its table, or in text @p empty when there are no rows. */
struct err *print_list(struct report *rp, const struct table *t,
		       const char *empty);

/**
 * Two lists, types and objects (garbage, leaks): in JSON one object with
 * both; in text @p empty when the first has no rows.
 */
struct err *print_two_lists(struct report *rp, struct table *first,
			    struct table *second, const char *empty);

/** Run @p sql with parameter 1 bound to *arg (if any) into a new table. */
struct err *query_table(struct report *rp, struct table *t, const char *sql,
			int ncolumns, const char *const *names,
			const enum column_kind *kinds, uint64_t limit,
			const int64_t *arg);

/**
 * The first column of the first row of @p sql, bound to *arg (if any), as
 * an integer; *ret is -1 if there is no row.
 */
struct err *query_int(struct report *rp, const char *sql, const int64_t *arg,
		      int64_t *ret);

/** An error unless the database has schema version @p version or later. */
struct err *need_version(struct report *rp, int version, const char *what);

/** An ERR_NOTFOUND error unless the object at o->addr is in the snapshot. */
struct err *need_object(struct report *rp);

#endif /* GCSCOPE_REPORT_H */
