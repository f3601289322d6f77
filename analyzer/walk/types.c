/* SPDX-License-Identifier: MIT */
/*
 * Types: read once, reported to the consumer the first time, matched to
 * their row of the decoder table; and what a build without .symtab does
 * not name, learned from the objects.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/walk.h"
#include "cpython/layout.h"
#include "util/mem.h"
#include "target/target.h"

// The row of a type's tp_traverse, or NULL.
static const struct decoder *row_for_traverse(struct walk *w,
					      uint64_t traverse)
{
	// No traverse: not a container the collector knows, but it may
	// hold references all the same (range, code, C types): scanned,
	// unless its row says it holds none.
	if (!traverse)
		return NULL;
	for (size_t i = 0; i < w->ntraverses; i++) {
		if (w->traverses[i].traverse == traverse)
			return w->traverses[i].row;
	}
	return NULL;
}

// The row whose exported type object is at addr, or NULL.
static const struct decoder *row_for_type(struct walk *w, uint64_t addr)
{
	const struct decoder *row = NULL;

	for (size_t i = 0; i < w->nexact; i++) {
		if (w->exact[i].type == addr)
			row = w->exact[i].row;
	}
	return row;
}

/*
 * Match a type to its rows of the decoder table (decode/table.c says in
 * what order).
 */
static void match_rows(struct walk *w, struct decode_type *ti)
{
	const struct decoder *exact = row_for_type(w, ti->addr);

	ti->row = exact ? exact : row_for_traverse(w, ti->traverse);
	// Exceptions with their own traverse (OSError, StopIteration…) add
	// members to BaseException's fields, decoded generically; deque's
	// traverse is a local symbol that a stripped build does not have;
	// metatypes with a traverse of their own (ctypes') extend
	// type_traverse.
	for (size_t i = 0; i < ndecoders && !ti->row; i++) {
		const struct decoder *r = &decoders[i];

		if ((r->type_name && !strcmp(ti->name, r->type_name)) ||
		    (r->type_flag && (ti->flags & r->type_flag)))
			ti->row = r;
	}
	// Subclasses of str, int and bytes are sized and previewed as those.
	ti->value_row = ti->row;
	for (size_t i = 0; i < ndecoders; i++) {
		const struct decoder *r = &decoders[i];

		if (r == exact || (r->value_flag && (ti->flags & r->value_flag))) {
			ti->value_row = r;
			break;
		}
	}
}

struct decode_type *type_find(struct walk *w, uint64_t addr)
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

static struct err *type_insert(struct walk *w, struct decode_type *ti)
{
	if ((w->ntypes + 1) * 2 > w->types_cap) {
		size_t cap = w->types_cap ? w->types_cap * 2 : 1024;
		struct decode_type **p = calloc(cap, sizeof(*p));

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

/* ---- what a type object is ------------------------------------------ */

enum {
	/*
	 * ob_type steps from a type to `type`: a class is one (its type is
	 * `type`), a class of a metaclass two, of a metaclass's metaclass
	 * three. Real chains are that short; a longer one or a loop is not a
	 * chain of types.
	 */
	MAX_METATYPES = 8,
	/*
	 * Bytes of a tp_name with its NUL: a page. The longest names real
	 * classes have (generated generic classes such as
	 * "Model[Dict[str, List[int]]]") are a few hundred bytes.
	 */
	TYPE_NAME_MAX = 4096,
	/*
	 * tp_basicsize: at least a PyObject's header (PyType_Ready gives a
	 * type that declares 0 its base's), at most a megabyte, past any C
	 * struct an object's fixed part is; tp_itemsize: one element of the
	 * array an object ends with (a byte, a digit, a pointer, the 40-byte
	 * PyMemberDef of `type`), at most a kilobyte.
	 */
	MAX_BASICSIZE = 1 << 20,
	MAX_ITEMSIZE = 1 << 10,
};

// Py_TPFLAGS_READY and Py_TPFLAGS_READYING, 3.6 to 3.13.
#define TPFLAGS_READY (1UL << 12)
#define TPFLAGS_READYING (1UL << 13)

/*
 * Flags no type has: every Py_TPFLAGS_* bit of 3.6–3.13 is below bit 32
 * (tp_flags is an unsigned long, 32 bits in the ABI of Windows); and a
 * heap type has been readied (type_new and PyType_FromSpec call
 * PyType_Ready before anything can make an instance), or is being
 * readied. A static type may not be ready: before 3.11 some are readied
 * only when first looked into.
 */
static bool flags_ok(uint64_t flags)
{
	return !(flags >> 32) &&
	       (!(flags & TPFLAGS_HEAPTYPE) ||
		(flags & (TPFLAGS_READY | TPFLAGS_READYING)));
}

bool addr_set_has(const struct addr_set *set, uint64_t addr)
{
	if (!set->cap)
		return false;
	size_t h = mem_hash_addr(addr) & (set->cap - 1);

	for (; set->a[h]; h = (h + 1) & (set->cap - 1)) {
		if (set->a[h] == addr)
			return true;
	}
	return false;
}

// Add a nonzero address; when out of memory it is only not kept.
void addr_set_add(struct addr_set *set, uint64_t addr)
{
	if (!addr || addr_set_has(set, addr))
		return;
	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 256;
		uint64_t *p = calloc(cap, sizeof(*p));

		if (!p)
			return;
		for (size_t i = 0; i < set->cap; i++) {
			size_t h = mem_hash_addr(set->a[i]) & (cap - 1);

			if (!set->a[i])
				continue;
			while (p[h])
				h = (h + 1) & (cap - 1);
			p[h] = set->a[i];
		}
		free(set->a);
		set->a = p;
		set->cap = cap;
	}
	size_t h = mem_hash_addr(addr) & (set->cap - 1);

	while (set->a[h])
		h = (h + 1) & (set->cap - 1);
	set->a[h] = addr;
	set->n++;
}

void addr_set_free(struct addr_set *set)
{
	free(set->a);
	memset(set, 0, sizeof(*set));
}

/*
 * Whether the NUL-terminated string at p is a type's name: readable to
 * its NUL within TYPE_NAME_MAX bytes, not empty, and printable UTF-8 (a
 * class may have any name a str without NUL spells, but names with
 * control characters are left to garbage). Its first size - 1 bytes go
 * to out.
 */
static bool name_ok(struct walk *w, uint64_t p, char *out, size_t size)
{
	char buf[TYPE_NAME_MAX];
	long len;
	uint8_t nul;

	if (!p)
		return false;
	// It must stop at its NUL, not at the end of what is readable.
	len = target_read_string(w->t, p, buf, sizeof(buf));
	if (len < 1 || len >= TYPE_NAME_MAX - 1 ||
	    !target_read_ok(w->t, &nul, p + len, 1))
		return false;
	for (long i = 0; i < len;) {
		unsigned char c = buf[i];
		int more = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 :
			   c >= 0xe0 && c < 0xf0 ? 2 :
			   c >= 0xf0 && c < 0xf5 ? 3 : -1;

		if (c < 0x20 || c == 0x7f || more < 0 || i + more >= len)
			return false;
		for (int k = 1; k <= more; k++) {
			if (((unsigned char)buf[i + k] & 0xc0) != 0x80)
				return false;
		}
		i += 1 + more;
	}
	size_t n = (size_t)len < size - 1 ? (size_t)len : size - 1;

	memcpy(out, buf, n);
	out[n] = 0;
	return true;
}

// The verdict already reached on addr, or -1.
static int verdict_known(struct walk *w, uint64_t addr)
{
	const struct decode_type *known = type_find(w, addr);

	if (known)
		return known->valid ? TYPE_YES :
		       known->lost ? TYPE_UNREAD : TYPE_NOT;
	if (addr_set_has(&w->unread_types, addr))
		return TYPE_UNREAD;
	if (addr_set_has(&w->not_types, addr))
		return TYPE_NOT;
	return -1;
}

/*
 * Whether the object at addr is of a type of types: its ob_type is a type
 * that extends `type` (Py_TPFLAGS_TYPE_SUBCLASS), whose own ob_type is
 * one in turn, until `type` (PyType_Type) itself, within MAX_METATYPES
 * steps. Without the symbol, `type` is the type of types whose type is
 * itself and whose name is "type".
 */
static bool meta_chain_ok(struct walk *w, uint64_t addr, bool *unread)
{
	const struct layout *l = w->l;
	uint64_t cur = addr;

	if (!addr || (addr & 7))
		return false;
	for (int k = 0; k < MAX_METATYPES; k++) {
		uint64_t meta, flags, name;
		char text[8];
		int known;

		if (!target_read_u64(w->t, cur + l->ob_type, &meta) || !meta ||
		    (meta & 7) ||
		    !target_read_u64(w->t, meta + l->tp_flags, &flags) ||
		    !(flags & TPFLAGS_TYPE_SUBCLASS) || !flags_ok(flags))
			return false;
		if (w->type_type && meta == w->type_type)
			return true;
		if (meta == cur)
			return !w->type_type &&
			       target_read_u64(w->t, meta + l->tp_name, &name) &&
			       target_read_string(w->t, name, text,
						  sizeof(text)) == 4 &&
			       !strcmp(text, "type");
		known = verdict_known(w, meta);
		if (known >= 0) {
			*unread = known == TYPE_UNREAD;
			return known == TYPE_YES;
		}
		cur = meta;
	}
	return false;
}

bool is_type_object(struct walk *w, uint64_t addr)
{
	bool unread = false;

	return meta_chain_ok(w, addr, &unread);
}

/*
 * Whether addr is a type object, read into ti (its name, sizes, flags):
 * of a type of types (is_type_object), with flags a type can have, sizes
 * an object can have and a printable name. Not one, or not known when a
 * truncated core lacks memory it would read.
 */
static enum type_verdict type_read(struct walk *w, uint64_t addr,
				   struct decode_type *ti)
{
	const struct layout *l = w->l;
	uint64_t name_addr = 0, lost = target_lost_reads(w->t);
	bool unread = false, ok;

#define FIELD(dst, off)                                                      \
	do {                                                                 \
		uint64_t v_ = 0;                                             \
		ok = ok && target_read_u64(w->t, addr + (off), &v_);         \
		dst = v_;                                                    \
	} while (0)
	ok = meta_chain_ok(w, addr, &unread);
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
	FIELD(name_addr, l->tp_name);
	if (ti->flags & TPFLAGS_HEAPTYPE && l->ht_cached_keys >= 0)
		FIELD(ti->cached_keys, l->ht_cached_keys);
#undef FIELD
	if (ok && flags_ok(ti->flags) && ti->basicsize >= l->sizeof_object &&
	    ti->basicsize <= MAX_BASICSIZE && ti->itemsize >= 0 &&
	    ti->itemsize <= MAX_ITEMSIZE &&
	    name_ok(w, name_addr, ti->name, sizeof(ti->name)) &&
	    target_lost_reads(w->t) == lost)
		return TYPE_YES;
	return unread || target_lost_reads(w->t) != lost ? TYPE_UNREAD :
							   TYPE_NOT;
}

/*
 * Whether addr is a type object; the verdict is kept, so that each
 * address is looked into once. A type is reported the first time.
 */
enum type_verdict type_verdict(struct walk *w, uint64_t addr)
{
	struct decode_type probe;
	int known = verdict_known(w, addr);
	enum type_verdict v;

	if (known >= 0)
		return known;
	// Words that are not types are not kept as types: only their
	// addresses.
	memset(&probe, 0, sizeof(probe));
	v = type_read(w, addr, &probe);
	if (v != TYPE_YES) {
		addr_set_add(v == TYPE_NOT ? &w->not_types : &w->unread_types,
			     addr);
		return v;
	}
	struct decode_type *ti = type_get(w, addr);

	return ti && ti->valid ? TYPE_YES : TYPE_NOT;
}

static void module_of_type(struct walk *w, const struct decode_type *ti,
			   char *buf, size_t size);

/*
 * A type found not valid: lost if that is because some of it (or of its
 * type) is in memory a truncated core lacks (its instances are then
 * partial, not corrupt).
 */
static struct decode_type *type_lost(struct walk *w, struct decode_type *ti,
				     bool lost)
{
	ti->lost = lost;
	w->dc.types_lost += ti->lost;
	return ti;
}

// Look up or read a type; reports it to the consumer the first time.
struct decode_type *type_get(struct walk *w, uint64_t addr)
{
	const struct layout *l = w->l;
	struct decode_type *ti = type_find(w, addr);

	if (ti) {
		w->dc.types_lost += ti->lost;
		return ti;
	}
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
	enum type_verdict v = type_read(w, addr, ti);

	if (v != TYPE_YES) {
		if (v == TYPE_UNREAD)
			addr_set_add(&w->unread_types, addr);
		snprintf(ti->name, sizeof(ti->name), "<bad type 0x%" PRIx64 ">",
			 addr);
		return type_lost(w, ti, v == TYPE_UNREAD);
	}
	// Static types are only heap types' 'slots' owners when heap types.
	if (!(ti->flags & TPFLAGS_HEAPTYPE))
		ti->nslots = 0;
	ti->valid = true;

	match_rows(w, ti);
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
/*
 * Whether a word can be the count of a live object found by a guess (a
 * word that points at it, a block that holds it): positive; 3.12+'s
 * immortal count, or at most one reference per 8 bytes of the memory
 * there is; and not an address in a loaded file -- a non-PIE
 * executable's statics and heap are low: a C struct of type pointers (a
 * capsule's table: a type, then another) is no object whose count is
 * 10,787,616, nor is sqlite3's connection state one whose count is
 * 1,008,292,848.
 */
static bool in_module(struct walk *w, uint64_t addr)
{
	for (size_t m = 0; m < target_num_modules(w->t); m++) {
		const struct target_module *mod = target_module(w->t, m);

		if (addr >= mod->start && addr < mod->end)
			return true;
	}
	return false;
}

bool plausible_refcnt(struct walk *w, uint64_t addr, uint64_t refcnt)
{
	if ((int64_t)refcnt <= 0)
		return false;
	if (w->l->immortal_refcnt && (int32_t)refcnt < 0 &&
	    refcnt < (1ULL << 32))
		return true;
	if (refcnt < (1ULL << 16))
		return true;
	// A static object keeps any count (3.11's statically allocated
	// strings start at 999,999,999).
	if (in_module(w, addr))
		return refcnt < (1ULL << 40);
	if (!w->max_refcnt) {
		uint64_t words = target_memory_bytes(w->t) / 8;

		w->max_refcnt = words > (1ULL << 20) ? words : 1ULL << 20;
	}
	uint64_t start, len;
	const unsigned char *data;

	// An address of the process's memory, as the brk heap of a non-PIE
	// executable is (sqlite3's connection state read as an object whose
	// count is 29,558,288, a pointer into that heap).
	if (target_next_segment(w->t, refcnt, &start, &len, &data) &&
	    start <= refcnt)
		return false;
	return refcnt <= w->max_refcnt && !in_module(w, refcnt);
}

bool plausible_object(struct walk *w, uint64_t p)
{
	const struct layout *l = w->l;
	uint64_t type, refcnt;

	if (!target_read_u64(w->t, p + l->ob_type, &type) ||
	    !target_read_u64(w->t, p + l->ob_refcnt, &refcnt))
		return false;
	return plausible_refcnt(w, p, refcnt) &&
	       type_verdict(w, type) == TYPE_YES;
}

/*
 * Find a str key in a dict of at most max_entries entries without marking
 * the current object: used on type dicts while another object is being
 * decoded, and on sys.modules.
 */
bool dict_find_str(struct walk *w, uint64_t dict, const char *key,
		   uint64_t max_entries, uint64_t *value_ret)
{
	const struct layout *l = w->l;
	uint64_t keys, values, nentries, entries;
	unsigned entry_size, key_off, value_off;

	if (!dict || !target_read_u64(w->t, dict + l->dict_keys, &keys) ||
	    !target_read_u64(w->t, dict + l->dict_values, &values) ||
	    !target_read_u64(w->t, keys + l->dk_nentries, &nentries) ||
	    nentries > max_entries)
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
		char text[DECODE_NAME_MAX];

		if (!target_read_u64(w->t, entries + i * entry_size + key_off,
				     &k) || !k ||
		    !decode_str(&w->dc, k, false, text, sizeof(text), NULL) ||
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

static void module_of_type(struct walk *w, const struct decode_type *ti, char *buf,
			   size_t size)
{
	const char *dot = strrchr(ti->name, '.');
	uint64_t dict, module;

	buf[0] = 0;
	if (ti->flags & TPFLAGS_HEAPTYPE) {
		uint64_t lost = target_lost_reads(w->t);

		// type_new() stores the defining module's name in the class
		// dict (Objects/typeobject.c type_new_set_module).
		if (target_read_u64(w->t, ti->addr + w->l->tp_dict, &dict) &&
		    dict_find_str(w, dict, "__module__", 4096, &module))
			decode_str(&w->dc, module, false, buf, size, NULL);
		// Not in the snapshot: unknown (NULL), not guessed.
		if (target_lost_reads(w->t) != lost)
			buf[0] = 0;
		if (buf[0] || !dot || target_lost_reads(w->t) != lost)
			return;
	}
	// Static types: tp_name is "module.name" or a builtin's bare name.
	if (dot)
		snprintf(buf, size, "%.*s", (int)(dot - ti->name), ti->name);
	else
		snprintf(buf, size, "builtins");
}

void setup_decoders(struct walk *w)
{
	const struct layout *l = w->l;
	const struct decoder *subtype = decoder_named("subtype");
	uint64_t addr, v;

	// The exported type objects, and the tp_traverse of each.
	for (size_t i = 0; i < ndecoders; i++) {
		const struct decoder *r = &decoders[i];

		for (size_t k = 0; k < sizeof(r->types) / sizeof(r->types[0]) &&
		     r->types[k]; k++) {
			if (!target_symbol(w->t, r->types[k], &addr, NULL,
					   NULL) || w->nexact >= MAX_KNOWN)
				continue;
			w->exact[w->nexact].type = addr;
			w->exact[w->nexact++].row = r;
			if (target_read_u64(w->t, addr + l->tp_traverse, &v) &&
			    v && w->ntraverses < MAX_KNOWN &&
			    !row_for_traverse(w, v)) {
				w->traverses[w->ntraverses].traverse = v;
				w->traverses[w->ntraverses++].row = r;
			}
		}
	}
	// The tp_traverse functions known by name (LOCAL symbols, present
	// with .symtab): types that are not exported, or are heap types
	// from 3.12.
	for (size_t i = 0; i < ndecoders; i++) {
		const struct decoder *r = &decoders[i];

		if (r->traverse && target_symbol(w->t, r->traverse, &addr, NULL,
						 NULL) &&
		    w->ntraverses < MAX_KNOWN) {
			if (r == subtype)
				w->subtype_traverse = addr;
			w->traverses[w->ntraverses].traverse = addr;
			w->traverses[w->ntraverses++].row = r;
		}
	}
	target_symbol(w->t, "PyType_Type", &w->type_type, NULL, NULL);
	target_symbol(w->t, "PyUnicode_Type", &w->sym.str_type, NULL, NULL);
	target_symbol(w->t, "PyLong_Type", &w->sym.long_type, NULL, NULL);
	target_symbol(w->t, "_Py_NoneStruct", &w->sym.none, NULL, NULL);
	if (l->dk_lookup >= 0)
		target_symbol(w->t, "lookdict", &w->sym.lookdict, NULL, NULL);
	target_symbol(w->t, "PyType_GenericAlloc", &w->sym.generic_alloc,
		      NULL, NULL);
	if (l->minor <= 9)
		target_symbol(w->t, "atexit_m_traverse",
			      &w->sym.atexit_traverse, NULL, NULL);
	if (target_symbol(w->t, "_PySet_Dummy", &addr, NULL, NULL))
		target_read_u64(w->t, addr, &w->sym.set_dummy);
	// property_descr_get's static cached_args (Objects/descrobject.c,
	// ≤3.7), a local static GCC names cached_args.0, in libpython.
	size_t module;

	if (l->minor <= 7 &&
	    target_symbol(w->t, "cached_args.0", &addr, NULL, &module) &&
	    (long)module == l->module)
		target_read_u64(w->t, addr, &w->sym.property_args);
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
		    type != w->sym.str_type) {
			w->sym.lookdict = lookup;
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
void learn_unexported(struct walk *w)
{
	const struct layout *l = w->l;
	bool need_lookdict = l->dk_lookup >= 0 && !w->sym.lookdict;
	const struct decoder *dict = decoder_named("dict");
	uint64_t dict_type = 0;
	struct {
		uint64_t traverse;
		uint64_t count;
	} seen[256] = { { 0 } };

	if (w->subtype_traverse && !need_lookdict)
		return;
	for (size_t i = 0; i < w->nexact; i++) {
		if (w->exact[i].row == dict && !dict_type)
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
		need_lookdict = l->dk_lookup >= 0 && !w->sym.lookdict;
	}
	if (!w->subtype_traverse) {
		uint64_t best = 0, count = 0;

		for (unsigned k = 0; k < 256; k++) {
			if (seen[k].count > count) {
				best = seen[k].traverse;
				count = seen[k].count;
			}
		}
		if (best && w->ntraverses < MAX_KNOWN &&
		    !row_for_traverse(w, best)) {
			w->subtype_traverse = best;
			w->traverses[w->ntraverses].traverse = best;
			w->traverses[w->ntraverses++].row =
				decoder_named("subtype");
		}
	}
}

