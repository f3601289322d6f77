"""gcscope's built-in layout tables against the interpreters' DWARF.

For every interpreter with DWARF (pyenv's libpythons, Debian's separate
debug file), gcscope layout --check FILE compares the built-in table for
that version with what the DWARF says: one line per entry that differs,
then "N entries checked, N differ"; exit status 0 if none differ, 1 if
some do, 2 on errors.  The version comes from the file name, or from
--python where the name has none (a build-id .debug file).

  stale-table   a field added to layout.h and not to the generated tables
                (analyzer/cpython/tables/3_N.c) stops the build of each
                table, naming make layout-tables; the same table builds with
                the unchanged layout.h, and with the added field when
                LAYOUT_TABLES_UNCHECKED is defined (the gcscope that
                make layout-tables runs to rewrite them)
  supported     gcscope layout --supported lists the versions of the
                registry (analyzer/cpython/version.c), one table file each,
                every tested interpreter among them, and the versions just
                outside the range are refused with a message naming it
"""

import os
import re
import subprocess
import tempfile

import pytest

import gcstest

SUMMARY = re.compile(r'^(\d+) entries checked, (\d+) differ$')
TABLES = gcstest.REPO / 'analyzer' / 'cpython' / 'tables'
LAYOUT_H = gcstest.REPO / 'analyzer' / 'cpython' / 'layout.h'
# A field as layout.h declares them, added after the first of the object
# header.
EXTRA_FIELD = '\tX(ob_extra, "PyObject", "ob_extra")                     \\\n'


@pytest.mark.parametrize('interpreter', [spec.name for spec in gcstest.INTERPRETERS],
                         indirect=True)
def test_layout(interpreter):
    """gcscope layout --check on one interpreter's DWARF: 'pyenv-3.12.1'."""
    interp, name = interpreter, interpreter.name
    path = gcstest.dwarf_file(interp)
    args = ['layout', '--check', path]
    if interp.spec.debug_package:          # .build-id/xx/rest.debug: no version in the name
        args[2:2] = ['--python', '.'.join(interp.spec.version.split('.')[:2])]
    result = gcstest.run_gcscope(args, timeout=120)
    output = (result.stdout + result.stderr).decode('utf-8', 'replace')
    summary = [m for m in map(SUMMARY.match, output.splitlines()) if m]
    print('%s: %s' % (name, summary[-1].group(0) if summary else 'no summary line'))
    command = 'gcscope ' + ' '.join(map(str, args))
    if result.returncode not in (0, 1):
        raise AssertionError('%s exited with status %d:\n%s'
                             % (command, result.returncode, gcstest.tail(output, 40)))
    if not summary:
        raise AssertionError('%s printed no "N entries checked, N differ" line:\n%s'
                             % (command, gcstest.tail(output, 40)))
    checked, differ = (int(n) for n in summary[-1].groups())
    if result.returncode == 1 or differ:
        raise AssertionError('%s: %d of %d entries differ (exit status %d):\n%s'
                             % (command, differ, checked, result.returncode,
                                gcstest.tail(output, 60)))
    if checked == 0:
        raise AssertionError('%s checked no entries' % command)


def compile_table(table, include, defines=()):
    """Compile one table with cpython/layout.h taken from include first."""
    cc = os.environ.get('CC') or 'cc'
    args = [cc, '-std=gnu11', '-fsyntax-only', '-iquote', str(include),
            '-iquote', str(gcstest.REPO / 'analyzer')]
    args += ['-D' + d for d in defines] + [str(table)]
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            timeout=120)
    return result.returncode, result.stdout.decode('utf-8', 'replace')


def check_stale_table():
    tables = sorted(TABLES.glob('3_*.c'))
    if not tables:
        raise AssertionError('no generated tables in %s' % TABLES)
    header = LAYOUT_H.read_text()
    anchor = header.index('\tX(ob_refcnt, ')
    stale = header[:anchor] + EXTRA_FIELD + header[anchor:]
    with tempfile.TemporaryDirectory(prefix='gcscope-layout-') as tmp:
        same = os.path.join(tmp, 'same')
        added = os.path.join(tmp, 'added')
        for root, text in ((same, header), (added, stale)):
            os.makedirs(os.path.join(root, 'cpython'))
            with open(os.path.join(root, 'cpython', 'layout.h'), 'w') as f:
                f.write(text)
        for table in tables:
            status, output = compile_table(table, same)
            if status:
                raise AssertionError('%s does not build with layout.h:\n%s'
                                     % (table.name, gcstest.tail(output, 20)))
            status, output = compile_table(table, added)
            if status == 0:
                raise AssertionError('%s builds though layout.h has a field it lacks'
                                     % table.name)
            if 'run make layout-tables' not in output:
                raise AssertionError('%s fails to build without naming make layout-tables:\n%s'
                                     % (table.name, gcstest.tail(output, 20)))
            status, output = compile_table(table, added, ['LAYOUT_TABLES_UNCHECKED'])
            if status:
                raise AssertionError('%s does not build unchecked:\n%s'
                                     % (table.name, gcstest.tail(output, 20)))
        print('%d tables refuse a layout.h with one field more' % len(tables))


def check_supported():
    result = gcstest.run_gcscope(['layout', '--supported'], timeout=60)
    output = result.stdout.decode('utf-8', 'replace')
    if result.returncode != 0:
        raise AssertionError('gcscope layout --supported exited with status %d:\n%s'
                             % (result.returncode, output + result.stderr.decode()))
    versions = output.split()
    minors = [int(v.split('.')[1]) for v in versions if re.fullmatch(r'3\.\d+', v)]
    if not minors or len(minors) != len(versions):
        raise AssertionError('gcscope layout --supported printed %r' % output)
    if minors != list(range(minors[0], minors[-1] + 1)):
        raise AssertionError('the supported versions are not one range: %s'
                             % ' '.join(versions))
    tables = sorted(int(p.stem.split('_')[1]) for p in TABLES.glob('3_*.c'))
    if tables != minors:
        raise AssertionError('tables for %s, versions %s' % (tables, minors))
    for spec in gcstest.INTERPRETERS:
        if '.'.join(spec.version.split('.')[:2]) not in versions:
            raise AssertionError('%s is tested but not supported' % spec.name)
    expect = 'gcscope reads %s to %s' % (versions[0], versions[-1])
    for minor in (minors[0] - 1, minors[-1] + 1):
        result = gcstest.run_gcscope(['layout', '--python', '3.%d' % minor,
                                      str(gcstest.GCSCOPE)], timeout=60)
        stderr = result.stderr.decode('utf-8', 'replace')
        message = 'Python 3.%d is not supported: %s' % (minor, expect)
        if result.returncode != 2 or message not in stderr:
            raise AssertionError('gcscope layout --python 3.%d: status %d, %r; expected 2, %r'
                                 % (minor, result.returncode, stderr, message))
    print('supported: %s' % ' '.join(versions))


def test_layout_stale_table():
    """'stale-table'."""
    check_stale_table()


def test_layout_supported():
    """'supported'."""
    check_supported()
