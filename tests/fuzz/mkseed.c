/* SPDX-License-Identifier: MIT */
/*
 * Write the heap fuzz target's seed images (image.h): for each supported
 * version a small, consistent heap laid out with the built-in layout
 * tables — types static and heap, instances with a __dict__ and a slot,
 * list, tuple, dict (str and general keys), set, cell, deque, function,
 * code, module, str, int, float, bytes, gc.garbage, interned strings — and
 * damaged variants of some: a collector list that loops or is broken
 * halfway, a container that holds itself, a huge ob_size, dict keys with
 * bogus sizes, a tp_name without its NUL.
 *
 * It also writes the core fuzz target's seeds: small ELF cores with the
 * notes gcscope reads (NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE naming
 * libc, python3.11 or a FIFO) and two memory segments, whole, without
 * NT_FILE, and truncated.
 *
 *	mkseed DIR
 *
 * The seeds are committed in DIR/heap and DIR/core; the replay in make
 * test checks that each heap seed still yields the walk it was made for.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "cpython/layout.h"
#include "cpython/version.h"

static unsigned char mem[IMAGE_MAX_SIZE];
static uint64_t heap_top;    /* next free offset of the heap */
static uint64_t str_top;     /* next free offset for C strings */
static struct layout L;

/* Objects on the youngest collector list, in order. */
static uint64_t gc_list[64];
static size_t ngc;

#define A(off) (IMAGE_BASE + (off))
#define O(addr) ((addr) - IMAGE_BASE)

static void w64(uint64_t addr, uint64_t v)
{
	memcpy(mem + O(addr), &v, 8);
}

static void w32(uint64_t addr, uint32_t v)
{
	memcpy(mem + O(addr), &v, 4);
}

static void w8(uint64_t addr, uint8_t v)
{
	mem[O(addr)] = v;
}

static uint64_t r64(uint64_t addr)
{
	uint64_t v;

	memcpy(&v, mem + O(addr), 8);
	return v;
}

static void wfield(uint64_t obj, int32_t off, uint64_t v)
{
	if (off >= 0)
		w64(obj + off, v);
}

static uint64_t sym(const char *name)
{
	long off = image_symbol(name);

	if (off < 0) {
		fprintf(stderr, "mkseed: no symbol %s\n", name);
		exit(1);
	}
	return A(off);
}

static uint64_t alloc(uint64_t n)
{
	uint64_t off = heap_top;

	heap_top = (heap_top + n + 15) & ~15ULL;
	if (heap_top > IMAGE_MAX_SIZE) {
		fprintf(stderr, "mkseed: image too big\n");
		exit(1);
	}
	return A(off);
}

static uint64_t cstring(const char *s)
{
	uint64_t off = str_top;
	size_t n = strlen(s) + 1;

	memcpy(mem + off, s, n);
	str_top += n;
	return A(off);
}

static uint64_t refcnt_static(void)
{
	// 3.12+ immortal: the low 32 bits negative.
	return L.immortal_refcnt ? 0xffffffffULL : 1;
}

static void header(uint64_t obj, uint64_t type, uint64_t refcnt)
{
	w64(obj + L.ob_refcnt, refcnt);
	w64(obj + L.ob_type, type);
}

// A tracked object of @p size bytes; @p managed: room for the pre-header.
static uint64_t gc_new(uint64_t type, uint64_t size, uint64_t refcnt,
		       bool managed)
{
	uint64_t pre = L.sizeof_gc_head + (managed ? L.preheader : 0);
	uint64_t obj = alloc(pre + size) + pre;

	header(obj, type, refcnt);
	gc_list[ngc++] = obj;
	return obj;
}

static uint64_t str_new(const char *s)
{
	size_t n = strlen(s);
	uint64_t o = alloc(L.sizeof_str_ascii + n + 1);

	header(o, sym("PyUnicode_Type"), 3);
	w64(o + L.str_length, n);
	// kind 1, compact, ascii; ready (bit 7) before 3.12.
	w32(o + L.str_state, 1 << 2 | 1 << 5 | 1 << 6 |
			     (L.minor < 12 ? 1 << 7 : 0));
	memcpy(mem + O(o + L.sizeof_str_ascii), s, n);
	return o;
}

// A compact str of UCS-2 characters.
static uint64_t str_new_ucs2(const uint16_t *s, size_t n)
{
	uint64_t o = alloc(L.sizeof_str_compact + 2 * (n + 1));

	header(o, sym("PyUnicode_Type"), 1);
	w64(o + L.str_length, n);
	w32(o + L.str_state, 2 << 2 | 1 << 5 | (L.minor < 12 ? 1 << 7 : 0));
	memcpy(mem + O(o + L.sizeof_str_compact), s, 2 * n);
	return o;
}

static uint64_t int_new(int64_t v)
{
	uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
	uint32_t digits[3];
	unsigned n = 0;

	while (m && n < 3) {
		digits[n++] = m & 0x3fffffff;
		m >>= 30;
	}
	uint64_t o = alloc(L.long_digits + 4 * (n ? n : 1));

	header(o, sym("PyLong_Type"), 2);
	if (L.long_tagged)
		w64(o + L.long_tag, (uint64_t)n << 3 | (v < 0 ? 2 : !v));
	else
		w64(o + L.ob_size, v < 0 ? -(int64_t)n : (int64_t)n);
	for (unsigned i = 0; i < n; i++)
		w32(o + L.long_digits + 4 * i, digits[i]);
	return o;
}

static uint64_t float_new(double v)
{
	uint64_t o = alloc(L.float_value + 8), bits;

	header(o, sym("PyFloat_Type"), 1);
	memcpy(&bits, &v, 8);
	w64(o + L.float_value, bits);
	return o;
}

static uint64_t bytes_new(const char *s, size_t n)
{
	uint64_t o = alloc(L.bytes_sval + n + 1);

	header(o, sym("PyBytes_Type"), 1);
	w64(o + L.ob_size, n);
	memcpy(mem + O(o + L.bytes_sval), s, n);
	return o;
}

static uint64_t tuple_new(size_t n, const uint64_t *items)
{
	uint64_t o = gc_new(sym("PyTuple_Type"), L.tuple_items + 8 * n, 2,
			    false);

	w64(o + L.ob_size, n);
	for (size_t i = 0; i < n; i++)
		w64(o + L.tuple_items + 8 * i, items[i]);
	return o;
}

static void list_set(uint64_t list, size_t i, uint64_t v)
{
	w64(r64(list + L.list_items) + 8 * i, v);
}

static uint64_t list_new(size_t n, const uint64_t *items)
{
	uint64_t o = gc_new(sym("PyList_Type"), L.list_items + 16, 2, false);
	uint64_t array = alloc(8 * n);

	w64(o + L.ob_size, n);
	w64(o + L.list_items, array);
	w64(o + L.list_items + 8, n); // allocated
	for (size_t i = 0; i < n; i++)
		w64(array + 8 * i, items[i]);
	return o;
}

/*
 * Entry @p i of a keys object dict_new() made, with the offsets of its key
 * and value: str-only tables have entries without the hash (3.11+).
 */
static uint64_t dict_entry(uint64_t keys, size_t i, int32_t *key_off,
			   int32_t *value_off)
{
	bool unicode = L.dict_log2 && mem[O(keys + L.dk_kind)] == 1;
	uint64_t index_bytes = L.dict_log2 ?
		1ULL << mem[O(keys + L.dk_log2_index_bytes)] :
		r64(keys + L.dk_size); // one byte per index

	*key_off = unicode ? L.dku_key : L.dke_key;
	*value_off = unicode ? L.dku_value : L.dke_value;
	return keys + L.dk_indices + index_bytes +
	       i * (unicode ? L.sizeof_dk_uentry : L.sizeof_dk_entry);
}

static void dict_set(uint64_t dict, size_t i, uint64_t value)
{
	int32_t key_off, value_off;

	w64(dict_entry(r64(dict + L.dict_keys), i, &key_off, &value_off) +
	    value_off, value);
}

/*
 * A combined dict of @p n entries. @p general: keys need not be str
 * (DICT_KEYS_GENERAL 3.11+, lookdict before).
 */
static uint64_t dict_new(size_t n, const uint64_t *keys, const uint64_t *values,
			 bool general)
{
	uint64_t o = gc_new(sym("PyDict_Type"), 48, 2, false);
	size_t size = 8;

	while (size * 2 < n * 3)
		size *= 2;
	uint64_t entry_size = general || !L.dict_log2 ? L.sizeof_dk_entry :
				      L.sizeof_dk_uentry;
	uint64_t index_bytes = size; // one byte per index up to 128
	uint64_t k = alloc(L.dk_indices + index_bytes + entry_size * size);

	w64(k, 1); // dk_refcnt
	if (L.dict_log2) {
		unsigned log2 = 0;

		while ((1u << log2) < size)
			log2++;
		w8(k + L.dk_log2_size, log2);
		w8(k + L.dk_log2_index_bytes, log2);
		w8(k + L.dk_kind, general ? 0 : 1);
	} else {
		w64(k + L.dk_size, size);
		w64(k + L.dk_lookup, general ? sym("lookdict") :
				     sym("lookdict") + 0x100);
	}
	w64(k + L.dk_usable, size * 2 / 3 - n);
	w64(k + L.dk_nentries, n);
	memset(mem + O(k + L.dk_indices), 0xff, index_bytes);
	for (size_t i = 0; i < n; i++) {
		int32_t key_off, value_off;
		uint64_t e = dict_entry(k, i, &key_off, &value_off);

		w8(k + L.dk_indices + (i * 5 + 1) % size, i);
		if (key_off)
			w64(e, 0x1234 + i); // me_hash, before the key
		w64(e + key_off, keys[i]);
		w64(e + value_off, values[i]);
	}
	w64(o + L.dict_used, n);
	w64(o + L.dict_keys, k);
	return o;
}

static uint64_t set_new(size_t n, const uint64_t *keys)
{
	uint64_t o = gc_new(sym("PySet_Type"), 200, 1, false);
	uint64_t table = alloc(8 * L.sizeof_setentry);

	w64(o + L.set_mask, 7);
	w64(o + L.set_table, table);
	for (size_t i = 0; i < n && i < 5; i++) {
		uint64_t e = table + ((i * 3 + 2) & 7) * L.sizeof_setentry;

		w64(e + L.setentry_key, keys[i]);
		w64(e + 8, 0x4321 + i); // hash
	}
	return o;
}

// A static type in its symbol's slot.
static void static_type(const char *name, const char *tp_name,
			int64_t basicsize, int64_t itemsize, uint64_t flags,
			int traverse)
{
	uint64_t t = sym(name);

	header(t, sym("PyType_Type"), refcnt_static());
	w64(t + L.tp_name, cstring(tp_name));
	w64(t + L.tp_basicsize, basicsize);
	w64(t + L.tp_itemsize, itemsize);
	w64(t + L.tp_flags, flags | 1UL << 12 /* READY */);
	if (traverse)
		w64(t + L.tp_traverse, A(IMAGE_FUNCS + 0x100 + 0x10 * traverse));
	if (strcmp(name, "PyBaseObject_Type"))
		wfield(t, L.tp_base, sym("PyBaseObject_Type"));
}

static void static_types(void)
{
	const uint64_t gc = TPFLAGS_HAVE_GC, base = 1UL << 10;
	int k = 1;

	static_type("PyType_Type", "type", L.sizeof_heaptype, L.sizeof_member,
		    gc | base | TPFLAGS_TYPE_SUBCLASS, k++);
	static_type("PyBaseObject_Type", "object", L.sizeof_object, 0, base,
		    0);
	static_type("PyTuple_Type", "tuple", L.tuple_items, 8,
		    gc | base | TPFLAGS_TUPLE_SUBCLASS, k++);
	static_type("PyList_Type", "list", L.list_items + 16, 0,
		    gc | base | TPFLAGS_LIST_SUBCLASS, k++);
	static_type("PyDict_Type", "dict", 48, 0,
		    gc | base | TPFLAGS_DICT_SUBCLASS, k++);
	static_type("PySet_Type", "set", 200, 0, gc | base, k++);
	static_type("PyFrozenSet_Type", "frozenset", 200, 0, gc | base, k++);
	static_type("PyUnicode_Type", "str", L.sizeof_str_compact + 8, 0,
		    base | TPFLAGS_UNICODE_SUBCLASS, 0);
	static_type("PyLong_Type", "int", L.long_digits, 4,
		    base | TPFLAGS_LONG_SUBCLASS, 0);
	static_type("PyBool_Type", "bool", L.long_digits, 4,
		    TPFLAGS_LONG_SUBCLASS, 0);
	static_type("PyFloat_Type", "float", L.float_value + 8, 0, base, 0);
	static_type("PyBytes_Type", "bytes", L.bytes_sval + 1, 1,
		    base | TPFLAGS_BYTES_SUBCLASS, 0);
	static_type("_PyNone_Type", "NoneType", L.sizeof_object, 0, 0, 0);
	static_type("PyCell_Type", "cell", L.cell_ref + 8, 0, gc, k++);
	static_type("PyFunction_Type", "function", 160, 0, gc, k++);
	static_type("PyCode_Type", "code", 200, 0, 0, 0);
	static_type("PyModule_Type", "module", 72, 0, gc | base, k++);
	static_type("_PyExc_BaseException", "BaseException", 88, 0,
		    gc | base | TPFLAGS_BASE_EXC_SUBCLASS, k++);
	header(sym("_Py_NoneStruct"), sym("_PyNone_Type"), refcnt_static());
}

// A heap type: instances have a __dict__ (managed from 3.11 if asked) and
// a slot.
static uint64_t heap_type(const char *name, uint64_t module_str,
			  bool managed, uint64_t *name_ret)
{
	uint64_t t = gc_new(sym("PyType_Type"),
			    L.sizeof_heaptype + 2 * L.sizeof_member, 4, false);
	uint64_t members = t + L.sizeof_heaptype;
	uint64_t flags = TPFLAGS_HEAPTYPE | TPFLAGS_HAVE_GC | 1UL << 10 |
			 1UL << 12;
	uint64_t name_str = str_new(name);

	if (managed && L.managed_dict)
		flags |= TPFLAGS_MANAGED_DICT;
	w64(t + L.tp_name, name_str + L.sizeof_str_ascii);
	w64(t + L.tp_basicsize, managed && L.managed_dict ? 24 : 40);
	w64(t + L.tp_flags, flags);
	w64(t + L.tp_traverse, sym("subtype_traverse"));
	w64(t + L.tp_base, sym("PyBaseObject_Type"));
	if (managed && L.managed_dict) {
		w64(t + L.tp_dictoffset, -1);
		w64(members + L.member_offset, 16);
	} else {
		w64(t + L.tp_dictoffset, 16);
		w64(t + L.tp_weaklistoffset, 32);
		w64(members + L.member_offset, 24);
	}
	w64(members + L.member_name, cstring("slot"));
	w32(members + L.member_type, MEMBER_T_OBJECT_EX);
	wfield(t, L.tp_members, members);
	wfield(t, L.ht_name, name_str);
	wfield(t, L.ht_qualname, name_str);
	uint64_t bases1[] = { sym("PyBaseObject_Type") };
	uint64_t mro[] = { t, sym("PyBaseObject_Type") };

	wfield(t, L.tp_bases, tuple_new(1, bases1));
	wfield(t, L.tp_mro, tuple_new(2, mro));
	uint64_t keys[] = { str_new("__module__"), str_new("__doc__") };
	uint64_t values[] = { module_str, sym("_Py_NoneStruct") };

	wfield(t, L.tp_dict, dict_new(2, keys, values, false));
	*name_ret = name_str;
	return t;
}

static uint64_t instance_new(uint64_t type, bool managed, uint64_t dict,
			     uint64_t slot)
{
	managed = managed && L.managed_dict;
	uint64_t o = gc_new(type, managed ? 24 : 40, 2, managed);

	if (managed) {
		w64(o - L.sizeof_gc_head - 8, dict);
		w64(o + 16, slot);
	} else {
		w64(o + 16, dict);
		w64(o + 24, slot);
	}
	return o;
}

// Link the youngest list through gc_list; the others empty.
static void link_lists(uint64_t gc_state, uint64_t statics)
{
	for (int g = 0; g < 4; g++) {
		uint64_t head;

		if (statics)
			head = statics + g * L.sizeof_gc_generation + L.gen_head;
		else if (g < 3)
			head = gc_state + L.gc_generations +
			       g * L.sizeof_gc_generation + L.gen_head;
		else if (L.gc_permanent >= 0)
			head = gc_state + L.gc_permanent + L.gen_head;
		else
			continue;
		if (statics && g == 3)
			continue;
		w64(head + L.gchead_next, head);
		w64(head + L.gchead_prev, head);
		if (g || !ngc)
			continue;
		uint64_t prev = head;

		for (size_t i = 0; i < ngc; i++) {
			uint64_t h = gc_list[i] - L.sizeof_gc_head;

			w64(prev + L.gchead_next, h);
			w64(h + L.gchead_prev, prev);
			if (L.gchead_refs >= 0)
				w64(h + L.gchead_refs, -3ULL << 1);
			prev = h;
		}
		w64(prev + L.gchead_next, head);
		w64(head + L.gchead_prev, prev);
	}
}

struct damage {
	const char *name;
	void (*apply)(void);
};

static uint64_t the_list, the_dict, the_type, the_tuple;

// The last object's next is the second: a loop that misses the head.
static void damage_loop(void)
{
	w64(gc_list[ngc - 1] - L.sizeof_gc_head + L.gchead_next,
	    gc_list[1] - L.sizeof_gc_head);
}

// A wild _gc_next in the middle of the list: the rest is found from the
// head backwards.
static void damage_break(void)
{
	w64(gc_list[ngc / 2] - L.sizeof_gc_head + L.gchead_next,
	    0xdead0000ULL);
}

// The list holds itself at every index, and claims 2^60 of them.
static void damage_huge(void)
{
	w64(the_list + L.ob_size, 1ULL << 60);
	w64(the_tuple + L.ob_size, -5ULL);
}

// The dict's keys object: bogus sizes, and the dict is its own keys.
static void damage_keys(void)
{
	uint64_t keys = r64(the_dict + L.dict_keys);

	if (L.dict_log2) {
		w8(keys + L.dk_log2_size, 63);
		w8(keys + L.dk_log2_index_bytes, 39);
	} else {
		w64(keys + L.dk_size, 1ULL << 39);
	}
	w64(keys + L.dk_nentries, -1ULL);
	w64(the_dict + L.dict_used, 1ULL << 62);
	w64(the_dict + L.dict_values, the_dict);
}

// tp_name runs to the end of memory without a NUL.
static void damage_name(void)
{
	memset(mem + heap_top, 'A', 256);
	w64(the_type + L.tp_name, A(heap_top));
	heap_top += 256;
}

static const struct damage damages[] = {
	{ "", NULL },
	{ "-loop", damage_loop },
	{ "-break", damage_break },
	{ "-huge", damage_huge },
	{ "-keys", damage_keys },
	{ "-name", damage_name },
};

static int write_image(const char *path, unsigned minor, uint64_t size)
{
	FILE *f = fopen(path, "wb");
	unsigned char h[IMAGE_HEADER_SIZE] = { 'G', 'C', 'S', 'I', minor };

	if (!f) {
		fprintf(stderr, "mkseed: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memcpy(h + 8, &(uint32_t){ size }, 4);
	fwrite(h, 1, sizeof(h), f);
	// Runs of non-zero bytes, gaps under 16 bytes merged.
	for (uint64_t i = 0; i < size;) {
		if (!mem[i]) {
			i++;
			continue;
		}
		uint64_t end = i, last = i;

		while (end < size && end - i < 65535 && end - last < 16) {
			if (mem[end])
				last = end;
			end++;
		}
		uint32_t off = i;
		uint16_t len = last + 1 - i;

		fwrite(&off, 4, 1, f);
		fwrite(&len, 2, 1, f);
		fwrite(mem + i, 1, len, f);
		i = last + 1;
	}
	return fclose(f) ? -1 : 0;
}

static int make(const char *dir, unsigned minor, const struct damage *d)
{
	struct err *err = layout_builtin(&L, minor);

	if (err) {
		fprintf(stderr, "mkseed: %s\n", err->message);
		return -1;
	}
	memset(mem, 0, sizeof(mem));
	heap_top = IMAGE_MODULE_END;
	str_top = IMAGE_FUNCS + 0x8000;
	ngc = 0;
	static_types();

	// Version, the way each release tells it.
	if (minor >= 11)
		w64(sym("Py_Version"), 0x030000f0 | minor << 16 | 1 << 8);
	else
		cstring("\0003.%u.1 (default, fuzz) [mkseed]");
	char version[48];

	snprintf(version, sizeof(version), "3.%u.1 (default, fuzz) [gcc]",
		 minor);
	str_top++;
	cstring(version);

	// The runtime, the interpreter and its collector state.
	uint64_t runtime = A(IMAGE_RUNTIME), interp, gc_state = 0, statics = 0;

	if (minor == 6) {
		interp = alloc(L.sizeof_interp);
		statics = A(IMAGE_VARS + 0x400);
		w64(sym("_PyGC_generation0"), statics);
		w64(sym("interp_head"), interp);
	} else {
		interp = L.interp_main_offset > 0 ?
				 runtime + L.interp_main_offset :
				 alloc(L.sizeof_interp);
		w64(runtime + L.rt_interpreters_head, interp);
		gc_state = L.interp_gc >= 0 ? interp + L.interp_gc :
					      runtime + L.rt_gc;
	}

	// The heap.
	uint64_t module_str = str_new("leaky"), leaky_name, node_name;

	the_type = heap_type("Leaky", module_str, false, &leaky_name);
	uint64_t node = heap_type("Node", module_str, true, &node_name);
	uint16_t ucs2[] = { 0x3b1, 0x3b2, 'x', 0x20ac };
	uint64_t k_peer = str_new("peer"), k_name = str_new("name");
	uint64_t a_dict_keys[] = { k_peer, k_name };
	uint64_t b_dict_keys[] = { k_peer };
	uint64_t a_dict_values[] = { 0 /* b, below */, str_new("a") };
	uint64_t a_dict = dict_new(2, a_dict_keys, a_dict_values, false);
	uint64_t a = instance_new(the_type, false, a_dict, int_new(-7));
	uint64_t b_dict_values[] = { a };
	uint64_t b_dict = dict_new(1, b_dict_keys, b_dict_values, false);
	uint64_t b = instance_new(node, true, b_dict, str_new_ucs2(ucs2, 4));

	dict_set(a_dict, 0, b); // a.peer = b: a cycle through two dicts
	uint64_t items[] = { a, 0 /* the tuple */, int_new(42),
			     int_new(1LL << 62), float_new(2.5),
			     bytes_new("by\0tes", 6), sym("_Py_NoneStruct"),
			     0 /* the list itself */ };

	the_list = list_new(8, items);
	uint64_t pair[] = { str_new("x"), the_list };

	the_tuple = tuple_new(2, pair);
	list_set(the_list, 1, the_tuple);
	list_set(the_list, 7, the_list);
	uint64_t g_keys[] = { int_new(1), the_tuple };
	uint64_t g_values[] = { the_tuple, float_new(-0.0) };

	the_dict = dict_new(2, g_keys, g_values, true);
	uint64_t s_keys[] = { str_new("k"), int_new(7), the_tuple };

	set_new(3, s_keys);
	uint64_t cell = gc_new(sym("PyCell_Type"), L.cell_ref + 8, 1, false);

	w64(cell + L.cell_ref, the_list);

	// A deque of two items, its type not a symbol: found by tp_traverse.
	uint64_t dq_type = alloc(IMAGE_TYPE_SLOT);

	header(dq_type, sym("PyType_Type"), refcnt_static());
	w64(dq_type + L.tp_name, cstring("collections.deque"));
	w64(dq_type + L.tp_basicsize, 96);
	w64(dq_type + L.tp_flags, TPFLAGS_HAVE_GC | 1UL << 10 | 1UL << 12);
	w64(dq_type + L.tp_traverse, sym("deque_traverse"));
	w64(dq_type + L.tp_base, sym("PyBaseObject_Type"));
	uint64_t dq = gc_new(dq_type, 96, 1, false);
	uint64_t block = alloc(L.dblock_rightlink + 8);

	w64(dq + L.ob_size, 2);
	w64(dq + L.deque_leftblock, block);
	w64(dq + L.deque_leftindex, 31);
	w64(block + L.dblock_data + 31 * 8, a);
	w64(block + L.dblock_data + 32 * 8, the_dict);

	// A module whose globals hold the list; a function and its code.
	uint64_t g_dict_keys[] = { str_new("L"), str_new("__name__") };
	uint64_t g_dict_values[] = { the_list, module_str };
	uint64_t globals = dict_new(2, g_dict_keys, g_dict_values, false);
	uint64_t module = gc_new(sym("PyModule_Type"), 72, 2, false);

	wfield(module, L.module_dict, globals);
	wfield(module, L.module_name, module_str);
	uint64_t code = alloc(200);
	uint64_t consts[] = { sym("_Py_NoneStruct"), int_new(3) };

	header(code, sym("PyCode_Type"), 2);
	wfield(code, L.code_consts, tuple_new(2, consts));
	wfield(code, L.code_names, tuple_new(1, &g_dict_keys[0]));
	wfield(code, L.code_filename, str_new("leaky.py"));
	wfield(code, L.code_name, str_new("f"));
	wfield(code, L.code_qualname, str_new("f"));
	uint64_t func = gc_new(sym("PyFunction_Type"), 160, 2, false);

	wfield(func, L.func_code, code);
	wfield(func, L.func_globals, globals);
	wfield(func, L.func_name, str_new("f"));
	wfield(func, L.func_qualname, str_new("f"));
	uint64_t exc = gc_new(sym("_PyExc_BaseException"), 88, 1, false);

	wfield(exc, L.exc_args, the_tuple);
	wfield(exc, L.exc_context, exc); // its own context

	// The interpreter: sys.modules, gc.garbage, interned strings.
	uint64_t m_keys[] = { module_str };
	uint64_t m_values[] = { module };
	uint64_t modules = dict_new(1, m_keys, m_values, false);
	uint64_t garbage = list_new(1, &a);
	uint64_t i_keys[] = { k_peer, k_name };
	uint64_t interned = dict_new(2, i_keys, i_keys, false);

	wfield(interp, L.interp_modules, modules);
	wfield(interp, L.interp_sysdict, globals);
	if (statics)
		w64(sym("garbage"), garbage);
	else
		wfield(gc_state, L.gc_garbage, garbage);
	if (L.interp_interned >= 0)
		w64(interp + L.interp_interned, interned);
	else
		w64(sym("interned"), interned);

	link_lists(gc_state, statics);
	if (d->apply)
		d->apply();

	char path[4096];

	snprintf(path, sizeof(path), "%s/heap/3.%u%s.img", dir, minor, d->name);
	return write_image(path, minor, heap_top);
}

/* ---- cores ------------------------------------------------------------ */

/* A file fifo.core names; test_fuzz makes it a FIFO, which opened would
 * block. */
#define FIFO_PATH "/tmp/gcscope-fuzz.fifo"

struct buf {
	unsigned char data[16384];
	size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void note(struct buf *b, uint32_t type, const void *desc, size_t n)
{
	Elf64_Nhdr nh = { .n_namesz = 5, .n_descsz = n, .n_type = type };
	static const unsigned char zero[4];

	put(b, &nh, sizeof(nh));
	put(b, "CORE\0\0\0", 8);
	put(b, desc, n);
	put(b, zero, (4 - n % 4) % 4);
}

static int write_core(const char *dir, const char *name, bool file_note,
		      size_t cut, const char *libc)
{
	struct buf notes = { .len = 0 }, core = { .len = 0 };
	unsigned char prstatus[336] = { 0 }, prpsinfo[136] = { 0 };
	uint64_t auxv[] = { AT_PAGESZ, 4096, AT_PHDR, 0x400040, AT_ENTRY,
			    0x401000, AT_NULL, 0 };
	const uint64_t seg[2] = { 0x400000, 0x7f0000000000 };
	const size_t seg_size = 512;

	memcpy(prstatus + 32, &(uint32_t){ 4242 }, 4); // pr_pid
	memcpy(prpsinfo + 40, "python3", 8);           // pr_fname
	note(&notes, NT_PRSTATUS, prstatus, sizeof(prstatus));
	note(&notes, NT_PRPSINFO, prpsinfo, sizeof(prpsinfo));
	note(&notes, NT_AUXV, auxv, sizeof(auxv));
	if (file_note) {
		unsigned char d[256];
		size_t n = 0;
		uint64_t head[] = { 1, 4096, seg[1], seg[1] + 0x1000, 0 };

		memcpy(d, head, sizeof(head));
		n = sizeof(head);
		memcpy(d + n, libc, strlen(libc) + 1);
		n += strlen(libc) + 1;
		note(&notes, NT_FILE, d, n);
	}
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE },
		.e_type = ET_CORE,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 3,
	};
	uint64_t off = sizeof(eh) + 3 * sizeof(Elf64_Phdr);
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_NOTE, .p_offset = off, .p_filesz = notes.len,
		  .p_align = 4 },
	};

	off += notes.len;
	for (int i = 0; i < 2; i++) {
		ph[1 + i] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = PF_R | PF_W,
			.p_offset = off, .p_vaddr = seg[i],
			.p_filesz = seg_size, .p_memsz = 0x1000,
			.p_align = 4096,
		};
		off += seg_size;
	}
	put(&core, &eh, sizeof(eh));
	put(&core, ph, sizeof(ph));
	put(&core, notes.data, notes.len);
	for (int i = 0; i < 2; i++) {
		unsigned char data[512];

		// Words that look like pointers into both segments.
		for (size_t k = 0; k < sizeof(data); k += 8) {
			uint64_t v = seg[(k / 8) & 1] + k * 8;

			memcpy(data + k, &v, 8);
		}
		put(&core, data, sizeof(data));
	}
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/core/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "mkseed: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fwrite(core.data, 1, cut && cut < core.len ? cut : core.len, f);
	return fclose(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseed DIR\n");
		return 2;
	}
	for (size_t v = 0; v < cpython_nversions; v++) {
		unsigned minor = cpython_versions[v]->minor;

		for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]);
		     i++) {
			// Damaged variants of an old and a new layout.
			if (i && minor != 8 && minor != 12)
				continue;
			if (make(argv[1], minor, &damages[i]))
				return 1;
		}
	}
	static const char libc[] = "/usr/lib/x86_64-linux-gnu/libc.so.6";

	if (write_core(argv[1], "small.core", true, 0, libc) ||
	    write_core(argv[1], "no-file-note.core", false, 0, libc) ||
	    write_core(argv[1], "truncated.core", true, 700, libc) ||
	    write_core(argv[1], "python.core", true, 0, "/usr/bin/python3.11") ||
	    write_core(argv[1], "fifo.core", true, 0, FIFO_PATH))
		return 1;
	return 0;
}
