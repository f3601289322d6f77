/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf.h"
#include "layout.h"
#include "target.h"

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
			if (p[i] != '3' || memcmp(p + i, prefix, plen) ||
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
	if (l->major != 3 || l->minor < 6 || l->minor > 14) {
		return err_create(ERR_LAYOUT,
				  "Python %u.%u in '%s' is not supported",
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
		return err_hint(err, "install its debug symbols (for Debian's "
				     "python3.X: apt-get install "
				     "python3.X-dbg) or pass --debuginfo DIR");
	}
	err = dwarf_index_create(dw, &idx);
	if (err)
		return err;
#define X(field, type, paths) l->field = lookup_offset(idx, type, paths);
	LAYOUT_OFFSETS(X)
#undef X
#define X(field, type) l->field = dwarf_type_size(idx, type);
	LAYOUT_SIZES(X)
#undef X
	dwarf_index_destroy(idx);
	l->source = LAYOUT_DWARF;
	l->debug_path = debug_path;

	// A file with DWARF for some units but not the core structs (a
	// partial -dbg, a mismatched debug file) is no DWARF at all for us.
	// 3.6 keeps the collector in statics, without a state struct.
	bool gc_ok = l->gc_statics ? l->sizeof_gc_generation > 0 :
				     l->gc_generations >= 0;

	if (l->sizeof_object != 16 || l->ob_type != 8 || l->tp_name < 0 ||
	    l->sizeof_gc_head < 0 || !gc_ok) {
		err = err_create(ERR_LAYOUT,
				 "the debug info for Python %s in '%s' lacks "
				 "the interpreter's types",
				 l->version, debug_path ? debug_path : m->name);
		return err_hint(err, "install the debug symbols that match "
				     "this build");
	}
	return NULL;
}

// Version-dependent constants not described by DWARF.
static void layout_derive(struct layout *l)
{
	unsigned v = l->minor;

	// Include/internal/pycore_gc.h: _gc_next bit 0 is NEXT_MASK_UNREACHABLE
	// during a collection (3.8+); 3.14.0–3.14.4 also use bit 1.
	l->gc_next_mask = v >= 8 ? 7 : 0;
	// Include/internal/pycore_object.h _PyType_PreHeaderSize: two words
	// (dict or values, weakrefs) before the GC head from 3.11.
	l->preheader = v >= 11 ? 16 : 0;
	l->managed_dict = v >= 11;
	l->inline_values = v >= 13;
	l->immortal_refcnt = v >= 12;
	l->long_tagged = l->long_tag >= 0;
	l->dict_log2 = l->dk_log2_size >= 0;
	l->iframes = v >= 11;
}

struct err *layout_init(struct layout *l, struct target *t)
{
	struct err *err;

	memset(l, 0, sizeof(*l));
#define X(field, ...) l->field = -1;
	LAYOUT_OFFSETS(X)
	LAYOUT_SIZES(X)
#undef X
	err = find_runtime(l, t);
	if (err)
		return err;
	const struct target_module *m = target_module(t, l->module);

	l->module_path = m->path ? m->path : m->name;
	err = find_version(l, t);
	if (err)
		return err;
	err = layout_from_dwarf(l, t);
	if (err)
		return err;
	layout_derive(l);
	return NULL;
}
