/* SPDX-License-Identifier: MIT */
/*
 * Tables of rows as the analysis commands print them (table.h): text made
 * safe to print, aligned columns, JSON.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/table.h"

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
char *display(const char *text)
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
size_t text_width(const char *text)
{
	size_t width = 0;

	for (const unsigned char *s = (const unsigned char *)text; *s; s++)
		width += (*s & 0xc0) != 0x80;
	return width;
}

void json_string(FILE *f, const char *text)
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

void table_deinit(struct table *t)
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
struct err *table_init(struct table *t, int ncolumns,
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
struct err *table_add(struct table *t, struct cell **ret)
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

struct err *cell_text(struct cell *c, const char *text)
{
	if (!text)
		return NULL;
	c->text = strdup(text);
	if (!c->text)
		return &err_nomem;
	c->kind = CELL_TEXT;
	return NULL;
}

void cell_int(struct cell *c, int64_t i)
{
	c->kind = CELL_INT;
	c->i = i;
}

// Column j of the current row of q into c.
struct err *cell_from(struct cell *c, struct db_query *q, int j)
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
struct err *table_fill(struct table *t, struct db_query *q)
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
char *cell_render(const struct cell *c, enum column_kind kind,
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

struct err *table_print_text(const struct table *t, FILE *f,
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
void json_fields(const struct table *t, size_t r, FILE *f)
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

void table_print_json(const struct table *t, FILE *f)
{
	putc('[', f);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(r ? ",\n{" : "\n{", f);
		json_fields(t, r, f);
		putc('}', f);
	}
	fputs(t->nrows ? "\n]" : "]", f);
}

