/* SPDX-License-Identifier: MIT */
/**
 * @file sink.h
 *
 * The SQLite writer. A snapshot is written to a temporary file beside the
 * destination with prepared statements in large transactions; indexes are
 * built after the load, and the file is renamed into place only by
 * sink_finish(), so a failed snapshot never leaves a half-written
 * database. Only this module knows SQLite.
 */
#ifndef GCSCOPE_SINK_H
#define GCSCOPE_SINK_H

#include <stdint.h>

#include "err.h"
#include "heap.h"

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

/** Record that @p addr is a member of cycle @p cycle_id. */
struct err *sink_cycle(struct sink *s, uint64_t cycle_id, uint64_t addr);

/**
 * Build the indexes and views, commit, and move the database into place.
 *
 * @return NULL on success.
 */
struct err *sink_finish(struct sink *s);

/** Close; removes the temporary file unless sink_finish() succeeded. */
void sink_destroy(struct sink *s);

#endif /* GCSCOPE_SINK_H */
