/* SPDX-License-Identifier: MIT */
/*
 * What the walker takes for a type: memory images (tests/fuzz/image.h)
 * holding made-up types — whose own type is garbage, whose chain of types
 * loops or never reaches `type`, whose name is not printable or not
 * terminated, whose sizes or flags no type has — and real ones: a class,
 * a class of a metaclass, of a metaclass's metaclass, a class with a
 * non-ASCII name.
 *
 * Each type is the ob_type of three objects, one found each way:
 *   - on a collector list: a made-up type makes it a corrupt object
 *     ("ob_type is not a type object");
 *   - as the item of a tracked list: a made-up type makes it no object:
 *     not reported, nor the list's reference to it;
 *   - by the scan of the interpreter's struct (its last word points at
 *     it): a made-up type makes it no object: not reported, no root.
 * A made-up type is never reported as a type. A real type's three
 * objects are reported, sound, with the type's name.
 *
 * Ends with "N passed, N failed".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/image.h"
#include "walk/heap.h"
#include "cpython/layout.h"
#include "target/target.h"

#define L image_layout
#define READY (1UL << 12)
#define BASETYPE (1UL << 10)

static unsigned passed, failed;
static unsigned minor;
static struct image_runtime rt;
/* A type whose name check() puts last in memory, with no NUL after it. */
static uint64_t name_at_end;

/* The three objects of the case under test, and what the walk said. */
static struct {
	uint64_t type, gc, item, scanned, list;
	bool type_reported;
	bool gc_found, item_found, scanned_found, list_found;
	enum heap_status gc_status, item_status, scanned_status;
	char gc_detail[128], gc_type[256], item_type[256], scanned_type[256];
	bool item_edge, scanned_root;
	unsigned objects;
} got;

static struct err *on_type(void *arg, const struct heap_type *t)
{
	(void)arg;
	if (t->addr == got.type)
		got.type_reported = true;
	return NULL;
}

static struct err *on_object(void *arg, const struct heap_object *o)
{
	(void)arg;
	got.objects++;
	if (o->addr == got.gc) {
		got.gc_found = true;
		got.gc_status = o->status;
		snprintf(got.gc_detail, sizeof(got.gc_detail), "%s",
			 o->detail ? o->detail : "");
		snprintf(got.gc_type, sizeof(got.gc_type), "%s",
			 o->type ? o->type : "");
	} else if (o->addr == got.item) {
		got.item_found = true;
		got.item_status = o->status;
		snprintf(got.item_type, sizeof(got.item_type), "%s",
			 o->type ? o->type : "");
	} else if (o->addr == got.scanned) {
		got.scanned_found = true;
		got.scanned_status = o->status;
		snprintf(got.scanned_type, sizeof(got.scanned_type), "%s",
			 o->type ? o->type : "");
	} else if (o->addr == got.list) {
		got.list_found = o->status == HEAP_OK;
	}
	return NULL;
}

static struct err *on_edge(void *arg, const struct heap_edge *e)
{
	(void)arg;
	if (e->src == got.list && e->dst == got.item)
		got.item_edge = true;
	return NULL;
}

static struct err *on_root(void *arg, const struct heap_root *r)
{
	(void)arg;
	if (r->addr == got.scanned)
		got.scanned_root = true;
	return NULL;
}

/* ---- making types ---------------------------------------------------- */

/* A type object at a fresh place on the heap, with room for a heap
 * type's fields: its type, name, sizes and flags; based on object. */
static uint64_t type_at(uint64_t meta, uint64_t name, int64_t basicsize,
			int64_t itemsize, uint64_t flags)
{
	uint64_t t = image_alloc(L.sizeof_heaptype);

	image_header(t, meta, image_refcnt_static());
	image_w64(t + L.tp_name, name);
	image_w64(t + L.tp_basicsize, basicsize);
	image_w64(t + L.tp_itemsize, itemsize);
	image_w64(t + L.tp_flags, flags);
	image_w64(t + L.tp_base, image_sym("PyBaseObject_Type"));
	return t;
}

// A class: of type `type`, or of @p meta.
static uint64_t class_of(uint64_t meta, const char *name)
{
	return type_at(meta, image_cstring(name), 32, 0, READY | BASETYPE);
}

// A metaclass: extends `type`, of type @p meta.
static uint64_t metaclass_of(uint64_t meta, const char *name)
{
	uint64_t m = type_at(meta, image_cstring(name), L.sizeof_heaptype, 0,
			     READY | BASETYPE | TPFLAGS_TYPE_SUBCLASS);

	image_w64(m + L.tp_base, image_sym("PyType_Type"));
	return m;
}

/* ---- the check ------------------------------------------------------- */

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s (3.%u): ", name, minor);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * Give the type at @p type (made in the image begun) its three objects,
 * walk the image, and check that they are objects if @p real, else
 * that only the one on the collector's list is, as a corrupt one.
 */
static void check(const char *name, uint64_t type, bool real,
		  const char *tp_name)
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
	got.type = type;
	got.gc = image_gc_new(type, 32, 1, false);
	got.item = image_alloc(32);
	image_header(got.item, type, 1);
	got.list = image_list(1, &got.item);
	got.scanned = image_alloc(32);
	image_header(got.scanned, type, 1);
	image_w64(rt.interp + L.sizeof_interp - 8, got.scanned);
	if (name_at_end) {
		uint64_t name = image_alloc(64);

		memset(image_mem + (name - IMAGE_BASE), 'A', 64);
		image_w64(name_at_end + L.tp_name, name);
		name_at_end = 0;
	}
	image_link_lists(rt.gc_state, rt.statics);
	if (image_open(&im)) {
		fprintf(stderr, "typecheck_test: out of memory\n");
		exit(1);
	}
	err = target_open_image(&im.target, &t);
	if (!err)
		err = layout_init(&l, t, LAYOUT_CHOOSE_AUTO);
	if (!err)
		err = heap_walk(t, &l, NULL, &consumer, NULL, &st);
	if (err) {
		fail(name, "walk: %s", err->message);
		ok = false;
	}
#define EXPECT(cond, ...)                                                    \
	do {                                                                 \
		if (ok && !(cond)) {                                         \
			fail(name, __VA_ARGS__);                             \
			ok = false;                                          \
		}                                                            \
	} while (0)
	EXPECT(got.list_found, "the list holding the item is not reported "
	       "sound");
	EXPECT(got.gc_found, "the object on the collector's list is not "
	       "reported");
	if (real) {
		EXPECT(got.type_reported, "the type is not reported");
		EXPECT(got.gc_status == HEAP_OK && !strcmp(got.gc_type, tp_name),
		       "the tracked object: status %d, type '%s' (%s)",
		       got.gc_status, got.gc_type, got.gc_detail);
		EXPECT(got.item_found && got.item_status == HEAP_OK &&
		       !strcmp(got.item_type, tp_name) && got.item_edge,
		       "the list's item: found %d, status %d, type '%s', "
		       "reference %d", got.item_found, got.item_status,
		       got.item_type, got.item_edge);
		EXPECT(got.scanned_found && got.scanned_status == HEAP_OK &&
		       !strcmp(got.scanned_type, tp_name) && got.scanned_root,
		       "the scanned word: found %d, status %d, type '%s', "
		       "root %d", got.scanned_found, got.scanned_status,
		       got.scanned_type, got.scanned_root);
	} else {
		EXPECT(!got.type_reported, "a made-up type is reported");
		EXPECT(got.gc_status == HEAP_CORRUPT &&
		       !strcmp(got.gc_detail, "ob_type is not a type object"),
		       "the tracked object: status %d, '%s', type '%s'",
		       got.gc_status, got.gc_detail, got.gc_type);
		EXPECT(!got.item_found && !got.item_edge,
		       "the list's item is an object (type '%s'), reference "
		       "%d", got.item_type, got.item_edge);
		EXPECT(!got.scanned_found && !got.scanned_root,
		       "the scanned word is an object (type '%s'), root %d",
		       got.scanned_type, got.scanned_root);
	}
#undef EXPECT
	if (ok) {
		printf("PASS %s (3.%u): %u objects\n", name, minor,
		       got.objects);
		passed++;
	} else {
		failed++;
	}
	err_destroy(err);
	layout_deinit(&l);
	target_destroy(t);
	image_deinit(&im);
}

static void begin(unsigned m)
{
	minor = m;
	if (image_begin(m, &rt)) {
		fprintf(stderr, "typecheck_test: no layout for 3.%u\n", m);
		exit(1);
	}
}

/* ---- made-up types --------------------------------------------------- */

/*
 * The demo's: the previous GC head taken for a type "9" (basicsize 5,
 * itemsize 38573) whose "type" has Py_TPFLAGS_TYPE_SUBCLASS among its
 * bytes but is of a type of garbage. Here the sizes are sound, so that
 * only the chain of types rejects it.
 */
static void test_meta_garbage(unsigned m)
{
	begin(m);
	uint64_t junk = image_alloc(IMAGE_TYPE_SLOT);
	uint64_t meta = image_alloc(IMAGE_TYPE_SLOT);

	image_w64(junk + L.ob_type, 0x3be016a0);
	image_w64(meta + L.ob_type, junk);
	image_w64(meta + L.tp_flags, TPFLAGS_TYPE_SUBCLASS | 0x984c);
	check("its type's type is garbage",
	      type_at(meta, image_cstring("9"), 32, 0, READY), false, NULL);

	begin(m);
	check("its type is outside the snapshot",
	      type_at(0x7f0000001000ULL, image_cstring("9"), 32, 0, READY),
	      false, NULL);

	begin(m);
	// A type of types, but its own type is a plain class.
	uint64_t plain = class_of(image_sym("PyType_Type"), "Plain");

	meta = metaclass_of(plain, "Meta");
	check("its type's type is no type of types",
	      type_at(meta, image_cstring("C"), 32, 0, READY), false, NULL);
}

static void test_chain_loop(unsigned m)
{
	begin(m);
	uint64_t a = metaclass_of(0, "A"), b = metaclass_of(a, "B");

	image_w64(a + L.ob_type, b);
	check("its types' chain loops", class_of(a, "C"), false, NULL);

	begin(m);
	// A second 'type', its own type: `type` is PyType_Type.
	uint64_t other = metaclass_of(0, "type");

	image_w64(other + L.ob_type, other);
	check("its type is a 'type' of its own", class_of(other, "C"), false,
	      NULL);

	begin(m);
	// Nine steps to `type`: longer than any chain of metaclasses.
	uint64_t meta = image_sym("PyType_Type");

	for (int i = 0; i < 9; i++)
		meta = metaclass_of(meta, "M");
	check("its types' chain is too long", class_of(meta, "C"), false,
	      NULL);
}

static void test_names(unsigned m)
{
	static const char *const names[] = {
		"\x01\x02", "ab\ncd", "", "\x7f", "bad\xff\xfeutf8",
		"cut\xc3",
	};
	uint64_t type_type;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char what[64];

		begin(m);
		type_type = image_sym("PyType_Type");
		snprintf(what, sizeof(what), "tp_name %zu is not printable", i);
		check(what, type_at(type_type, image_cstring(names[i]), 32, 0,
				    READY), false, NULL);
	}
	begin(m);
	check("tp_name is NULL",
	      type_at(image_sym("PyType_Type"), 0, 32, 0, READY), false, NULL);

	begin(m);
	uint64_t t = type_at(image_sym("PyType_Type"), 0, 32, 0, READY);
	uint64_t name = image_alloc(5008);

	memset(image_mem + (name - IMAGE_BASE), 'A', 5000);
	image_w64(t + L.tp_name, name);
	check("tp_name is longer than a page", t, false, NULL);

	begin(m);
	t = type_at(image_sym("PyType_Type"), 0, 32, 0, READY);
	// The last bytes of memory: no NUL before its end.
	name_at_end = t;
	check("tp_name runs to the end of memory", t, false, NULL);
}

static void test_sizes(unsigned m)
{
	static const struct {
		int64_t basicsize, itemsize;
	} sizes[] = {
		{ 5, 38573 }, { 5, 0 }, { 0, 0 }, { -16, 0 }, { 1 << 21, 0 },
		{ 32, 38573 }, { 32, -8 }, { 32, 1 << 11 },
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char what[80];

		begin(m);
		snprintf(what, sizeof(what), "basicsize %" PRId64 ", itemsize %"
			 PRId64, sizes[i].basicsize, sizes[i].itemsize);
		check(what, type_at(image_sym("PyType_Type"),
				    image_cstring("Sized"), sizes[i].basicsize,
				    sizes[i].itemsize, READY), false, NULL);
	}
}

static void test_flags(unsigned m)
{
	begin(m);
	check("tp_flags above bit 31",
	      type_at(image_sym("PyType_Type"), image_cstring("F"), 32, 0,
		      READY | 1ULL << 40), false, NULL);

	begin(m);
	check("a heap type not readied",
	      type_at(image_sym("PyType_Type"), image_cstring("F"), 32, 0,
		      TPFLAGS_HEAPTYPE | BASETYPE), false, NULL);

	begin(m);
	// Its type's flags say more than a type has.
	uint64_t meta = metaclass_of(image_sym("PyType_Type"), "Meta");

	image_w64(meta + L.tp_flags, image_r64(meta + L.tp_flags) | 1ULL << 33);
	check("its type's tp_flags above bit 31", class_of(meta, "C"), false,
	      NULL);
}

/* ---- real types ------------------------------------------------------ */

static void test_real(unsigned m)
{
	uint64_t type_type;

	begin(m);
	type_type = image_sym("PyType_Type");
	check("a class", class_of(type_type, "Plain"), true, "Plain");

	begin(m);
	type_type = image_sym("PyType_Type");
	check("a class of a metaclass",
	      class_of(metaclass_of(type_type, "Meta"), "WithMeta"), true,
	      "WithMeta");

	begin(m);
	type_type = image_sym("PyType_Type");
	uint64_t meta = metaclass_of(metaclass_of(type_type, "MetaMeta"),
				     "Meta");

	check("a class of a metaclass of a metaclass",
	      class_of(meta, "Deep"), true, "Deep");

	begin(m);
	type_type = image_sym("PyType_Type");
	check("a class with a non-ASCII name",
	      class_of(type_type, "K\xc3\xa4se\xe2\x82\xac"), true,
	      "K\xc3\xa4se\xe2\x82\xac");

	begin(m);
	type_type = image_sym("PyType_Type");
	uint64_t t = class_of(type_type, "Ready");

	// Being readied: a heap type in PyType_Ready.
	image_w64(t + L.tp_flags, TPFLAGS_HEAPTYPE | 1UL << 13);
	check("a heap type being readied", t, true, "Ready");

	begin(m);
	type_type = image_sym("PyType_Type");
	t = class_of(type_type, "NotReady");
	// A static type not readied yet (before 3.11 some are readied
	// only when first looked into).
	image_w64(t + L.tp_flags, 0);
	check("a static type not readied", t, true, "NotReady");
}

int main(void)
{
	static const unsigned minors[] = { 6, 8, 11, 12, 13 };

	for (size_t i = 0; i < sizeof(minors) / sizeof(minors[0]); i++) {
		test_meta_garbage(minors[i]);
		test_chain_loop(minors[i]);
		test_names(minors[i]);
		test_sizes(minors[i]);
		test_flags(minors[i]);
		test_real(minors[i]);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed != 0;
}
