# SPDX-License-Identifier: MIT
"""py-garbage: gc.garbage and what the next collection would free."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-garbage [--limit N]'


class PyGarbage(gdb.Command):
    """Show gc.garbage and what the next collection of the Python heap would free.
Usage: py-garbage [--limit N]

First a line per reason - 'gc.garbage' (what the collector left in
gc.garbage) and 'unreachable' (what the next full collection would find
unreachable and free) - with its objects, bytes and how many of them
have a finalizer (__del__, which runs first and may resurrect them):

  unreachable: 39 objects, 4296 bytes, 1 with a finalizer (the next collection would free them)

then the objects grouped by reason and type, most first ('reason type
objects bytes finalizers type_addr'), then the objects themselves
('reason addr type size finalizer repr', finalizer yes or no).

  --limit N  print at most N rows of each table (default 50), then how
             many more there are; 0: all

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-garbage', gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        args, rest = utils.parse('py-garbage', USAGE, arg, {'--limit': utils.count})
        utils.no_arguments('py-garbage', USAGE, rest)
        utils.report('garbage', args)


PyGarbage()
