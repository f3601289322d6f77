/* SPDX-License-Identifier: MIT */
/**
 * @file census.h
 *
 * pymalloc's arenas and pools, read from the target: every block of every
 * pool in use, allocated or free. The heap walker uses it to find the
 * objects nothing it walked refers to, and to account for pymalloc's
 * memory by what holds it.
 *
 * Where the state is (Objects/obmalloc.c; Include/internal/
 * pycore_obmalloc.h from 3.12): before 3.12 the statics `arenas` and
 * `maxarenas`; from 3.12 PyInterpreterState.obmalloc, the struct itself
 * (3.12) or a pointer to it (3.13), whose mgmt.arenas and mgmt.maxarenas
 * are the same pair. Each arena_object with a nonzero address is an
 * arena: ARENA_SIZE bytes whose pools start at the address rounded up to
 * POOL_SIZE; the pools below pool_address were carved out. A pool with
 * ref.count > 0 is in use: its blocks of (szidx + 1) * ALIGNMENT bytes
 * start after the 48-byte header, those below nextoffset were handed out
 * at some time, and the free ones are chained from freeblock through
 * their first word.
 */
#ifndef GCSCOPE_CENSUS_H
#define GCSCOPE_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct layout;
struct target;

/** What a block holds (census.blocks). */
enum census_block {
	CENSUS_FREE,     /* on the pool's free chain */
	CENSUS_USED,     /* allocated; nothing found in it yet */
	CENSUS_OBJECT,   /* allocated; holds an object found */
	CENSUS_BUFFER,   /* allocated; holds a buffer of an object found */
};

/** An arena. */
struct census_arena {
	uint64_t addr;        /* arena_object.address: its memory */
	uint32_t ntotalpools; /* pools it can hold */
	uint32_t nfreepools;  /* pools empty or never used */
	uint32_t carved;      /* pools carved out of it so far */
	uint32_t used;        /* pools in use (census.pools) */
};

/** A pool in use. */
struct census_pool {
	uint64_t addr;        /* the pool_header */
	uint64_t arena;       /* its arena's address */
	uint32_t szidx;       /* size class */
	uint32_t block_size;  /* bytes per block */
	uint32_t capacity;    /* blocks the pool can hold */
	uint32_t carved;      /* blocks handed out at some time: the first
				 ones, below nextoffset */
	uint32_t used;        /* ref.count: allocated blocks */
	uint32_t nfree;       /* blocks on the free chain */
	size_t first;         /* index of its first block in census.blocks */
	bool bad;             /* its free chain does not match its count */
};

/** pymalloc's state as read from the target. */
struct census {
	bool available;             /* the arenas were found and read */
	const char *source;         /* how the state was found: "symbols",
				       "interpreter" (3.12+) or "scan" */
	char problem[200];          /* why not, or what was wrong; or "" */
	uint32_t arena_size;        /* ARENA_SIZE */
	uint32_t pool_size;         /* POOL_SIZE */
	uint32_t pool_overhead;     /* POOL_OVERHEAD: the header's bytes */
	struct census_arena *arenas; /* by address */
	size_t narenas;
	struct census_pool *pools;  /* by address */
	size_t npools;
	uint8_t *blocks;            /* enum census_block of every carved
				       block, pool after pool */
	size_t nblocks;
	uint64_t bad_pools;         /* pools whose free chain is wrong */
};

/** Caps on what a damaged state can make the census read. */
enum {
	CENSUS_MAX_ARENAS = 1u << 20,    /* 256 GiB to 1 TiB of arenas */
	CENSUS_MAX_STATES = 64,          /* interpreters' separate states */
};

/**
 * Read pymalloc's arenas, pools and free chains.
 *
 * @param interps the interpreters (PyInterpreterState *): from 3.12 each
 * may have its own state; states shared are read once.
 * @param objects addresses of objects found, for a build whose symbols do
 * not name the state (before 3.12): their pools lead to it.
 * @return NULL on success, also when pymalloc's state cannot be found or
 * read (available false, problem says why); an error only when out of
 * memory.
 */
struct err *census_read(struct census *c, struct target *t,
			const struct layout *l, const uint64_t *interps,
			size_t ninterps, const uint64_t *objects,
			size_t nobjects);

/**
 * The pool in use that holds @p addr, or NULL.
 *
 * @param block_ret if not NULL and a pool is found: index of the block
 * holding addr in census.blocks, or SIZE_MAX for the pool header.
 */
const struct census_pool *census_pool_of(const struct census *c,
					 uint64_t addr, size_t *block_ret);

/** Address of block @p k (an index in census.blocks) of pool @p p. */
static inline uint64_t census_block_addr(const struct census *c,
					 const struct census_pool *p, size_t k)
{
	return p->addr + c->pool_overhead +
	       (uint64_t)(k - p->first) * p->block_size;
}

/** Release what census_read() allocated. */
void census_deinit(struct census *c);

#endif /* GCSCOPE_CENSUS_H */
