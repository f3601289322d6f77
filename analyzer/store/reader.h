/* SPDX-License-Identifier: MIT */
/**
 * @file reader.h
 *
 * Reading a snapshot database: read-only queries. The analysis commands
 * read databases through this, never through SQLite itself.
 */
#ifndef GCSCOPE_READER_H
#define GCSCOPE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/*
 * Reading a snapshot: read-only queries.
 *
 * A database is opened read-only (SQLITE_OPEN_READONLY, and PRAGMA
 * query_only), and only after it has been checked to be a gcscope database
 * of a schema version this gcscope knows. A query is exactly one statement
 * that sqlite3_stmt_readonly() says does not write.
 */

/** The schema versions (PRAGMA user_version) db_reader_open() accepts. */
enum {
	DB_SCHEMA_OLDEST = 1,  /**< schema/001-snapshot.sql */
	DB_SCHEMA_NEWEST = 4,  /**< schema/004-causes.sql */
};

/** A snapshot database opened for reading. */
struct db_reader;

/** One prepared read-only statement on a struct db_reader. */
struct db_query;

/** The type of a value in a result row. */
enum db_value_type {
	DB_NULL,
	DB_INTEGER,
	DB_FLOAT,
	DB_TEXT,
	DB_BLOB,
};

/**
 * Open the snapshot database @p path read-only.
 *
 * @return NULL on success; an ERR_OS error if the file cannot be opened,
 * an ERR_INPUT error if it is not a gcscope database (no meta table) or
 * its schema version is outside DB_SCHEMA_OLDEST..DB_SCHEMA_NEWEST,
 * an ERR_SQLITE error if SQLite cannot read it.
 */
struct err *db_reader_open(const char *path, struct db_reader **ret);

/** The schema version of @p db (PRAGMA user_version). */
int db_reader_version(const struct db_reader *db);

/** The path @p db was opened from. */
const char *db_reader_path(const struct db_reader *db);

/** Close @p db; NULL is allowed. Its queries must be destroyed first. */
void db_reader_destroy(struct db_reader *db);

/**
 * Prepare @p sql, which must be exactly one statement that does not
 * write (comments and white space around it are allowed).
 *
 * @return NULL on success; an ERR_INPUT error for no statement, more than
 * one, or one that would write; an ERR_SQLITE error if it does not compile.
 */
struct err *db_query_create(struct db_reader *db, const char *sql,
			      struct db_query **ret);

/** Bind parameter @p i (from 1) of @p q. */
void db_query_bind_int64(struct db_query *q, int i, int64_t value);
void db_query_bind_text(struct db_query *q, int i, const char *value);

/**
 * Step @p q to its next row.
 *
 * @param row_ret set to true if there is a row, false at the end.
 * @return NULL on success.
 */
struct err *db_query_step(struct db_query *q, bool *row_ret);

/** Rewind @p q to run it again; the bindings are cleared. */
void db_query_reset(struct db_query *q);

/** The number of result columns of @p q. */
int db_query_columns(struct db_query *q);

/** The name of result column @p i (from 0) of @p q. */
const char *db_query_name(struct db_query *q, int i);

/** The type of column @p i of the current row. */
enum db_value_type db_query_type(struct db_query *q, int i);

/** Column @p i of the current row as an integer (0 for NULL). */
int64_t db_query_int64(struct db_query *q, int i);

/** Column @p i of the current row as a double (0 for NULL). */
double db_query_double(struct db_query *q, int i);

/**
 * Column @p i of the current row as UTF-8 text, valid until the next
 * step; NULL for NULL. Numbers are rendered as SQLite renders them.
 */
const char *db_query_text(struct db_query *q, int i);

/** Column @p i of the current row as bytes; sets @p size_ret. */
const void *db_query_blob(struct db_query *q, int i, size_t *size_ret);

/** Finalize @p q; NULL is allowed. */
void db_query_destroy(struct db_query *q);

#endif /* GCSCOPE_READER_H */
