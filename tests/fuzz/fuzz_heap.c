/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the layout checks, the heap walker and the analyses over a
 * memory image (image.h) — the decoders of every object kind, the
 * collector's lists, the roots — with every byte chosen by the fuzzer.
 * Whatever the memory holds, the walk must end, not crash, and give the
 * analyses a graph they can take.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/graph.h"
#include "walk/heap.h"
#include "image.h"
#include "cpython/layout.h"
#include "target/target.h"

static struct err *on_type(void *arg, const struct heap_type *type)
{
	(void)arg;
	(void)type;
	return NULL;
}

static struct err *on_object(void *arg, const struct heap_object *o)
{
	size_t *n = arg;

	(void)o;
	(*n)++;
	return NULL;
}

static struct err *on_edge(void *arg, const struct heap_edge *e)
{
	(void)arg;
	(void)e;
	return NULL;
}

static struct err *on_root(void *arg, const struct heap_root *r)
{
	(void)arg;
	(void)r;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	// Smaller caps than a real snapshot: the fuzzer wants many runs.
	static const struct heap_limits limits = {
		.max_objects = 200000,
		.max_items = 100000,
	};
	struct image im;
	struct target *t = NULL;
	struct layout l;
	struct heap_graph g = { 0 };
	struct heap_stats st;
	size_t objects = 0;
	struct heap_consumer consumer = {
		.arg = &objects,
		.type = on_type,
		.object = on_object,
		.edge = on_edge,
		.root = on_root,
	};
	struct err *err;

	if (image_parse(&im, data, size))
		return 0;
	err = target_open_image(&im.target, &t);
	if (!err)
		err = layout_init(&l, t, LAYOUT_CHOOSE_AUTO);
	if (!err)
		err = heap_walk(t, &l, &limits, &consumer, &g, &st);
	if (!err) {
		struct graph_cycles c = { 0 };
		struct graph_reach r = { 0 };
		struct graph_anomaly *an = NULL;
		uint8_t *unreachable = NULL;
		size_t nan = 0;

		if (objects != g.nnodes || st.objects != g.nnodes)
			abort(); // every object reported is a node
		err = graph_cycles(&g, &c);
		if (!err)
			err = graph_reach(&g, &r);
		if (!err)
			err = graph_unreachable(&g, &unreachable);
		if (!err)
			err = graph_anomalies(&g, &an, &nan);
		free(an);
		free(unreachable);
		graph_reach_deinit(&r);
		graph_cycles_deinit(&c);
		heap_graph_deinit(&g);
	}
	// FUZZ_VERBOSE=1: one line per input, for the replay in make test.
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose && err)
		printf("3.%u: error: %s\n", im.minor, err->message);
	else if (verbose)
		printf("3.%u: %" PRIu64 " objects, %" PRIu64 " tracked, %"
		       PRIu64 " references, %" PRIu64 " types, %" PRIu64
		       " corrupt%s%s\n", im.minor, st.objects, st.tracked,
		       st.edges, st.types, st.corrupt,
		       st.first_problem[0] ? "; " : "", st.first_problem);
	err_destroy(err);
	target_destroy(t);
	image_deinit(&im);
	return 0;
}
