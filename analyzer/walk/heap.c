/* SPDX-License-Identifier: MIT */
/*
 * The heap walker.
 *
 * 1. Every interpreter's collector lists (generations 0–2 and the permanent
 *    generation) give the tracked objects, each recorded once.
 * 2. A work queue then takes each recorded object in turn: its header and
 *    type are read, the decoder for its type reports its references, and
 *    every referenced address not seen before is recorded and queued. So
 *    untracked objects (str, int, code, static types…) are found through
 *    the references to them, with no recursion over target data.
 *
 * Decoders mirror the tp_traverse functions in CPython's Objects/: what
 * a traverse function visits is reported as HEAP_EDGE_TRAVERSE, other owned
 * references as HEAP_EDGE_STRONG. A type is matched to its decoder by its
 * tp_traverse function (so subclasses and heap types built on a builtin are
 * decoded by their base's decoder), or by its own address for the types
 * without one (str, int, code…). Types nothing matches are scanned
 * conservatively.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "walk/census.h"
#include "walk/heap.h"
#include "cpython/layout.h"
#include "util/mem.h"
#include "target/target.h"

const struct heap_limits heap_default_limits = {
	.max_objects = 200000000,
	.max_items = 1u << 26,
};

enum {
	MAX_INTERPRETERS = 256,  // sub-interpreters followed via ->next
	MAX_BASES = 64,          // tp_base steps before a type is corrupt
	MAX_SLOTS = 4096,        // __slots__ members of one type
	MAX_CONSERVATIVE = 1u << 16, // bytes scanned in one object
	MAX_MODULE_STATE = 1u << 16, // bytes of module state scanned
	NAME_MAX_LEN = 200,      // bytes of tp_name kept
	// Include/internal/pycore_frame.h (3.11–3.14): enum _frameowner.
	FRAME_OWNED_BY_FRAME_OBJECT = 2,
	// 3.11–3.13 FRAME_CLEARED (pycore_frame.h).
	FRAME_CLEARED = 4,
	// Include/methodobject.h METH_METHOD (3.9+).
	METH_METHOD = 0x0200,
};

enum decoder {
	DEC_UNKNOWN,      // conservative scan
	DEC_NONE,         // holds no references (str, int, float, object…)
	DEC_SUBTYPE,      // subtype_traverse: slots, dict, type, then base
	DEC_DICT,
	DEC_LIST,
	DEC_TUPLE,
	DEC_SET,
	DEC_CELL,
	DEC_METHOD,
	DEC_CFUNCTION,
	DEC_CLASSMETHOD,  // and staticmethod: same layout
	DEC_PROPERTY,
	DEC_FUNCTION,
	DEC_CODE,
	DEC_MODULE,
	DEC_WEAKREF,
	DEC_FRAME,
	DEC_GENERATOR,    // and coroutines, async generators
	DEC_TRACEBACK,
	DEC_TYPE,
	DEC_EXCEPTION,
	DEC_ODICT,
	DEC_DEQUE,
	DEC_DESCRIPTOR,   // method, classmethod, getset, member, wrapper
	DEC_SLICE,
	DEC_MANAGEDBUFFER,
	DEC_MEMORYVIEW,
	DEC_ENUMERATE,
	DEC_METATYPE,     // a type whose metatype has an unknown traverse
};

// Types identified by their exported type object. Most are also matched
// by tp_traverse for subclasses.
static const struct {
	const char *symbol;
	enum decoder decoder;
} type_symbols[] = {
	{ "PyDict_Type", DEC_DICT },
	{ "PyList_Type", DEC_LIST },
	{ "PyTuple_Type", DEC_TUPLE },
	{ "PySet_Type", DEC_SET },
	{ "PyFrozenSet_Type", DEC_SET },
	{ "PyCell_Type", DEC_CELL },
	{ "PyMethod_Type", DEC_METHOD },
	{ "PyCFunction_Type", DEC_CFUNCTION },
	{ "PyCMethod_Type", DEC_CFUNCTION },
	{ "PyClassMethod_Type", DEC_CLASSMETHOD },
	{ "PyStaticMethod_Type", DEC_CLASSMETHOD },
	{ "PyProperty_Type", DEC_PROPERTY },
	{ "PyFunction_Type", DEC_FUNCTION },
	{ "PyCode_Type", DEC_CODE },
	{ "PyModule_Type", DEC_MODULE },
	{ "_PyWeakref_RefType", DEC_WEAKREF },
	{ "_PyWeakref_ProxyType", DEC_WEAKREF },
	{ "_PyWeakref_CallableProxyType", DEC_WEAKREF },
	{ "PyFrame_Type", DEC_FRAME },
	{ "PyGen_Type", DEC_GENERATOR },
	{ "PyCoro_Type", DEC_GENERATOR },
	{ "PyAsyncGen_Type", DEC_GENERATOR },
	{ "PyTraceBack_Type", DEC_TRACEBACK },
	{ "PyType_Type", DEC_TYPE },
	{ "_PyExc_BaseException", DEC_EXCEPTION },
	{ "PyODict_Type", DEC_ODICT },
	{ "PyMethodDescr_Type", DEC_DESCRIPTOR },
	{ "PyClassMethodDescr_Type", DEC_DESCRIPTOR },
	{ "PyGetSetDescr_Type", DEC_DESCRIPTOR },
	{ "PyMemberDescr_Type", DEC_DESCRIPTOR },
	{ "PyWrapperDescr_Type", DEC_DESCRIPTOR },
	{ "PySlice_Type", DEC_SLICE },
	{ "_PyManagedBuffer_Type", DEC_MANAGEDBUFFER },
	{ "PyMemoryView_Type", DEC_MEMORYVIEW },
	{ "PyEnum_Type", DEC_ENUMERATE },
	{ "PyUnicode_Type", DEC_NONE },
	{ "PyLong_Type", DEC_NONE },
	{ "PyBool_Type", DEC_NONE },
	{ "PyFloat_Type", DEC_NONE },
	{ "PyBytes_Type", DEC_NONE },
	{ "PyComplex_Type", DEC_NONE },
	{ "PyBaseObject_Type", DEC_NONE },
	{ "_PyNone_Type", DEC_NONE },
	{ "_PyNotImplemented_Type", DEC_NONE },
	{ "PyEllipsis_Type", DEC_NONE },
};

// tp_traverse functions known by name (LOCAL symbols, present with
// .symtab): types that are not exported, or are heap types from 3.12.
static const struct {
	const char *symbol;
	enum decoder decoder;
} traverse_symbols[] = {
	{ "subtype_traverse", DEC_SUBTYPE },
	{ "deque_traverse", DEC_DEQUE },
	{ "odict_traverse", DEC_ODICT },
};

struct tinfo {
	uint64_t addr;          // PyTypeObject *
	char name[NAME_MAX_LEN]; // tp_name
	char module[NAME_MAX_LEN]; // __module__, or "" when unknown
	bool valid;             // a readable type object
	enum decoder decoder;   // for instances of this type
	uint64_t flags;         // tp_flags
	int64_t basicsize;      // tp_basicsize
	int64_t itemsize;       // tp_itemsize
	int64_t dictoffset;     // tp_dictoffset
	int64_t nslots;         // Py_SIZE(type): __slots__ members
	uint64_t traverse;      // tp_traverse
	uint64_t base;          // tp_base
	uint64_t members;       // tp_members
	uint64_t meta;          // Py_TYPE(type)
	uint64_t alloc;         // tp_alloc
	bool finalize;          // tp_finalize is called by the collector
	uint64_t cached_keys;   // ht_cached_keys (3.11+ shared keys)
};


struct walk {
	struct target *t;
	const struct layout *l;
	const struct heap_limits *lim;
	const struct heap_consumer *c;
	struct heap_stats *st;
	struct err *err;              // first consumer failure: stop

	struct heap_node *nodes;      // every object, in discovery order
	size_t nnodes, nodes_cap;
	// Nodes by address, open addressing: the address and the index + 1
	// (0 = empty) of a slot in two arrays, so that a lookup's two loads
	// do not wait for each other.
	uint64_t *node_ht_addr;
	uint32_t *node_ht;
	size_t node_ht_cap;           // power of two

	struct tinfo **types;         // open addressing by address
	size_t ntypes, types_cap;

	struct {
		uint64_t traverse;    // a tp_traverse function
		enum decoder decoder;
	} traverses[64];
	size_t ntraverses;
	struct {
		uint64_t type;        // an exported type object
		enum decoder decoder;
	} exact[64];
	size_t nexact;
	uint64_t subtype_traverse;    // Objects/typeobject.c, or 0
	uint64_t str_type;            // PyUnicode_Type
	uint64_t long_type;           // PyLong_Type
	uint64_t bool_type;           // PyBool_Type
	uint64_t float_type;          // PyFloat_Type
	uint64_t bytes_type;          // PyBytes_Type
	uint64_t none;                // _Py_NoneStruct
	uint64_t set_dummy;           // *_PySet_Dummy
	uint64_t generic_alloc;       // PyType_GenericAlloc
	uint64_t lookdict;            // ≤3.10: lookup function of general dicts

	uint32_t *esrc, *edst;        // every reference, in report order
	uint8_t *ekind;               // and its kind
	size_t nedges, edges_cap;
	// References whose referent is not yet looked up: the lookups are
	// cache misses, made in a batch after a prefetch of their slots.
	struct {
		uint64_t dst;
		size_t edge;          // its index in esrc/edst/ekind
	} ahead[16];
	unsigned nahead;
	uint32_t *roots;              // nodes held by roots
	size_t nroots, roots_cap;
	uint32_t *roots_flags;        // 1 for a conservative root
	size_t nroots_flags, roots_flags_cap;
	uint32_t *garbage;            // nodes in gc.garbage
	size_t ngarbage, garbage_cap;
	uint32_t interned;            // the interned dict's node, or HEAP_NONE
	char root_label[256];         // scratch for root labels
	struct {
		uint64_t start, end;  // a free list inside a scanned struct
	} skip[16];
	int nskip;

	// the object being decoded
	uint32_t cur;                 // its node index
	uint64_t cur_addr;
	const char *cur_problem;      // why it is corrupt, or NULL
	unsigned cur_bad_refs;        // its references that are not objects

	unsigned char *buf;           // scratch for bulk reads
	size_t buf_cap;

	// Buffers of objects decoded (list items, dict keys and values, set
	// tables): where they are, and whose, for the census.
	struct buffer_ref {
		uint64_t addr;
		uint32_t owner;       // node index
	} *bufs;
	size_t nbufs, bufs_cap;
	struct census census;
	char label[256];
	char repr[256];
};

/* ---- small helpers ---------------------------------------------------- */

// Read n bytes of the current object's data; an unreadable field marks
// the object corrupt and reads as zeros.
static void rd(struct walk *w, uint64_t addr, void *buf, size_t n)
{
	if (!target_read_ok(w->t, buf, addr, n)) {
		if (!w->cur_problem)
			w->cur_problem = "a field is unreadable";
		memset(buf, 0, n);
	}
}

static uint64_t rd64(struct walk *w, uint64_t addr)
{
	uint64_t v;

	rd(w, addr, &v, sizeof(v));
	return v;
}

static uint32_t rd32(struct walk *w, uint64_t addr)
{
	uint32_t v;

	rd(w, addr, &v, sizeof(v));
	return v;
}

static uint8_t rd8(struct walk *w, uint64_t addr)
{
	uint8_t v;

	rd(w, addr, &v, sizeof(v));
	return v;
}

// Read n words at addr into the scratch buffer.
static const uint64_t *rdwords(struct walk *w, uint64_t addr, size_t n)
{
	size_t bytes = n * 8;

	if (n > w->lim->max_items) {
		w->cur_problem = "item count over the limit";
		return NULL;
	}
	if (bytes > w->buf_cap) {
		size_t cap = w->buf_cap ? w->buf_cap : 4096;

		while (cap < bytes)
			cap *= 2;
		unsigned char *p = realloc(w->buf, cap);

		if (!p) {
			w->err = &err_nomem;
			return NULL;
		}
		w->buf = p;
		w->buf_cap = cap;
	}
	if (!target_read_ok(w->t, w->buf, addr, bytes)) {
		w->cur_problem = "items are unreadable";
		return NULL;
	}
	return (const uint64_t *)w->buf;
}


/* ---- nodes ------------------------------------------------------------- */

/*
 * Zeroed memory for a big table read at random places. It asks for huge
 * pages: with 4 KiB pages nearly every lookup in a table of a hundred
 * megabytes misses the TLB as well as the cache.
 */
static void *table_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static void table_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

static void node_ht_free(struct walk *w)
{
	table_free(w->node_ht, w->node_ht_cap * sizeof(*w->node_ht));
	table_free(w->node_ht_addr, w->node_ht_cap * sizeof(*w->node_ht_addr));
	w->node_ht = NULL;
	w->node_ht_addr = NULL;
	w->node_ht_cap = 0;
}

static struct err *node_ht_grow(struct walk *w)
{
	size_t cap = w->node_ht_cap ? w->node_ht_cap * 2 : 1u << 16;
	uint32_t *ht = table_alloc(cap * sizeof(*ht));
	uint64_t *ha = table_alloc(cap * sizeof(*ha));

	if (!ht || !ha) {
		table_free(ht, cap * sizeof(*ht));
		table_free(ha, cap * sizeof(*ha));
		return &err_nomem;
	}
	for (size_t i = 0; i < w->nnodes; i++) {
		size_t h = mem_hash_addr(w->nodes[i].addr) & (cap - 1);

		while (ht[h])
			h = (h + 1) & (cap - 1);
		ht[h] = i + 1;
		ha[h] = w->nodes[i].addr;
	}
	node_ht_free(w);
	w->node_ht = ht;
	w->node_ht_addr = ha;
	w->node_ht_cap = cap;
	return NULL;
}

static long node_add_now(struct walk *w, uint64_t addr, int generation,
			 bool *added);

// Look up the referents of the references held back.
static void edges_settle(struct walk *w)
{
	for (unsigned k = 0; k < w->nahead; k++) {
		bool added;
		long i = node_add_now(w, w->ahead[k].dst, -1, &added);

		// The cap was checked before: only out of memory fails here.
		w->edst[w->ahead[k].edge] = i < 0 ? 0 : (uint32_t)i;
	}
	w->nahead = 0;
}

// Index of the node at addr, or -1.
static long node_find_now(struct walk *w, uint64_t addr)
{
	if (!w->node_ht_cap)
		return -1;
	size_t h = mem_hash_addr(addr) & (w->node_ht_cap - 1);

	while (w->node_ht[h]) {
		if (w->node_ht_addr[h] == addr)
			return w->node_ht[h] - 1;
		h = (h + 1) & (w->node_ht_cap - 1);
	}
	return -1;
}

static long node_find(struct walk *w, uint64_t addr)
{
	edges_settle(w);
	return node_find_now(w, addr);
}

// Index of the node at addr, added if new; -1 when the cap is reached.
static long node_add(struct walk *w, uint64_t addr, int generation,
		     bool *added)
{
	edges_settle(w);
	return node_add_now(w, addr, generation, added);
}

static long node_add_now(struct walk *w, uint64_t addr, int generation,
			 bool *added)
{
	long i = node_find_now(w, addr);

	*added = false;
	if (i >= 0)
		return i;
	if (w->nnodes >= w->lim->max_objects || w->nnodes >= UINT32_MAX - 1) {
		if (!w->st->truncated)
			snprintf(w->st->first_problem,
				 sizeof(w->st->first_problem),
				 "more than %" PRIu64 " objects",
				 w->lim->max_objects);
		w->st->truncated = true;
		return -1;
	}
	if ((w->nnodes + 1) * 3 > w->node_ht_cap * 2) {
		w->err = node_ht_grow(w);
		if (w->err)
			return -1;
	}
	if (w->nnodes == w->nodes_cap) {
		size_t cap = w->nodes_cap ? w->nodes_cap * 2 : 1u << 15;
		struct heap_node *p = realloc(w->nodes, cap * sizeof(*p));

		if (!p) {
			w->err = &err_nomem;
			return -1;
		}
		w->nodes = p;
		w->nodes_cap = cap;
	}
	i = w->nnodes++;
	w->nodes[i] = (struct heap_node){
		.addr = addr,
		.type = HEAP_NONE,
		.generation = generation,
		.flags = generation >= 0 ? HEAP_NODE_TRACKED : 0,
	};
	size_t h = mem_hash_addr(addr) & (w->node_ht_cap - 1);

	while (w->node_ht[h])
		h = (h + 1) & (w->node_ht_cap - 1);
	w->node_ht[h] = i + 1;
	w->node_ht_addr[h] = addr;
	*added = true;
	return i;
}

/* ---- types ------------------------------------------------------------- */

static enum decoder decoder_for_traverse(struct walk *w, uint64_t traverse)
{
	// No traverse: not a container the collector knows, but it may
	// hold references all the same (range, code, C types): scanned,
	// unless type_symbols says it holds none.
	if (!traverse)
		return DEC_UNKNOWN;
	for (size_t i = 0; i < w->ntraverses; i++) {
		if (w->traverses[i].traverse == traverse)
			return w->traverses[i].decoder;
	}
	return DEC_UNKNOWN;
}

static struct tinfo *type_find(struct walk *w, uint64_t addr)
{
	if (!w->types_cap)
		return NULL;
	size_t h = mem_hash_addr(addr) & (w->types_cap - 1);

	while (w->types[h]) {
		if (w->types[h]->addr == addr)
			return w->types[h];
		h = (h + 1) & (w->types_cap - 1);
	}
	return NULL;
}

static struct err *type_insert(struct walk *w, struct tinfo *ti)
{
	if ((w->ntypes + 1) * 2 > w->types_cap) {
		size_t cap = w->types_cap ? w->types_cap * 2 : 1024;
		struct tinfo **p = calloc(cap, sizeof(*p));

		if (!p)
			return &err_nomem;
		for (size_t i = 0; i < w->types_cap; i++) {
			if (!w->types[i])
				continue;
			size_t h = mem_hash_addr(w->types[i]->addr) & (cap - 1);

			while (p[h])
				h = (h + 1) & (cap - 1);
			p[h] = w->types[i];
		}
		free(w->types);
		w->types = p;
		w->types_cap = cap;
	}
	size_t h = mem_hash_addr(ti->addr) & (w->types_cap - 1);

	while (w->types[h])
		h = (h + 1) & (w->types_cap - 1);
	w->types[h] = ti;
	w->ntypes++;
	return NULL;
}

static bool is_type_object(struct walk *w, uint64_t addr)
{
	const struct layout *l = w->l;
	uint64_t meta, flags;

	// A type's type is `type` or a subclass of it: Py_TPFLAGS_TYPE_SUBCLASS.
	return addr && !(addr & 7) &&
	       target_read_u64(w->t, addr + l->ob_type, &meta) && meta &&
	       !(meta & 7) &&
	       target_read_u64(w->t, meta + l->tp_flags, &flags) &&
	       (flags & TPFLAGS_TYPE_SUBCLASS);
}

static void module_of_type(struct walk *w, const struct tinfo *ti, char *buf,
			   size_t size);
static bool str_read(struct walk *w, uint64_t addr, bool quote, char *out,
		     size_t max, int64_t *size_ret);

static struct tinfo *type_get(struct walk *w, uint64_t addr);

static bool is_heap_type(struct walk *w, uint64_t addr)
{
	struct tinfo *ti = type_get(w, addr);

	return ti && ti->valid && (ti->flags & TPFLAGS_HEAPTYPE);
}

// Look up or read a type; reports it to the consumer the first time.
static struct tinfo *type_get(struct walk *w, uint64_t addr)
{
	const struct layout *l = w->l;
	struct tinfo *ti = type_find(w, addr);

	if (ti)
		return ti;
	ti = calloc(1, sizeof(*ti));
	if (!ti) {
		w->err = &err_nomem;
		return NULL;
	}
	ti->addr = addr;
	w->err = type_insert(w, ti);
	if (w->err) {
		free(ti);
		return NULL;
	}
	uint64_t name_addr;

	if (!is_type_object(w, addr) ||
	    !target_read_u64(w->t, addr + l->tp_name, &name_addr) ||
	    target_read_string(w->t, name_addr, ti->name, sizeof(ti->name)) <
		    1) {
		snprintf(ti->name, sizeof(ti->name), "<bad type 0x%" PRIx64 ">",
			 addr);
		return ti;
	}
	uint64_t v[1];
	bool ok = true;

#define FIELD(dst, off)                                                      \
	do {                                                                 \
		ok = ok && target_read_u64(w->t, addr + (off), v);           \
		dst = v[0];                                                  \
	} while (0)
	FIELD(ti->flags, l->tp_flags);
	FIELD(ti->basicsize, l->tp_basicsize);
	FIELD(ti->itemsize, l->tp_itemsize);
	FIELD(ti->dictoffset, l->tp_dictoffset);
	FIELD(ti->traverse, l->tp_traverse);
	FIELD(ti->base, l->tp_base);
	FIELD(ti->members, l->tp_members);
	FIELD(ti->meta, l->ob_type);
	FIELD(ti->nslots, l->ob_size);
	FIELD(ti->alloc, l->tp_alloc);
#undef FIELD
	if (ti->flags & TPFLAGS_HEAPTYPE && l->ht_cached_keys >= 0)
		ok = ok && target_read_u64(w->t, addr + l->ht_cached_keys,
					   &ti->cached_keys);
	if (!ok || ti->basicsize < 0 || ti->basicsize > (1 << 24) ||
	    ti->itemsize < 0 || ti->itemsize > (1 << 16)) {
		snprintf(ti->name, sizeof(ti->name), "<bad type 0x%" PRIx64 ">",
			 addr);
		return ti;
	}
	// Static types are only heap types' 'slots' owners when heap types.
	if (!(ti->flags & TPFLAGS_HEAPTYPE))
		ti->nslots = 0;
	ti->valid = true;

	ti->decoder = DEC_UNKNOWN;
	for (size_t i = 0; i < w->nexact; i++) {
		if (w->exact[i].type == addr)
			ti->decoder = w->exact[i].decoder;
	}
	if (ti->decoder == DEC_UNKNOWN)
		ti->decoder = decoder_for_traverse(w, ti->traverse);
	// Exceptions with their own traverse (OSError, StopIteration…) add
	// members to BaseException's fields; decode those generically.
	if (ti->decoder == DEC_UNKNOWN &&
	    (ti->flags & TPFLAGS_BASE_EXC_SUBCLASS))
		ti->decoder = DEC_EXCEPTION;
	// Types known by name whose traverse is a local symbol that a
	// stripped build does not have.
	if (ti->decoder == DEC_UNKNOWN && !strcmp(ti->name, "collections.deque"))
		ti->decoder = DEC_DEQUE;
	// Metatypes with a traverse of their own (ctypes') extend
	// type_traverse: decode the type, scan only what they add.
	if (ti->decoder == DEC_UNKNOWN && (ti->flags & TPFLAGS_TYPE_SUBCLASS))
		ti->decoder = DEC_METATYPE;

	module_of_type(w, ti, ti->module, sizeof(ti->module));
	struct heap_type ht = {
		.addr = addr,
		.name = ti->name,
		.module = ti->module,
		.basicsize = ti->basicsize,
		.itemsize = ti->itemsize,
		.flags = ti->flags,
		.heap = ti->flags & TPFLAGS_HEAPTYPE,
	};
	uint64_t del = 0, fin = 0;

	target_read_u64(w->t, addr + l->tp_del, &del);
	if (l->tp_finalize >= 0)
		target_read_u64(w->t, addr + l->tp_finalize, &fin);
	ht.has_finalizer = del || fin;
	// Before 3.8 the collector calls tp_finalize only for types with
	// Py_TPFLAGS_HAVE_FINALIZE (Include/object.h, PEP 442).
	ti->finalize = fin && (!l->finalize_flag || (ti->flags & 1));
	w->st->types++;
	if (!w->err)
		w->err = w->c->type(w->c->arg, &ht);
	return ti;
}

/*
 * Whether a word found by a scan points at a live object: its type is a
 * readable type object and its count that of a live object (a freed block
 * keeps its type, but pymalloc puts a pointer in its first word).
 */
static bool plausible_object(struct walk *w, uint64_t p)
{
	const struct layout *l = w->l;
	uint64_t type, refcnt;
	struct tinfo *ti;

	if (!target_read_u64(w->t, p + l->ob_type, &type) ||
	    !target_read_u64(w->t, p + l->ob_refcnt, &refcnt))
		return false;
	if (!((int64_t)refcnt > 0 && refcnt < (1ULL << 40)))
		return false;
	if (!is_type_object(w, type))
		return false;
	ti = type_get(w, type);
	return ti && ti->valid;
}

/* ---- previews ---------------------------------------------------------- */

static void append_utf8(char *out, size_t *len, size_t max, uint32_t ch)
{
	char tmp[4];
	size_t n;

	if (ch < 0x80) {
		tmp[0] = ch;
		n = 1;
	} else if (ch < 0x800) {
		tmp[0] = 0xc0 | (ch >> 6);
		tmp[1] = 0x80 | (ch & 0x3f);
		n = 2;
	} else if (ch < 0x10000) {
		tmp[0] = 0xe0 | (ch >> 12);
		tmp[1] = 0x80 | ((ch >> 6) & 0x3f);
		tmp[2] = 0x80 | (ch & 0x3f);
		n = 3;
	} else {
		tmp[0] = 0xf0 | ((ch >> 18) & 0x07);
		tmp[1] = 0x80 | ((ch >> 12) & 0x3f);
		tmp[2] = 0x80 | ((ch >> 6) & 0x3f);
		tmp[3] = 0x80 | (ch & 0x3f);
		n = 4;
	}
	if (*len + n < max) {
		memcpy(out + *len, tmp, n);
		*len += n;
	}
}

/*
 * Read a str object (Include/cpython/unicodeobject.h): 'state' packs
 * interned:2, kind:3, compact:1, ascii:1. Compact ASCII data follows the
 * PyASCIIObject, compact non-ASCII data the PyCompactUnicodeObject; legacy
 * strings point to their data from PyUnicodeObject.data.
 *
 * @param quote put the value in single quotes, escaping as repr() would
 * for the common cases.
 * @param size_ret if not NULL, the object's size in bytes.
 * @return false if it is not a readable str.
 */
static bool str_read(struct walk *w, uint64_t addr, bool quote, char *out,
		     size_t max, int64_t *size_ret)
{
	const struct layout *l = w->l;
	uint64_t length, state_word;
	uint32_t state;

	if (!target_read_u64(w->t, addr + l->str_length, &length) ||
	    !target_read_u64(w->t, addr + l->str_state, &state_word))
		return false;
	state = (uint32_t)state_word;
	unsigned kind = (state >> 2) & 7;
	bool compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
	uint64_t data;

	if (kind != 1 && kind != 2 && kind != 4)
		return false;
	if (length > (1ULL << 40))
		return false;
	if (compact && ascii)
		data = addr + l->sizeof_str_ascii;
	else if (compact)
		data = addr + l->sizeof_str_compact;
	else if (!target_read_u64(w->t, addr + l->sizeof_str_compact, &data))
		return false;
	if (size_ret) {
		if (compact && ascii)
			*size_ret = l->sizeof_str_ascii + length + 1;
		else if (compact)
			*size_ret = l->sizeof_str_compact + (length + 1) * kind;
		else
			*size_ret = l->sizeof_str_compact + 8;
	}
	size_t len = 0, limit = max > 8 ? max - 8 : 0;
	uint64_t n = length < 96 ? length : 96;
	unsigned char raw[96 * 4];

	if (!target_read_ok(w->t, raw, data, n * kind))
		return false;
	if (quote)
		out[len++] = '\'';
	for (uint64_t i = 0; i < n && len < limit; i++) {
		uint32_t ch;

		if (kind == 1)
			ch = raw[i];
		else if (kind == 2)
			ch = raw[2 * i] | (raw[2 * i + 1] << 8);
		else
			memcpy(&ch, raw + 4 * i, 4);
		if (quote && (ch == '\'' || ch == '\\')) {
			out[len++] = '\\';
			out[len++] = ch;
		} else if (quote && ch < 0x20) {
			len += snprintf(out + len, max - len, "\\x%02x", ch);
		} else {
			append_utf8(out, &len, limit, ch > 0x10ffff ? '?' : ch);
		}
	}
	if (length > n || len >= limit)
		len += snprintf(out + len, max - len, "…");
	if (quote && len + 1 < max)
		out[len++] = '\'';
	out[len] = 0;
	return true;
}

// Read an int (Objects/longobject.c): 30-bit digits, sign in ob_size
// (≤3.11) or in the low bits of lv_tag (3.12+).
static bool long_read(struct walk *w, uint64_t addr, char *out, size_t max,
		      int64_t *ndigits_ret)
{
	const struct layout *l = w->l;
	uint64_t ndigits;
	bool negative;
	uint64_t word;

	if (l->long_tagged) {
		if (!target_read_u64(w->t, addr + l->long_tag, &word))
			return false;
		ndigits = word >> 3;
		negative = (word & 3) == 2;
	} else {
		if (!target_read_u64(w->t, addr + l->ob_size, &word))
			return false;
		int64_t size = (int64_t)word;

		negative = size < 0;
		ndigits = negative ? -(uint64_t)size : (uint64_t)size;
	}
	*ndigits_ret = ndigits;
	if (ndigits > 4) {
		snprintf(out, max, "<int of %" PRIu64 " bits>", ndigits * 30);
		return ndigits < (1ULL << 40);
	}
	uint32_t digits[4] = { 0 };
	unsigned __int128 v = 0;

	if (ndigits && !target_read_ok(w->t, digits, addr + l->long_digits,
				       ndigits * 4))
		return false;
	for (int i = (int)ndigits - 1; i >= 0; i--)
		v = (v << 30) | (digits[i] & 0x3fffffff);
	char tmp[48];
	int n = 0;

	do {
		tmp[n++] = '0' + (int)(v % 10);
		v /= 10;
	} while (v && n < 47);
	size_t len = 0;

	if (negative && len + 1 < max)
		out[len++] = '-';
	while (n && len + 1 < max)
		out[len++] = tmp[--n];
	out[len] = 0;
	return true;
}

// repr() of a float: the shortest %g that reads back exactly.
static void float_repr(double d, char *out, size_t max)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, max, "%.*g", prec, d);
		if (strtod(out, NULL) == d || isnan(d))
			break;
	}
	if (!strpbrk(out, ".eni"))
		strncat(out, ".0", max - strlen(out) - 1);
}

static bool is_type_or_subtype(struct walk *w, uint64_t type, uint64_t want,
			       unsigned subclass_flag)
{
	struct tinfo *ti;

	if (type == want)
		return true;
	ti = type_find(w, type);
	return ti && ti->valid && (ti->flags & subclass_flag);
}

// A short text for a label of an object used as a key or an attribute.
static void key_text(struct walk *w, uint64_t addr, char *out, size_t max)
{
	uint64_t type;
	int64_t nd;

	if (!target_read_u64(w->t, addr + w->l->ob_type, &type)) {
		snprintf(out, max, "?");
		return;
	}
	if (type == w->str_type && str_read(w, addr, true, out, max, NULL))
		return;
	if ((type == w->long_type) && long_read(w, addr, out, max, &nd))
		return;
	if (addr == w->none) {
		snprintf(out, max, "None");
		return;
	}
	struct tinfo *ti = type_get(w, type);

	snprintf(out, max, "<%.100s 0x%" PRIx64 ">", ti ? ti->name : "?", addr);
}

/* ---- edges ------------------------------------------------------------- */

/* References of one object that may be other than objects before the
 * rest are dropped. */
#define MAX_BAD_REFS 8

static void edge(struct walk *w, uint64_t dst, enum heap_edge_kind kind,
		 const char *label)
{
	bool added;
	long i = 0;

	if (!dst || w->err)
		return;
	if (dst & 7) {
		// Objects are at least 8-byte aligned: this is not a pointer.
		w->cur_problem = "a reference is not an object address";
		return;
	}
	// A damaged pointer to an item array or a keys table turns words of
	// anything into references: after a few to memory outside the
	// snapshot, the rest of this object's are dropped and it is marked,
	// instead of each becoming an object. (Only the address is checked:
	// reading every referent's header here would cost a cache miss per
	// reference.)
	if (kind != HEAP_EDGE_CONSERVATIVE) {
		if (w->cur_bad_refs >= MAX_BAD_REFS) {
			w->cur_problem = "many references point outside the "
					 "snapshot";
			return;
		}
		if (!target_contains(w->t, dst) ||
		    !target_contains(w->t, dst + w->l->sizeof_object - 1))
			w->cur_bad_refs++;
	}
	// Near the cap on objects, a reference to an object that cannot be
	// added is dropped: look it up now. Else the lookup waits in w->ahead.
	bool now = w->nnodes + w->nahead + 1 >= w->lim->max_objects;

	if (now && (i = node_add(w, dst, -1, &added)) < 0)
		return;
	struct heap_edge e = {
		.src = w->cur_addr,
		.dst = dst,
		.kind = kind,
		.label = label,
	};
	if (w->nedges == w->edges_cap) {
		size_t cap = w->edges_cap ? w->edges_cap * 2 : 1u << 16;
		uint32_t *s = realloc(w->esrc, cap * sizeof(*s));
		uint32_t *d = s ? realloc(w->edst, cap * sizeof(*d)) : NULL;
		uint8_t *k = d ? realloc(w->ekind, cap * sizeof(*k)) : NULL;

		if (s)
			w->esrc = s;
		if (d)
			w->edst = d;
		if (!k) {
			w->err = &err_nomem;
			return;
		}
		w->ekind = k;
		w->edges_cap = cap;
	}
	// Edge i is row i + 1 of the edges table: kept in step.
	w->err = w->c->edge(w->c->arg, &e);
	w->st->edges++;
	w->esrc[w->nedges] = w->cur;
	w->edst[w->nedges] = i;
	w->ekind[w->nedges] = kind;
	if (!now) {
		if (w->nahead == sizeof(w->ahead) / sizeof(w->ahead[0]))
			edges_settle(w);
		if (w->node_ht_cap) {
			size_t h = mem_hash_addr(dst) & (w->node_ht_cap - 1);

			__builtin_prefetch(&w->node_ht[h]);
			__builtin_prefetch(&w->node_ht_addr[h]);
		}
		w->ahead[w->nahead].dst = dst;
		w->ahead[w->nahead++].edge = w->nedges;
	}
	w->nedges++;
}

// A traverse edge read from a field at obj + off.
static void field(struct walk *w, uint64_t obj, int32_t off,
		  const char *label)
{
	if (off < 0)
		return;
	edge(w, rd64(w, obj + off), HEAP_EDGE_TRAVERSE, label);
}

static void field_kind(struct walk *w, uint64_t obj, int32_t off,
		       enum heap_edge_kind kind, const char *label)
{
	if (off < 0)
		return;
	edge(w, rd64(w, obj + off), kind, label);
}

/*
 * Note a buffer the current object owns, allocated apart from it (list
 * items, dict keys and values, a set's table), for the census to account
 * for the block that holds it. A pointer into the object itself (3.13's
 * inline values, a small set's table) is told apart there.
 */
static void buffer(struct walk *w, uint64_t addr)
{
	if (!addr)
		return;
	if (w->nbufs == w->bufs_cap) {
		size_t cap = w->bufs_cap ? w->bufs_cap * 2 : 1u << 12;
		struct buffer_ref *p = realloc(w->bufs, cap * sizeof(*p));

		if (!p)
			return;    // the census only loses the attribution
		w->bufs = p;
		w->bufs_cap = cap;
	}
	w->bufs[w->nbufs].addr = addr;
	w->bufs[w->nbufs++].owner = w->cur;
}

static void items(struct walk *w, uint64_t array, uint64_t n,
		  const char *fmt_prefix)
{
	const uint64_t *v = rdwords(w, array, n);

	if (!v)
		return;
	// v points into the scratch buffer, which labels do not touch.
	for (uint64_t i = 0; i < n && !w->err; i++) {
		snprintf(w->label, sizeof(w->label), "%s[%" PRIu64 "]",
			 fmt_prefix, i);
		edge(w, v[i], HEAP_EDGE_TRAVERSE, w->label);
	}
}

/* ---- decoders ---------------------------------------------------------- */

static uint64_t var_size(struct walk *w, uint64_t obj)
{
	int64_t n = (int64_t)rd64(w, obj + w->l->ob_size);

	return n < 0 ? 0 : (uint64_t)n;
}

struct dict_keys {
	uint64_t entries;     // first entry
	uint64_t nentries;    // entries in use or deleted
	unsigned entry_size;  // bytes per entry
	int32_t key_off;      // offset of me_key in an entry
	int32_t value_off;    // offset of me_value in an entry
	bool general;         // keys are visited (non-str keys)
};

/*
 * Decode a PyDictKeysObject header (Objects/dict-common.h ≤3.10,
 * Include/internal/pycore_dict.h 3.11+).
 */
static bool dict_keys_read(struct walk *w, uint64_t keys,
			   struct dict_keys *k)
{
	const struct layout *l = w->l;

	k->nentries = rd64(w, keys + l->dk_nentries);
	if (l->dict_log2) {
		unsigned log2_index_bytes = rd8(w, keys + l->dk_log2_index_bytes);
		unsigned kind = rd8(w, keys + l->dk_kind);

		if (log2_index_bytes > 40 || kind > 2)
			return false;
		k->entries = keys + l->dk_indices + (1ULL << log2_index_bytes);
		// DICT_KEYS_GENERAL = 0, UNICODE = 1, SPLIT = 2.
		k->general = kind == 0;
	} else {
		uint64_t size = rd64(w, keys + l->dk_size);
		unsigned width = size <= 0xff ? 1 : size <= 0xffff ? 2 :
			size <= 0xffffffffULL ? 4 : 8;

		if (size > (1ULL << 40))
			return false;
		k->entries = keys + l->dk_indices + size * width;
		// Before 3.11 dict_traverse visits keys only of tables that
		// use the general lookup function, lookdict.
		k->general = rd64(w, keys + l->dk_lookup) == w->lookdict;
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
	return k->nentries <= w->lim->max_items && !w->cur_problem;
}

// Label for a value stored under key: "['name']", "[42]".
static const char *key_label(struct walk *w, uint64_t key, bool attribute)
{
	char text[200];

	if (attribute && str_read(w, key, false, text, sizeof(text), NULL)) {
		snprintf(w->label, sizeof(w->label), "%s", text);
		return w->label;
	}
	key_text(w, key, text, sizeof(text));
	snprintf(w->label, sizeof(w->label), "[%s]", text);
	return w->label;
}

/*
 * Values of split dicts and of instances' values arrays, labelled with the
 * keys of the shared keys object (ht_cached_keys).
 */
static void split_values(struct walk *w, uint64_t values, uint64_t n,
			 uint64_t shared_keys, bool attribute)
{
	struct dict_keys k = { 0 };
	bool have_keys = shared_keys && dict_keys_read(w, shared_keys, &k);

	buffer(w, values);
	if (n > w->lim->max_items) {
		w->cur_problem = "item count over the limit";
		return;
	}
	for (uint64_t i = 0; i < n && !w->err; i++) {
		uint64_t v = rd64(w, values + 8 * i);
		const char *label = NULL;

		if (!v)
			continue;
		if (have_keys && i < k.nentries) {
			uint64_t key = rd64(w, k.entries + i * k.entry_size +
						       k.key_off);
			label = key ? key_label(w, key, attribute) : NULL;
		}
		if (!label) {
			snprintf(w->label, sizeof(w->label), "<value %" PRIu64
				 ">", i);
			label = w->label;
		}
		edge(w, v, HEAP_EDGE_TRAVERSE, label);
	}
}

// dict_traverse (Objects/dictobject.c).
static void decode_dict(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;
	uint64_t keys = rd64(w, obj + l->dict_keys);
	uint64_t values = rd64(w, obj + l->dict_values);
	struct dict_keys k;

	if (!keys || !dict_keys_read(w, keys, &k)) {
		w->cur_problem = "unreadable dict keys";
		return;
	}
	buffer(w, keys);
	if (values) {
		// Split table: keys are shared, values[i] goes with entry i.
		// 3.11+ values point at values[0]; 3.13 PyDictValues has a
		// header before the array.
		uint64_t array = values + (l->dv_values > 0 ? l->dv_values : 0);

		// 3.13: values embedded in their object are that object's
		// to visit (dict_traverse skips them).
		if (l->dv_embedded >= 0 && rd8(w, values + l->dv_embedded))
			return;
		split_values(w, array, k.nentries, keys, false);
		return;
	}
	if (k.nentries * k.entry_size > (1ULL << 34))
		return;
	for (uint64_t i = 0; i < k.nentries && !w->err; i++) {
		uint64_t e = k.entries + i * k.entry_size;
		uint64_t key = rd64(w, e + k.key_off);
		uint64_t value = rd64(w, e + k.value_off);

		if (!value)
			continue;
		edge(w, value, HEAP_EDGE_TRAVERSE, key_label(w, key, false));
		edge(w, key, k.general ? HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG,
		     "<key>");
	}
}

static void decode_set(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;
	uint64_t mask = rd64(w, obj + l->set_mask);
	uint64_t table = rd64(w, obj + l->set_table);

	// A table of a power of two slots, at least 8 (Objects/setobject.c).
	if (mask < 7 || mask + 1 > w->lim->max_items || (mask & (mask + 1)) ||
	    !table) {
		w->cur_problem = "bad set table";
		return;
	}
	buffer(w, table);
	for (uint64_t i = 0; i <= mask && !w->err && !w->cur_problem; i++) {
		uint64_t key = rd64(w, table + i * l->sizeof_setentry +
				       l->setentry_key);

		if (key && key != w->set_dummy)
			edge(w, key, HEAP_EDGE_TRAVERSE, "<member>");
	}
}

// The members of a code object's localsplus (3.11+) or varnames: the
// label of local slot i.
static bool local_name(struct walk *w, uint64_t code, uint64_t i, char *out,
		       size_t max)
{
	const struct layout *l = w->l;
	uint64_t names;

	if (l->code_localsplusnames >= 0) {
		names = rd64(w, code + l->code_localsplusnames);
	} else {
		// ≤3.10: f_localsplus = varnames, cellvars, freevars.
		uint64_t groups[3] = { l->code_varnames, l->code_cellvars,
				       l->code_freevars };
		for (int g = 0; g < 3; g++) {
			uint64_t t = rd64(w, code + groups[g]);
			uint64_t n = t ? var_size(w, t) : 0;

			if (i < n) {
				uint64_t s = rd64(w, t + l->tuple_items + 8 * i);

				return str_read(w, s, false, out, max, NULL);
			}
			i -= n;
		}
		return false;
	}
	if (!names || i >= var_size(w, names))
		return false;
	uint64_t s = rd64(w, names + l->tuple_items + 8 * i);

	return s && str_read(w, s, false, out, max, NULL);
}

/*
 * _PyFrame_Traverse (Python/frame.c, 3.11+): frame_obj, f_locals, the
 * function, the code, then the live locals and stack.
 */
static void iframe_traverse(struct walk *w, uint64_t f)
{
	const struct layout *l = w->l;

	field(w, f, l->iframe_frame_obj, "frame_obj");
	field(w, f, l->iframe_locals, "f_locals");
	field(w, f, l->iframe_func, "f_func");
	field(w, f, l->iframe_code, "f_code");
	uint64_t code = rd64(w, f + l->iframe_code);
	int32_t stacktop = (int32_t)rd32(w, f + l->iframe_stacktop);

	if (stacktop < 0 || (uint64_t)stacktop > w->lim->max_items) {
		w->cur_problem = "bad frame stack depth";
		return;
	}
	const uint64_t *v = rdwords(w, f + l->iframe_localsplus, stacktop);

	if (!v)
		return;
	// Copy: labels read code names, which reuses the scratch buffer.
	uint64_t *slots = malloc((stacktop + 1) * sizeof(*slots));

	if (!slots) {
		w->err = &err_nomem;
		return;
	}
	memcpy(slots, v, stacktop * sizeof(*slots));
	for (int32_t i = 0; i < stacktop && !w->err; i++) {
		char name[128];

		if (!slots[i])
			continue;
		if (code && local_name(w, code, i, name, sizeof(name)))
			snprintf(w->label, sizeof(w->label), "%s", name);
		else
			snprintf(w->label, sizeof(w->label), "<stack %d>", i);
		edge(w, slots[i], HEAP_EDGE_TRAVERSE, w->label);
	}
	free(slots);
}

/*
 * ≤3.10 frame_traverse (Objects/frameobject.c): the frame object is the
 * frame. f_localsplus holds co_nlocals locals, then the cells and the free
 * variables, then the value stack: live up to f_stacktop (3.6–3.9, NULL
 * while the frame runs) or f_stackdepth items (3.10).
 */
static void decode_frame_object(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;
	uint64_t code = rd64(w, obj + l->frame_code);

	field(w, obj, l->frame_code, "f_code");
	field(w, obj, l->frame_builtins, "f_builtins");
	field(w, obj, l->frame_globals, "f_globals");
	field(w, obj, l->frame_locals, "f_locals");
	field(w, obj, l->frame_trace, "f_trace");
	field(w, obj, l->frame_exc_type, "f_exc_type");
	field(w, obj, l->frame_exc_value, "f_exc_value");
	field(w, obj, l->frame_exc_traceback, "f_exc_traceback");
	if (!code)
		return;
	uint64_t cells = rd64(w, code + l->code_cellvars);
	uint64_t frees = rd64(w, code + l->code_freevars);
	int64_t nlocals = (int32_t)rd32(w, code + l->code_nlocals);
	uint64_t nslots = nlocals + (cells ? var_size(w, cells) : 0) +
			  (frees ? var_size(w, frees) : 0);
	uint64_t localsplus = obj + l->frame_localsplus;
	uint64_t valuestack = rd64(w, obj + l->frame_valuestack);
	uint64_t nstack = 0;

	if (l->frame_stackdepth >= 0) {
		int32_t depth = (int32_t)rd32(w, obj + l->frame_stackdepth);

		nstack = depth > 0 ? depth : 0;
	} else {
		uint64_t top = rd64(w, obj + l->frame_stacktop);

		if (top && valuestack && top >= valuestack)
			nstack = (top - valuestack) / 8;
	}
	if (nlocals < 0 || nslots > w->lim->max_items ||
	    nstack > w->lim->max_items) {
		w->cur_problem = "bad frame slot counts";
		return;
	}
	for (uint64_t i = 0; i < nslots + nstack && !w->err; i++) {
		uint64_t slot = i < nslots ? localsplus + 8 * i :
					     valuestack + 8 * (i - nslots);
		uint64_t v = rd64(w, slot);
		char name[128];

		if (!v)
			continue;
		if (i < nslots && local_name(w, code, i, name, sizeof(name)))
			snprintf(w->label, sizeof(w->label), "%s", name);
		else
			snprintf(w->label, sizeof(w->label), "<stack %" PRIu64
				 ">", i - nslots);
		edge(w, v, HEAP_EDGE_TRAVERSE, w->label);
	}
}

// frame_traverse (Objects/frameobject.c).
static void decode_frame(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;

	field(w, obj, l->frame_back, "f_back");
	if (!l->iframes) {
		decode_frame_object(w, obj);
		return;
	}
	field(w, obj, l->frame_trace, "f_trace");
	field(w, obj, l->frame_extra_locals, "f_extra_locals");
	field(w, obj, l->frame_locals_cache, "f_locals_cache");
	uint64_t f = rd64(w, obj + l->frame_frame);

	if (f && rd8(w, f + l->iframe_owner) == FRAME_OWNED_BY_FRAME_OBJECT)
		iframe_traverse(w, f);
}

// gen_traverse (Objects/genobject.c).
static void decode_generator(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;

	field(w, obj, l->gen_code, "gi_code");
	field(w, obj, l->gen_name, "__name__");
	field(w, obj, l->gen_qualname, "__qualname__");
	if (l->iframes) {
		int8_t state = (int8_t)rd8(w, obj + l->gen_frame_state);

		if (state < FRAME_CLEARED)
			iframe_traverse(w, obj + l->gen_iframe);
	} else {
		field(w, obj, l->gen_frame, "gi_frame");
	}
	field(w, obj, l->gen_exc_type, "gi_exc_state.type");
	field(w, obj, l->gen_exc_value, "gi_exc_state.value");
	field(w, obj, l->gen_exc_traceback, "gi_exc_state.traceback");
}

// func_traverse (Objects/funcobject.c).
static void decode_function(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;

	field(w, obj, l->func_code, "__code__");
	field(w, obj, l->func_globals, "__globals__");
	field(w, obj, l->func_builtins, "__builtins__");
	field(w, obj, l->func_module, "__module__");
	field(w, obj, l->func_defaults, "__defaults__");
	field(w, obj, l->func_kwdefaults, "__kwdefaults__");
	field(w, obj, l->func_doc, "__doc__");
	field(w, obj, l->func_name, "__name__");
	field(w, obj, l->func_dict, "__dict__");
	field(w, obj, l->func_closure, "__closure__");
	field(w, obj, l->func_annotations, "__annotations__");
	field(w, obj, l->func_qualname, "__qualname__");
	field(w, obj, l->func_typeparams, "__type_params__");
}

// Code objects have no tp_traverse: their references are all strong.
static void decode_code(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;
	const enum heap_edge_kind s = HEAP_EDGE_STRONG;

	field_kind(w, obj, l->code_consts, s, "co_consts");
	field_kind(w, obj, l->code_names, s, "co_names");
	field_kind(w, obj, l->code_localsplusnames, s, "co_localsplusnames");
	field_kind(w, obj, l->code_varnames, s, "co_varnames");
	field_kind(w, obj, l->code_cellvars, s, "co_cellvars");
	field_kind(w, obj, l->code_freevars, s, "co_freevars");
	field_kind(w, obj, l->code_filename, s, "co_filename");
	field_kind(w, obj, l->code_name, s, "co_name");
	field_kind(w, obj, l->code_qualname, s, "co_qualname");
	field_kind(w, obj, l->code_code, s, "co_code");
	field_kind(w, obj, l->code_linetable, s, "co_linetable");
	field_kind(w, obj, l->code_exceptiontable, s, "co_exceptiontable");
	field_kind(w, obj, l->code_localspluskinds, s, "co_localspluskinds");
}

// Scan words of an object for pointers to objects already known, or to
// objects whose type is known; label them with tp_members names.
static void conservative(struct walk *w, uint64_t obj, uint64_t from,
			 uint64_t to, const struct tinfo *ti)
{
	if (to <= from)
		return;
	if (to - from > MAX_CONSERVATIVE)
		to = from + MAX_CONSERVATIVE;
	uint64_t nwords = (to - from) / 8;
	const uint64_t *v = rdwords(w, obj + from, nwords);

	if (!v)
		return;
	uint64_t *copy = malloc(nwords * sizeof(*copy) + 1);

	if (!copy) {
		w->err = &err_nomem;
		return;
	}
	memcpy(copy, v, nwords * sizeof(*copy));
	for (uint64_t i = 0; i < nwords && !w->err; i++) {
		uint64_t p = copy[i];

		if (!p || (p & 7))
			continue;
		if (node_find(w, p) < 0 && !plausible_object(w, p))
			continue;
		const char *label = NULL;
		uint64_t off = from + 8 * i;

		// tp_members of the type names the field, if it is one.
		for (uint64_t m = ti ? ti->members : 0, k = 0; m && k < 256;
		     k++, m += w->l->sizeof_member) {
			uint64_t name = 0;
			int64_t moff;

			if (!target_read_u64(w->t, m + w->l->member_name,
					     &name) || !name)
				break;
			if (!target_read_u64(w->t, m + w->l->member_offset,
					     (uint64_t *)&moff))
				break;
			if ((uint64_t)moff == off) {
				char text[64];

				if (target_read_string(w->t, name, text,
						       sizeof(text)) > 0) {
					snprintf(w->label, sizeof(w->label),
						 "%s", text);
					label = w->label;
				}
				break;
			}
		}
		if (!label) {
			snprintf(w->label, sizeof(w->label), "<+%" PRIu64 ">",
				 off);
			label = w->label;
		}
		edge(w, p, HEAP_EDGE_CONSERVATIVE, label);
	}
	free(copy);
}

// BaseException_traverse (Objects/exceptions.c) and the object members
// subclasses such as OSError and StopIteration add.
static void decode_exception(struct walk *w, uint64_t obj,
			     const struct tinfo *ti)
{
	const struct layout *l = w->l;

	field(w, obj, l->exc_dict, "__dict__");
	field(w, obj, l->exc_args, "args");
	field(w, obj, l->exc_notes, "__notes__");
	field(w, obj, l->exc_traceback, "__traceback__");
	field(w, obj, l->exc_cause, "__cause__");
	field(w, obj, l->exc_context, "__context__");
	// Each static exception type lists all its members, inherited ones
	// too (Objects/exceptions.c ComplexExtendsException); a heap type's
	// members are its __slots__, which subtype_traverse visits.
	if (!ti || !ti->valid || (ti->flags & TPFLAGS_HEAPTYPE))
		return;
	for (uint64_t m = ti->members, k = 0; m && k < 64 && !w->err;
	     k++, m += l->sizeof_member) {
		uint64_t name = rd64(w, m + l->member_name);
		int32_t type = rd32(w, m + l->member_type);
		int64_t off = (int64_t)rd64(w, m + l->member_offset);
		char text[64];

		if (!name)
			break;
		if ((type != MEMBER_T_OBJECT && type != MEMBER_T_OBJECT_EX) ||
		    off < l->sizeof_object || off >= ti->basicsize)
			continue;
		if (target_read_string(w->t, name, text, sizeof(text)) < 1)
			continue;
		snprintf(w->label, sizeof(w->label), "%s", text);
		edge(w, rd64(w, obj + off), HEAP_EDGE_TRAVERSE, w->label);
	}
}

// type_traverse (Objects/typeobject.c): heap types only.
static void decode_type(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;
	struct tinfo *self = type_get(w, obj);
	bool heap = self && self->valid && (self->flags & TPFLAGS_HEAPTYPE);
	enum heap_edge_kind k = heap ? HEAP_EDGE_TRAVERSE : HEAP_EDGE_STRONG;

	field_kind(w, obj, l->tp_dict, k, "__dict__");
	field_kind(w, obj, l->tp_cache, k, "tp_cache");
	field_kind(w, obj, l->tp_mro, k, "__mro__");
	field_kind(w, obj, l->tp_bases, k, "__bases__");
	field_kind(w, obj, l->tp_base, k, "__base__");
	// The dict of weak references to subclasses; 3.12+ static builtin
	// types (_Py_TPFLAGS_STATIC_BUILTIN) keep an index there instead,
	// and their dict per interpreter.
	if (heap || !l->static_builtin_index ||
	    !(self && (self->flags & (1UL << 1))))
		field_kind(w, obj, l->tp_subclasses, HEAP_EDGE_STRONG,
			   "__subclasses__");
	if (!heap)
		return;
	field(w, obj, l->ht_module, "ht_module");
	field_kind(w, obj, l->ht_name, HEAP_EDGE_STRONG, "__name__");
	field_kind(w, obj, l->ht_qualname, HEAP_EDGE_STRONG, "__qualname__");
	field_kind(w, obj, l->ht_slots, HEAP_EDGE_STRONG, "__slots__");
	if (self->cached_keys) {
		// The shared keys of instance dicts belong to the type.
		struct dict_keys k2;

		if (dict_keys_read(w, self->cached_keys, &k2)) {
			for (uint64_t i = 0; i < k2.nentries && i < 4096; i++)
				edge(w, rd64(w, k2.entries + i * k2.entry_size +
							k2.key_off),
				     HEAP_EDGE_STRONG, "<cached key>");
		}
	}
}

// module_traverse (Objects/moduleobject.c): the module state through the
// module's m_traverse, which is C code: scanned conservatively.
static void decode_module(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;
	uint64_t def = rd64(w, obj + l->module_def);
	uint64_t state = rd64(w, obj + l->module_state);

	field(w, obj, l->module_dict, "__dict__");
	field_kind(w, obj, l->module_name, HEAP_EDGE_STRONG, "__name__");
	if (!def || !state || l->moduledef_size < 0)
		return;
	int64_t size = (int64_t)rd64(w, def + l->moduledef_size);
	uint64_t trav = rd64(w, def + l->moduledef_traverse);

	if (size > 0 && trav) {
		if (size > MAX_MODULE_STATE)
			size = MAX_MODULE_STATE;
		// The state is a separate allocation: scan it as if it
		// were this object's body.
		conservative(w, state, 0, size & ~7, NULL);
	}
}

// deque_traverse (Modules/_collectionsmodule.c): 64-item blocks.
static void decode_deque(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;
	uint64_t n = var_size(w, obj);
	uint64_t block = rd64(w, obj + l->deque_leftblock);
	int64_t index = (int64_t)rd64(w, obj + l->deque_leftindex);
	const int64_t blocklen =
		(l->dblock_rightlink - l->dblock_data) / 8;

	if (l->deque_leftblock < 0 || blocklen <= 0 || n > w->lim->max_items)
		return;
	if (index < 0 || index >= blocklen) {
		w->cur_problem = "deque index out of its block";
		return;
	}
	for (uint64_t i = 0; i < n && block && !w->err; i++, index++) {
		if (index >= blocklen) {
			block = rd64(w, block + l->dblock_rightlink);
			index = 0;
			if (!block)
				break;
		}
		snprintf(w->label, sizeof(w->label), "[%" PRIu64 "]", i);
		edge(w, rd64(w, block + l->dblock_data + 8 * index),
		     HEAP_EDGE_TRAVERSE, w->label);
	}
}

// odict_traverse (Objects/odictobject.c): the instance dict and the keys
// of the order list, then the dict itself.
static void decode_odict(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;

	field(w, obj, l->odict_inst_dict, "__dict__");
	if (l->odict_first >= 0) {
		uint64_t node = rd64(w, obj + l->odict_first);

		for (uint64_t i = 0; node && i < w->lim->max_items && !w->err;
		     i++) {
			edge(w, rd64(w, node + l->odnode_key),
			     HEAP_EDGE_TRAVERSE, "<order key>");
			node = rd64(w, node + l->odnode_next);
		}
	}
	decode_dict(w, obj);
}

static void decode_by(struct walk *w, enum decoder d, uint64_t obj,
		      struct tinfo *ti);

/*
 * subtype_traverse (Objects/typeobject.c): __slots__ of each type up to
 * the first base with another tp_traverse, the instance dict (or 3.11+
 * managed dict and values), the type itself, then that base's traverse.
 */
static void decode_subtype(struct walk *w, uint64_t obj, struct tinfo *ti)
{
	const struct layout *l = w->l;
	struct tinfo *base = ti;
	int steps = 0;

	while (base && base->valid && base->decoder == DEC_SUBTYPE) {
		if (++steps > MAX_BASES) {
			w->cur_problem = "type has too many bases";
			return;
		}
		if (base->nslots > 0 && base->nslots < MAX_SLOTS) {
			// PyHeapType_GET_MEMBERS: right after the heap type,
			// at Py_TYPE(type)->tp_basicsize.
			struct tinfo *meta = type_get(w, base->meta);
			uint64_t m = base->addr + (meta && meta->valid ?
				     meta->basicsize : l->sizeof_heaptype);

			for (int64_t i = 0; i < base->nslots && !w->err;
			     i++, m += l->sizeof_member) {
				int32_t type = rd32(w, m + l->member_type);
				int64_t off = rd64(w, m + l->member_offset);
				char text[64];

				if (type != MEMBER_T_OBJECT_EX)
					continue;
				if (target_read_string(
					    w->t, rd64(w, m + l->member_name),
					    text, sizeof(text)) < 1)
					snprintf(text, sizeof(text), "<slot>");
				snprintf(w->label, sizeof(w->label), "%s", text);
				edge(w, rd64(w, obj + off), HEAP_EDGE_TRAVERSE,
				     w->label);
			}
		}
		base = base->base ? type_get(w, base->base) : NULL;
	}
	if (!base || !base->valid) {
		w->cur_problem = "type has no valid base";
		return;
	}
	if (ti->flags & TPFLAGS_MANAGED_DICT) {
		uint64_t dict_word = rd64(w, obj - l->sizeof_gc_head - 16 + 8);

		if (l->inline_values) {
			// 3.13 PyObject_VisitManagedDict: inline values while
			// valid, else the materialized dict.
			uint64_t values = obj + ti->basicsize;

			if ((ti->flags & TPFLAGS_INLINE_VALUES) &&
			    rd8(w, values + l->dv_valid)) {
				split_values(w, values + l->dv_values,
					     rd8(w, values + l->dv_capacity),
					     ti->cached_keys, true);
				// A dict made of the values is the object's
				// too, though not visited while they are valid.
				edge(w, dict_word, HEAP_EDGE_STRONG,
				     "__dict__");
			} else {
				edge(w, dict_word, HEAP_EDGE_TRAVERSE,
				     "__dict__");
			}
		} else if (l->dict_or_values) {
			// 3.12 PyDictOrValues: bit 0 set means values - 1.
			if (dict_word & 1) {
				struct dict_keys k;
				uint64_t n = ti->cached_keys &&
					dict_keys_read(w, ti->cached_keys, &k) ?
					k.nentries : 0;

				split_values(w, dict_word + 1, n,
					     ti->cached_keys, true);
			} else {
				edge(w, dict_word, HEAP_EDGE_TRAVERSE,
				     "__dict__");
			}
		} else {
			// 3.11: values at obj-32 then the dict at obj-24.
			uint64_t values = rd64(w, obj - l->sizeof_gc_head - 16);
			struct dict_keys k;

			if (values && ti->cached_keys &&
			    dict_keys_read(w, ti->cached_keys, &k))
				split_values(w, values, k.nentries,
					     ti->cached_keys, true);
			edge(w, dict_word, HEAP_EDGE_TRAVERSE, "__dict__");
		}
	} else if (ti->dictoffset != base->dictoffset && ti->dictoffset) {
		// _PyObject_ComputedDictPointer (Objects/object.c).
		int64_t off = ti->dictoffset;

		if (off < 0) {
			int64_t n = (int64_t)rd64(w, obj + l->ob_size);
			uint64_t items = n < 0 ? -(uint64_t)n : (uint64_t)n;

			if (items > w->lim->max_items) {
				w->cur_problem = "item count over the limit";
				return;
			}
			uint64_t size = ti->basicsize + items * ti->itemsize;

			off += (size + 7) & ~7ULL;
		}
		field(w, obj, off, "__dict__");
	}
	// Heap types' instances visit their type; from 3.8 only when the
	// base's traverse will not (bpo-35810).
	if ((ti->flags & TPFLAGS_HEAPTYPE) &&
	    (l->visit_type_always || base->decoder == DEC_NONE ||
	     !(base->flags & TPFLAGS_HEAPTYPE)))
		edge(w, ti->addr, HEAP_EDGE_TRAVERSE, "__class__");
	if (base->decoder == DEC_UNKNOWN) {
		// A heap base's own traverse visits Py_TYPE(self) (3.9+).
		if ((base->flags & TPFLAGS_HEAPTYPE) && !l->visit_type_always)
			edge(w, ti->addr, HEAP_EDGE_CONSERVATIVE, "__class__");
		conservative(w, obj, l->sizeof_object, base->basicsize, base);
		return;
	}
	decode_by(w, base->decoder, obj, base);
}

static void decode_by(struct walk *w, enum decoder d, uint64_t obj,
		      struct tinfo *ti)
{
	const struct layout *l = w->l;

	switch (d) {
	case DEC_NONE:
		break;
	case DEC_UNKNOWN: {
		uint64_t size = ti->basicsize;

		// Heap types' traverse visits the type (3.9+ convention).
		if (ti->flags & TPFLAGS_HEAPTYPE)
			edge(w, ti->addr, HEAP_EDGE_CONSERVATIVE, "__class__");
		if (ti->itemsize == 8)
			size += 8 * var_size(w, obj);
		conservative(w, obj, l->sizeof_object, size, ti);
		break;
	}
	case DEC_SUBTYPE:
		decode_subtype(w, obj, ti);
		break;
	case DEC_DICT:
		decode_dict(w, obj);
		break;
	case DEC_LIST:
		buffer(w, rd64(w, obj + l->list_items));
		items(w, rd64(w, obj + l->list_items), var_size(w, obj), "");
		break;
	case DEC_TUPLE:
		items(w, obj + l->tuple_items, var_size(w, obj), "");
		break;
	case DEC_SET:
		decode_set(w, obj);
		break;
	case DEC_CELL:
		field(w, obj, l->cell_ref, "cell_contents");
		break;
	case DEC_METHOD:
		field(w, obj, l->method_func, "__func__");
		field(w, obj, l->method_self, "__self__");
		break;
	case DEC_CFUNCTION: {
		// meth_traverse: mm_class only for METH_METHOD functions.
		uint64_t ml = rd64(w, obj + l->cfunc_ml);

		if (l->cmethod_class >= 0 && ml &&
		    (rd32(w, ml + l->methoddef_flags) & METH_METHOD))
			field(w, obj, l->cmethod_class, "__class__");
		field(w, obj, l->cfunc_self, "__self__");
		field(w, obj, l->cfunc_module, "__module__");
		break;
	}
	case DEC_CLASSMETHOD:
		field(w, obj, l->cm_callable, "__func__");
		field(w, obj, l->cm_dict, "__dict__");
		break;
	case DEC_PROPERTY:
		field(w, obj, l->prop_get, "fget");
		field(w, obj, l->prop_set, "fset");
		field(w, obj, l->prop_del, "fdel");
		field(w, obj, l->prop_doc, "__doc__");
		field(w, obj, l->prop_name, "__name__");
		break;
	case DEC_FUNCTION:
		decode_function(w, obj);
		break;
	case DEC_CODE:
		decode_code(w, obj);
		break;
	case DEC_MODULE:
		decode_module(w, obj);
		break;
	case DEC_WEAKREF:
		field(w, obj, l->weakref_callback, "__callback__");
		field_kind(w, obj, l->weakref_object, HEAP_EDGE_BORROWED,
			   "referent");
		break;
	case DEC_FRAME:
		decode_frame(w, obj);
		break;
	case DEC_GENERATOR:
		decode_generator(w, obj);
		break;
	case DEC_TRACEBACK:
		field(w, obj, l->tb_next, "tb_next");
		field(w, obj, l->tb_frame, "tb_frame");
		break;
	case DEC_TYPE:
		decode_type(w, obj);
		break;
	case DEC_EXCEPTION:
		decode_exception(w, obj, ti);
		break;
	case DEC_ODICT:
		decode_odict(w, obj);
		break;
	case DEC_DEQUE:
		decode_deque(w, obj);
		if (ti->flags & TPFLAGS_HEAPTYPE)
			edge(w, ti->addr, HEAP_EDGE_TRAVERSE, "__class__");
		break;
	case DEC_DESCRIPTOR:
		// descr_traverse (Objects/descrobject.c): only d_type.
		field(w, obj, l->descr_type, "__objclass__");
		field_kind(w, obj, l->descr_name, HEAP_EDGE_STRONG, "__name__");
		field_kind(w, obj, l->descr_qualname, HEAP_EDGE_STRONG,
			   "__qualname__");
		break;
	case DEC_SLICE:
		field(w, obj, l->slice_start, "start");
		field(w, obj, l->slice_stop, "stop");
		field(w, obj, l->slice_step, "step");
		break;
	case DEC_MANAGEDBUFFER:
		field(w, obj, l->mbuf_obj, "obj");
		break;
	case DEC_MEMORYVIEW:
		field(w, obj, l->memory_mbuf, "mbuf");
		break;
	case DEC_ENUMERATE:
		field(w, obj, l->enum_sit, "iterator");
		field(w, obj, l->enum_result, "result");
		field(w, obj, l->enum_longindex, "index");
		break;
	case DEC_METATYPE:
		// Heap metatypes' traverse visits the metatype (3.9+).
		if (ti->flags & TPFLAGS_HEAPTYPE)
			edge(w, ti->addr, HEAP_EDGE_CONSERVATIVE, "__class__");
		decode_type(w, obj);
		conservative(w, obj, l->sizeof_heaptype, ti->basicsize, ti);
		break;
	}
}

/* ---- objects ----------------------------------------------------------- */

/*
 * Find a str key in a dict without marking the current object: used on
 * type dicts while another object is being decoded.
 */
static bool dict_find_str(struct walk *w, uint64_t dict, const char *key,
			  uint64_t *value_ret)
{
	const struct layout *l = w->l;
	uint64_t keys, values, nentries, entries;
	unsigned entry_size, key_off, value_off;

	if (!dict || !target_read_u64(w->t, dict + l->dict_keys, &keys) ||
	    !target_read_u64(w->t, dict + l->dict_values, &values) ||
	    !target_read_u64(w->t, keys + l->dk_nentries, &nentries) ||
	    nentries > 4096)
		return false;
	if (l->dict_log2) {
		uint8_t hdr[3];

		if (!target_read_ok(w->t, &hdr[0], keys + l->dk_log2_index_bytes,
				    1) ||
		    !target_read_ok(w->t, &hdr[1], keys + l->dk_kind, 1) ||
		    hdr[0] > 40)
			return false;
		entries = keys + l->dk_indices + (1ULL << hdr[0]);
		bool general = hdr[1] == 0;

		entry_size = general ? l->sizeof_dk_entry : l->sizeof_dk_uentry;
		key_off = general ? l->dke_key : l->dku_key;
		value_off = general ? l->dke_value : l->dku_value;
	} else {
		uint64_t size;

		if (!target_read_u64(w->t, keys + l->dk_size, &size) ||
		    size > (1ULL << 32))
			return false;
		unsigned width = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;

		entries = keys + l->dk_indices + size * width;
		entry_size = l->sizeof_dk_entry;
		key_off = l->dke_key;
		value_off = l->dke_value;
	}
	if (values)
		values += l->dv_values > 0 ? l->dv_values : 0;
	for (uint64_t i = 0; i < nentries; i++) {
		uint64_t k, v;
		char text[NAME_MAX_LEN];

		if (!target_read_u64(w->t, entries + i * entry_size + key_off,
				     &k) || !k ||
		    !str_read(w, k, false, text, sizeof(text), NULL) ||
		    strcmp(text, key))
			continue;
		if (values ? !target_read_u64(w->t, values + 8 * i, &v) :
			     !target_read_u64(w->t, entries + i * entry_size +
						    value_off, &v))
			return false;
		*value_ret = v;
		return v != 0;
	}
	return false;
}

static void module_of_type(struct walk *w, const struct tinfo *ti, char *buf,
			   size_t size)
{
	const char *dot = strrchr(ti->name, '.');
	uint64_t dict, module;

	buf[0] = 0;
	if (ti->flags & TPFLAGS_HEAPTYPE) {
		// type_new() stores the defining module's name in the class
		// dict (Objects/typeobject.c type_new_set_module).
		if (target_read_u64(w->t, ti->addr + w->l->tp_dict, &dict) &&
		    dict_find_str(w, dict, "__module__", &module))
			str_read(w, module, false, buf, size, NULL);
		if (buf[0] || !dot)
			return;
	}
	// Static types: tp_name is "module.name" or a builtin's bare name.
	if (dot)
		snprintf(buf, size, "%.*s", (int)(dot - ti->name), ti->name);
	else
		snprintf(buf, size, "builtins");
}

// Allocation size and preview of an object.
static int64_t object_size_repr(struct walk *w, uint64_t obj,
				const struct tinfo *ti, char *repr,
				size_t max)
{
	const struct layout *l = w->l;
	uint64_t type = ti->addr;
	int64_t size = ti->basicsize, nd;
	uint64_t presize = 0;

	repr[0] = 0;
	// PyType_GenericAlloc allocates one item more than asked
	// (Objects/typeobject.c): instances of heap types built on tuple,
	// int or bytes, and heap type objects with their __slots__ members.
	// Builtin instances come from their own allocators.
	int64_t extra = 0;

	if (ti->itemsize && w->generic_alloc && ti->alloc == w->generic_alloc &&
	    ((ti->flags & TPFLAGS_HEAPTYPE) ||
	     ((ti->decoder == DEC_TYPE || ti->decoder == DEC_METATYPE) &&
	      is_heap_type(w, obj))))
		extra = 1;
	// Static types are objects without a GC head (type_is_gc).
	if ((ti->flags & TPFLAGS_HAVE_GC) &&
	    !(ti->decoder == DEC_TYPE && !is_heap_type(w, obj)))
		presize = l->sizeof_gc_head;
	if (ti->flags & l->preheader_flags)
		presize += l->preheader;

	if (is_type_or_subtype(w, type, w->str_type,
			       TPFLAGS_UNICODE_SUBCLASS)) {
		if (!str_read(w, obj, true, repr, max, &size))
			size = -1;
	} else if (type == w->bool_type) {
		snprintf(repr, max, "%s", rd64(w, obj + l->long_digits) ?
			 "True" : "False");
		size = ti->basicsize + 4;
	} else if (is_type_or_subtype(w, type, w->long_type,
				      TPFLAGS_LONG_SUBCLASS)) {
		if (long_read(w, obj, repr, max, &nd))
			size = ti->basicsize + ((nd ? nd : 1) + extra) * 4;
	} else if (type == w->float_type) {
		double d;

		if (target_read_ok(w->t, &d, obj + l->float_value, 8))
			float_repr(d, repr, max);
	} else if (is_type_or_subtype(w, type, w->bytes_type,
				      TPFLAGS_BYTES_SUBCLASS)) {
		uint64_t n = var_size(w, obj);
		char raw[48];
		size_t k = n < sizeof(raw) ? n : sizeof(raw), len = 0;

		size = ti->basicsize + n + extra;
		if (target_read_ok(w->t, raw, obj + l->bytes_sval, k)) {
			len += snprintf(repr, max, "b'");
			for (size_t i = 0; i < k && len + 8 < max; i++) {
				unsigned char c = raw[i];

				if (c >= 0x20 && c < 0x7f && c != '\'' &&
				    c != '\\')
					repr[len++] = c;
				else
					len += snprintf(repr + len, max - len,
							"\\x%02x", c);
			}
			snprintf(repr + len, max - len, "%s'",
				 n > k ? "…" : "");
		}
	} else if (obj == w->none) {
		snprintf(repr, max, "None");
	} else if (l->iframes && (ti->decoder == DEC_GENERATOR ||
				  ti->decoder == DEC_FRAME)) {
		// 3.11+ generators and frame objects are not PyVarObjects:
		// their items are the slots of the embedded frame, sized by
		// the code (Objects/genobject.c make_gen, frameobject.c).
		uint64_t code = ti->decoder == DEC_GENERATOR ?
			rd64(w, obj + l->gen_iframe + l->iframe_code) :
			rd64(w, rd64(w, obj + l->frame_frame) + l->iframe_code);
		int32_t slots = -1;

		// _PyFrame_NumSlotsForCodeObject: locals, cells, frees and
		// the value stack.
		if (code && l->code_nlocalsplus >= 0 && l->code_stacksize >= 0)
			slots = rd32(w, code + l->code_nlocalsplus) +
				rd32(w, code + l->code_stacksize);
		size = slots >= 0 && slots < (1 << 24) ?
			ti->basicsize + ti->itemsize * slots : -1;
		if (ti->decoder == DEC_GENERATOR)
			str_read(w, rd64(w, obj + l->gen_qualname), false,
				 repr, max, NULL);
	} else {
		if (ti->itemsize)
			size += ti->itemsize * (var_size(w, obj) + extra);
		switch (ti->decoder) {
		case DEC_FUNCTION: {
			char module[NAME_MAX_LEN], qualname[NAME_MAX_LEN];

			if (!str_read(w, rd64(w, obj + l->func_qualname), false,
				      qualname, sizeof(qualname), NULL))
				break;
			// __module__ is usually the defining module's name.
			if (str_read(w, rd64(w, obj + l->func_module), false,
				     module, sizeof(module), NULL))
				snprintf(repr, max, "%.100s.%.100s", module,
					 qualname);
			else
				snprintf(repr, max, "%s", qualname);
			break;
		}
		case DEC_CODE:
			str_read(w, rd64(w, obj + (l->code_qualname >= 0 ?
						   l->code_qualname :
						   l->code_name)),
				 false, repr, max, NULL);
			break;
		case DEC_MODULE:
			str_read(w, rd64(w, obj + l->module_name), false, repr,
				 max, NULL);
			break;
		case DEC_TYPE: {
			struct tinfo *self = type_get(w, obj);

			char qualname[NAME_MAX_LEN];

			if (self && self->valid &&
			    (self->flags & TPFLAGS_HEAPTYPE) &&
			    str_read(w, rd64(w, obj + l->ht_qualname), false,
				     qualname, sizeof(qualname), NULL)) {
				if (self->module[0] &&
				    strcmp(self->module, "builtins"))
					snprintf(repr, max, "%.100s.%.100s",
						 self->module, qualname);
				else
					snprintf(repr, max, "%s", qualname);
				break;
			}
			if (self)
				snprintf(repr, max, "%s", self->name);
			break;
		}
		case DEC_DICT:
		case DEC_ODICT:
			snprintf(repr, max, "len=%" PRIu64,
				 rd64(w, obj + l->dict_used));
			break;
		case DEC_LIST:
		case DEC_TUPLE:
		case DEC_DEQUE:
			snprintf(repr, max, "len=%" PRIu64, var_size(w, obj));
			break;
		default:
			break;
		}
	}
	if (l->inline_values && (ti->flags & TPFLAGS_INLINE_VALUES)) {
		// _PyInlineValuesSize: header, capacity values, order bytes.
		unsigned cap = rd8(w, obj + ti->basicsize + l->dv_capacity);

		size += l->dv_values + 8 * cap + ((cap + 7) & ~7u);
		// _PyObject_InitInlineValues (3.13) takes one usable slot from
		// the shared keys after the allocation was sized from them:
		// while the keys had usable slots to spare, instances were
		// allocated for one value more than they record. Their sum
		// nentries + usable only shrinks by those takings, so an
		// instance recording more than the sum left now was one.
		uint64_t keys = ti->cached_keys, n = 0, usable = 0;

		if (keys && target_read_u64(w->t, keys + l->dk_nentries, &n) &&
		    target_read_u64(w->t, keys + l->dk_usable, &usable) &&
		    (usable > 1 || cap > n + usable)) {
			cap++;
			size = ti->basicsize + l->dv_values + 8 * cap +
			       ((cap + 7) & ~7u);
		}
	}
	if (size < 0 || size > (1LL << 40))
		return -1;
	return presize + ((size + 7) & ~7LL);
}

// Small ints are shared from a cache C code holds (-5 to 256).
static bool is_small_int(struct walk *w, uint64_t obj)
{
	int64_t nd;
	char text[48];

	if (!long_read(w, obj, text, sizeof(text), &nd) || nd > 1)
		return false;
	long v = strtol(text, NULL, 10);

	return v >= -5 && v <= 256;
}

// Flags the analyses use: how the object is held beyond what is found.
static uint16_t node_flags(struct walk *w, uint32_t idx,
			   const struct tinfo *ti, bool immortal)
{
	uint64_t addr = w->nodes[idx].addr;
	uint16_t flags = w->nodes[idx].flags;

	if (immortal)
		flags |= HEAP_NODE_IMMORTAL;
	if (ti->flags & TPFLAGS_HEAPTYPE)
		flags |= HEAP_NODE_HEAP_TYPE;
	if ((flags & HEAP_NODE_TRACKED) && ti->finalize &&
	    !(flags & HEAP_NODE_FINALIZED))
		flags |= HEAP_NODE_FINALIZE;
	if (target_module_at(w->t, addr) >= 0)
		flags |= HEAP_NODE_STATIC;
	// Kinds C code holds references to that no object accounts for:
	// types (caches, subclass lists, C statics), str (interned and
	// identifier caches), code and modules (C module state, running
	// C calls), the small-int cache.
	if (ti->decoder == DEC_TYPE || ti->decoder == DEC_METATYPE ||
	    ti->decoder == DEC_CODE || ti->decoder == DEC_MODULE ||
	    is_type_or_subtype(w, ti->addr, w->str_type,
			       TPFLAGS_UNICODE_SUBCLASS) ||
	    (ti->addr == w->long_type && is_small_int(w, addr)))
		flags |= HEAP_NODE_C_HELD;
	return flags;
}

static long root(struct walk *w, uint64_t addr, enum heap_root_kind kind,
		 const char *label);

static void process(struct walk *w, uint32_t idx)
{
	const struct layout *l = w->l;
	struct heap_node n = w->nodes[idx];
	struct heap_object o = {
		.addr = n.addr,
		.gc_tracked = n.generation >= 0,
		.generation = n.generation,
		.size = -1,
		.status = HEAP_OK,
		.found = n.generation >= 0 ? HEAP_FOUND_GC :
			 n.flags & HEAP_NODE_ARENA ? HEAP_FOUND_ARENA :
						     HEAP_FOUND_REFERENT,
	};
	uint64_t hdr[2];

	w->cur = idx;
	w->cur_addr = n.addr;
	w->cur_problem = NULL;
	w->cur_bad_refs = 0;
	if (!target_read_ok(w->t, hdr, n.addr, sizeof(hdr))) {
		o.status = HEAP_UNREADABLE;
		o.detail = "the object header is not in the snapshot";
		goto out;
	}
	o.refcnt = hdr[l->ob_refcnt / 8];
	o.type_addr = hdr[l->ob_type / 8];
	o.immortal = l->immortal_refcnt && (int32_t)o.refcnt < 0;
	struct tinfo *ti = type_get(w, o.type_addr);

	if (!ti)
		goto out;
	o.type = ti->name;
	if (!ti->valid) {
		// Its count is not taken either: the analyses leave it out.
		w->nodes[idx].flags |= HEAP_NODE_BAD;
		o.status = HEAP_CORRUPT;
		o.detail = "ob_type is not a type object";
		goto out;
	}
	bool added;
	long type_node = node_add(w, o.type_addr, -1, &added);

	// node_add may move the array: index, never hold pointers.
	w->nodes[idx].refcnt = o.refcnt;
	w->nodes[idx].type = type_node >= 0 ? (uint32_t)type_node : HEAP_NONE;
	w->nodes[idx].flags = node_flags(w, idx, ti, o.immortal);
	if (o.refcnt <= 0 && !o.immortal) {
		o.status = HEAP_CORRUPT;
		o.detail = "reference count is not positive";
	}
	decode_by(w, ti->decoder, n.addr, ti);
	if ((ti->decoder == DEC_TYPE || ti->decoder == DEC_METATYPE) &&
	    !is_heap_type(w, n.addr)) {
		struct tinfo *self = type_get(w, n.addr);

		root(w, n.addr, HEAP_ROOT_STATIC_TYPE, self ? self->name : "?");
	}
	o.size = object_size_repr(w, n.addr, ti, w->repr, sizeof(w->repr));
	o.repr = w->repr[0] ? w->repr : NULL;
	if (w->cur_problem && o.status == HEAP_OK) {
		o.status = HEAP_CORRUPT;
		o.detail = w->cur_problem;
	}
out:
	edges_settle(w);
	if (w->err)
		return;
	if (o.status == HEAP_UNREADABLE || !o.type)
		w->nodes[idx].flags |= HEAP_NODE_BAD;
	if (o.status != HEAP_OK)
		w->st->corrupt++;
	w->st->objects++;
	w->err = w->c->object(w->c->arg, &o);
}

/* ---- the collector's lists --------------------------------------------- */

static void problem(struct walk *w, const char *fmt, uint64_t addr)
{
	if (!w->st->first_problem[0])
		snprintf(w->st->first_problem, sizeof(w->st->first_problem),
			 fmt, addr);
	w->st->truncated = true;
}

enum list_end {
	LIST_HEAD,     /* came back to the head */
	LIST_MET,      /* met an object found from the other end */
	LIST_LOOP,     /* met an object already found on the way */
	LIST_BROKEN,   /* a link that cannot be followed */
	LIST_STOP,     /* out of memory or a cap */
};

// Whether _gc_prev links the lists now: not during a 3.8+ collection.
static bool prev_links(const struct walk *w)
{
	return !(w->l->gc_prev_mask && w->st->gc_collecting);
}

/*
 * Follow a collector list from its head, by _gc_next (@p forward) or by
 * _gc_prev, adding each object. Each link is checked against the one
 * back, which a wild pointer does not have. Going back, an object already
 * found ends the walk: the two directions met.
 */
static enum list_end walk_links(struct walk *w, uint64_t head, int generation,
				bool forward, uint64_t *count_ret)
{
	const struct layout *l = w->l;
	uint64_t next_mask = ~(uint64_t)l->gc_next_mask;
	uint64_t prev_mask = ~(uint64_t)l->gc_prev_mask;
	uint64_t mask = forward ? next_mask : prev_mask;
	uint64_t back_mask = forward ? prev_mask : next_mask;
	int32_t link = forward ? l->gchead_next : l->gchead_prev;
	int32_t back = forward ? l->gchead_prev : l->gchead_next;
	bool check = prev_links(w);
	uint64_t p, next, word, count = 0, from = head;

	*count_ret = 0;
	if (!target_read_u64(w->t, head + link, &next))
		return LIST_BROKEN;
	for (p = next & mask; p != head && !w->err; count++) {
		bool added;

		*count_ret = count;
		if (!p || (p & 7))
			return LIST_BROKEN;
		if (check && (!target_read_u64(w->t, p + back, &word) ||
			      (word & back_mask) != from)) {
			// Going back, the object where the walk forward broke.
			return !forward &&
				       node_find(w, p + l->sizeof_gc_head) >= 0 ?
				       LIST_MET : LIST_BROKEN;
		}
		if (count >= w->lim->max_objects)
			return LIST_STOP;
		long i = node_add(w, p + l->sizeof_gc_head, generation, &added);

		if (i < 0)
			return LIST_STOP;
		if (!added)
			return forward ? LIST_LOOP : LIST_MET;
		// tp_finalize already called: bit 0 of _gc_prev (3.8+), of
		// gc_refs before (_PyGC_PREV_MASK_FINALIZED,
		// _PyGC_REFS_MASK_FINALIZED).
		if (target_read_u64(w->t, p + (l->gchead_refs >= 0 ?
					       l->gchead_refs : l->gchead_prev),
				    &word) && (word & 1))
			w->nodes[i].flags |= HEAP_NODE_FINALIZED;
		w->st->tracked++;
		*count_ret = count + 1;
		if (!target_read_u64(w->t, p + link, &next))
			return LIST_BROKEN;
		from = p;
		p = next & mask;
	}
	*count_ret = count;
	return w->err ? LIST_STOP : LIST_HEAD;
}

/*
 * Walk one circular list of GC heads starting at head. Where a damaged
 * link breaks it, walk it again from the head backwards, through
 * _gc_prev, to recover the objects beyond the break.
 */
static void walk_list(struct walk *w, uint64_t head, int generation)
{
	uint64_t ahead, back;
	enum list_end end = walk_links(w, head, generation, true, &ahead);

	if (end == LIST_HEAD || end == LIST_STOP)
		return;
	if (end == LIST_LOOP) {
		// On two lists, or a loop that misses the head.
		problem(w, "gc list at 0x%" PRIx64 " loops", head);
		return;
	}
	if (!prev_links(w)) {
		problem(w, "gc list at 0x%" PRIx64 " is broken", head);
		return;
	}
	end = walk_links(w, head, generation, false, &back);
	if (!w->st->first_problem[0])
		snprintf(w->st->first_problem, sizeof(w->st->first_problem),
			 "gc list at 0x%" PRIx64 " is broken after %" PRIu64
			 " objects; %" PRIu64 " more found walking it back%s",
			 head, ahead, back,
			 end == LIST_MET ? "" : ", which broke too");
	w->st->truncated = true;
}

static void walk_gc_state(struct walk *w, uint64_t gc, bool main)
{
	const struct layout *l = w->l;

	if (main) {
		uint64_t v;

		if (target_read_u64(w->t, gc + l->gc_debug, &v))
			w->st->gc_debug = (uint32_t)v;
		if (target_read_u64(w->t, gc + l->gc_collecting, &v))
			w->st->gc_collecting = (uint32_t)v != 0;
	}
	for (int g = 0; g < 3; g++)
		walk_list(w, gc + l->gc_generations +
				     g * l->sizeof_gc_generation + l->gen_head,
			  g);
	if (l->gc_permanent >= 0)
		walk_list(w, gc + l->gc_permanent + l->gen_head, 3);
}

static void walk_interpreters(struct walk *w)
{
	const struct layout *l = w->l;
	uint64_t interp;

	if (l->gc_statics) {
		// 3.6: one set of statics for the process (Modules/gcmodule.c
		// generations[], no permanent generation).
		w->st->interpreters = 1;
		for (int g = 0; g < 3; g++)
			walk_list(w, l->gc_statics + g * l->sizeof_gc_generation +
					     l->gen_head,
				  g);
		return;
	}
	if (l->rt_gc >= 0)
		walk_gc_state(w, l->runtime_addr + l->rt_gc, true);
	if (!target_read_u64(w->t, l->runtime_addr + l->rt_interpreters_head,
			     &interp)) {
		problem(w, "_PyRuntime at 0x%" PRIx64 " is unreadable",
			l->runtime_addr);
		return;
	}
	for (int i = 0; interp && i < MAX_INTERPRETERS && !w->err; i++) {
		w->st->interpreters++;
		if (l->interp_gc >= 0)
			walk_gc_state(w, interp + l->interp_gc, i == 0);
		if (!target_read_u64(w->t, interp + l->interp_next, &interp))
			break;
	}
}

static void setup_decoders(struct walk *w)
{
	const struct layout *l = w->l;
	uint64_t addr, v;

	for (size_t i = 0; i < sizeof(type_symbols) / sizeof(type_symbols[0]);
	     i++) {
		if (!target_symbol(w->t, type_symbols[i].symbol, &addr, NULL,
				   NULL) || w->nexact >= 64)
			continue;
		w->exact[w->nexact].type = addr;
		w->exact[w->nexact++].decoder = type_symbols[i].decoder;
		if (target_read_u64(w->t, addr + l->tp_traverse, &v) && v &&
		    w->ntraverses < 64 &&
		    decoder_for_traverse(w, v) == DEC_UNKNOWN) {
			w->traverses[w->ntraverses].traverse = v;
			w->traverses[w->ntraverses++].decoder =
				type_symbols[i].decoder;
		}
	}
	for (size_t i = 0;
	     i < sizeof(traverse_symbols) / sizeof(traverse_symbols[0]); i++) {
		if (target_symbol(w->t, traverse_symbols[i].symbol, &addr, NULL,
				  NULL) && w->ntraverses < 64) {
			if (traverse_symbols[i].decoder == DEC_SUBTYPE)
				w->subtype_traverse = addr;
			w->traverses[w->ntraverses].traverse = addr;
			w->traverses[w->ntraverses++].decoder =
				traverse_symbols[i].decoder;
		}
	}
	target_symbol(w->t, "PyUnicode_Type", &w->str_type, NULL, NULL);
	target_symbol(w->t, "PyLong_Type", &w->long_type, NULL, NULL);
	target_symbol(w->t, "PyBool_Type", &w->bool_type, NULL, NULL);
	target_symbol(w->t, "PyFloat_Type", &w->float_type, NULL, NULL);
	target_symbol(w->t, "PyBytes_Type", &w->bytes_type, NULL, NULL);
	target_symbol(w->t, "_Py_NoneStruct", &w->none, NULL, NULL);
	if (l->dk_lookup >= 0)
		target_symbol(w->t, "lookdict", &w->lookdict, NULL, NULL);
	target_symbol(w->t, "PyType_GenericAlloc", &w->generic_alloc, NULL,
		      NULL);
	if (target_symbol(w->t, "_PySet_Dummy", &addr, NULL, NULL))
		target_read_u64(w->t, addr, &w->set_dummy);
}

/* ---- roots ------------------------------------------------------------- */

static bool append_u32(uint32_t **array, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		uint32_t *p = realloc(*array, ncap * sizeof(*p));

		if (!p)
			return false;
		*array = p;
		*cap = ncap;
	}
	(*array)[(*n)++] = v;
	return true;
}

// A reference held from outside the heap; returns the object's node.
static long root_add(struct walk *w, uint64_t addr, enum heap_root_kind kind,
		     const char *label, bool conservative)
{
	bool added;

	if (!addr || (addr & 7) || w->err)
		return -1;
	long i = node_add(w, addr, -1, &added);

	if (i < 0)
		return -1;
	if (!append_u32(&w->roots, &w->nroots, &w->roots_cap, i) ||
	    !append_u32(&w->roots_flags, &w->nroots_flags, &w->roots_flags_cap,
			conservative)) {
		w->err = &err_nomem;
		return -1;
	}
	struct heap_root r = {
		.addr = addr,
		.kind = kind,
		.label = label,
		.conservative = conservative,
	};

	w->err = w->c->root(w->c->arg, &r);
	return i;
}

static long root(struct walk *w, uint64_t addr, enum heap_root_kind kind,
		 const char *label)
{
	return root_add(w, addr, kind, label, false);
}

/*
 * The interpreter and runtime structs hold many more objects than the
 * named roots: modules_by_index, codec registries, caches, the small ints
 * before 3.12, atexit and audit hooks. Scan them for words that point at
 * live objects and record those as conservative roots, named by offset.
 */
static void struct_roots(struct walk *w, uint64_t base, int64_t size,
			 const char *what)
{
	char label[64];

	if (size <= 0)
		return;
	if (size > (4 << 20))
		size = 4 << 20;
	// A page at a time: most words are zero or not pointers.
	uint64_t chunk[512];

	for (int64_t at = 0; at + 8 <= size && !w->err; at += sizeof(chunk)) {
		size_t n = (size - at < (int64_t)sizeof(chunk) ?
			    (size_t)(size - at) : sizeof(chunk)) / 8;
		bool chunk_ok = target_read_ok(w->t, chunk, base + at, 8 * n);

		for (size_t k = 0; k < n && !w->err; k++) {
			uint64_t off = at + 8 * k, p = chunk[k];
			bool in_free_list = false;

			if (!chunk_ok && !target_read_u64(w->t, base + off, &p))
				continue;
			if (!p || (p & 7) || (p >= base && p < base + size))
				continue;
			// Free lists keep stale pointers to objects since
			// reused.
			for (int j = 0; j < w->nskip && !in_free_list; j++)
				in_free_list = base + off >= w->skip[j].start &&
					       base + off < w->skip[j].end;
			if (in_free_list ||
			    (node_find(w, p) < 0 && !plausible_object(w, p)))
				continue;
			snprintf(label, sizeof(label), "%s+0x%" PRIx64, what,
				 off);
			root_add(w, p, HEAP_ROOT_INTERPRETER, label, true);
		}
	}
}

static uint64_t peek(struct walk *w, uint64_t addr, int32_t off)
{
	uint64_t v = 0;

	if (off >= 0 && addr)
		target_read_u64(w->t, addr + off, &v);
	return v;
}

static void root_field(struct walk *w, uint64_t base, int32_t off,
		       enum heap_root_kind kind, const char *who,
		       const char *what)
{
	char label[sizeof(w->root_label)];

	if (off < 0)
		return;
	snprintf(label, sizeof(label), "%s %s", who, what);
	root(w, peek(w, base, off), kind, label);
}

// "frame NAME (FILE)" for a code object.
static void frame_name(struct walk *w, uint64_t code, const char *who,
		       char *out, size_t size)
{
	const struct layout *l = w->l;
	char name[128] = "?", file[256] = "?";

	str_read(w, peek(w, code, l->code_qualname >= 0 ? l->code_qualname :
					 l->code_name),
		 false, name, sizeof(name), NULL);
	str_read(w, peek(w, code, l->code_filename), false, file, sizeof(file),
		 NULL);
	const char *base = strrchr(file, '/');

	snprintf(out, size, "%s frame %s (%.100s)", who, name,
		 base ? base + 1 : file);
}

/*
 * The slots of a thread-owned interpreter frame (3.11+): code, function,
 * f_locals, the frame object, locals and stack are the thread's strong
 * references; f_globals and f_builtins are borrowed.
 */
static void iframe_roots(struct walk *w, uint64_t f, const char *who)
{
	const struct layout *l = w->l;
	uint64_t code = peek(w, f, l->iframe_code);
	char frame[200], label[sizeof(w->root_label)];
	uint32_t stacktop = 0;

	frame_name(w, code, who, frame, sizeof(frame));
	root_field(w, f, l->iframe_code, HEAP_ROOT_FRAME, frame, "code");
	root_field(w, f, l->iframe_func, HEAP_ROOT_FRAME, frame, "function");
	root_field(w, f, l->iframe_locals, HEAP_ROOT_FRAME, frame, "f_locals");
	root_field(w, f, l->iframe_frame_obj, HEAP_ROOT_FRAME, frame,
		   "frame object");
	// The innermost frame may be running a call: its saved stack top is
	// then stale, but its locals, cells and free variables are in
	// place. Take at least those (co_nlocalsplus), at most a full stack.
	uint32_t nlocals = 0, nstack = 0;

	target_read_ok(w->t, &stacktop, f + l->iframe_stacktop, 4);
	if (code) {
		target_read_ok(w->t, &nlocals, code + l->code_nlocalsplus, 4);
		target_read_ok(w->t, &nstack, code + l->code_stacksize, 4);
	}
	if (nlocals > (1u << 20) || nstack > (1u << 20))
		return;
	if (stacktop < nlocals || stacktop > nlocals + nstack)
		stacktop = nlocals;
	for (uint32_t i = 0; i < stacktop && !w->err; i++) {
		uint64_t v = peek(w, f + l->iframe_localsplus, 8 * i);
		char name[128];

		if (!v)
			continue;
		if (local_name(w, code, i, name, sizeof(name)))
			snprintf(label, sizeof(label), "%.140s local '%.100s'",
				 frame, name);
		else
			snprintf(label, sizeof(label), "%.140s stack %u", frame,
				 i);
		root(w, v, HEAP_ROOT_FRAME, label);
	}
	w->cur_problem = NULL;
}

static void thread_roots(struct walk *w, uint64_t tstate)
{
	const struct layout *l = w->l;
	char who[64];
	uint64_t tid = l->tstate_native_thread_id >= 0 ?
		peek(w, tstate, l->tstate_native_thread_id) :
		peek(w, tstate, l->tstate_thread_id);

	snprintf(who, sizeof(who), "thread %" PRIu64, tid);
	root_field(w, tstate, l->tstate_dict, HEAP_ROOT_THREAD, who, "dict");
	root_field(w, tstate, l->tstate_async_exc, HEAP_ROOT_THREAD, who,
		   "async exception");
	root_field(w, tstate, l->tstate_curexc_type, HEAP_ROOT_THREAD, who,
		   "exception type");
	root_field(w, tstate, l->tstate_curexc_value, HEAP_ROOT_THREAD, who,
		   "exception");
	root_field(w, tstate, l->tstate_curexc_traceback, HEAP_ROOT_THREAD, who,
		   "exception traceback");
	root_field(w, tstate, l->tstate_current_exception, HEAP_ROOT_THREAD,
		   who, "exception");
	root_field(w, tstate, l->tstate_exc_type, HEAP_ROOT_THREAD, who,
		   "handled exception type");
	root_field(w, tstate, l->tstate_exc_value, HEAP_ROOT_THREAD, who,
		   "handled exception");
	root_field(w, tstate, l->tstate_exc_traceback, HEAP_ROOT_THREAD, who,
		   "handled exception traceback");
	if (l->tstate_exc_state >= 0) {
		// The thread's own handled-exception item; items of
		// generators further down exc_info belong to them.
		uint64_t item = tstate + l->tstate_exc_state;

		root_field(w, item, l->errstack_exc_type, HEAP_ROOT_THREAD, who,
			   "handled exception type");
		root_field(w, item, l->errstack_exc_value, HEAP_ROOT_THREAD,
			   who, "handled exception");
		root_field(w, item, l->errstack_exc_traceback, HEAP_ROOT_THREAD,
			   who, "handled exception traceback");
	}
	if (!l->iframes) {
		// ≤3.10: frame objects from tstate->frame along f_back; their
		// decoder reports what they hold.
		uint64_t f = peek(w, tstate, l->tstate_frame);

		for (int depth = 0; f && depth < 100000 && !w->err; depth++) {
			char label[sizeof(w->root_label)];

			frame_name(w, peek(w, f, l->frame_code), who, label,
				   sizeof(label));
			root(w, f, HEAP_ROOT_FRAME, label);
			f = peek(w, f, l->frame_back);
		}
		return;
	}
	uint64_t f = l->tstate_current_frame >= 0 ?
		peek(w, tstate, l->tstate_current_frame) :
		peek(w, peek(w, tstate, l->tstate_cframe),
		     l->cframe_current_frame);

	for (int depth = 0; f && depth < 100000 && !w->err; depth++) {
		uint8_t owner = 0xff;

		// Only frames the thread owns: generators' and frame
		// objects' frames are theirs, C-stack shims hold nothing.
		target_read_ok(w->t, &owner, f + l->iframe_owner, 1);
		if (owner == 0)
			iframe_roots(w, f, who);
		f = peek(w, f, l->iframe_previous);
	}
}

// gc.garbage: a root, and its items what the garbage table lists.
static void garbage_roots(struct walk *w, uint64_t list)
{
	const struct layout *l = w->l;
	long node = root(w, list, HEAP_ROOT_GC, "gc.garbage");
	uint64_t n = peek(w, list, l->ob_size);
	uint64_t items = peek(w, list, l->list_items);

	if (node >= 0 && n > w->lim->max_items) {
		problem(w, "gc.garbage at 0x%" PRIx64 " has more items than "
			   "the limit", list);
		n = w->lim->max_items;
	}
	for (uint64_t i = 0; node >= 0 && i < n && !w->err; i++) {
		bool added;
		uint64_t v;

		if (!target_read_u64(w->t, items + 8 * i, &v))
			break;
		long item = node_add(w, v, -1, &added);

		if (item >= 0 && !append_u32(&w->garbage, &w->ngarbage,
					     &w->garbage_cap, item))
			w->err = &err_nomem;
	}
}

static void interpreter_roots(struct walk *w, uint64_t interp, uint64_t gc)
{
	const struct layout *l = w->l;

	root_field(w, interp, l->interp_modules, HEAP_ROOT_INTERPRETER,
		   "interpreter", "sys.modules");
	root_field(w, interp, l->interp_sysdict, HEAP_ROOT_INTERPRETER,
		   "interpreter", "sys.__dict__");
	root_field(w, interp, l->interp_builtins, HEAP_ROOT_INTERPRETER,
		   "interpreter", "builtins");
	if (gc) {
		garbage_roots(w, peek(w, gc, l->gc_garbage));
		root(w, peek(w, gc, l->gc_callbacks), HEAP_ROOT_GC,
		     "gc.callbacks");
	}
	// The interpreter's free lists (3.9–3.12 per type, 3.13 together).
	const struct {
		int32_t off, size;
	} free_lists[] = {
		{ l->interp_fl_tuple, l->interp_fl_tuple_size },
		{ l->interp_fl_list, l->interp_fl_list_size },
		{ l->interp_fl_dict, l->interp_fl_dict_size },
		{ l->interp_fl_float, l->interp_fl_float_size },
		{ l->interp_fl_frame, l->interp_fl_frame_size },
		{ l->interp_fl_async_gen, l->interp_fl_async_gen_size },
		{ l->interp_fl_context, l->interp_fl_context_size },
		// exc_state: only its free list of MemoryErrors.
		{ l->interp_fl_exc < 0 || l->exc_memerrors < 0 ? -1 :
		  l->interp_fl_exc + l->exc_memerrors, 8 },
		{ l->interp_fl_objects, l->interp_fl_objects_size },
	};
	w->nskip = 0;
	for (size_t k = 0; k < sizeof(free_lists) / sizeof(free_lists[0]); k++) {
		if (free_lists[k].off < 0 || free_lists[k].size <= 0 ||
		    w->nskip == 16)
			continue;
		w->skip[w->nskip].start = interp + free_lists[k].off;
		w->skip[w->nskip++].end = interp + free_lists[k].off +
					  free_lists[k].size;
	}
	struct_roots(w, interp, l->sizeof_interp, "PyInterpreterState");
	// The errno -> OSError subclass map (3.10+; a static before), by name.
	if (l->interp_fl_exc >= 0)
		root_field(w, interp + l->interp_fl_exc, l->exc_errnomap,
			   HEAP_ROOT_INTERPRETER, "interpreter", "errnomap");
	uint64_t tstate = peek(w, interp, l->interp_threads_head);

	for (int i = 0; tstate && i < 10000 && !w->err; i++) {
		thread_roots(w, tstate);
		tstate = peek(w, tstate, l->tstate_next);
	}
}

/*
 * What holds the heap from outside: each interpreter's modules and
 * dicts, its collector's lists, its threads, and the interned strings.
 * Static types are added as they are met (process()).
 */
static void walk_roots(struct walk *w)
{
	const struct layout *l = w->l;
	uint64_t interp = 0, addr;

	if (l->gc_statics) {
		// 3.6: interp_head (a local symbol), statics for the collector.
		if (target_symbol(w->t, "interp_head", &addr, NULL, NULL))
			interp = peek(w, addr, 0);
		if (target_symbol(w->t, "garbage", &addr, NULL, NULL))
			garbage_roots(w, peek(w, addr, 0));
		if (interp)
			interpreter_roots(w, interp, 0);
	} else {
		interp = peek(w, l->runtime_addr, l->rt_interpreters_head);
		for (int i = 0; interp && i < MAX_INTERPRETERS && !w->err; i++) {
			uint64_t gc = l->interp_gc >= 0 ? interp + l->interp_gc :
				      i == 0 ? l->runtime_addr + l->rt_gc : 0;

			interpreter_roots(w, interp, gc);
			interp = peek(w, interp, l->interp_next);
		}
	}
	// 3.11+ embed the main interpreter in _PyRuntime (scanned above);
	// the rest of the runtime holds its own objects.
	if (l->runtime_addr)
		struct_roots(w, l->runtime_addr, l->sizeof_runtime < 0 ? 0 :
			     l->interp_main_offset > 0 ?
			     l->interp_main_offset : l->sizeof_runtime,
			     "_PyRuntimeState");
	// The interned strings: a static dict before 3.12, per interpreter
	// since (Objects/unicodeobject.c).
	uint64_t interned = 0;

	if (l->interp_interned >= 0)
		interned = peek(w, peek(w, l->runtime_addr,
					l->rt_interpreters_head),
				l->interp_interned);
	else if (target_symbol(w->t, "interned", &addr, NULL, NULL))
		interned = peek(w, addr, 0);
	long node = root(w, interned, HEAP_ROOT_INTERNED, "interned strings");

	if (node >= 0)
		w->interned = node;
}

// A combined dict with a key that is not a str uses lookdict (≤3.10).
static void learn_lookdict(struct walk *w, uint64_t dict)
{
	const struct layout *l = w->l;
	uint64_t keys, values, size, n, lookup;

	if (!target_read_u64(w->t, dict + l->dict_keys, &keys) ||
	    !target_read_u64(w->t, dict + l->dict_values, &values) || values ||
	    !target_read_u64(w->t, keys + l->dk_size, &size) ||
	    !target_read_u64(w->t, keys + l->dk_nentries, &n) ||
	    !target_read_u64(w->t, keys + l->dk_lookup, &lookup) ||
	    size > (1ULL << 32) || !lookup)
		return;
	unsigned width = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
	uint64_t entries = keys + l->dk_indices + size * width;

	for (uint64_t i = 0; i < n && i < 64; i++) {
		uint64_t key, type;

		if (target_read_u64(w->t, entries + i * l->sizeof_dk_entry +
					       l->dke_key, &key) &&
		    key && target_read_u64(w->t, key + l->ob_type, &type) &&
		    type != w->str_type) {
			w->lookdict = lookup;
			return;
		}
	}
}

/*
 * Learn from the tracked objects what a build without .symtab does not
 * name: subtype_traverse (Objects/typeobject.c), the tp_traverse of every
 * class a class statement makes and so the most common one among heap
 * types; and before 3.11 lookdict (Objects/dictobject.c), the lookup
 * function of every combined dict that ever held a key that is not a str.
 */
static void learn_unexported(struct walk *w)
{
	const struct layout *l = w->l;
	bool need_lookdict = l->dk_lookup >= 0 && !w->lookdict;
	uint64_t dict_type = 0;
	struct {
		uint64_t traverse;
		uint64_t count;
	} seen[256] = { { 0 } };

	if (w->subtype_traverse && !need_lookdict)
		return;
	for (size_t i = 0; i < w->nexact; i++) {
		if (w->exact[i].decoder == DEC_DICT && !dict_type)
			dict_type = w->exact[i].type;
	}
	for (size_t i = 0; i < w->nnodes; i++) {
		uint64_t obj = w->nodes[i].addr, type, flags, v;

		if (!target_read_u64(w->t, obj + l->ob_type, &type))
			continue;
		if (!w->subtype_traverse && is_type_object(w, obj) &&
		    target_read_u64(w->t, obj + l->tp_flags, &flags) &&
		    (flags & TPFLAGS_HEAPTYPE) &&
		    target_read_u64(w->t, obj + l->tp_traverse, &v) && v) {
			size_t h = mem_hash_addr(v) & 255;

			for (unsigned k = 0; k < 256; k++, h = (h + 1) & 255) {
				if (!seen[h].traverse || seen[h].traverse == v) {
					seen[h].traverse = v;
					seen[h].count++;
					break;
				}
			}
		}
		if (need_lookdict && type == dict_type && dict_type)
			learn_lookdict(w, obj);
		need_lookdict = l->dk_lookup >= 0 && !w->lookdict;
	}
	if (!w->subtype_traverse) {
		uint64_t best = 0, count = 0;

		for (unsigned k = 0; k < 256; k++) {
			if (seen[k].count > count) {
				best = seen[k].traverse;
				count = seen[k].count;
			}
		}
		if (best && w->ntraverses < 64 &&
		    decoder_for_traverse(w, best) == DEC_UNKNOWN) {
			w->subtype_traverse = best;
			w->traverses[w->ntraverses].traverse = best;
			w->traverses[w->ntraverses++].decoder = DEC_SUBTYPE;
		}
	}
}

/* ---- the census of pymalloc's arenas ----------------------------------- */

/*
 * The block (index in census.blocks) holding the allocation of node i,
 * which starts at most the GC head and the 3.11+ pre-header before the
 * object; SIZE_MAX if no pool in use holds it.
 */
static size_t node_block(struct walk *w, size_t i,
			 const struct census_pool **pool_ret)
{
	struct census *c = &w->census;
	uint64_t addr = w->nodes[i].addr;
	size_t k;
	const struct census_pool *p = census_pool_of(c, addr, &k);

	if (!p || k == SIZE_MAX || addr - census_block_addr(c, p, k) >
					   w->l->sizeof_gc_head + w->l->preheader)
		return SIZE_MAX;
	*pool_ret = p;
	return k;
}

/*
 * Whether the bytes of an allocated block, @p off bytes into it, are a
 * live object nothing else found: its type is a type object, its count
 * that of a live object (freed objects and those cached in free lists
 * have 0, or a pointer in that word), the offset is the GC head and
 * pre-header its type puts before it, a GC object is untracked (a tracked
 * one is on a collector list, unless a list was broken), and its size is
 * that of the block's size class.
 */
static bool census_candidate(struct walk *w, const unsigned char *block,
			     uint32_t block_size, uint32_t off, uint64_t obj)
{
	const struct layout *l = w->l;
	uint64_t refcnt, type;

	if (off + 16 > block_size)
		return false;
	memcpy(&refcnt, block + off + l->ob_refcnt, 8);
	memcpy(&type, block + off + l->ob_type, 8);
	if (!((int64_t)refcnt > 0 && refcnt < (1ULL << 40)) || !type ||
	    (type & 7))
		return false;
	struct tinfo *ti = type_find(w, type);

	if (!ti && !is_type_object(w, type))
		return false;
	if (!ti)
		ti = type_get(w, type);
	if (!ti || !ti->valid || ti->basicsize <= 0)
		return false;
	bool gc = ti->flags & TPFLAGS_HAVE_GC;
	uint64_t next;

	if (off != (gc ? l->sizeof_gc_head + (ti->flags & l->preheader_flags ?
					      l->preheader : 0) : 0))
		return false;
	if (gc) {
		memcpy(&next, block + off - l->sizeof_gc_head + l->gchead_next, 8);
		if (next && !w->st->truncated)
			return false;
	}
	// object_size_repr reads through rd(), which blames the object being
	// decoded: none is now.
	const char *problem = w->cur_problem;
	int64_t size = object_size_repr(w, obj, ti, w->repr, sizeof(w->repr));

	w->cur_problem = problem;
	return size > 0 && size <= block_size && size > block_size - 16;
}

// Add the objects only the arenas hold: allocated blocks nothing found.
static void census_find(struct walk *w)
{
	struct census *c = &w->census;
	const struct layout *l = w->l;
	uint32_t offsets[3] = { 0, l->sizeof_gc_head,
				l->sizeof_gc_head + l->preheader };
	unsigned noffsets = l->preheader ? 3 : 2;
	unsigned char *pool = malloc(c->pool_size);

	if (!pool) {
		w->err = &err_nomem;
		return;
	}
	for (size_t i = 0; i < w->nnodes; i++) {
		const struct census_pool *p;
		size_t k = node_block(w, i, &p);

		if (k != SIZE_MAX && c->blocks[k] == CENSUS_USED)
			c->blocks[k] = CENSUS_OBJECT;
	}
	for (size_t i = 0; i < c->npools && !w->err; i++) {
		const struct census_pool *p = &c->pools[i];
		bool any = false;

		for (size_t k = p->first; k < p->first + p->carved; k++)
			any = any || c->blocks[k] == CENSUS_USED;
		if (!any || !target_read_ok(w->t, pool, p->addr, c->pool_size))
			continue;
		for (size_t k = p->first; k < p->first + p->carved && !w->err;
		     k++) {
			uint64_t b = census_block_addr(c, p, k);

			if (c->blocks[k] != CENSUS_USED)
				continue;
			for (unsigned j = 0; j < noffsets; j++) {
				bool added;
				long n;

				if (!census_candidate(w, pool + (b - p->addr),
						      p->block_size, offsets[j],
						      b + offsets[j]))
					continue;
				n = node_add(w, b + offsets[j], -1, &added);
				if (n < 0)
					break;
				if (added) {
					w->nodes[n].flags |= HEAP_NODE_ARENA;
					w->st->arena_objects++;
				}
				c->blocks[k] = CENSUS_OBJECT;
				break;
			}
		}
	}
	free(pool);
}

/*
 * C statics hold objects too: an extension's cached str or dict, a path
 * the runtime keeps. Scan the memory of every loaded file (the executable,
 * libpython, extension modules) for words pointing at an object found in
 * the arenas only, and record each as a conservative root labelled with
 * the symbol that holds it, so that such an object is not taken for a
 * leak; and each thread's C stack above its stack pointer. Only those
 * objects: the others were found through references.
 */
// Whether p is an object found in the arenas only.
static bool arena_only(struct walk *w, uint64_t p)
{
	struct census *c = &w->census;
	size_t k;
	long n;

	return c->npools && p >= c->pools[0].addr &&
	       p < c->pools[c->npools - 1].addr + c->pool_size && !(p & 7) &&
	       census_pool_of(c, p, &k) && k != SIZE_MAX &&
	       c->blocks[k] == CENSUS_OBJECT && (n = node_find(w, p)) >= 0 &&
	       (w->nodes[n].flags & HEAP_NODE_ARENA);
}

static void static_roots(struct walk *w)
{
	char label[160];

	if (!w->st->arena_objects)
		return;
	for (size_t m = 0; m < target_num_modules(w->t) && !w->err; m++) {
		const struct target_module *mod = target_module(w->t, m);
		const char *base = strrchr(mod->name, '/');
		uint64_t at = mod->start, start, len;
		const unsigned char *data;

		base = base ? base + 1 : mod->name;
		while (at < mod->end && !w->err &&
		       target_next_segment(w->t, at, &start, &len, &data) &&
		       start < mod->end) {
			uint64_t end = start + len < mod->end ? start + len :
								mod->end;

			for (uint64_t a = (start + 7) & ~7ULL; a + 8 <= end;
			     a += 8) {
				uint64_t p;

				memcpy(&p, data + (a - start), 8);
				if (!arena_only(w, p))
					continue;
				const char *sym = target_symbol_at(w->t, a);

				snprintf(label, sizeof(label),
					 "static %s in %s+0x%" PRIx64,
					 sym ? sym : "?", base, a - mod->start);
				root_add(w, p, HEAP_ROOT_INTERPRETER, label,
					 true);
			}
			at = end;
		}
	}
	// And each thread's C stack, from its stack pointer up: a C caller
	// holds what it is working on there.
	const uint64_t *sps;
	size_t nsps = target_stack_pointers(w->t, &sps);

	for (size_t i = 0; i < nsps && !w->err; i++) {
		uint64_t start, len;
		const unsigned char *data;

		if (!target_next_segment(w->t, sps[i], &start, &len, &data) ||
		    start > sps[i])
			continue;
		for (uint64_t a = (sps[i] + 7) & ~7ULL; a + 8 <= start + len &&
		     a - sps[i] < (64u << 20); a += 8) {
			uint64_t p;

			memcpy(&p, data + (a - start), 8);
			if (!arena_only(w, p))
				continue;
			snprintf(label, sizeof(label), "C stack of thread %zu "
				 "at 0x%" PRIx64, i + 1, a);
			root_add(w, p, HEAP_ROOT_THREAD, label, true);
		}
	}
}

struct usage_key {
	uint32_t block_size;
	bool buffer;
	uint64_t type;
};

struct usage_row {
	struct usage_key key;
	uint64_t blocks, arena_found;
};

struct usage_table {
	struct usage_row *rows;   // open addressing
	size_t n, cap;
};

static struct usage_row *usage_get(struct usage_table *u, struct usage_key key)
{
	if ((u->n + 1) * 2 > u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 256;
		struct usage_row *rows = calloc(cap, sizeof(*rows));

		if (!rows)
			return NULL;
		for (size_t i = 0; i < u->cap; i++) {
			if (!u->rows[i].blocks)
				continue;
			size_t h = mem_hash_addr(u->rows[i].key.type ^
						 u->rows[i].key.block_size ^
						 u->rows[i].key.buffer) & (cap - 1);

			while (rows[h].blocks)
				h = (h + 1) & (cap - 1);
			rows[h] = u->rows[i];
		}
		free(u->rows);
		u->rows = rows;
		u->cap = cap;
	}
	size_t h = mem_hash_addr(key.type ^ key.block_size ^ key.buffer) &
		   (u->cap - 1);

	while (u->rows[h].blocks &&
	       (u->rows[h].key.type != key.type ||
		u->rows[h].key.block_size != key.block_size ||
		u->rows[h].key.buffer != key.buffer))
		h = (h + 1) & (u->cap - 1);
	if (!u->rows[h].blocks) {
		u->rows[h].key = key;
		u->n++;
	}
	return &u->rows[h];
}

// The type object's address of node i, or 0.
static uint64_t node_type_addr(struct walk *w, size_t i)
{
	uint32_t t = w->nodes[i].type;

	return t == HEAP_NONE || t >= w->nnodes ? 0 : w->nodes[t].addr;
}

/*
 * Account for every allocated block by what holds it: an object found
 * (of which type), a buffer of one, or nothing found; and report the
 * arenas, pools and usage to the consumer.
 */
static void census_account(struct walk *w)
{
	struct census *c = &w->census;
	struct heap_stats *st = w->st;
	struct usage_table u = { 0 };
	uint32_t *objects = calloc(c->npools + 1, sizeof(*objects));
	uint32_t *buffers = calloc(c->npools + 1, sizeof(*buffers));

	if (!objects || !buffers) {
		w->err = &err_nomem;
		goto out;
	}
	// Start again from the objects found in the end: one per block.
	for (size_t k = 0; k < c->nblocks; k++) {
		if (c->blocks[k] == CENSUS_OBJECT)
			c->blocks[k] = CENSUS_USED;
	}
	for (size_t i = 0; i < w->nnodes && !w->err; i++) {
		const struct census_pool *p;
		size_t k = node_block(w, i, &p);

		if (k == SIZE_MAX)
			continue;
		if (c->blocks[k] == CENSUS_FREE) {
			st->pm_dangling++;
			continue;
		}
		if (c->blocks[k] != CENSUS_USED)
			continue;
		c->blocks[k] = CENSUS_OBJECT;
		objects[p - c->pools]++;
		struct usage_row *r = usage_get(&u, (struct usage_key){
			.block_size = p->block_size,
			.type = node_type_addr(w, i),
		});
		if (!r) {
			w->err = &err_nomem;
			break;
		}
		r->blocks++;
		r->arena_found += !!(w->nodes[i].flags & HEAP_NODE_ARENA);
	}
	for (size_t i = 0; i < w->nbufs && !w->err; i++) {
		size_t k;
		const struct census_pool *p =
			census_pool_of(c, w->bufs[i].addr, &k);

		if (!p || k == SIZE_MAX || c->blocks[k] != CENSUS_USED)
			continue;
		c->blocks[k] = CENSUS_BUFFER;
		buffers[p - c->pools]++;
		struct usage_row *r = usage_get(&u, (struct usage_key){
			.block_size = p->block_size,
			.buffer = true,
			.type = node_type_addr(w, w->bufs[i].owner),
		});
		if (!r) {
			w->err = &err_nomem;
			break;
		}
		r->blocks++;
	}
	st->pm_arenas = c->narenas;
	st->pm_pools = c->npools;
	st->pm_arena_bytes = (uint64_t)c->narenas * c->arena_size;
	for (size_t i = 0; i < c->narenas && !w->err && w->c->arena; i++) {
		const struct census_arena *a = &c->arenas[i];
		struct heap_arena ha = {
			.addr = a->addr,
			.size = c->arena_size,
			.pools = a->ntotalpools,
			.free_pools = a->nfreepools,
			.used_pools = a->used,
		};
		w->err = w->c->arena(w->c->arg, &ha);
	}
	for (size_t i = 0; i < c->npools && !w->err; i++) {
		const struct census_pool *p = &c->pools[i];
		struct heap_pool hp = {
			.addr = p->addr,
			.arena = p->arena,
			.block_size = p->block_size,
			.capacity = p->capacity,
			.used = p->used,
			.objects = objects[i],
			.buffers = buffers[i],
			.bad = p->bad,
		};
		st->pm_used_bytes += (uint64_t)p->used * p->block_size;
		st->pm_free_bytes += (uint64_t)(p->capacity - p->used) *
				     p->block_size;
		st->pm_object_bytes += (uint64_t)objects[i] * p->block_size;
		st->pm_buffer_bytes += (uint64_t)buffers[i] * p->block_size;
		if (w->c->pool)
			w->err = w->c->pool(w->c->arg, &hp);
	}
	st->pm_unknown_bytes = st->pm_used_bytes - st->pm_object_bytes -
			       st->pm_buffer_bytes;
	for (size_t i = 0; i < u.cap && !w->err && w->c->usage; i++) {
		const struct usage_row *r = &u.rows[i];
		struct tinfo *ti = r->blocks && r->key.type ?
			type_find(w, r->key.type) : NULL;

		if (!r->blocks)
			continue;
		struct heap_usage hu = {
			.block_size = r->key.block_size,
			.buffer = r->key.buffer,
			.type_addr = r->key.type,
			.type = ti ? ti->name : NULL,
			.blocks = r->blocks,
			.arena_found = r->arena_found,
		};
		w->err = w->c->usage(w->c->arg, &hu);
	}
out:
	free(u.rows);
	free(objects);
	free(buffers);
}

// The interpreters, for their pymalloc states (3.12+).
static size_t interpreters(struct walk *w, uint64_t *out, size_t max)
{
	const struct layout *l = w->l;
	uint64_t interp = 0;
	size_t n = 0;

	if (l->runtime_addr)
		interp = peek(w, l->runtime_addr, l->rt_interpreters_head);
	while (interp && n < max) {
		out[n++] = interp;
		interp = peek(w, interp, l->interp_next);
	}
	return n;
}

static double census_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void census_walk(struct walk *w)
{
	double start = census_clock();
	uint64_t interps[CENSUS_MAX_STATES], sample[256];
	size_t n = interpreters(w, interps, CENSUS_MAX_STATES), nsample = 0;

	// Objects found, spread over the heap, in case the state must be
	// found through their pools.
	for (size_t i = 0; i < w->nnodes && nsample < 256;
	     i += 1 + w->nnodes / 256)
		sample[nsample++] = w->nodes[i].addr;
	w->err = census_read(&w->census, w->t, w->l, interps, n, sample,
			     nsample);
	if (w->err)
		return;
	w->st->census_source = w->census.source;
	snprintf(w->st->census_problem, sizeof(w->st->census_problem), "%s",
		 w->census.problem);
	w->st->census = w->census.available;
	if (w->census.available) {
		census_find(w);
		static_roots(w);
	}
	w->st->census_ms += census_clock() - start;
}

struct err *heap_walk(struct target *t, const struct layout *l,
		      const struct heap_limits *limits,
		      const struct heap_consumer *consumer,
		      struct heap_graph *graph_ret,
		      struct heap_stats *stats_ret)
{
	struct walk w = {
		.t = t,
		.l = l,
		.lim = limits ? limits : &heap_default_limits,
		.c = consumer,
		.st = stats_ret,
		.interned = HEAP_NONE,
	};

	memset(stats_ret, 0, sizeof(*stats_ret));
	setup_decoders(&w);
	walk_interpreters(&w);
	learn_unexported(&w);
	walk_roots(&w);
	if (!w.err && w.nnodes == 0) {
		w.err = err_create(ERR_LAYOUT,
				   "no object found on the collector's lists "
				   "of Python %s: %s",
				   l->version,
				   stats_ret->first_problem[0] ?
					   stats_ret->first_problem :
					   "the lists are empty");
	}
	// The queue is the node array itself: nodes added while decoding
	// are processed in turn. The census adds the objects only pymalloc's
	// arenas hold, and what they refer to, once the rest are found.
	size_t i = 0;

	for (int pass = 0; pass < 2 && !w.err; pass++) {
		for (; i < w.nnodes && !w.err; i++) {
			process(&w, i);
			if (consumer->progress && (i & 0xffff) == 0xffff)
				consumer->progress(consumer->progress_arg,
						   stats_ret->objects,
						   stats_ret->edges);
		}
		edges_settle(&w);
		if (pass == 0 && !w.err)
			census_walk(&w);
	}
	if (!w.err && w.census.available) {
		double start = census_clock();

		census_account(&w);
		w.st->census_ms += census_clock() - start;
	}
	census_deinit(&w.census);
	free(w.bufs);

	for (size_t i = 0; i < w.types_cap; i++)
		free(w.types ? w.types[i] : NULL);
	free(w.types);
	node_ht_free(&w);
	free(w.buf);
	if (graph_ret && !w.err) {
		*graph_ret = (struct heap_graph){
			.nnodes = w.nnodes,
			.nodes = w.nodes,
			.nedges = w.nedges,
			.src = w.esrc,
			.dst = w.edst,
			.kind = w.ekind,
			.nroots = w.nroots,
			.root = w.roots,
			.root_conservative = w.roots_flags,
			.ngarbage = w.ngarbage,
			.garbage = w.garbage,
			.interned = w.interned,
		};
		w.nodes = NULL;
		w.esrc = w.edst = NULL;
		w.ekind = NULL;
		w.roots = w.garbage = w.roots_flags = NULL;
	}
	free(w.roots_flags);
	free(w.esrc);
	free(w.edst);
	free(w.ekind);
	free(w.roots);
	free(w.garbage);
	free(w.nodes);
	return w.err;
}

void heap_graph_deinit(struct heap_graph *g)
{
	free(g->root_conservative);
	free(g->nodes);
	free(g->src);
	free(g->dst);
	free(g->kind);
	free(g->root);
	free(g->garbage);
	memset(g, 0, sizeof(*g));
}
