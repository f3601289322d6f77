/* SPDX-License-Identifier: MIT */
/**
 * @file heap.h
 *
 * The heap walker: finds every object on the collector's lists, decodes
 * what each refers to, follows those references to the objects the
 * collector does not track, and hands every object, type and reference to
 * a consumer as it goes. Target data is untrusted: every list walk and
 * count is capped, nothing recurses over target data, and an object that
 * cannot be decoded is reported with its status and the walk goes on.
 */
#ifndef GCSCOPE_HEAP_H
#define GCSCOPE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct layout;
struct target;

/** How one object refers to another (schema: edges.kind). */
enum heap_edge_kind {
	HEAP_EDGE_TRAVERSE,      /* visited by the type's tp_traverse */
	HEAP_EDGE_STRONG,        /* owned, but not visited by tp_traverse */
	HEAP_EDGE_BORROWED,      /* a pointer that owns no reference */
	HEAP_EDGE_CONSERVATIVE,  /* a word that points at a known object */
	HEAP_EDGE_VISITED,       /* visited by tp_traverse, but the reference
				    is owned by an object the walk finds on
				    its own (an lru_cache entry's type):
				    schema 'traverse', not counted twice */
};

/** Object status (schema: objects.status). */
enum heap_status {
	HEAP_OK,
	HEAP_CORRUPT,     /* read, but inconsistent */
	HEAP_UNREADABLE,  /* its memory is not in the snapshot */
	HEAP_PARTIAL,     /* read, but some of what it is or refers to is
			     in memory a truncated core lacks: what is not
			     known is NULL, its references may be missing */
};

/** How an object was found (schema: objects.found). */
enum heap_found {
	HEAP_FOUND_GC,        /* on a collector list */
	HEAP_FOUND_REFERENT,  /* referred to by an object found */
	HEAP_FOUND_ARENA,     /* in an allocated pymalloc block, and by
				 nothing else */
};

/** A type, reported once, before the first object of that type. */
struct heap_type {
	uint64_t addr;         /* PyTypeObject * */
	const char *name;      /* tp_name */
	const char *module;    /* __module__ or the tp_name prefix */
	int64_t basicsize;     /* tp_basicsize, bytes */
	int64_t itemsize;      /* tp_itemsize, bytes */
	uint64_t flags;        /* tp_flags */
	bool heap;             /* Py_TPFLAGS_HEAPTYPE */
	bool has_finalizer;    /* tp_finalize or tp_del set */
};

/** An object, reported once its references have been reported. */
struct heap_object {
	uint64_t addr;         /* PyObject * */
	uint64_t type_addr;    /* ob_type, 0 if unreadable */
	const char *type;      /* tp_name, or NULL */
	int64_t refcnt;        /* ob_refcnt, raw */
	int64_t size;          /* bytes of the allocation, -1 if unknown */
	int gc_tracked;        /* 1 on a collector list, 0 not, -1 unknown */
	int generation;        /* 0–2, 3 = permanent, -1 = untracked or
				  unknown */
	bool immortal;         /* 3.12+ immortal refcount */
	const char *repr;      /* short preview, or NULL */
	enum heap_status status;
	const char *detail;    /* why not HEAP_OK, or NULL */
	enum heap_found found;
};

/** A reference. */
struct heap_edge {
	uint64_t src;             /* referring object */
	uint64_t dst;             /* referred object */
	enum heap_edge_kind kind;
	const char *label;        /* attribute, key, index or field; or NULL */
};

/** What holds a root (schema: roots.kind). */
enum heap_root_kind {
	HEAP_ROOT_FRAME,        /* a slot, code or function of a running frame */
	HEAP_ROOT_THREAD,       /* a thread's dict or exceptions */
	HEAP_ROOT_INTERPRETER,  /* sys.modules, sys.__dict__, builtins */
	HEAP_ROOT_INTERNED,     /* the interned-strings dict */
	HEAP_ROOT_GC,           /* gc.garbage, gc.callbacks */
	HEAP_ROOT_STATIC_TYPE,  /* a type that is not heap-allocated */
};

/** A reference held from outside the heap. */
struct heap_root {
	uint64_t addr;               /* the object held */
	enum heap_root_kind kind;
	const char *label;           /* who holds it */
	bool conservative;           /* a word found by scanning a C struct:
					may be a borrowed pointer */
};

/** A pymalloc arena (schema: pymalloc_arenas). */
struct heap_arena {
	uint64_t addr;         /* its memory */
	uint64_t size;         /* ARENA_SIZE */
	uint32_t pools;        /* pools it can hold */
	uint32_t free_pools;   /* empty or never used */
	uint32_t used_pools;   /* in use */
};

/** A pymalloc pool in use (schema: pymalloc_pools). */
struct heap_pool {
	uint64_t addr;
	uint64_t arena;
	uint32_t block_size;
	uint32_t capacity;     /* blocks it can hold */
	uint32_t used;         /* allocated blocks */
	uint32_t objects;      /* allocated blocks holding an object found */
	uint32_t buffers;      /* allocated blocks holding a buffer of one */
	bool bad;              /* its free chain does not match its count */
};

/** Blocks of one size holding objects of one type, or their buffers
 * (schema: pymalloc_usage). */
struct heap_usage {
	uint32_t block_size;
	bool buffer;           /* buffers of objects of the type: list
				  items, dict keys and values, set tables */
	uint64_t type_addr;
	const char *type;
	uint64_t blocks;
	uint64_t arena_found;  /* objects among them found in the arenas
				  only */
};

/** Where the walker sends what it finds; each returns NULL on success. */
struct heap_consumer {
	void *arg;
	struct err *(*type)(void *arg, const struct heap_type *type);
	struct err *(*object)(void *arg, const struct heap_object *object);
	struct err *(*edge)(void *arg, const struct heap_edge *edge);
	struct err *(*root)(void *arg, const struct heap_root *root);
	/* optional: pymalloc's arenas, pools and usage, after the objects */
	struct err *(*arena)(void *arg, const struct heap_arena *arena);
	struct err *(*pool)(void *arg, const struct heap_pool *pool);
	struct err *(*usage)(void *arg, const struct heap_usage *usage);
	/* optional: called now and then with the counts so far */
	void (*progress)(void *arg, uint64_t objects, uint64_t edges);
	void *progress_arg;
};

/** What the walk found, for meta and the summary line. */
struct heap_stats {
	uint64_t interpreters;  /* interpreters walked */
	uint64_t tracked;       /* objects on the collector's lists */
	uint64_t objects;       /* all objects reported */
	uint64_t edges;         /* all references reported */
	uint64_t types;         /* types reported */
	uint64_t corrupt;       /* objects not HEAP_OK */
	uint64_t unreadable;    /* of which HEAP_UNREADABLE */
	uint64_t partial;       /* HEAP_PARTIAL, not counted in corrupt */
	uint64_t gc_debug;      /* gc.get_debug() of the main interpreter */
	bool gc_collecting;     /* a collection was running */
	/* the collector's state in the main interpreter: gc.isenabled(),
	   gc.get_threshold(), gc.get_count() */
	int gc_enabled;         /* 1, 0, or -1 if it could not be read */
	bool gc_generations;    /* gc_threshold and gc_count were read */
	int32_t gc_threshold[3];
	int32_t gc_count[3];
	bool truncated;         /* a cap cut the walk short */
	char first_problem[160]; /* the first list or cap problem, or "" */

	/* the census of pymalloc's arenas */
	bool census;            /* the arenas were read */
	const char *census_source; /* how pymalloc's state was found, or NULL */
	char census_problem[200]; /* why not, or what was wrong; or "" */
	uint64_t arena_objects; /* objects found in the arenas only */
	uint64_t pm_arenas;     /* arenas */
	uint64_t pm_pools;      /* pools in use */
	uint64_t pm_arena_bytes; /* bytes of the arenas */
	uint64_t pm_used_bytes; /* bytes of allocated blocks */
	uint64_t pm_free_bytes; /* bytes of free blocks in pools in use,
				   handed out before or not */
	uint64_t pm_object_bytes; /* allocated blocks holding an object found */
	uint64_t pm_buffer_bytes; /* ... a buffer of one */
	uint64_t pm_unknown_bytes; /* ... nothing found: not accounted for */
	uint64_t pm_dangling;   /* objects found by reference in free blocks */
	double census_ms;       /* time the census took */
};

#define HEAP_NONE UINT32_MAX

/** What the analyses need to know of an object. */
enum heap_node_flags {
	HEAP_NODE_TRACKED = 1 << 0,     /* on a collector list */
	HEAP_NODE_IMMORTAL = 1 << 1,    /* 3.12+ immortal */
	HEAP_NODE_FINALIZE = 1 << 2,    /* a collection would call tp_finalize */
	HEAP_NODE_HEAP_TYPE = 1 << 3,   /* its type is a heap type: it holds a
					   reference to it */
	HEAP_NODE_STATIC = 1 << 4,      /* in an executable's or library's data */
	HEAP_NODE_BAD = 1 << 6,         /* status not ok */
	HEAP_NODE_FINALIZED = 1 << 7,   /* tp_finalize already ran */
	HEAP_NODE_ARENA = 1 << 8,       /* found in pymalloc's arenas only */
	HEAP_NODE_GC_UNKNOWN = 1 << 9,  /* its generation, or whether it is
					   tracked, is not in the snapshot */
};

/** An object of the graph. */
struct heap_node {
	uint64_t addr;         /* PyObject * */
	int64_t refcnt;        /* ob_refcnt as read */
	uint32_t type;         /* node of ob_type, or HEAP_NONE */
	int8_t generation;     /* 0–3, -1 untracked */
	uint16_t flags;        /* enum heap_node_flags */
};

/**
 * The object graph by dense index, for the analyses. Node i is the i-th
 * object reported; edge i the i-th reference reported (its rowid in the
 * edges table is i + 1).
 */
struct heap_graph {
	size_t nnodes;             /* objects */
	struct heap_node *nodes;   /* [nnodes] */
	size_t nedges;             /* references, all kinds */
	uint32_t *src;             /* [nedges] referring node */
	uint32_t *dst;             /* [nedges] referred node */
	uint8_t *kind;             /* [nedges] enum heap_edge_kind */
	size_t nroots;             /* roots, as reported */
	uint32_t *root;            /* [nroots] node held */
	uint32_t *root_conservative; /* [nroots] 1 if found by a scan */
	size_t ngarbage;           /* items of gc.garbage */
	uint32_t *garbage;         /* [ngarbage] node */
	uint32_t interned;         /* the interned dict, whose references to
				      mortal strings are not counted, or
				      HEAP_NONE */
	uint32_t *mem_words;       /* [nnodes] words of the whole memory and
				      registers holding the address of an
				      object whose count the references did
				      not explain, UINT32_MAX if not counted;
				      or NULL */
	uint32_t uncounted_type;   /* str when the word naming the interned
				      dict is not in a truncated core: its
				      instances' references may be counted
				      twice too many; or HEAP_NONE */
};

/** Caps that bound the walk over untrusted memory. */
struct heap_limits {
	uint64_t max_objects;     /* objects found in all, tracked or not */
	uint64_t max_items;       /* items decoded from one container */
};

/**
 * Walk the heap of the process in @p t.
 *
 * @param graph_ret if not NULL, filled with the traverse graph; release
 * with heap_graph_deinit().
 * @param stats_ret filled in, also on error.
 * @return NULL on success; an error only for failures of the consumer or
 * out of memory, or when no collector list could be read at all.
 */
struct err *heap_walk(struct target *t, const struct layout *l,
		      const struct heap_limits *limits,
		      const struct heap_consumer *consumer,
		      struct heap_graph *graph_ret,
		      struct heap_stats *stats_ret);

/** Release what heap_walk() put in @p g. */
void heap_graph_deinit(struct heap_graph *g);

/** Default limits: generous for a 2 GB core, finite for a hostile one. */
extern const struct heap_limits heap_default_limits;

#endif /* GCSCOPE_HEAP_H */
