/* SPDX-License-Identifier: MIT */
/*
 * The analysis commands: types, cycles, garbage, leaks, path, referrers,
 * referents and sql. Each reads a snapshot database through the read-only
 * queries of reader.h, collects the rows it will print into a table (at most
 * --limit of them, counting the rest), and prints the table as aligned
 * columns, widths computed over the rows shown, or as JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "store/reader.h"

enum {
	DEFAULT_LIMIT = 50,    // rows per list
	DEFAULT_CYCLES = 20,   // cycles
	DEFAULT_MEMBERS = 10,  // members and references per cycle
	MAX_PATH_STEPS = 1 << 20,  // reach chains longer than this are broken
};

/* The help of the analysis commands. */

#define HELP_OPTIONS \
	"  --limit N  print at most N rows, then a line saying how\n" \
	"             many more there are; 0 prints all\n" \
	"  --json     print a JSON array of objects, one per row,\n" \
	"             keyed by column, instead of aligned columns;\n" \
	"             addresses are numbers in JSON, 0x... in columns\n"

#define HELP_LISTS \
	"             (here an object with the lists \"types\" and\n" \
	"             \"objects\"; --limit applies to each)\n"

#define HELP_STATUS \
	"Exit status: 0 the answer was printed; 2 the database\n" \
	"cannot be read (missing, not a gcscope database, a schema\n" \
	"version other than 1 to 3, or without what the command\n" \
	"needs); 64 the command line is wrong.\n"

#define HELP_STATUS_ADDR \
	"Exit status: 0 the answer was printed; 1 ADDR is not an\n" \
	"object of the snapshot; 2 the database cannot be read\n" \
	"(missing, not a gcscope database, a schema version other\n" \
	"than 1 to 3); 64 the command line is wrong.\n"

#define HELP_ADDR \
	"ADDR is the object's address, in hex (0x7f3a1c2d4e50) or\n" \
	"decimal.\n" \
	"\n"

enum command_flags {
	TAKES_ADDR = 1 << 0,    // a second argument: ADDR
	TAKES_SQL = 1 << 1,     // a second argument: the statement
	TAKES_LIMIT = 1 << 2,   // --limit
	TAKES_CYCLES = 1 << 3,  // --garbage-only, --type, --members
};

struct command {
	const char *name;         // as typed
	enum report_command id;   // what it runs
	unsigned flags;           // enum command_flags
	uint64_t limit;           // default --limit
	const char *usage;        // "gcscope NAME DB ..."
	const char *help;         // what it does, options, exit status
};

static const struct command commands[] = {
	{
		"types", REPORT_TYPES, TAKES_LIMIT, DEFAULT_LIMIT,
		"gcscope types DB [--limit N] [--json]",
		"Print objects and bytes per type, most bytes first (the\n"
		"view type_histogram): the type's name, its objects, their\n"
		"bytes (objects.size), how many of them the collector\n"
		"tracks, and the type's address.\n"
		"\n"
		HELP_OPTIONS
		"\n"
		HELP_STATUS,
	},
	{
		"cycles", REPORT_CYCLES, TAKES_LIMIT | TAKES_CYCLES,
		DEFAULT_CYCLES,
		"gcscope cycles DB [--garbage-only] [--type T] [--members N]\n"
		"                      [--limit N] [--json]",
		"Print the reference cycles, largest first (the views\n"
		"cycle_summary and cycle_edges), one block per cycle: a line\n"
		"\n"
		"  cycle ID: N members; types T,...; reachable yes|no|?;\n"
		"  garbage yes|no|?; finalizer yes|no\n"
		"\n"
		"(all on one line; reachable: a root reaches a member;\n"
		"garbage: a member is in the garbage table; finalizer: a\n"
		"member's type has __del__; ?: the database does not record\n"
		"it), then its members, one 'ADDR TYPE REPR' line each, and\n"
		"the references between them, one\n"
		"'ADDR TYPE .label -> ADDR TYPE' line each.\n"
		"\n"
		"  --garbage-only  only cycles with a member in the garbage\n"
		"                  table\n"
		"  --type T        only cycles with a member of type T: its\n"
		"                  name as objects.type has it, or\n"
		"                  module.name\n"
		"  --members N     print at most N members and N references\n"
		"                  per cycle (default 10); 0 prints all\n"
		"  --limit N       print at most N cycles (default 20), then\n"
		"                  a line saying how many more; 0: all\n"
		"  --json          print a JSON array, one object per cycle:\n"
		"                  the cycle_summary columns, then\n"
		"                  \"objects\" (its members) and \"edges\"\n"
		"                  (its references)\n"
		"\n"
		HELP_STATUS,
	},
	{
		"garbage", REPORT_GARBAGE, TAKES_LIMIT, DEFAULT_LIMIT,
		"gcscope garbage DB [--limit N] [--json]",
		"Print what gc.garbage holds and what the next full\n"
		"collection would free (the garbage table): a line per\n"
		"reason with objects, bytes and how many have a finalizer\n"
		"(__del__, which runs first and may resurrect them), then\n"
		"the objects grouped by reason and type, then the objects\n"
		"themselves. Needs schema version 2.\n"
		"\n"
		HELP_OPTIONS
		HELP_LISTS
		"\n"
		HELP_STATUS,
	},
	{
		"leaks", REPORT_LEAKS, TAKES_LIMIT, DEFAULT_LIMIT,
		"gcscope leaks DB [--limit N] [--json]",
		"Print the reference counts that the references found do\n"
		"not explain: per type and kind first (the view\n"
		"anomaly_types), then each object (the anomalies table),\n"
		"worst first within each kind: kind (deficit, unreferenced,\n"
		"excess), address, type, refcnt, the references to it\n"
		"found, the difference, its preview and what the count left\n"
		"out. Needs schema version 2.\n"
		"\n"
		HELP_OPTIONS
		HELP_LISTS
		"\n"
		HELP_STATUS,
	},
	{
		"census", REPORT_CENSUS, TAKES_LIMIT, DEFAULT_LIMIT,
		"gcscope census DB [--limit N] [--json]",
		"Print what pymalloc's arenas hold: a line of totals (arenas,\n"
		"pools in use, bytes in allocated blocks: holding objects,\n"
		"buffers of objects, or nothing found -- memory no object\n"
		"accounts for; free blocks), then the blocks by size class\n"
		"(the view census_classes), then the bytes by type (the view\n"
		"census_types: objects of the type, or buffers they own --\n"
		"list items, dict keys and values, set tables), most first,\n"
		"with how many of the objects only the census found (nothing\n"
		"found refers to them). Objects over 512 bytes come from\n"
		"malloc, not pymalloc: they are not counted here. Needs\n"
		"schema version 3.\n"
		"\n"
		HELP_OPTIONS
		"             (here an object with \"totals\", \"classes\"\n"
		"             and \"types\"; --limit applies to types)\n"
		"\n"
		HELP_STATUS,
	},
	{
		"path", REPORT_PATH, TAKES_ADDR, 0,
		"gcscope path DB ADDR [--json]",
		"Print the shortest chain of references from a root to\n"
		"ADDR (the reach table), root first, one\n"
		"'LABEL -> ADDR TYPE REPR' line per step: the first label is\n"
		"the root's ('sys.modules', a thread's frame and local), the\n"
		"others how each object refers to the next ('.attr',\n"
		"\"['key']\", '[3]'). If no root reaches ADDR, say so, and\n"
		"whether it is garbage. Needs schema version 2.\n"
		"\n"
		HELP_ADDR
		"  --json     print a JSON array of the steps, root first\n"
		"\n"
		"Exit status: 0 the chain was printed; 1 ADDR is not an\n"
		"object of the snapshot, or no root reaches it; 2 the\n"
		"database cannot be read (missing, not a gcscope database, a\n"
		"schema version other than 1 to 3, or version 1); 64 the\n"
		"command line is wrong.\n",
	},
	{
		"referrers", REPORT_REFERRERS, TAKES_ADDR | TAKES_LIMIT,
		DEFAULT_LIMIT,
		"gcscope referrers DB ADDR [--limit N] [--json]",
		"Print what refers to ADDR (the view referrers): each\n"
		"referrer's address and type, the kind of the reference\n"
		"(traverse, strong, borrowed, conservative) and its label,\n"
		"and the referrer's preview; traverse references first.\n"
		"\n"
		HELP_ADDR
		HELP_OPTIONS
		"\n"
		HELP_STATUS_ADDR,
	},
	{
		"referents", REPORT_REFERENTS, TAKES_ADDR | TAKES_LIMIT,
		DEFAULT_LIMIT,
		"gcscope referents DB ADDR [--limit N] [--json]",
		"Print what ADDR refers to (the view referents): each\n"
		"referent's address and type, the kind of the reference and\n"
		"its label, and the referent's preview; traverse references\n"
		"first.\n"
		"\n"
		HELP_ADDR
		HELP_OPTIONS
		"\n"
		HELP_STATUS_ADDR,
	},
	{
		"sql", REPORT_SQL, TAKES_SQL | TAKES_LIMIT, DEFAULT_LIMIT,
		"gcscope sql DB STATEMENT [--limit N] [--json]",
		"Run one SQL statement that only reads (SELECT, a read-only\n"
		"PRAGMA) on the database, opened read-only, and print its\n"
		"rows under a header of the column names. Values are printed\n"
		"as SQLite returns them, NULL as NULL: write\n"
		"printf('%#x', addr) for an address in hex. Put -- before a\n"
		"STATEMENT that starts with '-'.\n"
		"\n"
		HELP_OPTIONS
		"\n"
		"Exit status: 0 the rows were printed; 2 the database cannot\n"
		"be read, or the statement is not exactly one read-only\n"
		"statement, does not compile or fails; 64 the command line\n"
		"is wrong.\n",
	},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	}
	return NULL;
}

bool report_is_command(const char *name)
{
	return find_command(name) != NULL;
}

const char *report_usage(const char *name)
{
	const struct command *c = find_command(name);

	return c ? c->usage : NULL;
}

const char *report_help(const char *name)
{
	const struct command *c = find_command(name);

	return c ? c->help : NULL;
}

/* The command line. */

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

struct err *report_parse(int argc, char **argv, struct report_options *ret)
{
	const struct command *c = find_command(argv[1]);
	const char *args[2] = { NULL, NULL };
	int nargs = 0, want = 1;
	bool options = true;

	if (!c)
		return err_create(ERR_USAGE, "unknown command '%s'", argv[1]);
	*ret = (struct report_options){
		.command = c->id,
		.name = c->name,
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

/* Text as printed: UTF-8 checked, control characters escaped. */

// The length of the valid UTF-8 sequence at s, or 0 if there is none.
static size_t utf8_length(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	// No overlong forms, no surrogates, nothing above U+10FFFF.
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

// text for a column: control characters as \n, \t, \r or \xNN, bytes that
// are not UTF-8 as \xNN, so that a record stays on its line. The caller
// frees it.
static char *display(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	char *out = malloc(4 * strlen(text) + 1), *p = out;

	if (!out)
		return NULL;
	while (*s) {
		size_t n = utf8_length(s);

		if (n > 1 || (n == 1 && *s >= 0x20 && *s != 0x7f)) {
			memcpy(p, s, n);
			p += n;
			s += n;
			continue;
		}
		if (*s == '\n')
			p += sprintf(p, "\\n");
		else if (*s == '\t')
			p += sprintf(p, "\\t");
		else if (*s == '\r')
			p += sprintf(p, "\\r");
		else
			p += sprintf(p, "\\x%02x", *s);
		s++;
	}
	*p = '\0';
	return out;
}

// Columns text takes: one per character (code point).
static size_t text_width(const char *text)
{
	size_t width = 0;

	for (const unsigned char *s = (const unsigned char *)text; *s; s++)
		width += (*s & 0xc0) != 0x80;
	return width;
}

static void json_string(FILE *f, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	putc('"', f);
	while (*s) {
		size_t n = utf8_length(s);

		if (n == 0) {
			fputs("\\ufffd", f);
			s++;
		} else if (n > 1) {
			fwrite(s, 1, n, f);
			s += n;
		} else if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s == '\n') {
			fputs("\\n", f);
			s++;
		} else if (*s == '\t') {
			fputs("\\t", f);
			s++;
		} else if (*s == '\r') {
			fputs("\\r", f);
			s++;
		} else if (*s < 0x20) {
			fprintf(f, "\\u%04x", *s++);
		} else {
			putc(*s++, f);
		}
	}
	putc('"', f);
}

/* Tables: the rows a command prints. */

enum column_kind {
	COL_VALUE,      // the value as it is
	COL_ADDR,       // an address: 0x... in text, a number in JSON
	COL_FLAG,       // 0 or 1: no or yes in text
	COL_TEXT_ONLY,  // text only: not in JSON ('->')
	COL_JSON_ONLY,  // JSON only: not in text
};

enum cell_kind {
	CELL_NULL,
	CELL_INT,
	CELL_REAL,   // text is how SQLite renders it
	CELL_TEXT,
};

struct cell {
	enum cell_kind kind;
	int64_t i;     // CELL_INT
	double real;   // CELL_REAL
	char *text;    // CELL_REAL, CELL_TEXT: owned
};

struct table {
	int ncolumns;
	char **names;              // headings and JSON keys, owned
	enum column_kind *kinds;   // per column
	struct cell *cells;        // nrows rows of ncolumns
	size_t nrows, capacity;    // rows kept, allocated
	uint64_t limit;            // rows to keep; 0: all
	uint64_t more;             // rows seen but not kept
};

static void table_deinit(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncolumns; i++)
		free(t->cells[i].text);
	for (int j = 0; j < t->ncolumns && t->names; j++)
		free(t->names[j]);
	free(t->names);
	free(t->kinds);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

// Columns named by names[], or if names is NULL by the columns of q.
static struct err *table_init(struct table *t, int ncolumns,
			      const char *const *names,
			      const enum column_kind *kinds,
			      struct db_query *q, uint64_t limit)
{
	memset(t, 0, sizeof(*t));
	t->ncolumns = ncolumns;
	t->limit = limit;
	t->names = calloc(ncolumns ? ncolumns : 1, sizeof(*t->names));
	t->kinds = calloc(ncolumns ? ncolumns : 1, sizeof(*t->kinds));
	if (!t->names || !t->kinds)
		goto nomem;
	for (int j = 0; j < ncolumns; j++) {
		t->names[j] = strdup(names ? names[j] : db_query_name(q, j));
		if (!t->names[j])
			goto nomem;
		t->kinds[j] = kinds ? kinds[j] : COL_VALUE;
	}
	return NULL;

nomem:
	table_deinit(t);
	return &err_nomem;
}

// A new row of NULL cells, or NULL in *ret when the limit is reached (the
// row is counted in more).
static struct err *table_add(struct table *t, struct cell **ret)
{
	*ret = NULL;
	if (t->limit && t->nrows >= t->limit) {
		t->more++;
		return NULL;
	}
	if (t->nrows == t->capacity) {
		size_t capacity = t->capacity ? 2 * t->capacity : 64;
		size_t n = capacity * (t->ncolumns ? t->ncolumns : 1);
		struct cell *cells = reallocarray(t->cells, n, sizeof(*cells));

		if (!cells)
			return &err_nomem;
		t->cells = cells;
		t->capacity = capacity;
	}
	*ret = &t->cells[t->nrows++ * t->ncolumns];
	memset(*ret, 0, t->ncolumns * sizeof(**ret));
	return NULL;
}

static struct err *cell_text(struct cell *c, const char *text)
{
	if (!text)
		return NULL;
	c->text = strdup(text);
	if (!c->text)
		return &err_nomem;
	c->kind = CELL_TEXT;
	return NULL;
}

static void cell_int(struct cell *c, int64_t i)
{
	c->kind = CELL_INT;
	c->i = i;
}

// Column j of the current row of q into c.
static struct err *cell_from(struct cell *c, struct db_query *q, int j)
{
	const unsigned char *blob;
	size_t size;

	switch (db_query_type(q, j)) {
	case DB_NULL:
		return NULL;
	case DB_INTEGER:
		cell_int(c, db_query_int64(q, j));
		return NULL;
	case DB_FLOAT:
		c->real = db_query_double(q, j);
		if (cell_text(c, db_query_text(q, j)) || !c->text)
			return &err_nomem;
		c->kind = CELL_REAL;
		return NULL;
	case DB_TEXT:
		return cell_text(c, db_query_text(q, j));
	case DB_BLOB:
		// As SQL writes a blob: x'0a1b'.
		blob = db_query_blob(q, j, &size);
		c->text = malloc(2 * size + 4);
		if (!c->text)
			return &err_nomem;
		c->kind = CELL_TEXT;
		char *p = c->text + sprintf(c->text, "x'");

		for (size_t k = 0; k < size; k++)
			p += sprintf(p, "%02x", blob[k]);
		strcpy(p, "'");
		return NULL;
	}
	return NULL;
}

// Add the rows of q, its columns in order, until it ends.
static struct err *table_fill(struct table *t, struct db_query *q)
{
	struct err *err;
	bool row;

	for (;;) {
		err = db_query_step(q, &row);
		if (err || !row)
			return err;
		struct cell *cells;

		err = table_add(t, &cells);
		if (err)
			return err;
		for (int j = 0; cells && j < t->ncolumns; j++) {
			err = cell_from(&cells[j], q, j);
			if (err)
				return err;
		}
	}
}

// A cell as text, owned by the caller.
static char *cell_render(const struct cell *c, enum column_kind kind,
			 const char *null_text)
{
	char buf[32];

	switch (c->kind) {
	case CELL_NULL:
		return strdup(null_text);
	case CELL_INT:
		if (kind == COL_ADDR)
			snprintf(buf, sizeof(buf), "%#" PRIx64, (uint64_t)c->i);
		else if (kind == COL_FLAG)
			snprintf(buf, sizeof(buf), "%s", c->i ? "yes" : "no");
		else
			snprintf(buf, sizeof(buf), "%" PRId64, c->i);
		return strdup(buf);
	case CELL_REAL:
	case CELL_TEXT:
		return display(c->text);
	}
	return strdup("?");
}

struct text_style {
	const char *indent;     // before each line
	const char *null_text;  // for NULL
	bool header;            // print the column names first
};

static struct err *table_print_text(const struct table *t, FILE *f,
				    const struct text_style *style)
{
	size_t ncells = t->nrows * t->ncolumns;
	char **text = calloc(ncells ? ncells : 1, sizeof(*text));
	size_t *width = calloc(t->ncolumns ? t->ncolumns : 1, sizeof(*width));
	bool *right = calloc(t->ncolumns ? t->ncolumns : 1, sizeof(*right));
	struct err *err = NULL;
	int last = -1;

	if (!text || !width || !right) {
		err = &err_nomem;
		goto out;
	}
	for (int j = 0; j < t->ncolumns; j++) {
		if (t->kinds[j] == COL_JSON_ONLY)
			continue;
		last = j;
		width[j] = style->header ? text_width(t->names[j]) : 0;
		// Numbers are right-aligned, addresses and text left.
		bool numbers = false;

		right[j] = t->kinds[j] == COL_VALUE;
		for (size_t r = 0; r < t->nrows; r++) {
			const struct cell *c = &t->cells[r * t->ncolumns + j];
			char **s = &text[r * t->ncolumns + j];

			*s = cell_render(c, t->kinds[j], style->null_text);
			if (!*s) {
				err = &err_nomem;
				goto out;
			}
			if (text_width(*s) > width[j])
				width[j] = text_width(*s);
			if (c->kind == CELL_TEXT)
				right[j] = false;
			else if (c->kind != CELL_NULL)
				numbers = true;
		}
		right[j] = right[j] && numbers;
	}
	for (size_t r = 0; r < t->nrows + style->header; r++) {
		// Spaces are written only when something follows them: no
		// line ends in white space.
		size_t spaces = 0;
		bool first = true;

		fputs(style->indent, f);
		for (int j = 0; j <= last; j++) {
			const char *s;

			if (t->kinds[j] == COL_JSON_ONLY)
				continue;
			if (style->header && r == 0)
				s = t->names[j];
			else
				s = text[(r - style->header) * t->ncolumns + j];
			size_t pad = width[j] - text_width(s);

			if (!first)
				spaces += 2;
			first = false;
			if (right[j])
				spaces += pad;
			if (*s) {
				fprintf(f, "%*s%s", (int)spaces, "", s);
				spaces = 0;
			}
			if (!right[j])
				spaces += pad;
		}
		putc('\n', f);
	}
out:
	for (size_t i = 0; text && i < ncells; i++)
		free(text[i]);
	free(text);
	free(width);
	free(right);
	return err;
}

// Row r of t as JSON members: "name": value, ...
static void json_fields(const struct table *t, size_t r, FILE *f)
{
	bool sep = false;

	for (int j = 0; j < t->ncolumns; j++) {
		const struct cell *c = &t->cells[r * t->ncolumns + j];

		if (t->kinds[j] == COL_TEXT_ONLY)
			continue;
		if (sep)
			fputs(", ", f);
		sep = true;
		json_string(f, t->names[j]);
		fputs(": ", f);
		switch (c->kind) {
		case CELL_NULL:
			fputs("null", f);
			break;
		case CELL_INT:
			fprintf(f, "%" PRId64, c->i);
			break;
		case CELL_REAL:
			// JSON has no infinities.
			if (isfinite(c->real))
				fputs(c->text, f);
			else
				fputs("null", f);
			break;
		case CELL_TEXT:
			json_string(f, c->text);
			break;
		}
	}
}

static void table_print_json(const struct table *t, FILE *f)
{
	putc('[', f);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(r ? ",\n{" : "\n{", f);
		json_fields(t, r, f);
		putc('}', f);
	}
	fputs(t->nrows ? "\n]" : "]", f);
}

/* What a command prints, and where. */

struct report {
	const struct report_options *o;
	struct db_reader *db;
	FILE *out;      // the answer
	FILE *notes;    // with --json: what is not part of it
};

// The line saying how many rows --limit left out.
static void print_more(struct report *rp, uint64_t more, const char *what,
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

static const struct text_style list_style = {
	.indent = "",
	.null_text = "-",
	.header = true,
};

// A list: its table, or in text the empty message when there are no rows.
static struct err *print_list(struct report *rp, const struct table *t,
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
static struct err *query_table(struct report *rp, struct table *t,
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
static struct err *query_int(struct report *rp, const char *sql,
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

static struct err *need_version(struct report *rp, int version,
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
static struct err *need_object(struct report *rp)
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

/* types */

static struct err *report_types(struct report *rp)
{
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

/* cycles */

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

static struct err *report_cycles(struct report *rp)
{
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

/* garbage and leaks: two lists */

static struct err *print_two_lists(struct report *rp, struct table *first,
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

static struct err *report_garbage(struct report *rp)
{
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
	struct err *err;

	err = need_version(rp, 2, "garbage table");
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
	for (size_t r = 0; !rp->o->json && r < totals.nrows; r++) {
		const struct cell *c = &totals.cells[r * 4];
		bool unreachable = c[0].kind == CELL_TEXT &&
				   !strcmp(c[0].text, "unreachable");

		fprintf(rp->out, "%s: %" PRId64 " objects, %.0f bytes, %"
			PRId64 " with a finalizer%s\n",
			c[0].kind == CELL_TEXT ? c[0].text : "-", c[1].i,
			c[2].kind == CELL_REAL ? c[2].real : 0.0, c[3].i,
			unreachable ? " (the next collection would free them)" :
			"");
	}
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

static struct err *report_leaks(struct report *rp)
{
	static const char *const type_names[] = {
		"type", "kind", "objects", "refs", "type_addr",
	};
	static const enum column_kind type_kinds[] = {
		COL_VALUE, COL_VALUE, COL_VALUE, COL_VALUE, COL_ADDR,
	};
	static const char *const object_names[] = {
		"kind", "addr", "type", "refcnt", "referrers", "difference",
		"repr", "detail",
	};
	static const enum column_kind object_kinds[] = {
		COL_VALUE, COL_ADDR, COL_VALUE, COL_VALUE, COL_VALUE,
		COL_VALUE, COL_VALUE, COL_VALUE,
	};
	struct table types, objects = { 0 };
	struct err *err;

	err = need_version(rp, 2, "anomalies table");
	if (err)
		return err;
	err = query_table(rp, &types,
			  "SELECT type, kind, objects, refs, type_addr "
			  "FROM anomaly_types",
			  5, type_names, type_kinds, rp->o->limit, NULL);
	if (err)
		return err;
	err = query_table(rp, &objects,
			  "SELECT a.kind, a.addr, o.type, a.refcnt, "
			  "a.referrers, a.refcnt - a.referrers, o.repr, "
			  "a.detail FROM anomalies a "
			  "LEFT JOIN objects o ON o.addr = a.addr "
			  "ORDER BY a.kind, abs(a.refcnt - a.referrers) DESC, "
			  "a.addr",
			  8, object_names, object_kinds, rp->o->limit, NULL);
	if (!err)
		err = print_two_lists(rp, &types, &objects,
				      "no anomalies recorded: the references "
				      "found explain every reference count");
	table_deinit(&types);
	table_deinit(&objects);
	return err;
}

/* census */

static struct err *report_census(struct report *rp)
{
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
	err = query_table(rp, &totals,
			  "SELECT " META_INT("census") ", "
			  "(SELECT value FROM meta WHERE key = 'census_problem'), "
			  META_INT("pymalloc_arenas") ", "
			  META_INT("pymalloc_pools") ", "
			  META_INT("pymalloc_arena_bytes") ", "
			  META_INT("pymalloc_used_bytes") ", "
			  META_INT("pymalloc_object_bytes") ", "
			  META_INT("pymalloc_buffer_bytes") ", "
			  META_INT("pymalloc_unknown_bytes") ", "
			  META_INT("pymalloc_free_bytes") ", "
			  META_INT("arena_objects") ", "
			  "(SELECT count(*) FROM anomalies a JOIN objects o "
			  "ON o.addr = a.addr WHERE o.found = 'arena' AND "
			  "a.kind = 'unreferenced')",
			  12, total_names, NULL, 0, NULL);
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

/* path */

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

static struct err *report_path(struct report *rp, bool *found_ret)
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

/* referrers, referents */

static struct err *report_references(struct report *rp, bool referrers)
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

/* sql */

static struct err *report_sql(struct report *rp)
{
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

struct err *report_run(const struct report_options *o, FILE *out,
		       FILE *notes, bool *found_ret)
{
	struct report rp = { .o = o, .out = out, .notes = notes };
	struct err *err;

	*found_ret = true;
	err = db_reader_open(o->db, &rp.db);
	if (err)
		return err;
	switch (o->command) {
	case REPORT_TYPES:
		err = report_types(&rp);
		break;
	case REPORT_CYCLES:
		err = report_cycles(&rp);
		break;
	case REPORT_GARBAGE:
		err = report_garbage(&rp);
		break;
	case REPORT_LEAKS:
		err = report_leaks(&rp);
		break;
	case REPORT_CENSUS:
		err = report_census(&rp);
		break;
	case REPORT_PATH:
		err = report_path(&rp, found_ret);
		break;
	case REPORT_REFERRERS:
		err = report_references(&rp, true);
		break;
	case REPORT_REFERENTS:
		err = report_references(&rp, false);
		break;
	case REPORT_SQL:
		err = report_sql(&rp);
		break;
	}
	db_reader_destroy(rp.db);
	if (!err && (fflush(out) != 0 || ferror(out)))
		err = err_errno("cannot write the output");
	return err;
}
