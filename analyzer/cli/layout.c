/* SPDX-License-Identifier: MIT */
/*
 * gcscope layout: the layout read from the DWARF of a libpython, printed
 * as a built-in table entry or compared with the built-in table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cpython/layout.h"
#include "cpython/version.h"

// gcscope layout [--check] [--python X.Y] FILE | --supported
int layout_main(const struct command *c, int argc, char **argv)
{
	const char *file = NULL, *python = NULL;
	bool check = false;
	unsigned major, minor;
	struct layout l;
	char range[32];

	if (argc == 3 && !strcmp(argv[2], "--supported")) {
		for (size_t i = 0; i < cpython_nversions; i++)
			printf("3.%u\n", cpython_versions[i]->minor);
		return EXIT_OK;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help_print_command(c, stdout);
			return EXIT_OK;
		}
		if (!strcmp(argv[i], "--check"))
			check = true;
		else if (!strcmp(argv[i], "--python") && i + 1 < argc)
			python = argv[++i];
		else if (argv[i][0] == '-' || file)
			return usage_error(c, "unexpected argument '%s'", argv[i]);
		else
			file = argv[i];
	}
	if (!file)
		return usage_error(c, "layout needs a FILE");
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	const char *p = python ? python : strstr(base, "python");

	if (access(file, R_OK) != 0) {
		fprintf(stderr, "error: cannot open '%s': %s\n", file,
			strerror(errno));
		return EXIT_FAILED;
	}
	if (!p || sscanf(p + (python ? 0 : 6), "%u.%u", &major, &minor) != 2) {
		fprintf(stderr, "error: cannot tell the Python version of '%s'; "
				"pass --python X.Y\n", file);
		return EXIT_FAILED;
	}
	if (!cpython_version_find(major, minor)) {
		fprintf(stderr, "error: Python %u.%u is not supported: gcscope "
				"reads %s\n", major, minor,
			cpython_supported(range, sizeof(range)));
		return EXIT_FAILED;
	}
	struct err *err = layout_from_file(&l, file, minor);

	if (err)
		return fail(err);
	if (!check) {
		layout_print_table(&l, base, stdout);
		return EXIT_OK;
	}
	int differ = layout_compare_table(&l, stdout);

	if (differ < 0) {
		fprintf(stderr, "error: no built-in layout for Python 3.%u\n",
			minor);
		return EXIT_FAILED;
	}
	return differ ? EXIT_RESERVATION : EXIT_OK;
}
