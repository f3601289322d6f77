"""The DWARF reader against gdb, on every interpreter's debug info.

build/checks/dwarf_check reads struct sizes and member offsets with
analyzer/target/dwarf.c and compares each with what gdb says for the same file.
"""

import pytest

import gcstest

CHECK = gcstest.BINARIES / 'checks' / 'dwarf_check'


@pytest.mark.parametrize('interpreter', [spec.name for spec in gcstest.INTERPRETERS],
                         indirect=True)
def test_dwarf(interpreter):
    """dwarf_check on one interpreter's DWARF: 'pyenv-3.12.1'."""
    interp, name = interpreter, interpreter.name
    if not CHECK.exists():
        raise AssertionError('%s is not built (make test builds it)' % CHECK)
    proc = gcstest.run([CHECK, gcstest.dwarf_file(interp)], 600, 'dwarf_check')
    output = (proc.stdout + proc.stderr).decode('utf-8', 'replace')
    summary = [l for l in output.splitlines() if ' passed, ' in l]
    print('%s: %s' % (name, summary[-1] if summary else 'no summary'))
    if proc.returncode != 0:
        raise AssertionError('dwarf_check exited with %d:\n%s'
                             % (proc.returncode, gcstest.tail(output, 30)))
