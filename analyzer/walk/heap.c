/* SPDX-License-Identifier: MIT */
/*
 * The heap walker.
 *
 * 1. Every interpreter's collector lists (generations 0–2 and the permanent
 *    generation) give the tracked objects, each recorded once (gclists.c).
 * 2. A work queue then takes each recorded object in turn: its header and
 *    type are read, the decoder for its type reports its references, and
 *    every referenced address not seen before is recorded and queued. So
 *    untracked objects (str, int, code, static types…) are found through
 *    the references to them, with no recursion over target data.
 * 3. The census adds the objects only pymalloc's arenas hold (arenas.c),
 *    which go through the same queue.
 *
 * Types are matched to their decoders by the table in decode/table.c
 * (types.c); the decoders see the object through a struct decode, whose
 * operations are here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/walk.h"
#include "decode/rows.h"
#include "cpython/layout.h"
#include "target/target.h"

const struct heap_limits heap_default_limits = {
	.max_objects = 200000000,
	.max_items = 1u << 26,
};

/* ---- what the decoders call ------------------------------------------ */

static struct walk *walk_of(struct decode *d)
{
	return (struct walk *)((char *)d - offsetof(struct walk, dc));
}

static void op_edge(struct decode *d, uint64_t dst, enum heap_edge_kind kind,
		    const char *label)
{
	walk_edge(walk_of(d), dst, kind, label);
}

static void op_buffer(struct decode *d, uint64_t addr)
{
	walk_buffer(walk_of(d), addr);
}

static struct decode_type *op_type(struct decode *d, uint64_t addr)
{
	return type_get(walk_of(d), addr);
}

static bool op_known(struct decode *d, uint64_t addr)
{
	struct walk *w = walk_of(d);

	return node_find(w, addr) >= 0 || plausible_object(w, addr);
}

static bool op_found(struct decode *d, uint64_t addr)
{
	return node_find(walk_of(d), addr) >= 0;
}

static void op_shared_keys(struct decode *d, uint64_t keys, bool cached)
{
	struct walk *w = walk_of(d);

	addr_set_add(cached ? &w->cached_keys : &w->split_keys, keys);
}

/*
 * The keys of split dicts whose keys object is no type's cached keys any
 * more: held once by that keys object, which is no object: roots, so that
 * no dict's references depend on which was met first. Whether roots were
 * added (their nodes need processing).
 */
static bool dropped_keys_roots(struct walk *w)
{
	const char *problem = w->dc.problem;
	bool added = false;
	char label[96];

	for (size_t i = 0; i < w->split_keys.cap && !w->err; i++) {
		uint64_t keys = w->split_keys.a[i];
		struct dict_keys k;

		if (!keys || addr_set_has(&w->cached_keys, keys) ||
		    !dict_keys_read(&w->dc, keys, &k))
			continue;
		snprintf(label, sizeof(label), "dict keys at 0x%" PRIx64
			 ", shared by split dicts", keys);
		for (uint64_t j = 0; j < k.nentries && j < 4096 && !w->err; j++) {
			uint64_t key = 0;

			if (target_read_u64(w->t, k.entries + j * k.entry_size +
					    k.key_off, &key) && key &&
			    root(w, key, HEAP_ROOT_INTERPRETER, label) >= 0)
				added = true;
		}
	}
	w->dc.problem = problem;
	return added;
}

static const struct decode_ops walk_decode_ops = {
	.edge = op_edge,
	.buffer = op_buffer,
	.type = op_type,
	.known = op_known,
	.found = op_found,
	.shared_keys = op_shared_keys,
};

/* ---- objects --------------------------------------------------------- */

// Flags the analyses use: how the object is held beyond what is found.
static uint16_t node_flags(struct walk *w, uint32_t idx,
			   const struct decode_type *ti, bool immortal)
{
	uint64_t addr = w->nodes[idx].addr;
	uint16_t flags = w->nodes[idx].flags;

	if (immortal)
		flags |= HEAP_NODE_IMMORTAL;
	if (ti->flags & TPFLAGS_HEAPTYPE)
		flags |= HEAP_NODE_HEAP_TYPE;
	if ((flags & HEAP_NODE_TRACKED) && ti->finalize &&
	    !(flags & HEAP_NODE_FINALIZED))
		flags |= HEAP_NODE_FINALIZE;
	if (target_module_at(w->t, addr) >= 0)
		flags |= HEAP_NODE_STATIC;
	return flags;
}

// Whether obj, of type ti, has a GC head (static types have none:
// type_is_gc): 1, 0, or -1 if a type object's own flags are not known.
static int has_gc_head(struct walk *w, uint64_t obj,
		       const struct decode_type *ti)
{
	const struct decode_type *self;

	if (!(ti->flags & TPFLAGS_HAVE_GC))
		return 0;
	if (!ti->row || !(ti->row->flags & DECODER_GC_IF_HEAP))
		return 1;
	self = type_get(w, obj);
	if (!self || self->lost)
		return -1;
	return self->valid && (self->flags & TPFLAGS_HEAPTYPE);
}

/*
 * Whether node idx is tracked, and on which list, if the lists did not
 * say; what is read to find out is not the object's own (lost is moved
 * past it).
 */
static void resolve_tracked(struct walk *w, uint32_t idx,
			    const struct decode_type *ti, uint64_t *lost)
{
	uint64_t before = decode_lost(&w->dc);
	int gc;

	if (w->nodes[idx].flags & (HEAP_NODE_TRACKED | HEAP_NODE_GC_UNKNOWN))
		return;
	gc = ti ? has_gc_head(w, w->nodes[idx].addr, ti) : -1;
	if (gc < 0)
		w->nodes[idx].flags |= HEAP_NODE_GC_UNKNOWN;
	else if (gc)
		gc_resolve(w, idx);
	*lost += decode_lost(&w->dc) - before;
}

static void process(struct walk *w, uint32_t idx)
{
	const struct layout *l = w->l;
	struct heap_node n = w->nodes[idx];
	struct heap_object o = {
		.addr = n.addr,
		.size = -1,
		.status = HEAP_OK,
	};
	uint64_t hdr[2], lost = decode_lost(&w->dc);
	char repr[256];

	w->cur = idx;
	w->cur_addr = n.addr;
	w->dc.problem = NULL;
	w->cur_bad_refs = 0;
	if (!target_read_ok(w->t, hdr, n.addr, sizeof(hdr))) {
		o.status = HEAP_UNREADABLE;
		o.detail = "the object header is not in the snapshot";
		if (w->lists_incomplete && !(n.flags & HEAP_NODE_TRACKED))
			w->nodes[idx].flags |= HEAP_NODE_GC_UNKNOWN;
		goto out;
	}
	o.refcnt = hdr[l->ob_refcnt / 8];
	o.type_addr = hdr[l->ob_type / 8];
	o.immortal = l->immortal_refcnt && (int32_t)o.refcnt < 0;
	struct decode_type *ti = type_get(w, o.type_addr);

	if (!ti)
		goto out;
	if (!ti->valid) {
		// Its count is not taken either: the analyses leave it out.
		w->nodes[idx].flags |= HEAP_NODE_BAD;
		w->nodes[idx].refcnt = o.refcnt;
		if (ti->lost) {
			o.status = HEAP_PARTIAL;
			o.detail = "its type is not in the snapshot";
			if (w->lists_incomplete)
				resolve_tracked(w, idx, NULL, &lost);
		} else {
			o.type = ti->name;
			o.status = HEAP_CORRUPT;
			o.detail = "ob_type is not a type object";
		}
		goto out;
	}
	o.type = ti->name;
	bool added;
	long type_node = node_add(w, o.type_addr, -1, &added);

	// node_add may move the array: index, never hold pointers.
	w->nodes[idx].refcnt = o.refcnt;
	w->nodes[idx].type = type_node >= 0 ? (uint32_t)type_node : HEAP_NONE;
	if (w->lists_incomplete)
		resolve_tracked(w, idx, ti, &lost);
	w->nodes[idx].flags = node_flags(w, idx, ti, o.immortal);
	if (o.refcnt <= 0 && !o.immortal) {
		o.status = HEAP_CORRUPT;
		o.detail = "reference count is not positive";
	}
	decode_object(&w->dc, n.addr, ti);
	if (ti->row && (ti->row->flags & DECODER_TYPES)) {
		struct decode_type *self = type_get(w, n.addr);

		// One not all in the snapshot may be a heap type.
		if (!self || (!self->lost &&
			      !(self->valid && (self->flags & TPFLAGS_HEAPTYPE))))
			root(w, n.addr, HEAP_ROOT_STATIC_TYPE,
			     self ? self->name : "?");
	}
	o.size = decode_size(&w->dc, n.addr, ti, repr, sizeof(repr));
	o.repr = repr[0] ? repr : NULL;
	if (o.status == HEAP_OK && decode_lost(&w->dc) != lost) {
		// What went wrong may be only what is not there.
		o.status = HEAP_PARTIAL;
		o.detail = "some of what it refers to is not in the snapshot";
	}
	if (w->dc.problem && o.status == HEAP_OK) {
		o.status = HEAP_CORRUPT;
		o.detail = w->dc.problem;
	}
out:
	edges_settle(w);
	if (w->err)
		return;
	n = w->nodes[idx];
	o.gc_tracked = n.flags & HEAP_NODE_TRACKED ? 1 :
		       n.flags & HEAP_NODE_GC_UNKNOWN ? -1 : 0;
	o.generation = n.generation;
	o.found = n.flags & HEAP_NODE_TRACKED ? HEAP_FOUND_GC :
		  n.flags & HEAP_NODE_ARENA ? HEAP_FOUND_ARENA :
					      HEAP_FOUND_REFERENT;
	if ((n.flags & HEAP_NODE_GC_UNKNOWN) && o.status == HEAP_OK) {
		o.status = HEAP_PARTIAL;
		o.detail = o.gc_tracked ? "its collector list is not in the "
					  "snapshot" :
					  "its GC head is not in the snapshot";
	}
	if (o.status == HEAP_UNREADABLE || !o.type)
		w->nodes[idx].flags |= HEAP_NODE_BAD;
	if (o.status == HEAP_PARTIAL)
		w->st->partial++;
	else if (o.status != HEAP_OK)
		w->st->corrupt++;
	if (o.status == HEAP_UNREADABLE)
		w->st->unreadable++;
	w->st->objects++;
	w->err = w->c->object(w->c->arg, &o);
}

struct err *heap_walk(struct target *t, const struct layout *l,
		      const struct heap_limits *limits,
		      const struct heap_consumer *consumer,
		      struct heap_graph *graph_ret,
		      struct heap_stats *stats_ret)
{
	struct walk w = {
		.t = t,
		.l = l,
		.lim = limits ? limits : &heap_default_limits,
		.c = consumer,
		.st = stats_ret,
		.interned = HEAP_NONE,
	};

	w.dc = (struct decode){
		.t = t,
		.l = l,
		.lim = w.lim,
		.sym = &w.sym,
		.ops = &walk_decode_ops,
		.err = &w.err,
	};

	memset(stats_ret, 0, sizeof(*stats_ret));
	setup_decoders(&w);
	walk_interpreters(&w);
	learn_unexported(&w);
	walk_roots(&w);
	if (!w.err && w.nnodes == 0) {
		w.err = err_create(ERR_LAYOUT,
				   "no object found on the collector's lists "
				   "of Python %s: %s",
				   l->version,
				   stats_ret->first_problem[0] ?
					   stats_ret->first_problem :
					   "the lists are empty");
	}
	// The queue is the node array itself: nodes added while decoding
	// are processed in turn. The census adds the objects only pymalloc's
	// arenas hold, and what they refer to, once the rest are found.
	size_t i = 0;

	for (int pass = 0; pass < 2 && !w.err; pass++) {
		for (; i < w.nnodes && !w.err; i++) {
			process(&w, i);
			if (consumer->progress && (i & 0xffff) == 0xffff)
				consumer->progress(consumer->progress_arg,
						   stats_ret->objects,
						   stats_ret->edges);
		}
		edges_settle(&w);
		if (pass == 0 && !w.err)
			census_walk(&w);
	}
	if (!w.err && dropped_keys_roots(&w)) {
		for (; i < w.nnodes && !w.err; i++)
			process(&w, i);
		edges_settle(&w);
	}
	if (!w.err)
		walk_holders(&w);
	if (!w.err && w.census.available) {
		double start = census_clock();

		census_account(&w);
		w.st->census_ms += census_clock() - start;
	}
	census_deinit(&w.census);
	free(w.bufs);
	free(w.frame_spans);
	free(w.threads);
	free(w.chain);

	for (size_t i = 0; i < w.types_cap; i++)
		free(w.types ? w.types[i] : NULL);
	free(w.types);
	addr_set_free(&w.not_types);
	addr_set_free(&w.unread_types);
	addr_set_free(&w.cached_keys);
	addr_set_free(&w.split_keys);
	long str_type = w.interned_lost && w.sym.str_type ?
			node_find(&w, w.sym.str_type) : -1;

	node_ht_free(&w);
	if (graph_ret && !w.err) {
		*graph_ret = (struct heap_graph){
			.nnodes = w.nnodes,
			.nodes = w.nodes,
			.nedges = w.nedges,
			.src = w.esrc,
			.dst = w.edst,
			.kind = w.ekind,
			.nroots = w.nroots,
			.root = w.roots,
			.root_conservative = w.roots_flags,
			.ngarbage = w.ngarbage,
			.garbage = w.garbage,
			.interned = w.interned,
			.uncounted_type = str_type < 0 ? HEAP_NONE :
					  (uint32_t)str_type,
			.mem_words = w.mem_words,
		};
		w.mem_words = NULL;
		w.nodes = NULL;
		w.esrc = w.edst = NULL;
		w.ekind = NULL;
		w.roots = w.garbage = w.roots_flags = NULL;
	}
	free(w.mem_words);
	free(w.roots_flags);
	free(w.esrc);
	free(w.edst);
	free(w.ekind);
	free(w.roots);
	free(w.garbage);
	free(w.nodes);
	return w.err;
}

void heap_graph_deinit(struct heap_graph *g)
{
	free(g->root_conservative);
	free(g->nodes);
	free(g->src);
	free(g->dst);
	free(g->kind);
	free(g->root);
	free(g->garbage);
	free(g->mem_words);
	memset(g, 0, sizeof(*g));
}
