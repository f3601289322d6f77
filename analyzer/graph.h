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

#include "err.h"
#include "heap.h"

/** Strongly connected components that form reference cycles. */
struct graph_cycles {
	size_t ncycles;       /* components with a cycle */
	uint32_t *cycle;      /* [nnodes] cycle number from 1, 0 = none */
};

/**
 * Find the reference cycles of @p g: strongly connected components of more
 * than one object, or of one object that refers to itself. Iterative
 * (Tarjan's algorithm with an explicit stack), linear in nodes and edges.
 * Cycles are numbered from 1, largest first.
 *
 * @return NULL on success.
 */
struct err *graph_cycles(const struct heap_graph *g,
			 struct graph_cycles *ret);

/** Release what graph_cycles() allocated. */
void graph_cycles_deinit(struct graph_cycles *c);

#endif /* GCSCOPE_GRAPH_H */
