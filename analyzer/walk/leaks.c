/* SPDX-License-Identifier: MIT */
/*
 * References CPython itself, or the code Cython generates for extension
 * modules, takes and never releases. Every process of some versions has
 * them: start-up keeps a reference to the sys module nothing holds
 * (3.6–3.8), an extension module's initialisation one to an object it
 * stores (3.9's select.poll type), a Cython module one to each special
 * method's slot wrapper it documents. No word of memory holds such a count
 * and no program can release it: it is no bug of the program read, and it
 * must not be reported as one.
 *
 * Each is named here by version and by the object it is on, with the
 * number of references it takes. Before any memory is scanned for
 * holders, an object one of them names whose count the references leave
 * unexplained gets that many conservative roots at most, labelled with
 * the leak -- never more than the rest of its count: a program's own leak
 * of the same object stays a suspected bug.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/walk.h"
#include "analysis/graph.h"
#include "cpython/layout.h"
#include "target/target.h"

enum leak_on {
	LEAK_MODULE,    // the module named `name` (its md_name)
	LEAK_STR,       // the interned str whose text is `name`
	LEAK_STR_NEW,   // a str not interned whose text is `name`
	LEAK_TYPE,      // the heap type whose tp_name is `name`
	LEAK_ATTR,      // sys.modules[name], then each dotted part of `attr`
			// in the __dict__ of what the last one named
	LEAK_CYTHON_DOC, // a slot wrapper whose wrapperbase a Cython module
			// replaced with its own copy, to give it a docstring
};

struct known_leak {
	unsigned minor_lo, minor_hi;  // 3.minor_lo … 3.minor_hi
	unsigned micro_lo;            // of 3.minor_lo: the first seen leaking
	enum leak_on on;
	const char *name, *attr;
	unsigned refs;                // references it takes
	const char *label;            // the root's label: the cause
};

/*
 * Found by reading the counts of each interpreter's own processes
 * (`python -S`, scripts, `-c`, `-m`): an excess in every one of them, of
 * the same object, by the same count, that no later version has; checked
 * against the sources where they were at hand (3.8's pylifecycle.c never
 * releases `sysmod` nor `bimod` and drops _PyWarnings_Init()'s module).
 */
static const struct known_leak known[] = {
	{ 6, 8, 0, LEAK_MODULE, "sys", NULL, 1,
	  "CPython 3.6-3.8 start-up: a reference to the sys module it "
	  "never releases" },
	{ 6, 8, 0, LEAK_MODULE, "_warnings", NULL, 1,
	  "CPython 3.6-3.8 start-up: a reference to the _warnings module it "
	  "never releases" },
	{ 6, 8, 0, LEAK_MODULE, "builtins", NULL, 1,
	  "CPython 3.6-3.8 start-up: a reference to the builtins module it "
	  "never releases" },
	{ 6, 6, 0, LEAK_STR, "__init__", NULL, 1,
	  "CPython 3.6 start-up: a reference to the interned '__init__' it "
	  "never releases" },
	{ 7, 8, 0, LEAK_STR, "__main__", NULL, 1,
	  "CPython 3.7-3.8 start-up: a reference to the interned '__main__' "
	  "it never releases" },
	// Python/_warnings.c is_internal_frame(), from the first warning
	// with a caller's frame: two static strs, each taken a reference to
	// twice.
	{ 6, 10, 0, LEAK_STR_NEW, "importlib", NULL, 1,
	  "CPython 3.6-3.10 _warnings: a reference to 'importlib' (a static "
	  "of is_internal_frame) it never releases" },
	{ 6, 10, 0, LEAK_STR_NEW, "_bootstrap", NULL, 1,
	  "CPython 3.6-3.10 _warnings: a reference to '_bootstrap' (a static "
	  "of is_internal_frame) it never releases" },
	{ 6, 6, 0, LEAK_ATTR, "_multiprocessing", "SemLock.SEM_VALUE_MAX", 1,
	  "CPython 3.6 _multiprocessing: a reference to SemLock.SEM_VALUE_MAX "
	  "its initialisation never releases" },
	{ 9, 9, 0, LEAK_TYPE, "select.poll", NULL, 1,
	  "CPython 3.9 select: a reference to its poll type its "
	  "initialisation never releases" },
	{ 11, 11, 7, LEAK_ATTR, "_decimal", "ExtendedContext", 1,
	  "CPython 3.11.7 _decimal: a reference to ExtendedContext its "
	  "initialisation never releases" },
	// Cython's module initialisation (CYTHON_UPDATE_DESCRIPTOR_DOC, on by
	// default) gets each documented special method's slot wrapper with
	// PyObject_GetAttrString(), points its d_base at a static copy
	// (__pyx_wrapperbase_*) carrying the docstring, and never releases
	// the wrapper: one reference per such method (lxml's etree).
	{ 6, 13, 0, LEAK_CYTHON_DOC, NULL, NULL, 1, NULL },
};

enum {
	MAX_MODULES = 1 << 20,    // entries of sys.modules searched
	MAX_ATTRS = 1 << 16,      // entries of a module's or type's dict
	MAX_ATTR_PATH = 4,        // dotted parts of an attribute path
};

static bool applies(const struct layout *l, const struct known_leak *k)
{
	return l->major == 3 && l->minor >= k->minor_lo &&
	       l->minor <= k->minor_hi &&
	       (l->minor > k->minor_lo || l->micro >= k->micro_lo);
}

static const struct decode_type *type_of(struct walk *w, uint32_t v)
{
	uint32_t t = w->nodes[v].type;

	return t < w->nnodes ? type_find(w, w->nodes[t].addr) : NULL;
}

static bool str_is(struct walk *w, uint64_t addr, const char *text)
{
	char buf[DECODE_NAME_MAX];

	return addr && decode_str(&w->dc, addr, false, buf, sizeof(buf), NULL) &&
	       !strcmp(buf, text);
}

// The __dict__ of a module or a type, or 0.
static uint64_t dict_of(struct walk *w, uint64_t obj)
{
	const struct layout *l = w->l;
	uint64_t type = 0, dict = 0;
	const struct decode_type *ti;

	if (!target_read_u64(w->t, obj + l->ob_type, &type))
		return 0;
	ti = type_find(w, type);
	if (ti && ti->valid && !strcmp(ti->name, "module"))
		target_read_u64(w->t, obj + l->module_dict, &dict);
	else if (is_type_object(w, obj) && l->tp_dict >= 0)
		target_read_u64(w->t, obj + l->tp_dict, &dict);
	return dict;
}

// What sys.modules[k->name].attr names, or 0.
static uint64_t resolve_attr(struct walk *w, uint64_t modules,
			     const struct known_leak *k)
{
	char part[DECODE_NAME_MAX];
	const char *at = k->attr;
	uint64_t obj;

	if (!dict_find_str(w, modules, k->name, MAX_MODULES, &obj))
		return 0;
	for (int i = 0; at && *at && obj && i < MAX_ATTR_PATH; i++) {
		size_t n = strcspn(at, ".");

		snprintf(part, sizeof(part), "%.*s", (int)n, at);
		at += n + (at[n] == '.');
		if (!dict_find_str(w, dict_of(w, obj), part, MAX_ATTRS, &obj))
			return 0;
	}
	return *at ? 0 : obj;
}

/*
 * Whether node v is a slot wrapper (PyWrapperDescrObject) whose d_base is
 * a static of a loaded file other than the interpreter's: Cython's copy.
 * Its file, into @p file.
 */
static bool cython_wrapperbase(struct walk *w, uint32_t v, char *file,
			       size_t size)
{
	const struct layout *l = w->l;
	const struct decode_type *ti = type_of(w, v);
	uint64_t base;
	long m;

	if (!ti || !ti->valid || strcmp(ti->name, "wrapper_descriptor") ||
	    l->descr_qualname < 0 ||
	    // d_base follows PyDescr_COMMON, whose last field is d_qualname.
	    !target_read_u64(w->t, w->nodes[v].addr + l->descr_qualname + 8,
			     &base) ||
	    (m = target_module_at(w->t, base)) < 0)
		return false;
	const struct target_module *mod = target_module(w->t, m);
	const char *sym = target_symbol_at(w->t, base);

	if ((mod->path && l->module_path && !strcmp(mod->path, l->module_path)) ||
	    (sym && strncmp(sym, "__pyx_wrapperbase_", 18)))
		return false;
	if (file) {
		const char *name = strrchr(mod->name, '/');

		snprintf(file, size, "%s", name ? name + 1 : mod->name);
	}
	return true;
}

/*
 * @p attrs: what each LEAK_ATTR entry of known[] names, resolved once
 * (UINT64_MAX: not yet).
 */
static bool is_leak_object(struct walk *w, uint32_t v, uint64_t modules,
			   const struct known_leak *k, uint64_t *attr)
{
	const struct layout *l = w->l;
	const struct decode_type *ti = type_of(w, v);
	uint64_t addr = w->nodes[v].addr, p, state;

	if (!ti || !ti->valid)
		return false;
	switch (k->on) {
	case LEAK_MODULE:
		return !strcmp(ti->name, "module") &&
		       target_read_u64(w->t, addr + l->module_name, &p) &&
		       str_is(w, p, k->name);
	case LEAK_STR:
	case LEAK_STR_NEW:
		// interned:2, the low bits of the state (PyASCIIObject).
		return ti->addr == w->sym.str_type &&
		       target_read_u64(w->t, addr + l->str_state, &state) &&
		       !(state & 3) == (k->on == LEAK_STR_NEW) &&
		       str_is(w, addr, k->name);
	case LEAK_TYPE: {
		const struct decode_type *self = type_find(w, addr);

		return self && self->valid &&
		       (self->flags & TPFLAGS_HEAPTYPE) &&
		       !strcmp(self->name, k->name);
	}
	case LEAK_ATTR:
		if (*attr == UINT64_MAX)
			*attr = modules ? resolve_attr(w, modules, k) : 0;
		return *attr && *attr == addr;
	case LEAK_CYTHON_DOC:
		return cython_wrapperbase(w, v, NULL, 0);
	}
	return false;
}

// What of anomaly a's count no reference found explains; 0 if that does
// not fit (a count read from damaged memory).
static int64_t rest_of(const struct walk *w, const struct graph_anomaly *a)
{
	int64_t rest;

	if (__builtin_sub_overflow(w->nodes[a->node].refcnt, a->referrers,
				   &rest) ||
	    __builtin_sub_overflow(rest, a->conservative, &rest))
		return 0;
	return rest;
}

static bool type_named(struct walk *w, uint64_t obj, const char *name)
{
	uint64_t type;
	const struct decode_type *ti;

	return obj && target_read_u64(w->t, obj + w->l->ob_type, &type) &&
	       (ti = type_find(w, type)) && ti->valid && !strcmp(ti->name, name);
}

/*
 * numpy: PyUFunc_AddLoop() appends a loop's info tuple -- (its DTypes,
 * an ArrayMethod or a promoter's capsule) -- to the ufunc's list of
 * loops, taking a reference of its own, and the callers that register
 * loops and promoters at import (PyUFunc_AddLoopFromSpec,
 * PyUFunc_AddPromoter, install_logical_ufunc_promoter) return without
 * releasing theirs: one reference per such loop. Whether the node is
 * such a tuple, but for where it is held (numpy_loops() checks that).
 */
static bool numpy_loop_info(struct walk *w, uint32_t v)
{
	const struct layout *l = w->l;
	const struct decode_type *ti = type_of(w, v);
	uint64_t addr = w->nodes[v].addr, n, items[2];

	return ti && ti->valid && !strcmp(ti->name, "tuple") &&
	       target_read_u64(w->t, addr + l->ob_size, &n) && n == 2 &&
	       target_read_ok(w->t, items, addr + l->tuple_items, 16) &&
	       type_named(w, items[0], "tuple") &&
	       (type_named(w, items[1], "PyCapsule") ||
		type_named(w, items[1], "numpy._ArrayMethod"));
}

/*
 * Of the nodes @p want marks (1), keep marked those whose every referrer
 * is a list some numpy.ufunc holds: a ufunc's loops.
 */
static void numpy_loops(struct walk *w, uint8_t *want)
{
	uint8_t *list = calloc(w->nnodes + 1, 1);

	if (!list)
		return;
	// 1: a list holding a wanted tuple; 2: and a ufunc holds it.
	for (size_t e = 0; e < w->nedges; e++) {
		uint32_t s = w->esrc[e], d = w->edst[e];
		const struct decode_type *ti;

		if (d >= w->nnodes || !want[d] || w->ekind[e] == HEAP_EDGE_BORROWED)
			continue;
		if ((ti = type_of(w, s)) && ti->valid && !strcmp(ti->name, "list"))
			list[s] = 1;
		else
			want[d] = 0;
	}
	for (size_t e = 0; e < w->nedges; e++) {
		uint32_t s = w->esrc[e], d = w->edst[e];
		const struct decode_type *ti;

		if (d < w->nnodes && list[d] && (ti = type_of(w, s)) &&
		    ti->valid && !strcmp(ti->name, "numpy.ufunc"))
			list[d] = 2;
	}
	for (size_t e = 0; e < w->nedges; e++) {
		uint32_t s = w->esrc[e], d = w->edst[e];

		if (d < w->nnodes && want[d] && list[s] != 2 &&
		    w->ekind[e] != HEAP_EDGE_BORROWED)
			want[d] = 0;
	}
	free(list);
}

// The loops of numpy's ufuncs whose info tuple it leaks (numpy_loop_info).
static void numpy_leaks(struct walk *w, const struct graph_anomaly *a,
			size_t na, uint8_t *candidate)
{
	uint8_t *want = NULL;
	size_t nwant = 0;

	for (size_t i = 0; i < na && !w->err; i++) {
		uint32_t v = a[i].node;

		if (a[i].kind != GRAPH_EXCESS || a[i].explained ||
		    !candidate[v] ||
		    rest_of(w, &a[i]) != 1 ||
		    !numpy_loop_info(w, v))
			continue;
		if (!want && !(want = calloc(w->nnodes + 1, 1)))
			return;
		want[v] = 1;
		nwant++;
	}
	if (!nwant)
		return;
	numpy_loops(w, want);
	for (size_t v = 0; v < w->nnodes && !w->err; v++) {
		if (!want[v])
			continue;
		root_add(w, w->nodes[v].addr, HEAP_ROOT_INTERPRETER,
			 "numpy: a reference to this ufunc loop's info tuple "
			 "(its DTypes, its implementation) the code that "
			 "registered it never releases", true);
		candidate[v] = 0;
	}
	free(want);
}

/*
 * Give the objects of @p a (the anomalies as the references leave them)
 * that a known leak names their roots, before any memory is scanned: what
 * is known beats what a word may hold. An object they explain whole is no
 * longer a @p candidate for the scans.
 */
void known_leaks(struct walk *w, const struct graph_anomaly *a, size_t na,
		 uint8_t *candidate)
{
	const struct layout *l = w->l;
	uint64_t modules;
	uint64_t attrs[sizeof(known) / sizeof(known[0])];
	bool any = false;

	memset(attrs, 0xff, sizeof(attrs));
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		any |= applies(l, &known[i]);
	numpy_leaks(w, a, na, candidate);
	if (!any || w->err)
		return;
	modules = walk_peek(w, walk_main_interp(w), l->interp_modules);
	for (size_t i = 0; i < na && !w->err; i++) {
		uint32_t v = a[i].node;
		int64_t rest = rest_of(w, &a[i]);

		if (a[i].kind == GRAPH_DEFICIT || a[i].explained ||
		    !candidate[v] || rest <= 0)
			continue;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]) &&
		     rest > 0 && !w->err; k++) {
			if (!applies(l, &known[k]) ||
			    !is_leak_object(w, v, modules, &known[k], &attrs[k]))
				continue;
			const char *label = known[k].label;
			char buf[256], file[128];

			if (known[k].on == LEAK_CYTHON_DOC) {
				cython_wrapperbase(w, v, file, sizeof(file));
				snprintf(buf, sizeof(buf), "Cython module %s: a "
					 "reference to this slot wrapper its "
					 "initialisation never releases, after "
					 "giving it a docstring", file);
				label = buf;
			}
			for (unsigned r = 0; r < known[k].refs && rest > 0;
			     r++, rest--)
				root_add(w, w->nodes[v].addr,
					 HEAP_ROOT_INTERPRETER, label, true);
		}
		if (rest <= 0)
			candidate[v] = 0;
	}
}

/*
 * Constants a Cython module makes at import for a static the C compiler
 * removed because nothing reads it -- the code object of a def function
 * compiled without binding (its PyCFunction needs none), the tuple of
 * names it made a code object from (3.11+ keep a copy), the arguments
 * numpy's __init__.pxd would raise ImportError with: made, stored
 * nowhere, never released. They live as long as the process and are no
 * leak of the program's. Each is an object whose count of 1 nothing
 * explains (no reference to it was found), of a kind Cython makes so.
 */
enum { MAX_CYTHON_NAMES = 1 << 16 };

static bool cython_file(const char *file)
{
	size_t n = strlen(file);

	return !strcmp(file, "stringsource") ||
	       (n > 4 && (!strcmp(file + n - 4, ".pyx") ||
			  !strcmp(file + n - 4, ".pxd")));
}

// A hash of a tuple's items (their addresses), at most 64; 0 if none.
static uint64_t items_hash(struct walk *w, uint64_t tuple)
{
	const struct layout *l = w->l;
	uint64_t n, items[64], h = 14695981039346656037ULL;

	if (!target_read_u64(w->t, tuple + l->ob_size, &n) || n == 0 ||
	    n > 64 || !target_read_ok(w->t, items, tuple + l->tuple_items, 8 * n))
		return 0;
	for (uint64_t i = 0; i < n; i++)
		h = (h ^ items[i]) * 1099511628211ULL;
	return h ? h : 1;
}

// numpy's import_array/import_umath/import_ufunc error: ("numpy.core.X
// failed to import",).
static bool numpy_import_error(struct walk *w, uint64_t tuple)
{
	const struct layout *l = w->l;
	char text[DECODE_NAME_MAX];
	uint64_t n, item;
	size_t len;

	if (!target_read_u64(w->t, tuple + l->ob_size, &n) || n != 1 ||
	    !target_read_u64(w->t, tuple + l->tuple_items, &item) ||
	    !decode_str(&w->dc, item, false, text, sizeof(text), NULL))
		return false;
	len = strlen(text);
	return !strncmp(text, "numpy.", 6) && len > 17 &&
	       !strcmp(text + len - 17, " failed to import");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

// Whether node v is a code object of a Cython module: its file, into file.
static bool cython_code(struct walk *w, uint32_t v, char *file, size_t size)
{
	const struct decode_type *ti = type_of(w, v);
	uint64_t p;

	return ti && ti->valid && !strcmp(ti->name, "code") &&
	       target_read_u64(w->t, w->nodes[v].addr + w->l->code_filename,
			       &p) &&
	       decode_str(&w->dc, p, false, file, size, NULL) &&
	       cython_file(file);
}

void cython_constants(struct walk *w, const uint8_t *candidate)
{
	const struct layout *l = w->l;
	uint64_t *names = NULL;
	size_t nnames = 0;
	bool tuples = false;
	char file[DECODE_NAME_MAX], label[256];

	for (size_t v = 0; v < w->nnodes && !w->err; v++) {
		const struct decode_type *ti;

		if (!candidate[v] || w->nodes[v].refcnt != 1 ||
		    !(ti = type_of(w, v)) || !ti->valid)
			continue;
		if (cython_code(w, v, file, sizeof(file))) {
			snprintf(label, sizeof(label), "a constant of a Cython "
				 "module (%.120s): a code object made for a static "
				 "the C compiler removed, as nothing reads it",
				 file);
			root_add(w, w->nodes[v].addr, HEAP_ROOT_INTERPRETER,
				 label, true);
		} else if (!strcmp(ti->name, "tuple")) {
			tuples = true;
		}
	}
	if (!tuples || w->err)
		return;
	// The names of every Cython code object, by their items' hash.
	names = malloc(MAX_CYTHON_NAMES * sizeof(*names));
	for (size_t v = 0; names && v < w->nnodes &&
	     nnames < MAX_CYTHON_NAMES; v++) {
		uint64_t p;
		uint64_t h;

		if (!cython_code(w, v, file, sizeof(file)))
			continue;
		p = walk_peek(w, w->nodes[v].addr, l->code_localsplusnames >= 0 ?
			      l->code_localsplusnames : l->code_varnames);
		if (p && (h = items_hash(w, p)))
			names[nnames++] = h;
	}
	if (names)
		qsort(names, nnames, sizeof(*names), cmp_u64);
	for (size_t v = 0; v < w->nnodes && !w->err; v++) {
		const struct decode_type *ti;
		uint64_t addr = w->nodes[v].addr, h;

		if (!candidate[v] || w->nodes[v].refcnt != 1 ||
		    !(ti = type_of(w, v)) || !ti->valid ||
		    strcmp(ti->name, "tuple"))
			continue;
		if (names && (h = items_hash(w, addr)) &&
		    bsearch(&h, names, nnames, sizeof(*names), cmp_u64))
			snprintf(label, sizeof(label), "a constant of a Cython "
				 "module: the names of one of its code objects, "
				 "made for a static the C compiler removed, as "
				 "nothing reads it");
		else if (numpy_import_error(w, addr))
			snprintf(label, sizeof(label), "a constant of a Cython "
				 "module: numpy's ImportError arguments "
				 "(__init__.pxd), made for a static the C "
				 "compiler removed, as nothing reads it");
		else
			continue;
		root_add(w, addr, HEAP_ROOT_INTERPRETER, label, true);
	}
	free(names);
}
