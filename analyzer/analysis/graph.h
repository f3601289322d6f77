/* SPDX-License-Identifier: MIT */
/**
 * @file graph.h
 *
 * Graph algorithms over the traverse references of a snapshot.
 */
#ifndef GCSCOPE_GRAPH_H
#define GCSCOPE_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "walk/heap.h"

/** Strongly connected components that form reference cycles. */
struct graph_cycles {
	size_t ncycles;       /* components with a cycle */
	uint32_t *cycle;      /* [nnodes] cycle number from 1, 0 = none */
};

/**
 * Find the reference cycles of @p g as the collector sees them: strongly
 * connected components, among tracked objects, of the traverse references
 * (and the conservative ones of types gcscope cannot decode), of more than
 * one object or of one object that refers to itself. Iterative
 * (Tarjan's algorithm with an explicit stack), linear in nodes and edges.
 * Cycles are numbered from 1, largest first.
 *
 * @return NULL on success.
 */
struct err *graph_cycles(const struct heap_graph *g,
			 struct graph_cycles *ret);

/** Release what graph_cycles() allocated. */
void graph_cycles_deinit(struct graph_cycles *c);

/** The shortest chain of references from a root to each object. */
struct graph_reach {
	uint32_t *depth;  /* [nnodes] references from a root, HEAP_NONE if none */
	uint32_t *via;    /* [nnodes] index of the edge arriving, HEAP_NONE at
			     a root or when unreached */
};

/**
 * Breadth-first search from every root at once over the references that
 * hold (traverse, strong, conservative), linear in nodes and edges.
 *
 * @return NULL on success.
 */
struct err *graph_reach(const struct heap_graph *g, struct graph_reach *ret);

/** Release what graph_reach() allocated. */
void graph_reach_deinit(struct graph_reach *r);

/**
 * What the next full collection would find unreachable: the collector's
 * own algorithm (Python/gc.c, Modules/gcmodule.c: update_refs,
 * subtract_refs, move_unreachable) run on the snapshot, over the tracked
 * objects of generations 0–2 and the traverse references.
 *
 * @param ret [nnodes] 1 for an unreachable object; free() it.
 * @return NULL on success.
 */
struct err *graph_unreachable(const struct heap_graph *g, uint8_t **ret);

enum graph_anomaly_kind {
	GRAPH_DEFICIT,       /* fewer counted references than found */
	GRAPH_UNREFERENCED,  /* counted references, none found */
	GRAPH_EXCESS,        /* more counted references than found */
};

/**
 * An object whose reference count differs from the references found. It
 * is explained when the count is higher and words found by a scan (a
 * conservative root: a C stack, a static, a runtime struct; a word of an
 * object of an undecoded type) can hold the rest; the first such holder
 * is named. Otherwise it is a suspected bug.
 */
struct graph_anomaly {
	uint32_t node;
	enum graph_anomaly_kind kind;
	int64_t referrers;      /* traverse and strong references, roots */
	int64_t conservative;   /* and conservative ones, not in referrers */
	bool explained;         /* conservative >= refcnt - referrers > 0 */
	uint32_t holder_root;   /* first conservative root, or HEAP_NONE */
	uint32_t holder_edge;   /* first conservative edge, or HEAP_NONE */
};

/**
 * Compare each object's reference count with the references to it found:
 * edges other than borrowed ones (but not the interned dict's, which are
 * not counted), each instance's reference to its heap type, and roots.
 * Immortal and static objects are skipped.
 *
 * @param ret the anomalies, by node; free() it.
 * @return NULL on success.
 */
struct err *graph_anomalies(const struct heap_graph *g,
			    struct graph_anomaly **ret, size_t *nret);

#endif /* GCSCOPE_GRAPH_H */
