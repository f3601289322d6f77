/* SPDX-License-Identifier: MIT */
/**
 * @file decode.h
 *
 * Decoders: what an object of a given type refers to, how big it is and a
 * short preview of it, read from the target.
 *
 * One table (decode/table.c) has a row per kind of object: how the walker
 * recognises the types it decodes (their exported type objects, their
 * tp_traverse function, their name or a tp_flags bit), and the functions
 * that decode their instances. A decoder sees the object through a small
 * context: reads that mark the object corrupt when they fail, the layout,
 * an edge emitter, the type lookup. It never sees the walker.
 *
 * Decoders mirror the tp_traverse functions in CPython's Objects/: what a
 * traverse function visits is reported as HEAP_EDGE_TRAVERSE, other owned
 * references as HEAP_EDGE_STRONG. A type is matched to its row by its
 * tp_traverse function (so subclasses and heap types built on a builtin are
 * decoded by their base's row), or by its own address for the types without
 * one (str, int, code…). Types nothing matches are scanned conservatively.
 */
#ifndef GCSCOPE_DECODE_H
#define GCSCOPE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walk/heap.h"

struct decode;
struct decoder;
struct layout;
struct target;

enum {
	DECODE_NAME_MAX = 200,  // bytes of tp_name kept
};

/** A type as the walker read it. */
struct decode_type {
	uint64_t addr;          // PyTypeObject *
	char name[DECODE_NAME_MAX]; // tp_name
	char module[DECODE_NAME_MAX]; // __module__, or "" when unknown
	bool valid;             // a readable type object
	bool lost;              // not valid, or its name incomplete: some
				// of it is in memory a truncated core lacks
	const struct decoder *row; // decodes instances' references; NULL:
				   // none does, they are scanned
	const struct decoder *value_row; // sizes and previews instances:
				   // row, or the row of a builtin it extends
	uint64_t flags;         // tp_flags
	int64_t basicsize;      // tp_basicsize
	int64_t itemsize;       // tp_itemsize
	int64_t dictoffset;     // tp_dictoffset
	int64_t nslots;         // Py_SIZE(type): __slots__ members
	uint64_t traverse;      // tp_traverse
	uint64_t base;          // tp_base
	uint64_t members;       // tp_members
	uint64_t meta;          // Py_TYPE(type)
	uint64_t alloc;         // tp_alloc
	bool finalize;          // tp_finalize is called by the collector
	uint64_t cached_keys;   // ht_cached_keys (3.11+ shared keys)
};

/** Addresses of the target the decoders compare with; 0 if unknown. */
struct decode_symbols {
	uint64_t str_type;      // PyUnicode_Type
	uint64_t long_type;     // PyLong_Type
	uint64_t none;          // _Py_NoneStruct
	uint64_t set_dummy;     // *_PySet_Dummy
	uint64_t generic_alloc; // PyType_GenericAlloc
	uint64_t lookdict;      // ≤3.10: lookup function of general dicts
	uint64_t property_args; // ≤3.7: the tuple property_descr_get keeps
				// for its next call, whose item it released
	uint64_t atexit_traverse; // ≤3.9: the atexit module's m_traverse
};

/** What the walker does for a decoder. */
struct decode_ops {
	/* Report a reference of the object being decoded; @p label is
	 * copied. A reference that is not an object address marks it. */
	void (*edge)(struct decode *d, uint64_t dst, enum heap_edge_kind kind,
		     const char *label);
	/* Note a buffer the object owns, allocated apart from it (list
	 * items, dict keys and values, a set's table), for the census. */
	void (*buffer)(struct decode *d, uint64_t addr);
	/* The type at @p addr, read and reported the first time; NULL only
	 * when out of memory. */
	struct decode_type *(*type)(struct decode *d, uint64_t addr);
	/* Whether a word found by a scan points at an object: one found,
	 * or one that looks live. */
	bool (*known)(struct decode *d, uint64_t addr);
	/* Whether an object was found at addr already. */
	bool (*found)(struct decode *d, uint64_t addr);
	/* Note dict keys shared by split tables: a type's cached keys
	 * (@p cached; the type reports their keys), or those of a split
	 * dict, whose keys the walk reports once per keys object unless a
	 * type's. */
	void (*shared_keys)(struct decode *d, uint64_t keys, bool cached);
};

/** The context of a decoder: one per walk, reset for each object. */
struct decode {
	struct target *t;
	const struct layout *l;
	const struct heap_limits *lim;
	const struct decode_symbols *sym;
	const struct decode_ops *ops;
	struct err **err;       // the walk's first failure: decoding stops
	const char *problem;    // why the object is corrupt, or NULL
	uint64_t types_lost;    // types used whose facts are not all in
				// the snapshot (counted at each use)
};

/*
 * A count that grows with every read of memory a truncated core lacks and
 * every use of a type read that way: what was read between two equal
 * counts was all in the snapshot.
 */
uint64_t decode_lost(const struct decode *d);

/** One kind of object. */
struct decoder {
	const char *name;       // for the reader: "dict", "function"…
	/* How its types are recognised, tried in this order over the whole
	 * table: the exported type objects, then the tp_traverse of those
	 * and the named tp_traverse, then tp_name or a tp_flags bit. */
	const char *types[6];   // exported type objects (PyDict_Type)
	const char *traverse;   // a local tp_traverse (deque_traverse)
	const char *type_name;  // tp_name of a type whose traverse is local
	uint64_t type_flag;     // a type with this tp_flags bit that nothing
				// above matched (BaseException subclasses)
	uint64_t value_flag;    // sizes and previews the subclasses with
				// this tp_flags bit too (str, int, bytes)

	/* Report the references of an instance; NULL: it holds none. */
	void (*decode)(struct decode *d, uint64_t obj,
		       const struct decode_type *ti);
	/* Bytes of an instance without the GC head and pre-header, before
	 * rounding up, or -1; @p extra is the item PyType_GenericAlloc
	 * adds. NULL: decode_default_size(). */
	int64_t (*size)(struct decode *d, uint64_t obj,
			const struct decode_type *ti, int64_t extra);
	/* A short preview of an instance into @p out, or leave it empty. */
	void (*preview)(struct decode *d, uint64_t obj,
			const struct decode_type *ti, char *out, size_t max);
	unsigned flags;         // enum decoder_flags
};

enum decoder_flags {
	/* Instances are type objects: static ones are roots, heap ones
	 * allocated by PyType_GenericAlloc with their __slots__ members. */
	DECODER_TYPES = 1 << 0,
	/* Static instances have no GC head (type_is_gc). */
	DECODER_GC_IF_HEAP = 1 << 1,
};

/** The table (decode/table.c). */
extern const struct decoder decoders[];
extern const size_t ndecoders;

/** The row named @p name, or NULL. */
const struct decoder *decoder_named(const char *name);

/* ---- what the walker calls --------------------------------------------- */

/** Report the references of @p obj, whose type is @p ti. */
void decode_object(struct decode *d, uint64_t obj,
		   const struct decode_type *ti);

/**
 * Allocation size of @p obj (GC head and pre-header included), or -1 (also
 * when what it depends on is not in the snapshot); and its preview into
 * @p out if @p out is not NULL ("" if none, or not all in the snapshot).
 */
int64_t decode_size(struct decode *d, uint64_t obj,
		    const struct decode_type *ti, char *out, size_t max);

/** Whether the type at @p addr is a readable heap type. */
bool decode_is_heap_type(struct decode *d, uint64_t addr);

/**
 * Read a str object into @p out (UTF-8, at most @p max bytes with the
 * NUL), without marking anything.
 *
 * @param quote put the value in single quotes, escaping as repr() would
 * for the common cases.
 * @param size_ret if not NULL, the object's size in bytes.
 * @return false if it is not a readable str.
 */
bool decode_str(const struct decode *d, uint64_t addr, bool quote, char *out,
		size_t max, int64_t *size_ret);

/** The name of local slot @p i of a code object, into @p out. */
bool decode_local_name(struct decode *d, uint64_t code, uint64_t i,
		       char *out, size_t max);

/* ---- for the decoders ---------------------------------------------------- */

/* Read n bytes of the current object's data; an unreadable field marks the
 * object corrupt and reads as zeros. */
void decode_read(struct decode *d, uint64_t addr, void *buf, size_t n);
uint64_t decode_u64(struct decode *d, uint64_t addr);
uint32_t decode_u32(struct decode *d, uint64_t addr);
uint8_t decode_u8(struct decode *d, uint64_t addr);

/*
 * Read @p n words at @p addr: into @p small if they fit @p nsmall words,
 * else into memory the caller frees with decode_words_free(). NULL (and
 * the object marked) if they are unreadable or too many.
 */
uint64_t *decode_words(struct decode *d, uint64_t addr, uint64_t n,
		       uint64_t *small, size_t nsmall);
void decode_words_free(uint64_t *words, const uint64_t *small);

/** Whether the walk has failed and decoding must stop. */
static inline bool decode_failed(const struct decode *d)
{
	return *d->err != NULL;
}

static inline void decode_edge(struct decode *d, uint64_t dst,
			       enum heap_edge_kind kind, const char *label)
{
	d->ops->edge(d, dst, kind, label);
}

static inline void decode_buffer(struct decode *d, uint64_t addr)
{
	if (addr)
		d->ops->buffer(d, addr);
}

static inline struct decode_type *decode_type_at(struct decode *d,
						 uint64_t addr)
{
	return d->ops->type(d, addr);
}

/* A traverse edge read from a field at obj + off (off < 0: no field). */
void decode_field(struct decode *d, uint64_t obj, int32_t off,
		  const char *label);
void decode_field_kind(struct decode *d, uint64_t obj, int32_t off,
		       enum heap_edge_kind kind, const char *label);

/* Py_SIZE(obj), 0 if negative. */
uint64_t decode_var_size(struct decode *d, uint64_t obj);

/* Traverse edges to n words at array, labelled "[i]". */
void decode_items(struct decode *d, uint64_t array, uint64_t n);

/*
 * Scan the words [from, to) of an object for pointers to objects; label
 * them with the tp_members names of @p ti if any.
 */
void decode_conservative(struct decode *d, uint64_t obj, uint64_t from,
			 uint64_t to, const struct decode_type *ti);

/* basicsize plus itemsize times the items and @p extra. */
int64_t decode_default_size(struct decode *d, uint64_t obj,
			    const struct decode_type *ti, int64_t extra);

/* A short text for a label of an object used as a key or an attribute. */
void decode_key_text(struct decode *d, uint64_t addr, char *out, size_t max);

/*
 * Read an int: its value in decimal, or "<int of N bits>" when long; the
 * number of 30-bit digits in @p ndigits_ret.
 */
bool decode_long(const struct decode *d, uint64_t addr, char *out, size_t max,
		 int64_t *ndigits_ret);

#endif /* GCSCOPE_DECODE_H */
