/* SPDX-License-Identifier: MIT */
/**
 * @file files.h
 *
 * The files a core names (its executable and shared libraries), found on
 * this machine, which need not be the one that made the core: under a
 * sysroot first (as gdb's "set sysroot": SYSROOT followed by the absolute
 * path the core names), then at that path itself, then by build-id in the
 * .build-id trees of debug directories (DIR/.build-id/xx/rest, the ELF
 * file itself). A file whose build-id is not the one the core records is
 * never used; the first one met is reported, for a warning.
 */
#ifndef GCSCOPE_FILES_H
#define GCSCOPE_FILES_H

#include <stdbool.h>
#include <stddef.h>

/** Where to look. */
struct core_file_search {
	const char *sysroot;       /* without trailing '/', or NULL */
	const char *const *dirs;   /* NULL-terminated .build-id roots, or NULL */
};

/** What was found. */
struct core_file_found {
	char *path;         /* the file to use, or NULL */
	int fd;             /* open on path, or -1 */
	char *rejected;     /* the first file met that is another build, or NULL */
	char *rejected_id;  /* its build-id in hex, "none" if it has none */
};

/**
 * Look for the file the core names @p name (an absolute path, or a bare
 * name such as a soname, which is only looked for by build-id), whose
 * build-id the core records as @p id (@p id_len bytes; 0: unknown, and
 * then any ELF file at a path is taken). Only regular files are opened.
 *
 * @return false if out of memory; else true, with *ret filled in (its path
 * NULL if nothing fits). Release it with core_file_found_release().
 */
bool core_file_find(const struct core_file_search *s, const char *name,
		    const unsigned char *id, size_t id_len,
		    struct core_file_found *ret);

/** Release what core_file_find() filled in; closes fd unless taken (-1). */
void core_file_found_release(struct core_file_found *f);

/**
 * Write @p len bytes of @p bits as hex into @p out, which has room for
 * 2 * @p len + 1 bytes; at most 64 bytes are written.
 */
void build_id_hex(char *out, const unsigned char *bits, size_t len);

#endif /* GCSCOPE_FILES_H */
