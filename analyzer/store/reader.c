/* SPDX-License-Identifier: MIT */
/*
 * The read-only query API of snapshot databases (reader.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/reader.h"

/*
 * Reading a snapshot: read-only queries.
 *
 * Nothing below writes: the database is opened with SQLITE_OPEN_READONLY
 * and PRAGMA query_only, and every statement must satisfy
 * sqlite3_stmt_readonly() before it runs.
 */

struct db_reader {
	sqlite3 *db;
	char *path;    // as given, for messages
	int version;   // PRAGMA user_version
};

struct db_query {
	struct db_reader *db;
	sqlite3_stmt *stmt;
};

static struct err *err_read(struct db_reader *d, const char *what)
{
	return err_create(ERR_SQLITE, "%s '%s': %s", what, d->path,
			  d->db ? sqlite3_errmsg(d->db) : "out of memory");
}

// SQL quoted in a message: white space runs as one space, at most 60 bytes,
// never cut inside a UTF-8 sequence. The caller frees it.
static char *sql_excerpt(const char *sql)
{
	enum { EXCERPT_MAX = 60 };
	char *out = malloc(EXCERPT_MAX + 4);
	size_t n = 0;
	bool space = false;

	if (!out)
		return NULL;
	while (*sql == ' ' || (*sql >= '\t' && *sql <= '\r'))
		sql++;
	for (; *sql; sql++) {
		unsigned char c = *sql;

		if (c == ' ' || (c >= '\t' && c <= '\r')) {
			space = true;
			continue;
		}
		if (n + space + 1 > EXCERPT_MAX && (c & 0xc0) != 0x80) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		if (space)
			out[n++] = ' ';
		space = false;
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

static struct err *err_statement(const char *problem, const char *sql)
{
	char *excerpt = sql_excerpt(sql);
	struct err *err;

	if (!excerpt)
		return &err_nomem;
	err = err_create(ERR_INPUT, "%s: '%s'", problem, excerpt);
	free(excerpt);
	return err;
}

// One internal statement that yields one integer.
static struct err *read_int(struct db_reader *d, const char *sql, int *ret)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(d->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		goto fail;
	}
	*ret = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return NULL;

fail:
	if (sqlite3_errcode(d->db) == SQLITE_NOTADB)
		return err_hint(err_create(ERR_INPUT,
					   "'%s' is not a gcscope database: "
					   "it is not an SQLite database",
					   d->path),
				"make one with gcscope snapshot");
	return err_read(d, "cannot read database");
}

struct err *db_reader_open(const char *path, struct db_reader **ret)
{
	struct db_reader *d;
	struct err *err;
	struct stat st;
	int has_meta;

	// SQLite says no more than "unable to open database file", and
	// creates nothing when opening read-only: ask the system first.
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return err_errno("cannot open database '%s'", path);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return err_errno("cannot open database '%s'", path);
	}
	close(fd);
	d = calloc(1, sizeof(*d));
	if (!d)
		return &err_nomem;
	d->path = strdup(path);
	if (!d->path) {
		err = &err_nomem;
		goto out;
	}
	if (sqlite3_open_v2(path, &d->db,
			    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		err = err_read(d, "cannot open database");
		goto out;
	}
	if (sqlite3_exec(d->db, "PRAGMA query_only = ON", NULL, NULL,
			 NULL) != SQLITE_OK) {
		err = err_read(d, "cannot open database");
		goto out;
	}
	err = read_int(d, "SELECT count(*) FROM sqlite_master "
			  "WHERE type = 'table' AND name = 'meta'", &has_meta);
	if (!err)
		err = read_int(d, "PRAGMA user_version", &d->version);
	if (err)
		goto out;
	if (!has_meta) {
		err = err_hint(err_create(ERR_INPUT,
					  "'%s' is not a gcscope database: it "
					  "has no meta table (schema version "
					  "%d; this gcscope reads versions %d "
					  "to %d)", path, d->version,
					  DB_SCHEMA_OLDEST,
					  DB_SCHEMA_NEWEST),
			       "make one with gcscope snapshot");
		goto out;
	}
	if (d->version < DB_SCHEMA_OLDEST ||
	    d->version > DB_SCHEMA_NEWEST) {
		err = err_create(ERR_INPUT, "database '%s' has schema version "
				 "%d; this gcscope reads versions %d to %d",
				 path, d->version, DB_SCHEMA_OLDEST,
				 DB_SCHEMA_NEWEST);
		if (d->version > DB_SCHEMA_NEWEST)
			err_hint(err, "read it with the gcscope that wrote "
				      "it, or a newer one");
		else
			err_hint(err, "take the snapshot again");
		goto out;
	}
	*ret = d;
	return NULL;

out:
	db_reader_destroy(d);
	return err;
}

int db_reader_version(const struct db_reader *d)
{
	return d->version;
}

const char *db_reader_path(const struct db_reader *d)
{
	return d->path;
}

void db_reader_destroy(struct db_reader *d)
{
	if (!d)
		return;
	if (d->db)
		sqlite3_close(d->db);
	free(d->path);
	free(d);
}

struct err *db_query_create(struct db_reader *d, const char *sql,
			      struct db_query **ret)
{
	sqlite3_stmt *stmt, *next = NULL;
	const char *tail;
	struct db_query *q;

	if (sqlite3_prepare_v2(d->db, sql, -1, &stmt, &tail) != SQLITE_OK)
		return err_read(d, "cannot query database");
	if (!stmt)
		return err_statement("no SQL statement", sql);
	// What follows must compile to nothing: white space and comments.
	if (sqlite3_prepare_v2(d->db, tail, -1, &next, NULL) != SQLITE_OK ||
	    next) {
		sqlite3_finalize(next);
		sqlite3_finalize(stmt);
		return err_hint(err_statement("more than one SQL statement",
					      sql),
				"run one statement at a time");
	}
	if (!sqlite3_stmt_readonly(stmt)) {
		sqlite3_finalize(stmt);
		return err_hint(err_statement("not a read-only statement", sql),
				"the database is only read, never changed");
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		sqlite3_finalize(stmt);
		return &err_nomem;
	}
	q->db = d;
	q->stmt = stmt;
	*ret = q;
	return NULL;
}

void db_query_bind_int64(struct db_query *q, int i, int64_t value)
{
	sqlite3_bind_int64(q->stmt, i, value);
}

void db_query_bind_text(struct db_query *q, int i, const char *value)
{
	if (value)
		sqlite3_bind_text(q->stmt, i, value, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q->stmt, i);
}

struct err *db_query_step(struct db_query *q, bool *row_ret)
{
	int rc = sqlite3_step(q->stmt);

	if (rc == SQLITE_ROW) {
		*row_ret = true;
		return NULL;
	}
	*row_ret = false;
	if (rc == SQLITE_DONE)
		return NULL;
	return err_read(q->db, "cannot query database");
}

void db_query_reset(struct db_query *q)
{
	sqlite3_reset(q->stmt);
	sqlite3_clear_bindings(q->stmt);
}

int db_query_columns(struct db_query *q)
{
	return sqlite3_column_count(q->stmt);
}

const char *db_query_name(struct db_query *q, int i)
{
	const char *name = sqlite3_column_name(q->stmt, i);

	return name ? name : "?";
}

enum db_value_type db_query_type(struct db_query *q, int i)
{
	switch (sqlite3_column_type(q->stmt, i)) {
	case SQLITE_INTEGER:
		return DB_INTEGER;
	case SQLITE_FLOAT:
		return DB_FLOAT;
	case SQLITE_TEXT:
		return DB_TEXT;
	case SQLITE_BLOB:
		return DB_BLOB;
	default:
		return DB_NULL;
	}
}

int64_t db_query_int64(struct db_query *q, int i)
{
	return sqlite3_column_int64(q->stmt, i);
}

double db_query_double(struct db_query *q, int i)
{
	return sqlite3_column_double(q->stmt, i);
}

const char *db_query_text(struct db_query *q, int i)
{
	return (const char *)sqlite3_column_text(q->stmt, i);
}

const void *db_query_blob(struct db_query *q, int i, size_t *size_ret)
{
	const void *blob = sqlite3_column_blob(q->stmt, i);

	*size_ret = (size_t)sqlite3_column_bytes(q->stmt, i);
	return blob;
}

void db_query_destroy(struct db_query *q)
{
	if (!q)
		return;
	sqlite3_finalize(q->stmt);
	free(q);
}
