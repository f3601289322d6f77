/* SPDX-License-Identifier: MIT */
/*
 * The collector's lists: every interpreter's generations 0–2 and the
 * permanent generation give the tracked objects, each recorded once; a
 * link is checked against the one back, and a list cut by a wild link is
 * walked again from its head through _gc_prev.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/walk.h"
#include "cpython/layout.h"
#include "util/mem.h"
#include "target/target.h"

void walk_problem(struct walk *w, const char *fmt, uint64_t addr)
{
	if (!w->st->first_problem[0])
		snprintf(w->st->first_problem, sizeof(w->st->first_problem),
			 fmt, addr);
	w->st->truncated = true;
}

enum list_end {
	LIST_HEAD,     /* came back to the head */
	LIST_MET,      /* met an object found from the other end */
	LIST_LOOP,     /* met an object already found on the way */
	LIST_BROKEN,   /* a link that cannot be followed */
	LIST_STOP,     /* out of memory or a cap */
};

// Whether _gc_prev links the lists now: not during a 3.8+ collection.
static bool prev_links(const struct walk *w)
{
	return !(w->l->gc_prev_mask && w->collecting);
}

/*
 * Follow a collector list from its head, by _gc_next (@p forward) or by
 * _gc_prev, adding each object. Each link is checked against the one
 * back, which a wild pointer does not have. Going back, an object already
 * found ends the walk: the two directions met.
 */
static enum list_end walk_links(struct walk *w, uint64_t head, int generation,
				bool forward, uint64_t *count_ret)
{
	const struct layout *l = w->l;
	uint64_t next_mask = ~(uint64_t)l->gc_next_mask;
	uint64_t prev_mask = ~(uint64_t)l->gc_prev_mask;
	uint64_t mask = forward ? next_mask : prev_mask;
	uint64_t back_mask = forward ? prev_mask : next_mask;
	int32_t link = forward ? l->gchead_next : l->gchead_prev;
	int32_t back = forward ? l->gchead_prev : l->gchead_next;
	bool check = prev_links(w);
	uint64_t p, next, word, count = 0, from = head;

	*count_ret = 0;
	if (!target_read_u64(w->t, head + link, &next))
		return LIST_BROKEN;
	for (p = next & mask; p != head && !w->err; count++) {
		bool added;

		*count_ret = count;
		if (!p || (p & 7))
			return LIST_BROKEN;
		if (check && (!target_read_u64(w->t, p + back, &word) ||
			      (word & back_mask) != from)) {
			// Going back, the object where the walk forward broke.
			return !forward &&
				       node_find(w, p + l->sizeof_gc_head) >= 0 ?
				       LIST_MET : LIST_BROKEN;
		}
		if (count >= w->lim->max_objects)
			return LIST_STOP;
		long i = node_add(w, p + l->sizeof_gc_head, generation, &added);

		if (i < 0)
			return LIST_STOP;
		if (!added)
			return forward ? LIST_LOOP : LIST_MET;
		// tp_finalize already called: bit 0 of _gc_prev (3.8+), of
		// gc_refs before (_PyGC_PREV_MASK_FINALIZED,
		// _PyGC_REFS_MASK_FINALIZED).
		if (target_read_u64(w->t, p + (l->gchead_refs >= 0 ?
					       l->gchead_refs : l->gchead_prev),
				    &word) && (word & 1))
			w->nodes[i].flags |= HEAP_NODE_FINALIZED;
		w->st->tracked++;
		*count_ret = count + 1;
		if (!target_read_u64(w->t, p + link, &next))
			return LIST_BROKEN;
		from = p;
		p = next & mask;
	}
	*count_ret = count;
	return w->err ? LIST_STOP : LIST_HEAD;
}

/*
 * Walk one circular list of GC heads starting at head. Where a damaged
 * link breaks it, walk it again from the head backwards, through
 * _gc_prev, to recover the objects beyond the break.
 */
static void walk_list(struct walk *w, uint64_t head, int generation)
{
	uint64_t ahead, back;

	if (w->nheads < MAX_HEADS) {
		w->heads[w->nheads] = head;
		w->head_gen[w->nheads++] = generation;
	}
	enum list_end end = walk_links(w, head, generation, true, &ahead);

	if (end != LIST_HEAD)
		w->lists_incomplete = true;
	if (end == LIST_HEAD || end == LIST_STOP)
		return;
	if (end == LIST_LOOP) {
		// On two lists, or a loop that misses the head.
		walk_problem(w, "gc list at 0x%" PRIx64 " loops", head);
		return;
	}
	if (!prev_links(w)) {
		walk_problem(w, "gc list at 0x%" PRIx64 " is broken", head);
		return;
	}
	end = walk_links(w, head, generation, false, &back);
	if (!w->st->first_problem[0])
		snprintf(w->st->first_problem, sizeof(w->st->first_problem),
			 "gc list at 0x%" PRIx64 " is broken after %" PRIu64
			 " objects; %" PRIu64 " more found walking it back%s",
			 head, ahead, back,
			 end == LIST_MET ? "" : ", which broke too");
	w->st->truncated = true;
}

/*
 * The lists of one interpreter's collector (or the runtime's, 3.7-3.8).
 * Whether it is collecting decides how its lists are linked; meta says
 * whether any was, and the main interpreter's debug flags.
 */
static void walk_gc_state(struct walk *w, uint64_t gc, bool main)
{
	const struct layout *l = w->l;
	uint64_t v;

	w->collecting = target_read_u64(w->t, gc + l->gc_collecting, &v) &&
			(uint32_t)v != 0;
	if (w->collecting)
		w->st->gc_collecting = true;
	if (main && target_read_u64(w->t, gc + l->gc_debug, &v))
		w->st->gc_debug = (uint32_t)v;
	for (int g = 0; g < 3; g++)
		walk_list(w, gc + l->gc_generations +
				     g * l->sizeof_gc_generation + l->gen_head,
			  g);
	if (l->gc_permanent >= 0)
		walk_list(w, gc + l->gc_permanent + l->gen_head, 3);
}

/*
 * Whether automatic collection is on, and each generation's threshold and
 * count (struct gc_generation), from the generations array at @p gens and
 * the int "enabled" at @p enabled (0 where unknown).
 */
static void read_gc_settings(struct walk *w, uint64_t gens, uint64_t enabled)
{
	const struct layout *l = w->l;
	int32_t v, threshold[3], count[3];
	bool ok = l->gen_threshold >= 0 && l->gen_count >= 0;

	w->st->gc_enabled = -1;
	if (enabled && target_read_ok(w->t, &v, enabled, 4) &&
	    (v == 0 || v == 1))
		w->st->gc_enabled = v;
	for (int g = 0; ok && g < 3; g++) {
		uint64_t gen = gens + g * l->sizeof_gc_generation;

		ok = target_read_ok(w->t, &threshold[g], gen + l->gen_threshold,
				    4) &&
		     target_read_ok(w->t, &count[g], gen + l->gen_count, 4);
	}
	w->st->gc_generations = ok;
	if (ok) {
		memcpy(w->st->gc_threshold, threshold, sizeof(threshold));
		memcpy(w->st->gc_count, count, sizeof(count));
	}
}

// 3.6: "enabled" is a static of Modules/gcmodule.c, named in .symtab only.
static uint64_t gc_enabled_static(struct walk *w)
{
	uint64_t addr, size;
	size_t module;

	if (target_symbol(w->t, "enabled", &addr, &size, &module) &&
	    (long)module == w->l->module && size == 4)
		return addr;
	return 0;
}

// The same, from a struct _gc_runtime_state at @p gc (3.7+).
static void read_gc_state_settings(struct walk *w, uint64_t gc)
{
	const struct layout *l = w->l;

	if (l->gc_generations < 0) {
		w->st->gc_enabled = -1;
		w->st->gc_generations = false;
		return;
	}
	read_gc_settings(w, gc + l->gc_generations,
			 l->gc_enabled >= 0 ? gc + l->gc_enabled : 0);
}

void walk_interpreters(struct walk *w)
{
	const struct layout *l = w->l;
	uint64_t interp, next;

	w->st->gc_enabled = -1;
	if (l->gc_statics) {
		// 3.6: one set of statics for the process (Modules/gcmodule.c
		// generations[], no permanent generation).
		w->st->interpreters = 1;
		read_gc_settings(w, l->gc_statics - l->gen_head,
				 gc_enabled_static(w));
		for (int g = 0; g < 3; g++)
			walk_list(w, l->gc_statics + g * l->sizeof_gc_generation +
					     l->gen_head,
				  g);
		return;
	}
	if (l->rt_gc >= 0) {
		uint64_t gc = l->runtime_addr + l->rt_gc;

		read_gc_state_settings(w, gc);
		walk_gc_state(w, gc, true);
	}
	if (!target_read_u64(w->t, l->runtime_addr + l->rt_interpreters_head,
			     &interp)) {
		walk_problem(w, "_PyRuntime at 0x%" PRIx64 " is unreadable",
			l->runtime_addr);
		return;
	}
	for (int i = 0; interp && i < MAX_INTERPRETERS && !w->err; i++) {
		bool linked = target_read_u64(w->t, interp + l->interp_next,
					      &next);

		w->st->interpreters++;
		// The main interpreter is the first made, the last listed.
		bool main = linked && !next;

		if (l->interp_gc >= 0 && main)
			read_gc_state_settings(w, interp + l->interp_gc);
		if (l->interp_gc >= 0)
			walk_gc_state(w, interp + l->interp_gc, main);
		if (!linked)
			break;
		interp = next;
	}
}


/* ---- objects the lists did not give ---------------------------------- */

enum { GEN_UNKNOWN = -1, GEN_UNTRACKED = -2 };

// Whether the GC head at gc says its object is tracked: 1, 0, or -1 if
// it is not in the snapshot.
static int gc_head_tracked(struct walk *w, uint64_t gc)
{
	const struct layout *l = w->l;
	uint64_t v;

	// 3.6/3.7: the state in gc_refs (_PyGC_REFS_UNTRACKED, -2, shifted
	// by _PyGC_REFS_SHIFT); gc_next is garbage on an object never
	// tracked. 3.8+: _gc_next is 0 when untracked.
	if (l->gchead_refs >= 0) {
		if (!target_read_u64(w->t, gc + l->gchead_refs, &v))
			return -1;
		return ((int64_t)v >> 1) != -2;
	}
	if (!target_read_u64(w->t, gc + l->gchead_next, &v))
		return -1;
	return v != 0;
}

static int head_generation(const struct walk *w, uint64_t gc)
{
	for (unsigned k = 0; k < w->nheads; k++) {
		if (w->heads[k] == gc)
			return w->head_gen[k];
	}
	return GEN_UNTRACKED;
}

/*
 * Follow the links from the GC head at gc (by _gc_next if @p forward, else
 * by _gc_prev), each checked against the one back, to a list head or to
 * an object whose list is known; the heads passed on the way go to
 * w->chain. Returns the generation, or GEN_UNKNOWN where a link cannot be
 * followed.
 */
static int chain_walk(struct walk *w, uint64_t gc, bool forward)
{
	const struct layout *l = w->l;
	uint64_t mask = ~(uint64_t)(forward ? l->gc_next_mask : l->gc_prev_mask);
	uint64_t back_mask = ~(uint64_t)(forward ? l->gc_prev_mask :
						    l->gc_next_mask);
	int32_t link = forward ? l->gchead_next : l->gchead_prev;
	int32_t back = forward ? l->gchead_prev : l->gchead_next;
	uint64_t from = gc, p, word;

	if (!target_read_u64(w->t, gc + link, &p))
		return GEN_UNKNOWN;
	for (uint64_t n = 0; n < w->lim->max_objects && !w->err; n++) {
		p &= mask;
		if (!p || (p & 7) ||
		    !target_read_u64(w->t, p + back, &word) ||
		    (word & back_mask) != from)
			return GEN_UNKNOWN;
		int gen = head_generation(w, p);

		if (gen != GEN_UNTRACKED)
			return gen;
		long i = node_find(w, p + l->sizeof_gc_head);

		if (i >= 0 && w->nodes[i].generation >= 0)
			return w->nodes[i].generation;
		// Met one whose list was not found, or one already reported.
		if (i >= 0 && ((w->nodes[i].flags & HEAP_NODE_GC_UNKNOWN) ||
			       (uint32_t)i < w->cur))
			return GEN_UNKNOWN;
		if (!append_u64(&w->chain, &w->nchain, &w->chain_cap, p)) {
			w->err = &err_nomem;
			return GEN_UNKNOWN;
		}
		from = p;
		if (!target_read_u64(w->t, p + link, &p))
			return GEN_UNKNOWN;
	}
	return GEN_UNKNOWN;
}

// Node idx, or the object at gc, is tracked in generation gen (GEN_UNKNOWN:
// on a list that was not found).
static void set_tracked(struct walk *w, long i, int gen)
{
	if (i < 0)
		return;
	if (!(w->nodes[i].flags & HEAP_NODE_TRACKED))
		w->st->tracked++;
	w->nodes[i].flags |= HEAP_NODE_TRACKED;
	if (gen >= 0)
		w->nodes[i].generation = gen;
	else
		w->nodes[i].flags |= HEAP_NODE_GC_UNKNOWN;
}

/*
 * Where a list could not be walked whole (a truncated core), whether node
 * idx, an object with a GC head found by reference, is tracked, and on
 * which list: its GC head says if it is; its links, followed both ways,
 * lead to its list's head or to an object whose list is known. The objects
 * met on the way are on that list too: recorded (and found) as such, so
 * that no link is followed twice. What cannot be read stays unknown:
 * HEAP_NODE_GC_UNKNOWN, and HEAP_NODE_TRACKED if the head says tracked.
 */
void gc_resolve(struct walk *w, uint32_t idx)
{
	uint64_t gc = w->nodes[idx].addr - w->l->sizeof_gc_head;
	int tracked = gc_head_tracked(w, gc), gen = GEN_UNKNOWN;

	if (tracked == 0)
		return;
	if (tracked < 0) {
		w->nodes[idx].flags |= HEAP_NODE_GC_UNKNOWN;
		return;
	}
	// During a 3.8+ collection _gc_prev holds counts: no checked links
	// (which interpreter's list it is on is not known).
	w->nchain = 0;
	if (!(w->l->gc_prev_mask && w->st->gc_collecting)) {
		// Those met going forward are on the list going back finds.
		gen = chain_walk(w, gc, true);
		if (gen == GEN_UNKNOWN)
			gen = chain_walk(w, gc, false);
	}
	set_tracked(w, idx, gen);
	for (size_t k = 0; k < w->nchain && !w->err; k++) {
		bool added;
		long i = node_add(w, w->chain[k] + w->l->sizeof_gc_head,
				  -1, &added);

		set_tracked(w, i, gen);
	}
	w->nchain = 0;
}
