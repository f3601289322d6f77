/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "util/mem.h"

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

// Adjacency in compressed rows: the edges leaving node v, of the kinds
// in the bit set, are adj[start[v]] … adj[start[v + 1] - 1], as indexes
// into the graph's edges.
static struct err *csr_build(const struct heap_graph *g, uint32_t kinds,
			     uint32_t **start_ret, uint32_t **adj_ret)
{
	uint32_t *start = calloc(g->nnodes + 1, sizeof(*start));
	mem_huge(start, (g->nnodes + 1) * sizeof(*start));
	uint32_t *adj = malloc((g->nedges + 1) * sizeof(*adj));
	mem_huge(adj, (g->nedges + 1) * sizeof(*adj));

	if (!start || !adj) {
		free(start);
		free(adj);
		return &err_nomem;
	}
	for (size_t i = 0; i < g->nedges; i++) {
		if (kinds & (1u << g->kind[i]))
			start[g->src[i] + 1]++;
	}
	for (size_t v = 0; v < g->nnodes; v++)
		start[v + 1] += start[v];
	// Fill using start[] as cursors, then shift back.
	for (size_t i = 0; i < g->nedges; i++) {
		if (kinds & (1u << g->kind[i]))
			adj[start[g->src[i]]++] = i;
	}
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
	// What the collector sees: tracked objects, the references their
	// traverse visits; for types gcscope cannot decode, the pointers a
	// scan found stand in for their traverse.
	struct err *err = csr_build(g, (1u << HEAP_EDGE_TRAVERSE) |
				       (1u << HEAP_EDGE_VISITED) |
				       (1u << HEAP_EDGE_CONSERVATIVE),
				    &start, &adj);

	memset(ret, 0, sizeof(*ret));
	if (err)
		return err;
	uint32_t *index = malloc((n + 1) * sizeof(*index));
	mem_huge(index, (n + 1) * sizeof(*index));
	uint32_t *low = malloc((n + 1) * sizeof(*low));
	mem_huge(low, (n + 1) * sizeof(*low));
	uint32_t *comp = malloc((n + 1) * sizeof(*comp));
	mem_huge(comp, (n + 1) * sizeof(*comp));
	uint32_t *stack = malloc((n + 1) * sizeof(*stack));
	mem_huge(stack, (n + 1) * sizeof(*stack));
	uint32_t *call = malloc((n + 1) * sizeof(*call));  // node
	mem_huge(call, (n + 1) * sizeof(*call));
	uint32_t *cursor = malloc((n + 1) * sizeof(*cursor)); // next edge
	mem_huge(cursor, (n + 1) * sizeof(*cursor));
	bool *on_stack = calloc(n + 1, sizeof(*on_stack));
	mem_huge(on_stack, (n + 1) * sizeof(*on_stack));
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
		if (index[root] != NONE ||
		    !(g->nodes[root].flags & HEAP_NODE_TRACKED))
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
				uint32_t w = g->dst[adj[cursor[depth - 1]++]];

				if (!(g->nodes[w].flags & HEAP_NODE_TRACKED))
					continue;
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
				cyclic = g->dst[adj[e]] == v;
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
	// Untracked objects were never visited: in no cycle.
	for (size_t v = 0; v < n; v++)
		comp[v] = comp[v] == NONE ? 0 : low[comp[v]];
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

struct err *graph_reach(const struct heap_graph *g, struct graph_reach *ret)
{
	size_t n = g->nnodes;
	uint32_t *start, *adj;
	// Every reference that holds: not a weakref's borrowed pointer.
	struct err *err = csr_build(g, (1u << HEAP_EDGE_TRAVERSE) |
				       (1u << HEAP_EDGE_VISITED) |
				       (1u << HEAP_EDGE_STRONG) |
				       (1u << HEAP_EDGE_CONSERVATIVE),
				    &start, &adj);

	memset(ret, 0, sizeof(*ret));
	if (err)
		return err;
	uint32_t *depth = malloc((n + 1) * sizeof(*depth));
	mem_huge(depth, (n + 1) * sizeof(*depth));
	uint32_t *via = malloc((n + 1) * sizeof(*via));
	mem_huge(via, (n + 1) * sizeof(*via));
	uint32_t *queue = malloc((n + 1) * sizeof(*queue));
	mem_huge(queue, (n + 1) * sizeof(*queue));

	if (!depth || !via || !queue) {
		free(depth);
		free(via);
		free(queue);
		free(start);
		free(adj);
		return &err_nomem;
	}
	for (size_t v = 0; v < n; v++)
		depth[v] = via[v] = HEAP_NONE;
	size_t head = 0, tail = 0;

	// Breadth first from every root at once: the first path found to an
	// object is a shortest one. Named roots first; words found by
	// scanning C structs only for what those do not reach, so chains
	// start where people can read them (a frame, sys.modules).
	for (int pass = 0; pass < 2; pass++) {
		for (size_t r = 0; r < g->nroots; r++) {
			uint32_t v = g->root[r];

			if (v < n && depth[v] == HEAP_NONE &&
			    (g->root_conservative[r] != 0) == pass) {
				depth[v] = 0;
				queue[tail++] = v;
			}
		}
		while (head < tail) {
			uint32_t v = queue[head++];

			for (uint32_t e = start[v]; e < start[v + 1]; e++) {
				uint32_t u = g->dst[adj[e]];

				if (depth[u] != HEAP_NONE)
					continue;
				depth[u] = depth[v] + 1;
				via[u] = adj[e];
				queue[tail++] = u;
			}
		}
	}
	free(queue);
	free(start);
	free(adj);
	ret->depth = depth;
	ret->via = via;
	return NULL;
}

void graph_reach_deinit(struct graph_reach *r)
{
	free(r->depth);
	free(r->via);
	memset(r, 0, sizeof(*r));
}

struct err *graph_unreachable(const struct heap_graph *g, uint8_t **ret)
{
	size_t n = g->nnodes;
	uint32_t *start, *adj;
	struct err *err = csr_build(g, (1u << HEAP_EDGE_TRAVERSE) |
				       (1u << HEAP_EDGE_VISITED),
				    &start, &adj);

	*ret = NULL;
	if (err)
		return err;
	int64_t *refs = malloc((n + 1) * sizeof(*refs));
	mem_huge(refs, (n + 1) * sizeof(*refs));
	uint8_t *state = calloc(n + 1, 1);
	mem_huge(state, (n + 1) * 1);
	uint32_t *queue = malloc((n + 1) * sizeof(*queue));
	mem_huge(queue, (n + 1) * sizeof(*queue));
	enum { OUTSIDE, CANDIDATE, REACHABLE, UNREACHABLE };

	if (!refs || !state || !queue) {
		err = &err_nomem;
		goto out;
	}
	// The set a full collection examines: the tracked objects of
	// generations 0–2. Immortal objects are left out (3.12
	// update_refs moves them to the permanent generation).
	for (size_t v = 0; v < n; v++) {
		const struct heap_node *x = &g->nodes[v];

		// A count that is not positive is no count: such an object is
		// left out, as if referenced from outside.
		if ((x->flags & HEAP_NODE_TRACKED) && x->generation >= 0 &&
		    x->generation <= 2 && !(x->flags & HEAP_NODE_IMMORTAL) &&
		    !(x->flags & HEAP_NODE_BAD) && x->refcnt > 0 &&
		    x->refcnt < (1LL << 48)) {
			state[v] = CANDIDATE;
			refs[v] = x->refcnt;
		}
	}
	// subtract_refs: what is left are references from outside the set.
	for (size_t v = 0; v < n; v++) {
		if (state[v] != CANDIDATE)
			continue;
		for (uint32_t e = start[v]; e < start[v + 1]; e++) {
			uint32_t u = g->dst[adj[e]];

			if (state[u] == CANDIDATE)
				refs[u]--;
		}
	}
	// move_unreachable: everything reachable from an object referenced
	// from outside survives.
	size_t head = 0, tail = 0;

	for (size_t v = 0; v < n; v++) {
		if (state[v] == CANDIDATE && refs[v] != 0) {
			state[v] = REACHABLE;
			queue[tail++] = v;
		}
	}
	while (head < tail) {
		uint32_t v = queue[head++];

		for (uint32_t e = start[v]; e < start[v + 1]; e++) {
			uint32_t u = g->dst[adj[e]];

			if (state[u] == CANDIDATE) {
				state[u] = REACHABLE;
				queue[tail++] = u;
			}
		}
	}
	for (size_t v = 0; v < n; v++)
		state[v] = state[v] == CANDIDATE;
	*ret = state;
	state = NULL;
out:
	free(refs);
	free(state);
	free(queue);
	free(start);
	free(adj);
	return err;
}

struct err *graph_anomalies(const struct heap_graph *g,
			    struct graph_anomaly **ret, size_t *nret)
{
	size_t n = g->nnodes, count = 0, cap = 0;
	int64_t *refs = calloc(n + 1, sizeof(*refs));
	mem_huge(refs, (n + 1) * sizeof(*refs));
	int64_t *maybe = calloc(n + 1, sizeof(*maybe));
	mem_huge(maybe, (n + 1) * sizeof(*maybe));
	uint32_t *class_refs = calloc(n + 1, sizeof(*class_refs));
	mem_huge(class_refs, (n + 1) * sizeof(*class_refs));
	// The first conservative root and edge of each node: its holder.
	uint32_t *first_root = malloc((n + 1) * sizeof(*first_root));
	mem_huge(first_root, (n + 1) * sizeof(*first_root));
	uint32_t *first_edge = malloc((n + 1) * sizeof(*first_edge));
	mem_huge(first_edge, (n + 1) * sizeof(*first_edge));
	struct graph_anomaly *out = NULL;
	struct err *err = NULL;

	*ret = NULL;
	*nret = 0;
	if (!refs || !maybe || !class_refs || !first_root || !first_edge) {
		err = &err_nomem;
		goto out;
	}
	memset(first_root, 0xff, (n + 1) * sizeof(*first_root));
	memset(first_edge, 0xff, (n + 1) * sizeof(*first_edge));
	for (size_t i = 0; i < g->nedges; i++) {
		uint32_t s = g->src[i], d = g->dst[i];

		if (g->kind[i] == HEAP_EDGE_BORROWED ||
		    g->kind[i] == HEAP_EDGE_VISITED)
			continue;
		// The interned dict's references to mortal strings are not in
		// their counts (Objects/unicodeobject.c intern_common).
		if (s == g->interned)
			continue;
		// An instance's reference to its heap type is counted once,
		// below, whether or not its traverse reported it.
		if (d == g->nodes[s].type &&
		    (g->nodes[s].flags & HEAP_NODE_HEAP_TYPE)) {
			class_refs[s]++;
			continue;
		}
		if (g->kind[i] == HEAP_EDGE_CONSERVATIVE) {
			maybe[d]++;
			if (first_edge[d] == HEAP_NONE)
				first_edge[d] = i;
		} else {
			refs[d]++;
		}
	}
	// Every instance of a heap type owns a reference to it
	// (PyType_GenericAlloc).
	for (size_t v = 0; v < n; v++) {
		const struct heap_node *x = &g->nodes[v];

		if ((x->flags & HEAP_NODE_HEAP_TYPE) && x->type < n)
			refs[x->type] += class_refs[v] ? class_refs[v] : 1;
	}
	for (size_t r = 0; r < g->nroots; r++) {
		uint32_t v = g->root[r];

		if (g->root_conservative[r]) {
			maybe[v]++;
			if (first_root[v] == HEAP_NONE)
				first_root[v] = r;
		} else {
			refs[v]++;
		}
	}
	for (size_t v = 0; v < n; v++) {
		const struct heap_node *x = &g->nodes[v];
		enum graph_anomaly_kind kind;

		// Immortal and statically allocated objects keep no count
		// worth checking; unreadable ones have none.
		if (x->flags & (HEAP_NODE_IMMORTAL | HEAP_NODE_STATIC |
				HEAP_NODE_BAD))
			continue;
		if (x->refcnt < refs[v] && x->type == g->uncounted_type)
			continue;
		if (x->refcnt < refs[v])
			kind = GRAPH_DEFICIT;
		else if (x->refcnt > 0 && refs[v] == 0)
			kind = GRAPH_UNREFERENCED;
		else if (x->refcnt > refs[v])
			kind = GRAPH_EXCESS;
		else
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct graph_anomaly *p = realloc(out, ncap * sizeof(*p));

			if (!p) {
				err = &err_nomem;
				goto out;
			}
			out = p;
			cap = ncap;
		}
		out[count++] = (struct graph_anomaly){
			.node = v,
			.kind = kind,
			.referrers = refs[v],
			.conservative = maybe[v],
			.explained = kind != GRAPH_DEFICIT &&
				     x->refcnt <= refs[v] + maybe[v],
			.holder_root = first_root[v],
			.holder_edge = first_edge[v],
		};
	}
	*ret = out;
	*nret = count;
	out = NULL;
out:
	free(out);
	free(refs);
	free(maybe);
	free(class_refs);
	free(first_root);
	free(first_edge);
	return err;
}
