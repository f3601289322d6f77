"""Command-line options of gcscope snapshot that change where files come from.

--exe names the executable instead of the core's own record of it;
--debuginfo DIR is searched for separate debug info before /usr/lib/debug.
"""

import shutil
import sqlite3

import pytest

import gcstest


def meta(db):
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        return dict(con.execute('SELECT key, value FROM meta'))
    finally:
        con.close()


def snapshot_with(name, extra):
    """Snapshot leaky.py under interpreter name with extra options; meta."""
    corpus = gcstest.corpus_core(name)
    interpreter, core = corpus.interpreter, corpus.core
    with gcstest.scratch_dir('options') as work:
        db = work / 'out.db'
        args = ['snapshot', '--core', core, '--db', db] + extra(interpreter, work)
        result = gcstest.run_gcscope(args)
        if result.returncode != 0:
            raise AssertionError('gcscope %s exited with %d:\n%s'
                                 % (' '.join(map(str, args)), result.returncode,
                                    gcstest.tail(result.stderr)))
        return interpreter, work, meta(db)


def exe_override():
    interpreter, _, m = snapshot_with(
        'pyenv-3.12.1', lambda i, work: ['--exe', str(i.executable)])
    if m.get('executable') != str(interpreter.executable):
        raise AssertionError('meta.executable is %r, expected %s'
                             % (m.get('executable'), interpreter.executable))
    print('  executable %s, %s objects' % (m['executable'], m['objects']))


def debuginfo_dir():
    """Debian's python3.11 with its debug file copied into a directory."""
    def copy_debug_file(interpreter, work):
        build_id = gcstest.elf_build_id(interpreter.executable)
        src = gcstest.debug_file_for(build_id)
        dst = work / 'dbg' / '.build-id' / build_id[:2] / (build_id[2:] + '.debug')
        dst.parent.mkdir(parents=True)
        shutil.copyfile(src, dst)
        return ['--debuginfo', str(work / 'dbg')]

    _, work, m = snapshot_with('debian-3.11', copy_debug_file)
    if not m.get('debuginfo', '').startswith(str(work / 'dbg')):
        raise AssertionError('meta.debuginfo is %r, not under %s'
                             % (m.get('debuginfo'), work / 'dbg'))
    print('  debug info from %s, %s objects' % (m['debuginfo'], m['objects']))


@pytest.mark.parametrize('case', [pytest.param(exe_override, id='exe'),
                                  pytest.param(debuginfo_dir, id='debuginfo-dir')])
def test_options(case):
    case()
