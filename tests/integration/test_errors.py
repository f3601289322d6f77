"""Bad input: one clear line, a documented exit status, no database.

Each case runs gcscope snapshot on input it must refuse and checks the exit
status, that the error is one line naming the problem (and the next step
where there is one), and that neither the database nor its temporary file
is left behind.
"""

import functools
import shutil
import subprocess
import time

import pytest

import gcstest

FATAL = 2
USAGE = 64


def expect_refusal(args, status, *phrases, db=None):
    """Run gcscope with args; check status, the error line and no leftovers.

    The error line must contain every phrase; a phrase that is a tuple is
    a choice: one of its words, in any case, is enough.
    """
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
        if isinstance(phrase, tuple):
            found = any(p.lower() in errors[0].lower() for p in phrase)
        else:
            found = phrase in errors[0]
        if not found:
            raise AssertionError('error line lacks %s: %s'
                                 % (' or '.join(map(repr, phrase))
                                    if isinstance(phrase, tuple) else repr(phrase), errors[0]))
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


def refuse_layout(name, layout, *phrases, extra=()):
    """gcscope snapshot --layout layout of a core of interpreter name
    (a stripped copy for names ending in -strip-*) must be refused."""
    interpreter = gcstest.find_interpreter(name)
    with gcstest.scratch_dir('errors') as work:
        with gcstest.Workload(interpreter, gcstest.CORPORA / 'leaky.py', work) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        db = work / 'out.db'
        expect_refusal(['snapshot', '--core', core, '--db', db, '--layout', layout]
                       + list(extra), FATAL, *phrases, db=db)


# What an error about missing debug info must say: that debug info is
# missing, and what to do (install it, or point --debuginfo at it).
NO_DEBUG_INFO = (('debug',), ('install', '--debuginfo'))


def dwarf_of_stripped(mode):
    """--layout dwarf, but the interpreter's files have no DWARF."""
    refuse_layout('pyenv-3.12.1-' + mode, 'dwarf', *NO_DEBUG_INFO)


def dwarf_without_default_debuginfo():
    """--layout dwarf --no-default-debuginfo: Debian's python3.11, whose
    debug info is only in /usr/lib/debug."""
    refuse_layout('debian-3.11', 'dwarf', *NO_DEBUG_INFO, extra=['--no-default-debuginfo'])


def debug_offsets_before_3_13():
    """--layout debug-offsets on 3.12: _Py_DebugOffsets is new in 3.13."""
    refuse_layout('pyenv-3.12.1', 'debug-offsets',
                  ('debug offsets', 'debugoffsets', 'debug-offsets'), '3.13')


def layout_check_without_dwarf():
    """gcscope layout --check of a libpython without DWARF: status 2."""
    lib = gcstest.find_interpreter('pyenv-3.12.1-strip-all').libpython()
    expect_refusal(['layout', '--check', lib], FATAL, ('DWARF', 'debug'), str(lib))


def wrong_exe():
    """--exe of another build than the one that made the core."""
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    other = gcstest.find_interpreter('pyenv-3.13.0')
    with gcstest.scratch_dir('errors') as work:
        with gcstest.Workload(interpreter, gcstest.CORPORA / 'leaky.py', work) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        db = work / 'out.db'
        expect_refusal(['snapshot', '--core', core, '--exe', other.executable,
                        '--db', db], FATAL, 'does not match the core', 'build-id',
                       str(other.executable), db=db)


def missing_mapped_file():
    """A core whose libpython was deleted after the process started."""
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    lib = next(interpreter.executable.parent.parent.glob('lib/libpython3*.so.1.0'))
    with gcstest.scratch_dir('errors') as work:
        libdir = work / 'lib'
        libdir.mkdir()
        copy = libdir / lib.name
        shutil.copyfile(lib, copy)
        env = {'LD_LIBRARY_PATH': str(libdir)}
        with gcstest.Workload(interpreter, gcstest.CORPORA / 'leaky.py', work,
                              env=env) as workload:
            core = gcstest.gcore(workload.pid, work / 'core')
        copy.unlink()
        db = work / 'out.db'
        expect_refusal(['snapshot', '--core', core, '--db', db], FATAL,
                       'not on this machine', str(copy), db=db)


@pytest.mark.parametrize('case', [
    pytest.param(not_a_core, id='not-a-core'),
    pytest.param(missing_core, id='missing-core'),
    pytest.param(missing_db_option, id='missing-db-option'),
    pytest.param(unknown_command, id='unknown-command'),
    pytest.param(core_of_another_program, id='core-of-another-program'),
    pytest.param(truncated_core, id='truncated-core'),
    pytest.param(unwritable_db, id='unwritable-db'),
    pytest.param(functools.partial(dwarf_of_stripped, 'strip-debug'),
                 id='layout-dwarf-strip-debug'),
    pytest.param(functools.partial(dwarf_of_stripped, 'strip-all'), id='layout-dwarf-strip-all'),
    pytest.param(dwarf_without_default_debuginfo, id='layout-dwarf-no-default-debuginfo'),
    pytest.param(debug_offsets_before_3_13, id='layout-debug-offsets-3.12'),
    pytest.param(layout_check_without_dwarf, id='layout-check-without-dwarf'),
    pytest.param(wrong_exe, id='wrong-exe'),
    pytest.param(missing_mapped_file, id='missing-mapped-file'),
])
def test_errors(case):
    case()
