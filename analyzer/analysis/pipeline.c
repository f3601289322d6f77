/* SPDX-License-Identifier: MIT */
/*
 * A snapshot from start to end (pipeline.h): target, layout, walk,
 * analyses, database.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/graph.h"
#include "analysis/pipeline.h"
#include "store/writer.h"

extern const char gcscope_schema[];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Progress on a terminal: objects walked and the rate, on one line.
struct progress {
	FILE *f;        /* the terminal */
	double start;   /* ms */
	double last;    /* ms of the last line */
	bool shown;     /* a line is on the terminal */
};

static void show_progress(void *arg, uint64_t objects, uint64_t edges)
{
	struct progress *p = arg;
	double now = now_ms();

	if (now - p->last < 250)
		return;
	p->last = now;
	p->shown = true;
	fprintf(p->f, "\r%" PRIu64 " objects, %" PRIu64 " references, "
		"%.0f objects/s ", objects, edges,
		objects / ((now - p->start) / 1e3 + 1e-9));
}

/*
 * @p lost: memory is missing from the snapshot (a truncated core), which
 * may hold references to any object: only a count lower than the
 * references found is an anomaly then.
 */
static struct err *write_analyses(struct db_writer *s, const struct heap_graph *g,
				  struct snapshot_analyses *as, bool lost)
{
	double t = now_ms();

	static const char *const anomaly_kinds[] = {
		[GRAPH_DEFICIT] = "deficit",
		[GRAPH_UNREFERENCED] = "unreferenced",
		[GRAPH_EXCESS] = "excess",
	};
	struct graph_reach reach;
	struct graph_anomaly *anomalies = NULL;
	uint8_t *unreachable = NULL;
	size_t nanomalies = 0;
	struct err *err;

	err = graph_reach(g, &reach);
	if (err)
		return err;
	for (size_t v = 0; v < g->nnodes && !err; v++) {
		uint32_t e = reach.via[v];

		if (reach.depth[v] == HEAP_NONE)
			continue;
		as->reachable++;
		err = db_writer_reach(s, v, reach.depth[v],
				 e == HEAP_NONE ? 0 : g->nodes[g->src[e]].addr,
				 e == HEAP_NONE ? 0 : (uint64_t)e + 1);
	}
	graph_reach_deinit(&reach);
	as->reach_ms = now_ms() - t;
	t = now_ms();
	if (!err)
		err = graph_unreachable(g, &unreachable);
	for (size_t v = 0; !err && v < g->nnodes; v++) {
		if (!unreachable[v])
			continue;
		as->unreachable++;
		err = db_writer_garbage(s, g->nodes[v].addr, "unreachable",
				   g->nodes[v].flags & HEAP_NODE_FINALIZE);
	}
	for (size_t i = 0; !err && i < g->ngarbage; i++) {
		const struct heap_node *x = &g->nodes[g->garbage[i]];

		as->gc_garbage++;
		err = db_writer_garbage(s, x->addr, "gc.garbage",
				   x->flags & HEAP_NODE_FINALIZE);
	}
	free(unreachable);
	as->garbage_ms = now_ms() - t;
	t = now_ms();
	if (!err)
		err = graph_anomalies(g, &anomalies, &nanomalies);
	as->anomalies = as->explained = 0;
	for (size_t i = 0; !err && i < nanomalies; i++) {
		const struct graph_anomaly *a = &anomalies[i];
		char detail[128] = "", cause[256] = "";

		if (lost && a->kind != GRAPH_DEFICIT)
			continue;
		if (a->explained) {
			as->explained++;
			err = db_writer_holder(s, g, a->holder_root,
					       a->holder_edge, cause,
					       sizeof(cause));
			if (!err && !cause[0])
				snprintf(cause, sizeof(cause), "?");
		} else {
			as->anomalies++;
		}
		uint32_t words = g->mem_words ? g->mem_words[a->node] :
				 UINT32_MAX;
		int64_t refcnt = g->nodes[a->node].refcnt;

		// Fewer pointers to it anywhere than its count: references
		// taken and never released, whatever the walk missed.
		if (!a->explained && a->kind != GRAPH_DEFICIT &&
		    words == 0 && refcnt > 0)
			snprintf(detail, sizeof(detail),
				 "no word of memory points at it: nothing holds "
				 "its count of %" PRId64, refcnt);
		else if (!a->explained && a->kind != GRAPH_DEFICIT &&
			 words != UINT32_MAX && (int64_t)words < refcnt)
			snprintf(detail, sizeof(detail),
				 "only %" PRIu32 " word%s of memory point%s at "
				 "it: %" PRId64 " of its count nothing holds",
				 words, words == 1 ? "" : "s",
				 words == 1 ? "s" : "", refcnt - words);
		else if (a->conservative && !a->explained)
			snprintf(detail, sizeof(detail),
				 "%" PRId64 " more possible references from "
				 "objects scanned conservatively",
				 a->conservative);
		if (!err)
			err = db_writer_anomaly(s, g->nodes[a->node].addr,
					anomaly_kinds[a->kind],
					g->nodes[a->node].refcnt,
					a->referrers,
					detail[0] ? detail : NULL,
					cause[0] ? cause : NULL);
	}
	as->anomalies_ms = now_ms() - t;
	free(anomalies);
	return err;
}

static struct err *write_meta(struct db_writer *s, struct target *t,
			      const struct layout *l,
			      const struct heap_stats *st,
			      const struct snapshot_analyses *as)
{
	char buf[64], when[32];
	time_t now = time(NULL);
	struct tm tm;
	long exe = target_executable(t);
	struct err *err = NULL;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
#define META(key, value)                                                     \
	do {                                                                 \
		if (!err)                                                    \
			err = db_writer_meta(s, key, value);                      \
	} while (0)
#define META_U64(key, value)                                                 \
	do {                                                                 \
		snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)(value));   \
		META(key, buf);                                              \
	} while (0)
	META("schema_version", "3");
	META("gcscope_version", GCSCOPE_VERSION);
	META("created_at", when);
	META("source", target_source(t));
	if (exe >= 0) {
		const struct target_module *m = target_module(t, exe);

		META("executable", m->path ? m->path : m->name);
	}
	META("libpython", l->module_path);
	META("python_version", l->version);
	META("layout_source", layout_source_name(l->source));
	if (l->debug_path)
		META("debuginfo", l->debug_path);
	META_U64("interpreters", st->interpreters);
	META_U64("gc_debug", st->gc_debug);
	META_U64("gc_collecting", st->gc_collecting);
	if (st->gc_enabled >= 0)
		META_U64("gc_enabled", st->gc_enabled);
	if (st->gc_generations) {
		snprintf(buf, sizeof(buf), "%" PRId32 ",%" PRId32 ",%" PRId32,
			 st->gc_threshold[0], st->gc_threshold[1],
			 st->gc_threshold[2]);
		META("gc_thresholds", buf);
		snprintf(buf, sizeof(buf), "%" PRId32 ",%" PRId32 ",%" PRId32,
			 st->gc_count[0], st->gc_count[1], st->gc_count[2]);
		META("gc_counts", buf);
	}
	META_U64("objects", st->objects);
	META_U64("tracked", st->tracked);
	META_U64("edges", st->edges);
	META_U64("types", st->types);
	META_U64("corrupt", st->corrupt);
	META_U64("unreadable", st->unreadable);
	META_U64("partial", st->partial);
	META_U64("cycles", as->cycles);
	META_U64("reachable", as->reachable);
	META_U64("unreachable", as->unreachable);
	META_U64("gc_garbage", as->gc_garbage);
	META_U64("anomalies", as->anomalies);
	META_U64("anomalies_explained", as->explained);
	// How long each part took, in milliseconds (make bench reads them).
	META_U64("time_walk_ms", as->walk_ms);
	META_U64("time_cycles_ms", as->cycles_ms);
	META_U64("time_reach_ms", as->reach_ms);
	META_U64("time_garbage_ms", as->garbage_ms);
	META_U64("time_anomalies_ms", as->anomalies_ms);
	if (st->first_problem[0])
		META("walk_problem", st->first_problem);
	META_U64("census", st->census);
	if (st->census_source)
		META("census_source", st->census_source);
	if (st->census_problem[0])
		META("census_problem", st->census_problem);
	META_U64("arena_objects", st->arena_objects);
	META_U64("pymalloc_arenas", st->pm_arenas);
	META_U64("pymalloc_pools", st->pm_pools);
	META_U64("pymalloc_arena_bytes", st->pm_arena_bytes);
	META_U64("pymalloc_used_bytes", st->pm_used_bytes);
	META_U64("pymalloc_free_bytes", st->pm_free_bytes);
	META_U64("pymalloc_object_bytes", st->pm_object_bytes);
	META_U64("pymalloc_buffer_bytes", st->pm_buffer_bytes);
	META_U64("pymalloc_unknown_bytes", st->pm_unknown_bytes);
	META_U64("pymalloc_dangling", st->pm_dangling);
	META_U64("time_census_ms", st->census_ms);
#undef META
#undef META_U64
	return err;
}

// What copying a live process took.
static struct err *write_live_meta(struct db_writer *s,
				   const struct live_copy *c, bool no_stop)
{
	struct {
		const char *key;
		uint64_t value;
	} rows[] = {
		{ "stopped", !no_stop },
		{ "threads_stopped", c->threads },
		{ "copied_bytes", c->bytes },
		{ "file_bytes", c->file_bytes },
		{ "mapped_bytes", c->mapped },
		{ "stack_bytes_skipped", c->stacks_skipped },
	};
	char buf[64];
	struct err *err;

	snprintf(buf, sizeof(buf), "%.3f", c->pause_ms);
	err = db_writer_meta(s, "pause_ms", buf);
	if (!err)
		err = db_writer_meta(s, "pagemap", c->pagemap);
	for (size_t i = 0; !err && i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(buf, sizeof(buf), "%" PRIu64, rows[i].value);
		err = db_writer_meta(s, rows[i].key, buf);
	}
	return err;
}

// Open the target o names; on a live process, say how long it was stopped.
static struct err *open_target(const struct snapshot_options *o,
			       struct snapshot_result *r, struct target **ret)
{
	const char *const none[] = { NULL };
	const char *const *dirs = o->debuginfo ? o->debuginfo : none;
	struct err *err;

	switch (o->source) {
	case SNAPSHOT_CORE:
		return target_open_core(o->core, o->exe, o->sysroot, dirs,
					!o->no_default_debuginfo, ret);
	case SNAPSHOT_PID: {
		struct live_request req = {
			.stop = !o->no_stop,
			.max_pause_ms = o->max_pause_ms,
		};
		const struct live_copy *c;

		err = target_open_pid(o->pid, &req, dirs,
				      !o->no_default_debuginfo, ret);
		if (err)
			return err;
		c = target_live(*ret);
		r->pause_ms = c->pause_ms;
		r->copied = c->bytes;
		if (o->log && !o->quiet)
			fprintf(o->log, "%s %d %s %.1f ms: %u threads, %.1f MiB "
				"copied (%.1f MiB mapped)\n",
				o->no_stop ? "read process" : "process",
				o->pid, o->no_stop ? "without stopping it in" :
				"stopped for", c->pause_ms, c->threads,
				c->bytes / 1048576.0, c->mapped / 1048576.0);
		return NULL;
	}
	case SNAPSHOT_IMAGE:
		return target_open_image(o->image, ret);
	}
	return err_create(ERR_USAGE, "no target to read");
}

// n bytes in KiB, rounded up, with thousands separators: "12,345".
static const char *kib(char *buf, uint64_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64,
			   n / 1024 + (n % 1024 != 0));
	char *out = buf;

	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			*out++ = ',';
		*out++ = digits[i];
	}
	*out = 0;
	return buf;
}

// What a truncated core lacks, for a warning or an error.
static void describe_truncation(const struct target_truncation *c,
				char *buf, size_t size)
{
	char missing[32], memory[32];

	if (c->missing)
		snprintf(buf, size, "%s of %s KiB of memory are not in the "
			 "file (from 0x%" PRIx64 " on)%s",
			 kib(missing, c->missing), kib(memory, c->memory),
			 c->missing_from, c->notes_cut ?
			 ", nor are its notes" : "");
	else if (c->notes_cut)
		snprintf(buf, size, "its notes are not all in the file (all "
			 "of its memory is)");
	else
		snprintf(buf, size, "%" PRIu64 " of %" PRIu64 " bytes of the "
			 "file are missing", c->file_want - c->file_have,
			 c->file_want);
}

// Whether every page of [addr, addr + size) is in the snapshot.
static bool all_readable(struct target *t, uint64_t addr, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += 4096) {
		if (!target_contains(t, addr + off))
			return false;
	}
	return target_contains(t, addr + size - 1);
}

/*
 * A layout that failed on a truncated core: the runtime's memory is not
 * in it, which is the one thing to say; or else whatever failed, with
 * what is missing.
 */
static struct err *truncated_error(struct target *t, struct err *err,
				   const struct target_truncation *cut)
{
	char what[200];
	uint64_t addr, size;

	// The runtime (3.7+), or in 3.6 the collector's and the
	// interpreters' statics (Modules/gcmodule.c, Python/pystate.c).
	static const char *const anchors[] = {
		"_PyRuntime", "_PyGC_generation0", "interp_head",
	};

	describe_truncation(cut, what, sizeof(what));
	for (size_t i = 0; i < sizeof(anchors) / sizeof(*anchors); i++) {
		if (!target_symbol(t, anchors[i], &addr, &size, NULL) ||
		    !size || size >= (1u << 24) || all_readable(t, addr, size))
			continue;
		err_destroy(err);
		err = err_create(ERR_INPUT, "the core is truncated: the "
				 "interpreter's %s (%s, 0x%" PRIx64 ") is "
				 "not all in it; %s", i ? "state" : "runtime",
				 anchors[i], addr, what);
		return err_hint(err, "take a complete core");
	}
	// The library that holds them may be mapped past the cut.
	if (err->code == ERR_NOTPYTHON) {
		err_destroy(err);
		err = err_create(ERR_INPUT, "the core is truncated: no module "
				 "in it holds the interpreter's runtime "
				 "(_PyRuntime; in 3.6 _PyGC_generation0 and "
				 "interp_head); %s", what);
		return err_hint(err, "take a complete core");
	}
	return err_hint(err, "the core is truncated: %s; take a complete one",
			what);
}

// The layout of t, or an error with a hint at what to do.
static struct err *find_layout(const struct snapshot_options *o,
			       struct target *t, struct layout *l)
{
	struct target_truncation cut;
	struct err *err;

	err = layout_init(l, t, o->layout);
	// Files not found or of another build, not used (the error names
	// one it needed).
	for (size_t i = 0; !err && o->log && i < target_num_modules(t); i++) {
		const struct target_module *m = target_module(t, i);

		if (m->rejected)
			fprintf(o->log, "warning: '%s' is not the file the "
				"core maps as '%s': its build-id is %s, the "
				"core's %s; not used\n", m->rejected, m->name,
				m->rejected_build_id,
				m->build_id ? m->build_id : "?");
		else if (!m->path && m->name[0] == '/' &&
			 o->source == SNAPSHOT_CORE)
			fprintf(o->log, "warning: the core names '%s', which "
				"is not on this machine: what the core lacks of "
				"it cannot be read (see --sysroot)\n", m->name);
	}
	if (err && target_truncation(t, &cut))
		return truncated_error(t, err, &cut);
	if (err && err->code == ERR_NOTPYTHON && !err->hint) {
		long exe = target_executable(t);

		if (exe >= 0)
			err_hint(err, "'%s' is not a CPython interpreter",
				 target_module(t, exe)->name);
	}
	if (err || !o->log || o->quiet)
		return err;
	long exe = target_executable(t);

	fprintf(o->log, "%s: %s, Python %s in %s, layout from %s\n",
		target_source(t),
		exe >= 0 ? target_module(t, exe)->name : "?",
		l->version, l->module_path,
		l->source != LAYOUT_DWARF ? layout_source_name(l->source) :
		l->debug_path ? l->debug_path : "its own DWARF");
	return NULL;
}

// What a snapshot of a truncated core says in meta.
static struct err *write_truncation(struct db_writer *s, struct target *t)
{
	struct target_truncation c;
	bool truncated = target_truncation(t, &c);
	struct err *err = db_writer_meta(s, "core_truncated",
					 truncated ? "1" : "0");
	char buf[32];

#define META_U64(key, value)                                                 \
	do {                                                                 \
		snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)(value));   \
		if (!err)                                                    \
			err = db_writer_meta(s, key, buf);                   \
	} while (0)
	if (!truncated)
		return err;
	META_U64("core_file_bytes", c.file_have);
	META_U64("core_file_wanted_bytes", c.file_want);
	META_U64("memory_bytes", c.memory);
	META_U64("memory_missing_bytes", c.missing);
	META_U64("notes_missing", c.notes_cut);
#undef META_U64
	snprintf(buf, sizeof(buf), "0x%" PRIx64, c.missing_from);
	if (!err && c.missing)
		err = db_writer_meta(s, "memory_missing_from", buf);
	return err;
}

// The collector's state: whether it collects by itself, and when it would.
static void print_collector(FILE *f, const struct heap_stats *st)
{
	if (st->gc_enabled < 0 && !st->gc_generations)
		return;
	fprintf(f, "collector: %s", st->gc_enabled == 1 ? "enabled" :
		    st->gc_enabled == 0 ? "disabled (gc.disable())" :
		    "enabled or not (unknown)");
	if (st->gc_generations)
		fprintf(f, ", thresholds %" PRId32 ",%" PRId32 ",%" PRId32
			   ", counts %" PRId32 ",%" PRId32 ",%" PRId32,
			st->gc_threshold[0], st->gc_threshold[1],
			st->gc_threshold[2], st->gc_count[0], st->gc_count[1],
			st->gc_count[2]);
	if (st->gc_enabled == 1 && st->gc_generations &&
	    st->gc_threshold[0] == 0)
		fputs(" (threshold 0: no automatic collection)", f);
	putc('\n', f);
}

// What the log says after a snapshot was written.
static void print_summary(const struct snapshot_options *o,
			  struct target *t, const struct layout *l,
			  const struct snapshot_result *r)
{
	const struct heap_stats *st = &r->walk;
	const struct snapshot_analyses *as = &r->analyses;
	struct target_truncation cut;
	bool truncated = target_truncation(t, &cut);
	FILE *f = o->log;

	if (truncated) {
		char what[200];

		describe_truncation(&cut, what, sizeof(what));
		fprintf(f, "warning: the core is truncated: %s; %" PRIu64
			" objects could not be read, %" PRIu64 " only in part "
			"(objects.status 'partial')\n", what, st->unreadable,
			st->partial);
	}
	if (st->truncated)
		fprintf(f, "warning: the walk was cut short: %s\n",
			st->first_problem);
	if (st->gc_collecting)
		fprintf(f, "warning: a collection was running when the "
			   "snapshot was taken; the lists may be partial\n");
	if (st->corrupt)
		fprintf(f, "warning: %" PRIu64 " objects are corrupt or "
			   "unreadable (objects.status)\n", st->corrupt);
	if (!st->census)
		fprintf(f, "warning: no census of pymalloc's arenas: %s\n",
			st->census_problem);
	else if (st->census_problem[0])
		fprintf(f, "warning: pymalloc's arenas: %s\n",
			st->census_problem);
	if (!o->quiet)
		print_collector(f, st);
	if (!o->quiet)
		fprintf(f,
			"Python %s (%s layout): %" PRIu64 " objects, %" PRIu64
			" tracked, %" PRIu64 " references, %zu cycles, %zu "
			"unreachable, %zu in gc.garbage, %zu refcount anomalies "
			"(suspected bugs; %zu more explained), "
			"%" PRIu64 " found in pymalloc's arenas only -> %s\n",
			l->version, layout_source_name(l->source), st->objects,
			st->tracked, st->edges, as->cycles, as->unreachable,
			as->gc_garbage, as->anomalies, as->explained,
			st->arena_objects, o->db);
}

struct err *snapshot_take(const struct snapshot_options *o,
			  struct snapshot_result *r)
{
	struct target *t = NULL;
	struct db_writer *s = NULL;
	struct layout l = { .dwarf = NULL };
	struct heap_graph g = { 0 };
	struct graph_cycles cycles = { 0 };
	struct snapshot_analyses *as = &r->analyses;
	struct heap_stats *st = &r->walk;
	struct progress progress = { 0 };
	struct target_truncation cut = { 0 };
	double t0;
	struct err *err;

	memset(r, 0, sizeof(*r));
	// A destination the database cannot go to is refused before the
	// target is opened: a live process is not paused for nothing.
	char *dest;
	mode_t mode;

	err = db_destination(o->db, &dest, &mode);
	free(dest);
	if (!err)
		err = open_target(o, r, &t);
	if (!err)
		err = find_layout(o, t, &l);
	if (!err)
		r->partial = target_truncation(t, &cut);
	if (!err)
		err = db_writer_create(o->db, gcscope_schema, &s);
	if (err)
		goto out;
	struct heap_consumer consumer = {
		.arg = s,
		.type = db_writer_type,
		.object = db_writer_object,
		.edge = db_writer_edge,
		.root = db_writer_root,
		.arena = db_writer_arena,
		.pool = db_writer_pool,
		.usage = db_writer_usage,
	};

	t0 = now_ms();
	progress = (struct progress){ .f = o->log, .start = t0, .last = t0 };
	if (o->log && !o->quiet && isatty(fileno(o->log))) {
		consumer.progress = show_progress;
		consumer.progress_arg = &progress;
	}
	err = heap_walk(t, &l, o->limits, &consumer, &g, st);
	r->nodes = g.nnodes;
	if (progress.shown && !err)
		fprintf(o->log, "\r\033[K%" PRIu64 " objects, %" PRIu64
			" references walked; analysing and writing the "
			"database ", st->objects, st->edges);
	if (err)
		goto out;
	as->walk_ms = now_ms() - t0;
	t0 = now_ms();
	err = graph_cycles(&g, &cycles);
	for (size_t i = 0; i < g.nnodes && !err; i++) {
		if (cycles.cycle[i])
			err = db_writer_cycle(s, i, cycles.cycle[i]);
	}
	as->cycles = cycles.ncycles;
	as->cycles_ms = now_ms() - t0;
	if (!err)
		err = write_analyses(s, &g, as, r->partial && cut.missing);
	if (!err)
		err = write_meta(s, t, &l, st, as);
	if (!err && o->source == SNAPSHOT_PID)
		err = write_live_meta(s, target_live(t), o->no_stop);
	if (!err && o->source == SNAPSHOT_CORE)
		err = write_truncation(s, t);
	if (!err)
		err = db_writer_finish(s, &g);
	r->written = !err;
out:
	if (progress.shown)
		fprintf(o->log, "\r\033[K");
	if (!err && o->log)
		print_summary(o, t, &l, r);
	graph_cycles_deinit(&cycles);
	heap_graph_deinit(&g);
	db_writer_destroy(s);
	layout_deinit(&l);
	target_destroy(t);
	return err;
}
