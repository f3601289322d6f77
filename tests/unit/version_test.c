/* SPDX-License-Identifier: MIT */
/*
 * The registry of CPython versions (analyzer/cpython/version.c): oldest
 * first, one minor after the other, each with the built-in table of its
 * own minor; every _Py_DebugOffsets map inside its block; the built-in
 * layout of every version, and a refusal naming the supported range for
 * the versions just outside it.
 */
#include <stdio.h>
#include <string.h>

#include "cpython/layout.h"
#include "cpython/version.h"

static int passed, failed;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			passed++;                                            \
		} else {                                                     \
			failed++;                                            \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);          \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		}                                                            \
	} while (0)

static void check_version(const struct cpython_version *v, size_t i)
{
	const struct debug_offsets_map *m = v->debug_offsets;

	if (i)
		CHECK(v->minor == cpython_versions[i - 1]->minor + 1,
		      "3.%u follows 3.%u", v->minor,
		      cpython_versions[i - 1]->minor);
	CHECK(cpython_version_find(3, v->minor) == v, "3.%u is found",
	      v->minor);
	CHECK(v->table && v->table->minor == v->minor,
	      "3.%u has the table of 3.%u", v->minor,
	      v->table ? v->table->minor : 0);
	CHECK(v->arena_size && v->pool_size &&
	      v->arena_size % v->pool_size == 0,
	      "3.%u: pymalloc's sizes %u and %u", v->minor, v->arena_size,
	      v->pool_size);
	CHECK(!v->preheader == !v->preheader_flags,
	      "3.%u: a pre-header and the flags that put it there",
	      v->minor);
	for (size_t k = 0; m && k < m->nentries; k++) {
		const struct debug_offsets_entry *e = &m->entries[k];

		CHECK(e->off % 8 == 0 && e->size_off % 8 == 0 &&
		      e->off < m->size && e->size_off <= e->off &&
		      e->field < LAYOUT_NFIELDS,
		      "3.%u: _Py_DebugOffsets entry %zu (+%u, size +%u)",
		      v->minor, k, e->off, e->size_off);
	}
	if (m)
		CHECK(m->size <= DEBUG_OFFSETS_MAX && m->size % 8 == 0 &&
		      m->version_off < m->size &&
		      m->free_threaded_off < m->size,
		      "3.%u: _Py_DebugOffsets of %u bytes", v->minor, m->size);

	struct layout l;
	struct err *err = layout_builtin(&l, v->minor);

	CHECK(!err, "3.%u: layout_builtin: %s", v->minor,
	      err ? err->message : "");
	if (err) {
		err_destroy(err);
		return;
	}
	CHECK(l.cpython == v && l.source == LAYOUT_BUILTIN &&
	      l.sizeof_object == 16 && l.ob_type == 8 &&
	      l.gc_prev_mask == v->gc_prev_mask &&
	      l.preheader == v->preheader &&
	      l.iframes == v->iframes && l.pool_size == v->pool_size,
	      "3.%u: the built-in layout and its constants", v->minor);
}

static void check_refused(unsigned minor, const char *range)
{
	struct layout l;
	struct err *err = layout_builtin(&l, minor);
	char expect[64];

	CHECK(!cpython_version_find(3, minor), "3.%u is not found", minor);
	CHECK(err && err->code == ERR_LAYOUT, "3.%u has no built-in layout",
	      minor);
	if (err)
		err_destroy(err);
	err = layout_from_file(&l, "/nonexistent", minor);
	snprintf(expect, sizeof(expect),
		 "Python 3.%u is not supported: gcscope reads %s", minor,
		 range);
	CHECK(err && !strcmp(err->message, expect),
	      "layout_from_file of 3.%u: '%s', not '%s'", minor,
	      err ? err->message : "(no error)", expect);
	if (err)
		err_destroy(err);
}

int main(void)
{
	char range[32], expect[32];

	CHECK(cpython_nversions > 0, "no versions");
	for (size_t i = 0; i < cpython_nversions; i++)
		check_version(cpython_versions[i], i);

	unsigned first = cpython_versions[0]->minor;
	unsigned last = cpython_versions[cpython_nversions - 1]->minor;

	cpython_supported(range, sizeof(range));
	snprintf(expect, sizeof(expect), "3.%u to 3.%u", first, last);
	CHECK(!strcmp(range, expect), "range '%s'", range);
	check_refused(last + 1, range);
	if (first)
		check_refused(first - 1, range);
	CHECK(!cpython_version_find(2, first), "2.%u is not found", first);

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
