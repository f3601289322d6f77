"""gcscope's built-in layout tables against the interpreters' DWARF.

For every interpreter with DWARF (pyenv's libpythons, Debian's separate
debug file), gcscope layout --check FILE compares the built-in table for
that version with what the DWARF says: one line per entry that differs,
then "N entries checked, N differ"; exit status 0 if none differ, 1 if
some do, 2 on errors.  The version comes from the file name, or from
--python where the name has none (a build-id .debug file).
"""

import re

import gcstest

SUMMARY = re.compile(r'^(\d+) entries checked, (\d+) differ$')


def check(name):
    interp = gcstest.find_interpreter(name)
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


def cases():
    for spec in gcstest.INTERPRETERS:
        yield spec.name, lambda name=spec.name: check(name)
