/* SPDX-License-Identifier: MIT */
/*
 * The commands: one table (commands[]) of what each runs, its usage, its
 * help, what each exit status means for it and its gdb command's help.
 * gcscope --help, gcscope COMMAND --help, the usage errors and the gdb
 * commands (gdbext/, which reads gcscope help --gdb) all come from it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"
#include "cli/table.h"

enum {
	DEFAULT_LIMIT = 50,    // rows per list
	DEFAULT_CYCLES = 20,   // cycles
	HELP_WIDTH = 60,       // columns a command's exit statuses are wrapped to
	HELP_ALL_WIDTH = 72,   // and those of gcscope --help
};

const struct exit_status_doc exit_statuses[NSTATUSES] = {
	[STATUS_OK] = {
		EXIT_OK, "ok",
		"snapshot: the snapshot was written; the other commands: the "
		"answer was printed",
	},
	[STATUS_RESERVATION] = {
		EXIT_RESERVATION, "reservation",
		"snapshot: the snapshot was written, but the walk was cut "
		"short (a broken collector list, a limit reached) or the core "
		"is truncated; a warning says where; path, referrers, "
		"referents: ADDR is not an object of the snapshot; path: no "
		"root reaches ADDR (it says so, and "
		"whether ADDR is garbage); layout --check: an entry differs "
		"from the built-in table",
	},
	[STATUS_FAILED] = {
		EXIT_FAILED, "failed",
		"snapshot: nothing was written: the input is not a CPython "
		"core, its layout is unknown, copying a --pid would have "
		"stopped it longer than --max-pause, or the database could not "
		"be written; the other commands: the database cannot be read "
		"(missing, not a gcscope database, a schema version other than "
		"1 to 4, version 1 for garbage, leaks and path, below 3 for "
		"census), or the sql STATEMENT is not exactly one read-only "
		"statement, does not compile or fails; layout: FILE cannot be "
		"read or its version is unknown",
	},
	[STATUS_USAGE] = {
		EXIT_USAGE, "usage",
		"the command line is wrong",
	},
	[STATUS_SANITIZER] = {
		EXIT_SANITIZER, "sanitizer",
		"a sanitizer report (AddressSanitizer, UBSan) — only in "
		"SANITIZE=1 builds",
	},
};

/* Texts several commands share. */

#define HELP_OPTIONS \
	"  --limit N  print at most N rows, then a line saying how\n" \
	"             many more there are; 0 prints all\n" \
	"  --json     print a JSON array of objects, one per row,\n" \
	"             keyed by column, instead of aligned columns;\n" \
	"             addresses are numbers in JSON, 0x... in columns\n"

#define HELP_LISTS \
	"             (here an object with the lists \"types\" and\n" \
	"             \"objects\"; --limit applies to each)\n"

#define HELP_ADDR \
	"ADDR is the object's address, in hex (0x7f3a1c2d4e50) or\n" \
	"decimal.\n" \
	"\n"

#define STATUS_ANSWER "the answer was printed"
#define STATUS_DB \
	"the database cannot be read (missing, not a gcscope database, a " \
	"schema version other than 1 to 4, or without what the command " \
	"needs)"
#define STATUS_ARGS "the command line is wrong"
#define STATUS_SAN "a sanitizer report (SANITIZE=1 builds)"
// The statuses every command that reads a snapshot shares; a command
// adds its own meaning of STATUS_RESERVATION after them.
#define REPORT_STATUSES \
	[STATUS_OK] = STATUS_ANSWER, \
	[STATUS_FAILED] = STATUS_DB, \
	[STATUS_USAGE] = STATUS_ARGS, \
	[STATUS_SANITIZER] = STATUS_SAN
#define STATUS_NOT_OBJECT "ADDR is not an object of the snapshot"

#define GDB_ADDR \
	"ADDR is any gdb expression whose value is the object's address: a\n" \
	"pointer (op, $rdi, (PyObject *)0x7f3a1c2d4e50), an integer (0x7f3a...,\n" \
	"$var) or the object itself (*op).\n" \
	"\n"

/* What the help of every gdb command but py-snapshot ends with. */
static const char gdb_heap_note[] =
	"The heap is that of the live process or the core gdb has loaded: the\n"
	"first command after the inferior stops takes a snapshot of it with the\n"
	"gcscope analyzer, the others reuse it (see 'help py-snapshot').";

/* gcscope --help: around the commands' usages and summaries. */

#define INTRO \
	"Read the heap of a CPython process from a core file and write every\n" \
	"object the garbage collector tracks, every object they refer to,\n" \
	"the objects in pymalloc's arenas nothing refers to, and the\n" \
	"references between them into an SQLite database (schema/).\n"

#define SNAPSHOT_OPTIONS \
	"  --core CORE      the core file (gcore PID, or a kernel dump)\n" \
	"  --pid PID        a running process: all its threads are stopped\n" \
	"                   (ptrace, invisible to the program) while what it\n" \
	"                   touched of its writable memory is copied, then\n" \
	"                   let go; the pause and the bytes copied are printed\n" \
	"                   and kept in meta (pause_ms, copied_bytes). Needs\n" \
	"                   the right to ptrace it (same user, Yama,\n" \
	"                   CAP_SYS_PTRACE)\n" \
	"  --max-pause MS   with --pid: never stop it longer than MS\n" \
	"                   milliseconds; if the copy would take longer, let\n" \
	"                   it go at MS and write nothing (exit status 2)\n" \
	"  --no-stop        with --pid: read without stopping; the copy may be\n" \
	"                   inconsistent where the program was changing it\n" \
	"  --exe EXE        the executable that made it, if the core's own\n" \
	"                   record of it is wrong or the file has moved\n" \
	"  --sysroot DIR    a core from another machine: each file it names\n" \
	"                   (executable, shared libraries) is looked for as\n" \
	"                   DIR/its path, then at its path, then by build-id\n" \
	"                   (DIR/.build-id/xx/rest under each --debuginfo\n" \
	"                   DIR, DIR/usr/lib/debug and /usr/lib/debug); the\n" \
	"                   file at its own path comes first if it has the\n" \
	"                   build-id the core records (it is the same file)\n" \
	"                   or the core records none; a file whose build-id\n" \
	"                   is not the core's is not used (a warning names it)\n" \
	"  --db OUT.db      the database to write; replaced if it exists\n" \
	"  --debuginfo DIR  also look for separate debug info in DIR\n" \
	"                   (by build-id: DIR/.build-id/xx/rest.debug), and\n" \
	"                   for a file the core names that is missing or\n" \
	"                   another build (DIR/.build-id/xx/rest)\n" \
	"  --no-default-debuginfo\n" \
	"                   look for separate debug info only in the\n" \
	"                   --debuginfo directories, not in /usr/lib/debug\n" \
	"                   or beside the files\n" \
	"  --layout SOURCE  where CPython's struct layouts come from:\n" \
	"                   auto (default): dwarf if found, else debug-offsets\n" \
	"                   (3.13+), else builtin; dwarf: the interpreter's\n" \
	"                   debug info; debug-offsets: the _Py_DebugOffsets\n" \
	"                   the interpreter keeps in memory (3.13+), completed\n" \
	"                   by the built-in tables; builtin: gcscope's tables\n" \
	"                   for release builds of 3.6 to 3.13 on x86-64\n" \
	"  --quiet          print nothing but errors\n"

static const char analysis_intro[] =
	"The other commands read a database gcscope snapshot wrote (schema\n"
	"versions 1 to 4), opened read-only, and print one record per line in\n"
	"aligned columns, addresses as 0x...; ADDR is an object's address, in\n"
	"hex (0x7f3a1c2d4e50) or decimal:\n";

static const char analysis_options[] =
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
	"Every analysis command also takes --core CORE [--exe EXE]\n"
	"[--sysroot DIR] [--debuginfo DIR]... in place of DB, these options\n"
	"right after CORE: the core is snapshotted first, into\n"
	"CORE.gcscope.db when its directory is writable, else into\n"
	"$XDG_CACHE_HOME/gcscope (default ~/.cache/gcscope), and the\n"
	"snapshot is reused while it is newer than the core: gcscope\n"
	"cycles --core core.1234 --type Node. And\n"
	"--pid PID: a new snapshot of the running process every time, in\n"
	"that cache directory while the command runs and removed after it;\n"
	"gcscope snapshot --pid PID --db FILE keeps one to ask again.\n";

const struct command commands[] = {
	{
		.name = "snapshot",
		.main = snapshot_main,
		.usage =
		"gcscope snapshot (--core CORE [--exe EXE] [--sysroot DIR] |\n"
		"                  --pid PID [--no-stop | --max-pause MS])\n"
		"                        --db OUT.db\n"
		"                        [--layout SOURCE] [--debuginfo DIR]...\n"
		"                        [--no-default-debuginfo] [--quiet]",
		.help = INTRO "\n" SNAPSHOT_OPTIONS,
		.status = {
			[STATUS_OK] = "the snapshot was written",
			[STATUS_RESERVATION] =
			"the snapshot was written, but the walk was cut short "
			"(a broken collector list, a limit reached) or the core "
			"is truncated (what its file holds is read); a warning "
			"says where",
			[STATUS_FAILED] =
			"nothing was written: the input is not a CPython core, "
			"its layout is unknown, copying a --pid would have "
			"stopped it longer than --max-pause, or the database could "
			"not be written",
			[STATUS_USAGE] = STATUS_ARGS,
			[STATUS_SANITIZER] = STATUS_SAN,
		},
		.gdb_name = "py-snapshot",
		.gdb_summary = "Take a snapshot of the Python heap for the other "
			       "py- commands, or save it to FILE.",
		.gdb_usage = "py-snapshot [FILE]",
		.gdb_help =
		"Without FILE: take a new snapshot of the inferior and print what is in\n"
		"it.  With FILE: write the snapshot the other commands read (taking one\n"
		"if there is none) to FILE, an SQLite database for 'gcscope COMMAND FILE'\n"
		"or sqlite3 (schema/ describes it).\n"
		"\n"
		"There is no need to call it first: every py- command takes a snapshot\n"
		"when there is none, so 'py-cycles' may be the first and only thing to\n"
		"type.  A snapshot is made by the gcscope analyzer (the GCSCOPE\n"
		"environment variable, else build/gcscope beside this gdbext/, else\n"
		"gcscope on PATH):\n"
		"\n"
		"  a core gdb has loaded   gcscope snapshot --core CORE --exe EXE\n"
		"  a live process          attached or started under gdb: gdb's gcore\n"
		"                          into a temporary directory ($TMPDIR), then\n"
		"                          the same; the core is removed at once\n"
		"\n"
		"and kept while the inferior stays stopped: continuing, stepping,\n"
		"calling a function, writing its memory or loading other files drops it.\n"
		"The process itself is only read.",
	},
	{
		.name = "types",
		.main = report_main,
		.report = report_types,
		.flags = TAKES_LIMIT,
		.limit = DEFAULT_LIMIT,
		.usage = "gcscope types DB [--limit N] [--json]",
		.summary =
		"objects, bytes and tracked objects per type, most\n"
		"bytes first (the view type_histogram)\n",
		.help =
		"Print objects and bytes per type, most bytes first (the\n"
		"view type_histogram): the type's name, its objects, their\n"
		"bytes (objects.size), how many of them the collector\n"
		"tracks, and the type's address.\n"
		"\n"
		HELP_OPTIONS,
		.status = {
			REPORT_STATUSES,
		},
		.gdb_name = "py-types",
		.gdb_summary = "Show how many objects and bytes of the Python "
			       "heap each type has.",
		.gdb_usage = "py-types [--limit N]",
		.gdb_help =
		"One line per type, most bytes first, under a header: 'type objects\n"
		"bytes tracked type_addr' (tracked: objects on the collector's lists;\n"
		"bytes: their allocations, not separately allocated buffers).\n"
		"\n"
		"  --limit N  print at most N types (default 50), then how many more\n"
		"             there are; 0: all\n",
	},
	{
		.name = "cycles",
		.main = report_main,
		.report = report_cycles,
		.flags = TAKES_LIMIT | TAKES_CYCLES,
		.limit = DEFAULT_CYCLES,
		.usage =
		"gcscope cycles DB [--garbage-only] [--type T] [--members N]\n"
		"                      [--limit N] [--json]",
		.summary =
		"the reference cycles, largest first: a line per cycle\n"
		"with its size, types, whether a root reaches it,\n"
		"whether it is garbage and whether a member has __del__,\n"
		"then its members and the references between them\n"
		"(cycle_summary, cycle_edges); --garbage-only: only\n"
		"garbage cycles; --type T: only cycles with a member of\n"
		"type T; --members N: members and references shown per\n"
		"cycle (default 10)\n",
		.help =
		"Print the reference cycles, largest first (the views\n"
		"cycle_summary and cycle_edges), one block per cycle: a line\n"
		"\n"
		"  cycle ID: N members; types T,...; reachable yes|no|?;\n"
		"  garbage yes|no|?; finalizer yes|no\n"
		"\n"
		"(all on one line; reachable: a root reaches a member;\n"
		"garbage: a member is in the garbage table; finalizer: a\n"
		"member's type has __del__; ?: the database does not record\n"
		"it), then its members, one 'ADDR TYPE REPR' line each, and\n"
		"the references between them, one\n"
		"'ADDR TYPE .label -> ADDR TYPE' line each.\n"
		"\n"
		"  --garbage-only  only cycles with a member in the garbage\n"
		"                  table\n"
		"  --type T        only cycles with a member of type T: its\n"
		"                  name as objects.type has it, or\n"
		"                  module.name\n"
		"  --members N     print at most N members and N references\n"
		"                  per cycle (default 10); 0 prints all\n"
		"  --limit N       print at most N cycles (default 20), then\n"
		"                  a line saying how many more; 0: all\n"
		"  --json          print a JSON array, one object per cycle:\n"
		"                  the cycle_summary columns, then\n"
		"                  \"objects\" (its members) and \"edges\"\n"
		"                  (its references)\n",
		.status = {
			REPORT_STATUSES,
		},
		.gdb_name = "py-cycles",
		.gdb_summary = "List the reference cycles of the Python heap, "
			       "largest first.",
		.gdb_usage = "py-cycles [--limit N] [--type T] [--garbage-only] "
			     "[--members N]",
		.gdb_help =
		"Each cycle is a line\n"
		"\n"
		"  cycle ID: N members; types T,...; reachable yes|no; garbage yes|no; finalizer yes|no\n"
		"\n"
		"(reachable: a root - a thread's frame, sys.modules, ... - reaches a\n"
		"member; garbage: the next full collection would free it, or it is in\n"
		"gc.garbage; finalizer: a member's type has __del__), then its members,\n"
		"one 'ADDR TYPE PREVIEW' line each, and the references that close the\n"
		"cycle, one 'ADDR TYPE .label -> ADDR TYPE' line each:\n"
		"\n"
		"  cycle 70: 2 members; types Owner,Finalized; reachable no; garbage yes; finalizer yes\n"
		"    0x7f059e5b9670  Owner      -\n"
		"    0x7f059e5b96a0  Finalized  -\n"
		"    0x7f059e5b9670  Owner      .finalized  ->  0x7f059e5b96a0  Finalized\n"
		"    0x7f059e5b96a0  Finalized  .owner      ->  0x7f059e5b9670  Owner\n"
		"\n"
		"  --limit N       print at most N cycles (default 20), then how many more\n"
		"                  there are; 0: all\n"
		"  --type T        only cycles with a member of type T (Node, or module.Node)\n"
		"  --garbage-only  only cycles that are garbage\n"
		"  --members N     at most N members and N references per cycle (default\n"
		"                  10); 0: all\n",
	},
	{
		.name = "garbage",
		.main = report_main,
		.report = report_garbage,
		.flags = TAKES_LIMIT,
		.limit = DEFAULT_LIMIT,
		.usage = "gcscope garbage DB [--limit N] [--json]",
		.summary =
		"what gc.garbage holds and what the next collection\n"
		"would free, by type with bytes and finalizers, then\n"
		"the objects\n",
		.help =
		"Print what gc.garbage holds and what the next full\n"
		"collection would free (the garbage table): a line per\n"
		"reason with objects, bytes and how many have a finalizer\n"
		"(__del__, which runs first and may resurrect them), then\n"
		"the objects grouped by reason and type, then the objects\n"
		"themselves. When the collector does not run by itself\n"
		"(gc.disable(), or gc.set_threshold(0)) a line says so:\n"
		"what is unreachable then stays until gc.collect().\n"
		"Needs schema version 2.\n"
		"\n"
		HELP_OPTIONS
		HELP_LISTS,
		.status = {
			REPORT_STATUSES,
		},
		.gdb_name = "py-garbage",
		.gdb_summary = "Show gc.garbage and what the next collection of "
			       "the Python heap would free.",
		.gdb_usage = "py-garbage [--limit N]",
		.gdb_help =
		"First a line per reason - 'gc.garbage' (what the collector left in\n"
		"gc.garbage) and 'unreachable' (what the next full collection would find\n"
		"unreachable and free) - with its objects, bytes and how many of them\n"
		"have a finalizer (__del__, which runs first and may resurrect them):\n"
		"\n"
		"  unreachable: 39 objects, 4296 bytes, 1 with a finalizer (the next collection would free them)\n"
		"\n"
		"When the process had switched automatic collection off, a line says so:\n"
		"\n"
		"  the collector is disabled (gc.disable()): nothing is collected automatically; these 39 objects stay until gc.collect() is called\n"
		"\n"
		"then the objects grouped by reason and type, most first ('reason type\n"
		"objects bytes finalizers type_addr'), then the objects themselves\n"
		"('reason addr type size finalizer repr', finalizer yes or no).\n"
		"\n"
		"  --limit N  print at most N rows of each table (default 50), then how\n"
		"             many more there are; 0: all\n",
	},
	{
		.name = "leaks",
		.main = report_main,
		.report = report_anomalies,
		.flags = TAKES_LIMIT | TAKES_ALL,
		.limit = DEFAULT_LIMIT,
		.usage = "gcscope leaks DB [--all] [--limit N] [--json]",
		.summary =
		"reference counts the references found do not explain,\n"
		"by type, then the objects: the anomalies table\n"
		"(anomaly_types, anomalies)\n",
		.help =
		"Print the reference counts that the references found do\n"
		"not explain, which the snapshot keeps in the anomalies\n"
		"table: per type and kind first (the view anomaly_types),\n"
		"then each object (the anomalies table), worst first within\n"
		"each kind: kind (deficit, unreferenced, excess), address,\n"
		"type, refcnt, the references to it found, the difference,\n"
		"its preview and what the count left out. Needs schema\n"
		"version 2.\n"
		"\n"
		"Only suspected bugs are listed: an anomaly no holder\n"
		"explains (anomalies.cause NULL). A count higher than the\n"
		"references found is explained when words that may hold\n"
		"the rest were found: a thread's C stack, a static of a\n"
		"loaded file, a runtime struct, an object of a type gcscope\n"
		"cannot decode (schema version 4), or a leak of CPython's\n"
		"own its versions are known for; a line says how many\n"
		"were explained. A suspected one whose detail says 'only\n"
		"N words of memory point at it' (or 'no word') is a leak\n"
		"for certain: nothing anywhere holds the rest of its count.\n"
		"\n"
		"  --all      list the explained anomalies too, with their\n"
		"             cause (suspected first)\n"
		HELP_OPTIONS
		HELP_LISTS,
		.status = {
			REPORT_STATUSES,
		},
		.gdb_name = "py-leaks",
		.gdb_summary = "Show the reference-count anomalies of the Python "
			       "heap, by type then one by one.",
		.gdb_usage = "py-leaks [--all] [--limit N]",
		.gdb_help =
		"Each object's ob_refcnt is compared with the references to it found in\n"
		"the heap and its roots; what does not agree is in the snapshot's\n"
		"anomalies table.  First a line per type and kind ('type kind\n"
		"objects refs type_addr'), most objects first, then each object ('kind\n"
		"addr type refcnt referrers difference repr detail'), worst first within\n"
		"each kind:\n"
		"\n"
		"  deficit       refcnt < referrers: a Py_DECREF too many; the object\n"
		"                will be freed while still in use\n"
		"  unreferenced  refcnt > 0 but nothing refers to it: a leaked object\n"
		"  excess        refcnt > referrers: a leaked Py_INCREF (difference is\n"
		"                how many references leaked)\n"
		"\n"
		"Only suspected bugs are shown: an anomaly whose missing references no\n"
		"holder explains.  What C code holds (a thread's C stack, an extension's\n"
		"statics, a runtime struct, an object of a type gcscope cannot decode)\n"
		"explains an anomaly, and so does a reference CPython itself is known\n"
		"to leak in every process of its version: --all shows those too, with\n"
		"their cause.  A\n"
		"suspected one whose detail says 'only N words of memory point at it'\n"
		"(or 'no word') is a leak for certain: nothing anywhere holds the rest\n"
		"of its count.\n"
		"\n"
		"  --limit N  print at most N rows of each table (default 50), then how\n"
		"             many more there are; 0: all\n",
	},
	{
		.name = "census",
		.main = report_main,
		.report = report_census,
		.flags = TAKES_LIMIT,
		.limit = DEFAULT_LIMIT,
		.usage = "gcscope census DB [--limit N] [--json]",
		.summary =
		"what pymalloc's arenas hold: totals, blocks by size\n"
		"class, bytes by type, and how much no object found\n"
		"accounts for (census_classes, census_types)\n",
		.help =
		"Print what pymalloc's arenas hold: a line of totals (arenas,\n"
		"pools in use, bytes in allocated blocks: holding objects,\n"
		"buffers of objects, or nothing found -- memory no object\n"
		"accounts for; free blocks), then the blocks by size class\n"
		"(the view census_classes), then the bytes by type (the view\n"
		"census_types: objects of the type, or buffers they own --\n"
		"list items, dict keys and values, set tables), most first,\n"
		"with how many of the objects only the census found (nothing\n"
		"found refers to them). Objects over 512 bytes come from\n"
		"malloc, not pymalloc: they are not counted here. Needs\n"
		"schema version 3.\n"
		"\n"
		HELP_OPTIONS
		"             (here an object with \"totals\", \"classes\"\n"
		"             and \"types\"; --limit applies to types)\n",
		.status = {
			REPORT_STATUSES,
		},
		.gdb_name = "py-census",
		.gdb_summary = "Show what pymalloc's arenas hold: totals, blocks "
			       "by size class, bytes by type.",
		.gdb_usage = "py-census [--limit N]",
		.gdb_help =
		"gcscope reads every arena and pool of pymalloc (the allocator of every\n"
		"object of up to 512 bytes) and accounts for each allocated block: an\n"
		"object found, a buffer of one (list items, dict keys and values, set\n"
		"tables), or nothing found -- memory no object accounts for.  It prints a\n"
		"line of totals, the objects found in the arenas only (nothing found\n"
		"refers to them: a leaked str or float of a C extension shows here and in\n"
		"py-leaks as 'unreferenced'), then a line per block size ('block_size\n"
		"pools blocks used free objects buffers unknown used_bytes\n"
		"unknown_bytes'), then the bytes per type, most first ('type what blocks\n"
		"bytes arena_found type_addr').  Objects over 512 bytes come from malloc\n"
		"and are not counted.\n"
		"\n"
		"  --limit N  print at most N types (default 50), then how many more\n"
		"             there are; 0: all\n",
	},
	{
		.name = "path",
		.main = report_main,
		.report = report_path,
		.flags = TAKES_ADDR,
		.usage = "gcscope path DB ADDR [--json]",
		.summary =
		"the shortest chain of references from a root to ADDR,\n"
		"root first (reach); or that no root reaches it, and\n"
		"whether it is garbage\n",
		.help =
		"Print the shortest chain of references from a root to\n"
		"ADDR (the reach table), root first, one\n"
		"'LABEL -> ADDR TYPE REPR' line per step: the first label is\n"
		"the root's ('sys.modules', a thread's frame and local), the\n"
		"others how each object refers to the next ('.attr',\n"
		"\"['key']\", '[3]'). If no root reaches ADDR, say so, and\n"
		"whether it is garbage. Needs schema version 2.\n"
		"\n"
		HELP_ADDR
		"  --json     print a JSON array of the steps, root first\n",
		.status = {
			[STATUS_OK] = "the chain was printed",
			[STATUS_RESERVATION] =
			"ADDR is not an object of the snapshot, or no root "
			"reaches it",
			[STATUS_FAILED] =
			"the database cannot be read (missing, not a gcscope "
			"database, a schema version other than 1 to 4, or "
			"version 1)",
			[STATUS_USAGE] = STATUS_ARGS,
			[STATUS_SANITIZER] = STATUS_SAN,
		},
		.gdb_name = "py-path",
		.gdb_summary = "Show the shortest chain of references from a root "
			       "to a Python object.",
		.gdb_usage = "py-path ADDR",
		.gdb_help =
		GDB_ADDR
		"One line per step, root first: 'LABEL -> ADDR TYPE PREVIEW'; the first\n"
		"label names the root (a thread's frame and local, sys.modules, ...), the\n"
		"others how each object refers to the next ('.attr', \"['key']\", '[3]'):\n"
		"\n"
		"  gc.garbage  ->  0x7f059ebe8080  list    len=10\n"
		"  [0]         ->  0x7f059e8d01d0  Orphan  -\n"
		"\n"
		"If no root reaches the object, one line says so, and whether it is\n"
		"garbage.\n",
	},
	{
		.name = "referrers",
		.main = report_main,
		.report = report_referrers,
		.flags = TAKES_ADDR | TAKES_LIMIT,
		.limit = DEFAULT_LIMIT,
		.usage = "gcscope referrers DB ADDR [--limit N] [--json]",
		.summary =
		"what refers to ADDR: address, type, kind and label of\n"
		"each reference, preview\n",
		.help =
		"Print what refers to ADDR (the view referrers): each\n"
		"referrer's address and type, the kind of the reference\n"
		"(traverse, strong, borrowed, conservative) and its label,\n"
		"and the referrer's preview; traverse references first.\n"
		"\n"
		HELP_ADDR
		HELP_OPTIONS,
		.status = {
			REPORT_STATUSES,
			[STATUS_RESERVATION] = STATUS_NOT_OBJECT,
		},
		.gdb_name = "py-referrers",
		.gdb_summary = "List the references to a Python object: what "
			       "keeps it alive.",
		.gdb_usage = "py-referrers [--limit N] ADDR",
		.gdb_help =
		GDB_ADDR
		"One line per reference, under a header: 'referrer type kind label repr',\n"
		"the referring object's address and type, the kind of reference\n"
		"(traverse: what gc.get_referents() sees; strong: an owned reference the\n"
		"collector does not visit; borrowed: a weakref's; conservative: a word\n"
		"of an object gcscope does not decode), how it refers ('owner',\n"
		"\"['OWNER']\", '[3]') and a preview of the referrer.\n"
		"\n"
		"  --limit N  print at most N references (default 50), then how many more\n"
		"             there are; 0: all\n",
	},
	{
		.name = "referents",
		.main = report_main,
		.report = report_referents,
		.flags = TAKES_ADDR | TAKES_LIMIT,
		.limit = DEFAULT_LIMIT,
		.usage = "gcscope referents DB ADDR [--limit N] [--json]",
		.summary = "what ADDR refers to, the same way\n",
		.help =
		"Print what ADDR refers to (the view referents): each\n"
		"referent's address and type, the kind of the reference and\n"
		"its label, and the referent's preview; traverse references\n"
		"first.\n"
		"\n"
		HELP_ADDR
		HELP_OPTIONS,
		.status = {
			REPORT_STATUSES,
			[STATUS_RESERVATION] = STATUS_NOT_OBJECT,
		},
		.gdb_name = "py-referents",
		.gdb_summary = "List the references a Python object holds.",
		.gdb_usage = "py-referents [--limit N] ADDR",
		.gdb_help =
		GDB_ADDR
		"One line per reference, under a header: 'referent type kind label\n"
		"repr', the address and type of the object referred to, the kind of\n"
		"reference (traverse, strong, borrowed, conservative: see 'help\n"
		"py-referrers'), how the object refers to it ('finalized', \"['key']\",\n"
		"'[3]') and a preview of it.\n"
		"\n"
		"  --limit N  print at most N references (default 50), then how many more\n"
		"             there are; 0: all\n",
	},
	{
		.name = "sql",
		.main = report_main,
		.report = report_sql,
		.flags = TAKES_SQL | TAKES_LIMIT,
		.limit = DEFAULT_LIMIT,
		.usage = "gcscope sql DB STATEMENT [--limit N] [--json]",
		.summary =
		"run one SQL statement that only reads and print its\n"
		"rows under a header (NULL as NULL, numbers as SQLite\n"
		"has them)\n",
		.help =
		"Run one SQL statement that only reads (SELECT, a read-only\n"
		"PRAGMA) on the database, opened read-only, and print its\n"
		"rows under a header of the column names. Values are printed\n"
		"as SQLite returns them, NULL as NULL: write\n"
		"printf('%#x', addr) for an address in hex. Put -- before a\n"
		"STATEMENT that starts with '-'.\n"
		"\n"
		HELP_OPTIONS,
		.status = {
			[STATUS_OK] = "the rows were printed",
			[STATUS_FAILED] =
			"the database cannot be read, or the statement is not "
			"exactly one read-only statement, does not compile or "
			"fails",
			[STATUS_USAGE] = STATUS_ARGS,
			[STATUS_SANITIZER] = STATUS_SAN,
		},
		.gdb_name = "py-sql",
		.gdb_summary = "Run a read-only SQL statement on the snapshot of "
			       "the Python heap.",
		.gdb_usage = "py-sql [--limit N] STATEMENT",
		.gdb_help =
		"STATEMENT is the rest of the line, one SELECT (or read-only PRAGMA),\n"
		"in quotes or not:\n"
		"\n"
		"  py-sql SELECT type, count, bytes FROM type_histogram LIMIT 5\n"
		"  py-sql \"SELECT printf('%#x', addr), repr FROM objects WHERE type = 'Owner'\"\n"
		"\n"
		"Its rows are printed under a header of the column names, NULL as NULL.\n"
		"The tables and views are those of schema/ (objects, edges, types,\n"
		"cycles, cycle_summary, cycle_edges, referrers, referents, roots, reach,\n"
		"garbage, anomalies, ...); addresses are integers: write them in hex.\n"
		"A statement that writes is refused; the database is opened read-only.\n"
		"\n"
		"  --limit N  print at most N rows (default 50), then how many more there\n"
		"             are; 0: all\n",
	},
	{
		.name = "layout",
		.main = layout_main,
		.usage = "gcscope layout [--check] [--python X.Y] FILE\n"
			 "       gcscope layout --supported",
		.help =
		"Print the layout read from the DWARF of FILE (a libpython or\n"
		"a separate debug file) as a built-in table entry; with\n"
		"--check compare it with the built-in table instead, one line\n"
		"per entry that differs. --python X.Y names the version when\n"
		"FILE's name does not. gcscope layout --supported prints the\n"
		"versions gcscope reads, one X.Y a line.\n",
		.status = {
			[STATUS_OK] = "the layout was printed, or --check found "
				      "no difference, or the versions were "
				      "printed",
			[STATUS_RESERVATION] = "--check found an entry that "
					       "differs",
			[STATUS_FAILED] = "FILE cannot be read or its version "
					  "is unknown",
			[STATUS_USAGE] = STATUS_ARGS,
			[STATUS_SANITIZER] = STATUS_SAN,
		},
	},
};

const unsigned ncommands = sizeof(commands) / sizeof(commands[0]);

const struct command *command_find(const char *name)
{
	for (unsigned i = 0; i < ncommands; i++) {
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	}
	return NULL;
}

// text in lines of at most width columns, the first after what is
// already on the line (used columns), the others after indent spaces.
static void wrap(FILE *f, const char *text, size_t used, size_t indent,
		 size_t width)
{
	size_t col = used;

	while (*text) {
		size_t len = strcspn(text, " ");

		if (col > used && col + 1 + len > width) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > used) {
			putc(' ', f);
			col++;
		}
		fwrite(text, 1, len, f);
		col += len;
		text += len;
		text += strspn(text, " ");
	}
	putc('\n', f);
}

// lines with indent spaces before each but the first.
static void indent_lines(FILE *f, const char *lines, size_t indent)
{
	for (bool first = true; *lines; first = false) {
		size_t len = strcspn(lines, "\n");

		fprintf(f, "%*s%.*s\n", first ? 0 : (int)indent, "", (int)len,
			lines);
		lines += len + (lines[len] == '\n');
	}
}

static void synopsis(FILE *f)
{
	for (unsigned i = 0; i < ncommands; i++)
		fprintf(f, "%s%s\n", i ? "       " : "usage: ", commands[i].usage);
	fputs("       gcscope --help | --version | COMMAND --help\n", f);
}

void help_print_all(FILE *f)
{
	const struct command *layout = command_find("layout");

	synopsis(f);
	fprintf(f, "\n%s\n%s\n", INTRO, SNAPSHOT_OPTIONS);
	fprintf(f, "gcscope %s:\n%s\n", layout->name, layout->help);
	fprintf(f, "%s\n", analysis_intro);
	for (unsigned i = 0; i < ncommands; i++) {
		if (!commands[i].summary)
			continue;
		fprintf(f, "  %-10s ", commands[i].name);
		indent_lines(f, commands[i].summary, 13);
	}
	fprintf(f, "\n%s\nExit status:\n", analysis_options);
	for (unsigned i = 0; i < NSTATUSES; i++) {
		int n = fprintf(f, "  %-3d ", exit_statuses[i].status);

		wrap(f, exit_statuses[i].meaning, n, n, HELP_ALL_WIDTH);
	}
}

void help_print_command(const struct command *c, FILE *f)
{
	char line[512];
	int n = 0;

	fprintf(f, "usage: %s\n\n%s\n", c->usage, c->help);
	// "Exit status: 0 what; 2 what; 64 what.", wrapped.
	n = snprintf(line, sizeof(line), "Exit status:");
	for (unsigned i = 0; i < NSTATUSES; i++) {
		if (!c->status[i])
			continue;
		n += snprintf(line + n, sizeof(line) - n, "%s %d %s",
			      n > 12 ? ";" : "", exit_statuses[i].status,
			      c->status[i]);
		if (n >= (int)sizeof(line))
			n = sizeof(line) - 1;
	}
	snprintf(line + n, sizeof(line) - n, ".");
	wrap(f, line, 0, 0, HELP_WIDTH);
}

// What 'help NAME' says in gdb.
static void gdb_doc(const struct command *c, FILE *f)
{
	fprintf(f, "%s\nUsage: %s\n\n%s", c->gdb_summary, c->gdb_usage,
		c->gdb_help);
	if (strcmp(c->name, "snapshot"))
		fprintf(f, "\n%s", gdb_heap_note);
}

void help_print_gdb(FILE *f)
{
	bool first = true;

	fputs("{\"exit_statuses\": {", f);
	for (unsigned i = 0; i < NSTATUSES; i++) {
		fputs(i ? ", " : "", f);
		json_string(f, exit_statuses[i].name);
		fprintf(f, ": %d", exit_statuses[i].status);
	}
	fputs("},\n\"commands\": [", f);
	for (unsigned i = 0; i < ncommands; i++) {
		const struct command *c = &commands[i];
		char *doc = NULL;
		size_t size = 0;
		FILE *m;

		if (!c->gdb_name)
			continue;
		m = open_memstream(&doc, &size);
		if (!m)
			continue;
		gdb_doc(c, m);
		fclose(m);
		fputs(first ? "\n{\"name\": " : ",\n{\"name\": ", f);
		json_string(f, c->gdb_name);
		fputs(", \"command\": ", f);
		json_string(f, c->name);
		fputs(", \"usage\": ", f);
		json_string(f, c->gdb_usage);
		fputs(", \"doc\": ", f);
		json_string(f, doc);
		fputc('}', f);
		free(doc);
		first = false;
	}
	fputs("\n]}\n", f);
}

int usage_error(const struct command *c, const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	putc('\n', stderr);
	if (c) {
		fprintf(stderr, "usage: %s\n(gcscope %s --help says more)\n",
			c->usage, c->name);
	} else {
		synopsis(stderr);
		fputs("(gcscope --help says more)\n", stderr);
	}
	return EXIT_USAGE;
}

int fail(struct err *err)
{
	if (err->hint)
		fprintf(stderr, "error: %s; %s\n", err->message, err->hint);
	else
		fprintf(stderr, "error: %s\n", err->message);
	err_destroy(err);
	return EXIT_FAILED;
}

// gcscope help [--gdb | COMMAND]
int help_main(const struct command *c, int argc, char **argv)
{
	(void)c;
	if (argc == 2) {
		help_print_all(stdout);
		return EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[2], "--gdb")) {
		help_print_gdb(stdout);
		return EXIT_OK;
	}
	const struct command *about = argc == 3 ? command_find(argv[2]) : NULL;

	if (!about)
		return usage_error(NULL, "help takes --gdb or a command name, "
				   "not '%s'", argc > 2 ? argv[2] : "");
	help_print_command(about, stdout);
	return EXIT_OK;
}
