/* SPDX-License-Identifier: MIT */
/**
 * @file live.h
 *
 * A copy of a live process's memory, taken with all its threads stopped
 * for as short a time as the copy takes: each thread is seized and
 * interrupted with ptrace (no signal the program can see), and every
 * thread is let go again on every path, errors and our own signals
 * included. The target's memory is never written.
 *
 * Only what the walk can need is copied, and only what the process
 * itself has touched: the writable and anonymous mappings, page by page
 * as /proc/PID/pagemap shows them present or swapped out, each thread's
 * stack from its stack pointer (less the red zone) up. A page the process
 * never touched is not read, so it does not become resident: it reads as
 * zeros in an anonymous mapping, and is read from the mapped file after
 * the threads run again in a private file mapping.
 */
#ifndef GCSCOPE_LIVE_H
#define GCSCOPE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/** Copied bytes of one address range. */
struct live_segment {
	uint64_t start;        /* first address */
	uint64_t end;          /* one past the last address */
	unsigned char *data;   /* the bytes, start…end */
};

/** A buffer the segments point into, one per mapping copied. */
struct live_buffer {
	unsigned char *data;
	size_t len;
};

/** How a live copy is to be taken. */
struct live_request {
	bool stop;             /* stop all threads; without, the copy may be torn */
	double max_pause_ms;   /* > 0: give up rather than stop it longer */
};

struct live_copy {
	struct live_segment *segs;  /* sorted by address */
	size_t nsegs;
	struct live_buffer *bufs;
	size_t nbufs;
	char *maps;                 /* /proc/PID/maps as it was, NUL-ended */
	uint64_t entry;             /* AT_ENTRY of the executable */
	double pause_ms;            /* how long the threads were stopped */
	unsigned threads;           /* threads stopped */
	uint64_t bytes;             /* bytes copied while stopped */
	uint64_t file_bytes;        /* bytes read from mapped files after */
	uint64_t mapped;            /* bytes of the mappings considered */
	uint64_t stacks_skipped;    /* bytes of stacks below the pointers */
	const char *pagemap;        /* how the touched pages were told:
				       "scan" (PAGEMAP_SCAN), "read" (the
				       pagemap entries) or "none" (all of
				       each mapping was copied) */
	bool stopped;               /* false for --no-stop */
	uint64_t *sps;              /* stack pointers of the threads: read
				       while stopped, or with --no-stop of
				       those blocked in the kernel */
	size_t nsps;
	uint64_t *regs;             /* the general registers of the threads
				       stopped (TARGET_NREGS each, as
				       user_regs_struct), in sps order */
	size_t nregs;               /* threads whose registers were read */
};

/**
 * Copy the memory of process @p pid.
 *
 * @return NULL on success; ERR_INPUT for a process that is gone, cannot
 * be traced (with the reason and the fix as hint), is traced already, or
 * would have been stopped longer than req->max_pause_ms (it is let go
 * as soon as that is reached).
 */
struct err *live_copy(pid_t pid, const struct live_request *req,
		      struct live_copy *ret);

/** Release a copy. */
void live_copy_deinit(struct live_copy *c);

#endif /* GCSCOPE_LIVE_H */
