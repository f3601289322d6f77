# SPDX-License-Identifier: MIT
"""What the commands share: their options, addresses given as gdb
expressions, and printing the analyzer's records."""

import re

import gdb

from gcscope_gdb import analyzer, target

ADDRESS_MASK = (1 << 64) - 1


def count(command, option, text):
    """The value of a count option (--limit N): an integer >= 0."""
    if not re.match(r'^[0-9]+$', text or ''):
        raise gdb.GdbError("%s: %s needs a count, not '%s'" % (command, option, text))
    return text


def text(command, option, value):
    """The value of an option that takes any text (--type T)."""
    if not value:
        raise gdb.GdbError('%s: %s needs a value' % (command, option))
    return value


def parse(command, usage, arg, options):
    """Split arg like a shell does and take the options from it.

    options maps each option to None (a flag) or to a function checking
    its value (count, text).  Returns (the options given, as a list of
    analyzer arguments, and the other words).  Raises gdb.GdbError naming
    command and its usage for an unknown option or a missing value.
    """
    words = gdb.string_to_argv(arg)
    given, rest = [], []
    k = 0
    while k < len(words):
        word = words[k]
        k += 1
        if word == '--':
            rest.extend(words[k:])
            break
        if not word.startswith('--') or word == '-':
            rest.append(word)
            continue
        name, eq, value = word.partition('=')
        if name not in options:
            raise gdb.GdbError("%s: unknown option '%s'; usage: %s" % (command, word, usage))
        check = options[name]
        if check is None:
            if eq:
                raise gdb.GdbError('%s: %s takes no value; usage: %s' % (command, name, usage))
            given.append(name)
            continue
        if not eq:
            if k >= len(words):
                raise gdb.GdbError('%s: %s needs a value; usage: %s' % (command, name, usage))
            value = words[k]
            k += 1
        given += [name, check(command, name, value)]
    return given, rest


def no_arguments(command, usage, rest):
    if rest:
        raise gdb.GdbError("%s: unexpected argument '%s'; usage: %s" % (command, rest[0], usage))


def take_limit(command, usage, arg):
    """Leading and trailing '--limit N' taken off a raw argument that is
    otherwise one expression or statement: (analyzer arguments, the rest)."""
    given = []
    rest = arg.strip()
    while True:
        match = re.match(r'^--limit(?:\s+|=)(\S+)\s*(.*)$', rest, re.S)
        if match:
            given = ['--limit', count(command, '--limit', match.group(1))]
            rest = match.group(2)
            continue
        match = re.match(r'^--\s+(.*)$', rest, re.S)
        if match:
            rest = match.group(1).strip()
            break
        if rest.startswith('--limit'):
            raise gdb.GdbError('%s: --limit needs a count; usage: %s' % (command, usage))
        match = re.match(r'^(.*?)\s+--limit(?:\s+|=)(\S+)$', rest, re.S)
        if match:
            given = ['--limit', count(command, '--limit', match.group(2))]
            rest = match.group(1).strip()
        break
    return given, rest


def address(command, usage, expr):
    """The value of the gdb expression expr as an address: a pointer or
    an integer ($rdi, op, 0x7f..., (long)0x7f..., $var), or the address of
    an object (*op).  Raises gdb.GdbError if it is none of these."""
    if not expr:
        raise gdb.GdbError('%s: needs an address; usage: %s' % (command, usage))
    try:
        value = gdb.parse_and_eval(expr)
        kind = value.type.strip_typedefs().code
        if kind in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION, gdb.TYPE_CODE_ARRAY):
            if value.address is None:
                raise gdb.GdbError("%s: '%s' is of type %s and has no address"
                                   % (command, expr, value.type))
            value = value.address
            kind = gdb.TYPE_CODE_PTR
        if kind not in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM,
                        gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_BOOL):
            raise gdb.GdbError("%s: '%s' is of type %s, not a pointer or an integer"
                               % (command, expr, value.type))
        return int(value) & ADDRESS_MASK
    except gdb.GdbError:
        raise
    except (gdb.error, gdb.MemoryError, ValueError, OverflowError) as e:
        raise gdb.GdbError("%s: cannot evaluate '%s': %s" % (command, expr, e))


def show(text):
    """Print the analyzer's records, a line at a time (gdb's pager may stop
    it: 'q' at its prompt raises KeyboardInterrupt, which gdb reports)."""
    for line in text.splitlines():
        gdb.write(line + '\n')


def report(command, args):
    """Snapshot the inferior if needed, run the analyzer's command on the
    snapshot, and print its records."""
    snap = target.get()
    show(analyzer.report(command, snap.db, args))
