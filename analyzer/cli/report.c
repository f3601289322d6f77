/* SPDX-License-Identifier: MIT */
/*
 * The analysis commands: their command line, the database opened for
 * them, and what their report functions share. Each reads a snapshot
 * database through the read-only queries of reader.h, collects the rows it
 * will print into a table (table.h; at most --limit of them, counting the
 * rest), and prints the table as aligned columns or as JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

enum {
	DEFAULT_MEMBERS = 10,  // members and references per cycle
};

static bool parse_count(const char *text, uint64_t *ret)
{
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);

	if (errno || *end)
		return false;
	*ret = value;
	return true;
}

static bool parse_addr(const char *text, uint64_t *ret)
{
	bool hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
	char *end;

	if (!isxdigit((unsigned char)text[hex ? 2 : 0]) ||
	    (!hex && !isdigit((unsigned char)text[0])))
		return false;
	errno = 0;
	unsigned long long value = strtoull(text, &end, hex ? 16 : 10);

	if (errno || *end)
		return false;
	*ret = value;
	return true;
}

// The command line of analysis command c; an ERR_USAGE error if it is
// wrong.
static struct err *parse(const struct command *c, int argc, char **argv,
			 struct report_options *ret)
{
	const char *args[2] = { NULL, NULL };
	int nargs = 0, want = 1;
	bool options = true;

	*ret = (struct report_options){
		.command = c,
		.limit = c->limit,
		.members = DEFAULT_MEMBERS,
	};
	if (c->flags & (TAKES_ADDR | TAKES_SQL))
		want = 2;
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];

		if (!options || arg[0] != '-' || !arg[1]) {
			if (nargs == want)
				return err_create(ERR_USAGE,
						  "unexpected argument '%s'",
						  arg);
			args[nargs++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			options = false;
			continue;
		}
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			ret->help = true;
			return NULL;
		}
		// --name VALUE or --name=VALUE
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		const char *value = eq ? eq + 1 : NULL;
		unsigned need = 0;
		bool takes_value = false;

#define IS(name) (len == strlen(name) && !strncmp(arg, name, len))
		if (IS("--json")) {
			ret->json = true;
		} else if (IS("--all")) {
			need = TAKES_ALL;
			ret->all = true;
		} else if (IS("--garbage-only")) {
			need = TAKES_CYCLES;
			ret->garbage_only = true;
		} else if (IS("--limit") || IS("--members") || IS("--type")) {
			need = IS("--limit") ? TAKES_LIMIT : TAKES_CYCLES;
			takes_value = true;
		} else {
			return err_create(ERR_USAGE,
					  "unknown option '%s'", arg);
		}
		if (need && !(c->flags & need))
			return err_create(ERR_USAGE, "%s takes no %.*s",
					  c->name, (int)len, arg);
		if (!takes_value) {
			if (value)
				return err_create(ERR_USAGE, "option '%s' "
						  "takes no value", arg);
			continue;
		}
		if (!value) {
			if (i + 1 == argc)
				return err_create(ERR_USAGE, "option '%s' "
						  "needs a value", arg);
			value = argv[++i];
		}
		if (IS("--type")) {
			ret->type = value;
		} else if (!parse_count(value, IS("--limit") ? &ret->limit :
						     &ret->members)) {
			return err_create(ERR_USAGE, "%.*s needs a count, "
					  "not '%s'", (int)len, arg, value);
		}
#undef IS
	}
	if (nargs < 1)
		return err_create(ERR_USAGE, "%s needs DB, a snapshot "
				  "database", c->name);
	ret->db = args[0];
	if (c->flags & TAKES_ADDR) {
		if (nargs < 2)
			return err_create(ERR_USAGE, "%s needs ADDR, an "
					  "object's address", c->name);
		if (!parse_addr(args[1], &ret->addr))
			return err_create(ERR_USAGE, "invalid address '%s': "
					  "write it in hex (0x7f3a1c2d4e50) or "
					  "decimal", args[1]);
	}
	if (c->flags & TAKES_SQL) {
		if (nargs < 2)
			return err_create(ERR_USAGE, "%s needs a STATEMENT",
					  c->name);
		ret->sql = args[1];
	}
	return NULL;
}

/* What the report functions share. */

// The line saying how many rows --limit left out.
void print_more(struct report *rp, uint64_t more, const char *what,
		const char *option)
{
	if (!more)
		return;
	if (rp->o->json)
		fprintf(rp->notes, "note: %" PRIu64 " more %s not shown "
			"(%s 0 shows all)\n", more, what, option);
	else
		fprintf(rp->out, "... %" PRIu64 " more %s (%s 0 shows all)\n",
			more, what, option);
}

const struct text_style list_style = {
	.indent = "",
	.null_text = "-",
	.header = true,
};

// A list: its table, or in text the empty message when there are no rows.
struct err *print_list(struct report *rp, const struct table *t,
		       const char *empty)
{
	struct err *err = NULL;

	if (rp->o->json) {
		table_print_json(t, rp->out);
		putc('\n', rp->out);
	} else if (!t->nrows && !t->more && empty) {
		fprintf(rp->out, "%s\n", empty);
	} else {
		err = table_print_text(t, rp->out, &list_style);
	}
	print_more(rp, t->more, "rows", "--limit");
	return err;
}

// Run sql with parameter 1 bound to arg (if any) into a new table.
struct err *query_table(struct report *rp, struct table *t,
			const char *sql, int ncolumns,
			const char *const *names,
			const enum column_kind *kinds, uint64_t limit,
			const int64_t *arg)
{
	struct db_query *q;
	struct err *err;

	memset(t, 0, sizeof(*t));
	err = db_query_create(rp->db, sql, &q);
	if (err)
		return err;
	if (arg)
		db_query_bind_int64(q, 1, *arg);
	err = table_init(t, ncolumns, names, kinds, q, limit);
	if (!err) {
		err = table_fill(t, q);
		if (err)
			table_deinit(t);
	}
	db_query_destroy(q);
	return err;
}

// The first column of the first row of sql, bound to arg, as an integer;
// *ret is -1 if there is no row.
struct err *query_int(struct report *rp, const char *sql,
		      const int64_t *arg, int64_t *ret)
{
	struct db_query *q;
	struct err *err;
	bool row;

	err = db_query_create(rp->db, sql, &q);
	if (err)
		return err;
	if (arg)
		db_query_bind_int64(q, 1, *arg);
	err = db_query_step(q, &row);
	*ret = row ? db_query_int64(q, 0) : -1;
	db_query_destroy(q);
	return err;
}

struct err *need_version(struct report *rp, int version,
			 const char *what)
{
	int have = db_reader_version(rp->db);

	if (have >= version)
		return NULL;
	return err_hint(err_create(ERR_INPUT, "database '%s' has schema "
				   "version %d, which has no %s",
				   db_reader_path(rp->db), have, what),
			"take the snapshot again with this gcscope");
}

// The object at o->addr must be in the snapshot.
struct err *need_object(struct report *rp)
{
	int64_t addr = (int64_t)rp->o->addr, found;
	struct err *err;

	err = query_int(rp, "SELECT count(*) FROM objects WHERE addr = ?",
			&addr, &found);
	if (err)
		return err;
	if (found > 0)
		return NULL;
	return err_create(ERR_NOTFOUND, "no object at %#" PRIx64 " in '%s'",
			  rp->o->addr, db_reader_path(rp->db));
}

struct err *print_two_lists(struct report *rp, struct table *first,
			    struct table *second, const char *empty)
{
	struct err *err;

	if (rp->o->json) {
		fputs("{\"types\": ", rp->out);
		table_print_json(first, rp->out);
		fputs(",\n\"objects\": ", rp->out);
		table_print_json(second, rp->out);
		fputs("}\n", rp->out);
		print_more(rp, first->more, "types", "--limit");
		print_more(rp, second->more, "objects", "--limit");
		return NULL;
	}
	if (!first->nrows && !first->more) {
		fprintf(rp->out, "%s\n", empty);
		return NULL;
	}
	err = table_print_text(first, rp->out, &list_style);
	if (err)
		return err;
	print_more(rp, first->more, "types", "--limit");
	putc('\n', rp->out);
	err = table_print_text(second, rp->out, &list_style);
	print_more(rp, second->more, "objects", "--limit");
	return err;
}

// Run the command o names; found_ret as the report functions set it.
static struct err *run(const struct report_options *o, FILE *out, FILE *notes,
		       bool *found_ret)
{
	struct report rp = { .o = o, .out = out, .notes = notes };
	struct err *err;

	*found_ret = true;
	err = db_reader_open(o->db, &rp.db);
	if (err)
		return err;
	err = o->command->report(&rp, found_ret);
	db_reader_destroy(rp.db);
	if (!err && (fflush(out) != 0 || ferror(out)))
		err = err_errno("cannot write the output");
	return err;
}

// gcscope types|cycles|garbage|leaks|census|path|referrers|referents|sql
// DB ...
int report_main(const struct command *c, int argc, char **argv)
{
	struct report_options o;
	struct err *err;
	bool found;

	if (argc > 3 && (!strcmp(argv[2], "--core") || !strcmp(argv[2], "--pid")))
		return report_on_target(c, argc, argv);
	err = parse(c, argc, argv, &o);
	if (err && err->code == ERR_USAGE) {
		usage_error(c, "%s", err->message);
		err_destroy(err);
		return EXIT_USAGE;
	}
	if (err)
		return fail(err);
	if (o.help) {
		help_print_command(c, stdout);
		return EXIT_OK;
	}
	err = run(&o, stdout, stderr, &found);
	if (err && err->code == ERR_NOTFOUND) {
		fail(err);
		return EXIT_RESERVATION;
	}
	if (err)
		return fail(err);
	return found ? EXIT_OK : EXIT_RESERVATION;
}
