/* SPDX-License-Identifier: MIT */
/**
 * @file live.h
 *
 * A copy of a live process's memory, taken with all its threads stopped
 * for as short a time as the copy takes: each thread is seized and
 * interrupted with ptrace (no signal the program can see), the writable
 * and anonymous mappings are copied with process_vm_readv, and every
 * thread is let go again on every path, errors and our own signals
 * included. The target's memory is never written.
 */
#ifndef GCSCOPE_LIVE_H
#define GCSCOPE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/** Copied bytes of one mapping. */
struct live_segment {
	uint64_t start;        /* first address */
	uint64_t end;          /* one past the last address copied */
	unsigned char *data;   /* the bytes, start…end */
	size_t mapped;         /* bytes mapped at data (the whole mapping) */
};

struct live_copy {
	struct live_segment *segs;  /* sorted by address */
	size_t nsegs;
	char *maps;                 /* /proc/PID/maps as it was, NUL-ended */
	uint64_t entry;             /* AT_ENTRY of the executable */
	double pause_ms;            /* how long the threads were stopped */
	unsigned threads;           /* threads stopped */
	uint64_t bytes;             /* bytes copied */
	bool stopped;               /* false for --no-stop */
	uint64_t sps[64];           /* stack pointers of the threads: read
				       while stopped, or with --no-stop of
				       those blocked in the kernel */
	size_t nsps;
};

/**
 * Copy the memory of process @p pid.
 *
 * @param stop stop all threads while copying; without it the copy may be
 * torn.
 * @return NULL on success; ERR_INPUT for a process that is gone, cannot
 * be traced (with the reason and the fix as hint) or is traced already.
 */
struct err *live_copy(pid_t pid, bool stop, struct live_copy *ret);

/** Release a copy. */
void live_copy_deinit(struct live_copy *c);

#endif /* GCSCOPE_LIVE_H */
