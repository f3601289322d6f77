"""The collector's state and the interpreter's version in meta, compared
with what the interpreter itself said, and what gcscope garbage and gdb's
py-garbage say when the collector does not run by itself.

For every interpreter of gcstest.INTERPRETERS and each mode of
corpora/gcstate.py:

  disabled    gc.disable()
  threshold0  gc.set_threshold(0): enabled, no automatic collection
  custom      gc.set_threshold(500, 7, 3), enabled

the program is run until ready, a core taken with gcore and snapshot, and

  - meta.gc_enabled, gc_thresholds and gc_counts equal gc.isenabled(),
    gc.get_threshold() and gc.get_count() as the program recorded them,
    exactly (it reads the counts last and changes none after: see
    corpora/gcstate.py), and the snapshot's summary says the same;
  - meta.python_version equals platform.python_version(), whose first
    three parts are sys.version_info's;
  - gcscope garbage and py-garbage (gdb on the core) say, for disabled and
    threshold0, that the collector does not collect by itself and that
    the unreachable objects (meta.unreachable, at least the program's
    pairs) stay until gc.collect(); for custom, that the next collection
    would free them, and nothing about a disabled collector.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

import gcstest

SCRIPT = gcstest.CORPORA / 'gcstate.py'
GDBEXT = gcstest.REPO / 'gdbext' / 'gcscope.py'
MODES = ('disabled', 'threshold0', 'custom', 'subinterpreter')
TRACEBACK = ('Traceback (most recent call last)', 'Python Exception', 'Error occurred in Python')

# What garbage says of the unreachable objects in each mode; %d their number.
OFF = {
    'disabled': 'the collector is disabled (gc.disable()): nothing is collected'
                ' automatically; these %d objects stay until gc.collect() is called',
    'threshold0': 'automatic collection is off (gc.set_threshold(0)): nothing is collected'
                  ' automatically; these %d objects stay until gc.collect() is called',
}
UNREACHABLE = re.compile(r'^unreachable: (\d+) objects, \d+ bytes, \d+ with a finalizer'
                         r' \((.*)\)$')


def read_truth(path):
    """gcstate.tsv as a dict."""
    return dict(line.split('\t', 1) for line in path.read_text().splitlines())


def check_garbage_lines(lines, mode, unreachable, what):
    """The lines garbage printed say what mode means for the unreachable
    objects; return the failures."""
    failures = []
    heads = [m for m in map(UNREACHABLE.match, lines) if m]
    if len(heads) != 1 or int(heads[0].group(1)) != unreachable:
        return ['%s: no line "unreachable: %d objects, ..." in:\n%s'
                % (what, unreachable, gcstest.tail('\n'.join(lines)))]
    free = heads[0].group(2)
    off = [l for l in lines if 'nothing is collected automatically' in l]
    if mode in OFF:
        want = OFF[mode] % unreachable
        if off != [want]:
            failures.append('%s: expected the line %r, got %r' % (what, want, off))
        if free != 'gc.collect() would free them':
            failures.append('%s: the unreachable line says %r' % (what, free))
    else:
        if off:
            failures.append('%s: says the collector is off: %r' % (what, off))
        if free != 'the next collection would free them':
            failures.append('%s: the unreachable line says %r' % (what, free))
    return failures


def py_garbage(interpreter, core, work):
    """The lines py-garbage prints in gdb on the core."""
    tmpdir = Path(tempfile.mkdtemp(prefix='gdb-tmp-', dir=str(work)))
    env = dict(os.environ, GCSCOPE=str(gcstest.GCSCOPE), TMPDIR=str(tmpdir))
    env.update(interpreter.env())
    argv = ['gdb', '-nx', '-batch', '-iex', 'set auto-load python-scripts off',
            '-ex', 'source %s' % GDBEXT, '-ex', 'py-garbage --limit 1',
            str(interpreter.executable), str(core)]
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, timeout=180)
    output = result.stdout.decode('utf-8', 'replace')
    gcstest.check_sanitizer(result.returncode, result.stdout, 'gdb py-garbage')
    for phrase in TRACEBACK:
        if phrase in output:
            raise AssertionError('gdb printed a Python traceback:\n%s' % gcstest.tail(output, 40))
    left = sorted(p.name for p in tmpdir.iterdir())
    shutil.rmtree(tmpdir, ignore_errors=True)
    if left:
        raise AssertionError('the gdb session left %s in its TMPDIR' % ', '.join(left))
    return output.splitlines()


@pytest.mark.parametrize('name, mode', [
    pytest.param(spec.name, mode, id='%s-%s' % (spec.name, mode),
                 marks=pytest.mark.weight(2))
    for spec in gcstest.INTERPRETERS for mode in MODES
    if mode != 'subinterpreter' or not spec.version.startswith(('3.6', '3.7'))])
def test_gcstate(name, mode):
    interpreter = gcstest.find_interpreter(name)
    with gcstest.scratch_dir('gcstate-%s-%s' % (name, mode)) as work:
        with gcstest.Workload(interpreter, SCRIPT, work, args=(mode,)) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        truth = read_truth(workload.truth_dir / 'gcstate.tsv')
        db = work / 'snapshot.db'
        result = gcstest.run_gcscope(['snapshot', '--core', core, '--db', db])
        stderr = result.stderr.decode('utf-8', 'replace')
        if result.returncode != 0:
            raise AssertionError('snapshot exited with %d:\n%s'
                                 % (result.returncode, gcstest.tail(stderr)))
        con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
        meta = dict(con.execute('SELECT key, value FROM meta'))
        con.close()
        failures = []

        # The collector's state and the version, exactly.
        want = {'gc_enabled': truth['enabled'], 'gc_thresholds': truth['thresholds'],
                'gc_counts': truth['counts'], 'python_version': truth['python_version'],
                'interpreters': truth['interpreters']}
        if not truth['version_info'].startswith('3.6.'):   # a static of gcmodule.c
            want['gc_debug'] = truth['debug']
        have = {k: meta.get(k) for k in want}
        print('  %s %s: meta %s; the process said %s'
              % (name, mode, ' '.join('%s=%s' % kv for kv in sorted(have.items())),
                 ' '.join('%s=%s' % kv for kv in sorted(want.items()))))
        failures += ['meta.%s %r, the process said %r' % (k, have[k], want[k])
                     for k in want if have[k] != want[k]]
        info = truth['version_info'].split('.')
        if not truth['python_version'].startswith('.'.join(info[:3])):
            failures.append('platform.python_version() %r is not sys.version_info %r'
                            % (truth['python_version'], truth['version_info']))
        summary = ('collector: %s, thresholds %s, counts %s'
                   % ('enabled' if truth['enabled'] == '1' else 'disabled (gc.disable())',
                      truth['thresholds'], truth['counts']))
        if not any(l.startswith(summary) for l in stderr.splitlines()):
            failures.append('the snapshot does not print %r:\n%s' % (summary, stderr))

        # What garbage says, from gcscope and from gdb.
        unreachable = int(meta.get('unreachable', -1))
        if unreachable < 2 * int(truth['pairs']):
            failures.append('meta.unreachable %d: fewer than the %s pairs left in cycles'
                            % (unreachable, truth['pairs']))
        result = gcstest.run_gcscope(['garbage', db, '--limit', '1'])
        lines = result.stdout.decode('utf-8', 'replace').splitlines()
        if result.returncode != 0:
            failures.append('garbage exited with %d' % result.returncode)
        failures += check_garbage_lines(lines, mode, unreachable, 'gcscope garbage')
        print('  garbage: %s' % ' | '.join(lines[:2]))
        if shutil.which('gdb'):
            lines = py_garbage(interpreter, core, work)
            failures += check_garbage_lines(lines, mode, unreachable, 'py-garbage')
            print('  py-garbage: %s' % ' | '.join(l for l in lines if UNREACHABLE.match(l)
                                                  or 'automatically' in l))
        else:
            failures.append('gdb is not installed: py-garbage not checked')
        assert not failures, '; '.join(failures)
