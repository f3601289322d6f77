/* SPDX-License-Identifier: MIT */
/*
 * The walker's state and what its files share. Private to walk/: the
 * decoders see none of it, only their context (decode/decode.h).
 */
#ifndef GCSCOPE_WALK_H
#define GCSCOPE_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "walk/census.h"
#include "walk/heap.h"

enum {
	MAX_INTERPRETERS = 256,  // sub-interpreters followed via ->next
	MAX_KNOWN = 256,         // exported types and traverses matched
	MAX_SKIP = 16,           // free lists skipped in one struct scan
	MAX_FREE_LISTS = 64,     // free lists remembered for holders.c
	MAX_IDENTIFIERS = 1 << 20, // _Py_IDENTIFIER strings of an interpreter
	MAX_ATEXIT = 1 << 16,    // atexit callbacks of an interpreter
	MAX_FRAME_SPANS = 1 << 16, // running frames' value stacks kept
	MAX_THREADS = 1 << 16,   // threads remembered for holders.c
	MAX_HASHTABLE = 1 << 20, // buckets and entries of a _Py_hashtable_t
	MAX_FRAME_STACK = 1 << 16, // words of one value stack scanned
	MAX_HEADS = 64,          // collector list heads kept for gc_resolve
	EDGE_LABEL_MAX = 256,    // bytes of a reference's label kept
};

// Addresses, open addressing; 0 marks a free slot.
struct addr_set {
	uint64_t *a;
	size_t n, cap;                // cap: a power of two, or 0
};

/*
 * What a word is as a type: a type object, none, or not known because the
 * core is cut short and lacks memory it would read.
 */
enum type_verdict {
	TYPE_NOT,
	TYPE_YES,
	TYPE_UNREAD,
};

// Memory the walk must not take for a holder: a free list's slots.
struct span {
	uint64_t start, end;
};

// The part of a running frame's value stack whose top is not known: the
// interpreter keeps it in a C local while the frame runs a call.
struct frame_span {
	uint64_t start, end;
	char label[120];
};

struct walk {
	struct target *t;
	const struct layout *l;
	const struct heap_limits *lim;
	const struct heap_consumer *c;
	struct heap_stats *st;
	struct err *err;              // first consumer failure: stop
	bool collecting;              // the collector of the interpreter
				      // whose lists are walked is running

	struct heap_node *nodes;      // every object, in discovery order
	size_t nnodes, nodes_cap;
	// Nodes by address, open addressing: the address and the index + 1
	// (0 = empty) of a slot in two arrays, so that a lookup's two loads
	// do not wait for each other.
	uint64_t *node_ht_addr;
	uint32_t *node_ht;
	size_t node_ht_cap;           // power of two

	struct decode_type **types;   // open addressing by address
	size_t ntypes, types_cap;
	struct addr_set not_types;    // words found not to be type objects
	struct addr_set unread_types; // words whose type fields, or their
				      // type's, a truncated core lacks
	struct addr_set cached_keys;  // types' cached dict keys
	struct addr_set split_keys;   // the keys of split dicts
	uint64_t type_type;           // PyType_Type, or 0 if not named
	uint64_t max_refcnt;          // the most a found count can be, or 0
				      // before the first use

	struct {
		uint64_t traverse;    // a tp_traverse function
		const struct decoder *row;
	} traverses[MAX_KNOWN];
	size_t ntraverses;
	struct {
		uint64_t type;        // an exported type object
		const struct decoder *row;
	} exact[MAX_KNOWN];
	size_t nexact;
	uint64_t subtype_traverse;    // Objects/typeobject.c, or 0
	struct decode_symbols sym;    // what decoders compare with

	uint32_t *esrc, *edst;        // every reference, in report order
	uint8_t *ekind;               // and its kind
	size_t nedges, edges_cap;
	// References whose referent is not yet looked up: the lookups are
	// cache misses, made in a batch after a prefetch of their slots; a
	// reference is reported once its referent is known to be an object.
	struct {
		uint64_t dst;
		uint8_t kind;         // enum heap_edge_kind
		bool labelled;
		char label[EDGE_LABEL_MAX];
	} ahead[16];
	unsigned nahead;
	uint32_t *roots;              // nodes held by roots
	size_t nroots, roots_cap;
	uint32_t *roots_flags;        // 1 for a conservative root
	size_t nroots_flags, roots_flags_cap;
	uint32_t *garbage;            // nodes in gc.garbage
	size_t ngarbage, garbage_cap;
	uint32_t interned;            // the interned dict's node, or HEAP_NONE
	uint32_t *mem_words;          // [nnodes] words of memory holding the
				      // address of an unexplained object
				      // (holders.c), or NULL
	bool interned_lost;           // the word naming it could not be read
	struct span free_lists[MAX_FREE_LISTS];  // of every interpreter
	size_t nfree_lists;
	struct frame_span *frame_spans; // value stacks of running frames
	size_t nframe_spans, frame_spans_cap;
	struct walk_thread {          // the interpreters' threads, for the
		uint64_t pthread;     // holders found on their C stacks:
		uint64_t tid;         // pthread_t, native id (0: unknown),
		char frame[120];      // innermost Python frame ("" if none)
	} *threads;
	size_t nthreads, threads_cap;

	// The collector's list heads and their generations; whether a list
	// could not be walked whole (gc_resolve is needed then).
	uint64_t heads[MAX_HEADS];
	int8_t head_gen[MAX_HEADS];
	unsigned nheads;
	bool lists_incomplete;
	uint64_t *chain;              // GC heads met by gc_resolve
	size_t nchain, chain_cap;

	// the object being decoded
	uint32_t cur;                 // its node index
	uint64_t cur_addr;
	unsigned cur_bad_refs;        // its references that are not objects
	struct decode dc;             // its decoders' context; dc.problem:
				      // why it is corrupt, or NULL

	// Buffers of objects decoded (list items, dict keys and values, set
	// tables): where they are, and whose, for the census.
	struct buffer_ref {
		uint64_t addr;
		uint32_t owner;       // node index
	} *bufs;
	size_t nbufs, bufs_cap;
	struct census census;
};

/* nodes.c: the node table and the edges */
long node_find(struct walk *w, uint64_t addr);
long node_add(struct walk *w, uint64_t addr, int generation, bool *added);
void edges_settle(struct walk *w);
void walk_edge(struct walk *w, uint64_t dst, enum heap_edge_kind kind,
	       const char *label);
void walk_buffer(struct walk *w, uint64_t addr);
void node_ht_free(struct walk *w);
bool append_u32(uint32_t **array, size_t *n, size_t *cap, uint32_t v);
bool append_u64(uint64_t **array, size_t *n, size_t *cap, uint64_t v);
bool referent_is_object(struct walk *w, uint64_t addr);

/* types.c: types, matched to their decoder rows; what must be learned */
struct decode_type *type_find(struct walk *w, uint64_t addr);
struct decode_type *type_get(struct walk *w, uint64_t addr);
bool is_type_object(struct walk *w, uint64_t addr);
enum type_verdict type_verdict(struct walk *w, uint64_t addr);
bool addr_set_has(const struct addr_set *set, uint64_t addr);
void addr_set_add(struct addr_set *set, uint64_t addr);
void addr_set_free(struct addr_set *set);
bool plausible_refcnt(struct walk *w, uint64_t addr, uint64_t refcnt);
bool plausible_object(struct walk *w, uint64_t p);
bool dict_find_str(struct walk *w, uint64_t dict, const char *key,
		   uint64_t max_entries, uint64_t *value_ret);
void setup_decoders(struct walk *w);
void learn_unexported(struct walk *w);

/* gclists.c: the collector's lists */
void walk_interpreters(struct walk *w);
void walk_problem(struct walk *w, const char *fmt, uint64_t addr);
void gc_resolve(struct walk *w, uint32_t idx);

/* roots.c */
long root(struct walk *w, uint64_t addr, enum heap_root_kind kind,
	  const char *label);
long root_add(struct walk *w, uint64_t addr, enum heap_root_kind kind,
	      const char *label, bool conservative);
uint64_t walk_peek(struct walk *w, uint64_t addr, int32_t off);
uint64_t walk_main_interp(struct walk *w);  // the first interpreter, or 0
void walk_roots(struct walk *w);

/* holders.c: C memory that holds objects without a reference found */
typedef bool c_holder_fn(struct walk *w, uint64_t p, void *arg);
void c_memory_roots(struct walk *w, c_holder_fn *want, void *arg);
void walk_holders(struct walk *w);
void frame_span(struct walk *w, uint64_t start, uint64_t end,
		const char *label);

/* leaks.c: references CPython itself takes and never releases */
struct graph_anomaly;
void known_leaks(struct walk *w, const struct graph_anomaly *a, size_t na,
		 uint8_t *candidate);
void cython_constants(struct walk *w, const uint8_t *candidate);

/* arenas.c: the census's objects and accounting */
void census_walk(struct walk *w);
void census_account(struct walk *w);
double census_clock(void);

#endif /* GCSCOPE_WALK_H */
