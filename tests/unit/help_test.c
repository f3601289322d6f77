/* SPDX-License-Identifier: MIT */
/*
 * The command table (analyzer/cli/help.c) against what is written about
 * it elsewhere: README.md's list of exit statuses must be the table's,
 * number for number and word for word; every command must have a usage,
 * a help and a meaning for each exit status it can end with, and every
 * gdb command what its 'help' prints. Run from the top of the source
 * tree (make test does).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int passed, failed;

static void check(int ok, const char *what, const char *detail)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

// s with runs of white space made one space, trimmed; in place.
static char *squeeze(char *s)
{
	char *out = s, *p = s;

	while (isspace((unsigned char)*p))
		p++;
	for (; *p; p++) {
		if (isspace((unsigned char)*p)) {
			if (p[1] && !isspace((unsigned char)p[1]))
				*out++ = ' ';
			continue;
		}
		*out++ = *p;
	}
	*out = 0;
	return s;
}

/*
 * README.md's exit statuses: the list of "- N: MEANING" items (each item's
 * lines after the first indented) that follows the line starting
 * "Exit status".
 */
static void check_readme(void)
{
	FILE *f = fopen("README.md", "r");
	char line[1024], item[4096] = "";
	unsigned n = 0;
	int in_list = 0, seen = 0;

	check(f != NULL, "README.md can be read (run from the source tree)",
	      NULL);
	if (!f)
		return;
	for (;;) {
		char *got = fgets(line, sizeof(line), f);
		int starts = got && !strncmp(line, "- ", 2) &&
			     isdigit((unsigned char)line[2]);

		if (!seen) {
			if (!got)
				break;
			seen = !strncmp(line, "Exit status", 11);
			continue;
		}
		// An item ends at the next item, a blank line or the end.
		if (item[0] && (!got || starts || line[0] != ' ')) {
			char *colon = strchr(item, ':');
			char want[1024];

			if (n < NSTATUSES && colon) {
				*colon = 0;
				snprintf(want, sizeof(want), "%s",
					 exit_statuses[n].meaning);
				check(atoi(item + 2) ==
				      (int)exit_statuses[n].status,
				      "README.md lists the exit statuses in the "
				      "table's order", item);
				check(!strcmp(squeeze(colon + 1),
					      squeeze(want)),
				      "README.md says what the table says of "
				      "exit status", item + 2);
			}
			n++;
			item[0] = 0;
		}
		if (!got)
			break;
		if (starts) {
			in_list = 1;
			snprintf(item, sizeof(item), "%s", line);
		} else if (in_list && line[0] == ' ') {
			strncat(item, line, sizeof(item) - strlen(item) - 1);
		} else if (in_list) {
			break;
		}
	}
	fclose(f);
	check(seen, "README.md has a paragraph on the exit statuses", NULL);
	check(n == NSTATUSES, "README.md lists as many exit statuses as the "
	      "table", NULL);
}

static void check_commands(void)
{
	char buf[128];

	for (unsigned i = 0; i < ncommands; i++) {
		const struct command *c = &commands[i];

		snprintf(buf, sizeof(buf), "gcscope %s ", c->name);
		check(c->main && c->usage && !strncmp(c->usage, buf,
						      strlen(buf)),
		      "a command runs and its usage starts with its name",
		      c->name);
		check(c->help && c->help[0], "a command has a help", c->name);
		check(c->status[STATUS_OK] && c->status[STATUS_FAILED] &&
		      c->status[STATUS_USAGE] && c->status[STATUS_SANITIZER],
		      "a command says what exit statuses 0, 2, 64 and 86 mean "
		      "for it", c->name);
		check(command_find(c->name) == c, "a command is found by name",
		      c->name);
		check((c->main == report_main) == (c->report != NULL),
		      "analysis commands, and only they, have a report",
		      c->name);
		if (!c->gdb_name)
			continue;
		snprintf(buf, sizeof(buf), "%s", c->gdb_name);
		check(c->gdb_summary && c->gdb_help && c->gdb_usage &&
		      !strncmp(c->gdb_usage, buf, strlen(buf)) &&
		      !strchr(c->gdb_usage, '\n'),
		      "a gdb command has a summary, a help and a one-line "
		      "usage starting with its name", c->gdb_name);
	}
	check(command_find("no-such-command") == NULL,
	      "an unknown command is not found", NULL);
}

int main(void)
{
	check_readme();
	check_commands();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
