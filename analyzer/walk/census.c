/* SPDX-License-Identifier: MIT */
/*
 * Reading pymalloc's arenas and pools (see census.h). Everything read is
 * checked against pymalloc's own invariants before it is believed: an
 * arena must be ARENA_SIZE bytes holding at most ARENA_SIZE / POOL_SIZE
 * pools; a pool's size class, maxnextoffset, nextoffset and count must
 * agree; a free chain must stay in its pool, on block boundaries, below
 * nextoffset, without loops, and leave exactly ref.count blocks
 * allocated. What fails is counted in census.problem and left out.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/census.h"
#include "cpython/layout.h"
#include "target/target.h"

enum {
	ARENA_CHUNK = 4096,          // arena_objects read at a time
	SMALL_REQUEST_THRESHOLD = 512,
};

struct reader {
	struct census *c;
	struct target *t;
	const struct layout *l;
	size_t arenas_cap, pools_cap, blocks_cap;
	uint64_t bad_arenas, unreadable_pools;
	unsigned char *pool;         // one pool's bytes
};

static void note(struct census *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

// Keep the first problem; later ones are counted by their callers.
static void note(struct census *c, const char *fmt, ...)
{
	va_list ap;

	if (c->problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->problem, sizeof(c->problem), fmt, ap);
	va_end(ap);
}

static bool grow(void **array, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 256;

	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*array, ncap * size);

	if (!p)
		return false;
	*array = p;
	*cap = ncap;
	return true;
}

// One arena_object: an arena if its address is set and it is sound.
static struct err *add_arena(struct reader *r, const unsigned char *ao)
{
	const struct layout *l = r->l;
	struct census *c = r->c;
	uint64_t addr, pool_address;
	uint32_t nfree, ntotal;

	memcpy(&addr, ao + l->ao_address, 8);
	if (!addr)
		return NULL;
	memcpy(&pool_address, ao + l->ao_pool_address, 8);
	memcpy(&nfree, ao + l->ao_nfreepools, 4);
	memcpy(&ntotal, ao + l->ao_ntotalpools, 4);
	uint64_t first = (addr + c->pool_size - 1) & ~(uint64_t)(c->pool_size - 1);

	if (addr > UINT64_MAX - c->arena_size ||
	    ntotal > c->arena_size / c->pool_size || nfree > ntotal ||
	    pool_address < first || pool_address > addr + c->arena_size ||
	    (pool_address - first) % c->pool_size) {
		r->bad_arenas++;
		return NULL;
	}
	if (!grow((void **)&c->arenas, &r->arenas_cap, c->narenas + 1,
		  sizeof(*c->arenas)))
		return &err_nomem;
	c->arenas[c->narenas++] = (struct census_arena){
		.addr = addr,
		.ntotalpools = ntotal,
		.nfreepools = nfree,
		.carved = (pool_address - first) / c->pool_size,
	};
	return NULL;
}

// The arena_objects of one state: arenas[0 .. maxarenas).
static struct err *read_arenas(struct reader *r, uint64_t arenas,
			       uint32_t maxarenas)
{
	size_t size = r->l->sizeof_arena_object;
	unsigned char *buf;
	struct err *err = NULL;

	if (maxarenas > CENSUS_MAX_ARENAS) {
		note(r->c, "pymalloc says it has %" PRIu32 " arena slots; "
			   "only the first %u were read", maxarenas,
		     CENSUS_MAX_ARENAS);
		maxarenas = CENSUS_MAX_ARENAS;
	}
	buf = malloc(ARENA_CHUNK * size);
	if (!buf)
		return &err_nomem;
	for (uint32_t i = 0; i < maxarenas && !err; i += ARENA_CHUNK) {
		uint32_t n = maxarenas - i < ARENA_CHUNK ? maxarenas - i :
							    ARENA_CHUNK;

		if (!target_read_ok(r->t, buf, arenas + (uint64_t)i * size,
				    n * size)) {
			note(r->c, "pymalloc's arena table at 0x%" PRIx64
				   " is not in the snapshot", arenas);
			break;
		}
		for (uint32_t k = 0; k < n && !err; k++)
			err = add_arena(r, buf + k * size);
	}
	free(buf);
	return err;
}

static int by_arena_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct census_arena *)a)->addr;
	uint64_t y = ((const struct census_arena *)b)->addr;

	return x < y ? -1 : x > y;
}

static uint32_t u32_at(const unsigned char *p, int32_t off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static uint64_t u64_at(const unsigned char *p, int32_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

/*
 * Whether a pool header in use is sound: maxnextoffset = POOL_SIZE - size
 * (Objects/obmalloc.c init_pool), the class step ALIGNMENT 16 (8 in early
 * 3.6 and 3.7 builds), nextoffset on a block boundary within the pool.
 * Gives the block size and the blocks carved out so far.
 */
static bool pool_sound(const struct reader *r, const unsigned char *h,
		       uint32_t *size_ret, uint32_t *carved_ret)
{
	const struct layout *l = r->l;
	uint32_t ps = r->c->pool_size, oh = r->c->pool_overhead;
	uint32_t count = u32_at(h, l->pool_count);
	uint32_t szidx = u32_at(h, l->pool_szidx);
	uint32_t next = u32_at(h, l->pool_nextoffset);
	uint32_t maxnext = u32_at(h, l->pool_maxnextoffset);
	uint32_t size = maxnext < ps ? ps - maxnext : 0;

	if (size < 8 || size > SMALL_REQUEST_THRESHOLD ||
	    (size != (szidx + 1) * 16 && size != (szidx + 1) * 8) ||
	    next < oh + size || next > ps + size || (next - oh) % size)
		return false;
	uint32_t carved = (next - oh) / size;

	if (carved > (ps - oh) / size)
		carved = (ps - oh) / size;
	*size_ret = size;
	*carved_ret = carved;
	return count <= carved;
}

/*
 * One carved pool of an arena: recorded if in use and sound, with the
 * state of each carved block.
 */
static struct err *read_pool(struct reader *r, struct census_arena *a,
			     uint64_t addr)
{
	const struct layout *l = r->l;
	struct census *c = r->c;
	const unsigned char *p = r->pool;
	uint32_t ps = c->pool_size, oh = c->pool_overhead;

	if (!target_read_ok(r->t, r->pool, addr, ps)) {
		r->unreadable_pools++;
		return NULL;
	}
	uint32_t count = u32_at(p, l->pool_count), size, carved;

	if (count == 0)
		return NULL;    // empty: on the arena's free pools
	if (!pool_sound(r, p, &size, &carved)) {
		r->c->bad_pools++;
		return NULL;
	}
	if (!grow((void **)&c->pools, &r->pools_cap, c->npools + 1,
		  sizeof(*c->pools)) ||
	    !grow((void **)&c->blocks, &r->blocks_cap, c->nblocks + carved, 1))
		return &err_nomem;
	struct census_pool *pool = &c->pools[c->npools++];

	*pool = (struct census_pool){
		.addr = addr,
		.arena = a->addr,
		.szidx = u32_at(p, l->pool_szidx),
		.block_size = size,
		.capacity = (ps - oh) / size,
		.carved = carved,
		.used = count,
		.first = c->nblocks,
	};
	uint8_t *state = c->blocks + c->nblocks;

	memset(state, CENSUS_USED, carved);
	c->nblocks += carved;
	a->used++;
	// The free chain, through each free block's first word.
	uint64_t b = u64_at(p, l->pool_freeblock);

	for (uint32_t steps = 0; b; steps++) {
		uint64_t off = b - addr;

		if (b < addr || off < oh || off >= oh + (uint64_t)carved * size ||
		    (off - oh) % size || steps >= carved ||
		    state[(off - oh) / size] == CENSUS_FREE) {
			pool->bad = true;
			break;
		}
		state[(off - oh) / size] = CENSUS_FREE;
		pool->nfree++;
		b = u64_at(p, off);
	}
	if (pool->carved - pool->nfree != pool->used)
		pool->bad = true;
	if (pool->bad)
		c->bad_pools++;
	return NULL;
}

/*
 * The pool holding a known object, if its header is sound: its arena
 * index then says which arena_object describes its arena.
 */
static bool sample_pool(struct reader *r, uint64_t obj, uint64_t *pool_ret,
			uint32_t *index_ret)
{
	const struct layout *l = r->l;
	uint32_t ps = r->c->pool_size, oh = r->c->pool_overhead, size, carved;
	uint64_t pool = obj & ~(uint64_t)(ps - 1);
	unsigned char h[64];

	if ((size_t)l->sizeof_pool_header > sizeof(h) ||
	    !target_read_ok(r->t, h, pool, l->sizeof_pool_header))
		return false;
	uint32_t index = u32_at(h, l->pool_arenaindex);

	if (!u32_at(h, l->pool_count) || !pool_sound(r, h, &size, &carved) ||
	    obj - pool < oh || obj - pool >= oh + (uint64_t)carved * size ||
	    index >= CENSUS_MAX_ARENAS)
		return false;
	*pool_ret = pool;
	*index_ret = index;
	return true;
}

// Whether the arena table at @p table describes the arena of each pool.
static bool table_fits(struct reader *r, uint64_t table, const uint64_t *pools,
		       const uint32_t *index, size_t n)
{
	const struct layout *l = r->l;

	for (size_t i = 0; i < n; i++) {
		uint64_t ao = table + (uint64_t)index[i] * l->sizeof_arena_object;
		uint64_t addr, pool_address;

		if (!target_read_u64(r->t, ao + l->ao_address, &addr) ||
		    !target_read_u64(r->t, ao + l->ao_pool_address,
				     &pool_address) ||
		    !addr || addr > pools[i] ||
		    pools[i] - addr >= r->c->arena_size ||
		    pool_address <= pools[i])
			return false;
	}
	return true;
}

/*
 * Before 3.12 without symbols: find the static `arenas` by what it must
 * point to. The pools of objects already found name their arenas by
 * index; the one word of the interpreter's data whose table has, at each
 * of those indexes, an arena holding that pool is `arenas`. Its length
 * (maxarenas) is what the allocation holds: glibc's chunk header before
 * the table gives its size.
 */
static bool scan_for_table(struct reader *r, const uint64_t *objects,
			   size_t nobjects, uint64_t *table_ret,
			   uint32_t *count_ret)
{
	const struct layout *l = r->l;
	uint64_t pools[16], found = 0, nfound = 0, hdr;
	uint32_t index[16], max_index = 0;
	size_t n = 0;

	for (size_t i = 0; i < nobjects && n < 16; i++) {
		uint64_t pool;
		uint32_t idx;
		bool seen = false;

		if (!sample_pool(r, objects[i], &pool, &idx))
			continue;
		for (size_t k = 0; k < n; k++)
			seen = seen || index[k] == idx;
		if (seen)
			continue;
		pools[n] = pool;
		index[n++] = idx;
		if (idx > max_index)
			max_index = idx;
	}
	if (n < 2)
		return false;
	const struct target_module *m = target_module(r->t, l->module);
	uint64_t at = m->start, start, len;
	const unsigned char *data;

	while (at < m->end && nfound < 2 &&
	       target_next_segment(r->t, at, &start, &len, &data) &&
	       start < m->end) {
		uint64_t end = start + len < m->end ? start + len : m->end;

		for (uint64_t a = (start + 7) & ~7ULL; a + 8 <= end; a += 8) {
			uint64_t v;

			memcpy(&v, data + (a - start), 8);
			if (!v || (v & 15) || v == found ||
			    !table_fits(r, v, pools, index, n))
				continue;
			found = v;
			nfound++;
		}
		at = end;
	}
	if (nfound != 1 || !target_read_u64(r->t, found - 8, &hdr))
		return false;
	// malloc_chunk size: low bits are flags, 2 = IS_MMAPPED (whose
	// header is two words, not one, of the size).
	uint64_t usable = (hdr & ~7ULL) - (hdr & 2 ? 16 : 8);
	uint64_t count = usable / l->sizeof_arena_object;

	if ((hdr & ~7ULL) < 16 || count <= max_index || count > CENSUS_MAX_ARENAS)
		return false;
	*table_ret = found;
	*count_ret = count;
	return true;
}

// Where each state's arena table is: its address and its length.
static bool state_tables(struct reader *r, const uint64_t *interps,
			 size_t ninterps, const uint64_t *objects,
			 size_t nobjects, uint64_t *tables, uint32_t *counts,
			 size_t *nret)
{
	const struct layout *l = r->l;
	size_t n = 0;

	*nret = 0;
	if (l->interp_obmalloc < 0) {
		// Before 3.12: statics of Objects/obmalloc.c, in .symtab only.
		uint64_t arenas, maxarenas;
		size_t m1, m2;

		if (!target_symbol(r->t, "arenas", &arenas, NULL, &m1) ||
		    !target_symbol(r->t, "maxarenas", &maxarenas, NULL, &m2) ||
		    (long)m1 != l->module || (long)m2 != l->module) {
			if (scan_for_table(r, objects, nobjects, &tables[0],
					   &counts[0])) {
				r->c->source = "scan";
				*nret = 1;
				return true;
			}
			note(r->c, "pymalloc's state (the statics arenas and "
				   "maxarenas of Objects/obmalloc.c) is not in "
				   "the symbols of '%s', and no table of arenas "
				   "in its data matches the pools of the objects "
				   "found", l->module_path);
			return false;
		}
		r->c->source = "symbols";
		if (!target_read_u64(r->t, arenas, &tables[0]) ||
		    !target_read_ok(r->t, &counts[0], maxarenas, 4)) {
			note(r->c, "pymalloc's statics are not in the snapshot");
			return false;
		}
		*nret = 1;
		return true;
	}
	uint64_t states[CENSUS_MAX_STATES];

	for (size_t i = 0; i < ninterps && n < CENSUS_MAX_STATES; i++) {
		uint64_t state = interps[i] + l->interp_obmalloc;
		bool seen = false;

		if (l->obmalloc_pointer &&
		    !target_read_u64(r->t, state, &state))
			continue;
		for (size_t k = 0; k < n; k++)
			seen = seen || states[k] == state;
		if (!state || seen)
			continue;
		if (!target_read_u64(r->t, state + l->obm_arenas, &tables[n]) ||
		    !target_read_ok(r->t, &counts[n], state + l->obm_maxarenas,
				    4))
			continue;
		states[n++] = state;
	}
	if (!n) {
		note(r->c, "pymalloc's state (PyInterpreterState.obmalloc) is "
			   "not in the snapshot");
		return false;
	}
	r->c->source = "interpreter";
	*nret = n;
	return true;
}

struct err *census_read(struct census *c, struct target *t,
			const struct layout *l, const uint64_t *interps,
			size_t ninterps, const uint64_t *objects,
			size_t nobjects)
{
	struct reader r = { .c = c, .t = t, .l = l };
	uint64_t tables[CENSUS_MAX_STATES];
	uint32_t counts[CENSUS_MAX_STATES];
	size_t ntables;
	struct err *err = NULL;

	memset(c, 0, sizeof(*c));
	c->arena_size = l->arena_size;
	c->pool_size = l->pool_size;
	c->pool_overhead = (l->sizeof_pool_header + 15) & ~15;
	if (l->sizeof_arena_object <= 0 || l->sizeof_pool_header <= 0 ||
	    l->ao_address < 0 || l->pool_count < 0 || !l->pool_size) {
		note(c, "the layout of Python %s has no pymalloc structs",
		     l->version);
		return NULL;
	}
	if (!state_tables(&r, interps, ninterps, objects, nobjects, tables,
			  counts, &ntables))
		return NULL;
	for (size_t i = 0; i < ntables && !err; i++)
		err = read_arenas(&r, tables[i], counts[i]);
	if (err)
		goto fail;
	if (c->narenas)
		qsort(c->arenas, c->narenas, sizeof(*c->arenas), by_arena_addr);
	// Overlapping arenas cannot both be real: keep the first.
	size_t kept = 0;

	for (size_t i = 0; i < c->narenas; i++) {
		if (kept && c->arenas[i].addr <
				    c->arenas[kept - 1].addr + c->arena_size) {
			r.bad_arenas++;
			continue;
		}
		c->arenas[kept++] = c->arenas[i];
	}
	c->narenas = kept;
	r.pool = malloc(c->pool_size);
	if (!r.pool) {
		err = &err_nomem;
		goto fail;
	}
	for (size_t i = 0; i < c->narenas && !err; i++) {
		struct census_arena *a = &c->arenas[i];
		uint64_t first = (a->addr + c->pool_size - 1) &
				 ~(uint64_t)(c->pool_size - 1);

		for (uint32_t k = 0; k < a->carved && !err; k++)
			err = read_pool(&r, a, first + (uint64_t)k * c->pool_size);
	}
	free(r.pool);
	if (err)
		goto fail;
	if (r.bad_arenas)
		note(c, "%" PRIu64 " arena entries are inconsistent and were "
			"left out", r.bad_arenas);
	if (r.unreadable_pools)
		note(c, "%" PRIu64 " pools are not in the snapshot",
		     r.unreadable_pools);
	if (c->bad_pools)
		note(c, "%" PRIu64 " pools are inconsistent (free chain or "
			"header)", c->bad_pools);
	c->available = true;
	return NULL;
fail:
	census_deinit(c);
	return err;
}

const struct census_pool *census_pool_of(const struct census *c,
					 uint64_t addr, size_t *block_ret)
{
	size_t lo = 0, hi = c->npools;

	// The last pool starting at or below addr.
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->pools[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct census_pool *p = &c->pools[lo - 1];
	uint64_t off = addr - p->addr;

	if (off >= c->pool_size)
		return NULL;
	if (block_ret) {
		*block_ret = SIZE_MAX;
		if (off >= c->pool_overhead &&
		    (off - c->pool_overhead) / p->block_size < p->carved)
			*block_ret = p->first +
				     (off - c->pool_overhead) / p->block_size;
	}
	return p;
}

void census_deinit(struct census *c)
{
	free(c->arenas);
	free(c->pools);
	free(c->blocks);
	c->arenas = NULL;
	c->pools = NULL;
	c->blocks = NULL;
	c->narenas = c->npools = c->nblocks = 0;
}
