/* SPDX-License-Identifier: MIT */
/*
 * gcscope census: what pymalloc's arenas hold.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

struct err *report_census(struct report *rp, bool *found_ret)
{
	(void)found_ret;
	static const char *const total_names[] = {
		"census", "census_problem", "arenas", "pools", "arena_bytes",
		"used_bytes", "object_bytes", "buffer_bytes", "unknown_bytes",
		"free_bytes", "arena_objects", "arena_unreferenced",
	};
	static const char *const class_names[] = {
		"block_size", "pools", "blocks", "used", "free", "objects",
		"buffers", "unknown", "used_bytes", "unknown_bytes",
	};
	static const char *const type_names[] = {
		"type", "what", "blocks", "bytes", "arena_found", "type_addr",
	};
	static const enum column_kind type_kinds[] = {
		COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE, COL_ADDR,
	};
	struct table totals, classes = { 0 }, types = { 0 };
	struct err *err;

	err = need_version(rp, 3, "census of pymalloc");
	if (err)
		return err;
#define META_INT(key)                                                        \
	"(SELECT CAST(value AS INTEGER) FROM meta WHERE key = '" key "')"
#define TOTALS(suspected)                                                    \
	"SELECT " META_INT("census") ", "                                    \
	"(SELECT value FROM meta WHERE key = 'census_problem'), "            \
	META_INT("pymalloc_arenas") ", "                                     \
	META_INT("pymalloc_pools") ", "                                      \
	META_INT("pymalloc_arena_bytes") ", "                                \
	META_INT("pymalloc_used_bytes") ", "                                 \
	META_INT("pymalloc_object_bytes") ", "                               \
	META_INT("pymalloc_buffer_bytes") ", "                               \
	META_INT("pymalloc_unknown_bytes") ", "                              \
	META_INT("pymalloc_free_bytes") ", "                                 \
	META_INT("arena_objects") ", "                                       \
	"(SELECT count(*) FROM anomalies a JOIN objects o "                  \
	"ON o.addr = a.addr WHERE o.found = 'arena' AND "                    \
	"a.kind = 'unreferenced'" suspected ")"
	// Held by nothing: no holder explains it (schema 4 records those
	// explained too, with their cause).
	err = query_table(rp, &totals,
			  db_reader_version(rp->db) >= 4 ?
			  TOTALS(" AND a.cause IS NULL") : TOTALS(""),
			  12, total_names, NULL, 0, NULL);
#undef TOTALS
#undef META_INT
	if (err)
		return err;
	err = query_table(rp, &classes,
			  "SELECT block_size, pools, blocks, used, free, "
			  "objects, buffers, unknown, used_bytes, unknown_bytes "
			  "FROM census_classes",
			  10, class_names, NULL, 0, NULL);
	if (!err)
		err = query_table(rp, &types,
				  "SELECT type, what, blocks, bytes, "
				  "arena_found, type_addr FROM census_types",
				  6, type_names, type_kinds, rp->o->limit, NULL);
	if (err)
		goto out;
	const struct cell *c = totals.cells;
	bool census = totals.nrows && c[0].kind == CELL_INT && c[0].i;

	if (rp->o->json) {
		fputs("{\"totals\": ", rp->out);
		table_print_json(&totals, rp->out);
		fputs(",\n\"classes\": ", rp->out);
		table_print_json(&classes, rp->out);
		fputs(",\n\"types\": ", rp->out);
		table_print_json(&types, rp->out);
		fputs("}\n", rp->out);
		print_more(rp, types.more, "types", "--limit");
		goto out;
	}
	if (!census) {
		fprintf(rp->out, "no census of pymalloc's arenas in this "
			"snapshot: %s\n", c && c[1].kind == CELL_TEXT ?
			c[1].text : "it was not taken");
		goto out;
	}
	double mib = 1024.0 * 1024.0, used = c[5].i ? c[5].i : 1;

	fprintf(rp->out, "pymalloc: %" PRId64 " arenas (%.1f MiB), %" PRId64
		" pools in use; allocated blocks %.1f MiB: objects %.1f MiB, "
		"buffers %.1f MiB, not accounted for %.2f MiB (%.1f%%); "
		"free blocks %.1f MiB\n",
		c[2].i, c[4].i / mib, c[3].i, c[5].i / mib, c[6].i / mib,
		c[7].i / mib, c[8].i / mib, 100.0 * c[8].i / used,
		c[9].i / mib);
	fprintf(rp->out, "%" PRId64 " objects found in the arenas only, %"
		PRId64 " of which nothing holds (gcscope leaks)\n",
		c[10].i, c[11].i);
	if (c[1].kind == CELL_TEXT)
		fprintf(rp->out, "note: %s\n", c[1].text);
	putc('\n', rp->out);
	err = table_print_text(&classes, rp->out, &list_style);
	if (err)
		goto out;
	putc('\n', rp->out);
	err = table_print_text(&types, rp->out, &list_style);
	print_more(rp, types.more, "types", "--limit");
out:
	table_deinit(&totals);
	table_deinit(&classes);
	table_deinit(&types);
	return err;
}
