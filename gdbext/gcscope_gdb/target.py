# SPDX-License-Identifier: MIT
"""The snapshot of the inferior the commands read: what the inferior is,
how to snapshot it, and the cache.

The inferior is either the core gdb has loaded (its connection is 'core')
or a live process (attached or started under gdb; any other connection).
method() decides how to snapshot it:

  'core'   the core file itself: gcscope snapshot --core CORE [--exe EXE]
  'pid'    a live local process, read directly: gcscope snapshot --pid PID
           --no-stop.  gdb holds it stopped already (and as its tracer,
           keeps the analyzer from stopping it again), so the copy is
           consistent.  The kernel may refuse the analyzer the process's
           memory (Yama ptrace_scope 1 lets only ancestors read it, and
           the analyzer is gdb's child, not the process's parent): then
           'gcore' is used instead
  'gcore'  a live process the analyzer cannot read (no --pid, a remote
           target, or refused): gdb's own gcore into a temporary
           directory, then snapshot --core of that; the core is removed
           at once

A snapshot is cached, keyed by the inferior, until the inferior runs
again, its memory is written, or its files change (the events connected
at the end); the database lives in a temporary directory removed when
gdb exits.
"""

import atexit
import os
import re
import shutil
import sqlite3
import tempfile
import time

import gdb

from gcscope_gdb import analyzer


class Target:
    """The inferior a snapshot is taken of."""

    def __init__(self, inferior, pid, core, exe):
        self.inferior = inferior
        self.pid = pid              # process id; for a core, the one it records
        self.core = core            # path of the core gdb has loaded, or None: live
        self.exe = exe              # the executable gdb has loaded, or None

    @property
    def key(self):
        """What identifies the snapshot: the core (and its mtime), or the process."""
        if self.core is not None:
            try:
                mtime = os.stat(self.core).st_mtime_ns
            except OSError:
                mtime = None
            return ('core', self.inferior.num, self.core, mtime)
        return ('pid', self.inferior.num, self.pid)

    def describe(self):
        """"core '/tmp/core.1234'" or 'process 1234'."""
        if self.core is not None:
            return "core '%s'" % self.core
        return 'process %d' % self.pid


def core_path(inferior):
    """The path of the core file gdb has loaded for inferior, or None."""
    corefile = getattr(inferior, 'corefile', None)      # gdb 16: gdb.Corefile
    if corefile is not None:
        return corefile.filename
    # gdb 13: "Local core dump file:\n\t`/tmp/core.1234', file type elf64-x86-64."
    text = gdb.execute('info target', to_string=True)
    match = re.search(r"Local core dump file:\s*`(.*?)', file type", text, re.S)
    return match.group(1) if match else None


def current():
    """The Target of the selected inferior; gdb.GdbError if there is none."""
    inferior = gdb.selected_inferior()
    if inferior.pid == 0:
        raise gdb.GdbError('gcscope: no process and no core: run the program, attach to a'
                           ' process (attach PID) or load a core (core-file CORE) first')
    exe = gdb.current_progspace().filename
    if hasattr(inferior, 'connection'):
        connection = inferior.connection
        is_core = connection is not None and connection.type == 'core'
    else:
        is_core = core_path(inferior) is not None       # gdb before 12
    if is_core:
        core = core_path(inferior)
        if core is None:
            raise gdb.GdbError('gcscope: cannot tell which core file gdb has loaded'
                               " ('info target' does not say)")
        return Target(inferior, inferior.pid, core, exe)
    threads = [t for t in inferior.threads() if t.is_valid()]
    if not threads:
        raise gdb.GdbError('gcscope: process %d has no threads gdb can see' % inferior.pid)
    if any(t.is_running() for t in threads):
        # non-stop mode: a heap read while threads run may be torn.
        raise gdb.GdbError('gcscope: threads of process %d are running: stop them'
                           ' first (interrupt -a)' % inferior.pid)
    return Target(inferior, inferior.pid, None, exe)


def method(target):
    """How to snapshot target: 'core', 'pid' or 'gcore' (see the module doc)."""
    analyzer.find()
    if target.core is not None:
        return 'core'
    connection = getattr(target.inferior, 'connection', None)
    if connection is not None and connection.type == 'native' and analyzer.supports_pid():
        return 'pid'
    return 'gcore'


# ---------------------------------------------------------------------------
# Taking a snapshot

class Snapshot:
    """A snapshot database of a target, read-only to the commands."""

    def __init__(self, target, db, how, seconds):
        self.target = target
        self.key = target.key
        self.db = db                # path of the database
        self.how = how              # 'core', 'pid' or 'gcore'
        self.seconds = seconds      # how long taking it took

    def meta(self):
        """The meta table, as a dict."""
        con = sqlite3.connect('file:%s?mode=ro' % self.db, uri=True)
        try:
            return dict(con.execute('SELECT key, value FROM meta'))
        finally:
            con.close()

    def summary(self):
        """One line: what the snapshot is of and what is in it."""
        try:
            meta = self.meta()
        except sqlite3.Error as e:
            meta = {'python_version': '? (%s)' % e}
        how = {'core': '', 'pid': ', read live', 'gcore': ', through gcore'}[self.how]
        parts = ['snapshot of %s%s: Python %s (%s layout)'
                 % (self.target.describe(), how, meta.get('python_version', '?'),
                    meta.get('layout_source', '?'))]
        for key, what in (('objects', 'objects'), ('edges', 'references'),
                          ('cycles', 'cycles'), ('unreachable', 'unreachable'),
                          ('gc_garbage', 'in gc.garbage'),
                          ('anomalies', 'refcount anomalies'),
                          ('anomalies_explained', 'explained by a holder')):
            if key in meta:
                parts.append('%s %s' % (meta[key], what))
        return '%s; %.1f s' % (', '.join(parts), self.seconds)


_tmpdir = None
_serial = 0


def scratch():
    """The session's temporary directory, made on first use."""
    global _tmpdir
    if _tmpdir is None or not os.path.isdir(_tmpdir):
        _tmpdir = tempfile.mkdtemp(prefix='gcscope-gdb-')
        atexit.register(shutil.rmtree, _tmpdir, True)
    return _tmpdir


def _run_snapshot(target, args, db):
    """Run gcscope snapshot ARGS --db DB; return its Result; warnings to gdb."""
    result = analyzer.run(['snapshot', '--db', db] + args, timeout=None)
    for line in result.err.splitlines():
        if line.startswith('warning: '):
            gdb.write('gcscope: %s\n' % line, gdb.STDERR)
    return result


def _fail(target, result, how):
    error = gdb.GdbError('gcscope: cannot snapshot %s%s: %s'
                         % (target.describe(), ' (through gcore)' if how == 'gcore' else '',
                            result.message()))
    # The analyzer's verdict on the target (not CPython, no layout) holds
    # while it stays stopped; a signal or a crash may not happen again.
    error.verdict = result.status == analyzer.status('failed')
    raise error


def _file_options():
    """gdb's own answers to where a core's files are: 'set sysroot DIR'
    as --sysroot, 'set debug-file-directory' as --debuginfo."""
    args = []
    try:
        sysroot = gdb.parameter('sysroot')
    except (gdb.error, RuntimeError):
        sysroot = None
    if sysroot and not sysroot.startswith('target:') and sysroot != '/':
        args += ['--sysroot', sysroot]
    try:
        dirs = gdb.parameter('debug-file-directory') or ''
    except (gdb.error, RuntimeError):
        dirs = ''
    for d in dirs.split(os.pathsep):
        if d and d != '/usr/lib/debug' and os.path.isdir(d):
            args += ['--debuginfo', d]
    return args


def _take_core(target, db):
    args = ['--core', target.core]
    if target.exe:
        args += ['--exe', target.exe]
    return _run_snapshot(target, args + _file_options(), db)


def _take_pid(target, db):
    # --no-stop: gdb has every thread stopped (current() checks), and the
    # analyzer could not seize them anyway while gdb traces them.
    return _run_snapshot(target, ['--pid', str(target.pid), '--no-stop'], db)


def _take_gcore(target, db):
    core = os.path.join(os.path.dirname(db), 'core.%d' % target.pid)
    try:
        gdb.execute('gcore %s' % core, to_string=True)
    except gdb.error as e:
        raise gdb.GdbError('gcscope: cannot snapshot %s: gcore failed: %s'
                           % (target.describe(), e))
    try:
        args = ['--core', core]
        if target.exe:
            args += ['--exe', target.exe]
        return _run_snapshot(target, args, db)
    finally:
        try:
            os.unlink(core)
        except OSError:
            pass


# What makes a direct read fail for gcore as well: not worth a gcore.
NOT_ACCESS = ('Python', 'debug info', 'layout', '_Py_DebugOffsets')


def take(target, quiet=False):
    """Take a snapshot of target and return it (not cached here)."""
    global _serial
    _serial += 1
    db = os.path.join(scratch(), '%s-%d.db' % ('core' if target.core else
                                                'pid%d' % target.pid, _serial))
    how = method(target)            # and the analyzer is there
    if not quiet:
        gdb.write('gcscope: taking a snapshot of %s...\n' % target.describe(), gdb.STDLOG)
        gdb.flush()
    started = time.monotonic()
    if how == 'core':
        result = _take_core(target, db)
    elif how == 'pid':
        result = _take_pid(target, db)
        failed = result.status not in (analyzer.status('ok'), analyzer.status('reservation'))
        if failed and not any(s in result.message() for s in NOT_ACCESS):
            gdb.write('gcscope: cannot read %s directly (%s); using gcore\n'
                      % (target.describe(), result.message()), gdb.STDLOG)
            how = 'gcore'
            result = _take_gcore(target, db)
    else:
        result = _take_gcore(target, db)
    if (result.status not in (analyzer.status('ok'), analyzer.status('reservation'))
            or not os.path.exists(db)):
        _fail(target, result, how)
    snap = Snapshot(target, db, how, time.monotonic() - started)
    if not quiet:
        gdb.write('gcscope: %s\n' % snap.summary(), gdb.STDLOG)
    return snap


# ---------------------------------------------------------------------------
# The cache

_cache = {}                     # Target.key -> Snapshot
_failed = {}                    # Target.key -> the gdb.GdbError taking it raised


def get():
    """The snapshot of the selected inferior: the cached one while it is
    valid, else a new one.  The analyzer's refusal of the target is
    remembered as long (a process that is not Python stays so while it is
    stopped)."""
    target = current()
    snap = _cache.get(target.key)
    if snap is not None and os.path.exists(snap.db):
        return snap
    if target.key in _failed:
        raise _failed[target.key]
    invalidate()
    try:
        snap = take(target)
    except gdb.GdbError as e:
        if getattr(e, 'verdict', False):
            _failed[target.key] = e
        raise
    _cache[snap.key] = snap
    return snap


def refresh():
    """Drop the cached snapshot of the selected inferior and take another."""
    target = current()
    invalidate()
    snap = take(target, quiet=True)
    _cache[snap.key] = snap
    return snap


def invalidate(*_event):
    """Forget every cached snapshot (and failure) and remove its database."""
    for snap in _cache.values():
        try:
            os.unlink(snap.db)
        except OSError:
            pass
    _cache.clear()
    _failed.clear()


def _after_call(event):
    if isinstance(event, gdb.InferiorCallPostEvent):
        invalidate()


def _connect():
    # The inferior runs (continue, step, a call), changes its memory from
    # gdb (set var), exits, or gdb loads other files (run, core-file, file).
    events = gdb.events
    for name in ('cont', 'exited', 'memory_changed', 'new_objfile', 'clear_objfiles',
                 'new_inferior', 'inferior_deleted'):
        registry = getattr(events, name, None)
        if registry is not None:
            registry.connect(invalidate)
    if getattr(events, 'inferior_call', None) is not None:
        events.inferior_call.connect(_after_call)


_connect()
