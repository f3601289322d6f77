# SPDX-License-Identifier: MIT
"""py-leaks: reference counts the references found do not explain."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-leaks [--limit N]'


class PyLeaks(gdb.Command):
    """Show the reference-count anomalies of the Python heap, by type then one by one.
Usage: py-leaks [--limit N]

Each object's ob_refcnt is compared with the references to it found in
the heap and its roots.  First a line per type and kind ('type kind
objects refs type_addr'), most objects first, then each object ('kind
addr type refcnt referrers difference repr detail'), worst first within
each kind:

  deficit       refcnt < referrers: a Py_DECREF too many; the object
                will be freed while still in use
  unreferenced  refcnt > 0 but nothing refers to it: a leaked object
  excess        refcnt > referrers: a leaked Py_INCREF (difference is
                how many references leaked)

Some anomalies are expected on a healthy heap (what C code holds: the
arguments of the C call a thread is blocked in, extension statics, ...;
see README.md).

  --limit N  print at most N rows of each table (default 50), then how
             many more there are; 0: all

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-leaks', gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        args, rest = utils.parse('py-leaks', USAGE, arg, {'--limit': utils.count})
        utils.no_arguments('py-leaks', USAGE, rest)
        utils.report('leaks', args)


PyLeaks()
