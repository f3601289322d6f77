/* SPDX-License-Identifier: MIT */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "target/dwarf.h"

// Longest typedef/const/volatile chain followed before giving up; real
// code needs three or four steps, corrupt DWARF could loop forever.
#define DWARF_MAX_CHAIN 16
// Deepest nesting of anonymous structs and unions searched for a member.
#define DWARF_MAX_ANON 32
// Most anonymous aggregates visited in one member search; bounds the work
// if corrupt DWARF makes an anonymous member contain itself.
#define DWARF_MAX_ANON_VISITS 1024
// Most dimensions of one array type.
#define DWARF_MAX_DIMS 8
// First size of the hash table; a power of two.
#define DWARF_INITIAL_SLOTS 4096

enum dwarf_kind {
	DWARF_KIND_TYPEDEF,	/* typedef NAME */
	DWARF_KIND_STRUCT,	/* struct NAME */
	DWARF_KIND_UNION,	/* union NAME */
	DWARF_KIND_ENUM,	/* enum NAME */
	DWARF_KIND_ENUMERATOR,	/* an enumeration constant */
};

struct dwarf_slot {
	const char *name;	/* key, in the DWARF string data; NULL: free */
	size_t len;		/* strlen(name) */
	uint32_t hash;		/* dwarf_hash() of name and kind */
	int kind;		/* enum dwarf_kind */
	union {
		Dwarf_Die die;	/* the definition, for the type kinds */
		int64_t value;	/* the value, for DWARF_KIND_ENUMERATOR */
	};
};

struct dwarf_index {
	struct dwarf_slot *slots;	/* open addressing, linear probing */
	size_t nslots;			/* a power of two */
	size_t used;			/* slots with a name */
	Dwarf *owned;			/* opened by dwarf_index_open(), or NULL */
	int fd;				/* its file, or -1 */
};

// FNV-1a; the kind is mixed in so that "struct x" and typedef "x" differ.
static uint32_t dwarf_hash(int kind, const char *name, size_t len)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

/*
 * The slot holding (kind, name), or the free slot where it belongs. The
 * table is never full, so the probe ends.
 */
static struct dwarf_slot *dwarf_probe(struct dwarf_slot *slots, size_t nslots,
				      int kind, const char *name,
				      size_t len, uint32_t hash)
{
	size_t mask = nslots - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct dwarf_slot *s = &slots[i];

		if (!s->name)
			return s;
		if (s->hash == hash && s->kind == kind && s->len == len &&
		    memcmp(s->name, name, len) == 0)
			return s;
	}
}

static struct dwarf_slot *dwarf_lookup(struct dwarf_index *idx, int kind,
				       const char *name, size_t len)
{
	uint32_t hash = dwarf_hash(kind, name, len);
	struct dwarf_slot *s = dwarf_probe(idx->slots, idx->nslots, kind,
					   name, len, hash);

	return s->name ? s : NULL;
}

static struct err *dwarf_grow(struct dwarf_index *idx)
{
	size_t nslots = idx->nslots * 2;
	struct dwarf_slot *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return &err_nomem;
	for (size_t i = 0; i < idx->nslots; i++) {
		struct dwarf_slot *old = &idx->slots[i];

		if (old->name)
			*dwarf_probe(slots, nslots, old->kind, old->name,
				     old->len, old->hash) = *old;
	}
	free(idx->slots);
	idx->slots = slots;
	idx->nslots = nslots;
	return NULL;
}

/*
 * Add (kind, name) unless it is there already: the first definition wins.
 * Returns the new slot in *ret, or NULL there if the key existed.
 */
static struct err *dwarf_insert(struct dwarf_index *idx, int kind,
				const char *name, struct dwarf_slot **ret)
{
	size_t len = strlen(name);
	uint32_t hash = dwarf_hash(kind, name, len);
	struct dwarf_slot *s;

	*ret = NULL;
	// Keep the load at most one half so probe sequences stay short.
	if ((idx->used + 1) * 2 > idx->nslots) {
		struct err *err = dwarf_grow(idx);

		if (err)
			return err;
	}
	s = dwarf_probe(idx->slots, idx->nslots, kind, name, len, hash);
	if (s->name)
		return NULL;
	s->name = name;
	s->len = len;
	s->hash = hash;
	s->kind = kind;
	idx->used++;
	*ret = s;
	return NULL;
}

static bool dwarf_is_declaration(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	bool flag;

	if (!dwarf_attr(die, DW_AT_declaration, &attr))
		return false;
	return dwarf_formflag(&attr, &flag) == 0 && flag;
}

// The DIE that DW_AT_type of @die refers to; false for none (void).
static bool dwarf_type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;

	if (!dwarf_attr_integrate(die, DW_AT_type, &attr))
		return false;
	return dwarf_formref_die(&attr, ret) != NULL;
}

/*
 * Read a constant attribute. Fixed-size forms carry no sign, so the
 * caller says whether the value's type is signed.
 */
static bool dwarf_constant(Dwarf_Attribute *attr, bool is_signed,
			   int64_t *ret)
{
	Dwarf_Word u;
	Dwarf_Sword s;
	int bits;

	switch (dwarf_whatform(attr)) {
	case DW_FORM_sdata:
	case DW_FORM_implicit_const:
		if (dwarf_formsdata(attr, &s))
			return false;
		*ret = s;
		return true;
	case DW_FORM_data1:
		bits = 8;
		break;
	case DW_FORM_data2:
		bits = 16;
		break;
	case DW_FORM_data4:
		bits = 32;
		break;
	default:
		bits = 64;
		break;
	}
	if (dwarf_formudata(attr, &u))
		return false;
	if (bits < 64) {
		u &= (UINT64_C(1) << bits) - 1;
		if (is_signed && (u >> (bits - 1)) & 1)
			u |= ~UINT64_C(0) << bits;
	}
	*ret = (int64_t)u;
	return true;
}

static int dwarf_kind_of_tag(int tag)
{
	switch (tag) {
	case DW_TAG_structure_type:
		return DWARF_KIND_STRUCT;
	case DW_TAG_union_type:
		return DWARF_KIND_UNION;
	case DW_TAG_enumeration_type:
		return DWARF_KIND_ENUM;
	case DW_TAG_typedef:
		return DWARF_KIND_TYPEDEF;
	default:
		return -1;
	}
}

/*
 * Follow typedefs and qualifiers from @die to the type that has the
 * layout. A struct, union or enum that is only declared here (a CU that
 * saw "typedef struct _is PyInterpreterState;" without the body) is
 * replaced by the indexed definition of the same name.
 */
static bool dwarf_resolve(struct dwarf_index *idx, Dwarf_Die *die,
			  Dwarf_Die *ret)
{
	Dwarf_Die cur = *die;

	for (int i = 0; i < DWARF_MAX_CHAIN; i++) {
		int tag = dwarf_tag(&cur);
		int kind;
		const char *name;
		struct dwarf_slot *s;

		switch (tag) {
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type:
			if (!dwarf_type_of(&cur, &cur))
				return false;
			continue;
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_enumeration_type:
			if (!dwarf_is_declaration(&cur))
				break;
			kind = dwarf_kind_of_tag(tag);
			name = dwarf_diename(&cur);
			if (!name)
				return false;
			s = dwarf_lookup(idx, kind, name, strlen(name));
			if (!s)
				return false;
			cur = s->die;
			break;
		default:
			if (tag < 0)
				return false;
			break;
		}
		*ret = cur;
		return true;
	}
	return false;
}

// Element count of one DW_TAG_subrange_type, or -1 if unknown (flexible).
static int64_t dwarf_subrange_count(Dwarf_Die *sub)
{
	Dwarf_Attribute attr;
	int64_t count, lower = 0;

	if (dwarf_attr_integrate(sub, DW_AT_count, &attr))
		return dwarf_constant(&attr, false, &count) ? count : -1;
	if (dwarf_attr_integrate(sub, DW_AT_lower_bound, &attr) &&
	    !dwarf_constant(&attr, false, &lower))
		return -1;
	// GCC gives "[]" no bound and, in old versions, an upper bound of
	// -1; neither gives a count.
	if (!dwarf_attr_integrate(sub, DW_AT_upper_bound, &attr) ||
	    !dwarf_constant(&attr, true, &count) || count < lower)
		return -1;
	return count - lower + 1;
}

/*
 * The dimensions of the array type @array, outermost first, and its
 * element type. A dimension of unknown length (flexible) is -1.
 */
static bool dwarf_array_dims(Dwarf_Die *array, int64_t *dims, int *ndims,
			     Dwarf_Die *elem)
{
	Dwarf_Die child, next;
	int r;

	*ndims = 0;
	for (r = dwarf_child(array, &child); r == 0;
	     r = dwarf_siblingof(&child, &next), child = next) {
		if (dwarf_tag(&child) != DW_TAG_subrange_type)
			continue;
		if (*ndims == DWARF_MAX_DIMS)
			return false;
		dims[(*ndims)++] = dwarf_subrange_count(&child);
	}
	return r >= 0 && *ndims > 0 && dwarf_type_of(array, elem);
}

/*
 * @size times the lengths of dims[from..to), or -1 if one is unknown or
 * the product does not fit.
 */
static int64_t dwarf_dims_product(int64_t size, const int64_t *dims,
				  int from, int to)
{
	for (int d = from; d < to; d++) {
		if (size < 0 || dims[d] < 0 ||
		    __builtin_mul_overflow(size, dims[d], &size))
			return -1;
	}
	return size;
}

/*
 * Byte size of a type DIE after typedefs and qualifiers, or -1. Arrays of
 * arrays are walked in a loop, not by recursion.
 */
static int64_t dwarf_die_size(struct dwarf_index *idx, Dwarf_Die *die)
{
	int64_t dims[DWARF_MAX_DIMS], count = 1;
	Dwarf_Die cur = *die;
	Dwarf_Word size;
	int ndims;

	for (int i = 0; i < DWARF_MAX_CHAIN; i++) {
		Dwarf_Die type, cudie;
		uint8_t addr_size;
		int tag;

		if (!dwarf_resolve(idx, &cur, &type))
			return -1;
		if (dwarf_aggregate_size(&type, &size) == 0) {
			if (size > INT64_MAX ||
			    __builtin_mul_overflow(count, (int64_t)size,
						   &count))
				return -1;
			return count;
		}
		tag = dwarf_tag(&type);
		switch (tag) {
		case DW_TAG_array_type:
			// libdw sizes an array only if it knows the default
			// lower bound of the CU's language, and the partial
			// units made by dwz name no language.
			if (!dwarf_array_dims(&type, dims, &ndims, &cur))
				return -1;
			count = dwarf_dims_product(count, dims, 0, ndims);
			if (count < 0)
				return -1;
			continue;
		case DW_TAG_pointer_type:
		case DW_TAG_reference_type:
			// Pointers need not carry DW_AT_byte_size; they have
			// the CU's address size.
			if (!dwarf_diecu(&type, &cudie, &addr_size, NULL) ||
			    __builtin_mul_overflow(count, addr_size, &count))
				return -1;
			return count;
		default:
			return -1;
		}
	}
	return -1;
}

// The slot for a name as C spells it: "struct x", "union x", "enum x", "x".
static struct dwarf_slot *dwarf_find_type(struct dwarf_index *idx,
					  const char *type)
{
	static const struct {
		const char *prefix;	/* keyword and one space */
		size_t len;		/* strlen(prefix) */
		int kind;		/* what the keyword names */
	} keywords[] = {
		{ "struct ", 7, DWARF_KIND_STRUCT },
		{ "union ", 6, DWARF_KIND_UNION },
		{ "enum ", 5, DWARF_KIND_ENUM },
	};
	int kind = DWARF_KIND_TYPEDEF;

	if (!idx || !type)
		return NULL;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strncmp(type, keywords[i].prefix, keywords[i].len) == 0) {
			type += keywords[i].len;
			kind = keywords[i].kind;
			break;
		}
	}
	while (*type == ' ')
		type++;
	if (!*type)
		return NULL;
	return dwarf_lookup(idx, kind, type, strlen(type));
}

// Whether the enumerators of @enum_die hold signed values.
static bool dwarf_enum_is_signed(struct dwarf_index *idx, Dwarf_Die *enum_die)
{
	Dwarf_Die base;
	Dwarf_Attribute attr;
	Dwarf_Word encoding;

	// Without DW_AT_type the producer gives negative values in
	// DW_FORM_sdata, which dwarf_constant() reads as signed anyway.
	if (!dwarf_type_of(enum_die, &base) ||
	    !dwarf_resolve(idx, &base, &base) ||
	    !dwarf_attr(&base, DW_AT_encoding, &attr) ||
	    dwarf_formudata(&attr, &encoding))
		return false;
	return encoding == DW_ATE_signed || encoding == DW_ATE_signed_char;
}

static struct err *dwarf_index_enumerators(struct dwarf_index *idx,
					   Dwarf_Die *enum_die)
{
	bool is_signed = dwarf_enum_is_signed(idx, enum_die);
	Dwarf_Die child, next;
	int r;

	for (r = dwarf_child(enum_die, &child); r == 0;
	     r = dwarf_siblingof(&child, &next), child = next) {
		Dwarf_Attribute attr;
		const char *name;
		struct dwarf_slot *s;
		int64_t value;
		struct err *err;

		if (dwarf_tag(&child) != DW_TAG_enumerator)
			continue;
		name = dwarf_diename(&child);
		if (!name ||
		    !dwarf_attr(&child, DW_AT_const_value, &attr) ||
		    !dwarf_constant(&attr, is_signed, &value))
			continue;
		err = dwarf_insert(idx, DWARF_KIND_ENUMERATOR, name, &s);
		if (err)
			return err;
		if (s)
			s->value = value;
	}
	if (r < 0)
		return err_create(ERR_INPUT, "cannot read enumerators: %s",
				  dwarf_errmsg(-1));
	return NULL;
}

static struct err *dwarf_index_die(struct dwarf_index *idx, Dwarf_Die *die)
{
	int kind = dwarf_kind_of_tag(dwarf_tag(die));
	struct dwarf_slot *s = NULL;
	const char *name;
	struct err *err;

	if (kind < 0 || dwarf_is_declaration(die))
		return NULL;
	name = dwarf_diename(die);
	if (name) {
		err = dwarf_insert(idx, kind, name, &s);
		if (err)
			return err;
		if (s)
			s->die = *die;
	}
	// Enumerators of anonymous enums are indexed too: CPython declares
	// many constants as "enum { ... }" or "typedef enum { ... } x;".
	if (kind == DWARF_KIND_ENUM && (s || !name))
		return dwarf_index_enumerators(idx, die);
	return NULL;
}

static struct err *dwarf_index_dwarf(struct dwarf_index *idx, Dwarf *dw)
{
	Dwarf_CU *cu = NULL, *next;
	Dwarf_Die cudie, die, sibling;
	int r;

	while ((r = dwarf_get_units(dw, cu, &next, NULL, NULL, &cudie,
				    NULL)) == 0) {
		int tag = dwarf_tag(&cudie);

		cu = next;
		// Compile, partial (dwz) and type units hold definitions
		// as children; skeleton units point elsewhere.
		if (tag != DW_TAG_compile_unit && tag != DW_TAG_partial_unit &&
		    tag != DW_TAG_type_unit)
			continue;
		// Only the top level: visiting every DIE would take seconds.
		for (r = dwarf_child(&cudie, &die); r == 0;
		     r = dwarf_siblingof(&die, &sibling), die = sibling) {
			struct err *err = dwarf_index_die(idx, &die);

			if (err)
				return err;
		}
		if (r < 0)
			break;
	}
	if (r < 0)
		return err_create(ERR_INPUT, "cannot read DWARF units: %s",
				  dwarf_errmsg(-1));
	return NULL;
}

struct err *dwarf_index_create(struct Dwarf *dw, struct dwarf_index **ret)
{
	struct dwarf_index *idx;
	struct err *err;
	Dwarf *alt;

	*ret = NULL;
	if (!dw)
		return err_create(ERR_INPUT, "no DWARF data");
	idx = calloc(1, sizeof(*idx));
	if (!idx)
		return &err_nomem;
	idx->fd = -1;
	idx->nslots = DWARF_INITIAL_SLOTS;
	idx->slots = calloc(idx->nslots, sizeof(*idx->slots));
	if (!idx->slots) {
		free(idx);
		return &err_nomem;
	}
	err = dwarf_index_dwarf(idx, dw);
	// The main file comes first so its definitions win; the dwz file
	// adds what was moved out into it.
	alt = err ? NULL : dwarf_getalt(dw);
	if (alt)
		err = dwarf_index_dwarf(idx, alt);
	if (err) {
		dwarf_index_destroy(idx);
		return err;
	}
	*ret = idx;
	return NULL;
}

struct err *dwarf_index_open(const char *path, struct dwarf_index **ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct err *err;

	if (fd < 0) {
		err = err_errno("cannot open '%s'", path);
		err->code = ERR_INPUT;
		return err;
	}
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);

	if (!dw) {
		close(fd);
		return err_create(ERR_INPUT, "no DWARF in '%s': %s", path,
				  dwarf_errmsg(-1));
	}
	err = dwarf_index_create(dw, ret);
	if (err) {
		dwarf_end(dw);
		close(fd);
		return err;
	}
	(*ret)->owned = dw;
	(*ret)->fd = fd;
	return NULL;
}

void dwarf_index_destroy(struct dwarf_index *idx)
{
	if (!idx)
		return;
	if (idx->owned)
		dwarf_end(idx->owned);
	if (idx->fd >= 0)
		close(idx->fd);
	free(idx->slots);
	free(idx);
}

int64_t dwarf_type_size(struct dwarf_index *idx, const char *type)
{
	struct dwarf_slot *s = dwarf_find_type(idx, type);

	if (!s)
		return -1;
	return dwarf_die_size(idx, &s->die);
}

int dwarf_enumerator_value(struct dwarf_index *idx, const char *name,
			   int64_t *ret)
{
	struct dwarf_slot *s;

	if (!idx || !name)
		return -1;
	s = dwarf_lookup(idx, DWARF_KIND_ENUMERATOR, name, strlen(name));
	if (!s)
		return -1;
	*ret = s->value;
	return 0;
}

/*
 * Offset of a member from the start of its struct. Union members and
 * often the first member have no location. For a bitfield described by
 * DW_AT_data_bit_offset this is the byte holding its first bit, as gdb
 * prints it.
 */
static bool dwarf_member_location(Dwarf_Die *member, int64_t *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Word u;

	if (dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
		Dwarf_Op *ops;
		size_t nops;

		switch (dwarf_whatform(&attr)) {
		case DW_FORM_block1:
		case DW_FORM_block2:
		case DW_FORM_block4:
		case DW_FORM_block:
		case DW_FORM_exprloc:
			// DWARF 2 producers wrote "DW_OP_plus_uconst N";
			// anything fancier is not a fixed offset.
			if (dwarf_getlocation(&attr, &ops, &nops) ||
			    nops != 1 || ops[0].atom != DW_OP_plus_uconst ||
			    ops[0].number > INT64_MAX)
				return false;
			*ret = (int64_t)ops[0].number;
			return true;
		default:
			return dwarf_constant(&attr, false, ret) && *ret >= 0;
		}
	}
	if (dwarf_attr_integrate(member, DW_AT_data_bit_offset, &attr)) {
		if (dwarf_formudata(&attr, &u))
			return false;
		*ret = (int64_t)(u / 8);
		return true;
	}
	*ret = 0;
	return true;
}

static bool dwarf_is_aggregate(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);

	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

/*
 * Find the member called name[0..len) of the struct or union @agg, also
 * inside anonymous members. Returns the member DIE and its offset from
 * the start of @agg.
 */
static bool dwarf_find_member(struct dwarf_index *idx, Dwarf_Die *agg,
			      const char *name, size_t len,
			      Dwarf_Die *member, int64_t *offset)
{
	struct {
		Dwarf_Die agg;	/* aggregate still to search */
		int64_t base;	/* its offset from the start of @agg */
	} stack[DWARF_MAX_ANON];
	size_t top = 0;
	int visits = 0;

	stack[top].agg = *agg;
	stack[top].base = 0;
	top++;
	while (top > 0 && visits++ < DWARF_MAX_ANON_VISITS) {
		Dwarf_Die cur = stack[top - 1].agg, child, next;
		int64_t base = stack[top - 1].base;
		int r;

		top--;
		for (r = dwarf_child(&cur, &child); r == 0;
		     r = dwarf_siblingof(&child, &next), child = next) {
			const char *n;
			int64_t loc;
			Dwarf_Die type;

			if (dwarf_tag(&child) != DW_TAG_member)
				continue;
			n = dwarf_diename(&child);
			if (n && (strncmp(n, name, len) != 0 || n[len]))
				continue;
			if (!dwarf_member_location(&child, &loc))
				continue;
			if (__builtin_add_overflow(base, loc, &loc))
				continue;
			if (n) {
				*member = child;
				*offset = loc;
				return true;
			}
			// C names are unique across the anonymous members, so
			// the search order does not matter.
			if (top < DWARF_MAX_ANON &&
			    dwarf_type_of(&child, &type) &&
			    dwarf_resolve(idx, &type, &type) &&
			    dwarf_is_aggregate(&type)) {
				stack[top].agg = type;
				stack[top].base = loc;
				top++;
			}
		}
	}
	return false;
}

/*
 * Apply "[i][j]..." at *pathp to the array type @array, adding to
 * *offset. On return @type is the element type reached; or, when fewer
 * indices than dimensions end the path, *partial is set and *subsize is
 * the size of the sub-array reached (-1 if unknown).
 */
static bool dwarf_index_array(struct dwarf_index *idx, Dwarf_Die *array,
			      const char **pathp, int64_t *offset,
			      Dwarf_Die *type, bool *partial,
			      int64_t *subsize)
{
	int64_t dims[DWARF_MAX_DIMS];
	int ndims, used = 0;
	Dwarf_Die elem;
	int64_t elem_size, stride;
	const char *p = *pathp;

	if (!dwarf_array_dims(array, dims, &ndims, &elem))
		return false;
	elem_size = dwarf_die_size(idx, &elem);
	if (elem_size < 0)
		return false;
	while (*p == '[' && used < ndims) {
		char *end;
		unsigned long long i;
		int64_t step;

		if (p[1] < '0' || p[1] > '9')
			return false;
		errno = 0;
		i = strtoull(p + 1, &end, 10);
		if (*end != ']' || errno || i > INT64_MAX)
			return false;
		p = end + 1;
		// The stride of a dimension is the size of everything after
		// it; only the first dimension may be flexible.
		stride = dwarf_dims_product(elem_size, dims, used + 1, ndims);
		if (stride < 0 ||
		    __builtin_mul_overflow((int64_t)i, stride, &step) ||
		    __builtin_add_overflow(*offset, step, offset))
			return false;
		used++;
	}
	*pathp = p;
	*partial = used < ndims;
	if (!*partial) {
		*type = elem;
		return true;
	}
	if (*p)
		return false;
	*subsize = dwarf_dims_product(elem_size, dims, used, ndims);
	return true;
}

/*
 * Walk @path from the named type. Returns the offset, and the size of the
 * member reached in *size if @size is not NULL (-1 if it has none).
 */
static int64_t dwarf_walk(struct dwarf_index *idx, const char *type,
			  const char *path, int64_t *size)
{
	struct dwarf_slot *s = dwarf_find_type(idx, type);
	Dwarf_Die cur, member;
	int64_t offset = 0;
	const char *p = path;

	if (!s || !path || !dwarf_resolve(idx, &s->die, &cur))
		return -1;
	for (;;) {
		size_t len = strcspn(p, ".[");
		int64_t loc, subsize;
		bool partial;

		if (len == 0 || !dwarf_is_aggregate(&cur) ||
		    !dwarf_find_member(idx, &cur, p, len, &member, &loc) ||
		    !dwarf_type_of(&member, &cur) ||
		    !dwarf_resolve(idx, &cur, &cur))
			return -1;
		if (__builtin_add_overflow(offset, loc, &offset))
			return -1;
		p += len;
		while (*p == '[') {
			if (dwarf_tag(&cur) != DW_TAG_array_type ||
			    !dwarf_index_array(idx, &cur, &p, &offset, &cur,
					       &partial, &subsize))
				return -1;
			if (partial) {
				// A sub-array of a multi-dimensional array.
				if (size)
					*size = subsize;
				return offset;
			}
			if (!dwarf_resolve(idx, &cur, &cur))
				return -1;
		}
		if (*p == '\0')
			break;
		if (*p != '.')
			return -1;
		p++;
	}
	if (size)
		*size = dwarf_die_size(idx, &cur);
	return offset;
}

int64_t dwarf_member_offset(struct dwarf_index *idx, const char *type,
			    const char *path)
{
	return dwarf_walk(idx, type, path, NULL);
}

int64_t dwarf_member_size(struct dwarf_index *idx, const char *type,
			  const char *path)
{
	int64_t size;

	if (dwarf_walk(idx, type, path, &size) < 0)
		return -1;
	return size;
}

// Deepest member path dwarf_member_at() follows.
#define DWARF_MAX_PATH 24

/*
 * Append to out[*n..size) as snprintf does; *n stays at most size - 1.
 */
static void dwarf_append(char *out, size_t size, size_t *n, const char *fmt,
			 const char *s, int64_t v)
{
	int k;

	if (*n + 1 >= size)
		return;
	k = s ? snprintf(out + *n, size - *n, fmt, s) :
		snprintf(out + *n, size - *n, fmt, (long long)v);
	if (k > 0)
		*n += (size_t)k < size - *n ? (size_t)k : size - *n - 1;
}

bool dwarf_member_at(struct dwarf_index *idx, const char *type,
		     int64_t offset, char *out, size_t size)
{
	struct dwarf_slot *s = dwarf_find_type(idx, type);
	Dwarf_Die cur;
	int64_t rel = offset;
	size_t n = 0;
	bool named = false;

	if (!size)
		return false;
	out[0] = 0;
	if (!s || offset < 0 || !dwarf_resolve(idx, &s->die, &cur))
		return false;
	for (int depth = 0; depth < DWARF_MAX_PATH; depth++) {
		if (dwarf_is_aggregate(&cur)) {
			Dwarf_Die child, next, found, ftype, last, ltype;
			int64_t floc = 0, lloc = -1;
			bool hit = false;
			int r;

			for (r = dwarf_child(&cur, &child); r == 0 && !hit;
			     r = dwarf_siblingof(&child, &next), child = next) {
				Dwarf_Die type;
				int64_t loc, msize;

				if (dwarf_tag(&child) != DW_TAG_member ||
				    !dwarf_member_location(&child, &loc) ||
				    !dwarf_type_of(&child, &type) ||
				    !dwarf_resolve(idx, &type, &type) ||
				    rel < loc)
					continue;
				if (loc >= lloc) {
					last = child;
					ltype = type;
					lloc = loc;
				}
				if ((msize = dwarf_die_size(idx, &type)) <= 0 ||
				    rel - loc >= msize)
					continue;
				found = child;
				ftype = type;
				floc = loc;
				hit = true;
			}
			// Past the end of a trailing array: a variable-size
			// struct's items (PyTupleObject.ob_item[1]).
			if (!hit && lloc >= 0 &&
			    dwarf_tag(&ltype) == DW_TAG_array_type) {
				found = last;
				ftype = ltype;
				floc = lloc;
				hit = true;
			}
			if (!hit)
				break;
			const char *name = dwarf_diename(&found);

			// Members of anonymous structs and unions read as the
			// enclosing type's, as in C.
			if (name) {
				dwarf_append(out, size, &n, named ? ".%s" : "%s",
					     name, 0);
				named = true;
			}
			rel -= floc;
			cur = ftype;
		} else if (dwarf_tag(&cur) == DW_TAG_array_type) {
			int64_t dims[DWARF_MAX_DIMS], elem_size, stride;
			int ndims;
			Dwarf_Die elem;

			if (!named || !dwarf_array_dims(&cur, dims, &ndims, &elem) ||
			    !dwarf_resolve(idx, &elem, &elem) ||
			    (elem_size = dwarf_die_size(idx, &elem)) <= 0)
				break;
			for (int d = 0; d < ndims; d++) {
				stride = dwarf_dims_product(elem_size, dims,
							    d + 1, ndims);
				if (stride <= 0)
					break;
				dwarf_append(out, size, &n, "[%lld]", NULL,
					     rel / stride);
				rel %= stride;
			}
			cur = elem;
		} else {
			break;
		}
	}
	if (named && rel)
		dwarf_append(out, size, &n, "+%lld", NULL, rel);
	return named;
}
