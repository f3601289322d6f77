/* SPDX-License-Identifier: MIT */
/*
 * The node table by address and the edges: every object found gets a
 * dense index, every reference a row; the referents' lookups are made in
 * batches after a prefetch.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "walk/walk.h"
#include "cpython/layout.h"
#include "util/mem.h"
#include "target/target.h"

/*
 * Zeroed memory for a big table read at random places. It asks for huge
 * pages: with 4 KiB pages nearly every lookup in a table of a hundred
 * megabytes misses the TLB as well as the cache.
 */
static void *table_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static void table_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

void node_ht_free(struct walk *w)
{
	table_free(w->node_ht, w->node_ht_cap * sizeof(*w->node_ht));
	table_free(w->node_ht_addr, w->node_ht_cap * sizeof(*w->node_ht_addr));
	w->node_ht = NULL;
	w->node_ht_addr = NULL;
	w->node_ht_cap = 0;
}

static struct err *node_ht_grow(struct walk *w)
{
	size_t cap = w->node_ht_cap ? w->node_ht_cap * 2 : 1u << 16;
	uint32_t *ht = table_alloc(cap * sizeof(*ht));
	uint64_t *ha = table_alloc(cap * sizeof(*ha));

	if (!ht || !ha) {
		table_free(ht, cap * sizeof(*ht));
		table_free(ha, cap * sizeof(*ha));
		return &err_nomem;
	}
	for (size_t i = 0; i < w->nnodes; i++) {
		size_t h = mem_hash_addr(w->nodes[i].addr) & (cap - 1);

		while (ht[h])
			h = (h + 1) & (cap - 1);
		ht[h] = i + 1;
		ha[h] = w->nodes[i].addr;
	}
	node_ht_free(w);
	w->node_ht = ht;
	w->node_ht_addr = ha;
	w->node_ht_cap = cap;
	return NULL;
}

static long node_add_now(struct walk *w, uint64_t addr, int generation,
			 bool *added);
static long node_find_now(struct walk *w, uint64_t addr);
static void edge_report(struct walk *w, uint64_t dst, enum heap_edge_kind kind,
			const char *label);

// Look up the referents of the references held back, and report these.
void edges_settle(struct walk *w)
{
	for (unsigned k = 0; k < w->nahead && !w->err; k++)
		edge_report(w, w->ahead[k].dst, w->ahead[k].kind,
			    w->ahead[k].labelled ? w->ahead[k].label : NULL);
	w->nahead = 0;
}

// Index of the node at addr, or -1.
static long node_find_now(struct walk *w, uint64_t addr)
{
	if (!w->node_ht_cap)
		return -1;
	size_t h = mem_hash_addr(addr) & (w->node_ht_cap - 1);

	while (w->node_ht[h]) {
		if (w->node_ht_addr[h] == addr)
			return w->node_ht[h] - 1;
		h = (h + 1) & (w->node_ht_cap - 1);
	}
	return -1;
}

long node_find(struct walk *w, uint64_t addr)
{
	edges_settle(w);
	return node_find_now(w, addr);
}

// Index of the node at addr, added if new; -1 when the cap is reached.
long node_add(struct walk *w, uint64_t addr, int generation, bool *added)
{
	edges_settle(w);
	return node_add_now(w, addr, generation, added);
}

static long node_add_now(struct walk *w, uint64_t addr, int generation,
			 bool *added)
{
	long i = node_find_now(w, addr);

	*added = false;
	if (i >= 0)
		return i;
	if (w->nnodes >= w->lim->max_objects || w->nnodes >= UINT32_MAX - 1) {
		if (!w->st->truncated)
			snprintf(w->st->first_problem,
				 sizeof(w->st->first_problem),
				 "more than %" PRIu64 " objects",
				 w->lim->max_objects);
		w->st->truncated = true;
		return -1;
	}
	if ((w->nnodes + 1) * 3 > w->node_ht_cap * 2) {
		w->err = node_ht_grow(w);
		if (w->err)
			return -1;
	}
	if (w->nnodes == w->nodes_cap) {
		size_t cap = w->nodes_cap ? w->nodes_cap * 2 : 1u << 15;
		struct heap_node *p = realloc(w->nodes, cap * sizeof(*p));

		if (!p) {
			w->err = &err_nomem;
			return -1;
		}
		w->nodes = p;
		w->nodes_cap = cap;
	}
	i = w->nnodes++;
	w->nodes[i] = (struct heap_node){
		.addr = addr,
		.type = HEAP_NONE,
		.generation = generation,
		.flags = generation >= 0 ? HEAP_NODE_TRACKED : 0,
	};
	size_t h = mem_hash_addr(addr) & (w->node_ht_cap - 1);

	while (w->node_ht[h])
		h = (h + 1) & (w->node_ht_cap - 1);
	w->node_ht[h] = i + 1;
	w->node_ht_addr[h] = addr;
	*added = true;
	return i;
}

/* ---- edges ----------------------------------------------------------- */

/* References of one object that may be other than objects before the
 * rest are dropped. */
#define MAX_BAD_REFS 8

/*
 * Whether a word a reference or a named root holds is recorded as an
 * object: it is one found already, its header is not in the snapshot (it
 * is recorded as unreadable), or its ob_type is a type object (or may be:
 * a truncated core lacks some of the type; it is recorded as partial). A
 * word of anything else is not an object: nothing is recorded of it.
 */
bool referent_is_object(struct walk *w, uint64_t addr)
{
	uint64_t type, lost = decode_lost(&w->dc);
	bool is = node_find_now(w, addr) >= 0 ||
		  !target_read_u64(w->t, addr + w->l->ob_type, &type) ||
		  type_verdict(w, type) != TYPE_NOT;

	// What is read here is the referent's, not the current object's.
	w->dc.types_lost -= decode_lost(&w->dc) - lost;
	return is;
}

// Report a reference of the current object, if its referent is an object.
static void edge_report(struct walk *w, uint64_t dst, enum heap_edge_kind kind,
			const char *label)
{
	bool added;
	long i = node_find_now(w, dst);

	if (i < 0 && !referent_is_object(w, dst))
		return;
	// At the cap on objects, a reference to one that cannot be added is
	// dropped.
	if (i < 0 && (i = node_add_now(w, dst, -1, &added)) < 0)
		return;
	if (w->nedges == w->edges_cap) {
		size_t cap = w->edges_cap ? w->edges_cap * 2 : 1u << 16;
		uint32_t *s = realloc(w->esrc, cap * sizeof(*s));
		uint32_t *d = s ? realloc(w->edst, cap * sizeof(*d)) : NULL;
		uint8_t *k = d ? realloc(w->ekind, cap * sizeof(*k)) : NULL;

		if (s)
			w->esrc = s;
		if (d)
			w->edst = d;
		if (!k) {
			w->err = &err_nomem;
			return;
		}
		w->ekind = k;
		w->edges_cap = cap;
	}
	struct heap_edge e = {
		.src = w->cur_addr,
		.dst = dst,
		.kind = kind,
		.label = label,
	};

	// Edge i is row i + 1 of the edges table: kept in step.
	w->err = w->c->edge(w->c->arg, &e);
	w->st->edges++;
	w->esrc[w->nedges] = w->cur;
	w->edst[w->nedges] = i;
	w->ekind[w->nedges++] = kind;
}

void walk_edge(struct walk *w, uint64_t dst, enum heap_edge_kind kind,
	       const char *label)
{
	if (!dst || w->err)
		return;
	if (dst & 7) {
		// Objects are at least 8-byte aligned: this is not a pointer.
		w->dc.problem = "a reference is not an object address";
		return;
	}
	// A damaged pointer to an item array or a keys table turns words of
	// anything into references: after a few to memory outside the
	// snapshot, the rest of this object's are dropped and it is marked,
	// instead of each becoming an object. (Only the address is checked
	// here: the referent's header is read when the reference is
	// reported, once its lookup has missed.)
	if (kind != HEAP_EDGE_CONSERVATIVE) {
		if (w->cur_bad_refs >= MAX_BAD_REFS) {
			w->dc.problem = "many references point outside the "
					 "snapshot";
			return;
		}
		// Memory a truncated core lacks is no sign of damage.
		if ((!target_contains(w->t, dst) ||
		     !target_contains(w->t, dst + w->l->sizeof_object - 1)) &&
		    !target_is_cut(w->t, dst) &&
		    !target_is_cut(w->t, dst + w->l->sizeof_object - 1))
			w->cur_bad_refs++;
	}
	if (w->nahead == sizeof(w->ahead) / sizeof(w->ahead[0]))
		edges_settle(w);
	if (w->node_ht_cap) {
		size_t h = mem_hash_addr(dst) & (w->node_ht_cap - 1);

		__builtin_prefetch(&w->node_ht[h]);
		__builtin_prefetch(&w->node_ht_addr[h]);
	}
	// The label is the decoder's buffer, reused: copied.
	size_t n = label ? strnlen(label, EDGE_LABEL_MAX - 1) : 0;

	w->ahead[w->nahead].dst = dst;
	w->ahead[w->nahead].kind = kind;
	w->ahead[w->nahead].labelled = label != NULL;
	memcpy(w->ahead[w->nahead].label, label ? label : "", n);
	w->ahead[w->nahead++].label[n] = 0;
}

/*
 * Note a buffer the current object owns, allocated apart from it (list
 * items, dict keys and values, a set's table), for the census to account
 * for the block that holds it. A pointer into the object itself (3.13's
 * inline values, a small set's table) is told apart there.
 */
void walk_buffer(struct walk *w, uint64_t addr)
{
	if (!addr)
		return;
	if (w->nbufs == w->bufs_cap) {
		size_t cap = w->bufs_cap ? w->bufs_cap * 2 : 1u << 12;
		struct buffer_ref *p = realloc(w->bufs, cap * sizeof(*p));

		if (!p)
			return;    // the census only loses the attribution
		w->bufs = p;
		w->bufs_cap = cap;
	}
	w->bufs[w->nbufs].addr = addr;
	w->bufs[w->nbufs++].owner = w->cur;
}

bool append_u32(uint32_t **array, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		uint32_t *p = realloc(*array, ncap * sizeof(*p));

		if (!p)
			return false;
		*array = p;
		*cap = ncap;
	}
	(*array)[(*n)++] = v;
	return true;
}


bool append_u64(uint64_t **array, size_t *n, size_t *cap, uint64_t v)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		uint64_t *p = realloc(*array, ncap * sizeof(*p));

		if (!p)
			return false;
		*array = p;
		*cap = ncap;
	}
	(*array)[(*n)++] = v;
	return true;
}
