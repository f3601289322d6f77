# SPDX-License-Identifier: MIT
"""py-sql: a read-only SQL query of the snapshot."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-sql [--limit N] STATEMENT'


class PySql(gdb.Command):
    """Run a read-only SQL statement on the snapshot of the Python heap.
Usage: py-sql [--limit N] STATEMENT

STATEMENT is the rest of the line, one SELECT (or read-only PRAGMA),
in quotes or not:

  py-sql SELECT type, count, bytes FROM type_histogram LIMIT 5
  py-sql "SELECT printf('%#x', addr), repr FROM objects WHERE type = 'Owner'"

Its rows are printed under a header of the column names, NULL as NULL.
The tables and views are those of schema/ (objects, edges, types,
cycles, cycle_summary, cycle_edges, referrers, referents, roots, reach,
garbage, anomalies, ...); addresses are integers: write them in hex.
A statement that writes is refused; the database is opened read-only.

  --limit N  print at most N rows (default 50), then how many more there
             are; 0: all

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-sql', gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        args, statement = utils.take_limit('py-sql', USAGE, arg)
        # No statement begins with a quote: one around it all is the user's.
        if len(statement) >= 2 and statement[0] in '"\'' and statement[-1] == statement[0]:
            statement = statement[1:-1]
        if not statement.strip():
            raise gdb.GdbError('py-sql: needs a STATEMENT; usage: %s' % USAGE)
        utils.report('sql', args + ['--', statement])


PySql()
