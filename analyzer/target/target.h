/* SPDX-License-Identifier: MIT */
/**
 * @file target.h
 *
 * Target memory: the address space of the process being examined, read
 * from a core file (and the files it mapped). Only this module knows
 * libdwfl; everything above reads memory through target_read() and finds
 * symbols through target_symbol().
 *
 * Target addresses are uint64_t, never host pointers.
 */
#ifndef GCSCOPE_TARGET_H
#define GCSCOPE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target/live.h"
#include "util/err.h"

struct Dwarf;
struct target;

/** A file mapped into the target: the executable or a shared library. */
struct target_module {
	const char *name;        /* as the core names it (path or soname) */
	const char *path;        /* file opened on this machine, or NULL */
	uint64_t start;          /* lowest mapped address */
	uint64_t end;            /* one past the highest mapped address */
	uint64_t bias;           /* load bias: runtime address - link address */
	const char *build_id;    /* the core's record of its build-id, in hex,
				    or NULL */
	const char *rejected;    /* without path: a file found for it that is
				    another build (not used), or NULL */
	const char *rejected_build_id; /* that file's build-id, hex, or "none" */
};

/**
 * Open a core file.
 *
 * @param core_path the core.
 * @param exe_path the executable that made it, or NULL to take it from the
 * core's notes.
 * @param sysroot where the files the core names are looked for first, as
 * SYSROOT/their path (a copy of the machine that made it), or NULL.
 * @param debuginfo_dirs NULL-terminated extra directories searched for
 * separate debug info (by build-id and debuglink), and for the files the
 * core names by build-id (DIR/.build-id/xx/rest), or NULL.
 * @param default_debuginfo also search the usual places: beside each file,
 * its .debug directory, the sysroot's /usr/lib/debug and /usr/lib/debug.
 * @param ret the target.
 * @return NULL on success. A file the core names that is not found leaves
 * its module without path; one of another build is never used.
 */
struct err *target_open_core(const char *core_path, const char *exe_path,
			     const char *sysroot,
			     const char *const *debuginfo_dirs,
			     bool default_debuginfo, struct target **ret);

/**
 * Read a live process: what it touched of its writable memory is copied
 * with its threads stopped for as short a time as that takes (see
 * live.h), then it runs on.
 *
 * @param req whether to stop it, and for how long at most.
 * @return NULL on success; target_live() tells what the copy took.
 */
struct err *target_open_pid(int pid, const struct live_request *req,
			    const char *const *debuginfo_dirs,
			    bool default_debuginfo, struct target **ret);

/** The copy of a live process @p t was made from, or NULL. */
const struct live_copy *target_live(const struct target *t);

/** A run of bytes of a memory image (target_open_image()). */
struct target_image_segment {
	uint64_t start;              /* first target address */
	uint64_t len;                /* bytes */
	const unsigned char *data;   /* the bytes, kept by the caller */
};

/** A symbol of a memory image. */
struct target_image_symbol {
	const char *name;            /* kept by the caller */
	uint64_t addr;
	uint64_t size;
};

/**
 * An address space given as bytes, with one module and its symbols: for
 * the tests and fuzz targets of the decoders, which need memory that no
 * real process would hold. It has no files, DWARF or sections.
 */
struct target_image {
	const char *module_name;     /* e.g. "libpython3.12.so" */
	uint64_t module_start;       /* the module's addresses */
	uint64_t module_end;
	const struct target_image_segment *segments;
	size_t nsegments;            /* must not overlap */
	const struct target_image_symbol *symbols;
	size_t nsymbols;
};

/**
 * Open a memory image. Everything @p image points to must outlive the
 * target.
 *
 * @return NULL on success.
 */
struct err *target_open_image(const struct target_image *image,
			      struct target **ret);

/** Close a target; NULL is allowed. */
void target_destroy(struct target *t);

/**
 * Copy @p n bytes at @p addr into @p buf.
 *
 * @return NULL on success; an ERR_FAULT error if any byte is not in the
 * snapshot.
 */
struct err *target_read(struct target *t, void *buf, uint64_t addr,
			size_t n);

/**
 * Like target_read() but without an error object: cheap for the walker,
 * which records bad objects and goes on.
 *
 * @return true if all @p n bytes were read.
 */
bool target_read_ok(struct target *t, void *buf, uint64_t addr, size_t n);

/**
 * Whether the byte at @p addr is in the snapshot, without reading it: a
 * cheap check of a pointer before it is followed.
 */
bool target_contains(struct target *t, uint64_t addr);

/**
 * How many reads so far failed on memory a truncated core lacks: memory
 * its program headers place that its file does not hold. A caller that
 * compares the count before and after reading a thing knows whether all
 * of it was in the snapshot.
 */
uint64_t target_lost_reads(const struct target *t);

/**
 * Whether the byte at @p addr is memory a truncated core lacks: placed by
 * its program headers but not in its file, or in a library whose file was
 * not found. Always false for a complete core.
 */
bool target_is_lost(struct target *t, uint64_t addr);

/** Whether the byte at @p addr is placed by a truncated core's program
 * headers but not in its file. */
bool target_is_cut(struct target *t, uint64_t addr);

/** Read one 8-byte little-endian word; false if unreadable. */
static inline bool target_read_u64(struct target *t, uint64_t addr,
				   uint64_t *ret)
{
	return target_read_ok(t, ret, addr, sizeof(*ret));
}

/**
 * Read a NUL-terminated string of at most @p max - 1 bytes into @p buf.
 *
 * @return the length read; -1 if the first byte is unreadable. A string
 * cut at @p max - 1 bytes or at unreadable memory is still terminated.
 */
long target_read_string(struct target *t, uint64_t addr, char *buf,
			size_t max);

/**
 * The first run of bytes the core holds at or after @p addr.
 *
 * @param start_ret its first address; @param len_ret its length;
 * @param data_ret the bytes, valid while the target is open.
 * @return false if there is none.
 */
bool target_next_segment(struct target *t, uint64_t addr,
			 uint64_t *start_ret, uint64_t *len_ret,
			 const unsigned char **data_ret);

/** Bytes of the process's memory the snapshot holds. */
uint64_t target_memory_bytes(struct target *t);

/** Number of modules. */
size_t target_num_modules(struct target *t);

/** Module @p i, 0 <= i < target_num_modules(). */
const struct target_module *target_module(struct target *t, size_t i);

/**
 * The DWARF of module @p i, searched for on first use: in the file itself,
 * then by build-id and debuglink in the debug directories.
 *
 * @param debug_path_ret if not NULL, the file the DWARF was read from.
 * @return the DWARF, or NULL if none was found.
 */
struct Dwarf *target_module_dwarf(struct target *t, size_t i,
				  const char **debug_path_ret);

/** Index of the module mapped at @p addr, or -1. */
long target_module_at(struct target *t, uint64_t addr);

/** Index of the main executable's module (from AT_ENTRY), or -1. */
long target_executable(struct target *t);

/**
 * Find a symbol by name in every module's symbol table (.symtab when
 * available, else .dynsym).
 *
 * @param module_ret if not NULL, the index of the module that has it.
 * @return true if found.
 */
bool target_symbol(struct target *t, const char *name, uint64_t *addr_ret,
		   uint64_t *size_ret, size_t *module_ret);

/**
 * Name of the function or object containing @p addr, for reports.
 *
 * @return the name, or NULL.
 */
const char *target_symbol_at(struct target *t, uint64_t addr);

/**
 * Find an ELF section by name in a module, at its runtime address.
 *
 * @return true if found.
 */
bool target_section(struct target *t, size_t module, const char *name,
		    uint64_t *addr_ret, uint64_t *size_ret);

/**
 * Whether the core file is shorter than its program headers say.
 *
 * @param have_ret bytes present; @param want_ret bytes the headers need.
 * @return true if truncated.
 */
bool target_truncated(struct target *t, uint64_t *have_ret,
		      uint64_t *want_ret);

/** What a truncated core lacks (target_truncation()). */
struct target_truncation {
	uint64_t file_have;     /* bytes of the core file */
	uint64_t file_want;     /* bytes its program headers need */
	uint64_t memory;        /* bytes of memory its PT_LOADs hold */
	uint64_t missing;       /* of which are not in the file */
	uint64_t missing_from;  /* the lowest address missing, 0 if none */
	bool notes_cut;         /* a PT_NOTE is not all in the file */
};

/**
 * What of the core's memory and notes the file lacks.
 *
 * @return true if the core is truncated.
 */
bool target_truncation(struct target *t, struct target_truncation *ret);

/**
 * The stack pointer of each thread when the snapshot was taken: from a
 * core's NT_PRSTATUS notes, or read while a live process was stopped
 * (none with --no-stop). x86-64.
 *
 * @return how many; *ret points to them.
 */
size_t target_stack_pointers(struct target *t, const uint64_t **ret);

/**
 * Whether @p p starts a block of glibc's malloc in use: the word before
 * it is its chunk's size (a 16-byte multiple of at least 32 and at most
 * @p max, not mmapped), and the next chunk's header says the previous
 * one, this, is in use. A heuristic: a freed chunk kept in a tcache or
 * fast bin passes too.
 *
 * @return the block's usable bytes, or 0.
 */
uint64_t target_malloc_block(struct target *t, uint64_t p, uint64_t max);

/** The general registers of x86-64 (struct user_regs_struct): 27 words. */
enum { TARGET_NREGS = 27 };

/**
 * The registers of the threads, TARGET_NREGS words each, thread i's at
 * (*ret)[i * TARGET_NREGS]: from the core's NT_PRSTATUS notes, or read
 * while a live process was stopped; thread i is that of stack pointer i.
 * @return how many threads' there are (0 with --no-stop).
 */
size_t target_thread_registers(struct target *t, const uint64_t **ret);

/** Describe the source, e.g. "core:/tmp/core.123", for the database. */
const char *target_source(struct target *t);

/** The sysroot a core's files were looked for under, or NULL. */
const char *target_sysroot(struct target *t);

#endif /* GCSCOPE_TARGET_H */
