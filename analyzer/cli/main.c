/* SPDX-License-Identifier: MIT */
/*
 * gcscope: read a CPython process's heap from the outside.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis/pipeline.h"
#include "cpython/version.h"
#include "cli/report.h"

enum exit_status {
	EXIT_OK = 0,       // snapshot written
	EXIT_PARTIAL = 1,  // snapshot written, but the walk was cut short
	EXIT_NOTFOUND = 1, // analysis: the object asked about is not there
	EXIT_FATAL = 2,    // nothing written
	EXIT_USAGE = 64,   // bad command line
};

static const char usage_text[] =
	"usage: gcscope snapshot (--core CORE [--exe EXE] | --pid PID [--no-stop])\n"
	"                        --db OUT.db\n"
	"                        [--layout SOURCE] [--debuginfo DIR]...\n"
	"                        [--no-default-debuginfo] [--quiet]\n"
	"       gcscope types DB [--limit N] [--json]\n"
	"       gcscope cycles DB [--garbage-only] [--type T] [--members N]\n"
	"                         [--limit N] [--json]\n"
	"       gcscope garbage DB [--limit N] [--json]\n"
	"       gcscope leaks DB [--limit N] [--json]\n"
	"       gcscope census DB [--limit N] [--json]\n"
	"       gcscope path DB ADDR [--json]\n"
	"       gcscope referrers DB ADDR [--limit N] [--json]\n"
	"       gcscope referents DB ADDR [--limit N] [--json]\n"
	"       gcscope sql DB STATEMENT [--limit N] [--json]\n"
	"       gcscope layout [--check] [--python X.Y] FILE\n"
	"       gcscope layout --supported\n"
	"       gcscope --help | --version | COMMAND --help\n"
	"\n"
	"Read the heap of a CPython process from a core file and write every\n"
	"object the garbage collector tracks, every object they refer to,\n"
	"the objects in pymalloc's arenas nothing refers to, and the\n"
	"references between them into an SQLite database (schema/).\n"
	"\n"
	"  --core CORE      the core file (gcore PID, or a kernel dump)\n"
	"  --pid PID        a running process: all its threads are stopped\n"
	"                   (ptrace, invisible to the program) while its\n"
	"                   memory is copied, then let go; the pause is\n"
	"                   printed and kept in meta.pause_ms. Needs the right\n"
	"                   to ptrace it (same user, Yama, CAP_SYS_PTRACE)\n"
	"  --no-stop        with --pid: read without stopping; the copy may be\n"
	"                   inconsistent where the program was changing it\n"
	"  --exe EXE        the executable that made it, if the core's own\n"
	"                   record of it is wrong or the file has moved\n"
	"  --db OUT.db      the database to write; replaced if it exists\n"
	"  --debuginfo DIR  also look for separate debug info in DIR\n"
	"                   (by build-id: DIR/.build-id/xx/rest.debug)\n"
	"  --no-default-debuginfo\n"
	"                   look for separate debug info only in the\n"
	"                   --debuginfo directories, not in /usr/lib/debug\n"
	"                   or beside the files\n"
	"  --layout SOURCE  where CPython's struct layouts come from:\n"
	"                   auto (default): dwarf if found, else debug-offsets\n"
	"                   (3.13+), else builtin; dwarf: the interpreter's\n"
	"                   debug info; debug-offsets: the _Py_DebugOffsets\n"
	"                   the interpreter keeps in memory (3.13+), completed\n"
	"                   by the built-in tables; builtin: gcscope's tables\n"
	"                   for release builds of 3.6 to 3.13 on x86-64\n"
	"  --quiet          print nothing but errors\n"
	"\n"
	"gcscope layout FILE prints the layout read from the DWARF of FILE (a\n"
	"libpython or a separate debug file) as a built-in table entry; with\n"
	"--check it compares it with the built-in table instead, one line per\n"
	"entry that differs. --python X.Y names the version when FILE's name\n"
	"does not. gcscope layout --supported prints the versions gcscope\n"
	"reads, one X.Y a line.\n"
	"\n"
	"The other commands read a database gcscope snapshot wrote (schema\n"
	"versions 1 to 3), opened read-only, and print one record per line in\n"
	"aligned columns, addresses as 0x...; ADDR is an object's address, in\n"
	"hex (0x7f3a1c2d4e50) or decimal:\n"
	"\n"
	"  types      objects, bytes and tracked objects per type, most\n"
	"             bytes first (the view type_histogram)\n"
	"  cycles     the reference cycles, largest first: a line per cycle\n"
	"             with its size, types, whether a root reaches it,\n"
	"             whether it is garbage and whether a member has __del__,\n"
	"             then its members and the references between them\n"
	"             (cycle_summary, cycle_edges); --garbage-only: only\n"
	"             garbage cycles; --type T: only cycles with a member of\n"
	"             type T; --members N: members and references shown per\n"
	"             cycle (default 10)\n"
	"  garbage    what gc.garbage holds and what the next collection\n"
	"             would free, by type with bytes and finalizers, then\n"
	"             the objects\n"
	"  leaks      reference counts the references found do not explain,\n"
	"             by type, then the objects (anomaly_types, anomalies)\n"
	"  census     what pymalloc's arenas hold: totals, blocks by size\n"
	"             class, bytes by type, and how much no object found\n"
	"             accounts for (census_classes, census_types)\n"
	"  path       the shortest chain of references from a root to ADDR,\n"
	"             root first (reach); or that no root reaches it, and\n"
	"             whether it is garbage\n"
	"  referrers  what refers to ADDR: address, type, kind and label of\n"
	"             each reference, preview\n"
	"  referents  what ADDR refers to, the same way\n"
	"  sql        run one SQL statement that only reads and print its\n"
	"             rows under a header (NULL as NULL, numbers as SQLite\n"
	"             has them)\n"
	"\n"
	"  --limit N  print at most N rows (cycles: N cycles; default 50,\n"
	"             cycles 20), then a line '... N more ...'; 0: all\n"
	"  --json     print a JSON array of objects keyed by column\n"
	"             instead; garbage and leaks print {\"types\": [...],\n"
	"             \"objects\": [...]}, cycles one object per cycle with\n"
	"             its \"objects\" and \"edges\"; addresses are numbers.\n"
	"             What --limit left out goes to stderr as a note.\n"
	"garbage, leaks and path need schema version 2, which has the\n"
	"analyses; census needs version 3. gcscope COMMAND --help says more about each command.\n"
	"\n"
	"Every analysis command also takes --core CORE [--exe EXE] in place\n"
	"of DB: the core is snapshotted first, into CORE.gcscope.db when its\n"
	"directory is writable, else into $XDG_CACHE_HOME/gcscope (default\n"
	"~/.cache/gcscope), and the snapshot is reused while it is newer\n"
	"than the core: gcscope cycles --core core.1234 --type Node. And\n"
	"--pid PID: a new snapshot of the running process every time, kept\n"
	"in that cache directory as pid-PID.db.\n"
	"\n"
	"Exit status:\n"
	"  0   snapshot: the snapshot was written; the other commands: the\n"
	"      answer was printed\n"
	"  1   snapshot: the snapshot was written, but the walk was cut\n"
	"      short (a broken collector list, a limit reached); a warning\n"
	"      says where; path, referrers, referents: ADDR is not an object\n"
	"      of the snapshot; path: no root reaches ADDR (it says so, and\n"
	"      whether ADDR is garbage)\n"
	"  2   snapshot: nothing was written: the input is not a CPython\n"
	"      core, its layout is unknown, or the database could not be\n"
	"      written; the other commands: the database cannot be read\n"
	"      (missing, not a gcscope database, a schema version other than\n"
	"      1 to 3, version 1 for garbage, leaks and path, below 3 for\n"
	"      census), or the sql\n"
	"      STATEMENT is not exactly one read-only statement, does not\n"
	"      compile or fails\n"
	"  64  the command line is wrong\n"
	"gcscope layout exits with 0, or with 1 when --check finds an entry\n"
	"that differs, 2 when FILE cannot be read or its version is unknown.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "error: ");
	fprintf(stderr, fmt, arg);
	// The synopsis: the first lines of the help, up to the blank line.
	fprintf(stderr, "\n%.*s(gcscope --help says more)\n",
		(int)(strstr(usage_text, "\n\n") - usage_text + 1), usage_text);
	return EXIT_USAGE;
}

static int report(struct err *err)
{
	if (err->hint)
		fprintf(stderr, "error: %s; %s\n", err->message, err->hint);
	else
		fprintf(stderr, "error: %s\n", err->message);
	err_destroy(err);
	return EXIT_FATAL;
}

// Take the snapshot o says, its lines for the user on stderr.
static int snapshot(struct snapshot_options *o, double *pause_ms_ret)
{
	struct snapshot_result r;
	struct err *err;

	o->log = stderr;
	err = snapshot_take(o, &r);
	if (pause_ms_ret)
		*pause_ms_ret = r.pause_ms;
	if (err)
		return report(err);
	return r.walk.truncated ? EXIT_PARTIAL : EXIT_OK;
}

static int analysis_command(int argc, char **argv);

// gcscope layout [--check] [--python X.Y] FILE | --supported
static int layout_command(int argc, char **argv)
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
		if (!strcmp(argv[i], "--check"))
			check = true;
		else if (!strcmp(argv[i], "--python") && i + 1 < argc)
			python = argv[++i];
		else if (argv[i][0] == '-' || file)
			return usage_error("unexpected argument '%s'", argv[i]);
		else
			file = argv[i];
	}
	if (!file)
		return usage_error("layout needs a FILE%s", "");
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	const char *p = python ? python : strstr(base, "python");

	if (access(file, R_OK) != 0) {
		fprintf(stderr, "error: cannot open '%s': %s\n", file,
			strerror(errno));
		return EXIT_FATAL;
	}
	if (!p || sscanf(p + (python ? 0 : 6), "%u.%u", &major, &minor) != 2) {
		fprintf(stderr, "error: cannot tell the Python version of '%s'; "
				"pass --python X.Y\n", file);
		return EXIT_FATAL;
	}
	if (!cpython_version_find(major, minor)) {
		fprintf(stderr, "error: Python %u.%u is not supported: gcscope "
				"reads %s\n", major, minor,
			cpython_supported(range, sizeof(range)));
		return EXIT_FATAL;
	}
	struct err *err = layout_from_file(&l, file, minor);

	if (err)
		return report(err);
	if (!check) {
		layout_print_table(&l, base, stdout);
		return EXIT_OK;
	}
	int differ = layout_compare_table(&l, stdout);

	if (differ < 0) {
		fprintf(stderr, "error: no built-in layout for Python 3.%u\n",
			minor);
		return EXIT_FATAL;
	}
	return differ ? 1 : EXIT_OK;
}

// gcscope types|cycles|garbage|leaks|path|referrers|referents|sql DB ...
/*
 * Where a snapshot of @p core is cached for the analysis commands: beside
 * the core when its directory is writable, else in the user's cache
 * directory ($XDG_CACHE_HOME/gcscope or ~/.cache/gcscope).
 */
static char *cache_path(const char *core)
{
	char *path, *dir = strdup(core), *slash;
	bool is_pid = !strncmp(core, "/pid-", 5);

	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (!is_pid && access(slash ? (*dir ? dir : "/") : ".", W_OK) == 0) {
		free(dir);
		return asprintf(&path, "%s.gcscope.db", core) < 0 ? NULL : path;
	}
	free(dir);
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *base, *real = is_pid ? strdup(core + 1) : realpath(core, NULL);

	if (xdg && *xdg)
		base = strdup(xdg);
	else if (asprintf(&base, "%s/.cache", home ? home : "/tmp") < 0)
		base = NULL;
	if (!base || !real) {
		free(base);
		free(real);
		return NULL;
	}
	for (char *p = real; *p; p++)
		*p = *p == '/' ? '_' : *p;
	char *cache_dir = NULL;

	if (asprintf(&cache_dir, "%s/gcscope", base) < 0)
		cache_dir = NULL;
	if (cache_dir) {
		mkdir(base, 0700);
		mkdir(cache_dir, 0700);
	}
	if (!cache_dir || asprintf(&path, "%s/%s.db", cache_dir, real) < 0)
		path = NULL;
	free(cache_dir);
	free(base);
	free(real);
	return path;
}

static int analysis_rerun(int argc, char **argv, int skip, const char *db);

/*
 * COMMAND --pid PID ...: a fresh snapshot of the process each time (it
 * changes), kept in the cache directory as pid-PID.db.
 */
static int analysis_on_pid(int argc, char **argv)
{
	char *end, *db;
	long pid = strtol(argv[3], &end, 10);

	if (*end || pid <= 0 || pid > INT32_MAX)
		return usage_error("--pid needs a process id, not '%s'", argv[3]);
	char name[64];

	snprintf(name, sizeof(name), "/pid-%ld", pid);
	db = cache_path(name);
	if (!db) {
		fprintf(stderr, "error: no place to cache a snapshot of process "
				"%ld; run gcscope snapshot --db\n", pid);
		return EXIT_FATAL;
	}
	struct snapshot_options so = {
		.source = SNAPSHOT_PID,
		.pid = pid,
		.db = db,
		.quiet = 1,
	};
	double pause_ms = 0;
	int status = snapshot(&so, &pause_ms);

	if (status != EXIT_OK && status != EXIT_PARTIAL) {
		free(db);
		return status;
	}
	fprintf(stderr, "process %ld stopped for %.1f ms; snapshot in %s\n", pid,
		pause_ms, db);
	status = analysis_rerun(argc, argv, 2, db);
	free(db);
	return status;
}

/*
 * COMMAND --core CORE [--exe EXE] ...: snapshot the core into its cache,
 * unless a snapshot newer than the core is there, and answer from that.
 */
static int analysis_on_core(int argc, char **argv)
{
	const char *core = argv[3], *exe = NULL;
	int skip = 2;
	struct stat core_st, db_st;

	if (!strcmp(argv[2], "--pid"))
		return analysis_on_pid(argc, argv);
	if (argc > 5 && !strcmp(argv[4], "--exe")) {
		exe = argv[5];
		skip = 4;
	}
	if (stat(core, &core_st) != 0) {
		fprintf(stderr, "error: cannot open core '%s': %s\n", core,
			strerror(errno));
		return EXIT_FATAL;
	}
	char *db = cache_path(core);

	if (!db) {
		fprintf(stderr, "error: no place to cache a snapshot of '%s'; "
				"run gcscope snapshot --db\n", core);
		return EXIT_FATAL;
	}
	if (stat(db, &db_st) != 0 || db_st.st_mtime < core_st.st_mtime) {
		struct snapshot_options so = {
			.source = SNAPSHOT_CORE,
			.core = core,
			.exe = exe,
			.db = db,
			.quiet = 1,
		};
		int status = snapshot(&so, NULL);

		if (status != EXIT_OK && status != EXIT_PARTIAL) {
			free(db);
			return status;
		}
		fprintf(stderr, "snapshot of %s in %s\n", core, db);
	}
	int status = analysis_rerun(argc, argv, skip, db);

	free(db);
	return status;
}

// The command line again, with @p db for the @p skip words of --core/--pid.
static int analysis_rerun(int argc, char **argv, int skip, const char *db)
{
	char **args = calloc(argc + 1, sizeof(*args));

	if (!args)
		return report(&err_nomem);
	int n = 0;

	args[n++] = argv[0];
	args[n++] = argv[1];
	args[n++] = (char *)db;
	for (int i = 2 + skip; i < argc; i++)
		args[n++] = argv[i];
	int status = analysis_command(n, args);

	free(args);
	return status;
}

static int analysis_command(int argc, char **argv)
{
	struct report_options o;
	struct err *err;
	bool found;

	if (argc > 3 && (!strcmp(argv[2], "--core") || !strcmp(argv[2], "--pid")))
		return analysis_on_core(argc, argv);
	err = report_parse(argc, argv, &o);
	if (err && err->code == ERR_USAGE) {
		fprintf(stderr, "error: %s\nusage: %s\n(gcscope %s --help says "
			"more)\n", err->message, report_usage(argv[1]),
			argv[1]);
		err_destroy(err);
		return EXIT_USAGE;
	}
	if (err)
		return report(err);
	if (o.help) {
		printf("usage: %s\n\n%s", report_usage(o.name),
		       report_help(o.name));
		return EXIT_OK;
	}
	err = report_run(&o, stdout, stderr, &found);
	if (err && err->code == ERR_NOTFOUND) {
		report(err);
		return EXIT_NOTFOUND;
	}
	if (err)
		return report(err);
	return found ? EXIT_OK : EXIT_NOTFOUND;
}

int main(int argc, char **argv)
{
	enum {
		OPT_CORE = 256, OPT_EXE, OPT_DB, OPT_DEBUGINFO, OPT_QUIET,
		OPT_LAYOUT, OPT_NO_DEFAULT_DEBUGINFO, OPT_PID, OPT_NO_STOP,
	};
	static const struct option long_options[] = {
		{ "core", required_argument, NULL, OPT_CORE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "no-stop", no_argument, NULL, OPT_NO_STOP },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "db", required_argument, NULL, OPT_DB },
		{ "debuginfo", required_argument, NULL, OPT_DEBUGINFO },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "layout", required_argument, NULL, OPT_LAYOUT },
		{ "no-default-debuginfo", no_argument, NULL,
		  OPT_NO_DEFAULT_DEBUGINFO },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct snapshot_options o = { 0 };
	const char *debuginfo[17];
	int ndebuginfo = 0, c;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")
			  || !strcmp(argv[1], "help"))) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("gcscope %s\n", GCSCOPE_VERSION);
		return EXIT_OK;
	}
	if (argc < 2)
		return usage_error("no command given%s", "");
	if (!strcmp(argv[1], "layout"))
		return layout_command(argc, argv);
	if (report_is_command(argv[1]))
		return analysis_command(argc, argv);
	if (strcmp(argv[1], "snapshot"))
		return usage_error("unknown command '%s'", argv[1]);
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_CORE:
			o.source = SNAPSHOT_CORE;
			o.core = optarg;
			break;
		case OPT_PID: {
			char *end;
			long pid = strtol(optarg, &end, 10);

			if (*end || pid <= 0 || pid > INT32_MAX)
				return usage_error("--pid needs a process id, "
						   "not '%s'", optarg);
			o.source = SNAPSHOT_PID;
			o.pid = pid;
			break;
		}
		case OPT_NO_STOP:
			o.no_stop = true;
			break;
		case OPT_EXE:
			o.exe = optarg;
			break;
		case OPT_DB:
			o.db = optarg;
			break;
		case OPT_DEBUGINFO:
			if (ndebuginfo == 16)
				return usage_error("too many --debuginfo%s",
						   "");
			debuginfo[ndebuginfo++] = optarg;
			break;
		case OPT_QUIET:
			o.quiet = 1;
			break;
		case OPT_NO_DEFAULT_DEBUGINFO:
			o.no_default_debuginfo = true;
			break;
		case OPT_LAYOUT:
			if (!strcmp(optarg, "auto"))
				o.layout = LAYOUT_CHOOSE_AUTO;
			else if (!strcmp(optarg, "dwarf"))
				o.layout = LAYOUT_CHOOSE_DWARF;
			else if (!strcmp(optarg, "debug-offsets"))
				o.layout = LAYOUT_CHOOSE_DEBUG_OFFSETS;
			else if (!strcmp(optarg, "builtin"))
				o.layout = LAYOUT_CHOOSE_BUILTIN;
			else
				return usage_error("unknown layout source '%s'",
						   optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			return usage_error("unknown or incomplete option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o.core == !o.pid)
		return usage_error("snapshot needs --core CORE or --pid PID%s",
				   "");
	if (o.pid && o.exe)
		return usage_error("--exe goes with --core%s", "");
	if (o.no_stop && !o.pid)
		return usage_error("--no-stop goes with --pid%s", "");
	if (!o.db)
		return usage_error("snapshot needs --db OUT.db%s", "");
	debuginfo[ndebuginfo] = NULL;
	o.debuginfo = debuginfo;
	return snapshot(&o, NULL);
}
