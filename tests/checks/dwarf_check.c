/* SPDX-License-Identifier: MIT */
/*
 * Unit test of analyzer/dwarf.c: checks offsets, sizes and enumerator
 * values against what gdb reports for the same file.
 *
 * Usage: dwarf_check ELF-WITH-DWARF...
 *
 * For each file one gdb process evaluates every check; a check gdb cannot
 * evaluate (the type or member does not exist in that CPython version) is
 * skipped. Prints one line per check and ends with "N passed, N failed".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "target/dwarf.h"

enum test_kind {
	TEST_OFFSET,		/* dwarf_member_offset(type, path) */
	TEST_MEMBER_SIZE,	/* dwarf_member_size(type, path) */
	TEST_SIZE,		/* dwarf_type_size(type) */
	TEST_ENUMERATOR,	/* dwarf_enumerator_value(path) */
	TEST_BITFIELD,		/* bitfield offset, from "ptype /o" */
};

struct test_check {
	enum test_kind kind;	/* what to compare */
	const char *type;	/* C type name, NULL for enumerators */
	const char *path;	/* member path, or enumerator name */
};

static const struct test_check test_checks[] = {
	{ TEST_OFFSET, "struct _gc_runtime_state", "generations" },
	{ TEST_OFFSET, "struct _gc_runtime_state", "generations[1].head" },
	{ TEST_OFFSET, "struct _gc_runtime_state", "generations[2].count" },
	{ TEST_OFFSET, "struct _gc_runtime_state", "permanent_generation" },
	{ TEST_OFFSET, "struct _gc_runtime_state", "garbage" },
	{ TEST_OFFSET, "struct _gc_runtime_state", "collecting" },
	{ TEST_OFFSET, "struct _gc_runtime_state", "generation0" },
	{ TEST_MEMBER_SIZE, "struct _gc_runtime_state", "generations" },
	{ TEST_MEMBER_SIZE, "struct _gc_runtime_state", "generations[1]" },
	{ TEST_OFFSET, "struct _is", "next" },
	{ TEST_OFFSET, "struct _is", "gc" },
	{ TEST_OFFSET, "struct _is", "gc.generations[1].head" },
	{ TEST_OFFSET, "struct _is", "threads.head" },
	{ TEST_OFFSET, "struct _is", "tstate_head" },
	{ TEST_OFFSET, "PyInterpreterState", "next" },
	// PyObject *monitoring_callables[8][17] (3.12+): two dimensions.
	{ TEST_OFFSET, "struct _is", "monitoring_callables[2][5]" },
	{ TEST_OFFSET, "struct _is", "monitoring_callables[3]" },
	{ TEST_MEMBER_SIZE, "struct _is", "monitoring_callables[3]" },
	{ TEST_MEMBER_SIZE, "struct _is", "monitoring_callables[3][1]" },
	{ TEST_MEMBER_SIZE, "struct _is", "monitoring_callables" },
	{ TEST_OFFSET, "struct _ts", "interp" },
	{ TEST_OFFSET, "struct _ts", "frame" },
	{ TEST_OFFSET, "struct _ts", "cframe" },
	{ TEST_OFFSET, "struct _ts", "current_frame" },
	{ TEST_OFFSET, "PyTypeObject", "tp_name" },
	{ TEST_OFFSET, "PyTypeObject", "tp_flags" },
	{ TEST_OFFSET, "PyTypeObject", "tp_traverse" },
	{ TEST_OFFSET, "PyTypeObject", "tp_dictoffset" },
	{ TEST_OFFSET, "struct _typeobject", "tp_basicsize" },
	{ TEST_MEMBER_SIZE, "PyTypeObject", "tp_flags" },
	{ TEST_MEMBER_SIZE, "PyTypeObject", "tp_name" },
	{ TEST_OFFSET, "PyHeapTypeObject", "ht_cached_keys" },
	{ TEST_OFFSET, "PyHeapTypeObject", "as_number.nb_add" },
	{ TEST_MEMBER_SIZE, "PyHeapTypeObject", "as_number" },
	{ TEST_OFFSET, "struct _dictkeysobject", "dk_nentries" },
	{ TEST_OFFSET, "PyDictObject", "ma_values" },
	{ TEST_OFFSET, "PyDictObject", "ma_used" },
	{ TEST_OFFSET, "_PyRuntimeState", "interpreters.head" },
	{ TEST_OFFSET, "_PyRuntimeState", "interpreters.main" },
	{ TEST_OFFSET, "_PyRuntimeState", "gc" },
	{ TEST_OFFSET, "struct _object", "ob_type" },
	{ TEST_OFFSET, "PyObject", "ob_type" },
	{ TEST_OFFSET, "PyObject", "ob_refcnt" },
	{ TEST_MEMBER_SIZE, "PyObject", "ob_type" },
	{ TEST_OFFSET, "PyVarObject", "ob_size" },
	{ TEST_OFFSET, "PyTupleObject", "ob_item[3]" },
	{ TEST_MEMBER_SIZE, "PyTupleObject", "ob_item" },
	{ TEST_OFFSET, "PyListObject", "ob_item" },
	{ TEST_OFFSET, "PyBytesObject", "ob_sval" },
	{ TEST_BITFIELD, "PyASCIIObject", "state.kind" },
	{ TEST_BITFIELD, "PyASCIIObject", "state.ascii" },
	{ TEST_SIZE, "PyGC_Head", NULL },
	{ TEST_SIZE, "union _gc_head", NULL },
	{ TEST_SIZE, "struct _gc_head", NULL },
	{ TEST_SIZE, "PyObject", NULL },
	{ TEST_SIZE, "PyTypeObject", NULL },
	{ TEST_SIZE, "PyHeapTypeObject", NULL },
	{ TEST_SIZE, "struct _is", NULL },
	{ TEST_SIZE, "_PyRuntimeState", NULL },
	{ TEST_SIZE, "struct _gc_runtime_state", NULL },
	{ TEST_SIZE, "enum _frameowner", NULL },
	// libc types: with "dwz -m" these move to the alternate file.
	{ TEST_SIZE, "struct timespec", NULL },
	{ TEST_OFFSET, "struct stat", "st_mtim.tv_nsec" },
	{ TEST_SIZE, "FILE", NULL },
	{ TEST_ENUMERATOR, NULL, "FRAME_OWNED_BY_GENERATOR" },
	{ TEST_ENUMERATOR, NULL, "FRAME_OWNED_BY_THREAD" },
	{ TEST_ENUMERATOR, NULL, "PyUnicode_4BYTE_KIND" },
	{ TEST_ENUMERATOR, NULL, "PYGEN_ERROR" },
};

#define TEST_NCHECKS (sizeof(test_checks) / sizeof(test_checks[0]))

static int test_passed, test_failed;

static void test_report(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void test_report(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		test_passed++;
	else
		test_failed++;
}

// Append @s to the growing command line in *buf, single-quoted for sh.
static void test_append_quoted(char **buf, size_t *len, const char *s)
{
	// Each quote becomes four characters; add a space, two quotes, NUL.
	size_t need = *len + 4 * strlen(s) + 4;
	char *p;

	*buf = realloc(*buf, need);
	if (!*buf) {
		perror("realloc");
		exit(2);
	}
	p = *buf + *len;

	*p++ = ' ';
	*p++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '\'';
	*p = '\0';
	*len = (size_t)(p - *buf);
}

static void test_append_ex(char **buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

// Append "-ex 'COMMAND'" with a printf-built command.
static void test_append_ex(char **buf, size_t *len, const char *fmt, ...)
{
	char *cmd;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0) {
		perror("vasprintf");
		exit(2);
	}
	va_end(ap);
	test_append_quoted(buf, len, "-ex");
	test_append_quoted(buf, len, cmd);
	free(cmd);
}

static const char *test_last_component(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

/*
 * Parse one line of "ptype /o", which for a bitfield is a comment holding
 * "OFF: BIT | SIZE" followed by "TYPE NAME : WIDTH;". Returns the byte
 * offset if the line declares bitfield @name, else -1.
 */
static long test_parse_bitfield(const char *line, const char *name)
{
	const char *close = strstr(line, "*/");
	const char *p;
	size_t len = strlen(name);
	long off;

	if (strncmp(line, "/*", 2) != 0 || !close)
		return -1;
	// Find " NAME : " after the comment.
	for (p = close; (p = strstr(p, name)); p += len) {
		if (p[-1] == ' ' && strncmp(p + len, " : ", 3) == 0)
			break;
	}
	if (!p || sscanf(line + 2, "%ld:", &off) != 1)
		return -1;
	return off;
}

/*
 * Ask gdb for the expected value of every check. known[i] says whether
 * gdb could evaluate check i; the value is in expect[i].
 */
static void test_ask_gdb(const char *file, bool *known, long *expect)
{
	char *cmd = NULL, *line = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	FILE *out;
	int in_ptype = -1;

	cmd = strdup("gdb -nx -batch");
	if (!cmd) {
		perror("strdup");
		exit(2);
	}
	len = strlen(cmd);
	for (size_t i = 0; i < TEST_NCHECKS; i++) {
		const struct test_check *c = &test_checks[i];
		const char *pre = "printf \"@@%d %ld\\n\"";

		known[i] = false;
		switch (c->kind) {
		case TEST_OFFSET:
			test_append_ex(&cmd, &len,
				       "%s, %zu, (long)&((%s *)0)->%s",
				       pre, i, c->type, c->path);
			break;
		case TEST_MEMBER_SIZE:
			test_append_ex(&cmd, &len,
				       "%s, %zu, (long)sizeof(((%s *)0)->%s)",
				       pre, i, c->type, c->path);
			break;
		case TEST_SIZE:
			test_append_ex(&cmd, &len, "%s, %zu, (long)sizeof(%s)",
				       pre, i, c->type);
			break;
		case TEST_ENUMERATOR:
			test_append_ex(&cmd, &len, "%s, %zu, (long)%s", pre, i,
				       c->path);
			break;
		case TEST_BITFIELD:
			test_append_ex(&cmd, &len, "echo @@B%zu\\n", i);
			test_append_ex(&cmd, &len, "ptype /o %s", c->type);
			test_append_ex(&cmd, &len, "echo @@E%zu\\n", i);
			break;
		}
	}
	test_append_quoted(&cmd, &len, file);
	// gdb reports what it cannot evaluate on stderr; those checks
	// simply get no "@@" line.
	cmd = realloc(cmd, len + sizeof(" 2>/dev/null"));
	if (!cmd) {
		perror("realloc");
		exit(2);
	}
	strcat(cmd, " 2>/dev/null");
	out = popen(cmd, "r");
	if (!out) {
		perror("popen");
		exit(2);
	}
	while ((n = getline(&line, &cap, out)) > 0) {
		size_t i;
		long v;

		if (sscanf(line, "@@B%zu", &i) == 1 && i < TEST_NCHECKS) {
			in_ptype = (int)i;
		} else if (sscanf(line, "@@E%zu", &i) == 1) {
			in_ptype = -1;
		} else if (in_ptype >= 0) {
			v = test_parse_bitfield(line, test_last_component(
					test_checks[in_ptype].path));
			if (v >= 0 && !known[in_ptype]) {
				known[in_ptype] = true;
				expect[in_ptype] = v;
			}
		} else if (sscanf(line, "@@%zu %ld", &i, &v) == 2 &&
			   i < TEST_NCHECKS) {
			known[i] = true;
			expect[i] = v;
		}
	}
	free(line);
	pclose(out);
	free(cmd);
}

static const char *test_kind_name(enum test_kind kind)
{
	switch (kind) {
	case TEST_OFFSET:
		return "offset";
	case TEST_MEMBER_SIZE:
		return "msize";
	case TEST_SIZE:
		return "size";
	case TEST_ENUMERATOR:
		return "enum";
	case TEST_BITFIELD:
		return "bitfld";
	}
	return "?";
}

static int64_t test_ours(struct dwarf_index *idx, const struct test_check *c)
{
	int64_t v;

	switch (c->kind) {
	case TEST_OFFSET:
	case TEST_BITFIELD:
		return dwarf_member_offset(idx, c->type, c->path);
	case TEST_MEMBER_SIZE:
		return dwarf_member_size(idx, c->type, c->path);
	case TEST_SIZE:
		return dwarf_type_size(idx, c->type);
	case TEST_ENUMERATOR:
		return dwarf_enumerator_value(idx, c->path, &v) ? INT64_MIN : v;
	}
	return INT64_MIN;
}

// Lookups that must fail whatever the CPython version.
static void test_negative(struct dwarf_index *idx, const char *base)
{
	static const char *const bad_paths[] = {
		"", ".ob_type", "ob_type.", "ob_type..x", "ob_type[",
		"ob_type[0]", "ob_type.tp_name", "no_such_member",
		"ob_typ", "ob_type_", "ob_type]",
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]);
	     i++) {
		int64_t off = dwarf_member_offset(idx, "PyObject",
						  bad_paths[i]);

		test_report(off == -1,
			    "%s: bad path PyObject \"%s\" -> %" PRId64, base,
			    bad_paths[i], off);
	}
	test_report(dwarf_type_size(idx, "struct no_such_type") == -1,
		    "%s: unknown struct", base);
	test_report(dwarf_type_size(idx, "struct _object") > 0 &&
		    dwarf_type_size(idx, "union _object") == -1 &&
		    dwarf_type_size(idx, "_object") == -1,
		    "%s: struct/union/typedef namespaces are separate", base);
	test_report(dwarf_member_offset(idx, "no_such_type", "x") == -1,
		    "%s: member of unknown type", base);
	test_report(dwarf_enumerator_value(idx, "NO_SUCH_ENUMERATOR", &v) == -1,
		    "%s: unknown enumerator", base);
	test_report(dwarf_member_offset(NULL, "PyObject", "ob_type") == -1 &&
		    dwarf_type_size(NULL, "PyObject") == -1,
		    "%s: NULL index", base);
}

/*
 * dwarf_member_at() names the member at an offset gdb gave: the path it
 * returns leads back to that offset, to a member that has a size, and
 * does not stop above a leaf when it ends on an aggregate's member.
 */
static void test_member_at(struct dwarf_index *idx, const char *base,
			   const char *type, int64_t offset)
{
	char path[256];
	bool found = dwarf_member_at(idx, type, offset, path, sizeof(path));
	const char *plus = strchr(path, '+');
	int64_t back = -1, extra = 0;

	if (found) {
		char head[256];

		snprintf(head, sizeof(head), "%.*s",
			 (int)(plus ? plus - path : (ptrdiff_t)strlen(path)),
			 path);
		back = dwarf_member_offset(idx, type, head);
		extra = plus ? strtoll(plus + 1, NULL, 10) : 0;
	}
	test_report(found && back >= 0 && back + extra == offset &&
		    dwarf_member_size(idx, type, path[0] && !plus ? path : "") != 0,
		    "%s: at     %s +%" PRId64 " = %s (back to %" PRId64 "%s)",
		    base, type, offset, found ? path : "(none)", back,
		    extra ? " plus the rest" : "");
}

static double test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_file(const char *file)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	bool known[TEST_NCHECKS];
	long expect[TEST_NCHECKS];
	struct dwarf_index *idx;
	struct err *err;
	size_t answered = 0;
	double t0, t1;
	Dwarf *dw;
	int fd;

	fd = open(file, O_RDONLY);
	if (fd < 0) {
		test_report(false, "%s: open: %s", file, strerror(errno));
		return;
	}
	dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw) {
		test_report(false, "%s: dwarf_begin: %s", file,
			    dwarf_errmsg(-1));
		close(fd);
		return;
	}
	t0 = test_now();
	err = dwarf_index_create(dw, &idx);
	t1 = test_now();
	test_report(!err, "%s: dwarf_index_create %s in %.3f s", base,
		    err ? err->message : "ok", t1 - t0);
	if (err) {
		err_destroy(err);
		dwarf_end(dw);
		close(fd);
		return;
	}

	test_ask_gdb(file, known, expect);
	for (size_t i = 0; i < TEST_NCHECKS; i++) {
		const struct test_check *c = &test_checks[i];
		const char *what = c->type ? c->type : "";
		const char *path = c->path ? c->path : "";
		const char *sep = c->type && c->path ? " " : "";
		int64_t ours = test_ours(idx, c);

		if (!known[i]) {
			printf("skip %s: %-6s %s%s%s (not in gdb; ours %" PRId64
			       ")\n", base, test_kind_name(c->kind), what, sep,
			       path, ours);
			continue;
		}
		answered++;
		test_report(ours == expect[i],
			    "%s: %-6s %s%s%s = %" PRId64 " (gdb %ld)", base,
			    test_kind_name(c->kind), what, sep, path, ours,
			    expect[i]);
		if (c->kind == TEST_OFFSET && ours == expect[i])
			test_member_at(idx, base, c->type, expect[i]);
	}
	// Every check skipped would mean gdb is missing or broken.
	test_report(answered > TEST_NCHECKS / 2, "%s: gdb answered %zu of %zu",
		    base, answered, TEST_NCHECKS);
	test_negative(idx, base);

	dwarf_index_destroy(idx);
	dwarf_end(dw);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ELF-WITH-DWARF...\n", argv[0]);
		return 2;
	}
	dwarf_index_destroy(NULL);
	for (int i = 1; i < argc; i++)
		test_file(argv[i]);
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}
