/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

struct err err_nomem = {
	.code = ERR_NOMEM,
	.message = (char *)"out of memory",
};

static char *vformat(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static struct err *err_vcreate(enum err_code code, uint64_t addr,
			       const char *fmt, va_list ap)
{
	struct err *err = calloc(1, sizeof(*err));

	if (!err)
		return &err_nomem;
	err->code = code;
	err->addr = addr;
	err->message = vformat(fmt, ap);
	if (!err->message) {
		free(err);
		return &err_nomem;
	}
	return err;
}

struct err *err_create(enum err_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	struct err *err = err_vcreate(code, 0, fmt, ap);
	va_end(ap);
	return err;
}

struct err *err_fault(uint64_t addr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	struct err *err = err_vcreate(ERR_FAULT, addr, fmt, ap);
	va_end(ap);
	return err;
}

struct err *err_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	char *what;

	va_start(ap, fmt);
	what = vformat(fmt, ap);
	va_end(ap);
	if (!what)
		return &err_nomem;
	struct err *err = err_create(ERR_OS, "%s: %s", what, strerror(saved));
	free(what);
	return err;
}

struct err *err_hint(struct err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == &err_nomem)
		return err;
	va_start(ap, fmt);
	char *hint = vformat(fmt, ap);
	va_end(ap);
	if (hint) {
		free(err->hint);
		err->hint = hint;
	}
	return err;
}

void err_destroy(struct err *err)
{
	if (!err || err == &err_nomem)
		return;
	free(err->message);
	free(err->hint);
	free(err);
}
