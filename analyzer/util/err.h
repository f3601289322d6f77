/* SPDX-License-Identifier: MIT */
/**
 * @file err.h
 *
 * Errors. A function that can fail returns a struct err *, NULL on success.
 * The caller owns the error and releases it with err_destroy(); the static
 * out-of-memory error may be passed to err_destroy() as well.
 */
#ifndef GCSCOPE_ERR_H
#define GCSCOPE_ERR_H

#include <stdint.h>

/** What went wrong, which decides the exit status main.c picks. */
enum err_code {
	ERR_NOMEM = 1,  /**< out of memory */
	ERR_OS,         /**< a system call on our own files failed */
	ERR_FAULT,      /**< a target address could not be read */
	ERR_INPUT,      /**< the input is not what it must be (not a core…) */
	ERR_NOTPYTHON,  /**< the target is not a CPython process */
	ERR_LAYOUT,     /**< CPython layout unknown or inconsistent */
	ERR_SQLITE,     /**< the database could not be written or read */
	ERR_USAGE,      /**< bad command line */
	ERR_NOTFOUND,   /**< what was asked about is not in the input */
};

struct err {
	enum err_code code;  /* kind of error */
	uint64_t addr;       /* target address for ERR_FAULT, else 0 */
	char *message;       /* lowercase, no full stop; owned */
	char *hint;          /* the next step to try, or NULL; owned */
};

/** The static error for an out-of-memory condition. */
extern struct err err_nomem;

/**
 * Create an error with a printf-style message.
 *
 * @return the error; &err_nomem if it could not be allocated.
 */
struct err *err_create(enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Create an ERR_FAULT error for an unreadable target address. */
struct err *err_fault(uint64_t addr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Create an ERR_OS error from errno, naming @p what. */
struct err *err_errno(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/**
 * Attach the next step to try to @p err (replacing any earlier hint).
 *
 * @return @p err
 */
struct err *err_hint(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Release an error; NULL and &err_nomem are allowed. */
void err_destroy(struct err *err);

#endif /* GCSCOPE_ERR_H */
