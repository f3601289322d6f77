/* SPDX-License-Identifier: MIT */
/**
 * @file table.h
 *
 * The rows an analysis command prints, kept in a table (at most --limit of
 * them, the rest counted), and printed as aligned columns, widths computed
 * over the rows shown, or as JSON. Text is printed UTF-8 checked, with
 * control characters escaped, so that a record stays on its line.
 */
#ifndef GCSCOPE_CLI_TABLE_H
#define GCSCOPE_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/reader.h"
#include "util/err.h"

/** How a column is printed. */
enum column_kind {
	COL_VALUE,      // the value as it is
	COL_ADDR,       // an address: 0x... in text, a number in JSON
	COL_FLAG,       // 0 or 1: no or yes in text
	COL_TEXT_ONLY,  // text only: not in JSON ('->')
	COL_JSON_ONLY,  // JSON only: not in text
};

/** What a cell holds. */
enum cell_kind {
	CELL_NULL,
	CELL_INT,
	CELL_REAL,   // text is how SQLite renders it
	CELL_TEXT,
};

struct cell {
	enum cell_kind kind;
	int64_t i;     // CELL_INT
	double real;   // CELL_REAL
	char *text;    // CELL_REAL, CELL_TEXT: owned
};

struct table {
	int ncolumns;
	char **names;              // headings and JSON keys, owned
	enum column_kind *kinds;   // per column
	struct cell *cells;        // nrows rows of ncolumns
	size_t nrows, capacity;    // rows kept, allocated
	uint64_t limit;            // rows to keep; 0: all
	uint64_t more;             // rows seen but not kept
};

/** How table_print_text() prints. */
struct text_style {
	const char *indent;     // before each line
	const char *null_text;  // for NULL
	bool header;            // print the column names first
};

/**
 * @p text as printed in a column: control characters as \n, \t, \r or
 * \xNN, bytes that are not UTF-8 as \xNN. The caller frees it; NULL if
 * memory ran out.
 */
char *display(const char *text);

/** Columns @p text takes: one per character (code point). */
size_t text_width(const char *text);

/** @p text as a JSON string, invalid UTF-8 as U+FFFD. */
void json_string(FILE *f, const char *text);

/**
 * Start a table of @p ncolumns named by @p names[], or if @p names is NULL
 * by the columns of @p q; @p kinds NULL: all COL_VALUE. It keeps at most
 * @p limit rows (0: all).
 */
struct err *table_init(struct table *t, int ncolumns,
		       const char *const *names,
		       const enum column_kind *kinds,
		       struct db_query *q, uint64_t limit);

/** Release @p t; a zeroed table is allowed. */
void table_deinit(struct table *t);

/**
 * A new row of NULL cells, or NULL in *ret when the limit is reached (the
 * row is counted in t->more).
 */
struct err *table_add(struct table *t, struct cell **ret);

/** Set a cell to a copy of @p text (NULL leaves it NULL). */
struct err *cell_text(struct cell *c, const char *text);

/** Set a cell to an integer. */
void cell_int(struct cell *c, int64_t i);

/** Column @p j of the current row of @p q into @p c. */
struct err *cell_from(struct cell *c, struct db_query *q, int j);

/** Add the rows of @p q, its columns in order, until it ends. */
struct err *table_fill(struct table *t, struct db_query *q);

/** A cell as text, NULL as @p null_text; owned by the caller. */
char *cell_render(const struct cell *c, enum column_kind kind,
		  const char *null_text);

/** Print @p t as aligned columns. */
struct err *table_print_text(const struct table *t, FILE *f,
			     const struct text_style *style);

/** Row @p r of @p t as JSON members: "name": value, ... */
void json_fields(const struct table *t, size_t r, FILE *f);

/** Print @p t as a JSON array of objects, one per row. */
void table_print_json(const struct table *t, FILE *f);

#endif /* GCSCOPE_CLI_TABLE_H */
