/* SPDX-License-Identifier: MIT */
/*
 * Objects that hold no references: str, int, bool, float, bytes and None.
 * Their sizes and previews, and the readers of str and int that labels of
 * keys and attributes use.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/rows.h"
#include "cpython/layout.h"
#include "target/target.h"

static void append_utf8(char *out, size_t *len, size_t max, uint32_t ch)
{
	char tmp[4];
	size_t n;

	if (ch < 0x80) {
		tmp[0] = ch;
		n = 1;
	} else if (ch < 0x800) {
		tmp[0] = 0xc0 | (ch >> 6);
		tmp[1] = 0x80 | (ch & 0x3f);
		n = 2;
	} else if (ch < 0x10000) {
		tmp[0] = 0xe0 | (ch >> 12);
		tmp[1] = 0x80 | ((ch >> 6) & 0x3f);
		tmp[2] = 0x80 | (ch & 0x3f);
		n = 3;
	} else {
		tmp[0] = 0xf0 | ((ch >> 18) & 0x07);
		tmp[1] = 0x80 | ((ch >> 12) & 0x3f);
		tmp[2] = 0x80 | ((ch >> 6) & 0x3f);
		tmp[3] = 0x80 | (ch & 0x3f);
		n = 4;
	}
	if (*len + n < max) {
		memcpy(out + *len, tmp, n);
		*len += n;
	}
}

/*
 * Read a str object (Include/cpython/unicodeobject.h): 'state' packs
 * interned:2, kind:3, compact:1, ascii:1. Compact ASCII data follows the
 * PyASCIIObject, compact non-ASCII data the PyCompactUnicodeObject; legacy
 * strings point to their data from PyUnicodeObject.data.
 */
bool decode_str(const struct decode *d, uint64_t addr, bool quote, char *out,
		size_t max, int64_t *size_ret)
{
	const struct layout *l = d->l;
	uint64_t length, state_word;
	uint32_t state;

	if (!target_read_u64(d->t, addr + l->str_length, &length) ||
	    !target_read_u64(d->t, addr + l->str_state, &state_word))
		return false;
	state = (uint32_t)state_word;
	unsigned kind = (state >> 2) & 7;
	bool compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
	uint64_t data;

	if (kind != 1 && kind != 2 && kind != 4)
		return false;
	if (length > (1ULL << 40))
		return false;
	if (compact && ascii)
		data = addr + l->sizeof_str_ascii;
	else if (compact)
		data = addr + l->sizeof_str_compact;
	else if (!target_read_u64(d->t, addr + l->sizeof_str_compact, &data))
		return false;
	if (size_ret) {
		if (compact && ascii)
			*size_ret = l->sizeof_str_ascii + length + 1;
		else if (compact)
			*size_ret = l->sizeof_str_compact + (length + 1) * kind;
		else
			*size_ret = l->sizeof_str_compact + 8;
	}
	size_t len = 0, limit = max > 8 ? max - 8 : 0;
	uint64_t n = length < 96 ? length : 96;
	unsigned char raw[96 * 4];

	if (!target_read_ok(d->t, raw, data, n * kind))
		return false;
	if (!out)
		return true;
	if (quote)
		out[len++] = '\'';
	for (uint64_t i = 0; i < n && len < limit; i++) {
		uint32_t ch;

		if (kind == 1)
			ch = raw[i];
		else if (kind == 2)
			ch = raw[2 * i] | (raw[2 * i + 1] << 8);
		else
			memcpy(&ch, raw + 4 * i, 4);
		if (quote && (ch == '\'' || ch == '\\')) {
			out[len++] = '\\';
			out[len++] = ch;
		} else if (quote && ch < 0x20) {
			len += snprintf(out + len, max - len, "\\x%02x", ch);
		} else {
			append_utf8(out, &len, limit, ch > 0x10ffff ? '?' : ch);
		}
	}
	if (length > n || len >= limit)
		len += snprintf(out + len, max - len, "…");
	if (quote && len + 1 < max)
		out[len++] = '\'';
	out[len] = 0;
	return true;
}

// Read an int (Objects/longobject.c): 30-bit digits, sign in ob_size
// (≤3.11) or in the low bits of lv_tag (3.12+).
bool decode_long(const struct decode *d, uint64_t addr, char *out, size_t max,
		 int64_t *ndigits_ret)
{
	const struct layout *l = d->l;
	uint64_t ndigits;
	bool negative;
	uint64_t word;

	if (l->long_tagged) {
		if (!target_read_u64(d->t, addr + l->long_tag, &word))
			return false;
		ndigits = word >> 3;
		negative = (word & 3) == 2;
	} else {
		if (!target_read_u64(d->t, addr + l->ob_size, &word))
			return false;
		int64_t size = (int64_t)word;

		negative = size < 0;
		ndigits = negative ? -(uint64_t)size : (uint64_t)size;
	}
	*ndigits_ret = ndigits;
	if (ndigits > 4) {
		snprintf(out, max, "<int of %" PRIu64 " bits>", ndigits * 30);
		return ndigits < (1ULL << 40);
	}
	uint32_t digits[4] = { 0 };
	unsigned __int128 v = 0;

	if (ndigits && !target_read_ok(d->t, digits, addr + l->long_digits,
				       ndigits * 4))
		return false;
	for (int i = (int)ndigits - 1; i >= 0; i--)
		v = (v << 30) | (digits[i] & 0x3fffffff);
	char tmp[48];
	int n = 0;

	do {
		tmp[n++] = '0' + (int)(v % 10);
		v /= 10;
	} while (v && n < 47);
	size_t len = 0;

	if (negative && len + 1 < max)
		out[len++] = '-';
	while (n && len + 1 < max)
		out[len++] = tmp[--n];
	out[len] = 0;
	return true;
}

// repr() of a float: the shortest %g that reads back exactly.
static void float_repr(double v, char *out, size_t max)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, max, "%.*g", prec, v);
		if (strtod(out, NULL) == v || isnan(v))
			break;
	}
	if (!strpbrk(out, ".eni"))
		strncat(out, ".0", max - strlen(out) - 1);
}

void decode_key_text(struct decode *d, uint64_t addr, char *out, size_t max)
{
	uint64_t type;
	int64_t nd;

	if (!target_read_u64(d->t, addr + d->l->ob_type, &type)) {
		snprintf(out, max, "?");
		return;
	}
	if (type == d->sym->str_type && decode_str(d, addr, true, out, max, NULL))
		return;
	if ((type == d->sym->long_type) && decode_long(d, addr, out, max, &nd))
		return;
	if (addr == d->sym->none) {
		snprintf(out, max, "None");
		return;
	}
	struct decode_type *ti = decode_type_at(d, type);

	snprintf(out, max, "<%.100s 0x%" PRIx64 ">", ti ? ti->name : "?", addr);
}

/* ---- str ------------------------------------------------------------- */

int64_t str_size(struct decode *d, uint64_t obj, const struct decode_type *ti,
		 int64_t extra)
{
	int64_t size = ti->basicsize;

	(void)extra;
	if (!decode_str(d, obj, true, NULL, 0, &size))
		return -1;
	return size;
}

void str_preview(struct decode *d, uint64_t obj, const struct decode_type *ti,
		 char *out, size_t max)
{
	(void)ti;
	decode_str(d, obj, true, out, max, NULL);
}

/* ---- bool and int ---------------------------------------------------- */

int64_t bool_size(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  int64_t extra)
{
	(void)d, (void)obj, (void)extra;
	return ti->basicsize + 4;
}

void bool_preview(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  char *out, size_t max)
{
	(void)ti;
	snprintf(out, max, "%s", decode_u64(d, obj + d->l->long_digits) ?
		 "True" : "False");
}

int64_t long_size(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  int64_t extra)
{
	char text[48];
	int64_t nd;

	if (!decode_long(d, obj, text, sizeof(text), &nd))
		return ti->basicsize;
	return ti->basicsize + ((nd ? nd : 1) + extra) * 4;
}

void long_preview(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  char *out, size_t max)
{
	int64_t nd;

	(void)ti;
	decode_long(d, obj, out, max, &nd);
}

/* ---- float, bytes, None ---------------------------------------------- */

int64_t float_size(struct decode *d, uint64_t obj,
		   const struct decode_type *ti, int64_t extra)
{
	(void)d, (void)obj, (void)extra;
	return ti->basicsize;
}

void float_preview(struct decode *d, uint64_t obj,
		   const struct decode_type *ti, char *out, size_t max)
{
	double v;

	(void)ti;
	if (target_read_ok(d->t, &v, obj + d->l->float_value, 8))
		float_repr(v, out, max);
}

int64_t bytes_size(struct decode *d, uint64_t obj,
		   const struct decode_type *ti, int64_t extra)
{
	return ti->basicsize + decode_var_size(d, obj) + extra;
}

void bytes_preview(struct decode *d, uint64_t obj,
		   const struct decode_type *ti, char *out, size_t max)
{
	uint64_t n = decode_var_size(d, obj);
	char raw[48];
	size_t k = n < sizeof(raw) ? n : sizeof(raw), len = 0;

	(void)ti;
	if (!target_read_ok(d->t, raw, obj + d->l->bytes_sval, k))
		return;
	len += snprintf(out, max, "b'");
	for (size_t i = 0; i < k && len + 8 < max; i++) {
		unsigned char c = raw[i];

		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			out[len++] = c;
		else
			len += snprintf(out + len, max - len, "\\x%02x", c);
	}
	snprintf(out + len, max - len, "%s'", n > k ? "…" : "");
}

// NoneType has one instance, _Py_NoneStruct.
int64_t none_size(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  int64_t extra)
{
	if (obj == d->sym->none)
		return ti->basicsize;
	return decode_default_size(d, obj, ti, extra);
}

void none_preview(struct decode *d, uint64_t obj, const struct decode_type *ti,
		  char *out, size_t max)
{
	(void)ti;
	if (obj == d->sym->none)
		snprintf(out, max, "None");
}
