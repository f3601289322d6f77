/* SPDX-License-Identifier: MIT */
/*
 * gcscope cycles: the reference cycles, a block per cycle.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

static const char *yes_no(const struct cell *c, bool known)
{
	if (!known || c->kind != CELL_INT)
		return "?";
	return c->i ? "yes" : "no";
}

// The types of a cycle, comma-separated as cycle_summary has them: in
// text the first few, and how many more.
static void print_types(FILE *f, const struct cell *c)
{
	enum { TYPES_SHOWN = 8 };
	const char *s = c->kind == CELL_TEXT ? c->text : "-";
	const char *cut = s;
	size_t commas = 0, more = 0;

	for (const char *p = s; *p; p++) {
		if (*p != ',')
			continue;
		if (++commas == TYPES_SHOWN)
			cut = p;
		if (commas >= TYPES_SHOWN)
			more++;
	}
	if (commas < TYPES_SHOWN)
		fputs(s, f);
	else
		fprintf(f, "%.*s and %zu more", (int)(cut - s), s, more);
}

struct err *report_cycles(struct report *rp, bool *found_ret)
{
	(void)found_ret;
	static const char *const summary_names[] = {
		"cycle_id", "members", "types", "reachable", "garbage",
		"has_finalizer",
	};
	static const char *const member_names[] = { "addr", "type", "repr" };
	static const enum column_kind member_kinds[] = {
		COL_ADDR, COL_VALUE, COL_VALUE,
	};
	static const char *const edge_names[] = {
		"src", "src_type", "label", "label", "->", "dst", "dst_type",
	};
	static const enum column_kind edge_kinds[] = {
		COL_ADDR, COL_VALUE, COL_JSON_ONLY, COL_TEXT_ONLY,
		COL_TEXT_ONLY, COL_ADDR, COL_VALUE,
	};
	static const struct text_style block_style = {
		.indent = "  ",
		.null_text = "-",
	};
	const struct report_options *o = rp->o;
	bool v2 = db_reader_version(rp->db) >= 2;
	struct db_query *q;
	struct table summary, members = { 0 }, edges = { 0 };
	struct err *err;
	int64_t reach_rows = 0;

	if (o->garbage_only) {
		err = need_version(rp, 2, "garbage table");
		if (err)
			return err;
	}
	if (v2) {
		err = query_int(rp, "SELECT EXISTS (SELECT 1 FROM reach)", NULL,
				&reach_rows);
		if (err)
			return err;
	}
	// Types match by tp_name or by module.name.
	static const char sql_v2[] =
		"SELECT cycle_id, members, types, reachable, garbage, "
		"has_finalizer FROM cycle_summary "
		"WHERE (?1 = 0 OR garbage) AND (?2 IS NULL OR cycle_id IN "
		"(SELECT c.cycle_id FROM cycles c "
		"JOIN objects o ON o.addr = c.addr "
		"LEFT JOIN types t ON t.addr = o.type_addr "
		"WHERE o.type = ?2 OR t.module || '.' || t.name = ?2))";
	static const char sql_v1[] =
		"SELECT cycle_id, members, types, NULL, NULL, has_finalizer "
		"FROM cycle_summary WHERE (?1 = 0) AND (?2 IS NULL OR "
		"cycle_id IN (SELECT c.cycle_id FROM cycles c "
		"JOIN objects o ON o.addr = c.addr "
		"LEFT JOIN types t ON t.addr = o.type_addr "
		"WHERE o.type = ?2 OR t.module || '.' || t.name = ?2))";

	err = db_query_create(rp->db, v2 ? sql_v2 : sql_v1, &q);
	if (err)
		return err;
	db_query_bind_int64(q, 1, o->garbage_only);
	db_query_bind_text(q, 2, o->type);
	err = table_init(&summary, 6, summary_names, NULL, q, o->limit);
	if (!err) {
		err = table_fill(&summary, q);
		if (err)
			table_deinit(&summary);
	}
	db_query_destroy(q);
	if (err)
		return err;

	if (o->json)
		putc('[', rp->out);
	else if (!summary.nrows && !summary.more)
		fprintf(rp->out, "%s\n", o->type || o->garbage_only ?
			"no reference cycles match" :
			"no reference cycles in the snapshot");
	for (size_t r = 0; r < summary.nrows; r++) {
		const struct cell *c = &summary.cells[r * 6];
		int64_t id = c[0].i;

		err = query_table(rp, &members,
				  "SELECT c.addr, o.type, o.repr FROM cycles c "
				  "LEFT JOIN objects o ON o.addr = c.addr "
				  "WHERE c.cycle_id = ? ORDER BY c.addr",
				  3, member_names, member_kinds, o->members,
				  &id);
		if (err)
			goto out;
		err = query_table(rp, &edges,
				  "SELECT src, src_type, label, "
				  "CASE WHEN label GLOB '[A-Za-z_]*' "
				  "THEN '.' || label ELSE label END, '->', "
				  "dst, dst_type FROM cycle_edges "
				  "WHERE cycle_id = ? ORDER BY src, label, dst",
				  7, edge_names, edge_kinds, o->members, &id);
		if (err)
			goto out;
		if (o->json) {
			fputs(r ? ",\n{" : "\n{", rp->out);
			json_fields(&summary, r, rp->out);
			fputs(", \"objects\": ", rp->out);
			table_print_json(&members, rp->out);
			fprintf(rp->out, ", \"more_objects\": %" PRIu64
				", \"edges\": ", members.more);
			table_print_json(&edges, rp->out);
			fprintf(rp->out, ", \"more_edges\": %" PRIu64 "}",
				edges.more);
		} else {
			fprintf(rp->out, "cycle %" PRId64 ": %" PRId64
				" members; types ", id, c[1].i);
			print_types(rp->out, &c[2]);
			fprintf(rp->out, "; reachable %s; garbage %s; "
				"finalizer %s\n",
				yes_no(&c[3], v2 && reach_rows > 0),
				yes_no(&c[4], v2), yes_no(&c[5], true));
			err = table_print_text(&members, rp->out, &block_style);
			if (!err)
				err = table_print_text(&edges, rp->out,
						       &block_style);
			if (err)
				goto out;
			if (members.more || edges.more)
				fprintf(rp->out, "  ... %" PRIu64 " more "
					"members, %" PRIu64 " more references "
					"(--members 0 shows all)\n",
					members.more, edges.more);
		}
		table_deinit(&members);
		table_deinit(&edges);
	}
	if (o->json)
		fputs(summary.nrows ? "\n]\n" : "]\n", rp->out);
	print_more(rp, summary.more, "cycles", "--limit");
out:
	table_deinit(&members);
	table_deinit(&edges);
	table_deinit(&summary);
	return err;
}
