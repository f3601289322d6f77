/* SPDX-License-Identifier: MIT */
/**
 * @file mem.h
 *
 * Memory of the big tables a snapshot builds: millions of entries read at
 * random places. With 4 KiB pages nearly every such read misses the TLB as
 * well as the cache; transparent huge pages (where the system offers them
 * on request, /sys/kernel/mm/transparent_hugepage/enabled) halve the time.
 */
#ifndef GCSCOPE_MEM_H
#define GCSCOPE_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

/** Ask for huge pages for [p, p + bytes), if it is big enough to matter. */
static inline void mem_huge(void *p, size_t bytes)
{
	uintptr_t start = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t end = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;

	if (p && bytes >= (2u << 20) && end > start)
		madvise((void *)start, end - start, MADV_HUGEPAGE);
}

/**
 * A hash of an object's address for tables indexed by its low bits. A
 * multiplication alone leaves them depending only on the low bits of the
 * address (objects are 16-byte aligned), so the high half is folded in.
 */
static inline uint64_t mem_hash_addr(uint64_t addr)
{
	uint64_t h = (addr >> 4) * 0x9E3779B97F4A7C15ULL;

	return h ^ (h >> 32);
}

#endif /* GCSCOPE_MEM_H */
