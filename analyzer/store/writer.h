/* SPDX-License-Identifier: MIT */
/**
 * @file writer.h
 *
 * The database writer. A snapshot is written to a temporary file beside
 * the destination, renamed into place only by db_writer_finish(), so a failed
 * snapshot never leaves a half-written database. SQLite creates the schema
 * and writes the small tables; the objects and edges rows are kept in
 * memory until db_writer_finish(), which writes them and their indexes as
 * B-tree pages (btree.h). Reading a database is reader.h's. Only the
 * store (writer.c, reader.c, btree.c) knows SQLite.
 */
#ifndef GCSCOPE_WRITER_H
#define GCSCOPE_WRITER_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "walk/heap.h"

struct db_writer;

/**
 * Where a database named @p path is written: @p path itself, or the file a
 * symbolic link there leads to, so that the link stays a link. A
 * destination that exists and is not a regular file (a FIFO, a device, a
 * socket, a directory) is refused: renaming over it would replace it.
 *
 * @param[out] final_ret the file to write, malloc'ed
 * @param[out] mode_ret its permission bits if it exists, else (mode_t)-1
 */
struct err *db_destination(const char *path, char **final_ret,
			   mode_t *mode_ret);

/**
 * Start a database that will become @p path.
 *
 * @param schema the schema SQL (schema/NNN-*.sql), with "-- @after-load"
 * separating what runs before and after the bulk load.
 * @return NULL on success.
 */
struct err *db_writer_create(const char *path, const char *schema,
			struct db_writer **ret);

/** Record a meta fact. */
struct err *db_writer_meta(struct db_writer *s, const char *key, const char *value);

/** The heap_consumer callbacks; arg is the writer. */
struct err *db_writer_type(void *arg, const struct heap_type *type);
struct err *db_writer_object(void *arg, const struct heap_object *object);
struct err *db_writer_edge(void *arg, const struct heap_edge *edge);

/** The heap_consumer callback for roots; arg is the writer. */
struct err *db_writer_root(void *arg, const struct heap_root *root);
/** pymalloc's arenas, pools and usage (heap_consumer callbacks). */
struct err *db_writer_arena(void *arg, const struct heap_arena *arena);
struct err *db_writer_pool(void *arg, const struct heap_pool *pool);
struct err *db_writer_usage(void *arg, const struct heap_usage *usage);

/**
 * Record the step of the shortest chain from a root that reaches object
 * @p index (the index-th object reported, as the heap graph numbers them).
 *
 * @param via the referrer one step closer, 0 at a root.
 * @param edge_rowid the edges row of that reference, 0 at a root.
 */
struct err *db_writer_reach(struct db_writer *s, size_t index, uint32_t depth,
			      uint64_t via, uint64_t edge_rowid);

/** Record a garbage object; reason is 'gc.garbage' or 'unreachable'. */
struct err *db_writer_garbage(struct db_writer *s, uint64_t addr, const char *reason,
			 bool finalizer);

/**
 * Record an anomaly; kind is 'deficit', 'unreferenced' or 'excess'; cause
 * names what explains it, NULL for a suspected bug.
 */
struct err *db_writer_anomaly(struct db_writer *s, uint64_t addr, const char *kind,
			 int64_t refcnt, int64_t referrers, const char *detail,
			 const char *cause);

/**
 * Describe into @p buf the holder of a graph_anomaly: conservative root
 * @p root (its label), else conservative edge @p edge (the word of an
 * undecoded object). Either may be HEAP_NONE; buf is "" then.
 */
struct err *db_writer_holder(struct db_writer *s, const struct heap_graph *g,
			     uint32_t root, uint32_t edge, char *buf,
			     size_t size);

/** Record that object @p index is in cycle @p cycle_id (from 1). */
struct err *db_writer_cycle(struct db_writer *s, size_t index, uint32_t cycle_id);

/**
 * Write the objects and edges of @p g (the graph heap_walk() returned to
 * the callbacks that recorded them) with their indexes, and move the
 * database into place.
 *
 * @return NULL on success.
 */
struct err *db_writer_finish(struct db_writer *s, const struct heap_graph *g);

/** Close; removes the temporary file unless db_writer_finish() succeeded. */
void db_writer_destroy(struct db_writer *s);

#endif /* GCSCOPE_WRITER_H */
