/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/dwarf.h"
#include "cpython/layout.h"
#include "cpython/version.h"
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
 * "3.X.Y" and a release tag ("", "a1", "b2", "rc1", "+") then " (" at
 * @p p: Py_GetVersion()'s text. @p tag gets the tag.
 *
 * @return Y, or -1 if @p p is not such a text.
 */
static int version_text(const unsigned char *p, const unsigned char *end,
			size_t plen, char *tag, size_t tag_size)
{
	const unsigned char *q = p + plen, *t;
	int micro = 0, digits = 0;

	while (q < end && *q >= '0' && *q <= '9' && digits < 3) {
		micro = micro * 10 + (*q++ - '0');
		digits++;
	}
	for (t = q; q < end && q < t + 8 &&
		    ((*q >= '0' && *q <= '9') || *q == 'a' || *q == 'b' ||
		     *q == 'r' || *q == 'c' || *q == '+');)
		q++;
	if (!digits || q + 1 >= end || q[0] != ' ' || q[1] != '(' ||
	    (size_t)(q - t) >= tag_size)
		return -1;
	memcpy(tag, t, q - t);
	tag[q - t] = 0;
	return micro;
}

/*
 * Before 3.11 the micro version is only in memory: Py_GetVersion() fills
 * a static buffer with "3.X.Y (build info) [compiler]" at start-up
 * (Python/getversion.c). Find it in the module's writable data, which
 * goes on past the file's mappings: .bss is an anonymous mapping right
 * after them.
 *
 * @return Y, or -1 if not found; @p tag gets the release tag.
 */
static int version_from_memory(struct target *t,
			       const struct target_module *m, unsigned minor,
			       char *tag, size_t tag_size)
{
	char prefix[16];
	int plen = snprintf(prefix, sizeof(prefix), "3.%u.", minor);
	uint64_t addr = m->start, end = m->end, start, len;
	const unsigned char *p;
	uint64_t scanned = 0;

	while (scanned < (64u << 20) &&
	       target_next_segment(t, addr, &start, &len, &p) &&
	       start < end) {
		for (uint64_t i = 0; i + plen + 4 < len; i++) {
			const unsigned char *hit = memmem(p + i, len - i,
							  prefix, plen);

			if (!hit)
				break;
			i = hit - p;
			if (i + plen + 4 >= len ||
			    (i && p[i - 1] >= ' ' && p[i - 1] < 0x7f))
				continue;
			int micro = version_text(p + i, p + len, plen, tag,
						 tag_size);

			if (micro >= 0)
				return micro;
		}
		scanned += len;
		addr = start + len;
		// A mapping that starts where the file's last one ends.
		if (addr >= m->end && end == m->end)
			end = addr + 1;
	}
	return -1;
}

// A file the core names, needed and not found: where it was looked for.
static struct err *missing_file(struct target *t,
				const struct target_module *m)
{
	const char *sysroot = target_sysroot(t);
	struct err *err;

	if (m->rejected)
		err = err_create(ERR_INPUT,
				 "the core names '%s', and '%s' on this "
				 "machine is another build of it (build-id "
				 "%s, the core's %s)", m->name, m->rejected,
				 m->rejected_build_id,
				 m->build_id ? m->build_id : "?");
	else if (sysroot)
		err = err_create(ERR_INPUT,
				 "the core names '%s', which is not on this "
				 "machine: neither under --sysroot '%s' nor "
				 "at that path", m->name, sysroot);
	else
		err = err_create(ERR_INPUT,
				 "the core names '%s', which is not on this "
				 "machine", m->name);
	return err_hint(err, "copy the files of the machine that made the "
			     "core under a directory, at their paths, and "
			     "pass --sysroot DIR, or pass --debuginfo DIR "
			     "holding DIR/.build-id/xx/rest (the executable "
			     "may also be given with --exe)");
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
			return missing_file(t, m);
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

	char tag[8] = "";
	int micro = -1;

	// 3.11+: const unsigned long Py_Version = PY_VERSION_HEX, and the
	// release level and serial in its low byte.
	if (target_symbol(t, "Py_Version", &addr, NULL, NULL) &&
	    target_read_u64(t, addr, &hex) && (hex >> 24) == 3) {
		static const char *const levels[16] = {
			[0xa] = "a", [0xb] = "b", [0xc] = "rc", [0xf] = "",
		};
		const char *level = levels[(hex >> 4) & 0xf];

		l->major = 3;
		l->minor = (hex >> 16) & 0xff;
		micro = (hex >> 8) & 0xff;
		if (level && *level)
			snprintf(tag, sizeof(tag), "%s%u", level,
				 (unsigned)(hex & 0xf));
	} else if (!version_from_name(m->name, &l->major, &l->minor) &&
		   !(m->path &&
		     version_from_name(m->path, &l->major, &l->minor))) {
		return err_create(ERR_NOTPYTHON,
				  "cannot tell the Python version of '%s'",
				  m->name);
	}
	if (micro < 0)
		micro = version_from_memory(t, m, l->minor, tag, sizeof(tag));
	l->micro = micro > 0 ? micro : 0;
	// Supported: the default (GIL) builds of the versions in the
	// registry (version.c); free-threaded builds (libpython3.13t) have
	// another object header.
	const char *base = strrchr(m->name, '/');
	char ft[32], range[32];

	base = base ? base + 1 : m->name;
	snprintf(ft, sizeof(ft), "python%u.%ut", l->major, l->minor);
	if (strstr(base, ft))
		return err_create(ERR_LAYOUT,
				  "'%s' is a free-threaded build of Python "
				  "%u.%u, which gcscope does not support",
				  m->name, l->major, l->minor);
	l->cpython = cpython_version_find(l->major, l->minor);
	if (!l->cpython) {
		return err_create(ERR_LAYOUT,
				  "Python %u.%u in '%s' is not supported: "
				  "gcscope reads %s",
				  l->major, l->minor, m->name,
				  cpython_supported(range, sizeof(range)));
	}
	// Without the micro version, none rather than a made-up one.
	if (micro >= 0)
		snprintf(l->version, sizeof(l->version), "%u.%u.%u%s", l->major,
			 l->minor, l->micro, tag);
	else
		snprintf(l->version, sizeof(l->version), "%u.%u", l->major,
			 l->minor);
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
	l->source = LAYOUT_DWARF;
	// No separate file: the DWARF is the module's own.
	l->debug_path = debug_path ? debug_path : l->module_path;

	// A file with DWARF for some units but not the core structs (a
	// partial -dbg, a mismatched debug file) is no DWARF at all for us.
	if (!layout_complete(l)) {
		dwarf_index_destroy(idx);
		err = err_create(ERR_LAYOUT,
				 "the debug info for Python %s in '%s' lacks "
				 "the interpreter's types",
				 l->version, debug_path ? debug_path : m->name);
		return err_hint(err, "install the debug symbols that match "
				     "this build");
	}
	l->dwarf = idx;
	return NULL;
}

static struct err *layout_from_builtin(struct layout *l)
{
	const struct layout_table *tb = l->cpython ? l->cpython->table : NULL;

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
 * _Py_DebugOffsets, where the version has it: the interpreter describes its
 * own main structs at the start of _PyRuntime. The version's map says which
 * entry fills which table entry (cpython/version.h).
 */
static const char *debug_offsets_first(char *buf, size_t size)
{
	for (size_t i = 0; i < cpython_nversions; i++) {
		if (cpython_versions[i]->debug_offsets) {
			snprintf(buf, size, "3.%u", cpython_versions[i]->minor);
			return buf;
		}
	}
	return "no version";
}

static struct err *layout_from_debug_offsets(struct layout *l,
					     struct target *t)
{
	const struct debug_offsets_map *map =
		l->cpython ? l->cpython->debug_offsets : NULL;
	uint64_t d[DEBUG_OFFSETS_MAX / 8];
	struct err *err;
	char first[16];

	if (!map)
		return err_hint(err_create(ERR_LAYOUT,
					   "_Py_DebugOffsets exists only from "
					   "Python %s; this is %s",
					   debug_offsets_first(first,
							       sizeof(first)),
					   l->version),
				"use --layout auto or builtin");
	// What the debug offsets leave out (GC heads, dict keys, types'
	// other slots…) comes from the built-in table.
	err = layout_from_builtin(l);
	if (err)
		return err;
	if (!l->runtime_addr ||
	    !target_read_ok(t, d, l->runtime_addr, map->size) ||
	    memcmp(d, "xdebugpy", 8))
		return err_create(ERR_LAYOUT,
				  "no _Py_DebugOffsets at _PyRuntime (0x%"
				  PRIx64 ")", l->runtime_addr);
	uint64_t version = d[map->version_off / 8];

	if ((version >> 24) != 3 || ((version >> 16) & 0xff) != l->minor)
		return err_create(ERR_LAYOUT,
				  "_Py_DebugOffsets is for version 0x%" PRIx64
				  ", not %s", version, l->version);
	if (d[map->free_threaded_off / 8])
		return err_create(ERR_LAYOUT,
				  "free-threaded builds of Python are not "
				  "supported");
	for (size_t i = 0; i < map->nentries; i++) {
		const struct debug_offsets_entry *e = &map->entries[i];
		uint64_t value = d[e->off / 8], size = d[e->size_off / 8];

		// Validate as pystack does: every offset inside its struct,
		// every struct of a plausible size.
		if (size == 0 || size > (1u << 20) ||
		    (e->off != e->size_off && value >= size))
			return err_create(ERR_LAYOUT,
					  "_Py_DebugOffsets at 0x%" PRIx64
					  " is damaged (entry at +%u is %"
					  PRIu64 ")",
					  l->runtime_addr, e->off, value);
		*field_ptr(l, e->field) = value;
	}
	l->source = LAYOUT_DEBUG_OFFSETS;
	return NULL;
}

// The version's constants, and what the tables say of the layout.
static void layout_derive(struct layout *l)
{
	const struct cpython_version *v = l->cpython;

	l->gc_next_mask = v->gc_next_mask;
	l->gc_prev_mask = v->gc_prev_mask;
	l->preheader = v->preheader;
	l->preheader_flags = v->preheader_flags;
	l->managed_dict = v->managed_dict;
	l->inline_values = v->inline_values;
	l->dict_or_values = v->dict_or_values;
	l->immortal_refcnt = v->immortal_refcnt;
	l->iframes = v->iframes;
	l->finalize_flag = v->finalize_flag;
	l->visit_type_always = v->visit_type_always;
	l->static_builtin_index = v->static_builtin_index;
	l->arena_size = v->arena_size;
	l->pool_size = v->pool_size;
	l->obmalloc_pointer = v->obmalloc_pointer;
	l->long_tagged = l->long_tag >= 0;
	l->dict_log2 = l->dk_log2_size >= 0;
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
		// Past the end of a truncated core the link cannot be
		// checked: the rest must do.
		if (!head)
			problem = "no interpreter in _PyRuntime";
		else if (!target_read_u64(t, head + l->gchead_next, &next))
			problem = "the youngest collector list's head is "
				  "unreadable";
		else if (target_read_u64(t, (next & ~7ULL) + l->gchead_prev,
					 &prev) ? (prev & ~3ULL) != head :
			 !target_is_lost(t, (next & ~7ULL) + l->gchead_prev))
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

		err = l->cpython->debug_offsets ?
			layout_from_debug_offsets(l, t) :
			layout_from_builtin(l);
		if (err && l->cpython->debug_offsets) {
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
	if (!err) {
		layout_derive(l);
		err = layout_validate(l, t);
	}
	if (err)
		layout_deinit(l);
	return err;
}

void layout_deinit(struct layout *l)
{
	dwarf_index_destroy(l->dwarf);
	l->dwarf = NULL;
}

struct err *layout_builtin(struct layout *l, unsigned minor)
{
	layout_reset(l);
	l->major = 3;
	l->minor = minor;
	l->cpython = cpython_version_find(3, minor);
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
	const struct cpython_version *v = cpython_version_find(3, minor);
	struct dwarf_index *idx;
	struct err *err;
	char range[32];

	if (!v)
		return err_create(ERR_LAYOUT,
				  "Python 3.%u is not supported: gcscope "
				  "reads %s", minor,
				  cpython_supported(range, sizeof(range)));
	err = dwarf_index_open(path, &idx);
	if (err)
		return err;
	memset(l, 0, sizeof(*l));
	l->major = 3;
	l->minor = minor;
	l->cpython = v;
	fill_from_dwarf(l, idx);
	dwarf_index_destroy(idx);
	l->source = LAYOUT_DWARF;
	l->module_path = path;
	// No collector state struct (3.6): tell layout_complete().
	if (v->gc_statics)
		l->gc_statics = 1;
	if (!layout_complete(l))
		return err_create(ERR_LAYOUT,
				  "the DWARF in '%s' lacks the interpreter's "
				  "types", path);
	return NULL;
}

// The head of each generated table file.
static const char table_head[] =
	"/* SPDX-License-Identifier: MIT */\n"
	"/*\n"
	" * A built-in layout: struct sizes and member offsets of one CPython\n"
	" * build on x86-64 Linux, for interpreters whose debug info is not at\n"
	" * hand. -1 marks a field the version does not have.\n"
	" *\n"
	" * Generated by `make layout-tables` (gcscope layout FILE) from the\n"
	" * DWARF of the build named in .from; do not edit. The tests check\n"
	" * every entry against the DWARF of each installed interpreter\n"
	" * (tests/integration/test_layout.py).\n"
	" */\n"
	"#include \"cpython/layout.h\"\n"
	"\n";

void layout_print_table(const struct layout *l, const char *from, FILE *out)
{
	fputs(table_head, out);
	fprintf(out, "const struct layout_table layout_table_3_%u = {\n"
		"\t.minor = %u,\n\t.from = \"%s\",\n\t.values = {\n",
		l->minor, l->minor, from);
	for (int i = 0; i < LAYOUT_NFIELDS; i++)
		fprintf(out, "\t\t[LAYOUT_%s] = %d,\n", field_names[i],
			field_get(l, i));
	// The count stops the build when layout.h gains a field the table
	// lacks, which would otherwise read as offset 0; make layout-tables
	// builds the gcscope that rewrites the tables without it.
	fprintf(out, "\t},\n};\n\n"
		"/* Every field of layout.h, no fewer: a field missing here would "
		"read as 0. */\n"
		"#ifndef LAYOUT_TABLES_UNCHECKED\n"
		"_Static_assert(LAYOUT_NFIELDS == %d,\n"
		"\t       \"the layout table of Python 3.%u lacks fields of "
		"layout.h: \"\n"
		"\t       \"run make layout-tables\");\n"
		"#endif\n",
		LAYOUT_NFIELDS, l->minor);
}

int layout_compare_table(const struct layout *l, FILE *out)
{
	const struct layout_table *tb = l->cpython ? l->cpython->table : NULL;
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
