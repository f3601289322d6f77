# SPDX-License-Identifier: MIT
"""py-cycles: the reference cycles of the Python heap."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-cycles [--limit N] [--type T] [--garbage-only] [--members N]'


class PyCycles(gdb.Command):
    """List the reference cycles of the Python heap, largest first.
Usage: py-cycles [--limit N] [--type T] [--garbage-only] [--members N]

Each cycle is a line

  cycle ID: N members; types T,...; reachable yes|no; garbage yes|no; finalizer yes|no

(reachable: a root - a thread's frame, sys.modules, ... - reaches a
member; garbage: the next full collection would free it, or it is in
gc.garbage; finalizer: a member's type has __del__), then its members,
one 'ADDR TYPE PREVIEW' line each, and the references that close the
cycle, one 'ADDR TYPE .label -> ADDR TYPE' line each:

  cycle 70: 2 members; types Owner,Finalized; reachable no; garbage yes; finalizer yes
    0x7f059e5b9670  Owner      -
    0x7f059e5b96a0  Finalized  -
    0x7f059e5b9670  Owner      .finalized  ->  0x7f059e5b96a0  Finalized
    0x7f059e5b96a0  Finalized  .owner      ->  0x7f059e5b9670  Owner

  --limit N       print at most N cycles (default 20), then how many more
                  there are; 0: all
  --type T        only cycles with a member of type T (Node, or module.Node)
  --garbage-only  only cycles that are garbage
  --members N     at most N members and N references per cycle (default
                  10); 0: all

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-cycles', gdb.COMMAND_DATA, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        args, rest = utils.parse('py-cycles', USAGE, arg, {
            '--limit': utils.count, '--type': utils.text, '--garbage-only': None,
            '--members': utils.count})
        utils.no_arguments('py-cycles', USAGE, rest)
        utils.report('cycles', args)


PyCycles()
