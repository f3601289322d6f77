/* SPDX-License-Identifier: MIT */
/*
 * gcscope path: the shortest chain of references from a root to an
 * object.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

enum {
	MAX_PATH_STEPS = 1 << 20,  // reach chains longer than this are broken
};

static struct err *not_reachable(struct report *rp, bool *found_ret)
{
	int64_t addr = (int64_t)rp->o->addr, reach_rows;
	struct table t;
	struct err *err;
	FILE *f = rp->o->json ? rp->notes : rp->out;
	static const char *const names[] = { "type", "repr", "reason" };

	*found_ret = false;
	err = query_int(rp, "SELECT EXISTS (SELECT 1 FROM reach)", NULL,
			&reach_rows);
	if (!err)
		err = query_table(rp, &t,
				  "SELECT o.type, o.repr, (SELECT g.reason "
				  "FROM garbage g WHERE g.addr = o.addr "
				  "ORDER BY g.reason LIMIT 1) "
				  "FROM objects o WHERE o.addr = ?",
				  3, names, NULL, 1, &addr);
	if (err)
		return err;
	const struct cell *c = t.nrows ? t.cells : NULL;
	char *type = c ? cell_render(&c[0], COL_VALUE, "?") : NULL;
	char *repr = c && c[1].kind == CELL_TEXT ? display(c[1].text) : NULL;
	const char *reason = c && c[2].kind == CELL_TEXT ? c[2].text : NULL;

	if (rp->o->json)
		fputs("[]\n", rp->out);
	fprintf(f, "%#" PRIx64 " %s%s%s is not reachable from any root",
		rp->o->addr, type ? type : "?", repr ? " " : "",
		repr ? repr : "");
	if (reason && !strcmp(reason, "gc.garbage"))
		fputs("; it is in gc.garbage", f);
	else if (reason)
		fputs("; it is garbage: the next collection would free it", f);
	if (!reach_rows)
		fputs(" (the reach table is empty: the snapshot records no "
		      "roots)", f);
	putc('\n', f);
	free(type);
	free(repr);
	table_deinit(&t);
	return NULL;
}

struct err *report_path(struct report *rp, bool *found_ret)
{
	static const char *const names[] = {
		"depth", "label", "step", "->", "addr", "type", "repr",
	};
	static const enum column_kind kinds[] = {
		COL_JSON_ONLY, COL_JSON_ONLY, COL_TEXT_ONLY, COL_TEXT_ONLY,
		COL_ADDR, COL_VALUE, COL_VALUE,
	};
	static const char *const step_names[] = {
		"depth", "via", "label", "step", "type", "repr",
	};
	static const struct text_style path_style = {
		.indent = "",
		.null_text = "-",
	};
	struct db_query *q = NULL;
	struct table steps = { 0 }, path = { 0 };
	struct err *err;
	int64_t addr = (int64_t)rp->o->addr;

	err = need_version(rp, 2, "reach table");
	if (!err)
		err = need_object(rp);
	if (err)
		return err;
	// From ADDR towards the root, one step per reach row, each one
	// closer: depth goes down by one until 0.
	err = db_query_create(rp->db,
				"SELECT r.depth, r.via, r.label, CASE WHEN "
				"r.depth > 0 AND r.label GLOB '[A-Za-z_]*' "
				"THEN '.' || r.label ELSE r.label END, o.type, "
				"o.repr FROM reach r LEFT JOIN objects o "
				"ON o.addr = r.addr WHERE r.addr = ?", &q);
	if (!err)
		err = table_init(&steps, 6, step_names, NULL, q, 0);
	if (err)
		goto out;
	for (int64_t at = addr;;) {
		size_t before = steps.nrows;
		const struct cell *c;

		db_query_reset(q);
		db_query_bind_int64(q, 1, at);
		err = table_fill(&steps, q);
		if (err)
			goto out;
		if (steps.nrows == 0) {
			err = not_reachable(rp, found_ret);
			goto out;
		}
		c = &steps.cells[(steps.nrows - 1) * 6];
		if (steps.nrows != before + 1 || c[0].kind != CELL_INT ||
		    c[0].i < 0 ||
		    (before && c[0].i != c[-6].i - 1) ||
		    (c[0].i > 0 && c[1].kind != CELL_INT) ||
		    steps.nrows > MAX_PATH_STEPS) {
			err = err_create(ERR_INPUT, "the reach table of '%s' "
					 "is inconsistent at %#" PRIx64,
					 db_reader_path(rp->db), (uint64_t)at);
			goto out;
		}
		if (c[0].i == 0)
			break;
		at = c[1].i;
	}
	err = table_init(&path, 7, names, kinds, NULL, 0);
	for (size_t k = steps.nrows; !err && k-- > 0;) {
		const struct cell *c = &steps.cells[k * 6];
		int64_t step_addr = k ? steps.cells[(k - 1) * 6 + 1].i : addr;
		struct cell *row;

		err = table_add(&path, &row);
		if (err)
			break;
		cell_int(&row[0], c[0].i);
		err = cell_text(&row[1], c[2].text);
		if (!err)
			err = cell_text(&row[2], c[3].text);
		if (!err)
			err = cell_text(&row[3], "->");
		cell_int(&row[4], step_addr);
		if (!err)
			err = cell_text(&row[5], c[4].text);
		if (!err)
			err = cell_text(&row[6], c[5].text);
	}
	if (err)
		goto out;
	*found_ret = true;
	if (rp->o->json) {
		table_print_json(&path, rp->out);
		putc('\n', rp->out);
	} else {
		err = table_print_text(&path, rp->out, &path_style);
	}
out:
	db_query_destroy(q);
	table_deinit(&steps);
	table_deinit(&path);
	return err;
}
