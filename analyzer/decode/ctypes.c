/* SPDX-License-Identifier: MIT */
/*
 * ctypes' metatypes: the types of its types (PyCStructType, UnionType,
 * PyCPointerType, PyCArrayType, PyCFuncPtrType, PyCSimpleType). Their
 * instances are types, decoded as such (type_traverse), plus what the
 * metatype's own traverse visits of the type's ctypes facts:
 *
 * - up to 3.12 those facts are the StgDict, a dict subclass the type has
 *   as its tp_dict; CDataType_traverse, the traverse of PyCStructType,
 *   UnionType, PyCPointerType and PyCFuncPtrType, visits only its proto
 *   (the pointed-to or item type), PyCArrayType and PyCSimpleType keep
 *   type_traverse. The StgDict's own traverse is dict's.
 * - from 3.13 they are a StgInfo in the type object's extra space, after
 *   the PyHeapTypeObject rounded up to 16 bytes; every metatype is a heap
 *   subclass of _ctypes.CType_Type, whose CType_Type_traverse visits the
 *   StgInfo's proto, argtypes, converters, restype, checker and module,
 *   then the metatype and type_traverse.
 *
 * The offsets are the same on x86-64 in every version where the struct
 * exists (ptype /o StgDictObject and StgInfo in the pyenv builds'
 * _ctypes modules; Debian's 3.11 CDataType_traverse reads the same).
 */
#include <string.h>

#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"

enum {
	STGDICT_PROTO = 96,           // StgDictObject.proto, ≤3.12
	STGDICT_ARGTYPES = 128,
	STGDICT_CONVERTERS = 136,
	STGDICT_RESTYPE = 144,
	STGDICT_CHECKER = 152,
	STGINFO_ALIGN = 16,           // ALIGNOF_MAX_ALIGN_T
	STGINFO_PROTO = 56,           // StgInfo.proto, 3.13
	STGINFO_ARGTYPES = 88,
	STGINFO_CONVERTERS = 96,
	STGINFO_RESTYPE = 104,
	STGINFO_CHECKER = 112,
	STGINFO_MODULE = 120,
	STGINFO_SIZE = 128,           // up to the last field visited
};

static bool stginfo_version(const struct decode *d)
{
	return d->l->minor >= 13;
}

// PyType_stgdict(): the type's tp_dict if its type is exactly StgDict.
static uint64_t stgdict_of(struct decode *d, uint64_t type)
{
	uint64_t dict = decode_u64(d, type + d->l->tp_dict);
	struct decode_type *dt;

	if (!dict)
		return 0;
	dt = decode_type_at(d, decode_u64(d, dict + d->l->ob_type));
	if (!dt || !dt->valid || strcmp(dt->name, "StgDict"))
		return 0;
	return dict;
}

// CDataType_traverse (≤3.12). The proto is the StgDict's (PyCStgDict_clear
// releases it): visited here, counted there.
static void decode_stgdict_type(struct decode *d, uint64_t obj,
				const struct decode_type *ti)
{
	uint64_t dict = stgdict_of(d, obj);

	if (dict)
		decode_edge(d, decode_u64(d, dict + STGDICT_PROTO),
			    HEAP_EDGE_VISITED, "<proto>");
	decode_type(d, obj, ti);
}

/*
 * A StgDict (≤3.12) owns, besides its items, the proto, argtypes,
 * converters, restype and checker of its type (PyCStgDict_clear); its
 * traverse is dict's, which visits none of them.
 */
void decode_stgdict_fields(struct decode *d, uint64_t obj,
			   const struct decode_type *ti)
{
	static const struct {
		int32_t off;
		const char *label;
	} fields[] = {
		{ STGDICT_PROTO, "<proto>" },
		{ STGDICT_ARGTYPES, "<argtypes>" },
		{ STGDICT_CONVERTERS, "<converters>" },
		{ STGDICT_RESTYPE, "<restype>" },
		{ STGDICT_CHECKER, "<checker>" },
	};

	if (stginfo_version(d) || !ti || !ti->valid ||
	    strcmp(ti->name, "StgDict"))
		return;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		decode_field_kind(d, obj, fields[i].off, HEAP_EDGE_STRONG,
				  fields[i].label);
}

// CType_Type_traverse (3.13): the StgInfo, the metatype, the type.
static void decode_stginfo_type(struct decode *d, uint64_t obj,
				const struct decode_type *ti)
{
	static const struct {
		int32_t off;
		const char *label;
	} fields[] = {
		{ STGINFO_PROTO, "<proto>" },
		{ STGINFO_ARGTYPES, "<argtypes>" },
		{ STGINFO_CONVERTERS, "<converters>" },
		{ STGINFO_RESTYPE, "<restype>" },
		{ STGINFO_CHECKER, "<checker>" },
		{ STGINFO_MODULE, "<module>" },
	};
	int64_t info = (d->l->sizeof_heaptype + STGINFO_ALIGN - 1) &
		       ~(int64_t)(STGINFO_ALIGN - 1);

	// A metatype without room for a StgInfo is not one of ctypes'.
	if (ti->basicsize < info + STGINFO_SIZE) {
		decode_metatype(d, obj, ti);
		return;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		decode_field(d, obj, (int32_t)info + fields[i].off,
			     fields[i].label);
	decode_field(d, obj, d->l->ob_type, "__class__");
	decode_type(d, obj, ti);
}

// PyCStructType, UnionType, PyCPointerType, PyCFuncPtrType.
void decode_ctypes_cdatatype(struct decode *d, uint64_t obj,
			     const struct decode_type *ti)
{
	if (stginfo_version(d))
		decode_stginfo_type(d, obj, ti);
	else
		decode_stgdict_type(d, obj, ti);
}

// CType_Type and, 3.13, PyCArrayType and PyCSimpleType; before 3.13 these
// two keep type_traverse.
void decode_ctypes_ctype(struct decode *d, uint64_t obj,
			 const struct decode_type *ti)
{
	if (stginfo_version(d))
		decode_stginfo_type(d, obj, ti);
	else
		decode_type(d, obj, ti);
}
