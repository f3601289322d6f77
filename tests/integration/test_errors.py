"""Bad input: one clear line, a documented exit status, no database.

Each case runs gcscope snapshot on input it must refuse and checks the exit
status, that the error is one line naming the problem (and the next step
where there is one), and that neither the database nor its temporary file
is left behind.
"""

import subprocess
import time

import gcstest

FATAL = 2
USAGE = 64


def expect_refusal(args, status, *phrases, db=None):
    """Run gcscope with args; check status, the error line and no leftovers."""
    result = gcstest.run_gcscope(args, timeout=120)
    stderr = result.stderr.decode('utf-8', 'replace')
    errors = [l for l in stderr.splitlines() if l.startswith('error: ')]
    if result.returncode != status:
        raise AssertionError('exit status %d, expected %d:\n%s'
                             % (result.returncode, status, gcstest.tail(stderr)))
    if len(errors) != 1:
        raise AssertionError('expected one error line, got %d:\n%s'
                             % (len(errors), gcstest.tail(stderr)))
    for phrase in phrases:
        if phrase not in errors[0]:
            raise AssertionError('error line lacks %r: %s' % (phrase, errors[0]))
    if db is not None:
        left = sorted(p.name for p in db.parent.glob(db.name + '*'))
        if left:
            raise AssertionError('left behind: %s' % ', '.join(left))
    print('  %s' % errors[0])


def not_a_core():
    with gcstest.scratch_dir('errors') as work:
        text = work / 'notes.txt'
        text.write_text('not a core\n')
        db = work / 'out.db'
        expect_refusal(['snapshot', '--core', text, '--db', db], FATAL,
                       'is not a core file', 'gcore', db=db)


def missing_core():
    with gcstest.scratch_dir('errors') as work:
        db = work / 'out.db'
        expect_refusal(['snapshot', '--core', work / 'core.404', '--db', db], FATAL,
                       'cannot open core', 'No such file', db=db)


def missing_db_option():
    expect_refusal(['snapshot', '--core', '/dev/null'], USAGE, '--db')


def unknown_command():
    expect_refusal(['snapshut'], USAGE, "unknown command 'snapshut'")


def core_of_another_program():
    """A core of sleep(1): a real core, but no CPython in it."""
    with gcstest.scratch_dir('errors') as work:
        proc = subprocess.Popen(['sleep', '300'])
        try:
            time.sleep(0.2)
            core = gcstest.gcore(proc.pid, work / 'core')
        finally:
            proc.kill()
            proc.wait()
        db = work / 'out.db'
        expect_refusal(['snapshot', '--core', core, '--db', db], FATAL,
                       'no CPython runtime', 'sleep', db=db)


def truncated_core():
    """The first quarter of a real CPython core."""
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    with gcstest.scratch_dir('errors') as work:
        with gcstest.Workload(interpreter, gcstest.CORPORA / 'leaky.py', work) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        data = core.read_bytes()
        cut = work / 'core.cut'
        cut.write_bytes(data[:len(data) // 4])
        db = work / 'out.db'
        result = gcstest.run_gcscope(['snapshot', '--core', cut, '--db', db], timeout=120)
        stderr = result.stderr.decode('utf-8', 'replace')
        if 'is truncated' not in stderr:
            raise AssertionError('no truncation warning:\n%s' % gcstest.tail(stderr))
        if result.returncode == FATAL:
            if db.exists():
                raise AssertionError('exit status 2 but %s exists' % db)
        elif result.returncode not in (0, 1) or not db.exists():
            raise AssertionError('exit status %d:\n%s'
                                 % (result.returncode, gcstest.tail(stderr)))
        print('  exit %d: %s' % (result.returncode, stderr.strip().splitlines()[-1]))


def unwritable_db():
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    with gcstest.scratch_dir('errors') as work:
        with gcstest.Workload(interpreter, gcstest.CORPORA / 'leaky.py', work) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        db = work / 'no-such-dir' / 'out.db'
        expect_refusal(['snapshot', '--core', core, '--db', db], FATAL,
                       'cannot create database', str(db))


def cases():
    yield 'not-a-core', not_a_core
    yield 'missing-core', missing_core
    yield 'missing-db-option', missing_db_option
    yield 'unknown-command', unknown_command
    yield 'core-of-another-program', core_of_another_program
    yield 'truncated-core', truncated_core
    yield 'unwritable-db', unwritable_db
