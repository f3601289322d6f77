/* SPDX-License-Identifier: MIT */
/**
 * @file pipeline.h
 *
 * A snapshot from start to end: open the target (a core, a running
 * process or a memory image), find CPython's layout in it, walk its heap,
 * run the analyses over the graph (cycles, reach from the roots, garbage,
 * refcount anomalies) and write all of it, with the meta rows, into a
 * database that appears under its name only when complete. The command
 * line, the fuzz targets and the tests take snapshots through this one
 * function.
 */
#ifndef GCSCOPE_PIPELINE_H
#define GCSCOPE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpython/layout.h"
#include "target/target.h"
#include "util/err.h"
#include "walk/heap.h"

#ifndef GCSCOPE_VERSION
#define GCSCOPE_VERSION "0.1.0"
#endif

/** Where the heap is read from. */
enum snapshot_source {
	SNAPSHOT_CORE,   /* a core file */
	SNAPSHOT_PID,    /* a running process */
	SNAPSHOT_IMAGE,  /* a memory image (unit tests, fuzzing) */
};

struct snapshot_options {
	enum snapshot_source source;
	const char *core;        /* SNAPSHOT_CORE: the core file */
	const char *exe;         /* SNAPSHOT_CORE: its executable, or NULL */
	const char *sysroot;     /* SNAPSHOT_CORE: its files under here first */
	int pid;                 /* SNAPSHOT_PID: the process */
	bool no_stop;            /* SNAPSHOT_PID: read it without stopping it */
	double max_pause_ms;     /* SNAPSHOT_PID: > 0: stop it no longer */
	const struct target_image *image;  /* SNAPSHOT_IMAGE */
	const char *const *debuginfo;  /* NULL-terminated directories, or NULL */
	bool no_default_debuginfo;     /* not /usr/lib/debug, not beside files */
	enum layout_choice layout;
	const struct heap_limits *limits;  /* NULL: heap_default_limits */
	const char *db;          /* the database to write; replaced */
	/*
	 * Where the lines for the user go: warnings, and unless quiet what
	 * was opened, the progress on a terminal and the summary. NULL:
	 * nowhere.
	 */
	FILE *log;
	bool quiet;
};

/** What the analyses found, for meta and the summary line. */
struct snapshot_analyses {
	double walk_ms;       /* walking the heap and writing its rows */
	double cycles_ms;     /* finding and writing the cycles */
	double reach_ms;      /* paths from the roots */
	double garbage_ms;    /* the collector's unreachable set, gc.garbage */
	double anomalies_ms;  /* refcount anomalies */
	size_t cycles;        /* reference cycles */
	size_t reachable;     /* objects a root reaches */
	size_t unreachable;   /* what the next full collection would free */
	size_t gc_garbage;    /* items of gc.garbage */
	size_t anomalies;     /* refcount anomalies suspected of a bug */
	size_t explained;     /* and those a holder found explains */
};

/** What a snapshot took and found. */
struct snapshot_result {
	double pause_ms;      /* SNAPSHOT_PID: how long the process was stopped */
	uint64_t copied;      /* SNAPSHOT_PID: bytes copied while it was */
	struct heap_stats walk;
	struct snapshot_analyses analyses;
	size_t nodes;         /* nodes of the heap graph */
	bool partial;         /* the core is truncated: the snapshot holds
				 what its file has */
	bool written;         /* the database is in place */
};

/**
 * Take a snapshot as @p o says and write it to o->db: to a temporary file
 * beside it, renamed into place only when complete.
 *
 * @param ret filled in, also on error (with what was done by then).
 * @return NULL if the database was written (ret->walk.truncated says
 * whether the walk was cut short); else the error, and no database.
 */
struct err *snapshot_take(const struct snapshot_options *o,
			  struct snapshot_result *ret);

#endif /* GCSCOPE_PIPELINE_H */
