/* SPDX-License-Identifier: MIT */
/*
 * The analysis commands that print one list: types, referrers and
 * referents, sql.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

/* types */

struct err *report_types(struct report *rp, bool *found_ret)
{
	(void)found_ret;
	static const char *const names[] = {
		"type", "objects", "bytes", "tracked", "type_addr",
	};
	static const enum column_kind kinds[] = {
		COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE, COL_ADDR,
	};
	struct table t;
	struct err *err;

	err = query_table(rp, &t,
			  "SELECT type, count, bytes, tracked, type_addr "
			  "FROM type_histogram",
			  5, names, kinds, rp->o->limit, NULL);
	if (err)
		return err;
	err = print_list(rp, &t, "no objects in the snapshot");
	table_deinit(&t);
	return err;
}

/* referrers, referents */

static struct err *references(struct report *rp, bool referrers)
{
	static const char *const referrer_names[] = {
		"referrer", "type", "kind", "label", "repr",
	};
	static const char *const referent_names[] = {
		"referent", "type", "kind", "label", "repr",
	};
	static const enum column_kind kinds[] = {
		COL_ADDR, COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE,
	};
	int64_t addr = (int64_t)rp->o->addr;
	char empty[96];
	struct table t;
	struct err *err;

	err = need_object(rp);
	if (err)
		return err;
	err = query_table(rp, &t, referrers ?
			  "SELECT referrer, referrer_type, kind, label, "
			  "referrer_repr FROM referrers WHERE addr = ? "
			  "ORDER BY kind != 'traverse', kind, referrer, label" :
			  "SELECT referent, referent_type, kind, label, "
			  "referent_repr FROM referents WHERE addr = ? "
			  "ORDER BY kind != 'traverse', kind, referent, label",
			  5, referrers ? referrer_names : referent_names, kinds,
			  rp->o->limit, &addr);
	if (err)
		return err;
	snprintf(empty, sizeof(empty), referrers ?
		 "nothing in the snapshot refers to %#" PRIx64 :
		 "%#" PRIx64 " refers to nothing in the snapshot",
		 rp->o->addr);
	err = print_list(rp, &t, empty);
	table_deinit(&t);
	return err;
}

struct err *report_referrers(struct report *rp, bool *found_ret)
{
	(void)found_ret;
	return references(rp, true);
}

struct err *report_referents(struct report *rp, bool *found_ret)
{
	(void)found_ret;
	return references(rp, false);
}

/* sql */

struct err *report_sql(struct report *rp, bool *found_ret)
{
	(void)found_ret;
	static const struct text_style sql_style = {
		.indent = "",
		.null_text = "NULL",
		.header = true,
	};
	struct db_query *q;
	struct table t;
	struct err *err;

	err = db_query_create(rp->db, rp->o->sql, &q);
	if (err)
		return err;
	err = table_init(&t, db_query_columns(q), NULL, NULL, q,
			 rp->o->limit);
	if (err) {
		db_query_destroy(q);
		return err;
	}
	err = table_fill(&t, q);
	db_query_destroy(q);
	if (!err && rp->o->json) {
		table_print_json(&t, rp->out);
		putc('\n', rp->out);
	} else if (!err && t.ncolumns) {
		err = table_print_text(&t, rp->out, &sql_style);
	}
	if (!err)
		print_more(rp, t.more, "rows", "--limit");
	table_deinit(&t);
	return err;
}
