/* SPDX-License-Identifier: MIT */
/*
 * The memory images the heap fuzz target reads, and that tests/fuzz/mkseed
 * writes: a small address space holding a CPython runtime, its types and a
 * heap, as one module named like libpython.
 *
 * An input file is a header, then patches applied to zeroed memory:
 *
 *	header: "GCSI", u8 minor, u8 reserved[3], u32 size,
 *		u32 hole_start, u32 hole_len
 *	patch:  u32 offset, u16 length, length bytes
 *
 * all little-endian, offsets from IMAGE_BASE. Memory is [IMAGE_BASE,
 * IMAGE_BASE + size) less the hole, which is unreadable; patch bytes
 * outside memory are dropped. The symbols are at fixed places
 * (image_symbols()), the same for every input.
 */
#ifndef GCSCOPE_FUZZ_IMAGE_H
#define GCSCOPE_FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "target/target.h"

#define IMAGE_BASE 0x10000000ULL
#define IMAGE_TYPE_SLOT 0x200     /* bytes per static type */
#define IMAGE_RUNTIME 0x10000     /* _PyRuntime (3.7+) */
#define IMAGE_VARS 0xe0000        /* other variables, 0x40 apart */
#define IMAGE_FUNCS 0xf0000       /* functions, 0x10 apart */
#define IMAGE_MODULE_END 0x100000 /* the module's end; the heap follows */
#define IMAGE_MAX_SIZE (4u << 20) /* bytes of memory at most */
#define IMAGE_HEADER_SIZE 20

/* What an input says. */
struct image {
	unsigned minor;
	uint64_t size;                  /* bytes of memory */
	unsigned char *mem;             /* [size], zeroed then patched */
	struct target_image_segment segs[2];
	struct target_image target;
	char module_name[32];
};

/*
 * Decode an input into @p im; release with image_deinit().
 *
 * @return 0, or -1 if it is not an image (too short, bad magic) or memory
 * ran out.
 */
int image_parse(struct image *im, const uint8_t *data, size_t size);

void image_deinit(struct image *im);

/*
 * The fixed symbol table of an image of 3.@p minor. Static types come
 * first, one slot each from offset 0; image_symbol() finds one by name.
 * Only 3.6 lacks _PyRuntime.
 */
const struct target_image_symbol *image_symbols(unsigned minor, size_t *n);

/* Offset of a symbol from IMAGE_BASE, or -1. */
long image_symbol(const char *name);

#endif /* GCSCOPE_FUZZ_IMAGE_H */
