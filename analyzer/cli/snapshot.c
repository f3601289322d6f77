/* SPDX-License-Identifier: MIT */
/*
 * gcscope snapshot, and the snapshots the analysis commands take of a core
 * or a process given in place of a database (kept in a cache).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/pipeline.h"
#include "cli/cli.h"

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
		return fail(err);
	return r.walk.truncated || r.partial ? EXIT_RESERVATION : EXIT_OK;
}

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

static int rerun(const struct command *c, int argc, char **argv, int skip,
		 const char *db);

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * COMMAND --pid PID ...: a fresh snapshot of the process each time (it
 * changes), in the cache directory as pid-PID-GCSCOPEPID.db while the
 * command runs, removed after it: gcscope snapshot --pid PID --db FILE
 * keeps one.
 */
static int report_on_pid(const struct command *c, int argc, char **argv)
{
	char *end, *db;
	long pid = strtol(argv[3], &end, 10);

	if (*end || pid <= 0 || pid > INT32_MAX)
		return usage_error(c, "--pid needs a process id, not '%s'", argv[3]);
	char name[64];

	snprintf(name, sizeof(name), "/pid-%ld-%ld", pid, (long)getpid());
	db = cache_path(name);
	if (!db) {
		fprintf(stderr, "error: no place to cache a snapshot of process "
				"%ld; run gcscope snapshot --db\n", pid);
		return EXIT_FAILED;
	}
	struct snapshot_options so = {
		.source = SNAPSHOT_PID,
		.pid = pid,
		.db = db,
		.quiet = 1,
	};
	double pause_ms = 0;
	int status = snapshot(&so, &pause_ms);

	if (status != EXIT_OK && status != EXIT_RESERVATION) {
		free(db);
		return status;
	}
	fprintf(stderr, "process %ld stopped for %.1f ms (gcscope snapshot "
			"--pid %ld --db FILE keeps a snapshot)\n", pid, pause_ms,
		pid);
	status = rerun(c, argc, argv, 2, db);
	if (unlink(db) != 0 && errno != ENOENT)
		fprintf(stderr, "warning: cannot remove '%s': %s\n", db,
			strerror(errno));
	free(db);
	return status;
}

/*
 * COMMAND --core CORE [--exe EXE] [--sysroot DIR] [--debuginfo DIR]... ...:
 * snapshot the core into its cache, unless a snapshot newer than the core
 * is there, and answer from that.
 */
int report_on_target(const struct command *c, int argc, char **argv)
{
	const char *core = argv[3], *exe = NULL, *sysroot = NULL;
	const char *debuginfo[17];
	int skip = 2, ndebuginfo = 0;
	struct stat core_st, db_st;

	if (!strcmp(argv[2], "--pid"))
		return report_on_pid(c, argc, argv);
	// The snapshot's own options, right after CORE.
	while (2 + skip + 1 < argc) {
		const char *opt = argv[2 + skip], *arg = argv[3 + skip];

		if (!strcmp(opt, "--exe")) {
			exe = arg;
		} else if (!strcmp(opt, "--sysroot")) {
			if (!is_dir(arg))
				return usage_error(c, "--sysroot '%s' is not a "
						   "directory", arg);
			sysroot = arg;
		} else if (!strcmp(opt, "--debuginfo")) {
			if (ndebuginfo == 16)
				return usage_error(c, "too many --debuginfo");
			debuginfo[ndebuginfo++] = arg;
		} else {
			break;
		}
		skip += 2;
	}
	debuginfo[ndebuginfo] = NULL;
	if (stat(core, &core_st) != 0) {
		fprintf(stderr, "error: cannot open core '%s': %s\n", core,
			strerror(errno));
		return EXIT_FAILED;
	}
	char *db = cache_path(core);

	if (!db) {
		fprintf(stderr, "error: no place to cache a snapshot of '%s'; "
				"run gcscope snapshot --db\n", core);
		return EXIT_FAILED;
	}
	if (stat(db, &db_st) != 0 || db_st.st_mtime < core_st.st_mtime) {
		struct snapshot_options so = {
			.source = SNAPSHOT_CORE,
			.core = core,
			.exe = exe,
			.sysroot = sysroot,
			.debuginfo = debuginfo,
			.db = db,
			.quiet = 1,
		};
		int status = snapshot(&so, NULL);

		if (status != EXIT_OK && status != EXIT_RESERVATION) {
			free(db);
			return status;
		}
		fprintf(stderr, "snapshot of %s in %s\n", core, db);
	}
	int status = rerun(c, argc, argv, skip, db);

	free(db);
	return status;
}

// The command line again, with @p db for the @p skip words of --core/--pid.
static int rerun(const struct command *c, int argc, char **argv, int skip,
		 const char *db)
{
	char **args = calloc(argc + 1, sizeof(*args));

	if (!args)
		return fail(&err_nomem);
	int n = 0;

	args[n++] = argv[0];
	args[n++] = argv[1];
	args[n++] = (char *)db;
	for (int i = 2 + skip; i < argc; i++)
		args[n++] = argv[i];
	int status = report_main(c, n, args);

	free(args);
	return status;
}

// gcscope snapshot (--core CORE [--exe EXE] | --pid PID [--no-stop]
//                   [--max-pause MS]) ...
int snapshot_main(const struct command *c, int argc, char **argv)
{
	enum {
		OPT_CORE = 256, OPT_EXE, OPT_DB, OPT_DEBUGINFO, OPT_QUIET,
		OPT_LAYOUT, OPT_NO_DEFAULT_DEBUGINFO, OPT_PID, OPT_NO_STOP,
		OPT_MAX_PAUSE, OPT_SYSROOT,
	};
	static const struct option long_options[] = {
		{ "core", required_argument, NULL, OPT_CORE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "no-stop", no_argument, NULL, OPT_NO_STOP },
		{ "max-pause", required_argument, NULL, OPT_MAX_PAUSE },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
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
	int ndebuginfo = 0, opt;

	optind = 2;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_CORE:
			o.source = SNAPSHOT_CORE;
			o.core = optarg;
			break;
		case OPT_PID: {
			char *end;
			long pid = strtol(optarg, &end, 10);

			if (*end || pid <= 0 || pid > INT32_MAX)
				return usage_error(c, "--pid needs a process id, "
						   "not '%s'", optarg);
			o.source = SNAPSHOT_PID;
			o.pid = pid;
			break;
		}
		case OPT_NO_STOP:
			o.no_stop = true;
			break;
		case OPT_MAX_PAUSE: {
			char *end;
			double ms = strtod(optarg, &end);

			if (*end || end == optarg || !(ms > 0) || ms > 3.6e6)
				return usage_error(c, "--max-pause needs a time in "
						   "milliseconds, not '%s'", optarg);
			o.max_pause_ms = ms;
			break;
		}
		case OPT_EXE:
			o.exe = optarg;
			break;
		case OPT_SYSROOT:
			o.sysroot = optarg;
			break;
		case OPT_DB:
			o.db = optarg;
			break;
		case OPT_DEBUGINFO:
			if (ndebuginfo == 16)
				return usage_error(c, "too many --debuginfo");
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
				return usage_error(c, "unknown layout source '%s'",
						   optarg);
			break;
		case 'h':
			help_print_command(c, stdout);
			return EXIT_OK;
		default:
			return usage_error(c, "unknown or incomplete option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (!o.core == !o.pid)
		return usage_error(c, "snapshot needs --core CORE or --pid PID");
	if (o.pid && o.exe)
		return usage_error(c, "--exe goes with --core");
	if (o.pid && o.sysroot)
		return usage_error(c, "--sysroot goes with --core");
	if (o.sysroot && !is_dir(o.sysroot))
		return usage_error(c, "--sysroot '%s' is not a directory",
				   o.sysroot);
	if (o.no_stop && !o.pid)
		return usage_error(c, "--no-stop goes with --pid");
	if (o.max_pause_ms && (!o.pid || o.no_stop))
		return usage_error(c, "--max-pause goes with --pid, without "
				   "--no-stop");
	if (!o.db)
		return usage_error(c, "snapshot needs --db OUT.db");
	debuginfo[ndebuginfo] = NULL;
	o.debuginfo = debuginfo;
	return snapshot(&o, NULL);
}

