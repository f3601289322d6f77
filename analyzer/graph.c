/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define NONE UINT32_MAX

struct component {
	uint32_t id;     // Tarjan's component number
	uint32_t size;   // members
	uint32_t first;  // lowest node index among the members
};

static int component_cmp(const void *a, const void *b)
{
	const struct component *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

// Adjacency in compressed rows: the targets of node v are
// adj[start[v]] … adj[start[v + 1] - 1].
static struct err *csr_build(const struct heap_graph *g, uint32_t **start_ret,
			     uint32_t **adj_ret)
{
	uint32_t *start = calloc(g->nnodes + 1, sizeof(*start));
	uint32_t *adj = malloc((g->nedges + 1) * sizeof(*adj));

	if (!start || !adj) {
		free(start);
		free(adj);
		return &err_nomem;
	}
	for (size_t i = 0; i < g->nedges; i++)
		start[g->src[i] + 1]++;
	for (size_t v = 0; v < g->nnodes; v++)
		start[v + 1] += start[v];
	// Fill using start[] as cursors, then shift back.
	for (size_t i = 0; i < g->nedges; i++)
		adj[start[g->src[i]]++] = g->dst[i];
	for (size_t v = g->nnodes; v > 0; v--)
		start[v] = start[v - 1];
	start[0] = 0;
	*start_ret = start;
	*adj_ret = adj;
	return NULL;
}

struct err *graph_cycles(const struct heap_graph *g, struct graph_cycles *ret)
{
	size_t n = g->nnodes;
	uint32_t *start, *adj;
	struct err *err = csr_build(g, &start, &adj);

	memset(ret, 0, sizeof(*ret));
	if (err)
		return err;
	uint32_t *index = malloc((n + 1) * sizeof(*index));
	uint32_t *low = malloc((n + 1) * sizeof(*low));
	uint32_t *comp = malloc((n + 1) * sizeof(*comp));
	uint32_t *stack = malloc((n + 1) * sizeof(*stack));
	uint32_t *call = malloc((n + 1) * sizeof(*call));  // node
	uint32_t *cursor = malloc((n + 1) * sizeof(*cursor)); // next edge
	bool *on_stack = calloc(n + 1, sizeof(*on_stack));
	struct component *comps = NULL;
	size_t ncomps = 0, comps_cap = 0;

	if (!index || !low || !comp || !stack || !call || !cursor ||
	    !on_stack) {
		err = &err_nomem;
		goto out;
	}
	for (size_t v = 0; v < n; v++)
		index[v] = comp[v] = NONE;
	uint32_t next_index = 0, sp = 0, ncomp = 0;

	for (size_t root = 0; root < n; root++) {
		if (index[root] != NONE)
			continue;
		size_t depth = 0;

		call[depth] = root;
		cursor[depth++] = start[root];
		index[root] = low[root] = next_index++;
		stack[sp++] = root;
		on_stack[root] = true;
		while (depth) {
			uint32_t v = call[depth - 1];

			if (cursor[depth - 1] < start[v + 1]) {
				uint32_t w = adj[cursor[depth - 1]++];

				if (index[w] == NONE) {
					index[w] = low[w] = next_index++;
					stack[sp++] = w;
					on_stack[w] = true;
					call[depth] = w;
					cursor[depth++] = start[w];
				} else if (on_stack[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			depth--;
			if (depth && low[v] < low[call[depth - 1]])
				low[call[depth - 1]] = low[v];
			if (low[v] != index[v])
				continue;
			// v is the root of a component: pop it.
			uint32_t size = 0, first = v, w;

			do {
				w = stack[--sp];
				on_stack[w] = false;
				comp[w] = ncomp;
				if (w < first)
					first = w;
				size++;
			} while (w != v);
			bool cyclic = size > 1;

			for (uint32_t e = start[v]; !cyclic && e < start[v + 1];
			     e++)
				cyclic = adj[e] == v;
			if (cyclic) {
				if (ncomps == comps_cap) {
					size_t cap = comps_cap ? comps_cap * 2 :
								 256;
					struct component *p = realloc(
						comps, cap * sizeof(*p));

					if (!p) {
						err = &err_nomem;
						goto out;
					}
					comps = p;
					comps_cap = cap;
				}
				comps[ncomps++] = (struct component){
					.id = ncomp, .size = size, .first = first
				};
			}
			ncomp++;
		}
	}
	if (ncomps)
		qsort(comps, ncomps, sizeof(*comps), component_cmp);
	// Reuse low[] as Tarjan component -> cycle number.
	for (size_t c = 0; c < ncomp; c++)
		low[c] = 0;
	for (size_t i = 0; i < ncomps; i++)
		low[comps[i].id] = i + 1;
	ret->cycle = comp;
	for (size_t v = 0; v < n; v++)
		comp[v] = low[comp[v]];
	ret->ncycles = ncomps;
	comp = NULL;
out:
	free(index);
	free(low);
	free(comp);
	free(stack);
	free(call);
	free(cursor);
	free(on_stack);
	free(comps);
	free(start);
	free(adj);
	return err;
}

void graph_cycles_deinit(struct graph_cycles *c)
{
	free(c->cycle);
	memset(c, 0, sizeof(*c));
}
