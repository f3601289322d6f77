/* SPDX-License-Identifier: MIT */
/*
 * Types of the standard library's C modules that live in libpython, whose
 * layouts come from its DWARF: functools.partial, functools'
 * _lru_cache_wrapper, collections.defaultdict.
 *
 * From 3.10 (3.12 for _collections) these are heap types whose traverse
 * visits the type first: a heap type's instance reports its type.
 */
#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"

static void heap_type_edge(struct decode *d, const struct decode_type *ti)
{
	if (ti->flags & TPFLAGS_HEAPTYPE)
		decode_edge(d, ti->addr, HEAP_EDGE_TRAVERSE, "__class__");
}

// partial_traverse (Modules/_functoolsmodule.c).
void decode_partial(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, ti);
	decode_field(d, obj, l->partial_fn, "func");
	decode_field(d, obj, l->partial_args, "args");
	decode_field(d, obj, l->partial_kw, "keywords");
	decode_field(d, obj, l->partial_dict, "__dict__");
}

/*
 * lru_cache_tp_traverse (Modules/_functoolsmodule.c): the entries of the
 * bounded cache's list from root.next back to the root, then the fields.
 * 3.6 visits each entry (an object of its own) and maxsize_O; 3.7+ the
 * key and result of each entry, and from 3.10 the entry's type.
 */
void decode_lru_cache(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;
	const bool links = l->lru_maxsize_obj >= 0;
	uint64_t link = decode_u64(d, obj + l->lru_root_next);
	uint64_t i;

	heap_type_edge(d, ti);
	for (i = 0; link && link != obj && i < d->lim->max_items &&
	     !decode_failed(d) && !d->problem; i++) {
		if (links) {
			decode_edge(d, link, HEAP_EDGE_TRAVERSE, "<entry>");
		} else {
			decode_field(d, link, l->lruelem_key, "<entry key>");
			decode_field(d, link, l->lruelem_result,
				     "<entry result>");
			if (ti->flags & TPFLAGS_HEAPTYPE)
				decode_field(d, link, l->ob_type,
					     "<entry type>");
		}
		link = decode_u64(d, link + l->lruelem_next);
	}
	if (link && link != obj && !d->problem)
		d->problem = "lru_cache list too long";
	decode_field(d, obj, l->lru_maxsize_obj, "maxsize");
	decode_field(d, obj, l->lru_cache, "cache");
	decode_field(d, obj, l->lru_func, "__wrapped__");
	decode_field(d, obj, l->lru_kwd_mark, "kwd_mark");
	decode_field(d, obj, l->lru_elem_type, "lru_list_elem_type");
	decode_field(d, obj, l->lru_cache_info_type, "cache_info_type");
	decode_field(d, obj, l->lru_dict, "__dict__");
}

// defdict_traverse (Modules/_collectionsmodule.c): the factory, then the
// dict's own traverse.
void decode_defaultdict(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	heap_type_edge(d, ti);
	decode_field(d, obj, d->l->defdict_factory, "default_factory");
	decode_dict(d, obj, ti);
}

/*
 * local_traverse (Modules/_threadmodule.c): the constructor's arguments,
 * then the dict of each thread's localdummy weakref (dummies, ≤3.12) or
 * of the thread-local dicts (localdicts, 3.13) and the set of watchdogs.
 */
void decode_thread_local(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, ti);
	decode_field(d, obj, l->local_args, "args");
	decode_field(d, obj, l->local_kw, "kw");
	decode_field(d, obj, l->local_dicts,
		     l->local_watchdogs >= 0 ? "localdicts" : "dummies");
	decode_field(d, obj, l->local_watchdogs, "thread_watchdogs");
}

/*
 * ElementObject and ElementObjectExtra (Modules/_elementtree.c), the same
 * on x86-64 in every version from 3.6 to 3.13 (ptype /o of the pyenv
 * builds' _elementtree modules and Debian's 3.11): the module is an
 * extension whose debug info the walker does not read.
 */
enum {
	ELEMENT_TAG = 16,
	ELEMENT_TEXT = 24,
	ELEMENT_TAIL = 32,
	ELEMENT_EXTRA = 40,
	EXTRA_ATTRIB = 0,
	EXTRA_LENGTH = 8,
	EXTRA_CHILDREN = 24,
	// JOIN_OBJ: text and tail keep a flag in their low bit.
	ELEMENT_JOIN_FLAG = 1,
};

// element_gc_traverse (Modules/_elementtree.c).
void decode_element(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	uint64_t extra = decode_u64(d, obj + ELEMENT_EXTRA);

	heap_type_edge(d, ti);
	decode_field(d, obj, ELEMENT_TAG, "tag");
	decode_edge(d, decode_u64(d, obj + ELEMENT_TEXT) & ~(uint64_t)
		    ELEMENT_JOIN_FLAG, HEAP_EDGE_TRAVERSE, "text");
	decode_edge(d, decode_u64(d, obj + ELEMENT_TAIL) & ~(uint64_t)
		    ELEMENT_JOIN_FLAG, HEAP_EDGE_TRAVERSE, "tail");
	if (!extra || d->problem)
		return;
	decode_buffer(d, extra);
	decode_field(d, extra, EXTRA_ATTRIB, "attrib");
	uint64_t n = decode_u64(d, extra + EXTRA_LENGTH);
	uint64_t children = decode_u64(d, extra + EXTRA_CHILDREN);

	if (n > d->lim->max_items) {
		d->problem = "Element has too many children";
		return;
	}
	if (n && children) {
		decode_buffer(d, children == extra + EXTRA_CHILDREN + 8 ?
				 0 : children);
		decode_items(d, children, n);
	}
}
