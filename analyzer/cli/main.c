/* SPDX-License-Identifier: MIT */
/*
 * gcscope: read a CPython process's heap from the outside.
 *
 * main() finds the command in the table of help.c and runs it.
 */
#include <stdio.h>
#include <string.h>

#include "analysis/pipeline.h"
#include "cli/cli.h"

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc >= 2 && (!strcmp(argv[1], "--help") ||
			  !strcmp(argv[1], "-h"))) {
		help_print_all(stdout);
		return EXIT_OK;
	}
	if (argc >= 2 && !strcmp(argv[1], "help"))
		return help_main(NULL, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("gcscope %s\n", GCSCOPE_VERSION);
		return EXIT_OK;
	}
	if (argc < 2)
		return usage_error(NULL, "no command given");
	c = command_find(argv[1]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	return c->main(c, argc, argv);
}
