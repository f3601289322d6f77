"""Cores the kernel dumps, whole and truncated.

corpora/leaky.py runs with RLIMIT_CORE raised in its own directory and is
killed with SIGABRT once ready, so the kernel writes the core (notes first,
unlike gcore). The snapshot must match the interpreter's truth as a gcore's
does. Truncated copies must end with a warning and a partial snapshot when
the interpreter's own data is still there (its modules are then found
through the core's NT_FILE note), and with one error line naming the
truncation when it is not.
"""

import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

import gcstest

INTERPRETER = 'pyenv-3.12.1'


def kernel_core(interpreter, work):
    """Run leaky.py, abort it once ready; return (core path, truth dir)."""
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
    pattern = Path('/proc/sys/kernel/core_pattern').read_text().strip()
    if pattern.startswith('|') or '/' in pattern:
        pytest.skip('the kernel sends cores elsewhere (core_pattern %r)' % pattern)
    cores = sorted(work.glob('core*'))
    if not cores:
        pytest.skip('the kernel wrote no core (core_pattern %r)' % pattern)
    return cores[0], work / 'truth'


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
