/* SPDX-License-Identifier: MIT */
/*
 * The B-tree page writer against SQLite itself: tables and indexes written
 * by analyzer/btree.c into a database SQLite created must pass SQLite's
 * PRAGMA integrity_check and read back exactly, for page sizes from 512 to
 * 65536 bytes (deep trees, rows on overflow pages), empty trees, one-row
 * trees, the extremes of 64-bit integers and NULLs in an index, and, with
 * SQLite's lock-byte page moved near the start of the file (a test control
 * of SQLite), trees that have to step over it.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/btree.h"

static int passed, failed;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			passed++;                                            \
		} else {                                                     \
			failed++;                                            \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);          \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		}                                                            \
	} while (0)

struct row {
	int64_t rowid;
	int64_t a;      // indexed by t_a
	bool c_null;    // c is NULL: indexed by t_c, NULLs first
	int64_t c;
	size_t blen;    // b: text of blen bytes, made from the rowid
};

static void text_of(const struct row *r, char *out)
{
	for (size_t i = 0; i < r->blen; i++)
		out[i] = 'a' + (unsigned)(((uint64_t)r->rowid * 31 + i * 7) & 15);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int row_cmp(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	return a->rowid < b->rowid ? -1 : a->rowid > b->rowid;
}

struct index_ctx {
	const struct btree_file *f;
	const struct row *rows;
	const size_t *perm;
	bool by_c;
};

static struct index_ctx *sort_ctx;

static int perm_cmp(const void *x, const void *y)
{
	const struct row *a = &sort_ctx->rows[*(const size_t *)x];
	const struct row *b = &sort_ctx->rows[*(const size_t *)y];

	if (sort_ctx->by_c) {
		if (a->c_null != b->c_null)
			return a->c_null ? -1 : 1;
		if (!a->c_null && a->c != b->c)
			return a->c < b->c ? -1 : 1;
	} else if (a->a != b->a) {
		return a->a < b->a ? -1 : 1;
	}
	return a->rowid < b->rowid ? -1 : a->rowid > b->rowid;
}

static size_t index_entry(void *arg, size_t i, unsigned char *buf, size_t cap)
{
	const struct index_ctx *x = arg;
	const struct row *r = &x->rows[x->perm[i]];
	struct btree_value v[2] = {
		{ .type = BTREE_INT, .i = x->by_c ? r->c : r->a },
		{ .type = BTREE_INT, .i = r->rowid },
	};

	if (x->by_c && r->c_null)
		v[0].type = BTREE_NULL;
	return btree_record(x->f, v, 2, buf, cap);
}

static bool exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		printf("  %s: %s\n", sql, msg ? msg : "?");
	sqlite3_free(msg);
	return rc == SQLITE_OK;
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = INT64_MIN;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static uint32_t rootpage(sqlite3 *db, const char *name)
{
	char sql[128];

	snprintf(sql, sizeof(sql),
		 "SELECT rootpage FROM sqlite_schema WHERE name = '%s'", name);
	return one_int(db, sql);
}

/*
 * One database: page size @p page_size, @p n rows in t (text up to
 * @p max_text bytes), e left empty, one row in u.
 */
static void run(const char *path, int page_size, size_t n, size_t max_text,
		const char *what)
{
	char sql[256], *text = malloc(max_text + 1);
	struct row *rows = calloc(n + 1, sizeof(*rows));
	size_t *perm = calloc(n + 1, sizeof(*perm));
	sqlite3 *db;
	struct btree_file *f = NULL;
	struct err *err = NULL;

	unlink(path);
	// Distinct rowids over the whole signed range, a and c with repeats
	// and the extremes, text lengths spread up to max_text.
	for (size_t i = 0; i < n; i++) {
		uint64_t r = next_random();

		rows[i].rowid = (int64_t)r;
		rows[i].a = i % 5 == 0 ? INT64_MIN + (int64_t)(i % 3) :
			    i % 5 == 1 ? INT64_MAX - (int64_t)(i % 3) :
			    (int64_t)(next_random() % 1000) - 500;
		rows[i].c_null = i % 4 == 0;
		rows[i].c = (int64_t)(next_random() >> (next_random() % 64));
		rows[i].blen = max_text ? next_random() % (max_text + 1) : 0;
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (size_t i = 1; i < n; i++) {
		if (rows[i].rowid == rows[i - 1].rowid)
			rows[i].rowid++;  // vanishingly rare; keeps them distinct
	}
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "%s: open", what);
	snprintf(sql, sizeof(sql), "PRAGMA page_size = %d; "
		 "PRAGMA journal_mode = OFF; PRAGMA auto_vacuum = NONE;",
		 page_size);
	CHECK(exec_ok(db, sql), "%s: pragmas", what);
	CHECK(exec_ok(db, "CREATE TABLE t(a INTEGER, b TEXT, c INTEGER);"
			  "CREATE INDEX t_a ON t(a); CREATE INDEX t_c ON t(c);"
			  "CREATE TABLE e(x INTEGER); CREATE INDEX e_x ON e(x);"
			  "CREATE TABLE u(x TEXT);"
			  "CREATE TABLE small(k TEXT PRIMARY KEY, v);"
			  "INSERT INTO small VALUES ('written', 'by SQLite');"),
	      "%s: schema", what);
	uint32_t t_root = rootpage(db, "t"), ta = rootpage(db, "t_a");
	uint32_t tc = rootpage(db, "t_c"), e_root = rootpage(db, "e");
	uint32_t ex = rootpage(db, "e_x"), u_root = rootpage(db, "u");

	sqlite3_close(db);

	err = btree_file_open(path, &f);
	CHECK(!err, "%s: btree_file_open: %s", what, err ? err->message : "");
	if (err)
		goto out;
	struct btree_table *t;
	size_t cap = max_text + 64;
	unsigned char *rec = malloc(cap);

	err = btree_table_begin(f, t_root, &t);
	for (size_t i = 0; i < n && !err; i++) {
		text_of(&rows[i], text);
		struct btree_value v[3] = {
			{ .type = BTREE_INT, .i = rows[i].a },
			{ .type = BTREE_TEXT, .s = text, .n = rows[i].blen },
			{ .type = rows[i].c_null ? BTREE_NULL : BTREE_INT,
			  .i = rows[i].c },
		};
		size_t len = btree_record(f, v, 3, rec, cap);

		err = btree_table_add(t, rows[i].rowid, rec, len);
	}
	if (!err)
		err = btree_table_finish(t);
	// e and e_x stay empty; u has one row.
	if (!err)
		err = btree_table_begin(f, e_root, &t);
	if (!err)
		err = btree_table_finish(t);
	if (!err)
		err = btree_index(f, ex, 0, 4, index_entry, NULL);
	if (!err)
		err = btree_table_begin(f, u_root, &t);
	if (!err) {
		struct btree_value v = { .type = BTREE_TEXT, .s = "one", .n = 3 };
		size_t len = btree_record(f, &v, 1, rec, cap);

		err = btree_table_add(t, -5, rec, len);
		if (!err) {
			struct err *again = btree_table_add(t, -5, rec, len);

			CHECK(again, "%s: a repeated rowid was taken", what);
			err_destroy(again);
		}
		if (!err)
			err = btree_table_finish(t);
	}
	free(rec);
	for (int by_c = 0; by_c < 2 && !err; by_c++) {
		struct index_ctx x = { .f = f, .rows = rows, .perm = perm,
				       .by_c = by_c };

		for (size_t i = 0; i < n; i++)
			perm[i] = i;
		sort_ctx = &x;
		qsort(perm, n, sizeof(*perm), perm_cmp);
		err = btree_index(f, by_c ? tc : ta, n, 19, index_entry, &x);
	}
	CHECK(!err, "%s: writing: %s", what, err ? err->message : "");
	if (err) {
		btree_file_destroy(f);
		goto out;
	}
	err = btree_file_close(f);
	CHECK(!err, "%s: close: %s", what, err ? err->message : "");
	if (err)
		goto out;

	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "%s: reopen", what);
	sqlite3_stmt *st;
	int k = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
			       NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *m = (const char *)sqlite3_column_text(st, 0);

			CHECK(m && !strcmp(m, "ok"), "%s: integrity_check: %s",
			      what, m ? m : "?");
			if (++k > 5)
				break;
		}
	}
	sqlite3_finalize(st);
	CHECK(one_int(db, "SELECT count(*) FROM t") == (int64_t)n,
	      "%s: count", what);
	CHECK(one_int(db, "SELECT count(*) FROM e") == 0, "%s: e", what);
	CHECK(one_int(db, "SELECT count(*) FROM u WHERE x = 'one' AND "
			  "rowid = -5") == 1, "%s: u", what);
	CHECK(one_int(db, "SELECT count(*) FROM small WHERE k = 'written'") == 1,
	      "%s: SQLite's own rows", what);
	// Every row back, in rowid order, by a full scan.
	size_t got = 0, bad = 0;

	sqlite3_prepare_v2(db, "SELECT rowid, a, b, c FROM t ORDER BY rowid",
			   -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW && got < n) {
		const struct row *r = &rows[got++];
		const void *b = sqlite3_column_text(st, 2);

		text_of(r, text);
		if (sqlite3_column_int64(st, 0) != r->rowid ||
		    sqlite3_column_int64(st, 1) != r->a ||
		    (size_t)sqlite3_column_bytes(st, 2) != r->blen ||
		    (r->blen && (!b || memcmp(b, text, r->blen))) ||
		    (sqlite3_column_type(st, 3) == SQLITE_NULL) != r->c_null ||
		    (!r->c_null && sqlite3_column_int64(st, 3) != r->c))
			bad++;
	}
	sqlite3_finalize(st);
	CHECK(got == n && !bad, "%s: %zu rows read, %zu differ", what, got, bad);
	// Lookups through each index.
	bad = 0;
	sqlite3_prepare_v2(db, "SELECT count(*) FROM t INDEXED BY t_a "
			       "WHERE a = ?1 AND rowid = ?2", -1, &st, NULL);
	for (size_t i = 0; i < n; i += 1 + n / 200) {
		sqlite3_bind_int64(st, 1, rows[i].a);
		sqlite3_bind_int64(st, 2, rows[i].rowid);
		if (sqlite3_step(st) != SQLITE_ROW ||
		    sqlite3_column_int64(st, 0) != 1)
			bad++;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	CHECK(!bad, "%s: %zu lookups by a failed", what, bad);
	size_t nulls = 0;

	for (size_t i = 0; i < n; i++)
		nulls += rows[i].c_null;
	CHECK(one_int(db, "SELECT count(*) FROM t INDEXED BY t_c "
			  "WHERE c IS NULL") == (int64_t)nulls,
	      "%s: NULLs through t_c", what);
	CHECK(one_int(db, "SELECT count(*) FROM t INDEXED BY t_a "
			  "WHERE a > 0") ==
	      one_int(db, "SELECT count(*) FROM t NOT INDEXED WHERE a > 0"),
	      "%s: a range through t_a", what);
	printf("%s: %zu rows, %lld pages of %d bytes\n", what, n,
	       (long long)one_int(db, "PRAGMA page_count"), page_size);
	sqlite3_close(db);
out:
	err_destroy(err);
	unlink(path);
	free(text);
	free(rows);
	free(perm);
}

int main(void)
{
	char path[] = "/tmp/gcscope-btree-test-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	run(path, 4096, 0, 0, "empty");
	run(path, 4096, 1, 10, "one row");
	run(path, 512, 20000, 3000, "512-byte pages, overflow");
	run(path, 1024, 50000, 100, "1 KiB pages");
	run(path, 8192, 200000, 300, "8 KiB pages");
	run(path, 65536, 3000, 70000, "64 KiB pages, overflow");
	// The lock-byte page near the start: trees must step over it.
	int old = sqlite3_test_control(SQLITE_TESTCTRL_PENDING_BYTE, 0x40000);

	if (old == 0x40000000) {
		btree_test_lock_byte(0x40000);
		run(path, 1024, 30000, 200, "lock-byte page at 256 KiB");
		run(path, 512, 3000, 2000, "lock-byte page, overflow");
		btree_test_lock_byte(0x40000000);
		sqlite3_test_control(SQLITE_TESTCTRL_PENDING_BYTE, old);
	} else {
		printf("SQLite cannot move its lock-byte page here: "
		       "that case is not run\n");
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
