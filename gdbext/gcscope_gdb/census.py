# SPDX-License-Identifier: MIT
"""py-census: what pymalloc's arenas hold."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-census [--limit N]'


class PyCensus(gdb.Command):
    """Show what pymalloc's arenas hold: totals, blocks by size class, bytes by type.
Usage: py-census [--limit N]

gcscope reads every arena and pool of pymalloc (the allocator of every
object of up to 512 bytes) and accounts for each allocated block: an
object found, a buffer of one (list items, dict keys and values, set
tables), or nothing found -- memory no object accounts for.  It prints a
line of totals, the objects found in the arenas only (nothing found
refers to them: a leaked str or float of a C extension shows here and in
py-leaks as 'unreferenced'), then a line per block size ('block_size
pools blocks used free objects buffers unknown used_bytes
unknown_bytes'), then the bytes per type, most first ('type what blocks
bytes arena_found type_addr').  Objects over 512 bytes come from malloc
and are not counted.

  --limit N  print at most N types (default 50), then how many more
             there are; 0: all

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-census', gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        args, rest = utils.parse('py-census', USAGE, arg, {'--limit': utils.count})
        utils.no_arguments('py-census', USAGE, rest)
        utils.report('census', args)


PyCensus()
