# SPDX-License-Identifier: MIT
"""py-referrers: what refers to an object."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-referrers [--limit N] ADDR'


class PyReferrers(gdb.Command):
    """List the references to a Python object: what keeps it alive.
Usage: py-referrers [--limit N] ADDR

ADDR is any gdb expression whose value is the object's address: a
pointer (op, $rdi, (PyObject *)0x7f3a1c2d4e50), an integer (0x7f3a...,
$var) or the object itself (*op).

One line per reference, under a header: 'referrer type kind label repr',
the referring object's address and type, the kind of reference
(traverse: what gc.get_referents() sees; strong: an owned reference the
collector does not visit; borrowed: a weakref's; conservative: a word
of an object gcscope does not decode), how it refers ('owner',
"['OWNER']", '[3]') and a preview of the referrer.

  --limit N  print at most N references (default 50), then how many more
             there are; 0: all

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-referrers', gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        args, expr = utils.take_limit('py-referrers', USAGE, arg)
        addr = utils.address('py-referrers', USAGE, expr)
        utils.report('referrers', ['0x%x' % addr] + args)


PyReferrers()
