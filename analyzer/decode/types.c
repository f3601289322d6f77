/* SPDX-License-Identifier: MIT */
/*
 * Types and what classes make: type objects and metatypes, instances of
 * classes (subtype_traverse: __slots__, the instance dict or its values,
 * then the base's traverse), modules, exceptions.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"
#include "cpython/version.h"
#include "target/target.h"

enum {
	MAX_BASES = 64,          // tp_base steps before a type is corrupt
	MAX_SLOTS = 4096,        // __slots__ members of one type
	MAX_MODULE_STATE = 1u << 16, // bytes of module state scanned
};

// type_traverse (Objects/typeobject.c): heap types only.
void decode_type(struct decode *d, uint64_t obj, const struct decode_type *ti)
{
	const struct layout *l = d->l;
	struct decode_type *self = decode_type_at(d, obj);
	bool heap = self && self->valid && (self->flags & TPFLAGS_HEAPTYPE);
	enum heap_edge_kind k = heap ? HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG;

	(void)ti;
	decode_field_kind(d, obj, l->tp_dict, k, "__dict__");
	decode_field_kind(d, obj, l->tp_cache, k, "tp_cache");
	decode_field_kind(d, obj, l->tp_mro, k, "__mro__");
	decode_field_kind(d, obj, l->tp_bases, k, "__bases__");
	decode_field_kind(d, obj, l->tp_base, k, "__base__");
	// The dict of weak references to subclasses; 3.12+ static builtin
	// types (_Py_TPFLAGS_STATIC_BUILTIN) keep an index there instead,
	// and their dict per interpreter.
	if (heap || !l->static_builtin_index ||
	    !(self && (self->flags & (1UL << 1))))
		decode_field_kind(d, obj, l->tp_subclasses, HEAP_EDGE_STRONG,
				  "__subclasses__");
	if (!heap)
		return;
	decode_field(d, obj, l->ht_module, "ht_module");
	decode_field_kind(d, obj, l->ht_name, HEAP_EDGE_STRONG, "__name__");
	decode_field_kind(d, obj, l->ht_qualname, HEAP_EDGE_STRONG,
			  "__qualname__");
	decode_field_kind(d, obj, l->ht_slots, HEAP_EDGE_STRONG, "__slots__");
	if (self->cached_keys) {
		d->ops->shared_keys(d, self->cached_keys, true);
		// The shared keys of instance dicts belong to the type.
		struct dict_keys k2;

		if (dict_keys_read(d, self->cached_keys, &k2)) {
			for (uint64_t i = 0; i < k2.nentries && i < 4096; i++)
				decode_edge(d, decode_u64(d, k2.entries +
						i * k2.entry_size + k2.key_off),
					    HEAP_EDGE_STRONG, "<cached key>");
		}
	}
}

// A heap type: "module.qualname" (no module for builtins); else tp_name.
void type_preview(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  char *out, size_t max)
{
	struct decode_type *self = decode_type_at(d, obj);
	char qualname[DECODE_NAME_MAX];

	(void)ti;
	if (self && self->valid && (self->flags & TPFLAGS_HEAPTYPE) &&
	    decode_str(d, decode_u64(d, obj + d->l->ht_qualname), false,
		       qualname, sizeof(qualname), NULL)) {
		if (self->module[0] && strcmp(self->module, "builtins"))
			snprintf(out, max, "%.100s.%.100s", self->module,
				 qualname);
		else
			snprintf(out, max, "%s", qualname);
		return;
	}
	if (self)
		snprintf(out, max, "%s", self->name);
}

// Metatypes with a traverse of their own (ctypes') extend type_traverse:
// decode the type, scan only what they add.
void decode_metatype(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	// Heap metatypes' traverse visits the metatype (3.9+).
	if (ti->flags & TPFLAGS_HEAPTYPE)
		decode_edge(d, ti->addr, HEAP_EDGE_CONSERVATIVE, "__class__");
	decode_type(d, obj, ti);
	decode_conservative(d, obj, d->l->sizeof_heaptype, ti->basicsize, ti);
}

/*
 * The __dict__ of an instance whose type has Py_TPFLAGS_MANAGED_DICT
 * (3.11+): a word of the pre-header, where the version says, and the
 * values, before the object (3.11), tagged in that word (3.12) or inline
 * after it (3.13).
 */
void decode_managed_dict(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	const struct layout *l = d->l;
	const struct cpython_ops *ops = l->cpython ? l->cpython->ops : NULL;
	uint64_t dict_at = 0, values_at = 0;

	// A version without a pre-header has no managed dict.
	if (!ops || !ops->preheader)
		return;
	ops->preheader(l, obj, &dict_at, &values_at);
	uint64_t dict_word = dict_at ? decode_u64(d, dict_at) : 0;

	if (l->inline_values) {
		// 3.13 PyObject_VisitManagedDict: inline values while valid,
		// else the materialized dict.
		uint64_t values = obj + ti->basicsize;

		if ((ti->flags & TPFLAGS_INLINE_VALUES) &&
		    decode_u8(d, values + l->dv_valid)) {
			split_values(d, values + l->dv_values,
				     decode_u8(d, values + l->dv_capacity),
				     ti->cached_keys, true);
			// A dict made of the values is the object's too,
			// though not visited while they are valid.
			decode_edge(d, dict_word, HEAP_EDGE_STRONG, "__dict__");
		} else {
			decode_edge(d, dict_word, HEAP_EDGE_TRAVERSE,
				    "__dict__");
		}
	} else if (l->dict_or_values) {
		// 3.12 PyDictOrValues: bit 0 set means values - 1.
		if (dict_word & 1) {
			struct dict_keys k;
			uint64_t n = ti->cached_keys &&
				dict_keys_read(d, ti->cached_keys, &k) ?
				k.nentries : 0;

			split_values(d, dict_word + 1, n, ti->cached_keys,
				     true);
		} else {
			decode_edge(d, dict_word, HEAP_EDGE_TRAVERSE,
				    "__dict__");
		}
	} else {
		// 3.11: a pointer to the values, then the dict.
		uint64_t values = values_at ? decode_u64(d, values_at) : 0;
		struct dict_keys k;

		if (values && ti->cached_keys &&
		    dict_keys_read(d, ti->cached_keys, &k))
			split_values(d, values, k.nentries, ti->cached_keys,
				     true);
		decode_edge(d, dict_word, HEAP_EDGE_TRAVERSE, "__dict__");
	}
}

/*
 * subtype_traverse (Objects/typeobject.c): __slots__ of each type up to
 * the first base with another tp_traverse, the instance dict (or 3.11+
 * managed dict and values), the type itself, then that base's traverse.
 */
void decode_subtype(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	const struct layout *l = d->l;
	const struct decode_type *base = ti;
	int steps = 0;

	while (base && base->valid && base->row &&
	       base->row->decode == decode_subtype) {
		if (++steps > MAX_BASES) {
			d->problem = "type has too many bases";
			return;
		}
		if (base->nslots > 0 && base->nslots < MAX_SLOTS) {
			// PyHeapType_GET_MEMBERS: right after the heap type,
			// at Py_TYPE(type)->tp_basicsize.
			struct decode_type *meta = decode_type_at(d, base->meta);
			uint64_t m = base->addr + (meta && meta->valid ?
				     meta->basicsize : l->sizeof_heaptype);

			for (int64_t i = 0; i < base->nslots &&
			     !decode_failed(d); i++, m += l->sizeof_member) {
				int32_t type = decode_u32(d, m + l->member_type);
				int64_t off = decode_u64(d, m + l->member_offset);
				char text[64];

				if (type != MEMBER_T_OBJECT_EX)
					continue;
				if (target_read_string(
					    d->t,
					    decode_u64(d, m + l->member_name),
					    text, sizeof(text)) < 1)
					snprintf(text, sizeof(text), "<slot>");
				decode_edge(d, decode_u64(d, obj + off),
					    HEAP_EDGE_TRAVERSE, text);
			}
		}
		base = base->base ? decode_type_at(d, base->base) : NULL;
	}
	if (!base || !base->valid) {
		d->problem = "type has no valid base";
		return;
	}
	if (ti->flags & TPFLAGS_MANAGED_DICT) {
		decode_managed_dict(d, obj, ti);
	} else if (ti->dictoffset != base->dictoffset && ti->dictoffset) {
		// _PyObject_ComputedDictPointer (Objects/object.c).
		int64_t off = ti->dictoffset;

		if (off < 0) {
			int64_t n = (int64_t)decode_u64(d, obj + l->ob_size);
			uint64_t items = n < 0 ? -(uint64_t)n : (uint64_t)n;

			if (items > d->lim->max_items) {
				d->problem = "item count over the limit";
				return;
			}
			uint64_t size = ti->basicsize + items * ti->itemsize;

			off += (size + 7) & ~7ULL;
		}
		decode_field(d, obj, off, "__dict__");
	}
	// Heap types' instances visit their type; from 3.8 only when the
	// base's traverse will not (bpo-35810).
	if ((ti->flags & TPFLAGS_HEAPTYPE) &&
	    (l->visit_type_always || (base->row && !base->row->decode) ||
	     !(base->flags & TPFLAGS_HEAPTYPE)))
		decode_edge(d, ti->addr, HEAP_EDGE_TRAVERSE, "__class__");
	if (!base->row) {
		// A heap base's own traverse visits Py_TYPE(self) (3.9+).
		if ((base->flags & TPFLAGS_HEAPTYPE) && !l->visit_type_always)
			decode_edge(d, ti->addr, HEAP_EDGE_CONSERVATIVE,
				    "__class__");
		decode_conservative(d, obj, l->sizeof_object, base->basicsize,
				    base);
		return;
	}
	decode_object(d, obj, base);
}

/*
 * The atexit module's state before 3.10 (Modules/atexitmodule.c): an
 * array of pointers to malloc'd callbacks, each its function and
 * arguments, which atexit_m_traverse visits.
 */
enum {
	ATEXIT_CALLBACKS = 0,    // atexitmodule_state.atexit_callbacks
	ATEXIT_NCALLBACKS = 8,   // .ncallbacks (int)
	ATEXIT_MAX = 1 << 16,
};

static void decode_atexit(struct decode *d, uint64_t state)
{
	static const char *const parts[] = { "func", "args", "kwargs" };
	uint64_t array = decode_u64(d, state + ATEXIT_CALLBACKS);
	uint32_t n = decode_u32(d, state + ATEXIT_NCALLBACKS);
	char label[64];

	if (n > ATEXIT_MAX || n > d->lim->max_items) {
		d->problem = "atexit callbacks over the limit";
		return;
	}
	for (uint32_t i = 0; i < n && array && !decode_failed(d); i++) {
		uint64_t cb = decode_u64(d, array + 8ULL * i);

		for (int k = 0; cb && k < 3; k++) {
			snprintf(label, sizeof(label), "<atexit callback %u %s>",
				 i, parts[k]);
			decode_edge(d, decode_u64(d, cb + 8ULL * k),
				    HEAP_EDGE_TRAVERSE, label);
		}
	}
}

// module_traverse (Objects/moduleobject.c): the module state through the
// module's m_traverse, which is C code: scanned conservatively.
void decode_module(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	const struct layout *l = d->l;
	uint64_t def = decode_u64(d, obj + l->module_def);
	uint64_t state = decode_u64(d, obj + l->module_state);

	(void)ti;
	decode_field(d, obj, l->module_dict, "__dict__");
	decode_field_kind(d, obj, l->module_name, HEAP_EDGE_STRONG, "__name__");
	// Its definition, a static of its extension: not owned.
	decode_field_kind(d, obj, l->module_def, HEAP_EDGE_BORROWED, "md_def");
	if (!def || !state || l->moduledef_size < 0)
		return;
	int64_t size = (int64_t)decode_u64(d, def + l->moduledef_size);
	uint64_t trav = decode_u64(d, def + l->moduledef_traverse);

	if (trav && trav == d->sym->atexit_traverse) {
		decode_atexit(d, state);
		return;
	}
	if (size > 0 && trav) {
		if (size > MAX_MODULE_STATE)
			size = MAX_MODULE_STATE;
		// The state is a separate allocation: scan it as if it
		// were this object's body.
		decode_conservative(d, state, 0, size & ~7, NULL);
	}
}

// A module definition (PyModuleDef, made an object by PyModuleDef_Init):
// the copy of a single-phase module's dict that a second import of it
// starts from (Python/import.c, fix_up_extension), owned, never visited.
void decode_moduledef(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	(void)ti;
	decode_field_kind(d, obj, d->l->moduledef_copy, HEAP_EDGE_STRONG,
			  "m_copy");
}

// Its __name__.
void module_preview(struct decode *d, uint64_t obj,
		    const struct decode_type *ti, char *out, size_t max)
{
	(void)ti;
	decode_str(d, decode_u64(d, obj + d->l->module_name), false, out, max,
		   NULL);
}

// BaseException_traverse (Objects/exceptions.c) and the object members
// subclasses such as OSError and StopIteration add.
void decode_exception(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;

	decode_field(d, obj, l->exc_dict, "__dict__");
	decode_field(d, obj, l->exc_args, "args");
	decode_field(d, obj, l->exc_notes, "__notes__");
	decode_field(d, obj, l->exc_traceback, "__traceback__");
	decode_field(d, obj, l->exc_cause, "__cause__");
	decode_field(d, obj, l->exc_context, "__context__");
	// Each static exception type lists all its members, inherited ones
	// too (Objects/exceptions.c ComplexExtendsException); a heap type's
	// members are its __slots__, which subtype_traverse visits.
	if (!ti || !ti->valid || (ti->flags & TPFLAGS_HEAPTYPE))
		return;
	for (uint64_t m = ti->members, k = 0; m && k < 64 && !decode_failed(d);
	     k++, m += l->sizeof_member) {
		uint64_t name = decode_u64(d, m + l->member_name);
		int32_t type = decode_u32(d, m + l->member_type);
		int64_t off = (int64_t)decode_u64(d, m + l->member_offset);
		char text[64];

		if (!name)
			break;
		if ((type != MEMBER_T_OBJECT && type != MEMBER_T_OBJECT_EX) ||
		    off < l->sizeof_object || off >= ti->basicsize)
			continue;
		if (target_read_string(d->t, name, text, sizeof(text)) < 1)
			continue;
		decode_edge(d, decode_u64(d, obj + off), HEAP_EDGE_TRAVERSE,
			    text);
	}
}
