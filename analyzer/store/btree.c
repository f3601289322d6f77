/* SPDX-License-Identifier: MIT */
/*
 * Writing SQLite B-trees directly. The facts used, from the file format
 * document (https://www.sqlite.org/fileformat2.html):
 *
 * - The 100-byte header of page 1: page size at 16 (1 means 65536),
 *   reserved bytes a page at 20, the page count at 28 (valid when the
 *   "version-valid-for" number at 92 equals the change counter at 24),
 *   the schema format at 44 (4 allows serial types 8 and 9 for 0 and 1),
 *   the auto-vacuum root at 52, the text encoding at 56.
 * - A B-tree page: a header of 8 bytes (leaves) or 12 (interior pages,
 *   whose last 4 are the right-most child), then an array of 2-byte cell
 *   offsets in key order, free space, and the cells packed at the end.
 *   Header: page type (2 interior index, 5 interior table, 10 leaf index,
 *   13 leaf table), first freeblock, cell count, start of the cell
 *   content area (0 for 65536), fragmented bytes. SQLite counts a cell
 *   of fewer than 4 bytes as 4.
 * - Table leaf cell: varint payload size, varint rowid, payload (the first
 *   part of it, then the 4-byte first overflow page, if it is longer than
 *   U-35 bytes). Interior table cell: 4-byte left child, varint rowid, the
 *   largest rowid of that child. A table is a B+tree: rows only in leaves.
 * - Index leaf cell: varint payload size, payload; interior index cell:
 *   4-byte left child first. An index is a B-tree: every entry is stored
 *   once, in a leaf or as a separator in an interior page.
 * - Overflow page: 4-byte next page (0 on the last), then U-4 bytes.
 * - The page holding byte offset 2^30 (the lock-byte page) is never used.
 * - A record: a varint header size (counting itself), a varint serial type
 *   per column (0 NULL; 1, 2, 3, 4, 6, 8 bytes of big-endian integer as
 *   1–4, 5, 6; 8 and 9 the integers 0 and 1; 13+2n text of n bytes), then
 *   the values.
 * - Varint: 1–9 bytes, big-endian groups of 7 bits with the high bit set
 *   on all but the last, the ninth byte holding 8 bits.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/btree.h"

enum {
	HEADER_SIZE = 100,
	WRITE_BUFFER = 4 << 20,   // bytes of consecutive new pages
	FIRST_BUFFER = 256 << 10, // the same, until it first fills
	MAX_LEVELS = 16,          // 2^32 entries need fewer than 6
	PAGE_INTERIOR_INDEX = 2,
	PAGE_INTERIOR_TABLE = 5,
	PAGE_LEAF_INDEX = 10,
	PAGE_LEAF_TABLE = 13,
};

static uint32_t lock_byte_offset = 0x40000000;

void btree_test_lock_byte(uint32_t offset)
{
	lock_byte_offset = offset;
}

struct btree_file {
	int fd;
	char *path;
	uint32_t page_size;
	uint32_t npages;         // pages in the file, counting the buffered
	uint32_t old_pages;      // pages SQLite wrote: the roots are there
	uint32_t lock_page;      // the lock-byte page: never written
	bool small_ints;         // serial types 8 and 9 are allowed
	unsigned char *wbuf;     // new pages wfirst.. not yet written
	uint32_t wfirst;
	size_t wcount, wcap;     // pages in wbuf, room for

	// A thread writes full buffers while the next one is filled: the
	// kernel's copy into the page cache costs as much as making the pages.
	// It starts, and the buffers grow to WRITE_BUFFER, when the first
	// buffer of FIRST_BUFFER fills: a small database is written by the
	// caller alone, without a thread or big buffers to set up.
	unsigned char *bufs[2];  // wbuf is one of them
	pthread_t writer;
	bool have_writer;
	bool tried_writer;       // writer_start() was called
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const unsigned char *job;  // for the writer: bytes, length, offset
	size_t job_len;
	off_t job_at;
	bool stop;               // the writer ends when the job is done
	int write_errno;         // a write failed: its errno
};

static uint32_t be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(unsigned char *p, uint32_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	if (v >> 56)
		return 9;
	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
	if (v >> 56) {
		p[8] = v;
		v >>= 8;
		for (int i = 7; i >= 0; i--) {
			p[i] = (v & 0x7f) | 0x80;
			v >>= 7;
		}
		return 9;
	}
	size_t n = varint_len(v);

	for (size_t i = n; i-- > 0;) {
		p[i] = (v & 0x7f) | (i == n - 1 ? 0 : 0x80);
		v >>= 7;
	}
	return n;
}

static struct err *file_error(const struct btree_file *f, const char *what)
{
	return err_create(ERR_SQLITE, "cannot %s database '%s': %s", what,
			  f->path, strerror(errno));
}

static int write_all(int fd, const unsigned char *p, size_t len, off_t at)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return ENOSPC;
		p += n;
		len -= n;
		at += n;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct btree_file *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (!f->job && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (!f->job)
			break;
		const unsigned char *p = f->job;
		size_t len = f->job_len;
		off_t at = f->job_at;

		pthread_mutex_unlock(&f->mu);
		int e = write_all(f->fd, p, len, at);

		pthread_mutex_lock(&f->mu);
		if (e && !f->write_errno)
			f->write_errno = e;
		f->job = NULL;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

// Wait for the writer to finish its job; its error, if it had one.
static struct err *writer_wait(struct btree_file *f)
{
	int e;

	if (!f->have_writer)
		return NULL;
	pthread_mutex_lock(&f->mu);
	while (f->job)
		pthread_cond_wait(&f->cv, &f->mu);
	e = f->write_errno;
	pthread_mutex_unlock(&f->mu);
	if (e) {
		errno = e;
		return file_error(f, "write");
	}
	return NULL;
}

static void writer_stop(struct btree_file *f)
{
	if (!f->have_writer)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->writer, NULL);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	f->have_writer = false;
}

// Start the writer thread with two buffers of WRITE_BUFFER; without them,
// the pages go on being written by the caller, FIRST_BUFFER at a time.
static void writer_start(struct btree_file *f)
{
	size_t cap = WRITE_BUFFER / f->page_size ? WRITE_BUFFER / f->page_size : 1;
	unsigned char *big;

	f->tried_writer = true;
	if (f->wcount || cap <= f->wcap)
		return;
	big = realloc(f->bufs[0], cap * f->page_size);
	if (!big)
		return;
	f->bufs[0] = f->wbuf = big;
	f->bufs[1] = malloc(cap * f->page_size);
	if (!f->bufs[1])
		return;
	if (pthread_mutex_init(&f->mu, NULL) != 0)
		return;
	if (pthread_cond_init(&f->cv, NULL) != 0) {
		pthread_mutex_destroy(&f->mu);
		return;
	}
	if (pthread_create(&f->writer, NULL, writer_main, f) != 0) {
		pthread_cond_destroy(&f->cv);
		pthread_mutex_destroy(&f->mu);
		return;
	}
	f->have_writer = true;
	f->wcap = cap;
}

struct err *btree_file_open(const char *path, struct btree_file **ret)
{
	unsigned char h[HEADER_SIZE];
	struct btree_file *f = calloc(1, sizeof(*f));
	struct stat st;
	struct err *err;

	if (!f || !(f->path = strdup(path))) {
		free(f);
		return &err_nomem;
	}
	f->fd = open(path, O_RDWR | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) != 0 ||
	    pread(f->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		err = file_error(f, "reopen");
		goto out;
	}
	f->page_size = be16(h + 16) == 1 ? 65536 : be16(h + 16);
	if (memcmp(h, "SQLite format 3", 16) != 0 || f->page_size < 512 ||
	    (f->page_size & (f->page_size - 1)) || h[20] != 0 ||
	    be32(h + 52) != 0 || be32(h + 56) != 1 ||
	    st.st_size % f->page_size != 0) {
		err = err_create(ERR_SQLITE, "cannot extend database '%s': not "
				 "a fresh UTF-8 database without reserved bytes "
				 "or auto-vacuum", path);
		goto out;
	}
	f->npages = st.st_size / f->page_size;
	if (be32(h + 28) && be32(h + 92) == be32(h + 24) &&
	    be32(h + 28) != f->npages) {
		err = err_create(ERR_SQLITE, "cannot extend database '%s': its "
				 "header says %u pages, the file has %u", path,
				 be32(h + 28), f->npages);
		goto out;
	}
	f->old_pages = f->npages;
	f->small_ints = be32(h + 44) >= 4;
	f->lock_page = lock_byte_offset / f->page_size + 1;
	f->wcap = FIRST_BUFFER / f->page_size ? FIRST_BUFFER / f->page_size : 1;
	f->bufs[0] = malloc(f->wcap * f->page_size);
	if (!f->bufs[0]) {
		err = &err_nomem;
		goto out;
	}
	f->wbuf = f->bufs[0];
	*ret = f;
	return NULL;
out:
	btree_file_destroy(f);
	return err;
}

// Hand the buffered pages to the writer (or write them, without one).
static struct err *flush_pages(struct btree_file *f)
{
	size_t len = f->wcount * f->page_size;
	off_t at = (off_t)(f->wfirst - 1) * f->page_size;
	struct err *err = writer_wait(f);

	if (err || !len)
		return err;
	f->wcount = 0;
	if (!f->have_writer) {
		errno = write_all(f->fd, f->wbuf, len, at);
		return errno ? file_error(f, "write") : NULL;
	}
	pthread_mutex_lock(&f->mu);
	f->job = f->wbuf;
	f->job_len = len;
	f->job_at = at;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	f->wbuf = f->wbuf == f->bufs[0] ? f->bufs[1] : f->bufs[0];
	return NULL;
}

// Append one page to the file; its number in *pgno.
static struct err *emit_new(struct btree_file *f, const unsigned char *page,
			    uint32_t *pgno)
{
	for (;;) {
		struct err *err;

		if (f->npages >= UINT32_MAX - 2)
			return err_create(ERR_SQLITE, "database '%s' would "
					  "exceed 2^32 pages", f->path);
		if (f->wcount == f->wcap) {
			err = flush_pages(f);
			if (err)
				return err;
			if (!f->tried_writer)
				writer_start(f);
		}
		if (!f->wcount)
			f->wfirst = f->npages + 1;
		unsigned char *dst = f->wbuf + f->wcount++ * f->page_size;

		if (++f->npages == f->lock_page) {
			memset(dst, 0, f->page_size);
			continue;
		}
		memcpy(dst, page, f->page_size);
		*pgno = f->npages;
		return NULL;
	}
}

// The number emit_new() will give the page after the one numbered pgno.
static uint32_t page_after(const struct btree_file *f, uint32_t pgno)
{
	return pgno + 1 == f->lock_page ? pgno + 2 : pgno + 1;
}

// Overwrite the existing page pgno (a root SQLite allocated).
static struct err *emit_at(struct btree_file *f, const unsigned char *page,
			   uint32_t pgno)
{
	if (pgno < 2 || pgno > f->old_pages)
		return err_create(ERR_SQLITE, "database '%s' has no root page "
				  "%u to write", f->path, pgno);
	errno = write_all(f->fd, page, f->page_size,
			  (off_t)(pgno - 1) * f->page_size);
	return errno ? file_error(f, "write") : NULL;
}

struct err *btree_file_close(struct btree_file *f)
{
	unsigned char count[4];
	struct err *err = flush_pages(f);

	if (!err)
		err = writer_wait(f);
	writer_stop(f);
	put32(count, f->npages);
	if (!err && pwrite(f->fd, count, 4, 28) != 4)
		err = file_error(f, "write");
	if (!err && close(f->fd) != 0)
		err = file_error(f, "close");
	f->fd = -1;
	btree_file_destroy(f);
	return err;
}

void btree_file_destroy(struct btree_file *f)
{
	if (!f)
		return;
	writer_stop(f);
	if (f->fd >= 0)
		close(f->fd);
	free(f->bufs[0]);
	free(f->bufs[1]);
	free(f->path);
	free(f);
}

/* ---- records ----------------------------------------------------------- */

static unsigned int int_serial(const struct btree_file *f, int64_t v,
			       size_t *len)
{
	static const struct {
		uint64_t max;
		unsigned int serial, len;
	} sizes[] = {
		{ 0x7f, 1, 1 }, { 0x7fff, 2, 2 }, { 0x7fffff, 3, 3 },
		{ 0x7fffffff, 4, 4 }, { 0x7fffffffffffULL, 5, 6 },
	};
	uint64_t u = v < 0 ? ~(uint64_t)v : (uint64_t)v;

	if (f->small_ints && (v == 0 || v == 1)) {
		*len = 0;
		return 8 + v;
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (u <= sizes[i].max) {
			*len = sizes[i].len;
			return sizes[i].serial;
		}
	}
	*len = 8;
	return 6;
}

size_t btree_record(const struct btree_file *f, const struct btree_value *v,
		    size_t n, unsigned char *out, size_t cap)
{
	uint64_t serial[32];
	size_t body[32], hlen = 0, blen = 0;

	if (n > 32)
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		switch (v[i].type) {
		case BTREE_NULL:
			serial[i] = 0;
			body[i] = 0;
			break;
		case BTREE_INT:
			serial[i] = int_serial(f, v[i].i, &body[i]);
			break;
		case BTREE_TEXT:
			serial[i] = 13 + 2 * (uint64_t)v[i].n;
			body[i] = v[i].n;
			break;
		}
		hlen += varint_len(serial[i]);
		blen += body[i];
	}
	// The header size counts its own varint.
	hlen += varint_len(hlen + 1) == 1 ? 1 : varint_len(hlen + 2);
	if (hlen + blen > cap)
		return hlen + blen;
	unsigned char *p = out + put_varint(out, hlen);

	for (size_t i = 0; i < n; i++)
		p += put_varint(p, serial[i]);
	for (size_t i = 0; i < n; i++) {
		if (v[i].type == BTREE_TEXT) {
			memcpy(p, v[i].s, v[i].n);
		} else if (v[i].type == BTREE_INT) {
			for (size_t k = body[i]; k-- > 0;)
				*p++ = (uint64_t)v[i].i >> (8 * k);
			continue;
		}
		p += body[i];
	}
	return hlen + blen;
}

/* ---- pages ------------------------------------------------------------- */

// A page being filled: cell offsets from the header on, cells from the end.
struct page {
	unsigned char *data;
	size_t header;      // 8 or 12
	uint32_t ncells;
	uint32_t content;   // start of the cell content area
};

static void page_reset(struct page *p, uint32_t page_size, int type)
{
	bool interior = type == PAGE_INTERIOR_INDEX ||
			type == PAGE_INTERIOR_TABLE;

	memset(p->data, 0, page_size);
	p->data[0] = type;
	p->header = interior ? 12 : 8;
	p->ncells = 0;
	p->content = page_size;
}

static bool page_fits(const struct page *p, size_t cell)
{
	return p->header + 2 * (p->ncells + 1) + (cell < 4 ? 4 : cell) <=
	       p->content;
}

// Room for a cell of len bytes (counted as at least 4), in key order.
static unsigned char *page_cell(struct page *p, size_t len)
{
	p->content -= len < 4 ? 4 : len;
	put16(p->data + p->header + 2 * p->ncells++, p->content);
	return p->data + p->content;
}

static void page_seal(struct page *p, uint32_t right)
{
	put16(p->data + 3, p->ncells);
	put16(p->data + 5, p->content & 0xffff);  // 65536 is written 0
	if (p->header == 12)
		put32(p->data + 8, right);
}

/* ---- tables ------------------------------------------------------------ */

struct child {
	uint32_t pgno;
	int64_t key;    // largest rowid under it
};

struct btree_table {
	struct btree_file *f;
	uint32_t root;
	struct page leaf;
	unsigned char *overflow;   // scratch for overflow pages
	bool any;
	int64_t last;              // rowid of the last row added
	struct child *children;    // leaves written so far
	size_t nchildren, children_cap;
};

struct err *btree_table_begin(struct btree_file *f, uint32_t root,
			      struct btree_table **ret)
{
	struct btree_table *t = calloc(1, sizeof(*t));

	if (!t)
		return &err_nomem;
	t->f = f;
	t->root = root;
	t->leaf.data = malloc(f->page_size);
	t->overflow = malloc(f->page_size);
	if (!t->leaf.data || !t->overflow) {
		free(t->leaf.data);
		free(t->overflow);
		free(t);
		return &err_nomem;
	}
	page_reset(&t->leaf, f->page_size, PAGE_LEAF_TABLE);
	*ret = t;
	return NULL;
}

static struct err *push_child(struct btree_table *t, uint32_t pgno,
			      int64_t key)
{
	if (t->nchildren == t->children_cap) {
		size_t cap = t->children_cap ? 2 * t->children_cap : 1024;
		struct child *c = realloc(t->children, cap * sizeof(*c));

		if (!c)
			return &err_nomem;
		t->children = c;
		t->children_cap = cap;
	}
	t->children[t->nchildren++] = (struct child){ pgno, key };
	return NULL;
}

static struct err *flush_leaf(struct btree_table *t)
{
	uint32_t pgno;
	struct err *err;

	page_seal(&t->leaf, 0);
	err = emit_new(t->f, t->leaf.data, &pgno);
	if (!err)
		err = push_child(t, pgno, t->last);
	page_reset(&t->leaf, t->f->page_size, PAGE_LEAF_TABLE);
	return err;
}

// Write what does not stay on the leaf to a chain of overflow pages.
static struct err *write_overflow(struct btree_table *t,
				  const unsigned char *rest, size_t len,
				  uint32_t *first)
{
	struct btree_file *f = t->f;
	size_t room = f->page_size - 4;
	uint32_t pgno = page_after(f, f->npages);  // what emit_new() gives
	struct err *err;

	*first = pgno;
	while (len) {
		size_t n = len < room ? len : room;

		memset(t->overflow, 0, f->page_size);
		put32(t->overflow, n == len ? 0 : page_after(f, pgno));
		memcpy(t->overflow + 4, rest, n);
		err = emit_new(f, t->overflow, &pgno);
		if (err)
			return err;
		rest += n;
		len -= n;
		pgno = page_after(f, pgno);
	}
	return NULL;
}

struct err *btree_table_add(struct btree_table *t, int64_t rowid,
			    const unsigned char *record, size_t len)
{
	size_t u = t->f->page_size, max_local = u - 35, local = len;
	struct err *err;

	if (t->any && rowid <= t->last)
		return err_create(ERR_SQLITE, "rowid %lld after %lld",
				  (long long)rowid, (long long)t->last);
	if (len > max_local) {
		size_t min_local = (u - 12) * 32 / 255 - 23;
		size_t k = min_local + (len - min_local) % (u - 4);

		local = k <= max_local ? k : min_local;
	}
	size_t cell = varint_len(len) + varint_len(rowid) + local +
		      (local < len ? 4 : 0);

	if (!page_fits(&t->leaf, cell)) {
		err = flush_leaf(t);
		if (err)
			return err;
	}
	uint32_t first = 0;

	if (local < len) {
		err = write_overflow(t, record + local, len - local, &first);
		if (err)
			return err;
	}
	unsigned char *p = page_cell(&t->leaf, cell);

	p += put_varint(p, len);
	p += put_varint(p, rowid);
	memcpy(p, record, local);
	if (local < len)
		put32(p + local, first);
	t->last = rowid;
	t->any = true;
	return NULL;
}

// The interior levels over t->children, bottom up; the top page at root.
static struct err *table_interior(struct btree_table *t)
{
	struct btree_file *f = t->f;
	// A cell: 4-byte child and a rowid varint of at most 9 bytes.
	size_t per_page = (f->page_size - 12) / (4 + 9 + 2) + 1;
	struct page pg = { .data = malloc(f->page_size) };
	size_t m = t->nchildren;
	struct err *err = NULL;

	if (!pg.data)
		return &err_nomem;
	while (!err) {
		size_t npages = (m + per_page - 1) / per_page;
		size_t base = m / npages, extra = m % npages, next = 0;

		for (size_t j = 0, i = 0; j < npages && !err; j++) {
			size_t k = base + (j < extra);

			page_reset(&pg, f->page_size, PAGE_INTERIOR_TABLE);
			for (size_t c = 0; c + 1 < k; c++) {
				const struct child *ch = &t->children[i + c];
				unsigned char *p = page_cell(
					&pg, 4 + varint_len(ch->key));

				put32(p, ch->pgno);
				put_varint(p + 4, ch->key);
			}
			page_seal(&pg, t->children[i + k - 1].pgno);
			if (npages == 1) {
				err = emit_at(f, pg.data, t->root);
				goto out;
			}
			uint32_t pgno;

			err = emit_new(f, pg.data, &pgno);
			// In place: page j replaces children i..i+k, i >= j.
			t->children[next++] = (struct child){
				pgno, t->children[i + k - 1].key };
			i += k;
		}
		m = next;
	}
out:
	free(pg.data);
	return err;
}

struct err *btree_table_finish(struct btree_table *t)
{
	struct err *err;

	if (!t->nchildren) {
		page_seal(&t->leaf, 0);
		err = emit_at(t->f, t->leaf.data, t->root);
	} else {
		err = flush_leaf(t);
		if (!err)
			err = table_interior(t);
	}
	free(t->leaf.data);
	free(t->overflow);
	free(t->children);
	free(t);
	return err;
}

/* ---- indexes ----------------------------------------------------------- */

/*
 * An index is laid out before it is written: with the largest cell known,
 * each level's page count and the number of entries on each page follow
 * from the number of entries, spread evenly so that no page is empty. The
 * entries then stream in order: into the current leaf until it holds its
 * share, and the entry after a full page goes up as the separator into
 * the first level above whose page still has room.
 */
struct level {
	struct page page;
	size_t npages;      // pages of this level
	size_t base, extra; // the first extra pages hold base + 1 entries
	size_t j;           // the page being filled
	size_t target;      // entries that page gets
};

static size_t level_target(const struct level *lv)
{
	return lv->base + (lv->j < lv->extra);
}

struct err *btree_index(struct btree_file *f, uint32_t root, size_t n,
			size_t max_len, btree_entry_fn *entry, void *arg)
{
	unsigned char rec[512];
	size_t u = f->page_size, max_local = (u - 12) * 64 / 255 - 23;
	size_t largest = varint_len(max_len) + max_len;
	struct level lv[MAX_LEVELS] = { 0 };
	size_t top = 0;
	struct err *err = NULL;

	if (max_len > sizeof(rec) || max_len > max_local)
		return err_create(ERR_SQLITE, "index entries of %zu bytes do "
				  "not fit their pages", max_len);
	if (largest < 4)
		largest = 4;
	// Plan: level k has n_k entries on its pages; the separators between
	// its pages are the entries of level k + 1.
	for (size_t nk = n;; top++) {
		size_t cap = top == 0 ? (u - 8) / (largest + 2) :
					(u - 12) / (largest + 4 + 2);

		if (top == MAX_LEVELS)
			return err_create(ERR_SQLITE, "index too deep");
		if (nk <= cap) {
			lv[top].npages = 1;
			lv[top].base = nk;
			break;
		}
		size_t pages = (nk + 1 + cap) / (cap + 1);
		size_t on_pages = nk - (pages - 1);

		lv[top].npages = pages;
		lv[top].base = on_pages / pages;
		lv[top].extra = on_pages % pages;
		nk = pages - 1;
	}
	for (size_t k = 0; k <= top; k++) {
		lv[k].page.data = malloc(u);
		if (!lv[k].page.data) {
			err = &err_nomem;
			goto out;
		}
		page_reset(&lv[k].page, u, k ? PAGE_INTERIOR_INDEX :
					       PAGE_LEAF_INDEX);
		lv[k].target = level_target(&lv[k]);
	}
	for (size_t i = 0; i < n && !err; i++) {
		size_t len = entry(arg, i, rec, sizeof(rec)), k = 0;
		uint32_t child = 0;

		if (len > max_len) {
			err = err_create(ERR_SQLITE, "index entry of %zu bytes, "
					 "more than the %zu announced", len,
					 max_len);
			goto out;
		}

		while (lv[k].page.ncells == lv[k].target) {
			struct level *l = &lv[k];

			if (k == top || l->j + 1 == l->npages) {
				err = err_create(ERR_SQLITE, "index layout "
						 "does not add up");
				goto out;
			}
			page_seal(&l->page, child);
			err = emit_new(f, l->page.data, &child);
			if (err)
				goto out;
			l->j++;
			l->target = level_target(l);
			page_reset(&l->page, u, k ? PAGE_INTERIOR_INDEX :
						    PAGE_LEAF_INDEX);
			k++;
		}
		unsigned char *p = page_cell(&lv[k].page, (k ? 4 : 0) +
					     varint_len(len) + len);

		if (k) {
			put32(p, child);
			p += 4;
		}
		p += put_varint(p, len);
		memcpy(p, rec, len);
	}
	uint32_t child = 0;

	for (size_t k = 0; k <= top && !err; k++) {
		struct level *l = &lv[k];

		if (l->page.ncells != l->target || l->j + 1 != l->npages) {
			err = err_create(ERR_SQLITE, "index layout does not "
					 "add up");
			break;
		}
		page_seal(&l->page, child);
		err = k == top ? emit_at(f, l->page.data, root) :
				 emit_new(f, l->page.data, &child);
	}
out:
	for (size_t k = 0; k <= top && k < MAX_LEVELS; k++)
		free(lv[k].page.data);
	return err;
}
