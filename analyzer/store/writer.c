/* SPDX-License-Identifier: MIT */
/*
 * The database writer (writer.h).
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

#include "store/btree.h"
#include "util/mem.h"
#include "store/writer.h"

enum {
	ROWS_PER_TRANSACTION = 1 << 20,
};

/*
 * The two big tables, objects and edges, and their indexes are not
 * inserted through SQLite: their rows are kept until db_writer_finish(), which
 * sorts them and writes their B-tree pages directly (btree.h), ten times
 * faster than a million-row INSERT and CREATE INDEX. Everything else goes
 * through SQLite.
 *
 * An objects row, kept until db_writer_finish(). Row i is node i of the heap
 * graph: the i-th object reported.
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
	int8_t generation;     // -1: untracked or unknown
	int8_t tracked;        // -1: unknown
	uint8_t immortal;
	uint8_t status;        // enum heap_status
	uint8_t found;         // enum heap_found
};

struct db_writer {
	sqlite3 *db;
	struct object_row *objects;  // buffered objects rows
	size_t nobjects, objects_cap;
	char *arena;                 // their strings
	size_t arena_len, arena_cap;
	struct {
		uint64_t type_addr;  // a type's address, 0 = empty slot
		uint64_t name;       // arena offset + 1 of its name
	} *names;                    // open addressing, type names interned
	size_t names_cap, nnames;    // power of two; types interned
	uint32_t *edge_labels;       // [nedges] label offset + 1 in labels
	size_t nedges, edges_cap;
	char *labels;                // the labels of edges, interned
	size_t labels_len, labels_cap;
	uint32_t *label_ht;          // open addressing: offset + 1 in labels
	size_t label_ht_cap, nlabel;  // power of two; labels interned
	char *path;           // the destination
	char *tmp_path;       // written here, renamed at the end
	mode_t mode;          // the replaced file's permissions, or -1
	char *after_load;     // schema statements run by db_writer_finish()
	sqlite3_stmt *meta, *type;
	sqlite3_stmt *root, *garbage, *anomaly, *root_label;
	sqlite3_stmt *arena_row, *pool_row, *usage_row;
	uint64_t rows;        // rows in the open transaction
	int finished;         // renamed into place
};

static const char *const edge_kinds[] = {
	[HEAP_EDGE_TRAVERSE] = "traverse",
	[HEAP_EDGE_STRONG] = "strong",
	[HEAP_EDGE_BORROWED] = "borrowed",
	[HEAP_EDGE_CONSERVATIVE] = "conservative",
	[HEAP_EDGE_VISITED] = "traverse",
};

static const char *const found_names[] = {
	[HEAP_FOUND_GC] = "gc",
	[HEAP_FOUND_REFERENT] = "referent",
	[HEAP_FOUND_ARENA] = "arena",
};

static const char *const statuses[] = {
	[HEAP_OK] = "ok",
	[HEAP_CORRUPT] = "corrupt",
	[HEAP_UNREADABLE] = "unreadable",
	[HEAP_PARTIAL] = "partial",
};

static struct err *err_sqlite(struct db_writer *s, const char *what)
{
	return err_create(ERR_SQLITE, "%s '%s': %s", what,
			  s->path ? s->path : "?",
			  s->db ? sqlite3_errmsg(s->db) : "out of memory");
}

static struct err *exec(struct db_writer *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return err_sqlite(s, "cannot write database");
	return NULL;
}

static struct err *prepare(struct db_writer *s, const char *sql,
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

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

struct err *db_destination(const char *path, char **final_ret,
			   mode_t *mode_ret)
{
	// As many links as the kernel follows in one path (MAXSYMLINKS).
	enum { MAX_LINKS = 40 };
	char *cur = strdup(path);
	struct err *err = NULL;

	*final_ret = NULL;
	*mode_ret = (mode_t)-1;
	if (!cur)
		return &err_nomem;
	for (int links = 0;; links++) {
		struct stat st;

		if (lstat(cur, &st) != 0) {
			if (errno == ENOENT)
				break;
			err = err_errno("cannot check the database path '%s'",
					cur);
			goto out;
		}
		if (S_ISREG(st.st_mode)) {
			*mode_ret = st.st_mode & 07777;
			break;
		}
		if (!S_ISLNK(st.st_mode)) {
			err = err_hint(err_create(ERR_INPUT,
				"the database path '%s' is %s", cur,
				file_kind(st.st_mode)),
				"name a new or regular file with --db");
			goto out;
		}
		if (links >= MAX_LINKS) {
			err = err_create(ERR_INPUT,
				"the database path '%s' has too many "
				"symbolic links", path);
			goto out;
		}
		// Follow the link: its text, relative to the link's folder.
		char target[4096];
		ssize_t n = readlink(cur, target, sizeof(target) - 1);
		char *next;

		if (n < 0) {
			err = err_errno("cannot read the link '%s'", cur);
			goto out;
		}
		if ((size_t)n >= sizeof(target) - 1) {
			err = err_create(ERR_INPUT, "the link '%s' is too long",
					 cur);
			goto out;
		}
		target[n] = '\0';
		const char *slash = strrchr(cur, '/');

		if (target[0] == '/' || !slash)
			next = strdup(target);
		else if (asprintf(&next, "%.*s/%s", (int)(slash - cur), cur,
				  target) < 0)
			next = NULL;
		if (!next) {
			err = &err_nomem;
			goto out;
		}
		free(cur);
		cur = next;
	}
out:
	if (err) {
		free(cur);
		return err;
	}
	*final_ret = cur;
	return NULL;
}

struct err *db_writer_create(const char *path, const char *schema,
			struct db_writer **ret)
{
	struct err *err;
	struct db_writer *s = calloc(1, sizeof(*s));

	if (!s)
		return &err_nomem;
	err = db_destination(path, &s->path, &s->mode);
	if (err)
		goto out;
	if (asprintf(&s->tmp_path, "%s.tmp-%ld", s->path,
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
		      "PRAGMA locking_mode = EXCLUSIVE; PRAGMA auto_vacuum = NONE;"
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
	    (err = prepare(s, "INSERT INTO roots VALUES (?, ?, ?, ?)",
			   &s->root)) ||
	    (err = prepare(s, "INSERT INTO garbage VALUES (?, ?, ?)",
			   &s->garbage)) ||
	    (err = prepare(s, "INSERT INTO anomalies VALUES "
			      "(?, ?, ?, ?, ?, ?)", &s->anomaly)) ||
	    (err = prepare(s, "SELECT label FROM roots WHERE rowid = ?",
			   &s->root_label)) ||
	    (err = prepare(s, "INSERT INTO pymalloc_arenas VALUES "
			      "(?, ?, ?, ?, ?)", &s->arena_row)) ||
	    (err = prepare(s, "INSERT INTO pymalloc_pools VALUES "
			      "(?, ?, ?, ?, ?, ?, ?, ?)", &s->pool_row)) ||
	    (err = prepare(s, "INSERT INTO pymalloc_usage VALUES "
			      "(?, ?, ?, ?, ?, ?)", &s->usage_row)))
		goto out;
	err = exec(s, "BEGIN");
	if (err)
		goto out;
	*ret = s;
	return NULL;

out:
	db_writer_destroy(s);
	return err;
}

static struct err *step(struct db_writer *s, sqlite3_stmt *stmt)
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

struct err *db_writer_meta(struct db_writer *s, const char *key, const char *value)
{
	bind_text(s->meta, 1, key);
	bind_text(s->meta, 2, value ? value : "");
	return step(s, s->meta);
}

struct err *db_writer_type(void *arg, const struct heap_type *t)
{
	struct db_writer *s = arg;

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
static uint64_t arena_add(struct db_writer *s, const char *text)
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
static size_t names_slot(const struct db_writer *s, uint64_t type_addr)
{
	return mem_hash_addr(type_addr) & (s->names_cap - 1);
}

// Type names are interned by type address; the table grows at half full.
static bool names_grow(struct db_writer *s)
{
	size_t old_cap = s->names_cap, cap = old_cap ? 2 * old_cap : 1 << 10;
	__typeof__(s->names) old = s->names;

	s->names = calloc(cap, sizeof(*s->names));
	if (!s->names) {
		s->names = old;
		return false;
	}
	s->names_cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].type_addr)
			continue;
		size_t h = names_slot(s, old[i].type_addr);

		while (s->names[h].type_addr)
			h = (h + 1) & (cap - 1);
		s->names[h] = old[i];
	}
	free(old);
	return true;
}

// The interned name of a type, by its address; 0 if out of memory.
static uint64_t type_name(struct db_writer *s, uint64_t type_addr, const char *name)
{
	// 0 marks free slots: a null ob_type ("<bad type 0x0>") is not kept.
	if (!type_addr)
		return arena_add(s, name);
	if ((s->nnames + 1) * 2 > s->names_cap && !names_grow(s))
		return 0;
	size_t h = names_slot(s, type_addr);

	for (; s->names[h].type_addr; h = (h + 1) & (s->names_cap - 1)) {
		if (s->names[h].type_addr == type_addr)
			return s->names[h].name;
	}
	s->names[h].type_addr = type_addr;
	s->names[h].name = arena_add(s, name);
	s->nnames++;
	return s->names[h].name;
}

struct err *db_writer_object(void *arg, const struct heap_object *o)
{
	struct db_writer *s = arg;

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
		.found = o->found,
	};
	if ((o->type && !r->type) || (o->repr && !r->repr))
		return &err_nomem;
	return NULL;
}

static uint64_t hash_label(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

static struct err *label_ht_grow(struct db_writer *s)
{
	size_t cap = s->label_ht_cap ? 2 * s->label_ht_cap : 1 << 12;
	uint32_t *ht = calloc(cap, sizeof(*ht));

	if (!ht)
		return &err_nomem;
	for (size_t i = 0; i < s->label_ht_cap; i++) {
		uint32_t off = s->label_ht[i];

		if (!off)
			continue;
		const char *l = s->labels + off - 1;
		size_t h = hash_label(l, strlen(l)) & (cap - 1);

		while (ht[h])
			h = (h + 1) & (cap - 1);
		ht[h] = off;
	}
	free(s->label_ht);
	s->label_ht = ht;
	s->label_ht_cap = cap;
	return NULL;
}

// The interned copy of label: its offset + 1 in s->labels; 0 on error.
static uint32_t label_intern(struct db_writer *s, const char *label,
			     struct err **err)
{
	size_t len = strlen(label);

	if ((s->nlabel + 1) * 2 > s->label_ht_cap &&
	    (*err = label_ht_grow(s)))
		return 0;
	size_t mask = s->label_ht_cap - 1, h = hash_label(label, len) & mask;

	for (; s->label_ht[h]; h = (h + 1) & mask) {
		const char *l = s->labels + s->label_ht[h] - 1;

		if (!strcmp(l, label))
			return s->label_ht[h];
	}
	if (s->labels_len + len + 1 > UINT32_MAX - 1) {
		*err = err_create(ERR_SQLITE, "more than 4 GB of reference "
				  "labels");
		return 0;
	}
	if (s->labels_len + len + 1 > s->labels_cap) {
		size_t cap = s->labels_cap ? 2 * s->labels_cap : 1 << 16;

		while (cap < s->labels_len + len + 1)
			cap *= 2;
		char *p = realloc(s->labels, cap);

		if (!p) {
			*err = &err_nomem;
			return 0;
		}
		s->labels = p;
		s->labels_cap = cap;
	}
	memcpy(s->labels + s->labels_len, label, len + 1);
	s->label_ht[h] = s->labels_len + 1;
	s->labels_len += len + 1;
	s->nlabel++;
	return s->label_ht[h];
}

struct err *db_writer_edge(void *arg, const struct heap_edge *e)
{
	struct db_writer *s = arg;
	struct err *err = NULL;
	uint32_t label = 0;

	if (s->nedges == s->edges_cap) {
		size_t cap = s->edges_cap ? 2 * s->edges_cap : 1 << 16;
		uint32_t *p = realloc(s->edge_labels, cap * sizeof(*p));

		if (!p)
			return &err_nomem;
		s->edge_labels = p;
		s->edges_cap = cap;
	}
	if (e->label && !(label = label_intern(s, e->label, &err)))
		return err;
	s->edge_labels[s->nedges++] = label;
	return NULL;
}

static const char *const root_kinds[] = {
	[HEAP_ROOT_FRAME] = "frame",
	[HEAP_ROOT_THREAD] = "thread",
	[HEAP_ROOT_INTERPRETER] = "interpreter",
	[HEAP_ROOT_INTERNED] = "interned",
	[HEAP_ROOT_GC] = "gc",
	[HEAP_ROOT_STATIC_TYPE] = "static_type",
};

struct err *db_writer_root(void *arg, const struct heap_root *r)
{
	struct db_writer *s = arg;

	sqlite3_bind_int64(s->root, 1, r->addr);
	sqlite3_bind_text(s->root, 2, root_kinds[r->kind], -1, SQLITE_STATIC);
	bind_text(s->root, 3, r->label ? r->label : "?");
	sqlite3_bind_int(s->root, 4, r->conservative);
	return step(s, s->root);
}

struct err *db_writer_reach(struct db_writer *s, size_t index, uint32_t depth,
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

struct err *db_writer_garbage(struct db_writer *s, uint64_t addr, const char *reason,
			 bool finalizer)
{
	sqlite3_bind_int64(s->garbage, 1, addr);
	sqlite3_bind_text(s->garbage, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int(s->garbage, 3, finalizer);
	return step(s, s->garbage);
}

struct err *db_writer_anomaly(struct db_writer *s, uint64_t addr, const char *kind,
			 int64_t refcnt, int64_t referrers, const char *detail,
			 const char *cause)
{
	sqlite3_bind_int64(s->anomaly, 1, addr);
	sqlite3_bind_text(s->anomaly, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->anomaly, 3, refcnt);
	sqlite3_bind_int64(s->anomaly, 4, referrers);
	bind_text(s->anomaly, 5, detail);
	bind_text(s->anomaly, 6, cause);
	return step(s, s->anomaly);
}

struct err *db_writer_holder(struct db_writer *s, const struct heap_graph *g,
			     uint32_t root, uint32_t edge, char *buf,
			     size_t size)
{
	buf[0] = 0;
	if (root != HEAP_NONE) {
		// Roots are rows as they were reported: root r is row r + 1.
		sqlite3_bind_int64(s->root_label, 1, (int64_t)root + 1);
		int rc = sqlite3_step(s->root_label);

		if (rc == SQLITE_ROW)
			snprintf(buf, size, "%s",
				 (const char *)sqlite3_column_text(
					 s->root_label, 0));
		sqlite3_reset(s->root_label);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return err_sqlite(s, "cannot read the roots of");
		return NULL;
	}
	if (edge != HEAP_NONE && edge < s->nedges &&
	    g->src[edge] < s->nobjects) {
		const struct object_row *o = &s->objects[g->src[edge]];
		uint32_t label = s->edge_labels[edge];

		snprintf(buf, size, "a word (%s) of %s at 0x%" PRIx64 ", "
			 "scanned conservatively",
			 label ? s->labels + label - 1 : "?",
			 o->type ? s->arena + o->type - 1 : "?", o->addr);
	}
	return NULL;
}

struct err *db_writer_arena(void *arg, const struct heap_arena *a)
{
	struct db_writer *s = arg;

	sqlite3_bind_int64(s->arena_row, 1, a->addr);
	sqlite3_bind_int64(s->arena_row, 2, a->size);
	sqlite3_bind_int64(s->arena_row, 3, a->pools);
	sqlite3_bind_int64(s->arena_row, 4, a->free_pools);
	sqlite3_bind_int64(s->arena_row, 5, a->used_pools);
	return step(s, s->arena_row);
}

struct err *db_writer_pool(void *arg, const struct heap_pool *p)
{
	struct db_writer *s = arg;

	sqlite3_bind_int64(s->pool_row, 1, p->addr);
	sqlite3_bind_int64(s->pool_row, 2, p->arena);
	sqlite3_bind_int64(s->pool_row, 3, p->block_size);
	sqlite3_bind_int64(s->pool_row, 4, p->capacity);
	sqlite3_bind_int64(s->pool_row, 5, p->used);
	sqlite3_bind_int64(s->pool_row, 6, p->objects);
	sqlite3_bind_int64(s->pool_row, 7, p->buffers);
	sqlite3_bind_int(s->pool_row, 8, p->bad);
	return step(s, s->pool_row);
}

struct err *db_writer_usage(void *arg, const struct heap_usage *u)
{
	struct db_writer *s = arg;

	sqlite3_bind_int64(s->usage_row, 1, u->block_size);
	sqlite3_bind_text(s->usage_row, 2, u->buffer ? "buffer" : "object",
			  -1, SQLITE_STATIC);
	if (u->type_addr)
		sqlite3_bind_int64(s->usage_row, 3, u->type_addr);
	else
		sqlite3_bind_null(s->usage_row, 3);
	bind_text(s->usage_row, 4, u->type);
	sqlite3_bind_int64(s->usage_row, 5, u->blocks);
	sqlite3_bind_int64(s->usage_row, 6, u->arena_found);
	return step(s, s->usage_row);
}

struct err *db_writer_cycle(struct db_writer *s, size_t index, uint32_t cycle_id)
{
	if (index >= s->nobjects)
		return err_create(ERR_SQLITE, "no object %zu to record a cycle "
				  "for", index);
	s->objects[index].cycle_id = cycle_id;
	return NULL;
}

/* ---- the bulk tables, written as B-tree pages -------------------------- */

// A stable counting sort: the indexes i < n whose key is not UINT32_MAX,
// ordered by key (< nkeys), in *ret (free() it), their number in *nret.
static struct err *counting_sort(size_t n, size_t nkeys,
				 uint32_t (*key)(const void *, size_t),
				 const void *arg, uint32_t **ret, size_t *nret)
{
	size_t *start = calloc(nkeys + 1, sizeof(*start)), m = 0;
	uint32_t *out;

	if (!start)
		return &err_nomem;
	mem_huge(start, (nkeys + 1) * sizeof(*start));
	for (size_t i = 0; i < n; i++) {
		uint32_t k = key(arg, i);

		if (k != UINT32_MAX)
			start[k + 1]++;
	}
	for (size_t k = 0; k < nkeys; k++)
		start[k + 1] += start[k];
	m = start[nkeys];
	out = malloc((m ? m : 1) * sizeof(*out));
	if (!out) {
		free(start);
		return &err_nomem;
	}
	mem_huge(out, m * sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		uint32_t k = key(arg, i);

		if (k != UINT32_MAX)
			out[start[k]++] = i;
	}
	free(start);
	*ret = out;
	*nret = m;
	return NULL;
}

// What the bulk writer works from.
struct bulk {
	struct db_writer *s;
	const struct heap_graph *g;
	struct btree_file *f;
	uint32_t *order;       // [nobjects] rows (= nodes) by address
	uint32_t *rank;        // [nnodes] the node's position in order
	uint64_t *type_addrs;  // sorted distinct objects.type_addr values
	size_t ntype_addrs;
	// By position in order: what the objects indexes need, read once.
	uint32_t *type_keys;   // rank + 1 of type_addr in type_addrs, 0 = NULL
	uint64_t *addrs;       // addr
	uint32_t *cycles;      // cycle_id
	const uint32_t *perm;  // the entries of the index being written
	bool by_dst;           // edges: by dst, else by src
};

static bool row_has_type(const struct object_row *r)
{
	return r->type_addr && r->type;
}

static size_t int_pair(const struct bulk *b, int64_t x, bool null,
		       int64_t rowid, unsigned char *buf, size_t cap)
{
	struct btree_value v[2] = {
		{ .type = null ? BTREE_NULL : BTREE_INT, .i = x },
		{ .type = BTREE_INT, .i = rowid },
	};

	return btree_record(b->f, v, 2, buf, cap);
}

static uint32_t edge_key(const void *arg, size_t e)
{
	const struct bulk *b = arg;

	return b->rank[b->by_dst ? b->g->dst[e] : b->g->src[e]];
}

static size_t edge_entry(void *arg, size_t i, unsigned char *buf, size_t cap)
{
	const struct bulk *b = arg;
	uint32_t e = b->perm[i];
	uint32_t node = b->by_dst ? b->g->dst[e] : b->g->src[e];

	return int_pair(b, b->g->nodes[node].addr, false, (int64_t)e + 1, buf,
			cap);
}

// SQLite orders integers as signed 64-bit numbers: addresses too.
static int addr_cmp(const void *a, const void *b)
{
	int64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

// objects_type orders NULL first, then by type_addr: the key is the rank
// of the type address + 1, or 0.
static uint32_t type_key(const void *arg, size_t i)
{
	return ((const struct bulk *)arg)->type_keys[i];
}

static size_t type_entry(void *arg, size_t i, unsigned char *buf, size_t cap)
{
	const struct bulk *b = arg;
	uint32_t pos = b->perm[i], key = b->type_keys[pos];

	return int_pair(b, key ? b->type_addrs[key - 1] : 0, !key,
			b->addrs[pos], buf, cap);
}

static uint32_t cycle_key(const void *arg, size_t i)
{
	const struct bulk *b = arg;

	return b->cycles[i] ? b->cycles[i] - 1 : UINT32_MAX;
}

static size_t cycle_entry(void *arg, size_t i, unsigned char *buf, size_t cap)
{
	const struct bulk *b = arg;
	uint32_t pos = b->perm[i];

	return int_pair(b, b->cycles[pos], false, b->addrs[pos], buf, cap);
}

static struct btree_value text_value(const char *text)
{
	if (!text)
		return (struct btree_value){ .type = BTREE_NULL };
	return (struct btree_value){ .type = BTREE_TEXT, .s = text,
				     .n = strlen(text) };
}

static struct btree_value int_value(int64_t i)
{
	return (struct btree_value){ .type = BTREE_INT, .i = i };
}

static const struct btree_value null_value = { .type = BTREE_NULL };

/*
 * The columns of row i of a bulk table into v (at most 16), their number
 * returned; 0 skips the row.
 */
typedef size_t row_fn(const struct bulk *b, size_t i, struct btree_value *v,
		      int64_t *rowid);

// Write a table of n rows, in rowid order, whose root page is root.
static struct err *write_table(struct bulk *b, uint32_t root, size_t n,
			       row_fn *row)
{
	struct btree_table *t;
	size_t cap = 1024;
	unsigned char *buf = malloc(cap);
	struct err *err;

	if (!buf)
		return &err_nomem;
	err = btree_table_begin(b->f, root, &t);
	if (err) {
		free(buf);
		return err;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct btree_value v[24];
		int64_t rowid;
		size_t nv = row(b, i, v, &rowid), len;

		if (!nv)
			continue;
		len = btree_record(b->f, v, nv, buf, cap);
		if (len > cap) {
			unsigned char *p = realloc(buf, len);

			if (!p) {
				err = &err_nomem;
				break;
			}
			buf = p;
			cap = len;
			btree_record(b->f, v, nv, buf, cap);
		}
		err = btree_table_add(t, rowid, buf, len);
	}
	struct err *e = btree_table_finish(t);

	free(buf);
	return err ? err : e;
}

// objects: the columns in order; addr is the rowid.
static size_t object_columns(const struct bulk *b, size_t i,
			     struct btree_value *v, int64_t *rowid)
{
	const struct db_writer *s = b->s;
	const struct object_row *r = &s->objects[b->order[i]];
	size_t n = 0;

	if (i + 8 < s->nobjects)
		__builtin_prefetch(&s->objects[b->order[i + 8]]);
	if (i && r->addr == b->addrs[i - 1])
		return 0;  // reported twice: the first one stays
	*rowid = r->addr;
	v[n++] = null_value;
	v[n++] = row_has_type(r) ? int_value(r->type_addr) : null_value;
	v[n++] = text_value(r->type ? s->arena + r->type - 1 : NULL);
	v[n++] = r->status != HEAP_UNREADABLE ? int_value(r->refcnt) :
						null_value;
	v[n++] = r->size >= 0 ? int_value(r->size) : null_value;
	v[n++] = r->tracked >= 0 ? int_value(r->tracked) : null_value;
	v[n++] = r->generation >= 0 ? int_value(r->generation) : null_value;
	v[n++] = int_value(r->immortal);
	v[n++] = text_value(r->repr ? s->arena + r->repr - 1 : NULL);
	v[n++] = text_value(statuses[r->status]);
	v[n++] = text_value(r->detail);
	v[n++] = r->cycle_id ? int_value(r->cycle_id) : null_value;
	v[n++] = r->depth != UINT32_MAX ? int_value(r->depth) : null_value;
	v[n++] = r->via ? int_value(r->via) : null_value;
	v[n++] = r->via_edge ? int_value(r->via_edge) : null_value;
	v[n++] = text_value(found_names[r->found]);
	return n;
}

// edges: src, dst, kind, label; edge e is row e + 1.
static size_t edge_columns(const struct bulk *b, size_t e,
			   struct btree_value *v, int64_t *rowid)
{
	const struct heap_graph *g = b->g;
	uint32_t label = b->s->edge_labels[e];

	*rowid = (int64_t)e + 1;
	v[0] = int_value(g->nodes[g->src[e]].addr);
	v[1] = int_value(g->nodes[g->dst[e]].addr);
	v[2] = text_value(edge_kinds[g->kind[e]]);
	v[3] = text_value(label ? b->s->labels + label - 1 : NULL);
	return 4;
}

// Write an index of (x, rowid) entries, x from min_x to max_x (signed),
// rowid from min_rowid to max_rowid.
static struct err *write_index(struct bulk *b, uint32_t root, size_t n,
			       uint32_t (*key)(const void *, size_t),
			       size_t nkeys, btree_entry_fn *entry,
			       int64_t min_x, int64_t max_x,
			       int64_t min_rowid, int64_t max_rowid)
{
	unsigned char rec[64];
	size_t max_len = 0;

	// The longest record has values at the ends of the ranges.
	for (int i = 0; i < 4; i++) {
		size_t len = int_pair(b, i & 1 ? max_x : min_x, false,
				      i & 2 ? max_rowid : min_rowid, rec,
				      sizeof(rec));

		max_len = len > max_len ? len : max_len;
	}
	uint32_t *perm;
	size_t m;
	struct err *err = counting_sort(n, nkeys, key, b, &perm, &m);

	if (err)
		return err;
	b->perm = perm;
	err = btree_index(b->f, root, m, max_len, entry, b);
	b->perm = NULL;
	free(perm);
	return err;
}

// The distinct type addresses of the objects rows, sorted, and the
// columns the objects indexes need in address order.
static struct err *collect_columns(struct bulk *b)
{
	const struct db_writer *s = b->s;
	size_t n = 0;

	// s->names holds every type address with a name, and more.
	b->type_addrs = malloc((s->names_cap + 1) * sizeof(uint64_t));
	if (!b->type_addrs)
		return &err_nomem;
	for (size_t i = 0; i < s->names_cap; i++) {
		if (s->names[i].type_addr)
			b->type_addrs[n++] = s->names[i].type_addr;
	}
	qsort(b->type_addrs, n, sizeof(uint64_t), addr_cmp);
	b->ntype_addrs = n;
	size_t m = s->nobjects ? s->nobjects : 1;

	b->type_keys = malloc(m * sizeof(*b->type_keys));
	b->addrs = malloc(m * sizeof(*b->addrs));
	b->cycles = malloc(m * sizeof(*b->cycles));
	if (!b->type_keys || !b->addrs || !b->cycles)
		return &err_nomem;
	// Every row with a type has had its name interned.
	for (size_t i = 0, last = SIZE_MAX; i < s->nobjects; i++) {
		const struct object_row *r = &s->objects[b->order[i]];
		const uint64_t *p;

		if (i + 8 < s->nobjects)
			__builtin_prefetch(&s->objects[b->order[i + 8]]);
		b->addrs[i] = r->addr;
		b->cycles[i] = r->cycle_id;
		b->type_keys[i] = 0;
		if (!row_has_type(r))
			continue;
		if (last != SIZE_MAX &&
		    r->type_addr == b->type_addrs[b->type_keys[last] - 1]) {
			b->type_keys[i] = b->type_keys[last];
			last = i;
			continue;
		}
		p = bsearch(&r->type_addr, b->type_addrs, n, sizeof(uint64_t),
			    addr_cmp);
		if (!p)
			return err_create(ERR_SQLITE, "type 0x%" PRIx64
					  " of an object has no name entry",
					  r->type_addr);
		b->type_keys[i] = p - b->type_addrs + 1;
		last = i;
	}
	return NULL;
}

// The root pages SQLite gave the bulk tables and indexes, after checking
// that the schema is the one this writer encodes.
enum bulk_tree {
	TREE_OBJECTS, TREE_EDGES, TREE_EDGES_SRC, TREE_EDGES_DST,
	TREE_OBJECTS_TYPE, TREE_OBJECTS_CYCLE, NTREES,
};

static const struct {
	const char *name;
	const char *columns;  // of a table, or of an index
} bulk_trees[NTREES] = {
	[TREE_OBJECTS] = { "objects", "addr,type_addr,type,refcnt,size,"
			   "gc_tracked,generation,immortal,repr,status,"
			   "detail,in_cycle,reach_depth,reach_via,reach_edge,"
			   "found" },
	[TREE_EDGES] = { "edges", "src,dst,kind,label" },
	[TREE_EDGES_SRC] = { "edges_src", "src" },
	[TREE_EDGES_DST] = { "edges_dst", "dst" },
	[TREE_OBJECTS_TYPE] = { "objects_type", "type_addr" },
	[TREE_OBJECTS_CYCLE] = { "objects_cycle", "in_cycle" },
};

static struct err *text_query(struct db_writer *s, const char *sql,
			      const char *param, char *out, size_t size)
{
	sqlite3_stmt *st;
	struct err *err = NULL;

	out[0] = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return err_sqlite(s, "cannot read the schema of");
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, size, "%s", sqlite3_column_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = err_sqlite(s, "cannot read the schema of");
	sqlite3_finalize(st);
	return err;
}

static struct err *bulk_roots(struct db_writer *s, uint32_t roots[NTREES])
{
	char buf[512];
	struct err *err;

	for (int i = 0; i < NTREES; i++) {
		bool table = i <= TREE_EDGES;

		err = text_query(s, table ?
			"SELECT group_concat(name, ',') FROM "
			"(SELECT name FROM pragma_table_info(?) ORDER BY cid)" :
			"SELECT group_concat(name, ',') FROM "
			"(SELECT name FROM pragma_index_info(?) ORDER BY seqno)",
			bulk_trees[i].name, buf, sizeof(buf));
		if (!err && strcmp(buf, bulk_trees[i].columns) != 0)
			err = err_create(ERR_SQLITE, "the schema's %s has "
					 "columns (%s), the writer knows (%s)",
					 bulk_trees[i].name, buf,
					 bulk_trees[i].columns);
		if (!err)
			err = text_query(s, "SELECT rootpage FROM sqlite_schema "
					    "WHERE name = ?", bulk_trees[i].name,
					 buf, sizeof(buf));
		if (err)
			return err;
		roots[i] = strtoul(buf, NULL, 10);
	}
	// An index the writer does not fill would be left empty.
	err = text_query(s, "SELECT group_concat(name) FROM sqlite_schema "
			    "WHERE type = 'index' AND tbl_name IN "
			    "('objects', 'edges') AND name NOT IN ('edges_src', "
			    "'edges_dst', 'objects_type', 'objects_cycle')",
			 NULL, buf, sizeof(buf));
	if (!err && buf[0])
		err = err_create(ERR_SQLITE, "the schema has indexes the "
				 "writer does not fill: %s", buf);
	return err;
}

struct addr_row {
	uint64_t addr;  // sign bit flipped
	uint32_t row;
};

static int addr_row_cmp(const void *a, const void *b)
{
	const struct addr_row *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/*
 * The objects rows in address order, the order of SQLite's integers
 * (signed, though user-space addresses are all below 2^63); the same
 * address reported twice keeps its report order. A radix sort of (address, row) pairs, 16 bits
 * a pass, passes in which all addresses agree skipped; below
 * SMALL_SORT rows, where clearing the counts would cost more than the
 * sort, qsort() of the same pairs. The rows stay
 * where they are: reading them through the order lets the memory loads
 * overlap, moving them would not.
 */
static struct err *sort_objects(const struct db_writer *s, uint32_t **ret)
{
	enum { SMALL_SORT = 4096 };
	struct addr_row *a, *tmp;
	size_t n = s->nobjects, *count;

	if (n < SMALL_SORT) {
		*ret = malloc((n ? n : 1) * sizeof(**ret));
		a = malloc((n ? n : 1) * sizeof(*a));
		if (!*ret || !a) {
			free(*ret);
			free(a);
			return &err_nomem;
		}
		for (size_t i = 0; i < n; i++)
			a[i] = (struct addr_row){
				s->objects[i].addr ^ (1ULL << 63), i };
		if (n)
			qsort(a, n, sizeof(*a), addr_row_cmp);
		for (size_t i = 0; i < n; i++)
			(*ret)[i] = a[i].row;
		free(a);
		return NULL;
	}

	*ret = malloc((n ? n : 1) * sizeof(**ret));
	if (!*ret)
		return &err_nomem;
	a = malloc((n ? n : 1) * sizeof(*a));
	tmp = malloc((n ? n : 1) * sizeof(*tmp));
	count = malloc((1 << 16) * sizeof(*count));
	if (!a || !tmp || !count) {
		free(a);
		free(tmp);
		free(count);
		free(*ret);
		return &err_nomem;
	}
	mem_huge(a, n * sizeof(*a));
	mem_huge(tmp, n * sizeof(*tmp));
	mem_huge(*ret, n * sizeof(**ret));
	// The sign bit flipped: unsigned order of the keys is signed order
	// of the addresses, SQLite's.
	for (size_t i = 0; i < n; i++)
		a[i] = (struct addr_row){ s->objects[i].addr ^ (1ULL << 63), i };
	for (int shift = 0; shift < 64 && n; shift += 16) {
		memset(count, 0, (1 << 16) * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(a[i].addr >> shift) & 0xffff]++;
		if (count[(a[0].addr >> shift) & 0xffff] == n)
			continue;
		for (size_t d = 0, sum = 0; d < 1 << 16; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i].addr >> shift) & 0xffff]++] = a[i];
		struct addr_row *t = a;

		a = tmp;
		tmp = t;
	}
	free(tmp);
	free(count);
	for (size_t i = 0; i < n; i++)
		(*ret)[i] = a[i].row;
	free(a);
	return NULL;
}

static struct err *write_bulk(struct db_writer *s, const struct heap_graph *g,
			      const uint32_t roots[NTREES])
{
	struct bulk b = { .s = s, .g = g };
	struct err *err;

	if (g->nnodes != s->nobjects || g->nedges != s->nedges)
		return err_create(ERR_SQLITE, "%zu objects and %zu references "
				  "in the graph, %zu and %zu recorded",
				  g->nnodes, g->nedges, s->nobjects, s->nedges);
	err = sort_objects(s, &b.order);
	if (err)
		return err;
	b.rank = malloc((s->nobjects ? s->nobjects : 1) * sizeof(*b.rank));
	if (!b.rank) {
		free(b.order);
		return &err_nomem;
	}
	mem_huge(b.rank, s->nobjects * sizeof(*b.rank));
	err = collect_columns(&b);
	// A node reported twice has the position of its first report. Rows
	// are nodes: row i was reported i-th.
	for (size_t i = 0, first = 0; i < s->nobjects && !err; i++) {
		if (!i || b.addrs[i] != b.addrs[i - 1])
			first = i;
		b.rank[b.order[i]] = first;
	}
	if (!err)
		err = btree_file_open(s->tmp_path, &b.f);
	if (!err)
		err = write_table(&b, roots[TREE_OBJECTS], s->nobjects,
				  object_columns);
	if (!err)
		err = write_table(&b, roots[TREE_EDGES], g->nedges,
				  edge_columns);
	// Bounds of the index entries, for their page layout.
	int64_t min_addr = s->nobjects && !err ? (int64_t)b.addrs[0] : 0;
	int64_t max_addr = s->nobjects && !err ?
			   (int64_t)b.addrs[s->nobjects - 1] : 0;
	int64_t min_type = b.ntype_addrs ? (int64_t)b.type_addrs[0] : 0;
	int64_t max_type = b.ntype_addrs ?
			   (int64_t)b.type_addrs[b.ntype_addrs - 1] : 0;
	uint32_t ncycles = 0;

	for (size_t i = 0; i < s->nobjects && !err; i++) {
		if (b.cycles[i] > ncycles)
			ncycles = b.cycles[i];
	}
	if (!err)
		err = write_index(&b, roots[TREE_EDGES_SRC], g->nedges,
				  edge_key, s->nobjects, edge_entry,
				  min_addr, max_addr, 1, g->nedges);
	b.by_dst = true;
	if (!err)
		err = write_index(&b, roots[TREE_EDGES_DST], g->nedges,
				  edge_key, s->nobjects, edge_entry,
				  min_addr, max_addr, 1, g->nedges);
	if (!err)
		err = write_index(&b, roots[TREE_OBJECTS_TYPE], s->nobjects,
				  type_key, b.ntype_addrs + 1, type_entry,
				  min_type, max_type, min_addr, max_addr);
	if (!err)
		err = write_index(&b, roots[TREE_OBJECTS_CYCLE], s->nobjects,
				  cycle_key, ncycles, cycle_entry, 1, ncycles,
				  min_addr, max_addr);
	if (b.f) {
		if (err)
			btree_file_destroy(b.f);
		else
			err = btree_file_close(b.f);
	}
	free(b.order);
	free(b.rank);
	free(b.type_addrs);
	free(b.type_keys);
	free(b.addrs);
	free(b.cycles);
	return err;
}

static void finalize_statements(struct db_writer *s)
{
	sqlite3_stmt **stmts[] = {
		&s->meta, &s->type,
		&s->root, &s->garbage, &s->anomaly, &s->root_label,
		&s->arena_row, &s->pool_row, &s->usage_row,
	};

	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_finalize(*stmts[i]);
		*stmts[i] = NULL;
	}
}

struct err *db_writer_finish(struct db_writer *s, const struct heap_graph *g)
{
	uint32_t roots[NTREES];
	struct err *err;

	err = exec(s, s->after_load);
	if (!err)
		err = exec(s, "COMMIT");
	if (!err)
		err = bulk_roots(s, roots);
	if (err)
		return err;
	finalize_statements(s);
	if (sqlite3_close(s->db) != SQLITE_OK)
		return err_sqlite(s, "cannot close database");
	s->db = NULL;
	err = write_bulk(s, g, roots);
	if (err)
		return err;
	// The file replaced keeps its permissions; a new one gets the umask's.
	if (s->mode != (mode_t)-1 && chmod(s->tmp_path, s->mode) != 0)
		return err_errno("cannot set the mode of '%s'", s->tmp_path);
	if (rename(s->tmp_path, s->path) != 0)
		return err_errno("cannot move database into place as '%s'",
				 s->path);
	s->finished = 1;
	return NULL;
}

void db_writer_destroy(struct db_writer *s)
{
	if (!s)
		return;
	finalize_statements(s);
	free(s->objects);
	free(s->arena);
	free(s->names);
	free(s->edge_labels);
	free(s->labels);
	free(s->label_ht);
	if (s->db)
		sqlite3_close(s->db);
	if (!s->finished && s->tmp_path)
		unlink(s->tmp_path);
	free(s->after_load);
	free(s->tmp_path);
	free(s->path);
	free(s);
}
