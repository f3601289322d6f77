"""Shared helpers for gcscope's tests.

Interpreter discovery, building the corpus's C extension (refbugs) for an
interpreter, running corpus workloads, taking cores with gcore, running
gcscope, reading the truth a corpus records and the database gcscope
writes (the snapshot and its analyses), reading raw memory from a core, and
comparing a snapshot with the truth.

The tests run under pytest (tests/conftest.py); a helper that finds
something missing raises Skip(reason), which is pytest's own skip.  The
corpus cores and their snapshots are made once per run and shared by the
tests (and pytest-xdist's workers) through RUN_DIR: corpus_core,
corpus_snapshot.
"""

import ast
import bisect
import collections
import contextlib
import ctypes
import dataclasses
import fcntl
import hashlib
import json
import mmap
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / 'build'                 # caches: stripped copies, extensions
# The binaries under test: build/, or build/sanitize for make test SANITIZE=1.
BINARIES = Path(os.environ.get('GCSCOPE_BUILD') or BUILD)
if not BINARIES.is_absolute():
    BINARIES = REPO / BINARIES
GCSCOPE = BINARIES / 'gcscope'
CORPORA = REPO / 'corpora'
DEBUG_ROOT = Path('/usr/lib/debug')

READY_TIMEOUT = 120
GCORE_TIMEOUT = 180
SNAPSHOT_TIMEOUT = 300


try:
    import pytest
except ImportError:                     # tests/demo.py and bench.py run without it
    pytest = None

if pytest is not None:
    # Raised by a test that cannot run here; the message says why.
    Skip = pytest.skip.Exception
else:
    class Skip(Exception):
        """Raised by a test that cannot run here; the message says why."""


@contextlib.contextmanager
def file_lock(path):
    """Hold an exclusive flock on path (created if missing) meanwhile: one
    process of a run (pytest-xdist workers included) at a time."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'a') as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# ---------------------------------------------------------------------------
# Interpreters

@dataclasses.dataclass(frozen=True)
class InterpreterSpec:
    """How to find one interpreter: a pyenv version or a fixed path."""

    name: str          # test-name part: 'pyenv-3.12.1', 'debian-3.11'
    version: str       # version it must report, as far as given: '3.12.1', '3.11'
    pyenv: bool        # True: under $(pyenv root)/versions/VERSION
    path: str = ''     # for pyenv=False: the executable
    debug_package: str = ''  # for stripped executables: package with the debug info


INTERPRETERS = [
    InterpreterSpec('pyenv-3.6.15', '3.6.15', True),
    InterpreterSpec('pyenv-3.7.16', '3.7.16', True),
    InterpreterSpec('pyenv-3.8.18', '3.8.18', True),
    InterpreterSpec('pyenv-3.9.18', '3.9.18', True),
    InterpreterSpec('pyenv-3.10.13', '3.10.13', True),
    InterpreterSpec('pyenv-3.11.7', '3.11.7', True),
    InterpreterSpec('pyenv-3.12.1', '3.12.1', True),
    InterpreterSpec('pyenv-3.13.0', '3.13.0', True),
    InterpreterSpec('debian-3.11', '3.11', False, '/usr/bin/python3.11', 'python3.11-dbg'),
]


@dataclasses.dataclass(frozen=True)
class Interpreter:
    """An interpreter found on this machine, or a stripped copy of one.

    A copy (mode 'strip-debug' or 'strip-all', see stripped_copy) lives
    under build/stripped/ and loads its own libpython from library_dir
    through LD_LIBRARY_PATH: Workload sets it (env()) and checks in
    /proc/PID/maps that the copy's libpython is the one mapped.
    """

    spec: InterpreterSpec
    executable: Path
    mode: str = ''                 # '' or one of STRIP_MODES
    library_dir: object = None     # copies: the lib/ holding the stripped libpython

    @property
    def name(self):
        """'pyenv-3.12.1', or 'pyenv-3.12.1-strip-all' for a copy."""
        return self.spec.name + ('-' + self.mode if self.mode else '')

    @property
    def prefix(self):
        """The installation prefix: the executable's ../."""
        return self.executable.parent.parent

    def libpython(self):
        """The shared libpython of a pyenv install (or copy), or None."""
        libs = sorted(self.prefix.glob('lib/libpython3*.so.1.0'))
        return libs[0] if self.spec.pyenv and libs else None

    def env(self):
        """Environment settings the interpreter needs to run as itself."""
        if self.library_dir is None:
            return {}
        path = os.environ.get('LD_LIBRARY_PATH')
        return {'LD_LIBRARY_PATH': str(self.library_dir) + (':' + path if path else '')}


def interpreter_spec(name):
    """The InterpreterSpec called name."""
    for spec in INTERPRETERS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def pyenv_root():
    """$(pyenv root), else $PYENV_ROOT, else ~/.pyenv."""
    if shutil.which('pyenv'):
        try:
            out = subprocess.run(['pyenv', 'root'], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
            if out:
                return Path(out)
        except (OSError, subprocess.SubprocessError):
            pass
    return Path(os.environ.get('PYENV_ROOT') or Path.home() / '.pyenv')


def find_interpreter(name):
    """The Interpreter called name; raises Skip if it is not usable here.

    A name ending in -strip-debug or -strip-all ('pyenv-3.12.1-strip-all')
    gives a stripped copy of the pyenv interpreter (stripped_copy).
    """
    for mode in STRIP_MODES:
        if name.endswith('-' + mode):
            return stripped_copy(find_interpreter(name[:-len(mode) - 1]), mode)
    spec = interpreter_spec(name)
    if spec.pyenv:
        major_minor = '.'.join(spec.version.split('.')[:2])
        exe = pyenv_root() / 'versions' / spec.version / 'bin' / ('python' + major_minor)
        if not exe.exists():
            raise Skip('%s is not installed (no %s)' % (name, exe))
    else:
        exe = Path(spec.path)
        if not exe.exists():
            raise Skip('%s is not installed (no %s)' % (name, exe))
        if spec.debug_package:
            build_id = elf_build_id(exe)
            debug = debug_file_for(build_id) if build_id else None
            if debug is None or not debug.exists():
                raise Skip('no debug info for %s (build-id %s): install %s'
                           % (exe, build_id, spec.debug_package))
    return Interpreter(spec, exe)


def elf_build_id(path):
    """The GNU build-id of an ELF file, in hex, or None."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF' or data[4] != 2:
        return None
    (phoff,) = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    for k in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            '<IIQQQQ', data, phoff + k * phentsize)
        if p_type != 4:                          # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, n_type = struct.unpack_from('<III', data, pos)
            name_at = pos + 12
            desc_at = name_at + (namesz + 3) // 4 * 4
            if n_type == 3 and data[name_at:name_at + namesz] == b'GNU\0':
                return data[desc_at:desc_at + descsz].hex()
            pos = desc_at + (descsz + 3) // 4 * 4
    return None


def debug_file_for(build_id):
    """Where a separate debug file for build_id lives."""
    return DEBUG_ROOT / '.build-id' / build_id[:2] / (build_id[2:] + '.debug')


def dwarf_file(interp):
    """The file holding an interpreter's DWARF: its libpython, or the
    separate debug file of a stripped executable.  Raises Skip if there
    is none."""
    if interp.mode:
        raise Skip('%s is a stripped copy: no DWARF' % interp.name)
    if interp.spec.debug_package:
        return debug_file_for(elf_build_id(interp.executable))
    lib = interp.libpython()
    if lib is None:
        raise Skip('no libpython next to %s' % interp.executable)
    return lib


def elf_sections(path):
    """The section names of an ELF64 little-endian file, in order."""
    with open(path, 'rb') as f:
        head = f.read(64)
        if head[:4] != b'\x7fELF' or head[4] != 2 or head[5] != 1:
            raise AssertionError('%s is not an ELF64 little-endian file' % path)
        (shoff,) = struct.unpack_from('<Q', head, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from('<HHH', head, 0x3a)
        if not shoff or not shnum:
            return []
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        headers = [struct.unpack_from('<IIQQQQ', table, k * shentsize) for k in range(shnum)]
        _, _, _, _, str_offset, str_size = headers[shstrndx]
        f.seek(str_offset)
        names = f.read(str_size)
    return [names[h[0]:names.index(b'\0', h[0])].decode('ascii', 'replace') for h in headers]


def debug_sections(path):
    """The DWARF sections (.debug_*, .zdebug_*) of an ELF file."""
    return [n for n in elf_sections(path) if n.startswith(('.debug_', '.zdebug_'))]


# ---------------------------------------------------------------------------
# Interpreters without debug info: stripped copies of pyenv installs
#
# build/stripped/VERSION-MODE/ is a prefix holding
#
#   bin/python3.X              stripped copy of the executable
#   lib/libpython3.X*.so*      stripped copies (symbolic links as they were)
#   lib/python3.X/             a directory of symbolic links to the
#                              install's stdlib, except for
#   lib/python3.X/lib-dynload/ stripped copies of the extension modules
#                              (other files linked)
#
# so that no file the process maps has DWARF.  The interpreter finds its
# stdlib from its own location (the landmark lib/python3.X/os.py next to
# bin/), so sys.prefix is the copy.  pyenv's executables name their
# libpython with DT_RUNPATH (not DT_RPATH) $prefix/lib, which
# LD_LIBRARY_PATH overrides: the copy runs with LD_LIBRARY_PATH=its lib/
# (Interpreter.env), and Workload checks in /proc/PID/maps that the copy's
# libpython is the one loaded.  By hand:
#
#   LD_LIBRARY_PATH=build/stripped/3.12.1-strip-all/lib \
#       build/stripped/3.12.1-strip-all/bin/python3.12
#
# A copy is made once and reused while its STAMP matches the install's
# files (sizes and times) and STRIP_RECIPE.

STRIP_MODES = ('strip-debug', 'strip-all')   # objcopy --strip-debug / --strip-all
STRIPPED_ROOT = BUILD / 'stripped'
STRIP_RECIPE = 1        # bump when the way copies are made changes


def stripped_copy(interp, mode):
    """A copy of the pyenv interpreter interp with its files stripped.

    mode 'strip-debug': objcopy --strip-debug (no DWARF, .symtab kept);
    'strip-all': objcopy --strip-all (.dynsym only).  Made under
    build/stripped/ (see above) unless an up-to-date copy is there.
    Raises Skip if objcopy is missing.
    """
    if mode not in STRIP_MODES:
        raise ValueError('unknown strip mode %r' % mode)
    if not interp.spec.pyenv or interp.mode:
        raise ValueError('%s: only pyenv installs can be copied stripped' % interp.name)
    if not shutil.which('objcopy'):
        raise Skip('objcopy (binutils) is not installed')
    src = interp.prefix
    minor = 'python' + '.'.join(interp.spec.version.split('.')[:2])
    dest = STRIPPED_ROOT / ('%s-%s' % (interp.spec.version, mode))
    stamp = _strip_stamp(src, minor, mode)
    with file_lock(STRIPPED_ROOT / ('.%s.lock' % dest.name)):
        try:
            current = (dest / 'STAMP').read_text() == stamp
        except OSError:
            current = False
        if not current:
            _make_stripped(src, dest, minor, mode, stamp)
    copy = Interpreter(interp.spec, dest / 'bin' / interp.executable.name, mode, dest / 'lib')
    for path in (copy.executable, copy.libpython()):
        if path is None or not path.is_file():
            raise AssertionError('stripped copy %s lacks %s' % (dest, path))
        left = debug_sections(path)
        if left:
            raise AssertionError('%s still has %s' % (path, ', '.join(left)))
    return copy


def _strip_stamp(src, minor, mode):
    """What a copy is made from: recipe, mode, the install's files."""
    lines = ['gcscope stripped copy, recipe %d' % STRIP_RECIPE, 'mode %s' % mode,
             'source %s' % src]
    stdlib = src / 'lib' / minor
    # Files copied: size and time; the stdlib's entries, linked: names.
    for path in ([src / 'bin' / minor] + sorted((src / 'lib').glob('libpython*'))
                 + sorted((stdlib / 'lib-dynload').iterdir())):
        st = path.lstat()
        lines.append('%s %d %d' % (path.relative_to(src), st.st_size, st.st_mtime_ns))
    lines.extend(str(p.relative_to(src)) for p in sorted(stdlib.iterdir()))
    return '\n'.join(lines) + '\n'


def _strip(src, dst, mode):
    """objcopy --MODE src dst, keeping src's permission bits."""
    result = run(['objcopy', '--' + mode, src, dst], 120, 'objcopy')
    if result.returncode != 0:
        raise AssertionError('objcopy --%s %s %s failed (status %d):\n%s'
                             % (mode, src, dst, result.returncode,
                                tail(result.stderr + result.stdout)))
    shutil.copymode(src, dst)


def _copy_entry(src, dst, mode, strip):
    """dst for src: a relative link for a link, a stripped copy of an ELF
    file if strip, else an absolute link to src."""
    if src.is_symlink() and '/' not in os.readlink(src):
        os.symlink(os.readlink(src), dst)       # libpython3.X.so -> libpython3.X.so.1.0
    elif strip and src.is_file() and not src.is_symlink() and _is_elf(src):
        _strip(src, dst, mode)
    else:
        os.symlink(src, dst)


def _is_elf(path):
    with open(path, 'rb') as f:
        return f.read(4) == b'\x7fELF'


def _make_stripped(src, dest, minor, mode, stamp):
    """Build the copy in a temporary directory beside dest, then move it in."""
    started = time.monotonic()
    STRIPPED_ROOT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix='.%s-' % dest.name, dir=STRIPPED_ROOT))
    tmp.chmod(0o755)
    try:
        (tmp / 'bin').mkdir()
        _strip(src / 'bin' / minor, tmp / 'bin' / minor, mode)
        stdlib = tmp / 'lib' / minor
        (stdlib / 'lib-dynload').mkdir(parents=True)
        for lib in sorted((src / 'lib').glob('libpython*')):
            _copy_entry(lib, tmp / 'lib' / lib.name, mode, True)
        for entry in sorted((src / 'lib' / minor).iterdir()):
            if entry.name != 'lib-dynload':
                os.symlink(entry, stdlib / entry.name)
        for entry in sorted((src / 'lib' / minor / 'lib-dynload').iterdir()):
            _copy_entry(entry, stdlib / 'lib-dynload' / entry.name, mode, True)
        (tmp / 'STAMP').write_text(stamp)
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.exists():
            shutil.rmtree(dest)
        os.rename(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('  made %s (%.1f s)' % (dest.relative_to(REPO), time.monotonic() - started))


# ---------------------------------------------------------------------------
# The corpus's C extension: corpora/refbugs.c
#
# Built at test time for each interpreter, with that interpreter's own
# headers and file name suffix (sysconfig.get_paths()['include'] and
# 'platinclude', get_config_var('EXT_SUFFIX')), into
# build/refbugs/NAME/refbugs$EXT_SUFFIX, NAME the interpreter's
# InterpreterSpec name ('pyenv-3.12.1', 'debian-3.11'):
#
#   cc -shared -fPIC -O2 -g -Wall -Wextra -Werror -I INCLUDE [-I PLATINCLUDE] \
#       -o build/refbugs/NAME/refbugs$EXT_SUFFIX corpora/refbugs.c
#
# It does not link libpython: the interpreter importing it provides the
# symbols (pyenv's libpython3.X.so, Debian's statically linked
# executable).  A stripped copy of a pyenv install uses the install's
# build: same headers, same ABI, and the copy has no include/ of its own.
# The build is reused while its STAMP (source hash, command, header files)
# matches, and redone when the source changes.

REFBUGS_SOURCE = CORPORA / 'refbugs.c'
REFBUGS_ROOT = BUILD / 'refbugs'
REFBUGS_CFLAGS = ('-shared', '-fPIC', '-O2', '-g', '-Wall', '-Wextra', '-Werror')
REFBUGS_TIMEOUT = 120

_BUILD_CONFIG = r"""
import json, sys, sysconfig
paths = sysconfig.get_paths()
print(json.dumps({'include': paths['include'], 'platinclude': paths['platinclude'],
                  'ext_suffix': sysconfig.get_config_var('EXT_SUFFIX'),
                  'version': sys.version.split()[0]}))
"""


def build_config(interp):
    """{'include', 'platinclude', 'ext_suffix', 'version'} as interp's own
    sysconfig tells them."""
    result = subprocess.run([str(interp.executable), '-S', '-s', '-c', _BUILD_CONFIG],
                            capture_output=True, text=True, timeout=60,
                            env=workload_env(interp))
    if result.returncode != 0:
        raise AssertionError('%s cannot tell its build configuration (status %d):\n%s'
                             % (interp.executable, result.returncode, tail(result.stderr)))
    return json.loads(result.stdout)


def _file_stamp(path):
    st = path.stat()
    return '%s %d %d' % (path, st.st_size, st.st_mtime_ns)


def build_refbugs(interp):
    """The directory holding refbugs built for interp (see above).

    Raises Skip if there is no C compiler or interp has no headers, and
    fails with the compiler's output if the build fails.
    """
    base = find_interpreter(interp.spec.name) if interp.mode else interp
    cc = shutil.which('cc')
    if cc is None:
        raise Skip('no C compiler (cc): install build-essential')
    config = build_config(base)
    include = Path(config['include'])
    headers = [include / 'Python.h', include / 'patchlevel.h']
    if not all(h.exists() for h in headers):
        package = ('python%s-dev' % '.'.join(config['version'].split('.')[:2])
                   if not base.spec.pyenv else 'the pyenv install')
        raise Skip('%s has no headers (no %s): install %s'
                   % (base.name, headers[0], package))
    dest = REFBUGS_ROOT / base.spec.name
    target = dest / ('refbugs' + config['ext_suffix'])
    includes = ['-I', str(include)]
    if config['platinclude'] != config['include']:
        includes += ['-I', config['platinclude']]
    source = REFBUGS_SOURCE.read_bytes()
    command = [cc] + list(REFBUGS_CFLAGS) + includes
    stamp = '\n'.join(['gcscope refbugs build',
                       'source sha256 %s' % hashlib.sha256(source).hexdigest(),
                       'command %s' % ' '.join(command + ['-o', str(target), str(REFBUGS_SOURCE)]),
                       'python %s' % config['version']]
                      + [_file_stamp(h) for h in headers]) + '\n'
    with file_lock(REFBUGS_ROOT / ('.%s.lock' % base.spec.name)):
        return _build_refbugs(base, dest, target, command, stamp)


def _build_refbugs(base, dest, target, command, stamp):
    """Build refbugs into dest unless its STAMP says it is up to date."""
    stamp_path = dest / 'STAMP'
    try:
        if target.is_file() and stamp_path.read_text() == stamp:
            return dest
    except OSError:
        pass
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / ('.refbugs-%d.so' % os.getpid())
    result = run(command + ['-o', tmp, REFBUGS_SOURCE], REFBUGS_TIMEOUT, 'cc refbugs.c')
    if result.returncode != 0:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise AssertionError('building refbugs for %s failed (status %d):\n  %s\n%s'
                             % (base.name, result.returncode,
                                ' '.join(map(str, command + ['-o', target, REFBUGS_SOURCE])),
                                tail(result.stderr + result.stdout, 40)))
    os.rename(tmp, target)
    stamp_path.write_text(stamp)
    print('  built %s' % os.path.relpath(target, REPO))
    return dest


# ---------------------------------------------------------------------------
# Scratch directories, processes

def keep_files():
    """True if GCSCOPE_KEEP=1: leave cores and databases behind."""
    return os.environ.get('GCSCOPE_KEEP') == '1'


def verbose():
    """True if GCSCOPE_VERBOSE=1: report every mismatch, also on success."""
    return os.environ.get('GCSCOPE_VERBOSE') == '1'


@contextlib.contextmanager
def scratch_dir(name):
    """A temporary directory, removed afterwards unless GCSCOPE_KEEP=1."""
    path = Path(tempfile.mkdtemp(prefix='gcscope-%s-' % name))
    try:
        yield path
    finally:
        if keep_files():
            print('  kept: %s' % path)
        else:
            shutil.rmtree(path, ignore_errors=True)


def tail(text, lines=20):
    """The last lines of text, for error messages."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    rows = text.rstrip().splitlines()
    cut = rows[-lines:]
    return '\n'.join(('    ' + r) for r in cut) or '    (no output)'


def run(cmd, timeout, what):
    """Run cmd; return the CompletedProcess; fail with its output on timeout."""
    try:
        return subprocess.run([str(c) for c in cmd], capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError('%s timed out after %d s:\n%s'
                             % (what, timeout, tail((e.stderr or b'') + (e.stdout or b''))))


def workload_env(interpreter=None):
    """The environment for workloads: no PYTHON* settings, fixed hash seed,
    and what the interpreter needs (a stripped copy: LD_LIBRARY_PATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTHON')}
    env['PYTHONHASHSEED'] = '0'
    if interpreter is not None:
        env.update(interpreter.env())
    return env


def mapped_files(pid):
    """The files mapped into process pid, from /proc/PID/maps, in order."""
    files = []
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            fields = line.split(None, 5)
            if len(fields) == 6 and fields[5].startswith('/'):
                path = fields[5].rstrip('\n')
                if path not in files:
                    files.append(path)
    return files


def check_mapped(interpreter, pid):
    """For a stripped copy: fail unless process pid maps the copy's
    executable and libpython and no other libpython, and nothing it maps
    from the copy has DWARF."""
    if not interpreter.mode:
        return
    files = mapped_files(pid)
    want = {str(interpreter.executable), str(interpreter.libpython())}
    pythons = {f for f in files if '/libpython' in f} | (want & set(files))
    if pythons != want:
        raise AssertionError('%s: process %d maps %s, expected %s'
                             % (interpreter.name, pid, ', '.join(sorted(pythons)) or 'no libpython',
                                ', '.join(sorted(want))))
    original = str(pyenv_root() / 'versions' / interpreter.spec.version) + '/'
    copy = str(interpreter.prefix) + '/'
    for path in files:
        if path.startswith(original):
            raise AssertionError('%s: process %d maps %s from the install itself'
                                 % (interpreter.name, pid, path))
        if path.startswith(copy) and _is_elf(path) and debug_sections(path):
            raise AssertionError('%s: process %d maps %s, which has %s'
                                 % (interpreter.name, pid, path,
                                    ', '.join(debug_sections(path))))


class Workload:
    """A corpus program running under one interpreter until stopped.

    The program is called as SCRIPT READY_PATH TRUTH_DIR [ARGS...]: it
    writes its truth into TRUTH_DIR, then "ready" to READY_PATH.  It runs
    with -S (no site: no .pth files or sitecustomize, which may import
    threading and so register at-fork handlers) and -s.
    """

    def __init__(self, interpreter, script, workdir, args=(), env=None):
        self.extra_env = dict(env or {})
        self.interpreter = interpreter
        self.script = Path(script)
        self.workdir = Path(workdir)
        self.args = [str(a) for a in args]
        self.ready_path = self.workdir / 'ready'
        self.truth_dir = self.workdir / 'truth'
        self.stderr_path = self.workdir / 'workload.stderr'
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=READY_TIMEOUT):
        """Start the program and wait until it is ready."""
        cmd = [str(self.interpreter.executable), '-S', '-s', '-B', str(self.script),
               str(self.ready_path), str(self.truth_dir)] + self.args
        with open(self.stderr_path, 'wb') as err:
            env = dict(workload_env(self.interpreter), **self.extra_env)
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready():
                try:
                    wait_asleep(self.pid, deadline)
                    check_mapped(self.interpreter, self.pid)
                except BaseException:
                    self.stop()
                    raise
                return self
            if self.proc.poll() is not None:
                raise AssertionError('%s exited with status %s before it was ready:\n%s'
                                     % (self.script.name, self.proc.returncode,
                                        tail(self.stderr())))
            time.sleep(0.05)
        raise AssertionError('%s not ready after %d s:\n%s'
                             % (self.script.name, timeout, tail(self.stderr())))

    def _ready(self):
        try:
            return self.ready_path.read_text().startswith('ready')
        except OSError:
            return False

    def stderr(self):
        """What the program wrote to stderr and stdout so far."""
        try:
            return self.stderr_path.read_text(errors='replace')
        except OSError:
            return ''

    def stop(self):
        """Kill the program (if running) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def gcore(pid, prefix, timeout=GCORE_TIMEOUT):
    """Dump a core of the running process pid with gdb's gcore; return its path."""
    if not shutil.which('gcore'):
        raise Skip('gcore (gdb) is not installed')
    result = run(['gcore', '-o', prefix, pid], timeout, 'gcore')
    core = Path('%s.%d' % (prefix, pid))
    if result.returncode != 0 or not core.exists():
        raise AssertionError('gcore -o %s %d failed (status %d):\n%s'
                             % (prefix, pid, result.returncode,
                                tail(result.stderr + result.stdout)))
    return core


def require_gcscope():
    """Fail unless build/gcscope exists."""
    if not os.access(GCSCOPE, os.X_OK):
        raise AssertionError('%s does not exist: build it first (make)' % GCSCOPE)


# A sanitized gcscope (make SANITIZE=1) exits with this status when
# AddressSanitizer or UBSan reports an error, whatever status the program
# would have had; the reports start with these on stderr.
SANITIZER_STATUS = 86
SANITIZER_REPORTS = (b'ERROR: AddressSanitizer', b'ERROR: LeakSanitizer', b'runtime error:',
                     b'SUMMARY: AddressSanitizer', b'SUMMARY: UndefinedBehaviorSanitizer')


def check_sanitizer(returncode, stderr, what):
    """Fail if a run of gcscope ended with a sanitizer report: exit status
    SANITIZER_STATUS, or a report on stderr (whatever the status, so that
    a test accepting status 1 cannot pass one)."""
    if isinstance(stderr, str):
        stderr = stderr.encode('utf-8', 'replace')
    stderr = stderr or b''
    found = [r.decode() for r in SANITIZER_REPORTS if r in stderr]
    if returncode == SANITIZER_STATUS or found:
        raise AssertionError('%s: sanitizer report (exit status %d%s):\n%s'
                             % (what, returncode, ', ' + ', '.join(found) if found else '',
                                tail(stderr, 40)))


def run_gcscope(args, timeout=SNAPSHOT_TIMEOUT):
    """Run build/gcscope with args; return the CompletedProcess.  Fails on
    a sanitizer report (check_sanitizer)."""
    require_gcscope()
    what = 'gcscope ' + ' '.join(map(str, args))
    result = run([GCSCOPE] + list(args), timeout, what)
    check_sanitizer(result.returncode, result.stderr, what)
    return result


def snapshot_core(core, db, timeout=SNAPSHOT_TIMEOUT, args=()):
    """gcscope snapshot --core core --db db [args]; fail unless it exits with 0."""
    started = time.monotonic()
    cmd = ['snapshot', '--core', core, '--db', db] + [str(a) for a in args]
    result = run_gcscope(cmd, timeout)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise AssertionError('gcscope %s exited with status %d:\n%s'
                             % (' '.join(map(str, cmd)), result.returncode,
                                tail(result.stderr + result.stdout)))
    if not Path(db).exists():
        raise AssertionError('gcscope snapshot exited with 0 but wrote no %s' % db)
    return elapsed


# ---------------------------------------------------------------------------
# Corpus cores and snapshots, made once per run
#
# Many tests read the same thing: a core of corpora/leaky.py (with or
# without --refbugs) under one interpreter, its truth, and gcscope's
# snapshot of that core.  The first test to need one makes it in RUN_DIR,
# under an flock, and the others (in any pytest-xdist worker) wait for it
# and read it:
#
#   RUN_DIR/NAME[-refbugs]/        NAME an interpreter ('pyenv-3.12.1-strip-all')
#       core                       the core gcore took of the ready workload
#       truth/                     what the workload recorded (Truth)
#       snapshot[-OPTIONS].db      gcscope snapshot --core core [OPTIONS]
#       snapshot[-OPTIONS].db.elapsed   how long that took, in seconds
#
# A failure to make one is remembered (NAME.failed beside it) and raised
# again, as a skip or a failure, for every test that needs it.  RUN_DIR is
# GCSCOPE_RUN_DIR, which tests/conftest.py sets to a directory it empties
# when the run starts and removes when it ends (kept with GCSCOPE_KEEP=1).

CORPUS_SCRIPT = CORPORA / 'leaky.py'


def run_dir():
    """The directory shared by the tests of this run (see above)."""
    return Path(os.environ.get('GCSCOPE_RUN_DIR') or BINARIES / 'test-run')


def made_once(path, make):
    """path, made by make(path) unless this run made it already.

    Runs under an flock on PATH.lock, so concurrent callers make it once.
    A Skip or failure of make is written to PATH.failed and raised again
    for every later caller.
    """
    path = Path(path)
    done = Path(str(path) + '.done')
    failed = Path(str(path) + '.failed')
    with file_lock(str(path) + '.lock'):
        if done.exists():
            return path
        if failed.exists():
            kind, _, message = failed.read_text().partition('\n')
            if kind == 'skip':
                raise Skip(message)
            raise AssertionError('%s could not be made (an earlier test failed making it):\n%s'
                                 % (path.name, message))
        try:
            make(path)
        except Skip as e:
            failed.write_text('skip\n%s' % e)
            raise
        except BaseException as e:
            failed.write_text('fail\n%s: %s' % (type(e).__name__, e))
            raise
        done.write_text('')
    return path


@dataclasses.dataclass(frozen=True)
class CorpusCore:
    """A core of corpora/leaky.py under one interpreter, shared by a run."""

    interpreter: Interpreter
    refbugs: bool          # True: leaky.py --refbugs (refcount bugs planted)
    dir: Path

    @property
    def core(self):
        return self.dir / 'core'

    @property
    def truth_dir(self):
        return self.dir / 'truth'

    def truth(self):
        """The truth the workload recorded, read anew."""
        return Truth(self.truth_dir)


def corpus_core(name, refbugs=False):
    """The CorpusCore of leaky.py under the interpreter called name (a
    find_interpreter name), made once per run.  Raises Skip if the
    interpreter is missing."""
    interpreter = find_interpreter(name)
    path = run_dir() / (name + ('-refbugs' if refbugs else ''))

    def make(work):
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        args = ('--refbugs', build_refbugs(interpreter)) if refbugs else ()
        started = time.monotonic()
        with Workload(interpreter, CORPUS_SCRIPT, work, args=args) as workload:
            os.rename(gcore(workload.pid, work / 'core'), work / 'core')
        print('  made %s/core (%.1f s)' % (work.name, time.monotonic() - started))

    return CorpusCore(interpreter, refbugs, made_once(path, make))


def corpus_snapshot(corpus, args=()):
    """(database, seconds) of gcscope snapshot --core of a CorpusCore with
    the options args, made once per run."""
    args = tuple(str(a) for a in args)
    name = 'snapshot%s.db' % ''.join('-' + re.sub(r'[^\w.]+', '', a) for a in args)
    db = corpus.dir / name
    elapsed = Path(str(db) + '.elapsed')

    def make(path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        elapsed.write_text('%.3f' % snapshot_core(corpus.core, path, args=args))

    made_once(db, make)
    return db, float(elapsed.read_text())


# ---------------------------------------------------------------------------
# Truth recorded by a corpus

@dataclasses.dataclass
class TruthObject:
    """One line of objects.tsv."""

    type_addr: int
    generation: object     # 0..3; None for '-' (the corpus records it on every version)
    refcnt: int
    immortal: int


@dataclasses.dataclass
class TruthSize:
    """One line of sizes.tsv: what the interpreter knows of an allocation."""

    getsizeof: object      # sys.getsizeof(), or None where __sizeof__ is not object's
    type_flags: int        # type(o).__flags__
    itemsize: int          # type(o).__itemsize__
    inline: object         # 3.13: capacity of the inline values, else None
    block: object          # size of the pymalloc block holding the object, or None
    offset: object         # the object's offset in that block, or None


@dataclasses.dataclass
class TruthAnomaly:
    """One line of anomalies.tsv: a planted refcount bug."""

    addr: int
    kind: str              # the anomalies.kind gcscope must report
    refcnt: int            # ob_refcnt in the sleeping process
    referrers: int         # references to it in the heap
    name: str              # the refbugs function that planted it
    type: str              # module.qualname of its type


@dataclasses.dataclass
class TruthPath:
    """One line of paths.tsv: the shortest way from a root to addr must end
    with start, then each (label, addr) of hops."""

    name: str
    addr: int
    start: int
    hops: list             # [(label, addr)], the last addr is addr


@dataclasses.dataclass
class TruthRoot:
    """One line of roots.tsv: an object held from outside the heap."""

    kind: str              # the roots.kind gcscope must report
    addr: int
    holder: str            # function name for frames; 'sys', 'builtins', 'gc'
    what: str              # 'code', 'globals', 'function', 'local NAME', 'modules', ...


@dataclasses.dataclass
class TruthLeak:
    """One line of leaked.tsv: an untracked object refbugs leaked, that
    nothing refers to."""

    addr: int
    type: str              # 'float' or 'str'
    refcnt: int            # its ob_refcnt: 1
    value: str             # what its preview is made from: repr() of a float, ascii() of a str


# One size class of pymalloc: the block size and, over the pools in use,
# their number, the blocks in use and the blocks still available in them.
TruthMallocClass = collections.namedtuple('TruthMallocClass', 'size pools blocks avail')


@dataclasses.dataclass
class TruthMallocStats:
    """pymalloc's own census, parsed from mallocstats.txt (parse_mallocstats).

    classes maps a size class index to a TruthMallocClass(size, pools,
    blocks, avail); classes without a pool in use are not printed, and
    not in it.  totals maps the names of the figures after the table to
    their values (see parse_mallocstats for the names).
    """

    threshold: int         # SMALL_REQUEST_THRESHOLD: 512
    nclasses: int          # number of size classes: 32 with 16-byte alignment
    classes: dict          # index -> TruthMallocClass
    totals: dict           # name -> int

    @property
    def arenas(self):
        """The arenas allocated when the stats were printed."""
        return self.totals['arenas allocated current']

    @property
    def blocks_in_use(self):
        """Blocks in use over all size classes."""
        return sum(c.blocks for c in self.classes.values())


_MALLOC_HEADER = re.compile(r'Small block threshold = (\d+), in (\d+) size classes\.$')
_MALLOC_CLASS = re.compile(r' *(\d+) +(\d+) +(\d+) +(\d+) +(\d+)$')
_MALLOC_FIGURE = re.compile(r'# (\S.*?) += +([\d,]+)$')
_MALLOC_ARENAS = re.compile(r'(\d+) arenas \* (\d+) bytes/arena += +([\d,]+)$')
_MALLOC_POOLS = re.compile(r'(\d+) unused pools \* (\d+) bytes += +([\d,]+)$')
_MALLOC_TOTAL = re.compile(r'Total += +([\d,]+)$')
_MALLOC_FREE_LIST = re.compile(r' *\d+ free ')


def parse_mallocstats(text):
    """Parse what sys._debugmallocstats() prints into a TruthMallocStats.

    The pymalloc part, the same from 3.6 to 3.13 but for the arena map
    (3.10+, radix tree) and the sizes (pools of 4 KiB and arenas of 256 KiB
    before 3.10, 16 KiB and 1 MiB from 3.10); numbers with thousands
    separators after the '=' (here from 3.12.1):

        Small block threshold = 512, in 32 size classes.

        class   size   num pools   blocks in use  avail blocks
        -----   ----   ---------   -------------  ------------
            0     16           1              23           998
            1     32          10            4976           124
        ...
           31    512           2              32            30

        # arenas allocated total           =                    8
        # arenas reclaimed                 =                    0
        # arenas highwater mark            =                    8
        # arenas allocated current         =                    8
        8 arenas * 1048576 bytes/arena     =            8,388,608

        # bytes in allocated blocks        =            6,969,792
        # bytes in available blocks        =              255,232
        61 unused pools * 16384 bytes      =              999,424
        # bytes lost to pool headers       =               21,312
        # bytes lost to quantization       =               28,160
        # bytes lost to arena alignment    =              114,688
        Total                              =            8,388,608

        arena map counts                                (3.10+)
        # arena map mid nodes              =                    1
        # arena map bot nodes              =                    1

        # bytes lost to arena map root     =              262,144
        # bytes lost to arena map mid      =              262,144
        # bytes lost to arena map bot      =              131,072
        Total                              =              655,360

    followed by the free lists ("   4 free PyFloatObjects * 24 bytes each
    = ..."), which are not parsed.  A table row is index, block size,
    pools in use, blocks in use, blocks available in those pools.  totals
    has each '# NAME = N' as NAME ('arenas allocated current', 'bytes in
    allocated blocks', ...); 'N arenas * SIZE bytes/arena = T' as 'arenas'
    N, 'arena size' SIZE, 'arenas bytes' T; 'N unused pools * SIZE bytes =
    T' as 'unused pools' N, 'pool size' SIZE, 'unused pools bytes' T; the
    first 'Total' as 'total', the arena map's as 'arena map total'.

    Strict: a line it does not expect before the free lists is an
    AssertionError naming it, and so are figures that do not add up (the
    table against the bytes in allocated and available blocks, the
    arenas against the total).
    """
    lines = text.splitlines()
    k = 0

    def fail(why):
        line = lines[k] if k < len(lines) else '(end of text)'
        raise AssertionError('mallocstats.txt line %d: %s: %r' % (k + 1, why, line))

    def expect(test, why):
        nonlocal k
        if k >= len(lines) or not test(lines[k]):
            fail(why)
        k += 1

    match = _MALLOC_HEADER.match(lines[0]) if lines else None
    if not match:
        fail('not the header of sys._debugmallocstats()')
    threshold, nclasses = int(match.group(1)), int(match.group(2))
    if nclasses < 1 or threshold % nclasses:
        fail('odd size classes')
    k = 1
    expect(lambda line: line == '', 'expected an empty line')
    expect(lambda line: line.split() == 'class size num pools blocks in use avail blocks'.split(),
           'expected the table header')
    expect(lambda line: line.split() == ['-----', '----', '---------', '-------------',
                                         '------------'], 'expected the table rule')
    classes = {}
    while k < len(lines) and lines[k] != '':
        match = _MALLOC_CLASS.match(lines[k])
        if not match:
            fail('not a size class row')
        index, size, pools, blocks, avail = map(int, match.groups())
        if index >= nclasses or (classes and index <= max(classes)):
            fail('size class out of order or range')
        if size != (index + 1) * (threshold // nclasses) or pools < 1:
            fail('wrong block size or no pool')
        classes[index] = TruthMallocClass(size, pools, blocks, avail)
        k += 1
    if not classes:
        fail('no size class in use')
    totals = {}

    def put(name, value):
        if name in totals:
            fail('%r twice' % name)
        totals[name] = int(value.replace(',', ''))

    total_name = 'total'
    while k < len(lines) and not _MALLOC_FREE_LIST.match(lines[k]):
        line = lines[k]
        if line == '':
            pass
        elif line == 'arena map counts':
            total_name = 'arena map total'
        elif _MALLOC_FIGURE.match(line):
            put(*_MALLOC_FIGURE.match(line).groups())
        elif _MALLOC_ARENAS.match(line):
            for name, value in zip(('arenas', 'arena size', 'arenas bytes'),
                                   _MALLOC_ARENAS.match(line).groups()):
                put(name, value)
        elif _MALLOC_POOLS.match(line):
            for name, value in zip(('unused pools', 'pool size', 'unused pools bytes'),
                                   _MALLOC_POOLS.match(line).groups()):
                put(name, value)
        elif _MALLOC_TOTAL.match(line):
            put(total_name, _MALLOC_TOTAL.match(line).group(1))
        else:
            fail('not a figure of pymalloc')
        k += 1
    stats = TruthMallocStats(threshold, nclasses, classes, totals)
    parts = ('bytes in allocated blocks', 'bytes in available blocks', 'unused pools bytes',
             'bytes lost to pool headers', 'bytes lost to quantization',
             'bytes lost to arena alignment')
    missing = [name for name in parts + ('arenas allocated current', 'arenas', 'arena size',
                                         'arenas bytes', 'unused pools', 'pool size', 'total')
               if name not in totals]
    if missing:
        raise AssertionError('mallocstats.txt: no %s' % ', '.join(missing))
    checks = [
        ('bytes in allocated blocks', sum(c.size * c.blocks for c in classes.values())),
        ('bytes in available blocks', sum(c.size * c.avail for c in classes.values())),
        ('arenas', totals['arenas allocated current']),
        ('arenas bytes', totals['arenas'] * totals['arena size']),
        ('unused pools bytes', totals['unused pools'] * totals['pool size']),
        ('total', sum(totals[name] for name in parts)),
        ('total', totals['arenas bytes']),
    ]
    wrong = ['%s is %d, not %d' % (name, totals[name], value)
             for name, value in checks if totals[name] != value]
    if wrong:
        raise AssertionError('mallocstats.txt does not add up: ' + '; '.join(wrong))
    return stats


def _int_or_none(text, base=10):
    return None if text == '-' else int(text, base)


class Truth:
    """The files a corpus wrote into its truth directory.

    sizes.tsv is optional (truth directories written before it existed
    lack it): sizes is then empty.  So are the files for the analyses:
    finalizers.tsv (finalizers: addresses), anomalies.tsv (anomalies:
    TruthAnomaly), paths.tsv (paths: TruthPath), roots.tsv (roots:
    TruthRoot) and leaked.tsv (leaked: TruthLeak); has(name) says whether
    one was written.  mallocstats.txt, which a corpus writes only where
    pymalloc serves the objects, is mallocstats (TruthMallocStats, see
    parse_mallocstats), or None.
    """

    def __init__(self, truth_dir):
        self.dir = Path(truth_dir)
        self.objects = {}
        for addr, type_addr, gen, refcnt, immortal in self._rows('objects.tsv'):
            self.objects[int(addr, 16)] = TruthObject(
                int(type_addr, 16), None if gen == '-' else int(gen),
                int(refcnt), int(immortal))
        self.referents = {}
        for row in self._rows('referents.tsv'):
            self.referents[int(row[0], 16)] = [int(a, 16) for a in row[1:]]
        self.types = {int(a, 16): name for a, name in self._rows('types.tsv')}
        self.garbage = [int(r[0], 16) for r in self._rows('garbage.tsv')]
        self.unreachable = [int(r[0], 16) for r in self._rows('unreachable.tsv')]
        self.labels = {name: int(a, 16) for name, a in self._rows('labels.tsv')}
        self.previews = []
        if (self.dir / 'previews.tsv').exists():
            self.previews = [(int(a, 16), kind, value)
                             for a, kind, value in self._rows('previews.tsv')]
        self.meta = {row[0]: (row[1] if len(row) > 1 else '')
                     for row in self._rows('meta.tsv')}
        self.sizes = {}
        if (self.dir / 'sizes.tsv').exists():
            for addr, size, flags, itemsize, inline, block, offset in self._rows('sizes.tsv'):
                self.sizes[int(addr, 16)] = TruthSize(
                    _int_or_none(size), int(flags, 16), int(itemsize),
                    _int_or_none(inline), _int_or_none(block), _int_or_none(offset))
        # owner, buffer address, block size: lists' items, dicts' keys
        self.buffers = []
        if self.has('buffers.tsv'):
            self.buffers = [(int(o, 16), int(b, 16), int(size))
                            for o, b, size in self._rows('buffers.tsv')]
        self.finalizers = set()
        if self.has('finalizers.tsv'):
            self.finalizers = {int(r[0], 16) for r in self._rows('finalizers.tsv')}
        self.anomalies = []
        if self.has('anomalies.tsv'):
            self.anomalies = [TruthAnomaly(int(a, 16), kind, int(refcnt), int(referrers), name, tp)
                              for a, kind, refcnt, referrers, name, tp
                              in self._rows('anomalies.tsv')]
        self.paths = []
        if self.has('paths.tsv'):
            for row in self._rows('paths.tsv'):
                pairs = row[3:]
                if len(pairs) < 2 or len(pairs) % 2:
                    raise AssertionError('paths.tsv: bad row %r' % (row,))
                self.paths.append(TruthPath(row[0], int(row[1], 16), int(row[2], 16),
                                            [(pairs[k], int(pairs[k + 1], 16))
                                             for k in range(0, len(pairs), 2)]))
        self.roots = []
        if self.has('roots.tsv'):
            self.roots = [TruthRoot(kind, int(a, 16), holder, what)
                          for kind, a, holder, what in self._rows('roots.tsv')]
        self.leaked = []
        if self.has('leaked.tsv'):
            self.leaked = [TruthLeak(int(a, 16), tp, int(refcnt), value)
                           for a, tp, refcnt, value in self._rows('leaked.tsv')]
        self.mallocstats = None
        if self.has('mallocstats.txt'):
            self.mallocstats = parse_mallocstats(
                (self.dir / 'mallocstats.txt').read_text(encoding='ascii'))

    def has(self, name):
        """True if the truth directory has the file name."""
        return (self.dir / name).exists()

    def _rows(self, name):
        path = self.dir / name
        if not path.exists():
            raise AssertionError('truth file %s is missing' % path)
        with open(path, encoding='utf-8') as f:
            for line in f:
                if line.startswith('#'):
                    continue
                line = line.rstrip('\n')
                if line:
                    yield line.split('\t')

    def type_name(self, addr):
        """Name of the type of the object at addr, or None."""
        obj = self.objects.get(addr)
        return self.types.get(obj.type_addr) if obj else None

    @property
    def freeze_count(self):
        return int(self.meta.get('freeze_count', '0'))

    def hidden(self):
        """addr -> the references to each object the collector cannot see:
        its ob_refcnt minus the references to it from the objects of
        gc.get_objects() (their gc.get_referents()).  Positive where
        something outside the tracked objects holds it (C code, the
        interpreter's structs, untracked objects such as code objects),
        negative where the count is below the references (a refcount bug).
        """
        seen = self.seen()
        return {a: t.refcnt - seen[a] for a, t in self.objects.items()}

    def seen(self):
        """Counter: addr -> references to it from the gc.get_objects() objects."""
        return collections.Counter(r for refs in self.referents.values() for r in refs)

    def kept(self):
        """The objects a full collection of every tracked object (the
        permanent generation too) would keep: those with references it
        cannot see (hidden() > 0), and all they refer to, as
        Modules/gcmodule.c finds them (update_refs, subtract_refs,
        move_unreachable).  The rest would be freed."""
        hidden = self.hidden()
        kept, stack = set(), [a for a, h in hidden.items() if h > 0]
        while stack:
            a = stack.pop()
            if a in kept:
                continue
            kept.add(a)
            stack.extend(r for r in self.referents.get(a, ())
                         if r in self.objects and r not in kept)
        return kept

    @property
    def version(self):
        """(3, 12, 1): the interpreter's version, from meta.tsv."""
        match = re.match(r'(\d+)\.(\d+)(?:\.(\d+))?', self.meta.get('python_version', ''))
        return tuple(int(p) for p in match.groups() if p is not None) if match else ()


# ---------------------------------------------------------------------------
# Snapshot databases

@dataclasses.dataclass
class DbObject:
    """One row of the objects table."""

    type_addr: object
    type: object
    refcnt: object
    gc_tracked: int
    generation: object
    immortal: int
    repr: object
    status: str
    detail: object
    size: object = None
    found: object = None   # 'gc', 'referent' or 'arena'


@dataclasses.dataclass
class DbEdge:
    """One row of the edges table, without its src."""

    dst: int
    kind: str
    label: object


class Snapshot:
    """A gcscope snapshot database, read whole."""

    REFERENCE_KINDS = ('traverse', 'conservative')

    def __init__(self, db):
        self.path = Path(db)
        con = sqlite3.connect('file:%s?mode=ro' % self.path, uri=True)
        try:
            # The big tables and their indexes are written as pages, not
            # through SQLite: SQLite checks their structure, that every
            # row is in every index and the constraints hold.
            problems = [r[0] for r in con.execute('PRAGMA integrity_check')]
            if problems != ['ok']:
                raise AssertionError('%s: integrity_check: %s'
                                     % (self.path, '; '.join(problems[:5])))
            self.meta = dict(con.execute('SELECT key, value FROM meta'))
            self.objects = {}
            for row in con.execute('SELECT addr, type_addr, type, refcnt, gc_tracked,'
                                   ' generation, immortal, repr, status, detail, size, found'
                                   ' FROM objects'):
                self.objects[row[0]] = DbObject(*row[1:])
            self.edges = collections.defaultdict(list)
            for src, dst, kind, label in con.execute(
                    'SELECT src, dst, kind, label FROM edges ORDER BY rowid'):
                self.edges[src].append(DbEdge(dst, kind, label))
        finally:
            con.close()

    def references(self, src):
        """Edges from src that stand for references tp_traverse visits."""
        return [e for e in self.edges.get(src, ()) if e.kind in self.REFERENCE_KINDS]

    @property
    def label(self):
        """'3.12.1 dwarf': version and layout source, from meta."""
        return '%s %s' % (self.meta.get('python_version', '?'),
                          self.meta.get('layout_source', '?'))


@dataclasses.dataclass
class DbRoot:
    """One row of the roots table, without its addr."""

    kind: str
    label: str
    conservative: int = 0


@dataclasses.dataclass
class DbReach:
    """One row of the reach table, without its addr."""

    depth: int
    via: object
    label: object


@dataclasses.dataclass
class DbAnomaly:
    """One row of the anomalies table, without its addr."""

    kind: str
    refcnt: int
    referrers: int
    detail: object


class Analyses:
    """The analysis tables of a snapshot database (schema/002-analyses.sql).

    roots:     addr -> [DbRoot], in rowid order
    reach:     addr -> DbReach
    garbage:   [(addr, reason, finalizer)], in rowid order
    anomalies: addr -> DbAnomaly
    cycles:    cycle_id -> set of addr; cycle_rows: [(cycle_id, addr)]
    type_finalizer: type addr -> types.has_finalizer
    """

    TABLES = ('roots', 'reach', 'garbage', 'anomalies', 'cycles')

    def __init__(self, db):
        self.path = Path(db)
        con = sqlite3.connect('file:%s?mode=ro' % self.path, uri=True)
        try:
            self.user_version = con.execute('PRAGMA user_version').fetchone()[0]
            tables = {n for (n,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            missing = [t for t in self.TABLES if t not in tables]
            if missing:
                raise AssertionError('%s has no table %s (PRAGMA user_version %d; the analyses'
                                     ' are schema version 2)'
                                     % (self.path, ', '.join(missing), self.user_version))
            self.roots = collections.defaultdict(list)
            for addr, kind, label, conservative in con.execute(
                    'SELECT addr, kind, label, conservative FROM roots ORDER BY rowid'):
                self.roots[addr].append(DbRoot(kind, label, conservative))
            self.reach = {addr: DbReach(depth, via, label) for addr, depth, via, label
                          in con.execute('SELECT addr, depth, via, label FROM reach')}
            self.garbage = list(con.execute(
                'SELECT addr, reason, finalizer FROM garbage ORDER BY rowid'))
            # The suspected bugs; what a holder explains, with its cause.
            self.anomalies = {addr: DbAnomaly(kind, refcnt, referrers, detail)
                              for addr, kind, refcnt, referrers, detail in con.execute(
                                  'SELECT addr, kind, refcnt, referrers, detail FROM anomalies'
                                  ' WHERE cause IS NULL')}
            self.explained = dict(con.execute(
                'SELECT addr, cause FROM anomalies WHERE cause IS NOT NULL'))
            self.cycle_rows = list(con.execute(
                'SELECT cycle_id, addr FROM cycles ORDER BY rowid'))
            self.type_finalizer = dict(con.execute('SELECT addr, has_finalizer FROM types'))
        finally:
            con.close()
        self.cycles = collections.defaultdict(set)
        for cycle_id, addr in self.cycle_rows:
            self.cycles[cycle_id].add(addr)

    def counts(self):
        """'roots N, reach N, ...': rows per table."""
        return ', '.join('%s %d' % (name, n) for name, n in (
            ('roots', sum(map(len, self.roots.values()))), ('reach', len(self.reach)),
            ('garbage', len(self.garbage)), ('anomalies', len(self.anomalies)),
            ('cycles', len(self.cycles))))


# ---------------------------------------------------------------------------
# Comparing a snapshot with the truth

@dataclasses.dataclass
class Measure:
    """How many of total matched the truth.

    It passes only if every one did, but for the known misses (see
    KNOWN_MISSES): cases the interpreter's own figures do not settle, or
    that a correct gcscope is known to get wrong, each listed by kind
    with the reason.  The percentage shown is matched / total, the known
    misses counted as misses.
    """

    name: str
    matched: int
    total: int
    known: int = 0         # misses of a KNOWN_MISSES kind

    @property
    def percent(self):
        return 100.0 * self.matched / self.total if self.total else 100.0

    @property
    def ok(self):
        return self.matched + self.known == self.total

    def __str__(self):
        return '%s %.2f%% (%d/%d%s)' % (self.name, self.percent, self.matched, self.total,
                                        ', %d known misses' % self.known if self.known else '')


class Misses:
    """Examples of one kind of miss, grouped by a type name."""

    def __init__(self, heading):
        self.heading = heading
        self.rows = []                 # (group, line)

    def add(self, group, line):
        self.rows.append((group, line))

    def __len__(self):
        return len(self.rows)

    def lines(self, limit=10):
        """A heading with a count per group, then up to limit examples.

        Examples are taken one per group in turn, largest groups first, so
        that one common miss does not hide the others.
        """
        if not self.rows:
            return []
        groups = collections.OrderedDict()
        for group, line in self.rows:
            groups.setdefault(group, []).append(line)
        order = sorted(groups, key=lambda g: -len(groups[g]))
        counts = ', '.join('%s %d' % (g, len(groups[g])) for g in order[:12])
        if len(order) > 12:
            counts += ', ... (%d types)' % len(order)
        out = ['  %s: %d [%s]' % (self.heading, len(self.rows), counts)]
        picked, depth = 0, 0
        while picked < min(limit, len(self.rows)):
            for g in order:
                if depth < len(groups[g]) and picked < limit:
                    out.append('    ' + groups[g][depth])
                    picked += 1
            depth += 1
        return out


@dataclasses.dataclass
class Comparison:
    """The result of comparing a snapshot with the truth."""

    measures: list
    facts: list            # (text, ok) lines that are not ratios
    misses: list           # Misses

    @property
    def ok(self):
        return all(m.ok for m in self.measures) and all(ok for _, ok in self.facts)

    def failures(self):
        """One short text per failed measure or fact."""
        return (['%s: %d misses not known' % (m, m.total - m.matched - m.known)
                 for m in self.measures if not m.ok]
                + [text for text, ok in self.facts if not ok])

    def summary(self):
        """One line: each measure's percentage."""
        parts = []
        for m in self.measures:
            if m.name == 'objects':
                parts.append('objects %.2f%% (%d/%d)' % (m.percent, m.matched, m.total))
            else:
                parts.append('%s %.2f%%' % (m.name, m.percent))
        return ' '.join(parts)

    def report(self, limit=10):
        """Lines describing failed measures, facts and examples of every miss."""
        lines = ['  FAILED %s: %d misses not known' % (m, m.total - m.matched - m.known)
                 for m in self.measures if not m.ok]
        lines.extend(self._fact_lines())
        for misses in self.misses:
            lines.extend(misses.lines(limit))
        return lines

    def report_facts(self, limit=10):
        """Lines for the facts, with examples of tracked objects the truth lacks."""
        lines = self._fact_lines()
        for misses in self.misses:
            if misses.heading in (EXTRA_TRACKED, KNOWN):
                lines.extend(misses.lines(limit))
        return lines

    def _fact_lines(self):
        return ['  %s%s' % ('' if ok else 'FAILED ', text) for text, ok in self.facts]


EXTRA_TRACKED = 'tracked objects not in the truth'
KNOWN = 'known misses (gcstest.KNOWN_MISSES: why each kind is a miss)'


class Namer:
    """Describes addresses for messages, from the snapshot or the truth."""

    def __init__(self, truth, snap):
        self.truth = truth
        self.snap = snap

    def type_of(self, addr):
        """Type name from the snapshot, else from the truth, else '?'."""
        obj = self.snap.objects.get(addr)
        if obj is not None and obj.type:
            return obj.type
        return self.truth.type_name(addr) or '?'

    def __call__(self, addr):
        """'0x7f.. dict' with a short repr when the snapshot has one."""
        obj = self.snap.objects.get(addr)
        if obj is None and addr not in self.truth.objects:
            return '%#x (untracked, not in the snapshot)' % addr
        text = '%#x %s' % (addr, self.type_of(addr))
        if obj is None:
            text += ' (not in the snapshot)'
        elif obj.repr:
            text += ' ' + shorten(obj.repr)
        return text


def shorten(text, width=60):
    """text cut to width characters, one line."""
    text = str(text).replace('\n', ' ')
    return text if len(text) <= width else text[:width - 3] + '...'


def _gen(g):
    return '-' if g is None else str(g)


def compare_objects(truth, snap, name):
    """Truth objects found tracked with the right type."""
    found = 0
    misses = Misses('truth objects missing or wrong')
    for addr, t in truth.objects.items():
        obj = snap.objects.get(addr)
        if obj is not None and obj.gc_tracked == 1 and obj.type_addr == t.type_addr:
            found += 1
            continue
        want = truth.types.get(t.type_addr, '?')
        if obj is None:
            why = 'not in the snapshot'
        elif obj.gc_tracked != 1:
            why = 'in the snapshot with gc_tracked=0, status %s' % obj.status
            if obj.detail:
                why += ' (%s)' % obj.detail
        else:
            why = 'snapshot says type %s %s' % (
                '%#x' % obj.type_addr if obj.type_addr is not None else 'NULL', obj.type)
        misses.add(want, '%#x %s (generation %s, refcnt %d): %s'
                   % (addr, want, _gen(t.generation), t.refcnt, why))
    return Measure('objects', found, len(truth.objects)), misses


def compare_extra_tracked(truth, snap, name):
    """Snapshot objects tracked in generations 0-2 that the truth lacks.

    The workload allocates nothing lasting after its recording child took
    gc.get_objects() (corpora/leaky.py main: on 3.6 and 3.7 even the
    keyword tuples its later os calls' argument parsers keep are made
    before, by warm_up): any such object is something the snapshot has
    that the interpreter does not.
    """
    misses = Misses(EXTRA_TRACKED)
    for addr, o in snap.objects.items():
        if o.gc_tracked == 1 and o.generation in (0, 1, 2) and addr not in truth.objects:
            misses.add(o.type or '?', '%s generation %s refcnt %s'
                       % (name(addr), o.generation, o.refcnt))
    return misses


def compare_frozen(truth, snap):
    """The permanent generation's size: (text, ok)."""
    frozen = sum(1 for o in snap.objects.values() if o.gc_tracked == 1 and o.generation == 3)
    want = truth.freeze_count
    return ('generation 3: %d objects, gc.get_freeze_count() %d' % (frozen, want),
            frozen == want)


def _edge_list(edges, limit=8):
    """'label->0x..., ...' for the first edges of a source."""
    text = ', '.join('%s->%#x' % (e.label, e.dst) for e in edges[:limit])
    return text + (', ...' if len(edges) > limit else '')


def known_edge_miss(truth, src, edge):
    """The KNOWN_MISSES kind of a referent the snapshot lacks (edge None)
    or of a snapshot edge the truth lacks, from src; or None."""
    if (truth.type_name(src) or '').startswith(('_ctypes.', 'ctypes.')):
        return 'ctypes metatype'
    if edge is not None and edge.kind == 'conservative' and truth.type_name(src) == 'module':
        return 'module state'
    return None


def compare_edges(truth, snap, name, known):
    """Referents present, edges real, and examples of both kinds of miss.

    Per source object, the truth's referents and the snapshot's traverse
    and conservative edges are compared as multisets of destinations.
    Misses of a KNOWN_MISSES kind go to known.
    """
    matched = truth_total = db_total = known_missing = known_extra = 0
    missing = Misses('truth referents without a snapshot edge')
    extra = Misses('snapshot edges not among the truth referents')
    for src, refs in truth.referents.items():
        edges = snap.references(src)
        want = collections.Counter(refs)
        have = collections.Counter(e.dst for e in edges)
        hits = sum(min(n, have[dst]) for dst, n in want.items())
        matched += hits
        truth_total += len(refs)
        db_total += len(edges)
        if hits == len(refs) and hits == len(edges):
            continue
        src_type = name.type_of(src)
        for dst, n in (want - have).items():
            kind = known_edge_miss(truth, src, None)
            if kind:
                known_missing += n
                known.add(kind, 'referents %s -> %s' % (name(src), name(dst)))
                continue
            missing.add(src_type, '%s -> %s%s; snapshot has [%s]'
                        % (name(src), name(dst), ' (x%d)' % n if n > 1 else '',
                           _edge_list(edges)))
        over = have - want
        # Of several edges to one destination, call the conservative ones
        # and then the later ones extra.
        for e in sorted(reversed(edges), key=lambda e: e.kind != 'conservative'):
            if over[e.dst] > 0:
                over[e.dst] -= 1
                kind = known_edge_miss(truth, src, e)
                if kind:
                    known_extra += 1
                    known.add(kind, 'edges-real %s -[%s %s]-> %s'
                              % (name(src), e.kind, e.label, name(e.dst)))
                    continue
                extra.add(src_type, '%s -[%s %s]-> %s'
                          % (name(src), e.kind, e.label, name(e.dst)))
    return (Measure('referents', matched, truth_total, known_missing),
            Measure('edges-real', matched, db_total, known_extra),
            missing, extra)


def compare_refcounts(truth, snap, name):
    """Raw refcounts equal, over all truth objects."""
    equal = 0
    misses = Misses('refcount differences')
    for addr, t in truth.objects.items():
        obj = snap.objects.get(addr)
        if obj is not None and obj.refcnt == t.refcnt:
            equal += 1
        elif obj is not None:
            misses.add(name.type_of(addr), '%s: truth %d, snapshot %s (%+d)'
                       % (name(addr), t.refcnt, obj.refcnt, (obj.refcnt or 0) - t.refcnt))
    return Measure('refcnt', equal, len(truth.objects)), misses


def compare_generations(truth, snap, name):
    """Generations equal, over all truth objects: the corpus records every
    object's generation on every version (an unknown one is a miss)."""
    equal = 0
    misses = Misses('generation differences')
    for addr, t in truth.objects.items():
        obj = snap.objects.get(addr)
        if obj is not None and t.generation is not None and obj.generation == t.generation:
            equal += 1
        elif obj is not None:
            misses.add(name.type_of(addr), '%s: truth %s, snapshot %s'
                       % (name(addr), _gen(t.generation), obj.generation))
    return Measure('generation', equal, len(truth.objects)), misses


# Type flags (Include/object.h) that decide what is allocated around an object.
TPFLAGS_INLINE_VALUES = 1 << 2      # 3.13+: values stored after the object
TPFLAGS_MANAGED_WEAKREF = 1 << 3    # 3.12+: weakref list in the pre-header
TPFLAGS_MANAGED_DICT = 1 << 4       # 3.11+: dict (and values) in the pre-header
TPFLAGS_HEAPTYPE = 1 << 9


def expected_allocation(version, s):
    """The bytes the interpreter allocated for a tracked object, or None.

    version is the interpreter's (3, 12, 1); s the object's TruthSize.  The
    allocation is presize + round8(object part) (+ inline values on 3.13),
    where (Include/internal/pycore_object.h _PyType_PreHeaderSize,
    Include/cpython/objimpl.h _PyObject_VAR_SIZE):

      presize  the GC head, 16 bytes from 3.8 on (32 before: a union with
               long double), plus 2 pointers of pre-header for types with
               Py_TPFLAGS_MANAGED_DICT on 3.11 and with either
               Py_TPFLAGS_MANAGED_DICT or Py_TPFLAGS_MANAGED_WEAKREF from
               3.12 (Py_TPFLAGS_PREHEADER);
      object   basicsize + itemsize * Py_SIZE, which object.__sizeof__
               returns, rounded up to 8;
      inline   3.13, Py_TPFLAGS_INLINE_VALUES: _PyInlineValuesSize =
               (capacity + 1) pointers (a header word and the values) +
               round8(capacity) order bytes, for the capacity the shared
               keys of the class offered when the object was allocated.

    sys.getsizeof() is object.__sizeof__ plus exactly that presize on every
    version tested (3.11 included: its getsizeof adds _PyType_PreHeaderSize,
    managed dict and all; checked against the pymalloc blocks), but not the
    inline values of 3.13 (object.__sizeof__ leaves them out).

    The capacity byte an object keeps (PyDictValues.capacity) is not always
    the one its allocation was sized for: 3.13's _PyObject_InitInlineValues
    decrements the shared keys' dk_usable (while it is above 1) after
    _PyType_AllocNoTrack sized the allocation and before it stores the
    capacity, so the first instances of a class (up to ~29 of them, until
    the keys have learnt the attribute count) were allocated for
    capacity + 1 values.  The pymalloc block decides between the two where
    they fall into different 16-byte size classes; elsewhere the view is
    not exact.

    None where the interpreter's view is not exact: no getsizeof (the type
    has its own __sizeof__); 3.13+ inline values without a known capacity,
    or whose capacity the block cannot settle; and variable-size instances
    of heap types (tuple, int and bytes subclasses), which
    PyType_GenericAlloc allocates with one item more than Py_SIZE, while
    struct sequences and the like come from PyObject_GC_NewVar without it:
    which one made the object cannot be told.
    """
    if s.getsizeof is None:
        return None
    if s.type_flags & TPFLAGS_HEAPTYPE and s.itemsize:
        return None
    presize = 16 if version >= (3, 8) else 32
    if version >= (3, 12):
        if s.type_flags & (TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF):
            presize += 16
    elif version >= (3, 11) and s.type_flags & TPFLAGS_MANAGED_DICT:
        presize += 16
    size = presize + (s.getsizeof - presize + 7) // 8 * 8
    if version >= (3, 13) and s.type_flags & TPFLAGS_INLINE_VALUES:
        if s.inline is None or s.block is None:
            return None
        stored, learning = (size + _inline_values_size(c)
                            for c in (s.inline, s.inline + 1))
        fits = [a for a in (stored, learning) if _round16(a) == s.block]
        if len(fits) == 2:
            return None
        size = fits[0] if fits else stored
    return size


def _inline_values_size(capacity):
    """_PyInlineValuesSize (3.13) for a capacity."""
    return (capacity + 1) * 8 + (capacity + 7) // 8 * 8


def _round16(n):
    """n rounded up to pymalloc's size classes (ALIGNMENT 16)."""
    return (n + 15) // 16 * 16


def compare_sizes(truth, snap, name, known_misses):
    """objects.size against the interpreter's view and against pymalloc.

    size:        truth objects whose allocation the interpreter knows
                 exactly (expected_allocation) with that size in the
                 snapshot;
    size-block:  truth objects found in a pymalloc block whose snapshot size,
                 rounded up to pymalloc's 16-byte size classes, is that
                 block's size.  An independent check that also covers the
                 types with their own __sizeof__.
    Every one must match but the known misses (known_size_miss).
    Returns (size measure or None, size misses, block measure or None,
    block misses); a measure is None when the truth has no sizes.  Misses
    of a KNOWN_MISSES kind go to known_misses.
    """
    version = truth.version
    matched = total = block_matched = block_total = known = block_known = 0
    misses = Misses('size differences (truth from sys.getsizeof)')
    block_misses = Misses('size differences (truth from the pymalloc block)')
    for addr, s in truth.sizes.items():
        obj = snap.objects.get(addr)
        have = obj.size if obj is not None else None
        want = expected_allocation(version, s)
        if want is not None:
            total += 1
            if have == want:
                matched += 1
            elif known_size_miss(version, s, have):
                known += 1
                known_misses.add(known_size_miss(version, s, have), 'size %s: truth %d, snapshot %s'
                                 % (name(addr), want, have))
            else:
                inline = ('' if s.inline is None else
                          ', capacity byte %d, pymalloc block %d' % (s.inline, s.block))
                misses.add(name.type_of(addr), '%s: truth %d (getsizeof %d%s), snapshot %s%s'
                           % (name(addr), want, s.getsizeof, inline, have,
                              ' (%+d)' % (have - want) if have is not None else ''))
        if s.block is not None:
            block_total += 1
            if have is not None and _round16(have) == s.block:
                block_matched += 1
            elif known_size_miss(version, s, have):
                block_known += 1
                known_misses.add(known_size_miss(version, s, have),
                                 'size-block %s: pymalloc block %d, snapshot %s'
                                 % (name(addr), s.block, have))
            else:
                block_misses.add(name.type_of(addr), '%s: pymalloc block %d (object at +%d),'
                                 ' snapshot %s%s'
                                 % (name(addr), s.block, s.offset, have,
                                    '' if want is None else ' (getsizeof view %d)' % want))
    size = Measure('size', matched, total, known) if truth.sizes else None
    block = Measure('size-block', block_matched, block_total, block_known) \
        if block_total else None
    return size, misses, block, block_misses


TPFLAGS_UNICODE_SUBCLASS = 1 << 28


def known_size_miss(version, s, have):
    """The KNOWN_MISSES kind of a size miss (s a TruthSize, have the
    snapshot's size), or None."""
    if s.type_flags & TPFLAGS_UNICODE_SUBCLASS and s.type_flags & TPFLAGS_HEAPTYPE \
            and version[:2] == (3, 11):
        return 'str subclass'
    if version >= (3, 13) and s.type_flags & TPFLAGS_INLINE_VALUES and s.inline is not None \
            and s.block is not None and s.getsizeof is not None:
        presize = 32 if s.type_flags & (TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF) else 16
        base = presize + (s.getsizeof - presize + 7) // 8 * 8
        if have == base + _inline_values_size(s.inline) and \
                _round16(base + _inline_values_size(s.inline + 1)) == s.block:
            return 'inline values learning'
    return None


# Measures' misses a correct gcscope is known to make, or that the
# interpreter's own figures cannot settle: kind -> (measures, why).
KNOWN_MISSES = {
    'ctypes metatype': (
        'referents, edges-real',
        "ctypes' metatypes (PyCPointerType, PyCStructType, ...) visit the fields of their"
        " StgDict (StgInfo in 3.13), such as a pointer type's proto, which gcscope does not"
        " decode"),
    'module state': (
        'edges-real',
        "a C module's state holds references its m_traverse does not visit (_signal:"
        " SIG_DFL and SIG_IGN as the ints 0 and 1), which gcscope finds as words"),
    'str subclass': (
        'size, size-block',
        '3.11: instances of heap subclasses of str (the StrEnum members of enum) are'
        ' sized as a plain str, without the slots the subclass adds (__weakref__)'),
    'inline values learning': (
        'size, size-block',
        "3.13: an instance allocated for one inline value more than the capacity byte"
        " it keeps says (the first instances of a class, see expected_allocation) is"
        " sized from the capacity byte: the snapshot cannot know"),
}


def _quoted(text, limit, escape):
    """text quoted as gcscope previews it: at most limit characters, the
    rest cut with '…', quotes and backslashes escaped, escape(ch) for the
    characters it does not keep."""
    out = []
    for ch in text[:limit]:
        if ch in '\'\\':
            out.append('\\' + ch)
        else:
            out.append(escape(ch))
    return "'" + ''.join(out) + ('…' if len(text) > limit else '') + "'"


def expected_preview(kind, value):
    """The preview gcscope must show for a previews.tsv row.

    Previews follow repr() with these rules of gcscope's own: str in single
    quotes, cut after 96 characters with '…', control characters as \\xNN,
    everything else as UTF-8; bytes cut after 48 bytes; int exact below
    2**120 (four 30-bit digits), else '<int of N bits>' with N a multiple
    of 30; functions and classes as module.qualname; modules by name.
    """
    if kind in ('qualname', 'module'):
        return value
    v = ast.literal_eval(value)
    if isinstance(v, str):
        return _quoted(v, 96, lambda ch: '\\x%02x' % ord(ch) if ord(ch) < 0x20 else ch)
    if isinstance(v, bytes):
        return 'b' + _quoted(v.decode('latin-1'), 48,
                             lambda ch: ch if 0x20 <= ord(ch) < 0x7f else '\\x%02x' % ord(ch))
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        digits = (abs(v).bit_length() + 29) // 30
        return str(v) if digits <= 4 else '<int of %d bits>' % (digits * 30)
    return repr(v)


def compare_previews(truth, snap, name):
    """Previews (objects.repr) of the values in previews.tsv, 100 %."""
    if not truth.previews:
        return None, Misses('preview differences')
    equal = 0
    misses = Misses('preview differences')
    for addr, kind, value in truth.previews:
        want = expected_preview(kind, value)
        obj = snap.objects.get(addr)
        have = obj.repr if obj is not None else None
        if have == want:
            equal += 1
        else:
            misses.add(name.type_of(addr) or kind, '%#x: expected %r, snapshot %r'
                       % (addr, want, have))
    return Measure('previews', equal, len(truth.previews)), misses


def compare_snapshot(truth, snap):
    """Compare a snapshot database with the truth; return a Comparison.

    Measures, each passed only at 100 % but for the KNOWN_MISSES: objects
    (truth objects tracked in the snapshot with the same type), referents
    (truth referent pairs found as traverse or conservative edges),
    edges-real (such edges from truth objects that are truth referents),
    refcnt, generation (every truth object's), size and size-block (where
    the truth has sizes.tsv; see compare_sizes), previews (see
    expected_preview).  Facts: the permanent generation's size must equal
    gc.get_freeze_count(); the snapshot must have no object tracked in
    generations 0-2 that the truth lacks (compare_extra_tracked).
    """
    name = Namer(truth, snap)
    objects, missing_objects = compare_objects(truth, snap, name)
    known_misses = Misses(KNOWN)
    referents, edges_real, missing_edges, extra_edges = compare_edges(truth, snap, name,
                                                                      known_misses)
    refcnt, refcnt_misses = compare_refcounts(truth, snap, name)
    generation, gen_misses = compare_generations(truth, snap, name)
    size, size_misses, block, block_misses = compare_sizes(truth, snap, name, known_misses)
    previews, preview_misses = compare_previews(truth, snap, name)
    extra_tracked = compare_extra_tracked(truth, snap, name)
    measures = [objects, referents, edges_real, refcnt]
    for measure in (generation, size, block, previews):
        if measure is not None:
            measures.append(measure)
    facts = [compare_frozen(truth, snap),
             ('tracked objects in generations 0-2 not in the truth: %d' % len(extra_tracked),
              not extra_tracked)]
    misses = [missing_objects, missing_edges, extra_edges, refcnt_misses, gen_misses,
              size_misses, block_misses, preview_misses, extra_tracked, known_misses]
    return Comparison(measures, facts, misses)

# ---------------------------------------------------------------------------
# Raw memory of a core file

class CoreFile:
    """The memory image of an ELF64 little-endian core file."""

    def __init__(self, path):
        self.path = Path(path)
        self._file = open(self.path, 'rb')
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        head = self._map[:64]
        if head[:4] != b'\x7fELF' or head[4] != 2 or head[5] != 1:
            raise AssertionError('%s is not an ELF64 little-endian file' % path)
        (e_type,) = struct.unpack_from('<H', head, 0x10)
        if e_type != 4:
            raise AssertionError('%s is not a core file (e_type %d)' % (path, e_type))
        (phoff,) = struct.unpack_from('<Q', head, 0x20)
        phentsize, phnum = struct.unpack_from('<HH', head, 0x36)
        self.segments = []                      # (vaddr, filesz, offset), sorted
        for k in range(phnum):
            p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                '<IIQQQQ', self._map, phoff + k * phentsize)
            if p_type == 1 and p_filesz:        # PT_LOAD with contents
                self.segments.append((p_vaddr, p_filesz, p_offset))
        self.segments.sort()
        self._starts = [s[0] for s in self.segments]

    def read(self, addr, size):
        """size bytes at addr, or None if the core does not hold them."""
        k = bisect.bisect_right(self._starts, addr) - 1
        if k < 0:
            return None
        vaddr, filesz, offset = self.segments[k]
        if addr + size > vaddr + filesz:
            return None
        at = offset + addr - vaddr
        return self._map[at:at + size]

    def ssize(self, addr):
        """The signed 64-bit word at addr, or None."""
        data = self.read(addr, 8)
        return None if data is None else struct.unpack('<q', data)[0]

    def close(self):
        self._map.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ---------------------------------------------------------------------------
# Live workloads

# The system calls time.sleep() blocks in (x86-64): select (3.6-3.10),
# clock_nanosleep (3.11+), nanosleep, poll, pselect6; and an idle asyncio
# loop: epoll_wait, epoll_pwait.
SLEEP_SYSCALLS = {'23', '230', '35', '7', '270', '232', '281'}


def wait_asleep(pid, deadline):
    """Wait until the main thread of pid blocks in time.sleep(), the last
    thing every corpus program does after writing "ready": until then it
    still runs (closing the file, entering the call), and a core taken in
    between may differ from what it recorded."""
    last = '?'
    while True:
        try:
            with open('/proc/%d/syscall' % pid) as f:
                last = f.read().strip()
        except OSError:
            return                      # gone: the caller finds out
        if last.split(' ', 1)[0] in SLEEP_SYSCALLS:
            return
        if time.monotonic() > deadline:
            raise AssertionError('process %d wrote "ready" but does not sleep'
                                 ' (/proc/%d/syscall: %s)' % (pid, pid, last))
        time.sleep(0.01)


def process_state(pid):
    """The state letter of /proc/PID/stat ('S', 'R', 'T', 't', ...)."""
    with open('/proc/%d/stat' % pid) as f:
        return f.read().rsplit(')', 1)[1].split()[0]


SYS_TGKILL = 234        # x86-64


def answers(workload, timeout=10):
    """True if the workload answers SIGUSR1 by writing READY.pong
    (corpora/leaky.py answer_ping) within timeout seconds.

    The signal goes to the main thread (tgkill), which runs Python's
    handlers: sent to the process, the kernel may hand it to another
    thread (one with no signal pending), whose C handler only flags it
    for the main thread, asleep in time.sleep() for an hour."""
    pong = Path(str(workload.ready_path) + '.pong')
    if pong.exists():
        pong.unlink()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_TGKILL, workload.pid, workload.pid, signal.SIGUSR1) != 0:
        os.kill(workload.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pong.exists() and pong.read_text().startswith('pong %d' % workload.pid):
            return True
        time.sleep(0.05)
    return False
