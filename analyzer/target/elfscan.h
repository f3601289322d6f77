/* SPDX-License-Identifier: MIT */
/**
 * @file elfscan.h
 *
 * The files a core's process had mapped, found from its memory when the
 * core's notes (NT_FILE, NT_AUXV) are not there: a core cut short before
 * them, as gcore's (notes last) are by any truncation, or a core whose
 * notes are damaged. The first page of each file mapping holds the
 * file's ELF header and program headers, and its PT_NOTE the build-id;
 * the executable's .dynamic leads to the dynamic linker's r_debug and
 * its list of the loaded files (struct link_map) when that memory is in
 * the core. Each image is matched to a file on this machine by build-id
 * (the paths the core gives under the sysroot first, then as they are):
 * the path the link map or an NT_FILE note gives, --exe, the build-id links of the debug
 * directories, the library's name (DT_SONAME, any image's DT_NEEDED) in
 * the directories of the images' DT_RUNPATH and DT_RPATH and the
 * system's library directories, python* in the directories of $PATH.
 */
#ifndef GCSCOPE_ELFSCAN_H
#define GCSCOPE_ELFSCAN_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct target;

/** One mapping an NT_FILE note lists. */
struct nt_file_entry {
	uint64_t start, end;   /* where it was mapped */
	uint64_t offset;       /* its offset in the file, in pages */
	const char *name;      /* the file's path, NUL-terminated in the note */
};

/**
 * Call @p each for the entries of the NT_FILE descriptor @p d of @p size
 * bytes ({count, page size, count x {start, end, offset in pages}, count
 * names}), in order, as long as it returns true. Entries whose name is
 * not NUL-terminated inside the note end the walk.
 */
void nt_file_each(const unsigned char *d, size_t size,
		  bool (*each)(const struct nt_file_entry *e, void *arg),
		  void *arg);

/** What elfscan_report() found. */
struct elfscan_result {
	size_t images;      /* ELF images found in the core's memory */
	size_t reported;    /* of which the file was found and reported */
	bool link_map;      /* the dynamic linker's list was read */
	uint64_t entry;     /* the executable's entry point, or 0 */
	struct elfscan_range {
		uint64_t start, end;
	} *unfound;         /* images whose file was not found; free() it */
	size_t nunfound;
};

/**
 * Find the ELF images in the core memory of @p t (its core segments
 * only: call before any module is loaded) and report each one whose file
 * is found to @p dwfl, which must be between dwfl_report_begin() and
 * dwfl_report_end().
 *
 * @param files_note the descriptor of an NT_FILE note that is in the
 * file (a core cut after it), or NULL; @param files_size its bytes.
 * @param exe_path the executable (--exe), or NULL.
 * @param sysroot where the paths the core gives are looked for first
 * (--sysroot), or NULL.
 * @param id_dirs NULL-terminated directories whose .build-id trees are
 * searched, or NULL.
 * @return NULL, or an error if @p exe_path is not the core's executable.
 */
struct err *elfscan_report(struct target *t, Dwfl *dwfl,
			   const unsigned char *files_note, size_t files_size,
			   const char *exe_path, const char *sysroot,
			   const char *const *id_dirs,
			   struct elfscan_result *ret);

#endif /* GCSCOPE_ELFSCAN_H */
