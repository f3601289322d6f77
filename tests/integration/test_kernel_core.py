"""Cores the kernel dumps, whole and truncated.

corpora/leaky.py runs with RLIMIT_CORE raised in its own directory and is
killed with SIGABRT once ready, so the kernel writes the core (notes first,
unlike gcore). The snapshot must match the interpreter's truth as a gcore's
does. Truncated copies must end with a warning and a partial snapshot when
the interpreter's own data is still there (its modules are then found
through the core's NT_FILE note), and with one error line naming the
truncation when it is not; cut in its last segment, the [vsyscall] page,
which holds nothing of the heap, the snapshot must be written and still
match the truth.
"""

import glob
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

import gcstest

INTERPRETER = 'pyenv-3.12.1'


CORE_PATTERN = Path('/proc/sys/kernel/core_pattern')
CORE_USES_PID = Path('/proc/sys/kernel/core_uses_pid')
# core_pattern is one setting for the whole machine: tests that change it
# take this lock first.
PATTERN_LOCK = Path('/tmp/gcscope-core-pattern.lock')


def kernel_core(interpreter, work):
    """Run leaky.py, abort it once ready; return (core path, truth dir).

    Where the kernel puts the core is core_pattern's choice: a file name
    (relative to the process's directory, or absolute, with %p, %e and
    the like), or '|PROGRAM', a program the core is piped to.  A file is
    found where the pattern names it.  For a pipe, core_pattern is set to
    'core' while the process dumps (root can write it; the old value is
    put back), else systemd-coredump's copy is fetched with coredumpctl;
    if neither can be done the test skips, saying which program gets the
    cores.
    """
    pattern = CORE_PATTERN.read_text().strip()
    if not pattern.startswith('|'):
        pid = dump(interpreter, work)
        return find_core(pattern, work, pid), work / 'truth'
    if os.access(str(CORE_PATTERN), os.W_OK):
        with gcstest.file_lock(PATTERN_LOCK):
            old = CORE_PATTERN.read_text().strip()
            try:
                CORE_PATTERN.write_text('core\n')
                writable = CORE_PATTERN.read_text().strip() == 'core'
            except OSError:
                writable = False
            if writable:
                try:
                    pid = dump(interpreter, work)
                finally:
                    CORE_PATTERN.write_text(old + '\n')
                return find_core('core', work, pid), work / 'truth'
    if 'systemd-coredump' in pattern and shutil.which('coredumpctl'):
        pid = dump(interpreter, work)
        core = work / 'core'
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            result = subprocess.run(['coredumpctl', '--quiet', 'dump', '--output', str(core),
                                     str(pid)], capture_output=True, timeout=120)
            if result.returncode == 0 and core.exists() and core.stat().st_size:
                return core, work / 'truth'
            time.sleep(1)
        raise AssertionError('coredumpctl has no core of process %d: %s'
                             % (pid, result.stderr.decode().strip()))
    pytest.skip('the kernel pipes cores to %s (core_pattern), which cannot be changed'
                ' here (not root, or /proc/sys is read-only)' % pattern[1:].split()[0])


def dump(interpreter, work):
    """Run leaky.py in work with RLIMIT_CORE raised and abort it once ready;
    return its pid."""
    ready = work / 'ready'

    def allow_cores():
        resource.setrlimit(resource.RLIMIT_CORE,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    proc = subprocess.Popen([str(interpreter.executable), '-S', '-s', '-B',
                             str(gcstest.CORPORA / 'leaky.py'), str(ready),
                             str(work / 'truth')],
                            cwd=str(work), preexec_fn=allow_cores,
                            env=gcstest.workload_env(interpreter),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError('leaky.py did not get ready')
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGABRT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != -signal.SIGABRT:
        raise AssertionError('leaky.py ended with status %d, not by SIGABRT' % proc.returncode)
    return proc.pid


def find_core(pattern, work, pid):
    """The core file a core_pattern that is a file name gave process pid
    (which ran in work): %p is its pid, other specifiers match anything."""
    name = re.sub(r'%(.)', lambda m: {'p': str(pid), '%': '%'}.get(m.group(1), '*'), pattern)
    if '%p' not in pattern and CORE_USES_PID.exists() and \
       CORE_USES_PID.read_text().strip() == '1':
        name += '.%d' % pid
    where = Path(name) if name.startswith('/') else work / name
    found = sorted(glob.glob(str(where)))
    if len(found) != 1:
        raise AssertionError('the kernel wrote %s for core_pattern %r (looked for %s)'
                             % ('no core' if not found else '%d files' % len(found),
                                pattern, where))
    core = Path(found[0])
    if core.parent != work:
        moved = work / 'core'
        shutil.move(str(core), str(moved))
        core = moved
    return core


@pytest.mark.weight(2)
def test_kernel_core():
    """'whole-and-truncated'."""
    interpreter = gcstest.find_interpreter(INTERPRETER)
    with gcstest.scratch_dir('kernel-core') as work:
        core, truth_dir = kernel_core(interpreter, work)
        db = work / 'kernel.db'
        gcstest.snapshot_core(core, db)
        result = gcstest.compare_snapshot(gcstest.Truth(truth_dir), gcstest.Snapshot(db))
        print('  kernel core %s (%d MB): %s' % (core.name, core.stat().st_size >> 20,
                                                result.summary()))
        if not result.ok:
            for line in result.report():
                print(line)
            raise AssertionError('; '.join(result.failures()))
        data = core.read_bytes()
        for frac in (0.3, 0.9):
            cut = work / ('core-%g' % frac)
            cut.write_bytes(data[:int(len(data) * frac)])
            out = work / ('cut-%g.db' % frac)
            r = gcstest.run_gcscope(['snapshot', '--core', cut, '--db', out])
            stderr = r.stderr.decode('utf-8', 'replace')
            if r.returncode < 0 or 'is truncated' not in stderr:
                raise AssertionError('%g: status %d, no truncation warning:\n%s'
                                     % (frac, r.returncode, gcstest.tail(stderr)))
            if r.returncode == 2:
                errors = [l for l in stderr.splitlines() if l.startswith('error: ')]
                if len(errors) != 1 or 'truncated' not in errors[0] or out.exists():
                    raise AssertionError('%g: %s' % (frac, gcstest.tail(stderr)))
            elif r.returncode not in (0, 1) or not out.exists():
                raise AssertionError('%g: status %d:\n%s'
                                     % (frac, r.returncode, gcstest.tail(stderr)))
            print('  truncated to %d%%: exit %d: %s'
                  % (frac * 100, r.returncode, stderr.strip().splitlines()[-1]))
        truncated_past_the_heap(data, work, truth_dir)


def truncated_past_the_heap(data, work, truth_dir):
    """A kernel core cut in its last segment, which is the [vsyscall] page
    (the kernel writes the segments in address order, after the notes):
    nothing of the heap is lost, so the snapshot is written (exit 0 or 1,
    with the truncation warned about) and still matches the truth."""
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    loads = []
    for k in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            '<IIQQQQ', data, phoff + k * phentsize)
        if p_type == 1 and p_filesz:
            loads.append((p_offset, p_vaddr, p_filesz))
    offset, vaddr, size = max(loads)
    if offset + size != len(data) or vaddr < 1 << 63:
        raise AssertionError('the last segment of the kernel core is at %#x, %d bytes,'
                             ' not the [vsyscall] page at the end of the file' % (vaddr, size))
    cut = work / 'core-past-the-heap'
    cut.write_bytes(data[:offset + size // 2])
    db = work / 'cut-past-the-heap.db'
    r = gcstest.run_gcscope(['snapshot', '--core', cut, '--db', db])
    stderr = r.stderr.decode('utf-8', 'replace')
    if r.returncode not in (0, 1) or not db.exists() or 'is truncated' not in stderr:
        raise AssertionError('cut in the [vsyscall] page: status %d, %s, %s:\n%s'
                             % (r.returncode, 'a database' if db.exists() else 'no database',
                                'warned' if 'is truncated' in stderr else 'no warning',
                                gcstest.tail(stderr)))
    result = gcstest.compare_snapshot(gcstest.Truth(truth_dir), gcstest.Snapshot(db))
    print('  cut in the [vsyscall] page: exit %d: %s' % (r.returncode, result.summary()))
    if not result.ok:
        for line in result.report():
            print(line)
        raise AssertionError('cut in the [vsyscall] page: ' + '; '.join(result.failures()))
