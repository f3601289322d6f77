/* SPDX-License-Identifier: MIT */
/*
 * The memory images the heap fuzz target reads, and that tests/fuzz/mkseed
 * writes: a small address space holding a CPython runtime, its types and a
 * heap, as one module named like libpython. The writer below lays out
 * objects with the built-in layouts, for mkseed's seeds and for the
 * decoders' unit tests (tests/unit/decode_test.c).
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpython/layout.h"
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

/* ---- writing images ------------------------------------------------------
 *
 * One image at a time, in image_mem: image_begin() lays out the static
 * types, the version, the runtime and the interpreter; the image_* makers
 * add objects on the heap (those of GC types on the youngest collector
 * list, in order); image_link_lists() links the lists; then image_write()
 * saves it as an input, or image_open() makes a target of it in memory.
 * Addresses are absolute (IMAGE_BASE + offset); a missing symbol or a full
 * image exits.
 */

#define IMAGE_MAX_GC 256          /* objects on the youngest list */

extern unsigned char image_mem[IMAGE_MAX_SIZE];
extern uint64_t image_heap_top;   /* next free offset of the heap */
extern struct layout image_layout; /* the built-in layout of the version */
extern uint64_t image_gc_list[IMAGE_MAX_GC]; /* the youngest list */
extern size_t image_ngc;

/* Where image_begin() put the interpreter's state. */
struct image_runtime {
	uint64_t runtime;    /* _PyRuntime, 0 for 3.6 */
	uint64_t interp;     /* the main PyInterpreterState */
	uint64_t gc_state;   /* its collector state (3.7+) */
	uint64_t statics;    /* 3.6: the collector's generations */
};

/* Start an image of 3.@p minor; -1 if there is no built-in layout. */
int image_begin(unsigned minor, struct image_runtime *rt);

void image_w64(uint64_t addr, uint64_t v);
void image_w32(uint64_t addr, uint32_t v);
void image_w8(uint64_t addr, uint8_t v);
uint64_t image_r64(uint64_t addr);
/* A word at obj + off, unless off < 0 (a field the version lacks). */
void image_wfield(uint64_t obj, int32_t off, uint64_t v);
/* The address of a symbol of image_symbols(). */
uint64_t image_sym(const char *name);
/* n bytes of heap, 16-byte aligned. */
uint64_t image_alloc(uint64_t n);
/* A C string in the module's data. */
uint64_t image_cstring(const char *s);
/* The count of a static object: 3.12+ immortal. */
uint64_t image_refcnt_static(void);
void image_header(uint64_t obj, uint64_t type, uint64_t refcnt);
/* A tracked object of @p size bytes; @p managed: room for the pre-header. */
uint64_t image_gc_new(uint64_t type, uint64_t size, uint64_t refcnt,
		      bool managed);

uint64_t image_str(const char *s);
/* A compact str of UCS-2 characters. */
uint64_t image_str_ucs2(const uint16_t *s, size_t n);
uint64_t image_int(int64_t v);
uint64_t image_float(double v);
uint64_t image_bytes(const char *s, size_t n);
uint64_t image_tuple(size_t n, const uint64_t *items);
uint64_t image_list(size_t n, const uint64_t *items);
void image_list_set(uint64_t list, size_t i, uint64_t v);
/*
 * A combined dict of @p n entries. @p general: keys need not be str
 * (DICT_KEYS_GENERAL 3.11+, lookdict before).
 */
uint64_t image_dict(size_t n, const uint64_t *keys, const uint64_t *values,
		    bool general);
void image_dict_set(uint64_t dict, size_t i, uint64_t value);
/* A set of up to 5 keys in a table of 8. */
uint64_t image_set(size_t n, const uint64_t *keys);
/*
 * A static type in its symbol's slot; @p traverse > 0 gives it a
 * tp_traverse of its own (a distinct function address per number).
 */
void image_static_type(const char *name, const char *tp_name,
		       int64_t basicsize, int64_t itemsize, uint64_t flags,
		       int traverse);
/*
 * A heap type: instances have a __dict__ (managed from 3.11 if asked) and
 * a slot.
 */
uint64_t image_heap_type(const char *name, uint64_t module_str,
			 bool managed, uint64_t *name_ret);
uint64_t image_instance(uint64_t type, bool managed, uint64_t dict,
			uint64_t slot);
/* Link the youngest list through image_gc_list; the others empty. */
void image_link_lists(uint64_t gc_state, uint64_t statics);

/* Save the first @p size bytes as an input. */
int image_write(const char *path, unsigned minor, uint64_t size);
/* The image as an input would give it; release with image_deinit(). */
int image_open(struct image *im);

#endif /* GCSCOPE_FUZZ_IMAGE_H */
