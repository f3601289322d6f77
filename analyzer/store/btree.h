/* SPDX-License-Identifier: MIT */
/**
 * @file btree.h
 *
 * Bulk loading of SQLite tables and indexes by writing their B-tree pages
 * directly, in the SQLite file format (https://www.sqlite.org/fileformat2.html).
 *
 * Inserting ten million rows through SQLite costs about a microsecond a row
 * and as much again per index; a snapshot has that many references. All
 * rows of a snapshot are known, and sorted, before they are written, so
 * their pages can be laid out in one pass instead.
 *
 * The division of labour: SQLite creates the database, its schema (empty
 * tables and indexes, whose root pages it allocates), the small tables and
 * the views, and closes it. Then this module appends the pages of the big
 * trees to the file, writes each tree's top page over the empty root page
 * SQLite allocated for it, and sets the page count in the header. The file
 * is read afterwards only by SQLite, and the tests run PRAGMA
 * integrity_check on what this writes.
 *
 * Only what a fresh database created by writer.c has is supported: UTF-8, no
 * reserved bytes, no auto-vacuum, rowid tables, indexes whose records fit
 * on their page (no overflow pages in indexes).
 */
#ifndef GCSCOPE_BTREE_H
#define GCSCOPE_BTREE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/** A database file closed by SQLite, opened for appending B-trees. */
struct btree_file;

/**
 * Open @p path, which SQLite has written and closed, to add trees to it.
 *
 * @return NULL on success; an ERR_SQLITE error if the file is not a
 * database this module can extend, an ERR_OS error if it cannot be read.
 */
struct err *btree_file_open(const char *path, struct btree_file **ret);

/**
 * Write what is buffered and the new page count into the header, and
 * close. @p f is freed also on error.
 */
struct err *btree_file_close(struct btree_file *f);

/** Close without finishing (after an error): the file is not usable. */
void btree_file_destroy(struct btree_file *f);

/** A value of a record column. */
enum btree_value_type {
	BTREE_NULL,
	BTREE_INT,
	BTREE_TEXT,
};

struct btree_value {
	enum btree_value_type type;
	int64_t i;          /* BTREE_INT */
	const char *s;      /* BTREE_TEXT, s[0..n) */
	size_t n;
};

/**
 * Encode @p n values as a record (header of serial types, then the body).
 *
 * @return the length of the record; when it exceeds @p cap nothing is
 * written and the caller retries with a larger buffer.
 */
size_t btree_record(const struct btree_file *f, const struct btree_value *v,
		    size_t n, unsigned char *out, size_t cap);

/** A rowid table being loaded. */
struct btree_table;

/**
 * Start loading the table whose (empty) root page is @p root.
 *
 * @return NULL on success.
 */
struct err *btree_table_begin(struct btree_file *f, uint32_t root,
			      struct btree_table **ret);

/** Add a row; rowids must be strictly increasing. */
struct err *btree_table_add(struct btree_table *t, int64_t rowid,
			    const unsigned char *record, size_t len);

/** Write the rest of the table, its root last. Frees @p t. */
struct err *btree_table_finish(struct btree_table *t);

/**
 * The i-th entry of an index, in index order: its record written to
 * @p buf (@p cap bytes, at least the max_len of btree_index()), its
 * length returned.
 */
typedef size_t btree_entry_fn(void *arg, size_t i, unsigned char *buf,
			      size_t cap);

/**
 * Write the index whose (empty) root page is @p root from its @p n
 * entries, which @p entry returns in order.
 *
 * @param max_len no record is longer: the pages are laid out for it.
 * @return NULL on success; an ERR_SQLITE error if a record would need
 * overflow pages or is longer than @p max_len.
 */
struct err *btree_index(struct btree_file *f, uint32_t root, size_t n,
			size_t max_len, btree_entry_fn *entry, void *arg);

/**
 * For tests: the byte offset whose page SQLite never uses (the lock-byte
 * page, 2^30) as moved by sqlite3_test_control(SQLITE_TESTCTRL_PENDING_BYTE).
 * Files opened afterwards use it.
 */
void btree_test_lock_byte(uint32_t offset);

#endif /* GCSCOPE_BTREE_H */
