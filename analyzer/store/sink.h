/* SPDX-License-Identifier: MIT */
/**
 * @file sink.h
 *
 * The database writer. A snapshot is written to a temporary file beside
 * the destination, renamed into place only by sink_finish(), so a failed
 * snapshot never leaves a half-written database. SQLite creates the schema
 * and writes the small tables; the objects and edges rows are kept in
 * memory until sink_finish(), which writes them and their indexes as
 * B-tree pages (btree.h). Only this module and btree.c know SQLite.
 */
#ifndef GCSCOPE_SINK_H
#define GCSCOPE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "walk/heap.h"

struct sink;

/**
 * Start a database that will become @p path.
 *
 * @param schema the schema SQL (schema/NNN-*.sql), with "-- @after-load"
 * separating what runs before and after the bulk load.
 * @return NULL on success.
 */
struct err *sink_create(const char *path, const char *schema,
			struct sink **ret);

/** Record a meta fact. */
struct err *sink_meta(struct sink *s, const char *key, const char *value);

/** The heap_consumer callbacks; arg is the sink. */
struct err *sink_type(void *arg, const struct heap_type *type);
struct err *sink_object(void *arg, const struct heap_object *object);
struct err *sink_edge(void *arg, const struct heap_edge *edge);

/** The heap_consumer callback for roots; arg is the sink. */
struct err *sink_root(void *arg, const struct heap_root *root);
/** pymalloc's arenas, pools and usage (heap_consumer callbacks). */
struct err *sink_arena(void *arg, const struct heap_arena *arena);
struct err *sink_pool(void *arg, const struct heap_pool *pool);
struct err *sink_usage(void *arg, const struct heap_usage *usage);

/**
 * Record the step of the shortest chain from a root that reaches object
 * @p index (the index-th object reported, as the heap graph numbers them).
 *
 * @param via the referrer one step closer, 0 at a root.
 * @param edge_rowid the edges row of that reference, 0 at a root.
 */
struct err *sink_object_reach(struct sink *s, size_t index, uint32_t depth,
			      uint64_t via, uint64_t edge_rowid);

/** Record a garbage object; reason is 'gc.garbage' or 'unreachable'. */
struct err *sink_garbage(struct sink *s, uint64_t addr, const char *reason,
			 bool finalizer);

/** Record an anomaly; kind is 'deficit', 'unreferenced' or 'excess'. */
struct err *sink_anomaly(struct sink *s, uint64_t addr, const char *kind,
			 int64_t refcnt, int64_t referrers, const char *detail);

/** Record that object @p index is in cycle @p cycle_id (from 1). */
struct err *sink_object_cycle(struct sink *s, size_t index, uint32_t cycle_id);

/**
 * Write the objects and edges of @p g (the graph heap_walk() returned to
 * the callbacks that recorded them) with their indexes, and move the
 * database into place.
 *
 * @return NULL on success.
 */
struct err *sink_finish(struct sink *s, const struct heap_graph *g);

/** Close; removes the temporary file unless sink_finish() succeeded. */
void sink_destroy(struct sink *s);

/*
 * Reading a snapshot: read-only queries.
 *
 * A database is opened read-only (SQLITE_OPEN_READONLY, and PRAGMA
 * query_only), and only after it has been checked to be a gcscope database
 * of a schema version this gcscope knows. A query is exactly one statement
 * that sqlite3_stmt_readonly() says does not write.
 */

/** The schema versions (PRAGMA user_version) sink_db_open() accepts. */
enum {
	SINK_SCHEMA_OLDEST = 1,  /**< schema/001-snapshot.sql */
	SINK_SCHEMA_NEWEST = 3,  /**< schema/003-census.sql */
};

/** A snapshot database opened for reading. */
struct sink_db;

/** One prepared read-only statement on a struct sink_db. */
struct sink_query;

/** The type of a value in a result row. */
enum sink_value_type {
	SINK_NULL,
	SINK_INTEGER,
	SINK_FLOAT,
	SINK_TEXT,
	SINK_BLOB,
};

/**
 * Open the snapshot database @p path read-only.
 *
 * @return NULL on success; an ERR_OS error if the file cannot be opened,
 * an ERR_INPUT error if it is not a gcscope database (no meta table) or
 * its schema version is outside SINK_SCHEMA_OLDEST..SINK_SCHEMA_NEWEST,
 * an ERR_SQLITE error if SQLite cannot read it.
 */
struct err *sink_db_open(const char *path, struct sink_db **ret);

/** The schema version of @p db (PRAGMA user_version). */
int sink_db_version(const struct sink_db *db);

/** The path @p db was opened from. */
const char *sink_db_path(const struct sink_db *db);

/** Close @p db; NULL is allowed. Its queries must be destroyed first. */
void sink_db_destroy(struct sink_db *db);

/**
 * Prepare @p sql, which must be exactly one statement that does not
 * write (comments and white space around it are allowed).
 *
 * @return NULL on success; an ERR_INPUT error for no statement, more than
 * one, or one that would write; an ERR_SQLITE error if it does not compile.
 */
struct err *sink_query_create(struct sink_db *db, const char *sql,
			      struct sink_query **ret);

/** Bind parameter @p i (from 1) of @p q. */
void sink_query_bind_int64(struct sink_query *q, int i, int64_t value);
void sink_query_bind_text(struct sink_query *q, int i, const char *value);

/**
 * Step @p q to its next row.
 *
 * @param row_ret set to true if there is a row, false at the end.
 * @return NULL on success.
 */
struct err *sink_query_step(struct sink_query *q, bool *row_ret);

/** Rewind @p q to run it again; the bindings are cleared. */
void sink_query_reset(struct sink_query *q);

/** The number of result columns of @p q. */
int sink_query_columns(struct sink_query *q);

/** The name of result column @p i (from 0) of @p q. */
const char *sink_query_name(struct sink_query *q, int i);

/** The type of column @p i of the current row. */
enum sink_value_type sink_query_type(struct sink_query *q, int i);

/** Column @p i of the current row as an integer (0 for NULL). */
int64_t sink_query_int64(struct sink_query *q, int i);

/** Column @p i of the current row as a double (0 for NULL). */
double sink_query_double(struct sink_query *q, int i);

/**
 * Column @p i of the current row as UTF-8 text, valid until the next
 * step; NULL for NULL. Numbers are rendered as SQLite renders them.
 */
const char *sink_query_text(struct sink_query *q, int i);

/** Column @p i of the current row as bytes; sets @p size_ret. */
const void *sink_query_blob(struct sink_query *q, int i, size_t *size_ret);

/** Finalize @p q; NULL is allowed. */
void sink_query_destroy(struct sink_query *q);

#endif /* GCSCOPE_SINK_H */
