# SPDX-License-Identifier: MIT
"""py-referents: what an object refers to."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-referents [--limit N] ADDR'


class PyReferents(gdb.Command):
    """List the references a Python object holds.
Usage: py-referents [--limit N] ADDR

ADDR is any gdb expression whose value is the object's address: a
pointer (op, $rdi, (PyObject *)0x7f3a1c2d4e50), an integer (0x7f3a...,
$var) or the object itself (*op).

One line per reference, under a header: 'referent type kind label
repr', the address and type of the object referred to, the kind of
reference (traverse, strong, borrowed, conservative: see 'help
py-referrers'), how the object refers to it ('finalized', "['key']",
'[3]') and a preview of it.

  --limit N  print at most N references (default 50), then how many more
             there are; 0: all

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-referents', gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        args, expr = utils.take_limit('py-referents', USAGE, arg)
        addr = utils.address('py-referents', USAGE, expr)
        utils.report('referents', ['0x%x' % addr] + args)


PyReferents()
