/* SPDX-License-Identifier: MIT */
/* Memory images for the heap fuzz target and the decoder tests: see
 * image.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "cpython/layout.h"

/* Static types, one IMAGE_TYPE_SLOT each: those the walker knows by name. */
static const char *const type_names[] = {
	"PyType_Type", "PyBaseObject_Type", "PyTuple_Type", "PyList_Type",
	"PyDict_Type", "PySet_Type", "PyFrozenSet_Type", "PyUnicode_Type",
	"PyLong_Type", "PyBool_Type", "PyFloat_Type", "PyBytes_Type",
	"PyComplex_Type", "_PyNone_Type", "_PyNotImplemented_Type",
	"PyEllipsis_Type", "PyCell_Type", "PyMethod_Type", "PyCFunction_Type",
	"PyCMethod_Type", "PyClassMethod_Type", "PyStaticMethod_Type",
	"PyProperty_Type", "PyFunction_Type", "PyCode_Type", "PyModule_Type",
	"_PyWeakref_RefType", "_PyWeakref_ProxyType",
	"_PyWeakref_CallableProxyType", "PyFrame_Type", "PyGen_Type",
	"PyCoro_Type", "PyAsyncGen_Type", "PyTraceBack_Type",
	"_PyExc_BaseException", "PyODict_Type", "PyMethodDescr_Type",
	"PyClassMethodDescr_Type", "PyGetSetDescr_Type", "PyMemberDescr_Type",
	"PyWrapperDescr_Type", "PySlice_Type", "_PyManagedBuffer_Type",
	"PyMemoryView_Type", "PyEnum_Type",
	/* objects that are not types, in type-sized slots */
	"_Py_NoneStruct",
	/* types added since, after it: the corpus's addresses stay */
	"PyModuleDef_Type",
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

/* Variables, 0x40 apart from IMAGE_VARS. */
static const char *const var_names[] = {
	"Py_Version", "_PySet_Dummy", "_PyGC_generation0", "interp_head",
	"garbage", "interned",
};
#define NVARS (sizeof(var_names) / sizeof(var_names[0]))

/* Functions, 0x10 apart from IMAGE_FUNCS, below IMAGE_FUNCS + 0x800 where
 * the static types' own traverse functions start. */
static const char *const func_names[] = {
	"subtype_traverse", "deque_traverse", "odict_traverse", "lookdict",
	"PyType_GenericAlloc", "partial_traverse", "lru_cache_tp_traverse",
	"defdict_traverse", "local_traverse", "element_gc_traverse",
	"typevar_traverse", "paramspec_traverse", "typevartuple_traverse",
	"paramspecattr_traverse", "typealias_traverse", "FutureObj_traverse",
	"Pickler_traverse", "UnpicklerMemoProxy_traverse", "PyCData_traverse",
	"PyCFuncPtr_traverse", "PyCArg_traverse", "iobase_traverse",
	"bytesio_traverse", "buffered_traverse", "textiowrapper_traverse",
	"itemgetter_traverse", "odictiter_traverse", "dictview_traverse",
	"contextvar_tp_traverse", "ga_traverse",
	"groupby_traverse", "teedataobject_traverse",
	"CDataType_traverse", "CType_Type_traverse",
};
#define NFUNCS (sizeof(func_names) / sizeof(func_names[0]))
_Static_assert(NFUNCS * 0x10 <= 0x800, "too many image functions");

#define NSYMBOLS (NTYPES + NVARS + NFUNCS + 1)

const struct target_image_symbol *image_symbols(unsigned minor, size_t *n)
{
	static struct target_image_symbol syms[NSYMBOLS];
	size_t k = 0;

	for (size_t i = 0; i < NTYPES; i++)
		syms[k++] = (struct target_image_symbol){
			type_names[i], IMAGE_BASE + i * IMAGE_TYPE_SLOT,
			IMAGE_TYPE_SLOT };
	for (size_t i = 0; i < NVARS; i++)
		syms[k++] = (struct target_image_symbol){
			var_names[i], IMAGE_BASE + IMAGE_VARS + i * 0x40, 8 };
	for (size_t i = 0; i < NFUNCS; i++)
		syms[k++] = (struct target_image_symbol){
			func_names[i], IMAGE_BASE + IMAGE_FUNCS + i * 0x10,
			0x10 };
	if (minor != 6)
		syms[k++] = (struct target_image_symbol){
			"_PyRuntime", IMAGE_BASE + IMAGE_RUNTIME, 0 };
	*n = k;
	return syms;
}

long image_symbol(const char *name)
{
	size_t n;
	const struct target_image_symbol *syms = image_symbols(7, &n);

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(syms[i].name, name))
			return (long)(syms[i].addr - IMAGE_BASE);
	}
	return -1;
}

static uint32_t u32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

// The target of an image whose memory is read: the module and its
// segments around the hole.
static void image_setup(struct image *im, uint64_t hole, uint64_t hole_len)
{
	size_t nsegs = 0;

	if (hole)
		im->segs[nsegs++] = (struct target_image_segment){
			IMAGE_BASE, hole, im->mem };
	if (hole + hole_len < im->size)
		im->segs[nsegs++] = (struct target_image_segment){
			IMAGE_BASE + hole + hole_len,
			im->size - hole - hole_len, im->mem + hole + hole_len };
	snprintf(im->module_name, sizeof(im->module_name),
		 "libpython3.%u.so.1.0", im->minor);
	im->target = (struct target_image){
		.module_name = im->module_name,
		.module_start = IMAGE_BASE,
		.module_end = IMAGE_BASE + IMAGE_MODULE_END,
		.segments = im->segs,
		.nsegments = nsegs,
	};
	im->target.symbols = image_symbols(im->minor, &im->target.nsymbols);
}

int image_parse(struct image *im, const uint8_t *data, size_t size)
{
	memset(im, 0, sizeof(*im));
	if (size < IMAGE_HEADER_SIZE || memcmp(data, "GCSI", 4))
		return -1;
	im->minor = data[4];
	im->size = u32(data + 8);
	if (im->size > IMAGE_MAX_SIZE)
		im->size = IMAGE_MAX_SIZE;
	uint64_t hole = u32(data + 12), hole_len = u32(data + 16);

	if (hole > im->size)
		hole = im->size;
	if (hole_len > im->size - hole)
		hole_len = im->size - hole;
	// One more byte so that an empty image still allocates.
	im->mem = calloc(1, im->size + 1);
	if (!im->mem)
		return -1;
	size_t pos = IMAGE_HEADER_SIZE;

	while (pos + 6 <= size) {
		uint64_t off = u32(data + pos);
		size_t len = data[pos + 4] | data[pos + 5] << 8;

		pos += 6;
		if (len > size - pos)
			len = size - pos;
		if (off < im->size)
			memcpy(im->mem + off, data + pos,
			       len < im->size - off ? len : im->size - off);
		pos += len;
	}
	image_setup(im, hole, hole_len);
	return 0;
}

void image_deinit(struct image *im)
{
	free(im->mem);
	memset(im, 0, sizeof(*im));
}

/* ---- writing images ---------------------------------------------------- */

unsigned char image_mem[IMAGE_MAX_SIZE];
uint64_t image_heap_top;
struct layout image_layout;
uint64_t image_gc_list[IMAGE_MAX_GC];
size_t image_ngc;
static uint64_t str_top;     /* next free offset for C strings */

#define L image_layout
#define A(off) (IMAGE_BASE + (off))
#define O(addr) ((addr) - IMAGE_BASE)

void image_w64(uint64_t addr, uint64_t v)
{
	memcpy(image_mem + O(addr), &v, 8);
}

void image_w32(uint64_t addr, uint32_t v)
{
	memcpy(image_mem + O(addr), &v, 4);
}

void image_w8(uint64_t addr, uint8_t v)
{
	image_mem[O(addr)] = v;
}

uint64_t image_r64(uint64_t addr)
{
	uint64_t v;

	memcpy(&v, image_mem + O(addr), 8);
	return v;
}

void image_wfield(uint64_t obj, int32_t off, uint64_t v)
{
	if (off >= 0)
		image_w64(obj + off, v);
}

uint64_t image_sym(const char *name)
{
	long off = image_symbol(name);

	if (off < 0) {
		fprintf(stderr, "image: no symbol %s\n", name);
		exit(1);
	}
	return A(off);
}

uint64_t image_alloc(uint64_t n)
{
	uint64_t off = image_heap_top;

	image_heap_top = (image_heap_top + n + 15) & ~15ULL;
	if (image_heap_top > IMAGE_MAX_SIZE) {
		fprintf(stderr, "image: image too big\n");
		exit(1);
	}
	return A(off);
}

uint64_t image_cstring(const char *s)
{
	uint64_t off = str_top;
	size_t n = strlen(s) + 1;

	memcpy(image_mem + off, s, n);
	str_top += n;
	return A(off);
}

uint64_t image_refcnt_static(void)
{
	// 3.12+ immortal: the low 32 bits negative.
	return L.immortal_refcnt ? 0xffffffffULL : 1;
}

void image_header(uint64_t obj, uint64_t type, uint64_t refcnt)
{
	image_w64(obj + L.ob_refcnt, refcnt);
	image_w64(obj + L.ob_type, type);
}

// A tracked object of @p size bytes; @p managed: room for the pre-image_header.
uint64_t image_gc_new(uint64_t type, uint64_t size, uint64_t refcnt,
		       bool managed)
{
	uint64_t pre = L.sizeof_gc_head + (managed ? L.preheader : 0);
	uint64_t obj = image_alloc(pre + size) + pre;

	image_header(obj, type, refcnt);
	if (image_ngc < IMAGE_MAX_GC)
		image_gc_list[image_ngc++] = obj;
	return obj;
}

uint64_t image_str(const char *s)
{
	size_t n = strlen(s);
	uint64_t o = image_alloc(L.sizeof_str_ascii + n + 1);

	image_header(o, image_sym("PyUnicode_Type"), 3);
	image_w64(o + L.str_length, n);
	// kind 1, compact, ascii; ready (bit 7) before 3.12.
	image_w32(o + L.str_state, 1 << 2 | 1 << 5 | 1 << 6 |
			     (L.minor < 12 ? 1 << 7 : 0));
	memcpy(image_mem + O(o + L.sizeof_str_ascii), s, n);
	return o;
}

// A compact str of UCS-2 characters.
uint64_t image_str_ucs2(const uint16_t *s, size_t n)
{
	uint64_t o = image_alloc(L.sizeof_str_compact + 2 * (n + 1));

	image_header(o, image_sym("PyUnicode_Type"), 1);
	image_w64(o + L.str_length, n);
	image_w32(o + L.str_state, 2 << 2 | 1 << 5 | (L.minor < 12 ? 1 << 7 : 0));
	memcpy(image_mem + O(o + L.sizeof_str_compact), s, 2 * n);
	return o;
}

uint64_t image_int(int64_t v)
{
	uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
	uint32_t digits[3];
	unsigned n = 0;

	while (m && n < 3) {
		digits[n++] = m & 0x3fffffff;
		m >>= 30;
	}
	uint64_t o = image_alloc(L.long_digits + 4 * (n ? n : 1));

	image_header(o, image_sym("PyLong_Type"), 2);
	if (L.long_tagged)
		image_w64(o + L.long_tag, (uint64_t)n << 3 | (v < 0 ? 2 : !v));
	else
		image_w64(o + L.ob_size, v < 0 ? -(int64_t)n : (int64_t)n);
	for (unsigned i = 0; i < n; i++)
		image_w32(o + L.long_digits + 4 * i, digits[i]);
	return o;
}

uint64_t image_float(double v)
{
	uint64_t o = image_alloc(L.float_value + 8), bits;

	image_header(o, image_sym("PyFloat_Type"), 1);
	memcpy(&bits, &v, 8);
	image_w64(o + L.float_value, bits);
	return o;
}

uint64_t image_bytes(const char *s, size_t n)
{
	uint64_t o = image_alloc(L.bytes_sval + n + 1);

	image_header(o, image_sym("PyBytes_Type"), 1);
	image_w64(o + L.ob_size, n);
	memcpy(image_mem + O(o + L.bytes_sval), s, n);
	return o;
}

uint64_t image_tuple(size_t n, const uint64_t *items)
{
	uint64_t o = image_gc_new(image_sym("PyTuple_Type"),
				  L.tuple_items + 8 * n, 2,
			    false);

	image_w64(o + L.ob_size, n);
	for (size_t i = 0; i < n; i++)
		image_w64(o + L.tuple_items + 8 * i, items[i]);
	return o;
}

void image_list_set(uint64_t list, size_t i, uint64_t v)
{
	image_w64(image_r64(list + L.list_items) + 8 * i, v);
}

uint64_t image_list(size_t n, const uint64_t *items)
{
	uint64_t o = image_gc_new(image_sym("PyList_Type"), L.list_items + 16,
				  2, false);
	uint64_t array = image_alloc(8 * n);

	image_w64(o + L.ob_size, n);
	image_w64(o + L.list_items, array);
	image_w64(o + L.list_items + 8, n); // allocated
	for (size_t i = 0; i < n; i++)
		image_w64(array + 8 * i, items[i]);
	return o;
}

/*
 * Entry @p i of a keys object image_dict() made, with the offsets of its key
 * and value: str-only tables have entries without the hash (3.11+).
 */
static uint64_t dict_entry(uint64_t keys, size_t i, int32_t *key_off,
			   int32_t *value_off)
{
	bool unicode = L.dict_log2 && image_mem[O(keys + L.dk_kind)] == 1;
	uint64_t index_bytes = L.dict_log2 ?
		1ULL << image_mem[O(keys + L.dk_log2_index_bytes)] :
		image_r64(keys + L.dk_size); // one byte per index

	*key_off = unicode ? L.dku_key : L.dke_key;
	*value_off = unicode ? L.dku_value : L.dke_value;
	return keys + L.dk_indices + index_bytes +
	       i * (unicode ? L.sizeof_dk_uentry : L.sizeof_dk_entry);
}

void image_dict_set(uint64_t dict, size_t i, uint64_t value)
{
	int32_t key_off, value_off;

	image_w64(dict_entry(image_r64(dict + L.dict_keys), i, &key_off,
			     &value_off) +
	    value_off, value);
}

/*
 * A combined dict of @p n entries. @p general: keys need not be str
 * (DICT_KEYS_GENERAL 3.11+, lookdict before).
 */
uint64_t image_dict(size_t n, const uint64_t *keys, const uint64_t *values,
			 bool general)
{
	uint64_t o = image_gc_new(image_sym("PyDict_Type"), 48, 2, false);
	size_t size = 8;

	while (size * 2 < n * 3)
		size *= 2;
	uint64_t entry_size = general || !L.dict_log2 ? L.sizeof_dk_entry :
				      L.sizeof_dk_uentry;
	uint64_t index_bytes = size; // one byte per index up to 128
	uint64_t k = image_alloc(L.dk_indices + index_bytes + entry_size * size);

	image_w64(k, 1); // dk_refcnt
	if (L.dict_log2) {
		unsigned log2 = 0;

		while ((1u << log2) < size)
			log2++;
		image_w8(k + L.dk_log2_size, log2);
		image_w8(k + L.dk_log2_index_bytes, log2);
		image_w8(k + L.dk_kind, general ? 0 : 1);
	} else {
		image_w64(k + L.dk_size, size);
		image_w64(k + L.dk_lookup, general ? image_sym("lookdict") :
				     image_sym("lookdict") + 0x100);
	}
	image_w64(k + L.dk_usable, size * 2 / 3 - n);
	image_w64(k + L.dk_nentries, n);
	memset(image_mem + O(k + L.dk_indices), 0xff, index_bytes);
	for (size_t i = 0; i < n; i++) {
		int32_t key_off, value_off;
		uint64_t e = dict_entry(k, i, &key_off, &value_off);

		image_w8(k + L.dk_indices + (i * 5 + 1) % size, i);
		if (key_off)
			image_w64(e, 0x1234 + i); // me_hash, before the key
		image_w64(e + key_off, keys[i]);
		image_w64(e + value_off, values[i]);
	}
	image_w64(o + L.dict_used, n);
	image_w64(o + L.dict_keys, k);
	return o;
}

uint64_t image_set(size_t n, const uint64_t *keys)
{
	uint64_t o = image_gc_new(image_sym("PySet_Type"), 200, 1, false);
	uint64_t table = image_alloc(8 * L.sizeof_setentry);

	image_w64(o + L.set_mask, 7);
	image_w64(o + L.set_table, table);
	for (size_t i = 0; i < n && i < 5; i++) {
		uint64_t e = table + ((i * 3 + 2) & 7) * L.sizeof_setentry;

		image_w64(e + L.setentry_key, keys[i]);
		image_w64(e + 8, 0x4321 + i); // hash
	}
	return o;
}

// A static type in its symbol's slot.
void image_static_type(const char *name, const char *tp_name,
			int64_t basicsize, int64_t itemsize, uint64_t flags,
			int traverse)
{
	uint64_t t = image_sym(name);

	image_header(t, image_sym("PyType_Type"), image_refcnt_static());
	image_w64(t + L.tp_name, image_cstring(tp_name));
	image_w64(t + L.tp_basicsize, basicsize);
	image_w64(t + L.tp_itemsize, itemsize);
	image_w64(t + L.tp_flags, flags | 1UL << 12 /* READY */);
	if (traverse)
		image_w64(t + L.tp_traverse,
			  A(IMAGE_FUNCS + 0x800 + 0x10 * traverse));
	if (strcmp(name, "PyBaseObject_Type"))
		image_wfield(t, L.tp_base, image_sym("PyBaseObject_Type"));
}

static void static_types(void)
{
	const uint64_t gc = TPFLAGS_HAVE_GC, base = 1UL << 10;
	int k = 1;

	image_static_type("PyType_Type", "type", L.sizeof_heaptype, L.sizeof_member,
		    gc | base | TPFLAGS_TYPE_SUBCLASS, k++);
	image_static_type("PyBaseObject_Type", "object", L.sizeof_object, 0, base,
		    0);
	image_static_type("PyTuple_Type", "tuple", L.tuple_items, 8,
		    gc | base | TPFLAGS_TUPLE_SUBCLASS, k++);
	image_static_type("PyList_Type", "list", L.list_items + 16, 0,
		    gc | base | TPFLAGS_LIST_SUBCLASS, k++);
	image_static_type("PyDict_Type", "dict", 48, 0,
		    gc | base | TPFLAGS_DICT_SUBCLASS, k++);
	image_static_type("PySet_Type", "set", 200, 0, gc | base, k++);
	image_static_type("PyFrozenSet_Type", "frozenset", 200, 0, gc | base, k++);
	image_static_type("PyUnicode_Type", "str", L.sizeof_str_compact + 8, 0,
		    base | TPFLAGS_UNICODE_SUBCLASS, 0);
	image_static_type("PyLong_Type", "int", L.long_digits, 4,
		    base | TPFLAGS_LONG_SUBCLASS, 0);
	image_static_type("PyBool_Type", "bool", L.long_digits, 4,
		    TPFLAGS_LONG_SUBCLASS, 0);
	image_static_type("PyFloat_Type", "float", L.float_value + 8, 0, base, 0);
	image_static_type("PyBytes_Type", "bytes", L.bytes_sval + 1, 1,
		    base | TPFLAGS_BYTES_SUBCLASS, 0);
	image_static_type("_PyNone_Type", "NoneType", L.sizeof_object, 0, 0, 0);
	image_static_type("PyCell_Type", "cell", L.cell_ref + 8, 0, gc, k++);
	image_static_type("PyFunction_Type", "function", 160, 0, gc, k++);
	image_static_type("PyCode_Type", "code", 200, 0, 0, 0);
	image_static_type("PyModule_Type", "module", 72, 0, gc | base, k++);
	image_static_type("_PyExc_BaseException", "BaseException", 88, 0,
		    gc | base | TPFLAGS_BASE_EXC_SUBCLASS, k++);
	image_header(image_sym("_Py_NoneStruct"), image_sym("_PyNone_Type"),
		     image_refcnt_static());
}

// A heap type: instances have a __dict__ (managed from 3.11 if asked) and
// a slot.
uint64_t image_heap_type(const char *name, uint64_t module_str,
			  bool managed, uint64_t *name_ret)
{
	uint64_t t = image_gc_new(image_sym("PyType_Type"),
			    L.sizeof_heaptype + 2 * L.sizeof_member, 4, false);
	uint64_t members = t + L.sizeof_heaptype;
	uint64_t flags = TPFLAGS_HEAPTYPE | TPFLAGS_HAVE_GC | 1UL << 10 |
			 1UL << 12;
	uint64_t name_str = image_str(name);

	if (managed && L.managed_dict)
		flags |= TPFLAGS_MANAGED_DICT;
	image_w64(t + L.tp_name, name_str + L.sizeof_str_ascii);
	image_w64(t + L.tp_basicsize, managed && L.managed_dict ? 24 : 40);
	image_w64(t + L.tp_flags, flags);
	image_w64(t + L.tp_traverse, image_sym("subtype_traverse"));
	image_w64(t + L.tp_base, image_sym("PyBaseObject_Type"));
	if (managed && L.managed_dict) {
		image_w64(t + L.tp_dictoffset, -1);
		image_w64(members + L.member_offset, 16);
	} else {
		image_w64(t + L.tp_dictoffset, 16);
		image_w64(t + L.tp_weaklistoffset, 32);
		image_w64(members + L.member_offset, 24);
	}
	image_w64(members + L.member_name, image_cstring("slot"));
	image_w32(members + L.member_type, MEMBER_T_OBJECT_EX);
	image_wfield(t, L.tp_members, members);
	image_wfield(t, L.ht_name, name_str);
	image_wfield(t, L.ht_qualname, name_str);
	uint64_t bases1[] = { image_sym("PyBaseObject_Type") };
	uint64_t mro[] = { t, image_sym("PyBaseObject_Type") };

	image_wfield(t, L.tp_bases, image_tuple(1, bases1));
	image_wfield(t, L.tp_mro, image_tuple(2, mro));
	uint64_t keys[] = { image_str("__module__"), image_str("__doc__") };
	uint64_t values[] = { module_str, image_sym("_Py_NoneStruct") };

	image_wfield(t, L.tp_dict, image_dict(2, keys, values, false));
	*name_ret = name_str;
	return t;
}

uint64_t image_instance(uint64_t type, bool managed, uint64_t dict,
			     uint64_t slot)
{
	managed = managed && L.managed_dict;
	uint64_t o = image_gc_new(type, managed ? 24 : 40, 2, managed);

	if (managed) {
		image_w64(o - L.sizeof_gc_head - 8, dict);
		image_w64(o + 16, slot);
	} else {
		image_w64(o + 16, dict);
		image_w64(o + 24, slot);
	}
	return o;
}

// Link the youngest list through image_gc_list; the others empty.
void image_link_lists(uint64_t gc_state, uint64_t statics)
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
		image_w64(head + L.gchead_next, head);
		image_w64(head + L.gchead_prev, head);
		if (g || !image_ngc)
			continue;
		uint64_t prev = head;

		for (size_t i = 0; i < image_ngc; i++) {
			uint64_t h = image_gc_list[i] - L.sizeof_gc_head;

			image_w64(prev + L.gchead_next, h);
			image_w64(h + L.gchead_prev, prev);
			if (L.gchead_refs >= 0)
				image_w64(h + L.gchead_refs, -3ULL << 1);
			prev = h;
		}
		image_w64(prev + L.gchead_next, head);
		image_w64(head + L.gchead_prev, prev);
	}
}


int image_write(const char *path, unsigned minor, uint64_t size)
{
	FILE *f = fopen(path, "wb");
	unsigned char h[IMAGE_HEADER_SIZE] = { 'G', 'C', 'S', 'I', minor };

	if (!f) {
		fprintf(stderr, "image: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memcpy(h + 8, &(uint32_t){ size }, 4);
	fwrite(h, 1, sizeof(h), f);
	// Runs of non-zero bytes, gaps under 16 bytes merged.
	for (uint64_t i = 0; i < size;) {
		if (!image_mem[i]) {
			i++;
			continue;
		}
		uint64_t end = i, last = i;

		while (end < size && end - i < 65535 && end - last < 16) {
			if (image_mem[end])
				last = end;
			end++;
		}
		uint32_t off = i;
		uint16_t len = last + 1 - i;

		fwrite(&off, 4, 1, f);
		fwrite(&len, 2, 1, f);
		fwrite(image_mem + i, 1, len, f);
		i = last + 1;
	}
	return fclose(f) ? -1 : 0;
}

int image_begin(unsigned minor, struct image_runtime *rt)
{
	struct err *err = layout_builtin(&L, minor);

	if (err) {
		fprintf(stderr, "image: %s\n", err->message);
		return -1;
	}
	memset(image_mem, 0, sizeof(image_mem));
	image_heap_top = IMAGE_MODULE_END;
	str_top = IMAGE_FUNCS + 0x8000;
	image_ngc = 0;
	static_types();

	// Version, the way each release tells it.
	if (minor >= 11)
		image_w64(image_sym("Py_Version"),
			  0x030000f0 | minor << 16 | 1 << 8);
	else
		image_cstring("\0003.%u.1 (default, fuzz) [mkseed]");
	char version[48];

	snprintf(version, sizeof(version), "3.%u.1 (default, fuzz) [gcc]",
		 minor);
	str_top++;
	image_cstring(version);

	// The runtime, the interpreter and its collector state.
	uint64_t runtime = A(IMAGE_RUNTIME), interp, gc_state = 0, statics = 0;

	if (minor == 6) {
		interp = image_alloc(L.sizeof_interp);
		statics = A(IMAGE_VARS + 0x400);
		image_w64(image_sym("_PyGC_generation0"), statics);
		image_w64(image_sym("interp_head"), interp);
	} else {
		interp = L.interp_main_offset > 0 ?
				 runtime + L.interp_main_offset :
				 image_alloc(L.sizeof_interp);
		image_w64(runtime + L.rt_interpreters_head, interp);
		gc_state = L.interp_gc >= 0 ? interp + L.interp_gc :
					      runtime + L.rt_gc;
	}
	*rt = (struct image_runtime){
		.runtime = minor == 6 ? 0 : runtime,
		.interp = interp,
		.gc_state = gc_state,
		.statics = statics,
	};
	return 0;
}

int image_open(struct image *im)
{
	memset(im, 0, sizeof(*im));
	im->minor = image_layout.minor;
	im->size = image_heap_top;
	im->mem = malloc(im->size + 1);
	if (!im->mem)
		return -1;
	memcpy(im->mem, image_mem, im->size);
	image_setup(im, 0, 0);
	return 0;
}
