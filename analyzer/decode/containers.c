/* SPDX-License-Identifier: MIT */
/*
 * Containers: dict (combined and split tables, and the values of instances
 * that share their type's keys), list, tuple, set and frozenset, deque,
 * OrderedDict.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"
#include "target/target.h"

/*
 * Decode a PyDictKeysObject header (Objects/dict-common.h ≤3.10,
 * Include/internal/pycore_dict.h 3.11+).
 */
bool dict_keys_read(struct decode *d, uint64_t keys, struct dict_keys *k)
{
	const struct layout *l = d->l;

	k->nentries = decode_u64(d, keys + l->dk_nentries);
	if (l->dict_log2) {
		unsigned log2_index_bytes =
			decode_u8(d, keys + l->dk_log2_index_bytes);
		unsigned kind = decode_u8(d, keys + l->dk_kind);

		if (log2_index_bytes > 40 || kind > 2)
			return false;
		k->entries = keys + l->dk_indices + (1ULL << log2_index_bytes);
		// DICT_KEYS_GENERAL = 0, UNICODE = 1, SPLIT = 2.
		k->general = kind == 0;
	} else {
		uint64_t size = decode_u64(d, keys + l->dk_size);
		unsigned width = size <= 0xff ? 1 : size <= 0xffff ? 2 :
			size <= 0xffffffffULL ? 4 : 8;

		if (size > (1ULL << 40))
			return false;
		k->entries = keys + l->dk_indices + size * width;
		// Before 3.11 dict_traverse visits keys only of tables that
		// use the general lookup function, lookdict.
		k->general = decode_u64(d, keys + l->dk_lookup) ==
			     d->sym->lookdict;
	}
	if (k->general || !l->dict_log2) {
		k->entry_size = l->sizeof_dk_entry;
		k->key_off = l->dke_key;
		k->value_off = l->dke_value;
	} else {
		k->entry_size = l->sizeof_dk_uentry;
		k->key_off = l->dku_key;
		k->value_off = l->dku_value;
	}
	return k->nentries <= d->lim->max_items && !d->problem;
}

// Label for a value stored under key: "['name']", "[42]"; an attribute's
// is its bare name.
static void key_label(struct decode *d, uint64_t key, bool attribute,
		      char *out, size_t max)
{
	char text[200];

	if (attribute && decode_str(d, key, false, text, sizeof(text), NULL)) {
		snprintf(out, max, "%s", text);
		return;
	}
	decode_key_text(d, key, text, sizeof(text));
	snprintf(out, max, "[%s]", text);
}

void split_values(struct decode *d, uint64_t values, uint64_t n,
		  uint64_t shared_keys, bool attribute)
{
	struct dict_keys k = { 0 };
	bool have_keys = shared_keys && dict_keys_read(d, shared_keys, &k);

	decode_buffer(d, values);
	if (n > d->lim->max_items) {
		d->problem = "item count over the limit";
		return;
	}
	for (uint64_t i = 0; i < n && !decode_failed(d); i++) {
		uint64_t v = decode_u64(d, values + 8 * i);
		char label[256];
		uint64_t key = 0;

		if (!v)
			continue;
		if (have_keys && i < k.nentries)
			key = decode_u64(d, k.entries + i * k.entry_size +
						    k.key_off);
		if (key)
			key_label(d, key, attribute, label, sizeof(label));
		else
			snprintf(label, sizeof(label), "<value %" PRIu64 ">",
				 i);
		decode_edge(d, v, HEAP_EDGE_TRAVERSE, label);
	}
}

// dict_traverse (Objects/dictobject.c).
void decode_dict(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	const struct layout *l = d->l;
	uint64_t keys = decode_u64(d, obj + l->dict_keys);
	uint64_t values = decode_u64(d, obj + l->dict_values);
	struct dict_keys k;

	decode_stgdict_fields(d, obj, ti);
	if (!keys || !dict_keys_read(d, keys, &k)) {
		d->problem = "unreadable dict keys";
		return;
	}
	decode_buffer(d, keys);
	if (values) {
		// Split table: keys are shared, values[i] goes with entry i.
		// 3.11+ values point at values[0]; 3.13 PyDictValues has a
		// header before the array.
		uint64_t array = values + (l->dv_values > 0 ? l->dv_values : 0);

		// 3.13: values embedded in their object are that object's
		// to visit (dict_traverse skips them).
		if (l->dv_embedded >= 0 && decode_u8(d, values + l->dv_embedded))
			return;
		split_values(d, array, k.nentries, keys, false);
		// The shared keys hold their keys once, for all the tables
		// that share them: a type's cached keys, or keys it dropped
		// (3.6-3.10 drop them when an instance adds attributes in
		// another order) that its older instances' dicts still use.
		d->ops->shared_keys(d, keys, false);
		return;
	}
	if (k.nentries * k.entry_size > (1ULL << 34))
		return;
	for (uint64_t i = 0; i < k.nentries && !decode_failed(d); i++) {
		uint64_t e = k.entries + i * k.entry_size;
		uint64_t key = decode_u64(d, e + k.key_off);
		uint64_t value = decode_u64(d, e + k.value_off);
		char label[256];

		if (!value)
			continue;
		key_label(d, key, false, label, sizeof(label));
		decode_edge(d, value, HEAP_EDGE_TRAVERSE, label);
		decode_edge(d, key, k.general ? HEAP_EDGE_TRAVERSE :
						HEAP_EDGE_STRONG, "<key>");
	}
}

void dict_preview(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  char *out, size_t max)
{
	(void)ti;
	snprintf(out, max, "len=%" PRIu64, decode_u64(d, obj + d->l->dict_used));
}

// odict_traverse (Objects/odictobject.c): the instance dict and the keys
// of the order list, then the dict itself.
void decode_odict(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	const struct layout *l = d->l;

	decode_field(d, obj, l->odict_inst_dict, "__dict__");
	if (l->odict_first >= 0) {
		uint64_t node = decode_u64(d, obj + l->odict_first);

		for (uint64_t i = 0; node && i < d->lim->max_items &&
		     !decode_failed(d); i++) {
			decode_edge(d, decode_u64(d, node + l->odnode_key),
				    HEAP_EDGE_TRAVERSE, "<order key>");
			node = decode_u64(d, node + l->odnode_next);
		}
	}
	decode_dict(d, obj, ti);
}

// list_traverse (Objects/listobject.c): the items, a buffer of their own.
void decode_list(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	(void)ti;
	decode_buffer(d, decode_u64(d, obj + d->l->list_items));
	decode_items(d, decode_u64(d, obj + d->l->list_items),
		     decode_var_size(d, obj));
}

/*
 * tupletraverse (Objects/tupleobject.c): the items, inside the object.
 * The 1-tuple that property_descr_get (≤3.7) caches between calls holds
 * the object of its last call uncounted, freed or not since: nothing.
 */
void decode_tuple(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	(void)ti;
	if (obj == d->sym->property_args)
		return;
	decode_items(d, obj + d->l->tuple_items, decode_var_size(d, obj));
}

// "len=N" of a list, tuple or deque: Py_SIZE.
void len_preview(struct decode *d, uint64_t obj, const struct decode_type *ti,
		 char *out, size_t max)
{
	(void)ti;
	snprintf(out, max, "len=%" PRIu64, decode_var_size(d, obj));
}

// set_traverse (Objects/setobject.c).
void decode_set(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	const struct layout *l = d->l;
	uint64_t mask = decode_u64(d, obj + l->set_mask);
	uint64_t table = decode_u64(d, obj + l->set_table);

	(void)ti;
	// A table of a power of two slots, at least 8 (Objects/setobject.c).
	if (mask < 7 || mask + 1 > d->lim->max_items || (mask & (mask + 1)) ||
	    !table) {
		d->problem = "bad set table";
		return;
	}
	decode_buffer(d, table);
	for (uint64_t i = 0; i <= mask && !decode_failed(d) && !d->problem;
	     i++) {
		uint64_t key = decode_u64(d, table + i * l->sizeof_setentry +
						     l->setentry_key);

		if (key && key != d->sym->set_dummy)
			decode_edge(d, key, HEAP_EDGE_TRAVERSE, "<member>");
	}
}

// deque_traverse (Modules/_collectionsmodule.c): 64-item blocks; a heap
// subclass's type too.
void decode_deque(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	const struct layout *l = d->l;
	uint64_t n = decode_var_size(d, obj);
	uint64_t block = decode_u64(d, obj + l->deque_leftblock);
	int64_t index = (int64_t)decode_u64(d, obj + l->deque_leftindex);
	const int64_t blocklen =
		(l->dblock_rightlink - l->dblock_data) / 8;

	if (l->deque_leftblock < 0 || blocklen <= 0 || n > d->lim->max_items)
		goto type;
	if (index < 0 || index >= blocklen) {
		d->problem = "deque index out of its block";
		goto type;
	}
	for (uint64_t i = 0; i < n && block && !decode_failed(d);
	     i++, index++) {
		char label[32];

		if (index >= blocklen) {
			block = decode_u64(d, block + l->dblock_rightlink);
			index = 0;
			if (!block)
				break;
		}
		snprintf(label, sizeof(label), "[%" PRIu64 "]", i);
		decode_edge(d, decode_u64(d, block + l->dblock_data + 8 * index),
			    HEAP_EDGE_TRAVERSE, label);
	}
type:
	if (ti->flags & TPFLAGS_HEAPTYPE)
		decode_edge(d, ti->addr, HEAP_EDGE_TRAVERSE, "__class__");
}
