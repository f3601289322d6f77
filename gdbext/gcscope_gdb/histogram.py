# SPDX-License-Identifier: MIT
"""py-types: objects and bytes per type."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-types [--limit N]'


class PyTypes(gdb.Command):
    """Show how many objects and bytes of the Python heap each type has.
Usage: py-types [--limit N]

One line per type, most bytes first, under a header: 'type objects
bytes tracked type_addr' (tracked: objects on the collector's lists;
bytes: their allocations, not separately allocated buffers).

  --limit N  print at most N types (default 50), then how many more
             there are; 0: all

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-types', gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        args, rest = utils.parse('py-types', USAGE, arg, {'--limit': utils.count})
        utils.no_arguments('py-types', USAGE, rest)
        utils.report('types', args)


PyTypes()
