"""pytest configuration for gcscope's tests.

The tests are the C unit tests (tests/test_unit.py runs every executable
in $GCSCOPE_BUILD/tests/) and the integration tests in
tests/integration/test_*.py.  make test runs them all:

    GCSCOPE_BUILD=build python3 -m pytest -n 2 tests

and python3 -m pytest tests -k EXPR runs a subset.

Corpus cores and snapshots are made once per run and shared by the tests
and pytest-xdist's workers (gcstest.corpus_core, gcstest.corpus_snapshot):
the controlling process empties the run's directory when it starts and
removes it when it ends.  The fixtures below hand them to tests.

Skips: a skip whose reason matches none of EXPECTED_SKIPS is a failure
when the environment variable CI is set (CI sets CI=true), and listed
under "unexpected skips" in the summary otherwise.
"""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
sys.dont_write_bytecode = True     # no __pycache__ in the work tree

import gcstest  # noqa: E402

# Reasons a skip may have without failing CI, as regular expressions
# matched against the start of the reason.  Every other skip hides work
# on the machines CI runs on (root, every package of make deps installed).
EXPECTED_SKIPS = [
    # test_kernel_core: core_pattern pipes cores to a program that keeps
    # them where the test cannot get them (not systemd-coredump), and it
    # cannot be changed (a container's read-only /proc/sys).
    r'the kernel pipes cores to ',
]


# ---------------------------------------------------------------------------
# The run's shared directory

def _controller():
    """True in the process that runs the session (not a pytest-xdist worker)."""
    return 'PYTEST_XDIST_WORKER' not in os.environ


def pytest_configure(config):
    if _controller():
        run = gcstest.BINARIES / 'test-run'
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir(parents=True)
        # Inherited by the workers, which pytest-xdist starts later.
        os.environ['GCSCOPE_RUN_DIR'] = str(run)


def pytest_unconfigure(config):
    if _controller() and not gcstest.keep_files():
        shutil.rmtree(gcstest.run_dir(), ignore_errors=True)


# ---------------------------------------------------------------------------
# Fixtures

@pytest.fixture
def interpreter(request):
    """The interpreter whose gcstest.find_interpreter name is the test's
    parameter (indirect parametrisation); skips if it is missing."""
    return gcstest.find_interpreter(request.param)


@pytest.fixture
def corpus_core():
    """corpus_core(NAME, refbugs=False): the run's gcstest.CorpusCore of
    corpora/leaky.py under interpreter NAME, with its truth."""
    return gcstest.corpus_core


@pytest.fixture
def corpus_snapshot():
    """corpus_snapshot(CORE, args=()): (database, seconds) of the run's
    snapshot of a CorpusCore with gcscope options args."""
    return gcstest.corpus_snapshot


# ---------------------------------------------------------------------------
# Order: the longest tests first, so that the workers finish together

def pytest_collection_modifyitems(session, config, items):
    """Sort by weight (the marker 'weight', default 1), heaviest first;
    stable, so that the tests of one group stay together."""
    def weight(item):
        marker = item.get_closest_marker('weight')
        return -(marker.args[0] if marker else 1)
    items.sort(key=weight)


# ---------------------------------------------------------------------------
# Skips nobody expects

def _expected(reason):
    return any(re.match(pattern, reason) for pattern in EXPECTED_SKIPS)


def _skip_reason(report):
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        reason = report.longrepr[2]
        return reason[len('Skipped: '):] if reason.startswith('Skipped: ') else reason
    return str(report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, 'wasxfail'):
        reason = _skip_reason(report)
        if not _expected(reason) and os.environ.get('CI'):
            report.outcome = 'failed'
            report.longrepr = ('unexpected skip (CI is set; conftest.py EXPECTED_SKIPS'
                               ' lists the skips allowed): %s' % reason)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    unexpected = []
    for report in terminalreporter.stats.get('skipped', []):
        reason = _skip_reason(report)
        if not _expected(reason):
            unexpected.append('%s: %s' % (report.nodeid, reason))
    if unexpected:
        terminalreporter.section('unexpected skips (a failure when CI is set)')
        for line in unexpected:
            terminalreporter.line(line)
