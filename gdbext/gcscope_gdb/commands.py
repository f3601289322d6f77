# SPDX-License-Identifier: MIT
"""The gdb commands, one table: each py- command, the gcscope command it
runs, and how it reads its argument.  What 'help py-NAME' prints comes
from the analyzer's own table of commands (gcscope help --gdb), read once
when the commands are registered; without an analyzer each command gets a
one-line help, and fails when used as every command does then.
"""

import os
import shutil

import gdb

from gcscope_gdb import analyzer, target, utils


def _report_options(options):
    """A command that takes only options: report with them."""
    def invoke(cmd, arg):
        args, rest = utils.parse(cmd.name, cmd.usage, arg, options)
        utils.no_arguments(cmd.name, cmd.usage, rest)
        utils.report(cmd.command, args)
    return invoke


def _report_address(limit):
    """A command that takes an object's address (a gdb expression), and
    --limit N before or after it if limit."""
    def invoke(cmd, arg):
        if limit:
            args, expr = utils.take_limit(cmd.name, cmd.usage, arg)
        else:
            args, expr = [], arg.strip()
        addr = utils.address(cmd.name, cmd.usage, expr)
        utils.report(cmd.command, ['0x%x' % addr] + args)
    return invoke


def _sql(cmd, arg):
    args, statement = utils.take_limit(cmd.name, cmd.usage, arg)
    # No statement begins with a quote: one around it all is the user's.
    if len(statement) >= 2 and statement[0] in '"\'' and statement[-1] == statement[0]:
        statement = statement[1:-1]
    if not statement.strip():
        raise gdb.GdbError('%s: needs a STATEMENT; usage: %s' % (cmd.name, cmd.usage))
    utils.report(cmd.command, args + ['--', statement])


def _snapshot(cmd, arg):
    words = gdb.string_to_argv(arg)
    if len(words) > 1:
        raise gdb.GdbError("%s: unexpected argument '%s'; usage: %s"
                           % (cmd.name, words[1], cmd.usage))
    if not words:
        snap = target.refresh()
        gdb.write('%s\n' % snap.summary())
        return
    dest = os.path.abspath(os.path.expanduser(words[0]))
    snap = target.get()
    if os.path.isdir(dest):
        raise gdb.GdbError("%s: '%s' is a directory" % (cmd.name, dest))
    tmp = '%s.tmp%d' % (dest, os.getpid())
    try:
        shutil.copyfile(snap.db, tmp)
        os.rename(tmp, dest)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise gdb.GdbError("%s: cannot write '%s': %s" % (cmd.name, dest, e.strerror or e))
    gdb.write('snapshot of %s saved to %s\n' % (snap.target.describe(), dest))


_LIMIT = {'--limit': utils.count}

# (gdb command, gcscope command, how it reads its argument, completer)
COMMANDS = [
    ('py-snapshot', 'snapshot', _snapshot, gdb.COMPLETE_FILENAME),
    ('py-cycles', 'cycles', _report_options({
        '--limit': utils.count, '--type': utils.text, '--garbage-only': None,
        '--members': utils.count}), gdb.COMPLETE_NONE),
    ('py-garbage', 'garbage', _report_options(_LIMIT), gdb.COMPLETE_NONE),
    ('py-leaks', 'leaks', _report_options({'--limit': utils.count, '--all': None}),
     gdb.COMPLETE_NONE),
    ('py-census', 'census', _report_options(_LIMIT), gdb.COMPLETE_NONE),
    ('py-path', 'path', _report_address(False), gdb.COMPLETE_EXPRESSION),
    ('py-referrers', 'referrers', _report_address(True), gdb.COMPLETE_EXPRESSION),
    ('py-referents', 'referents', _report_address(True), gdb.COMPLETE_EXPRESSION),
    ('py-types', 'types', _report_options(_LIMIT), gdb.COMPLETE_NONE),
    ('py-sql', 'sql', _sql, gdb.COMPLETE_NONE),
]


def _help():
    """{gdb command: (usage, doc)} from the analyzer; {} if there is none
    or it cannot tell."""
    try:
        return {c['name']: (c['usage'], c['doc'])
                for c in analyzer.help_gdb()['commands']}
    except (gdb.GdbError, KeyError, TypeError):
        return {}


class GcscopeCommand(gdb.Command):
    """A py- command: its argument read by invoke_fn, the snapshot given
    to the analyzer's command."""

    def __init__(self, name, command, invoke_fn, complete, usage):
        self.name = name
        self.command = command
        self.usage = usage
        self._invoke = invoke_fn
        super().__init__(name, gdb.COMMAND_DATA, complete)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        self._invoke(self, arg)


def register():
    """Define every command of COMMANDS in gdb."""
    helps = _help()
    for name, command, invoke_fn, complete in COMMANDS:
        usage, doc = helps.get(name, (name + ' ...', None))
        if doc is None:
            doc = ("Run 'gcscope %s' on the inferior's Python heap (the gcscope "
                   "analyzer, which has this command's help, is not found)." % command)
        cls = type(name.replace('-', '_'), (GcscopeCommand,), {'__doc__': doc})
        cls(name, command, invoke_fn, complete, usage)
