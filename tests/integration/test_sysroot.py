"""A core read on a machine that lacks the files it names.

For each interpreter in INTERPRETERS, a copy of its pyenv install (the
executable, its shared libpython and the extension modules of
lib-dynload; the pure-Python stdlib linked) is made under a scratch
directory, corpora/leaky.py runs from the copy, gcore takes its core, and
the copy is then moved under WORK/sysroot, at its old path below it, so
that no file of the copy is where the core says any more: the core reads
as one carried from a production host to a debugging box.

  missing         without --sysroot: status 2, and the one error line names
                  the missing libpython and --sysroot
  sysroot         --sysroot WORK/sysroot: the snapshot matches what the
                  interpreter recorded (gcstest.compare_snapshot), its
                  meta names the files under the sysroot; an analysis
                  command given --core CORE --sysroot DIR answers from it
  wrong-sysroot   --sysroot of an empty directory: status 2, the error
                  names the file and the sysroot
  build-id        no --sysroot, --debuginfo DIR holding DIR/.build-id/xx/rest
                  for each ELF file of the copy: the snapshot matches the
                  truth, its libpython read from the .build-id tree; a
                  tree whose libpython is another build: status 2, the
                  error names that file and both build-ids
  other-build     a sysroot whose libpython is another build (the same file
                  with one byte of its build-id changed): status 2, the error
                  names that file and both build-ids; an extension
                  module of another build is not used, a warning names it,
                  and the snapshot is written (the objects whose types
                  that module defines are then unreadable, as with a
                  missing file: the truth is not compared there); one
                  missing altogether is named in a warning as well
"""

import json
import os
import shutil
import struct
from pathlib import Path

import pytest

import gcstest

# Two versions, each with a shared libpython (pyenv builds them so), so
# that the library's path, not only the executable's, is what is looked for.
INTERPRETERS = ['pyenv-3.11.7', 'pyenv-3.12.1']

CASES = ['missing', 'sysroot', 'wrong-sysroot', 'build-id', 'other-build', 'gdb']

FATAL = 2


def copy_install(interpreter, dest):
    """A copy of interpreter's pyenv install at dest; the copy's executable."""
    src = interpreter.prefix
    minor = interpreter.executable.name            # python3.X
    (dest / 'bin').mkdir(parents=True)
    shutil.copy2(src / 'bin' / minor, dest / 'bin' / minor)
    (dest / 'lib').mkdir()
    for lib in sorted((src / 'lib').glob('libpython*')):
        if lib.is_symlink():
            os.symlink(os.readlink(lib), dest / 'lib' / lib.name)
        else:
            shutil.copy2(lib, dest / 'lib' / lib.name)
    stdlib = dest / 'lib' / minor
    stdlib.mkdir()
    for entry in sorted((src / 'lib' / minor).iterdir()):
        if entry.name == 'lib-dynload':
            shutil.copytree(entry, stdlib / entry.name, symlinks=True)
        else:
            os.symlink(entry, stdlib / entry.name)
    return dest / 'bin' / minor


class MovedCore:
    """A core of leaky.py run from a copy that has since been moved."""

    def __init__(self, name, work):
        self.interpreter = gcstest.find_interpreter(name)
        self.work = work
        prefix = work / 'prod' / 'opt' / name
        exe = copy_install(self.interpreter, prefix)
        env = {'LD_LIBRARY_PATH': str(prefix / 'lib')}
        run_dir = work / 'run'
        run_dir.mkdir()
        copy = gcstest.Interpreter(self.interpreter.spec, exe)
        with gcstest.Workload(copy, gcstest.CORPORA / 'leaky.py', run_dir,
                              env=env) as workload:
            mapped = gcstest.mapped_files(workload.pid)
            self.core = gcstest.gcore(workload.pid, work / 'core')
        self.truth_dir = run_dir / 'truth'
        # What the core names: the copy's files, none of the install's.
        self.libpython = next(p for p in mapped if '/libpython' in p)
        self.executable = str(exe)
        self.extensions = [p for p in mapped if '/lib-dynload/' in p]
        if not self.libpython.startswith(str(prefix) + '/') or not self.extensions:
            raise AssertionError('the copy maps %s' % ', '.join(mapped))
        original = str(self.interpreter.prefix) + '/'
        if any(p.startswith(original) for p in mapped):
            raise AssertionError('the copy maps files of %s: %s'
                                 % (original, ', '.join(mapped)))
        self.elf_files = [Path(p) for p in mapped if p.startswith(str(prefix) + '/')]
        # Moved under the sysroot, at its old path below it.
        self.sysroot = work / 'sysroot'
        moved = self.under_sysroot(work / 'prod')
        moved.parent.mkdir(parents=True)
        os.rename(work / 'prod', moved)
        for path in mapped:
            if path.startswith(str(prefix) + '/') and os.path.exists(path):
                raise AssertionError('%s is still there' % path)

    def under_sysroot(self, path):
        return self.sysroot / str(path).lstrip('/')

    def truth(self):
        return gcstest.Truth(self.truth_dir)


_CORES = {}


@pytest.fixture(scope='module')
def moved_cores():
    """moved_core(NAME): the MovedCore of an interpreter, made once per
    module (and worker); removed at the end unless GCSCOPE_KEEP=1."""
    dirs = []

    def get(name):
        if name not in _CORES:
            ctx = gcstest.scratch_dir('sysroot')
            work = ctx.__enter__()
            dirs.append(ctx)
            _CORES[name] = MovedCore(name, work)
        return _CORES[name]

    yield get
    _CORES.clear()
    for ctx in dirs:
        ctx.__exit__(None, None, None)


def snapshot(core, db, *args):
    """gcscope snapshot --core CORE --db DB ARGS; the CompletedProcess."""
    return gcstest.run_gcscope(['snapshot', '--core', core, '--db', db] + list(args))


def expect_refusal(result, db, *phrases):
    """Status 2, one error line containing every phrase, no database."""
    stderr = result.stderr.decode('utf-8', 'replace')
    errors = [l for l in stderr.splitlines() if l.startswith('error: ')]
    if result.returncode != FATAL:
        raise AssertionError('exit status %d, expected %d:\n%s'
                             % (result.returncode, FATAL, gcstest.tail(stderr)))
    if len(errors) != 1:
        raise AssertionError('expected one error line, got %d:\n%s'
                             % (len(errors), gcstest.tail(stderr)))
    for phrase in phrases:
        if phrase not in errors[0]:
            raise AssertionError('error line lacks %r: %s' % (phrase, errors[0]))
    if Path(db).exists():
        raise AssertionError('%s was written' % db)
    print('  %s' % errors[0])
    return stderr


def expect_truth(moved, result, db):
    """Status 0, no warning, and the snapshot matches what the interpreter
    recorded."""
    stderr = result.stderr.decode('utf-8', 'replace')
    if result.returncode != 0:
        raise AssertionError('exit status %d:\n%s' % (result.returncode, gcstest.tail(stderr)))
    warnings = [l for l in stderr.splitlines() if l.startswith('warning: ')]
    if warnings:
        raise AssertionError('warnings:\n%s' % '\n'.join(warnings))
    snap = gcstest.Snapshot(db)
    comparison = gcstest.compare_snapshot(moved.truth(), snap)
    print('  %s: %s' % (snap.label, comparison.summary()))
    print('  %d objects; libpython %s' % (len(snap.objects), snap.meta.get('libpython')))
    if not comparison.ok:
        for line in comparison.report():
            print(line)
        raise AssertionError('; '.join(comparison.failures()))
    return snap


def other_build(src, dst):
    """Copy src to dst with the first byte of its GNU build-id flipped: the
    same file in all but its build-id. Returns the new build-id in hex."""
    data = bytearray(Path(src).read_bytes())
    (phoff,) = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    for k in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            '<IIQQQQ', data, phoff + k * phentsize)
        pos, end = p_offset, p_offset + p_filesz
        while p_type == 4 and pos + 12 <= end:          # PT_NOTE
            namesz, descsz, n_type = struct.unpack_from('<III', data, pos)
            desc = pos + 12 + (namesz + 3) // 4 * 4
            if n_type == 3 and data[pos + 12:pos + 12 + namesz] == b'GNU\0':
                data[desc] ^= 0xff
                Path(dst).write_bytes(data)
                shutil.copymode(src, dst)
                return data[desc:desc + descsz].hex()
            pos = desc + (descsz + 3) // 4 * 4
    raise AssertionError('%s has no build-id' % src)


def link_tree(src, dst):
    """dst: directories as in src, each file a symbolic link to src's."""
    for dirpath, _, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            os.symlink(Path(dirpath) / f, dst / rel / f)


def build_id_tree(files, root):
    """root/.build-id/xx/rest for each ELF file: a link to it."""
    for path in files:
        build_id = gcstest.elf_build_id(path)
        link = root / '.build-id' / build_id[:2] / build_id[2:]
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            os.symlink(path, link)


def case_missing(moved):
    db = moved.work / 'missing.db'
    expect_refusal(snapshot(moved.core, db), db, moved.libpython, 'not on this machine',
                   '--sysroot DIR', '--debuginfo DIR')


def case_sysroot(moved):
    db = moved.work / 'sysroot.db'
    snap = expect_truth(moved, snapshot(moved.core, db, '--sysroot', moved.sysroot), db)
    want = {'libpython': str(moved.under_sysroot(moved.libpython)),
            'executable': str(moved.under_sysroot(moved.executable))}
    for key, value in want.items():
        if snap.meta.get(key) != value:
            raise AssertionError('meta.%s is %r, expected %s' % (key, snap.meta.get(key), value))
    # An analysis command on the core itself: refused without the
    # sysroot, answered from the same heap with it.
    count = 'SELECT count(*) FROM objects'
    cached = Path(str(moved.core) + '.gcscope.db')
    result = gcstest.run_gcscope(['sql', '--core', moved.core, count])
    expect_refusal(result, cached, moved.libpython, '--sysroot DIR')
    result = gcstest.run_gcscope(['sql', '--core', moved.core, '--sysroot', moved.sysroot,
                                  count, '--json'])
    if result.returncode != 0:
        raise AssertionError('gcscope sql --core --sysroot exited with %d:\n%s'
                             % (result.returncode, gcstest.tail(result.stderr)))
    answer = json.loads(result.stdout.decode())
    if answer != [{'count(*)': len(snap.objects)}]:
        raise AssertionError('sql --core --sysroot says %s, the snapshot has %d objects'
                             % (answer, len(snap.objects)))
    print('  sql --core CORE --sysroot DIR: %s' % answer)


def case_wrong_sysroot(moved):
    empty = moved.work / 'empty'
    empty.mkdir(exist_ok=True)
    db = moved.work / 'wrong.db'
    expect_refusal(snapshot(moved.core, db, '--sysroot', empty), db, moved.libpython,
                   str(empty), 'not on this machine')


def case_build_id(moved):
    real = moved.under_sysroot(moved.libpython)
    good_id = gcstest.elf_build_id(real)
    db = moved.work / 'build-id.db'
    # A tree whose entry for libpython is another build: refused, named.
    wrong_ids = moved.work / 'other-ids'
    link = wrong_ids / '.build-id' / good_id[:2] / good_id[2:]
    link.parent.mkdir(parents=True)
    wrong_id = other_build(real, link)
    expect_refusal(snapshot(moved.core, db, '--debuginfo', wrong_ids), db, moved.libpython,
                   str(link), wrong_id, good_id, 'another build')
    # The tree of the right files: links to them, as distributions make.
    ids = moved.work / 'ids'
    build_id_tree([moved.under_sysroot(p) for p in moved.elf_files], ids)
    snap = expect_truth(moved, snapshot(moved.core, db, '--debuginfo', ids,
                                        '--no-default-debuginfo'), db)
    build_id = gcstest.elf_build_id(moved.under_sysroot(moved.libpython))
    want = str(ids / '.build-id' / build_id[:2] / build_id[2:])
    if snap.meta.get('libpython') != want:
        raise AssertionError('meta.libpython is %r, expected %s'
                             % (snap.meta.get('libpython'), want))


def case_other_build(moved):
    real = moved.under_sysroot(moved.libpython)
    good_id = gcstest.elf_build_id(real)
    # A sysroot like the good one but for libpython.
    other = moved.work / 'other-sysroot'
    link_tree(moved.sysroot, other)
    wrong = other / moved.libpython.lstrip('/')
    wrong.unlink()
    wrong_id = other_build(real, wrong)
    db = moved.work / 'other.db'
    expect_refusal(snapshot(moved.core, db, '--sysroot', other), db, moved.libpython,
                   str(wrong), wrong_id, good_id, 'another build')
    # An extension module of another build: not used, named, not fatal.
    wrong.unlink()
    os.symlink(real, wrong)
    extension = sorted(moved.extensions)[0]
    wrong_ext = other / extension.lstrip('/')
    wrong_ext.unlink()
    wrong_ext_id = other_build(moved.under_sysroot(extension), wrong_ext)
    result = snapshot(moved.core, db, '--sysroot', other)
    stderr = result.stderr.decode('utf-8', 'replace')
    warnings = [l for l in stderr.splitlines() if l.startswith('warning: ')]
    if result.returncode != 0 or not Path(db).exists():
        raise AssertionError('exit status %d:\n%s' % (result.returncode, gcstest.tail(stderr)))
    if len(warnings) != 1 or not all(p in warnings[0] for p in (
            str(wrong_ext), extension, wrong_ext_id,
            gcstest.elf_build_id(moved.under_sysroot(extension)), 'not used')):
        raise AssertionError('expected one warning naming %s (build-id %s), not used:\n%s'
                             % (wrong_ext, wrong_ext_id, gcstest.tail(stderr)))
    print('  %s' % warnings[0])
    meta = gcstest.Snapshot(db).meta
    if meta.get('libpython') != str(wrong):
        raise AssertionError('meta.libpython is %r, expected %s' % (meta.get('libpython'), wrong))
    # Not there at all: named in a warning too.
    wrong_ext.unlink()
    result = snapshot(moved.core, db, '--sysroot', other)
    stderr = result.stderr.decode('utf-8', 'replace')
    warnings = [l for l in stderr.splitlines() if l.startswith('warning: ')]
    if result.returncode != 0 or len(warnings) != 1 or \
       "'%s', which is not on this machine" % extension not in warnings[0]:
        raise AssertionError('status %d; expected one warning naming %s:\n%s'
                             % (result.returncode, extension, gcstest.tail(stderr)))
    print('  %s' % warnings[0])


def case_gdb(moved):
    """In gdb, 'set sysroot DIR' is what the py- commands pass on: the
    core is refused without it, naming --sysroot, and read with it."""
    import test_gdb
    exe = moved.under_sysroot(moved.executable)
    count = ('count', 'py-sql SELECT count(*) AS n FROM objects')
    without = test_gdb.run_gdb([exe, moved.core], [count], work=moved.work)
    if 'sysroot' not in '\n'.join(without['count']):
        raise AssertionError('without set sysroot, py-sql says:\n%s' % without.show('count'))
    with_it = test_gdb.run_gdb([exe, moved.core],
                               [('sysroot', 'set sysroot %s' % moved.sysroot), count],
                               work=moved.work)
    db = moved.work / 'gdb-check.db'
    snap = expect_truth(moved, snapshot(moved.core, db, '--sysroot', moved.sysroot), db)
    rows = with_it.records('count')
    if str(len(snap.objects)) not in ' '.join(rows):
        raise AssertionError('with set sysroot, py-sql says %s; the snapshot has %d objects'
                             % (rows, len(snap.objects)))
    print('  gdb: without set sysroot: %s' % without['count'][-1].strip())
    print('  gdb: with set sysroot %s: %s' % (moved.sysroot, ' '.join(rows)))


@pytest.mark.weight(2)
@pytest.mark.parametrize('name, case', [
    pytest.param(name, case, id='%s-%s' % (name, case),
                 marks=pytest.mark.xdist_group('sysroot-' + name))
    for name in INTERPRETERS for case in CASES])
def test_sysroot(name, case, moved_cores):
    moved = moved_cores(name)
    globals()['case_' + case.replace('-', '_')](moved)
