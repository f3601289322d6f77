/* SPDX-License-Identifier: MIT */
/*
 * What every decoder shares: reads that mark the object being decoded,
 * fields and item arrays as edges, the conservative scan of what no
 * decoder knows, and the dispatch to the rows of the table for an
 * object's references, size, preview and flags.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "cpython/layout.h"
#include "target/target.h"

enum {
	MAX_CONSERVATIVE = 1u << 16, // bytes scanned in one object
	MAX_BLOCK_SCAN = 1u << 20,   // bytes of a malloc'd block it owns
	MAX_CHUNK = 1ull << 32,      // a malloc chunk's size taken as one
};

/* ---- reads ----------------------------------------------------------- */

uint64_t decode_lost(const struct decode *d)
{
	return target_lost_reads(d->t) + d->types_lost;
}

void decode_read(struct decode *d, uint64_t addr, void *buf, size_t n)
{
	if (!target_read_ok(d->t, buf, addr, n)) {
		if (!d->problem)
			d->problem = "a field is unreadable";
		memset(buf, 0, n);
	}
}

uint64_t decode_u64(struct decode *d, uint64_t addr)
{
	uint64_t v;

	decode_read(d, addr, &v, sizeof(v));
	return v;
}

uint32_t decode_u32(struct decode *d, uint64_t addr)
{
	uint32_t v;

	decode_read(d, addr, &v, sizeof(v));
	return v;
}

uint8_t decode_u8(struct decode *d, uint64_t addr)
{
	uint8_t v;

	decode_read(d, addr, &v, sizeof(v));
	return v;
}

uint64_t *decode_words(struct decode *d, uint64_t addr, uint64_t n,
		       uint64_t *small, size_t nsmall)
{
	uint64_t *v = small;

	if (n > d->lim->max_items) {
		d->problem = "item count over the limit";
		return NULL;
	}
	if (n > nsmall) {
		v = malloc(n * sizeof(*v));
		if (!v) {
			*d->err = &err_nomem;
			return NULL;
		}
	}
	if (!target_read_ok(d->t, v, addr, n * 8)) {
		d->problem = "items are unreadable";
		decode_words_free(v, small);
		return NULL;
	}
	return v;
}

void decode_words_free(uint64_t *words, const uint64_t *small)
{
	if (words != small)
		free(words);
}

/* ---- edges ----------------------------------------------------------- */

void decode_field(struct decode *d, uint64_t obj, int32_t off,
		  const char *label)
{
	if (off < 0)
		return;
	decode_edge(d, decode_u64(d, obj + off), HEAP_EDGE_TRAVERSE, label);
}

void decode_field_kind(struct decode *d, uint64_t obj, int32_t off,
		       enum heap_edge_kind kind, const char *label)
{
	if (off < 0)
		return;
	decode_edge(d, decode_u64(d, obj + off), kind, label);
}

uint64_t decode_var_size(struct decode *d, uint64_t obj)
{
	int64_t n = (int64_t)decode_u64(d, obj + d->l->ob_size);

	return n < 0 ? 0 : (uint64_t)n;
}

void decode_items(struct decode *d, uint64_t array, uint64_t n)
{
	uint64_t small[64];
	uint64_t *v = decode_words(d, array, n, small, 64);

	if (!v)
		return;
	for (uint64_t i = 0; i < n && !decode_failed(d); i++) {
		char label[32];

		snprintf(label, sizeof(label), "[%" PRIu64 "]", i);
		decode_edge(d, v[i], HEAP_EDGE_TRAVERSE, label);
	}
	decode_words_free(v, small);
}

/*
 * A word of an object scanned that points at the start of a block of
 * malloc in use (no object) leads to that block's words: an extension
 * type's array of references (a numpy object array's data). Objects found
 * there are references of the object's too, labelled "<+OFF>[+N]".
 */
static void block_conservative(struct decode *d, uint64_t p, uint64_t off)
{
	uint64_t n = target_malloc_block(d->t, p, MAX_CHUNK);

	if (!n || d->ops->known(d, p + 16))
		return;
	if (n > MAX_BLOCK_SCAN)
		n = MAX_BLOCK_SCAN;
	uint64_t nwords = n / 8, small[64];
	uint64_t *v = decode_words(d, p, nwords, small, 64);
	char label[64];

	if (!v)
		return;
	// Only objects found already: a freed block kept for reuse (a tcache
	// chunk passes for one in use) holds stale pointers to memory that
	// may still look like an object.
	for (uint64_t i = 0; i < nwords && !decode_failed(d); i++) {
		if (!v[i] || (v[i] & 7) || !d->ops->found ||
		    !d->ops->found(d, v[i]))
			continue;
		snprintf(label, sizeof(label), "<+%" PRIu64 ">[+%" PRIu64 "]",
			 off, 8 * i);
		decode_edge(d, v[i], HEAP_EDGE_CONSERVATIVE, label);
	}
	decode_words_free(v, small);
}

// Scan words of an object for pointers to objects already known, or to
// objects whose type is known; label them with tp_members names.
void decode_conservative(struct decode *d, uint64_t obj, uint64_t from,
			 uint64_t to, const struct decode_type *ti)
{
	const struct layout *l = d->l;

	if (to <= from)
		return;
	if (to - from > MAX_CONSERVATIVE)
		to = from + MAX_CONSERVATIVE;
	uint64_t nwords = (to - from) / 8, small[64];
	uint64_t *v = decode_words(d, obj + from, nwords, small, 64);

	if (!v)
		return;
	for (uint64_t i = 0; i < nwords && !decode_failed(d); i++) {
		uint64_t p = v[i];
		char label[64];

		if (!p || (p & 7))
			continue;
		uint64_t off = from + 8 * i;

		if (!d->ops->known(d, p)) {
			block_conservative(d, p, off);
			continue;
		}

		label[0] = 0;
		// tp_members of the type names the field, if it is one.
		for (uint64_t m = ti ? ti->members : 0, k = 0; m && k < 256;
		     k++, m += l->sizeof_member) {
			uint64_t name = 0;
			int64_t moff;

			if (!target_read_u64(d->t, m + l->member_name, &name) ||
			    !name)
				break;
			if (!target_read_u64(d->t, m + l->member_offset,
					     (uint64_t *)&moff))
				break;
			if ((uint64_t)moff == off) {
				if (target_read_string(d->t, name, label,
						       sizeof(label)) < 1)
					label[0] = 0;
				break;
			}
		}
		if (!label[0])
			snprintf(label, sizeof(label), "<+%" PRIu64 ">", off);
		decode_edge(d, p, HEAP_EDGE_CONSERVATIVE, label);
	}
	decode_words_free(v, small);
}

/* ---- the table ------------------------------------------------------- */

const struct decoder *decoder_named(const char *name)
{
	for (size_t i = 0; i < ndecoders; i++) {
		if (!strcmp(decoders[i].name, name))
			return &decoders[i];
	}
	return NULL;
}

bool decode_is_heap_type(struct decode *d, uint64_t addr)
{
	struct decode_type *ti = decode_type_at(d, addr);

	return ti && ti->valid && (ti->flags & TPFLAGS_HEAPTYPE);
}

void decode_object(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	if (ti->row) {
		if (ti->row->decode)
			ti->row->decode(d, obj, ti);
		return;
	}
	// No decoder: scanned, up to a PyVarObject's items of words.
	uint64_t size = ti->basicsize;

	// Heap types' traverse visits the type (3.9+ convention).
	if (ti->flags & TPFLAGS_HEAPTYPE)
		decode_edge(d, ti->addr, HEAP_EDGE_CONSERVATIVE, "__class__");
	if (ti->itemsize == 8)
		size += 8 * decode_var_size(d, obj);
	decode_conservative(d, obj, d->l->sizeof_object, size, ti);
}

int64_t decode_default_size(struct decode *d, uint64_t obj,
			    const struct decode_type *ti, int64_t extra)
{
	int64_t size = ti->basicsize;

	if (ti->itemsize)
		size += ti->itemsize * (decode_var_size(d, obj) + extra);
	return size;
}

int64_t decode_size(struct decode *d, uint64_t obj,
		    const struct decode_type *ti, char *out, size_t max)
{
	const struct layout *l = d->l;
	const struct decoder *row = ti->row, *value = ti->value_row;
	uint64_t presize = 0, lost = decode_lost(d);
	int64_t size, extra = 0;

	if (out)
		out[0] = 0;
	// PyType_GenericAlloc allocates one item more than asked
	// (Objects/typeobject.c): instances of heap types built on tuple,
	// int or bytes, and heap type objects with their __slots__ members.
	// Builtin instances come from their own allocators.
	if (ti->itemsize && d->sym->generic_alloc &&
	    ti->alloc == d->sym->generic_alloc &&
	    ((ti->flags & TPFLAGS_HEAPTYPE) ||
	     (row && (row->flags & DECODER_TYPES) &&
	      decode_is_heap_type(d, obj))))
		extra = 1;
	// Static types are objects without a GC head (type_is_gc).
	if ((ti->flags & TPFLAGS_HAVE_GC) &&
	    !(row && (row->flags & DECODER_GC_IF_HEAP) &&
	      !decode_is_heap_type(d, obj)))
		presize = l->sizeof_gc_head;
	if (ti->flags & l->preheader_flags)
		presize += l->preheader;

	size = value && value->size ? value->size(d, obj, ti, extra) :
				      decode_default_size(d, obj, ti, extra);
	bool size_lost = decode_lost(d) != lost;

	if (out && value && value->preview) {
		lost = decode_lost(d);
		value->preview(d, obj, ti, out, max);
		if (decode_lost(d) != lost)
			out[0] = 0;
	}
	lost = decode_lost(d);
	if (l->inline_values && (ti->flags & TPFLAGS_INLINE_VALUES)) {
		// _PyInlineValuesSize: header, capacity values, order bytes.
		unsigned cap = decode_u8(d, obj + ti->basicsize + l->dv_capacity);

		size += l->dv_values + 8 * cap + ((cap + 7) & ~7u);
		// _PyObject_InitInlineValues (3.13) takes one usable slot from
		// the shared keys after the allocation was sized from them:
		// while the keys had usable slots to spare, instances were
		// allocated for one value more than they record. Their sum
		// nentries + usable only shrinks by those takings, so an
		// instance recording more than the sum left now was one.
		uint64_t keys = ti->cached_keys, n = 0, usable = 0;

		if (keys && target_read_u64(d->t, keys + l->dk_nentries, &n) &&
		    target_read_u64(d->t, keys + l->dk_usable, &usable) &&
		    (usable > 1 || cap > n + usable)) {
			cap++;
			size = ti->basicsize + l->dv_values + 8 * cap +
			       ((cap + 7) & ~7u);
		}
	}
	if (size_lost || decode_lost(d) != lost || size < 0 ||
	    size > (1LL << 40))
		return -1;
	return presize + ((size + 7) & ~7LL);
}

