"""Run gcscope's tests: the C unit tests and the integration tests.

Usage: python3 tests/run.py [-k SUBSTRING]... [--list]

Unit tests are the executables in build/tests/; each counts as one test,
named unit/NAME, which passes if it exits with status 0 and its last
"N passed, N failed" line (if any) reports no failure.  Integration tests
are the cases of tests/integration/test_*.py, named MODULE/CASE (module
without its test_ prefix): each module has cases() yielding (name,
callable); a callable passes by returning, skips by raising gcstest.Skip,
and fails by raising anything else.

Prints PASS/FAIL/SKIP lines and ends with "N passed, N failed" (and
", N skipped" if any were skipped).  Exits with 1 if any test failed.
"""

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
sys.dont_write_bytecode = True     # no __pycache__ in the work tree

import gcstest  # noqa: E402

UNIT_DIR = gcstest.BINARIES / 'tests'
INTEGRATION_DIR = TESTS / 'integration'
UNIT_TIMEOUT = 600
SUMMARY = re.compile(r'^\s*(\d+) passed, (\d+) failed')


class Outcome:
    """Counts of passed, failed and skipped tests."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def record(self, status, name, reason=''):
        """Print the status line for one test and count it."""
        if status == 'PASS':
            self.passed += 1
            print('PASS %s' % name)
        elif status == 'SKIP':
            self.skipped += 1
            print('SKIP %s: %s' % (name, reason))
        else:
            self.failed += 1
            print('FAIL %s: %s' % (name, reason))
        sys.stdout.flush()

    def final_line(self):
        line = '%d passed, %d failed' % (self.passed, self.failed)
        if self.skipped:
            line += ', %d skipped' % self.skipped
        return line


def unit_tests():
    """(name, callable) for each executable in build/tests/."""
    if not UNIT_DIR.is_dir():
        return
    for path in sorted(UNIT_DIR.iterdir()):
        if path.is_file() and os.access(path, os.X_OK):
            yield 'unit/' + path.name, lambda path=path: run_unit(path)


def run_unit(path):
    """Run one C unit test binary, letting its output through."""
    sys.stdout.flush()
    try:
        proc = subprocess.run([str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=UNIT_TIMEOUT, cwd=str(gcstest.REPO))
    except subprocess.TimeoutExpired:
        raise AssertionError('timed out after %d s' % UNIT_TIMEOUT)
    output = proc.stdout.decode('utf-8', 'replace')
    sys.stdout.write(output if output.endswith('\n') or not output else output + '\n')
    failed = None
    for line in output.splitlines():
        match = SUMMARY.match(line)
        if match:
            failed = int(match.group(2))
    if proc.returncode < 0:
        raise AssertionError('killed by signal %d' % -proc.returncode)
    if failed:
        raise AssertionError('%d failed' % failed)
    if proc.returncode != 0:
        raise AssertionError('exit status %d' % proc.returncode)


def load_module(path):
    """Import a test module from its file."""
    spec = importlib.util.spec_from_file_location(path.stem, str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def integration_tests(broken):
    """(name, callable) for each case of each integration module.

    Modules that cannot be imported or listed are appended to broken as
    (name, reason).
    """
    for path in sorted(INTEGRATION_DIR.glob('test_*.py')):
        prefix = path.stem[len('test_'):]
        try:
            module = load_module(path)
            found = list(module.cases())
        except Exception as e:
            broken.append((prefix, 'cannot load %s: %s' % (path.name, one_line(e))))
            traceback.print_exc()
            continue
        for name, case in found:
            yield '%s/%s' % (prefix, name), case


def one_line(error):
    """An exception as one line: its type and first line."""
    text = str(error).strip().splitlines()
    return '%s%s' % (type(error).__name__, (': ' + text[0]) if text else '')


def run_case(name, case, outcome):
    """Run one test callable and record its outcome."""
    try:
        case()
    except gcstest.Skip as e:
        outcome.record('SKIP', name, str(e))
        return
    except AssertionError as e:
        message = str(e).strip()
        first = message.splitlines()[0] if message else 'assertion failed'
        if '\n' in message:
            print(message)
        outcome.record('FAIL', name, first)
        return
    except Exception as e:
        traceback.print_exc()
        outcome.record('FAIL', name, one_line(e))
        return
    outcome.record('PASS', name)


def selected(name, patterns):
    """True if no -k was given or name contains one of the patterns."""
    return not patterns or any(p in name for p in patterns)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Run gcscope tests.')
    parser.add_argument('-k', dest='patterns', action='append', default=[],
                        metavar='SUBSTRING', help='run only tests whose name contains it'
                        ' (may be repeated)')
    parser.add_argument('--list', action='store_true', help='list the tests and exit')
    args = parser.parse_args(argv)

    broken = []
    tests = list(unit_tests()) + list(integration_tests(broken))
    tests = [(n, c) for n, c in tests if selected(n, args.patterns)]
    broken = [(n, r) for n, r in broken if selected(n, args.patterns)]
    if args.list:
        for name, _ in tests:
            print(name)
        return 0

    outcome = Outcome()
    for name, reason in broken:
        outcome.record('FAIL', name, reason)
    for name, case in tests:
        run_case(name, case, outcome)
    print(outcome.final_line())
    return 1 if outcome.failed else 0


if __name__ == '__main__':
    sys.exit(main())
