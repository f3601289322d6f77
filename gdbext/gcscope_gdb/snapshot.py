# SPDX-License-Identifier: MIT
"""py-snapshot: take the snapshot the other commands read, or save it."""

import os
import shutil

import gdb

from gcscope_gdb import target

USAGE = 'py-snapshot [FILE]'


class PySnapshot(gdb.Command):
    """Take a snapshot of the Python heap for the other py- commands, or save it to FILE.
Usage: py-snapshot [FILE]

Without FILE: take a new snapshot of the inferior and print what is in
it.  With FILE: write the snapshot the other commands read (taking one
if there is none) to FILE, an SQLite database for 'gcscope COMMAND FILE'
or sqlite3 (schema/ describes it).

There is no need to call it first: every py- command takes a snapshot
when there is none, so 'py-cycles' may be the first and only thing to
type.  A snapshot is made by the gcscope analyzer (the GCSCOPE
environment variable, else build/gcscope beside this gdbext/, else
gcscope on PATH):

  a core gdb has loaded   gcscope snapshot --core CORE --exe EXE
  a live process          attached or started under gdb: gdb's gcore
                          into a temporary directory ($TMPDIR), then
                          the same; the core is removed at once

and kept while the inferior stays stopped: continuing, stepping,
calling a function, writing its memory or loading other files drops it.
The process itself is only read."""

    def __init__(self):
        super().__init__('py-snapshot', gdb.COMMAND_DATA, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        words = gdb.string_to_argv(arg)
        if len(words) > 1:
            raise gdb.GdbError("py-snapshot: unexpected argument '%s'; usage: %s"
                               % (words[1], USAGE))
        if not words:
            snap = target.refresh()
            gdb.write('%s\n' % snap.summary())
            return
        dest = os.path.abspath(os.path.expanduser(words[0]))
        snap = target.get()
        if os.path.isdir(dest):
            raise gdb.GdbError("py-snapshot: '%s' is a directory" % dest)
        tmp = '%s.tmp%d' % (dest, os.getpid())
        try:
            shutil.copyfile(snap.db, tmp)
            os.rename(tmp, dest)
        except OSError as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise gdb.GdbError("py-snapshot: cannot write '%s': %s" % (dest, e.strerror or e))
        gdb.write('snapshot of %s saved to %s\n' % (snap.target.describe(), dest))


PySnapshot()
