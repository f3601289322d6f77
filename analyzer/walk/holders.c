/* SPDX-License-Identifier: MIT */
/*
 * Holders the references do not show. C code keeps objects where no
 * tp_traverse looks: a caller's locals on its thread's C stack, a static
 * of a loaded file (an extension's cached str or dict, an identifier, a
 * module definition's m_copy). Once the walk is done, the objects whose
 * reference count the references found do not explain are looked for in
 * that memory: each word pointing at one becomes a conservative root
 * labelled with its holder, which the anomalies name as its cause.
 *
 * A free list's slot (an interpreter's, or a static whose symbol names a
 * free list) is no holder: it points at an object since freed, or reused, and owns no
 * reference; a leak must not hide behind a stale slot.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/walk.h"
#include "analysis/graph.h"
#include "target/target.h"

enum {
	STACK_SCAN_MAX = 64 << 20,  // bytes of one thread's stack scanned
};

// Whether a static named sym is a free list (Objects/*object.c:
// free_list, numfree's array, keys_free_list, freelist...).
static bool free_list_symbol(const char *sym)
{
	return sym && (strstr(sym, "free_list") || strstr(sym, "freelist"));
}

// Whether the word at a is a slot of an interpreter's free list.
static bool in_free_list(const struct walk *w, uint64_t a)
{
	for (size_t i = 0; i < w->nfree_lists; i++)
		if (a >= w->free_lists[i].start && a < w->free_lists[i].end)
			return true;
	return false;
}

void c_memory_roots(struct walk *w, c_holder_fn *want, void *arg)
{
	char label[160];

	for (size_t m = 0; m < target_num_modules(w->t) && !w->err; m++) {
		const struct target_module *mod = target_module(w->t, m);
		const char *base = strrchr(mod->name, '/');
		uint64_t at = mod->start, start, len;
		const unsigned char *data;

		base = base ? base + 1 : mod->name;
		while (at < mod->end && !w->err &&
		       target_next_segment(w->t, at, &start, &len, &data) &&
		       start < mod->end) {
			uint64_t end = start + len < mod->end ? start + len :
								mod->end;

			if (end <= at)
				break;
			for (uint64_t a = (start + 7) & ~7ULL; a + 8 <= end;
			     a += 8) {
				uint64_t p;

				memcpy(&p, data + (a - start), 8);
				if (!p || (p & 7) || !want(w, p, arg))
					continue;
				const char *sym = target_symbol_at(w->t, a);

				if (free_list_symbol(sym) || in_free_list(w, a))
					continue;
				snprintf(label, sizeof(label),
					 "static %s in %s+0x%" PRIx64,
					 sym ? sym : "?", base, a - mod->start);
				root_add(w, p, HEAP_ROOT_INTERPRETER, label,
					 true);
			}
			at = end;
		}
	}
	// Each thread's C stack, from its stack pointer up: a C caller
	// holds what it is working on there.
	const uint64_t *sps;
	size_t nsps = target_stack_pointers(w->t, &sps);

	for (size_t i = 0; i < nsps && !w->err; i++) {
		uint64_t start, len;
		const unsigned char *data;

		if (!target_next_segment(w->t, sps[i], &start, &len, &data) ||
		    start > sps[i])
			continue;
		for (uint64_t a = (sps[i] + 7) & ~7ULL; a + 8 <= start + len &&
		     a - sps[i] < STACK_SCAN_MAX; a += 8) {
			uint64_t p;

			memcpy(&p, data + (a - start), 8);
			if (!p || (p & 7) || !want(w, p, arg))
				continue;
			snprintf(label, sizeof(label), "C stack of thread %zu "
				 "at 0x%" PRIx64, i + 1, a);
			root_add(w, p, HEAP_ROOT_THREAD, label, true);
		}
	}
}

struct unexplained {
	uint8_t *node;        // [nnodes] 1: look for its holders
	uint64_t lo, hi;      // their addresses' range
};

static bool unexplained(struct walk *w, uint64_t p, void *arg)
{
	const struct unexplained *u = arg;
	long n;

	return p >= u->lo && p <= u->hi && (n = node_find(w, p)) >= 0 &&
	       u->node[n];
}

void walk_holders(struct walk *w)
{
	edges_settle(w);
	if (w->err)
		return;
	const struct heap_graph g = {
		.nnodes = w->nnodes,
		.nodes = w->nodes,
		.nedges = w->nedges,
		.src = w->esrc,
		.dst = w->edst,
		.kind = w->ekind,
		.nroots = w->nroots,
		.root = w->roots,
		.root_conservative = w->roots_flags,
		.interned = w->interned,
	};
	struct graph_anomaly *a = NULL;
	size_t na = 0, want = 0;
	struct unexplained u = { .lo = UINT64_MAX };

	w->err = graph_anomalies(&g, &a, &na);
	if (w->err)
		return;
	u.node = calloc(w->nnodes + 1, 1);
	if (!u.node) {
		w->err = &err_nomem;
		free(a);
		return;
	}
	// Objects found in the arenas only had their C memory scanned by
	// the census already.
	for (size_t i = 0; i < na; i++) {
		const struct heap_node *x = &w->nodes[a[i].node];

		if (a[i].kind == GRAPH_DEFICIT || a[i].explained ||
		    (x->flags & HEAP_NODE_ARENA))
			continue;
		u.node[a[i].node] = 1;
		u.lo = x->addr < u.lo ? x->addr : u.lo;
		u.hi = x->addr > u.hi ? x->addr : u.hi;
		want++;
	}
	free(a);
	if (want)
		c_memory_roots(w, unexplained, &u);
	free(u.node);
}
