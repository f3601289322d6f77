/* SPDX-License-Identifier: MIT */
/*
 * Small objects of one or a few references: cell, weak references, slice,
 * memoryview and its managed buffer, enumerate.
 */
#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"

// cell_traverse (Objects/cellobject.c).
void decode_cell(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->cell_ref, "cell_contents");
}

// gc_traverse (Objects/weakrefobject.c): the callback; the referent is
// not owned.
void decode_weakref(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->weakref_callback, "__callback__");
	decode_field_kind(d, obj, d->l->weakref_object, HEAP_EDGE_BORROWED,
			  "referent");
}

// slice_traverse (Objects/sliceobject.c).
void decode_slice(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->slice_start, "start");
	decode_field(d, obj, d->l->slice_stop, "stop");
	decode_field(d, obj, d->l->slice_step, "step");
}

// mbuf_traverse (Objects/memoryobject.c).
void decode_managedbuffer(struct decode *d, uint64_t obj,
			  const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->mbuf_obj, "obj");
}

// memory_traverse (Objects/memoryobject.c).
void decode_memoryview(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->memory_mbuf, "mbuf");
}

// enum_traverse (Objects/enumobject.c).
void decode_enumerate(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->enum_sit, "iterator");
	decode_field(d, obj, d->l->enum_result, "result");
	decode_field(d, obj, d->l->enum_longindex, "index");
}
