/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink.h"

enum {
	ROWS_PER_TRANSACTION = 1 << 20,
};

/*
 * An objects row, kept until sink_finish() writes them all in address
 * order: appending to the table's B-tree is much cheaper than inserting
 * at random places.
 */
struct object_row {
	uint64_t addr;
	uint64_t type_addr;
	int64_t refcnt;
	int64_t size;          // -1: unknown
	uint64_t type;         // arena offset + 1 of tp_name, 0 for none
	uint64_t repr;         // arena offset + 1, 0 for none
	const char *detail;    // a string constant of the walker, or NULL
	uint64_t via;          // reach: the referrer nearer a root, 0 = none
	uint64_t via_edge;     // reach: its edges rowid, 0 = none
	uint32_t depth;        // reach: UINT32_MAX when no root reaches it
	uint32_t cycle_id;     // 0: in no cycle
	int8_t generation;     // -1: untracked
	uint8_t tracked;
	uint8_t immortal;
	uint8_t status;        // enum heap_status
};

struct sink {
	sqlite3 *db;
	struct object_row *objects;  // buffered objects rows
	size_t nobjects, objects_cap;
	char *arena;                 // their strings
	size_t arena_len, arena_cap;
	struct {
		uint64_t type_addr;  // a type's address, 0 = empty slot
		uint64_t name;       // arena offset + 1 of its name
	} *names;                    // open addressing, type names interned
	size_t names_cap;            // power of two
	char *path;           // the destination
	char *tmp_path;       // written here, renamed at the end
	char *after_load;     // schema statements run by sink_finish()
	sqlite3_stmt *meta, *type, *object, *edge;
	sqlite3_stmt *root, *garbage, *anomaly;
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
		      "PRAGMA cache_size = -65536; PRAGMA page_size = 8192;");
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
			      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			   &s->object)) ||
	    (err = prepare(s, "INSERT INTO edges VALUES (?, ?, ?, ?)",
			   &s->edge)) ||
	    (err = prepare(s, "INSERT INTO roots VALUES (?, ?, ?, ?)",
			   &s->root)) ||
	    (err = prepare(s, "INSERT INTO garbage VALUES (?, ?, ?)",
			   &s->garbage)) ||
	    (err = prepare(s, "INSERT INTO anomalies VALUES (?, ?, ?, ?, ?)",
			   &s->anomaly)))
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

// A copy of text in the arena: its offset + 1, 0 if out of memory.
static uint64_t arena_add(struct sink *s, const char *text)
{
	size_t len = strlen(text) + 1;

	if (s->arena_len + len > s->arena_cap) {
		size_t cap = s->arena_cap ? s->arena_cap * 2 : 1 << 20;

		while (cap < s->arena_len + len)
			cap *= 2;
		char *p = realloc(s->arena, cap);

		if (!p)
			return 0;
		s->arena = p;
		s->arena_cap = cap;
	}
	memcpy(s->arena + s->arena_len, text, len);
	s->arena_len += len;
	return s->arena_len - len + 1;
}

// The interned name of a type, by its address.
static uint64_t type_name(struct sink *s, uint64_t type_addr, const char *name)
{
	// 0 marks free slots: a null ob_type ("<bad type 0x0>") is not kept.
	if (!type_addr)
		return arena_add(s, name);
	if (!s->names_cap) {
		s->names = calloc(1 << 16, sizeof(*s->names));
		if (!s->names)
			return 0;
		s->names_cap = 1 << 16;
	}
	size_t mask = s->names_cap - 1, h = (type_addr >> 3) & mask;

	for (size_t k = 0; k < s->names_cap; k++, h = (h + 1) & mask) {
		if (s->names[h].type_addr == type_addr)
			return s->names[h].name;
		if (!s->names[h].type_addr) {
			s->names[h].type_addr = type_addr;
			s->names[h].name = arena_add(s, name);
			return s->names[h].name;
		}
	}
	return arena_add(s, name); // table full: no interning
}

struct err *sink_object(void *arg, const struct heap_object *o)
{
	struct sink *s = arg;

	if (s->nobjects == s->objects_cap) {
		size_t cap = s->objects_cap ? s->objects_cap * 2 : 1 << 16;
		struct object_row *p = realloc(s->objects, cap * sizeof(*p));

		if (!p)
			return &err_nomem;
		s->objects = p;
		s->objects_cap = cap;
	}
	struct object_row *r = &s->objects[s->nobjects++];

	*r = (struct object_row){
		.addr = o->addr,
		.type_addr = o->type_addr,
		.refcnt = o->refcnt,
		.size = o->size,
		.type = o->type ? type_name(s, o->type_addr, o->type) : 0,
		.repr = o->repr ? arena_add(s, o->repr) : 0,
		.detail = o->detail,
		.depth = UINT32_MAX,
		.generation = o->generation,
		.tracked = o->gc_tracked,
		.immortal = o->immortal,
		.status = o->status,
	};
	if ((o->type && !r->type) || (o->repr && !r->repr))
		return &err_nomem;
	return NULL;
}

static int object_row_cmp(const void *a, const void *b)
{
	const struct object_row *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static struct err *write_objects(struct sink *s)
{
	struct err *err = NULL;

	if (s->nobjects)
		qsort(s->objects, s->nobjects, sizeof(*s->objects),
		      object_row_cmp);
	for (size_t i = 0; i < s->nobjects && !err; i++) {
		const struct object_row *r = &s->objects[i];
		sqlite3_stmt *st = s->object;

		sqlite3_bind_int64(st, 1, r->addr);
		if (r->type_addr && r->type)
			sqlite3_bind_int64(st, 2, r->type_addr);
		if (r->type)
			sqlite3_bind_text(st, 3, s->arena + r->type - 1, -1,
					  SQLITE_STATIC);
		if (r->status != HEAP_UNREADABLE)
			sqlite3_bind_int64(st, 4, r->refcnt);
		if (r->size >= 0)
			sqlite3_bind_int64(st, 5, r->size);
		sqlite3_bind_int(st, 6, r->tracked);
		if (r->generation >= 0)
			sqlite3_bind_int(st, 7, r->generation);
		sqlite3_bind_int(st, 8, r->immortal);
		if (r->repr)
			sqlite3_bind_text(st, 9, s->arena + r->repr - 1, -1,
					  SQLITE_STATIC);
		bind_text(st, 10, statuses[r->status]);
		bind_text(st, 11, r->detail);
		if (r->cycle_id)
			sqlite3_bind_int64(st, 12, r->cycle_id);
		if (r->depth != UINT32_MAX)
			sqlite3_bind_int64(st, 13, r->depth);
		if (r->via)
			sqlite3_bind_int64(st, 14, r->via);
		if (r->via_edge)
			sqlite3_bind_int64(st, 15, r->via_edge);
		err = step(s, st);
	}
	free(s->objects);
	s->objects = NULL;
	s->nobjects = s->objects_cap = 0;
	return err;
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

static const char *const root_kinds[] = {
	[HEAP_ROOT_FRAME] = "frame",
	[HEAP_ROOT_THREAD] = "thread",
	[HEAP_ROOT_INTERPRETER] = "interpreter",
	[HEAP_ROOT_INTERNED] = "interned",
	[HEAP_ROOT_GC] = "gc",
	[HEAP_ROOT_STATIC_TYPE] = "static_type",
};

struct err *sink_root(void *arg, const struct heap_root *r)
{
	struct sink *s = arg;

	sqlite3_bind_int64(s->root, 1, r->addr);
	sqlite3_bind_text(s->root, 2, root_kinds[r->kind], -1, SQLITE_STATIC);
	bind_text(s->root, 3, r->label ? r->label : "?");
	sqlite3_bind_int(s->root, 4, r->conservative);
	return step(s, s->root);
}

struct err *sink_object_reach(struct sink *s, size_t index, uint32_t depth,
			      uint64_t via, uint64_t edge_rowid)
{
	if (index >= s->nobjects)
		return err_create(ERR_SQLITE, "no object %zu to record a path "
				  "for", index);
	s->objects[index].depth = depth;
	s->objects[index].via = via;
	s->objects[index].via_edge = edge_rowid;
	return NULL;
}

struct err *sink_garbage(struct sink *s, uint64_t addr, const char *reason,
			 bool finalizer)
{
	sqlite3_bind_int64(s->garbage, 1, addr);
	sqlite3_bind_text(s->garbage, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int(s->garbage, 3, finalizer);
	return step(s, s->garbage);
}

struct err *sink_anomaly(struct sink *s, uint64_t addr, const char *kind,
			 int64_t refcnt, int64_t referrers, const char *detail)
{
	sqlite3_bind_int64(s->anomaly, 1, addr);
	sqlite3_bind_text(s->anomaly, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->anomaly, 3, refcnt);
	sqlite3_bind_int64(s->anomaly, 4, referrers);
	bind_text(s->anomaly, 5, detail);
	return step(s, s->anomaly);
}

struct err *sink_object_cycle(struct sink *s, size_t index, uint32_t cycle_id)
{
	if (index >= s->nobjects)
		return err_create(ERR_SQLITE, "no object %zu to record a cycle "
				  "for", index);
	s->objects[index].cycle_id = cycle_id;
	return NULL;
}

static void finalize_statements(struct sink *s)
{
	sqlite3_stmt **stmts[] = {
		&s->meta, &s->type, &s->object, &s->edge,
		&s->root, &s->garbage, &s->anomaly,
	};

	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_finalize(*stmts[i]);
		*stmts[i] = NULL;
	}
}

struct err *sink_finish(struct sink *s)
{
	struct err *err;

	err = write_objects(s);
	if (!err)
		err = exec(s, s->after_load);
	if (!err)
		err = exec(s, "COMMIT");
	if (err)
		return err;
	finalize_statements(s);
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
	finalize_statements(s);
	free(s->objects);
	free(s->arena);
	free(s->names);
	if (s->db)
		sqlite3_close(s->db);
	if (!s->finished && s->tmp_path)
		unlink(s->tmp_path);
	free(s->after_load);
	free(s->tmp_path);
	free(s->path);
	free(s);
}

/*
 * Reading a snapshot: read-only queries.
 *
 * Nothing below writes: the database is opened with SQLITE_OPEN_READONLY
 * and PRAGMA query_only, and every statement must satisfy
 * sqlite3_stmt_readonly() before it runs.
 */

struct sink_db {
	sqlite3 *db;
	char *path;    // as given, for messages
	int version;   // PRAGMA user_version
};

struct sink_query {
	struct sink_db *db;
	sqlite3_stmt *stmt;
};

static struct err *err_read(struct sink_db *d, const char *what)
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
static struct err *read_int(struct sink_db *d, const char *sql, int *ret)
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

struct err *sink_db_open(const char *path, struct sink_db **ret)
{
	struct sink_db *d;
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
					  SINK_SCHEMA_OLDEST,
					  SINK_SCHEMA_NEWEST),
			       "make one with gcscope snapshot");
		goto out;
	}
	if (d->version < SINK_SCHEMA_OLDEST ||
	    d->version > SINK_SCHEMA_NEWEST) {
		err = err_create(ERR_INPUT, "database '%s' has schema version "
				 "%d; this gcscope reads versions %d to %d",
				 path, d->version, SINK_SCHEMA_OLDEST,
				 SINK_SCHEMA_NEWEST);
		if (d->version > SINK_SCHEMA_NEWEST)
			err_hint(err, "read it with the gcscope that wrote "
				      "it, or a newer one");
		else
			err_hint(err, "take the snapshot again");
		goto out;
	}
	*ret = d;
	return NULL;

out:
	sink_db_destroy(d);
	return err;
}

int sink_db_version(const struct sink_db *d)
{
	return d->version;
}

const char *sink_db_path(const struct sink_db *d)
{
	return d->path;
}

void sink_db_destroy(struct sink_db *d)
{
	if (!d)
		return;
	if (d->db)
		sqlite3_close(d->db);
	free(d->path);
	free(d);
}

struct err *sink_query_create(struct sink_db *d, const char *sql,
			      struct sink_query **ret)
{
	sqlite3_stmt *stmt, *next = NULL;
	const char *tail;
	struct sink_query *q;

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

void sink_query_bind_int64(struct sink_query *q, int i, int64_t value)
{
	sqlite3_bind_int64(q->stmt, i, value);
}

void sink_query_bind_text(struct sink_query *q, int i, const char *value)
{
	if (value)
		sqlite3_bind_text(q->stmt, i, value, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q->stmt, i);
}

struct err *sink_query_step(struct sink_query *q, bool *row_ret)
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

void sink_query_reset(struct sink_query *q)
{
	sqlite3_reset(q->stmt);
	sqlite3_clear_bindings(q->stmt);
}

int sink_query_columns(struct sink_query *q)
{
	return sqlite3_column_count(q->stmt);
}

const char *sink_query_name(struct sink_query *q, int i)
{
	const char *name = sqlite3_column_name(q->stmt, i);

	return name ? name : "?";
}

enum sink_value_type sink_query_type(struct sink_query *q, int i)
{
	switch (sqlite3_column_type(q->stmt, i)) {
	case SQLITE_INTEGER:
		return SINK_INTEGER;
	case SQLITE_FLOAT:
		return SINK_FLOAT;
	case SQLITE_TEXT:
		return SINK_TEXT;
	case SQLITE_BLOB:
		return SINK_BLOB;
	default:
		return SINK_NULL;
	}
}

int64_t sink_query_int64(struct sink_query *q, int i)
{
	return sqlite3_column_int64(q->stmt, i);
}

double sink_query_double(struct sink_query *q, int i)
{
	return sqlite3_column_double(q->stmt, i);
}

const char *sink_query_text(struct sink_query *q, int i)
{
	return (const char *)sqlite3_column_text(q->stmt, i);
}

const void *sink_query_blob(struct sink_query *q, int i, size_t *size_ret)
{
	const void *blob = sqlite3_column_blob(q->stmt, i);

	*size_ret = (size_t)sqlite3_column_bytes(q->stmt, i);
	return blob;
}

void sink_query_destroy(struct sink_query *q)
{
	if (!q)
		return;
	sqlite3_finalize(q->stmt);
	free(q);
}
