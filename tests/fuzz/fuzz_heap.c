/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a whole snapshot of a memory image (image.h) — the layout
 * checks, the heap walker with the decoders of every object kind, the
 * collector's lists and the roots, the analyses, and the database writer
 * — with every byte chosen by the fuzzer. Whatever the memory holds, the
 * snapshot must end, not crash, and whatever the walk found must go into
 * the database: the writer may not fail on it.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/pipeline.h"
#include "image.h"
#include "store/reader.h"

// Where each input's database is written and removed: memory, if /dev/shm
// is there.
static const char *db_path(void)
{
	static char path[64];

	if (!path[0])
		snprintf(path, sizeof(path), "%s/gcscope-fuzz-%ld.db",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 (long)getpid());
	return path;
}

// The database must be one SQLite reads back whole.
static void check_database(const char *path)
{
	struct db_reader *db;
	struct db_query *q = NULL;
	struct err *err;
	bool row = false;

	err = db_reader_open(path, &db);
	if (!err)
		err = db_query_create(db, "PRAGMA integrity_check", &q);
	if (!err)
		err = db_query_step(q, &row);
	if (err || !row || strcmp(db_query_text(q, 0), "ok")) {
		fprintf(stderr, "the database written is not sound: %s\n",
			err ? err->message : row ? db_query_text(q, 0) :
			"no answer");
		abort();
	}
	db_query_destroy(q);
	db_reader_destroy(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	// Smaller caps than a real snapshot: the fuzzer wants many runs.
	static const struct heap_limits limits = {
		.max_objects = 200000,
		.max_items = 100000,
	};
	// FUZZ_VERBOSE=1: one line per input, for the replay in make test,
	// and each database read back.
	static int verbose = -1;
	struct image im;
	struct snapshot_result r;
	struct err *err;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (image_parse(&im, data, size))
		return 0;
	struct snapshot_options o = {
		.source = SNAPSHOT_IMAGE,
		.image = &im.target,
		.layout = LAYOUT_CHOOSE_AUTO,
		.limits = &limits,
		.db = db_path(),
	};

	err = snapshot_take(&o, &r);
	// The walk may refuse a heap; the writer may not refuse a walk.
	if (err && (err->code == ERR_SQLITE || err->code == ERR_OS)) {
		fprintf(stderr, "the database could not be written: %s\n",
			err->message);
		abort();
	}
	if (r.written && r.walk.objects != r.nodes)
		abort(); // every object reported is a node
	if (!r.written && access(o.db, F_OK) == 0)
		abort(); // a failed snapshot leaves no database
	if (r.written && verbose)
		check_database(o.db);
	if (verbose && err)
		printf("3.%u: error: %s\n", im.minor, err->message);
	else if (verbose)
		printf("3.%u: %" PRIu64 " objects, %" PRIu64 " tracked, %"
		       PRIu64 " references, %" PRIu64 " types, %" PRIu64
		       " corrupt%s%s\n", im.minor, r.walk.objects,
		       r.walk.tracked, r.walk.edges, r.walk.types,
		       r.walk.corrupt, r.walk.first_problem[0] ? "; " : "",
		       r.walk.first_problem);
	unlink(o.db);
	err_destroy(err);
	image_deinit(&im);
	return 0;
}
