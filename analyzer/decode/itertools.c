/* SPDX-License-Identifier: MIT */
/*
 * The iterators of the itertools module (Modules/itertoolsmodule.c), in
 * libpython in every version, whose layouts come from its DWARF or the
 * built-in tables. Each decoder visits what the type's traverse function
 * visits, in its order (the same from 3.6 to 3.13, checked against the
 * disassembly of each version's functions). From 3.12 the types are heap
 * types whose traverse visits the type first.
 */
#include <stdio.h>

#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"

enum {
	// LINKCELLS: the values a teedataobject holds.
	TEEDATA_LINKCELLS = 57,
};

// Py_VISIT(Py_TYPE(self)) of the heap types (3.12+).
static void it_type_edge(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	if (ti->flags & TPFLAGS_HEAPTYPE)
		decode_field(d, obj, d->l->ob_type, "__class__");
}

// groupby_traverse: the iterator, the key function, then the target key,
// current key and current value of a groupby that has started.
void decode_it_groupby(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	const struct layout *l = d->l;

	it_type_edge(d, obj, ti);
	decode_field(d, obj, l->groupby_it, "it");
	decode_field(d, obj, l->groupby_keyfunc, "keyfunc");
	decode_field(d, obj, l->groupby_tgtkey, "tgtkey");
	decode_field(d, obj, l->groupby_currkey, "currkey");
	decode_field(d, obj, l->groupby_currvalue, "currvalue");
}

// _grouper_traverse: the groupby it came from and the key of its group.
void decode_it_grouper(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->grouper_parent, "parent");
	decode_field(d, obj, d->l->grouper_tgtkey, "tgtkey");
}

/*
 * teedataobject_traverse: the iterator shared by the tees, the numread
 * values read from it so far, then the next link of the chain.
 */
void decode_it_teedata(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	const struct layout *l = d->l;
	int32_t numread;

	it_type_edge(d, obj, ti);
	decode_field(d, obj, l->teedata_it, "it");
	if (l->teedata_numread < 0 || l->teedata_values < 0)
		return;
	numread = (int32_t)decode_u32(d, obj + l->teedata_numread);
	if (numread < 0 || numread > TEEDATA_LINKCELLS) {
		d->problem = "tee data object's numread out of range";
		return;
	}
	for (int32_t i = 0; i < numread && !decode_failed(d); i++) {
		char label[32];

		snprintf(label, sizeof(label), "values[%d]", (int)i);
		decode_field(d, obj, l->teedata_values + 8 * i, label);
	}
	decode_field(d, obj, l->teedata_nextlink, "nextlink");
}

// tee_traverse: the data object where the tee is.
void decode_it_tee(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->tee_dataobj, "dataobj");
}

// cycle_traverse: the iterator, then the list of the items seen.
void decode_it_cycle(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->cycle_it, "it");
	decode_field(d, obj, d->l->cycle_saved, "saved");
}

/*
 * dropwhile_traverse, takewhile_traverse, starmap_traverse,
 * filterfalse_traverse: the iterator, then the function.
 */
void decode_it_dropwhile(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->dropwhile_it, "it");
	decode_field(d, obj, d->l->dropwhile_func, "func");
}

void decode_it_takewhile(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->takewhile_it, "it");
	decode_field(d, obj, d->l->takewhile_func, "func");
}

void decode_it_starmap(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->starmap_it, "it");
	decode_field(d, obj, d->l->starmap_func, "func");
}

void decode_it_filterfalse(struct decode *d, uint64_t obj,
			   const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->filterfalse_it, "it");
	decode_field(d, obj, d->l->filterfalse_func, "func");
}

// islice_traverse: the iterator.
void decode_it_islice(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->islice_it, "it");
}

// chain_traverse: the iterator of the iterables, then the current one.
void decode_it_chain(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->chain_source, "source");
	decode_field(d, obj, d->l->chain_active, "active");
}

/*
 * product_traverse, combinations_traverse, cwr_traverse,
 * permutations_traverse: the tuple of pools (product) or the pool, then
 * the tuple last yielded once it has started.
 */
void decode_it_product(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->product_pools, "pools");
	decode_field(d, obj, d->l->product_result, "result");
}

void decode_it_combinations(struct decode *d, uint64_t obj,
			    const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->combinations_pool, "pool");
	decode_field(d, obj, d->l->combinations_result, "result");
}

void decode_it_cwr(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->cwr_pool, "pool");
	decode_field(d, obj, d->l->cwr_result, "result");
}

void decode_it_permutations(struct decode *d, uint64_t obj,
			    const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->permutations_pool, "pool");
	decode_field(d, obj, d->l->permutations_result, "result");
}

// accumulate_traverse: the function, the iterator, the running total,
// and from 3.8 the initial value.
void decode_it_accumulate(struct decode *d, uint64_t obj,
			  const struct decode_type *ti)
{
	const struct layout *l = d->l;

	it_type_edge(d, obj, ti);
	decode_field(d, obj, l->accumulate_binop, "func");
	decode_field(d, obj, l->accumulate_it, "it");
	decode_field(d, obj, l->accumulate_total, "total");
	decode_field(d, obj, l->accumulate_initial, "initial");
}

// compress_traverse: the data, then the selectors.
void decode_it_compress(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->compress_data, "data");
	decode_field(d, obj, d->l->compress_selectors, "selectors");
}

// count_traverse: the count and step when they are not small ints.
void decode_it_count(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->count_long_cnt, "long_cnt");
	decode_field(d, obj, d->l->count_long_step, "long_step");
}

// repeat_traverse: the object repeated.
void decode_it_repeat(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->repeat_element, "element");
}

// zip_longest_traverse: the iterators' tuple, the result tuple, the fill.
void decode_it_zip_longest(struct decode *d, uint64_t obj,
			   const struct decode_type *ti)
{
	const struct layout *l = d->l;

	it_type_edge(d, obj, ti);
	decode_field(d, obj, l->ziplongest_ittuple, "ittuple");
	decode_field(d, obj, l->ziplongest_result, "result");
	decode_field(d, obj, l->ziplongest_fillvalue, "fillvalue");
}

// pairwise_traverse (3.10+): the iterator, the item before, and from 3.13
// the result tuple kept for reuse.
void decode_it_pairwise(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->pairwise_it, "it");
	decode_field(d, obj, d->l->pairwise_old, "old");
	decode_field(d, obj, d->l->pairwise_result, "result");
}

// batched_traverse (3.12+): the iterator.
void decode_it_batched(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	it_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->batched_it, "it");
}
