"""gcscope snapshot --pid on a quiet threaded service leaves it as it was.

corpora/service.py runs 40 worker threads blocked on an Event over a heap
of about 20,000 objects, and holds a 64 MiB anonymous mapping it never
touches.  Three snapshots are taken one after the other.  For each:

- every object gc.get_objects() listed in the service is in the snapshot;
- the pages of the service present in memory (its /proc/PID/pagemap:
  present or swapped) grow by at most 512 KiB: gcscope may not make
  resident what the service never touched (reading an untouched page
  maps it, even if only to the zero page);
- what was copied is no more than the service had resident or swapped,
  and the threads' stacks below their stack pointers were left out;
- the service still runs and answers afterwards.

The pause, the bytes copied and the resident set before and after are
printed: they are the figures the README gives.

The same with the fallbacks for kernels without PAGEMAP_SCAN
(GCSCOPE_PAGEMAP=read: the pagemap entries page by page) and without
pagemap at all (GCSCOPE_PAGEMAP=none: whole mappings, stacks still from
their pointers: only the objects are checked); and a service that also
reserved 64 GiB of address space and wrote one page of it.

Then --max-pause: a limit no copy can meet lets the service go at once,
exits 2 with a message naming --max-pause, writes no database, and leaves
the service running and unchanged; a generous limit changes nothing.
"""

import os
import sqlite3
import struct

import pytest

import gcstest

SCRIPT = gcstest.CORPORA / 'service.py'
THREADS = 40
OBJECTS = 20000
UNTOUCHED_MIB = 64
CONFIGS = ['pyenv-3.8.18', 'pyenv-3.12.1', 'pyenv-3.13.0', 'debian-3.11']
GROWTH_LIMIT = 512 << 10
PAGE = os.sysconf('SC_PAGE_SIZE')


def touched_pages(pid):
    """Pages of pid that are present in memory or swapped out, by its
    pagemap (bits 63 and 62), over all its mappings."""
    count = 0
    with open('/proc/%d/maps' % pid) as maps, open('/proc/%d/pagemap' % pid, 'rb') as pm:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split('-'))
            if start >= 1 << 47:
                continue                      # [vsyscall]
            at = start
            while at < end:
                n = min((end - at) // PAGE, 65536)
                pm.seek(at // PAGE * 8)
                data = pm.read(n * 8)
                if len(data) < 8:
                    break
                for (entry,) in struct.iter_unpack('<Q', data):
                    if entry & (3 << 62):
                        count += 1
                at += len(data) // 8 * PAGE
    return count


def status_kib(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def resident_or_swapped(pid):
    """Bytes of pid in memory or in swap."""
    return (status_kib(pid, 'VmRSS') + status_kib(pid, 'VmSwap')) << 10


def truth_objects(truth_dir):
    with open(os.path.join(truth_dir, 'objects.tsv')) as f:
        next(f)
        return set(int(line.split('\t')[0], 16) for line in f)


def read_db(db):
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        addrs = set(r[0] for r in con.execute('SELECT addr FROM objects'))
        meta = dict(con.execute('SELECT key, value FROM meta'))
    finally:
        con.close()
    return addrs, meta


def alive(workload):
    state = gcstest.process_state(workload.pid)
    if state in ('T', 't'):
        raise AssertionError('the service is left stopped (state %s)' % state)
    if not gcstest.answers(workload):
        raise AssertionError('the service did not answer SIGUSR1 within 10 s')


def three_snapshots(name, pagemap=None, reserved=0, count=3):
    saved = os.environ.get('GCSCOPE_PAGEMAP')
    if pagemap:
        os.environ['GCSCOPE_PAGEMAP'] = pagemap
    try:
        snapshots(name, pagemap, reserved, count)
    finally:
        os.environ.pop('GCSCOPE_PAGEMAP', None)
        if saved is not None:
            os.environ['GCSCOPE_PAGEMAP'] = saved


def snapshots(name, pagemap, reserved, count):
    interpreter = gcstest.find_interpreter(name)
    args = ['--threads', THREADS, '--objects', OBJECTS, '--untouched', UNTOUCHED_MIB,
            '--reserved', reserved]
    failures = []
    whole = pagemap == 'none'
    name = name + (' GCSCOPE_PAGEMAP=%s' % pagemap if pagemap else '') + (
        ' --reserved %d GiB' % reserved if reserved else '')
    with gcstest.scratch_dir('service-' + name) as work:
        with gcstest.Workload(interpreter, SCRIPT, work, args) as workload:
            pid = workload.pid
            truth = truth_objects(workload.truth_dir)
            rss0, pages0 = status_kib(pid, 'VmRSS'), touched_pages(pid)
            print('%s: service %d, %d threads, %d objects listed by gc; RSS %d KiB,'
                  ' %d pages touched' % (name, pid, THREADS + 1, len(truth), rss0, pages0))
            for k in range(count):
                held = resident_or_swapped(pid)
                db = work / ('s%d.db' % k)
                result = gcstest.run_gcscope(['snapshot', '--pid', pid, '--db', db])
                if result.returncode != 0:
                    raise AssertionError('snapshot %d exited with %d:\n%s' % (
                        k + 1, result.returncode, gcstest.tail(result.stderr)))
                addrs, meta = read_db(db)
                pages = touched_pages(pid)
                rss = status_kib(pid, 'VmRSS')
                copied = int(meta.get('copied_bytes', -1))
                missing = truth - addrs
                print('  snapshot %d: paused %.1f ms, %d threads, copied %.1f MiB of %.1f MiB'
                      ' mapped (stacks below their pointers: %.1f MiB left out); RSS %d ->'
                      ' %d KiB; touched pages %+d; %d of %d objects found'
                      % (k + 1, float(meta['pause_ms']), int(meta.get('threads_stopped', -1)),
                         copied / 2**20, int(meta.get('mapped_bytes', -1)) / 2**20,
                         int(meta.get('stack_bytes_skipped', -1)) / 2**20, rss0, rss,
                         pages - pages0, len(truth) - len(missing), len(truth)))
                if missing:
                    failures.append('snapshot %d: %d objects gc listed are missing, such as %s'
                                    % (k + 1, len(missing),
                                       ', '.join('%#x' % a for a in sorted(missing)[:5])))
                if not whole and (pages - pages0) * PAGE > GROWTH_LIMIT:
                    failures.append('snapshot %d: %d KiB of the service became resident'
                                    % (k + 1, (pages - pages0) * PAGE >> 10))
                if not whole and not 0 <= copied <= held:
                    failures.append('snapshot %d: copied %d bytes, more than the %d the'
                                    ' service held in memory or swap' % (k + 1, copied, held))
                if int(meta.get('threads_stopped', -1)) != THREADS + 1:
                    failures.append('snapshot %d: %s threads stopped, not %d'
                                    % (k + 1, meta.get('threads_stopped'), THREADS + 1))
                # Each worker's 8 MiB stack, all but its top pages.
                if int(meta.get('stack_bytes_skipped', -1)) < THREADS * (4 << 20):
                    failures.append('snapshot %d: only %s bytes of stacks left out'
                                    % (k + 1, meta.get('stack_bytes_skipped')))
                want = pagemap or ('scan', 'read')
                if meta.get('pagemap') not in want:
                    failures.append('snapshot %d: meta.pagemap is %s, not %s'
                                    % (k + 1, meta.get('pagemap'), ' or '.join(want)))
            alive(workload)
    if failures:
        raise AssertionError('; '.join(failures))


def max_pause():
    interpreter = gcstest.find_interpreter('pyenv-3.12.1')
    args = ['--threads', THREADS, '--objects', OBJECTS]
    with gcstest.scratch_dir('service-max-pause') as work:
        with gcstest.Workload(interpreter, SCRIPT, work, args) as workload:
            pid = workload.pid
            pages0 = touched_pages(pid)
            db = work / 'tight.db'
            result = gcstest.run_gcscope(['snapshot', '--pid', pid, '--max-pause', '0.001',
                                          '--db', db])
            err = result.stderr.decode('utf-8', 'replace')
            print('--max-pause 0.001: exit %d: %s' % (result.returncode, err.strip()))
            if result.returncode != 2:
                raise AssertionError('--max-pause 0.001 exited with %d, not 2' % result.returncode)
            if '--max-pause' not in err or 'let go' not in err:
                raise AssertionError('the message does not say the process was let go at'
                                     ' --max-pause:\n' + err)
            if db.exists() or list(work.glob('tight.db*')):
                raise AssertionError('a database was left: %s' % list(work.glob('tight.db*')))
            alive(workload)
            if (touched_pages(pid) - pages0) * PAGE > GROWTH_LIMIT:
                raise AssertionError('the service grew after an aborted copy')
            db = work / 'roomy.db'
            result = gcstest.run_gcscope(['snapshot', '--pid', pid, '--max-pause', '60000',
                                          '--db', db])
            if result.returncode != 0:
                raise AssertionError('--max-pause 60000 exited with %d:\n%s'
                                     % (result.returncode, gcstest.tail(result.stderr)))
            addrs, meta = read_db(db)
            missing = truth_objects(workload.truth_dir) - addrs
            print('--max-pause 60000: paused %s ms, %d objects gc listed missing'
                  % (meta['pause_ms'], len(missing)))
            if missing:
                raise AssertionError('%d objects missing under --max-pause 60000' % len(missing))
            result = gcstest.run_gcscope(['snapshot', '--pid', pid, '--no-stop',
                                          '--max-pause', '10', '--db', work / 'x.db'])
            if result.returncode != 64:
                raise AssertionError('--max-pause with --no-stop exited with %d, not 64'
                                     % result.returncode)
            alive(workload)


@pytest.mark.parametrize('case', [
    pytest.param(lambda name=name: three_snapshots(name), id=name) for name in CONFIGS
] + [
    pytest.param(lambda: three_snapshots('pyenv-3.12.1', pagemap='read', count=1),
                 id='pagemap-read'),
    pytest.param(lambda: three_snapshots('pyenv-3.11.7', pagemap='none', count=1),
                 id='pagemap-none'),
    pytest.param(lambda: three_snapshots('pyenv-3.12.1', reserved=64, count=1),
                 id='reserved-64GiB'),
] + [
    pytest.param(max_pause, id='max-pause'),
])
def test_service(case):
    case()
