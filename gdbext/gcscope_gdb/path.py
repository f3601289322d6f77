# SPDX-License-Identifier: MIT
"""py-path: why an object is alive."""

import gdb

from gcscope_gdb import utils

USAGE = 'py-path ADDR'


class PyPath(gdb.Command):
    """Show the shortest chain of references from a root to a Python object.
Usage: py-path ADDR

ADDR is any gdb expression whose value is the object's address: a
pointer (op, $rdi, (PyObject *)0x7f3a1c2d4e50), an integer (0x7f3a...,
$var) or the object itself (*op).

One line per step, root first: 'LABEL -> ADDR TYPE PREVIEW'; the first
label names the root (a thread's frame and local, sys.modules, ...), the
others how each object refers to the next ('.attr', "['key']", '[3]'):

  gc.garbage  ->  0x7f059ebe8080  list    len=10
  [0]         ->  0x7f059e8d01d0  Orphan  -

If no root reaches the object, one line says so, and whether it is
garbage.

The heap is that of the live process or the core gdb has loaded: the
first command after the inferior stops takes a snapshot of it with the
gcscope analyzer, the others reuse it (see 'help py-snapshot')."""

    def __init__(self):
        super().__init__('py-path', gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        addr = utils.address('py-path', USAGE, arg.strip())
        utils.report('path', ['0x%x' % addr])


PyPath()
