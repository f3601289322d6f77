"""The C unit tests: every executable make test built in $GCSCOPE_BUILD/tests/
(from tests/unit/*.c), one test each, named after it: test_unit[btree_test].

A unit test passes if it exits with status 0 and its last "N passed, N
failed" line, if it prints one, reports no failure.  Its output is printed.
"""

import os
import re
import subprocess

import pytest

import gcstest

TIMEOUT = 600
SUMMARY = re.compile(r'^\s*(\d+) passed, (\d+) failed')


def binaries():
    directory = gcstest.BINARIES / 'tests'
    if not directory.is_dir():
        return []
    return [p for p in sorted(directory.iterdir()) if p.is_file() and os.access(p, os.X_OK)]


@pytest.mark.parametrize('binary', binaries(), ids=lambda p: p.name)
def test_unit(binary):
    try:
        proc = subprocess.run([str(binary)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=TIMEOUT, cwd=str(gcstest.REPO))
    except subprocess.TimeoutExpired:
        pytest.fail('%s timed out after %d s' % (binary, TIMEOUT))
    output = proc.stdout.decode('utf-8', 'replace')
    print(output, end='' if output.endswith('\n') or not output else '\n')
    failed = None
    for line in output.splitlines():
        match = SUMMARY.match(line)
        if match:
            failed = int(match.group(2))
    assert proc.returncode >= 0, '%s killed by signal %d' % (binary.name, -proc.returncode)
    assert not failed, '%s: %d failed' % (binary.name, failed)
    assert proc.returncode == 0, '%s: exit status %d' % (binary.name, proc.returncode)
