/* SPDX-License-Identifier: MIT */
/*
 * Holders the references do not show. C code keeps objects where no
 * tp_traverse looks: a caller's locals on its thread's C stack, a static
 * of a loaded file (an extension's cached str or dict, an identifier, a
 * module definition's m_copy). Once the walk is done, the objects whose
 * reference count the references found do not explain are looked for in
 * that memory: each word pointing at one becomes a conservative root
 * labelled with its holder, which the anomalies name as its cause.
 *
 * A free list's slot (an interpreter's, or a static whose symbol names a
 * free list) is no holder: it points at an object since freed, or reused, and owns no
 * reference; a leak must not hide behind a stale slot.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/walk.h"
#include "decode/rows.h"
#include "analysis/graph.h"
#include "cpython/layout.h"
#include "target/target.h"

enum {
	STACK_SCAN_MAX = 64 << 20,  // bytes of one thread's stack scanned
	MALLOC_CHUNK_MAX = 1 << 24, // a malloc chunk's size taken as one
	MALLOC_SCAN_MAX = 4096,     // bytes of a malloc'd block scanned
	STATIC_SCAN_MAX = 1 << 28,  // bytes of a module's .data or .bss
};

// Whether a static named sym is a free list (Objects/*object.c:
// free_list, numfree's array, keys_free_list, freelist...).
static bool free_list_symbol(const char *sym)
{
	return sym && (strstr(sym, "free_list") || strstr(sym, "freelist"));
}

// Whether a static of the interpreter named sym keeps a borrowed pointer
// that owns nothing: the last slot name resolve_slotdups() looked up
// (Objects/typeobject.c, `static PyObject *pname`, a local static whose
// symbol may carry a suffix: pname.17).
static bool borrowed_symbol(const char *sym)
{
	return sym && !strncmp(sym, "pname", 5) &&
	       (sym[5] == 0 || sym[5] == '.');
}

// Whether the word at a is a slot of an interpreter's free list.
static bool in_free_list(const struct walk *w, uint64_t a)
{
	for (size_t i = 0; i < w->nfree_lists; i++)
		if (a >= w->free_lists[i].start && a < w->free_lists[i].end)
			return true;
	return false;
}

/*
 * A word of C memory that points at the start of a block in use that
 * holds no object or buffer found -- a pymalloc block, or a block of
 * glibc's malloc (its chunk header says so) -- a C struct: a thread's
 * bootstate, a module's table -- leads to the words of that block: each
 * pointing at a wanted object is a holder too, named after the block and
 * what points to it. One level only, and each block once.
 */
struct scan {
	struct walk *w;
	c_holder_fn *want;
	void *arg;
	struct addr_set blocks;   // blocks scanned already
};

// Whether p starts a pymalloc block in use that holds nothing found:
// its size, else 0.
static uint32_t pymalloc_block(struct scan *sc, uint64_t p)
{
	const struct census *c = &sc->w->census;
	const struct census_pool *pool;
	size_t k;

	if (!c->available || !c->npools || p < c->pools[0].addr ||
	    p >= c->pools[c->npools - 1].addr + c->pool_size)
		return 0;
	pool = census_pool_of(c, p, &k);
	if (!pool || k == SIZE_MAX || c->blocks[k] != CENSUS_USED ||
	    census_block_addr(c, pool, k) != p)
		return 0;
	return pool->block_size;
}

/*
 * A word that points at the text of a str holds the str: C code that
 * keeps a char * into it (a method table's ml_doc, a tp_doc) and the
 * reference it took (numpy's add_docstring). The str's address, if p is
 * where a wanted compact str's characters start, else 0.
 */
static uint64_t text_of(struct scan *sc, uint64_t p)
{
	const struct layout *l = sc->w->l;
	const int32_t heads[] = { l->sizeof_str_ascii, l->sizeof_str_compact };

	for (int i = 0; i < 2; i++) {
		if (heads[i] <= 0 || p < (uint64_t)heads[i])
			continue;
		uint64_t s = p - heads[i];

		if (!(s & 7) && sc->want(sc->w, s, sc->arg))
			return s;
	}
	return 0;
}

// A block of glibc's malloc p starts that is not an object: its usable
// bytes, capped at MALLOC_SCAN_MAX, else 0.
static uint32_t malloc_block(struct scan *sc, uint64_t p)
{
	struct walk *w = sc->w;
	uint64_t n;

	if (node_find(w, p) >= 0 || node_find(w, p + 16) >= 0)
		return 0;
	n = target_malloc_block(w->t, p, MALLOC_CHUNK_MAX);
	return n < MALLOC_SCAN_MAX ? (uint32_t)n : MALLOC_SCAN_MAX;
}

// A block p starts that is not scanned yet: its size and what it is.
static uint32_t unknown_block(struct scan *sc, uint64_t p, const char **what)
{
	uint32_t n;

	if (addr_set_has(&sc->blocks, p))
		return 0;
	if ((n = pymalloc_block(sc, p)))
		*what = "pymalloc";
	else if ((n = malloc_block(sc, p)))
		*what = "malloc'd";
	return n;
}

static void block_holders(struct scan *sc, uint64_t p, uint32_t size,
			  const char *what, const char *via,
			  enum heap_root_kind kind)
{
	struct walk *w = sc->w;
	char label[256];

	addr_set_add(&sc->blocks, p);
	for (uint32_t off = 0; off + 8 <= size && !w->err; off += 8) {
		uint64_t q;

		if (!target_read_u64(w->t, p + off, &q) || !q || (q & 7) ||
		    !sc->want(w, q, sc->arg))
			continue;
		snprintf(label, sizeof(label), "a %s block of %u bytes at "
			 "0x%" PRIx64 " (+%u) that %s points to", what, size, p,
			 off, via);
		root_add(w, q, kind, label, true);
	}
}

// The words of [start, end) of a module's statics, a page at a time.
static void static_range(struct scan *sc, uint64_t start, uint64_t end,
			 const char *base, uint64_t mod_start, bool interpreter,
			 char *label, size_t size)
{
	struct walk *w = sc->w;
	uint64_t page[512];

	for (uint64_t at = start; at < end && !w->err; at += sizeof(page)) {
		size_t n = (end - at < sizeof(page) ? end - at : sizeof(page)) / 8;

		if (!n || !target_read_ok(w->t, page, at, 8 * n))
			continue;
		for (size_t i = 0; i < n && !w->err; i++) {
			uint64_t p = page[i], a = at + 8 * i;

			if (!p || (p & 7))
				continue;
			bool hit = sc->want(w, p, sc->arg);
			const char *what = NULL;
			uint32_t block = hit ? 0 : unknown_block(sc, p, &what);
			uint64_t str = hit || block ? 0 : text_of(sc, p);

			if (!hit && !block && !str)
				continue;
			const char *sym = target_symbol_at(w->t, a);

			if (free_list_symbol(sym) || in_free_list(w, a) ||
			    (interpreter && borrowed_symbol(sym)))
				continue;
			snprintf(label, size, "static %s in %s+0x%" PRIx64,
				 sym ? sym : "?", base, a - mod_start);
			if (hit) {
				root_add(w, p, HEAP_ROOT_INTERPRETER, label,
					 true);
			} else if (str) {
				size_t len = strlen(label);

				snprintf(label + len, size - len, " (its text)");
				root_add(w, str, HEAP_ROOT_INTERPRETER, label,
					 true);
			} else {
				block_holders(sc, p, block, what, label,
					      HEAP_ROOT_INTERPRETER);
			}
		}
	}
}

// What a word of a thread holds: a wanted object, or a block to scan.
struct held {
	bool hit;
	uint32_t block;
	const char *what;
};

static bool thread_word(struct scan *sc, uint64_t p, struct held *h)
{
	if (!p || (p & 7))
		return false;
	h->hit = sc->want(sc->w, p, sc->arg);
	h->what = NULL;
	h->block = h->hit ? 0 : unknown_block(sc, p, &h->what);
	return h->hit || h->block;
}

static void thread_hold(struct scan *sc, uint64_t p, const struct held *h,
			const char *label)
{
	if (h->hit)
		root_add(sc->w, p, HEAP_ROOT_THREAD, label, true);
	else
		block_holders(sc, p, h->block, h->what, label,
			      HEAP_ROOT_THREAD);
}

enum {
	CAPSULE_POINTER = 16,   // PyCapsule.pointer (Objects/capsule.c)
	CAPSULE_NAME = 24,      // PyCapsule.name
};

// The node of the type exported as sym, or -1.
static long type_node(struct walk *w, const char *sym)
{
	uint64_t addr;

	return target_symbol(w->t, sym, &addr, NULL, NULL) ?
	       node_find(w, addr) : -1;
}

// The blocks the words of [p, p + size) start, scanned as holders.
static void state_blocks(struct scan *sc, uint64_t p, uint64_t size,
			 const char *via)
{
	struct walk *w = sc->w;
	char label[200];

	if (size > MALLOC_SCAN_MAX)
		size = MALLOC_SCAN_MAX;
	for (uint64_t off = 0; off + 8 <= size && !w->err; off += 8) {
		const char *what = NULL;
		uint64_t q;
		uint32_t block;

		if (!target_read_u64(w->t, p + off, &q) || !q || (q & 7) ||
		    sc->want(w, q, sc->arg) ||
		    !(block = unknown_block(sc, q, &what)))
			continue;
		snprintf(label, sizeof(label), "%s (+%" PRIu64 ")", via, off);
		block_holders(sc, q, block, what, label,
			      HEAP_ROOT_INTERPRETER);
	}
}

/*
 * Extension modules' states, capsules' C data, objects of types no
 * decoder knows: structs whose words are scanned with their object
 * (decode_module, decode_conservative), but whose tables are blocks of
 * their own -- 3.13 _decimal's signal and condition maps, each entry
 * holding its exception type; the struct of pointers a module exports in
 * a capsule (_socket.CAPI holds the socket type); numpy's DType classes'
 * slots, holding their casting implementations -- the pymalloc and
 * malloc'd blocks their words start are scanned here (the walk knows
 * only malloc'd ones).
 */
static void struct_blocks(struct scan *sc)
{
	struct walk *w = sc->w;
	const struct layout *l = w->l;
	char name[64], via[160];
	long modules = type_node(w, "PyModule_Type");
	long capsules = type_node(w, "PyCapsule_Type");

	for (size_t i = 0; i < w->nnodes && !w->err; i++) {
		const struct heap_node *x = &w->nodes[i];
		uint64_t state, def, size, p;

		if (capsules >= 0 && x->type == (uint32_t)capsules) {
			if (!target_read_u64(w->t, x->addr + CAPSULE_POINTER,
					     &p) || !p || (p & 7))
				continue;
			uint64_t name_addr = 0;

			if (!target_read_u64(w->t, x->addr + CAPSULE_NAME,
					     &name_addr) || !name_addr ||
			    target_read_string(w->t, name_addr, name,
					       sizeof(name)) < 1)
				snprintf(name, sizeof(name), "?");
			snprintf(via, sizeof(via), "capsule %s at 0x%" PRIx64,
				 name, x->addr);
			const char *what = NULL;
			uint32_t block = sc->want(w, p, sc->arg) ? 0 :
					 unknown_block(sc, p, &what);

			if (block)
				block_holders(sc, p, block, what, via,
					      HEAP_ROOT_INTERPRETER);
			continue;
		}
		if (x->type < w->nnodes &&
		    (modules < 0 || x->type != (uint32_t)modules)) {
			const struct decode_type *ti =
				type_find(w, w->nodes[x->type].addr);

			// Undecoded, or a type whose metatype adds fields.
			int64_t from = !ti || !ti->valid ? -1 : !ti->row ? 16 :
				ti->row->decode == decode_metatype ?
				l->sizeof_heaptype : -1;

			if (from <= 0 || ti->basicsize <= from)
				continue;
			snprintf(via, sizeof(via), "%.100s at 0x%" PRIx64,
				 ti->name, x->addr);
			state_blocks(sc, x->addr + (uint64_t)from,
				     (uint64_t)(ti->basicsize - from), via);
			continue;
		}
		if (modules < 0 || x->type != (uint32_t)modules ||
		    l->module_state < 0 || l->moduledef_size < 0 ||
		    !target_read_u64(w->t, x->addr + l->module_state, &state) ||
		    !state ||
		    !target_read_u64(w->t, x->addr + l->module_def, &def) ||
		    !def ||
		    !target_read_u64(w->t, def + l->moduledef_size, &size) ||
		    (int64_t)size <= 0)
			continue;
		uint64_t name_addr = 0;

		const char *problem = w->dc.problem;

		name[0] = 0;
		if (target_read_u64(w->t, x->addr + l->module_name, &name_addr))
			decode_str(&w->dc, name_addr, false, name,
				   sizeof(name), NULL);
		w->dc.problem = problem;   // no object is being decoded
		snprintf(via, sizeof(via), "the state of module %s at 0x%" PRIx64,
			 name[0] ? name : "?", x->addr);
		state_blocks(sc, state, size, via);
	}
}

/*
 * The pymalloc blocks in use that hold no object or buffer found: C
 * structs extensions allocate with PyMem_Malloc -- sqlite3's callback
 * context, which holds the function it calls and the module -- that
 * only other C memory points to, deeper than the scans above follow. A
 * word of one that points at a wanted object is a holder when the block
 * is live C memory: some word outside every object points at its start
 * (an object's own buffer is pointed to by its object; a block nothing
 * points to is itself leaked, and holds nothing).
 */
enum {
	ORPHAN_HITS_MAX = 1 << 16,  // words of such blocks that hold wanted
};

struct orphan_hit {
	uint64_t block, word;       // the block, the object it points at
	uint32_t size, off;
};

static int cmp_hit(const void *a, const void *b)
{
	const struct orphan_hit *x = a, *y = b;

	return x->block < y->block ? -1 : x->block > y->block;
}

// Whether memory at a lies in a found object's pymalloc block.
static bool in_object_block(struct walk *w, uint64_t a)
{
	const struct census *c = &w->census;
	const struct census_pool *p;
	size_t k;

	p = census_pool_of(c, a, &k);
	return p && k != SIZE_MAX && c->blocks[k] == CENSUS_OBJECT;
}

static void orphan_blocks(struct scan *sc)
{
	struct walk *w = sc->w;
	const struct census *c = &w->census;
	const struct layout *l = w->l;
	const uint32_t heads[3] = { 0, (uint32_t)l->sizeof_gc_head,
				    (uint32_t)(l->sizeof_gc_head + l->preheader) };
	struct addr_set bufs = { 0 };
	struct orphan_hit *hits = NULL;
	size_t nhits = 0;
	uint64_t block[64];

	if (!c->available || l->sizeof_gc_head < 0)
		return;
	for (size_t i = 0; i < w->nbufs; i++)
		addr_set_add(&bufs, w->bufs[i].addr);
	for (size_t i = 0; i < c->npools && !w->err; i++) {
		const struct census_pool *p = &c->pools[i];

		if (p->block_size > sizeof(block))
			continue;
		for (size_t k = p->first; k < p->first + p->carved &&
		     !w->err; k++) {
			uint64_t b = census_block_addr(c, p, k);
			bool dead = false;

			if (c->blocks[k] != CENSUS_USED ||
			    addr_set_has(&bufs, b) ||
			    addr_set_has(&w->cached_keys, b) ||
			    addr_set_has(&w->split_keys, b) ||
			    node_find(w, b) >= 0 ||
			    !target_read_ok(w->t, block, b, p->block_size))
				continue;
			// An object freed onto a free list, or never found:
			// its type is still where an object's would be. One
			// freed onto a type's own free list (3.12+ _asyncio's
			// FutureIter) keeps the reference to its heap type
			// that every instance holds until it is freed for good.
			for (int h = 0; h < 3 && !dead; h++) {
				uint64_t type = heads[h] + 16 <= p->block_size ?
						block[(heads[h] + 8) / 8] : 0;
				char label[160];

				dead = type_verdict(w, type) == TYPE_YES;
				if (!dead || block[heads[h] / 8] != 0 ||
				    !sc->want(w, type, sc->arg))
					continue;
				snprintf(label, sizeof(label), "an instance "
					 "at 0x%" PRIx64 " freed onto a free "
					 "list, which keeps its type",
					 b + heads[h]);
				root_add(w, type, HEAP_ROOT_INTERPRETER,
					 label, true);
			}
			for (uint32_t off = 0; !dead &&
			     off + 8 <= p->block_size; off += 8) {
				uint64_t q = block[off / 8];

				if (!q || (q & 7) || !sc->want(w, q, sc->arg))
					continue;
				if (nhits == ORPHAN_HITS_MAX)
					break;
				if (!(nhits & (nhits + 1))) {
					size_t cap = 2 * (nhits + 1);
					struct orphan_hit *h =
						realloc(hits, cap * sizeof(*h));

					if (!h)
						break;
					hits = h;
				}
				hits[nhits++] = (struct orphan_hit){
					.block = b, .word = q,
					.size = p->block_size, .off = off,
				};
			}
		}
	}
	addr_set_free(&bufs);
	if (!nhits) {
		free(hits);
		return;
	}
	qsort(hits, nhits, sizeof(*hits), cmp_hit);
	// Who points at each such block: one pass over the memory.
	struct addr_set starts = { 0 }, owned = { 0 };
	uint64_t *from = calloc(nhits, sizeof(*from));
	uint64_t at = 0, start, len;
	const unsigned char *data;

	for (size_t i = 0; i < nhits; i++)
		addr_set_add(&starts, hits[i].block);
	while (from && target_next_segment(w->t, at, &start, &len, &data) &&
	       !w->err) {
		for (uint64_t a = (start + 7) & ~7ULL; a + 8 <= start + len;
		     a += 8) {
			uint64_t p;

			memcpy(&p, data + (a - start), 8);
			if ((p & 7) || !addr_set_has(&starts, p))
				continue;
			if (in_object_block(w, a)) {
				addr_set_add(&owned, p);
				continue;
			}
			struct orphan_hit key = { .block = p };
			struct orphan_hit *h = bsearch(&key, hits, nhits,
						       sizeof(*hits), cmp_hit);
			size_t r = h ? (size_t)(h - hits) : 0;

			// The first hit of the block keeps who points at it;
			// the block's own words do not hold it.
			while (h && r > 0 && hits[r - 1].block == p)
				r--;
			if (h && !from[r] && !(a >= p && a < p + h->size))
				from[r] = a;
		}
		at = start + len;
	}
	for (size_t i = 0, first = 0; from && i < nhits && !w->err; i++) {
		char label[256];

		if (hits[i].block != hits[first].block)
			first = i;
		if (!from[first] || addr_set_has(&owned, hits[i].block))
			continue;
		snprintf(label, sizeof(label), "a pymalloc block of %u bytes at "
			 "0x%" PRIx64 " (+%u), C memory no object owns, that "
			 "0x%" PRIx64 " points to", hits[i].size, hits[i].block,
			 hits[i].off, from[first]);
		root_add(w, hits[i].word, HEAP_ROOT_INTERPRETER, label, true);
	}
	free(from);
	addr_set_free(&starts);
	addr_set_free(&owned);
	free(hits);
}

enum {
	REG_RIP = 16,           // of struct user_regs_struct (target.h order)
	REG_FS_BASE = 21,       // a thread's pthread_t, with glibc on x86-64
};

/*
 * "thread 2 (LWP 4242, Python frame run (service.py), in
 * futex_wait)": thread i of the target, and what it runs when the
 * interpreter knows it (its thread state's pthread_t is its fs_base),
 * with the function its instruction pointer is in.
 */
static void thread_where(struct walk *w, size_t i, const uint64_t *regs,
			 char *out, size_t size)
{
	const struct walk_thread *t = NULL;
	const char *fn = regs ? target_symbol_at(w->t, regs[REG_RIP]) : NULL;
	char lwp[32] = "", in[96] = "";
	const char *parts[3];
	int nparts = 0;

	for (size_t k = 0; regs && k < w->nthreads && !t; k++)
		if (w->threads[k].pthread &&
		    w->threads[k].pthread == regs[REG_FS_BASE])
			t = &w->threads[k];
	if (t && t->tid) {
		snprintf(lwp, sizeof(lwp), "LWP %" PRIu64, t->tid);
		parts[nparts++] = lwp;
	}
	if (t && t->frame[0])
		parts[nparts++] = t->frame;
	if (fn) {
		// Without its version: "clock_nanosleep@GLIBC_2.2.5".
		snprintf(in, sizeof(in), "in %.*s", (int)strcspn(fn, "@"), fn);
		parts[nparts++] = in;
	}
	snprintf(out, size, "thread %zu%s%s%s%s%s%s%s", i + 1,
		 nparts ? " (" : "", nparts > 0 ? parts[0] : "",
		 nparts > 1 ? ", " : "", nparts > 1 ? parts[1] : "",
		 nparts > 2 ? ", " : "", nparts > 2 ? parts[2] : "",
		 nparts ? ")" : "");
}

void c_memory_roots(struct walk *w, c_holder_fn *want, void *arg)
{
	struct scan sc = { .w = w, .want = want, .arg = arg };
	struct held held;
	char label[400];

	struct_blocks(&sc);

	for (size_t m = 0; m < target_num_modules(w->t) && !w->err; m++) {
		const struct target_module *mod = target_module(w->t, m);
		const char *base = strrchr(mod->name, '/');
		static const char *const sections[] = { ".data", ".bss" };
		uint64_t ranges[2][2];
		size_t nranges = 0;

		base = base ? base + 1 : mod->name;
		// Statics are in .data and .bss (a live process's .bss is the
		// anonymous mapping after its file's); without section
		// headers, all of the module's memory.
		for (size_t k = 0; k < 2; k++) {
			uint64_t at, size;

			if (target_section(w->t, m, sections[k], &at, &size) &&
			    size && size < STATIC_SCAN_MAX) {
				ranges[nranges][0] = at;
				ranges[nranges++][1] = at + size;
			}
		}
		if (!nranges) {
			ranges[0][0] = mod->start;
			ranges[0][1] = mod->end;
			nranges = 1;
		}
		bool interpreter = mod->path && w->l->module_path &&
				   !strcmp(mod->path, w->l->module_path);

		for (size_t k = 0; k < nranges && !w->err; k++)
			static_range(&sc, ranges[k][0] & ~7ULL, ranges[k][1],
				     base, mod->start, interpreter, label,
				     sizeof(label));
	}
	// Each thread's C stack, from its stack pointer up: a C caller
	// holds what it is working on there.
	const uint64_t *sps, *regs;
	size_t nsps = target_stack_pointers(w->t, &sps);
	size_t nregs = target_thread_registers(w->t, &regs);
	char where[256];

	for (size_t i = 0; i < nsps && !w->err; i++) {
		uint64_t start, len;
		const unsigned char *data;

		if (!target_next_segment(w->t, sps[i], &start, &len, &data) ||
		    start > sps[i])
			continue;
		thread_where(w, i, i < nregs ? regs + i * TARGET_NREGS : NULL,
			     where, sizeof(where));
		for (uint64_t a = (sps[i] + 7) & ~7ULL; a + 8 <= start + len &&
		     a - sps[i] < STACK_SCAN_MAX; a += 8) {
			uint64_t p;

			memcpy(&p, data + (a - start), 8);
			if (!thread_word(&sc, p, &held))
				continue;
			snprintf(label, sizeof(label), "C stack of %s at 0x%"
				 PRIx64, where, a);
			thread_hold(&sc, p, &held, label);
		}
	}
	// And each thread's registers: a caller's callee-saved ones hold
	// what it works on while the thread is blocked in the kernel.
	static const char *const reg_names[TARGET_NREGS] = {
		"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9",
		"r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip",
		"cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es",
		"fs", "gs",
	};
	for (size_t i = 0; i < nregs && !w->err; i++) {
		thread_where(w, i, regs + i * TARGET_NREGS, where,
			     sizeof(where));
		for (int r = 0; r < TARGET_NREGS; r++) {
			uint64_t p = regs[i * TARGET_NREGS + r];

			if (!thread_word(&sc, p, &held))
				continue;
			snprintf(label, sizeof(label), "register %s of %s",
				 reg_names[r], where);
			thread_hold(&sc, p, &held, label);
		}
	}
	orphan_blocks(&sc);
	addr_set_free(&sc.blocks);
}

void frame_span(struct walk *w, uint64_t start, uint64_t end,
		const char *label)
{
	if (end <= start || w->nframe_spans >= MAX_FRAME_SPANS)
		return;
	if (end - start > 8 * (uint64_t)MAX_FRAME_STACK)
		end = start + 8 * (uint64_t)MAX_FRAME_STACK;
	if (w->nframe_spans == w->frame_spans_cap) {
		size_t cap = w->frame_spans_cap ? 2 * w->frame_spans_cap : 64;
		struct frame_span *p = realloc(w->frame_spans,
					       cap * sizeof(*p));

		if (!p)
			return;
		w->frame_spans = p;
		w->frame_spans_cap = cap;
	}
	struct frame_span *s = &w->frame_spans[w->nframe_spans++];

	s->start = start & ~7ULL;
	s->end = end;
	snprintf(s->label, sizeof(s->label), "%s", label);
}

// The words of running frames' value stacks past what was read.
static void frame_holders(struct walk *w, c_holder_fn *want, void *arg)
{
	char label[200];

	for (size_t i = 0; i < w->nframe_spans && !w->err; i++) {
		const struct frame_span *s = &w->frame_spans[i];

		for (uint64_t a = s->start; a + 8 <= s->end && !w->err; a += 8) {
			uint64_t p;

			if (!target_read_u64(w->t, a, &p) || !p || (p & 7) ||
			    !want(w, p, arg))
				continue;
			snprintf(label, sizeof(label), "%.140s value stack at "
				 "0x%" PRIx64 " (running: its top unknown)",
				 s->label, a);
			root_add(w, p, HEAP_ROOT_FRAME, label, true);
		}
	}
}

struct unexplained {
	uint8_t *node;        // [nnodes] 1: look for its holders; 2: count
			      // the words pointing at it only
	uint64_t lo, hi;      // their addresses' range
};

/*
 * How many words of the whole memory, and of the threads' registers,
 * hold the address of each object still unexplained: a count above that
 * is references nobody holds -- a reference taken and never released,
 * whatever memory the walk did not read (no reference is kept but as a
 * pointer). Sets w->mem_words[node] (UINT32_MAX: not counted). Not without
 * the threads' registers: a process read while it runs (--no-stop) may
 * have moved a pointer from one word to another while it was copied.
 */
static void memory_words(struct walk *w, const struct unexplained *u)
{
	struct addr_set want = { 0 };
	uint64_t at = 0, start, len;
	const unsigned char *data;
	const uint64_t *regs;
	size_t nregs = target_thread_registers(w->t, &regs);

	if (!nregs)
		return;
	w->mem_words = malloc((w->nnodes + 1) * sizeof(*w->mem_words));
	if (!w->mem_words)
		return;
	memset(w->mem_words, 0xff, (w->nnodes + 1) * sizeof(*w->mem_words));
	for (size_t i = 0; i < w->nnodes; i++) {
		if (u->node[i]) {
			w->mem_words[i] = 0;
			addr_set_add(&want, w->nodes[i].addr);
		}
	}
	while (target_next_segment(w->t, at, &start, &len, &data) &&
	       !w->err) {
		uint64_t first = (start + 7) & ~7ULL;

		for (uint64_t a = first; a + 8 <= start + len; a += 8) {
			uint64_t p;

			memcpy(&p, data + (a - start), 8);
			if (p < u->lo || p > u->hi || (p & 7) ||
			    !addr_set_has(&want, p))
				continue;
			long n = node_find(w, p);

			if (n >= 0 && w->mem_words[n] < UINT32_MAX - 1)
				w->mem_words[n]++;
		}
		at = start + len;
	}
	for (size_t i = 0; i < nregs * TARGET_NREGS; i++) {
		long n = addr_set_has(&want, regs[i]) ? node_find(w, regs[i]) : -1;

		if (n >= 0 && w->mem_words[n] < UINT32_MAX - 1)
			w->mem_words[n]++;
	}
	addr_set_free(&want);
}

static bool unexplained(struct walk *w, uint64_t p, void *arg)
{
	const struct unexplained *u = arg;
	long n;

	return p >= u->lo && p <= u->hi && (n = node_find(w, p)) >= 0 &&
	       u->node[n] == 1;
}

void walk_holders(struct walk *w)
{
	edges_settle(w);
	if (w->err)
		return;
	const struct heap_graph g = {
		.nnodes = w->nnodes,
		.nodes = w->nodes,
		.nedges = w->nedges,
		.src = w->esrc,
		.dst = w->edst,
		.kind = w->ekind,
		.nroots = w->nroots,
		.root = w->roots,
		.root_conservative = w->roots_flags,
		.interned = w->interned,
		.uncounted_type = HEAP_NONE,
	};
	struct graph_anomaly *a = NULL;
	size_t na = 0, want = 0;
	struct unexplained u = { .lo = UINT64_MAX };

	w->err = graph_anomalies(&g, &a, &na);
	if (w->err)
		return;
	u.node = calloc(w->nnodes + 1, 1);
	if (!u.node) {
		w->err = &err_nomem;
		free(a);
		return;
	}
	// Objects found in the arenas only had their C memory scanned by
	// the census already.
	for (size_t i = 0; i < na; i++) {
		const struct heap_node *x = &w->nodes[a[i].node];

		if (a[i].kind == GRAPH_DEFICIT || a[i].explained)
			continue;
		u.node[a[i].node] = x->flags & HEAP_NODE_ARENA ? 2 : 1;
		u.lo = x->addr < u.lo ? x->addr : u.lo;
		u.hi = x->addr > u.hi ? x->addr : u.hi;
	}
	known_leaks(w, a, na, u.node);
	free(a);
	want = 0;
	for (size_t i = 0; i < w->nnodes; i++)
		want += u.node[i] == 1;
	if (want && !w->err) {
		frame_holders(w, unexplained, &u);
		c_memory_roots(w, unexplained, &u);
	}
	if (u.lo <= u.hi) {
		memory_words(w, &u);
		cython_constants(w, u.node);
	}
	free(u.node);
}
