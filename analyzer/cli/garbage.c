/* SPDX-License-Identifier: MIT */
/*
 * gcscope garbage and gcscope leaks: two lists each, by type, then the
 * objects: the garbage table, and the anomalies table (the refcount
 * anomalies, which the leaks command lists).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

/* garbage */

/*
 * Why the collector frees nothing by itself, from meta: gc.disable(), or
 * a threshold of 0 for generation 0 (gc.set_threshold(0)); NULL if it
 * collects (or the snapshot does not say).
 */
static struct err *collector_off(struct report *rp, const char **why_ret)
{
	int64_t enabled, threshold;
	struct err *err;

	*why_ret = NULL;
	err = query_int(rp, "SELECT CAST(value AS INTEGER) FROM meta "
			    "WHERE key = 'gc_enabled'", NULL, &enabled);
	if (!err)
		err = query_int(rp, "SELECT CAST(value AS INTEGER) FROM meta "
				    "WHERE key = 'gc_thresholds'", NULL,
				&threshold);
	if (err)
		return err;
	if (enabled == 0)
		*why_ret = "the collector is disabled (gc.disable())";
	else if (threshold == 0)
		*why_ret = "automatic collection is off (gc.set_threshold(0))";
	return NULL;
}

struct err *report_garbage(struct report *rp, bool *found_ret)
{
	(void)found_ret;
	static const char *const type_names[] = {
		"reason", "type", "objects", "bytes", "finalizers", "type_addr",
	};
	static const enum column_kind type_kinds[] = {
		COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE, COL_ADDR,
	};
	static const char *const object_names[] = {
		"reason", "addr", "type", "size", "finalizer", "repr",
	};
	static const enum column_kind object_kinds[] = {
		COL_VALUE, COL_ADDR, COL_VALUE, COL_VALUE, COL_FLAG, COL_VALUE,
	};
	static const char *const total_names[] = {
		"reason", "objects", "bytes", "finalizers",
	};
	struct table totals, types = { 0 }, objects = { 0 };
	const char *off;
	struct err *err;

	err = need_version(rp, 2, "garbage table");
	if (!err)
		err = collector_off(rp, &off);
	if (err)
		return err;
	err = query_table(rp, &totals,
			  "SELECT g.reason, count(*), total(o.size), "
			  "sum(g.finalizer) FROM garbage g "
			  "LEFT JOIN objects o ON o.addr = g.addr "
			  "GROUP BY g.reason ORDER BY g.reason",
			  4, total_names, NULL, 0, NULL);
	if (err)
		return err;
	err = query_table(rp, &types,
			  "SELECT g.reason, o.type, count(*), sum(o.size), "
			  "sum(g.finalizer), o.type_addr FROM garbage g "
			  "LEFT JOIN objects o ON o.addr = g.addr "
			  "GROUP BY g.reason, o.type_addr "
			  "ORDER BY g.reason, sum(o.size) DESC, count(*) DESC, "
			  "o.type",
			  6, type_names, type_kinds, rp->o->limit, NULL);
	if (err)
		goto out;
	err = query_table(rp, &objects,
			  "SELECT g.reason, g.addr, o.type, o.size, "
			  "g.finalizer, o.repr FROM garbage g "
			  "LEFT JOIN objects o ON o.addr = g.addr "
			  "ORDER BY g.reason, g.rowid",
			  6, object_names, object_kinds, rp->o->limit, NULL);
	if (err)
		goto out;
	// In text, a line per reason first: what it comes to.
	int64_t unreachable = 0;

	for (size_t r = 0; r < totals.nrows; r++) {
		const struct cell *c = &totals.cells[r * 4];
		bool u = c[0].kind == CELL_TEXT &&
			 !strcmp(c[0].text, "unreachable");

		if (u)
			unreachable = c[1].i;
		if (rp->o->json)
			continue;
		fprintf(rp->out, "%s: %" PRId64 " objects, %.0f bytes, %"
			PRId64 " with a finalizer%s\n",
			c[0].kind == CELL_TEXT ? c[0].text : "-", c[1].i,
			c[2].kind == CELL_REAL ? c[2].real : 0.0, c[3].i,
			!u ? "" : off ? " (gc.collect() would free them)" :
			" (the next collection would free them)");
	}
	// Unreachable objects the collector will not free by itself.
	if (off && unreachable)
		fprintf(rp->o->json ? rp->notes : rp->out,
			"%s%s: nothing is collected automatically; these %"
			PRId64 " objects stay until gc.collect() is called\n",
			rp->o->json ? "note: " : "", off, unreachable);
	if (!rp->o->json && totals.nrows)
		putc('\n', rp->out);
	err = print_two_lists(rp, &types, &objects,
			      "no garbage recorded: gc.garbage is empty and "
			      "the next collection would free nothing");
out:
	table_deinit(&totals);
	table_deinit(&types);
	table_deinit(&objects);
	return err;
}

/* leaks: the anomalies table */

struct err *report_anomalies(struct report *rp, bool *found_ret)
{
	(void)found_ret;
	static const char *const type_names[] = {
		"type", "kind", "objects", "refs", "type_addr", "suspected",
	};
	static const enum column_kind type_kinds[] = {
		COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE, COL_ADDR, COL_VALUE,
	};
	static const char *const object_names[] = {
		"kind", "addr", "type", "refcnt", "referrers", "difference",
		"repr", "detail", "cause",
	};
	static const enum column_kind object_kinds[] = {
		COL_VALUE, COL_ADDR, COL_VALUE, COL_VALUE, COL_VALUE,
		COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE,
	};
	struct table types, objects = { 0 };
	// Schema 4 names what explains an anomaly (cause); before, every
	// anomaly recorded was suspected.
	const bool causes = db_reader_version(rp->db) >= 4;
	const bool all = rp->o->all && causes;
	int64_t explained = 0;
	struct err *err;

	err = need_version(rp, 2, "anomalies table");
	if (err)
		return err;
	if (causes)
		err = query_int(rp, "SELECT count(*) FROM anomalies WHERE "
			       "cause IS NOT NULL", NULL, &explained);
	if (err)
		return err;
	err = query_table(rp, &types,
			  all ? "SELECT type, kind, objects, refs, type_addr, "
				"suspected FROM anomaly_types" :
			  causes ? "SELECT type, kind, objects, refs, type_addr "
				   "FROM anomaly_types WHERE suspected" :
			  "SELECT type, kind, objects, refs, type_addr "
			  "FROM anomaly_types",
			  all ? 6 : 5, type_names, type_kinds, rp->o->limit,
			  NULL);
	if (err)
		return err;
	err = query_table(rp, &objects,
			  all ? "SELECT a.kind, a.addr, o.type, a.refcnt, "
				"a.referrers, a.refcnt - a.referrers, o.repr, "
				"a.detail, a.cause FROM anomalies a "
				"LEFT JOIN objects o ON o.addr = a.addr "
				"ORDER BY a.cause IS NOT NULL, a.kind, "
				"abs(a.refcnt - a.referrers) DESC, a.addr" :
			  causes ? "SELECT a.kind, a.addr, o.type, a.refcnt, "
				   "a.referrers, a.refcnt - a.referrers, "
				   "o.repr, a.detail FROM anomalies a "
				   "LEFT JOIN objects o ON o.addr = a.addr "
				   "WHERE a.cause IS NULL "
				   "ORDER BY a.kind, abs(a.refcnt - "
				   "a.referrers) DESC, a.addr" :
			  "SELECT a.kind, a.addr, o.type, a.refcnt, "
			  "a.referrers, a.refcnt - a.referrers, o.repr, "
			  "a.detail FROM anomalies a "
			  "LEFT JOIN objects o ON o.addr = a.addr "
			  "ORDER BY a.kind, abs(a.refcnt - a.referrers) DESC, "
			  "a.addr",
			  all ? 9 : 8, object_names, object_kinds,
			  rp->o->limit, NULL);
	if (!err)
		err = print_two_lists(rp, &types, &objects,
				      explained ?
				      "no suspected anomalies: what the "
				      "references found leave of each count, "
				      "a holder explains" :
				      "no anomalies recorded: the references "
				      "found explain every reference count");
	if (!err && explained && !all)
		fprintf(rp->o->json ? rp->notes : rp->out,
			"%s%" PRId64 " more anomalies explained by a holder "
			"(a C stack, a static, a runtime struct, an object "
			"scanned conservatively): --all shows them\n",
			rp->o->json ? "note: " : "", explained);
	table_deinit(&types);
	table_deinit(&objects);
	return err;
}
