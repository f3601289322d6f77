/* SPDX-License-Identifier: MIT */
/**
 * @file dwarf.h
 *
 * Struct sizes and member offsets from DWARF debug information.
 *
 * A dwarf_index looks up C types by name in the DWARF of one module (and
 * its dwz alternate file, if any). Only top-level type definitions of each
 * compilation unit are indexed; declarations are skipped. Names are given
 * as C spells them: "struct _is", "union _gc_head", or a typedef name such
 * as "PyInterpreterState". Typedefs, const and volatile are followed.
 */
#ifndef GCSCOPE_DWARF_H
#define GCSCOPE_DWARF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct Dwarf;
struct dwarf_index;

/**
 * Index the type definitions of @p dw.
 *
 * @param dw DWARF of one module; must outlive the index.
 * @param ret the new index.
 * @return NULL on success.
 */
struct err *dwarf_index_create(struct Dwarf *dw, struct dwarf_index **ret);

/**
 * Open an ELF file with DWARF (a library, or a separate debug file) and
 * index it; the index owns the file.
 *
 * @return NULL on success.
 */
struct err *dwarf_index_open(const char *path, struct dwarf_index **ret);

/** Release an index; NULL is allowed. */
void dwarf_index_destroy(struct dwarf_index *idx);

/**
 * Size in bytes of the named type.
 *
 * @return the size, or -1 if the type is not found or has no size.
 */
int64_t dwarf_type_size(struct dwarf_index *idx, const char *type);

/**
 * Offset in bytes of a member inside the named struct or union.
 *
 * @param path member names separated by '.', each optionally followed by
 * an array index: "interpreters.head", "generations[2].head", "gc".
 * Members of anonymous structs and unions are found as if they were
 * members of the enclosing type, as in C.
 * @return the offset, or -1 if the type or a member is not found.
 */
int64_t dwarf_member_offset(struct dwarf_index *idx, const char *type,
			    const char *path);

/**
 * Size in bytes of the member at @p path (as for dwarf_member_offset()).
 *
 * @return the size, or -1 if not found.
 */
int64_t dwarf_member_size(struct dwarf_index *idx, const char *type,
			  const char *path);

/**
 * The member of the named struct or union at byte @p offset, as a path
 * dwarf_member_offset() reads: "imports.modules_by_index",
 * "types.builtins[12].tp_dict", with "+N" for bytes past the start of the
 * innermost member found.
 *
 * @param out filled with the path, truncated to @p size.
 * @return true if the offset is in a named member.
 */
bool dwarf_member_at(struct dwarf_index *idx, const char *type,
		     int64_t offset, char *out, size_t size);

/**
 * Value of an enumerator, searched in every indexed enumeration type.
 *
 * @param ret the value.
 * @return 0 if found, -1 if not.
 */
int dwarf_enumerator_value(struct dwarf_index *idx, const char *name,
			   int64_t *ret);

#endif /* GCSCOPE_DWARF_H */
