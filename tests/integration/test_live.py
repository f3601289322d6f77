"""gcscope snapshot --pid: a running process, stopped briefly, left running.

For several interpreters: a running corpora/leaky.py is snapshotted with
--pid and compared with the truth it recorded, then with a snapshot of a
gcore of the same process (same objects, same references); afterwards the
process must still be running (not stopped) and answer a request (SIGUSR1,
which it answers by writing a file). Then the refusals: a process that is
gone, one another tracer holds, one we may not trace, one that is not
Python; and signals to gcscope in the middle of a snapshot, which must
never leave the target stopped.
"""

import collections
import functools
import os
import signal
import sqlite3
import subprocess
import time

import pytest

import gcstest

CONFIGS = ['pyenv-3.8.18', 'pyenv-3.12.1', 'pyenv-3.13.0', 'debian-3.11']
SCRIPT = gcstest.CORPORA / 'leaky.py'


def check_running_and_answering(workload):
    """Not stopped, and it answers SIGUSR1 by writing READY.pong."""
    state = gcstest.process_state(workload.pid)
    if state in ('T', 't'):
        raise AssertionError('process %d is left stopped (state %s)' % (workload.pid, state))
    if not gcstest.answers(workload):
        raise AssertionError('process %d did not answer SIGUSR1 within 10 s' % workload.pid)
    return state


def graph(db):
    """Objects and references of a snapshot, as comparable collections."""
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        objects = dict((r[0], r[1:]) for r in con.execute(
            'SELECT addr, type_addr, refcnt, size, gc_tracked, generation, repr'
            ' FROM objects'))
        edges = collections.Counter(con.execute('SELECT src, dst, kind, label FROM edges'))
        meta = dict(con.execute('SELECT key, value FROM meta'))
    finally:
        con.close()
    return objects, edges, meta


def snapshot_pid(pid, db, *extra):
    result = gcstest.run_gcscope(['snapshot', '--pid', pid, '--db', db] + list(extra))
    if result.returncode != 0:
        raise AssertionError('gcscope snapshot --pid %d exited with %d:\n%s'
                             % (pid, result.returncode, gcstest.tail(result.stderr)))
    return result.stderr.decode('utf-8', 'replace')


def live_vs_truth_and_core(name):
    interpreter = gcstest.find_interpreter(name)
    with gcstest.scratch_dir('live-' + name) as work:
        with gcstest.Workload(interpreter, SCRIPT, work) as workload:
            pid_db = work / 'pid.db'
            stderr = snapshot_pid(workload.pid, pid_db)
            state = gcstest.process_state(workload.pid)
            if state in ('T', 't'):
                raise AssertionError('process left stopped (state %s)' % state)
            # The core right after: the process sleeps in between, so the
            # two must agree exactly. Only then is it asked to answer.
            core = gcstest.gcore(workload.pid, work / 'core')
            check_running_and_answering(workload)
            core_db = work / 'core.db'
            gcstest.snapshot_core(core, core_db)
        truth = gcstest.Truth(workload.truth_dir)
        result = gcstest.compare_snapshot(truth, gcstest.Snapshot(pid_db))
        objects, edges, meta = graph(pid_db)
        core_objects, core_edges, _ = graph(core_db)
        print('%s --pid: %s' % (name, result.summary()))
        print('  paused %s ms (%s); process state afterwards %s, answered'
              % (meta.get('pause_ms'), stderr.strip().splitlines()[0], state))
        failures = [] if result.ok else result.failures()
        if not result.ok:
            for line in result.report():
                print(line)
        if meta.get('source') != 'pid:%d' % workload.pid or meta.get('stopped') != '1':
            failures.append('meta source/stopped: %s/%s' % (meta.get('source'),
                                                            meta.get('stopped')))
        # The core was taken after the live snapshot, from a process that
        # slept in between.
        only_pid = set(objects) - set(core_objects)
        only_core = set(core_objects) - set(objects)
        differ = [a for a in set(objects) & set(core_objects)
                  if objects[a] != core_objects[a]]
        edge_diff = (edges - core_edges) + (core_edges - edges)
        print('  parity with the core: objects %d / %d, only live %d, only core %d,'
              ' different %d; edges %d / %d, differing %d'
              % (len(objects), len(core_objects), len(only_pid), len(only_core),
                 len(differ), sum(edges.values()), sum(core_edges.values()),
                 sum(edge_diff.values())))
        if only_pid or only_core or differ or edge_diff:
            for a in sorted(only_pid)[:3]:
                print('    only live: %#x %s' % (a, objects[a]))
            for a in sorted(only_core)[:3]:
                print('    only core: %#x %s' % (a, core_objects[a]))
            for a in sorted(differ)[:5]:
                print('    differ: %#x live %s core %s' % (a, objects[a], core_objects[a]))
            failures.append('the live and the core snapshot differ')
        if failures:
            raise AssertionError('; '.join(failures))


def no_stop():
    """--no-stop reads without stopping: a snapshot, meta.stopped 0."""
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    with gcstest.scratch_dir('live-nostop') as work:
        with gcstest.Workload(interpreter, SCRIPT, work) as workload:
            db = work / 'nostop.db'
            snapshot_pid(workload.pid, db, '--no-stop')
            check_running_and_answering(workload)
        objects, _, meta = graph(db)
        if meta.get('stopped') != '0':
            raise AssertionError('meta.stopped is %r' % meta.get('stopped'))
        print('  --no-stop: %d objects' % len(objects))


def analysis_on_pid():
    """COMMAND --pid PID: snapshots the process, answers from it and
    removes the snapshot."""
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    with gcstest.scratch_dir('live-analysis') as work:
        with gcstest.Workload(interpreter, SCRIPT, work) as workload:
            before = set(work.rglob('*'))
            env = dict(os.environ, XDG_CACHE_HOME=str(work / 'cache'), HOME=str(work))
            result = subprocess.run([str(gcstest.GCSCOPE), 'referrers', '--pid',
                                     str(workload.pid), hex(gcstest.Truth(
                                         workload.truth_dir).labels['owner'])],
                                    capture_output=True, env=env, timeout=120,
                                    cwd=str(work))
            gcstest.check_sanitizer(result.returncode, result.stderr, 'referrers --pid')
            check_running_and_answering(workload)
        out = result.stdout.decode()
        if result.returncode != 0 or "['OWNER']" not in out:
            raise AssertionError('referrers --pid: status %d\n%s\n%s'
                                 % (result.returncode, out, result.stderr.decode()))
        # The snapshot was the command's own: no file is left behind, in
        # the cache directory (which it was made in), the home directory
        # or the working directory.
        if not (work / 'cache' / 'gcscope').is_dir():
            raise AssertionError('referrers --pid made no cache directory')
        left = sorted(str(p.relative_to(work)) for p in set(work.rglob('*')) - before
                      if p.is_file() and not p.name.endswith('.pong'))
        if left:
            raise AssertionError('referrers --pid left %s behind' % ', '.join(left))
        print('  referrers --pid found the module dict holding OWNER; left no file behind')


def refused(args, *phrases):
    result = gcstest.run_gcscope(args, timeout=120)
    stderr = result.stderr.decode('utf-8', 'replace')
    errors = [l for l in stderr.splitlines() if l.startswith('error: ')]
    if result.returncode != 2 or len(errors) != 1:
        raise AssertionError('expected exit 2 and one error line, got %d:\n%s'
                             % (result.returncode, gcstest.tail(stderr)))
    for phrase in phrases:
        if phrase not in errors[0]:
            raise AssertionError('error line lacks %r: %s' % (phrase, errors[0]))
    print('  ' + errors[0])


def gone():
    proc = subprocess.Popen(['true'])
    proc.wait()
    with gcstest.scratch_dir('live-gone') as work:
        refused(['snapshot', '--pid', proc.pid, '--db', work / 'x.db'], 'no process')
        if (work / 'x.db').exists():
            raise AssertionError('a database was left behind')


def traced_by_another():
    if not gcstest.shutil.which('strace'):
        pytest.skip('strace is not installed')
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    with gcstest.scratch_dir('live-traced') as work:
        with gcstest.Workload(interpreter, SCRIPT, work) as workload:
            tracer = subprocess.Popen(['strace', '-p', str(workload.pid), '-o', os.devnull],
                                      stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    with open('/proc/%d/status' % workload.pid) as f:
                        if 'TracerPid:\t0\n' not in f.read():
                            break
                    time.sleep(0.05)
                refused(['snapshot', '--pid', workload.pid, '--db', work / 'x.db'],
                        'being traced by process %d' % tracer.pid)
            finally:
                tracer.terminate()
                tracer.wait()
            check_running_and_answering(workload)


def not_permitted():
    """gcscope as user nobody may not trace a process of root."""
    if os.geteuid() != 0:
        pytest.skip('needs root to run gcscope as another user')
    if not gcstest.shutil.which('setpriv'):
        pytest.skip('setpriv is not installed')
    proc = subprocess.Popen(['sleep', '300'])
    try:
        time.sleep(0.1)
        result = subprocess.run(
            ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
             str(gcstest.GCSCOPE), 'snapshot', '--pid', str(proc.pid), '--db', '/tmp/never.db'],
            capture_output=True, timeout=60)
        gcstest.check_sanitizer(result.returncode, result.stderr, 'snapshot --pid as nobody')
        stderr = result.stderr.decode('utf-8', 'replace')
        errors = [l for l in stderr.splitlines() if l.startswith('error: ')]
        if result.returncode != 2 or len(errors) != 1 or 'cannot stop process' not in errors[0] \
           or 'user 0' not in errors[0]:
            raise AssertionError('expected a refusal naming the owner, got %d:\n%s'
                                 % (result.returncode, stderr))
        print('  ' + errors[0])
        if gcstest.process_state(proc.pid) in ('T', 't'):
            raise AssertionError('sleep was left stopped')
    finally:
        proc.kill()
        proc.wait()


def same_unprivileged_user():
    """An ordinary user snapshots its own process (no root, no capability)."""
    if os.geteuid() != 0:
        pytest.skip('needs root to start processes as another user')
    if not gcstest.shutil.which('setpriv'):
        pytest.skip('setpriv is not installed')
    # Debian's interpreter: nobody may not enter /root, where pyenv's are.
    interpreter = gcstest.find_interpreter('debian-3.11')
    as_nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    with gcstest.scratch_dir('live-nobody') as work:
        os.chmod(work, 0o777)
        ready = work / 'ready'
        proc = subprocess.Popen(as_nobody + [str(interpreter.executable), '-S', '-s', '-B',
                                             str(SCRIPT), str(ready), str(work / 'truth')],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=gcstest.workload_env(interpreter))
        try:
            deadline = time.monotonic() + 120
            while not ready.exists() and time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise AssertionError('the workload run as nobody exited with %d'
                                         % proc.returncode)
                time.sleep(0.1)
            db = work / 'nobody.db'
            result = subprocess.run(as_nobody + [str(gcstest.GCSCOPE), 'snapshot', '--pid',
                                                 str(proc.pid), '--db', str(db)],
                                    capture_output=True, timeout=120)
            gcstest.check_sanitizer(result.returncode, result.stderr, 'snapshot --pid as nobody')
            if result.returncode != 0 and b'Operation not permitted' in result.stderr:
                # Some sandboxes (seccomp, an LSM) allow ptrace to root only.
                pytest.skip('this machine refuses ptrace to an unprivileged user'
                            ' even on its own process: %s' % result.stderr.decode().strip())
            if result.returncode != 0:
                raise AssertionError('as nobody: exit %d\n%s'
                                     % (result.returncode, result.stderr.decode()))
            if gcstest.process_state(proc.pid) in ('T', 't'):
                raise AssertionError('the process was left stopped')
            objects, _, meta = graph(db)
            print('  as user nobody: %d objects, paused %s ms' % (len(objects),
                                                                 meta['pause_ms']))
        finally:
            proc.kill()
            proc.wait()


def not_python():
    proc = subprocess.Popen(['sleep', '300'])
    try:
        time.sleep(0.1)
        with gcstest.scratch_dir('live-notpython') as work:
            refused(['snapshot', '--pid', proc.pid, '--db', work / 'x.db'],
                    'no CPython runtime', 'sleep')
        if gcstest.process_state(proc.pid) in ('T', 't'):
            raise AssertionError('sleep was left stopped')
    finally:
        proc.kill()
        proc.wait()


def interrupted():
    """SIGINT and SIGTERM to gcscope at any moment leave the target running."""
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    with gcstest.scratch_dir('live-signals') as work:
        with gcstest.Workload(interpreter, SCRIPT, work) as workload:
            for k, sig in enumerate([signal.SIGINT, signal.SIGTERM] * 5):
                proc = subprocess.Popen([str(gcstest.GCSCOPE), 'snapshot', '--pid',
                                         str(workload.pid), '--db', str(work / 'x.db')],
                                        stderr=subprocess.DEVNULL)
                time.sleep(0.002 * k)
                proc.send_signal(sig)
                proc.wait()
                if proc.returncode == gcstest.SANITIZER_STATUS:
                    raise AssertionError('after %s at %d ms gcscope exited with the'
                                         ' sanitizer status' % (sig.name, 2 * k))
                state = gcstest.process_state(workload.pid)
                if state in ('T', 't'):
                    raise AssertionError('after %s at %d ms the target is stopped'
                                         % (sig.name, 2 * k))
            check_running_and_answering(workload)
            print('  10 snapshots interrupted by SIGINT/SIGTERM at 0-18 ms:'
                  ' target running, answered')


@pytest.mark.parametrize('case', [
    pytest.param(functools.partial(live_vs_truth_and_core, name), id=name) for name in CONFIGS
] + [
    pytest.param(no_stop, id='no-stop'),
    pytest.param(analysis_on_pid, id='analysis-on-pid'),
    pytest.param(gone, id='gone'),
    pytest.param(traced_by_another, id='traced-by-another'),
    pytest.param(not_permitted, id='not-permitted'),
    pytest.param(same_unprivileged_user, id='same-unprivileged-user'),
    pytest.param(not_python, id='not-python'),
    pytest.param(interrupted, id='interrupted'),
])
def test_live(case):
    case()
