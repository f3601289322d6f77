/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/dwarf.h"
#include "cpython/layout.h"
#include "target/target.h"

const char *layout_source_name(enum layout_source source)
{
	switch (source) {
	case LAYOUT_DWARF:
		return "dwarf";
	case LAYOUT_DEBUG_OFFSETS:
		return "debug_offsets";
	case LAYOUT_BUILTIN:
		return "builtin";
	}
	return "?";
}

// "libpython3.12.so.1.0", "python3.11", "libpython3.7m.so" -> 3, minor.
static bool version_from_name(const char *name, unsigned *major,
			      unsigned *minor)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	const char *p = strstr(base, "python");

	if (!p)
		return false;
	return sscanf(p, "python%u.%u", major, minor) == 2;
}

/*
 * Before 3.11 the micro version is only in memory: Py_GetVersion() fills
 * a static buffer with "3.X.Y (build info) [compiler]" at start-up
 * (Python/getversion.c). Find it in the module's writable data.
 *
 * @return Y, or 0 if not found.
 */
static unsigned version_from_memory(struct target *t,
				    const struct target_module *m,
				    unsigned minor)
{
	char prefix[16];
	int plen = snprintf(prefix, sizeof(prefix), "3.%u.", minor);
	uint64_t addr = m->start, start, len;
	const unsigned char *p;
	uint64_t scanned = 0;

	while (scanned < (64u << 20) &&
	       target_next_segment(t, addr, &start, &len, &p) &&
	       start < m->end) {
		for (uint64_t i = 0; i + plen + 4 < len; i++) {
			const unsigned char *hit = memmem(p + i, len - i,
							  prefix, plen);

			if (!hit)
				break;
			i = hit - p;
			if (i + plen + 4 >= len ||
			    (i && p[i - 1] >= ' ' && p[i - 1] < 0x7f))
				continue;
			// "3.X.Y" then a release tag and " (".
			const unsigned char *q = p + i + plen, *end = p + len;
			unsigned micro = 0;
			int digits = 0;

			while (q < end && *q >= '0' && *q <= '9' && digits < 3) {
				micro = micro * 10 + (*q++ - '0');
				digits++;
			}
			while (q < end && q < p + i + plen + 12 &&
			       ((*q >= '0' && *q <= '9') || *q == 'a' ||
				*q == 'b' || *q == 'r' || *q == 'c' ||
				*q == '+'))
				q++;
			if (digits && q + 1 < end && q[0] == ' ' && q[1] == '(')
				return micro;
		}
		scanned += len;
		addr = start + len;
	}
	return 0;
}

// The module holding the runtime, and its anchors.
static struct err *find_runtime(struct layout *l, struct target *t)
{
	uint64_t addr, size;
	size_t module;

	// 3.7+: the exported _PyRuntime (Python/pylifecycle.c).
	if (target_symbol(t, "_PyRuntime", &addr, &size, &module)) {
		l->runtime_addr = addr;
		l->module = module;
		return NULL;
	}
	// 3.10+ without symbols: the .PyRuntime section holds exactly it.
	for (size_t i = 0; i < target_num_modules(t); i++) {
		if (target_section(t, i, ".PyRuntime", &addr, &size)) {
			l->runtime_addr = addr;
			l->module = i;
			return NULL;
		}
	}
	// 3.6: no runtime struct; the collector's statics are the anchor
	// (Modules/gcmodule.c _PyGC_generation0, exported).
	if (target_symbol(t, "_PyGC_generation0", &addr, &size, &module)) {
		l->module = module;
		if (!target_read_u64(t, addr, &l->gc_statics))
			return err_fault(addr, "cannot read _PyGC_generation0");
		uint64_t head;

		if (target_symbol(t, "interp_head", &head, NULL, NULL))
			l->interp_head = head;
		return NULL;
	}
	// A Python whose files are not on this machine looks like no Python:
	// name the missing file, libpython first.
	for (size_t k = 0; k < 2 * target_num_modules(t); k++) {
		size_t i = k % target_num_modules(t);
		const struct target_module *m = target_module(t, i);
		const char *base = strrchr(m->name, '/');

		base = base ? base + 1 : m->name;
		if (!m->path && strstr(base, k < target_num_modules(t) ?
					      "libpython" : "python")) {
			struct err *err;

			if (!strchr(m->name, '/')) {
				// Only the soname, from the dynamic linker's
				// list: the notes that name files are gone.
				err = err_create(ERR_INPUT,
						 "the core does not say where "
						 "'%s' was mapped from",
						 m->name);
				return err_hint(err, "its file notes are "
						     "missing; take a complete "
						     "core");
			}
			err = err_create(ERR_INPUT,
					 "the core maps '%s', which is not on "
					 "this machine", m->name);
			return err_hint(err, "copy it here at that path "
					     "(the executable may be given "
					     "with --exe)");
		}
	}
	return err_create(ERR_NOTPYTHON,
			  "no CPython runtime in the target: none of its %zu "
			  "modules has _PyRuntime or a .PyRuntime section",
			  target_num_modules(t));
}

static struct err *find_version(struct layout *l, struct target *t)
{
	const struct target_module *m = target_module(t, l->module);
	uint64_t addr, hex;

	// 3.11+: const unsigned long Py_Version = PY_VERSION_HEX.
	if (target_symbol(t, "Py_Version", &addr, NULL, NULL) &&
	    target_read_u64(t, addr, &hex) && (hex >> 24) == 3) {
		l->major = 3;
		l->minor = (hex >> 16) & 0xff;
		l->micro = (hex >> 8) & 0xff;
	} else if (!version_from_name(m->name, &l->major, &l->minor) &&
		   !(m->path &&
		     version_from_name(m->path, &l->major, &l->minor))) {
		return err_create(ERR_NOTPYTHON,
				  "cannot tell the Python version of '%s'",
				  m->name);
	}
	if (!l->micro)
		l->micro = version_from_memory(t, m, l->minor);
	// Supported: the default (GIL) builds of 3.6 to 3.13. 3.14 needs
	// decoders for tagged stack references and the new tuple layout;
	// free-threaded builds (libpython3.13t) have another object header.
	const char *base = strrchr(m->name, '/');
	char tag[32];

	base = base ? base + 1 : m->name;
	snprintf(tag, sizeof(tag), "python%u.%ut", l->major, l->minor);
	if (strstr(base, tag))
		return err_create(ERR_LAYOUT,
				  "'%s' is a free-threaded build of Python "
				  "%u.%u, which gcscope does not support",
				  m->name, l->major, l->minor);
	if (l->major != 3 || l->minor < 6 || l->minor > 13) {
		return err_create(ERR_LAYOUT,
				  "Python %u.%u in '%s' is not supported: "
				  "gcscope reads 3.6 to 3.13",
				  l->major, l->minor, m->name);
	}
	snprintf(l->version, sizeof(l->version), "%u.%u.%u", l->major,
		 l->minor, l->micro);
	return NULL;
}

static int64_t lookup_offset(struct dwarf_index *idx, const char *type,
			     const char *paths)
{
	char path[128];

	while (*paths) {
		size_t n = strcspn(paths, "|");

		if (n < sizeof(path)) {
			memcpy(path, paths, n);
			path[n] = 0;
			int64_t off = dwarf_member_offset(idx, type, path);

			if (off >= 0)
				return off;
		}
		paths += n;
		if (*paths == '|')
			paths++;
	}
	return -1;
}

// Where each table entry lives in struct layout, and its name.
static const size_t field_pos[LAYOUT_NFIELDS] = {
#define X(field, ...) offsetof(struct layout, field),
	LAYOUT_OFFSETS(X)
	LAYOUT_MEMBER_SIZES(X)
	LAYOUT_SIZES(X)
#undef X
};

static const char *const field_names[LAYOUT_NFIELDS] = {
#define X(field, ...) #field,
	LAYOUT_OFFSETS(X)
	LAYOUT_MEMBER_SIZES(X)
	LAYOUT_SIZES(X)
#undef X
};

static int32_t *field_ptr(struct layout *l, int i)
{
	return (int32_t *)((char *)l + field_pos[i]);
}

// An empty layout: every table entry absent.
static void layout_reset(struct layout *l)
{
	memset(l, 0, sizeof(*l));
	for (int i = 0; i < LAYOUT_NFIELDS; i++)
		*field_ptr(l, i) = -1;
}

static int32_t field_get(const struct layout *l, int i)
{
	return *(const int32_t *)((const char *)l + field_pos[i]);
}

static void fill_from_dwarf(struct layout *l, struct dwarf_index *idx)
{
#define X(field, type, paths) l->field = lookup_offset(idx, type, paths);
	LAYOUT_OFFSETS(X)
#undef X
#define X(field, type, path) l->field = dwarf_member_size(idx, type, path);
	LAYOUT_MEMBER_SIZES(X)
#undef X
#define X(field, type) l->field = dwarf_type_size(idx, type);
	LAYOUT_SIZES(X)
#undef X
}

static const struct layout_table *builtin_table(unsigned minor)
{
	for (unsigned i = 0; i < layout_ntables; i++) {
		if (layout_tables[i].minor == minor)
			return &layout_tables[i];
	}
	return NULL;
}

static void fill_from_table(struct layout *l, const struct layout_table *tb)
{
	for (int i = 0; i < LAYOUT_NFIELDS; i++)
		*field_ptr(l, i) = tb->values[i];
}

// The tables every source must give for the walker to work.
static bool layout_complete(const struct layout *l)
{
	// 3.6 keeps the collector in statics, without a state struct.
	bool gc_ok = l->gc_statics ? l->sizeof_gc_generation > 0 :
				     l->gc_generations >= 0;

	return l->sizeof_object == 16 && l->ob_type == 8 && l->tp_name >= 0 &&
	       l->tp_flags >= 0 && l->sizeof_gc_head > 0 && gc_ok &&
	       l->dict_keys >= 0 && l->dk_nentries >= 0;
}

static struct err *layout_from_dwarf(struct layout *l, struct target *t)
{
	const struct target_module *m = target_module(t, l->module);
	const char *debug_path = NULL;
	struct Dwarf *dw = target_module_dwarf(t, l->module, &debug_path);
	struct dwarf_index *idx;
	struct err *err;

	if (!dw) {
		err = err_create(ERR_LAYOUT,
				 "no debug info for Python %s in '%s'",
				 l->version, m->path ? m->path : m->name);
		// Distribution packages ship it apart: Debian and Ubuntu as
		// python3.X-dbg.
		if (!strncmp(l->module_path, "/usr/", 5))
			return err_hint(err, "install its debug symbols "
					"(Debian: apt-get install "
					"python%u.%u-dbg) or pass --debuginfo "
					"DIR", l->major, l->minor);
		return err_hint(err, "install its debug symbols or pass "
				     "--debuginfo DIR");
	}
	err = dwarf_index_create(dw, &idx);
	if (err)
		return err;
	fill_from_dwarf(l, idx);
	dwarf_index_destroy(idx);
	l->source = LAYOUT_DWARF;
	// No separate file: the DWARF is the module's own.
	l->debug_path = debug_path ? debug_path : l->module_path;

	// A file with DWARF for some units but not the core structs (a
	// partial -dbg, a mismatched debug file) is no DWARF at all for us.
	if (!layout_complete(l)) {
		err = err_create(ERR_LAYOUT,
				 "the debug info for Python %s in '%s' lacks "
				 "the interpreter's types",
				 l->version, debug_path ? debug_path : m->name);
		return err_hint(err, "install the debug symbols that match "
				     "this build");
	}
	return NULL;
}

static struct err *layout_from_builtin(struct layout *l)
{
	const struct layout_table *tb = builtin_table(l->minor);

	if (!tb) {
		struct err *err = err_create(
			ERR_LAYOUT, "no built-in layout for Python %u.%u",
			l->major, l->minor);

		return err_hint(err, "install its debug symbols or pass "
				     "--debuginfo DIR");
	}
	fill_from_table(l, tb);
	l->source = LAYOUT_BUILTIN;
	return NULL;
}

/*
 * _Py_DebugOffsets (Include/internal/pycore_runtime.h, 3.13): the
 * interpreter describes its own main structs at the start of _PyRuntime,
 * every entry a uint64. Offsets of its fields, in 3.13.
 */
enum {
	DO_COOKIE = 0,
	DO_VERSION = 8,
	DO_FREE_THREADED = 16,
	DO_RUNTIME = 24,             // size, finalizing, interpreters_head
	DO_INTERP = 48,              // size, id, next, threads_head, gc,
				     // imports_modules, sysdict, builtins, …
	DO_FRAME = 224,              // size, previous, executable, instr_ptr,
				     // localsplus, owner
	DO_CODE = 272,               // size, filename, name, qualname, …,
				     // localsplusnames (+56)
	DO_PYOBJECT = 352,           // size, ob_type
	DO_TYPE = 368,               // size, tp_name, tp_repr, tp_flags
	DO_TUPLE = 400,              // size, ob_item, ob_size
	DO_LIST = 424,               // size, ob_item, ob_size
	DO_DICT = 448,               // size, ma_keys, ma_values
	DO_FLOAT = 472,              // size, ob_fval
	DO_LONG = 488,               // size, lv_tag, ob_digit
	DO_BYTES = 512,              // size, ob_size, ob_sval
	DO_UNICODE = 536,            // size, state, length, asciiobject_size
	DO_GC = 568,                 // size, collecting
	DO_SIZE_3_13 = 584,
};

static struct err *layout_from_debug_offsets(struct layout *l,
					     struct target *t)
{
	uint64_t d[DO_SIZE_3_13 / 8];
	struct err *err;

	if (l->minor < 13)
		return err_hint(err_create(ERR_LAYOUT,
					   "_Py_DebugOffsets exists only from "
					   "Python 3.13; this is %s",
					   l->version),
				"use --layout auto or builtin");
	// What the debug offsets leave out (GC heads, dict keys, types'
	// other slots…) comes from the built-in table.
	err = layout_from_builtin(l);
	if (err)
		return err;
	if (!l->runtime_addr ||
	    !target_read_ok(t, d, l->runtime_addr, sizeof(d)) ||
	    memcmp(d, "xdebugpy", 8))
		return err_create(ERR_LAYOUT,
				  "no _Py_DebugOffsets at _PyRuntime (0x%"
				  PRIx64 ")", l->runtime_addr);
	uint64_t version = d[DO_VERSION / 8];

	if ((version >> 24) != 3 || ((version >> 16) & 0xff) != l->minor)
		return err_create(ERR_LAYOUT,
				  "_Py_DebugOffsets is for version 0x%" PRIx64
				  ", not %s", version, l->version);
	if (d[DO_FREE_THREADED / 8])
		return err_create(ERR_LAYOUT,
				  "free-threaded builds of Python are not "
				  "supported");
	// Each entry: the offset, and the size of the struct it is in.
	const struct {
		int32_t *dst;
		unsigned off, size_off;
	} map[] = {
		{ &l->rt_interpreters_head, DO_RUNTIME + 16, DO_RUNTIME },
		{ &l->interp_next, DO_INTERP + 16, DO_INTERP },
		{ &l->interp_threads_head, DO_INTERP + 24, DO_INTERP },
		{ &l->interp_gc, DO_INTERP + 32, DO_INTERP },
		{ &l->interp_modules, DO_INTERP + 40, DO_INTERP },
		{ &l->interp_sysdict, DO_INTERP + 48, DO_INTERP },
		{ &l->interp_builtins, DO_INTERP + 56, DO_INTERP },
		{ &l->iframe_previous, DO_FRAME + 8, DO_FRAME },
		{ &l->iframe_code, DO_FRAME + 16, DO_FRAME },
		{ &l->iframe_localsplus, DO_FRAME + 32, DO_FRAME },
		{ &l->iframe_owner, DO_FRAME + 40, DO_FRAME },
		{ &l->code_filename, DO_CODE + 8, DO_CODE },
		{ &l->code_name, DO_CODE + 16, DO_CODE },
		{ &l->code_qualname, DO_CODE + 24, DO_CODE },
		{ &l->code_localsplusnames, DO_CODE + 56, DO_CODE },
		{ &l->ob_type, DO_PYOBJECT + 8, DO_PYOBJECT },
		{ &l->tp_name, DO_TYPE + 8, DO_TYPE },
		{ &l->tp_flags, DO_TYPE + 24, DO_TYPE },
		{ &l->tuple_items, DO_TUPLE + 8, DO_TUPLE },
		{ &l->ob_size, DO_TUPLE + 16, DO_TUPLE },
		{ &l->list_items, DO_LIST + 8, DO_LIST },
		{ &l->dict_keys, DO_DICT + 8, DO_DICT },
		{ &l->dict_values, DO_DICT + 16, DO_DICT },
		{ &l->float_value, DO_FLOAT + 8, DO_FLOAT },
		{ &l->long_tag, DO_LONG + 8, DO_LONG },
		{ &l->long_digits, DO_LONG + 16, DO_LONG },
		{ &l->bytes_sval, DO_BYTES + 16, DO_BYTES },
		{ &l->str_state, DO_UNICODE + 8, DO_UNICODE },
		{ &l->str_length, DO_UNICODE + 16, DO_UNICODE },
		{ &l->sizeof_str_ascii, DO_UNICODE + 24, DO_UNICODE },
		{ &l->gc_collecting, DO_GC + 8, DO_GC },
		{ &l->sizeof_object, DO_PYOBJECT, DO_PYOBJECT },
		{ &l->sizeof_iframe, DO_FRAME, DO_FRAME },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint64_t value = d[map[i].off / 8], size = d[map[i].size_off / 8];

		// Validate as pystack does: every offset inside its struct,
		// every struct of a plausible size.
		if (size == 0 || size > (1u << 20) ||
		    (map[i].off != map[i].size_off && value >= size))
			return err_create(ERR_LAYOUT,
					  "_Py_DebugOffsets at 0x%" PRIx64
					  " is damaged (entry at +%u is %"
					  PRIu64 ")",
					  l->runtime_addr, map[i].off, value);
		*map[i].dst = value;
	}
	l->source = LAYOUT_DEBUG_OFFSETS;
	return NULL;
}

// Version-dependent constants not described by DWARF.
static void layout_derive(struct layout *l)
{
	unsigned v = l->minor;

	// Include/internal/pycore_gc.h: _gc_next bit 0 is NEXT_MASK_UNREACHABLE
	// during a collection (3.8+); 3.14.0–3.14.4 also use bit 1.
	l->gc_next_mask = v >= 8 ? 7 : 0;
	// _PyGC_PREV_MASK_FINALIZED and _COLLECTING; update_refs() stores
	// gc_refs there during a collection (3.8+).
	l->gc_prev_mask = v >= 8 ? 3 : 0;
	// Include/internal/pycore_object.h _PyType_PreHeaderSize: two words
	// (dict or values, weakrefs) before the GC head from 3.11.
	l->preheader = v >= 11 ? 16 : 0;
	l->managed_dict = v >= 11;
	l->inline_values = v >= 13;
	l->immortal_refcnt = v >= 12;
	l->long_tagged = l->long_tag >= 0;
	l->dict_log2 = l->dk_log2_size >= 0;
	l->iframes = v >= 11;
	// Include/internal/pycore_object.h (3.12 _PyDictOrValues).
	l->dict_or_values = v == 12;
	// Include/object.h Py_TPFLAGS_HAVE_FINALIZE, needed before 3.8.
	l->finalize_flag = v < 8;
	// Objects/typeobject.c subtype_traverse; bpo-35810 (3.8).
	l->visit_type_always = v < 8;
	// Objects/typeobject.c managed_static_type_state (3.12+).
	l->static_builtin_index = v >= 12;
	// _PyType_PreHeaderSize: MANAGED_DICT (3.11), | MANAGED_WEAKREF.
	l->preheader_flags = v >= 12 ? TPFLAGS_MANAGED_DICT |
				       TPFLAGS_MANAGED_WEAKREF :
			     v == 11 ? TPFLAGS_MANAGED_DICT : 0;
	// Objects/obmalloc.c (Include/internal/pycore_obmalloc.h from
	// 3.12): ARENA_SIZE and POOL_SIZE, larger from 3.10 (bpo-37448:
	// USE_LARGE_ARENAS, and USE_LARGE_POOLS with the radix tree of
	// 64-bit builds).
	l->arena_size = v >= 10 ? 1u << 20 : 1u << 18;
	l->pool_size = v >= 10 ? 1u << 14 : 1u << 12;
	// 3.13: PyInterpreterState.obmalloc points to the state (the main
	// interpreter's is the static obmalloc_state_main); 3.12 embeds it.
	l->obmalloc_pointer = v >= 13;
}

/*
 * Check the layout against the target before trusting it: the type of
 * `type` is `type`, builtin types have the names and item sizes they
 * must, and the youngest collector list links back to its head. A table
 * from another patch release that moved a field fails here, with a
 * message, instead of producing a wrong snapshot.
 */
static struct err *layout_validate(struct layout *l, struct target *t)
{
	const char *problem = NULL;
	uint64_t type_type, tuple_type, v, head = 0, next, prev;
	char name[16];

	if (!target_symbol(t, "PyType_Type", &type_type, NULL, NULL) ||
	    !target_symbol(t, "PyTuple_Type", &tuple_type, NULL, NULL)) {
		problem = "PyType_Type or PyTuple_Type is not exported";
	} else if (!target_read_u64(t, type_type + l->ob_type, &v) ||
		   v != type_type) {
		problem = "the type of PyType_Type is not PyType_Type";
	} else if (!target_read_u64(t, type_type + l->tp_name, &v) ||
		   target_read_string(t, v, name, sizeof(name)) < 0 ||
		   strcmp(name, "type")) {
		problem = "PyType_Type.tp_name is not 'type'";
	} else if (!target_read_u64(t, type_type + l->tp_flags, &v) ||
		   !(v & TPFLAGS_TYPE_SUBCLASS)) {
		problem = "PyType_Type.tp_flags lacks Py_TPFLAGS_TYPE_SUBCLASS";
	} else if (!target_read_u64(t, tuple_type + l->tp_itemsize, &v) ||
		   v != 8) {
		problem = "PyTuple_Type.tp_itemsize is not 8";
	}
	if (!problem) {
		// The youngest generation's list head: head->next->prev == head.
		uint64_t interp = 0;

		if (l->gc_statics)
			head = l->gc_statics + l->gen_head;
		else if (l->rt_gc >= 0)
			head = l->runtime_addr + l->rt_gc + l->gc_generations +
			       l->gen_head;
		else if (target_read_u64(t, l->runtime_addr +
					    l->rt_interpreters_head,
					 &interp) && interp)
			head = interp + l->interp_gc + l->gc_generations +
			       l->gen_head;
		if (!head)
			problem = "no interpreter in _PyRuntime";
		else if (!target_read_u64(t, head + l->gchead_next, &next) ||
			 !target_read_u64(t, (next & ~7ULL) + l->gchead_prev,
					  &prev) ||
			 (prev & ~3ULL) != head)
			problem = "the youngest collector list does not link "
				  "back to its head";
	}
	if (!problem)
		return NULL;
	struct err *err = err_create(ERR_LAYOUT,
				     "the %s layout of Python %s does not fit "
				     "'%s': %s",
				     layout_source_name(l->source),
				     l->version, l->module_path, problem);
	return err_hint(err, l->source == LAYOUT_DWARF ?
			"check that the debug info matches this build" :
			"install its debug symbols or pass --debuginfo DIR");
}

struct err *layout_init(struct layout *l, struct target *t,
			enum layout_choice choice)
{
	struct err *err;

	layout_reset(l);
	err = find_runtime(l, t);
	if (err)
		return err;
	const struct target_module *m = target_module(t, l->module);

	l->module_path = m->path ? m->path : m->name;
	err = find_version(l, t);
	if (err)
		return err;
	switch (choice) {
	case LAYOUT_CHOOSE_DWARF:
		err = layout_from_dwarf(l, t);
		break;
	case LAYOUT_CHOOSE_DEBUG_OFFSETS:
		err = layout_from_debug_offsets(l, t);
		break;
	case LAYOUT_CHOOSE_BUILTIN:
		err = layout_from_builtin(l);
		break;
	case LAYOUT_CHOOSE_AUTO:
		err = layout_from_dwarf(l, t);
		if (!err)
			break;
		// No usable DWARF: say so only if nothing else works.
		struct err *dwarf_err = err;

		err = l->minor >= 13 ? layout_from_debug_offsets(l, t) :
				       layout_from_builtin(l);
		if (err && l->minor >= 13) {
			err_destroy(err);
			err = layout_from_builtin(l);
		}
		if (err) {
			err_destroy(err);
			err = err_create(ERR_LAYOUT,
					 "no debug info for Python %s in '%s' "
					 "and no built-in layout for it",
					 l->version, l->module_path);
			err_hint(err, "%s", dwarf_err->hint ?
				 dwarf_err->hint :
				 "install its debug symbols or pass "
				 "--debuginfo DIR");
		}
		err_destroy(dwarf_err);
		break;
	}
	if (err)
		return err;
	layout_derive(l);
	return layout_validate(l, t);
}

struct err *layout_builtin(struct layout *l, unsigned minor)
{
	layout_reset(l);
	l->major = 3;
	l->minor = minor;
	snprintf(l->version, sizeof(l->version), "3.%u", minor);
	l->module_path = "";

	struct err *err = layout_from_builtin(l);

	if (err)
		return err;
	layout_derive(l);
	return NULL;
}

struct err *layout_from_file(struct layout *l, const char *path,
			     unsigned minor)
{
	struct dwarf_index *idx;
	struct err *err = dwarf_index_open(path, &idx);

	if (err)
		return err;
	memset(l, 0, sizeof(*l));
	l->major = 3;
	l->minor = minor;
	fill_from_dwarf(l, idx);
	dwarf_index_destroy(idx);
	l->source = LAYOUT_DWARF;
	l->module_path = path;
	// 3.6 has no collector state struct: tell layout_complete().
	if (minor == 6)
		l->gc_statics = 1;
	if (!layout_complete(l))
		return err_create(ERR_LAYOUT,
				  "the DWARF in '%s' lacks the interpreter's "
				  "types", path);
	return NULL;
}

void layout_print_table(const struct layout *l, const char *from, FILE *out)
{
	fprintf(out, "\t{\n\t\t.minor = %u,\n\t\t.from = \"%s\",\n"
		"\t\t.values = {\n", l->minor, from);
	for (int i = 0; i < LAYOUT_NFIELDS; i++)
		fprintf(out, "\t\t\t[LAYOUT_%s] = %d,\n", field_names[i],
			field_get(l, i));
	fprintf(out, "\t\t},\n\t},\n");
}

int layout_compare_table(const struct layout *l, FILE *out)
{
	const struct layout_table *tb = builtin_table(l->minor);
	int differ = 0;

	if (!tb)
		return -1;
	for (int i = 0; i < LAYOUT_NFIELDS; i++) {
		if (tb->values[i] == field_get(l, i))
			continue;
		fprintf(out, "3.%u %s: built-in %d, DWARF %d\n", l->minor,
			field_names[i], tb->values[i], field_get(l, i));
		differ++;
	}
	fprintf(out, "%d entries checked, %d differ\n", LAYOUT_NFIELDS,
		differ);
	return differ;
}
