/* SPDX-License-Identifier: MIT */
/*
 * The census's part of the walk: the objects only pymalloc's arenas hold,
 * the C statics and stacks that hold them, and the accounting of every
 * allocated block by what holds it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "walk/walk.h"
#include "cpython/layout.h"
#include "util/mem.h"
#include "target/target.h"

/*
 * The block (index in census.blocks) holding the allocation of node i,
 * which starts at most the GC head and the 3.11+ pre-header before the
 * object; SIZE_MAX if no pool in use holds it.
 */
static size_t node_block(struct walk *w, size_t i,
			 const struct census_pool **pool_ret)
{
	struct census *c = &w->census;
	uint64_t addr = w->nodes[i].addr;
	size_t k;
	const struct census_pool *p = census_pool_of(c, addr, &k);

	if (!p || k == SIZE_MAX || addr - census_block_addr(c, p, k) >
					   w->l->sizeof_gc_head + w->l->preheader)
		return SIZE_MAX;
	*pool_ret = p;
	return k;
}

/*
 * Whether the bytes of an allocated block, @p off bytes into it, are a
 * live object nothing else found: its type is a type object, its count
 * that of a live object (freed objects and those cached in free lists
 * have 0, or a pointer in that word), the offset is the GC head and
 * pre-header its type puts before it, a GC object is untracked (a tracked
 * one is on a collector list, unless a list was broken), and its size is
 * that of the block's size class.
 */
static bool census_candidate(struct walk *w, const unsigned char *block,
			     uint32_t block_size, uint32_t off, uint64_t obj)
{
	const struct layout *l = w->l;
	uint64_t refcnt, type;

	if (off + 16 > block_size)
		return false;
	memcpy(&refcnt, block + off + l->ob_refcnt, 8);
	memcpy(&type, block + off + l->ob_type, 8);
	if (!plausible_refcnt(w, obj, refcnt) ||
	    type_verdict(w, type) != TYPE_YES)
		return false;
	// A type found valid is kept.
	struct decode_type *ti = type_find(w, type);
	bool gc = ti->flags & TPFLAGS_HAVE_GC;
	uint64_t next;

	if (off != (gc ? l->sizeof_gc_head + (ti->flags & l->preheader_flags ?
					      l->preheader : 0) : 0))
		return false;
	if (gc) {
		memcpy(&next, block + off - l->sizeof_gc_head + l->gchead_next, 8);
		if (next && !w->st->truncated)
			return false;
	}
	// decode_size reads through decode_read(), which blames the object
	// being decoded: none is now.
	const char *problem = w->dc.problem;
	int64_t size = decode_size(&w->dc, obj, ti, NULL, 0);

	w->dc.problem = problem;
	return size > 0 && size <= block_size && size > block_size - 16;
}

// Add the objects only the arenas hold: allocated blocks nothing found.
static void census_find(struct walk *w)
{
	struct census *c = &w->census;
	const struct layout *l = w->l;
	uint32_t offsets[3] = { 0, l->sizeof_gc_head,
				l->sizeof_gc_head + l->preheader };
	unsigned noffsets = l->preheader ? 3 : 2;
	unsigned char *pool = malloc(c->pool_size);

	if (!pool) {
		w->err = &err_nomem;
		return;
	}
	for (size_t i = 0; i < w->nnodes; i++) {
		const struct census_pool *p;
		size_t k = node_block(w, i, &p);

		if (k != SIZE_MAX && c->blocks[k] == CENSUS_USED)
			c->blocks[k] = CENSUS_OBJECT;
	}
	for (size_t i = 0; i < c->npools && !w->err; i++) {
		const struct census_pool *p = &c->pools[i];
		bool any = false;

		for (size_t k = p->first; k < p->first + p->carved; k++)
			any = any || c->blocks[k] == CENSUS_USED;
		if (!any || !target_read_ok(w->t, pool, p->addr, c->pool_size))
			continue;
		for (size_t k = p->first; k < p->first + p->carved && !w->err;
		     k++) {
			uint64_t b = census_block_addr(c, p, k);

			if (c->blocks[k] != CENSUS_USED)
				continue;
			for (unsigned j = 0; j < noffsets; j++) {
				bool added;
				long n;

				if (!census_candidate(w, pool + (b - p->addr),
						      p->block_size, offsets[j],
						      b + offsets[j]))
					continue;
				n = node_add(w, b + offsets[j], -1, &added);
				if (n < 0)
					break;
				if (added) {
					w->nodes[n].flags |= HEAP_NODE_ARENA;
					w->st->arena_objects++;
				}
				c->blocks[k] = CENSUS_OBJECT;
				break;
			}
		}
	}
	free(pool);
}

/*
 * C statics hold objects too: an extension's cached str or dict, a path
 * the runtime keeps. The memory of every loaded file and each thread's C
 * stack are scanned for words pointing at an object found in the arenas
 * only (holders.c), each recorded as a conservative root labelled with
 * its holder, so that such an object is not taken for a leak. Only those
 * objects: the others were found through references.
 */
static bool arena_only(struct walk *w, uint64_t p, void *arg)
{
	struct census *c = &w->census;
	size_t k;
	long n;

	(void)arg;
	return c->npools && p >= c->pools[0].addr &&
	       p < c->pools[c->npools - 1].addr + c->pool_size && !(p & 7) &&
	       census_pool_of(c, p, &k) && k != SIZE_MAX &&
	       c->blocks[k] == CENSUS_OBJECT && (n = node_find(w, p)) >= 0 &&
	       (w->nodes[n].flags & HEAP_NODE_ARENA);
}

static void static_roots(struct walk *w)
{
	if (w->st->arena_objects)
		c_memory_roots(w, arena_only, NULL);
}

struct usage_key {
	uint32_t block_size;
	bool buffer;
	uint64_t type;
};

struct usage_row {
	struct usage_key key;
	uint64_t blocks, arena_found;
};

struct usage_table {
	struct usage_row *rows;   // open addressing
	size_t n, cap;
};

static struct usage_row *usage_get(struct usage_table *u, struct usage_key key)
{
	if ((u->n + 1) * 2 > u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 256;
		struct usage_row *rows = calloc(cap, sizeof(*rows));

		if (!rows)
			return NULL;
		for (size_t i = 0; i < u->cap; i++) {
			if (!u->rows[i].blocks)
				continue;
			size_t h = mem_hash_addr(u->rows[i].key.type ^
						 u->rows[i].key.block_size ^
						 u->rows[i].key.buffer) & (cap - 1);

			while (rows[h].blocks)
				h = (h + 1) & (cap - 1);
			rows[h] = u->rows[i];
		}
		free(u->rows);
		u->rows = rows;
		u->cap = cap;
	}
	size_t h = mem_hash_addr(key.type ^ key.block_size ^ key.buffer) &
		   (u->cap - 1);

	while (u->rows[h].blocks &&
	       (u->rows[h].key.type != key.type ||
		u->rows[h].key.block_size != key.block_size ||
		u->rows[h].key.buffer != key.buffer))
		h = (h + 1) & (u->cap - 1);
	if (!u->rows[h].blocks) {
		u->rows[h].key = key;
		u->n++;
	}
	return &u->rows[h];
}

// The type object's address of node i, or 0.
static uint64_t node_type_addr(struct walk *w, size_t i)
{
	uint32_t t = w->nodes[i].type;

	return t == HEAP_NONE || t >= w->nnodes ? 0 : w->nodes[t].addr;
}

/*
 * Account for every allocated block by what holds it: an object found
 * (of which type), a buffer of one, or nothing found; and report the
 * arenas, pools and usage to the consumer.
 */
void census_account(struct walk *w)
{
	struct census *c = &w->census;
	struct heap_stats *st = w->st;
	struct usage_table u = { 0 };
	uint32_t *objects = calloc(c->npools + 1, sizeof(*objects));
	uint32_t *buffers = calloc(c->npools + 1, sizeof(*buffers));

	if (!objects || !buffers) {
		w->err = &err_nomem;
		goto out;
	}
	// Start again from the objects found in the end: one per block.
	for (size_t k = 0; k < c->nblocks; k++) {
		if (c->blocks[k] == CENSUS_OBJECT)
			c->blocks[k] = CENSUS_USED;
	}
	for (size_t i = 0; i < w->nnodes && !w->err; i++) {
		const struct census_pool *p;
		size_t k = node_block(w, i, &p);

		if (k == SIZE_MAX)
			continue;
		if (c->blocks[k] == CENSUS_FREE) {
			st->pm_dangling++;
			continue;
		}
		if (c->blocks[k] != CENSUS_USED)
			continue;
		c->blocks[k] = CENSUS_OBJECT;
		objects[p - c->pools]++;
		struct usage_row *r = usage_get(&u, (struct usage_key){
			.block_size = p->block_size,
			.type = node_type_addr(w, i),
		});
		if (!r) {
			w->err = &err_nomem;
			break;
		}
		r->blocks++;
		r->arena_found += !!(w->nodes[i].flags & HEAP_NODE_ARENA);
	}
	for (size_t i = 0; i < w->nbufs && !w->err; i++) {
		size_t k;
		const struct census_pool *p =
			census_pool_of(c, w->bufs[i].addr, &k);

		if (!p || k == SIZE_MAX || c->blocks[k] != CENSUS_USED)
			continue;
		c->blocks[k] = CENSUS_BUFFER;
		buffers[p - c->pools]++;
		struct usage_row *r = usage_get(&u, (struct usage_key){
			.block_size = p->block_size,
			.buffer = true,
			.type = node_type_addr(w, w->bufs[i].owner),
		});
		if (!r) {
			w->err = &err_nomem;
			break;
		}
		r->blocks++;
	}
	st->pm_arenas = c->narenas;
	st->pm_pools = c->npools;
	st->pm_arena_bytes = (uint64_t)c->narenas * c->arena_size;
	for (size_t i = 0; i < c->narenas && !w->err && w->c->arena; i++) {
		const struct census_arena *a = &c->arenas[i];
		struct heap_arena ha = {
			.addr = a->addr,
			.size = c->arena_size,
			.pools = a->ntotalpools,
			.free_pools = a->nfreepools,
			.used_pools = a->used,
		};
		w->err = w->c->arena(w->c->arg, &ha);
	}
	for (size_t i = 0; i < c->npools && !w->err; i++) {
		const struct census_pool *p = &c->pools[i];
		struct heap_pool hp = {
			.addr = p->addr,
			.arena = p->arena,
			.block_size = p->block_size,
			.capacity = p->capacity,
			.used = p->used,
			.objects = objects[i],
			.buffers = buffers[i],
			.bad = p->bad,
		};
		st->pm_used_bytes += (uint64_t)p->used * p->block_size;
		st->pm_free_bytes += (uint64_t)(p->capacity - p->used) *
				     p->block_size;
		st->pm_object_bytes += (uint64_t)objects[i] * p->block_size;
		st->pm_buffer_bytes += (uint64_t)buffers[i] * p->block_size;
		if (w->c->pool)
			w->err = w->c->pool(w->c->arg, &hp);
	}
	st->pm_unknown_bytes = st->pm_used_bytes - st->pm_object_bytes -
			       st->pm_buffer_bytes;
	for (size_t i = 0; i < u.cap && !w->err && w->c->usage; i++) {
		const struct usage_row *r = &u.rows[i];
		struct decode_type *ti = r->blocks && r->key.type ?
			type_find(w, r->key.type) : NULL;

		if (!r->blocks)
			continue;
		struct heap_usage hu = {
			.block_size = r->key.block_size,
			.buffer = r->key.buffer,
			.type_addr = r->key.type,
			.type = ti ? ti->name : NULL,
			.blocks = r->blocks,
			.arena_found = r->arena_found,
		};
		w->err = w->c->usage(w->c->arg, &hu);
	}
out:
	free(u.rows);
	free(objects);
	free(buffers);
}

// The interpreters, for their pymalloc states (3.12+).
static size_t interpreters(struct walk *w, uint64_t *out, size_t max)
{
	const struct layout *l = w->l;
	uint64_t interp = 0;
	size_t n = 0;

	if (l->runtime_addr)
		interp = walk_peek(w, l->runtime_addr, l->rt_interpreters_head);
	while (interp && n < max) {
		out[n++] = interp;
		interp = walk_peek(w, interp, l->interp_next);
	}
	return n;
}

double census_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void census_walk(struct walk *w)
{
	double start = census_clock();
	uint64_t interps[CENSUS_MAX_STATES], sample[256];
	size_t n = interpreters(w, interps, CENSUS_MAX_STATES), nsample = 0;

	// Objects found, spread over the heap, in case the state must be
	// found through their pools.
	for (size_t i = 0; i < w->nnodes && nsample < 256;
	     i += 1 + w->nnodes / 256)
		sample[nsample++] = w->nodes[i].addr;
	w->err = census_read(&w->census, w->t, w->l, interps, n, sample,
			     nsample);
	if (w->err)
		return;
	w->st->census_source = w->census.source;
	snprintf(w->st->census_problem, sizeof(w->st->census_problem), "%s",
		 w->census.problem);
	w->st->census = w->census.available;
	if (w->census.available) {
		census_find(w);
		static_roots(w);
	}
	w->st->census_ms += census_clock() - start;
}

