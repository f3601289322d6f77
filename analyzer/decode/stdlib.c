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

/*
 * Py_VISIT(Py_TYPE(self)) of the traverse of a heap type @p ti: the
 * object's own type, which is a subclass of @p ti when a subclass's
 * subtype_traverse handed the object on.
 */
static void type_edge(struct decode *d, uint64_t obj)
{
	decode_field(d, obj, d->l->ob_type, "__class__");
}

static void heap_type_edge(struct decode *d, uint64_t obj,
			   const struct decode_type *ti)
{
	if (ti->flags & TPFLAGS_HEAPTYPE)
		type_edge(d, obj);
}

// partial_traverse (Modules/_functoolsmodule.c).
void decode_partial(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field(d, obj, l->partial_fn, "func");
	decode_field(d, obj, l->partial_args, "args");
	decode_field(d, obj, l->partial_kw, "keywords");
	decode_field(d, obj, l->partial_dict, "__dict__");
}

/*
 * lru_cache_tp_traverse (Modules/_functoolsmodule.c): the entries of the
 * bounded cache's list from root.next back to the root, then the fields.
 * 3.6 visits each entry (an object of its own, tracked) and maxsize_O;
 * 3.7+ the key and result of each entry, and from 3.10 the entry's type.
 * Each entry has two owners: the cache dict (its value) and the list (the
 * reference PyObject_New made, released by lru_cache_clear_list); the
 * list's is the wrapper's "<entry>", visited in 3.6, strong in 3.7+. What
 * 3.7+ visits for an entry is the entry's own (decode_lru_entry counts
 * it there), so it is visited, not counted again.
 */
void decode_lru_cache(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;
	const bool tracked = l->lru_maxsize_obj >= 0;
	uint64_t link = decode_u64(d, obj + l->lru_root_next);
	uint64_t i;

	heap_type_edge(d, obj, ti);
	for (i = 0; link && link != obj && i < d->lim->max_items &&
	     !decode_failed(d) && !d->problem; i++) {
		decode_edge(d, link, tracked ? HEAP_EDGE_TRAVERSE :
				     HEAP_EDGE_STRONG, "<entry>");
		if (!tracked) {
			decode_field_kind(d, link, l->lruelem_key,
					  HEAP_EDGE_VISITED, "<entry key>");
			decode_field_kind(d, link, l->lruelem_result,
					  HEAP_EDGE_VISITED, "<entry result>");
			if (ti->flags & TPFLAGS_HEAPTYPE)
				decode_field_kind(d, link, l->ob_type,
						  HEAP_EDGE_VISITED,
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

/*
 * An lru_cache entry (lru_list_elem): its key and result, its type from
 * 3.10 (a heap type). Tracked in 3.6 (lru_list_elem_traverse), in 3.7+
 * it is not: what it holds it owns, and the wrapper visits it.
 */
void decode_lru_entry(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;
	const enum heap_edge_kind kind = l->lru_maxsize_obj >= 0 ?
		HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG;

	heap_type_edge(d, obj, ti);
	decode_field_kind(d, obj, l->lruelem_key, kind, "key");
	decode_field_kind(d, obj, l->lruelem_result, kind, "result");
}

// defdict_traverse (Modules/_collectionsmodule.c): the factory, then the
// dict's own traverse.
void decode_defaultdict(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
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

	heap_type_edge(d, obj, ti);
	decode_field(d, obj, l->local_args, "args");
	decode_field(d, obj, l->local_kw, "kw");
	decode_field(d, obj, l->local_dicts,
		     l->local_watchdogs >= 0 ? "localdicts" : "dummies");
	decode_field(d, obj, l->local_watchdogs, "thread_watchdogs");
	// Owned, not visited (before 3.13): the key of the thread dicts
	// and the callback of the weakrefs to the threads.
	decode_field_kind(d, obj, l->local_key, HEAP_EDGE_STRONG, "key");
	decode_field_kind(d, obj, l->local_wr_callback, HEAP_EDGE_STRONG,
			  "wr_callback");
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

	heap_type_edge(d, obj, ti);
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

/* ---- typing (Objects/typevarobject.c, 3.12+) ------------------------- */

// typevar_traverse, paramspec_traverse, typevartuple_traverse: the type,
// the fields, then the managed dict (__module__ is set there).
void decode_typevar(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	// The name, a str, is owned and never visited (Objects/typevarobject.c),
	// here and in the three below.
	decode_field_kind(d, obj, l->tv_name, HEAP_EDGE_STRONG, "__name__");
	decode_field(d, obj, l->tv_bound, "__bound__");
	decode_field(d, obj, l->tv_evaluate_bound, "evaluate_bound");
	decode_field(d, obj, l->tv_constraints, "__constraints__");
	decode_field(d, obj, l->tv_evaluate_constraints,
		     "evaluate_constraints");
	decode_field(d, obj, l->tv_default, "__default__");
	decode_field(d, obj, l->tv_evaluate_default, "evaluate_default");
	if (ti->flags & TPFLAGS_MANAGED_DICT)
		decode_managed_dict(d, obj, ti);
}

void decode_paramspec(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field_kind(d, obj, l->ps_name, HEAP_EDGE_STRONG, "__name__");
	decode_field(d, obj, l->ps_bound, "__bound__");
	decode_field(d, obj, l->ps_default, "__default__");
	decode_field(d, obj, l->ps_evaluate_default, "evaluate_default");
	if (ti->flags & TPFLAGS_MANAGED_DICT)
		decode_managed_dict(d, obj, ti);
}

void decode_typevartuple(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field_kind(d, obj, l->tvt_name, HEAP_EDGE_STRONG, "__name__");
	decode_field(d, obj, l->tvt_default, "__default__");
	decode_field(d, obj, l->tvt_evaluate_default, "evaluate_default");
	if (ti->flags & TPFLAGS_MANAGED_DICT)
		decode_managed_dict(d, obj, ti);
}

// paramspecattr_traverse: only __origin__ (not the type).
void decode_paramspecattr(struct decode *d, uint64_t obj,
			  const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->psattr_origin, "__origin__");
}

// typealias_traverse: the fields (not the type).
void decode_typealias(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_field_kind(d, obj, l->ta_name, HEAP_EDGE_STRONG, "__name__");
	decode_field(d, obj, l->ta_type_params, "__type_params__");
	decode_field(d, obj, l->ta_compute_value, "compute_value");
	decode_field(d, obj, l->ta_value, "__value__");
	decode_field(d, obj, l->ta_module, "__module__");
}

/* ---- _asyncio (Modules/_asynciomodule.c) ----------------------------- */

/*
 * FutureObj and TaskObj by version: offsets on x86-64, -1 where the
 * version has no such field, read with ptype /o from the pyenv builds'
 * _asyncio modules (Debian's 3.11 has 3.11's). The module is an extension
 * whose debug info the walker does not read.
 */
struct asyncio_layout {
	int16_t loop, callback0, context0, callbacks, result, exception,
		exception_tb, source_tb, cancel_msg, cancelled_exc, dict;
	int16_t context, coro, name, fut_waiter;   // TaskObj
};

static const struct asyncio_layout asyncio_layouts[] = {
	[6] = { 16, -1, -1, 24, 40, 32, -1, 48, -1, -1, 72,
		-1, 96, -1, 88 },
	[7] = { 16, 24, 32, 40, 56, 48, -1, 64, -1, -1, 88,
		120, 112, -1, 104 },
	[8] = { 16, 24, 32, 40, 56, 48, -1, 64, -1, -1, 88,
		128, 112, 120, 104 },
	[9] = { 16, 24, 32, 40, 56, 48, -1, 64, 72, -1, 96,
		168, 152, 160, 144 },
	[10] = { 16, 24, 32, 40, 64, 48, 56, 72, 80, -1, 104,
		 176, 160, 168, 152 },
	[11] = { 16, 24, 32, 40, 64, 48, 56, 72, 80, 120, 104,
		 152, 136, 144, 128 },
	[12] = { 16, 24, 32, 40, 64, 48, 56, 72, 80, 120, 104,
		 152, 136, 144, 128 },
	// 3.13: the dict is a managed one.
	[13] = { 16, 24, 32, 40, 64, 48, 56, 72, 80, 88, -1,
		 136, 120, 128, 112 },
};

enum {
	FUTUREITER_FUTURE = 16,   // futureiterobject.future, every version
};

static const struct asyncio_layout *asyncio_layout(struct decode *d)
{
	unsigned m = d->l->minor;

	if (d->l->major != 3 || m < 6 ||
	    m >= sizeof(asyncio_layouts) / sizeof(asyncio_layouts[0]))
		return NULL;
	return &asyncio_layouts[m];
}

static void future_fields(struct decode *d, uint64_t obj,
			  const struct decode_type *ti,
			  const struct asyncio_layout *a)
{
	decode_field(d, obj, a->loop, "_loop");
	decode_field(d, obj, a->callback0, "<callback0>");
	decode_field(d, obj, a->context0, "<context0>");
	decode_field(d, obj, a->callbacks, "_callbacks");
	decode_field(d, obj, a->result, "_result");
	decode_field(d, obj, a->exception, "_exception");
	decode_field(d, obj, a->exception_tb, "<exception_tb>");
	decode_field(d, obj, a->source_tb, "_source_traceback");
	decode_field(d, obj, a->cancel_msg, "_cancel_message");
	decode_field(d, obj, a->cancelled_exc, "<cancelled_exc>");
	decode_field(d, obj, a->dict, "__dict__");
	if (ti->flags & TPFLAGS_MANAGED_DICT)
		decode_managed_dict(d, obj, ti);
}

// FutureObj_traverse.
void decode_future(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	const struct asyncio_layout *a = asyncio_layout(d);

	if (!a) {
		d->problem = "no _asyncio layout for this version";
		return;
	}
	heap_type_edge(d, obj, ti);
	future_fields(d, obj, ti, a);
}

// TaskObj_traverse: the task's fields, then the future's.
void decode_task(struct decode *d, uint64_t obj,
		 const struct decode_type *ti)
{
	const struct asyncio_layout *a = asyncio_layout(d);

	if (!a) {
		d->problem = "no _asyncio layout for this version";
		return;
	}
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, a->context, "_context");
	decode_field(d, obj, a->coro, "_coro");
	decode_field(d, obj, a->name, "_name");
	decode_field(d, obj, a->fut_waiter, "_fut_waiter");
	future_fields(d, obj, ti, a);
}

// FutureIter_traverse.
void decode_future_iter(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, FUTUREITER_FUTURE, "future");
}

/* ---- _pickle (Modules/_pickle.c) -------------------------------------- */

/*
 * PicklerObject and UnpicklerObject by version: offsets on x86-64, -1
 * where absent, read with ptype /o from the pyenv builds' _pickle modules.
 * The memo tables are visited from 3.11.7 and 3.12.1 on (bpo-41422).
 */
struct pickle_layout {
	int16_t p_memo, p_pers_func, p_dispatch_table, p_reducer_override,
		p_write, p_fast_memo, p_buffer_callback;
	int16_t u_stack, u_memo, u_memo_size, u_pers_func, u_read,
		u_readinto, u_readline, u_peek, u_buffers;
};

static const struct pickle_layout pickle_layouts[] = {
	[6] = { 16, 24, 40, -1, 48, 128, -1,
		16, 24, 32, 48, 184, -1, 192, 200, -1 },
	[7] = { 16, 24, 40, -1, 48, 128, -1,
		16, 24, 32, 48, 184, -1, 192, 200, -1 },
	[8] = { 16, 24, 40, 48, 56, 136, 144,
		16, 24, 32, 48, 184, 192, 200, 208, 216 },
	[9] = { 16, 24, 40, 48, 56, 136, 144,
		16, 24, 32, 48, 184, 192, 200, 208, 216 },
	[10] = { 16, 24, 40, 48, 56, 136, 144,
		 16, 24, 32, 48, 184, 192, 200, 208, 216 },
	[11] = { 16, 24, 40, 48, 56, 136, 144,
		 16, 24, 32, 48, 184, 192, 200, 208, 216 },
	[12] = { 16, 24, 40, 48, 56, 136, 144,
		 16, 24, 32, 48, 184, 192, 200, 208, 216 },
	[13] = { 16, 24, 32, 40, 48, 128, 136,
		 16, 24, 32, 48, 176, 184, 192, 200, 208 },
};

enum {
	MEMOTABLE_ALLOCATED = 16,  // PyMemoTable.mt_allocated
	MEMOTABLE_TABLE = 24,      // PyMemoTable.mt_table
	MEMOENTRY_SIZE = 16,       // PyMemoEntry: me_key, me_value
	MEMOPROXY_PICKLER = 16,    // the memo proxies' pickler/unpickler
};

/*
 * Owned but never visited: the pickler's output buffer (a bytes object)
 * and the object whose buffer the unpickler reads (Py_buffer.obj, 8
 * bytes into UnpicklerObject.buffer), by version.
 */
static const int16_t pickle_output_buffer[] = {
	[6] = 56, [7] = 56, [8] = 64, [9] = 64, [10] = 64, [11] = 64,
	[12] = 64, [13] = 56,
};
static const int16_t unpickle_input[] = {
	[6] = 72, [7] = 72, [8] = 72, [9] = 72, [10] = 72, [11] = 72,
	[12] = 72, [13] = 64,
};

static const struct pickle_layout *pickle_layout(struct decode *d)
{
	unsigned m = d->l->minor;

	if (d->l->major != 3 || m < 6 ||
	    m >= sizeof(pickle_layouts) / sizeof(pickle_layouts[0]))
		return NULL;
	return &pickle_layouts[m];
}

// Whether the (un)pickler's traverse visits its memo (bpo-41422).
static bool pickle_visits_memo(const struct layout *l)
{
	return l->minor >= 13 || (l->minor == 12 && l->micro >= 1) ||
	       (l->minor == 11 && l->micro >= 7);
}

// Pickler_traverse.
void decode_pickler(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	const struct pickle_layout *p = pickle_layout(d);

	if (!p) {
		d->problem = "no _pickle layout for this version";
		return;
	}
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, p->p_write, "write");
	decode_field(d, obj, p->p_pers_func, "persistent_id");
	decode_field(d, obj, p->p_dispatch_table, "dispatch_table");
	decode_field(d, obj, p->p_fast_memo, "fast_memo");
	decode_field(d, obj, p->p_reducer_override, "reducer_override");
	decode_field(d, obj, p->p_buffer_callback, "buffer_callback");
	decode_field_kind(d, obj, pickle_output_buffer[d->l->minor],
			  HEAP_EDGE_STRONG, "<output buffer>");
	uint64_t memo = decode_u64(d, obj + p->p_memo);
	// Its keys are owned (PyMemoTable_Set), visited only since.
	enum heap_edge_kind kind = pickle_visits_memo(d->l) ?
		HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG;

	if (!memo)
		return;
	uint64_t n = decode_u64(d, memo + MEMOTABLE_ALLOCATED);
	uint64_t table = decode_u64(d, memo + MEMOTABLE_TABLE);

	if (n > d->lim->max_items) {
		d->problem = "pickler memo over the limit";
		return;
	}
	// Visited from the last slot down; empty slots have no key.
	for (uint64_t i = n; i-- > 0 && table && !decode_failed(d) &&
	     !d->problem;) {
		uint64_t key = decode_u64(d, table + i * MEMOENTRY_SIZE);

		if (key)
			decode_edge(d, key, kind, "<memo key>");
	}
}

// Unpickler_traverse.
void decode_unpickler(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct pickle_layout *p = pickle_layout(d);

	if (!p) {
		d->problem = "no _pickle layout for this version";
		return;
	}
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, p->u_readline, "readline");
	decode_field(d, obj, p->u_readinto, "readinto");
	decode_field(d, obj, p->u_read, "read");
	decode_field(d, obj, p->u_peek, "peek");
	decode_field(d, obj, p->u_stack, "<stack>");
	decode_field(d, obj, p->u_pers_func, "persistent_load");
	decode_field(d, obj, p->u_buffers, "<buffers>");
	decode_field_kind(d, obj, unpickle_input[d->l->minor],
			  HEAP_EDGE_STRONG, "<input buffer>");
	uint64_t memo = decode_u64(d, obj + p->u_memo);
	uint64_t n = decode_u64(d, obj + p->u_memo_size);
	// Owned (_Unpickler_MemoPut), visited only since.
	enum heap_edge_kind kind = pickle_visits_memo(d->l) ?
		HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG;

	if (!memo)
		return;
	if (n > d->lim->max_items) {
		d->problem = "unpickler memo over the limit";
		return;
	}
	for (uint64_t i = 0; i < n && !decode_failed(d) && !d->problem; i++) {
		uint64_t v = decode_u64(d, memo + 8 * i);

		if (v)
			decode_edge(d, v, kind, "<memo>");
	}
}

// PicklerMemoProxy_traverse and UnpicklerMemoProxy_traverse.
void decode_memoproxy(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, MEMOPROXY_PICKLER, "<pickler>");
}

/* ---- _ctypes (Modules/_ctypes/) --------------------------------------- */

/*
 * CDataObject, PyCFuncPtrObject, CFieldObject and PyCArgObject: the same
 * offsets on x86-64 in every version from 3.6 to 3.13 (ptype /o of the
 * pyenv builds' _ctypes modules).
 */
enum {
	CDATA_B_BASE = 32,
	CDATA_B_OBJECTS = 64,
	CFUNC_THUNK = 96,
	CFUNC_CALLABLE = 104,
	CFUNC_CONVERTERS = 112,
	CFUNC_ARGTYPES = 120,
	CFUNC_RESTYPE = 128,
	CFUNC_CHECKER = 136,
	CFUNC_ERRCHECK = 144,
	CFUNC_PARAMFLAGS = 152,
	CFIELD_PROTO = 40,
	CARG_OBJ = 48,
};

// PyCData_traverse: the objects kept alive and the base; from 3.13 the
// type (a heap type there), after them.
static void cdata_fields(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	decode_field(d, obj, CDATA_B_OBJECTS, "_objects");
	decode_field(d, obj, CDATA_B_BASE, "_b_base_");
	(void)ti;
	if (d->l->minor >= 13)
		type_edge(d, obj);
}

void decode_cdata(struct decode *d, uint64_t obj,
		  const struct decode_type *ti)
{
	cdata_fields(d, obj, ti);
}

// PyCFuncPtr_traverse: the function's parts, then PyCData_traverse.
void decode_cfuncptr(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	decode_field(d, obj, CFUNC_CALLABLE, "callable");
	decode_field(d, obj, CFUNC_RESTYPE, "restype");
	decode_field(d, obj, CFUNC_CHECKER, "<checker>");
	decode_field(d, obj, CFUNC_ERRCHECK, "errcheck");
	decode_field(d, obj, CFUNC_ARGTYPES, "argtypes");
	decode_field(d, obj, CFUNC_CONVERTERS, "<converters>");
	decode_field(d, obj, CFUNC_PARAMFLAGS, "<paramflags>");
	decode_field(d, obj, CFUNC_THUNK, "<thunk>");
	cdata_fields(d, obj, ti);
}

// PyCField_traverse: the field's type (and, a heap type from 3.12, the
// CField type).
void decode_cfield(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, CFIELD_PROTO, "<proto>");
}

// PyCArg_traverse (3.12+: byref() results are tracked).
void decode_carg(struct decode *d, uint64_t obj,
		 const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, CARG_OBJ, "_obj");
}

/* ---- _io (Modules/_io/, in libpython) ---------------------------------- */

/*
 * The _io types became heap types in 3.12, when their traverse functions
 * started to visit the type and some buffers and parts they had left out
 * (the BytesIO buffer, a StringIO's newlines and decoder, a pair's two
 * buffered objects, a newline decoder's decoder).
 */
static bool io_full(const struct decode *d)
{
	return d->l->minor >= 12;
}

// How such a part, owned before 3.12 too, is held.
static enum heap_edge_kind io_kind(const struct decode *d)
{
	return io_full(d) ? HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG;
}

// iobase_traverse: _IOBase, _RawIOBase, _BufferedIOBase, _TextIOBase.
void decode_iobase(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->io_iobase_dict, "__dict__");
}

// bytesio_traverse.
void decode_bytesio(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->io_bytesio_dict, "__dict__");
	decode_field_kind(d, obj, d->l->io_bytesio_buf, io_kind(d), "<buf>");
}

// stringio_traverse.
void decode_stringio(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field_kind(d, obj, l->io_stringio_readnl, io_kind(d),
			  "<readnl>");
	decode_field_kind(d, obj, l->io_stringio_writenl, io_kind(d),
			  "<writenl>");
	decode_field_kind(d, obj, l->io_stringio_decoder, io_kind(d),
			  "<decoder>");
	decode_field(d, obj, l->io_stringio_dict, "__dict__");
	// What it accumulates, which no version's traverse visits: before
	// 3.12 two lists (_PyAccu), since a str (_PyUnicodeWriter).
	decode_field_kind(d, obj, l->io_stringio_accu_large, HEAP_EDGE_STRONG,
			  "<accu.large>");
	decode_field_kind(d, obj, l->io_stringio_accu_small, HEAP_EDGE_STRONG,
			  "<accu.small>");
	decode_field_kind(d, obj, l->io_stringio_writer_buffer,
			  HEAP_EDGE_STRONG, "<writer.buffer>");
}

// fileio_traverse.
void decode_fileio(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->io_fileio_dict, "__dict__");
}

// buffered_traverse: BufferedReader, BufferedWriter, BufferedRandom.
void decode_buffered(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->io_buffered_raw, "raw");
	decode_field(d, obj, d->l->io_buffered_dict, "__dict__");
}

// bufferedrwpair_traverse.
void decode_rwpair(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field(d, obj, l->io_rwpair_dict, "__dict__");
	decode_field_kind(d, obj, l->io_rwpair_reader, io_kind(d), "reader");
	decode_field_kind(d, obj, l->io_rwpair_writer, io_kind(d), "writer");
}

// textiowrapper_traverse.
void decode_textio(struct decode *d, uint64_t obj,
		   const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field(d, obj, l->io_textio_buffer, "buffer");
	decode_field(d, obj, l->io_textio_encoding, "encoding");
	decode_field(d, obj, l->io_textio_encoder, "<encoder>");
	decode_field(d, obj, l->io_textio_decoder, "<decoder>");
	decode_field(d, obj, l->io_textio_readnl, "<readnl>");
	decode_field(d, obj, l->io_textio_decoded_chars, "<decoded_chars>");
	decode_field(d, obj, l->io_textio_pending_bytes, "<pending_bytes>");
	decode_field(d, obj, l->io_textio_snapshot, "<snapshot>");
	decode_field(d, obj, l->io_textio_errors, "errors");
	decode_field(d, obj, l->io_textio_raw, "<raw>");
	decode_field(d, obj, l->io_textio_dict, "__dict__");
}

// incrementalnewlinedecoder_traverse (3.12+).
void decode_nldecoder(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->io_nl_decoder, "<decoder>");
	decode_field(d, obj, d->l->io_nl_errors, "errors");
}

/* ---- operator, iterators, cmp_to_key, _sre, contextvars ---------------- */

// itemgetter_traverse, attrgetter_traverse (Modules/_operator.c).
void decode_itemgetter(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->op_item, "<items>");
}

void decode_attrgetter(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->op_attr, "<attrs>");
}

// methodcaller_traverse: the name, owned, visited only from 3.10.
void decode_methodcaller(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field_kind(d, obj, l->op_mc_name, l->minor >= 10 ?
			  HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG, "<name>");
	decode_field(d, obj, l->op_mc_args, "<args>");
	decode_field(d, obj, l->op_mc_kwds, "<kwargs>");
}

// dequeiter_traverse (Modules/_collectionsmodule.c).
void decode_dequeiter(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->dequeiter_deque, "<deque>");
}

// tuplegetter_traverse (3.8+).
void decode_tuplegetter(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->tuplegetter_doc, "__doc__");
}

// odictiter_traverse (Objects/odictobject.c).
void decode_odictiter(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_field(d, obj, l->odictiter_odict, "<odict>");
	decode_field(d, obj, l->odictiter_current, "<current>");
	decode_field(d, obj, l->odictiter_result, "<result>");
}

// dictview_traverse (Objects/dictobject.c): dict and OrderedDict views.
void decode_dictview(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->dictview_dict, "mapping");
}

// calliter_traverse (Objects/iterobject.c).
void decode_calliter(struct decode *d, uint64_t obj,
		     const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->calliter_callable, "<callable>");
	decode_field(d, obj, d->l->calliter_sentinel, "<sentinel>");
}

// keyobject_traverse (functools.cmp_to_key's K, tracked from 3.10).
void decode_keyobject(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->keyobj_cmp, "<cmp>");
	decode_field(d, obj, d->l->keyobj_object, "obj");
}

// pattern_traverse, match_traverse, scanner_traverse (Modules/_sre/,
// tracked from 3.10).
void decode_sre_pattern(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field(d, obj, l->sre_pattern_groupindex, "<groupindex>");
	decode_field(d, obj, l->sre_pattern_indexgroup, "<indexgroup>");
	decode_field(d, obj, l->sre_pattern_pattern, "pattern");
}

void decode_sre_match(struct decode *d, uint64_t obj,
		      const struct decode_type *ti)
{
	const struct layout *l = d->l;

	heap_type_edge(d, obj, ti);
	decode_field(d, obj, l->sre_match_string, "string");
	decode_field(d, obj, l->sre_match_regs, "<regs>");
	decode_field(d, obj, l->sre_match_pattern, "re");
}

void decode_sre_scanner(struct decode *d, uint64_t obj,
			const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, d->l->sre_scanner_pattern, "pattern");
	// Its matching state owns the string, and the object whose buffer
	// it reads (state_init), never visited.
	decode_field_kind(d, obj, d->l->sre_scanner_string, HEAP_EDGE_STRONG,
			  "<string>");
	decode_field_kind(d, obj, d->l->sre_scanner_buffer, HEAP_EDGE_STRONG,
			  "<buffer>");
}

// contextvar_tp_traverse, token_tp_traverse, context_tp_traverse
// (Python/context.c, 3.7+).
void decode_contextvar(struct decode *d, uint64_t obj,
		       const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->cv_name, "name");
	decode_field(d, obj, d->l->cv_default, "<default>");
}

void decode_context_token(struct decode *d, uint64_t obj,
			  const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->tok_ctx, "<context>");
	decode_field(d, obj, d->l->tok_var, "var");
	decode_field(d, obj, d->l->tok_oldval, "old_value");
}

void decode_context(struct decode *d, uint64_t obj,
		    const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->ctx_prev, "<prev>");
	decode_field(d, obj, d->l->ctx_vars, "<vars>");
}

/* ---- types.GenericAlias, types.UnionType (Objects/) -------------------- */

// ga_traverse (Objects/genericaliasobject.c).
void decode_generic_alias(struct decode *d, uint64_t obj,
			  const struct decode_type *ti)
{
	const struct layout *l = d->l;

	(void)ti;
	decode_field(d, obj, l->ga_origin, "__origin__");
	decode_field(d, obj, l->ga_args, "__args__");
	decode_field(d, obj, l->ga_parameters, "__parameters__");
}

// union_traverse (Objects/unionobject.c).
void decode_union(struct decode *d, uint64_t obj,
		  const struct decode_type *ti)
{
	(void)ti;
	decode_field(d, obj, d->l->union_args, "__args__");
	decode_field(d, obj, d->l->union_parameters, "__parameters__");
}

/* ---- _json (Modules/_json.c) ------------------------------------------- */

/*
 * PyScannerObject and PyEncoderObject on x86-64 (ptype /o of the pyenv
 * builds' _json modules): the hooks keep their offsets in every version;
 * 3.6 has strict, sort_keys and skipkeys as objects; the scanner's memo
 * is visited in 3.9-3.12 (3.13 has none).
 */
enum {
	SCANNER_STRICT = 16,         // 3.6
	SCANNER_OBJECT_HOOK = 24,
	SCANNER_PAIRS_HOOK = 32,
	SCANNER_PARSE_FLOAT = 40,
	SCANNER_PARSE_INT = 48,
	SCANNER_PARSE_CONSTANT = 56,
	SCANNER_MEMO = 64,           // visited in 3.9-3.12
	ENCODER_MARKERS = 16,
	ENCODER_DEFAULT = 24,
	ENCODER_ENCODER = 32,
	ENCODER_INDENT = 40,
	ENCODER_KEY_SEP = 48,
	ENCODER_ITEM_SEP = 56,
	ENCODER_SORT_KEYS = 64,      // 3.6
	ENCODER_SKIPKEYS = 72,       // 3.6
};

// scanner_traverse.
void decode_json_scanner(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	unsigned m = d->l->minor;

	heap_type_edge(d, obj, ti);
	if (m < 7)
		decode_field(d, obj, SCANNER_STRICT, "strict");
	decode_field(d, obj, SCANNER_OBJECT_HOOK, "object_hook");
	decode_field(d, obj, SCANNER_PAIRS_HOOK, "object_pairs_hook");
	decode_field(d, obj, SCANNER_PARSE_FLOAT, "parse_float");
	decode_field(d, obj, SCANNER_PARSE_INT, "parse_int");
	decode_field(d, obj, SCANNER_PARSE_CONSTANT, "parse_constant");
	// Its memo dict is owned until 3.13, visited from 3.9.
	if (m < 13)
		decode_field_kind(d, obj, SCANNER_MEMO, m >= 9 ?
				  HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG,
				  "<memo>");
}

// encoder_traverse.
void decode_json_encoder(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	heap_type_edge(d, obj, ti);
	decode_field(d, obj, ENCODER_MARKERS, "markers");
	decode_field(d, obj, ENCODER_DEFAULT, "default");
	decode_field(d, obj, ENCODER_ENCODER, "encoder");
	decode_field(d, obj, ENCODER_INDENT, "indent");
	decode_field(d, obj, ENCODER_KEY_SEP, "key_separator");
	decode_field(d, obj, ENCODER_ITEM_SEP, "item_separator");
	if (d->l->minor < 7) {
		decode_field(d, obj, ENCODER_SORT_KEYS, "sort_keys");
		decode_field(d, obj, ENCODER_SKIPKEYS, "skipkeys");
	}
}
