/* SPDX-License-Identifier: MIT */
/*
 * The decoders, one object at a time: each test lays out an object with
 * the built-in layout of a version in a memory image (tests/fuzz/image.h),
 * walks the image, and checks exactly what the walker reports for that
 * object — every reference (its destination, kind and label, in order),
 * its size and its preview. Every row of the decoder table
 * (analyzer/decode/table.c) is tested on versions of different layouts.
 *
 * Ends with "N passed, N failed".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/image.h"
#include "decode/decode.h"
#include "walk/heap.h"
#include "cpython/layout.h"
#include "target/target.h"

#define L image_layout

enum {
	T = HEAP_EDGE_TRAVERSE,
	S = HEAP_EDGE_STRONG,
	B = HEAP_EDGE_BORROWED,
	C = HEAP_EDGE_CONSERVATIVE,
	V = HEAP_EDGE_VISITED,
};

/* A reference the object must have; the list ends with dst 0. */
struct want {
	uint64_t dst;
	int kind;
	const char *label;
};

/* What the walk reported for the object under test. */
static struct {
	uint64_t obj;
	struct heap_edge_copy {
		uint64_t dst;
		int kind;
		char label[160];
	} edges[64];
	size_t nedges;
	bool found;
	int64_t size;
	char repr[256];
	char type[64];
	enum heap_status status;
	char detail[128];
} got;

static unsigned passed, failed;
static unsigned minor;              /* version of the test running */
static struct image_runtime rt;
static const char *test_name;
static const char *want_corrupt;    /* the object is corrupt, for this */
static const struct decoder *rows_tested[256];
static size_t nrows_tested;

static struct err *on_type(void *arg, const struct heap_type *type)
{
	(void)arg, (void)type;
	return NULL;
}

static struct err *on_object(void *arg, const struct heap_object *o)
{
	(void)arg;
	if (o->addr != got.obj)
		return NULL;
	got.found = true;
	got.size = o->size;
	snprintf(got.repr, sizeof(got.repr), "%s", o->repr ? o->repr : "");
	snprintf(got.type, sizeof(got.type), "%s", o->type ? o->type : "");
	got.status = o->status;
	snprintf(got.detail, sizeof(got.detail), "%s",
		 o->detail ? o->detail : "");
	return NULL;
}

static struct err *on_edge(void *arg, const struct heap_edge *e)
{
	(void)arg;
	if (e->src != got.obj || got.nedges == 64)
		return NULL;
	got.edges[got.nedges].dst = e->dst;
	got.edges[got.nedges].kind = e->kind;
	snprintf(got.edges[got.nedges++].label, 160, "%s",
		 e->label ? e->label : "");
	return NULL;
}

static struct err *on_root(void *arg, const struct heap_root *r)
{
	(void)arg, (void)r;
	return NULL;
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s (3.%u): ", test_name, minor);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Start a test: a new image of 3.@p m. */
static void begin(const char *name, unsigned m)
{
	test_name = name;
	minor = m;
	want_corrupt = NULL;
	if (image_begin(m, &rt)) {
		fprintf(stderr, "decode_test: no layout for 3.%u\n", m);
		exit(1);
	}
}

/*
 * Walk the image and check what is reported for @p obj: the references
 * @p want, in order, the size and the preview. The object's type must be
 * decoded by the row named @p row.
 */
static void check(uint64_t obj, const char *row, const struct want *want,
		  int64_t size, const char *repr)
{
	struct image im;
	struct target *t = NULL;
	struct layout l = { .dwarf = NULL };
	struct heap_stats st;
	struct heap_consumer consumer = {
		.type = on_type,
		.object = on_object,
		.edge = on_edge,
		.root = on_root,
	};
	struct err *err;
	bool ok = true;

	memset(&got, 0, sizeof(got));
	got.obj = obj;
	image_link_lists(rt.gc_state, rt.statics);
	if (image_open(&im)) {
		fprintf(stderr, "decode_test: out of memory\n");
		exit(1);
	}
	err = target_open_image(&im.target, &t);
	if (!err)
		err = layout_init(&l, t, LAYOUT_CHOOSE_AUTO);
	if (!err)
		err = heap_walk(t, &l, NULL, &consumer, NULL, &st);
	if (err) {
		fail("walk: %s", err->message);
		ok = false;
	} else if (!got.found) {
		fail("object 0x%" PRIx64 " not reported", obj);
		ok = false;
	}
	if (ok && want_corrupt && (got.status != HEAP_CORRUPT ||
				   strcmp(got.detail, want_corrupt))) {
		fail("status %d: '%s', want corrupt: '%s'", got.status,
		     got.detail, want_corrupt);
		ok = false;
	} else if (ok && !want_corrupt && got.status != HEAP_OK) {
		fail("status %d: %s", got.status, got.detail);
		ok = false;
	}
	size_t n = 0;

	while (want && want[n].dst)
		n++;
	for (size_t i = 0; ok && i < n && i < got.nedges; i++) {
		if (getenv("DECODE_TEST_VERBOSE"))
			printf("  %zu: 0x%" PRIx64 " %d '%s'\n", i,
			       got.edges[i].dst, got.edges[i].kind,
			       got.edges[i].label);
		if (got.edges[i].dst != want[i].dst ||
		    got.edges[i].kind != want[i].kind ||
		    strcmp(got.edges[i].label, want[i].label)) {
			fail("reference %zu: got 0x%" PRIx64 " kind %d '%s', "
			     "want 0x%" PRIx64 " kind %d '%s'", i,
			     got.edges[i].dst, got.edges[i].kind,
			     got.edges[i].label, want[i].dst, want[i].kind,
			     want[i].label);
			ok = false;
		}
	}
	if (ok && got.nedges != n) {
		fail("%zu references, want %zu", got.nedges, n);
		for (size_t i = n; i < got.nedges; i++)
			printf("  extra: 0x%" PRIx64 " kind %d '%s'\n",
			       got.edges[i].dst, got.edges[i].kind,
			       got.edges[i].label);
		ok = false;
	}
	if (ok && got.size != size) {
		fail("size %" PRId64 ", want %" PRId64, got.size, size);
		ok = false;
	}
	if (ok && strcmp(got.repr, repr)) {
		fail("preview '%s', want '%s'", got.repr, repr);
		ok = false;
	}
	// The row the test is meant for decodes the type.
	const struct decoder *r = decoder_named(row);

	if (!r) {
		fail("no decoder row '%s'", row);
		ok = false;
	} else if (nrows_tested < 256) {
		size_t k = 0;

		while (k < nrows_tested && rows_tested[k] != r)
			k++;
		if (k == nrows_tested)
			rows_tested[nrows_tested++] = r;
	}
	if (ok) {
		printf("PASS %s (3.%u)\n", test_name, minor);
		passed++;
	} else {
		failed++;
	}
	err_destroy(err);
	layout_deinit(&l);
	target_destroy(t);
	image_deinit(&im);
}

/* ---- layout helpers -------------------------------------------------- */

static int64_t round8(int64_t n)
{
	return (n + 7) & ~7LL;
}

/* The allocation of a GC object of @p basicsize bytes. */
static int64_t gc_size(int64_t basicsize)
{
	return L.sizeof_gc_head + round8(basicsize);
}

/* An object referred to by a tracked list, so that the walk finds it. */
static uint64_t holder;

static void hold(uint64_t obj)
{
	uint64_t items[] = { obj };

	holder = image_list(1, items);
}

/* A static type with a traverse function of its own, numbered from 40 so
 * as not to meet those image_begin() gave. */
static void type_gc(const char *sym, const char *name, int64_t basicsize,
		    int k)
{
	image_static_type(sym, name, basicsize, 0, TPFLAGS_HAVE_GC, 40 + k);
}

/* ---- scalars.c ----------------------------------------------------------- */

static void test_str(unsigned m)
{
	begin("str", m);
	uint64_t s = image_str("it's");

	hold(s);
	check(s, "str", NULL, round8(L.sizeof_str_ascii + 5), "'it\\'s'");

	begin("str UCS-2", m);
	uint16_t ucs2[] = { 0x3b1, 'x' };

	s = image_str_ucs2(ucs2, 2);
	hold(s);
	check(s, "str", NULL, round8(L.sizeof_str_compact + 2 * 3),
	      "'\xce\xb1x'");
}

static void test_int(unsigned m)
{
	begin("int", m);
	uint64_t i = image_int(-1234567);

	hold(i);
	check(i, "int", NULL, round8(L.long_digits + 4), "-1234567");

	begin("int of two digits", m);
	i = image_int(1LL << 40);
	hold(i);
	check(i, "int", NULL, round8(L.long_digits + 8), "1099511627776");
}

static void test_bool(unsigned m)
{
	begin("bool", m);
	uint64_t b = image_alloc(L.long_digits + 4);

	image_header(b, image_sym("PyBool_Type"), image_refcnt_static());
	if (L.long_tagged)
		image_w64(b + L.long_tag, 1 << 3);
	else
		image_w64(b + L.ob_size, 1);
	image_w32(b + L.long_digits, 1);
	hold(b);
	check(b, "bool", NULL, round8(L.long_digits + 4), "True");
}

static void test_float(unsigned m)
{
	begin("float", m);
	uint64_t f = image_float(0.1);

	hold(f);
	check(f, "float", NULL, round8(L.float_value + 8), "0.1");
}

static void test_bytes(unsigned m)
{
	begin("bytes", m);
	uint64_t b = image_bytes("a'\0", 3);

	hold(b);
	check(b, "bytes", NULL, round8(L.bytes_sval + 1 + 3),
	      "b'a\\x27\\x00'");
}

static void test_none(unsigned m)
{
	begin("None", m);
	uint64_t none = image_sym("_Py_NoneStruct");

	hold(none);
	check(none, "None", NULL, round8(L.sizeof_object), "None");
}

static void test_plain(unsigned m)
{
	begin("object()", m);
	uint64_t o = image_alloc(L.sizeof_object);

	image_header(o, image_sym("PyBaseObject_Type"), 1);
	hold(o);
	check(o, "plain", NULL, round8(L.sizeof_object), "");
}

/* ---- containers.c -------------------------------------------------------- */

static void test_list(unsigned m)
{
	begin("list", m);
	uint64_t a = image_str("a"), b = image_int(7);
	uint64_t items[] = { a, b, a };
	uint64_t list = image_list(3, items);
	const struct want want[] = {
		{ a, T, "[0]" }, { b, T, "[1]" }, { a, T, "[2]" }, { 0 }
	};

	check(list, "list", want, gc_size(L.list_items + 16), "len=3");
}

static void test_tuple(unsigned m)
{
	begin("tuple", m);
	uint64_t a = image_str("a");
	uint64_t items[] = { a, image_sym("_Py_NoneStruct") };
	uint64_t tuple = image_tuple(2, items);
	const struct want want[] = {
		{ a, T, "[0]" }, { image_sym("_Py_NoneStruct"), T, "[1]" },
		{ 0 }
	};

	check(tuple, "tuple", want, gc_size(L.tuple_items + 16), "len=2");
}

static void test_dict(unsigned m)
{
	begin("dict of str keys", m);
	uint64_t k1 = image_str("one"), k2 = image_str("two");
	uint64_t v1 = image_int(1), v2 = image_float(2.0);
	uint64_t keys[] = { k1, k2 }, values[] = { v1, v2 };
	uint64_t dict = image_dict(2, keys, values, false);
	const struct want want[] = {
		{ v1, T, "['one']" }, { k1, S, "<key>" },
		{ v2, T, "['two']" }, { k2, S, "<key>" }, { 0 }
	};

	check(dict, "dict", want, gc_size(48), "len=2");

	begin("dict of general keys", m);
	uint64_t k3 = image_int(42), v3 = image_str("x");

	k1 = image_str("one");
	v1 = image_int(1);
	uint64_t gkeys[] = { k3, k1 }, gvalues[] = { v3, v1 };

	dict = image_dict(2, gkeys, gvalues, true);
	const struct want gwant[] = {
		{ v3, T, "[42]" }, { k3, T, "<key>" },
		{ v1, T, "['one']" }, { k1, T, "<key>" }, { 0 }
	};

	check(dict, "dict", gwant, gc_size(48), "len=2");
}

static void test_set(unsigned m)
{
	begin("set", m);
	uint64_t a = image_str("a"), b = image_int(3);
	uint64_t keys[] = { a, b };
	uint64_t set = image_set(2, keys);
	// image_set puts key i in slot (3i + 2) & 7: a in 2, b in 5.
	const struct want want[] = {
		{ a, T, "<member>" }, { b, T, "<member>" }, { 0 }
	};

	check(set, "set", want, gc_size(200), "");
}

static void test_odict(unsigned m)
{
	begin("OrderedDict", m);
	int64_t size = 112;
	uint64_t k = image_str("k"), v = image_int(5), inst = image_str("d");
	uint64_t keys[] = { k }, values[] = { v };
	uint64_t plain = image_dict(1, keys, values, false);
	uint64_t d = image_gc_new(image_sym("PyODict_Type"), size, 1, false);
	uint64_t node = image_alloc(48);

	// An OrderedDict is a dict with more after it: its keys table.
	type_gc("PyODict_Type", "collections.OrderedDict", size, 1);
	image_w64(d + L.dict_used, 1);
	image_w64(d + L.dict_keys, image_r64(plain + L.dict_keys));
	image_wfield(d, L.odict_inst_dict, inst);
	if (L.odict_first >= 0) {
		image_w64(d + L.odict_first, node);
		image_w64(node + L.odnode_key, k);
	}
	struct want want[] = {
		{ inst, T, "__dict__" }, { k, T, "<order key>" },
		{ v, T, "['k']" }, { k, S, "<key>" }, { 0 }
	};

	if (L.odict_first < 0)
		memmove(&want[1], &want[2], 3 * sizeof(want[0]));
	check(d, "OrderedDict", want, gc_size(size), "len=1");
}

static void test_deque(unsigned m, bool by_name)
{
	begin(by_name ? "deque by name" : "deque", m);
	uint64_t type = image_alloc(IMAGE_TYPE_SLOT);

	image_header(type, image_sym("PyType_Type"), image_refcnt_static());
	image_w64(type + L.tp_name, image_cstring("collections.deque"));
	image_w64(type + L.tp_basicsize, 96);
	image_w64(type + L.tp_flags, TPFLAGS_HAVE_GC | 1UL << 12);
	// A stripped build names no deque_traverse: the name says it.
	uint64_t traverse = image_sym("deque_traverse") + (by_name ? 8 : 0);

	image_w64(type + L.tp_traverse, traverse);
	image_w64(type + L.tp_base, image_sym("PyBaseObject_Type"));
	uint64_t dq = image_gc_new(type, 96, 1, false);
	uint64_t b1 = image_alloc(L.dblock_rightlink + 8);
	uint64_t b2 = image_alloc(L.dblock_rightlink + 8);
	uint64_t x = image_str("x"), y = image_str("y"), z = image_int(9);
	int64_t last = (L.dblock_rightlink - L.dblock_data) / 8 - 1;

	image_w64(dq + L.ob_size, 3);
	image_w64(dq + L.deque_leftblock, b1);
	image_w64(dq + L.deque_leftindex, last - 1);
	image_w64(b1 + L.dblock_data + 8 * (last - 1), x);
	image_w64(b1 + L.dblock_data + 8 * last, y);
	image_w64(b1 + L.dblock_rightlink, b2);
	image_w64(b2 + L.dblock_data, z);
	const struct want want[] = {
		{ x, T, "[0]" }, { y, T, "[1]" }, { z, T, "[2]" }, { 0 }
	};

	check(dq, "deque", want, gc_size(96), "len=3");
}

/* ---- stdlib.c ------------------------------------------------------------ */

/*
 * A static type of a C module with a local traverse: named by the symbol,
 * or (@p by_name, as in a stripped build) by its tp_name alone.
 */
static uint64_t stdlib_type(const char *tp_name, const char *traverse,
			    int64_t basicsize, bool by_name)
{
	uint64_t type = image_alloc(IMAGE_TYPE_SLOT);

	image_header(type, image_sym("PyType_Type"), image_refcnt_static());
	image_w64(type + L.tp_name, image_cstring(tp_name));
	image_w64(type + L.tp_basicsize, basicsize);
	image_w64(type + L.tp_flags, TPFLAGS_HAVE_GC | 1UL << 12);
	image_w64(type + L.tp_traverse,
		  image_sym(traverse) + (by_name ? 8 : 0));
	image_w64(type + L.tp_base, image_sym("PyBaseObject_Type"));
	return type;
}

static void test_partial(unsigned m, bool by_name)
{
	begin(by_name ? "partial by name" : "partial", m);
	uint64_t type = stdlib_type("functools.partial", "partial_traverse",
				    64, by_name);
	uint64_t p = image_gc_new(type, 64, 1, false);
	uint64_t fn = image_str("fn"), a = image_int(1);
	uint64_t args = image_tuple(1, &a);
	uint64_t kw = image_dict(0, NULL, NULL, false);

	image_w64(p + L.partial_fn, fn);
	image_w64(p + L.partial_args, args);
	image_w64(p + L.partial_kw, kw);
	const struct want want[] = {
		{ fn, T, "func" }, { args, T, "args" }, { kw, T, "keywords" },
		{ 0 }
	};

	check(p, "partial", want, gc_size(64), "");
}

static void test_lru_cache(unsigned m)
{
	begin("lru_cache", m);
	const int64_t size = 160;
	uint64_t type = stdlib_type("functools._lru_cache_wrapper",
				    "lru_cache_tp_traverse", size, false);
	uint64_t o = image_gc_new(type, size, 1, false);
	uint64_t func = image_str("func"), info = image_str("info");
	uint64_t cache = image_dict(0, NULL, NULL, false);
	uint64_t k1 = image_int(1), r1 = image_str("r1");
	uint64_t k2 = image_int(2), r2 = image_str("r2");
	// Two entries, from root.next back to the root (the object itself);
	// on 3.6 the entries are objects and are visited themselves.
	uint64_t e1 = image_alloc(64), e2 = image_alloc(64);
	bool links = L.lru_maxsize_obj >= 0;

	image_header(e1, image_sym("PyBaseObject_Type"), 1);
	image_header(e2, image_sym("PyBaseObject_Type"), 1);
	image_w64(o + L.lru_root_next, e1);
	image_w64(e1 + L.lruelem_next, e2);
	image_w64(e2 + L.lruelem_next, o);
	image_w64(e1 + L.lruelem_key, k1);
	image_w64(e1 + L.lruelem_result, r1);
	image_w64(e2 + L.lruelem_key, k2);
	image_w64(e2 + L.lruelem_result, r2);
	image_w64(o + L.lru_cache, cache);
	image_w64(o + L.lru_func, func);
	image_w64(o + L.lru_cache_info_type, info);
	struct want want[12];
	int n = 0;

	// 3.7+: the list's reference to each entry is strong (not visited);
	// the entry's key and result are visited, but counted in the entry.
	want[n++] = (struct want){ e1, links ? T : S, "<entry>" };
	if (!links) {
		want[n++] = (struct want){ k1, V, "<entry key>" };
		want[n++] = (struct want){ r1, V, "<entry result>" };
	}
	want[n++] = (struct want){ e2, links ? T : S, "<entry>" };
	if (!links) {
		want[n++] = (struct want){ k2, V, "<entry key>" };
		want[n++] = (struct want){ r2, V, "<entry result>" };
	}
	want[n++] = (struct want){ cache, T, "cache" };
	want[n++] = (struct want){ func, T, "__wrapped__" };
	want[n++] = (struct want){ info, T, "cache_info_type" };
	want[n] = (struct want){ 0 };
	check(o, "lru_cache", want, gc_size(size), "");
}

/*
 * An lru_cache entry of 3.7+ (untracked, no traverse), matched by its
 * name: the key and result it owns.
 */
static void test_lru_entry(unsigned m)
{
	begin("lru_entry", m);
	uint64_t type = image_alloc(IMAGE_TYPE_SLOT);
	uint64_t k = image_int(7), r = image_str("seven");
	uint64_t e = image_alloc(64);

	image_header(type, image_sym("PyType_Type"), image_refcnt_static());
	image_w64(type + L.tp_name, image_cstring("functools._lru_list_elem"));
	image_w64(type + L.tp_basicsize, 64);
	image_w64(type + L.tp_flags, 1UL << 12);
	image_w64(type + L.tp_base, image_sym("PyBaseObject_Type"));
	image_header(e, type, 2);
	image_w64(e + L.lruelem_key, k);
	image_w64(e + L.lruelem_result, r);
	hold(e);
	const struct want want[] = {
		{ k, S, "key" }, { r, S, "result" }, { 0 }
	};

	check(e, "lru_entry", want, 64, "");
}

static void test_defaultdict(unsigned m)
{
	begin("defaultdict", m);
	uint64_t type = stdlib_type("collections.defaultdict",
				    "defdict_traverse", 56, false);
	uint64_t k = image_str("k"), v = image_int(5);
	uint64_t src = image_dict(1, &k, &v, false);
	uint64_t dd = image_gc_new(type, 56, 1, false);
	uint64_t factory = image_str("factory");

	image_w64(dd + L.dict_used, 1);
	image_w64(dd + L.dict_keys, image_r64(src + L.dict_keys));
	image_w64(dd + L.defdict_factory, factory);
	const struct want want[] = {
		{ factory, T, "default_factory" }, { v, T, "['k']" },
		{ k, S, "<key>" }, { 0 }
	};

	check(dd, "defaultdict", want, gc_size(56), "len=1");
}

static void test_thread_local(unsigned m)
{
	begin("thread_local", m);
	uint64_t type = stdlib_type("_thread._local", "local_traverse", 64,
				    false);
	uint64_t o = image_gc_new(type, 64, 1, false);
	uint64_t args = image_tuple(0, NULL);
	uint64_t dicts = image_dict(0, NULL, NULL, false);

	image_w64(o + L.local_args, args);
	image_w64(o + L.local_dicts, dicts);
	const struct want want[] = {
		{ args, T, "args" },
		{ dicts, T, m >= 13 ? "localdicts" : "dummies" }, { 0 }
	};

	check(o, "thread_local", want, gc_size(64), "");
}

static void test_element(unsigned m, bool by_name)
{
	begin(by_name ? "Element by name" : "Element", m);
	uint64_t type = stdlib_type("xml.etree.ElementTree.Element",
				    "element_gc_traverse", 56, by_name);
	uint64_t e = image_gc_new(type, 56, 1, false);
	uint64_t tag = image_str("tag"), text = image_str("text");
	uint64_t tail = image_str("tail");
	uint64_t attrib = image_dict(0, NULL, NULL, false);
	uint64_t c0 = image_str("c0"), c1 = image_str("c1");
	uint64_t extra = image_alloc(64);

	image_w64(e + 16, tag);
	image_w64(e + 24, text | 1);   // JOIN flag
	image_w64(e + 32, tail);
	image_w64(e + 40, extra);
	image_w64(extra, attrib);
	image_w64(extra + 8, 2);       // length
	image_w64(extra + 16, 4);      // allocated
	image_w64(extra + 24, extra + 32);
	image_w64(extra + 32, c0);
	image_w64(extra + 40, c1);
	const struct want want[] = {
		{ tag, T, "tag" }, { text, T, "text" }, { tail, T, "tail" },
		{ attrib, T, "attrib" }, { c0, T, "[0]" }, { c1, T, "[1]" },
		{ 0 }
	};

	check(e, "Element", want, gc_size(56), "");
}

/* A field of an object under test: its offset, value and label. */
struct field {
	int32_t off;
	const char *label;
};

/*
 * An object of a static type named @p tp_name with traverse @p traverse
 * (NULL or by name: matched by its name), whose word fields @p fields are
 * set to distinct strs and must be reported in that order, after the
 * type if @p heap.
 */
static void fields_test(unsigned m, const char *row, const char *tp_name,
			const char *traverse, int64_t basicsize,
			const struct field *fields)
{
	static char name[96];   // the test's name until the next begin()

	snprintf(name, sizeof(name), "%s%s", row, traverse ? "" : " by name");
	begin(name, m);
	uint64_t type = stdlib_type(tp_name, traverse ? traverse :
				    "partial_traverse", basicsize, !traverse);
	uint64_t o = image_gc_new(type, basicsize, 1, false);
	struct want want[16];
	size_t n = 0;

	for (; fields[n].label && n < 15; n++) {
		char text[32];

		snprintf(text, sizeof(text), "v%zu", n);
		want[n].dst = image_str(text);
		want[n].kind = T;
		want[n].label = fields[n].label;
		image_w64(o + fields[n].off, want[n].dst);
	}
	want[n].dst = 0;
	check(o, row, want, gc_size(basicsize), "");
}

static void test_typing(unsigned m)
{
	if (m < 12)
		return;
	const struct field tv[] = {
		{ L.tv_bound, "__bound__" },
		{ L.tv_evaluate_bound, "evaluate_bound" },
		{ L.tv_constraints, "__constraints__" },
		{ L.tv_evaluate_constraints, "evaluate_constraints" },
		{ m >= 13 ? L.tv_default : 0, m >= 13 ? "__default__" : NULL },
		{ 0 }
	};
	const struct field ps[] = {
		{ L.ps_bound, "__bound__" }, { 0 }
	};
	const struct field tvt[] = {
		{ m >= 13 ? L.tvt_default : 0, m >= 13 ? "__default__" : NULL },
		{ 0 }
	};
	const struct field attr[] = {
		{ L.psattr_origin, "__origin__" }, { 0 }
	};
	const struct field ta[] = {
		{ L.ta_type_params, "__type_params__" },
		{ L.ta_compute_value, "compute_value" },
		{ L.ta_value, "__value__" }, { L.ta_module, "__module__" },
		{ 0 }
	};

	fields_test(m, "TypeVar", "typing.TypeVar", "typevar_traverse", 80,
		    tv);
	fields_test(m, "ParamSpec", "typing.ParamSpec", "paramspec_traverse",
		    56, ps);
	fields_test(m, "TypeVarTuple", "typing.TypeVarTuple",
		    "typevartuple_traverse", 40, tvt);
	fields_test(m, "ParamSpecArgs", "typing.ParamSpecArgs",
		    "paramspecattr_traverse", 24, attr);
	fields_test(m, "ParamSpecKwargs", "typing.ParamSpecKwargs", NULL, 24,
		    attr);
	fields_test(m, "TypeAliasType", "typing.TypeAliasType",
		    "typealias_traverse", 56, ta);
}

/* _asyncio and _pickle: their layouts of 3.6 and 3.12. */
static void test_asyncio(unsigned m)
{
	if (m != 6 && m != 12)
		return;
	const bool v6 = m == 6;
	const struct field fut[] = {
		{ 16, "_loop" }, { v6 ? 24 : 40, "_callbacks" },
		{ v6 ? 40 : 64, "_result" }, { v6 ? 72 : 104, "__dict__" },
		{ 0 }
	};
	const struct field task[] = {
		{ v6 ? 96 : 136, "_coro" }, { 16, "_loop" }, { 0 }
	};
	const struct field iter[] = { { 16, "future" }, { 0 } };

	fields_test(m, "Future", "_asyncio.Future", "FutureObj_traverse",
		    v6 ? 88 : 128, fut);
	fields_test(m, "Task", "_asyncio.Task", NULL, v6 ? 112 : 176, task);
	fields_test(m, "FutureIter", "_asyncio.FutureIter", NULL, 24, iter);
}

static void test_pickle(unsigned m)
{
	if (m != 6 && m != 12)
		return;
	const bool v6 = m == 6;
	const struct field p[] = {
		{ v6 ? 48 : 56, "write" }, { 24, "persistent_id" },
		{ 40, "dispatch_table" }, { 0 }
	};
	const struct field u[] = {
		{ v6 ? 192 : 200, "readline" }, { 184, "read" },
		{ 48, "persistent_load" }, { 0 }
	};
	const struct field proxy[] = { { 16, "<pickler>" }, { 0 } };

	fields_test(m, "Pickler", "_pickle.Pickler", "Pickler_traverse",
		    v6 ? 136 : 152, p);
	fields_test(m, "Unpickler", "_pickle.Unpickler", NULL, v6 ? 256 : 272,
		    u);
	fields_test(m, "PicklerMemoProxy", "_pickle.PicklerMemoProxy", NULL,
		    24, proxy);
	fields_test(m, "UnpicklerMemoProxy", "_pickle.UnpicklerMemoProxy",
		    "UnpicklerMemoProxy_traverse", 24, proxy);
}

/* _ctypes: the same layout in every version; 3.13 visits the type too. */
static void test_ctypes(unsigned m)
{
	if (m != 6 && m != 12)
		return;
	const struct field cdata[] = {
		{ 64, "_objects" }, { 32, "_b_base_" }, { 0 }
	};
	const struct field cfunc[] = {
		{ 104, "callable" }, { 128, "restype" }, { 144, "errcheck" },
		{ 120, "argtypes" }, { 96, "<thunk>" }, { 64, "_objects" },
		{ 0 }
	};
	const struct field cfield[] = { { 40, "<proto>" }, { 0 } };
	const struct field carg[] = { { 48, "_obj" }, { 0 } };

	fields_test(m, "ctypes Structure", "_ctypes.Structure",
		    "PyCData_traverse", 96, cdata);
	fields_test(m, "ctypes Union", "_ctypes.Union", NULL, 96, cdata);
	fields_test(m, "ctypes Array", "_ctypes.Array", NULL, 96, cdata);
	fields_test(m, "ctypes _Pointer", "_ctypes._Pointer", NULL, 96, cdata);
	fields_test(m, "ctypes _SimpleCData", "_ctypes._SimpleCData", NULL, 96,
		    cdata);
	fields_test(m, "ctypes CFuncPtr", "_ctypes.CFuncPtr",
		    "PyCFuncPtr_traverse", 160, cfunc);
	fields_test(m, "ctypes CField", "_ctypes.CField", NULL, 72, cfield);
	fields_test(m, "ctypes CArgObject", "_ctypes.CArgObject",
		    "PyCArg_traverse", 64, carg);
}

/*
 * ctypes' metatypes: a type made by one (named @p tp_name; its traverse
 * @p traverse, or one only the name tells) is decoded as a type plus, up
 * to 3.12, its StgDict's proto when the metatype's traverse is
 * CDataType_traverse, or, 3.13, the StgInfo after the type object.
 */
enum {
	CT_STGDICT_PROTO = 96,
	CT_STGINFO_SIZE = 128,
};

static uint64_t ctypes_metatype(const char *tp_name, const char *traverse,
				int64_t size)
{
	uint64_t meta = image_alloc(IMAGE_TYPE_SLOT);

	image_header(meta, image_sym("PyType_Type"), image_refcnt_static());
	image_w64(meta + L.tp_name, image_cstring(tp_name));
	image_w64(meta + L.tp_basicsize, size);
	image_w64(meta + L.tp_flags, TPFLAGS_HAVE_GC | TPFLAGS_TYPE_SUBCLASS |
				     1UL << 10 | 1UL << 12);
	image_w64(meta + L.tp_traverse, traverse ? image_sym(traverse) :
		  image_sym("lookdict") + 0x3000);
	image_w64(meta + L.tp_base, image_sym("PyType_Type"));
	return meta;
}

static void ctypes_metatype_test(unsigned m, const char *row,
				 const char *tp_name, const char *traverse,
				 bool proto_visited)
{
	static char name[96];
	const bool info = m >= 13;
	const int64_t info_off = (L.sizeof_heaptype + 15) & ~15LL;
	const int64_t meta_size = info ? info_off + CT_STGINFO_SIZE + 32 :
					 L.sizeof_heaptype;

	snprintf(name, sizeof(name), "%s%s", row, traverse ? "" : " by name");
	begin(name, m);
	uint64_t meta = ctypes_metatype(tp_name, traverse, meta_size);
	uint64_t object = image_sym("PyBaseObject_Type");
	uint64_t t = image_gc_new(meta, meta_size, 2, false);
	uint64_t qualname = image_str("CT");
	uint64_t bases[] = { object }, mro[] = { t, object };
	uint64_t tuple_bases = image_tuple(1, bases);
	uint64_t tuple_mro = image_tuple(2, mro);
	uint64_t proto = image_str("proto");
	uint64_t dict;

	image_w64(t + L.tp_name, qualname + L.sizeof_str_ascii);
	image_w64(t + L.tp_basicsize, 32);
	image_w64(t + L.tp_flags, TPFLAGS_HEAPTYPE | TPFLAGS_HAVE_GC |
				  1UL << 10 | 1UL << 12);
	image_w64(t + L.tp_traverse, image_sym("subtype_traverse"));
	image_w64(t + L.tp_base, object);
	image_wfield(t, L.ht_name, qualname);
	image_wfield(t, L.ht_qualname, qualname);
	image_wfield(t, L.tp_bases, tuple_bases);
	image_wfield(t, L.tp_mro, tuple_mro);
	if (info) {
		dict = image_dict(0, NULL, NULL, false);
	} else {
		// A StgDict: a dict subclass, proto after the dict.
		uint64_t stg = stdlib_type("StgDict", "partial_traverse",
					   CT_STGDICT_PROTO + 16, true);

		dict = image_gc_new(stg, CT_STGDICT_PROTO + 16, 1, false);
		image_w64(dict + CT_STGDICT_PROTO, proto);
	}
	image_wfield(t, L.tp_dict, dict);
	hold(t);
	struct want want[16];
	size_t n = 0;

	if (info) {
		static const char *const labels[] = {
			"<proto>", "<argtypes>", "<converters>", "<restype>",
			"<checker>", "<module>",
		};
		static const int offs[] = { 56, 88, 96, 104, 112, 120 };

		for (size_t i = 0; i < 6; i++) {
			char text[16];

			snprintf(text, sizeof(text), "i%zu", i);
			want[n] = (struct want){ image_str(text), T,
						 labels[i] };
			image_w64(t + info_off + offs[i], want[n++].dst);
		}
		want[n++] = (struct want){ meta, T, "__class__" };
	} else if (proto_visited) {
		want[n++] = (struct want){ proto, V, "<proto>" };
	}
	want[n++] = (struct want){ dict, T, "__dict__" };
	want[n++] = (struct want){ tuple_mro, T, "__mro__" };
	want[n++] = (struct want){ tuple_bases, T, "__bases__" };
	want[n++] = (struct want){ object, T, "__base__" };
	if (L.ht_name >= 0)
		want[n++] = (struct want){ qualname, S, "__name__" };
	if (L.ht_qualname >= 0)
		want[n++] = (struct want){ qualname, S, "__qualname__" };
	want[n].dst = 0;
	check(t, row, want, gc_size(meta_size), "CT");
}

static void test_ctypes_metatypes(unsigned m)
{
	if (m != 8 && m != 12 && m != 13)
		return;
	const bool old = m < 13;

	ctypes_metatype_test(m, "ctypes CDataType", "_ctypes.PyCStructType",
			     old ? "CDataType_traverse" : "CType_Type_traverse",
			     true);
	ctypes_metatype_test(m, "ctypes CDataType", "_ctypes.PyCStructType",
			     NULL, true);
	ctypes_metatype_test(m, "ctypes UnionType", "_ctypes.UnionType", NULL,
			     true);
	ctypes_metatype_test(m, "ctypes PyCPointerType",
			     "_ctypes.PyCPointerType", NULL, true);
	ctypes_metatype_test(m, "ctypes PyCFuncPtrType",
			     "_ctypes.PyCFuncPtrType", NULL, true);
	// Before 3.13 arrays' and simple types' metatypes keep type_traverse.
	ctypes_metatype_test(m, "ctypes PyCArrayType", "_ctypes.PyCArrayType",
			     NULL, false);
	ctypes_metatype_test(m, "ctypes PyCSimpleType",
			     "_ctypes.PyCSimpleType", NULL, false);
	if (!old) {
		ctypes_metatype_test(m, "ctypes CType_Type",
				     "_ctypes.CType_Type",
				     "CType_Type_traverse", true);
		ctypes_metatype_test(m, "ctypes CType_Type",
				     "_ctypes.CType_Type", NULL, true);
	}
}

/* _io: layouts from the DWARF; 3.12 visits more. */
static void test_io(unsigned m)
{
	if (m != 6 && m != 12)
		return;
	const bool full = m >= 12;
	const struct field iobase[] = {
		{ L.io_iobase_dict, "__dict__" }, { 0 }
	};
	const struct field bytesio[] = {
		{ L.io_bytesio_dict, "__dict__" },
		{ full ? L.io_bytesio_buf : 0, full ? "<buf>" : NULL }, { 0 }
	};
	const struct field stringio[] = {
		{ full ? L.io_stringio_readnl : L.io_stringio_dict,
		  full ? "<readnl>" : "__dict__" },
		{ full ? L.io_stringio_dict : 0, full ? "__dict__" : NULL },
		{ 0 }
	};
	const struct field fileio[] = {
		{ L.io_fileio_dict, "__dict__" }, { 0 }
	};
	const struct field buffered[] = {
		{ L.io_buffered_raw, "raw" },
		{ L.io_buffered_dict, "__dict__" }, { 0 }
	};
	const struct field rwpair[] = {
		{ L.io_rwpair_dict, "__dict__" },
		{ full ? L.io_rwpair_reader : 0, full ? "reader" : NULL },
		{ 0 }
	};
	const struct field textio[] = {
		{ L.io_textio_buffer, "buffer" },
		{ L.io_textio_encoding, "encoding" },
		{ L.io_textio_errors, "errors" },
		{ L.io_textio_dict, "__dict__" }, { 0 }
	};
	const struct field nl[] = {
		{ L.io_nl_decoder, "<decoder>" }, { L.io_nl_errors, "errors" },
		{ 0 }
	};

	fields_test(m, "io _IOBase", "_io._IOBase", "iobase_traverse", 32,
		    iobase);
	fields_test(m, "io BytesIO", "_io.BytesIO", "bytesio_traverse", 64,
		    bytesio);
	fields_test(m, "io StringIO", "_io.StringIO", NULL, 168, stringio);
	fields_test(m, "io FileIO", "_io.FileIO", NULL, 48, fileio);
	fields_test(m, "io BufferedReader", "_io.BufferedReader",
		    "buffered_traverse", 152, buffered);
	fields_test(m, "io BufferedWriter", "_io.BufferedWriter", NULL, 152,
		    buffered);
	fields_test(m, "io BufferedRandom", "_io.BufferedRandom", NULL, 152,
		    buffered);
	fields_test(m, "io BufferedRWPair", "_io.BufferedRWPair", NULL, 48,
		    rwpair);
	fields_test(m, "io TextIOWrapper", "_io.TextIOWrapper",
		    "textiowrapper_traverse", 200, textio);
	fields_test(m, "io IncrementalNewlineDecoder",
		    "_io.IncrementalNewlineDecoder", NULL, 40, nl);
}

/* operator, iterators, cmp_to_key, _sre, contextvars: DWARF layouts. */
static void test_iterators(unsigned m)
{
	if (m != 8 && m != 12)
		return;
	const struct field item[] = { { L.op_item, "<items>" }, { 0 } };
	const struct field attr[] = { { L.op_attr, "<attrs>" }, { 0 } };
	const struct field mc[] = {
		{ m >= 10 ? L.op_mc_name : L.op_mc_args,
		  m >= 10 ? "<name>" : "<args>" },
		{ m >= 10 ? L.op_mc_args : L.op_mc_kwds,
		  m >= 10 ? "<args>" : "<kwargs>" }, { 0 }
	};
	const struct field dq[] = { { L.dequeiter_deque, "<deque>" }, { 0 } };
	const struct field tg[] = { { L.tuplegetter_doc, "__doc__" }, { 0 } };
	const struct field odi[] = {
		{ L.odictiter_odict, "<odict>" },
		{ L.odictiter_result, "<result>" }, { 0 }
	};
	const struct field view[] = { { L.dictview_dict, "mapping" }, { 0 } };
	const struct field ci[] = {
		{ L.calliter_callable, "<callable>" },
		{ L.calliter_sentinel, "<sentinel>" }, { 0 }
	};
	const struct field key[] = {
		{ L.keyobj_cmp, "<cmp>" }, { L.keyobj_object, "obj" }, { 0 }
	};
	const struct field pat[] = {
		{ L.sre_pattern_groupindex, "<groupindex>" },
		{ L.sre_pattern_pattern, "pattern" }, { 0 }
	};
	const struct field match[] = {
		{ L.sre_match_string, "string" },
		{ L.sre_match_pattern, "re" }, { 0 }
	};
	const struct field scan[] = {
		{ L.sre_scanner_pattern, "pattern" }, { 0 }
	};
	const struct field cv[] = {
		{ L.cv_name, "name" }, { L.cv_default, "<default>" }, { 0 }
	};
	const struct field tok[] = {
		{ L.tok_ctx, "<context>" }, { L.tok_var, "var" },
		{ L.tok_oldval, "old_value" }, { 0 }
	};
	const struct field ctx[] = {
		{ L.ctx_prev, "<prev>" }, { L.ctx_vars, "<vars>" }, { 0 }
	};

	fields_test(m, "itemgetter", "operator.itemgetter",
		    "itemgetter_traverse", 48, item);
	fields_test(m, "attrgetter", "operator.attrgetter", NULL, 40, attr);
	fields_test(m, "methodcaller", "operator.methodcaller", NULL, 64, mc);
	fields_test(m, "deque iterator", "_collections._deque_iterator", NULL,
		    56, dq);
	fields_test(m, "tuplegetter", "_collections._tuplegetter", NULL, 32,
		    tg);
	fields_test(m, "odict iterator", "odict_iterator",
		    "odictiter_traverse", 64, odi);
	fields_test(m, "dict view", "odict_keys", "dictview_traverse", 24,
		    view);
	fields_test(m, "dict view odict_values", "odict_values", NULL, 24,
		    view);
	fields_test(m, "dict view odict_items", "odict_items", NULL, 24, view);
	fields_test(m, "callable_iterator", "callable_iterator", NULL, 32, ci);
	fields_test(m, "KeyWrapper", "functools.KeyWrapper", NULL, 32, key);
	fields_test(m, "re.Pattern", "re.Pattern", NULL, 96, pat);
	fields_test(m, "re.Match", "re.Match", NULL, 88, match);
	fields_test(m, "SRE_Scanner", "_sre.SRE_Scanner", NULL, 240, scan);
	fields_test(m, "ContextVar", "_contextvars.ContextVar",
		    "contextvar_tp_traverse", 64, cv);
	fields_test(m, "Token", "_contextvars.Token", NULL, 48, tok);
	fields_test(m, "Context", "_contextvars.Context", NULL, 48, ctx);
}

/* ---- itertools.c ------------------------------------------------------- */

/*
 * A _tee_dataobject that has read @p numread of its LINKCELLS values: the
 * iterator, the values read, the next link; corrupt, with only the
 * iterator, when numread is out of range.
 */
static void test_teedata(unsigned m, int32_t numread)
{
	const bool bad = numread < 0 || numread > 57;

	begin(bad ? "_tee_dataobject numread out of range" :
	      "_tee_dataobject", m);
	const int64_t size = L.teedata_values + 57 * 8;
	uint64_t type = stdlib_type("itertools._tee_dataobject",
				    "teedataobject_traverse", size, false);
	uint64_t o = image_gc_new(type, size, 1, false);
	uint64_t it = image_str("it"), next = image_str("nextlink");
	struct want want[61];
	int n = 0;

	image_w64(o + L.teedata_it, it);
	image_w32(o + L.teedata_numread, (uint32_t)numread);
	image_w64(o + L.teedata_nextlink, next);
	want[n++] = (struct want){ it, T, "it" };
	for (int32_t i = 0; i < 57; i++) {
		static char labels[57][16];
		char text[16];

		snprintf(text, sizeof(text), "value%d", (int)i);
		snprintf(labels[i], sizeof(labels[i]), "values[%d]", (int)i);
		image_w64(o + L.teedata_values + 8 * i, image_str(text));
		if (i < numread && !bad)
			want[n++] = (struct want){
				image_r64(o + L.teedata_values + 8 * i), T,
				labels[i] };
	}
	if (!bad)
		want[n++] = (struct want){ next, T, "nextlink" };
	else
		want_corrupt = "tee data object's numread out of range";
	want[n] = (struct want){ 0 };
	check(o, "itertools._tee_dataobject", want, gc_size(size), "");
}

/*
 * 3.12+: a heap type of itertools (groupby) whose traverse visits the
 * type before the fields.
 */
static void test_itertools_heap(unsigned m)
{
	begin("itertools.groupby heap type", m);
	uint64_t name, module = image_str("itertools");
	uint64_t t = image_heap_type("groupby", module, false, &name);
	const int64_t size = L.groupby_currvalue + 24;

	image_w64(t + L.tp_name, image_cstring("itertools.groupby"));
	image_w64(t + L.tp_basicsize, size);
	image_w64(t + L.tp_traverse, image_sym("groupby_traverse"));
	image_w64(t + L.tp_dictoffset, 0);
	image_w64(t + L.tp_weaklistoffset, 0);
	image_w64(t + L.tp_members, 0);
	uint64_t o = image_gc_new(t, size, 1, false);
	uint64_t it = image_str("it"), key = image_str("key");
	uint64_t value = image_str("value");

	image_w64(o + L.groupby_it, it);
	image_w64(o + L.groupby_keyfunc, image_sym("_Py_NoneStruct"));
	image_w64(o + L.groupby_tgtkey, key);
	image_w64(o + L.groupby_currkey, key);
	image_w64(o + L.groupby_currvalue, value);
	const struct want want[] = {
		{ t, T, "__class__" }, { it, T, "it" },
		{ image_sym("_Py_NoneStruct"), T, "keyfunc" },
		{ key, T, "tgtkey" }, { key, T, "currkey" },
		{ value, T, "currvalue" }, { 0 }
	};

	check(o, "itertools.groupby", want, gc_size(size), "");
}

/*
 * Every itertools row: groupby and the tee's data object by their
 * traverse, the others by name; the fields each visits, in its order,
 * on 3.8 (static types, accumulate's initial) and 3.13 (heap types,
 * pairwise's result, batched).
 */
static void test_itertools(unsigned m)
{
	if (m != 8 && m != 13)
		return;
	const struct field gb[] = {
		{ L.groupby_it, "it" }, { L.groupby_keyfunc, "keyfunc" },
		{ L.groupby_tgtkey, "tgtkey" },
		{ L.groupby_currkey, "currkey" },
		{ L.groupby_currvalue, "currvalue" }, { 0 }
	};
	const struct field gr[] = {
		{ L.grouper_parent, "parent" },
		{ L.grouper_tgtkey, "tgtkey" }, { 0 }
	};
	const struct field tee[] = { { L.tee_dataobj, "dataobj" }, { 0 } };
	const struct field cyc[] = {
		{ L.cycle_it, "it" }, { L.cycle_saved, "saved" }, { 0 }
	};
	const struct field dw[] = {
		{ L.dropwhile_it, "it" }, { L.dropwhile_func, "func" }, { 0 }
	};
	const struct field tw[] = {
		{ L.takewhile_it, "it" }, { L.takewhile_func, "func" }, { 0 }
	};
	const struct field sm[] = {
		{ L.starmap_it, "it" }, { L.starmap_func, "func" }, { 0 }
	};
	const struct field ff[] = {
		{ L.filterfalse_it, "it" }, { L.filterfalse_func, "func" },
		{ 0 }
	};
	const struct field isl[] = { { L.islice_it, "it" }, { 0 } };
	const struct field ch[] = {
		{ L.chain_source, "source" }, { L.chain_active, "active" },
		{ 0 }
	};
	const struct field pr[] = {
		{ L.product_pools, "pools" }, { L.product_result, "result" },
		{ 0 }
	};
	const struct field co[] = {
		{ L.combinations_pool, "pool" },
		{ L.combinations_result, "result" }, { 0 }
	};
	const struct field cwr[] = {
		{ L.cwr_pool, "pool" }, { L.cwr_result, "result" }, { 0 }
	};
	const struct field pe[] = {
		{ L.permutations_pool, "pool" },
		{ L.permutations_result, "result" }, { 0 }
	};
	const struct field acc[] = {
		{ L.accumulate_binop, "func" }, { L.accumulate_it, "it" },
		{ L.accumulate_total, "total" },
		{ L.accumulate_initial, "initial" }, { 0 }
	};
	const struct field cm[] = {
		{ L.compress_data, "data" },
		{ L.compress_selectors, "selectors" }, { 0 }
	};
	const struct field cnt[] = {
		{ L.count_long_cnt, "long_cnt" },
		{ L.count_long_step, "long_step" }, { 0 }
	};
	const struct field rep[] = { { L.repeat_element, "element" }, { 0 } };
	const struct field zl[] = {
		{ L.ziplongest_ittuple, "ittuple" },
		{ L.ziplongest_result, "result" },
		{ L.ziplongest_fillvalue, "fillvalue" }, { 0 }
	};
	const struct field pw[] = {
		{ L.pairwise_it, "it" }, { L.pairwise_old, "old" },
		{ L.pairwise_result, "result" }, { 0 }
	};
	const struct field ba[] = { { L.batched_it, "it" }, { 0 } };

	fields_test(m, "itertools.groupby", "itertools.groupby",
		    "groupby_traverse", 72, gb);
	fields_test(m, "itertools.groupby", "itertools.groupby", NULL, 72, gb);
	fields_test(m, "itertools._grouper", "itertools._grouper", NULL, 32,
		    gr);
	fields_test(m, "itertools._tee", "itertools._tee", NULL, 48, tee);
	fields_test(m, "itertools.cycle", "itertools.cycle", NULL, 48, cyc);
	fields_test(m, "itertools.dropwhile", "itertools.dropwhile", NULL, 40,
		    dw);
	fields_test(m, "itertools.takewhile", "itertools.takewhile", NULL, 40,
		    tw);
	fields_test(m, "itertools.starmap", "itertools.starmap", NULL, 32, sm);
	fields_test(m, "itertools.filterfalse", "itertools.filterfalse", NULL,
		    32, ff);
	fields_test(m, "itertools.islice", "itertools.islice", NULL, 56, isl);
	fields_test(m, "itertools.chain", "itertools.chain", NULL, 32, ch);
	fields_test(m, "itertools.product", "itertools.product", NULL, 48, pr);
	fields_test(m, "itertools.combinations", "itertools.combinations",
		    NULL, 56, co);
	fields_test(m, "itertools.combinations_with_replacement",
		    "itertools.combinations_with_replacement", NULL, 56, cwr);
	fields_test(m, "itertools.permutations", "itertools.permutations",
		    NULL, 64, pe);
	fields_test(m, "itertools.accumulate", "itertools.accumulate", NULL,
		    56, acc);
	fields_test(m, "itertools.compress", "itertools.compress", NULL, 32,
		    cm);
	fields_test(m, "itertools.count", "itertools.count", NULL, 40, cnt);
	fields_test(m, "itertools.repeat", "itertools.repeat", NULL, 32, rep);
	fields_test(m, "itertools.zip_longest", "itertools.zip_longest", NULL,
		    56, zl);
	if (m >= 13) {
		fields_test(m, "itertools.pairwise", "itertools.pairwise",
			    NULL, 40, pw);
		fields_test(m, "itertools.batched", "itertools.batched", NULL,
			    40, ba);
		test_itertools_heap(m);
	}
	test_teedata(m, 3);
	test_teedata(m, 57);
	test_teedata(m, 58);
	test_teedata(m, -1);
}

/* types.GenericAlias, types.UnionType (DWARF); _json (constants). */
static void test_aliases_json(unsigned m)
{
	if (m != 6 && m != 12)
		return;
	const bool v6 = m == 6;
	const struct field ga[] = {
		{ L.ga_origin, "__origin__" }, { L.ga_args, "__args__" },
		{ 0 }
	};
	const struct field un[] = { { L.union_args, "__args__" }, { 0 } };
	const struct field scanner[] = {
		{ v6 ? 16 : 24, v6 ? "strict" : "object_hook" },
		{ 56, "parse_constant" }, { 0 }
	};
	const struct field encoder[] = {
		{ 16, "markers" }, { 24, "default" }, { 56, "item_separator" },
		{ v6 ? 72 : 0, v6 ? "skipkeys" : NULL }, { 0 }
	};

	if (!v6) {
		fields_test(m, "GenericAlias", "types.GenericAlias",
			    "ga_traverse", 64, ga);
		fields_test(m, "UnionType", "types.UnionType", NULL, 32, un);
	}
	fields_test(m, "json Scanner", "_json.Scanner", NULL, 72, scanner);
	fields_test(m, "json Encoder", "_json.Encoder", NULL, 96, encoder);
}

/* extmods.c: _csv, _struct, array, _queue, _socket, _ssl, _lsprof, _thread
 * (constants of the extension modules' structs, matched by name). */

enum {
	EXT_TYPE = -2,   // the reference to the instance's type
	EXT_SKIP = -3,   // not in this version
};

/* A reference of an ext_test() instance; the list ends with off 0. */
struct ext_field {
	int32_t off;
	int kind;
	const char *label;
};

/*
 * An instance of a type named @p tp_name, static or (@p heap) a heap type,
 * whose references @p f are set to distinct strs (EXT_TYPE: its type) and
 * must be reported in that order.
 */
/*
 * A type named @p tp_name, static or (@p heap) a heap type, with a
 * traverse matched by name alone; its instances are tracked unless
 * @p untracked (a static type without Py_TPFLAGS_HAVE_GC).
 */
static uint64_t ext_type(const char *tp_name, int64_t basicsize, bool heap,
			 bool untracked)
{
	uint64_t type, unused;

	if (heap) {
		type = image_heap_type(tp_name, image_str("m"), false, &unused);
		image_w64(type + L.tp_name, image_cstring(tp_name));
		image_w64(type + L.tp_basicsize, basicsize);
		image_w64(type + L.tp_dictoffset, 0);
		image_w64(type + L.tp_weaklistoffset, 0);
		image_wfield(type, L.tp_members, 0);
		image_w64(type + L.tp_traverse,
			  image_sym("partial_traverse") + 8);
		return type;
	}
	type = stdlib_type(tp_name, "partial_traverse", basicsize, true);
	if (untracked) {
		image_w64(type + L.tp_flags, 1UL << 12);
		image_w64(type + L.tp_traverse, 0);
	}
	return type;
}

/*
 * Set the references @p f of instance @p o of @p type to distinct strs
 * (EXT_TYPE: its type) and list them in @p want, from @p n on, in that
 * order; returns the number of references wanted.
 */
static size_t ext_fill(uint64_t o, uint64_t type, const struct ext_field *f,
		       struct want *want, size_t n)
{
	for (; f->off && n < 15; f++) {
		char text[32];

		if (f->off == EXT_SKIP)
			continue;
		if (f->off == EXT_TYPE) {
			want[n++] = (struct want){ type, T, "__class__" };
			continue;
		}
		snprintf(text, sizeof(text), "x%zu", n);
		want[n] = (struct want){ image_str(text), f->kind, f->label };
		image_w64(o + f->off, want[n++].dst);
	}
	want[n].dst = 0;
	return n;
}

static void ext_test(unsigned m, const char *row, const char *tp_name,
		     int64_t basicsize, bool heap, const struct ext_field *f)
{
	static char name[96];   // the test's name until the next begin()

	snprintf(name, sizeof(name), "%s%s", row, heap ? " heap" : "");
	begin(name, m);
	uint64_t type = ext_type(tp_name, basicsize, heap, false);
	uint64_t o = image_gc_new(type, basicsize, 1, false);
	struct want want[16];

	ext_fill(o, type, f, want, 0);
	check(o, row, want, gc_size(basicsize), "");
}

/*
 * ext_test() for an instance of a static type that the collector does
 * not track, found through a list.
 */
static void ext_untracked_test(unsigned m, const char *row,
			       const char *tp_name, int64_t basicsize,
			       const struct ext_field *f)
{
	static char name[96];   // the test's name until the next begin()

	snprintf(name, sizeof(name), "%s untracked", row);
	begin(name, m);
	uint64_t type = ext_type(tp_name, basicsize, false, true);
	uint64_t o = image_alloc(basicsize);
	struct want want[16];

	image_header(o, type, 1);
	ext_fill(o, type, f, want, 0);
	hold(o);
	check(o, row, want, round8(basicsize), "");
}

static void test_extmods_csv_struct_array(unsigned m)
{
	const bool heap = m >= 10;
	const int32_t type = heap ? EXT_TYPE : EXT_SKIP;
	const struct ext_field dialect[] = {
		{ 40, T, "lineterminator" }, { EXT_TYPE, T, NULL }, { 0 }
	};
	const struct ext_field reader[] = {
		{ 24, T, "dialect" }, { 16, T, "<input_iter>" },
		{ 32, T, "<fields>" }, { type, T, NULL }, { 0 }
	};
	const struct ext_field writer[] = {
		{ 24, T, "dialect" }, { 16, T, "<write>" },
		{ heap ? 64 : EXT_SKIP, T, "<error_obj>" }, { type, T, NULL },
		{ 0 }
	};
	const struct ext_field st[] = {
		{ EXT_TYPE, T, NULL }, { 40, T, "format" }, { 0 }
	};
	const struct ext_field unpack[] = {
		{ type, T, NULL }, { 16, T, "<struct>" },
		{ 32, T, "<buffer obj>" }, { 0 }
	};
	const struct ext_field arrayiter[] = {
		{ type, T, NULL }, { 24, T, "<array>" }, { 0 }
	};
	const struct ext_field type_only[] = { { EXT_TYPE, T, NULL }, { 0 } };

	ext_test(m, "csv reader", "_csv.reader", 88, heap, reader);
	ext_test(m, "csv writer", "_csv.writer", 72, heap, writer);
	if (!heap) {
		ext_test(m, "unpack_iterator 3.6-3.8", "unpack_iterator", 112,
			 false, unpack);
		ext_test(m, "arrayiterator 3.6-3.9", "arrayiterator", 40,
			 false, arrayiter);
		return;
	}
	ext_test(m, "csv Dialect", "_csv.Dialect", 48, true, dialect);
	ext_test(m, "Struct", "_struct.Struct", 56, true, st);
	ext_test(m, "unpack_iterator", "_struct.unpack_iterator", 112, true,
		 unpack);
	ext_test(m, "array", "array.array", 64, true, type_only);
	ext_test(m, "arrayiterator", "array.arrayiterator", 40, true,
		 arrayiter);
}

/*
 * SimpleQueue: its list (≤3.12), or the items of its ring buffer from the
 * get index on, wrapping around (3.13).
 */
static void test_simplequeue(unsigned m)
{
	if (m < 13) {
		const struct ext_field q[] = {
			{ 32, T, "<queue>" },
			{ m >= 10 ? EXT_TYPE : EXT_SKIP, T, NULL }, { 0 }
		};

		ext_test(m, "SimpleQueue", "_queue.SimpleQueue", 56, m >= 10,
			 q);
		return;
	}
	begin("SimpleQueue ring", m);
	uint64_t type = stdlib_type("_queue.SimpleQueue", "partial_traverse",
				    72, true);
	uint64_t o = image_gc_new(type, 72, 1, false);
	uint64_t items = image_alloc(4 * 8);
	uint64_t v[4];

	for (int i = 0; i < 4; i++) {
		char text[8];

		snprintf(text, sizeof(text), "q%d", i);
		v[i] = image_str(text);
	}
	// Three items from index 2 of 4: slots 2, 3, then 0.
	image_w64(items + 16, v[0]);
	image_w64(items + 24, v[1]);
	image_w64(items + 0, v[2]);
	image_w64(items + 8, v[3]);   // a stale slot, not an item
	image_w64(o + 24 + 0, 1);     // put_idx
	image_w64(o + 24 + 8, 2);     // get_idx
	image_w64(o + 24 + 16, items);
	image_w64(o + 24 + 24, 4);    // items_cap
	image_w64(o + 24 + 32, 3);    // num_items
	const struct want want[] = {
		{ v[0], T, "<item>" }, { v[1], T, "<item>" },
		{ v[2], T, "<item>" }, { 0 }
	};

	check(o, "SimpleQueue", want, gc_size(72), "");
}

static void test_extmods_ssl_lsprof_thread(unsigned m)
{
	const bool heap = m >= 10;
	const int32_t type = heap ? EXT_TYPE : EXT_SKIP;
	const struct ext_field ctx[] = {
		{ 40, T, "sni_callback" }, { 64, T, "_msg_callback" },
		{ type, T, NULL },
		{ m >= 13 ? 96 : EXT_SKIP, S, "<psk_client_callback>" },
		{ m >= 13 ? 104 : EXT_SKIP, S, "<psk_server_callback>" },
		{ 0 }
	};
	const struct ext_field sock[] = {
		{ m >= 12 ? 72 : EXT_SKIP, T, "<exc>" },
		{ m < 12 ? 72 : EXT_SKIP, T, "<exc_type>" },
		{ m < 12 ? 80 : EXT_SKIP, T, "<exc_value>" },
		{ m < 12 ? 88 : EXT_SKIP, T, "<exc_tb>" }, { type, T, NULL },
		{ 0 }
	};
	const struct ext_field prof[] = {
		{ type, T, NULL }, { 48, m >= 13 ? T : S, "timer" }, { 0 }
	};
	const struct ext_field type_only[] = { { EXT_TYPE, T, NULL }, { 0 } };

	ext_test(m, "ssl _SSLContext", "_ssl._SSLContext",
		 m >= 13 ? 112 : 96, heap, ctx);
	ext_test(m, "ssl _SSLSocket", "_ssl._SSLSocket", 96, heap, sock);
	ext_test(m, "lsprof Profiler", "_lsprof.Profiler", 80, heap, prof);
	if (!heap)
		return;
	ext_test(m, "ssl MemoryBIO", "_ssl.MemoryBIO", 48, true, type_only);
	ext_test(m, "thread lock", "_thread.lock", 40, true, type_only);
	ext_test(m, "thread RLock", "_thread.RLock", 48, true, type_only);
	if (m >= 12)
		ext_test(m, "socket", "_socket.socket", 56, true, type_only);
	if (m >= 13)
		ext_test(m, "thread _ThreadHandle", "_thread._ThreadHandle",
			 48, true, type_only);
}

/*
 * _elementtree's TreeBuilder and XMLParser (heap types from 3.12; 3.13's
 * parser owns its module unvisited) and the element iterator, whose
 * stack of parents is walked from the top down, up to the entries used.
 */
static void test_extmods_elementtree(unsigned m)
{
	const bool heap = m >= 12;
	const int32_t type = heap ? EXT_TYPE : EXT_SKIP;
	const struct ext_field builder[] = {
		{ type, T, NULL }, { 144, T, "pi_event_obj" },
		{ 136, T, "comment_event_obj" }, { 128, T, "end_ns_event_obj" },
		{ 120, T, "start_ns_event_obj" }, { 112, T, "end_event_obj" },
		{ 104, T, "start_event_obj" }, { 96, T, "events_append" },
		{ 16, T, "root" }, { 24, T, "this" }, { 32, T, "last" },
		{ 40, T, "last_for_tail" }, { 48, T, "data" },
		{ 56, T, "stack" }, { 88, T, "pi_factory" },
		{ 80, T, "comment_factory" }, { 72, T, "element_factory" },
		{ 0 }
	};
	const struct ext_field parser[] = {
		{ type, T, NULL }, { 112, T, "handle_close" },
		{ 96, T, "handle_pi" }, { 88, T, "handle_comment" },
		{ 80, T, "handle_end" }, { 72, T, "handle_data" },
		{ 64, T, "handle_start" }, { 48, T, "handle_start_ns" },
		{ 56, T, "handle_end_ns" }, { 104, T, "handle_doctype" },
		{ 24, T, "target" }, { 32, T, "entity" }, { 40, T, "names" },
		{ m >= 13 ? 128 : EXT_SKIP, S, "<elementtree_module>" },
		{ 0 }
	};

	ext_test(m, "TreeBuilder", "xml.etree.ElementTree.TreeBuilder",
		 heap ? 168 : 160, heap, builder);
	ext_test(m, "XMLParser", "xml.etree.ElementTree.XMLParser",
		 m >= 13 ? 136 : heap ? 128 : 120, heap, parser);

	begin(heap ? "element iterator heap" : "element iterator", m);
	uint64_t t = ext_type("_elementtree._element_iterator", 64, heap,
			      false);
	uint64_t o = image_gc_new(t, 64, 1, false);
	uint64_t stack = image_alloc(4 * 16);
	uint64_t p[3];

	for (int i = 0; i < 3; i++) {
		char text[8];

		snprintf(text, sizeof(text), "p%d", i);
		p[i] = image_str(text);
		image_w64(stack + 16 * i, p[i]);       // ParentLocator.parent
		image_w64(stack + 16 * i + 8, i + 1);  // .child_index
	}
	image_w64(o + 16, stack);   // parent_stack
	image_w64(o + 24, 2);       // parent_stack_used: p[2] is stale
	image_w64(o + 32, 4);       // parent_stack_size
	const struct ext_field rest[] = {
		{ 40, T, "root_element" }, { 48, T, "tag" }, { type, T, NULL },
		{ 0 }
	};
	struct want want[16] = {
		{ p[1], T, "<parent>" }, { p[0], T, "<parent>" },
	};

	ext_fill(o, t, rest, want, 2);
	check(o, "element iterator", want, gc_size(64), "");
}

/*
 * _decimal's Context, ContextManager and Decimal: heap types with a
 * traverse from 3.13; before, static types whose instances the collector
 * does not track and which own their fields all the same.
 */
static void test_extmods_decimal(unsigned m)
{
	const bool heap = m >= 13;
	const int kind = heap ? T : S;
	const int32_t type = heap ? EXT_TYPE : EXT_SKIP;
	const struct ext_field ctx[] = {
		{ type, T, NULL }, { 64, kind, "traps" }, { 72, kind, "flags" },
		{ 0 }
	};
	const struct ext_field mgr[] = {
		{ type, T, NULL }, { 16, kind, "local" }, { 24, kind, "global" },
		{ 0 }
	};

	if (heap) {
		ext_test(m, "decimal Context", "decimal.Context", 96, true,
			 ctx);
		ext_test(m, "decimal ContextManager", "decimal.ContextManager",
			 32, true, mgr);
	} else {
		ext_untracked_test(m, "decimal Context", "decimal.Context", 96,
				   ctx);
		ext_untracked_test(m, "decimal ContextManager",
				   "decimal.ContextManager", 32, mgr);
	}
	// A Decimal holds no object: a word of its digits that looks like
	// one (as a conservative scan would take it) is not a reference.
	begin(heap ? "decimal Decimal heap" : "decimal Decimal untracked", m);
	uint64_t t = ext_type("decimal.Decimal", 104, heap, !heap);
	uint64_t o = heap ? image_gc_new(t, 104, 1, false) : image_alloc(104);
	struct want want[] = { { t, T, "__class__" }, { 0 } };

	image_w64(o + 72, image_str("digits"));   // its inline data[0]
	if (heap) {
		check(o, "decimal Decimal", want, gc_size(104), "");
		return;
	}
	image_header(o, t, 1);
	hold(o);
	check(o, "decimal Decimal", want + 1, round8(104), "");
}

/* ---- functions.c --------------------------------------------------------- */

static uint64_t code_new(const char *name)
{
	uint64_t code = image_alloc(200);
	uint64_t n = image_str(name);
	uint64_t names[] = { n };

	image_header(code, image_sym("PyCode_Type"), 2);
	image_wfield(code, L.code_names, image_tuple(1, names));
	image_wfield(code, L.code_filename, image_str("f.py"));
	image_wfield(code, L.code_name, n);
	image_wfield(code, L.code_qualname, n);
	return code;
}

static void test_code(unsigned m)
{
	begin("code", m);
	uint64_t code = code_new("f");
	uint64_t names = image_r64(code + L.code_names);
	uint64_t file = image_r64(code + L.code_filename);
	uint64_t name = image_r64(code + L.code_name);
	struct want want[8] = {
		{ names, S, "co_names" }, { file, S, "co_filename" },
		{ name, S, "co_name" },
	};

	if (L.code_qualname >= 0)
		want[3] = (struct want){ name, S, "co_qualname" };
	hold(code);
	check(code, "code", want, round8(200), "f");
}

static void test_function(unsigned m)
{
	begin("function", m);
	uint64_t code = code_new("g"), globals = image_dict(0, NULL, NULL,
							    false);
	uint64_t module = image_str("mod"), qualname = image_str("C.g");
	uint64_t func = image_gc_new(image_sym("PyFunction_Type"), 160, 1,
				     false);

	image_wfield(func, L.func_code, code);
	image_wfield(func, L.func_globals, globals);
	image_wfield(func, L.func_module, module);
	image_wfield(func, L.func_name, image_r64(code + L.code_name));
	image_wfield(func, L.func_qualname, qualname);
	const struct want want[] = {
		{ code, T, "__code__" }, { globals, T, "__globals__" },
		{ module, T, "__module__" },
		{ image_r64(code + L.code_name), T, "__name__" },
		{ qualname, T, "__qualname__" }, { 0 }
	};

	check(func, "function", want, gc_size(160), "mod.C.g");
}

static void test_method(unsigned m)
{
	begin("method", m);
	uint64_t f = image_str("f"), self = image_int(1);
	uint64_t o = image_gc_new(image_sym("PyMethod_Type"), 48, 1, false);

	type_gc("PyMethod_Type", "method", 48, 2);
	image_w64(o + L.method_func, f);
	image_w64(o + L.method_self, self);
	const struct want want[] = {
		{ f, T, "__func__" }, { self, T, "__self__" }, { 0 }
	};

	check(o, "method", want, gc_size(48), "");
}

static void test_cfunction(unsigned m)
{
	begin("builtin_function", m);
	uint64_t self = image_str("s"), mod = image_str("m");
	uint64_t cls = image_sym("PyBaseObject_Type");
	uint64_t ml = image_alloc(32);
	int64_t size = 64;
	uint64_t o = image_gc_new(image_sym("PyCMethod_Type"), size, 1, false);

	type_gc("PyCFunction_Type", "builtin_function_or_method", size, 3);
	type_gc("PyCMethod_Type", "builtin_method", size, 3);
	image_w32(ml + L.methoddef_flags, 0x0200); // METH_METHOD
	image_w64(o + L.cfunc_ml, ml);
	image_w64(o + L.cfunc_self, self);
	image_wfield(o, L.cfunc_module, mod);
	image_wfield(o, L.cmethod_class, cls);
	struct want want[4] = { { 0 } }, *w = want;

	if (L.cmethod_class >= 0)
		*w++ = (struct want){ cls, T, "__class__" };
	*w++ = (struct want){ self, T, "__self__" };
	*w++ = (struct want){ mod, T, "__module__" };
	check(o, "builtin_function", want, gc_size(size), "");
}

static void test_classmethod(unsigned m)
{
	begin("staticmethod", m);
	uint64_t f = image_str("f"), dict = image_dict(0, NULL, NULL, false);
	uint64_t o = image_gc_new(image_sym("PyStaticMethod_Type"), 32, 1,
				  false);

	type_gc("PyStaticMethod_Type", "staticmethod", 32, 4);
	image_w64(o + L.cm_callable, f);
	image_w64(o + L.cm_dict, dict);
	const struct want want[] = {
		{ f, T, "__func__" }, { dict, T, "__dict__" }, { 0 }
	};

	check(o, "classmethod", want, gc_size(32), "");
}

static void test_property(unsigned m)
{
	begin("property", m);
	uint64_t get = image_str("g"), doc = image_str("d");
	uint64_t o = image_gc_new(image_sym("PyProperty_Type"), 64, 1, false);

	type_gc("PyProperty_Type", "property", 64, 5);
	image_w64(o + L.prop_get, get);
	image_w64(o + L.prop_doc, doc);
	const struct want want[] = {
		{ get, T, "fget" }, { doc, T, "__doc__" }, { 0 }
	};

	check(o, "property", want, gc_size(64), "");
}

static void test_descriptor(unsigned m)
{
	begin("member_descriptor", m);
	uint64_t cls = image_sym("PyTuple_Type"), name = image_str("x");
	uint64_t o = image_gc_new(image_sym("PyMemberDescr_Type"), 48, 1,
				  false);

	type_gc("PyMemberDescr_Type", "member_descriptor", 48, 6);
	image_w64(o + L.descr_type, cls);
	image_w64(o + L.descr_name, name);
	image_wfield(o, L.descr_qualname, name);
	struct want want[] = {
		{ cls, T, "__objclass__" }, { name, S, "__name__" },
		{ name, S, "__qualname__" }, { 0 }
	};

	if (L.descr_qualname < 0)
		want[2].dst = 0;
	check(o, "descriptor", want, gc_size(48), "");
}

/* ---- types.c ------------------------------------------------------------- */

static void test_module(unsigned m)
{
	begin("module", m);
	uint64_t name = image_str("mod"), dict = image_dict(0, NULL, NULL,
							    false);
	uint64_t o = image_gc_new(image_sym("PyModule_Type"), 72, 1, false);

	image_w64(o + L.module_dict, dict);
	image_wfield(o, L.module_name, name);
	struct want want[] = {
		{ dict, T, "__dict__" }, { name, S, "__name__" }, { 0 }
	};

	if (L.module_name < 0) {
		want[1].dst = 0;
		check(o, "module", want, gc_size(72), "");
		return;
	}
	check(o, "module", want, gc_size(72), "mod");
}

/*
 * A module's definition, an object once PyModuleDef_Init() ran: the dict
 * that m_base.m_copy keeps, owned and never visited.
 */
static void test_moduledef(unsigned m)
{
	begin("moduledef", m);
	image_static_type("PyModuleDef_Type", "moduledef", 104, 0, 0, 0);
	uint64_t def = image_alloc(104);
	uint64_t copy = image_dict(0, NULL, NULL, false);

	image_header(def, image_sym("PyModuleDef_Type"),
		     image_refcnt_static());
	image_w64(def + L.moduledef_copy, copy);
	image_w64(def + L.moduledef_size, 0);
	hold(def);
	const struct want want[] = { { copy, S, "m_copy" }, { 0 } };

	check(def, "moduledef", want, 104, "");
}

static void test_heap_type(unsigned m)
{
	begin("heap type", m);
	uint64_t module = image_str("leaky"), name;
	uint64_t t = image_heap_type("Leaky", module, false, &name);
	uint64_t dict = image_r64(t + L.tp_dict), mro = image_r64(t + L.tp_mro);
	uint64_t bases = image_r64(t + L.tp_bases);
	uint64_t object = image_sym("PyBaseObject_Type");
	struct want want[16] = {
		{ dict, T, "__dict__" }, { mro, T, "__mro__" },
		{ bases, T, "__bases__" }, { object, T, "__base__" },
	}, *w = want + 4;

	if (L.ht_name >= 0)
		*w++ = (struct want){ name, S, "__name__" };
	if (L.ht_qualname >= 0)
		*w++ = (struct want){ name, S, "__qualname__" };
	// Its __slots__ member, and the one more PyType_GenericAlloc adds.
	image_w64(t + L.ob_size, 1);
	image_w64(image_sym("PyType_Type") + L.tp_alloc,
		  image_sym("PyType_GenericAlloc"));
	check(t, "type", want,
	      gc_size(L.sizeof_heaptype + 2 * L.sizeof_member),
	      "leaky.Leaky");
}

static void test_static_type(unsigned m)
{
	begin("static type", m);
	uint64_t t = image_sym("PyFloat_Type");
	uint64_t object = image_sym("PyBaseObject_Type");
	const struct want want[] = { { object, S, "__base__" }, { 0 } };

	hold(t);
	// Static types have no GC head.
	check(t, "type", want, round8(L.sizeof_heaptype), "float");
}

static void test_subtype(unsigned m, bool managed)
{
	begin(managed ? "instance, managed dict" : "instance", m);
	uint64_t module = image_str("leaky"), name;
	uint64_t t = image_heap_type("Leaky", module, managed, &name);
	uint64_t k = image_str("a"), v = image_int(1);
	uint64_t keys[] = { k }, values[] = { v };
	uint64_t dict = image_dict(1, keys, values, false);
	uint64_t slot = image_str("s");
	uint64_t o = image_instance(t, managed, dict, slot);

	image_w64(t + L.ob_size, 1); // its one __slots__ member
	bool mdict = managed && L.managed_dict;
	const struct want want[] = {
		{ slot, T, "slot" }, { dict, T, "__dict__" },
		{ t, T, "__class__" }, { 0 }
	};
	int64_t size = gc_size(mdict ? 24 : 40) + (mdict ? L.preheader : 0);

	check(o, "subtype", want, size, "");
}

/*
 * 3.13: a class's instance keeps its attributes' values inline, after the
 * object, labelled with the keys shared in ht_cached_keys.
 */
static void test_inline_values(unsigned m)
{
	begin("instance, inline values", m);
	uint64_t module = image_str("leaky"), name;
	uint64_t t = image_heap_type("Leaky", module, true, &name);
	uint64_t ka = image_str("a"), kb = image_str("b");
	uint64_t va = image_int(1), vb = image_str("B");
	uint64_t keys[] = { ka, kb }, values[] = { 0, 0 };
	uint64_t shared = image_r64(image_dict(2, keys, values, false) +
				    L.dict_keys);
	int64_t basic = 24;
	unsigned cap = 2;
	int64_t inline_size = L.dv_values + 8 * cap + 8;
	uint64_t o = image_gc_new(t, basic + inline_size, 1, true);
	uint64_t vals = o + basic;

	image_w64(t + L.tp_flags, image_r64(t + L.tp_flags) |
				  TPFLAGS_INLINE_VALUES);
	image_w64(t + L.ht_cached_keys, shared);
	image_w64(shared + L.dk_usable, 0);
	image_w8(vals + L.dv_capacity, cap);
	image_w8(vals + L.dv_valid, 1);
	image_w64(vals + L.dv_values, va);
	image_w64(vals + L.dv_values + 8, vb);
	const struct want want[] = {
		{ va, T, "a" }, { vb, T, "b" }, { t, T, "__class__" }, { 0 }
	};

	check(o, "subtype", want, gc_size(basic + inline_size) + L.preheader,
	      "");
}

static void test_exception(unsigned m)
{
	begin("BaseException", m);
	uint64_t args = image_tuple(0, NULL);
	uint64_t e = image_gc_new(image_sym("_PyExc_BaseException"), 88, 1,
				  false);

	image_w64(e + L.exc_args, args);
	image_w64(e + L.exc_context, e);
	const struct want want[] = {
		{ args, T, "args" }, { e, T, "__context__" }, { 0 }
	};

	check(e, "exception", want, gc_size(88), "");

	// A subclass with a traverse of its own and a member of its own
	// (OSError's filename, say): known by Py_TPFLAGS_BASE_EXC_SUBCLASS.
	// A new image: the tuple of the last one is gone.
	begin("exception subclass", m);
	args = image_tuple(0, NULL);
	uint64_t type = image_alloc(IMAGE_TYPE_SLOT);
	uint64_t members = image_alloc(3 * L.sizeof_member);
	uint64_t file = image_str("f.txt");

	image_header(type, image_sym("PyType_Type"), image_refcnt_static());
	image_w64(type + L.tp_name, image_cstring("OSError"));
	image_w64(type + L.tp_basicsize, 104);
	image_w64(type + L.tp_flags, TPFLAGS_HAVE_GC |
				     TPFLAGS_BASE_EXC_SUBCLASS | 1UL << 12);
	image_w64(type + L.tp_traverse, image_sym("lookdict") + 0x2000);
	image_w64(type + L.tp_base, image_sym("_PyExc_BaseException"));
	image_w64(type + L.tp_members, members);
	image_w64(members + L.member_name, image_cstring("filename"));
	image_w32(members + L.member_type, MEMBER_T_OBJECT);
	image_w64(members + L.member_offset, 96);
	e = image_gc_new(type, 104, 1, false);
	image_w64(e + L.exc_args, args);
	image_w64(e + 96, file);
	const struct want want2[] = {
		{ args, T, "args" }, { file, T, "filename" }, { 0 }
	};

	check(e, "exception", want2, gc_size(104), "");
}

/*
 * A metatype with a traverse of its own (ctypes' PyCStructType): its
 * instances are decoded as types, the words it adds scanned.
 */
static void test_metatype(unsigned m)
{
	begin("metatype", m);
	int64_t meta_size = L.sizeof_heaptype + 16;
	uint64_t meta = image_alloc(IMAGE_TYPE_SLOT);
	uint64_t object = image_sym("PyBaseObject_Type");
	uint64_t extra = image_str("extra");

	image_header(meta, image_sym("PyType_Type"), image_refcnt_static());
	image_w64(meta + L.tp_name, image_cstring("meta.Meta"));
	image_w64(meta + L.tp_basicsize, meta_size);
	image_w64(meta + L.tp_flags, TPFLAGS_HAVE_GC | TPFLAGS_TYPE_SUBCLASS |
				     1UL << 12);
	image_w64(meta + L.tp_traverse, image_sym("lookdict") + 0x3000);
	image_w64(meta + L.tp_base, image_sym("PyType_Type"));
	// A static instance, as C code makes them.
	uint64_t t = image_alloc(meta_size);

	image_header(t, meta, image_refcnt_static());
	image_w64(t + L.tp_name, image_cstring("Struct"));
	image_w64(t + L.tp_basicsize, 32);
	image_w64(t + L.tp_flags, 1UL << 12);
	image_w64(t + L.tp_base, object);
	image_w64(t + L.sizeof_heaptype + 8, extra);
	hold(t);
	char label[32];

	snprintf(label, sizeof(label), "<+%d>", L.sizeof_heaptype + 8);
	const struct want want[] = {
		{ object, S, "__base__" }, { extra, C, label }, { 0 }
	};

	// The GC head is counted even for a static instance: only the type
	// row tells static types apart (DECODER_GC_IF_HEAP); and it has no
	// preview.
	check(t, "metatype", want, gc_size(meta_size), "");
}

/* ---- misc.c -------------------------------------------------------------- */

static void test_cell(unsigned m)
{
	begin("cell", m);
	uint64_t v = image_str("v");
	uint64_t cell = image_gc_new(image_sym("PyCell_Type"), L.cell_ref + 8,
				     1, false);

	image_w64(cell + L.cell_ref, v);
	const struct want want[] = { { v, T, "cell_contents" }, { 0 } };

	check(cell, "cell", want, gc_size(L.cell_ref + 8), "");
}

static void test_weakref(unsigned m)
{
	begin("weakref", m);
	uint64_t target = image_tuple(0, NULL), cb = image_str("cb");
	uint64_t o = image_gc_new(image_sym("_PyWeakref_RefType"), 64, 1,
				  false);

	type_gc("_PyWeakref_RefType", "weakref.ReferenceType", 64, 7);
	image_w64(o + L.weakref_object, target);
	image_w64(o + L.weakref_callback, cb);
	const struct want want[] = {
		{ cb, T, "__callback__" }, { target, B, "referent" }, { 0 }
	};

	check(o, "weakref", want, gc_size(64), "");
}

static void test_slice(unsigned m)
{
	begin("slice", m);
	uint64_t a = image_int(1), b = image_int(10);
	uint64_t o = image_gc_new(image_sym("PySlice_Type"), 40, 1, false);

	type_gc("PySlice_Type", "slice", 40, 8);
	image_w64(o + L.slice_start, a);
	image_w64(o + L.slice_stop, b);
	image_w64(o + L.slice_step, image_sym("_Py_NoneStruct"));
	const struct want want[] = {
		{ a, T, "start" }, { b, T, "stop" },
		{ image_sym("_Py_NoneStruct"), T, "step" }, { 0 }
	};

	check(o, "slice", want, gc_size(40), "");
}

static void test_memoryview(unsigned m)
{
	begin("memoryview", m);
	uint64_t data = image_bytes("ab", 2);
	uint64_t mbuf = image_gc_new(image_sym("_PyManagedBuffer_Type"), 80, 1,
				     false);
	uint64_t view = image_gc_new(image_sym("PyMemoryView_Type"), 200, 1,
				     false);

	type_gc("_PyManagedBuffer_Type", "managedbuffer", 80, 9);
	type_gc("PyMemoryView_Type", "memoryview", 200, 10);
	image_w64(mbuf + L.mbuf_obj, data);
	image_w64(view + L.memory_mbuf, mbuf);
	const struct want want[] = { { data, T, "obj" }, { 0 } };
	const struct want want2[] = { { mbuf, T, "mbuf" }, { 0 } };

	check(mbuf, "managedbuffer", want, gc_size(80), "");
	begin("memoryview", m);
	data = image_bytes("ab", 2);
	mbuf = image_gc_new(image_sym("_PyManagedBuffer_Type"), 80, 1, false);
	view = image_gc_new(image_sym("PyMemoryView_Type"), 200, 1, false);
	type_gc("_PyManagedBuffer_Type", "managedbuffer", 80, 9);
	type_gc("PyMemoryView_Type", "memoryview", 200, 10);
	image_w64(mbuf + L.mbuf_obj, data);
	image_w64(view + L.memory_mbuf, mbuf);
	check(view, "memoryview", want2, gc_size(200), "");
}

static void test_enumerate(unsigned m)
{
	begin("enumerate", m);
	uint64_t it = image_list(0, NULL), idx = image_int(1LL << 62);
	uint64_t o = image_gc_new(image_sym("PyEnum_Type"), 48, 1, false);

	type_gc("PyEnum_Type", "enumerate", 48, 11);
	image_w64(o + L.enum_sit, it);
	image_w64(o + L.enum_longindex, idx);
	const struct want want[] = {
		{ it, T, "iterator" }, { idx, T, "index" }, { 0 }
	};

	check(o, "enumerate", want, gc_size(48), "");
}

/* ---- frames.c ------------------------------------------------------------ */

/*
 * A code object whose local slot 0 is named "x": 3.11+ in
 * co_localsplusnames, before in co_varnames.
 */
static uint64_t code_with_local(const char *name, unsigned stacksize)
{
	uint64_t code = code_new(name);
	uint64_t x = image_str("x");
	uint64_t names[] = { x };
	uint64_t tuple = image_tuple(1, names);

	if (L.code_localsplusnames >= 0) {
		image_w64(code + L.code_localsplusnames, tuple);
		image_w32(code + L.code_nlocalsplus, 1);
		image_w32(code + L.code_stacksize, stacksize);
	} else {
		image_w64(code + L.code_varnames, tuple);
		image_w32(code + L.code_nlocals, 1);
	}
	return code;
}

static void test_frame(unsigned m)
{
	begin("frame", m);
	uint64_t code = code_with_local("f", 2);
	uint64_t globals = image_dict(0, NULL, NULL, false);
	uint64_t local = image_str("local");
	int64_t basic = L.iframes ? 72 : L.frame_localsplus;
	int64_t itemsize = 8;
	uint64_t o = image_gc_new(image_sym("PyFrame_Type"),
				  basic + 8 * 3, 1, false);

	image_static_type("PyFrame_Type", "frame", basic, itemsize,
			  TPFLAGS_HAVE_GC, 52);
	if (!L.iframes) {
		image_w64(o + L.ob_size, 1);
		image_w64(o + L.frame_code, code);
		image_w64(o + L.frame_globals, globals);
		image_w64(o + L.frame_localsplus, local);
		const struct want want[] = {
			{ code, T, "f_code" }, { globals, T, "f_globals" },
			{ local, T, "x" }, { 0 }
		};

		check(o, "frame", want, gc_size(basic + itemsize), "");
		return;
	}
	// 3.11+: the frame object views an interpreter frame it owns.
	uint64_t f = image_alloc(L.sizeof_iframe + 8 * 3);

	image_w64(o + L.frame_frame, f);
	image_w64(f + L.iframe_code, code);
	image_w64(f + L.iframe_globals, globals);
	image_w64(f + L.iframe_frame_obj, o);
	image_w8(f + L.iframe_owner, 2); // FRAME_OWNED_BY_FRAME_OBJECT
	image_w32(f + L.iframe_stacktop, 2);
	image_w64(f + L.iframe_localsplus, local);
	image_w64(f + L.iframe_localsplus + 8, globals);
	const struct want want[] = {
		{ o, T, "frame_obj" }, { code, T, "f_code" },
		{ local, T, "x" }, { globals, T, "<stack 1>" }, { 0 }
	};

	// Sized by the code: 1 local and a stack of 2.
	check(o, "frame", want, gc_size(basic + itemsize * 3), "");
}

static void test_generator(unsigned m)
{
	begin("generator", m);
	uint64_t code = code_with_local("gen", 1);
	uint64_t qualname = image_str("C.gen");
	uint64_t local = image_int(8);
	int64_t basic = L.iframes ? L.gen_iframe + L.sizeof_iframe : 96;
	uint64_t o = image_gc_new(image_sym("PyGen_Type"), basic + 8 * 2, 1,
				  false);

	image_static_type("PyGen_Type", "generator", basic, L.iframes ? 8 : 0,
			  TPFLAGS_HAVE_GC, 53);
	image_wfield(o, L.gen_code, code);
	image_w64(o + L.gen_qualname, qualname);
	if (!L.iframes) {
		uint64_t frame = image_tuple(0, NULL);

		image_w64(o + L.gen_frame, frame);
		struct want want[4] = { { 0 } }, *w = want;

		if (L.gen_code >= 0)
			*w++ = (struct want){ code, T, "gi_code" };
		*w++ = (struct want){ qualname, T, "__qualname__" };
		*w++ = (struct want){ frame, T, "gi_frame" };
		check(o, "generator", want, gc_size(basic), "");
		return;
	}
	uint64_t f = o + L.gen_iframe;

	image_w64(f + L.iframe_code, code);
	image_w8(o + L.gen_frame_state, 0); // FRAME_CREATED
	image_w8(f + L.iframe_owner, 1);     // FRAME_OWNED_BY_GENERATOR
	image_w32(f + L.iframe_stacktop, 1);
	image_w64(f + L.iframe_localsplus, local);
	struct want want[6] = { { 0 } }, *w = want;

	if (L.gen_code >= 0)
		*w++ = (struct want){ code, T, "gi_code" };
	*w++ = (struct want){ qualname, T, "__qualname__" };
	*w++ = (struct want){ code, T, "f_code" };
	*w++ = (struct want){ local, T, "x" };
	// Sized by the code: 1 local and a stack of 1.
	check(o, "generator", want, gc_size(basic + 8 * 2), "C.gen");
}

static void test_traceback(unsigned m)
{
	begin("traceback", m);
	uint64_t frame = image_tuple(0, NULL);
	uint64_t tb = image_gc_new(image_sym("PyTraceBack_Type"), 48, 1, false);
	uint64_t next = image_gc_new(image_sym("PyTraceBack_Type"), 48, 1,
				     false);

	type_gc("PyTraceBack_Type", "traceback", 48, 12);
	image_w64(tb + L.tb_next, next);
	image_w64(tb + L.tb_frame, frame);
	const struct want want[] = {
		{ next, T, "tb_next" }, { frame, T, "tb_frame" }, { 0 }
	};

	check(tb, "traceback", want, gc_size(48), "");
}

/* ---- the cases ----------------------------------------------------------- */

int main(void)
{
	// An old layout, 3.11's managed dicts, 3.12's tagged ints and
	// immortals, 3.13's inline values.
	static const unsigned minors[] = { 8, 11, 12, 13 };

	for (size_t i = 0; i < sizeof(minors) / sizeof(minors[0]); i++) {
		unsigned m = minors[i];

		test_str(m);
		test_int(m);
		test_bool(m);
		test_float(m);
		test_bytes(m);
		test_none(m);
		test_plain(m);
		test_list(m);
		test_tuple(m);
		test_dict(m);
		test_set(m);
		test_odict(m);
		test_deque(m, false);
		test_deque(m, true);
		test_partial(m, false);
		test_partial(m, true);
		test_lru_cache(m);
		test_lru_entry(m);
		test_defaultdict(m);
		test_thread_local(m);
		test_element(m, false);
		test_element(m, true);
		test_typing(m);
		test_asyncio(m);
		test_pickle(m);
		test_ctypes(m);
		test_ctypes_metatypes(m);
		test_io(m);
		test_iterators(m);
		test_aliases_json(m);
		test_extmods_csv_struct_array(m);
		test_simplequeue(m);
		test_extmods_ssl_lsprof_thread(m);
		test_extmods_elementtree(m);
		test_extmods_decimal(m);
		test_itertools(m);
		test_code(m);
		test_function(m);
		test_method(m);
		test_cfunction(m);
		test_classmethod(m);
		test_property(m);
		test_descriptor(m);
		test_module(m);
		test_moduledef(m);
		test_heap_type(m);
		test_static_type(m);
		test_subtype(m, false);
		test_subtype(m, true);
		if (m >= 13)
			test_inline_values(m);
		test_exception(m);
		test_metatype(m);
		test_cell(m);
		test_weakref(m);
		test_slice(m);
		test_memoryview(m);
		test_enumerate(m);
		test_frame(m);
		test_generator(m);
		test_traceback(m);
	}
	// Every row of the table has its tests.
	for (size_t i = 0; i < ndecoders; i++) {
		size_t k = 0;

		while (k < nrows_tested && rows_tested[k] != &decoders[i])
			k++;
		if (k == nrows_tested) {
			printf("FAIL row '%s' has no test\n", decoders[i].name);
			failed++;
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed != 0;
}
