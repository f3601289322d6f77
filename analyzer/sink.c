/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink.h"

enum {
	ROWS_PER_TRANSACTION = 1 << 20,
};

struct sink {
	sqlite3 *db;
	char *path;           // the destination
	char *tmp_path;       // written here, renamed at the end
	char *after_load;     // schema statements run by sink_finish()
	sqlite3_stmt *meta, *type, *object, *edge, *cycle;
	uint64_t rows;        // rows in the open transaction
	int finished;         // renamed into place
};

static const char *const edge_kinds[] = {
	[HEAP_EDGE_TRAVERSE] = "traverse",
	[HEAP_EDGE_STRONG] = "strong",
	[HEAP_EDGE_BORROWED] = "borrowed",
	[HEAP_EDGE_CONSERVATIVE] = "conservative",
};

static const char *const statuses[] = {
	[HEAP_OK] = "ok",
	[HEAP_CORRUPT] = "corrupt",
	[HEAP_UNREADABLE] = "unreadable",
};

static struct err *err_sqlite(struct sink *s, const char *what)
{
	return err_create(ERR_SQLITE, "%s '%s': %s", what,
			  s->path ? s->path : "?",
			  s->db ? sqlite3_errmsg(s->db) : "out of memory");
}

static struct err *exec(struct sink *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return err_sqlite(s, "cannot write database");
	return NULL;
}

static struct err *prepare(struct sink *s, const char *sql,
			   sqlite3_stmt **ret)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret,
			       NULL) != SQLITE_OK)
		return err_sqlite(s, "cannot prepare statements for");
	return NULL;
}

/*
 * The schema is the files of schema/ in order, each starting with a line
 * "-- @file NAME". In each file, what stands before its line
 * "-- @after-load" runs before the bulk load, the rest after it.
 */
static struct err *schema_split(const char *schema, char **load_ret,
				char **after_ret)
{
	static const char file_mark[] = "-- @file ";
	static const char after_mark[] = "\n-- @after-load\n";
	size_t len = strlen(schema);
	char *load = calloc(1, len + 1), *after = calloc(1, len + 1);

	if (!load || !after) {
		free(load);
		free(after);
		return &err_nomem;
	}
	for (const char *p = schema; *p;) {
		const char *next = strstr(p + 1, file_mark);

		// A file mark starts a line.
		while (next && next[-1] != '\n')
			next = strstr(next + 1, file_mark);
		size_t flen = next ? (size_t)(next - p) : strlen(p);
		const char *mark = strstr(p, after_mark);

		if (mark && mark < p + flen) {
			strncat(load, p, mark - p);
			strncat(after, mark, p + flen - mark);
		} else {
			strncat(load, p, flen);
		}
		p += flen;
	}
	*load_ret = load;
	*after_ret = after;
	return NULL;
}

struct err *sink_create(const char *path, const char *schema,
			struct sink **ret)
{
	struct err *err;
	struct sink *s = calloc(1, sizeof(*s));

	if (!s)
		return &err_nomem;
	s->path = strdup(path);
	if (!s->path || asprintf(&s->tmp_path, "%s.tmp-%ld", path,
				 (long)getpid()) < 0) {
		s->tmp_path = NULL;
		err = &err_nomem;
		goto out;
	}
	char *load;

	err = schema_split(schema, &load, &s->after_load);
	if (err)
		goto out;
	// One thread writes: no mutexes, no allocation statistics. This only
	// takes effect before SQLite is first initialized in the process.
	sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	unlink(s->tmp_path);
	if (sqlite3_open_v2(s->tmp_path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		err = err_sqlite(s, "cannot create database");
		free(load);
		goto out;
	}
	// A snapshot is written once, by one writer, and only renamed into
	// place when complete: no journal is needed for consistency.
	err = exec(s, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
		      "PRAGMA locking_mode = EXCLUSIVE;"
		      "PRAGMA cache_size = -262144; PRAGMA page_size = 8192;");
	if (!err)
		err = exec(s, load);
	free(load);
	if (err)
		goto out;
	if ((err = prepare(s, "INSERT OR REPLACE INTO meta VALUES (?, ?)",
			   &s->meta)) ||
	    (err = prepare(s, "INSERT OR IGNORE INTO types VALUES "
			      "(?, ?, ?, ?, ?, ?, ?, ?)", &s->type)) ||
	    (err = prepare(s, "INSERT OR IGNORE INTO objects VALUES "
			      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			   &s->object)) ||
	    (err = prepare(s, "INSERT INTO edges VALUES (?, ?, ?, ?)",
			   &s->edge)) ||
	    (err = prepare(s, "INSERT INTO cycles VALUES (?, ?)", &s->cycle)))
		goto out;
	err = exec(s, "BEGIN");
	if (err)
		goto out;
	*ret = s;
	return NULL;

out:
	sink_destroy(s);
	return err;
}

static struct err *step(struct sink *s, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(s, "cannot write database");
	if (++s->rows >= ROWS_PER_TRANSACTION) {
		s->rows = 0;
		return exec(s, "COMMIT; BEGIN");
	}
	return NULL;
}

static void bind_text(sqlite3_stmt *stmt, int i, const char *text)
{
	if (text)
		sqlite3_bind_text(stmt, i, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, i);
}

struct err *sink_meta(struct sink *s, const char *key, const char *value)
{
	bind_text(s->meta, 1, key);
	bind_text(s->meta, 2, value ? value : "");
	return step(s, s->meta);
}

struct err *sink_type(void *arg, const struct heap_type *t)
{
	struct sink *s = arg;

	sqlite3_bind_int64(s->type, 1, t->addr);
	bind_text(s->type, 2, t->name);
	bind_text(s->type, 3, t->module && *t->module ? t->module : NULL);
	sqlite3_bind_int64(s->type, 4, t->basicsize);
	sqlite3_bind_int64(s->type, 5, t->itemsize);
	sqlite3_bind_int64(s->type, 6, t->flags);
	sqlite3_bind_int(s->type, 7, t->heap);
	sqlite3_bind_int(s->type, 8, t->has_finalizer);
	return step(s, s->type);
}

struct err *sink_object(void *arg, const struct heap_object *o)
{
	struct sink *s = arg;

	sqlite3_bind_int64(s->object, 1, o->addr);
	if (o->type_addr && o->type)
		sqlite3_bind_int64(s->object, 2, o->type_addr);
	bind_text(s->object, 3, o->type);
	if (o->status != HEAP_UNREADABLE)
		sqlite3_bind_int64(s->object, 4, o->refcnt);
	if (o->size >= 0)
		sqlite3_bind_int64(s->object, 5, o->size);
	sqlite3_bind_int(s->object, 6, o->gc_tracked);
	if (o->generation >= 0)
		sqlite3_bind_int(s->object, 7, o->generation);
	sqlite3_bind_int(s->object, 8, o->immortal);
	bind_text(s->object, 9, o->repr);
	bind_text(s->object, 10, statuses[o->status]);
	bind_text(s->object, 11, o->detail);
	return step(s, s->object);
}

struct err *sink_edge(void *arg, const struct heap_edge *e)
{
	struct sink *s = arg;

	sqlite3_bind_int64(s->edge, 1, e->src);
	sqlite3_bind_int64(s->edge, 2, e->dst);
	sqlite3_bind_text(s->edge, 3, edge_kinds[e->kind], -1, SQLITE_STATIC);
	bind_text(s->edge, 4, e->label);
	return step(s, s->edge);
}

struct err *sink_cycle(struct sink *s, uint64_t cycle_id, uint64_t addr)
{
	sqlite3_bind_int64(s->cycle, 1, cycle_id);
	sqlite3_bind_int64(s->cycle, 2, addr);
	return step(s, s->cycle);
}

struct err *sink_finish(struct sink *s)
{
	struct err *err;

	err = exec(s, s->after_load);
	if (!err)
		err = exec(s, "COMMIT");
	if (err)
		return err;
	sqlite3_finalize(s->meta);
	sqlite3_finalize(s->type);
	sqlite3_finalize(s->object);
	sqlite3_finalize(s->edge);
	sqlite3_finalize(s->cycle);
	s->meta = s->type = s->object = s->edge = s->cycle = NULL;
	if (sqlite3_close(s->db) != SQLITE_OK)
		return err_sqlite(s, "cannot close database");
	s->db = NULL;
	if (rename(s->tmp_path, s->path) != 0)
		return err_errno("cannot move database into place as '%s'",
				 s->path);
	s->finished = 1;
	return NULL;
}

void sink_destroy(struct sink *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->meta);
	sqlite3_finalize(s->type);
	sqlite3_finalize(s->object);
	sqlite3_finalize(s->edge);
	sqlite3_finalize(s->cycle);
	if (s->db)
		sqlite3_close(s->db);
	if (!s->finished && s->tmp_path)
		unlink(s->tmp_path);
	free(s->after_load);
	free(s->tmp_path);
	free(s->path);
	free(s);
}
